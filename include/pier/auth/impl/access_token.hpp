// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_IMPL_ACCESS_TOKEN_HPP
#define PIER_AUTH_IMPL_ACCESS_TOKEN_HPP

#include <pier/core/detail/openssl.hpp>
#include <pier/core/detail/base64.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <system_error>
#include <utility>

PIER_BEGIN_NAMESPACE
namespace auth {

namespace detail::access_token {

inline constexpr std::string_view id_alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

inline void random_or_throw(void* out, std::size_t n) {
  if (!::pier::detail::openssl::random_bytes(out, n))
    throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                            "RAND_bytes");
}

// 16 characters of [a-z0-9], each uniform: bytes of 252 and above are drawn again, since 256
// is not a multiple of 36 and taking them modulo 36 would favour the first characters.
inline std::string random_id() {
  std::string id;
  id.reserve(access_token_id_length);
  std::array<unsigned char, 32> pool{};
  while (id.size() < access_token_id_length) {
    random_or_throw(pool.data(), pool.size());
    for (unsigned char const b : pool) {
      if (b >= 252)
        continue;
      id.push_back(id_alphabet[b % id_alphabet.size()]);
      if (id.size() == access_token_id_length)
        break;
    }
  }
  return id;
}

// The lower-case hex SHA-256 of `secret`, written into `out`; false if OpenSSL fails. No
// allocation, so `check_access_token` can be noexcept.
inline bool sha256_hex(std::string_view secret, std::array<char, 64>& out) noexcept {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  ::pier::detail::openssl::error_queue_guard const guard;
  if (EVP_Digest(secret.data(), secret.size(), md.data(), &n, EVP_sha256(), nullptr) != 1 ||
      n != 32)
    return false;
  constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 32; ++i) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 0x0f];
  }
  return true;
}

inline bool is_id(std::string_view s) noexcept {
  if (s.size() != access_token_id_length)
    return false;
  for (char const c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
      return false;
  return true;
}

// The id and secret of a token of the right shape; empty views otherwise.
struct parts {
  std::string_view id;
  std::string_view secret;
};

inline std::optional<parts> split(std::string_view token) noexcept {
  namespace b64 = ::pier::detail::base64;
  if (token.size() != access_token_length || !token.starts_with(access_token_prefix))
    return std::nullopt;
  std::string_view const id = token.substr(access_token_prefix.size(), access_token_id_length);
  if (!is_id(id))
    return std::nullopt;
  if (token[access_token_prefix.size() + access_token_id_length] != '_')
    return std::nullopt;
  std::string_view const secret = token.substr(token.size() - access_token_secret_length);
  for (char const c : secret)
    if (b64::sextet(c, b64::alphabet::url) < 0)
      return std::nullopt;
  // 43 characters carry 258 bits for 256: the last two must be zero, so that each secret
  // has one spelling.
  if ((b64::sextet(secret.back(), b64::alphabet::url) & 3) != 0)
    return std::nullopt;
  return parts{id, secret};
}

} // namespace detail::access_token

inline token_grants token_grants_of(std::vector<std::string> const& scopes) noexcept {
  token_grants g;
  for (std::string const& s : scopes) {
    if (s == "admin")
      g.admin = g.del = g.push = g.pull = true;
    else if (s == "delete")
      g.del = g.pull = true;
    else if (s == "push")
      g.push = g.pull = true;
    else if (s == "pull")
      g.pull = true;
  }
  return g;
}

inline token_grants token_grants_of(storage::access_token_record const& r) noexcept {
  if (r.scopes.empty())
    return {.pull = true, .push = true, .del = true, .admin = false};
  return token_grants_of(r.scopes);
}

inline std::vector<std::string> normalize_token_scopes(std::vector<std::string> const& scopes) {
  std::vector<std::string> out;
  for (std::string const& s : scopes)
    if (std::find(std::begin(access_token_scopes), std::end(access_token_scopes), s) ==
        std::end(access_token_scopes))
      return out;
  for (std::string_view known : access_token_scopes)
    if (std::find(scopes.begin(), scopes.end(), known) != scopes.end())
      out.emplace_back(known);
  return out;
}

inline new_access_token
make_access_token(std::string user, std::string description,
                  std::chrono::system_clock::time_point now,
                  std::optional<std::chrono::system_clock::time_point> expires,
                  std::vector<std::string> const& scopes) {
  namespace d = detail::access_token;
  std::array<unsigned char, 32> secret_bytes{};
  d::random_or_throw(secret_bytes.data(), secret_bytes.size());
  std::string const secret = ::pier::detail::base64::encode(
      std::string_view(reinterpret_cast<char const*>(secret_bytes.data()), secret_bytes.size()),
      ::pier::detail::base64::alphabet::url, false);
  OPENSSL_cleanse(secret_bytes.data(), secret_bytes.size());
  std::array<char, 64> hash{};
  if (!d::sha256_hex(secret, hash))
    throw std::system_error(std::make_error_code(std::errc::not_supported), "SHA-256");

  new_access_token out;
  out.record.id = d::random_id();
  out.record.user = std::move(user);
  out.record.description = std::move(description);
  out.record.secret_hash.assign(hash.data(), hash.size());
  out.record.created = now;
  out.record.expires = expires;
  out.record.scopes = normalize_token_scopes(scopes);
  if (out.record.scopes.empty())
    out.record.scopes = {"pull"};
  out.token.reserve(access_token_length);
  out.token.append(access_token_prefix).append(out.record.id).append(1, '_').append(secret);
  return out;
}

inline std::optional<std::string> access_token_id(std::string_view token) {
  if (auto const p = detail::access_token::split(token))
    return std::string(p->id);
  return std::nullopt;
}

inline bool check_access_token(storage::access_token_record const& r, std::string_view token,
                               std::chrono::system_clock::time_point now) noexcept {
  auto const p = detail::access_token::split(token);
  if (!p || p->id != r.id || r.secret_hash.size() != 64)
    return false;
  if (r.expires && now >= *r.expires)
    return false;
  std::array<char, 64> hash{};
  if (!detail::access_token::sha256_hex(p->secret, hash))
    return false;
  return CRYPTO_memcmp(hash.data(), r.secret_hash.data(), hash.size()) == 0;
}

} // namespace auth
PIER_END_NAMESPACE

#endif // PIER_AUTH_IMPL_ACCESS_TOKEN_HPP
