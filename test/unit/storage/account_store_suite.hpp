// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_TEST_UNIT_STORAGE_ACCOUNT_STORE_SUITE_HPP
#define PIER_TEST_UNIT_STORAGE_ACCOUNT_STORE_SUITE_HPP

// The behaviour every AccountStore shares (the rules of the concept's doc comment and the
// contract of `account_store_archetype`), as a typed test suite. A test file specialises
// `pier_test::store_maker<Store>` (whose `make()` returns a `std::unique_ptr<Store>` to a
// fresh, empty store) and instantiates the suite:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(memory, account_store_suite, memory_metadata_store);

#include <pier/storage/concepts.hpp>

#include "test_util.hpp"

#include <asio/io_context.hpp>

#include <gtest/gtest.h>

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

template <class Store>
struct store_maker;

namespace account_store_suite_detail {

namespace st = pier::storage;
using namespace std::chrono_literals;

inline constexpr std::size_t every = std::numeric_limits<std::size_t>::max();

/// A fixed instant with a sub-second part, so that stores must keep full precision.
inline std::chrono::system_clock::time_point const t0 =
    std::chrono::system_clock::time_point{} + 1'700'000'000s + 123'456'789ns;

inline st::user_record user(std::string name, bool admin = false) {
  st::user_record u;
  u.password_hash = "$y$j9T$salt$" + name + "hash";
  u.name = std::move(name);
  u.admin = admin;
  u.created = t0;
  return u;
}

inline st::org_record org(std::string name) { return st::org_record{std::move(name), t0 + 1s}; }

/// How a registry administrator creates an organisation: no namespace checks, no limit.
inline st::org_claim const as_admin{"", true, std::nullopt};

/// How a user who is no administrator creates an organisation.
inline st::org_claim by(std::string creator, std::optional<std::uint64_t> max_orgs = {}) {
  return st::org_claim{std::move(creator), false, max_orgs};
}

inline st::access_token_record token(std::string id, std::string user) {
  st::access_token_record t;
  t.description = "token " + id + " of " + user;
  t.secret_hash = std::string(64, 'a');
  t.id = std::move(id);
  t.user = std::move(user);
  t.created = t0 + 2s;
  return t;
}

template <class Record>
std::vector<std::string> names(std::vector<Record> const& records) {
  std::vector<std::string> out;
  for (Record const& r : records)
    out.push_back(r.name);
  return out;
}

} // namespace account_store_suite_detail

template <class Store>
class account_store_suite : public ::testing::Test {
protected:
  static_assert(pier::storage::AccountStore<Store>);

  template <class T>
  T run(asio::awaitable<T> a) {
    return pier_test::run(io_, std::move(a));
  }
  Store& store() { return *store_; }

  void add_users(std::vector<std::string> const& names) {
    for (std::string const& n : names)
      ASSERT_TRUE(run(store().create_user(account_store_suite_detail::user(n)))) << n;
  }
  void add_orgs(std::vector<std::string> const& names) {
    for (std::string const& n : names)
      ASSERT_TRUE(run(store().create_org(account_store_suite_detail::org(n),
                                         account_store_suite_detail::as_admin)))
          << n;
  }

  std::vector<std::string> user_page(std::string last, std::size_t n, bool more) {
    auto const p = run(store().list_users(std::move(last), n)).value();
    EXPECT_EQ(p.more, more);
    return account_store_suite_detail::names(p.items);
  }
  std::vector<std::string> org_page(std::string last, std::size_t n, bool more) {
    auto const p = run(store().list_orgs(std::move(last), n)).value();
    EXPECT_EQ(p.more, more);
    return account_store_suite_detail::names(p.items);
  }

  /// alice: admin of acme; bob: read in acme, write in globex.
  void two_orgs() {
    using pier::storage::role;
    add_users({"alice", "bob"});
    add_orgs({"acme", "globex"});
    ASSERT_TRUE(run(store().set_member("acme", "alice", role::admin)));
    ASSERT_TRUE(run(store().set_member("acme", "bob", role::read)));
    ASSERT_TRUE(run(store().set_member("globex", "bob", role::write)));
  }

  std::vector<pier::storage::membership> members(std::string org) {
    return run(store().members(std::move(org))).value();
  }
  std::vector<pier::storage::membership> memberships(std::string user) {
    return run(store().memberships(std::move(user))).value();
  }
  std::vector<std::string> token_ids(std::string user) {
    std::vector<std::string> out;
    auto const tokens = run(store().list_tokens(std::move(user))).value();
    for (auto const& t : tokens)
      out.push_back(t.id);
    return out;
  }

  store_maker<Store> maker_;
  std::unique_ptr<Store> store_ = maker_.make();
  asio::io_context io_;
};

TYPED_TEST_SUITE_P(account_store_suite);

TYPED_TEST_P(account_store_suite, users_are_created_read_updated_and_deleted) {
  using namespace account_store_suite_detail;
  auto& s = this->store();
  EXPECT_EQ(this->run(s.user_count()).value(), 0u);
  EXPECT_EQ(this->run(s.get_user("alice")).error(), st::storage_error::user_unknown);

  st::user_record const alice = user("alice", true);
  ASSERT_TRUE(this->run(s.create_user(alice)));
  EXPECT_EQ(this->run(s.get_user("alice")).value(), alice);
  EXPECT_EQ(this->run(s.user_count()).value(), 1u);

  // A second user of the same name is refused and changes nothing.
  auto const taken = this->run(s.create_user(user("alice")));
  EXPECT_EQ(taken.error(), st::storage_error::name_taken);
  EXPECT_EQ(pier::to_oci_error(taken.error()), pier::oci_error::denied);
  EXPECT_EQ(this->run(s.get_user("alice")).value(), alice);
  EXPECT_EQ(this->run(s.user_count()).value(), 1u);

  st::user_record changed = alice;
  changed.password_hash = "$2b$12$another.hash";
  changed.admin = false;
  // The registry keeps an administrator.
  EXPECT_EQ(this->run(s.update_user(changed)).error(), st::storage_error::last_admin);
  EXPECT_EQ(this->run(s.get_user("alice")).value(), alice);
  changed.admin = true;
  ASSERT_TRUE(this->run(s.update_user(changed)));
  EXPECT_EQ(this->run(s.get_user("alice")).value(), changed);

  // update_user does not create.
  EXPECT_EQ(this->run(s.update_user(user("bob"))).error(), st::storage_error::user_unknown);
  EXPECT_EQ(this->run(s.get_user("bob")).error(), st::storage_error::user_unknown);
  EXPECT_EQ(this->run(s.user_count()).value(), 1u);

  this->add_users({"bob", "carol"});
  EXPECT_EQ(this->run(s.user_count()).value(), 3u);
  EXPECT_EQ(this->run(s.delete_user("alice")).error(), st::storage_error::last_admin);
  ASSERT_TRUE(this->run(s.update_user(user("bob", true))));
  ASSERT_TRUE(this->run(s.delete_user("alice")));
  EXPECT_EQ(this->run(s.get_user("alice")).error(), st::storage_error::user_unknown);
  EXPECT_EQ(this->run(s.delete_user("alice")).error(), st::storage_error::user_unknown);
  EXPECT_EQ(this->run(s.user_count()).value(), 2u);
  EXPECT_EQ(pier::to_oci_error(st::storage_error::user_unknown), pier::oci_error::denied);

  // An administrator may create the user again (its name stays reserved to others).
  ASSERT_TRUE(this->run(s.create_user(user("alice"))));
  EXPECT_FALSE(this->run(s.get_user("alice")).value().admin);
}

TYPED_TEST_P(account_store_suite, users_and_organisations_share_one_space_of_names) {
  using namespace account_store_suite_detail;
  auto& s = this->store();
  this->add_users({"alice"});
  this->add_orgs({"acme"});
  for (st::org_claim const& c : {as_admin, by("alice")}) {
    EXPECT_EQ(this->run(s.create_org(org("alice"), c)).error(), st::storage_error::name_taken);
    EXPECT_EQ(this->run(s.create_org(org("acme"), c)).error(), st::storage_error::name_taken);
  }
  EXPECT_EQ(this->run(s.create_user(user("acme"))).error(), st::storage_error::name_taken);
  EXPECT_EQ(this->run(s.get_org("alice")).error(), st::storage_error::org_unknown);
  EXPECT_EQ(this->run(s.get_user("acme")).error(), st::storage_error::user_unknown);
  EXPECT_EQ(this->run(s.user_count()).value(), 1u);
  EXPECT_EQ(this->org_page("", every, false), std::vector<std::string>{"acme"});

  EXPECT_EQ(this->run(s.get_org("acme")).value(), org("acme"));
  EXPECT_EQ(this->run(s.get_org("nobody")).error(), st::storage_error::org_unknown);
  EXPECT_EQ(this->run(s.delete_org("nobody")).error(), st::storage_error::org_unknown);

  // Deleting reserves the name: an administrator may give it to the other kind.
  ASSERT_TRUE(this->run(s.delete_org("acme")));
  EXPECT_EQ(this->run(s.get_org("acme")).error(), st::storage_error::org_unknown);
  ASSERT_TRUE(this->run(s.create_user(user("acme"))));
  ASSERT_TRUE(this->run(s.delete_user("alice")));
  EXPECT_EQ(this->run(s.create_org(org("alice"), by("acme"))).error(),
            st::storage_error::name_reserved);
  ASSERT_TRUE(this->run(s.create_org(org("alice"), as_admin)));
}

TYPED_TEST_P(account_store_suite, users_in_name_order_with_pagination) {
  using namespace account_store_suite_detail;
  using names = std::vector<std::string>;
  auto& s = this->store();
  EXPECT_EQ(this->user_page("", every, false), names{});
  this->add_users({"dave", "alice", "carol", "bob", "erin"});
  this->add_orgs({"acme"}); // organisations are not users

  EXPECT_EQ(this->user_page("", every, false), (names{"alice", "bob", "carol", "dave", "erin"}));
  EXPECT_EQ(this->user_page("", 2, true), (names{"alice", "bob"}));
  EXPECT_EQ(this->user_page("bob", 2, true), (names{"carol", "dave"})); // `last` exclusive
  EXPECT_EQ(this->user_page("dave", 2, false), (names{"erin"}));
  EXPECT_EQ(this->user_page("", 5, false), (names{"alice", "bob", "carol", "dave", "erin"}));
  EXPECT_EQ(this->user_page("bz", 1, true), (names{"carol"})); // `last` need not exist
  EXPECT_EQ(this->user_page("erin", 3, false), names{});
  EXPECT_EQ(this->user_page("zzz", 3, false), names{});
  EXPECT_EQ(this->user_page("", 0, true), names{});

  // The records are whole, not only the names.
  auto const p = this->run(s.list_users("carol", 1)).value();
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0], user("dave"));
}

TYPED_TEST_P(account_store_suite, organisations_in_name_order_with_pagination) {
  using namespace account_store_suite_detail;
  using names = std::vector<std::string>;
  auto& s = this->store();
  EXPECT_EQ(this->org_page("", every, false), names{});
  this->add_orgs({"umbrella", "acme", "initech", "globex"});
  this->add_users({"bob"}); // users are not organisations

  EXPECT_EQ(this->org_page("", every, false), (names{"acme", "globex", "initech", "umbrella"}));
  EXPECT_EQ(this->org_page("", 3, true), (names{"acme", "globex", "initech"}));
  EXPECT_EQ(this->org_page("initech", 3, false), (names{"umbrella"}));
  EXPECT_EQ(this->org_page("acme", 1, true), (names{"globex"}));
  EXPECT_EQ(this->org_page("b", 2, true), (names{"globex", "initech"}));
  EXPECT_EQ(this->org_page("umbrella", 1, false), names{});
  EXPECT_EQ(this->org_page("", 0, true), names{});
  EXPECT_EQ(this->run(s.list_orgs("", 1)).value().items[0], org("acme"));
}

TYPED_TEST_P(account_store_suite, memberships_need_both_sides_and_replace_roles) {
  using namespace account_store_suite_detail;
  using st::role;
  auto& s = this->store();
  this->add_users({"carol", "alice", "bob"});
  this->add_orgs({"initech", "acme"});

  EXPECT_EQ(this->run(s.set_member("nope", "alice", role::read)).error(),
            st::storage_error::org_unknown);
  EXPECT_EQ(this->run(s.set_member("acme", "nobody", role::read)).error(),
            st::storage_error::user_unknown);
  EXPECT_EQ(this->run(s.set_member("nope", "nobody", role::read)).error(),
            st::storage_error::org_unknown);
  // An organisation is not a user: it cannot be a member.
  EXPECT_EQ(this->run(s.set_member("acme", "initech", role::read)).error(),
            st::storage_error::user_unknown);
  EXPECT_EQ(this->members("acme"), std::vector<st::membership>{});
  EXPECT_EQ(this->memberships("alice"), std::vector<st::membership>{});

  ASSERT_TRUE(this->run(s.set_member("acme", "carol", role::read)));
  ASSERT_TRUE(this->run(s.set_member("acme", "alice", role::admin)));
  ASSERT_TRUE(this->run(s.set_member("acme", "bob", role::write)));
  ASSERT_TRUE(this->run(s.set_member("initech", "alice", role::read)));

  // members in user order, memberships in organisation order.
  EXPECT_EQ(this->members("acme"), (std::vector<st::membership>{{"acme", "alice", role::admin},
                                                                {"acme", "bob", role::write},
                                                                {"acme", "carol", role::read}}));
  EXPECT_EQ(this->memberships("alice"),
            (std::vector<st::membership>{{"acme", "alice", role::admin},
                                         {"initech", "alice", role::read}}));
  EXPECT_EQ(this->members("initech"),
            (std::vector<st::membership>{{"initech", "alice", role::read}}));

  // Setting again replaces the role, seen from both sides.
  ASSERT_TRUE(this->run(s.set_member("acme", "carol", role::write)));
  ASSERT_TRUE(this->run(s.set_member("initech", "alice", role::admin)));
  EXPECT_EQ(this->members("acme")[2], (st::membership{"acme", "carol", role::write}));
  EXPECT_EQ(this->memberships("carol"),
            (std::vector<st::membership>{{"acme", "carol", role::write}}));
  EXPECT_EQ(this->memberships("alice")[1], (st::membership{"initech", "alice", role::admin}));
  EXPECT_EQ(this->members("acme").size(), 3u);

  // Removing.
  ASSERT_TRUE(this->run(s.remove_member("acme", "bob")));
  EXPECT_EQ(this->memberships("bob"), std::vector<st::membership>{});
  EXPECT_EQ(this->members("acme"), (std::vector<st::membership>{{"acme", "alice", role::admin},
                                                                {"acme", "carol", role::write}}));
  auto const again = this->run(s.remove_member("acme", "bob"));
  EXPECT_EQ(again.error(), st::storage_error::member_unknown);
  EXPECT_EQ(pier::to_oci_error(again.error()), pier::oci_error::name_unknown);
  EXPECT_EQ(this->run(s.remove_member("initech", "carol")).error(),
            st::storage_error::member_unknown);
  EXPECT_EQ(this->run(s.remove_member("acme", "nobody")).error(),
            st::storage_error::member_unknown);
  EXPECT_EQ(this->run(s.remove_member("nope", "alice")).error(), st::storage_error::org_unknown);

  // Listings of what does not exist.
  EXPECT_EQ(this->run(s.members("nope")).error(), st::storage_error::org_unknown);
  EXPECT_EQ(this->run(s.members("alice")).error(), st::storage_error::org_unknown);
  EXPECT_EQ(this->run(s.memberships("nobody")).error(), st::storage_error::user_unknown);
  EXPECT_EQ(this->run(s.memberships("acme")).error(), st::storage_error::user_unknown);
}

TYPED_TEST_P(account_store_suite, deleting_a_user_removes_memberships_and_tokens) {
  using namespace account_store_suite_detail;
  using st::role;
  auto& s = this->store();
  ASSERT_NO_FATAL_FAILURE(this->two_orgs());
  ASSERT_TRUE(this->run(s.add_token(token("t1", "bob"))));
  ASSERT_TRUE(this->run(s.add_token(token("t2", "bob"))));
  ASSERT_TRUE(this->run(s.add_token(token("t3", "alice"))));

  ASSERT_TRUE(this->run(s.delete_user("bob")));
  EXPECT_EQ(this->members("acme"), (std::vector<st::membership>{{"acme", "alice", role::admin}}));
  EXPECT_EQ(this->members("globex"), std::vector<st::membership>{});
  EXPECT_EQ(this->run(s.get_token("t1")).error(), st::storage_error::token_unknown);
  EXPECT_EQ(this->run(s.get_token("t2")).error(), st::storage_error::token_unknown);
  EXPECT_EQ(this->run(s.delete_token("t1")).error(), st::storage_error::token_unknown);
  EXPECT_EQ(this->run(s.list_tokens("bob")).error(), st::storage_error::user_unknown);
  EXPECT_EQ(this->run(s.get_token("t3")).value(), token("t3", "alice")); // others' stay
  EXPECT_EQ(this->memberships("alice"),
            (std::vector<st::membership>{{"acme", "alice", role::admin}}));

  // A new user of the same name inherits nothing.
  this->add_users({"bob"});
  EXPECT_EQ(this->memberships("bob"), std::vector<st::membership>{});
  EXPECT_EQ(this->token_ids("bob"), std::vector<std::string>{});
  EXPECT_EQ(this->run(s.get_token("t1")).error(), st::storage_error::token_unknown);
}

TYPED_TEST_P(account_store_suite, deleting_an_organisation_removes_its_memberships) {
  using namespace account_store_suite_detail;
  using st::role;
  auto& s = this->store();
  ASSERT_NO_FATAL_FAILURE(this->two_orgs());

  ASSERT_TRUE(this->run(s.delete_org("acme")));
  EXPECT_EQ(this->memberships("alice"), std::vector<st::membership>{});
  EXPECT_EQ(this->memberships("bob"),
            (std::vector<st::membership>{{"globex", "bob", role::write}}));
  EXPECT_EQ(this->run(s.members("acme")).error(), st::storage_error::org_unknown);
  EXPECT_EQ(this->run(s.get_user("alice")).value(), user("alice")); // users stay

  // A new organisation of the same name has no members.
  this->add_orgs({"acme"});
  EXPECT_EQ(this->members("acme"), std::vector<st::membership>{});
  EXPECT_EQ(this->run(s.remove_member("acme", "alice")).error(), st::storage_error::member_unknown);
}

TYPED_TEST_P(account_store_suite, visibility_is_unset_until_set_and_needs_no_repository) {
  using namespace account_store_suite_detail;
  auto& s = this->store();
  using opt = std::optional<st::visibility>;
  EXPECT_EQ(this->run(s.get_visibility("acme/app")).value(), opt{});
  EXPECT_EQ(this->run(s.get_visibility("")).value(), opt{});

  // No repository, user or organisation needs to exist.
  ASSERT_TRUE(this->run(s.set_visibility("acme/app", st::visibility::public_)));
  EXPECT_EQ(this->run(s.get_visibility("acme/app")).value(), opt{st::visibility::public_});
  ASSERT_TRUE(this->run(s.set_visibility("acme/app", st::visibility::private_)));
  EXPECT_EQ(this->run(s.get_visibility("acme/app")).value(), opt{st::visibility::private_});

  // Each repository has its own; names are compared whole.
  ASSERT_TRUE(this->run(s.set_visibility("alpine", st::visibility::public_)));
  ASSERT_TRUE(this->run(s.set_visibility("acme/app/sub", st::visibility::public_)));
  EXPECT_EQ(this->run(s.get_visibility("alpine")).value(), opt{st::visibility::public_});
  EXPECT_EQ(this->run(s.get_visibility("acme/app")).value(), opt{st::visibility::private_});
  EXPECT_EQ(this->run(s.get_visibility("acme/ap")).value(), opt{});
  EXPECT_EQ(this->run(s.get_visibility("acme")).value(), opt{});
  EXPECT_EQ(this->run(s.get_visibility("alpine2")).value(), opt{});

  // Deleting the namespace's owner leaves visibility alone: the repositories stay too.
  this->add_orgs({"acme"});
  ASSERT_TRUE(this->run(s.delete_org("acme")));
  EXPECT_EQ(this->run(s.get_visibility("acme/app")).value(), opt{st::visibility::private_});
}

TYPED_TEST_P(account_store_suite, tokens_in_id_order_per_user) {
  using namespace account_store_suite_detail;
  using ids = std::vector<std::string>;
  auto& s = this->store();
  this->add_users({"alice", "bob"});
  this->add_orgs({"acme"});

  EXPECT_EQ(this->run(s.add_token(token("t0", "nobody"))).error(), st::storage_error::user_unknown);
  EXPECT_EQ(this->run(s.add_token(token("t0", "acme"))).error(), st::storage_error::user_unknown);
  EXPECT_EQ(this->run(s.get_token("t0")).error(), st::storage_error::token_unknown);
  EXPECT_EQ(pier::to_oci_error(st::storage_error::token_unknown), pier::oci_error::denied);
  EXPECT_EQ(this->token_ids("alice"), ids{});
  EXPECT_EQ(this->run(s.list_tokens("nobody")).error(), st::storage_error::user_unknown);

  st::access_token_record expiring = token("c", "alice");
  expiring.expires = t0 + 24h + 1ns;
  st::access_token_record odd = token("a", "alice");
  odd.description = std::string("with a\0nul and \xc3\xbcn\xc3\xaf"
                                "code",
                                24);
  odd.created = std::chrono::system_clock::time_point{} - 5s; // before the epoch
  odd.scopes = {"pull", "push", "delete", "admin"};
  ASSERT_TRUE(this->run(s.add_token(expiring)));
  ASSERT_TRUE(this->run(s.add_token(token("b", "bob"))));
  ASSERT_TRUE(this->run(s.add_token(odd)));
  ASSERT_TRUE(this->run(s.add_token(token("bb", "alice"))));

  EXPECT_EQ(this->run(s.get_token("c")).value(), expiring);
  EXPECT_EQ(this->run(s.get_token("a")).value(), odd);
  EXPECT_EQ(this->run(s.get_token("b")).value(), token("b", "bob"));
  EXPECT_EQ(this->token_ids("alice"), (ids{"a", "bb", "c"}));
  EXPECT_EQ(this->token_ids("bob"), ids{"b"});
  EXPECT_EQ(this->run(s.list_tokens("alice")).value()[2], expiring);

  // Revoking.
  ASSERT_TRUE(this->run(s.delete_token("bb")));
  EXPECT_EQ(this->run(s.get_token("bb")).error(), st::storage_error::token_unknown);
  EXPECT_EQ(this->run(s.delete_token("bb")).error(), st::storage_error::token_unknown);
  EXPECT_EQ(this->token_ids("alice"), (ids{"a", "c"}));

  // A token with the id of another replaces it, also when it changes hands.
  st::access_token_record moved = token("a", "bob");
  ASSERT_TRUE(this->run(s.add_token(moved)));
  EXPECT_EQ(this->run(s.get_token("a")).value(), moved);
  EXPECT_EQ(this->token_ids("alice"), ids{"c"});
  EXPECT_EQ(this->token_ids("bob"), (ids{"a", "b"}));

  // Tokens belong to users, not to the store at large: a user's deletion is not another's.
  ASSERT_TRUE(this->run(s.delete_user("alice")));
  EXPECT_EQ(this->token_ids("bob"), (ids{"a", "b"}));
  EXPECT_EQ(this->run(s.get_token("c")).error(), st::storage_error::token_unknown);
}

// The namespace takeover of issue 10: an organisation must not inherit what its namespace
// already holds.
TYPED_TEST_P(account_store_suite, a_namespace_in_use_is_not_claimable_but_by_an_admin) {
  using namespace account_store_suite_detail;
  auto& s = this->store();
  this->add_users({"dave"});
  ASSERT_TRUE(this->run(s.link_blob("library/ubuntu", pier::digest_of("layer"))));
  ASSERT_TRUE(this->run(s.set_visibility("made/public", st::visibility::public_)));
  ASSERT_TRUE(this->run(s.set_quota("quoted", std::uint64_t{1000})));

  for (std::string const name : {"library", "made", "quoted"}) {
    auto const refused = this->run(s.create_org(org(name), by("dave")));
    EXPECT_EQ(refused.error(), st::storage_error::name_reserved) << name;
    EXPECT_EQ(pier::to_oci_error(refused.error()), pier::oci_error::denied);
    EXPECT_EQ(this->run(s.get_org(name)).error(), st::storage_error::org_unknown) << name;
  }
  EXPECT_EQ(this->memberships("dave"), std::vector<st::membership>{});

  // Names are namespaces compared whole.
  ASSERT_TRUE(this->run(s.link_blob("alpine", pier::digest_of("layer"))));
  ASSERT_TRUE(this->run(s.link_blob("libraryx/app", pier::digest_of("layer"))));
  for (std::string const name : {"lib", "alpine", "librar"})
    ASSERT_TRUE(this->run(s.create_org(org(name), by("dave")))) << name;

  // A registry administrator may: the repositories are then the organisation's.
  ASSERT_TRUE(this->run(s.create_org(org("library"), st::org_claim{"dave", true, {}})));
  EXPECT_EQ(this->members("library"),
            (std::vector<st::membership>{{"library", "dave", st::role::admin}}));
}

TYPED_TEST_P(account_store_suite, deleted_accounts_keep_their_names_reserved) {
  using namespace account_store_suite_detail;
  auto& s = this->store();
  ASSERT_NO_FATAL_FAILURE(this->two_orgs());
  this->add_users({"dave"});
  ASSERT_TRUE(this->run(s.create_org(org("temp"), by("dave"))));
  ASSERT_TRUE(this->run(s.delete_user("bob")));
  ASSERT_TRUE(this->run(s.delete_org("temp")));
  for (std::string const name : {"bob", "temp"}) {
    EXPECT_EQ(this->run(s.create_org(org(name), by("dave"))).error(),
              st::storage_error::name_reserved)
        << name;
  }
  // Administrators may give the names out again.
  ASSERT_TRUE(this->run(s.create_user(user("bob"))));
  ASSERT_TRUE(this->run(s.create_org(org("temp"), as_admin)));
  EXPECT_EQ(this->members("temp"), std::vector<st::membership>{});
}

TYPED_TEST_P(account_store_suite, an_account_whose_namespace_holds_repositories_stays) {
  using namespace account_store_suite_detail;
  auto& s = this->store();
  ASSERT_NO_FATAL_FAILURE(this->two_orgs());
  pier::digest const d = pier::digest_of("layer");
  for (std::string const repo : {"bob/app", "bob/tools/cli", "acme/web", "bobby/app", "bob"})
    ASSERT_TRUE(this->run(s.link_blob(repo, d))) << repo;
  EXPECT_EQ(this->run(s.held_repositories("bob")).value(), 2u);
  EXPECT_EQ(this->run(s.held_repositories("acme")).value(), 1u);
  EXPECT_EQ(this->run(s.held_repositories("globex")).value(), 0u);

  auto const refused = this->run(s.delete_user("bob"));
  EXPECT_EQ(refused.error(), st::storage_error::namespace_in_use);
  EXPECT_EQ(pier::to_oci_error(refused.error()), pier::oci_error::denied);
  EXPECT_EQ(this->run(s.delete_org("acme")).error(), st::storage_error::namespace_in_use);
  EXPECT_TRUE(this->run(s.get_user("bob")));
  EXPECT_EQ(this->memberships("bob").size(), 2u);
  EXPECT_TRUE(this->run(s.get_org("acme")));

  // Emptied repositories hold nothing: then the accounts may go.
  ASSERT_TRUE(this->run(s.unlink_blob("bob/app", d)));
  ASSERT_TRUE(this->run(s.unlink_blob("bob/tools/cli", d)));
  ASSERT_TRUE(this->run(s.unlink_blob("acme/web", d)));
  EXPECT_EQ(this->run(s.held_repositories("bob")).value(), 0u);
  ASSERT_TRUE(this->run(s.delete_user("bob")));
  ASSERT_TRUE(this->run(s.delete_org("acme")));
  // The empty repositories stay, and so does the reservation.
  this->add_users({"dave"});
  EXPECT_EQ(this->run(s.create_org(org("bob"), by("dave"))).error(),
            st::storage_error::name_reserved);
}

TYPED_TEST_P(account_store_suite, organisations_a_user_may_create_are_limited) {
  using namespace account_store_suite_detail;
  auto& s = this->store();
  this->add_users({"dave", "erin"});
  ASSERT_TRUE(this->run(s.create_org(org("one"), by("dave", 2))));
  ASSERT_TRUE(this->run(s.create_org(org("two"), by("dave", 2))));
  // Checked first: a name in use does not tell over the limit.
  for (std::string const name : {"three", "one", "erin"}) {
    auto const refused = this->run(s.create_org(org(name), by("dave", 2)));
    EXPECT_EQ(refused.error(), st::storage_error::org_limit_reached) << name;
    EXPECT_EQ(pier::to_oci_error(refused.error()), pier::oci_error::denied);
  }
  // Deleted organisations count: their names stay reserved.
  ASSERT_TRUE(this->run(s.delete_org("two")));
  EXPECT_EQ(this->run(s.create_org(org("three"), by("dave", 2))).error(),
            st::storage_error::org_limit_reached);
  ASSERT_TRUE(this->run(s.create_org(org("three"), by("dave", 3))));
  // Per user; 0: none; administrators have no limit.
  EXPECT_EQ(this->run(s.create_org(org("four"), by("erin", 0))).error(),
            st::storage_error::org_limit_reached);
  ASSERT_TRUE(this->run(s.create_org(org("four"), by("erin", 1))));
  ASSERT_TRUE(this->run(s.create_org(org("five"), st::org_claim{"dave", true, 0})));
  // The creator must be a user; nothing is created otherwise.
  EXPECT_EQ(this->run(s.create_org(org("six"), by("ghost"))).error(),
            st::storage_error::user_unknown);
  EXPECT_EQ(this->run(s.get_org("six")).error(), st::storage_error::org_unknown);
  EXPECT_EQ(this->memberships("dave"),
            (std::vector<st::membership>{{"five", "dave", st::role::admin},
                                         {"one", "dave", st::role::admin},
                                         {"three", "dave", st::role::admin}}));
}

TYPED_TEST_P(account_store_suite, the_last_admin_cannot_go) {
  using namespace account_store_suite_detail;
  using st::role;
  auto& s = this->store();
  ASSERT_NO_FATAL_FAILURE(this->two_orgs()); // alice: acme's only admin
  EXPECT_EQ(this->run(s.remove_member("acme", "alice")).error(), st::storage_error::last_admin);
  EXPECT_EQ(this->run(s.set_member("acme", "alice", role::write)).error(),
            st::storage_error::last_admin);
  EXPECT_EQ(this->run(s.invite("acme", "alice", role::read)).error(),
            st::storage_error::last_admin);
  EXPECT_EQ(this->run(s.delete_user("alice")).error(), st::storage_error::last_admin);
  EXPECT_EQ(this->members("acme")[0], (st::membership{"acme", "alice", role::admin}));
  ASSERT_TRUE(this->run(s.set_member("acme", "alice", role::admin))); // no demotion

  // With a second admin, either may go.
  ASSERT_TRUE(this->run(s.set_member("acme", "bob", role::admin)));
  ASSERT_TRUE(this->run(s.set_member("acme", "alice", role::read)));
  ASSERT_TRUE(this->run(s.delete_user("alice")));
  EXPECT_EQ(this->run(s.remove_member("acme", "bob")).error(), st::storage_error::last_admin);

  // The registry keeps an administrator too.
  ASSERT_TRUE(this->run(s.create_user(user("root", true))));
  EXPECT_EQ(this->run(s.delete_user("root")).error(), st::storage_error::last_admin);
  EXPECT_EQ(this->run(s.update_user(user("root"))).error(), st::storage_error::last_admin);
  ASSERT_TRUE(this->run(s.create_user(user("op", true))));
  ASSERT_TRUE(this->run(s.delete_user("root")));
  EXPECT_EQ(this->run(s.delete_user("op")).error(), st::storage_error::last_admin);
}

// Two admins removing each other at the same moment: the check and the change are one step,
// so whatever the interleaving, exactly one removal wins.
TYPED_TEST_P(account_store_suite, racing_removals_leave_one_admin) {
  using namespace account_store_suite_detail;
  using st::role;
  auto& s = this->store();
  this->add_users({"alice", "bob"});
  this->add_orgs({"acme"});
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(this->run(s.set_member("acme", "alice", role::admin)));
    ASSERT_TRUE(this->run(s.set_member("acme", "bob", role::admin)));
    pier::result<void> outcome[2];
    std::thread other([&] {
      asio::io_context io;
      outcome[1] = pier_test::run(io, s.remove_member("acme", "bob"));
    });
    {
      asio::io_context io;
      outcome[0] = pier_test::run(io, s.remove_member("acme", "alice"));
    }
    other.join();
    ASSERT_NE(bool(outcome[0]), bool(outcome[1])) << round;
    pier::result<void> const& lost = outcome[0] ? outcome[1] : outcome[0];
    EXPECT_EQ(lost.error(), st::storage_error::last_admin);
    auto const left = this->members("acme");
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].level, role::admin);
    EXPECT_EQ(left[0].user, outcome[0] ? "bob" : "alice");
  }
}

TYPED_TEST_P(account_store_suite, invitations_become_memberships_when_accepted) {
  using namespace account_store_suite_detail;
  using st::role;
  using ms = std::vector<st::membership>;
  auto& s = this->store();
  ASSERT_NO_FATAL_FAILURE(this->two_orgs());
  this->add_users({"carol", "dave"});

  EXPECT_FALSE(this->run(s.invite("acme", "carol", role::write)).value());
  EXPECT_FALSE(this->run(s.invite("globex", "carol", role::read)).value());
  EXPECT_EQ(this->members("acme").size(), 2u); // not a member yet
  EXPECT_EQ(this->run(s.invitations("carol")).value(),
            (ms{{"acme", "carol", role::write}, {"globex", "carol", role::read}}));
  // Invited again: the new role replaces the offer.
  EXPECT_FALSE(this->run(s.invite("acme", "carol", role::admin)).value());
  EXPECT_EQ(this->run(s.accept_invitation("acme", "carol")).value(), role::admin);
  EXPECT_EQ(this->memberships("carol"), (ms{{"acme", "carol", role::admin}}));
  EXPECT_EQ(this->run(s.invitations("carol")).value(), (ms{{"globex", "carol", role::read}}));
  EXPECT_EQ(this->run(s.accept_invitation("acme", "carol")).error(),
            st::storage_error::invitation_unknown);
  ASSERT_TRUE(this->run(s.decline_invitation("globex", "carol")));
  EXPECT_EQ(this->run(s.decline_invitation("globex", "carol")).error(),
            st::storage_error::invitation_unknown);
  EXPECT_EQ(this->run(s.invitations("carol")).value(), ms{});

  // A member's role changes at once.
  EXPECT_TRUE(this->run(s.invite("acme", "bob", role::write)).value());
  EXPECT_EQ(this->members("acme")[1], (st::membership{"acme", "bob", role::write}));
  EXPECT_EQ(this->run(s.invitations("bob")).value(), ms{});
  // Nobody to invite, nowhere to invite to.
  EXPECT_EQ(this->run(s.invite("acme", "nobody", role::read)).error(),
            st::storage_error::user_unknown);
  EXPECT_EQ(this->run(s.invite("nope", "dave", role::read)).error(),
            st::storage_error::org_unknown);
  EXPECT_EQ(this->run(s.invitations("nobody")).error(), st::storage_error::user_unknown);

  // An administrator adding the member directly settles the invitation.
  EXPECT_FALSE(this->run(s.invite("globex", "dave", role::read)).value());
  ASSERT_TRUE(this->run(s.set_member("globex", "dave", role::write)));
  EXPECT_EQ(this->run(s.invitations("dave")).value(), ms{});

  // Deleting either side drops the invitations.
  EXPECT_FALSE(this->run(s.invite("acme", "dave", role::read)).value());
  EXPECT_FALSE(this->run(s.invite("globex", "alice", role::read)).value());
  ASSERT_TRUE(this->run(s.delete_org("acme")));
  EXPECT_EQ(this->run(s.invitations("dave")).value(), ms{});
  ASSERT_TRUE(this->run(s.set_member("globex", "dave", role::admin)));
  EXPECT_FALSE(this->run(s.invite("globex", "carol", role::read)).value());
  ASSERT_TRUE(this->run(s.delete_user("carol")));
  this->add_users({"carol"}); // made again by an administrator
  EXPECT_EQ(this->run(s.invitations("carol")).value(), ms{});
  EXPECT_EQ(this->run(s.accept_invitation("globex", "carol")).error(),
            st::storage_error::invitation_unknown);
}

REGISTER_TYPED_TEST_SUITE_P(account_store_suite, users_are_created_read_updated_and_deleted,
                            users_and_organisations_share_one_space_of_names,
                            users_in_name_order_with_pagination,
                            organisations_in_name_order_with_pagination,
                            memberships_need_both_sides_and_replace_roles,
                            deleting_a_user_removes_memberships_and_tokens,
                            deleting_an_organisation_removes_its_memberships,
                            visibility_is_unset_until_set_and_needs_no_repository,
                            tokens_in_id_order_per_user,
                            a_namespace_in_use_is_not_claimable_but_by_an_admin,
                            deleted_accounts_keep_their_names_reserved,
                            an_account_whose_namespace_holds_repositories_stays,
                            organisations_a_user_may_create_are_limited, the_last_admin_cannot_go,
                            racing_removals_leave_one_admin,
                            invitations_become_memberships_when_accepted);

} // namespace pier_test

#endif // PIER_TEST_UNIT_STORAGE_ACCOUNT_STORE_SUITE_HPP
