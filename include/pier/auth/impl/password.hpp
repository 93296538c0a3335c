// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_IMPL_PASSWORD_HPP
#define PIER_AUTH_IMPL_PASSWORD_HPP

#include <crypt.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <pier/core/detail/openssl.hpp>
#include <pier/core/detail/ascii.hpp>

PIER_BEGIN_NAMESPACE
namespace auth {

namespace detail {

class password_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.auth.password"; }

  std::string message(int ev) const override {
    switch (static_cast<password_error>(ev)) {
    case password_error::mismatch: return "password does not match";
    case password_error::unsupported_scheme:
      return "password hash scheme is not supported (only bcrypt $2y$/$2b$/$2a$ and yescrypt $y$ "
             "are)";
    case password_error::malformed_hash: return "password hash is malformed";
    case password_error::too_long:
      return "password is longer than bcrypt can use (72 bytes); use yescrypt or a shorter one";
    case password_error::invalid_password: return "password contains a NUL byte";
    case password_error::invalid_cost: return "hash cost is out of range for the algorithm";
    case password_error::hashing_failed: return "password hashing failed";
    }
    return "unknown password error";
  }

  std::error_condition default_error_condition(int ev) const noexcept override {
    oci_error const e = static_cast<password_error>(ev) == password_error::mismatch
                            ? oci_error::unauthorized
                            : oci_error::unknown;
    return {static_cast<int>(e), oci_category()};
  }
};

// The alphabet of crypt(3)'s base-64 ("./0-9A-Za-z"), which bcrypt, yescrypt and DES share.
constexpr bool is_crypt64(char c) noexcept {
  return pier::detail::ascii::is_alnum(c) || c == '.' || c == '/';
}

constexpr bool all_crypt64(std::string_view s) noexcept {
  for (char c : s)
    if (!is_crypt64(c))
      return false;
  return true;
}

// $2y$NN$ + 22 characters of salt + 31 of hash.
constexpr bool is_bcrypt_hash(std::string_view h) noexcept {
  if (h.size() != 60 || h[0] != '$' || h[1] != '2' || h[3] != '$' || h[6] != '$')
    return false;
  if (!pier::detail::ascii::is_digit(h[4]) || !pier::detail::ascii::is_digit(h[5]))
    return false;
  int const cost = (h[4] - '0') * 10 + (h[5] - '0');
  return cost >= 4 && cost <= 31 && all_crypt64(h.substr(7));
}

// $y$ params $ salt $ 43 characters of hash.
constexpr bool is_yescrypt_hash(std::string_view h) noexcept {
  if (!h.starts_with("$y$"))
    return false;
  std::string_view rest = h.substr(3);
  std::size_t const params_end = rest.find('$');
  if (params_end == std::string_view::npos || params_end == 0 ||
      !all_crypt64(rest.substr(0, params_end)))
    return false;
  rest.remove_prefix(params_end + 1);
  std::size_t const salt_end = rest.find('$');
  if (salt_end == std::string_view::npos || salt_end == 0 || !all_crypt64(rest.substr(0, salt_end)))
    return false;
  rest.remove_prefix(salt_end + 1);
  return rest.size() == 43 && all_crypt64(rest);
}

// Everything crypt_rn reads and writes, on the heap (crypt_data alone is 32 KiB, too much
// for the stack of a thread that runs coroutines) and wiped afterwards: it holds the
// password and state derived from it.
struct crypt_workspace {
  struct crypt_data data;
  char phrase[CRYPT_MAX_PASSPHRASE_SIZE];
  char setting[CRYPT_OUTPUT_SIZE];

  static std::unique_ptr<crypt_workspace, void (*)(crypt_workspace*)> make() {
    // Value-initialised: crypt_rn needs `data` zeroed before its first use.
    return {new crypt_workspace(), [](crypt_workspace* w) {
              OPENSSL_cleanse(w, sizeof *w);
              delete w;
            }};
  }
};

// crypt_rn over copies of `phrase` and `setting` that end in NUL. Both must fit (callers
// check); the result points into `w` and is null on failure, with errno saying why.
inline char const* run_crypt(crypt_workspace& w, std::string_view phrase,
                             std::string_view setting) noexcept {
  std::memcpy(w.phrase, phrase.data(), phrase.size());
  w.phrase[phrase.size()] = '\0';
  std::memcpy(w.setting, setting.data(), setting.size());
  w.setting[setting.size()] = '\0';
  errno = 0;
  return crypt_rn(w.phrase, w.setting, &w.data, sizeof w.data);
}

} // namespace detail

constexpr std::string_view name(hash_scheme s) noexcept {
  switch (s) {
  case hash_scheme::unknown: return "plain text or an unknown scheme";
  case hash_scheme::bcrypt: return "bcrypt";
  case hash_scheme::yescrypt: return "yescrypt ($y$)";
  case hash_scheme::bcrypt_2x: return "bcrypt compatibility mode ($2x$)";
  case hash_scheme::md5_crypt: return "MD5-crypt ($1$)";
  case hash_scheme::apr1_md5: return "Apache MD5 ($apr1$)";
  case hash_scheme::sha1: return "SHA-1 ({SHA})";
  case hash_scheme::sha256_crypt: return "SHA-256-crypt ($5$)";
  case hash_scheme::sha512_crypt: return "SHA-512-crypt ($6$)";
  case hash_scheme::scrypt: return "scrypt ($7$)";
  case hash_scheme::gost_yescrypt: return "GOST yescrypt ($gy$)";
  case hash_scheme::sun_md5: return "Sun MD5 ($md5)";
  case hash_scheme::sha1_crypt: return "SHA-1-crypt ($sha1$)";
  case hash_scheme::bsdi_des: return "BSDi extended DES (_)";
  case hash_scheme::des_crypt: return "traditional DES crypt";
  }
  return "unknown";
}

constexpr hash_scheme identify_hash(std::string_view h) noexcept {
  struct prefix {
    std::string_view text;
    hash_scheme scheme;
  };
  constexpr prefix prefixes[] = {
      {"$2y$", hash_scheme::bcrypt},       {"$2b$", hash_scheme::bcrypt},
      {"$2a$", hash_scheme::bcrypt},       {"$2x$", hash_scheme::bcrypt_2x},
      {"$y$", hash_scheme::yescrypt},      {"$gy$", hash_scheme::gost_yescrypt},
      {"$1$", hash_scheme::md5_crypt},     {"$apr1$", hash_scheme::apr1_md5},
      {"{SHA}", hash_scheme::sha1},        {"$5$", hash_scheme::sha256_crypt},
      {"$6$", hash_scheme::sha512_crypt},  {"$7$", hash_scheme::scrypt},
      {"$md5$", hash_scheme::sun_md5},     {"$md5,", hash_scheme::sun_md5},
      {"$sha1$", hash_scheme::sha1_crypt},
  };
  for (prefix const& p : prefixes)
    if (h.starts_with(p.text))
      return p.scheme;
  if (h.size() == 20 && h[0] == '_' && detail::all_crypt64(h.substr(1)))
    return hash_scheme::bsdi_des;
  if (h.size() == 13 && detail::all_crypt64(h))
    return hash_scheme::des_crypt;
  return hash_scheme::unknown;
}

inline std::error_category const& password_category() noexcept {
  static detail::password_category_impl const instance;
  return instance;
}

inline result<hash_scheme> check_hash(std::string_view hash) noexcept {
  hash_scheme const s = identify_hash(hash);
  switch (s) {
  case hash_scheme::bcrypt:
    if (!detail::is_bcrypt_hash(hash))
      return password_error::malformed_hash;
    return s;
  case hash_scheme::yescrypt:
    if (hash.size() >= CRYPT_OUTPUT_SIZE || !detail::is_yescrypt_hash(hash))
      return password_error::malformed_hash;
    return s;
  default: return password_error::unsupported_scheme;
  }
}

inline result<void> verify_password(std::string_view password, std::string_view hash) {
  if (result<hash_scheme> s = check_hash(hash); !s)
    return s.error();
  // crypt(3) takes C strings: a password with a NUL, or one it has no room for, cannot be
  // what the stored hash was made from.
  if (password.find('\0') != std::string_view::npos || password.size() >= CRYPT_MAX_PASSPHRASE_SIZE)
    return password_error::mismatch;

  auto const w = detail::crypt_workspace::make();
  char const* const computed = detail::run_crypt(*w, password, hash);
  if (computed == nullptr)
    return errno == EINVAL ? password_error::malformed_hash : password_error::hashing_failed;
  // Constant time: how much of a guess's hash matches the stored one must not show.
  std::size_t const n = std::strlen(computed);
  if (n != hash.size() || CRYPTO_memcmp(computed, hash.data(), n) != 0)
    return password_error::mismatch;
  return {};
}

inline result<std::string> hash_password(std::string_view password, password_algorithm algorithm,
                                         unsigned cost) {
  if (password.find('\0') != std::string_view::npos)
    return password_error::invalid_password;
  char const* prefix = nullptr;
  if (algorithm == password_algorithm::bcrypt) {
    if (password.size() > 72)
      return password_error::too_long;
    cost = cost == 0 ? bcrypt_default_cost : cost;
    if (cost < 4 || cost > 31)
      return password_error::invalid_cost;
    prefix = "$2y$";
  } else {
    if (password.size() >= CRYPT_MAX_PASSPHRASE_SIZE)
      return password_error::too_long;
    cost = cost == 0 ? yescrypt_default_cost : cost;
    if (cost < 1 || cost > 11)
      return password_error::invalid_cost;
    prefix = "$y$";
  }

  unsigned char salt[16];
  if (!::pier::detail::openssl::random_bytes(salt, sizeof salt))
    return password_error::hashing_failed;
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  char const* const made = crypt_gensalt_rn(prefix, cost, reinterpret_cast<char const*>(salt),
                                            sizeof salt, setting, sizeof setting);
  OPENSSL_cleanse(salt, sizeof salt);
  if (made == nullptr)
    return password_error::hashing_failed;

  auto const w = detail::crypt_workspace::make();
  char const* const hash = detail::run_crypt(*w, password, setting);
  if (hash == nullptr || hash[0] == '*')
    return password_error::hashing_failed;
  return std::string(hash);
}

} // namespace auth
PIER_END_NAMESPACE

#endif // PIER_AUTH_IMPL_PASSWORD_HPP
