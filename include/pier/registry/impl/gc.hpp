// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_IMPL_GC_HPP
#define PIER_REGISTRY_IMPL_GC_HPP

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

PIER_BEGIN_NAMESPACE
namespace registry {
namespace detail {

class gc_category_impl final : public std::error_category {
public:
  char const* name() const noexcept override { return "pier.registry.gc"; }
  std::string message(int ev) const override {
    switch (static_cast<gc_error>(ev)) {
    case gc_error::already_running: return "garbage collection is already running";
    case gc_error::stopped: return "garbage collection is stopped";
    }
    return "unknown garbage collection error";
  }
  std::error_condition default_error_condition(int) const noexcept override {
    return {static_cast<int>(oci_error::unavailable), oci_category()};
  }
};

inline bool is_blob_unknown(std::error_code ec) noexcept {
  return ec == storage::storage_error::blob_unknown;
}

} // namespace detail

inline std::error_category const& gc_category() noexcept {
  static detail::gc_category_impl const instance;
  return instance;
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
asio::awaitable<result<gc_report>> collector<B, M>::run_once() {
  if (stopping_.load())
    co_return gc_error::stopped;
  if (running_.exchange(true))
    co_return gc_error::already_running;
  co_return co_await run_claimed();
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
template <class Executor>
bool collector<B, M>::start(Executor const& ex) {
  if (stopping_.load() || running_.exchange(true))
    return false;
  asio::co_spawn(
      ex, [this]() -> asio::awaitable<void> { (void)co_await run_claimed(); }, asio::detached);
  return true;
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
std::optional<gc_report> collector<B, M>::last() const {
  std::lock_guard const lock(mutex_);
  return last_;
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
std::vector<gc_report> collector<B, M>::history() const {
  std::lock_guard const lock(mutex_);
  return history_;
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
asio::awaitable<gc_report> collector<B, M>::run_claimed() {
  using clock = std::chrono::system_clock;
  gc_report report;
  report.started = clock::now();
  auto const t0 = std::chrono::steady_clock::now();
  // Fixed for the whole run: a blob counts as used if it was used at any time since the
  // run began minus the grace, which keeps the window for a stalled upload (see gc.hpp) as
  // small as it can be.
  clock::time_point const before = report.started - options_.grace;
  // Orphan files last committed before this go (step 4).
  clock::time_point const orphans_before = options_.exclusive && options_.orphan_age().count() <= 0
                                               ? clock::time_point::max()
                                               : report.started - options_.orphan_age();

  if (options_.dry_run) {
    co_await count_only(report);
    if (!stopping_.load())
      co_await sweep_blobs(before, report); // counts only
    if (!stopping_.load())
      co_await sweep_orphans(orphans_before, report);
  } else {
    report.manifests_removed = co_await detail::remove_untagged_manifests(
        meta_, options_.untagged_retention, options_.batch, &report.errors);
    if (!stopping_.load())
      co_await expire_uploads(report);
    if (!stopping_.load())
      co_await sweep_blobs(before, report);
    if (!stopping_.load())
      co_await sweep_orphans(orphans_before, report);
  }
  if (stopping_.load())
    report.errors.push_back("stopped before the end of the run");

  report.duration = std::chrono::steady_clock::now() - t0;
  {
    std::lock_guard const lock(mutex_);
    last_ = report;
    history_.insert(history_.begin(), report);
    if (history_.size() > history_size)
      history_.pop_back();
  }
  running_.store(false);
  if (options_.on_report) {
    try {
      options_.on_report(report);
    } catch (...) {
      // A failing log line does not fail the run.
    }
  }
  co_return report;
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
asio::awaitable<void> collector<B, M>::count_only(gc_report& report) {
  using clock = std::chrono::system_clock;
  // Nothing is removed, so the listings without a cursor cannot be paged: read them whole.
  std::size_t const all = SIZE_MAX;
  if (options_.untagged_retention.count() >= 0) {
    clock::time_point const due = report.started - options_.untagged_retention + clock::duration(1);
    result<std::vector<storage::untagged_manifest>> const m =
        co_await meta_.untagged_manifests(due, all);
    if (m)
      report.manifests_removed = m->size();
    else
      detail::gc_note(&report.errors, "listing untagged manifests", m.error());
  }
  result<std::vector<storage::upload_session>> const u =
      co_await meta_.expired_uploads(report.started - options_.upload_ttl, all);
  if (u)
    report.uploads_expired = u->size();
  else
    detail::gc_note(&report.errors, "listing expired uploads", u.error());
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
asio::awaitable<void> collector<B, M>::expire_uploads(gc_report& report) {
  if (options_.batch == 0)
    co_return;
  auto const before = report.started - options_.upload_ttl;
  while (!stopping_.load()) {
    result<std::vector<storage::upload_session>> page =
        co_await meta_.expired_uploads(before, options_.batch);
    if (!page) {
      detail::gc_note(&report.errors, "listing expired uploads", page.error());
      co_return;
    }
    std::uint64_t const expired_before = report.uploads_expired;
    for (storage::upload_session const& u : *page) {
      // The bytes first: a session forgotten with its bytes still there would leak them.
      // An upload the blob store no longer has (committed meanwhile, or lost in a restart)
      // only needs forgetting.
      result<void> const aborted = co_await blobs_.abort(u.id);
      if (!aborted && aborted.error() != storage::storage_error::upload_unknown)
        detail::gc_note(&report.errors, "aborting upload " + u.id, aborted.error());
      result<void> const forgotten = co_await meta_.delete_upload(u.id);
      if (forgotten)
        ++report.uploads_expired;
      else if (forgotten.error() != storage::storage_error::upload_unknown)
        detail::gc_note(&report.errors, "forgetting upload " + u.id, forgotten.error());
      co_await detail::gc_yield();
    }
    if (page->size() < options_.batch || report.uploads_expired == expired_before)
      co_return;
  }
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
asio::awaitable<void> collector<B, M>::sweep_blobs(std::chrono::system_clock::time_point before,
                                                   gc_report& report) {
  if (options_.batch == 0)
    co_return;
  std::string after;
  while (!stopping_.load()) {
    result<std::vector<storage::unreferenced_blob>> page =
        co_await meta_.unreferenced_blobs(before, after, options_.batch);
    if (!page) {
      detail::gc_note(&report.errors, "listing unreferenced blobs", page.error());
      co_return;
    }
    report.candidates += page->size();
    if (options_.dry_run) {
      for (storage::unreferenced_blob const& b : *page) {
        if (stopping_.load())
          co_return;
        if (std::optional<std::uint64_t> const size = co_await size_of(b.digest, report)) {
          ++report.blobs_removed;
          report.bytes_freed += *size;
        }
        co_await detail::gc_yield();
      }
    } else {
      // The metadata first, atomically re-checked, the page in one commit: once it says
      // yes, no manifest can reference a blob until an upload or mount links it again
      // (which touches first).
      std::vector<pier::digest> digests;
      digests.reserve(page->size());
      for (storage::unreferenced_blob const& b : *page)
        digests.push_back(b.digest);
      result<std::vector<pier::digest>> const released =
          co_await meta_.release_blobs(std::move(digests), before);
      if (!released) {
        detail::gc_note(&report.errors, "releasing blobs", released.error());
      } else {
        // Bytes an upload committed since the run began stay: it is about to link them.
        auto const kept_from =
            options_.exclusive ? std::chrono::system_clock::time_point::max() : report.started;
        // Released blobs have no links left: their bytes go even if the run stops now.
        for (pier::digest const& d : *released) {
          co_await remove_bytes(d, kept_from, report);
          co_await detail::gc_yield();
        }
      }
    }
    if (page->size() < options_.batch)
      co_return;
    after = page->back().digest.str();
  }
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
asio::awaitable<void> collector<B, M>::sweep_orphans(std::chrono::system_clock::time_point before,
                                                     gc_report& report) {
  if (options_.batch == 0)
    co_return;
  std::string after;
  while (!stopping_.load()) {
    result<storage::page<storage::stored_blob>> page =
        co_await blobs_.list_blobs(after, options_.batch);
    if (!page) {
      detail::gc_note(&report.errors, "listing blob files", page.error());
      co_return;
    }
    for (storage::stored_blob const& b : page->items) {
      if (stopping_.load())
        co_return;
      if (b.modified >= before)
        continue; // recent: kept whatever the metadata says (remove_if_unused_since re-checks)
      result<bool> const known = co_await meta_.knows_blob(b.digest);
      if (!known) {
        detail::gc_note(&report.errors, "looking up blob " + b.digest.str(), known.error());
        continue;
      }
      if (*known)
        continue;
      ++report.candidates;
      bool removed = options_.dry_run;
      if (!options_.dry_run) {
        // Serialised with commits of the digest: an upload that commits it again now
        // stamps it after `before`, and it stays.
        result<bool> const r = co_await blobs_.remove_if_unused_since(b.digest, before);
        if (!r && !detail::is_blob_unknown(r.error()))
          detail::gc_note(&report.errors, "removing orphan blob " + b.digest.str(), r.error());
        removed = r && *r;
      }
      if (removed) {
        ++report.blobs_removed;
        ++report.orphans_removed;
        report.bytes_freed += b.size;
      }
      co_await detail::gc_yield();
    }
    if (!page->more || page->items.empty())
      break;
    after = page->items.back().digest.str();
  }
  if (!stopping_.load())
    co_await sweep_orphan_uploads(report);
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
asio::awaitable<void> collector<B, M>::sweep_orphan_uploads(gc_report& report) {
  if constexpr (requires { blobs_.list_uploads(); }) {
    auto const before = report.started - std::max(options_.upload_ttl, options_.orphan_age());
    result<std::vector<storage::stored_upload>> const files = co_await blobs_.list_uploads();
    if (!files) {
      detail::gc_note(&report.errors, "listing upload files", files.error());
      co_return;
    }
    for (storage::stored_upload const& u : *files) {
      if (stopping_.load())
        co_return;
      if (u.modified >= before)
        continue; // an upload in progress writes its file
      result<storage::upload_session> const session = co_await meta_.get_upload(u.id);
      if (session || session.error() != storage::storage_error::upload_unknown) {
        if (!session)
          detail::gc_note(&report.errors, "looking up upload " + u.id, session.error());
        continue; // a session: step 2 expires it with its file
      }
      if (!options_.dry_run) {
        result<void> const aborted = co_await blobs_.abort(u.id);
        if (!aborted) {
          if (aborted.error() != storage::storage_error::upload_unknown)
            detail::gc_note(&report.errors, "aborting orphan upload " + u.id, aborted.error());
          continue;
        }
      }
      ++report.uploads_expired;
      co_await detail::gc_yield();
    }
  }
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
asio::awaitable<void> collector<B, M>::remove_bytes(pier::digest d,
                                                    std::chrono::system_clock::time_point unused,
                                                    gc_report& report) {
  // The size before the removal, for the report (a blob re-committed in between has the
  // same size: it is the same content).
  std::optional<std::uint64_t> const size = co_await size_of(d, report);
  if (!size)
    co_return;
  result<bool> const removed = co_await blobs_.remove_if_unused_since(d, unused);
  if (!removed) {
    if (!detail::is_blob_unknown(removed.error()))
      detail::gc_note(&report.errors, "removing blob " + d.str(), removed.error());
    co_return;
  }
  if (*removed) {
    ++report.blobs_removed;
    report.bytes_freed += *size;
  }
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
asio::awaitable<std::optional<std::uint64_t>> collector<B, M>::size_of(pier::digest d,
                                                                       gc_report& report) {
  result<storage::blob_info> const info = co_await blobs_.stat(d);
  if (info)
    co_return info->size;
  // Touched but never committed (a failed upload), or already gone: nothing to free.
  if (!detail::is_blob_unknown(info.error()))
    detail::gc_note(&report.errors, "reading the size of blob " + d.str(), info.error());
  co_return std::nullopt;
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
asio::awaitable<void> collector<B, M>::run_every(std::chrono::steady_clock::duration interval,
                                                 std::chrono::steady_clock::duration first) {
  // The loop runs on a strand so that stop(), from any thread, can cancel its timer by
  // posting to the same strand: timers are not thread-safe.
  auto const strand = asio::make_strand(co_await asio::this_coro::executor);
  co_await asio::co_spawn(strand, tick(interval, first), asio::use_awaitable);
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
asio::awaitable<void> collector<B, M>::tick(std::chrono::steady_clock::duration interval,
                                            std::chrono::steady_clock::duration first) {
  auto const ex = co_await asio::this_coro::executor;
  // Shared with the cancel that stop() posts, which may run after this frame is gone.
  auto const timer = std::make_shared<asio::steady_timer>(ex);
  {
    std::lock_guard const lock(mutex_);
    if (stopping_.load())
      co_return;
    wake_ = [ex, timer] { asio::post(ex, [timer] { timer->cancel(); }); };
  }
  // stop() sets the flag before it posts the cancel, and the cancel runs on this strand
  // only while the coroutine waits: a stop between the check and the wait cancels the wait.
  for (auto wait = first; !stopping_.load(); wait = interval) {
    timer->expires_after(wait);
    auto [ec] = co_await timer->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (ec || stopping_.load())
      break; // stopped, or the spawner cancelled the loop
    (void)co_await run_once();
  }
  std::lock_guard const lock(mutex_);
  wake_ = nullptr;
}

template <storage::CollectableBlobStore B, CollectableMetadataStore M>
void collector<B, M>::stop() {
  std::lock_guard const lock(mutex_);
  stopping_.store(true);
  if (wake_)
    wake_();
}

} // namespace registry
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_IMPL_GC_HPP
