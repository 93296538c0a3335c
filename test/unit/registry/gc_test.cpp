// SPDX-License-Identifier: Apache-2.0
#include <pier/registry/gc.hpp>

#include <pier/registry/gc_api.hpp>

#include "../storage/test_util.hpp"
#include "gc_stress.hpp"
#include "test_registry.hpp"

#include <pier/storage/memory.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace gc_test {

// The helpers of the stress test (images, pullable, paths) and the names it uses.
using namespace gc_stress;
namespace storage = pier::storage;
using pier_test::index_manifest;
using pier_test::push_blob;
using pier_test::push_image;
using pier_test::registry_server;
using collector_type = reg::collector<storage::memory_blob_store, storage::memory_metadata_store>;

/// A registry over memory stores with a v2 server on 127.0.0.1, and a way to run the
/// collector over the same stores.
class Gc : public ::testing::Test {
protected:
  Gc() : Gc(reg::v2_options{}) {}
  explicit Gc(reg::v2_options o) : server_(blobs_, meta_, o), c_(server_.client()) {}

  /// One run with `o`, which must succeed.
  reg::gc_report collect(reg::gc_options o) {
    collector_type gc(blobs_, meta_, o);
    pier::result<reg::gc_report> r = run(io_, gc.run_once());
    EXPECT_TRUE(r) << r.error().message();
    if (!r)
      return {};
    EXPECT_TRUE(r->errors.empty()) << r->errors.front();
    return *r;
  }

  bool stored(content const& b) { return static_cast<bool>(run(io_, blobs_.stat(b.digest))); }

  /// Two images pushed by digest to `multi` and an index of them tagged `latest`.
  struct multi_arch {
    image x, y;
    content idx;
  };
  multi_arch push_multi_arch(std::uint64_t seed) {
    multi_arch m{image(config(seed), {layer(100, seed + 1)}),
                 image(config(seed + 2), {layer(100, seed + 3)}),
                 {}};
    m.idx = index_manifest({m.x.manifest, m.y.manifest});
    for (image const* i : {&m.x, &m.y})
      push_image(c_, "multi", i->manifest.digest.str(), i->cfg, i->layers, i->manifest);
    EXPECT_EQ(put_manifest(c_, "multi", "latest", m.idx).status, 201);
    return m;
  }

  int status(std::string_view method, std::string const& target) {
    return c_.request(method, target).status;
  }

  storage::memory_blob_store blobs_;
  storage::memory_metadata_store meta_;
  registry_server server_;
  http_client c_;
  asio::io_context io_;
};

TEST_F(Gc, UntaggedManifestsFollowTheRetention) {
  image const a(config(1), {layer(100, 2)});
  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);
  ASSERT_EQ(status("DELETE", manifest_path("app", "v1")), 202);
  std::string const by_digest = manifest_path("app", a.manifest.digest.str());

  // Kept (-1), and not yet due (1 h): the manifest stays, and with it what it references.
  for (auto const retention : {-1ms, std::chrono::milliseconds(1h)}) {
    reg::gc_report const r = collect({.grace = 0ms, .untagged_retention = retention});
    EXPECT_EQ(r.manifests_removed, 0u);
    EXPECT_EQ(r.blobs_removed, 0u);
    EXPECT_EQ(status("GET", by_digest), 200);
  }
  // 0: the next run removes it, and its blobs are no longer referenced.
  reg::gc_report const r = collect({.grace = 0ms, .untagged_retention = 0ms});
  EXPECT_EQ(r.manifests_removed, 1u);
  EXPECT_EQ(status("GET", by_digest), 404);
  EXPECT_EQ(r.blobs_removed, 2u);
  EXPECT_EQ(r.bytes_freed, a.size());
  EXPECT_FALSE(stored(a.cfg));
}

TEST_F(Gc, DeleteByDigestRemovesTheTagsAndTheBlobsGo) {
  image const a(config(3), {layer(100, 4), layer(200, 5)});
  push_image(c_, "app", "t1", a.cfg, a.layers, a.manifest);
  ASSERT_EQ(put_manifest(c_, "app", "t2", a.manifest).status, 201);
  ASSERT_EQ(status("DELETE", manifest_path("app", a.manifest.digest.str())), 202);
  EXPECT_EQ(status("GET", manifest_path("app", "t1")), 404);
  EXPECT_EQ(status("GET", manifest_path("app", "t2")), 404);

  // Within the grace period the blobs stay, unreferenced as they are.
  reg::gc_report r = collect({.grace = 1h});
  EXPECT_EQ(r.candidates, 0u);
  EXPECT_EQ(r.blobs_removed, 0u);
  EXPECT_EQ(blobs_.blob_count(), 3u);

  r = collect({.grace = 0ms});
  EXPECT_EQ(r.candidates, 3u);
  EXPECT_EQ(r.blobs_removed, 3u);
  EXPECT_EQ(r.bytes_freed, a.size());
  EXPECT_EQ(blobs_.blob_count(), 0u);
  for (content const* b : a.blobs())
    EXPECT_EQ(status("HEAD", blob_path("app", b->digest)), 404);

  // Nothing left to do.
  r = collect({.grace = 0ms});
  EXPECT_EQ(r.candidates, 0u);
}

TEST_F(Gc, ASharedLayerSurvivesDeletingOneOfTwoImages) {
  content const shared = layer(300, 6);
  image const a(config(7), {shared, layer(100, 8)});
  image const b(config(9), {shared, layer(100, 10)});
  push_image(c_, "app", "a", a.cfg, a.layers, a.manifest);
  push_image(c_, "app", "b", b.cfg, b.layers, b.manifest);
  push_image(c_, "other", "b", b.cfg, b.layers, b.manifest); // b in a second repository too
  ASSERT_EQ(status("DELETE", manifest_path("app", "a")), 202);
  ASSERT_EQ(status("DELETE", manifest_path("other", "b")), 202);

  reg::gc_report const r = collect({.grace = 0ms});
  EXPECT_EQ(r.manifests_removed, 2u);
  EXPECT_EQ(r.blobs_removed, 2u); // a's config and its own layer
  EXPECT_EQ(r.bytes_freed, a.cfg.bytes.size() + a.layers[1].bytes.size());
  EXPECT_TRUE(stored(shared));
  EXPECT_FALSE(stored(a.cfg));
  EXPECT_FALSE(stored(a.layers[1]));
  EXPECT_TRUE(pullable(c_, "app", "b"));
  EXPECT_EQ(blobs_.blob_count(), 3u);
}

TEST_F(Gc, AMountedLayerStaysWhileAnotherRepositoryReferencesIt) {
  image const a(config(62), {layer(100, 63)});
  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);
  content const& shared = a.layers[0];
  reply const mount = c_.request(
      "POST", "/v2/copy/blobs/uploads/?mount=" + shared.digest.str() + "&from=app", {}, "");
  ASSERT_EQ(mount.status, 201);
  image const b(config(64), {shared});
  push_blob(c_, "copy", b.cfg);
  ASSERT_EQ(put_manifest(c_, "copy", "v1", b.manifest).status, 201);

  // The source's image goes: its config with it, the mounted layer stays for copy.
  ASSERT_EQ(status("DELETE", manifest_path("app", a.manifest.digest.str())), 202);
  reg::gc_report r = collect({.grace = 0ms});
  EXPECT_EQ(r.blobs_removed, 1u);
  EXPECT_EQ(r.bytes_freed, a.cfg.bytes.size());
  EXPECT_TRUE(stored(shared));
  EXPECT_TRUE(pullable(c_, "copy", "v1"));
  EXPECT_EQ(status("HEAD", blob_path("app", a.cfg.digest)), 404);

  // And once copy's image goes too, nothing is left.
  ASSERT_EQ(status("DELETE", manifest_path("copy", "v1")), 202);
  r = collect({.grace = 0ms});
  EXPECT_EQ(r.blobs_removed, 2u);
  EXPECT_EQ(blobs_.blob_count(), 0u);
}

TEST_F(Gc, AnIndexTakesItsUntaggedChildrenAlong) {
  auto const [x, y, idx] = push_multi_arch(11);
  ASSERT_EQ(put_manifest(c_, "multi", "x-only", x.manifest).status, 201); // x is tagged too

  // Children pushed by digest are not "untagged": they are the index's.
  reg::gc_report r = collect({.grace = 0ms});
  EXPECT_EQ(r.manifests_removed, 0u);
  EXPECT_EQ(r.blobs_removed, 0u);

  ASSERT_EQ(status("DELETE", manifest_path("multi", "latest")), 202);
  r = collect({.grace = 0ms});
  EXPECT_EQ(r.manifests_removed, 2u); // the index and y, in the same run; x keeps its tag
  EXPECT_EQ(status("GET", manifest_path("multi", idx.digest.str())), 404);
  EXPECT_EQ(status("GET", manifest_path("multi", y.manifest.digest.str())), 404);
  EXPECT_TRUE(pullable(c_, "multi", "x-only"));
  EXPECT_EQ(r.blobs_removed, 2u);
  EXPECT_FALSE(stored(y.cfg));
  EXPECT_TRUE(stored(x.cfg));
}

TEST_F(Gc, AReferrerKeepsItsSubject) {
  image const a(config(15), {layer(100, 16)});
  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);
  content const sig_cfg = config(17, "application/vnd.example.signature.config+json");
  image const sig(sig_cfg, {layer(50, 18)});
  content const referrer = image_manifest(sig.cfg, sig.layers, pier_test::mt::oci_manifest,
                                          R"("subject":)" + a.manifest.descriptor());
  push_image(c_, "app", referrer.digest.str(), sig.cfg, sig.layers, referrer);

  ASSERT_EQ(status("DELETE", manifest_path("app", "v1")), 202);
  reg::gc_report const r = collect({.grace = 0ms});
  EXPECT_EQ(r.manifests_removed, 0u);
  EXPECT_EQ(r.blobs_removed, 0u);
  EXPECT_TRUE(pullable(c_, "app", a.manifest.digest.str()));
  EXPECT_TRUE(pullable(c_, "app", referrer.digest.str()));
}

TEST_F(Gc, OnlyBlobsUnusedForTheGracePeriodGo) {
  content const old_blob = layer(100, 19);
  content const read_blob = layer(100, 20);
  push_blob(c_, "app", old_blob);
  push_blob(c_, "app", read_blob);
  std::this_thread::sleep_for(600ms);
  // A HEAD through the repository counts as a use: a client that checked the blob before
  // pushing a manifest over it finds it still there.
  ASSERT_EQ(status("HEAD", blob_path("app", read_blob.digest)), 200);
  content const new_blob = layer(100, 21);
  push_blob(c_, "app", new_blob);

  reg::gc_report const r = collect({.grace = 500ms});
  EXPECT_EQ(r.candidates, 1u);
  EXPECT_EQ(r.blobs_removed, 1u);
  EXPECT_EQ(r.bytes_freed, old_blob.bytes.size());
  EXPECT_FALSE(stored(old_blob));
  EXPECT_TRUE(stored(read_blob));
  EXPECT_TRUE(stored(new_blob));
  EXPECT_EQ(status("HEAD", blob_path("app", old_blob.digest)), 404);
  EXPECT_EQ(status("HEAD", blob_path("app", read_blob.digest)), 200);
}

TEST_F(Gc, ACollectedImageCanBePushedAgain) {
  image const a(config(22), {layer(100, 23)});
  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);
  ASSERT_EQ(status("DELETE", manifest_path("app", a.manifest.digest.str())), 202);
  EXPECT_EQ(collect({.grace = 0ms}).blobs_removed, 2u);
  // Mounting from a repository that no longer holds it starts an upload instead.
  reply const mount = c_.request(
      "POST", "/v2/copy/blobs/uploads/?mount=" + a.cfg.digest.str() + "&from=app", {}, "");
  EXPECT_EQ(mount.status, 202);

  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);
  EXPECT_TRUE(pullable(c_, "app", "v1"));
  EXPECT_EQ(collect({.grace = 0ms}).blobs_removed, 0u);
  EXPECT_TRUE(pullable(c_, "app", "v1"));
}

TEST_F(Gc, StaleUploadsAreAborted) {
  reply const started = c_.request("POST", "/v2/app/blobs/uploads/", {}, "");
  ASSERT_EQ(started.status, 202);
  std::string const location = started.header_or_empty("Location");
  reply const patched =
      c_.request("PATCH", location, {{"Content-Type", "application/octet-stream"}}, "some bytes");
  ASSERT_EQ(patched.status, 202);

  reg::gc_report r = collect({.upload_ttl = 1h});
  EXPECT_EQ(r.uploads_expired, 0u);
  EXPECT_EQ(blobs_.upload_count(), 1u);
  EXPECT_EQ(status("GET", location), 204);

  r = collect({.upload_ttl = 0ms});
  EXPECT_EQ(r.uploads_expired, 1u);
  EXPECT_EQ(blobs_.upload_count(), 0u);
  reply const gone = c_.get(location);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(error_code(gone), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(Gc, ADryRunCountsAndChangesNothing) {
  image const a(config(40), {layer(100, 41)});
  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);
  image const b(config(42), {layer(100, 43)});
  push_image(c_, "app", "v2", b.cfg, b.layers, b.manifest);
  ASSERT_EQ(status("DELETE", manifest_path("app", "v1")), 202);
  ASSERT_EQ(status("DELETE", manifest_path("app", b.manifest.digest.str())), 202);
  ASSERT_EQ(c_.request("POST", "/v2/app/blobs/uploads/", {}, "").status, 202);

  reg::gc_report const dry =
      collect({.grace = 0ms, .upload_ttl = 0ms, .batch = 1, .dry_run = true});
  EXPECT_EQ(dry.manifests_removed, 1u); // a; its blobs are still referenced
  EXPECT_EQ(dry.uploads_expired, 1u);
  EXPECT_EQ(dry.candidates, 2u); // b's
  EXPECT_EQ(dry.blobs_removed, 2u);
  EXPECT_EQ(dry.bytes_freed, b.size());
  EXPECT_TRUE(pullable(c_, "app", a.manifest.digest.str()));
  EXPECT_EQ(blobs_.blob_count(), 4u);
  EXPECT_EQ(blobs_.upload_count(), 1u);

  reg::gc_report const real = collect({.grace = 0ms, .upload_ttl = 0ms, .batch = 1});
  EXPECT_EQ(real.manifests_removed, 1u);
  EXPECT_EQ(real.uploads_expired, 1u);
  EXPECT_EQ(real.blobs_removed, 4u); // b's, and a's once a is gone
  EXPECT_EQ(blobs_.blob_count(), 0u);
}

TEST_F(Gc, OrphanBlobsGoAfterTheGrace) {
  // Bytes no metadata knows (a crash between an upload's commit and its link leaves such).
  content const orphan = layer(100, 44);
  ASSERT_TRUE(run(io_, blobs_.put(pier_test::bytes_of(orphan.bytes), orphan.digest)));
  image const a(config(45), {layer(100, 46)});
  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);

  reg::gc_report r = collect({.grace = 1h});
  EXPECT_EQ(r.candidates, 0u); // committed within the grace: an upload about to link it
  EXPECT_TRUE(stored(orphan));
  r = collect({.grace = 0ms}); // within the default floor: still kept
  EXPECT_EQ(r.candidates, 0u);
  EXPECT_TRUE(stored(orphan));

  r = collect({.grace = 0ms, .dry_run = true, .orphan_grace = 0ms});
  EXPECT_EQ(r.candidates, 1u);
  EXPECT_EQ(r.orphans_removed, 1u);
  EXPECT_EQ(r.bytes_freed, orphan.bytes.size());
  EXPECT_TRUE(stored(orphan));

  r = collect({.grace = 0ms, .orphan_grace = 0ms});
  EXPECT_EQ(r.candidates, 1u);
  EXPECT_EQ(r.blobs_removed, 1u);
  EXPECT_EQ(r.orphans_removed, 1u);
  EXPECT_EQ(r.bytes_freed, orphan.bytes.size());
  EXPECT_FALSE(stored(orphan));
  EXPECT_TRUE(pullable(c_, "app", "v1")); // what the metadata knows is step 3's business
  EXPECT_EQ(blobs_.blob_count(), 2u);

  // Pushed again after that, it is a blob like any other.
  push_blob(c_, "app", orphan);
  EXPECT_EQ(collect({.grace = 1h}).blobs_removed, 0u);
  EXPECT_EQ(status("HEAD", blob_path("app", orphan.digest)), 200);
}

TEST_F(Gc, OneRunAtATime) {
  image const a(config(24), {layer(100, 25)});
  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);
  ASSERT_EQ(status("DELETE", manifest_path("app", a.manifest.digest.str())), 202);

  // One thread: the first run yields after its first blob, and the second one starts then.
  collector_type gc(blobs_, meta_, {.grace = 0ms});
  std::optional<pier::result<reg::gc_report>> first, second;
  bool running_seen = false;
  asio::co_spawn(
      io_, [&]() -> asio::awaitable<void> { first = co_await gc.run_once(); }, asio::detached);
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        running_seen = gc.running();
        second = co_await gc.run_once();
      },
      asio::detached);
  EXPECT_FALSE(gc.last());
  io_.run();
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(running_seen);
  ASSERT_TRUE(*first);
  EXPECT_EQ((*first)->blobs_removed, 2u);
  ASSERT_FALSE(*second);
  EXPECT_EQ(second->error(), reg::gc_error::already_running);
  EXPECT_EQ(pier::to_oci_error(second->error()), pier::oci_error::unavailable);
  EXPECT_FALSE(gc.running());
  ASSERT_TRUE(gc.last());
  EXPECT_EQ(*gc.last(), **first);
}

TEST_F(Gc, RunEveryRunsUntilStopped) {
  image const a(config(26), {layer(100, 27)});
  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);
  ASSERT_EQ(status("DELETE", manifest_path("app", "v1")), 202);

  collector_type gc(blobs_, meta_, {.grace = 0ms});
  std::atomic<bool> returned = false;
  asio::co_spawn(io_, gc.run_every(1ms), [&](std::exception_ptr) { returned = true; });
  std::thread loop([&] { io_.run(); });
  for (int i = 0; i < 10000 && !gc.last(); ++i)
    std::this_thread::sleep_for(1ms);
  gc.stop(); // from another thread than the loop's
  loop.join();
  EXPECT_TRUE(returned);
  ASSERT_TRUE(gc.last());
  EXPECT_EQ(blobs_.blob_count(), 0u);
  EXPECT_TRUE(gc.stopped());
  EXPECT_FALSE(gc.start(io_.get_executor()));
  pier::result<reg::gc_report> const after = run(io_, gc.run_once());
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error(), reg::gc_error::stopped);
  // Stopped before it starts: returns at once.
  collector_type idle(blobs_, meta_);
  idle.stop();
  run(io_, [&]() -> asio::awaitable<bool> {
    co_await idle.run_every(1h);
    co_return true;
  }());
}

TEST_F(Gc, RunEveryRunsFirstAfterItsFirstDelay) {
  image const a(config(47), {layer(100, 48)});
  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);
  ASSERT_EQ(status("DELETE", manifest_path("app", "v1")), 202);

  // An interval of an hour, but a first run at once: a server restarted more often than
  // its interval still collects.
  collector_type gc(blobs_, meta_, {.grace = 0ms});
  asio::co_spawn(io_, gc.run_every(1h, 0ms), asio::detached);
  std::thread loop([&] { io_.run(); });
  for (int i = 0; i < 10000 && !gc.last(); ++i)
    std::this_thread::sleep_for(1ms);
  gc.stop();
  loop.join();
  ASSERT_TRUE(gc.last());
  EXPECT_EQ(gc.last()->blobs_removed, 2u);
  EXPECT_EQ(blobs_.blob_count(), 0u);
}

// --- v2_options::remove_untagged -------------------------------------------------------------

class GcImmediate : public Gc {
protected:
  GcImmediate() : Gc(reg::v2_options{.remove_untagged = true}) {}
};

TEST_F(GcImmediate, UntaggingRemovesAtOnce) {
  image const a(config(28), {layer(100, 29)});
  image const b(config(30), {layer(100, 31)});
  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);
  ASSERT_EQ(put_manifest(c_, "app", "v2", a.manifest).status, 201);
  // Still tagged v2: stays.
  ASSERT_EQ(status("DELETE", manifest_path("app", "v1")), 202);
  EXPECT_TRUE(pullable(c_, "app", a.manifest.digest.str()));
  // The tag moves to b: a is left untagged and goes.
  push_image(c_, "app", "v2", b.cfg, b.layers, b.manifest);
  EXPECT_EQ(status("GET", manifest_path("app", a.manifest.digest.str())), 404);
  EXPECT_TRUE(pullable(c_, "app", "v2"));
  // Deleting the last tag.
  ASSERT_EQ(status("DELETE", manifest_path("app", "v2")), 202);
  EXPECT_EQ(status("GET", manifest_path("app", b.manifest.digest.str())), 404);
  // Pushed by digest, never tagged: stays.
  push_image(c_, "app", a.manifest.digest.str(), a.cfg, a.layers, a.manifest);
  EXPECT_TRUE(pullable(c_, "app", a.manifest.digest.str()));
  // The blobs wait for the collector.
  EXPECT_EQ(blobs_.blob_count(), 4u);
  reg::gc_report const r = collect({.grace = 0ms});
  EXPECT_EQ(r.manifests_removed, 0u);
  EXPECT_EQ(r.blobs_removed, 2u);
}

TEST_F(GcImmediate, AnIndexGoesWithItsChildren) {
  auto const [x, y, idx] = push_multi_arch(32);
  ASSERT_EQ(status("DELETE", manifest_path("multi", "latest")), 202);
  for (content const* m : {&idx, &x.manifest, &y.manifest})
    EXPECT_EQ(status("GET", manifest_path("multi", m->digest.str())), 404);
  // By digest: the index's children go too.
  ASSERT_EQ(put_manifest(c_, "multi", x.manifest.digest.str(), x.manifest).status, 201);
  ASSERT_EQ(put_manifest(c_, "multi", y.manifest.digest.str(), y.manifest).status, 201);
  ASSERT_EQ(put_manifest(c_, "multi", "latest", idx).status, 201);
  ASSERT_EQ(status("DELETE", manifest_path("multi", idx.digest.str())), 202);
  for (content const* m : {&x.manifest, &y.manifest})
    EXPECT_EQ(status("GET", manifest_path("multi", m->digest.str())), 404);
}

// --- /api/v1/gc --------------------------------------------------------------------------------

class GcApi : public Gc {
protected:
  using api_type = reg::gc_api<collector_type>;

  struct answer {
    int status = 0;
    std::string body;
    pier::http::fields headers;
    json::value json() const { return json::parse(body); }
    std::string header(std::string_view name) const {
      auto const v = headers.find(name);
      return v ? std::string(*v) : std::string();
    }
  };

  answer call(std::string method, std::string target, reg::gc_caller who) {
    pier::http::request_head head;
    head.set_method(std::move(method));
    head.set_target(std::move(target));
    head.set_version(11);
    pier::http::string_body_reader reader("");
    pier::http::request req(std::move(head), reader, "127.0.0.1");
    pier::http::response res = run(io_, api_.handle(req, who)); // runs a started GC too
    answer out{res.status(), {}, res.headers()};
    if (auto const* s = std::get_if<std::string>(&res.body()))
      out.body = *s;
    EXPECT_EQ(out.header("Cache-Control"), "no-store");
    return out;
  }

  static constexpr reg::gc_caller admin{.anonymous = false, .admin = true};

  collector_type gc_{blobs_, meta_, {.grace = 0ms}};
  api_type api_{gc_};
};

TEST_F(GcApi, Routes) {
  EXPECT_TRUE(api_type::handles("/api/v1/gc"));
  EXPECT_TRUE(api_type::handles("/api/v1/gc?now=1"));
  EXPECT_FALSE(api_type::handles("/api/v1/gc/"));
  EXPECT_FALSE(api_type::handles("/api/v1/gcx"));
  EXPECT_FALSE(api_type::handles("/api/v1/users"));
  EXPECT_EQ(call("GET", "/api/v1/nope", admin).status, 404);
}

TEST_F(GcApi, AdminsOnly) {
  for (char const* method : {"GET", "POST"}) {
    answer const anonymous = call(method, "/api/v1/gc", {});
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_EQ(anonymous.header("WWW-Authenticate"), R"(Basic realm="pier")");
    EXPECT_EQ(anonymous.json().at("errors").at(0).at("code"), "UNAUTHORIZED");
    answer const user = call(method, "/api/v1/gc", {.anonymous = false, .admin = false});
    EXPECT_EQ(user.status, 403);
    EXPECT_EQ(user.json().at("errors").at(0).at("code"), "DENIED");
  }
  EXPECT_FALSE(gc_.last()); // nothing ran
  answer const put = call("PUT", "/api/v1/gc", admin);
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.header("Allow"), "GET, HEAD, POST");
}

TEST_F(GcApi, StartAndReport) {
  answer r = call("GET", "/api/v1/gc", admin);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json(), json::parse(R"({"running":false,"last":null,"runs":[]})"));

  image const a(config(36), {layer(100, 37)});
  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);
  ASSERT_EQ(status("DELETE", manifest_path("app", "v1")), 202);

  r = call("POST", "/api/v1/gc", admin);
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.header("Location"), "/api/v1/gc");
  EXPECT_EQ(r.json().at("started"), true);
  EXPECT_EQ(r.json().at("running"), true);

  r = call("GET", "/api/v1/gc", admin); // the run finished within the previous call
  EXPECT_EQ(r.status, 200);
  json::object const o = r.json().as_object();
  EXPECT_EQ(o.at("running"), false);
  json::object const last = o.at("last").as_object();
  EXPECT_EQ(last.at("manifests_removed").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(last.at("candidates").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(last.at("blobs_removed").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(last.at("bytes_freed").to_number<std::uint64_t>(), a.size());
  EXPECT_EQ(last.at("uploads_expired").to_number<std::uint64_t>(), 0u);
  EXPECT_GE(last.at("duration_ms").to_number<double>(), 0.0);
  EXPECT_TRUE(last.at("errors").as_array().empty());
  std::string const started(last.at("started").as_string());
  EXPECT_EQ(started, pier::detail::rfc3339::format(gc_.last()->started, true));
  EXPECT_EQ(started.size(), 24u) << started; // 2026-11-22T16:25:00.123Z
  EXPECT_EQ(started.back(), 'Z');
}

TEST_F(GcApi, KeepsTheLastRunsNewestFirstAndReportsEach) {
  std::vector<reg::gc_report> reported;
  collector_type gc(blobs_, meta_,
                    {.grace = 0ms, .on_report = [&](reg::gc_report const& r) {
                       reported.push_back(r);
                     }});
  api_type api(gc);
  auto runs = [&] {
    pier::http::request_head head;
    head.set_method("GET");
    head.set_target("/api/v1/gc");
    head.set_version(11);
    pier::http::string_body_reader reader("");
    pier::http::request req(std::move(head), reader, "127.0.0.1");
    pier::http::response res = run(io_, api.handle(req, admin));
    json::value const v = json::parse(std::get<std::string>(res.body()));
    EXPECT_EQ(v.at("last"), v.at("runs").as_array().empty() ? json::value() : v.at("runs").at(0));
    return v.at("runs").as_array();
  };
  ASSERT_TRUE(run(io_, gc.run_once()));
  image const a(config(40), {layer(100, 41)});
  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);
  ASSERT_EQ(status("DELETE", manifest_path("app", "v1")), 202);
  ASSERT_TRUE(run(io_, gc.run_once()));
  json::array list = runs();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list.at(0).at("blobs_removed").to_number<std::uint64_t>(), 2u); // newest first
  EXPECT_EQ(list.at(1).at("blobs_removed").to_number<std::uint64_t>(), 0u);
  for (std::size_t i = 0; i < collector_type::history_size; ++i)
    ASSERT_TRUE(run(io_, gc.run_once()));
  list = runs();
  EXPECT_EQ(list.size(), collector_type::history_size); // the run that removed blobs is gone
  for (json::value const& r : list)
    EXPECT_EQ(r.at("blobs_removed").to_number<std::uint64_t>(), 0u);
  ASSERT_EQ(reported.size(), collector_type::history_size + 2); // one report per run
  EXPECT_EQ(reported[1].blobs_removed, 2u);
  EXPECT_EQ(reported[1].bytes_freed, a.size());
}

TEST_F(GcApi, ARunInProgressIsJoined) {
  image const a(config(38), {layer(100, 39)});
  push_image(c_, "app", "v1", a.cfg, a.layers, a.manifest);
  ASSERT_EQ(status("DELETE", manifest_path("app", a.manifest.digest.str())), 202);
  // The first run starts before the request and yields after its first blob.
  asio::co_spawn(
      io_, [&]() -> asio::awaitable<void> { (void)co_await gc_.run_once(); }, asio::detached);
  answer const r = call("POST", "/api/v1/gc", admin);
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.json().at("started"), false);
  EXPECT_EQ(r.json().at("running"), true);
  ASSERT_TRUE(gc_.last());
  EXPECT_EQ(gc_.last()->blobs_removed, 2u);
}

TEST_F(GcApi, StoppedRefuses) {
  gc_.stop();
  answer const r = call("POST", "/api/v1/gc", admin);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.json().at("errors").at(0).at("code"), "UNAVAILABLE");
}

TEST(GcTime, Rfc3339WithMilliseconds) {
  auto const t = std::chrono::system_clock::from_time_t(1795364700) + 7ms;
  EXPECT_EQ(pier::detail::rfc3339::format(t, true), "2026-11-22T16:25:00.007Z");
}

// The examples of gc.hpp and gc_api.hpp as they are written there.
TEST(GcExample, AsTheHeadersWriteIt) {
  pier::storage::memory_blob_store blobs;
  pier::storage::memory_metadata_store meta;
  pier::registry::collector gc(blobs, meta, {.grace = std::chrono::minutes(10)});
  asio::io_context io;
  asio::co_spawn(io, gc.run_every(std::chrono::hours(1)), asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        pier::result<pier::registry::gc_report> r = co_await gc.run_once(); // on demand
        EXPECT_TRUE(r || r.error() == pier::registry::gc_error::already_running);
        gc.stop();
      },
      asio::detached);
  io.run(); // returns: stop() ended run_every
  EXPECT_TRUE(gc.last());

  pier::registry::collector other(blobs, meta);
  bool const started = other.start(io.get_executor()); // in the background
  EXPECT_TRUE(started);
  io.restart();
  io.run();
  std::optional<pier::registry::gc_report> last = other.last();
  EXPECT_TRUE(last);

  pier::registry::gc_api api(gc);
  EXPECT_TRUE(api.handles("/api/v1/gc"));
  EXPECT_FALSE(api.handles("/api/v1/users"));
}

// The stress test over memory stores.
void stress(gc_stress::stress_plan const& plan) {
  storage::memory_blob_store blobs;
  storage::memory_metadata_store meta;
  gc_stress::stress(blobs, meta, plan, [&] { return blobs.blob_count(); });
  EXPECT_EQ(blobs.upload_count(), 0u);
}

// A grace the design guarantees pushes with: much longer than any push here takes from
// its first HEAD to its manifest PUT. No push may fail. Enough images that the storm
// outlasts the grace, so that runs during it have blobs to remove.
TEST(GcStress, PushesNeverFailWithinTheGracePeriod) { stress({.grace = 500ms, .images = 200}); }

// The worst case: a grace of 0, and untagged manifests removed by the DELETE itself. A
// manifest PUT may then lose its blobs to a sweep that ran after its HEADs (the client
// pushes again), but nothing a stored manifest references is ever deleted.
TEST(GcStress, NothingReferencedIsDeletedWithAGraceOfZero) {
  stress({.grace = 0ms, .may_repush = true, .remove_untagged = true, .runs = 300});
}

} // namespace gc_test
