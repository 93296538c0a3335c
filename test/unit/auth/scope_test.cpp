// SPDX-License-Identifier: Apache-2.0
#include <pier/auth/scope.hpp>

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>
#include <vector>

namespace scope_test {

namespace auth = pier::auth;
namespace json = boost::json;
using auth::credentials_error;
using auth::resource_scope;
using auth::scope_error;
using actions = std::vector<std::string>;

TEST(scope, parses_dockers_forms) {
  struct good {
    std::string text;
    resource_scope expected;
  };
  std::vector<good> const cases = {
      {"repository:samalba/my-app:pull,push",
       {"repository", "", "samalba/my-app", {"pull", "push"}}},
      {"repository:samalba/my-app:push,pull",
       {"repository", "", "samalba/my-app", {"push", "pull"}}},
      {"repository:ubuntu:pull", {"repository", "", "ubuntu", {"pull"}}},
      {"repository:a/b/c:delete", {"repository", "", "a/b/c", {"delete"}}},
      {"repository:a:*", {"repository", "", "a", {"*"}}},
      {"repository:a:pull,pull,push,pull", {"repository", "", "a", {"pull", "push"}}},
      {"repository(plugin):vieux/sshfs:pull", {"repository", "plugin", "vieux/sshfs", {"pull"}}},
      {"registry:catalog:*", {"registry", "", "catalog", {"*"}}},
      // Registries elsewhere use other actions; they parse and are simply never granted.
      {"repository:a:metadata_read", {"repository", "", "a", {"metadata_read"}}},
      // The name is what lies between the first and the last ':'.
      {"registry:host:5000:*", {"registry", "", "host:5000", {"*"}}},
  };
  for (good const& c : cases) {
    SCOPED_TRACE(c.text);
    pier::result<resource_scope> s = auth::parse_scope(c.text);
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(*s, c.expected);
  }
}

TEST(scope, refuses_malformed_scopes) {
  struct bad {
    std::string text;
    scope_error error;
  };
  std::vector<bad> const cases = {
      {"", scope_error::empty},
      {"repository", scope_error::malformed},
      {"repository:foo", scope_error::malformed},
      {":foo:pull", scope_error::invalid_type},
      {"Repository:foo:pull", scope_error::invalid_type},
      {"repo sitory:foo:pull", scope_error::invalid_type},
      {"repository(:foo:pull", scope_error::invalid_type},
      {"repository():foo:pull", scope_error::invalid_type},
      {"repository(plugin)x:foo:pull", scope_error::invalid_type},
      {"repository(Plugin):foo:pull", scope_error::invalid_type},
      {"(plugin):foo:pull", scope_error::invalid_type},
      {"repository::pull", scope_error::invalid_name},
      {"repository:Foo:pull", scope_error::invalid_name},
      {"repository:a//b:pull", scope_error::invalid_name},
      {"repository:/a:pull", scope_error::invalid_name},
      {"repository:../etc/passwd:pull", scope_error::invalid_name},
      {"repository:a/../b:pull", scope_error::invalid_name},
      {"repository:a/./b:pull", scope_error::invalid_name},
      {"repository:a b:pull", scope_error::invalid_name},
      // A repository in pier has no host part: the spec's host:port form is refused.
      {"repository:localhost:5000/foo:pull", scope_error::invalid_name},
      {"repository:" + std::string(256, 'a') + ":pull", scope_error::invalid_name},
      {"registry::*", scope_error::invalid_name},
      {"registry:cat alog:*", scope_error::invalid_name},
      {"registry:cat\"alog:*", scope_error::invalid_name},
      {"repository:foo:", scope_error::invalid_action},
      {"repository:foo:pull,", scope_error::invalid_action},
      {"repository:foo:,pull", scope_error::invalid_action},
      {"repository:foo:pull,,push", scope_error::invalid_action},
      {"repository:foo:Pull", scope_error::invalid_action},
      {"repository:foo:pu ll", scope_error::invalid_action},
      {"repository:foo:**", scope_error::invalid_action},
      {"repository:foo:pull*", scope_error::invalid_action},
  };
  for (bad const& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(auth::parse_scope(c.text).error(), c.error);
  }
}

TEST(scope, lists_and_several_parameters_merge) {
  pier::result<std::vector<resource_scope>> s =
      auth::parse_scopes("repository:a:pull  repository:b:push repository:a:push,pull ");
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, (std::vector<resource_scope>{{"repository", "", "a", {"pull", "push"}},
                                             {"repository", "", "b", {"push"}}}));
  EXPECT_TRUE(auth::parse_scopes("").value().empty()); // a token request may name no scope
  EXPECT_TRUE(auth::parse_scopes("   ").value().empty());
  EXPECT_EQ(auth::parse_scopes("repository:a:pull repository:B:pull").error(),
            scope_error::invalid_name);

  std::vector<std::string_view> const params = {"repository:a:pull",
                                                "registry:catalog:* repository:a:delete", ""};
  pier::result<std::vector<resource_scope>> m = auth::parse_scopes(params);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, (std::vector<resource_scope>{{"repository", "", "a", {"pull", "delete"}},
                                             {"registry", "", "catalog", {"*"}}}));
  std::vector<std::string_view> const bad = {"repository:a:pull", "repository:a"};
  EXPECT_EQ(auth::parse_scopes(bad).error(), scope_error::malformed);
  // A resource class keeps entries apart when parsing: they are different requests.
  EXPECT_EQ(auth::parse_scopes("repository:a:pull repository(plugin):a:pull")->size(), 2u);
}

TEST(scope, formats_and_round_trips) {
  for (std::string_view text :
       {"repository:samalba/my-app:pull,push", "repository(plugin):vieux/sshfs:pull",
        "registry:catalog:*", "repository:a/b:delete,*"}) {
    EXPECT_EQ(auth::to_string(auth::parse_scope(text).value()), text);
  }
  std::string const list = "repository:a:pull,push registry:catalog:*";
  EXPECT_EQ(auth::to_string(auth::parse_scopes(list).value()), list);
  EXPECT_EQ(auth::to_string(std::vector<resource_scope>{}), "");
}

TEST(scope, access_claim_json) {
  std::vector<resource_scope> const access = {
      {"repository", "plugin", "samalba/my-app", {"pull", "push"}},
      {"registry", "", "catalog", {"*"}},
  };
  json::array const a = auth::access_to_json(access);
  // The spec's shape, without the deprecated class.
  EXPECT_EQ(json::serialize(a),
            R"([{"type":"repository","name":"samalba/my-app","actions":["pull","push"]},)"
            R"({"type":"registry","name":"catalog","actions":["*"]}])");
  pier::result<std::vector<resource_scope>> back = auth::access_from_json(a);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0], (resource_scope{"repository", "", "samalba/my-app", {"pull", "push"}}));
  EXPECT_EQ((*back)[1], access[1]);
  EXPECT_TRUE(auth::access_from_json(json::array{}).value().empty());

  // Members beyond the three are ignored; absent actions are none; duplicates go.
  pier::result<std::vector<resource_scope>> lenient = auth::access_from_json(
      json::parse(R"([{"type":"repository","class":"image","name":"a","actions":["pull","pull"]},)"
                  R"({"type":"repository","name":"b"}])"));
  ASSERT_TRUE(lenient);
  EXPECT_EQ((*lenient)[0].actions, actions{"pull"});
  EXPECT_TRUE((*lenient)[1].actions.empty());

  for (std::string_view bad :
       {R"({})", R"("repository:a:pull")", R"([1])", R"([{"name":"a","actions":[]}])",
        R"([{"type":"repository","actions":[]}])", R"([{"type":1,"name":"a"}])",
        R"([{"type":"repository","name":null}])",
        R"([{"type":"repository","name":"a","actions":"pull"}])",
        R"([{"type":"repository","name":"a","actions":[1]}])"}) {
    EXPECT_EQ(auth::access_from_json(json::parse(bad)).error(), scope_error::invalid_access) << bad;
  }
}

TEST(scope, intersection_of_requested_and_granted) {
  auto const req = [](std::string_view s) { return auth::parse_scopes(s).value(); };
  std::vector<resource_scope> const granted = {
      {"repository", "", "alice/app", {"pull", "push"}},
      {"repository", "", "library/ubuntu", {"pull"}},
      {"repository", "", "admin/all", {"*"}},
      {"registry", "", "catalog", {"*"}},
  };
  // The token spec's example: all, part, or nothing of what was asked.
  EXPECT_EQ(auth::to_string(auth::intersect(req("repository:alice/app:pull,push"), granted)),
            "repository:alice/app:pull,push");
  EXPECT_EQ(auth::to_string(auth::intersect(req("repository:library/ubuntu:pull,push"), granted)),
            "repository:library/ubuntu:pull");
  EXPECT_TRUE(auth::intersect(req("repository:bob/secret:pull"), granted).empty());
  EXPECT_TRUE(auth::intersect(req("repository:library/ubuntu:delete"), granted).empty());
  // A granted '*' allows whatever is asked, '*' included; a requested '*' needs a granted one.
  EXPECT_EQ(auth::to_string(auth::intersect(req("repository:admin/all:pull,delete,*"), granted)),
            "repository:admin/all:pull,delete,*");
  EXPECT_EQ(auth::to_string(auth::intersect(req("repository:alice/app:*,pull"), granted)),
            "repository:alice/app:pull");
  EXPECT_EQ(auth::to_string(auth::intersect(req("registry:catalog:*"), granted)),
            "registry:catalog:*");
  // Resource classes are ignored, and not given back.
  EXPECT_EQ(auth::to_string(auth::intersect(req("repository(plugin):alice/app:pull"), granted)),
            "repository:alice/app:pull");
  // Types must match: the catalog is not a repository named "catalog".
  EXPECT_TRUE(auth::intersect(req("repository:catalog:pull"), granted).empty());
  // Several requests in one go; those with nothing left vanish.
  EXPECT_EQ(
      auth::to_string(auth::intersect(
          req("repository:bob/x:pull repository:alice/app:push registry:catalog:*"), granted)),
      "repository:alice/app:push registry:catalog:*");
  EXPECT_TRUE(auth::intersect(req("repository:alice/app:pull"), {}).empty());
}

TEST(scope, allows) {
  std::vector<resource_scope> const access = {
      {"repository", "", "alice/app", {"pull"}},
      {"repository", "", "alice/app", {"push"}}, // two entries for one resource add up
      {"repository", "", "team/x", {"*"}},
  };
  EXPECT_TRUE(auth::allows(access, "repository", "alice/app", "pull"));
  EXPECT_TRUE(auth::allows(access, "repository", "alice/app", "push"));
  EXPECT_FALSE(auth::allows(access, "repository", "alice/app", "delete"));
  EXPECT_FALSE(auth::allows(access, "repository", "alice/app2", "pull"));
  EXPECT_FALSE(auth::allows(access, "repository", "alice", "pull"));
  EXPECT_FALSE(auth::allows(access, "registry", "alice/app", "pull"));
  EXPECT_TRUE(auth::allows(access, "repository", "team/x", "delete"));
  EXPECT_FALSE(auth::allows({}, "repository", "alice/app", "pull"));
}

TEST(scope, bearer_challenges) {
  std::vector<resource_scope> const push = {{"repository", "", "samalba/my-app", {"pull", "push"}}};
  // Byte for byte what the token spec shows.
  EXPECT_EQ(
      auth::bearer_challenge("https://auth.docker.io/token", "registry.docker.io", push).value(),
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
      R"(scope="repository:samalba/my-app:pull,push")");
  EXPECT_EQ(auth::bearer_challenge("https://r/auth/token", "r").value(),
            R"(Bearer realm="https://r/auth/token",service="r")");
  EXPECT_EQ(auth::bearer_challenge("https://r/auth/token", "").value(),
            R"(Bearer realm="https://r/auth/token")");
  EXPECT_EQ(auth::bearer_challenge("https://r/t", "r", push, "insufficient_scope").value(),
            R"(Bearer realm="https://r/t",service="r",scope="repository:samalba/my-app:pull,push",)"
            R"(error="insufficient_scope")");
  std::vector<resource_scope> const two = {{"repository", "", "a", {"pull"}},
                                           {"registry", "", "catalog", {"*"}}};
  EXPECT_EQ(auth::bearer_challenge("r", "s", two).value(),
            R"(Bearer realm="r",service="s",scope="repository:a:pull registry:catalog:*")");
  // Quoted-string escapes.
  EXPECT_EQ(auth::bearer_challenge(R"(a"b\c)", "x y").value(),
            R"(Bearer realm="a\"b\\c",service="x y")");
  // Nothing that could end the header line or smuggle another one.
  std::vector<std::string_view> const evils = {"r\r\nSet-Cookie: x=y", "r\n", "r\r",
                                               std::string_view("r\0", 2), "r\x7f"};
  for (std::string_view evil : evils) {
    EXPECT_EQ(auth::bearer_challenge(evil, "s").error(), scope_error::invalid_parameter);
    EXPECT_EQ(auth::bearer_challenge("r", evil).error(), scope_error::invalid_parameter);
    EXPECT_EQ(auth::basic_challenge(evil).error(), scope_error::invalid_parameter);
  }
  std::vector<resource_scope> const forged = {{"repository", "", "a\r\nX: y", {"pull"}}};
  EXPECT_EQ(auth::bearer_challenge("r", "s", forged).error(), scope_error::invalid_parameter);
  EXPECT_EQ(auth::bearer_challenge("r", "s", {}, "invalid token").error(),
            scope_error::invalid_parameter);
  EXPECT_EQ(auth::bearer_challenge("r", "s", {}, "a\"b").error(), scope_error::invalid_parameter);
  EXPECT_EQ(auth::basic_challenge("pier registry").value(), R"(Basic realm="pier registry")");
}

TEST(scope, basic_credentials) {
  struct good {
    std::string header;
    std::string user;
    std::string password;
  };
  std::vector<good> const cases = {
      {"Basic YWxpY2U6czNjcmV0", "alice", "s3cret"},
      {"basic YWxpY2U6czNjcmV0", "alice", "s3cret"},
      {"BASIC   YWxpY2U6czNjcmV0  ", "alice", "s3cret"},
      {"Basic YWxpY2U6czNjcjp0", "alice", "s3cr:t"}, // split at the first ':'
      {"Basic YWxpY2U6", "alice", ""},               // an empty password parses (and fails later)
      {"Basic YTpi", "a", "b"},
      {"Basic YTpiYw==", "a", "bc"},
      {"Basic YTpiYw", "a", "bc"}, // unpadded, as a few clients send it
      {"Basic w6lsw6huZTpww6Rzcw==", "\xc3\xa9l\xc3\xa8ne", "p\xc3\xa4ss"}, // UTF-8
  };
  for (good const& c : cases) {
    SCOPED_TRACE(c.header);
    pier::result<auth::basic_credentials> r = auth::parse_basic_authorization(c.header);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->user, c.user);
    EXPECT_EQ(r->password, c.password);
  }

  struct bad {
    std::string header;
    credentials_error error;
  };
  std::vector<bad> const refused = {
      {"", credentials_error::wrong_scheme},
      {"Bearer YWxpY2U6czNjcmV0", credentials_error::wrong_scheme},
      {"Basicx YWxpY2U6czNjcmV0", credentials_error::wrong_scheme},
      {"Digest username=\"a\"", credentials_error::wrong_scheme},
      {"Basic", credentials_error::malformed},
      {"Basic ", credentials_error::malformed},
      {"Basic YWxp Y2U6", credentials_error::malformed},
      {"Basic YWxpY2U6czNjcmV0,", credentials_error::malformed},
      {"Basic !!!!", credentials_error::malformed},
      {"Basic =", credentials_error::malformed},
      {"Basic YWxpY2U", credentials_error::missing_colon}, // unpadded "alice"
      {"Basic Y", credentials_error::invalid_base64},      // 4n+1 characters
      {"Basic YTpiYw=", credentials_error::invalid_base64},
      {"Basic YTpiYw===", credentials_error::invalid_base64},
      {"Basic YWxpY2U-czNj", credentials_error::invalid_base64}, // base64url is not base64
      {"Basic YW=xpY2U", credentials_error::malformed},          // '=' only at the end
      {"Basic YWxpY2U=", credentials_error::missing_colon},      // "alice"
      {"Basic OnB3", credentials_error::empty_user},             // ":pw"
      {"Basic Og==", credentials_error::empty_user},             // ":"
      {"Basic YQpiOmM=", credentials_error::invalid_character},  // "a\nb:c"
      {"Basic YTpiDQpj", credentials_error::invalid_character},  // "a:b\r\nc"
      {"Basic YTpiAGM=", credentials_error::invalid_character},  // "a:b\0c"
      {"Basic YTpiCWM=", credentials_error::invalid_character},  // "a:b\tc"
  };
  for (bad const& c : refused) {
    SCOPED_TRACE(c.header);
    EXPECT_EQ(auth::parse_basic_authorization(c.header).error(), c.error);
  }
}

TEST(scope, bearer_credentials) {
  std::string const header =
      "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_~+/==";
  pier::result<std::string_view> t = auth::parse_bearer_authorization(header);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_~+/==");
  EXPECT_EQ(t->data(), header.data() + 7); // a view: no copy of the token
  EXPECT_EQ(auth::parse_bearer_authorization("bearer  abc ").value(), "abc");
  for (std::string_view bad : {"Bearer", "Bearer ", "Bearer a b", "Bearer a,b",
                               "Bearer =", "Bearer a=b", "Bearer \"abc\"", "Bearer a\tb"}) {
    EXPECT_EQ(auth::parse_bearer_authorization(bad).error(), credentials_error::malformed) << bad;
  }
  EXPECT_EQ(auth::parse_bearer_authorization("Basic YTpi").error(),
            credentials_error::wrong_scheme);
  EXPECT_EQ(auth::parse_bearer_authorization("Bearerabc").error(), credentials_error::wrong_scheme);
}

TEST(scope, error_categories) {
  for (int e = 1; e <= static_cast<int>(scope_error::invalid_parameter); ++e) {
    auto const se = static_cast<scope_error>(e);
    std::error_code const ec = se;
    EXPECT_STREQ(ec.category().name(), "pier.auth.scope");
    pier::oci_error const expected = se == scope_error::invalid_name ? pier::oci_error::name_invalid
                                     : se == scope_error::invalid_parameter
                                         ? pier::oci_error::unknown
                                         : pier::oci_error::unauthorized;
    EXPECT_EQ(pier::to_oci_error(ec), expected) << ec.message();
    EXPECT_NE(ec.message(), "unknown scope error");
  }
  for (int e = 1; e <= static_cast<int>(credentials_error::invalid_character); ++e) {
    std::error_code const ec = static_cast<credentials_error>(e);
    EXPECT_STREQ(ec.category().name(), "pier.auth.credentials");
    EXPECT_EQ(pier::to_oci_error(ec), pier::oci_error::unauthorized);
    EXPECT_NE(ec.message(), "unknown credentials error");
  }
}

// The @code examples of scope.hpp, compiled and run.
TEST(scope, documentation_examples) {
  {
    auto requested = auth::parse_scopes("repository:alice/app:pull,push registry:catalog:*");
    EXPECT_TRUE(requested && requested->size() == 2);

    std::vector<auth::resource_scope> granted{{"repository", "", "alice/app", {"pull"}}};
    std::vector<auth::resource_scope> access = auth::intersect(*requested, granted);
    EXPECT_TRUE(auth::to_string(access) == "repository:alice/app:pull");
    EXPECT_TRUE(auth::allows(access, "repository", "alice/app", "pull"));
    EXPECT_TRUE(!auth::allows(access, "repository", "alice/app", "push"));

    EXPECT_TRUE(
        auth::bearer_challenge("https://r.example/auth/token", "r.example", *requested).value() ==
        "Bearer realm=\"https://r.example/auth/token\",service=\"r.example\","
        "scope=\"repository:alice/app:pull,push registry:catalog:*\"");
  }
  {
    auto s = pier::auth::parse_scope("repository(plugin):vieux/sshfs:pull");
    EXPECT_TRUE(s && s->type == "repository" && s->resource_class == "plugin" &&
                s->name == "vieux/sshfs");
    EXPECT_TRUE(pier::auth::parse_scope("repository:Foo:pull").error() ==
                pier::auth::scope_error::invalid_name);
  }
  {
    auto c = pier::auth::parse_basic_authorization("Basic YWxpY2U6czNjcjp0");
    EXPECT_TRUE(c && c->user == "alice" && c->password == "s3cr:t");
    EXPECT_TRUE(pier::auth::parse_basic_authorization("Bearer abc").error() ==
                pier::auth::credentials_error::wrong_scheme);
  }
}

} // namespace scope_test
