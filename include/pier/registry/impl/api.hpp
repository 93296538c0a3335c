// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_IMPL_API_HPP
#define PIER_REGISTRY_IMPL_API_HPP

#include <pier/core/reference.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

PIER_BEGIN_NAMESPACE
namespace registry {

template <storage::NamespaceStore M>
bool namespace_api<M>::handles(std::string_view target) {
  detail::api::parsed_target const t = detail::api::parse_target(target);
  auto const* e = std::get_if<detail::api::ns_target_error>(&t);
  return e == nullptr || *e != detail::api::ns_target_error::not_ours;
}

template <storage::NamespaceStore M>
asio::awaitable<http::response> namespace_api<M>::handle(http::request& req,
                                                         pull_access const& who) const {
  // The frame owns the route: the handlers below keep references to it.
  detail::api::parsed_target t = detail::api::parse_target(req.target());
  if (auto* r = std::get_if<route>(&t); r && !detail::api::open_cursor(*r, options_.cursor_key))
    t = detail::api::ns_target_error::invalid_cursor;
  http::response res;
  if (auto const* e = std::get_if<detail::api::ns_target_error>(&t))
    res = detail::api::target_failure(*e);
  else if (std::get<route>(t).kind == detail::api::ns_route_kind::quota)
    res = co_await put_quota(req, std::get<route>(t), who);
  else if (req.method() != "GET" && req.method() != "HEAD")
    res = detail::method_not_allowed("GET, HEAD");
  else
    res = co_await dispatch(std::get<route>(t), who);
  // What the caller may see is in the answer: no shared cache may keep it.
  res.headers().set("Cache-Control", "no-store");
  co_return res;
}

template <storage::NamespaceStore M>
asio::awaitable<http::response> namespace_api<M>::dispatch(route const& r,
                                                           pull_access const& who) const {
  using detail::api::ns_route_kind;
  namespace d = detail::api;
  std::size_t const n = std::min(r.n.value_or(options_.max_page_size), options_.max_page_size);
  // The caller may pull everything the listing of `r.ns` holds: the store's page as it is.
  bool const whole =
      who.everything || (!r.ns.empty() && who.whole_namespace && who.whole_namespace(r.ns));
  std::size_t read = 0; // items read from the store for this page
  auto const pullable = [&who](std::string repository) -> asio::awaitable<bool> {
    if (!who.may_pull)
      co_return false;
    co_return co_await who.may_pull(std::move(repository));
  };

  switch (r.kind) {
  case ns_route_kind::namespaces: {
    // The repositories looked at to decide count against the page's reads too.
    auto l = co_await collect<std::string>(
        read, r.last, n, !who.everything,
        [this](std::string last, std::size_t k) { return meta_.namespaces(last, k); },
        [&](std::string const& ns) -> asio::awaitable<result<bool>> {
          co_return co_await sees_namespace(ns, who, read);
        });
    if (!l)
      co_return detail::error(l.error());
    co_return d::listing_response(d::listing_path(r), "", {}, "namespaces", *l, n,
                                  options_.cursor_key);
  }
  case ns_route_kind::repositories: {
    auto l = co_await collect<std::string>(
        read, r.last, n, !whole,
        [&](std::string last, std::size_t k) {
          return meta_.namespace_repositories(r.ns, last, k);
        },
        [&](std::string const& repo) -> asio::awaitable<result<bool>> {
          co_return co_await pullable(repo);
        });
    if (!l)
      co_return detail::error(l.error());
    co_return d::listing_response(d::listing_path(r), "", {{"namespace", r.ns}}, "repositories", *l,
                                  n, options_.cursor_key);
  }
  case ns_route_kind::tags: {
    // Tags come grouped by repository: one question per repository, not per tag.
    std::optional<std::pair<std::string, bool>> known;
    auto l = co_await collect<storage::tag_entry>(
        read, r.last, n, !whole,
        [&](std::string last, std::size_t k) { return meta_.namespace_tags(r.ns, last, k); },
        [&](storage::tag_entry const& e) -> asio::awaitable<result<bool>> {
          if (!known || known->first != e.repository)
            known.emplace(e.repository, co_await pullable(e.repository));
          co_return known->second;
        });
    if (!l)
      co_return detail::error(l.error());
    co_return d::listing_response(d::listing_path(r), "", {{"namespace", r.ns}}, "tags", *l, n,
                                  options_.cursor_key);
  }
  case ns_route_kind::search: {
    auto l = co_await collect<std::string>(
        read, r.last, n, !who.everything,
        [&](std::string last, std::size_t k) { return meta_.search(r.q, last, k); },
        [&](std::string const& repo) -> asio::awaitable<result<bool>> {
          std::string_view const ns = namespace_of(repo);
          if (!ns.empty() && who.whole_namespace && who.whole_namespace(ns))
            co_return true;
          co_return co_await pullable(repo);
        });
    if (!l)
      co_return detail::error(l.error());
    co_return d::listing_response(d::listing_path(r), "q=" + detail::query_encode(r.q),
                                  {{"query", r.q}}, "repositories", *l, n, options_.cursor_key);
  }
  case ns_route_kind::usage: co_return co_await usage(r, n, who);
  case ns_route_kind::quota: break; // `handle` sends it to `put_quota`
  }
  co_return d::target_failure(d::ns_target_error::no_route);
}

template <storage::NamespaceStore M>
asio::awaitable<http::response> namespace_api<M>::usage(route const& r, std::size_t n,
                                                        pull_access const& who) const {
  if constexpr (storage::QuotaStore<M>) {
    if (!who.everything && !(who.whole_namespace && who.whole_namespace(r.ns)))
      co_return detail::error(oci_error::denied, "only callers who may pull all of namespace " +
                                                     r.ns + " may see its usage");
    result<storage::namespace_usage> u = co_await meta_.usage(r.ns, r.last, n);
    if (!u)
      co_return detail::error(u.error());
    co_return detail::api::usage_response(r.ns, std::move(*u), n);
  } else {
    co_return detail::api::target_failure(detail::api::ns_target_error::no_route);
  }
}

template <storage::NamespaceStore M>
asio::awaitable<http::response> namespace_api<M>::put_quota(http::request& req, route const& r,
                                                            pull_access const& who) const {
  if constexpr (storage::QuotaStore<M>) {
    if (req.method() != "PUT")
      co_return detail::method_not_allowed("PUT");
    if (!who.admin)
      co_return detail::error(oci_error::denied, "only administrators may set quotas");
    result<std::string> const text = co_await http::read_body(req.body(), 4096);
    if (!text)
      co_return detail::body_failure(text.error(), oci_error::unsupported);
    auto parsed = detail::api::parse_quota_body(*text);
    if (auto* refused = std::get_if<http::response>(&parsed))
      co_return std::move(*refused);
    result<void> const set =
        co_await meta_.set_quota(r.ns, std::get<std::optional<std::uint64_t>>(parsed));
    if (!set)
      co_return detail::error(set.error());
    co_return http::response(204);
  } else {
    co_return detail::api::target_failure(detail::api::ns_target_error::no_route);
  }
}

template <storage::NamespaceStore M>
template <class T, class Fetch, class Keep>
asio::awaitable<result<detail::api::listing<T>>>
namespace_api<M>::collect(std::size_t& read, std::string last, std::size_t n, bool filter,
                          Fetch fetch, Keep keep) const {
  listing<T> out;
  if (n == 0)
    co_return out;
  std::size_t const budget = std::max<std::size_t>(options_.max_scan, 1);
  bool last_kept = false; // whether `last` is an item the page holds
  for (;;) {
    // Filtered, no more is fetched than the budget has left.
    std::size_t const chunk =
        filter ? std::clamp<std::size_t>(budget - std::min(read, budget), 1, n) : n;
    auto fetched = co_await fetch(last, chunk);
    if (!fetched)
      co_return fetched.error();
    storage::page<T> p = detail::api::as_page(std::move(*fetched));
    for (std::size_t i = 0; i < p.items.size(); ++i) {
      if (filter && read >= budget) {
        // Enough read for one request: the client continues from here, which is sealed
        // when it is an item the caller may not see.
        out.more = true;
        out.next = std::move(last);
        out.sealed = !last_kept;
        co_return out;
      }
      last = detail::api::position_of(p.items[i]);
      last_kept = false;
      ++read;
      if (filter) {
        result<bool> const kept = co_await keep(p.items[i]);
        if (!kept)
          co_return kept.error();
        if (!*kept)
          continue;
      }
      last_kept = true;
      out.items.push_back(std::move(p.items[i]));
      if (out.items.size() == n) {
        out.more = i + 1 < p.items.size() || p.more;
        out.next = std::move(last);
        co_return out;
      }
    }
    if (!p.more || p.items.empty())
      co_return out;
  }
}

template <storage::NamespaceStore M>
asio::awaitable<result<bool>>
namespace_api<M>::sees_namespace(std::string ns, pull_access const& who, std::size_t& read) const {
  if (who.everything || (who.whole_namespace && who.whole_namespace(ns)))
    co_return true;
  if (!who.may_pull)
    co_return false;
  std::string last;
  std::size_t looked = 0; // at most `max_scan` of this namespace, whatever the page read
  while (looked < options_.max_scan) {
    std::size_t const chunk = std::min<std::size_t>(options_.max_scan - looked, 100);
    result<storage::name_page> p = co_await meta_.namespace_repositories(ns, last, chunk);
    if (!p)
      co_return p.error();
    for (std::string& repo : p->names) {
      ++looked;
      ++read;
      if (co_await who.may_pull(repo))
        co_return true;
      last = std::move(repo);
    }
    if (!p->more || p->names.empty())
      break;
  }
  co_return false;
}

} // namespace registry
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_IMPL_API_HPP
