// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_DETAIL_REFERENCE_RULES_HPP
#define PIER_CORE_DETAIL_REFERENCE_RULES_HPP

// The reference grammar, one rule per production. Included by
// pier/core/impl/reference.hpp after the declarations of pier/core/reference.hpp.
//
// Every rule has the shape
//
//   result<value_type> parse(char const*& it, char const* end) const noexcept;
//
// It matches a prefix of [it, end) and advances `it` past it, or fails with the
// `reference_error` that names the production that could not match. Rules do not look
// at what follows their match unless the grammar makes the next character part of their
// decision; the rule that composes them checks what may come next.

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/result.hpp>

#include <cstddef>
#include <string_view>

#include <pier/core/detail/ascii.hpp>

PIER_BEGIN_NAMESPACE

// A namespace of its own: other grammars in pier::detail have rules and character
// classes with the same short names.
namespace detail::reference_grammar {

using namespace ::pier::detail::ascii;

// `\w` of the regular expressions the grammar was first written in (RE2: ASCII only).
constexpr bool is_word(char c) noexcept { return is_alnum(c) || c == '_'; }
constexpr bool is_path_separator_char(char c) noexcept { return c == '.' || c == '_' || c == '-'; }

constexpr std::string_view span(char const* first, char const* last) noexcept {
  return {first, static_cast<std::size_t>(last - first)};
}

/// alpha-numeric := [a-z0-9]+
struct alpha_numeric_rule_t {
  using value_type = std::string_view;

  result<value_type> parse(char const*& it, char const* end) const noexcept {
    char const* const start = it;
    while (it != end && is_lower_alnum(*it))
      ++it;
    if (it != start)
      return span(start, it);
    if (it != end && is_upper(*it))
      return reference_error::uppercase_in_path;
    return reference_error::invalid_path_component;
  }
};
inline constexpr alpha_numeric_rule_t alpha_numeric_rule{};

/// separator := "." | "_" | "__" | "-"+
///
/// Greedy: "___" matches "__" and leaves a '_' that no alpha-numeric can start with,
/// which is how "a___b" comes to be refused.
struct separator_rule_t {
  using value_type = std::string_view;

  result<value_type> parse(char const*& it, char const* end) const noexcept {
    char const* const start = it;
    if (it == end || !is_path_separator_char(*it))
      return reference_error::invalid_separator;
    char const c = *it++;
    if (c == '_' && it != end && *it == '_')
      ++it;
    else if (c == '-')
      while (it != end && *it == '-')
        ++it;
    return span(start, it);
  }
};
inline constexpr separator_rule_t separator_rule{};

/// path-component := alpha-numeric [ separator alpha-numeric ]*
struct path_component_rule_t {
  using value_type = std::string_view;

  result<value_type> parse(char const*& it, char const* end) const noexcept {
    char const* const start = it;
    if (it == end || *it == '/' || *it == ':' || *it == '@')
      return reference_error::empty_path_component;
    if (is_path_separator_char(*it))
      return reference_error::leading_separator;
    if (auto r = alpha_numeric_rule.parse(it, end); !r)
      return r.error();
    while (it != end) {
      // An upper-case letter cannot follow a component anywhere in the grammar; naming
      // it here gives "Ubuntu" a better error than "invalid character after 'u'".
      if (is_upper(*it))
        return reference_error::uppercase_in_path;
      if (!is_path_separator_char(*it))
        break;
      (void)separator_rule.parse(it, end); // cannot fail: *it is a separator character
      if (it == end || !is_lower_alnum(*it))
        return after_separator_error(it, end);
      (void)alpha_numeric_rule.parse(it, end);
    }
    return span(start, it);
  }

private:
  static std::error_code after_separator_error(char const* it, char const* end) noexcept {
    if (it == end || *it == '/' || *it == ':' || *it == '@')
      return reference_error::trailing_separator;
    if (is_path_separator_char(*it))
      return reference_error::invalid_separator;
    if (is_upper(*it))
      return reference_error::uppercase_in_path;
    return reference_error::invalid_path_component;
  }
};
inline constexpr path_component_rule_t path_component_rule{};

/// remote-name := path-component [ "/" path-component ]*
///
/// The length limit is not checked here: it counts the domain too.
struct remote_name_rule_t {
  using value_type = std::string_view;

  result<value_type> parse(char const*& it, char const* end) const noexcept {
    char const* const start = it;
    for (;;) {
      if (auto r = path_component_rule.parse(it, end); !r)
        return r.error();
      if (it == end || *it != '/')
        return span(start, it);
      ++it;
    }
  }
};
inline constexpr remote_name_rule_t remote_name_rule{};

/// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
struct domain_component_rule_t {
  using value_type = std::string_view;

  result<value_type> parse(char const*& it, char const* end) const noexcept {
    char const* const start = it;
    if (it == end || !is_alnum(*it))
      return reference_error::invalid_domain;
    while (it != end && (is_alnum(*it) || *it == '-'))
      ++it;
    if (it[-1] == '-')
      return reference_error::invalid_domain;
    return span(start, it);
  }
};
inline constexpr domain_component_rule_t domain_component_rule{};

/// domain-name := domain-component [ "." domain-component ]*
///
/// Dotted IPv4 addresses are domain names too; like Docker, pier does not check that
/// each number is below 256: the host is only ever handed to a resolver.
struct domain_name_rule_t {
  using value_type = std::string_view;

  result<value_type> parse(char const*& it, char const* end) const noexcept {
    char const* const start = it;
    for (;;) {
      if (auto r = domain_component_rule.parse(it, end); !r)
        return r.error();
      if (it == end || *it != '.')
        return span(start, it);
      ++it;
    }
  }
};
inline constexpr domain_name_rule_t domain_name_rule{};

/// "[" IPv6address "]", the address in RFC 4291 section 2.2 text form (forms 1 and 2):
/// eight groups of 1 to 4 hex digits, or fewer with one "::" standing for the rest.
///
/// Refused on purpose, as the distribution library does: zone identifiers
/// ("[fe80::1%eth0]", RFC 6874), which mean something only on one machine, and the
/// dotted-quad tail of IPv4-mapped addresses ("[::ffff:1.2.3.4]").
struct ipv6_address_rule_t {
  using value_type = std::string_view; // with the brackets

  result<value_type> parse(char const*& it, char const* end) const noexcept {
    char const* const start = it;
    if (it == end || *it != '[')
      return reference_error::invalid_ipv6;
    ++it;
    int groups = 0;
    bool compressed = false;
    if (end - it >= 2 && it[0] == ':' && it[1] == ':') {
      compressed = true;
      it += 2;
    }
    while (it != end && *it != ']') {
      char const* const group = it;
      while (it != end && is_hex(*it) && it - group < 5)
        ++it;
      if (it == group || it - group > 4 || ++groups > 8)
        return reference_error::invalid_ipv6;
      if (it == end || *it == ']')
        break;
      if (*it != ':')
        return reference_error::invalid_ipv6;
      ++it;
      if (it != end && *it == ':') {
        if (compressed)
          return reference_error::invalid_ipv6;
        compressed = true;
        ++it;
      } else if (it == end || *it == ']') {
        return reference_error::invalid_ipv6; // a single ':' before ']'
      }
    }
    if (it == end || (compressed ? groups > 7 : groups != 8))
      return reference_error::invalid_ipv6;
    ++it;
    return span(start, it);
  }
};
inline constexpr ipv6_address_rule_t ipv6_address_rule{};

/// host := domain-name | "[" IPv6address "]"
struct host_rule_t {
  using value_type = std::string_view;

  result<value_type> parse(char const*& it, char const* end) const noexcept {
    if (it != end && *it == '[')
      return ipv6_address_rule.parse(it, end);
    return domain_name_rule.parse(it, end);
  }
};
inline constexpr host_rule_t host_rule{};

/// ":" port-number, port-number := [0-9]+ with a value of at most 65535.
///
/// The grammar has no bound, but a port that cannot exist can only be a typing error.
/// Leading zeros are allowed, as they are in URLs.
struct port_rule_t {
  using value_type = std::string_view; // the digits

  result<value_type> parse(char const*& it, char const* end) const noexcept {
    if (it == end || *it != ':')
      return reference_error::invalid_port;
    char const* const start = ++it;
    unsigned long value = 0;
    while (it != end && is_digit(*it)) {
      value = value * 10 + static_cast<unsigned long>(*it - '0');
      if (value > 65535)
        return reference_error::invalid_port;
      ++it;
    }
    if (it == start)
      return reference_error::invalid_port;
    return span(start, it);
  }
};
inline constexpr port_rule_t port_rule{};

/// domain := host [ ":" port-number ]
///
/// Matches the whole of [it, end) or fails: in a reference the domain always ends at the
/// first '/', so the caller passes that as `end`, and a character the host and port do
/// not take is an error of the domain, not the start of something else.
struct domain_rule_t {
  using value_type = std::string_view;

  result<value_type> parse(char const*& it, char const* end) const noexcept {
    char const* const start = it;
    if (auto r = host_rule.parse(it, end); !r)
      return r.error();
    if (it != end && *it == ':') {
      if (auto r = port_rule.parse(it, end); !r)
        return r.error();
      if (it != end)
        return reference_error::invalid_port;
    }
    if (it != end)
      return reference_error::invalid_domain;
    return span(start, it);
  }
};
inline constexpr domain_rule_t domain_rule{};

/// tag := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
struct tag_rule_t {
  using value_type = std::string_view;

  result<value_type> parse(char const*& it, char const* end) const noexcept {
    char const* const start = it;
    if (it == end)
      return reference_error::empty_tag;
    if (!is_word(*it))
      return reference_error::invalid_tag;
    ++it;
    while (it != end && (is_word(*it) || *it == '.' || *it == '-')) {
      if (static_cast<std::size_t>(it - start) == reference_max_tag_length)
        return reference_error::tag_too_long;
      ++it;
    }
    return span(start, it);
  }
};
inline constexpr tag_rule_t tag_rule{};

/// digest, as pier/core/digest.hpp defines it. Nothing may follow a digest in a
/// reference, so this rule takes the whole of [it, end).
struct digest_rule_t {
  using value_type = digest_view;

  result<value_type> parse(char const*& it, char const* end) const noexcept {
    result<digest_view> r = parse_digest_view(span(it, end));
    if (!r)
      return reference_error::invalid_digest;
    it = end;
    return r;
  }
};
inline constexpr digest_rule_t digest_rule{};

/// Docker's test for the part before the first '/': a domain when it has a '.' or a
/// ':', is "localhost", or has an upper-case letter (which no path component can have).
constexpr bool looks_like_domain(std::string_view first) noexcept {
  if (first == "localhost")
    return true;
  for (char const c : first)
    if (c == '.' || c == ':' || is_upper(c))
      return true;
  return false;
}

/// reference := name [ ":" tag ] [ "@" digest ], name := [ domain "/" ] remote-name
///
/// Takes the whole of [it, end).
struct reference_rule_t {
  using value_type = reference_view;

  result<value_type> parse(char const*& it, char const* end) const noexcept {
    char const* const start = it;
    if (it == end)
      return reference_error::empty;
    if (*it == ':' || *it == '@')
      return reference_error::missing_name;

    reference_view v;
    // Neither tags nor digests contain '/', so the first one, if any, ends either the
    // domain or the first path component (or the string is invalid anyway).
    char const* slash = it;
    while (slash != end && *slash != '/')
      ++slash;
    if (slash != end && looks_like_domain(span(it, slash))) {
      result<std::string_view> d = domain_rule.parse(it, slash);
      if (!d)
        return d.error();
      v.domain_ = *d;
      ++it;
    }

    result<std::string_view> p = remote_name_rule.parse(it, end);
    if (!p)
      return p.error();
    v.path_ = *p;
    if (static_cast<std::size_t>(it - start) > reference_max_name_length)
      return reference_error::name_too_long;

    if (it != end && *it == ':') {
      ++it;
      if (it != end && *it == '@')
        return reference_error::empty_tag;
      result<std::string_view> t = tag_rule.parse(it, end);
      if (!t)
        return t.error();
      v.tag_ = *t;
      if (it != end && *it != '@')
        return reference_error::invalid_tag;
    }
    if (it != end && *it == '@') {
      ++it;
      result<digest_view> d = digest_rule.parse(it, end);
      if (!d)
        return d.error();
      v.digest_ = *d;
    }
    if (it != end)
      return reference_error::invalid_path_component; // only a path can stop early here
    v.str_ = span(start, end);
    return v;
  }
};
inline constexpr reference_rule_t reference_rule{};

/// A whole string matched by one rule, as Boost.URL's grammar::parse does it.
template <class Rule>
result<typename Rule::value_type> parse_whole(std::string_view s, Rule const& rule,
                                              reference_error trailing) noexcept {
  char const* it = s.data();
  char const* const end = it + s.size();
  result<typename Rule::value_type> r = rule.parse(it, end);
  if (r && it != end)
    return trailing;
  return r;
}

/// The 64 lower-case hex characters Docker prints as an image ID.
constexpr bool is_hex_identifier(std::string_view s) noexcept {
  if (s.size() != 64)
    return false;
  for (char const c : s)
    if (!is_digit(c) && !(c >= 'a' && c <= 'f'))
      return false;
  return true;
}

} // namespace detail::reference_grammar

PIER_END_NAMESPACE

#endif // PIER_CORE_DETAIL_REFERENCE_RULES_HPP
