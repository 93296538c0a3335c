// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_OFFLOAD_HPP
#define PIER_STORAGE_OFFLOAD_HPP

/// @file
/// Runs blocking work (fsync, sync RocksDB writes, rehashing a file) on a store's own
/// thread pool and resumes the awaiting coroutine on its own executor, so the I/O threads
/// never block on the disk. Public: every layer above storage (auth hashes passwords
/// with it) may use it.

#include <pier/config.hpp>

#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

PIER_BEGIN_NAMESPACE
namespace storage {

template <class F>
asio::awaitable<std::invoke_result_t<F&>> offload(asio::thread_pool& pool, F f) {
  using value_type = std::invoke_result_t<F&>;
  // The frame stays suspended until the handler runs, so the pool thread may write these.
  std::optional<value_type> out;
  std::exception_ptr failure;
  co_await asio::async_initiate<decltype(asio::use_awaitable) const&, void()>(
      [&](auto handler) {
        // Keeps the caller's io_context from running out of work while the pool works.
        auto home = asio::prefer(asio::get_associated_executor(handler),
                                 asio::execution::outstanding_work.tracked);
        asio::post(pool, [&, handler = std::move(handler), home = std::move(home)]() mutable {
          try {
            out.emplace(f());
          } catch (...) {
            failure = std::current_exception();
          }
          asio::post(home, std::move(handler));
        });
      },
      asio::use_awaitable);
  if (failure)
    std::rethrow_exception(failure);
  co_return std::move(*out);
}

} // namespace storage
PIER_END_NAMESPACE

#endif // PIER_STORAGE_OFFLOAD_HPP
