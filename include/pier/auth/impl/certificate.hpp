// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_IMPL_CERTIFICATE_HPP
#define PIER_AUTH_IMPL_CERTIFICATE_HPP

#include <pier/core/detail/openssl.hpp>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <memory>
#include <string_view>

#include <arpa/inet.h>

PIER_BEGIN_NAMESPACE
namespace auth {
namespace detail {

class certificate_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.auth.certificate"; }

  std::string message(int ev) const override {
    switch (static_cast<certificate_error>(ev)) {
    case certificate_error::invalid_host:
      return "host is not a DNS name (letters, digits, '-' and dots; an address goes in --ip)";
    case certificate_error::invalid_ip: return "not an IPv4 or IPv6 address";
    case certificate_error::invalid_validity:
      return "certificate validity must be between 1 day and 100 years";
    case certificate_error::crypto_failure: return "OpenSSL failed to make the certificates";
    }
    return "unknown certificate error";
  }

  std::error_condition default_error_condition(int) const noexcept override {
    return {static_cast<int>(oci_error::unknown), oci_category()};
  }
};

namespace cert {

namespace ossl = ::pier::detail::openssl;
using x509_ptr = std::unique_ptr<X509, ossl::deleter<X509_free>>;
using general_names_ptr = std::unique_ptr<GENERAL_NAMES, ossl::deleter<GENERAL_NAMES_free>>;
using general_name_ptr = std::unique_ptr<GENERAL_NAME, ossl::deleter<GENERAL_NAME_free>>;
using extension_ptr = std::unique_ptr<X509_EXTENSION, ossl::deleter<X509_EXTENSION_free>>;

// An address in network byte order: 4 or 16 bytes.
struct ip_bytes {
  std::array<unsigned char, 16> data{};
  int size = 0;
};

inline bool parse_ip(std::string const& text, ip_bytes& out) noexcept {
  if (::inet_pton(AF_INET, text.c_str(), out.data.data()) == 1) {
    out.size = 4;
    return true;
  }
  if (::inet_pton(AF_INET6, text.c_str(), out.data.data()) == 1) {
    out.size = 16;
    return true;
  }
  return false;
}

inline ossl::pkey_ptr p256_key() { return ossl::pkey_ptr(EVP_EC_gen("P-256")); }

// Version 3, a random positive 128-bit serial, subject CN, validity from an hour ago.
inline bool start(X509* x, EVP_PKEY* key, std::string const& cn, std::chrono::days validity) {
  std::array<unsigned char, 16> serial{};
  if (!ossl::random_bytes(serial.data(), serial.size()))
    return false;
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x40); // positive, 16 bytes
  ossl::bignum_ptr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  X509_NAME* const name = X509_get_subject_name(x);
  return bn && X509_set_version(x, X509_VERSION_3) == 1 &&
         BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x)) != nullptr &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                    reinterpret_cast<unsigned char const*>("pier"), -1, -1,
                                    0) == 1 &&
         (cn.empty() ||
          X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                     reinterpret_cast<unsigned char const*>(cn.data()),
                                     static_cast<int>(cn.size()), -1, 0) == 1) &&
         X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr &&
         X509_time_adj_ex(X509_getm_notAfter(x), static_cast<int>(validity.count()), 0, nullptr) !=
             nullptr &&
         X509_set_pubkey(x, key) == 1;
}

// An extension in OpenSSL's configuration syntax; `issuer` for the authority key ID.
inline bool add_ext(X509* x, X509* issuer, int nid, char const* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  extension_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(x, ext.get(), -1) == 1;
}

// subjectAltName built as values, not as configuration text: the host never gets parsed.
inline bool add_alt_names(X509* x, std::string const& host, std::vector<ip_bytes> const& ips) {
  general_names_ptr names(sk_GENERAL_NAME_new_null());
  if (!names)
    return false;
  auto push = [&](int type, ASN1_STRING* value) {
    general_name_ptr g(GENERAL_NAME_new());
    if (!value || !g) {
      ASN1_STRING_free(value);
      return false;
    }
    GENERAL_NAME_set0_value(g.get(), type, value);
    if (sk_GENERAL_NAME_push(names.get(), g.get()) == 0)
      return false;
    (void)g.release();
    return true;
  };
  ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
  if (dns && ASN1_STRING_set(dns, host.data(), static_cast<int>(host.size())) != 1) {
    ASN1_STRING_free(dns);
    return false;
  }
  if (!push(GEN_DNS, dns))
    return false;
  for (ip_bytes const& ip : ips) {
    ASN1_OCTET_STRING* o = ASN1_OCTET_STRING_new();
    if (o && ASN1_OCTET_STRING_set(o, ip.data.data(), ip.size) != 1) {
      ASN1_STRING_free(o);
      return false;
    }
    if (!push(GEN_IPADD, o))
      return false;
  }
  return X509_add1_ext_i2d(x, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) == 1;
}

// PEM of a certificate (PEM_write_bio_X509) or a private key (PKCS #8, unencrypted).
template <class Write>
bool to_pem(Write write, std::string& out) {
  ossl::bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1)
    return false;
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio.get(), &mem);
  out.assign(mem->data, mem->length);
  return true;
}
inline bool to_pem(X509* x, std::string& out) {
  return to_pem([x](BIO* b) { return PEM_write_bio_X509(b, x); }, out);
}
inline bool to_pem(EVP_PKEY* key, std::string& out) {
  return to_pem(
      [key](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
      },
      out);
}

inline bool valid_days(std::chrono::days d) noexcept { return d.count() > 0 && d.count() <= 36525; }

} // namespace cert
} // namespace detail

inline std::error_category const& certificate_category() noexcept {
  static detail::certificate_category_impl const instance;
  return instance;
}

inline bool valid_host_name(std::string_view host) noexcept {
  if (host.empty() || host.size() > 253)
    return false;
  std::size_t label = 0;
  bool all_digits = true;
  char prev = '.';
  for (char const c : host) {
    if (c == '.') {
      if (prev == '.' || prev == '-')
        return false;
      label = 0;
      all_digits = true;
    } else {
      bool const alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (!alnum && (c != '-' || prev == '.'))
        return false;
      if (++label > 63)
        return false;
      all_digits = all_digits && c >= '0' && c <= '9';
    }
    prev = c;
  }
  return prev != '.' && prev != '-' && !all_digits;
}

inline result<certificate_set> generate_certificates(certificate_request const& req) {
  namespace c = detail::cert;
  if (!valid_host_name(req.host))
    return certificate_error::invalid_host;
  std::vector<c::ip_bytes> ips(req.ips.size());
  for (std::size_t i = 0; i < req.ips.size(); ++i)
    if (!c::parse_ip(req.ips[i], ips[i]))
      return certificate_error::invalid_ip;
  if (!c::valid_days(req.ca_validity) || !c::valid_days(req.server_validity))
    return certificate_error::invalid_validity;

  ::pier::detail::openssl::error_queue_guard const guard;
  // A common name holds at most 64 characters (RFC 5280 ub-common-name); clients match the
  // host against subjectAltName, so a longer host simply goes without a CN.
  std::string const ca_name =
      req.ca_name.empty() ? ("pier registry CA for " + req.host).substr(0, 64) : req.ca_name;
  std::string const server_cn = req.host.size() <= 64 ? req.host : std::string();
  c::ossl::pkey_ptr ca_key = c::p256_key();
  c::ossl::pkey_ptr server_key = c::p256_key();
  c::x509_ptr ca(X509_new());
  c::x509_ptr server(X509_new());
  if (!ca_key || !server_key || !ca || !server)
    return certificate_error::crypto_failure;

  bool const ca_ok =
      c::start(ca.get(), ca_key.get(), ca_name, req.ca_validity) &&
      X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())) == 1 &&
      c::add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
      c::add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign") &&
      c::add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash") &&
      X509_sign(ca.get(), ca_key.get(), EVP_sha256()) > 0;
  bool const server_ok =
      ca_ok && c::start(server.get(), server_key.get(), server_cn, req.server_validity) &&
      X509_set_issuer_name(server.get(), X509_get_subject_name(ca.get())) == 1 &&
      c::add_ext(server.get(), ca.get(), NID_basic_constraints, "CA:FALSE") &&
      c::add_ext(server.get(), ca.get(), NID_key_usage, "critical,digitalSignature") &&
      c::add_ext(server.get(), ca.get(), NID_ext_key_usage, "serverAuth") &&
      c::add_ext(server.get(), ca.get(), NID_subject_key_identifier, "hash") &&
      c::add_ext(server.get(), ca.get(), NID_authority_key_identifier, "keyid:always") &&
      c::add_alt_names(server.get(), req.host, ips) &&
      X509_sign(server.get(), ca_key.get(), EVP_sha256()) > 0;
  certificate_set out;
  if (!server_ok || !c::to_pem(ca.get(), out.ca_cert) || !c::to_pem(ca_key.get(), out.ca_key) ||
      !c::to_pem(server.get(), out.server_cert) || !c::to_pem(server_key.get(), out.server_key))
    return certificate_error::crypto_failure;
  return out;
}

} // namespace auth
PIER_END_NAMESPACE

#endif // PIER_AUTH_IMPL_CERTIFICATE_HPP
