// SPDX-License-Identifier: Apache-2.0
#include <pier/core/reference.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

// What clients send: familiar names, registry names with ports, digests pinned by CI
// systems, an IPv6 registry, and a deep path of a monorepo-style registry.
constexpr std::array<std::string_view, 6> references = {
    "ubuntu",
    "library/nginx:1.25-alpine",
    "registry.example.com:5000/team/service:v1.2.3",
    "ghcr.io/org/project/image@"
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "[2001:db8::1]:5000/a/b:latest",
    "europe-west1-docker.pkg.dev/my-project/my-repo/sub/dir/app:2024.01.15-build_42@"
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
};

void parse_reference_view_mix(benchmark::State& state) {
  for (auto _ : state) {
    for (std::string_view s : references) {
      auto r = pier::parse_reference_view(s);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * references.size()));
}
BENCHMARK(parse_reference_view_mix);

void parse_normalized_reference_mix(benchmark::State& state) {
  for (auto _ : state) {
    for (std::string_view s : references) {
      auto r = pier::parse_normalized_reference(s);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * references.size()));
}
BENCHMARK(parse_normalized_reference_mix);

// One reference at a time, to see which shapes cost what.
void parse_reference_view_each(benchmark::State& state) {
  std::string_view const s = references[static_cast<std::size_t>(state.range(0))];
  state.SetLabel(std::string(s.substr(0, 40)));
  for (auto _ : state) {
    auto r = pier::parse_reference_view(s);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.size()));
}
BENCHMARK(parse_reference_view_each)->DenseRange(0, references.size() - 1);

// The validators the HTTP router runs on every /v2/<name>/manifests/<tag> request.
void validate_name_and_tag(benchmark::State& state) {
  for (auto _ : state) {
    auto n = pier::validate_repository_name("my-project/my-repo/sub/dir/app");
    auto t = pier::validate_tag("2024.01.15-build_42");
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(validate_name_and_tag);

} // namespace
