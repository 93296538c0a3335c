// SPDX-License-Identifier: Apache-2.0
#include <pier/registry/gc.hpp>

#include <pier/registry/gc_api.hpp>

#include "../storage/test_util.hpp"
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

namespace reg = pier::registry;
namespace storage = pier::storage;
namespace json = boost::json;
using namespace std::chrono_literals;
using pier_test::config;
using pier_test::content;
using pier_test::error_code;
using pier_test::http_client;
using pier_test::image_manifest;
using pier_test::index_manifest;
using pier_test::layer;
using pier_test::push_blob;
using pier_test::push_image;
using pier_test::put_manifest;
using pier_test::registry_server;
using pier_test::reply;
using pier_test::run;
using collector_type = reg::collector<storage::memory_blob_store, storage::memory_metadata_store>;

std::string blob_path(std::string_view repo, pier::digest const& d) {
  return "/v2/" + std::string(repo) + "/blobs/" + d.str();
}

std::string manifest_path(std::string_view repo, std::string_view ref) {
  return "/v2/" + std::string(repo) + "/manifests/" + std::string(ref);
}

/// An image: config, layers and the manifest over them.
struct image {
  content cfg;
  std::vector<content> layers;
  content manifest;

  image(content c, std::vector<content> l)
      : cfg(std::move(c)), layers(std::move(l)), manifest(image_manifest(cfg, layers)) {}

  std::vector<content const*> blobs() const {
    std::vector<content const*> out{&cfg};
    for (content const& l : layers)
      out.push_back(&l);
    return out;
  }
  std::uint64_t size() const {
    std::uint64_t n = 0;
    for (content const* b : blobs())
      n += b->bytes.size();
    return n;
  }
};

/// Whether `repo:ref` can be pulled whole: the manifest, then every blob it names, each
/// with the content its digest says. Adds the blobs' digests to `referenced` when given.
::testing::AssertionResult pullable(http_client const& c, std::string_view repo,
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
  EXPECT_EQ(r.json(), json::parse(R"({"running":false,"last":null})"));

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
  EXPECT_EQ(started, reg::detail::gc_time(gc_.last()->started));
  EXPECT_EQ(started.size(), 24u) << started; // 2026-11-22T16:25:00.123Z
  EXPECT_EQ(started.back(), 'Z');
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
  EXPECT_EQ(reg::detail::gc_time(t), "2026-11-22T16:25:00.007Z");
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

// --- the stress test ---------------------------------------------------------------------------
//
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

constexpr int stress_pushers = 3;
constexpr int stress_repositories = 2;
constexpr std::size_t stress_shared_layers = 4;

std::string stress_repository(int i) {
  return "stress/r" + std::to_string(i % stress_repositories);
}

// Pusher `t`: its images, each of two shared layers, one of its own and a config, pushed
// as Docker does (HEAD each blob, upload the missing ones, PUT the manifest) under tags
// that it reuses, so that tags move too.
void stress_push(http_client const& c, int t, std::vector<content> const& shared,
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

std::vector<std::string> stress_tags(http_client const& c, std::string const& repo) {
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

// Deletes a tag, or every third time the manifest a tag points at, until the pushers are
// done (at most 2000 times).
void stress_delete(http_client const& c, std::atomic<bool> const& pushing, stress_outcome& out) {
  for (int j = 0; j < 2000 && pushing; ++j) {
    std::string const repo = stress_repository(j);
    std::vector<std::string> const tags = stress_tags(c, repo);
    if (tags.empty()) {
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
void stress_collect(collector_type& gc, std::atomic<bool> const& pushing, stress_plan const& plan,
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

void stress(stress_plan const& plan) {
  storage::memory_blob_store blobs;
  storage::memory_metadata_store meta;
  pier::http::server_options so;
  so.address = "127.0.0.1";
  so.port = 0;
  so.threads = 2;
  so.linger_timeout = 500ms;
  pier::http::server srv(
      so, reg::make_v2_handler(blobs, meta, {.remove_untagged = plan.remove_untagged}));
  std::thread serving([&] { srv.run(); });
  http_client const c(srv.port());

  std::vector<content> shared;
  for (std::size_t i = 0; i < stress_shared_layers; ++i)
    shared.push_back(layer(2048, 900 + i));
  reg::gc_options const options{.grace = plan.grace, .untagged_retention = 0ms, .batch = 7};
  collector_type gc(blobs, meta, options);
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
  EXPECT_EQ(blobs.blob_count(), referenced.size());
  EXPECT_EQ(blobs.upload_count(), 0u);
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
  srv.stop();
  serving.join();
}

// A grace the design guarantees pushes with: much longer than any push here takes from
// its first HEAD to its manifest PUT. No push may fail. Enough images that the storm
// outlasts the grace, so that runs during it have blobs to remove.
TEST(GcStress, PushesNeverFailWithinTheGracePeriod) { stress({.grace = 500ms, .images = 120}); }

// The worst case: a grace of 0, and untagged manifests removed by the DELETE itself. A
// manifest PUT may then lose its blobs to a sweep that ran after its HEADs (the client
// pushes again), but nothing a stored manifest references is ever deleted.
TEST(GcStress, NothingReferencedIsDeletedWithAGraceOfZero) {
  stress({.grace = 0ms, .may_repush = true, .remove_untagged = true, .runs = 300});
}

} // namespace gc_test
