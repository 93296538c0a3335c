// SPDX-License-Identifier: Apache-2.0
#include <pier/core/hasher.hpp>
#include <pier/core/manifest.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

std::string descriptor_json(std::string_view media_type, std::string_view seed, int size,
                            std::string_view extra = {}) {
  return std::string("{\n      \"mediaType\": \"") + std::string(media_type) +
         "\",\n      \"digest\": \"" + pier::digest_of(seed).str() +
         "\",\n      \"size\": " + std::to_string(size) + std::string(extra) + "\n    }";
}

// What BuildKit pushes for a typical application image: config, 5 gzip layers,
// annotations; about 1.6 KB.
std::string typical_manifest() {
  std::string s = "{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"application/vnd.oci.image."
                  "manifest.v1+json\",\n  \"config\": " +
                  descriptor_json(pier::media_types::oci_config, "config", 7023) +
                  ",\n  \"layers\": [\n    ";
  for (int i = 0; i < 5; ++i)
    s += (i ? ",\n    " : "") + descriptor_json(pier::media_types::oci_layer_tar_gzip,
                                                "layer" + std::to_string(i), 30000000 + i);
  s += "\n  ],\n  \"annotations\": {\n    \"org.opencontainers.image.created\": "
       "\"2024-03-01T10:20:30Z\",\n    \"org.opencontainers.image.source\": "
       "\"https://github.com/example/app\"\n  }\n}\n";
  return s;
}

// A multi-platform index with the six platforms official images commonly ship.
std::string typical_index() {
  struct p {
    char const* arch;
    char const* variant;
  };
  constexpr p platforms[] = {{"amd64", nullptr}, {"arm", "v6"},        {"arm", "v7"},
                             {"arm64", "v8"},    {"ppc64le", nullptr}, {"s390x", nullptr}};
  std::string s = "{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"application/vnd.oci.image."
                  "index.v1+json\",\n  \"manifests\": [\n    ";
  bool first = true;
  for (p const& pl : platforms) {
    std::string platform = ",\n      \"platform\": {\n        \"architecture\": \"" +
                           std::string(pl.arch) + "\",\n        \"os\": \"linux\"";
    if (pl.variant != nullptr)
      platform += ",\n        \"variant\": \"" + std::string(pl.variant) + "\"";
    platform += "\n      }";
    s += (first ? "" : ",\n    ") +
         descriptor_json(pier::media_types::oci_manifest,
                         pl.arch + std::string(pl.variant ? pl.variant : ""), 1611, platform);
    first = false;
  }
  s += "\n  ]\n}\n";
  return s;
}

void run(benchmark::State& state, std::string const& bytes, std::string_view content_type,
         std::int64_t items_per_parse) {
  if (!pier::parse_manifest(bytes, content_type))
    std::abort(); // the sample itself must be valid, or the numbers mean nothing
  for (auto _ : state) {
    auto m = pier::parse_manifest(bytes, content_type);
    benchmark::DoNotOptimize(m);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(bytes.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * items_per_parse);
  state.counters["bytes_per_doc"] = static_cast<double>(bytes.size());
}

// Items are descriptors: config + 5 layers.
void parse_manifest_oci_5_layers(benchmark::State& state) {
  run(state, typical_manifest(), pier::media_types::oci_manifest, 6);
}
BENCHMARK(parse_manifest_oci_5_layers);

// Items are descriptors: 6 platform entries.
void parse_manifest_oci_index_6_platforms(benchmark::State& state) {
  run(state, typical_index(), pier::media_types::oci_index, 6);
}
BENCHMARK(parse_manifest_oci_index_6_platforms);

// The Accept header docker 24 sends, checked against the stored type on every pull.
void accept_quality_docker_header(benchmark::State& state) {
  std::string const accept =
      "application/vnd.docker.distribution.manifest.v2+json, "
      "application/vnd.docker.distribution.manifest.list.v2+json, "
      "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
      "application/vnd.docker.distribution.manifest.v1+prettyjws";
  for (auto _ : state) {
    benchmark::DoNotOptimize(accept.data());
    benchmark::DoNotOptimize(pier::accept_quality(accept, pier::media_types::oci_manifest));
  }
}
BENCHMARK(accept_quality_docker_header);

} // namespace
