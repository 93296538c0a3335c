// SPDX-License-Identifier: Apache-2.0
//
// A trivial pier HTTP server for load tests (bench/load/http_server.sh): every request gets
// a fixed body from memory, or, with --file, that file sent with sendfile(2) (opened per
// request, as nginx does without open_file_cache).
//
//   pier_bench_http_server [--port 8080] [--threads 2] [--mode per-thread|shared]
//                          [--body-size 500] [--file PATH]

#include <pier/http/server.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

namespace http = pier::http;

int main(int argc, char** argv) {
  try {
    http::server_options opts;
    opts.address = "127.0.0.1";
    opts.port = 8080;
    opts.threads = 2;
    std::size_t body_size = 500;
    std::string file;
    for (int i = 1; i + 1 < argc; i += 2) {
      std::string_view const flag = argv[i];
      char const* const value = argv[i + 1];
      if (flag == "--port")
        opts.port = static_cast<std::uint16_t>(std::atoi(value));
      else if (flag == "--threads")
        opts.threads = static_cast<unsigned>(std::atoi(value));
      else if (flag == "--mode")
        opts.mode = std::strcmp(value, "shared") == 0 ? http::threading::shared_context
                                                      : http::threading::context_per_thread;
      else if (flag == "--body-size")
        body_size = static_cast<std::size_t>(std::atoll(value));
      else if (flag == "--file")
        file = value;
      else {
        std::fprintf(stderr, "unknown option %s\n", argv[i]);
        return 2;
      }
    }
    std::string const body(body_size, 'x');
    http::server srv(opts, [&](http::request& req) -> asio::awaitable<http::response> {
      if (file.empty())
        co_return http::response::text(200, body);
      pier::result<http::file_body> f = http::open_file(file);
      if (!f)
        co_return http::response::text(404, f.error().message());
      co_return http::response::file_with_range(req.head(), *f, "text/plain");
    });
    srv.handle_signals();
    std::printf("listening on 127.0.0.1:%u, %u threads, %s\n", srv.port(), opts.threads,
                opts.mode == http::threading::shared_context ? "shared context"
                                                             : "context per thread");
    std::fflush(stdout);
    srv.run();
    return 0;
  } catch (std::exception const& e) {
    std::fprintf(stderr, "pier_bench_http_server: %s\n", e.what());
    return 1;
  }
}
