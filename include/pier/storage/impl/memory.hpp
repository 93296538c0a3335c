// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_IMPL_MEMORY_HPP
#define PIER_STORAGE_IMPL_MEMORY_HPP

#include <algorithm>
#include <tuple>

#include <fcntl.h>
#include <sys/mman.h>

PIER_BEGIN_NAMESPACE
namespace storage {

// --- memory_blob_store ----------------------------------------------------------------

inline std::shared_ptr<detail::upload_state>
memory_blob_store::find_upload(upload_id const& id) const {
  std::lock_guard const lock(mutex_);
  auto const it = uploads_.find(id);
  return it == uploads_.end() ? nullptr : it->second;
}

inline std::shared_ptr<detail::upload_state> memory_blob_store::take_upload(upload_id const& id) {
  std::shared_ptr<detail::upload_state> u;
  {
    std::lock_guard const lock(mutex_);
    auto const it = uploads_.find(id);
    if (it == uploads_.end())
      return nullptr;
    u = std::move(it->second);
    uploads_.erase(it);
  }
  detail::close_upload(*u); // waits for an append in progress
  return u;
}

inline asio::awaitable<result<blob_info>> memory_blob_store::stat(pier::digest d) {
  std::lock_guard const lock(mutex_);
  auto const it = blobs_.find(d);
  if (it == blobs_.end())
    co_return storage_error::blob_unknown;
  co_return blob_info{it->second->size};
}

inline asio::awaitable<result<blob_source>>
memory_blob_store::open(pier::digest d, std::uint64_t offset, std::optional<std::uint64_t> length) {
  std::shared_ptr<blob const> b;
  {
    std::lock_guard const lock(mutex_);
    auto const it = blobs_.find(d);
    if (it == blobs_.end())
      co_return storage_error::blob_unknown;
    b = it->second;
  }
  result<std::uint64_t> const n = detail::clamp_range(b->size, offset, length);
  if (!n)
    co_return n.error();
  int const fd = b->fd.get();
  co_return blob_source{file_region{std::move(b), fd, offset, *n}};
}

inline asio::awaitable<result<upload_id>> memory_blob_store::begin_upload() {
  detail::unique_fd fd(::memfd_create("pier-upload", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd)
    co_return detail::last_error();
  upload_id id = make_upload_id();
  std::lock_guard const lock(mutex_);
  uploads_.emplace(id, detail::make_upload_state(std::move(fd), 0, true));
  co_return id;
}

inline asio::awaitable<result<std::uint64_t>>
memory_blob_store::append(upload_id id, std::span<std::byte const> bytes,
                          std::optional<std::uint64_t> offset) {
  std::shared_ptr<detail::upload_state> const u = find_upload(id);
  if (!u)
    co_return storage_error::upload_unknown;
  co_return detail::append_to(*u, bytes, offset);
}

inline asio::awaitable<result<std::uint64_t>> memory_blob_store::upload_size(upload_id id) {
  std::shared_ptr<detail::upload_state> const u = find_upload(id);
  if (!u)
    co_return storage_error::upload_unknown;
  std::lock_guard const lock(u->mutex);
  if (u->closed)
    co_return storage_error::upload_unknown;
  co_return u->size;
}

inline asio::awaitable<result<blob_info>>
memory_blob_store::commit(upload_id id, pier::digest expected, std::optional<std::uint64_t> size) {
  std::shared_ptr<detail::upload_state> const u = take_upload(id);
  if (!u)
    co_return storage_error::upload_unknown;
  result<blob_info> const info = detail::verify_upload(*u, expected, size);
  if (!info)
    co_return info.error();
  // Sealed, the memfd can no longer change: readers see exactly the verified bytes.
  if (::fcntl(u->fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0)
    co_return detail::last_error();
  auto b = std::make_shared<blob>();
  b->fd = std::move(u->fd);
  b->size = info->size;
  std::lock_guard const lock(mutex_);
  committed_.insert_or_assign(expected, std::chrono::system_clock::now());
  blobs_.try_emplace(std::move(expected), std::move(b)); // an equal blob may be there already
  co_return *info;
}

inline asio::awaitable<result<void>> memory_blob_store::abort(upload_id id) {
  if (!take_upload(id))
    co_return storage_error::upload_unknown;
  co_return result<void>{};
}

inline asio::awaitable<result<void>> memory_blob_store::remove(pier::digest d) {
  std::lock_guard const lock(mutex_);
  if (blobs_.erase(d) == 0)
    co_return storage_error::blob_unknown;
  committed_.erase(d);
  co_return result<void>{};
}

inline asio::awaitable<result<blob_info>> memory_blob_store::put(std::span<std::byte const> bytes,
                                                                 pier::digest expected) {
  result<upload_id> id = co_await begin_upload();
  if (!id)
    co_return id.error();
  if (result<std::uint64_t> const n = co_await append(*id, bytes, 0); !n) {
    (void)co_await abort(*id);
    co_return n.error();
  }
  co_return co_await commit(std::move(*id), std::move(expected), bytes.size());
}

inline asio::awaitable<result<bool>>
memory_blob_store::remove_if_unused_since(pier::digest d,
                                          std::chrono::system_clock::time_point before) {
  std::lock_guard const lock(mutex_);
  auto const it = blobs_.find(d);
  if (it == blobs_.end())
    co_return storage_error::blob_unknown;
  if (auto const t = committed_.find(d); t != committed_.end() && t->second >= before)
    co_return false;
  blobs_.erase(it);
  committed_.erase(d);
  co_return true;
}

inline asio::awaitable<result<page<stored_blob>>> memory_blob_store::list_blobs(std::string after,
                                                                                std::size_t n) {
  std::lock_guard const lock(mutex_);
  page<stored_blob> out;
  // Digests order as their strings do; a cursor that is no digest is found by a walk.
  result<pier::digest> const cursor = parse_digest(after);
  auto it = after.empty() ? blobs_.begin()
            : cursor      ? blobs_.upper_bound(*cursor)
                          : std::find_if(blobs_.begin(), blobs_.end(),
                                         [&](auto const& b) { return b.first.str() > after; });
  for (; it != blobs_.end(); ++it) {
    if (out.items.size() == n) {
      out.more = true;
      break;
    }
    auto const t = committed_.find(it->first);
    out.items.push_back(
        {it->first, it->second->size,
         t == committed_.end() ? std::chrono::system_clock::time_point{} : t->second});
  }
  co_return out;
}

inline std::size_t memory_blob_store::blob_count() const {
  std::lock_guard const lock(mutex_);
  return blobs_.size();
}

inline std::size_t memory_blob_store::upload_count() const {
  std::lock_guard const lock(mutex_);
  return uploads_.size();
}

// --- memory_metadata_store ------------------------------------------------------------

inline memory_metadata_store::repository_state const*
memory_metadata_store::find(std::string const& repository) const {
  auto const it = repositories_.find(repository);
  return it == repositories_.end() ? nullptr : &it->second;
}

inline asio::awaitable<result<bool>>
memory_metadata_store::repository_exists(std::string repository) {
  std::lock_guard const lock(mutex_);
  co_return find(repository) != nullptr;
}

inline asio::awaitable<result<name_page>> memory_metadata_store::catalog(std::string last,
                                                                         std::size_t n) {
  std::lock_guard const lock(mutex_);
  co_return detail::page_after(repositories_, last, n);
}

inline asio::awaitable<result<void>> memory_metadata_store::link_blob(std::string repository,
                                                                      pier::digest d) {
  std::lock_guard const lock(mutex_);
  repository_state const* const existing = find(repository);
  if (existing == nullptr || !existing->blobs.contains(d)) {
    if (result<void> charged = link_in_namespace(repository, d, +1); !charged)
      co_return charged; // QuotaStore: the namespace has no room for it
  }
  blob_times_.insert_or_assign(d.str(), std::chrono::system_clock::now()); // CollectableStore
  repositories_[repository].blobs.insert(std::move(d));
  co_return result<void>{};
}

inline asio::awaitable<result<void>> memory_metadata_store::unlink_blob(std::string repository,
                                                                        pier::digest d) {
  std::lock_guard const lock(mutex_);
  auto const it = repositories_.find(repository);
  if (it == repositories_.end() || it->second.blobs.erase(d) == 0)
    co_return storage_error::blob_unknown;
  (void)link_in_namespace(repository, d, -1);
  co_return result<void>{};
}

inline asio::awaitable<result<blob_unlink>>
memory_metadata_store::unlink_unreferenced_blob(std::string repository, pier::digest d) {
  std::lock_guard const lock(mutex_); // one step with put_manifest and erase_manifest
  auto const it = repositories_.find(repository);
  if (it == repositories_.end() || !it->second.blobs.contains(d))
    co_return storage_error::blob_unknown;
  repository_state& r = it->second;
  blob_unlink out;
  if (r.blob_uses.contains(d)) {
    for (pier::digest const& m : r.manifests) {
      std::vector<pier::digest> const& blobs = contents_.at(m).blobs;
      if (std::binary_search(blobs.begin(), blobs.end(), d)) {
        out.referenced_by = m;
        break;
      }
    }
    co_return out;
  }
  r.blobs.erase(d);
  (void)link_in_namespace(repository, d, -1);
  out.unlinked = true;
  co_return out;
}

inline asio::awaitable<result<bool>> memory_metadata_store::is_linked(std::string repository,
                                                                      pier::digest d) {
  std::lock_guard const lock(mutex_);
  repository_state const* const r = find(repository);
  co_return r != nullptr && r->blobs.contains(d);
}

inline asio::awaitable<result<void>> memory_metadata_store::put_manifest(std::string repository,
                                                                         manifest_put m) {
  std::lock_guard const lock(mutex_);
  repository_state const* const existing = find(repository);
  for (pier::digest const& b : m.blobs) {
    if (existing == nullptr || !existing->blobs.contains(b))
      co_return storage_error::manifest_blob_unknown;
  }
  for (pier::digest const& c : m.manifests) {
    if (existing == nullptr || !existing->manifests.contains(c))
      co_return storage_error::manifest_blob_unknown;
  }

  bool const held = existing != nullptr && existing->manifests.contains(m.digest);
  if (std::string_view const ns = namespace_of(repository); !held && !ns.empty()) {
    // What a stored copy references counts, as below; else what the manifest lists.
    auto const stored = contents_.find(m.digest);
    if (over_quota(ns, stored != contents_.end() ? stored->second.blobs
                                                 : detail::sorted_unique(m.blobs)))
      co_return storage_error::quota_exceeded;
  }

  repository_state& r = repositories_[repository];
  if (!held) {
    content& c = contents_[m.digest];
    if (c.repositories == 0) {
      c.media_type = m.media_type;
      c.bytes = std::move(m.bytes);
      c.blobs = detail::sorted_unique(std::move(m.blobs));
      c.manifests = detail::sorted_unique(std::move(m.manifests));
      c.subject = std::move(m.subject);
    }
    ++c.repositories;
    r.manifests.insert(m.digest);
    for (pier::digest const& b : c.blobs) {
      ++blob_refs_[b];
      ++r.blob_uses[b];
    }
    count_in_namespace(repository, c.blobs, +1);
    for (pier::digest const& x : c.manifests)
      ++manifest_refs_[x];
    if (c.subject) {
      r.referrers[c.subject->subject][m.digest] = referrer{
          m.digest, c.media_type, c.bytes.size(), c.subject->artifact_type, c.subject->annotations};
      clear_untagged(repository, c.subject->subject); // CollectableStore: it has a referrer
    }
    for (pier::digest const& x : c.manifests)
      clear_untagged(repository, x); // CollectableStore: it has a parent
  }
  if (m.tag) {
    note_tag(r, *m.tag, m.digest);
    point_tag(repository, r, *m.tag, m.digest);
  }
  co_return result<void>{};
}

inline asio::awaitable<result<manifest_record>>
memory_metadata_store::get_manifest(std::string repository, pier::digest d) {
  std::lock_guard const lock(mutex_);
  repository_state const* const r = find(repository);
  if (r == nullptr)
    co_return storage_error::name_unknown;
  if (!r->manifests.contains(d))
    co_return storage_error::manifest_unknown;
  content const& c = contents_.at(d);
  co_return manifest_record{std::move(d), c.media_type, c.bytes};
}

inline asio::awaitable<result<void>> memory_metadata_store::delete_manifest(std::string repository,
                                                                            pier::digest d) {
  std::lock_guard const lock(mutex_);
  auto const rit = repositories_.find(repository);
  if (rit == repositories_.end())
    co_return storage_error::name_unknown;
  if (!rit->second.manifests.contains(d))
    co_return storage_error::manifest_unknown;
  erase_manifest(repository, rit->second, d, std::chrono::system_clock::now());
  co_return result<void>{};
}

inline asio::awaitable<result<pier::digest>>
memory_metadata_store::resolve_tag(std::string repository, std::string tag) {
  std::lock_guard const lock(mutex_);
  repository_state const* const r = find(repository);
  if (r == nullptr)
    co_return storage_error::name_unknown;
  auto const it = r->tags.find(tag);
  if (it == r->tags.end())
    co_return storage_error::tag_unknown;
  co_return it->second;
}

inline asio::awaitable<result<void>>
memory_metadata_store::set_tag(std::string repository, std::string tag, pier::digest d) {
  std::lock_guard const lock(mutex_);
  auto const rit = repositories_.find(repository);
  if (rit == repositories_.end())
    co_return storage_error::name_unknown;
  if (!rit->second.manifests.contains(d))
    co_return storage_error::manifest_unknown;
  note_tag(rit->second, tag, d);
  point_tag(repository, rit->second, tag, d);
  co_return result<void>{};
}

inline asio::awaitable<result<void>> memory_metadata_store::delete_tag(std::string repository,
                                                                       std::string tag) {
  std::lock_guard const lock(mutex_);
  auto const rit = repositories_.find(repository);
  if (rit == repositories_.end())
    co_return storage_error::name_unknown;
  auto const t = rit->second.tags.find(tag);
  if (t == rit->second.tags.end())
    co_return storage_error::tag_unknown;
  pier::digest const old = t->second;
  rit->second.tags.erase(t);
  note_untagged(repository, rit->second, old, std::chrono::system_clock::now());
  co_return result<void>{};
}

inline asio::awaitable<result<name_page>>
memory_metadata_store::list_tags(std::string repository, std::string last, std::size_t n) {
  std::lock_guard const lock(mutex_);
  repository_state const* const r = find(repository);
  if (r == nullptr)
    co_return storage_error::name_unknown;
  co_return detail::page_after(r->tags, last, n);
}

inline asio::awaitable<result<std::vector<referrer>>>
memory_metadata_store::referrers(std::string repository, pier::digest subject) {
  std::lock_guard const lock(mutex_);
  std::vector<referrer> out;
  if (repository_state const* const r = find(repository)) {
    auto const it = r->referrers.find(subject);
    if (it != r->referrers.end()) {
      for (auto const& [digest, entry] : it->second)
        out.push_back(entry);
    }
  }
  co_return out;
}

inline asio::awaitable<result<std::uint64_t>> memory_metadata_store::blob_refcount(pier::digest d) {
  std::lock_guard const lock(mutex_);
  auto const it = blob_refs_.find(d);
  co_return it == blob_refs_.end() ? std::uint64_t{0} : it->second;
}

inline asio::awaitable<result<std::uint64_t>>
memory_metadata_store::manifest_refcount(pier::digest d) {
  std::lock_guard const lock(mutex_);
  auto const it = manifest_refs_.find(d);
  co_return it == manifest_refs_.end() ? std::uint64_t{0} : it->second;
}

inline asio::awaitable<result<void>> memory_metadata_store::create_upload(upload_session u) {
  std::lock_guard const lock(mutex_);
  upload_id id = u.id;
  uploads_.insert_or_assign(std::move(id), std::move(u));
  co_return result<void>{};
}

inline asio::awaitable<result<upload_session>> memory_metadata_store::get_upload(upload_id id) {
  std::lock_guard const lock(mutex_);
  auto const it = uploads_.find(id);
  if (it == uploads_.end())
    co_return storage_error::upload_unknown;
  co_return it->second;
}

inline asio::awaitable<result<void>> memory_metadata_store::delete_upload(upload_id id) {
  std::lock_guard const lock(mutex_);
  if (uploads_.erase(id) == 0)
    co_return storage_error::upload_unknown;
  co_return result<void>{};
}

inline asio::awaitable<result<std::vector<upload_session>>>
memory_metadata_store::expired_uploads(std::chrono::system_clock::time_point before,
                                       std::size_t n) {
  std::lock_guard const lock(mutex_);
  std::vector<upload_session> out;
  for (auto const& [id, u] : uploads_) {
    if (u.created < before)
      out.push_back(u);
  }
  std::sort(out.begin(), out.end(), [](upload_session const& a, upload_session const& b) {
    return std::tie(a.created, a.id) < std::tie(b.created, b.id);
  });
  if (out.size() > n)
    out.resize(n);
  co_return out;
}

// --- memory_metadata_store: accounts -------------------------------------------------

namespace detail {

/// The values of a sorted map whose keys come after `last` (from the start when empty), at
/// most `n`: the paging of `list_users` and `list_orgs`, like `page_after` for names.
template <class Map>
page<typename Map::mapped_type> values_after(Map const& m, std::string const& last, std::size_t n) {
  page<typename Map::mapped_type> out;
  auto it = last.empty() ? m.begin() : m.upper_bound(last);
  for (; it != m.end() && out.items.size() < n; ++it)
    out.items.push_back(it->second);
  out.more = it != m.end();
  return out;
}

/// Removes the entry `other` of `key` in `index`, and `key` once it has none.
inline void erase_role(role_index& index, std::string const& key, std::string const& other) {
  auto const it = index.find(key);
  if (it == index.end())
    return;
  it->second.erase(other);
  if (it->second.empty())
    index.erase(it);
}

/// The organisations of `user` in `index` (user → organisation → role), in order.
inline std::vector<membership> roles_of_user(role_index const& index, std::string const& user) {
  std::vector<membership> out;
  if (auto const m = index.find(user); m != index.end()) {
    for (auto const& [org, level] : m->second)
      out.push_back({org, user, level});
  }
  return out;
}

/// Removes every membership of `key` (a user in `index`, `mirror` by organisation, or the
/// reverse) from both indexes.
inline void erase_roles(role_index& index, role_index& mirror, std::string const& key) {
  auto const it = index.find(key);
  if (it == index.end())
    return;
  for (auto const& [other, level] : it->second)
    erase_role(mirror, other, key);
  index.erase(it);
}

} // namespace detail

inline bool memory_metadata_store::namespace_claimed(std::string_view ns) const {
  std::string const prefix = std::string(ns) + '/';
  auto const under = [&](auto const& m) {
    auto const it = m.lower_bound(prefix);
    return it != m.end() && it->first.starts_with(prefix);
  };
  return reserved_.contains(ns) || quotas_.contains(ns) || under(repositories_) ||
         under(visibility_);
}

inline std::uint64_t memory_metadata_store::held_locked(std::string_view ns) const {
  std::string const prefix = std::string(ns) + '/';
  std::uint64_t n = 0;
  for (auto it = repositories_.lower_bound(prefix);
       it != repositories_.end() && it->first.starts_with(prefix); ++it)
    n += !it->second.manifests.empty() || !it->second.blobs.empty();
  return n;
}

inline bool memory_metadata_store::only_admin(std::string_view org, std::string_view user) const {
  auto const o = members_.find(org);
  if (o == members_.end())
    return false;
  auto const u = o->second.find(user);
  if (u == o->second.end() || u->second != role::admin)
    return false;
  return std::none_of(o->second.begin(), o->second.end(), [&](auto const& m) {
    return m.second == role::admin && m.first != user;
  });
}

inline bool memory_metadata_store::last_administrator(std::string_view user) const {
  auto const u = users_.find(user);
  if (u == users_.end() || !u->second.admin)
    return false;
  return std::none_of(users_.begin(), users_.end(),
                      [&](auto const& x) { return x.second.admin && x.first != user; });
}

inline void memory_metadata_store::put_member(std::string const& org, std::string const& user,
                                              role r) {
  members_[org].insert_or_assign(user, r);
  memberships_[user].insert_or_assign(org, r);
  detail::erase_role(invitations_, user, org);
  detail::erase_role(invited_, org, user);
}

inline asio::awaitable<result<void>> memory_metadata_store::create_user(user_record u) {
  std::lock_guard const lock(mutex_);
  if (users_.contains(u.name) || orgs_.contains(u.name))
    co_return storage_error::name_taken;
  std::string name = u.name;
  users_.emplace(std::move(name), std::move(u));
  co_return result<void>{};
}

inline asio::awaitable<result<void>> memory_metadata_store::update_user(user_record u) {
  std::lock_guard const lock(mutex_);
  auto const it = users_.find(u.name);
  if (it == users_.end())
    co_return storage_error::user_unknown;
  if (!u.admin && last_administrator(u.name))
    co_return storage_error::last_admin;
  it->second = std::move(u);
  co_return result<void>{};
}

inline asio::awaitable<result<user_record>> memory_metadata_store::get_user(std::string name) {
  std::lock_guard const lock(mutex_);
  auto const it = users_.find(name);
  if (it == users_.end())
    co_return storage_error::user_unknown;
  co_return it->second;
}

inline asio::awaitable<result<void>> memory_metadata_store::delete_user(std::string name) {
  std::lock_guard const lock(mutex_);
  if (!users_.contains(name))
    co_return storage_error::user_unknown;
  if (held_locked(name) > 0)
    co_return storage_error::namespace_in_use;
  if (last_administrator(name))
    co_return storage_error::last_admin;
  if (auto const m = memberships_.find(name); m != memberships_.end()) {
    for (auto const& [org, level] : m->second) {
      if (only_admin(org, name))
        co_return storage_error::last_admin;
    }
  }
  users_.erase(name);
  detail::erase_roles(memberships_, members_, name);
  detail::erase_roles(invitations_, invited_, name);
  if (auto const t = user_tokens_.find(name); t != user_tokens_.end()) {
    for (auto const& id : t->second)
      tokens_.erase(id);
    user_tokens_.erase(t);
  }
  orgs_created_.erase(name);
  reserved_.insert(std::move(name));
  co_return result<void>{};
}

inline asio::awaitable<result<page<user_record>>>
memory_metadata_store::list_users(std::string last, std::size_t n) {
  std::lock_guard const lock(mutex_);
  co_return detail::values_after(users_, last, n);
}

inline asio::awaitable<result<std::uint64_t>> memory_metadata_store::user_count() {
  std::lock_guard const lock(mutex_);
  co_return std::uint64_t{users_.size()};
}

inline asio::awaitable<result<void>> memory_metadata_store::create_org(org_record o, org_claim c) {
  std::lock_guard const lock(mutex_);
  if (!c.admin && c.max_orgs) {
    auto const made = orgs_created_.find(c.creator);
    if ((made == orgs_created_.end() ? 0 : made->second) >= *c.max_orgs)
      co_return storage_error::org_limit_reached;
  }
  if (users_.contains(o.name) || orgs_.contains(o.name))
    co_return storage_error::name_taken;
  if (!c.admin && namespace_claimed(o.name))
    co_return storage_error::name_reserved;
  if (!c.creator.empty() && !users_.contains(c.creator))
    co_return storage_error::user_unknown;
  std::string name = o.name;
  orgs_.emplace(name, std::move(o));
  if (!c.creator.empty()) {
    put_member(name, c.creator, role::admin);
    ++orgs_created_[c.creator];
  }
  co_return result<void>{};
}

inline asio::awaitable<result<org_record>> memory_metadata_store::get_org(std::string name) {
  std::lock_guard const lock(mutex_);
  auto const it = orgs_.find(name);
  if (it == orgs_.end())
    co_return storage_error::org_unknown;
  co_return it->second;
}

inline asio::awaitable<result<void>> memory_metadata_store::delete_org(std::string name) {
  std::lock_guard const lock(mutex_);
  if (!orgs_.contains(name))
    co_return storage_error::org_unknown;
  if (held_locked(name) > 0)
    co_return storage_error::namespace_in_use;
  orgs_.erase(name);
  detail::erase_roles(members_, memberships_, name);
  detail::erase_roles(invited_, invitations_, name);
  reserved_.insert(std::move(name));
  co_return result<void>{};
}

inline asio::awaitable<result<page<org_record>>> memory_metadata_store::list_orgs(std::string last,
                                                                                  std::size_t n) {
  std::lock_guard const lock(mutex_);
  co_return detail::values_after(orgs_, last, n);
}

inline asio::awaitable<result<void>> memory_metadata_store::set_member(std::string org,
                                                                       std::string user, role r) {
  std::lock_guard const lock(mutex_);
  if (!orgs_.contains(org))
    co_return storage_error::org_unknown;
  if (!users_.contains(user))
    co_return storage_error::user_unknown;
  if (r != role::admin && only_admin(org, user))
    co_return storage_error::last_admin;
  put_member(org, user, r);
  co_return result<void>{};
}

inline asio::awaitable<result<void>> memory_metadata_store::remove_member(std::string org,
                                                                          std::string user) {
  std::lock_guard const lock(mutex_);
  if (!orgs_.contains(org))
    co_return storage_error::org_unknown;
  auto const o = members_.find(org);
  if (o == members_.end() || !o->second.contains(user))
    co_return storage_error::member_unknown;
  if (only_admin(org, user))
    co_return storage_error::last_admin;
  detail::erase_role(members_, org, user);
  detail::erase_role(memberships_, user, org);
  co_return result<void>{};
}

inline asio::awaitable<result<std::vector<membership>>>
memory_metadata_store::members(std::string org) {
  std::lock_guard const lock(mutex_);
  if (!orgs_.contains(org))
    co_return storage_error::org_unknown;
  std::vector<membership> out;
  if (auto const o = members_.find(org); o != members_.end()) {
    for (auto const& [user, level] : o->second)
      out.push_back({org, user, level});
  }
  co_return out;
}

inline asio::awaitable<result<std::vector<membership>>>
memory_metadata_store::memberships(std::string user) {
  std::lock_guard const lock(mutex_);
  if (!users_.contains(user))
    co_return storage_error::user_unknown;
  co_return detail::roles_of_user(memberships_, user);
}

inline asio::awaitable<result<bool>> memory_metadata_store::invite(std::string org,
                                                                   std::string user, role r) {
  std::lock_guard const lock(mutex_);
  if (!orgs_.contains(org))
    co_return storage_error::org_unknown;
  if (!users_.contains(user))
    co_return storage_error::user_unknown;
  if (auto const o = members_.find(org); o != members_.end() && o->second.contains(user)) {
    if (r != role::admin && only_admin(org, user))
      co_return storage_error::last_admin;
    put_member(org, user, r);
    co_return true;
  }
  invitations_[user].insert_or_assign(org, r);
  invited_[std::move(org)].insert_or_assign(std::move(user), r);
  co_return false;
}

inline asio::awaitable<result<std::vector<membership>>>
memory_metadata_store::invitations(std::string user) {
  std::lock_guard const lock(mutex_);
  if (!users_.contains(user))
    co_return storage_error::user_unknown;
  co_return detail::roles_of_user(invitations_, user);
}

inline asio::awaitable<result<role>> memory_metadata_store::accept_invitation(std::string org,
                                                                              std::string user) {
  std::lock_guard const lock(mutex_);
  auto const m = invitations_.find(user);
  if (m == invitations_.end() || !m->second.contains(org))
    co_return storage_error::invitation_unknown;
  role const r = m->second.find(org)->second;
  put_member(org, user, r); // drops the invitation
  co_return r;
}

inline asio::awaitable<result<void>> memory_metadata_store::decline_invitation(std::string org,
                                                                               std::string user) {
  std::lock_guard const lock(mutex_);
  auto const m = invitations_.find(user);
  if (m == invitations_.end() || !m->second.contains(org))
    co_return storage_error::invitation_unknown;
  detail::erase_role(invitations_, user, org);
  detail::erase_role(invited_, org, user);
  co_return result<void>{};
}

inline asio::awaitable<result<std::uint64_t>>
memory_metadata_store::held_repositories(std::string ns) {
  std::lock_guard const lock(mutex_);
  co_return held_locked(ns);
}

inline asio::awaitable<result<std::optional<visibility>>>
memory_metadata_store::get_visibility(std::string repository) {
  std::lock_guard const lock(mutex_);
  auto const it = visibility_.find(repository);
  if (it == visibility_.end())
    co_return std::optional<visibility>{};
  co_return std::optional<visibility>{it->second};
}

inline asio::awaitable<result<void>> memory_metadata_store::set_visibility(std::string repository,
                                                                           visibility v) {
  std::lock_guard const lock(mutex_);
  visibility_.insert_or_assign(std::move(repository), v);
  co_return result<void>{};
}

inline asio::awaitable<result<void>> memory_metadata_store::add_token(access_token_record t) {
  std::lock_guard const lock(mutex_);
  if (!users_.contains(t.user))
    co_return storage_error::user_unknown;
  // A token replacing one with the same id may belong to another user: unindex the old one.
  if (auto const old = tokens_.find(t.id); old != tokens_.end()) {
    auto const ids = user_tokens_.find(old->second.user);
    ids->second.erase(t.id);
    if (ids->second.empty())
      user_tokens_.erase(ids);
  }
  user_tokens_[t.user].insert(t.id);
  std::string id = t.id;
  tokens_.insert_or_assign(std::move(id), std::move(t));
  co_return result<void>{};
}

inline asio::awaitable<result<access_token_record>>
memory_metadata_store::get_token(std::string id) {
  std::lock_guard const lock(mutex_);
  auto const it = tokens_.find(id);
  if (it == tokens_.end())
    co_return storage_error::token_unknown;
  co_return it->second;
}

inline asio::awaitable<result<std::vector<access_token_record>>>
memory_metadata_store::list_tokens(std::string user) {
  std::lock_guard const lock(mutex_);
  if (!users_.contains(user))
    co_return storage_error::user_unknown;
  std::vector<access_token_record> out;
  if (auto const ids = user_tokens_.find(user); ids != user_tokens_.end()) {
    for (auto const& id : ids->second)
      out.push_back(tokens_.find(id)->second);
  }
  co_return out;
}

inline asio::awaitable<result<void>> memory_metadata_store::delete_token(std::string id) {
  std::lock_guard const lock(mutex_);
  auto const it = tokens_.find(id);
  if (it == tokens_.end())
    co_return storage_error::token_unknown;
  auto const ids = user_tokens_.find(it->second.user);
  ids->second.erase(id);
  if (ids->second.empty())
    user_tokens_.erase(ids);
  tokens_.erase(it);
  co_return result<void>{};
}

// --- memory_metadata_store: namespaces ------------------------------------------------

inline void memory_metadata_store::note_tag(repository_state& r, std::string const& tag,
                                            pier::digest const& d) {
  auto const it = r.tags.find(tag);
  if (it == r.tags.end() || it->second != d)
    r.tag_times.insert_or_assign(tag, std::chrono::system_clock::now());
}

inline asio::awaitable<result<name_page>> memory_metadata_store::namespaces(std::string last,
                                                                            std::size_t n) {
  std::lock_guard const lock(mutex_);
  co_return detail::namespace_page(last, n, [&](std::string const& k) {
    auto const it = repositories_.lower_bound(k);
    return it == repositories_.end() ? std::optional<std::string>() : it->first;
  });
}

inline asio::awaitable<result<name_page>>
memory_metadata_store::namespace_repositories(std::string ns, std::string last, std::size_t n) {
  std::lock_guard const lock(mutex_);
  name_page p;
  std::string const prefix = ns + '/';
  detail::repositories_start const start = detail::repositories_after(ns, last);
  if (ns.empty() || ns.find('/') != std::string::npos || start.past)
    co_return p;
  auto it = start.suffix.empty() ? repositories_.lower_bound(prefix)
                                 : repositories_.upper_bound(prefix + start.suffix);
  for (; it != repositories_.end() && it->first.starts_with(prefix); ++it) {
    if (p.names.size() == n) {
      p.more = true;
      break;
    }
    p.names.push_back(it->first);
  }
  co_return p;
}

inline asio::awaitable<result<page<tag_entry>>>
memory_metadata_store::namespace_tags(std::string ns, std::string last, std::size_t n) {
  std::lock_guard const lock(mutex_);
  page<tag_entry> p;
  if (ns.empty() || ns.find('/') != std::string::npos)
    co_return p;
  std::string const prefix = ns + '/';
  detail::tag_position const from = detail::split_tag_position(last);
  auto it = repositories_.lower_bound(std::max(prefix, from.repository));
  for (; it != repositories_.end() && it->first.starts_with(prefix); ++it) {
    auto const& tags = it->second.tags;
    auto t = it->first == from.repository && !from.tag.empty() ? tags.upper_bound(from.tag)
                                                               : tags.begin();
    for (; t != tags.end(); ++t) {
      if (p.items.size() == n) {
        p.more = true;
        co_return p;
      }
      content const& c = contents_.at(t->second);
      auto const time = it->second.tag_times.find(t->first);
      p.items.push_back({it->first, t->first, t->second, c.media_type, c.bytes.size(),
                         time == it->second.tag_times.end()
                             ? std::chrono::system_clock::time_point()
                             : time->second});
    }
  }
  co_return p;
}

inline asio::awaitable<result<name_page>>
memory_metadata_store::search(std::string q, std::string last, std::size_t n) {
  std::lock_guard const lock(mutex_);
  name_page p;
  auto it = last.empty() ? repositories_.begin() : repositories_.upper_bound(last);
  for (; it != repositories_.end(); ++it) {
    if (it->first.find(q) == std::string::npos)
      continue;
    if (p.names.size() == n) {
      p.more = true;
      break;
    }
    p.names.push_back(it->first);
  }
  co_return p;
}

// --- memory_metadata_store: garbage collection ----------------------------------------

inline bool memory_metadata_store::is_orphan(repository_state const& r,
                                             pier::digest const& d) const {
  if (std::any_of(r.tags.begin(), r.tags.end(), [&](auto const& t) { return t.second == d; }))
    return false;
  if (r.referrers.contains(d))
    return false;
  // Parents are not indexed: a scan of the repository's manifests, fine in memory.
  return std::none_of(r.manifests.begin(), r.manifests.end(), [&](pier::digest const& m) {
    std::vector<pier::digest> const& children = contents_.at(m).manifests;
    return std::binary_search(children.begin(), children.end(), d);
  });
}

inline void memory_metadata_store::note_untagged(std::string const& repository,
                                                 repository_state const& r, pier::digest const& d,
                                                 time_point now) {
  if (!r.manifests.contains(d) || untagged_.contains(std::pair(repository, d)) || !is_orphan(r, d))
    return;
  untagged_.emplace(std::pair(repository, d), now);
  untagged_by_time_.emplace(now, repository, d);
}

inline void memory_metadata_store::clear_untagged(std::string const& repository,
                                                  pier::digest const& d) {
  auto const it = untagged_.find(std::pair(repository, d));
  if (it == untagged_.end())
    return;
  untagged_by_time_.erase(std::tuple(it->second, repository, d));
  untagged_.erase(it);
}

inline void memory_metadata_store::point_tag(std::string const& repository, repository_state& r,
                                             std::string const& tag, pier::digest const& d) {
  pier::digest& target = r.tags[tag];
  pier::digest const old = std::exchange(target, d);
  clear_untagged(repository, d);
  if (!old.empty() && old != d)
    note_untagged(repository, r, old, std::chrono::system_clock::now());
}

inline void memory_metadata_store::erase_manifest(std::string const& repository,
                                                  repository_state& r, pier::digest const& d,
                                                  time_point now) {
  r.manifests.erase(d);
  std::erase_if(r.tags, [&](auto const& t) { return t.second == d; });
  clear_untagged(repository, d);

  auto const decrement = [](auto& counts, pier::digest const& key) {
    auto const it = counts.find(key);
    if (it != counts.end() && --it->second == 0)
      counts.erase(it);
  };
  auto const cit = contents_.find(d);
  content& c = cit->second;
  for (pier::digest const& b : c.blobs) {
    decrement(blob_refs_, b);
    decrement(r.blob_uses, b);
  }
  count_in_namespace(repository, c.blobs, -1);
  for (pier::digest const& x : c.manifests)
    decrement(manifest_refs_, x);
  if (c.subject) {
    auto const s = r.referrers.find(c.subject->subject);
    if (s != r.referrers.end()) {
      s->second.erase(d);
      if (s->second.empty())
        r.referrers.erase(s);
    }
  }
  std::vector<pier::digest> const children = c.manifests;
  std::optional<pier::digest> const subject =
      c.subject ? std::optional(c.subject->subject) : std::nullopt;
  if (--c.repositories == 0)
    contents_.erase(cit);
  // An index's children that lost their last parent here, and a subject that lost its last
  // referrer, are untagged from now on.
  for (pier::digest const& x : children)
    note_untagged(repository, r, x, now);
  if (subject)
    note_untagged(repository, r, *subject, now);
}

inline asio::awaitable<result<void>> memory_metadata_store::touch_blob(pier::digest d) {
  std::lock_guard const lock(mutex_);
  // Only blobs that are known: a touch does not make a record of a digest nobody linked.
  if (auto const it = blob_times_.find(d.str()); it != blob_times_.end())
    it->second = std::chrono::system_clock::now();
  co_return result<void>{};
}

inline asio::awaitable<result<std::vector<unreferenced_blob>>>
memory_metadata_store::unreferenced_blobs(time_point before, std::string after, std::size_t n) {
  std::lock_guard const lock(mutex_);
  std::vector<unreferenced_blob> out;
  for (auto it = blob_times_.upper_bound(after); it != blob_times_.end() && out.size() < n; ++it) {
    if (it->second >= before)
      continue;
    pier::digest d = parse_digest(it->first).value(); // stored from a digest
    if (!blob_refs_.contains(d))
      out.push_back({std::move(d), it->second});
  }
  co_return out;
}

inline bool memory_metadata_store::release_locked(pier::digest const& d, time_point before) {
  auto const it = blob_times_.find(d.str());
  if (it == blob_times_.end() || it->second >= before || blob_refs_.contains(d))
    return false;
  // Links are not indexed by blob: one pass over the repositories, fine in memory (the
  // RocksDB store keeps reverse links).
  for (auto& [name, r] : repositories_) {
    if (r.blobs.erase(d) > 0)
      (void)link_in_namespace(name, d, -1);
  }
  blob_times_.erase(it);
  return true;
}

inline asio::awaitable<result<bool>> memory_metadata_store::release_blob(pier::digest d,
                                                                         time_point before) {
  std::lock_guard const lock(mutex_);
  co_return release_locked(d, before);
}

inline asio::awaitable<result<std::vector<pier::digest>>>
memory_metadata_store::release_blobs(std::vector<pier::digest> ds, time_point before) {
  std::sort(ds.begin(), ds.end());
  std::lock_guard const lock(mutex_);
  std::vector<pier::digest> out;
  for (pier::digest& d : ds)
    if (release_locked(d, before)) // a repeated digest is released the first time only
      out.push_back(std::move(d));
  co_return out;
}

inline asio::awaitable<result<bool>> memory_metadata_store::knows_blob(pier::digest d) {
  std::lock_guard const lock(mutex_);
  // Every link records a use, and only `release_blob` forgets it, with the links.
  co_return blob_times_.contains(d.str()) || blob_refs_.contains(d);
}

inline asio::awaitable<result<std::vector<untagged_manifest>>>
memory_metadata_store::untagged_manifests(time_point before, std::size_t n) {
  std::lock_guard const lock(mutex_);
  std::vector<untagged_manifest> out;
  for (auto it = untagged_by_time_.begin();
       it != untagged_by_time_.end() && std::get<0>(*it) < before && out.size() < n; ++it)
    out.push_back({std::get<1>(*it), std::get<2>(*it), std::get<0>(*it)});
  co_return out;
}

inline asio::awaitable<result<bool>>
memory_metadata_store::remove_untagged(std::string repository, pier::digest d, time_point before) {
  std::lock_guard const lock(mutex_);
  auto const it = untagged_.find(std::pair(repository, d));
  if (it == untagged_.end() || it->second >= before)
    co_return false;
  repository_state& r = repositories_.at(repository); // it holds `d`
  if (!is_orphan(r, d))
    co_return false; // every change that adopts `d` clears the record: not expected
  erase_manifest(repository, r, d, std::chrono::system_clock::now());
  co_return true;
}

// QuotaStore

inline void memory_metadata_store::count_references(repository_state const& r,
                                                    reference_counts& counts) const {
  for (pier::digest const& m : r.manifests) {
    auto const c = contents_.find(m);
    if (c == contents_.end())
      continue;
    for (pier::digest const& b : c->second.blobs)
      ++counts[b];
  }
}

inline storage_usage memory_metadata_store::usage_of(reference_counts const& counts) const {
  storage_usage u;
  for (auto const& [b, pairs] : counts) {
    auto const size = blob_sizes_.find(b);
    if (size == blob_sizes_.end())
      continue;
    auto const all = blob_refs_.find(b);
    bool const shared = all != blob_refs_.end() && all->second > pairs;
    (shared ? u.shared_bytes : u.unique_bytes) += size->second;
  }
  return u;
}

inline std::optional<std::uint64_t> memory_metadata_store::limit_of(std::string_view ns) const {
  std::optional<std::uint64_t> const own = quota_of(ns);
  return own ? own : default_quota_;
}

inline void memory_metadata_store::set_default_quota(std::optional<std::uint64_t> bytes) {
  std::lock_guard const lock(mutex_);
  default_quota_ = bytes;
}

inline std::optional<std::uint64_t> memory_metadata_store::quota_of(std::string_view ns) const {
  auto const it = quotas_.find(ns);
  return it == quotas_.end() ? std::nullopt : std::optional<std::uint64_t>(it->second);
}

inline asio::awaitable<result<void>>
memory_metadata_store::set_quota(std::string ns, std::optional<std::uint64_t> bytes) {
  std::lock_guard const lock(mutex_);
  if (bytes)
    quotas_[ns] = *bytes;
  else
    quotas_.erase(ns);
  co_return result<void>{};
}

inline asio::awaitable<result<std::optional<std::uint64_t>>>
memory_metadata_store::get_quota(std::string ns) {
  std::lock_guard const lock(mutex_);
  co_return quota_of(ns);
}

inline auto memory_metadata_store::totals_of(std::string_view ns) const -> namespace_totals const* {
  auto const it = namespace_totals_.find(ns);
  return it == namespace_totals_.end() ? nullptr : &it->second;
}

inline bool memory_metadata_store::over_quota(std::string_view ns,
                                              std::vector<pier::digest> const& blobs) const {
  std::optional<std::uint64_t> const quota = limit_of(ns);
  if (!quota)
    return false;
  std::uint64_t const added = new_bytes(ns, blobs);
  namespace_totals const* const totals = totals_of(ns);
  return added > 0 && (totals != nullptr ? totals->bytes : 0) + added > *quota;
}

inline std::uint64_t
memory_metadata_store::new_bytes(std::string_view ns,
                                 std::vector<pier::digest> const& blobs) const {
  namespace_totals const* const totals = totals_of(ns);
  std::uint64_t added = 0;
  for (pier::digest const& b : blobs) {
    if (totals != nullptr && totals->blobs.contains(b))
      continue;
    if (auto const size = blob_sizes_.find(b); size != blob_sizes_.end())
      added += size->second;
  }
  return added;
}

inline void memory_metadata_store::count_in_namespace(std::string_view repository,
                                                      std::vector<pier::digest> const& blobs,
                                                      int delta) {
  std::string_view const ns = namespace_of(repository);
  if (ns.empty())
    return;
  for (pier::digest const& b : blobs)
    change_namespace_entry(ns, b, delta, 0);
}

inline result<void> memory_metadata_store::link_in_namespace(std::string_view repository,
                                                             pier::digest const& d, int delta) {
  std::string_view const ns = namespace_of(repository);
  if (ns.empty())
    return {};
  if (delta > 0 && over_quota(ns, {d}))
    return storage_error::quota_exceeded;
  change_namespace_entry(ns, d, 0, delta);
  return {};
}

inline void memory_metadata_store::change_namespace_entry(std::string_view ns,
                                                          pier::digest const& d, int count,
                                                          int links) {
  auto it = namespace_totals_.find(ns);
  if (it == namespace_totals_.end()) {
    if (count < 0 || links < 0)
      return;
    it = namespace_totals_.emplace(std::string(ns), namespace_totals{}).first;
  }
  namespace_totals& t = it->second;
  auto e = t.blobs.find(d);
  if (e == t.blobs.end()) {
    if (count < 0 || links < 0)
      return;
    auto const size = blob_sizes_.find(d);
    namespace_blob fresh;
    fresh.size = size == blob_sizes_.end() ? 0 : size->second;
    t.bytes += fresh.size;
    e = t.blobs.emplace(d, fresh).first;
  }
  e->second.count = detail::stepped(e->second.count, count);
  e->second.links = detail::stepped(e->second.links, links);
  if (e->second.count == 0 && e->second.links == 0) {
    t.bytes -= std::min(t.bytes, e->second.size);
    t.blobs.erase(e);
  }
  if (t.blobs.empty())
    namespace_totals_.erase(it);
}

inline asio::awaitable<result<namespace_usage>>
memory_metadata_store::usage(std::string ns, std::string last, std::size_t n) {
  std::lock_guard const lock(mutex_);
  namespace_usage out;
  out.quota = quota_of(ns);
  if (ns.empty() || ns.find('/') != std::string::npos)
    co_return out;
  if (namespace_totals const* const totals = totals_of(ns)) {
    for (auto const& [b, e] : totals->blobs) {
      if (e.count == 0) {
        out.usage.unreferenced_bytes += e.size; // linked only
        continue;
      }
      auto const all = blob_refs_.find(b);
      bool const shared = all != blob_refs_.end() && all->second > e.count;
      (shared ? out.usage.shared_bytes : out.usage.unique_bytes) += e.size;
    }
  }
  std::string const prefix = ns + '/';
  for (auto it = repositories_.upper_bound(std::max(last, prefix));
       it != repositories_.end() && it->first.starts_with(prefix); ++it) {
    if (out.repositories.items.size() == n) {
      out.repositories.more = true;
      break;
    }
    reference_counts mine;
    count_references(it->second, mine);
    out.repositories.items.push_back({it->first, usage_of(mine)});
  }
  co_return out;
}

inline asio::awaitable<result<quota_state>>
memory_metadata_store::charge(std::string repository, std::vector<sized_blob> blobs) {
  std::lock_guard const lock(mutex_);
  quota_state out;
  std::string_view const ns = namespace_of(repository);
  out.quota = ns.empty() ? std::nullopt : quota_of(ns);
  // Counted with or without a quota of its own: the registry may apply a default one.
  namespace_totals const* const totals = ns.empty() ? nullptr : totals_of(ns);
  if (totals != nullptr)
    out.used = totals->bytes;
  std::set<pier::digest, std::less<>> seen;
  for (sized_blob const& b : blobs) {
    blob_sizes_[b.digest] = b.size;
    if (seen.insert(b.digest).second && (totals == nullptr || !totals->blobs.contains(b.digest)))
      out.added += b.size; // not yet referenced (nor listed twice)
  }
  co_return out;
}

} // namespace storage
PIER_END_NAMESPACE

#endif // PIER_STORAGE_IMPL_MEMORY_HPP
