// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_JWT_HPP
#define PIER_AUTH_JWT_HPP

/// @file
/// JSON Web Tokens as Docker's token authentication uses them: compact JWS, ES256 only
/// (ECDSA on P-256 with SHA-256), the key named by its libtrust key ID in `kid`.
///
/// @code
/// namespace auth = pier::auth;
/// auth::es256_key key = auth::es256_key::generate().value();
/// boost::json::object claims{{"iss", "pier"}, {"sub", "alice"}, {"exp", 2000000000}};
/// std::string token = auth::sign_jwt(claims, key).value();
///
/// auth::jwt_verify_options opt;
/// opt.now = std::chrono::system_clock::from_time_t(1900000000);
/// pier::result<boost::json::object> c = auth::verify_jwt(token, key.public_key(), opt);
/// assert(c && c->at("sub") == "alice");
///
/// opt.now = std::chrono::system_clock::from_time_t(2000000000);
/// assert(auth::verify_jwt(token, key, opt).error() == auth::jwt_error::expired);
/// @endcode
///
/// Verification is deliberately narrow. The algorithm is not negotiated: a header whose
/// `alg` is anything but `ES256` (`none`, `HS256` with the public key as the secret, …) is
/// rejected before any key is touched, and keys are always P-256 keys the caller trusts,
/// never keys the token carries (`jwk`, `x5c`, `jku` are ignored). `exp` is required.
///
/// See RFC 7515 (JWS), RFC 7518 §3.4 (ES256), RFC 7519 (JWT), and
/// https://distribution.github.io/distribution/spec/auth/jwt/

#include <pier/config.hpp>
#include <pier/core/error.hpp>
#include <pier/core/result.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

// Forward declaration keeps <openssl/evp.h> out of the public interface.
struct evp_pkey_st;

PIER_BEGIN_NAMESPACE
namespace auth {

/// Why a token or key was rejected.
///
/// The token errors map to `oci_error::unauthorized` (the client should fetch a new token);
/// the key errors (`invalid_key`, `no_private_key`, `crypto_failure`) to
/// `oci_error::unknown`: they are the server's.
enum class jwt_error {
  malformed = 1,         ///< not three segments separated by '.'
  invalid_base64,        ///< a segment is not unpadded, canonical base64url
  invalid_json,          ///< the header or claims are not one JSON object (or repeat a key)
  unsupported_algorithm, ///< `alg` missing or not ES256 (`none`, `HS256`, `RS256`, …)
  unsupported_type,      ///< `typ` present and not "JWT"
  critical_extension,    ///< a `crit` header: extensions pier does not implement
  unknown_key,           ///< no trusted key has the token's `kid`
  bad_signature,         ///< the signature is not 64 bytes or does not verify
  missing_expiry,        ///< no `exp` claim
  invalid_claim,         ///< `exp`, `nbf`, `iat` not numbers; `iss` or `aud` not strings
  expired,               ///< `exp` has passed
  not_yet_valid,         ///< `nbf` has not come yet
  wrong_issuer,          ///< `iss` differs from the expected issuer
  wrong_audience,        ///< `aud` does not name the expected audience
  invalid_key,           ///< PEM or DER that is not a P-256 EC key
  no_private_key,        ///< signing or exporting a private key with a public-only key
  crypto_failure,        ///< OpenSSL failed (allocation, random generator)
};

/// The category of `jwt_error`, named "pier.auth.jwt".
std::error_category const& jwt_category() noexcept;

inline std::error_code make_error_code(jwt_error e) noexcept {
  return {static_cast<int>(e), jwt_category()};
}

/// base64url without padding (RFC 7515 §2), as every segment of a JWS is encoded.
///
/// @code
/// assert(pier::auth::base64url_encode("\xfb\xff") == "-_8");
/// @endcode
std::string base64url_encode(std::string_view bytes);

/// Decodes unpadded base64url. Refused with `jwt_error::invalid_base64`: '=' padding,
/// characters outside `[A-Za-z0-9_-]`, a length of 4n+1, and non-zero bits after the last
/// byte (which would let one token be spelled several ways).
///
/// @code
/// assert(pier::auth::base64url_decode("-_8").value() == "\xfb\xff");
/// assert(!pier::auth::base64url_decode("-_9")); // same bytes, stray low bits
/// @endcode
result<std::string> base64url_decode(std::string_view s);

/// Docker's key ID of a public key (libtrust's `KeyID()`): the SHA-256 of the key's DER
/// SubjectPublicKeyInfo, its first 240 bits (30 bytes) in RFC 4648 base32 (48 characters, no
/// padding), written as 12 groups of 4 joined by ':'.
///
/// For the public key of Docker's jwt.md example (x = "m7zUpx3b…", y = "dU3biz8s…") this
/// gives "PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6", the `kid` that
/// document shows (a test checks it), so this is the definition a Docker registry expects;
/// some early libtrust code hashed the raw EC coordinates instead.
///
/// See https://github.com/docker/libtrust/blob/master/util.go (`keyIDFromCryptoKey`,
/// `keyIDEncode`).
std::string libtrust_key_id(std::string_view spki_der);

/// A P-256 key: a private key that signs, or the public half alone that verifies.
///
/// Copies share the underlying OpenSSL key (reference-counted); signing and verifying with
/// one key from several threads at once is safe.
class es256_key {
public:
  /// An empty key, good for nothing but assignment.
  es256_key() = default;

  /// A new random private key.
  static result<es256_key> generate();

  /// A key from PEM: "PRIVATE KEY" (PKCS #8), "EC PRIVATE KEY" (SEC 1) or "PUBLIC KEY"
  /// (SubjectPublicKeyInfo). Encrypted keys, other curves and other key types are
  /// `jwt_error::invalid_key`. Never prompts for a pass phrase.
  static result<es256_key> from_pem(std::string_view pem);

  /// The private key as unencrypted PKCS #8 PEM. It is a secret: the caller writes it to
  /// a file only it can read (mode 0600).
  result<std::string> private_pem() const;

  /// The public key as SubjectPublicKeyInfo PEM ("PUBLIC KEY").
  std::string public_pem() const;

  /// The public key as DER SubjectPublicKeyInfo.
  std::string public_der() const { return spki_der_; }

  /// The public half alone, to hand to verifiers.
  es256_key public_key() const;

  bool empty() const noexcept { return !pkey_; }
  bool has_private_key() const noexcept { return has_private_; }

  /// `libtrust_key_id(public_der())`, computed once.
  std::string const& key_id() const noexcept { return key_id_; }

  /// The OpenSSL key (an `EVP_PKEY*`), for code that needs OpenSSL directly; null when empty.
  evp_pkey_st* native_handle() const noexcept { return pkey_.get(); }

private:
  static result<es256_key> adopt(evp_pkey_st* pkey, bool has_private);

  std::shared_ptr<evp_pkey_st> pkey_;
  std::string spki_der_;
  std::string key_id_;
  bool has_private_ = false;
};

/// A compact JWS of `claims` signed with `key`, header
/// `{"typ":"JWT","alg":"ES256","kid":…}`. `kid` defaults to `key.key_id()`.
///
/// The signature is R || S, 32 bytes each, as RFC 7518 §3.4 wants (OpenSSL makes DER).
/// `jwt_error::no_private_key` for a public-only key.
result<std::string> sign_jwt(boost::json::object const& claims, es256_key const& key,
                             std::string_view kid = {});

/// What `verify_jwt` checks besides the signature.
struct jwt_verify_options {
  /// The time `exp` and `nbf` are compared with; by default when the options were made.
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
  /// Clock skew tolerated both ways.
  std::chrono::seconds leeway{0};
  /// When not empty, `iss` must equal it.
  std::string_view issuer;
  /// When not empty, `aud` (a string, or an array of strings) must contain it.
  std::string_view audience;
};

/// The claims of `token` when it is an ES256 JWS signed by one of `keys` and valid at
/// `options.now`.
///
/// The key is the one whose `key_id()` equals the header's `kid`; a token without `kid` is
/// tried against every key. The claims are parsed only after the signature verifies.
/// Valid means `nbf - leeway <= now < exp + leeway` (seconds); `exp` is required, `nbf`
/// optional.
result<boost::json::object> verify_jwt(std::string_view token, std::span<es256_key const> keys,
                                       jwt_verify_options const& options = {});

/// The same with one key.
inline result<boost::json::object> verify_jwt(std::string_view token, es256_key const& key,
                                              jwt_verify_options const& options = {}) {
  return verify_jwt(token, std::span<es256_key const>(&key, 1), options);
}

} // namespace auth
PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::auth::jwt_error> : std::true_type {};

#include <pier/auth/impl/jwt.hpp>

#endif // PIER_AUTH_JWT_HPP
