// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_IMPL_RATE_LIMIT_HPP
#define PIER_AUTH_IMPL_RATE_LIMIT_HPP

#include <algorithm>
#include <array>
#include <utility>

#include <arpa/inet.h>

PIER_BEGIN_NAMESPACE
namespace auth {

namespace detail {

// The two kinds of key share one table; the prefixes keep a user called "192.0.2.7" apart
// from that address. A pair key puts the address first, and addresses hold no NUL.
inline std::string address_key(std::string_view address) {
  return "a:" + login_limiter::address_key(address.substr(0, login_limiter::max_key_length));
}

inline std::string pair_key(std::string_view address, std::string_view user) {
  return "p:" + login_limiter::address_key(address.substr(0, login_limiter::max_key_length)) +
         '\0' + std::string(user.substr(0, login_limiter::max_key_length));
}

} // namespace detail

inline login_limiter::login_limiter(login_limit_options options) : options_(options) {}

inline std::string login_limiter::address_key(std::string_view address) {
  if (address.find(':') == std::string_view::npos || address.size() >= INET6_ADDRSTRLEN)
    return std::string(address);
  std::string const text(address);
  std::array<unsigned char, 16> bytes{};
  if (::inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1)
    return text;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < 8; ++i) {
    if (i != 0 && i % 2 == 0)
      out += ':';
    out += hex[bytes[i] >> 4];
    out += hex[bytes[i] & 0x0f];
  }
  return out + "::/64";
}

inline login_limiter::clock::duration
login_limiter::wait_of(std::string const& key, std::size_t limit, clock::time_point now) const {
  if (limit == 0)
    return clock::duration::zero();
  auto const it = index_.find(key);
  if (it == index_.end())
    return clock::duration::zero();
  auto const& failures = it->second->failures;
  if (failures.size() < limit)
    return clock::duration::zero();
  // The oldest kept failure is the limit-th most recent: one slot frees when it leaves.
  clock::time_point const frees = failures[failures.size() - limit] + options_.window;
  return frees > now ? frees - now : clock::duration::zero();
}

inline login_limiter::clock::duration login_limiter::retry_after(std::string_view address,
                                                                 std::string_view user,
                                                                 clock::time_point now) const {
  std::string const a = detail::address_key(address);
  std::string const u = detail::pair_key(address, user);
  clock::duration wait;
  {
    std::lock_guard const lock(mutex_);
    wait = wait_of(a, options_.max_address_failures, now);
    if (!user.empty())
      wait = std::max(wait, wait_of(u, options_.max_user_failures, now));
  }
  if (wait == clock::duration::zero())
    return wait;
  return std::chrono::ceil<std::chrono::seconds>(wait);
}

inline void login_limiter::add_failure(std::string key, std::size_t limit, clock::time_point now) {
  if (limit == 0 || options_.max_keys == 0)
    return;
  auto it = index_.find(key);
  if (it == index_.end()) {
    // Room for one more: first the keys whose failures have all expired, then the oldest.
    while (!order_.empty() &&
           (order_.size() >= options_.max_keys || order_.front().last + options_.window <= now)) {
      index_.erase(order_.front().key);
      order_.pop_front();
    }
    order_.push_back(entry{std::move(key), {}, now});
    it = index_.emplace(order_.back().key, std::prev(order_.end())).first;
  } else {
    order_.splice(order_.end(), order_, it->second); // iterators stay valid
  }
  entry& e = *it->second;
  e.last = std::max(e.last, now);
  // Limits are small (tens): shifting a vector costs less than a deque's 512-byte blocks.
  if (e.failures.size() >= limit)
    e.failures.erase(e.failures.begin(), e.failures.end() - static_cast<std::ptrdiff_t>(limit - 1));
  e.failures.push_back(now);
}

inline void login_limiter::record_failure(std::string_view address, std::string_view user,
                                          clock::time_point now) {
  std::lock_guard const lock(mutex_);
  add_failure(detail::address_key(address), options_.max_address_failures, now);
  if (!user.empty())
    add_failure(detail::pair_key(address, user), options_.max_user_failures, now);
}

inline void login_limiter::record_success(std::string_view address, std::string_view user) {
  std::string const key = detail::pair_key(address, user);
  std::lock_guard const lock(mutex_);
  auto const it = index_.find(key);
  if (it == index_.end())
    return;
  list_type::iterator const pos = it->second;
  index_.erase(it);
  order_.erase(pos);
}

inline std::size_t login_limiter::size() const {
  std::lock_guard const lock(mutex_);
  return order_.size();
}

} // namespace auth
PIER_END_NAMESPACE

#endif // PIER_AUTH_IMPL_RATE_LIMIT_HPP
