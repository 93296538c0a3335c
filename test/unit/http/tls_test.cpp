// SPDX-License-Identifier: Apache-2.0
#include <pier/http/tls.hpp>

#include <pier/auth/certificate.hpp>
#include <pier/auth/certificate_files.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>
#include <pier/http/server.hpp>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace tls_test {

using namespace std::chrono_literals;
namespace http = pier::http;
namespace auth = pier::auth;
using nothrow_t = decltype(asio::experimental::as_tuple(asio::use_awaitable));
constexpr nothrow_t nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// --- certificates, made at test time -------------------------------------------------------

struct cert_dir {
  cert_dir() {
    path = std::filesystem::temp_directory_path() /
           ("pier_tls_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~cert_dir() { std::filesystem::remove_all(path); }

  // A new CA and server certificate for localhost / 127.0.0.1, written over the old files.
  auth::certificate_set issue() {
    auth::certificate_request req;
    req.host = "localhost";
    req.ips = {"127.0.0.1"};
    auth::certificate_set set = auth::generate_certificates(req).value();
    EXPECT_TRUE(auth::write_certificate_files(set, path.string()));
    return set;
  }

  http::tls_options options(bool ktls = true) const {
    http::tls_options o;
    o.certificate_file = (path / "server.crt").string();
    o.private_key_file = (path / "server.key").string();
    o.ktls = ktls;
    return o;
  }

  std::string ca_file() const { return (path / "ca.crt").string(); }

  std::filesystem::path path;
  static inline int counter = 0;
};

// --- a TLS client that verifies the server like curl does --------------------------------

struct reply {
  int status = 0;
  std::string head;
  std::string body;
};

class tls_client {
public:
  struct settings {
    std::string ca_pem;                        // trust only this CA
    std::string host = "localhost";            // SNI and the name verified
    std::vector<std::string> alpn{"http/1.1"}; // offered protocols
    int max_version = 0;                       // e.g. TLS1_1_VERSION; 0: any
  };

  tls_client(std::uint16_t port, settings s)
      : ctx_(asio::ssl::context::tls_client), stream_(io_, ctx_) {
    // The stream's SSL was made from the context already: settings go on the stream.
    ctx_.add_certificate_authority(asio::buffer(s.ca_pem));
    stream_.set_verify_mode(asio::ssl::verify_peer);
    stream_.set_verify_callback(asio::ssl::host_name_verification(s.host));
    if (s.max_version != 0) {
      // Old protocols need security level 0 in OpenSSL 3 even to be offered.
      SSL_set_security_level(stream_.native_handle(), 0);
      SSL_set_min_proto_version(stream_.native_handle(), 0);
      SSL_set_max_proto_version(stream_.native_handle(), s.max_version);
    }
    std::string protos;
    for (auto const& p : s.alpn)
      protos.append(1, static_cast<char>(p.size())).append(p);
    if (!protos.empty())
      SSL_set_alpn_protos(stream_.native_handle(),
                          reinterpret_cast<unsigned char const*>(protos.data()),
                          static_cast<unsigned>(protos.size()));
    SSL_set_tlsext_host_name(stream_.native_handle(), s.host.c_str());
    asio::ip::tcp::endpoint const ep(asio::ip::make_address("127.0.0.1"), port);
    stream_.lowest_layer().connect(ep);
    handshake_error_ =
        run([&]() -> asio::awaitable<std::error_code> {
          auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::client, nothrow);
          co_return ec;
        }).value_or(asio::error::timed_out);
  }

  std::error_code handshake_error() const { return handshake_error_; }

  std::string cipher() { return SSL_get_cipher_name(stream_.native_handle()); }
  std::string version() { return SSL_get_version(stream_.native_handle()); }

  std::string alpn() {
    unsigned char const* p = nullptr;
    unsigned int n = 0;
    SSL_get0_alpn_selected(stream_.native_handle(), &p, &n);
    return {reinterpret_cast<char const*>(p), n};
  }

  // Sends `raw` and reads one response (with a Content-Length body).
  std::optional<reply> exchange(std::string raw) {
    return run([&]() -> asio::awaitable<std::optional<reply>> {
             auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(raw), nothrow);
             if (ec)
               co_return std::nullopt;
             co_return co_await read_reply();
           })
        .value_or(std::nullopt);
  }

  std::optional<reply> get(std::string const& target, std::string const& extra = {}) {
    return exchange("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n");
  }

  // Whether the server closes the connection (with nothing more sent) within the timeout.
  bool closed_by_server() {
    return run([&]() -> asio::awaitable<bool> {
             char tmp[256];
             auto [ec, n] = co_await stream_.async_read_some(asio::buffer(tmp), nothrow);
             co_return ec&& n == 0;
           })
        .value_or(false);
  }

private:
  asio::awaitable<std::optional<reply>> read_reply() {
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!co_await read_more())
        co_return std::nullopt;
    reply r;
    r.head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    if (r.head.compare(0, 9, "HTTP/1.1 ") != 0)
      co_return std::nullopt;
    r.status = std::stoi(r.head.substr(9, 3));
    std::size_t const cl = r.head.find("Content-Length: ");
    std::size_t const length = cl == std::string::npos ? 0 : std::stoull(r.head.substr(cl + 16));
    while (buf_.size() < length)
      if (!co_await read_more())
        co_return std::nullopt;
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    co_return r;
  }

  asio::awaitable<bool> read_more() {
    char tmp[64 * 1024];
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(tmp), nothrow);
    buf_.append(tmp, n);
    co_return !ec || n > 0;
  }

  // Runs one operation with a 30 s limit; nothing on timeout.
  template <class F>
  auto run(F f) -> std::optional<typename decltype(f())::value_type> {
    using T = typename decltype(f())::value_type;
    std::optional<T> out;
    io_.restart();
    asio::co_spawn(io_, f(), [&](std::exception_ptr e, T v) {
      if (!e)
        out = std::move(v);
    });
    io_.run_for(30s);
    if (!io_.stopped()) {
      std::error_code ec;
      stream_.lowest_layer().close(ec);
      io_.restart();
      io_.run();
      return std::nullopt;
    }
    return out;
  }

  asio::io_context io_;
  asio::ssl::context ctx_;
  asio::ssl::stream<asio::ip::tcp::socket> stream_;
  std::error_code handshake_error_;
  std::string buf_;
};

// --- the server under test --------------------------------------------------------------

struct test_file {
  test_file() {
    path = std::filesystem::temp_directory_path() /
           ("pier_tls_test_" + std::to_string(::getpid()) + ".bin");
    bytes.resize(4 * 1024 * 1024 + 321);
    std::mt19937_64 rng(7);
    std::generate(bytes.begin(), bytes.end(), [&] { return static_cast<char>(rng() >> 56); });
    std::ofstream(path, std::ios::binary) << bytes;
  }
  ~test_file() { std::filesystem::remove(path); }
  std::filesystem::path path;
  std::string bytes;
};

http::handler make_handler(test_file const& file) {
  return [&file](http::request& req) -> asio::awaitable<http::response> {
    if (req.target() == "/hello")
      co_return http::response::text(200, "hello");
    if (req.target() == "/secure")
      co_return http::response::text(200, req.secure() ? "secure" : "plain");
    if (req.target() == "/big-string") // larger than a TLS record, from memory
      co_return http::response::text(200, file.bytes.substr(0, 100000));
    if (req.target() == "/file") {
      pier::result<http::file_body> f = http::open_file(file.path.string());
      if (!f)
        co_return http::response::text(500, f.error().message());
      co_return http::response::file_with_range(req.head(), *f);
    }
    co_return http::response::text(404, "not found");
  };
}

http::server_options options(std::shared_ptr<http::tls_context> tls) {
  http::server_options o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.threads = 2;
  // Long: handshakes and 4 MiB bodies can be slow on a busy machine, no test that is not
  // about a timeout may depend on one, and the stop tests must not pass by waiting for one.
  o.header_timeout = 60s;
  o.idle_timeout = 60s;
  o.write_stall_timeout = 60s;
  o.shutdown_timeout = 60s;
  o.linger_timeout = 2s;
  o.tls = std::move(tls);
  return o;
}

class running_server {
public:
  running_server(http::server_options o, http::handler h) : srv_(std::move(o), std::move(h)) {
    thread_ = std::thread([this] { srv_.run(); });
  }
  ~running_server() { stop(); }
  void stop() {
    srv_.stop();
    if (thread_.joinable())
      thread_.join();
  }
  std::uint16_t port() const { return srv_.port(); }

private:
  http::server srv_;
  std::thread thread_;
};

class TlsTest : public ::testing::Test {
protected:
  void SetUp() override { set_ = certs_.issue(); }

  void start(bool ktls = true, std::chrono::milliseconds header_timeout = 60s) {
    auto tls = http::tls_context::load(certs_.options(ktls));
    ASSERT_TRUE(tls) << tls.error().message();
    tls_ = *tls;
    http::server_options o = options(tls_);
    o.header_timeout = header_timeout;
    o.on_error = [this](std::string_view) { ++errors_; };
    srv_.emplace(std::move(o), make_handler(file_));
  }

  tls_client::settings trusting() const {
    tls_client::settings s;
    s.ca_pem = set_.ca_cert;
    return s;
  }

  cert_dir certs_;
  auth::certificate_set set_;
  test_file file_;
  std::shared_ptr<http::tls_context> tls_;
  std::atomic<int> errors_{0}; // on_error calls
  std::optional<running_server> srv_;
};

// A raw TCP connection: the test controls every byte.
class raw_client {
public:
  explicit raw_client(std::uint16_t port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
  }
  void send(std::string_view s) { asio::write(socket_, asio::buffer(s)); }
  // Everything until the server closes (or 30 s pass); "timeout" when it does not close.
  std::string read_to_close() {
    std::string got;
    std::array<char, 4096> tmp;
    bool closed = false;
    std::function<void()> next = [&] {
      socket_.async_read_some(asio::buffer(tmp), [&](std::error_code ec, std::size_t n) {
        got.append(tmp.data(), n);
        if (ec)
          closed = true;
        else
          next();
      });
    };
    next();
    io_.run_for(30s);
    return closed ? got : "timeout";
  }

private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
};

TEST_F(TlsTest, VerifiedRequestAndAlpn) {
  start();
  tls_client c(srv_->port(), trusting());
  ASSERT_FALSE(c.handshake_error()) << c.handshake_error().message();
  EXPECT_EQ(c.alpn(), "http/1.1");
  EXPECT_EQ(c.version(), "TLSv1.3");
  // The client lists AES-256 first, as OpenSSL does; the server's order wins.
  EXPECT_EQ(c.cipher(), "TLS_AES_128_GCM_SHA256");
  auto r = c.get("/hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  r = c.get("/secure");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "secure");
}

TEST_F(TlsTest, PlainServerRequestsAreNotSecure) {
  srv_.emplace(options(nullptr), make_handler(file_));
  raw_client c(srv_->port());
  c.send("GET /secure HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  std::string const got = c.read_to_close();
  EXPECT_EQ(got.substr(0, 12), "HTTP/1.1 200");
  EXPECT_EQ(got.substr(got.size() - 5), "plain");
}

TEST_F(TlsTest, AlpnWithoutHttp11StillConnects) {
  start();
  tls_client::settings s = trusting();
  s.alpn = {"h2", "http/1.1"};
  tls_client both(srv_->port(), s);
  ASSERT_FALSE(both.handshake_error());
  EXPECT_EQ(both.alpn(), "http/1.1");

  s.alpn = {"h2"};
  tls_client h2(srv_->port(), s);
  ASSERT_FALSE(h2.handshake_error()) << h2.handshake_error().message();
  EXPECT_EQ(h2.alpn(), "");
  s.alpn = {};
  tls_client none(srv_->port(), s);
  ASSERT_FALSE(none.handshake_error());
  auto r = none.get("/hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(TlsTest, UntrustedOrWrongNameFails) {
  start();
  tls_client::settings s = trusting();
  s.ca_pem = certs_.issue().ca_cert; // another CA (the server still has the first)
  tls_client other(srv_->port(), s);
  EXPECT_TRUE(other.handshake_error());

  s = trusting();
  s.host = "registry.example";
  tls_client wrong(srv_->port(), s);
  EXPECT_TRUE(wrong.handshake_error());

  tls_client fine(srv_->port(), trusting());
  EXPECT_FALSE(fine.handshake_error());
}

TEST_F(TlsTest, Tls11Refused) {
  start();
  tls_client::settings s = trusting();
  s.max_version = TLS1_1_VERSION;
  tls_client old(srv_->port(), s);
  // Refused by the server ("tlsv1 alert protocol version"), not the client's own choice.
  EXPECT_NE(old.handshake_error().message().find("protocol version"), std::string::npos)
      << old.handshake_error().message();

  s.max_version = TLS1_2_VERSION;
  tls_client v12(srv_->port(), s);
  ASSERT_FALSE(v12.handshake_error()) << v12.handshake_error().message();
  EXPECT_EQ(v12.version(), "TLSv1.2");
  EXPECT_EQ(v12.cipher(), "ECDHE-ECDSA-AES128-GCM-SHA256");
  auto r = v12.get("/hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
}

TEST_F(TlsTest, PlainHttpGetsA400ThatSaysTlsAndServerKeepsServing) {
  start();
  {
    // As nginx does: the client (docker's CLI) can show why, instead of a reset.
    raw_client raw(srv_->port());
    raw.send("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
    std::string const got = raw.read_to_close();
    EXPECT_EQ(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << got;
    EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos) << got;
    EXPECT_NE(got.find("\r\n\r\nThis port speaks TLS"), std::string::npos) << got;
    EXPECT_EQ(got.find("hello"), std::string::npos);
  }
  {
    // The request arrives in pieces, the answer comes after the first byte.
    raw_client raw(srv_->port());
    raw.send("P");
    raw.send("OST /hello HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc");
    EXPECT_EQ(raw.read_to_close().rfind("HTTP/1.1 400 ", 0), 0u);
  }
  {
    // Neither TLS nor HTTP: closed without an answer.
    raw_client raw(srv_->port());
    raw.send(std::string("\x01\x02garbage", 9));
    EXPECT_EQ(raw.read_to_close(), "");
  }
  tls_client c(srv_->port(), trusting());
  ASSERT_FALSE(c.handshake_error());
  auto r = c.get("/hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(errors_, 0); // failed handshakes are not logged
}

TEST_F(TlsTest, SilentConnectionClosedAfterTheHeaderTimeout) {
  start(true, 200ms);
  // Connected, silent: closed after the header timeout, handshake not begun.
  raw_client silent(srv_->port());
  EXPECT_EQ(silent.read_to_close(), "");
}

TEST_F(TlsTest, KeepAlive) {
  start();
  tls_client c(srv_->port(), trusting());
  ASSERT_FALSE(c.handshake_error());
  for (int i = 0; i < 5; ++i) {
    auto r = c.get(i % 2 ? "/hello" : "/big-string");
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, i % 2 ? std::string("hello") : file_.bytes.substr(0, 100000));
  }
  // Two pipelined requests in one write.
  auto r =
      c.exchange("GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /secure HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
  r = c.exchange(""); // the second answer, already on its way
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "secure");
}

class TlsFileTest : public TlsTest, public ::testing::WithParamInterface<bool> {};

TEST_P(TlsFileTest, FileBodyAndRange) {
  start(GetParam());
  tls_client c(srv_->port(), trusting());
  ASSERT_FALSE(c.handshake_error());
  auto r = c.get("/file");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body == file_.bytes) << "bodies differ, sizes " << r->body.size();

  r = c.get("/file", "Range: bytes=1000-3000000\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 206);
  EXPECT_TRUE(r->body == file_.bytes.substr(1000, 3000000 - 1000 + 1));

  r = c.get("/hello"); // the connection is still in step
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
}

INSTANTIATE_TEST_SUITE_P(Ktls, TlsFileTest, ::testing::Values(true, false),
                         [](auto const& info) { return info.param ? "ktls_on" : "ktls_off"; });

TEST_F(TlsTest, ReloadServesNewCertificateToNewConnections) {
  start();
  tls_client before(srv_->port(), trusting());
  ASSERT_FALSE(before.handshake_error());
  ASSERT_TRUE(before.get("/hello"));

  auth::certificate_set const old_set = set_;
  set_ = certs_.issue(); // new CA and certificate in the same files
  ASSERT_TRUE(tls_->reload());

  tls_client fresh(srv_->port(), trusting());
  ASSERT_FALSE(fresh.handshake_error()) << fresh.handshake_error().message();
  EXPECT_TRUE(fresh.get("/hello"));

  tls_client::settings old_trust = trusting();
  old_trust.ca_pem = old_set.ca_cert;
  tls_client stale(srv_->port(), old_trust);
  EXPECT_TRUE(stale.handshake_error());

  // The connection from before the reload goes on with its own context.
  auto r = before.get("/hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
}

TEST_F(TlsTest, FailedReloadKeepsOldCertificate) {
  start();
  std::ofstream(certs_.path / "server.key", std::ios::trunc)
      << "-----BEGIN PRIVATE KEY-----\nbroken\n";
  pier::result<void> r = tls_->reload();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), http::tls_error::invalid_key);

  // A key that is fine but not the certificate's.
  auth::certificate_request req;
  req.host = "localhost";
  auth::certificate_set const other = auth::generate_certificates(req).value();
  std::ofstream(certs_.path / "server.key", std::ios::trunc) << other.server_key;
  r = tls_->reload();
  EXPECT_EQ(r.error(), http::tls_error::key_mismatch);

  std::filesystem::remove(certs_.path / "server.crt");
  EXPECT_EQ(tls_->reload().error(), http::tls_error::certificate_unreadable);

  tls_client c(srv_->port(), trusting()); // the very first certificate
  ASSERT_FALSE(c.handshake_error()) << c.handshake_error().message();
  EXPECT_TRUE(c.get("/hello"));
}

TEST(TlsContext, LoadErrors) {
  cert_dir dir;
  auth::certificate_set const set = dir.issue();
  EXPECT_TRUE(http::tls_context::load(dir.options()));

  http::tls_options o = dir.options();
  o.certificate_file = (dir.path / "missing.crt").string();
  EXPECT_EQ(http::tls_context::load(o).error(), http::tls_error::certificate_unreadable);
  o = dir.options();
  o.private_key_file = (dir.path / "missing.key").string();
  EXPECT_EQ(http::tls_context::load(o).error(), http::tls_error::key_unreadable);
  o = dir.options();
  o.certificate_file = o.private_key_file; // a key where the certificate should be
  EXPECT_EQ(http::tls_context::load(o).error(), http::tls_error::invalid_certificate);
  o = dir.options();
  o.private_key_file = o.certificate_file;
  EXPECT_EQ(http::tls_context::load(o).error(), http::tls_error::invalid_key);
  o = dir.options();
  o.private_key_file = (dir.path / "ca.key").string();
  std::ofstream(o.private_key_file) << set.ca_key;
  EXPECT_EQ(http::tls_context::load(o).error(), http::tls_error::key_mismatch);

  // A chain: the server certificate, then the CA's.
  std::ofstream(dir.path / "chain.crt") << set.server_cert << set.ca_cert;
  o = dir.options();
  o.certificate_file = (dir.path / "chain.crt").string();
  EXPECT_TRUE(http::tls_context::load(o));
  std::ofstream(dir.path / "chain.crt") << set.server_cert << "-----BEGIN CERTIFICATE-----\nAA\n";
  EXPECT_EQ(http::tls_context::load(o).error(), http::tls_error::invalid_certificate);

  EXPECT_EQ(pier::to_oci_error(make_error_code(http::tls_error::key_mismatch)),
            pier::oci_error::unknown);
  EXPECT_EQ(make_error_code(http::tls_error::key_mismatch).message(),
            "the private key does not match the certificate");
}

TEST_F(TlsTest, StopWithIdleConnections) {
  start();
  tls_client idle(srv_->port(), trusting());
  ASSERT_FALSE(idle.handshake_error());
  ASSERT_TRUE(idle.get("/hello"));
  raw_client no_handshake(srv_->port());
  // stop() returns at once; run() ends when the idle connections are closed (the timeouts
  // are 60 s: this does not pass by waiting for one).
  srv_->stop();
  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_EQ(no_handshake.read_to_close(), "");
}

// The example of tls.hpp, with files that do not exist: it reports and gives up.
int header_example() {
  pier::http::tls_options t;
  t.certificate_file = "/nonexistent/pier/server.crt"; // server certificate, then intermediates
  t.private_key_file = "/nonexistent/pier/server.key";
  pier::result<std::shared_ptr<pier::http::tls_context>> tls = pier::http::tls_context::load(t);
  if (!tls) {
    std::fprintf(stderr, "%s: %s\n", t.certificate_file.c_str(), tls.error().message().c_str());
    return 1;
  }
  pier::http::server_options opts;
  opts.tls = *tls;
  if (pier::result<void> r = (*tls)->reload(); !r)
    std::fprintf(stderr, "tls reload: %s\n", r.error().message().c_str());
  return 0;
}

TEST(TlsHeaderExamples, LoadAndReload) { EXPECT_EQ(header_example(), 1); }

} // namespace tls_test
