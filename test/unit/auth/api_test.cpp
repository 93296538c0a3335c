// SPDX-License-Identifier: Apache-2.0
#include <pier/auth/api.hpp>

#include <gtest/gtest.h>

#include "../storage/test_util.hpp"

#include <pier/auth/access_token.hpp>
#include <pier/auth/password.hpp>
#include <pier/storage/memory.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace api_test {

namespace auth = pier::auth;
namespace http = pier::http;
namespace json = boost::json;
namespace storage = pier::storage;
using store_type = storage::memory_metadata_store;
using api_type = auth::accounts_api<store_type, store_type>;

using pier_test::run;

// What a test looks at in a response.
struct reply {
  int status = 0;
  std::string body;
  http::fields headers;

  json::value json() const { return json::parse(body); }
  std::string header(std::string_view name) const {
    auto const v = headers.find(name);
    return v ? std::string(*v) : std::string();
  }
  // The code of the first error, or "" when the body is no error list.
  std::string code() const {
    json::error_code ec;
    json::value const v = json::parse(body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("errors"))
      return {};
    return std::string(v.at("errors").at(0).at("code").as_string());
  }
  std::string message() const {
    return std::string(json::parse(body).at("errors").at(0).at("message").as_string());
  }
};

std::string const good_password = "correct horse";

// Users: root (admin), alice, bob, carol, dave; organisation acme with alice (admin), bob
// (write) and carol (read). Every response is checked for what must never be in it.
class AccountsApi : public ::testing::Test {
protected:
  AccountsApi() : AccountsApi(options()) {}
  explicit AccountsApi(auth::accounts_api_options o) : api_(store_, store_, o) {
    hash_ = auth::hash_password(good_password, auth::password_algorithm::bcrypt, 4).value();
    for (std::string name : {"root", "alice", "bob", "carol", "dave"}) {
      storage::user_record u;
      u.name = name;
      u.password_hash = hash_;
      u.admin = name == "root";
      u.created = std::chrono::system_clock::from_time_t(1700000000);
      EXPECT_TRUE(run(io_, store_.create_user(u)));
    }
    EXPECT_TRUE(run(io_, store_.create_org({"acme", std::chrono::system_clock::now()})));
    EXPECT_TRUE(run(io_, store_.set_member("acme", "alice", storage::role::admin)));
    EXPECT_TRUE(run(io_, store_.set_member("acme", "bob", storage::role::write)));
    EXPECT_TRUE(run(io_, store_.set_member("acme", "carol", storage::role::read)));
  }

  static auth::accounts_api_options options() {
    auth::accounts_api_options o;
    o.cost = 4; // the cheapest bcrypt: these tests are about the rules, not the hash
    return o;
  }

  // The principal the gate would give for `name`: admin flag and memberships from the store;
  // empty name for anonymous.
  auth::principal as(std::string const& name) {
    auth::principal p;
    if (name.empty())
      return p;
    p.name = name;
    if (auto u = run(io_, store_.get_user(name)))
      p.admin = u->admin;
    if (auto m = run(io_, store_.memberships(name)))
      p.memberships = std::move(*m);
    return p;
  }

  reply call(std::string method, std::string target, std::string const& who,
             std::optional<std::string> body = std::nullopt) {
    auth::principal const p = as(who);
    return call_as(std::move(method), std::move(target), p, std::move(body));
  }

  reply call_as(std::string method, std::string target, auth::principal const& p,
                std::optional<std::string> body = std::nullopt) {
    http::request_head head;
    head.set_method(std::move(method));
    head.set_target(std::move(target));
    head.set_version(11);
    http::string_body_reader reader(body.value_or(""));
    http::request req(std::move(head), reader, "127.0.0.1");
    http::response res = run(io_, api_.handle(req, p));
    reply out;
    out.status = res.status();
    out.headers = res.headers();
    if (auto const* s = std::get_if<std::string>(&res.body()))
      out.body = *s;
    // Never a password, a hash or (outside token creation, checked there) a secret.
    EXPECT_EQ(out.body.find(good_password), std::string::npos);
    EXPECT_EQ(out.body.find("$2"), std::string::npos);
    EXPECT_EQ(out.body.find("password_hash"), std::string::npos);
    if (out.status >= 400) {
      EXPECT_EQ(out.header("Content-Type"), "application/json") << out.body;
      EXPECT_FALSE(out.code().empty()) << out.body;
    }
    EXPECT_EQ(out.header("Cache-Control"), "no-store");
    return out;
  }

  std::vector<std::string> names(json::value const& list, std::string_view key = "name") {
    std::vector<std::string> out;
    for (json::value const& v : list.as_array())
      out.emplace_back(v.at(key).as_string());
    return out;
  }

  std::optional<storage::role> role_of(std::string const& org, std::string const& user) {
    std::vector<storage::membership> const members = run(io_, store_.members(org)).value();
    for (storage::membership const& m : members)
      if (m.user == user)
        return m.level;
    return std::nullopt;
  }

  asio::io_context io_;
  store_type store_;
  api_type api_;
  std::string hash_;
};

void expect_error(reply const& r, int status, std::string_view code) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.code(), code) << r.body;
  // Anonymous callers are told how to authenticate; nobody else is asked to.
  if (status == 401)
    EXPECT_EQ(r.header("WWW-Authenticate"), R"(Basic realm="pier")");
  else
    EXPECT_EQ(r.header("WWW-Authenticate"), "");
}

// ---- Routing -----------------------------------------------------------------------------

TEST(AccountsApiDoc, Example) {
  pier::storage::memory_metadata_store store; // an AccountStore and a MetadataStore
  pier::auth::accounts_api api(store, store,
                               {.default_visibility = pier::storage::visibility::public_});
  EXPECT_TRUE(api.handles("/api/v1/users/alice/tokens"));
  EXPECT_TRUE(api.handles("/api/v1/users/%2e%2e")); // ours: refused with 400 NAME_INVALID
  EXPECT_FALSE(api.handles("/v2/_catalog"));
}

TEST_F(AccountsApi, HandlesItsRoutesOnly) {
  EXPECT_TRUE(api_type::handles("/api/v1/users"));
  EXPECT_TRUE(api_type::handles("/api/v1/users?n=1"));
  EXPECT_TRUE(api_type::handles("/api/v1/users/alice/tokens/0123456789abcdef"));
  EXPECT_TRUE(api_type::handles("/api/v1/orgs/acme/members/bob"));
  EXPECT_TRUE(api_type::handles("/api/v1/repositories/acme/app/sub"));
  EXPECT_TRUE(api_type::handles("/api/v1/users/..")); // ours, and refused with 400
  EXPECT_FALSE(api_type::handles("/api/v1/gc"));
  EXPECT_FALSE(api_type::handles("/api/v1/users/alice/other"));
  EXPECT_FALSE(api_type::handles("/api/v1/repositories"));
  EXPECT_FALSE(api_type::handles("/api/v2/users"));
  EXPECT_FALSE(api_type::handles("/v2/"));
  EXPECT_FALSE(api_type::handles("/api/v1/users/%zz"));

  expect_error(call("GET", "/api/v1/gc", "root"), 404, "NOT_FOUND");
  expect_error(call("GET", "/api/v1/users/alice/other", "root"), 404, "NOT_FOUND");
}

TEST_F(AccountsApi, WrongMethodIs405WithAllow) {
  struct {
    char const* method;
    char const* target;
    char const* allow;
  } const cases[] = {
      {"PATCH", "/api/v1/users", "GET, HEAD, POST"},
      {"PUT", "/api/v1/users/alice", "GET, HEAD, DELETE"},
      {"GET", "/api/v1/users/alice/password", "PUT"},
      {"DELETE", "/api/v1/users/alice/tokens", "GET, HEAD, POST"},
      {"GET", "/api/v1/users/alice/tokens/0123456789abcdef", "DELETE"},
      {"DELETE", "/api/v1/orgs", "GET, HEAD, POST"},
      {"PUT", "/api/v1/orgs/acme", "GET, HEAD, DELETE"},
      {"POST", "/api/v1/orgs/acme/members", "GET, HEAD"},
      {"GET", "/api/v1/orgs/acme/members/bob", "PUT, DELETE"},
      {"DELETE", "/api/v1/repositories/acme/app", "GET, HEAD, PUT"},
  };
  for (auto const& c : cases) {
    reply const r = call(c.method, c.target, "root");
    expect_error(r, 405, "UNSUPPORTED");
    EXPECT_EQ(r.header("Allow"), c.allow) << c.method << ' ' << c.target;
  }
}

TEST_F(AccountsApi, TraversalAndInvalidNamesAre400BeforeAnythingElse) {
  for (char const* target : {
           "/api/v1/users/..",
           "/api/v1/users/%2e%2e",
           "/api/v1/users/%2E%2E/password",
           "/api/v1/users/../users",
           "/api/v1/users/Alice",
           "/api/v1/users/a%2Fb",
           "/api/v1/users/",
           "/api/v1/orgs/../x/members",
           "/api/v1/orgs/acme/members/..",
           "/api/v1/orgs/acme/members/%2e%2e",
           "/api/v1/repositories/acme/../bob/app",
           "/api/v1/repositories/acme/%2e%2e/bob",
           "/api/v1/repositories/..",
           "/api/v1/repositories/Acme/app",
           "/api/v1/repositories/acme//app",
       }) {
    // Anonymous callers, and methods a route does not have: the name is refused first.
    expect_error(call("GET", target, ""), 400, "NAME_INVALID");
    expect_error(call("DELETE", target, "root"), 400, "NAME_INVALID");
  }
  expect_error(call("DELETE", "/api/v1/users/alice/tokens/NOT-AN-ID", "alice"), 400,
               "NAME_INVALID");
  expect_error(call("DELETE", "/api/v1/users/alice/tokens/..", "alice"), 400, "NAME_INVALID");
}

// ---- Users -------------------------------------------------------------------------------

TEST_F(AccountsApi, ListUsers) {
  reply const r = call("GET", "/api/v1/users", "root");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  json::value const v = r.json();
  EXPECT_EQ(names(v.at("users")),
            (std::vector<std::string>{"alice", "bob", "carol", "dave", "root"}));
  json::object const& alice = v.at("users").at(0).as_object();
  EXPECT_EQ(alice.size(), 3u);
  EXPECT_EQ(alice.at("admin"), false);
  EXPECT_EQ(alice.at("created"), "2023-11-14T22:13:20Z");
  EXPECT_EQ(v.at("users").at(4).at("admin"), true);
  EXPECT_TRUE(r.header("Link").empty());
}

TEST_F(AccountsApi, ListUsersIsForAdminsOnly) {
  expect_error(call("GET", "/api/v1/users", ""), 401, "UNAUTHORIZED");
  expect_error(call("GET", "/api/v1/users", "alice"), 403, "DENIED");
}

TEST_F(AccountsApi, ListUsersPaginatesWithLink) {
  reply r = call("GET", "/api/v1/users?n=2", "root");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(names(r.json().at("users")), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(r.header("Link"), R"(</api/v1/users?n=2&last=bob>; rel="next")");

  r = call("GET", "/api/v1/users?n=2&last=bob", "root");
  EXPECT_EQ(names(r.json().at("users")), (std::vector<std::string>{"carol", "dave"}));
  EXPECT_EQ(r.header("Link"), R"(</api/v1/users?n=2&last=dave>; rel="next")");

  r = call("GET", "/api/v1/users?n=2&last=dave", "root");
  EXPECT_EQ(names(r.json().at("users")), (std::vector<std::string>{"root"}));
  EXPECT_TRUE(r.header("Link").empty());

  r = call("GET", "/api/v1/users?n=0", "root");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.json().at("users").as_array().empty());
  EXPECT_TRUE(r.header("Link").empty());

  expect_error(call("GET", "/api/v1/users?n=two", "root"), 400, "PAGINATION_NUMBER_INVALID");
  expect_error(call("GET", "/api/v1/users?n=-1", "root"), 400, "PAGINATION_NUMBER_INVALID");
}

class SmallPages : public AccountsApi {
protected:
  SmallPages() : AccountsApi(small()) {}
  static auth::accounts_api_options small() {
    auth::accounts_api_options o = options();
    o.max_page_size = 3;
    o.max_body = 100;
    return o;
  }
};

TEST_F(SmallPages, PageSizeIsCappedWithOrWithoutN) {
  for (char const* target : {"/api/v1/users", "/api/v1/users?n=1000"}) {
    reply const r = call("GET", target, "root");
    EXPECT_EQ(names(r.json().at("users")), (std::vector<std::string>{"alice", "bob", "carol"}));
    EXPECT_EQ(r.header("Link"), R"(</api/v1/users?n=3&last=carol>; rel="next")");
  }
}

TEST_F(SmallPages, BodyOverMaxIs413) {
  std::string const body = R"({"name":"erin","password":")" + std::string(100, 'x') + R"("})";
  expect_error(call("POST", "/api/v1/users", "root", body), 413, "SIZE_INVALID");
  EXPECT_FALSE(run(io_, store_.get_user("erin")));
  // Exactly at the limit is read.
  std::string const prefix = R"({"name":"erin","password":")";
  std::string const fits = prefix + std::string(100 - prefix.size() - 2, 'x') + R"("})";
  ASSERT_EQ(fits.size(), 100u);
  EXPECT_EQ(call("POST", "/api/v1/users", "root", fits).status, 201);
}

TEST_F(AccountsApi, CreateUser) {
  reply const r =
      call("POST", "/api/v1/users", "root", R"({"name":"erin","password":"correct horse"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Location"), "/api/v1/users/erin");
  json::object const u = r.json().as_object();
  EXPECT_EQ(u.size(), 3u);
  EXPECT_EQ(u.at("name"), "erin");
  EXPECT_EQ(u.at("admin"), false);
  EXPECT_TRUE(std::regex_match(std::string(u.at("created").as_string()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));

  storage::user_record const stored = run(io_, store_.get_user("erin")).value();
  EXPECT_FALSE(stored.admin);
  EXPECT_TRUE(stored.password_hash.starts_with("$2y$04$"));
  EXPECT_TRUE(auth::verify_password(good_password, stored.password_hash));

  reply const admin = call("POST", "/api/v1/users", "root",
                           R"({"name":"frank","password":"12345678","admin":true})");
  ASSERT_EQ(admin.status, 201);
  EXPECT_EQ(admin.json().at("admin"), true);
  EXPECT_TRUE(run(io_, store_.get_user("frank")).value().admin);
}

TEST_F(AccountsApi, CreateUserIsForAdminsOnly) {
  std::string const body = R"({"name":"erin","password":"correct horse"})";
  expect_error(call("POST", "/api/v1/users", "", body), 401, "UNAUTHORIZED");
  expect_error(call("POST", "/api/v1/users", "alice", body), 403, "DENIED");
  EXPECT_FALSE(run(io_, store_.get_user("erin")));
}

TEST_F(AccountsApi, CreateUserWithATakenNameIs409) {
  for (char const* name : {"alice", "acme"}) {
    reply const r = call("POST", "/api/v1/users", "root",
                         R"({"name":")" + std::string(name) + R"(","password":"12345678"})");
    expect_error(r, 409, "NAME_TAKEN");
    EXPECT_NE(r.message().find(name), std::string::npos);
  }
  EXPECT_EQ(run(io_, store_.get_user("alice")).value().password_hash, hash_);
}

TEST_F(AccountsApi, CreateUserWithAnInvalidNameIs400) {
  for (char const* name : {"Erin", "..", "a/b", "", "-x", "erin!", " erin"}) {
    std::string const body =
        json::serialize(json::object{{"name", name}, {"password", "12345678"}});
    expect_error(call("POST", "/api/v1/users", "root", body), 400, "NAME_INVALID");
  }
  std::string const long_name(65, 'a');
  expect_error(call("POST", "/api/v1/users", "root",
                    R"({"name":")" + long_name + R"(","password":"12345678"})"),
               400, "NAME_INVALID");
  EXPECT_EQ(run(io_, store_.user_count()).value(), 5u);
}

TEST_F(AccountsApi, PasswordsHaveAtLeastEightCharacters) {
  reply const r = call("POST", "/api/v1/users", "root", R"({"name":"erin","password":"1234567"})");
  expect_error(r, 400, "UNSUPPORTED");
  EXPECT_NE(r.message().find("at least 8 characters"), std::string::npos) << r.message();
  // Characters, not bytes: seven two-byte characters are too short, eight are enough.
  expect_error(call("POST", "/api/v1/users", "root",
                    R"({"name":"erin","password":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"})"),
               400, "UNSUPPORTED");
  EXPECT_EQ(call("POST", "/api/v1/users", "root",
                 R"({"name":"erin","password":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"})")
                .status,
            201);
  // bcrypt's 72 bytes, and the NUL that crypt(3) cannot take: 400, not 500.
  expect_error(call("POST", "/api/v1/users", "root",
                    R"({"name":"frank","password":")" + std::string(73, 'x') + R"("})"),
               400, "UNSUPPORTED");
  expect_error(
      call("POST", "/api/v1/users", "root", R"({"name":"frank","password":"abcd\u0000efgh"})"), 400,
      "UNSUPPORTED");
  EXPECT_FALSE(run(io_, store_.get_user("frank")));
}

TEST_F(AccountsApi, MalformedBodiesAre400) {
  for (char const* body : {
           "",
           "{",
           "[]",
           "\"name\"",
           "null",
           R"({"name":"erin","password":"12345678"} x)",
           R"({"name":"erin","password":"12345678",})",
           R"({'name':'erin'})",
           R"({"name":"erin","name":"frank","password":"12345678"})", // duplicate key
           R"({"name":5,"password":"12345678"})",                     // wrong types
           R"({"name":"erin","password":12345678})",
           R"({"name":"erin","password":null})",
           R"({"name":"erin","password":"12345678","admin":"yes"})",
           R"({"name":"erin","password":"12345678","admin":1})",
           R"({"name":["erin"],"password":"12345678"})",
           R"({"name":"erin"})", // missing member
           R"({"password":"12345678"})",
           R"({"name":"erin","password":"12345678","role":"admin"})", // unknown member
           R"({"name":"erin","password":"12345678","x":{"y":{"z":[[[[[[[[1]]]]]]]]}}})",
           "{\"name\":\"erin\",\"password\":\"1234567\xff\"}", // not UTF-8
       }) {
    expect_error(call("POST", "/api/v1/users", "root", body), 400, "UNSUPPORTED");
  }
  EXPECT_EQ(run(io_, store_.user_count()).value(), 5u);
  reply const dup =
      call("POST", "/api/v1/users", "root", R"({"name":"erin","name":"x","password":"12345678"})");
  EXPECT_NE(dup.message().find("repeats"), std::string::npos);
  reply const unknown =
      call("POST", "/api/v1/users", "root", R"({"name":"erin","password":"12345678","rol":1})");
  EXPECT_NE(unknown.message().find("\"rol\""), std::string::npos);
}

TEST_F(AccountsApi, GetUserSelfOrAdmin) {
  reply r = call("GET", "/api/v1/users/alice", "alice");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json(),
            json::parse(R"({"name":"alice","admin":false,"created":"2023-11-14T22:13:20Z"})"));
  EXPECT_EQ(call("HEAD", "/api/v1/users/alice", "alice").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/users/alice", "root").status, 200);

  expect_error(call("GET", "/api/v1/users/alice", "bob"), 403, "DENIED");
  expect_error(call("GET", "/api/v1/users/alice", ""), 401, "UNAUTHORIZED");
  // Whether a user exists is said to admins only.
  expect_error(call("GET", "/api/v1/users/nobody", "root"), 404, "NAME_UNKNOWN");
  expect_error(call("GET", "/api/v1/users/nobody", "bob"), 403, "DENIED");
  EXPECT_EQ(call("GET", "/api/v1/users/nobody", "bob").body,
            call("GET", "/api/v1/users/alice", "bob").body);
}

TEST_F(AccountsApi, DeleteUser) {
  expect_error(call("DELETE", "/api/v1/users/bob", "alice"), 403, "DENIED");
  expect_error(call("DELETE", "/api/v1/users/bob", "bob"), 403, "DENIED");
  expect_error(call("DELETE", "/api/v1/users/bob", ""), 401, "UNAUTHORIZED");
  EXPECT_TRUE(run(io_, store_.get_user("bob")));

  reply const r = call("DELETE", "/api/v1/users/bob", "root");
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(run(io_, store_.get_user("bob")).error(), storage::storage_error::user_unknown);
  EXPECT_FALSE(role_of("acme", "bob"));

  expect_error(call("DELETE", "/api/v1/users/bob", "root"), 404, "NAME_UNKNOWN");
}

TEST_F(AccountsApi, ChangePassword) {
  EXPECT_EQ(
      call("PUT", "/api/v1/users/alice/password", "alice", R"({"password":"new password"})").status,
      204);
  std::string const h = run(io_, store_.get_user("alice")).value().password_hash;
  EXPECT_TRUE(auth::verify_password("new password", h));
  EXPECT_FALSE(auth::verify_password(good_password, h));

  // An admin may set anyone's password.
  EXPECT_EQ(
      call("PUT", "/api/v1/users/bob/password", "root", R"({"password":"bobs new one"})").status,
      204);
  EXPECT_TRUE(
      auth::verify_password("bobs new one", run(io_, store_.get_user("bob"))->password_hash));
  expect_error(call("PUT", "/api/v1/users/nobody/password", "root", R"({"password":"12345678"})"),
               404, "NAME_UNKNOWN");
}

TEST_F(AccountsApi, ChangePasswordRefusals) {
  std::string const body = R"({"password":"taken over"})";
  expect_error(call("PUT", "/api/v1/users/bob/password", "alice", body), 403, "DENIED");
  expect_error(call("PUT", "/api/v1/users/bob/password", "", body), 401, "UNAUTHORIZED");
  expect_error(call("PUT", "/api/v1/users/nobody/password", "alice", body), 403, "DENIED");
  expect_error(call("PUT", "/api/v1/users/alice/password", "alice", R"({"password":"short"})"), 400,
               "UNSUPPORTED");
  expect_error(call("PUT", "/api/v1/users/alice/password", "alice",
                    R"({"password":"12345678","admin":true})"),
               400, "UNSUPPORTED");
  expect_error(call("PUT", "/api/v1/users/alice/password", "alice", R"({})"), 400, "UNSUPPORTED");
  EXPECT_EQ(run(io_, store_.get_user("bob"))->password_hash, hash_);
  EXPECT_EQ(run(io_, store_.get_user("alice"))->password_hash, hash_);
  EXPECT_FALSE(run(io_, store_.get_user("alice"))->admin);
}

// ---- Access tokens -----------------------------------------------------------------------

TEST_F(AccountsApi, CreateListAndDeleteTokens) {
  reply const made = call("POST", "/api/v1/users/alice/tokens", "alice",
                          R"({"description":"ci","expires_in":3600})");
  ASSERT_EQ(made.status, 201) << made.body;
  json::object const t = made.json().as_object();
  EXPECT_EQ(t.size(), 6u);
  EXPECT_EQ(json::serialize(t.at("scopes")), R"(["pull"])"); // the default
  std::string const id(t.at("id").as_string());
  std::string const token(t.at("token").as_string());
  EXPECT_EQ(auth::access_token_id(token), id);
  EXPECT_EQ(t.at("description"), "ci");
  EXPECT_EQ(made.header("Location"), "/api/v1/users/alice/tokens/" + id);

  storage::access_token_record const rec = run(io_, store_.get_token(id)).value();
  EXPECT_EQ(rec.user, "alice");
  EXPECT_EQ(rec.description, "ci");
  ASSERT_TRUE(rec.expires);
  EXPECT_EQ(*rec.expires - rec.created, std::chrono::seconds(3600));
  EXPECT_TRUE(auth::check_access_token(rec, token, rec.created));
  EXPECT_FALSE(auth::check_access_token(rec, token, *rec.expires));
  EXPECT_EQ(t.at("created").as_string(), auth::detail::accounts::format_time(rec.created));
  EXPECT_EQ(t.at("expires").as_string(), auth::detail::accounts::format_time(*rec.expires));

  // The listing shows the token without its secret or hash.
  reply const list = call("GET", "/api/v1/users/alice/tokens", "alice");
  ASSERT_EQ(list.status, 200);
  json::array const tokens = list.json().at("tokens").as_array();
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].as_object().size(), 5u);
  EXPECT_EQ(tokens[0].at("id").as_string(), id);
  EXPECT_FALSE(tokens[0].as_object().contains("token"));
  EXPECT_EQ(list.body.find(token.substr(22)), std::string::npos);
  EXPECT_EQ(list.body.find(rec.secret_hash), std::string::npos);

  EXPECT_EQ(call("DELETE", "/api/v1/users/alice/tokens/" + id, "alice").status, 204);
  EXPECT_EQ(run(io_, store_.get_token(id)).error(), storage::storage_error::token_unknown);
  EXPECT_TRUE(
      call("GET", "/api/v1/users/alice/tokens", "alice").json().at("tokens").as_array().empty());
  expect_error(call("DELETE", "/api/v1/users/alice/tokens/" + id, "alice"), 404, "NAME_UNKNOWN");
}

TEST_F(AccountsApi, TokenDefaults) {
  for (char const* body : {"{}", R"({"description":""})"}) {
    reply const r = call("POST", "/api/v1/users/bob/tokens", "bob", body);
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.json().at("description"), "");
    EXPECT_TRUE(r.json().at("expires").is_null());
  }
  json::array const list =
      call("GET", "/api/v1/users/bob/tokens", "bob").json().at("tokens").as_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_TRUE(list[0].at("expires").is_null());
  EXPECT_LT(list[0].at("id").as_string(), list[1].at("id").as_string());
}

TEST_F(AccountsApi, TokensOfOthers) {
  // Admins may manage anyone's tokens.
  reply const made = call("POST", "/api/v1/users/alice/tokens", "root", R"({"description":"x"})");
  ASSERT_EQ(made.status, 201);
  std::string const id(made.json().at("id").as_string());
  EXPECT_EQ(run(io_, store_.get_token(id))->user, "alice");
  EXPECT_EQ(call("GET", "/api/v1/users/alice/tokens", "root").status, 200);

  // Other users may not, nor reach one through their own path.
  expect_error(call("GET", "/api/v1/users/alice/tokens", "bob"), 403, "DENIED");
  expect_error(call("POST", "/api/v1/users/alice/tokens", "bob", "{}"), 403, "DENIED");
  expect_error(call("DELETE", "/api/v1/users/alice/tokens/" + id, "bob"), 403, "DENIED");
  expect_error(call("DELETE", "/api/v1/users/bob/tokens/" + id, "bob"), 404, "NAME_UNKNOWN");
  expect_error(call("GET", "/api/v1/users/alice/tokens", ""), 401, "UNAUTHORIZED");
  expect_error(call("POST", "/api/v1/users/alice/tokens", "", "{}"), 401, "UNAUTHORIZED");
  EXPECT_TRUE(run(io_, store_.get_token(id)));

  expect_error(call("GET", "/api/v1/users/nobody/tokens", "root"), 404, "NAME_UNKNOWN");
  expect_error(call("POST", "/api/v1/users/nobody/tokens", "root", "{}"), 404, "NAME_UNKNOWN");
}

TEST_F(AccountsApi, TokenBodyIsChecked) {
  for (char const* body : {
           R"({"expires_in":0})",
           R"({"expires_in":-1})",
           R"({"expires_in":3600.5})",
           R"({"expires_in":3.6e3})",
           R"({"expires_in":"0"})",
           R"({"expires_in":"1y"})",
           R"({"expires_in":"1 h"})",
           R"({"expires_in":"h"})",
           R"({"expires_in":"-1h"})",
           R"({"expires_in":"3651d"})",
           R"({"expires_in":"99999999999999999999d"})",
           R"({"expires_in":"1500ms"})", // not whole seconds: refused, not rounded
           R"({"expires_in":"999ms"})",
           R"({"expires_in":"1H"})",
           R"({"expires_in":true})",
           R"({"expires_in":315360001})",
           R"({"scopes":[]})",
           R"({"scopes":["root"]})",
           R"({"scopes":["pull","everything"]})",
           R"({"scopes":"pull"})",
           R"({"scopes":[1]})",
           R"({"expires_in":18446744073709551615})",
           R"({"expires_in":1e400})",
           R"({"description":5})",
           R"({"secret":"mine"})",
           R"({"description":"a","description":"b"})",
       }) {
    expect_error(call("POST", "/api/v1/users/alice/tokens", "alice", body), 400, "UNSUPPORTED");
  }
  std::string const long_description = R"({"description":")" + std::string(257, 'd') + R"("})";
  expect_error(call("POST", "/api/v1/users/alice/tokens", "alice", long_description), 400,
               "UNSUPPORTED");
  EXPECT_TRUE(run(io_, store_.list_tokens("alice")).value().empty());
  EXPECT_EQ(
      call("POST", "/api/v1/users/alice/tokens", "alice", R"({"expires_in":315360000})").status,
      201);
}

// `expires_in` takes units as the server's flags do; plain seconds as a number or a string.
TEST_F(AccountsApi, TokenLifetimesWithUnits) {
  for (auto [body, seconds] : {std::pair{R"({"expires_in":"1h"})", 3600},
                               {R"({"expires_in":"30d"})", 30 * 24 * 3600},
                               {R"({"expires_in":"90m"})", 90 * 60},
                               {R"({"expires_in":"45s"})", 45},
                               {R"({"expires_in":"3600"})", 3600},
                               {R"({"expires_in":7200})", 7200},
                               {R"({"expires_in":"3650d"})", 3650 * 24 * 3600},
                               {R"({"expires_in":"120000ms"})", 120}}) {
    reply const r = call("POST", "/api/v1/users/alice/tokens", "alice", body);
    ASSERT_EQ(r.status, 201) << body << " " << r.body;
    storage::access_token_record const rec =
        run(io_, store_.get_token(std::string(r.json().at("id").as_string()))).value();
    ASSERT_TRUE(rec.expires) << body;
    EXPECT_EQ(*rec.expires - rec.created, std::chrono::seconds(seconds)) << body;
  }
}

// Scopes are chosen at creation, stored normalised, and shown; a token from before scopes
// shows what it may do.
TEST_F(AccountsApi, TokenScopes) {
  reply const r =
      call("POST", "/api/v1/users/alice/tokens", "alice", R"({"scopes":["push","pull","push"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::serialize(r.json().at("scopes")), R"(["pull","push"])");
  EXPECT_EQ(run(io_, store_.get_token(std::string(r.json().at("id").as_string())))->scopes,
            (std::vector<std::string>{"pull", "push"}));
  reply const all = call("POST", "/api/v1/users/alice/tokens", "alice",
                         R"({"scopes":["admin","delete","push","pull"]})");
  ASSERT_EQ(all.status, 201) << all.body;
  EXPECT_EQ(json::serialize(all.json().at("scopes")), R"(["pull","push","delete","admin"])");

  auto old = auth::make_access_token("bob", "old", std::chrono::system_clock::now());
  old.record.scopes.clear(); // as stored before scopes existed
  ASSERT_TRUE(run(io_, store_.add_token(old.record)));
  json::array const list =
      call("GET", "/api/v1/users/bob/tokens", "bob").json().at("tokens").as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(json::serialize(list[0].at("scopes")), R"(["pull","push","delete"])");
}

TEST_F(AccountsApi, DeletingAUserRevokesTheirTokens) {
  reply const made = call("POST", "/api/v1/users/dave/tokens", "dave", "{}");
  std::string const id(made.json().at("id").as_string());
  EXPECT_EQ(call("DELETE", "/api/v1/users/dave", "root").status, 204);
  EXPECT_FALSE(run(io_, store_.get_token(id)));
}

// ---- Organisations -----------------------------------------------------------------------

TEST_F(AccountsApi, ListOrgs) {
  for (std::string name : {"beta", "zeta"})
    ASSERT_TRUE(run(io_, store_.create_org({name, std::chrono::system_clock::from_time_t(0)})));
  reply r = call("GET", "/api/v1/orgs", "dave");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(names(r.json().at("orgs")), (std::vector<std::string>{"acme", "beta", "zeta"}));
  EXPECT_EQ(r.json().at("orgs").at(1),
            json::parse(R"({"name":"beta","created":"1970-01-01T00:00:00Z"})"));

  r = call("GET", "/api/v1/orgs?n=1&last=acme", "dave");
  EXPECT_EQ(names(r.json().at("orgs")), (std::vector<std::string>{"beta"}));
  EXPECT_EQ(r.header("Link"), R"(</api/v1/orgs?n=1&last=beta>; rel="next")");
  expect_error(call("GET", "/api/v1/orgs?n=x", "dave"), 400, "PAGINATION_NUMBER_INVALID");

  expect_error(call("GET", "/api/v1/orgs", ""), 401, "UNAUTHORIZED");
}

TEST_F(AccountsApi, CreateOrg) {
  reply const r = call("POST", "/api/v1/orgs", "dave", R"({"name":"newco"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("Location"), "/api/v1/orgs/newco");
  EXPECT_EQ(r.json().at("name"), "newco");
  EXPECT_TRUE(r.json().as_object().contains("created"));
  EXPECT_EQ(role_of("newco", "dave"), storage::role::admin);
  EXPECT_EQ(run(io_, store_.members("newco"))->size(), 1u);

  // The creator, now an admin of it, may manage it: alice is invited.
  EXPECT_EQ(call("PUT", "/api/v1/orgs/newco/members/alice", "dave", R"({"role":"read"})").status,
            202);
}

TEST_F(AccountsApi, CreateOrgRefusals) {
  expect_error(call("POST", "/api/v1/orgs", "", R"({"name":"newco"})"), 401, "UNAUTHORIZED");
  expect_error(call("POST", "/api/v1/orgs", "dave", R"({"name":"acme"})"), 409, "NAME_TAKEN");
  expect_error(call("POST", "/api/v1/orgs", "dave", R"({"name":"alice"})"), 409, "NAME_TAKEN");
  expect_error(call("POST", "/api/v1/orgs", "dave", R"({"name":"New Co"})"), 400, "NAME_INVALID");
  expect_error(call("POST", "/api/v1/orgs", "dave", R"({"name":".."})"), 400, "NAME_INVALID");
  expect_error(call("POST", "/api/v1/orgs", "dave", R"({"name":1})"), 400, "UNSUPPORTED");
  expect_error(call("POST", "/api/v1/orgs", "dave", R"({"name":"a","name":"b"})"), 400,
               "UNSUPPORTED");
  // Only users the store knows: the creator must become a member.
  auth::principal const ghost{"ghost", false, {}};
  expect_error(call_as("POST", "/api/v1/orgs", ghost, R"({"name":"newco"})"), 403, "DENIED");
  EXPECT_FALSE(run(io_, store_.get_org("newco")));
  // An administrator from outside the store (htpasswd) may; the organisation has no member.
  auth::principal const op{"op", true, {}};
  EXPECT_EQ(call_as("POST", "/api/v1/orgs", op, R"({"name":"newco"})").status, 201);
  EXPECT_TRUE(run(io_, store_.members("newco"))->empty());
}

TEST_F(AccountsApi, GetAndDeleteOrg) {
  reply const r = call("GET", "/api/v1/orgs/acme", "dave");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json().at("name"), "acme");
  expect_error(call("GET", "/api/v1/orgs/nothing", "dave"), 404, "NAME_UNKNOWN");
  expect_error(call("GET", "/api/v1/orgs/acme", ""), 401, "UNAUTHORIZED");

  expect_error(call("DELETE", "/api/v1/orgs/acme", "bob"), 403, "DENIED");
  expect_error(call("DELETE", "/api/v1/orgs/acme", "dave"), 403, "DENIED");
  expect_error(call("DELETE", "/api/v1/orgs/acme", ""), 401, "UNAUTHORIZED");
  EXPECT_TRUE(run(io_, store_.get_org("acme")));
  EXPECT_EQ(call("DELETE", "/api/v1/orgs/acme", "alice").status, 204);
  EXPECT_FALSE(run(io_, store_.get_org("acme")));
  EXPECT_TRUE(run(io_, store_.memberships("bob"))->empty());
  expect_error(call("DELETE", "/api/v1/orgs/acme", "root"), 404, "NAME_UNKNOWN");
}

TEST_F(AccountsApi, ListMembers) {
  for (char const* who : {"alice", "bob", "carol", "root"}) {
    reply const r = call("GET", "/api/v1/orgs/acme/members", who);
    ASSERT_EQ(r.status, 200) << who;
    EXPECT_EQ(r.json(), json::parse(R"({"members":[{"user":"alice","role":"admin"},
        {"user":"bob","role":"write"},{"user":"carol","role":"read"}]})"));
  }
  expect_error(call("GET", "/api/v1/orgs/acme/members", "dave"), 403, "DENIED");
  expect_error(call("GET", "/api/v1/orgs/acme/members", ""), 401, "UNAUTHORIZED");
  expect_error(call("GET", "/api/v1/orgs/nothing/members", "root"), 404, "NAME_UNKNOWN");
  expect_error(call("GET", "/api/v1/orgs/nothing/members", "dave"), 403, "DENIED");
}

TEST_F(AccountsApi, SetMember) {
  // An organisation's admin invites; the user accepts.
  reply r = call("PUT", "/api/v1/orgs/acme/members/dave", "alice", R"({"role":"read"})");
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"user":"dave","role":"read","status":"invited"})"));
  EXPECT_FALSE(role_of("acme", "dave"));
  r = call("PUT", "/api/v1/orgs/acme/members/dave", "dave", R"({"role":"read"})");
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"user":"dave","role":"read"})"));
  EXPECT_EQ(role_of("acme", "dave"), storage::role::read);

  r = call("PUT", "/api/v1/orgs/acme/members/dave", "alice", R"({"role":"write"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json(), json::parse(R"({"user":"dave","role":"write"})"));
  EXPECT_EQ(role_of("acme", "dave"), storage::role::write);

  EXPECT_EQ(call("PUT", "/api/v1/orgs/acme/members/carol", "root", R"({"role":"admin"})").status,
            200);
  EXPECT_EQ(role_of("acme", "carol"), storage::role::admin);
  // Registry administrators add members directly.
  ASSERT_TRUE(run(io_, store_.remove_member("acme", "dave")));
  EXPECT_EQ(call("PUT", "/api/v1/orgs/acme/members/dave", "root", R"({"role":"write"})").status,
            201);
  EXPECT_EQ(role_of("acme", "dave"), storage::role::write);
}

TEST_F(AccountsApi, SetMemberRefusals) {
  std::string const body = R"({"role":"admin"})";
  expect_error(call("PUT", "/api/v1/orgs/acme/members/dave", "bob", body), 403, "DENIED");
  expect_error(call("PUT", "/api/v1/orgs/acme/members/bob", "bob", body), 403, "DENIED");
  expect_error(call("PUT", "/api/v1/orgs/acme/members/dave", "carol", body), 403, "DENIED");
  expect_error(call("PUT", "/api/v1/orgs/acme/members/dave", "dave", body), 403, "DENIED");
  expect_error(call("PUT", "/api/v1/orgs/acme/members/dave", "", body), 401, "UNAUTHORIZED");
  EXPECT_FALSE(role_of("acme", "dave"));
  EXPECT_EQ(role_of("acme", "bob"), storage::role::write);

  expect_error(call("PUT", "/api/v1/orgs/nothing/members/dave", "root", body), 404, "NAME_UNKNOWN");
  expect_error(call("PUT", "/api/v1/orgs/nothing/members/dave", "alice", body), 403, "DENIED");
  for (char const* bad :
       {R"({"role":"owner"})", R"({"role":"Admin"})", R"({"role":3})", R"({})",
        R"({"role":"read","role":"admin"})", R"({"role":"read","user":"dave"})", "read"}) {
    expect_error(call("PUT", "/api/v1/orgs/acme/members/dave", "alice", bad), 400, "UNSUPPORTED");
  }
  EXPECT_FALSE(role_of("acme", "dave"));
}

TEST_F(AccountsApi, RemoveMember) {
  expect_error(call("DELETE", "/api/v1/orgs/acme/members/bob", "carol"), 403, "DENIED");
  expect_error(call("DELETE", "/api/v1/orgs/acme/members/bob", "dave"), 403, "DENIED");
  expect_error(call("DELETE", "/api/v1/orgs/acme/members/bob", ""), 401, "UNAUTHORIZED");
  EXPECT_EQ(call("DELETE", "/api/v1/orgs/acme/members/bob", "alice").status, 204);
  EXPECT_FALSE(role_of("acme", "bob"));
  // A member may leave.
  EXPECT_EQ(call("DELETE", "/api/v1/orgs/acme/members/carol", "carol").status, 204);
  EXPECT_FALSE(role_of("acme", "carol"));
  // Not a member: said to those who manage the organisation, and to the user.
  expect_error(call("DELETE", "/api/v1/orgs/acme/members/dave", "alice"), 404, "NAME_UNKNOWN");
  expect_error(call("DELETE", "/api/v1/orgs/acme/members/dave", "dave"), 404, "NAME_UNKNOWN");
}

TEST_F(AccountsApi, AnOrganisationKeepsAnAdmin) {
  for (char const* who : {"alice", "root"}) {
    expect_error(call("DELETE", "/api/v1/orgs/acme/members/alice", who), 409, "LAST_ADMIN");
    expect_error(call("PUT", "/api/v1/orgs/acme/members/alice", who, R"({"role":"write"})"), 409,
                 "LAST_ADMIN");
  }
  EXPECT_EQ(role_of("acme", "alice"), storage::role::admin);
  EXPECT_EQ(call("PUT", "/api/v1/orgs/acme/members/alice", "alice", R"({"role":"admin"})").status,
            200);
  // With a second admin, either may step down or leave.
  EXPECT_EQ(call("PUT", "/api/v1/orgs/acme/members/carol", "alice", R"({"role":"admin"})").status,
            200);
  EXPECT_EQ(call("PUT", "/api/v1/orgs/acme/members/alice", "alice", R"({"role":"read"})").status,
            200);
  EXPECT_EQ(call("DELETE", "/api/v1/orgs/acme/members/alice", "alice").status, 204);
  expect_error(call("DELETE", "/api/v1/orgs/acme/members/carol", "carol"), 409, "LAST_ADMIN");
  // Deleting the organisation is the way out.
  EXPECT_EQ(call("DELETE", "/api/v1/orgs/acme", "carol").status, 204);
}

// Issue 10: adding a member told which users exist (404 vs 201). Now an organisation's
// admin invites, with the same answer for everybody, and the user decides.
TEST_F(AccountsApi, InvitationsDoNotTellWhichUsersExist) {
  std::string const body = R"({"role":"write"})";
  reply const real = call("PUT", "/api/v1/orgs/acme/members/dave", "alice", body);
  reply const none = call("PUT", "/api/v1/orgs/acme/members/nobody", "alice", body);
  EXPECT_EQ(real.status, 202);
  EXPECT_EQ(none.status, 202);
  EXPECT_EQ(real.json(), json::parse(R"({"user":"dave","role":"write","status":"invited"})"));
  EXPECT_EQ(none.json(), json::parse(R"({"user":"nobody","role":"write","status":"invited"})"));
  EXPECT_FALSE(role_of("acme", "dave"));

  // The invited user sees it, and nobody else but administrators.
  reply const mine = call("GET", "/api/v1/users/dave/invitations", "dave");
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.json(), json::parse(R"({"invitations":[{"org":"acme","role":"write"}]})"));
  EXPECT_EQ(call("GET", "/api/v1/users/dave/invitations", "root").json(), mine.json());
  expect_error(call("GET", "/api/v1/users/dave/invitations", "alice"), 403, "DENIED");
  expect_error(call("GET", "/api/v1/users/dave/invitations", ""), 401, "UNAUTHORIZED");
  expect_error(call("POST", "/api/v1/users/dave/invitations", "dave", "{}"), 405, "UNSUPPORTED");

  // Accepting takes the role offered; the body may name it or be empty.
  expect_error(call("PUT", "/api/v1/orgs/acme/members/dave", "dave", R"({"role":"admin"})"), 403,
               "DENIED");
  reply const accepted = call("PUT", "/api/v1/orgs/acme/members/dave", "dave", "");
  ASSERT_EQ(accepted.status, 201) << accepted.body;
  EXPECT_EQ(accepted.json(), json::parse(R"({"user":"dave","role":"write"})"));
  EXPECT_EQ(role_of("acme", "dave"), storage::role::write);
  EXPECT_EQ(call("GET", "/api/v1/users/dave/invitations", "dave").json(),
            json::parse(R"({"invitations":[]})"));
  // A member's role changes at once.
  EXPECT_EQ(call("PUT", "/api/v1/orgs/acme/members/dave", "alice", R"({"role":"read"})").status,
            200);
  EXPECT_EQ(role_of("acme", "dave"), storage::role::read);
}

TEST_F(AccountsApi, InvitationsAreDeclinedOrWithdrawn) {
  storage::user_record erin = run(io_, store_.get_user("dave")).value();
  erin.name = "erin";
  ASSERT_TRUE(run(io_, store_.create_user(erin)));
  std::string const body = R"({"role":"read"})";
  ASSERT_EQ(call("PUT", "/api/v1/orgs/acme/members/erin", "alice", body).status, 202);
  EXPECT_EQ(call("DELETE", "/api/v1/orgs/acme/members/erin", "erin").status, 204); // declined
  EXPECT_TRUE(run(io_, store_.invitations("erin"))->empty());
  expect_error(call("PUT", "/api/v1/orgs/acme/members/erin", "erin", "{}"), 403, "DENIED");

  // Withdrawn by the organisation's admin, who is told what is told for anybody.
  ASSERT_EQ(call("PUT", "/api/v1/orgs/acme/members/erin", "alice", body).status, 202);
  reply const withdrawn = call("DELETE", "/api/v1/orgs/acme/members/erin", "alice");
  expect_error(withdrawn, 404, "NAME_UNKNOWN");
  EXPECT_EQ(withdrawn.body, call("DELETE", "/api/v1/orgs/acme/members/nobody", "alice").body);
  EXPECT_TRUE(run(io_, store_.invitations("erin"))->empty());
  EXPECT_FALSE(role_of("acme", "erin"));
}

// Issue 10: creating an organisation must not hand over a namespace in use, and its
// refusals must not tell users, organisations and reservations apart.
TEST_F(AccountsApi, CreateOrgCannotTakeANamespaceInUse) {
  ASSERT_TRUE(run(io_, store_.link_blob("library/ubuntu", pier::digest_of("layer"))));
  ASSERT_TRUE(run(io_, store_.set_visibility("made/app", storage::visibility::public_)));
  ASSERT_EQ(call("DELETE", "/api/v1/users/carol", "root").status, 204);
  for (std::string const name : {"library", "made", "carol", "alice", "acme"}) {
    reply const r = call("POST", "/api/v1/orgs", "dave", R"({"name":")" + name + R"("})");
    expect_error(r, 409, "NAME_TAKEN");
    EXPECT_EQ(r.message(), "the name \"" + name + "\" is taken or reserved; choose another");
  }
  EXPECT_FALSE(run(io_, store_.get_org("library")));
  EXPECT_EQ(run(io_, store_.memberships("dave"))->size(), 0u);
  // A registry administrator may.
  EXPECT_EQ(call("POST", "/api/v1/orgs", "root", R"({"name":"library"})").status, 201);
  EXPECT_EQ(call("POST", "/api/v1/orgs", "root", R"({"name":"carol"})").status, 201);
}

TEST_F(AccountsApi, DeletingAnAccountWhoseNamespaceHoldsRepositoriesIsRefused) {
  pier::digest const d = pier::digest_of("layer");
  ASSERT_TRUE(run(io_, store_.link_blob("bob/app", d)));
  ASSERT_TRUE(run(io_, store_.link_blob("acme/app", d)));
  ASSERT_TRUE(run(io_, store_.link_blob("acme/web", d)));
  reply r = call("DELETE", "/api/v1/users/bob", "root");
  expect_error(r, 409, "DENIED");
  EXPECT_EQ(r.message(), "namespace \"bob\" still holds 1 repository: delete their manifests and "
                         "blobs first");
  r = call("DELETE", "/api/v1/orgs/acme", "alice");
  expect_error(r, 409, "DENIED");
  EXPECT_NE(r.message().find("still holds 2 repositories"), std::string::npos) << r.body;
  EXPECT_TRUE(run(io_, store_.get_user("bob")));
  EXPECT_TRUE(run(io_, store_.get_org("acme")));

  ASSERT_TRUE(run(io_, store_.unlink_blob("bob/app", d)));
  EXPECT_EQ(call("DELETE", "/api/v1/users/bob", "root").status, 204);
}

TEST_F(AccountsApi, TheLastAdminsCannotBeDeleted) {
  reply const root = call("DELETE", "/api/v1/users/root", "root");
  expect_error(root, 409, "LAST_ADMIN");
  reply const alice = call("DELETE", "/api/v1/users/alice", "root"); // acme's only admin
  expect_error(alice, 409, "LAST_ADMIN");
  EXPECT_TRUE(run(io_, store_.get_user("alice")));
  EXPECT_EQ(role_of("acme", "alice"), storage::role::admin);
  EXPECT_EQ(call("PUT", "/api/v1/orgs/acme/members/bob", "alice", R"({"role":"admin"})").status,
            200);
  EXPECT_EQ(call("DELETE", "/api/v1/users/alice", "root").status, 204);
}

class LimitedOrgs : public AccountsApi {
protected:
  LimitedOrgs() : AccountsApi(limited()) {}
  static auth::accounts_api_options limited() {
    auth::accounts_api_options o = options();
    o.max_orgs_per_user = 1;
    o.name_refusals.max_user_failures = 3;
    return o;
  }
};

TEST_F(LimitedOrgs, AUserMayCreateSoManyOrganisations) {
  EXPECT_EQ(call("POST", "/api/v1/orgs", "dave", R"({"name":"one"})").status, 201);
  reply const r = call("POST", "/api/v1/orgs", "dave", R"({"name":"two"})");
  expect_error(r, 403, "DENIED");
  EXPECT_NE(r.message().find("at most 1 organisations"), std::string::npos) << r.body;
  EXPECT_FALSE(run(io_, store_.get_org("two")));
  // Deleting does not give the slot back; administrators have no limit.
  EXPECT_EQ(call("DELETE", "/api/v1/orgs/one", "dave").status, 204);
  expect_error(call("POST", "/api/v1/orgs", "dave", R"({"name":"two"})"), 403, "DENIED");
  EXPECT_EQ(call("POST", "/api/v1/orgs", "root", R"({"name":"two"})").status, 201);
  EXPECT_EQ(call("POST", "/api/v1/orgs", "root", R"({"name":"three"})").status, 201);
}

TEST_F(LimitedOrgs, RefusedNamesAreRateLimited) {
  for (int i = 0; i < 3; ++i)
    expect_error(call("POST", "/api/v1/orgs", "dave", R"({"name":"acme"})"), 409, "NAME_TAKEN");
  for (char const* name : {"acme", "free"}) {
    reply const r = call("POST", "/api/v1/orgs", "dave", R"({"name":")" + std::string(name) + "\"}");
    expect_error(r, 429, "TOOMANYREQUESTS");
    EXPECT_GT(std::stoi(r.header("Retry-After")), 0) << r.body;
  }
  EXPECT_FALSE(run(io_, store_.get_org("free")));
  // Per user: others are not held up, nor are administrators.
  EXPECT_EQ(call("POST", "/api/v1/orgs", "carol", R"({"name":"free"})").status, 201);
  for (int i = 0; i < 4; ++i)
    expect_error(call("POST", "/api/v1/orgs", "root", R"({"name":"acme"})"), 409, "NAME_TAKEN");
}

class NoOrgsForUsers : public AccountsApi {
protected:
  NoOrgsForUsers() : AccountsApi(none()) {}
  static auth::accounts_api_options none() {
    auth::accounts_api_options o = options();
    o.max_orgs_per_user = 0;
    return o;
  }
};

TEST_F(NoOrgsForUsers, OnlyAdministratorsCreateOrganisations) {
  reply const r = call("POST", "/api/v1/orgs", "dave", R"({"name":"one"})");
  expect_error(r, 403, "DENIED");
  EXPECT_EQ(r.message(), "only registry administrators can create organisations here");
  EXPECT_EQ(call("POST", "/api/v1/orgs", "root", R"({"name":"one"})").status, 201);
}

// ---- Repositories ------------------------------------------------------------------------

json::value repository(std::string_view name, std::string_view visibility, bool exists, bool pull,
                       bool push, bool del) {
  return json::object{{"name", name},
                      {"visibility", visibility},
                      {"exists", exists},
                      {"permissions", {{"pull", pull}, {"push", push}, {"delete", del}}}};
}

TEST_F(AccountsApi, RepositoryStateByRole) {
  std::string const target = "/api/v1/repositories/acme/app";
  reply r = call("GET", target, "alice");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), repository("acme/app", "private", false, true, true, true));
  EXPECT_EQ(call("GET", target, "bob").json(),
            repository("acme/app", "private", false, true, true, false));
  EXPECT_EQ(call("GET", target, "carol").json(),
            repository("acme/app", "private", false, true, false, false));
  EXPECT_EQ(call("GET", target, "root").json(),
            repository("acme/app", "private", false, true, true, true));

  // A private repository: the same refusal whether it exists or not.
  expect_error(call("GET", target, "dave"), 403, "DENIED");
  expect_error(call("GET", target, ""), 401, "UNAUTHORIZED");
  ASSERT_TRUE(run(io_, store_.link_blob("acme/app", pier::digest_of("layer"))));
  EXPECT_TRUE(call("GET", target, "carol").json().at("exists").as_bool());
  EXPECT_EQ(call("GET", target, "dave").body,
            call("GET", "/api/v1/repositories/acme/none", "dave").body);
  EXPECT_EQ(call("GET", target, "").body, call("GET", "/api/v1/repositories/acme/none", "").body);
}

TEST_F(AccountsApi, MakePublicBeforeTheFirstPush) {
  std::string const target = "/api/v1/repositories/acme/app";
  reply r = call("PUT", target, "alice", R"({"visibility":"public"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), repository("acme/app", "public", false, true, true, true));
  EXPECT_EQ(run(io_, store_.get_visibility("acme/app")).value(), storage::visibility::public_);
  EXPECT_FALSE(run(io_, store_.repository_exists("acme/app")).value());

  // Now anyone may pull it, anonymous callers included; only pull.
  EXPECT_EQ(call("GET", target, "").json(),
            repository("acme/app", "public", false, true, false, false));
  EXPECT_EQ(call("GET", target, "dave").json(),
            repository("acme/app", "public", false, true, false, false));

  r = call("PUT", target, "root", R"({"visibility":"private"})");
  EXPECT_EQ(r.json().at("visibility"), "private");
  expect_error(call("GET", target, ""), 401, "UNAUTHORIZED");
}

TEST_F(AccountsApi, ChangingVisibilityNeedsDeleteOnTheNamespace) {
  std::string const body = R"({"visibility":"public"})";
  expect_error(call("PUT", "/api/v1/repositories/acme/app", "bob", body), 403, "DENIED");
  expect_error(call("PUT", "/api/v1/repositories/acme/app", "carol", body), 403, "DENIED");
  expect_error(call("PUT", "/api/v1/repositories/acme/app", "dave", body), 403, "DENIED");
  expect_error(call("PUT", "/api/v1/repositories/acme/app", "", body), 401, "UNAUTHORIZED");
  expect_error(call("PUT", "/api/v1/repositories/alice/tool", "bob", body), 403, "DENIED");
  expect_error(call("PUT", "/api/v1/repositories/alpine", "alice", body), 403, "DENIED");
  EXPECT_FALSE(run(io_, store_.get_visibility("acme/app")).value());
  EXPECT_FALSE(run(io_, store_.get_visibility("alice/tool")).value());

  // A user owns their namespace; a repository without one is the admins'.
  EXPECT_EQ(call("PUT", "/api/v1/repositories/alice/tool", "alice", body).status, 200);
  EXPECT_EQ(call("PUT", "/api/v1/repositories/alpine", "root", body).status, 200);
  // Being able to pull a public repository is not enough to change it.
  expect_error(
      call("PUT", "/api/v1/repositories/alice/tool", "dave", R"({"visibility":"private"})"), 403,
      "DENIED");
}

TEST_F(AccountsApi, VisibilityBodyIsChecked) {
  for (char const* body : {R"({"visibility":"open"})", R"({"visibility":"Public"})",
                           R"({"visibility":true})", R"({})", R"({"visiblity":"public"})",
                           R"({"visibility":"public","visibility":"private"})", "public"}) {
    expect_error(call("PUT", "/api/v1/repositories/acme/app", "alice", body), 400, "UNSUPPORTED");
  }
  EXPECT_FALSE(run(io_, store_.get_visibility("acme/app")).value());
}

class PublicByDefault : public AccountsApi {
protected:
  PublicByDefault() : AccountsApi(public_default()) {}
  static auth::accounts_api_options public_default() {
    auth::accounts_api_options o = options();
    o.default_visibility = storage::visibility::public_;
    return o;
  }
};

TEST_F(PublicByDefault, UnsetVisibilityIsTheDefault) {
  EXPECT_EQ(call("GET", "/api/v1/repositories/acme/app", "").json(),
            repository("acme/app", "public", false, true, false, false));
  EXPECT_EQ(
      call("PUT", "/api/v1/repositories/acme/app", "alice", R"({"visibility":"private"})").status,
      200);
  expect_error(call("GET", "/api/v1/repositories/acme/app", ""), 401, "UNAUTHORIZED");
}

} // namespace api_test
