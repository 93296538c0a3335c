// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_DETAIL_UPLOAD_HPP
#define PIER_STORAGE_DETAIL_UPLOAD_HPP

// One upload in progress, written to a file descriptor while it is hashed: shared by the
// memory store (a memfd) and the filesystem store (a file under uploads/).

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/hasher.hpp>
#include <pier/core/result.hpp>
#include <pier/storage/detail/posix.hpp>
#include <pier/storage/error.hpp>
#include <pier/storage/types.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include <sys/stat.h>
#include <unistd.h>

PIER_BEGIN_NAMESPACE
namespace storage::detail {

struct upload_state {
  /// Held while bytes are written, so that chunks of one upload never interleave.
  std::mutex mutex;
  /// The memory store's memfd, for the upload's life. The filesystem store keeps none
  /// between requests (a descriptor per idle session would let clients exhaust them): it
  /// opens the file for each write and for the commit.
  unique_fd fd;
  std::uint64_t size = 0;
  /// SHA-256 of the `size` bytes so far; empty when it was lost (the upload was resumed
  /// from disk after a restart), and commit hashes the file again.
  std::optional<hasher> hash;
  /// Set once commit or abort took the upload: later appends find it unknown.
  bool closed = false;
};

inline std::shared_ptr<upload_state> make_upload_state(unique_fd fd, std::uint64_t size,
                                                       bool hashed) {
  auto u = std::make_shared<upload_state>();
  u->fd = std::move(fd);
  u->size = size;
  if (hashed)
    u->hash.emplace(digest_algorithm::sha256);
  return u;
}

/// Whether `append_locked` would refuse to append at `offset` (the caller holds `u.mutex`).
inline std::error_code check_append(upload_state const& u,
                                    std::optional<std::uint64_t> offset) noexcept {
  if (u.closed)
    return storage_error::upload_unknown;
  if (offset && *offset != u.size)
    return storage_error::upload_offset_mismatch;
  return {};
}

/// Appends through `fd` (the upload's own, or one opened for this write only); the caller
/// holds `u.mutex`.
inline result<std::uint64_t> append_locked(upload_state& u, int fd,
                                           std::span<std::byte const> bytes,
                                           std::optional<std::uint64_t> offset) {
  if (std::error_code const ec = check_append(u, offset))
    return ec;
  if (std::error_code const ec = pwrite_all(fd, bytes, u.size)) {
    // Cut a partial write off so that the file matches what was hashed.
    if (::ftruncate(fd, static_cast<off_t>(u.size)) != 0)
      u.hash.reset();
    return ec;
  }
  if (u.hash)
    u.hash->update(bytes);
  u.size += bytes.size();
  return u.size;
}

inline result<std::uint64_t> append_to(upload_state& u, std::span<std::byte const> bytes,
                                       std::optional<std::uint64_t> offset) {
  std::lock_guard const lock(u.mutex);
  return append_locked(u, u.fd.get(), bytes, offset);
}

/// Marks the upload closed (waiting for a write in progress); false when it already was.
inline bool close_upload(upload_state& u) {
  std::lock_guard const lock(u.mutex);
  return !std::exchange(u.closed, true);
}

/// Checks a closed upload against what the client claims. May read the whole file (a lost
/// hash, or an algorithm other than SHA-256): call it off the I/O threads.
inline result<blob_info> verify_upload(upload_state& u, digest const& expected,
                                       std::optional<std::uint64_t> size) {
  if (size && *size != u.size)
    return storage_error::size_mismatch;
  digest actual;
  if (u.hash && u.hash->algorithm() == expected.algorithm()) {
    actual = u.hash->finish();
  } else {
    result<digest> r = hash_fd(u.fd.get(), u.size, expected.algorithm());
    if (!r)
      return r.error();
    actual = std::move(*r);
  }
  if (actual != expected)
    return digest_error::mismatch;
  return blob_info{u.size};
}

/// The byte range `[offset, offset + length)` of a blob of `size` bytes, cut at the end.
inline result<std::uint64_t> clamp_range(std::uint64_t size, std::uint64_t offset,
                                         std::optional<std::uint64_t> length) noexcept {
  if (offset > size)
    return storage_error::range_invalid;
  std::uint64_t const rest = size - offset;
  return length ? std::min(*length, rest) : rest;
}

} // namespace storage::detail
PIER_END_NAMESPACE

#endif // PIER_STORAGE_DETAIL_UPLOAD_HPP
