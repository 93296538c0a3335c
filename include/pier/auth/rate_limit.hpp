// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_RATE_LIMIT_HPP
#define PIER_AUTH_RATE_LIMIT_HPP

/// @file
/// A limit on failed logins, per client address and per user name at that address, so that
/// passwords cannot be guessed at the speed of the network. No I/O, no clock of its own: the caller
/// passes the time, which makes it testable without waiting.
///
/// @code
/// using namespace std::chrono_literals;
/// pier::auth::login_limiter limiter({.max_user_failures = 3, .window = 5min});
/// auto t = pier::auth::login_limiter::clock::now();
/// for (int i = 0; i < 3; ++i) {
///   assert(limiter.retry_after("192.0.2.7", "alice", t) == 0s); // may try
///   limiter.record_failure("192.0.2.7", "alice", t);             // the password was wrong
/// }
/// assert(limiter.retry_after("192.0.2.7", "alice", t + 1min) == 4min); // locked out
/// assert(limiter.retry_after("192.0.2.7", "alice", t + 5min) == 0s);  // the window moved on
/// @endcode
///
/// How it counts:
/// - Two keys count each failure: the client address, and the pair of that address and the
///   user name. Nothing counts a user name across addresses: otherwise anyone could lock a
///   user out by sending wrong passwords from a few addresses. Guessing one user's password
///   from many addresses is bounded by each address's own limit instead.
/// - Each key keeps the times of its last failures, as many as its limit. A key is locked
///   while it holds `limit` failures younger than `window`, until the oldest of them leaves
///   the window: a sliding window, so an attacker gets at most `limit` guesses per window
///   and key, and a legitimate user locked out waits at most `window`.
/// - IPv6 addresses count per /64: one host usually holds a whole /64, and would otherwise
///   get a fresh counter with every address it takes from it.
/// - `record_success` clears the failures of the (address, user) pair, never the address's:
///   an attacker who owns one valid account must not be able to reset the counter of the
///   address it guesses other users' passwords from.
/// - Memory is bounded: at most `max_keys` keys, each cut at `max_key_length` bytes and
///   holding at most its limit of times (a few hundred bytes a key); a new key evicts those
///   whose failures have all left the window, then the key that failed longest ago. An
///   attacker who fills the table with fresh user names evicts only keys idle longer than
///   its own address's, which every failure refreshes, so its address stays limited.
///
/// Thread-safe: one limiter serves every thread of a server.
///
/// See https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html
/// ("Protect against automated attacks").

#include <pier/config.hpp>

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace auth {

/// The limits of a `login_limiter`.
struct login_limit_options {
  /// Failures of one user name from one client address (IPv6: one /64) within `window`
  /// before further attempts for that user from that address are refused; 0: no limit per
  /// user. Failures from other addresses do not count: see the file comment.
  std::size_t max_user_failures = 10;
  /// Failures from one client address (IPv6: one /64) within `window`; 0: no limit per
  /// address. Higher than per user: several users may share an address (NAT).
  std::size_t max_address_failures = 30;
  /// How long a failure counts.
  std::chrono::steady_clock::duration window = std::chrono::minutes(5);
  /// The most keys (addresses and user names together) remembered.
  std::size_t max_keys = 20000;
};

/// A refused login, as the gate reports it (`gate_options::on_login`) so that a server can
/// log it in its own format. Views into the gate's request: copy what is kept.
struct login_event {
  enum class kind {
    failed,     ///< a wrong password or access token, or an unknown user: counted
    locked_out, ///< a failure that reached a limit: the address or the pair is now locked
    refused,    ///< an attempt while locked out: answered 429 without checking it
  };
  kind what = kind::failed;
  std::string_view user;    ///< the user name sent (never the password)
  std::string_view address; ///< the client's address
  /// `locked_out`, `refused`: how long until an attempt may be made again.
  std::chrono::seconds retry_after{0};
};

/// Counts failed logins and says when the next attempt may be made.
class login_limiter {
public:
  using clock = std::chrono::steady_clock;

  /// How many bytes of a user name or address a key keeps: names that differ only after
  /// them count as one (more limiting, never less), and memory stays bounded whatever
  /// clients send.
  static constexpr std::size_t max_key_length = 256;

  explicit login_limiter(login_limit_options options = {});

  login_limiter(login_limiter const&) = delete;
  login_limiter& operator=(login_limiter const&) = delete;

  /// How long an attempt for `user` from `address` must wait: zero when it may be made now,
  /// otherwise the longer wait of the two keys, whole seconds rounded up (what
  /// `Retry-After` carries). The keys are the address and the (address, user) pair; an empty
  /// `user` (an anonymous caller) checks the address only.
  clock::duration retry_after(std::string_view address, std::string_view user,
                              clock::time_point now) const;

  /// Counts a failed attempt for the address and for the (address, user) pair.
  void record_failure(std::string_view address, std::string_view user, clock::time_point now);

  /// A successful login of `user` from `address`: forgets the pair's failures (not the
  /// address's).
  void record_success(std::string_view address, std::string_view user);

  /// Keys remembered, expired ones included until an insertion purges them.
  std::size_t size() const;

  login_limit_options const& options() const noexcept { return options_; }

  /// The key an address counts under: itself for IPv4 and anything unparsable, the first
  /// 64 bits for IPv6 (`2001:db8:1:2::/64`).
  static std::string address_key(std::string_view address);

private:
  struct entry {
    std::string key;
    std::vector<clock::time_point> failures; // oldest first, at most the key's limit
    clock::time_point last;
  };
  using list_type = std::list<entry>;

  clock::duration wait_of(std::string const& key, std::size_t limit, clock::time_point now) const;
  void add_failure(std::string key, std::size_t limit, clock::time_point now);

  login_limit_options options_;
  mutable std::mutex mutex_;
  list_type order_; // by last failure, oldest first: eviction takes the front
  std::unordered_map<std::string_view, list_type::iterator> index_; // views into order_
};

} // namespace auth
PIER_END_NAMESPACE

#include <pier/auth/impl/rate_limit.hpp>

#endif // PIER_AUTH_RATE_LIMIT_HPP
