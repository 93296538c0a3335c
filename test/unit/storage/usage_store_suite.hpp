// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_TEST_UNIT_STORAGE_USAGE_STORE_SUITE_HPP
#define PIER_TEST_UNIT_STORAGE_USAGE_STORE_SUITE_HPP

// The behaviour every QuotaStore shares (storage/usage.hpp), as a typed test suite. A test
// file specialises `pier_test::store_maker<Store>` (a fresh, empty store) and instantiates:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(memory, usage_store_suite, my_store);

#include <pier/storage/concepts.hpp>
#include <pier/storage/usage.hpp>

#include "test_util.hpp"

#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace pier_test {

template <class Store>
struct store_maker;

namespace usage_store_suite_detail {

namespace st = pier::storage;

inline pier::digest blob(std::string const& name) { return pier::digest_of("blob " + name); }

/// Sizes chosen so that every sum is distinct: 1, 10, 100, 1000…
inline std::uint64_t size_of(std::string const& name) {
  std::uint64_t s = 1;
  for (char c = 'a'; c < name[0]; ++c)
    s *= 10;
  return s;
}

/// The manifest `push` makes of `blobs`: its digest follows the names, in their order.
inline pier::storage::manifest_put manifest_of(std::vector<std::string> const& blobs,
                                               std::optional<std::string> tag) {
  pier::storage::manifest_put m;
  std::string bytes = "manifest";
  for (std::string const& b : blobs) {
    m.blobs.push_back(blob(b));
    bytes += " " + b;
  }
  m.digest = pier::digest_of(bytes);
  m.media_type = "application/vnd.oci.image.manifest.v1+json";
  m.bytes = bytes;
  m.tag = std::move(tag);
  return m;
}

/// What a namespace's usage must be, recounted from the (repository, manifest) pairs
/// held and the blobs each references (by name), and the (repository, blob) links, as
/// storage/usage.hpp defines it.
inline st::storage_usage
recount(std::map<std::pair<std::string, pier::digest>, std::set<std::string>> const& held,
        std::set<std::pair<std::string, std::string>> const& links, std::string const& ns) {
  std::map<std::string, std::uint64_t> mine;
  std::map<std::string, std::uint64_t> all;
  for (auto const& [key, blobs] : held) {
    for (std::string const& b : blobs) {
      ++all[b];
      if (key.first.starts_with(ns + "/"))
        ++mine[b];
    }
  }
  st::storage_usage u;
  for (auto const& [b, pairs] : mine)
    (all[b] > pairs ? u.shared_bytes : u.unique_bytes) += size_of(b);
  std::set<std::string> linked_only;
  for (auto const& [repo, b] : links)
    if (repo.starts_with(ns + "/") && !mine.contains(b))
      linked_only.insert(b);
  for (std::string const& b : linked_only)
    u.unreferenced_bytes += size_of(b);
  return u;
}

} // namespace usage_store_suite_detail

template <class Store>
class usage_store_suite : public ::testing::Test {
protected:
  static_assert(pier::storage::MetadataStore<Store>);
  static_assert(pier::storage::QuotaStore<Store>);

  template <class T>
  T run(asio::awaitable<T> a) {
    return pier_test::run(io_, std::move(a));
  }
  Store& store() { return *store_; }

  /// Pushes a manifest referencing blobs named `a`, `b`… (sizes 1, 10…) into `repo`, as the
  /// registry does: charge (which records the sizes), link, put. Returns what `charge`
  /// answered; `put` (when given) what the links and the put did (the first failure).
  pier::storage::quota_state push(std::string repo, std::optional<std::string> tag,
                                  std::vector<std::string> const& blobs,
                                  pier::result<void>* put = nullptr) {
    namespace d = usage_store_suite_detail;
    std::vector<pier::storage::sized_blob> sized;
    for (std::string const& b : blobs)
      sized.push_back({d::blob(b), d::size_of(b)});
    auto const q = run(store().charge(repo, sized));
    EXPECT_TRUE(q);
    pier::storage::manifest_put const m = d::manifest_of(blobs, std::move(tag));
    last_manifest_ = m.digest;
    pier::result<void> stored;
    for (std::string const& b : blobs) {
      stored = run(store().link_blob(repo, d::blob(b)));
      if (!stored)
        break;
    }
    if (stored)
      stored = run(store().put_manifest(repo, m));
    if (put != nullptr)
      *put = stored;
    else
      EXPECT_TRUE(stored) << stored.error().message();
    return q ? *q : pier::storage::quota_state{};
  }

  /// The namespace's bytes as `charge` answers them (the quota must be set).
  std::uint64_t used(std::string const& repo) { return run(store().charge(repo, {})).value().used; }

  pier::storage::namespace_usage usage(std::string ns, std::string last = "", std::size_t n = 100) {
    return run(store().usage(std::move(ns), std::move(last), n)).value();
  }

  store_maker<Store> maker_;
  std::unique_ptr<Store> store_ = maker_.make();
  asio::io_context io_;
  pier::digest last_manifest_;
};

TYPED_TEST_SUITE_P(usage_store_suite);

TYPED_TEST_P(usage_store_suite, an_empty_namespace_uses_nothing) {
  auto const u = this->usage("acme");
  EXPECT_EQ(u.usage, pier::storage::storage_usage{});
  EXPECT_FALSE(u.quota);
  EXPECT_TRUE(u.repositories.items.empty());
  EXPECT_FALSE(u.repositories.more);
}

TYPED_TEST_P(usage_store_suite, quotas_are_set_read_and_removed) {
  auto& s = this->store();
  EXPECT_EQ(this->run(s.get_quota("acme")).value(), std::nullopt);
  ASSERT_TRUE(this->run(s.set_quota("acme", 5000)));
  EXPECT_EQ(this->run(s.get_quota("acme")).value(), 5000u);
  EXPECT_EQ(this->run(s.get_quota("globex")).value(), std::nullopt);
  EXPECT_EQ(this->usage("acme").quota, 5000u);
  ASSERT_TRUE(this->run(s.set_quota("acme", 0)));
  EXPECT_EQ(this->run(s.get_quota("acme")).value(), 0u);
  ASSERT_TRUE(this->run(s.set_quota("acme", std::nullopt)));
  EXPECT_EQ(this->run(s.get_quota("acme")).value(), std::nullopt);
}

TYPED_TEST_P(usage_store_suite, shared_layers_count_as_shared_across_repositories) {
  using pier::storage::storage_usage;
  this->push("acme/web", "v1", {"a", "b"});   // a: acme only; b: also globex
  this->push("acme/web", "v2", {"a", "c"});   // a twice in one repository: counted once
  this->push("acme/db", "v1", {"c", "d"});    // c: web and db, both acme
  this->push("globex/app", "v1", {"b", "e"}); // b crosses namespaces
  auto const acme = this->usage("acme");
  // Namespace: a, c, d are acme's alone; b is shared with globex.
  EXPECT_EQ(acme.usage, (storage_usage{1 + 100 + 1000, 10}));
  ASSERT_EQ(acme.repositories.items.size(), 2u);
  EXPECT_EQ(acme.repositories.items[0].name, "acme/db");
  EXPECT_EQ(acme.repositories.items[0].usage, (storage_usage{1000, 100}));
  EXPECT_EQ(acme.repositories.items[1].name, "acme/web");
  EXPECT_EQ(acme.repositories.items[1].usage, (storage_usage{1, 10 + 100}));
  auto const globex = this->usage("globex");
  EXPECT_EQ(globex.usage, (storage_usage{10000, 10}));
}

TYPED_TEST_P(usage_store_suite, repositories_are_paged) {
  this->push("acme/a", "v1", {"a"});
  this->push("acme/b", "v1", {"b"});
  this->push("acme/c", "v1", {"c"});
  this->push("acmex/d", "v1", {"d"}); // another namespace sharing the prefix
  auto const first = this->usage("acme", "", 2);
  ASSERT_EQ(first.repositories.items.size(), 2u);
  EXPECT_TRUE(first.repositories.more);
  EXPECT_EQ(first.repositories.items[1].name, "acme/b");
  auto const second = this->usage("acme", "acme/b", 2);
  ASSERT_EQ(second.repositories.items.size(), 1u);
  EXPECT_FALSE(second.repositories.more);
  EXPECT_EQ(second.repositories.items[0].name, "acme/c");
  EXPECT_EQ(first.usage, second.usage); // the namespace's total on every page
  EXPECT_EQ(first.usage.unique_bytes, 111u);
}

TYPED_TEST_P(usage_store_suite, deleting_a_manifest_lowers_usage) {
  using pier::storage::storage_usage;
  this->push("acme/web", "v1", {"a", "b"});
  pier::digest const v1 = this->last_manifest_;
  this->push("globex/app", "v1", {"b"});
  EXPECT_EQ(this->usage("acme").usage, (storage_usage{1, 10}));
  ASSERT_TRUE(this->run(this->store().delete_manifest("acme/web", v1)));
  // a and b stay linked in acme/web, unreferenced, until deleted or collected.
  EXPECT_EQ(this->usage("acme").usage, (storage_usage{0, 0, 11}));
  EXPECT_EQ(this->usage("globex").usage, (storage_usage{10, 0})); // b is globex's alone now
  namespace d = usage_store_suite_detail;
  ASSERT_TRUE(this->run(this->store().unlink_blob("acme/web", d::blob("a"))));
  EXPECT_EQ(this->usage("acme").usage, (storage_usage{0, 0, 10}));
  pier::result<pier::storage::blob_unlink> const b =
      this->run(this->store().unlink_unreferenced_blob("acme/web", d::blob("b")));
  ASSERT_TRUE(b && b->unlinked);
  EXPECT_EQ(this->usage("acme").usage, storage_usage{});
  EXPECT_EQ(this->used("acme/x"), 0u);
}

// An upload or a mount links a blob no manifest references yet: it counts until a manifest
// references it (then as unique or shared) or it is unlinked, released by the collector.
TYPED_TEST_P(usage_store_suite, unreferenced_links_count_until_released) {
  using pier::storage::storage_usage;
  namespace d = usage_store_suite_detail;
  auto& s = this->store();
  ASSERT_TRUE(this->run(s.charge("acme/web", {{d::blob("c"), 100}})));
  ASSERT_TRUE(this->run(s.link_blob("acme/web", d::blob("c"))));
  ASSERT_TRUE(this->run(s.link_blob("acme/db", d::blob("c")))); // a mount: counted once
  ASSERT_TRUE(this->run(s.link_blob("acme/db", d::blob("c")))); // linked again: no change
  EXPECT_EQ(this->usage("acme").usage, (storage_usage{0, 0, 100}));
  EXPECT_EQ(this->used("acme/x"), 100u);
  auto const q = this->run(s.charge("acme/app", {{d::blob("c"), 100}})).value();
  EXPECT_EQ(q.added, 0u); // the namespace has it already
  this->push("acme/web", "v1", {"c"});
  EXPECT_EQ(this->usage("acme").usage, (storage_usage{100, 0, 0}));
  ASSERT_TRUE(this->run(s.delete_manifest("acme/web", this->last_manifest_)));
  EXPECT_EQ(this->usage("acme").usage, (storage_usage{0, 0, 100}));
  // The collector's release unlinks it from every repository.
  auto const later = std::chrono::system_clock::now() + std::chrono::hours(1);
  std::vector<pier::digest> one;
  one.push_back(d::blob("c"));
  auto const released = this->run(s.release_blobs(one, later)).value();
  EXPECT_EQ(released.size(), 1u);
  EXPECT_EQ(this->usage("acme").usage, storage_usage{});
  EXPECT_EQ(this->used("acme/x"), 0u);
}

TYPED_TEST_P(usage_store_suite, charge_counts_only_new_blobs_against_the_quota) {
  auto& s = this->store();
  ASSERT_TRUE(this->run(s.set_quota("acme", 111)));
  auto const first = this->push("acme/web", "v1", {"a", "b"});
  EXPECT_EQ(first.used, 0u);
  EXPECT_EQ(first.added, 11u);
  EXPECT_EQ(first.quota, 111u);
  EXPECT_FALSE(first.exceeded());
  // b is already acme's (another repository's, even): only c is new; 11 + 100 = the quota.
  auto const second = this->push("acme/db", "v1", {"b", "c", "c"});
  EXPECT_EQ(second.used, 11u);
  EXPECT_EQ(second.added, 100u);
  EXPECT_FALSE(second.exceeded()); // exactly at the limit is allowed
  namespace d = usage_store_suite_detail;
  auto const third =
      this->run(s.charge("acme/db", {{d::blob("a"), 1}, {d::blob("d"), 1000}})).value();
  EXPECT_EQ(third.used, 111u);
  EXPECT_EQ(third.added, 1000u);
  EXPECT_TRUE(third.exceeded());
  // Without a quota nothing is counted but the sizes asked about.
  auto const free = this->run(s.charge("globex/app", {{d::blob("d"), 1000}})).value();
  EXPECT_FALSE(free.quota);
  EXPECT_FALSE(free.exceeded());
  // Without a quota of its own a namespace's bytes are still answered (the registry may
  // apply a default quota), and only its new blobs added.
  ASSERT_TRUE(this->run(s.set_quota("acme", std::nullopt)));
  auto const unlimited =
      this->run(s.charge("acme/app", {{d::blob("b"), 10}, {d::blob("e"), 5}})).value();
  EXPECT_FALSE(unlimited.quota);
  EXPECT_EQ(unlimited.used, 111u);
  EXPECT_EQ(unlimited.added, 5u);
}

// The running totals equal a recount from the manifests held after any sequence of puts,
// re-puts, tag moves, deletes and removals of untagged manifests, in repositories of two
// namespaces (and one without) that share blobs.
TYPED_TEST_P(usage_store_suite, totals_equal_a_recount_after_random_changes) {
  namespace st = pier::storage;
  namespace d = usage_store_suite_detail;
  auto& s = this->store();
  // A quota far above what is used: `charge` then answers the total, and no put is refused.
  ASSERT_TRUE(this->run(s.set_quota("acme", 1u << 30)));
  ASSERT_TRUE(this->run(s.set_quota("globex", 1u << 30)));
  std::vector<std::string> const repos = {"acme/web", "acme/db", "globex/app", "globex/lib",
                                          "solo"};
  std::vector<std::string> const names = {"a", "b", "c", "d", "e", "f"};
  std::vector<std::string> const tags = {"v1", "v2", "v3"};
  auto const later = std::chrono::system_clock::now() + std::chrono::hours(1);
  std::map<std::pair<std::string, pier::digest>, std::set<std::string>> held;
  std::set<std::pair<std::string, std::string>> links;    // (repository, blob name)
  std::map<pier::digest, std::vector<std::string>> lists; // each manifest's blob list
  std::mt19937 rng(20261122);
  auto const pick = [&](auto const& v) { return v[rng() % v.size()]; };
  std::size_t deleted = 0;
  std::size_t removed = 0;
  std::size_t unlinked = 0;

  for (int step = 0; step < 300; ++step) {
    std::string const repo = pick(repos);
    std::vector<std::pair<std::string, pier::digest>> mine;
    for (auto const& [key, blobs] : held)
      if (key.first == repo)
        mine.push_back(key);
    unsigned const op = rng() % 6;
    if (op <= 1 || mine.empty()) { // a new (or known) manifest, tagged or not
      std::vector<std::string> blobs;
      for (std::size_t i = 0, n = 1 + rng() % 3; i < n; ++i)
        blobs.push_back(pick(names)); // may repeat: counted once
      std::optional<std::string> tag;
      if (rng() % 4 != 0)
        tag = pick(tags);
      this->push(repo, tag, blobs);
      for (std::string const& b : blobs)
        links.insert({repo, b});
      lists[this->last_manifest_] = blobs;
      held[{repo, this->last_manifest_}] = std::set<std::string>(blobs.begin(), blobs.end());
    } else if (op == 2) { // the same manifest again, maybe moving a tag to it
      auto const& [r, digest] = pick(mine);
      this->push(r, pick(tags), lists.at(digest));
      for (std::string const& b : lists.at(digest))
        links.insert({r, b});
    } else if (op == 3) { // a delete by digest
      auto const& [r, digest] = pick(mine);
      ASSERT_TRUE(this->run(s.delete_manifest(r, digest)));
      held.erase({r, digest});
      ++deleted;
    } else if (op == 4 && rng() % 2 == 0) { // an unlink of a blob no manifest of it uses
      std::string const b = pick(names);
      pier::result<st::blob_unlink> const u = this->run(s.unlink_unreferenced_blob(repo, d::blob(b)));
      if (u && u->unlinked)
        links.erase({repo, b});
      ++unlinked;
    } else { // a removal of an untagged manifest (tag moves and deletes leave them)
      auto const untagged = this->run(s.untagged_manifests(later, 1000)).value();
      if (untagged.empty())
        continue;
      auto const& u = pick(untagged);
      EXPECT_TRUE(this->run(s.remove_untagged(u.repository, u.digest, later)).value());
      held.erase({u.repository, u.digest});
      ++removed;
    }
    for (std::string const ns : {"acme", "globex"}) {
      st::storage_usage const expected = d::recount(held, links, ns);
      ASSERT_EQ(this->usage(ns).usage, expected) << "step " << step << ", " << ns;
      ASSERT_EQ(this->used(ns + "/x"), expected.total()) << "step " << step << ", " << ns;
    }
  }
  EXPECT_GT(deleted, 10u); // the sequence did what it is meant to
  EXPECT_GT(removed, 10u);
  EXPECT_GT(unlinked, 10u);
  // Everything deleted and unlinked: nothing is left counted.
  for (auto const& [key, blobs] : std::map(held)) {
    ASSERT_TRUE(this->run(s.delete_manifest(key.first, key.second)));
  }
  for (auto const& [repo, b] : links)
    ASSERT_TRUE(this->run(s.unlink_blob(repo, d::blob(b))));
  EXPECT_EQ(this->usage("acme").usage, st::storage_usage{});
  EXPECT_EQ(this->used("globex/x"), 0u);
}

// The link itself checks the quota: a blob that would take the namespace over it is not
// linked, and a manifest referencing it is refused for want of it.
TYPED_TEST_P(usage_store_suite, a_link_over_the_quota_fails_and_changes_nothing) {
  namespace st = pier::storage;
  namespace d = usage_store_suite_detail;
  auto& s = this->store();
  this->push("acme/web", "v1", {"a", "b"});
  pier::digest const v1 = this->last_manifest_;
  ASSERT_TRUE(this->run(s.set_quota("acme", 11)));
  st::namespace_usage const before = this->usage("acme");
  EXPECT_EQ(before.usage.total(), 11u);

  pier::result<void> put;
  auto const q = this->push("acme/db", "v1", {"c"}, &put); // a new repository
  EXPECT_TRUE(q.exceeded()); // the early answer
  EXPECT_EQ(put.error(), st::storage_error::quota_exceeded);
  EXPECT_EQ(pier::to_oci_error(put.error()), pier::oci_error::denied);
  EXPECT_FALSE(this->run(s.is_linked("acme/db", d::blob("c"))).value());
  this->push("acme/web", "v1", {"a", "c"}, &put); // would move tag v1
  EXPECT_EQ(put.error(), st::storage_error::quota_exceeded);
  EXPECT_EQ(this->run(s.put_manifest("acme/web", d::manifest_of({"a", "c"}, "v1"))).error(),
            st::storage_error::manifest_blob_unknown);

  EXPECT_EQ(this->usage("acme").usage, before.usage);
  EXPECT_EQ(this->used("acme/x"), 11u);
  EXPECT_EQ(this->run(s.blob_refcount(d::blob("c"))).value(), 0u);
  EXPECT_EQ(this->run(s.resolve_tag("acme/web", "v1")).value(), v1);
  EXPECT_FALSE(this->run(s.resolve_tag("acme/db", "v1")));
  // Another namespace is not limited by acme's quota.
  this->push("globex/app", "v1", {"c"});
}

TYPED_TEST_P(usage_store_suite, a_put_adding_nothing_passes_over_the_quota) {
  namespace st = pier::storage;
  auto& s = this->store();
  this->push("acme/web", "v1", {"a", "b"});
  ASSERT_TRUE(this->run(s.set_quota("acme", 5))); // lowered below what is used
  pier::result<void> put;
  this->push("acme/web", "latest", {"a", "b"}, &put); // another tag
  EXPECT_TRUE(put);
  this->push("acme/db", "v1", {"a", "b"}, &put); // the same manifest elsewhere
  EXPECT_TRUE(put);
  this->push("acme/db", "v2", {"b"}, &put); // a new manifest of known blobs
  EXPECT_TRUE(put);
  this->push("acme/db", "v3", {"b", "c"}, &put); // but not one with a new blob
  EXPECT_EQ(put.error(), st::storage_error::quota_exceeded);
  EXPECT_EQ(this->used("acme/x"), 11u);
}

TYPED_TEST_P(usage_store_suite, a_link_exactly_at_the_quota_passes) {
  namespace st = pier::storage;
  namespace d = usage_store_suite_detail;
  auto& s = this->store();
  this->push("acme/web", "v1", {"a", "b"});
  ASSERT_TRUE(this->run(s.set_quota("acme", 111)));
  // The link alone, without the early check's answer: c (100) fills the quota exactly.
  ASSERT_TRUE(this->run(s.charge("globex/x", {{d::blob("c"), 100}}))); // records the size
  EXPECT_TRUE(this->run(s.link_blob("acme/db", d::blob("c"))));
  EXPECT_TRUE(this->run(s.put_manifest("acme/db", d::manifest_of({"c"}, "v1"))));
  EXPECT_EQ(this->used("acme/x"), 111u);
  ASSERT_TRUE(this->run(s.charge("globex/x", {{d::blob("d"), 1}})));
  EXPECT_EQ(this->run(s.link_blob("acme/db", d::blob("d"))).error(),
            st::storage_error::quota_exceeded);
}

// The default quota given to the store limits links in namespaces without a quota of
// their own, in the link's commit; it is not reported as the namespace's quota.
TYPED_TEST_P(usage_store_suite, the_default_quota_limits_links_without_an_own_quota) {
  namespace st = pier::storage;
  auto& s = this->store();
  s.set_default_quota(100);
  pier::digest const first = pier::digest_of("first");
  pier::digest const second = pier::digest_of("second");
  ASSERT_TRUE(this->run(s.charge("acme/a", {{first, 60}, {second, 60}})));
  EXPECT_TRUE(this->run(s.link_blob("acme/a", first)));
  EXPECT_EQ(this->run(s.link_blob("acme/b", second)).error(), st::storage_error::quota_exceeded);
  EXPECT_EQ(this->run(s.get_quota("acme")).value(), std::nullopt);
  EXPECT_EQ(this->run(s.charge("acme/a", {})).value().quota, std::nullopt);
  ASSERT_TRUE(this->run(s.set_quota("acme", 1000))); // its own replaces the default
  EXPECT_TRUE(this->run(s.link_blob("acme/b", second)));
  ASSERT_TRUE(this->run(s.set_quota("acme", std::nullopt)));
  s.set_default_quota(std::nullopt);
  pier::digest const third = pier::digest_of("third");
  ASSERT_TRUE(this->run(s.charge("acme/a", {{third, 1000}})));
  EXPECT_TRUE(this->run(s.link_blob("acme/c", third)));
}

// Concurrent links whose blobs fit one by one but not all together: exactly those that fit
// succeed, whatever the interleaving, and the total never passes the quota.
TYPED_TEST_P(usage_store_suite, concurrent_links_never_pass_the_quota) {
  namespace st = pier::storage;
  auto& s = this->store();
  constexpr std::size_t writers = 4;
  for (int round = 0; round < 30; ++round) {
    std::string const ns = "race" + std::to_string(round);
    ASSERT_TRUE(this->run(s.set_quota(ns, 100))); // two blobs of 40 fit, three do not
    std::vector<pier::digest> blobs;
    for (std::size_t i = 0; i < writers; ++i) {
      std::string const repo = ns + "/r" + std::to_string(i);
      pier::digest const b = pier::digest_of(repo + " layer");
      ASSERT_TRUE(this->run(s.charge(repo, {{b, 40}})));
      blobs.push_back(b);
    }
    std::vector<pier::result<void>> results(writers);
    std::atomic<std::size_t> ready{0};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < writers; ++i) {
      threads.emplace_back([&, i] {
        asio::io_context io;
        ++ready;
        while (ready.load() < writers)
          std::this_thread::yield(); // start together
        results[i] = pier_test::run(io, s.link_blob(ns + "/r" + std::to_string(i), blobs[i]));
      });
    }
    for (std::thread& t : threads)
      t.join();
    std::size_t passed = 0;
    for (pier::result<void> const& r : results) {
      if (r)
        ++passed;
      else
        EXPECT_EQ(r.error(), st::storage_error::quota_exceeded);
    }
    EXPECT_EQ(passed, 2u) << "round " << round;
    EXPECT_EQ(this->used(ns + "/x"), 80u) << "round " << round;
    EXPECT_EQ(this->usage(ns).usage.total(), 80u) << "round " << round;
  }
}

REGISTER_TYPED_TEST_SUITE_P(
    usage_store_suite, an_empty_namespace_uses_nothing, quotas_are_set_read_and_removed,
    shared_layers_count_as_shared_across_repositories, repositories_are_paged,
    deleting_a_manifest_lowers_usage, unreferenced_links_count_until_released,
    charge_counts_only_new_blobs_against_the_quota, totals_equal_a_recount_after_random_changes,
    a_link_over_the_quota_fails_and_changes_nothing, a_put_adding_nothing_passes_over_the_quota,
    a_link_exactly_at_the_quota_passes, the_default_quota_limits_links_without_an_own_quota,
    concurrent_links_never_pass_the_quota);

} // namespace pier_test

#endif // PIER_TEST_UNIT_STORAGE_USAGE_STORE_SUITE_HPP
