// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_IMPL_GC_API_HPP
#define PIER_REGISTRY_IMPL_GC_API_HPP

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include <pier/core/detail/rfc3339.hpp>

PIER_BEGIN_NAMESPACE
namespace registry {
namespace detail {

inline boost::json::object gc_report_json(gc_report const& r) {
  boost::json::array errors;
  for (std::string const& e : r.errors)
    errors.emplace_back(e);
  using ms = std::chrono::duration<double, std::milli>;
  return {{"started", ::pier::detail::rfc3339::format(r.started, true)},
          {"duration_ms", std::chrono::duration_cast<ms>(r.duration).count()},
          {"candidates", r.candidates},
          {"blobs_removed", r.blobs_removed},
          {"bytes_freed", r.bytes_freed},
          {"orphans_removed", r.orphans_removed},
          {"manifests_removed", r.manifests_removed},
          {"uploads_expired", r.uploads_expired},
          {"errors", std::move(errors)}};
}

inline boost::json::object gc_status_json(bool running, std::optional<gc_report> const& last,
                                          std::vector<gc_report> const& runs) {
  boost::json::object o;
  o["running"] = running;
  if (last)
    o["last"] = gc_report_json(*last);
  else
    o["last"] = nullptr;
  boost::json::array list;
  for (gc_report const& r : runs)
    list.push_back(gc_report_json(r));
  o["runs"] = std::move(list);
  return o;
}

// The collector's last runs when it keeps them (`collector::history`), else the last one.
template <class C>
std::vector<gc_report> gc_runs(C const& collector) {
  if constexpr (requires { collector.history(); }) {
    return collector.history();
  } else {
    std::vector<gc_report> runs;
    if (std::optional<gc_report> last = collector.last())
      runs.push_back(std::move(*last));
    return runs;
  }
}

} // namespace detail

template <GarbageCollector C>
bool gc_api<C>::handles(std::string_view target) noexcept {
  return target.substr(0, target.find('?')) == "/api/v1/gc";
}

template <GarbageCollector C>
asio::awaitable<http::response> gc_api<C>::handle(http::request& req, gc_caller who) const {
  std::string_view const method = req.method();
  bool const read = method == "GET" || method == "HEAD";
  http::response res;
  if (!handles(req.target())) {
    res = http::response::json(
        404,
        R"({"errors":[{"code":"NOT_FOUND","message":"no such endpoint in /api/v1","detail":null}]})");
  } else if (!read && method != "POST") {
    res = detail::method_not_allowed("GET, HEAD, POST");
  } else if (who.anonymous) {
    // The challenge the gate sends on /api/v1: API clients sign in with Basic.
    res = detail::error(oci_error::unauthorized, "authentication required");
    res.headers().set("WWW-Authenticate", R"(Basic realm="pier")");
  } else if (!who.admin) {
    res = detail::error(oci_error::denied, "garbage collection is for registry administrators");
  } else if (read) {
    res = http::response::json(
        200, boost::json::serialize(detail::gc_status_json(
                 collector_.running(), collector_.last(), detail::gc_runs(collector_))));
  } else {
    bool const started = collector_.start(co_await asio::this_coro::executor);
    if (!started && collector_.stopped()) {
      res = detail::error(oci_error::unavailable, "garbage collection is stopped");
    } else {
      boost::json::object body =
          detail::gc_status_json(started || collector_.running(), collector_.last());
      body["started"] = started;
      res = http::response::json(202, boost::json::serialize(body));
      res.headers().set("Location", "/api/v1/gc");
    }
  }
  res.headers().set("Cache-Control", "no-store");
  co_return res;
}

} // namespace registry
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_IMPL_GC_API_HPP
