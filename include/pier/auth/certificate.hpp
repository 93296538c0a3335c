// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_CERTIFICATE_HPP
#define PIER_AUTH_CERTIFICATE_HPP

/// @file
/// Certificates for a private registry: a small certificate authority and a server
/// certificate it signs, made in memory as PEM (no I/O; `certificate_files.hpp` writes them).
///
/// @code
/// pier::auth::certificate_request req;
/// req.host = "registry.example.internal";
/// req.ips = {"10.0.0.5", "::1"};
/// pier::result<pier::auth::certificate_set> set = pier::auth::generate_certificates(req);
/// if (!set)
///   std::fprintf(stderr, "gen-cert: %s\n", set.error().message().c_str());
/// // set->ca_cert goes to clients (docker: /etc/docker/certs.d/<host>:<port>/ca.crt);
/// // set->server_cert and set->server_key to `serve --tls-cert/--tls-key`.
/// @endcode
///
/// The CA: an EC P-256 key, self-signed with ECDSA-SHA256, `basicConstraints` critical
/// CA:TRUE with path length 0, `keyUsage` critical keyCertSign and cRLSign, a subject key
/// identifier; valid `ca_validity` (10 years by default). The server certificate: its own
/// P-256 key, subject CN = the host (when it fits in 64 characters), `subjectAltName` with
/// DNS:<host> and IP:<addr> for each address, `extendedKeyUsage` serverAuth, `keyUsage` critical
/// digitalSignature, `basicConstraints` CA:FALSE, subject and authority key identifiers; valid
/// `server_validity` (825 days by default: the most Apple's clients accept). Both start an
/// hour in the past, for clients whose clocks lag. Serial numbers are 128 random bits.
///
/// See RFC 5280 §4.2 (extensions), RFC 6125 (host names in certificates), and
/// https://support.apple.com/en-us/103769 (validity limits).

#include <pier/config.hpp>
#include <pier/core/error.hpp>
#include <pier/core/result.hpp>

#include <chrono>
#include <string>
#include <system_error>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace auth {

/// Why certificates could not be made. Map to `oci_error::unknown` (they never answer a
/// client).
enum class certificate_error {
  invalid_host = 1, ///< not a DNS host name (letters, digits, '-', dots; labels of 1–63)
  invalid_ip,       ///< not an IPv4 or IPv6 address
  invalid_validity, ///< a validity of zero or less, or more than 100 years
  crypto_failure,   ///< OpenSSL failed (allocation, random generator)
};

/// The category of `certificate_error`, named "pier.auth.certificate".
std::error_category const& certificate_category() noexcept;

inline std::error_code make_error_code(certificate_error e) noexcept {
  return {static_cast<int>(e), certificate_category()};
}

/// What to certify.
struct certificate_request {
  /// The registry's DNS name, as clients write it ("registry.local", "localhost"). An IP
  /// address is not a host name: put it in `ips`.
  std::string host;
  /// IPv4 or IPv6 addresses clients may connect to, in text form.
  std::vector<std::string> ips;
  /// The CA's common name, at most 64 characters (else `crypto_failure`); empty:
  /// "pier registry CA for <host>" (cut at 64).
  std::string ca_name;
  std::chrono::days ca_validity{3650};
  std::chrono::days server_validity{825};
};

/// The PEM texts made by `generate_certificates`.
struct certificate_set {
  std::string ca_cert;     ///< "CERTIFICATE": what clients trust
  std::string ca_key;      ///< "PRIVATE KEY" (PKCS #8): to sign more later; keep it secret
  std::string server_cert; ///< "CERTIFICATE": the server's, signed by the CA
  std::string server_key;  ///< "PRIVATE KEY" (PKCS #8): the server's; mode 0600
};

/// Whether `host` is a DNS host name pier certifies: 1 to 253 characters, labels of 1 to 63
/// letters, digits and '-' not at either end, separated by single dots, the last label not
/// all digits (that would be an IPv4 address). No wildcards, no trailing dot.
bool valid_host_name(std::string_view host) noexcept;

/// A new CA and a server certificate for `req`, signed by it.
result<certificate_set> generate_certificates(certificate_request const& req);

} // namespace auth
PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::auth::certificate_error> : std::true_type {};

#include <pier/auth/impl/certificate.hpp>

#endif // PIER_AUTH_CERTIFICATE_HPP
