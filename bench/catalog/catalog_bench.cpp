// SPDX-License-Identifier: Apache-2.0
// One page of the catalog and of the namespace listings over a RocksDB metadata store with
// 100,000 repositories (1,000 namespaces of 100), through the real handlers in-process:
// what a client waits for, minus the network. The database is built once per run in a
// temporary directory, through the store (one manifest and one tag per repository, writes
// without sync: the numbers measured are reads).
//
//   pier_bench_catalog [--repositories=N] [google benchmark flags]

#include <pier/http/request.hpp>
#include <pier/registry/api.hpp>
#include <pier/registry/v2.hpp>
#include <pier/storage/memory.hpp>
#include <pier/storage/rocksdb.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace {

namespace http = pier::http;
namespace registry = pier::registry;
namespace storage = pier::storage;

constexpr std::size_t repositories_per_namespace = 100;

struct fixture {
  std::filesystem::path dir;
  std::optional<storage::rocksdb_metadata_store> meta;
  storage::memory_blob_store blobs;
  std::optional<registry::v2_registry<storage::memory_blob_store, storage::rocksdb_metadata_store>>
      v2;
  std::optional<registry::namespace_api<storage::rocksdb_metadata_store>> api;
  asio::io_context io;
  std::size_t repositories = 0;
};

fixture* bench = nullptr;

std::string repository_name(std::size_t i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "team-%04zu/service-%03zu", i / repositories_per_namespace,
                i % repositories_per_namespace);
  return buf;
}

template <class T>
T run(asio::io_context& io, asio::awaitable<T> a) {
  std::optional<T> out;
  io.restart();
  asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
    if (e)
      std::rethrow_exception(e);
    out = std::move(v);
  });
  io.run();
  return std::move(*out);
}

// Writes `n` repositories, each with one small manifest tagged `latest`.
void fill(fixture& f, std::size_t n) {
  auto const start = std::chrono::steady_clock::now();
  asio::io_context& io = f.io;
  storage::rocksdb_metadata_store& meta = *f.meta;
  bool ok = run(io, [&]() -> asio::awaitable<bool> {
    for (std::size_t i = 0; i < n; ++i) {
      storage::manifest_put m;
      m.bytes = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                R"("annotations":{"n":")" +
                std::to_string(i) + "\"}}";
      m.digest = pier::digest_of(m.bytes);
      m.media_type = "application/vnd.oci.image.manifest.v1+json";
      m.tag = "latest";
      if (!co_await meta.put_manifest(repository_name(i), std::move(m)))
        co_return false;
    }
    co_return true;
  }());
  if (!ok) {
    std::fprintf(stderr, "filling the database failed\n");
    std::exit(1);
  }
  auto const took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start);
  std::fprintf(stderr, "built %zu repositories in %.1f s\n", n, took.count());
}

http::response get(std::string target, bool api) {
  http::request_head head;
  head.set_method("GET");
  head.set_target(std::move(target));
  head.set_version(11);
  http::string_body_reader body("");
  http::request req(std::move(head), body, "127.0.0.1");
  if (api) {
    registry::pull_access who;
    who.everything = true; // an administrator: the unfiltered path
    return run(bench->io, bench->api->handle(req, who));
  }
  return run(bench->io, bench->v2->handle(req));
}

void page(benchmark::State& state, std::string const& target, bool api) {
  for (auto _ : state) {
    http::response r = get(target, api);
    if (r.status() != 200) {
      state.SkipWithError(("status " + std::to_string(r.status())).c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
}

std::string middle() { return repository_name(bench->repositories / 2); }
std::string middle_namespace() {
  std::string const m = middle();
  return m.substr(0, m.find('/'));
}

void catalog_first_page(benchmark::State& s) { page(s, "/v2/_catalog?n=100", false); }
void catalog_page_from_middle(benchmark::State& s) {
  page(s, "/v2/_catalog?n=100&last=" + middle(), false);
}
void namespace_repositories_page(benchmark::State& s) {
  page(s, "/api/v1/namespaces/" + middle_namespace() + "/repositories?n=100", true);
}
void namespace_tags_page(benchmark::State& s) {
  page(s, "/api/v1/namespaces/" + middle_namespace() + "/tags?n=100", true);
}
void namespaces_page_from_middle(benchmark::State& s) {
  page(s, "/api/v1/namespaces?n=100&last=" + middle_namespace(), true);
}

} // namespace

int main(int argc, char** argv) {
  std::size_t n = 100000;
  for (int i = 1; i < argc; ++i) {
    std::string_view const a = argv[i];
    if (a.starts_with("--repositories="))
      n = std::strtoull(argv[i] + 15, nullptr, 10);
  }
  benchmark::Initialize(&argc, argv);

  fixture f;
  f.dir =
      std::filesystem::temp_directory_path() / ("pier-catalog-bench-" + std::to_string(::getpid()));
  storage::rocksdb_options o;
  o.sync = false; // building the database, not measuring writes
  auto meta = storage::rocksdb_metadata_store::create(f.dir, o);
  if (!meta) {
    std::fprintf(stderr, "%s\n", meta.error().message().c_str());
    return 1;
  }
  f.meta.emplace(std::move(*meta));
  f.v2.emplace(f.blobs, *f.meta);
  f.api.emplace(*f.meta);
  f.repositories = n;
  bench = &f;
  fill(f, n);

  benchmark::RegisterBenchmark("catalog_first_page", catalog_first_page)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("catalog_page_from_middle", catalog_page_from_middle)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("namespace_repositories_page", namespace_repositories_page)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("namespace_tags_page", namespace_tags_page)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("namespaces_page_from_middle", namespaces_page_from_middle)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  f.api.reset();
  f.v2.reset();
  f.meta.reset();
  std::error_code ec;
  std::filesystem::remove_all(f.dir, ec);
  return 0;
}
