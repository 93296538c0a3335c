// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_DETAIL_OPENSSL_HPP
#define PIER_CORE_DETAIL_OPENSSL_HPP

// Owning pointers for the OpenSSL objects pier uses (TLS, tokens, passwords), the random generator, and a
// guard that keeps the thread's OpenSSL error queue as it was.

#include <pier/config.hpp>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstddef>
#include <memory>

PIER_BEGIN_NAMESPACE
namespace detail::openssl {

template <auto Free>
struct deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY_free>>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, deleter<EVP_PKEY_CTX_free>>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, deleter<EVP_MD_CTX_free>>;
using mac_ptr = std::unique_ptr<EVP_MAC, deleter<EVP_MAC_free>>;
using mac_ctx_ptr = std::unique_ptr<EVP_MAC_CTX, deleter<EVP_MAC_CTX_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO_free_all>>;
using ecdsa_sig_ptr = std::unique_ptr<ECDSA_SIG, deleter<ECDSA_SIG_free>>;
using bignum_ptr = std::unique_ptr<BIGNUM, deleter<BN_free>>;

// Errors OpenSSL queues while pier parses hostile input are pier's business, not the
// thread's: asio::ssl reads the same queue to explain a TLS failure, and a stale entry
// left there would be reported as the cause of an unrelated handshake error.
class error_queue_guard {
public:
  error_queue_guard() noexcept { ERR_set_mark(); }
  ~error_queue_guard() { ERR_pop_to_mark(); }
  error_queue_guard(error_queue_guard const&) = delete;
  error_queue_guard& operator=(error_queue_guard const&) = delete;
};

// Fills `n` bytes at `out` from OpenSSL's CSPRNG; false when it is not seeded or fails.
inline bool random_bytes(void* out, std::size_t n) noexcept {
  error_queue_guard const guard;
  return RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) == 1;
}

} // namespace detail::openssl
PIER_END_NAMESPACE

#endif // PIER_CORE_DETAIL_OPENSSL_HPP
