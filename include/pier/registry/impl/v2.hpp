// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_IMPL_V2_HPP
#define PIER_REGISTRY_IMPL_V2_HPP

#include <pier/registry/detail/responses.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace registry {

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::ping(http::request const& req) const {
  // The v1 pings, which clients and load balancers use to see that a registry is up:
  // always 200, never authenticated.
  bool const read = req.method() == "GET" || req.method() == "HEAD";
  http::response res = read ? http::response::json(200, "true")
                            : detail::error(oci_error::unsupported, "the ping is GET or HEAD");
  res.headers().set("X-Docker-Registry-Standalone", "true");
  co_return res;
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::handle(http::request& req) const {
  // Routed: the router's prepare step parsed the route (add_v2_routes).
  if (http::context const* ctx = req.route_context()) {
    if (route const* routed = std::any_cast<route>(&ctx->data()))
      co_return co_await dispatch(req, *routed);
  }
  std::optional<http::target> const t = http::parse_target(req.target());
  if (t && detail::is_ping(*t))
    co_return co_await ping(req);
  // The frame owns the route: the handlers below may keep references to it.
  result<route> r = t ? detail::route_in(*t) : parse_route(req.target()); // its error
  http::response res;
  if (!r)
    res = detail::route_failure(r.error(), req.target(), req.method());
  else
    res = co_await dispatch(req, *r);
  res.headers().set("Docker-Distribution-API-Version", "registry/2.0");
  co_return res;
}

namespace detail {

// The methods of an endpoint of `kind` and the access each needs, as Distribution maps
// methods to actions; a method the registry refuses (405) needs an authenticated caller.
inline std::vector<http::method_route> v2_methods(route_kind kind, http::route_handler const& h) {
  using http::access_need;
  std::vector<http::method_route> m;
  auto add = [&](std::initializer_list<char const*> methods, access_need need) {
    for (char const* x : methods)
      m.push_back({x, need, h});
  };
  switch (kind) {
  case route_kind::base: break;
  case route_kind::catalog: add({"GET", "HEAD"}, access_need::catalog); break;
  case route_kind::tags:
  case route_kind::referrers: add({"GET", "HEAD"}, access_need::pull); break;
  case route_kind::manifest:
    add({"GET", "HEAD"}, access_need::pull);
    add({"PUT"}, access_need::push);
    add({"DELETE"}, access_need::remove);
    break;
  case route_kind::blob:
    add({"GET", "HEAD"}, access_need::pull);
    add({"DELETE"}, access_need::remove);
    break;
  case route_kind::uploads:
  case route_kind::upload: add({"*"}, access_need::push); return m;
  }
  add({"*"}, access_need::authenticated);
  return m;
}

} // namespace detail

inline void add_v2_routes(http::router& r, http::route_handler h) {
  std::vector<std::pair<std::string, std::string>> const version{
      {"Docker-Distribution-API-Version", "registry/2.0"}};
  for (char const* ping : {"/_ping", "/v1/_ping"})
    r.add(ping, {{"*", http::access_need::open, h}});
  for (detail::v2_endpoint const& e : detail::v2_endpoints()) {
    http::endpoint ep{e.pattern, detail::v2_methods(e.kind, h)};
    ep.headers = version;
    ep.prepare = [kind = e.kind](http::context& c) -> std::optional<http::response> {
      result<route> parsed = detail::route_of(kind, c.params(), c.target().query);
      if (!parsed)
        return detail::route_failure(parsed.error(), c.request().target(), c.request().method());
      c.data() = std::move(*parsed);
      return std::nullopt;
    };
    r.add(std::move(ep));
  }
  // Any other path under /v2: not an endpoint, whoever asks.
  http::endpoint rest{http::path_pattern("/v2/{path*}"),
                      {{"*", http::access_need::open,
                        [](http::context& c) -> asio::awaitable<http::response> {
                          co_return detail::route_failure(route_error::not_found,
                                                          c.request().target(),
                                                          c.request().method());
                        }}}};
  rest.headers = version;
  r.add(std::move(rest));
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::dispatch(http::request& req,
                                                            route const& r) const {
  std::string_view const method = req.method();
  bool const read = method == "GET" || method == "HEAD";
  bool const del = method == "DELETE";
  if (del && !options_.allow_delete &&
      (r.kind == route_kind::manifest || r.kind == route_kind::blob))
    co_return detail::error(oci_error::unsupported, "deletion is disabled on this registry");

  switch (r.kind) {
  case route_kind::base:
    if (read)
      co_return http::response::json(200, "{}");
    co_return detail::method_not_allowed("GET, HEAD");
  case route_kind::catalog:
    if (read)
      co_return co_await catalog(req, r);
    co_return detail::method_not_allowed("GET, HEAD");
  case route_kind::tags:
    if (read)
      co_return co_await list_tags(r);
    co_return detail::method_not_allowed("GET, HEAD");
  case route_kind::referrers:
    if (read)
      co_return co_await referrers(r);
    co_return detail::method_not_allowed("GET, HEAD");
  case route_kind::manifest:
    if (read)
      co_return co_await get_manifest(req, r);
    if (method == "PUT")
      co_return co_await put_manifest(req, r);
    if (del)
      co_return co_await delete_manifest(r);
    co_return detail::method_not_allowed("GET, HEAD, PUT, DELETE");
  case route_kind::blob:
    if (read)
      co_return co_await get_blob(req, r);
    if (del)
      co_return co_await delete_blob(r);
    co_return detail::method_not_allowed("GET, HEAD, DELETE");
  case route_kind::uploads:
    if (method == "POST")
      co_return co_await start_upload(req, r);
    co_return detail::method_not_allowed("POST");
  case route_kind::upload:
    if (read)
      co_return co_await upload_status(r);
    if (method == "PATCH")
      co_return co_await patch_upload(req, r);
    if (method == "PUT")
      co_return co_await finish_upload(req, r);
    if (del)
      co_return co_await cancel_upload(r);
    co_return detail::method_not_allowed("GET, HEAD, PATCH, PUT, DELETE");
  }
  co_return detail::error(oci_error::unknown);
}

// --- blobs -------------------------------------------------------------------------------

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::get_blob(http::request& req,
                                                            route const& r) const {
  // The touch first, as for a mount: a sweep that releases the blob before it has unlinked
  // it here too (404, the client uploads it), one after it sees the use. A failed touch
  // does not fail a pull: the grace period is a protection, not a need.
  (void)co_await touch(r.digest);
  result<bool> const linked = co_await meta_.is_linked(r.name, r.digest);
  if (!linked)
    co_return detail::error(linked.error());
  if (!*linked)
    co_return detail::error(oci_error::blob_unknown);

  if (req.method() == "HEAD") {
    result<storage::blob_info> const info = co_await blobs_.stat(r.digest);
    if (!info)
      co_return detail::error(info.error());
    http::response res(200);
    res.headers().set("Content-Type", std::string(detail::octet_stream));
    res.headers().set("Content-Length", std::to_string(info->size));
    res.headers().set("Accept-Ranges", "bytes");
    res.headers().set("Docker-Content-Digest", r.digest.str());
    co_return res;
  }

  result<storage::blob_source> source = co_await blobs_.open(r.digest, 0, std::nullopt);
  if (!source)
    co_return detail::error(source.error());
  http::response res;
  if (auto* region = std::get_if<storage::file_region>(&*source)) {
    http::file_body body{std::move(region->owner), region->fd, region->offset, region->length};
    res = http::response::file_with_range(req.head(), std::move(body), detail::octet_stream);
  } else {
    res = http::response::redirect(307, std::get<storage::redirect>(*source).url);
  }
  res.headers().set("Docker-Content-Digest", r.digest.str());
  co_return res;
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::delete_blob(route const& r) const {
  // The bytes stay in the blob store until GC finds no repository needs them.
  if constexpr (storage::ReferenceCheckingStore<M>) {
    // Not a blob an image of the repository still needs: deleting it would break the
    // image. The store decides atomically with manifest pushes (see the concept).
    result<storage::blob_unlink> const done =
        co_await meta_.unlink_unreferenced_blob(r.name, r.digest);
    if (!done)
      co_return detail::error(done.error());
    if (!done->unlinked) {
      boost::json::object about{{"digest", r.digest.str()}, {"manifest", nullptr}};
      std::string by = "a manifest";
      if (done->referenced_by) {
        about["manifest"] = done->referenced_by->str();
        by = "manifest " + done->referenced_by->str();
      }
      co_return detail::error(oci_error::unsupported,
                              "blob " + r.digest.str() + " is referenced by " + by +
                                  " of repository " + r.name + ": delete the manifest first",
                              std::move(about));
    }
  } else {
    result<void> const done = co_await meta_.unlink_blob(r.name, r.digest);
    if (!done)
      co_return detail::error(done.error());
  }
  co_return http::response(202);
}

// --- uploads -----------------------------------------------------------------------------

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<result<std::uint64_t>>
v2_registry<B, M>::stream_body(http::body_reader& body, std::string id, std::uint64_t offset,
                               std::optional<std::uint64_t> limit,
                               std::optional<detail::upload_room> room) const {
  std::uint64_t const max = options_.max_blob_size;
  if (std::optional<std::uint64_t> const declared = body.length()) {
    if (limit && *declared > *limit)
      co_return oci_error::size_invalid;
    if (max != 0 && (*declared > max || offset > max - *declared))
      co_return http::body_error::too_large;
    if (room && *declared > room->left())
      co_return storage::storage_error::quota_exceeded; // refused before a byte is read
  }
  std::size_t const capacity = std::max<std::size_t>(options_.upload_buffer_size, 1);
  std::unique_ptr<char[]> const buffer(new char[capacity]);
  std::uint64_t size = offset;
  std::uint64_t taken = 0;
  for (;;) {
    // Fill the buffer before each append: fewer, larger writes and hash updates.
    std::size_t filled = 0;
    bool ended = false;
    std::error_code failure;
    while (filled < capacity) {
      result<std::size_t> const n =
          co_await body.read_some(std::span<char>(buffer.get() + filled, capacity - filled));
      if (!n) {
        failure = n.error();
        break;
      }
      if (*n == 0) {
        ended = true;
        break;
      }
      filled += *n;
    }
    if (filled > 0) {
      taken += filled;
      if (limit && taken > *limit)
        co_return oci_error::size_invalid;
      if (max != 0 && size + filled > max)
        co_return http::body_error::too_large;
      if (room && taken > room->left())
        co_return storage::storage_error::quota_exceeded;
      // What arrived before a failure stays in the upload: the client may resume after it.
      auto const bytes = std::as_bytes(std::span<char const>(buffer.get(), filled));
      result<std::uint64_t> const appended = co_await blobs_.append(id, bytes, size);
      if (!appended)
        co_return appended.error();
      size = *appended;
    }
    if (failure)
      co_return failure;
    if (ended)
      co_return size;
  }
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<result<std::uint64_t>> v2_registry<B, M>::upload_size_of(route const& r) const {
  result<storage::upload_session> const session = co_await meta_.get_upload(r.upload_id);
  if (!session && session.error() == storage::storage_error::upload_unknown)
    uploads_->release(r.upload_id); // expired, or finished on another replica
  if (!session)
    co_return session.error();
  if (session->repository != r.name)
    co_return storage::storage_error::upload_unknown; // ids are per repository
  co_return co_await blobs_.upload_size(r.upload_id);
}

namespace detail {

/// 403 DENIED for a push that would take `repository`'s namespace over its quota (`q`).
inline http::response quota_refusal(std::string_view repository, storage::quota_state const& q) {
  std::string const ns(namespace_of(repository));
  boost::json::object numbers{
      {"namespace", ns}, {"used", q.used}, {"quota", q.quota.value_or(0)}, {"added", q.added}};
  return error(oci_error::denied,
               "quota of namespace " + ns + " exceeded: " + std::to_string(q.used) +
                   " bytes used of " + std::to_string(q.quota.value_or(0)),
               std::move(numbers));
}

/// 403 DENIED for an upload chunk of `declared` bytes (unknown: a stream) that does not fit
/// in the room its namespace has.
inline http::response upload_refusal(std::string_view repository, upload_room const& room,
                                     std::optional<std::uint64_t> declared) {
  storage::quota_state q;
  q.used = room.used;
  q.quota = room.quota;
  q.added = declared.value_or(room.left() + 1);
  return quota_refusal(repository, q);
}

/// Whom a session counts against: the authenticated user, else the client's address.
inline std::string upload_caller(http::request const& req) {
  if (!req.user().empty())
    return "user " + std::string(req.user());
  return "address " + std::string(req.client_address());
}

inline http::response too_many_uploads(upload_limiter::refusal why, std::size_t limit) {
  std::string const who = why == upload_limiter::refusal::caller ? "this client" : "this repository";
  return too_many("too many open upload sessions for " + who + " (at most " +
                  std::to_string(limit) + "): finish or cancel some, then retry");
}

} // namespace detail

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::start_upload(http::request& req,
                                                                route const& r) const {
  route_query const& q = r.query;
  bool mount = q.mount && q.from;
  if (mount) {
    // Behind an authorising router: a mount from a repository the caller may not pull is
    // the spec's fallback, a plain upload (202), which says nothing of whether the other
    // repository holds the blob.
    if (http::context const* ctx = req.route_context())
      mount = co_await ctx->may(http::access_need::pull, *q.from);
  }
  if (mount) {
    // end-11: no bytes move, the blob only becomes visible in this repository too. When
    // the source does not hold it, fall back to a new upload as the spec says. The touch
    // comes first: a sweep that released the blob before it has unlinked it from the
    // source too, and one after it sees the use and keeps the blob.
    if (result<void> const used = co_await touch(*q.mount); !used)
      co_return detail::error(used.error());
    result<bool> const linked = co_await meta_.is_linked(*q.from, *q.mount);
    if (!linked)
      co_return detail::error(linked.error());
    if (*linked) {
      result<storage::blob_info> const info = co_await blobs_.stat(*q.mount);
      if (info) {
        if (auto refused = co_await link_within_quota(r.name, *q.mount, in_flight(r.name)))
          co_return std::move(*refused);
        co_return detail::blob_created(r.name, *q.mount);
      }
    }
  } else if (q.digest && !q.mount) {
    // end-4b: the whole blob in this request.
    std::optional<pier::digest> blob = q.digest; // named: see append_chunk
    result<std::optional<detail::upload_room>> const room =
        co_await upload_room_of(r.name, std::move(blob));
    if (!room)
      co_return detail::error(room.error());
    result<std::string> id = co_await blobs_.begin_upload();
    if (!id)
      co_return detail::error(id.error());
    result<std::uint64_t> const size = co_await stream_body(req.body(), *id, 0, std::nullopt, *room);
    if (!size) {
      (void)co_await blobs_.abort(*id);
      if (size.error() == storage::storage_error::quota_exceeded)
        co_return detail::upload_refusal(r.name, **room, req.body().length());
      if (size.error() == http::body_error::too_large)
        co_return detail::error(oci_error::size_invalid, "blob too large", nullptr, 413);
      if (detail::is_body_error(size.error()))
        co_return detail::body_failure(size.error(), oci_error::blob_upload_invalid);
      co_return detail::error(size.error());
    }
    // Durability: the commit makes the blob durable before the link points at it. The
    // touch before the commit keeps a sweep running now from deleting the bytes between
    // the two (see touch()).
    if (result<void> const used = co_await touch(*q.digest); !used) {
      (void)co_await blobs_.abort(*id);
      co_return detail::error(used.error());
    }
    result<storage::blob_info> const info = co_await blobs_.commit(*id, *q.digest, std::nullopt);
    if (!info)
      co_return detail::error(info.error());
    if (auto refused = co_await link_within_quota(r.name, *q.digest, in_flight(r.name)))
      co_return std::move(*refused);
    co_return detail::blob_created(r.name, *q.digest);
  }

  // end-4a: a session for PATCH and PUT, when the caller and the repository have room for
  // one more. The slot goes back by itself if the session is not created.
  auto const now = std::chrono::system_clock::now();
  auto [slot, refused] = uploads_->take(detail::upload_caller(req), r.name, now);
  if (refused != detail::upload_limiter::refusal::none)
    co_return detail::too_many_uploads(refused, refused == detail::upload_limiter::refusal::caller
                                                    ? options_.max_uploads_per_client
                                                    : options_.max_uploads_per_repository);
  result<std::string> id = co_await blobs_.begin_upload();
  if (!id)
    co_return detail::error(id.error());
  storage::upload_session session{*id, r.name, now};
  result<void> const recorded = co_await meta_.create_upload(std::move(session));
  if (!recorded) {
    (void)co_await blobs_.abort(*id);
    co_return detail::error(recorded.error());
  }
  slot.keep(*id, now);
  co_return detail::upload_response(202, r.name, *id, 0);
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::upload_status(route const& r) const {
  result<std::uint64_t> const size = co_await upload_size_of(r);
  if (!size)
    co_return detail::error(size.error());
  co_return detail::upload_response(204, r.name, r.upload_id, *size);
}

// The body of a PATCH, or of the PUT that closes an upload: a chunk at `Content-Range`, or
// (without it) a stream appended where the upload ends.
namespace detail {

struct chunk_plan {
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> limit;
};

/// Checks `Content-Range` against the upload's size; a response when the chunk is refused.
inline std::variant<chunk_plan, http::response> plan_chunk(http::request const& req, route const& r,
                                                           std::uint64_t size) {
  std::optional<std::string_view> const header = req.headers().find("Content-Range");
  if (!header)
    return chunk_plan{size, std::nullopt};
  result<http::content_range> const cr = http::parse_content_range(*header);
  if (!cr)
    return error(oci_error::blob_upload_invalid,
                 "malformed Content-Range: " + cr.error().message());
  if (cr->first != size)
    return chunk_out_of_order(r.name, r.upload_id, size);
  if (std::optional<std::uint64_t> const n = req.body().length(); n && *n != cr->length())
    return error(oci_error::size_invalid, "Content-Length differs from the Content-Range length");
  return chunk_plan{size, cr->length()};
}

} // namespace detail

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::patch_upload(http::request& req,
                                                                route const& r) const {
  result<std::uint64_t> const size = co_await upload_size_of(r);
  if (!size)
    co_return detail::error(size.error());
  auto plan = detail::plan_chunk(req, r, *size);
  if (auto* refused = std::get_if<http::response>(&plan))
    co_return std::move(*refused);
  detail::chunk_plan const chunk = std::get<detail::chunk_plan>(plan);

  auto grown = co_await append_chunk(req, r, *size, chunk.offset, chunk.limit);
  if (auto* refused = std::get_if<http::response>(&grown))
    co_return std::move(*refused);
  co_return detail::upload_response(202, r.name, r.upload_id, std::get<std::uint64_t>(grown));
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<std::variant<std::uint64_t, http::response>>
v2_registry<B, M>::append_chunk(http::request& req, route const& r, std::uint64_t size,
                                std::uint64_t offset, std::optional<std::uint64_t> limit) const {
  // The PUT that closes the upload names its digest (a PATCH does not). A named variable,
  // not a temporary in the co_await: GCC 12 destroys such a temporary twice.
  std::optional<pier::digest> closing;
  if (req.method() == "PUT")
    closing = r.query.digest;
  result<std::optional<detail::upload_room>> const room =
      co_await upload_room_of(r.name, std::move(closing));
  if (!room)
    co_return detail::error(room.error());
  result<std::uint64_t> const grown =
      co_await stream_body(req.body(), r.upload_id, offset, limit, *room);
  // What the session holds now counts against the namespace (what arrived before a failure
  // stays in the upload).
  auto const now = std::chrono::system_clock::now();
  if (grown) {
    uploads_->record_bytes(r.upload_id, r.name, now, *grown);
  } else if (result<std::uint64_t> const held = co_await blobs_.upload_size(r.upload_id)) {
    uploads_->record_bytes(r.upload_id, r.name, now, *held);
  }
  if (!grown) {
    std::error_code const ec = grown.error();
    if (ec == storage::storage_error::quota_exceeded)
      co_return detail::upload_refusal(r.name, **room, req.body().length());
    if (ec == storage::storage_error::upload_offset_mismatch) {
      // Another request appended in the meantime: tell where the upload stands now.
      result<std::uint64_t> const now = co_await blobs_.upload_size(r.upload_id);
      co_return detail::chunk_out_of_order(r.name, r.upload_id, now ? *now : size);
    }
    if (ec == http::body_error::too_large)
      co_return detail::error(oci_error::size_invalid, "blob too large", nullptr, 413);
    if (detail::is_body_error(ec))
      co_return detail::body_failure(ec, oci_error::blob_upload_invalid);
    co_return detail::error(ec);
  }
  if (limit && *grown - offset != *limit)
    co_return detail::error(oci_error::size_invalid, "chunk shorter than its Content-Range");
  co_return *grown;
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::finish_upload(http::request& req,
                                                                 route const& r) const {
  if (!r.query.digest)
    co_return detail::error(oci_error::digest_invalid, "the digest parameter is required");
  result<std::uint64_t> const size = co_await upload_size_of(r);
  if (!size)
    co_return detail::error(size.error());
  auto plan = detail::plan_chunk(req, r, *size);
  if (auto* refused = std::get_if<http::response>(&plan))
    co_return std::move(*refused);
  detail::chunk_plan const chunk = std::get<detail::chunk_plan>(plan);

  // The final chunk, if the PUT carries one.
  std::optional<std::uint64_t> const declared = req.body().length();
  if (!declared || *declared > 0) {
    auto grown = co_await append_chunk(req, r, *size, chunk.offset, chunk.limit);
    if (auto* refused = std::get_if<http::response>(&grown))
      co_return std::move(*refused);
  }

  // Durability: commit (verified, fsynced) → link → 201. A failed commit leaves nothing:
  // the store drops the upload, so the session goes too. The touch comes before the
  // commit, as for a monolithic upload.
  if (result<void> const used = co_await touch(*r.query.digest); !used)
    co_return detail::error(used.error());
  result<storage::blob_info> const info =
      co_await blobs_.commit(r.upload_id, *r.query.digest, std::nullopt);
  if (!info && detail::out_of_descriptors(info.error()))
    co_return detail::error(info.error()); // the upload stays: the client may PUT again
  if (!info) {
    (void)co_await meta_.delete_upload(r.upload_id);
    uploads_->release(r.upload_id);
    co_return detail::error(info.error());
  }
  // The upload's own bytes become the blob's: the others still in progress count.
  std::uint64_t const all = in_flight(r.name);
  std::uint64_t const others = all - std::min(all, uploads_->bytes_of(r.upload_id));
  std::optional<http::response> refused =
      co_await link_within_quota(r.name, *r.query.digest, others);
  (void)co_await meta_.delete_upload(r.upload_id); // committed, linked or not: it is done
  uploads_->release(r.upload_id);
  if (refused)
    co_return std::move(*refused);
  co_return detail::blob_created(r.name, *r.query.digest);
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::cancel_upload(route const& r) const {
  result<storage::upload_session> const session = co_await meta_.get_upload(r.upload_id);
  if (!session || session->repository != r.name)
    co_return detail::error(oci_error::blob_upload_unknown);
  (void)co_await blobs_.abort(r.upload_id); // already gone after a restart: fine
  result<void> const forgotten = co_await meta_.delete_upload(r.upload_id);
  uploads_->release(r.upload_id);
  if (!forgotten && forgotten.error() != storage::storage_error::upload_unknown)
    co_return detail::error(forgotten.error());
  co_return http::response(204);
}

// --- manifests ---------------------------------------------------------------------------

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::get_manifest(http::request& req,
                                                                route const& r) const {
  pier::digest d = r.digest;
  if (!r.tag.empty()) {
    result<pier::digest> resolved = co_await meta_.resolve_tag(r.name, r.tag);
    if (!resolved)
      co_return detail::error(resolved.error());
    d = std::move(*resolved);
  }
  result<storage::manifest_record> record = co_await meta_.get_manifest(r.name, d);
  if (!record)
    co_return detail::error(record.error());

  if (options_.negotiate_oci) {
    std::string const accept = detail::accept_of(req.headers());
    manifest_kind const kind = classify_media_type(record->media_type);
    bool const oci = kind == manifest_kind::oci_manifest || kind == manifest_kind::oci_index;
    if (oci && !detail::is_blank(accept) && !is_acceptable(accept, record->media_type)) {
      co_return detail::error(oci_error::manifest_unknown,
                              kind == manifest_kind::oci_index
                                  ? "OCI index found, but accept header does not support OCI "
                                    "indexes"
                                  : "OCI manifest found, but accept header does not support "
                                    "OCI manifests");
    }
  }

  // A client that holds these bytes already (RFC 9110 §13.1.2): 304 and no body.
  std::string etag = detail::manifest_etag(record->digest);
  if (detail::none_match_lists(detail::values_of(req.headers(), "If-None-Match"), etag)) {
    http::response res(304);
    res.headers().set("ETag", std::move(etag));
    res.headers().set("Docker-Content-Digest", record->digest.str());
    co_return res;
  }

  http::response res(200);
  res.headers().set("Content-Type", record->media_type);
  res.headers().set("Docker-Content-Digest", record->digest.str());
  res.headers().set("ETag", std::move(etag));
  if (req.method() == "HEAD")
    res.headers().set("Content-Length", std::to_string(record->bytes.size()));
  else
    res.set_body(std::move(record->bytes));
  co_return res;
}

namespace detail {

/// What the referrers API lists about a manifest with a `subject`: its `artifactType`,
/// else (for an image manifest) its config's media type; and its annotations.
inline std::optional<storage::subject_link> subject_of(manifest const& m) {
  if (!m.subject())
    return std::nullopt;
  storage::subject_link link;
  link.subject = m.subject()->digest;
  if (m.artifact_type() && !m.artifact_type()->empty())
    link.artifact_type = *m.artifact_type();
  else if (is_image_manifest(m.kind()) && m.config())
    link.artifact_type = m.config()->media_type;
  link.annotations.insert(m.annotations().begin(), m.annotations().end());
  return link;
}

/// Adds a MANIFEST_INVALID entry to `out` for each descriptor of `m` (config, layers,
/// child manifests) that names `d` with another size than `stored`, naming the descriptor.
inline void check_sizes(manifest const& m, digest_view d, std::uint64_t stored,
                        std::vector<error_entry>& out) {
  auto const check = [&](descriptor const& desc, std::string path) {
    if (desc.digest.view() != d ||
        (desc.size >= 0 && static_cast<std::uint64_t>(desc.size) == stored))
      return;
    std::string const declared = std::to_string(desc.size);
    out.push_back({oci_error::manifest_invalid,
                   path + " declares " + declared + " bytes for " + desc.digest.str() +
                       ", the registry holds " + std::to_string(stored),
                   boost::json::object{{"path", path},
                                       {"digest", desc.digest.str()},
                                       {"size", desc.size},
                                       {"stored_size", stored}}});
  };
  if (m.config())
    check(*m.config(), "config");
  for (std::size_t i = 0; i < m.layers().size(); ++i)
    check(m.layers()[i], "layers[" + std::to_string(i) + "]");
  for (std::size_t i = 0; i < m.manifests().size(); ++i)
    check(m.manifests()[i], "manifests[" + std::to_string(i) + "]");
}

} // namespace detail

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::put_manifest(http::request& req,
                                                                route const& r) const {
  result<std::string> bytes = co_await http::read_body(req.body(), options_.max_manifest_size);
  if (!bytes) {
    if (bytes.error() == http::body_error::too_large)
      co_return detail::error(oci_error::manifest_invalid,
                              "manifest larger than " + std::to_string(options_.max_manifest_size) +
                                  " bytes",
                              nullptr, 413);
    co_return detail::body_failure(bytes.error(), oci_error::manifest_invalid);
  }

  std::string_view const content_type = req.headers().find("Content-Type").value_or("");
  std::string where;
  result<manifest> const parsed = parse_manifest(*bytes, content_type, &where);
  if (!parsed) {
    boost::json::value detail = nullptr;
    if (!where.empty())
      detail = boost::json::object{{"path", where}};
    co_return detail::error(oci_error::manifest_invalid, parsed.error().message(),
                            std::move(detail));
  }
  manifest const& m = *parsed;

  // Docker computes a signed schema 1 manifest's digest over its JWS payload.
  std::string_view const hashed =
      m.kind() == manifest_kind::docker_v1_signed && !m.signed_payload().empty()
          ? std::string_view(m.signed_payload())
          : std::string_view(*bytes);
  digest_algorithm const algorithm =
      r.tag.empty() ? r.digest.algorithm() : digest_algorithm::sha256;
  pier::digest const d = digest_of(hashed, algorithm);
  if (r.tag.empty() && d != r.digest) {
    co_return detail::error(oci_error::digest_invalid,
                            "the manifest's digest is " + d.str() + ", not " + r.digest.str());
  }

  // Refuse a manifest whose blobs or child manifests the repository lacks, naming each
  // one. (put_manifest checks again atomically; this is for the error list.) Then one
  // whose descriptors declare another size than what is stored: a client reads exactly
  // `size` bytes of a descriptor (image-spec descriptor.md), so the image would not pull.
  std::vector<pier::digest> blobs = m.referenced_blobs(foreign_layers::exclude);
  std::vector<pier::digest> children = m.referenced_manifests();
  std::vector<error_entry> missing;
  std::vector<error_entry> missized;
  for (pier::digest const& b : blobs) {
    result<bool> const linked = co_await meta_.is_linked(r.name, b);
    if (!linked)
      co_return detail::error(linked.error());
    result<storage::blob_info> info = storage::storage_error::blob_unknown;
    if (*linked)
      info = co_await blobs_.stat(b);
    if (!info && info.error() != storage::storage_error::blob_unknown)
      co_return detail::error(info.error());
    if (!info)
      missing.push_back({oci_error::manifest_blob_unknown, "blob unknown to registry",
                         boost::json::object{{"digest", b.str()}}});
    else
      detail::check_sizes(m, b, info->size, missized);
  }
  for (pier::digest const& c : children) {
    result<storage::manifest_record> const child = co_await meta_.get_manifest(r.name, c);
    if (!child) {
      oci_error const code = to_oci_error(child.error());
      if (code != oci_error::manifest_unknown && code != oci_error::name_unknown)
        co_return detail::error(child.error());
      missing.push_back({oci_error::manifest_blob_unknown, "manifest unknown to registry",
                         boost::json::object{{"digest", c.str()}}});
    } else {
      detail::check_sizes(m, c, child->bytes.size(), missized);
    }
  }
  if (!missing.empty())
    co_return detail::errors(missing);
  if (!missized.empty())
    co_return detail::errors(missized);
  if (std::optional<http::response> refused = co_await check_quota(r.name, blobs))
    co_return std::move(*refused);

  storage::manifest_put put;
  put.digest = d;
  put.media_type = m.media_type();
  if (!r.tag.empty())
    put.tag = r.tag;
  put.blobs = blobs; // kept for the answer to a refusal by the store's own quota check
  put.manifests = std::move(children);
  put.subject = detail::subject_of(m);
  std::optional<std::string> const subject =
      put.subject ? std::optional<std::string>(put.subject->subject.str()) : std::nullopt;
  put.bytes = std::move(*bytes); // `m` owns its fields: the bytes are no longer needed

  result<void> const stored = co_await meta_.put_manifest(r.name, std::move(put));
  if (!stored && stored.error() == storage::storage_error::quota_exceeded) {
    // A concurrent push took the room since `check_quota`: the same answer, with the
    // numbers of now (when a delete freed the room meanwhile, the store's refusal stands).
    if (std::optional<http::response> refused = co_await check_quota(r.name, std::move(blobs)))
      co_return std::move(*refused);
  }
  if (!stored)
    co_return detail::error(stored.error());
  if (!r.tag.empty())
    co_await remove_untagged_now(); // the tag may have moved away from another manifest

  http::response res(201);
  res.headers().set("Location", detail::manifest_location(r.name, d));
  res.headers().set("Docker-Content-Digest", d.str());
  if (subject)
    res.headers().set("OCI-Subject", *subject);
  co_return res;
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::delete_manifest(route const& r) const {
  result<void> done;
  if (!r.tag.empty())
    done = co_await meta_.delete_tag(r.name, r.tag); // untag: the manifest stays
  else
    done = co_await meta_.delete_manifest(r.name, r.digest);
  if (!done)
    co_return detail::error(done.error());
  co_await remove_untagged_now(); // the untagged manifest, or the children of an index
  co_return http::response(202);
}

// --- listings ----------------------------------------------------------------------------

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::list_tags(route const& r) const {
  std::size_t const page_size =
      std::min(r.query.n.value_or(options_.max_page_size), options_.max_page_size);
  std::string path = "/v2/" + r.name + "/tags/list";
  boost::json::object body;
  body["name"] = r.name;
  storage::name_page page;
  if (page_size == 0) {
    // n=0: an empty list and no Link, but still 404 for an unknown repository.
    result<bool> const exists = co_await meta_.repository_exists(r.name);
    if (!exists)
      co_return detail::error(exists.error());
    if (!*exists)
      co_return detail::error(oci_error::name_unknown);
  } else {
    result<storage::name_page> listed =
        co_await meta_.list_tags(r.name, r.query.last.value_or(""), page_size);
    if (!listed)
      co_return detail::error(listed.error());
    page = std::move(*listed);
  }
  co_return detail::name_list(path, std::move(body), "tags", page, page_size);
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::catalog(http::request const& req,
                                                           route const& r) const {
  std::size_t const page_size =
      std::min(r.query.n.value_or(options_.max_page_size), options_.max_page_size);
  std::string_view const path = "/v2/_catalog";
  // Behind an authorising router, each name is shown only to callers who may see it
  // (`may` with the catalog need: what the account may pull); administrators see all.
  http::context const* ctx = req.route_context();
  bool const filtered = ctx != nullptr && ctx->caller().may && !ctx->caller().admin;
  std::string last = r.query.last.value_or("");
  if (detail::cursor::is_sealed(last)) {
    std::optional<std::string> position = detail::cursor::open(last, path, options_.cursor_key);
    if (!position)
      co_return detail::error(oci_error::unsupported, detail::cursor::invalid_message, nullptr,
                              400);
    last = std::move(*position);
  }
  storage::name_page page;
  if (!filtered) {
    if (page_size > 0) {
      result<storage::name_page> listed = co_await meta_.catalog(last, page_size);
      if (!listed)
        co_return detail::error(listed.error());
      page = std::move(*listed);
    }
    co_return detail::name_list(path, boost::json::object{}, "repositories", page, page_size);
  }
  // Read past the page by one visible name: `more` (and the Link) only when one exists.
  // At most `max_scan` names a request: then the Link continues, sealed, from the last
  // name read, which the caller may not see.
  std::size_t const budget = std::max<std::size_t>(options_.max_scan, 1);
  std::size_t read = 0;
  std::string hidden_next;
  bool last_kept = false; // whether `last` is the page's last name
  std::size_t const chunk = std::max<std::size_t>(page_size + 1, 100);
  bool scanning = page_size > 0;
  while (scanning) {
    result<storage::name_page> listed = co_await meta_.catalog(last, std::min(chunk, budget - read));
    if (!listed)
      co_return detail::error(listed.error());
    for (std::string& name : listed->names) {
      ++read;
      last = name;
      last_kept = false;
      if (!co_await ctx->may(http::access_need::catalog, name))
        continue;
      if (page.names.size() == page_size) {
        page.more = true;
        break;
      }
      page.names.push_back(std::move(name));
      last_kept = true;
    }
    scanning = !page.more && listed->more;
    if (scanning && read == budget) {
      page.more = true;
      if (!last_kept)
        hidden_next = last;
      scanning = false;
    }
  }
  co_return detail::name_list(
      path, boost::json::object{}, "repositories", page, page_size,
      hidden_next.empty() ? std::string()
                          : detail::cursor::seal(hidden_next, path, options_.cursor_key));
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<http::response> v2_registry<B, M>::referrers(route const& r) const {
  result<std::vector<storage::referrer>> listed = co_await meta_.referrers(r.name, r.digest);
  if (!listed)
    co_return detail::error(listed.error());
  std::vector<storage::referrer>& list = *listed;
  if (r.query.artifact_type) {
    std::erase_if(list, [&](storage::referrer const& ref) {
      return ref.artifact_type != *r.query.artifact_type;
    });
  }
  co_return detail::referrers_index(list, r.query.artifact_type.has_value());
}

// --- garbage collection ------------------------------------------------------------------

// Why a touch before an upload's commit (or a mount's look at the source): a sweep that
// releases the blob before the touch has unlinked it and will delete only bytes committed
// before its start minus the grace, so this commit's bytes stay and the link that follows
// is good; a sweep that releases after the touch sees the use and keeps the blob.
template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<result<void>> v2_registry<B, M>::touch(pier::digest d) const {
  if constexpr (storage::CollectableStore<M>)
    co_return co_await meta_.touch_blob(std::move(d));
  else
    co_return result<void>{};
}

template <storage::BlobStore B, storage::MetadataStore M>
std::uint64_t v2_registry<B, M>::in_flight(std::string_view repository) const {
  return uploads_->in_flight(namespace_of(repository),
                             std::chrono::system_clock::now());
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<result<std::optional<detail::upload_room>>>
v2_registry<B, M>::upload_room_of(std::string const& repository,
                                  std::optional<pier::digest> blob) const {
  if constexpr (storage::QuotaStore<M>) {
    if (namespace_of(repository).empty())
      co_return std::nullopt; // no namespace, no quota (as the stores count)
    std::vector<storage::sized_blob> sized; // not a braced list in a co_await (GCC 12)
    if (blob) {
      // Its size from the blob store, which is authoritative, as `check_quota` does.
      result<storage::blob_info> const info = co_await blobs_.stat(*blob);
      if (!info && info.error() != storage::storage_error::blob_unknown)
        co_return info.error();
      if (info)
        sized.push_back({*blob, info->size});
    }
    bool const known = !sized.empty();
    result<storage::quota_state> const q = co_await meta_.charge(repository, std::move(sized));
    if (!q)
      co_return q.error();
    std::optional<std::uint64_t> const quota = q->quota ? q->quota : options_.default_quota;
    if (!quota || (known && q->added == 0))
      co_return std::nullopt;
    co_return detail::upload_room{q->used + in_flight(repository), *quota};
  } else {
    co_return std::nullopt;
  }
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<std::optional<http::response>>
v2_registry<B, M>::link_within_quota(std::string repository, pier::digest d,
                                     std::uint64_t pending) const {
  std::vector<pier::digest> one; // not a braced list: GCC 12 fails on one in a co_await
  one.push_back(d);
  if (std::optional<http::response> refused = co_await check_quota(repository, one, pending))
    co_return refused;
  result<void> const linked = co_await meta_.link_blob(repository, d);
  if (!linked && linked.error() == storage::storage_error::quota_exceeded) {
    // A concurrent push took the room since `check_quota`: the same answer, with the
    // numbers of now.
    if (std::optional<http::response> refused = co_await check_quota(repository, one, pending))
      co_return refused;
  }
  if (!linked)
    co_return detail::error(linked.error());
  co_return std::nullopt;
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<std::optional<http::response>>
v2_registry<B, M>::check_quota(std::string repository, std::vector<pier::digest> blobs,
                               std::uint64_t pending) const {
  if constexpr (storage::QuotaStore<M>) {
    if (namespace_of(repository).empty())
      co_return std::nullopt; // no namespace, no quota (as the stores count)
    // Sizes from the blob store, not the manifest's descriptors, which nothing verifies.
    std::vector<storage::sized_blob> sized;
    sized.reserve(blobs.size());
    for (pier::digest& b : blobs) {
      result<storage::blob_info> const info = co_await blobs_.stat(b);
      if (!info && info.error() == storage::storage_error::blob_unknown)
        continue; // collected meanwhile: put_manifest's own check refuses the manifest
      if (!info)
        co_return detail::error(info.error());
      sized.push_back({std::move(b), info->size});
    }
    result<storage::quota_state> q = co_await meta_.charge(repository, std::move(sized));
    if (!q)
      co_return detail::error(q.error());
    if (!q->quota)
      q->quota = options_.default_quota; // the namespace has none of its own
    q->used += pending;
    // What adds nothing passes over the quota too (a tag moved after the quota was lowered).
    if (q->added > 0 && q->exceeded())
      co_return detail::quota_refusal(repository, *q);
  }
  co_return std::nullopt;
}

template <storage::BlobStore B, storage::MetadataStore M>
asio::awaitable<void> v2_registry<B, M>::remove_untagged_now() const {
  // The request has succeeded whatever happens here: what fails stays for the collector.
  if constexpr (storage::CollectableStore<M>) {
    if (options_.remove_untagged)
      (void)co_await detail::remove_untagged_manifests(meta_, std::chrono::milliseconds(0),
                                                       options_.max_page_size, nullptr);
  }
  co_return;
}

// --- the handler -------------------------------------------------------------------------

namespace detail {

template <class Registry>
asio::awaitable<http::response> serve(std::shared_ptr<Registry const> registry,
                                      http::request& req) {
  co_return co_await registry->handle(req);
}

} // namespace detail

template <storage::BlobStore B, storage::MetadataStore M>
http::handler make_v2_handler(B& blobs, M& meta, v2_options opts) {
  auto registry = std::make_shared<v2_registry<B, M> const>(blobs, meta, opts);
  // Not a coroutine: the returned awaitable's frame holds a copy of the shared pointer, so
  // the registry lives as long as any request it serves, whatever happens to the handler.
  return [registry](http::request& req) -> asio::awaitable<http::response> {
    return detail::serve(registry, req);
  };
}

} // namespace registry
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_IMPL_V2_HPP
