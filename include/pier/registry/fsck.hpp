// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_FSCK_HPP
#define PIER_REGISTRY_FSCK_HPP

/// @file
/// `fsck`: verifies a stopped registry's blob store against its metadata store, and
/// repairs what can be repaired (`pier-registry fsck --data DIR [--repair]`).
///
/// @code
/// auto blobs = pier::storage::filesystem_blob_store::create(dir);
/// auto meta = pier::storage::rocksdb_metadata_store::create(dir);
/// asio::co_spawn(io, [&]() -> asio::awaitable<void> {
///   pier::result<pier::registry::fsck_report> r =
///       co_await pier::registry::fsck(*blobs, *meta, {.repair = false});
///   if (r && !r->clean())
///     for (std::string const& line : r->problems)
///       std::cerr << line << '\n';
/// }, asio::detached);
/// @endcode
///
/// Checks, in this order (docs/docs/DESIGN.md "Durability rules"):
/// 1. every blob file: its content hashes to its name (streamed, bounded buffer). A file
///    that does not is corrupt; repair deletes it (its links go in step 2).
/// 2. every blob link (repository, digest) names a blob present and not corrupt; repair
///    removes the others (`unlink_blob`).
/// 3. every manifest a repository holds: each blob it references is present and linked in
///    that repository, each child manifest is held by it. A blob present but unlinked is
///    linked again by repair; a missing blob or child cannot be repaired: the manifest is
///    reported as broken and kept (fsck never deletes manifests).
/// 4. the stored reference counts equal a recount from the manifests (`b`, `m`, `r`, see
///    rocksdb.hpp); repair rewrites every wrong one in one atomic write. So do, when the
///    metadata store has `fsck_namespace_counts` (the RocksDB one), the per-namespace blob
///    counts and totals that quotas use (storage/usage.hpp); repair rewrites them all from
///    the recount in one atomic write (`fsck_write_namespace_counts`). And, when it has
///    `fsck_link_uses`, the use count of each blob link (how many of its repository's
///    manifests reference the blob; a DELETE of the blob is refused while it is not 0):
///    a wrong, unknown (a link from before the counts) or unreadable one is a problem
///    naming the repository and the blob; repair rewrites them in one atomic write
///    (`fsck_write_link_uses`).
/// 5. orphan blob files: no link and no manifest references them; repair deletes those
///    committed longer than `orphan_grace` ago.
/// 6. uploads: files without a session and sessions without a file; repair removes them
///    (files only when older than `orphan_grace`).
///
/// The stores are read page by page; what fsck keeps in memory is one set of digests of
/// the blobs present, one of the blobs linked or referenced, the recounted counts (a few
/// dozen bytes per distinct digest, not the manifests), and the ids of the upload files
/// and sessions (`expired_uploads` lists sessions oldest first, with no cursor to page on).
///
/// Run it on a stopped registry (RocksDB allows one process anyway): pushes during a check
/// would show up as transient problems.
///
/// Requirements on the stores (`filesystem_blob_store` and `rocksdb_metadata_store` have
/// them): blob store `list_blobs`, `list_uploads`, `hash_blob`, `remove`, `abort`;
/// metadata store `fsck_blob_links`, `fsck_manifests`, `fsck_counts`, `fsck_write_counts`,
/// `link_blob`, `unlink_blob`, `is_linked`, `get_manifest`, `expired_uploads`,
/// `delete_upload`.

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/result.hpp>
#include <pier/storage/error.hpp>
#include <pier/storage/types.hpp>

#include <asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace registry {

/// How `fsck` runs.
struct fsck_options {
  /// Repair what can be repaired (see the file comment); false: only report.
  bool repair = false;
  /// Orphan blob and upload files younger than this are reported but never deleted.
  std::chrono::seconds orphan_grace = std::chrono::hours(1);
  /// Problem lines kept in the report; the counts go on counting.
  std::size_t max_problems = 100;
  /// Items read from a store at a time.
  std::size_t page_size = 1000;
};

/// What `fsck` found (and, with `repair`, did).
struct fsck_report {
  std::uint64_t blobs_checked = 0;     ///< blob files hashed
  std::uint64_t links_checked = 0;     ///< blob links looked at
  std::uint64_t manifests_checked = 0; ///< (repository, manifest) pairs looked at
  std::uint64_t corrupt_blobs = 0;     ///< blob files whose content does not match the name
  std::uint64_t missing_blobs = 0;     ///< blob links to a blob absent (or corrupt)
  std::uint64_t broken_manifests = 0;  ///< manifests lacking a blob or child (not repairable)
  std::uint64_t unlinked_blobs = 0;    ///< blobs a manifest references but its repo lacks
  std::uint64_t wrong_counts = 0;      ///< reference counts that differ from the recount
  std::uint64_t orphan_blobs = 0;      ///< blob files no link and no manifest names
  std::uint64_t orphan_uploads = 0;    ///< upload files without a session
  std::uint64_t orphan_sessions = 0;   ///< upload sessions without a file
  std::uint64_t repaired = 0;          ///< problems repaired
  /// One line per problem, the first `fsck_options::max_problems`; a line that says what
  /// stays broken after repair starts with "unrepaired: ".
  std::vector<std::string> problems;
  /// Problem lines left out of `problems`.
  std::uint64_t problems_left_out = 0;

  /// Nothing found but orphans, which a crash may leave (docs/DESIGN.md, durability rule 2):
  /// metadata and blobs agree. What `pier-registry fsck` exits 0 on.
  bool consistent() const noexcept {
    return corrupt_blobs + missing_blobs + broken_manifests + unlinked_blobs + wrong_counts == 0;
  }

  /// Nothing found (before repair), orphans included.
  bool clean() const noexcept {
    return corrupt_blobs + missing_blobs + broken_manifests + unlinked_blobs + wrong_counts +
               orphan_blobs + orphan_uploads + orphan_sessions ==
           0;
  }
};

/// Checks `blobs` against `meta` and, with `options.repair`, repairs (see the file
/// comment). An error only when a store cannot be read; a failed repair step is a problem
/// line. The stores must outlive the returned awaitable.
template <class BlobStore, class MetadataStore>
asio::awaitable<result<fsck_report>> fsck(BlobStore& blobs, MetadataStore& meta,
                                          fsck_options options = {});

} // namespace registry
PIER_END_NAMESPACE

#include <pier/registry/impl/fsck.hpp>

#endif // PIER_REGISTRY_FSCK_HPP
