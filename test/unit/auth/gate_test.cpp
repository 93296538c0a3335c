// SPDX-License-Identifier: Apache-2.0
#include <pier/auth/gate.hpp>

#include "../registry/test_registry.hpp"
#include "../storage/test_util.hpp"

#include <pier/auth/access_token.hpp>
#include <pier/auth/api.hpp>
#include <pier/auth/password.hpp>
#include <pier/core/detail/base64.hpp>
#include <pier/core/detail/rfc3339.hpp>
#include <pier/http/server.hpp>
#include <pier/registry/v2.hpp>
#include <pier/storage/memory.hpp>

#include <asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace gate_test {

namespace auth = pier::auth;
namespace json = boost::json;
namespace storage = pier::storage;
namespace registry = pier::registry;
using pier_test::content;
using pier_test::header_list;
using pier_test::http_client;
using pier_test::reply;
using std::chrono::system_clock;

static_assert(storage::AccountStore<storage::memory_metadata_store>);

// --- helpers ---------------------------------------------------------------------------------

// The stores' coroutines, run to completion on a context of their own.
template <class T>
T run(asio::awaitable<T> a) {
  asio::io_context io;
  return pier_test::run(io, std::move(a));
}

std::shared_ptr<auth::es256_key const> const& signing_key() {
  static auto const k =
      std::make_shared<auth::es256_key const>(auth::es256_key::generate().value());
  return k;
}

std::string basic_value(std::string_view user, std::string_view password) {
  std::string const plain = std::string(user) + ":" + std::string(password);
  return "Basic " +
         pier::detail::base64::encode(plain, pier::detail::base64::alphabet::standard, true);
}

header_list basic(std::string_view user, std::string_view password) {
  return {{"Authorization", basic_value(user, password)}};
}

header_list bearer(std::string_view token) {
  return {{"Authorization", "Bearer " + std::string(token)}};
}

header_list with(header_list h, header_list const& more) {
  h.insert(h.end(), more.begin(), more.end());
  return h;
}

json::object json_of(reply const& r) { return json::parse(r.body).as_object(); }

// The parameters of a `WWW-Authenticate` challenge: scheme under "", then name → value.
std::map<std::string, std::string> challenge(reply const& r) {
  std::map<std::string, std::string> out;
  std::string const h = r.header_or_empty("WWW-Authenticate");
  std::size_t const sp = h.find(' ');
  out[""] = h.substr(0, sp);
  std::size_t i = sp == std::string::npos ? h.size() : sp + 1;
  while (i < h.size()) {
    std::size_t const eq = h.find('=', i);
    std::string const name = h.substr(i, eq - i);
    std::size_t const close = h.find('"', eq + 2);
    out[name] = h.substr(eq + 2, close - eq - 2);
    i = close + 2; // past the quote and the comma
  }
  return out;
}

std::string const realm = "http://127.0.0.1/auth/token"; // the client sends Host: 127.0.0.1
std::string const service = "127.0.0.1";

using pier_test::blob_path;
using pier_test::manifest_path;
using pier_test::uploads;

/// A small image: config, one random layer, OCI manifest.
struct image {
  content cfg;
  content layer;
  content manifest;

  explicit image(std::uint64_t seed)
      : cfg(pier_test::config(seed)), layer(pier_test::layer(512, seed)),
        manifest(pier_test::image_manifest(cfg, {layer})) {}
};

/// Pushes `img` to `repo:tag` with `auth` headers; the status of the first refusal, or of
/// the manifest PUT.
int push(http_client const& c, header_list const& auth_headers, std::string_view repo,
         std::string_view tag, image const& img) {
  for (content const* b : {&img.cfg, &img.layer}) {
    reply const r =
        c.request("POST", uploads(repo) + "?digest=" + b->digest.str(),
                  with(auth_headers, {{"Content-Type", "application/octet-stream"}}), b->bytes);
    if (r.status != 201)
      return r.status;
  }
  return c
      .request("PUT", manifest_path(repo, tag),
               with(auth_headers, {{"Content-Type", img.manifest.media_type}}), img.manifest.bytes)
      .status;
}

// The accounts API as the gate sees it: it echoes the principal it was given.
struct echo_api {
  asio::awaitable<pier::http::response> handle(pier::http::request&,
                                               auth::principal const& who) const {
    json::array orgs;
    for (storage::membership const& m : who.memberships)
      orgs.emplace_back(m.org + ":" + std::to_string(static_cast<int>(m.level)));
    json::object o{{"name", who.name}, {"admin", who.admin}, {"orgs", std::move(orgs)}};
    co_return pier::http::response::json(200, json::serialize(o));
  }
};

// What sits behind the gate: the v2 API, and for other targets a handler that says it was
// reached (the pings, "/v1/...").
pier::http::handler behind(storage::memory_blob_store& blobs, storage::memory_metadata_store& meta,
                           pier::registry::v2_options v2_options = {}) {
  pier::http::handler v2 = pier::registry::make_v2_handler(blobs, meta, v2_options);
  return [v2](pier::http::request& req) -> asio::awaitable<pier::http::response> {
    if (req.target().starts_with("/v2"))
      co_return co_await v2(req);
    co_return pier::http::response::text(200, "reached " + std::string(req.target()));
  };
}

// Users (password "<name>-password"), organisation acme (bob write, carol read, dave admin),
// and repositories pushed by root: alice/private, alice/public (public), acme/app, base.
class Gate : public ::testing::Test {
protected:
  static std::string password(std::string_view user) { return std::string(user) + "-password"; }

  void SetUp() override {
    for (auto [name, admin] : {std::pair{"root", true},
                               {"alice", false},
                               {"bob", false},
                               {"carol", false},
                               {"dave", false},
                               {"erin", false}}) {
      storage::user_record u{name, auth::hash_password(password(name), {}, 4).value(), admin,
                             system_clock::now()};
      ASSERT_TRUE(run(meta_.create_user(u)));
    }
    ASSERT_TRUE(run(meta_.create_org({"acme", system_clock::now()})));
    ASSERT_TRUE(run(meta_.set_member("acme", "bob", storage::role::write)));
    ASSERT_TRUE(run(meta_.set_member("acme", "carol", storage::role::read)));
    ASSERT_TRUE(run(meta_.set_member("acme", "dave", storage::role::admin)));
    ASSERT_TRUE(run(meta_.set_visibility("alice/public", storage::visibility::public_)));
  }

  auth::gate_options options(auth::auth_mode mode) const {
    auth::gate_options o;
    o.mode = mode;
    o.signing_key = signing_key();
    return o;
  }

  // Serves the gate; the accounts API echoes the principal unless `api` is given.
  // `v2` sets the registry behind the gate (its catalog's scan limit and cursor key).
  void start(auth::gate_options o, auth::api_handler api = {},
             pier::registry::v2_options v2 = {}) {
    if (!api)
      api = auth::make_api_handler(std::make_shared<echo_api const>());
    server_ = std::make_unique<pier_test::registry_server>(auth::make_gate(
        meta_, meta_, std::move(o), behind(blobs_, meta_, std::move(v2)), std::move(api)));
    c_.emplace(server_->client());
  }

  // Pushes the fixture's images as root (Basic credentials work in every mode).
  void seed() {
    header_list const root = basic("root", password("root"));
    for (auto [repo, seed] :
         {std::pair{"alice/private", 1}, {"alice/public", 2}, {"acme/app", 3}, {"base", 4}})
      ASSERT_EQ(push(*c_, root, repo, "v1", image(static_cast<std::uint64_t>(seed))), 201) << repo;
  }

  // A token from GET /auth/token for `scope` ("" for none), with Basic credentials of
  // `user` unless it is empty.
  std::string token(std::string_view scope, std::string_view user = {}) const {
    std::string target = "/auth/token?service=" + service;
    if (!scope.empty())
      target += "&scope=" + std::string(scope);
    header_list h;
    if (!user.empty())
      h = basic(user, password(user));
    reply const r = c_->get(target, h);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200)
      return {};
    return std::string(json_of(r).at("token").as_string());
  }

  // The `access` claim of one of our tokens, as "type:name:actions" strings.
  static std::set<std::string> access_of(std::string const& token) {
    auth::jwt_verify_options vo;
    auto claims = auth::verify_jwt(token, *signing_key(), vo);
    EXPECT_TRUE(claims);
    std::set<std::string> out;
    if (!claims)
      return out;
    auto const access = auth::access_from_json(claims->at("access")).value();
    for (auth::resource_scope const& s : access)
      out.insert(auth::to_string(s));
    return out;
  }

  storage::memory_blob_store blobs_;
  storage::memory_metadata_store meta_;
  std::unique_ptr<pier_test::registry_server> server_;
  std::optional<http_client> c_;
};

TEST(GateDoc, Examples) {
  pier::storage::memory_blob_store blobs;
  pier::storage::memory_metadata_store meta; // also the AccountStore
  {
    pier::auth::gate_options opts; // mode token
    opts.signing_key =
        std::make_shared<pier::auth::es256_key const>(pier::auth::es256_key::generate().value());
    pier::http::server_options so;
    so.port = 0;
    so.address = "127.0.0.1";
    so.threads = 1;
    auto v2 = pier::registry::make_v2_handler(blobs, meta);
    pier::http::server srv(so, pier::auth::make_gate(meta, meta, opts, v2));
    std::thread t([&] { srv.run(); });
    reply const r = http_client(srv.port()).get("/v2/");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.header_or_empty("WWW-Authenticate"),
              "Bearer realm=\"http://127.0.0.1/auth/token\",service=\"127.0.0.1\"");
    srv.stop();
    t.join();
  }
  pier::http::handler h = pier::auth::make_gate(meta, meta, {.mode = pier::auth::auth_mode::none},
                                                pier::registry::make_v2_handler(blobs, meta));
  EXPECT_TRUE(h);
  using S = pier::storage::memory_metadata_store;
  auto api = std::make_shared<pier::auth::accounts_api<S, S> const>(meta, meta);
  pier::auth::api_handler a = pier::auth::make_api_handler(api);
  EXPECT_TRUE(a);
  static_assert(pier::storage::AccountStore<S>);
}

// --- every mode ------------------------------------------------------------------------------

TEST_F(Gate, PingIsOpenInEveryMode) {
  for (auth::auth_mode mode :
       {auth::auth_mode::none, auth::auth_mode::basic, auth::auth_mode::token}) {
    start(options(mode));
    for (char const* target : {"/_ping", "/v1/_ping"}) {
      reply const r = c_->get(target);
      EXPECT_EQ(r.status, 200) << target;
      EXPECT_EQ(r.body, "reached " + std::string(target));
      // Even with credentials that would not verify.
      EXPECT_EQ(c_->get(target, basic("alice", "wrong")).status, 200);
    }
    server_.reset();
  }
}

TEST_F(Gate, ModeNonePassesEverythingThrough) {
  start(options(auth::auth_mode::none));
  image const img(10);
  // No credentials, or nonsense ones: nothing is checked.
  EXPECT_EQ(push(*c_, {}, "alice/app", "v1", img), 201);
  EXPECT_EQ(push(*c_, {{"Authorization", "Bearer not-a-token"}}, "bob/app", "v1", img), 201);
  reply const pulled = c_->get(manifest_path("alice/app", "v1"), basic("x", "y"));
  EXPECT_EQ(pulled.status, 200);
  EXPECT_EQ(pulled.body, img.manifest.bytes);
  EXPECT_FALSE(pulled.header("WWW-Authenticate"));
  EXPECT_EQ(c_->request("DELETE", manifest_path("alice/app", img.manifest.digest.str())).status,
            202);
  EXPECT_EQ(c_->get("/v2/").status, 200);
  EXPECT_EQ(c_->get("/v1/search").body, "reached /v1/search");
  // The one thing it looks at: the accounts API is off.
  EXPECT_EQ(c_->get("/api/v1/users", basic("root", password("root"))).status, 404);
  EXPECT_EQ(c_->get("/auth/token").body, "reached /auth/token");
}

// --- token mode ------------------------------------------------------------------------------

TEST_F(Gate, TokenBaseChallengesAnonymousCallers) {
  start(options(auth::auth_mode::token));
  reply const r = c_->get("/v2/");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(pier_test::error_code(r), "UNAUTHORIZED");
  EXPECT_EQ(r.header_or_empty("Docker-Distribution-API-Version"), "registry/2.0");
  auto const ch = challenge(r);
  EXPECT_EQ(ch.at(""), "Bearer");
  EXPECT_EQ(ch.at("realm"), realm);
  EXPECT_EQ(ch.at("service"), service);
  EXPECT_FALSE(ch.contains("scope"));
  EXPECT_FALSE(ch.contains("error"));
}

TEST_F(Gate, TokenFullClientFlow) {
  start(options(auth::auth_mode::token));
  seed();
  // 1. The client tries, is challenged, 2. asks the realm for the scope with its
  // credentials, 3. retries with the token.
  reply const first = c_->get(manifest_path("alice/private", "v1"));
  ASSERT_EQ(first.status, 401);
  auto const ch = challenge(first);
  EXPECT_EQ(ch.at("scope"), "repository:alice/private:pull");
  ASSERT_TRUE(ch.at("realm").starts_with("http://127.0.0.1/"));
  std::string const path = ch.at("realm").substr(std::string("http://127.0.0.1").size());
  reply const t = c_->get(path + "?service=" + ch.at("service") + "&scope=" + ch.at("scope"),
                          basic("alice", password("alice")));
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(t.header_or_empty("Cache-Control"), "no-store");
  json::object const body = json_of(t);
  std::string const tok(body.at("token").as_string());
  EXPECT_EQ(body.at("access_token").as_string(), body.at("token").as_string());
  EXPECT_EQ(body.at("expires_in").as_int64(), 300);
  EXPECT_TRUE(pier::detail::rfc3339::is_date_time(body.at("issued_at").as_string()));
  EXPECT_EQ(access_of(tok), std::set<std::string>{"repository:alice/private:pull"});

  reply const again = c_->get(manifest_path("alice/private", "v1"), bearer(tok));
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(c_->get("/v2/", bearer(tok)).status, 200);
}

TEST_F(Gate, TokenClaims) {
  start(options(auth::auth_mode::token));
  std::string const tok = token("repository:alice/app:pull,push,delete", "alice");
  auth::jwt_verify_options vo;
  vo.issuer = "pier";
  vo.audience = service;
  auto const claims = auth::verify_jwt(tok, *signing_key(), vo);
  ASSERT_TRUE(claims) << claims.error().message();
  EXPECT_EQ(claims->at("iss").as_string(), "pier");
  EXPECT_EQ(claims->at("sub").as_string(), "alice");
  EXPECT_EQ(claims->at("aud").as_string(), service);
  std::int64_t const iat = claims->at("iat").as_int64();
  EXPECT_EQ(claims->at("nbf").as_int64(), iat);
  EXPECT_EQ(claims->at("exp").as_int64(), iat + 300);
  EXPECT_GE(claims->at("jti").as_string().size(), 16u);
  EXPECT_NE(claims->at("jti"), auth::verify_jwt(token("", "alice"), *signing_key(), vo)->at("jti"));
  // alice owns the namespace: everything she asked for.
  EXPECT_EQ(access_of(tok), std::set<std::string>{"repository:alice/app:pull,push,delete"});
}

TEST_F(Gate, TokenScopesAreCutToThePolicy) {
  start(options(auth::auth_mode::token));
  // bob: write in acme, nothing on alice's private repositories, pull on public ones.
  std::string const scope = "repository:acme/app:pull,push,delete&scope=repository:alice/"
                            "private:pull,push&scope=repository:alice/public:pull,push"
                            "&scope=registry:catalog:*&scope=repository:base:pull";
  EXPECT_EQ(access_of(token(scope, "bob")),
            (std::set<std::string>{"repository:acme/app:pull,push", "repository:alice/public:pull",
                                   "registry:catalog:*"}));
  // Anonymous: public pulls and the catalog only.
  EXPECT_EQ(access_of(token(scope)),
            (std::set<std::string>{"repository:alice/public:pull", "registry:catalog:*"}));
  // root: everything.
  EXPECT_EQ(access_of(token(scope, "root")),
            (std::set<std::string>{"repository:acme/app:pull,push,delete",
                                   "repository:alice/private:pull,push",
                                   "repository:alice/public:pull,push", "registry:catalog:*",
                                   "repository:base:pull"}));
  // A space-separated list in one parameter ('+' is a space in a query) counts the same.
  EXPECT_EQ(access_of(token("repository:acme/app:pull+repository:alice/public:pull", "carol")),
            (std::set<std::string>{"repository:acme/app:pull", "repository:alice/public:pull"}));
}

TEST_F(Gate, TokenAnonymousPush) {
  start(options(auth::auth_mode::token));
  reply const r = c_->request("POST", uploads("alice/app"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(pier_test::error_code(r), "UNAUTHORIZED");
  auto const ch = challenge(r);
  EXPECT_EQ(ch.at("scope"), "repository:alice/app:pull,push");
  EXPECT_FALSE(ch.contains("error"));
  // An anonymous token does not help.
  reply const t =
      c_->request("POST", uploads("alice/app"), bearer(token("repository:alice/app:pull,push")));
  EXPECT_EQ(t.status, 401);
  EXPECT_EQ(challenge(t).at("error"), "insufficient_scope");
  EXPECT_TRUE(run(blobs_.begin_upload())); // the store is fine; nothing was started for them
}

TEST_F(Gate, TokenPushToAnotherUsersNamespace) {
  start(options(auth::auth_mode::token));
  std::string const tok = token("repository:alice/app:pull,push", "bob");
  EXPECT_TRUE(access_of(tok).empty()); // alice/app is private: bob may not even pull
  image const img(20);
  reply const r = c_->request("POST", uploads("alice/app") + "?digest=" + img.layer.digest.str(),
                              bearer(tok), img.layer.bytes);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(pier_test::error_code(r), "UNAUTHORIZED");
  auto const ch = challenge(r);
  EXPECT_EQ(ch.at("error"), "insufficient_scope");
  EXPECT_EQ(ch.at("scope"), "repository:alice/app:pull,push");
  // And his own namespace works.
  std::string const own = token("repository:bob/app:pull,push", "bob");
  EXPECT_EQ(push(*c_, bearer(own), "bob/app", "v1", img), 201);
}

TEST_F(Gate, TokenPrivatePullAnonymousAndNonMember) {
  start(options(auth::auth_mode::token));
  seed();
  for (std::string_view user : {"", "bob", "erin"}) {
    std::string const tok = token("repository:alice/private:pull", user);
    reply const r = c_->get(manifest_path("alice/private", "v1"), bearer(tok));
    EXPECT_EQ(r.status, 401) << user;
    EXPECT_EQ(challenge(r).at("error"), "insufficient_scope");
    // A repository that does not exist is refused the same way: no 404 tells them apart.
    reply const missing = c_->get(manifest_path("alice/nothing", "v1"),
                                  bearer(token("repository:alice/nothing:pull", user)));
    EXPECT_EQ(missing.status, 401) << user;
    EXPECT_EQ(c_->get(blob_path("acme/app", image(3).layer.digest),
                      bearer(token("repository:acme/app:pull", user)))
                  .status,
              user == "bob" ? 200 : 401);
  }
}

TEST_F(Gate, TokenPublicPullAnonymously) {
  start(options(auth::auth_mode::token));
  seed();
  image const img(2);
  // Without a token, even a public pull is challenged (clients then fetch an anonymous one).
  reply const challenged = c_->get(manifest_path("alice/public", "v1"));
  EXPECT_EQ(challenged.status, 401);
  std::string const tok = token("repository:alice/public:pull");
  reply const m = c_->get(manifest_path("alice/public", "v1"), bearer(tok));
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.body, img.manifest.bytes);
  EXPECT_EQ(c_->get(blob_path("alice/public", img.layer.digest), bearer(tok)).body,
            img.layer.bytes);
  EXPECT_EQ(c_->get("/v2/alice/public/tags/list", bearer(tok)).status, 200);
  // The anonymous token is valid for /v2/ too.
  EXPECT_EQ(c_->get("/v2/", bearer(token(""))).status, 200);
  // A missing tag of a public repository is the registry's 404.
  reply const missing = c_->get(manifest_path("alice/public", "nope"), bearer(tok));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(pier_test::error_code(missing), "MANIFEST_UNKNOWN");
}

TEST_F(Gate, TokenDeleteNeedsAdmin) {
  start(options(auth::auth_mode::token));
  seed();
  image const img(3);
  std::string const target = manifest_path("acme/app", img.manifest.digest.str());
  // bob writes to acme but is no admin: his token has no delete.
  std::string const bob = token("repository:acme/app:delete", "bob");
  EXPECT_TRUE(access_of(bob).empty());
  reply const r = c_->request("DELETE", target, bearer(bob));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(challenge(r).at("scope"), "repository:acme/app:delete");
  EXPECT_EQ(challenge(r).at("error"), "insufficient_scope");
  // dave is an admin of acme.
  std::string const dave = token("repository:acme/app:delete", "dave");
  // The manifest first: a layer an image of the repository uses is not deleted.
  EXPECT_EQ(c_->request("DELETE", target, bearer(dave)).status, 202);
  EXPECT_EQ(c_->request("DELETE", blob_path("acme/app", img.layer.digest), bearer(dave)).status,
            202);
}

TEST_F(Gate, TokenExpired) {
  start(options(auth::auth_mode::token));
  auto const now = system_clock::now();
  auto const secs = [](system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  };
  json::object claims{{"iss", "pier"},
                      {"sub", "root"},
                      {"aud", service},
                      {"exp", secs(now - std::chrono::seconds(10))},
                      {"nbf", secs(now - std::chrono::seconds(310))},
                      {"iat", secs(now - std::chrono::seconds(310))},
                      {"access", json::array{}}};
  std::string const tok = auth::sign_jwt(claims, *signing_key()).value();
  reply const r = c_->get("/v2/", bearer(tok));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(pier_test::error_code(r), "UNAUTHORIZED");
  EXPECT_EQ(challenge(r).at("error"), "invalid_token");
  // Not valid yet is refused too.
  claims["exp"] = secs(now + std::chrono::seconds(600));
  claims["nbf"] = secs(now + std::chrono::seconds(300));
  EXPECT_EQ(c_->get("/v2/", bearer(auth::sign_jwt(claims, *signing_key()).value())).status, 401);
}

TEST_F(Gate, TokenTamperedOrForeign) {
  start(options(auth::auth_mode::token));
  seed();
  std::string const tok = token("repository:alice/private:pull", "alice");
  ASSERT_EQ(c_->get(manifest_path("alice/private", "v1"), bearer(tok)).status, 200);

  // The payload rewritten to another user's repository, with the old signature.
  std::size_t const dot1 = tok.find('.');
  std::size_t const dot2 = tok.find('.', dot1 + 1);
  std::string payload = auth::base64url_decode(tok.substr(dot1 + 1, dot2 - dot1 - 1)).value();
  std::size_t const at = payload.find("alice/private");
  ASSERT_NE(at, std::string::npos);
  payload.replace(at, 13, "acme/app\",\"x\":\"");
  std::string const forged =
      tok.substr(0, dot1 + 1) + auth::base64url_encode(payload) + tok.substr(dot2);
  reply const r1 = c_->get(manifest_path("acme/app", "v1"), bearer(forged));
  EXPECT_EQ(r1.status, 401);
  EXPECT_EQ(challenge(r1).at("error"), "invalid_token");

  // A flipped signature byte.
  std::string flipped = tok;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(c_->get(manifest_path("alice/private", "v1"), bearer(flipped)).status, 401);

  // Signed with another key (same kid would not help: the key is ours alone).
  auth::es256_key const other = auth::es256_key::generate().value();
  auto claims = auth::verify_jwt(tok, *signing_key()).value();
  EXPECT_EQ(c_->get(manifest_path("alice/private", "v1"),
                    bearer(auth::sign_jwt(claims, other, signing_key()->key_id()).value()))
                .status,
            401);

  // For another service (aud) or from another issuer.
  json::object foreign = claims;
  foreign["aud"] = "registry.example.com";
  EXPECT_EQ(c_->get(manifest_path("alice/private", "v1"),
                    bearer(auth::sign_jwt(foreign, *signing_key()).value()))
                .status,
            401);
  foreign = claims;
  foreign["iss"] = "someone-else";
  EXPECT_EQ(c_->get(manifest_path("alice/private", "v1"),
                    bearer(auth::sign_jwt(foreign, *signing_key()).value()))
                .status,
            401);
}

// The gate keeps verified tokens until their `exp`: an entry never outlives its token, is
// found only for the service it was checked for, and a full cache starts again.
TEST(GateTokenCache, EntriesEndWithTheirTokens) {
  using cache = auth::detail::verified_token_cache;
  auto const t0 = system_clock::now();
  cache c(2);
  c.insert("svc", "tok-a", {"alice", {}, t0 + std::chrono::seconds(10)}, t0);
  ASSERT_TRUE(c.find("svc", "tok-a", t0));
  EXPECT_EQ(c.find("svc", "tok-a", t0)->subject, "alice");
  EXPECT_FALSE(c.find("other", "tok-a", t0));
  EXPECT_FALSE(c.find("svc", "tok-a2", t0));
  EXPECT_FALSE(c.find("svc", "tok-a", t0 + std::chrono::seconds(10)));
  c.insert("svc", "expired", {"bob", {}, t0}, t0); // already expired: not kept
  EXPECT_FALSE(c.find("svc", "expired", t0));
  c.insert("svc", "tok-b", {"bob", {}, t0 + std::chrono::seconds(10)}, t0);
  c.insert("svc", "tok-c", {"carol", {}, t0 + std::chrono::seconds(10)}, t0);
  EXPECT_TRUE(c.find("svc", "tok-c", t0));
  cache off(0);
  off.insert("svc", "tok-a", {"alice", {}, t0 + std::chrono::seconds(10)}, t0);
  EXPECT_FALSE(off.find("svc", "tok-a", t0));
}

TEST_F(Gate, TokenAlgNone) {
  start(options(auth::auth_mode::token));
  seed();
  auto const claims =
      auth::verify_jwt(token("repository:acme/app:pull,push", "root"), *signing_key()).value();
  std::string const header = auth::base64url_encode(R"({"alg":"none","typ":"JWT"})");
  std::string const body = auth::base64url_encode(json::serialize(claims));
  for (std::string const& tok : {header + "." + body + ".", header + "." + body}) {
    reply const r = c_->get(manifest_path("acme/app", "v1"), bearer(tok));
    EXPECT_EQ(r.status, 401) << tok;
    EXPECT_EQ(pier_test::error_code(r), "UNAUTHORIZED");
  }
}

TEST_F(Gate, TokenServiceRefusals) {
  start(options(auth::auth_mode::token));
  // Wrong password: 401, and the password is not echoed.
  reply const wrong = c_->get("/auth/token?service=" + service + "&scope=repository:alice/a:pull",
                              basic("alice", "s3cret-guess"));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(pier_test::error_code(wrong), "UNAUTHORIZED");
  EXPECT_EQ(wrong.body.find("s3cret-guess"), std::string::npos);
  // Unknown user: the same answer.
  reply const unknown = c_->get("/auth/token?service=" + service, basic("mallory", "x"));
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.body, wrong.body);
  // Another service.
  reply const other = c_->get("/auth/token?service=registry.example.com");
  EXPECT_EQ(other.status, 400);
  EXPECT_EQ(pier_test::error_code(other), "UNSUPPORTED");
  // A malformed scope, a traversal in a scope.
  EXPECT_EQ(c_->get("/auth/token?scope=repository:alice").status, 400);
  reply const traversal = c_->get("/auth/token?scope=repository:alice/../root:pull");
  EXPECT_EQ(traversal.status, 400);
  EXPECT_EQ(pier_test::error_code(traversal), "NAME_INVALID");
  // Credentials of another scheme.
  EXPECT_EQ(c_->get("/auth/token", bearer(token(""))).status, 401);
  // No service: the token is for this registry.
  EXPECT_EQ(c_->get("/auth/token").status, 200);
  // Empty Basic credentials are an anonymous request.
  EXPECT_EQ(c_->get("/auth/token", {{"Authorization", "Basic Og=="}}).status, 200);
  EXPECT_EQ(c_->request("DELETE", "/auth/token").status, 405);
}

TEST_F(Gate, TokenServiceOAuth) {
  start(options(auth::auth_mode::token));
  header_list const form{{"Content-Type", "application/x-www-form-urlencoded"}};
  reply const r = c_->request("POST", "/auth/token", form,
                              "grant_type=password&username=alice&password=alice-password"
                              "&service=127.0.0.1&client_id=test&scope=repository%3Aalice%2Fapp"
                              "%3Apull%2Cpush+repository:bob/x:pull");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object const body = json_of(r);
  EXPECT_FALSE(body.contains("token"));
  EXPECT_EQ(body.at("token_type").as_string(), "Bearer");
  EXPECT_EQ(body.at("scope").as_string(), "repository:alice/app:pull,push");
  EXPECT_EQ(body.at("expires_in").as_int64(), 300);
  EXPECT_TRUE(pier::detail::rfc3339::is_date_time(body.at("issued_at").as_string()));
  std::string const tok(body.at("access_token").as_string());
  EXPECT_EQ(access_of(tok), std::set<std::string>{"repository:alice/app:pull,push"});
  EXPECT_EQ(c_->request("POST", uploads("alice/app"), bearer(tok)).status, 202);

  reply const refresh = c_->request("POST", "/auth/token", form,
                                    "grant_type=refresh_token&refresh_token=x&service=127.0.0.1");
  EXPECT_EQ(refresh.status, 400);
  EXPECT_EQ(json_of(refresh).at("error").as_string(), "unsupported_grant_type");
  reply const wrong =
      c_->request("POST", "/auth/token", form, "grant_type=password&username=alice&password=nope");
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(json_of(wrong).at("error").as_string(), "invalid_grant");
  EXPECT_EQ(wrong.body.find("nope"), std::string::npos);
  reply const other = c_->request("POST", "/auth/token", form,
                                  "grant_type=password&username=alice&password=alice-password"
                                  "&service=elsewhere");
  EXPECT_EQ(other.status, 400);
  EXPECT_EQ(json_of(other).at("error").as_string(), "invalid_request");
}

TEST_F(Gate, TokenCatalogFiltering) {
  start(options(auth::auth_mode::token));
  seed();
  auto list = [&](std::string_view user, std::string const& query = "") {
    std::string const tok = token("registry:catalog:*", user);
    reply const r = c_->get("/v2/_catalog" + query, bearer(tok));
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> names;
    json::object const body = json_of(r);
    for (json::value const& v : body.at("repositories").as_array())
      names.emplace_back(v.as_string());
    return std::pair{names, r.header_or_empty("Link")};
  };
  using names = std::vector<std::string>;
  EXPECT_EQ(list("").first, names{"alice/public"});
  EXPECT_EQ(list("carol").first, (names{"acme/app", "alice/public"}));
  EXPECT_EQ(list("alice").first, (names{"alice/private", "alice/public"}));
  EXPECT_EQ(list("root").first, (names{"acme/app", "alice/private", "alice/public", "base"}));

  // Paging over what alice sees: acme/app and base are skipped, Link only while more follow.
  auto const p1 = list("alice", "?n=1");
  EXPECT_EQ(p1.first, names{"alice/private"});
  EXPECT_EQ(p1.second, "</v2/_catalog?n=1&last=alice%2Fprivate>; rel=\"next\"");
  auto const p2 = list("alice", "?n=1&last=alice%2Fprivate");
  EXPECT_EQ(p2.first, names{"alice/public"});
  EXPECT_EQ(p2.second, ""); // base follows, but alice may not see it
  auto const all = list("root", "?n=3");
  EXPECT_EQ(all.first, (names{"acme/app", "alice/private", "alice/public"}));
  EXPECT_EQ(all.second, "</v2/_catalog?n=3&last=alice%2Fpublic>; rel=\"next\"");
  EXPECT_EQ(list("root", "?n=3&last=alice/public").first, names{"base"});
  EXPECT_EQ(list("root", "?n=0").first, names{});

  // The catalog needs its scope in the token.
  reply const r = c_->get("/v2/_catalog", bearer(token("")));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(challenge(r).at("scope"), "registry:catalog:*");
  EXPECT_EQ(challenge(r).at("error"), "insufficient_scope");
}

// A catalog page reads at most `max_scan` names; when it stops on a name the caller may
// not see, the Link continues from it as an opaque cursor, never the name. Paging through
// gives each visible name once; a cursor that was tampered with is a 400.
TEST_F(Gate, CatalogCursorsHideWhatTheyStopOn) {
  for (std::size_t scan : {1u, 2u, 3u}) {
    SCOPED_TRACE(scan);
    pier::registry::v2_options v2;
    v2.max_scan = scan;
    start(options(auth::auth_mode::basic), {}, v2);
    if (scan == 1)
      seed();
    using names = std::vector<std::string>;
    struct caller {
      std::string user;
      names visible;
      std::vector<std::string> hidden; // strings only hidden names contain
    };
    std::vector<caller> const callers = {
        {"", {"alice/public"}, {"acme", "private", "base"}},
        {"carol", {"acme/app", "alice/public"}, {"private", "base"}},
        {"alice", {"alice/private", "alice/public"}, {"acme", "base"}},
    };
    for (caller const& who : callers) {
      header_list const h = who.user.empty() ? header_list{} : basic(who.user, password(who.user));
      for (std::size_t n = 1; n <= 3; ++n) {
        std::string next = "/v2/_catalog?n=" + std::to_string(n);
        names seen;
        int pages = 0;
        while (!next.empty() && pages++ < 20) {
          SCOPED_TRACE(who.user + ' ' + next);
          reply const r = c_->get(next, h);
          ASSERT_EQ(r.status, 200) << r.body;
          json::object const body = json_of(r);
          for (json::value const& v : body.at("repositories").as_array())
            seen.emplace_back(v.as_string());
          std::string const link = r.header_or_empty("Link");
          std::size_t const at = link.find("&last=");
          bool const sealed = at != std::string::npos && link.compare(at + 6, 1, "~") == 0;
          std::string const plain = sealed ? link.substr(0, at) : link;
          for (std::string const& x : who.hidden) {
            EXPECT_EQ(r.body.find(x), std::string::npos) << r.body;
            EXPECT_EQ(plain.find(x), std::string::npos) << link;
          }
          next = link.empty() ? "" : link.substr(1, link.find('>') - 1);
        }
        EXPECT_EQ(seen, who.visible) << who.user << " n=" << n;
      }
    }
  }
  // Anonymous, one name read a page: acme/app is hidden, so the cursor is sealed.
  pier::registry::v2_options v2;
  v2.max_scan = 1;
  start(options(auth::auth_mode::basic), {}, v2);
  reply r = c_->get("/v2/_catalog?n=5");
  ASSERT_EQ(r.status, 200);
  std::string link = r.header_or_empty("Link");
  ASSERT_NE(link.find("&last=~"), std::string::npos) << link;
  std::string const cursor = link.substr(link.find("&last=") + 6, link.find('>') - link.find("&last=") - 6);
  EXPECT_EQ(c_->get("/v2/_catalog?n=5&last=" + cursor).status, 200);
  std::string flipped = cursor;
  flipped[cursor.size() / 2] = flipped[cursor.size() / 2] == 'A' ? 'B' : 'A';
  for (std::string const& bad : {flipped, cursor.substr(0, 40), std::string("~"),
                                 std::string("~") + std::string(571, 'A')}) {
    r = c_->get("/v2/_catalog?n=5&last=" + bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(pier_test::error_code(r), "UNSUPPORTED") << r.body;
    EXPECT_NE(r.body.find("cursor"), std::string::npos) << r.body;
  }
}

// A catalog cursor opens in another gate with the same key (a replica, or the server after
// a restart) and is refused as any unknown cursor (400, not 500) under another key.
TEST_F(Gate, CatalogCursorsOpenUnderTheKeyThatSealedThem) {
  auto const keyed = [this](char fill) {
    pier::registry::v2_options v2;
    v2.max_scan = 1;
    v2.cursor_key = registry::cursor_key::from_bytes(std::string(32, fill)).value();
    start(options(auth::auth_mode::basic), {}, v2);
  };
  keyed('a');
  seed();
  reply r = c_->get("/v2/_catalog?n=5"); // anonymous: acme/app, read first, is hidden
  ASSERT_EQ(r.status, 200);
  std::string const link = r.header_or_empty("Link");
  ASSERT_NE(link.find("&last=~"), std::string::npos) << link;
  std::string const next = link.substr(1, link.find('>') - 1);
  std::string const page = c_->get(next).body;

  keyed('a');
  r = c_->get(next);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, page);
  keyed('b');
  r = c_->get(next);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(pier_test::error_code(r), "UNSUPPORTED") << r.body;
}

TEST_F(Gate, MountFromUnreadableRepositoryBecomesUpload) {
  start(options(auth::auth_mode::token));
  seed();
  image const img(1); // in alice/private
  std::string const tok =
      token("repository:bob/app:pull,push&scope=repository:alice/private:pull", "bob");
  std::string const target =
      uploads("bob/app") + "?mount=" + img.layer.digest.str() + "&from=alice/private";
  reply const r = c_->request("POST", target, bearer(tok));
  EXPECT_EQ(r.status, 202);
  EXPECT_TRUE(r.header_or_empty("Location").starts_with("/v2/bob/app/blobs/uploads/"));
  EXPECT_EQ(c_->head(blob_path("bob/app", img.layer.digest),
                     bearer(token("repository:bob/app:pull", "bob")))
                .status,
            404);
  EXPECT_FALSE(run(meta_.is_linked("bob/app", img.layer.digest)).value());

  // From a repository alice may read, her mount works.
  std::string const her = token("repository:alice/copy:pull,push&scope=repository:alice/"
                                "private:pull",
                                "alice");
  reply const mounted = c_->request(
      "POST", uploads("alice/copy") + "?mount=" + img.layer.digest.str() + "&from=alice/private",
      bearer(her));
  EXPECT_EQ(mounted.status, 201);
  EXPECT_TRUE(run(meta_.is_linked("alice/copy", img.layer.digest)).value());
}

TEST_F(Gate, PathTraversalIsRefusedNotServed) {
  start(options(auth::auth_mode::token));
  seed();
  std::string const tok = token("registry:catalog:*", "alice");
  for (std::string const& target :
       {std::string("/v2/../alice/private/manifests/v1"),
        std::string("/v2/%2e%2e/x/manifests/latest"),
        std::string("/v2/alice/%2e%2e/acme/app/manifests/v1"),
        std::string("/v2/alice/private/../../acme/app/manifests/v1"),
        std::string("/v2/alice%2F..%2Facme/app/manifests/v1"), std::string("/v2/./x/tags/list")}) {
    for (header_list const& h : {header_list{}, bearer(tok)}) {
      reply const r = c_->get(target, h);
      EXPECT_TRUE(r.status == 400 || r.status == 404) << target << " " << r.status;
      if (r.status == 400) {
        EXPECT_EQ(pier_test::error_code(r), "NAME_INVALID") << target;
      }
    }
  }
  // On the token service the same names are refused.
  EXPECT_EQ(c_->get("/auth/token?scope=repository:%2e%2e/x:pull").status, 400);
}

TEST_F(Gate, PersonalAccessTokensAsPasswords) {
  start(options(auth::auth_mode::token));
  seed();
  auto const now = system_clock::now();
  auth::new_access_token const pat = auth::make_access_token("alice", "ci", now);
  ASSERT_TRUE(run(meta_.add_token(pat.record)));
  auth::new_access_token const old = auth::make_access_token(
      "alice", "old", now - std::chrono::hours(2), now - std::chrono::hours(1));
  ASSERT_TRUE(run(meta_.add_token(old.record)));

  auto token_with = [&](std::string_view user, std::string_view secret) {
    return c_->get("/auth/token?scope=repository:alice/private:pull", basic(user, secret));
  };
  reply const ok = token_with("alice", pat.token);
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(access_of(std::string(json_of(ok).at("token").as_string())),
            std::set<std::string>{"repository:alice/private:pull"});
  // As Basic credentials on the registry itself.
  EXPECT_EQ(c_->get(manifest_path("alice/private", "v1"), basic("alice", pat.token)).status, 200);
  // Someone else's name with alice's token: refused.
  EXPECT_EQ(token_with("bob", pat.token).status, 401);
  // Expired.
  EXPECT_EQ(token_with("alice", old.token).status, 401);
  // Revoked.
  ASSERT_TRUE(run(meta_.delete_token(pat.record.id)));
  EXPECT_EQ(token_with("alice", pat.token).status, 401);
  EXPECT_EQ(c_->get(manifest_path("alice/private", "v1"), basic("alice", pat.token)).status, 401);
}

TEST_F(Gate, RateLimitAnswers429BeforeCheckingThePassword) {
  auth::gate_options o = options(auth::auth_mode::token);
  o.login_limits.max_user_failures = 3;
  o.login_limits.max_address_failures = 100;
  start(o);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(c_->get("/auth/token", basic("alice", "guess" + std::to_string(i))).status, 401);
  for (header_list const& h : {basic("alice", "guess"), basic("alice", password("alice"))}) {
    reply const r = c_->get("/auth/token", h);
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(pier_test::error_code(r), "TOOMANYREQUESTS");
    int const retry = std::stoi(r.header_or_empty("Retry-After"));
    EXPECT_GT(retry, 0);
    EXPECT_LE(retry, 300);
  }
  // On the registry and the API the same lock holds.
  EXPECT_EQ(c_->get("/v2/", basic("alice", password("alice"))).status, 429);
  EXPECT_EQ(c_->get("/api/v1/users/alice", basic("alice", password("alice"))).status, 429);
  EXPECT_EQ(c_->request("POST", "/auth/token",
                        {{"Content-Type", "application/x-www-form-urlencoded"}},
                        "grant_type=password&username=alice&password=alice-password")
                .status,
            429);
  // Other users are not locked out, nor anonymous callers.
  EXPECT_EQ(c_->get("/auth/token", basic("bob", password("bob"))).status, 200);
  EXPECT_EQ(c_->get("/auth/token").status, 200);
}

TEST_F(Gate, RateLimitPerAddress) {
  auth::gate_options o = options(auth::auth_mode::basic);
  o.login_limits.max_user_failures = 100;
  o.login_limits.max_address_failures = 2;
  start(o);
  EXPECT_EQ(c_->get("/v2/", basic("alice", "x")).status, 401);
  EXPECT_EQ(c_->get("/v2/", basic("bob", "x")).status, 401);
  // A valid account does not reset the address's counter.
  reply const r = c_->get("/v2/", basic("carol", password("carol")));
  EXPECT_EQ(r.status, 429);
  EXPECT_TRUE(r.header("Retry-After"));
}

// --- basic mode ------------------------------------------------------------------------------

TEST_F(Gate, BasicChallengesAndRefusals) {
  start(options(auth::auth_mode::basic));
  seed();
  reply const base = c_->get("/v2/");
  EXPECT_EQ(base.status, 401);
  EXPECT_EQ(base.header_or_empty("WWW-Authenticate"), "Basic realm=\"pier\"");
  EXPECT_EQ(base.header_or_empty("Docker-Distribution-API-Version"), "registry/2.0");
  EXPECT_EQ(c_->get("/v2/", basic("alice", password("alice"))).status, 200);

  // Wrong password, unknown user, malformed credentials: 401 with the challenge.
  for (header_list const& h :
       {basic("alice", "wrong"), basic("nobody", "x"), header_list{{"Authorization", "Basic !!!"}},
        header_list{{"Authorization", "Digest x"}}}) {
    reply const r = c_->get("/v2/", h);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(pier_test::error_code(r), "UNAUTHORIZED");
    EXPECT_EQ(r.header_or_empty("WWW-Authenticate"), "Basic realm=\"pier\"");
  }

  image const img(30);
  // Anonymous push: 401.
  reply const anon = c_->request("POST", uploads("alice/app"));
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(pier_test::error_code(anon), "UNAUTHORIZED");
  // Push to another user's namespace: 403 DENIED.
  reply const other = c_->request("POST", uploads("alice/app"), basic("bob", password("bob")));
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(pier_test::error_code(other), "DENIED");
  EXPECT_EQ(push(*c_, basic("alice", password("alice")), "alice/app", "v1", img), 201);

  // Private pull: anonymous 401, non-member 403, a missing repository the same.
  EXPECT_EQ(c_->get(manifest_path("alice/private", "v1")).status, 401);
  reply const nonmember =
      c_->get(manifest_path("alice/private", "v1"), basic("bob", password("bob")));
  EXPECT_EQ(nonmember.status, 403);
  EXPECT_EQ(pier_test::error_code(nonmember), "DENIED");
  EXPECT_EQ(c_->get(manifest_path("alice/missing", "v1"), basic("bob", password("bob"))).status,
            403);
  // Public pull: no credentials needed.
  EXPECT_EQ(c_->get(manifest_path("alice/public", "v1")).status, 200);
  // Empty credentials (":"), as containers/image sends without any after a Basic challenge,
  // are anonymous, not a failed login.
  for (char const* empty : {"Basic Og==", "basic Og"}) {
    header_list const h{{"Authorization", empty}};
    EXPECT_EQ(c_->get(manifest_path("alice/public", "v1"), h).status, 200);
    reply const r = c_->get(manifest_path("alice/private", "v1"), h);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body.find("empty user"), std::string::npos);
  }
  // Catalog: anonymous callers see the public repositories.
  reply const cat = c_->get("/v2/_catalog");
  ASSERT_EQ(cat.status, 200);
  EXPECT_EQ(json::serialize(json_of(cat).at("repositories")), R"(["alice/public"])");
}

TEST_F(Gate, BasicOrganisationRoles) {
  start(options(auth::auth_mode::basic));
  seed();
  image const img(40);
  image const existing(3);
  auto as = [&](std::string_view user) { return basic(user, password(user)); };
  std::string const del = manifest_path("acme/app", existing.manifest.digest.str());
  // read: pull, not push nor delete.
  EXPECT_EQ(c_->get(manifest_path("acme/app", "v1"), as("carol")).status, 200);
  EXPECT_EQ(push(*c_, as("carol"), "acme/app", "v2", img), 403);
  EXPECT_EQ(c_->request("DELETE", del, as("carol")).status, 403);
  // write: pull and push, not delete.
  EXPECT_EQ(push(*c_, as("bob"), "acme/app", "v2", img), 201);
  reply const denied = c_->request("DELETE", del, as("bob"));
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(pier_test::error_code(denied), "DENIED");
  EXPECT_EQ(c_->request("DELETE", blob_path("acme/app", img.layer.digest), as("bob")).status, 403);
  // admin: delete too.
  EXPECT_EQ(c_->request("DELETE", del, as("dave")).status, 202);
  // An unnamespaced repository belongs to the administrators.
  EXPECT_EQ(c_->get(manifest_path("base", "v1"), as("dave")).status, 403);
  EXPECT_EQ(c_->get(manifest_path("base", "v1"), as("root")).status, 200);
}

TEST_F(Gate, BasicMountFromUnreadableRepository) {
  start(options(auth::auth_mode::basic));
  seed();
  image const img(1);
  reply const r = c_->request(
      "POST", uploads("bob/app") + "?mount=" + img.layer.digest.str() + "&from=alice/private",
      basic("bob", password("bob")));
  EXPECT_EQ(r.status, 202);
  EXPECT_FALSE(run(meta_.is_linked("bob/app", img.layer.digest)).value());
  // The upload it started is a normal one: bob can finish it.
  reply const put =
      c_->request("PUT", r.header_or_empty("Location") + "?digest=" + img.layer.digest.str(),
                  basic("bob", password("bob")), img.layer.bytes);
  EXPECT_EQ(put.status, 201);
}

TEST_F(Gate, BasicDefaultVisibilityPublic) {
  auth::gate_options o = options(auth::auth_mode::basic);
  o.default_visibility = storage::visibility::public_;
  start(o);
  seed();
  ASSERT_TRUE(run(meta_.set_visibility("acme/app", storage::visibility::private_)));
  EXPECT_EQ(c_->get(manifest_path("alice/private", "v1")).status, 200); // never set: public
  EXPECT_EQ(c_->get(manifest_path("acme/app", "v1")).status, 401);      // set private
}

TEST_F(Gate, HtpasswdUsersAreAdministrators) {
  std::string const hash = auth::hash_password("file-password", {}, 4).value();
  auto file =
      std::make_shared<auth::htpasswd_users>(auth::parse_htpasswd("ops:" + hash + "\n").value());
  auth::gate_options o = options(auth::auth_mode::basic);
  o.users_file = file;
  start(o);
  image const img(50);
  EXPECT_EQ(push(*c_, basic("ops", "file-password"), "anyone/app", "v1", img), 201);
  EXPECT_EQ(c_->request("DELETE", manifest_path("anyone/app", img.manifest.digest.str()),
                        basic("ops", "file-password"))
                .status,
            202);
  // Users of the account store do not count when a file is given.
  EXPECT_EQ(c_->get("/v2/", basic("alice", password("alice"))).status, 401);
  EXPECT_EQ(c_->get("/v2/", basic("ops", "wrong")).status, 401);
  reply const api = c_->get("/api/v1/whoami", basic("ops", "file-password"));
  EXPECT_EQ(json::serialize(json_of(api)), R"({"name":"ops","admin":true,"orgs":[]})");

  // The file replaced (a reload): the next request sees the new users and passwords, and
  // a password verified before the change is not taken from the cache.
  std::string const new_hash = auth::hash_password("new-password", {}, 4).value();
  file->replace(auth::parse_htpasswd("ops:" + new_hash + "\nerin:" + hash + "\n").value());
  EXPECT_EQ(c_->get("/v2/", basic("ops", "file-password")).status, 401);
  EXPECT_EQ(c_->get("/v2/", basic("ops", "new-password")).status, 200);
  EXPECT_EQ(c_->get("/v2/", basic("erin", "file-password")).status, 200);
  file->replace(auth::parse_htpasswd("erin:" + hash + "\n").value());
  EXPECT_EQ(c_->get("/v2/", basic("ops", "new-password")).status, 401); // removed
}

TEST_F(Gate, HashingOnTheCallingThread) {
  auth::gate_options o = options(auth::auth_mode::basic);
  o.hash_threads = 0;
  start(o);
  EXPECT_EQ(c_->get("/v2/", basic("alice", password("alice"))).status, 200);
  EXPECT_EQ(c_->get("/v2/", basic("alice", "wrong")).status, 401);
  EXPECT_EQ(c_->get("/v2/", basic("nobody", "x")).status, 401);
}

TEST_F(Gate, TokenModeWithoutKey) {
  auth::gate_options o = options(auth::auth_mode::token);
  o.signing_key.reset();
  start(o);
  reply const r = c_->get("/auth/token");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(pier_test::error_code(r), "UNKNOWN");
  // Basic credentials still work on the registry.
  EXPECT_EQ(c_->get("/v2/", basic("alice", password("alice"))).status, 200);
}

TEST_F(Gate, PasswordChangeIsSeenDespiteTheCache) {
  start(options(auth::auth_mode::basic));
  EXPECT_EQ(c_->get("/v2/", basic("alice", password("alice"))).status, 200); // cached now
  storage::user_record u = run(meta_.get_user("alice")).value();
  u.password_hash = auth::hash_password("new-password", {}, 4).value();
  ASSERT_TRUE(run(meta_.update_user(u)));
  EXPECT_EQ(c_->get("/v2/", basic("alice", password("alice"))).status, 401);
  EXPECT_EQ(c_->get("/v2/", basic("alice", "new-password")).status, 200);
  // A deleted user is refused at once, cached or not.
  ASSERT_TRUE(run(meta_.delete_user("alice")));
  EXPECT_EQ(c_->get("/v2/", basic("alice", "new-password")).status, 401);
}

// --- the accounts API and other targets ------------------------------------------------------

TEST_F(Gate, AccountsApiGetsThePrincipal) {
  start(options(auth::auth_mode::token));
  reply const bob = c_->get("/api/v1/users/bob", basic("bob", password("bob")));
  ASSERT_EQ(bob.status, 200);
  EXPECT_EQ(json::serialize(json_of(bob)), R"({"name":"bob","admin":false,"orgs":["acme:2"]})");
  EXPECT_EQ(json::serialize(json_of(c_->get("/api/v1/users", basic("root", password("root"))))),
            R"({"name":"root","admin":true,"orgs":[]})");
  // Anonymous callers reach it as the empty principal; the API decides.
  EXPECT_EQ(json::serialize(json_of(c_->get("/api/v1/repositories/x"))),
            R"({"name":"","admin":false,"orgs":[]})");
  // A Bearer token is not the account: refused, with the Basic challenge.
  reply const tok = c_->get("/api/v1/orgs", bearer(token("", "dave")));
  EXPECT_EQ(tok.status, 401);
  EXPECT_EQ(tok.header_or_empty("WWW-Authenticate"), "Basic realm=\"pier\"");
  // Failures are 401 with a Basic challenge, in token mode too.
  for (header_list const& h : {basic("bob", "wrong"), bearer("x.y.z")}) {
    reply const r = c_->get("/api/v1/users", h);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.header_or_empty("WWW-Authenticate"), "Basic realm=\"pier\"");
  }
}

TEST_F(Gate, OtherTargetsNeedAnAdministrator) {
  start(options(auth::auth_mode::basic));
  EXPECT_EQ(c_->get("/v1/search").status, 401);
  EXPECT_EQ(c_->get("/v1/search", basic("alice", password("alice"))).status, 403);
  reply const r = c_->get("/v1/search", basic("root", password("root")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "reached /v1/search");
  // An administrator's access token needs the admin scope there.
  auto const now = system_clock::now();
  auth::new_access_token const pull = auth::make_access_token("root", "", now, {}, {"push"});
  auth::new_access_token const admin = auth::make_access_token("root", "", now, {}, {"admin"});
  ASSERT_TRUE(run(meta_.add_token(pull.record)));
  ASSERT_TRUE(run(meta_.add_token(admin.record)));
  EXPECT_EQ(c_->get("/v1/search", basic("root", pull.token)).status, 403);
  EXPECT_EQ(c_->get("/v1/search", basic("root", admin.token)).status, 200);
  // No token service in basic mode.
  EXPECT_EQ(c_->get("/auth/token").status, 404);
}

TEST_F(Gate, HostNamesTheRealmAndService) {
  auth::gate_options o = options(auth::auth_mode::token);
  start(o);
  // A Host that would make the realm point elsewhere is refused.
  std::string const req =
      "GET /v2/ HTTP/1.1\r\nHost: evil.example/\"x\r\nConnection: close\r\n\r\n";
  reply const bad = c_->raw(req);
  EXPECT_EQ(bad.status, 400);
  // Configured values win over the Host.
  server_.reset();
  o.realm = "https://auth.example.com/token";
  o.service = "registry.example.com";
  start(o);
  auto const ch = challenge(c_->get("/v2/"));
  EXPECT_EQ(ch.at("realm"), "https://auth.example.com/token");
  EXPECT_EQ(ch.at("service"), "registry.example.com");
  reply const t = c_->get("/auth/token?service=registry.example.com&scope=repository:alice/a:pull",
                          basic("alice", password("alice")));
  ASSERT_EQ(t.status, 200);
  std::string const tok(json_of(t).at("token").as_string());
  EXPECT_EQ(auth::verify_jwt(tok, *signing_key())->at("aud").as_string(), "registry.example.com");
  EXPECT_EQ(c_->get("/v2/", bearer(tok)).status, 200);
}

// Issue 10, item 9: without a configured realm, X-Forwarded-Host and -Proto name the realm
// only when a trusted proxy sends them; from anyone else they would let a client point the
// challenges other clients follow (with their passwords) at a server of its own.
TEST_F(Gate, ForwardedHeadersNameTheRealmOnlyFromTrustedProxies) {
  header_list const forwarded{{"X-Forwarded-Host", "evil.example"}, {"X-Forwarded-Proto", "https"}};
  auth::gate_options o = options(auth::auth_mode::token);
  // The test client connects from 127.0.0.1: not in this range, so not trusted.
  o.trusted_proxies = {*auth::address_range::parse("10.0.0.0/8")};
  start(o);
  EXPECT_EQ(challenge(c_->get("/v2/", forwarded)).at("realm"), realm);
  EXPECT_EQ(challenge(c_->get("/v2/")).at("realm"), realm);

  server_.reset();
  o.trusted_proxies.push_back(*auth::address_range::parse("127.0.0.0/8"));
  start(o);
  // A trusted proxy's headers name the realm; of a list, the client's end (the first).
  EXPECT_EQ(challenge(c_->get("/v2/", {{"X-Forwarded-Host", "registry.example:8443, inner"},
                                       {"X-Forwarded-Proto", "https, http"}}))
                .at("realm"),
            "https://registry.example:8443/auth/token");
  // Even a trusted proxy's values go into the header only when they are a host and a scheme.
  for (std::string_view bad : {"evil.example/\"x", "a\"b, c", "user@evil.example", "a b"}) {
    reply const r = c_->get(
        "/v2/", {{"X-Forwarded-Host", std::string(bad)}, {"X-Forwarded-Proto", "javascript"}});
    EXPECT_EQ(r.status, 401) << bad;
    EXPECT_EQ(challenge(r).at("realm"), realm) << bad;
  }
  EXPECT_EQ(challenge(c_->get("/v2/", {{"X-Forwarded-Host", "evil.example/x"}})).at("realm"),
            realm);

  // A configured realm wins over everything.
  server_.reset();
  o.realm = "https://auth.example.com/token";
  start(o);
  EXPECT_EQ(challenge(c_->get("/v2/", forwarded)).at("realm"), "https://auth.example.com/token");
}

// A Host with a quote or a comma would end the realm's quoted string and add parameters of
// its own: it is refused, and never reaches WWW-Authenticate.
TEST_F(Gate, HostThatWouldBreakTheChallengeIsRefused) {
  start(options(auth::auth_mode::token));
  for (std::string_view host : {"a\"b", "a,realm=x", "evil.example\",error=\"x", "a@b", "a b"}) {
    reply const r = c_->raw("GET /v2/ HTTP/1.1\r\nHost: " + std::string(host) +
                            "\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.status, 400) << host;
    EXPECT_EQ(r.header_or_empty("WWW-Authenticate"), "") << host;
  }
}

// Issue 10, item 1, as it was reproduced over HTTP: root pushes library/ubuntu:latest and
// makes it public; dave creates an organisation "library" and pushes over it. The namespace
// of a deleted user must not be his either.
TEST_F(Gate, NamespacesAreNotTakenOver) {
  using api_type =
      auth::accounts_api<storage::memory_metadata_store, storage::memory_metadata_store>;
  start(options(auth::auth_mode::token), auth::make_api_handler(std::make_shared<api_type const>(
                                             meta_, meta_, auth::accounts_api_options{.cost = 4})));
  header_list const root = basic("root", password("root"));
  header_list const dave = with(basic("dave", password("dave")),
                                {{"Content-Type", "application/json"}});
  image const official(80);
  ASSERT_EQ(push(*c_, root, "library/ubuntu", "latest", official), 201);
  ASSERT_EQ(c_->request("PUT", "/api/v1/repositories/library/ubuntu",
                        with(root, {{"Content-Type", "application/json"}}),
                        R"({"visibility":"public"})")
                .status,
            200);

  reply const claim = c_->request("POST", "/api/v1/orgs", dave, R"({"name":"library"})");
  EXPECT_EQ(claim.status, 409) << claim.body;
  EXPECT_EQ(push(*c_, dave, "library/ubuntu", "latest", image(81)), 403);
  reply const pulled =
      c_->get(manifest_path("library/ubuntu", "latest"), bearer(token("repository:library/ubuntu:pull")));
  EXPECT_EQ(pulled.status, 200);
  EXPECT_EQ(pulled.body, official.manifest.bytes);

  // erin's account cannot go while her repository holds an image...
  image const own(82);
  ASSERT_EQ(push(*c_, basic("erin", password("erin")), "erin/app", "v1", own), 201);
  reply const refused = c_->request("DELETE", "/api/v1/users/erin", root);
  EXPECT_EQ(refused.status, 409) << refused.body;
  // ... and once emptied and gone, her name is nobody's but an administrator's to give.
  ASSERT_EQ(c_->request("DELETE", manifest_path("erin/app", own.manifest.digest.str()), root).status,
            202);
  for (content const* b : {&own.cfg, &own.layer})
    ASSERT_EQ(c_->request("DELETE", blob_path("erin/app", b->digest), root).status, 202);
  ASSERT_EQ(c_->request("DELETE", "/api/v1/users/erin", root).status, 204);
  EXPECT_EQ(c_->request("POST", "/api/v1/orgs", dave, R"({"name":"erin"})").status, 409);
  EXPECT_EQ(push(*c_, dave, "erin/app", "v2", image(83)), 403);
  EXPECT_EQ(c_->request("PUT", "/api/v1/repositories/erin/app", dave, R"({"visibility":"public"})")
                .status,
            403);
}

// The accounts API itself behind the gate: what a user does there is what the gate then
// enforces.
TEST_F(Gate, WithTheAccountsApi) {
  using api_type =
      auth::accounts_api<storage::memory_metadata_store, storage::memory_metadata_store>;
  start(options(auth::auth_mode::token), auth::make_api_handler(std::make_shared<api_type const>(
                                             meta_, meta_, auth::accounts_api_options{.cost = 4})));
  seed();
  header_list const alice = basic("alice", password("alice"));
  header_list const json_body{{"Content-Type", "application/json"}};

  // Anonymous callers get the API's 401, with the Basic challenge.
  reply const anon = c_->get("/api/v1/users");
  EXPECT_EQ(anon.status, 401);
  EXPECT_EQ(anon.header_or_empty("WWW-Authenticate"), "Basic realm=\"pier\"");

  // A personal access token made through the API is a password at the token service.
  reply const made = c_->request("POST", "/api/v1/users/alice/tokens", with(alice, json_body),
                                 R"({"description":"ci"})");
  ASSERT_EQ(made.status, 201) << made.body;
  std::string const pat(json_of(made).at("token").as_string());
  reply const t = c_->get("/auth/token?scope=repository:alice/private:pull", basic("alice", pat));
  ASSERT_EQ(t.status, 200) << t.body;
  std::string const tok(json_of(t).at("token").as_string());
  EXPECT_EQ(c_->get(manifest_path("alice/private", "v1"), bearer(tok)).status, 200);
  // The token's Bearer JWT does not work on the API.
  EXPECT_EQ(c_->get("/api/v1/users/alice", bearer(tok)).status, 401);

  // Revoked through the API: refused at once.
  std::string const id(json_of(made).at("id").as_string());
  EXPECT_EQ(c_->request("DELETE", "/api/v1/users/alice/tokens/" + id, alice).status, 204);
  EXPECT_EQ(c_->get("/auth/token", basic("alice", pat)).status, 401);

  // alice makes her repository public: anonymous tokens now pull it.
  std::string const anon_scope = "repository:alice/private:pull";
  EXPECT_TRUE(access_of(token(anon_scope)).empty());
  reply const pub = c_->request("PUT", "/api/v1/repositories/alice/private", with(alice, json_body),
                                R"({"visibility":"public"})");
  ASSERT_EQ(pub.status, 200) << pub.body;
  EXPECT_EQ(c_->get(manifest_path("alice/private", "v1"), bearer(token(anon_scope))).status, 200);

  // An organisation alice creates is hers to push to.
  EXPECT_EQ(
      c_->request("POST", "/api/v1/orgs", with(alice, json_body), R"({"name":"wonder"})").status,
      201);
  EXPECT_EQ(push(*c_, alice, "wonder/app", "v1", image(60)), 201);
  EXPECT_EQ(push(*c_, basic("bob", password("bob")), "wonder/app", "v2", image(61)), 403);
}

// --- credentials and what they may change (issue 10) ------------------------------------------

// The real accounts API behind the gate.
auth::api_handler accounts_api_over(storage::memory_metadata_store& meta) {
  using api_type =
      auth::accounts_api<storage::memory_metadata_store, storage::memory_metadata_store>;
  return auth::make_api_handler(
      std::make_shared<api_type const>(meta, meta, auth::accounts_api_options{.cost = 4}));
}

header_list const json_type{{"Content-Type", "application/json"}};

// A token from /auth/token carries registry access only: whatever its scope (or none), and
// whoever its user, it changes nothing of an account.
TEST_F(Gate, RegistryTokensCannotChangeTheAccount) {
  start(options(auth::auth_mode::token), accounts_api_over(meta_));
  seed();
  std::string const hash_before = run(meta_.get_user("bob")).value().password_hash;
  for (std::string const& tok : {token("repository:bob/a:pull", "bob"), token("", "bob"),
                                 token("repository:bob/a:pull,push,delete", "bob")}) {
    reply const pat = c_->request("POST", "/api/v1/users/bob/tokens", with(bearer(tok), json_type),
                                  R"({"scopes":["admin"]})");
    EXPECT_EQ(pat.status, 401) << pat.body;
    EXPECT_EQ(pat.header_or_empty("WWW-Authenticate"), "Basic realm=\"pier\"");
    EXPECT_EQ(c_->request("PUT", "/api/v1/users/bob/password", with(bearer(tok), json_type),
                          R"({"password":"taken-over"})")
                  .status,
              401);
    EXPECT_EQ(c_->request("DELETE", "/api/v1/users/bob", bearer(tok)).status, 401);
    EXPECT_EQ(c_->get("/api/v1/users/bob/tokens", bearer(tok)).status, 401);
  }
  // Not even an administrator's.
  std::string const root_tok = token("", "root");
  EXPECT_EQ(c_->request("DELETE", "/api/v1/users/bob", bearer(root_tok)).status, 401);
  EXPECT_EQ(c_->request("POST", "/api/v1/users", with(bearer(root_tok), json_type),
                        R"({"name":"mallory","password":"mallory-password"})")
                .status,
            401);
  EXPECT_TRUE(run(meta_.list_tokens("bob")).value().empty());
  EXPECT_EQ(run(meta_.get_user("bob")).value().password_hash, hash_before);
  EXPECT_EQ(run(meta_.get_user("mallory")).error(), storage::storage_error::user_unknown);
  // A pull token does not push.
  EXPECT_EQ(push(*c_, bearer(token("repository:bob/a:pull", "bob")), "bob/a", "v1", image(70)),
            401);
  // With the password, the owner can.
  EXPECT_EQ(c_->request("PUT", "/api/v1/users/bob/password",
                        with(basic("bob", password("bob")), json_type),
                        R"({"password":"bob-new-password"})")
                .status,
            204);
}

// A personal access token may do what its scopes say of what its user may do, and never
// change the account.
TEST_F(Gate, AccessTokenScopesLimitWhatTheyDo) {
  start(options(auth::auth_mode::token), accounts_api_over(meta_));
  seed();
  header_list const bob = basic("bob", password("bob"));
  auto make = [&](std::string_view user, char const* body) {
    reply const r = c_->request("POST", "/api/v1/users/" + std::string(user) + "/tokens",
                                with(basic(user, password(user)), json_type), body);
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(json_of(r).at("token").as_string());
  };
  std::string const pull = make("bob", R"({"scopes":["pull"]})");
  std::string const plain = make("bob", "{}"); // pull
  std::string const pusher = make("bob", R"({"scopes":["push"],"expires_in":"1h"})");
  std::string const admin = make("bob", R"({"scopes":["admin"]})");
  auth::new_access_token old = auth::make_access_token("bob", "old", system_clock::now());
  old.record.scopes.clear(); // stored before scopes existed
  ASSERT_TRUE(run(meta_.add_token(old.record)));
  auto token_with = [&](std::string const& pat, std::string_view scope) {
    reply const r = c_->get("/auth/token?scope=" + std::string(scope), basic("bob", pat));
    EXPECT_EQ(r.status, 200) << r.body;
    return access_of(std::string(json_of(r).at("token").as_string()));
  };

  // The registry: pull reads, push also pushes, an old token keeps its push.
  for (std::string const* t : {&pull, &plain}) {
    EXPECT_EQ(c_->get(manifest_path("acme/app", "v1"), basic("bob", *t)).status, 200);
    EXPECT_EQ(push(*c_, basic("bob", *t), "acme/app", "v2", image(71)), 403);
    EXPECT_EQ(token_with(*t, "repository:acme/app:pull,push"),
              std::set<std::string>{"repository:acme/app:pull"});
  }
  EXPECT_EQ(push(*c_, basic("bob", pusher), "acme/app", "v2", image(71)), 201);
  EXPECT_EQ(token_with(pusher, "repository:bob/x:pull,push,delete"),
            std::set<std::string>{"repository:bob/x:pull,push"});
  EXPECT_EQ(push(*c_, basic("bob", old.token), "bob/x", "v1", image(72)), 201);
  std::string const x = manifest_path("bob/x", image(72).manifest.digest.str());
  EXPECT_EQ(c_->request("DELETE", x, basic("bob", pusher)).status, 403);
  EXPECT_EQ(token_with(admin, "repository:bob/x:pull,push,delete"),
            std::set<std::string>{"repository:bob/x:pull,push,delete"});

  // The API: reads with any scope.
  EXPECT_EQ(c_->get("/api/v1/users/bob", basic("bob", pull)).status, 200);
  EXPECT_EQ(c_->get("/api/v1/users/bob/tokens", basic("bob", pull)).status, 200);
  // Account changes never with a token, whatever its scopes.
  std::string const hash_before = run(meta_.get_user("bob")).value().password_hash;
  std::string const some_id = run(meta_.list_tokens("bob")).value().front().id;
  for (std::string const* t :
       std::initializer_list<std::string const*>{&pull, &pusher, &admin, &old.token}) {
    header_list const h = basic("bob", *t);
    reply const pw = c_->request("PUT", "/api/v1/users/bob/password", with(h, json_type),
                                 R"({"password":"taken-over"})");
    EXPECT_EQ(pw.status, 403);
    EXPECT_EQ(pier_test::error_code(pw), "DENIED");
    EXPECT_EQ(c_->request("POST", "/api/v1/users/bob/tokens", with(h, json_type),
                          R"({"scopes":["admin"]})")
                  .status,
              403);
    EXPECT_EQ(c_->request("DELETE", "/api/v1/users/bob/tokens/" + some_id, h).status, 403);
  }
  EXPECT_EQ(run(meta_.get_user("bob")).value().password_hash, hash_before);
  EXPECT_EQ(run(meta_.list_tokens("bob")).value().size(), 5u);
  // Organisations, members, visibility: the admin scope only.
  for (std::string const* t :
       std::initializer_list<std::string const*>{&pull, &pusher, &old.token}) {
    EXPECT_EQ(c_->request("PUT", "/api/v1/repositories/bob/x", with(basic("bob", *t), json_type),
                          R"({"visibility":"public"})")
                  .status,
              403);
    EXPECT_EQ(
        c_->request("POST", "/api/v1/orgs", with(basic("bob", *t), json_type), R"({"name":"bobs"})")
            .status,
        403);
  }
  EXPECT_EQ(c_->request("PUT", "/api/v1/repositories/bob/x", with(basic("bob", admin), json_type),
                        R"({"visibility":"public"})")
                .status,
            200);
  EXPECT_EQ(c_->request("POST", "/api/v1/orgs", with(basic("bob", admin), json_type),
                        R"({"name":"bobs"})")
                .status,
            201);
  EXPECT_EQ(c_->request("DELETE", x, basic("bob", admin)).status, 202);

  // An administrator's admin-scoped token changes no account either.
  std::string const root_admin = make("root", R"({"scopes":["admin"]})");
  EXPECT_EQ(c_->request("DELETE", "/api/v1/users/bob", basic("root", root_admin)).status, 403);
  EXPECT_EQ(c_->request("PUT", "/api/v1/users/bob/password",
                        with(basic("root", root_admin), json_type), R"({"password":"taken-over"})")
                .status,
            403);
  EXPECT_EQ(c_->request("POST", "/api/v1/users", with(basic("root", root_admin), json_type),
                        R"({"name":"mallory","password":"mallory-password"})")
                .status,
            403);
  // Another user's credentials, or none, do not act on bob.
  std::string const alice_admin = make("alice", R"({"scopes":["admin"]})");
  for (header_list const& h : {basic("alice", password("alice")), basic("alice", alice_admin),
                               basic("bob", alice_admin), header_list{}}) {
    reply const r = c_->request("PUT", "/api/v1/users/bob/password", with(h, json_type),
                                R"({"password":"taken-over"})");
    EXPECT_TRUE(r.status == 401 || r.status == 403) << r.status;
    EXPECT_TRUE(c_->request("DELETE", "/api/v1/users/bob", h).status / 100 == 4);
  }
  EXPECT_EQ(run(meta_.get_user("bob")).value().password_hash, hash_before);
  EXPECT_EQ(run(meta_.list_tokens("bob")).value().size(), 5u);
}

// A registry token outlives a deleted account only for reading: pushes and deletes check
// that the account it was issued to still exists (and is not a new one of the same name).
TEST_F(Gate, ADeletedUsersTokenNoLongerChangesAnything) {
  start(options(auth::auth_mode::token));
  // erin pushes into an organisation's namespace: her own must be empty for her to go.
  ASSERT_TRUE(run(meta_.set_member("acme", "erin", storage::role::admin)));
  std::string const tok = token("repository:acme/erin:pull,push,delete", "erin");
  EXPECT_EQ(push(*c_, bearer(tok), "acme/erin", "v1", image(80)), 201);
  ASSERT_TRUE(run(meta_.delete_user("erin")));
  EXPECT_EQ(push(*c_, bearer(tok), "acme/erin", "v2", image(81)), 401);
  reply const del = c_->request(
      "DELETE", manifest_path("acme/erin", image(80).manifest.digest.str()), bearer(tok));
  EXPECT_EQ(del.status, 401);
  EXPECT_EQ(challenge(del)["error"], "invalid_token");

  // A new account of that name is not the one the token was issued to.
  storage::user_record again{"erin", auth::hash_password(password("erin"), {}, 4).value(), false,
                             system_clock::now()};
  ASSERT_TRUE(run(meta_.create_user(again)));
  EXPECT_EQ(push(*c_, bearer(tok), "acme/erin", "v2", image(81)), 401);
  // Its own tokens push.
  EXPECT_EQ(push(*c_, bearer(token("repository:erin/app:pull,push", "erin")), "erin/app", "v2",
                 image(81)),
            201);
}

// Failed and refused logins reach the hook, with the user and the address, never the
// password.
TEST_F(Gate, FailedLoginsAndLockoutsAreReported) {
  struct seen {
    auth::login_event::kind what;
    std::string user;
    std::string address;
    std::int64_t retry_after;
  };
  auto events = std::make_shared<std::vector<seen>>();
  auto mutex = std::make_shared<std::mutex>();
  auth::gate_options o = options(auth::auth_mode::basic);
  o.login_limits.max_user_failures = 2;
  o.login_limits.max_address_failures = 100;
  o.on_login = [events, mutex](auth::login_event const& e) {
    std::lock_guard const lock(*mutex);
    events->push_back({e.what, std::string(e.user), std::string(e.address), e.retry_after.count()});
  };
  start(o);
  EXPECT_EQ(c_->get("/v2/", basic("alice", "wrong-one")).status, 401);
  EXPECT_EQ(c_->get("/v2/", basic("alice", "wrong-two")).status, 401);
  EXPECT_EQ(c_->get("/v2/", basic("alice", password("alice"))).status, 429);
  EXPECT_EQ(c_->get("/v2/", basic("bob", password("bob"))).status, 200); // not reported
  EXPECT_EQ(c_->get("/v2/").status, 401);                                // nor anonymous
  std::lock_guard const lock(*mutex);
  ASSERT_EQ(events->size(), 3u);
  using kind = auth::login_event::kind;
  EXPECT_EQ((*events)[0].what, kind::failed);
  EXPECT_EQ((*events)[0].retry_after, 0);
  EXPECT_EQ((*events)[1].what, kind::locked_out);
  EXPECT_GT((*events)[1].retry_after, 0);
  EXPECT_EQ((*events)[2].what, kind::refused);
  EXPECT_GT((*events)[2].retry_after, 0);
  for (seen const& e : *events) {
    EXPECT_EQ(e.user, "alice");
    EXPECT_EQ(e.address, "127.0.0.1");
  }
}

} // namespace gate_test
