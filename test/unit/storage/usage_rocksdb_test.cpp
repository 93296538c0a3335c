// SPDX-License-Identifier: Apache-2.0
#include <pier/core/hasher.hpp>
#include <pier/storage/rocksdb.hpp>

#include "raw_rocksdb.hpp"
#include "test_util.hpp"
#include "usage_store_suite.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pier_test {

namespace usage_rocksdb_test {

// A type of its own, so that this suite's maker is not another file's specialisation in
// the unity build.
struct store : pier::storage::rocksdb_metadata_store {
  explicit store(pier::storage::rocksdb_metadata_store s)
      : pier::storage::rocksdb_metadata_store(std::move(s)) {}
};

static_assert(pier::storage::QuotaStore<pier::storage::rocksdb_metadata_store>);

namespace st = pier::storage;

// Quotas and recorded sizes are records of the database: a restart keeps them.
TEST(rocksdb_usage_store, quotas_and_sizes_survive_a_reopen) {
  temp_dir dir;
  asio::io_context io;
  pier::digest const layer = pier::digest_of("layer");
  {
    auto s = st::rocksdb_metadata_store::create(dir.path()).value();
    ASSERT_TRUE(run(io, s.set_quota("acme", 4096)));
    ASSERT_TRUE(run(io, s.charge("acme/web", {{layer, 1234}})));
    ASSERT_TRUE(run(io, s.link_blob("acme/web", layer)));
    st::manifest_put m;
    m.bytes = "manifest";
    m.digest = pier::digest_of(m.bytes);
    m.media_type = "application/vnd.oci.image.manifest.v1+json";
    m.blobs = {layer};
    ASSERT_TRUE(run(io, s.put_manifest("acme/web", m)));
  }
  auto s = st::rocksdb_metadata_store::create(dir.path()).value();
  EXPECT_EQ(run(io, s.get_quota("acme")).value(), std::optional<std::uint64_t>(4096));
  st::namespace_usage const u = run(io, s.usage("acme", "", 10)).value();
  EXPECT_EQ(u.usage, (st::storage_usage{1234, 0}));
  EXPECT_EQ(u.quota, std::optional<std::uint64_t>(4096));
}

/// Turns the database in `<data>/meta` into what layout version 3 left: no
/// `namespace_blobs` column family, `pier.schema` 3.
void make_version_3(std::filesystem::path const& data) {
  with_raw_rocksdb(data, [](rocksdb::DB& db, std::vector<std::string> const& families,
                            std::vector<rocksdb::ColumnFamilyHandle*> const& handles) {
    for (std::size_t i = 0; i < families.size(); ++i) {
      if (families[i] == "namespace_blobs") {
        ASSERT_TRUE(db.DropColumnFamily(handles[i]).ok());
      }
    }
    ASSERT_TRUE(db.Put({}, db.DefaultColumnFamily(), "pier.schema", "3").ok());
  });
}

st::manifest_put manifest(std::string const& label, std::vector<pier::digest> blobs) {
  st::manifest_put m;
  m.bytes = "manifest " + label;
  m.digest = pier::digest_of(m.bytes);
  m.media_type = "application/vnd.oci.image.manifest.v1+json";
  m.blobs = std::move(blobs);
  m.tag = "v1";
  return m;
}

// A database of layout 3 has manifests and recorded sizes but no namespace counts: opening
// it counts them from the manifests, so that usage and the quota check see what is there.
TEST(rocksdb_usage_store, a_version_3_database_gains_the_namespace_totals) {
  temp_dir dir;
  asio::io_context io;
  pier::digest const shared = pier::digest_of("shared layer");
  pier::digest const own = pier::digest_of("own layer");
  pier::digest const unsized = pier::digest_of("layer of unknown size");
  {
    auto s = st::rocksdb_metadata_store::create(dir.path()).value();
    for (auto const& [repo, blobs] :
         {std::pair<std::string, std::vector<pier::digest>>{"acme/web", {shared, own}},
          {"acme/db", {shared, unsized}},
          {"globex/app", {shared}},
          {"solo", {own}}}) {
      for (pier::digest const& b : blobs)
        ASSERT_TRUE(run(io, s.link_blob(repo, b)));
      ASSERT_TRUE(run(io, s.charge(repo, {{shared, 1000}, {own, 10}})));
      ASSERT_TRUE(run(io, s.put_manifest(repo, manifest(repo, blobs))));
    }
    ASSERT_TRUE(run(io, s.set_quota("acme", 1015)));
  }
  make_version_3(dir.path());

  {
    auto s = st::rocksdb_metadata_store::create(dir.path());
    ASSERT_TRUE(s) << s.error().message();
    // acme: shared (also globex's) and own (also solo's): 1010, all shared; unsized counts 0.
    EXPECT_EQ(run(io, s->usage("acme", "", 10)).value().usage, (st::storage_usage{0, 1010}));
    EXPECT_EQ(run(io, s->usage("globex", "", 10)).value().usage, (st::storage_usage{0, 1000}));
    EXPECT_EQ(run(io, s->charge("acme/x", {})).value().used, 1010u);
    // The link checks against the counted total: 6 more bytes do not fit, 5 do.
    pier::digest const six = pier::digest_of("six bytes");
    pier::digest const five = pier::digest_of("five bytes");
    ASSERT_TRUE(run(io, s->charge("acme/db", {{six, 6}, {five, 5}})));
    EXPECT_EQ(run(io, s->link_blob("acme/db", six)).error(), st::storage_error::quota_exceeded);
    ASSERT_TRUE(run(io, s->link_blob("acme/db", five)));
    EXPECT_TRUE(run(io, s->put_manifest("acme/db", manifest("five", {five}))));
    // Deleting what was counted at the upgrade takes it back, but for `own`, which acme/web
    // still links.
    ASSERT_TRUE(run(io, s->delete_manifest("acme/web", manifest("acme/web", {}).digest)));
    EXPECT_EQ(run(io, s->usage("acme", "", 10)).value().usage, (st::storage_usage{5, 1000, 10}));
  }
  auto s = st::rocksdb_metadata_store::create(dir.path()); // layout 5 now: opens as it is
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(run(io, s->charge("acme/x", {})).value().used, 1015u);
}

// Layout 4 counted only what manifests reference: opening it counts the links too, so that
// blobs uploaded but not (or no longer) referenced count against the namespace.
TEST(rocksdb_usage_store, a_version_4_database_gains_the_link_counts) {
  temp_dir dir;
  asio::io_context io;
  pier::digest const used = pier::digest_of("referenced layer");
  pier::digest const loose = pier::digest_of("uploaded, never referenced");
  {
    auto s = st::rocksdb_metadata_store::create(dir.path()).value();
    ASSERT_TRUE(run(io, s.charge("acme/web", {{used, 100}, {loose, 7}})));
    ASSERT_TRUE(run(io, s.link_blob("acme/web", used)));
    ASSERT_TRUE(run(io, s.link_blob("acme/web", loose)));
    ASSERT_TRUE(run(io, s.put_manifest("acme/web", manifest("acme/web", {used}))));
  }
  // What layout 4 had: entries of two numbers, none for a blob only linked.
  with_raw_rocksdb(dir.path(), [&](rocksdb::DB& db, std::vector<std::string> const& families,
                                   std::vector<rocksdb::ColumnFamilyHandle*> const& handles) {
    for (std::size_t i = 0; i < families.size(); ++i) {
      if (families[i] != "namespace_blobs")
        continue;
      std::string entry;
      entry.append(8, '\0');
      entry[0] = 1; // count 1, little-endian as the store's encoder writes
      std::string size(8, '\0');
      size[0] = 100;
      ASSERT_TRUE(db.Put({}, handles[i], "acme" + std::string(1, '\0') + used.str(), entry + size).ok());
      ASSERT_TRUE(db.Delete({}, handles[i], "acme" + std::string(1, '\0') + loose.str()).ok());
      ASSERT_TRUE(db.Put({}, handles[i], "acme", size).ok());
    }
    ASSERT_TRUE(db.Put({}, db.DefaultColumnFamily(), "pier.schema", "4").ok());
  });
  auto s = st::rocksdb_metadata_store::create(dir.path());
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(run(io, s->usage("acme", "", 10)).value().usage, (st::storage_usage{100, 0, 7}));
  EXPECT_EQ(run(io, s->charge("acme/x", {})).value().used, 107u);
}

} // namespace usage_rocksdb_test

template <>
struct store_maker<usage_rocksdb_test::store> {
  temp_dir dir;
  std::unique_ptr<usage_rocksdb_test::store> make() {
    return std::make_unique<usage_rocksdb_test::store>(
        pier::storage::rocksdb_metadata_store::create(dir.path()).value());
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(rocksdb, usage_store_suite, usage_rocksdb_test::store);

} // namespace pier_test
