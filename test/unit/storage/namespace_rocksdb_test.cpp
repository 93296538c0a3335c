// SPDX-License-Identifier: Apache-2.0
#include <pier/core/hasher.hpp>
#include <pier/storage/rocksdb.hpp>

#include "namespace_store_suite.hpp"
#include "raw_rocksdb.hpp"
#include "test_util.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace pier_test {

namespace namespace_rocksdb_test {

// Other suites specialise store_maker<rocksdb_metadata_store>, and the unity build makes
// their files one translation unit with this one: a type of its own gives this suite its
// maker.
struct store : pier::storage::rocksdb_metadata_store {
  explicit store(pier::storage::rocksdb_metadata_store s)
      : pier::storage::rocksdb_metadata_store(std::move(s)) {}
};

static_assert(pier::storage::NamespaceStore<pier::storage::rocksdb_metadata_store>);

namespace st = pier::storage;

/// Empties every value of `tag_index`, as a database written before tag times has them.
void forget_tag_times(std::filesystem::path const& data) {
  with_raw_rocksdb(data, [](rocksdb::DB& db, std::vector<std::string> const& families,
                            std::vector<rocksdb::ColumnFamilyHandle*> const& handles) {
    rocksdb::ColumnFamilyHandle* index = nullptr;
    for (std::size_t i = 0; i < families.size(); ++i) {
      if (families[i] == "tag_index")
        index = handles[i];
    }
    ASSERT_NE(index, nullptr);
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator({}, index));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      ASSERT_TRUE(db.Put({}, index, it->key(), "").ok());
  });
}

TEST(rocksdb_namespace_store, tags_without_a_recorded_time_report_the_epoch) {
  temp_dir dir;
  asio::io_context io;
  st::manifest_put m;
  m.bytes = R"({"schemaVersion":2})";
  m.digest = pier::digest_of(m.bytes);
  m.media_type = "application/vnd.oci.image.manifest.v1+json";
  m.tag = "v1";
  {
    auto s = st::rocksdb_metadata_store::create(dir.path()).value();
    ASSERT_TRUE(run(io, s.put_manifest("acme/app", m)));
    auto const p = run(io, s.namespace_tags("acme", "", 10)).value();
    ASSERT_EQ(p.items.size(), 1u);
    EXPECT_NE(p.items[0].pushed, std::chrono::system_clock::time_point());
  }
  forget_tag_times(dir.path());
  auto s = st::rocksdb_metadata_store::create(dir.path()).value();
  auto const p = run(io, s.namespace_tags("acme", "", 10)).value();
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].pushed, std::chrono::system_clock::time_point());
  EXPECT_EQ(p.items[0].digest, m.digest);
  EXPECT_EQ(p.items[0].size, m.bytes.size());
  // Setting it again records a time.
  ASSERT_TRUE(run(io, s.delete_tag("acme/app", "v1")));
  ASSERT_TRUE(run(io, s.set_tag("acme/app", "v1", m.digest)));
  EXPECT_NE(run(io, s.namespace_tags("acme", "", 10)).value().items.at(0).pushed,
            std::chrono::system_clock::time_point());
}

} // namespace namespace_rocksdb_test

template <>
struct store_maker<namespace_rocksdb_test::store> {
  temp_dir dir;
  std::unique_ptr<namespace_rocksdb_test::store> make() {
    return std::make_unique<namespace_rocksdb_test::store>(
        pier::storage::rocksdb_metadata_store::create(dir.path()).value());
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(rocksdb, namespace_store_suite, namespace_rocksdb_test::store);

} // namespace pier_test
