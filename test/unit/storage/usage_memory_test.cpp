// SPDX-License-Identifier: Apache-2.0
#include <pier/storage/memory.hpp>

#include "usage_store_suite.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace pier_test {

namespace usage_memory_test {

// A type of its own, so that this suite's maker is not another file's specialisation in
// the unity build.
struct store : pier::storage::memory_metadata_store {};

static_assert(pier::storage::QuotaStore<pier::storage::memory_metadata_store>);

// The example of storage/usage.hpp, as written there.
template <pier::storage::QuotaStore M>
asio::awaitable<bool> fits(M& meta, std::string repo, pier::digest layer) {
  std::vector<pier::storage::sized_blob> blobs{{layer, 1024}};
  auto q = co_await meta.charge(repo, blobs);
  co_return q && !q->exceeded();
}

TEST(usage_memory, the_header_example_checks_a_quota) {
  asio::io_context io;
  pier::storage::memory_metadata_store meta;
  pier::digest const layer = pier::digest_of("layer");
  EXPECT_TRUE(run(io, fits(meta, "acme/web", layer)));
  ASSERT_TRUE(run(io, meta.set_quota("acme", 1023)));
  EXPECT_FALSE(run(io, fits(meta, "acme/web", layer)));
  EXPECT_TRUE(run(io, fits(meta, "globex/web", layer)));
}

} // namespace usage_memory_test

template <>
struct store_maker<usage_memory_test::store> {
  std::unique_ptr<usage_memory_test::store> make() {
    return std::make_unique<usage_memory_test::store>();
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(memory, usage_store_suite, usage_memory_test::store);

} // namespace pier_test
