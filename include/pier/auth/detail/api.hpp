// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_DETAIL_API_HPP
#define PIER_AUTH_DETAIL_API_HPP

// The parts of the accounts API that do not depend on the store types: which route a
// target names, reading JSON bodies strictly, error and JSON responses. Kept out of the
// class template so they are compiled once.

#include <pier/auth/access_token.hpp>
#include <pier/auth/password.hpp>
#include <pier/auth/policy.hpp>
#include <pier/config.hpp>
#include <pier/core/detail/strict_json.hpp>
#include <pier/core/duration.hpp>
#include <pier/core/error.hpp>
#include <pier/core/reference.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>
#include <pier/registry/responses.hpp>
#include <pier/storage/error.hpp>
#include <pier/storage/types.hpp>

#include <asio/awaitable.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace auth::detail::accounts {

enum class api_route_kind {
  users,         // /api/v1/users
  user,          // /api/v1/users/{name}
  user_password, // /api/v1/users/{name}/password
  user_tokens,   // /api/v1/users/{name}/tokens
  user_token,    // /api/v1/users/{name}/tokens/{id}
  user_invitations, // /api/v1/users/{name}/invitations
  orgs,          // /api/v1/orgs
  org,           // /api/v1/orgs/{org}
  org_members,   // /api/v1/orgs/{org}/members
  org_member,    // /api/v1/orgs/{org}/members/{user}
  repository,    // /api/v1/repositories/{name}
};

struct api_route {
  api_route_kind kind = api_route_kind::users;
  std::string name;  // the user, organisation or repository
  std::string child; // the token id or the member
  std::optional<std::size_t> n;
  std::optional<std::string> last;
};

// Why a target is not a usable route: not ours at all (404, `handles` is false), or ours
// with a part that is invalid (400).
enum class api_target_error { not_found = 1, invalid_name, invalid_token_id, invalid_page_size };

using parsed_target = std::variant<api_route, api_target_error>;

// The route a target names from its decoded path segments after `/api/v1`, with every
// name in it validated, so that nothing like `..` reaches a store. A name is checked as
// soon as its place is known, before the rest of the path: `/api/v1/users/../x` is an
// invalid name (400), not an unknown route.
inline parsed_target route_of(std::vector<std::string>& seg) {
  std::size_t const n = seg.size();
  if (n == 0)
    return api_target_error::not_found;
  api_route r;
  std::string const& top = seg[0];
  if (top == "repositories" && n >= 2) {
    r.kind = api_route_kind::repository;
    for (std::size_t i = 1; i < n; ++i) {
      if (i > 1)
        r.name += '/';
      r.name += seg[i];
    }
    if (!validate_repository_name(r.name))
      return api_target_error::invalid_name;
    return r;
  }
  bool const users = top == "users";
  if (!users && top != "orgs")
    return api_target_error::not_found;
  if (n >= 2) {
    r.name = std::move(seg[1]);
    if (!is_valid_account_name(r.name))
      return api_target_error::invalid_name;
  }
  if (n == 1) {
    r.kind = users ? api_route_kind::users : api_route_kind::orgs;
  } else if (n == 2) {
    r.kind = users ? api_route_kind::user : api_route_kind::org;
  } else if (users && n == 3 && seg[2] == "password") {
    r.kind = api_route_kind::user_password;
  } else if (users && n == 3 && seg[2] == "invitations") {
    r.kind = api_route_kind::user_invitations;
  } else if (users && (n == 3 || n == 4) && seg[2] == "tokens") {
    r.kind = n == 3 ? api_route_kind::user_tokens : api_route_kind::user_token;
    if (n == 4 && !access_token::is_id(seg[3]))
      return api_target_error::invalid_token_id;
  } else if (!users && (n == 3 || n == 4) && seg[2] == "members") {
    r.kind = n == 3 ? api_route_kind::org_members : api_route_kind::org_member;
    if (n == 4 && !is_valid_account_name(seg[3]))
      return api_target_error::invalid_name;
  } else {
    return api_target_error::not_found;
  }
  if (n == 4)
    r.child = std::move(seg[3]);
  return r;
}

// Which route `target` (path and query as sent) names; see `route_of`.
inline parsed_target parse_api_target(std::string_view target) {
  boost::system::result<boost::urls::url_view> const parsed =
      target.starts_with('/') ? boost::urls::parse_origin_form(target)
                              : boost::urls::parse_absolute_uri(target);
  if (!parsed || !parsed->is_path_absolute())
    return api_target_error::not_found;
  std::vector<std::string> seg;
  for (std::string s : parsed->segments())
    seg.push_back(std::move(s));
  if (seg.size() < 2 || seg[0] != "api" || seg[1] != "v1")
    return api_target_error::not_found;
  seg.erase(seg.begin(), seg.begin() + 2);
  parsed_target out = route_of(seg);
  auto* r = std::get_if<api_route>(&out);
  if (r == nullptr || (r->kind != api_route_kind::users && r->kind != api_route_kind::orgs))
    return out;
  boost::urls::encoding_opts opts;
  opts.space_as_plus = false; // as the registry's catalog reads `last`
  for (auto const& p : parsed->params(opts)) {
    if (p.key == "n" && !r->n) {
      r->n = registry::parse_page_size(p.value);
      if (!r->n)
        return api_target_error::invalid_page_size;
    } else if (p.key == "last" && !r->last) {
      r->last = p.value;
    }
  }
  return out;
}

// ---- Responses ---------------------------------------------------------------------------

// An error with a code that is not one of the OCI codes, in the same shape.
inline http::response api_error(int status, std::string_view code, std::string_view message) {
  boost::json::object e;
  e["code"] = code;
  e["message"] = message;
  e["detail"] = nullptr;
  boost::json::object body;
  body["errors"] = boost::json::array{std::move(e)};
  return http::response::json(status, boost::json::serialize(body));
}

inline http::response error(oci_error code, std::string_view message, int status = 0) {
  return registry::error_response(code, message, nullptr, status);
}

inline http::response not_found() {
  return api_error(404, "NOT_FOUND", "no such endpoint in /api/v1");
}

inline http::response target_failure(api_target_error e) {
  switch (e) {
  case api_target_error::not_found: break;
  case api_target_error::invalid_name:
    return error(oci_error::name_invalid, "invalid user, organisation or repository name");
  case api_target_error::invalid_token_id:
    return error(oci_error::name_invalid, "invalid access token id");
  case api_target_error::invalid_page_size:
    return error(oci_error::pagination_number_invalid, "invalid number of results requested");
  }
  return not_found();
}

// With the challenge the gate sends on /api/v1, so that a client that sent no credentials
// learns how to (API clients are not Docker clients: Basic, not a token realm).
inline http::response unauthorized() {
  http::response r = error(oci_error::unauthorized, "authentication required");
  r.headers().set("WWW-Authenticate", R"(Basic realm="pier")");
  return r;
}

inline http::response denied() {
  return error(oci_error::denied, "requested access to the resource is denied");
}

// 401 for an anonymous caller, who might be allowed after signing in; 403 otherwise.
inline http::response refused(principal const& who) {
  return who.anonymous() ? unauthorized() : denied();
}

inline http::response name_taken(std::string_view name) {
  return api_error(409, "NAME_TAKEN",
                   "a user or an organisation is already called \"" + std::string(name) + '"');
}

// Every refusal of an organisation's name says the same, so that the answer does not tell
// a user from an organisation, a reservation or repositories.
inline http::response org_name_unavailable(std::string_view name) {
  return api_error(409, "NAME_TAKEN",
                   "the name \"" + std::string(name) + "\" is taken or reserved; choose another");
}

inline http::response last_admin() {
  return api_error(409, "LAST_ADMIN",
                   "an organisation keeps at least one admin: make another member admin first, "
                   "or delete the organisation");
}

inline http::response last_admin_of_user() {
  return api_error(409, "LAST_ADMIN",
                   "the user is the last registry administrator or an organisation's only "
                   "admin: make another user admin first, or delete the organisation");
}

// Deleting an account would leave its repositories to whoever took the name next.
inline http::response namespace_in_use(std::string_view name, std::uint64_t held) {
  return error(oci_error::denied,
               "namespace \"" + std::string(name) + "\" still holds " + std::to_string(held) +
                   (held == 1 ? " repository" : " repositories") +
                   ": delete their manifests and blobs first",
               409);
}

inline http::response too_many_requests(std::chrono::steady_clock::duration wait,
                                        std::string_view message) {
  http::response r = error(oci_error::too_many_requests, message);
  auto const seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
  r.headers().set("Retry-After", std::to_string(seconds < 1 ? 1 : seconds));
  return r;
}

inline http::response bad_body(std::string_view message) {
  return error(oci_error::unsupported, message, 400);
}

inline http::response method_not_allowed(std::string_view allow) {
  return registry::method_not_allowed(allow);
}

// A store's error as the API answers it. The store's own mapping says DENIED for unknown
// users (the registry API must not tell which exist); here the caller has already been
// allowed to act on the name, so it learns that it does not exist.
inline http::response store_failure(std::error_code ec) {
  using storage::storage_error;
  if (ec.category() == storage::storage_category()) {
    switch (static_cast<storage_error>(ec.value())) {
    case storage_error::user_unknown: return error(oci_error::name_unknown, "no such user");
    case storage_error::org_unknown: return error(oci_error::name_unknown, "no such organisation");
    case storage_error::member_unknown:
      return error(oci_error::name_unknown, "no such member of the organisation");
    case storage_error::token_unknown:
      return error(oci_error::name_unknown, "no such access token");
    case storage_error::invitation_unknown:
      return error(oci_error::name_unknown, "no pending invitation to the organisation");
    case storage_error::last_admin: return last_admin();
    default: break;
    }
  }
  return registry::error_response(ec);
}

inline http::response json_response(int status, boost::json::object const& body) {
  return http::response::json(status, boost::json::serialize(body));
}

// 204 after a change, or the store's failure.
inline http::response no_content(result<void> const& done) {
  return done ? http::response(204) : store_failure(done.error());
}

// 200 with what the store read, or its failure.
template <class T, class ToJson>
http::response found(result<T> const& r, ToJson to_json) {
  return r ? json_response(200, to_json(*r)) : store_failure(r.error());
}

// RFC 3339 in UTC to the second, e.g. "2026-11-22T16:25:00Z".
inline std::string format_time(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto const s = floor<seconds>(t);
  auto const day = floor<days>(s);
  year_month_day const ymd(day);
  hh_mm_ss const hms(s - day);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

inline std::string_view role_name(storage::role r) noexcept {
  switch (r) {
  case storage::role::read: return "read";
  case storage::role::write: return "write";
  case storage::role::admin: return "admin";
  }
  return "read";
}

inline std::optional<storage::role> parse_role(std::string_view s) noexcept {
  if (s == "read")
    return storage::role::read;
  if (s == "write")
    return storage::role::write;
  if (s == "admin")
    return storage::role::admin;
  return std::nullopt;
}

inline std::string_view visibility_name(storage::visibility v) noexcept {
  return v == storage::visibility::public_ ? "public" : "private";
}

// Never the password hash.
inline boost::json::object user_json(storage::user_record const& u) {
  return {{"name", u.name}, {"admin", u.admin}, {"created", format_time(u.created)}};
}

inline boost::json::object org_json(storage::org_record const& o) {
  return {{"name", o.name}, {"created", format_time(o.created)}};
}

inline boost::json::object member_json(storage::membership const& m) {
  return {{"user", m.user}, {"role", role_name(m.level)}};
}

inline boost::json::object invitation_json(storage::membership const& m) {
  return {{"org", m.org}, {"role", role_name(m.level)}};
}

// Never the secret or its hash. `scopes` as they act: a token from before scopes shows the
// ones it has.
inline boost::json::object token_json(storage::access_token_record const& t) {
  boost::json::array scopes;
  for (std::string const& name :
       t.scopes.empty() ? std::vector<std::string>{"pull", "push", "delete"} : t.scopes)
    scopes.emplace_back(name);
  boost::json::object o{{"id", t.id},
                        {"description", t.description},
                        {"scopes", std::move(scopes)},
                        {"created", format_time(t.created)}};
  if (t.expires)
    o["expires"] = format_time(*t.expires);
  else
    o["expires"] = nullptr;
  return o;
}

// `{"<list_key>":[…]}` of `items`.
template <class T, class ToJson>
http::response list_response(std::string_view list_key, std::vector<T> const& items,
                             ToJson to_json) {
  boost::json::array list;
  list.reserve(items.size());
  for (T const& item : items)
    list.emplace_back(to_json(item));
  boost::json::object body;
  body[list_key] = std::move(list);
  return json_response(200, body);
}

// The list the store read, or its failure.
template <class T, class ToJson>
http::response list_found(std::string_view list_key, result<std::vector<T>> const& r,
                          ToJson to_json) {
  return r ? list_response(list_key, *r, to_json) : store_failure(r.error());
}

// A page of `items` under `list_key`, with a `Link` to the next page as the registry's
// catalog sends it.
template <class T, class ToJson>
http::response page_response(std::string_view path, std::string_view list_key,
                             storage::page<T> const& page, std::size_t page_size, ToJson to_json) {
  http::response r = list_response(list_key, page.items, to_json);
  if (page.more && page_size > 0 && !page.items.empty()) {
    std::string link = "<";
    link.append(path)
        .append("?n=")
        .append(std::to_string(page_size))
        .append("&last=")
        .append(registry::query_encode(page.items.back().name))
        .append(">; rel=\"next\"");
    r.headers().set("Link", std::move(link));
  }
  return r;
}

inline http::response created(boost::json::object const& body, std::string location) {
  http::response r = json_response(201, body);
  r.headers().set("Location", std::move(location));
  return r;
}

// ---- Request bodies ----------------------------------------------------------------------

// A request body as one JSON object, or the response that refuses it.
using json_body = std::variant<boost::json::object, http::response>;

inline json_body parse_json_object(std::string_view text) {
  namespace sj = ::pier::detail::strict_json;
  boost::json::value v;
  // Bodies here are flat objects: a few levels are plenty, and a deep one is an attack.
  switch (sj::parse(text, v, {}, 8)) {
  case sj::status::ok: break;
  case sj::status::duplicate_key: return bad_body("request body repeats a member");
  case sj::status::too_deep: return bad_body("request body is nested too deeply");
  case sj::status::invalid: return bad_body("request body is not JSON");
  }
  if (!v.is_object())
    return bad_body("request body is not a JSON object");
  return std::move(v.as_object());
}

// `empty_is_object`: an empty body reads as `{}` (for requests whose members are all
// optional).
inline asio::awaitable<json_body> read_json_object(http::request& req, std::size_t max,
                                                   bool empty_is_object = false) {
  result<std::string> text = co_await http::read_body(req.body(), max);
  if (text && text->empty() && empty_is_object)
    co_return boost::json::object();
  if (!text) {
    if (text.error() == http::body_error::too_large)
      co_return error(oci_error::size_invalid,
                      "request body is longer than " + std::to_string(max) + " bytes", 413);
    co_return registry::body_failure(text.error(), oci_error::unsupported);
  }
  co_return parse_json_object(*text);
}

// The members of a request body, read by type. Refuses members other than `allowed`: a
// misspelt member would otherwise be ignored silently ("visiblity": "public" leaving a
// repository private). The first problem, a body that could not be read included, is
// kept as the response to send; the readers then find nothing.
class body_members {
public:
  body_members(json_body& body, std::initializer_list<std::string_view> allowed) {
    if (auto* f = std::get_if<http::response>(&body)) {
      failure_ = std::move(*f);
      return;
    }
    object_ = &std::get<boost::json::object>(body);
    for (auto const& kv : *object_) {
      bool known = false;
      for (std::string_view a : allowed)
        known = known || kv.key() == a;
      if (!known)
        fail(bad_body("unknown member \"" + std::string(kv.key()) + "\" in the request body"));
    }
  }

  // Member `key` if it is a string; empty (and, if `required`, a failure) when absent.
  std::optional<std::string> string(std::string_view key, bool required) {
    boost::json::value const* v = find(key, required);
    if (v == nullptr)
      return std::nullopt;
    if (!v->is_string()) {
      wrong_type(key, "a string");
      return std::nullopt;
    }
    return std::string(v->as_string());
  }

  std::optional<bool> boolean(std::string_view key) {
    boost::json::value const* v = find(key, false);
    if (v == nullptr)
      return std::nullopt;
    if (!v->is_bool()) {
      wrong_type(key, "true or false");
      return std::nullopt;
    }
    return v->as_bool();
  }

  // An integer written without fraction or exponent ("3600", not "3600.0" or "3.6e3").
  std::optional<std::int64_t> integer(std::string_view key) {
    boost::json::value const* v = find(key, false);
    if (v == nullptr)
      return std::nullopt;
    if (v->is_int64())
      return v->as_int64();
    if (v->is_uint64()) // above INT64_MAX: out of any range the API accepts
      return std::numeric_limits<std::int64_t>::max();
    wrong_type(key, "an integer");
    return std::nullopt;
  }

  // A duration in whole seconds: a JSON integer, or a string as pier::parse_duration reads
  // it ("3600", "90m", "30d"), the way the server's flags write durations. A duration
  // that is not whole seconds ("1500ms") is refused rather than rounded.
  std::optional<std::int64_t> seconds(std::string_view key) {
    boost::json::value const* v = find(key, false);
    if (v == nullptr)
      return std::nullopt;
    if (v->is_int64())
      return v->as_int64();
    if (v->is_uint64())
      return std::numeric_limits<std::int64_t>::max();
    if (v->is_string()) {
      pier::result<std::chrono::milliseconds> const d =
          pier::parse_duration(std::string_view(v->as_string()));
      if (!d && d.error() == std::errc::result_out_of_range) // beyond any range the API accepts
        return std::numeric_limits<std::int64_t>::max();
      if (d && d->count() % 1000 == 0)
        return d->count() / 1000;
    }
    wrong_type(key,
               R"(whole seconds or a string with a unit (ms, s, m, h, d), as in 3600 or "30d")");
    return std::nullopt;
  }

  // An array of strings; empty when absent.
  std::optional<std::vector<std::string>> strings(std::string_view key) {
    boost::json::value const* v = find(key, false);
    if (v == nullptr)
      return std::nullopt;
    std::vector<std::string> out;
    if (v->is_array())
      for (boost::json::value const& e : v->as_array())
        if (e.is_string())
          out.emplace_back(e.as_string());
    if (!v->is_array() || out.size() != v->as_array().size()) {
      wrong_type(key, "an array of strings");
      return std::nullopt;
    }
    return out;
  }

  std::optional<http::response>& failure() noexcept { return failure_; }

  void fail(http::response r) {
    if (!failure_)
      failure_ = std::move(r);
  }

private:
  boost::json::value const* find(std::string_view key, bool required) {
    if (object_ == nullptr)
      return nullptr;
    boost::json::value const* v = object_->if_contains(key);
    if (v == nullptr && required)
      fail(bad_body("member \"" + std::string(key) + "\" is required"));
    return v;
  }

  void wrong_type(std::string_view key, std::string_view type) {
    fail(bad_body("member \"" + std::string(key) + "\" must be " + std::string(type)));
  }

  boost::json::object const* object_ = nullptr; // the body, which outlives this

  std::optional<http::response> failure_;
};

// How many characters (code points) a valid UTF-8 string has.
inline std::size_t utf8_length(std::string_view s) noexcept {
  std::size_t n = 0;
  for (char const c : s)
    n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

inline constexpr std::size_t min_password_length = 8;
inline constexpr std::size_t max_description_size = 256;
inline constexpr std::int64_t max_expires_in = 10LL * 365 * 24 * 3600;

// A password as a client may set it, or why not.
inline std::optional<http::response> check_password(std::string_view password) {
  if (utf8_length(password) < min_password_length)
    return bad_body("password must be at least " + std::to_string(min_password_length) +
                    " characters");
  return std::nullopt;
}

// `hash_password`'s refusals that are the client's (400), or 500.
inline http::response hash_failure(std::error_code ec) {
  if (ec == password_error::too_long)
    return bad_body("password is longer than 72 bytes, more than bcrypt can use");
  if (ec == password_error::invalid_password)
    return bad_body("password contains a NUL character");
  return error(oci_error::unknown, "password could not be hashed");
}

} // namespace auth::detail::accounts
PIER_END_NAMESPACE

#endif // PIER_AUTH_DETAIL_API_HPP
