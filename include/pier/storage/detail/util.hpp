// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_DETAIL_UTIL_HPP
#define PIER_STORAGE_DETAIL_UTIL_HPP

// Small helpers the metadata stores share.

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/storage/types.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace storage::detail {

inline std::vector<pier::digest> sorted_unique(std::vector<pier::digest> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

/// A count moved one step by `delta`: up when positive, down (never below 0) when negative,
/// unchanged when 0.
inline std::uint64_t stepped(std::uint64_t n, int delta) noexcept {
  if (delta > 0)
    return n + 1;
  return delta < 0 && n > 0 ? n - 1 : n;
}

/// The keys of a sorted map after `last` (from the start when empty), at most `n`.
template <class Map>
name_page page_after(Map const& m, std::string const& last, std::size_t n) {
  name_page page;
  auto it = last.empty() ? m.begin() : m.upper_bound(last);
  for (; it != m.end() && page.names.size() < n; ++it)
    page.names.push_back(it->first);
  page.more = it != m.end();
  return page;
}

} // namespace storage::detail
PIER_END_NAMESPACE

#endif // PIER_STORAGE_DETAIL_UTIL_HPP
