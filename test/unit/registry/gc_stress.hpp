// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_TEST_UNIT_REGISTRY_GC_STRESS_HPP
#define PIER_TEST_UNIT_REGISTRY_GC_STRESS_HPP

// The garbage collector's stress test (issue 5), over any pair of stores, and the helpers
// the GC tests share: images and a check that a tag can be pulled whole.
//
// Pushes of images that share layers, from several clients at once, tag and manifest
// deletions, and the collector running in a loop, against a server with two worker
// threads; afterwards every tag left is fully pullable and, after one more run, the blob
// store holds exactly the blobs the remaining manifests reference. Fixed numbers of
// pushes, no timing: the amount of overlap varies from run to run, never the outcome.

#include "../storage/test_util.hpp"
#include "test_registry.hpp"

#include <pier/registry/gc.hpp>
#include <pier/registry/v2.hpp>

#include <asio/io_context.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace gc_stress {

namespace reg = pier::registry;
namespace json = boost::json;
using namespace std::chrono_literals;
using pier_test::blob_path;
using pier_test::config;
using pier_test::content;
using pier_test::error_code;
using pier_test::http_client;
using pier_test::image;
using pier_test::image_manifest;
using pier_test::layer;
using pier_test::manifest_path;
using pier_test::put_manifest;
using pier_test::reply;
using pier_test::run;

/// Whether `repo:ref` can be pulled whole: the manifest, then every blob it names, each
/// with the content its digest says. Adds the blobs' digests to `referenced` when given.
inline ::testing::AssertionResult pullable(http_client const& c, std::string_view repo,
                                           std::string_view ref,
                                           std::set<std::string>* referenced = nullptr) {
  reply const m = c.get(manifest_path(repo, ref));
  if (m.status != 200)
    return ::testing::AssertionFailure()
           << repo << ":" << ref << " manifest " << m.status << " " << m.body;
  if (m.header_or_empty("Docker-Content-Digest") != pier::digest_of(m.body).str())
    return ::testing::AssertionFailure() << repo << ":" << ref << " manifest digest differs";
  json::object const doc = json::parse(m.body).as_object();
  std::vector<std::string> digests{std::string(doc.at("config").at("digest").as_string())};
  for (json::value const& l : doc.at("layers").as_array())
    digests.emplace_back(l.at("digest").as_string());
  for (std::string const& d : digests) {
    reply const b = c.get("/v2/" + std::string(repo) + "/blobs/" + d);
    if (b.status != 200 || pier::digest_of(b.body).str() != d)
      return ::testing::AssertionFailure()
             << repo << ":" << ref << " blob " << d << ": " << b.status << " " << b.body;
    if (referenced != nullptr)
      referenced->insert(d);
  }
  return ::testing::AssertionSuccess();
}

// Pushes of images that share layers, from several clients at once, tag and manifest
// deletions, and the collector running in a loop, against a server with two worker
// threads; afterwards every tag left is fully pullable and, after one more run, the blob
// store holds exactly the blobs the remaining manifests reference. Fixed numbers of
// pushes, no timing: the amount of overlap varies from run to run, never the outcome.

struct stress_plan {
  std::chrono::milliseconds grace;
  /// Whether a manifest PUT may fail with MANIFEST_BLOB_UNKNOWN (then pushed again whole):
  /// the race a grace of 0 cannot exclude (see gc.hpp).
  bool may_repush = false;
  bool remove_untagged = false; // v2_options::remove_untagged
  int images = 20;              // per pusher
  /// The most runs during the pushes: with a grace of 0, pushes that keep losing the race
  /// get through once the runs stop.
  std::uint64_t runs = UINT64_MAX;
};

struct stress_outcome {
  std::vector<std::string> failures; // what must never happen
  std::atomic<std::uint64_t> pushes = 0, repushes = 0, deletions = 0;
  std::uint64_t runs = 0, blobs_removed = 0, manifests_removed = 0;
  std::mutex mutex;

  void fail(std::string what) {
    std::lock_guard const lock(mutex);
    failures.push_back(std::move(what));
  }
};

inline constexpr int stress_pushers = 3;
inline constexpr int stress_repositories = 2;
inline constexpr std::size_t stress_shared_layers = 4;

inline std::string stress_repository(int i) {
  return "stress/r" + std::to_string(i % stress_repositories);
}

// Pusher `t`: its images, each of two shared layers, one of its own and a config, pushed
// as Docker does (HEAD each blob, upload the missing ones, PUT the manifest) under tags
// that it reuses, so that tags move too.
inline void stress_push(http_client const& c, int t, std::vector<content> const& shared,
                        stress_plan const& plan, stress_outcome& out) {
  for (int k = 0; k < plan.images; ++k) {
    std::string const repo = stress_repository(t + k);
    std::string const tag = "p" + std::to_string(t) + "-" + std::to_string(k % 3);
    auto const seed = static_cast<std::uint64_t>(1000 + t * 100 + k);
    std::size_t const first = static_cast<std::size_t>(t + k) % stress_shared_layers;
    std::size_t const second = (first + 1 + static_cast<std::size_t>(k) % 3) % stress_shared_layers;
    image const img(config(seed), {shared[first], shared[second], layer(512, seed)});
    for (int attempt = 0;; ++attempt) {
      for (content const* b : img.blobs()) {
        int const head = c.head(blob_path(repo, b->digest)).status;
        if (head == 200)
          continue;
        reply const up =
            c.request("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + b->digest.str(),
                      {{"Content-Type", "application/octet-stream"}}, b->bytes);
        if (head != 404 || up.status != 201)
          out.fail("upload to " + repo + ": HEAD " + std::to_string(head) + ", POST " +
                   std::to_string(up.status) + " " + up.body);
      }
      reply const m = put_manifest(c, repo, tag, img.manifest);
      if (m.status == 201) {
        ++out.pushes;
        break;
      }
      if (plan.may_repush && error_code(m) == "MANIFEST_BLOB_UNKNOWN" && attempt < 100000) {
        ++out.repushes;
        continue;
      }
      out.fail("push of " + repo + ":" + tag + ": " + std::to_string(m.status) + " " + m.body);
      break;
    }
  }
}

inline std::vector<std::string> stress_tags(http_client const& c, std::string const& repo) {
  reply const r = c.get("/v2/" + repo + "/tags/list?n=1000");
  std::vector<std::string> tags;
  if (r.status != 200)
    return tags;
  json::value const doc = json::parse(r.body);
  if (doc.at("tags").is_array())
    for (json::value const& t : doc.at("tags").as_array())
      tags.emplace_back(t.as_string());
  return tags;
}

// Deletes a tag, or every third time the manifest a tag points at, in a repository with
// three tags or more, until the pushers are done (at most 2000 times).
inline void stress_delete(http_client const& c, std::atomic<bool> const& pushing,
                          stress_outcome& out) {
  for (int j = 0; j < 2000 && pushing; ++j) {
    std::string const repo = stress_repository(j);
    std::vector<std::string> const tags = stress_tags(c, repo);
    if (tags.size() < 3) { // leave some for the checks at the end
      std::this_thread::sleep_for(1ms);
      continue;
    }
    std::string ref = tags[static_cast<std::size_t>(j) % tags.size()];
    if (j % 3 == 0)
      ref = c.head(manifest_path(repo, ref)).header_or_empty("Docker-Content-Digest");
    if (ref.empty())
      continue; // deleted meanwhile
    int const st = c.request("DELETE", manifest_path(repo, ref)).status;
    if (st == 202)
      ++out.deletions;
    else if (st != 404) // 404: another deletion or a tag move was first
      out.fail("DELETE " + repo + "/" + ref + ": " + std::to_string(st));
    std::this_thread::sleep_for(2ms); // let pushes complete between deletions
  }
}

// Runs the collector over and over, a millisecond apart (without any pause, a grace of 0
// would leave a push hardly a chance to get its manifest in between two runs).
template <class Collector>
void stress_collect(Collector& gc, std::atomic<bool> const& pushing, stress_plan const& plan,
                    stress_outcome& out) {
  asio::io_context io;
  for (; pushing && out.runs < plan.runs; std::this_thread::sleep_for(1ms)) {
    pier::result<reg::gc_report> const r = run(io, gc.run_once());
    if (!r) {
      out.fail("gc: " + r.error().message());
      return;
    }
    for (std::string const& e : r->errors)
      out.fail("gc: " + e);
    ++out.runs;
    out.blobs_removed += r->blobs_removed;
    out.manifests_removed += r->manifests_removed;
  }
}

/// A v2 server with two worker threads on 127.0.0.1, stopped when it goes out of scope.
class threaded_server {
public:
  explicit threaded_server(pier::http::handler h) {
    pier::http::server_options so;
    so.address = "127.0.0.1";
    so.port = 0;
    so.threads = 2;
    so.linger_timeout = 500ms;
    server_.emplace(so, std::move(h));
    thread_ = std::thread([this] { server_->run(); });
  }
  ~threaded_server() {
    server_->stop();
    thread_.join();
  }
  threaded_server(threaded_server const&) = delete;
  threaded_server& operator=(threaded_server const&) = delete;

  std::uint16_t port() const { return server_->port(); }

private:
  std::optional<pier::http::server> server_;
  std::thread thread_;
};

/// The stress test over `blobs` and `meta`, which start empty; `blob_count` says how many
/// blobs `blobs` holds.
template <class Blobs, class Meta>
void stress(Blobs& blobs, Meta& meta, stress_plan const& plan,
            std::function<std::size_t()> const& blob_count) {
  threaded_server const srv(
      reg::make_v2_handler(blobs, meta, {.remove_untagged = plan.remove_untagged}));
  http_client const c(srv.port());

  std::vector<content> shared;
  for (std::size_t i = 0; i < stress_shared_layers; ++i)
    shared.push_back(layer(2048, 900 + i));
  reg::gc_options const options{.grace = plan.grace, .untagged_retention = 0ms, .batch = 7};
  reg::collector<Blobs, Meta> gc(blobs, meta, options);
  stress_outcome out;
  std::atomic<bool> pushing = true;
  {
    std::thread collecting([&] { stress_collect(gc, pushing, plan, out); });
    std::thread deleting([&] { stress_delete(c, pushing, out); });
    std::vector<std::thread> pushers;
    for (int t = 0; t < stress_pushers; ++t)
      pushers.emplace_back([&, t] { stress_push(c, t, shared, plan, out); });
    for (std::thread& p : pushers)
      p.join();
    pushing = false;
    deleting.join();
    collecting.join();
  }

  // Every tag is fully pullable after the storm.
  for (int i = 0; i < stress_repositories; ++i)
    for (std::string const& tag : stress_tags(c, stress_repository(i)))
      EXPECT_TRUE(pullable(c, stress_repository(i), tag));
  // One more run with the same grace, once everything unused is past it: the blob store
  // then holds exactly what the remaining manifests (all tagged: untagged ones go at
  // retention 0) reference, and the tags are still whole.
  std::this_thread::sleep_for(plan.grace);
  asio::io_context io;
  pier::result<reg::gc_report> const last = run(io, gc.run_once());
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->errors.empty());
  std::set<std::string> referenced;
  std::size_t tags = 0;
  for (int i = 0; i < stress_repositories; ++i) {
    for (std::string const& tag : stress_tags(c, stress_repository(i))) {
      ++tags;
      EXPECT_TRUE(pullable(c, stress_repository(i), tag, &referenced));
    }
  }
  EXPECT_EQ(blob_count(), referenced.size());
  for (std::string const& f : out.failures)
    ADD_FAILURE() << f;
  EXPECT_EQ(out.pushes, static_cast<std::uint64_t>(stress_pushers * plan.images));
  if (!plan.may_repush) {
    EXPECT_EQ(out.repushes, 0u);
  }
  // What happened, for whoever reads the log: how much the pushes, deletions and runs
  // overlapped this time.
  std::cout << "stress: " << out.pushes << " pushes (" << out.repushes << " again), "
            << out.deletions << " deletions, " << out.runs << " runs that removed "
            << out.manifests_removed << " manifests and " << out.blobs_removed
            << " blobs; then one that removed " << last->blobs_removed << "; left: " << tags
            << " tags over " << referenced.size() << " blobs\n";
}

} // namespace gc_stress

#endif // PIER_TEST_UNIT_REGISTRY_GC_STRESS_HPP
