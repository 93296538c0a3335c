// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_DETAIL_GC_HPP
#define PIER_REGISTRY_DETAIL_GC_HPP

// The part of garbage collection that the v2 API shares with the collector (gc.hpp):
// removing the manifests that have been untagged long enough. Apart from the collector so
// that v2.hpp needs neither its type nor a blob store that can delete.

#include <pier/config.hpp>
#include <pier/core/result.hpp>
#include <pier/storage/concepts.hpp>
#include <pier/storage/types.hpp>

#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace registry::detail {

// How many failures a report lists before it only counts them.
inline constexpr std::size_t gc_max_errors = 100;

// Appends "<what>: <why>" to `errors` (when given), at most gc_max_errors lines and then
// one that counts the rest, so that a store failing on every item cannot make a report grow
// with the registry.
inline void gc_note(std::vector<std::string>* errors, std::string_view what, std::error_code ec) {
  if (errors == nullptr)
    return;
  if (errors->size() < gc_max_errors) {
    errors->push_back(std::string(what) + ": " + ec.message());
    return;
  }
  std::string_view const prefix = "more errors: ";
  std::uint64_t more = 1;
  if (errors->size() > gc_max_errors)
    more += std::stoull(errors->back().substr(prefix.size()));
  else
    errors->emplace_back();
  errors->back() = std::string(prefix) + std::to_string(more);
}

// Lets the other work of the executor run: a sweep never holds an I/O thread for long.
inline asio::awaitable<void> gc_yield() {
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

// Removes from their repositories the manifests untagged for at least `retention`
// (`untagged_manifests` + `remove_untagged`), page after page of `batch`, until a page
// removes nothing, so that the children an index leaves untagged go too; returns how many
// it removed. A negative retention removes nothing.
template <storage::CollectableStore M>
asio::awaitable<std::uint64_t>
remove_untagged_manifests(M& meta, std::chrono::milliseconds retention, std::size_t batch,
                          std::vector<std::string>* errors) {
  using clock = std::chrono::system_clock;
  std::uint64_t removed = 0;
  if (retention.count() < 0 || batch == 0)
    co_return removed;
  for (;;) {
    // Due: untagged at `now - retention` or earlier (`before` is exclusive). Read again for
    // every page, so that with a retention of 0 the children a removed index left untagged
    // a moment ago are due on the next page.
    clock::time_point const before = clock::now() - retention + clock::duration(1);
    result<std::vector<storage::untagged_manifest>> page =
        co_await meta.untagged_manifests(before, batch);
    if (!page) {
      gc_note(errors, "listing untagged manifests", page.error());
      co_return removed;
    }
    std::uint64_t const removed_before = removed;
    for (storage::untagged_manifest& u : *page) {
      std::string const what = "removing " + u.repository + "@" + u.digest.str();
      result<bool> const gone =
          co_await meta.remove_untagged(std::move(u.repository), std::move(u.digest), before);
      if (!gone)
        gc_note(errors, what, gone.error());
      else if (*gone)
        ++removed;
      co_await gc_yield();
    }
    // A page that removed nothing holds only manifests tagged again meanwhile, or failures:
    // stop rather than read it again.
    if (removed == removed_before)
      co_return removed;
  }
}

} // namespace registry::detail
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_DETAIL_GC_HPP
