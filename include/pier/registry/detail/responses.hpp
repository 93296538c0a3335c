// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_DETAIL_RESPONSES_HPP
#define PIER_REGISTRY_DETAIL_RESPONSES_HPP

// The responses of the v2 API that do not depend on the store types: error bodies,
// Location and Range values, JSON lists. Kept out of the class template so they are
// compiled once.

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/error.hpp>
#include <pier/core/error_body.hpp>
#include <pier/core/media_type.hpp>
#include <pier/http/parser.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>
#include <pier/registry/detail/cursor.hpp>
#include <pier/registry/routes.hpp>
#include <pier/storage/error.hpp>
#include <pier/storage/types.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace registry::detail {

inline constexpr std::string_view octet_stream = "application/octet-stream";

/// An OCI error response: `{"errors":[…]}` with the code's status unless `status` says
/// otherwise.
inline http::response error(oci_error code, std::string_view message = {},
                            boost::json::value detail = nullptr, int status = 0) {
  return http::response::json(status != 0 ? status : http_status(code),
                              error_body(code, message, std::move(detail)));
}

/// The same for several errors at once, all with the first one's status.
inline http::response errors(std::span<error_entry const> entries) {
  int const status = entries.empty() ? 500 : http_status(entries.front().code);
  return http::response::json(status, error_body(entries));
}

/// 429 (or `status`) TOOMANYREQUESTS with `Retry-After`: come back later.
inline http::response too_many(std::string_view message, int status = 429,
                               std::chrono::seconds retry_after = std::chrono::seconds(10)) {
  http::response r = error(oci_error::too_many_requests, message, nullptr, status);
  r.headers().set("Retry-After", std::to_string(retry_after.count()));
  return r;
}

/// The response for an error from a store or the core: its OCI code and status, the
/// error's own message. Errors that are not the client's fault are 500 UNKNOWN, except a
/// full disk (`storage::is_out_of_space`): 507 Insufficient Storage with an UNAVAILABLE
/// body, which the spec's codes come closest to; and a process out of file descriptors:
/// 503 with `Retry-After`, which clients retry.
inline bool out_of_descriptors(std::error_code ec) noexcept {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system;
}

inline http::response error(std::error_code ec) {
  if (out_of_descriptors(ec))
    return too_many("the registry is out of file descriptors: " + ec.message(), 503);
  if (!storage::is_out_of_space(ec))
    return error(to_oci_error(ec), ec.message());
  std::string message = ec.message();
  if (ec.category() != storage::storage_category()) // ENOSPC from the system
    message = "no space left on the registry's data filesystem: " + message;
  return error(oci_error::unavailable, message, nullptr, 507);
}

/// A target that `parse_route` refused, for a request with `method`.
inline http::response route_failure(std::error_code ec, std::string_view target,
                                    std::string_view method) {
  auto const e = static_cast<route_error>(ec.value());
  if (e == route_error::not_found || e == route_error::malformed_target)
    return http::response::text(http_status(e), ec.message() + "\n");
  boost::json::object detail;
  detail["target"] = target;
  if (is_unusable_reference(e) && (method == "GET" || method == "HEAD" || method == "DELETE"))
    return error(oci_error::manifest_unknown, "manifest unknown: " + ec.message(),
                 std::move(detail));
  return error(to_oci_error(ec), ec.message(), std::move(detail), http_status(e));
}

/// A request body that could not be read: the body error's status (408 stalled, 400
/// closed, 413 too large, ...), with `code` as the OCI code.
inline http::response body_failure(std::error_code ec, oci_error code) {
  int status = 400;
  if (ec.category() == http::body_category())
    status = http::http_status(static_cast<http::body_error>(ec.value()));
  else if (ec.category() == http::parse_category())
    status = http::http_status(static_cast<http::parse_error>(ec.value()));
  return error(code, ec.message(), nullptr, status);
}

inline bool is_body_error(std::error_code ec) noexcept {
  return ec.category() == http::body_category() || ec.category() == http::parse_category();
}

inline http::response method_not_allowed(std::string_view allow) {
  http::response r = error(oci_error::unsupported, "method not allowed on this endpoint");
  r.headers().set("Allow", std::string(allow));
  return r;
}

inline std::string blob_location(std::string_view name, digest_view d) {
  std::string s = "/v2/";
  s.append(name).append("/blobs/").append(d.str());
  return s;
}

inline std::string manifest_location(std::string_view name, digest_view d) {
  std::string s = "/v2/";
  s.append(name).append("/manifests/").append(d.str());
  return s;
}

inline std::string upload_location(std::string_view name, std::string_view id) {
  std::string s = "/v2/";
  s.append(name).append("/blobs/uploads/").append(id);
  return s;
}

/// `0-<last byte>`; `0-0` for an empty upload, as Distribution sends (see v2.hpp).
inline std::string upload_range(std::uint64_t size) {
  return "0-" + std::to_string(size == 0 ? 0 : size - 1);
}

/// The headers of every response about an upload in progress: where to continue, how
/// much is there, and the session id.
inline http::response upload_response(int status, std::string_view name, std::string_view id,
                                      std::uint64_t size) {
  http::response r(status);
  r.headers().set("Location", upload_location(name, id));
  r.headers().set("Range", upload_range(size));
  r.headers().set("Docker-Upload-UUID", std::string(id));
  return r;
}

/// 416 for a chunk that does not start where the upload ends, with what the upload holds.
inline http::response chunk_out_of_order(std::string_view name, std::string_view id,
                                         std::uint64_t size) {
  http::response r = error(oci_error::range_invalid,
                           "chunk must start at byte " + std::to_string(size) + " of the upload");
  r.headers().set("Location", upload_location(name, id));
  r.headers().set("Range", upload_range(size));
  r.headers().set("Docker-Upload-UUID", std::string(id));
  return r;
}

/// 201 for a blob now in the repository.
inline http::response blob_created(std::string_view name, digest_view d) {
  http::response r(201);
  r.headers().set("Location", blob_location(name, d));
  r.headers().set("Docker-Content-Digest", std::string(d.str()));
  return r;
}

/// Percent-encodes what is not unreserved (RFC 3986), for a query value: `ctr/tiny` is
/// `ctr%2Ftiny`, as the reference registry writes its `Link` values (url.Values.Encode).
inline std::string query_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    bool const plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out += c;
    } else {
      auto const b = static_cast<unsigned char>(c);
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 0x0f];
    }
  }
  return out;
}

/// A page of tags or repositories: `{"<key_name>":…,"<list_key>":[…]}` with a
/// `Link: <path?n=&last=>; rel="next"` when more follow. A filtered listing that stopped
/// on a name the caller may not see gives it sealed (cursor.hpp) as `sealed_next`: the Link
/// carries that, even after an empty page.
inline http::response name_list(std::string_view path, boost::json::object body,
                                std::string_view list_key, storage::name_page const& page,
                                std::size_t page_size, std::string_view sealed_next = {}) {
  boost::json::array list;
  list.reserve(page.names.size());
  for (std::string const& n : page.names)
    list.emplace_back(n);
  body[list_key] = std::move(list);
  http::response r = http::response::json(200, boost::json::serialize(body));
  if (page.more && page_size > 0 && (!page.names.empty() || !sealed_next.empty())) {
    std::string link = "<";
    link.append(path)
        .append("?n=")
        .append(std::to_string(page_size))
        .append("&last=")
        .append(query_encode(sealed_next.empty() ? page.names.back() : sealed_next))
        .append(">; rel=\"next\"");
    r.headers().set("Link", std::move(link));
  }
  return r;
}

/// The referrers response: an OCI image index of descriptors (end-12).
inline http::response referrers_index(std::vector<storage::referrer> const& list, bool filtered) {
  boost::json::array manifests;
  manifests.reserve(list.size());
  for (storage::referrer const& ref : list) {
    boost::json::object d;
    d["mediaType"] = ref.media_type;
    d["digest"] = ref.digest.str();
    d["size"] = ref.size;
    if (!ref.artifact_type.empty())
      d["artifactType"] = ref.artifact_type;
    if (!ref.annotations.empty()) {
      boost::json::object a;
      for (auto const& [k, v] : ref.annotations)
        a[k] = v;
      d["annotations"] = std::move(a);
    }
    manifests.emplace_back(std::move(d));
  }
  boost::json::object index;
  index["schemaVersion"] = 2;
  index["mediaType"] = media_types::oci_index;
  index["manifests"] = std::move(manifests);
  http::response r =
      http::response::text(200, boost::json::serialize(index), media_types::oci_index);
  if (filtered)
    r.headers().set("OCI-Filters-Applied", "artifactType");
  return r;
}

/// All values of the list-valued field `field`, joined as RFC 9110 §5.3 allows.
inline std::string values_of(http::fields const& headers, std::string_view field) {
  std::string out;
  for (auto const& [name, value] : headers) {
    if (!http::iequals(name, field))
      continue;
    if (!out.empty())
      out += ", ";
    out += value;
  }
  return out;
}

/// All values of `Accept`.
inline std::string accept_of(http::fields const& headers) { return values_of(headers, "Accept"); }

/// The entity tag of a manifest: its digest in quotes, as the reference registry sends it.
/// Strong: the digest names the exact bytes.
inline std::string manifest_etag(digest_view d) {
  std::string tag = "\"";
  tag.append(d.str()).append("\"");
  return tag;
}

/// Whether an `If-None-Match` value (`*` or a list of entity tags) matches `etag` by the
/// weak comparison RFC 9110 §13.1.2 prescribes for it: `W/` prefixes do not count. Reading
/// stops at the first malformed member; what came before it still counts.
inline bool none_match_lists(std::string_view list, std::string_view etag) {
  std::size_t i = 0;
  auto const skip = [&] {
    while (i < list.size() && (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
      ++i;
  };
  for (skip(); i < list.size(); skip()) {
    if (list[i] == '*')
      return true; // the manifest exists
    if (list.substr(i, 2) == "W/")
      i += 2;
    if (i >= list.size() || list[i] != '"')
      return false;
    std::size_t const close = list.find('"', i + 1);
    if (close == std::string_view::npos)
      return false;
    if (list.substr(i, close + 1 - i) == etag)
      return true;
    i = close + 1;
  }
  return false;
}

inline bool is_blank(std::string_view s) noexcept {
  return s.find_first_not_of(" \t,") == std::string_view::npos;
}

} // namespace registry::detail
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_DETAIL_RESPONSES_HPP
