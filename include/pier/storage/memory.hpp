// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_MEMORY_HPP
#define PIER_STORAGE_MEMORY_HPP

/// @file
/// In-memory stores for tests and for embedding a registry that need not survive a
/// restart. Thread-safe: a server may call them from several threads at once.
///
/// @code
/// asio::io_context io;
/// pier::storage::memory_blob_store blobs;
/// pier::storage::memory_metadata_store meta;
/// asio::co_spawn(io, [&]() -> asio::awaitable<void> {
///   std::string const layer = "layer bytes";
///   pier::digest const d = pier::digest_of(layer);
///   pier::result<std::string> id = co_await blobs.begin_upload();
///   auto size = co_await blobs.append(*id, std::as_bytes(std::span(layer)));
///   auto info = co_await blobs.commit(*id, d); // verified: now stored under d
///   auto linked = co_await meta.link_blob("library/ubuntu", d);
///   assert(size && info && linked);
///   assert((co_await meta.is_linked("library/ubuntu", d)).value());
/// }, asio::detached);
/// io.run();
/// @endcode

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/hasher.hpp>
#include <pier/core/result.hpp>
#include <pier/storage/concepts.hpp>
#include <pier/storage/detail/namespaces.hpp>
#include <pier/storage/detail/posix.hpp>
#include <pier/storage/detail/upload.hpp>
#include <pier/storage/detail/util.hpp>
#include <pier/storage/error.hpp>
#include <pier/storage/kv.hpp>
#include <pier/storage/types.hpp>
#include <pier/storage/usage.hpp>

#include <asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace storage {

/// A `BlobStore` in memory. Each blob and each upload is a memfd (Linux), so `open`
/// returns a `file_region` the HTTP layer sends with `sendfile(2)` like any file; a
/// committed blob's memfd is sealed against writes.
class memory_blob_store {
public:
  memory_blob_store() = default;
  memory_blob_store(memory_blob_store const&) = delete;
  memory_blob_store& operator=(memory_blob_store const&) = delete;

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
  /// false when kept, `blob_unknown` when there is none (see `CollectableBlobStore`).
  /// Commits and this removal take the store's one mutex, so they never interleave.
  asio::awaitable<result<bool>>
  remove_if_unused_since(pier::digest d, std::chrono::system_clock::time_point before);
  /// Up to `n` blobs after the digest string `after`, in digest order, with their sizes and
  /// last commit times (see `CollectableBlobStore`).
  asio::awaitable<result<page<stored_blob>>> list_blobs(std::string after, std::size_t n);

  /// How many blobs the store holds.
  std::size_t blob_count() const;
  /// How many uploads are in progress.
  std::size_t upload_count() const;

private:
  struct blob {
    detail::unique_fd fd;
    std::uint64_t size = 0;
  };

  std::shared_ptr<detail::upload_state> find_upload(upload_id const& id) const;
  std::shared_ptr<detail::upload_state> take_upload(upload_id const& id);

  mutable std::mutex mutex_;
  std::map<pier::digest, std::shared_ptr<blob const>, std::less<>> blobs_;
  // When each blob was last committed (a commit of stored bytes counts): what
  // `remove_if_unused_since` compares.
  std::map<pier::digest, std::chrono::system_clock::time_point, std::less<>> committed_;
  std::map<upload_id, std::shared_ptr<detail::upload_state>, std::less<>> uploads_;
};

namespace detail {
/// Memberships indexed from one side: organisation → user → role, or user → organisation →
/// role.
using role_index = std::map<std::string, std::map<std::string, role, std::less<>>, std::less<>>;
} // namespace detail

/// A `kv_driver` in memory: one ordered map per table. Reads take a shared lock for a
/// point read; a scan or a snapshot holds the tables as they were (a writer that finds them
/// held copies them before it changes them, so what a reader holds never changes).
class memory_kv_driver final : public kv_driver {
public:
  memory_kv_driver() : tables_(std::make_shared<tables>()) {}

  result<std::optional<std::string>> get(kv_table t, std::string_view key,
                                         kv_view at) const override;
  result<void> scan(kv_table t, std::string_view from, std::string_view to, kv_view at,
                    kv_visitor visit) const override;
  std::unique_ptr<kv_snapshot> snapshot() const override;
  result<void> write(kv_batch const& batch, bool sync) override;
  result<void> sync() override { return {}; }
  bool blocking() const noexcept override { return false; }

  /// The tables.
  using tables = std::array<std::map<std::string, std::string, std::less<>>, kv_table_count>;

private:
  std::shared_ptr<tables const> hold() const;

  mutable std::shared_mutex mutex_;
  std::shared_ptr<tables> tables_;
};

/// `kv_metadata_store` in memory (`memory_kv_driver`): the same rules as on RocksDB. A
/// touch costs nothing here, so by default every `touch_blob` renews the last use.
class memory_metadata_store : public kv_metadata_store {
public:
  memory_metadata_store() : memory_metadata_store(memory_options()) {}
  explicit memory_metadata_store(kv_options options);

  /// The default settings in memory: every touch writes.
  static kv_options memory_options() noexcept {
    kv_options o;
    o.touch_interval = std::chrono::seconds(0);
    return o;
  }
};

} // namespace storage
PIER_END_NAMESPACE

#include <pier/storage/impl/memory.hpp>

#endif // PIER_STORAGE_MEMORY_HPP
