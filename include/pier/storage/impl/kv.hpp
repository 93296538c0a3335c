// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_IMPL_KV_HPP
#define PIER_STORAGE_IMPL_KV_HPP

#include <pier/storage/detail/namespaces.hpp>
#include <pier/storage/detail/util.hpp>

#include <asio/thread_pool.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

PIER_BEGIN_NAMESPACE
namespace storage {
namespace detail {

// --- values: u8, u64 little-endian, strings as u64 length + bytes -----------------------

class encoder {
public:
  encoder& u8(std::uint8_t v) {
    out_ += static_cast<char>(v);
    return *this;
  }
  encoder& u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i)
      out_ += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  encoder& str(std::string_view s) {
    u64(s.size());
    out_ += s;
    return *this;
  }
  encoder& annotations(std::map<std::string, std::string> const& m) {
    u64(m.size());
    for (auto const& [k, v] : m)
      str(k).str(v);
    return *this;
  }
  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

class decoder {
public:
  explicit decoder(std::string_view in) noexcept : in_(in) {}

  std::uint8_t u8() noexcept {
    if (!ok_ || in_.empty())
      return fail(), 0;
    auto const v = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    return v;
  }
  /// A byte that must be at most `max` (an enum or a flag): anything else is corrupt.
  std::uint8_t u8_at_most(std::uint8_t max) noexcept {
    std::uint8_t const v = u8();
    if (v > max)
      fail();
    return v;
  }

  std::uint64_t u64() noexcept {
    if (!ok_ || in_.size() < 8)
      return fail(), 0;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v |= std::uint64_t{static_cast<unsigned char>(in_[static_cast<std::size_t>(i)])} << (8 * i);
    in_.remove_prefix(8);
    return v;
  }
  std::string str() {
    std::uint64_t const n = u64();
    if (!ok_ || in_.size() < n)
      return fail(), std::string();
    std::string s(in_.substr(0, static_cast<std::size_t>(n)));
    in_.remove_prefix(static_cast<std::size_t>(n));
    return s;
  }
  pier::digest digest() {
    result<pier::digest> d = parse_digest(str());
    if (!d)
      return fail(), pier::digest();
    return std::move(*d);
  }
  std::map<std::string, std::string> annotations() {
    std::map<std::string, std::string> m;
    std::uint64_t const n = u64();
    for (std::uint64_t i = 0; ok_ && i < n; ++i) {
      std::string k = str();
      m.insert_or_assign(std::move(k), str());
    }
    return m;
  }
  /// Nothing went wrong so far.
  bool ok() const noexcept { return ok_; }
  /// Everything decoded and nothing left over.
  bool done() const noexcept { return ok_ && in_.empty(); }

private:
  void fail() noexcept { ok_ = false; }

  std::string_view in_;
  bool ok_ = true;
};

/// What the `manifests` column family holds per digest. Everything but the bytes is
/// derived from the bytes, so it never changes while the digest is stored.
struct manifest_content {
  std::string media_type;
  std::string bytes;
  std::vector<pier::digest> blobs;
  std::vector<pier::digest> manifests;
  std::optional<subject_link> subject;
};

inline std::string encode(manifest_content const& c) {
  encoder e;
  e.u64(1).str(c.media_type).str(c.bytes); // 1: the format version of this record
  e.u64(c.blobs.size());
  for (pier::digest const& d : c.blobs)
    e.str(d.str());
  e.u64(c.manifests.size());
  for (pier::digest const& d : c.manifests)
    e.str(d.str());
  e.u64(c.subject ? 1 : 0);
  if (c.subject)
    e.str(c.subject->subject.str())
        .str(c.subject->artifact_type)
        .annotations(c.subject->annotations);
  return e.take();
}

inline result<manifest_content> decode_content(std::string_view v) {
  decoder d(v);
  manifest_content c;
  if (d.u64() != 1)
    return storage_error::corrupt;
  c.media_type = d.str();
  c.bytes = d.str();
  for (std::uint64_t i = 0, n = d.u64(); d.ok() && i < n; ++i)
    c.blobs.push_back(d.digest());
  for (std::uint64_t i = 0, n = d.u64(); d.ok() && i < n; ++i)
    c.manifests.push_back(d.digest());
  if (d.u64() == 1) {
    subject_link s;
    s.subject = d.digest();
    s.artifact_type = d.str();
    s.annotations = d.annotations();
    c.subject = std::move(s);
  }
  if (!d.done())
    return storage_error::corrupt;
  return c;
}

/// `a \0 b`, `a \0 b \0 c`: keys of records that belong to a repository.
inline std::string key(std::string_view a, std::string_view b) {
  std::string k;
  k.reserve(a.size() + b.size() + 1);
  k.append(a).append(1, '\0').append(b);
  return k;
}

inline std::string key(std::string_view a, std::string_view b, std::string_view c) {
  return key(key(a, b), c);
}

// QuotaStore's records in the default column family.
inline std::string quota_key(std::string_view ns) { return key("usage.quota", ns); }
inline std::string size_key(digest_view d) { return key("usage.size", d.str()); }

// AccountStore's records in the default column family: a deleted account's reserved name,
// pending invitations both ways (`user \0 org` and `org \0 user` → role offered), and how
// many organisations a user created.
inline std::string reserved_key(std::string_view name) { return key("account.reserved", name); }
inline std::string invitation_key(std::string_view user, std::string_view org) {
  return key("account.invitation", user, org);
}
inline std::string invited_key(std::string_view org, std::string_view user) {
  return key("account.invited", org, user);
}
inline std::string orgs_created_key(std::string_view user) {
  return key("account.orgs_created", user);
}

inline std::string count_key(char kind, digest_view d) {
  std::string k(1, kind);
  k += d.str();
  return k;
}

/// Nanoseconds since the epoch with the sign bit flipped, so that byte order of the
/// big-endian encoding is time order, before 1970 included.
inline std::uint64_t time_bits(std::chrono::system_clock::time_point t) noexcept {
  auto const ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  return static_cast<std::uint64_t>(ns.count()) ^ (std::uint64_t{1} << 63);
}

inline std::chrono::system_clock::time_point time_from_bits(std::uint64_t bits) noexcept {
  std::chrono::nanoseconds const ns(static_cast<std::int64_t>(bits ^ (std::uint64_t{1} << 63)));
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(ns));
}

inline std::string big_endian(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8)
    s[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
  return s;
}

inline std::uint64_t from_big_endian(std::string_view s) noexcept {
  std::uint64_t v = 0;
  for (char c : s.substr(0, 8))
    v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

/// The smallest key greater than every key that starts with `prefix` (which must not be
/// all 0xff bytes).
inline std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff)
    prefix.pop_back();
  if (!prefix.empty())
    prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

} // namespace detail

namespace detail {

// --- account records ------------------------------------------------------------------

// Each record starts with a format version byte (1), so that a later format can be told
// apart; the key (name, id) is not repeated in the value.

inline std::string encode(user_record const& u) {
  return encoder().u8(1).u8(u.admin ? 1 : 0).u64(time_bits(u.created)).str(u.password_hash).take();
}

inline result<user_record> decode_user(std::string_view name, std::string_view v) {
  decoder d(v);
  user_record u;
  if (d.u8() != 1)
    return storage_error::corrupt;
  u.name = name;
  u.admin = d.u8_at_most(1) == 1;
  u.created = time_from_bits(d.u64());
  u.password_hash = d.str();
  if (!d.done())
    return storage_error::corrupt;
  return u;
}

inline std::string encode(org_record const& o) {
  return encoder().u8(1).u64(time_bits(o.created)).take();
}

inline result<org_record> decode_org(std::string_view name, std::string_view v) {
  decoder d(v);
  if (d.u8() != 1)
    return storage_error::corrupt;
  org_record o{std::string(name), time_from_bits(d.u64())};
  if (!d.done())
    return storage_error::corrupt;
  return o;
}

// Version 1 had no scopes (a token made then decodes with none); version 2 appends them, a
// count and the names.
inline std::string encode(access_token_record const& t) {
  encoder e;
  e.u8(2).str(t.user).str(t.description).str(t.secret_hash).u64(time_bits(t.created));
  e.u8(t.expires ? 1 : 0);
  if (t.expires)
    e.u64(time_bits(*t.expires));
  e.u8(static_cast<std::uint8_t>(t.scopes.size()));
  for (std::string const& s : t.scopes)
    e.str(s);
  return e.take();
}

inline result<access_token_record> decode_token(std::string_view id, std::string_view v) {
  decoder d(v);
  access_token_record t;
  std::uint8_t const version = d.u8();
  if (version != 1 && version != 2)
    return storage_error::corrupt;
  t.id = id;
  t.user = d.str();
  t.description = d.str();
  t.secret_hash = d.str();
  t.created = time_from_bits(d.u64());
  if (d.u8_at_most(1) == 1)
    t.expires = time_from_bits(d.u64());
  if (version == 2) {
    std::size_t const n = d.u8();
    for (std::size_t i = 0; i < n; ++i)
      t.scopes.push_back(d.str()); // a short value fails `done` below
  }
  if (!d.done())
    return storage_error::corrupt;
  return t;
}

/// A role or a visibility: one byte in `[min, max]`.
template <class Enum>
result<Enum> decode_enum(std::string_view v, std::uint8_t min, std::uint8_t max) {
  decoder d(v);
  std::uint8_t const b = d.u8_at_most(max);
  if (!d.done() || b < min)
    return storage_error::corrupt;
  return static_cast<Enum>(b);
}

inline std::string encode_byte(auto e) { return encoder().u8(static_cast<std::uint8_t>(e)).take(); }

inline result<role> decode_role(std::string_view v) {
  return decode_enum<role>(v, static_cast<std::uint8_t>(role::read),
                           static_cast<std::uint8_t>(role::admin));
}

} // namespace detail

struct kv_metadata_store::state {
  using cf = kv_table;
  // The tables by name (`using enum` inside this class trips GCC 12 in templates).
  static constexpr cf repositories = kv_table::repositories;
  static constexpr cf tags = kv_table::tags;
  static constexpr cf tag_index = kv_table::tag_index;
  static constexpr cf manifests = kv_table::manifests;
  static constexpr cf manifest_links = kv_table::manifest_links;
  static constexpr cf blob_links = kv_table::blob_links;
  static constexpr cf refcounts = kv_table::refcounts;
  static constexpr cf referrers = kv_table::referrers;
  static constexpr cf uploads = kv_table::uploads;
  static constexpr cf upload_times = kv_table::upload_times;
  static constexpr cf users = kv_table::users;
  static constexpr cf orgs = kv_table::orgs;
  static constexpr cf members = kv_table::members;
  static constexpr cf member_index = kv_table::member_index;
  static constexpr cf visibility = kv_table::visibility;
  static constexpr cf tokens = kv_table::tokens;
  static constexpr cf token_index = kv_table::token_index;
  static constexpr cf blob_times = kv_table::blob_times;
  static constexpr cf blob_repos = kv_table::blob_repos;
  static constexpr cf manifest_parents = kv_table::manifest_parents;
  static constexpr cf untagged = kv_table::untagged;
  static constexpr cf untagged_index = kv_table::untagged_index;
  static constexpr cf namespace_blobs = kv_table::namespace_blobs;
  /// The key of the user count in `meta`.
  static constexpr char const* user_count_key = "pier.user_count";
  /// `meta`, for `scan`.
  static constexpr cf defaults = kv_table::meta;

  std::shared_ptr<kv_driver> driver;
  bool sync = true;
  std::chrono::seconds touch_interval{60}; // CollectableStore
  /// `set_default_quota`'s value; all ones: none.
  std::atomic<std::uint64_t> default_quota{~std::uint64_t{0}};
  std::mutex write_mutex;
  // Group commit (`synced`): writes made, writes a sync has covered, whether one runs.
  std::mutex sync_mutex;
  std::condition_variable sync_done;
  std::uint64_t written = 0;
  std::uint64_t covered = 0;
  bool syncing = false;
  std::optional<asio::thread_pool> pool; // for a blocking driver

  state(std::shared_ptr<kv_driver> d, kv_options const& o)
      : driver(std::move(d)), sync(o.sync), touch_interval(o.touch_interval) {
    if (driver->blocking())
      pool.emplace(o.blocking_threads == 0 ? 1 : o.blocking_threads);
  }
  state(state const&) = delete;
  state& operator=(state const&) = delete;
  ~state() {
    if (pool)
      pool->join();
  }

  /// A consistent view for reads of several keys.
  class snapshot {
  public:
    explicit snapshot(kv_driver const& d) : snap_(d.snapshot()), options(snap_.get()) {}

  private:
    std::unique_ptr<kv_snapshot> snap_;

  public:
    kv_view const options;
  };

  result<std::optional<std::string>> get(cf c, std::string const& k, kv_view ro = {}) const {
    return driver->get(c, k, ro);
  }

  result<bool> contains(cf c, std::string const& k, kv_view ro = {}) const {
    result<std::optional<std::string>> const v = get(c, k, ro);
    if (!v)
      return v.error();
    return v->has_value();
  }

  result<std::uint64_t> count(char kind, digest_view d, kv_view ro = {}) const {
    return number(refcounts, detail::count_key(kind, d), ro);
  }

  /// The 8-byte number under key `k` of `c`; 0 when there is none.
  result<std::uint64_t> number(cf c, std::string const& k, kv_view ro) const {
    result<std::optional<std::string>> const v = get(c, k, ro);
    if (!v)
      return v.error();
    if (!*v)
      return std::uint64_t{0};
    detail::decoder dec(**v);
    std::uint64_t const n = dec.u64();
    if (!dec.done())
      return storage_error::corrupt;
    return n;
  }

  void put_count(kv_batch& b, char kind, digest_view d, std::uint64_t n) const {
    if (n == 0)
      b.erase(refcounts, detail::count_key(kind, d));
    else
      b.put(refcounts, detail::count_key(kind, d), detail::encoder().u64(n).take());
  }

  /// Adds `delta` (+1 or -1) to the counts of `kind` of every digest in `ds`.
  result<void> add_counts(kv_batch& b, char kind, std::vector<pier::digest> const& ds,
                          int delta) const {
    for (pier::digest const& d : ds) {
      result<std::uint64_t> const n = count(kind, d);
      if (!n)
        return n.error();
      put_count(b, kind, d, detail::stepped(*n, delta));
    }
    return {};
  }

  /// ReferenceCheckingStore: the value of a blob link is how many of its repository's
  /// manifests reference the blob (8 bytes), changed with them in the same batch. Links
  /// written before these counts existed are counted when the database is upgraded to
  /// layout 5; one still empty (upgraded by a build that did not count them) is unknown and
  /// stays so until `fsck --repair` (unlinking one reads the repository's manifests instead). Adds `delta` (+1 or -1) to the count
  /// of `repository`'s link to each of `ds`.
  result<void> add_uses(kv_batch& b, std::string const& repository,
                        std::vector<pier::digest> const& ds, int delta) const {
    for (pier::digest const& d : ds) {
      std::string const k = detail::key(repository, d.str());
      result<std::optional<std::string>> const v = get(blob_links, k);
      if (!v)
        return v.error();
      if (!*v || (*v)->empty())
        continue; // no link (fsck's business) or a count unknown
      detail::decoder dec(**v);
      std::uint64_t const n = dec.u64();
      if (!dec.done())
        return storage_error::corrupt;
      b.put(blob_links, k,
            detail::encoder().u64(detail::stepped(n, delta)).take());
    }
    return {};
  }

  /// fsck: the use counts of blob links as `add_uses` keeps them, recounted from the
  /// manifests the repositories hold: `repository \0 digest` → references. A manifest
  /// held by several repositories is decoded once for each: memory goes to the counts only.
  result<std::map<std::string, std::uint64_t, std::less<>>>
  recount_link_uses(kv_view ro) const {
    std::map<std::string, std::uint64_t, std::less<>> out;
    std::error_code failed;
    result<void> const r =
        scan(manifest_links, "", "", ro, [&](std::string_view k, std::string_view) {
          std::size_t const at = k.find('\0');
          if (at == std::string_view::npos) {
            failed = storage_error::corrupt;
            return false;
          }
          result<std::optional<std::string>> const v =
              get(manifests, std::string(k.substr(at + 1)), ro);
          if (!v) {
            failed = v.error();
            return false;
          }
          if (!*v)
            return true; // a link without content references nothing (fsck reports it)
          result<detail::manifest_content> const c = detail::decode_content(**v);
          if (!c) {
            failed = c.error();
            return false;
          }
          std::string const repository(k.substr(0, at));
          for (pier::digest const& d : c->blobs)
            ++out[detail::key(repository, d.str())];
          return true;
        });
    if (!r)
      return r.error();
    if (failed)
      return failed;
    return out;
  }

  /// fsck: calls `f(link key, stored value, recounted uses)` for each blob link whose
  /// value is not its recounted use count: a wrong count, an unknown one (empty: a link
  /// from before the counts) or one that does not decode.
  template <class F>
  result<void> wrong_link_uses(kv_view ro, F f) const {
    result<std::map<std::string, std::uint64_t, std::less<>>> const counts = recount_link_uses(ro);
    if (!counts)
      return counts.error();
    return scan(blob_links, "", "", ro, [&](std::string_view k, std::string_view v) {
      auto const it = counts->find(k);
      std::uint64_t const uses = it == counts->end() ? 0 : it->second;
      detail::decoder dec(v);
      std::uint64_t const stored = dec.u64();
      if (v.empty() || !dec.done() || stored != uses)
        f(k, v, uses);
      return true;
    });
  }

  /// The stored record of manifest `d`, which a repository holds: `corrupt` when there is
  /// none.
  result<detail::manifest_content> content_of(std::string const& d,
                                              kv_view ro = {}) const {
    result<std::optional<std::string>> const v = get(manifests, d, ro);
    if (!v)
      return v.error();
    if (!*v)
      return storage_error::corrupt;
    return detail::decode_content(**v);
  }

  // --- QuotaStore ------------------------------------------------------------------

  /// A blob's entry of a namespace in `namespace_blobs`: the (repository, manifest) pairs
  /// of the namespace that reference it, the repositories of the namespace that link it,
  /// and the size it added to the namespace's total when the entry appeared (so that its
  /// removal takes back exactly that, whatever `charge` recorded since). Kept while either
  /// count is not 0. Layout 4 stored no link count (two numbers).
  struct namespace_blob {
    std::uint64_t count = 0;
    std::uint64_t size = 0;
    std::uint64_t links = 0;

    bool empty() const noexcept { return count == 0 && links == 0; }
  };

  static result<namespace_blob> decode_namespace_blob(std::string_view v) {
    detail::decoder dec(v);
    namespace_blob e;
    e.count = dec.u64();
    e.size = dec.u64();
    if (!dec.done())
      e.links = dec.u64();
    if (!dec.done())
      return storage_error::corrupt;
    return e;
  }

  result<namespace_blob> namespace_entry(std::string_view ns, digest_view d,
                                         kv_view ro = {}) const {
    result<std::optional<std::string>> const v = get(namespace_blobs, detail::key(ns, d.str()), ro);
    if (!v)
      return v.error();
    if (!*v)
      return namespace_blob{};
    return decode_namespace_blob(**v);
  }

  /// The sum of the sizes of the namespace's entries.
  result<std::uint64_t> namespace_total(std::string_view ns,
                                        kv_view ro = {}) const {
    return number(namespace_blobs, std::string(ns), ro);
  }

  /// Writes a namespace's entry of `d` (an empty one removes it).
  void put_namespace_blob(kv_batch& b, std::string_view ns, digest_view d,
                          namespace_blob e) const {
    std::string const k = detail::key(ns, d.str());
    if (e.empty())
      b.erase(namespace_blobs, k);
    else
      b.put(namespace_blobs, k,
            detail::encoder().u64(e.count).u64(e.size).u64(e.links).take());
  }

  /// Writes a namespace's total (0 removes it).
  void put_namespace_total(kv_batch& b, std::string_view ns, std::uint64_t bytes) const {
    std::string_view const k(ns);
    if (bytes == 0)
      b.erase(namespace_blobs, k);
    else
      b.put(namespace_blobs, k, detail::encoder().u64(bytes).take());
  }

  /// Changes to namespace entries and totals made within one batch: each entry and total is
  /// read once from what is committed, then changed here, then written by `write`.
  class namespace_changes {
  public:
    explicit namespace_changes(state const& s) noexcept : s_(s) {}

    /// Adds `count` and `links` (each -1, 0 or +1) to `ns`'s entry of `d`: the size joins
    /// the total when the entry appears and leaves it when the entry goes.
    result<void> change(std::string_view ns, pier::digest const& d, int count, int links) {
      auto key = std::pair(std::string(ns), d);
      auto it = entries_.find(key);
      if (it == entries_.end()) {
        result<namespace_blob> e = s_.namespace_entry(ns, d);
        if (!e)
          return e.error();
        it = entries_.emplace(std::move(key), *e).first;
      }
      result<std::uint64_t*> const total = total_of(ns);
      if (!total)
        return total.error();
      namespace_blob& e = it->second;
      bool const was_empty = e.empty();
      e.count = detail::stepped(e.count, count);
      e.links = detail::stepped(e.links, links);
      if (was_empty && !e.empty()) {
        result<std::optional<std::uint64_t>> const size = s_.meta_number(detail::size_key(d));
        if (!size)
          return size.error();
        e.size = size->value_or(0); // unknown (never charged): counts 0 until it goes
        **total += e.size;
        added_[std::string(ns)] += e.size;
      } else if (!was_empty && e.empty()) {
        **total -= std::min(**total, e.size);
      }
      return {};
    }

    /// `quota_exceeded` when the changes added bytes to `ns` and its total is now over the
    /// namespace's own quota, or the default quota when it has none.
    result<void> check_quota(std::string_view ns) const {
      auto const added = added_.find(ns);
      if (added == added_.end() || added->second == 0)
        return {};
      result<std::optional<std::uint64_t>> const quota = s_.meta_number(detail::quota_key(ns));
      if (!quota)
        return quota.error();
      std::uint64_t const fallback = s_.default_quota.load(std::memory_order_relaxed);
      std::optional<std::uint64_t> const limit =
          *quota ? *quota : (fallback == ~std::uint64_t{0} ? std::nullopt : std::optional(fallback));
      if (limit && totals_.at(std::string(ns)) > *limit)
        return storage_error::quota_exceeded;
      return {};
    }

    void write(kv_batch& b) const {
      for (auto const& [key, e] : entries_)
        s_.put_namespace_blob(b, key.first, key.second, e);
      for (auto const& [ns, bytes] : totals_)
        s_.put_namespace_total(b, ns, bytes);
    }

  private:
    result<std::uint64_t*> total_of(std::string_view ns) {
      auto it = totals_.find(ns);
      if (it == totals_.end()) {
        result<std::uint64_t> const t = s_.namespace_total(ns);
        if (!t)
          return t.error();
        it = totals_.emplace(std::string(ns), *t).first;
      }
      return &it->second;
    }

    state const& s_;
    std::map<std::pair<std::string, pier::digest>, namespace_blob> entries_;
    std::map<std::string, std::uint64_t, std::less<>> totals_;
    std::map<std::string, std::uint64_t, std::less<>> added_;
  };

  /// Adds `delta` (+1 or -1) to the namespace's counts of `blobs` (sorted, unique) as a
  /// manifest of `repository` that references them is put or deleted (like the `b`
  /// counts). A put that adds bytes beyond the namespace's quota fails with
  /// `quota_exceeded` (the caller then writes nothing).
  result<void> count_in_namespace(kv_batch& b, std::string_view repository,
                                  std::vector<pier::digest> const& blobs, int delta) const {
    std::string_view const ns = namespace_of(repository);
    if (ns.empty())
      return {};
    namespace_changes changes(*this);
    for (pier::digest const& d : blobs) {
      if (result<void> r = changes.change(ns, d, delta, 0); !r)
        return r;
    }
    if (result<void> r = changes.check_quota(ns); !r)
      return r;
    changes.write(b);
    return {};
  }

  /// Adds `delta` (+1 or -1) to the namespace's link count of `d` as `repository` links or
  /// unlinks it. A link that adds bytes beyond the namespace's quota fails with
  /// `quota_exceeded` (the caller then writes nothing).
  result<void> link_in_namespace(kv_batch& b, std::string_view repository,
                                 pier::digest const& d, int delta) const {
    std::string_view const ns = namespace_of(repository);
    if (ns.empty())
      return {};
    namespace_changes changes(*this);
    if (result<void> r = changes.change(ns, d, 0, delta); !r)
      return r;
    if (result<void> r = changes.check_quota(ns); !r)
      return r;
    changes.write(b);
    return {};
  }

  using namespace_recount =
      std::map<std::string, std::map<pier::digest, namespace_blob, std::less<>>, std::less<>>;

  /// The namespace entries recounted from the manifests the repositories hold, with the
  /// size an entry stored in `namespace_blobs` has, else the size `charge` recorded.
  result<namespace_recount> recount_namespaces() const {
    namespace_recount out;
    snapshot const snap(*driver);
    // A manifest held by several repositories is decoded once.
    std::map<std::string, std::vector<pier::digest>, std::less<>> blobs_of;
    std::error_code failed;
    result<void> r =
        scan(manifest_links, "", "", snap.options, [&](std::string_view k, std::string_view) {
          std::size_t const at = k.find('\0');
          if (at == std::string_view::npos) {
            failed = storage_error::corrupt;
            return false;
          }
          std::string_view const ns = namespace_of(k.substr(0, at));
          if (ns.empty())
            return true;
          std::string const d(k.substr(at + 1));
          auto known = blobs_of.find(d);
          if (known == blobs_of.end()) {
            result<detail::manifest_content> c = content_of(d, snap.options);
            if (!c) {
              failed = c.error();
              return false;
            }
            known = blobs_of.emplace(d, std::move(c->blobs)).first;
          }
          auto& entries = out[std::string(ns)];
          for (pier::digest const& x : known->second)
            ++entries[x].count;
          return true;
        });
    if (!r)
      return r.error();
    if (failed)
      return failed;
    // Each repository's link to a blob, whether its manifests reference it or not.
    r = scan(blob_links, "", "", snap.options, [&](std::string_view k, std::string_view) {
      std::size_t const at = k.find('\0');
      result<pier::digest> d = at == std::string_view::npos
                                   ? result<pier::digest>(storage_error::corrupt)
                                   : parse_digest(k.substr(at + 1));
      if (!d) {
        failed = storage_error::corrupt;
        return false;
      }
      std::string_view const ns = namespace_of(k.substr(0, at));
      if (!ns.empty())
        ++out[std::string(ns)][*d].links;
      return true;
    });
    if (!r)
      return r.error();
    if (failed)
      return failed;
    for (auto& [ns, entries] : out) {
      for (auto& [d, e] : entries) {
        result<namespace_blob> const stored = namespace_entry(ns, d, snap.options);
        if (!stored)
          return stored.error();
        if (!stored->empty()) {
          e.size = stored->size;
          continue;
        }
        result<std::optional<std::uint64_t>> const size = meta_number(detail::size_key(d));
        if (!size)
          return size.error();
        e.size = size->value_or(0);
      }
    }
    return out;
  }

  /// Replaces in the batch every record of `namespace_blobs` with the recount.
  result<void> rewrite_namespace_records(kv_batch& b) const {
    result<namespace_recount> const counts = recount_namespaces();
    if (!counts)
      return counts.error();
    result<void> const cleared =
        scan(namespace_blobs, "", "", {}, [&](std::string_view k, std::string_view) {
          b.erase(namespace_blobs, std::string_view(k.data(), k.size()));
          return true;
        });
    if (!cleared)
      return cleared;
    for (auto const& [ns, entries] : *counts) {
      std::uint64_t total = 0;
      for (auto const& [d, e] : entries) {
        put_namespace_blob(b, ns, d, e);
        total += e.size;
      }
      put_namespace_total(b, ns, total);
    }
    return {};
  }

  /// Layout 5's records (`namespace_blobs`: empty before layout 4, without link counts in
  /// layout 4; what a crashed or older writer may have left there must not survive) and
  /// the use counts of the links written before them, from the manifests and links, and the
  /// layout mark, in one write.
  result<void> add_namespace_records() {
    kv_batch b;
    if (result<void> r = rewrite_namespace_records(b); !r)
      return r;
    // Links written before layout 5 have no use count: count them now, from the manifests
    // (what fsck checks them against), so that none stays unknown.
    result<std::map<std::string, std::uint64_t, std::less<>>> const uses =
        recount_link_uses(kv_view{});
    if (!uses)
      return uses.error();
    result<void> const counted = scan(
        blob_links, "", "", kv_view{}, [&](std::string_view k, std::string_view v) {
          if (!v.empty())
            return true;
          auto const it = uses->find(k);
          b.put(blob_links, std::string_view(k.data(), k.size()),
                detail::encoder().u64(it == uses->end() ? 0 : it->second).take());
          return true;
        });
    if (!counted)
      return counted;
    b.put(defaults, "pier.schema", "5");
    return write_now(b);
  }

  /// Calls `f(suffix)` for the keys of `c` that start with `prefix`, in order, after
  /// `prefix + last` (all when `last` is empty), until `f` returns false.
  template <class F>
  result<void> scan(cf c, std::string const& prefix, std::string const& last, kv_view ro,
                    F f) const {
    std::string const end = detail::prefix_end(prefix);
    std::string const start = prefix + last;
    bool skip = !last.empty();
    auto visit = [&](std::string_view k, std::string_view v) -> bool {
      if (skip) {
        skip = false;
        if (k == start)
          return true;
      }
      return f(k.substr(prefix.size()), v);
    };
    return driver->scan(c, start, end, ro, kv_visitor(visit));
  }

  result<name_page> page(cf c, std::string const& prefix, std::string const& last, std::size_t n,
                         kv_view ro = {}) const {
    name_page p;
    result<void> const r = scan(c, prefix, last, ro, [&](std::string_view k, std::string_view) {
      if (p.names.size() == n) {
        p.more = true;
        return false;
      }
      p.names.emplace_back(k);
      return true;
    });
    if (!r)
      return r.error();
    return p;
  }

  /// Points `tag` at `d` in the batch, dropping the tag's old index entry.
  result<void> set_tag(kv_batch& b, std::string const& repository,
                       std::string const& tag, digest_view d) const {
    std::string const k = detail::key(repository, tag);
    result<std::optional<std::string>> const old = get(tags, k);
    if (!old)
      return old.error();
    if (*old && **old == d.str())
      return {};
    if (*old)
      b.erase(tag_index, detail::key(repository, **old, tag));
    b.put(tags, k, std::string_view(d.str().data(), d.str().size()));
    b.put(tag_index, detail::key(repository, d.str(), tag),
          detail::encoder().u64(detail::time_bits(std::chrono::system_clock::now())).take());
    return {};
  }

  /// `missing` unless `c` holds key `k`.
  result<void> require(cf c, std::string const& k, storage_error missing,
                       kv_view ro = {}) const {
    result<bool> const there = contains(c, k, ro);
    if (!there)
      return there.error();
    if (!*there)
      return missing;
    return {};
  }

  /// The record under key `k` of `c`, made by `decode(k, value)`; `missing` when there is
  /// none.
  template <class Decode>
  auto get_record(cf c, std::string const& k, storage_error missing, Decode decode) const
      -> decltype(decode(std::string_view(), std::string_view())) {
    result<std::optional<std::string>> const v = get(c, k);
    if (!v)
      return v.error();
    if (!*v)
      return missing;
    return decode(k, **v);
  }

  /// `name_taken` when a user or an organisation has the name.
  result<void> name_free(std::string const& name) const {
    for (cf const c : {users, orgs}) {
      result<bool> const taken = contains(c, name);
      if (!taken)
        return taken.error();
      if (*taken)
        return storage_error::name_taken;
    }
    return {};
  }

  /// Whether anything but a user or organisation claims namespace `ns` (see `org_claim`):
  /// a reservation, a quota, a repository or a visibility record under `ns/`.
  result<bool> namespace_claimed(std::string const& ns) const {
    result<bool> claimed = contains(defaults, detail::reserved_key(ns));
    if (!claimed || *claimed)
      return claimed;
    result<std::optional<std::uint64_t>> const quota = meta_number(detail::quota_key(ns));
    if (!quota)
      return quota.error();
    if (*quota)
      return true;
    for (cf const c : {repositories, visibility}) {
      claimed = any_under(c, ns + '/', {});
      if (!claimed || *claimed)
        return claimed;
    }
    return false;
  }

  /// How many repositories under `ns/` hold a manifest or a linked blob.
  result<std::uint64_t> held_repositories(std::string const& ns) const {
    std::uint64_t n = 0;
    std::error_code failed;
    result<void> const r =
        scan(repositories, ns + '/', "", {}, [&](std::string_view name, std::string_view) {
          std::string const prefix = ns + '/' + std::string(name) + '\0';
          for (cf const c : {manifest_links, blob_links}) {
            result<bool> const any = any_under(c, prefix, {});
            if (!any) {
              failed = any.error();
              return false;
            }
            if (*any) {
              ++n;
              break;
            }
          }
          return true;
        });
    if (!r)
      return r.error();
    if (failed)
      return failed;
    return n;
  }

  /// Whether some key of `c` under `prefix` other than `prefix + except` has a value for
  /// which `pick(value)` is true; what does not decode is `corrupt`.
  template <class Pick>
  result<bool> any_other(cf c, std::string const& prefix, std::string_view except,
                         Pick pick) const {
    bool found = false;
    std::error_code failed;
    result<void> const r = scan(c, prefix, "", {}, [&](std::string_view k, std::string_view v) {
      if (k == except)
        return true;
      result<bool> const p = pick(k, v);
      if (!p)
        failed = p.error();
      found = p && *p;
      return !found && !failed;
    });
    if (!r)
      return r.error();
    if (failed)
      return failed;
    return found;
  }

  /// Whether `user` is the one admin of `org`.
  result<bool> only_admin(std::string const& org, std::string const& user) const {
    result<std::optional<std::string>> const v = get(members, detail::key(org, user));
    if (!v || !*v)
      return v ? result<bool>(false) : result<bool>(v.error());
    result<role> const r = detail::decode_role(**v);
    if (!r)
      return r.error();
    if (*r != role::admin)
      return false;
    result<bool> const other = any_other(members, detail::key(org, ""), user,
                                         [](std::string_view, std::string_view x) -> result<bool> {
                                           result<role> const o = detail::decode_role(x);
                                           if (!o)
                                             return o.error();
                                           return *o == role::admin;
                                         });
    if (!other)
      return other;
    return !*other;
  }

  /// Whether `user` is the one administrator among the users.
  result<bool> last_administrator(std::string const& user) const {
    result<user_record> const u = get_record(users, user, storage_error::user_unknown,
                                             detail::decode_user);
    if (!u || !u->admin)
      return u ? result<bool>(false) : result<bool>(u.error());
    result<bool> const other =
        any_other(users, "", user, [](std::string_view k, std::string_view v) -> result<bool> {
          result<user_record> const x = detail::decode_user(k, v);
          if (!x)
            return x.error();
          return x->admin;
        });
    if (!other)
      return other;
    return !*other;
  }

  /// Makes `user` a member of `org` with role `r` in the batch, dropping an invitation.
  void put_member(kv_batch& b, std::string const& org, std::string const& user,
                  role r) const {
    std::string const v = detail::encode_byte(r);
    b.put(members, detail::key(org, user), v);
    b.put(member_index, detail::key(user, org), v);
    b.erase(defaults, detail::invitation_key(user, org));
    b.erase(defaults, detail::invited_key(org, user));
  }

  /// Deletes in the batch the invitations of `name`, a user (`by_user`) or an organisation.
  result<void> erase_invitations(kv_batch& b, std::string const& name,
                                 bool by_user) const {
    std::string const prefix = by_user ? detail::invitation_key(name, "")
                                       : detail::invited_key(name, "");
    return scan(defaults, prefix, "", {}, [&](std::string_view other, std::string_view) {
      b.erase(defaults, prefix + std::string(other));
      b.erase(defaults, by_user ? detail::invited_key(other, name)
                               : detail::invitation_key(other, name));
      return true;
    });
  }

  /// `namespace_in_use` while repositories of the account `name` hold anything.
  result<void> deletable(std::string const& name) const {
    result<std::uint64_t> const held = held_repositories(name);
    if (!held)
      return held.error();
    if (*held > 0)
      return storage_error::namespace_in_use;
    return {};
  }

  /// `last_admin` when giving `user` role `r` in `org` (none: removing them) would leave
  /// the organisation without an admin.
  result<void> keeps_admin(std::string const& org, std::string const& user,
                           std::optional<role> r) const {
    if (r == role::admin)
      return {};
    result<bool> const only = only_admin(org, user);
    if (!only)
      return only.error();
    if (*only)
      return storage_error::last_admin;
    return {};
  }

  result<std::uint64_t> user_count() const {
    result<std::optional<std::uint64_t>> const n = meta_number(user_count_key);
    if (!n)
      return n.error();
    return n->value_or(0);
  }

  /// The 8-byte number under `key` of the default column family, if any.
  result<std::optional<std::uint64_t>> meta_number(std::string const& key) const {
    result<std::optional<std::string>> const v = get(defaults, key);
    if (!v)
      return v.error();
    if (!*v)
      return std::optional<std::uint64_t>();
    detail::decoder dec(**v);
    std::uint64_t const n = dec.u64();
    if (!dec.done())
      return storage_error::corrupt;
    return std::optional<std::uint64_t>(n);
  }

  /// Adds `delta` (+1 or -1) to the user count in the batch.
  result<void> add_user_count(kv_batch& b, int delta) const {
    result<std::uint64_t> const n = user_count();
    if (!n)
      return n.error();
    b.put(defaults, user_count_key,
          detail::encoder().u64(detail::stepped(*n, delta)).take());
    return {};
  }

  /// Up to `n` entries of `c` under `prefix` after `last`, each made by `decode(suffix,
  /// value)` (a `result<T>`); the first entry that does not decode fails the whole page.
  template <class T, class Decode>
  result<storage::page<T>> decoded_page(cf c, std::string const& prefix, std::string const& last,
                                        std::size_t n, kv_view ro,
                                        Decode decode) const {
    storage::page<T> p;
    std::error_code bad;
    result<void> const r = scan(c, prefix, last, ro, [&](std::string_view k, std::string_view v) {
      if (p.items.size() == n) {
        p.more = true;
        return false;
      }
      result<T> x = decode(k, v);
      if (!x) {
        bad = x.error();
        return false;
      }
      p.items.push_back(std::move(*x));
      return true;
    });
    if (!r)
      return r.error();
    if (bad)
      return bad;
    return p;
  }

  /// Deletes in the batch the entries of the two-way index `forward` (`key \0 other`) and
  /// their mirrors in `backward` (`other \0 key`): a user's or an organisation's
  /// memberships.
  result<void> erase_pairs(kv_batch& b, cf forward, cf backward,
                           std::string const& key) const {
    std::string const prefix = detail::key(key, "");
    return scan(forward, prefix, "", {}, [&](std::string_view other, std::string_view) {
      b.erase(forward, prefix + std::string(other));
      b.erase(backward, detail::key(other, key));
      return true;
    });
  }

  /// The memberships of `key` from the index `c` (`key \0 other` → role; `members` when
  /// `key` is an organisation, `member_index` when a user), after checking in the same
  /// snapshot that `owner` holds `key` (`missing` otherwise).
  result<std::vector<membership>> memberships_of(cf owner, storage_error missing, cf c,
                                                 std::string const& key) const {
    snapshot const snap(*driver);
    if (result<void> r = require(owner, key, missing, snap.options); !r)
      return r.error();
    bool const by_org = c == members;
    auto p = decoded_page<membership>(
        c, detail::key(key, ""), "", std::numeric_limits<std::size_t>::max(), snap.options,
        [&](std::string_view other, std::string_view v) -> result<membership> {
          result<role> const r = detail::decode_role(v);
          if (!r)
            return r.error();
          std::string o(other);
          return by_org ? membership{key, std::move(o), *r} : membership{std::move(o), key, *r};
        });
    if (!p)
      return p.error();
    return std::move(p->items);
  }

  // --- CollectableStore ------------------------------------------------------------

  /// Whether `c` has a key `prefix + x` with `x` other than `except`.
  result<bool> any_under(cf c, std::string const& prefix, std::string_view except) const {
    bool found = false;
    result<void> const r = scan(c, prefix, "", {}, [&](std::string_view k, std::string_view) {
      found = k != except;
      return !found;
    });
    if (!r)
      return r.error();
    return found;
  }

  /// Whether `repository` holds `d` and, as committed, `d` has no tag there (but
  /// `except_tag`, which the batch being built removes) and no referrer and no parent
  /// index there (but `except_manifest`, which the batch deletes).
  result<bool> is_orphan(std::string const& repository, digest_view d,
                         std::string_view except_tag = {},
                         std::string_view except_manifest = {}) const {
    std::string const link = detail::key(repository, d.str());
    result<bool> const held = contains(manifest_links, link);
    if (!held || !*held)
      return held;
    std::string const prefix = link + '\0';
    for (auto const& [c, except] :
         {std::pair(tag_index, except_tag), std::pair(referrers, except_manifest),
          std::pair(manifest_parents, except_manifest)}) {
      result<bool> const any = any_under(c, prefix, except);
      if (!any || *any)
        return any ? result<bool>(false) : any;
    }
    return true;
  }

  /// Records in the batch that `d` is untagged in `repository` since `now`, when it is an
  /// orphan there (see `is_orphan`) and not recorded already (the first time counts).
  result<void> note_untagged(kv_batch& b, std::string const& repository, digest_view d,
                             std::chrono::system_clock::time_point now,
                             std::string_view except_tag = {},
                             std::string_view except_manifest = {}) const {
    result<bool> const orphan = is_orphan(repository, d, except_tag, except_manifest);
    if (!orphan)
      return orphan.error();
    std::string const link = detail::key(repository, d.str());
    result<bool> const recorded = contains(untagged_index, link);
    if (!recorded)
      return recorded.error();
    if (!*orphan || *recorded)
      return {};
    std::string const since = detail::big_endian(detail::time_bits(now));
    b.put(untagged, since + link, std::string_view());
    b.put(untagged_index, link, since);
    return {};
  }

  /// Forgets in the batch that `d` is untagged in `repository`.
  result<void> clear_untagged(kv_batch& b, std::string const& repository,
                              digest_view d) const {
    std::string const link = detail::key(repository, d.str());
    result<std::optional<std::string>> const since = get(untagged_index, link);
    if (!since)
      return since.error();
    if (*since) {
      b.erase(untagged, **since + link);
      b.erase(untagged_index, link);
    }
    return {};
  }

  /// `set_tag`, and the untagged records it changes: `d` is tagged, the manifest the tag
  /// left may be untagged, unless it is in `adopted` (children and subject of the manifest
  /// the batch stores).
  result<void> point_tag(kv_batch& b, std::string const& repository,
                         std::string const& tag, digest_view d,
                         std::vector<pier::digest> const& adopted = {}) const {
    result<std::optional<std::string>> const old = get(tags, detail::key(repository, tag));
    if (!old)
      return old.error();
    if (result<void> r = set_tag(b, repository, tag, d); !r)
      return r;
    if (result<void> r = clear_untagged(b, repository, d); !r)
      return r;
    if (!*old || **old == d.str())
      return {};
    result<pier::digest> const left = parse_digest(**old);
    if (!left)
      return storage_error::corrupt;
    if (std::find(adopted.begin(), adopted.end(), *left) != adopted.end())
      return {};
    return note_untagged(b, repository, *left, std::chrono::system_clock::now(), tag);
  }

  /// Deletes in the batch manifest `d` of `repository` (which holds it) with its tags, its
  /// untagged record and the counts of what it references; children and a subject it leaves
  /// orphans are untagged from `now`.
  result<void> erase_manifest(kv_batch& b, std::string const& repository,
                              pier::digest const& d,
                              std::chrono::system_clock::time_point now) const {
    state const& s = *this;
    std::string const link = detail::key(repository, d.str());
    b.erase(state::manifest_links, link);

    result<void> const untagged =
        s.scan(state::tag_index, link + '\0', "", {}, [&](std::string_view tag, std::string_view) {
          b.erase(state::tags, detail::key(repository, tag));
          b.erase(state::tag_index, detail::key(repository, d.str(), tag));
          return true;
        });
    if (!untagged)
      return untagged;

    result<detail::manifest_content> const c = s.content_of(d.str());
    if (!c)
      return c.error();
    if (result<void> r = s.add_counts(b, 'b', c->blobs, -1); !r)
      return r;
    if (result<void> r = s.add_uses(b, repository, c->blobs, -1); !r)
      return r;
    if (result<void> r = s.count_in_namespace(b, repository, c->blobs, -1); !r)
      return r;
    if (result<void> r = s.add_counts(b, 'm', c->manifests, -1); !r)
      return r;
    if (c->subject)
      b.erase(state::referrers, detail::key(repository, c->subject->subject.str(), d.str()));
    result<std::uint64_t> const holders = s.count('r', d);
    if (!holders)
      return holders.error();
    if (*holders <= 1)
      b.erase(state::manifests, d.str()); // no repository holds it any more
    s.put_count(b, 'r', d, *holders > 0 ? *holders - 1 : 0);

    if (result<void> r = clear_untagged(b, repository, d); !r)
      return r;
    for (pier::digest const& x : c->manifests) {
      b.erase(manifest_parents, detail::key(repository, x.str(), d.str()));
      if (result<void> r = note_untagged(b, repository, x, now, {}, d.str()); !r)
        return r;
    }
    // A subject that loses its last referrer here, with no tag or parent, is untagged too.
    if (c->subject)
      return note_untagged(b, repository, c->subject->subject, now, {}, d.str());
    return {};
  }

  /// The records an older layout lacks, from those it has: blob last uses (now) and
  /// reverse links from `blob_links` and the blob counts, parents from the manifests each
  /// repository holds; and the layout mark, in one write. Untagged records cannot be
  /// recovered: manifests untagged before the upgrade stay until deleted.
  result<void> add_gc_records(std::chrono::system_clock::time_point now) {
    kv_batch b;
    std::string const bits = detail::encoder().u64(detail::time_bits(now)).take();
    bool bad = false;
    auto const split = [&](std::string_view k) {
      std::size_t const at = k.find('\0');
      bad = bad || at == std::string_view::npos;
      return at == std::string_view::npos ? std::pair(k, k)
                                          : std::pair(k.substr(0, at), k.substr(at + 1));
    };
    result<void> r = scan(blob_links, "", "", {}, [&](std::string_view k, std::string_view) {
      auto const [repository, d] = split(k);
      b.put(blob_repos, detail::key(d, repository), std::string_view());
      b.put(blob_times, std::string_view(d.data(), d.size()), bits);
      return true;
    });
    if (r)
      r = scan(refcounts, "b", "", {}, [&](std::string_view d, std::string_view) {
        b.put(blob_times, std::string_view(d.data(), d.size()), bits);
        return true;
      });
    std::error_code failed;
    if (r)
      r = scan(manifest_links, "", "", {}, [&](std::string_view k, std::string_view) {
        auto const [repository, d] = split(k);
        result<detail::manifest_content> const c = content_of(std::string(d));
        if (!c) {
          failed = c.error();
          return false;
        }
        for (pier::digest const& x : c->manifests)
          b.put(manifest_parents, detail::key(repository, x.str(), d), std::string_view());
        return true;
      });
    if (!r)
      return r;
    if (failed)
      return failed;
    if (bad)
      return storage_error::corrupt;
    b.put(defaults, "pier.schema", "3");
    return write_now(b);
  }

  /// Runs `build` under the write lock (on the store's threads for a blocking driver),
  /// then writes the batch it filled in one write and, unless `durable` is false, waits
  /// for a sync that covers it (`synced`); nothing is written when `build` fails. A write
  /// that is not durable still survives a crash of the process, and the next sync makes
  /// it durable with the others.
  template <class F>
  asio::awaitable<result<void>> write(F build, bool durable = true) {
    auto run = [&]() -> result<void> {
      std::uint64_t ticket = 0;
      {
        std::lock_guard const lock(write_mutex);
        kv_batch batch;
        if (result<void> r = build(batch); !r)
          return r;
        if (batch.empty())
          return {};
        if (result<void> r = driver->write(batch, false); !r)
          return r;
        std::lock_guard const count(sync_mutex);
        ticket = ++written;
      }
      if (!sync || !durable)
        return {};
      return synced(ticket);
    };
    if (pool)
      co_return co_await storage::offload(*pool, run);
    co_return run();
  }

  /// Returns once a sync that started after write number `ticket` has ended (group
  /// commit): the first writer to find no sync running starts one for every write so far,
  /// the others wait for it, and for the next one when it started before their write.
  result<void> synced(std::uint64_t ticket) {
    std::unique_lock lock(sync_mutex);
    for (;;) {
      if (covered >= ticket)
        return {};
      if (syncing) {
        sync_done.wait(lock);
        continue;
      }
      syncing = true;
      std::uint64_t const target = written;
      lock.unlock();
      result<void> const r = driver->sync();
      lock.lock();
      syncing = false;
      if (r)
        covered = std::max(covered, target);
      sync_done.notify_all();
      if (!r)
        return r; // the waiters try a sync of their own
    }
  }

  /// Writes `b` at once (opening: no operation runs yet).
  result<void> write_now(kv_batch const& b) { return driver->write(b, true); }
};

inline kv_metadata_store::kv_metadata_store(std::unique_ptr<state> s) noexcept
    : s_(std::move(s)) {}
inline kv_metadata_store::kv_metadata_store(kv_metadata_store&&) noexcept = default;
inline kv_metadata_store& kv_metadata_store::operator=(kv_metadata_store&&) noexcept = default;
inline kv_metadata_store::~kv_metadata_store() = default;

inline kv_driver& kv_metadata_store::driver() const noexcept { return *s_->driver; }

inline result<kv_metadata_store> kv_metadata_store::open(std::shared_ptr<kv_driver> driver,
                                                         kv_options options) {
  auto s = std::make_unique<state>(std::move(driver), options);
  // The layout is version 5. Version 1 had no account tables, version 2 none for garbage
  // collection, version 3 no `namespace_blobs` (they read as empty); version 4 counted no
  // links in `namespace_blobs`. `add_gc_records` fills what GC needs from the records
  // there are (nothing in a new database), then `add_namespace_records` the namespace
  // counts, each in one write that also moves the layout mark (a crash between the two
  // leaves version 3, upgraded again at the next open). A later layout refuses to be opened
  // by this code.
  result<std::optional<std::string>> const version = s->get(kv_table::meta, "pier.schema");
  if (!version)
    return version.error();
  std::string const v = version->value_or("");
  bool const before_gc = v.empty() || v == "1" || v == "2";
  if (!before_gc && v != "3" && v != "4" && v != "5")
    return storage_error::corrupt;
  if (before_gc) {
    if (result<void> r = s->add_gc_records(std::chrono::system_clock::now()); !r)
      return r.error();
  }
  if (v != "5") {
    if (result<void> r = s->add_namespace_records(); !r)
      return r.error();
  }
  return kv_metadata_store(std::move(s));
}

inline asio::awaitable<result<bool>>
kv_metadata_store::repository_exists(std::string repository) {
  co_return s_->contains(state::repositories, repository);
}

inline asio::awaitable<result<name_page>> kv_metadata_store::catalog(std::string last,
                                                                          std::size_t n) {
  co_return s_->page(state::repositories, "", last, n);
}

inline asio::awaitable<result<void>> kv_metadata_store::link_blob(std::string repository,
                                                                       pier::digest d) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    b.put(state::repositories, repository, std::string_view());
    // A new link starts with no manifest using it; an existing one keeps its count.
    std::string const link = detail::key(repository, d.str());
    result<bool> const linked = s_->contains(state::blob_links, link);
    if (!linked)
      return linked.error();
    if (!*linked) {
      b.put(state::blob_links, link, detail::encoder().u64(0).take());
      // QuotaStore: a new link counts in its namespace, within the namespace's quota.
      if (result<void> r = s_->link_in_namespace(b, repository, d, +1); !r)
        return r;
    }
    // CollectableStore: the reverse link and the last use.
    b.put(state::blob_repos, detail::key(d.str(), repository), std::string_view());
    b.put(state::blob_times, d.str(),
          detail::encoder().u64(detail::time_bits(std::chrono::system_clock::now())).take());
    return {};
  });
}

inline asio::awaitable<result<void>> kv_metadata_store::unlink_blob(std::string repository,
                                                                         pier::digest d) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    std::string const k = detail::key(repository, d.str());
    result<bool> const linked = s_->contains(state::blob_links, k);
    if (!linked)
      return linked.error();
    if (!*linked)
      return storage_error::blob_unknown;
    b.erase(state::blob_links, k);
    b.erase(state::blob_repos, detail::key(d.str(), repository)); // CollectableStore
    return s_->link_in_namespace(b, repository, d, -1);                   // QuotaStore
  });
}

inline asio::awaitable<result<blob_unlink>>
kv_metadata_store::unlink_unreferenced_blob(std::string repository, pier::digest d) {
  // Under the write lock, as put_manifest and erase_manifest: the count read here is the
  // one every manifest commit before it left, and none commits until the unlink has.
  blob_unlink out;
  result<void> const done = co_await s_->write([&](kv_batch& b) -> result<void> {
    state const& s = *s_;
    std::string const k = detail::key(repository, d.str());
    result<std::optional<std::string>> const v = s.get(state::blob_links, k);
    if (!v)
      return v.error();
    if (!*v)
      return storage_error::blob_unknown;
    std::optional<std::uint64_t> uses; // unknown for a link older than the counts
    if (!(*v)->empty()) {
      detail::decoder dec(**v);
      uses = dec.u64();
      if (!dec.done())
        return storage_error::corrupt;
    }
    if (uses != std::uint64_t{0}) {
      // Which manifest: one read per manifest of the repository, at most `naming_limit`
      // when the count already decided; all of them when only they can decide.
      constexpr std::size_t naming_limit = 1000;
      std::size_t read = 0;
      std::optional<std::error_code> failure;
      result<void> const scanned = s.scan(
          state::manifest_links, detail::key(repository, ""), "", {},
          [&](std::string_view m, std::string_view) {
            if (uses && read++ == naming_limit)
              return false;
            result<detail::manifest_content> const c = s.content_of(std::string(m));
            if (!c) {
              failure = c.error();
              return false;
            }
            if (std::binary_search(c->blobs.begin(), c->blobs.end(), d)) {
              result<pier::digest> found = parse_digest(m);
              if (found)
                out.referenced_by = std::move(*found);
              return !found; // a key that is not a digest is a bad record: read on
            }
            return true;
          });
      if (!scanned)
        return scanned;
      if (failure)
        return *failure;
      if (uses || out.referenced_by)
        return {};
    }
    b.erase(state::blob_links, k);
    b.erase(state::blob_repos, detail::key(d.str(), repository)); // CollectableStore
    out.unlinked = true;
    return s.link_in_namespace(b, repository, d, -1); // QuotaStore
  });
  if (!done)
    co_return done.error();
  co_return out;
}

inline asio::awaitable<result<bool>> kv_metadata_store::is_linked(std::string repository,
                                                                       pier::digest d) {
  co_return s_->contains(state::blob_links, detail::key(repository, d.str()));
}

inline asio::awaitable<result<void>> kv_metadata_store::put_manifest(std::string repository,
                                                                          manifest_put m) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    state const& s = *s_;
    for (pier::digest const& x : m.blobs) {
      result<bool> const ok = s.contains(state::blob_links, detail::key(repository, x.str()));
      if (!ok)
        return ok.error();
      if (!*ok)
        return storage_error::manifest_blob_unknown;
    }
    for (pier::digest const& x : m.manifests) {
      result<bool> const ok = s.contains(state::manifest_links, detail::key(repository, x.str()));
      if (!ok)
        return ok.error();
      if (!*ok)
        return storage_error::manifest_blob_unknown;
    }

    b.put(state::repositories, repository, std::string_view());
    std::string const link = detail::key(repository, m.digest.str());
    result<bool> const held = s.contains(state::manifest_links, link);
    if (!held)
      return held.error();
    std::vector<pier::digest> adopted; // CollectableStore: children and subject
    if (!*held) {
      b.put(state::manifest_links, link, std::string_view());
      result<std::uint64_t> const holders = s.count('r', m.digest);
      if (!holders)
        return holders.error();
      detail::manifest_content c;
      if (*holders == 0) {
        c = {std::move(m.media_type), std::move(m.bytes), detail::sorted_unique(std::move(m.blobs)),
             detail::sorted_unique(std::move(m.manifests)), std::move(m.subject)};
        b.put(state::manifests, m.digest.str(), detail::encode(c));
      } else {
        // Stored for another repository: count what that record says it references.
        result<detail::manifest_content> stored = s.content_of(m.digest.str());
        if (!stored)
          return stored.error();
        c = std::move(*stored);
      }
      // First, since it may refuse the manifest: the batch is then dropped.
      if (result<void> r = s.count_in_namespace(b, repository, c.blobs, +1); !r)
        return r;
      s.put_count(b, 'r', m.digest, *holders + 1);
      if (result<void> r = s.add_counts(b, 'b', c.blobs, +1); !r)
        return r;
      if (result<void> r = s.add_uses(b, repository, c.blobs, +1); !r)
        return r;
      if (result<void> r = s.add_counts(b, 'm', c.manifests, +1); !r)
        return r;
      if (c.subject) {
        b.put(state::referrers, detail::key(repository, c.subject->subject.str(), m.digest.str()),
              detail::encoder()
                  .str(c.media_type)
                  .u64(c.bytes.size())
                  .str(c.subject->artifact_type)
                  .annotations(c.subject->annotations)
                  .take());
      }
      // CollectableStore: a parent or a referrer adopts what was untagged.
      adopted = c.manifests;
      if (c.subject)
        adopted.push_back(c.subject->subject);
      for (pier::digest const& x : c.manifests)
        b.put(state::manifest_parents, detail::key(repository, x.str(), m.digest.str()),
              std::string_view());
      for (pier::digest const& x : adopted) {
        if (result<void> r = s.clear_untagged(b, repository, x); !r)
          return r;
      }
    }
    if (m.tag)
      return s.point_tag(b, repository, *m.tag, m.digest, adopted);
    return {};
  });
}

inline asio::awaitable<result<manifest_record>>
kv_metadata_store::get_manifest(std::string repository, pier::digest d) {
  state::snapshot const snap(*s_->driver);
  result<bool> const exists = s_->contains(state::repositories, repository, snap.options);
  if (!exists)
    co_return exists.error();
  if (!*exists)
    co_return storage_error::name_unknown;
  result<bool> const held =
      s_->contains(state::manifest_links, detail::key(repository, d.str()), snap.options);
  if (!held)
    co_return held.error();
  if (!*held)
    co_return storage_error::manifest_unknown;
  result<std::optional<std::string>> const v = s_->get(state::manifests, d.str(), snap.options);
  if (!v)
    co_return v.error();
  if (!*v)
    co_return storage_error::corrupt;
  result<detail::manifest_content> c = detail::decode_content(**v);
  if (!c)
    co_return c.error();
  co_return manifest_record{std::move(d), std::move(c->media_type), std::move(c->bytes)};
}

inline asio::awaitable<result<void>> kv_metadata_store::delete_manifest(std::string repository,
                                                                             pier::digest d) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    state const& s = *s_;
    result<bool> const exists = s.contains(state::repositories, repository);
    if (!exists)
      return exists.error();
    if (!*exists)
      return storage_error::name_unknown;
    std::string const link = detail::key(repository, d.str());
    result<bool> const held = s.contains(state::manifest_links, link);
    if (!held)
      return held.error();
    if (!*held)
      return storage_error::manifest_unknown;
    return s.erase_manifest(b, repository, d, std::chrono::system_clock::now());
  });
}

inline asio::awaitable<result<pier::digest>>
kv_metadata_store::resolve_tag(std::string repository, std::string tag) {
  state::snapshot const snap(*s_->driver);
  result<bool> const exists = s_->contains(state::repositories, repository, snap.options);
  if (!exists)
    co_return exists.error();
  if (!*exists)
    co_return storage_error::name_unknown;
  result<std::optional<std::string>> const v =
      s_->get(state::tags, detail::key(repository, tag), snap.options);
  if (!v)
    co_return v.error();
  if (!*v)
    co_return storage_error::tag_unknown;
  result<pier::digest> d = parse_digest(**v);
  if (!d)
    co_return storage_error::corrupt;
  co_return std::move(*d);
}

inline asio::awaitable<result<void>>
kv_metadata_store::set_tag(std::string repository, std::string tag, pier::digest d) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    result<bool> const exists = s_->contains(state::repositories, repository);
    if (!exists)
      return exists.error();
    if (!*exists)
      return storage_error::name_unknown;
    result<bool> const held = s_->contains(state::manifest_links, detail::key(repository, d.str()));
    if (!held)
      return held.error();
    if (!*held)
      return storage_error::manifest_unknown;
    return s_->point_tag(b, repository, tag, d);
  });
}

inline asio::awaitable<result<void>> kv_metadata_store::delete_tag(std::string repository,
                                                                        std::string tag) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    result<bool> const exists = s_->contains(state::repositories, repository);
    if (!exists)
      return exists.error();
    if (!*exists)
      return storage_error::name_unknown;
    std::string const k = detail::key(repository, tag);
    result<std::optional<std::string>> const v = s_->get(state::tags, k);
    if (!v)
      return v.error();
    if (!*v)
      return storage_error::tag_unknown;
    b.erase(state::tags, k);
    b.erase(state::tag_index, detail::key(repository, **v, tag));
    result<pier::digest> const left = parse_digest(**v);
    if (!left)
      return storage_error::corrupt;
    return s_->note_untagged(b, repository, *left, std::chrono::system_clock::now(), tag);
  });
}

inline asio::awaitable<result<name_page>>
kv_metadata_store::list_tags(std::string repository, std::string last, std::size_t n) {
  state::snapshot const snap(*s_->driver);
  result<bool> const exists = s_->contains(state::repositories, repository, snap.options);
  if (!exists)
    co_return exists.error();
  if (!*exists)
    co_return storage_error::name_unknown;
  co_return s_->page(state::tags, repository + '\0', last, n, snap.options);
}

inline asio::awaitable<result<std::vector<referrer>>>
kv_metadata_store::referrers(std::string repository, pier::digest subject) {
  std::vector<referrer> out;
  bool corrupt = false;
  result<void> const r = s_->scan(state::referrers, detail::key(repository, subject.str()) + '\0',
                                  "", {}, [&](std::string_view k, std::string_view v) {
                                    result<pier::digest> d = parse_digest(k);
                                    detail::decoder dec(v);
                                    referrer e;
                                    e.media_type = dec.str();
                                    e.size = dec.u64();
                                    e.artifact_type = dec.str();
                                    e.annotations = dec.annotations();
                                    if (!d || !dec.done()) {
                                      corrupt = true;
                                      return false;
                                    }
                                    e.digest = std::move(*d);
                                    out.push_back(std::move(e));
                                    return true;
                                  });
  if (!r)
    co_return r.error();
  if (corrupt)
    co_return storage_error::corrupt;
  co_return out;
}

inline asio::awaitable<result<std::uint64_t>>
kv_metadata_store::blob_refcount(pier::digest d) {
  co_return s_->count('b', d);
}

inline asio::awaitable<result<std::uint64_t>>
kv_metadata_store::manifest_refcount(pier::digest d) {
  co_return s_->count('m', d);
}

namespace detail {

inline result<upload_session> decode_upload(upload_id id, std::string_view v) {
  decoder d(v);
  upload_session u;
  u.id = std::move(id);
  u.repository = d.str();
  u.created = time_from_bits(d.u64());
  if (!d.done())
    return storage_error::corrupt;
  return u;
}

} // namespace detail

// Upload sessions are written without sync: the bytes of an upload are not fsynced before
// its commit either, so a session that outlived a power loss could point at lost bytes. A
// lost session costs the client a new upload; a deleted one that comes back names a file
// that is gone (`upload_unknown`) and expires. The commit's `link_blob` is a sync write
// and makes every earlier write durable too.
inline asio::awaitable<result<void>> kv_metadata_store::create_upload(upload_session u) {
  auto const build = [&](kv_batch& b) -> result<void> {
    result<std::optional<std::string>> const old = s_->get(state::uploads, u.id);
    if (!old)
      return old.error();
    if (*old) {
      result<upload_session> const o = detail::decode_upload(u.id, **old);
      if (!o)
        return o.error();
      b.erase(state::upload_times, detail::big_endian(detail::time_bits(o->created)) + u.id);
    }
    std::uint64_t const bits = detail::time_bits(u.created);
    b.put(state::uploads, u.id, detail::encoder().str(u.repository).u64(bits).take());
    b.put(state::upload_times, detail::big_endian(bits) + u.id, u.repository);
    return {};
  };
  co_return co_await s_->write(build, /*durable=*/false);
}

inline asio::awaitable<result<upload_session>> kv_metadata_store::get_upload(upload_id id) {
  result<std::optional<std::string>> const v = s_->get(state::uploads, id);
  if (!v)
    co_return v.error();
  if (!*v)
    co_return storage_error::upload_unknown;
  co_return detail::decode_upload(std::move(id), **v);
}

inline asio::awaitable<result<void>> kv_metadata_store::delete_upload(upload_id id) {
  auto const build = [&](kv_batch& b) -> result<void> {
    result<std::optional<std::string>> const v = s_->get(state::uploads, id);
    if (!v)
      return v.error();
    if (!*v)
      return storage_error::upload_unknown;
    result<upload_session> const u = detail::decode_upload(id, **v);
    if (!u)
      return u.error();
    b.erase(state::uploads, id);
    b.erase(state::upload_times, detail::big_endian(detail::time_bits(u->created)) + id);
    return {};
  };
  co_return co_await s_->write(build, /*durable=*/false);
}

inline asio::awaitable<result<std::vector<upload_session>>>
kv_metadata_store::expired_uploads(std::chrono::system_clock::time_point before,
                                        std::size_t n) {
  std::vector<upload_session> out;
  std::string const end = detail::big_endian(detail::time_bits(before));
  bool bad = false;
  // Keys of sessions created strictly before `before`.
  auto visit = [&](std::string_view k, std::string_view v) {
    if (out.size() == n)
      return false;
    if (k.size() < 8) {
      bad = true;
      return false;
    }
    out.push_back({std::string(k.substr(8)), std::string(v),
                   detail::time_from_bits(detail::from_big_endian(k))});
    return true;
  };
  if (result<void> r = s_->driver->scan(state::upload_times, "", end, {}, kv_visitor(visit)); !r)
    co_return r.error();
  if (bad)
    co_return storage_error::corrupt;
  co_return out;
}

// --- accounts ---------------------------------------------------------------------------

inline asio::awaitable<result<void>> kv_metadata_store::create_user(user_record u) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    if (result<void> r = s_->name_free(u.name); !r)
      return r;
    b.put(state::users, u.name, detail::encode(u));
    return s_->add_user_count(b, +1);
  });
}

inline asio::awaitable<result<void>> kv_metadata_store::update_user(user_record u) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    if (result<void> r = s_->require(state::users, u.name, storage_error::user_unknown); !r)
      return r;
    if (!u.admin) {
      result<bool> const last = s_->last_administrator(u.name);
      if (!last)
        return last.error();
      if (*last)
        return storage_error::last_admin;
    }
    b.put(state::users, u.name, detail::encode(u));
    return {};
  });
}

inline asio::awaitable<result<user_record>> kv_metadata_store::get_user(std::string name) {
  co_return s_->get_record(state::users, name, storage_error::user_unknown, detail::decode_user);
}

inline asio::awaitable<result<void>> kv_metadata_store::delete_user(std::string name) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    state const& s = *s_;
    if (result<void> r = s.require(state::users, name, storage_error::user_unknown); !r)
      return r;
    if (result<void> r = s.deletable(name); !r)
      return r;
    result<bool> last = s.last_administrator(name);
    if (last && !*last)
      last = s.any_other(state::member_index, detail::key(name, ""), {},
                         [&](std::string_view org, std::string_view) {
                           return s.only_admin(std::string(org), name);
                         });
    if (!last)
      return last.error();
    if (*last)
      return storage_error::last_admin;
    if (result<void> r = s.erase_pairs(b, state::member_index, state::members, name); !r)
      return r;
    if (result<void> r = s.erase_invitations(b, name, true); !r)
      return r;
    b.erase(state::defaults, detail::orgs_created_key(name));
    b.put(state::defaults, detail::reserved_key(name), std::string_view());
    std::string const prefix = detail::key(name, "");
    result<void> const tokens =
        s.scan(state::token_index, prefix, "", {}, [&](std::string_view id, std::string_view) {
          b.erase(state::token_index, prefix + std::string(id));
          b.erase(state::tokens, std::string_view(id.data(), id.size()));
          return true;
        });
    if (!tokens)
      return tokens;
    b.erase(state::users, name);
    return s.add_user_count(b, -1);
  });
}

inline asio::awaitable<result<page<user_record>>>
kv_metadata_store::list_users(std::string last, std::size_t n) {
  co_return s_->decoded_page<user_record>(state::users, "", last, n, {}, detail::decode_user);
}

inline asio::awaitable<result<std::uint64_t>> kv_metadata_store::user_count() {
  co_return s_->user_count();
}

inline asio::awaitable<result<void>> kv_metadata_store::create_org(org_record o,
                                                                        org_claim c) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    state const& s = *s_;
    std::string const made_key = detail::orgs_created_key(c.creator);
    result<std::optional<std::uint64_t>> const made = s.meta_number(made_key);
    if (!made)
      return made.error();
    if (!c.admin && c.max_orgs && made->value_or(0) >= *c.max_orgs)
      return storage_error::org_limit_reached;
    if (result<void> r = s.name_free(o.name); !r)
      return r;
    if (!c.admin) {
      result<bool> const claimed = s.namespace_claimed(o.name);
      if (!claimed)
        return claimed.error();
      if (*claimed)
        return storage_error::name_reserved;
    }
    b.put(state::orgs, o.name, detail::encode(o));
    if (c.creator.empty())
      return {};
    if (result<void> r = s.require(state::users, c.creator, storage_error::user_unknown); !r)
      return r;
    s.put_member(b, o.name, c.creator, role::admin);
    b.put(state::defaults, made_key, detail::encoder().u64(made->value_or(0) + 1).take());
    return {};
  });
}

inline asio::awaitable<result<org_record>> kv_metadata_store::get_org(std::string name) {
  co_return s_->get_record(state::orgs, name, storage_error::org_unknown, detail::decode_org);
}

inline asio::awaitable<result<void>> kv_metadata_store::delete_org(std::string name) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    if (result<void> r = s_->require(state::orgs, name, storage_error::org_unknown); !r)
      return r;
    if (result<void> r = s_->deletable(name); !r)
      return r;
    if (result<void> r = s_->erase_pairs(b, state::members, state::member_index, name); !r)
      return r;
    if (result<void> r = s_->erase_invitations(b, name, false); !r)
      return r;
    b.erase(state::orgs, name);
    b.put(state::defaults, detail::reserved_key(name), std::string_view());
    return {};
  });
}

inline asio::awaitable<result<page<org_record>>> kv_metadata_store::list_orgs(std::string last,
                                                                                   std::size_t n) {
  co_return s_->decoded_page<org_record>(state::orgs, "", last, n, {}, detail::decode_org);
}

inline asio::awaitable<result<void>> kv_metadata_store::set_member(std::string org,
                                                                        std::string user, role r) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    if (result<void> x = s_->require(state::orgs, org, storage_error::org_unknown); !x)
      return x;
    if (result<void> x = s_->require(state::users, user, storage_error::user_unknown); !x)
      return x;
    if (result<void> x = s_->keeps_admin(org, user, r); !x)
      return x;
    s_->put_member(b, org, user, r);
    return {};
  });
}

inline asio::awaitable<result<void>> kv_metadata_store::remove_member(std::string org,
                                                                           std::string user) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    if (result<void> x = s_->require(state::orgs, org, storage_error::org_unknown); !x)
      return x;
    std::string const k = detail::key(org, user);
    if (result<void> x = s_->require(state::members, k, storage_error::member_unknown); !x)
      return x;
    if (result<void> x = s_->keeps_admin(org, user, std::nullopt); !x)
      return x;
    b.erase(state::members, k);
    b.erase(state::member_index, detail::key(user, org));
    return {};
  });
}

inline asio::awaitable<result<std::vector<membership>>>
kv_metadata_store::members(std::string org) {
  co_return s_->memberships_of(state::orgs, storage_error::org_unknown, state::members, org);
}

inline asio::awaitable<result<std::vector<membership>>>
kv_metadata_store::memberships(std::string user) {
  co_return s_->memberships_of(state::users, storage_error::user_unknown, state::member_index,
                               user);
}

inline asio::awaitable<result<bool>> kv_metadata_store::invite(std::string org,
                                                                    std::string user, role r) {
  bool member = false;
  result<void> const done = co_await s_->write([&](kv_batch& b) -> result<void> {
    state const& s = *s_;
    if (result<void> x = s.require(state::orgs, org, storage_error::org_unknown); !x)
      return x;
    if (result<void> x = s.require(state::users, user, storage_error::user_unknown); !x)
      return x;
    result<bool> const is_member = s.contains(state::members, detail::key(org, user));
    if (!is_member)
      return is_member.error();
    member = *is_member;
    if (member) {
      if (result<void> x = s.keeps_admin(org, user, r); !x)
        return x;
      s.put_member(b, org, user, r);
      return {};
    }
    std::string const v = detail::encode_byte(r);
    b.put(state::defaults, detail::invitation_key(user, org), v);
    b.put(state::defaults, detail::invited_key(org, user), v);
    return {};
  });
  if (!done)
    co_return done.error();
  co_return member;
}

inline asio::awaitable<result<std::vector<membership>>>
kv_metadata_store::invitations(std::string user) {
  state const& s = *s_;
  state::snapshot const snap(*s.driver);
  if (result<void> r = s.require(state::users, user, storage_error::user_unknown, snap.options); !r)
    co_return r.error();
  auto p = s.decoded_page<membership>(
      state::defaults, detail::invitation_key(user, ""), "",
      std::numeric_limits<std::size_t>::max(), snap.options,
      [&](std::string_view org, std::string_view v) -> result<membership> {
        result<role> const r = detail::decode_role(v);
        if (!r)
          return r.error();
        return membership{std::string(org), user, *r};
      });
  if (!p)
    co_return p.error();
  co_return std::move(p->items);
}

inline asio::awaitable<result<role>> kv_metadata_store::accept_invitation(std::string org,
                                                                               std::string user) {
  role accepted = role::read;
  result<void> const done = co_await s_->write([&](kv_batch& b) -> result<void> {
    result<std::optional<std::string>> const v =
        s_->get(state::defaults, detail::invitation_key(user, org));
    if (!v)
      return v.error();
    if (!*v)
      return storage_error::invitation_unknown;
    result<role> const r = detail::decode_role(**v);
    if (!r)
      return r.error();
    accepted = *r;
    s_->put_member(b, org, user, *r); // drops the invitation
    return {};
  });
  if (!done)
    co_return done.error();
  co_return accepted;
}

inline asio::awaitable<result<void>> kv_metadata_store::decline_invitation(std::string org,
                                                                                std::string user) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    std::string const k = detail::invitation_key(user, org);
    if (result<void> x = s_->require(state::defaults, k, storage_error::invitation_unknown); !x)
      return x;
    b.erase(state::defaults, k);
    b.erase(state::defaults, detail::invited_key(org, user));
    return {};
  });
}

inline asio::awaitable<result<std::uint64_t>>
kv_metadata_store::held_repositories(std::string ns) {
  co_return s_->held_repositories(ns);
}

inline asio::awaitable<result<std::optional<visibility>>>
kv_metadata_store::get_visibility(std::string repository) {
  result<std::optional<std::string>> const v = s_->get(state::visibility, repository);
  if (!v)
    co_return v.error();
  if (!*v)
    co_return std::optional<visibility>();
  result<visibility> const x =
      detail::decode_enum<visibility>(**v, static_cast<std::uint8_t>(visibility::private_),
                                      static_cast<std::uint8_t>(visibility::public_));
  if (!x)
    co_return x.error();
  co_return std::optional<visibility>(*x);
}

inline asio::awaitable<result<void>> kv_metadata_store::set_visibility(std::string repository,
                                                                            visibility v) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    b.put(state::visibility, repository, detail::encode_byte(v));
    return {};
  });
}

inline asio::awaitable<result<void>> kv_metadata_store::add_token(access_token_record t) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    state const& s = *s_;
    if (result<void> r = s.require(state::users, t.user, storage_error::user_unknown); !r)
      return r;
    // A token replacing one with the same id may belong to another user: unindex the old one.
    result<std::optional<std::string>> const old = s.get(state::tokens, t.id);
    if (!old)
      return old.error();
    if (*old) {
      result<access_token_record> const o = detail::decode_token(t.id, **old);
      if (!o)
        return o.error();
      b.erase(state::token_index, detail::key(o->user, t.id));
    }
    b.put(state::tokens, t.id, detail::encode(t));
    b.put(state::token_index, detail::key(t.user, t.id), std::string_view());
    return {};
  });
}

inline asio::awaitable<result<access_token_record>>
kv_metadata_store::get_token(std::string id) {
  co_return s_->get_record(state::tokens, id, storage_error::token_unknown, detail::decode_token);
}

inline asio::awaitable<result<std::vector<access_token_record>>>
kv_metadata_store::list_tokens(std::string user) {
  state const& s = *s_;
  state::snapshot const snap(*s.driver);
  if (result<void> r = s.require(state::users, user, storage_error::user_unknown, snap.options); !r)
    co_return r.error();
  auto p = s.decoded_page<access_token_record>(
      state::token_index, detail::key(user, ""), "", std::numeric_limits<std::size_t>::max(),
      snap.options, [&](std::string_view id, std::string_view) -> result<access_token_record> {
        result<std::optional<std::string>> const v =
            s.get(state::tokens, std::string(id), snap.options);
        if (!v)
          return v.error();
        if (!*v)
          return storage_error::corrupt; // the index names a token that is not there
        return detail::decode_token(id, **v);
      });
  if (!p)
    co_return p.error();
  co_return std::move(p->items);
}

inline asio::awaitable<result<void>> kv_metadata_store::delete_token(std::string id) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    result<access_token_record> const t =
        s_->get_record(state::tokens, id, storage_error::token_unknown, detail::decode_token);
    if (!t)
      return t.error();
    b.erase(state::tokens, id);
    b.erase(state::token_index, detail::key(t->user, id));
    return {};
  });
}

// --- namespaces -------------------------------------------------------------------------

inline asio::awaitable<result<name_page>> kv_metadata_store::namespaces(std::string last,
                                                                             std::size_t n) {
  std::error_code failed;
  name_page p = detail::namespace_page(last, n, [&](std::string const& k) {
    std::optional<std::string> first;
    auto visit = [&](std::string_view key, std::string_view) {
      first.emplace(key);
      return false;
    };
    if (result<void> r = s_->driver->scan(state::repositories, k, "", {}, kv_visitor(visit)); !r)
      failed = r.error();
    return first;
  });
  if (failed)
    co_return failed;
  co_return p;
}

inline asio::awaitable<result<name_page>>
kv_metadata_store::namespace_repositories(std::string ns, std::string last, std::size_t n) {
  detail::repositories_start const start = detail::repositories_after(ns, last);
  if (ns.empty() || ns.find('/') != std::string::npos || start.past)
    co_return name_page{};
  std::string const prefix = ns + '/';
  result<name_page> p = s_->page(state::repositories, prefix, start.suffix, n);
  if (p) {
    for (std::string& name : p->names)
      name.insert(0, prefix);
  }
  co_return p;
}

inline asio::awaitable<result<page<tag_entry>>>
kv_metadata_store::namespace_tags(std::string ns, std::string last, std::size_t n) {
  detail::tag_position const from = detail::split_tag_position(last);
  detail::repositories_start const start = detail::repositories_after(ns, from.repository);
  if (ns.empty() || ns.find('/') != std::string::npos || start.past)
    co_return page<tag_entry>{};
  // The tags of the namespace's repositories are one range of `tags` (`ns/rest \0 tag`), by
  // repository then tag.
  std::string const prefix = ns + '/';
  std::string const after =
      start.suffix.empty() ? std::string() : detail::key(start.suffix, from.tag);
  state const& s = *s_;
  state::snapshot const snap(*s.driver);
  // Each entry's time and manifest, read in the same snapshot as the tag.
  auto const entry = [&](std::string_view k, std::string_view v) -> result<tag_entry> {
    std::size_t const nul = k.find('\0');
    result<pier::digest> d = parse_digest(v);
    if (nul == std::string_view::npos || !d)
      return storage_error::corrupt;
    tag_entry e;
    e.repository = prefix + std::string(k.substr(0, nul));
    e.tag = std::string(k.substr(nul + 1));
    e.digest = std::move(*d);
    result<std::optional<std::string>> const time =
        s.get(state::tag_index, detail::key(e.repository, v, e.tag), snap.options);
    if (!time)
      return time.error();
    if (*time && !(*time)->empty()) {
      detail::decoder dec(**time);
      e.pushed = detail::time_from_bits(dec.u64());
      if (!dec.done())
        return storage_error::corrupt;
    }
    result<std::optional<std::string>> const c =
        s.get(state::manifests, e.digest.str(), snap.options);
    if (!c)
      return c.error();
    if (!*c)
      return storage_error::corrupt;
    result<detail::manifest_content> content = detail::decode_content(**c);
    if (!content)
      return content.error();
    e.media_type = std::move(content->media_type);
    e.size = content->bytes.size();
    return e;
  };
  co_return s.decoded_page<tag_entry>(state::tags, prefix, after, n, snap.options, entry);
}

inline asio::awaitable<result<name_page>>
kv_metadata_store::search(std::string q, std::string last, std::size_t n) {
  name_page p;
  result<void> const r =
      s_->scan(state::repositories, "", last, {}, [&](std::string_view k, std::string_view) {
        if (k.find(q) == std::string_view::npos)
          return true;
        if (p.names.size() == n) {
          p.more = true;
          return false;
        }
        p.names.emplace_back(k);
        return true;
      });
  if (!r)
    co_return r.error();
  co_return p;
}

// --- CollectableStore -----------------------------------------------------------------

namespace detail {

/// A `blob_times` value: the last use, 8 bytes (`time_bits`); empty when it does not
/// decode.
inline std::optional<std::uint64_t> decode_time(std::string_view v) {
  decoder d(v);
  std::uint64_t const bits = d.u64();
  return d.done() ? std::optional(bits) : std::nullopt;
}

} // namespace detail

// A touch is the one write on a read path (HEAD and GET of blobs): it is skipped while
// the recorded use is younger than `touch_interval`, and not synced (a touch lost in a
// crash costs at most a shorter grace period for that blob).
inline asio::awaitable<result<void>> kv_metadata_store::touch_blob(pier::digest d) {
  auto const now = std::chrono::system_clock::now();
  std::uint64_t const recent = detail::time_bits(now - s_->touch_interval);
  auto const stale = [&]() -> result<bool> {
    result<std::optional<std::string>> const v = s_->get(state::blob_times, d.str());
    if (!v)
      return v.error();
    if (!*v)
      return false; // no blob known by that digest (or released): nothing to renew
    std::optional<std::uint64_t> const bits = detail::decode_time(**v);
    if (!bits)
      return storage_error::corrupt;
    return *bits < recent || s_->touch_interval.count() == 0;
  };
  result<bool> const needed = stale();
  if (!needed || !*needed)
    co_return needed ? result<void>() : result<void>(needed.error());
  // Under the write lock, so that a touch never brings back the record of a blob that
  // `release_blob` has just released.
  auto const build = [&](kv_batch& b) -> result<void> {
    result<bool> const still = stale();
    if (!still)
      return still.error();
    if (*still)
      b.put(state::blob_times, d.str(),
            detail::encoder().u64(detail::time_bits(now)).take());
    return {};
  };
  co_return co_await s_->write(build, /*durable=*/false);
}

inline asio::awaitable<result<std::vector<unreferenced_blob>>>
kv_metadata_store::unreferenced_blobs(std::chrono::system_clock::time_point before,
                                           std::string after, std::size_t n) {
  state::snapshot const snap(*s_->driver);
  std::uint64_t const cut = detail::time_bits(before);
  std::vector<unreferenced_blob> out;
  std::error_code failed;
  result<void> const r = s_->scan(
      state::blob_times, "", after, snap.options, [&](std::string_view k, std::string_view v) {
        if (out.size() >= n)
          return false;
        std::optional<std::uint64_t> const bits = detail::decode_time(v);
        result<pier::digest> d = parse_digest(k);
        if (!bits || !d) {
          failed = storage_error::corrupt;
          return false;
        }
        if (*bits >= cut)
          return true;
        result<std::uint64_t> const refs = s_->count('b', *d, snap.options);
        if (!refs) {
          failed = refs.error();
          return false;
        }
        if (*refs == 0)
          out.push_back({std::move(*d), detail::time_from_bits(*bits)});
        return true;
      });
  if (!r)
    co_return r.error();
  if (failed)
    co_return failed;
  co_return out;
}

inline asio::awaitable<result<bool>>
kv_metadata_store::release_blob(pier::digest d, std::chrono::system_clock::time_point before) {
  std::vector<pier::digest> one; // not a braced list: GCC 12 fails on one in a co_await
  one.push_back(std::move(d));
  result<std::vector<pier::digest>> const released = co_await release_blobs(std::move(one), before);
  if (!released)
    co_return released.error();
  co_return !released->empty();
}

inline asio::awaitable<result<std::vector<pier::digest>>>
kv_metadata_store::release_blobs(std::vector<pier::digest> ds,
                                      std::chrono::system_clock::time_point before) {
  // The checks read what is committed, not the batch: each digest once.
  std::sort(ds.begin(), ds.end());
  ds.erase(std::unique(ds.begin(), ds.end()), ds.end());
  std::vector<bool> released(ds.size());
  std::uint64_t const cut = detail::time_bits(before);
  result<void> const r = co_await s_->write([&](kv_batch& b) -> result<void> {
    state const& s = *s_;
    std::fill(released.begin(), released.end(), false);
    state::namespace_changes links(s); // QuotaStore: several per namespace in one batch
    std::error_code failed;
    for (std::size_t i = 0; i < ds.size(); ++i) {
      pier::digest const& d = ds[i];
      result<std::optional<std::string>> const v = s.get(state::blob_times, d.str());
      if (!v)
        return v.error();
      if (!*v)
        continue;
      std::optional<std::uint64_t> const bits = detail::decode_time(**v);
      if (!bits)
        return storage_error::corrupt;
      if (*bits >= cut)
        continue;
      result<std::uint64_t> const refs = s.count('b', d);
      if (!refs)
        return refs.error();
      if (*refs > 0)
        continue;
      std::string const prefix = detail::key(d.str(), "");
      result<void> const unlinked =
          s.scan(state::blob_repos, prefix, "", {}, [&](std::string_view repo, std::string_view) {
            b.erase(state::blob_links, detail::key(repo, d.str()));
            b.erase(state::blob_repos, prefix + std::string(repo));
            std::string_view const ns = namespace_of(repo);
            if (ns.empty())
              return true;
            result<void> const counted = links.change(ns, d, 0, -1);
            if (!counted)
              failed = counted.error();
            return !failed;
          });
      if (!unlinked)
        return unlinked;
      if (failed)
        return failed;
      b.erase(state::blob_times, d.str());
      released[i] = true;
    }
    links.write(b);
    return {};
  });
  if (!r)
    co_return r.error();
  std::vector<pier::digest> out;
  for (std::size_t i = 0; i < ds.size(); ++i)
    if (released[i])
      out.push_back(std::move(ds[i]));
  co_return out;
}

inline asio::awaitable<result<bool>> kv_metadata_store::knows_blob(pier::digest d) {
  // Every link writes the last use and only `release_blob` deletes it, with the links; the
  // reverse links and the count are read too, so that a database fsck would call
  // inconsistent still keeps its blobs.
  result<bool> known = s_->contains(state::blob_times, d.str());
  if (known && !*known)
    known = s_->any_under(state::blob_repos, detail::key(d.str(), ""), {});
  if (!known || *known)
    co_return known;
  result<std::uint64_t> const refs = s_->count('b', d);
  if (!refs)
    co_return refs.error();
  co_return *refs > 0;
}

inline asio::awaitable<result<std::vector<untagged_manifest>>>
kv_metadata_store::untagged_manifests(std::chrono::system_clock::time_point before,
                                           std::size_t n) {
  std::uint64_t const cut = detail::time_bits(before);
  std::vector<untagged_manifest> out;
  bool corrupt = false;
  result<void> const r =
      s_->scan(state::untagged, "", "", {}, [&](std::string_view k, std::string_view) {
        if (out.size() >= n || k.size() < 8 || detail::from_big_endian(k) >= cut)
          return false;
        std::string_view const rest = k.substr(8);
        std::size_t const at = rest.find('\0');
        result<pier::digest> d =
            parse_digest(rest.substr(at == std::string_view::npos ? 0 : at + 1));
        if (at == std::string_view::npos || !d) {
          corrupt = true;
          return false;
        }
        out.push_back({std::string(rest.substr(0, at)), std::move(*d),
                       detail::time_from_bits(detail::from_big_endian(k))});
        return true;
      });
  if (!r)
    co_return r.error();
  if (corrupt)
    co_return storage_error::corrupt;
  co_return out;
}

inline asio::awaitable<result<bool>>
kv_metadata_store::remove_untagged(std::string repository, pier::digest d,
                                        std::chrono::system_clock::time_point before) {
  bool removed = false;
  result<void> const r = co_await s_->write([&](kv_batch& b) -> result<void> {
    state const& s = *s_;
    result<std::optional<std::string>> const since =
        s.get(state::untagged_index, detail::key(repository, d.str()));
    if (!since)
      return since.error();
    if (!*since || detail::from_big_endian(**since) >= detail::time_bits(before))
      return {};
    result<bool> const orphan = s.is_orphan(repository, d);
    if (!orphan)
      return orphan.error();
    if (!*orphan)
      return {}; // every change that adopts `d` clears the record: not expected
    if (result<void> e = s.erase_manifest(b, repository, d, std::chrono::system_clock::now()); !e)
      return e;
    removed = true;
    return {};
  });
  if (!r)
    co_return r.error();
  co_return removed;
}

// --- fsck (registry/fsck.hpp) -----------------------------------------------------------

namespace detail {

/// Splits a `repo \0 digest` key; false when it is not one.
inline bool split_link(std::string_view k, std::string& repository, pier::digest& d) {
  std::size_t const zero = k.find('\0');
  if (zero == std::string_view::npos)
    return false;
  result<pier::digest> parsed = parse_digest(k.substr(zero + 1));
  if (!parsed)
    return false;
  repository = std::string(k.substr(0, zero));
  d = std::move(*parsed);
  return true;
}

/// What a listing answers: the scan's error, else `corrupt` when a record did not
/// decode, else the page.
template <class T>
result<T> listed(result<void> const& scanned, std::error_code decode_error, T out) {
  if (!scanned)
    return scanned.error();
  if (decode_error)
    return decode_error;
  return out;
}

} // namespace detail

inline asio::awaitable<result<page<stored_link>>>
kv_metadata_store::fsck_blob_links(std::optional<stored_link> after, std::size_t n) {
  page<stored_link> out;
  std::string const last = after ? detail::key(after->repository, after->digest.str()) : "";
  bool corrupt = false;
  result<void> const r =
      s_->scan(state::blob_links, "", last, {}, [&](std::string_view k, std::string_view) {
        if (out.items.size() == n)
          return !(out.more = true);
        stored_link l;
        if (!detail::split_link(k, l.repository, l.digest))
          return !(corrupt = true);
        out.items.push_back(std::move(l));
        return true;
      });
  co_return detail::listed(r, corrupt ? storage_error::corrupt : std::error_code(), std::move(out));
}

inline asio::awaitable<result<page<stored_manifest>>>
kv_metadata_store::fsck_manifests(std::optional<stored_manifest> after, std::size_t n) {
  page<stored_manifest> out;
  std::string const last = after ? detail::key(after->repository, after->digest.str()) : "";
  state::snapshot const snap(*s_->driver);
  std::error_code ec;
  result<void> const r = s_->scan(
      state::manifest_links, "", last, snap.options, [&](std::string_view k, std::string_view) {
        if (out.items.size() == n)
          return !(out.more = true);
        stored_manifest m;
        if (!detail::split_link(k, m.repository, m.digest)) {
          ec = storage_error::corrupt;
          return false;
        }
        result<std::optional<std::string>> const v =
            s_->get(state::manifests, m.digest.str(), snap.options);
        if (!v) {
          ec = v.error();
          return false;
        }
        if (*v) { // a link without content stays listed without references
          result<detail::manifest_content> c = detail::decode_content(**v);
          if (!c) {
            ec = c.error();
            return false;
          }
          m.blobs = std::move(c->blobs);
          m.manifests = std::move(c->manifests);
        }
        out.items.push_back(std::move(m));
        return true;
      });
  co_return detail::listed(r, ec, std::move(out));
}

inline asio::awaitable<result<page<stored_count>>>
kv_metadata_store::fsck_counts(std::optional<stored_count> after, std::size_t n) {
  page<stored_count> out;
  std::string const last = after ? detail::count_key(after->kind, after->digest) : "";
  bool corrupt = false;
  result<void> const r =
      s_->scan(state::refcounts, "", last, {}, [&](std::string_view k, std::string_view v) {
        if (out.items.size() == n)
          return !(out.more = true);
        detail::decoder dec(v);
        std::uint64_t const count = dec.u64();
        result<pier::digest> d =
            k.empty() ? result<pier::digest>(storage_error::corrupt) : parse_digest(k.substr(1));
        if (!d || !dec.done())
          return !(corrupt = true);
        out.items.push_back({k.front(), std::move(*d), count});
        return true;
      });
  co_return detail::listed(r, corrupt ? storage_error::corrupt : std::error_code(), std::move(out));
}

inline asio::awaitable<result<void>>
kv_metadata_store::fsck_write_counts(std::vector<stored_count> counts) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    for (stored_count const& c : counts)
      s_->put_count(b, c.kind, c.digest, c.count);
    return {};
  });
}

inline asio::awaitable<result<std::vector<std::string>>> kv_metadata_store::fsck_link_uses() {
  std::vector<std::string> out;
  state::snapshot const snap(*s_->driver);
  result<void> const r = s_->wrong_link_uses(
      snap.options, [&](std::string_view k, std::string_view v, std::uint64_t uses) {
        std::string repository;
        pier::digest d;
        if (!detail::split_link(k, repository, d))
          return; // fsck_blob_links refuses such a key
        detail::decoder dec(v);
        std::uint64_t const stored = dec.u64();
        std::string const was = v.empty()    ? "unknown (a link from before the counts)"
                                : dec.done() ? std::to_string(stored)
                                             : "unreadable";
        out.push_back("use count of " + d.str() + " in " + repository + " is " + was +
                      ", the manifests say " + std::to_string(uses));
      });
  if (!r)
    co_return r.error();
  co_return out;
}

inline asio::awaitable<result<void>> kv_metadata_store::fsck_write_link_uses() {
  // Under the write lock: no manifest commit moves a count between the recount and the
  // write.
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    return s_->wrong_link_uses({}, [&](std::string_view k, std::string_view, std::uint64_t uses) {
      b.put(state::blob_links, std::string_view(k.data(), k.size()),
            detail::encoder().u64(uses).take());
    });
  });
}

namespace detail {

/// A line of `fsck_namespace_counts` when `stored` differs from `actual`.
inline void namespace_count_line(std::vector<std::string>& out, std::string what,
                                 std::uint64_t stored, std::uint64_t actual,
                                 std::string_view source = "the manifests") {
  if (stored != actual)
    out.push_back(std::move(what) + " is " + std::to_string(stored) + ", " + std::string(source) +
                  " say " + std::to_string(actual));
}

} // namespace detail

inline asio::awaitable<result<std::vector<std::string>>>
kv_metadata_store::fsck_namespace_counts() {
  result<state::namespace_recount> counts = s_->recount_namespaces();
  if (!counts)
    co_return counts.error();
  std::map<std::string, std::uint64_t, std::less<>> totals;
  for (auto const& [ns, entries] : *counts) {
    for (auto const& [d, e] : entries)
      totals[ns] += e.size;
  }
  std::vector<std::string> out;
  std::error_code failed;
  result<void> const r =
      s_->scan(state::namespace_blobs, "", "", {}, [&](std::string_view k, std::string_view v) {
        std::size_t const at = k.find('\0');
        if (at == std::string_view::npos) { // a namespace's total
          detail::decoder dec(v);
          std::uint64_t const stored = dec.u64();
          if (!dec.done()) {
            failed = storage_error::corrupt;
            return false;
          }
          auto const it = totals.find(k);
          detail::namespace_count_line(out, "namespace total of " + std::string(k), stored,
                                       it == totals.end() ? 0 : it->second);
          if (it != totals.end())
            totals.erase(it);
          return true;
        }
        std::string const ns(k.substr(0, at));
        result<pier::digest> const d = parse_digest(k.substr(at + 1));
        result<state::namespace_blob> const e = state::decode_namespace_blob(v);
        if (!d || !e) {
          failed = storage_error::corrupt;
          return false;
        }
        state::namespace_blob actual;
        if (auto const entries = counts->find(ns); entries != counts->end()) {
          if (auto const it = entries->second.find(*d); it != entries->second.end()) {
            actual = it->second;
            entries->second.erase(it);
          }
        }
        detail::namespace_count_line(out, "namespace count of " + d->str() + " in " + ns, e->count,
                                     actual.count);
        detail::namespace_count_line(out, "namespace link count of " + d->str() + " in " + ns,
                                     e->links, actual.links, "the links");
        return true;
      });
  if (!r)
    co_return r.error();
  if (failed)
    co_return failed;
  // What the recount has and nothing stored: missing records.
  for (auto const& [ns, entries] : *counts) {
    for (auto const& [d, e] : entries) {
      detail::namespace_count_line(out, "namespace count of " + d.str() + " in " + ns, 0, e.count);
      detail::namespace_count_line(out, "namespace link count of " + d.str() + " in " + ns, 0,
                                   e.links, "the links");
    }
  }
  for (auto const& [ns, bytes] : totals)
    detail::namespace_count_line(out, "namespace total of " + ns, 0, bytes);
  co_return out;
}

inline asio::awaitable<result<void>> kv_metadata_store::fsck_write_namespace_counts() {
  co_return co_await s_->write(
      [&](kv_batch& b) { return s_->rewrite_namespace_records(b); });
}

// QuotaStore

inline result<std::map<pier::digest, std::uint64_t, std::less<>>>
kv_metadata_store::repository_references(std::string const& repository) const {
  state const& s = *s_;
  std::vector<std::string> manifests;
  result<void> const r = s.scan(state::manifest_links, detail::key(repository, ""), "", {},
                                [&](std::string_view k, std::string_view) {
                                  manifests.emplace_back(k);
                                  return true;
                                });
  if (!r)
    return r.error();
  std::map<pier::digest, std::uint64_t, std::less<>> counts;
  for (std::string const& m : manifests) {
    result<std::optional<std::string>> const v = s.get(state::manifests, m);
    if (!v)
      return v.error();
    if (!*v)
      continue; // a link without content references nothing
    result<detail::manifest_content> const c = detail::decode_content(**v);
    if (!c)
      return c.error();
    for (pier::digest const& b : c->blobs)
      ++counts[b];
  }
  return counts;
}

inline result<storage_usage> kv_metadata_store::usage_of(
    std::map<pier::digest, std::uint64_t, std::less<>> const& counts) const {
  storage_usage u;
  for (auto const& [b, pairs] : counts) {
    result<std::optional<std::uint64_t>> const size = s_->meta_number(detail::size_key(b));
    if (!size)
      return size.error();
    if (!*size)
      continue;
    result<std::uint64_t> const all = s_->count('b', b);
    if (!all)
      return all.error();
    (*all > pairs ? u.shared_bytes : u.unique_bytes) += **size;
  }
  return u;
}

inline asio::awaitable<result<void>>
kv_metadata_store::set_quota(std::string ns, std::optional<std::uint64_t> bytes) {
  co_return co_await s_->write([&](kv_batch& b) -> result<void> {
    if (bytes)
      b.put(state::defaults, detail::quota_key(ns), detail::encoder().u64(*bytes).take());
    else
      b.erase(state::defaults, detail::quota_key(ns));
    return {};
  });
}

inline void kv_metadata_store::set_default_quota(std::optional<std::uint64_t> bytes) {
  // A quota of all ones limits nothing anyway: it stands for none.
  s_->default_quota.store(bytes.value_or(~std::uint64_t{0}), std::memory_order_relaxed);
}

inline asio::awaitable<result<std::optional<std::uint64_t>>>
kv_metadata_store::get_quota(std::string ns) {
  co_return s_->meta_number(detail::quota_key(ns));
}

inline asio::awaitable<result<namespace_usage>>
kv_metadata_store::usage(std::string ns, std::string last, std::size_t n) {
  namespace_usage out;
  result<std::optional<std::uint64_t>> quota = s_->meta_number(detail::quota_key(ns));
  if (!quota)
    co_return quota.error();
  out.quota = *quota;
  if (ns.empty() || ns.find('/') != std::string::npos)
    co_return out;
  {
    // The namespace's entries and the registry's counts as of one moment.
    state::snapshot const snap(*s_->driver);
    std::error_code failed;
    result<void> const r = s_->scan(
        state::namespace_blobs, detail::key(ns, ""), "", snap.options,
        [&](std::string_view k, std::string_view v) {
          result<pier::digest> const d = parse_digest(k);
          result<state::namespace_blob> const e = state::decode_namespace_blob(v);
          result<std::uint64_t> const all =
              d ? s_->count('b', *d, snap.options) : result<std::uint64_t>(storage_error::corrupt);
          if (!e || !all) {
            failed = !e ? e.error() : all.error();
            return false;
          }
          if (e->count == 0)
            out.usage.unreferenced_bytes += e->size; // linked only
          else
            (*all > e->count ? out.usage.shared_bytes : out.usage.unique_bytes) += e->size;
          return true;
        });
    if (!r)
      co_return r.error();
    if (failed)
      co_return failed;
  }
  // The page of repositories: those of the namespace after `last`.
  std::string const prefix = ns + '/';
  if (!last.empty() && !last.starts_with(prefix) && last > prefix)
    co_return out; // after every repository of the namespace
  result<name_page> const names = s_->page(
      state::repositories, prefix, last.starts_with(prefix) ? last.substr(prefix.size()) : "", n);
  if (!names)
    co_return names.error();
  out.repositories.more = names->more;
  for (std::string const& name : names->names) {
    result<std::map<pier::digest, std::uint64_t, std::less<>>> const counts =
        repository_references(prefix + name);
    if (!counts)
      co_return counts.error();
    result<storage_usage> const u = usage_of(*counts);
    if (!u)
      co_return u.error();
    out.repositories.items.push_back({prefix + name, *u});
  }
  co_return out;
}

inline asio::awaitable<result<quota_state>>
kv_metadata_store::charge(std::string repository, std::vector<sized_blob> blobs) {
  quota_state out;
  // Sizes rarely change for a digest: write only those not recorded yet (one sync write
  // for a push of new blobs, none for a re-push).
  std::vector<sized_blob const*> unrecorded;
  for (sized_blob const& b : blobs) {
    result<std::optional<std::uint64_t>> const size = s_->meta_number(detail::size_key(b.digest));
    if (!size)
      co_return size.error();
    if (*size != b.size)
      unrecorded.push_back(&b);
  }
  if (!unrecorded.empty()) {
    result<void> const w = co_await s_->write([&](kv_batch& batch) -> result<void> {
      for (sized_blob const* b : unrecorded)
        batch.put(state::defaults, detail::size_key(b->digest), detail::encoder().u64(b->size).take());
      return {};
    });
    if (!w)
      co_return w.error();
  }
  std::string_view const ns = namespace_of(repository);
  if (!ns.empty()) {
    result<std::optional<std::uint64_t>> quota = s_->meta_number(detail::quota_key(ns));
    if (!quota)
      co_return quota.error();
    out.quota = *quota;
  }
  state::snapshot const snap(*s_->driver);
  // Counted with or without a quota of its own: the registry may apply a default one.
  if (!ns.empty()) {
    result<std::uint64_t> const used = s_->namespace_total(ns, snap.options);
    if (!used)
      co_return used.error();
    out.used = *used;
  }
  std::set<pier::digest, std::less<>> seen;
  for (sized_blob const& b : blobs) {
    if (!seen.insert(b.digest).second)
      continue; // listed twice
    if (!ns.empty()) {
      result<state::namespace_blob> const e = s_->namespace_entry(ns, b.digest, snap.options);
      if (!e)
        co_return e.error();
      if (!e->empty())
        continue; // linked or referenced in the namespace already
    }
    out.added += b.size;
  }
  co_return out;
}

} // namespace storage
PIER_END_NAMESPACE

#endif // PIER_STORAGE_IMPL_KV_HPP
