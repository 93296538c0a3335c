// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_DETAIL_API_HPP
#define PIER_REGISTRY_DETAIL_API_HPP

// What `namespace_api` needs that does not depend on the store type: its routes, the JSON
// of a tag, RFC 3339 times, pages with a `Link` that continues where reading stopped.

#include <pier/core/detail/rfc3339.hpp>
#include <pier/config.hpp>
#include <pier/core/error.hpp>
#include <pier/core/reference.hpp>
#include <pier/http/response.hpp>
#include <pier/registry/detail/cursor.hpp>
#include <pier/registry/detail/responses.hpp>
#include <pier/registry/routes.hpp>
#include <pier/storage/types.hpp>
#include <pier/storage/usage.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
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
  usage,        // /api/v1/namespaces/{ns}/usage
  quota,        // /api/v1/namespaces/{ns}/quota
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
enum class ns_target_error {
  not_ours = 1,
  invalid_name,
  invalid_page_size,
  no_route,
  invalid_cursor
};

using parsed_target = std::variant<ns_route, ns_target_error>;

// A namespace is one valid repository path component.
inline bool valid_namespace(std::string_view ns) noexcept {
  return !ns.empty() && ns.find('/') == std::string_view::npos &&
         validate_repository_name(ns).has_value();
}

// The path of the listing `r` names: where its `Link` points, and what its sealed cursors
// are bound to.
inline std::string listing_path(ns_route const& r) {
  switch (r.kind) {
  case ns_route_kind::namespaces: return "/api/v1/namespaces";
  case ns_route_kind::search: return "/api/v1/search";
  case ns_route_kind::repositories: return "/api/v1/namespaces/" + r.ns + "/repositories";
  case ns_route_kind::tags: return "/api/v1/namespaces/" + r.ns + "/tags";
  case ns_route_kind::usage: return "/api/v1/namespaces/" + r.ns + "/usage";
  case ns_route_kind::quota: return "/api/v1/namespaces/" + r.ns + "/quota";
  }
  return {};
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
    if (seg.size() != 5)
      return ns_target_error::no_route;
    if (seg[4] == "tags")
      r.kind = ns_route_kind::tags;
    else if (seg[4] == "repositories")
      r.kind = ns_route_kind::repositories;
    else if (seg[4] == "usage")
      r.kind = ns_route_kind::usage;
    else if (seg[4] == "quota")
      r.kind = ns_route_kind::quota;
    else
      return ns_target_error::no_route;
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

// Replaces a sealed `last` of `r` by the position it holds; false when `key` did not seal
// it for this listing.
inline bool open_cursor(ns_route& r, cursor_key const& key) {
  if (!cursor::is_sealed(r.last))
    return true;
  std::optional<std::string> position = cursor::open(r.last, listing_path(r), key);
  if (!position)
    return false;
  r.last = std::move(*position);
  return true;
}

inline http::response target_failure(ns_target_error e) {
  switch (e) {
  case ns_target_error::invalid_name: return error(oci_error::name_invalid, "invalid namespace");
  case ns_target_error::invalid_page_size:
    return error(oci_error::pagination_number_invalid, "invalid number of results requested");
  case ns_target_error::invalid_cursor:
    return error(oci_error::unsupported, cursor::invalid_message, nullptr, 400);
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

inline boost::json::object tag_json(storage::tag_entry const& e) {
  return {{"repository", e.repository}, {"tag", e.tag},   {"digest", e.digest.str()},
          {"mediaType", e.media_type},  {"size", e.size}, {"pushed", ::pier::detail::rfc3339::format(e.pushed)}};
}

inline boost::json::value item_json(std::string const& name) { return boost::json::value(name); }
inline boost::json::value item_json(storage::tag_entry const& e) { return tag_json(e); }
inline boost::json::value item_json(storage::repository_usage const& u) {
  return boost::json::object{{"name", u.name},
                             {"unique_bytes", u.usage.unique_bytes},
                             {"shared_bytes", u.usage.shared_bytes}};
}

// Where a listing of names or tags continues after `item`.
inline std::string position_of(std::string const& name) { return name; }
inline std::string position_of(storage::tag_entry const& e) { return e.repository + ':' + e.tag; }
inline std::string position_of(storage::repository_usage const& u) { return u.name; }

// A page as the API answers it: the items kept, and where the next page starts when more
// may follow (the last item read, kept or not). A `next` that the caller may not see is
// `sealed`: the `Link` carries it as an opaque cursor.
template <class T>
struct listing {
  std::vector<T> items;
  bool more = false;
  std::string next;
  bool sealed = false;
};

// The store's pages as pages of `T`.
inline storage::page<std::string> as_page(storage::name_page p) {
  return {std::move(p.names), p.more};
}
inline storage::page<storage::tag_entry> as_page(storage::page<storage::tag_entry> p) { return p; }

// `{…body, "<list_key>":[…]}` with `Link: <path?[query&]n=N&last=X>; rel="next"` when more
// may follow; X is sealed (see cursor.hpp) when the listing says so.
template <class T>
http::response listing_response(std::string_view path, std::string_view query,
                                boost::json::object body, std::string_view list_key,
                                listing<T> const& l, std::size_t page_size, cursor_key const& key) {
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
        .append(query_encode(l.sealed ? cursor::seal(l.next, path, key) : l.next))
        .append(">; rel=\"next\"");
    r.headers().set("Link", std::move(link));
  }
  return r;
}

// The body of `PUT …/quota`: `{"bytes": N}` (N a non-negative integer) or `{"bytes": null}`
// (no quota); the 400 that refuses anything else (a misspelt member included, so that a
// typo never removes a quota).
inline std::variant<std::optional<std::uint64_t>, http::response>
parse_quota_body(std::string_view text) {
  auto const refuse = [] {
    return error(oci_error::unsupported,
                 R"(the body must be {"bytes": N} with N a non-negative integer, or null)", nullptr,
                 400);
  };
  boost::system::error_code ec;
  boost::json::value const v = boost::json::parse(text, ec);
  if (ec || !v.is_object() || v.as_object().size() != 1)
    return refuse();
  boost::json::value const* bytes = v.as_object().if_contains("bytes");
  if (bytes == nullptr)
    return refuse();
  if (bytes->is_null())
    return std::optional<std::uint64_t>();
  if (bytes->is_uint64())
    return std::optional<std::uint64_t>(bytes->as_uint64());
  if (bytes->is_int64() && bytes->as_int64() >= 0)
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(bytes->as_int64()));
  return refuse();
}

// `{"namespace","unique_bytes","shared_bytes","unreferenced_bytes","quota":N|null,
// "repositories":[…]}` with a
// `Link` to the next page of repositories.
inline http::response usage_response(std::string const& ns, storage::namespace_usage u,
                                     std::size_t page_size) {
  listing<storage::repository_usage> l;
  l.more = u.repositories.more;
  if (!u.repositories.items.empty())
    l.next = u.repositories.items.back().name;
  l.items = std::move(u.repositories.items);
  boost::json::object body{{"namespace", ns},
                           {"unique_bytes", u.usage.unique_bytes},
                           {"shared_bytes", u.usage.shared_bytes},
                           {"unreferenced_bytes", u.usage.unreferenced_bytes}};
  if (u.quota)
    body["quota"] = *u.quota;
  else
    body["quota"] = nullptr;
  // Nothing to seal: only callers who see the whole namespace get here.
  return listing_response("/api/v1/namespaces/" + ns + "/usage", "", std::move(body),
                          "repositories", l, page_size, cursor_key{});
}

} // namespace registry::detail::api
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_DETAIL_API_HPP
