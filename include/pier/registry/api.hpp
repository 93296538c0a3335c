// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_API_HPP
#define PIER_REGISTRY_API_HPP

/// @file
/// pier's own registry API under `/api/v1`: the namespaces, the repositories and tags of a
/// namespace, and a search over repository names, as JSON over HTTP, each listing filtered
/// to what the caller may pull.
///
/// @code
/// pier::storage::memory_metadata_store meta; // a NamespaceStore
/// pier::registry::namespace_api api(meta);
/// assert(api.handles("/api/v1/namespaces/acme/tags?n=10"));
/// assert(api.handles("/api/v1/namespaces/..")); // ours: refused with 400 NAME_INVALID
/// assert(!api.handles("/api/v1/users"));        // the accounts API's (auth/api.hpp)
/// // The server fills the caller's `pull_access` from what the gate authenticated
/// // (`principal` and `accounts` outlive the request):
/// //   pier::registry::pull_access who;
/// //   who.everything = principal.admin;
/// //   who.admin = principal.admin; // may set quotas
/// //   who.whole_namespace = [&](std::string_view ns) {
/// //     return auth::namespace_role(principal, ns).has_value();
/// //   };
/// //   who.may_pull = [&](std::string repo) -> asio::awaitable<bool> {
/// //     auto v = co_await accounts.get_visibility(repo);
/// //     co_return auth::repository_permissions(principal, repo,
/// //                                            v && *v ? **v : default_visibility).pull;
/// //   };
/// //   http::response res = co_await api.handle(req, who);
/// @endcode
///
/// The registry layer sits below auth: what the caller may pull is asked through
/// `pull_access`, which the server fills from `auth::repository_permissions`.
///
/// ## Routes
///
/// All are `GET` (and `HEAD`), paginated with `n` and `last` like the registry's catalog
/// (at most `max_page_size` items, also without `n`; `Link: <…?n=N&last=X>; rel="next"`
/// when more may follow), and answer `application/json` with `Cache-Control: no-store`
/// (the answer depends on the caller):
/// - `/api/v1/namespaces`: `{"namespaces":["acme",…]}`: the namespaces (first path
///   components) in which the caller may pull at least one repository;
/// - `/api/v1/namespaces/{ns}/repositories`: `{"namespace","repositories":[…]}`: the
///   repositories of `ns` the caller may pull, nested ones included (`acme/web/app`);
/// - `/api/v1/namespaces/{ns}/tags`: `{"namespace","tags":[{"repository","tag","digest",
///   "mediaType","size","pushed"}]}`: every tag of those repositories by repository then
///   tag; `pushed` is when the tag moved to `digest`, RFC 3339 UTC; `last` is
///   `repository:tag`;
/// - `/api/v1/search?q=`: `{"query","repositories":[…]}`: the repositories the caller may
///   pull whose name contains `q` (case-sensitive; empty or missing: all).
///
/// With a store that is a `storage::QuotaStore` (storage/usage.hpp has the definitions of
/// unique and shared bytes), two more routes (404 NOT_FOUND otherwise):
/// - `GET /api/v1/namespaces/{ns}/usage`: `{"namespace","unique_bytes","shared_bytes",
///   "unreferenced_bytes","quota":N|null,"repositories":[{"name","unique_bytes",
///   "shared_bytes"},…]}`: the
///   namespace's usage and quota, and its repositories' usage, paged with `n` and `last`
///   like the listings (the namespace's totals on every page). Only for callers who may
///   pull the whole namespace (`everything` or `whole_namespace(ns)`), else 403 DENIED;
/// - `PUT /api/v1/namespaces/{ns}/quota` with `{"bytes": N}` sets the namespace's quota
///   (N bytes: unique, shared and unreferenced, plus uploads in progress), `{"bytes": null}`
///   removes it: 204. Only for `admin`
///   callers, else 403 DENIED; 405 for other methods. A body that is not exactly that:
///   400 UNSUPPORTED. The v2 API refuses pushes over a quota (v2.hpp).
///
/// Namespaces are in lexical order.
///
/// Filtering costs nothing for a caller who may pull everything listed (`everything`, or
/// `whole_namespace` of the namespace listed): the page is the store's page. For others,
/// the API reads from the store until `n` items are kept or `max_scan` items were read (the
/// repositories looked at to decide whether a namespace shows count too): a page may then
/// hold fewer than `n` items, even none, and its `Link` continues from the last item read,
/// so no request turns into a scan of the registry; that item is sealed under
/// `cursor_key` when the caller may not see it. A namespace shows when
/// `whole_namespace` says so or one of its first `max_scan` repositories may be pulled.
///
/// ## Errors
///
/// `{"errors":[{"code","message","detail":null}]}`: 400 NAME_INVALID (a namespace that is
/// not one valid path component, `..`, `a%2Fb`), 400 PAGINATION_NUMBER_INVALID (`n` not a
/// number), 404 NOT_FOUND (a path under these prefixes that is no route), 405 UNSUPPORTED
/// with `Allow: GET, HEAD`, 500 UNKNOWN (the store failed).

#include <pier/config.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>
#include <pier/registry/cursor_key.hpp>
#include <pier/registry/detail/api.hpp>
#include <pier/storage/concepts.hpp>
#include <pier/storage/types.hpp>

#include <asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

PIER_BEGIN_NAMESPACE
namespace registry {

/// What the caller of `namespace_api` may pull. The decision is auth's: the server fills it
/// from the authenticated principal (see the file comment). Empty functions answer "no".
struct pull_access {
  /// May pull every repository (a registry administrator): nothing is checked per item.
  bool everything = false;
  /// Whether the caller may pull every repository of namespace `ns` (their own, an
  /// organisation they have a role in): listings of `ns` are then not checked per item.
  std::function<bool(std::string_view ns)> whole_namespace;
  /// Whether the caller may pull `repository` (e.g. a public one); asked for the others.
  std::function<asio::awaitable<bool>(std::string repository)> may_pull;
  /// May change namespace quotas (a registry administrator; anyone without authentication).
  bool admin = false;
};

/// How `namespace_api` behaves.
struct namespace_api_options {
  /// The most items one page holds, whatever `n` asks.
  std::size_t max_page_size = 1000;
  /// The most items one filtered page reads from the store (see the file comment).
  std::size_t max_scan = 10000;
  /// Seals the `Link` of a page that stopped on an item the caller may not see
  /// (cursor_key.hpp). The default, the process's key, does not survive a restart; give
  /// replicas, and a server that restarts, a key they keep.
  registry::cursor_key cursor_key{};
};

/// The `/api/v1` routes for namespaces and search (see the file comment) over a metadata
/// store `M`. The store must outlive the API; `handle` may run on several threads at once.
template <storage::NamespaceStore M>
class namespace_api {
public:
  explicit namespace_api(M& meta, namespace_api_options options = {})
      : meta_(meta), options_(options) {}

  /// Whether `target` (path and query, as sent) is a route of this API, valid or not
  /// (`/api/v1/namespaces/..` is: it gets 400), so that a server can chain other
  /// `/api/v1` handlers after this one.
  static bool handles(std::string_view target);

  /// Answers the request; for a target that `handles` refuses, 404 NOT_FOUND. `req` and
  /// `who` must outlive the coroutine (await it in the expression that calls it).
  asio::awaitable<http::response> handle(http::request& req, pull_access const& who) const;

private:
  using route = detail::api::ns_route;

  template <class T>
  using listing = detail::api::listing<T>;

  asio::awaitable<http::response> dispatch(route const& r, pull_access const& who) const;

  // The usage and quota routes (QuotaStore only).
  asio::awaitable<http::response> usage(route const& r, std::size_t n,
                                        pull_access const& who) const;
  asio::awaitable<http::response> put_quota(http::request& req, route const& r,
                                            pull_access const& who) const;

  // Up to `n` items after `last` read by `fetch(last, n)` and, when `filter`, kept by
  // `keep(item)`, reading at most `max_scan` items (see the file comment).
  // `read` counts the items read for the page (also by `keep`).
  template <class T, class Fetch, class Keep>
  asio::awaitable<result<listing<T>>> collect(std::size_t& read, std::string last, std::size_t n,
                                              bool filter, Fetch fetch, Keep keep) const;

  // Whether the caller may pull one of the first `max_scan` repositories of `ns`; adds
  // those it looked at to `read`.
  asio::awaitable<result<bool>> sees_namespace(std::string ns, pull_access const& who,
                                               std::size_t& read) const;

  M& meta_;
  namespace_api_options options_;
};

} // namespace registry
PIER_END_NAMESPACE

#include <pier/registry/impl/api.hpp>

#endif // PIER_REGISTRY_API_HPP
