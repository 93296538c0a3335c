// SPDX-License-Identifier: Apache-2.0
#include <pier/core/hasher.hpp>
#include <pier/auth/access_token.hpp>

#include <gtest/gtest.h>

#include <pier/core/digest.hpp>

#include <cctype>
#include <chrono>
#include <set>
#include <string>

namespace access_token_test {

namespace auth = pier::auth;
using std::chrono::hours;
using std::chrono::system_clock;

system_clock::time_point at(std::int64_t t) { return system_clock::from_time_t(t); }

bool is_id_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

TEST(AccessToken, DocExample) {
  auto const now = system_clock::now();
  auth::new_access_token t = auth::make_access_token("alice", "ci", now);
  EXPECT_TRUE(t.token.starts_with("pier_") && t.token.size() == 65);
  EXPECT_EQ(auth::access_token_id(t.token), t.record.id);
  EXPECT_TRUE(auth::check_access_token(t.record, t.token, now));
  EXPECT_FALSE(auth::access_token_id("hunter22"));
  EXPECT_FALSE(auth::access_token_id("pier_short_x"));
}

// Each scope and what it implies; a token stored without scopes keeps its registry access and
// nothing of the account.
TEST(AccessToken, ScopesAndWhatTheyAllow) {
  using G = auth::token_grants;
  auto grants = [](std::vector<std::string> const& s) { return auth::token_grants_of(s); };
  EXPECT_EQ(grants({"pull"}), (G{.pull = true}));
  EXPECT_EQ(grants({"push"}), (G{.pull = true, .push = true}));
  EXPECT_EQ(grants({"delete"}), (G{.pull = true, .del = true}));
  EXPECT_EQ(grants({"admin"}), (G{.pull = true, .push = true, .del = true, .admin = true}));
  EXPECT_EQ(grants({"pull", "delete"}), (G{.pull = true, .del = true}));
  EXPECT_EQ(grants({}), G{});
  EXPECT_EQ(grants({"root"}), G{});

  auto t = auth::make_access_token("alice", "", at(0));
  EXPECT_EQ(t.record.scopes, std::vector<std::string>{"pull"}); // the default
  EXPECT_EQ(auth::token_grants_of(t.record), (G{.pull = true}));
  t.record.scopes.clear(); // a record from before scopes
  EXPECT_EQ(auth::token_grants_of(t.record), (G{.pull = true, .push = true, .del = true}));
  auto const pushing = auth::make_access_token("alice", "", at(0), std::nullopt, {"push", "pull"});
  EXPECT_EQ(pushing.record.scopes, (std::vector<std::string>{"pull", "push"}));
  // Unknown names do not make a token with no scopes: it falls back to pull.
  EXPECT_EQ(auth::make_access_token("alice", "", at(0), std::nullopt, {"root"}).record.scopes,
            std::vector<std::string>{"pull"});

  EXPECT_EQ(auth::normalize_token_scopes({"push", "pull", "push"}),
            (std::vector<std::string>{"pull", "push"}));
  EXPECT_EQ(auth::normalize_token_scopes({"admin", "delete"}),
            (std::vector<std::string>{"delete", "admin"}));
  EXPECT_TRUE(auth::normalize_token_scopes({"root"}).empty());
  EXPECT_TRUE(auth::normalize_token_scopes({"pull", "PUSH"}).empty());
  EXPECT_TRUE(auth::normalize_token_scopes({}).empty());
  // The documentation's example.
  auto const doc = auth::make_access_token("alice", "ci", at(0), std::nullopt, {"push"});
  EXPECT_TRUE(auth::token_grants_of(doc.record).push && !auth::token_grants_of(doc.record).admin);
}

TEST(AccessToken, ShapeAndRecord) {
  auto const t = auth::make_access_token("alice", "laptop", at(1000), at(2000));
  ASSERT_EQ(t.token.size(), auth::access_token_length);
  EXPECT_EQ(t.token.substr(0, 5), "pier_");
  std::string const id = t.token.substr(5, 16);
  for (char c : id)
    EXPECT_TRUE(is_id_char(c)) << c;
  EXPECT_EQ(t.token[21], '_');
  std::string const secret = t.token.substr(22);
  ASSERT_EQ(secret.size(), 43u);
  for (char c : secret)
    EXPECT_TRUE(is_base64url_char(c)) << c;

  EXPECT_EQ(t.record.id, id);
  EXPECT_EQ(t.record.user, "alice");
  EXPECT_EQ(t.record.description, "laptop");
  EXPECT_EQ(t.record.created, at(1000));
  EXPECT_EQ(t.record.expires, at(2000));
  // The record holds the hash of the secret, never the secret.
  EXPECT_EQ(t.record.secret_hash, pier::digest_of(secret).encoded());
  EXPECT_EQ(t.record.secret_hash.find(secret), std::string::npos);
}

TEST(AccessToken, EveryTokenIsNew) {
  std::set<std::string> ids, tokens;
  for (int i = 0; i < 200; ++i) {
    auto const t = auth::make_access_token("alice", "", at(0));
    ids.insert(t.record.id);
    tokens.insert(t.token);
  }
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_EQ(tokens.size(), 200u);
}

TEST(AccessToken, IdsUseTheWholeAlphabet) {
  std::set<char> seen;
  for (int i = 0; i < 100; ++i)
    for (char c : auth::make_access_token("a", "", at(0)).record.id)
      seen.insert(c);
  // 1600 uniform draws from 36 symbols: missing one has probability ~36 * (35/36)^1600.
  EXPECT_EQ(seen.size(), 36u);
}

TEST(AccessToken, IdOfMalformedTokens) {
  auto const t = auth::make_access_token("alice", "", at(0));
  EXPECT_EQ(auth::access_token_id(t.token), t.record.id);
  EXPECT_FALSE(auth::access_token_id(""));
  EXPECT_FALSE(auth::access_token_id(t.token + "A"));         // too long
  EXPECT_FALSE(auth::access_token_id(t.token.substr(0, 64))); // too short
  std::string s = t.token;
  s[0] = 'P'; // prefix is case-sensitive
  EXPECT_FALSE(auth::access_token_id(s));
  s = t.token;
  s[6] = 'A'; // upper case in the id
  EXPECT_FALSE(auth::access_token_id(s));
  s = t.token;
  s[21] = '-'; // separator
  EXPECT_FALSE(auth::access_token_id(s));
  s = t.token;
  s[30] = '='; // not base64url
  EXPECT_FALSE(auth::access_token_id(s));
  s = t.token;
  s[30] = '+';
  EXPECT_FALSE(auth::access_token_id(s));
  s = t.token;
  s[10] = '\0';
  EXPECT_FALSE(auth::access_token_id(s));
}

TEST(AccessToken, NonCanonicalSecretIsNotAToken) {
  auto const t = auth::make_access_token("alice", "", at(0));
  std::string s = t.token;
  // The last character's two low bits lie past the 256 bits of the secret: they are zero.
  std::string_view const digits =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  auto const v = digits.find(s.back());
  ASSERT_NE(v, std::string_view::npos);
  EXPECT_EQ(v & 3, 0u);
  s.back() = digits[v | 1];
  EXPECT_FALSE(auth::access_token_id(s));
  EXPECT_FALSE(auth::check_access_token(t.record, s, at(0)));
}

TEST(AccessToken, CheckRefusesWrongSecretOrId) {
  auto const t = auth::make_access_token("alice", "", at(0));
  auto const other = auth::make_access_token("alice", "", at(0));
  EXPECT_TRUE(auth::check_access_token(t.record, t.token, at(0)));
  EXPECT_FALSE(auth::check_access_token(t.record, other.token, at(0)));
  EXPECT_FALSE(auth::check_access_token(other.record, t.token, at(0)));

  // Right id, other secret.
  std::string forged = t.token.substr(0, 22) + other.token.substr(22);
  EXPECT_FALSE(auth::check_access_token(t.record, forged, at(0)));
  // Right secret, other id (the record names the token it belongs to).
  forged = other.token.substr(0, 22) + t.token.substr(22);
  EXPECT_FALSE(auth::check_access_token(t.record, forged, at(0)));
  // One character of the secret changed.
  forged = t.token;
  forged[40] = forged[40] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(auth::check_access_token(t.record, forged, at(0)));

  EXPECT_FALSE(auth::check_access_token(t.record, "", at(0)));
  EXPECT_FALSE(auth::check_access_token(t.record, "hunter22", at(0)));
}

TEST(AccessToken, CheckRefusesDamagedRecords) {
  auto t = auth::make_access_token("alice", "", at(0));
  auto r = t.record;
  r.secret_hash.clear();
  EXPECT_FALSE(auth::check_access_token(r, t.token, at(0)));
  r = t.record;
  r.secret_hash.pop_back();
  EXPECT_FALSE(auth::check_access_token(r, t.token, at(0)));
  r = t.record;
  // Upper-case hex is another string: the stored form is lower-case only.
  for (char& c : r.secret_hash)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (r.secret_hash != t.record.secret_hash) {
    EXPECT_FALSE(auth::check_access_token(r, t.token, at(0)));
  }
}

TEST(AccessToken, Expiry) {
  auto const t = auth::make_access_token("alice", "", at(1000), at(2000));
  EXPECT_TRUE(auth::check_access_token(t.record, t.token, at(1000)));
  EXPECT_TRUE(auth::check_access_token(t.record, t.token, at(1999)));
  EXPECT_FALSE(auth::check_access_token(t.record, t.token, at(2000)));
  EXPECT_FALSE(auth::check_access_token(t.record, t.token, at(3000)));

  auto const forever = auth::make_access_token("alice", "", at(1000));
  EXPECT_FALSE(forever.record.expires);
  EXPECT_TRUE(
      auth::check_access_token(forever.record, forever.token, at(1000) + hours(24 * 365 * 100)));
}

} // namespace access_token_test
