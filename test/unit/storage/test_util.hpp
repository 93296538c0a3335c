// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_TEST_UNIT_STORAGE_TEST_UTIL_HPP
#define PIER_TEST_UNIT_STORAGE_TEST_UTIL_HPP

// Helpers shared by the storage tests: driving coroutines and temporary directories.

#include <pier/core/digest.hpp>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace pier_test {

/// Runs `a` on `io` to completion and returns what it returned (rethrows what it threw).
template <class T>
T run(asio::io_context& io, asio::awaitable<T> a) {
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(a)); },
      [&](std::exception_ptr e) { failure = e; });
  io.restart();
  io.run();
  if (failure)
    std::rethrow_exception(failure);
  return std::move(*out);
}

inline std::span<std::byte const> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

/// A directory made with mkdtemp under $TMPDIR (or /tmp), removed with its contents.
class temp_dir {
public:
  temp_dir() {
    char const* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/pier-storage-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = pattern;
  }
  temp_dir(temp_dir const&) = delete;
  temp_dir& operator=(temp_dir const&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::filesystem::path const& path() const noexcept { return path_; }

private:
  std::filesystem::path path_;
};

/// Content of `n` bytes that differs with `seed`.
inline std::string make_content(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  unsigned x = seed * 2654435761u + 1;
  for (char& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

} // namespace pier_test

#endif // PIER_TEST_UNIT_STORAGE_TEST_UTIL_HPP
