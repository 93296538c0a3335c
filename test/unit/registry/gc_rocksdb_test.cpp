// SPDX-License-Identifier: Apache-2.0
// The garbage collector's stress test over the stores the example server runs on:
// filesystem blobs and RocksDB metadata in a temporary directory.
#include <pier/registry/gc.hpp>

#include "../storage/test_util.hpp"
#include "gc_stress.hpp"

#include <pier/storage/filesystem.hpp>
#include <pier/storage/rocksdb.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <filesystem>

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
}

} // namespace gc_rocksdb_test
