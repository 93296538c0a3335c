#include <pier/core/result.hpp>

#include <pier/core/error.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace result_test {

using pier::oci_error;

TEST(Result, ValueAndError) {
  pier::result<int> ok = 42;
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 42);
  EXPECT_EQ(ok.value(), 42);
  EXPECT_FALSE(ok.error());

  pier::result<int> bad = oci_error::denied;
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), oci_error::denied);
  EXPECT_THROW((void)bad.value(), std::system_error);

  pier::result<void> v;
  EXPECT_TRUE(v);
  pier::result<void> vbad = oci_error::unsupported;
  EXPECT_FALSE(vbad);
  EXPECT_THROW(vbad.value(), std::system_error);
}

TEST(Result, MoveOnlyValues) {
  pier::result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(Result, ArrowReachesMembers) {
  pier::result<std::string> r = std::string("abc");
  EXPECT_EQ(r->size(), 3u);
  pier::result<std::string> e = std::make_error_code(std::errc::invalid_argument);
  EXPECT_EQ(e.error(), std::errc::invalid_argument);
}

} // namespace result_test
