// Differential check of pier's request parser against the nodejs http-parser
// (Debian libhttp-parser-dev, 2.9): both parse the first request of an input, and the
// results must agree — same decision, and for accepted requests the same method,
// target, fields and body — except for the deliberate differences listed in
// `allowed_difference`, each of which pier makes on purpose (pier is stricter, per
// RFC 9112, or more general where the RFC allows it).
#ifndef PIER_TEST_FUZZ_HTTP_DIFFERENTIAL_HPP
#define PIER_TEST_FUZZ_HTTP_DIFFERENTIAL_HPP

#include <pier/http/parser.hpp>

#include <http_parser.h>

#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pier_test {

struct parsed_request {
  bool accepted = false;
  std::string method, target;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
  std::string raw_head; // the head, as sent
  std::string raw_body; // the bytes after the head, as sent
  bool chunked = false;
  // pier: why it rejected; nodejs: its errno.
  std::error_code pier_error;
  int nodejs_errno = 0;
};

inline parsed_request parse_with_pier(std::string_view in) {
  parsed_request out;
  pier::http::request_parser p;
  auto r = p.parse(in);
  if (!r) {
    out.pier_error = r.error();
    return out;
  }
  if (!*r)
    return out; // incomplete
  auto const& head = p.head();
  std::string_view rest = in.substr(**r);
  out.raw_head = in.substr(0, **r);
  out.raw_body = rest;
  std::string body;
  switch (head.framing()) {
  case pier::http::body_framing::none: break;
  case pier::http::body_framing::content_length:
    if (rest.size() < head.content_length())
      return out; // incomplete
    body = rest.substr(0, head.content_length());
    break;
  case pier::http::body_framing::chunked: {
    pier::http::chunked_decoder d;
    while (!d.done()) {
      auto s = d.decode(rest);
      if (!s) {
        out.pier_error = s.error();
        return out;
      }
      if (s->consumed == 0 && !s->done)
        return out; // incomplete
      body.append(s->data);
      rest.remove_prefix(s->consumed);
    }
    break;
  }
  }
  out.accepted = true;
  out.chunked = head.framing() == pier::http::body_framing::chunked;
  out.method = head.method();
  out.target = head.target();
  for (auto const& [n, v] : head.headers())
    out.fields.emplace_back(n, v);
  out.body = std::move(body);
  return out;
}

namespace detail {

struct nodejs_state {
  parsed_request* out;
  bool in_value = false;
  bool headers_done = false; // later field callbacks are trailer fields: pier drops them
  bool complete = false;
};

inline nodejs_state& state(http_parser* p) { return *static_cast<nodejs_state*>(p->data); }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

} // namespace detail

inline parsed_request parse_with_nodejs(std::string_view in) {
  parsed_request out;
  detail::nodejs_state st{&out};
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  parser.data = &st;
  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_url = [](http_parser* p, char const* at, size_t n) {
    detail::state(p).out->target.append(at, n);
    return 0;
  };
  s.on_header_field = [](http_parser* p, char const* at, size_t n) {
    auto& st = detail::state(p);
    if (st.headers_done)
      return 0;
    if (st.in_value || st.out->fields.empty())
      st.out->fields.emplace_back();
    st.in_value = false;
    st.out->fields.back().first.append(at, n);
    return 0;
  };
  s.on_header_value = [](http_parser* p, char const* at, size_t n) {
    auto& st = detail::state(p);
    if (st.headers_done)
      return 0;
    st.in_value = true;
    st.out->fields.back().second.append(at, n);
    return 0;
  };
  s.on_headers_complete = [](http_parser* p) {
    detail::state(p).headers_done = true;
    return 0;
  };
  s.on_body = [](http_parser* p, char const* at, size_t n) {
    detail::state(p).out->body.append(at, n);
    return 0;
  };
  s.on_message_complete = [](http_parser* p) {
    detail::state(p).complete = true;
    http_parser_pause(p, 1); // the first request only
    return 0;
  };
  http_parser_execute(&parser, &s, in.data(), in.size());
  auto const err = HTTP_PARSER_ERRNO(&parser);
  out.nodejs_errno = static_cast<int>(err);
  out.accepted = st.complete && (err == HPE_OK || err == HPE_PAUSED);
  if (out.accepted) {
    out.method = http_method_str(static_cast<http_method>(parser.method));
    for (auto& [n, v] : out.fields)
      v = std::string(detail::trim(v));
  }
  return out;
}

inline bool has_empty_list_element(std::string_view value) {
  for (;;) {
    std::size_t const comma = value.find(',');
    if (detail::trim(value.substr(0, comma)).empty())
      return true;
    if (comma == std::string_view::npos)
      return false;
    value.remove_prefix(comma + 1);
  }
}

// A Transfer-Encoding field line whose value holds an HTAB.
inline bool has_te_value_with_tab(std::string_view head) {
  while (!head.empty()) {
    std::size_t const end = head.find("\r\n");
    std::string_view const line = head.substr(0, end);
    if (line.size() > 18 && pier::http::iequals(line.substr(0, 18), "Transfer-Encoding:") &&
        line.find('\t', 18) != std::string_view::npos)
      return true;
    if (end == std::string_view::npos)
      break;
    head.remove_prefix(end + 2);
  }
  return false;
}

// A hex digit, then spaces or tabs, then ';': a chunk size with BWS before its extension.
inline bool has_bws_before_chunk_extension(std::string_view body) {
  for (std::size_t i = 0; i + 2 < body.size(); ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(body[i])))
      continue;
    std::size_t j = i + 1;
    while (j < body.size() && (body[j] == ' ' || body[j] == '\t'))
      ++j;
    if (j > i + 1 && j < body.size() && body[j] == ';')
      return true;
  }
  return false;
}

/// Why two results may differ; empty when they must not.
inline std::string allowed_difference(parsed_request const& pier, parsed_request const& node) {
  using pier::http::parse_error;
  if (!pier.accepted && node.accepted) {
    // pier is stricter where RFC 9112 says a server MUST or SHOULD reject.
    std::error_code const e = pier.pier_error;
    for (parse_error strict : {parse_error::bad_line_ending,
                               parse_error::obsolete_line_folding,
                               parse_error::whitespace_before_colon,
                               parse_error::missing_host,
                               parse_error::multiple_host,
                               parse_error::content_length_and_chunked,
                               parse_error::transfer_encoding_in_http10,
                               parse_error::bad_transfer_encoding,
                               parse_error::unsupported_transfer_encoding,
                               parse_error::unsupported_expectation,
                               parse_error::unsupported_version,
                               parse_error::bad_target,
                               parse_error::bad_field_value,
                               parse_error::bad_field_name,
                               parse_error::bad_chunk_extension,
                               parse_error::bad_trailer,
                               parse_error::bad_content_length,
                               parse_error::conflicting_content_length,
                               parse_error::bad_request_line,
                               parse_error::bad_version})
      if (e == strict)
        return "pier is stricter: " + e.message();
    // pier's limits (parser_limits) are its own and smaller than nodejs's 80 KiB.
    for (parse_error limit : {parse_error::request_line_too_long, parse_error::header_too_large,
                              parse_error::too_many_fields})
      if (e == limit)
        return "pier's limit: " + e.message();
    // Debian builds nodejs http-parser without HTTP_PARSER_STRICT, which skips the CR and
    // LF checks around chunk sizes and chunk data; pier checks them (RFC 9112 §7.1).
    for (parse_error framing : {parse_error::bad_chunk_size, parse_error::bad_chunk_end,
                                parse_error::chunk_size_overflow})
      if (e == framing)
        return "nodejs does not check chunk framing: " + e.message();
    if (!e)
      return "pier waits for more input where nodejs completed a lenient parse";
    return {};
  }
  if (pier.accepted && !node.accepted) {
    // nodejs knows a fixed list of methods; any token is a method in RFC 9110 §9.
    if (node.nodejs_errno == HPE_INVALID_METHOD)
      return "extension method";
    // nodejs treats any field whose name merely starts with "Transfer-Encoding" as
    // Transfer-Encoding; pier compares whole names.
    if (node.nodejs_errno == HPE_INVALID_TRANSFER_ENCODING ||
        node.nodejs_errno == HPE_UNEXPECTED_CONTENT_LENGTH)
      for (auto const& f : pier.fields)
        if (f.first.size() > 17 && pier::http::iequals(f.first.substr(0, 17), "Transfer-Encoding"))
          return "nodejs matches Transfer-Encoding by prefix";
    // RFC 9112 §6.3 lets a recipient accept a list of one repeated number in a
    // Content-Length field (pier does); nodejs takes the comma for a bad digit.
    if (node.nodejs_errno == HPE_INVALID_CONTENT_LENGTH)
      for (auto const& f : pier.fields)
        if (pier::http::iequals(f.first, "Content-Length") &&
            f.second.find(',') != std::string::npos)
          return "nodejs rejects the list form of Content-Length";
    // RFC 9112 §6.3 lets a recipient accept repeated Content-Length fields that all state
    // the same number (pier does); nodejs rejects any repetition.
    if (node.nodejs_errno == HPE_UNEXPECTED_CONTENT_LENGTH) {
      std::size_t lengths = 0;
      for (auto const& f : pier.fields)
        if (pier::http::iequals(f.first, "Content-Length"))
          lengths += f.second.find(',') == std::string::npos ? 1 : 2;
      if (lengths > 1)
        return "nodejs rejects repeated equal Content-Length";
    }
    // OWS around a field value is SP or HTAB (RFC 9110 §5.5); nodejs does not take
    // `chunked<HTAB>` for chunked.
    if (node.nodejs_errno == HPE_INVALID_TRANSFER_ENCODING && has_te_value_with_tab(pier.raw_head))
      return "nodejs does not trim HTAB around Transfer-Encoding";
    // RFC 9110 §5.6.1 has recipients ignore empty list elements (`chunked,`); nodejs
    // rejects them in Transfer-Encoding.
    if (node.nodejs_errno == HPE_INVALID_TRANSFER_ENCODING)
      for (auto const& f : pier.fields)
        if (pier::http::iequals(f.first, "Transfer-Encoding") && has_empty_list_element(f.second))
          return "nodejs rejects empty list elements";
    // chunk-ext = *( BWS ";" ... ) (RFC 9112 §7.1.1): whitespace between the chunk size
    // and ';' is allowed; nodejs refuses it.
    if (node.nodejs_errno == HPE_INVALID_CHUNK_SIZE && pier.chunked &&
        has_bws_before_chunk_extension(pier.raw_body))
      return "nodejs refuses BWS before a chunk extension";
    // pier accepted a chunked request, so its head had no Content-Length: the one nodejs
    // objects to is in the trailer section, which pier discards (RFC 9112 §7.1.2).
    if ((node.nodejs_errno == HPE_INVALID_CONTENT_LENGTH ||
         node.nodejs_errno == HPE_UNEXPECTED_CONTENT_LENGTH) &&
        pier.chunked)
      return "nodejs checks Content-Length in trailers";
    return {};
  }
  return {};
}

/// Empty when the parsers agree (or differ only as allowed); otherwise what differs.
inline std::string compare(std::string_view input) {
  parsed_request const a = parse_with_pier(input);
  parsed_request const b = parse_with_nodejs(input);
  if (a.accepted != b.accepted) {
    if (!allowed_difference(a, b).empty())
      return {};
    return std::string("decision differs: pier ") + (a.accepted ? "accepts" : "rejects (") +
           a.pier_error.message() + "), nodejs " + (b.accepted ? "accepts" : "rejects (") +
           http_errno_name(static_cast<http_errno>(b.nodejs_errno)) + ")";
  }
  if (!a.accepted)
    return {};
  if (a.method != b.method)
    return "method differs: " + a.method + " vs " + b.method;
  if (a.target != b.target)
    return "target differs: " + a.target + " vs " + b.target;
  if (a.fields != b.fields)
    return "fields differ";
  if (a.body != b.body)
    return "body differs";
  return {};
}

} // namespace pier_test

#endif
