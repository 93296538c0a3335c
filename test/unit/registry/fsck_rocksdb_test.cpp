// SPDX-License-Identifier: Apache-2.0
// fsck over the stores the example server runs on (filesystem blobs, RocksDB metadata in a
// temporary directory): a clean registry is clean, each injected fault is reported and
// repaired, after which fsck is clean again.
#include <pier/registry/fsck.hpp>

#include "../storage/raw_rocksdb.hpp"
#include "../storage/test_util.hpp"

#include <pier/storage/filesystem.hpp>
#include <pier/storage/rocksdb.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace fsck_rocksdb_test {

using namespace std::chrono_literals;
using pier::registry::fsck_report;

bool mentions(fsck_report const& r, std::string const& what) {
  for (std::string const& line : r.problems)
    if (line.find(what) != std::string::npos)
      return true;
  return false;
}

class FsckRocksdb : public ::testing::Test {
protected:
  pier_test::temp_dir dir;
  pier::storage::filesystem_blob_store blobs =
      pier::storage::filesystem_blob_store::create(dir.path()).value();
  pier::storage::rocksdb_metadata_store meta =
      pier::storage::rocksdb_metadata_store::create(dir.path()).value();
  asio::io_context io;

  std::string const config = R"({"architecture":"amd64"})";
  std::string const layer = "layer shared by two images";
  std::string const alone = "a blob uploaded and never referenced";
  pier::digest const config_digest = pier::digest_of(config);
  pier::digest const layer_digest = pier::digest_of(layer);
  pier::digest const alone_digest = pier::digest_of(alone);

  void put_blob(std::string const& bytes) {
    ASSERT_TRUE(pier_test::run(io, blobs.put(pier_test::bytes_of(bytes), pier::digest_of(bytes))));
  }
  void link(std::string const& repo, pier::digest const& d) {
    ASSERT_TRUE(pier_test::run(io, meta.link_blob(repo, d)));
  }
  void push(std::string const& repo) {
    link(repo, config_digest);
    link(repo, layer_digest);
    std::string const bytes = R"({"schemaVersion":2,"repo":")" + repo + "\"}";
    pier::storage::manifest_put m;
    m.digest = pier::digest_of(bytes);
    m.media_type = "application/vnd.oci.image.manifest.v1+json";
    m.bytes = bytes;
    m.tag = "latest";
    m.blobs = {config_digest, layer_digest};
    ASSERT_TRUE(pier_test::run(io, meta.put_manifest(repo, m)));
  }

  void SetUp() override {
    put_blob(config);
    put_blob(layer);
    put_blob(alone);
    push("team/a");
    push("team/b");
    link("team/a", alone_digest);
  }

  fsck_report check(bool repair = false) {
    auto r = pier_test::run(
        io, pier::registry::fsck(blobs, meta, {.repair = repair, .orphan_grace = 1h}));
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : fsck_report{};
  }

  // Makes a file look committed two hours ago: older than the grace.
  static void age(std::filesystem::path const& p) {
    std::filesystem::last_write_time(p, std::filesystem::file_time_type::clock::now() - 2h);
  }
  void flip_byte(pier::digest const& d) {
    std::fstream f(blobs.path_of(d), std::ios::in | std::ios::out | std::ios::binary);
    char c = 0;
    f.seekg(3);
    f.get(c);
    f.seekp(3);
    f.put(static_cast<char>(c ^ 0x20));
  }
};

TEST_F(FsckRocksdb, ACleanRegistryIsClean) {
  fsck_report const r = check();
  EXPECT_TRUE(r.clean()) << (r.problems.empty() ? "" : r.problems.front());
  EXPECT_EQ(r.blobs_checked, 3u);
  EXPECT_EQ(r.links_checked, 5u);
  EXPECT_EQ(r.manifests_checked, 2u);
  EXPECT_TRUE(r.problems.empty());
}

TEST_F(FsckRocksdb, ACorruptBlobIsRemovedWithItsLinks) {
  flip_byte(alone_digest);
  fsck_report const found = check();
  EXPECT_EQ(found.corrupt_blobs, 1u);
  EXPECT_EQ(found.missing_blobs, 1u); // its link names no sound blob
  EXPECT_FALSE(found.consistent());
  EXPECT_TRUE(mentions(found, "corrupt blob " + alone_digest.str()));
  EXPECT_TRUE(std::filesystem::exists(blobs.path_of(alone_digest))); // only a report

  fsck_report const fixed = check(true);
  EXPECT_EQ(fixed.repaired, 2u);
  EXPECT_FALSE(std::filesystem::exists(blobs.path_of(alone_digest)));
  EXPECT_FALSE(pier_test::run(io, meta.is_linked("team/a", alone_digest)).value());
  EXPECT_TRUE(check().clean());
}

TEST_F(FsckRocksdb, ACorruptReferencedBlobLeavesItsManifestsReportedNotDeleted) {
  flip_byte(layer_digest);
  fsck_report const fixed = check(true);
  EXPECT_EQ(fixed.corrupt_blobs, 1u);
  EXPECT_EQ(fixed.missing_blobs, 2u); // linked in both repositories
  EXPECT_EQ(fixed.broken_manifests, 2u);
  EXPECT_TRUE(mentions(fixed, "unrepaired: manifest team/a@"));
  EXPECT_TRUE(mentions(fixed, "unrepaired: manifest team/b@"));

  fsck_report const after = check();
  EXPECT_EQ(after.broken_manifests, 2u); // what stays broken, said again
  EXPECT_EQ(after.corrupt_blobs + after.missing_blobs + after.wrong_counts, 0u);
  EXPECT_TRUE(pier_test::run(io, meta.resolve_tag("team/a", "latest")));
}

TEST_F(FsckRocksdb, ALinkToADeletedBlobIsRemoved) {
  std::filesystem::remove(blobs.path_of(alone_digest));
  fsck_report const found = check();
  EXPECT_EQ(found.missing_blobs, 1u);
  EXPECT_EQ(found.corrupt_blobs + found.orphan_blobs + found.broken_manifests, 0u);
  EXPECT_TRUE(mentions(found, "blob link team/a@" + alone_digest.str()));

  EXPECT_EQ(check(true).repaired, 1u);
  EXPECT_TRUE(check().clean());
}

TEST_F(FsckRocksdb, AnOrphanBlobIsRemovedOnlyAfterTheGrace) {
  std::string const orphan = "bytes committed, then the process died before linking";
  put_blob(orphan);
  pier::digest const d = pier::digest_of(orphan);
  fsck_report const young = check(true);
  EXPECT_EQ(young.orphan_blobs, 1u);
  EXPECT_EQ(young.repaired, 0u);
  EXPECT_TRUE(mentions(young, "orphan blob " + d.str()));
  EXPECT_TRUE(young.consistent()); // what a crash may leave: metadata and blobs agree
  EXPECT_TRUE(std::filesystem::exists(blobs.path_of(d)));

  age(blobs.path_of(d));
  EXPECT_EQ(check(true).repaired, 1u);
  EXPECT_FALSE(std::filesystem::exists(blobs.path_of(d)));
  EXPECT_TRUE(check().clean());
}

TEST_F(FsckRocksdb, WrongReferenceCountsAreRewritten) {
  // Counts as a bug (or a torn write in an older version) could leave them.
  ASSERT_TRUE(pier_test::run(
      io, meta.fsck_write_counts(
              {{'b', layer_digest, 7}, {'b', config_digest, 0}, {'m', alone_digest, 1}})));
  fsck_report const found = check();
  EXPECT_EQ(found.wrong_counts, 3u);
  EXPECT_TRUE(
      mentions(found, "reference count b of " + layer_digest.str() + " is 7, the manifests say 2"));
  EXPECT_TRUE(mentions(found, "reference count b of " + config_digest.str() +
                                  " is 0, the manifests say 2"));
  EXPECT_TRUE(
      mentions(found, "reference count m of " + alone_digest.str() + " is 1, the manifests say 0"));

  EXPECT_EQ(check(true).repaired, 3u);
  EXPECT_TRUE(check().clean());
  EXPECT_EQ(pier_test::run(io, meta.blob_refcount(layer_digest)).value(), 2u);
  EXPECT_EQ(pier_test::run(io, meta.blob_refcount(config_digest)).value(), 2u);
  EXPECT_EQ(pier_test::run(io, meta.manifest_refcount(alone_digest)).value(), 0u);
}

// The use counts of blob links, which refuse the DELETE of a blob a manifest uses: one off
// and one from before the counts (empty) are reported with repository and blob, and
// repaired.
TEST_F(FsckRocksdb, WrongBlobLinkUseCountsAreRewritten) {
  { pier::storage::rocksdb_metadata_store closing = std::move(meta); }
  pier_test::with_raw_rocksdb(dir.path(), [&](rocksdb::DB& db, auto const& families,
                                              auto const& handles) {
    auto const at = std::find(families.begin(), families.end(), "blob_links");
    ASSERT_NE(at, families.end());
    rocksdb::ColumnFamilyHandle* const h = handles[static_cast<std::size_t>(at - families.begin())];
    std::uint64_t const three = 3;
    ASSERT_TRUE(db.Put({}, h, std::string("team/a") + '\0' + layer_digest.str(),
                       std::string(reinterpret_cast<char const*>(&three), 8))
                    .ok());
    ASSERT_TRUE(db.Put({}, h, std::string("team/b") + '\0' + config_digest.str(), "").ok());
  });
  meta = pier::storage::rocksdb_metadata_store::create(dir.path()).value();

  fsck_report const found = check();
  EXPECT_EQ(found.wrong_counts, 2u);
  EXPECT_FALSE(found.consistent());
  EXPECT_TRUE(mentions(found, "use count of " + layer_digest.str() +
                                  " in team/a is 3, the manifests say 1"));
  EXPECT_TRUE(mentions(found, "use count of " + config_digest.str() + " in team/b is unknown"));

  EXPECT_EQ(check(true).repaired, 2u);
  EXPECT_TRUE(check().clean());
}

TEST_F(FsckRocksdb, WrongNamespaceCountsAreRewritten) {
  // Records as a bug could leave them, written with RocksDB alone while the store is shut:
  // a count too high, a count missing, a total off, one of a namespace with no manifests.
  std::string const d = "sha256:" + std::string(64, '0');
  { pier::storage::rocksdb_metadata_store closing = std::move(meta); }
  pier_test::with_raw_rocksdb(dir.path(), [&](rocksdb::DB& db, auto const& families,
                                              auto const& handles) {
    auto const at = std::find(families.begin(), families.end(), "namespace_blobs");
    ASSERT_NE(at, families.end());
    rocksdb::ColumnFamilyHandle* const h = handles[static_cast<std::size_t>(at - families.begin())];
    auto const u64 = [](std::uint64_t a) { return std::string(reinterpret_cast<char*>(&a), 8); };
    std::string const team = "team";
    ASSERT_TRUE(db.Put({}, h, team + '\0' + layer_digest.str(), u64(3) + u64(0)).ok());
    ASSERT_TRUE(db.Delete({}, h, team + '\0' + config_digest.str()).ok());
    ASSERT_TRUE(db.Put({}, h, team, u64(5)).ok());
    ASSERT_TRUE(db.Put({}, h, std::string("gone") + '\0' + d, u64(1) + u64(0)).ok());
  });
  meta = pier::storage::rocksdb_metadata_store::create(dir.path()).value();

  fsck_report const found = check();
  EXPECT_EQ(found.wrong_counts, 6u); // the two entries' link counts (none written) too
  EXPECT_TRUE(mentions(found, "namespace count of " + layer_digest.str() +
                                  " in team is 3, the manifests say 2"));
  EXPECT_TRUE(mentions(found, "namespace count of " + config_digest.str() +
                                  " in team is 0, the manifests say 2"));
  EXPECT_TRUE(mentions(found, "namespace total of team is 5, the manifests say 0"));
  EXPECT_TRUE(mentions(found, "namespace count of " + d + " in gone is 1, the manifests say 0"));
  EXPECT_TRUE(mentions(found, "namespace link count of " + layer_digest.str() +
                                  " in team is 0, the links say 2"));
  EXPECT_TRUE(mentions(found, "namespace link count of " + config_digest.str() +
                                  " in team is 0, the links say 2"));

  EXPECT_EQ(check(true).repaired, 6u);
  EXPECT_TRUE(check().clean());
}

TEST_F(FsckRocksdb, OrphanUploadFilesAndSessionsAreRemoved) {
  pier::storage::upload_id const file_only = pier_test::run(io, blobs.begin_upload()).value();
  ASSERT_TRUE(pier_test::run(io, blobs.append(file_only, pier_test::bytes_of("partial"), 0)));
  pier::storage::upload_id const session_only = pier::storage::make_upload_id();
  ASSERT_TRUE(pier_test::run(
      io, meta.create_upload({session_only, "team/a", std::chrono::system_clock::now()})));

  fsck_report const found = check(true);
  EXPECT_EQ(found.orphan_uploads, 1u);
  EXPECT_EQ(found.orphan_sessions, 1u);
  EXPECT_TRUE(mentions(found, "orphan upload file " + file_only));
  EXPECT_TRUE(mentions(found, "orphan upload session " + session_only));
  EXPECT_EQ(found.repaired, 1u); // the session; the file is younger than the grace

  age(dir.path() / "uploads" / file_only);
  EXPECT_EQ(check(true).repaired, 1u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "uploads" / file_only));
  EXPECT_TRUE(check().clean());
}

} // namespace fsck_rocksdb_test
