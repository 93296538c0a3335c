// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_GC_API_HPP
#define PIER_REGISTRY_GC_API_HPP

/// @file
/// `/api/v1/gc`: the last garbage collection's report, and a run on demand, for registry
/// administrators.
///
/// @code
/// pier::registry::collector gc(blobs, meta);
/// pier::registry::gc_api api(gc);
/// assert(api.handles("/api/v1/gc"));
/// assert(!api.handles("/api/v1/users"));
/// // Behind the auth gate, which knows who calls:
/// //   co_await api.handle(req, {.anonymous = who.anonymous(), .admin = who.admin});
/// @endcode
///
/// - `GET /api/v1/gc` (also `HEAD`): 200
///   `{"running":bool,"last":null|{"started","duration_ms","candidates","blobs_removed",
///   "bytes_freed","orphans_removed","manifests_removed","uploads_expired",
///   "errors":[string]},"runs":[report]}`: whether a run is in progress, the report of the
///   last one that finished (`null` before the first), and the last runs' reports, newest
///   first. `started` is RFC 3339 UTC with milliseconds
///   (`"2026-11-22T16:25:00.123Z"`), `duration_ms` a number with a fraction.
/// - `POST /api/v1/gc` (no body needed; any is ignored): starts a run in the background
///   and answers 202 at once with `Location: /api/v1/gc` and the same body as GET plus
///   `"started":true`. When a run is already in progress it starts none and answers 202
///   with `"started":false`: that run's report will be the next `last`. A stopped
///   collector (server shutting down): 503 UNAVAILABLE.
///
/// Only registry administrators may call it: anonymous callers get 401 UNAUTHORIZED with
/// `WWW-Authenticate: Basic realm="pier"`, other users 403 DENIED. Another method: 405
/// UNSUPPORTED with `Allow`. Errors have the registry API's JSON shape
/// (`{"errors":[{"code","message","detail"}]}`); responses are `Cache-Control: no-store`.
///
/// The registry layer sits below auth: the caller's identity arrives as a `gc_caller`,
/// which the server fills in from the gate's principal.

#include <pier/config.hpp>
#include <pier/core/error.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>
#include <pier/registry/detail/responses.hpp>
#include <pier/registry/gc.hpp>

#include <asio/awaitable.hpp>
#include <asio/this_coro.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <concepts>
#include <optional>
#include <string_view>

PIER_BEGIN_NAMESPACE
namespace registry {

/// Who calls the API, as the layer in front of the registry (the auth gate) decided.
struct gc_caller {
  bool anonymous = true; ///< no credentials: refused with 401 and a challenge
  bool admin = false;    ///< a registry administrator: the only caller allowed
};

/// What `gc_api` needs of a collector: `collector<B, M>` is one.
template <class C>
concept GarbageCollector = requires(C& c, C const& cc, asio::any_io_executor ex) {
  { c.start(ex) } -> std::same_as<bool>;
  { cc.last() } -> std::same_as<std::optional<gc_report>>;
  { cc.running() } -> std::same_as<bool>;
  { cc.stopped() } -> std::same_as<bool>;
};

/// The `/api/v1/gc` route over a collector, which must outlive it (see the file comment).
/// `handle` may run on several threads at once.
template <GarbageCollector C>
class gc_api {
public:
  explicit gc_api(C& collector) noexcept : collector_(collector) {}

  /// Whether `target` (path and query, as sent) is this API's route, so that a server can
  /// chain it with other `/api/v1` handlers.
  static bool handles(std::string_view target) noexcept;

  /// Answers the request; 404 NOT_FOUND for a target that `handles` refuses. A POST
  /// starts the run on the executor of the calling coroutine.
  asio::awaitable<http::response> handle(http::request& req, gc_caller who) const;

private:
  C& collector_;
};

namespace detail {

/// The report as `GET /api/v1/gc` shows it.
boost::json::object gc_report_json(gc_report const& r);

/// `{"running","last","runs"}`: `runs` holds the last runs' reports, newest first.
boost::json::object gc_status_json(bool running, std::optional<gc_report> const& last,
                                   std::vector<gc_report> const& runs = {});

} // namespace detail

} // namespace registry
PIER_END_NAMESPACE

#include <pier/registry/impl/gc_api.hpp>

#endif // PIER_REGISTRY_GC_API_HPP
