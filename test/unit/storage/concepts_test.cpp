// SPDX-License-Identifier: Apache-2.0
#include <pier/storage/concepts.hpp>

#include <pier/storage/memory.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <cassert>
#include <string>
#include <system_error>

namespace concepts_test {

namespace st = pier::storage;

static_assert(st::BlobStore<st::blob_store_archetype>);
static_assert(st::MetadataStore<st::metadata_store_archetype>);
static_assert(!st::BlobStore<st::metadata_store_archetype>);
static_assert(!st::MetadataStore<st::blob_store_archetype>);
static_assert(!st::BlobStore<int>);
static_assert(st::BlobStore<st::memory_blob_store>);
static_assert(st::MetadataStore<st::memory_metadata_store>);
static_assert(st::AccountStore<st::account_store_archetype>);
static_assert(st::AccountStore<st::memory_metadata_store>);
static_assert(!st::AccountStore<st::metadata_store_archetype>);
static_assert(!st::MetadataStore<st::account_store_archetype>);

// The example of concepts.hpp.
template <st::BlobStore B, st::MetadataStore M>
asio::awaitable<pier::result<void>> push_blob(B& blobs, M& meta, std::string repo,
                                              std::string content) {
  pier::digest const d = pier::digest_of(content);
  auto bytes = std::as_bytes(std::span(content));
  if (auto r = co_await blobs.put(bytes, d); !r)
    co_return r.error();
  co_return co_await meta.link_blob(repo, d); // only after the blob is durable
}

TEST(storage_concepts, example_compiles_and_runs) {
  asio::io_context io;
  st::memory_blob_store blobs;
  st::memory_metadata_store meta;
  EXPECT_TRUE(pier_test::run(io, push_blob(blobs, meta, "a/b", "hello")));
  EXPECT_TRUE(pier_test::run(io, meta.is_linked("a/b", pier::digest_of("hello"))).value());
  EXPECT_TRUE(pier_test::run(io, blobs.stat(pier::digest_of("hello"))));
}

// The examples of error.hpp and types.hpp.
TEST(storage_concepts, doc_examples) {
  std::error_code ec = pier::storage::storage_error::tag_unknown;
  assert(pier::to_oci_error(ec) == pier::oci_error::manifest_unknown);
  EXPECT_EQ(pier::to_oci_error(ec), pier::oci_error::manifest_unknown);

  std::string id = pier::storage::make_upload_id();
  assert(pier::storage::is_upload_id(id) && id.size() == 36);
  assert(pier::storage::make_upload_id() != pier::storage::make_upload_id());
  assert(!pier::storage::is_upload_id("../../etc/passwd"));
  EXPECT_TRUE(pier::storage::is_upload_id(id));
}

TEST(storage_concepts, upload_ids) {
  std::string const id = st::make_upload_id();
  EXPECT_TRUE(st::is_upload_id(id));
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(st::make_upload_id(), id);
  EXPECT_FALSE(st::is_upload_id("../../etc/passwd"));
  EXPECT_FALSE(st::is_upload_id(""));
  std::string upper = id;
  upper[0] = 'A';
  EXPECT_FALSE(st::is_upload_id(upper));
  std::string moved_dash = id;
  std::swap(moved_dash[8], moved_dash[9]);
  EXPECT_FALSE(st::is_upload_id(moved_dash));
  static_assert(st::is_upload_id("0123abcd-0000-4000-8000-0123456789ab"));
}

TEST(storage_concepts, errors_map_to_oci_codes) {
  using pier::oci_error;
  using st::storage_error;
  struct {
    storage_error e;
    oci_error oci;
  } const cases[] = {
      {storage_error::blob_unknown, oci_error::blob_unknown},
      {storage_error::upload_unknown, oci_error::blob_upload_unknown},
      {storage_error::upload_offset_mismatch, oci_error::range_invalid},
      {storage_error::size_mismatch, oci_error::size_invalid},
      {storage_error::range_invalid, oci_error::range_invalid},
      {storage_error::manifest_unknown, oci_error::manifest_unknown},
      {storage_error::tag_unknown, oci_error::manifest_unknown},
      {storage_error::name_unknown, oci_error::name_unknown},
      {storage_error::manifest_blob_unknown, oci_error::manifest_blob_unknown},
      {storage_error::corrupt, oci_error::unknown},
  };
  for (auto const& c : cases) {
    std::error_code const ec = c.e;
    EXPECT_EQ(pier::to_oci_error(ec), c.oci) << ec.message();
    EXPECT_STREQ(ec.category().name(), "pier.storage");
    EXPECT_FALSE(ec.message().empty());
  }
  EXPECT_EQ(pier::to_oci_error(pier::digest_error::mismatch), oci_error::digest_invalid);
}

} // namespace concepts_test
