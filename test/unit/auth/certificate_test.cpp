// SPDX-License-Identifier: Apache-2.0
#include <pier/auth/certificate.hpp>

#include <pier/auth/certificate_files.hpp>

#include <gtest/gtest.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

namespace certificate_test {

namespace auth = pier::auth;

struct x509_free_fn {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct pkey_free_fn {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using x509_ptr = std::unique_ptr<X509, x509_free_fn>;
using key_ptr = std::unique_ptr<EVP_PKEY, pkey_free_fn>;

x509_ptr read_cert(std::string const& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  x509_ptr x(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return x;
}

key_ptr read_key(std::string const& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  key_ptr k(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return k;
}

// X509_verify_cert of `leaf` against a store holding `ca` alone, for TLS server use.
int verify(X509* ca, X509* leaf) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
  int const ok = X509_verify_cert(ctx);
  int const err = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok == 1 ? X509_V_OK : (err == X509_V_OK ? -1 : err);
}

auth::certificate_set make(std::string host, std::vector<std::string> ips = {}) {
  auth::certificate_request req;
  req.host = std::move(host);
  req.ips = std::move(ips);
  auto set = auth::generate_certificates(req);
  EXPECT_TRUE(set) << set.error().message();
  return set ? *set : auth::certificate_set{};
}

std::string read_file(std::filesystem::path const& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Certificate, CaVerifiesServerCertificate) {
  auth::certificate_set const set = make("registry.example.internal", {"10.0.0.5", "::1"});
  x509_ptr ca = read_cert(set.ca_cert);
  x509_ptr server = read_cert(set.server_cert);
  ASSERT_TRUE(ca && server);
  EXPECT_EQ(verify(ca.get(), server.get()), X509_V_OK);

  // Another CA, same names: the server certificate does not chain to it.
  auth::certificate_set const other = make("registry.example.internal");
  x509_ptr other_ca = read_cert(other.ca_cert);
  EXPECT_NE(verify(other_ca.get(), server.get()), X509_V_OK);
}

TEST(Certificate, SubjectAltNames) {
  auth::certificate_set const set = make("registry.example.internal", {"10.0.0.5", "fd00::7"});
  x509_ptr server = read_cert(set.server_cert);
  ASSERT_TRUE(server);
  EXPECT_EQ(X509_check_host(server.get(), "registry.example.internal", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(server.get(), "REGISTRY.example.internal", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(server.get(), "other.example.internal", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "10.0.0.5", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "fd00:0:0::7", 0), 1);
  EXPECT_NE(X509_check_ip_asc(server.get(), "10.0.0.6", 0), 1);

  // Exactly the names asked for, in order: DNS first, then the addresses.
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(server.get(), NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  ASSERT_EQ(sk_GENERAL_NAME_num(names), 3);
  GENERAL_NAME const* dns = sk_GENERAL_NAME_value(names, 0);
  ASSERT_EQ(dns->type, GEN_DNS);
  EXPECT_EQ(std::string(reinterpret_cast<char const*>(ASN1_STRING_get0_data(dns->d.dNSName)),
                        static_cast<std::size_t>(ASN1_STRING_length(dns->d.dNSName))),
            "registry.example.internal");
  EXPECT_EQ(sk_GENERAL_NAME_value(names, 1)->type, GEN_IPADD);
  EXPECT_EQ(ASN1_STRING_length(sk_GENERAL_NAME_value(names, 1)->d.iPAddress), 4);
  EXPECT_EQ(ASN1_STRING_length(sk_GENERAL_NAME_value(names, 2)->d.iPAddress), 16);
  GENERAL_NAMES_free(names);
}

TEST(Certificate, KeyUsages) {
  auth::certificate_set const set = make("localhost", {"127.0.0.1"});
  x509_ptr ca = read_cert(set.ca_cert);
  x509_ptr server = read_cert(set.server_cert);
  ASSERT_TRUE(ca && server);

  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_get_key_usage(ca.get()),
            static_cast<std::uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(ca.get()), nullptr);
  int crit = -1;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(ca.get(), NID_basic_constraints, &crit, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(crit, 1);
  EXPECT_TRUE(bc->ca);
  BASIC_CONSTRAINTS_free(bc);

  EXPECT_EQ(X509_check_ca(server.get()), 0);
  EXPECT_EQ(X509_get_key_usage(server.get()), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(server.get()), static_cast<std::uint32_t>(XKU_SSL_SERVER));
  // The authority key ID names the CA's key.
  ASN1_OCTET_STRING const* aki = X509_get0_authority_key_id(server.get());
  ASSERT_NE(aki, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(ca.get())), 0);

  // Validity: CA about ten years, server 825 days (starting an hour back).
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(server.get()),
                           X509_get0_notAfter(server.get())),
            1);
  EXPECT_EQ(days, 825);
  ASSERT_EQ(
      ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(ca.get()), X509_get0_notAfter(ca.get())), 1);
  EXPECT_EQ(days, 3650);
  // Different random serials.
  EXPECT_NE(
      ASN1_INTEGER_cmp(X509_get0_serialNumber(ca.get()), X509_get0_serialNumber(server.get())), 0);
}

TEST(Certificate, KeysMatchCertificates) {
  auth::certificate_set const set = make("localhost");
  x509_ptr ca = read_cert(set.ca_cert);
  x509_ptr server = read_cert(set.server_cert);
  key_ptr ca_key = read_key(set.ca_key);
  key_ptr server_key = read_key(set.server_key);
  ASSERT_TRUE(ca && server && ca_key && server_key);
  EXPECT_EQ(X509_check_private_key(server.get(), server_key.get()), 1);
  EXPECT_EQ(X509_check_private_key(ca.get(), ca_key.get()), 1);
  EXPECT_NE(X509_check_private_key(server.get(), ca_key.get()), 1);
  EXPECT_EQ(EVP_PKEY_get_base_id(server_key.get()), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(server_key.get()), 256);
  EXPECT_NE(set.server_key.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
}

TEST(Certificate, BadInputsRejected) {
  auto gen = [](std::string host, std::vector<std::string> ips = {}) {
    auth::certificate_request req;
    req.host = std::move(host);
    req.ips = std::move(ips);
    return auth::generate_certificates(req).error();
  };
  for (char const* host :
       {"", "-registry", "registry-", "a..b", ".a", "a.", "a_b.example", "*.example.com",
        "10.0.0.1", "a b", "reg/istry", "host:5000", "\xc3\xa9t\xc3\xa9.example"})
    EXPECT_EQ(gen(host), auth::certificate_error::invalid_host) << host;
  EXPECT_EQ(gen(std::string(64, 'a')), auth::certificate_error::invalid_host);
  EXPECT_FALSE(gen(std::string(63, 'a')));
  EXPECT_EQ(gen(std::string(127, 'a') + "." + std::string(126, 'b')),
            auth::certificate_error::invalid_host); // 254 characters
  EXPECT_TRUE(auth::valid_host_name("a-b.c1.example"));
  EXPECT_TRUE(auth::valid_host_name("1.example"));
  EXPECT_TRUE(auth::valid_host_name("localhost"));

  for (char const* ip : {"1.2.3", "1.2.3.256", "localhost", "", "::g", "10.0.0.1/24", " 10.0.0.1"})
    EXPECT_EQ(gen("localhost", {ip}), auth::certificate_error::invalid_ip) << ip;

  auth::certificate_request req;
  req.host = "localhost";
  req.server_validity = std::chrono::days(0);
  EXPECT_EQ(auth::generate_certificates(req).error(), auth::certificate_error::invalid_validity);
  req.server_validity = std::chrono::days(825);
  req.ca_validity = std::chrono::days(40000);
  EXPECT_EQ(auth::generate_certificates(req).error(), auth::certificate_error::invalid_validity);
  EXPECT_EQ(pier::to_oci_error(make_error_code(auth::certificate_error::invalid_host)),
            pier::oci_error::unknown);
}

TEST(CertificateFiles, WritesWithModes) {
  std::filesystem::path const dir = std::filesystem::temp_directory_path() /
                                    ("pier_cert_test_" + std::to_string(::getpid())) / "out";
  std::filesystem::remove_all(dir.parent_path());
  std::filesystem::create_directories(dir.parent_path());
  auth::certificate_set const set = make("localhost", {"127.0.0.1"});
  ASSERT_TRUE(auth::write_certificate_files(set, dir.string()));

  auto mode = [&](char const* name) {
    struct stat st {};
    EXPECT_EQ(::stat((dir / name).c_str(), &st), 0) << name;
    return st.st_mode & 0777;
  };
  EXPECT_EQ(mode("server.key"), 0600u);
  EXPECT_EQ(mode("server.crt") & 0600u, 0600u);
  EXPECT_EQ(mode("ca.crt") & 0600u, 0600u);
  EXPECT_EQ(read_file(dir / "server.key"), set.server_key);
  EXPECT_EQ(read_file(dir / "server.crt"), set.server_cert);
  EXPECT_EQ(read_file(dir / "ca.crt"), set.ca_cert);
  EXPECT_FALSE(std::filesystem::exists(dir / "ca.key"));

  // Again, over the old files, with the CA key; a stale temporary file is no obstacle.
  std::ofstream(dir / "server.key.tmp") << "stale";
  auth::certificate_set const again = make("localhost");
  ASSERT_TRUE(auth::write_certificate_files(again, dir.string(), true));
  EXPECT_EQ(read_file(dir / "server.key"), again.server_key);
  EXPECT_EQ(read_file(dir / "ca.key"), again.ca_key);
  EXPECT_EQ(mode("ca.key"), 0600u);
  EXPECT_FALSE(std::filesystem::exists(dir / "server.key.tmp"));

  // A directory that cannot be made: the errno comes back.
  pier::result<void> bad = auth::write_certificate_files(set, (dir / "server.key" / "x").string());
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error(), std::errc::not_a_directory);
  std::filesystem::remove_all(dir.parent_path());
}

TEST(CertificateHeaderExamples, Generate) {
  pier::auth::certificate_request req;
  req.host = "registry.example.internal";
  req.ips = {"10.0.0.5", "::1"};
  pier::result<pier::auth::certificate_set> set = pier::auth::generate_certificates(req);
  if (!set)
    std::fprintf(stderr, "gen-cert: %s\n", set.error().message().c_str());
  ASSERT_TRUE(set);
  EXPECT_FALSE(set->ca_cert.empty());
}

TEST(Certificate, LongHostHasNoCommonName) {
  std::string const host = std::string(63, 'a') + "." + std::string(63, 'b') + ".example";
  auth::certificate_set const set = make(host);
  x509_ptr server = read_cert(set.server_cert);
  ASSERT_TRUE(server);
  EXPECT_EQ(X509_check_host(server.get(), host.c_str(), host.size(), 0, nullptr), 1);
  EXPECT_LT(X509_NAME_get_index_by_NID(X509_get_subject_name(server.get()), NID_commonName, -1), 0);
}

TEST(CertificateHeaderExamples, WriteFiles) {
  std::filesystem::path const dir =
      std::filesystem::temp_directory_path() / ("pier_cert_example_" + std::to_string(::getpid()));
  pier::auth::certificate_request req;
  req.host = "registry.local";
  auto set = pier::auth::generate_certificates(req);
  if (set) {
    pier::result<void> w = pier::auth::write_certificate_files(*set, dir.string());
    if (!w)
      std::fprintf(stderr, "gen-cert: %s\n", w.error().message().c_str());
    EXPECT_TRUE(w);
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "server.key"));
  std::filesystem::remove_all(dir);
}

} // namespace certificate_test
