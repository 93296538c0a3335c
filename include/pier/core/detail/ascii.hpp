// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_DETAIL_ASCII_HPP
#define PIER_CORE_DETAIL_ASCII_HPP

// Character classes and case-insensitive comparison for the grammars pier parses
// (references, digests, media types, HTTP). All are ASCII by definition of those
// grammars: no locale may change them, so <cctype> is not used.

#include <pier/config.hpp>

#include <cstddef>
#include <string_view>

PIER_BEGIN_NAMESPACE
namespace detail::ascii {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
constexpr bool is_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
constexpr bool is_alpha(char c) noexcept { return is_lower(c) || is_upper(c); }
constexpr bool is_alnum(char c) noexcept { return is_digit(c) || is_alpha(c); }
constexpr bool is_lower_alnum(char c) noexcept { return is_digit(c) || is_lower(c); }
constexpr bool is_lower_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f'); }
constexpr bool is_hex(char c) noexcept { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }

/// 0–15 for a hex digit of either case, -1 otherwise.
constexpr int hex_value(char c) noexcept {
  if (is_digit(c))
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

constexpr char to_lower(char c) noexcept {
  return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i]))
      return false;
  return true;
}

constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// OWS = *( SP / HTAB )                                               (RFC 9110 §5.6.3)
constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|"
//       / "~" / DIGIT / ALPHA                                          (RFC 9110 §5.6.2)
constexpr bool is_tchar(char c) noexcept {
  return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

constexpr bool is_token(std::string_view s) noexcept {
  if (s.empty())
    return false;
  for (char c : s)
    if (!is_tchar(c))
      return false;
  return true;
}

// qdtext and the octets a quoted-pair may escape (RFC 9110 §5.6.4): HTAB, SP, visible
// ASCII and obs-text. '"' and '\' are the caller's to handle.
constexpr bool is_quoted_text(char c) noexcept {
  auto const u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

/// `s[i]` is '"'. The index just past the closing quote, or npos when the
/// quoted-string is malformed or unterminated.
constexpr std::size_t skip_quoted_string(std::string_view s, std::size_t i) noexcept {
  for (++i; i < s.size(); ++i) {
    char const c = s[i];
    if (c == '"')
      return i + 1;
    if (c == '\\') {
      if (++i == s.size() || !is_quoted_text(s[i]))
        return std::string_view::npos;
    } else if (!is_quoted_text(c)) {
      return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

} // namespace detail::ascii
PIER_END_NAMESPACE

#endif // PIER_CORE_DETAIL_ASCII_HPP
