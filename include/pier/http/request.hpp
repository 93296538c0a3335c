// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_REQUEST_HPP
#define PIER_HTTP_REQUEST_HPP

/// @file
/// What a handler sees of a request: the parsed head, the client's address, and the body
/// as a stream of bytes it reads at its own pace. Handlers never see the socket.
///
/// @code
/// // A handler that hashes an upload of any size with a bounded buffer.
/// asio::awaitable<std::uint64_t> count_bytes(pier::http::request& req) {
///   std::array<char, 16 * 1024> buf;
///   std::uint64_t total = 0;
///   for (;;) {
///     pier::result<std::size_t> n = co_await req.body().read_some(buf);
///     if (!n || *n == 0) // an error (stall, disconnect, bad chunk) or the end of the body
///       co_return total;
///     total += *n;
///   }
/// }
/// @endcode
///
/// See RFC 9110 §6.4 (content) and RFC 9112 §6 (message body).

#include <pier/config.hpp>
#include <pier/core/result.hpp>
#include <pier/http/message.hpp>

#include <asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

PIER_BEGIN_NAMESPACE
namespace http {

/// Why a request body could not be read (a malformed chunked body gives a `parse_error`).
enum class body_error {
  stalled = 1, ///< no body byte arrived for the server's body stall timeout (408)
  closed,      ///< the client closed the connection before the end of the body (400)
  too_large,   ///< the body is longer than the reader's caller accepts (413)
  aborted,     ///< the server is shutting down or the connection was cancelled (503)
};

/// The category of `body_error`, named "pier.http.body".
std::error_category const& body_category() noexcept;

inline std::error_code make_error_code(body_error e) noexcept {
  return {static_cast<int>(e), body_category()};
}

/// The status a response to a request whose body failed with `e` carries.
constexpr int http_status(body_error e) noexcept;

/// A request body, read in pieces.
///
/// The server's implementation reads from the connection with a bounded buffer, so the
/// memory a request takes does not grow with its body. For `Expect: 100-continue` it sends
/// `100 Continue` on the first `read_some`: a handler that answers without reading never
/// makes the client send the body.
class body_reader {
public:
  virtual ~body_reader() = default;

  /// Reads at least one byte into `buf` unless the body has ended; 0 means the end (and
  /// is also what an empty `buf` gets). Errors: `body_error`, or a `parse_error` for a
  /// malformed chunked body. After an error the body cannot be read further. One read at a
  /// time: the next call starts after the previous one has completed.
  virtual asio::awaitable<result<std::size_t>> read_some(std::span<char> buf) = 0;

  /// The body's length when the client declared it (Content-Length; 0 when the request
  /// has no body); nothing for a chunked body.
  virtual std::optional<std::uint64_t> length() const noexcept = 0;

  /// Whether the whole body has been read.
  virtual bool done() const noexcept = 0;
};

/// A body held in memory: for tests, and for handlers that call other handlers.
class string_body_reader final : public body_reader {
public:
  explicit string_body_reader(std::string body = {}) : body_(std::move(body)) {}

  asio::awaitable<result<std::size_t>> read_some(std::span<char> buf) override;
  std::optional<std::uint64_t> length() const noexcept override { return body_.size(); }
  bool done() const noexcept override { return pos_ == body_.size(); }

private:
  std::string body_;
  std::size_t pos_ = 0;
};

/// Reads the whole body into a string, failing with `body_error::too_large` as soon as it
/// is longer than `max_size` (a declared Content-Length over the limit fails before any
/// byte is read). For small bodies such as manifests; stream blobs with `read_some`.
///
/// `body` must outlive the returned coroutine, as it does when the caller awaits it.
asio::awaitable<result<std::string>> read_body(body_reader& body, std::size_t max_size);

/// A request as a handler sees it: head, body and the client's address.
///
/// A request and its body reader live until the handler's coroutine completes; a handler
/// that starts work outliving it copies what it needs.
class context;

class request {
public:
  request(request_head head, body_reader& body, std::string_view client_address,
          bool secure = false)
      : head_(std::move(head)), body_(&body), client_address_(client_address), secure_(secure) {}

  request_head const& head() const noexcept { return head_; }
  std::string_view method() const noexcept { return head_.method(); }
  /// The request-target as sent: path and query, still percent-encoded.
  std::string_view target() const noexcept { return head_.target(); }
  /// 10 for HTTP/1.0, 11 for HTTP/1.1.
  int version() const noexcept { return head_.version(); }
  fields const& headers() const noexcept { return head_.headers(); }

  body_reader& body() const noexcept { return *body_; }

  /// The peer's IP address without port, e.g. "127.0.0.1" or "::1" (IPv4-mapped IPv6
  /// addresses are shown as IPv4).
  std::string_view client_address() const noexcept { return client_address_; }

  /// Whether the request came over TLS (the scheme of URLs that point back at the server).
  bool secure() const noexcept { return secure_; }

  /// The request's id: the client's `X-Request-Id` when it is short and plain, else one the
  /// server made. The server sends it back in `X-Request-Id` and hands it to the access log.
  std::string_view id() const noexcept { return id_; }
  void set_id(std::string id) { id_ = std::move(id); }

  /// The user that authentication in front of the handler found the caller to be (auth's
  /// gate sets it); empty for an anonymous caller, or when nothing authenticates. The
  /// server authenticates no one: the access log shows it, and handlers count per caller
  /// with it (the registry's upload limits).
  std::string_view user() const noexcept { return user_; }
  void set_user(std::string name) { user_ = std::move(name); }

  /// The routing context of the request while a router (http/router.hpp) serves it: the
  /// parsed route, its parameters and the caller, for handlers composed behind the router
  /// as plain `http::handler`s. Null elsewhere.
  http::context* route_context() const noexcept { return context_; }
  void set_route_context(http::context* c) noexcept { context_ = c; }

private:
  request_head head_;
  body_reader* body_;
  std::string_view client_address_;
  bool secure_ = false;
  std::string id_;
  std::string user_;
  http::context* context_ = nullptr;
};

} // namespace http
PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::http::body_error> : std::true_type {};

#include <pier/http/impl/request.hpp>

#endif // PIER_HTTP_REQUEST_HPP
