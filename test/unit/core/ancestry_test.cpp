// SPDX-License-Identifier: Apache-2.0
#include <pier/core/ancestry.hpp>

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace ancestry_test {

using pier::ancestry_error;

// Expected values in this file were computed with Python's hashlib, independently of
// pier; see the comments next to each for the formula.

std::string const id_a = "a9561eb1b190625c9adb5a9513e72c4dedafc1cb2d4c5236c9a6957ec7dfd5a9";
std::string const id_b = "c6e3cedcda2e3982a1a6760e178355e8e65f7b80e4e5248743fa3549d284e024";
std::string const id_c = "511136ea3c5a64f264b78b5433614aec563103b4d4702f3ba7d4d2698e22c158";

pier::v1_image make_image(std::string id, std::string parent = {}) {
  pier::v1_image image;
  image.id = std::move(id);
  image.parent = std::move(parent);
  return image;
}

TEST(v1_image, parses_the_spec_example) {
  std::string const json = R"({
    "id": "a9561eb1b190625c9adb5a9513e72c4dedafc1cb2d4c5236c9a6957ec7dfd5a9",
    "parent": "c6e3cedcda2e3982a1a6760e178355e8e65f7b80e4e5248743fa3549d284e024",
    "checksum": "tarsum.v1+sha256:e58fcf7418d2390dec8e8fb69d88c06ec07039d651fedc3aa72af9972e7d046b",
    "created": "2014-10-13T21:19:18.674353812Z",
    "author": "Alyssa P. Hacker <alyspdev@example.com>",
    "architecture": "amd64",
    "os": "linux",
    "Size": 271828,
    "container": "d5b2c7b3c9b1a7e0b1bd0e23d2ae4c6f4e2f8f3a2bd2c4a1e1e0f9d8c7b6a5f4",
    "container_config": {"Cmd": ["/bin/sh", "-c", "make"]},
    "docker_version": "1.3.0",
    "config": {"User": "alice", "Memory": 2048, "Env": ["FOO=docker_is_a_really"]},
    "os.version": "10.0",
    "throwaway": false
  })";
  pier::result<pier::v1_image> r = pier::parse_v1_image(json);
  ASSERT_TRUE(r) << r.error().message();
  pier::v1_image const& img = *r;
  EXPECT_EQ(img.id, id_a);
  EXPECT_EQ(img.parent, id_b);
  EXPECT_EQ(img.checksum,
            "tarsum.v1+sha256:e58fcf7418d2390dec8e8fb69d88c06ec07039d651fedc3aa72af9972e7d046b");
  EXPECT_EQ(img.created, "2014-10-13T21:19:18.674353812Z");
  EXPECT_EQ(img.author, "Alyssa P. Hacker <alyspdev@example.com>");
  EXPECT_EQ(img.architecture, "amd64");
  EXPECT_EQ(img.os, "linux");
  EXPECT_EQ(img.size, 271828);
  EXPECT_EQ(img.docker_version, "1.3.0");
  EXPECT_EQ(img.container, "d5b2c7b3c9b1a7e0b1bd0e23d2ae4c6f4e2f8f3a2bd2c4a1e1e0f9d8c7b6a5f4");
  ASSERT_TRUE(img.config.is_object());
  EXPECT_EQ(img.config.at("User"), "alice");
  EXPECT_EQ(img.config.at("Memory"), 2048);
  ASSERT_TRUE(img.container_config.is_object());
  EXPECT_EQ(img.container_config.at("Cmd").as_array().size(), 3u);
  EXPECT_FALSE(img.throwaway);
  ASSERT_EQ(img.extra.size(), 1u);
  EXPECT_EQ(img.extra.at("os.version"), "10.0");

  // Serialising and parsing again gives the same image, and the same JSON value as the
  // input but for the `throwaway: false` that is not written back.
  std::string const text = pier::serialize(img);
  pier::result<pier::v1_image> again = pier::parse_v1_image(text);
  ASSERT_TRUE(again) << again.error().message() << '\n' << text;
  EXPECT_EQ(*again, img);
  boost::json::value original = boost::json::parse(json);
  original.as_object().erase("throwaway");
  EXPECT_EQ(boost::json::parse(text), original);
}

TEST(v1_image, minimal_and_null_members) {
  pier::result<pier::v1_image> r = pier::parse_v1_image(
      R"({"id":")" + id_a +
      R"(","parent":null,"created":null,"Size":null,"config":null,"container_config":null,)"
      R"("os":null,"throwaway":null})");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, make_image(id_a));
  EXPECT_FALSE(r->size.has_value());
  EXPECT_TRUE(r->extra.empty());
  EXPECT_EQ(pier::serialize(*r), R"({"id":")" + id_a + R"("})");

  pier::v1_image img = make_image(id_a, id_b);
  img.size = 0;
  img.throwaway = true;
  img.created = "0001-01-01T00:00:00Z";
  img.container_config = boost::json::object{{"Cmd", boost::json::array{"sh"}}};
  EXPECT_EQ(pier::serialize(img), R"({"id":")" + id_a + R"(","parent":")" + id_b +
                                      R"(","created":"0001-01-01T00:00:00Z",)"
                                      R"("container_config":{"Cmd":["sh"]},"Size":0,)"
                                      R"("throwaway":true})");
}

struct invalid_case {
  std::string json;
  ancestry_error expected;
};

TEST(v1_image, rejects_invalid_documents) {
  std::string const id = R"("id":")" + id_a + R"(")";
  std::vector<invalid_case> const cases = {
      {"", ancestry_error::invalid_json},
      {"{", ancestry_error::invalid_json},
      {"[]", ancestry_error::invalid_json},
      {R"("a string")", ancestry_error::invalid_json},
      {"{" + id + "} trailing", ancestry_error::invalid_json},
      {"{}", ancestry_error::invalid_id},
      {R"({"id":""})", ancestry_error::invalid_id},
      {R"({"id":null})", ancestry_error::invalid_id},
      {R"({"id":42})", ancestry_error::invalid_id},
      {R"({"id":")" + id_a.substr(1) + R"("})", ancestry_error::invalid_id},
      {R"({"id":")" + id_a + R"(0"})", ancestry_error::invalid_id},
      {R"({"id":"A)" + id_a.substr(1) + R"("})", ancestry_error::invalid_id},
      {R"({"id":"sha256:)" + id_a + R"("})", ancestry_error::invalid_id},
      {R"({"id":"g)" + id_a.substr(1) + R"("})", ancestry_error::invalid_id},
      {"{" + id + R"(,"parent":"abc"})", ancestry_error::invalid_parent},
      {"{" + id + R"(,"parent":"sha256:)" + id_b + R"("})", ancestry_error::invalid_parent},
      {"{" + id + R"(,"parent":7})", ancestry_error::invalid_parent},
      {"{" + id + R"(,"Size":-1})", ancestry_error::invalid_size},
      {"{" + id + R"(,"Size":1.5})", ancestry_error::invalid_size},
      {"{" + id + R"(,"Size":1e3})", ancestry_error::invalid_size},
      {"{" + id + R"(,"Size":9223372036854775808})", ancestry_error::invalid_size},
      {"{" + id + R"(,"Size":"12"})", ancestry_error::invalid_size},
      {"{" + id + R"(,"created":"yesterday"})", ancestry_error::invalid_created},
      {"{" + id + R"(,"created":"2015-02-29T00:00:00Z"})", ancestry_error::invalid_created},
      {"{" + id + R"(,"created":"2015-13-01T00:00:00Z"})", ancestry_error::invalid_created},
      {"{" + id + R"(,"created":"2015-10-31 22:22:56Z"})", ancestry_error::invalid_created},
      {"{" + id + R"(,"created":"2015-10-31T22:22:56"})", ancestry_error::invalid_created},
      {"{" + id + R"(,"created":"2015-10-31T24:00:00Z"})", ancestry_error::invalid_created},
      {"{" + id + R"(,"created":"2015-10-31T22:22:56.Z"})", ancestry_error::invalid_created},
      {"{" + id + R"(,"created":"2015-10-31T22:22:56+0100"})", ancestry_error::invalid_created},
      {"{" + id + R"(,"created":"2015-10-31T22:22:56Zjunk"})", ancestry_error::invalid_created},
      {"{" + id + R"(,"created":1446330176})", ancestry_error::invalid_created},
      {"{" + id + R"(,"config":"sh"})", ancestry_error::invalid_field},
      {"{" + id + R"(,"container_config":[]})", ancestry_error::invalid_field},
      {"{" + id + R"(,"os":5})", ancestry_error::invalid_field},
      {"{" + id + R"(,"author":{}})", ancestry_error::invalid_field},
      {"{" + id + R"(,"checksum":true})", ancestry_error::invalid_field},
      {"{" + id + R"(,"throwaway":"yes"})", ancestry_error::invalid_field},
  };
  for (invalid_case const& c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_EQ(pier::parse_v1_image(c.json).error(), c.expected);
  }
}

TEST(v1_image, accepts_rfc3339_variants) {
  for (std::string created :
       {"2015-10-31T22:22:56Z", "2015-10-31T22:22:56.015925234Z", "2016-02-29T00:00:00+01:00",
        "2000-02-29T23:59:60-08:30", "0001-01-01T00:00:00Z", "2015-10-31t22:22:56z"}) {
    SCOPED_TRACE(created);
    pier::result<pier::v1_image> r =
        pier::parse_v1_image(R"({"id":")" + id_a + R"(","created":")" + created + R"("})");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->created, created);
  }
}

TEST(v1_image, ids) {
  static_assert(
      pier::is_v1_image_id("a9561eb1b190625c9adb5a9513e72c4dedafc1cb2d4c5236c9a6957ec7dfd5a9"));
  static_assert(!pier::is_v1_image_id("sha256:2b0fcb1d"));
  static_assert(!pier::is_v1_image_id(""));
  EXPECT_TRUE(pier::is_v1_image_id(id_c));
  EXPECT_FALSE(pier::is_v1_image_id(id_c.substr(0, 12)));
}

TEST(ancestry, error_category) {
  static_assert(std::is_error_code_enum_v<ancestry_error>);
  std::vector<ancestry_error> const all = {
      ancestry_error::invalid_json,   ancestry_error::invalid_id,
      ancestry_error::invalid_parent, ancestry_error::invalid_created,
      ancestry_error::invalid_size,   ancestry_error::invalid_field,
      ancestry_error::duplicate_id,   ancestry_error::unknown_image,
      ancestry_error::missing_parent, ancestry_error::cycle,
      ancestry_error::invalid_config, ancestry_error::layer_count_mismatch,
  };
  std::set<std::string> messages;
  for (ancestry_error e : all) {
    std::error_code const ec = e;
    EXPECT_STREQ(ec.category().name(), "pier.ancestry");
    EXPECT_EQ(&ec.category(), &pier::ancestry_category());
    bool const unknown = e == ancestry_error::unknown_image || e == ancestry_error::missing_parent;
    pier::oci_error const expected =
        unknown ? pier::oci_error::blob_unknown : pier::oci_error::manifest_invalid;
    EXPECT_EQ(pier::to_oci_error(ec), expected) << ec.message();
    EXPECT_EQ(ec.default_error_condition(),
              std::error_condition(static_cast<int>(expected), pier::oci_category()));
    EXPECT_EQ(pier::http_status(pier::to_oci_error(ec)), unknown ? 404 : 400);
    messages.insert(ec.message());
  }
  EXPECT_EQ(messages.size(), all.size());
}

TEST(ancestry, walks_to_the_root) {
  std::vector<pier::v1_image> const images = {make_image(id_a, id_b), make_image(id_c),
                                              make_image(id_b, id_c)};
  EXPECT_EQ(pier::ancestry(id_a, images).value(), (std::vector<std::string>{id_a, id_b, id_c}));
  EXPECT_EQ(pier::ancestry(id_b, images).value(), (std::vector<std::string>{id_b, id_c}));
  EXPECT_EQ(pier::ancestry(id_c, images).value(), (std::vector<std::string>{id_c}));

  // The same through a lookup function, as a store would provide it.
  std::map<std::string, pier::v1_image, std::less<>> store;
  for (pier::v1_image const& img : images)
    store.emplace(img.id, img);
  int calls = 0;
  auto lookup = [&](std::string_view k) -> pier::v1_image const* {
    ++calls;
    auto it = store.find(k);
    return it == store.end() ? nullptr : &it->second;
  };
  EXPECT_EQ(pier::ancestry(id_a, lookup).value(), (std::vector<std::string>{id_a, id_b, id_c}));
  EXPECT_EQ(calls, 3);
}

TEST(ancestry, errors) {
  std::vector<pier::v1_image> const missing = {make_image(id_a, id_b)};
  EXPECT_EQ(pier::ancestry(id_a, missing).error(), ancestry_error::missing_parent);
  EXPECT_EQ(pier::ancestry(id_b, missing).error(), ancestry_error::unknown_image);
  EXPECT_EQ(pier::ancestry(id_b, std::span<pier::v1_image const>()).error(),
            ancestry_error::unknown_image);

  std::vector<pier::v1_image> const self = {make_image(id_a, id_a)};
  EXPECT_EQ(pier::ancestry(id_a, self).error(), ancestry_error::cycle);

  std::vector<pier::v1_image> const loop = {make_image(id_a, id_b), make_image(id_b, id_c),
                                            make_image(id_c, id_b)};
  EXPECT_EQ(pier::ancestry(id_a, loop).error(), ancestry_error::cycle);
  EXPECT_EQ(pier::ancestry(id_c, loop).error(), ancestry_error::cycle);

  std::vector<pier::v1_image> const twice = {make_image(id_a), make_image(id_a)};
  EXPECT_EQ(pier::ancestry(id_a, twice).error(), ancestry_error::duplicate_id);

  // A lookup that always answers with the same image, whatever it is asked for, must not
  // make the walk run forever.
  pier::v1_image const liar = make_image(id_a, id_b);
  auto always = [&](std::string_view) -> pier::v1_image const* { return &liar; };
  EXPECT_EQ(pier::ancestry(id_a, always).error(), ancestry_error::cycle);
}

pier::digest d(std::string_view s) { return pier::parse_digest(s).value(); }

// diff IDs: sha256 of "layer-0-tar", "layer-1-tar", "layer-2-tar"; layer blobs: sha256 of
// "layer-0-gzip", "layer-1-gzip".
std::string const diff0 = "sha256:8ade804bed0611a5dadcf107504c0923d90c52ac66a4f59ea3b7a7d8b06b665b";
std::string const diff1 = "sha256:455effbcf0af42b22c913ea4cbc0454f93e83358a1a888c78f5dee22b71b173d";
std::string const diff2 = "sha256:667c5680cb8a8cecc76d59df3cfbfbc3ae8afd5ab9e3727da6df31ad6cdc23b7";
std::string const blob0 = "sha256:7c21a5da7c772f393eca47a70620fec868586f06d1f98478af25a786f8f5a453";
std::string const blob1 = "sha256:f526d6953112842000de23f4a937c3f3036758985771c95f8eebf02f1d53d7d3";

TEST(chain_id, known_answers) {
  EXPECT_EQ(pier::digest_of("layer-0-tar").str(), diff0);
  EXPECT_EQ(pier::digest_of("layer-1-gzip").str(), blob1);

  // chain(n) = "sha256:" + sha256(chain(n-1) + " " + diff(n)), all as "sha256:<hex>".
  std::string const chain1 =
      "sha256:0244b94776ec63c8f77e97d5a27ffe9f30b6d0eb86f9774dea28f67184941bc3";
  std::string const chain2 =
      "sha256:f79c4a3ee1b0a2350fabe4873d0432ac191d28c773582d2072a7babb7f2964e1";
  std::vector<pier::digest> const diffs = {d(diff0), d(diff1), d(diff2)};
  std::vector<pier::digest> const chain = pier::chain_ids(diffs);
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0].str(), diff0);
  EXPECT_EQ(chain[1].str(), chain1);
  EXPECT_EQ(chain[2].str(), chain2);
  EXPECT_EQ(pier::chain_id({}, d(diff0)).str(), diff0);
  EXPECT_EQ(pier::chain_id(d(diff0), d(diff1)).str(), chain1);
  EXPECT_EQ(pier::chain_id(d(chain1), d(diff2)).str(), chain2);
  EXPECT_TRUE(pier::chain_ids({}).empty());
  EXPECT_EQ(pier::chain_ids(std::span(diffs).first(1)), (std::vector<pier::digest>{d(diff0)}));
}

TEST(v1_history_from_v2, empty_tar_blob) {
  EXPECT_EQ(pier::gzipped_empty_tar().size(), 32u);
  EXPECT_EQ(pier::digest_of(pier::gzipped_empty_tar()).str(), pier::gzipped_empty_tar_digest);
}

std::string const config1 =
    R"({"architecture":"amd64","author":"pier <pier@example.com>","config":{"Cmd":["sh"],"Env":["PATH=/bin"]},)"
    R"("created":"2015-10-31T22:22:56.015925234Z","history":[{"created":"2015-10-31T22:22:54.690851953Z",)"
    R"("created_by":"/bin/sh -c #(nop) ADD file:0 in /"},{"created":"2015-10-31T22:22:55.613815829Z",)"
    R"("created_by":"/bin/sh -c #(nop) ENV A=b","empty_layer":true},{"created":"2015-10-31T22:22:56.015925234Z",)"
    R"("created_by":"/bin/sh -c echo hi > /x","comment":"two"}],"os":"linux","rootfs":{"type":"layers","diff_ids":[)"
    R"("sha256:8ade804bed0611a5dadcf107504c0923d90c52ac66a4f59ea3b7a7d8b06b665b",)"
    R"("sha256:455effbcf0af42b22c913ea4cbc0454f93e83358a1a888c78f5dee22b71b173d"]}})";

TEST(v1_history_from_v2, known_answers_three_entries) {
  // v1 id(i) = sha256(hex(blobsum(i)) + " " + v1 id(i-1)), the first with "" as parent,
  // the top one with " " + config bytes appended; blobsum of an empty layer is the
  // gzipped empty tar.
  std::string const v1_0 = "d014d6a9b30511eb1fd8f0124b4a95df8efff31ce355c82d5f96265b70576b66";
  std::string const v1_1 = "eb6f61bec86627c8ba0b87f44d358d2123dfb798ff8e5e59b6965e99a7cb7005";
  std::string const v1_2 = "53a0de537e471054c24bdd73f51ecf8aa57ee07a736bf8efd69f009f60f464fb";
  std::vector<pier::digest> const layers = {d(blob0), d(blob1)};
  auto r = pier::v1_history_from_v2(config1, layers);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 3u);
  auto const& h = *r;

  EXPECT_EQ(h[0].image.id, v1_0);
  EXPECT_EQ(h[0].image.parent, "");
  EXPECT_EQ(h[0].layer.str(), blob0);
  EXPECT_EQ(h[0].chain_id.str(), diff0);
  EXPECT_EQ(pier::serialize(h[0].image),
            R"({"id":")" + v1_0 +
                R"(","created":"2015-10-31T22:22:54.690851953Z",)"
                R"("container_config":{"Cmd":["/bin/sh -c #(nop) ADD file:0 in /"]}})");

  EXPECT_EQ(h[1].image.id, v1_1);
  EXPECT_EQ(h[1].image.parent, v1_0);
  EXPECT_EQ(h[1].layer.str(), pier::gzipped_empty_tar_digest);
  EXPECT_EQ(h[1].chain_id.str(), diff0); // an empty layer does not change the stack
  EXPECT_TRUE(h[1].image.throwaway);
  EXPECT_EQ(h[1].image.container_config.at("Cmd").at(0), "/bin/sh -c #(nop) ENV A=b");

  pier::v1_image const& top = h[2].image;
  EXPECT_EQ(top.id, v1_2);
  EXPECT_EQ(top.parent, v1_1);
  EXPECT_EQ(h[2].layer.str(), blob1);
  EXPECT_EQ(h[2].chain_id.str(),
            "sha256:0244b94776ec63c8f77e97d5a27ffe9f30b6d0eb86f9774dea28f67184941bc3");
  EXPECT_FALSE(top.throwaway);
  EXPECT_EQ(top.architecture, "amd64");
  EXPECT_EQ(top.os, "linux");
  EXPECT_EQ(top.author, "pier <pier@example.com>");
  EXPECT_EQ(top.created, "2015-10-31T22:22:56.015925234Z");
  EXPECT_EQ(top.config.at("Cmd").at(0), "sh");
  EXPECT_TRUE(top.extra.empty()) << "rootfs and history are not part of v1 JSON";

  // The result is a valid ancestry.
  std::vector<pier::v1_image> images;
  for (auto const& e : h)
    images.push_back(e.image);
  EXPECT_EQ(pier::ancestry(v1_2, images).value(), (std::vector<std::string>{v1_2, v1_1, v1_0}));
  for (auto const& img : images)
    EXPECT_EQ(pier::parse_v1_image(pier::serialize(img)).value(), img);
}

TEST(v1_history_from_v2, known_answers_empty_top_and_no_history) {
  std::string const config2 =
      R"({"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:8ade804bed0611a5dadcf107504c0923d90c52ac66a4f59ea3b7a7d8b06b665b"]},)"
      R"("history":[{"created_by":"ADD rootfs"},{"created_by":"CMD [\"sh\"]","empty_layer":true}]})";
  std::vector<pier::digest> const one = {d(blob0)};
  auto r2 = pier::v1_history_from_v2(config2, one);
  ASSERT_TRUE(r2) << r2.error().message();
  ASSERT_EQ(r2->size(), 2u);
  EXPECT_EQ((*r2)[0].image.id, "d014d6a9b30511eb1fd8f0124b4a95df8efff31ce355c82d5f96265b70576b66");
  EXPECT_EQ((*r2)[0].image.created, "0001-01-01T00:00:00Z");
  EXPECT_EQ((*r2)[1].image.id, "94154a55709574d3309be8b68d678d3eec2116f404dd96612ad58de648202b63");
  EXPECT_TRUE((*r2)[1].image.throwaway);
  EXPECT_EQ((*r2)[1].layer.str(), pier::gzipped_empty_tar_digest);
  EXPECT_EQ((*r2)[1].chain_id.str(), diff0);
  EXPECT_EQ((*r2)[1].image.architecture, "arm64");

  // No history: one entry per layer.
  std::string const config3 =
      R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:8ade804bed0611a5dadcf107504c0923d90c52ac66a4f59ea3b7a7d8b06b665b",)"
      R"("sha256:455effbcf0af42b22c913ea4cbc0454f93e83358a1a888c78f5dee22b71b173d"]}})";
  std::vector<pier::digest> const two = {d(blob0), d(blob1)};
  auto r3 = pier::v1_history_from_v2(config3, two);
  ASSERT_TRUE(r3) << r3.error().message();
  ASSERT_EQ(r3->size(), 2u);
  EXPECT_EQ((*r3)[0].image.id, "d014d6a9b30511eb1fd8f0124b4a95df8efff31ce355c82d5f96265b70576b66");
  EXPECT_EQ((*r3)[1].image.id, "1de8e80baa735a819b219e10d65aff23e57ebf446f8e8ef798e24363a16bbf4a");
  EXPECT_EQ((*r3)[1].image.parent, (*r3)[0].image.id);

  // Only an empty layer (FROM scratch + ENV): the empty tar stands in for the layer.
  std::string const config4 =
      R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},)"
      R"("history":[{"created_by":"ENV A=b","empty_layer":true}]})";
  auto r4 = pier::v1_history_from_v2(config4, {});
  ASSERT_TRUE(r4) << r4.error().message();
  ASSERT_EQ(r4->size(), 1u);
  EXPECT_EQ((*r4)[0].image.id, "8d3f42212e3e7a3f85d981bc699fda659e5397bbeecaafdfa23b6835b98838c9");
  EXPECT_TRUE((*r4)[0].chain_id.empty());
}

TEST(v1_history_from_v2, rejects_invalid_configs) {
  std::vector<pier::digest> const one = {d(blob0)};
  std::string const rootfs1 =
      R"("rootfs":{"type":"layers","diff_ids":["sha256:8ade804bed0611a5dadcf107504c0923d90c52ac66a4f59ea3b7a7d8b06b665b"]})";
  std::vector<invalid_case> const cases = {
      {"not json", ancestry_error::invalid_json},
      {"[]", ancestry_error::invalid_json},
      {"{}", ancestry_error::invalid_config},
      {R"({"rootfs":[]})", ancestry_error::invalid_config},
      {R"({"rootfs":{"diff_ids":[]}})", ancestry_error::invalid_config},
      {R"({"rootfs":{"type":"layer","diff_ids":[]}})", ancestry_error::invalid_config},
      {R"({"rootfs":{"type":"layers","diff_ids":{}}})", ancestry_error::invalid_config},
      {R"({"rootfs":{"type":"layers","diff_ids":["sha256:abc"]}})", ancestry_error::invalid_config},
      {R"({"rootfs":{"type":"layers","diff_ids":[7]}})", ancestry_error::invalid_config},
      {R"({"rootfs":{"type":"layers","diff_ids":["sha256:8ade804bed0611a5dadcf107504c0923d90c52ac66a4f59ea3b7a7d8b06b665b"],"base_layer":"x"}})",
       ancestry_error::invalid_config},
      {R"({"rootfs":{"type":"layers","diff_ids":[]}})", ancestry_error::layer_count_mismatch},
      {"{" + rootfs1 + R"(,"history":{}})", ancestry_error::invalid_config},
      {"{" + rootfs1 + R"(,"history":[1]})", ancestry_error::invalid_config},
      {"{" + rootfs1 + R"(,"history":[{"empty_layer":"no"}]})", ancestry_error::invalid_config},
      {"{" + rootfs1 + R"(,"history":[{"created_by":5}]})", ancestry_error::invalid_config},
      {"{" + rootfs1 + R"(,"history":[{},{}]})", ancestry_error::layer_count_mismatch},
      {"{" + rootfs1 + R"(,"history":[{"empty_layer":true}]})",
       ancestry_error::layer_count_mismatch},
      {"{" + rootfs1 + R"(,"history":[{"created":"now"},{"empty_layer":true}]})",
       ancestry_error::invalid_created},
      {"{" + rootfs1 + R"(,"created":"now"})", ancestry_error::invalid_created},
      {"{" + rootfs1 + R"(,"os":7})", ancestry_error::invalid_field},
  };
  for (invalid_case const& c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_EQ(pier::v1_history_from_v2(c.json, one).error(), c.expected);
  }
  // Scratch with no history has no v1 image at all.
  EXPECT_EQ(pier::v1_history_from_v2(R"({"rootfs":{"type":"layers","diff_ids":[]}})", {}).error(),
            ancestry_error::invalid_config);
}

// The @code examples of ancestry.hpp, compiled and run.
TEST(ancestry, documentation_examples) {
  {
    pier::result<pier::v1_image> img = pier::parse_v1_image(
        R"({"id":"2b0fcb1d4c2ac07a8e1e2ab6b5b63d1d3e1e09a5f7d6b7c8f9a0b1c2d3e4f5a6","Size":0})");
    EXPECT_TRUE(img && img->parent.empty() && img->size == 0);
  }
  {
    auto bad = pier::parse_v1_image(R"({"id":"ABC"})");
    EXPECT_TRUE(bad.error() == pier::ancestry_error::invalid_id);
  }
  {
    pier::v1_image const root = make_image(id_c);
    pier::v1_image const child = make_image(id_b, id_c);
    std::map<std::string, pier::v1_image, std::less<>> store = {{root.id, root}, {child.id, child}};
    std::string const id = child.id;
    auto ids = pier::ancestry(id, [&](std::string_view k) -> pier::v1_image const* {
      auto it = store.find(k);
      return it == store.end() ? nullptr : &it->second;
    });
    EXPECT_EQ(ids.value().size(), 2u);

    std::vector<pier::v1_image> images = {child, root};
    EXPECT_TRUE(pier::ancestry(child.id, images).value() ==
                (std::vector<std::string>{child.id, root.id}));
  }
  {
    std::vector<pier::digest> diff_ids = {pier::digest_of("layer 0"), pier::digest_of("layer 1")};
    std::vector<pier::digest> chain = pier::chain_ids(diff_ids);
    EXPECT_TRUE(chain[0] == diff_ids[0] && chain[1] == pier::chain_id(diff_ids[0], diff_ids[1]));
  }
  {
    std::vector<pier::digest> const layer_digests = {d(blob0), d(blob1)};
    auto v1 = pier::v1_history_from_v2(config1, layer_digests);
    ASSERT_TRUE(v1);
    EXPECT_EQ(v1->back().image.id,
              "53a0de537e471054c24bdd73f51ecf8aa57ee07a736bf8efd69f009f60f464fb");
  }
}

} // namespace ancestry_test
