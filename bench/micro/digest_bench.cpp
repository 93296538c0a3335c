// SPDX-License-Identifier: Apache-2.0
#include <pier/core/hasher.hpp>
#include <pier/core/digest.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <vector>

namespace {

// Streaming throughput in 1 MiB updates: the size an upload handler feeds the hasher
// from its socket buffer, and the block size `openssl speed -bytes 1048576` uses.
void hasher_update_1mib(benchmark::State& state, pier::digest_algorithm a) {
  std::vector<std::byte> const block(std::size_t{1} << 20, std::byte{0x5a});
  pier::hasher h(a);
  for (auto _ : state)
    h.update(block);
  benchmark::DoNotOptimize(h.finish());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(block.size()));
}
BENCHMARK_CAPTURE(hasher_update_1mib, sha256, pier::digest_algorithm::sha256);
BENCHMARK_CAPTURE(hasher_update_1mib, sha512, pier::digest_algorithm::sha512);

// A whole small blob (a manifest or config): context setup and hex formatting included.
void digest_of_4kib(benchmark::State& state, pier::digest_algorithm a) {
  std::string const blob(4096, 'x');
  for (auto _ : state)
    benchmark::DoNotOptimize(pier::digest_of(blob, a));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 4096);
}
BENCHMARK_CAPTURE(digest_of_4kib, sha256, pier::digest_algorithm::sha256);
BENCHMARK_CAPTURE(digest_of_4kib, sha512, pier::digest_algorithm::sha512);

void parse_digest_view_sha256(benchmark::State& state) {
  std::string const s = pier::digest_of("bench").str();
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.data());
    benchmark::DoNotOptimize(pier::parse_digest_view(s));
  }
}
BENCHMARK(parse_digest_view_sha256);

void parse_digest_sha512(benchmark::State& state) {
  std::string const s = pier::digest_of("bench", pier::digest_algorithm::sha512).str();
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.data());
    benchmark::DoNotOptimize(pier::parse_digest(s));
  }
}
BENCHMARK(parse_digest_sha512);

void parse_digest_view_invalid(benchmark::State& state) {
  std::string const s = "sha256:" + std::string(63, 'a') + "G";
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.data());
    benchmark::DoNotOptimize(pier::parse_digest_view(s));
  }
}
BENCHMARK(parse_digest_view_invalid);

} // namespace
