// SPDX-License-Identifier: Apache-2.0
#include <pier/core/hasher.hpp>
#include <pier/storage/rocksdb.hpp>

#include "collectable_store_suite.hpp"
#include "raw_rocksdb.hpp"
#include "test_util.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace pier_test {

namespace collectable_rocksdb_test {

// Other suites specialise store_maker<rocksdb_metadata_store>, and the unity build makes
// their files one translation unit with this one: a type of its own gives this suite its
// maker.
struct store : pier::storage::rocksdb_metadata_store {
  explicit store(pier::storage::rocksdb_metadata_store s)
      : pier::storage::rocksdb_metadata_store(std::move(s)) {}
};

static_assert(pier::storage::CollectableStore<pier::storage::rocksdb_metadata_store>);

namespace st = pier::storage;
using clock = std::chrono::system_clock;
using namespace std::chrono_literals;
using collectable_store_suite_detail::later;

/// The column families layout version 3 added for garbage collection.
std::vector<std::string> const gc_families = {"blob_times", "blob_repos", "manifest_parents",
                                              "untagged", "untagged_index"};

/// Turns the database in `<data>/meta` into what layout version 2 left: no column family
/// of garbage collection, `pier.schema` 2.
void make_version_2(std::filesystem::path const& data) {
  with_raw_rocksdb(data, [](rocksdb::DB& db, std::vector<std::string> const& families,
                            std::vector<rocksdb::ColumnFamilyHandle*> const& handles) {
    for (std::size_t i = 0; i < families.size(); ++i) {
      if (std::find(gc_families.begin(), gc_families.end(), families[i]) != gc_families.end()) {
        ASSERT_TRUE(db.DropColumnFamily(handles[i]).ok());
      }
    }
    ASSERT_TRUE(db.Put({}, db.DefaultColumnFamily(), "pier.schema", "2").ok());
  });
}

std::vector<std::string> families_of(std::filesystem::path const& data) {
  std::vector<std::string> out;
  EXPECT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), (data / "meta").string(), &out).ok());
  return out;
}

st::manifest_put make(std::string const& label, std::optional<std::string> tag,
                      std::vector<pier::digest> blobs, std::vector<pier::digest> children = {}) {
  st::manifest_put m;
  m.bytes = "{\"upgrade\":\"" + label + "\"}";
  m.digest = pier::digest_of(m.bytes);
  m.media_type = "application/vnd.oci.image.manifest.v1+json";
  m.tag = std::move(tag);
  m.blobs = std::move(blobs);
  m.manifests = std::move(children);
  return m;
}

std::vector<pier::digest> unreferenced(asio::io_context& io, st::rocksdb_metadata_store& s) {
  return collectable_store_suite_detail::digests(
      run(io, s.unreferenced_blobs(later(), "", 100)).value());
}

// A database of layout 2 has links, counts and manifests but none of GC's records: opening
// it derives last uses, reverse links and parents, so that GC works on what was there.
TEST(rocksdb_collectable_store, a_version_2_database_gains_what_gc_needs) {
  temp_dir dir;
  asio::io_context io;
  pier::digest const linked = pier::digest_of("linked layer");
  pier::digest const used = pier::digest_of("used layer");
  pier::digest const unlinked = pier::digest_of("unlinked but referenced");
  pier::digest child;
  pier::digest index;
  {
    auto s = st::rocksdb_metadata_store::create(dir.path()).value();
    for (pier::digest const& d : {linked, used, unlinked})
      ASSERT_TRUE(run(io, s.link_blob("lib/app", d)));
    ASSERT_TRUE(run(io, s.link_blob("other/app", linked)));
    st::manifest_put c = make("child", std::nullopt, {used, unlinked});
    child = c.digest;
    ASSERT_TRUE(run(io, s.put_manifest("lib/app", std::move(c))));
    st::manifest_put i = make("index", "v1", {}, {child});
    index = i.digest;
    ASSERT_TRUE(run(io, s.put_manifest("lib/app", std::move(i))));
    ASSERT_TRUE(run(io, s.unlink_blob("lib/app", unlinked)));
  }
  make_version_2(dir.path());
  EXPECT_EQ(families_of(dir.path()).size(), 19u); // 18 and the default one

  auto const opened = clock::now();
  auto s = st::rocksdb_metadata_store::create(dir.path());
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(families_of(dir.path()).size(), 24u);

  // Last uses are the time of the upgrade; reverse links let a release unlink everywhere.
  auto const candidates = run(io, s->unreferenced_blobs(later(), "", 100)).value();
  ASSERT_EQ(candidates.size(), 1u);
  EXPECT_EQ(candidates[0].digest, linked);
  EXPECT_GE(candidates[0].last_used, opened);
  EXPECT_TRUE(run(io, s->unreferenced_blobs(opened, "", 100)).value().empty());
  EXPECT_TRUE(run(io, s->release_blob(linked, later())).value());
  EXPECT_FALSE(run(io, s->is_linked("lib/app", linked)).value());
  EXPECT_FALSE(run(io, s->is_linked("other/app", linked)).value());

  // Parents are known: the child of a deleted index is untagged, and its blobs, the
  // unlinked one included, become candidates once it goes.
  ASSERT_TRUE(run(io, s->delete_manifest("lib/app", index)));
  auto const untagged = run(io, s->untagged_manifests(later(), 10)).value();
  ASSERT_EQ(untagged.size(), 1u);
  EXPECT_EQ(untagged[0].digest, child);
  EXPECT_TRUE(run(io, s->remove_untagged("lib/app", child, later())).value());
  std::vector<pier::digest> both{used, unlinked};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(unreferenced(io, *s), both);
}

// Records survive a restart: last uses, reverse links, parents, untagged records.
TEST(rocksdb_collectable_store, gc_records_survive_a_reopen) {
  temp_dir dir;
  asio::io_context io;
  pier::digest const layer = pier::digest_of("layer");
  pier::digest m;
  clock::time_point t0;
  clock::time_point t1;
  {
    auto s = st::rocksdb_metadata_store::create(dir.path()).value();
    t0 = clock::now();
    ASSERT_TRUE(run(io, s.link_blob("lib/app", layer)));
    st::manifest_put p = make("m", "v1", {layer});
    m = p.digest;
    ASSERT_TRUE(run(io, s.put_manifest("lib/app", std::move(p))));
    ASSERT_TRUE(run(io, s.delete_tag("lib/app", "v1")));
    t1 = clock::now();
  }
  auto s = st::rocksdb_metadata_store::create(dir.path()).value();
  auto const untagged = run(io, s.untagged_manifests(later(), 10)).value();
  ASSERT_EQ(untagged.size(), 1u);
  EXPECT_GE(untagged[0].since, t0);
  EXPECT_LE(untagged[0].since, t1);
  EXPECT_TRUE(run(io, s.remove_untagged("lib/app", m, later())).value());
  auto const blobs = run(io, s.unreferenced_blobs(later(), "", 10)).value();
  ASSERT_EQ(blobs.size(), 1u);
  EXPECT_GE(blobs[0].last_used, t0);
  EXPECT_LE(blobs[0].last_used, t1);
}

// By default a touch within a minute of the last use writes nothing: reads stay cheap.
TEST(rocksdb_collectable_store, a_recent_use_is_not_touched_again) {
  temp_dir dir;
  asio::io_context io;
  auto s = st::rocksdb_metadata_store::create(dir.path()).value();
  pier::digest const layer = pier::digest_of("layer");
  ASSERT_TRUE(run(io, s.link_blob("lib/app", layer)));
  auto const linked = clock::now();
  ASSERT_TRUE(run(io, s.touch_blob(layer)));
  auto const blobs = run(io, s.unreferenced_blobs(later(), "", 10)).value();
  ASSERT_EQ(blobs.size(), 1u);
  EXPECT_LE(blobs[0].last_used, linked);
}

} // namespace collectable_rocksdb_test

template <>
struct store_maker<collectable_rocksdb_test::store> {
  temp_dir dir;
  std::unique_ptr<collectable_rocksdb_test::store> make() {
    pier::storage::rocksdb_options options;
    options.touch_interval = std::chrono::seconds(0); // every touch writes: the suite sees it
    return std::make_unique<collectable_rocksdb_test::store>(
        pier::storage::rocksdb_metadata_store::create(dir.path(), options).value());
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(rocksdb, collectable_store_suite, collectable_rocksdb_test::store);

} // namespace pier_test
