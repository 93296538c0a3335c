// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_IMPL_GATE_HPP
#define PIER_AUTH_IMPL_GATE_HPP

#include <pier/core/detail/rfc3339.hpp>
#include <pier/auth/access_token.hpp>
#include <pier/auth/detail/gate.hpp>
#include <pier/auth/password.hpp>
#include <pier/storage/offload.hpp>
#include <pier/storage/error.hpp>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <type_traits>
#include <utility>

PIER_BEGIN_NAMESPACE
namespace auth {

/// Who the gate found the caller to be.
template <storage::AccountStore A, storage::MetadataStore M>
struct gate<A, M>::caller {
  /// Basic credentials: the user with admin flag and memberships. A token: `sub` only (the
  /// principal is loaded where needed). Anonymous: empty.
  principal who;
  /// Valid credentials or a valid token were presented.
  bool authenticated = false;
  /// Authenticated by a token: it may do what `access` says, nothing more.
  bool bearer = false;
  std::vector<resource_scope> access;
  /// Basic credentials with a personal access token: what its scopes allow.
  std::optional<token_grants> token;
  /// When the account was made: the account store's record for Basic credentials, the
  /// token's `user_created` claim for a Bearer token (none for htpasswd users).
  std::optional<std::chrono::system_clock::time_point> created;
};

/// The outcome of reading `Authorization`.
template <storage::AccountStore A, storage::MetadataStore M>
struct gate<A, M>::authentication {
  caller c;
  detail::auth_failure failure = detail::auth_failure::none;
  std::string message;                        // why, for the error body; never a secret
  std::chrono::steady_clock::duration wait{}; // rate_limited: how long
};

template <storage::AccountStore A, storage::MetadataStore M>
gate<A, M>::gate(A& accounts, M& meta, gate_options options, http::handler registry,
                 api_handler api)
    : accounts_(accounts), meta_(meta), options_(std::move(options)),
      registry_(std::move(registry)), api_(std::move(api)), limiter_(options_.login_limits),
      cache_(options_.credential_cache_size, options_.credential_cache_ttl),
      tokens_(options_.verified_token_cache_size) {
  if (options_.hash_threads > 0)
    pool_ = std::make_unique<asio::thread_pool>(options_.hash_threads);
  using http::access_need;
  // The gate outlives its router, whose routes call back into it.
  auto const to_registry = [this](http::context& c) { return registry_(c.request()); };
  router_.add("/auth/token", {{"*", access_need::open, [this](http::context& c) {
                                 return token_service(c.request());
                               }}});
  auto const to_api = [this](http::context& c) -> asio::awaitable<http::response> {
    if (!api_)
      co_return http::response::text(404, "the accounts API is not served here\n");
    principal const* found = std::any_cast<principal>(&c.caller().details);
    principal const who = found ? *found : principal{}; // named, not a temporary in the co_await (GCC 12)
    co_return co_await api_(c.request(), who);
  };
  for (char const* pattern : {"/api/v1", "/api/v1/{path*}"}) {
    http::endpoint e{http::path_pattern(pattern), {{"*", access_need::api_account, to_api}}};
    // What a change there needs depends on which of the API's routes it is: the accounts
    // API's own routes say.
    e.prepare = [](http::context& c) -> std::optional<http::response> {
      switch (detail::api_access_of(c.request().target(), c.request().method())) {
      case detail::api_access::read: c.set_need(access_need::api_read); break;
      case detail::api_access::manage: c.set_need(access_need::api_manage); break;
      case detail::api_access::account: c.set_need(access_need::api_account); break;
      }
      return std::nullopt;
    };
    router_.add(std::move(e));
  }
  registry::add_v2_routes(router_, to_registry);
  // Whatever else is composed behind the gate (a v1 API, say) is never open by accident.
  router_.add("/{path*}", {{"*", access_need::admin, to_registry}});
  // A target that does not parse: the registry's 400.
  router_.on_not_found([this](http::request& req) { return registry_(req); });
  router_.use([this](http::context& c, http::route_handler const& next) {
    return authorise(c, next);
  });
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> gate<A, M>::handle(http::request& req) const {
  co_return co_await router_.handle(req);
}

// --- authentication ----------------------------------------------------------------------

template <storage::AccountStore A, storage::MetadataStore M>
template <class F>
asio::awaitable<std::invoke_result_t<F&>> gate<A, M>::blocking(F f) const {
  if (!pool_)
    co_return f();
  co_return co_await storage::offload(*pool_, std::move(f));
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<typename gate<A, M>::authentication>
gate<A, M>::authenticate(http::request const& req, detail::site const& site) const {
  using detail::auth_failure;
  authentication out;
  std::optional<std::string_view> const header = req.headers().find("Authorization");
  if (!header || detail::is_empty_basic(*header))
    co_return out; // anonymous
  result<basic_credentials> basic = parse_basic_authorization(*header);
  if (basic)
    co_return co_await check_password(std::move(basic->user), std::move(basic->password),
                                      std::string(req.client_address()));
  if (basic.error() != credentials_error::wrong_scheme) {
    out.failure = auth_failure::bad_credentials;
    out.message = basic.error().message();
    co_return out;
  }
  result<std::string_view> const bearer = parse_bearer_authorization(*header);
  if (!bearer) {
    out.failure = auth_failure::bad_credentials;
    out.message = "unsupported authorization scheme";
    co_return out;
  }
  out.failure = auth_failure::bad_token;
  if (!options_.signing_key || site.service.empty()) {
    out.message = "this registry does not accept Bearer tokens";
    co_return out;
  }
  auto const now = std::chrono::system_clock::now();
  std::optional<detail::verified_token_cache::claims> known =
      tokens_.find(site.service, *bearer, now);
  if (!known) {
    jwt_verify_options vo;
    vo.issuer = options_.issuer;
    vo.audience = site.service;
    result<boost::json::object> const claims = verify_jwt(*bearer, *options_.signing_key, vo);
    if (!claims) {
      out.message = "invalid token: " + claims.error().message();
      co_return out;
    }
    detail::verified_token_cache::claims c;
    if (boost::json::value const* access = claims->if_contains("access")) {
      result<std::vector<resource_scope>> list = access_from_json(*access);
      if (!list) {
        out.message = "invalid token: " + list.error().message();
        co_return out;
      }
      c.access = std::move(*list);
    }
    if (boost::json::value const* sub = claims->if_contains("sub"); sub && sub->is_string())
      c.subject = std::string(sub->get_string());
    if (boost::json::value const* made = claims->if_contains("user_created");
        made && made->is_int64())
      c.user_created = made->get_int64();
    // verify_jwt required a numeric `exp` in the future; a token without one is not cached.
    boost::json::value const* exp = claims->if_contains("exp");
    if (exp != nullptr && exp->is_int64()) {
      c.expires = std::chrono::system_clock::time_point(std::chrono::seconds(exp->get_int64()));
      tokens_.insert(site.service, *bearer, c, now);
    }
    known = std::move(c);
  }
  out.c.access = std::move(known->access);
  out.c.who.name = std::move(known->subject);
  if (known->user_created)
    out.c.created = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(*known->user_created)));
  out.failure = auth_failure::none;
  out.c.authenticated = true;
  out.c.bearer = true;
  co_return out;
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<typename gate<A, M>::authentication>
gate<A, M>::check_password(std::string user, std::string password, std::string address) const {
  using detail::auth_failure;
  authentication out;
  // Refused before the password is looked at: a locked-out guess learns nothing.
  out.wait = limiter_.retry_after(address, user, std::chrono::steady_clock::now());
  if (out.wait > std::chrono::steady_clock::duration::zero()) {
    out.failure = auth_failure::rate_limited;
    report(login_event::kind::refused, user, address, out.wait);
    co_return out;
  }
  result<bool> const ok = co_await verify_user(user, password, out.c);
  if (!ok) {
    out.failure = auth_failure::server_error;
    out.message = ok.error().message();
    co_return out;
  }
  if (!*ok) {
    auto const now = std::chrono::steady_clock::now();
    limiter_.record_failure(address, user, now);
    auto const locked = limiter_.retry_after(address, user, now);
    report(locked > std::chrono::steady_clock::duration::zero() ? login_event::kind::locked_out
                                                                : login_event::kind::failed,
           user, address, locked);
    out.failure = auth_failure::bad_credentials;
    out.message = "invalid username or password";
    out.c = caller{};
    co_return out;
  }
  limiter_.record_success(address, user);
  out.c.authenticated = true;
  co_return out;
}

template <storage::AccountStore A, storage::MetadataStore M>
void gate<A, M>::report(login_event::kind what, std::string_view user, std::string_view address,
                        std::chrono::steady_clock::duration wait) const {
  if (!options_.on_login)
    return;
  login_event e;
  e.what = what;
  e.user = user;
  e.address = address;
  e.retry_after = std::chrono::ceil<std::chrono::seconds>(wait);
  options_.on_login(e);
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<result<bool>> gate<A, M>::verify_user(std::string user, std::string password,
                                                      caller& out) const {
  if (options_.users_file) {
    // Held for the whole check: a reload meanwhile does not pull the file from under it.
    std::shared_ptr<htpasswd const> const held = options_.users_file->current();
    htpasswd const& file = *held;
    std::optional<std::string_view> const hash = file.find(user);
    bool ok = hash && cache_.contains(user, password, *hash);
    // An unknown user costs a hash too (htpasswd::verify does it), so timing tells nothing.
    if (!ok)
      ok = co_await blocking([&] { return file.verify(user, password, cache_).has_value(); });
    if (ok)
      out.who = principal{user, true, {}};
    co_return ok;
  }

  result<storage::user_record> const record = co_await accounts_.get_user(user);
  if (!record) {
    if (record.error() != storage::storage_error::user_unknown)
      co_return record.error();
    co_await blocking([&] { return verify_password(password, detail::timing_hash).has_value(); });
    co_return false;
  }
  bool ok = false;
  std::optional<token_grants> grants;
  if (std::optional<std::string> const id = access_token_id(password)) {
    // A personal access token: a SHA-256 to compare, no bcrypt.
    result<storage::access_token_record> const token = co_await accounts_.get_token(*id);
    ok = token && token->user == user &&
         check_access_token(*token, password, std::chrono::system_clock::now());
    if (ok)
      grants = token_grants_of(*token);
  }
  if (!ok) {
    std::string const& hash = record->password_hash;
    ok = cache_.contains(user, password, hash);
    if (!ok) {
      ok = co_await blocking([&] { return verify_password(password, hash).has_value(); });
      if (ok)
        cache_.insert(user, password, hash);
    }
  }
  if (!ok)
    co_return false;
  result<std::vector<storage::membership>> memberships = co_await accounts_.memberships(user);
  if (!memberships)
    co_return memberships.error();
  out.who = principal{user, record->admin, std::move(*memberships)};
  out.token = grants;
  out.created = record->created;
  co_return true;
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<result<bool>> gate<A, M>::account_current(caller const& c) const {
  if (!c.bearer || c.who.name.empty())
    co_return true; // Basic credentials were checked just now; anonymous has no account
  if (options_.users_file)
    co_return options_.users_file->current()->contains(c.who.name);
  result<storage::user_record> const record = co_await accounts_.get_user(c.who.name);
  if (!record && record.error() == storage::storage_error::user_unknown)
    co_return false;
  if (!record)
    co_return record.error();
  // Tokens issued before the claim existed say nothing of the account: its existence must do.
  co_return !c.created || *c.created == record->created;
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<result<principal>> gate<A, M>::load_principal(std::string name) const {
  if (name.empty())
    co_return principal{};
  if (options_.users_file) {
    if (!options_.users_file->current()->contains(name))
      co_return storage::storage_error::user_unknown;
    co_return principal{name, true, {}};
  }
  result<storage::user_record> const record = co_await accounts_.get_user(name);
  if (!record)
    co_return record.error();
  result<std::vector<storage::membership>> memberships = co_await accounts_.memberships(name);
  if (!memberships)
    co_return memberships.error();
  co_return principal{name, record->admin, std::move(*memberships)};
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<result<principal>> gate<A, M>::principal_of(caller const& c) const {
  if (!c.bearer)
    co_return c.who;
  co_return co_await load_principal(c.who.name);
}

// --- authorization -----------------------------------------------------------------------

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<result<permissions>> gate<A, M>::permissions_of(principal const& who,
                                                                std::string repository) const {
  // A role on the namespace decides alone; only others need the visibility.
  if (namespace_role(who, namespace_of(repository)))
    co_return repository_permissions(who, repository, storage::visibility::private_);
  result<std::optional<storage::visibility>> const v =
      co_await accounts_.get_visibility(repository);
  if (!v)
    co_return v.error();
  co_return repository_permissions(who, repository, v->value_or(options_.default_visibility));
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<result<bool>> gate<A, M>::may(caller const& c, std::string repository,
                                              std::vector<std::string> actions) const {
  if (c.bearer) {
    for (std::string const& a : actions)
      if (!allows(c.access, "repository", repository, a))
        co_return false;
    co_return true;
  }
  result<permissions> const p = co_await permissions_of(c.who, repository);
  if (!p)
    co_return p.error();
  std::vector<std::string> const granted = scope_actions(detail::within(*p, c.token));
  for (std::string const& a : actions)
    if (std::find(granted.begin(), granted.end(), a) == granted.end())
      co_return false;
  co_return true;
}

template <storage::AccountStore A, storage::MetadataStore M>
http::response gate<A, M>::refuse(authentication const& a, detail::site const& site,
                                  std::vector<resource_scope> const& scopes) const {
  using detail::auth_failure;
  switch (a.failure) {
  case auth_failure::rate_limited: return detail::too_many_requests(a.wait);
  case auth_failure::server_error: return detail::oci_error_response(oci_error::unknown, a.message);
  case auth_failure::bad_credentials:
  case auth_failure::bad_token:
    if (options_.mode == auth_mode::token)
      return detail::bearer_unauthorized(
          site.realm, site.service, scopes,
          a.failure == auth_failure::bad_token ? "invalid_token" : "", a.message);
    return detail::basic_unauthorized(a.message);
  case auth_failure::none: break;
  }
  // Authenticated or anonymous, and not allowed.
  caller const& c = a.c;
  if (c.authenticated && !c.bearer)
    return detail::denied("requested access to the resource is denied");
  if (options_.mode == auth_mode::token)
    return detail::bearer_unauthorized(site.realm, site.service, scopes,
                                       c.bearer ? "insufficient_scope" : "",
                                       "authentication required");
  return detail::basic_unauthorized("authentication required");
}

template <storage::AccountStore A, storage::MetadataStore M>
http::caller gate<A, M>::caller_of(std::shared_ptr<caller const> c,
                                   std::optional<principal> known) const {
  http::caller out;
  out.name = c->who.name;
  out.authenticated = c->authenticated;
  // Shared by the copies of `may`: a catalog page asks for many names, and the account
  // behind a token is loaded once (not at all when the middleware already has it).
  auto account = std::make_shared<std::optional<principal>>(std::move(known));
  out.may = [this, c, account](http::access_need what,
                               std::string repository) -> asio::awaitable<bool> {
    if (what == http::access_need::catalog) {
      // Listing: what the account may pull, whatever the credentials' own limits.
      if (!*account) {
        result<principal> found = co_await principal_of(*c);
        if (!found && found.error() != storage::storage_error::user_unknown)
          throw std::system_error(found.error());
        *account = found ? std::move(*found) : principal{}; // a token outliving its user
      }
      result<permissions> const p = co_await permissions_of(**account, std::move(repository));
      if (!p)
        throw std::system_error(p.error());
      co_return p->pull;
    }
    std::vector<std::string> const actions = detail::actions_of(what);
    result<bool> const ok = co_await may(*c, std::move(repository), actions);
    if (!ok)
      throw std::system_error(ok.error());
    co_return *ok;
  };
  return out;
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> gate<A, M>::authorise(http::context& ctx,
                                                      http::route_handler const& next) const {
  using http::access_need;
  access_need const need = ctx.need();
  if (need == access_need::open)
    co_return co_await next(ctx);
  std::optional<detail::site> const site =
      detail::site_of(ctx.request(), options_.realm, options_.service, options_.trusted_proxies);
  if (!site)
    co_return detail::oci_error_response(
        oci_error::unsupported, "the request has no valid Host to name this registry by", nullptr,
        400);
  switch (need) {
  case access_need::api_read:
  case access_need::api_manage:
  case access_need::api_account: co_return co_await authorise_api(ctx, next, *site);
  case access_need::admin: co_return co_await authorise_admin(ctx, next, *site);
  default: co_return co_await authorise_registry(ctx, next, *site);
  }
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response>
gate<A, M>::authorise_registry(http::context& ctx, http::route_handler const& next,
                               detail::site const& site) const {
  using http::access_need;
  http::request& req = ctx.request();
  access_need const need = ctx.need();
  std::string const repository(ctx.repository());
  std::vector<resource_scope> const scopes = detail::scopes_of(need, repository);
  authentication const a = co_await authenticate(req, site);
  if (a.failure != detail::auth_failure::none)
    co_return refuse(a, site, scopes);
  req.set_user(a.c.who.name); // for the access log, and the registry's per-user counts
  caller const& c = a.c;

  bool allowed = false;
  switch (need) {
  case access_need::catalog:
    // Filtered by what the caller may pull, so anyone may ask; token mode wants it in the
    // token (which everyone gets) so that clients follow the usual flow.
    allowed = c.bearer ? allows(c.access, "registry", "catalog", "*")
                       : c.authenticated || options_.mode != auth_mode::token;
    break;
  case access_need::pull:
  case access_need::push:
  case access_need::remove:
    // Token mode: without a token, even a public pull fetches one (anonymously) first.
    if (c.authenticated || options_.mode != auth_mode::token) {
      std::vector<std::string> const actions = detail::actions_of(need); // named: GCC 12
      result<bool> const ok = co_await may(c, repository, actions);
      if (!ok)
        co_return detail::oci_error_response(oci_error::unknown, ok.error().message());
      allowed = *ok;
    }
    break;
  default: allowed = c.authenticated; break;
  }
  if (!allowed)
    co_return refuse(a, site, scopes);
  if (http::is_repository_change(need)) {
    result<bool> const current = co_await account_current(c);
    if (!current)
      co_return detail::oci_error_response(oci_error::unknown, current.error().message());
    if (!*current) {
      authentication gone;
      gone.failure = detail::auth_failure::bad_token;
      gone.message = "the token's user no longer exists";
      co_return refuse(gone, site, scopes);
    }
  }
  std::optional<principal> account;
  if (need == access_need::catalog) {
    // Administrators see the whole catalog unfiltered: the account decides, not a token.
    result<principal> who = co_await principal_of(c);
    if (!who && who.error() != storage::storage_error::user_unknown)
      co_return detail::oci_error_response(oci_error::unknown, who.error().message());
    account = who ? std::move(*who) : principal{}; // a token outliving its user
  }
  bool const admin = account && account->admin;
  ctx.caller() = caller_of(std::make_shared<caller const>(c), std::move(account));
  ctx.caller().admin = admin;
  try {
    co_return co_await next(ctx);
  } catch (std::system_error const& e) { // a store failed under `may`
    co_return detail::oci_error_response(oci_error::unknown, e.code().message());
  }
}

// --- the token service -------------------------------------------------------------------

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<result<std::vector<resource_scope>>>
gate<A, M>::grant(principal const& who, std::optional<token_grants> limit,
                  std::vector<resource_scope> const& requested) const {
  std::vector<resource_scope> granted;
  for (resource_scope const& s : requested) {
    if (s.type == "repository") {
      result<permissions> const p = co_await permissions_of(who, s.name);
      if (!p)
        co_return p.error();
      granted.push_back({"repository", "", s.name, scope_actions(detail::within(*p, limit))});
    } else if (s.type == "registry" && s.name == "catalog") {
      granted.push_back({"registry", "", "catalog", {"*"}}); // the catalog is filtered
    }
  }
  co_return intersect(requested, granted);
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> gate<A, M>::token_service(http::request& req) const {
  std::optional<detail::site> const named =
      detail::site_of(req, options_.realm, options_.service, options_.trusted_proxies);
  if (!named)
    co_return detail::oci_error_response(
        oci_error::unsupported, "the request has no valid Host to name this registry by", nullptr,
        400);
  detail::site const& site = *named;
  if (options_.mode != auth_mode::token)
    co_return http::response::text(404, "not a registry API endpoint\n");
  if (!options_.signing_key)
    co_return detail::oci_error_response(oci_error::unknown, "the token service has no key");
  std::string_view const method = req.method();
  if (method == "GET" || method == "HEAD") {
    auto const params = detail::query_params(req.target());
    std::string const service = detail::param(params, "service");
    if (!service.empty() && service != site.service)
      co_return detail::oci_error_response(oci_error::unsupported,
                                           "this token service issues tokens for " + site.service,
                                           nullptr, 400);
    std::optional<basic_credentials> credentials;
    std::optional<std::string_view> const h = req.headers().find("Authorization");
    if (h && !detail::is_empty_basic(*h)) {
      result<basic_credentials> basic = parse_basic_authorization(*h);
      if (!basic)
        co_return detail::basic_unauthorized("the token service takes Basic credentials");
      credentials = std::move(*basic);
    }
    std::vector<std::string> scopes;
    for (std::string_view s : detail::params_of(params, "scope"))
      scopes.emplace_back(s);
    co_return co_await issue(req, site, std::move(credentials), std::move(scopes), false);
  }
  if (method != "POST") {
    http::response r =
        detail::oci_error_response(oci_error::unsupported, "method not allowed on this endpoint");
    r.headers().set("Allow", "GET, HEAD, POST");
    co_return r;
  }
  // OAuth2 (RFC 6749 §4.3): the password grant only; pier issues no refresh tokens.
  result<std::string> const body = co_await http::read_body(req.body(), 64 * 1024);
  if (!body)
    co_return detail::oauth_error(400, "invalid_request", "the form could not be read");
  auto const params = detail::form_params(*body);
  std::string const grant_type = detail::param(params, "grant_type");
  if (grant_type != "password")
    co_return detail::oauth_error(400, "unsupported_grant_type",
                                  "this token service takes the password grant only");
  std::string const service = detail::param(params, "service");
  if (!service.empty() && service != site.service)
    co_return detail::oauth_error(400, "invalid_request",
                                  "this token service issues tokens for " + site.service);
  basic_credentials credentials{detail::param(params, "username"),
                                detail::param(params, "password")};
  if (credentials.user.empty())
    co_return detail::oauth_error(400, "invalid_request", "username and password are required");
  std::vector<std::string> scopes;
  for (std::string_view s : detail::params_of(params, "scope"))
    scopes.emplace_back(s);
  co_return co_await issue(req, site, std::move(credentials), std::move(scopes), true);
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response>
gate<A, M>::issue(http::request& req, detail::site const& site,
                  std::optional<basic_credentials> credentials, std::vector<std::string> scopes,
                  bool oauth) const {
  principal who;
  std::optional<token_grants> limit;
  std::optional<std::chrono::system_clock::time_point> created;
  if (credentials) {
    authentication const a =
        co_await check_password(std::move(credentials->user), std::move(credentials->password),
                                std::string(req.client_address()));
    if (a.failure == detail::auth_failure::bad_credentials) {
      if (oauth)
        co_return detail::oauth_error(400, "invalid_grant", a.message);
      co_return detail::basic_unauthorized(a.message);
    }
    if (a.failure != detail::auth_failure::none)
      co_return refuse(a, site, {});
    who = a.c.who;
    req.set_user(who.name); // for the access log
    limit = a.c.token;
    created = a.c.created;
  }

  std::vector<std::string_view> const views(scopes.begin(), scopes.end());
  result<std::vector<resource_scope>> const requested = parse_scopes(views);
  if (!requested || requested->size() > options_.max_token_scopes) {
    std::string const why = !requested ? "invalid scope: " + requested.error().message()
                                       : "too many scopes in one request";
    if (oauth)
      co_return detail::oauth_error(400, "invalid_scope", why);
    oci_error const code = requested || requested.error() != scope_error::invalid_name
                               ? oci_error::unsupported
                               : oci_error::name_invalid;
    co_return detail::oci_error_response(code, why, nullptr, 400);
  }
  result<std::vector<resource_scope>> const access = co_await grant(who, limit, *requested);
  if (!access)
    co_return detail::oci_error_response(oci_error::unknown, access.error().message());

  auto const now = std::chrono::system_clock::now();
  auto const seconds = [](auto t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  };
  boost::json::object claims{
      {"iss", options_.issuer},
      {"sub", who.name},
      {"aud", site.service},
      {"exp", seconds(now + options_.token_ttl)},
      {"nbf", seconds(now)},
      {"iat", seconds(now)},
      {"jti", detail::random_token_id()},
      {"access", access_to_json(*access)},
  };
  if (created) // which account of that name the token is for (see `account_current`)
    claims["user_created"] =
        std::chrono::duration_cast<std::chrono::nanoseconds>(created->time_since_epoch()).count();
  result<std::string> const token = sign_jwt(claims, *options_.signing_key);
  if (!token)
    co_return detail::oci_error_response(oci_error::unknown, token.error().message());

  boost::json::object body;
  if (!oauth)
    body["token"] = *token;
  body["access_token"] = *token;
  if (oauth)
    body["token_type"] = "Bearer";
  body["expires_in"] = options_.token_ttl.count();
  body["issued_at"] = ::pier::detail::rfc3339::format(now);
  if (oauth)
    body["scope"] = to_string(*access);
  http::response res = http::response::json(200, boost::json::serialize(body));
  res.headers().set("Cache-Control", "no-store");
  co_return res;
}

// --- the accounts API and the rest -------------------------------------------------------

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> gate<A, M>::authorise_api(http::context& ctx,
                                                          http::route_handler const& next,
                                                          detail::site const& site) const {
  http::request& req = ctx.request();
  authentication const a = co_await authenticate(req, site);
  if (a.failure == detail::auth_failure::bad_credentials ||
      a.failure == detail::auth_failure::bad_token)
    co_return detail::basic_unauthorized(a.message);
  if (a.failure != detail::auth_failure::none)
    co_return refuse(a, site, {});
  req.set_user(a.c.who.name); // for the access log
  // A registry token carries registry access, nothing of the account behind it.
  if (a.c.bearer)
    co_return detail::basic_unauthorized(
        "tokens from /auth/token are not accepted on /api/v1: use Basic credentials (the "
        "password, or a personal access token)");
  if (a.c.token) {
    switch (ctx.need()) {
    case http::access_need::api_manage:
      if (!a.c.token->admin)
        co_return detail::denied("this access token's scopes do not include admin");
      break;
    case http::access_need::api_account:
      co_return detail::denied(
          "account changes (users, passwords, access tokens) need the password, not an "
          "access token");
    default: break;
    }
  }
  result<principal> const who = co_await principal_of(a.c);
  if (!who) {
    if (who.error() == storage::storage_error::user_unknown)
      co_return detail::basic_unauthorized("the token's user no longer exists");
    co_return detail::oci_error_response(oci_error::unknown, who.error().message());
  }
  ctx.caller() = caller_of(std::make_shared<caller const>(a.c), *who);
  ctx.caller().admin = who->admin;
  ctx.caller().details = *who;
  try {
    co_return co_await next(ctx);
  } catch (std::system_error const& e) { // a store failed under `may`
    co_return detail::oci_error_response(oci_error::unknown, e.code().message());
  }
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> gate<A, M>::authorise_admin(http::context& ctx,
                                                            http::route_handler const& next,
                                                            detail::site const& site) const {
  http::request& req = ctx.request();
  authentication const a = co_await authenticate(req, site);
  if (a.failure != detail::auth_failure::none)
    co_return refuse(a, site, {});
  req.set_user(a.c.who.name); // for the access log
  result<principal> const who = co_await principal_of(a.c);
  if (!who && who.error() != storage::storage_error::user_unknown)
    co_return detail::oci_error_response(oci_error::unknown, who.error().message());
  // A registry token is no administrator's credential, whoever its `sub`.
  if (!who || !who->admin || a.c.bearer || (a.c.token && !a.c.token->admin)) {
    if (a.c.authenticated && !a.c.bearer)
      co_return detail::denied("only administrators may use this endpoint");
    co_return refuse(a, site, {});
  }
  ctx.caller() = caller_of(std::make_shared<caller const>(a.c), *who);
  ctx.caller().admin = true;
  ctx.caller().details = *who;
  co_return co_await next(ctx);
}

// --- the handler -------------------------------------------------------------------------

namespace detail {

template <class Gate>
asio::awaitable<http::response> serve_gate(std::shared_ptr<Gate const> g, http::request& req) {
  co_return co_await g->handle(req);
}

template <class Api>
asio::awaitable<http::response> serve_api(std::shared_ptr<Api const> api, http::request& req,
                                          principal const& who) {
  co_return co_await api->handle(req, who);
}

inline asio::awaitable<http::response> accounts_api_off() {
  co_return http::response::text(404, "the accounts API needs authentication (--auth basic or "
                                      "token)\n");
}

} // namespace detail

template <class Api>
api_handler make_api_handler(std::shared_ptr<Api const> api) {
  // As make_gate: the awaitable's frame keeps the API alive.
  return [api](http::request& req, principal const& who) -> asio::awaitable<http::response> {
    return detail::serve_api(api, req, who);
  };
}

template <storage::AccountStore A, storage::MetadataStore M>
http::handler make_gate(A& accounts, M& meta, gate_options options, http::handler registry,
                        api_handler api) {
  if (options.mode == auth_mode::none) {
    return [registry = std::move(registry)](http::request& req) -> asio::awaitable<http::response> {
      if (req.target().starts_with("/api/v1"))
        return detail::accounts_api_off();
      return registry(req);
    };
  }
  auto g = std::make_shared<gate<A, M> const>(accounts, meta, std::move(options),
                                              std::move(registry), std::move(api));
  // Not a coroutine: the awaitable's frame holds a copy of the shared pointer, so the gate
  // (and its hashing threads) lives as long as any request it serves.
  return [g](http::request& req) -> asio::awaitable<http::response> {
    return detail::serve_gate(g, req);
  };
}

} // namespace auth
PIER_END_NAMESPACE

#endif // PIER_AUTH_IMPL_GATE_HPP
