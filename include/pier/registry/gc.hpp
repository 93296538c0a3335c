// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_GC_HPP
#define PIER_REGISTRY_GC_HPP

/// @file
/// Online garbage collection: removes the manifests left untagged longer than a retention,
/// expires stale upload sessions, and deletes the blobs no manifest references any more,
/// while pushes and pulls go on.
///
/// @code
/// pier::storage::memory_blob_store blobs;
/// pier::storage::memory_metadata_store meta;
/// pier::registry::collector gc(blobs, meta, {.grace = std::chrono::minutes(10)});
/// asio::io_context io;
/// asio::co_spawn(io, gc.run_every(std::chrono::hours(1)), asio::detached);
/// // ... later, from any thread: gc.stop(); the loop returns and io.run() with it.
/// asio::co_spawn(io, [&]() -> asio::awaitable<void> {
///   pier::result<pier::registry::gc_report> r = co_await gc.run_once(); // on demand
///   assert(r || r.error() == pier::registry::gc_error::already_running);
/// }, asio::detached);
/// @endcode
///
/// One run, in this order:
/// 1. untagged manifests: every manifest untagged for longer than `untagged_retention`
///    (`storage::CollectableStore::untagged_manifests`) is removed from its repository
///    (`remove_untagged`, which re-checks atomically), page after page until none is due;
///    an index removed this way leaves its children untagged, and they go in the same run.
///    A negative retention keeps untagged manifests.
/// 2. uploads: every session older than `upload_ttl` is aborted in the blob store and
///    forgotten by the metadata store (`expired_uploads`, `abort`, `delete_upload`).
/// 3. blobs: with `before = start - grace`, for each page of `unreferenced_blobs(before,
///    ...)`: `release_blobs(page, before)` (atomically: each still unreferenced and unused
///    since `before`, then unlinked from every repository; one commit per page), and for
///    each it released, `remove_if_unused_since(d, start)` deletes the bytes unless an
///    upload committed them since the run began (that upload is about to link them again).
/// 4. orphans: every blob file the metadata store does not know (`knows_blob`; bytes a
///    crash left between a commit and its link, or that step 3 of an earlier run kept) and
///    last committed more than `orphan_age()` before the start is removed
///    (`remove_if_unused_since`); then, when the blob store can list its uploads
///    (`list_uploads`), every upload file without a session and older than both
///    `upload_ttl` and `orphan_age()` is aborted. The whole blob store is listed, page by
///    page: one metadata lookup per blob file.
///
/// Store errors do not stop a run: each is recorded in `gc_report::errors` and the run goes
/// on with the next item (a failed listing ends its step). The run yields to the executor
/// after every manifest, upload and blob, so it never holds an I/O thread for long.
///
/// One run at a time: `run_once` while another run is in progress answers
/// `gc_error::already_running` at once, without waiting for it (the running one reports
/// through `last()` when done); `start` says whether it started one, and the API answers a
/// POST during a run with 202 and `"started":false` (gc_api.hpp).
///
/// ## What the grace period guarantees
///
/// The v2 API (v2.hpp) touches a blob (`touch_blob`) on a HEAD or GET through a repository
/// before it looks at the link, before it commits an upload of it, and before a mount looks
/// at the source; the stores record a use when they link a blob (upload, mount). Then:
/// - nothing a stored manifest references is deleted: a manifest is stored only while its
///   blobs are linked, and `release_blob` unlinks only blobs no manifest references, in
///   one atomic step. A request racing with the sweep either touched first (the sweep sees
///   the use and keeps the blob), or comes after the release: a HEAD or a mount then finds
///   no link (404, the client uploads), and an upload commits after the release, so its
///   bytes are kept. What is left: a request that stalls between its touch and its link
///   (a thread descheduled between two statements) for longer than `grace` plus the time
///   from the start of the run to the release of that blob. With a grace of seconds that
///   does not happen; with a grace of 0 it can, rarely. Closing it would need the commit
///   or mount and the link to be one step with the release.
/// - a push never fails because of GC when its manifest PUT comes within `grace` of the
///   last upload, mount, HEAD or GET of each blob it references. With a grace of 0 it can
///   lose the race: a run that starts between its blob requests and its manifest releases
///   the blobs no manifest references yet (its own config and new layers), and the PUT fails
///   with MANIFEST_BLOB_UNKNOWN; the client must push again. Keep the grace well above the
///   longest push (the default is 1 h). The RocksDB store renews a use at most once per
///   `rocksdb_options::touch_interval` (a minute), so with it the grace must be longer than
///   that too.
///
/// A blob released but whose bytes are kept loses its metadata record: the upload that
/// committed it links it and brings the record back; if it never links (a crash between
/// commit and link), the bytes are an orphan, which step 4 of a later run removes once they
/// are older than `gc_options::orphan_age()`.

#include <pier/config.hpp>
#include <pier/core/digest.hpp>
#include <pier/core/error.hpp>
#include <pier/core/result.hpp>
#include <pier/registry/detail/gc.hpp>
#include <pier/storage/concepts.hpp>
#include <pier/storage/error.hpp>
#include <pier/storage/types.hpp>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace registry {

/// Why a garbage collection did not run.
enum class gc_error {
  already_running = 1, ///< another run is in progress: UNAVAILABLE
  stopped,             ///< `stop()` was called: UNAVAILABLE
};

/// The category of `gc_error`, named "pier.registry.gc".
std::error_category const& gc_category() noexcept;

inline std::error_code make_error_code(gc_error e) noexcept {
  return {static_cast<int>(e), gc_category()};
}

struct gc_report;

/// How garbage collection behaves; the command line's `--gc-grace`,
/// `--untagged-retention` and `--upload-ttl`. Milliseconds, so that seconds convert
/// implicitly (`{.grace = std::chrono::minutes(10)}`) and tests need not wait whole seconds.
struct gc_options {
  /// Blobs used (uploaded, mounted, read) more recently than this are kept even when no
  /// manifest references them: what protects a push in progress (see the file comment).
  std::chrono::milliseconds grace = std::chrono::hours(1);
  /// How long a manifest stays after it lost its last tag; 0: removed by the next run (and
  /// at once by the v2 API with `v2_options::remove_untagged`); negative: kept.
  std::chrono::milliseconds untagged_retention{0};
  /// Upload sessions older than this are aborted and their bytes removed.
  std::chrono::milliseconds upload_ttl = std::chrono::hours(24);
  /// How many items one store listing returns.
  std::size_t batch = 1000;
  /// Count what a run would remove and change nothing (`pier-registry gc --dry-run`): the
  /// untagged manifests due now (not the children their removal would leave untagged; all
  /// listed at once), the expired uploads (likewise), and the unreferenced blobs past the
  /// grace with their sizes (not the blobs that removing those manifests would free).
  bool dry_run = false;
  /// Blob and upload files that no metadata knows (step 4) are removed once last written
  /// longer ago than this; empty: the longer of `grace` and `orphan_floor`. Between an
  /// upload's commit and its link, or its file and its session, its bytes look like an
  /// orphan that only their time protects, whatever the grace: a running server needs a
  /// margin here even with a grace of 0. A stopped one has no upload in flight, and
  /// `pier-registry gc` sets this to its grace.
  std::optional<std::chrono::milliseconds> orphan_grace{};
  /// Nothing else writes to the stores during the run (a stopped server; `pier-registry gc`
  /// sets it). The bytes of a released blob then go whatever their commit time, and with
  /// an `orphan_age()` of 0 so do orphan files: a blob store may keep commit times coarser
  /// than the clock (`filesystem_blob_store` rounds them up to the second), which would
  /// otherwise keep what was committed in the second before the run.
  bool exclusive = false;
  /// Called with each run's report when the run ends (on the run's thread): a log line.
  std::function<void(gc_report const&)> on_report{};

  /// The least time an orphan is kept by default (see `orphan_grace`).
  static constexpr std::chrono::milliseconds orphan_floor = std::chrono::minutes(1);

  /// `orphan_grace`, or its default.
  std::chrono::milliseconds orphan_age() const noexcept {
    return orphan_grace ? *orphan_grace : std::max(grace, orphan_floor);
  }
};

/// What one run did.
struct gc_report {
  std::chrono::system_clock::time_point started;
  std::chrono::nanoseconds duration{0};
  std::uint64_t candidates = 0;        ///< unreferenced blobs past the grace period examined
  std::uint64_t blobs_removed = 0;     ///< blobs whose bytes were deleted
  std::uint64_t bytes_freed = 0;       ///< their sizes
  std::uint64_t orphans_removed = 0;   ///< of `blobs_removed`, files no metadata knew (step 4)
  std::uint64_t manifests_removed = 0; ///< untagged manifests removed from a repository
  std::uint64_t uploads_expired = 0;   ///< stale upload sessions and orphan upload files aborted
  /// Store failures, one line each (at most `max_errors`, then a line that counts the rest).
  std::vector<std::string> errors;

  static constexpr std::size_t max_errors = detail::gc_max_errors;

  friend bool operator==(gc_report const&, gc_report const&) = default;
};

/// What the collector needs of a metadata store: the OCI operations and the garbage
/// collection ones (`memory_metadata_store` and `rocksdb_metadata_store` have both).
template <class M>
concept CollectableMetadataStore = storage::MetadataStore<M> && storage::CollectableStore<M>;

/// The garbage collector of a blob store and a metadata store (see the file comment). The
/// stores, and the collector, must outlive every run and `run_every`. Thread-safe.
///
/// @code
/// pier::registry::collector gc(blobs, meta);
/// bool const started = gc.start(io.get_executor()); // in the background
/// std::optional<pier::registry::gc_report> last = gc.last();
/// @endcode
template <storage::CollectableBlobStore B, CollectableMetadataStore M>
class collector {
public:
  collector(B& blobs, M& meta, gc_options options = {})
      : blobs_(blobs), meta_(meta), options_(std::move(options)) {}
  collector(collector const&) = delete;
  collector& operator=(collector const&) = delete;

  /// Runs once and returns what it did; `gc_error::already_running` when a run is in
  /// progress, `gc_error::stopped` after `stop()`.
  asio::awaitable<result<gc_report>> run_once();

  /// Starts a run on `ex` in the background unless one is in progress or the collector is
  /// stopped; whether it started one. Its report is `last()` once it is done.
  template <class Executor>
  bool start(Executor const& ex);

  /// The report of the last run that finished; none before the first.
  std::optional<gc_report> last() const;

  /// How many reports `history()` keeps.
  static constexpr std::size_t history_size = 10;
  /// The reports of the last `history_size` runs that finished, newest first.
  std::vector<gc_report> history() const;

  /// Whether a run is in progress.
  bool running() const noexcept { return running_.load(); }

  /// Whether `stop()` was called.
  bool stopped() const noexcept { return stopping_.load(); }

  /// Runs `first` after the call, then every `interval`, until `stop()`; a tick that finds
  /// a run in progress is skipped. Co_spawn it on any executor: its timer lives on a
  /// strand of it, so `stop()` may come from any thread. A server that restarts more often
  /// than `interval` still collects when `first` is shorter.
  asio::awaitable<void> run_every(std::chrono::steady_clock::duration interval,
                                  std::chrono::steady_clock::duration first);
  /// `run_every(interval, interval)`.
  asio::awaitable<void> run_every(std::chrono::steady_clock::duration interval) {
    return run_every(interval, interval);
  }

  /// Ends `run_every` and the run in progress (after its current item; its report says
  /// it stopped), and refuses new runs. From any thread; returns at once.
  void stop();

  gc_options const& options() const noexcept { return options_; }

private:
  // The run itself, once `running_` is claimed; releases it at the end.
  asio::awaitable<gc_report> run_claimed();
  asio::awaitable<void> expire_uploads(gc_report& report);
  // With dry_run: counts the untagged manifests and uploads the run would remove.
  asio::awaitable<void> count_only(gc_report& report);
  // With dry_run, only counts the blobs and their sizes.
  asio::awaitable<void> sweep_blobs(std::chrono::system_clock::time_point before,
                                    gc_report& report);
  // Deletes the bytes of blob `d`, which release_blob released, unless they were committed
  // at `unused` or later, and counts them.
  // Step 4 (see the file comment); with dry_run, only counts.
  asio::awaitable<void> sweep_orphans(std::chrono::system_clock::time_point before,
                                      gc_report& report);
  asio::awaitable<void> sweep_orphan_uploads(gc_report& report);
  asio::awaitable<void> remove_bytes(pier::digest d, std::chrono::system_clock::time_point unused,
                                     gc_report& report);
  // The size of blob `d`; none (and a note in the report unless there is no such blob)
  // when it cannot be read.
  asio::awaitable<std::optional<std::uint64_t>> size_of(pier::digest d, gc_report& report);
  asio::awaitable<void> tick(std::chrono::steady_clock::duration interval,
                             std::chrono::steady_clock::duration first);

  B& blobs_;
  M& meta_;
  gc_options const options_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;
  std::optional<gc_report> last_;
  std::vector<gc_report> history_; // newest first
  std::function<void()> wake_; // cancels run_every's timer, while it waits
};

} // namespace registry
PIER_END_NAMESPACE

template <>
struct std::is_error_code_enum<pier::registry::gc_error> : std::true_type {};

#include <pier/registry/impl/gc.hpp>

#endif // PIER_REGISTRY_GC_HPP
