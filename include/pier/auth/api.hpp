// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_API_HPP
#define PIER_AUTH_API_HPP

/// @file
/// pier's accounts API under `/api/v1`: users, organisations and their members, repository
/// visibility, and personal access tokens, as JSON over HTTP.
///
/// @code
/// pier::storage::memory_metadata_store store; // an AccountStore and a MetadataStore
/// pier::auth::accounts_api api(store, store, {.default_visibility =
///                                                 pier::storage::visibility::public_});
/// assert(api.handles("/api/v1/users/alice/tokens"));
/// assert(api.handles("/api/v1/users/%2e%2e")); // ours: refused with 400 NAME_INVALID
/// assert(!api.handles("/v2/_catalog"));
/// // Behind the gate, which authenticates the caller and passes the principal on:
/// //   pier::auth::make_api_handler(std::make_shared<decltype(api) const>(store, store))
/// @endcode
///
/// The gate authenticates every request first (Basic with a password or a personal access
/// token; Bearer tokens from `/auth/token` are refused here), and limits what a personal
/// access token may do by its scopes (reads with any; organisations, members and visibility
/// with `admin`; the routes under `users` that change something never: they need the
/// password, see gate.hpp); `who` is then the caller, anonymous when it has an empty name.
/// This API decides what the caller may do. Its 401 (an anonymous caller on a route that
/// needs a user) carries `WWW-Authenticate: Basic realm="pier"`, the challenge the gate
/// sends on `/api/v1` when credentials are wrong.
///
/// ## Routes
///
/// Bodies are JSON objects, at most `max_body` bytes (413 beyond); the request's
/// `Content-Type` is not looked at, responses are `application/json`. A body must be one
/// object with only the members listed, each of the type shown; a repeated member, an
/// unknown member, a wrong type or anything that is not JSON is 400 UNSUPPORTED. Times are
/// RFC 3339 UTC (`"2026-11-22T16:25:00Z"`). Names of users and organisations are one
/// repository path component (`[a-z0-9]+` separated by `.`, `_`, `__` or dashes, at most
/// 64 characters); repository names follow the distribution spec. An invalid name anywhere
/// in the path (`..`, `%2e%2e`, upper case, empty) is 400 NAME_INVALID before anything else
/// is looked at. `GET` routes also answer `HEAD`.
///
/// Route, body, who may call (in brackets), and the answer on success:
/// - `GET /api/v1/users?n=&last=` [admins]: 200 `{"users":[{"name","admin","created"}]}`
/// - `POST /api/v1/users` `{"name","password","admin"?}` [admins]: 201 the user, `Location`
/// - `GET /api/v1/users/{name}` [the user, admins]: 200 `{"name","admin","created"}`
/// - `DELETE /api/v1/users/{name}` [admins]: 204; the user's memberships, invitations and
///   tokens go too, the name stays reserved (see "Namespaces" below)
/// - `PUT /api/v1/users/{name}/password` `{"password"}` [the user, admins]: 204
/// - `GET /api/v1/users/{name}/tokens` [the user, admins]:
///   200 `{"tokens":[{"id","description","scopes","created","expires"}]}`
/// - `POST /api/v1/users/{name}/tokens` `{"description"?,"expires_in"?,"scopes"?}` [the user,
///   admins]: 201 `{"id","token","description","scopes","created","expires"}`, `Location`
/// - `DELETE /api/v1/users/{name}/tokens/{id}` [the user, admins]: 204
/// - `GET /api/v1/users/{name}/invitations` [the user, admins]:
///   200 `{"invitations":[{"org","role"}]}`, the organisations that invited the user
/// - `GET /api/v1/orgs?n=&last=` [any user]: 200 `{"orgs":[{"name","created"}]}`
/// - `POST /api/v1/orgs` `{"name"}` [any user of the account store, admins]:
///   201 `{"name","created"}`, `Location`; the creator becomes an admin member. A user who
///   is no administrator may create `max_orgs_per_user` organisations, and only with a name
///   whose namespace is unclaimed (see "Namespaces")
/// - `GET /api/v1/orgs/{org}` [any user]: 200 `{"name","created"}`
/// - `DELETE /api/v1/orgs/{org}` [org admins, admins]: 204; its memberships and invitations
///   go too, the name stays reserved
/// - `GET /api/v1/orgs/{org}/members` [members, admins]: 200 `{"members":[{"user","role"}]}`
/// - `PUT /api/v1/orgs/{org}/members/{user}` `{"role"}` [org admins, admins, the user]:
///   - by an admin: 201 `{"user","role"}` for a new member, 200 for a member whose role was
///     set again;
///   - by an org admin: 200 for a member whose role was set again; anybody else is invited
///     (202 `{"user","role","status":"invited"}`), and the answer is the same whether the
///     user exists or not (an invitation to nobody is not kept);
///   - by the invited user, body `{}`, empty or with the role offered: accepts, 201
///     `{"user","role"}`; 403 without an invitation
/// - `DELETE /api/v1/orgs/{org}/members/{user}` [org admins, admins, the user]: 204; of a
///   user who is not a member, it declines (the user: 204) or withdraws (org admins: 404
///   NAME_UNKNOWN as for anybody who is no member) a pending invitation
/// - `GET /api/v1/repositories/{name}` [whoever may pull it]: 200 the repository
/// - `PUT /api/v1/repositories/{name}` `{"visibility"}` [whoever may delete in it]:
///   200 the repository
///
/// - "admins" are registry administrators; "any user" is any authenticated caller; "org
///   admins" are members of the organisation with role `admin`; "members" have any role.
/// - `password`: at least 8 characters; bcrypt takes at most 72 bytes (yescrypt more).
///   It is hashed with `hash_password`; neither it nor its hash is ever sent back.
/// - `admin`: boolean, false when absent. `role`: `"read"`, `"write"` or `"admin"`.
/// - `description`: a string of at most 256 bytes, empty when absent. `expires_in`: how long
///   from now, 1 second to 315360000 (ten years): whole seconds as a number (`3600`) or a
///   string (`"3600"`), or a string with a unit `ms`, `s`, `m`, `h` or `d` (`"90m"`, `"1h"`,
///   `"30d"`); absent: the token does not expire (`"expires": null`). `scopes`: an array of
///   `"pull"`, `"push"`, `"delete"`, `"admin"` (what each allows: access_token.hpp), at
///   least one; absent: `["pull"]`. A token made before scopes existed lists
///   `["pull","push","delete"]`, which is what it may do. The token (`pier_<id>_<secret>`,
///   see access_token.hpp) is in the 201 response only: listings show neither it nor its
///   hash.
/// - A repository: `{"name","visibility":"public|private","exists":bool,
///   "permissions":{"pull","push","delete"}}`, the permissions being the caller's. Its
///   visibility may be set before it exists, so that a namespace owner can make it public
///   before the first push; until set it is `default_visibility`.
/// - Namespaces are never handed over: a user or organisation cannot be deleted while
///   repositories of its namespace hold a manifest or a blob (409 DENIED, saying how many),
///   and a deleted account's name stays reserved. A user who is no administrator may
///   create an organisation only when no user or organisation has the name, no repository
///   and no visibility record exists under `name/`, no quota is set for it, and it is not
///   reserved; every one of these refusals is the same 409 NAME_TAKEN, and after
///   `name_refusals.max_user_failures` of them within its window the user waits (429
///   TOOMANYREQUESTS with `Retry-After`). Administrators may create users (and
///   organisations) with such names: the namespace's repositories are then theirs.
/// - Lists are in name order and paginated like the registry's catalog: at most
///   `max_page_size` items (also without `n`), and `Link: </api/v1/users?n=N&last=X>;
///   rel="next"` when more follow. `n` that is not a number is 400
///   PAGINATION_NUMBER_INVALID.
///
/// ## Errors
///
/// `{"errors":[{"code","message","detail":null}]}` as the registry API sends them:
/// - 400 NAME_INVALID (a name in the path or body), UNSUPPORTED (the body: not JSON, a
///   repeated, unknown or missing member, a wrong type, a password under 8 characters);
/// - 401 UNAUTHORIZED: the route needs an authenticated caller and the caller is anonymous;
/// - 403 DENIED: the caller is authenticated but may not do this. Callers that may not act
///   on a user, organisation or repository are refused the same way whether it exists or
///   not, so nothing tells them which names exist;
/// - 404 NAME_UNKNOWN: no such user, organisation, member or token (said only to callers
///   who may act on it); 404 NOT_FOUND for a path under `/api/v1` that is no route here;
/// - 405 UNSUPPORTED with `Allow` for a method the route does not have;
/// - 409 NAME_TAKEN: a user or an organisation already has the name (or, for a new
///   organisation, its namespace is claimed); 409 LAST_ADMIN: the change would remove or
///   demote an organisation's only admin (make another member admin first, or delete the
///   organisation), or delete the last registry administrator or an organisation's only
///   admin; 409 DENIED: the account's namespace still holds repositories;
/// - 403 DENIED also when the user created as many organisations as they may;
/// - 429 TOOMANYREQUESTS: too many refused organisation names, with `Retry-After`;
/// - 413 SIZE_INVALID: the body is longer than `max_body`;
/// - 500 UNKNOWN: the store failed (never for bad input).
///
/// Hashing a password (creating a user, changing a password) runs bcrypt on the calling
/// thread: about 50 ms at cost 10, only for administrators and a user's own password.

#include <pier/auth/detail/api.hpp>
#include <pier/auth/password.hpp>
#include <pier/auth/policy.hpp>
#include <pier/auth/rate_limit.hpp>
#include <pier/config.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>
#include <pier/storage/concepts.hpp>
#include <pier/storage/types.hpp>

#include <asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

PIER_BEGIN_NAMESPACE
namespace auth {

/// How the accounts API behaves.
struct accounts_api_options {
  /// The visibility of a repository whose visibility was never set.
  storage::visibility default_visibility = storage::visibility::private_;
  /// How new passwords are hashed.
  password_algorithm algorithm = password_algorithm::bcrypt;
  /// The hash's cost; 0 picks `hash_password`'s default for the algorithm.
  unsigned cost = 0;
  /// The largest request body read; longer ones are refused with 413.
  std::size_t max_body = 64 * 1024;
  /// The most items one page of users or organisations holds, whatever `n` asks.
  std::size_t max_page_size = 1000;
  /// How many organisations a user who is not an administrator may create, deleted ones
  /// included (their names stay reserved); 0: only administrators create organisations;
  /// empty: no limit.
  std::optional<std::uint64_t> max_orgs_per_user = 10;
  /// Refused organisation names a user may try per window before waiting (429), so that
  /// the refusals cannot list the names in use. Only `max_user_failures` and `window`
  /// count.
  login_limit_options name_refusals{.max_user_failures = 10,
                                    .max_address_failures = 0,
                                    .window = std::chrono::minutes(10)};
};

/// The `/api/v1` routes for users, organisations, visibility and access tokens (see the
/// file comment), over an account store `A` and a metadata store `M` (which may be the
/// same object). The stores must outlive the API; `handle` may run on several threads at
/// once.
template <storage::AccountStore A, storage::MetadataStore M>
class accounts_api {
public:
  accounts_api(A& accounts, M& meta, accounts_api_options options = {})
      : accounts_(accounts), meta_(meta), options_(options),
        name_refusals_(std::make_shared<login_limiter>(options.name_refusals)) {}

  /// Whether `target` (path and query, as sent) is a route of this API, valid or not
  /// (`/api/v1/users/..` is: it gets 400), so that a server can chain other `/api/v1`
  /// handlers after this one.
  static bool handles(std::string_view target);

  /// Answers the request; for a target that `handles` refuses, 404 NOT_FOUND. `req` and
  /// `who` must outlive the coroutine (await it in the expression that calls it).
  asio::awaitable<http::response> handle(http::request& req, principal const& who) const;

private:
  using route = detail::accounts::api_route;

  asio::awaitable<http::response> dispatch(http::request& req, route const& r,
                                           principal const& who) const;

  // A page of users or organisations: `fetch(last, n)` reads it from the store.
  template <class T, class Fetch, class ToJson>
  asio::awaitable<http::response> list_page(std::string_view path, std::string_view key,
                                            route const& r, Fetch fetch, ToJson to_json) const;

  asio::awaitable<http::response> create_user(http::request& req) const;
  asio::awaitable<http::response> set_password(http::request& req, route const& r) const;
  asio::awaitable<http::response> create_token(http::request& req, route const& r) const;
  asio::awaitable<http::response> delete_token(route const& r) const;

  asio::awaitable<http::response> delete_account(route const& r, bool user) const;
  asio::awaitable<http::response> create_org(http::request& req, principal const& who) const;
  asio::awaitable<http::response> set_member(http::request& req, route const& r,
                                             principal const& who) const;
  asio::awaitable<http::response> remove_member(route const& r, principal const& who) const;

  asio::awaitable<http::response> repository(http::request& req, route const& r,
                                             principal const& who) const;

  A& accounts_;
  M& meta_;
  accounts_api_options options_;
  // Refused organisation names, per user (thread-safe; shared by copies of the API).
  std::shared_ptr<login_limiter> name_refusals_;
};

} // namespace auth
PIER_END_NAMESPACE

#include <pier/auth/impl/api.hpp>

#endif // PIER_AUTH_API_HPP
