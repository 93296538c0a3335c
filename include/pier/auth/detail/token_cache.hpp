// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_DETAIL_TOKEN_CACHE_HPP
#define PIER_AUTH_DETAIL_TOKEN_CACHE_HPP

// Bearer tokens the gate has verified, so that a client's every request does not cost an
// ES256 verification (measured: it cut manifest GETs with a token to a third of the
// unauthenticated rate). A token is immutable and its claims cannot change, so an entry
// stays valid until the token's `exp`; it is dropped then, or sooner when the cache is
// full. The key is the service the token was checked for and the token itself (compared
// whole, never a hash of it, so no collision can let one token pass for another).

#include <pier/auth/scope.hpp>
#include <pier/config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace auth {
namespace detail {

class verified_token_cache {
public:
  using clock = std::chrono::system_clock;

  struct claims {
    std::string subject;
    std::vector<resource_scope> access;
    clock::time_point expires;
    /// The `user_created` claim: when the subject's account was made (nanoseconds since the
    /// epoch), so that a token outliving its account cannot act for a new one of that name.
    std::optional<std::int64_t> user_created{};
  };

  explicit verified_token_cache(std::size_t capacity) : capacity_(capacity) {}

  std::optional<claims> find(std::string_view service, std::string_view token,
                             clock::time_point now) const {
    if (capacity_ == 0)
      return std::nullopt;
    std::string const k = key(service, token);
    std::lock_guard const lock(mutex_);
    auto const it = entries_.find(k);
    if (it == entries_.end() || it->second.expires <= now)
      return std::nullopt;
    return it->second;
  }

  void insert(std::string_view service, std::string_view token, claims c, clock::time_point now) {
    if (capacity_ == 0 || c.expires <= now)
      return;
    std::lock_guard const lock(mutex_);
    if (entries_.size() >= capacity_) {
      std::erase_if(entries_, [&](auto const& e) { return e.second.expires <= now; });
      if (entries_.size() >= capacity_)
        entries_.clear(); // all still valid: start again rather than track ages
    }
    entries_.insert_or_assign(key(service, token), std::move(c));
  }

private:
  static std::string key(std::string_view service, std::string_view token) {
    std::string k;
    k.reserve(service.size() + 1 + token.size());
    k.append(service).push_back('\n'); // a service never holds a line break
    k.append(token);
    return k;
  }

  std::size_t const capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, claims> entries_;
};

} // namespace detail
} // namespace auth
PIER_END_NAMESPACE

#endif // PIER_AUTH_DETAIL_TOKEN_CACHE_HPP
