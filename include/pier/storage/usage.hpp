// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_USAGE_HPP
#define PIER_STORAGE_USAGE_HPP

/// @file
/// Storage usage per repository and per namespace, and namespace quotas: the values and the
/// `QuotaStore` concept.
///
/// Definitions (a namespace is a repository name's first path component, see
/// `NamespaceStore`):
/// - a blob is *referenced* by a repository when a manifest stored in that repository lists
///   it (config, layers; `manifest_put::blobs`). Links alone (uploads, mounts) do not count;
/// - *unique bytes* of a repository: the sizes of the blobs it references that no manifest
///   of another repository references; *shared bytes*: of those that another repository
///   references too. Each blob counts once per repository, however many of its manifests
///   reference it;
/// - the same per namespace, "another" meaning a repository outside the namespace;
/// - *unreferenced bytes* of a namespace: the sizes of the blobs its repositories link
///   (uploaded or mounted) that no manifest of the namespace references. They count until
///   unlinked (`DELETE` of the blob, or the collector's `release_blobs`);
/// - the namespace's unique, shared and unreferenced bytes are what its quota limits.
///
/// How it is computed: a blob's (repository, manifest) reference count is already kept by
/// every `MetadataStore` in the commit of each manifest put and delete (`blob_refcount`).
/// In the same commit a `QuotaStore` keeps, per (namespace, blob), the (repository,
/// manifest) pairs of the namespace that reference the blob (counted exactly like
/// `blob_refcount`: a re-push counts once, a delete and a removal of an untagged manifest
/// take back); in the commit of each link and unlink, the repositories of the namespace
/// that link it; and per namespace the total size of the blobs that either count holds.
/// When an entry appears the blob's size is added and kept with it, and its removal (both
/// counts 0) subtracts that same size. Comparing a namespace's count of a blob with
/// `blob_refcount` tells unique from shared; a count of 0 with links, unreferenced. Blob
/// sizes are recorded by `charge` (the registry calls it with the sizes the blob store
/// reports, which are authoritative, before each link and manifest put); a blob whose size
/// was unknown when its entry appeared counts 0 until the entry goes. A repository's usage
/// is still counted from its manifests.
///
/// The quota is enforced by the link (upload commit or mount) itself: in its commit (under
/// the store's writer lock), a link that adds bytes (a blob new to its namespace) beyond the
/// namespace's own quota fails with `storage_error::quota_exceeded` and changes nothing. A
/// manifest's blobs are linked already, so a manifest put adds nothing and passes (it keeps
/// the same check, which only bytes linked while their size was unknown can meet): tags can
/// still move and indexes be pushed in a namespace over its quota (e.g. after the quota was
/// lowered). So concurrent pushes never take a namespace over its quota together; `charge`
/// remains the early, cheap answer. Uploads in progress are the registry's to count (v2.hpp).
///
/// @code
/// template <pier::storage::QuotaStore M>
/// asio::awaitable<bool> fits(M& meta, std::string repo, pier::digest layer) {
///   std::vector<pier::storage::sized_blob> blobs{{layer, 1024}};
///   auto q = co_await meta.charge(repo, blobs);
///   co_return q && !q->exceeded();
/// }
/// @endcode

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/result.hpp>
#include <pier/storage/types.hpp>

#include <asio/awaitable.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace storage {

/// A blob's digest and size in bytes.
struct sized_blob {
  pier::digest digest;
  std::uint64_t size = 0;

  friend bool operator==(sized_blob const&, sized_blob const&) = default;
};

/// Bytes used by a repository or a namespace (see the file comment).
struct storage_usage {
  std::uint64_t unique_bytes = 0;
  std::uint64_t shared_bytes = 0;
  /// A namespace's blobs that its repositories link (uploaded or mounted) but none of its
  /// manifests references: they count until deleted or collected. 0 for a repository.
  std::uint64_t unreferenced_bytes = 0;

  /// What a quota limits: all three.
  std::uint64_t total() const noexcept { return unique_bytes + shared_bytes + unreferenced_bytes; }

  friend bool operator==(storage_usage const&, storage_usage const&) = default;
};

/// One repository's usage in a `namespace_usage`.
struct repository_usage {
  std::string name;
  storage_usage usage;

  friend bool operator==(repository_usage const&, repository_usage const&) = default;
};

/// A namespace's usage, its quota, and one page of its repositories' usage.
struct namespace_usage {
  storage_usage usage;
  std::optional<std::uint64_t> quota;
  page<repository_usage> repositories;

  friend bool operator==(namespace_usage const&, namespace_usage const&) = default;
};

/// What `charge` found: the namespace's bytes, its quota, and the bytes a manifest would
/// add (its blobs that no manifest of the namespace references yet).
struct quota_state {
  std::uint64_t used = 0;
  std::optional<std::uint64_t> quota;
  std::uint64_t added = 0;

  /// Whether the manifest would take the namespace over its quota (exactly at it is fine).
  bool exceeded() const noexcept { return quota && used + added > *quota; }

  friend bool operator==(quota_state const&, quota_state const&) = default;
};

/// Usage and quotas per namespace.
///
/// - `set_quota(ns, bytes)`: sets the quota of `ns` (empty: removes it); any name may be
///   given, the namespace need not exist yet;
/// - `get_quota(ns)`: the quota of `ns`, empty when none;
/// - `usage(ns, last, n)`: the namespace's usage and quota, and the usage of up to `n` of
///   its repositories after `last` in name order (paged like `namespace_repositories`);
///   costs O(distinct blobs of the namespace) for the namespace's usage plus O(references
///   of the manifests of the `n` repositories listed);
/// - `charge(repository, blobs)`: records the sizes of `blobs` and answers the namespace's
///   usage, its quota (empty when it has none of its own: the registry may apply a default)
///   and what a manifest referencing `blobs` would add; without a namespace, only `added` is
///   filled with the sum of the sizes. It costs O(blobs) lookups. It changes no usage:
///   the manifest put does, and refuses (`storage_error::quota_exceeded`) what a push
///   racing this answer would take over the namespace's own quota.
template <class S>
concept QuotaStore = requires(S& s, std::string ns, std::string last, std::size_t n,
                              std::optional<std::uint64_t> bytes, std::vector<sized_blob> blobs) {
  { s.set_quota(ns, bytes) } -> std::same_as<asio::awaitable<result<void>>>;
  { s.get_quota(ns) } -> std::same_as<asio::awaitable<result<std::optional<std::uint64_t>>>>;
  { s.usage(ns, last, n) } -> std::same_as<asio::awaitable<result<namespace_usage>>>;
  { s.charge(ns, blobs) } -> std::same_as<asio::awaitable<result<quota_state>>>;
};

} // namespace storage
PIER_END_NAMESPACE

#endif // PIER_STORAGE_USAGE_HPP
