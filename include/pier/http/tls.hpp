// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_TLS_HPP
#define PIER_HTTP_TLS_HPP

/// @file
/// TLS for the HTTP server: a certificate chain and private key loaded into an OpenSSL
/// context, reloadable while the server runs.
///
/// @code
/// pier::http::tls_options t;
/// t.certificate_file = "/etc/pier/server.crt"; // server certificate, then intermediates
/// t.private_key_file = "/etc/pier/server.key";
/// pier::result<std::shared_ptr<pier::http::tls_context>> tls = pier::http::tls_context::load(t);
/// if (!tls) {
///   std::fprintf(stderr, "%s: %s\n", t.certificate_file.c_str(),
///                tls.error().message().c_str());
///   return 1;
/// }
/// pier::http::server_options opts;
/// opts.tls = *tls;
/// // On SIGHUP, from any thread: new connections get the new certificate, open ones keep
/// // theirs; a failed reload keeps the old one.
/// if (pier::result<void> r = (*tls)->reload(); !r)
///   std::fprintf(stderr, "tls reload: %s\n", r.error().message().c_str());
/// @endcode
///
/// The configuration follows Mozilla's "intermediate" recommendation (v5.7): TLS 1.2 and
/// 1.3 only; for TLS 1.2 ECDHE (and DHE with OpenSSL's built-in groups) key exchange with
/// AES-GCM or ChaCha20-Poly1305 only; TLS 1.3 with OpenSSL's default suites. The server's
/// order is preferred, AES-128-GCM first in both versions (the cheapest with AES-NI: about
/// 10 % less server CPU than AES-256-GCM for a blob download, see bench/README.md; and the
/// kernel can take it over), except that a client listing ChaCha20-Poly1305 first (one
/// without AES instructions) gets it. No compression, no renegotiation, no session
/// resumption across a reload (the ticket keys are per context).
///
/// ALPN: the server selects "http/1.1" when the client offers it. A client that offers
/// only other protocols (say "h2" alone, or "http/1.0") still connects, without an ALPN
/// answer, rather than being refused with a fatal alert: an HTTP/1.0 client then works, and
/// an HTTP/2-only client gets an HTTP/1.1 error it can report, not an opaque handshake failure.
///
/// Kernel TLS: with `ktls` on (the default) the context sets `SSL_OP_ENABLE_KTLS` when
/// OpenSSL was built with it; OpenSSL then hands the record layer to the kernel after the
/// handshake when the kernel has the `tls` module and supports the cipher, and the server
/// sends file bodies with `SSL_sendfile` (no copy to user space). Otherwise file bodies are
/// read into a bounded buffer and encrypted in user space.
///
/// See RFC 8446 (TLS 1.3), RFC 5246 (TLS 1.2), RFC 7301 (ALPN),
/// https://wiki.mozilla.org/Security/Server_Side_TLS and
/// https://docs.kernel.org/networking/tls.html

#include <pier/config.hpp>
#include <pier/core/error.hpp>
#include <pier/core/result.hpp>

#include <asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <system_error>

PIER_BEGIN_NAMESPACE
namespace http {

/// Why a certificate or key could not be loaded. All map to `oci_error::unknown`: they are
/// the server's configuration, never the client's fault.
enum class tls_error {
  certificate_unreadable = 1, ///< the certificate file cannot be read (missing, permissions)
  key_unreadable,             ///< the private key file cannot be read
  invalid_certificate,        ///< the certificate file holds no PEM certificate, or a bad one
  invalid_key,                ///< the key file holds no unencrypted PEM private key
  key_mismatch,               ///< the private key does not belong to the certificate
  crypto_failure,             ///< OpenSSL failed (allocation, a setting it refused)
};

/// The category of `tls_error`, named "pier.http.tls".
std::error_category const& tls_category() noexcept;

inline std::error_code make_error_code(tls_error e) noexcept {
  return {static_cast<int>(e), tls_category()};
}

/// Where the server's certificate and key are, and how TLS is run.
struct tls_options {
  /// PEM: the server's certificate first, then any intermediate certificates.
  std::string certificate_file;
  /// PEM private key (PKCS #8 "PRIVATE KEY", or "EC PRIVATE KEY" / "RSA PRIVATE KEY"),
  /// unencrypted: a server restarted unattended has nobody to type a pass phrase.
  std::string private_key_file;
  /// Let the kernel do the record layer where it can (see the file comment). Off: always
  /// encrypt in user space.
  bool ktls = true;
};

/// A server's TLS configuration: the current OpenSSL context, swapped by `reload()`.
///
/// Thread-safe: `current()` and `reload()` may be called from any thread. A connection
/// takes `current()` when it is accepted and keeps that context until it closes.
class tls_context {
public:
  /// Reads the files and builds the context; the errors say which file is wrong and how.
  static result<std::shared_ptr<tls_context>> load(tls_options options);

  /// Builds a new context from the same files and makes it the current one; on failure
  /// the current context stays and the error is returned (to log: the server goes on).
  result<void> reload();

  /// The context for a new connection.
  std::shared_ptr<asio::ssl::context> current() const;

  tls_options const& options() const noexcept { return options_; }

  tls_context(tls_context const&) = delete;
  tls_context& operator=(tls_context const&) = delete;

private:
  tls_context(tls_options options, std::shared_ptr<asio::ssl::context> ctx);
  static result<std::shared_ptr<asio::ssl::context>> build(tls_options const& options);

  tls_options const options_;
  mutable std::mutex mutex_;
  std::shared_ptr<asio::ssl::context> current_;
};

} // namespace http
PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::http::tls_error> : std::true_type {};

#include <pier/http/impl/tls.hpp>

#endif // PIER_HTTP_TLS_HPP
