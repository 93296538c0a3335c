// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_IMPL_ROUTER_HPP
#define PIER_HTTP_IMPL_ROUTER_HPP

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <stdexcept>
#include <utility>

PIER_BEGIN_NAMESPACE
namespace http {

inline std::optional<target> parse_target(std::string_view raw) {
  if (raw == "*")
    return std::nullopt; // OPTIONS * names the server, not a resource
  boost::system::result<boost::urls::url_view> const parsed =
      raw.starts_with('/') ? boost::urls::parse_origin_form(raw)
                           : boost::urls::parse_absolute_uri(raw);
  if (!parsed)
    return std::nullopt;
  target t;
  if (parsed->is_path_absolute()) // else (`http://host`) no segments: a path nothing matches
    for (std::string s : parsed->segments())
      t.segments.push_back(std::move(s));
  t.has_query = parsed->has_query();
  t.query = std::string(parsed->encoded_query());
  return t;
}

inline path_pattern::path_pattern(std::string_view pattern) : text_(pattern) {
  if (!pattern.starts_with('/'))
    throw std::invalid_argument("pier::http::path_pattern: must start with '/': " + text_);
  pattern.remove_prefix(1);
  // "/" alone is one empty segment, as boost::urls reads the path "/".
  while (true) {
    std::size_t const slash = pattern.find('/');
    std::string_view const s = pattern.substr(0, slash);
    if (s.starts_with('{')) {
      bool const rest = s.ends_with("*}");
      if (!s.ends_with('}') || s.size() < (rest ? 4u : 3u))
        throw std::invalid_argument("pier::http::path_pattern: bad parameter in " + text_);
      std::string name(s.substr(1, s.size() - (rest ? 3 : 2)));
      if (name.find_first_of("{}*/") != std::string::npos)
        throw std::invalid_argument("pier::http::path_pattern: bad parameter in " + text_);
      if (rest) {
        if (rest_)
          throw std::invalid_argument("pier::http::path_pattern: two {...*} in " + text_);
        rest_ = parts_.size();
      }
      parts_.push_back({rest ? part::kind::rest : part::kind::one, std::move(name)});
    } else {
      parts_.push_back({part::kind::literal, std::string(s)});
    }
    if (slash == std::string_view::npos)
      break;
    pattern.remove_prefix(slash + 1);
  }
}

inline std::optional<std::vector<std::pair<std::string, std::string>>>
path_pattern::match(std::vector<std::string> const& segments) const {
  std::size_t const n = segments.size();
  std::size_t const fixed = parts_.size() - (rest_ ? 1 : 0);
  if (rest_ ? n < parts_.size() : n != parts_.size())
    return std::nullopt;
  // Part i matches segment i before the rest and segment n - (parts - i) after it.
  auto segment_of = [&](std::size_t i) -> std::string const& {
    return segments[rest_ && i > *rest_ ? n - (parts_.size() - i) : i];
  };
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    part const& p = parts_[i];
    if (p.what == part::kind::literal && segment_of(i) != p.text)
      return std::nullopt;
    if (p.what == part::kind::one && segment_of(i).empty())
      return std::nullopt;
  }
  std::vector<std::pair<std::string, std::string>> params;
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    part const& p = parts_[i];
    if (p.what == part::kind::one) {
      params.emplace_back(p.text, segment_of(i));
    } else if (p.what == part::kind::rest) {
      std::string joined;
      for (std::size_t k = i; k < i + (n - fixed); ++k) {
        if (k > i)
          joined += '/';
        joined += segments[k];
      }
      params.emplace_back(p.text, std::move(joined));
    }
  }
  return params;
}

inline std::string_view context::param(std::string_view name) const noexcept {
  for (auto const& [k, v] : params_)
    if (k == name)
      return v;
  return {};
}

inline std::string_view context::repository() const noexcept {
  return endpoint_ ? param(endpoint_->repository_param) : std::string_view();
}

inline void context::set_param(std::string_view name, std::string value) {
  for (auto& [k, v] : params_)
    if (k == name) {
      v = std::move(value);
      return;
    }
  params_.emplace_back(std::string(name), std::move(value));
}

inline asio::awaitable<bool> context::may(access_need what, std::string repository) const {
  if (!caller_.may)
    co_return true;
  co_return co_await caller_.may(what, std::move(repository));
}

inline router::router() {
  not_found_ = [](http::request&) -> asio::awaitable<response> {
    co_return response(404);
  };
  not_allowed_ = [](context&, std::string const& allow) -> asio::awaitable<response> {
    response r(405);
    r.headers().set("Allow", allow);
    co_return r;
  };
}

inline router& router::add(endpoint e) {
  endpoints_.push_back(std::move(e));
  return *this;
}

inline router& router::add(std::string_view pattern, std::vector<method_route> methods) {
  return add(endpoint{path_pattern(pattern), std::move(methods)});
}

inline router& router::use(middleware m) {
  middleware_.push_back(std::move(m));
  return *this;
}

inline router& router::on_not_found(std::function<asio::awaitable<response>(http::request&)> h) {
  not_found_ = std::move(h);
  return *this;
}

inline router& router::on_method_not_allowed(
    std::function<asio::awaitable<response>(context&, std::string const&)> h) {
  not_allowed_ = std::move(h);
  return *this;
}

inline asio::awaitable<response> router::handle(http::request& req) const {
  std::optional<target> t = parse_target(req.target());
  if (!t)
    co_return co_await not_found_(req);
  context ctx(req, std::move(*t));
  endpoint const* found = nullptr;
  for (endpoint const& e : endpoints_) {
    if (auto params = e.pattern.match(ctx.target_.segments)) {
      found = &e;
      ctx.params_ = std::move(*params);
      break;
    }
  }
  if (!found)
    co_return co_await not_found_(req);
  ctx.endpoint_ = found;
  method_route const* any = nullptr;
  for (method_route const& m : found->methods) {
    if (m.method == req.method()) {
      ctx.method_ = &m;
      break;
    }
    if (m.method == "*")
      any = &m;
  }
  if (!ctx.method_)
    ctx.method_ = any;
  response out;
  if (!ctx.method_) {
    std::string allow;
    for (method_route const& m : found->methods) {
      if (!allow.empty())
        allow += ", ";
      allow += m.method;
    }
    out = co_await not_allowed_(ctx, allow);
  } else {
    ctx.need_ = ctx.method_->need;
    std::optional<response> early;
    if (found->prepare)
      early = found->prepare(ctx);
    if (early) {
      out = std::move(*early);
    } else {
      struct routed { // the request points at the context only while it lives
        http::request& r;
        ~routed() { r.set_route_context(nullptr); }
      } const guard{req};
      req.set_route_context(&ctx);
      out = co_await run(ctx, 0);
    }
  }
  for (auto const& [name, value] : found->headers)
    out.headers().set(name, value);
  co_return out;
}

inline asio::awaitable<response> router::run(context& ctx, std::size_t layer) const {
  if (layer == middleware_.size())
    co_return co_await ctx.method_->handle(ctx);
  route_handler const next = [this, layer](context& c) { return run(c, layer + 1); };
  co_return co_await middleware_[layer](ctx, next);
}

inline http::handler router::handler(std::shared_ptr<router const> r) {
  return [r = std::move(r)](http::request& req) { return r->handle(req); };
}

} // namespace http
PIER_END_NAMESPACE

#endif // PIER_HTTP_IMPL_ROUTER_HPP
