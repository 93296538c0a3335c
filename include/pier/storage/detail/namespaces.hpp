// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_DETAIL_NAMESPACES_HPP
#define PIER_STORAGE_DETAIL_NAMESPACES_HPP

// What the metadata stores share to answer the namespace queries (`NamespaceStore`).
//
// Repositories are stored in byte order, so a namespace's repositories (`ns/…`) are one
// range, and the next namespace is a few seeks away. Namespaces are listed in lexical
// order, which is not quite the order of their ranges: `-` and `.` sort before `/`, so the
// range of `a-b` comes before the range of `a`. `next_namespace` accounts for it.

#include <pier/config.hpp>
#include <pier/core/reference.hpp>
#include <pier/storage/types.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

PIER_BEGIN_NAMESPACE
namespace storage::detail {

/// The first key after every repository of namespace `ns` (`ns/` then bytes below 0xff:
/// repository names are ASCII).
inline std::string past_namespace(std::string_view ns) {
  std::string k(ns);
  k += "/\xff";
  return k;
}

/// The lexically first namespace after `last` (from the start when empty), or none.
/// `seek(key)` returns the first repository name at or after `key` (`std::optional`).
///
/// The namespaces after `last` are those that extend it (`last-x`, `lastx`) and, after
/// all of them, those that differ from it. Of either set, the lexically first is the
/// shortest prefix, itself a namespace, of the set's first namespace in byte order: a prefix
/// `p` of `x` comes after `x` in byte order only when `x` goes on with `-` or `.`, so only
/// those prefixes are looked up. A namespace costs a few seeks, whatever the registry holds
/// (except repositories without a namespace in between, which are stepped over).
template <class Seek>
std::optional<std::string> next_namespace(std::string const& last, Seek seek) {
  auto const is_namespace = [&](std::string const& ns) {
    std::optional<std::string> const k = seek(ns + '/');
    return k && k->starts_with(ns + '/');
  };
  // The shortest namespace that is a prefix of `x` at least `min` characters long.
  auto const shortest = [&](std::string x, std::size_t min) {
    for (std::size_t i = min; i < x.size(); ++i) {
      if ((x[i] == '-' || x[i] == '.') && is_namespace(x.substr(0, i)))
        return x.substr(0, i);
    }
    return x;
  };
  // The first namespace after `last` in byte order from key `from`, within keys that start
  // with `within`. Those before `last` are skipped: `last` itself, and a prefix of it when
  // `last` goes on with `-` or `.` (`a` for `a-b`), whose range comes after that of `last`.
  auto const first_from = [&](std::string from,
                              std::string_view within) -> std::optional<std::string> {
    for (;;) {
      std::optional<std::string> const k = seek(from);
      if (!k || !k->starts_with(within))
        return std::nullopt;
      std::string_view const ns = namespace_of(*k);
      if (ns.empty())
        from = *k + '\0'; // a repository without a namespace: the next key
      else if (ns <= last)
        from = past_namespace(ns);
      else
        return std::string(ns);
    }
  };
  if (std::optional<std::string> x = first_from(last, last))
    return shortest(std::move(*x), last.size() + 1);
  if (last.empty())
    return std::nullopt;
  // After every extension of `last`: the keys from `last` with its last byte incremented
  // (names are ASCII: no byte is 0xff).
  std::string after = last;
  after.back() = static_cast<char>(after.back() + 1);
  std::optional<std::string> x = first_from(after, "");
  if (!x)
    return std::nullopt;
  std::size_t differ = 0;
  while (differ < x->size() && differ < last.size() && (*x)[differ] == last[differ])
    ++differ;
  return shortest(std::move(*x), differ + 1);
}

/// A page of `namespaces(last, n)` from `seek` (see `next_namespace`).
template <class Seek>
name_page namespace_page(std::string last, std::size_t n, Seek seek) {
  name_page p;
  while (std::optional<std::string> ns = next_namespace(last, seek)) {
    if (p.names.size() == n) {
      p.more = true;
      break;
    }
    p.names.push_back(*ns);
    last = std::move(*ns);
  }
  return p;
}

/// Where a page of `namespace_repositories(ns, last, …)` starts, as a suffix after
/// `ns + '/'` for a scan "after `suffix`": empty for the start. `past` is set when `last`
/// comes after every repository of the namespace.
struct repositories_start {
  std::string suffix;
  bool past = false;
};

inline repositories_start repositories_after(std::string_view ns, std::string_view last) {
  std::string const prefix = std::string(ns) + '/';
  if (last.starts_with(prefix))
    return {std::string(last.substr(prefix.size())), false};
  return {std::string(), last > std::string_view(prefix)};
}

/// `last` of `namespace_tags` (`repository:tag`) split in two (neither repository names
/// nor tags contain a `:`). Without a `:`, it is a repository: the page starts at its first
/// tag.
struct tag_position {
  std::string repository;
  std::string tag;
};

inline tag_position split_tag_position(std::string_view last) {
  std::size_t const colon = last.find(':');
  if (colon == std::string_view::npos)
    return {std::string(last), std::string()};
  return {std::string(last.substr(0, colon)), std::string(last.substr(colon + 1))};
}

} // namespace storage::detail
PIER_END_NAMESPACE

#endif // PIER_STORAGE_DETAIL_NAMESPACES_HPP
