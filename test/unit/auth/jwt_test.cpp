// SPDX-License-Identifier: Apache-2.0
#include <pier/auth/jwt.hpp>

#include <gtest/gtest.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace jwt_test {

namespace auth = pier::auth;
namespace json = boost::json;
using auth::jwt_error;
using std::chrono::seconds;
using std::chrono::system_clock;

system_clock::time_point at(std::int64_t t) { return system_clock::from_time_t(t); }

auth::jwt_verify_options at_time(std::int64_t t) {
  auth::jwt_verify_options o;
  o.now = at(t);
  return o;
}

// Keys are made when the tests run: no private key is in the repository.
auth::es256_key const& key_a() {
  static auth::es256_key const k = auth::es256_key::generate().value();
  return k;
}
auth::es256_key const& key_b() {
  static auth::es256_key const k = auth::es256_key::generate().value();
  return k;
}

json::object claims(std::int64_t exp = 2000000000) {
  return json::object{{"iss", "pier"}, {"sub", "alice"}, {"aud", "registry.test"}, {"exp", exp},
                      {"iat", 1000},   {"jti", "abc"},   {"access", json::array{}}};
}

std::string b64(std::string_view s) { return auth::base64url_encode(s); }

// Signs whatever header and claims text it is given, independently of sign_jwt: OpenSSL's
// DER signature converted to R || S here, in the test.
std::string sign_raw(std::string_view header, std::string_view payload, auth::es256_key const& k) {
  std::string token = b64(header) + "." + b64(payload);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, k.native_handle()), 1);
  std::size_t len = 0;
  auto const* tbs = reinterpret_cast<unsigned char const*>(token.data());
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, tbs, token.size()), 1);
  std::vector<unsigned char> der(len);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), der.data(), &len, tbs, token.size()), 1);
  unsigned char const* p = der.data();
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)), ECDSA_SIG_free);
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  return token + "." + b64(raw);
}

std::string es256_header(auth::es256_key const& k) {
  return R"({"typ":"JWT","alg":"ES256","kid":")" + k.key_id() + "\"}";
}

std::vector<std::string> split(std::string const& token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t const dot = token.find('.', start);
    parts.push_back(token.substr(start, dot - start));
    if (dot == std::string::npos)
      return parts;
    start = dot + 1;
  }
}

// --- base64url -------------------------------------------------------------------------------

TEST(jwt, base64url_rfc4648_vectors) {
  std::vector<std::pair<std::string, std::string>> const v = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff\xbf", "-_-_"},
  };
  for (auto const& [plain, encoded] : v) {
    EXPECT_EQ(auth::base64url_encode(plain), encoded);
    EXPECT_EQ(auth::base64url_decode(encoded).value(), plain);
  }
}

TEST(jwt, base64url_round_trips_every_byte_and_length) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    std::string const e = auth::base64url_encode(bytes);
    EXPECT_EQ(e.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(auth::base64url_decode(e).value(), bytes);
    bytes.push_back(static_cast<char>(i * 37 + 11));
  }
}

TEST(jwt, base64url_refuses_what_is_not_canonical_unpadded_base64url) {
  for (std::string_view bad : {"Zg==", "Zm8=", "Z", "Zm9vY", "Zm+v", "Zm/v", "Zm9v\n", " Zm9v",
                               "Zm 9v", "Zh", "Zm9", "=", "Zg=", "Zm9v====", "Z\0g"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(auth::base64url_decode(bad).error(), jwt_error::invalid_base64);
  }
}

// --- keys ----------------------------------------------------------------------------------

// The public half of the ECDSA key in Docker's jwt.md (x = m7zUpx3b…, y = dU3biz8s…), whose
// `kid` that document states. The private half is in jwt.md too, but not here: only the
// public key is needed.
constexpr std::string_view docker_example_public_pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEm7zUpx3b+zmVE5cymSs64POG9Qcy\n"
    "EpJaYCD82+549/R1TduLPyxn/wY8H6h2bxbHPeU0OvXFwBBA9Bo5yvV+Zw==\n"
    "-----END PUBLIC KEY-----\n";

TEST(jwt, libtrust_key_id_matches_dockers_example) {
  pier::result<auth::es256_key> k = auth::es256_key::from_pem(docker_example_public_pem);
  ASSERT_TRUE(k) << k.error().message();
  EXPECT_FALSE(k->has_private_key());
  EXPECT_EQ(k->key_id(), "PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6");
  EXPECT_EQ(auth::libtrust_key_id(k->public_der()), k->key_id());
  EXPECT_EQ(k->public_pem(), docker_example_public_pem);
}

TEST(jwt, key_id_shape) {
  std::string const& id = key_a().key_id();
  ASSERT_EQ(id.size(), 59u); // 12 groups of 4, 11 separators
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i % 5 == 4)
      EXPECT_EQ(id[i], ':');
    else
      EXPECT_TRUE((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '2' && id[i] <= '7')) << id;
  }
  EXPECT_NE(key_a().key_id(), key_b().key_id());
  EXPECT_EQ(auth::libtrust_key_id("").size(), 59u);
}

TEST(jwt, keys_round_trip_through_pem) {
  auth::es256_key const& k = key_a();
  EXPECT_TRUE(k.has_private_key());
  EXPECT_FALSE(k.empty());
  pier::result<std::string> pem = k.private_pem();
  ASSERT_TRUE(pem);
  EXPECT_TRUE(pem->starts_with("-----BEGIN PRIVATE KEY-----\n")) << "PKCS #8";

  pier::result<auth::es256_key> again = auth::es256_key::from_pem(*pem);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_TRUE(again->has_private_key());
  EXPECT_EQ(again->key_id(), k.key_id());
  EXPECT_EQ(again->public_der(), k.public_der());

  // What one signs, the other verifies.
  std::string const token = auth::sign_jwt(claims(), *again).value();
  EXPECT_TRUE(auth::verify_jwt(token, k, at_time(1500000000)));

  pier::result<auth::es256_key> pub = auth::es256_key::from_pem(k.public_pem());
  ASSERT_TRUE(pub);
  EXPECT_FALSE(pub->has_private_key());
  EXPECT_EQ(pub->key_id(), k.key_id());
  EXPECT_TRUE(auth::verify_jwt(token, *pub, at_time(1500000000)));
  EXPECT_EQ(pub->private_pem().error(), jwt_error::no_private_key);
  EXPECT_EQ(auth::sign_jwt(claims(), *pub).error(), jwt_error::no_private_key);

  auth::es256_key const half = k.public_key();
  EXPECT_FALSE(half.has_private_key());
  EXPECT_EQ(half.key_id(), k.key_id());
  EXPECT_EQ(auth::sign_jwt(claims(), half).error(), jwt_error::no_private_key);

  auth::es256_key const none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(auth::sign_jwt(claims(), none).error(), jwt_error::no_private_key);
  EXPECT_EQ(auth::verify_jwt(token, none, at_time(1500000000)).error(), jwt_error::unknown_key);
}

std::string pem_of(EVP_PKEY* pkey, bool traditional = false, bool encrypted = false) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  char pass[] = "pass phrase";
  if (encrypted)
    EXPECT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey, EVP_aes_128_cbc(), pass,
                                            sizeof pass - 1, nullptr, nullptr),
              1);
  else if (traditional)
    EXPECT_EQ(PEM_write_bio_PrivateKey_traditional(bio.get(), pkey, nullptr, nullptr, 0, nullptr,
                                                   nullptr),
              1);
  else
    EXPECT_EQ(PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long const n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

TEST(jwt, reads_sec1_ec_private_keys) {
  std::string const sec1 = pem_of(key_a().native_handle(), true);
  EXPECT_TRUE(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----")) << sec1.substr(0, 40);
  pier::result<auth::es256_key> k = auth::es256_key::from_pem(sec1);
  ASSERT_TRUE(k) << k.error().message();
  EXPECT_TRUE(k->has_private_key());
  EXPECT_EQ(k->key_id(), key_a().key_id());
}

TEST(jwt, refuses_keys_that_are_not_p256) {
  using pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
  pkey const p384(EVP_EC_gen("P-384"), EVP_PKEY_free);
  pkey const rsa(EVP_RSA_gen(1024), EVP_PKEY_free);
  pkey const ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  ASSERT_TRUE(p384 && rsa && ed);
  for (EVP_PKEY* k : {p384.get(), rsa.get(), ed.get()}) {
    EXPECT_EQ(auth::es256_key::from_pem(pem_of(k)).error(), jwt_error::invalid_key);
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PUBKEY(bio.get(), k);
    char* data = nullptr;
    long const n = BIO_get_mem_data(bio.get(), &data);
    EXPECT_EQ(
        auth::es256_key::from_pem(std::string_view(data, static_cast<std::size_t>(n))).error(),
        jwt_error::invalid_key);
  }
  // An encrypted key fails without asking for a pass phrase on the terminal.
  std::string const encrypted = pem_of(key_a().native_handle(), false, true);
  EXPECT_TRUE(encrypted.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  EXPECT_EQ(auth::es256_key::from_pem(encrypted).error(), jwt_error::invalid_key);

  for (std::string_view junk :
       {"", "not a key", "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}) {
    EXPECT_EQ(auth::es256_key::from_pem(junk).error(), jwt_error::invalid_key) << junk;
  }
  // A public key whose point is not on the curve: the last byte of y changed.
  std::string der = key_a().public_der();
  der.back() = static_cast<char>(der.back() ^ 1);
  std::string const pem = "-----BEGIN PUBLIC KEY-----\n" + [&] {
    std::string s;
    std::unique_ptr<BIO, decltype(&BIO_free_all)> b64bio(BIO_new(BIO_f_base64()), BIO_free_all);
    BIO* mem = BIO_new(BIO_s_mem());
    BIO_push(b64bio.get(), mem);
    BIO_write(b64bio.get(), der.data(), static_cast<int>(der.size()));
    (void)BIO_flush(b64bio.get());
    char* data = nullptr;
    long const n = BIO_get_mem_data(mem, &data);
    return std::string(data, static_cast<std::size_t>(n));
  }() + "-----END PUBLIC KEY-----\n";
  EXPECT_EQ(auth::es256_key::from_pem(pem).error(), jwt_error::invalid_key);
}

// --- signing and verification ------------------------------------------------------------------

TEST(jwt, sign_writes_dockers_header_and_a_raw_signature) {
  std::string const token = auth::sign_jwt(claims(), key_a()).value();
  std::vector<std::string> const parts = split(token);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(auth::base64url_decode(parts[0]).value(), es256_header(key_a()));
  EXPECT_EQ(json::parse(auth::base64url_decode(parts[1]).value()), json::value(claims()));
  EXPECT_EQ(auth::base64url_decode(parts[2]).value().size(), 64u);

  std::string const other_kid = auth::sign_jwt(claims(), key_a(), "my-key").value();
  EXPECT_EQ(auth::base64url_decode(split(other_kid)[0]).value(),
            R"({"typ":"JWT","alg":"ES256","kid":"my-key"})");

  pier::result<json::object> c = auth::verify_jwt(token, key_a(), at_time(1500000000));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(*c, claims());
  // ECDSA signatures are randomised: two signatures of the same claims differ.
  EXPECT_NE(auth::sign_jwt(claims(), key_a()).value(), token);
}

// Tokens made with Python's `cryptography` package (OpenSSL underneath, but its own JOSE
// code) with a key thrown away afterwards; its public key and ID are these.
constexpr std::string_view python_public_pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgJpAa/1gTzwz7BySQdIvJuPAyR4c\n"
    "HTqykNAIaiw0JJ4eQmiSQmZbyxoSqMxBf1sCuEhn5+4k5Es+ki+qkKU+IQ==\n"
    "-----END PUBLIC KEY-----\n";
constexpr std::string_view python_kid =
    "LUUL:ARBY:UVGZ:XOGX:RFUU:C2CW:52TF:QTOJ:AKTD:YSQT:XBXC:VM6P";
constexpr std::string_view python_token =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiIsImtpZCI6IkxVVUw6QVJCWTpVVkdaOlhPR1g6UkZVVTpDMkNXOjUyVEY6UV"
    "RPSjpBS1REOllTUVQ6WEJYQzpWTTZQIn0."
    "eyJpc3MiOiJwaWVyLXRlc3QiLCJzdWIiOiJhbGljZSIsImF1ZCI6InJlZ2lzdHJ5LnRlc3QiLCJleHAiOjE3MDAwMDM2MD"
    "AsIm5iZiI6MTcwMDAwMDAwMCwiaWF0IjoxNzAwMDAwMDAwLCJqdGkiOiJrYXQtMSIsImFjY2VzcyI6W3sidHlwZSI6InJl"
    "cG9zaXRvcnkiLCJuYW1lIjoiYWxpY2UvYXBwIiwiYWN0aW9ucyI6WyJwdWxsIiwicHVzaCJdfV19."
    "yWS6KxE1o9BZkMCjoh74RAMA9WqkywM95HmhNrj2YVvbp5QGhk-JYoOxdp4PNfw1HWr0-vM25wjqUoBnVocGdw";
constexpr std::string_view python_token_no_kid =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJwaWVyLXRlc3QiLCJzdWIiOiJhbGljZSIsImF1ZCI6InJlZ2lzdHJ5LnRlc3QiLCJleHAiOjE3MDAwMDM2MD"
    "AsIm5iZiI6MTcwMDAwMDAwMCwiaWF0IjoxNzAwMDAwMDAwLCJqdGkiOiJrYXQtMSIsImFjY2VzcyI6W3sidHlwZSI6InJl"
    "cG9zaXRvcnkiLCJuYW1lIjoiYWxpY2UvYXBwIiwiYWN0aW9ucyI6WyJwdWxsIiwicHVzaCJdfV19."
    "ZenqGVESM9u-0IJSZNDUYjNT22mk3ORquD6EecIw7NDGvsen_Taa9NhQXJnto25aoxvEpfcEuhKQVRL72yRbbw";

TEST(jwt, verifies_tokens_signed_elsewhere) {
  auth::es256_key const k = auth::es256_key::from_pem(python_public_pem).value();
  EXPECT_EQ(k.key_id(), python_kid);
  auth::jwt_verify_options o = at_time(1700001000);
  o.issuer = "pier-test";
  o.audience = "registry.test";
  for (std::string_view token : {python_token, python_token_no_kid}) {
    pier::result<json::object> c = auth::verify_jwt(token, k, o);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->at("sub"), "alice");
    EXPECT_EQ(json::serialize(c->at("access")),
              R"([{"type":"repository","name":"alice/app","actions":["pull","push"]}])");
  }
  EXPECT_EQ(auth::verify_jwt(python_token, k, at_time(1699999999)).error(),
            jwt_error::not_yet_valid);
  EXPECT_EQ(auth::verify_jwt(python_token, k, at_time(1700003600)).error(), jwt_error::expired);
  // The kid names a key that is not among ours.
  EXPECT_EQ(auth::verify_jwt(python_token, key_a(), o).error(), jwt_error::unknown_key);
  // Without a kid every key is tried; none of ours signed it.
  EXPECT_EQ(auth::verify_jwt(python_token_no_kid, key_a(), o).error(), jwt_error::bad_signature);
  std::vector<auth::es256_key> const ring = {key_a(), key_b(), k};
  EXPECT_TRUE(auth::verify_jwt(python_token_no_kid, ring, o));
  EXPECT_TRUE(auth::verify_jwt(python_token, ring, o));
}

TEST(jwt, several_trusted_keys_for_rotation) {
  std::vector<auth::es256_key> const ring = {key_a().public_key(), key_b().public_key()};
  auto const o = at_time(1500000000);
  EXPECT_TRUE(auth::verify_jwt(auth::sign_jwt(claims(), key_a()).value(), ring, o));
  EXPECT_TRUE(auth::verify_jwt(auth::sign_jwt(claims(), key_b()).value(), ring, o));
  EXPECT_EQ(auth::verify_jwt(auth::sign_jwt(claims(), key_b()).value(),
                             std::span<auth::es256_key const>(ring.data(), 1), o)
                .error(),
            jwt_error::unknown_key);
  EXPECT_EQ(auth::verify_jwt(auth::sign_jwt(claims(), key_a()).value(),
                             std::span<auth::es256_key const>(), o)
                .error(),
            jwt_error::unknown_key);
}

TEST(jwt, wrong_key) {
  auto const o = at_time(1500000000);
  // Signed by b but naming a's key: the signature cannot match.
  std::string const lying = auth::sign_jwt(claims(), key_b(), key_a().key_id()).value();
  EXPECT_EQ(auth::verify_jwt(lying, key_a(), o).error(), jwt_error::bad_signature);
  // Signed by b, naming b: a verifier that trusts only a does not know that key.
  EXPECT_EQ(auth::verify_jwt(auth::sign_jwt(claims(), key_b()).value(), key_a(), o).error(),
            jwt_error::unknown_key);
  // A key embedded in the header is never used.
  std::string const x = auth::base64url_encode(std::string(32, 'x'));
  std::string const header = R"({"alg":"ES256","kid":")" + key_a().key_id() +
                             R"(","jwk":{"kty":"EC","crv":"P-256","x":")" + x + R"(","y":")" + x +
                             R"("}})";
  EXPECT_EQ(
      auth::verify_jwt(sign_raw(header, json::serialize(claims()), key_b()), key_a(), o).error(),
      jwt_error::bad_signature);
}

// Flipping any bit of any decoded segment must make the token fail; in the claims and the
// signature, precisely as a bad signature.
TEST(jwt, tampered_tokens) {
  std::string const token = auth::sign_jwt(claims(), key_a()).value();
  auto const o = at_time(1500000000);
  ASSERT_TRUE(auth::verify_jwt(token, key_a(), o));
  std::vector<std::string> const parts = split(token);
  for (std::size_t seg = 0; seg < 3; ++seg) {
    std::string const decoded = auth::base64url_decode(parts[seg]).value();
    for (std::size_t i = 0; i < decoded.size(); ++i) {
      for (int bit : {0, 7}) {
        std::string d = decoded;
        d[i] = static_cast<char>(d[i] ^ (1 << bit));
        std::vector<std::string> p = parts;
        p[seg] = auth::base64url_encode(d);
        std::string const t = p[0] + "." + p[1] + "." + p[2];
        pier::result<json::object> r = auth::verify_jwt(t, key_a(), o);
        ASSERT_FALSE(r) << "segment " << seg << " byte " << i << " bit " << bit;
        if (seg > 0) {
          EXPECT_EQ(r.error(), jwt_error::bad_signature) << seg << " " << i;
        }
      }
    }
  }
  // A changed character that still decodes: the last one of each segment, whose spare
  // bits would give the same bytes if non-canonical spellings were accepted.
  for (std::size_t seg = 0; seg < 3; ++seg) {
    std::vector<std::string> p = parts;
    char& c = p[seg].back();
    c = c == 'A' ? 'B' : 'A';
    EXPECT_FALSE(auth::verify_jwt(p[0] + "." + p[1] + "." + p[2], key_a(), o)) << seg;
  }
}

TEST(jwt, alg_none_and_other_algorithms_are_refused) {
  auto const o = at_time(1500000000);
  std::string const payload = b64(json::serialize(claims()));
  // The classic: no signature at all.
  for (std::string_view alg : {"none", "None", "NONE", "nOnE"}) {
    std::string const header = R"({"typ":"JWT","alg":")" + std::string(alg) + "\"}";
    for (std::string_view sig : {"", "AAAA"}) {
      EXPECT_EQ(auth::verify_jwt(b64(header) + "." + payload + "." + std::string(sig), key_a(), o)
                    .error(),
                jwt_error::unsupported_algorithm)
          << alg;
    }
  }
  // Key confusion: HS256 with the verifier's public key (PEM or DER) as the HMAC secret.
  for (std::string const& secret : {key_a().public_pem(), key_a().public_der()}) {
    std::string const signing_input =
        b64(R"({"typ":"JWT","alg":"HS256","kid":")" + key_a().key_id() + "\"}") + "." + payload;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<unsigned char const*>(signing_input.data()), signing_input.size(), mac,
         &mac_len);
    std::string const token =
        signing_input + "." + b64(std::string(reinterpret_cast<char*>(mac), mac_len));
    EXPECT_EQ(auth::verify_jwt(token, key_a(), o).error(), jwt_error::unsupported_algorithm);
  }
  // Any other alg, even with a valid ES256 signature over the header that names it.
  for (std::string_view header :
       {R"({"alg":"RS256"})", R"({"alg":"ES384"})", R"({"alg":"ES256K"})", R"({"alg":"es256"})",
        R"({"alg":"ES256 "})", R"({"alg":"PS256"})", R"({"alg":"EdDSA"})", R"({"alg":["ES256"]})",
        R"({"alg":null})", R"({"typ":"JWT"})", R"({})"}) {
    EXPECT_EQ(
        auth::verify_jwt(sign_raw(header, json::serialize(claims()), key_a()), key_a(), o).error(),
        jwt_error::unsupported_algorithm)
        << header;
  }
}

TEST(jwt, header_rules) {
  auto const o = at_time(1500000000);
  std::string const c = json::serialize(claims());
  auto verify = [&](std::string_view header) {
    return auth::verify_jwt(sign_raw(header, c, key_a()), key_a(), o);
  };
  EXPECT_TRUE(verify(R"({"alg":"ES256"})"));
  EXPECT_TRUE(verify(R"({"alg":"ES256","typ":"jwt"})"));
  EXPECT_TRUE(verify(R"({"alg":"ES256","typ":"application/jwt"})"));
  EXPECT_TRUE(verify(R"({"alg":"ES256","x5u":"https://evil.example/keys"})")); // ignored
  EXPECT_EQ(verify(R"({"alg":"ES256","typ":"JOSE+JSON"})").error(), jwt_error::unsupported_type);
  EXPECT_EQ(verify(R"({"alg":"ES256","typ":7})").error(), jwt_error::unsupported_type);
  EXPECT_EQ(verify(R"({"alg":"ES256","crit":["exp"],"exp":1})").error(),
            jwt_error::critical_extension);
  EXPECT_EQ(verify(R"({"alg":"ES256","kid":42})").error(), jwt_error::unknown_key);
  EXPECT_EQ(verify(R"({"alg":"ES256","kid":"nope"})").error(), jwt_error::unknown_key);
  // Parsers that keep the first or the last duplicate would disagree: refuse it.
  EXPECT_EQ(verify(R"({"alg":"none","alg":"ES256"})").error(), jwt_error::invalid_json);
  EXPECT_EQ(verify(R"(["alg","ES256"])").error(), jwt_error::invalid_json);
  EXPECT_TRUE(verify(R"( {"alg":"ES256"} )")); // JSON's own whitespace is fine
  EXPECT_EQ(verify(R"({"alg":"ES256"}x)").error(), jwt_error::invalid_json);
  EXPECT_EQ(verify("").error(), jwt_error::invalid_json);
}

TEST(jwt, structure_and_encoding) {
  auto const o = at_time(1500000000);
  std::string const token = auth::sign_jwt(claims(), key_a()).value();
  std::vector<std::string> const p = split(token);
  for (std::string const& bad :
       {std::string(), std::string("."), std::string("..."), p[0], p[0] + "." + p[1], token + ".",
        token + "." + p[2], token + ".x.y"}) {
    EXPECT_EQ(auth::verify_jwt(bad, key_a(), o).error(), jwt_error::malformed) << bad;
  }
  // Padding, the standard alphabet, and whitespace are not base64url.
  EXPECT_EQ(auth::verify_jwt(p[0] + "=." + p[1] + "." + p[2], key_a(), o).error(),
            jwt_error::invalid_base64);
  EXPECT_EQ(auth::verify_jwt(p[0] + "." + p[1] + "." + p[2] + "==", key_a(), o).error(),
            jwt_error::invalid_base64);
  std::string std_alphabet = p[2];
  for (char& ch : std_alphabet)
    ch = ch == '-' ? '+' : ch == '_' ? '/' : ch;
  if (std_alphabet != p[2]) { // most signatures hold a '-' or '_'
    EXPECT_EQ(auth::verify_jwt(p[0] + "." + p[1] + "." + std_alphabet, key_a(), o).error(),
              jwt_error::invalid_base64);
  }
  EXPECT_EQ(auth::verify_jwt(p[0] + "." + p[1] + " ." + p[2], key_a(), o).error(),
            jwt_error::bad_signature); // signature first; the claims are read only after it
  EXPECT_EQ(auth::verify_jwt(" " + token, key_a(), o).error(), jwt_error::invalid_base64);

  // Signatures of the wrong size, including the DER form OpenSSL makes.
  std::string const raw = auth::base64url_decode(p[2]).value();
  for (std::string const& sig : {raw.substr(0, 63), raw + "x", std::string(), raw + raw}) {
    EXPECT_EQ(auth::verify_jwt(p[0] + "." + p[1] + "." + b64(sig), key_a(), o).error(),
              jwt_error::bad_signature);
  }
  EXPECT_EQ(
      auth::verify_jwt(p[0] + "." + p[1] + "." + b64(std::string(64, '\0')), key_a(), o).error(),
      jwt_error::bad_signature);
}

TEST(jwt, time_claims) {
  auto sign = [](json::object c) { return auth::sign_jwt(c, key_a()).value(); };
  auto verify = [](std::string const& t, std::int64_t now, std::int64_t leeway = 0) {
    auth::jwt_verify_options o = at_time(now);
    o.leeway = seconds(leeway);
    return auth::verify_jwt(t, key_a(), o);
  };
  std::string const t = sign(json::object{{"exp", 1000}, {"nbf", 900}});
  EXPECT_TRUE(verify(t, 900));
  EXPECT_TRUE(verify(t, 999));
  EXPECT_EQ(verify(t, 1000).error(), jwt_error::expired); // exp is the first invalid second
  EXPECT_EQ(verify(t, 899).error(), jwt_error::not_yet_valid);
  EXPECT_TRUE(verify(t, 1059, 60));
  EXPECT_EQ(verify(t, 1060, 60).error(), jwt_error::expired);
  EXPECT_TRUE(verify(t, 840, 60));
  EXPECT_EQ(verify(t, 839, 60).error(), jwt_error::not_yet_valid);
  EXPECT_EQ(verify(t, 1000, -100).error(), jwt_error::expired); // a negative leeway is none

  EXPECT_EQ(verify(sign(json::object{{"sub", "x"}}), 0).error(), jwt_error::missing_expiry);
  EXPECT_EQ(verify(sign(json::object{{"exp", nullptr}}), 0).error(), jwt_error::invalid_claim);
  EXPECT_EQ(verify(sign(json::object{{"exp", "2000"}}), 0).error(), jwt_error::invalid_claim);
  EXPECT_EQ(verify(sign(json::object{{"exp", 2000}, {"nbf", "0"}}), 0).error(),
            jwt_error::invalid_claim);
  EXPECT_EQ(verify(sign(json::object{{"exp", 2000}, {"iat", true}}), 0).error(),
            jwt_error::invalid_claim);
  // Fractions shorten validity: exp 1000.5 ends at 1000, nbf 899.5 starts at 900.
  std::string const f = sign(json::object{{"exp", 1000.5}, {"nbf", 899.5}});
  EXPECT_EQ(verify(f, 1000).error(), jwt_error::expired);
  EXPECT_EQ(verify(f, 899).error(), jwt_error::not_yet_valid);
  EXPECT_TRUE(verify(f, 900));
  // Far-off times saturate instead of overflowing.
  EXPECT_TRUE(verify(sign(json::object{{"exp", 1e300}}), 2000000000, 60));
  EXPECT_TRUE(verify(sign(json::object{{"exp", UINT64_MAX}}), 2000000000, 60));
  EXPECT_TRUE(verify(sign(json::object{{"exp", INT64_MAX}}), 2000000000, INT64_MAX));
  EXPECT_EQ(verify(sign(json::object{{"exp", -1e300}}), 0, 60).error(), jwt_error::expired);
  EXPECT_EQ(verify(sign(json::object{{"exp", INT64_MIN}}), 0, 60).error(), jwt_error::expired);
  EXPECT_EQ(verify(sign(json::object{{"exp", 2000}, {"nbf", 1e300}}), 0, 60).error(),
            jwt_error::not_yet_valid);
}

TEST(jwt, issuer_and_audience) {
  auto const base = at_time(1500000000);
  auto verify = [&](json::object c, std::string_view iss, std::string_view aud) {
    c["exp"] = 2000000000;
    auth::jwt_verify_options o = base;
    o.issuer = iss;
    o.audience = aud;
    return auth::verify_jwt(auth::sign_jwt(c, key_a()).value(), key_a(), o);
  };
  EXPECT_TRUE(verify({{"iss", "pier"}, {"aud", "reg"}}, "pier", "reg"));
  EXPECT_TRUE(verify({{"iss", "pier"}, {"aud", json::array{"other", "reg"}}}, "pier", "reg"));
  EXPECT_TRUE(verify({}, "", "")); // nothing asked, nothing checked
  EXPECT_EQ(verify({{"iss", "evil"}}, "pier", "").error(), jwt_error::wrong_issuer);
  EXPECT_EQ(verify({}, "pier", "").error(), jwt_error::wrong_issuer);
  EXPECT_EQ(verify({{"iss", 1}}, "pier", "").error(), jwt_error::invalid_claim);
  EXPECT_EQ(verify({{"aud", "other"}}, "", "reg").error(), jwt_error::wrong_audience);
  EXPECT_EQ(verify({{"aud", json::array{}}}, "", "reg").error(), jwt_error::wrong_audience);
  EXPECT_EQ(verify({}, "", "reg").error(), jwt_error::wrong_audience);
  EXPECT_EQ(verify({{"aud", json::array{"reg", 1}}}, "", "reg").error(), jwt_error::invalid_claim);
  EXPECT_EQ(verify({{"aud", 5}}, "", "reg").error(), jwt_error::invalid_claim);
}

TEST(jwt, claims_must_be_one_json_object) {
  auto const o = at_time(1500000000);
  std::string const h = es256_header(key_a());
  for (std::string_view c : {R"([1,2])", R"("exp")", R"(42)", R"({"exp":2000000000,"exp":1})",
                             R"({"exp":2000000000} {})", R"({"exp":2000000000)", ""}) {
    EXPECT_EQ(auth::verify_jwt(sign_raw(h, c, key_a()), key_a(), o).error(),
              jwt_error::invalid_json)
        << c;
  }
  // Nesting beyond the limit is refused rather than recursed into.
  std::string deep =
      R"({"exp":2000000000,"x":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(auth::verify_jwt(sign_raw(h, deep, key_a()), key_a(), o).error(),
            jwt_error::invalid_json);
}

TEST(jwt, error_category) {
  std::error_code const expired = jwt_error::expired;
  EXPECT_STREQ(expired.category().name(), "pier.auth.jwt");
  for (int e = 1; e <= static_cast<int>(jwt_error::crypto_failure); ++e) {
    auto const je = static_cast<jwt_error>(e);
    std::error_code const ec = je;
    bool const server_side = je == jwt_error::invalid_key || je == jwt_error::no_private_key ||
                             je == jwt_error::crypto_failure;
    EXPECT_EQ(pier::to_oci_error(ec),
              server_side ? pier::oci_error::unknown : pier::oci_error::unauthorized)
        << ec.message();
    EXPECT_NE(ec.message(), "unknown token error");
  }
}

TEST(jwt, concurrent_sign_and_verify_with_one_key) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        pier::result<std::string> token = auth::sign_jwt(claims(), key_a());
        if (token && auth::verify_jwt(*token, key_a(), at_time(1500000000)))
          ++ok;
      }
    });
  for (std::thread& t : threads)
    t.join();
  EXPECT_EQ(ok, 100);
}

// The @code examples of jwt.hpp, compiled and run.
TEST(jwt, documentation_examples) {
  {
    auth::es256_key key = auth::es256_key::generate().value();
    boost::json::object claims{{"iss", "pier"}, {"sub", "alice"}, {"exp", 2000000000}};
    std::string token = auth::sign_jwt(claims, key).value();

    auth::jwt_verify_options opt;
    opt.now = std::chrono::system_clock::from_time_t(1900000000);
    pier::result<boost::json::object> c = auth::verify_jwt(token, key.public_key(), opt);
    EXPECT_TRUE(c && c->at("sub") == "alice");

    opt.now = std::chrono::system_clock::from_time_t(2000000000);
    EXPECT_TRUE(auth::verify_jwt(token, key, opt).error() == auth::jwt_error::expired);
  }
  EXPECT_TRUE(pier::auth::base64url_encode("\xfb\xff") == "-_8");
  EXPECT_TRUE(pier::auth::base64url_decode("-_8").value() == "\xfb\xff");
  EXPECT_TRUE(!pier::auth::base64url_decode("-_9")); // same bytes, stray low bits
}

} // namespace jwt_test
