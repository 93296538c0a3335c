// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_DETAIL_BASE64_HPP
#define PIER_CORE_DETAIL_BASE64_HPP

// RFC 4648 base64 in both alphabets, written out because every byte of a token, an
// Authorization header or a manifest is attacker-chosen and the decoders at hand are lax:
// OpenSSL's EVP_DecodeBlock skips whitespace and accepts padding in the middle.

#include <pier/config.hpp>

#include <cstddef>
#include <string>
#include <string_view>

PIER_BEGIN_NAMESPACE
namespace detail::base64 {

enum class alphabet { standard, url };

constexpr std::string_view digits(alphabet a) noexcept {
  return a == alphabet::url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                            : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

// The 6-bit value of `c`; -1 for characters outside the alphabet (and for '=').
constexpr int sextet(char c, alphabet a) noexcept {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (a == alphabet::url)
    return c == '-' ? 62 : c == '_' ? 63 : -1;
  return c == '+' ? 62 : c == '/' ? 63 : -1;
}

// Encodes `bytes`; `pad` adds the '=' that make the length a multiple of 4.
inline std::string encode(std::string_view bytes, alphabet a, bool pad) {
  std::string_view const d = digits(a);
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto const at = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned const v = (unsigned{at(i)} << 16) | (unsigned{at(i + 1)} << 8) | at(i + 2);
    out.push_back(d[(v >> 18) & 63]);
    out.push_back(d[(v >> 12) & 63]);
    out.push_back(d[(v >> 6) & 63]);
    out.push_back(d[v & 63]);
  }
  std::size_t const rest = bytes.size() - i;
  if (rest == 0)
    return out;
  unsigned v = unsigned{at(i)} << 16;
  if (rest == 2)
    v |= unsigned{at(i + 1)} << 8;
  out.push_back(d[(v >> 18) & 63]);
  out.push_back(d[(v >> 12) & 63]);
  if (rest == 2)
    out.push_back(d[(v >> 6) & 63]);
  if (pad)
    out.append(3 - rest, '=');
  return out;
}

enum class padding {
  forbidden, ///< base64url in JOSE (RFC 7515 §2): no '='
  optional,  ///< Basic credentials: RFC 7617 pads, a few clients do not
  required,  ///< the length is a multiple of 4 (descriptor `data`, RFC 4648 §4)
};

// Decodes `s` into `out`; false when it is not base64 of the alphabet. Whatever the
// padding rule, '=' may only end the input and only as many as the length needs. With
// `canonical`, the bits the last character carries beyond the data must be zero, so each
// byte string has exactly one encoding (a signed token cannot be re-spelled).
inline bool decode(std::string_view s, alphabet a, padding p, bool canonical, std::string& out) {
  out.clear();
  if (p == padding::required && s.size() % 4 != 0)
    return false;
  std::size_t pads = 0;
  while (pads < s.size() && s[s.size() - 1 - pads] == '=')
    ++pads;
  if (pads != 0) {
    if (p == padding::forbidden || pads > 2 || s.size() % 4 != 0)
      return false;
    s.remove_suffix(pads);
    // "xx==" and "xxx=" are the only padded endings: the padding must be exactly what the
    // unpadded length needs.
    if ((s.size() % 4 == 2 && pads != 2) || (s.size() % 4 == 3 && pads != 1))
      return false;
  }
  if (s.size() % 4 == 1)
    return false; // one character carries only 6 bits: never a whole byte
  out.reserve(s.size() / 4 * 3 + 2);
  unsigned acc = 0;
  int bits = 0;
  for (char c : s) {
    int const v = sextet(c, a);
    if (v < 0)
      return false;
    acc = ((acc << 6) | static_cast<unsigned>(v)) & 0xffff; // 6 + 8 bits are ever needed
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (canonical && bits != 0 && (acc & ((1u << bits) - 1)) != 0)
    return false;
  return true;
}

} // namespace detail::base64
PIER_END_NAMESPACE

#endif // PIER_CORE_DETAIL_BASE64_HPP
