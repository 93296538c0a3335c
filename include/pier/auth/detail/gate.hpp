// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_DETAIL_GATE_HPP
#define PIER_AUTH_DETAIL_GATE_HPP

// The parts of the gate that do not depend on the store types: the actions and scopes of a
// route's need, the responses that refuse a request, and the small formats of the token
// service. Kept out of the class template so they are compiled once.

#include <pier/auth/access_token.hpp>
#include <pier/auth/address_range.hpp>
#include <pier/auth/detail/api.hpp>
#include <pier/core/detail/openssl.hpp>
#include <pier/auth/jwt.hpp>
#include <pier/auth/policy.hpp>
#include <pier/auth/scope.hpp>
#include <pier/config.hpp>
#include <pier/core/detail/ascii.hpp>
#include <pier/core/detail/base64.hpp>
#include <pier/core/error.hpp>
#include <pier/http/message.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>
#include <pier/http/router.hpp>
#include <pier/registry/responses.hpp>
#include <pier/registry/routes.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace auth::detail {

/// The target parsed as the token service reads its query (origin- or absolute-form).
inline std::optional<boost::urls::url_view> parse_target(std::string_view target) {
  auto parsed = target.starts_with('/') ? boost::urls::parse_origin_form(target)
                                        : boost::urls::parse_absolute_uri(target);
  if (!parsed)
    return std::nullopt;
  return *parsed;
}

/// The decoded query parameters of a target, or of a form body; '+' is a space in both,
/// as Go's `url.Values` writes them (scopes are space-separated lists).
inline std::vector<std::pair<std::string, std::string>> form_params(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!boost::urls::parse_query(query))
    return out; // checked first: the view below throws on what does not parse
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;
  for (auto const& p : boost::urls::params_view(query, opts))
    out.emplace_back(p.key, p.value);
  return out;
}

inline std::vector<std::pair<std::string, std::string>> query_params(std::string_view target) {
  std::optional<boost::urls::url_view> const u = parse_target(target);
  if (!u)
    return {};
  return form_params(u->encoded_query());
}

/// The first value of `key`, or empty.
inline std::string param(std::vector<std::pair<std::string, std::string>> const& params,
                         std::string_view key) {
  for (auto const& [k, v] : params)
    if (k == key)
      return v;
  return {};
}

/// Every value of `key`, as views into `params`.
inline std::vector<std::string_view>
params_of(std::vector<std::pair<std::string, std::string>> const& params, std::string_view key) {
  std::vector<std::string_view> out;
  for (auto const& [k, v] : params)
    if (k == key)
      out.emplace_back(v);
  return out;
}

/// Whether `Authorization` holds Basic credentials with neither user nor password (`:`),
/// which clients without credentials send after a Basic challenge (containers/image does):
/// they mean "anonymous", not a failed login.
inline bool is_empty_basic(std::string_view value) {
  value = pier::detail::ascii::trim_ows(value);
  std::size_t const sp = value.find(' ');
  if (sp == std::string_view::npos || !http::iequals(value.substr(0, sp), "Basic"))
    return false;
  std::string_view const encoded = pier::detail::ascii::trim_ows(value.substr(sp + 1));
  std::string decoded;
  return pier::detail::base64::decode(encoded, pier::detail::base64::alphabet::standard,
                                      pier::detail::base64::padding::optional, false, decoded) &&
         decoded == ":";
}

/// Whether a Host value can name this registry in a URL and a token: a host name, an IPv4
/// or bracketed IPv6 address, and a port. Anything else (quotes, slashes, '@') could turn
/// the realm into another server's URL.
constexpr bool is_valid_host(std::string_view host) noexcept {
  if (host.empty() || host.size() > 255)
    return false;
  for (char c : host)
    if (!(pier::detail::ascii::is_alnum(c) || c == '.' || c == '-' || c == '_' || c == ':' ||
          c == '[' || c == ']'))
      return false;
  return true;
}

/// What the request's Host tells of this registry: the realm of challenges and the service
/// (`aud`) of tokens.
struct site {
  std::string realm;
  std::string service;
};

/// The first element of a comma-separated header list (a chain of proxies lists the
/// client's end first), trimmed.
inline std::string_view first_listed(std::string_view value) {
  return pier::detail::ascii::trim_ows(value.substr(0, value.find(',')));
}

/// The site of `req`, from the configured values or the Host; nothing when one of them must
/// come from a Host the request lacks or that is not valid. When the peer is one of
/// `proxies`, its `X-Forwarded-Proto` and `X-Forwarded-Host` name the realm's scheme and
/// host; values that are not `http`/`https` or a valid host are ignored.
inline std::optional<site> site_of(http::request const& req, std::string_view realm,
                                   std::string_view service,
                                   std::span<address_range const> proxies = {}) {
  std::optional<std::string_view> const host = req.headers().find("Host");
  bool const usable = host && is_valid_host(*host);
  if ((realm.empty() || service.empty()) && !usable)
    return std::nullopt;
  site s;
  s.service = service.empty() ? std::string(*host) : std::string(service);
  if (!realm.empty()) {
    s.realm = realm;
    return s;
  }
  std::string_view scheme = req.secure() ? "https" : "http";
  std::string_view name = *host;
  if (std::any_of(proxies.begin(), proxies.end(),
                  [&](address_range const& r) { return r.contains(req.client_address()); })) {
    if (auto const proto = req.headers().find("X-Forwarded-Proto")) {
      std::string_view const p = first_listed(*proto);
      if (http::iequals(p, "http"))
        scheme = "http";
      else if (http::iequals(p, "https"))
        scheme = "https";
    }
    if (auto const forwarded = req.headers().find("X-Forwarded-Host")) {
      std::string_view const h = first_listed(*forwarded);
      if (is_valid_host(h))
        name = h;
    }
  }
  s.realm = std::string(scheme) + "://" + std::string(name) + "/auth/token";
  return s;
}

/// Why a request's credentials were not accepted.
enum class auth_failure {
  none,            ///< accepted, or none given (anonymous)
  bad_credentials, ///< malformed, unknown scheme, wrong user or password
  bad_token,       ///< a Bearer token that does not verify
  rate_limited,    ///< too many failed logins: not checked
  server_error,    ///< a store failed
};

/// The token actions a repository need stands for, as Distribution maps methods to
/// actions: pull; pull and push; delete.
inline std::vector<std::string> actions_of(http::access_need need) {
  switch (need) {
  case http::access_need::pull: return {"pull"};
  case http::access_need::push: return {"pull", "push"};
  case http::access_need::remove: return {"delete"};
  default: return {};
  }
}

/// `p` cut to what an access token's scopes allow, when the caller used one.
inline permissions within(permissions p, std::optional<token_grants> const& limit) noexcept {
  if (limit) {
    p.pull = p.pull && limit->pull;
    p.push = p.push && limit->push;
    p.del = p.del && limit->del;
  }
  return p;
}

/// What a request under `/api/v1` changes, for callers whose credentials are limited.
enum class api_access {
  read,    ///< GET, HEAD: any access token scope
  manage,  ///< organisations, members, visibility, the other APIs there: scope `admin`
  account, ///< users, passwords, access tokens: the password itself, never a token
};

inline api_access api_access_of(std::string_view target, std::string_view method) {
  if (method == "GET" || method == "HEAD")
    return api_access::read;
  accounts::parsed_target const t = accounts::parse_api_target(target);
  if (auto const* e = std::get_if<accounts::api_target_error>(&t))
    // Not an accounts route: another API under /api/v1 (the namespace queries, the GC).
    return *e == accounts::api_target_error::not_found ? api_access::manage : api_access::account;
  switch (std::get<accounts::api_route>(t).kind) {
  case accounts::api_route_kind::orgs:
  case accounts::api_route_kind::org:
  case accounts::api_route_kind::org_members:
  case accounts::api_route_kind::org_member:
  case accounts::api_route_kind::repository: return api_access::manage;
  default: return api_access::account; // users, passwords, tokens, and routes added later
  }
}

/// The scopes a request needs, for a challenge.
inline std::vector<resource_scope> scopes_of(http::access_need need, std::string_view repository) {
  if (need == http::access_need::catalog)
    return {resource_scope{"registry", "", "catalog", {"*"}}};
  if (http::is_repository_access(need))
    return {resource_scope{"repository", "", std::string(repository), actions_of(need)}};
  return {};
}

/// An OCI error response.
inline http::response oci_error_response(oci_error code, std::string_view message,
                                         boost::json::value detail = nullptr, int status = 0) {
  return registry::error_response(code, message, std::move(detail), status);
}

/// 401 with a Basic challenge.
inline http::response basic_unauthorized(std::string_view message) {
  http::response r = oci_error_response(oci_error::unauthorized, message);
  r.headers().add("WWW-Authenticate", basic_challenge("pier").value());
  return r;
}

/// 401 with a Bearer challenge naming `scopes`, and `error` when the token was wrong
/// (`invalid_token`) or short (`insufficient_scope`). The detail lists the access needed,
/// as Distribution's does.
inline http::response bearer_unauthorized(std::string_view realm, std::string_view service,
                                          std::vector<resource_scope> const& scopes,
                                          std::string_view error, std::string_view message) {
  result<std::string> const challenge = bearer_challenge(realm, service, scopes, error);
  if (!challenge)
    return oci_error_response(oci_error::unknown, "the token realm or service is not valid");
  http::response r = oci_error_response(
      oci_error::unauthorized, message,
      scopes.empty() ? boost::json::value(nullptr) : boost::json::value(access_to_json(scopes)));
  r.headers().add("WWW-Authenticate", *challenge);
  return r;
}

inline http::response denied(std::string_view message) {
  return oci_error_response(oci_error::denied, message);
}

/// 429 with the seconds to wait.
inline http::response too_many_requests(std::chrono::steady_clock::duration wait) {
  auto const seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
  http::response r =
      oci_error_response(oci_error::too_many_requests, "too many failed logins; retry later");
  r.headers().set("Retry-After", std::to_string(seconds < 1 ? 1 : seconds));
  return r;
}

/// An OAuth2 error (RFC 6749 §5.2).
inline http::response oauth_error(int status, std::string_view error,
                                  std::string_view description) {
  boost::json::object o{{"error", error}};
  if (!description.empty())
    o["error_description"] = description;
  http::response r = http::response::json(status, boost::json::serialize(o));
  r.headers().set("Cache-Control", "no-store");
  return r;
}

/// A random token id (`jti`): 128 bits in base64url. Throws `std::system_error` only when
/// the CSPRNG fails.
inline std::string random_token_id() {
  std::array<unsigned char, 16> b{};
  if (!::pier::detail::openssl::random_bytes(b.data(), b.size()))
    throw std::system_error(std::make_error_code(std::errc::io_error), "RAND_bytes");
  return base64url_encode(std::string_view(reinterpret_cast<char const*>(b.data()), b.size()));
}

/// A bcrypt hash (cost 10) of a random string nobody knows: what an unknown user's password
/// is checked against, so that answering takes as long as for a known user.
inline constexpr std::string_view timing_hash =
    "$2y$10$4zJecDjjNSKaqGlyA35ugO1BgQ/EkBrLuS1U1yH27UCPFQcClnRfu";

} // namespace auth::detail
PIER_END_NAMESPACE

#endif // PIER_AUTH_DETAIL_GATE_HPP
