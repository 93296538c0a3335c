#include <pier/core/duration.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <string_view>
#include <system_error>

namespace duration_test {

using namespace std::chrono_literals;
using pier::parse_duration;

TEST(Duration, Units) {
  EXPECT_EQ(*parse_duration("500ms"), 500ms);
  EXPECT_EQ(*parse_duration("90s"), 90s);
  EXPECT_EQ(*parse_duration("5m"), 5min);
  EXPECT_EQ(*parse_duration("1h"), 1h);
  EXPECT_EQ(*parse_duration("7d"), 7 * 24h);
  EXPECT_EQ(*parse_duration("0"), 0ms);
  EXPECT_EQ(*parse_duration("0ms"), 0ms);
  EXPECT_EQ(*parse_duration("007s"), 7s);
}

// A number without a unit is seconds, as it always was for flags and `expires_in`.
TEST(Duration, NoUnitIsSeconds) {
  EXPECT_EQ(*parse_duration("90"), 90s);
  EXPECT_EQ(*parse_duration("3600"), 1h);
}

TEST(Duration, AnythingElseIsInvalid) {
  for (std::string_view bad : std::initializer_list<std::string_view>{
           "",    "s",   "ms",  "-1",  "-1s",   "+1s",  "1.5h",
           "1e3", " 1s", "1s ", "1 s", "30sec", "1w",   "1y",
           "1H",  "1M",  "1S",  "1hm", "1h30m", "0x10", std::string_view("1\0s", 3)}) {
    auto const d = parse_duration(bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_EQ(d.error(), std::errc::invalid_argument) << bad;
  }
}

TEST(Duration, OverflowIsOutOfRange) {
  // The largest count of milliseconds, and one more.
  EXPECT_EQ(parse_duration("9223372036854775807ms")->count(), 9223372036854775807);
  for (std::string_view big : {"9223372036854775808ms", "9223372036854776s", "106751991168d",
                               "99999999999999999999999999d", "99999999999999999999"}) {
    auto const d = parse_duration(big);
    ASSERT_FALSE(d) << big;
    EXPECT_EQ(d.error(), std::errc::result_out_of_range) << big;
  }
  EXPECT_EQ(*parse_duration("106751991167d"), std::chrono::days(106751991167));
}

TEST(Duration, DocExample) {
  EXPECT_EQ(*pier::parse_duration("90m"), std::chrono::minutes(90));
  EXPECT_EQ(*pier::parse_duration("90"), std::chrono::seconds(90));
  EXPECT_EQ(pier::parse_duration("1.5h").error(), std::errc::invalid_argument);
}

} // namespace duration_test
