// SPDX-License-Identifier: Apache-2.0
#include <pier/auth/password.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cassert>
#include <string>
#include <thread>
#include <vector>

namespace password_test {

namespace auth = pier::auth;
using auth::hash_scheme;
using auth::password_error;

struct known_answer {
  std::string hash;
  std::string password;
};

// Test vectors of Openwall's crypt_blowfish (wrapper.c), the bcrypt that libxcrypt ships.
// $2a$, $2b$ and $2y$ differ only in how they treat bytes >= 0x80 in the password, so for
// these ASCII passwords the same hash verifies under each prefix.
std::vector<known_answer> const bcrypt_vectors = {
    {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
    {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U*"},
    {"$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a", "U*U*U"},
    {"$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", ""},
    // bcrypt reads 72 bytes: the rest of this password makes no difference.
    {"$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
     "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are "
     "ignored"},
};

// Made with Python's crypt module (libxcrypt) when this test was written:
// crypt.crypt("pier", "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$").
known_answer const yescrypt_vector = {
    "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$z.28EVhGm8sU6ej/jpgJA5GdyrIQVIRb6mByDi5KFW4", "pier"};

TEST(password, bcrypt_known_answers) {
  for (known_answer const& v : bcrypt_vectors) {
    for (std::string prefix : {"$2a$", "$2b$", "$2y$"}) {
      std::string const hash = prefix + v.hash.substr(4);
      SCOPED_TRACE(hash);
      EXPECT_TRUE(auth::verify_password(v.password, hash));
      EXPECT_EQ(auth::verify_password("x" + v.password, hash).error(), password_error::mismatch);
      EXPECT_EQ(auth::check_hash(hash).value(), hash_scheme::bcrypt);
    }
  }
  // One hash bit off: mismatch, not an error about the hash.
  std::string flipped = bcrypt_vectors[0].hash;
  flipped.back() = flipped.back() == 'W' ? 'X' : 'W';
  EXPECT_EQ(auth::verify_password("U*U", flipped).error(), password_error::mismatch);
  // The 72-byte limit, seen from the other side: a different 73rd byte still verifies.
  known_answer const& long_one = bcrypt_vectors.back();
  EXPECT_TRUE(auth::verify_password(long_one.password.substr(0, 72), long_one.hash));
  EXPECT_TRUE(auth::verify_password(long_one.password.substr(0, 72) + "!", long_one.hash));
  EXPECT_EQ(auth::verify_password(long_one.password.substr(0, 71), long_one.hash).error(),
            password_error::mismatch);
}

TEST(password, yescrypt_known_answer) {
  EXPECT_TRUE(auth::verify_password(yescrypt_vector.password, yescrypt_vector.hash));
  EXPECT_EQ(auth::verify_password("Pier", yescrypt_vector.hash).error(), password_error::mismatch);
  EXPECT_EQ(auth::check_hash(yescrypt_vector.hash).value(), hash_scheme::yescrypt);
}

TEST(password, hash_and_verify_bcrypt) {
  pier::result<std::string> h = auth::hash_password("s3cret");
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_TRUE(h->starts_with("$2y$10$")) << *h; // htpasswd -B's prefix, the default cost
  EXPECT_EQ(h->size(), 60u);
  EXPECT_TRUE(auth::verify_password("s3cret", *h));
  EXPECT_EQ(auth::verify_password("s3cre", *h).error(), password_error::mismatch);
  EXPECT_EQ(auth::verify_password("", *h).error(), password_error::mismatch);

  // Random salts: the same password never hashes the same twice.
  pier::result<std::string> a = auth::hash_password("same", auth::password_algorithm::bcrypt, 4);
  pier::result<std::string> b = auth::hash_password("same", auth::password_algorithm::bcrypt, 4);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->starts_with("$2y$04$"));
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(auth::verify_password("same", *a) && auth::verify_password("same", *b));

  EXPECT_TRUE(auth::hash_password("x", auth::password_algorithm::bcrypt, 31 + 1).error() ==
              password_error::invalid_cost);
  EXPECT_TRUE(auth::hash_password("x", auth::password_algorithm::bcrypt, 3).error() ==
              password_error::invalid_cost);
  EXPECT_TRUE(auth::hash_password(std::string(72, 'a'), auth::password_algorithm::bcrypt, 4));
  EXPECT_EQ(auth::hash_password(std::string(73, 'a')).error(), password_error::too_long);
  EXPECT_EQ(auth::hash_password(std::string("a\0b", 3)).error(), password_error::invalid_password);
}

TEST(password, hash_and_verify_yescrypt) {
  pier::result<std::string> h =
      auth::hash_password("a much longer passphrase than bcrypt would " + std::string(100, '!'),
                          auth::password_algorithm::yescrypt, 1);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_TRUE(h->starts_with("$y$")) << *h;
  EXPECT_TRUE(auth::check_hash(*h));
  EXPECT_TRUE(auth::verify_password(
      "a much longer passphrase than bcrypt would " + std::string(100, '!'), *h));
  EXPECT_EQ(auth::verify_password(
                "a much longer passphrase than bcrypt would " + std::string(99, '!'), *h)
                .error(),
            password_error::mismatch);
  EXPECT_EQ(auth::hash_password("x", auth::password_algorithm::yescrypt, 12).error(),
            password_error::invalid_cost);
  EXPECT_EQ(auth::hash_password(std::string(512, 'a'), auth::password_algorithm::yescrypt).error(),
            password_error::too_long);
}

// What htpasswd and openssl passwd write with their other options, and crypt(3)'s other
// schemes: each is named, and refused.
TEST(password, other_schemes_are_refused_by_name) {
  struct refused {
    std::string hash;
    hash_scheme scheme;
  };
  std::vector<refused> const cases = {
      {"$1$abcdefgh$G//4keteveJp0qb8z2DxG/", hash_scheme::md5_crypt},   // openssl passwd -1
      {"$apr1$abcdefgh$FBwExRW4dCc8aL.OvjpIE1", hash_scheme::apr1_md5}, // htpasswd -m
      {"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", hash_scheme::sha1},         // htpasswd -s
      {"abJnggxhB/yWI", hash_scheme::des_crypt},                        // htpasswd -d
      {"_J9..abcdIPPmXD22F8s", hash_scheme::bsdi_des},
      {"$5$abcdefgh$ZLdkj8mkc2XVSrPVjskDAgZPGjtj1VGVaa1aUkrMTU/", hash_scheme::sha256_crypt},
      {"$6$abcdefgh$yVfUwsw5T.JApa8POvClA1pQ5peiq97DUNyXCZN5IrF.BMSkiaLQ5kvpuEm/VQ1Tvh/"
       "KV2TcaWh8qinoW5dhA1",
       hash_scheme::sha512_crypt},
      {"$2x$05$CCCCCCCCCCCCCCCCCCCCC.aDV7CQarKHMuNfh2oJkFzsHZya4whFe", hash_scheme::bcrypt_2x},
      {"$gy$j9T$F5Jx5fExrKuPp53xLKQ..1$Dogv.jai3UfiqXFIeQV0FWiA2xx/QPuuov.EGnMByDD",
       hash_scheme::gost_yescrypt},
      {"$7$CU..../....abcdefgh$hash", hash_scheme::scrypt},
      {"$md5,rounds=5000$salt$hash", hash_scheme::sun_md5},
      {"$sha1$40000$salt$hash", hash_scheme::sha1_crypt},
      {"password", hash_scheme::unknown}, // htpasswd -p: plain text
      {"", hash_scheme::unknown},
      {"$3$$8846f7eaee8fb117ad06bdd830b7586c", hash_scheme::unknown}, // NT hash
  };
  for (refused const& c : cases) {
    SCOPED_TRACE(c.hash);
    EXPECT_EQ(auth::identify_hash(c.hash), c.scheme);
    EXPECT_FALSE(auth::is_supported(c.scheme));
    EXPECT_EQ(auth::check_hash(c.hash).error(), password_error::unsupported_scheme);
    // Even the right password is refused: the scheme, not the guess, is the problem.
    EXPECT_EQ(auth::verify_password("password", c.hash).error(),
              password_error::unsupported_scheme);
    EXPECT_FALSE(auth::name(c.scheme).empty());
  }
  EXPECT_EQ(auth::name(hash_scheme::apr1_md5), "Apache MD5 ($apr1$)");
  EXPECT_EQ(auth::name(hash_scheme::sha1), "SHA-1 ({SHA})");
  EXPECT_EQ(auth::name(hash_scheme::md5_crypt), "MD5-crypt ($1$)");
  EXPECT_TRUE(auth::is_supported(hash_scheme::bcrypt));
  EXPECT_TRUE(auth::is_supported(hash_scheme::yescrypt));
}

TEST(password, malformed_hashes) {
  std::string const good = bcrypt_vectors[0].hash;
  std::vector<std::string> const cases = {
      "$2y$",
      "$2y$10$short",
      good.substr(0, 59),
      good + "A",
      "$2y$03" + good.substr(6), // cost below 4
      "$2y$32" + good.substr(6), // cost above 31
      "$2y$1a" + good.substr(6),
      "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe!",
      "$2y$05CCCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
      "$y$",
      "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$",
      "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$z.28EVhGm8sU6ej/jpgJA5GdyrIQVIRb6mByDi5KFW",
      "$y$$F5Jx5fExrKuPp53xLKQ..1$z.28EVhGm8sU6ej/jpgJA5GdyrIQVIRb6mByDi5KFW4",
      "$y$j9T$$z.28EVhGm8sU6ej/jpgJA5GdyrIQVIRb6mByDi5KFW4",
      "$y$j9T$F5Jx5fExrK!uPp53xLKQ..1$z.28EVhGm8sU6ej/jpgJA5GdyrIQVIRb6mByDi5KFW4",
  };
  for (std::string const& h : cases) {
    SCOPED_TRACE(h);
    EXPECT_EQ(auth::check_hash(h).error(), password_error::malformed_hash);
    EXPECT_EQ(auth::verify_password("U*U", h).error(), password_error::malformed_hash);
  }
}

TEST(password, passwords_crypt_cannot_take_never_match) {
  std::string const& hash = bcrypt_vectors[0].hash;
  // A NUL would end the C string early: "U*U\0junk" must not pass for "U*U".
  EXPECT_EQ(auth::verify_password(std::string("U*U\0junk", 8), hash).error(),
            password_error::mismatch);
  EXPECT_EQ(auth::verify_password(std::string(600, 'U'), hash).error(), password_error::mismatch);
  EXPECT_EQ(auth::verify_password(std::string(600, 'U'), yescrypt_vector.hash).error(),
            password_error::mismatch);
}

TEST(password, error_category) {
  std::error_code const mismatch = password_error::mismatch;
  EXPECT_STREQ(mismatch.category().name(), "pier.auth.password");
  EXPECT_EQ(pier::to_oci_error(mismatch), pier::oci_error::unauthorized);
  for (int e = 2; e <= static_cast<int>(password_error::hashing_failed); ++e) {
    std::error_code const ec = static_cast<password_error>(e);
    EXPECT_EQ(pier::to_oci_error(ec), pier::oci_error::unknown) << ec.message();
    EXPECT_FALSE(ec.message().empty());
    EXPECT_NE(ec.message(), "unknown password error");
  }
}

// crypt_rn with a crypt_data per call: verifications on several threads at once agree.
TEST(password, concurrent_verification) {
  std::string const hash = auth::hash_password("pw", auth::password_algorithm::bcrypt, 4).value();
  std::atomic<int> good{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 8; ++i) {
        if (auth::verify_password("pw", hash))
          ++good;
        if (!auth::verify_password("pw" + std::to_string(t), hash))
          ++bad;
      }
    });
  for (std::thread& t : threads)
    t.join();
  EXPECT_EQ(good, 32);
  EXPECT_EQ(bad, 32);
}

// The @code examples of password.hpp, compiled and run.
TEST(password, documentation_examples) {
  {
    pier::result<std::string> h = auth::hash_password("s3cret"); // "$2y$10$…"
    EXPECT_TRUE(h && h->starts_with("$2y$10$"));
    EXPECT_TRUE(auth::verify_password("s3cret", *h));
    EXPECT_TRUE(auth::verify_password("guess", *h).error() == auth::password_error::mismatch);
    EXPECT_TRUE(auth::verify_password("x", "$apr1$salt$hash").error() ==
                auth::password_error::unsupported_scheme);
    EXPECT_TRUE(auth::identify_hash("$apr1$salt$hash") == auth::hash_scheme::apr1_md5);
  }
  EXPECT_TRUE(
      pier::auth::identify_hash("$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW") ==
      pier::auth::hash_scheme::bcrypt);
  EXPECT_TRUE(pier::auth::identify_hash("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=") ==
              pier::auth::hash_scheme::sha1);
  {
    pier::result<std::string> y =
        pier::auth::hash_password("correct horse", pier::auth::password_algorithm::yescrypt);
    EXPECT_TRUE(y && y->starts_with("$y$"));
  }
}

} // namespace password_test
