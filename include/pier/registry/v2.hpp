// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_V2_HPP
#define PIER_REGISTRY_V2_HPP

/// @file
/// The OCI Distribution API v1.1 (Docker Registry HTTP API V2) as an `http::handler`
/// over a `storage::BlobStore` and a `storage::MetadataStore`.
///
/// @code
/// pier::storage::memory_blob_store blobs;
/// pier::storage::memory_metadata_store meta;
/// pier::http::server_options so;
/// so.port = 0;
/// pier::http::server srv(so, pier::registry::make_v2_handler(blobs, meta));
/// std::thread t([&] { srv.run(); });
/// // docker push 127.0.0.1:<srv.port()>/team/app:1.0
/// srv.stop();
/// t.join();
/// @endcode
///
/// Every endpoint of the spec is served: `/v2/`, blobs (GET, HEAD with `Range`, DELETE),
/// uploads (POST, monolithic POST `?digest=`, cross-repository mount, chunked and streamed
/// PATCH, PUT, status GET, cancel DELETE), manifests (GET, HEAD, PUT, DELETE by tag or
/// digest), tags (paginated), referrers (with the `artifactType` filter) and Docker's
/// `_catalog`. Errors carry the spec's JSON body and status; a bad name, tag or digest is
/// a 400, never a 500.
///
/// Uploads stream the request body into the blob store through a buffer of
/// `v2_options::upload_buffer_size` bytes, so memory does not grow with blob size, and a
/// blob is linked into its repository only after the store committed it durably. A body
/// that breaks off keeps what arrived in the upload: the client asks for the `Range` and
/// resumes. Blob GETs send the store's file region with `sendfile(2)`. Every response
/// carries `Docker-Distribution-API-Version: registry/2.0`.
///
/// With a metadata store that is a `storage::CollectableStore`, the blob endpoints record
/// uses for the garbage collector's grace period (gc.hpp): a HEAD or GET of a blob the
/// repository holds touches it, so that a client that checked a layer before pushing a
/// manifest that references it finds it still there; an upload touches its blob before the
/// commit, and a mount before it looks at the source, so that a sweep running at the same
/// time either sees the use or has finished with the blob before the new link appears.
///
/// With a metadata store that is a `storage::QuotaStore` (storage/usage.hpp), uploads are
/// charged to the namespace of their repository (its own quota, else `default_quota`):
/// - the bytes of upload sessions in progress count (per process, see
///   detail/upload_limiter.hpp), so a PATCH or PUT chunk that would take what the namespace
///   holds plus what its uploads hold over the quota is refused with 403 DENIED "quota of
///   namespace X exceeded: N bytes used of M", before a byte is read when the request says
///   its length, else when the stream passes the room (what arrived stays in the upload);
///   a monolithic upload is checked the same way. A body to be committed as a blob the
///   namespace holds already is not limited (it adds nothing);
/// - the commit links the blob only within the quota (the size the blob store reports is
///   recorded with `charge`, then the store checks again in the link's commit, so
///   concurrent uploads cannot pass the quota together); a mount is charged the same way;
/// - a blob linked but not referenced by any manifest of the namespace keeps counting until
///   it is deleted or collected; manifest puts add nothing (their blobs are linked) and are
///   not refused by the quota. Reaching the quota exactly is allowed.
/// Each upload request costs one more metadata read (`charge`) for this.
///
/// Decisions the specification leaves open:
/// - `Range` on upload responses is `0-<size - 1>`, and `0-0` for an empty upload, as the
///   reference registry (Distribution) sends: the spec's `0-<end-of-range>` has no form for
///   "nothing yet", and clients start a chunked upload at 0 whatever the POST said. No
///   `OCI-Chunk-Min-Length`: any chunk size is accepted.
/// - Manifest GET and `Accept`: pier serves the stored bytes and never converts. When the
///   request has an `Accept` that does not admit the stored type (wildcards and q-values
///   count) and the manifest is an OCI manifest or index, the answer is 404
///   MANIFEST_UNKNOWN, as Distribution answers clients that predate OCI; Docker types are
///   served whatever the `Accept` (Distribution would rewrite them to schema 1, which needs
///   a signing key pier does not have). No `Accept`, or `v2_options::negotiate_oci` off:
///   always served.
/// - A manifest reference that is neither a digest nor a valid tag: 400 MANIFEST_INVALID
///   (the spec allows only its 14 codes, and has none for tags), or DIGEST_INVALID when it
///   contains ':'.
/// - The digest of a signed schema 1 manifest is that of its JWS payload, as Docker
///   computes it.
/// - A manifest over `max_manifest_size`: 413 with a MANIFEST_INVALID body.
/// - An unknown repository: NAME_UNKNOWN for manifest GET/DELETE and tags; BLOB_UNKNOWN for
///   blobs (a blob is "not in the repository" either way); referrers: always 200.
/// - Tags and catalog pages hold at most `max_page_size` names (also without `n`); a
///   `Link: <...?n=&last=>; rel="next"` follows when more exist.
/// - Mount without `from`, or from a repository that does not hold the blob: a new upload
///   (202), as the spec allows.
/// - Open upload sessions are limited per caller and per repository
///   (`v2_options::max_uploads_per_client`, `max_uploads_per_repository`): a POST beyond
///   either is 429 TOOMANYREQUESTS with `Retry-After`. A session counts until its PUT, its
///   DELETE, a request that finds it gone, or `upload_ttl`. A monolithic POST (`?digest=`)
///   and a mount open no session. The counts are the process's own.
/// - A store out of file descriptors (EMFILE, ENFILE) is 503 TOOMANYREQUESTS with
///   `Retry-After`, not a 500: the client may try again once others are done.
///
/// See https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/hasher.hpp>
#include <pier/core/error.hpp>
#include <pier/core/error_body.hpp>
#include <pier/core/manifest.hpp>
#include <pier/core/media_type.hpp>
#include <pier/core/result.hpp>
#include <pier/http/handler.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>
#include <pier/http/router.hpp>
#include <pier/registry/cursor_key.hpp>
#include <pier/registry/detail/gc.hpp>
#include <pier/registry/detail/upload_limiter.hpp>
#include <pier/registry/routes.hpp>
#include <pier/storage/concepts.hpp>
#include <pier/storage/usage.hpp>

#include <asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

PIER_BEGIN_NAMESPACE
namespace registry {

/// Settings of the v2 API.
struct v2_options {
  /// The largest manifest accepted (413 beyond); the spec asks for at least 4 MiB.
  std::size_t max_manifest_size = 4 * 1024 * 1024;
  /// Bytes of request body read before each append to the blob store: the memory an upload
  /// request takes.
  std::size_t upload_buffer_size = 256 * 1024;
  /// The largest blob an upload may grow to (413 SIZE_INVALID beyond); 0: no limit.
  std::uint64_t max_blob_size = 0;
  /// The most names one tags or catalog page holds, whatever `n` asks.
  std::size_t max_page_size = 1000;
  /// The most names one catalog page reads for a caller who may not see them all (behind
  /// an authorising router: the caller's `may`): the page may then be short, even empty,
  /// and its `Link` continues from where reading stopped, as an opaque cursor.
  std::size_t max_scan = 10000;
  /// Seals those cursors (registry/cursor_key.hpp). The default, the process's key, does
  /// not survive a restart; give replicas, and a server that restarts, a key they keep.
  registry::cursor_key cursor_key{};
  /// DELETE of blobs, manifests and tags; off, they answer 405 UNSUPPORTED.
  bool allow_delete = true;
  /// Refuse an OCI manifest or index (404 MANIFEST_UNKNOWN) to a request whose `Accept`
  /// excludes its type, as Distribution does. Off: the stored manifest is always served.
  bool negotiate_oci = true;
  /// With a metadata store that is a `storage::CollectableStore`: a DELETE of a tag or of a
  /// manifest, or a PUT that moves a tag, removes the manifests it left untagged before it
  /// answers (as the garbage collector of gc.hpp does with a retention of 0), as
  /// `--untagged-retention 0` asks; children of a removed index go too. Off, they wait for
  /// the garbage collector's retention. Without such a store it does nothing.
  bool remove_untagged = false;
  /// Open upload sessions (a POST that starts a chunked or streamed upload) one caller may
  /// hold at once: the user authentication found (`http::request::user`), else the client
  /// address. Beyond it the POST is 429 TOOMANYREQUESTS with `Retry-After`. 0: no limit.
  std::size_t max_uploads_per_client = 100;
  /// The same for all callers together in one repository.
  std::size_t max_uploads_per_repository = 1000;
  /// How long an upload session left alone counts against those limits: keep it the
  /// garbage collector's `upload_ttl`, after which the collector aborts the session.
  std::chrono::milliseconds upload_ttl = std::chrono::hours(24);
  /// With a metadata store that is a `storage::QuotaStore`: the quota of a namespace that
  /// has none of its own (`--default-quota`); empty: such a namespace has no limit. Checked
  /// where the registry checks quotas (upload chunks, links). Give the store the same
  /// value (`set_default_quota` of the memory and RocksDB stores) so that its own check in
  /// each link's commit applies it too: else two uploads racing past the registry's check
  /// can together pass a default quota.
  std::optional<std::uint64_t> default_quota = std::nullopt;
};

/// The v2 API bound to a blob store and a metadata store. The stores must outlive every
/// request. Stateless apart from the settings and the count of open upload sessions (which
/// copies share, under a lock): one instance serves all threads.
///
/// @code
/// pier::registry::v2_registry reg(blobs, meta); // deduces the store types
/// pier::http::string_body_reader body;
/// pier::http::request_head head;
/// head.set_method("GET");
/// head.set_target("/v2/");
/// pier::http::request request(head, body, "127.0.0.1");
/// asio::awaitable<pier::http::response> r = reg.handle(request); // 200 `{}` when awaited
/// @endcode
template <storage::BlobStore B, storage::MetadataStore M>
class v2_registry {
public:
  v2_registry(B& blobs, M& meta, v2_options options = {})
      : blobs_(blobs), meta_(meta), options_(options),
        uploads_(std::make_shared<detail::upload_limiter>(options.max_uploads_per_client,
                                                          options.max_uploads_per_repository,
                                                          options.upload_ttl)) {}

  /// Answers one request. The request (and its body) must live until the awaitable has
  /// completed, as the server guarantees for a handler. Behind a router with the routes of
  /// `add_v2_routes`, the route it parsed is used (the target is not parsed again) and the
  /// caller it found decides what the catalog lists and whether a mount's source may be
  /// read; served alone, it parses the target and every caller may do everything.
  asio::awaitable<http::response> handle(http::request& req) const;

  v2_options const& options() const noexcept { return options_; }

private:
  asio::awaitable<http::response> dispatch(http::request& req, route const& r) const;
  asio::awaitable<http::response> ping(http::request const& req) const;

  asio::awaitable<http::response> get_blob(http::request& req, route const& r) const;
  asio::awaitable<http::response> delete_blob(route const& r) const;
  asio::awaitable<http::response> start_upload(http::request& req, route const& r) const;
  asio::awaitable<http::response> upload_status(route const& r) const;
  asio::awaitable<http::response> patch_upload(http::request& req, route const& r) const;
  asio::awaitable<http::response> finish_upload(http::request& req, route const& r) const;
  asio::awaitable<http::response> cancel_upload(route const& r) const;
  asio::awaitable<http::response> get_manifest(http::request& req, route const& r) const;
  asio::awaitable<http::response> put_manifest(http::request& req, route const& r) const;
  asio::awaitable<http::response> delete_manifest(route const& r) const;
  asio::awaitable<http::response> list_tags(route const& r) const;
  asio::awaitable<http::response> catalog(http::request const& req, route const& r) const;
  asio::awaitable<http::response> referrers(route const& r) const;

  // The size of upload r.upload_id, if it is a session of repository r.name
  // (else `upload_unknown`).
  asio::awaitable<result<std::uint64_t>> upload_size_of(route const& r) const;
  // Appends the request body to upload `id` from `offset` through the bounded buffer, at
  // most `limit` bytes (SIZE_INVALID beyond) and at most `room` bytes (`quota_exceeded`
  // beyond: what arrived before stays); returns the new size.
  asio::awaitable<result<std::uint64_t>> stream_body(http::body_reader& body, std::string id,
                                                     std::uint64_t offset,
                                                     std::optional<std::uint64_t> limit,
                                                     std::optional<detail::upload_room> room) const;
  // With a `storage::QuotaStore` and a quota for `repository`'s namespace (its own or the
  // default): what the namespace holds and what uploads in progress hold, against its quota.
  // None either when the upload is of `blob` (the digest it is to be committed as) and the
  // namespace holds that blob already: the upload adds nothing.
  asio::awaitable<result<std::optional<detail::upload_room>>>
  upload_room_of(std::string const& repository,
                 std::optional<pier::digest> blob = std::nullopt) const;
  // stream_body for a PATCH or a final PUT chunk of upload r.upload_id, within the
  // namespace's room for uploads, then checks the chunk's length: the new size, or the
  // response that refuses the chunk. `size` is the upload's size before it.
  asio::awaitable<std::variant<std::uint64_t, http::response>>
  append_chunk(http::request& req, route const& r, std::uint64_t size, std::uint64_t offset,
               std::optional<std::uint64_t> limit) const;

  // Records that blob `d` is in use, when the store keeps such times for the garbage
  // collector (gc.hpp): what its grace period counts from.
  asio::awaitable<result<void>> touch(pier::digest d) const;
  // Removes the manifests a request left untagged, when `remove_untagged` asks for it.
  asio::awaitable<void> remove_untagged_now() const;
  // With a `storage::QuotaStore`: records the sizes of `blobs` and answers the 403 that
  // refuses a manifest or a link of `repository` that adds them over its namespace's quota,
  // with `pending` bytes (of uploads in progress) counted besides what the store holds.
  asio::awaitable<std::optional<http::response>>
  check_quota(std::string repository, std::vector<pier::digest> blobs,
              std::uint64_t pending = 0) const;
  // Links blob `d` (committed) into `repository` within its namespace's quota, `pending`
  // counted as in `check_quota`: the response that refuses it, if any.
  asio::awaitable<std::optional<http::response>> link_within_quota(std::string repository,
                                                                   pier::digest d,
                                                                   std::uint64_t pending) const;
  // The bytes uploads in progress hold in `repository`'s namespace.
  std::uint64_t in_flight(std::string_view repository) const;

  B& blobs_;
  M& meta_;
  v2_options options_;
  // The one mutable part, shared by the copies of a registry: open sessions per caller.
  std::shared_ptr<detail::upload_limiter> uploads_;
};

/// The handler the server calls: a copyable `http::handler` that owns a `v2_registry`
/// over `blobs` and `meta` (which must outlive it).
///
/// @code
/// pier::http::server srv(so, pier::registry::make_v2_handler(blobs, meta, {.max_page_size =
/// 100}));
/// @endcode
template <storage::BlobStore B, storage::MetadataStore M>
http::handler make_v2_handler(B& blobs, M& meta, v2_options opts = {});

/// Adds the registry API's endpoints (registry/routes.hpp) to `r`, each answered by `h`
/// (a `v2_registry`'s `handle`, say), with the access each method needs: pull for reads of
/// manifests, blobs, tags and referrers; push (pull and push) for manifest PUT and every
/// upload request; remove for DELETE of manifests and blobs; catalog for `_catalog`; any
/// authenticated caller for `/v2/` and for methods the registry refuses anyway (405). The
/// endpoints' `prepare` validates the route into the context (a `registry::route`) or
/// answers as the registry does (400 NAME_INVALID, ...), before anyone is asked who the
/// caller is; a `/v2/...` path that is no endpoint is 404 for anyone. Every response carries
/// `Docker-Distribution-API-Version: registry/2.0`. The pings (`/_ping`, `/v1/_ping`) are
/// added too, open to everyone.
void add_v2_routes(http::router& r, http::route_handler h);

} // namespace registry
PIER_END_NAMESPACE

#include <pier/registry/impl/v2.hpp>

#endif // PIER_REGISTRY_V2_HPP
