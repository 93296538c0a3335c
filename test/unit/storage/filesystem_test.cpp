// SPDX-License-Identifier: Apache-2.0
#include <pier/storage/filesystem.hpp>

#include "blob_store_suite.hpp"
#include "test_util.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include <cassert>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <csignal>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace pier_test {

using pier::storage::filesystem_blob_store;
namespace fs = std::filesystem;

static_assert(pier::storage::BlobStore<filesystem_blob_store>);

template <>
struct store_maker<filesystem_blob_store> {
  temp_dir dir;
  std::unique_ptr<filesystem_blob_store> make() {
    return std::make_unique<filesystem_blob_store>(
        filesystem_blob_store::create(dir.path() / "data").value());
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(filesystem, blob_store_suite, filesystem_blob_store);

namespace filesystem_test {

std::string read_file(fs::path const& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t count_files(fs::path const& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// Uploads leave `min_free_space` alone: refused with `space_reserved` (507 in the
// registry) when they would eat into it; no floor, or a floor the disk has room above,
// changes nothing.
TEST(filesystem_blob_store, free_space_floor_refuses_uploads) {
  temp_dir dir;
  asio::io_context io;
  std::string const content = make_content(4096, 3);
  {
    pier::storage::filesystem_options o;
    o.min_free_space = 1;
    auto s = filesystem_blob_store::create(dir.path() / "data", o).value();
    auto id = run(io, s.begin_upload()).value();
    ASSERT_TRUE(run(io, s.append(id, bytes_of(content), 0u)));
    ASSERT_TRUE(run(io, s.commit(id, pier::digest_of(content), content.size())));
  }
  pier::storage::filesystem_options o;
  o.min_free_space = std::numeric_limits<std::uint64_t>::max();
  auto s = filesystem_blob_store::create(dir.path() / "data", o).value();
  auto refused = run(io, s.begin_upload());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), pier::storage::storage_error::space_reserved);
  EXPECT_TRUE(pier::storage::is_out_of_space(refused.error()));
  std::string const more = make_content(10, 4);
  EXPECT_EQ(run(io, s.put(bytes_of(more), pier::digest_of(more))).error(),
            pier::storage::storage_error::space_reserved);
  EXPECT_TRUE(run(io, s.stat(pier::digest_of(content)))); // reads go on
  EXPECT_TRUE(pier::storage::is_out_of_space(std::make_error_code(std::errc::no_space_on_device)));
  EXPECT_FALSE(pier::storage::is_out_of_space(std::make_error_code(std::errc::io_error)));
}

TEST(filesystem_blob_store, layout_on_disk) {
  temp_dir dir;
  asio::io_context io;
  fs::path const root = dir.path() / "a" / "b"; // missing parents are created
  auto s = filesystem_blob_store::create(root).value();
  EXPECT_EQ(s.root(), root);
  EXPECT_TRUE(fs::is_directory(root / "uploads"));
  EXPECT_TRUE(fs::is_directory(root / "blobs/sha256"));
  EXPECT_TRUE(fs::is_directory(root / "blobs/sha512"));

  std::string const content = make_content(12345, 7);
  pier::digest const d = pier::digest_of(content);
  auto id = run(io, s.begin_upload()).value();
  EXPECT_TRUE(fs::is_regular_file(root / "uploads" / id));
  ASSERT_TRUE(run(io, s.append(id, bytes_of(content), 0u)));
  EXPECT_EQ(fs::file_size(root / "uploads" / id), content.size());
  ASSERT_TRUE(run(io, s.commit(id, d, content.size())));

  fs::path const expected =
      root / "blobs" / "sha256" / std::string(d.encoded().substr(0, 2)) / std::string(d.encoded());
  EXPECT_EQ(s.path_of(d), expected);
  EXPECT_EQ(read_file(expected), content);
  EXPECT_EQ(count_files(root / "uploads"), 0u);

  // A failed commit and an abort leave nothing behind either.
  auto bad = run(io, s.begin_upload()).value();
  ASSERT_TRUE(run(io, s.append(bad, bytes_of("abc"), 0u)));
  EXPECT_EQ(run(io, s.commit(bad, pier::digest_of("abd"), std::nullopt)).error(),
            pier::digest_error::mismatch);
  auto aborted = run(io, s.begin_upload()).value();
  EXPECT_TRUE(run(io, s.abort(aborted)));
  EXPECT_EQ(count_files(root / "uploads"), 0u);
  EXPECT_FALSE(fs::exists(s.path_of(pier::digest_of("abd"))));
  EXPECT_FALSE(fs::exists(s.path_of(pier::digest_of("abc"))));

  // Not a directory: an error, not an exception.
  std::ofstream(dir.path() / "file") << "x";
  EXPECT_FALSE(filesystem_blob_store::create(dir.path() / "file"));
}

TEST(filesystem_blob_store, reopen_sees_everything_committed) {
  temp_dir dir;
  asio::io_context io;
  std::vector<std::string> contents;
  for (unsigned i = 0; i < 5; ++i)
    contents.push_back(make_content(1000 * i, i));
  {
    auto s = filesystem_blob_store::create(dir.path()).value();
    for (std::string const& c : contents)
      ASSERT_TRUE(run(io, s.put(bytes_of(c), pier::digest_of(c))));
  }
  auto s = filesystem_blob_store::create(dir.path()).value();
  for (std::string const& c : contents) {
    EXPECT_EQ(run(io, s.stat(pier::digest_of(c))).value().size, c.size());
    EXPECT_EQ(read_source(run(io, s.open(pier::digest_of(c), 0, std::nullopt)).value()), c);
  }
}

TEST(filesystem_blob_store, upload_resumes_after_restart) {
  temp_dir dir;
  asio::io_context io;
  std::string const content = make_content(3'000'000, 9);
  std::string_view const v(content);
  pier::digest const d = pier::digest_of(content);
  std::string id, doomed;
  {
    auto s = filesystem_blob_store::create(dir.path()).value();
    id = run(io, s.begin_upload()).value();
    ASSERT_TRUE(run(io, s.append(id, bytes_of(v.substr(0, 1'000'000)), 0u)));
    doomed = run(io, s.begin_upload()).value();
    ASSERT_TRUE(run(io, s.append(doomed, bytes_of("partial"), 0u)));
  } // the process "restarts": hash state is gone, the files stay

  auto s = filesystem_blob_store::create(dir.path()).value();
  EXPECT_EQ(run(io, s.upload_size(id)).value(), 1'000'000u);
  EXPECT_EQ(run(io, s.append(id, bytes_of(v.substr(1'000'000)), 0u)).error(),
            pier::storage::storage_error::upload_offset_mismatch);
  EXPECT_EQ(run(io, s.append(id, bytes_of(v.substr(1'000'000)), 1'000'000u)).value(),
            content.size());
  auto const info = run(io, s.commit(id, d, content.size())); // rehashes the file
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(read_source(run(io, s.open(d, 0, std::nullopt)).value()), content);

  // A resumed upload that does not match is refused like any other.
  EXPECT_EQ(run(io, s.commit(doomed, pier::digest_of("partial!"), std::nullopt)).error(),
            pier::digest_error::mismatch);
  EXPECT_EQ(run(io, s.upload_size(doomed)).error(), pier::storage::storage_error::upload_unknown);
  EXPECT_EQ(count_files(dir.path() / "uploads"), 0u);
}

std::size_t open_descriptors() { return count_files("/proc/self/fd"); }

// The lowest descriptor number free now: what the next open(2) returns.
int lowest_free_descriptor() {
  int const fd = ::dup(0);
  ::close(fd);
  return fd;
}

// Idle upload sessions cost no file descriptors (issue 10: 15,000 POSTs exhausted them),
// and an upload written over several appends, each with its own short-lived descriptor,
// still hashes and commits.
TEST(filesystem_blob_store, idle_uploads_hold_no_descriptors) {
  temp_dir dir;
  asio::io_context io;
  auto s = filesystem_blob_store::create(dir.path()).value();
  std::string const content = make_content(600'000, 3);
  std::string_view const v(content);
  std::string const first = run(io, s.begin_upload()).value();
  ASSERT_TRUE(run(io, s.append(first, bytes_of(v.substr(0, 200'000)), 0u)));

  std::size_t const before = open_descriptors();
  std::vector<std::string> ids;
  for (int i = 0; i < 500; ++i) {
    ids.push_back(run(io, s.begin_upload()).value());
    ASSERT_TRUE(run(io, s.append(ids.back(), bytes_of("x"), 0u)));
  }
  EXPECT_EQ(open_descriptors(), before);

  ASSERT_TRUE(run(io, s.append(first, bytes_of(v.substr(200'000)), 200'000u)));
  EXPECT_EQ(open_descriptors(), before);
  auto const info = run(io, s.commit(first, pier::digest_of(content), content.size()));
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(read_source(run(io, s.open(pier::digest_of(content), 0, std::nullopt)).value()),
            content);
  EXPECT_EQ(open_descriptors(), before);
  for (std::string const& id : ids)
    ASSERT_TRUE(run(io, s.abort(id)));
}

// Out of descriptors, an append or a commit fails with EMFILE and leaves the upload as it
// was: once descriptors are free again the same commit succeeds.
TEST(filesystem_blob_store, upload_survives_running_out_of_descriptors) {
  temp_dir dir;
  asio::io_context io;
  auto s = filesystem_blob_store::create(dir.path()).value();
  std::string const content = make_content(100'000, 4);
  std::string_view const v(content);
  std::string const id = run(io, s.begin_upload()).value();
  ASSERT_TRUE(run(io, s.append(id, bytes_of(v.substr(0, 50'000)), 0u)));

  struct ::rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct ::rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free_descriptor()); // the next open fails
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  auto const appended = run(io, s.append(id, bytes_of(v.substr(50'000)), 50'000u));
  auto const committed = run(io, s.commit(id, pier::digest_of(content), content.size()));
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);

  ASSERT_FALSE(appended);
  EXPECT_EQ(appended.error(), std::errc::too_many_files_open);
  ASSERT_FALSE(committed);
  EXPECT_EQ(committed.error(), std::errc::too_many_files_open);
  EXPECT_EQ(run(io, s.upload_size(id)).value(), 50'000u);
  ASSERT_TRUE(run(io, s.append(id, bytes_of(v.substr(50'000)), 50'000u)));
  auto const info = run(io, s.commit(id, pier::digest_of(content), content.size()));
  ASSERT_TRUE(info) << info.error().message();
}

// The crash-safety property of DESIGN.md: a child process uploads and commits blobs in a
// loop and is killed with SIGKILL at random moments. Whatever it was doing, every file
// under blobs/ is complete (hashes to its name), and every commit it reported is there.
// Files under uploads/ may remain: orphans for GC.
[[noreturn]] void upload_until_killed(fs::path const& root, int report_fd, unsigned seed) {
  try {
    asio::io_context io;
    auto s = filesystem_blob_store::create(root).value();
    std::mt19937 rng(seed);
    for (unsigned i = 0; i < 100000; ++i) {
      std::string const content = make_content(
          std::uniform_int_distribution<std::size_t>(0, 1 << 18)(rng), seed * 7919 + i);
      std::string_view const v(content);
      pier::digest const d = pier::digest_of(content);
      auto id = run(io, s.begin_upload());
      if (!id)
        ::_exit(2);
      std::size_t const step = content.size() / 4 + 1;
      for (std::size_t at = 0; at < content.size(); at += step)
        (void)run(io, s.append(*id, bytes_of(v.substr(at, step)), at));
      if (run(io, s.commit(*id, d, content.size()))) {
        std::string const line = d.str() + "\n";
        if (::write(report_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
          ::_exit(3);
      }
    }
  } catch (...) {
    ::_exit(4);
  }
  ::_exit(0);
}

TEST(filesystem_blob_store, sigkill_never_leaves_a_partial_blob) {
  temp_dir dir;
  fs::path const root = dir.path() / "data";
  std::set<std::string> reported;
  std::mt19937 rng(std::random_device{}());
  for (unsigned round = 0; round < 16; ++round) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    pid_t const pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(pipe_fds[0]);
      upload_until_killed(root, pipe_fds[1], round + 1);
    }
    ::close(pipe_fds[1]);
    auto const delay = std::uniform_int_distribution<int>(10'000, 150'000)(rng);
    ::usleep(static_cast<useconds_t>(delay));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status)) << "the child ended on its own: status " << status;

    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
      text.append(buffer, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
      reported.insert(line);
  }
  EXPECT_GT(reported.size(), 0u) << "no commit finished in any round";

  asio::io_context io;
  auto s = filesystem_blob_store::create(root).value();
  std::size_t blobs = 0;
  for (fs::directory_entry const& shard : fs::directory_iterator(root / "blobs" / "sha256")) {
    for (fs::directory_entry const& f : fs::directory_iterator(shard.path())) {
      std::string const name = f.path().filename().string();
      EXPECT_EQ(name.substr(0, 2), shard.path().filename().string());
      EXPECT_EQ(pier::digest_of(read_file(f.path())).str(), "sha256:" + name)
          << "partial or corrupt blob " << f.path();
      ++blobs;
    }
  }
  EXPECT_GE(blobs, reported.size());
  RecordProperty("reported_commits", static_cast<int>(reported.size()));
  RecordProperty("orphan_uploads", static_cast<int>(count_files(root / "uploads")));
  for (std::string const& r : reported) {
    pier::digest const d = pier::parse_digest(r).value();
    EXPECT_TRUE(run(io, s.stat(d))) << r << " was reported committed but is missing";
  }
  // Orphaned uploads may remain; they are still usable or abortable.
  for (fs::directory_entry const& f : fs::directory_iterator(root / "uploads"))
    EXPECT_TRUE(run(io, s.abort(f.path().filename().string())));
  EXPECT_EQ(count_files(root / "uploads"), 0u);
}

// The example of filesystem.hpp, with a temporary directory.
TEST(filesystem_blob_store, doc_example) {
  temp_dir dir;
  bool done = false;
  asio::io_context io;
  auto store = pier::storage::filesystem_blob_store::create(dir.path() / "data");
  if (!store)
    FAIL() << store.error().message();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::string const config = "{}";
        auto info = co_await store->put(std::as_bytes(std::span(config)), pier::digest_of(config));
        assert(info && info->size == 2);
        done = info && info->size == 2;
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(done);
}

} // namespace filesystem_test
} // namespace pier_test
