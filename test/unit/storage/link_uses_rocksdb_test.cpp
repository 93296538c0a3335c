// SPDX-License-Identifier: Apache-2.0
// The use counts of blob links (how many of a repository's manifests reference the blob,
// what refuses the DELETE of a blob in use) checked and rewritten by the store's fsck.
#include <pier/core/hasher.hpp>
#include <pier/storage/rocksdb.hpp>

#include "raw_rocksdb.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pier_test {

namespace link_uses_rocksdb_test {

namespace st = pier::storage;

class LinkUses : public ::testing::Test {
protected:
  temp_dir dir;
  asio::io_context io;
  st::rocksdb_metadata_store meta = st::rocksdb_metadata_store::create(dir.path()).value();
  pier::digest const config = pier::digest_of("config");
  pier::digest const layer = pier::digest_of("layer");
  pier::digest const alone = pier::digest_of("a blob no manifest references");

  // A manifest of `repository` referencing `blobs`, all linked first.
  void push(std::string const& repository, std::string const& label,
            std::vector<pier::digest> blobs) {
    for (pier::digest const& d : blobs)
      ASSERT_TRUE(run(io, meta.link_blob(repository, d)));
    st::manifest_put m;
    m.bytes = R"({"schemaVersion":2,"l":")" + label + "\"}";
    m.digest = pier::digest_of(m.bytes);
    m.media_type = "application/vnd.oci.image.manifest.v1+json";
    m.tag = label;
    m.blobs = std::move(blobs);
    ASSERT_TRUE(run(io, meta.put_manifest(repository, std::move(m))));
  }

  // team/a: two manifests using config, one using layer, and a blob no manifest uses;
  // team/b: one manifest using config (the same blob, counted per repository).
  void SetUp() override {
    push("team/a", "one", {config, layer});
    push("team/a", "two", {config});
    push("team/b", "one", {config});
    ASSERT_TRUE(run(io, meta.link_blob("team/a", alone)));
  }

  // Writes link values with RocksDB alone while the store is shut, as a bug, damage or a
  // version before the counts could have left them.
  void write_links(std::vector<std::pair<std::string, std::string>> const& values) {
    { st::rocksdb_metadata_store closing = std::move(meta); }
    with_raw_rocksdb(dir.path(), [&](rocksdb::DB& db, auto const& families, auto const& handles) {
      auto const at = std::find(families.begin(), families.end(), "blob_links");
      ASSERT_NE(at, families.end());
      rocksdb::ColumnFamilyHandle* const h =
          handles[static_cast<std::size_t>(at - families.begin())];
      for (auto const& [k, v] : values)
        ASSERT_TRUE(db.Put({}, h, k, v).ok());
    });
    meta = st::rocksdb_metadata_store::create(dir.path()).value();
  }

  static std::string link_key(std::string const& repository, pier::digest const& d) {
    return repository + '\0' + d.str();
  }
  static std::string u64(std::uint64_t n) { return std::string(reinterpret_cast<char*>(&n), 8); }

  std::vector<std::string> problems() {
    auto r = run(io, meta.fsck_link_uses());
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : std::vector<std::string>{};
  }
};

TEST_F(LinkUses, CountsKeptByTheStoreAreRight) {
  EXPECT_EQ(problems(), std::vector<std::string>{});
}

// Each wrong, unknown or unreadable count is a line naming repository and blob; the
// rewrite puts the recount in, after which the DELETE of a blob in use is refused again and
// one no manifest uses goes.
TEST_F(LinkUses, WrongUnknownAndUnreadableCountsAreReportedAndRewritten) {
  write_links({{link_key("team/a", config), u64(5)},
               {link_key("team/b", config), ""},
               {link_key("team/a", layer), "xyz"},
               {link_key("team/a", alone), u64(1)}});
  std::vector<std::string> found = problems();
  std::sort(found.begin(), found.end());
  std::vector<std::string> want = {
      "use count of " + config.str() + " in team/a is 5, the manifests say 2",
      "use count of " + config.str() +
          " in team/b is unknown (a link from before the counts), "
          "the manifests say 1",
      "use count of " + layer.str() + " in team/a is unreadable, the manifests say 1",
      "use count of " + alone.str() + " in team/a is 1, the manifests say 0"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(found, want);

  ASSERT_TRUE(run(io, meta.fsck_write_link_uses()));
  EXPECT_EQ(problems(), std::vector<std::string>{});
  // The rewritten counts are what the store acts on.
  st::blob_unlink const in_use = run(io, meta.unlink_unreferenced_blob("team/b", config)).value();
  EXPECT_FALSE(in_use.unlinked);
  EXPECT_TRUE(in_use.referenced_by);
  EXPECT_TRUE(run(io, meta.unlink_unreferenced_blob("team/a", alone)).value().unlinked);
}

// The rewrite is a record of the database, and a link it did not touch keeps its count.
TEST_F(LinkUses, RewrittenCountsSurviveAReopen) {
  write_links({{link_key("team/a", layer), u64(9)}});
  ASSERT_EQ(problems().size(), 1u);
  ASSERT_TRUE(run(io, meta.fsck_write_link_uses()));
  { st::rocksdb_metadata_store closing = std::move(meta); }
  meta = st::rocksdb_metadata_store::create(dir.path()).value();
  EXPECT_EQ(problems(), std::vector<std::string>{});
}

} // namespace link_uses_rocksdb_test

} // namespace pier_test
