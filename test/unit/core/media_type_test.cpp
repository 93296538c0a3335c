#include <pier/core/media_type.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cassert>
#include <string>

namespace media_type_test {

using pier::manifest_kind;
using pier::media_type_error;
namespace mt = pier::media_types;

// The classification works at compile time: handlers can switch on constants.
static_assert(pier::classify_media_type(mt::oci_manifest) == manifest_kind::oci_manifest);
static_assert(pier::media_type_essence("a/b ; c=d") == "a/b");
static_assert(pier::accept_quality("*/*;q=0.5", "a/b") == 500);

TEST(MediaType, DocExamples) {
  using namespace pier;
  assert(classify_media_type("application/vnd.oci.image.index.v1+json; charset=utf-8") ==
         manifest_kind::oci_index);
  assert(is_acceptable("application/vnd.oci.image.manifest.v1+json, */*;q=0.1",
                       media_types::docker_manifest_v2));
  assert(pier::media_type_essence(" text/plain ; charset=utf-8") == "text/plain");
  assert(pier::media_type_equal("Application/JSON; charset=utf-8", "application/json"));
  assert(pier::classify_media_type("APPLICATION/vnd.docker.distribution.manifest.v2+json") ==
         pier::manifest_kind::docker_v2);
  assert(pier::is_index(pier::manifest_kind::docker_list));
  assert(pier::validate_media_type("application/vnd.oci.image.manifest.v1+json"));
  assert(pier::validate_media_type("application/json; charset=utf-8").error() ==
         pier::media_type_error::invalid_subtype);
  assert(pier::validate_content_type("text/plain; charset=utf-8"));
  assert(!pier::validate_content_type("text/plain; charset"));
  std::string_view accept = "application/vnd.oci.image.index.v1+json;q=0.9, application/*;q=0.2";
  assert(pier::accept_quality(accept, pier::media_types::oci_index) == 900);
  assert(pier::accept_quality(accept, pier::media_types::docker_manifest_v2) == 200);
  assert(pier::accept_quality(accept, "text/plain") == 0);
  assert(!pier::is_acceptable("application/vnd.docker.distribution.manifest.v2+json",
                              pier::media_types::oci_manifest));
  std::string_view offered[] = {pier::media_types::docker_manifest_v2,
                                pier::media_types::oci_manifest};
  assert(pier::best_match("application/vnd.oci.image.manifest.v1+json", offered) ==
         pier::media_types::oci_manifest);
  SUCCEED();
}

TEST(MediaType, ConstantsAreGrammatical) {
  constexpr std::array all{
      mt::oci_manifest,
      mt::oci_index,
      mt::oci_config,
      mt::oci_layer_tar,
      mt::oci_layer_tar_gzip,
      mt::oci_layer_tar_zstd,
      mt::oci_layer_nondistributable_tar,
      mt::oci_layer_nondistributable_tar_gzip,
      mt::oci_layer_nondistributable_tar_zstd,
      mt::oci_empty,
      mt::oci_descriptor,
      mt::oci_layout_header,
      mt::docker_manifest_v2,
      mt::docker_manifest_list,
      mt::docker_manifest_v1,
      mt::docker_manifest_v1_signed,
      mt::docker_container_config,
      mt::docker_layer,
      mt::docker_foreign_layer,
      mt::docker_plugin_config,
  };
  for (std::string_view s : all)
    EXPECT_TRUE(pier::validate_media_type(s)) << s;
  EXPECT_EQ(mt::oci_empty, "application/vnd.oci.empty.v1+json");
  EXPECT_EQ(mt::docker_manifest_v1_signed,
            "application/vnd.docker.distribution.manifest.v1+prettyjws");
}

TEST(MediaType, Classify) {
  struct row {
    std::string_view in;
    manifest_kind kind;
  };
  constexpr std::array rows{
      row{"application/vnd.oci.image.manifest.v1+json", manifest_kind::oci_manifest},
      row{"application/vnd.oci.image.index.v1+json", manifest_kind::oci_index},
      row{"application/vnd.docker.distribution.manifest.v2+json", manifest_kind::docker_v2},
      row{"application/vnd.docker.distribution.manifest.list.v2+json", manifest_kind::docker_list},
      row{"application/vnd.docker.distribution.manifest.v1+json", manifest_kind::docker_v1},
      row{"application/vnd.docker.distribution.manifest.v1+prettyjws",
          manifest_kind::docker_v1_signed},
      // Parameters and case do not matter (RFC 6838 4.2, distribution-spec "ignore parameters").
      row{"application/vnd.oci.image.manifest.v1+json; charset=utf-8", manifest_kind::oci_manifest},
      row{"  Application/VND.OCI.Image.Index.v1+JSON ;q=1", manifest_kind::oci_index},
      row{"application/json", manifest_kind::unknown},
      row{"application/vnd.oci.image.config.v1+json", manifest_kind::unknown},
      row{"application/vnd.oci.image.manifest.v1+jsonx", manifest_kind::unknown},
      row{"", manifest_kind::unknown},
  };
  for (row const& r : rows)
    EXPECT_EQ(pier::classify_media_type(r.in), r.kind) << r.in;
}

TEST(MediaType, KindHelpers) {
  for (manifest_kind k :
       {manifest_kind::oci_manifest, manifest_kind::oci_index, manifest_kind::docker_v2,
        manifest_kind::docker_list, manifest_kind::docker_v1, manifest_kind::docker_v1_signed}) {
    EXPECT_EQ(pier::classify_media_type(pier::media_type_of(k)), k);
    EXPECT_NE(pier::is_index(k), pier::is_image_manifest(k));
  }
  EXPECT_TRUE(pier::is_index(manifest_kind::oci_index));
  EXPECT_TRUE(pier::is_image_manifest(manifest_kind::docker_v1_signed));
  EXPECT_FALSE(pier::is_index(manifest_kind::unknown));
  EXPECT_FALSE(pier::is_image_manifest(manifest_kind::unknown));
  EXPECT_EQ(pier::media_type_of(manifest_kind::unknown), "");
}

TEST(MediaType, NonDistributable) {
  EXPECT_TRUE(pier::is_non_distributable(mt::docker_foreign_layer));
  EXPECT_TRUE(pier::is_non_distributable(mt::oci_layer_nondistributable_tar));
  EXPECT_TRUE(pier::is_non_distributable(mt::oci_layer_nondistributable_tar_gzip));
  EXPECT_TRUE(pier::is_non_distributable(mt::oci_layer_nondistributable_tar_zstd));
  EXPECT_FALSE(pier::is_non_distributable(mt::docker_layer));
  EXPECT_FALSE(pier::is_non_distributable(mt::oci_layer_tar_gzip));
}

TEST(MediaType, Validate) {
  EXPECT_TRUE(pier::validate_media_type("a/b"));
  EXPECT_TRUE(pier::validate_media_type("application/vnd.example+type"));
  EXPECT_TRUE(pier::validate_media_type("x/y!#$&-^_.+z"));
  EXPECT_TRUE(pier::validate_media_type(std::string(127, 'a') + "/" + std::string(127, 'b')));

  struct row {
    std::string_view in;
    media_type_error e;
  };
  constexpr std::array rows{
      row{"", media_type_error::empty},
      row{" \t", media_type_error::empty},
      row{"application", media_type_error::missing_slash},
      row{"/json", media_type_error::invalid_type},
      row{"application/", media_type_error::invalid_subtype},
      row{"-app/json", media_type_error::invalid_type},
      row{"app/.json", media_type_error::invalid_subtype},
      row{"app lication/json", media_type_error::invalid_type},
      row{"application/json/x", media_type_error::invalid_subtype},
      row{"application/js*on", media_type_error::invalid_subtype},
      row{"application/json ", media_type_error::invalid_subtype},
      row{"*/*", media_type_error::invalid_type},
      row{"application/json;charset=utf-8", media_type_error::invalid_subtype},
      row{"appl\xc3\xa9/json", media_type_error::invalid_type},
  };
  for (row const& r : rows) {
    auto const res = pier::validate_media_type(r.in);
    EXPECT_EQ(res.error(), r.e) << r.in;
  }
  EXPECT_EQ(pier::validate_media_type(std::string(128, 'a') + "/b").error(),
            media_type_error::too_long);
  EXPECT_EQ(pier::validate_media_type("a/" + std::string(128, 'b')).error(),
            media_type_error::too_long);
}

TEST(MediaType, ValidateContentType) {
  EXPECT_TRUE(pier::validate_content_type("application/vnd.oci.image.manifest.v1+json"));
  EXPECT_TRUE(pier::validate_content_type(" text/plain ; charset=utf-8 "));
  EXPECT_TRUE(pier::validate_content_type("text/plain;a=b;c=\"d;e\\\"f\""));
  EXPECT_TRUE(pier::validate_content_type("text/plain;;a=b;"));
  EXPECT_EQ(pier::validate_content_type("").error(), media_type_error::empty);
  EXPECT_EQ(pier::validate_content_type("text;a=b").error(), media_type_error::missing_slash);
  EXPECT_EQ(pier::validate_content_type("text/plain; a").error(),
            media_type_error::invalid_parameter);
  EXPECT_EQ(pier::validate_content_type("text/plain; a=").error(),
            media_type_error::invalid_parameter);
  EXPECT_EQ(pier::validate_content_type("text/plain; a=\"unterminated").error(),
            media_type_error::invalid_parameter);
  EXPECT_EQ(pier::validate_content_type("text/plain; a=b c").error(),
            media_type_error::invalid_parameter);
}

TEST(MediaType, ErrorCategory) {
  std::error_code ec = media_type_error::invalid_subtype;
  EXPECT_EQ(ec.category().name(), std::string("pier.media_type"));
  EXPECT_FALSE(ec.message().empty());
  EXPECT_EQ(pier::to_oci_error(ec), pier::oci_error::manifest_invalid);
  for (int v = 1; v <= static_cast<int>(media_type_error::invalid_parameter); ++v)
    EXPECT_NE(std::error_code(v, pier::media_type_category()).message(),
              "unknown media type error");
}

TEST(MediaType, AcceptQuality) {
  struct row {
    std::string_view accept;
    std::string_view type;
    int q;
  };
  constexpr std::array rows{
      // An absent or blank header accepts everything.
      row{"", mt::oci_manifest, 1000},
      row{"  ", mt::oci_manifest, 1000},
      row{" , ,", mt::oci_manifest, 1000},
      // Exact, case-insensitive, parameters on the stored type ignored.
      row{"application/vnd.oci.image.manifest.v1+json", mt::oci_manifest, 1000},
      row{"APPLICATION/VND.OCI.IMAGE.MANIFEST.V1+JSON", mt::oci_manifest, 1000},
      row{"application/vnd.oci.image.manifest.v1+json",
          "application/vnd.oci.image.manifest.v1+json; x=y", 1000},
      row{"application/vnd.oci.image.manifest.v1+json", mt::oci_index, 0},
      // Wildcards.
      row{"*/*", mt::docker_manifest_v2, 1000},
      row{"application/*", mt::docker_manifest_v2, 1000},
      row{"text/*", mt::docker_manifest_v2, 0},
      // What docker 24 sends, joined into one value.
      row{"application/vnd.docker.distribution.manifest.v2+json, "
          "application/vnd.docker.distribution.manifest.list.v2+json, "
          "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
          "application/vnd.docker.distribution.manifest.v1+prettyjws",
          mt::oci_index, 1000},
      // q-values; the most specific range wins even when a broader one has a higher q.
      row{"application/*;q=0.5", mt::oci_manifest, 500},
      row{"*/*;q=1, application/vnd.oci.image.manifest.v1+json;q=0", mt::oci_manifest, 0},
      row{"*/*;q=0.1, application/*;q=0.3", mt::oci_manifest, 300},
      row{"application/json;q=0.001", "application/json", 1},
      row{"application/json;q=1.000", "application/json", 1000},
      row{"application/json ; Q=0.25", "application/json", 250},
      row{"application/json;q=0.2, application/json;q=0.7", "application/json", 700},
      // Other parameters are ignored; quoted commas do not split elements.
      row{"application/json;profile=\"a,b\";q=0.4", "application/json", 400},
      row{"application/json;charset=utf-8", "application/json", 1000},
      // Malformed elements are skipped, the others still count.
      row{"application/json;q=1.5, */*;q=0.1", "application/json", 100},
      row{"application/json;q=2", "application/json", 0},
      row{"application/json;q=0.1234", "application/json", 0},
      row{"application/json;q=", "application/json", 0},
      row{"application/json;q=\"0.5\"", "application/json", 0},
      row{"*/json", "application/json", 0},
      row{"garbage, application/json", "application/json", 1000},
      row{"application/json;q=0.5 junk", "application/json", 0},
      row{"application/json;p=\"unterminated, */*", "application/json", 0},
  };
  for (row const& r : rows)
    EXPECT_EQ(pier::accept_quality(r.accept, r.type), r.q) << r.accept << " vs " << r.type;
}

TEST(MediaType, BestMatch) {
  std::array<std::string_view, 3> offered{mt::docker_manifest_v2, mt::oci_manifest,
                                          mt::docker_manifest_v1_signed};
  EXPECT_EQ(pier::best_match("*/*", offered), mt::docker_manifest_v2);
  EXPECT_EQ(
      pier::best_match("application/vnd.oci.image.manifest.v1+json;q=0.9, */*;q=0.1", offered),
      mt::oci_manifest);
  EXPECT_EQ(pier::best_match("text/plain", offered), "");
  EXPECT_EQ(pier::best_match("", {}), "");
}

} // namespace media_type_test
