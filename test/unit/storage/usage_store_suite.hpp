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

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
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
  /// registry does: link, charge, put. Returns what `charge` answered.
  pier::storage::quota_state push(std::string repo, std::string tag,
                                  std::vector<std::string> const& blobs) {
    namespace d = usage_store_suite_detail;
    pier::storage::manifest_put m;
    std::vector<pier::storage::sized_blob> sized;
    std::string bytes = "manifest";
    for (std::string const& b : blobs) {
      EXPECT_TRUE(run(store().link_blob(repo, d::blob(b))));
      m.blobs.push_back(d::blob(b));
      sized.push_back({d::blob(b), d::size_of(b)});
      bytes += " " + b;
    }
    auto const q = run(store().charge(repo, sized));
    EXPECT_TRUE(q);
    m.digest = pier::digest_of(bytes);
    m.media_type = "application/vnd.oci.image.manifest.v1+json";
    m.bytes = bytes;
    m.tag = std::move(tag);
    EXPECT_TRUE(run(store().put_manifest(repo, m)));
    last_manifest_ = m.digest;
    return q ? *q : pier::storage::quota_state{};
  }

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
  EXPECT_EQ(this->usage("acme").usage, storage_usage{});
  EXPECT_EQ(this->usage("globex").usage, (storage_usage{10, 0})); // b is globex's alone now
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
}

REGISTER_TYPED_TEST_SUITE_P(usage_store_suite, an_empty_namespace_uses_nothing,
                            quotas_are_set_read_and_removed,
                            shared_layers_count_as_shared_across_repositories,
                            repositories_are_paged, deleting_a_manifest_lowers_usage,
                            charge_counts_only_new_blobs_against_the_quota);

} // namespace pier_test

#endif // PIER_TEST_UNIT_STORAGE_USAGE_STORE_SUITE_HPP
