// SPDX-License-Identifier: Apache-2.0
#include <pier/registry/api.hpp>

#include <gtest/gtest.h>

#include "../storage/test_util.hpp"

#include <pier/storage/memory.hpp>

#include <asio/io_context.hpp>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace namespace_api_test {

namespace http = pier::http;
namespace json = boost::json;
namespace registry = pier::registry;
namespace storage = pier::storage;
using pier_test::run;

// A response as the tests look at it: every answer of this API is a JSON body.
struct reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string, std::less<>> headers; // those the tests look at

  json::value json() const { return json::parse(body); }
  std::string header(std::string_view name) const {
    auto const it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  // The code of the first error.
  std::string code() const { return std::string(json().at("errors").at(0).at("code").as_string()); }
};

std::vector<std::string> strings(json::value const& list) {
  std::vector<std::string> out;
  for (json::value const& v : list.as_array())
    out.emplace_back(v.as_string());
  return out;
}

using v = std::vector<std::string>;

// Repositories: acme/api (tags v1, latest), acme/web (none), acme/web/app (1.0),
// acme/secret (s1), beta/one (x), beta/two (y), gamma/hidden (h), alpine (3). Public:
// acme/api, acme/web/app, beta/two, alpine.
class NamespaceApi : public ::testing::Test {
protected:
  NamespaceApi() : NamespaceApi(registry::namespace_api_options{}) {}
  explicit NamespaceApi(registry::namespace_api_options o) : api_(store_, o) {
    push("acme/api", "v1", "one");
    push("acme/api", "latest", "one");
    EXPECT_TRUE(run(io_, store_.link_blob("acme/web", pier::digest_of("blob"))));
    push("acme/web/app", "1.0", "app");
    push("acme/secret", "s1", "secret");
    push("beta/one", "x", "x");
    push("beta/two", "y", "y");
    push("gamma/hidden", "h", "h");
    push("alpine", "3", "alpine");
    public_ = {"acme/api", "acme/web/app", "beta/two", "alpine"};
  }

  pier::digest push(std::string repository, std::string tag, std::string const& label) {
    storage::manifest_put m;
    m.bytes = R"({"schemaVersion":2,"annotations":{"l":")" + label + "\"}}";
    m.digest = pier::digest_of(m.bytes);
    m.media_type = "application/vnd.oci.image.manifest.v1+json";
    m.tag = std::move(tag);
    pier::digest d = m.digest;
    EXPECT_TRUE(run(io_, store_.put_manifest(std::move(repository), std::move(m))));
    return d;
  }

  // An administrator.
  registry::pull_access admin() const {
    registry::pull_access a;
    a.everything = true;
    return a;
  }
  // Anonymous: the public repositories; every question counted.
  registry::pull_access anonymous() {
    registry::pull_access a;
    a.may_pull = [this](std::string repo) -> asio::awaitable<bool> {
      ++questions_;
      co_return public_.contains(repo);
    };
    return a;
  }
  // A member of acme: all of acme, and the public repositories.
  registry::pull_access acme_member() {
    registry::pull_access a = anonymous();
    a.whole_namespace = [](std::string_view ns) { return ns == "acme"; };
    return a;
  }

  using api_type = registry::namespace_api<storage::memory_metadata_store>;

  reply call(std::string target, registry::pull_access const& who, std::string method = "GET") {
    return call(api_, std::move(target), who, std::move(method));
  }
  reply call(api_type const& api, std::string target, registry::pull_access const& who,
             std::string method = "GET") {
    http::request_head head;
    head.set_method(std::move(method));
    head.set_target(std::move(target));
    head.set_version(11);
    http::string_body_reader reader("");
    http::request req(std::move(head), reader, "127.0.0.1");
    http::response res = run(io_, api.handle(req, who));
    reply out;
    out.status = res.status();
    for (char const* name : {"Content-Type", "Cache-Control", "Link", "Allow"}) {
      if (auto const value = res.headers().find(name))
        out.headers.emplace(name, std::string(*value));
    }
    if (auto const* s = std::get_if<std::string>(&res.body()))
      out.body = *s;
    EXPECT_EQ(out.header("Content-Type"), "application/json") << out.body;
    EXPECT_EQ(out.header("Cache-Control"), "no-store");
    return out;
  }

  asio::io_context io_;
  storage::memory_metadata_store store_;
  api_type api_;
  std::set<std::string, std::less<>> public_;
  std::size_t questions_ = 0;
};

TEST_F(NamespaceApi, handles_its_prefixes_only) {
  using api = registry::namespace_api<storage::memory_metadata_store>;
  EXPECT_TRUE(api::handles("/api/v1/namespaces"));
  EXPECT_TRUE(api::handles("/api/v1/namespaces?n=2&last=a"));
  EXPECT_TRUE(api::handles("/api/v1/namespaces/acme/repositories"));
  EXPECT_TRUE(api::handles("/api/v1/namespaces/acme/tags"));
  EXPECT_TRUE(api::handles("/api/v1/namespaces/%2e%2e/tags")); // ours: 400
  EXPECT_TRUE(api::handles("/api/v1/namespaces/.."));
  EXPECT_TRUE(api::handles("/api/v1/namespaces/acme/nothing")); // ours: 404
  EXPECT_TRUE(api::handles("/api/v1/search?q=web"));
  EXPECT_FALSE(api::handles("/api/v1/users"));
  EXPECT_FALSE(api::handles("/api/v1/repositories/acme/api"));
  EXPECT_FALSE(api::handles("/v2/_catalog"));
  EXPECT_FALSE(api::handles("/api/v2/namespaces"));
}

TEST_F(NamespaceApi, an_administrator_sees_every_namespace_page_by_page) {
  reply r = call("/api/v1/namespaces", admin());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(strings(r.json().at("namespaces")), (v{"acme", "beta", "gamma"}));
  EXPECT_EQ(r.header("Link"), "");

  r = call("/api/v1/namespaces?n=2", admin());
  EXPECT_EQ(strings(r.json().at("namespaces")), (v{"acme", "beta"}));
  EXPECT_EQ(r.header("Link"), R"(</api/v1/namespaces?n=2&last=beta>; rel="next")");
  r = call("/api/v1/namespaces?n=2&last=beta", admin());
  EXPECT_EQ(strings(r.json().at("namespaces")), v{"gamma"});
  EXPECT_EQ(r.header("Link"), "");
  r = call("/api/v1/namespaces?n=0", admin());
  EXPECT_TRUE(r.json().at("namespaces").as_array().empty());
  EXPECT_EQ(questions_, 0u);
}

TEST_F(NamespaceApi, repositories_and_tags_of_a_namespace) {
  reply r = call("/api/v1/namespaces/acme/repositories", admin());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("namespace").as_string(), "acme");
  EXPECT_EQ(strings(r.json().at("repositories")),
            (v{"acme/api", "acme/secret", "acme/web", "acme/web/app"}));

  r = call("/api/v1/namespaces/acme/repositories?n=1&last=acme%2Fapi", admin());
  EXPECT_EQ(strings(r.json().at("repositories")), v{"acme/secret"});
  EXPECT_EQ(r.header("Link"),
            R"(</api/v1/namespaces/acme/repositories?n=1&last=acme%2Fsecret>; rel="next")");

  auto const before = std::chrono::system_clock::now() - std::chrono::seconds(1);
  r = call("/api/v1/namespaces/acme/tags?n=2", admin());
  ASSERT_EQ(r.status, 200) << r.body;
  json::value const body = r.json();
  json::array const& tags = body.at("tags").as_array();
  ASSERT_EQ(tags.size(), 2u);
  json::object const& t = tags[0].as_object();
  EXPECT_EQ(t.at("repository").as_string(), "acme/api");
  EXPECT_EQ(t.at("tag").as_string(), "latest");
  std::string const bytes = R"({"schemaVersion":2,"annotations":{"l":"one"}})";
  EXPECT_EQ(t.at("digest").as_string(), pier::digest_of(bytes).str());
  EXPECT_EQ(t.at("mediaType").as_string(), "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(t.at("size").to_number<std::size_t>(), bytes.size());
  std::string const pushed(t.at("pushed").as_string());
  EXPECT_EQ(pushed.size(), 20u) << pushed; // 2026-11-22T16:25:00Z
  EXPECT_EQ(pushed.back(), 'Z');
  EXPECT_GE(pushed, pier::detail::rfc3339::format(before));
  EXPECT_EQ(tags[1].at("tag").as_string(), "v1");
  EXPECT_EQ(r.header("Link"),
            R"(</api/v1/namespaces/acme/tags?n=2&last=acme%2Fapi%3Av1>; rel="next")");

  r = call("/api/v1/namespaces/acme/tags?n=2&last=acme%2Fapi%3Av1", admin());
  json::value const more = r.json();
  json::array const& rest = more.at("tags").as_array();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].at("repository").as_string(), "acme/secret");
  EXPECT_EQ(rest[1].at("repository").as_string(), "acme/web/app");
  EXPECT_EQ(r.header("Link"), "");

  // Nobody's namespace: empty, not an error (nothing tells which namespaces exist).
  r = call("/api/v1/namespaces/nobody/tags", admin());
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.json().at("tags").as_array().empty());
}

TEST_F(NamespaceApi, anonymous_callers_see_what_they_may_pull) {
  registry::pull_access const who = anonymous();
  reply r = call("/api/v1/namespaces", who);
  EXPECT_EQ(strings(r.json().at("namespaces")), (v{"acme", "beta"})); // not gamma
  r = call("/api/v1/namespaces/acme/repositories", who);
  EXPECT_EQ(strings(r.json().at("repositories")), (v{"acme/api", "acme/web/app"}));
  r = call("/api/v1/namespaces/gamma/repositories", who);
  EXPECT_TRUE(r.json().at("repositories").as_array().empty());

  std::size_t const asked = questions_;
  r = call("/api/v1/namespaces/acme/tags", who);
  std::vector<std::string> listed;
  json::value const body = r.json();
  for (json::value const& t : body.at("tags").as_array())
    listed.push_back(std::string(t.at("repository").as_string()) + ":" +
                     std::string(t.at("tag").as_string()));
  EXPECT_EQ(listed, (v{"acme/api:latest", "acme/api:v1", "acme/web/app:1.0"}));
  EXPECT_EQ(questions_ - asked, 3u); // once per repository, not per tag

  r = call("/api/v1/search?q=t", who); // not acme/secret nor beta/one
  EXPECT_EQ(r.json().at("query").as_string(), "t");
  EXPECT_EQ(strings(r.json().at("repositories")), v{"beta/two"});
  EXPECT_EQ(r.header("Link"), "");
  r = call("/api/v1/search?q=a&n=2", who);
  EXPECT_EQ(strings(r.json().at("repositories")), (v{"acme/api", "acme/web/app"}));
  EXPECT_EQ(r.header("Link"), R"(</api/v1/search?q=a&n=2&last=acme%2Fweb%2Fapp>; rel="next")");
  r = call("/api/v1/search?q=a&n=2&last=acme%2Fweb%2Fapp", who);
  EXPECT_EQ(strings(r.json().at("repositories")), (v{"alpine", "beta/two"}));

  // No may_pull at all: nothing.
  r = call("/api/v1/namespaces", registry::pull_access{});
  EXPECT_TRUE(r.json().at("namespaces").as_array().empty());
}

TEST_F(NamespaceApi, a_namespace_member_is_not_checked_per_repository) {
  registry::pull_access const who = acme_member();
  reply r = call("/api/v1/namespaces/acme/repositories", who);
  EXPECT_EQ(strings(r.json().at("repositories")),
            (v{"acme/api", "acme/secret", "acme/web", "acme/web/app"}));
  r = call("/api/v1/namespaces/acme/tags", who);
  EXPECT_EQ(r.json().at("tags").as_array().size(), 4u);
  EXPECT_EQ(questions_, 0u);
  // Elsewhere, the public repositories only.
  r = call("/api/v1/search?q=secret", who);
  EXPECT_EQ(strings(r.json().at("repositories")), v{"acme/secret"});
  r = call("/api/v1/search?q=c", who);
  EXPECT_EQ(strings(r.json().at("repositories")),
            (v{"acme/api", "acme/secret", "acme/web", "acme/web/app"}));
  EXPECT_EQ(questions_, 0u);
}

class NamespaceApiSmallScan : public NamespaceApi {
protected:
  NamespaceApiSmallScan() : NamespaceApi(registry::namespace_api_options{100, 2}) {}
};

// The `last` value of a `Link` header, decoded ("" without one).
std::string last_of(std::string const& link) {
  std::size_t const at = link.find("&last=");
  if (at == std::string::npos)
    return {};
  std::string const raw = link.substr(at + 6, link.find('>') - at - 6);
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size()) {
      out += static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += raw[i];
    }
  }
  return out;
}

// A page for a caller who may see little stops after `max_scan` items and continues from
// where it stopped: no request reads the whole registry. Where it stopped may be an item
// the caller may not see: the Link then carries an opaque cursor, never the name.
TEST_F(NamespaceApiSmallScan, a_filtered_page_reads_at_most_max_scan_items) {
  registry::pull_access const who = anonymous();
  reply r = call("/api/v1/search?q=&n=1", who); // acme/api is public
  EXPECT_EQ(strings(r.json().at("repositories")), v{"acme/api"});
  EXPECT_EQ(r.header("Link"), R"(</api/v1/search?q=&n=1&last=acme%2Fapi>; rel="next")");
  // acme/secret and acme/web are not: two read, none kept, and the page ends there, on a
  // hidden name, which the Link seals.
  r = call("/api/v1/search?q=&n=5&last=acme%2Fapi", who);
  EXPECT_TRUE(r.json().at("repositories").as_array().empty()) << r.body;
  std::string const link = r.header("Link");
  EXPECT_TRUE(link.starts_with("</api/v1/search?q=&n=5&last=~")) << link;
  EXPECT_EQ(link.find("web"), std::string::npos) << link;
  EXPECT_EQ(link.find("secret"), std::string::npos) << link;
  r = call(link.substr(1, link.find('>') - 1), who);
  EXPECT_EQ(strings(r.json().at("repositories")), (v{"acme/web/app", "alpine"}));
  EXPECT_EQ(r.header("Link"), R"(</api/v1/search?q=&n=5&last=alpine>; rel="next")");
  // Namespaces: the repositories looked at count too. acme: acme, acme/api (public).
  r = call("/api/v1/namespaces", who);
  EXPECT_EQ(strings(r.json().at("namespaces")), v{"acme"});
  EXPECT_EQ(r.header("Link"), R"(</api/v1/namespaces?n=100&last=acme>; rel="next")");
  // beta: beta, beta/one, beta/two (public): a namespace is decided before the page ends.
  r = call("/api/v1/namespaces?last=acme", who);
  EXPECT_EQ(strings(r.json().at("namespaces")), v{"beta"});
  EXPECT_EQ(r.header("Link"), R"(</api/v1/namespaces?n=100&last=beta>; rel="next")");
  // gamma: gamma, gamma/hidden; and nothing after it.
  r = call("/api/v1/namespaces?last=beta", who);
  EXPECT_TRUE(r.json().at("namespaces").as_array().empty());
  EXPECT_EQ(r.header("Link"), "");
}

// Paging through every listing with every page size, as anonymous (who sees the public
// repositories) and as someone else (who sees beta/one as well): each visible item exactly
// once, in order, and no hidden name in any body or header, whatever the page ends on.
TEST_F(NamespaceApiSmallScan, cursors_never_reveal_hidden_names) {
  registry::pull_access const anon = anonymous();
  registry::pull_access other = anonymous();
  other.may_pull = [this](std::string repo) -> asio::awaitable<bool> {
    co_return public_.contains(repo) || repo == "beta/one";
  };
  struct listing {
    std::string path;
    std::string key;
    registry::pull_access const* who;
    v visible; // the items, in order (tags as repository:tag)
  };
  std::vector<listing> const listings = {
      {"/api/v1/search?q=", "repositories", &anon, {"acme/api", "acme/web/app", "alpine", "beta/two"}},
      {"/api/v1/search?q=b", "repositories", &anon, {"acme/web/app", "beta/two"}},
      {"/api/v1/namespaces?", "namespaces", &anon, {"acme", "beta"}},
      {"/api/v1/namespaces/acme/repositories?", "repositories", &anon, {"acme/api", "acme/web/app"}},
      {"/api/v1/namespaces/acme/tags?", "tags", &anon,
       {"acme/api:latest", "acme/api:v1", "acme/web/app:1.0"}},
      {"/api/v1/namespaces/beta/tags?", "tags", &anon, {"beta/two:y"}},
      {"/api/v1/namespaces/gamma/tags?", "tags", &anon, {}},
      {"/api/v1/search?q=", "repositories", &other,
       {"acme/api", "acme/web/app", "alpine", "beta/one", "beta/two"}},
      {"/api/v1/namespaces/beta/repositories?", "repositories", &other, {"beta/one", "beta/two"}},
  };
  // Names (or parts) that only hidden items have.
  std::vector<std::string> const hidden = {"secret", "gamma", "hidden", "acme%2Fweb>",
                                           "acme/web\"", "acme%2Fweb&", "acme%2Fweb%3A"};
  for (listing const& l : listings) {
    for (std::size_t n = 1; n <= 4; ++n) {
      std::string next = l.path + (l.path.ends_with('?') ? "" : "&") + "n=" + std::to_string(n);
      v seen;
      int pages = 0;
      while (!next.empty() && pages++ < 50) {
        SCOPED_TRACE(next);
        reply const r = call(next, *l.who);
        ASSERT_EQ(r.status, 200) << next << ' ' << r.body;
        json::value const body = r.json();
        for (json::value const& item : body.at(l.key).as_array()) {
          if (item.is_string())
            seen.emplace_back(item.as_string());
          else
            seen.push_back(std::string(item.at("repository").as_string()) + ':' +
                           std::string(item.at("tag").as_string()));
        }
        std::string const link = r.header("Link");
        std::string const last = last_of(link);
        // The header but an opaque cursor (random bytes may spell anything).
        std::string const plain = last.starts_with('~') ? link.substr(0, link.find("&last=")) : link;
        for (std::string const& h : hidden) {
          if (l.path.find(h) != std::string::npos)
            continue; // the namespace the caller named is echoed
          EXPECT_EQ(r.body.find(h), std::string::npos) << h << " in " << r.body;
          EXPECT_EQ(plain.find(h), std::string::npos) << h << " in " << link;
        }
        // A cursor is a name the caller was shown or an opaque one.
        bool const shown = std::find(seen.begin(), seen.end(), last) != seen.end();
        EXPECT_TRUE(last.empty() || shown || last.starts_with('~')) << link;
        next = link.empty() ? "" : link.substr(1, link.find('>') - 1);
      }
      EXPECT_EQ(seen, l.visible) << l.path << " n=" << n;
    }
  }
}

// A sealed cursor that was altered, cut, made up, or issued for another listing is
// refused, with a message that says what to do.
TEST_F(NamespaceApiSmallScan, tampered_cursors_are_refused) {
  registry::pull_access const who = anonymous();
  reply r = call("/api/v1/search?q=&n=5&last=acme%2Fapi", who);
  std::string const link = r.header("Link");
  std::string const cursor = last_of(link);
  ASSERT_TRUE(cursor.starts_with('~')) << link;
  EXPECT_EQ(call("/api/v1/search?q=&n=5&last=" + cursor, who).status, 200);

  std::string flipped = cursor;
  flipped[cursor.size() / 2] = flipped[cursor.size() / 2] == 'A' ? 'B' : 'A';
  std::vector<std::string> const bad = {
      flipped, cursor.substr(0, cursor.size() - 4), cursor + "AAAA", "~", "~AAAA", "~!!",
      "~" + std::string(571, 'A')};
  for (std::string const& c : bad) {
    r = call("/api/v1/search?q=&n=5&last=" + c, who);
    EXPECT_EQ(r.status, 400) << c;
    EXPECT_EQ(r.code(), "UNSUPPORTED") << c;
    EXPECT_NE(r.body.find("cursor"), std::string::npos) << r.body;
  }
  // Bound to its listing.
  for (char const* other : {"/api/v1/namespaces?last=", "/api/v1/namespaces/acme/tags?last=",
                            "/api/v1/namespaces/acme/repositories?last="}) {
    r = call(other + cursor, who);
    EXPECT_EQ(r.status, 400) << other;
  }
}

// A cursor opens under the key that sealed it, in another instance too (another replica,
// or the server after a restart), and is refused as any unknown cursor (400, not 500)
// under another key, the process's own included.
TEST_F(NamespaceApiSmallScan, cursors_open_under_the_key_that_sealed_them) {
  auto const keyed = [](char fill) {
    registry::namespace_api_options o{100, 2};
    o.cursor_key = registry::cursor_key::from_bytes(std::string(32, fill)).value();
    return o;
  };
  api_type const first(store_, keyed('a'));
  api_type const same_key(store_, keyed('a'));
  api_type const other_key(store_, keyed('b'));
  registry::pull_access const who = anonymous();
  reply r = call(first, "/api/v1/search?q=&n=5&last=acme%2Fapi", who);
  std::string const cursor = last_of(r.header("Link"));
  ASSERT_TRUE(cursor.starts_with('~')) << r.header("Link");
  std::string const next = "/api/v1/search?q=&n=5&last=" + cursor;
  reply const own = call(first, next, who);
  EXPECT_EQ(own.status, 200) << own.body;
  r = call(same_key, next, who);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, own.body);
  for (api_type const* refusing : {&other_key, static_cast<api_type const*>(&api_)}) {
    r = call(*refusing, next, who);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.code(), "UNSUPPORTED");
    EXPECT_NE(r.body.find("cursor"), std::string::npos) << r.body;
  }
}

// The cursor itself: what is sealed opens again, for its listing and key only, and says
// nothing of the position's length.
TEST(namespace_api_cursor, seals_and_opens) {
  namespace cursor = registry::detail::cursor;
  registry::cursor_key const key;
  std::string const a = cursor::seal("alice/hidden-project-x:secret-release-09999", "/p", key);
  std::string const b = cursor::seal("a", "/p", key);
  EXPECT_TRUE(a.starts_with('~'));
  EXPECT_EQ(a.size(), b.size());
  EXPECT_EQ(a.find("alice"), std::string::npos);
  EXPECT_EQ(cursor::open(a, "/p", key), "alice/hidden-project-x:secret-release-09999");
  EXPECT_EQ(cursor::open(b, "/p", key), "a");
  EXPECT_EQ(cursor::open(a, "/q", key), std::nullopt);
  EXPECT_EQ(cursor::open(a, "/p", registry::cursor_key::generate().value()), std::nullopt);
  EXPECT_NE(cursor::seal("a", "/p", key), b); // a fresh nonce each time
  EXPECT_EQ(cursor::open("alice", "/p", key), std::nullopt);
  std::string const longest = std::string(255, 'r') + ':' + std::string(128, 't');
  EXPECT_EQ(cursor::open(cursor::seal(longest, "/p", key), "/p", key), longest);
}

// A key is exactly 32 bytes, kept as given; generated keys differ.
TEST(namespace_api_cursor, keys) {
  EXPECT_FALSE(registry::cursor_key::from_bytes(std::string(31, 'k')));
  EXPECT_FALSE(registry::cursor_key::from_bytes(std::string(33, 'k')));
  EXPECT_FALSE(registry::cursor_key::from_bytes(""));
  std::string bytes(32, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(i * 7);
  registry::cursor_key const k = registry::cursor_key::from_bytes(bytes).value();
  EXPECT_EQ(std::string(reinterpret_cast<char const*>(k.bytes().data()), k.bytes().size()), bytes);
  registry::cursor_key const g1 = registry::cursor_key::generate().value();
  registry::cursor_key const g2 = registry::cursor_key::generate().value();
  EXPECT_FALSE(std::equal(g1.bytes().begin(), g1.bytes().end(), g2.bytes().begin()));
}

TEST_F(NamespaceApi, errors) {
  reply r = call("/api/v1/namespaces/%2e%2e/tags", admin());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "NAME_INVALID");
  r = call("/api/v1/namespaces/a%2Fb/repositories", admin());
  EXPECT_EQ(r.code(), "NAME_INVALID");
  r = call("/api/v1/namespaces/Acme/repositories", admin());
  EXPECT_EQ(r.code(), "NAME_INVALID");
  r = call("/api/v1/namespaces?n=many", admin());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "PAGINATION_NUMBER_INVALID");
  r = call("/api/v1/namespaces/acme", admin());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.code(), "NOT_FOUND");
  r = call("/api/v1/search/x", admin());
  EXPECT_EQ(r.status, 404);
  r = call("/api/v1/namespaces", admin(), "POST");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET, HEAD");
  r = call("/api/v1/namespaces", admin(), "HEAD");
  EXPECT_EQ(r.status, 200);
}

// As the header's example writes it.
TEST(namespace_api_example, the_store_type_is_deduced) {
  storage::memory_metadata_store meta;
  registry::namespace_api api(meta);
  static_assert(
      std::is_same_v<decltype(api), registry::namespace_api<storage::memory_metadata_store>>);
  EXPECT_TRUE(api.handles("/api/v1/namespaces/acme/tags?n=10"));
}

TEST(namespace_api_time, rfc3339_in_utc) {
  using namespace std::chrono;
  EXPECT_EQ(pier::detail::rfc3339::format(system_clock::time_point{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(
      pier::detail::rfc3339::format(system_clock::from_time_t(1700000000) + milliseconds(999)),
      "2023-11-14T22:13:20Z");
}

} // namespace namespace_api_test
