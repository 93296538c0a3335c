// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_PARSER_HPP
#define PIER_HTTP_PARSER_HPP

/// @file
/// A strict, incremental HTTP/1.1 request parser: the request head, and a decoder for
/// chunked request bodies. No I/O: the caller owns the buffer and feeds what it has read.
///
/// Strict means: CRLF line endings only, no obsolete line folding, no whitespace between a
/// field name and its colon, no control characters, one Host in HTTP/1.1, Content-Length
/// and Transfer-Encoding never together, `chunked` as the only transfer coding. Every
/// rejection carries the status code the client should get (400, 414, 431, 417, 501, 505).
///
/// @code
/// pier::http::request_parser p;
/// std::string buf = "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n";
/// auto r = p.parse(buf);
/// if (r && *r) { // head complete: **r bytes of buf were the head
///   assert(p.head().target() == "/v2/");
/// }
/// @endcode
///
/// See RFC 9112 §2–§7.

#include <pier/config.hpp>
#include <pier/core/result.hpp>
#include <pier/http/message.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

PIER_BEGIN_NAMESPACE
namespace http {

/// Why a request was rejected; `http_status()` gives the status to answer with.
enum class parse_error {
  bad_request_line = 1,          ///< 400: not `method SP target SP version CRLF`
  bad_method,                    ///< 400: method is not a token
  bad_target,                    ///< 400: empty target, or not origin-, absolute- or asterisk-form
  bad_version,                   ///< 400: not `HTTP/<digit>.<digit>`
  unsupported_version,           ///< 505: a version other than 1.0 and 1.1
  bad_line_ending,               ///< 400: a bare CR or LF
  bad_field_name,                ///< 400: empty or non-token field name
  whitespace_before_colon,       ///< 400: `Name : value` (RFC 9112 §5.1 MUST reject)
  obsolete_line_folding,         ///< 400: a field line starting with SP or HTAB
  bad_field_value,               ///< 400: control character in a field value
  missing_host,                  ///< 400: HTTP/1.1 without Host
  multiple_host,                 ///< 400: more than one Host
  bad_content_length,            ///< 400: not a decimal number, or too large
  conflicting_content_length,    ///< 400: differing Content-Length values
  content_length_and_chunked,    ///< 400: both Content-Length and Transfer-Encoding
  transfer_encoding_in_http10,   ///< 400: Transfer-Encoding in an HTTP/1.0 request
  bad_transfer_encoding,         ///< 400: chunked not last, or more than once
  unsupported_transfer_encoding, ///< 501: a coding other than chunked
  unsupported_expectation,       ///< 417: Expect other than 100-continue
  request_line_too_long,         ///< 414
  header_too_large,              ///< 431: header section over the byte limit
  too_many_fields,               ///< 431: more fields than the limit
  bad_chunk_size,                ///< 400: chunk size missing or not hex
  chunk_size_overflow,           ///< 400: chunk size over 2^60
  bad_chunk_extension,           ///< 400: control character or over-long extension
  bad_chunk_end,                 ///< 400: chunk data not followed by CRLF
  bad_trailer,                   ///< 400: malformed or over-long trailer section
};

/// The status code a response to this error carries.
constexpr int http_status(parse_error e) noexcept;

std::error_category const& parse_category() noexcept;
inline std::error_code make_error_code(parse_error e) noexcept {
  return {static_cast<int>(e), parse_category()};
}

/// Limits that bound the memory one request head can take.
struct parser_limits {
  std::size_t max_request_line = 8 * 1024;  ///< beyond: 414
  std::size_t max_header_bytes = 64 * 1024; ///< whole head, beyond: 431
  std::size_t max_fields = 128;             ///< beyond: 431
};

/// Parses one request head at a time from a buffer the caller fills.
///
/// Call `parse()` with everything buffered so far (from the start of the request) each
/// time more arrives; it resumes its search where it stopped. When the head is complete
/// it returns its length; the body, if any, starts right after. `reset()` before the
/// next request on the same connection.
class request_parser {
public:
  explicit request_parser(parser_limits limits = {}) noexcept : limits_(limits) {}

  /// nullopt: need more bytes; a value: the head is complete and was that many bytes
  /// (including any empty lines before the request line); an error: reject the request.
  result<std::optional<std::size_t>> parse(std::string_view buffered);

  /// The parsed head; valid after parse() returned a length.
  request_head const& head() const noexcept { return head_; }
  request_head& head() noexcept { return head_; }

  void reset() noexcept {
    head_ = request_head{};
    scan_ = 0;
  }

private:
  result<void> parse_head(std::string_view text);
  result<void> parse_request_line(std::string_view line);
  result<void> parse_field_line(std::string_view line);
  result<void> apply_semantics();

  parser_limits limits_;
  request_head head_;
  std::size_t scan_ = 0; // where the search for the end of the head resumes
};

/// Decodes a chunked request body (RFC 9112 §7.1) incrementally and without copying:
/// each call returns how many input bytes it consumed and, at most, one run of body data
/// pointing into the input.
class chunked_decoder {
public:
  struct step {
    std::size_t consumed = 0; ///< input bytes used (data included)
    std::string_view data;    ///< body bytes found, a view into the input
    bool done = false;        ///< the last chunk and trailer section are complete
  };

  /// Limits the bytes of chunk extensions per chunk and of the whole trailer section.
  explicit chunked_decoder(std::size_t max_extension = 4096,
                           std::size_t max_trailer = 16 * 1024) noexcept
      : max_extension_(max_extension), max_trailer_(max_trailer) {}

  /// Consumes from `in`. Call again with the unconsumed rest (plus new bytes) until
  /// `done`; a step that consumes nothing means more input is needed.
  result<step> decode(std::string_view in);

  bool done() const noexcept { return state_ == state::done; }
  void reset() noexcept {
    state_ = state::size;
    remaining_ = 0;
    digits_ = 0;
    extension_.clear();
    trailer_ = 0;
  }

private:
  enum class state {
    size,
    size_or_ext,
    extension,
    size_lf,
    data,
    data_cr,
    data_lf,
    trailer_start,
    trailer_name,
    trailer_value,
    trailer_lf,
    final_lf,
    done
  };

  std::size_t max_extension_;
  std::size_t max_trailer_;
  state state_ = state::size;
  std::uint64_t remaining_ = 0; // chunk size being read, then data left in the chunk
  std::size_t digits_ = 0;
  std::string extension_; // the current chunk's extensions, at most max_extension_ bytes
  std::size_t trailer_ = 0;
};

} // namespace http
PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::http::parse_error> : std::true_type {};

#include <pier/http/impl/parser.hpp>

#endif // PIER_HTTP_PARSER_HPP
