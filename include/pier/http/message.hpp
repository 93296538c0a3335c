// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_MESSAGE_HPP
#define PIER_HTTP_MESSAGE_HPP

/// @file
/// HTTP/1.1 header fields, request heads and responses: plain data, no I/O, no OCI.
///
/// @code
/// pier::http::fields f;
/// f.add("Content-Type", "application/json");
/// assert(f.find("content-type") == "application/json"); // names are case-insensitive
/// @endcode
///
/// See RFC 9110 §5 (fields) and RFC 9112 §3 (request line).

#include <pier/config.hpp>
#include <pier/core/detail/ascii.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace http {

/// ASCII case-insensitive equality, as field names and tokens compare.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  return ::pier::detail::ascii::iequals(a, b);
}

/// An ordered list of header fields; lookups ignore the case of names.
class fields {
public:
  using value_type = std::pair<std::string, std::string>;

  /// The first value of `name`, or nothing.
  std::optional<std::string_view> find(std::string_view name) const noexcept {
    for (auto const& [n, v] : list_)
      if (iequals(n, name))
        return std::string_view(v);
    return std::nullopt;
  }
  std::size_t count(std::string_view name) const noexcept {
    std::size_t c = 0;
    for (auto const& f : list_)
      c += iequals(f.first, name) ? 1 : 0;
    return c;
  }
  bool contains(std::string_view name) const noexcept { return find(name).has_value(); }

  /// Appends a field (a name may repeat, as `Link` or `WWW-Authenticate` do).
  void add(std::string name, std::string value) {
    list_.emplace_back(std::move(name), std::move(value));
  }
  /// Replaces every field called `name` by one.
  void set(std::string_view name, std::string value) {
    erase(name);
    list_.emplace_back(std::string(name), std::move(value));
  }
  void erase(std::string_view name) noexcept {
    std::erase_if(list_, [&](value_type const& f) { return iequals(f.first, name); });
  }
  void clear() noexcept { list_.clear(); }

  std::size_t size() const noexcept { return list_.size(); }
  bool empty() const noexcept { return list_.empty(); }
  auto begin() const noexcept { return list_.begin(); }
  auto end() const noexcept { return list_.end(); }

private:
  std::vector<value_type> list_;
};

/// How a message body is delimited (RFC 9112 §6.3).
enum class body_framing { none, content_length, chunked };

/// A parsed request head: request line and fields. The body is read separately.
class request_head {
public:
  std::string_view method() const noexcept { return method_; }
  /// The request-target as sent (origin-form for normal requests).
  std::string_view target() const noexcept { return target_; }
  /// 10 for HTTP/1.0, 11 for HTTP/1.1.
  int version() const noexcept { return version_; }
  fields const& headers() const noexcept { return fields_; }

  body_framing framing() const noexcept { return framing_; }
  /// The Content-Length when framing() is content_length, else 0.
  std::uint64_t content_length() const noexcept { return content_length_; }
  /// Whether the connection may stay open after this exchange.
  bool keep_alive() const noexcept { return keep_alive_; }
  /// Whether the client waits for `100 Continue` before sending the body.
  bool expects_continue() const noexcept { return expect_continue_; }

  void set_method(std::string m) { method_ = std::move(m); }
  void set_target(std::string t) { target_ = std::move(t); }
  void set_version(int v) noexcept { version_ = v; }
  fields& headers() noexcept { return fields_; }
  void set_framing(body_framing f, std::uint64_t length = 0) noexcept {
    framing_ = f;
    content_length_ = length;
  }
  void set_keep_alive(bool k) noexcept { keep_alive_ = k; }
  void set_expects_continue(bool e) noexcept { expect_continue_ = e; }

private:
  std::string method_;
  std::string target_;
  int version_ = 11;
  fields fields_;
  body_framing framing_ = body_framing::none;
  std::uint64_t content_length_ = 0;
  bool keep_alive_ = true;
  bool expect_continue_ = false;
};

/// The reason phrase for the status codes pier sends.
constexpr std::string_view reason_phrase(int status) noexcept {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 416: return "Range Not Satisfiable";
  case 417: return "Expectation Failed";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  case 507: return "Insufficient Storage";
  default: return "Unknown";
  }
}

} // namespace http
PIER_END_NAMESPACE

#endif // PIER_HTTP_MESSAGE_HPP
