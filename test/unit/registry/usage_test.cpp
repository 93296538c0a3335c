// SPDX-License-Identifier: Apache-2.0
#include <pier/registry/api.hpp>

#include <pier/registry/v2.hpp>

#include "../storage/test_util.hpp"
#include "test_registry.hpp"

#include <pier/storage/memory.hpp>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace usage_test {

namespace json = boost::json;
namespace reg = pier::registry;
namespace storage = pier::storage;
using pier_test::config;
using pier_test::content;
using pier_test::error_code;
using pier_test::http_client;
using pier_test::image;
using pier_test::image_manifest;
using pier_test::layer;
using pier_test::push_image;
using pier_test::put_manifest;
using pier_test::reply;

using api_type = reg::namespace_api<storage::memory_metadata_store>;

/// Who the test server takes the caller to be, from the `X-Caller` header: `admin`, `acme`
/// (a member of namespace acme) or anyone else (may pull nothing).
inline reg::pull_access caller(std::string_view who) {
  reg::pull_access a;
  a.everything = who == "admin";
  a.admin = who == "admin";
  if (who == "acme")
    a.whole_namespace = [](std::string_view ns) { return ns == "acme"; };
  return a;
}

/// `r` is 403 DENIED for namespace `ns` over its quota, with the numbers of its message.
inline void expect_quota_denied(reply const& r, std::string_view ns, std::uint64_t used,
                                std::uint64_t quota) {
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(error_code(r), "DENIED");
  EXPECT_NE(r.body.find("quota of namespace " + std::string(ns) + " exceeded: " +
                        std::to_string(used) + " bytes used of " + std::to_string(quota)),
            std::string::npos)
      << r.body;
}

/// The v2 API and the namespace API over memory stores, on 127.0.0.1, as a server routes
/// them: /api/v1 to the namespace API with the caller of `X-Caller`, the rest to v2.
/// Untagging removes the manifest at once (`--untagged-retention 0`), so that usage drops.
inline pier::http::handler serve(storage::memory_blob_store& blobs,
                                 storage::memory_metadata_store& meta,
                                 reg::v2_options options = {.remove_untagged = true}) {
  auto api = std::make_shared<api_type const>(meta);
  pier::http::handler v2 = reg::make_v2_handler(blobs, meta, options);
  return [api, v2](pier::http::request& req) -> asio::awaitable<pier::http::response> {
    if (!api_type::handles(req.target()))
      co_return co_await v2(req);
    reg::pull_access const who = caller(req.headers().find("X-Caller").value_or(""));
    co_return co_await api->handle(req, who);
  };
}

class Usage : public ::testing::Test {
protected:
  Usage() : server_(serve(blobs_, meta_)), c_(server_.client()) {}

  void push(std::string_view repo, std::string_view tag, image const& i) {
    push_image(c_, repo, tag, i.cfg, i.layers, i.manifest);
  }

  json::value usage(std::string_view ns, std::string_view who = "admin",
                    std::string_view query = "") {
    reply const r =
        c_.request("GET", "/api/v1/namespaces/" + std::string(ns) + "/usage" + std::string(query),
                   {{"X-Caller", std::string(who)}});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }

  reply set_quota(std::string_view ns, std::string body, std::string_view who = "admin") {
    return c_.request("PUT", "/api/v1/namespaces/" + std::string(ns) + "/quota",
                      {{"X-Caller", std::string(who)}, {"Content-Type", "application/json"}}, body);
  }

  static std::uint64_t number(json::value const& v, std::string_view key) {
    return v.at(key).to_number<std::uint64_t>();
  }

  storage::memory_blob_store blobs_;
  storage::memory_metadata_store meta_;
  pier_test::registry_server server_;
  http_client c_;

  // S: in acme/web and acme/db; X: in acme/web and globex/app; A: acme/web's alone.
  content const s_ = layer(1000, 1);
  content const x_ = layer(500, 2);
  content const a_ = layer(300, 3);
  image const web_{10, {s_, x_, a_}};
  image const db_{11, {s_}};
  image const app_{12, {x_}};
};

TEST_F(Usage, shared_layers_are_shared_across_repositories_and_namespaces) {
  push("acme/web", "v1", web_);
  push("acme/db", "v1", db_);
  push("globex/app", "v1", app_);

  json::value const acme = usage("acme");
  EXPECT_EQ(acme.at("namespace").as_string(), "acme");
  EXPECT_EQ(number(acme, "unique_bytes"),
            web_.cfg.bytes.size() + db_.cfg.bytes.size() + s_.bytes.size() + a_.bytes.size());
  EXPECT_EQ(number(acme, "shared_bytes"), x_.bytes.size()); // globex has it too
  EXPECT_TRUE(acme.at("quota").is_null());
  json::array const& repos = acme.at("repositories").as_array();
  ASSERT_EQ(repos.size(), 2u);
  EXPECT_EQ(repos[0].at("name").as_string(), "acme/db");
  EXPECT_EQ(number(repos[0], "unique_bytes"), db_.cfg.bytes.size());
  EXPECT_EQ(number(repos[0], "shared_bytes"), s_.bytes.size());
  EXPECT_EQ(repos[1].at("name").as_string(), "acme/web");
  EXPECT_EQ(number(repos[1], "unique_bytes"), web_.cfg.bytes.size() + a_.bytes.size());
  EXPECT_EQ(number(repos[1], "shared_bytes"), s_.bytes.size() + x_.bytes.size());

  json::value const globex = usage("globex");
  EXPECT_EQ(number(globex, "unique_bytes"), app_.cfg.bytes.size());
  EXPECT_EQ(number(globex, "shared_bytes"), x_.bytes.size());
}

TEST_F(Usage, repositories_are_paged_with_the_totals_on_every_page) {
  push("acme/web", "v1", web_);
  push("acme/db", "v1", db_);
  reply const r = c_.request("GET", "/api/v1/namespaces/acme/usage?n=1", {{"X-Caller", "acme"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header_or_empty("Link"), "</api/v1/namespaces/acme/usage?n=1&last=acme%2Fdb>; "
                                       "rel=\"next\"");
  json::value const second = usage("acme", "acme", "?n=1&last=acme/db");
  ASSERT_EQ(second.at("repositories").as_array().size(), 1u);
  EXPECT_EQ(second.at("repositories").at(0).at("name").as_string(), "acme/web");
  EXPECT_EQ(number(second, "unique_bytes"), number(json::parse(r.body), "unique_bytes"));
}

TEST_F(Usage, deleting_a_manifest_lowers_usage) {
  push("acme/web", "v1", web_);
  push("globex/app", "v1", app_);
  EXPECT_EQ(number(usage("acme"), "shared_bytes"), x_.bytes.size());
  reply const del = c_.request("DELETE", "/v2/globex/app/manifests/" + app_.manifest.digest.str());
  ASSERT_EQ(del.status, 202) << del.body;
  json::value const acme = usage("acme");
  EXPECT_EQ(number(acme, "shared_bytes"), 0u); // X is acme's alone now
  EXPECT_EQ(number(acme, "unique_bytes"),
            web_.cfg.bytes.size() + s_.bytes.size() + x_.bytes.size() + a_.bytes.size());
  json::value const globex = usage("globex");
  EXPECT_EQ(number(globex, "unique_bytes") + number(globex, "shared_bytes"), 0u);

  ASSERT_EQ(c_.request("DELETE", "/v2/acme/web/manifests/v1").status, 202); // untag: removed
  EXPECT_EQ(number(usage("acme"), "unique_bytes"), 0u);
}

/// A monolithic upload of `b` into `repo`, whatever it answers.
inline reply upload(http_client const& c, std::string_view repo, content const& b) {
  return c.request("POST",
                   pier_test::uploads(repo) + "?digest=" + b.digest.str(),
                   {{"Content-Type", "application/octet-stream"}}, b.bytes);
}

// Uploads are charged: a blob that would take the namespace over its quota is refused when
// it is uploaded, before any manifest references it.
TEST_F(Usage, a_push_over_the_quota_is_denied_and_one_exactly_at_it_is_not) {
  push("acme/db", "v1", db_);
  std::uint64_t const used = db_.cfg.bytes.size() + s_.bytes.size();
  // web_ adds its config, X and A (S is counted already): exactly up to the quota.
  std::uint64_t const limit = used + web_.cfg.bytes.size() + x_.bytes.size() + a_.bytes.size();
  ASSERT_EQ(set_quota("acme", R"({"bytes":)" + std::to_string(limit) + "}").status, 204);
  EXPECT_EQ(number(usage("acme"), "quota"), limit);
  push("acme/web", "v1", web_);
  EXPECT_EQ(number(usage("acme"), "unique_bytes"), limit);

  // A new layer is one byte too many: refused at its upload.
  content const extra = layer(1, 4);
  image const more{13, {s_, extra}};
  expect_quota_denied(upload(c_, "acme/web", extra), "acme", limit, limit);
  EXPECT_EQ(c_.request("HEAD", pier_test::blob_path("acme/web", extra.digest)).status, 404);
  EXPECT_EQ(put_manifest(c_, "acme/web", "v2", more.manifest).status, 400); // blob unknown

  // What the namespace holds already costs nothing: another tag, another repository (its
  // blobs uploaded again, or mounted).
  EXPECT_EQ(put_manifest(c_, "acme/web", "v1-again", web_.manifest).status, 201);
  push("acme/copy", "v1", db_);
  reply const mount = c_.request("POST", pier_test::uploads("acme/mounted") + "?mount=" +
                                             s_.digest.str() + "&from=acme/db");
  EXPECT_EQ(mount.status, 201) << mount.body;
  EXPECT_EQ(number(usage("acme"), "unique_bytes"), limit);
  // Another namespace has no quota.
  push("globex/app", "v1", more);
  // But a mount into acme of what it does not hold is charged.
  reply const foreign = c_.request("POST", pier_test::uploads("acme/web") + "?mount=" +
                                               extra.digest.str() + "&from=globex/app");
  expect_quota_denied(foreign, "acme", limit, limit);

  // Without the quota the push goes through.
  ASSERT_EQ(set_quota("acme", R"({"bytes":null})").status, 204);
  EXPECT_TRUE(usage("acme").at("quota").is_null());
  push("acme/web", "v2", more);
}

// A chunked upload is charged as its bytes arrive: a PATCH that would take the namespace
// over its quota is refused (403, the upload keeps what it had), and what uploads in
// progress hold counts against the room of others.
TEST_F(Usage, uploads_in_progress_count_against_the_quota) {
  ASSERT_EQ(set_quota("acme", R"({"bytes":1000})").status, 204);
  std::string const first = pier_test::start(c_, "acme/web");
  std::string const second = pier_test::start(c_, "acme/db");
  std::string const chunk(600, 'x');
  auto const patch = [&](std::string const& at, std::string const& bytes, std::uint64_t from) {
    return c_.request("PATCH", at,
                      {{"Content-Type", "application/octet-stream"},
                       {"Content-Range", std::to_string(from) + "-" +
                                             std::to_string(from + bytes.size() - 1)}},
                      bytes);
  };
  EXPECT_EQ(patch(first, chunk, 0).status, 202);
  // 600 in flight: 600 more do not fit, in this upload or another.
  expect_quota_denied(patch(second, chunk, 0), "acme", 600, 1000);
  expect_quota_denied(patch(first, chunk, 600), "acme", 600, 1000);
  EXPECT_EQ(c_.get(first).header_or_empty("Range"), "0-599"); // nothing lost
  EXPECT_EQ(patch(second, std::string(400, 'y'), 0).status, 202); // exactly up to it
  expect_quota_denied(upload(c_, "acme/app", layer(1, 9)), "acme", 1000, 1000);
  // Cancelling an upload gives its bytes back.
  EXPECT_EQ(c_.request("DELETE", second).status, 204);
  EXPECT_EQ(upload(c_, "acme/app", layer(1, 9)).status, 201);
  // Finishing one turns its bytes into a blob of the namespace: still counted.
  pier::digest const blob = pier::digest_of(chunk);
  char const sep = first.find('?') == std::string::npos ? '?' : '&';
  reply const done = c_.request("PUT", first + sep + "digest=" + blob.str());
  EXPECT_EQ(done.status, 201) << done.body;
  json::value const u = usage("acme");
  EXPECT_EQ(number(u, "unreferenced_bytes"), 601u);
  expect_quota_denied(patch(pier_test::start(c_, "acme/db"), std::string(400, 'z'), 0), "acme",
                      601, 1000);
}

// A blob uploaded but never referenced counts until it is deleted (or collected): deleting
// the manifest alone does not make room.
TEST_F(Usage, deleting_makes_room_under_the_quota) {
  push("acme/web", "v1", web_);
  std::uint64_t const used = number(usage("acme"), "unique_bytes");
  ASSERT_EQ(set_quota("acme", R"({"bytes":)" + std::to_string(used) + "}").status, 204);
  EXPECT_EQ(upload(c_, "acme/db", db_.cfg).status, 403);
  ASSERT_EQ(c_.request("DELETE", "/v2/acme/web/manifests/v1").status, 202);
  json::value const after = usage("acme");
  EXPECT_EQ(number(after, "unique_bytes"), 0u);
  EXPECT_EQ(number(after, "unreferenced_bytes"), used);
  EXPECT_EQ(upload(c_, "acme/db", db_.cfg).status, 403);
  for (content const& b : {web_.cfg, s_, x_, a_})
    ASSERT_EQ(c_.request("DELETE", pier_test::blob_path("acme/web", b.digest)).status, 202);
  EXPECT_EQ(number(usage("acme"), "unreferenced_bytes"), 0u);
  push("acme/db", "v1", db_);
}

TEST_F(Usage, only_administrators_set_quotas_and_only_namespace_readers_see_usage) {
  reply const member = set_quota("acme", R"({"bytes":5})", "acme");
  EXPECT_EQ(member.status, 403);
  EXPECT_EQ(error_code(member), "DENIED");
  EXPECT_EQ(set_quota("acme", R"({"bytes":5})", "nobody").status, 403);
  EXPECT_TRUE(usage("acme", "acme").at("quota").is_null()); // nothing was set

  reply const stranger = c_.get("/api/v1/namespaces/acme/usage", {{"X-Caller", "nobody"}});
  EXPECT_EQ(stranger.status, 403);
  EXPECT_EQ(error_code(stranger), "DENIED");
  EXPECT_EQ(c_.get("/api/v1/namespaces/globex/usage", {{"X-Caller", "acme"}}).status, 403);
}

TEST_F(Usage, quota_bodies_and_methods_are_checked) {
  for (char const* body : {"", "[]", R"({"bytes":-1})", R"({"bytes":"5"})", R"({"bytes":1.5})",
                           R"({"byte":5})", R"({"bytes":5,"x":1})", "{"}) {
    reply const r = set_quota("acme", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(error_code(r), "UNSUPPORTED") << body;
  }
  EXPECT_TRUE(usage("acme").at("quota").is_null());
  ASSERT_EQ(set_quota("acme", R"({"bytes":0})").status, 204);
  EXPECT_EQ(number(usage("acme"), "quota"), 0u);

  reply const get = c_.get("/api/v1/namespaces/acme/quota", {{"X-Caller", "admin"}});
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header_or_empty("Allow"), "PUT");
  reply const put_usage =
      c_.request("PUT", "/api/v1/namespaces/acme/usage", {{"X-Caller", "admin"}}, R"({"bytes":1})");
  EXPECT_EQ(put_usage.status, 405);
  EXPECT_EQ(set_quota("..", R"({"bytes":1})").status, 400); // NAME_INVALID
  EXPECT_TRUE(api_type::handles("/api/v1/namespaces/acme/usage"));
  EXPECT_TRUE(api_type::handles("/api/v1/namespaces/acme/quota"));
}

/// The v2 and namespace APIs with `--default-quota` set.
class UsageDefault : public ::testing::Test {
protected:
  static constexpr std::uint64_t default_quota = 1000;

  reply set_quota(std::string_view ns, std::uint64_t bytes) {
    return c_.request("PUT", "/api/v1/namespaces/" + std::string(ns) + "/quota",
                      {{"X-Caller", "admin"}, {"Content-Type", "application/json"}},
                      R"({"bytes":)" + std::to_string(bytes) + "}");
  }

  storage::memory_blob_store blobs_;
  storage::memory_metadata_store meta_;
  pier_test::registry_server server_{
      serve(blobs_, meta_, {.remove_untagged = true, .default_quota = default_quota})};
  http_client const c_ = server_.client();
  // Each blob fits under the default, both together do not.
  image const web_{10, {layer(default_quota - 20, 1)}};
};

// A namespace without a quota of its own is limited by the default; a quota of its own,
// larger or smaller, replaces it.
TEST_F(UsageDefault, a_namespace_without_its_own_quota_is_limited_by_the_default) {
  ASSERT_GT(web_.cfg.bytes.size() + web_.layers[0].bytes.size(), default_quota);
  pier_test::push_blob(c_, "acme/web", web_.cfg);
  expect_quota_denied(upload(c_, "acme/web", web_.layers[0]), "acme", web_.cfg.bytes.size(),
                      1000);
  EXPECT_EQ(put_manifest(c_, "acme/web", "v1", web_.manifest).status, 400); // blob unknown

  ASSERT_EQ(set_quota("acme", 2 * default_quota).status, 204);
  pier_test::push_blob(c_, "acme/web", web_.layers[0]);
  EXPECT_EQ(put_manifest(c_, "acme/web", "v1", web_.manifest).status, 201);

  // Below the default: a small image fits the default but not globex's own quota.
  image const small{11, {layer(100, 2)}};
  ASSERT_EQ(set_quota("globex", 10).status, 204);
  EXPECT_EQ(upload(c_, "globex/app", small.layers[0]).status, 403);
  pier_test::push_image(c_, "initech/app", "v1", small.cfg, small.layers, small.manifest);
}

// A repository of one component (`web`) is in no namespace: no account owns it and no
// quota, the default one included, counts it (pier::namespace_of); the uploads and the
// manifest that a namespace's default quota refuses go through.
TEST_F(UsageDefault, a_repository_without_a_namespace_has_no_quota) {
  ASSERT_GT(web_.cfg.bytes.size() + web_.layers[0].bytes.size(), default_quota);
  pier_test::push_image(c_, "web", "v1", web_.cfg, web_.layers, web_.manifest);
  EXPECT_EQ(c_.request("GET", "/v2/web/manifests/v1").status, 200);
}

/// A memory store whose `charge` holds each request until `gather` charges are there (each
/// upload charges twice: for the room of its body, then for its link; at most 2 s, should
/// one never come), and can commit a competing push once, at the `interlope_at`-th charge,
/// after that charge has read the store (`interloper`).
struct racing_store : storage::memory_metadata_store {
  asio::awaitable<pier::result<storage::quota_state>>
  charge(std::string repository, std::vector<storage::sized_blob> blobs) {
    pier::result<storage::quota_state> q =
        co_await memory_metadata_store::charge(std::move(repository), std::move(blobs));
    std::size_t const mine = ++charging;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (int waited = 0; charging < gather && waited < 2000; ++waited) {
      timer.expires_after(std::chrono::milliseconds(1));
      co_await timer.async_wait(asio::use_awaitable);
    }
    if (mine == interlope_at) {
      if (std::function<asio::awaitable<void>()> f = std::exchange(interloper, nullptr))
        co_await f();
    }
    co_return q;
  }

  std::function<asio::awaitable<void>()> interloper;
  std::size_t interlope_at = 0;
  std::atomic<std::size_t> charging{0};
  std::atomic<std::size_t> gather{0};
};

/// An upload of `blob` (of `size` bytes) straight into the store: charged and linked.
inline asio::awaitable<void> link_directly(storage::memory_metadata_store& meta, std::string repo,
                                           pier::digest blob, std::uint64_t size) {
  std::vector<storage::sized_blob> sized{{blob, size}};
  EXPECT_TRUE(co_await meta.charge(repo, std::move(sized)));
  EXPECT_TRUE(co_await meta.link_blob(repo, blob));
}

/// The namespace's bytes, as the store counts them.
inline std::uint64_t used(racing_store& meta, std::string const& ns) {
  asio::io_context io;
  return pier_test::run(io, meta.usage(ns, "", 1)).value().usage.total();
}

/// The v2 API over a `racing_store`.
class UsageRace : public ::testing::Test {
protected:
  storage::memory_blob_store blobs_;
  racing_store meta_;
  pier_test::registry_server server_{blobs_, meta_};
  http_client const c_ = server_.client();
  asio::io_context io_;
};

// An upload that another commits into the namespace between the registry's early check of
// its link and the link: the store refuses the link, and the registry answers as the early
// check does, with the numbers now.
TEST_F(UsageRace, a_link_refused_by_the_store_gets_the_quota_answer) {
  ASSERT_TRUE(pier_test::run(io_, meta_.set_quota("acme", 1000)));
  content const mine = layer(300, 1);
  pier::digest const other = pier::digest_of("the other push's layer");
  meta_.interlope_at = 2; // the early check of the link
  meta_.interloper = [&] { return link_directly(meta_, "acme/other", other, 800); };
  expect_quota_denied(upload(c_, "acme/web", mine), "acme", 800, 1000);
  EXPECT_EQ(c_.request("HEAD", pier_test::blob_path("acme/web", mine.digest)).status, 404);
  EXPECT_EQ(used(meta_, "acme"), 800u);
}

// Concurrent uploads whose blobs each fit but not all together: the namespace never goes
// over its quota, and each refused upload gets 403 DENIED with the numbers.
TEST_F(UsageRace, concurrent_uploads_never_pass_the_quota) {
  constexpr std::size_t uploads = 4;
  std::vector<content> blobs;
  for (std::size_t i = 0; i < uploads; ++i)
    blobs.push_back(layer(400, 10 + i));
  std::uint64_t const each = blobs[0].bytes.size();
  std::uint64_t const quota = 2 * each + each / 2; // two fit, three do not

  for (int round = 0; round < 12; ++round) {
    std::string const ns = "race" + std::to_string(round);
    ASSERT_TRUE(pier_test::run(io_, meta_.set_quota(ns, quota)));
    meta_.charging = 0;
    meta_.gather = uploads; // every body's room is read before any link
    std::vector<reply> replies(uploads);
    std::atomic<std::size_t> ready{0};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < uploads; ++i) {
      threads.emplace_back([&, i] {
        http_client const c = server_.client();
        ++ready;
        while (ready.load() < uploads)
          std::this_thread::yield(); // send together
        replies[i] = upload(c, ns + "/r" + std::to_string(i), blobs[i]);
      });
    }
    for (std::thread& t : threads)
      t.join();
    std::size_t created = 0;
    for (reply const& r : replies) {
      if (r.status == 201) {
        ++created;
        continue;
      }
      EXPECT_EQ(r.status, 403) << r.body;
      EXPECT_EQ(error_code(r), "DENIED");
      EXPECT_NE(r.body.find("quota of namespace " + ns + " exceeded: "), std::string::npos)
          << r.body;
    }
    EXPECT_EQ(created, 2u) << "round " << round;
    EXPECT_EQ(used(meta_, ns), 2 * each) << "round " << round;
  }
}

} // namespace usage_test
