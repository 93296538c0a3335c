// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_MEMORY_HPP
#define PIER_STORAGE_MEMORY_HPP

/// @file
/// In-memory stores for tests and for embedding a registry that need not survive a
/// restart. Thread-safe: a server may call them from several threads at once.
///
/// @code
/// asio::io_context io;
/// pier::storage::memory_blob_store blobs;
/// pier::storage::memory_metadata_store meta;
/// asio::co_spawn(io, [&]() -> asio::awaitable<void> {
///   std::string const layer = "layer bytes";
///   pier::digest const d = pier::digest_of(layer);
///   pier::result<std::string> id = co_await blobs.begin_upload();
///   auto size = co_await blobs.append(*id, std::as_bytes(std::span(layer)));
///   auto info = co_await blobs.commit(*id, d); // verified: now stored under d
///   auto linked = co_await meta.link_blob("library/ubuntu", d);
///   assert(size && info && linked);
///   assert((co_await meta.is_linked("library/ubuntu", d)).value());
/// }, asio::detached);
/// io.run();
/// @endcode

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/hasher.hpp>
#include <pier/core/result.hpp>
#include <pier/storage/concepts.hpp>
#include <pier/storage/detail/namespaces.hpp>
#include <pier/storage/detail/posix.hpp>
#include <pier/storage/detail/upload.hpp>
#include <pier/storage/detail/util.hpp>
#include <pier/storage/error.hpp>
#include <pier/storage/types.hpp>
#include <pier/storage/usage.hpp>

#include <asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace storage {

/// A `BlobStore` in memory. Each blob and each upload is a memfd (Linux), so `open`
/// returns a `file_region` the HTTP layer sends with `sendfile(2)` like any file; a
/// committed blob's memfd is sealed against writes.
class memory_blob_store {
public:
  memory_blob_store() = default;
  memory_blob_store(memory_blob_store const&) = delete;
  memory_blob_store& operator=(memory_blob_store const&) = delete;

  asio::awaitable<result<blob_info>> stat(pier::digest d);
  asio::awaitable<result<blob_source>> open(pier::digest d, std::uint64_t offset = 0,
                                            std::optional<std::uint64_t> length = std::nullopt);
  asio::awaitable<result<upload_id>> begin_upload();
  asio::awaitable<result<std::uint64_t>> append(upload_id id, std::span<std::byte const> bytes,
                                                std::optional<std::uint64_t> offset = std::nullopt);
  asio::awaitable<result<std::uint64_t>> upload_size(upload_id id);
  asio::awaitable<result<blob_info>> commit(upload_id id, pier::digest expected,
                                            std::optional<std::uint64_t> size = std::nullopt);
  asio::awaitable<result<void>> abort(upload_id id);
  asio::awaitable<result<void>> remove(pier::digest d);
  asio::awaitable<result<blob_info>> put(std::span<std::byte const> bytes, pier::digest expected);

  /// Removes blob `d` unless it was (re)committed at or after `before`: true when removed,
  /// false when kept, `blob_unknown` when there is none (see `CollectableBlobStore`).
  /// Commits and this removal take the store's one mutex, so they never interleave.
  asio::awaitable<result<bool>>
  remove_if_unused_since(pier::digest d, std::chrono::system_clock::time_point before);
  /// Up to `n` blobs after the digest string `after`, in digest order, with their sizes and
  /// last commit times (see `CollectableBlobStore`).
  asio::awaitable<result<page<stored_blob>>> list_blobs(std::string after, std::size_t n);

  /// How many blobs the store holds.
  std::size_t blob_count() const;
  /// How many uploads are in progress.
  std::size_t upload_count() const;

private:
  struct blob {
    detail::unique_fd fd;
    std::uint64_t size = 0;
  };

  std::shared_ptr<detail::upload_state> find_upload(upload_id const& id) const;
  std::shared_ptr<detail::upload_state> take_upload(upload_id const& id);

  mutable std::mutex mutex_;
  std::map<pier::digest, std::shared_ptr<blob const>, std::less<>> blobs_;
  // When each blob was last committed (a commit of stored bytes counts): what
  // `remove_if_unused_since` compares.
  std::map<pier::digest, std::chrono::system_clock::time_point, std::less<>> committed_;
  std::map<upload_id, std::shared_ptr<detail::upload_state>, std::less<>> uploads_;
};

namespace detail {
/// Memberships indexed from one side: organisation → user → role, or user → organisation →
/// role.
using role_index = std::map<std::string, std::map<std::string, role, std::less<>>, std::less<>>;
} // namespace detail

/// A `MetadataStore` and `AccountStore` in memory: every operation takes one mutex, so
/// each is atomic.
class memory_metadata_store {
public:
  memory_metadata_store() = default;
  memory_metadata_store(memory_metadata_store const&) = delete;
  memory_metadata_store& operator=(memory_metadata_store const&) = delete;

  asio::awaitable<result<bool>> repository_exists(std::string repository);
  asio::awaitable<result<name_page>> catalog(std::string last, std::size_t n);

  asio::awaitable<result<void>> link_blob(std::string repository, pier::digest d);
  asio::awaitable<result<void>> unlink_blob(std::string repository, pier::digest d);
  asio::awaitable<result<bool>> is_linked(std::string repository, pier::digest d);
  /// ReferenceCheckingStore.
  asio::awaitable<result<blob_unlink>> unlink_unreferenced_blob(std::string repository,
                                                                pier::digest d);

  asio::awaitable<result<void>> put_manifest(std::string repository, manifest_put m);
  asio::awaitable<result<manifest_record>> get_manifest(std::string repository, pier::digest d);
  asio::awaitable<result<void>> delete_manifest(std::string repository, pier::digest d);

  asio::awaitable<result<pier::digest>> resolve_tag(std::string repository, std::string tag);
  asio::awaitable<result<void>> set_tag(std::string repository, std::string tag, pier::digest d);
  asio::awaitable<result<void>> delete_tag(std::string repository, std::string tag);
  asio::awaitable<result<name_page>> list_tags(std::string repository, std::string last,
                                               std::size_t n);

  asio::awaitable<result<std::vector<referrer>>> referrers(std::string repository,
                                                           pier::digest subject);
  asio::awaitable<result<std::uint64_t>> blob_refcount(pier::digest d);
  asio::awaitable<result<std::uint64_t>> manifest_refcount(pier::digest d);

  asio::awaitable<result<void>> create_upload(upload_session u);
  asio::awaitable<result<upload_session>> get_upload(upload_id id);
  asio::awaitable<result<void>> delete_upload(upload_id id);
  asio::awaitable<result<std::vector<upload_session>>>
  expired_uploads(std::chrono::system_clock::time_point before, std::size_t n);

  // AccountStore: the contract of each operation is in `account_store_archetype`.

  asio::awaitable<result<void>> create_user(user_record u);
  asio::awaitable<result<void>> update_user(user_record u);
  asio::awaitable<result<user_record>> get_user(std::string name);
  asio::awaitable<result<void>> delete_user(std::string name);
  asio::awaitable<result<page<user_record>>> list_users(std::string last, std::size_t n);
  asio::awaitable<result<std::uint64_t>> user_count();

  asio::awaitable<result<void>> create_org(org_record o, org_claim c = {});
  asio::awaitable<result<org_record>> get_org(std::string name);
  asio::awaitable<result<void>> delete_org(std::string name);
  asio::awaitable<result<page<org_record>>> list_orgs(std::string last, std::size_t n);

  asio::awaitable<result<void>> set_member(std::string org, std::string user, role r);
  asio::awaitable<result<void>> remove_member(std::string org, std::string user);
  asio::awaitable<result<std::vector<membership>>> members(std::string org);
  asio::awaitable<result<std::vector<membership>>> memberships(std::string user);
  asio::awaitable<result<bool>> invite(std::string org, std::string user, role r);
  asio::awaitable<result<std::vector<membership>>> invitations(std::string user);
  asio::awaitable<result<role>> accept_invitation(std::string org, std::string user);
  asio::awaitable<result<void>> decline_invitation(std::string org, std::string user);
  asio::awaitable<result<std::uint64_t>> held_repositories(std::string ns);

  asio::awaitable<result<std::optional<visibility>>> get_visibility(std::string repository);
  asio::awaitable<result<void>> set_visibility(std::string repository, visibility v);

  asio::awaitable<result<void>> add_token(access_token_record t);
  asio::awaitable<result<access_token_record>> get_token(std::string id);
  asio::awaitable<result<std::vector<access_token_record>>> list_tokens(std::string user);
  asio::awaitable<result<void>> delete_token(std::string id);

  // NamespaceStore: the contract of each operation is in the concept's comment.

  asio::awaitable<result<name_page>> namespaces(std::string last, std::size_t n);
  asio::awaitable<result<name_page>> namespace_repositories(std::string ns, std::string last,
                                                            std::size_t n);
  asio::awaitable<result<page<tag_entry>>> namespace_tags(std::string ns, std::string last,
                                                          std::size_t n);
  asio::awaitable<result<name_page>> search(std::string q, std::string last, std::size_t n);

  // CollectableStore: the contract of each operation is in the concept's comment. Last
  // uses are kept per blob (set by `link_blob` and `touch_blob`), untagged manifests by
  // (repository, digest) and by time; `release_blob` and `remove_untagged` re-check and
  // act under the store's one mutex, so no write slips between the check and the change.

  asio::awaitable<result<void>> touch_blob(pier::digest d);
  asio::awaitable<result<std::vector<unreferenced_blob>>>
  unreferenced_blobs(std::chrono::system_clock::time_point before, std::string after,
                     std::size_t n);
  asio::awaitable<result<bool>> release_blob(pier::digest d,
                                             std::chrono::system_clock::time_point before);
  asio::awaitable<result<std::vector<pier::digest>>>
  release_blobs(std::vector<pier::digest> ds, std::chrono::system_clock::time_point before);
  asio::awaitable<result<bool>> knows_blob(pier::digest d);
  asio::awaitable<result<std::vector<untagged_manifest>>>
  untagged_manifests(std::chrono::system_clock::time_point before, std::size_t n);
  asio::awaitable<result<bool>> remove_untagged(std::string repository, pier::digest d,
                                                std::chrono::system_clock::time_point before);

  // QuotaStore: the contract is in the concept's comment (storage/usage.hpp). Each
  // namespace's blob counts and total change with every manifest put and delete, under
  // the one mutex, and `put_manifest` refuses what would pass the quota there
  // (`storage_error::quota_exceeded`); a repository's usage is counted from its manifests.

  asio::awaitable<result<void>> set_quota(std::string ns, std::optional<std::uint64_t> bytes);
  asio::awaitable<result<std::optional<std::uint64_t>>> get_quota(std::string ns);
  asio::awaitable<result<namespace_usage>> usage(std::string ns, std::string last, std::size_t n);
  asio::awaitable<result<quota_state>> charge(std::string repository,
                                              std::vector<sized_blob> blobs);
  /// The quota that the store's own check in a link's commit applies to a namespace that
  /// has none of its own (the registry's `v2_options::default_quota`); empty: none. Not
  /// reported by `get_quota`, `usage` or `charge`.
  void set_default_quota(std::optional<std::uint64_t> bytes);

private:
  struct content {
    std::string media_type;
    std::string bytes;
    std::vector<pier::digest> blobs;     // sorted, unique
    std::vector<pier::digest> manifests; // sorted, unique
    std::optional<subject_link> subject;
    std::uint64_t repositories = 0; // how many repositories hold it
  };
  struct repository_state {
    std::set<pier::digest, std::less<>> blobs;
    std::set<pier::digest, std::less<>> manifests;
    // ReferenceCheckingStore: how many of `manifests` reference each blob (none: absent).
    std::map<pier::digest, std::uint64_t, std::less<>> blob_uses;
    std::map<std::string, pier::digest, std::less<>> tags;
    std::map<pier::digest, std::map<pier::digest, referrer>, std::less<>> referrers;
    // NamespaceStore: when each tag last moved to the digest it points at. Entries of
    // deleted tags may stay; `note_tag` renews the time whenever a tag is (re)created.
    std::map<std::string, std::chrono::system_clock::time_point, std::less<>> tag_times;
  };

  // NamespaceStore: records the push time of `tag` unless it already points at `d`; call
  // before pointing it.
  static void note_tag(repository_state& r, std::string const& tag, pier::digest const& d);

  repository_state const* find(std::string const& repository) const;

  mutable std::mutex mutex_;
  std::map<std::string, repository_state, std::less<>> repositories_;
  std::map<pier::digest, content, std::less<>> contents_;
  std::map<pier::digest, std::uint64_t, std::less<>> blob_refs_;
  std::map<pier::digest, std::uint64_t, std::less<>> manifest_refs_;
  std::map<upload_id, upload_session, std::less<>> uploads_;

  std::map<std::string, user_record, std::less<>> users_;
  std::map<std::string, org_record, std::less<>> orgs_;
  // Both directions, so that `members` and `memberships` come out sorted without a scan.
  detail::role_index members_;     // organisation → user → role
  detail::role_index memberships_; // user → organisation → role
  std::map<std::string, visibility, std::less<>> visibility_;
  std::map<std::string, access_token_record, std::less<>> tokens_;                     // by id
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> user_tokens_; // ids
  // Invitations, both directions like memberships: by user for `invitations`, by
  // organisation so that deleting one finds its own.
  detail::role_index invitations_; // user → organisation → role offered
  detail::role_index invited_;     // organisation → user → role offered
  std::set<std::string, std::less<>> reserved_;                    // names of deleted accounts
  std::map<std::string, std::uint64_t, std::less<>> orgs_created_; // user → organisations made

  // The account checks, with the mutex held.
  /// Whether anything but a user or organisation claims namespace `ns` (see `org_claim`).
  bool namespace_claimed(std::string_view ns) const;
  /// `held_repositories` with the mutex held.
  std::uint64_t held_locked(std::string_view ns) const;
  /// Whether `user` is the one admin of `org`.
  bool only_admin(std::string_view org, std::string_view user) const;
  /// Whether `user` is the one administrator among the users.
  bool last_administrator(std::string_view user) const;
  /// Makes `user` a member of `org` with role `r`, dropping an invitation.
  void put_member(std::string const& org, std::string const& user, role r);

  // CollectableStore
  using time_point = std::chrono::system_clock::time_point;

  /// No tag, no referrer and no parent index in `r`: what leaves `d` untagged there.
  bool is_orphan(repository_state const& r, pier::digest const& d) const;
  /// Records `d` as untagged in `repository` since `now` when it is an orphan there (and
  /// not recorded already: the first time counts).
  void note_untagged(std::string const& repository, repository_state const& r,
                     pier::digest const& d, time_point now);
  /// `release_blob` with the mutex held.
  bool release_locked(pier::digest const& d, time_point before);
  /// Forgets that `d` is untagged in `repository` (tagged again, given a parent or a
  /// referrer, or deleted).
  void clear_untagged(std::string const& repository, pier::digest const& d);
  /// Points `tag` at `d`; the manifest it pointed at before may be left untagged.
  void point_tag(std::string const& repository, repository_state& r, std::string const& tag,
                 pier::digest const& d);
  /// Deletes manifest `d` (which `r` holds) from `repository` with its tags and the counts
  /// of what it references, and records the children it leaves orphans as untagged.
  void erase_manifest(std::string const& repository, repository_state& r, pier::digest const& d,
                      time_point now);

  // Keyed by the digest string, so that `unreferenced_blobs` can page after any string.
  std::map<std::string, time_point, std::less<>> blob_times_; // digest → last use
  std::map<std::pair<std::string, pier::digest>, time_point, std::less<>> untagged_; // → since
  std::set<std::tuple<time_point, std::string, pier::digest>> untagged_by_time_;

  // QuotaStore
  using reference_counts = std::map<pier::digest, std::uint64_t, std::less<>>;
  // Adds the (repository, manifest) pairs of `r` that reference each blob to `counts`.
  void count_references(repository_state const& r, reference_counts& counts) const;
  // Unique and shared bytes of the blobs in `counts`: shared when other pairs reference it.
  storage_usage usage_of(reference_counts const& counts) const;
  std::optional<std::uint64_t> quota_of(std::string_view ns) const;
  // What the commits check: the namespace's own quota, else the default.
  std::optional<std::uint64_t> limit_of(std::string_view ns) const;
  std::optional<std::uint64_t> default_quota_;

  // A blob of a namespace: the (repository, manifest) pairs of the namespace that reference
  // it, the repositories of the namespace that link it, and the size it added to the total
  // when it became the namespace's (so that its leaving takes back exactly that, whatever
  // `charge` recorded since). Kept while either count is not 0.
  struct namespace_blob {
    std::uint64_t count = 0;
    std::uint64_t links = 0;
    std::uint64_t size = 0;
  };
  struct namespace_totals {
    std::uint64_t bytes = 0; // the sizes of `blobs`
    std::map<pier::digest, namespace_blob, std::less<>> blobs;
  };
  namespace_totals const* totals_of(std::string_view ns) const;
  // The recorded sizes of `blobs` (sorted, unique) no manifest of `ns` references yet.
  std::uint64_t new_bytes(std::string_view ns, std::vector<pier::digest> const& blobs) const;
  // Whether `blobs` (sorted, unique) add bytes that take `ns` over its quota.
  bool over_quota(std::string_view ns, std::vector<pier::digest> const& blobs) const;
  // Adds `delta` (+1 or -1) to the namespace counts of `blobs` (sorted, unique), as a
  // manifest of `repository` referencing them is put or deleted.
  void count_in_namespace(std::string_view repository, std::vector<pier::digest> const& blobs,
                          int delta);
  // Adds `delta` (+1 or -1) to the namespace's link count of `d`, as `repository` links or
  // unlinks it. A new link that would take the namespace over its quota fails with
  // `quota_exceeded` and changes nothing.
  result<void> link_in_namespace(std::string_view repository, pier::digest const& d, int delta);
  // Applies `count` and `links` deltas to `ns`'s entry of `d`: the size joins the total when
  // the entry appears and leaves it when the entry goes.
  void change_namespace_entry(std::string_view ns, pier::digest const& d, int count, int links);

  std::map<std::string, std::uint64_t, std::less<>> quotas_;      // namespace → bytes
  std::map<pier::digest, std::uint64_t, std::less<>> blob_sizes_; // recorded by `charge`
  std::map<std::string, namespace_totals, std::less<>> namespace_totals_;
};

} // namespace storage
PIER_END_NAMESPACE

#include <pier/storage/impl/memory.hpp>

#endif // PIER_STORAGE_MEMORY_HPP
