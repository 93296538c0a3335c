// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_ROUTES_HPP
#define PIER_REGISTRY_ROUTES_HPP

/// @file
/// Which OCI Distribution endpoint a request target names: a pure function from the
/// request-target to a `route` (kind, repository name, tag or digest, upload id, query
/// parameters), with every part validated. No I/O.
///
/// @code
/// using namespace pier::registry;
/// pier::result<route> r = parse_route("/v2/team/app/manifests/v1.2?ignored=1");
/// assert(r && r->kind == route_kind::manifest && r->name == "team/app" && r->tag == "v1.2");
///
/// // Repository names contain '/', so the route is recognised from the end of the path.
/// r = parse_route("/v2/a/blobs/b/tags/list?n=10&last=v1");
/// assert(r && r->kind == route_kind::tags && r->name == "a/blobs/b");
/// assert(r->query.n == 10u && r->query.last == "v1");
///
/// assert(parse_route("/v2/Upper/tags/list").error() == route_error::invalid_name);
/// assert(parse_route("/v3/").error() == route_error::not_found);
/// @endcode
///
/// Decisions the specification leaves open:
/// - Each path segment is percent-decoded on its own, so `%2F` never changes which
///   endpoint matches: inside the name it reads as '/' (as Go's registries decode it),
///   inside a tag, digest or upload id it makes the request invalid.
/// - `/v2` is `/v2/`; `/v2/<name>/blobs/uploads` (no slash) is `/v2/<name>/blobs/uploads/`.
///   Any other trailing slash is not an endpoint (404).
/// - Query values are percent-decoded, and '+' stays '+': no valid name, tag, digest or
///   media type contains a space, while `artifactType` values often contain '+'.
/// - A repeated query parameter: the first one counts.
///
/// See https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#endpoints

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/error.hpp>
#include <pier/core/result.hpp>
#include <pier/http/router.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

PIER_BEGIN_NAMESPACE
namespace registry {

/// The endpoints of the registry API, with the spec's ids.
enum class route_kind {
  base,      ///< `/v2/` (end-1)
  catalog,   ///< `/v2/_catalog` (Docker's extension)
  tags,      ///< `/v2/<name>/tags/list` (end-8a, end-8b)
  manifest,  ///< `/v2/<name>/manifests/<reference>` (end-3, end-7, end-9)
  blob,      ///< `/v2/<name>/blobs/<digest>` (end-2, end-10)
  uploads,   ///< `/v2/<name>/blobs/uploads/` (end-4a, end-4b, end-11)
  upload,    ///< `/v2/<name>/blobs/uploads/<id>` (end-5, end-6, end-13, cancel)
  referrers, ///< `/v2/<name>/referrers/<digest>` (end-12a, end-12b)
};

/// Why a request target is not a valid registry endpoint.
///
/// The values that concern a part of the path map to the OCI code a registry answers
/// with (`to_oci_error`); `malformed_target` and `not_found` have no OCI code: answer them
/// with `http_status(e)` (400, 404) and no OCI body.
enum class route_error {
  malformed_target = 1, ///< not an origin- or absolute-form URI (bad percent-encoding, ...): 400
  not_found,            ///< not a path of the registry API: 404
  invalid_name,         ///< a repository name (or `from`) breaks the grammar: NAME_INVALID
  invalid_tag,          ///< a manifest reference that is neither tag nor digest: MANIFEST_INVALID
  invalid_digest,       ///< a digest in the path or in `digest`/`mount`: DIGEST_INVALID
  invalid_upload_id,    ///< no upload can have this id: BLOB_UPLOAD_UNKNOWN (404)
  invalid_page_size,    ///< `n` is not a non-negative integer: PAGINATION_NUMBER_INVALID
  invalid_reference,    ///< a manifest reference with ':' that is not a digest: DIGEST_INVALID
};

/// The category of `route_error`, named "pier.registry.route".
std::error_category const& route_category() noexcept;

inline std::error_code make_error_code(route_error e) noexcept {
  return {static_cast<int>(e), route_category()};
}

/// The HTTP status of a response to a request whose target failed with `e`.
constexpr int http_status(route_error e) noexcept;

/// Whether `e` says that a manifest reference cannot name a manifest (`invalid_tag`,
/// `invalid_reference`). For GET, HEAD and DELETE that is a manifest the repository does
/// not hold: 404 MANIFEST_UNKNOWN, the one failure the spec's table gives end-3 (a PUT
/// with such a reference stays a 400).
constexpr bool is_unusable_reference(route_error e) noexcept {
  return e == route_error::invalid_tag || e == route_error::invalid_reference;
}

/// The query parameters the registry API defines, decoded and validated; the others are
/// ignored. Only those of the route's endpoint are read: `n`, `last` for tags and catalog;
/// `digest` for uploads; `mount`, `from` for the start of an upload; `artifactType` for
/// referrers.
struct route_query {
  /// `n`: how many names a page may hold (saturates at SIZE_MAX).
  std::optional<std::size_t> n;
  /// `last`: the name the previous page ended with, as given.
  std::optional<std::string> last;
  /// `digest`: the digest of a blob being uploaded (end-4b, end-6).
  std::optional<pier::digest> digest;
  /// `mount`: the blob to mount from another repository (end-11).
  std::optional<pier::digest> mount;
  /// `from`: the repository to mount from, a valid repository name.
  std::optional<std::string> from;
  /// `artifactType`: the referrers filter (end-12b); an empty value counts as absent.
  std::optional<std::string> artifact_type;
};

/// A recognised endpoint and its validated parts.
struct route {
  route_kind kind = route_kind::base;
  /// The repository; empty for `base` and `catalog`.
  std::string name;
  /// `manifest` by tag: the tag (then `digest` is empty).
  std::string tag;
  /// `blob`, `referrers`, and `manifest` by digest.
  pier::digest digest;
  /// `upload`: the upload id (a `storage::is_upload_id` string).
  std::string upload_id;
  route_query query;
};

/// Recognises the endpoint a request-target names and validates its parts.
///
/// Accepts origin-form (`/v2/...`) and absolute-form (`http://host/v2/...`) targets.
/// The endpoint is recognised from the last path segments, since repository names
/// contain '/': `.../tags/list`, `.../blobs/uploads/`, `.../blobs/uploads/<id>`,
/// `.../blobs/<digest>`, `.../manifests/<reference>`, `.../referrers/<digest>`; whatever
/// comes before, after `/v2/`, is the name. A `<reference>` containing ':' is a digest,
/// otherwise a tag.
///
/// @code
/// auto r = pier::registry::parse_route("/v2/lib/app/blobs/uploads/?mount=" +
///                                      pier::digest_of("x").str() + "&from=lib/base");
/// assert(r && r->kind == pier::registry::route_kind::uploads && r->query.from == "lib/base");
/// @endcode
///
/// See https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#endpoints
result<route> parse_route(std::string_view target);

namespace detail {

/// One endpoint of the registry API: its path pattern (http/router.hpp) and kind.
struct v2_endpoint {
  http::path_pattern pattern;
  route_kind kind;
};

/// Whether `t` is one of the v1 pings (`/_ping`, `/v1/_ping`), which registries answer for
/// clients and load balancers.
inline bool is_ping(http::target const& t) {
  return (t.segments.size() == 1 && t.segments[0] == "_ping") ||
         (t.segments.size() == 2 && t.segments[0] == "v1" && t.segments[1] == "_ping");
}

/// The registry API's endpoints, in the order they are tried: `parse_route` and the
/// router's table (`add_v2_routes`) are the same table.
std::span<v2_endpoint const> v2_endpoints();

/// The route a parsed target names (`parse_route` after the parsing).
result<route> route_in(http::target const& t);

/// The route of an endpoint of `kind` whose pattern gave `params`, with `encoded_query`
/// read and every part validated.
result<route> route_of(route_kind kind,
                       std::span<std::pair<std::string, std::string> const> params,
                       std::string_view encoded_query);

} // namespace detail

} // namespace registry
PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::registry::route_error> : std::true_type {};

#include <pier/registry/impl/routes.hpp>

#endif // PIER_REGISTRY_ROUTES_HPP
