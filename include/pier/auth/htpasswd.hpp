// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_AUTH_HTPASSWD_HPP
#define PIER_AUTH_HTPASSWD_HPP

/// @file
/// htpasswd files (`user:hash` per line, as Apache's `htpasswd -B` writes them) and a
/// short-lived cache of verified credentials, so that bcrypt does not run on every request
/// a client makes with the same Basic credentials.
///
/// @code
/// namespace auth = pier::auth;
/// pier::result<auth::htpasswd> file = auth::parse_htpasswd(
///     "# registry users\n"
///     "alice:$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n");
/// assert(file && file->size() == 1);
/// assert(file->verify("alice", "U*U"));
///
/// auth::credential_cache cache; // 1024 entries, 60 s
/// assert(file->verify("alice", "U*U", cache));  // runs bcrypt, remembers the success
/// assert(file->verify("alice", "U*U", cache));  // answered from the cache
/// assert(!file->verify("alice", "wrong", cache)); // failures are never cached
/// @endcode
///
/// A server must refuse to start on an htpasswd file with anything but bcrypt or yescrypt
/// entries: `parse_htpasswd` fails on the first such line and says which line and scheme.
///
/// See https://httpd.apache.org/docs/2.4/programs/htpasswd.html

#include <pier/auth/password.hpp>
#include <pier/config.hpp>
#include <pier/core/error.hpp>
#include <pier/core/result.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>

// Forward declaration keeps <openssl/evp.h> out of the public interface.
struct evp_mac_ctx_st;

PIER_BEGIN_NAMESPACE
namespace auth {

/// Why an htpasswd file was rejected. Every value maps to `oci_error::unknown`: the file
/// is the operator's, a registry client cannot fix it.
enum class htpasswd_error {
  malformed_line = 1, ///< a line that is not `user:hash` (no ':', empty user, empty hash)
  invalid_user,       ///< a user name with control characters
  duplicate_user,     ///< the same user on two lines
  unsupported_scheme, ///< a hash pier refuses (MD5, SHA-1, DES, plain text, ...)
  malformed_hash,     ///< a bcrypt or yescrypt hash that is not well-formed
};

/// The category of `htpasswd_error`, named "pier.auth.htpasswd".
std::error_category const& htpasswd_category() noexcept;

inline std::error_code make_error_code(htpasswd_error e) noexcept {
  return {static_cast<int>(e), htpasswd_category()};
}

/// Where and why `parse_htpasswd` stopped, for the operator.
struct htpasswd_diagnostic {
  std::size_t line = 0;                      ///< 1-based line number
  std::string user;                          ///< the user on that line, when there is one
  hash_scheme scheme = hash_scheme::unknown; ///< for `unsupported_scheme`
  std::string message;                       ///< e.g. `line 3: user "bob": …`
};

class credential_cache;

/// The users of an htpasswd file and their password hashes, every one bcrypt or yescrypt.
///
/// Immutable once parsed: share one between threads freely. To reload a changed file,
/// parse it again and swap the object.
class htpasswd {
public:
  htpasswd() = default;

  /// The stored hash of `user`, or nothing when the file has no such user.
  std::optional<std::string_view> find(std::string_view user) const noexcept;

  bool contains(std::string_view user) const noexcept { return entries_.contains(user); }
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }

  /// Whether `password` is `user`'s. `password_error::mismatch` for a wrong password and for
  /// an unknown user alike; an unknown user costs one hash computation too, against
  /// `timing_hash()`, so that response times do not tell which users exist.
  result<void> verify(std::string_view user, std::string_view password) const;

  /// The same, answered from `cache` when these credentials were verified within its TTL;
  /// a success is added to it.
  result<void> verify(std::string_view user, std::string_view password,
                      credential_cache& cache) const;

  /// What an unknown user's password is checked against: the hash of the file's most
  /// expensive entry (highest bcrypt cost; yescrypt by its N), so that no user answers
  /// slower than an unknown one, which a cheaper first entry would let happen. bcrypt and
  /// yescrypt costs are compared by their numbers (`hash_cost`), which says nothing of their
  /// relative speed: keep one scheme in a file. Empty for an empty file.
  std::string_view timing_hash() const noexcept { return timing_hash_; }

  /// The user names, in byte order.
  template <class F>
  void for_each_user(F&& f) const {
    for (auto const& [user, hash] : entries_)
      std::invoke(f, std::string_view(user));
  }

private:
  friend result<htpasswd> parse_htpasswd(std::string_view, htpasswd_diagnostic*);

  std::map<std::string, std::string, std::less<>> entries_;
  std::string timing_hash_; // what an unknown user's password is checked against
};

/// The users of an htpasswd file, replaceable while requests read them: what the gate checks
/// Basic credentials against (`gate_options::users_file`), and what `pier-registry` replaces
/// on SIGHUP. Thread-safe.
///
/// @code
/// auto users =
/// std::make_shared<pier::auth::htpasswd_users>(pier::auth::parse_htpasswd(text).value());
/// // later, the file changed and parsed again:
/// users->replace(pier::auth::parse_htpasswd(new_text).value());
/// @endcode
class htpasswd_users {
public:
  explicit htpasswd_users(htpasswd file)
      : file_(std::make_shared<htpasswd const>(std::move(file))) {}
  htpasswd_users(htpasswd_users const&) = delete;
  htpasswd_users& operator=(htpasswd_users const&) = delete;

  /// The file now. A request keeps the one it read for as long as it holds it.
  std::shared_ptr<htpasswd const> current() const noexcept { return file_.load(); }

  /// Replaces the file for what reads it from now on.
  void replace(htpasswd file) { file_.store(std::make_shared<htpasswd const>(std::move(file))); }

private:
  std::atomic<std::shared_ptr<htpasswd const>> file_;
};

/// The cost parameter of a bcrypt hash (`$2y$12$…` → 12) or the N (log2) of a yescrypt hash;
/// 0 for anything else. Higher is slower within a scheme.
///
/// @code
/// assert(pier::auth::hash_cost("$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")
///        == 5);
/// @endcode
unsigned hash_cost(std::string_view hash) noexcept;

/// Parses the contents of an htpasswd file.
///
/// One `user:hash` per line, split at the first ':'. Blank lines and lines whose first
/// non-blank character is '#' are skipped; spaces and tabs around a line, and a CR before
/// its LF, are ignored. Fails on the first line that is malformed, repeats a user, or holds
/// a hash that is not bcrypt (`$2y$`, `$2b$`, `$2a$`) or yescrypt (`$y$`); `diagnostic`, when
/// given, receives the line number, the user, the scheme and a message naming them.
///
/// @code
/// pier::auth::htpasswd_diagnostic why;
/// auto f = pier::auth::parse_htpasswd("bob:$apr1$x$y\n", &why);
/// assert(f.error() == pier::auth::htpasswd_error::unsupported_scheme);
/// assert(why.line == 1 && why.scheme == pier::auth::hash_scheme::apr1_md5);
/// // why.message: line 1: user "bob": password hash scheme Apache MD5 ($apr1$) is not
/// //              supported; use bcrypt (htpasswd -B)
/// @endcode
result<htpasswd> parse_htpasswd(std::string_view contents,
                                htpasswd_diagnostic* diagnostic = nullptr);

/// Credentials verified recently, so that a client's every request does not cost a bcrypt.
///
/// An entry is the HMAC-SHA-256, under a key drawn at random for each cache, of the user,
/// the stored hash and the password: neither plaintext nor a fast unsalted hash of it is
/// kept, and a changed stored hash (a new password, a reloaded file) misses the cache
/// without any invalidation. Entries live `ttl` from their insertion; when `capacity` is
/// reached the oldest goes. Only successes are cached. Thread-safe.
///
/// @code
/// pier::auth::credential_cache cache(100, std::chrono::seconds(30));
/// std::string const hash = pier::auth::hash_password("pw", {}, 4).value();
/// auto const t = pier::auth::credential_cache::clock::now();
/// assert(cache.verify("u", "pw", hash, t));           // bcrypt, then cached
/// assert(cache.contains("u", "pw", hash, t));
/// assert(!cache.contains("u", "pw", hash, t + std::chrono::seconds(31))); // expired
/// @endcode
class credential_cache {
public:
  using clock = std::chrono::steady_clock;

  static constexpr std::size_t default_capacity = 1024;
  static constexpr std::chrono::seconds default_ttl{60};

  /// A cache of at most `capacity` entries (0 caches nothing), each kept for `ttl`.
  /// Throws `std::system_error` when OpenSSL cannot provide the random key or HMAC.
  explicit credential_cache(std::size_t capacity = default_capacity,
                            clock::duration ttl = default_ttl);

  credential_cache(credential_cache const&) = delete;
  credential_cache& operator=(credential_cache const&) = delete;
  ~credential_cache();

  /// Whether these credentials were inserted less than `ttl` before `now`.
  bool contains(std::string_view user, std::string_view password, std::string_view stored_hash,
                clock::time_point now = clock::now()) const;

  /// Remembers that `password` matched `stored_hash` for `user`, from `now` for `ttl`.
  void insert(std::string_view user, std::string_view password, std::string_view stored_hash,
              clock::time_point now = clock::now());

  /// `contains`, or else `verify_password` and, on success, `insert`. The mutex is not held
  /// while the hash is computed.
  result<void> verify(std::string_view user, std::string_view password,
                      std::string_view stored_hash, clock::time_point now = clock::now());

  /// Forgets every entry of `user` (on deletion, say; a password change needs nothing).
  void erase_user(std::string_view user);

  void clear();

  /// Entries held, expired ones included until an insertion purges them.
  std::size_t size() const;

  std::size_t capacity() const noexcept { return capacity_; }
  clock::duration ttl() const noexcept { return ttl_; }

private:
  struct entry {
    std::string key; // the HMAC
    std::string user;
    clock::time_point expires;
  };

  std::string key_of(std::string_view user, std::string_view password,
                     std::string_view stored_hash) const;

  struct mac_ctx_deleter {
    void operator()(evp_mac_ctx_st* p) const noexcept;
  };

  std::size_t capacity_;
  clock::duration ttl_;
  std::unique_ptr<evp_mac_ctx_st, mac_ctx_deleter> mac_; // keyed; copied for each use
  mutable std::mutex mutex_;
  std::list<entry> order_; // by insertion, hence by expiry: the front goes first
  std::unordered_map<std::string_view, std::list<entry>::iterator> index_; // keys into order_
};

} // namespace auth
PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::auth::htpasswd_error> : std::true_type {};

#include <pier/auth/impl/htpasswd.hpp>

#endif // PIER_AUTH_HTPASSWD_HPP
