// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_SCOPE_HPP
#define PIER_AUTH_SCOPE_HPP

/// @file
/// The vocabulary of Docker's token authentication over HTTP: resource scopes
/// (`repository:library/ubuntu:pull,push`), the `access` claim of a token, the
/// `WWW-Authenticate` challenges a registry sends, and the `Authorization` credentials
/// clients answer with (`Basic`, `Bearer`).
///
/// @code
/// namespace auth = pier::auth;
/// auto requested = auth::parse_scopes("repository:alice/app:pull,push registry:catalog:*");
/// assert(requested && requested->size() == 2);
///
/// std::vector<auth::resource_scope> granted{{"repository", "", "alice/app", {"pull"}}};
/// std::vector<auth::resource_scope> access = auth::intersect(*requested, granted);
/// assert(auth::to_string(access) == "repository:alice/app:pull");
/// assert(auth::allows(access, "repository", "alice/app", "pull"));
/// assert(!auth::allows(access, "repository", "alice/app", "push"));
///
/// assert(auth::bearer_challenge("https://r.example/auth/token", "r.example", *requested).value()
///        == "Bearer realm=\"https://r.example/auth/token\",service=\"r.example\","
///           "scope=\"repository:alice/app:pull,push registry:catalog:*\"");
/// @endcode
///
/// Nothing here decides who may do what: that is the policy's. These are the pieces it
/// reads requests with and writes tokens and responses with.
///
/// See https://distribution.github.io/distribution/spec/auth/scope/,
/// https://distribution.github.io/distribution/spec/auth/token/, RFC 6750 §3 (Bearer
/// challenges), RFC 7617 (Basic) and RFC 9110 §11 (HTTP authentication).

#include <pier/config.hpp>
#include <pier/core/error.hpp>
#include <pier/core/result.hpp>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace auth {

/// Why a scope or an `access` claim was rejected, or a challenge could not be written.
///
/// `invalid_name` maps to `oci_error::name_invalid`; `invalid_parameter` (a challenge with
/// a realm or service that would break the header) to `oci_error::unknown`, the server's
/// fault; the others to `oci_error::unauthorized`.
enum class scope_error {
  empty = 1,         ///< an empty scope
  malformed,         ///< not `type:name:actions` (fewer than two ':')
  invalid_type,      ///< type not `[a-z0-9]+`, optionally followed by `(class)` of the same
  invalid_name,      ///< see `parse_scope`
  invalid_action,    ///< an empty action, or one not `*` and not `[a-z0-9_-]+`
  invalid_access,    ///< an `access` claim that is not `[{type, name, actions}]`
  invalid_parameter, ///< a challenge parameter with control characters, or an error not a token
};

/// The category of `scope_error`, named "pier.auth.scope".
std::error_category const& scope_category() noexcept;

inline std::error_code make_error_code(scope_error e) noexcept {
  return {static_cast<int>(e), scope_category()};
}

/// Why an `Authorization` header value was rejected. Every value maps to
/// `oci_error::unauthorized`.
enum class credentials_error {
  wrong_scheme = 1,  ///< a scheme other than the one asked for
  malformed,         ///< nothing after the scheme, or not one token68
  invalid_base64,    ///< Basic: the credentials are not base64
  missing_colon,     ///< Basic: no ':' between user and password
  empty_user,        ///< Basic: nothing before the ':'
  invalid_character, ///< Basic: control characters in the user or password (RFC 7617 §2)
};

/// The category of `credentials_error`, named "pier.auth.credentials".
std::error_category const& credentials_category() noexcept;

inline std::error_code make_error_code(credentials_error e) noexcept {
  return {static_cast<int>(e), credentials_category()};
}

/// One resource and actions on it: a scope as clients request it, and an entry of a
/// token's `access` claim.
struct resource_scope {
  std::string type;                 ///< "repository", "registry", …
  std::string resource_class;       ///< "plugin" in `repository(plugin)`; deprecated, usually empty
  std::string name;                 ///< "library/ubuntu", "catalog", …
  std::vector<std::string> actions; ///< "pull", "push", "delete", "*", …; no duplicates

  friend bool operator==(resource_scope const&, resource_scope const&) = default;
};

/// Parses one `type[(class)]:name:action[,action…]`.
///
/// The name is everything between the first and the last ':' (a name may hold one, as in
/// `host:5000/repo`). For type `repository` it must pass `pier::validate_repository_name`
/// (which refuses a host part); for other types (`registry:catalog:*`) it is one or more of
/// `[A-Za-z0-9._/:-]`. Actions are `*` or `[a-z0-9_-]+`: the spec's `[a-z*]` plus what other
/// registries use (`metadata_read`); unknown actions parse, and a policy grants them never.
/// Repeated actions are dropped, the order is kept.
///
/// @code
/// auto s = pier::auth::parse_scope("repository(plugin):vieux/sshfs:pull");
/// assert(s && s->type == "repository" && s->resource_class == "plugin" && s->name ==
/// "vieux/sshfs"); assert(pier::auth::parse_scope("repository:Foo:pull").error() ==
///        pier::auth::scope_error::invalid_name);
/// @endcode
result<resource_scope> parse_scope(std::string_view s);

/// Parses a space-separated list of scopes, the form of a challenge's `scope` parameter and
/// of a token POST's. Entries for the same resource are merged (their actions united). An
/// empty string is an empty list: the spec lets a token request name no scope.
result<std::vector<resource_scope>> parse_scopes(std::string_view s);

/// The same over several `scope` query parameters (`?scope=a&scope=b`), each itself a
/// space-separated list; everything is merged as above.
result<std::vector<resource_scope>> parse_scopes(std::span<std::string_view const> params);

/// `type[(class)]:name:a,b`.
std::string to_string(resource_scope const& s);

/// The scopes separated by spaces.
std::string to_string(std::span<resource_scope const> scopes);

/// The `access` claim of a token: `[{"type":…,"name":…,"actions":[…]}]`. Resource classes
/// are left out, as the spec asks of token services.
boost::json::array access_to_json(std::span<resource_scope const> access);

/// Reads an `access` claim. Each entry needs string `type` and `name`; `actions` must be an
/// array of strings (absent: none); other members (a deprecated `class`) are ignored.
result<std::vector<resource_scope>> access_from_json(boost::json::value const& v);

/// What a token service puts in a token: for each requested resource, the requested actions
/// that `granted` allows (see `allows`), without resource class. Resources left with no
/// action are dropped; asking for more than one may have is not an error (token spec).
/// A requested `*` is kept only when `*` itself is granted.
std::vector<resource_scope> intersect(std::span<resource_scope const> requested,
                                      std::span<resource_scope const> granted);

/// Whether `access` allows `action` on the resource: an entry of that type (resource class
/// ignored: `repository(plugin)` is `repository`) and name lists the action or `*`.
bool allows(std::span<resource_scope const> access, std::string_view type, std::string_view name,
            std::string_view action) noexcept;

/// The value of a `WWW-Authenticate` header asking for a token:
/// `Bearer realm="…",service="…",scope="…",error="…"`, parameters quoted per RFC 9110
/// §5.6.4. `service`, the scope and `error` (RFC 6750: `invalid_token`,
/// `insufficient_scope`) are left out when empty. `scope_error::invalid_parameter` when a
/// value has a control character (a CR or LF would split the header) or `error` is not a
/// token.
result<std::string> bearer_challenge(std::string_view realm, std::string_view service,
                                     std::span<resource_scope const> scopes = {},
                                     std::string_view error = {});

/// `Basic realm="…"`, for registries that take Basic credentials directly.
result<std::string> basic_challenge(std::string_view realm);

/// The user and password of `Authorization: Basic …`.
struct basic_credentials {
  std::string user;
  std::string password; ///< a secret: never log it
};

/// Parses the value of an `Authorization` header with the Basic scheme (RFC 7617).
///
/// The scheme is case-insensitive; the credentials are base64 (standard alphabet, padding
/// optional) of `user:password`, split at the first ':' (so a password may contain ':').
/// An empty user, or control characters in either part, are refused.
///
/// @code
/// auto c = pier::auth::parse_basic_authorization("Basic YWxpY2U6czNjcjp0");
/// assert(c && c->user == "alice" && c->password == "s3cr:t");
/// assert(pier::auth::parse_basic_authorization("Bearer abc").error() ==
///        pier::auth::credentials_error::wrong_scheme);
/// @endcode
result<basic_credentials> parse_basic_authorization(std::string_view value);

/// The token of `Authorization: Bearer <token68>` (RFC 6750 §2.1), a view into `value`.
result<std::string_view> parse_bearer_authorization(std::string_view value);

} // namespace auth
PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::auth::scope_error> : std::true_type {};
template <>
struct std::is_error_code_enum<pier::auth::credentials_error> : std::true_type {};

#include <pier/auth/impl/scope.hpp>

#endif // PIER_AUTH_SCOPE_HPP
