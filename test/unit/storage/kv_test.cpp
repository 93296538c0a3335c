// SPDX-License-Identifier: Apache-2.0
// kv_metadata_store over a driver the test controls: concurrent changes share a sync (group
// commit), and none is answered before a sync that covers it.
#include <pier/storage/kv.hpp>
#include <pier/storage/memory.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/executor_work_guard.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pier_test {
namespace kv_test {

using namespace std::chrono_literals;
namespace st = pier::storage;

// A blocking driver over memory whose first sync waits until the test opens the gate; it
// records how many writes each sync covers.
class gated_driver final : public st::kv_driver {
public:
  pier::result<std::optional<std::string>> get(st::kv_table t, std::string_view key,
                                               st::kv_view at) const override {
    return inner_.get(t, key, at);
  }
  pier::result<void> scan(st::kv_table t, std::string_view from, std::string_view to,
                          st::kv_view at, st::kv_visitor visit) const override {
    return inner_.scan(t, from, to, at, visit);
  }
  std::unique_ptr<st::kv_snapshot> snapshot() const override { return inner_.snapshot(); }
  pier::result<void> write(st::kv_batch const& b, bool sync) override {
    if (pier::result<void> r = inner_.write(b, sync); !r)
      return r;
    ++writes;
    return {};
  }
  pier::result<void> sync() override {
    int const covers = writes.load();
    bool const first = syncs.fetch_add(1) == 0;
    if (first) {
      std::unique_lock lock(mutex_);
      in_first_sync = true;
      opened_.wait(lock, [&] { return open_; });
    }
    std::lock_guard lock(mutex_);
    covered.push_back(covers);
    return {};
  }
  bool blocking() const noexcept override { return true; }

  void open_gate() {
    std::lock_guard lock(mutex_);
    open_ = true;
    opened_.notify_all();
  }
  bool first_sync_waiting() {
    std::lock_guard lock(mutex_);
    return in_first_sync;
  }
  std::vector<int> covered_counts() {
    std::lock_guard lock(mutex_);
    return covered;
  }

  std::atomic<int> writes{0};
  std::atomic<int> syncs{0};

private:
  st::memory_kv_driver inner_;
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
  bool in_first_sync = false;
  std::vector<int> covered;
};

void wait_until(auto done) {
  while (!done())
    std::this_thread::sleep_for(1ms);
}

TEST(kv_metadata_store, concurrent_changes_share_a_sync_and_none_is_answered_before_it) {
  auto driver = std::make_shared<gated_driver>();
  st::kv_options options;
  options.blocking_threads = 4;
  auto store = st::kv_metadata_store::open(driver, options);
  ASSERT_TRUE(store) << store.error().message();
  int const opening_writes = driver->writes.load(); // the layout mark, written with sync
  int const opening_syncs = driver->syncs.load();
  EXPECT_EQ(opening_syncs, 0);

  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });
  std::atomic<int> answered{0};
  std::atomic<int> failed{0};
  auto link = [&](std::string repo) {
    pier::digest const d = pier::digest_of(repo);
    asio::co_spawn(
        io,
        [&, repo, d]() -> asio::awaitable<void> {
          pier::result<void> r = co_await store->link_blob(repo, d);
          if (!r)
            ++failed;
          ++answered;
        },
        asio::detached);
  };

  // The first change writes and starts a sync, which the gate holds.
  link("lib/a");
  wait_until([&] { return driver->first_sync_waiting(); });
  // Two more write meanwhile (the writer lock is free during a sync) and wait for a sync
  // that covers them: the running one started before their writes.
  link("lib/b");
  link("lib/c");
  wait_until([&] { return driver->writes.load() == opening_writes + 3; });
  EXPECT_EQ(answered.load(), 0); // nothing is answered before a sync covers it
  driver->open_gate();
  wait_until([&] { return answered.load() == 3; });
  EXPECT_EQ(failed.load(), 0);

  // Two syncs for three changes: the first covered its own write, the second both others.
  std::vector<int> const covered = driver->covered_counts();
  ASSERT_EQ(covered.size(), 2u);
  EXPECT_EQ(covered[0], opening_writes + 1);
  EXPECT_EQ(covered[1], opening_writes + 3);

  // Changes that need no sync (upload sessions) start none.
  pier::result<void> session{};
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // A named local: GCC 12 mishandles braced temporaries in a co_await's arguments.
        st::upload_session u;
        u.id = "u1";
        u.repository = "lib/a";
        u.created = std::chrono::system_clock::now();
        session = co_await store->create_upload(u);
        ++answered;
      },
      asio::detached);
  wait_until([&] { return answered.load() == 4; });
  EXPECT_TRUE(session);
  EXPECT_EQ(driver->syncs.load(), 2);

  guard.reset();
  loop.join();
}

} // namespace kv_test
} // namespace pier_test
