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

// --- memory_kv_driver -------------------------------------------------------------------

namespace detail {

class memory_snapshot final : public kv_snapshot {
public:
  explicit memory_snapshot(std::shared_ptr<memory_kv_driver::tables const> t) noexcept
      : tables(std::move(t)) {}
  std::shared_ptr<memory_kv_driver::tables const> tables;
};

} // namespace detail

inline std::shared_ptr<memory_kv_driver::tables const> memory_kv_driver::hold() const {
  std::shared_lock const lock(mutex_);
  return tables_;
}

inline result<std::optional<std::string>>
memory_kv_driver::get(kv_table t, std::string_view key, kv_view at) const {
  auto const find = [&](tables const& ts) {
    auto const& m = ts[static_cast<std::size_t>(t)];
    auto const it = m.find(key);
    return it == m.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
  };
  if (at)
    return find(*static_cast<detail::memory_snapshot const*>(at)->tables);
  std::shared_lock const lock(mutex_);
  return find(*tables_);
}

inline result<void> memory_kv_driver::scan(kv_table t, std::string_view from, std::string_view to,
                                           kv_view at, kv_visitor visit) const {
  // The visitor may read again (and another thread write): walk tables nobody changes.
  std::shared_ptr<tables const> const held =
      at ? static_cast<detail::memory_snapshot const*>(at)->tables : hold();
  auto const& m = (*held)[static_cast<std::size_t>(t)];
  for (auto it = m.lower_bound(from); it != m.end(); ++it) {
    if (!to.empty() && std::string_view(it->first) >= to)
      break;
    if (!visit(it->first, it->second))
      break;
  }
  return {};
}

inline std::unique_ptr<kv_snapshot> memory_kv_driver::snapshot() const {
  return std::make_unique<detail::memory_snapshot>(hold());
}

inline result<void> memory_kv_driver::write(kv_batch const& batch, bool) {
  std::unique_lock const lock(mutex_);
  if (tables_.use_count() > 1)
    tables_ = std::make_shared<tables>(*tables_); // a reader holds these: change a copy
  for (kv_batch::change const& c : batch.changes()) {
    auto& m = (*tables_)[static_cast<std::size_t>(c.table)];
    if (c.erase) {
      if (auto it = m.find(c.key); it != m.end())
        m.erase(it);
    } else {
      m.insert_or_assign(c.key, c.value);
    }
  }
  return {};
}

inline memory_metadata_store::memory_metadata_store(kv_options options)
    : kv_metadata_store([&] {
        result<kv_metadata_store> s =
            kv_metadata_store::open(std::make_shared<memory_kv_driver>(), options);
        if (!s) // a new driver holds nothing to upgrade: nothing fails
          throw std::system_error(s.error());
        return std::move(*s);
      }()) {}

} // namespace storage
PIER_END_NAMESPACE

#endif // PIER_STORAGE_IMPL_MEMORY_HPP
