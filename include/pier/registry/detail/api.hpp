// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_DETAIL_API_HPP
#define PIER_REGISTRY_DETAIL_API_HPP

// What `namespace_api` needs that does not depend on the store type: its routes, the JSON
// of a tag, RFC 3339 times, pages with a `Link` that continues where reading stopped.

#include <pier/config.hpp>
#include <pier/core/error.hpp>
#include <pier/core/reference.hpp>
#include <pier/http/response.hpp>
#include <pier/registry/detail/responses.hpp>
#include <pier/registry/routes.hpp>
#include <pier/storage/types.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <chrono>
#include <cstddef>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace registry::detail::api {

enum class ns_route_kind {
  namespaces,   // /api/v1/namespaces
  repositories, // /api/v1/namespaces/{ns}/repositories
  tags,         // /api/v1/namespaces/{ns}/tags
  search,       // /api/v1/search
};

struct ns_route {
  ns_route_kind kind = ns_route_kind::namespaces;
  std::string ns;
  std::optional<std::size_t> n;
  std::string last;
  std::string q;
};

// Not ours at all (404, `handles` is false), or ours with a part that is invalid (400), or
// ours but no route (404).
enum class ns_target_error { not_ours = 1, invalid_name, invalid_page_size, no_route };

using parsed_target = std::variant<ns_route, ns_target_error>;

// A namespace is one valid repository path component.
inline bool valid_namespace(std::string_view ns) noexcept {
  return !ns.empty() && ns.find('/') == std::string_view::npos &&
         validate_repository_name(ns).has_value();
}

inline parsed_target parse_target(std::string_view target) {
  boost::system::result<boost::urls::url_view> const parsed =
      target.starts_with('/') ? boost::urls::parse_origin_form(target)
                              : boost::urls::parse_absolute_uri(target);
  if (!parsed || !parsed->is_path_absolute())
    return ns_target_error::not_ours;
  std::vector<std::string> seg;
  for (std::string s : parsed->segments())
    seg.push_back(std::move(s));
  if (seg.size() < 3 || seg[0] != "api" || seg[1] != "v1" ||
      (seg[2] != "namespaces" && seg[2] != "search"))
    return ns_target_error::not_ours;
  ns_route r;
  if (seg[2] == "search") {
    if (seg.size() != 3)
      return ns_target_error::no_route;
    r.kind = ns_route_kind::search;
  } else if (seg.size() == 3) {
    r.kind = ns_route_kind::namespaces;
  } else {
    // The name first: `/api/v1/namespaces/../x` is an invalid name, not an unknown route.
    if (!valid_namespace(seg[3]))
      return ns_target_error::invalid_name;
    if (seg.size() != 5 || (seg[4] != "repositories" && seg[4] != "tags"))
      return ns_target_error::no_route;
    r.kind = seg[4] == "tags" ? ns_route_kind::tags : ns_route_kind::repositories;
    r.ns = std::move(seg[3]);
  }
  boost::urls::encoding_opts opts;
  opts.space_as_plus = false; // as the registry's catalog reads `last`
  bool last_seen = false;
  bool q_seen = false;
  for (auto const& p : parsed->params(opts)) {
    if (p.key == "n" && !r.n) {
      r.n = parse_page_size(p.value);
      if (!r.n)
        return ns_target_error::invalid_page_size;
    } else if (p.key == "last" && !last_seen) {
      r.last = p.value;
      last_seen = true;
    } else if (p.key == "q" && !q_seen && r.kind == ns_route_kind::search) {
      r.q = p.value;
      q_seen = true;
    }
  }
  return r;
}

inline http::response target_failure(ns_target_error e) {
  switch (e) {
  case ns_target_error::invalid_name: return error(oci_error::name_invalid, "invalid namespace");
  case ns_target_error::invalid_page_size:
    return error(oci_error::pagination_number_invalid, "invalid number of results requested");
  case ns_target_error::not_ours:
  case ns_target_error::no_route: break;
  }
  boost::json::object entry;
  entry["code"] = "NOT_FOUND";
  entry["message"] = "no such endpoint in /api/v1";
  entry["detail"] = nullptr;
  return http::response::json(404, boost::json::serialize(boost::json::object{
                                       {"errors", boost::json::array{std::move(entry)}}}));
}

// RFC 3339 in UTC to the second ("2026-11-22T16:25:00Z"); times before the epoch too.
inline std::string rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t const secs =
      std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::size_t const n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

inline boost::json::object tag_json(storage::tag_entry const& e) {
  return {{"repository", e.repository}, {"tag", e.tag},   {"digest", e.digest.str()},
          {"mediaType", e.media_type},  {"size", e.size}, {"pushed", rfc3339(e.pushed)}};
}

inline boost::json::value item_json(std::string const& name) { return boost::json::value(name); }
inline boost::json::value item_json(storage::tag_entry const& e) { return tag_json(e); }

// Where a listing of names or tags continues after `item`.
inline std::string position_of(std::string const& name) { return name; }
inline std::string position_of(storage::tag_entry const& e) { return e.repository + ':' + e.tag; }

// A page as the API answers it: the items kept, and where the next page starts when more
// may follow (the last item read, kept or not).
template <class T>
struct listing {
  std::vector<T> items;
  bool more = false;
  std::string next;
};

// The store's pages as pages of `T`.
inline storage::page<std::string> as_page(storage::name_page p) {
  return {std::move(p.names), p.more};
}
inline storage::page<storage::tag_entry> as_page(storage::page<storage::tag_entry> p) { return p; }

// `{…body, "<list_key>":[…]}` with `Link: <path?[query&]n=N&last=X>; rel="next"` when more
// may follow.
template <class T>
http::response listing_response(std::string_view path, std::string_view query,
                                boost::json::object body, std::string_view list_key,
                                listing<T> const& l, std::size_t page_size) {
  boost::json::array list;
  list.reserve(l.items.size());
  for (T const& item : l.items)
    list.push_back(item_json(item));
  body[list_key] = std::move(list);
  http::response r = http::response::json(200, boost::json::serialize(body));
  if (l.more && page_size > 0) {
    std::string link = "<";
    link.append(path).append("?");
    if (!query.empty())
      link.append(query).append("&");
    link.append("n=")
        .append(std::to_string(page_size))
        .append("&last=")
        .append(query_encode(l.next))
        .append(">; rel=\"next\"");
    r.headers().set("Link", std::move(link));
  }
  return r;
}

} // namespace registry::detail::api
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_DETAIL_API_HPP
