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

// Filesystem blobs and RocksDB metadata in a temporary directory, with the collector and
// fsck over them.
class GcRocksdbOrphans : public ::testing::Test {
protected:
  /// Commits `content` to the blob store (linked nowhere) and returns its digest.
  pier::digest store(std::string const& content) {
    pier::digest d = pier::digest_of(content);
    EXPECT_TRUE(pier_test::run(io_, blobs_.put(pier_test::bytes_of(content), d)));
    return d;
  }
  pier::registry::gc_report collect(pier::registry::gc_options o) {
    pier::registry::collector<pier::storage::filesystem_blob_store,
                              pier::storage::rocksdb_metadata_store>
        gc(blobs_, meta_, o);
    pier::result<pier::registry::gc_report> r = pier_test::run(io_, gc.run_once());
    EXPECT_TRUE(r && r->errors.empty());
    return r ? *r : pier::registry::gc_report{};
  }
  bool stored(pier::digest const& d) {
    return static_cast<bool>(pier_test::run(io_, blobs_.stat(d)));
  }
  void expect_fsck_clean() {
    pier::result<pier::registry::fsck_report> const f =
        pier_test::run(io_, pier::registry::fsck(blobs_, meta_));
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->clean()) << (f->problems.empty() ? "" : f->problems.front());
  }

  pier_test::temp_dir dir_;
  asio::io_context io_;
  pier::storage::filesystem_blob_store blobs_ =
      pier::storage::filesystem_blob_store::create(dir_.path()).value();
  pier::storage::rocksdb_metadata_store meta_ =
      pier::storage::rocksdb_metadata_store::create(dir_.path()).value();
};

// What a SIGKILL between an upload's commit and its link, or between creating an upload's
// file and recording its session, leaves: files no metadata knows. The online collector
// removes them once older than the grace (blobs) or the upload TTL (uploads), and leaves
// fsck nothing to report; what the metadata knows stays.
TEST_F(GcRocksdbOrphans, FilesNoMetadataKnowsAreRemovedPastTheGrace) {
  std::string const orphan = pier_test::make_content(1000, 1);
  pier::digest const orphan_digest = store(orphan);
  pier::digest const linked_digest = store(pier_test::make_content(1000, 2));
  // Used now: within the grace.
  ASSERT_TRUE(pier_test::run(io_, meta_.link_blob("app", linked_digest)));
  pier::result<pier::storage::upload_id> const upload = pier_test::run(io_, blobs_.begin_upload());
  ASSERT_TRUE(upload);
  ASSERT_TRUE(pier_test::run(io_, blobs_.append(*upload, pier_test::bytes_of(orphan), 0)));

  pier::registry::gc_options const options{.grace = 1h, .upload_ttl = 1h};
  pier::registry::gc_report r = collect(options); // all of it new: nothing goes
  EXPECT_EQ(r.candidates, 0u);
  EXPECT_EQ(r.uploads_expired, 0u);
  EXPECT_EQ(files_below(dir_.path() / "blobs"), 2u);

  age_files_below(dir_.path() / "blobs", 2h);
  age_files_below(dir_.path() / "uploads", 2h);
  r = collect(options);
  EXPECT_EQ(r.candidates, 1u); // the linked blob was used within the grace
  EXPECT_EQ(r.blobs_removed, 1u);
  EXPECT_EQ(r.orphans_removed, 1u);
  EXPECT_EQ(r.bytes_freed, orphan.size());
  EXPECT_EQ(r.uploads_expired, 1u);
  EXPECT_FALSE(stored(orphan_digest));
  EXPECT_TRUE(stored(linked_digest));
  EXPECT_EQ(files_below(dir_.path() / "uploads"), 0u);
  expect_fsck_clean();
}

// A stopped server's collection (`exclusive`) with no grace takes what was committed and
// released a moment ago too, although the filesystem store stamps commits rounded up to
// the next second: fsck finds nothing left.
TEST_F(GcRocksdbOrphans, AnExclusiveRunWithNoGraceLeavesNothingUnreferenced) {
  ASSERT_TRUE(pier_test::run(io_, meta_.link_blob("app", store(pier_test::make_content(1000, 3)))));
  store(pier_test::make_content(1000, 4));
  pier::registry::gc_report const r = collect({.grace = 0s, .orphan_grace = 0s, .exclusive = true});
  EXPECT_EQ(r.blobs_removed, 2u);
  EXPECT_EQ(r.orphans_removed, 1u);
  EXPECT_EQ(files_below(dir_.path() / "blobs"), 0u);
  expect_fsck_clean();
}

} // namespace gc_rocksdb_test
