// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_ROUTER_HPP
#define PIER_HTTP_ROUTER_HPP

/// @file
/// One route table for every API a server answers, and the middleware around it
/// (docs/DESIGN.md, "A request's way through the layers").
///
/// A request target is parsed once (`parse_target`: origin- or absolute-form, each path
/// segment percent-decoded on its own, the query kept encoded). The table is a list of
/// endpoints, each a path pattern with, per method, the access it needs and its handler.
/// The first endpoint whose pattern matches the path decides: a method it does not list is
/// 405 with `Allow`, a path no endpoint matches is the router's `not_found` handler. Then
/// the endpoint's `prepare` step (validation of the parameters: an invalid name is the API's
/// 400, before anyone is asked who the caller is), then the middleware, outermost first
/// (authentication and the authorisation decision are one, from auth: it reads the access
/// the route needs, never the URL), then the handler. Handlers receive a `context`: the
/// request, the matched route and its parameters, the caller as the middleware found it.
///
/// @code
/// pier::http::router r;
/// r.add("/v2/{name*}/tags/list", {{"GET", pier::http::access_need::pull, tags},
///                                 {"HEAD", pier::http::access_need::pull, tags}});
/// r.add("/_ping", {{"GET", pier::http::access_need::open, ping}});
/// r.use(authorise); // a middleware
/// pier::http::server srv(options, r.handler());
/// @endcode
///
/// Patterns: `/`-separated segments, each a literal (compared with the decoded segment), a
/// parameter `{id}` (exactly one non-empty segment) or, at most once per pattern, a
/// parameter `{name*}` (one or more segments, empty ones included, joined with '/': for
/// repository names, which contain '/'; it is matched from both ends). A trailing '/' is a
/// last, empty segment: `/v2/` and `/v2` are two patterns.

#include <pier/config.hpp>
#include <pier/http/handler.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>

#include <asio/awaitable.hpp>

#include <any>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace http {

/// A request target, parsed once.
struct target {
  /// The path's segments, each percent-decoded on its own (`/v2/a%2Fb/` is `v2`, `a/b`, ``).
  std::vector<std::string> segments;
  /// The query without '?', still percent-encoded (empty when there is none).
  std::string query;
  /// Whether the target had a query (`?` present, even empty).
  bool has_query = false;
};

/// Parses an origin-form (`/v2/...?q`) or absolute-form (`http://host/v2/...`) target;
/// nothing for `*` or what is not one of them (bad percent-encoding, a relative path, ...).
/// An absolute-form target without a path (`http://host`) has no segments.
std::optional<target> parse_target(std::string_view raw);

/// A path pattern (see the file comment).
class path_pattern {
public:
  /// Throws `std::invalid_argument` for a pattern that does not start with '/', has two
  /// `{...*}` parameters, or a malformed or empty parameter name.
  explicit path_pattern(std::string_view pattern);

  /// The parameters of `segments` by name, in the pattern's order; nothing when the pattern
  /// does not match.
  std::optional<std::vector<std::pair<std::string, std::string>>>
  match(std::vector<std::string> const& segments) const;

  std::string_view str() const noexcept { return text_; }

private:
  struct part {
    enum class kind { literal, one, rest } what;
    std::string text; // the literal, or the parameter's name
  };
  std::string text_;
  std::vector<part> parts_;
  std::optional<std::size_t> rest_; // index of the `{...*}` part
};

/// What a route needs of its caller. The router only carries it: the authorisation
/// middleware decides what each means for whom (auth/policy.hpp).
enum class access_need {
  open,          ///< anyone; nothing is authenticated (pings, the token service)
  authenticated, ///< any caller who authenticated (`/v2/`)
  pull,          ///< pull the repository named by the route's `repository` parameter
  push,          ///< pull and push it
  remove,        ///< delete in it
  catalog,       ///< list the repositories (each name filtered by pull, by the catalog)
  api_read,      ///< a read of the JSON API: any caller, any credentials
  api_manage,    ///< a change there that a token of scope `admin` may make too
  api_account,   ///< a change of accounts (users, passwords, tokens): the password only
  admin,         ///< administrators only
};

class context;

/// Handles a routed request.
using route_handler = std::function<asio::awaitable<response>(context&)>;

/// A middleware: may answer itself, or call `next(ctx)` (at most once) and return or change
/// its response.
using middleware = std::function<asio::awaitable<response>(context&, route_handler const& next)>;

/// One method of an endpoint; `*` stands for every method the endpoint does not list.
struct method_route {
  std::string method;
  access_need need = access_need::open;
  route_handler handle;
};

/// Runs after the match and before the middleware: validates the route's parameters (into
/// `context::data`, say) or answers the request itself (an invalid name: 400).
using route_prepare = std::function<std::optional<response>(context&)>;

/// An endpoint: a pattern and its methods.
struct endpoint {
  path_pattern pattern;
  std::vector<method_route> methods;
  /// The parameter that names the repository `pull`/`push`/`remove` is about.
  std::string repository_param = "name";
  route_prepare prepare{};
  /// An identifier for logs and metrics (empty: the pattern).
  std::string name{};
  /// Fields every response of the endpoint carries, refusals by the middleware included.
  std::vector<std::pair<std::string, std::string>> headers{};
};

/// Who the caller is, as the middleware found them. The server authenticates nobody: with no
/// authenticating middleware every caller is anonymous and `may` allows everything.
struct caller {
  std::string name;          ///< empty: anonymous
  bool authenticated = false;
  bool admin = false;
  /// Whether the caller may do `what` (`pull`, `push`, `remove`) on `repository`: the one
  /// authorisation decision, asked by handlers whose answer depends on more than the
  /// route's repository (a catalog page, a mount's source). Empty: everything is allowed.
  std::function<asio::awaitable<bool>(access_need what, std::string repository)> may{};
  /// What the authenticating middleware knows more of the caller (auth's principal).
  std::any details{};
};

/// A request as a routed handler sees it.
class context {
public:
  context(http::request& req, target t) : req_(&req), target_(std::move(t)) {}

  http::request& request() const noexcept { return *req_; }
  http::target const& target() const noexcept { return target_; }
  std::string_view request_id() const noexcept { return req_->id(); }

  /// The matched endpoint and method (null before the match, in `not_found`).
  endpoint const* route() const noexcept { return endpoint_; }
  method_route const* method() const noexcept { return method_; }
  /// The access the route needs (`open` when nothing matched).
  access_need need() const noexcept { return need_; }
  /// Sets it, for a `prepare` step whose endpoint needs more than its method says (an API
  /// whose sub-routes it parses itself).
  void set_need(access_need n) noexcept { need_ = n; }

  /// The pattern's parameters, in its order.
  std::span<std::pair<std::string, std::string> const> params() const noexcept { return params_; }
  /// A parameter of the pattern (empty when it has none of that name).
  std::string_view param(std::string_view name) const noexcept;
  /// The repository the route's access is about (its `repository_param`), else empty.
  std::string_view repository() const noexcept;
  /// Replaces it, for `prepare` steps that read it from elsewhere.
  void set_param(std::string_view name, std::string value);

  http::caller& caller() noexcept { return caller_; }
  http::caller const& caller() const noexcept { return caller_; }

  /// What the route's `prepare` made of the request (the API's parsed route, say).
  std::any& data() noexcept { return data_; }
  std::any const& data() const noexcept { return data_; }

  /// Asks the caller's `may` (true without one).
  asio::awaitable<bool> may(access_need what, std::string repository) const;

private:
  friend class router;
  http::request* req_;
  http::target target_;
  endpoint const* endpoint_ = nullptr;
  method_route const* method_ = nullptr;
  access_need need_ = access_need::open;
  std::vector<std::pair<std::string, std::string>> params_;
  http::caller caller_;
  std::any data_;
};

/// The route table and the middleware.
class router {
public:
  router();

  /// Adds an endpoint after the others (the first that matches decides). Throws
  /// `std::invalid_argument` for an invalid pattern.
  router& add(endpoint e);
  router& add(std::string_view pattern, std::vector<method_route> methods);

  /// Adds a middleware inside the ones added before.
  router& use(middleware m);

  /// What answers a path no endpoint matches, and a target that does not parse (`target`
  /// then has no segments): 404 with an empty body unless set.
  router& on_not_found(std::function<asio::awaitable<response>(http::request&)> h);
  /// What answers a method the endpoint does not list: 405 with `Allow` unless set (it is
  /// given the `Allow` value).
  router& on_method_not_allowed(
      std::function<asio::awaitable<response>(context&, std::string const& allow)> h);

  /// Routes one request. `req` must outlive the awaitable.
  asio::awaitable<response> handle(http::request& req) const;

  /// The router as the server's handler; it shares the table, which must not change after.
  static http::handler handler(std::shared_ptr<router const> r);

  std::vector<endpoint> const& endpoints() const noexcept { return endpoints_; }

private:
  asio::awaitable<response> run(context& ctx, std::size_t layer) const;

  std::vector<endpoint> endpoints_;
  std::vector<middleware> middleware_;
  std::function<asio::awaitable<response>(http::request&)> not_found_;
  std::function<asio::awaitable<response>(context&, std::string const&)> not_allowed_;
};

/// Whether `what` changes something in a repository (push, remove).
constexpr bool is_repository_change(access_need what) noexcept {
  return what == access_need::push || what == access_need::remove;
}

/// Whether `what` is about the route's repository.
constexpr bool is_repository_access(access_need what) noexcept {
  return what == access_need::pull || is_repository_change(what);
}

} // namespace http
PIER_END_NAMESPACE

#include <pier/http/impl/router.hpp>

#endif // PIER_HTTP_ROUTER_HPP
