// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_GATE_HPP
#define PIER_AUTH_GATE_HPP

/// @file
/// The handler a registry with users serves: it authenticates each request, decides
/// whether the caller may do what the request asks, runs Docker's token service at
/// `/auth/token`, and hands what passes to the registry (`/v2/…`) or to the accounts API
/// (`/api/v1/…`).
///
/// @code
/// pier::storage::memory_blob_store blobs;
/// pier::storage::memory_metadata_store meta; // also the AccountStore
/// pier::auth::gate_options opts;            // mode token
/// opts.signing_key = std::make_shared<pier::auth::es256_key const>(
///     pier::auth::es256_key::generate().value());
/// pier::http::server_options so;
/// so.port = 0;
/// auto v2 = pier::registry::make_v2_handler(blobs, meta);
/// pier::http::server srv(so, pier::auth::make_gate(meta, meta, opts, v2));
/// // GET /v2/ → 401, WWW-Authenticate: Bearer realm="http://<host>/auth/token",service="<host>"
/// // GET /auth/token?service=<host>&scope=repository:alice/app:pull,push with Basic
/// //   credentials of alice → {"token": …}
/// // GET /v2/ with Authorization: Bearer <token> → 200
/// @endcode
///
/// What goes where:
/// - `/_ping`, `/v1/_ping`: to the registry handler, whatever the mode, never authenticated.
/// - mode `none`: everything else to the registry as it is, except `/api/v1/…`, which
///   answers 404: an accounts API over a registry that checks nobody would only mislead.
/// - `/auth/token` (mode `token`): the token service, below.
/// - `/api/v1/…`: authenticated (Basic credentials; without them, as the anonymous
///   principal), then the `api_handler`; a failed authentication is 401 with
///   `WWW-Authenticate: Basic realm="pier"` (API clients are not Docker clients). What the
///   credentials may do there:
///   - the password: everything the user may do, account changes included (creating and
///     deleting users, setting a password, making and revoking access tokens);
///   - a personal access token: `GET` and `HEAD` with any scope; with scope `admin` also the
///     other changes (organisations, members, visibility, the other APIs served there);
///     account changes never (403 DENIED: they need the password);
///   - a Bearer token from `/auth/token`: nothing (401 with the Basic challenge). It carries
///     the registry access it was granted, and its `sub` does not stand for the account.
/// - `/v2/…`: authenticated and authorized as below, then the registry handler.
/// - any other target: to the registry handler for administrators only (so that a handler
///   composed behind the gate, a v1 API say, is never open by accident).
///
/// Authentication:
/// - `Authorization: Basic`: the user's password (checked against the account store's
///   `password_hash`, or against `gate_options::users_file` when one is set: its users are
///   all administrators), or one of the user's personal access tokens as the password, which
///   then allows only what its scopes do (see access_token.hpp): on `/v2/` and at the token
///   service, the user's permissions cut to pull (`pull`), pull and push (`push`), pull and
///   delete (`delete`), or all three (`admin`).
///   Verified credentials are cached (`credential_cache`, keyed on the stored hash too, so a
///   changed password misses it) and bcrypt runs on `gate_options::hash_threads` threads of
///   the gate's own, never on an I/O thread. Failures count in a `login_limiter` per client
///   address and per address and user (not per user alone: nobody can lock a user out from
///   elsewhere); while either is over its limit the answer is 429 TOOMANYREQUESTS with
///   `Retry-After`, before any password is checked. Each failure and each refusal is reported
///   to `gate_options::on_login`. Basic credentials are accepted in mode
///   `token` too. Empty ones (`:`), which containers/image sends after a Basic challenge when
///   it has none, are an anonymous caller.
/// - `Authorization: Bearer <JWT>` (when a signing key is set): an ES256 token of this
///   gate's key, `iss` = issuer, `aud` = service, valid now; on `/v2/` what it allows is its
///   `access` claim, nothing more (its `sub` does not widen it); `/api/v1/` and the
///   administrators' other targets refuse it. Before a change (push, delete) the gate checks
///   that the token's user still has the account the token was issued for (the
///   `user_created` claim: the account's creation time): a deleted user's token stops at once
///   (401 `invalid_token`), and does not act for a new account of the same name.
/// - Without `Authorization`: anonymous. In mode `token` an anonymous `/v2/` request is
///   always challenged, even for a public pull, so clients take the usual path through an
///   (anonymous) token.
/// - The realm and service come from `gate_options`, or else from the Host; a request whose
///   Host cannot be put in a URL (quotes, slashes, '@'…) is 400. From a peer in
///   `trusted_proxies`, a valid `X-Forwarded-Host` and `X-Forwarded-Proto` (`http` or
///   `https`) name the realm's host and scheme instead; anyone else's are ignored.
///
/// Authorization of `/v2/` (see `repository_permissions` for the rules of users,
/// organisations and visibility; visibility from `AccountStore::get_visibility`, else
/// `gate_options::default_visibility`):
/// - `/v2/`: any authenticated caller; a valid token counts, even one with no access.
/// - pull for GET and HEAD of blobs, manifests, tags and referrers; pull and push for
///   uploads and manifest PUT; delete for DELETE of manifests and blobs.
/// - `/v2/_catalog`: `registry:catalog:*` in a token (everyone gets it), anyone with Basic
///   credentials or none; the registry lists only the repositories the caller's account may
///   pull (the gate's `http::caller::may` with the catalog need), reading at most
///   `v2_options::max_scan` names a page.
/// - Cross-repository mount (`?mount=&from=`) from a repository the caller may not pull: the
///   registry asks the same `may`, drops the mount and starts a plain upload (202), as the
///   spec allows, so the blob's presence there is not revealed.
///
/// The gate is a router (http/router.hpp): the registry's routes (`registry::add_v2_routes`,
/// which say what each needs), `/auth/token`, `/api/v1/...` and a last route for any other
/// target; its one middleware authenticates and decides from the need, never the URL.
/// - Refusals: a caller that did not authenticate gets 401 UNAUTHORIZED with the mode's
///   challenge (`Bearer realm,service,scope` naming the access the request needs, or
///   `Basic realm="pier"`); a token without the access gets 401 with
///   `error="insufficient_scope"` (the client fetches a new token); a user who authenticated
///   with Basic credentials gets 403 DENIED. Nothing tells a private repository from a
///   missing one: both are refused the same way before the registry is asked.
/// - A target that is not a valid registry endpoint is answered as the registry would (400
///   NAME_INVALID, 404, ...) without reaching it.
///
/// The token service (`GET /auth/token?service=&scope=…&account=`, Docker's token spec):
/// Basic credentials are optional (anonymous callers get tokens for public pulls); wrong
/// ones are 401, rate-limited ones 429. The token's `access` is the requested scopes
/// intersected with what the policy grants (asking for more than one may have is not an
/// error); `registry:catalog:*` is granted to everyone. Answer: `{"token", "access_token",
/// "expires_in", "issued_at"}`. `POST /auth/token` takes the OAuth2 password grant
/// (`grant_type=password&username&password&service&scope&client_id`) and answers
/// `{"access_token", "token_type", "expires_in", "issued_at", "scope"}`; wrong credentials are
/// 400 `{"error":"invalid_grant"}` (RFC 6749 §5.2), other grant types 400
/// `{"error":"unsupported_grant_type"}` (containerd falls back to GET on either). No refresh
/// tokens are issued; `account`, `client_id` and `offline_token` are accepted and ignored.
/// Token responses carry `Cache-Control: no-store`. A `service`
/// other than this registry's is 400 (`UNSUPPORTED`; OAuth2: `invalid_request`): the token
/// would not be accepted where the client means to use it, and Docker's spec lets the
/// service name the audience, which this token service serves only one of.
///
/// Passwords and tokens are never logged nor echoed in a response.
///
/// See https://distribution.github.io/distribution/spec/auth/token/,
/// https://distribution.github.io/distribution/spec/auth/jwt/,
/// https://distribution.github.io/distribution/spec/auth/oauth/ and RFC 6750.

#include <pier/auth/access_token.hpp>
#include <pier/auth/address_range.hpp>
#include <pier/auth/detail/gate.hpp>
#include <pier/auth/detail/token_cache.hpp>
#include <pier/auth/htpasswd.hpp>
#include <pier/auth/jwt.hpp>
#include <pier/auth/policy.hpp>
#include <pier/auth/rate_limit.hpp>
#include <pier/auth/scope.hpp>
#include <pier/config.hpp>
#include <pier/http/handler.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>
#include <pier/http/router.hpp>
#include <pier/registry/routes.hpp>
#include <pier/registry/v2.hpp>
#include <pier/storage/concepts.hpp>
#include <pier/storage/types.hpp>

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace auth {

/// How the gate authenticates (`serve --auth none|basic|token`).
enum class auth_mode {
  none,  ///< nobody is checked: development only
  basic, ///< Basic credentials on every request; `Basic realm="pier"` challenges
  token, ///< Docker's token authentication: Bearer challenges, tokens from `/auth/token`
};

/// Settings of the gate.
struct gate_options {
  auth_mode mode = auth_mode::token;
  /// The token endpoint's URL in challenges; empty: `<http|https>://<Host>/auth/token`, with
  /// https when the request came over TLS. Set it when the registry sits behind a proxy:
  /// clients send their credentials wherever it points.
  std::string realm{};
  /// Peers whose `X-Forwarded-Proto` and `X-Forwarded-Host` name the scheme and host of
  /// the realm when `realm` is empty. Anyone else's are ignored: they would let a client
  /// point another client's challenge, and with it its password, at a server of its own.
  std::vector<address_range> trusted_proxies{};
  /// The name of this registry in tokens (`aud`) and challenges; empty: the request's Host.
  std::string service{};
  /// `iss` of the tokens issued and required of tokens presented.
  std::string issuer = "pier";
  /// How long an issued token is valid.
  std::chrono::seconds token_ttl{300};
  /// The visibility of a repository whose visibility was never set.
  storage::visibility default_visibility = storage::visibility::private_;
  /// When set, users and passwords come from this file instead of the account store, and
  /// every one of them is an administrator (htpasswd files have no roles). Replacing its
  /// contents (`htpasswd_users::replace`) takes effect with the next request.
  std::shared_ptr<htpasswd_users> users_file{};
  /// The key tokens are signed with. Required in mode `token` (without it `/auth/token`
  /// answers 500 and no Bearer token is accepted); in mode `basic`, Bearer tokens of this
  /// key are accepted too when it is set.
  std::shared_ptr<es256_key const> signing_key{};
  /// Failed-login limits.
  login_limit_options login_limits{};
  /// Called on the request's thread for every failed or refused login (see `login_event`),
  /// so that the server can log it; empty: nothing is reported. Must not block.
  std::function<void(login_event const&)> on_login{};
  /// Verified credentials remembered, and for how long.
  std::size_t credential_cache_size = credential_cache::default_capacity;
  std::chrono::seconds credential_cache_ttl{credential_cache::default_ttl};
  /// Threads that verify passwords (bcrypt, about 50 ms each) away from the I/O threads;
  /// 0 verifies on the I/O thread. They also bound the CPU that guessed passwords can take:
  /// verifications beyond them wait their turn, and requests that need no password do not.
  unsigned hash_threads = 1;
  /// The most resources one token request may name (400 beyond).
  std::size_t max_token_scopes = 64;
  /// Bearer tokens kept verified until they expire (0: verify every request's).
  std::size_t verified_token_cache_size = 4096;
};

/// What serves `/api/v1/…` once the gate has authenticated the caller (anonymous: an empty
/// principal). `accounts_api::handle` fits.
using api_handler =
    std::function<asio::awaitable<http::response>(http::request&, principal const&)>;

/// An `api_handler` that calls `api->handle(req, who)` on an object it shares, such as an
/// `accounts_api`.
///
/// @code
/// auto api = std::make_shared<pier::auth::accounts_api<S, S> const>(meta, meta);
/// pier::auth::api_handler h = pier::auth::make_api_handler(api);
/// @endcode
template <class Api>
api_handler make_api_handler(std::shared_ptr<Api const> api);

/// The gate over an account store `A` and a metadata store `M` (which may be one object).
/// The stores must outlive it. Thread-safe: one gate serves every thread.
template <storage::AccountStore A, storage::MetadataStore M>
class gate {
public:
  /// `registry` serves `/v2/` and the pings; `api` serves `/api/v1/` (empty: 404).
  /// Throws `std::system_error` when OpenSSL cannot key the credential cache.
  gate(A& accounts, M& meta, gate_options options, http::handler registry, api_handler api = {});

  gate(gate const&) = delete;
  gate& operator=(gate const&) = delete;

  /// Answers one request (see the file comment). `req` must outlive the awaitable.
  asio::awaitable<http::response> handle(http::request& req) const;

  gate_options const& options() const noexcept { return options_; }

private:
  struct caller;
  struct authentication;

  // The middleware: who the caller is, and whether they may have what the route needs
  // (`http::context::need`, and the route's repository). It knows no URL.
  asio::awaitable<http::response> authorise(http::context& ctx,
                                            http::route_handler const& next) const;
  // Its three kinds of need: the registry's (pull, push, remove, catalog, authenticated),
  // the JSON API's (read, manage, account changes) and the administrators'.
  asio::awaitable<http::response> authorise_registry(http::context& ctx,
                                                     http::route_handler const& next,
                                                     detail::site const& site) const;
  asio::awaitable<http::response> authorise_api(http::context& ctx,
                                                http::route_handler const& next,
                                                detail::site const& site) const;
  asio::awaitable<http::response> authorise_admin(http::context& ctx,
                                                  http::route_handler const& next,
                                                  detail::site const& site) const;
  // What the context's caller gets: the one decision handlers ask (`http::caller::may`);
  // `known`: the caller's account, when the middleware has loaded it already.
  http::caller caller_of(std::shared_ptr<caller const> c,
                         std::optional<principal> known = std::nullopt) const;

  asio::awaitable<http::response> token_service(http::request& req) const;
  asio::awaitable<http::response> issue(http::request& req, detail::site const& site,
                                        std::optional<basic_credentials> credentials,
                                        std::vector<std::string> scopes, bool oauth) const;

  // Reads `Authorization`: Basic credentials or a Bearer token, or none.
  asio::awaitable<authentication> authenticate(http::request const& req,
                                               detail::site const& site) const;
  // Rate limit, then `verify_user`, then counts the outcome.
  asio::awaitable<authentication> check_password(std::string user, std::string password,
                                                 std::string address) const;
  // Whether the password (or access token) is the user's; sets the caller's principal (and
  // the token's grants, the account's creation time) when it is.
  asio::awaitable<result<bool>> verify_user(std::string user, std::string password,
                                            caller& out) const;
  // Whether a Bearer token's user still has the account the token was issued to: checked
  // before a change (push, delete), so that a deleted user's token stops at once.
  asio::awaitable<result<bool>> account_current(caller const& c) const;
  // Reports a refused login to `options_.on_login`.
  void report(login_event::kind what, std::string_view user, std::string_view address,
              std::chrono::steady_clock::duration wait) const;
  // `f()` on the hashing threads, or here when there are none.
  template <class F>
  asio::awaitable<std::invoke_result_t<F&>> blocking(F f) const;
  // A user's principal: admin flag and memberships (`user_unknown` when gone).
  asio::awaitable<result<principal>> load_principal(std::string name) const;
  // The caller's principal: as authenticated, or a token's `sub` loaded.
  asio::awaitable<result<principal>> principal_of(caller const& c) const;
  asio::awaitable<result<permissions>> permissions_of(principal const& who,
                                                      std::string repository) const;
  asio::awaitable<result<bool>> may(caller const& c, std::string repository,
                                    std::vector<std::string> actions) const;
  // What the policy (and a Basic access token's scopes, when given) grants of `requested`.
  asio::awaitable<result<std::vector<resource_scope>>>
  grant(principal const& who, std::optional<token_grants> limit,
        std::vector<resource_scope> const& requested) const;
  // The refusal of a failed authentication, or of a caller without the access needed.
  http::response refuse(authentication const& a, detail::site const& site,
                        std::vector<resource_scope> const& scopes) const;

  A& accounts_;
  M& meta_;
  gate_options options_;
  http::handler registry_;
  api_handler api_;
  mutable login_limiter limiter_;               // internally synchronised
  mutable credential_cache cache_;              // internally synchronised
  mutable detail::verified_token_cache tokens_; // internally synchronised
  std::unique_ptr<asio::thread_pool> pool_;     // null: hash on the calling thread
  http::router router_;                         // every route the gate serves
};

/// The gate as the server's handler: a copyable `http::handler` that owns a `gate` over
/// `accounts` and `meta` (which must outlive it). In mode `none` it is `registry` behind one
/// prefix test (`/api/v1`, 404), and costs nothing else.
///
/// @code
/// pier::http::handler h = pier::auth::make_gate(meta, meta, {.mode = pier::auth::auth_mode::none},
///                                                pier::registry::make_v2_handler(blobs, meta));
/// @endcode
template <storage::AccountStore A, storage::MetadataStore M>
http::handler make_gate(A& accounts, M& meta, gate_options options, http::handler registry,
                        api_handler api = {});

} // namespace auth
PIER_END_NAMESPACE

#include <pier/auth/impl/gate.hpp>

#endif // PIER_AUTH_GATE_HPP
