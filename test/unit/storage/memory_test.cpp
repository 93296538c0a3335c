// SPDX-License-Identifier: Apache-2.0
#include <pier/storage/memory.hpp>

#include "blob_store_suite.hpp"
#include "metadata_store_suite.hpp"
#include "test_util.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include <cassert>
#include <memory>
#include <string>

#include <fcntl.h>

namespace pier_test {

using pier::storage::memory_blob_store;
using pier::storage::memory_metadata_store;

static_assert(pier::storage::BlobStore<memory_blob_store>);
static_assert(pier::storage::MetadataStore<memory_metadata_store>);

template <>
struct store_maker<memory_blob_store> {
  std::unique_ptr<memory_blob_store> make() { return std::make_unique<memory_blob_store>(); }
};

template <>
struct store_maker<memory_metadata_store> {
  std::unique_ptr<memory_metadata_store> make() {
    return std::make_unique<memory_metadata_store>();
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(memory, blob_store_suite, memory_blob_store);
INSTANTIATE_TYPED_TEST_SUITE_P(memory, metadata_store_suite, memory_metadata_store);

namespace memory_test {

TEST(memory_blob_store, committed_blobs_are_sealed_and_uploads_counted) {
  asio::io_context io;
  memory_blob_store s;
  auto id = run(io, s.begin_upload()).value();
  EXPECT_EQ(s.upload_count(), 1u);
  ASSERT_TRUE(run(io, s.append(id, bytes_of("sealed"), 0u)));
  ASSERT_TRUE(run(io, s.commit(id, pier::digest_of("sealed"), std::nullopt)));
  EXPECT_EQ(s.upload_count(), 0u);
  EXPECT_EQ(s.blob_count(), 1u);

  auto src = run(io, s.open(pier::digest_of("sealed"), 0, std::nullopt)).value();
  int const fd = std::get<pier::storage::file_region>(src).fd;
  EXPECT_EQ(::pwrite(fd, "X", 1, 0), -1); // F_SEAL_WRITE
  EXPECT_EQ(read_source(src), "sealed");
  int const seals = ::fcntl(fd, F_GET_SEALS);
  EXPECT_TRUE(seals & F_SEAL_WRITE);
  EXPECT_TRUE(seals & F_SEAL_SHRINK);

  auto id2 = run(io, s.begin_upload()).value();
  EXPECT_TRUE(run(io, s.abort(id2)));
  EXPECT_EQ(s.upload_count(), 0u);
}

// The example of memory.hpp.
TEST(memory_store, doc_example) {
  asio::io_context io;
  pier::storage::memory_blob_store blobs;
  pier::storage::memory_metadata_store meta;
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::string const layer = "layer bytes";
        pier::digest const d = pier::digest_of(layer);
        pier::result<std::string> id = co_await blobs.begin_upload();
        auto size = co_await blobs.append(*id, std::as_bytes(std::span(layer)));
        auto info = co_await blobs.commit(*id, d); // verified: now stored under d
        auto linked = co_await meta.link_blob("library/ubuntu", d);
        assert(size && info && linked);
        assert((co_await meta.is_linked("library/ubuntu", d)).value());
        done = size && info && linked && (co_await meta.is_linked("library/ubuntu", d)).value();
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(done);
}

} // namespace memory_test
} // namespace pier_test
