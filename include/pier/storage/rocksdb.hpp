// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_STORAGE_ROCKSDB_HPP
#define PIER_STORAGE_ROCKSDB_HPP

/// @file
/// The RocksDB (7.8 or later) driver of `kv_metadata_store` (storage/kv.hpp), and
/// `rocksdb_metadata_store`, the store over it: the example server's default. Not part of
/// `<pier/pier.hpp>`: include it on its own and link `pier::rocksdb`.
///
/// Each table of the layout (storage/kv.hpp) is a column family of its name, `meta` the
/// default one; RocksDB orders keys bytewise, as the layout needs. A batch is one
/// `WriteBatch`, written with `WriteOptions::sync` when the store asks for it; a snapshot is
/// a RocksDB snapshot. One process at a time may open a database (RocksDB locks it).
///
/// A full disk: writes fail with `storage_error::no_space` (reads go on) while the
/// database's filesystem has less than `rocksdb_options::min_free_space` free, and work
/// again at the first write after space was freed. When RocksDB itself runs out of room
/// (a write that the check let through, a background flush), it refuses every write with
/// the same error until it has recovered by itself, flushing its memtables to new files
/// (it looks every 5 s for 8 MiB free); a write it refused was never reported done, and
/// nothing reported done is lost.
///
/// @code
/// asio::io_context io;
/// auto meta = pier::storage::rocksdb_metadata_store::create("/var/lib/pier/data");
/// if (!meta)
///   return; // meta.error().message() says why (e.g. another process holds the lock)
/// asio::co_spawn(io, [&]() -> asio::awaitable<void> {
///   auto page = co_await meta->catalog("", 100);
///   assert(page && page->names.empty());
/// }, asio::detached);
/// io.run();
/// @endcode

#include <pier/config.hpp>
#include <pier/core/result.hpp>
#include <pier/storage/kv.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>
#include <system_error>

PIER_BEGIN_NAMESPACE
namespace storage {

/// The category of errors RocksDB reports (values are `rocksdb::Status::Code`), named
/// "pier.rocksdb". They map to `oci_error::unknown`. A full disk is not one of them: the
/// store reports it as `storage_error::no_space`.
std::error_category const& rocksdb_category() noexcept;

/// Settings of a `rocksdb_metadata_store` (the first three are `kv_options`).
struct rocksdb_options {
  /// Threads that run the writes and wait for their syncs (`kv_options`).
  std::size_t blocking_threads = 8;
  /// `WriteOptions::sync` for every write. Leave it on: off, a power loss may lose commits
  /// that were reported done.
  bool sync = true;
  /// `touch_blob` renews a blob's last use only when it is older than this, so that reads
  /// do not write on every request. A read then protects the blob for the GC grace period
  /// minus this: keep it well below the grace period (0: every touch writes).
  std::chrono::seconds touch_interval{60};
  /// Writes fail with `storage_error::no_space`, before RocksDB sees them, while the
  /// filesystem of the database has less free space than this (0: never). RocksDB needs
  /// room to flush its memtables (8 MiB each here); and a write that fails inside RocksDB
  /// for lack of room stops every write until RocksDB has recovered on its own (it
  /// looks every 5 s, and needs that much free), so refusing early keeps writes working
  /// again as soon as space is freed. One `statvfs` per write.
  std::uint64_t min_free_space = 16 * 1024 * 1024;
  /// Receives RocksDB's own log messages of level WARN and above (a full disk, a failed
  /// flush, its recovery), and the store's note when writes stop or resume for lack of
  /// space, with `error` true for errors (RocksDB's ERROR and above, writes refused); null:
  /// dropped. Called from RocksDB's threads too. RocksDB writes no LOG file of its own: on
  /// a full disk, a second failed write to that file aborts the process (an assertion
  /// RocksDB 7.8 leaves on in Debian's build).
  std::function<void(bool error, std::string_view message)> on_log{};
};

/// A `kv_driver` on a RocksDB database.
class rocksdb_kv_driver;

/// Opens (creating it and its directories if needed) the RocksDB database in `directory`
/// as a driver. `options.blocking_threads`, `sync` and `touch_interval` are the store's.
result<std::shared_ptr<kv_driver>> open_rocksdb_driver(std::filesystem::path directory,
                                                       rocksdb_options const& options = {});

/// `kv_metadata_store` over RocksDB.
class rocksdb_metadata_store : public kv_metadata_store {
public:
  /// Opens the database in `<data_dir>/meta`, creating it (and the directories) if needed.
  static result<rocksdb_metadata_store> create(std::filesystem::path data_dir,
                                               rocksdb_options options = {});

  /// Opens the database in `directory` itself (`rocksdb://DIR`), creating it if needed.
  static result<rocksdb_metadata_store> open(std::filesystem::path directory,
                                             rocksdb_options options = {});

private:
  explicit rocksdb_metadata_store(kv_metadata_store&& s) noexcept
      : kv_metadata_store(std::move(s)) {}
};

} // namespace storage
PIER_END_NAMESPACE

#include <pier/storage/impl/rocksdb.hpp>

#endif // PIER_STORAGE_ROCKSDB_HPP
