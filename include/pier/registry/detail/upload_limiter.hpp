// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_DETAIL_UPLOAD_LIMITER_HPP
#define PIER_REGISTRY_DETAIL_UPLOAD_LIMITER_HPP

// The open upload sessions of the v2 API, counted per caller and per repository, so that
// one client cannot open sessions without end (issue 10: 15,000 POSTs in 5 s). A session
// holds its slot from the POST that opens it to the PUT that finishes it, the DELETE that
// cancels it, a request that finds it gone, or `ttl` after its creation (when the garbage
// collector aborts it). The counts live in the process: they start at zero after a
// restart, and each replica counts its own sessions.
//
// It also counts the bytes each session holds, per namespace (a repository name's first
// component), for quotas: what uploads in progress hold counts against their namespace
// until the upload ends. A session from before a restart is counted from its first
// request after it (`record_bytes` adopts it, without taking a slot).

#include <pier/config.hpp>
#include <pier/core/reference.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

PIER_BEGIN_NAMESPACE
namespace registry::detail {

/// A namespace's bytes (what the store holds plus what uploads in progress hold) against
/// its quota: how much more an upload may add.
struct upload_room {
  std::uint64_t used = 0;
  std::uint64_t quota = 0;

  std::uint64_t left() const noexcept { return quota - std::min(quota, used); }
};

class upload_limiter {
public:
  using time_point = std::chrono::system_clock::time_point;

  /// Why a slot was refused.
  enum class refusal { none, caller, repository };

  /// A slot taken for a session about to be created: given back when it goes out of scope
  /// unless `keep` binds it to the session's id.
  class slot {
  public:
    slot() noexcept = default;
    slot(slot&& o) noexcept
        : limiter_(std::exchange(o.limiter_, nullptr)), caller_(std::move(o.caller_)),
          repository_(std::move(o.repository_)) {}
    slot& operator=(slot&&) = delete;
    ~slot() {
      if (limiter_)
        limiter_->give_back(caller_, repository_);
    }

    /// The session `id`, created at `created`, holds the slot from now on.
    void keep(std::string id, time_point created) {
      if (upload_limiter* const l = std::exchange(limiter_, nullptr))
        l->bind(std::move(id), std::move(caller_), std::move(repository_), created);
    }

  private:
    friend class upload_limiter;
    slot(upload_limiter* l, std::string caller, std::string repository) noexcept
        : limiter_(l), caller_(std::move(caller)), repository_(std::move(repository)) {}

    upload_limiter* limiter_ = nullptr;
    std::string caller_;
    std::string repository_;
  };

  /// 0 for a limit: none.
  upload_limiter(std::size_t per_caller, std::size_t per_repository,
                 std::chrono::milliseconds ttl) noexcept
      : per_caller_(per_caller), per_repository_(per_repository), ttl_(ttl) {}

  /// A slot for a new session of `caller` in `repository`, or the limit that refuses it.
  std::pair<slot, refusal> take(std::string caller, std::string repository, time_point now) {
    std::lock_guard const lock(mutex_);
    expire(now);
    if (per_caller_ != 0 && count(callers_, caller) >= per_caller_)
      return {slot(), refusal::caller};
    if (per_repository_ != 0 && count(repositories_, repository) >= per_repository_)
      return {slot(), refusal::repository};
    ++callers_[caller];
    ++repositories_[repository];
    return {slot(this, std::move(caller), std::move(repository)), refusal::none};
  }

  /// Session `id` is finished, cancelled or gone: its slot is free (nothing when unknown).
  void release(std::string_view id) {
    std::lock_guard const lock(mutex_);
    auto const it = sessions_.find(id);
    if (it == sessions_.end())
      return;
    drop(it);
  }

  /// Session `id` of `repository` holds `size` bytes now; a session not known here (created
  /// before a restart, or by another replica) is adopted as created at `created`.
  void record_bytes(std::string_view id, std::string_view repository, time_point created,
                    std::uint64_t size) {
    std::lock_guard const lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) {
      by_age_.emplace(created, std::string(id));
      it = sessions_.emplace(std::string(id), session{{}, std::string(repository), created}).first;
      it->second.counted = false;
    }
    held_bytes(it->second, size);
  }

  /// The bytes the sessions of namespace `ns` hold (after expiring the old ones).
  std::uint64_t in_flight(std::string_view ns, time_point now) {
    std::lock_guard const lock(mutex_);
    expire(now);
    auto const it = in_flight_.find(ns);
    return it == in_flight_.end() ? 0 : it->second;
  }

  /// The bytes session `id` holds (0 when not known).
  std::uint64_t bytes_of(std::string_view id) {
    std::lock_guard const lock(mutex_);
    auto const it = sessions_.find(id);
    return it == sessions_.end() ? 0 : it->second.bytes;
  }

  /// The sessions counted now (after expiring the old ones).
  std::size_t open_sessions(time_point now) {
    std::lock_guard const lock(mutex_);
    expire(now);
    return sessions_.size();
  }

private:
  struct session {
    std::string caller;
    std::string repository;
    time_point created;
    std::uint64_t bytes = 0;
    bool counted = true; // holds a slot (not adopted)
  };
  using counts = std::map<std::string, std::size_t, std::less<>>;
  using sessions = std::map<std::string, session, std::less<>>;

  static std::size_t count(counts const& c, std::string_view key) {
    auto const it = c.find(key);
    return it == c.end() ? 0 : it->second;
  }
  static void decrement(counts& c, std::string const& key) {
    auto const it = c.find(key);
    if (it != c.end() && --it->second == 0)
      c.erase(it);
  }

  void give_back(std::string const& caller, std::string const& repository) {
    std::lock_guard const lock(mutex_);
    decrement(callers_, caller);
    decrement(repositories_, repository);
  }

  void bind(std::string id, std::string caller, std::string repository, time_point created) {
    std::lock_guard const lock(mutex_);
    if (sessions_.contains(id)) { // an id twice: not with random ids; keep the counts right
      decrement(callers_, caller);
      decrement(repositories_, repository);
      return;
    }
    by_age_.emplace(created, id);
    sessions_.emplace(std::move(id), session{std::move(caller), std::move(repository), created});
  }

  // Session `s` holds `size` bytes now: its namespace's count follows.
  void held_bytes(session& s, std::uint64_t size) {
    if (s.bytes == size)
      return;
    auto held = in_flight_.try_emplace(std::string(namespace_of(s.repository)), 0).first;
    held->second = held->second - std::min(held->second, s.bytes) + size;
    s.bytes = size;
    if (held->second == 0)
      in_flight_.erase(held);
  }

  void drop(sessions::iterator it) {
    by_age_.erase({it->second.created, it->first});
    if (it->second.counted) {
      decrement(callers_, it->second.caller);
      decrement(repositories_, it->second.repository);
    }
    held_bytes(it->second, 0);
    sessions_.erase(it);
  }

  // Sessions older than the TTL are the collector's: their slots are free.
  void expire(time_point now) {
    while (!by_age_.empty() && by_age_.begin()->first + ttl_ <= now) {
      auto const it = sessions_.find(by_age_.begin()->second);
      if (it == sessions_.end())
        by_age_.erase(by_age_.begin());
      else
        drop(it);
    }
  }

  std::size_t per_caller_;
  std::size_t per_repository_;
  std::chrono::milliseconds ttl_;
  std::mutex mutex_;
  sessions sessions_;
  std::set<std::pair<time_point, std::string>> by_age_;
  counts callers_;
  counts repositories_;
  std::map<std::string, std::uint64_t, std::less<>> in_flight_; // namespace → bytes
};

} // namespace registry::detail
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_DETAIL_UPLOAD_LIMITER_HPP
