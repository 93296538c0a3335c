// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_DETAIL_TLS_STREAM_HPP
#define PIER_HTTP_DETAIL_TLS_STREAM_HPP

// A server-side TLS connection for the session loop: OpenSSL reads and writes the
// non-blocking socket itself, and the coroutines wait for readiness with async_wait.
//
// Why not asio::ssl::stream: it runs OpenSSL over a memory BIO pair and copies every record
// between that and the socket, so OpenSSL never sees the socket and can never hand the
// record layer to the kernel (kTLS needs a socket BIO: it sets TCP_ULP "tls" on the
// descriptor during the handshake). With the socket BIO, SSL_sendfile works where the
// kernel allows it, and the user-space path saves a copy and a completion per record.
//
// One operation at a time, on the connection's executor, as the session does anyway.

#include <pier/config.hpp>

#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>

#include <sys/socket.h>
#include <sys/types.h>

PIER_BEGIN_NAMESPACE
namespace http {
namespace detail {

class tls_stream {
public:
  using executor_type = asio::ip::tcp::socket::executor_type;

  // Small writes (a response head and a small body) are gathered into one record.
  static constexpr std::size_t gather_size = 16 * 1024;

  tls_stream(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> ctx)
      : socket_(std::move(socket)), ctx_(std::move(ctx)) {
    std::error_code ec;
    socket_.non_blocking(true, ec);
    if (ec)
      return;
    ERR_clear_error();
    ssl_.reset(SSL_new(ctx_->native_handle()));
    if (ssl_ && SSL_set_fd(ssl_.get(), socket_.native_handle()) != 1)
      ssl_.reset();
    if (ssl_)
      SSL_set_accept_state(ssl_.get());
    ERR_clear_error();
  }

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  asio::ip::tcp::socket& lowest_layer() noexcept { return socket_; }
  SSL* native_handle() const noexcept { return ssl_.get(); }

  asio::awaitable<std::error_code> handshake() {
    if (!ssl_)
      co_return asio::error::no_memory;
    auto [ec, n] = co_await retry([this](std::size_t&) { return SSL_do_handshake(ssl_.get()); });
    co_return ec;
  }

  // The first byte the client sent, left in the socket for the handshake to read: a TLS
  // record starts with 0x16 (handshake), a plain HTTP request with a method's letter.
  asio::awaitable<std::tuple<std::error_code, unsigned char>> peek_first_byte() {
    for (;;) {
      unsigned char c = 0;
      ssize_t const n = ::recv(socket_.native_handle(), &c, 1, MSG_PEEK);
      if (n == 1)
        co_return std::tuple{std::error_code{}, c};
      if (n == 0)
        co_return std::tuple{std::error_code(asio::error::eof), c};
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        co_return std::tuple{std::error_code(errno, std::system_category()), c};
      auto [ec] = co_await socket_.async_wait(asio::socket_base::wait_read, as_tuple);
      if (ec)
        co_return std::tuple{ec, c};
    }
  }

  // Whether the kernel does the sending record layer (SSL_sendfile works).
  bool ktls_send() const noexcept {
#ifndef OPENSSL_NO_KTLS
    return ssl_ && BIO_get_ktls_send(SSL_get_wbio(ssl_.get()));
#else
    return false;
#endif
  }

  // The negotiated ALPN protocol, empty when none.
  std::string_view alpn() const noexcept {
    unsigned char const* p = nullptr;
    unsigned int n = 0;
    SSL_get0_alpn_selected(ssl_.get(), &p, &n);
    return {reinterpret_cast<char const*>(p), n};
  }

  // As a socket's: (error, bytes) with at least one byte unless an error; the completion
  // token is always as_tuple(use_awaitable), the one the session uses.
  template <class Token>
  asio::awaitable<std::tuple<std::error_code, std::size_t>> async_read_some(asio::mutable_buffer b,
                                                                            Token) {
    return retry(
        [this, b](std::size_t& n) { return SSL_read_ex(ssl_.get(), b.data(), b.size(), &n); });
  }

  // Writes at least one byte of `b` (one or more whole records).
  asio::awaitable<std::tuple<std::error_code, std::size_t>> write_some(asio::const_buffer b) {
    return retry(
        [this, b](std::size_t& n) { return SSL_write_ex(ssl_.get(), b.data(), b.size(), &n); });
  }

  // SSL_sendfile of up to `size` bytes at `offset`; only when ktls_send().
  asio::awaitable<std::tuple<std::error_code, std::size_t>> sendfile_some(int fd, off_t offset,
                                                                          std::size_t size) {
    return retry([this, fd, offset, size](std::size_t& n) {
      ossl_ssize_t const r = SSL_sendfile(ssl_.get(), fd, offset, size, 0);
      n = r > 0 ? static_cast<std::size_t>(r) : 0;
      return r > 0 ? 1 : static_cast<int>(r);
    });
  }

  // Copies `a` and `b` into one buffer when together they fit in a record; else null.
  asio::const_buffer gather(asio::const_buffer a, asio::const_buffer b) {
    if (a.size() + b.size() > gather_size)
      return {};
    if (!gather_)
      gather_.reset(new char[gather_size]);
    std::memcpy(gather_.get(), a.data(), a.size());
    std::memcpy(gather_.get() + a.size(), b.data(), b.size());
    return {gather_.get(), a.size() + b.size()};
  }

  // Sends close_notify if the socket takes it at once; then no more writes.
  void close_notify() noexcept {
    if (!ssl_)
      return;
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }

private:
  // Runs `op` (an SSL call: 1 and the byte count on success) until it succeeds or fails
  // with something other than waiting for the socket.
  template <class Op>
  asio::awaitable<std::tuple<std::error_code, std::size_t>> retry(Op op) {
    for (;;) {
      ERR_clear_error();
      std::size_t n = 0;
      int const r = op(n);
      if (r == 1)
        co_return std::tuple{std::error_code{}, n};
      std::error_code const ec = co_await wait_for(r);
      if (ec)
        co_return std::tuple{ec, std::size_t{0}};
    }
  }

  struct ssl_free {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
  };

  // After an SSL call returned `r` <= 0: waits for the socket when OpenSSL wants it and
  // returns success (try again), or returns the error.
  asio::awaitable<std::error_code> wait_for(int r) {
    int const sys = errno;
    int const err = SSL_get_error(ssl_.get(), r);
    unsigned long const lib = ERR_peek_error();
    ERR_clear_error(); // the queue is this thread's, shared with other connections
    switch (err) {
    case SSL_ERROR_WANT_READ: {
      auto [ec] = co_await socket_.async_wait(asio::socket_base::wait_read, as_tuple);
      co_return ec;
    }
    case SSL_ERROR_WANT_WRITE: {
      auto [ec] = co_await socket_.async_wait(asio::socket_base::wait_write, as_tuple);
      co_return ec;
    }
    case SSL_ERROR_ZERO_RETURN: co_return asio::error::eof;
    case SSL_ERROR_SYSCALL:
      co_return sys != 0 ? std::error_code(sys, std::system_category())
                         : std::error_code(asio::error::eof);
    default:
      if (lib != 0)
        co_return std::error_code(static_cast<int>(lib), asio::error::get_ssl_category());
      co_return asio::error::connection_aborted;
    }
  }

  static constexpr auto as_tuple = asio::experimental::as_tuple(asio::use_awaitable);

  asio::ip::tcp::socket socket_;
  std::shared_ptr<asio::ssl::context> ctx_; // keeps the context of this connection's handshake
  std::unique_ptr<SSL, ssl_free> ssl_;
  std::unique_ptr<char[]> gather_;
};

} // namespace detail
} // namespace http
PIER_END_NAMESPACE

#endif // PIER_HTTP_DETAIL_TLS_STREAM_HPP
