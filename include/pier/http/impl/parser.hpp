// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_IMPL_PARSER_HPP
#define PIER_HTTP_IMPL_PARSER_HPP

#include <charconv>

#include <pier/core/detail/ascii.hpp>

PIER_BEGIN_NAMESPACE
namespace http {

namespace detail {

using namespace ::pier::detail::ascii;

// field-vchar = VCHAR / obs-text, plus SP and HTAB inside a value (RFC 9110 §5.5).
constexpr bool is_field_char(unsigned char c) noexcept {
  return c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7f);
}

// Calls f(element) for each non-empty element of a comma-separated list (RFC 9110 §5.6.1).
template <class F>
constexpr void for_each_list_element(std::string_view list, F&& f) {
  while (!list.empty()) {
    std::size_t const comma = list.find(',');
    std::string_view const element = trim_ows(list.substr(0, comma));
    if (!element.empty())
      f(element);
    if (comma == std::string_view::npos)
      break;
    list.remove_prefix(comma + 1);
  }
}

// absolute-form (RFC 9112 §3.2.2) for the schemes a server answers: "http" or "https",
// "://", and a non-empty authority. Other URI schemes are not this server's to serve.
constexpr bool is_absolute_form(std::string_view target) noexcept {
  std::size_t const sep = target.find("://");
  if (sep == std::string_view::npos || sep + 3 >= target.size() || target[sep + 3] == '/')
    return false;
  std::string_view const scheme = target.substr(0, sep);
  return iequals(scheme, "http") || iequals(scheme, "https");
}

// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), with
// chunk-ext-val = token / quoted-string (RFC 9112 §7.1.1). `ext` is everything between
// the chunk size and the CRLF.
constexpr bool is_chunk_extension(std::string_view ext) noexcept {
  auto skip_ws = [&] {
    std::size_t const before = ext.size();
    while (!ext.empty() && is_ows(ext.front()))
      ext.remove_prefix(1);
    return ext.size() != before;
  };
  auto take_token = [&] {
    std::size_t n = 0;
    while (n < ext.size() && is_tchar(static_cast<unsigned char>(ext[n])))
      ++n;
    ext.remove_prefix(n);
    return n > 0;
  };
  auto take_quoted = [&] {
    std::size_t const end = skip_quoted_string(ext, 0);
    if (end == std::string_view::npos)
      return false;
    ext.remove_prefix(end);
    return true;
  };
  for (;;) {
    // BWS belongs before a ';': whitespace that ends the line is not in the grammar.
    if (skip_ws() && ext.empty())
      return false;
    if (ext.empty())
      return true;
    if (ext.front() != ';')
      return false;
    ext.remove_prefix(1);
    skip_ws();
    if (!take_token())
      return false;
    skip_ws();
    if (!ext.empty() && ext.front() == '=') {
      ext.remove_prefix(1);
      skip_ws();
      if (!ext.empty() && ext.front() == '"' ? !take_quoted() : !take_token())
        return false;
    }
  }
}

struct parse_error_info {
  char const* message;
  int status;
};

constexpr parse_error_info parse_error_table(parse_error e) noexcept {
  switch (e) {
  case parse_error::bad_request_line: return {"malformed request line", 400};
  case parse_error::bad_method: return {"method is not a token", 400};
  case parse_error::bad_target: return {"malformed request target", 400};
  case parse_error::bad_version: return {"malformed HTTP version", 400};
  case parse_error::unsupported_version: return {"HTTP version not supported", 505};
  case parse_error::bad_line_ending: return {"bare CR or LF in the request head", 400};
  case parse_error::bad_field_name: return {"malformed field name", 400};
  case parse_error::whitespace_before_colon:
    return {"whitespace between field name and colon", 400};
  case parse_error::obsolete_line_folding: return {"obsolete line folding", 400};
  case parse_error::bad_field_value: return {"control character in a field value", 400};
  case parse_error::missing_host: return {"HTTP/1.1 request without Host", 400};
  case parse_error::multiple_host: return {"more than one Host field", 400};
  case parse_error::bad_content_length: return {"malformed Content-Length", 400};
  case parse_error::conflicting_content_length: return {"conflicting Content-Length values", 400};
  case parse_error::content_length_and_chunked:
    return {"both Content-Length and Transfer-Encoding", 400};
  case parse_error::transfer_encoding_in_http10:
    return {"Transfer-Encoding in an HTTP/1.0 request", 400};
  case parse_error::bad_transfer_encoding:
    return {"chunked must be the last transfer coding, once", 400};
  case parse_error::unsupported_transfer_encoding: return {"transfer coding not implemented", 501};
  case parse_error::unsupported_expectation: return {"expectation not supported", 417};
  case parse_error::request_line_too_long: return {"request line too long", 414};
  case parse_error::header_too_large: return {"request header section too large", 431};
  case parse_error::too_many_fields: return {"too many header fields", 431};
  case parse_error::bad_chunk_size: return {"malformed chunk size", 400};
  case parse_error::chunk_size_overflow: return {"chunk size too large", 400};
  case parse_error::bad_chunk_extension: return {"malformed chunk extension", 400};
  case parse_error::bad_chunk_end: return {"chunk data not followed by CRLF", 400};
  case parse_error::bad_trailer: return {"malformed trailer section", 400};
  }
  return {"unknown HTTP parse error", 400};
}

class parse_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.http"; }
  std::string message(int ev) const override {
    return parse_error_table(static_cast<parse_error>(ev)).message;
  }
};

} // namespace detail

constexpr int http_status(parse_error e) noexcept { return detail::parse_error_table(e).status; }

inline std::error_category const& parse_category() noexcept {
  static detail::parse_category_impl const instance;
  return instance;
}

inline result<std::optional<std::size_t>> request_parser::parse(std::string_view buf) {
  // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
  std::size_t start = 0;
  while (start + 1 < buf.size() && buf[start] == '\r' && buf[start + 1] == '\n')
    start += 2;
  if (start > limits_.max_request_line)
    return parse_error::request_line_too_long;
  if (start == buf.size() || (start + 1 == buf.size() && buf[start] == '\r'))
    return std::optional<std::size_t>{};

  std::string_view const rest = buf.substr(start);
  if (scan_ < start)
    scan_ = start;

  // The method is judged as soon as its bytes arrive: a client speaking TLS or another
  // protocol to this port gets its 400 at once instead of waiting for a line end that
  // may never come (clients such as skopeo try TLS first and fall back on the answer).
  for (char c : rest.substr(0, std::min(rest.size(), limits_.max_request_line))) {
    if (c == ' ')
      break;
    if (!detail::is_tchar(c))
      return c == '\r' || c == '\n' ? parse_error::bad_request_line : parse_error::bad_method;
  }

  std::size_t const line_end = rest.find('\n');
  if (line_end == std::string_view::npos) {
    if (rest.size() > limits_.max_request_line)
      return parse_error::request_line_too_long;
    return std::optional<std::size_t>{};
  }
  if (line_end + 1 > limits_.max_request_line + 2)
    return parse_error::request_line_too_long;

  // Resume the search for CRLFCRLF a few bytes before where the last one stopped.
  std::size_t const from = scan_ > start + 3 ? scan_ - start - 3 : 0;
  std::size_t const end = rest.find("\r\n\r\n", from);
  if (end == std::string_view::npos) {
    if (rest.size() > limits_.max_header_bytes)
      return parse_error::header_too_large;
    scan_ = buf.size();
    return std::optional<std::size_t>{};
  }
  std::size_t const head_length = end + 4;
  if (head_length > limits_.max_header_bytes)
    return parse_error::header_too_large;

  if (auto r = parse_head(rest.substr(0, end + 2)); !r)
    return r.error();
  return std::optional<std::size_t>{start + head_length};
}

inline result<void> request_parser::parse_head(std::string_view text) {
  // `text` is the request line and the field lines, each ending in CRLF.
  bool first = true;
  while (!text.empty()) {
    std::size_t const lf = text.find('\n');
    if (lf == std::string_view::npos || lf == 0 || text[lf - 1] != '\r')
      return parse_error::bad_line_ending;
    std::string_view const line = text.substr(0, lf - 1);
    text.remove_prefix(lf + 1);
    if (line.find('\r') != std::string_view::npos)
      return parse_error::bad_line_ending;
    if (first) {
      if (auto r = parse_request_line(line); !r)
        return r;
      first = false;
    } else if (auto r = parse_field_line(line); !r) {
      return r;
    }
  }
  return apply_semantics();
}

inline result<void> request_parser::parse_request_line(std::string_view line) {
  std::size_t const sp1 = line.find(' ');
  if (sp1 == std::string_view::npos)
    return parse_error::bad_request_line;
  std::size_t const sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return parse_error::bad_request_line;

  std::string_view const method = line.substr(0, sp1);
  std::string_view const target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view const version = line.substr(sp2 + 1);

  if (!detail::is_token(method))
    return method.empty() ? parse_error::bad_request_line : parse_error::bad_method;

  if (target.empty())
    return parse_error::bad_target;
  for (char c : target) {
    auto const u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f)
      return parse_error::bad_target;
  }
  bool const origin_form = target.front() == '/';
  bool const asterisk_form = target == "*" && method == "OPTIONS";
  bool const absolute_form = detail::is_absolute_form(target);
  if (!origin_form && !asterisk_form && !absolute_form)
    return parse_error::bad_target;

  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
    return parse_error::bad_version;
  int const v = (version[5] - '0') * 10 + (version[7] - '0');
  if (v != 10 && v != 11)
    return parse_error::unsupported_version;

  if (line.size() > limits_.max_request_line)
    return parse_error::request_line_too_long;

  head_.set_method(std::string(method));
  head_.set_target(std::string(target));
  head_.set_version(v);
  return {};
}

inline result<void> request_parser::parse_field_line(std::string_view line) {
  if (line.empty())
    return parse_error::bad_field_name;
  if (detail::is_ows(line.front()))
    return parse_error::obsolete_line_folding;
  std::size_t const colon = line.find(':');
  if (colon == std::string_view::npos)
    return parse_error::bad_field_name;
  std::string_view const name = line.substr(0, colon);
  if (detail::is_ows(name.back()))
    return parse_error::whitespace_before_colon;
  if (!detail::is_token(name))
    return parse_error::bad_field_name;
  std::string_view const value = detail::trim_ows(line.substr(colon + 1));
  for (char c : value)
    if (!detail::is_field_char(static_cast<unsigned char>(c)))
      return parse_error::bad_field_value;
  if (head_.headers().size() >= limits_.max_fields)
    return parse_error::too_many_fields;
  head_.headers().add(std::string(name), std::string(value));
  return {};
}

inline result<void> request_parser::apply_semantics() {
  fields const& f = head_.headers();
  bool const http11 = head_.version() == 11;

  std::size_t const hosts = f.count("Host");
  if (hosts > 1)
    return parse_error::multiple_host;
  if (http11 && hosts == 0)
    return parse_error::missing_host;

  // Content-Length: every value (in every field, comma lists included) must be the same
  // number (RFC 9112 §6.3 item 5).
  std::optional<std::uint64_t> length;
  bool bad_length = false, conflicting = false;
  for (auto const& [name, value] : f) {
    if (!iequals(name, "Content-Length"))
      continue;
    // 1*DIGIT, or a list of the same number when a sender combined duplicate fields;
    // unlike other lists, no empty elements: `Content-Length: ,` states no length.
    for (std::string_view rest = value;;) {
      std::size_t const comma = rest.find(',');
      if (detail::trim_ows(rest.substr(0, comma)).empty())
        bad_length = true;
      if (comma == std::string_view::npos)
        break;
      rest.remove_prefix(comma + 1);
    }
    detail::for_each_list_element(value, [&](std::string_view element) {
      std::uint64_t n = 0;
      auto const* const end = element.data() + element.size();
      auto const [ptr, ec] = std::from_chars(element.data(), end, n);
      if (ec != std::errc{} || ptr != end || element.front() == '+' || element.front() == '-')
        bad_length = true;
      else if (length && *length != n)
        conflicting = true;
      else
        length = n;
    });
  }
  if (bad_length)
    return parse_error::bad_content_length;
  if (conflicting)
    return parse_error::conflicting_content_length;

  bool chunked = false;
  if (f.contains("Transfer-Encoding")) {
    if (!http11)
      return parse_error::transfer_encoding_in_http10;
    if (length)
      return parse_error::content_length_and_chunked;
    bool other = false, misplaced = false;
    for (auto const& [name, value] : f) {
      if (!iequals(name, "Transfer-Encoding"))
        continue;
      detail::for_each_list_element(value, [&](std::string_view coding) {
        if (chunked)
          misplaced = true; // something after chunked, or chunked twice
        if (iequals(coding, "chunked"))
          chunked = true;
        else
          other = true;
      });
    }
    if (misplaced || (!chunked && !other))
      return parse_error::bad_transfer_encoding;
    if (other)
      return chunked ? parse_error::unsupported_transfer_encoding
                     : parse_error::bad_transfer_encoding;
  }

  if (chunked)
    head_.set_framing(body_framing::chunked);
  else if (length && *length > 0)
    head_.set_framing(body_framing::content_length, *length);
  else
    head_.set_framing(body_framing::none);

  bool close = false, keep_alive = false;
  for (auto const& [name, value] : f) {
    if (!iequals(name, "Connection"))
      continue;
    detail::for_each_list_element(value, [&](std::string_view option) {
      close = close || iequals(option, "close");
      keep_alive = keep_alive || iequals(option, "keep-alive");
    });
  }
  head_.set_keep_alive(!close && (http11 || keep_alive));

  if (auto const expect = f.find("Expect"); expect && http11) {
    if (!iequals(*expect, "100-continue") || f.count("Expect") > 1)
      return parse_error::unsupported_expectation;
    head_.set_expects_continue(true);
  }
  return {};
}

inline result<chunked_decoder::step> chunked_decoder::decode(std::string_view in) {
  step s;
  std::size_t i = 0;
  auto fail = [](parse_error e) { return result<step>(e); };
  while (i < in.size() && state_ != state::done) {
    char const c = in[i];
    switch (state_) {
    case state::size: {
      int const h = detail::hex_value(c);
      if (h < 0) {
        if (digits_ == 0)
          return fail(parse_error::bad_chunk_size);
        state_ = state::size_or_ext;
        continue; // look at c again in the next state
      }
      // Leading zeros do not count: the limit is on the value, 2^60.
      if (remaining_ >> 56)
        return fail(parse_error::chunk_size_overflow);
      remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(h);
      ++digits_;
      ++i;
      break;
    }
    case state::size_or_ext:
      if (c == '\r') {
        state_ = state::size_lf;
      } else if (c == ';' || detail::is_ows(c)) {
        state_ = state::extension;
        extension_.clear();
        extension_.push_back(c);
      } else {
        return fail(parse_error::bad_chunk_size);
      }
      ++i;
      break;
    case state::extension:
      // Collected (bounded) and checked whole at its end: the grammar has quoted strings.
      if (c == '\r') {
        if (!detail::is_chunk_extension(extension_))
          return fail(parse_error::bad_chunk_extension);
        state_ = state::size_lf;
      } else if (extension_.size() >= max_extension_) {
        return fail(parse_error::bad_chunk_extension);
      } else {
        extension_.push_back(c);
      }
      ++i;
      break;
    case state::size_lf:
      if (c != '\n')
        return fail(parse_error::bad_chunk_size);
      ++i;
      digits_ = 0;
      state_ = remaining_ == 0 ? state::trailer_start : state::data;
      break;
    case state::data: {
      if (!s.data.empty()) {
        // One run of data per step: the caller consumes it, then calls again.
        s.consumed = i;
        return s;
      }
      std::size_t const n =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - i));
      s.data = in.substr(i, n);
      remaining_ -= n;
      i += n;
      if (remaining_ == 0)
        state_ = state::data_cr;
      break;
    }
    case state::data_cr:
      if (c != '\r')
        return fail(parse_error::bad_chunk_end);
      ++i;
      state_ = state::data_lf;
      break;
    case state::data_lf:
      if (c != '\n')
        return fail(parse_error::bad_chunk_end);
      ++i;
      state_ = state::size;
      break;
    case state::trailer_start:
      // A trailer section is field lines like the header section: name ":" value.
      if (c == '\r') {
        state_ = state::final_lf;
      } else if (detail::is_tchar(static_cast<unsigned char>(c))) {
        state_ = state::trailer_name;
      } else {
        return fail(parse_error::bad_trailer);
      }
      if (++trailer_ > max_trailer_)
        return fail(parse_error::bad_trailer);
      ++i;
      break;
    case state::trailer_name:
      if (c == ':')
        state_ = state::trailer_value;
      else if (!detail::is_tchar(static_cast<unsigned char>(c)))
        return fail(parse_error::bad_trailer);
      if (++trailer_ > max_trailer_)
        return fail(parse_error::bad_trailer);
      ++i;
      break;
    case state::trailer_value:
      if (c == '\r')
        state_ = state::trailer_lf;
      else if (!detail::is_field_char(static_cast<unsigned char>(c)))
        return fail(parse_error::bad_trailer);
      if (++trailer_ > max_trailer_)
        return fail(parse_error::bad_trailer);
      ++i;
      break;
    case state::trailer_lf:
      if (c != '\n')
        return fail(parse_error::bad_trailer);
      ++i;
      state_ = state::trailer_start;
      break;
    case state::final_lf:
      if (c != '\n')
        return fail(parse_error::bad_trailer);
      ++i;
      state_ = state::done;
      break;
    case state::done: break;
    }
  }
  s.consumed = i;
  s.done = state_ == state::done;
  return s;
}

} // namespace http
PIER_END_NAMESPACE

#endif // PIER_HTTP_IMPL_PARSER_HPP
