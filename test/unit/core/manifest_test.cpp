#include <pier/core/hasher.hpp>
#include <pier/core/manifest.hpp>

#include <gtest/gtest.h>

#include <cassert>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace manifest_test {

using pier::manifest_error;
using pier::manifest_kind;
namespace mt = pier::media_types;

// Samples of every kind, byte for byte the seeds in test/fuzz/corpus/manifest/. Digests
// that point at other samples are their real digests.
constexpr std::string_view oci_manifest_json = R"json({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": "sha256:e466fee64fa2be7d4b25ef0b2e4dee5bdb8cccd8adfa9af3d6968992bb09d030",
    "size": 254
  },
  "layers": [
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0",
      "size": 32654
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
      "digest": "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b",
      "size": 16724,
      "annotations": {
        "org.opencontainers.image.title": "app.tar.zst"
      }
    }
  ],
  "annotations": {
    "org.opencontainers.image.created": "2024-03-01T10:20:30Z",
    "org.opencontainers.image.source": "https://github.com/example/app"
  }
}
)json";

constexpr std::string_view oci_index_json = R"json({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:2cbdf2770180d4adf0642313390e134952ccc71bffff71d81d2cd6fbb84b7a22",
      "size": 917,
      "platform": {
        "architecture": "amd64",
        "os": "linux"
      }
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:dca88bcc654b8761b28f6de2411a17c7adca367349f19f0acb831596c0cb65cf",
      "size": 917,
      "platform": {
        "architecture": "arm64",
        "os": "linux",
        "variant": "v8"
      }
    }
  ],
  "annotations": {
    "org.opencontainers.image.ref.name": "1.2.3"
  }
}
)json";

constexpr std::string_view docker_v2_json = R"json({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 3341,
      "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
         "size": 1432126389,
         "digest": "sha256:3889bb8d808bbae6fa5a33e07093e65c31371bcf9e4c38c21be6b9af52ad1548",
         "urls": [
            "https://mcr.microsoft.com/v2/windows/servercore/blobs/sha256:3889bb8d808bbae6fa5a33e07093e65c31371bcf9e4c38c21be6b9af52ad1548"
         ]
      },
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 73109,
         "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"
      },
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 1024,
         "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"
      }
   ]
}
)json";

constexpr std::string_view docker_list_json = R"json({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
   "manifests": [
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 7143,
         "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
         "platform": {
            "architecture": "ppc64le",
            "os": "linux"
         }
      },
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 1128,
         "digest": "sha256:b56d8d859d470286b7e3f18eaed0bfc9946a8fa532b235923333b9f6ad6a95ed",
         "platform": {
            "architecture": "amd64",
            "os": "windows",
            "os.version": "10.0.17763.5576",
            "os.features": [
               "win32k"
            ]
         }
      }
   ]
}
)json";

constexpr std::string_view docker_v1_json = R"json({
   "name": "library/hello-world",
   "tag": "latest",
   "architecture": "amd64",
   "fsLayers": [
      {
         "blobSum": "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
      },
      {
         "blobSum": "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
      },
      {
         "blobSum": "sha256:cc8567d70002e957612902a8e985ea129d831ebe04057d88fb644857caa45d11"
      }
   ],
   "history": [
      {
         "v1Compatibility": "{\"id\":\"e45a5af57b00862e5ef5782a9925979a02ba2b12dff832fd0991335f4a11e5c5\",\"parent\":\"31cbccb51277105ba3ae35ce33c22b69c9e3f1002e76e4c736a2e8ebff9d7b5d\",\"created\":\"2014-12-31T22:57:59.178729048Z\",\"container_config\":{\"Cmd\":[\"/bin/sh\",\"-c\",\"#(nop) CMD [/hello]\"]},\"docker_version\":\"1.4.1\",\"config\":{\"Cmd\":[\"/hello\"],\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"]},\"architecture\":\"amd64\",\"os\":\"linux\",\"Size\":0}"
      },
      {
         "v1Compatibility": "{\"id\":\"31cbccb51277105ba3ae35ce33c22b69c9e3f1002e76e4c736a2e8ebff9d7b5d\",\"created\":\"2014-12-31T22:57:58.933432196Z\",\"container_config\":{\"Cmd\":[\"/bin/sh\",\"-c\",\"#(nop) COPY file:4abd3bff60458ca3b079d7b131ce26b2719055a030dfa96ff827da2b7c7038a7 in /\"]},\"docker_version\":\"1.4.1\",\"architecture\":\"amd64\",\"os\":\"linux\",\"Size\":910}"
      },
      {
         "v1Compatibility": "{\"id\":\"5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef\",\"created\":\"2014-12-31T22:57:57Z\",\"Size\":0}"
      }
   ],
   "schemaVersion": 1
}
)json";

constexpr std::string_view docker_v1_signed_json = R"json({
   "name": "library/hello-world",
   "tag": "latest",
   "architecture": "amd64",
   "fsLayers": [
      {
         "blobSum": "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
      },
      {
         "blobSum": "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
      },
      {
         "blobSum": "sha256:cc8567d70002e957612902a8e985ea129d831ebe04057d88fb644857caa45d11"
      }
   ],
   "history": [
      {
         "v1Compatibility": "{\"id\":\"e45a5af57b00862e5ef5782a9925979a02ba2b12dff832fd0991335f4a11e5c5\",\"parent\":\"31cbccb51277105ba3ae35ce33c22b69c9e3f1002e76e4c736a2e8ebff9d7b5d\",\"created\":\"2014-12-31T22:57:59.178729048Z\",\"container_config\":{\"Cmd\":[\"/bin/sh\",\"-c\",\"#(nop) CMD [/hello]\"]},\"docker_version\":\"1.4.1\",\"config\":{\"Cmd\":[\"/hello\"],\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"]},\"architecture\":\"amd64\",\"os\":\"linux\",\"Size\":0}"
      },
      {
         "v1Compatibility": "{\"id\":\"31cbccb51277105ba3ae35ce33c22b69c9e3f1002e76e4c736a2e8ebff9d7b5d\",\"created\":\"2014-12-31T22:57:58.933432196Z\",\"container_config\":{\"Cmd\":[\"/bin/sh\",\"-c\",\"#(nop) COPY file:4abd3bff60458ca3b079d7b131ce26b2719055a030dfa96ff827da2b7c7038a7 in /\"]},\"docker_version\":\"1.4.1\",\"architecture\":\"amd64\",\"os\":\"linux\",\"Size\":910}"
      },
      {
         "v1Compatibility": "{\"id\":\"5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef\",\"created\":\"2014-12-31T22:57:57Z\",\"Size\":0}"
      }
   ],
   "schemaVersion": 1,
   "signatures": [
      {
         "header": {
            "jwk": {
               "crv": "P-256",
               "kid": "OD6I:6DRK:JXEJ:KBM4:255X:NSAA:MUSF:E4VM:ZI6W:CUN2:L4Z6:LSF4",
               "kty": "EC",
               "x": "3gAwX48IQ5oaYQAYSxor6rYYc_6yjuLCjtQ9LUakg4A",
               "y": "t72ge6kIA1XOjqjVoEOiPPAURltJFBMGDSQvEGVB010"
            },
            "alg": "ES256"
         },
         "signature": "oofs8Fi3wDCxLsJQxk1KPFoxcV_ICCm2QQgYRLoDAHVjGISRE47q7eperAEAatZkhbPOXiGd2IofNN0abN3PaA",
         "protected": "eyJmb3JtYXRMZW5ndGgiOjE1ODEsImZvcm1hdFRhaWwiOiJDbjAiLCJ0aW1lIjoiMjAxNS0wNC0wOFQxODo1Mjo1OVoifQ"
      }
   ]
})json";

constexpr std::string_view artifact_json = R"json({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "artifactType": "application/spdx+json",
  "config": {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "size": 2,
    "data": "e30="
  },
  "layers": [
    {
      "mediaType": "application/spdx+json",
      "digest": "sha256:e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317",
      "size": 1234,
      "annotations": {
        "org.opencontainers.image.title": "sbom.spdx.json"
      }
    }
  ],
  "subject": {
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "sha256:2cbdf2770180d4adf0642313390e134952ccc71bffff71d81d2cd6fbb84b7a22",
    "size": 917
  },
  "annotations": {
    "org.opencontainers.image.created": "2024-03-02T08:00:00Z"
  }
}
)json";

pier::digest dig(std::string_view s) { return pier::parse_digest(s).value(); }

constexpr std::string_view config_digest =
    "sha256:e466fee64fa2be7d4b25ef0b2e4dee5bdb8cccd8adfa9af3d6968992bb09d030";
constexpr std::string_view arm64_manifest_digest =
    "sha256:dca88bcc654b8761b28f6de2411a17c7adca367349f19f0acb831596c0cb65cf";
constexpr std::string_view empty_json_digest =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
constexpr std::string_view hex_a =
    "9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0";

std::vector<pier::digest> digests(std::initializer_list<std::string_view> l) {
  std::vector<pier::digest> out;
  for (std::string_view s : l)
    out.push_back(dig(s));
  return out;
}

pier::manifest parse_ok(std::string_view bytes, std::string_view content_type = {}) {
  std::string where;
  auto r = pier::parse_manifest(bytes, content_type, &where);
  EXPECT_TRUE(r) << r.error().message() << " at '" << where << "'";
  return r ? std::move(*r) : pier::manifest{};
}

// A layer descriptor with `extra` spliced in before the closing brace.
std::string layer(std::string_view extra = {}) {
  return std::string(R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",)") +
         R"("digest":"sha256:)" + std::string(hex_a) + R"(","size":1)" + std::string(extra) + "}";
}

std::string config(std::string_view extra = {}) {
  return std::string(R"({"mediaType":"application/vnd.oci.image.config.v1+json",)") +
         R"("digest":")" + std::string(config_digest) + R"(","size":254)" + std::string(extra) +
         "}";
}

// An OCI image manifest; `extra` is spliced in as further top-level members.
std::string oci(std::string_view config_json, std::string_view layers,
                std::string_view extra = {}) {
  return std::string(
             R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)") +
         R"("config":)" + std::string(config_json) + R"(,"layers":[)" + std::string(layers) + "]" +
         std::string(extra) + "}";
}

std::string oci_index(std::string_view entries, std::string_view extra = {}) {
  return std::string(
             R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)") +
         R"("manifests":[)" + std::string(entries) + "]" + std::string(extra) + "}";
}

std::string base64url(std::string_view in) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(acc >> bits) & 63U];
    }
  }
  if (bits > 0)
    out += alphabet[(acc << (6 - bits)) & 63U];
  return out;
}

// A signed schema 1 manifest around `body` (a manifest without its closing brace), with
// one signature whose protected header is `protected_json`.
std::string signed_schema1(std::string_view body, std::string_view protected_json) {
  return std::string(body) +
         ",\n\"signatures\":[{\"header\":{\"alg\":\"ES256\"},\"signature\":\"c2lnbmF0dXJl\","
         "\"protected\":\"" +
         base64url(protected_json) + "\"}]}";
}

constexpr std::string_view schema1_body =
    R"({"name":"a/b","tag":"t","architecture":"amd64","schemaVersion":1,)"
    R"("fsLayers":[{"blobSum":"sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0"}],)"
    R"("history":[{"v1Compatibility":"{\"id\":\"x\"}"}])";

std::string protected_header(std::size_t length, std::string_view tail = "\n}") {
  return R"({"formatLength":)" + std::to_string(length) + R"(,"formatTail":")" + base64url(tail) +
         R"(","time":"2015-04-08T18:52:59Z"})";
}

TEST(Manifest, DocExamples) {
  {
    std::string_view bytes = R"({"schemaVersion":2,
      "mediaType":"application/vnd.oci.image.manifest.v1+json",
      "config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,
        "digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
      "layers":[]})";
    pier::result<pier::manifest> m =
        pier::parse_manifest(bytes, "application/vnd.oci.image.manifest.v1+json");
    assert(m && m->kind() == pier::manifest_kind::oci_manifest);
    assert(m->referenced_blobs().size() == 1);
  }
  {
    std::string_view const bytes = artifact_json;
    std::string_view const content_type = "application/vnd.oci.image.manifest.v1+json";
    pier::manifest const m = pier::parse_manifest(bytes, content_type).value();
    std::vector<pier::digest> const needed = m.referenced_blobs(pier::foreign_layers::exclude);
    std::optional<std::string> oci_subject;
    if (m.subject())
      oci_subject = m.subject()->digest.str();
    assert(needed.size() == 2 && oci_subject);
  }
  {
    auto m = pier::parse_manifest(R"({"schemaVersion":3})");
    assert(m.error() == pier::manifest_error::unsupported_schema_version);
    assert(pier::to_oci_error(m.error()) == pier::oci_error::manifest_invalid);
  }
  {
    std::string where;
    auto m = pier::parse_manifest(R"({"schemaVersion":2,"layers":[]})", {}, &where);
    assert(m.error() == pier::manifest_error::missing_field && where == "config");
  }
  SUCCEED();
}

TEST(Manifest, OciImageManifest) {
  for (std::string_view ct :
       {"", "application/vnd.oci.image.manifest.v1+json",
        "Application/VND.oci.image.manifest.v1+json; charset=utf-8", "application/json"}) {
    pier::manifest const m = parse_ok(oci_manifest_json, ct);
    EXPECT_EQ(m.kind(), manifest_kind::oci_manifest) << ct;
    EXPECT_EQ(m.media_type(), mt::oci_manifest);
    ASSERT_TRUE(m.config());
    pier::descriptor const expected_config{
        std::string(mt::oci_config), dig(config_digest), 254, {}, {}, std::nullopt, std::nullopt};
    EXPECT_EQ(*m.config(), expected_config);
    ASSERT_EQ(m.layers().size(), 2U);
    EXPECT_EQ(m.layers()[0].media_type, mt::oci_layer_tar_gzip);
    EXPECT_EQ(m.layers()[0].size, 32654);
    EXPECT_TRUE(m.layers()[0].annotations.empty());
    EXPECT_EQ(m.layers()[1].media_type, mt::oci_layer_tar_zstd);
    EXPECT_EQ(m.layers()[1].annotations,
              (pier::annotation_map{{"org.opencontainers.image.title", "app.tar.zst"}}));
    EXPECT_EQ(m.annotations(),
              (pier::annotation_map{
                  {"org.opencontainers.image.created", "2024-03-01T10:20:30Z"},
                  {"org.opencontainers.image.source", "https://github.com/example/app"}}));
    EXPECT_FALSE(m.subject());
    EXPECT_FALSE(m.artifact_type());
    EXPECT_TRUE(m.manifests().empty());
    EXPECT_TRUE(m.fs_layers().empty());
    EXPECT_TRUE(m.signed_payload().empty());
    EXPECT_EQ(m.referenced_blobs(),
              digests({config_digest, "sha256:" + std::string(hex_a),
                       "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b"}));
    EXPECT_TRUE(m.referenced_manifests().empty());
  }
}

TEST(Manifest, OciImageIndex) {
  pier::manifest const m = parse_ok(oci_index_json, mt::oci_index);
  EXPECT_EQ(m.kind(), manifest_kind::oci_index);
  EXPECT_EQ(m.media_type(), mt::oci_index);
  EXPECT_FALSE(m.config());
  EXPECT_TRUE(m.layers().empty());
  ASSERT_EQ(m.manifests().size(), 2U);
  EXPECT_EQ(m.manifests()[0].digest, pier::digest_of(oci_manifest_json));
  EXPECT_EQ(m.manifests()[0].size, static_cast<std::int64_t>(oci_manifest_json.size()));
  ASSERT_TRUE(m.manifests()[0].platform);
  EXPECT_EQ(*m.manifests()[0].platform, (pier::platform{"amd64", "linux", "", {}, "", {}}));
  ASSERT_TRUE(m.manifests()[1].platform);
  EXPECT_EQ(*m.manifests()[1].platform, (pier::platform{"arm64", "linux", "", {}, "v8", {}}));
  EXPECT_EQ(m.annotations(),
            (pier::annotation_map{{"org.opencontainers.image.ref.name", "1.2.3"}}));
  EXPECT_TRUE(m.referenced_blobs().empty());
  EXPECT_EQ(m.referenced_manifests(), (std::vector<pier::digest>{pier::digest_of(oci_manifest_json),
                                                                 dig(arm64_manifest_digest)}));
  EXPECT_FALSE(m.subject());
}

TEST(Manifest, DockerSchema2) {
  pier::manifest const m = parse_ok(docker_v2_json, mt::docker_manifest_v2);
  EXPECT_EQ(m.kind(), manifest_kind::docker_v2);
  EXPECT_EQ(m.media_type(), mt::docker_manifest_v2);
  ASSERT_TRUE(m.config());
  EXPECT_EQ(m.config()->media_type, mt::docker_container_config);
  ASSERT_EQ(m.layers().size(), 3U);
  EXPECT_EQ(m.layers()[0].media_type, mt::docker_foreign_layer);
  EXPECT_EQ(m.layers()[0].size, 1432126389);
  EXPECT_EQ(m.layers()[0].urls,
            std::vector<std::string>{
                "https://mcr.microsoft.com/v2/windows/servercore/blobs/"
                "sha256:3889bb8d808bbae6fa5a33e07093e65c31371bcf9e4c38c21be6b9af52ad1548"});
  constexpr std::string_view cfg =
      "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7";
  constexpr std::string_view foreign =
      "sha256:3889bb8d808bbae6fa5a33e07093e65c31371bcf9e4c38c21be6b9af52ad1548";
  constexpr std::string_view shared =
      "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f";
  EXPECT_EQ(m.referenced_blobs(), digests({cfg, foreign, shared}));
  EXPECT_EQ(m.referenced_blobs(pier::foreign_layers::exclude), digests({cfg, shared}));
  EXPECT_TRUE(m.referenced_manifests().empty());
  // Without a content type the mediaType field decides.
  EXPECT_EQ(parse_ok(docker_v2_json).kind(), manifest_kind::docker_v2);
}

TEST(Manifest, DockerManifestList) {
  pier::manifest const m = parse_ok(docker_list_json, mt::docker_manifest_list);
  EXPECT_EQ(m.kind(), manifest_kind::docker_list);
  EXPECT_EQ(m.media_type(), mt::docker_manifest_list);
  ASSERT_EQ(m.manifests().size(), 2U);
  ASSERT_TRUE(m.manifests()[1].platform);
  EXPECT_EQ(*m.manifests()[1].platform,
            (pier::platform{"amd64", "windows", "10.0.17763.5576", {"win32k"}, "", {}}));
  EXPECT_EQ(m.manifests()[1].digest, pier::digest_of(docker_v2_json));
  EXPECT_EQ(m.referenced_manifests(),
            (std::vector<pier::digest>{
                dig("sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"),
                pier::digest_of(docker_v2_json)}));
  EXPECT_TRUE(m.referenced_blobs().empty());
  EXPECT_TRUE(m.annotations().empty());
}

TEST(Manifest, DockerSchema1Unsigned) {
  for (std::string_view ct :
       {"", "application/json", "application/vnd.docker.distribution.manifest.v1+json"}) {
    pier::manifest const m = parse_ok(docker_v1_json, ct);
    EXPECT_EQ(m.kind(), manifest_kind::docker_v1);
    EXPECT_EQ(m.media_type(), mt::docker_manifest_v1);
    EXPECT_EQ(m.name(), "library/hello-world");
    EXPECT_EQ(m.tag(), "latest");
    EXPECT_EQ(m.architecture(), "amd64");
    constexpr std::string_view empty_layer =
        "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
    constexpr std::string_view hello =
        "sha256:cc8567d70002e957612902a8e985ea129d831ebe04057d88fb644857caa45d11";
    EXPECT_EQ(m.fs_layers(), digests({empty_layer, empty_layer, hello}));
    ASSERT_EQ(m.history().size(), 3U);
    EXPECT_EQ(m.history()[0].substr(0, 8), R"({"id":"e)");
    EXPECT_EQ(m.history()[2],
              R"({"id":"5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",)"
              R"("created":"2014-12-31T22:57:57Z","Size":0})");
    EXPECT_EQ(m.referenced_blobs(), digests({empty_layer, hello}));
    EXPECT_TRUE(m.referenced_manifests().empty());
    EXPECT_TRUE(m.signed_payload().empty());
    EXPECT_FALSE(m.config());
  }
}

TEST(Manifest, DockerSchema1Signed) {
  for (std::string_view ct : {std::string_view(), mt::docker_manifest_v1_signed}) {
    pier::manifest const m = parse_ok(docker_v1_signed_json, ct);
    EXPECT_EQ(m.kind(), manifest_kind::docker_v1_signed);
    EXPECT_EQ(m.media_type(), mt::docker_manifest_v1_signed);
    // The signed payload is the unsigned sample without its final newline.
    EXPECT_EQ(m.signed_payload(), docker_v1_json.substr(0, docker_v1_json.size() - 1));
    EXPECT_EQ(m.fs_layers().size(), 3U);
    EXPECT_EQ(m.history().size(), 3U);
    EXPECT_EQ(m.name(), "library/hello-world");
    EXPECT_EQ(m.referenced_blobs().size(), 2U);
  }
  // A client that says v1+json for a signed manifest is believed about the type it sent.
  pier::manifest const m = parse_ok(docker_v1_signed_json, mt::docker_manifest_v1);
  EXPECT_EQ(m.kind(), manifest_kind::docker_v1_signed);
  EXPECT_EQ(m.media_type(), mt::docker_manifest_v1);
}

TEST(Manifest, SignedSchema1ReadsFieldsFromThePayload) {
  std::string const body(schema1_body);
  std::string const doc = signed_schema1(body, protected_header(body.size()));
  pier::manifest const m = parse_ok(doc);
  EXPECT_EQ(m.signed_payload(), body + "\n}");
  EXPECT_EQ(m.fs_layers(), digests({"sha256:" + std::string(hex_a)}));

  // Two signatures must agree on what they sign.
  std::string two = doc;
  std::string const sig = two.substr(two.find("{\"header\""));
  two.insert(two.size() - 2, "," + sig.substr(0, sig.size() - 2));
  EXPECT_TRUE(pier::parse_manifest(two));
  std::string const other =
      "\"protected\":\"" + base64url(protected_header(body.size() - 1)) + "\"";
  std::string disagree = two;
  std::size_t const second = disagree.rfind("\"protected\"");
  disagree.replace(second, disagree.find('"', disagree.find(':', second) + 2) + 1 - second, other);
  std::string where;
  EXPECT_EQ(pier::parse_manifest(disagree, {}, &where).error(), manifest_error::invalid_signature);
  EXPECT_EQ(where, "signatures[1].protected");
}

TEST(Manifest, Artifact) {
  pier::manifest const m = parse_ok(artifact_json, mt::oci_manifest);
  EXPECT_EQ(m.kind(), manifest_kind::oci_manifest);
  EXPECT_EQ(m.artifact_type(), std::optional<std::string>("application/spdx+json"));
  ASSERT_TRUE(m.config());
  EXPECT_EQ(m.config()->media_type, mt::oci_empty);
  EXPECT_EQ(m.config()->digest, pier::digest_of("{}"));
  ASSERT_TRUE(m.subject());
  pier::descriptor const expected_subject{std::string(mt::oci_manifest),
                                          pier::digest_of(oci_manifest_json),
                                          static_cast<std::int64_t>(oci_manifest_json.size()),
                                          {},
                                          {},
                                          std::nullopt,
                                          std::nullopt};
  EXPECT_EQ(*m.subject(), expected_subject);
  EXPECT_EQ(m.referenced_blobs(),
            digests({empty_json_digest,
                     "sha256:e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317"}));
  // The subject is a weak reference: not something the registry must already have.
  EXPECT_TRUE(m.referenced_manifests().empty());
  EXPECT_EQ(m.layers()[0].media_type, "application/spdx+json");
}

TEST(Manifest, KindFromStructureWhenNothingNamesIt) {
  // What the conformance suite pushes as "empty layer manifest": no mediaType, unknown
  // fields, a data field.
  std::string const bare = R"({"schemaVersion":2,"config":)" +
                           config(R"(,"data":"e30=","newUnspecifiedField":"aGVsbG8=")") +
                           R"(,"layers":[]})";
  pier::manifest m = parse_ok(bare);
  EXPECT_EQ(m.kind(), manifest_kind::oci_manifest);
  EXPECT_EQ(m.media_type(), mt::oci_manifest);
  EXPECT_EQ(m.referenced_blobs(), digests({config_digest}));
  // The pushed Content-Type names the kind, and is kept without its parameters.
  m = parse_ok(bare, "application/VND.oci.image.manifest.v1+json; charset=utf-8");
  EXPECT_EQ(m.media_type(), "application/VND.oci.image.manifest.v1+json");
  // A Content-Type that names no manifest kind does not decide.
  EXPECT_EQ(parse_ok(bare, "application/octet-stream").media_type(), mt::oci_manifest);

  std::string const bare_index = R"({"schemaVersion":2,"manifests":[]})";
  m = parse_ok(bare_index);
  EXPECT_EQ(m.kind(), manifest_kind::oci_index);
  EXPECT_EQ(m.media_type(), mt::oci_index);
  EXPECT_TRUE(m.referenced_manifests().empty());
}

TEST(Manifest, OptionalFieldsMayBeNull) {
  std::string const doc =
      oci(config(R"(,"annotations":null,"urls":null,"artifactType":null)"),
          layer(R"(,"data":null)"), R"(,"subject":null,"annotations":null,"artifactType":null)");
  pier::manifest const m = parse_ok(doc);
  EXPECT_FALSE(m.subject());
  EXPECT_TRUE(m.annotations().empty());
}

TEST(Manifest, SizeLimits) {
  pier::manifest const m = parse_ok(oci(
      config(), layer().replace(layer().find("\"size\":1"), 8, "\"size\":9223372036854775807")));
  EXPECT_EQ(m.layers()[0].size, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(parse_ok(oci(config(), layer().replace(layer().find("\"size\":1"), 8, "\"size\":0")))
                .layers()[0]
                .size,
            0);
}

TEST(Manifest, DescriptorDetails) {
  std::string const doc =
      oci(config(),
          layer(R"(,"urls":["https://example.com/a.tar.gz","http://[::1]:8080/b"],)"
                R"("annotations":{"k":"v","":""},"artifactType":"application/vnd.example+type")"),
          R"(,"subject":)" + layer(R"(,"platform":{"os":1})"));
  pier::manifest const m = parse_ok(doc);
  pier::descriptor const& d = m.layers()[0];
  EXPECT_EQ(d.urls,
            (std::vector<std::string>{"https://example.com/a.tar.gz", "http://[::1]:8080/b"}));
  EXPECT_EQ(d.annotations, (pier::annotation_map{{"", ""}, {"k", "v"}}));
  EXPECT_EQ(d.artifact_type, std::optional<std::string>("application/vnd.example+type"));
  // "platform" is only a field of index entries; elsewhere it is unknown and ignored.
  EXPECT_FALSE(m.subject()->platform);
  // Media types with parameters exist in the wild and are stored as they are.
  pier::manifest const p = parse_ok(oci(config(), R"({"mediaType":"text/plain; charset=utf-8",)"
                                                  R"("digest":"sha256:)" +
                                                      std::string(hex_a) + R"(","size":3})"));
  EXPECT_EQ(p.layers()[0].media_type, "text/plain; charset=utf-8");
}

TEST(Manifest, ManyKeysAndDuplicates) {
  std::string annotations = R"(,"annotations":{)";
  for (int i = 0; i < 100; ++i)
    annotations += (i ? "," : "") + ("\"k" + std::to_string(i) + "\":\"v\"");
  EXPECT_EQ(parse_ok(oci(config(), layer(), annotations + "}")).annotations().size(), 100U);
  std::string where;
  EXPECT_EQ(pier::parse_manifest(oci(config(), layer(), annotations + R"(,"k57":"w"})"), {}, &where)
                .error(),
            manifest_error::duplicate_key);
  EXPECT_EQ(where, "");
}

TEST(Manifest, DeepNestingIsRejectedWithoutRecursion) {
  for (std::string_view open : {"[", "{\"a\":"}) {
    std::string doc;
    for (int i = 0; i < 200000; ++i)
      doc += open;
    EXPECT_EQ(pier::parse_manifest(doc).error(), manifest_error::too_deep);
  }
  // Deep, but within the limit and in an unknown field: accepted.
  std::string nested = R"(,"x":)";
  for (std::size_t i = 0; i < pier::manifest_max_depth - 1; ++i)
    nested += "[";
  for (std::size_t i = 0; i < pier::manifest_max_depth - 1; ++i)
    nested += "]";
  EXPECT_TRUE(pier::parse_manifest(oci(config(), layer(), nested)));
  nested.insert(5, "[");
  nested += "]";
  EXPECT_EQ(pier::parse_manifest(oci(config(), layer(), nested)).error(), manifest_error::too_deep);
}

struct bad_case {
  std::string name;
  std::string json;
  std::string content_type;
  manifest_error error;
  std::string where;
};

std::vector<bad_case> bad_cases() {
  std::string const good = oci(config(), layer());
  std::string const sig_body(schema1_body);
  std::string const s1 = "{\"schemaVersion\":1,\"fsLayers\":[";
  return {
      {"empty input", "", "", manifest_error::invalid_json, ""},
      {"blank input", " \n", "", manifest_error::invalid_json, ""},
      {"truncated", std::string(oci_manifest_json.substr(0, 200)), "", manifest_error::invalid_json,
       ""},
      {"trailing bytes", good + "x", "", manifest_error::invalid_json, ""},
      {"two documents", good + good, "", manifest_error::invalid_json, ""},
      {"comment", "/**/" + good, "", manifest_error::invalid_json, ""},
      {"trailing comma", good.substr(0, good.size() - 1) + ",}", "", manifest_error::invalid_json,
       ""},
      {"invalid utf-8", oci(config(), layer(",\"annotations\":{\"k\":\"\xff\"}")), "",
       manifest_error::invalid_json, ""},
      {"top-level array", "[" + good + "]", "", manifest_error::not_an_object, ""},
      {"top-level string", "\"manifest\"", "", manifest_error::not_an_object, ""},
      {"top-level null", "null", "", manifest_error::not_an_object, ""},
      {"duplicate top-level key", R"({"schemaVersion":2,"schemaVersion":2})", "",
       manifest_error::duplicate_key, ""},
      {"duplicate key in a layer", oci(config(), layer(R"(,"size":2)")), "",
       manifest_error::duplicate_key, ""},
      {"duplicate layers key", oci(config(), layer(), R"(,"layers":[])"), "",
       manifest_error::duplicate_key, ""},
      {"no schemaVersion", R"({"mediaType":"application/vnd.oci.image.manifest.v1+json"})", "",
       manifest_error::missing_field, "schemaVersion"},
      {"schemaVersion 3", R"({"schemaVersion":3,"config":{},"layers":[]})", "",
       manifest_error::unsupported_schema_version, "schemaVersion"},
      {"schemaVersion 0", R"({"schemaVersion":0})", "", manifest_error::unsupported_schema_version,
       "schemaVersion"},
      {"schemaVersion huge", R"({"schemaVersion":18446744073709551615})", "",
       manifest_error::unsupported_schema_version, "schemaVersion"},
      {"schemaVersion string", R"({"schemaVersion":"2"})", "", manifest_error::wrong_type,
       "schemaVersion"},
      {"schemaVersion float", R"({"schemaVersion":2.0})", "", manifest_error::wrong_type,
       "schemaVersion"},
      {"mediaType not a string", R"({"schemaVersion":2,"mediaType":7})", "",
       manifest_error::wrong_type, "mediaType"},
      {"mediaType with parameters",
       R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json; charset=utf-8"})",
       "", manifest_error::invalid_media_type, "mediaType"},
      {"mediaType unknown",
       R"({"schemaVersion":2,"mediaType":"application/vnd.oci.artifact.manifest.v1+json","blobs":[]})",
       "", manifest_error::unsupported_media_type, "mediaType"},
      {"Content-Type disagrees", good, std::string(mt::docker_manifest_v2),
       manifest_error::media_type_mismatch, "mediaType"},
      {"Content-Type is another OCI kind", good, std::string(mt::oci_index),
       manifest_error::media_type_mismatch, "mediaType"},
      {"Content-Type unrelated", good, "application/octet-stream",
       manifest_error::media_type_mismatch, "mediaType"},
      {"schema 1 with an OCI mediaType",
       R"({"schemaVersion":1,"mediaType":"application/vnd.oci.image.manifest.v1+json"})", "",
       manifest_error::media_type_mismatch, "schemaVersion"},
      {"schema 1 pushed as schema 2", std::string(docker_v1_json),
       std::string(mt::docker_manifest_v2), manifest_error::media_type_mismatch, "schemaVersion"},
      {"schema 2 pushed as schema 1",
       R"({"schemaVersion":2,"config":)" + config() + R"(,"layers":[]})",
       std::string(mt::docker_manifest_v1_signed), manifest_error::media_type_mismatch,
       "schemaVersion"},
      {"Docker schema 2 without mediaType",
       R"({"schemaVersion":2,"config":)" + config() + R"(,"layers":[]})",
       std::string(mt::docker_manifest_v2), manifest_error::missing_field, "mediaType"},
      {"nothing names the kind", R"({"schemaVersion":2})", "", manifest_error::missing_field,
       "mediaType"},
      {"missing config",
       R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]})",
       "", manifest_error::missing_field, "config"},
      {"config not an object", oci("[]", layer()), "", manifest_error::wrong_type, "config"},
      {"config null", oci("null", layer()), "", manifest_error::wrong_type, "config"},
      {"missing layers",
       R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
           config() + "}",
       "", manifest_error::missing_field, "layers"},
      {"layers not an array",
       R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
           config() + R"(,"layers":{}})",
       "", manifest_error::wrong_type, "layers"},
      {"layer not an object", oci(config(), "\"sha256:" + std::string(hex_a) + "\""), "",
       manifest_error::wrong_type, "layers[0]"},
      {"bad digest in a layer",
       oci(config(), layer() + "," + layer().replace(layer().find("sha256:"), 7, "sha256:x")), "",
       manifest_error::invalid_digest, "layers[1].digest"},
      {"upper-case digest", oci(config(), layer().replace(layer().find("sha256:") + 7, 1, "A")), "",
       manifest_error::invalid_digest, "layers[0].digest"},
      {"unknown digest algorithm",
       oci(config(), layer().replace(layer().find("sha256:"), 6, "md5")), "",
       manifest_error::invalid_digest, "layers[0].digest"},
      {"digest missing", oci(config(), R"({"mediaType":"a/b","size":1})"), "",
       manifest_error::missing_field, "layers[0].digest"},
      {"digest not a string", oci(config(), R"({"mediaType":"a/b","size":1,"digest":1})"), "",
       manifest_error::wrong_type, "layers[0].digest"},
      {"negative size",
       oci(config(), layer().replace(layer().find("\"size\":1"), 8, "\"size\":-1")), "",
       manifest_error::invalid_size, "layers[0].size"},
      {"float size", oci(config(), layer().replace(layer().find("\"size\":1"), 8, "\"size\":1.5")),
       "", manifest_error::invalid_size, "layers[0].size"},
      {"integral float size",
       oci(config(), layer().replace(layer().find("\"size\":1"), 8, "\"size\":1.0")), "",
       manifest_error::invalid_size, "layers[0].size"},
      {"exponent size",
       oci(config(), layer().replace(layer().find("\"size\":1"), 8, "\"size\":1e3")), "",
       manifest_error::invalid_size, "layers[0].size"},
      {"size 2^63",
       oci(config(),
           layer().replace(layer().find("\"size\":1"), 8, "\"size\":9223372036854775808")),
       "", manifest_error::invalid_size, "layers[0].size"},
      {"string size",
       oci(config(), layer().replace(layer().find("\"size\":1"), 8, "\"size\":\"1\"")), "",
       manifest_error::wrong_type, "layers[0].size"},
      {"size missing", oci(config(), layer().replace(layer().find(",\"size\":1"), 9, "")), "",
       manifest_error::missing_field, "layers[0].size"},
      {"config size negative", oci(config().replace(config().find("254"), 3, "-254"), layer()), "",
       manifest_error::invalid_size, "config.size"},
      {"layer mediaType missing",
       oci(config(), R"({"digest":"sha256:)" + std::string(hex_a) + R"(","size":1})"), "",
       manifest_error::missing_field, "layers[0].mediaType"},
      {"layer mediaType bad",
       oci(config(), layer().replace(2, 9, "mediaType\":\"not a type\",\"x")), "",
       manifest_error::invalid_media_type, "layers[0].mediaType"},
      {"layer mediaType padded", oci(config(), layer().replace(14, 0, " ")), "",
       manifest_error::invalid_media_type, "layers[0].mediaType"},
      {"annotation value not a string",
       oci(config(), layer(), R"(,"annotations":{"com.example.n":1})"), "",
       manifest_error::invalid_annotation, "annotations.com.example.n"},
      {"layer annotation value null", oci(config(), layer(R"(,"annotations":{"a":null})")), "",
       manifest_error::invalid_annotation, "layers[0].annotations.a"},
      {"annotations not an object", oci(config(), layer(R"(,"annotations":["a"])")), "",
       manifest_error::wrong_type, "layers[0].annotations"},
      {"url not a string", oci(config(), layer(R"(,"urls":[1])")), "", manifest_error::wrong_type,
       "layers[0].urls[0]"},
      {"url not a URI", oci(config(), layer(R"(,"urls":["https://ok.example/","not a uri"])")), "",
       manifest_error::invalid_descriptor, "layers[0].urls[1]"},
      {"urls not an array", oci(config(), layer(R"(,"urls":"https://example.com/")")), "",
       manifest_error::wrong_type, "layers[0].urls"},
      {"data not base64", oci(config(R"(,"data":"e30")"), layer()), "",
       manifest_error::invalid_descriptor, "config.data"},
      {"data bad alphabet", oci(config(R"(,"data":"e3-_")"), layer()), "",
       manifest_error::invalid_descriptor, "config.data"},
      {"descriptor artifactType bad", oci(config(), layer(R"(,"artifactType":"x")")), "",
       manifest_error::invalid_media_type, "layers[0].artifactType"},
      {"subject bad digest",
       oci(config(), layer(),
           R"(,"subject":)" + layer().replace(layer().find("sha256:"), 7, "sha256:0")),
       "", manifest_error::invalid_digest, "subject.digest"},
      {"subject not an object", oci(config(), layer(), R"(,"subject":"sha256:0")"), "",
       manifest_error::wrong_type, "subject"},
      {"artifactType bad", oci(config(), layer(), R"(,"artifactType":"artifact")"), "",
       manifest_error::invalid_media_type, "artifactType"},
      {"artifactType not a string", oci(config(), layer(), R"(,"artifactType":{})"), "",
       manifest_error::wrong_type, "artifactType"},
      {"empty config without artifactType",
       oci(R"({"mediaType":"application/vnd.oci.empty.v1+json","digest":")" +
               std::string(empty_json_digest) + R"(","size":2})",
           layer()),
       "", manifest_error::artifact_type_required, "artifactType"},
      {"image manifest with manifests", oci(config(), layer(), R"(,"manifests":[])"), "",
       manifest_error::ambiguous_manifest, "manifests"},
      {"unnamed with both shapes", R"({"schemaVersion":2,"manifests":[],"layers":[]})", "",
       manifest_error::ambiguous_manifest, "manifests"},
      {"index with layers", oci_index("", R"(,"layers":[])"), "",
       manifest_error::ambiguous_manifest, "layers"},
      {"index with config", oci_index("", R"(,"config":{})"), "",
       manifest_error::ambiguous_manifest, "config"},
      {"index pushed with config only",
       R"({"schemaVersion":2,"config":)" + config() + R"(,"layers":[]})",
       std::string(mt::oci_index), manifest_error::ambiguous_manifest, "config"},
      {"index without manifests",
       R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"})", "",
       manifest_error::missing_field, "manifests"},
      {"index entry bad",
       oci_index(layer() + "," + layer(R"(,"size":-5)").replace(layer().find("\"size\":1"), 9, "")),
       "", manifest_error::invalid_size, "manifests[1].size"},
      {"platform without os", oci_index(layer(R"(,"platform":{"architecture":"amd64"})")), "",
       manifest_error::missing_field, "manifests[0].platform.os"},
      {"platform not an object", oci_index(layer(R"(,"platform":"linux/amd64")")), "",
       manifest_error::wrong_type, "manifests[0].platform"},
      {"os.features not an array",
       oci_index(
           layer(R"(,"platform":{"architecture":"amd64","os":"windows","os.features":"win32k"})")),
       "", manifest_error::wrong_type, "manifests[0].platform.os.features"},
      {"features entry not a string",
       oci_index(layer(R"(,"platform":{"architecture":"amd64","os":"linux","features":[1]})")), "",
       manifest_error::wrong_type, "manifests[0].platform.features[0]"},
      {"index annotations bad", oci_index("", R"(,"annotations":{"a":true})"), "",
       manifest_error::invalid_annotation, "annotations.a"},
      {"docker list entry bad digest",
       R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{"mediaType":"a/b","size":1,"digest":"sha256:"}]})",
       "", manifest_error::invalid_digest, "manifests[0].digest"},
      {"docker v2 without layers",
       R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":)" +
           config() + "}",
       "", manifest_error::missing_field, "layers"},
      {"schema 1 without fsLayers", R"({"schemaVersion":1,"history":[]})", "",
       manifest_error::missing_field, "fsLayers"},
      {"schema 1 without history", s1 + "]}", "", manifest_error::missing_field, "history"},
      {"schema 1 bad blobSum",
       s1 + R"({"blobSum":"sha256:abc"}],"history":[{"v1Compatibility":"{}"}]})", "",
       manifest_error::invalid_digest, "fsLayers[0].blobSum"},
      {"schema 1 fsLayer not an object", s1 + R"("sha256:abc"],"history":[]})", "",
       manifest_error::wrong_type, "fsLayers[0]"},
      {"schema 1 counts differ",
       s1 + R"({"blobSum":"sha256:)" + std::string(hex_a) + R"("}],"history":[]})", "",
       manifest_error::layer_count_mismatch, "history"},
      {"schema 1 v1Compatibility not JSON",
       s1 + R"({"blobSum":"sha256:)" + std::string(hex_a) +
           R"("}],"history":[{"v1Compatibility":"{id"}]})",
       "", manifest_error::invalid_v1_compatibility, "history[0].v1Compatibility"},
      {"schema 1 v1Compatibility an array",
       s1 + R"({"blobSum":"sha256:)" + std::string(hex_a) +
           R"("}],"history":[{"v1Compatibility":"[]"}]})",
       "", manifest_error::invalid_v1_compatibility, "history[0].v1Compatibility"},
      {"schema 1 v1Compatibility missing",
       s1 + R"({"blobSum":"sha256:)" + std::string(hex_a) + R"("}],"history":[{}]})", "",
       manifest_error::missing_field, "history[0].v1Compatibility"},
      {"schema 1 name not a string", R"({"schemaVersion":1,"name":1,"fsLayers":[],"history":[]})",
       "", manifest_error::wrong_type, "name"},
      {"signatures empty", R"({"schemaVersion":1,"fsLayers":[],"history":[],"signatures":[]})", "",
       manifest_error::invalid_signature, "signatures"},
      {"signatures not an array",
       R"({"schemaVersion":1,"fsLayers":[],"history":[],"signatures":{}})", "",
       manifest_error::wrong_type, "signatures"},
      {"signature without header",
       R"({"schemaVersion":1,"fsLayers":[],"history":[],"signatures":[{"signature":"YQ","protected":"e30"}]})",
       "", manifest_error::missing_field, "signatures[0].header"},
      {"signature not base64url",
       R"({"schemaVersion":1,"fsLayers":[],"history":[],"signatures":[{"header":{},"signature":"a+b/","protected":"e30"}]})",
       "", manifest_error::invalid_signature, "signatures[0].signature"},
      {"protected not JSON",
       R"({"schemaVersion":1,"fsLayers":[],"history":[],"signatures":[{"header":{},"signature":"YQ","protected":"YWJj"}]})",
       "", manifest_error::invalid_signature, "signatures[0].protected"},
      {"protected without formatLength", signed_schema1(sig_body, R"({"formatTail":"Cn0"})"), "",
       manifest_error::invalid_signature, "signatures[0].protected"},
      {"formatLength past the end", signed_schema1(sig_body, protected_header(100000)), "",
       manifest_error::invalid_signature, "signatures[0].protected"},
      {"formatLength negative", signed_schema1(sig_body, protected_header(0).replace(16, 1, "-1")),
       "", manifest_error::invalid_signature, "signatures[0].protected"},
      {"formatTail not base64url",
       signed_schema1(sig_body, R"({"formatLength":3,"formatTail":"!"})"), "",
       manifest_error::invalid_signature, "signatures[0].protected"},
      {"payload not JSON", signed_schema1(sig_body, protected_header(sig_body.size() - 3)), "",
       manifest_error::invalid_signature, "signatures"},
      {"payload lacks fields", signed_schema1(sig_body, protected_header(1, "}")), "",
       manifest_error::missing_field, "fsLayers"},
  };
}

TEST(Manifest, Rejects) {
  for (bad_case const& c : bad_cases()) {
    std::string where = "stale";
    auto const r = pier::parse_manifest(c.json, c.content_type, &where);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error(), c.error) << c.name << ": " << r.error().message() << " at " << where;
    EXPECT_EQ(where, c.where) << c.name;
    EXPECT_EQ(pier::to_oci_error(r.error()), pier::oci_error::manifest_invalid) << c.name;
    // The overload without detail agrees.
    EXPECT_EQ(pier::parse_manifest(c.json, c.content_type).error(), c.error) << c.name;
  }
}

TEST(Manifest, DetailIsClearedOnSuccess) {
  std::string where = "stale";
  EXPECT_TRUE(pier::parse_manifest(oci_manifest_json, {}, &where));
  EXPECT_EQ(where, "");
}

TEST(Manifest, ErrorCategory) {
  std::error_code const ec = manifest_error::invalid_digest;
  EXPECT_EQ(ec.category().name(), std::string("pier.manifest"));
  EXPECT_EQ(pier::to_oci_error(ec), pier::oci_error::manifest_invalid);
  EXPECT_EQ(ec.default_error_condition(),
            std::error_condition(static_cast<int>(pier::oci_error::manifest_invalid),
                                 pier::oci_category()));
  for (int v = 1; v <= static_cast<int>(manifest_error::invalid_signature); ++v)
    EXPECT_NE(std::error_code(v, pier::manifest_category()).message(), "unknown manifest error")
        << v;
}

TEST(Manifest, DefaultConstructedIsEmpty) {
  pier::manifest const m;
  EXPECT_EQ(m.kind(), manifest_kind::unknown);
  EXPECT_TRUE(m.referenced_blobs().empty());
  EXPECT_TRUE(m.referenced_manifests().empty());
}

} // namespace manifest_test
