// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_IMPL_HTPASSWD_HPP
#define PIER_AUTH_IMPL_HTPASSWD_HPP

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <array>
#include <cstdint>
#include <utility>

#include <pier/core/detail/openssl.hpp>
#include <pier/core/detail/ascii.hpp>

PIER_BEGIN_NAMESPACE
namespace auth {

namespace detail {

class htpasswd_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.auth.htpasswd"; }

  std::string message(int ev) const override {
    switch (static_cast<htpasswd_error>(ev)) {
    case htpasswd_error::malformed_line: return "htpasswd line is not user:hash";
    case htpasswd_error::invalid_user: return "htpasswd user name contains control characters";
    case htpasswd_error::duplicate_user: return "htpasswd file lists a user twice";
    case htpasswd_error::unsupported_scheme:
      return "htpasswd password hash scheme is not supported (only bcrypt and yescrypt are)";
    case htpasswd_error::malformed_hash: return "htpasswd password hash is malformed";
    }
    return "unknown htpasswd error";
  }

  std::error_condition default_error_condition(int) const noexcept override {
    return {static_cast<int>(oci_error::unknown), oci_category()};
  }
};

constexpr bool is_ctl(char c) noexcept {
  auto const u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

constexpr bool has_ctl(std::string_view s) noexcept {
  for (char c : s)
    if (is_ctl(c))
      return true;
  return false;
}

// Appends `n` as 8 bytes, so that the fields of an HMAC input cannot run into each other
// ("ab" + "c" and "a" + "bc" differ).
inline void mac_length(EVP_MAC_CTX* ctx, std::size_t n) noexcept {
  std::array<unsigned char, 8> b{};
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(n) >> (8 * (7 - i)));
  EVP_MAC_update(ctx, b.data(), b.size());
}

} // namespace detail

inline std::error_category const& htpasswd_category() noexcept {
  static detail::htpasswd_category_impl const instance;
  return instance;
}

inline std::optional<std::string_view> htpasswd::find(std::string_view user) const noexcept {
  auto const it = entries_.find(user);
  if (it == entries_.end())
    return std::nullopt;
  return std::string_view(it->second);
}

inline result<void> htpasswd::verify(std::string_view user, std::string_view password) const {
  auto const it = entries_.find(user);
  if (it == entries_.end()) {
    if (!timing_hash_.empty())
      (void)verify_password(password, timing_hash_);
    return password_error::mismatch;
  }
  return verify_password(password, it->second);
}

inline result<void> htpasswd::verify(std::string_view user, std::string_view password,
                                     credential_cache& cache) const {
  auto const it = entries_.find(user);
  if (it == entries_.end())
    return verify(user, password);
  return cache.verify(user, password, it->second);
}

inline unsigned hash_cost(std::string_view hash) noexcept {
  switch (identify_hash(hash)) {
  case hash_scheme::bcrypt: // $2y$NN$
    if (hash.size() > 6 && pier::detail::ascii::is_digit(hash[4]) &&
        pier::detail::ascii::is_digit(hash[5]))
      return static_cast<unsigned>((hash[4] - '0') * 10 + (hash[5] - '0'));
    return 0;
  case hash_scheme::yescrypt: { // $y$ flags N r…$: N's log2 in crypt(3)'s base-64
    constexpr std::string_view alphabet =
        "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::size_t const at = hash.size() > 4 ? alphabet.find(hash[4]) : std::string_view::npos;
    return at == std::string_view::npos ? 0 : static_cast<unsigned>(at);
  }
  default: return 0;
  }
}

inline result<htpasswd> parse_htpasswd(std::string_view contents, htpasswd_diagnostic* diagnostic) {
  htpasswd out;
  std::size_t line_no = 0;
  auto fail = [&](htpasswd_error e, std::string_view user, hash_scheme scheme,
                  std::string message) -> result<htpasswd> {
    if (diagnostic != nullptr) {
      diagnostic->line = line_no;
      diagnostic->user = std::string(user);
      diagnostic->scheme = scheme;
      diagnostic->message = "line " + std::to_string(line_no) + ": " + std::move(message);
    }
    return e;
  };

  while (!contents.empty()) {
    ++line_no;
    std::size_t const eol = contents.find('\n');
    std::string_view line = contents.substr(0, eol);
    contents.remove_prefix(eol == std::string_view::npos ? contents.size() : eol + 1);
    if (line.ends_with('\r'))
      line.remove_suffix(1);
    line = pier::detail::ascii::trim_ows(line);
    if (line.empty() || line.front() == '#')
      continue;

    std::size_t const colon = line.find(':');
    if (colon == std::string_view::npos)
      return fail(htpasswd_error::malformed_line, {}, hash_scheme::unknown,
                  "no ':' between user and password hash");
    std::string_view const user = line.substr(0, colon);
    std::string_view const hash = line.substr(colon + 1);
    if (user.empty())
      return fail(htpasswd_error::malformed_line, {}, hash_scheme::unknown, "empty user name");
    if (detail::has_ctl(user))
      return fail(htpasswd_error::invalid_user, {}, hash_scheme::unknown,
                  "user name contains control characters");
    std::string const who = "user \"" + std::string(user) + "\": ";
    if (hash.empty())
      return fail(htpasswd_error::malformed_line, user, hash_scheme::unknown,
                  who + "empty password hash");
    if (out.entries_.contains(user))
      return fail(htpasswd_error::duplicate_user, user, hash_scheme::unknown,
                  who + "listed more than once");

    result<hash_scheme> const scheme = check_hash(hash);
    if (scheme.error() == password_error::unsupported_scheme) {
      hash_scheme const s = identify_hash(hash);
      return fail(htpasswd_error::unsupported_scheme, user, s,
                  who + "password hash scheme " + std::string(name(s)) +
                      " is not supported; use bcrypt (htpasswd -B)");
    }
    if (!scheme)
      return fail(htpasswd_error::malformed_hash, user, identify_hash(hash),
                  who + "malformed " + std::string(name(identify_hash(hash))) + " hash");
    if (out.timing_hash_.empty() || hash_cost(hash) > hash_cost(out.timing_hash_))
      out.timing_hash_ = std::string(hash);
    out.entries_.emplace(user, hash);
  }
  return out;
}

// --- credential_cache --------------------------------------------------------------------

inline void credential_cache::mac_ctx_deleter::operator()(evp_mac_ctx_st* p) const noexcept {
  EVP_MAC_CTX_free(p);
}

inline credential_cache::credential_cache(std::size_t capacity, clock::duration ttl)
    : capacity_(capacity), ttl_(ttl) {
  namespace ossl = ::pier::detail::openssl;
  ossl::error_queue_guard const guard;
  std::array<unsigned char, 32> key{};
  if (!ossl::random_bytes(key.data(), key.size()))
    throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                            "pier::auth::credential_cache: no random key");
  ossl::mac_ptr const mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  mac_.reset(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr);
  char digest_name[] = "SHA256";
  OSSL_PARAM const params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  bool const ok = mac_ && EVP_MAC_init(mac_.get(), key.data(), key.size(), params) == 1;
  OPENSSL_cleanse(key.data(), key.size());
  if (!ok)
    throw std::system_error(std::make_error_code(std::errc::function_not_supported),
                            "pier::auth::credential_cache: OpenSSL has no HMAC-SHA-256");
}

inline credential_cache::~credential_cache() = default;

inline std::string credential_cache::key_of(std::string_view user, std::string_view password,
                                            std::string_view stored_hash) const {
  namespace ossl = ::pier::detail::openssl;
  ossl::error_queue_guard const guard;
  ossl::mac_ctx_ptr const ctx(EVP_MAC_CTX_dup(mac_.get()));
  if (!ctx)
    throw std::bad_alloc();
  detail::mac_length(ctx.get(), user.size());
  EVP_MAC_update(ctx.get(), reinterpret_cast<unsigned char const*>(user.data()), user.size());
  detail::mac_length(ctx.get(), stored_hash.size());
  EVP_MAC_update(ctx.get(), reinterpret_cast<unsigned char const*>(stored_hash.data()),
                 stored_hash.size());
  EVP_MAC_update(ctx.get(), reinterpret_cast<unsigned char const*>(password.data()),
                 password.size());
  std::string out(32, '\0');
  std::size_t n = 0;
  EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n, out.size());
  return out;
}

inline bool credential_cache::contains(std::string_view user, std::string_view password,
                                       std::string_view stored_hash, clock::time_point now) const {
  if (capacity_ == 0)
    return false;
  std::string const key = key_of(user, password, stored_hash);
  std::lock_guard const lock(mutex_);
  auto const it = index_.find(key);
  return it != index_.end() && now < it->second->expires;
}

inline void credential_cache::insert(std::string_view user, std::string_view password,
                                     std::string_view stored_hash, clock::time_point now) {
  if (capacity_ == 0)
    return;
  std::string key = key_of(user, password, stored_hash);
  std::lock_guard const lock(mutex_);
  if (auto const it = index_.find(key); it != index_.end()) {
    auto const pos = it->second;
    index_.erase(it);
    order_.erase(pos);
  }
  while (!order_.empty() && (order_.size() >= capacity_ || !(now < order_.front().expires))) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
  order_.push_back(entry{std::move(key), std::string(user), now + ttl_});
  index_.emplace(order_.back().key, std::prev(order_.end()));
}

inline result<void> credential_cache::verify(std::string_view user, std::string_view password,
                                             std::string_view stored_hash, clock::time_point now) {
  if (contains(user, password, stored_hash, now))
    return {};
  result<void> r = verify_password(password, stored_hash);
  if (r)
    insert(user, password, stored_hash, now);
  return r;
}

inline void credential_cache::erase_user(std::string_view user) {
  std::lock_guard const lock(mutex_);
  for (auto it = order_.begin(); it != order_.end();) {
    if (it->user == user) {
      index_.erase(it->key);
      it = order_.erase(it);
    } else {
      ++it;
    }
  }
}

inline void credential_cache::clear() {
  std::lock_guard const lock(mutex_);
  index_.clear();
  order_.clear();
}

inline std::size_t credential_cache::size() const {
  std::lock_guard const lock(mutex_);
  return order_.size();
}

} // namespace auth
PIER_END_NAMESPACE

#endif // PIER_AUTH_IMPL_HTPASSWD_HPP
