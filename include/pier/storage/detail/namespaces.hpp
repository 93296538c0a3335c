// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_DETAIL_NAMESPACES_HPP
#define PIER_STORAGE_DETAIL_NAMESPACES_HPP

// What the metadata stores share to answer the namespace queries (`NamespaceStore`).
//
// Namespaces come in the order of `ns + '/'`, the order in which their repositories are
// stored, so that the next namespace is one seek away. It is the lexical order of the names
// except where one namespace is another's prefix followed by `-` or `.` (`a-b` before `a`,
// because `-` sorts before `/`); paging with `last` follows it consistently.

#include <pier/config.hpp>

#include <string>
#include <string_view>

PIER_BEGIN_NAMESPACE
namespace storage::detail {

/// The namespace of `repository` (its first path component), empty when it has none.
inline std::string_view namespace_of(std::string_view repository) noexcept {
  std::size_t const slash = repository.find('/');
  return slash == std::string_view::npos ? std::string_view() : repository.substr(0, slash);
}

/// The first key after every repository of namespace `ns` (`ns/` then bytes below 0xff:
/// repository names are ASCII).
inline std::string past_namespace(std::string_view ns) {
  std::string k(ns);
  k += "/\xff";
  return k;
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
