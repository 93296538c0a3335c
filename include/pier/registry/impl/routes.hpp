// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_IMPL_ROUTES_HPP
#define PIER_REGISTRY_IMPL_ROUTES_HPP

#include <pier/core/reference.hpp>
#include <pier/storage/types.hpp>

#include <boost/url/encoding_opts.hpp>
#include <boost/url/params_view.hpp>

#include <cstdint>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace registry {
namespace detail {

class route_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.registry.route"; }
  std::string message(int ev) const override {
    switch (static_cast<route_error>(ev)) {
    case route_error::malformed_target: return "malformed request target";
    case route_error::not_found: return "not a registry API endpoint";
    case route_error::invalid_name: return "invalid repository name";
    case route_error::invalid_tag: return "invalid tag";
    case route_error::invalid_digest: return "invalid digest";
    case route_error::invalid_upload_id: return "blob upload unknown to registry";
    case route_error::invalid_page_size: return "invalid number of results requested";
    case route_error::invalid_reference: return "invalid digest";
    }
    return "unknown route error";
  }
  std::error_condition default_error_condition(int ev) const noexcept override {
    oci_error code = oci_error::unknown;
    switch (static_cast<route_error>(ev)) {
    case route_error::invalid_name: code = oci_error::name_invalid; break;
    case route_error::invalid_tag: code = oci_error::manifest_invalid; break;
    case route_error::invalid_digest:
    case route_error::invalid_reference: code = oci_error::digest_invalid; break;
    case route_error::invalid_upload_id: code = oci_error::blob_upload_unknown; break;
    case route_error::invalid_page_size: code = oci_error::pagination_number_invalid; break;
    case route_error::malformed_target:
    case route_error::not_found: return {ev, *this}; // no OCI code
    }
    return {static_cast<int>(code), oci_category()};
  }
};

// `n`: digits only; a value past SIZE_MAX saturates (it only asks for "everything").
inline std::optional<std::size_t> parse_page_size(std::string_view s) noexcept {
  if (s.empty())
    return std::nullopt;
  std::size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    auto const d = static_cast<std::size_t>(c - '0');
    v = v > (SIZE_MAX - d) / 10 ? SIZE_MAX : v * 10 + d;
  }
  return v;
}

inline result<void> read_query(std::string_view encoded_query, route& r) {
  boost::urls::encoding_opts opts;
  opts.space_as_plus = false; // '+' is '+' (see routes.hpp)
  bool const paged = r.kind == route_kind::tags || r.kind == route_kind::catalog;
  bool const upload = r.kind == route_kind::uploads || r.kind == route_kind::upload;
  route_query& q = r.query;
  // Valid: it comes from a target that parsed.
  for (auto const& p : boost::urls::params_view(encoded_query, opts)) {
    std::string const& key = p.key;
    std::string const& value = p.value;
    if (paged && key == "n" && !q.n) {
      q.n = parse_page_size(value);
      if (!q.n)
        return route_error::invalid_page_size;
    } else if (paged && key == "last" && !q.last) {
      q.last = value;
    } else if (upload && key == "digest" && !q.digest) {
      result<pier::digest> d = parse_digest(value);
      if (!d)
        return route_error::invalid_digest;
      q.digest = std::move(*d);
    } else if (r.kind == route_kind::uploads && key == "mount" && !q.mount) {
      result<pier::digest> d = parse_digest(value);
      if (!d)
        return route_error::invalid_digest;
      q.mount = std::move(*d);
    } else if (r.kind == route_kind::uploads && key == "from" && !q.from) {
      if (!validate_repository_name(value))
        return route_error::invalid_name;
      q.from = value;
    } else if (r.kind == route_kind::referrers && key == "artifactType" && !q.artifact_type) {
      if (!value.empty())
        q.artifact_type = value;
    }
  }
  return {};
}

} // namespace detail

constexpr int http_status(route_error e) noexcept {
  switch (e) {
  case route_error::not_found:
  case route_error::invalid_upload_id: return 404;
  case route_error::malformed_target:
  case route_error::invalid_name:
  case route_error::invalid_tag:
  case route_error::invalid_digest:
  case route_error::invalid_page_size:
  case route_error::invalid_reference: break;
  }
  return 400;
}

inline std::error_category const& route_category() noexcept {
  static detail::route_category_impl const instance;
  return instance;
}

namespace detail {

inline std::span<v2_endpoint const> v2_endpoints() {
  // The order decides where two patterns match one path: `blobs/uploads` is the start of
  // an upload, not a blob whose digest is "uploads".
  static v2_endpoint const table[] = {
      {http::path_pattern("/v2"), route_kind::base},
      {http::path_pattern("/v2/"), route_kind::base},
      {http::path_pattern("/v2/_catalog"), route_kind::catalog},
      {http::path_pattern("/v2/{name*}/blobs/uploads/"), route_kind::uploads},
      {http::path_pattern("/v2/{name*}/blobs/uploads"), route_kind::uploads},
      {http::path_pattern("/v2/{name*}/blobs/uploads/{id}"), route_kind::upload},
      {http::path_pattern("/v2/{name*}/tags/list"), route_kind::tags},
      {http::path_pattern("/v2/{name*}/blobs/{digest}"), route_kind::blob},
      {http::path_pattern("/v2/{name*}/manifests/{reference}"), route_kind::manifest},
      {http::path_pattern("/v2/{name*}/referrers/{digest}"), route_kind::referrers},
  };
  return table;
}

inline result<route> route_of(route_kind kind,
                              std::span<std::pair<std::string, std::string> const> params,
                              std::string_view encoded_query) {
  auto param = [&](std::string_view key) -> std::string const* {
    for (auto const& [k, v] : params)
      if (k == key)
        return &v;
    return nullptr;
  };
  route r;
  r.kind = kind;
  if (std::string const* name = param("name")) {
    if (!validate_repository_name(*name))
      return route_error::invalid_name;
    r.name = *name;
  }
  switch (kind) {
  case route_kind::blob:
  case route_kind::referrers: {
    result<pier::digest> d = parse_digest(*param("digest"));
    if (!d)
      return route_error::invalid_digest;
    r.digest = std::move(*d);
    break;
  }
  case route_kind::manifest: {
    std::string const& reference = *param("reference");
    if (reference.find(':') != std::string::npos) {
      result<pier::digest> d = parse_digest(reference);
      if (!d)
        return route_error::invalid_reference;
      r.digest = std::move(*d);
    } else {
      if (!validate_tag(reference))
        return route_error::invalid_tag;
      r.tag = reference;
    }
    break;
  }
  case route_kind::upload: {
    std::string const& id = *param("id");
    if (!storage::is_upload_id(id))
      return route_error::invalid_upload_id;
    r.upload_id = id;
    break;
  }
  default: break;
  }
  if (result<void> q = read_query(encoded_query, r); !q)
    return q.error();
  return r;
}

} // namespace detail

namespace detail {

inline result<route> route_in(http::target const& t) {
  if (t.segments.empty() || t.segments.front() != "v2")
    return route_error::not_found;
  for (v2_endpoint const& e : v2_endpoints()) {
    if (auto params = e.pattern.match(t.segments))
      return route_of(e.kind, *params, t.query);
  }
  return route_error::not_found;
}

} // namespace detail

inline result<route> parse_route(std::string_view target) {
  std::optional<http::target> const t = http::parse_target(target);
  if (!t)
    return target == "*" ? route_error::not_found : route_error::malformed_target;
  return detail::route_in(*t);
}

} // namespace registry
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_IMPL_ROUTES_HPP
