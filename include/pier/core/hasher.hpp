// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_HASHER_HPP
#define PIER_CORE_HASHER_HPP

/// @file
/// Hashing content into a `pier::digest`: a streaming `hasher` and `digest_of`, over
/// OpenSSL. Kept apart from pier/core/digest.hpp so that parsing references and digests
/// does not pull in OpenSSL's headers.

#include <pier/config.hpp>
#include <pier/core/digest.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

// Forward declarations keep <openssl/evp.h> out of the public interface.
struct evp_md_ctx_st;
struct evp_md_st;

PIER_BEGIN_NAMESPACE

/// Streaming SHA-256 / SHA-512 over OpenSSL's EVP interface (SHA-NI / AVX2 where the CPU
/// has them).
///
/// @code
/// pier::hasher h;                       // sha256
/// h.update("ab");
/// h.update("c");
/// pier::digest d = h.finish();          // h starts over, ready for the next content
/// assert(d == pier::digest_of("abc"));
/// @endcode
///
/// Movable, not copyable. A moved-from hasher may only be destroyed or assigned to.
/// The constructor throws `std::bad_alloc` when OpenSSL cannot allocate a context and
/// `std::system_error` when OpenSSL offers no implementation of the algorithm (a FIPS
/// configuration without the default provider, say); the other members do not throw
/// except `finish()`, which allocates the result.
class hasher {
public:
  explicit hasher(digest_algorithm a = digest_algorithm::sha256);
  hasher(hasher&&) noexcept = default;
  hasher& operator=(hasher&&) noexcept = default;
  hasher(hasher const&) = delete;
  hasher& operator=(hasher const&) = delete;
  ~hasher() = default;

  digest_algorithm algorithm() const noexcept { return algorithm_; }

  void update(std::span<std::byte const> bytes) noexcept;
  void update(std::string_view bytes) noexcept;
  void update(void const* data, std::size_t size) noexcept;

  /// The digest of everything given since construction or the last `finish()`/`reset()`.
  /// The hasher then starts over, as after `reset()`.
  digest finish();

  /// Forgets everything given so far.
  void reset() noexcept;

private:
  struct ctx_deleter {
    void operator()(evp_md_ctx_st* p) const noexcept;
  };

  std::unique_ptr<evp_md_ctx_st, ctx_deleter> ctx_;
  evp_md_st const* md_ = nullptr;
  digest_algorithm algorithm_;
};

/// The digest of `bytes` in one call.
///
/// @code
/// assert(pier::digest_of("abc").encoded() ==
///        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// @endcode
digest digest_of(std::string_view bytes, digest_algorithm a = digest_algorithm::sha256);

/// The digest of `bytes` in one call.
digest digest_of(std::span<std::byte const> bytes, digest_algorithm a = digest_algorithm::sha256);

PIER_END_NAMESPACE

#include <pier/core/impl/hasher.hpp>

#endif // PIER_CORE_HASHER_HPP
