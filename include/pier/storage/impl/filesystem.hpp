// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_IMPL_FILESYSTEM_HPP
#define PIER_STORAGE_IMPL_FILESYSTEM_HPP

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <string_view>
#include <system_error>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

PIER_BEGIN_NAMESPACE
namespace storage {
namespace detail {

/// "blobs/sha256/ab", the directory of a digest's blob, relative to the root.
inline std::string blob_dir(digest_view d) {
  std::string p = "blobs/";
  p += name(d.algorithm());
  p += '/';
  p += d.encoded().substr(0, 2);
  return p;
}

/// "blobs/sha256/ab/abcdef…", relative to the root.
inline std::string blob_file(digest_view d) {
  std::string p = blob_dir(d);
  p += '/';
  p += d.encoded();
  return p;
}

inline std::string upload_file(std::string_view id) {
  std::string p = "uploads/";
  p += id;
  return p;
}

/// Creates the directories `parent/child` that are missing, then fsyncs `parent` once if
/// any was created, so that their entries survive a crash.
template <class Children>
std::error_code make_dirs(int root_fd, char const* parent, Children const& children) {
  bool created = false;
  for (std::string const& child : children) {
    std::string const path = std::string(parent) + "/" + child;
    if (::mkdirat(root_fd, path.c_str(), 0755) == 0)
      created = true;
    else if (errno != EEXIST)
      return last_error();
  }
  return created ? fsync_dir(root_fd, parent) : std::error_code{};
}

/// The modification times a commit stamps on a blob: `t` rounded up to the second, so
/// that a file system that keeps coarser times than nanoseconds never records it earlier
/// than the commit; access time untouched.
inline std::array<struct ::timespec, 2> commit_stamp(std::chrono::system_clock::time_point t) {
  auto const s = std::chrono::ceil<std::chrono::seconds>(t.time_since_epoch());
  return {{{0, UTIME_OMIT}, {static_cast<::time_t>(s.count()), 0}}};
}

inline std::chrono::system_clock::time_point modified_time(struct ::stat const& st) {
  auto const ns =
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(ns));
}

} // namespace detail

inline result<filesystem_blob_store> filesystem_blob_store::create(std::filesystem::path root,
                                                                   filesystem_options options) {
  std::error_code ec;
  root = std::filesystem::absolute(root, ec);
  if (ec)
    return ec;
  if (std::filesystem::create_directories(root, ec)) {
    if (std::error_code const e = detail::fsync_dir(AT_FDCWD, root.parent_path().c_str()))
      return e;
  } else if (ec) {
    return ec;
  }
  detail::unique_fd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd)
    return detail::last_error();

  // The 2-hex shard directories are made by the first commit that needs one.
  std::string const top[] = {"blobs", "uploads"};
  if ((ec = detail::make_dirs(root_fd.get(), ".", top)))
    return ec;
  std::string const algorithms[] = {std::string(name(digest_algorithm::sha256)),
                                    std::string(name(digest_algorithm::sha512))};
  if ((ec = detail::make_dirs(root_fd.get(), "blobs", algorithms)))
    return ec;
  std::size_t const threads = options.blocking_threads == 0 ? 1 : options.blocking_threads;
  auto s = std::make_unique<state>(std::move(root), std::move(root_fd), threads);
  s->min_free_space = options.min_free_space;
  return filesystem_blob_store(std::move(s));
}

inline result<void> filesystem_blob_store::check_free_space(std::uint64_t bytes) const {
  if (s_->min_free_space == 0)
    return {};
  struct ::statvfs fs {};
  if (::fstatvfs(s_->root_fd.get(), &fs) != 0)
    return detail::last_error();
  // f_bavail: what an unprivileged writer may use (root's reserved blocks do not count).
  std::uint64_t const free = std::uint64_t{fs.f_bavail} * fs.f_frsize;
  if (free < s_->min_free_space || free - s_->min_free_space < bytes)
    return storage_error::space_reserved;
  return {};
}

inline std::filesystem::path const& filesystem_blob_store::root() const noexcept {
  return s_->root;
}

inline std::filesystem::path filesystem_blob_store::path_of(pier::digest_view d) const {
  return s_->root / detail::blob_file(d);
}

inline std::shared_ptr<detail::upload_state>
filesystem_blob_store::find_upload(upload_id const& id) {
  std::lock_guard const lock(s_->mutex);
  if (auto const it = s_->uploads.find(id); it != s_->uploads.end())
    return it->second;
  if (!is_upload_id(id))
    return nullptr; // never let a client-chosen string reach a path
  // Not known to this process: an upload begun before a restart?
  struct ::stat st {};
  if (::fstatat(s_->root_fd.get(), detail::upload_file(id).c_str(), &st, 0) != 0 ||
      !S_ISREG(st.st_mode))
    return nullptr;
  auto u = detail::make_upload_state(detail::unique_fd(), static_cast<std::uint64_t>(st.st_size),
                                     false); // the hash is lost: commit hashes the file
  s_->uploads.emplace(id, u);
  return u;
}

inline void filesystem_blob_store::forget_upload(upload_id const& id) {
  std::lock_guard const lock(s_->mutex);
  s_->uploads.erase(id);
}

inline asio::awaitable<result<blob_info>> filesystem_blob_store::stat(pier::digest d) {
  struct ::stat st {};
  if (::fstatat(s_->root_fd.get(), detail::blob_file(d).c_str(), &st, 0) != 0) {
    if (errno == ENOENT)
      co_return storage_error::blob_unknown;
    co_return detail::last_error();
  }
  co_return blob_info{static_cast<std::uint64_t>(st.st_size)};
}

inline asio::awaitable<result<blob_source>>
filesystem_blob_store::open(pier::digest d, std::uint64_t offset,
                            std::optional<std::uint64_t> length) {
  auto fd = std::make_shared<detail::unique_fd>(
      ::openat(s_->root_fd.get(), detail::blob_file(d).c_str(), O_RDONLY | O_CLOEXEC));
  if (!*fd) {
    if (errno == ENOENT)
      co_return storage_error::blob_unknown;
    co_return detail::last_error();
  }
  struct ::stat st {};
  if (::fstat(fd->get(), &st) != 0)
    co_return detail::last_error();
  result<std::uint64_t> const n =
      detail::clamp_range(static_cast<std::uint64_t>(st.st_size), offset, length);
  if (!n)
    co_return n.error();
  int const raw = fd->get();
  co_return blob_source{file_region{std::move(fd), raw, offset, *n}};
}

inline asio::awaitable<result<upload_id>> filesystem_blob_store::begin_upload() {
  if (result<void> const room = check_free_space(0); !room)
    co_return room.error();
  upload_id id = make_upload_id();
  detail::unique_fd const fd(::openat(s_->root_fd.get(), detail::upload_file(id).c_str(),
                                      O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd)
    co_return detail::last_error();
  // The session keeps no descriptor: each write and the commit open the file again.
  std::lock_guard const lock(s_->mutex);
  s_->uploads.emplace(id, detail::make_upload_state(detail::unique_fd(), 0, true));
  co_return id;
}

inline asio::awaitable<result<std::uint64_t>>
filesystem_blob_store::append(upload_id id, std::span<std::byte const> bytes,
                              std::optional<std::uint64_t> offset) {
  std::shared_ptr<detail::upload_state> const u = find_upload(id);
  if (!u)
    co_return storage_error::upload_unknown;
  if (result<void> const room = check_free_space(bytes.size()); !room)
    co_return room.error();
  std::lock_guard const lock(u->mutex); // no co_await until it goes
  if (std::error_code const ec = detail::check_append(*u, offset))
    co_return ec;
  // Open for this write only, so that an idle session holds no descriptor.
  detail::unique_fd const fd(
      ::openat(s_->root_fd.get(), detail::upload_file(id).c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd)
    co_return errno == ENOENT ? storage_error::upload_unknown : detail::last_error();
  co_return detail::append_locked(*u, fd.get(), bytes, offset);
}

inline asio::awaitable<result<std::uint64_t>> filesystem_blob_store::upload_size(upload_id id) {
  std::shared_ptr<detail::upload_state> const u = find_upload(id);
  if (!u)
    co_return storage_error::upload_unknown;
  std::lock_guard const lock(u->mutex);
  if (u->closed)
    co_return storage_error::upload_unknown;
  co_return u->size;
}

inline asio::awaitable<result<blob_info>>
filesystem_blob_store::commit(upload_id id, pier::digest expected,
                              std::optional<std::uint64_t> size) {
  std::shared_ptr<detail::upload_state> const u = find_upload(id);
  if (!u || !detail::close_upload(*u))
    co_return storage_error::upload_unknown;

  int const root = s_->root_fd.get();
  std::string const temp = detail::upload_file(id);
  bool keep = false; // the file could not be opened for a reason other than its absence
  // All of this blocks on the disk (and may read the whole upload): the store's threads.
  result<blob_info> r = co_await storage::offload(s_->pool, [&]() -> result<blob_info> {
    // Opened only here, so that a commit waiting for a thread holds no descriptor.
    u->fd = detail::unique_fd(::openat(root, temp.c_str(), O_RDONLY | O_CLOEXEC));
    if (!u->fd) {
      if (errno == ENOENT)
        return storage_error::upload_unknown;
      std::error_code const ec = detail::last_error(); // EMFILE, say: the client may retry
      std::lock_guard const reopen(u->mutex);
      u->closed = false;
      keep = true;
      return ec;
    }
    auto const remove_temp = [&] {
      ::unlinkat(root, temp.c_str(), 0); // failing, it stays an orphan for GC
      u->fd.reset();
    };
    auto const discard = [&](std::error_code ec) -> result<blob_info> {
      remove_temp();
      return ec;
    };
    result<blob_info> const info = detail::verify_upload(*u, expected, size);
    if (!info)
      return discard(info.error());

    std::string const dir = detail::blob_dir(expected);
    std::string const target = detail::blob_file(expected);
    // From here to the rename, GC's `remove_if_unused_since` of this digest waits: it
    // sees the blob stamped with this commit's time, or removes it before it is stored.
    std::lock_guard const lock(s_->commit_lock(expected));
    auto const stamp = detail::commit_stamp(std::chrono::system_clock::now());
    struct ::stat st {};
    if (::fstatat(root, target.c_str(), &st, 0) == 0) {
      // Already stored: keep that file. Its commit may have crashed between rename and
      // the directory fsync, so fsync the directory before claiming durability.
      remove_temp();
      if (::utimensat(root, target.c_str(), stamp.data(), 0) != 0)
        return detail::last_error();
      if (std::error_code const ec = detail::fsync_dir(root, dir.c_str()))
        return ec;
      return info;
    }
    if (std::error_code const ec = detail::fsync_fd(u->fd.get()))
      return discard(ec);
    std::string const shard[] = {std::string(expected.encoded().substr(0, 2))};
    std::string const parent = "blobs/" + std::string(name(expected.algorithm()));
    if (std::error_code const ec = detail::make_dirs(root, parent.c_str(), shard))
      return discard(ec);
    if (::futimens(u->fd.get(), stamp.data()) != 0)
      return discard(detail::last_error());
    if (::renameat(root, temp.c_str(), root, target.c_str()) != 0)
      return discard(detail::last_error());
    u->fd.reset();
    if (std::error_code const ec = detail::fsync_dir(root, dir.c_str()))
      return ec; // in place, perhaps not durable: the caller links nothing to it
    return info;
  });
  if (!keep)
    forget_upload(id);
  co_return r;
}

inline asio::awaitable<result<void>> filesystem_blob_store::abort(upload_id id) {
  std::shared_ptr<detail::upload_state> const u = find_upload(id);
  if (!u || !detail::close_upload(*u))
    co_return storage_error::upload_unknown;
  int const rc = ::unlinkat(s_->root_fd.get(), detail::upload_file(id).c_str(), 0);
  std::error_code const ec = rc != 0 && errno != ENOENT ? detail::last_error() : std::error_code{};
  u->fd.reset();
  forget_upload(id);
  if (ec)
    co_return ec;
  co_return result<void>{};
}

inline asio::awaitable<result<void>> filesystem_blob_store::remove(pier::digest d) {
  if (::unlinkat(s_->root_fd.get(), detail::blob_file(d).c_str(), 0) != 0) {
    if (errno == ENOENT)
      co_return storage_error::blob_unknown;
    co_return detail::last_error();
  }
  co_return result<void>{};
}

inline asio::awaitable<result<bool>>
filesystem_blob_store::remove_if_unused_since(pier::digest d,
                                              std::chrono::system_clock::time_point before) {
  // The lock may wait for a commit's fsync: the store's threads, not the caller's.
  co_return co_await storage::offload(s_->pool, [&]() -> result<bool> {
    std::lock_guard const lock(s_->commit_lock(d));
    std::string const file = detail::blob_file(d);
    struct ::stat st {};
    if (::fstatat(s_->root_fd.get(), file.c_str(), &st, 0) != 0)
      return errno == ENOENT ? result<bool>(storage_error::blob_unknown) : detail::last_error();
    if (detail::modified_time(st) >= before)
      return false;
    if (::unlinkat(s_->root_fd.get(), file.c_str(), 0) != 0)
      return errno == ENOENT ? result<bool>(storage_error::blob_unknown) : detail::last_error();
    return true;
  });
}

inline asio::awaitable<result<blob_info>>
filesystem_blob_store::put(std::span<std::byte const> bytes, pier::digest expected) {
  result<upload_id> id = co_await begin_upload();
  if (!id)
    co_return id.error();
  if (result<std::uint64_t> const n = co_await append(*id, bytes, 0); !n) {
    (void)co_await abort(*id);
    co_return n.error();
  }
  co_return co_await commit(std::move(*id), std::move(expected), bytes.size());
}

// --- fsck (registry/fsck.hpp) -----------------------------------------------------------

namespace detail {

/// The names of the entries of directory `dir` (relative to `root_fd`) for which `keep`
/// holds, sorted; empty when the directory does not exist.
template <class Keep>
result<std::vector<std::string>> sorted_entries(int root_fd, std::string const& dir, Keep keep) {
  std::vector<std::string> names;
  int const fd = ::openat(root_fd, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? result<std::vector<std::string>>(names) : last_error();
  std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(fd), &::closedir);
  if (!d) {
    ::close(fd);
    return last_error();
  }
  while (struct ::dirent const* e = ::readdir(d.get())) {
    std::string_view const name(e->d_name);
    if (name != "." && name != ".." && keep(name))
      names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace detail

inline asio::awaitable<result<page<stored_blob>>>
filesystem_blob_store::list_blobs(std::string after, std::size_t n) {
  co_return co_await storage::offload(s_->pool, [&]() -> result<page<stored_blob>> {
    page<stored_blob> out;
    int const root = s_->root_fd.get();
    // "sha256" sorts before "sha512", and shards are prefixes of the hex: walking the
    // algorithms, then the shards, then the files, each sorted, is digest order.
    for (digest_algorithm const a : {digest_algorithm::sha256, digest_algorithm::sha512}) {
      std::string const alg_dir = "blobs/" + std::string(name(a));
      std::string const prefix = std::string(name(a)) + ":";
      if (!after.empty() && prefix + "~" < after)
        continue; // everything of this algorithm comes before `after`
      result<std::vector<std::string>> const shards =
          detail::sorted_entries(root, alg_dir, [](std::string_view x) { return x.size() == 2; });
      if (!shards)
        return shards.error();
      for (std::string const& shard : *shards) {
        if (!after.empty() && prefix + shard + "~" < after)
          continue;
        std::string const dir = alg_dir + "/" + shard;
        result<std::vector<std::string>> const files =
            detail::sorted_entries(root, dir, [&](std::string_view x) {
              return x.substr(0, 2) == shard && prefix + std::string(x) > after;
            });
        if (!files)
          return files.error();
        for (std::string const& f : *files) {
          result<pier::digest> d = parse_digest(prefix + f);
          if (!d)
            continue; // not a blob: a stray file
          struct ::stat st {};
          if (::fstatat(root, (dir + "/" + f).c_str(), &st, 0) != 0) {
            if (errno == ENOENT)
              continue; // removed since the listing
            return detail::last_error();
          }
          if (out.items.size() == n) {
            out.more = true;
            return out;
          }
          out.items.push_back(
              {std::move(*d), static_cast<std::uint64_t>(st.st_size), detail::modified_time(st)});
        }
      }
    }
    return out;
  });
}

inline asio::awaitable<result<std::vector<stored_upload>>> filesystem_blob_store::list_uploads() {
  co_return co_await storage::offload(s_->pool, [&]() -> result<std::vector<stored_upload>> {
    int const root = s_->root_fd.get();
    result<std::vector<std::string>> const names =
        detail::sorted_entries(root, "uploads", [](std::string_view x) { return is_upload_id(x); });
    if (!names)
      return names.error();
    std::vector<stored_upload> out;
    for (std::string const& id : *names) {
      struct ::stat st {};
      if (::fstatat(root, detail::upload_file(id).c_str(), &st, 0) != 0) {
        if (errno == ENOENT)
          continue;
        return detail::last_error();
      }
      out.push_back({id, static_cast<std::uint64_t>(st.st_size), detail::modified_time(st)});
    }
    return out;
  });
}

inline asio::awaitable<result<std::pair<pier::digest, std::uint64_t>>>
filesystem_blob_store::hash_blob(pier::digest d) {
  using out_type = result<std::pair<pier::digest, std::uint64_t>>;
  co_return co_await storage::offload(s_->pool, [&]() -> out_type {
    detail::unique_fd fd(
        ::openat(s_->root_fd.get(), detail::blob_file(d).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
      return errno == ENOENT ? out_type(storage_error::blob_unknown) : detail::last_error();
    hasher h(d.algorithm());
    std::array<char, 64 * 1024> buffer{};
    std::uint64_t size = 0;
    for (;;) {
      ::ssize_t const got = ::read(fd.get(), buffer.data(), buffer.size());
      if (got < 0) {
        if (errno == EINTR)
          continue;
        return detail::last_error();
      }
      if (got == 0)
        break;
      h.update(buffer.data(), static_cast<std::size_t>(got));
      size += static_cast<std::uint64_t>(got);
    }
    return std::pair<pier::digest, std::uint64_t>(h.finish(), size);
  });
}

} // namespace storage
PIER_END_NAMESPACE

#endif // PIER_STORAGE_IMPL_FILESYSTEM_HPP
