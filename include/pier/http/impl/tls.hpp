// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_IMPL_TLS_HPP
#define PIER_HTTP_IMPL_TLS_HPP

#include <pier/core/detail/openssl.hpp>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

PIER_BEGIN_NAMESPACE
namespace http {
namespace detail {

class tls_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.http.tls"; }

  std::string message(int ev) const override {
    switch (static_cast<tls_error>(ev)) {
    case tls_error::certificate_unreadable: return "cannot read the certificate file";
    case tls_error::key_unreadable: return "cannot read the private key file";
    case tls_error::invalid_certificate:
      return "the certificate file holds no valid PEM certificate";
    case tls_error::invalid_key: return "the key file holds no unencrypted PEM private key";
    case tls_error::key_mismatch: return "the private key does not match the certificate";
    case tls_error::crypto_failure: return "OpenSSL refused the TLS configuration";
    }
    return "unknown TLS configuration error";
  }

  std::error_condition default_error_condition(int) const noexcept override {
    return {static_cast<int>(oci_error::unknown), oci_category()};
  }
};

namespace ossl = ::pier::detail::openssl;
using x509_ptr = std::unique_ptr<X509, ossl::deleter<X509_free>>;

// Mozilla "intermediate" v5.7, TLS 1.2 part; AES-128-GCM first (see the header).
inline constexpr char const* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
// TLS 1.3: OpenSSL's default suites, AES-128-GCM moved first (OpenSSL puts AES-256 first).
inline constexpr char const* tls13_suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
inline constexpr char const* tls_groups = "X25519:P-256:P-384";

// Reads a whole (small) PEM file; false when it cannot be opened or read.
inline bool read_pem_file(std::string const& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad())
    return false;
  out = std::move(s).str();
  return true;
}

inline int never_prompt(char*, int, int, void*) { return 0; }

// Selects "http/1.1" when offered; otherwise no ALPN answer, and the handshake goes on.
inline int select_alpn(SSL*, unsigned char const** out, unsigned char* outlen,
                       unsigned char const* in, unsigned int inlen, void*) {
  static constexpr unsigned char ours[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  unsigned char selected_length = 0;
  if (SSL_select_next_proto(&selected, &selected_length, ours, sizeof ours, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  *outlen = selected_length;
  return SSL_TLSEXT_ERR_OK;
}

// Puts the certificate chain of `pem` into `ctx`.
inline result<void> use_chain(SSL_CTX* ctx, std::string const& pem) {
  ossl::bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio)
    return tls_error::crypto_failure;
  x509_ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, never_prompt, nullptr));
  if (!leaf)
    return tls_error::invalid_certificate;
  if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1)
    return tls_error::invalid_certificate;
  for (;;) {
    x509_ptr extra(PEM_read_bio_X509(bio.get(), nullptr, never_prompt, nullptr));
    if (!extra)
      break;
    if (SSL_CTX_add0_chain_cert(ctx, extra.get()) != 1)
      return tls_error::crypto_failure;
    (void)extra.release(); // add0: the context owns it now
  }
  // The loop ends on "no more PEM data", or on a broken block after the first.
  unsigned long const err = ERR_peek_last_error();
  if (err != 0 && !(ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE))
    return tls_error::invalid_certificate;
  return {};
}

inline result<void> use_key(SSL_CTX* ctx, std::string const& pem) {
  ossl::bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio)
    return tls_error::crypto_failure;
  ossl::pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, never_prompt, nullptr));
  if (!key)
    return tls_error::invalid_key;
  if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key.get()) != 1)
    return tls_error::key_mismatch;
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return tls_error::key_mismatch;
  return {};
}

inline result<void> configure(SSL_CTX* ctx, bool ktls) {
  std::uint64_t options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                          SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA |
                          SSL_OP_IGNORE_UNEXPECTED_EOF;
#ifdef SSL_OP_ENABLE_KTLS
  if (ktls)
    options |= SSL_OP_ENABLE_KTLS;
#else
  (void)ktls;
#endif
  SSL_CTX_set_options(ctx, options);
  // Partial writes let the server see progress record by record (its write stall timeout);
  // the buffer of a retried write is the same bytes, not always at the same address. An
  // idle keep-alive connection gives its record buffers back (about 34 KiB), as nginx does.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, tls13_suites) != 1 ||
      SSL_CTX_set1_groups_list(ctx, tls_groups) != 1 || SSL_CTX_set_dh_auto(ctx, 1) != 1)
    return tls_error::crypto_failure;
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  return {};
}

} // namespace detail

inline std::error_category const& tls_category() noexcept {
  static detail::tls_category_impl const instance;
  return instance;
}

inline tls_context::tls_context(tls_options options, std::shared_ptr<asio::ssl::context> ctx)
    : options_(std::move(options)), current_(std::move(ctx)) {}

inline result<std::shared_ptr<asio::ssl::context>> tls_context::build(tls_options const& options) {
  std::string cert_pem, key_pem;
  if (!detail::read_pem_file(options.certificate_file, cert_pem))
    return tls_error::certificate_unreadable;
  if (!detail::read_pem_file(options.private_key_file, key_pem))
    return tls_error::key_unreadable;

  // Loading happens at start-up or on a reload signal, never on a thread in the middle of
  // a TLS operation: a clean error queue tells the chain's end from a broken block.
  ERR_clear_error();
  struct clear_on_exit {
    ~clear_on_exit() { ERR_clear_error(); }
  } const clear;
  std::shared_ptr<asio::ssl::context> ctx;
  try {
    ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  } catch (std::exception const&) {
    return tls_error::crypto_failure;
  }
  SSL_CTX* const native = ctx->native_handle();
  if (auto r = detail::configure(native, options.ktls); !r)
    return r.error();
  if (auto r = detail::use_chain(native, cert_pem); !r)
    return r.error();
  if (auto r = detail::use_key(native, key_pem); !r)
    return r.error();
  return ctx;
}

inline result<std::shared_ptr<tls_context>> tls_context::load(tls_options options) {
  auto ctx = build(options);
  if (!ctx)
    return ctx.error();
  return std::shared_ptr<tls_context>(new tls_context(std::move(options), std::move(*ctx)));
}

inline result<void> tls_context::reload() {
  auto ctx = build(options_);
  if (!ctx)
    return ctx.error();
  std::lock_guard lock(mutex_);
  current_.swap(*ctx); // the old context goes when its last connection does
  return {};
}

inline std::shared_ptr<asio::ssl::context> tls_context::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

} // namespace http
PIER_END_NAMESPACE

#endif // PIER_HTTP_IMPL_TLS_HPP
