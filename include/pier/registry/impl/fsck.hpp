// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_REGISTRY_IMPL_FSCK_HPP
#define PIER_REGISTRY_IMPL_FSCK_HPP

#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

PIER_BEGIN_NAMESPACE
namespace registry {
namespace detail {

/// Adds a problem line to `r`, or counts it when the report has enough.
inline void fsck_problem(fsck_report& r, fsck_options const& o, std::string line) {
  if (r.problems.size() < o.max_problems)
    r.problems.push_back(std::move(line));
  else
    ++r.problems_left_out;
}

inline std::string fsck_error_line(std::string what, std::error_code ec) {
  return "unrepaired: " + std::move(what) + " failed: " + ec.message();
}

} // namespace detail

template <class BlobStore, class MetadataStore>
asio::awaitable<result<fsck_report>> fsck(BlobStore& blobs, MetadataStore& meta,
                                          fsck_options options) {
  fsck_report report;
  auto const problem = [&](std::string line) {
    detail::fsck_problem(report, options, std::move(line));
  };
  auto const now = std::chrono::system_clock::now();
  auto const old_enough = [&](std::chrono::system_clock::time_point t) {
    return t + options.orphan_grace <= now;
  };
  std::size_t const n = options.page_size == 0 ? 1 : options.page_size;

  // 1. Blob files: hash each one.
  std::map<std::string, std::chrono::system_clock::time_point> present; // sound blobs
  for (std::string after;;) {
    result<storage::page<storage::stored_blob>> page = co_await blobs.list_blobs(after, n);
    if (!page)
      co_return page.error();
    for (storage::stored_blob& b : page->items) {
      after = b.digest.str();
      ++report.blobs_checked;
      auto hashed = co_await blobs.hash_blob(b.digest);
      if (!hashed) {
        if (hashed.error() == storage::storage_error::blob_unknown)
          continue; // removed since the listing
        co_return hashed.error();
      }
      if (hashed->first == b.digest) {
        present.emplace(b.digest.str(), b.modified);
        continue;
      }
      ++report.corrupt_blobs;
      problem("corrupt blob " + b.digest.str() + ": its content hashes to " + hashed->first.str() +
              " (" + std::to_string(hashed->second) + " bytes)");
      if (options.repair) {
        if (result<void> const r = co_await blobs.remove(b.digest); r)
          ++report.repaired;
        else
          problem(detail::fsck_error_line("removing corrupt blob " + b.digest.str(), r.error()));
      }
    }
    if (!page->more)
      break;
  }

  // 2. Blob links: each must name a sound blob.
  std::set<std::string> named; // blobs linked or referenced: not orphans
  for (std::optional<storage::stored_link> after;;) {
    result<storage::page<storage::stored_link>> page = co_await meta.fsck_blob_links(after, n);
    if (!page)
      co_return page.error();
    for (storage::stored_link& l : page->items) {
      after = l;
      ++report.links_checked;
      named.insert(l.digest.str());
      if (present.contains(l.digest.str()))
        continue;
      ++report.missing_blobs;
      problem("blob link " + l.repository + "@" + l.digest.str() + ": no sound blob");
      if (options.repair) {
        if (result<void> const r = co_await meta.unlink_blob(l.repository, l.digest); r)
          ++report.repaired;
        else
          problem(detail::fsck_error_line("unlinking " + l.repository + "@" + l.digest.str(),
                                          r.error()));
      }
    }
    if (!page->more)
      break;
  }

  // 3. Manifests: what each references is there; recount on the way.
  std::map<std::pair<char, std::string>, std::uint64_t> counts;
  for (std::optional<storage::stored_manifest> after;;) {
    result<storage::page<storage::stored_manifest>> page = co_await meta.fsck_manifests(after, n);
    if (!page)
      co_return page.error();
    for (storage::stored_manifest& m : page->items) {
      ++report.manifests_checked;
      std::string const name = m.repository + "@" + m.digest.str();
      ++counts[{'r', m.digest.str()}];
      bool broken = false;
      for (pier::digest const& b : m.blobs) {
        ++counts[{'b', b.str()}];
        named.insert(b.str());
        if (!present.contains(b.str())) {
          broken = true;
          problem("unrepaired: manifest " + name + " references blob " + b.str() +
                  ", which is missing or corrupt");
          continue;
        }
        result<bool> const linked = co_await meta.is_linked(m.repository, b);
        if (!linked)
          co_return linked.error();
        if (*linked)
          continue;
        ++report.unlinked_blobs;
        problem("manifest " + name + " references blob " + b.str() + ", not linked in " +
                m.repository);
        if (options.repair) {
          if (result<void> const r = co_await meta.link_blob(m.repository, b); r)
            ++report.repaired;
          else
            problem(detail::fsck_error_line("linking " + b.str(), r.error()));
        }
      }
      for (pier::digest const& c : m.manifests) {
        ++counts[{'m', c.str()}];
        auto const child = co_await meta.get_manifest(m.repository, c);
        if (child)
          continue;
        if (child.error() != storage::storage_error::manifest_unknown)
          co_return child.error();
        broken = true;
        problem("unrepaired: manifest " + name + " references manifest " + c.str() + ", which " +
                m.repository + " does not hold");
      }
      if (broken)
        ++report.broken_manifests;
      after = std::move(m);
    }
    if (!page->more)
      break;
  }

  // 4. Reference counts against the recount.
  std::vector<storage::stored_count> fixes;
  auto const wrong = [&](char kind, pier::digest d, std::uint64_t stored, std::uint64_t actual) {
    ++report.wrong_counts;
    problem(std::string("reference count ") + kind + " of " + d.str() + " is " +
            std::to_string(stored) + ", the manifests say " + std::to_string(actual));
    fixes.push_back({kind, std::move(d), actual});
  };
  for (std::optional<storage::stored_count> after;;) {
    result<storage::page<storage::stored_count>> page = co_await meta.fsck_counts(after, n);
    if (!page)
      co_return page.error();
    for (storage::stored_count& c : page->items) {
      std::uint64_t actual = 0;
      if (auto const it = counts.find({c.kind, c.digest.str()}); it != counts.end()) {
        actual = it->second;
        counts.erase(it);
      }
      if (actual != c.count)
        wrong(c.kind, c.digest, c.count, actual);
      after = std::move(c);
    }
    if (!page->more)
      break;
  }
  for (auto const& [key, actual] : counts) {
    result<pier::digest> d = parse_digest(key.second);
    if (d)
      wrong(key.first, std::move(*d), 0, actual);
  }
  if (options.repair && !fixes.empty()) {
    std::size_t const fixed = fixes.size();
    if (result<void> const r = co_await meta.fsck_write_counts(std::move(fixes)); r)
      report.repaired += fixed;
    else
      problem(detail::fsck_error_line("rewriting reference counts", r.error()));
  }
  // Counts the store checks itself: each line it answers is a wrong count, and repair has
  // the store rewrite them all.
  [[maybe_unused]] auto const store_checked = [&](std::vector<std::string> const& wrong) {
    report.wrong_counts += wrong.size();
    for (std::string const& line : wrong)
      problem(line);
    return options.repair && !wrong.empty();
  };
  [[maybe_unused]] auto const rewritten = [&](result<void> const& r, std::size_t n,
                                              char const* what) {
    if (r)
      report.repaired += n;
    else
      problem(detail::fsck_error_line(what, r.error()));
  };
  // The use counts of blob links (DELETE of a blob a manifest uses is refused by them),
  // when the store keeps them; after step 3, so that the links it made are counted too.
  if constexpr (requires { meta.fsck_link_uses(); }) {
    result<std::vector<std::string>> const wrong = co_await meta.fsck_link_uses();
    if (!wrong)
      co_return wrong.error();
    if (store_checked(*wrong))
      rewritten(co_await meta.fsck_write_link_uses(), wrong->size(),
                "rewriting blob link use counts");
  }
  // The per-namespace counts and totals of quotas, when the store keeps them.
  if constexpr (requires { meta.fsck_namespace_counts(); }) {
    result<std::vector<std::string>> const wrong = co_await meta.fsck_namespace_counts();
    if (!wrong)
      co_return wrong.error();
    if (store_checked(*wrong))
      rewritten(co_await meta.fsck_write_namespace_counts(), wrong->size(),
                "rewriting namespace counts");
  }

  // 5. Orphan blob files.
  for (auto const& [d, modified] : present) {
    if (named.contains(d))
      continue;
    ++report.orphan_blobs;
    problem("orphan blob " + d + ": no link and no manifest names it");
    if (!options.repair || !old_enough(modified))
      continue;
    result<pier::digest> digest = parse_digest(d);
    if (!digest)
      continue;
    if (result<void> const r = co_await blobs.remove(std::move(*digest)); r)
      ++report.repaired;
    else
      problem(detail::fsck_error_line("removing orphan blob " + d, r.error()));
  }

  // 6. Upload files against upload sessions.
  result<std::vector<storage::stored_upload>> files = co_await blobs.list_uploads();
  if (!files)
    co_return files.error();
  std::set<std::string> sessions;
  {
    result<std::vector<storage::upload_session>> s =
        co_await meta.expired_uploads(std::chrono::system_clock::time_point::max(), SIZE_MAX);
    if (!s)
      co_return s.error();
    for (storage::upload_session& u : *s)
      sessions.insert(std::move(u.id));
  }
  for (storage::stored_upload& f : *files) {
    if (sessions.erase(f.id) != 0)
      continue;
    ++report.orphan_uploads;
    problem("orphan upload file " + f.id + " (" + std::to_string(f.size) + " bytes)");
    if (!options.repair || !old_enough(f.modified))
      continue;
    if (result<void> const r = co_await blobs.abort(f.id); r)
      ++report.repaired;
    else
      problem(detail::fsck_error_line("removing upload file " + f.id, r.error()));
  }
  for (std::string const& id : sessions) {
    ++report.orphan_sessions;
    problem("orphan upload session " + id + ": its file is gone");
    if (!options.repair)
      continue;
    if (result<void> const r = co_await meta.delete_upload(id); r)
      ++report.repaired;
    else
      problem(detail::fsck_error_line("removing upload session " + id, r.error()));
  }
  co_return report;
}

} // namespace registry
PIER_END_NAMESPACE

#endif // PIER_REGISTRY_IMPL_FSCK_HPP
