// SPDX-License-Identifier: Apache-2.0
#include <pier/registry/v2.hpp>

#include "blob_delete_scenario.hpp"
#include "test_registry.hpp"

#include <pier/storage/memory.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace pier_test {
namespace v2_test {

using pier::registry::v2_options;

static_assert(pier::storage::BlobStore<pier::storage::memory_blob_store>);
static_assert(pier::storage::MetadataStore<pier::storage::memory_metadata_store>);

class V2 : public ::testing::Test {
protected:
  explicit V2(v2_options opts = {}) : server_(blobs_, meta_, opts), c_(server_.client()) {}

  pier::storage::memory_blob_store blobs_;
  pier::storage::memory_metadata_store meta_;
  registry_server server_;
  http_client c_;
};

std::string with_digest(std::string const& location, pier::digest const& d) {
  return location + (location.find('?') == std::string::npos ? "?" : "&") + "digest=" + d.str();
}

boost::json::value json_of(reply const& r) { return boost::json::parse(r.body); }

TEST(V2Doc, Examples) {
  pier::storage::memory_blob_store blobs;
  pier::storage::memory_metadata_store meta;
  {
    pier::http::server_options so;
    so.port = 0;
    so.address = "127.0.0.1";
    so.threads = 1;
    pier::http::server srv(so, pier::registry::make_v2_handler(blobs, meta));
    std::thread t([&] { srv.run(); });
    EXPECT_EQ(http_client(srv.port()).get("/v2/").status, 200);
    srv.stop();
    t.join();
  }
  {
    pier::http::server_options so;
    so.port = 0;
    so.address = "127.0.0.1";
    so.threads = 1;
    pier::http::server srv(so,
                           pier::registry::make_v2_handler(blobs, meta, {.max_page_size = 100}));
    srv.stop();
    srv.run();
  }
  pier::registry::v2_registry reg(blobs, meta); // deduces the store types
  EXPECT_EQ(reg.options().max_manifest_size, 4u * 1024 * 1024);
  pier::http::string_body_reader body;
  pier::http::request_head head;
  head.set_method("GET");
  head.set_target("/v2/");
  pier::http::request request(head, body, "127.0.0.1");
  asio::awaitable<pier::http::response> r = reg.handle(request); // 200 `{}` when awaited
  asio::io_context io;
  int status = 0;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { status = (co_await std::move(r)).status(); },
      asio::detached);
  io.run();
  EXPECT_EQ(status, 200);
}

// A full disk is 507 Insufficient Storage with the reason, not 500.
TEST(V2Errors, OutOfSpaceIs507) {
  namespace st = pier::storage;
  for (std::error_code ec : {std::error_code(st::storage_error::no_space),
                             std::error_code(st::storage_error::space_reserved),
                             std::make_error_code(std::errc::no_space_on_device)}) {
    pier::http::response const r = pier::registry::detail::error(ec);
    EXPECT_EQ(r.status(), 507) << ec.message();
    std::string const& body = std::get<std::string>(r.body());
    EXPECT_NE(body.find("\"code\":\"UNAVAILABLE\""), std::string::npos) << body;
    EXPECT_NE(body.find("space"), std::string::npos) << body;
  }
  EXPECT_EQ(pier::registry::detail::error(std::make_error_code(std::errc::io_error)).status(), 500);
}

// --- end-1 ------------------------------------------------------------------------------

TEST_F(V2, PingsAnswerWithoutAnything) {
  for (char const* path : {"/_ping", "/v1/_ping", "/_ping?x=1"}) {
    reply r = c_.get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, "true") << path;
    EXPECT_EQ(r.header("X-Docker-Registry-Standalone"), "true") << path;
  }
  EXPECT_EQ(c_.head("/_ping").status, 200);
  EXPECT_EQ(c_.request("DELETE", "/_ping").status, 405);
  EXPECT_EQ(c_.get("/v1/_pings").status, 404);
}

TEST_F(V2, VersionCheck) {
  reply r = c_.get("/v2/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(r.header("Docker-Distribution-API-Version"), "registry/2.0");
  r = c_.head("/v2/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Length"), "2");
  EXPECT_EQ(c_.get("/v2").status, 200);
  r = c_.request("POST", "/v2/");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(error_code(r), "UNSUPPORTED");
  EXPECT_EQ(r.header("Allow"), "GET, HEAD");
}

TEST_F(V2, UnknownPathsAre404) {
  for (char const* t : {"/", "/v1/images/x/json", "/v3/", "/v2/foo", "/v2/foo/tags/list/",
                        "/v2/foo/manifests/", "/v2/foo/bar/baz"}) {
    reply const r = c_.get(t);
    EXPECT_EQ(r.status, 404) << t;
    EXPECT_EQ(r.header("Docker-Distribution-API-Version"), "registry/2.0") << t;
  }
}

TEST_F(V2, UnsupportedMethodsAre405) {
  pier::digest const d = pier::digest_of("x");
  struct {
    char const* method;
    std::string target;
  } const cases[] = {
      {"POST", manifest_path("a", "t")},
      {"PATCH", blob_path("a", d)},
      {"PUT", "/v2/a/tags/list"},
      {"DELETE", "/v2/_catalog"},
      {"GET", uploads("a")},
      {"PUT", "/v2/a/referrers/" + d.str()},
      {"POST", uploads("a") + "0f8fad5b-d9cb-469f-a165-70867728950e"},
  };
  for (auto const& k : cases) {
    reply const r = c_.request(k.method, k.target);
    EXPECT_EQ(r.status, 405) << k.method << ' ' << k.target;
    EXPECT_EQ(error_code(r), "UNSUPPORTED");
    EXPECT_TRUE(r.header("Allow")) << k.method << ' ' << k.target;
  }
}

// --- blob uploads -------------------------------------------------------------------------

TEST_F(V2, MonolithicPostThenPut) {
  content const b = layer(100000, 1);
  reply r = c_.request("POST", uploads("lib/app"));
  ASSERT_EQ(r.status, 202);
  std::string const location = r.header_or_empty("Location");
  EXPECT_TRUE(location.starts_with("/v2/lib/app/blobs/uploads/")) << location;
  EXPECT_EQ(r.header("Range"), "0-0");
  EXPECT_EQ(location.substr(location.rfind('/') + 1), r.header_or_empty("Docker-Upload-UUID"));
  EXPECT_FALSE(r.header("OCI-Chunk-Min-Length"));

  r = c_.request("PUT", with_digest(location, b.digest),
                 {{"Content-Type", "application/octet-stream"}}, b.bytes);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Location"), blob_path("lib/app", b.digest));
  EXPECT_EQ(r.header("Docker-Content-Digest"), b.digest.str());

  r = c_.get(blob_path("lib/app", b.digest));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, b.bytes);
  EXPECT_EQ(r.header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(r.header("Docker-Content-Digest"), b.digest.str());
  EXPECT_EQ(r.header("Accept-Ranges"), "bytes");

  r = c_.head(blob_path("lib/app", b.digest));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Length"), std::to_string(b.bytes.size()));
  EXPECT_EQ(r.header("Docker-Content-Digest"), b.digest.str());
  EXPECT_TRUE(r.body.empty());

  // The session is gone once the blob is in.
  EXPECT_EQ(c_.get(location).status, 404);
  EXPECT_EQ(blobs_.upload_count(), 0u);
}

TEST_F(V2, SinglePostWithDigest) {
  content const b = layer(5000, 2);
  reply r = c_.request("POST", uploads("a") + "?digest=" + b.digest.str(), {}, b.bytes);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Location"), blob_path("a", b.digest));
  EXPECT_EQ(r.header("Docker-Content-Digest"), b.digest.str());
  EXPECT_EQ(c_.get(blob_path("a", b.digest)).body, b.bytes);

  content const empty("", mt::oci_layer_tar);
  r = c_.request("POST", uploads("a") + "?digest=" + empty.digest.str());
  ASSERT_EQ(r.status, 201) << r.body;
  r = c_.get(blob_path("a", empty.digest));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Length"), "0");
}

TEST_F(V2, SinglePostDigestMismatchStoresNothing) {
  content const b = layer(3000, 3);
  pier::digest const wrong = pier::digest_of("something else");
  reply const r = c_.request("POST", uploads("a") + "?digest=" + wrong.str(), {}, b.bytes);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "DIGEST_INVALID");
  EXPECT_EQ(c_.head(blob_path("a", wrong)).status, 404);
  EXPECT_EQ(c_.head(blob_path("a", b.digest)).status, 404);
  EXPECT_EQ(blobs_.blob_count(), 0u);
  EXPECT_EQ(blobs_.upload_count(), 0u);
}

TEST_F(V2, ChunkedUploadInOrder) {
  content const b = layer(250000, 4);
  std::string const location = start(c_, "a/b");
  std::string const id = location.substr(location.rfind('/') + 1);
  std::string const first = b.bytes.substr(0, 100000);
  std::string const second = b.bytes.substr(100000, 100000);
  std::string const last = b.bytes.substr(200000);

  reply r = c_.request("PATCH", location,
                       {{"Content-Type", "application/octet-stream"}, {"Content-Range", "0-99999"}},
                       first);
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.header("Range"), "0-99999");
  EXPECT_EQ(r.header("Location"), location);
  EXPECT_EQ(r.header("Docker-Upload-UUID"), id);

  r = c_.request("PATCH", location, {{"Content-Range", "100000-199999"}}, second);
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.header("Range"), "0-199999");

  // A repeated chunk and one that skips ahead: 416 with where the upload stands.
  r = c_.request("PATCH", location, {{"Content-Range", "0-99999"}}, first);
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.header("Range"), "0-199999");
  EXPECT_EQ(r.header("Location"), location);
  r = c_.request("PATCH", location, {{"Content-Range", "200001-200010"}}, "0123456789");
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.header("Range"), "0-199999");

  // Resumable: the status says where to go on.
  r = c_.get(location);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("Range"), "0-199999");
  EXPECT_EQ(r.header("Location"), location);
  EXPECT_EQ(r.header("Docker-Upload-UUID"), id);
  EXPECT_EQ(c_.head(location).status, 204);

  // The last chunk comes with the closing PUT.
  r = c_.request("PUT", with_digest(location, b.digest),
                 {{"Content-Range", "200000-" + std::to_string(b.bytes.size() - 1)}}, last);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Docker-Content-Digest"), b.digest.str());
  EXPECT_EQ(c_.get(blob_path("a/b", b.digest)).body, b.bytes);
}

TEST_F(V2, ChunkHeadersThatDisagree) {
  std::string const location = start(c_, "a");
  reply r = c_.request("PATCH", location, {{"Content-Range", "0-9"}}, "12345");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "SIZE_INVALID");
  r = c_.request("PATCH", location, {{"Content-Range", "bytes=0-9"}}, "0123456789");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "BLOB_UPLOAD_INVALID");
  // A chunked body longer than its Content-Range.
  std::string const raw = "PATCH " + location +
                          " HTTP/1.1\r\nHost: x\r\nContent-Range: 0-3\r\n"
                          "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                          chunked("0123456789", 3);
  r = c_.raw(raw);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "SIZE_INVALID");
}

TEST_F(V2, StreamedUpload) {
  content const b = layer(700000, 5);
  std::string const location = start(c_, "a");
  // No Content-Range: each body is appended where the upload ends; one of them chunked.
  reply r = c_.request("PATCH", location, {}, b.bytes.substr(0, 300000));
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.header("Range"), "0-299999");
  std::string const raw = "PATCH " + location +
                          " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                          "Connection: close\r\n\r\n" +
                          chunked(b.bytes.substr(300000, 300000), 7000);
  r = c_.raw(raw);
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.header("Range"), "0-599999");
  r = c_.request("PUT", with_digest(location, b.digest), {}, b.bytes.substr(600000));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(c_.get(blob_path("a", b.digest)).body, b.bytes);
}

TEST_F(V2, InterruptedPatchKeepsWhatArrived) {
  content const b = layer(2000, 15);
  std::string const location = start(c_, "a");
  // The client promises 2000 bytes, sends 700 and goes away.
  std::string const raw = "PATCH " + location +
                          " HTTP/1.1\r\nHost: x\r\nContent-Range: 0-1999\r\n"
                          "Content-Length: 2000\r\n\r\n" +
                          b.bytes.substr(0, 700);
  reply r = c_.raw(raw, false, true);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "BLOB_UPLOAD_INVALID");
  // Resumable push: the status says what arrived, and the rest completes the blob.
  r = c_.get(location);
  ASSERT_EQ(r.status, 204);
  EXPECT_EQ(r.header("Range"), "0-699");
  r = c_.request("PATCH", location, {{"Content-Range", "700-1999"}}, b.bytes.substr(700));
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(c_.request("PUT", with_digest(location, b.digest)).status, 201);
  EXPECT_EQ(c_.get(blob_path("a", b.digest)).body, b.bytes);
}

TEST_F(V2, EmptyPatchKeepsRange) {
  std::string const location = start(c_, "a");
  reply r = c_.request("PATCH", location, {}, "");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.header("Range"), "0-0");
  r = c_.request("PATCH", location, {}, "x");
  EXPECT_EQ(r.header("Range"), "0-0");
  r = c_.request("PATCH", location, {}, "y");
  EXPECT_EQ(r.header("Range"), "0-1");
}

TEST_F(V2, PutDigestMismatchLeavesNothing) {
  content const b = layer(1000, 6);
  std::string const location = start(c_, "a");
  ASSERT_EQ(c_.request("PATCH", location, {}, b.bytes).status, 202);
  pier::digest const wrong = pier::digest_of("wrong");
  reply r = c_.request("PUT", with_digest(location, wrong));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "DIGEST_INVALID");
  EXPECT_EQ(c_.head(blob_path("a", wrong)).status, 404);
  EXPECT_EQ(c_.head(blob_path("a", b.digest)).status, 404);
  EXPECT_EQ(blobs_.blob_count(), 0u);
  // The session is over: the client starts again.
  r = c_.get(location);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(V2, PutWithoutDigest) {
  std::string const location = start(c_, "a");
  reply const r = c_.request("PUT", location);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "DIGEST_INVALID");
  EXPECT_EQ(c_.get(location).status, 204); // still open
}

TEST_F(V2, CancelUpload) {
  std::string const location = start(c_, "a");
  ASSERT_EQ(c_.request("PATCH", location, {}, "abc").status, 202);
  reply r = c_.request("DELETE", location);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(blobs_.upload_count(), 0u);
  for (char const* method : {"GET", "PATCH", "PUT", "DELETE"}) {
    r = c_.request(method, with_digest(location, pier::digest_of("abc")));
    EXPECT_EQ(r.status, 404) << method;
    EXPECT_EQ(error_code(r), "BLOB_UPLOAD_UNKNOWN") << method;
  }
}

// --- limits on open upload sessions (issue 10) ---------------------------------------------

// The registry behind a stand-in for the gate: the caller is the user X-Test-User names,
// anonymous without it.
pier::http::handler as_user(pier::http::handler inner) {
  return [inner = std::move(inner)](pier::http::request& req) {
    if (auto const user = req.headers().find("X-Test-User"))
      req.set_user(std::string(*user));
    return inner(req);
  };
}

v2_options small_upload_limits() {
  v2_options o;
  o.max_uploads_per_client = 2;
  o.max_uploads_per_repository = 3;
  return o;
}

class V2Limits : public ::testing::Test {
protected:
  V2Limits()
      : server_(as_user(pier::registry::make_v2_handler(blobs_, meta_, small_upload_limits()))),
        c_(server_.client()) {}

  reply post(std::string_view repo, std::string_view user = {}) const {
    if (user.empty())
      return c_.request("POST", uploads(repo));
    return c_.request("POST", uploads(repo), {{"X-Test-User", std::string(user)}});
  }
  static void expect_refused(reply const& r, std::string_view whose) {
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(error_code(r), "TOOMANYREQUESTS");
    EXPECT_NE(r.body.find(whose), std::string::npos) << r.body;
    EXPECT_TRUE(r.header("Retry-After"));
  }

  pier::storage::memory_blob_store blobs_;
  pier::storage::memory_metadata_store meta_;
  registry_server server_;
  http_client c_;
};

TEST_F(V2Limits, PerCallerAndPerRepository) {
  EXPECT_EQ(post("a", "alice").status, 202);
  EXPECT_EQ(post("a", "alice").status, 202);
  expect_refused(post("b", "alice"), "this client"); // alice's two, whatever the repository
  EXPECT_EQ(post("a", "bob").status, 202);
  expect_refused(post("a", "carol"), "this repository"); // a holds three
  EXPECT_EQ(post("b", "carol").status, 202);
  // Anonymous callers count by address.
  EXPECT_EQ(post("c").status, 202);
  EXPECT_EQ(post("c").status, 202);
  expect_refused(post("d"), "this client");
  // A refused POST opened nothing; monolithic uploads open no session and pass.
  EXPECT_EQ(blobs_.upload_count(), 6u);
  content const b = layer(1000, 40);
  reply const r = c_.request("POST", uploads("a") + "?digest=" + b.digest.str(),
                             {{"X-Test-User", "alice"}}, b.bytes);
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(V2Limits, EndedSessionsFreeTheirSlots) {
  header_list const alice{{"X-Test-User", "alice"}};
  std::string const cancelled = post("a", "alice").header_or_empty("Location");
  std::string const finished = post("a", "alice").header_or_empty("Location");
  expect_refused(post("a", "alice"), "this client");

  EXPECT_EQ(c_.request("DELETE", cancelled, alice).status, 204);
  std::string const failed = post("a", "alice").header_or_empty("Location");
  ASSERT_FALSE(failed.empty());
  expect_refused(post("a", "alice"), "this client");

  content const b = layer(2000, 41);
  reply r = c_.request("PUT", with_digest(finished, b.digest), alice, b.bytes);
  ASSERT_EQ(r.status, 201) << r.body;
  std::string const next = post("a", "alice").header_or_empty("Location");
  ASSERT_FALSE(next.empty());
  expect_refused(post("a", "alice"), "this client");

  // A commit that fails (wrong digest) ends the session too.
  r = c_.request("PUT", with_digest(failed, pier::digest_of("other")), alice, "bytes");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(post("a", "alice").status, 202);
}

TEST(UploadLimiter, SlotsComeBackOnReleaseDropAndExpiry) {
  using limiter = pier::registry::detail::upload_limiter;
  using refusal = limiter::refusal;
  limiter l(2, 0, std::chrono::hours(1));
  auto const t0 = std::chrono::system_clock::time_point() + std::chrono::hours(1000);
  {
    auto [kept, why] = l.take("alice", "a", t0);
    ASSERT_EQ(why, refusal::none);
    kept.keep("one", t0);
    auto [dropped, why2] = l.take("alice", "a", t0);
    ASSERT_EQ(why2, refusal::none);
    EXPECT_EQ(l.take("alice", "b", t0).second, refusal::caller);
  } // `dropped` was never kept: its slot is back
  auto [second, why] = l.take("alice", "a", t0 + std::chrono::minutes(30));
  ASSERT_EQ(why, refusal::none);
  second.keep("two", t0 + std::chrono::minutes(30));
  EXPECT_EQ(l.take("alice", "a", t0 + std::chrono::minutes(59)).second, refusal::caller);
  EXPECT_EQ(l.open_sessions(t0 + std::chrono::minutes(59)), 2u);
  // "one" is an hour old: the collector aborts it, and it no longer counts.
  auto [third, why3] = l.take("alice", "a", t0 + std::chrono::minutes(60));
  EXPECT_EQ(why3, refusal::none);
  third.keep("three", t0 + std::chrono::minutes(60));
  l.release("two");
  l.release("unknown");
  EXPECT_EQ(l.open_sessions(t0 + std::chrono::minutes(60)), 1u);
  EXPECT_EQ(l.take("bob", "a", t0 + std::chrono::minutes(60)).second, refusal::none);
}

TEST_F(V2, UploadsBelongToTheirRepository) {
  std::string const location = start(c_, "a");
  std::string const id = location.substr(location.rfind('/') + 1);
  reply r = c_.get(uploads("b") + id);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(c_.request("PATCH", uploads("b") + id, {}, "x").status, 404);
  EXPECT_EQ(c_.request("DELETE", uploads("b") + id).status, 404);
  EXPECT_EQ(c_.get(location).status, 204);
  // Ids that no upload can have.
  r = c_.get(uploads("a") + "0f8fad5b-d9cb-469f-a165-70867728950e");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "BLOB_UPLOAD_UNKNOWN");
  r = c_.get(uploads("a") + "not-an-id");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "BLOB_UPLOAD_UNKNOWN");
}

TEST_F(V2, Mount) {
  content const b = layer(4000, 7);
  push_blob(c_, "src/repo", b);
  reply r = c_.request("POST", uploads("dst/repo") + "?mount=" + b.digest.str() + "&from=src/repo");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Location"), blob_path("dst/repo", b.digest));
  EXPECT_EQ(r.header("Docker-Content-Digest"), b.digest.str());
  EXPECT_EQ(c_.get(blob_path("dst/repo", b.digest)).body, b.bytes);

  // Not in the source, or no source named: a normal upload starts instead.
  content const other = layer(10, 8);
  r = c_.request("POST", uploads("dst/repo") + "?mount=" + other.digest.str() + "&from=src/repo");
  EXPECT_EQ(r.status, 202);
  EXPECT_TRUE(r.header_or_empty("Location").starts_with("/v2/dst/repo/blobs/uploads/"));
  EXPECT_EQ(r.header("Range"), "0-0");
  r = c_.request("POST", uploads("third") + "?mount=" + b.digest.str());
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(c_.head(blob_path("third", b.digest)).status, 404);
  r = c_.request("POST", uploads("third") + "?mount=" + b.digest.str() + "&from=nowhere");
  EXPECT_EQ(r.status, 202);
  r = c_.request("POST", uploads("third") + "?mount=" + b.digest.str() + "&from=Bad");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "NAME_INVALID");
}

TEST_F(V2, LargeBlobThroughSmallBuffer) {
  // A separate registry whose buffer is far smaller than the blob.
  pier::storage::memory_blob_store blobs;
  pier::storage::memory_metadata_store meta;
  v2_options opts;
  opts.upload_buffer_size = 4096;
  registry_server small(blobs, meta, opts);
  http_client const c = small.client();
  content const b = layer(3 * 1024 * 1024 + 17, 9);
  reply r = c.request("POST", uploads("big") + "?digest=" + b.digest.str(), {}, b.bytes);
  ASSERT_EQ(r.status, 201) << r.body;
  r = c.get(blob_path("big", b.digest));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == b.bytes);
}

TEST_F(V2, BlobSizeLimit) {
  pier::storage::memory_blob_store blobs;
  pier::storage::memory_metadata_store meta;
  v2_options opts;
  opts.max_blob_size = 1000;
  registry_server limited(blobs, meta, opts);
  http_client const c = limited.client();
  content const b = layer(1001, 10);
  reply r = c.request("POST", uploads("a") + "?digest=" + b.digest.str(), {}, b.bytes);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(error_code(r), "SIZE_INVALID");
  std::string const location = start(c, "a");
  EXPECT_EQ(c.request("PATCH", location, {}, b.bytes.substr(0, 600)).status, 202);
  r = c.request("PATCH", location, {}, b.bytes.substr(600));
  EXPECT_EQ(r.status, 413);
  content const fits = layer(1000, 11);
  push_blob(c, "a", fits);
  EXPECT_EQ(blobs.blob_count(), 1u);
}

// --- blob reads and deletes ----------------------------------------------------------------

TEST_F(V2, BlobRanges) {
  content const b = layer(10000, 12);
  push_blob(c_, "a", b);
  reply r = c_.get(blob_path("a", b.digest), {{"Range", "bytes=100-199"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, b.bytes.substr(100, 100));
  EXPECT_EQ(r.header("Content-Range"), "bytes 100-199/10000");
  EXPECT_EQ(r.header("Docker-Content-Digest"), b.digest.str());
  r = c_.get(blob_path("a", b.digest), {{"Range", "bytes=-10"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, b.bytes.substr(9990));
  r = c_.get(blob_path("a", b.digest), {{"Range", "bytes=9000-"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, b.bytes.substr(9000));
  r = c_.get(blob_path("a", b.digest), {{"Range", "bytes=10000-"}});
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.header("Content-Range"), "bytes */10000");
  r = c_.head(blob_path("a", b.digest), {{"Range", "bytes=0-1"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Length"), "10000");
}

TEST_F(V2, UnknownBlobs) {
  content const b = layer(100, 13);
  push_blob(c_, "a", b);
  for (std::string const& t : {blob_path("a", pier::digest_of("nope")), blob_path("b", b.digest),
                               blob_path("never/seen", b.digest)}) {
    reply r = c_.get(t);
    EXPECT_EQ(r.status, 404) << t;
    EXPECT_EQ(error_code(r), "BLOB_UNKNOWN") << t;
    r = c_.head(t);
    EXPECT_EQ(r.status, 404) << t;
    EXPECT_TRUE(r.body.empty());
  }
}

TEST_F(V2, DeleteBlob) {
  content const b = layer(100, 14);
  push_blob(c_, "a", b);
  push_blob(c_, "b", b);
  reply r = c_.request("DELETE", blob_path("a", b.digest));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(c_.get(blob_path("a", b.digest)).status, 404);
  EXPECT_EQ(c_.get(blob_path("b", b.digest)).body, b.bytes); // other repositories keep it
  r = c_.request("DELETE", blob_path("a", b.digest));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "BLOB_UNKNOWN");
  EXPECT_EQ(c_.request("DELETE", blob_path("nowhere", b.digest)).status, 404);
}

// A blob an image of the repository needs is not deleted from it (405 naming the manifest).
TEST_F(V2, ReferencedBlobsAreNotDeleted) {
  static_assert(pier::storage::ReferenceCheckingStore<pier::storage::memory_metadata_store>);
  referenced_blobs_are_not_deleted(c_, "");
}

// --- manifests ------------------------------------------------------------------------------

TEST_F(V2, OciImageByTagAndDigest) {
  content const cfg = config(1);
  std::vector<content> const layers = {layer(2000, 20), layer(3000, 21)};
  content const m = image_manifest(cfg, layers);
  push_blob(c_, "lib/app", cfg);
  for (content const& l : layers)
    push_blob(c_, "lib/app", l);
  reply r = put_manifest(c_, "lib/app", "v1", m);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Location"), manifest_path("lib/app", m.digest.str()));
  EXPECT_EQ(r.header("Docker-Content-Digest"), m.digest.str());
  EXPECT_FALSE(r.header("OCI-Subject"));

  for (std::string const& ref : {std::string("v1"), m.digest.str()}) {
    r = c_.get(manifest_path("lib/app", ref), {{"Accept", std::string(mt::oci_manifest)}});
    ASSERT_EQ(r.status, 200) << ref;
    EXPECT_EQ(r.body, m.bytes); // the exact bytes
    EXPECT_EQ(r.header("Content-Type"), mt::oci_manifest);
    EXPECT_EQ(r.header("Docker-Content-Digest"), m.digest.str());
    r = c_.head(manifest_path("lib/app", ref));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Length"), std::to_string(m.bytes.size()));
    EXPECT_EQ(r.header("Content-Type"), mt::oci_manifest);
    EXPECT_EQ(r.header("Docker-Content-Digest"), m.digest.str());
    EXPECT_TRUE(r.body.empty());
  }

  // The same bytes by digest, and again under another tag.
  EXPECT_EQ(put_manifest(c_, "lib/app", m.digest.str(), m).status, 201);
  EXPECT_EQ(put_manifest(c_, "lib/app", "latest", m).status, 201);
  EXPECT_EQ(c_.get(manifest_path("lib/app", "latest")).body, m.bytes);
}

// ETag is the digest in quotes (as the reference registry sends it); If-None-Match with it
// (weak comparison, lists, `*`) is a 304 without a body (RFC 9110 §13.1.2).
TEST_F(V2, ManifestETagAndIfNoneMatch) {
  content const cfg = config(3);
  content const m = image_manifest(cfg, {});
  push_blob(c_, "lib/etag", cfg);
  ASSERT_EQ(put_manifest(c_, "lib/etag", "v1", m).status, 201);
  std::string const etag = "\"" + m.digest.str() + "\"";
  std::string const other = "\"" + pier::digest_of("other").str() + "\"";

  for (std::string const& ref : {std::string("v1"), m.digest.str()}) {
    std::string const path = manifest_path("lib/etag", ref);
    reply r = c_.get(path);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("ETag"), etag);
    EXPECT_EQ(c_.head(path).header("ETag"), etag);

    for (std::string const& inm : {etag, "W/" + etag, other + ", " + etag, other + ",W/" + etag,
                                   std::string("*"), std::string(" \t*")}) {
      for (char const* method : {"GET", "HEAD"}) {
        r = c_.request(method, path, {{"If-None-Match", inm}});
        EXPECT_EQ(r.status, 304) << method << ' ' << inm;
        EXPECT_TRUE(r.body.empty()) << inm;
        EXPECT_EQ(r.header("ETag"), etag) << inm;
      }
    }
    // Two fields are one list.
    r = c_.get(path, {{"If-None-Match", other}, {"If-None-Match", etag}});
    EXPECT_EQ(r.status, 304);

    // No match, or a value that is not an entity tag: the manifest itself.
    for (std::string const& inm : {other, m.digest.str(), "\"" + m.digest.str(),
                                   std::string("W/"), std::string("\"\""), std::string("")}) {
      r = c_.get(path, {{"If-None-Match", inm}});
      EXPECT_EQ(r.status, 200) << inm;
      EXPECT_EQ(r.body, m.bytes) << inm;
    }
  }
  // An unknown manifest stays a 404, even for `*`.
  reply const r = c_.get(manifest_path("lib/etag", "v2"), {{"If-None-Match", "*"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "MANIFEST_UNKNOWN");
}

TEST_F(V2, PutByDigestMustMatch) {
  content const cfg = config(2);
  content const m = image_manifest(cfg, {});
  push_blob(c_, "a", cfg);
  reply r = put_manifest(c_, "a", pier::digest_of("other").str(), m);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "DIGEST_INVALID");
  EXPECT_EQ(c_.get(manifest_path("a", m.digest.str())).status, 404);
  // sha512 works when the reference asks for it.
  pier::digest const d512 = pier::digest_of(m.bytes, pier::digest_algorithm::sha512);
  r = put_manifest(c_, "a", d512.str(), m);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Docker-Content-Digest"), d512.str());
  EXPECT_EQ(c_.get(manifest_path("a", d512.str())).body, m.bytes);
}

TEST_F(V2, ManifestBlobUnknown) {
  content const cfg = config(3);
  content const l1 = layer(100, 30);
  content const l2 = layer(100, 31);
  content const m = image_manifest(cfg, {l1, l2});
  push_blob(c_, "a", cfg);
  push_blob(c_, "elsewhere", l1); // in another repository: not enough
  reply r = put_manifest(c_, "a", "t", m);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "MANIFEST_BLOB_UNKNOWN");
  boost::json::array const errors = json_of(r).at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].at("detail").at("digest").as_string(), l1.digest.str());
  EXPECT_EQ(errors[1].at("detail").at("digest").as_string(), l2.digest.str());
  EXPECT_EQ(c_.get(manifest_path("a", "t")).status, 404);
}

TEST_F(V2, ContentTypeMustMatchMediaType) {
  content const cfg = config(4);
  content const m = image_manifest(cfg, {});
  push_blob(c_, "a", cfg);
  reply r = put_manifest(c_, "a", "t", m, mt::docker_manifest_v2);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "MANIFEST_INVALID");
  r = put_manifest(c_, "a", "t", m, "application/vnd.oci.image.manifest.v1+json; charset=utf-8");
  EXPECT_EQ(r.status, 201) << r.body; // parameters are ignored
}

TEST_F(V2, InvalidManifests) {
  for (char const* body : {"", "not json", "{}", R"({"schemaVersion":3})",
                           R"({"schemaVersion":2,"mediaType":"text/plain"})"}) {
    reply const r = c_.request("PUT", manifest_path("a", "t"),
                               {{"Content-Type", std::string(mt::oci_manifest)}}, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(error_code(r), "MANIFEST_INVALID") << body;
  }
  // Where the manifest is wrong is in the detail.
  std::string const bad_layer =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":)" +
      config(5).descriptor() + R"(,"layers":[{"mediaType":"x/y","digest":"sha256:zz","size":1}]})";
  reply const r = c_.request("PUT", manifest_path("a", "t"),
                             {{"Content-Type", std::string(mt::oci_manifest)}}, bad_layer);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json_of(r).at("errors").at(0).at("detail").at("path").as_string(), "layers[0].digest");
}

TEST_F(V2, ManifestTooLarge) {
  pier::storage::memory_blob_store blobs;
  pier::storage::memory_metadata_store meta;
  v2_options opts;
  opts.max_manifest_size = 1000;
  registry_server limited(blobs, meta, opts);
  http_client const c = limited.client();
  content const cfg = config(6);
  push_blob(c, "a", cfg);
  std::string const pad(2000, 'x');
  content const big =
      image_manifest(cfg, {}, mt::oci_manifest, R"("annotations":{"pad":")" + pad + R"("})");
  reply r = put_manifest(c, "a", "t", big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(error_code(r), "MANIFEST_INVALID");
  // Chunked, so the size is known only while reading.
  std::string const raw = "PUT /v2/a/manifests/t HTTP/1.1\r\nHost: x\r\nContent-Type: " +
                          std::string(mt::oci_manifest) +
                          "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                          chunked(big.bytes, 100);
  r = c.raw(raw);
  EXPECT_EQ(r.status, 413);
  // The default limit takes 4 MiB.
  content const four = image_manifest(cfg, {}, mt::oci_manifest,
                                      R"("annotations":{"pad":")" +
                                          std::string(4 * 1024 * 1024 - 400, 'y') + R"("})");
  ASSERT_LE(four.bytes.size(), 4u * 1024 * 1024);
  push_blob(c_, "a", cfg);
  EXPECT_EQ(put_manifest(c_, "a", "t", four).status, 201);
}

TEST_F(V2, IndexWithChildren) {
  content const cfg = config(7);
  content const l = layer(500, 40);
  content const amd = image_manifest(cfg, {l});
  content const arm = image_manifest(cfg, {}, mt::oci_manifest, R"("annotations":{"a":"b"})");
  content const idx = index_manifest({amd, arm});
  push_blob(c_, "multi", cfg);
  push_blob(c_, "multi", l);
  // A child that is not there yet.
  ASSERT_EQ(put_manifest(c_, "multi", amd.digest.str(), amd).status, 201);
  reply r = put_manifest(c_, "multi", "latest", idx);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "MANIFEST_BLOB_UNKNOWN");
  EXPECT_NE(r.body.find(arm.digest.str()), std::string::npos);
  ASSERT_EQ(put_manifest(c_, "multi", arm.digest.str(), arm).status, 201);
  r = put_manifest(c_, "multi", "latest", idx);
  ASSERT_EQ(r.status, 201) << r.body;
  r = c_.get(manifest_path("multi", "latest"), {{"Accept", std::string(mt::oci_index)}});
  EXPECT_EQ(r.body, idx.bytes);
  EXPECT_EQ(r.header("Content-Type"), mt::oci_index);
}

// A descriptor whose size is not the stored blob's (or child manifest's) makes an image
// that no client can pull: 400 MANIFEST_INVALID naming the descriptor, nothing stored.
TEST_F(V2, DescriptorSizeMustMatch) {
  content const cfg = config(8);
  content const l = layer(500, 41);
  content const good = image_manifest(cfg, {l});
  push_blob(c_, "sized", cfg);
  push_blob(c_, "sized", l);
  auto const lying = [](content const& m, content const& of, std::string_view size) {
    std::string bytes = m.bytes;
    std::string const needle = R"(")" + of.digest.str() + R"(","size":)";
    std::size_t const at = bytes.find(needle) + needle.size();
    bytes.replace(at, std::to_string(of.bytes.size()).size(), size);
    return content(bytes, m.media_type);
  };
  struct {
    content m;
    std::string path;
  } const cases[] = {
      {lying(good, l, "999999999"), "layers[0]"},
      {lying(good, l, "499"), "layers[0]"},
      {lying(good, cfg, "1"), "config"},
  };
  for (auto const& k : cases) {
    reply const r = put_manifest(c_, "sized", "t", k.m);
    EXPECT_EQ(r.status, 400) << k.m.bytes;
    EXPECT_EQ(error_code(r), "MANIFEST_INVALID") << r.body;
    boost::json::object const e = json_of(r).at("errors").at(0).as_object();
    EXPECT_EQ(e.at("detail").at("path").as_string(), k.path) << r.body;
    EXPECT_NE(e.at("message").as_string().find(k.path), std::string::npos) << r.body;
    EXPECT_EQ(c_.get(manifest_path("sized", k.m.digest.str())).status, 404);
  }
  EXPECT_EQ(c_.get(manifest_path("sized", "t")).status, 404);

  // A child manifest of an index, whose stored size is known too.
  ASSERT_EQ(put_manifest(c_, "sized", good.digest.str(), good).status, 201);
  content const idx = index_manifest({good});
  reply r = put_manifest(c_, "sized", "multi", lying(idx, good, "12"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "MANIFEST_INVALID");
  EXPECT_EQ(json_of(r).at("errors").at(0).at("detail").at("path").as_string(), "manifests[0]");
  // The truth is accepted.
  EXPECT_EQ(put_manifest(c_, "sized", "multi", idx).status, 201);
  EXPECT_EQ(put_manifest(c_, "sized", "t", good).status, 201);
}

TEST_F(V2, DockerManifestAndList) {
  content const cfg = config(8, mt::docker_container_config);
  content const l = layer(800, 50, mt::docker_layer);
  content const m = image_manifest(cfg, {l}, mt::docker_manifest_v2);
  push_image(c_, "docker/app", "v2", cfg, {l}, m);
  content const list = index_manifest({m}, mt::docker_manifest_list);
  reply r = put_manifest(c_, "docker/app", "multi", list);
  ASSERT_EQ(r.status, 201) << r.body;
  r = c_.get(manifest_path("docker/app", "v2"), {{"Accept", std::string(mt::docker_manifest_v2)}});
  EXPECT_EQ(r.body, m.bytes);
  EXPECT_EQ(r.header("Content-Type"), mt::docker_manifest_v2);
  r = c_.get(manifest_path("docker/app", "multi"),
             {{"Accept", std::string(mt::docker_manifest_list)}});
  EXPECT_EQ(r.body, list.bytes);
  EXPECT_EQ(r.header("Content-Type"), mt::docker_manifest_list);
  EXPECT_EQ(r.header("Docker-Content-Digest"), list.digest.str());
  // Docker types are served whatever the Accept says (pier never converts).
  r = c_.get(manifest_path("docker/app", "v2"), {{"Accept", std::string(mt::oci_manifest)}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, m.bytes);
}

TEST_F(V2, Schema1) {
  std::vector<content> const layers = {layer(100, 60), layer(200, 61)};
  for (content const& l : layers)
    push_blob(c_, "old/app", l);
  content const u = schema1_manifest(layers, "old/app", "v1");
  reply r = put_manifest(c_, "old/app", "v1", u);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Docker-Content-Digest"), u.digest.str());
  r = c_.get(manifest_path("old/app", "v1"));
  EXPECT_EQ(r.body, u.bytes);
  EXPECT_EQ(r.header("Content-Type"), mt::docker_manifest_v1);

  // Signed: stored as sent, addressed by the digest of its payload (which is the
  // unsigned manifest: sign another one, or the digests would be the same).
  pier::digest payload;
  content const s = signed_schema1(schema1_manifest(layers, "old/app", "signed"), &payload);
  r = put_manifest(c_, "old/app", "signed", s);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Docker-Content-Digest"), payload.str());
  r = c_.get(manifest_path("old/app", payload.str()));
  EXPECT_EQ(r.body, s.bytes);
  EXPECT_EQ(r.header("Content-Type"), mt::docker_manifest_v1_signed);
  EXPECT_EQ(put_manifest(c_, "old/app", payload.str(), s).status, 201);
  EXPECT_EQ(put_manifest(c_, "old/app", s.digest.str(), s).status, 400);

  // Missing layers are refused as for every kind.
  content const missing = schema1_manifest({layer(5, 62)}, "old/app", "v2");
  r = put_manifest(c_, "old/app", "v2", missing);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(V2, AcceptNegotiation) {
  content const cfg = config(9);
  content const m = image_manifest(cfg, {});
  push_image(c_, "a", "t", cfg, {}, m);
  content const idx = index_manifest({m});
  ASSERT_EQ(put_manifest(c_, "a", "i", idx).status, 201);
  std::string const docker_only =
      std::string(mt::docker_manifest_v2) + ", " + std::string(mt::docker_manifest_list);
  reply r = c_.get(manifest_path("a", "t"), {{"Accept", docker_only}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "MANIFEST_UNKNOWN");
  r = c_.get(manifest_path("a", "i"), {{"Accept", docker_only}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(c_.head(manifest_path("a", m.digest.str()), {{"Accept", docker_only}}).status, 404);
  // No Accept, wildcards, several Accept lines, q-values: served.
  EXPECT_EQ(c_.get(manifest_path("a", "t")).status, 200);
  EXPECT_EQ(c_.get(manifest_path("a", "t"), {{"Accept", "*/*"}}).status, 200);
  EXPECT_EQ(c_.get(manifest_path("a", "t"), {{"Accept", "application/*;q=0.5"}}).status, 200);
  EXPECT_EQ(c_.get(manifest_path("a", "t"), {{"Accept", std::string(mt::docker_manifest_v2)},
                                             {"Accept", std::string(mt::oci_manifest)}})
                .status,
            200);
  EXPECT_EQ(
      c_.get(manifest_path("a", "t"), {{"Accept", std::string(mt::oci_manifest) + ";q=0"}}).status,
      404);

  // Off, the stored manifest is always served.
  pier::storage::memory_blob_store blobs;
  pier::storage::memory_metadata_store meta;
  v2_options opts;
  opts.negotiate_oci = false;
  registry_server lenient(blobs, meta, opts);
  http_client const c = lenient.client();
  push_image(c, "a", "t", cfg, {}, m);
  EXPECT_EQ(c.get(manifest_path("a", "t"), {{"Accept", docker_only}}).status, 200);
}

TEST_F(V2, UnknownManifests) {
  content const cfg = config(10);
  content const m = image_manifest(cfg, {});
  push_image(c_, "a", "t", cfg, {}, m);
  reply r = c_.get(manifest_path("a", "nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "MANIFEST_UNKNOWN");
  r = c_.get(manifest_path("a", pier::digest_of("nope").str()));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "MANIFEST_UNKNOWN");
  r = c_.get(manifest_path("never/seen", "t"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "NAME_UNKNOWN");
  r = c_.head(manifest_path("a", "nope"));
  EXPECT_EQ(r.status, 404);
}

TEST_F(V2, DeleteManifests) {
  content const cfg = config(11);
  content const m = image_manifest(cfg, {});
  push_image(c_, "a", "t1", cfg, {}, m);
  ASSERT_EQ(put_manifest(c_, "a", "t2", m).status, 201);
  // By tag: untag only.
  reply r = c_.request("DELETE", manifest_path("a", "t1"));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(c_.get(manifest_path("a", "t1")).status, 404);
  EXPECT_EQ(c_.get(manifest_path("a", "t2")).status, 200);
  EXPECT_EQ(c_.get(manifest_path("a", m.digest.str())).status, 200);
  r = c_.request("DELETE", manifest_path("a", "t1"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "MANIFEST_UNKNOWN");
  // By digest: the manifest and its tags.
  r = c_.request("DELETE", manifest_path("a", m.digest.str()));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(c_.get(manifest_path("a", m.digest.str())).status, 404);
  EXPECT_EQ(c_.get(manifest_path("a", "t2")).status, 404);
  r = c_.request("DELETE", manifest_path("a", m.digest.str()));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "MANIFEST_UNKNOWN");
  r = c_.request("DELETE", manifest_path("never/seen", m.digest.str()));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_code(r), "NAME_UNKNOWN");
}

TEST_F(V2, DeletesCanBeDisabled) {
  pier::storage::memory_blob_store blobs;
  pier::storage::memory_metadata_store meta;
  v2_options opts;
  opts.allow_delete = false;
  registry_server frozen(blobs, meta, opts);
  http_client const c = frozen.client();
  content const cfg = config(12);
  content const m = image_manifest(cfg, {});
  push_image(c, "a", "t", cfg, {}, m);
  for (std::string const& t :
       {manifest_path("a", "t"), manifest_path("a", m.digest.str()), blob_path("a", cfg.digest)}) {
    reply const r = c.request("DELETE", t);
    EXPECT_EQ(r.status, 405) << t;
    EXPECT_EQ(error_code(r), "UNSUPPORTED");
  }
  EXPECT_EQ(c.get(manifest_path("a", "t")).status, 200);
  // Cancelling an upload is not a delete of content.
  EXPECT_EQ(c.request("DELETE", start(c, "a")).status, 204);
}

// --- referrers ------------------------------------------------------------------------------

TEST_F(V2, Referrers) {
  content const cfg = config(13);
  content const image = image_manifest(cfg, {});
  push_image(c_, "app", "v1", cfg, {}, image);

  content const empty("{}", mt::oci_empty);
  push_blob(c_, "app", empty);
  std::string const subject = R"("subject":)" + image.descriptor();
  content const sbom_layer = layer(50, 70, "application/spdx+json");
  push_blob(c_, "app", sbom_layer);
  content const sbom = image_manifest(
      empty, {sbom_layer}, mt::oci_manifest,
      R"("artifactType":"application/spdx+json",)" + subject +
          R"(,"annotations":{"org.opencontainers.image.created":"2024-01-01T00:00:00Z"})");
  content const sig_cfg = config(14, "application/vnd.example.sig.config");
  push_blob(c_, "app", sig_cfg);
  content const sig = image_manifest(sig_cfg, {}, mt::oci_manifest, subject);
  content const idx = index_manifest({image}, mt::oci_index, subject);

  for (content const* m : {&sbom, &sig, &idx}) {
    reply const r = put_manifest(c_, "app", m->digest.str(), *m);
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.header("OCI-Subject"), image.digest.str());
  }

  std::string const path = "/v2/app/referrers/" + image.digest.str();
  reply r = c_.get(path);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), mt::oci_index);
  EXPECT_FALSE(r.header("OCI-Filters-Applied"));
  boost::json::value const all = json_of(r);
  EXPECT_EQ(all.at("schemaVersion").as_int64(), 2);
  EXPECT_EQ(all.at("mediaType").as_string(), mt::oci_index);
  boost::json::array const& list = all.at("manifests").as_array();
  ASSERT_EQ(list.size(), 3u);
  for (boost::json::value const& d : list) {
    std::string const digest(d.at("digest").as_string());
    if (digest == sbom.digest.str()) {
      EXPECT_EQ(d.at("artifactType").as_string(), "application/spdx+json");
      EXPECT_EQ(d.at("annotations").at("org.opencontainers.image.created").as_string(),
                "2024-01-01T00:00:00Z");
      EXPECT_EQ(d.at("size").to_number<std::size_t>(), sbom.bytes.size());
      EXPECT_EQ(d.at("mediaType").as_string(), mt::oci_manifest);
    } else if (digest == sig.digest.str()) {
      // No artifactType: the config's media type stands in.
      EXPECT_EQ(d.at("artifactType").as_string(), "application/vnd.example.sig.config");
      EXPECT_FALSE(d.as_object().contains("annotations"));
    } else {
      EXPECT_EQ(digest, idx.digest.str());
      EXPECT_FALSE(d.as_object().contains("artifactType")); // an index has none to give
      EXPECT_EQ(d.at("mediaType").as_string(), mt::oci_index);
    }
  }

  r = c_.get(path + "?artifactType=application/spdx%2Bjson");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("OCI-Filters-Applied"), "artifactType");
  boost::json::array const filtered = json_of(r).at("manifests").as_array();
  ASSERT_EQ(filtered.size(), 1u);
  EXPECT_EQ(filtered[0].at("digest").as_string(), sbom.digest.str());
  r = c_.get(path + "?artifactType=application/none");
  EXPECT_EQ(r.header("OCI-Filters-Applied"), "artifactType");
  EXPECT_TRUE(json_of(r).at("manifests").as_array().empty());

  // Deleting a referrer takes it off the list.
  ASSERT_EQ(c_.request("DELETE", manifest_path("app", sig.digest.str())).status, 202);
  EXPECT_EQ(json_of(c_.get(path)).at("manifests").as_array().size(), 2u);
}

TEST_F(V2, ReferrersAreAlways200) {
  content const empty("{}", mt::oci_empty);
  push_blob(c_, "app", empty);
  // The subject need not exist, in this repository or at all.
  pier::digest const absent = pier::digest_of("absent subject");
  content const art = image_manifest(empty, {}, mt::oci_manifest,
                                     R"("artifactType":"application/x","subject":{"mediaType":")" +
                                         std::string(mt::oci_manifest) + R"(","digest":")" +
                                         absent.str() + R"(","size":10})");
  reply r = put_manifest(c_, "app", art.digest.str(), art);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("OCI-Subject"), absent.str());
  EXPECT_EQ(json_of(c_.get("/v2/app/referrers/" + absent.str())).at("manifests").as_array().size(),
            1u);
  for (std::string const& t : {"/v2/app/referrers/" + pier::digest_of("none").str(),
                               "/v2/never/seen/referrers/" + absent.str()}) {
    r = c_.get(t);
    EXPECT_EQ(r.status, 200) << t;
    EXPECT_TRUE(json_of(r).at("manifests").as_array().empty());
  }
  r = c_.get("/v2/app/referrers/sha256:bad");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "DIGEST_INVALID");
}

// --- listings -------------------------------------------------------------------------------

TEST_F(V2, TagsPagination) {
  content const cfg = config(16);
  content const m = image_manifest(cfg, {});
  push_blob(c_, "a/b", cfg);
  std::vector<std::string> const tags = {"B", "a", "latest", "v1", "v1.0", "v2"}; // byte order
  for (std::string const& t : tags)
    ASSERT_EQ(put_manifest(c_, "a/b", t, m).status, 201);

  reply r = c_.get("/v2/a/b/tags/list");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(boost::json::serialize(json_of(r)),
            R"({"name":"a/b","tags":["B","a","latest","v1","v1.0","v2"]})");
  EXPECT_FALSE(r.header("Link"));

  // Follow the Link headers two at a time.
  std::vector<std::string> seen;
  std::string next = "/v2/a/b/tags/list?n=2";
  int pages = 0;
  while (!next.empty() && pages < 10) {
    r = c_.get(next);
    ASSERT_EQ(r.status, 200);
    ++pages;
    boost::json::array const page = json_of(r).at("tags").as_array();
    EXPECT_LE(page.size(), 2u);
    for (auto const& t : page)
      seen.emplace_back(t.as_string());
    next.clear();
    if (auto const link = r.header("Link")) {
      EXPECT_TRUE(link->ends_with(">; rel=\"next\"")) << *link;
      next = link->substr(1, link->find('>') - 1);
      EXPECT_TRUE(next.starts_with("/v2/a/b/tags/list?n=2&last=")) << next;
    }
  }
  EXPECT_EQ(seen, tags);
  EXPECT_EQ(pages, 3);

  r = c_.get("/v2/a/b/tags/list?n=2&last=v1");
  EXPECT_EQ(boost::json::serialize(json_of(r).at("tags")), R"(["v1.0","v2"])");
  EXPECT_FALSE(r.header("Link"));
  r = c_.get("/v2/a/b/tags/list?last=latest");
  EXPECT_EQ(boost::json::serialize(json_of(r).at("tags")), R"(["v1","v1.0","v2"])");
  r = c_.get("/v2/a/b/tags/list?n=0");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(json_of(r).at("tags").as_array().empty());
  EXPECT_FALSE(r.header("Link"));
  r = c_.get("/v2/a/b/tags/list?n=100");
  EXPECT_EQ(json_of(r).at("tags").as_array().size(), 6u);
  EXPECT_FALSE(r.header("Link"));

  for (char const* t : {"/v2/never/seen/tags/list", "/v2/never/seen/tags/list?n=0"}) {
    r = c_.get(t);
    EXPECT_EQ(r.status, 404) << t;
    EXPECT_EQ(error_code(r), "NAME_UNKNOWN") << t;
  }
  r = c_.get("/v2/a/b/tags/list?n=x");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(error_code(r), "PAGINATION_NUMBER_INVALID");

  // A repository with blobs but no tags has an empty list.
  push_blob(c_, "untagged", cfg);
  r = c_.get("/v2/untagged/tags/list");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(json_of(r).at("tags").as_array().empty());
}

TEST_F(V2, PageSizeIsCapped) {
  pier::storage::memory_blob_store blobs;
  pier::storage::memory_metadata_store meta;
  v2_options opts;
  opts.max_page_size = 2;
  registry_server capped(blobs, meta, opts);
  http_client const c = capped.client();
  content const cfg = config(17);
  for (char const* repo : {"r1", "r2", "r3"})
    push_blob(c, repo, cfg);
  reply r = c.get("/v2/_catalog?n=1000");
  EXPECT_EQ(json_of(r).at("repositories").as_array().size(), 2u);
  EXPECT_EQ(r.header("Link"), R"(</v2/_catalog?n=2&last=r2>; rel="next")");
  r = c.get("/v2/_catalog");
  EXPECT_EQ(json_of(r).at("repositories").as_array().size(), 2u);
  EXPECT_TRUE(r.header("Link"));
}

TEST_F(V2, CatalogPagination) {
  content const cfg = config(18);
  std::vector<std::string> const repos = {"a", "a/b", "b", "b-c", "z/y/x"};
  for (std::string const& repo : repos)
    push_blob(c_, repo, cfg);
  reply r = c_.get("/v2/_catalog");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(boost::json::serialize(json_of(r)),
            R"({"repositories":["a","a/b","b","b-c","z/y/x"]})");
  r = c_.get("/v2/_catalog?n=2");
  EXPECT_EQ(boost::json::serialize(json_of(r)), R"({"repositories":["a","a/b"]})");
  // The Link's query value is percent-encoded, and reads back as the name it encodes.
  EXPECT_EQ(r.header("Link"), R"(</v2/_catalog?n=2&last=a%2Fb>; rel="next")");
  r = c_.get("/v2/_catalog?n=2&last=a%2Fb");
  EXPECT_EQ(boost::json::serialize(json_of(r)), R"({"repositories":["b","b-c"]})");
  r = c_.get("/v2/_catalog?n=2&last=a/b");
  EXPECT_EQ(boost::json::serialize(json_of(r)), R"({"repositories":["b","b-c"]})");
  r = c_.get("/v2/_catalog?n=2&last=b-c");
  EXPECT_EQ(boost::json::serialize(json_of(r)), R"({"repositories":["z/y/x"]})");
  EXPECT_FALSE(r.header("Link"));
  r = c_.get("/v2/_catalog?n=0");
  EXPECT_EQ(boost::json::serialize(json_of(r)), R"({"repositories":[]})");
  EXPECT_FALSE(r.header("Link"));
}

// --- bad input is a 400, never a 500 ----------------------------------------------------------

TEST_F(V2, BadNamesTagsAndDigests) {
  pier::digest const d = pier::digest_of("x");
  std::string const overlong(256, 'a');
  struct {
    char const* method;
    std::string target;
    int status;
    char const* code;
  } const cases[] = {
      {"GET", "/v2/Upper/tags/list", 400, "NAME_INVALID"},
      {"GET", "/v2/a/../b/manifests/t", 400, "NAME_INVALID"},
      {"GET", "/v2/a/%2e%2e/b/blobs/" + d.str(), 400, "NAME_INVALID"},
      {"GET", "/v2/" + overlong + "/tags/list", 400, "NAME_INVALID"},
      {"PUT", "/v2/a//b/manifests/t", 400, "NAME_INVALID"},
      {"POST", "/v2/-a/blobs/uploads/", 400, "NAME_INVALID"},
      // A reference that cannot be a tag or digest names no manifest: 404 as for any
      // manifest the repository lacks (end-3, end-9); a PUT with it is a bad request.
      {"GET", "/v2/a/manifests/.bad", 404, "MANIFEST_UNKNOWN"},
      {"HEAD", "/v2/a/manifests/.INVALID_MANIFEST_NAME", 404, ""},
      {"PUT", "/v2/a/manifests/" + std::string(129, 't'), 400, "MANIFEST_INVALID"},
      {"PUT", "/v2/a/manifests/.INVALID_MANIFEST_NAME", 400, "MANIFEST_INVALID"},
      {"DELETE", "/v2/a/manifests/bad~tag", 404, "MANIFEST_UNKNOWN"},
      {"GET", "/v2/a/manifests/sha256:123", 404, "MANIFEST_UNKNOWN"},
      {"HEAD", "/v2/a/manifests/sha256:zz", 404, ""},
      {"DELETE", "/v2/a/manifests/sha256:zz", 404, "MANIFEST_UNKNOWN"},
      {"PUT", "/v2/a/manifests/sha256:zz", 400, "DIGEST_INVALID"},
      {"GET", "/v2/a/blobs/sha256:" + std::string(64, 'Z'), 400, "DIGEST_INVALID"},
      {"HEAD", "/v2/a/blobs/latest", 400, ""},
      {"DELETE", "/v2/a/blobs/md5:abc", 400, "DIGEST_INVALID"},
      {"POST", "/v2/a/blobs/uploads/?digest=sha256:1", 400, "DIGEST_INVALID"},
      {"GET", "/v2/a/blobs/uploads/..", 404, "BLOB_UPLOAD_UNKNOWN"},
      {"GET", "/v2/_catalog?n=-1", 400, "PAGINATION_NUMBER_INVALID"},
      {"GET", "/v2/a%zz/tags/list", 400, ""},
  };
  for (auto const& k : cases) {
    reply const r = c_.request(k.method, k.target);
    EXPECT_EQ(r.status, k.status) << k.method << ' ' << k.target;
    if (*k.code != '\0') {
      EXPECT_EQ(error_code(r), k.code) << k.method << ' ' << k.target;
      EXPECT_EQ(r.header("Content-Type"), "application/json");
    }
  }
}

} // namespace v2_test
} // namespace pier_test
