// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_IMPL_DIGEST_HPP
#define PIER_CORE_IMPL_DIGEST_HPP

#include <pier/core/detail/ascii.hpp>

PIER_BEGIN_NAMESPACE

constexpr std::string_view name(digest_algorithm a) noexcept {
  return a == digest_algorithm::sha512 ? "sha512" : "sha256";
}

constexpr std::size_t encoded_length(digest_algorithm a) noexcept {
  return a == digest_algorithm::sha512 ? 128 : 64;
}

// A namespace of its own: other grammars in pier::detail use the same short names.
namespace detail::digest_grammar {

using namespace ::pier::detail::ascii;

// The image spec's `encoded` production, which any algorithm's encoding must fit in.
constexpr bool is_encoded_char(char c) noexcept {
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '=' || c == '_' || c == '-';
}

// algorithm ::= component (separator component)*
// component ::= [a-z0-9]+    separator ::= [+._-]
struct algorithm_rule {
  // Consumes the longest algorithm at `it`; false (and `it` unchanged) when there is none.
  constexpr bool parse(char const*& it, char const* end) const noexcept {
    char const* p = it;
    for (;;) {
      char const* const component = p;
      while (p != end && is_lower_alnum(*p))
        ++p;
      if (p == component)
        return false; // empty algorithm, leading or doubled separator, or trailing one
      it = p;
      if (p == end || !(*p == '+' || *p == '.' || *p == '_' || *p == '-'))
        return true;
      ++p;
    }
  }
};

// encoded ::= [a-zA-Z0-9=_-]+
struct encoded_rule {
  constexpr bool parse(char const*& it, char const* end) const noexcept {
    char const* p = it;
    while (p != end && is_encoded_char(*p))
      ++p;
    if (p == it)
      return false;
    it = p;
    return true;
  }
};

constexpr bool lookup_algorithm(std::string_view s, digest_algorithm& out) noexcept {
  for (digest_algorithm a : {digest_algorithm::sha256, digest_algorithm::sha512}) {
    if (s == name(a)) {
      out = a;
      return true;
    }
  }
  return false;
}

} // namespace detail::digest_grammar

namespace detail {

class digest_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.digest"; }

  std::string message(int ev) const override {
    switch (static_cast<digest_error>(ev)) {
    case digest_error::empty: return "digest is empty";
    case digest_error::missing_separator:
      return "digest has no ':' between the algorithm and the encoded part";
    case digest_error::invalid_algorithm:
      return "digest algorithm must be lower-case [a-z0-9]+ components joined by one of "
             "'+', '.', '_', '-'";
    case digest_error::unsupported_algorithm:
      return "digest algorithm is not supported (only sha256 and sha512 are)";
    case digest_error::invalid_length:
      return "encoded digest has the wrong length for its algorithm (sha256 needs 64 and "
             "sha512 128 hex characters)";
    case digest_error::invalid_encoding:
      return "encoded digest is empty or has characters its algorithm does not allow "
             "(sha256 and sha512 need lower-case hex [a-f0-9])";
    case digest_error::mismatch: return "content does not match the digest";
    }
    return "unknown digest error";
  }

  std::error_condition default_error_condition(int) const noexcept override {
    return {static_cast<int>(oci_error::digest_invalid), oci_category()};
  }
};

} // namespace detail

inline std::error_category const& digest_category() noexcept {
  static detail::digest_category_impl const instance;
  return instance;
}

constexpr std::string_view digest_view::encoded() const noexcept {
  if (str_.empty())
    return {};
  return str_.substr(name(algorithm_).size() + 1);
}

inline result<digest_view> parse_digest_view(std::string_view s) noexcept {
  if (s.empty())
    return digest_error::empty;
  std::size_t const colon = s.find(':');
  if (colon == std::string_view::npos)
    return digest_error::missing_separator;

  char const* it = s.data();
  char const* const algorithm_end = s.data() + colon;
  if (!detail::digest_grammar::algorithm_rule{}.parse(it, algorithm_end) || it != algorithm_end)
    return digest_error::invalid_algorithm;

  std::string_view const encoded = s.substr(colon + 1);
  digest_algorithm a{};
  if (!detail::digest_grammar::lookup_algorithm(s.substr(0, colon), a)) {
    // Malformed beats unsupported: the client should fix the syntax first.
    it = encoded.data();
    if (!detail::digest_grammar::encoded_rule{}.parse(it, encoded.data() + encoded.size()) ||
        it != encoded.data() + encoded.size())
      return digest_error::invalid_encoding;
    return digest_error::unsupported_algorithm;
  }
  if (encoded.size() != encoded_length(a))
    return digest_error::invalid_length;
  for (char c : encoded) {
    if (!detail::digest_grammar::is_lower_hex(c))
      return digest_error::invalid_encoding;
  }
  return digest_view(a, s);
}

inline result<digest> parse_digest(std::string_view s) {
  result<digest_view> v = parse_digest_view(s);
  if (!v)
    return v.error();
  return digest(*v);
}

PIER_END_NAMESPACE

#endif // PIER_CORE_IMPL_DIGEST_HPP
