// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_RANGE_HPP
#define PIER_HTTP_RANGE_HPP

/// @file
/// Byte ranges: the `Range` request header of a GET (one range → 206 or 416), and the
/// `Content-Range` request header of an OCI chunked upload (`PATCH`).
///
/// @code
/// using namespace pier::http;
/// range_selection s = select_range("bytes=100-", 1000);
/// assert(s.kind == range_kind::satisfiable && s.range.offset == 100 && s.range.length == 900);
/// assert(content_range_value(s.range, 1000) == "bytes 100-999/1000");
/// assert(select_range("bytes=2000-", 1000).kind == range_kind::not_satisfiable); // 416
/// assert(select_range("bytes=0-1,5-6", 1000).kind == range_kind::ignore);        // 200
///
/// pier::result<content_range> c = parse_content_range("0-1023"); // OCI form
/// assert(c && c->first == 0 && c->last == 1023 && !c->complete_length);
/// @endcode
///
/// See RFC 9110 §14 (https://www.rfc-editor.org/rfc/rfc9110#section-14) and the OCI
/// distribution spec, "Pushing a blob in chunks".

#include <pier/config.hpp>
#include <pier/core/result.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

PIER_BEGIN_NAMESPACE
namespace http {

/// A run of bytes of a representation: `length` bytes from `offset`.
struct byte_range {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;

  friend constexpr bool operator==(byte_range const&, byte_range const&) = default;
};

/// What to do with a request's `Range` header.
enum class range_kind {
  ignore,          ///< absent, malformed, not `bytes`, or several ranges: send 200 and everything
  satisfiable,     ///< send 206 with `range` and `Content-Range: bytes first-last/size`
  not_satisfiable, ///< send 416 with `Content-Range: bytes */size`
};

/// The outcome of `select_range`: a kind, and the range when it is satisfiable.
struct range_selection {
  range_kind kind = range_kind::ignore;
  byte_range range{};
};

/// Chooses what to send for `Range: <value>` against a representation of `size` bytes.
///
/// Accepts one `bytes=first-last`, `bytes=first-` or `bytes=-suffix` (unit
/// case-insensitive, whitespace around the range allowed). A `last` beyond the end is
/// clamped; a suffix longer than the representation selects all of it. A `first` at or
/// past the end, or a zero suffix, is not satisfiable. Anything else, including several
/// ranges, is ignored: RFC 9110 §14.2 lets a server ignore `Range`, and a registry has no
/// use for multipart/byteranges. A suffix range of an empty representation is ignored too
/// (there is no byte to point at).
constexpr range_selection select_range(std::string_view value, std::uint64_t size) noexcept;

/// The same, for a header that may be absent (what `fields::find` returns).
template <class Optional>
requires std::same_as<Optional, std::optional<std::string_view>>
constexpr range_selection select_range(Optional const& value, std::uint64_t size) noexcept {
  return value ? select_range(*value, size) : range_selection{};
}

/// `bytes first-last/size` for a 206 response.
std::string content_range_value(byte_range r, std::uint64_t size);

/// `bytes */size` for a 416 response.
std::string unsatisfied_range_value(std::uint64_t size);

/// Why a `Content-Range` request header was rejected.
enum class range_error {
  malformed = 1, ///< not `[bytes ]first-last[/length|/*]`
  inverted,      ///< last < first
  beyond_length, ///< last is not below the stated complete length
};

/// The category of `range_error`, named "pier.http.range".
std::error_category const& range_category() noexcept;

inline std::error_code make_error_code(range_error e) noexcept {
  return {static_cast<int>(e), range_category()};
}

/// A parsed `Content-Range` request header: bytes `first` to `last`, both included.
struct content_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::optional<std::uint64_t> complete_length; ///< absent for `/*` and the OCI form

  constexpr std::uint64_t length() const noexcept { return last - first + 1; }
  friend constexpr bool operator==(content_range const&, content_range const&) = default;
};

/// Parses the `Content-Range` of an upload chunk.
///
/// OCI clients send `<first>-<last>` with no unit (distribution spec, "Pushing a blob in
/// chunks"); RFC 9110 §14.4 writes `bytes <first>-<last>/<length>`. Both are accepted, with
/// or without the unit and with `/length` or `/*` optional.
result<content_range> parse_content_range(std::string_view value) noexcept;

} // namespace http
PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::http::range_error> : std::true_type {};

#include <pier/http/impl/range.hpp>

#endif // PIER_HTTP_RANGE_HPP
