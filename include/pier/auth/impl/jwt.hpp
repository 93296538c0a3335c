// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_IMPL_JWT_HPP
#define PIER_AUTH_IMPL_JWT_HPP

#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <new>
#include <vector>

#include <pier/core/detail/openssl.hpp>
#include <pier/core/detail/ascii.hpp>
#include <pier/core/detail/base64.hpp>
#include <pier/core/detail/strict_json.hpp>

PIER_BEGIN_NAMESPACE
namespace auth {

namespace detail {

class jwt_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.auth.jwt"; }

  std::string message(int ev) const override {
    switch (static_cast<jwt_error>(ev)) {
    case jwt_error::malformed: return "token is not three '.'-separated segments";
    case jwt_error::invalid_base64: return "token segment is not unpadded base64url";
    case jwt_error::invalid_json: return "token header or claims are not a JSON object";
    case jwt_error::unsupported_algorithm: return "token algorithm is not ES256";
    case jwt_error::unsupported_type: return "token type is not JWT";
    case jwt_error::critical_extension: return "token requires extensions (crit)";
    case jwt_error::unknown_key: return "token is signed with an unknown key";
    case jwt_error::bad_signature: return "token signature is invalid";
    case jwt_error::missing_expiry: return "token has no expiry (exp)";
    case jwt_error::invalid_claim: return "token claim has the wrong type";
    case jwt_error::expired: return "token has expired";
    case jwt_error::not_yet_valid: return "token is not valid yet (nbf)";
    case jwt_error::wrong_issuer: return "token issuer is not trusted";
    case jwt_error::wrong_audience: return "token is for another audience";
    case jwt_error::invalid_key: return "key is not a P-256 EC key";
    case jwt_error::no_private_key: return "key has no private part";
    case jwt_error::crypto_failure: return "OpenSSL failed";
    }
    return "unknown token error";
  }

  std::error_condition default_error_condition(int ev) const noexcept override {
    oci_error e = oci_error::unauthorized;
    switch (static_cast<jwt_error>(ev)) {
    case jwt_error::invalid_key:
    case jwt_error::no_private_key:
    case jwt_error::crypto_failure: e = oci_error::unknown; break;
    default: break;
    }
    return {static_cast<int>(e), oci_category()};
  }
};

// Never prompt on a terminal for the pass phrase of an encrypted key: fail instead.
inline int no_pass_phrase(char*, int, int, void*) { return 0; }

// How far a token's JSON may nest: Docker's claims are 4 deep.
inline constexpr std::size_t jwt_max_depth = 32;

inline bool parse_object(std::string_view text, boost::json::object& out) {
  boost::json::value v;
  if (pier::detail::strict_json::parse(text, v, {}, jwt_max_depth) !=
          pier::detail::strict_json::status::ok ||
      !v.is_object())
    return false;
  out = std::move(v.get_object());
  return true;
}

inline std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
  if (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b)
    return std::numeric_limits<std::int64_t>::max();
  if (b < 0 && a < std::numeric_limits<std::int64_t>::min() - b)
    return std::numeric_limits<std::int64_t>::min();
  return a + b;
}

// A NumericDate (RFC 7519 §2) in whole seconds; fractions round `up` or down, whichever
// makes the token valid for less time. False when `v` is not a finite number.
inline bool numeric_date(boost::json::value const& v, bool up, std::int64_t& out) noexcept {
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  if (v.is_int64()) {
    out = v.get_int64();
    return true;
  }
  if (v.is_uint64()) {
    out = v.get_uint64() > static_cast<std::uint64_t>(max)
              ? max
              : static_cast<std::int64_t>(v.get_uint64());
    return true;
  }
  if (!v.is_double() || !std::isfinite(v.get_double()))
    return false;
  double const d = up ? std::ceil(v.get_double()) : std::floor(v.get_double());
  if (d >= 9.2e18)
    out = max;
  else if (d <= -9.2e18)
    out = min;
  else
    out = static_cast<std::int64_t>(d);
  return true;
}

inline bool equals(boost::json::value const& v, std::string_view s) noexcept {
  return v.is_string() && std::string_view(v.get_string().data(), v.get_string().size()) == s;
}

// R || S (32 bytes each, big-endian) to the DER ECDSA-Sig-Value OpenSSL verifies.
inline bool raw_to_der(std::string_view raw, std::vector<unsigned char>& der) {
  namespace ossl = ::pier::detail::openssl;
  auto const* p = reinterpret_cast<unsigned char const*>(raw.data());
  ossl::ecdsa_sig_ptr sig(ECDSA_SIG_new());
  ossl::bignum_ptr r(BN_bin2bn(p, 32, nullptr));
  ossl::bignum_ptr s(BN_bin2bn(p + 32, 32, nullptr));
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1)
    return false;
  (void)r.release(); // owned by sig now
  (void)s.release();
  int const n = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (n <= 0)
    return false;
  der.resize(static_cast<std::size_t>(n));
  unsigned char* out = der.data();
  return i2d_ECDSA_SIG(sig.get(), &out) == n;
}

// The DER signature OpenSSL makes to R || S.
inline bool der_to_raw(unsigned char const* der, std::size_t size, std::string& raw) {
  namespace ossl = ::pier::detail::openssl;
  ossl::ecdsa_sig_ptr sig(d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(size)));
  if (!sig)
    return false;
  BIGNUM const* r = nullptr;
  BIGNUM const* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  raw.assign(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  return BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
}

inline bool verify_signature(evp_pkey_st* key, std::string_view signing_input,
                             std::vector<unsigned char> const& der) {
  ::pier::detail::openssl::md_ctx_ptr ctx(EVP_MD_CTX_new());
  return ctx &&
         EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr) ==
             1 &&
         EVP_DigestVerify(ctx.get(), der.data(), der.size(),
                          reinterpret_cast<unsigned char const*>(signing_input.data()),
                          signing_input.size()) == 1;
}

inline std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long const n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

} // namespace detail

inline std::error_category const& jwt_category() noexcept {
  static detail::jwt_category_impl const instance;
  return instance;
}

inline std::string base64url_encode(std::string_view bytes) {
  return ::pier::detail::base64::encode(bytes, ::pier::detail::base64::alphabet::url, false);
}

inline result<std::string> base64url_decode(std::string_view s) {
  std::string out;
  if (!::pier::detail::base64::decode(s, ::pier::detail::base64::alphabet::url,
                                      ::pier::detail::base64::padding::forbidden, true, out))
    return jwt_error::invalid_base64;
  return out;
}

inline std::string libtrust_key_id(std::string_view spki_der) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  {
    ::pier::detail::openssl::error_queue_guard const guard;
    if (EVP_Digest(spki_der.data(), spki_der.size(), md.data(), &md_len, EVP_sha256(), nullptr) !=
        1)
      throw std::system_error(std::make_error_code(std::errc::function_not_supported),
                              "pier::auth::libtrust_key_id: OpenSSL has no SHA-256");
  }
  // 30 bytes are 240 bits, 48 base32 digits: no padding, no partial group.
  constexpr std::string_view digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  out.reserve(48 + 11);
  for (std::size_t block = 0; block < 30; block += 5) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 5; ++i)
      v = (v << 8) | md[block + i];
    for (int shift = 35; shift >= 0; shift -= 5) {
      if (!out.empty() && (out.size() + 1) % 5 == 0)
        out.push_back(':');
      out.push_back(digits[(v >> shift) & 31]);
    }
  }
  return out;
}

// --- es256_key -------------------------------------------------------------------------

inline result<es256_key> es256_key::adopt(evp_pkey_st* raw, bool has_private) {
  namespace ossl = ::pier::detail::openssl;
  ossl::pkey_ptr p(raw);
  if (!p || EVP_PKEY_is_a(p.get(), "EC") != 1)
    return jwt_error::invalid_key;
  std::array<char, 64> group{};
  std::size_t group_len = 0;
  if (EVP_PKEY_get_group_name(p.get(), group.data(), group.size(), &group_len) != 1)
    return jwt_error::invalid_key;
  std::string_view const g(group.data(), group_len);
  if (g != "prime256v1" && g != "P-256" && g != "secp256r1")
    return jwt_error::invalid_key;
  // A point not on the curve, or a private key that does not belong to its public key,
  // would sign tokens nobody can verify or verify nothing at all: refuse them at load.
  ossl::pkey_ctx_ptr const check(EVP_PKEY_CTX_new_from_pkey(nullptr, p.get(), nullptr));
  if (!check)
    return jwt_error::crypto_failure;
  if ((has_private ? EVP_PKEY_check(check.get()) : EVP_PKEY_public_check(check.get())) != 1)
    return jwt_error::invalid_key;

  int const n = i2d_PUBKEY(p.get(), nullptr);
  if (n <= 0)
    return jwt_error::crypto_failure;
  std::string der(static_cast<std::size_t>(n), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_PUBKEY(p.get(), &out) != n)
    return jwt_error::crypto_failure;

  es256_key k;
  k.pkey_ = std::shared_ptr<evp_pkey_st>(p.release(), [](evp_pkey_st* q) { EVP_PKEY_free(q); });
  k.key_id_ = libtrust_key_id(der);
  k.spki_der_ = std::move(der);
  k.has_private_ = has_private;
  return k;
}

inline result<es256_key> es256_key::generate() {
  ::pier::detail::openssl::error_queue_guard const guard;
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (k == nullptr)
    return jwt_error::crypto_failure;
  return adopt(k, true);
}

inline result<es256_key> es256_key::from_pem(std::string_view pem) {
  namespace ossl = ::pier::detail::openssl;
  ossl::error_queue_guard const guard;
  if (pem.size() > static_cast<std::size_t>(INT_MAX))
    return jwt_error::invalid_key;
  ossl::bio_ptr const bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio)
    return jwt_error::crypto_failure;
  // The first PEM label says which half the text holds.
  std::size_t const begin = pem.find("-----BEGIN ");
  bool const is_public = begin != std::string_view::npos &&
                         pem.substr(begin).starts_with("-----BEGIN PUBLIC KEY-----");
  EVP_PKEY* k = is_public
                    ? PEM_read_bio_PUBKEY(bio.get(), nullptr, detail::no_pass_phrase, nullptr)
                    : PEM_read_bio_PrivateKey(bio.get(), nullptr, detail::no_pass_phrase, nullptr);
  if (k == nullptr)
    return jwt_error::invalid_key;
  return adopt(k, !is_public);
}

inline result<std::string> es256_key::private_pem() const {
  namespace ossl = ::pier::detail::openssl;
  if (!pkey_ || !has_private_)
    return jwt_error::no_private_key;
  ossl::error_queue_guard const guard;
  // Secure memory: the buffer is wiped when the BIO is freed.
  ossl::bio_ptr const bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return jwt_error::crypto_failure;
  return detail::bio_contents(bio.get());
}

inline std::string es256_key::public_pem() const {
  namespace ossl = ::pier::detail::openssl;
  if (!pkey_)
    return {};
  ossl::error_queue_guard const guard;
  ossl::bio_ptr const bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1)
    throw std::bad_alloc();
  return detail::bio_contents(bio.get());
}

inline es256_key es256_key::public_key() const {
  if (!pkey_)
    return {};
  ::pier::detail::openssl::error_queue_guard const guard;
  auto const* p = reinterpret_cast<unsigned char const*>(spki_der_.data());
  result<es256_key> k = adopt(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki_der_.size())), false);
  if (!k)
    throw std::bad_alloc(); // the DER came from OpenSSL itself: only memory can be short
  return std::move(*k);
}

// --- tokens ------------------------------------------------------------------------------

inline result<std::string> sign_jwt(boost::json::object const& claims, es256_key const& key,
                                    std::string_view kid) {
  namespace ossl = ::pier::detail::openssl;
  if (key.empty() || !key.has_private_key())
    return jwt_error::no_private_key;
  if (kid.empty())
    kid = key.key_id();
  std::string const header = R"({"typ":"JWT","alg":"ES256","kid":)" +
                             boost::json::serialize(boost::json::value(kid)) + "}";
  std::string token = base64url_encode(header);
  token.push_back('.');
  token += base64url_encode(boost::json::serialize(claims));

  ossl::error_queue_guard const guard;
  ossl::md_ctx_ptr const ctx(EVP_MD_CTX_new());
  std::size_t der_len = 0;
  auto const* tbs = reinterpret_cast<unsigned char const*>(token.data());
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key.native_handle(),
                            nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len, tbs, token.size()) != 1)
    return jwt_error::crypto_failure;
  std::vector<unsigned char> der(der_len);
  std::string raw;
  if (EVP_DigestSign(ctx.get(), der.data(), &der_len, tbs, token.size()) != 1 ||
      !detail::der_to_raw(der.data(), der_len, raw))
    return jwt_error::crypto_failure;
  token.push_back('.');
  token += base64url_encode(raw);
  return token;
}

inline result<boost::json::object> verify_jwt(std::string_view token,
                                              std::span<es256_key const> keys,
                                              jwt_verify_options const& options) {
  namespace ossl = ::pier::detail::openssl;
  std::size_t const dot1 = token.find('.');
  std::size_t const dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return jwt_error::malformed;
  std::string_view const signing_input = token.substr(0, dot2);

  // The header first, and the algorithm before anything else is believed.
  result<std::string> const header_text = base64url_decode(token.substr(0, dot1));
  if (!header_text)
    return header_text.error();
  boost::json::object header;
  if (!detail::parse_object(*header_text, header))
    return jwt_error::invalid_json;
  boost::json::value const* alg = header.if_contains("alg");
  if (alg == nullptr || !detail::equals(*alg, "ES256"))
    return jwt_error::unsupported_algorithm;
  if (boost::json::value const* typ = header.if_contains("typ")) {
    std::string_view const t =
        typ->is_string() ? std::string_view(typ->get_string().data(), typ->get_string().size())
                         : std::string_view();
    if (!pier::detail::ascii::iequals(t, "JWT") &&
        !pier::detail::ascii::iequals(t, "application/jwt"))
      return jwt_error::unsupported_type;
  }
  if (header.contains("crit"))
    return jwt_error::critical_extension;
  boost::json::value const* kid = header.if_contains("kid");
  if (kid != nullptr && !kid->is_string())
    return jwt_error::unknown_key;

  result<std::string> const signature = base64url_decode(token.substr(dot2 + 1));
  if (!signature)
    return signature.error();
  if (signature->size() != 64)
    return jwt_error::bad_signature;

  ossl::error_queue_guard const guard;
  std::vector<unsigned char> der;
  if (!detail::raw_to_der(*signature, der))
    return jwt_error::crypto_failure;
  bool any_key = false;
  bool verified = false;
  for (es256_key const& k : keys) {
    if (k.empty() || (kid != nullptr && !detail::equals(*kid, k.key_id())))
      continue;
    any_key = true;
    if (detail::verify_signature(k.native_handle(), signing_input, der)) {
      verified = true;
      break;
    }
  }
  if (!any_key)
    return jwt_error::unknown_key;
  if (!verified)
    return jwt_error::bad_signature;

  result<std::string> const claims_text = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims_text)
    return claims_text.error();
  boost::json::object claims;
  if (!detail::parse_object(*claims_text, claims))
    return jwt_error::invalid_json;

  std::int64_t const now =
      std::chrono::floor<std::chrono::seconds>(options.now.time_since_epoch()).count();
  std::int64_t const leeway = options.leeway.count() > 0 ? options.leeway.count() : 0;
  boost::json::value const* exp = claims.if_contains("exp");
  if (exp == nullptr)
    return jwt_error::missing_expiry;
  std::int64_t exp_s = 0;
  if (!detail::numeric_date(*exp, false, exp_s))
    return jwt_error::invalid_claim;
  std::int64_t nbf_s = std::numeric_limits<std::int64_t>::min();
  if (boost::json::value const* nbf = claims.if_contains("nbf");
      nbf != nullptr && !detail::numeric_date(*nbf, true, nbf_s))
    return jwt_error::invalid_claim;
  std::int64_t iat_s = 0;
  if (boost::json::value const* iat = claims.if_contains("iat");
      iat != nullptr && !detail::numeric_date(*iat, false, iat_s))
    return jwt_error::invalid_claim;
  if (!(now < detail::saturating_add(exp_s, leeway)))
    return jwt_error::expired;
  if (detail::saturating_add(now, leeway) < nbf_s)
    return jwt_error::not_yet_valid;

  if (!options.issuer.empty()) {
    boost::json::value const* iss = claims.if_contains("iss");
    if (iss != nullptr && !iss->is_string())
      return jwt_error::invalid_claim;
    if (iss == nullptr || !detail::equals(*iss, options.issuer))
      return jwt_error::wrong_issuer;
  }
  if (!options.audience.empty()) {
    boost::json::value const* aud = claims.if_contains("aud");
    if (aud == nullptr)
      return jwt_error::wrong_audience;
    bool found = false;
    if (aud->is_string()) {
      found = detail::equals(*aud, options.audience);
    } else if (aud->is_array()) {
      for (boost::json::value const& a : aud->get_array()) {
        if (!a.is_string())
          return jwt_error::invalid_claim;
        found = found || detail::equals(a, options.audience);
      }
    } else {
      return jwt_error::invalid_claim;
    }
    if (!found)
      return jwt_error::wrong_audience;
  }
  return claims;
}

} // namespace auth
PIER_END_NAMESPACE

#endif // PIER_AUTH_IMPL_JWT_HPP
