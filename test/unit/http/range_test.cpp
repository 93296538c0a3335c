#include <pier/http/range.hpp>

#include <gtest/gtest.h>

#include <string>

namespace range_test {

using pier::http::byte_range;
using pier::http::content_range;
using pier::http::parse_content_range;
using pier::http::range_error;
using pier::http::range_kind;
using pier::http::range_selection;
using pier::http::select_range;

range_selection sel(std::string_view v, std::uint64_t size) { return select_range(v, size); }

void expect_range(std::string_view v, std::uint64_t size, std::uint64_t offset,
                  std::uint64_t length) {
  range_selection const s = sel(v, size);
  EXPECT_EQ(s.kind, range_kind::satisfiable) << v;
  EXPECT_EQ(s.range, (byte_range{offset, length})) << v;
}

TEST(SelectRange, DocExample) {
  using namespace pier::http;
  range_selection s = select_range("bytes=100-", 1000);
  EXPECT_TRUE(s.kind == range_kind::satisfiable && s.range.offset == 100 && s.range.length == 900);
  EXPECT_TRUE(content_range_value(s.range, 1000) == "bytes 100-999/1000");
  EXPECT_TRUE(select_range("bytes=2000-", 1000).kind == range_kind::not_satisfiable); // 416
  EXPECT_TRUE(select_range("bytes=0-1,5-6", 1000).kind == range_kind::ignore);        // 200

  pier::result<content_range> c = parse_content_range("0-1023"); // OCI form
  EXPECT_TRUE(c && c->first == 0 && c->last == 1023 && !c->complete_length);
}

TEST(SelectRange, FirstLast) {
  expect_range("bytes=0-0", 10, 0, 1);
  expect_range("bytes=0-9", 10, 0, 10);
  expect_range("bytes=2-5", 10, 2, 4);
  expect_range("bytes=9-9", 10, 9, 1);
  expect_range("bytes=5-100", 10, 5, 5);                     // last clamped
  expect_range("bytes=5-99999999999999999999999", 10, 5, 5); // last overflows: clamped
}

TEST(SelectRange, OpenEnded) {
  expect_range("bytes=0-", 10, 0, 10);
  expect_range("bytes=7-", 10, 7, 3);
  expect_range("bytes=9-", 10, 9, 1);
}

TEST(SelectRange, Suffix) {
  expect_range("bytes=-1", 10, 9, 1);
  expect_range("bytes=-4", 10, 6, 4);
  expect_range("bytes=-10", 10, 0, 10);
  expect_range("bytes=-11", 10, 0, 10); // longer than the representation: all of it
  expect_range("bytes=-99999999999999999999999", 10, 0, 10);
}

TEST(SelectRange, NotSatisfiable) {
  EXPECT_EQ(sel("bytes=10-", 10).kind, range_kind::not_satisfiable);
  EXPECT_EQ(sel("bytes=10-20", 10).kind, range_kind::not_satisfiable);
  EXPECT_EQ(sel("bytes=0-", 0).kind, range_kind::not_satisfiable);
  EXPECT_EQ(sel("bytes=-0", 10).kind, range_kind::not_satisfiable);
  EXPECT_EQ(sel("bytes=99999999999999999999999-", 10).kind, range_kind::not_satisfiable);
}

TEST(SelectRange, Ignored) {
  for (std::string_view v :
       {"", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=1-a", "bytes=5-2", "bytes=0-1,3-4",
        "bytes=0-1,", "items=0-1", "bytes 0-1", "bytes=0--1", "bytes=+1-2", "bytes=1", "bytes=1 -2",
        "bytesx=0-1", "bytes=0x1-2"})
    EXPECT_EQ(sel(v, 100).kind, range_kind::ignore) << '"' << v << '"';
  EXPECT_EQ(sel("bytes=-5", 0).kind, range_kind::ignore);
  EXPECT_EQ(select_range(std::optional<std::string_view>{}, 10).kind, range_kind::ignore);
}

TEST(SelectRange, CaseAndWhitespace) {
  expect_range("Bytes=1-2", 10, 1, 2);
  expect_range("BYTES=1-2", 10, 1, 2);
  expect_range("  bytes= 1-2 ", 10, 1, 2);
  expect_range("bytes =1-2", 10, 1, 2);
}

TEST(SelectRange, IsConstexpr) {
  static_assert(select_range("bytes=1-2", 10).range == byte_range{1, 2});
  static_assert(select_range("bytes=20-", 10).kind == range_kind::not_satisfiable);
  SUCCEED();
}

TEST(ContentRangeValue, Formats) {
  EXPECT_EQ(pier::http::content_range_value({0, 1}, 1), "bytes 0-0/1");
  EXPECT_EQ(pier::http::content_range_value({10, 90}, 100), "bytes 10-99/100");
  EXPECT_EQ(pier::http::unsatisfied_range_value(42), "bytes */42");
}

TEST(ParseContentRange, OciForm) {
  auto r = parse_content_range("0-1023");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (content_range{0, 1023, std::nullopt}));
  EXPECT_EQ(r->length(), 1024u);
  r = parse_content_range("1024-2047");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 1024u);
  EXPECT_EQ(r->last, 2047u);
  r = parse_content_range(" 5-5 ");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->length(), 1u);
}

TEST(ParseContentRange, RfcForm) {
  auto r = parse_content_range("bytes 0-99/1000");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (content_range{0, 99, 1000}));
  r = parse_content_range("bytes 100-199/*");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (content_range{100, 199, std::nullopt}));
  r = parse_content_range("BYTES 1-2");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (content_range{1, 2, std::nullopt}));
  r = parse_content_range("3-4/10");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (content_range{3, 4, 10}));
}

TEST(ParseContentRange, Errors) {
  for (std::string_view v :
       {"", "-", "1-", "-1", "a-b", "1-2-3", "bytes", "bytes=1-2", "bytes1-2", "bytes 1-2/",
        "bytes 1-2/x", "1 - 2", "+1-2", "99999999999999999999999-1", "bytes */10"})
    EXPECT_EQ(parse_content_range(v).error(), range_error::malformed) << '"' << v << '"';
  EXPECT_EQ(parse_content_range("5-4").error(), range_error::inverted);
  EXPECT_EQ(parse_content_range("bytes 0-10/10").error(), range_error::beyond_length);
  EXPECT_STREQ(parse_content_range("x").error().category().name(), "pier.http.range");
  EXPECT_FALSE(parse_content_range("x").error().message().empty());
}

} // namespace range_test
