// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_DETAIL_CURSOR_HPP
#define PIER_REGISTRY_DETAIL_CURSOR_HPP

// Opaque paging cursors. A filtered listing that stops after reading its budget continues
// from the last item it *read*, which the caller may not be allowed to see: that position
// goes into the `Link` sealed (AES-256-GCM under the listing's `cursor_key`), so it
// reveals neither the name nor its length, and a cursor the server did not issue, or one
// issued for another listing, is refused instead of being read as a name.
//
// A sealed cursor is `~` followed by base64url(nonce | ciphertext | tag); '~' starts no
// repository, namespace or tag position, so `last` values that clients build from the
// names they were shown keep working. A cursor sealed under another key (another replica's,
// or the process key of a server since restarted) is refused (400) and the client starts
// the listing again.

#include <pier/config.hpp>
#include <pier/core/detail/base64.hpp>
#include <pier/registry/cursor_key.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

PIER_BEGIN_NAMESPACE
namespace registry::detail::cursor {

inline constexpr char mark = '~';
inline constexpr std::size_t nonce_size = 12;
inline constexpr std::size_t tag_size = 16;
// Every position is padded to this many bytes (two of length, then the position): the
// longest one, `<repository>:<tag>`, is 255 + 1 + 128 bytes.
inline constexpr std::size_t sealed_size = 400;

struct ctx_free {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, ctx_free>;

inline unsigned char const* bytes_of(std::string_view s) noexcept {
  return reinterpret_cast<unsigned char const*>(s.data());
}

// Whether `last` is a sealed cursor rather than a name.
inline bool is_sealed(std::string_view last) noexcept {
  return !last.empty() && last.front() == mark;
}

// Seals `position` under `key` for the listing at `path` (bound as associated data: a
// cursor of one listing is refused by another). Empty on the failures OpenSSL may report
// (out of memory).
inline std::string seal(std::string_view position, std::string_view path, cursor_key const& key) {
  if (position.size() + 2 > sealed_size)
    return {};
  std::string plain(sealed_size, '\0');
  plain[0] = static_cast<char>(position.size() >> 8);
  plain[1] = static_cast<char>(position.size() & 0xff);
  plain.replace(2, position.size(), position);

  std::string out(nonce_size + sealed_size + tag_size, '\0');
  auto* const o = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(o, static_cast<int>(nonce_size)) != 1)
    return {};
  cipher_ctx const ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.bytes().data(), o) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes_of(path), static_cast<int>(path.size())) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), o + nonce_size, &len, bytes_of(plain),
                        static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + nonce_size + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_size),
                          o + nonce_size + sealed_size) != 1)
    return {};
  namespace b64 = ::pier::detail::base64;
  return mark + b64::encode(out, b64::alphabet::url, false);
}

// The position a sealed cursor of the listing at `path` holds; nullopt for anything not
// sealed under `key` for that listing (forged, altered, truncated, another listing's, or
// sealed under another key).
inline std::optional<std::string> open(std::string_view sealed, std::string_view path,
                                       cursor_key const& key) {
  if (!is_sealed(sealed))
    return std::nullopt;
  namespace b64 = ::pier::detail::base64;
  std::string raw;
  if (!b64::decode(sealed.substr(1), b64::alphabet::url, b64::padding::forbidden, true, raw) ||
      raw.size() != nonce_size + sealed_size + tag_size)
    return std::nullopt;
  std::string plain(sealed_size, '\0');
  auto* const p = reinterpret_cast<unsigned char*>(plain.data());
  auto* const r = reinterpret_cast<unsigned char*>(raw.data());
  cipher_ctx const ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.bytes().data(), r) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes_of(path), static_cast<int>(path.size())) !=
          1 ||
      EVP_DecryptUpdate(ctx.get(), p, &len, r + nonce_size, static_cast<int>(sealed_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_size),
                          r + nonce_size + sealed_size) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), p + len, &len) != 1)
    return std::nullopt;
  std::size_t const n = (std::size_t{p[0]} << 8) | p[1];
  if (n + 2 > sealed_size)
    return std::nullopt;
  return plain.substr(2, n);
}

// What a client that sent an unusable cursor is told.
inline constexpr std::string_view invalid_message =
    "invalid pagination cursor: `last` was not issued by this server for this listing (or the "
    "server's cursor key changed since); start the listing again";

} // namespace registry::detail::cursor
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_DETAIL_CURSOR_HPP
