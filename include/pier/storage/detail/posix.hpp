// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_DETAIL_POSIX_HPP
#define PIER_STORAGE_DETAIL_POSIX_HPP

// File descriptors and the few POSIX calls the blob stores share (Linux).

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/hasher.hpp>
#include <pier/core/result.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

PIER_BEGIN_NAMESPACE
namespace storage::detail {

inline std::error_code last_error() noexcept { return {errno, std::generic_category()}; }

/// An owned file descriptor, closed on destruction.
class unique_fd {
public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  unique_fd(unique_fd const&) = delete;
  unique_fd& operator=(unique_fd const&) = delete;
  ~unique_fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  void reset() noexcept {
    if (fd_ >= 0)
      ::close(fd_); // close(2) errors on a descriptor we only read or already fsynced
    fd_ = -1;
  }

private:
  int fd_ = -1;
};

/// Writes all of `bytes` at `offset`, retrying short writes and EINTR.
inline std::error_code pwrite_all(int fd, std::span<std::byte const> bytes,
                                  std::uint64_t offset) noexcept {
  while (!bytes.empty()) {
    ssize_t const n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return last_error();
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

/// The digest of the first `size` bytes of `fd`, read with pread (the offset of `fd` is
/// left alone).
inline result<digest> hash_fd(int fd, std::uint64_t size, digest_algorithm a) {
  hasher h(a);
  std::vector<std::byte> buffer(std::size_t{1} << 20);
  std::uint64_t offset = 0;
  while (offset < size) {
    std::size_t const want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - offset));
    ssize_t const n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return last_error();
    }
    if (n == 0)
      return std::make_error_code(std::errc::io_error); // the file shrank under us
    h.update(buffer.data(), static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return h.finish();
}

inline std::error_code fsync_fd(int fd) noexcept {
  while (::fsync(fd) != 0) {
    if (errno != EINTR)
      return last_error();
  }
  return {};
}

/// fsync(2) on the directory `path` (relative to `dirfd`), making entries created,
/// renamed or removed in it durable.
inline std::error_code fsync_dir(int dirfd, char const* path) noexcept {
  unique_fd const d(::openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d)
    return last_error();
  return fsync_fd(d.get());
}

} // namespace storage::detail
PIER_END_NAMESPACE

#endif // PIER_STORAGE_DETAIL_POSIX_HPP
