// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_FILESYSTEM_HPP
#define PIER_STORAGE_FILESYSTEM_HPP

/// @file
/// A `BlobStore` on a local POSIX filesystem (Linux).
///
/// Layout under the root directory:
///
///     blobs/sha256/ab/abcdef…   committed blobs, named by their digest (the 2-hex
///                               directories are made, and their parent fsynced, by the
///                               first commit that needs them)
///     blobs/sha512/…            the same for sha512
///     uploads/<id>              uploads in progress
///
/// Durability (docs/DESIGN.md): an upload is written to `uploads/<id>` while it is hashed;
/// commit verifies the digest, fsyncs the file, renames it to its content-addressed path
/// and fsyncs that directory, and only then succeeds. A crash can leave files under
/// `uploads/` (orphans for GC and fsck) but never a partial file under `blobs/`. fsync,
/// and rehashing a resumed upload, run on the store's own threads, never on the caller's.
/// Appends write to the page cache on the caller's thread: the HTTP layer bounds chunks.
///
/// A commit stamps the blob file's modification time with the commit's time (rounded up to
/// the second, so that a file system with coarse timestamps never makes it older), also
/// when the blob was stored already; `remove_if_unused_since` compares that time, under a
/// lock per digest (striped) that commits of the digest take too. The store therefore
/// needs to own its files (`utimensat(2)`); a commit whose stamp fails fails.
///
/// Upload hash state lives in memory. After a restart an upload is found again from its
/// file (`upload_size`, `append` and `commit` work on it); its commit then hashes the
/// file from disk, so a resumed upload still verifies.
///
/// An upload holds no file descriptor between operations: each `append` opens its file,
/// writes and closes it, and a commit opens it on the store's thread; so idle sessions,
/// however many, cost no descriptors. A commit that cannot open the file (EMFILE) fails
/// and leaves the upload as it was, for the client to try again.
///
/// @code
/// asio::io_context io;
/// auto store = pier::storage::filesystem_blob_store::create("/var/lib/pier/data");
/// if (!store)
///   return; // store.error() says why (permissions, not a directory, ...)
/// asio::co_spawn(io, [&]() -> asio::awaitable<void> {
///   std::string const config = "{}";
///   auto info = co_await store->put(std::as_bytes(std::span(config)), pier::digest_of(config));
///   assert(info && info->size == 2);
/// }, asio::detached);
/// io.run();
/// @endcode

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/hasher.hpp>
#include <pier/core/result.hpp>
#include <pier/storage/concepts.hpp>
#include <pier/storage/offload.hpp>
#include <pier/storage/detail/posix.hpp>
#include <pier/storage/detail/upload.hpp>
#include <pier/storage/error.hpp>
#include <pier/storage/types.hpp>

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace storage {

/// Settings of a `filesystem_blob_store`.
struct filesystem_options {
  /// Threads that run fsync and rehashing. Each commit holds one for an fsync or two.
  std::size_t blocking_threads = 2;
  /// Free bytes of the root's filesystem that uploads leave alone: `begin_upload`, `append`
  /// and `put` fail with `storage_error::space_reserved` when they would leave less (0: no
  /// floor). The room is for what must still be written when blobs have filled the disk:
  /// the metadata of manifests and tags, which usually lives on the same filesystem. A
  /// write the check let through may still find the disk full (other writers): `ENOSPC`.
  std::uint64_t min_free_space = 0;
};

/// A `BlobStore` in a directory of the local filesystem. Movable; must not be moved or
/// destroyed while operations on it are in progress.
class filesystem_blob_store {
public:
  /// Opens the store at `root`, creating the directory and its layout when missing.
  static result<filesystem_blob_store> create(std::filesystem::path root,
                                              filesystem_options options = {});

  filesystem_blob_store(filesystem_blob_store&&) noexcept = default;
  filesystem_blob_store& operator=(filesystem_blob_store&&) noexcept = default;
  ~filesystem_blob_store() = default;

  asio::awaitable<result<blob_info>> stat(pier::digest d);
  asio::awaitable<result<blob_source>> open(pier::digest d, std::uint64_t offset = 0,
                                            std::optional<std::uint64_t> length = std::nullopt);
  asio::awaitable<result<upload_id>> begin_upload();
  asio::awaitable<result<std::uint64_t>> append(upload_id id, std::span<std::byte const> bytes,
                                                std::optional<std::uint64_t> offset = std::nullopt);
  asio::awaitable<result<std::uint64_t>> upload_size(upload_id id);
  asio::awaitable<result<blob_info>> commit(upload_id id, pier::digest expected,
                                            std::optional<std::uint64_t> size = std::nullopt);
  asio::awaitable<result<void>> abort(upload_id id);
  asio::awaitable<result<void>> remove(pier::digest d);
  asio::awaitable<result<blob_info>> put(std::span<std::byte const> bytes, pier::digest expected);

  /// Removes blob `d` unless it was (re)committed at or after `before`: true when removed,
  /// false when kept, `blob_unknown` when there is none (see `CollectableBlobStore`). Runs
  /// on the store's threads, serialised with the commits of `d`. A removal is not fsynced:
  /// after a power loss the file may be back, an orphan that `fsck` finds.
  asio::awaitable<result<bool>>
  remove_if_unused_since(pier::digest d, std::chrono::system_clock::time_point before);

  // --- fsck (registry/fsck.hpp): enumeration and verification ---------------------------

  /// Up to `n` committed blobs whose digest string comes after `after` (all from the first
  /// when empty), in digest order, with their sizes and commit times: one shard directory
  /// in memory at a time. Files whose names are not digests are skipped.
  asio::awaitable<result<page<stored_blob>>> list_blobs(std::string after, std::size_t n);

  /// Every file under `uploads/` whose name is an upload id (uploads in progress, or left by
  /// a crash).
  asio::awaitable<result<std::vector<stored_upload>>> list_uploads();

  /// Hashes blob `d`'s file with `d`'s algorithm (streamed through a bounded buffer, on
  /// the store's threads): the digest of its content and its size.
  asio::awaitable<result<std::pair<pier::digest, std::uint64_t>>> hash_blob(pier::digest d);

  /// The root directory.
  std::filesystem::path const& root() const noexcept;

  /// Where blob `d` lives (whether or not it exists): `<root>/blobs/<alg>/<2 hex>/<hex>`.
  std::filesystem::path path_of(pier::digest_view d) const;

private:
  struct state {
    std::filesystem::path root;
    detail::unique_fd root_fd;
    asio::thread_pool pool;
    std::mutex mutex;
    // Uploads this process knows. An entry stays while its file exists (until commit or
    // abort removed or renamed it), so that no one reopens that file in the meantime.
    std::map<upload_id, std::shared_ptr<detail::upload_state>, std::less<>> uploads;
    // Commits of a digest and its removal by GC hold the lock of the digest's stripe.
    std::array<std::mutex, 64> commit_locks;
    std::uint64_t min_free_space = 0;

    std::mutex& commit_lock(pier::digest_view d) {
      return commit_locks[std::hash<std::string_view>()(d.str()) % commit_locks.size()];
    }

    state(std::filesystem::path r, detail::unique_fd fd, std::size_t threads)
        : root(std::move(r)), root_fd(std::move(fd)), pool(threads) {}
  };

  explicit filesystem_blob_store(std::unique_ptr<state> s) noexcept : s_(std::move(s)) {}

  /// The upload's state, found again from its file after a restart; null when unknown.
  std::shared_ptr<detail::upload_state> find_upload(upload_id const& id);
  /// `space_reserved` when writing `bytes` more would leave less than `min_free_space`.
  result<void> check_free_space(std::uint64_t bytes) const;
  void forget_upload(upload_id const& id);

  std::unique_ptr<state> s_;
};

} // namespace storage
PIER_END_NAMESPACE

#include <pier/storage/impl/filesystem.hpp>

#endif // PIER_STORAGE_FILESYSTEM_HPP
