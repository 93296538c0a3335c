// SPDX-License-Identifier: Apache-2.0
#include <pier/core/hasher.hpp>
#include <pier/core/digest.hpp>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace digest_test {

using pier::digest_algorithm;
using pier::digest_error;

std::string const hex64 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
std::string const hex128 = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                           "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

struct grammar_case {
  std::string input;
  digest_error expected; // digest_error{} when the input is valid
};

std::vector<grammar_case> grammar_cases() {
  std::string upper64 = hex64;
  upper64[0] = 'E';
  std::string non_hex64 = hex64;
  non_hex64[63] = 'g';
  std::string upper128 = hex128;
  upper128[127] = 'E';
  return {
      {"sha256:" + hex64, {}},
      {"sha512:" + hex128, {}},
      {"sha256:" + std::string(64, '0'), {}},
      {"sha512:" + std::string(128, 'f'), {}},
      {"", digest_error::empty},
      {"sha256", digest_error::missing_separator},
      {hex64, digest_error::missing_separator},
      {":" + hex64, digest_error::invalid_algorithm},
      {"SHA256:" + hex64, digest_error::invalid_algorithm},
      {"Sha256:" + hex64, digest_error::invalid_algorithm},
      {"sha256-:" + hex64, digest_error::invalid_algorithm},
      {"-sha256:" + hex64, digest_error::invalid_algorithm},
      {"sha256++b64u:" + hex64, digest_error::invalid_algorithm},
      {"sha 256:" + hex64, digest_error::invalid_algorithm},
      {"sha/256:" + hex64, digest_error::invalid_algorithm},
      {"sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
       digest_error::unsupported_algorithm},
      {"sha256+b64u:" + hex64, digest_error::unsupported_algorithm},
      {"multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
       digest_error::unsupported_algorithm},
      {"blake3:" + hex64, digest_error::unsupported_algorithm},
      {"md5:d41d8cd98f00b204e9800998ecf8427e", digest_error::unsupported_algorithm},
      {"sha384:" + std::string(96, 'a'), digest_error::unsupported_algorithm},
      {"sha1.0:abc", digest_error::unsupported_algorithm},
      {"md5:", digest_error::invalid_encoding},
      {"md5:abc def", digest_error::invalid_encoding},
      {"md5:abc+", digest_error::invalid_encoding},
      {"sha256:", digest_error::invalid_length},
      {"sha512:", digest_error::invalid_length},
      {"sha256:" + hex64.substr(1), digest_error::invalid_length},
      {"sha256:" + hex64 + "0", digest_error::invalid_length},
      {"sha256:" + hex128, digest_error::invalid_length},
      {"sha512:" + hex128.substr(1), digest_error::invalid_length},
      {"sha512:" + hex128 + "0", digest_error::invalid_length},
      {"sha512:" + hex64, digest_error::invalid_length},
      {"sha256:" + upper64, digest_error::invalid_encoding},
      {"sha256:" + non_hex64, digest_error::invalid_encoding},
      {"sha512:" + upper128, digest_error::invalid_encoding},
      {"sha256:" + hex64.substr(0, 63) + ":", digest_error::invalid_encoding},
      {"sha256:" + hex64.substr(0, 63) + std::string(1, '\0'), digest_error::invalid_encoding},
  };
}

TEST(digest, grammar) {
  for (grammar_case const& c : grammar_cases()) {
    SCOPED_TRACE(c.input);
    pier::result<pier::digest_view> v = pier::parse_digest_view(c.input);
    pier::result<pier::digest> d = pier::parse_digest(c.input);
    if (c.expected == digest_error{}) {
      ASSERT_TRUE(v) << v.error().message();
      ASSERT_TRUE(d) << d.error().message();
      EXPECT_EQ(v->str(), c.input);
      EXPECT_EQ(v->str().data(), c.input.data());
      EXPECT_EQ(d->str(), c.input);
      EXPECT_EQ(v->encoded(), c.input.substr(7));
      EXPECT_EQ(d->encoded(), c.input.substr(7));
      EXPECT_EQ(v->encoded().size(), pier::encoded_length(v->algorithm()));
      EXPECT_EQ(c.input.substr(0, 6), pier::name(v->algorithm()));
      EXPECT_EQ(d->algorithm(), v->algorithm());
    } else {
      EXPECT_EQ(v.error(), c.expected);
      EXPECT_EQ(d.error(), c.expected);
    }
  }
}

TEST(digest, algorithms) {
  EXPECT_EQ(pier::name(digest_algorithm::sha256), "sha256");
  EXPECT_EQ(pier::name(digest_algorithm::sha512), "sha512");
  EXPECT_EQ(pier::encoded_length(digest_algorithm::sha256), 64u);
  EXPECT_EQ(pier::encoded_length(digest_algorithm::sha512), 128u);
  static_assert(pier::name(digest_algorithm::sha512) == "sha512");
  static_assert(pier::encoded_length(digest_algorithm::sha256) == 64);
}

TEST(digest, error_category) {
  static_assert(std::is_error_code_enum_v<digest_error>);
  std::vector<digest_error> const all = {
      digest_error::empty,
      digest_error::missing_separator,
      digest_error::invalid_algorithm,
      digest_error::unsupported_algorithm,
      digest_error::invalid_length,
      digest_error::invalid_encoding,
      digest_error::mismatch,
  };
  std::set<std::string> messages;
  for (digest_error e : all) {
    std::error_code const ec = e;
    EXPECT_STREQ(ec.category().name(), "pier.digest");
    EXPECT_EQ(&ec.category(), &pier::digest_category());
    EXPECT_TRUE(ec);
    EXPECT_EQ(ec.default_error_condition(),
              std::error_condition(static_cast<int>(pier::oci_error::digest_invalid),
                                   pier::oci_category()));
    EXPECT_EQ(pier::to_oci_error(ec), pier::oci_error::digest_invalid);
    EXPECT_EQ(pier::http_status(pier::to_oci_error(ec)), 400);
    EXPECT_FALSE(ec.message().empty());
    messages.insert(ec.message());
  }
  EXPECT_EQ(messages.size(), all.size()) << "each error says which rule failed";
  EXPECT_NE(std::error_code(digest_error::unsupported_algorithm).message().find("sha256"),
            std::string::npos);
  EXPECT_NE(std::error_code(digest_error::invalid_encoding).message().find("lower-case"),
            std::string::npos);
}

TEST(digest, comparison_and_containers) {
  pier::digest const a = pier::parse_digest("sha256:" + std::string(64, 'a')).value();
  pier::digest const b = pier::parse_digest("sha256:" + std::string(64, 'b')).value();
  pier::digest const c = pier::parse_digest("sha512:" + hex128).value();
  std::string const a_text = a.str();
  pier::digest_view const av = pier::parse_digest_view(a_text).value();

  EXPECT_EQ(a, pier::digest(av));
  EXPECT_EQ(av, a.view());
  EXPECT_TRUE(a == av);
  EXPECT_TRUE(av == a);
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(av, b.view());
  pier::digest_view const converted = b;
  EXPECT_EQ(converted.str().data(), b.str().data());

  pier::digest const empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(pier::digest_view().empty());
  EXPECT_EQ(empty.encoded(), "");
  EXPECT_EQ(pier::digest_view().encoded(), "");
  EXPECT_LT(empty, a);
  EXPECT_EQ(empty, pier::digest());

  std::unordered_set<pier::digest> set{a, b, c, a};
  EXPECT_EQ(set.size(), 3u);
  EXPECT_TRUE(set.contains(pier::digest(av)));
  std::set<pier::digest> ordered{c, b, a};
  EXPECT_EQ(*ordered.begin(), a);
  std::map<pier::digest, int, std::less<>> by_view{{a, 1}};
  EXPECT_EQ(by_view.find(av)->second, 1);

  std::unordered_map<pier::digest, int, std::hash<pier::digest>, std::equal_to<>> sizes{{a, 1},
                                                                                        {c, 2}};
  EXPECT_EQ(sizes.find(av)->second, 1);
  EXPECT_EQ(std::hash<pier::digest>{}(a), std::hash<pier::digest_view>{}(av));
}

struct vector_case {
  std::string message;
  std::string sha256;
  std::string sha512;
};

// FIPS 180-2 appendix B/C and NIST's "SHA examples".
std::vector<vector_case> const& vectors() {
  static std::vector<vector_case> const v = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
       "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
       "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
       "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
       "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
       "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445"},
      {std::string(1000000, 'a'),
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
       "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
       "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"},
  };
  return v;
}

TEST(hasher, known_answers_one_shot) {
  for (vector_case const& v : vectors()) {
    SCOPED_TRACE(v.message.substr(0, 60));
    pier::digest const d256 = pier::digest_of(v.message);
    pier::digest const d512 = pier::digest_of(v.message, digest_algorithm::sha512);
    EXPECT_EQ(d256.str(), "sha256:" + v.sha256);
    EXPECT_EQ(d512.str(), "sha512:" + v.sha512);
    EXPECT_EQ(d256.algorithm(), digest_algorithm::sha256);
    EXPECT_EQ(d512.algorithm(), digest_algorithm::sha512);
    // What the hasher makes is what the parser accepts.
    EXPECT_EQ(pier::parse_digest(d256.str()).value(), d256);
    EXPECT_EQ(pier::parse_digest(d512.str()).value(), d512);
    auto const* bytes = reinterpret_cast<std::byte const*>(v.message.data());
    EXPECT_EQ(pier::digest_of(std::span(bytes, v.message.size())), d256);
  }
}

TEST(hasher, streamed_in_odd_chunks_equals_one_shot) {
  for (digest_algorithm a : {digest_algorithm::sha256, digest_algorithm::sha512}) {
    for (vector_case const& v : vectors()) {
      std::string const& expected = a == digest_algorithm::sha256 ? v.sha256 : v.sha512;
      for (std::size_t chunk : {1u, 3u, 7u, 63u, 64u, 65u, 127u, 129u, 4099u}) {
        if (chunk < 63 && v.message.size() > 1000)
          continue; // a million single-byte updates only slow the test down
        SCOPED_TRACE(std::string(pier::name(a)) + " chunk " + std::to_string(chunk));
        pier::hasher h(a);
        EXPECT_EQ(h.algorithm(), a);
        std::string_view rest = v.message;
        int which = 0;
        while (!rest.empty()) {
          std::string_view const part = rest.substr(0, chunk);
          rest.remove_prefix(part.size());
          switch (which++ % 3) {
          case 0: h.update(part); break;
          case 1: h.update(part.data(), part.size()); break;
          default: h.update(std::as_bytes(std::span(part.data(), part.size()))); break;
          }
        }
        EXPECT_EQ(h.finish().encoded(), expected);
      }
    }
  }
}

TEST(hasher, finish_starts_over_and_reset_forgets) {
  pier::hasher h;
  h.update("abc");
  EXPECT_EQ(h.finish(), pier::digest_of("abc"));
  // After finish() the hasher starts from nothing again.
  EXPECT_EQ(h.finish(), pier::digest_of(""));
  h.update("ab");
  EXPECT_EQ(h.finish(), pier::digest_of("ab"));

  h.update("garbage that is thrown away");
  h.reset();
  h.update("abc");
  EXPECT_EQ(h.finish(), pier::digest_of("abc"));

  pier::hasher h512(digest_algorithm::sha512);
  h512.update("xyz");
  h512.reset();
  h512.reset();
  EXPECT_EQ(h512.finish(), pier::digest_of("", digest_algorithm::sha512));
}

TEST(hasher, movable_not_copyable) {
  static_assert(!std::is_copy_constructible_v<pier::hasher>);
  static_assert(!std::is_copy_assignable_v<pier::hasher>);
  static_assert(std::is_nothrow_move_constructible_v<pier::hasher>);
  static_assert(std::is_nothrow_move_assignable_v<pier::hasher>);

  pier::hasher a;
  a.update("ab");
  pier::hasher b = std::move(a);
  b.update("c");
  EXPECT_EQ(b.finish(), pier::digest_of("abc"));

  pier::hasher c(digest_algorithm::sha512);
  c = std::move(b);
  EXPECT_EQ(c.algorithm(), digest_algorithm::sha256);
  c.update("abc");
  EXPECT_EQ(c.finish(), pier::digest_of("abc"));

  std::vector<pier::hasher> many;
  for (int i = 0; i < 100; ++i)
    many.emplace_back(i % 2 ? digest_algorithm::sha512 : digest_algorithm::sha256);
  EXPECT_EQ(many[99].finish(), pier::digest_of("", digest_algorithm::sha512));
}

// The @code examples of digest.hpp, compiled and run.
TEST(digest, documentation_examples) {
  {
    pier::result<pier::digest> d = pier::parse_digest(
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_TRUE(d && d->algorithm() == pier::digest_algorithm::sha256);
    EXPECT_TRUE(*d == pier::digest_of(""));
  }
  {
    std::string const path = "/v2/x/blobs/" + pier::digest_of("").str();
    pier::result<pier::digest_view> d = pier::parse_digest_view(std::string_view(path).substr(12));
    EXPECT_TRUE(d && d->encoded().size() == 64 && d->str().data() == path.data() + 12);
  }
  {
    std::string const upper = "sha256:" + std::string(64, 'A');
    EXPECT_TRUE(pier::parse_digest_view(upper).error() == pier::digest_error::invalid_encoding);
  }
  {
    std::unordered_map<pier::digest, int, std::hash<pier::digest>, std::equal_to<>> sizes;
    sizes[pier::digest_of("hello")] = 5;
    EXPECT_TRUE(sizes.contains(pier::parse_digest_view(pier::digest_of("hello").str()).value()));
  }
  {
    pier::result<pier::digest> d = pier::parse_digest("blake3:abc");
    EXPECT_TRUE(d.error() == pier::digest_error::unsupported_algorithm);
    EXPECT_TRUE(pier::to_oci_error(d.error()) == pier::oci_error::digest_invalid);
  }
  {
    pier::hasher h; // sha256
    h.update("ab");
    h.update("c");
    pier::digest d = h.finish(); // h starts over, ready for the next content
    EXPECT_TRUE(d == pier::digest_of("abc"));
  }
  EXPECT_TRUE(pier::digest_of("abc").encoded() ==
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

} // namespace digest_test
