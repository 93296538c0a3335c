// SPDX-License-Identifier: Apache-2.0
#include <pier/core/hasher.hpp>
#include <pier/storage/rocksdb.hpp>

#include "metadata_store_suite.hpp"
#include "test_util.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <gtest/gtest.h>
#include <rocksdb/status.h>

#include <cassert>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/mount.h>

namespace pier_test {

using pier::storage::rocksdb_metadata_store;

static_assert(pier::storage::MetadataStore<rocksdb_metadata_store>);

template <>
struct store_maker<rocksdb_metadata_store> {
  temp_dir dir;
  std::unique_ptr<rocksdb_metadata_store> make() {
    return std::make_unique<rocksdb_metadata_store>(
        rocksdb_metadata_store::create(dir.path()).value());
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(rocksdb, metadata_store_suite, rocksdb_metadata_store);

namespace rocksdb_test {

// A full disk is `no_space` (507 in the registry), not RocksDB's "I/O error".
TEST(rocksdb_metadata_store, full_disk_is_no_space) {
  EXPECT_EQ(pier::storage::detail::to_error(rocksdb::Status::NoSpace("ENOSPC")),
            st::storage_error::no_space);
  EXPECT_NE(pier::storage::detail::to_error(rocksdb::Status::IOError("EIO")),
            st::storage_error::no_space);
  EXPECT_TRUE(st::is_out_of_space(st::storage_error::no_space));
}

// Below `min_free_space`, writes fail before RocksDB sees them (so it never stops
// itself), reads go on, and the log says so once, as an error naming ENOSPC.
TEST(rocksdb_metadata_store, writes_refused_below_min_free_space) {
  temp_dir dir;
  asio::io_context io;
  auto const layer = pier::digest_of("layer");
  {
    auto s = rocksdb_metadata_store::create(dir.path()).value();
    ASSERT_TRUE(run(io, s.link_blob("lib/app", layer)));
  }
  st::rocksdb_options o;
  o.min_free_space = std::numeric_limits<std::uint64_t>::max();
  std::vector<std::pair<bool, std::string>> lines;
  o.on_log = [&](bool error, std::string_view m) { lines.emplace_back(error, std::string(m)); };
  auto s = rocksdb_metadata_store::create(dir.path(), o).value();
  auto const other = pier::digest_of("other");
  EXPECT_EQ(run(io, s.link_blob("lib/app", other)).error(), st::storage_error::no_space);
  EXPECT_EQ(run(io, s.link_blob("lib/app", other)).error(), st::storage_error::no_space);
  EXPECT_TRUE(run(io, s.is_linked("lib/app", layer)).value());
  EXPECT_FALSE(run(io, s.is_linked("lib/app", other)).value());
  std::size_t refusals = 0;
  for (auto const& [error, m] : lines)
    if (m.find("ENOSPC") != std::string::npos) {
      EXPECT_TRUE(error);
      ++refusals;
    }
  EXPECT_EQ(refusals, 1u);
}

// RocksDB's own path for a full disk (the free-space check off): on a full tmpfs every
// write, synced or not, fails with `no_space` and the process lives (RocksDB 7.8 used to
// abort on its LOG file); once space is freed, RocksDB recovers by itself (it looks every
// 5 s: a bounded retry, asserting the outcome), and nothing acknowledged is lost. Needs
// root to mount the tmpfs; skipped otherwise.
TEST(rocksdb_metadata_store, full_disk_without_the_check_recovers) {
  namespace fs = std::filesystem;
  temp_dir dir;
  fs::path const disk = dir.path() / "disk";
  fs::create_directories(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=32m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs: " << std::strerror(errno);
  struct unmount {
    fs::path p;
    ~unmount() { ::umount(p.c_str()); }
  } const unmount_at_end{disk};
  asio::io_context io;
  std::vector<pier::digest> acknowledged;
  {
    st::rocksdb_options o;
    o.min_free_space = 0;
    auto s = rocksdb_metadata_store::create(disk, o).value();
    for (int i = 0; i < 3; ++i) {
      acknowledged.push_back(pier::digest_of("before " + std::to_string(i)));
      ASSERT_TRUE(run(io, s.link_blob("lib/app", acknowledged.back())));
    }
    {
      std::ofstream filler(disk / "filler", std::ios::binary);
      std::string const block(1 << 16, '\0');
      while (filler.write(block.data(), std::streamsize(block.size())))
        ;
    }
    // RocksDB preallocated its WAL: fill that too, with large records, until one fails.
    std::string const big_name(1 << 16, 'a');
    pier::result<void> filled;
    for (int i = 0; i < 2000 && filled; ++i)
      filled = run(io, s.create_upload({st::make_upload_id(), big_name,
                                        std::chrono::system_clock::now()}));
    ASSERT_FALSE(filled) << "2000 writes of 64 KiB fitted on a full 32 MiB disk";
    EXPECT_EQ(filled.error(), st::storage_error::no_space) << filled.error().message();
    for (int i = 0; i < 4; ++i) {
      auto const linked = run(io, s.link_blob("lib/app", pier::digest_of("full " + std::to_string(i))));
      ASSERT_FALSE(linked);
      EXPECT_EQ(linked.error(), st::storage_error::no_space) << linked.error().message();
      st::upload_session const session{st::make_upload_id(), "lib/app",
                                       std::chrono::system_clock::now()};
      auto const created = run(io, s.create_upload(session)); // not synced
      ASSERT_FALSE(created);
      EXPECT_EQ(created.error(), st::storage_error::no_space) << created.error().message();
    }
    EXPECT_TRUE(run(io, s.is_linked("lib/app", acknowledged.front())).value()); // reads go on

    fs::remove(disk / "filler");
    auto const after = pier::digest_of("after");
    pier::result<void> linked = st::storage_error::no_space;
    for (int i = 0; i < 120 && !linked; ++i) {
      linked = run(io, s.link_blob("lib/app", after));
      if (!linked)
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    ASSERT_TRUE(linked) << "no write within 60 s of freeing space: " << linked.error().message();
    acknowledged.push_back(after);
  }
  auto s = rocksdb_metadata_store::create(disk).value();
  for (pier::digest const& d : acknowledged)
    EXPECT_TRUE(run(io, s.is_linked("lib/app", d)).value()) << d.str();
}

TEST(rocksdb_metadata_store, reopen_sees_everything_committed) {
  temp_dir dir;
  asio::io_context io;
  auto const layer = pier::digest_of("layer");
  auto const config = pier::digest_of("config");
  st::manifest_put image;
  image.bytes = manifest_bytes("image");
  image.digest = pier::digest_of(image.bytes);
  image.media_type = oci_manifest;
  image.tag = "v1";
  image.blobs = {config, layer};
  st::manifest_put sig;
  sig.bytes = manifest_bytes("signature");
  sig.digest = pier::digest_of(sig.bytes);
  sig.media_type = oci_manifest;
  sig.subject = st::subject_link{image.digest, "application/x-sig", {{"k", "v"}}};
  auto const created = std::chrono::system_clock::now();
  st::upload_session const session{st::make_upload_id(), "lib/app", created};
  {
    auto s = rocksdb_metadata_store::create(dir.path()).value();
    for (std::string const repo : {"lib/app", "lib/other"}) {
      ASSERT_TRUE(run(io, s.link_blob(repo, layer)));
      ASSERT_TRUE(run(io, s.link_blob(repo, config)));
      ASSERT_TRUE(run(io, s.put_manifest(repo, image)));
    }
    ASSERT_TRUE(run(io, s.set_tag("lib/app", "latest", image.digest)));
    ASSERT_TRUE(run(io, s.put_manifest("lib/app", sig)));
    ASSERT_TRUE(run(io, s.create_upload(session)));
  }
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "meta"));

  auto s = rocksdb_metadata_store::create(dir.path()).value();
  EXPECT_EQ(run(io, s.catalog("", 10)).value().names,
            (std::vector<std::string>{"lib/app", "lib/other"}));
  EXPECT_TRUE(run(io, s.is_linked("lib/app", layer)).value());
  auto const got = run(io, s.get_manifest("lib/app", image.digest)).value();
  EXPECT_EQ(got.bytes, image.bytes);
  EXPECT_EQ(got.media_type, image.media_type);
  EXPECT_EQ(run(io, s.list_tags("lib/app", "", 10)).value().names,
            (std::vector<std::string>{"latest", "v1"}));
  EXPECT_EQ(run(io, s.resolve_tag("lib/other", "v1")).value(), image.digest);
  EXPECT_EQ(run(io, s.blob_refcount(layer)).value(), 2u);
  auto const refs = run(io, s.referrers("lib/app", image.digest)).value();
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].digest, sig.digest);
  EXPECT_EQ(refs[0].artifact_type, "application/x-sig");
  EXPECT_EQ(refs[0].annotations.at("k"), "v");
  EXPECT_EQ(run(io, s.get_upload(session.id)).value(), session);
  EXPECT_EQ(run(io, s.expired_uploads(created + std::chrono::seconds(1), 10)).value(),
            std::vector<st::upload_session>{session});

  // Deleting after a reopen uses what was stored before it.
  EXPECT_TRUE(run(io, s.delete_manifest("lib/app", image.digest)));
  EXPECT_EQ(run(io, s.blob_refcount(layer)).value(), 1u);
  EXPECT_EQ(run(io, s.get_manifest("lib/other", image.digest)).value().bytes, image.bytes);
  EXPECT_EQ(run(io, s.list_tags("lib/app", "", 10)).value().names, std::vector<std::string>{});
}

TEST(rocksdb_metadata_store, one_process_at_a_time) {
  temp_dir dir;
  auto first = rocksdb_metadata_store::create(dir.path());
  ASSERT_TRUE(first);
  auto second = rocksdb_metadata_store::create(dir.path());
  ASSERT_FALSE(second);
  EXPECT_STREQ(second.error().category().name(), "pier.rocksdb");
  EXPECT_EQ(pier::to_oci_error(second.error()), pier::oci_error::unknown);
  EXPECT_FALSE(second.error().message().empty());
}

TEST(rocksdb_metadata_store, moved_store_keeps_working) {
  temp_dir dir;
  asio::io_context io;
  auto a = rocksdb_metadata_store::create(dir.path()).value();
  rocksdb_metadata_store b = std::move(a);
  EXPECT_TRUE(run(io, b.link_blob("r", pier::digest_of("x"))));
  EXPECT_TRUE(run(io, b.repository_exists("r")).value());
}

// The example of rocksdb.hpp, with a temporary directory.
TEST(rocksdb_metadata_store, doc_example) {
  temp_dir dir;
  bool done = false;
  asio::io_context io;
  auto meta = pier::storage::rocksdb_metadata_store::create(dir.path());
  if (!meta)
    FAIL() << meta.error().message();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto page = co_await meta->catalog("", 100);
        assert(page && page->names.empty());
        done = page && page->names.empty();
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(done);
}

} // namespace rocksdb_test
} // namespace pier_test
