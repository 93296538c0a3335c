// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_TEST_UNIT_STORAGE_NAMESPACE_STORE_SUITE_HPP
#define PIER_TEST_UNIT_STORAGE_NAMESPACE_STORE_SUITE_HPP

// The behaviour every NamespaceStore shares (the rules of the concept's doc comment), as a
// typed test suite. A test file specialises `pier_test::store_maker<Store>` (whose `make()`
// returns a `std::unique_ptr<Store>` to a fresh, empty store) and instantiates the suite:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(memory, namespace_store_suite, store);

#include <pier/core/digest.hpp>
#include <pier/storage/concepts.hpp>

#include "test_util.hpp"

#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace pier_test {

template <class Store>
struct store_maker;

namespace namespace_store_suite_detail {

namespace st = pier::storage;

inline std::string manifest_bytes(std::string const& label) {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("annotations":{"label":")" +
         label + R"("}})";
}

inline std::vector<std::string> repositories_of(st::page<st::tag_entry> const& p) {
  std::vector<std::string> out;
  for (st::tag_entry const& e : p.items)
    out.push_back(e.repository + ":" + e.tag);
  return out;
}

} // namespace namespace_store_suite_detail

template <class Store>
class namespace_store_suite : public ::testing::Test {
protected:
  static_assert(pier::storage::NamespaceStore<Store>);
  static_assert(pier::storage::MetadataStore<Store>);

  template <class T>
  T run(asio::awaitable<T> a) {
    return pier_test::run(io_, std::move(a));
  }
  Store& store() { return *store_; }

  /// Pushes a manifest labelled `label` to `repository` under `tag`; returns its digest.
  pier::digest push(std::string repository, std::string tag, std::string const& label) {
    pier::storage::manifest_put m;
    m.bytes = namespace_store_suite_detail::manifest_bytes(label);
    m.digest = pier::digest_of(m.bytes);
    m.media_type = "application/vnd.oci.image.manifest.v1+json";
    m.tag = std::move(tag);
    pier::digest d = m.digest;
    EXPECT_TRUE(run(store().put_manifest(std::move(repository), std::move(m))));
    return d;
  }

  /// A repository with a blob and no manifest.
  void create(std::string repository) {
    EXPECT_TRUE(run(store().link_blob(std::move(repository), pier::digest_of("blob"))));
  }

  std::vector<std::string> namespaces(std::string last, std::size_t n, bool more) {
    auto const p = run(store().namespaces(std::move(last), n)).value();
    EXPECT_EQ(p.more, more);
    return p.names;
  }
  std::vector<std::string> repositories(std::string ns, std::string last, std::size_t n,
                                        bool more) {
    auto const p = run(store().namespace_repositories(std::move(ns), std::move(last), n)).value();
    EXPECT_EQ(p.more, more);
    return p.names;
  }
  std::vector<std::string> tags(std::string ns, std::string last, std::size_t n, bool more) {
    auto const p = run(store().namespace_tags(std::move(ns), std::move(last), n)).value();
    EXPECT_EQ(p.more, more);
    return namespace_store_suite_detail::repositories_of(p);
  }
  std::vector<std::string> search(std::string q, std::string last, std::size_t n, bool more) {
    auto const p = run(store().search(std::move(q), std::move(last), n)).value();
    EXPECT_EQ(p.more, more);
    return p.names;
  }

  std::chrono::system_clock::time_point pushed(std::string ns, std::string repository,
                                               std::string tag) {
    auto const p = run(store().namespace_tags(std::move(ns), "", 1000)).value();
    for (auto const& e : p.items) {
      if (e.repository == repository && e.tag == tag)
        return e.pushed;
    }
    ADD_FAILURE() << repository << ":" << tag << " not listed";
    return {};
  }

  /// A registry with namespaces acme, acme-x (a prefix of it followed by '-'), beta and
  /// zeta, nested names, and repositories without a namespace.
  void registry() {
    create("alpine");
    create("acme/web");
    push("acme/api", "v1", "api1");
    push("acme/api", "latest", "api1");
    create("acme/web/app");
    push("acme/web/app", "1.0", "app");
    push("acme-x/tool", "t", "tool");
    create("busybox");
    push("beta/one", "x", "beta");
    create("zeta/z");
    create("zzz");
  }

  asio::io_context io_;
  store_maker<Store> maker_;
  std::unique_ptr<Store> store_ = maker_.make();
};

TYPED_TEST_SUITE_P(namespace_store_suite);

TYPED_TEST_P(namespace_store_suite, an_empty_store_has_no_namespaces) {
  EXPECT_TRUE(this->namespaces("", 10, false).empty());
  EXPECT_TRUE(this->repositories("acme", "", 10, false).empty());
  EXPECT_TRUE(this->tags("acme", "", 10, false).empty());
  EXPECT_TRUE(this->search("a", "", 10, false).empty());
}

TYPED_TEST_P(namespace_store_suite, namespaces_are_first_components_in_page_order) {
  this->registry();
  using v = std::vector<std::string>;
  // Lexical order, although the repositories of acme-x come before those of acme.
  v const all{"acme", "acme-x", "beta", "zeta"};
  EXPECT_EQ(this->namespaces("", 10, false), all);
  EXPECT_EQ(this->namespaces("", 4, false), all);
  EXPECT_EQ(this->namespaces("", 3, true), (v{"acme", "acme-x", "beta"}));
  EXPECT_EQ(this->namespaces("", 1, true), v{"acme"});
  EXPECT_EQ(this->namespaces("acme", 1, true), v{"acme-x"});
  EXPECT_EQ(this->namespaces("acme-x", 1, true), v{"beta"});
  EXPECT_EQ(this->namespaces("beta", 1, false), v{"zeta"});
  EXPECT_EQ(this->namespaces("beta", 5, false), v{"zeta"});
  EXPECT_TRUE(this->namespaces("zeta", 5, false).empty());
  EXPECT_TRUE(this->namespaces("zzzz", 5, false).empty());
  // A `last` that is no namespace pages from where it would be.
  EXPECT_EQ(this->namespaces("b", 5, false), (v{"beta", "zeta"}));
  EXPECT_TRUE(this->namespaces("", 0, true).empty());
}

// '-' and '.' sort before '/': the repositories of `a-b` come before those of `a` in byte
// order, and the listing must still be lexical, also one by one from any `last`.
TYPED_TEST_P(namespace_store_suite, namespaces_that_extend_others_are_in_lexical_order) {
  std::vector<std::string> expected{"a",  "a-b", "a-b-c", "a-b.d", "a--z", "a.x",
                                    "a0", "a_y", "ab",    "b",     "b.c",  "b.c-d"};
  for (std::string const& ns : expected) {
    this->create(ns + "/r");
    this->create(ns + "/r-" + ns);
  }
  for (std::string const r : {"a", "a-b", "a-b-c-", "b.c-", "0"}) // without a namespace
    this->create(r);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(this->namespaces("", 100, false), expected);
  std::vector<std::string> one_by_one;
  std::string last;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    std::vector<std::string> const p = this->namespaces(last, 1, i + 1 < expected.size());
    ASSERT_EQ(p.size(), 1u) << last;
    one_by_one.push_back(p[0]);
    last = p[0];
  }
  EXPECT_EQ(one_by_one, expected);
  EXPECT_EQ(this->namespaces("a-b", 2, true), (std::vector<std::string>{"a-b-c", "a-b.d"}));
  EXPECT_EQ(this->namespaces("a-", 2, true), (std::vector<std::string>{"a--z", "a-b"}));
  EXPECT_EQ(this->namespaces("a-c", 1, true), std::vector<std::string>{"a.x"});
}

TYPED_TEST_P(namespace_store_suite, repositories_of_a_namespace_include_nested_names) {
  this->registry();
  using v = std::vector<std::string>;
  EXPECT_EQ(this->repositories("acme", "", 10, false), (v{"acme/api", "acme/web", "acme/web/app"}));
  EXPECT_EQ(this->repositories("acme", "", 2, true), (v{"acme/api", "acme/web"}));
  EXPECT_EQ(this->repositories("acme", "acme/web", 2, false), v{"acme/web/app"});
  EXPECT_EQ(this->repositories("acme", "acme/api", 1, true), v{"acme/web"});
  EXPECT_TRUE(this->repositories("acme", "acme/web/app", 2, false).empty());
  // `last` before or after the namespace's range.
  EXPECT_EQ(this->repositories("acme", "a", 1, true), v{"acme/api"});
  EXPECT_TRUE(this->repositories("acme", "b", 1, false).empty());
  EXPECT_EQ(this->repositories("acme-x", "", 10, false), v{"acme-x/tool"});
  // Not namespaces: unknown, a repository without one, nested, empty.
  EXPECT_TRUE(this->repositories("nope", "", 10, false).empty());
  EXPECT_TRUE(this->repositories("alpine", "", 10, false).empty());
  EXPECT_TRUE(this->repositories("acme/web", "", 10, false).empty());
  EXPECT_TRUE(this->repositories("", "", 10, false).empty());
}

TYPED_TEST_P(namespace_store_suite, tags_of_a_namespace_by_repository_then_tag) {
  this->registry();
  using v = std::vector<std::string>;
  v const all{"acme/api:latest", "acme/api:v1", "acme/web/app:1.0"};
  EXPECT_EQ(this->tags("acme", "", 10, false), all);
  EXPECT_EQ(this->tags("acme", "", 3, false), all);
  EXPECT_EQ(this->tags("acme", "", 1, true), v{"acme/api:latest"});
  EXPECT_EQ(this->tags("acme", "acme/api:latest", 1, true), v{"acme/api:v1"});
  EXPECT_EQ(this->tags("acme", "acme/api:v1", 1, false), v{"acme/web/app:1.0"});
  EXPECT_TRUE(this->tags("acme", "acme/web/app:1.0", 5, false).empty());
  // A repository without tags (acme/web) is skipped; a `last` that is a repository alone
  // starts at its first tag.
  EXPECT_EQ(this->tags("acme", "acme/web", 5, false), v{"acme/web/app:1.0"});
  EXPECT_EQ(this->tags("acme", "acme/web/app", 5, false), v{"acme/web/app:1.0"});
  EXPECT_EQ(this->tags("beta", "", 5, false), v{"beta/one:x"});
  EXPECT_TRUE(this->tags("zeta", "", 5, false).empty());
  EXPECT_TRUE(this->tags("alpine", "", 5, false).empty());
  EXPECT_TRUE(this->tags("acme/web", "", 5, false).empty());
}

TYPED_TEST_P(namespace_store_suite, a_tag_entry_describes_the_manifest) {
  auto const before = std::chrono::system_clock::now();
  pier::digest const d = this->push("acme/api", "v1", "api1");
  auto const after = std::chrono::system_clock::now();
  auto const p = this->run(this->store().namespace_tags("acme", "", 10)).value();
  ASSERT_EQ(p.items.size(), 1u);
  pier::storage::tag_entry const& e = p.items[0];
  EXPECT_EQ(e.repository, "acme/api");
  EXPECT_EQ(e.tag, "v1");
  EXPECT_EQ(e.digest, d);
  EXPECT_EQ(e.media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(e.size, namespace_store_suite_detail::manifest_bytes("api1").size());
  EXPECT_GE(e.pushed, before);
  EXPECT_LE(e.pushed, after);
}

TYPED_TEST_P(namespace_store_suite, a_tag_time_changes_when_the_tag_moves) {
  pier::digest const one = this->push("acme/api", "v1", "one");
  auto const first = this->pushed("acme", "acme/api", "v1");
  // Pointing it at the same manifest again is no move: the time stays.
  this->push("acme/api", "v1", "one");
  ASSERT_TRUE(this->run(this->store().set_tag("acme/api", "v1", one)));
  EXPECT_EQ(this->pushed("acme", "acme/api", "v1"), first);

  auto const wait_past = [](std::chrono::system_clock::time_point t) {
    while (std::chrono::system_clock::now() <= t) {
    }
  };
  wait_past(first);
  pier::digest const two = this->push("acme/api", "v1", "two");
  auto const second = this->pushed("acme", "acme/api", "v1");
  EXPECT_GT(second, first);

  wait_past(second);
  ASSERT_TRUE(this->run(this->store().set_tag("acme/api", "v1", one)));
  auto const third = this->pushed("acme", "acme/api", "v1");
  EXPECT_GT(third, second);

  // Deleted and set again to the same manifest: a new push.
  wait_past(third);
  ASSERT_TRUE(this->run(this->store().delete_tag("acme/api", "v1")));
  ASSERT_TRUE(this->run(this->store().set_tag("acme/api", "v1", one)));
  EXPECT_GT(this->pushed("acme", "acme/api", "v1"), third);
  (void)two;
}

TYPED_TEST_P(namespace_store_suite, deleted_tags_and_manifests_leave_the_listing) {
  pier::digest const d = this->push("acme/api", "v1", "one");
  this->push("acme/api", "v2", "two");
  ASSERT_TRUE(this->run(this->store().set_tag("acme/api", "also", d)));
  ASSERT_TRUE(this->run(this->store().delete_tag("acme/api", "v2")));
  using v = std::vector<std::string>;
  EXPECT_EQ(this->tags("acme", "", 10, false), (v{"acme/api:also", "acme/api:v1"}));
  ASSERT_TRUE(this->run(this->store().delete_manifest("acme/api", d)));
  EXPECT_TRUE(this->tags("acme", "", 10, false).empty());
  // The repository stays, as in the catalog.
  EXPECT_EQ(this->repositories("acme", "", 10, false), v{"acme/api"});
}

TYPED_TEST_P(namespace_store_suite, search_finds_substrings_of_repository_names) {
  this->registry();
  using v = std::vector<std::string>;
  EXPECT_EQ(this->search("web", "", 10, false), (v{"acme/web", "acme/web/app"}));
  EXPECT_EQ(this->search("web", "", 1, true), v{"acme/web"});
  EXPECT_EQ(this->search("web", "acme/web", 1, false), v{"acme/web/app"});
  EXPECT_EQ(this->search("z", "", 10, false), (v{"zeta/z", "zzz"}));
  EXPECT_EQ(this->search("e/", "", 10, false), (v{"acme/api", "acme/web", "acme/web/app"}));
  EXPECT_EQ(this->search("box", "", 10, false), v{"busybox"});
  EXPECT_TRUE(this->search("WEB", "", 10, false).empty()); // case-sensitive
  EXPECT_TRUE(this->search("nothing", "", 10, false).empty());
  EXPECT_EQ(this->search("", "zeta/z", 10, false), v{"zzz"});
}

REGISTER_TYPED_TEST_SUITE_P(namespace_store_suite, an_empty_store_has_no_namespaces,
                            namespaces_are_first_components_in_page_order,
                            namespaces_that_extend_others_are_in_lexical_order,
                            repositories_of_a_namespace_include_nested_names,
                            tags_of_a_namespace_by_repository_then_tag,
                            a_tag_entry_describes_the_manifest,
                            a_tag_time_changes_when_the_tag_moves,
                            deleted_tags_and_manifests_leave_the_listing,
                            search_finds_substrings_of_repository_names);

} // namespace pier_test

#endif // PIER_TEST_UNIT_STORAGE_NAMESPACE_STORE_SUITE_HPP
