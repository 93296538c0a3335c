// SPDX-License-Identifier: Apache-2.0
#include <pier/core/reference.hpp>

#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace reference_test {

using pier::oci_error;
using pier::reference_error;

std::string const sha256_hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
std::string const sha256 = "sha256:" + sha256_hex;
std::string const sha512 =
    "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d"
    "2877eec2f63b931bd47417a81a538327af927da3e";

// --- valid references -----------------------------------------------------------------

struct valid_case {
  std::string input;
  std::string domain;
  std::string path;
  std::string tag;
  std::string digest;
};

std::vector<valid_case> const valid_cases = {
    {"ubuntu", "", "ubuntu", "", ""},
    {"library/ubuntu:22.04", "", "library/ubuntu", "22.04", ""},
    {"a", "", "a", "", ""},
    {"1/2/3", "", "1/2/3", "", ""},
    // separators
    {"a.b", "", "a.b", "", ""},
    {"a_b", "", "a_b", "", ""},
    {"a__b", "", "a__b", "", ""},
    {"a-b", "", "a-b", "", ""},
    {"a--b", "", "a--b", "", ""},
    {"a---b", "", "a---b", "", ""},
    {"x/a.b_c__d-e--f/g", "", "x/a.b_c__d-e--f/g", "", ""},
    {"a.b_c__d-e--f", "", "a.b_c__d-e--f", "", ""},
    // the first component is a path component unless it looks like a domain
    {"my-registry_a/foo", "", "my-registry_a/foo", "", ""},
    {"localhost", "", "localhost", "", ""},
    {"localhost:5000", "", "localhost", "5000", ""},
    {"example.com", "", "example.com", "", ""},
    {"foo.com:5000", "", "foo.com", "5000", ""},
    {"localhost/foo", "localhost", "foo", "", ""},
    {"localhost:5000/foo", "localhost:5000", "foo", "", ""},
    {"example.com/foo", "example.com", "foo", "", ""},
    {"a-b.example.com/x/y/z:tag", "a-b.example.com", "x/y/z", "tag", ""},
    {"xn--bcher-kva.example/foo", "xn--bcher-kva.example", "foo", "", ""},
    {"registry:5000/foo", "registry:5000", "foo", "", ""},
    // upper case is allowed in the host, and makes the first component a host
    {"Example.COM/foo", "Example.COM", "foo", "", ""},
    {"FOO/bar", "FOO", "bar", "", ""},
    {"test_com", "", "test_com", "", ""},
    {"test.com:tag", "", "test.com", "tag", ""},
    {"foo_bar.com:8080", "", "foo_bar.com", "8080", ""},
    {"foo/foo_bar.com:8080", "", "foo/foo_bar.com", "8080", ""},
    {"lowercase:Uppercase", "", "lowercase", "Uppercase", ""},
    {"b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app",
     "test.example.com", ""},
    // IPv4 and IPv6
    {"192.168.1.1", "", "192.168.1.1", "", ""},
    {"192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", ""},
    {"999.1.1.1/repo", "999.1.1.1", "repo", "", ""}, // a domain name, as for Docker
    {"127.0.0.1:5000/foo", "127.0.0.1:5000", "foo", "", ""},
    {"[::1]:5000/foo", "[::1]:5000", "foo", "", ""},
    {"[::1]/foo", "[::1]", "foo", "", ""},
    {"[::]/a", "[::]", "a", "", ""},
    {"[1::]/a", "[1::]", "a", "", ""},
    {"[2001:db8::1]:443/a/b:c", "[2001:db8::1]:443", "a/b", "c", ""},
    {"[1:2:3:4:5:6:7:8]:5000/a", "[1:2:3:4:5:6:7:8]:5000", "a", "", ""},
    {"[1:2:3:4:5:6:7::]/a", "[1:2:3:4:5:6:7::]", "a", "", ""},
    {"[FE80::abcd:A]/a", "[FE80::abcd:A]", "a", "", ""},
    // ports
    {"host:0/x", "host:0", "x", "", ""},
    {"host:65535/x", "host:65535", "x", "", ""},
    {"host:00080/x", "host:00080", "x", "", ""},
    // tags and digests
    {"foo:_", "", "foo", "_", ""},
    {"foo:bar_Baz-1.2", "", "foo", "bar_Baz-1.2", ""},
    {"foo:V1", "", "foo", "V1", ""},
    {"foo:1.0--rc..1__", "", "foo", "1.0--rc..1__", ""},
    {"foo@" + sha256, "", "foo", "", sha256},
    {"foo:1@" + sha256, "", "foo", "1", sha256},
    {"foo@" + sha512, "", "foo", "", sha512},
    {"example.com:5000/a/b:1@" + sha256, "example.com:5000", "a/b", "1", sha256},
};

void PrintTo(valid_case const& c, std::ostream* os) { *os << '"' << c.input << '"'; }

class ReferenceValid : public ::testing::TestWithParam<valid_case> {};

TEST_P(ReferenceValid, ParsesIntoParts) {
  valid_case const& c = GetParam();
  pier::result<pier::reference_view> r = pier::parse_reference_view(c.input);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->domain(), c.domain);
  EXPECT_EQ(r->path(), c.path);
  EXPECT_EQ(r->tag(), c.tag);
  EXPECT_EQ(r->digest().str(), c.digest);
  EXPECT_EQ(r->has_domain(), !c.domain.empty());
  EXPECT_EQ(r->has_tag(), !c.tag.empty());
  EXPECT_EQ(r->has_digest(), !c.digest.empty());
  EXPECT_EQ(r->name(), c.domain.empty() ? c.path : c.domain + "/" + c.path);
  EXPECT_EQ(r->str(), c.input);
  EXPECT_EQ(r->to_string(), c.input);
}

TEST_P(ReferenceValid, OwningReferenceHasTheSameParts) {
  valid_case const& c = GetParam();
  pier::result<pier::reference> r = pier::parse_reference(c.input);
  ASSERT_TRUE(r) << r.error().message();
  // A copy and a move must not keep pointing into the source (short strings live inside
  // the std::string object).
  pier::reference const copy = *r;
  pier::reference moved = std::move(*r);
  for (pier::reference const* x : {&copy, const_cast<pier::reference const*>(&moved)}) {
    EXPECT_EQ(x->domain(), c.domain);
    EXPECT_EQ(x->path(), c.path);
    EXPECT_EQ(x->tag(), c.tag);
    EXPECT_EQ(x->digest().str(), c.digest);
    EXPECT_EQ(x->has_domain(), !c.domain.empty());
    EXPECT_EQ(x->has_tag(), !c.tag.empty());
    EXPECT_EQ(x->has_digest(), !c.digest.empty());
    EXPECT_EQ(x->name(), c.domain.empty() ? c.path : c.domain + "/" + c.path);
    EXPECT_EQ(x->str(), c.input);
    EXPECT_EQ(x->view().str().data(), x->str().data());
  }
  EXPECT_EQ(copy, moved);
}

INSTANTIATE_TEST_SUITE_P(Table, ReferenceValid, ::testing::ValuesIn(valid_cases));

// --- invalid references -----------------------------------------------------------------

struct invalid_case {
  std::string input;
  reference_error error;
  oci_error oci;
};

constexpr oci_error name_invalid = oci_error::name_invalid;
constexpr oci_error tag_invalid = oci_error::tag_invalid;
constexpr oci_error digest_invalid = oci_error::digest_invalid;

std::vector<invalid_case> const invalid_cases = {
    {"", reference_error::empty, name_invalid},
    {":tag", reference_error::missing_name, name_invalid},
    {"@" + sha256, reference_error::missing_name, name_invalid},
    {":tag@" + sha256, reference_error::missing_name, name_invalid},
    // upper case in the path
    {"Ubuntu", reference_error::uppercase_in_path, name_invalid},
    {"fooBar", reference_error::uppercase_in_path, name_invalid},
    {"foo_Bar", reference_error::uppercase_in_path, name_invalid},
    {"foo/Bar", reference_error::uppercase_in_path, name_invalid},
    {"example.com/Foo", reference_error::uppercase_in_path, name_invalid},
    {"localhost/foo/barBaz:1", reference_error::uppercase_in_path, name_invalid},
    {"Uppercase:tag", reference_error::uppercase_in_path, name_invalid},
    {"test:5000/Uppercase/lowercase:tag", reference_error::uppercase_in_path, name_invalid},
    // separators
    {"a___b", reference_error::invalid_separator, name_invalid},
    {"a._b", reference_error::invalid_separator, name_invalid},
    {"a.-b", reference_error::invalid_separator, name_invalid},
    {"a-.b", reference_error::invalid_separator, name_invalid},
    {"a_-b", reference_error::invalid_separator, name_invalid},
    {"a..b", reference_error::invalid_separator, name_invalid},
    {"_a", reference_error::leading_separator, name_invalid},
    {"-a", reference_error::leading_separator, name_invalid},
    {".a", reference_error::leading_separator, name_invalid},
    {"foo/.a", reference_error::leading_separator, name_invalid},
    {"a_", reference_error::trailing_separator, name_invalid},
    {"a-", reference_error::trailing_separator, name_invalid},
    {"a.", reference_error::trailing_separator, name_invalid},
    {"a__", reference_error::trailing_separator, name_invalid},
    {"a-/b", reference_error::trailing_separator, name_invalid},
    {"a.:tag", reference_error::trailing_separator, name_invalid},
    {"a_@" + sha256, reference_error::trailing_separator, name_invalid},
    // empty components
    {"a//b", reference_error::empty_path_component, name_invalid},
    {"/a", reference_error::empty_path_component, name_invalid},
    {"a/", reference_error::empty_path_component, name_invalid},
    {"/", reference_error::empty_path_component, name_invalid},
    {"localhost/", reference_error::empty_path_component, name_invalid},
    {"example.com/", reference_error::empty_path_component, name_invalid},
    {"foo/:tag", reference_error::empty_path_component, name_invalid},
    // other characters
    {"foo!bar", reference_error::invalid_path_component, name_invalid},
    {"foo bar", reference_error::invalid_path_component, name_invalid},
    {"foo/b%r", reference_error::invalid_path_component, name_invalid},
    {"a-!", reference_error::invalid_path_component, name_invalid},
    {"caf\xc3\xa9", reference_error::invalid_path_component, name_invalid},
    {std::string("a\0b", 3), reference_error::invalid_path_component, name_invalid},
    {"aa/asdf$$^/aa", reference_error::invalid_path_component, name_invalid},
    // without a '/', a bracketed address is the first path component
    {"[::1]:5000", reference_error::invalid_path_component, name_invalid},
    {"[2001:db8::1]", reference_error::invalid_path_component, name_invalid},
    {"[2001:db8::1]:tag", reference_error::invalid_path_component, name_invalid},
    // domains
    {"exa_mple.com/foo", reference_error::invalid_domain, name_invalid},
    {"a.b_c/d", reference_error::invalid_domain, name_invalid}, // has '.': read as a host
    {"-example.com/foo", reference_error::invalid_domain, name_invalid},
    {"example-.com/foo", reference_error::invalid_domain, name_invalid},
    {"example..com/foo", reference_error::invalid_domain, name_invalid},
    {"example.com./foo", reference_error::invalid_domain, name_invalid},
    {".example.com/foo", reference_error::invalid_domain, name_invalid},
    {"Foo_Bar/baz", reference_error::invalid_domain, name_invalid},
    {"[::1]x/foo", reference_error::invalid_domain, name_invalid},
    // ports
    {"host:/x", reference_error::invalid_port, name_invalid},
    {"host:abc/x", reference_error::invalid_port, name_invalid},
    {"host:50x0/x", reference_error::invalid_port, name_invalid},
    {"host:65536/x", reference_error::invalid_port, name_invalid},
    {"host:99999999999999999999999/x", reference_error::invalid_port, name_invalid},
    {"host:5000:6000/x", reference_error::invalid_port, name_invalid},
    {"[::1]:/foo", reference_error::invalid_port, name_invalid},
    // Like Docker: a ':' before the first '/' makes that part a host, so a "tag" there
    // is read as a port.
    {"foo:bar/baz", reference_error::invalid_port, name_invalid},
    // IPv6
    {"[fe80::1%eth0]/foo", reference_error::invalid_ipv6, name_invalid},
    {"[fe80::1%25eth0]:5000/foo", reference_error::invalid_ipv6, name_invalid},
    {"[fe80::1%@invalidzone]:5000/repo", reference_error::invalid_ipv6, name_invalid},
    {"[::ffff:1.2.3.4]/foo", reference_error::invalid_ipv6, name_invalid},
    {"[1:2:3:4:5:6:7:8:9]/foo", reference_error::invalid_ipv6, name_invalid},
    {"[::1:2:3:4:5:6:7:8]/foo", reference_error::invalid_ipv6, name_invalid},
    {"[1:2:3:4:5:6:7]/foo", reference_error::invalid_ipv6, name_invalid},
    {"[1::2::3]/foo", reference_error::invalid_ipv6, name_invalid},
    {"[1:::2]/foo", reference_error::invalid_ipv6, name_invalid},
    {"[:1]/foo", reference_error::invalid_ipv6, name_invalid},
    {"[1:]/foo", reference_error::invalid_ipv6, name_invalid},
    {"[12345::1]/foo", reference_error::invalid_ipv6, name_invalid},
    {"[g::1]/foo", reference_error::invalid_ipv6, name_invalid},
    {"[]:5000/foo", reference_error::invalid_ipv6, name_invalid},
    {"[::1/foo", reference_error::invalid_ipv6, name_invalid},
    // tags
    {"foo:", reference_error::empty_tag, tag_invalid},
    {"foo:@" + sha256, reference_error::empty_tag, tag_invalid},
    {"foo:.bar", reference_error::invalid_tag, tag_invalid},
    {"foo:-bar", reference_error::invalid_tag, tag_invalid},
    {"foo:bar:baz", reference_error::invalid_tag, tag_invalid},
    {"foo:ba r", reference_error::invalid_tag, tag_invalid},
    {"foo:b\xc3\xa4r", reference_error::invalid_tag, tag_invalid},
    {"foo:" + std::string(129, 'a'), reference_error::tag_too_long, tag_invalid},
    {"foo:" + std::string(200, 'a') + "@" + sha256, reference_error::tag_too_long, tag_invalid},
    // digests
    {"foo@", reference_error::invalid_digest, digest_invalid},
    {"foo:1@", reference_error::invalid_digest, digest_invalid},
    {"foo@sha256:abc", reference_error::invalid_digest, digest_invalid},
    {"foo@md5:d41d8cd98f00b204e9800998ecf8427e", reference_error::invalid_digest, digest_invalid},
    {"foo@" + sha256 + "x", reference_error::invalid_digest, digest_invalid},
    {"foo@" + sha256 + "@" + sha256, reference_error::invalid_digest, digest_invalid},
    {"foo@sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
     reference_error::invalid_digest, digest_invalid},
    {"foo@" + sha256_hex, reference_error::invalid_digest, digest_invalid},
};

void PrintTo(invalid_case const& c, std::ostream* os) { *os << '"' << c.input << '"'; }

class ReferenceInvalid : public ::testing::TestWithParam<invalid_case> {};

TEST_P(ReferenceInvalid, ReportsTheRuleAndTheOciCode) {
  invalid_case const& c = GetParam();
  pier::result<pier::reference_view> v = pier::parse_reference_view(c.input);
  ASSERT_FALSE(v) << "parsed: domain=" << v->domain() << " path=" << v->path();
  EXPECT_EQ(v.error(), c.error) << v.error().message();
  EXPECT_EQ(v.error().category(), pier::reference_category());
  EXPECT_EQ(pier::to_oci_error(v.error()), c.oci);

  pier::result<pier::reference> r = pier::parse_reference(c.input);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), c.error);
  EXPECT_THROW((void)r.value(), std::system_error);

  // Normalisation adds nothing that could make an invalid reference valid.
  pier::result<pier::reference> n = pier::parse_normalized_reference(c.input);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error(), c.error);
}

INSTANTIATE_TEST_SUITE_P(Table, ReferenceInvalid, ::testing::ValuesIn(invalid_cases));

// --- limits -----------------------------------------------------------------------------

TEST(ReferenceLimits, NameOf255CharactersIsTheMost) {
  std::string const ok(255, 'a');
  EXPECT_TRUE(pier::parse_reference_view(ok));
  EXPECT_TRUE(pier::parse_reference_view(ok + ":tag@" + sha256));
  EXPECT_EQ(pier::parse_reference_view(ok + "a").error(), reference_error::name_too_long);
  EXPECT_EQ(pier::to_oci_error(pier::parse_reference_view(ok + "a").error()),
            oci_error::name_invalid);
}

TEST(ReferenceLimits, NameLimitCountsTheDomain) {
  std::string const domain = "example.com/";
  std::string const ok = domain + std::string(255 - domain.size(), 'a');
  ASSERT_EQ(ok.size(), 255u);
  pier::result<pier::reference_view> r = pier::parse_reference_view(ok + ":1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name().size(), 255u);
  EXPECT_EQ(pier::parse_reference_view(ok + "b:1").error(), reference_error::name_too_long);
}

TEST(ReferenceLimits, NameLimitWithManyComponents) {
  std::string name = "a";
  while (name.size() + 2 <= 255)
    name += "/b";
  ASSERT_EQ(name.size(), 255u);
  EXPECT_TRUE(pier::parse_reference_view(name));
  EXPECT_EQ(pier::parse_reference_view(name + "c").error(), reference_error::name_too_long);
}

TEST(ReferenceLimits, TagOf128CharactersIsTheMost) {
  std::string const tag(128, 'x');
  pier::result<pier::reference_view> r = pier::parse_reference_view("foo:" + tag);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tag().size(), 128u);
  EXPECT_TRUE(pier::parse_reference_view("foo:" + tag + "@" + sha256));
  EXPECT_EQ(pier::parse_reference_view("foo:" + tag + "x").error(), reference_error::tag_too_long);
  EXPECT_EQ(pier::parse_reference_view("foo:" + tag + "-").error(), reference_error::tag_too_long);
}

// --- the error category -----------------------------------------------------------------

TEST(ReferenceError, CategoryNameMessagesAndOciMapping) {
  EXPECT_STREQ(pier::reference_category().name(), "pier.reference");
  std::set<std::string> messages;
  for (int i = static_cast<int>(reference_error::empty);
       i <= static_cast<int>(reference_error::invalid_digest); ++i) {
    auto const e = static_cast<reference_error>(i);
    std::error_code const ec = e;
    EXPECT_EQ(ec.category(), pier::reference_category());
    std::string const m = ec.message();
    EXPECT_FALSE(m.empty());
    EXPECT_EQ(m.find("unknown"), std::string::npos) << i;
    EXPECT_TRUE(messages.insert(m).second) << "two values share the message " << m;

    oci_error expected = oci_error::name_invalid;
    if (e == reference_error::empty_tag || e == reference_error::invalid_tag ||
        e == reference_error::tag_too_long)
      expected = oci_error::tag_invalid;
    if (e == reference_error::invalid_digest)
      expected = oci_error::digest_invalid;
    EXPECT_EQ(pier::to_oci_error(ec), expected) << m;
    EXPECT_EQ(ec.default_error_condition(),
              std::error_condition(static_cast<int>(expected), pier::oci_category()));
  }
}

// --- normalisation ----------------------------------------------------------------------

struct normalize_case {
  std::string input;
  std::string normalized;
  std::string familiar;
};

std::vector<normalize_case> const normalize_cases = {
    {"ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"},
    {"ubuntu:22.04", "docker.io/library/ubuntu:22.04", "ubuntu:22.04"},
    {"library/ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"},
    {"foo/bar", "docker.io/foo/bar:latest", "foo/bar:latest"},
    {"foo/bar/baz:1", "docker.io/foo/bar/baz:1", "foo/bar/baz:1"},
    {"docker.io/ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"},
    {"docker.io/library/ubuntu:latest", "docker.io/library/ubuntu:latest", "ubuntu:latest"},
    {"docker.io/library/foo/bar", "docker.io/library/foo/bar:latest", "library/foo/bar:latest"},
    {"index.docker.io/foo", "docker.io/library/foo:latest", "foo:latest"},
    {"index.docker.io/foo/bar:1", "docker.io/foo/bar:1", "foo/bar:1"},
    {"localhost", "docker.io/library/localhost:latest", "localhost:latest"},
    {"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000"},
    {"localhost/foo", "localhost/foo:latest", "localhost/foo:latest"},
    {"localhost:5000/foo", "localhost:5000/foo:latest", "localhost:5000/foo:latest"},
    {"ghcr.io/a/b", "ghcr.io/a/b:latest", "ghcr.io/a/b:latest"},
    {"quay.io/x", "quay.io/x:latest", "quay.io/x:latest"}, // one component: not official
    {"Docker.io/foo", "Docker.io/foo:latest", "Docker.io/foo:latest"}, // not Docker Hub's name
    {"[::1]:5000/foo", "[::1]:5000/foo:latest", "[::1]:5000/foo:latest"},
    {"example.com:5000/a/b:1@" + sha256, "example.com:5000/a/b:1@" + sha256,
     "example.com:5000/a/b:1@" + sha256},
    // a digest means no default tag
    {"ubuntu@" + sha256, "docker.io/library/ubuntu@" + sha256, "ubuntu@" + sha256},
    {"ubuntu:22.04@" + sha256, "docker.io/library/ubuntu:22.04@" + sha256,
     "ubuntu:22.04@" + sha256},
    // a path on Docker Hub whose first component looks like a domain keeps the domain
    {"docker.io/foo.com/bar", "docker.io/foo.com/bar:latest", "docker.io/foo.com/bar:latest"},
    {"docker.io/localhost/bar", "docker.io/localhost/bar:latest", "docker.io/localhost/bar:latest"},
    {"docker.io/library/foo.com", "docker.io/library/foo.com:latest", "foo.com:latest"},
    {sha256_hex + ":1", "docker.io/library/" + sha256_hex + ":1", sha256_hex + ":1"},
};

void PrintTo(normalize_case const& c, std::ostream* os) { *os << '"' << c.input << '"'; }

class ReferenceNormalize : public ::testing::TestWithParam<normalize_case> {};

TEST_P(ReferenceNormalize, NormalizesAndFamiliarizes) {
  normalize_case const& c = GetParam();
  pier::result<pier::reference> n = pier::parse_normalized_reference(c.input);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(n->str(), c.normalized);
  // The owning reference's parts agree with a fresh parse of its string.
  pier::result<pier::reference_view> v = pier::parse_reference_view(n->str());
  ASSERT_TRUE(v);
  EXPECT_EQ(n->domain(), v->domain());
  EXPECT_EQ(n->path(), v->path());
  EXPECT_EQ(n->tag(), v->tag());
  EXPECT_EQ(n->digest(), v->digest());
  EXPECT_TRUE(n->has_domain());
  EXPECT_TRUE(n->has_tag() || n->has_digest());

  EXPECT_EQ(pier::familiar_string(*n), c.familiar);
  // Round trip: the familiar form normalises back to the same reference.
  pier::result<pier::reference> again = pier::parse_normalized_reference(c.familiar);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(*again, *n);
  // And normalising is idempotent.
  pier::result<pier::reference> twice = pier::parse_normalized_reference(n->str());
  ASSERT_TRUE(twice);
  EXPECT_EQ(*twice, *n);
}

INSTANTIATE_TEST_SUITE_P(Table, ReferenceNormalize, ::testing::ValuesIn(normalize_cases));

TEST(ReferenceNormalizeErrors, RefusesImageIdsAndKeepsTheNameLimit) {
  pier::result<pier::reference> id = pier::parse_normalized_reference(sha256_hex);
  EXPECT_EQ(id.error(), reference_error::hex_identifier);
  EXPECT_EQ(pier::to_oci_error(id.error()), oci_error::name_invalid);
  // Without normalisation it is just a (long) repository name.
  EXPECT_TRUE(pier::parse_reference(sha256_hex));

  // "docker.io/library/" is 18 characters: a familiar name may be valid by itself but
  // too long once normalised.
  std::string const fits(255 - 18, 'a');
  pier::result<pier::reference> ok = pier::parse_normalized_reference(fits);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->name().size(), 255u);
  EXPECT_TRUE(pier::parse_reference(fits + "a"));
  EXPECT_EQ(pier::parse_normalized_reference(fits + "a").error(), reference_error::name_too_long);
}

TEST(ReferenceFamiliar, OfReferencesThatWereNotNormalized) {
  EXPECT_EQ(pier::familiar_string(pier::parse_reference("ubuntu").value()), "ubuntu");
  EXPECT_EQ(pier::familiar_string(pier::parse_reference("docker.io/ubuntu").value()), "ubuntu");
  EXPECT_EQ(pier::familiar_string(pier::parse_reference("index.docker.io/foo/bar:1").value()),
            "foo/bar:1");
  EXPECT_EQ(pier::familiar_string(pier::parse_reference("docker.io/library/a@" + sha256).value()),
            "a@" + sha256);
  EXPECT_EQ(pier::familiar_string(pier::parse_reference("localhost/foo").value()), "localhost/foo");
  EXPECT_EQ(pier::familiar_string(pier::reference_view{}), "");
}

// --- owning and non-owning values -------------------------------------------------------

TEST(ReferenceView, PointsIntoTheInput) {
  std::string const s = "example.com:5000/a/b:1@" + sha256;
  pier::reference_view const v = pier::parse_reference_view(s).value();
  EXPECT_EQ(v.str().data(), s.data());
  EXPECT_EQ(v.domain().data(), s.data());
  EXPECT_EQ(v.name().data(), s.data());
  EXPECT_EQ(v.path().data(), s.data() + 17);
  EXPECT_EQ(v.tag().data(), s.data() + 21);
  EXPECT_EQ(v.digest().str().data(), s.data() + 23);
  EXPECT_EQ(v.digest().algorithm(), pier::digest_algorithm::sha256);
  EXPECT_EQ(v.digest().encoded(), sha256_hex);
}

TEST(ReferenceView, DefaultIsEmpty) {
  pier::reference_view const v;
  EXPECT_TRUE(v.empty());
  EXPECT_FALSE(v.has_domain() || v.has_tag() || v.has_digest());
  EXPECT_EQ(v.str(), "");
  EXPECT_EQ(v.name(), "");

  pier::reference const r;
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.has_domain() || r.has_tag() || r.has_digest());
  EXPECT_EQ(r.str(), "");
  EXPECT_EQ(r.name(), "");
  EXPECT_TRUE(r.digest().empty());
  EXPECT_EQ(pier::reference(v), r);
}

TEST(Reference, ComparesHashesAndOrders) {
  pier::reference const a = pier::parse_reference("foo:1").value();
  pier::reference const a2 = pier::parse_reference(std::string("foo:1")).value();
  pier::reference const b = pier::parse_reference("foo:2").value();
  EXPECT_EQ(a, a2);
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  EXPECT_EQ(std::hash<pier::reference>{}(a), std::hash<pier::reference>{}(a2));
  // Spelling matters: no normalisation in comparisons.
  EXPECT_NE(pier::parse_reference("ubuntu").value(),
            pier::parse_reference("docker.io/library/ubuntu").value());

  pier::reference_view const av = a;
  EXPECT_EQ(av, a.view());
  EXPECT_TRUE(a == pier::parse_reference_view("foo:1").value());
  EXPECT_EQ(pier::reference(av), a);

  std::unordered_set<pier::reference, std::hash<pier::reference>, std::equal_to<>> set{a, b};
  EXPECT_TRUE(set.contains(pier::parse_reference_view("foo:2").value()));
  EXPECT_FALSE(set.contains(pier::parse_reference_view("foo:3").value()));
  std::set<pier::reference> const ordered{b, a, a2};
  EXPECT_EQ(ordered.size(), 2u);
  EXPECT_EQ(*ordered.begin(), a);
}

TEST(Reference, DigestOfAnOwningReference) {
  pier::reference r = pier::parse_reference("a/b:t@" + sha512).value();
  pier::reference const copy = r;
  r = pier::parse_reference("x").value(); // the copy must not depend on r
  ASSERT_TRUE(copy.has_digest());
  EXPECT_EQ(copy.digest().algorithm(), pier::digest_algorithm::sha512);
  EXPECT_EQ(copy.digest(), pier::parse_digest_view(sha512).value());
  EXPECT_EQ(copy.digest().str().data(), copy.str().data() + 6);
  EXPECT_FALSE(r.has_digest());
  EXPECT_TRUE(r.digest().empty());
}

// --- validators for names and tags from request paths ------------------------------------

struct validate_case {
  std::string input;
  reference_error error; // empty_tag... only read when the input is invalid
  bool ok;
};

TEST(ValidateRepositoryName, Table) {
  std::vector<validate_case> const cases = {
      {"library/ubuntu", {}, true},
      {"a", {}, true},
      {"a__b/c--d/e.f/g-h_i", {}, true},
      {"localhost", {}, true},
      {std::string(255, 'a'), {}, true},
      {"", reference_error::empty, false},
      {std::string(256, 'a'), reference_error::name_too_long, false},
      {"example.com/foo", {}, true}, // a path component, not a host, here
      {"example.com:5000/foo", reference_error::invalid_path_component, false},
      {"foo:tag", reference_error::invalid_path_component, false},
      {"foo@" + sha256, reference_error::invalid_path_component, false},
      {"Foo", reference_error::uppercase_in_path, false},
      {"a//b", reference_error::empty_path_component, false},
      {"/a", reference_error::empty_path_component, false},
      {"a/", reference_error::empty_path_component, false},
      {"a___b", reference_error::invalid_separator, false},
      {"a._b", reference_error::invalid_separator, false},
      {"_a", reference_error::leading_separator, false},
      {"a-", reference_error::trailing_separator, false},
  };
  for (validate_case const& c : cases) {
    pier::result<void> r = pier::validate_repository_name(c.input);
    EXPECT_EQ(r.has_value(), c.ok) << c.input;
    if (!c.ok) {
      EXPECT_EQ(r.error(), c.error) << c.input << ": " << r.error().message();
      EXPECT_EQ(pier::to_oci_error(r.error()), oci_error::name_invalid);
    }
  }
}

TEST(ValidateTag, Table) {
  std::vector<validate_case> const cases = {
      {"latest", {}, true},
      {"v1.0_rc-1", {}, true},
      {"_", {}, true},
      {"1", {}, true},
      {"UPPER", {}, true},
      {std::string(128, 'a'), {}, true},
      {"", reference_error::empty_tag, false},
      {std::string(129, 'a'), reference_error::tag_too_long, false},
      {".hidden", reference_error::invalid_tag, false},
      {"-x", reference_error::invalid_tag, false},
      {"a:b", reference_error::invalid_tag, false},
      {"a/b", reference_error::invalid_tag, false},
      {"a@b", reference_error::invalid_tag, false},
      {"a b", reference_error::invalid_tag, false},
      {sha256, reference_error::invalid_tag, false},
  };
  for (validate_case const& c : cases) {
    pier::result<void> r = pier::validate_tag(c.input);
    EXPECT_EQ(r.has_value(), c.ok) << c.input;
    if (!c.ok) {
      EXPECT_EQ(r.error(), c.error) << c.input << ": " << r.error().message();
      EXPECT_EQ(pier::to_oci_error(r.error()), oci_error::tag_invalid);
    }
  }
}

// --- the @code examples of reference.hpp, compiled and run --------------------------------

TEST(ReferenceDocs, Examples) {
  {
    pier::result<pier::reference_view> r =
        pier::parse_reference_view("registry.example.com:5000/team/app:1.2");
    EXPECT_TRUE(r && r->domain() == "registry.example.com:5000" && r->path() == "team/app");
    EXPECT_TRUE(r->tag() == "1.2" && !r->has_digest());

    pier::result<pier::reference> n = pier::parse_normalized_reference("ubuntu");
    EXPECT_TRUE(n && n->str() == "docker.io/library/ubuntu:latest");
    EXPECT_TRUE(pier::familiar_string(*n) == "ubuntu:latest");
  }
  {
    std::error_code ec = pier::parse_reference_view("Ubuntu").error();
    EXPECT_TRUE(ec == pier::reference_error::uppercase_in_path);
    EXPECT_TRUE(pier::to_oci_error(ec) == pier::oci_error::name_invalid);
  }
  {
    std::string const s = "[::1]:5000/foo/bar:v1";
    pier::result<pier::reference_view> r = pier::parse_reference_view(s);
    EXPECT_TRUE(r && r->domain() == "[::1]:5000" && r->name() == "[::1]:5000/foo/bar");
    EXPECT_TRUE(r->str().data() == s.data());
  }
  {
    pier::reference r = pier::parse_reference("quay.io/coreos/etcd:v3.5.0").value();
    pier::reference const copy = r;
    EXPECT_TRUE(copy == r && copy.path() == "coreos/etcd" && copy.tag() == "v3.5.0");
  }
  {
    pier::result<pier::reference_view> r = pier::parse_reference_view("ubuntu");
    EXPECT_TRUE(r && !r->has_domain() && r->path() == "ubuntu" && !r->has_tag());
    EXPECT_TRUE(pier::parse_reference_view("a___b").error() ==
                pier::reference_error::invalid_separator);
  }
  {
    pier::result<pier::reference> r = pier::parse_reference("foo:bar:baz");
    EXPECT_TRUE(r.error() == pier::reference_error::invalid_tag);
    EXPECT_TRUE(pier::to_oci_error(r.error()) == pier::oci_error::tag_invalid);
  }
  EXPECT_TRUE(pier::parse_normalized_reference("foo/bar").value().str() ==
              "docker.io/foo/bar:latest");
  EXPECT_TRUE(pier::parse_normalized_reference("index.docker.io/foo:1").value().str() ==
              "docker.io/library/foo:1");
  EXPECT_TRUE(pier::parse_normalized_reference("localhost:5000/foo").value().str() ==
              "localhost:5000/foo:latest");
  {
    pier::reference r = pier::parse_normalized_reference("docker.io/library/ubuntu").value();
    EXPECT_TRUE(pier::familiar_string(r) == "ubuntu:latest");
    EXPECT_TRUE(pier::familiar_string(pier::parse_reference("ghcr.io/a/b:1").value()) ==
                "ghcr.io/a/b:1");
  }
  EXPECT_TRUE(pier::validate_repository_name("library/ubuntu"));
  EXPECT_TRUE(pier::validate_repository_name("a//b").error() ==
              pier::reference_error::empty_path_component);
  EXPECT_TRUE(pier::validate_tag("v1.0_rc-1"));
  EXPECT_TRUE(pier::validate_tag(".hidden").error() == pier::reference_error::invalid_tag);
}

} // namespace reference_test
