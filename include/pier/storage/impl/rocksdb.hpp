// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_IMPL_ROCKSDB_HPP
#define PIER_STORAGE_IMPL_ROCKSDB_HPP

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/status.h>
#include <rocksdb/write_batch.h>

#include <sys/statvfs.h>

#include <array>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace storage {
namespace detail {

class rocksdb_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.rocksdb"; }
  std::string message(int ev) const override {
    using code = rocksdb::Status::Code;
    switch (static_cast<code>(ev)) {
    case code::kOk: return "ok";
    case code::kNotFound: return "RocksDB: not found";
    case code::kCorruption: return "RocksDB: corruption";
    case code::kNotSupported: return "RocksDB: not supported";
    case code::kInvalidArgument: return "RocksDB: invalid argument";
    case code::kIOError: return "RocksDB: I/O error (or the database is locked by a process)";
    case code::kMergeInProgress: return "RocksDB: merge in progress";
    case code::kIncomplete: return "RocksDB: incomplete";
    case code::kShutdownInProgress: return "RocksDB: shutdown in progress";
    case code::kTimedOut: return "RocksDB: timed out";
    case code::kAborted: return "RocksDB: aborted";
    case code::kBusy: return "RocksDB: busy";
    case code::kExpired: return "RocksDB: expired";
    case code::kTryAgain: return "RocksDB: try again";
    case code::kCompactionTooLarge: return "RocksDB: compaction too large";
    case code::kColumnFamilyDropped: return "RocksDB: column family dropped";
    case code::kMaxCode: break;
    }
    return "RocksDB: unknown error";
  }
  std::error_condition default_error_condition(int) const noexcept override {
    return {static_cast<int>(oci_error::unknown), oci_category()};
  }
};

} // namespace detail

inline std::error_category const& rocksdb_category() noexcept {
  static detail::rocksdb_category_impl const instance;
  return instance;
}

namespace detail {

/// Only for a status that is not ok. A full disk is `no_space`, whatever RocksDB was doing:
/// the registry answers it with 507, not 500.
inline std::error_code to_error(rocksdb::Status const& s) noexcept {
  if (s.IsNoSpace() || s.subcode() == rocksdb::Status::kSpaceLimit)
    return storage_error::no_space;
  return {static_cast<int>(s.code()), rocksdb_category()};
}

/// RocksDB's log without a LOG file (see `rocksdb_options::on_log`): messages of level WARN
/// and above go to a callback.
class rocksdb_logger final : public rocksdb::Logger {
public:
  explicit rocksdb_logger(std::function<void(bool, std::string_view)> sink)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), sink_(std::move(sink)) {}

  using rocksdb::Logger::Logv;
  void Logv(char const*, std::va_list) override {} // no level: RocksDB's informational lines
  void Logv(rocksdb::InfoLogLevel level, char const* format, std::va_list ap) override {
    if (!sink_ || level < GetInfoLogLevel() || level == rocksdb::InfoLogLevel::HEADER_LEVEL)
      return;
    std::array<char, 1024> line{};
    int const n = std::vsnprintf(line.data(), line.size(), format, ap);
    if (n > 0)
      sink_(level >= rocksdb::InfoLogLevel::ERROR_LEVEL,
            std::string_view(line.data(), std::min<std::size_t>(std::size_t(n), line.size() - 1)));
  }

private:
  std::function<void(bool, std::string_view)> sink_;
};

class rocksdb_snapshot final : public kv_snapshot {
public:
  explicit rocksdb_snapshot(rocksdb::DB& db) : db_(db), snap_(db.GetSnapshot()) {}
  rocksdb_snapshot(rocksdb_snapshot const&) = delete;
  rocksdb_snapshot& operator=(rocksdb_snapshot const&) = delete;
  ~rocksdb_snapshot() override { db_.ReleaseSnapshot(snap_); }

  rocksdb::Snapshot const* get() const noexcept { return snap_; }

private:
  rocksdb::DB& db_;
  rocksdb::Snapshot const* snap_;
};

} // namespace detail

class rocksdb_kv_driver final : public kv_driver {
public:
  rocksdb_kv_driver(std::string path, rocksdb_options const& o)
      : path_(std::move(path)), min_free_space_(o.min_free_space), on_log_(o.on_log) {}
  rocksdb_kv_driver(rocksdb_kv_driver const&) = delete;
  rocksdb_kv_driver& operator=(rocksdb_kv_driver const&) = delete;
  ~rocksdb_kv_driver() override {
    if (db_) {
      for (rocksdb::ColumnFamilyHandle* h : handles_)
        db_->DestroyColumnFamilyHandle(h);
      db_->Close();
    }
  }

  result<void> open(rocksdb_options const& options) {
    std::error_code ec;
    std::filesystem::create_directories(path_, ec);
    if (ec)
      return ec;
    rocksdb::DBOptions db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    db_options.info_log = std::make_shared<detail::rocksdb_logger>(options.on_log);
    // Metadata is small: smaller memtables than RocksDB's 64 MiB, so that the free space
    // RocksDB waits for before it recovers from a full disk (one memtable) is small too.
    rocksdb::ColumnFamilyOptions cf_options;
    cf_options.write_buffer_size = std::size_t{8} << 20;
    // Every table but `meta` is a column family of its name; `meta` is the default one. A
    // database of an older layout lacks some: `create_missing_column_families` adds them,
    // empty, and the store fills them when it opens.
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (std::size_t t = 0; t + 1 < kv_table_count; ++t)
      families.emplace_back(kv_table_names[t], cf_options);
    families.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
    rocksdb::DB* raw = nullptr;
    rocksdb::Status const st = rocksdb::DB::Open(db_options, path_, families, &handles_, &raw);
    if (!st.ok())
      return detail::to_error(st);
    db_.reset(raw);
    return {};
  }

  result<std::optional<std::string>> get(kv_table t, std::string_view key,
                                         kv_view at) const override {
    std::string v;
    rocksdb::Status const s = db_->Get(read_options(at), handle(t), to_slice(key), &v);
    if (s.IsNotFound())
      return std::optional<std::string>();
    if (!s.ok())
      return detail::to_error(s);
    return std::optional<std::string>(std::move(v));
  }

  result<void> scan(kv_table t, std::string_view from, std::string_view to, kv_view at,
                    kv_visitor visit) const override {
    rocksdb::ReadOptions ro = read_options(at);
    rocksdb::Slice const upper = to_slice(to);
    if (!to.empty())
      ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handle(t)));
    for (it->Seek(to_slice(from)); it->Valid(); it->Next()) {
      if (!visit(std::string_view(it->key().data(), it->key().size()),
                 std::string_view(it->value().data(), it->value().size())))
        break;
    }
    if (!it->status().ok())
      return detail::to_error(it->status());
    return {};
  }

  std::unique_ptr<kv_snapshot> snapshot() const override {
    return std::make_unique<detail::rocksdb_snapshot>(*db_);
  }

  result<void> write(kv_batch const& batch, bool sync) override {
    if (result<void> r = check_free_space(); !r)
      return r;
    rocksdb::WriteBatch b;
    for (kv_batch::change const& c : batch.changes()) {
      rocksdb::Status const s = c.erase ? b.Delete(handle(c.table), c.key)
                                        : b.Put(handle(c.table), c.key, c.value);
      if (!s.ok())
        return detail::to_error(s);
    }
    rocksdb::WriteOptions options;
    options.sync = sync;
    rocksdb::Status const s = db_->Write(options, &b);
    if (!s.ok())
      return detail::to_error(s);
    return {};
  }

  result<void> sync() override {
    rocksdb::Status const s = db_->SyncWAL();
    if (!s.ok())
      return detail::to_error(s);
    return {};
  }

  bool blocking() const noexcept override { return true; }

private:
  static rocksdb::Slice to_slice(std::string_view s) noexcept { return {s.data(), s.size()}; }

  rocksdb::ColumnFamilyHandle* handle(kv_table t) const noexcept {
    return handles_[static_cast<std::size_t>(t)];
  }

  static rocksdb::ReadOptions read_options(kv_view at) {
    rocksdb::ReadOptions ro;
    if (at)
      ro.snapshot = static_cast<detail::rocksdb_snapshot const*>(at)->get();
    return ro;
  }

  /// `no_space` while the filesystem has less than `min_free_space` free; says when that
  /// starts and ends in the log. Called by one writer at a time (the store's write lock).
  result<void> check_free_space() {
    if (min_free_space_ == 0)
      return {};
    struct ::statvfs fs {};
    if (::statvfs(path_.c_str(), &fs) != 0)
      return {}; // RocksDB's write says what is wrong with the directory
    std::uint64_t const free = std::uint64_t{fs.f_bavail} * fs.f_frsize;
    bool const low = free < min_free_space_;
    std::lock_guard const lock(space_mutex_);
    if (low != out_of_space_ && on_log_) {
      std::string const what =
          low ? "metadata writes refused (ENOSPC): " : "metadata writes resumed: ";
      on_log_(low, what + std::to_string(free) + " bytes free in " + path_ + ", " +
                       std::to_string(min_free_space_) + " needed");
    }
    out_of_space_ = low;
    if (low)
      return storage_error::no_space;
    return {};
  }

  std::string path_;
  std::uint64_t min_free_space_ = 0;
  std::function<void(bool, std::string_view)> on_log_;
  std::mutex space_mutex_;
  bool out_of_space_ = false; // under space_mutex_: what the last check found
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_; // by table; the default one last
};

inline result<std::shared_ptr<kv_driver>> open_rocksdb_driver(std::filesystem::path directory,
                                                              rocksdb_options const& options) {
  auto d = std::make_shared<rocksdb_kv_driver>(directory.string(), options);
  if (result<void> r = d->open(options); !r)
    return r.error();
  return std::shared_ptr<kv_driver>(std::move(d));
}

inline result<rocksdb_metadata_store> rocksdb_metadata_store::create(std::filesystem::path data_dir,
                                                                     rocksdb_options options) {
  return open(data_dir / "meta", std::move(options));
}

inline result<rocksdb_metadata_store> rocksdb_metadata_store::open(std::filesystem::path directory,
                                                                   rocksdb_options options) {
  result<std::shared_ptr<kv_driver>> d = open_rocksdb_driver(std::move(directory), options);
  if (!d)
    return d.error();
  kv_options o;
  o.blocking_threads = options.blocking_threads;
  o.sync = options.sync;
  o.touch_interval = options.touch_interval;
  result<kv_metadata_store> s = kv_metadata_store::open(std::move(*d), o);
  if (!s)
    return s.error();
  return rocksdb_metadata_store(std::move(*s));
}

} // namespace storage
PIER_END_NAMESPACE

#endif // PIER_STORAGE_IMPL_ROCKSDB_HPP
