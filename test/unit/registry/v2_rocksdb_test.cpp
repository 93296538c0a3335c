// SPDX-License-Identifier: Apache-2.0
// The v2 API over the stores the example server runs on: filesystem blobs and RocksDB
// metadata in a temporary directory, with restarts in the middle.
#include <pier/registry/v2.hpp>

#include "../storage/test_util.hpp"
#include "../storage/raw_rocksdb.hpp"
#include "blob_delete_scenario.hpp"
#include "test_registry.hpp"

#include <pier/storage/filesystem.hpp>
#include <pier/storage/rocksdb.hpp>

#include <boost/json/parse.hpp>
#include <rocksdb/db.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pier_test {
namespace v2_rocksdb_test {

using pier::storage::filesystem_blob_store;
using pier::storage::rocksdb_metadata_store;

// Stores and server that can be torn down and brought back over the same directory.
class V2Durable : public ::testing::Test {
protected:
  V2Durable() { start(); }
  ~V2Durable() override { stop(); }

  void start() {
    blobs_.emplace(filesystem_blob_store::create(dir_.path()).value());
    meta_.emplace(rocksdb_metadata_store::create(dir_.path()).value());
    server_ = std::make_unique<registry_server>(*blobs_, *meta_);
  }
  void stop() {
    server_.reset();
    meta_.reset();
    blobs_.reset();
  }
  void restart() {
    stop();
    start();
  }
  http_client client() const { return server_->client(); }

  temp_dir dir_;
  std::optional<filesystem_blob_store> blobs_;
  std::optional<rocksdb_metadata_store> meta_;
  std::unique_ptr<registry_server> server_;
};

TEST_F(V2Durable, PushRestartPull) {
  http_client c = client();
  content const cfg = config(1);
  content const big = layer(2 * 1024 * 1024 + 5, 2);
  content const small = layer(1000, 3);
  content const image = image_manifest(cfg, {big, small});

  // The big layer in chunks, the rest monolithic.
  reply r = c.request("POST", "/v2/team/app/blobs/uploads/");
  ASSERT_EQ(r.status, 202);
  std::string const location = r.header_or_empty("Location");
  std::size_t const half = big.bytes.size() / 2;
  r = c.request("PATCH", location, {{"Content-Range", "0-" + std::to_string(half - 1)}},
                big.bytes.substr(0, half));
  ASSERT_EQ(r.status, 202) << r.body;
  r = c.request("PATCH", location, {}, big.bytes.substr(half));
  ASSERT_EQ(r.status, 202) << r.body;
  r = c.request("PUT", location + "?digest=" + big.digest.str());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_TRUE(std::filesystem::exists(blobs_->path_of(big.digest)));
  push_blob(c, "team/app", cfg);
  push_blob(c, "team/app", small);
  ASSERT_EQ(put_manifest(c, "team/app", "1.0", image).status, 201);

  content const empty("{}", mt::oci_empty);
  push_blob(c, "team/app", empty);
  content const sig =
      image_manifest(empty, {}, mt::oci_manifest,
                     R"("artifactType":"application/x-sig","subject":)" + image.descriptor());
  ASSERT_EQ(put_manifest(c, "team/app", sig.digest.str(), sig).status, 201);

  restart();
  c = client();
  r = c.get("/v2/team/app/manifests/1.0");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, image.bytes);
  EXPECT_EQ(r.header("Docker-Content-Digest"), image.digest.str());
  for (content const* b : {&cfg, &big, &small}) {
    r = c.get("/v2/team/app/blobs/" + b->digest.str());
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body == b->bytes);
  }
  r = c.get("/v2/team/app/blobs/" + big.digest.str(), {{"Range", "bytes=1000-1999"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, big.bytes.substr(1000, 1000));
  r = c.get("/v2/team/app/tags/list");
  EXPECT_EQ(r.body, R"({"name":"team/app","tags":["1.0"]})");
  r = c.get("/v2/_catalog");
  EXPECT_EQ(r.body, R"({"repositories":["team/app"]})");
  r = c.get("/v2/team/app/referrers/" + image.digest.str());
  boost::json::array const list = boost::json::parse(r.body).at("manifests").as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("digest").as_string(), sig.digest.str());
  EXPECT_EQ(list[0].at("artifactType").as_string(), "application/x-sig");

  // Deletes survive a restart too.
  ASSERT_EQ(c.request("DELETE", "/v2/team/app/manifests/1.0").status, 202);
  restart();
  c = client();
  EXPECT_EQ(c.get("/v2/team/app/manifests/1.0").status, 404);
  EXPECT_EQ(c.get("/v2/team/app/manifests/" + image.digest.str()).status, 200);
}

TEST_F(V2Durable, UploadResumesAfterRestart) {
  http_client c = client();
  content const b = layer(300000, 4);
  reply r = c.request("POST", "/v2/a/blobs/uploads/");
  ASSERT_EQ(r.status, 202);
  std::string const location = r.header_or_empty("Location");
  r = c.request("PATCH", location, {{"Content-Range", "0-99999"}}, b.bytes.substr(0, 100000));
  ASSERT_EQ(r.status, 202);

  restart();
  c = client();
  r = c.get(location);
  ASSERT_EQ(r.status, 204);
  EXPECT_EQ(r.header("Range"), "0-99999");
  r = c.request("PATCH", location, {{"Content-Range", "0-99999"}}, b.bytes.substr(0, 100000));
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.header("Range"), "0-99999");
  r = c.request("PATCH", location, {{"Content-Range", "100000-299999"}}, b.bytes.substr(100000));
  ASSERT_EQ(r.status, 202);
  // The hash state did not survive: the commit hashes the file again.
  r = c.request("PUT", location + "?digest=" + b.digest.str());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_TRUE(c.get("/v2/a/blobs/" + b.digest.str()).body == b.bytes);
}

TEST_F(V2Durable, MismatchLeavesNoFile) {
  http_client const c = client();
  content const b = layer(5000, 5);
  pier::digest const wrong = pier::digest_of("wrong");
  reply r = c.request("POST", "/v2/a/blobs/uploads/?digest=" + wrong.str(), {}, b.bytes);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "DIGEST_INVALID");
  EXPECT_FALSE(std::filesystem::exists(blobs_->path_of(wrong)));
  EXPECT_FALSE(std::filesystem::exists(blobs_->path_of(b.digest)));
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() / "uploads"));
  EXPECT_EQ(c.head("/v2/a/blobs/" + b.digest.str()).status, 404);
  // Cancelled uploads leave no file either.
  r = c.request("POST", "/v2/a/blobs/uploads/");
  std::string const location = r.header_or_empty("Location");
  ASSERT_EQ(c.request("PATCH", location, {}, b.bytes).status, 202);
  EXPECT_FALSE(std::filesystem::is_empty(dir_.path() / "uploads"));
  EXPECT_EQ(c.request("DELETE", location).status, 204);
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() / "uploads"));
}

std::size_t open_descriptors() {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                                std::filesystem::directory_iterator()));
}

// Issue 10: each upload session kept a descriptor open until it ended, so a flood of POSTs
// exhausted them. Sessions now hold none between requests, and one caller may open only
// `max_uploads_per_client` (100 by default): the next POST is 429 with Retry-After.
TEST_F(V2Durable, UploadSessionsHoldNoDescriptors) {
  http_client c = client();
  content const b = layer(300'000, 7);
  std::string const first = pier_test::start(c, "flood/app");
  reply r = c.request("PATCH", first, {{"Content-Range", "0-99999"}}, b.bytes.substr(0, 100'000));
  ASSERT_EQ(r.status, 202) << r.body;

  std::size_t const before = open_descriptors();
  std::size_t const per_client = pier::registry::v2_options{}.max_uploads_per_client;
  for (std::size_t i = 1; i < per_client; ++i)
    ASSERT_FALSE(pier_test::start(c, "flood/app").empty());
  // RocksDB may open a file or two of its own meanwhile; a descriptor per session would be
  // 99 more.
  EXPECT_LT(open_descriptors(), before + 10);

  r = c.request("POST", uploads("flood/other"));
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(error_code(r), "TOOMANYREQUESTS");
  EXPECT_TRUE(r.header("Retry-After"));

  // The first upload goes on where it stopped, its hash intact, and its end frees a slot.
  r = c.request("PUT", first + "?digest=" + b.digest.str(), {{"Content-Range", "100000-299999"}},
                b.bytes.substr(100'000));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(c.get(blob_path("flood/app", b.digest)).body, b.bytes);
  EXPECT_FALSE(pier_test::start(c, "flood/other").empty());
  EXPECT_LT(open_descriptors(), before + 10);
}

// The counts survive a restart, and a link written before they existed (an empty value)
// is decided by reading the repository's manifests.
TEST_F(V2Durable, ReferencedBlobsAreNotDeleted) {
  static_assert(pier::storage::ReferenceCheckingStore<rocksdb_metadata_store>);
  referenced_blobs_are_not_deleted(client(), "");
  restart();
  http_client c = client();
  content const cfg = config(201);
  content const used = layer(200, 202);
  content const unused = layer(200, 203);
  content const m = image_manifest(cfg, {used});
  push_image(c, "old", "v1", cfg, {used}, m);
  push_blob(c, "old", unused);
  EXPECT_EQ(c.request("DELETE", blob_path("old", used.digest)).status, 405);

  // As an older pier left them: every link of "old" without its count.
  stop();
  with_raw_rocksdb(dir_.path(), [](rocksdb::DB& db, std::vector<std::string> const& families,
                                   std::vector<rocksdb::ColumnFamilyHandle*> const& handles) {
    for (std::size_t i = 0; i < families.size(); ++i) {
      if (families[i] != "blob_links")
        continue;
      std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions(), handles[i]));
      std::vector<std::string> keys;
      for (it->Seek("old"); it->Valid() && it->key().starts_with("old"); it->Next())
        keys.push_back(it->key().ToString());
      EXPECT_EQ(keys.size(), 3u);
      for (std::string const& k : keys)
        ASSERT_TRUE(db.Put(rocksdb::WriteOptions(), handles[i], k, rocksdb::Slice()).ok());
    }
  });
  start();
  c = client();
  reply const r = c.request("DELETE", blob_path("old", used.digest));
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_NE(r.body.find(m.digest.str()), std::string::npos) << r.body;
  EXPECT_EQ(c.request("DELETE", blob_path("old", unused.digest)).status, 202);
  EXPECT_EQ(c.get(manifest_path("old", "v1")).body, m.bytes);
}

} // namespace v2_rocksdb_test
} // namespace pier_test
