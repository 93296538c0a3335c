// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_IMPL_ROUTES_HPP
#define PIER_REGISTRY_IMPL_ROUTES_HPP

#include <pier/core/reference.hpp>
#include <pier/storage/types.hpp>

#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

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

inline result<void> read_query(boost::urls::url_view const& u, route& r) {
  boost::urls::encoding_opts opts;
  opts.space_as_plus = false; // '+' is '+' (see routes.hpp)
  bool const paged = r.kind == route_kind::tags || r.kind == route_kind::catalog;
  bool const upload = r.kind == route_kind::uploads || r.kind == route_kind::upload;
  route_query& q = r.query;
  for (auto const& p : u.params(opts)) {
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

inline result<route> parse_route(std::string_view target) {
  if (target == "*")
    return route_error::not_found; // OPTIONS * names the server, not a resource
  boost::system::result<boost::urls::url_view> const parsed =
      target.starts_with('/') ? boost::urls::parse_origin_form(target)
                              : boost::urls::parse_absolute_uri(target);
  if (!parsed)
    return route_error::malformed_target;
  boost::urls::url_view const& u = *parsed;

  std::vector<std::string> seg;
  for (std::string s : u.segments())
    seg.push_back(std::move(s));
  if (seg.empty() || !u.is_path_absolute() || seg.front() != "v2")
    return route_error::not_found;
  seg.erase(seg.begin());

  route r;
  std::size_t const n = seg.size();
  std::size_t tail = 0; // segments after the name
  if (n == 0 || (n == 1 && seg[0].empty())) {
    r.kind = route_kind::base;
  } else if (n == 1 && seg[0] == "_catalog") {
    r.kind = route_kind::catalog;
  } else if (n >= 4 && seg[n - 3] == "blobs" && seg[n - 2] == "uploads" && seg[n - 1].empty()) {
    r.kind = route_kind::uploads;
    tail = 3;
  } else if (n >= 3 && seg[n - 2] == "blobs" && seg[n - 1] == "uploads") {
    r.kind = route_kind::uploads;
    tail = 2;
  } else if (n >= 4 && seg[n - 3] == "blobs" && seg[n - 2] == "uploads") {
    r.kind = route_kind::upload;
    tail = 3;
  } else if (n >= 3 && seg[n - 2] == "tags" && seg[n - 1] == "list") {
    r.kind = route_kind::tags;
    tail = 2;
  } else if (n >= 3 && seg[n - 2] == "blobs" && !seg[n - 1].empty()) {
    r.kind = route_kind::blob;
    tail = 2;
  } else if (n >= 3 && seg[n - 2] == "manifests" && !seg[n - 1].empty()) {
    r.kind = route_kind::manifest;
    tail = 2;
  } else if (n >= 3 && seg[n - 2] == "referrers" && !seg[n - 1].empty()) {
    r.kind = route_kind::referrers;
    tail = 2;
  } else {
    return route_error::not_found;
  }

  if (tail > 0) {
    for (std::size_t i = 0; i + tail < n; ++i) {
      if (i > 0)
        r.name += '/';
      r.name += seg[i];
    }
    if (!validate_repository_name(r.name))
      return route_error::invalid_name;
    std::string const& last = seg[n - 1];
    switch (r.kind) {
    case route_kind::blob:
    case route_kind::referrers: {
      result<pier::digest> d = parse_digest(last);
      if (!d)
        return route_error::invalid_digest;
      r.digest = std::move(*d);
      break;
    }
    case route_kind::manifest:
      if (last.find(':') != std::string::npos) {
        result<pier::digest> d = parse_digest(last);
        if (!d)
          return route_error::invalid_reference;
        r.digest = std::move(*d);
      } else {
        if (!validate_tag(last))
          return route_error::invalid_tag;
        r.tag = last;
      }
      break;
    case route_kind::upload:
      if (!storage::is_upload_id(last))
        return route_error::invalid_upload_id;
      r.upload_id = last;
      break;
    default: break;
    }
  }

  if (result<void> q = detail::read_query(u, r); !q)
    return q.error();
  return r;
}

} // namespace registry
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_IMPL_ROUTES_HPP
