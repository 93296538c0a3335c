// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_PASSWORD_HPP
#define PIER_AUTH_PASSWORD_HPP

/// @file
/// Password hashes as crypt(3) writes them: verification of bcrypt (`$2y$`, `$2b$`, `$2a$`,
/// what `htpasswd -B` writes) and yescrypt (`$y$`, what Debian's `passwd` writes), and new
/// hashes in either. Every other scheme is refused by name: MD5-crypt, Apache's `$apr1$`,
/// `{SHA}`, DES crypt and plain text are fast enough to brute-force from a leaked file.
///
/// @code
/// namespace auth = pier::auth;
/// pier::result<std::string> h = auth::hash_password("s3cret"); // "$2y$10$…"
/// assert(h && h->starts_with("$2y$10$"));
/// assert(auth::verify_password("s3cret", *h));
/// assert(auth::verify_password("guess", *h).error() == auth::password_error::mismatch);
/// assert(auth::verify_password("x", "$apr1$salt$hash").error() ==
///        auth::password_error::unsupported_scheme);
/// assert(auth::identify_hash("$apr1$salt$hash") == auth::hash_scheme::apr1_md5);
/// @endcode
///
/// The work runs in libxcrypt (`crypt_rn`, re-entrant, one `crypt_data` per call), salts
/// come from OpenSSL's `RAND_bytes`. Nothing here does I/O. One bcrypt verification at the
/// default cost 10 takes about 50 ms of one core on the machine pier is tested on (cost 11
/// doubles that): cache what was verified (`pier::auth::credential_cache`) rather than
/// lowering the cost.
///
/// See https://man.archlinux.org/man/crypt.5 (hash formats) and
/// https://httpd.apache.org/docs/2.4/misc/password_encryptions.html (htpasswd's schemes).

#include <pier/config.hpp>
#include <pier/core/error.hpp>
#include <pier/core/result.hpp>

#include <string>
#include <string_view>
#include <system_error>

PIER_BEGIN_NAMESPACE
namespace auth {

/// Why a password could not be verified or hashed.
///
/// `mismatch` maps to `oci_error::unauthorized` (the client's credentials are wrong); the
/// others to `oci_error::unknown`: a stored hash pier cannot use, or a request to hash that
/// the caller should have refused, is not the registry client's fault.
enum class password_error {
  mismatch = 1,       ///< the password is not the one the hash was made from
  unsupported_scheme, ///< the hash is of a scheme pier refuses (see `identify_hash`)
  malformed_hash,     ///< the hash starts like bcrypt or yescrypt but is not one
  too_long,           ///< hash_password: bcrypt would ignore every byte after the 72nd
  invalid_password,   ///< hash_password: a NUL byte, which crypt(3) cannot take
  invalid_cost,       ///< hash_password: cost outside the algorithm's range
  hashing_failed,     ///< libcrypt or the random generator failed
};

/// The category of `password_error`, named "pier.auth.password".
std::error_category const& password_category() noexcept;

inline std::error_code make_error_code(password_error e) noexcept {
  return {static_cast<int>(e), password_category()};
}

/// The scheme of a stored password hash, as far as its prefix tells.
enum class hash_scheme {
  unknown,       ///< no known prefix: plain text (`htpasswd -p`) or a format pier does not know
  bcrypt,        ///< `$2y$`, `$2b$`, `$2a$` (accepted)
  yescrypt,      ///< `$y$` (accepted)
  bcrypt_2x,     ///< `$2x$`: compatibility mode for hashes of the buggy pre-2011 crypt_blowfish
  md5_crypt,     ///< `$1$`
  apr1_md5,      ///< `$apr1$`: Apache's MD5, `htpasswd -m` (its default before 2.4)
  sha1,          ///< `{SHA}`: unsalted SHA-1, `htpasswd -s`
  sha256_crypt,  ///< `$5$`
  sha512_crypt,  ///< `$6$`
  scrypt,        ///< `$7$`
  gost_yescrypt, ///< `$gy$`
  sun_md5,       ///< `$md5`
  sha1_crypt,    ///< `$sha1$` (NetBSD)
  bsdi_des,      ///< `_` + 19 characters: BSDi extended DES
  des_crypt,     ///< 13 characters of `[./0-9A-Za-z]`: traditional DES crypt, `htpasswd -d`
};

/// A human-readable name for messages, e.g. "Apache MD5 ($apr1$)".
constexpr std::string_view name(hash_scheme s) noexcept;

/// Whether pier verifies hashes of this scheme: bcrypt and yescrypt only.
constexpr bool is_supported(hash_scheme s) noexcept {
  return s == hash_scheme::bcrypt || s == hash_scheme::yescrypt;
}

/// The scheme `hash` is written in, judged by its prefix (or, for DES crypt, its shape).
///
/// @code
/// assert(pier::auth::identify_hash("$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")
///        == pier::auth::hash_scheme::bcrypt);
/// assert(pier::auth::identify_hash("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=") ==
///        pier::auth::hash_scheme::sha1);
/// @endcode
constexpr hash_scheme identify_hash(std::string_view hash) noexcept;

/// Checks that `hash` is a well-formed hash of a supported scheme and says which.
/// `password_error::unsupported_scheme` or `password_error::malformed_hash` otherwise.
result<hash_scheme> check_hash(std::string_view hash) noexcept;

/// Whether `password` is the one `hash` was made from.
///
/// The hash is recomputed with `crypt_rn` and compared in constant time. A password
/// with a NUL byte, or longer than libcrypt takes (511 bytes), is a `mismatch`: no hash can
/// have been made from it. bcrypt looks at the first 72 bytes only, as every bcrypt does.
/// Thread-safe; takes as long as the hash's cost says (see the file comment).
///
/// See https://man.archlinux.org/man/crypt_rn.3
result<void> verify_password(std::string_view password, std::string_view hash);

/// The algorithms `hash_password` can produce.
enum class password_algorithm {
  bcrypt,   ///< `$2y$`, readable by Apache's htpasswd and every bcrypt implementation
  yescrypt, ///< `$y$`, memory-hard; not readable by Apache on systems without libxcrypt
};

/// bcrypt's cost when none is given: 2^10 rounds.
inline constexpr unsigned bcrypt_default_cost = 10;
/// yescrypt's cost when none is given: libxcrypt's own default.
inline constexpr unsigned yescrypt_default_cost = 5;

/// A new hash of `password` with a random 128-bit salt.
///
/// `cost` 0 picks the default; otherwise 4–31 for bcrypt (log2 of the rounds) and 1–11 for
/// yescrypt. bcrypt refuses passwords longer than 72 bytes (`too_long`) rather than
/// silently ignoring the rest; use yescrypt for long passphrases.
///
/// @code
/// pier::result<std::string> y =
///     pier::auth::hash_password("correct horse", pier::auth::password_algorithm::yescrypt);
/// assert(y && y->starts_with("$y$"));
/// @endcode
result<std::string> hash_password(std::string_view password,
                                  password_algorithm algorithm = password_algorithm::bcrypt,
                                  unsigned cost = 0);

} // namespace auth
PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::auth::password_error> : std::true_type {};

#include <pier/auth/impl/password.hpp>

#endif // PIER_AUTH_PASSWORD_HPP
