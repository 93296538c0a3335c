// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_RESPONSE_HPP
#define PIER_HTTP_RESPONSE_HPP

/// @file
/// What a handler returns: a status, header fields, and a body that is nothing, bytes in
/// memory, or a region of an open file that the server sends with `sendfile(2)`.
///
/// The server completes the framing: it sets `Content-Length` from the body (for HEAD it
/// keeps a `Content-Length` the handler set, so a HEAD handler can state a blob's size
/// without opening it), `Date` unless present, and `Connection`. It never sends a body
/// for HEAD, 1xx, 204 or 304.
///
/// @code
/// using pier::http::response;
/// response a = response::json(404, R"({"errors":[]})");
/// response b(202);
/// b.headers().set("Location", "/v2/library/ubuntu/blobs/uploads/5f0c");
/// b.headers().set("Range", "0-0");
/// pier::result<pier::http::file_body> f = pier::http::open_file("/etc/hostname");
/// if (f)
///   b = response::file(200, *f, "text/plain");
/// @endcode
///
/// See RFC 9110 §15 (status codes) and RFC 9112 §6.3 (message body length).

#include <pier/config.hpp>
#include <pier/core/result.hpp>
#include <pier/http/message.hpp>
#include <pier/http/range.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

PIER_BEGIN_NAMESPACE
namespace http {

/// A region of an open file, sent with `sendfile(2)` on plain TCP.
///
/// The server never closes `fd`: `owner` keeps it open for as long as the response needs
/// it (a file handle, a cache entry, a lease on a blob). The file must not shrink while it
/// is sent; if it does, the connection is closed.
struct file_body {
  std::shared_ptr<void const> owner;
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;

  /// The part `r` of this region (offsets relative to `offset`), sharing the owner.
  file_body slice(byte_range r) const { return {owner, fd, offset + r.offset, r.length}; }
};

/// Opens a regular file for reading: a body of all its bytes that closes the file when the
/// last copy is gone. Errors are the `errno` of open(2) or fstat(2), or `not_supported`
/// for something that is not a regular file.
result<file_body> open_file(std::string const& path);

/// A response: status, fields, body.
class response {
public:
  using body_type = std::variant<std::monostate, std::string, file_body>;

  explicit response(int status = 200) noexcept : status_(status) {}

  int status() const noexcept { return status_; }
  void set_status(int status) noexcept { status_ = status; }

  fields const& headers() const noexcept { return fields_; }
  fields& headers() noexcept { return fields_; }

  /// std::monostate (no body), std::string, or file_body.
  body_type const& body() const noexcept { return body_; }
  body_type& body() noexcept { return body_; }
  void set_body(std::string body) { body_ = std::move(body); }
  void set_body(file_body body) { body_ = std::move(body); }
  void clear_body() noexcept { body_ = std::monostate{}; }

  /// The number of body bytes: 0 when there is no body.
  std::uint64_t body_size() const noexcept;

  /// A body with its Content-Type.
  static response text(int status, std::string body,
                       std::string_view content_type = "text/plain; charset=utf-8");
  static response json(int status, std::string body);
  static response file(int status, file_body body,
                       std::string_view content_type = "application/octet-stream");

  /// A GET of a file that honours the request's `Range` (RFC 9110 §14.2): 200 with the
  /// whole region, 206 with `Content-Range` for one satisfiable range, or 416 with
  /// `Content-Range: bytes */size`. Always sends `Accept-Ranges: bytes`. Only GET looks
  /// at `Range`; HEAD and other methods get 200 and the whole length.
  static response file_with_range(request_head const& head, file_body body,
                                  std::string_view content_type = "application/octet-stream");

  /// A redirect (301, 302, 303, 307, 308) to `location`, with no body.
  static response redirect(int status, std::string location);

private:
  int status_;
  fields fields_;
  body_type body_;
};

} // namespace http
PIER_END_NAMESPACE

#include <pier/http/impl/response.hpp>

#endif // PIER_HTTP_RESPONSE_HPP
