// SPDX-License-Identifier: Apache-2.0
// The garbage collector's stress test over the stores the example server runs on:
// filesystem blobs and RocksDB metadata in a temporary directory.
#include <pier/registry/gc.hpp>

#include <pier/registry/fsck.hpp>

#include "../storage/test_util.hpp"
#include "gc_stress.hpp"

#include <pier/storage/filesystem.hpp>
#include <pier/storage/rocksdb.hpp>

#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

namespace gc_rocksdb_test {

using namespace std::chrono_literals;

// Regular files below `dir` (none when it does not exist).
std::size_t files_below(std::filesystem::path const& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    n += it->is_regular_file() ? 1 : 0;
  return n;
}

// A grace of 1.5 s: above the second to which the filesystem store rounds its commit
// times (see gc.hpp), and far above any push here. Touches always write (RocksDB renews a
// use at most once a minute by default, which a grace under a minute would not cover).
TEST(GcRocksdbStress, PushesNeverFailWithinTheGracePeriod) {
  pier_test::temp_dir dir;
  auto blobs = pier::storage::filesystem_blob_store::create(dir.path()).value();
  auto meta =
      pier::storage::rocksdb_metadata_store::create(dir.path(), {.touch_interval = 0s}).value();
  gc_stress::stress(blobs, meta, {.grace = 1500ms, .images = 100},
                    [&] { return files_below(dir.path() / "blobs"); });
  EXPECT_EQ(files_below(dir.path() / "uploads"), 0u);
  // And the stores agree to the last count: no orphan, no link or count out of place.
  asio::io_context io;
  pier::result<pier::registry::fsck_report> const f =
      pier_test::run(io, pier::registry::fsck(blobs, meta));
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->clean()) << (f->problems.empty() ? "" : f->problems.front());
}

// Sets the modification time of every regular file below `dir` `age` into the past: files
// a crash left behind long ago.
void age_files_below(std::filesystem::path const& dir, std::chrono::seconds age) {
  auto const then = std::filesystem::file_time_type::clock::now() - age;
  for (auto const& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      std::filesystem::last_write_time(e.path(), then);
}

// What a SIGKILL between an upload's commit and its link, or between creating an upload's
// file and recording its session, leaves: files no metadata knows. The online collector
// removes them once older than the grace (blobs) or the upload TTL (uploads), and leaves
// fsck nothing to report; what the metadata knows stays.
TEST(GcRocksdbOrphans, FilesNoMetadataKnowsAreRemovedPastTheGrace) {
  using pier_test::bytes_of;
  using pier_test::run;
  pier_test::temp_dir dir;
  asio::io_context io;
  auto blobs = pier::storage::filesystem_blob_store::create(dir.path()).value();
  auto meta = pier::storage::rocksdb_metadata_store::create(dir.path()).value();

  std::string const orphan = pier_test::make_content(1000, 1);
  std::string const linked = pier_test::make_content(1000, 2);
  pier::digest const orphan_digest = pier::digest_of(orphan);
  pier::digest const linked_digest = pier::digest_of(linked);
  ASSERT_TRUE(run(io, blobs.put(bytes_of(orphan), orphan_digest)));
  ASSERT_TRUE(run(io, blobs.put(bytes_of(linked), linked_digest)));
  ASSERT_TRUE(run(io, meta.link_blob("app", linked_digest))); // used now: within the grace
  pier::result<pier::storage::upload_id> const upload = run(io, blobs.begin_upload());
  ASSERT_TRUE(upload);
  ASSERT_TRUE(run(io, blobs.append(*upload, bytes_of(orphan), 0)));

  using collector = pier::registry::collector<pier::storage::filesystem_blob_store,
                                              pier::storage::rocksdb_metadata_store>;
  auto const collect = [&] {
    collector gc(blobs, meta, {.grace = 1h, .upload_ttl = 1h});
    pier::result<pier::registry::gc_report> r = run(io, gc.run_once());
    EXPECT_TRUE(r && r->errors.empty());
    return r ? *r : pier::registry::gc_report{};
  };
  pier::registry::gc_report r = collect(); // all of it new: nothing goes
  EXPECT_EQ(r.candidates, 0u);
  EXPECT_EQ(r.uploads_expired, 0u);
  EXPECT_EQ(files_below(dir.path() / "blobs"), 2u);

  age_files_below(dir.path() / "blobs", 2h);
  age_files_below(dir.path() / "uploads", 2h);
  r = collect();
  EXPECT_EQ(r.candidates, 1u); // the linked blob was used within the grace
  EXPECT_EQ(r.blobs_removed, 1u);
  EXPECT_EQ(r.orphans_removed, 1u);
  EXPECT_EQ(r.bytes_freed, orphan.size());
  EXPECT_EQ(r.uploads_expired, 1u);
  EXPECT_FALSE(run(io, blobs.stat(orphan_digest)));
  EXPECT_TRUE(run(io, blobs.stat(linked_digest)));
  EXPECT_EQ(files_below(dir.path() / "uploads"), 0u);

  pier::result<pier::registry::fsck_report> const f = run(io, pier::registry::fsck(blobs, meta));
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->clean()) << (f->problems.empty() ? "" : f->problems.front());
}

// A stopped server's collection (`exclusive`) with no grace takes what was committed and
// released a moment ago too, although the filesystem store stamps commits rounded up to
// the next second: fsck finds nothing left.
TEST(GcRocksdbOrphans, AnExclusiveRunWithNoGraceLeavesNothingUnreferenced) {
  using pier_test::bytes_of;
  using pier_test::run;
  pier_test::temp_dir dir;
  asio::io_context io;
  auto blobs = pier::storage::filesystem_blob_store::create(dir.path()).value();
  auto meta = pier::storage::rocksdb_metadata_store::create(dir.path()).value();
  std::string const linked = pier_test::make_content(1000, 3);
  std::string const orphan = pier_test::make_content(1000, 4);
  ASSERT_TRUE(run(io, blobs.put(bytes_of(linked), pier::digest_of(linked))));
  ASSERT_TRUE(run(io, meta.link_blob("app", pier::digest_of(linked))));
  ASSERT_TRUE(run(io, blobs.put(bytes_of(orphan), pier::digest_of(orphan))));

  pier::registry::collector<pier::storage::filesystem_blob_store,
                            pier::storage::rocksdb_metadata_store>
      gc(blobs, meta, {.grace = 0s, .orphan_grace = 0s, .exclusive = true});
  pier::result<pier::registry::gc_report> const r = run(io, gc.run_once());
  ASSERT_TRUE(r && r->errors.empty());
  EXPECT_EQ(r->blobs_removed, 2u);
  EXPECT_EQ(r->orphans_removed, 1u);
  EXPECT_EQ(files_below(dir.path() / "blobs"), 0u);
  pier::result<pier::registry::fsck_report> const f = run(io, pier::registry::fsck(blobs, meta));
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->clean()) << (f->problems.empty() ? "" : f->problems.front());
}

} // namespace gc_rocksdb_test
