// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_TEST_UNIT_STORAGE_METADATA_STORE_SUITE_HPP
#define PIER_TEST_UNIT_STORAGE_METADATA_STORE_SUITE_HPP

// The behaviour every MetadataStore shares, as a typed test suite. A test file
// specialises `pier_test::store_maker<Store>` (whose `make()` returns a
// `std::unique_ptr<Store>` to a fresh, empty store) and instantiates the suite:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(memory, metadata_store_suite, memory_metadata_store);

#include <pier/storage/concepts.hpp>

#include "test_util.hpp"

#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pier_test {

template <class Store>
struct store_maker;

namespace st = pier::storage;

inline std::string const oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline std::string const oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::size_t all = std::numeric_limits<std::size_t>::max();

/// The bytes of a made-up manifest called `label`.
inline std::string manifest_bytes(std::string const& label) {
  return R"({"schemaVersion":2,"label":")" + label + R"("})";
}

template <class Store>
class metadata_store_suite : public ::testing::Test {
protected:
  static_assert(st::MetadataStore<Store>);

  template <class T>
  T run(asio::awaitable<T> a) {
    return pier_test::run(io_, std::move(a));
  }
  Store& store() { return *store_; }

  /// Links the blobs named by `labels` in `repo` and returns their digests.
  std::vector<pier::digest> blobs(std::string const& repo, std::vector<std::string> const& labels) {
    std::vector<pier::digest> out;
    for (std::string const& l : labels) {
      out.push_back(pier::digest_of(l));
      EXPECT_TRUE(run(store().link_blob(repo, out.back())));
    }
    return out;
  }

  /// Stores manifest `label` in `repo`; fails the test when the store refuses.
  pier::digest put(std::string const& repo, std::string const& label,
                   std::optional<std::string> tag = std::nullopt,
                   std::vector<pier::digest> blob_refs = {},
                   std::vector<pier::digest> manifest_refs = {},
                   std::optional<st::subject_link> subject = std::nullopt) {
    st::manifest_put m = make(label, std::move(tag), std::move(blob_refs), std::move(manifest_refs),
                              std::move(subject));
    pier::digest d = m.digest;
    pier::result<void> const r = run(store().put_manifest(repo, std::move(m)));
    EXPECT_TRUE(r) << r.error().message();
    return d;
  }

  static st::manifest_put make(std::string const& label, std::optional<std::string> tag = {},
                               std::vector<pier::digest> blob_refs = {},
                               std::vector<pier::digest> manifest_refs = {},
                               std::optional<st::subject_link> subject = std::nullopt) {
    st::manifest_put m;
    m.bytes = manifest_bytes(label);
    m.digest = pier::digest_of(m.bytes);
    m.media_type = manifest_refs.empty() ? oci_manifest : oci_index;
    m.tag = std::move(tag);
    m.blobs = std::move(blob_refs);
    m.manifests = std::move(manifest_refs);
    m.subject = std::move(subject);
    return m;
  }

  std::vector<std::string> tags(std::string const& repo, std::string last = "",
                                std::size_t n = all) {
    return run(store().list_tags(repo, std::move(last), n)).value().names;
  }

  std::uint64_t blob_refs(pier::digest const& d) { return run(store().blob_refcount(d)).value(); }
  std::uint64_t manifest_refs(pier::digest const& d) {
    return run(store().manifest_refcount(d)).value();
  }

  store_maker<Store> maker_;
  std::unique_ptr<Store> store_ = maker_.make();
  asio::io_context io_;
};

TYPED_TEST_SUITE_P(metadata_store_suite);

TYPED_TEST_P(metadata_store_suite, repositories_appear_with_their_first_blob_link) {
  auto& s = this->store();
  pier::digest const d = pier::digest_of("layer");
  EXPECT_FALSE(this->run(s.repository_exists("a/b")).value());
  EXPECT_FALSE(this->run(s.is_linked("a/b", d)).value());
  EXPECT_TRUE(this->run(s.link_blob("a/b", d)));
  EXPECT_TRUE(this->run(s.link_blob("a/b", d))); // twice is fine
  EXPECT_TRUE(this->run(s.repository_exists("a/b")).value());
  EXPECT_TRUE(this->run(s.is_linked("a/b", d)).value());
  EXPECT_FALSE(this->run(s.is_linked("a/c", d)).value());
  EXPECT_FALSE(this->run(s.is_linked("a/b", pier::digest_of("other"))).value());

  // Mount: linking in another repository is what a cross-repository mount does.
  EXPECT_TRUE(this->run(s.link_blob("c", d)));
  EXPECT_TRUE(this->run(s.is_linked("c", d)).value());

  EXPECT_TRUE(this->run(s.unlink_blob("a/b", d)));
  EXPECT_FALSE(this->run(s.is_linked("a/b", d)).value());
  EXPECT_TRUE(this->run(s.is_linked("c", d)).value());
  auto const again = this->run(s.unlink_blob("a/b", d));
  EXPECT_EQ(again.error(), st::storage_error::blob_unknown);
  EXPECT_EQ(pier::to_oci_error(again.error()), pier::oci_error::blob_unknown);
  EXPECT_EQ(this->run(s.unlink_blob("nowhere", d)).error(), st::storage_error::blob_unknown);
  EXPECT_TRUE(this->run(s.repository_exists("a/b")).value()); // repositories stay
}

TYPED_TEST_P(metadata_store_suite, put_and_get_manifest) {
  auto& s = this->store();
  auto const layers = this->blobs("r", {"config", "layer1"});
  pier::digest const d = this->put("r", "m1", "latest", layers);
  auto const got = this->run(s.get_manifest("r", d));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->digest, d);
  EXPECT_EQ(got->media_type, oci_manifest);
  EXPECT_EQ(got->bytes, manifest_bytes("m1"));
  EXPECT_EQ(this->run(s.resolve_tag("r", "latest")).value(), d);

  auto const missing = this->run(s.get_manifest("r", pier::digest_of("nope")));
  EXPECT_EQ(missing.error(), st::storage_error::manifest_unknown);
  EXPECT_EQ(pier::to_oci_error(missing.error()), pier::oci_error::manifest_unknown);
  auto const no_repo = this->run(s.get_manifest("other", d));
  EXPECT_EQ(no_repo.error(), st::storage_error::name_unknown);
  EXPECT_EQ(pier::to_oci_error(no_repo.error()), pier::oci_error::name_unknown);
  // Stored in "r" only: another repository does not see it.
  EXPECT_TRUE(this->run(s.link_blob("other", layers[0])));
  EXPECT_EQ(this->run(s.get_manifest("other", d)).error(), st::storage_error::manifest_unknown);

  auto const tag_missing = this->run(s.resolve_tag("r", "nope"));
  EXPECT_EQ(tag_missing.error(), st::storage_error::tag_unknown);
  EXPECT_EQ(pier::to_oci_error(tag_missing.error()), pier::oci_error::manifest_unknown);
  EXPECT_EQ(this->run(s.resolve_tag("zzz", "latest")).error(), st::storage_error::name_unknown);

  // A manifest without a tag, and one whose bytes are large.
  std::string big = manifest_bytes(std::string(300000, 'x'));
  st::manifest_put m;
  m.digest = pier::digest_of(big);
  m.media_type = "application/vnd.docker.distribution.manifest.v2+json";
  m.bytes = big;
  EXPECT_TRUE(this->run(s.put_manifest("r", m)));
  EXPECT_EQ(this->run(s.get_manifest("r", m.digest)).value().bytes, big);
  EXPECT_EQ(this->tags("r"), std::vector<std::string>{"latest"});
}

TYPED_TEST_P(metadata_store_suite, manifest_with_missing_references_is_refused_whole) {
  auto& s = this->store();
  auto const linked = this->blobs("r", {"config"});
  auto m = this->make("m", "v1", {linked[0], pier::digest_of("not linked")});
  auto const r = this->run(s.put_manifest("r", m));
  EXPECT_EQ(r.error(), st::storage_error::manifest_blob_unknown);
  EXPECT_EQ(pier::to_oci_error(r.error()), pier::oci_error::manifest_blob_unknown);
  EXPECT_EQ(this->run(s.get_manifest("r", m.digest)).error(), st::storage_error::manifest_unknown);
  EXPECT_EQ(this->run(s.resolve_tag("r", "v1")).error(), st::storage_error::tag_unknown);
  EXPECT_EQ(this->blob_refs(linked[0]), 0u);

  // A new repository is not created by a refused manifest.
  EXPECT_EQ(this->run(s.put_manifest("fresh", m)).error(),
            st::storage_error::manifest_blob_unknown);
  EXPECT_FALSE(this->run(s.repository_exists("fresh")).value());

  // An index needs its manifests stored in the repository.
  auto index = this->make("index", "multi", {}, {pier::digest_of(manifest_bytes("child"))});
  EXPECT_EQ(this->run(s.put_manifest("r", index)).error(),
            st::storage_error::manifest_blob_unknown);
  this->put("r", "child");
  EXPECT_TRUE(this->run(s.put_manifest("r", index)));
}

TYPED_TEST_P(metadata_store_suite, tags_in_lexical_order_with_pagination) {
  auto& s = this->store();
  pier::digest const d = this->put("r", "m");
  std::vector<std::string> names = {"v1.10", "v1.2", "latest", "a", "B", "_x", "1.0", "v1.2-rc"};
  for (std::string const& t : names)
    EXPECT_TRUE(this->run(s.set_tag("r", t, d)));
  // Tags of another repository whose name shares a prefix stay out.
  this->put("r2", "m");
  EXPECT_TRUE(this->run(s.set_tag("r2", "zz", pier::digest_of(manifest_bytes("m")))));
  this->put("r/sub", "m", "nested");

  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(this->tags("r"), sorted);
  EXPECT_EQ(sorted.front(), "1.0");

  // Pages of 3 following `last`.
  std::vector<std::string> seen;
  std::string last;
  for (int pages = 0; pages < 10; ++pages) {
    auto const page = this->run(s.list_tags("r", last, 3)).value();
    EXPECT_LE(page.names.size(), 3u);
    seen.insert(seen.end(), page.names.begin(), page.names.end());
    if (!page.more)
      break;
    last = page.names.back();
  }
  EXPECT_EQ(seen, sorted);

  // `last` that is not a tag: the tags after it.
  EXPECT_EQ(this->tags("r", "v1.1"), (std::vector<std::string>{"v1.10", "v1.2", "v1.2-rc"}));
  EXPECT_EQ(this->tags("r", "v1.2-rc"), std::vector<std::string>{});
  EXPECT_FALSE(this->run(s.list_tags("r", "v1.2-rc", 10)).value().more);
  auto const none = this->run(s.list_tags("r", "", 0)).value();
  EXPECT_TRUE(none.names.empty());
  EXPECT_TRUE(none.more);
  auto const exact = this->run(s.list_tags("r", "", sorted.size())).value();
  EXPECT_EQ(exact.names, sorted);
  EXPECT_FALSE(exact.more);

  EXPECT_EQ(this->run(s.list_tags("nope", "", 10)).error(), st::storage_error::name_unknown);
  // A repository with blobs but no tags lists nothing.
  this->blobs("empty", {"x"});
  EXPECT_EQ(this->tags("empty"), std::vector<std::string>{});
}

TYPED_TEST_P(metadata_store_suite, tag_moves) {
  auto& s = this->store();
  pier::digest const a = this->put("r", "a", "latest");
  pier::digest const b = this->put("r", "b", "latest");
  EXPECT_EQ(this->run(s.resolve_tag("r", "latest")).value(), b);
  EXPECT_TRUE(this->run(s.get_manifest("r", a))); // the old one stays, untagged
  EXPECT_TRUE(this->run(s.set_tag("r", "latest", a)));
  EXPECT_EQ(this->run(s.resolve_tag("r", "latest")).value(), a);
  EXPECT_EQ(this->tags("r"), std::vector<std::string>{"latest"});

  // Re-pushing `b` under the tag moves it back.
  EXPECT_TRUE(this->run(s.put_manifest("r", this->make("b", "latest"))));
  EXPECT_EQ(this->run(s.resolve_tag("r", "latest")).value(), b);

  EXPECT_EQ(this->run(s.set_tag("r", "x", pier::digest_of("unknown"))).error(),
            st::storage_error::manifest_unknown);
  EXPECT_EQ(this->run(s.set_tag("nope", "x", a)).error(), st::storage_error::name_unknown);
  // Deleting `a` must not take the tag that moved away from it.
  EXPECT_TRUE(this->run(s.delete_manifest("r", a)));
  EXPECT_EQ(this->run(s.resolve_tag("r", "latest")).value(), b);
}

TYPED_TEST_P(metadata_store_suite, delete_by_tag_and_by_digest) {
  auto& s = this->store();
  auto const layers = this->blobs("x", {"l1"});
  this->blobs("y", {"l1"});
  pier::digest const d = this->put("x", "m", "v1", layers);
  EXPECT_TRUE(this->run(s.set_tag("x", "v2", d)));
  EXPECT_TRUE(this->run(s.set_tag("x", "v3", d)));
  pier::digest const other = this->put("x", "other", "keep");
  this->put("y", "m", "v1", layers);

  // By tag: untag only.
  EXPECT_TRUE(this->run(s.delete_tag("x", "v3")));
  EXPECT_EQ(this->run(s.resolve_tag("x", "v3")).error(), st::storage_error::tag_unknown);
  EXPECT_EQ(this->run(s.delete_tag("x", "v3")).error(), st::storage_error::tag_unknown);
  EXPECT_EQ(this->run(s.delete_tag("nope", "v3")).error(), st::storage_error::name_unknown);
  EXPECT_TRUE(this->run(s.get_manifest("x", d)));
  EXPECT_EQ(this->tags("x"), (std::vector<std::string>{"keep", "v1", "v2"}));

  // By digest: the manifest and all its tags in that repository.
  EXPECT_TRUE(this->run(s.delete_manifest("x", d)));
  EXPECT_EQ(this->run(s.get_manifest("x", d)).error(), st::storage_error::manifest_unknown);
  EXPECT_EQ(this->tags("x"), std::vector<std::string>{"keep"});
  EXPECT_EQ(this->run(s.resolve_tag("x", "keep")).value(), other);
  EXPECT_EQ(this->run(s.delete_manifest("x", d)).error(), st::storage_error::manifest_unknown);
  EXPECT_EQ(this->run(s.delete_manifest("nope", d)).error(), st::storage_error::name_unknown);

  // Other repositories keep theirs.
  EXPECT_EQ(this->run(s.get_manifest("y", d)).value().bytes, manifest_bytes("m"));
  EXPECT_EQ(this->run(s.resolve_tag("y", "v1")).value(), d);
  // And it can come back.
  this->put("x", "m", "again", layers);
  EXPECT_EQ(this->run(s.get_manifest("x", d)).value().bytes, manifest_bytes("m"));
  EXPECT_EQ(this->tags("x"), (std::vector<std::string>{"again", "keep"}));
}

TYPED_TEST_P(metadata_store_suite, referrers) {
  auto& s = this->store();
  pier::digest const subject = this->put("r", "image", "v1");
  st::subject_link sig{subject, "application/vnd.example.signature", {{"org.example", "yes"}}};
  st::subject_link sbom{subject, "application/spdx+json", {}};
  pier::digest const r1 = this->put("r", "signature", std::nullopt, {}, {}, sig);
  pier::digest const r2 = this->put("r", "sbom", std::nullopt, {}, {}, sbom);
  // A referrer of a subject that is not there (yet) is fine.
  pier::digest const ghost = pier::digest_of("ghost");
  pier::digest const r3 =
      this->put("r", "orphan", std::nullopt, {}, {}, st::subject_link{ghost, "application/x", {}});

  auto list = this->run(s.referrers("r", subject)).value();
  ASSERT_EQ(list.size(), 2u);
  std::vector<st::referrer> expected = {
      {r1, oci_manifest, manifest_bytes("signature").size(), sig.artifact_type, sig.annotations},
      {r2, oci_manifest, manifest_bytes("sbom").size(), sbom.artifact_type, {}},
  };
  std::sort(expected.begin(), expected.end(),
            [](st::referrer const& a, st::referrer const& b) { return a.digest < b.digest; });
  EXPECT_EQ(list, expected);
  EXPECT_EQ(this->run(s.referrers("r", ghost)).value().size(), 1u);
  EXPECT_EQ(this->run(s.referrers("r", ghost)).value()[0].digest, r3);
  EXPECT_TRUE(this->run(s.referrers("r", r1)).value().empty());
  EXPECT_TRUE(this->run(s.referrers("elsewhere", subject)).value().empty());

  // Deleting a referrer takes it out of the list; deleting the subject leaves the list.
  EXPECT_TRUE(this->run(s.delete_manifest("r", r1)));
  list = this->run(s.referrers("r", subject)).value();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].digest, r2);
  EXPECT_TRUE(this->run(s.delete_manifest("r", subject)));
  EXPECT_EQ(this->run(s.referrers("r", subject)).value().size(), 1u);

  // Referrers are per repository.
  this->put("other", "sbom", std::nullopt, {}, {}, sbom);
  EXPECT_EQ(this->run(s.referrers("other", subject)).value().size(), 1u);
  EXPECT_TRUE(this->run(s.delete_manifest("other", r2)));
  EXPECT_TRUE(this->run(s.referrers("other", subject)).value().empty());
  EXPECT_EQ(this->run(s.referrers("r", subject)).value().size(), 1u);
}

TYPED_TEST_P(metadata_store_suite, catalog_pagination) {
  auto& s = this->store();
  EXPECT_EQ(this->run(s.catalog("", 10)).value(), st::name_page{});
  std::vector<std::string> repos = {"library/ubuntu", "a", "b/c", "b", "z/y/x", "a-b", "a/b"};
  for (std::string const& r : repos)
    this->blobs(r, {"x"});
  std::sort(repos.begin(), repos.end());
  EXPECT_EQ(this->run(s.catalog("", all)).value().names, repos);

  std::vector<std::string> seen;
  std::string last;
  while (true) {
    auto const page = this->run(s.catalog(last, 2)).value();
    EXPECT_LE(page.names.size(), 2u);
    seen.insert(seen.end(), page.names.begin(), page.names.end());
    if (!page.more)
      break;
    last = page.names.back();
  }
  EXPECT_EQ(seen, repos);
  EXPECT_EQ(this->run(s.catalog("b/", all)).value().names,
            (std::vector<std::string>{"b/c", "library/ubuntu", "z/y/x"}));
  EXPECT_EQ(this->run(s.catalog("z/y/x", all)).value(), st::name_page{});
}

TYPED_TEST_P(metadata_store_suite, refcounts_follow_pushes_and_deletes) {
  auto& s = this->store();
  auto const r = this->blobs("r", {"c1", "c2", "L1", "L2", "L3"});
  pier::digest const c1 = r[0], c2 = r[1], l1 = r[2], l2 = r[3], l3 = r[4];

  // Two images sharing L1; duplicates in one manifest count once.
  pier::digest const m1 = this->put("r", "m1", "one", {c1, l1, l2, l1});
  pier::digest const m2 = this->put("r", "m2", "two", {c2, l1, l3});
  EXPECT_EQ(this->blob_refs(l1), 2u);
  EXPECT_EQ(this->blob_refs(l2), 1u);
  EXPECT_EQ(this->blob_refs(l3), 1u);
  EXPECT_EQ(this->blob_refs(c1), 1u);
  EXPECT_EQ(this->blob_refs(pier::digest_of("never")), 0u);

  // Re-push and tag moves change nothing.
  this->put("r", "m1", "one", {c1, l1, l2});
  this->put("r", "m1", "two", {c1, l1, l2});
  EXPECT_TRUE(this->run(s.set_tag("r", "three", m2)));
  EXPECT_EQ(this->blob_refs(l1), 2u);
  EXPECT_EQ(this->blob_refs(l2), 1u);

  // The same manifest in another repository counts again.
  this->blobs("r2", {"c1", "L1", "L2"});
  this->put("r2", "m1", "latest", {c1, l1, l2});
  EXPECT_EQ(this->blob_refs(l1), 3u);
  EXPECT_EQ(this->blob_refs(l2), 2u);

  // An index references manifests.
  pier::digest const index = this->put("r", "index", "multi", {}, {m1, m2, m1});
  EXPECT_EQ(this->manifest_refs(m1), 1u);
  EXPECT_EQ(this->manifest_refs(m2), 1u);
  this->put("r", "index", "multi2", {}, {m1, m2});
  EXPECT_EQ(this->manifest_refs(m1), 1u);

  // Deletes subtract; deleting the only holder of an index frees its manifests.
  EXPECT_TRUE(this->run(s.delete_manifest("r", index)));
  EXPECT_EQ(this->manifest_refs(m1), 0u);
  EXPECT_TRUE(this->run(s.delete_manifest("r", m1)));
  EXPECT_EQ(this->blob_refs(l1), 2u);
  EXPECT_EQ(this->blob_refs(l2), 1u);
  EXPECT_EQ(this->blob_refs(c1), 1u);
  EXPECT_TRUE(this->run(s.delete_tag("r2", "latest"))); // untagging keeps counts
  EXPECT_EQ(this->blob_refs(l2), 1u);
  EXPECT_TRUE(this->run(s.delete_manifest("r2", m1)));
  EXPECT_EQ(this->blob_refs(l2), 0u);
  EXPECT_EQ(this->blob_refs(c1), 0u);
  EXPECT_EQ(this->blob_refs(l1), 1u);
  EXPECT_TRUE(this->run(s.delete_manifest("r", m2)));
  for (pier::digest const& d : r)
    EXPECT_EQ(this->blob_refs(d), 0u);
  // Unlinking blobs is not a manifest change: counts stay as they are.
  this->put("r", "m3", std::nullopt, {l3});
  EXPECT_TRUE(this->run(s.unlink_blob("r", l3)));
  EXPECT_EQ(this->blob_refs(l3), 1u);
}

TYPED_TEST_P(metadata_store_suite, upload_sessions_and_expiry) {
  auto& s = this->store();
  using namespace std::chrono_literals;
  auto const t0 = std::chrono::system_clock::now();
  std::vector<st::upload_session> sessions;
  for (int i = 0; i < 4; ++i)
    sessions.push_back({st::make_upload_id(), "repo/" + std::to_string(i), t0 + i * 1s});
  // Created out of order, listed oldest first.
  for (int i : {2, 0, 3, 1})
    EXPECT_TRUE(this->run(s.create_upload(sessions[static_cast<std::size_t>(i)])));

  EXPECT_EQ(this->run(s.get_upload(sessions[1].id)).value(), sessions[1]);
  auto const unknown = this->run(s.get_upload(st::make_upload_id()));
  EXPECT_EQ(unknown.error(), st::storage_error::upload_unknown);
  EXPECT_EQ(pier::to_oci_error(unknown.error()), pier::oci_error::blob_upload_unknown);

  EXPECT_EQ(this->run(s.expired_uploads(t0 + 2500ms, 10)).value(),
            (std::vector<st::upload_session>{sessions[0], sessions[1], sessions[2]}));
  EXPECT_EQ(this->run(s.expired_uploads(t0 + 2s, 10)).value(), // strictly before
            (std::vector<st::upload_session>{sessions[0], sessions[1]}));
  EXPECT_EQ(this->run(s.expired_uploads(t0 + 2500ms, 1)).value(),
            std::vector<st::upload_session>{sessions[0]});
  EXPECT_TRUE(this->run(s.expired_uploads(t0, 10)).value().empty());

  EXPECT_TRUE(this->run(s.delete_upload(sessions[0].id)));
  EXPECT_EQ(this->run(s.get_upload(sessions[0].id)).error(), st::storage_error::upload_unknown);
  EXPECT_EQ(this->run(s.delete_upload(sessions[0].id)).error(), st::storage_error::upload_unknown);
  EXPECT_EQ(this->run(s.expired_uploads(t0 + 10s, 10)).value(),
            (std::vector<st::upload_session>{sessions[1], sessions[2], sessions[3]}));

  // Re-creating a session replaces it (and its place in the expiry order).
  st::upload_session moved = sessions[1];
  moved.created = t0 + 5s;
  EXPECT_TRUE(this->run(s.create_upload(moved)));
  EXPECT_EQ(this->run(s.expired_uploads(t0 + 10s, 10)).value(),
            (std::vector<st::upload_session>{sessions[2], sessions[3], moved}));

  // Sessions do not create repositories.
  EXPECT_FALSE(this->run(s.repository_exists("repo/1")).value());
}

REGISTER_TYPED_TEST_SUITE_P(metadata_store_suite, repositories_appear_with_their_first_blob_link,
                            put_and_get_manifest, manifest_with_missing_references_is_refused_whole,
                            tags_in_lexical_order_with_pagination, tag_moves,
                            delete_by_tag_and_by_digest, referrers, catalog_pagination,
                            refcounts_follow_pushes_and_deletes, upload_sessions_and_expiry);

} // namespace pier_test

#endif // PIER_TEST_UNIT_STORAGE_METADATA_STORE_SUITE_HPP
