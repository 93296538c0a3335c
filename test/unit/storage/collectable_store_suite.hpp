// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_TEST_UNIT_STORAGE_COLLECTABLE_STORE_SUITE_HPP
#define PIER_TEST_UNIT_STORAGE_COLLECTABLE_STORE_SUITE_HPP

// The behaviour every CollectableStore shares (the rules of the concept's doc comment and
// the counting rules of issue 5), as a typed test suite. A test file specialises
// `pier_test::store_maker<Store>` (whose `make()` returns a `std::unique_ptr<Store>` to a
// fresh, empty store) and instantiates the suite:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(memory, collectable_store_suite, some_store);
//
// Stores take their times from the system clock, so the tests read the clock around each
// change and check that recorded times fall between; none of them sleeps.

#include <pier/storage/concepts.hpp>

#include "metadata_store_suite.hpp"
#include "test_util.hpp"

#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pier_test {

namespace collectable_store_suite_detail {

namespace st = pier::storage;
using clock = std::chrono::system_clock;
using namespace std::chrono_literals;

inline constexpr std::size_t every = std::numeric_limits<std::size_t>::max();

/// Far enough ahead that everything recorded so far is before it.
inline clock::time_point later() { return clock::now() + 1h; }

inline std::vector<pier::digest> sorted(std::vector<pier::digest> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// A referrer's subject.
inline st::subject_link about(pier::digest const& d) {
  return st::subject_link{d, "application/example", {}};
}

/// Fails the test unless `t` is in `[from, to]`: a time a store took from the clock
/// between two readings of it.
inline void expect_between(clock::time_point t, clock::time_point from, clock::time_point to) {
  EXPECT_GE(t, from);
  EXPECT_LE(t, to);
}

inline std::vector<pier::digest> digests(std::vector<st::unreferenced_blob> const& v) {
  std::vector<pier::digest> out;
  for (auto const& b : v)
    out.push_back(b.digest);
  return out;
}

/// `(repository, digest)` pairs of untagged records, oldest first.
inline std::vector<std::pair<std::string, pier::digest>>
pairs(std::vector<st::untagged_manifest> const& v) {
  std::vector<std::pair<std::string, pier::digest>> out;
  for (auto const& u : v)
    out.emplace_back(u.repository, u.digest);
  return out;
}

using repo_digests = std::vector<std::pair<std::string, pier::digest>>;

} // namespace collectable_store_suite_detail

/// The MetadataStore suite's fixture (`put`, `make`, reference counts) and the
/// CollectableStore operations.
template <class Store>
class collectable_store_suite : public metadata_store_suite<Store> {
protected:
  static_assert(pier::storage::CollectableStore<Store>);

  /// Links blob `label` in `repo` and returns its digest.
  pier::digest blob(std::string const& repo, std::string const& label) {
    pier::digest d = pier::digest_of("gc blob " + label);
    EXPECT_TRUE(this->run(this->store().link_blob(repo, d)));
    return d;
  }

  std::vector<pier::digest> unreferenced(std::chrono::system_clock::time_point before,
                                         std::string after = "",
                                         std::size_t n = collectable_store_suite_detail::every) {
    return collectable_store_suite_detail::digests(
        this->run(this->store().unreferenced_blobs(before, std::move(after), n)).value());
  }
  std::vector<pier::storage::untagged_manifest>
  untagged(std::chrono::system_clock::time_point before,
           std::size_t n = collectable_store_suite_detail::every) {
    return this->run(this->store().untagged_manifests(before, n)).value();
  }
  collectable_store_suite_detail::repo_digests untagged_pairs() {
    return collectable_store_suite_detail::pairs(untagged(collectable_store_suite_detail::later()));
  }
  bool release(pier::digest const& d, std::chrono::system_clock::time_point before) {
    return this->run(this->store().release_blob(d, before)).value();
  }
  bool remove(std::string const& repo, pier::digest const& d,
              std::chrono::system_clock::time_point before) {
    return this->run(this->store().remove_untagged(repo, d, before)).value();
  }
  bool knows(pier::digest const& d) { return this->run(this->store().knows_blob(d)).value(); }
  bool linked(std::string const& repo, pier::digest const& d) {
    return this->run(this->store().is_linked(repo, d)).value();
  }
  bool holds(std::string const& repo, pier::digest const& d) {
    return static_cast<bool>(this->run(this->store().get_manifest(repo, d)));
  }
};

TYPED_TEST_SUITE_P(collectable_store_suite);
// The fixture is borrowed; a test file of this suite alone need not run that suite.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(metadata_store_suite);

TYPED_TEST_P(collectable_store_suite, a_link_records_the_last_use_of_a_blob) {
  using namespace collectable_store_suite_detail;
  auto const t0 = clock::now();
  pier::digest const a = this->blob("lib/app", "a");
  pier::digest const b = this->blob("lib/app", "b");
  auto const t1 = clock::now();

  // Used at or after `before`: protected.
  EXPECT_TRUE(this->unreferenced(t0).empty());
  auto const all = this->run(this->store().unreferenced_blobs(later(), "", every)).value();
  ASSERT_EQ(all.size(), 2u);
  for (auto const& u : all)
    expect_between(u.last_used, t0, t1);
  std::vector<pier::digest> const ab = sorted({a, b});
  EXPECT_EQ(digests(all), ab);

  // Digest order, paged after a digest string.
  EXPECT_EQ(this->unreferenced(later(), "", 1), std::vector<pier::digest>{ab[0]});
  EXPECT_EQ(this->unreferenced(later(), ab[0].str()), std::vector<pier::digest>{ab[1]});
  EXPECT_TRUE(this->unreferenced(later(), ab[1].str()).empty());
  EXPECT_EQ(this->unreferenced(later(), "sha256:"), ab); // any string pages

  // Referenced by a manifest: not a candidate, whatever its age.
  this->put("lib/app", "m", "v1", {a});
  EXPECT_EQ(this->unreferenced(later()), std::vector<pier::digest>{b});
}

TYPED_TEST_P(collectable_store_suite, a_touch_or_a_mount_renews_the_last_use) {
  using namespace collectable_store_suite_detail;
  pier::digest const a = this->blob("lib/app", "a");
  pier::digest const b = this->blob("lib/app", "b");
  auto const t1 = clock::now();
  EXPECT_EQ(this->unreferenced(t1).size(), 2u);

  ASSERT_TRUE(this->run(this->store().touch_blob(a)));
  ASSERT_TRUE(this->run(this->store().link_blob("other/app", b))); // a cross-repository mount
  EXPECT_TRUE(this->unreferenced(t1).empty());
  EXPECT_FALSE(this->release(a, t1));
  EXPECT_FALSE(this->release(b, t1));
  EXPECT_TRUE(this->linked("lib/app", a));

  // A touch of a digest nobody linked records nothing.
  pier::digest const stranger = pier::digest_of("never linked");
  ASSERT_TRUE(this->run(this->store().touch_blob(stranger)));
  EXPECT_EQ(this->unreferenced(later()).size(), 2u);
  EXPECT_FALSE(this->release(stranger, later()));
}

TYPED_TEST_P(collectable_store_suite, a_layer_shared_across_repositories_is_released_last) {
  using namespace collectable_store_suite_detail;
  pier::digest const layer = this->blob("one/app", "shared");
  ASSERT_TRUE(this->run(this->store().link_blob("two/app", layer)));
  pier::digest const own = this->blob("two/app", "own");
  pier::digest const m1 = this->put("one/app", "m1", "v1", {layer});
  pier::digest const m2 = this->put("two/app", "m2", "v1", {layer, own});
  EXPECT_EQ(this->blob_refs(layer), 2u);

  ASSERT_TRUE(this->run(this->store().delete_manifest("one/app", m1)));
  EXPECT_EQ(this->blob_refs(layer), 1u);
  EXPECT_TRUE(this->unreferenced(later()).empty());
  EXPECT_FALSE(this->release(layer, later()));
  EXPECT_TRUE(this->linked("one/app", layer)); // nothing changed

  ASSERT_TRUE(this->run(this->store().delete_manifest("two/app", m2)));
  EXPECT_EQ(this->unreferenced(later()), sorted({layer, own}));
  EXPECT_TRUE(this->release(layer, later()));
  // Released: linked nowhere, listed no more, released once, known no more (its bytes are
  // an orphan from now on, unless an upload links it again).
  EXPECT_FALSE(this->knows(layer));
  EXPECT_TRUE(this->knows(own));
  EXPECT_FALSE(this->knows(pier::digest_of("never linked")));
  EXPECT_FALSE(this->linked("one/app", layer));
  EXPECT_FALSE(this->linked("two/app", layer));
  EXPECT_EQ(this->unreferenced(later()), std::vector<pier::digest>{own});
  EXPECT_FALSE(this->release(layer, later()));
  // A manifest needing it now fails, as the registry's push of a missing blob does.
  EXPECT_EQ(
      this->run(this->store().put_manifest("one/app", this->make("m3", "v2", {layer}))).error(),
      st::storage_error::manifest_blob_unknown);
  // Linked again (uploaded again), it is a blob like any other.
  ASSERT_TRUE(this->run(this->store().link_blob("one/app", layer)));
  EXPECT_TRUE(this->knows(layer));
  this->put("one/app", "m3", "v2", {layer});
  EXPECT_EQ(this->blob_refs(layer), 1u);
  EXPECT_TRUE(this->knows(layer));
}

TYPED_TEST_P(collectable_store_suite, release_blobs_releases_each_that_qualifies_in_one_commit) {
  using namespace collectable_store_suite_detail;
  pier::digest const a = this->blob("one/app", "a");
  pier::digest const b = this->blob("one/app", "b");
  pier::digest const kept = this->blob("one/app", "kept");
  this->put("one/app", "m", "v1", {kept});
  auto const released = this->run(
      this->store().release_blobs({b, kept, a, pier::digest_of("never linked"), b}, later()));
  ASSERT_TRUE(released);
  EXPECT_EQ(*released, sorted({a, b})); // each once, in digest order
  EXPECT_FALSE(this->linked("one/app", a));
  EXPECT_FALSE(this->linked("one/app", b));
  EXPECT_TRUE(this->linked("one/app", kept)); // referenced
  EXPECT_FALSE(this->knows(a));
  EXPECT_TRUE(this->knows(kept));
  // Nothing left to release; a cut-off before their last use releases nothing either.
  EXPECT_TRUE(this->run(this->store().release_blobs({a, b}, later()))->empty());
  pier::digest const c = this->blob("one/app", "c");
  EXPECT_TRUE(this->run(this->store().release_blobs({c}, clock::now() - 1h))->empty());
  EXPECT_TRUE(this->linked("one/app", c));
}

TYPED_TEST_P(collectable_store_suite, release_rechecks_what_changed_after_the_listing) {
  using namespace collectable_store_suite_detail;
  pier::digest const a = this->blob("lib/app", "a");
  pier::digest const b = this->blob("lib/app", "b");
  pier::digest const c = this->blob("lib/app", "c");
  auto const before = clock::now();
  EXPECT_EQ(this->unreferenced(before).size(), 3u); // the candidate list of a sweep

  // A manifest arrives that references `a`: its count went up first, release refuses.
  this->put("lib/app", "m", "v1", {a});
  EXPECT_FALSE(this->release(a, before));
  EXPECT_TRUE(this->linked("lib/app", a));
  EXPECT_EQ(this->blob_refs(a), 1u);

  // A link of `b` arrives (an upload or a mount into another repository).
  ASSERT_TRUE(this->run(this->store().link_blob("other/app", b)));
  EXPECT_FALSE(this->release(b, before));
  EXPECT_TRUE(this->linked("lib/app", b));
  EXPECT_TRUE(this->linked("other/app", b));

  // A read of `c` (HEAD before a manifest PUT) arrives.
  ASSERT_TRUE(this->run(this->store().touch_blob(c)));
  EXPECT_FALSE(this->release(c, before));
  EXPECT_TRUE(this->linked("lib/app", c));

  // With a later cut-off, only the unreferenced ones go.
  EXPECT_FALSE(this->release(a, later()));
  EXPECT_TRUE(this->release(b, later()));
  EXPECT_TRUE(this->release(c, later()));
  EXPECT_TRUE(this->unreferenced(later()).empty());
}

TYPED_TEST_P(collectable_store_suite, repushing_a_manifest_counts_once) {
  using namespace collectable_store_suite_detail;
  pier::digest const a = this->blob("lib/app", "a");
  pier::digest const child = this->put("lib/app", "child", std::nullopt, {a});
  pier::digest const index = this->put("lib/app", "index", "v1", {}, {child});
  this->put("lib/app", "child", std::nullopt, {a});
  this->put("lib/app", "index", "v1", {}, {child});
  this->put("lib/app", "index", "v2", {}, {child});
  EXPECT_EQ(this->blob_refs(a), 1u);
  EXPECT_EQ(this->manifest_refs(child), 1u);
  EXPECT_TRUE(this->untagged_pairs().empty());

  // Untagged twice over, it is untagged once.
  ASSERT_TRUE(this->run(this->store().delete_tag("lib/app", "v1")));
  EXPECT_TRUE(this->untagged_pairs().empty()); // v2 is left
  ASSERT_TRUE(this->run(this->store().delete_tag("lib/app", "v2")));
  EXPECT_EQ(this->untagged_pairs(), (repo_digests{{"lib/app", index}}));
  this->put("lib/app", "index", std::nullopt, {}, {child}); // by digest: still untagged
  EXPECT_EQ(this->untagged_pairs(), (repo_digests{{"lib/app", index}}));
  this->put("lib/app", "index", "v3", {}, {child}); // with a tag: adopted again
  EXPECT_TRUE(this->untagged_pairs().empty());
}

TYPED_TEST_P(collectable_store_suite, untagging_records_the_manifest_with_its_time) {
  using namespace collectable_store_suite_detail;
  pier::digest const a = this->blob("lib/app", "a");
  pier::digest const m = this->put("lib/app", "m", "v1", {a});
  pier::digest const never = this->put("lib/app", "by-digest", std::nullopt, {a});
  EXPECT_TRUE(this->untagged_pairs().empty()); // pushed by digest, never tagged: not listed

  auto const t0 = clock::now();
  ASSERT_TRUE(this->run(this->store().delete_tag("lib/app", "v1")));
  auto const t1 = clock::now();
  auto const list = this->untagged(later());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].repository, "lib/app");
  EXPECT_EQ(list[0].digest, m);
  expect_between(list[0].since, t0, t1);
  EXPECT_TRUE(this->untagged(t0).empty()); // not yet before t0
  EXPECT_FALSE(this->remove("lib/app", m, t0));
  EXPECT_FALSE(this->remove("lib/app", never, later()));
  EXPECT_TRUE(this->holds("lib/app", m));

  EXPECT_TRUE(this->remove("lib/app", m, later()));
  EXPECT_FALSE(this->holds("lib/app", m));
  EXPECT_TRUE(this->untagged_pairs().empty());
  EXPECT_EQ(this->blob_refs(a), 1u); // `never` still references it
  EXPECT_FALSE(this->remove("lib/app", m, later()));
}

TYPED_TEST_P(collectable_store_suite, a_tag_moved_away_leaves_its_manifest_untagged) {
  using namespace collectable_store_suite_detail;
  pier::digest const m1 = this->put("lib/app", "m1", "latest");
  this->put("lib/app", "m1", "stable");
  pier::digest const m2 = this->put("lib/app", "m2", "latest"); // moves `latest`
  EXPECT_TRUE(this->untagged_pairs().empty());                  // m1 keeps `stable`

  ASSERT_TRUE(this->run(this->store().set_tag("lib/app", "stable", m2)));
  EXPECT_EQ(this->untagged_pairs(), (repo_digests{{"lib/app", m1}}));
  ASSERT_TRUE(this->run(this->store().set_tag("lib/app", "latest", m2))); // no move
  EXPECT_EQ(this->untagged_pairs(), (repo_digests{{"lib/app", m1}}));

  // Tagged again: the record goes, and the manifest it moved from takes its place.
  ASSERT_TRUE(this->run(this->store().set_tag("lib/app", "stable", m1)));
  EXPECT_TRUE(this->untagged_pairs().empty()); // m2 keeps `latest`
  this->put("lib/app", "m1", "latest");
  EXPECT_EQ(this->untagged_pairs(), (repo_digests{{"lib/app", m2}}));
  EXPECT_FALSE(this->remove("lib/app", m1, later()));
  EXPECT_TRUE(this->remove("lib/app", m2, later()));
  EXPECT_EQ(this->run(this->store().list_tags("lib/app", "", every)).value().names,
            (std::vector<std::string>{"latest", "stable"}));
}

TYPED_TEST_P(collectable_store_suite, untagged_manifests_come_oldest_first) {
  using namespace collectable_store_suite_detail;
  std::vector<pier::digest> ms;
  for (std::string const l : {"c", "a", "b"})
    ms.push_back(this->put("lib/app", l, "t" + l));
  std::vector<clock::time_point> times;
  for (std::string const l : {"c", "a", "b"}) {
    ASSERT_TRUE(this->run(this->store().delete_tag("lib/app", "t" + l)));
    times.push_back(clock::now());
  }
  EXPECT_EQ(this->untagged_pairs(),
            (repo_digests{{"lib/app", ms[0]}, {"lib/app", ms[1]}, {"lib/app", ms[2]}}));
  EXPECT_EQ(pairs(this->untagged(later(), 2)),
            (repo_digests{{"lib/app", ms[0]}, {"lib/app", ms[1]}}));
  EXPECT_EQ(pairs(this->untagged(times[0])), (repo_digests{{"lib/app", ms[0]}}));
  EXPECT_TRUE(this->untagged(later(), 0).empty());
}

TYPED_TEST_P(collectable_store_suite, each_repository_untags_on_its_own) {
  using namespace collectable_store_suite_detail;
  pier::digest const a = this->blob("one/app", "a");
  ASSERT_TRUE(this->run(this->store().link_blob("two/app", a)));
  pier::digest const m = this->put("one/app", "m", "v1", {a});
  this->put("two/app", "m", "v1", {a});
  EXPECT_EQ(this->blob_refs(a), 2u);

  ASSERT_TRUE(this->run(this->store().delete_tag("one/app", "v1")));
  EXPECT_EQ(this->untagged_pairs(), (repo_digests{{"one/app", m}}));
  EXPECT_FALSE(this->remove("two/app", m, later()));
  EXPECT_TRUE(this->remove("one/app", m, later()));
  EXPECT_FALSE(this->holds("one/app", m));
  EXPECT_TRUE(this->holds("two/app", m));
  EXPECT_EQ(this->blob_refs(a), 1u);

  // Deleting the manifest by digest forgets its record.
  ASSERT_TRUE(this->run(this->store().delete_tag("two/app", "v1")));
  EXPECT_EQ(this->untagged_pairs(), (repo_digests{{"two/app", m}}));
  ASSERT_TRUE(this->run(this->store().delete_manifest("two/app", m)));
  EXPECT_TRUE(this->untagged_pairs().empty());
  EXPECT_EQ(this->blob_refs(a), 0u);
  EXPECT_EQ(this->unreferenced(later()), std::vector<pier::digest>{a});
}

TYPED_TEST_P(collectable_store_suite, an_index_keeps_its_children_until_it_goes) {
  using namespace collectable_store_suite_detail;
  pier::digest const a = this->blob("lib/app", "amd64 layer");
  pier::digest const b = this->blob("lib/app", "arm64 layer");
  pier::digest const amd = this->put("lib/app", "amd64", std::nullopt, {a});
  pier::digest const arm = this->put("lib/app", "arm64", std::nullopt, {b});
  pier::digest const index = this->put("lib/app", "index", "v1", {}, {amd, arm});
  EXPECT_EQ(this->manifest_refs(amd), 1u);

  ASSERT_TRUE(this->run(this->store().delete_tag("lib/app", "v1")));
  EXPECT_EQ(this->untagged_pairs(), (repo_digests{{"lib/app", index}})); // children have a parent
  EXPECT_FALSE(this->remove("lib/app", amd, later()));

  // Removing the index leaves its children untagged, from then on.
  auto const t0 = clock::now();
  EXPECT_TRUE(this->remove("lib/app", index, later()));
  auto const t1 = clock::now();
  EXPECT_EQ(this->manifest_refs(amd), 0u);
  auto const list = this->untagged(later());
  ASSERT_EQ(list.size(), 2u);
  for (auto const& u : list)
    expect_between(u.since, t0, t1);
  EXPECT_EQ(sorted({list[0].digest, list[1].digest}), sorted({amd, arm}));
  EXPECT_TRUE(this->untagged(t0).empty());

  EXPECT_TRUE(this->remove("lib/app", amd, later()));
  EXPECT_TRUE(this->remove("lib/app", arm, later()));
  EXPECT_EQ(this->blob_refs(a), 0u);
  EXPECT_EQ(this->blob_refs(b), 0u);
  EXPECT_EQ(this->unreferenced(later()).size(), 2u);
}

TYPED_TEST_P(collectable_store_suite, a_deleted_index_untags_only_children_left_without_parent) {
  using namespace collectable_store_suite_detail;
  pier::digest const shared = this->put("lib/app", "shared");
  pier::digest const own = this->put("lib/app", "own");
  pier::digest const tagged = this->put("lib/app", "tagged", "keep");
  pier::digest const i1 = this->put("lib/app", "i1", "v1", {}, {shared, own, tagged});
  this->put("lib/app", "i2", "v2", {}, {shared});

  ASSERT_TRUE(this->run(this->store().delete_manifest("lib/app", i1)));
  EXPECT_EQ(this->untagged_pairs(), (repo_digests{{"lib/app", own}})); // shared: i2; tagged: keep
  EXPECT_EQ(this->manifest_refs(shared), 1u);

  // A new parent adopts an untagged child.
  this->put("lib/app", "i3", "v3", {}, {own});
  EXPECT_TRUE(this->untagged_pairs().empty());
  EXPECT_FALSE(this->remove("lib/app", own, later()));
  EXPECT_TRUE(this->holds("lib/app", own));
}

TYPED_TEST_P(collectable_store_suite, a_referrer_keeps_its_subject) {
  using namespace collectable_store_suite_detail;
  pier::digest const signed_ = this->put("lib/app", "signed", "v1");
  this->put("lib/app", "signature", std::nullopt, {}, {}, about(signed_));
  ASSERT_TRUE(this->run(this->store().delete_tag("lib/app", "v1")));
  EXPECT_TRUE(this->untagged_pairs().empty());
  EXPECT_FALSE(this->remove("lib/app", signed_, later()));

  // A referrer arriving after the untag adopts the subject too, also after a listing.
  pier::digest const plain = this->put("lib/app", "plain", "v2");
  ASSERT_TRUE(this->run(this->store().delete_tag("lib/app", "v2")));
  auto const listed = this->untagged(later());
  EXPECT_EQ(pairs(listed), (repo_digests{{"lib/app", plain}}));
  this->put("lib/app", "sbom", std::nullopt, {}, {}, about(plain));
  EXPECT_FALSE(this->remove("lib/app", plain, later()));
  EXPECT_TRUE(this->holds("lib/app", plain));
  EXPECT_TRUE(this->untagged_pairs().empty());

  // Losing its last referrer leaves an untagged subject with nothing holding it: untagged
  // from then on. One referrer of two is not enough.
  pier::digest const sig2 =
      this->put("lib/app", "signature2", std::nullopt, {}, {}, about(signed_));
  pier::digest const sig1 = this->put("lib/app", "signature", std::nullopt, {}, {}, about(signed_));
  ASSERT_TRUE(this->run(this->store().delete_manifest("lib/app", sig1)));
  EXPECT_TRUE(this->untagged_pairs().empty());
  auto const from = clock::now();
  ASSERT_TRUE(this->run(this->store().delete_manifest("lib/app", sig2)));
  auto const listed_after = this->untagged(later());
  ASSERT_EQ(pairs(listed_after), (repo_digests{{"lib/app", signed_}}));
  expect_between(listed_after[0].since, from, clock::now());
  EXPECT_TRUE(this->remove("lib/app", signed_, later()));
  EXPECT_FALSE(this->holds("lib/app", signed_));
  // A tagged subject stays out of the records when its referrer goes.
  pier::digest const sbom = this->put("lib/app", "sbom2", std::nullopt, {}, {},
                                      about(this->put("lib/app", "kept", "v3")));
  ASSERT_TRUE(this->run(this->store().delete_manifest("lib/app", sbom)));
  EXPECT_TRUE(this->untagged_pairs().empty());
}

TYPED_TEST_P(collectable_store_suite, remove_untagged_rechecks_what_changed_after_the_listing) {
  using namespace collectable_store_suite_detail;
  pier::digest const m = this->put("lib/app", "m", "v1");
  ASSERT_TRUE(this->run(this->store().delete_tag("lib/app", "v1")));
  auto const before = later();
  EXPECT_EQ(pairs(this->untagged(before)), (repo_digests{{"lib/app", m}}));

  // Tagged again after the listing: kept.
  ASSERT_TRUE(this->run(this->store().set_tag("lib/app", "v1", m)));
  EXPECT_FALSE(this->remove("lib/app", m, before));
  EXPECT_TRUE(this->holds("lib/app", m));

  // Untagged again: the new record is newer than a cut-off taken in between.
  auto const between = clock::now();
  ASSERT_TRUE(this->run(this->store().delete_tag("lib/app", "v1")));
  EXPECT_FALSE(this->remove("lib/app", m, between));

  // Deleted by digest meanwhile: nothing to remove.
  ASSERT_TRUE(this->run(this->store().delete_manifest("lib/app", m)));
  EXPECT_FALSE(this->remove("lib/app", m, before));
  EXPECT_FALSE(this->remove("no/such", m, before));
}

// A sweep's release and a push that references the blob, at once, for many blobs: either
// the push comes first and the release refuses, or the release comes first and the push
// fails as for a blob never uploaded. A stored manifest never lacks a blob.
TYPED_TEST_P(collectable_store_suite, a_release_racing_a_push_never_strands_a_manifest) {
  using namespace collectable_store_suite_detail;
  constexpr int rounds = 40;
  std::vector<pier::digest> layers;
  for (int i = 0; i < rounds; ++i)
    layers.push_back(this->blob("race/app", "layer " + std::to_string(i)));

  std::atomic<int> round = -1;
  std::vector<int> released(rounds, 0); // not vector<bool>: one thread writes, one reads
  std::thread sweeper([&] {
    asio::io_context io;
    for (int i = 0; i < rounds; ++i) {
      while (round.load() < i) {
      }
      pier::result<bool> const r = run(io, this->store().release_blob(layers[i], later()));
      EXPECT_TRUE(r);
      released[i] = r && *r ? 1 : 0;
    }
  });
  std::vector<int> pushed(rounds, 0);
  for (int i = 0; i < rounds; ++i) {
    round = i;
    pier::result<void> const r = this->run(this->store().put_manifest(
        "race/app", this->make("race " + std::to_string(i), std::nullopt, {layers[i]})));
    if (r)
      pushed[i] = 1;
    else
      EXPECT_EQ(r.error(), st::storage_error::manifest_blob_unknown);
  }
  sweeper.join();
  for (int i = 0; i < rounds; ++i) {
    EXPECT_NE(pushed[i], released[i]) << i; // exactly one of them won
    EXPECT_EQ(this->linked("race/app", layers[i]), pushed[i] == 1) << i;
    EXPECT_EQ(this->blob_refs(layers[i]), pushed[i] == 1 ? 1u : 0u) << i;
  }
}

REGISTER_TYPED_TEST_SUITE_P(
    collectable_store_suite, a_link_records_the_last_use_of_a_blob,
    a_touch_or_a_mount_renews_the_last_use, a_layer_shared_across_repositories_is_released_last,
    release_blobs_releases_each_that_qualifies_in_one_commit,
    release_rechecks_what_changed_after_the_listing, repushing_a_manifest_counts_once,
    untagging_records_the_manifest_with_its_time, a_tag_moved_away_leaves_its_manifest_untagged,
    untagged_manifests_come_oldest_first, each_repository_untags_on_its_own,
    an_index_keeps_its_children_until_it_goes,
    a_deleted_index_untags_only_children_left_without_parent, a_referrer_keeps_its_subject,
    remove_untagged_rechecks_what_changed_after_the_listing,
    a_release_racing_a_push_never_strands_a_manifest);

} // namespace pier_test

#endif // PIER_TEST_UNIT_STORAGE_COLLECTABLE_STORE_SUITE_HPP
