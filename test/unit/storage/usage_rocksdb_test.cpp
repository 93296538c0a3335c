// SPDX-License-Identifier: Apache-2.0
#include <pier/storage/rocksdb.hpp>

#include "test_util.hpp"
#include "usage_store_suite.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <utility>

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
    ASSERT_TRUE(run(io, s.link_blob("acme/web", layer)));
    ASSERT_TRUE(run(io, s.charge("acme/web", {{layer, 1234}})));
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
