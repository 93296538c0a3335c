// SPDX-License-Identifier: Apache-2.0
#include <pier/auth/address_range.hpp>

#include <gtest/gtest.h>

#include <string_view>

namespace address_range_test {

using pier::auth::address_range;

TEST(AddressRange, HoldsTheAddressesOfItsPrefix) {
  auto const v4 = address_range::parse("10.1.0.0/16");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->contains("10.1.2.3"));
  EXPECT_TRUE(v4->contains("10.1.255.255"));
  EXPECT_FALSE(v4->contains("10.2.0.1"));
  EXPECT_FALSE(v4->contains("::ffff:10.2.0.1"));
  EXPECT_TRUE(v4->contains("::ffff:10.1.0.1")); // the same address, IPv4-mapped

  auto const odd = address_range::parse("192.0.2.128/25"); // a prefix inside a byte
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains("192.0.2.200"));
  EXPECT_FALSE(odd->contains("192.0.2.127"));

  auto const one = address_range::parse("192.0.2.7"); // a plain address: all its bits
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->contains("192.0.2.7"));
  EXPECT_FALSE(one->contains("192.0.2.8"));

  auto const v6 = address_range::parse("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains("2001:db8:1::5"));
  EXPECT_FALSE(v6->contains("2001:db9::5"));
  EXPECT_FALSE(v6->contains("10.1.2.3"));

  auto const loop = address_range::parse("::1");
  ASSERT_TRUE(loop);
  EXPECT_TRUE(loop->contains("::1"));
  EXPECT_FALSE(loop->contains("127.0.0.1"));

  auto const all = address_range::parse("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->contains("203.0.113.9"));
  EXPECT_FALSE(all->contains("2001:db8::1")); // an IPv4 range holds no IPv6 addresses
  EXPECT_FALSE(all->contains("not an address"));
  EXPECT_FALSE(all->contains(""));
}

TEST(AddressRange, RefusesWhatIsNoRange) {
  for (std::string_view bad :
       {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8x", "10.0.0.0/-1", "10.0.0",
        "example.com", " 10.0.0.1", "10.0.0.1 ", "10.0.0.0/8/8", "2001:db8::/+32", "1.2.3.4.5"})
    EXPECT_FALSE(address_range::parse(bad)) << bad;
}

} // namespace address_range_test
