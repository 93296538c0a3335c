// SPDX-License-Identifier: Apache-2.0
#include <pier/storage/rocksdb.hpp>

#include "account_store_suite.hpp"
#include "test_util.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pier_test {

namespace account_rocksdb_test {

// rocksdb_test.cpp specialises store_maker<rocksdb_metadata_store>, and the unity build
// makes both files one translation unit: a type of its own gives this suite its maker.
struct store : pier::storage::rocksdb_metadata_store {
  explicit store(pier::storage::rocksdb_metadata_store s)
      : pier::storage::rocksdb_metadata_store(std::move(s)) {}
};

static_assert(pier::storage::AccountStore<pier::storage::rocksdb_metadata_store>);

namespace st = pier::storage;
using pier::storage::rocksdb_metadata_store;
using namespace std::chrono_literals;

/// The column families of layout version 1, the last without accounts.
std::vector<std::string> const version_1_families = {
    "repositories", "tags",      "tag_index", "manifests", "manifest_links",
    "blob_links",   "refcounts", "referrers", "uploads",   "upload_times"};

/// Opens `<data>/meta` with RocksDB alone and calls `f(db, handles by name)`: what another
/// version of pier, or damage, could have left there. `families` empty: the ones the
/// database has; otherwise those (created if missing, with the database).
template <class F>
void with_raw_db(std::filesystem::path const& data, std::vector<std::string> families, F f) {
  std::string const path = (data / "meta").string();
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  if (families.empty())
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, path, &families).ok());
  else
    families.push_back(rocksdb::kDefaultColumnFamilyName);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::string const& n : families)
    descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  std::filesystem::create_directories(path);
  rocksdb::Status const s = rocksdb::DB::Open(options, path, descriptors, &handles, &raw);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::unique_ptr<rocksdb::DB> db(raw);
  auto const handle = [&](std::string const& name) {
    auto const it = std::find(families.begin(), families.end(), name);
    return it == families.end() ? nullptr
                                : handles[static_cast<std::size_t>(it - families.begin())];
  };
  f(*db, handle);
  for (rocksdb::ColumnFamilyHandle* h : handles)
    ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  ASSERT_TRUE(db->Close().ok());
}

std::vector<std::string> families_of(std::filesystem::path const& data) {
  std::vector<std::string> out;
  EXPECT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), (data / "meta").string(), &out).ok());
  std::sort(out.begin(), out.end());
  return out;
}

st::user_record user(std::string name, bool admin = false) {
  return {std::move(name), "$y$j9T$salt$hash", admin,
          std::chrono::system_clock::time_point{} + 1'700'000'000s + 7ns};
}

TEST(rocksdb_account_store, reopen_sees_every_account_change) {
  temp_dir dir;
  asio::io_context io;
  st::access_token_record tok{"tok1",
                              "bob",
                              "ci",
                              std::string(64, 'f'),
                              std::chrono::system_clock::now(),
                              std::chrono::system_clock::now() + 24h};
  {
    auto s = rocksdb_metadata_store::create(dir.path()).value();
    for (std::string const n : {"alice", "bob", "carol"})
      ASSERT_TRUE(run(io, s.create_user(user(n, n == "alice"))));
    ASSERT_TRUE(run(io, s.delete_user("carol")));
    ASSERT_TRUE(run(io, s.create_org({"acme", user("x").created})));
    ASSERT_TRUE(run(io, s.set_member("acme", "bob", st::role::write)));
    ASSERT_TRUE(run(io, s.set_visibility("acme/app", st::visibility::public_)));
    ASSERT_TRUE(run(io, s.add_token(tok)));
  }
  auto s = rocksdb_metadata_store::create(dir.path()).value();
  EXPECT_EQ(run(io, s.user_count()).value(), 2u);
  EXPECT_EQ(run(io, s.get_user("alice")).value(), user("alice", true));
  EXPECT_EQ(run(io, s.get_user("carol")).error(), st::storage_error::user_unknown);
  EXPECT_EQ(run(io, s.get_org("acme")).value(), (st::org_record{"acme", user("x").created}));
  EXPECT_EQ(run(io, s.memberships("bob")).value(),
            (std::vector<st::membership>{{"acme", "bob", st::role::write}}));
  EXPECT_EQ(run(io, s.get_visibility("acme/app")).value(),
            std::optional<st::visibility>(st::visibility::public_));
  EXPECT_EQ(run(io, s.get_token("tok1")).value(), tok);
  EXPECT_EQ(run(io, s.list_tokens("bob")).value(), std::vector<st::access_token_record>{tok});
  // The count goes on from where it was.
  ASSERT_TRUE(run(io, s.create_user(user("dave"))));
  EXPECT_EQ(run(io, s.user_count()).value(), 3u);
}

// A database of the previous layout (version 1: no account column families) is what the
// previous pier left on disk. It is made here with RocksDB alone, exactly as that version's
// `create` made it: the ten column families, the default one and `pier.schema` = 1.
TEST(rocksdb_account_store, a_database_without_account_families_opens_and_gains_them) {
  temp_dir dir;
  asio::io_context io;
  with_raw_db(dir.path(), version_1_families, [](rocksdb::DB& db, auto handle) {
    ASSERT_TRUE(db.Put({}, db.DefaultColumnFamily(), "pier.schema", "1").ok());
    ASSERT_TRUE(db.Put({}, handle("repositories"), "lib/app", "").ok());
  });
  EXPECT_EQ(families_of(dir.path()).size(), version_1_families.size() + 1);

  {
    auto s = rocksdb_metadata_store::create(dir.path());
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_TRUE(run(io, s->repository_exists("lib/app")).value()); // old data is there
    EXPECT_EQ(run(io, s->user_count()).value(), 0u);
    EXPECT_EQ(run(io, s->list_users("", 10)).value(), st::page<st::user_record>{});
    EXPECT_EQ(run(io, s->get_visibility("lib/app")).value(), std::nullopt);
    ASSERT_TRUE(run(io, s->create_user(user("alice"))));
    ASSERT_TRUE(run(io, s->set_visibility("lib/app", st::visibility::public_)));
  }
  std::vector<std::string> const families = families_of(dir.path());
  for (char const* n :
       {"users", "orgs", "members", "member_index", "visibility", "tokens", "token_index"})
    EXPECT_TRUE(std::binary_search(families.begin(), families.end(), std::string(n))) << n;
  with_raw_db(dir.path(), {}, [](rocksdb::DB& db, auto) {
    std::string version;
    ASSERT_TRUE(db.Get({}, db.DefaultColumnFamily(), "pier.schema", &version).ok());
    EXPECT_EQ(version, "5"); // the layout of today, GC and quota records included
  });

  auto s = rocksdb_metadata_store::create(dir.path()).value();
  EXPECT_EQ(run(io, s.get_user("alice")).value(), user("alice"));
  EXPECT_TRUE(run(io, s.repository_exists("lib/app")).value());
  EXPECT_EQ(run(io, s.get_visibility("lib/app")).value(),
            std::optional<st::visibility>(st::visibility::public_));
}

TEST(rocksdb_account_store, a_later_layout_is_refused) {
  temp_dir dir;
  with_raw_db(dir.path(), version_1_families, [](rocksdb::DB& db, auto) {
    ASSERT_TRUE(db.Put({}, db.DefaultColumnFamily(), "pier.schema", "6").ok());
  });
  EXPECT_EQ(rocksdb_metadata_store::create(dir.path()).error(), st::storage_error::corrupt);
}

// Bytes another version or damage left behind are reported, not misread.
TEST(rocksdb_account_store, records_that_do_not_decode_are_corrupt) {
  temp_dir dir;
  asio::io_context io;
  {
    auto s = rocksdb_metadata_store::create(dir.path()).value();
    ASSERT_TRUE(run(io, s.create_user(user("alice"))));
    ASSERT_TRUE(run(io, s.create_user(user("bob"))));
    ASSERT_TRUE(run(io, s.create_org({"acme", {}})));
    ASSERT_TRUE(run(io, s.set_member("acme", "alice", st::role::read)));
    ASSERT_TRUE(run(io, s.add_token({"t1", "alice", "", "", {}, std::nullopt})));
  }
  std::string good_user;
  with_raw_db(dir.path(), {}, [&](rocksdb::DB& db, auto handle) {
    ASSERT_TRUE(db.Get({}, handle("users"), "bob", &good_user).ok());
    std::string truncated = good_user;
    truncated.pop_back();
    ASSERT_TRUE(db.Put({}, handle("users"), "bob", truncated).ok());
    ASSERT_TRUE(db.Put({}, handle("users"), "carol", good_user + "x").ok()); // trailing byte
    std::string admin_flag_2 = good_user;
    admin_flag_2[1] = 2;
    ASSERT_TRUE(db.Put({}, handle("users"), "dave", admin_flag_2).ok());
    ASSERT_TRUE(db.Put({}, handle("users"), "erin", "\x07" + good_user.substr(1)).ok()); // format
    ASSERT_TRUE(db.Put({}, handle("orgs"), "globex", "").ok());
    ASSERT_TRUE(db.Put({}, handle("members"), std::string("acme\0alice", 10), "\x04").ok());
    ASSERT_TRUE(db.Put({}, handle("visibility"), "a/b", "\x02").ok());
    ASSERT_TRUE(db.Put({}, handle("visibility"), "a/c", "").ok());
    ASSERT_TRUE(db.Put({}, handle("tokens"), "t1", "\x01").ok());
    ASSERT_TRUE(db.Put({}, handle("token_index"), std::string("alice\0t9", 8), "").ok());
  });

  auto s = rocksdb_metadata_store::create(dir.path()).value();
  EXPECT_TRUE(run(io, s.get_user("alice")));
  for (std::string const n : {"bob", "carol", "dave", "erin"})
    EXPECT_EQ(run(io, s.get_user(n)).error(), st::storage_error::corrupt) << n;
  EXPECT_EQ(run(io, s.list_users("", 10)).error(), st::storage_error::corrupt);
  EXPECT_EQ(run(io, s.list_users("", 1)).value().items.size(), 1u); // alice alone is fine
  EXPECT_EQ(run(io, s.get_org("globex")).error(), st::storage_error::corrupt);
  EXPECT_EQ(run(io, s.members("acme")).error(), st::storage_error::corrupt);
  EXPECT_EQ(run(io, s.memberships("alice")).value(),
            (std::vector<st::membership>{{"acme", "alice", st::role::read}})); // other side
  EXPECT_EQ(run(io, s.get_visibility("a/b")).error(), st::storage_error::corrupt);
  EXPECT_EQ(run(io, s.get_visibility("a/c")).error(), st::storage_error::corrupt);
  EXPECT_EQ(run(io, s.get_token("t1")).error(), st::storage_error::corrupt);
  EXPECT_EQ(run(io, s.list_tokens("alice")).error(), st::storage_error::corrupt);
  EXPECT_EQ(run(io, s.delete_token("t1")).error(), st::storage_error::corrupt);
}

// Tokens stored before tokens had scopes (record format 1) still decode, with no scopes,
// next to ones of today (format 2) that keep theirs.
TEST(rocksdb_account_store, tokens_of_the_format_without_scopes_still_decode) {
  temp_dir dir;
  asio::io_context io;
  st::access_token_record old_token{
      "old1", "alice", "from before", std::string(64, 'e'), user("x").created, std::nullopt};
  st::access_token_record new_token = old_token;
  new_token.id = "new1";
  new_token.scopes = {"pull", "push"};
  {
    auto s = rocksdb_metadata_store::create(dir.path()).value();
    ASSERT_TRUE(run(io, s.create_user(user("alice"))));
    ASSERT_TRUE(run(io, s.add_token(old_token)));
    ASSERT_TRUE(run(io, s.add_token(new_token)));
  }
  with_raw_db(dir.path(), {}, [](rocksdb::DB& db, auto handle) {
    std::string v;
    ASSERT_TRUE(db.Get({}, handle("tokens"), "old1", &v).ok());
    // Format 2 with no scopes is format 1 plus a zero count: what format 1 wrote.
    ASSERT_EQ(v.front(), '\x02');
    ASSERT_EQ(v.back(), '\0');
    std::string const v1 = "\x01" + v.substr(1, v.size() - 2);
    ASSERT_TRUE(db.Put({}, handle("tokens"), "old1", v1).ok());
  });
  auto s = rocksdb_metadata_store::create(dir.path()).value();
  EXPECT_EQ(run(io, s.get_token("old1")).value(), old_token);
  EXPECT_EQ(run(io, s.get_token("new1")).value(), new_token);
  EXPECT_EQ(run(io, s.list_tokens("alice")).value(),
            (std::vector<st::access_token_record>{new_token, old_token}));
}

} // namespace account_rocksdb_test

template <>
struct store_maker<account_rocksdb_test::store> {
  temp_dir dir;
  std::unique_ptr<account_rocksdb_test::store> make() {
    return std::make_unique<account_rocksdb_test::store>(
        pier::storage::rocksdb_metadata_store::create(dir.path()).value());
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(rocksdb, account_store_suite, account_rocksdb_test::store);

} // namespace pier_test
