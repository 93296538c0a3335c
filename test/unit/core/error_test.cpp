#include <pier/core/error.hpp>
#include <pier/core/error_body.hpp>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <array>
#include <set>

namespace error_test {

using pier::oci_error;

struct row {
  oci_error e;
  std::string_view code;
  int status;
};

// The codes and statuses of distribution-spec v1.1 "Error Codes" and Docker's V2 API.
constexpr std::array<row, 20> table{{
    {oci_error::blob_unknown, "BLOB_UNKNOWN", 404},
    {oci_error::blob_upload_invalid, "BLOB_UPLOAD_INVALID", 400},
    {oci_error::blob_upload_unknown, "BLOB_UPLOAD_UNKNOWN", 404},
    {oci_error::digest_invalid, "DIGEST_INVALID", 400},
    {oci_error::manifest_blob_unknown, "MANIFEST_BLOB_UNKNOWN", 400},
    {oci_error::manifest_invalid, "MANIFEST_INVALID", 400},
    {oci_error::manifest_unknown, "MANIFEST_UNKNOWN", 404},
    {oci_error::name_invalid, "NAME_INVALID", 400},
    {oci_error::name_unknown, "NAME_UNKNOWN", 404},
    {oci_error::size_invalid, "SIZE_INVALID", 400},
    {oci_error::unauthorized, "UNAUTHORIZED", 401},
    {oci_error::denied, "DENIED", 403},
    {oci_error::unsupported, "UNSUPPORTED", 405},
    {oci_error::too_many_requests, "TOOMANYREQUESTS", 429},
    {oci_error::tag_invalid, "TAG_INVALID", 400},
    {oci_error::manifest_unverified, "MANIFEST_UNVERIFIED", 400},
    {oci_error::range_invalid, "RANGE_INVALID", 416},
    {oci_error::pagination_number_invalid, "PAGINATION_NUMBER_INVALID", 400},
    {oci_error::unavailable, "UNAVAILABLE", 503},
    {oci_error::unknown, "UNKNOWN", 500},
}};

TEST(OciError, CodeStringAndStatus) {
  std::set<std::string_view> seen;
  for (row const& r : table) {
    EXPECT_EQ(pier::code_string(r.e), r.code);
    EXPECT_EQ(pier::http_status(r.e), r.status) << r.code;
    EXPECT_FALSE(pier::default_message(r.e).empty()) << r.code;
    EXPECT_TRUE(seen.insert(r.code).second) << "duplicate " << r.code;
  }
}

TEST(OciError, IsAnErrorCode) {
  std::error_code ec = oci_error::manifest_unknown;
  EXPECT_TRUE(ec);
  EXPECT_EQ(ec.category().name(), std::string("pier.oci"));
  EXPECT_EQ(ec, oci_error::manifest_unknown);
  EXPECT_NE(ec, oci_error::blob_unknown);
  EXPECT_EQ(ec.message(), "manifest unknown to registry");
  EXPECT_EQ(pier::to_oci_error(ec), oci_error::manifest_unknown);
}

TEST(OciError, ForeignCodesAreUnknown) {
  EXPECT_EQ(pier::to_oci_error(std::make_error_code(std::errc::no_space_on_device)),
            oci_error::unknown);
  EXPECT_EQ(pier::http_status(oci_error::unknown), 500);
}

// A domain category maps to an OCI code through default_error_condition.
class sample_category final : public std::error_category {
public:
  char const* name() const noexcept override { return "sample"; }
  std::string message(int) const override { return "sample"; }
  std::error_condition default_error_condition(int) const noexcept override {
    return {static_cast<int>(oci_error::name_invalid), pier::oci_category()};
  }
};

TEST(OciError, DomainCategoriesMapThroughTheirCondition) {
  static sample_category const cat;
  EXPECT_EQ(pier::to_oci_error(std::error_code(1, cat)), oci_error::name_invalid);
}

TEST(OciError, BodyHasTheSpecShape) {
  std::string const body = pier::error_body(oci_error::blob_unknown, "no such blob",
                                            boost::json::value{{"digest", "sha256:00"}});
  boost::json::value const v = boost::json::parse(body);
  auto const& errors = v.at("errors").as_array();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].at("code").as_string(), "BLOB_UNKNOWN");
  EXPECT_EQ(errors[0].at("message").as_string(), "no such blob");
  EXPECT_EQ(errors[0].at("detail").at("digest").as_string(), "sha256:00");
}

TEST(OciError, BodyDefaultsMessageAndDetail) {
  boost::json::value const v = boost::json::parse(pier::error_body(oci_error::denied));
  auto const& e = v.at("errors").as_array().at(0);
  EXPECT_EQ(e.at("message").as_string(), pier::default_message(oci_error::denied));
  EXPECT_TRUE(e.at("detail").is_null());
}

TEST(OciError, BodyWithSeveralErrorsKeepsOrder) {
  std::array<pier::error_entry, 2> const list{{
      {oci_error::manifest_blob_unknown, "layer missing", "sha256:aa"},
      {oci_error::manifest_blob_unknown, "", "sha256:bb"},
  }};
  boost::json::value const v = boost::json::parse(pier::error_body(list));
  auto const& errors = v.at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].at("detail").as_string(), "sha256:aa");
  EXPECT_EQ(errors[1].at("detail").as_string(), "sha256:bb");
  EXPECT_EQ(errors[1].at("message").as_string(),
            pier::default_message(oci_error::manifest_blob_unknown));
}

} // namespace error_test
