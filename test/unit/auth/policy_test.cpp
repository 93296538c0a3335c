// SPDX-License-Identifier: Apache-2.0
#include <pier/auth/policy.hpp>

#include <gtest/gtest.h>

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace policy_test {

namespace auth = pier::auth;
using pier::storage::role;
using pier::storage::visibility;

// Who asks, in every test below.
auth::principal const root{"root", true, {}};
auth::principal const alice{"alice", false, {}};
auth::principal const bob{
    "bob",
    false,
    {{"acme", "bob", role::write}, {"globex", "bob", role::read}, {"initech", "bob", role::admin}}};
auth::principal const ali{"ali", false, {}}; // a prefix of "alice"
auth::principal const nobody{};

constexpr auth::permissions none{false, false, false};
constexpr auth::permissions pull{true, false, false};
constexpr auth::permissions pull_push{true, true, false};
constexpr auth::permissions all{true, true, true};

std::string show(auth::permissions p) {
  return std::string(p.pull ? "pull " : "") + (p.push ? "push " : "") + (p.del ? "delete" : "");
}

TEST(auth_policy, doc_example) {
  namespace auth = pier::auth;
  auth::principal bob{"bob", false, {{"acme", "bob", pier::storage::role::write}}};
  auto p = auth::repository_permissions(bob, "acme/app", pier::storage::visibility::private_);
  assert(p.pull && p.push && !p.del);
  assert(!auth::repository_permissions(auth::principal{}, "acme/app",
                                       pier::storage::visibility::private_)
              .pull);
  EXPECT_EQ(p, pull_push);
}

TEST(auth_policy, repository_permissions_by_principal_repository_and_visibility) {
  struct row {
    auth::principal const& who;
    std::string_view repository;
    visibility v;
    auth::permissions expected;
  };
  auto const P = visibility::private_;
  auto const O = visibility::public_; // open
  row const rows[] = {
      // An administrator may do everything, anywhere, private or not.
      {root, "alice/app", P, all},
      {root, "acme/app", P, all},
      {root, "alpine", P, all},
      {root, "alpine", O, all},
      {root, "nobody/x/y", P, all},
      // A user owns the namespace of their name, at any depth.
      {alice, "alice/app", P, all},
      {alice, "alice/app", O, all},
      {alice, "alice/team/app", P, all},
      // ... and nothing else: not another's, not a longer or shorter name.
      {alice, "bob/app", P, none},
      {alice, "alice2/app", P, none},
      {alice, "ali/app", P, none},
      {ali, "alice/app", P, none},
      {alice, "acme/app", P, none},
      // Public repositories: everyone pulls, nobody else pushes.
      {alice, "bob/app", O, pull},
      {alice, "acme/app", O, pull},
      // Organisation roles: read pulls, write also pushes, admin also deletes.
      {bob, "globex/app", P, pull},
      {bob, "acme/app", P, pull_push},
      {bob, "acme/team/app", P, pull_push},
      {bob, "initech/app", P, all},
      {bob, "bob/app", P, all},
      // A public repository gives a member no less than the role.
      {bob, "globex/app", O, pull},
      {bob, "acme/app", O, pull_push},
      // Not a member.
      {bob, "umbrella/app", P, none},
      {bob, "umbrella/app", O, pull},
      // Anonymous callers pull public repositories, nothing more.
      {nobody, "acme/app", P, none},
      {nobody, "acme/app", O, pull},
      {nobody, "alpine", O, pull},
      {nobody, "alpine", P, none},
      // A repository without a namespace belongs to the administrators, even when its
      // name is a user's or an organisation's.
      {alice, "alpine", P, none},
      {alice, "alice", P, none},
      {bob, "acme", P, none},
      {alice, "alpine", O, pull},
      {bob, "initech", O, pull},
  };
  for (row const& r : rows) {
    auth::permissions const got = auth::repository_permissions(r.who, r.repository, r.v);
    EXPECT_EQ(got, r.expected) << "'" << r.who.name << "' on " << r.repository
                               << (r.v == O ? " (public)" : " (private)") << ": got " << show(got)
                               << ", expected " << show(r.expected);
  }
}

TEST(auth_policy, namespace_roles) {
  using opt = std::optional<role>;
  struct row {
    auth::principal const& who;
    std::string_view ns;
    opt expected;
  } const rows[] = {
      {root, "anything", role::admin},
      {root, "", role::admin}, // administrators own the repositories without namespace
      {alice, "alice", role::admin},
      {alice, "", opt{}},
      {alice, "bob", opt{}},
      {bob, "acme", role::write},
      {bob, "globex", role::read},
      {bob, "initech", role::admin},
      {bob, "umbrella", opt{}},
      {bob, "", opt{}},
      {nobody, "", opt{}},
      {nobody, "alice", opt{}},
  };
  for (auto const& r : rows)
    EXPECT_EQ(auth::namespace_role(r.who, r.ns), r.expected) << r.who.name << " on " << r.ns;
  EXPECT_TRUE(nobody.anonymous());
  EXPECT_FALSE(alice.anonymous());

  // An anonymous caller whose principal somehow lists a membership still has no role.
  auth::principal const odd{"", false, {{"acme", "", role::admin}}};
  EXPECT_EQ(auth::namespace_role(odd, "acme"), opt{});
  EXPECT_EQ(auth::repository_permissions(odd, "acme/app", visibility::private_), none);
}

TEST(auth_policy, valid_account_names) {
  std::string const longest(64, 'a');
  for (std::string_view const good :
       std::vector<std::string_view>{"a", "0", "alice", "a1", "1a", "a.b", "a_b", "a__b", "a-b",
                                     "a---b", "a.b-c_d__e", std::string_view(longest)})
    EXPECT_TRUE(auth::is_valid_account_name(good)) << good;

  std::string const too_long(65, 'a');
  for (std::string_view const bad : std::vector<std::string_view>{"",
                                                                  ".",
                                                                  "..",
                                                                  "a..b",
                                                                  "a._b",
                                                                  "a___b",
                                                                  "_a",
                                                                  "a_",
                                                                  "-a",
                                                                  "a-",
                                                                  ".a",
                                                                  "a.",
                                                                  "a/b",
                                                                  "/a",
                                                                  "a/",
                                                                  "Alice",
                                                                  "aB",
                                                                  "ALICE",
                                                                  "a b",
                                                                  " a",
                                                                  "a:b",
                                                                  "a@b",
                                                                  "a+b",
                                                                  "\xc3\xbc" /* ü */,
                                                                  std::string_view("a\0b", 3),
                                                                  std::string_view(too_long)})
    EXPECT_FALSE(auth::is_valid_account_name(bad)) << "'" << bad << "'";
}

TEST(auth_policy, namespace_of_is_the_first_component) {
  static_assert(pier::namespace_of("acme/app") == "acme");
  static_assert(pier::namespace_of("alpine").empty());
  EXPECT_EQ(pier::namespace_of("acme/app"), "acme");
  EXPECT_EQ(pier::namespace_of("acme/team/app"), "acme");
  EXPECT_EQ(pier::namespace_of("alpine"), "");
  EXPECT_EQ(pier::namespace_of(""), "");
  EXPECT_EQ(pier::namespace_of("a/b"), "a");
}

TEST(auth_policy, scope_actions_in_order) {
  using actions = std::vector<std::string>;
  EXPECT_EQ(auth::scope_actions(none), actions{});
  EXPECT_EQ(auth::scope_actions(pull), actions{"pull"});
  EXPECT_EQ(auth::scope_actions(pull_push), (actions{"pull", "push"}));
  EXPECT_EQ(auth::scope_actions(all), (actions{"pull", "push", "delete"}));
  EXPECT_EQ(auth::scope_actions({false, true, false}), actions{"push"});
  EXPECT_EQ(auth::scope_actions({false, false, true}), actions{"delete"});
  EXPECT_EQ(auth::scope_actions({true, false, true}), (actions{"pull", "delete"}));
}

} // namespace policy_test
