// SPDX-License-Identifier: Apache-2.0
#include <pier/auth/htpasswd.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace htpasswd_test {

namespace auth = pier::auth;
using auth::htpasswd_error;
using std::chrono::seconds;

// crypt_blowfish's test vectors (see password_test.cpp): cost 5, quick to verify.
std::string const uu_hash = "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"; // U*U
std::string const uuu_hash =
    "$2b$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"; // U*U*U
std::string const y_hash =                                          // "pier"
    "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$z.28EVhGm8sU6ej/jpgJA5GdyrIQVIRb6mByDi5KFW4";

TEST(htpasswd, parses_users_comments_blank_lines_and_crlf) {
  std::string const text = "# users of the registry\r\n"
                           "\r\n"
                           "alice:" +
                           uu_hash +
                           "\r\n"
                           "   # an indented comment\n"
                           "\t\n"
                           "  bob:" +
                           uuu_hash +
                           "  \n"
                           "carol:" +
                           y_hash; // no newline at the end
  pier::result<auth::htpasswd> f = auth::parse_htpasswd(text);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->size(), 3u);
  EXPECT_FALSE(f->empty());
  EXPECT_EQ(f->find("alice"), std::optional<std::string_view>(uu_hash));
  EXPECT_EQ(f->find("bob"), std::optional<std::string_view>(uuu_hash));
  EXPECT_EQ(f->find("carol"), std::optional<std::string_view>(y_hash));
  EXPECT_FALSE(f->find("dave"));
  EXPECT_FALSE(f->contains("Alice")); // user names are case-sensitive
  std::vector<std::string> users;
  f->for_each_user([&](std::string_view u) { users.emplace_back(u); });
  EXPECT_EQ(users, (std::vector<std::string>{"alice", "bob", "carol"}));

  EXPECT_TRUE(f->verify("alice", "U*U"));
  EXPECT_TRUE(f->verify("bob", "U*U*U"));
  EXPECT_TRUE(f->verify("carol", "pier"));
  EXPECT_EQ(f->verify("alice", "U*U*U").error(), auth::password_error::mismatch);
  EXPECT_EQ(f->verify("dave", "U*U").error(), auth::password_error::mismatch);
  EXPECT_EQ(f->verify("", "").error(), auth::password_error::mismatch);
}

// An unknown user is checked against the most expensive entry, wherever it is in the
// file: a cheaper first entry would make unknown users answer faster than the others.
TEST(htpasswd, unknown_users_cost_the_most_expensive_entry) {
  std::string const cost4 = auth::hash_password("a-password", {}, 4).value();
  std::string const cost6 = auth::hash_password("b-password", {}, 6).value();
  std::string const cost5 = auth::hash_password("c-password", {}, 5).value();
  EXPECT_EQ(auth::hash_cost(cost4), 4u);
  EXPECT_EQ(auth::hash_cost(cost6), 6u);
  EXPECT_EQ(auth::hash_cost("plain"), 0u);
  EXPECT_EQ(auth::hash_cost(uu_hash), 5u); // the example in htpasswd.hpp
  EXPECT_GT(auth::hash_cost(y_hash), 0u);
  for (std::string const& text : {"a:" + cost4 + "\nb:" + cost6 + "\nc:" + cost5 + "\n",
                                  "c:" + cost5 + "\nb:" + cost6 + "\na:" + cost4 + "\n"}) {
    pier::result<auth::htpasswd> f = auth::parse_htpasswd(text);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->timing_hash(), cost6);
    EXPECT_EQ(auth::hash_cost(f->timing_hash()), 6u);
    // Its own user's password does not let an unknown user in.
    EXPECT_EQ(f->verify("nobody", "b-password").error(), auth::password_error::mismatch);
  }
  EXPECT_EQ(auth::parse_htpasswd("# nobody\n")->timing_hash(), "");
}

TEST(htpasswd, empty_files) {
  for (std::string_view text : {"", "\n", "# nobody yet\n", "\r\n\r\n"}) {
    pier::result<auth::htpasswd> f = auth::parse_htpasswd(text);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->empty());
    EXPECT_EQ(f->verify("anyone", "anything").error(), auth::password_error::mismatch);
  }
}

TEST(htpasswd, user_names_may_hold_what_htpasswd_allows) {
  pier::result<auth::htpasswd> f =
      auth::parse_htpasswd("first.last@example.com:" + uu_hash + "\nwith space:" + uuu_hash);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->verify("first.last@example.com", "U*U"));
  EXPECT_TRUE(f->verify("with space", "U*U*U"));
}

struct bad_file {
  std::string text;
  htpasswd_error error;
  std::size_t line;
  std::string user;
  std::string message_part;
};

TEST(htpasswd, rejects_bad_lines_with_their_number) {
  std::string const ok = "alice:" + uu_hash + "\n";
  std::vector<bad_file> const cases = {
      {ok + "bob\n", htpasswd_error::malformed_line, 2, "", "no ':'"},
      {ok + ":" + uuu_hash + "\n", htpasswd_error::malformed_line, 2, "", "empty user"},
      {"# c\n\nbob:\n", htpasswd_error::malformed_line, 3, "bob", "empty password hash"},
      {ok + "b\x01ob:" + uuu_hash, htpasswd_error::invalid_user, 2, "", "control characters"},
      {ok + "\r\n" + "alice:" + uuu_hash + "\n", htpasswd_error::duplicate_user, 3, "alice",
       "more than once"},
      {ok + "bob:$2y$05$tooshort\n", htpasswd_error::malformed_hash, 2, "bob", "malformed bcrypt"},
      {"bob:" + uu_hash + "trailing\n", htpasswd_error::malformed_hash, 1, "bob", "malformed"},
  };
  for (bad_file const& c : cases) {
    SCOPED_TRACE(c.text);
    auth::htpasswd_diagnostic why;
    pier::result<auth::htpasswd> f = auth::parse_htpasswd(c.text, &why);
    EXPECT_EQ(f.error(), c.error);
    EXPECT_EQ(why.line, c.line);
    EXPECT_EQ(why.user, c.user);
    EXPECT_TRUE(why.message.starts_with("line " + std::to_string(c.line) + ": ")) << why.message;
    EXPECT_NE(why.message.find(c.message_part), std::string::npos) << why.message;
    // The diagnostic is optional.
    EXPECT_EQ(auth::parse_htpasswd(c.text).error(), c.error);
  }
}

// The server must refuse to start on these: each is named, with its line and user.
TEST(htpasswd, rejects_weak_schemes_by_name) {
  struct weak {
    std::string hash;
    auth::hash_scheme scheme;
    std::string name;
  };
  std::vector<weak> const cases = {
      {"$apr1$abcdefgh$FBwExRW4dCc8aL.OvjpIE1", auth::hash_scheme::apr1_md5, "Apache MD5 ($apr1$)"},
      {"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", auth::hash_scheme::sha1, "SHA-1 ({SHA})"},
      {"$1$abcdefgh$G//4keteveJp0qb8z2DxG/", auth::hash_scheme::md5_crypt, "MD5-crypt ($1$)"},
      {"abJnggxhB/yWI", auth::hash_scheme::des_crypt, "traditional DES crypt"},
      {"password", auth::hash_scheme::unknown, "plain text"},
      {"$6$abcdefgh$yVfUwsw5T.JApa8POvClA1pQ5peiq97DUNyXCZN5IrF.BMSkiaLQ5kvpuEm/VQ1Tvh/"
       "KV2TcaWh8qinoW5dhA1",
       auth::hash_scheme::sha512_crypt, "SHA-512-crypt ($6$)"},
  };
  for (weak const& c : cases) {
    SCOPED_TRACE(c.hash);
    auth::htpasswd_diagnostic why;
    pier::result<auth::htpasswd> f =
        auth::parse_htpasswd("alice:" + uu_hash + "\n# x\nmallory:" + c.hash + "\n", &why);
    EXPECT_EQ(f.error(), htpasswd_error::unsupported_scheme);
    EXPECT_EQ(why.line, 3u);
    EXPECT_EQ(why.user, "mallory");
    EXPECT_EQ(why.scheme, c.scheme);
    EXPECT_NE(why.message.find("line 3: user \"mallory\": password hash scheme " + c.name),
              std::string::npos)
        << why.message;
    EXPECT_NE(why.message.find("htpasswd -B"), std::string::npos) << why.message;
  }
}

TEST(htpasswd, error_category) {
  for (int e = 1; e <= static_cast<int>(htpasswd_error::malformed_hash); ++e) {
    std::error_code const ec = static_cast<htpasswd_error>(e);
    EXPECT_STREQ(ec.category().name(), "pier.auth.htpasswd");
    EXPECT_EQ(pier::to_oci_error(ec), pier::oci_error::unknown);
    EXPECT_NE(ec.message(), "unknown htpasswd error");
  }
}

// --- credential_cache ----------------------------------------------------------------------

using clock_type = auth::credential_cache::clock;

TEST(credential_cache, remembers_successes_for_its_ttl) {
  auth::credential_cache cache(8, seconds(60));
  EXPECT_EQ(cache.capacity(), 8u);
  EXPECT_EQ(cache.ttl(), seconds(60));
  auto const t0 = clock_type::now();
  EXPECT_FALSE(cache.contains("alice", "U*U", uu_hash, t0));
  cache.insert("alice", "U*U", uu_hash, t0);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.contains("alice", "U*U", uu_hash, t0));
  EXPECT_TRUE(cache.contains("alice", "U*U", uu_hash, t0 + seconds(59)));
  EXPECT_FALSE(cache.contains("alice", "U*U", uu_hash, t0 + seconds(60)));
  // Every part of the key counts.
  EXPECT_FALSE(cache.contains("alice", "U*U*", uu_hash, t0));
  EXPECT_FALSE(cache.contains("alicE", "U*U", uu_hash, t0));
  EXPECT_FALSE(cache.contains("alice", "U*U", uuu_hash, t0)); // a new stored hash misses
  // Fields cannot run into each other.
  cache.insert("ab", "c", "h", t0);
  EXPECT_FALSE(cache.contains("a", "bc", "h", t0));
  EXPECT_FALSE(cache.contains("ab", "c", "", t0));

  // Inserting again restarts the TTL.
  cache.insert("alice", "U*U", uu_hash, t0 + seconds(30));
  EXPECT_TRUE(cache.contains("alice", "U*U", uu_hash, t0 + seconds(89)));
  EXPECT_FALSE(cache.contains("alice", "U*U", uu_hash, t0 + seconds(90)));
}

TEST(credential_cache, bounded_oldest_first) {
  auth::credential_cache cache(3, seconds(60));
  auto const t0 = clock_type::now();
  for (int i = 0; i < 5; ++i)
    cache.insert("user" + std::to_string(i), "pw", uu_hash, t0 + seconds(i));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.contains("user0", "pw", uu_hash, t0 + seconds(5)));
  EXPECT_FALSE(cache.contains("user1", "pw", uu_hash, t0 + seconds(5)));
  for (int i = 2; i < 5; ++i)
    EXPECT_TRUE(cache.contains("user" + std::to_string(i), "pw", uu_hash, t0 + seconds(5)));

  // Re-inserting an entry moves it to the back: user2 now outlives user3.
  cache.insert("user2", "pw", uu_hash, t0 + seconds(6));
  cache.insert("user5", "pw", uu_hash, t0 + seconds(7));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.contains("user3", "pw", uu_hash, t0 + seconds(7)));
  EXPECT_TRUE(cache.contains("user2", "pw", uu_hash, t0 + seconds(7)));

  // Expired entries go first when there is an insertion.
  cache.insert("late", "pw", uu_hash, t0 + seconds(200));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(credential_cache, capacity_zero_caches_nothing) {
  auth::credential_cache cache(0);
  cache.insert("alice", "U*U", uu_hash);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.contains("alice", "U*U", uu_hash));
  EXPECT_TRUE(cache.verify("alice", "U*U", uu_hash)); // still verifies, every time
}

TEST(credential_cache, verify_caches_only_successes) {
  auth::credential_cache cache;
  auto const t0 = clock_type::now();
  EXPECT_EQ(cache.verify("alice", "wrong", uu_hash, t0).error(), auth::password_error::mismatch);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.verify("alice", "U*U", uu_hash, t0));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.contains("alice", "U*U", uu_hash, t0));
  // A cached success for one hash says nothing about another one.
  EXPECT_EQ(cache.verify("alice", "U*U", uuu_hash, t0).error(), auth::password_error::mismatch);
  // Refused schemes stay refused, however they are asked.
  EXPECT_EQ(cache.verify("alice", "password", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", t0).error(),
            auth::password_error::unsupported_scheme);
}

TEST(credential_cache, answers_from_memory_without_rehashing) {
  // A cached entry is found even though the hash can no longer be verified (it is
  // malformed now): proof the second call did not run crypt.
  auth::credential_cache cache;
  auto const t0 = clock_type::now();
  cache.insert("alice", "pw", "$2y$05$not-a-real-hash", t0);
  EXPECT_TRUE(cache.verify("alice", "pw", "$2y$05$not-a-real-hash", t0));
  EXPECT_EQ(cache.verify("alice", "pw", "$2y$05$not-a-real-hash", t0 + seconds(61)).error(),
            auth::password_error::malformed_hash);
}

TEST(credential_cache, erase_user_and_clear) {
  auth::credential_cache cache;
  auto const t0 = clock_type::now();
  cache.insert("alice", "one", uu_hash, t0);
  cache.insert("alice", "two", uu_hash, t0); // a second secret, e.g. an access token
  cache.insert("bob", "one", uu_hash, t0);
  EXPECT_EQ(cache.size(), 3u);
  cache.erase_user("alice");
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_FALSE(cache.contains("alice", "one", uu_hash, t0));
  EXPECT_FALSE(cache.contains("alice", "two", uu_hash, t0));
  EXPECT_TRUE(cache.contains("bob", "one", uu_hash, t0));
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.contains("bob", "one", uu_hash, t0));
}

TEST(credential_cache, caches_are_independent) {
  // Each cache draws its own key: what one holds says nothing in another.
  auth::credential_cache a;
  auth::credential_cache b;
  auto const t0 = clock_type::now();
  a.insert("alice", "pw", uu_hash, t0);
  EXPECT_TRUE(a.contains("alice", "pw", uu_hash, t0));
  EXPECT_FALSE(b.contains("alice", "pw", uu_hash, t0));
}

TEST(credential_cache, concurrent_use_keeps_the_bound) {
  auth::credential_cache cache(50, seconds(60));
  auto const t0 = clock_type::now();
  std::atomic<int> hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        std::string const user = "u" + std::to_string(t) + "-" + std::to_string(i % 40);
        cache.insert(user, "pw", uu_hash, t0);
        if (cache.contains(user, "pw", uu_hash, t0))
          ++hits;
        if (i % 100 == 0)
          cache.erase_user(user);
      }
    });
  for (std::thread& t : threads)
    t.join();
  EXPECT_LE(cache.size(), 50u);
  EXPECT_GT(hits, 0);
}

TEST(htpasswd, verify_through_a_cache) {
  pier::result<auth::htpasswd> f = auth::parse_htpasswd("alice:" + uu_hash + "\n");
  ASSERT_TRUE(f);
  auth::credential_cache cache;
  EXPECT_TRUE(f->verify("alice", "U*U", cache));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(f->verify("alice", "U*U", cache));
  EXPECT_EQ(f->verify("alice", "nope", cache).error(), auth::password_error::mismatch);
  EXPECT_EQ(f->verify("mallory", "U*U", cache).error(), auth::password_error::mismatch);
  EXPECT_EQ(cache.size(), 1u);
  // Reloading the file with a new hash for alice: the old password misses the cache.
  pier::result<auth::htpasswd> g = auth::parse_htpasswd("alice:" + uuu_hash + "\n");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->verify("alice", "U*U", cache).error(), auth::password_error::mismatch);
  EXPECT_TRUE(g->verify("alice", "U*U*U", cache));
}

// The @code examples of htpasswd.hpp, compiled and run.
TEST(htpasswd, documentation_examples) {
  {
    pier::result<auth::htpasswd> file = auth::parse_htpasswd(
        "# registry users\n"
        "alice:$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n");
    EXPECT_TRUE(file && file->size() == 1);
    EXPECT_TRUE(file->verify("alice", "U*U"));

    auth::credential_cache cache;                        // 1024 entries, 60 s
    EXPECT_TRUE(file->verify("alice", "U*U", cache));    // runs bcrypt, remembers the success
    EXPECT_TRUE(file->verify("alice", "U*U", cache));    // answered from the cache
    EXPECT_TRUE(!file->verify("alice", "wrong", cache)); // failures are never cached
  }
  {
    pier::auth::htpasswd_diagnostic why;
    auto f = pier::auth::parse_htpasswd("bob:$apr1$x$y\n", &why);
    EXPECT_TRUE(f.error() == pier::auth::htpasswd_error::unsupported_scheme);
    EXPECT_TRUE(why.line == 1 && why.scheme == pier::auth::hash_scheme::apr1_md5);
    EXPECT_EQ(why.message, "line 1: user \"bob\": password hash scheme Apache MD5 ($apr1$) is not "
                           "supported; use bcrypt (htpasswd -B)");
  }
  {
    pier::auth::credential_cache cache(100, std::chrono::seconds(30));
    std::string const hash = pier::auth::hash_password("pw", {}, 4).value();
    auto const t = pier::auth::credential_cache::clock::now();
    EXPECT_TRUE(cache.verify("u", "pw", hash, t)); // bcrypt, then cached
    EXPECT_TRUE(cache.contains("u", "pw", hash, t));
    EXPECT_TRUE(!cache.contains("u", "pw", hash, t + std::chrono::seconds(31))); // expired
  }
}

} // namespace htpasswd_test
