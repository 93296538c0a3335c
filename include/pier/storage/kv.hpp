// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_KV_HPP
#define PIER_STORAGE_KV_HPP

/// @file
/// The registry's metadata rules written once: `kv_metadata_store` is the one
/// `MetadataStore`, `AccountStore`, `NamespaceStore`, `CollectableStore`, `QuotaStore` and
/// `ReferenceCheckingStore`, written over a narrow key-value driver (`kv_driver`). A driver
/// stores ordered byte keys in a fixed set of tables and offers point reads, ordered range
/// scans, consistent snapshots and atomic batch writes; everything else (manifests, tags,
/// blob links, reference counts, untagged records, referrers, upload sessions, quotas and
/// namespace totals, GC candidates, fsck's records, accounts) is the store's, the same for
/// every driver. The drivers are `memory_kv_driver` (storage/memory.hpp) and the RocksDB one
/// (storage/rocksdb.hpp, one column family per table); a network database is one more
/// driver.
///
/// Transactions. The store runs each change as: read what the rules check (from the
/// latest committed state), build a batch, write it atomically. Changes are serialised by
/// the store's writer lock, so a change's reads and its write form one serialisable
/// transaction; reads of several keys outside a change use a snapshot. The lock is the
/// store's, in one process: a database shared by several processes needs a driver whose
/// `write` refuses a batch built on reads another process changed since (not done yet).
///
/// Group commit. A durable change is written under the lock without waiting for the disk,
/// and the lock is let go before the change waits for `kv_driver::sync`; one sync makes
/// every change written before it durable, so concurrent changes share syncs instead of
/// queueing for one each. A change is answered only once a sync covers it, so nothing
/// reported done is lost; what a crash can lose is a change not yet answered, which a
/// reader may have seen meanwhile (as with RocksDB's `SyncWAL`).
///
/// Layout (the same for every driver; the RocksDB driver's on-disk format):
///
/// | table          | key                                  | value                          |
/// |----------------|--------------------------------------|--------------------------------|
/// | repositories   | name                                 | empty                          |
/// | tags           | repo `\0` tag                        | digest                         |
/// | tag_index      | repo `\0` digest `\0` tag            | push time (a manifest's tags)  |
/// | manifests      | digest                               | media type, bytes, references  |
/// | manifest_links | repo `\0` digest                     | empty (manifest in repository) |
/// | blob_links     | repo `\0` digest                     | manifests using it, 8 bytes (empty: unknown, see below) |
/// | refcounts      | `b` digest / `m` digest / `r` digest | count, 8 bytes little-endian   |
/// | referrers      | repo `\0` subject `\0` digest        | descriptor fields              |
/// | uploads        | upload id                            | repository, created time       |
/// | upload_times   | created time (8 bytes big-endian) id | repository                     |
/// | users          | user name                            | admin, created, password hash  |
/// | orgs           | organisation name                    | created                        |
/// | members        | org `\0` user                        | role, 1 byte                   |
/// | member_index   | user `\0` org                        | role, 1 byte (by user)         |
/// | visibility     | repo                                 | visibility, 1 byte             |
/// | tokens         | token id                             | user, description, hash, times |
/// | token_index    | user `\0` token id                   | empty (a user's tokens)        |
/// | blob_times     | digest                               | last use (link, touch), 8 bytes|
/// | blob_repos     | digest `\0` repo                     | empty (`blob_links` reversed)  |
/// | manifest_parents | repo `\0` child `\0` index         | empty (an index's children)    |
/// | untagged       | since (8 bytes big-endian) repo `\0` digest | empty                  |
/// | untagged_index | repo `\0` digest                     | since (8 bytes big-endian)     |
/// | namespace_blobs| ns `\0` digest                       | count, size, links (8 + 8 + 8) |
/// | namespace_blobs| ns                                   | total bytes of ns, 8 bytes     |
///
/// The `meta` table holds `pier.schema`, the layout version (5; version 1 had no
/// account column families, version 2 none for garbage collection: opening such a database
/// adds them, and fills `blob_times` (with the time of opening), `blob_repos` and
/// `manifest_parents` from the records there are; version 3 had no `namespace_blobs`:
/// opening it counts them from the manifests the repositories hold, in one write; version 4
/// kept two numbers per `namespace_blobs` entry and no link counts: opening it recounts them
/// and counts each link's uses, in one write; test/data/layout4.tar.gz is such a database), and
/// `pier.user_count`, and the records of `QuotaStore` (storage/usage.hpp): `usage.quota \0 ns`
/// (a namespace's quota) and `usage.size \0 digest` (a blob's size as `charge` recorded
/// it), 8 bytes little-endian each; they need no table of their own, so databases
/// without them open unchanged (blobs whose size was never recorded count 0). So do the
/// records of `AccountStore` added since: `account.reserved \0 name` (empty: the name of a
/// deleted user or organisation, reserved), `account.invitation \0 user \0 org` and
/// `account.invited \0 org \0 user` (the role offered, 1 byte: a pending invitation, by
/// either side) and `account.orgs_created \0 user` (8 bytes little-endian: how many
/// organisations the user created). A database written before them has no reservations:
/// the names of accounts deleted then are claimable unless their namespace holds
/// repositories.
/// `namespace_blobs` changes in the batch of every change that links or unlinks a blob in a
/// namespace (manifest put and delete, `link_blob`, `unlink_blob`, GC's release; see
/// storage/usage.hpp), and the quota (the namespace's own, else the default one) is checked
/// in the batch that links a blob; a namespace's usage
/// reads its entries and their `b` counts in one snapshot, a repository's is counted from
/// `manifest_links` and `manifests`.
/// Records of users, organisations and tokens start with a format
/// byte; a value that does not decode is `storage_error::corrupt`.
///
/// Garbage collection's records (`CollectableStore`) change in the batch of the change
/// that moves them: `link_blob` sets a blob's last use and reverse link, manifest and tag
/// writes keep `manifest_parents` and the untagged records. `touch_blob` is the exception:
/// it renews a last use at most once a minute (`kv_options::touch_interval`), without
/// sync.
///
/// A `tag_index` value is the time the tag moved to the digest (8 bytes, `time_bits`),
/// for the namespace queries; databases written before it have empty values, which read
/// as the epoch. `namespaces` goes from one namespace to the next with a few seeks in
/// `repositories` (detail/namespaces.hpp), so a page costs O(n) plus the repositories
/// without a namespace in between; a namespace's repositories and tags are prefix scans of
/// `repositories` and `tags`.
///
/// Names, tags, digests and token ids never contain `\0` (account names are checked with
/// `auth::is_valid_account_name` before they reach the store), and every driver orders keys
/// bytewise, so the catalog, a repository's tags, users, organisations, members and
/// tokens are range scans in order: a page of `n` costs O(n) whatever `last` is.
/// `refcounts` holds, per digest, how many (repository, manifest) pairs reference a blob
/// (`b`), how many (repository, index) pairs reference a manifest (`m`), and how many
/// repositories hold a manifest (`r`; its content goes with the last). A count of zero is
/// no key.
///
/// Every change is one batch written with `sync` (`kv_options::sync`), so a commit is
/// atomic and durable when it returns. Upload sessions are the exception: written without
/// sync (the upload's bytes are not durable before its commit either), they survive a
/// crash of the process but not necessarily of the machine; the next sync write makes them
/// durable too. For a blocking driver writes run on the store's own threads, because a
/// sync write waits for the disk (on RocksDB, measured roughly on the development VM: a
/// sync write about 2 ms, a point read 1-2 us, the hop to a pool thread and back 7 us, 70
/// under load), and reads on the caller's thread, where they cost less than the hop would.
/// A full disk is the driver's to report (`storage_error::no_space`); see the RocksDB
/// driver for how it refuses writes early and recovers.

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/result.hpp>
#include <pier/storage/concepts.hpp>
#include <pier/storage/error.hpp>
#include <pier/storage/offload.hpp>
#include <pier/storage/types.hpp>
#include <pier/storage/usage.hpp>

#include <asio/awaitable.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace storage {

/// The tables of the layout above, in the order of `kv_table_names`; `meta` holds single
/// records (the layout version, the user count, quotas, reservations, invitations).
enum class kv_table : std::uint8_t {
  repositories,
  tags,
  tag_index,
  manifests,
  manifest_links,
  blob_links,
  refcounts,
  referrers,
  uploads,
  upload_times,
  users,
  orgs,
  members,
  member_index,
  visibility,
  tokens,
  token_index,
  blob_times,
  blob_repos,
  manifest_parents,
  untagged,
  untagged_index,
  namespace_blobs,
  meta,
};

inline constexpr std::size_t kv_table_count = static_cast<std::size_t>(kv_table::meta) + 1;

/// The tables' names (the RocksDB driver's column families; `meta` is its default family).
inline constexpr std::array<char const*, kv_table_count> kv_table_names = {
    "repositories",   "tags",       "tag_index",      "manifests",  "manifest_links",
    "blob_links",     "refcounts",  "referrers",      "uploads",    "upload_times",
    "users",          "orgs",       "members",        "member_index", "visibility",
    "tokens",         "token_index", "blob_times",    "blob_repos", "manifest_parents",
    "untagged",       "untagged_index", "namespace_blobs", "meta"};

/// A consistent view of a driver's tables, as of `kv_driver::snapshot`.
class kv_snapshot {
public:
  virtual ~kv_snapshot() = default;
};

/// Where a read looks: a snapshot, or (null) the latest committed state.
using kv_view = kv_snapshot const*;

/// Changes to write in one atomic step, in order (a later change of a key wins).
class kv_batch {
public:
  struct change {
    kv_table table;
    bool erase;
    std::string key;
    std::string value;
  };

  void put(kv_table t, std::string_view key, std::string_view value) {
    changes_.push_back({t, false, std::string(key), std::string(value)});
  }
  void erase(kv_table t, std::string_view key) {
    changes_.push_back({t, true, std::string(key), {}});
  }
  std::size_t size() const noexcept { return changes_.size(); }
  bool empty() const noexcept { return changes_.empty(); }
  std::vector<change> const& changes() const noexcept { return changes_; }

private:
  std::vector<change> changes_;
};

/// What `kv_driver::scan` calls for each entry, in key order, until it returns false (a
/// reference to a callable that outlives the scan; nothing is allocated).
class kv_visitor {
public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, kv_visitor>)
  kv_visitor(F& f) noexcept // NOLINT(google-explicit-constructor)
      : object_(&f), call_([](void* o, std::string_view k, std::string_view v) {
          return static_cast<bool>((*static_cast<F*>(o))(k, v));
        }) {}

  bool operator()(std::string_view key, std::string_view value) const {
    return call_(object_, key, value);
  }

private:
  void* object_;
  bool (*call_)(void*, std::string_view, std::string_view);
};

/// The narrow driver under `kv_metadata_store`. Keys are ordered bytewise in each table.
/// Every call may come from any thread, concurrently; the store serialises `write`s.
class kv_driver {
public:
  virtual ~kv_driver() = default;

  /// The value of `key` in `t`, none when absent.
  virtual result<std::optional<std::string>> get(kv_table t, std::string_view key,
                                                 kv_view at) const = 0;

  /// Calls `visit(key, value)` for the keys `k` of `t` with `from <= k < to` (no upper
  /// bound when `to` is empty), in order, until `visit` returns false. The views passed
  /// to `visit` last until it returns.
  virtual result<void> scan(kv_table t, std::string_view from, std::string_view to, kv_view at,
                            kv_visitor visit) const = 0;

  /// A consistent view of every table as of now, until the snapshot is destroyed.
  virtual std::unique_ptr<kv_snapshot> snapshot() const = 0;

  /// Applies the batch atomically; it is durable when this returns if `sync` (else it
  /// survives a crash of the process and becomes durable with the next `sync`, or sync
  /// write). `storage_error::no_space` when there is no room for it.
  virtual result<void> write(kv_batch const& batch, bool sync) = 0;

  /// Makes every batch written before the call durable (the store's group commit).
  virtual result<void> sync() = 0;

  /// Whether calls may wait for I/O: the store then runs its writes on threads of its own,
  /// off the caller's event loop.
  virtual bool blocking() const noexcept = 0;
};

/// Settings of a `kv_metadata_store`.
struct kv_options {
  /// Threads that run the writes of a blocking driver (none for one that does not block).
  /// Each change waits for its sync on one of them: the more there are, the more changes
  /// share a sync.
  std::size_t blocking_threads = 8;
  /// Whether changes are written with `sync` (upload sessions and touches never are).
  /// Leave it on: off, a power loss may lose commits that were reported done.
  bool sync = true;
  /// `touch_blob` renews a blob's last use only when it is older than this, so that reads
  /// do not write on every request. A read then protects the blob for the GC grace period
  /// minus this: keep it well below the grace period (0: every touch writes).
  std::chrono::seconds touch_interval{60};
};

/// The metadata store: the registry's rules over a `kv_driver`. Opening it brings an older
/// layout up to date (see above). Movable; must not be moved or destroyed while operations
/// are in progress.
class kv_metadata_store {
public:
  /// The store over `driver`, upgrading its layout when it is older (a later layout is
  /// `storage_error::corrupt`).
  static result<kv_metadata_store> open(std::shared_ptr<kv_driver> driver, kv_options options = {});

  kv_metadata_store(kv_metadata_store&&) noexcept;
  kv_metadata_store& operator=(kv_metadata_store&&) noexcept;
  ~kv_metadata_store();

  /// The driver underneath.
  kv_driver& driver() const noexcept;

  asio::awaitable<result<bool>> repository_exists(std::string repository);
  asio::awaitable<result<name_page>> catalog(std::string last, std::size_t n);

  asio::awaitable<result<void>> link_blob(std::string repository, pier::digest d);
  asio::awaitable<result<void>> unlink_blob(std::string repository, pier::digest d);
  asio::awaitable<result<bool>> is_linked(std::string repository, pier::digest d);
  /// ReferenceCheckingStore (see `state::add_uses` for where the counts live).
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

  // CollectableStore: the contract of each operation is in the concept's comment. See the
  // layout above for the records they keep; `release_blob` and `remove_untagged` check
  // and write under the writer lock, in one batch.

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

  // NamespaceStore: the contract of each operation is in the concept's comment.

  asio::awaitable<result<name_page>> namespaces(std::string last, std::size_t n);
  asio::awaitable<result<name_page>> namespace_repositories(std::string ns, std::string last,
                                                            std::size_t n);
  asio::awaitable<result<page<tag_entry>>> namespace_tags(std::string ns, std::string last,
                                                          std::size_t n);
  asio::awaitable<result<name_page>> search(std::string q, std::string last, std::size_t n);

  // fsck (registry/fsck.hpp): enumeration of the records a check compares, and the one
  // repair that is not an ordinary operation (blob links go with `unlink_blob`, sessions
  // with `delete_upload`). Each listing is a page in key order after the given item.

  /// Up to `n` blob links after `after` (from the first when null).
  asio::awaitable<result<page<stored_link>>> fsck_blob_links(std::optional<stored_link> after,
                                                             std::size_t n);
  /// Up to `n` manifests held by repositories after (`after->repository`,
  /// `after->digest`), each with the references its stored record lists.
  asio::awaitable<result<page<stored_manifest>>>
  fsck_manifests(std::optional<stored_manifest> after, std::size_t n);
  /// Up to `n` stored reference counts after `after` (by kind, then digest).
  asio::awaitable<result<page<stored_count>>> fsck_counts(std::optional<stored_count> after,
                                                          std::size_t n);
  /// Writes `counts` (0 removes the count) in one atomic, durable batch.
  asio::awaitable<result<void>> fsck_write_counts(std::vector<stored_count> counts);
  /// The blob links whose use count (ReferenceCheckingStore: how many of the repository's
  /// manifests reference the blob) differs from a recount from the manifests held, or is
  /// unknown (a link from before the counts) or unreadable, one line each ("use count of D
  /// in REPO is N, the manifests say M"). Costs O(references) and memory for one count
  /// per link.
  asio::awaitable<result<std::vector<std::string>>> fsck_link_uses();
  /// Rewrites those counts from the recount, in one atomic, durable batch.
  asio::awaitable<result<void>> fsck_write_link_uses();
  /// The records of `namespace_blobs` (QuotaStore) that differ from a recount from the
  /// manifests held, one line each ("namespace count of D in NS is N, the manifests say
  /// M", "namespace total of NS is …"). Costs O(references) and memory for one count per
  /// distinct (namespace, blob).
  asio::awaitable<result<std::vector<std::string>>> fsck_namespace_counts();
  /// Rewrites every record of `namespace_blobs` from the recount, in one atomic, durable
  /// batch (a blob's size: what its record had, else what `charge` recorded).
  asio::awaitable<result<void>> fsck_write_namespace_counts();

  // QuotaStore: the contract is in the concept's comment (storage/usage.hpp); the records
  // are in the layout above.

  asio::awaitable<result<void>> set_quota(std::string ns, std::optional<std::uint64_t> bytes);
  asio::awaitable<result<std::optional<std::uint64_t>>> get_quota(std::string ns);
  asio::awaitable<result<namespace_usage>> usage(std::string ns, std::string last, std::size_t n);
  asio::awaitable<result<quota_state>> charge(std::string repository,
                                              std::vector<sized_blob> blobs);
  /// The quota that the store's own check in a link's commit applies to a namespace that
  /// has none of its own (the registry's `v2_options::default_quota`); empty: none. Kept in
  /// the process only; not reported by `get_quota`, `usage` or `charge`.
  void set_default_quota(std::optional<std::uint64_t> bytes);

private:
  struct state;

  // QuotaStore: the (repository, manifest) pairs of `repository` that reference each blob.
  result<std::map<pier::digest, std::uint64_t, std::less<>>>
  repository_references(std::string const& repository) const;
  // Unique and shared bytes of the blobs of `counts` (shared: other pairs reference it).
  result<storage_usage>
  usage_of(std::map<pier::digest, std::uint64_t, std::less<>> const& counts) const;

protected:
  explicit kv_metadata_store(std::unique_ptr<state> s) noexcept;

private:
  std::unique_ptr<state> s_;
};

} // namespace storage
PIER_END_NAMESPACE

#include <pier/storage/impl/kv.hpp>

#endif // PIER_STORAGE_KV_HPP
