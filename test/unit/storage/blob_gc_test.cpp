// SPDX-License-Identifier: Apache-2.0
// `remove_if_unused_since` of both blob stores: what garbage collection deletes, and that a
// commit racing a removal of the same digest is never lost.
#include <pier/storage/filesystem.hpp>
#include <pier/storage/memory.hpp>

#include "test_util.hpp"

#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>

namespace pier_test {

namespace blob_gc_test {

namespace st = pier::storage;
using clock = std::chrono::system_clock;
using namespace std::chrono_literals;

static_assert(st::CollectableBlobStore<st::memory_blob_store>);
static_assert(st::CollectableBlobStore<st::filesystem_blob_store>);
static_assert(!st::CollectableBlobStore<st::blob_store_archetype>);

/// A store of each kind, and a way to make a blob look committed long ago.
template <class Store>
struct harness;

template <>
struct harness<st::memory_blob_store> {
  st::memory_blob_store store;
  /// The memory store keeps exact times: a clock that has moved on is enough.
  void age(pier::digest const&) {
    auto const t = clock::now();
    while (clock::now() <= t) {
    }
  }
};

template <>
struct harness<st::filesystem_blob_store> {
  temp_dir dir;
  st::filesystem_blob_store store = st::filesystem_blob_store::create(dir.path() / "data").value();
  /// Commits stamp the file's modification time (rounded up to the second): set it back.
  void age(pier::digest const& d) {
    struct ::timespec const times[2] = {{0, UTIME_OMIT}, {1'000'000'000, 0}}; // 2001
    ASSERT_EQ(::utimensat(AT_FDCWD, store.path_of(d).c_str(), times, 0), 0);
  }
};

template <class Store>
class blob_gc : public ::testing::Test {
protected:
  template <class T>
  T run(asio::awaitable<T> a) {
    return pier_test::run(io_, std::move(a));
  }
  Store& store() { return h_.store; }

  pier::digest put(std::string const& content) {
    pier::digest d = pier::digest_of(content);
    EXPECT_TRUE(run(store().put(bytes_of(content), d)));
    return d;
  }
  pier::result<bool> remove(pier::digest const& d, clock::time_point before) {
    return run(store().remove_if_unused_since(d, before));
  }
  bool stored(pier::digest const& d) { return static_cast<bool>(run(store().stat(d))); }

  harness<Store> h_;
  asio::io_context io_;
};

using stores = ::testing::Types<st::memory_blob_store, st::filesystem_blob_store>;
TYPED_TEST_SUITE(blob_gc, stores);

TYPED_TEST(blob_gc, a_blob_committed_before_the_cut_off_is_removed) {
  pier::digest const d = this->put("old layer");
  this->h_.age(d);
  auto const before = clock::now();
  EXPECT_TRUE(this->remove(d, before).value());
  EXPECT_FALSE(this->stored(d));
  EXPECT_EQ(this->remove(d, before).error(), st::storage_error::blob_unknown);
  // Gone means gone: uploaded again, it is a new blob.
  this->put("old layer");
  EXPECT_TRUE(this->stored(d));
}

TYPED_TEST(blob_gc, a_blob_committed_at_or_after_the_cut_off_is_kept) {
  auto const before = clock::now();
  pier::digest const d = this->put("new layer");
  EXPECT_FALSE(this->remove(d, before).value());
  EXPECT_TRUE(this->stored(d));
  auto src = this->run(this->store().open(d, 0, std::nullopt));
  ASSERT_TRUE(src);
}

TYPED_TEST(blob_gc, committing_stored_bytes_again_renews_them) {
  pier::digest const d = this->put("shared layer");
  this->h_.age(d);
  auto const before = clock::now();
  // A second upload of the same bytes (another client, another repository) finds the
  // blob stored; its commit still counts.
  auto id = this->run(this->store().begin_upload()).value();
  ASSERT_TRUE(this->run(this->store().append(id, bytes_of("shared layer"), 0u)));
  ASSERT_TRUE(this->run(this->store().commit(id, d, std::nullopt)));
  EXPECT_FALSE(this->remove(d, before).value());
  EXPECT_TRUE(this->stored(d));

  this->h_.age(d);
  this->put("shared layer"); // `put` commits too
  EXPECT_FALSE(this->remove(d, clock::now() - 1s).value());
  EXPECT_TRUE(this->stored(d));
}

TYPED_TEST(blob_gc, list_blobs_pages_in_digest_order_with_sizes_and_commit_times) {
  std::vector<pier::digest> digests;
  auto const t0 = clock::now() - 1s; // the filesystem's times are whole seconds
  for (int i = 0; i < 7; ++i)
    digests.push_back(this->put("blob " + std::string(static_cast<std::size_t>(i), 'x')));
  std::sort(digests.begin(), digests.end());
  std::vector<pier::digest> listed;
  std::string after;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 10);
    auto const page = this->run(this->store().list_blobs(after, 3));
    ASSERT_TRUE(page);
    for (st::stored_blob const& b : page->items) {
      listed.push_back(b.digest);
      EXPECT_EQ(b.size, run(this->io_, this->store().stat(b.digest))->size);
      EXPECT_GE(b.modified, t0);
    }
    if (!page->more)
      break;
    ASSERT_EQ(page->items.size(), 3u);
    after = page->items.back().digest.str();
  }
  EXPECT_EQ(listed, digests);
  // After the last one, or after a cursor that is no digest: the rest from there.
  EXPECT_TRUE(this->run(this->store().list_blobs(digests.back().str(), 3))->items.empty());
  auto const from_prefix = this->run(this->store().list_blobs("sha256:", 100));
  ASSERT_TRUE(from_prefix);
  EXPECT_EQ(from_prefix->items.size(), digests.size());
}

TYPED_TEST(blob_gc, an_unknown_blob_is_unknown) {
  EXPECT_EQ(this->remove(pier::digest_of("never stored"), clock::now()).error(),
            st::storage_error::blob_unknown);
}

// Blobs committed long ago are each removed by one thread while another commits the same
// bytes again, both at once. The cut-off is before every new commit, so whichever goes
// first, every blob must be stored afterwards: removed and stored anew, or kept.
TYPED_TEST(blob_gc, a_commit_racing_a_removal_is_never_lost) {
  constexpr int rounds = 100;
  std::vector<pier::digest> ds;
  for (int i = 0; i < rounds; ++i) {
    ds.push_back(this->put("contended layer " + std::to_string(i)));
    this->h_.age(ds.back());
  }
  auto const before = clock::now();

  std::atomic<int> round = -1;
  std::thread sweeper([&] {
    asio::io_context io;
    for (int i = 0; i < rounds; ++i) {
      while (round.load() < i) {
      }
      pier::result<bool> const r = run(io, this->store().remove_if_unused_since(ds[i], before));
      if (!r)
        ADD_FAILURE() << r.error().message(); // the blob is there until removed
    }
  });
  for (int i = 0; i < rounds; ++i) {
    round = i;
    std::string const content = "contended layer " + std::to_string(i);
    EXPECT_TRUE(this->run(this->store().put(bytes_of(content), ds[i])));
  }
  sweeper.join();
  for (pier::digest const& d : ds)
    EXPECT_TRUE(this->stored(d)) << d.str();
}

} // namespace blob_gc_test

} // namespace pier_test
