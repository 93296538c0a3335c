// SPDX-License-Identifier: Apache-2.0
//
// A pier HTTP server that serves one file, over TLS or plain TCP, for the blob download
// benchmark bench/load/tls_download.sh (curl is the client).
//
//   pier_bench_tls_download --file PATH [--port 8443] [--threads 1]
//                           [--tls DIR] [--ktls on|off]
//
// With --tls, DIR gets a fresh CA and server certificate for localhost/127.0.0.1 (ca.crt,
// server.crt, server.key) and the server speaks TLS with them. It first says whether the
// kernel accepts TLS on a TCP socket at all (setsockopt TCP_ULP "tls").

#include <pier/auth/certificate.hpp>
#include <pier/auth/certificate_files.hpp>
#include <pier/http/server.hpp>
#include <pier/http/tls.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

namespace http = pier::http;

// The kernel takes the "tls" upper-layer protocol only on a connected socket: make one over
// loopback and try.
static std::string probe_kernel_tls() {
  int const l = ::socket(AF_INET, SOCK_STREAM, 0);
  int const c = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  std::string out = "setup failed";
  if (::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(l, 1) == 0 &&
      ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) == 0 &&
      ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    if (::setsockopt(c, SOL_TCP, TCP_ULP, "tls", sizeof "tls") == 0)
      out = "available (setsockopt TCP_ULP \"tls\" succeeded)";
    else
      out = std::string("unavailable (setsockopt TCP_ULP \"tls\": ") + std::strerror(errno) + ")";
  }
  ::close(c);
  ::close(l);
  return out;
}

int main(int argc, char** argv) {
  try {
    http::server_options opts;
    opts.address = "127.0.0.1";
    opts.port = 8443;
    opts.threads = 1;
    std::string file, tls_dir;
    bool ktls = true;
    for (int i = 1; i + 1 < argc; i += 2) {
      std::string_view const flag = argv[i];
      char const* const value = argv[i + 1];
      if (flag == "--port")
        opts.port = static_cast<std::uint16_t>(std::atoi(value));
      else if (flag == "--threads")
        opts.threads = static_cast<unsigned>(std::atoi(value));
      else if (flag == "--file")
        file = value;
      else if (flag == "--tls")
        tls_dir = value;
      else if (flag == "--ktls")
        ktls = std::strcmp(value, "off") != 0;
      else {
        std::fprintf(stderr, "unknown option %s\n", argv[i]);
        return 2;
      }
    }
    if (file.empty()) {
      std::fprintf(stderr, "--file is required\n");
      return 2;
    }
    std::printf("kernel TLS: %s\n", probe_kernel_tls().c_str());
    if (!tls_dir.empty()) {
      pier::auth::certificate_request req;
      req.host = "localhost";
      req.ips = {"127.0.0.1"};
      auto set = pier::auth::generate_certificates(req);
      if (!set || !pier::auth::write_certificate_files(*set, tls_dir)) {
        std::fprintf(stderr, "cannot write certificates into %s\n", tls_dir.c_str());
        return 1;
      }
      http::tls_options t;
      t.certificate_file = tls_dir + "/server.crt";
      t.private_key_file = tls_dir + "/server.key";
      t.ktls = ktls;
      auto tls = http::tls_context::load(t);
      if (!tls) {
        std::fprintf(stderr, "tls: %s\n", tls.error().message().c_str());
        return 1;
      }
      opts.tls = *tls;
    }
    http::server srv(opts, [&](http::request& req) -> asio::awaitable<http::response> {
      pier::result<http::file_body> f = http::open_file(file);
      if (!f)
        co_return http::response::text(404, f.error().message());
      co_return http::response::file_with_range(req.head(), *f);
    });
    srv.handle_signals();
    std::printf("listening on 127.0.0.1:%u, %s%s\n", srv.port(),
                tls_dir.empty() ? "plain TCP" : "TLS",
                tls_dir.empty() ? "" : (ktls ? ", kTLS allowed" : ", kTLS off"));
    std::fflush(stdout);
    srv.run();
    return 0;
  } catch (std::exception const& e) {
    std::fprintf(stderr, "pier_bench_tls_download: %s\n", e.what());
    return 1;
  }
}
