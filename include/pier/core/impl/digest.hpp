// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_CORE_IMPL_DIGEST_HPP
#define PIER_CORE_IMPL_DIGEST_HPP

#include <openssl/evp.h>

#include <array>
#include <new>

#include <pier/core/detail/ascii.hpp>

PIER_BEGIN_NAMESPACE

constexpr std::string_view name(digest_algorithm a) noexcept {
  return a == digest_algorithm::sha512 ? "sha512" : "sha256";
}

constexpr std::size_t encoded_length(digest_algorithm a) noexcept {
  return a == digest_algorithm::sha512 ? 128 : 64;
}

// A namespace of its own: other grammars in pier::detail use the same short names.
namespace detail::digest_grammar {

using namespace ::pier::detail::ascii;

// The image spec's `encoded` production, which any algorithm's encoding must fit in.
constexpr bool is_encoded_char(char c) noexcept {
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '=' || c == '_' || c == '-';
}

// algorithm ::= component (separator component)*
// component ::= [a-z0-9]+    separator ::= [+._-]
struct algorithm_rule {
  // Consumes the longest algorithm at `it`; false (and `it` unchanged) when there is none.
  constexpr bool parse(char const*& it, char const* end) const noexcept {
    char const* p = it;
    for (;;) {
      char const* const component = p;
      while (p != end && is_lower_alnum(*p))
        ++p;
      if (p == component)
        return false; // empty algorithm, leading or doubled separator, or trailing one
      it = p;
      if (p == end || !(*p == '+' || *p == '.' || *p == '_' || *p == '-'))
        return true;
      ++p;
    }
  }
};

// encoded ::= [a-zA-Z0-9=_-]+
struct encoded_rule {
  constexpr bool parse(char const*& it, char const* end) const noexcept {
    char const* p = it;
    while (p != end && is_encoded_char(*p))
      ++p;
    if (p == it)
      return false;
    it = p;
    return true;
  }
};

constexpr bool lookup_algorithm(std::string_view s, digest_algorithm& out) noexcept {
  for (digest_algorithm a : {digest_algorithm::sha256, digest_algorithm::sha512}) {
    if (s == name(a)) {
      out = a;
      return true;
    }
  }
  return false;
}

} // namespace detail::digest_grammar

namespace detail {

class digest_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.digest"; }

  std::string message(int ev) const override {
    switch (static_cast<digest_error>(ev)) {
    case digest_error::empty: return "digest is empty";
    case digest_error::missing_separator:
      return "digest has no ':' between the algorithm and the encoded part";
    case digest_error::invalid_algorithm:
      return "digest algorithm must be lower-case [a-z0-9]+ components joined by one of "
             "'+', '.', '_', '-'";
    case digest_error::unsupported_algorithm:
      return "digest algorithm is not supported (only sha256 and sha512 are)";
    case digest_error::invalid_length:
      return "encoded digest has the wrong length for its algorithm (sha256 needs 64 and "
             "sha512 128 hex characters)";
    case digest_error::invalid_encoding:
      return "encoded digest is empty or has characters its algorithm does not allow "
             "(sha256 and sha512 need lower-case hex [a-f0-9])";
    case digest_error::mismatch: return "content does not match the digest";
    }
    return "unknown digest error";
  }

  std::error_condition default_error_condition(int) const noexcept override {
    return {static_cast<int>(oci_error::digest_invalid), oci_category()};
  }
};

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

inline std::error_category const& digest_category() noexcept {
  static detail::digest_category_impl const instance;
  return instance;
}

constexpr std::string_view digest_view::encoded() const noexcept {
  if (str_.empty())
    return {};
  return str_.substr(name(algorithm_).size() + 1);
}

inline result<digest_view> parse_digest_view(std::string_view s) noexcept {
  if (s.empty())
    return digest_error::empty;
  std::size_t const colon = s.find(':');
  if (colon == std::string_view::npos)
    return digest_error::missing_separator;

  char const* it = s.data();
  char const* const algorithm_end = s.data() + colon;
  if (!detail::digest_grammar::algorithm_rule{}.parse(it, algorithm_end) || it != algorithm_end)
    return digest_error::invalid_algorithm;

  std::string_view const encoded = s.substr(colon + 1);
  digest_algorithm a{};
  if (!detail::digest_grammar::lookup_algorithm(s.substr(0, colon), a)) {
    // Malformed beats unsupported: the client should fix the syntax first.
    it = encoded.data();
    if (!detail::digest_grammar::encoded_rule{}.parse(it, encoded.data() + encoded.size()) ||
        it != encoded.data() + encoded.size())
      return digest_error::invalid_encoding;
    return digest_error::unsupported_algorithm;
  }
  if (encoded.size() != encoded_length(a))
    return digest_error::invalid_length;
  for (char c : encoded) {
    if (!detail::digest_grammar::is_lower_hex(c))
      return digest_error::invalid_encoding;
  }
  return digest_view(a, s);
}

inline result<digest> parse_digest(std::string_view s) {
  result<digest_view> v = parse_digest_view(s);
  if (!v)
    return v.error();
  return digest(*v);
}

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

#endif // PIER_CORE_IMPL_DIGEST_HPP
