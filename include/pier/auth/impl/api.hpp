// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_IMPL_API_HPP
#define PIER_AUTH_IMPL_API_HPP

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace auth {

namespace detail::accounts {

inline bool self_or_admin(principal const& who, std::string_view user) noexcept {
  return who.admin || (!who.anonymous() && who.name == user);
}

inline bool org_admin(principal const& who, std::string_view org) noexcept {
  return namespace_role(who, org) == storage::role::admin;
}

inline boost::json::object repository_json(std::string_view name, storage::visibility v,
                                           bool exists, permissions p) {
  return {{"name", name},
          {"visibility", visibility_name(v)},
          {"exists", exists},
          {"permissions", {{"pull", p.pull}, {"push", p.push}, {"delete", p.del}}}};
}

} // namespace detail::accounts

template <storage::AccountStore A, storage::MetadataStore M>
bool accounts_api<A, M>::handles(std::string_view target) {
  detail::accounts::parsed_target const t = detail::accounts::parse_api_target(target);
  auto const* e = std::get_if<detail::accounts::api_target_error>(&t);
  return e == nullptr || *e != detail::accounts::api_target_error::not_found;
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> accounts_api<A, M>::handle(http::request& req,
                                                           principal const& who) const {
  // The frame owns the route: the handlers below keep references to it.
  detail::accounts::parsed_target const t = detail::accounts::parse_api_target(req.target());
  http::response res;
  if (auto const* e = std::get_if<detail::accounts::api_target_error>(&t))
    res = detail::accounts::target_failure(*e);
  else
    res = co_await dispatch(req, std::get<route>(t), who);
  // Account data, and once a token's secret: no cache may keep a copy.
  res.headers().set("Cache-Control", "no-store");
  co_return res;
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> accounts_api<A, M>::dispatch(http::request& req, route const& r,
                                                             principal const& who) const {
  namespace d = detail::accounts;
  using d::api_route_kind;
  std::string_view const method = req.method();
  bool const get = method == "GET" || method == "HEAD";
  bool const post = method == "POST";
  bool const put = method == "PUT";
  bool const del = method == "DELETE";

  switch (r.kind) {
  case api_route_kind::users:
    if (!get && !post)
      co_return d::method_not_allowed("GET, HEAD, POST");
    if (!who.admin)
      co_return d::refused(who);
    if (get)
      co_return co_await list_page<storage::user_record>(
          "/api/v1/users", "users", r,
          [this](std::string last, std::size_t n) { return accounts_.list_users(last, n); },
          d::user_json);
    co_return co_await create_user(req);

  case api_route_kind::user:
    if (!get && !del)
      co_return d::method_not_allowed("GET, HEAD, DELETE");
    if (get ? !d::self_or_admin(who, r.name) : !who.admin)
      co_return d::refused(who);
    if (get)
      co_return d::found(co_await accounts_.get_user(r.name), d::user_json);
    co_return co_await delete_account(r, true);

  case api_route_kind::user_password:
    if (!put)
      co_return d::method_not_allowed("PUT");
    if (!d::self_or_admin(who, r.name))
      co_return d::refused(who);
    co_return co_await set_password(req, r);

  case api_route_kind::user_tokens:
    if (!get && !post)
      co_return d::method_not_allowed("GET, HEAD, POST");
    if (!d::self_or_admin(who, r.name))
      co_return d::refused(who);
    if (get)
      co_return d::list_found("tokens", co_await accounts_.list_tokens(r.name), d::token_json);
    co_return co_await create_token(req, r);

  case api_route_kind::user_invitations:
    if (!get)
      co_return d::method_not_allowed("GET, HEAD");
    if (!d::self_or_admin(who, r.name))
      co_return d::refused(who);
    co_return d::list_found("invitations", co_await accounts_.invitations(r.name),
                            d::invitation_json);

  case api_route_kind::user_token:
    if (!del)
      co_return d::method_not_allowed("DELETE");
    if (!d::self_or_admin(who, r.name))
      co_return d::refused(who);
    co_return co_await delete_token(r);

  case api_route_kind::orgs:
    if (!get && !post)
      co_return d::method_not_allowed("GET, HEAD, POST");
    if (who.anonymous())
      co_return d::unauthorized();
    if (get)
      co_return co_await list_page<storage::org_record>(
          "/api/v1/orgs", "orgs", r,
          [this](std::string last, std::size_t n) { return accounts_.list_orgs(last, n); },
          d::org_json);
    co_return co_await create_org(req, who);

  case api_route_kind::org:
    if (!get && !del)
      co_return d::method_not_allowed("GET, HEAD, DELETE");
    if (who.anonymous())
      co_return d::unauthorized();
    if (get)
      co_return d::found(co_await accounts_.get_org(r.name), d::org_json);
    if (!d::org_admin(who, r.name))
      co_return d::denied();
    co_return co_await delete_account(r, false);

  case api_route_kind::org_members:
    if (!get)
      co_return d::method_not_allowed("GET, HEAD");
    if (!namespace_role(who, r.name))
      co_return d::refused(who);
    co_return d::list_found("members", co_await accounts_.members(r.name), d::member_json);

  case api_route_kind::org_member:
    if (!put && !del)
      co_return d::method_not_allowed("PUT, DELETE");
    // A user accepts, declines or leaves on their own; everything else is the
    // organisation's admins'.
    if (!d::org_admin(who, r.name) && (who.anonymous() || who.name != r.child))
      co_return d::refused(who);
    if (put)
      co_return co_await set_member(req, r, who);
    co_return co_await remove_member(r, who);

  case api_route_kind::repository:
    if (!get && !put)
      co_return d::method_not_allowed("GET, HEAD, PUT");
    co_return co_await repository(req, r, who);
  }
  co_return d::not_found();
}

// ---- Users -------------------------------------------------------------------------------

template <storage::AccountStore A, storage::MetadataStore M>
template <class T, class Fetch, class ToJson>
asio::awaitable<http::response> accounts_api<A, M>::list_page(std::string_view path,
                                                              std::string_view key, route const& r,
                                                              Fetch fetch, ToJson to_json) const {
  std::size_t const page_size =
      std::min(r.n.value_or(options_.max_page_size), options_.max_page_size);
  storage::page<T> page;
  if (page_size > 0) {
    result<storage::page<T>> p = co_await fetch(r.last.value_or(""), page_size);
    if (!p)
      co_return detail::accounts::store_failure(p.error());
    page = std::move(*p);
  }
  co_return detail::accounts::page_response(path, key, page, page_size, to_json);
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> accounts_api<A, M>::create_user(http::request& req) const {
  detail::accounts::json_body b =
      co_await detail::accounts::read_json_object(req, options_.max_body);
  detail::accounts::body_members m(b, {"name", "password", "admin"});
  std::optional<std::string> name = m.string("name", true);
  std::optional<std::string> const password = m.string("password", true);
  bool const admin = m.boolean("admin").value_or(false);
  if (m.failure())
    co_return std::move(*m.failure());
  if (!is_valid_account_name(*name))
    co_return detail::accounts::error(oci_error::name_invalid, "invalid user name");
  if (auto f = detail::accounts::check_password(*password))
    co_return std::move(*f);
  result<std::string> hash = hash_password(*password, options_.algorithm, options_.cost);
  if (!hash)
    co_return detail::accounts::hash_failure(hash.error());

  storage::user_record u;
  u.name = std::move(*name);
  u.password_hash = std::move(*hash);
  u.admin = admin;
  u.created = std::chrono::system_clock::now();
  result<void> const done = co_await accounts_.create_user(u);
  if (!done) {
    if (done.error() == storage::storage_error::name_taken)
      co_return detail::accounts::name_taken(u.name);
    co_return detail::accounts::store_failure(done.error());
  }
  co_return detail::accounts::created(detail::accounts::user_json(u), "/api/v1/users/" + u.name);
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> accounts_api<A, M>::set_password(http::request& req,
                                                                 route const& r) const {
  detail::accounts::json_body b =
      co_await detail::accounts::read_json_object(req, options_.max_body);
  detail::accounts::body_members m(b, {"password"});
  std::optional<std::string> const password = m.string("password", true);
  if (m.failure())
    co_return std::move(*m.failure());
  if (auto f = detail::accounts::check_password(*password))
    co_return std::move(*f);

  result<storage::user_record> u = co_await accounts_.get_user(r.name);
  if (!u)
    co_return detail::accounts::store_failure(u.error());
  result<std::string> hash = hash_password(*password, options_.algorithm, options_.cost);
  if (!hash)
    co_return detail::accounts::hash_failure(hash.error());
  u->password_hash = std::move(*hash);
  result<void> const done = co_await accounts_.update_user(std::move(*u));
  if (!done)
    co_return detail::accounts::store_failure(done.error());
  co_return http::response(204);
}

// ---- Access tokens -----------------------------------------------------------------------

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> accounts_api<A, M>::create_token(http::request& req,
                                                                 route const& r) const {
  detail::accounts::json_body b =
      co_await detail::accounts::read_json_object(req, options_.max_body);
  detail::accounts::body_members m(b, {"description", "expires_in", "scopes"});
  std::string description = m.string("description", false).value_or("");
  std::optional<std::int64_t> const expires_in = m.seconds("expires_in");
  std::vector<std::string> const scopes =
      m.strings("scopes").value_or(std::vector<std::string>{"pull"});
  if (!m.failure() && normalize_token_scopes(scopes).empty())
    m.fail(detail::accounts::bad_body(
        R"(member "scopes" must list one or more of "pull", "push", "delete", "admin")"));
  if (description.size() > detail::accounts::max_description_size)
    m.fail(detail::accounts::bad_body("member \"description\" is longer than " +
                                      std::to_string(detail::accounts::max_description_size) +
                                      " bytes"));
  if (expires_in && (*expires_in < 1 || *expires_in > detail::accounts::max_expires_in))
    m.fail(detail::accounts::bad_body("member \"expires_in\" must be between 1 and " +
                                      std::to_string(detail::accounts::max_expires_in) +
                                      " seconds"));
  if (m.failure())
    co_return std::move(*m.failure());

  auto const now = std::chrono::system_clock::now();
  std::optional<std::chrono::system_clock::time_point> expires;
  if (expires_in)
    expires = now + std::chrono::seconds(*expires_in);
  // `add_token` replaces a token with the same id: draw again in the (astronomically
  // unlikely) case the id is taken, rather than revoke someone else's token.
  new_access_token t;
  for (int attempt = 0;; ++attempt) {
    t = make_access_token(r.name, description, now, expires, scopes);
    result<storage::access_token_record> const existing = co_await accounts_.get_token(t.record.id);
    if (!existing && existing.error() == storage::storage_error::token_unknown)
      break;
    if (!existing)
      co_return detail::accounts::store_failure(existing.error());
    if (attempt == 3)
      co_return detail::accounts::error(oci_error::unknown, "could not draw an unused token id");
  }
  result<void> const done = co_await accounts_.add_token(t.record);
  if (!done)
    co_return detail::accounts::store_failure(done.error());

  boost::json::object body = detail::accounts::token_json(t.record);
  body["token"] = t.token;
  co_return detail::accounts::created(body, "/api/v1/users/" + r.name + "/tokens/" + t.record.id);
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> accounts_api<A, M>::delete_token(route const& r) const {
  result<storage::access_token_record> const t = co_await accounts_.get_token(r.child);
  // Another user's token is no token of this user's: the same 404.
  if (!t)
    co_return detail::accounts::store_failure(t.error());
  if (t->user != r.name)
    co_return detail::accounts::store_failure(storage::storage_error::token_unknown);
  result<void> const done = co_await accounts_.delete_token(r.child);
  if (!done)
    co_return detail::accounts::store_failure(done.error());
  co_return http::response(204);
}

// ---- Organisations -----------------------------------------------------------------------

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> accounts_api<A, M>::delete_account(route const& r,
                                                                   bool user) const {
  result<void> const done =
      user ? co_await accounts_.delete_user(r.name) : co_await accounts_.delete_org(r.name);
  if (done)
    co_return http::response(204);
  if (done.error() == storage::storage_error::last_admin)
    co_return detail::accounts::last_admin_of_user();
  if (done.error() != storage::storage_error::namespace_in_use)
    co_return detail::accounts::store_failure(done.error());
  // Counted again for the message only: the refusal itself was atomic in the store.
  result<std::uint64_t> const held = co_await accounts_.held_repositories(r.name);
  co_return detail::accounts::namespace_in_use(r.name, held ? *held : 1);
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> accounts_api<A, M>::create_org(http::request& req,
                                                               principal const& who) const {
  detail::accounts::json_body b =
      co_await detail::accounts::read_json_object(req, options_.max_body);
  detail::accounts::body_members m(b, {"name"});
  std::optional<std::string> name = m.string("name", true);
  if (m.failure())
    co_return std::move(*m.failure());
  if (!is_valid_account_name(*name))
    co_return detail::accounts::error(oci_error::name_invalid, "invalid organisation name");
  auto const now = login_limiter::clock::now();
  if (!who.admin) {
    if (auto const wait = name_refusals_->retry_after({}, who.name, now); wait.count() > 0)
      co_return detail::accounts::too_many_requests(
          wait, "too many refused organisation names; retry later");
  }

  // The creator becomes the organisation's admin, so must be a user of the store (not one
  // known only to an htpasswd file); an administrator from outside the store manages the
  // organisation as administrator.
  storage::org_claim claim;
  claim.admin = who.admin;
  claim.max_orgs = options_.max_orgs_per_user;
  result<storage::user_record> const u = co_await accounts_.get_user(who.name);
  if (u)
    claim.creator = who.name;
  else if (u.error() != storage::storage_error::user_unknown)
    co_return detail::accounts::store_failure(u.error());
  else if (!who.admin)
    co_return detail::accounts::error(
        oci_error::denied, "only users of the registry's account store can create organisations");

  storage::org_record o;
  o.name = std::move(*name);
  o.created = std::chrono::system_clock::now();
  result<void> const done = co_await accounts_.create_org(o, std::move(claim));
  if (done)
    co_return detail::accounts::created(detail::accounts::org_json(o), "/api/v1/orgs/" + o.name);
  if (done.error() == storage::storage_error::org_limit_reached) {
    std::uint64_t const max = options_.max_orgs_per_user.value_or(0);
    co_return detail::accounts::error(
        oci_error::denied,
        max == 0 ? std::string("only registry administrators can create organisations here")
                 : "a user may create at most " + std::to_string(max) +
                       " organisations here; ask a registry administrator for more");
  }
  if (done.error() == storage::storage_error::name_taken ||
      done.error() == storage::storage_error::name_reserved) {
    if (!who.admin)
      name_refusals_->record_failure({}, who.name, now);
    co_return detail::accounts::org_name_unavailable(o.name);
  }
  co_return detail::accounts::store_failure(done.error());
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> accounts_api<A, M>::set_member(http::request& req, route const& r,
                                                               principal const& who) const {
  namespace d = detail::accounts;
  bool const manager = d::org_admin(who, r.name);
  d::json_body b = co_await d::read_json_object(req, options_.max_body, !manager);
  d::body_members m(b, {"role"});
  // Accepting an invitation takes the role offered: the body may leave it out.
  std::optional<std::string> const role_text = m.string("role", manager);
  if (m.failure())
    co_return std::move(*m.failure());
  std::optional<storage::role> level;
  if (role_text) {
    level = d::parse_role(*role_text);
    if (!level)
      co_return d::bad_body(R"(member "role" must be "read", "write" or "admin")");
  }
  auto const member = [&](int status, storage::role x) {
    return d::json_response(status, d::member_json({r.name, r.child, x}));
  };

  if (!manager) { // the invited user, accepting
    result<std::vector<storage::membership>> const offers = co_await accounts_.invitations(r.child);
    if (!offers)
      co_return d::store_failure(offers.error());
    auto const offer = std::find_if(offers->begin(), offers->end(),
                                    [&](storage::membership const& x) { return x.org == r.name; });
    if (offer == offers->end())
      co_return d::error(oci_error::denied,
                         "only the organisation's admins set roles, and you have no pending "
                         "invitation to it");
    if (level && *level != offer->level)
      co_return d::error(oci_error::denied, "the invitation is for role \"" +
                                                std::string(d::role_name(offer->level)) + '"');
    result<storage::role> const accepted = co_await accounts_.accept_invitation(r.name, r.child);
    if (!accepted)
      co_return d::store_failure(accepted.error());
    co_return member(201, *accepted);
  }

  if (who.admin) { // registry administrators add members directly
    result<std::vector<storage::membership>> const members = co_await accounts_.members(r.name);
    if (!members)
      co_return d::store_failure(members.error());
    bool const existed = std::any_of(members->begin(), members->end(),
                                     [&](storage::membership const& x) { return x.user == r.child; });
    result<void> const done = co_await accounts_.set_member(r.name, r.child, *level);
    if (!done)
      co_return d::store_failure(done.error());
    co_return member(existed ? 200 : 201, *level);
  }

  // An organisation's admin changes a member's role at once, and invites anybody else.
  // Whether that user exists is not said: the answer is the same.
  result<bool> const changed = co_await accounts_.invite(r.name, r.child, *level);
  if (changed && *changed)
    co_return member(200, *level);
  if (!changed && changed.error() != storage::storage_error::user_unknown)
    co_return d::store_failure(changed.error());
  boost::json::object body = d::member_json({r.name, r.child, *level});
  body["status"] = "invited";
  co_return d::json_response(202, body);
}

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> accounts_api<A, M>::remove_member(route const& r,
                                                                  principal const& who) const {
  result<void> const done = co_await accounts_.remove_member(r.name, r.child);
  if (done || done.error() != storage::storage_error::member_unknown)
    co_return detail::accounts::no_content(done);
  // Not a member: a pending invitation is declined (by the user) or withdrawn (by the
  // organisation's admins, who are told "no such member" either way, as they were told
  // nothing about the user when they invited).
  result<void> const declined = co_await accounts_.decline_invitation(r.name, r.child);
  if (declined && !who.anonymous() && who.name == r.child)
    co_return http::response(204);
  if (!declined && declined.error() != storage::storage_error::invitation_unknown)
    co_return detail::accounts::store_failure(declined.error());
  co_return detail::accounts::store_failure(done.error());
}

// ---- Repositories ------------------------------------------------------------------------

template <storage::AccountStore A, storage::MetadataStore M>
asio::awaitable<http::response> accounts_api<A, M>::repository(http::request& req, route const& r,
                                                               principal const& who) const {
  result<std::optional<storage::visibility>> const set = co_await accounts_.get_visibility(r.name);
  if (!set)
    co_return detail::accounts::store_failure(set.error());
  storage::visibility v = set->value_or(options_.default_visibility);
  permissions const p = repository_permissions(who, r.name, v);
  // The same refusal whether the repository exists or not.
  if (req.method() == "PUT" ? !p.del : !p.pull)
    co_return detail::accounts::refused(who);

  if (req.method() == "PUT") {
    detail::accounts::json_body b =
        co_await detail::accounts::read_json_object(req, options_.max_body);
    detail::accounts::body_members m(b, {"visibility"});
    std::optional<std::string> const text = m.string("visibility", true);
    if (m.failure())
      co_return std::move(*m.failure());
    if (*text != "public" && *text != "private")
      co_return detail::accounts::bad_body(R"(member "visibility" must be "public" or "private")");
    v = *text == "public" ? storage::visibility::public_ : storage::visibility::private_;
    result<void> const done = co_await accounts_.set_visibility(r.name, v);
    if (!done)
      co_return detail::accounts::store_failure(done.error());
  }

  result<bool> const exists = co_await meta_.repository_exists(r.name);
  if (!exists)
    co_return detail::accounts::store_failure(exists.error());
  co_return detail::accounts::json_response(
      200, detail::accounts::repository_json(r.name, v, *exists,
                                             repository_permissions(who, r.name, v)));
}

} // namespace auth
PIER_END_NAMESPACE

#endif // PIER_AUTH_IMPL_API_HPP
