// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_IMPL_HASHER_HPP
#define PIER_CORE_IMPL_HASHER_HPP

#include <openssl/evp.h>

#include <array>
#include <new>
#include <string>
#include <system_error>

PIER_BEGIN_NAMESPACE
namespace detail {

// Fetched once per process: an implicit fetch on every EVP_DigestInit costs a provider
// lookup per blob, which shows on small blobs.
inline evp_md_st const* fetch_digest(digest_algorithm a) noexcept {
  struct md_free {
    void operator()(EVP_MD* p) const noexcept { EVP_MD_free(p); }
  };
  using md_ptr = std::unique_ptr<EVP_MD, md_free>;
  static md_ptr const sha256(EVP_MD_fetch(nullptr, "SHA2-256", nullptr));
  static md_ptr const sha512(EVP_MD_fetch(nullptr, "SHA2-512", nullptr));
  return a == digest_algorithm::sha512 ? sha512.get() : sha256.get();
}

} // namespace detail

inline void hasher::ctx_deleter::operator()(evp_md_ctx_st* p) const noexcept { EVP_MD_CTX_free(p); }

inline hasher::hasher(digest_algorithm a)
    : ctx_(EVP_MD_CTX_new()), md_(detail::fetch_digest(a)), algorithm_(a) {
  if (!ctx_)
    throw std::bad_alloc();
  if (md_ == nullptr || EVP_DigestInit_ex2(ctx_.get(), md_, nullptr) != 1)
    throw std::system_error(std::make_error_code(std::errc::function_not_supported),
                            "pier::hasher: OpenSSL has no " + std::string(name(a)));
}

// EVP_DigestUpdate can only fail on a context that was never initialised or was finalised
// without re-initialisation; the constructor, finish() and reset() rule both out.
inline void hasher::update(void const* data, std::size_t size) noexcept {
  EVP_DigestUpdate(ctx_.get(), data, size);
}

inline void hasher::update(std::span<std::byte const> bytes) noexcept {
  update(bytes.data(), bytes.size());
}

inline void hasher::update(std::string_view bytes) noexcept { update(bytes.data(), bytes.size()); }

inline digest hasher::finish() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> raw{};
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_.get(), raw.data(), &n);
  reset();

  constexpr char hex[] = "0123456789abcdef";
  std::string_view const prefix = name(algorithm_);
  std::string s;
  s.reserve(prefix.size() + 1 + 2 * std::size_t{n});
  s.append(prefix).push_back(':');
  for (unsigned int i = 0; i < n; ++i) {
    s.push_back(hex[raw[i] >> 4]);
    s.push_back(hex[raw[i] & 0xf]);
  }
  return digest(algorithm_, std::move(s));
}

inline void hasher::reset() noexcept { EVP_DigestInit_ex2(ctx_.get(), md_, nullptr); }

inline digest digest_of(std::string_view bytes, digest_algorithm a) {
  hasher h(a);
  h.update(bytes);
  return h.finish();
}

inline digest digest_of(std::span<std::byte const> bytes, digest_algorithm a) {
  hasher h(a);
  h.update(bytes);
  return h.finish();
}

PIER_END_NAMESPACE

#endif // PIER_CORE_IMPL_HASHER_HPP
