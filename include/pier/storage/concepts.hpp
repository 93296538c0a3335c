// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_CONCEPTS_HPP
#define PIER_STORAGE_CONCEPTS_HPP

/// @file
/// The two storage concepts the registry is written against: `BlobStore` (content-
/// addressed bytes) and `MetadataStore` (repositories, manifests, tags, links, reference
/// counts, referrers, upload sessions).
///
/// Every operation is a coroutine returning `asio::awaitable<result<T>>`, so stores that
/// talk to a network service (object storage, PostgreSQL) fit the same concepts as local
/// ones. Parameters are taken by value and owned by the coroutine frame, except the byte
/// spans of `append` and `put`, which must stay valid until the awaitable completes
/// (`co_await` it in the same expression). A store must outlive every operation on it.
///
/// `blob_store_archetype`, `metadata_store_archetype` and `account_store_archetype` are
/// the documented exemplars: the smallest types that model the concepts, with the contract
/// of each operation.
///
/// @code
/// template <pier::storage::BlobStore B, pier::storage::MetadataStore M>
/// asio::awaitable<pier::result<void>> push_blob(B& blobs, M& meta, std::string repo,
///                                               std::string content) {
///   pier::digest const d = pier::digest_of(content);
///   auto bytes = std::as_bytes(std::span(content));
///   if (auto r = co_await blobs.put(bytes, d); !r)
///     co_return r.error();
///   co_return co_await meta.link_blob(repo, d); // only after the blob is durable
/// }
/// @endcode

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/result.hpp>
#include <pier/storage/error.hpp>
#include <pier/storage/types.hpp>

#include <asio/awaitable.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace storage {

/// Content-addressed bytes: stat, open a range for sending, uploads, delete.
///
/// A blob exists under its digest only once an upload of it was committed: a commit
/// verifies the digest and makes the bytes durable before it succeeds, so metadata that
/// points at a committed blob never points at nothing (docs/DESIGN.md, durability rules).
/// Which repository may see a blob is the metadata store's business (`link_blob`).
template <class S>
concept BlobStore = requires(S& s, pier::digest d, upload_id id, std::span<std::byte const> bytes,
                             std::uint64_t offset, std::optional<std::uint64_t> n) {
  { s.stat(d) } -> std::same_as<asio::awaitable<result<blob_info>>>;
  { s.open(d, offset, n) } -> std::same_as<asio::awaitable<result<blob_source>>>;
  { s.begin_upload() } -> std::same_as<asio::awaitable<result<upload_id>>>;
  { s.append(id, bytes, n) } -> std::same_as<asio::awaitable<result<std::uint64_t>>>;
  { s.upload_size(id) } -> std::same_as<asio::awaitable<result<std::uint64_t>>>;
  { s.commit(id, d, n) } -> std::same_as<asio::awaitable<result<blob_info>>>;
  { s.abort(id) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.remove(d) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.put(bytes, d) } -> std::same_as<asio::awaitable<result<blob_info>>>;
};

/// A `BlobStore` that garbage collection can delete from while uploads go on.
///
/// `remove_if_unused_since(d, before)` removes blob `d` and returns true only if its bytes
/// were last committed (by a `commit` or `put` of `d`, also one that found `d` stored
/// already) before `before`; otherwise it returns false and changes nothing;
/// `storage_error::blob_unknown` when there is no such blob. A store serialises it with the
/// commits of the same digest, so a blob committed again while a sweep runs is either
/// removed before that commit (which then stores it anew) or kept: the collector never
/// deletes bytes whose commit it did not see. Times are the store's clock
/// (`std::chrono::system_clock`), like those of the metadata store.
///
/// `list_blobs(after, n)` lists up to `n` stored blobs in digest order after the digest
/// string `after` (empty: from the start), each with its size and last commit time; `more`
/// says whether there are others. The collector reads it to find bytes no metadata knows
/// (`CollectableStore::knows_blob`), which a crash between a commit and its link leaves.
///
/// @code
/// template <pier::storage::CollectableBlobStore B>
/// asio::awaitable<void> sweep_one(B& blobs, pier::digest d) {
///   auto const before = std::chrono::system_clock::now() - std::chrono::hours(1);
///   pier::result<bool> removed = co_await blobs.remove_if_unused_since(d, before);
///   (void)removed; // false: uploaded again within the hour, kept
/// }
/// @endcode
template <class S>
concept CollectableBlobStore = BlobStore<S> &&
    requires(S& s, pier::digest d, std::chrono::system_clock::time_point t, std::string after,
             std::size_t n) {
  { s.remove_if_unused_since(d, t) } -> std::same_as<asio::awaitable<result<bool>>>;
  { s.list_blobs(after, n) } -> std::same_as<asio::awaitable<result<page<stored_blob>>>>;
};

/// Repositories, manifests, tags, blob links, reference counts, referrers and upload
/// sessions, with atomic multi-key commits.
///
/// Repositories come into being with their first blob link or manifest. Reads of a
/// repository that does not exist fail with `storage_error::name_unknown`, except
/// `is_linked` and `referrers`, which answer "no" and "none".
template <class S>
concept MetadataStore = requires(S& s, std::string repo, std::string name, pier::digest d,
                                 manifest_put m, std::size_t n, upload_session u, upload_id id,
                                 std::chrono::system_clock::time_point t) {
  { s.repository_exists(repo) } -> std::same_as<asio::awaitable<result<bool>>>;
  { s.catalog(name, n) } -> std::same_as<asio::awaitable<result<name_page>>>;

  { s.link_blob(repo, d) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.unlink_blob(repo, d) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.is_linked(repo, d) } -> std::same_as<asio::awaitable<result<bool>>>;

  { s.put_manifest(repo, m) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.get_manifest(repo, d) } -> std::same_as<asio::awaitable<result<manifest_record>>>;
  { s.delete_manifest(repo, d) } -> std::same_as<asio::awaitable<result<void>>>;

  { s.resolve_tag(repo, name) } -> std::same_as<asio::awaitable<result<pier::digest>>>;
  { s.set_tag(repo, name, d) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.delete_tag(repo, name) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.list_tags(repo, name, n) } -> std::same_as<asio::awaitable<result<name_page>>>;

  { s.referrers(repo, d) } -> std::same_as<asio::awaitable<result<std::vector<referrer>>>>;
  { s.blob_refcount(d) } -> std::same_as<asio::awaitable<result<std::uint64_t>>>;
  { s.manifest_refcount(d) } -> std::same_as<asio::awaitable<result<std::uint64_t>>>;

  { s.create_upload(u) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.get_upload(id) } -> std::same_as<asio::awaitable<result<upload_session>>>;
  { s.delete_upload(id) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.expired_uploads(t, n) } -> std::same_as<asio::awaitable<result<std::vector<upload_session>>>>;
};

/// A metadata store that counts, per repository, the manifests that reference each blob,
/// so that `DELETE /v2/<name>/blobs/<digest>` of a blob an image of the repository still
/// needs is refused: `unlink_unreferenced_blob(repo, d)` unlinks `d` as `unlink_blob` does
/// (`blob_unknown` when it is not linked) unless a manifest of the repository references
/// it, and decides that in the same atomic step as the unlink, so a concurrent
/// `put_manifest` either sees the link (and the blob stays) or fails with
/// `manifest_blob_unknown`. When it refuses it names one such manifest if it finds one
/// among the first manifests of the repository it reads.
template <class S>
concept ReferenceCheckingStore = requires(S& s, std::string repo, pier::digest d) {
  { s.unlink_unreferenced_blob(repo, d) } -> std::same_as<asio::awaitable<result<blob_unlink>>>;
};

/// Users, organisations, memberships, repository visibility and personal access tokens.
/// The metadata stores implement it next to `MetadataStore`; it is a concept of its own so
/// that a registry without users needs none of it.
///
/// Rules every implementation keeps:
/// - `create_user` and `create_org` fail with `name_taken` when a user or an organisation
///   already has the name; `create_org` for anybody but an administrator also with
///   `org_limit_reached` (checked first) and `name_reserved` (see `org_claim`);
/// - a namespace is never handed over: `delete_user` and `delete_org` fail with
///   `namespace_in_use` while a repository of the namespace holds a manifest or a linked
///   blob, and leave the name reserved (only an administrator may create it again);
/// - every check is made in the same atomic step as the change it guards, so that
///   concurrent callers cannot both pass it;
/// - an organisation keeps an admin and the registry an administrator: removing, demoting
///   or deleting the last one fails with `last_admin`;
/// - `delete_user` also removes the user's memberships, invitations and tokens;
///   `delete_org` its memberships and invitations;
/// - `set_member` needs both to exist (`org_unknown`, `user_unknown`) and replaces the
///   role of an existing member; `remove_member` of a non-member is `member_unknown`;
/// - an invitation (`invite`) becomes a membership only when the invited user accepts it;
/// - `get_visibility` is empty for a repository whose visibility was never set (the
///   caller applies its default); visibility may be set before the repository exists;
/// - listings are in name order, `last` exclusive, at most `n` (paging like `catalog`);
///   `members` is in user order, `memberships` in organisation order, `list_tokens` in
///   id order;
/// - every change is durable when it returns.
template <class S>
concept AccountStore = requires(S& s, std::string name, std::string other, std::size_t n,
                                user_record u, org_record o, org_claim c, role r, visibility v,
                                access_token_record t) {
  { s.create_user(u) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.update_user(u) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.get_user(name) } -> std::same_as<asio::awaitable<result<user_record>>>;
  { s.delete_user(name) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.list_users(name, n) } -> std::same_as<asio::awaitable<result<page<user_record>>>>;
  { s.user_count() } -> std::same_as<asio::awaitable<result<std::uint64_t>>>;

  { s.create_org(o, c) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.get_org(name) } -> std::same_as<asio::awaitable<result<org_record>>>;
  { s.delete_org(name) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.list_orgs(name, n) } -> std::same_as<asio::awaitable<result<page<org_record>>>>;

  { s.set_member(name, other, r) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.remove_member(name, other) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.members(name) } -> std::same_as<asio::awaitable<result<std::vector<membership>>>>;
  { s.memberships(name) } -> std::same_as<asio::awaitable<result<std::vector<membership>>>>;
  { s.invite(name, other, r) } -> std::same_as<asio::awaitable<result<bool>>>;
  { s.invitations(name) } -> std::same_as<asio::awaitable<result<std::vector<membership>>>>;
  { s.accept_invitation(name, other) } -> std::same_as<asio::awaitable<result<role>>>;
  { s.decline_invitation(name, other) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.held_repositories(name) } -> std::same_as<asio::awaitable<result<std::uint64_t>>>;

  { s.get_visibility(name) } -> std::same_as<asio::awaitable<result<std::optional<visibility>>>>;
  { s.set_visibility(name, v) } -> std::same_as<asio::awaitable<result<void>>>;

  { s.add_token(t) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.get_token(name) } -> std::same_as<asio::awaitable<result<access_token_record>>>;
  {
    s.list_tokens(name)
    } -> std::same_as<asio::awaitable<result<std::vector<access_token_record>>>>;
  { s.delete_token(name) } -> std::same_as<asio::awaitable<result<void>>>;
};

/// The namespace queries ("all namespaces", "all tags of a namespace") of the registries
/// pier descends from. A namespace is a repository name's first path component
/// (`acme` of `acme/web/app`); a repository without one (`alpine`) is in no namespace.
///
/// Every listing is in lexical order, `last` exclusive, at most `n` items, `more` when
/// others follow, and costs O(n) whatever `last` is (no scan of the whole registry), except
/// `search`, which may scan repository names.
/// - `namespaces(last, n)`: the distinct namespaces;
/// - `namespace_repositories(ns, last, n)`: the repositories whose namespace is `ns`;
/// - `namespace_tags(ns, last, n)`: every tag of every repository of `ns`, ordered by
///   repository then tag; `last` is `repository + ":" + tag` of the previous page's last
///   entry (empty for the first page);
/// - `search(q, last, n)`: repository names containing `q` (case-sensitive substring).
template <class S>
concept NamespaceStore = requires(S& s, std::string ns, std::string last, std::size_t n) {
  { s.namespaces(last, n) } -> std::same_as<asio::awaitable<result<name_page>>>;
  { s.namespace_repositories(ns, last, n) } -> std::same_as<asio::awaitable<result<name_page>>>;
  { s.namespace_tags(ns, last, n) } -> std::same_as<asio::awaitable<result<page<tag_entry>>>>;
  { s.search(ns, last, n) } -> std::same_as<asio::awaitable<result<name_page>>>;
};

/// What garbage collection needs from a metadata store. Reference counts already say which
/// blobs no manifest references; these add time, so that a grace period protects what was
/// just uploaded or read, and atomic re-checks, so that a sweep racing with pushes never
/// releases what a manifest committed meanwhile references.
///
/// - `touch_blob(d)`: records that `d` was just used (a HEAD or GET of it through a
///   repository); a cheap write (it need not be synced, and may be skipped when the last
///   touch is recent);
/// - `unreferenced_blobs(before, after, n)`: blobs referenced by no manifest whose last use
///   (`link_blob`, `touch_blob`) is before `before`, in digest order after the digest string
///   `after` (empty: from the start), at most `n`;
/// - `release_blob(d, before)`: atomically, if `d` is still referenced by no manifest and
///   unused since before `before`, removes every repository's link to it and returns true
///   (the caller then deletes the bytes); false otherwise, changing nothing;
/// - `release_blobs(ds, before)`: `release_blob` of each of `ds` in one atomic commit (one
///   sync instead of one per blob); the digests it released, in digest order, each once;
/// - `untagged_manifests(before, n)`: manifests that became untagged (see
///   `untagged_manifest`) before `before`, oldest first, at most `n`. Manifests pushed by
///   digest and never tagged are not listed (an index's children arrive that way);
/// - `knows_blob(d)`: whether the store has any record of blob `d`: a link, a manifest that
///   references it, or a recorded use. Bytes of a blob it does not know are an orphan that
///   `unreferenced_blobs` will never list: the collector removes them past the grace;
/// - `remove_untagged(repo, d, before)`: atomically, if `d` is still untagged in `repo` since
///   before `before`, deletes it from `repo` as `delete_manifest` does (children it leaves
///   without tag and parent become untagged in turn) and returns true; false otherwise.
template <class S>
concept CollectableStore = requires(S& s, std::string repo, std::string after, pier::digest d,
                                    std::chrono::system_clock::time_point t, std::size_t n,
                                    std::vector<pier::digest> ds) {
  { s.touch_blob(d) } -> std::same_as<asio::awaitable<result<void>>>;
  {
    s.unreferenced_blobs(t, after, n)
    } -> std::same_as<asio::awaitable<result<std::vector<unreferenced_blob>>>>;
  { s.release_blob(d, t) } -> std::same_as<asio::awaitable<result<bool>>>;
  { s.release_blobs(ds, t) } -> std::same_as<asio::awaitable<result<std::vector<pier::digest>>>>;
  { s.knows_blob(d) } -> std::same_as<asio::awaitable<result<bool>>>;
  {
    s.untagged_manifests(t, n)
    } -> std::same_as<asio::awaitable<result<std::vector<untagged_manifest>>>>;
  { s.remove_untagged(repo, d, t) } -> std::same_as<asio::awaitable<result<bool>>>;
};

/// The exemplar of `BlobStore`: declarations only, with the contract every model keeps.
///
/// How the OCI endpoints use it (`meta` is the metadata store):
/// - `HEAD/GET /blobs/<d>`: `meta.is_linked(repo, d)`, then `stat(d)` / `open(d, first,
///   length)`; send the `file_region` with `sendfile(2)`, or answer a `redirect`.
/// - `POST /blobs/uploads/`: `begin_upload()` and `meta.create_upload(...)`;
///   `?digest=` (monolithic): `put(body, d)` for small bodies, or begin/append/commit.
/// - `PATCH`: `append(id, chunk, start)` for each piece of the body (`Content-Range` start,
///   or the current size from `upload_size` for a streamed body); `GET` on the upload:
///   `upload_size(id)` for the `Range` header.
/// - `PUT ?digest=`: `append` the final chunk if any, `commit(id, d, std::nullopt)`, then
///   `meta.link_blob(repo, d)` and `meta.delete_upload(id)`.
/// - `DELETE` upload: `abort(id)`; `DELETE /blobs/<d>`: `meta.unlink_blob(repo, d)` (the
///   bytes stay until GC finds no repository needs them, then `remove(d)`).
/// - `?mount=<d>&from=<repo>`: no blob-store work: `meta.is_linked(from, d)` and, when the
///   caller may read `from`, `meta.link_blob(repo, d)`.
struct blob_store_archetype {
  /// The size of blob `d`; `storage_error::blob_unknown` when there is none.
  asio::awaitable<result<blob_info>> stat(pier::digest d);

  /// Bytes `[offset, offset + length)` of blob `d` (to the end when `length` is empty; a
  /// length past the end is cut at the end). `storage_error::range_invalid` when `offset`
  /// is past the end, `blob_unknown` when there is no such blob.
  asio::awaitable<result<blob_source>> open(pier::digest d, std::uint64_t offset,
                                            std::optional<std::uint64_t> length);

  /// Starts an upload and returns its id (`make_upload_id()`).
  asio::awaitable<result<upload_id>> begin_upload();

  /// Appends `bytes` (hashing them on the way) and returns the new size. With `offset`,
  /// fails with `upload_offset_mismatch` unless it equals the current size, so a repeated
  /// or out-of-order chunk changes nothing. Memory use does not grow with the upload.
  asio::awaitable<result<std::uint64_t>> append(upload_id id, std::span<std::byte const> bytes,
                                                std::optional<std::uint64_t> offset);

  /// How many bytes the upload holds.
  asio::awaitable<result<std::uint64_t>> upload_size(upload_id id);

  /// Ends the upload. Verifies the content against `expected` (`digest_error::mismatch`)
  /// and, if given, `size` (`size_mismatch`); then makes the blob durable under its
  /// digest and returns. On any failure nothing is stored. Either way the upload is gone
  /// afterwards (`upload_unknown`), as the distribution spec's registries do.
  asio::awaitable<result<blob_info>> commit(upload_id id, pier::digest expected,
                                            std::optional<std::uint64_t> size);

  /// Ends the upload and discards what it holds.
  asio::awaitable<result<void>> abort(upload_id id);

  /// Deletes blob `d` (`blob_unknown` when there is none). Readers that opened it keep
  /// their `file_region`. The registry calls this only from GC.
  asio::awaitable<result<void>> remove(pier::digest d);

  /// `begin_upload` + `append` + `commit` for content already in memory.
  asio::awaitable<result<blob_info>> put(std::span<std::byte const> bytes, pier::digest expected);
};

/// The exemplar of `MetadataStore`: declarations only, with the contract every model
/// keeps.
///
/// How the OCI endpoints use it:
/// - `GET/HEAD /manifests/<tag>`: `resolve_tag`, then `get_manifest`; by digest:
///   `get_manifest` (serve `bytes` with `media_type` as `Content-Type`).
/// - `PUT /manifests/<ref>`: validate and parse the manifest, then one `put_manifest` with
///   the tag (if `<ref>` is one), referenced blobs and manifests, and the subject.
/// - `DELETE /manifests/<tag>`: `delete_tag`; by digest: `delete_manifest`.
/// - `GET /tags/list?n=&last=`: `list_tags`; `_catalog?n=&last=`: `catalog` (filtering by
///   what the caller may see is the registry's); send a `Link` when `more`.
/// - `GET /referrers/<d>[?artifactType=]`: `referrers`, filtered by the registry.
/// - Uploads: `create_upload` on POST, `get_upload` to check an id belongs to the
///   repository in the URL, `delete_upload` after commit or abort; a periodic task aborts
///   and deletes what `expired_uploads` returns.
///
/// Reference counts: `blob_refcount(b)` is how many (repository, manifest) pairs hold a
/// manifest that references blob `b`; `manifest_refcount(m)` is how many hold an index
/// that references manifest `m`. Pushing the same manifest again, or moving tags, leaves
/// them unchanged; storing it in another repository adds one; `delete_manifest`
/// subtracts. They change in the same atomic commit as the manifest; GC treats a blob
/// with count zero (and no recent upload) as a candidate.
struct metadata_store_archetype {
  /// Whether the repository exists (has ever had a blob linked or a manifest stored).
  asio::awaitable<result<bool>> repository_exists(std::string repository);

  /// Up to `n` repository names after `last` (all from the start when `last` is empty),
  /// in lexical order; costs O(n), not O(repositories).
  asio::awaitable<result<name_page>> catalog(std::string last, std::size_t n);

  /// Makes blob `d` visible in the repository (creating the repository). Call it only
  /// after the blob store committed `d`: metadata never points at a blob that is not
  /// durable. Linking twice is not an error.
  asio::awaitable<result<void>> link_blob(std::string repository, pier::digest d);

  /// Hides blob `d` from the repository; `blob_unknown` when it was not linked.
  asio::awaitable<result<void>> unlink_blob(std::string repository, pier::digest d);

  /// Whether blob `d` is linked in the repository.
  asio::awaitable<result<bool>> is_linked(std::string repository, pier::digest d);

  /// Stores a manifest in the repository in one atomic commit: content, link, tag (moved
  /// atomically), reference counts and referrers entry. Fails with
  /// `manifest_blob_unknown`, changing nothing, when a blob of `m.blobs` is not linked or a
  /// manifest of `m.manifests` is not stored in the repository. Storing a manifest the
  /// repository already holds only moves the tag.
  asio::awaitable<result<void>> put_manifest(std::string repository, manifest_put m);

  /// The manifest with digest `d` in the repository: `manifest_unknown`, or `name_unknown`
  /// for an unknown repository.
  asio::awaitable<result<manifest_record>> get_manifest(std::string repository, pier::digest d);

  /// Removes manifest `d` from the repository with all its tags there, its referrers entry,
  /// and its share of the reference counts, atomically. Referrers of `d` stay listed (the
  /// spec allows referrers of a missing subject).
  asio::awaitable<result<void>> delete_manifest(std::string repository, pier::digest d);

  /// The digest a tag points at: `tag_unknown` (MANIFEST_UNKNOWN), or `name_unknown`.
  asio::awaitable<result<pier::digest>> resolve_tag(std::string repository, std::string tag);

  /// Points a tag at manifest `d`, which the repository must hold (`manifest_unknown`).
  asio::awaitable<result<void>> set_tag(std::string repository, std::string tag, pier::digest d);

  /// Removes a tag (`tag_unknown` when there is none); the manifest stays.
  asio::awaitable<result<void>> delete_tag(std::string repository, std::string tag);

  /// Up to `n` tags after `last` (from the start when empty) in lexical order; O(n).
  asio::awaitable<result<name_page>> list_tags(std::string repository, std::string last,
                                               std::size_t n);

  /// The manifests in the repository whose `subject` is `subject`, ordered by digest.
  /// Filtering by `artifactType` is the caller's (it is one comparison per entry).
  asio::awaitable<result<std::vector<referrer>>> referrers(std::string repository,
                                                           pier::digest subject);

  /// How many (repository, manifest) pairs reference blob `d`.
  asio::awaitable<result<std::uint64_t>> blob_refcount(pier::digest d);

  /// How many (repository, index) pairs reference manifest `d`.
  asio::awaitable<result<std::uint64_t>> manifest_refcount(pier::digest d);

  /// Records an upload session; replaces one with the same id.
  asio::awaitable<result<void>> create_upload(upload_session u);

  /// The session of upload `id`: `upload_unknown` when there is none.
  asio::awaitable<result<upload_session>> get_upload(upload_id id);

  /// Forgets upload `id` (`upload_unknown` when there is none).
  asio::awaitable<result<void>> delete_upload(upload_id id);

  /// Up to `n` sessions created before `before`, oldest first: the uploads to abort and
  /// delete.
  asio::awaitable<result<std::vector<upload_session>>>
  expired_uploads(std::chrono::system_clock::time_point before, std::size_t n);
};

/// The exemplar of `AccountStore`: declarations only, with the contract every model keeps.
///
/// Names are not validated here (`auth::is_valid_account_name` is the caller's check);
/// users and organisations share one space of names. Reads of what does not exist fail
/// with the `*_unknown` error of what is missing, so an API can answer 404 without a
/// second look-up.
///
/// How the registry uses it: the gate checks a password against `get_user(name)` (or a
/// personal access token against `get_token(id)`), builds the principal from the user and
/// `memberships(name)`, and decides with `auth::repository_permissions` and
/// `get_visibility(repository)`; the accounts API under `/api/v1` calls the rest.
struct account_store_archetype {
  /// Adds a user: `name_taken` when a user or an organisation has `u.name`.
  asio::awaitable<result<void>> create_user(user_record u);

  /// Replaces the record of user `u.name` (password, admin flag): `user_unknown` when there
  /// is none, `last_admin` when it would take the admin flag from the last administrator.
  asio::awaitable<result<void>> update_user(user_record u);

  /// The user called `name`: `user_unknown` when there is none.
  asio::awaitable<result<user_record>> get_user(std::string name);

  /// Removes the user with their memberships, invitations and tokens, and reserves the
  /// name: `user_unknown` when there is none; `namespace_in_use` while `held_repositories`
  /// of their namespace is not 0; `last_admin` when they are the last administrator or the
  /// only admin of an organisation. Nothing changes on failure.
  asio::awaitable<result<void>> delete_user(std::string name);

  /// Up to `n` users after `last` (from the start when empty), in name order.
  asio::awaitable<result<page<user_record>>> list_users(std::string last, std::size_t n);

  /// How many users there are (a fresh registry with none offers to create the first
  /// administrator).
  asio::awaitable<result<std::uint64_t>> user_count();

  /// Adds an organisation with `c.creator` (when not empty) as its admin member, in one
  /// atomic step with every check: `org_limit_reached` (not for administrators), then
  /// `name_taken` when a user or an organisation has `o.name`, then (not for
  /// administrators) `name_reserved` when its namespace has a repository, a visibility or
  /// quota record, or belonged to a deleted account; `user_unknown` when the creator is no
  /// user. Nothing changes on failure.
  asio::awaitable<result<void>> create_org(org_record o, org_claim c);

  /// The organisation called `name`: `org_unknown` when there is none.
  asio::awaitable<result<org_record>> get_org(std::string name);

  /// Removes the organisation with its memberships and invitations, and reserves the name:
  /// `org_unknown` when there is none, `namespace_in_use` while `held_repositories` of its
  /// namespace is not 0.
  asio::awaitable<result<void>> delete_org(std::string name);

  /// Up to `n` organisations after `last` (from the start when empty), in name order.
  asio::awaitable<result<page<org_record>>> list_orgs(std::string last, std::size_t n);

  /// Makes `user` a member of `org` with role `r`, replacing the role of a member (and any
  /// invitation): `org_unknown`, then `user_unknown`, when either does not exist;
  /// `last_admin` when it would demote the organisation's only admin.
  asio::awaitable<result<void>> set_member(std::string org, std::string user, role r);

  /// Ends a membership: `org_unknown` when there is no such organisation, `member_unknown`
  /// when `user` is not a member of it, `last_admin` when they are its only admin.
  asio::awaitable<result<void>> remove_member(std::string org, std::string user);

  /// What an organisation's admin asks for `user`: a member gets role `r` at once (true;
  /// `last_admin` as for `set_member`); anybody else gets an invitation to role `r`,
  /// replacing one they had (false). `org_unknown`; `user_unknown` when there is no such
  /// user (nothing is recorded: the caller decides what to tell).
  asio::awaitable<result<bool>> invite(std::string org, std::string user, role r);

  /// The pending invitations of `user` (the role offered in `level`), in organisation
  /// order: `user_unknown` when there is no such user.
  asio::awaitable<result<std::vector<membership>>> invitations(std::string user);

  /// Turns `user`'s invitation to `org` into a membership with the role offered, which it
  /// returns: `invitation_unknown` when there is none.
  asio::awaitable<result<role>> accept_invitation(std::string org, std::string user);

  /// Forgets `user`'s invitation to `org`: `invitation_unknown` when there is none.
  asio::awaitable<result<void>> decline_invitation(std::string org, std::string user);

  /// How many repositories of namespace `ns` (names under `ns/`) hold a manifest or a
  /// linked blob: what keeps its user or organisation from being deleted.
  asio::awaitable<result<std::uint64_t>> held_repositories(std::string ns);

  /// The members of `org` in user order: `org_unknown` when there is no such organisation.
  asio::awaitable<result<std::vector<membership>>> members(std::string org);

  /// The memberships of `user` in organisation order: `user_unknown` when there is no
  /// such user.
  asio::awaitable<result<std::vector<membership>>> memberships(std::string user);

  /// The repository's visibility; empty when it was never set (the caller applies its
  /// default). Any name may be asked; the repository need not exist.
  asio::awaitable<result<std::optional<visibility>>> get_visibility(std::string repository);

  /// Sets the repository's visibility, also before the repository exists (so that it
  /// is private from its first push).
  asio::awaitable<result<void>> set_visibility(std::string repository, visibility v);

  /// Stores a token of user `t.user` (`user_unknown` when there is none); replaces a
  /// token with the same id.
  asio::awaitable<result<void>> add_token(access_token_record t);

  /// The token with this id: `token_unknown` when there is none.
  asio::awaitable<result<access_token_record>> get_token(std::string id);

  /// The tokens of `user` in id order: `user_unknown` when there is no such user.
  asio::awaitable<result<std::vector<access_token_record>>> list_tokens(std::string user);

  /// Revokes the token with this id: `token_unknown` when there is none.
  asio::awaitable<result<void>> delete_token(std::string id);
};

} // namespace storage
PIER_END_NAMESPACE

#endif // PIER_STORAGE_CONCEPTS_HPP
