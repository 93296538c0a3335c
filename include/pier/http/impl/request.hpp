// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_IMPL_REQUEST_HPP
#define PIER_HTTP_IMPL_REQUEST_HPP

#include <algorithm>
#include <cstring>

PIER_BEGIN_NAMESPACE
namespace http {

namespace detail {

class body_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.http.body"; }
  std::string message(int ev) const override {
    switch (static_cast<body_error>(ev)) {
    case body_error::stalled: return "request body stalled";
    case body_error::closed: return "connection closed before the end of the request body";
    case body_error::too_large: return "request body too large";
    case body_error::aborted: return "request body reading aborted";
    }
    return "unknown request body error";
  }
};

} // namespace detail

inline std::error_category const& body_category() noexcept {
  static detail::body_category_impl const instance;
  return instance;
}

constexpr int http_status(body_error e) noexcept {
  switch (e) {
  case body_error::stalled: return 408;
  case body_error::closed: return 400;
  case body_error::too_large: return 413;
  case body_error::aborted: return 503;
  }
  return 400;
}

inline asio::awaitable<result<std::size_t>> string_body_reader::read_some(std::span<char> buf) {
  std::size_t const n = std::min(buf.size(), body_.size() - pos_);
  if (n > 0)
    std::memcpy(buf.data(), body_.data() + pos_, n);
  pos_ += n;
  co_return n;
}

inline asio::awaitable<result<std::string>> read_body(body_reader& body, std::size_t max_size) {
  std::string out;
  if (auto const declared = body.length()) {
    if (*declared > max_size)
      co_return body_error::too_large;
    out.resize(static_cast<std::size_t>(*declared));
    std::size_t filled = 0;
    while (filled < out.size()) {
      result<std::size_t> n = co_await body.read_some(std::span(out).subspan(filled));
      if (!n)
        co_return n.error();
      if (*n == 0)
        co_return body_error::closed; // cannot happen with a conforming reader
      filled += *n;
    }
    co_return out;
  }
  // Chunked: grow in steps, never past max_size + 1 (one byte more tells "too large").
  std::size_t const cap = max_size == SIZE_MAX ? max_size : max_size + 1;
  std::size_t filled = 0;
  for (;;) {
    if (filled == out.size()) {
      std::size_t const grown = std::min(std::max<std::size_t>(out.size() * 2, 4096), cap);
      if (grown == out.size())
        co_return body_error::too_large;
      out.resize(grown);
    }
    result<std::size_t> n = co_await body.read_some(std::span(out).subspan(filled));
    if (!n)
      co_return n.error();
    if (*n == 0)
      break;
    filled += *n;
    if (filled > max_size)
      co_return body_error::too_large;
  }
  out.resize(filled);
  co_return out;
}

} // namespace http
PIER_END_NAMESPACE

#endif // PIER_HTTP_IMPL_REQUEST_HPP
