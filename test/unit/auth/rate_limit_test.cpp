// SPDX-License-Identifier: Apache-2.0
#include <pier/auth/rate_limit.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace rate_limit_test {

using namespace std::chrono_literals;
using pier::auth::login_limit_options;
using pier::auth::login_limiter;

login_limiter::clock::time_point const t0 = login_limiter::clock::time_point{} + 1000h;

TEST(RateLimit, DocExample) {
  login_limiter limiter({.max_user_failures = 3, .window = 5min});
  auto t = t0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.retry_after("192.0.2.7", "alice", t), 0s);
    limiter.record_failure("192.0.2.7", "alice", t);
  }
  EXPECT_EQ(limiter.retry_after("192.0.2.7", "alice", t + 1min), 4min);
  EXPECT_EQ(limiter.retry_after("192.0.2.7", "alice", t + 5min), 0s);
}

TEST(RateLimit, UserLimitCountsPerAddress) {
  login_limiter limiter({.max_user_failures = 2, .max_address_failures = 100, .window = 60s});
  // Failures for alice from many addresses: none of them locks alice out elsewhere, or
  // anyone could lock any user out from a handful of addresses.
  for (int i = 1; i <= 20; ++i)
    limiter.record_failure("192.0.2." + std::to_string(i), "alice", t0);
  EXPECT_EQ(limiter.retry_after("192.0.2.100", "alice", t0 + 1s), 0s);
  // The pair of address and user still locks.
  limiter.record_failure("192.0.2.100", "alice", t0 + 1s);
  EXPECT_EQ(limiter.retry_after("192.0.2.100", "alice", t0 + 2s), 0s);
  limiter.record_failure("192.0.2.100", "alice", t0 + 10s);
  EXPECT_EQ(limiter.retry_after("192.0.2.100", "alice", t0 + 20s), 41s);
  // Other users from that address, and alice from another one, are not affected.
  EXPECT_EQ(limiter.retry_after("192.0.2.100", "bob", t0 + 20s), 0s);
  EXPECT_EQ(limiter.retry_after("192.0.2.101", "alice", t0 + 20s), 0s);
}

TEST(RateLimit, AddressLimitStillLocksTheAddress) {
  login_limiter limiter({.max_user_failures = 10, .max_address_failures = 3, .window = 60s});
  // One address trying three users: the address locks, for every user and anonymously.
  for (char const* u : {"alice", "bob", "carol"})
    limiter.record_failure("203.0.113.5", u, t0);
  EXPECT_EQ(limiter.retry_after("203.0.113.5", "alice", t0), 60s);
  EXPECT_EQ(limiter.retry_after("203.0.113.5", "dave", t0), 60s);
  EXPECT_EQ(limiter.retry_after("203.0.113.5", "", t0), 60s);
  EXPECT_EQ(limiter.retry_after("203.0.113.6", "alice", t0), 0s);
}

TEST(RateLimit, SlidingWindowFreesOneSlotAtATime) {
  login_limiter limiter({.max_user_failures = 2, .max_address_failures = 0, .window = 60s});
  limiter.record_failure("a", "u", t0);
  limiter.record_failure("a", "u", t0 + 30s);
  EXPECT_EQ(limiter.retry_after("a", "u", t0 + 31s), 29s);
  EXPECT_EQ(limiter.retry_after("a", "u", t0 + 60s), 0s); // the first failure left
  limiter.record_failure("a", "u", t0 + 60s);
  // Locked again until the second failure (t0 + 30s) leaves.
  EXPECT_EQ(limiter.retry_after("a", "u", t0 + 61s), 29s);
}

TEST(RateLimit, RetryAfterIsRoundedUpToSeconds) {
  login_limiter limiter({.max_user_failures = 1, .window = 10s});
  limiter.record_failure("a", "u", t0);
  EXPECT_EQ(limiter.retry_after("a", "u", t0 + 1500ms), 9s);
  EXPECT_EQ(limiter.retry_after("a", "u", t0 + 9999ms), 1s);
}

TEST(RateLimit, AddressLimitCoversManyUsers) {
  login_limiter limiter({.max_user_failures = 10, .max_address_failures = 3, .window = 60s});
  limiter.record_failure("198.51.100.9", "u1", t0);
  limiter.record_failure("198.51.100.9", "u2", t0);
  limiter.record_failure("198.51.100.9", "u3", t0);
  EXPECT_EQ(limiter.retry_after("198.51.100.9", "u4", t0), 60s);
  EXPECT_EQ(limiter.retry_after("198.51.100.9", "", t0), 60s); // anonymous too
  EXPECT_EQ(limiter.retry_after("198.51.100.10", "u4", t0), 0s);
}

TEST(RateLimit, SuccessClearsThePairNotTheAddress) {
  login_limiter limiter({.max_user_failures = 2, .max_address_failures = 3, .window = 60s});
  limiter.record_failure("192.0.2.1", "victim", t0);
  limiter.record_failure("192.0.2.1", "victim", t0);
  EXPECT_GT(limiter.retry_after("192.0.2.1", "victim", t0), 0s);
  limiter.record_failure("192.0.2.1", "other", t0);
  // The attacker logs in with its own account: the address stays locked.
  limiter.record_success("192.0.2.1", "attacker");
  EXPECT_GT(limiter.retry_after("192.0.2.1", "attacker", t0), 0s);
  // A success from elsewhere clears nothing here.
  limiter.record_success("192.0.2.9", "victim");
  EXPECT_GT(limiter.retry_after("192.0.2.1", "victim", t0), 0s);
  login_limiter fresh({.max_user_failures = 2, .max_address_failures = 100, .window = 60s});
  fresh.record_failure("192.0.2.1", "victim", t0);
  fresh.record_failure("192.0.2.1", "victim", t0);
  EXPECT_GT(fresh.retry_after("192.0.2.1", "victim", t0), 0s);
  // The victim logs in from that address (say, with a cached credential): the pair resets.
  fresh.record_success("192.0.2.1", "victim");
  EXPECT_EQ(fresh.retry_after("192.0.2.1", "victim", t0), 0s);
}

TEST(RateLimit, UserAndAddressKeysDoNotCollide) {
  login_limiter limiter({.max_user_failures = 1, .max_address_failures = 5, .window = 60s});
  limiter.record_failure("10.0.0.1", "x", t0);
  // A user whose name is that address is not locked by the address's failures.
  EXPECT_EQ(limiter.retry_after("10.0.0.2", "10.0.0.1", t0), 0s);
}

TEST(RateLimit, Ipv6CountsPer64) {
  EXPECT_EQ(login_limiter::address_key("2001:db8:1:2:aaaa::1"), "2001:0db8:0001:0002::/64");
  EXPECT_EQ(login_limiter::address_key("2001:db8:1:2::ffff"), "2001:0db8:0001:0002::/64");
  EXPECT_EQ(login_limiter::address_key("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(login_limiter::address_key("not an address"), "not an address");
  EXPECT_EQ(login_limiter::address_key("::zz"), "::zz");

  login_limiter limiter({.max_user_failures = 0, .max_address_failures = 2, .window = 60s});
  limiter.record_failure("2001:db8:1:2::1", "a", t0);
  limiter.record_failure("2001:db8:1:2::2", "b", t0);
  EXPECT_EQ(limiter.retry_after("2001:db8:1:2::3", "c", t0), 60s);
  EXPECT_EQ(limiter.retry_after("2001:db8:1:3::1", "c", t0), 0s);
}

TEST(RateLimit, ZeroLimitsDisableCounting) {
  login_limiter limiter({.max_user_failures = 0, .max_address_failures = 0});
  for (int i = 0; i < 100; ++i)
    limiter.record_failure("a", "u", t0);
  EXPECT_EQ(limiter.retry_after("a", "u", t0), 0s);
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(RateLimit, MemoryIsBounded) {
  login_limiter limiter(
      {.max_user_failures = 1, .max_address_failures = 1000, .window = 60s, .max_keys = 8});
  for (int i = 0; i < 100; ++i)
    limiter.record_failure("a", "user" + std::to_string(i), t0 + std::chrono::seconds(i % 3));
  EXPECT_LE(limiter.size(), 8u);
  // The most recent keys are kept, the oldest evicted.
  EXPECT_GT(limiter.retry_after("a", "user99", t0 + 2s), 0s);
  EXPECT_EQ(limiter.retry_after("a", "user0", t0 + 2s), 0s);
}

TEST(RateLimit, ExpiredKeysArePurgedFirst) {
  login_limiter limiter(
      {.max_user_failures = 1, .max_address_failures = 0, .window = 10s, .max_keys = 3});
  limiter.record_failure("a", "old1", t0);
  limiter.record_failure("a", "old2", t0);
  limiter.record_failure("a", "fresh", t0 + 20s);
  // old1 and old2 expired: both went to make room, not just one.
  EXPECT_EQ(limiter.size(), 1u);
  limiter.record_failure("a", "fresh2", t0 + 21s);
  limiter.record_failure("a", "fresh3", t0 + 22s);
  EXPECT_EQ(limiter.size(), 3u);
  EXPECT_GT(limiter.retry_after("a", "fresh", t0 + 22s), 0s);
}

TEST(RateLimit, LongNamesAreCut) {
  login_limiter limiter({.max_user_failures = 1, .max_address_failures = 0});
  std::string const long_name(10000, 'x');
  limiter.record_failure("a", long_name + "1", t0);
  // Only the first max_key_length bytes count: a different tail does not escape the limit.
  EXPECT_GT(limiter.retry_after("a", long_name + "2", t0), 0s);
  EXPECT_EQ(limiter.retry_after("a", std::string(login_limiter::max_key_length - 1, 'x'), t0), 0s);
}

TEST(RateLimit, ThreadSafe) {
  login_limiter limiter({.max_user_failures = 1000000,
                         .max_address_failures = 1000000,
                         .window = 1h,
                         .max_keys = 64});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string const user = "u" + std::to_string((i * 7 + t) % 100);
        limiter.record_failure("10.0.0." + std::to_string(t), user, t0 + std::chrono::seconds(i));
        (void)limiter.retry_after("10.0.0.9", user, t0 + std::chrono::seconds(i));
        if (i % 10 == 0)
          limiter.record_success("10.0.0.9", user);
      }
    });
  }
  for (std::thread& th : threads)
    th.join();
  EXPECT_LE(limiter.size(), 64u);
}

} // namespace rate_limit_test
