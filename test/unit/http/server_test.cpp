#include <pier/http/server.hpp>

#include <pier/http/handler.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <memory>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace server_test {

using namespace std::chrono_literals;
using pier::http::request;
using pier::http::response;
using pier::http::server;
using pier::http::server_options;
using pier::http::threading;

// --- a raw TCP client: the test controls every byte -------------------------------------

struct http_reply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;

  std::optional<std::string> field(std::string_view name) const {
    for (auto const& [n, v] : fields)
      if (pier::http::iequals(n, name))
        return v;
    return std::nullopt;
  }
};

class client {
public:
  /// `from`: the local address to connect from (any of 127/8 works on loopback).
  explicit client(std::uint16_t port, std::chrono::milliseconds timeout = 60s, int rcvbuf = 0,
                  char const* from = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0)
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (from != nullptr) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      if (::inet_pton(AF_INET, from, &local.sin_addr) != 1 ||
          ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
        throw std::runtime_error("bind failed");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed");
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_timeout(timeout);
  }
  /// To any address, IPv6 included.
  explicit client(asio::ip::tcp::endpoint const& to, std::chrono::milliseconds timeout = 60s) {
    fd_ = ::socket(to.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || ::connect(fd_, to.data(), static_cast<socklen_t>(to.size())) != 0)
      throw std::runtime_error("connect to " + to.address().to_string() + " failed");
    set_timeout(timeout);
  }
  ~client() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  client(client const&) = delete;
  client& operator=(client const&) = delete;

  void set_timeout(std::chrono::milliseconds t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t const n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  enum class got { data, eof, timeout, error };

  got read_more() {
    char tmp[64 * 1024];
    ssize_t const n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n > 0) {
      buf_.append(tmp, static_cast<std::size_t>(n));
      return got::data;
    }
    if (n == 0)
      return got::eof;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return got::timeout;
    return got::error; // a reset counts as closed too
  }

  // One response; for HEAD (or 1xx/204/304) no body is read.
  std::optional<http_reply> read_reply(bool head_request = false) {
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (read_more() != got::data)
        return std::nullopt;
    http_reply r;
    std::string_view head(buf_.data(), end + 2);
    std::size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.substr(0, 9) != "HTTP/1.1 ")
      return std::nullopt;
    r.status = std::stoi(std::string(status_line.substr(9, 3)));
    head.remove_prefix(line_end + 2);
    while (!head.empty()) {
      line_end = head.find("\r\n");
      std::string_view line = head.substr(0, line_end);
      std::size_t const colon = line.find(':');
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
      r.fields.emplace_back(std::string(line.substr(0, colon)), std::string(value));
      head.remove_prefix(line_end + 2);
    }
    buf_.erase(0, end + 4);
    bool const bodiless = head_request || r.status < 200 || r.status == 204 || r.status == 304;
    if (!bodiless) {
      auto const cl = r.field("Content-Length");
      if (!cl)
        return std::nullopt;
      std::size_t const n = std::stoull(*cl);
      while (buf_.size() < n)
        if (read_more() != got::data)
          return std::nullopt;
      r.body = buf_.substr(0, n);
      buf_.erase(0, n);
    }
    return r;
  }

  // Whether the server closes the connection (EOF or reset) before the receive timeout,
  // with nothing more sent.
  bool closed_by_server() {
    for (;;) {
      got const g = read_more();
      if (g == got::eof || g == got::error)
        return buf_.empty();
      if (g == got::timeout)
        return false;
    }
  }

  std::string const& pending() const { return buf_; }

private:
  int fd_ = -1;
  std::string buf_;
};

// --- the server under test ----------------------------------------------------------

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng());
  return s;
}

// FNV-1a: enough to tell whether every byte arrived in order.
std::uint64_t fnv(std::string_view s, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

struct shared_test_data {
  std::filesystem::path file_path;
  std::string file_bytes;
  std::atomic<int> slow_started{0};
  std::atomic<bool> slow_release{false};
};

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

pier::http::handler make_handler(shared_test_data& data) {
  return [&data](request& req) -> asio::awaitable<response> {
    std::string_view const target = req.target();
    if (target == "/hello")
      co_return response::text(200, "hello");
    if (target == "/small") // the benchmark's ~500-byte body
      co_return response::text(200, std::string(500, 'x'));
    if (target.starts_with("/name/"))
      co_return response::text(200, std::string(target.substr(6)));
    if (target == "/echo") {
      pier::result<std::string> body = co_await pier::http::read_body(req.body(), 64 << 20);
      if (!body) {
        std::error_code const ec = body.error();
        int const status =
            ec.category() == pier::http::body_category()
                ? pier::http::http_status(static_cast<pier::http::body_error>(ec.value()))
                : 400;
        co_return response::text(status, ec.message());
      }
      response r = response::text(200, std::move(*body), "application/octet-stream");
      co_return r;
    }
    if (target.starts_with("/hash/")) {
      // Reads with the buffer size given in the path.
      std::size_t const piece = std::stoul(std::string(target.substr(6)));
      std::vector<char> buf(piece);
      std::uint64_t h = 1469598103934665603ull, total = 0;
      for (;;) {
        pier::result<std::size_t> n = co_await req.body().read_some(buf);
        if (!n) {
          // Clean-up work can still wait on things after a failed read.
          co_await sleep_for(10ms);
          std::error_code const ec = n.error();
          co_return response::text(ec == pier::http::body_error::stalled ? 408 : 400, ec.message());
        }
        if (*n == 0)
          break;
        EXPECT_LE(*n, piece);
        h = fnv({buf.data(), *n}, h);
        total += *n;
      }
      co_return response::text(200, std::to_string(total) + ":" + std::to_string(h));
    }
    if (target == "/reject")
      co_return response::text(413, "no thanks");
    if (target == "/as-alice") { // what authentication middleware does
      req.set_user("alice");
      pier::result<std::string> body = co_await pier::http::read_body(req.body(), 1 << 20);
      co_return response::text(200, "id " + std::string(req.id()));
    }
    if (target == "/throw")
      throw std::runtime_error("handler failure on purpose");
    if (target == "/slow") {
      // Runs until the test lets it finish: how long it takes is the test's choice, not a
      // race with the shutdown timeout.
      ++data.slow_started;
      while (!data.slow_release)
        co_await sleep_for(5ms);
      co_return response::text(200, "slow done");
    }
    if (target == "/file") {
      pier::result<pier::http::file_body> f = pier::http::open_file(data.file_path.string());
      if (!f)
        co_return response::text(500, f.error().message());
      co_return response::file_with_range(req.head(), *f);
    }
    if (target == "/head-length") {
      response r(200);
      if (req.method() == "HEAD")
        r.headers().set("Content-Length", "12345");
      co_return r;
    }
    co_return response::text(404, "not found");
  };
}

// Generous timeouts: on a busy machine (and under AddressSanitizer) a 3 MiB body can take
// seconds, and no test that is not about a timeout may depend on one. The timeout tests
// shorten theirs with `short_timeouts`.
server_options test_options(threading mode) {
  server_options o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.threads = 2;
  o.mode = mode;
  o.header_timeout = 60s;
  o.idle_timeout = 60s;
  o.body_stall_timeout = 60s;
  o.write_stall_timeout = 60s;
  o.shutdown_timeout = 60s;
  o.linger_timeout = 2s;
  return o;
}

// For the tests about the header, idle and body-stall timeouts only.
server_options short_timeouts(server_options o) {
  o.header_timeout = 200ms;
  o.idle_timeout = 200ms;
  o.body_stall_timeout = 200ms;
  return o;
}

class running_server {
public:
  running_server(server_options o, pier::http::handler h) : srv_(std::move(o), std::move(h)) {
    thread_ = std::thread([this] { srv_.run(); });
  }
  ~running_server() {
    srv_.stop();
    if (thread_.joinable())
      thread_.join();
  }
  std::uint16_t port() const { return srv_.port(); }
  server& get() { return srv_; }
  std::thread& thread() { return thread_; }

private:
  server srv_;
  std::thread thread_;
};

class ServerTest : public ::testing::TestWithParam<threading> {
protected:
  static void SetUpTestSuite() {
    data_ = new shared_test_data;
    data_->file_bytes = random_bytes(3 * 1024 * 1024 + 123, 42);
    data_->file_path = std::filesystem::temp_directory_path() /
                       ("pier_server_test_" + std::to_string(::getpid()) + ".bin");
    std::ofstream(data_->file_path, std::ios::binary) << data_->file_bytes;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove(data_->file_path);
    delete data_;
  }

  server_options options() const { return test_options(GetParam()); }
  void start(server_options o) {
    data_->slow_started = 0;
    data_->slow_release = false;
    srv_.emplace(std::move(o), make_handler(*data_));
  }
  void start() { start(options()); }
  std::uint16_t port() const { return srv_->port(); }

  static inline shared_test_data* data_ = nullptr;
  std::optional<running_server> srv_;
};

std::string get(std::string_view target, std::string_view extra = {}) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

// --- the tests ------------------------------------------------------------------------------

TEST_P(ServerTest, Get) {
  start();
  client c(port());
  ASSERT_TRUE(c.send(get("/hello")));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->field("Content-Length"), "5");
  EXPECT_EQ(r->field("Content-Type"), "text/plain; charset=utf-8");
  ASSERT_TRUE(r->field("Date"));
  EXPECT_TRUE(r->field("Date")->ends_with(" GMT"));
  EXPECT_FALSE(r->field("Connection"));

  ASSERT_TRUE(c.send(get("/nothing-here")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_P(ServerTest, HeadSendsLengthWithoutBody) {
  start();
  client c(port());
  ASSERT_TRUE(c.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.read_reply(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->field("Content-Length"), "5");
  // A handler-set length is kept for HEAD (a blob's size without its bytes).
  ASSERT_TRUE(c.send("HEAD /head-length HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.read_reply(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->field("Content-Length"), "12345");
  ASSERT_TRUE(c.send("HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.read_reply(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->field("Content-Length"), std::to_string(data_->file_bytes.size()));
  // Had any body been sent, this would read it instead of the next response.
  ASSERT_TRUE(c.send(get("/hello")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
  EXPECT_TRUE(c.pending().empty());
}

TEST_P(ServerTest, KeepAliveThreeRequests) {
  start();
  client c(port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(get("/name/" + std::to_string(i))));
    auto r = c.read_reply();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, std::to_string(i));
  }
}

TEST_P(ServerTest, PipelinedRequestsInOneWrite) {
  start();
  client c(port());
  std::string all;
  for (int i = 0; i < 5; ++i)
    all += get("/name/p" + std::to_string(i));
  all += "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc";
  all += get("/name/last");
  ASSERT_TRUE(c.send(all));
  for (int i = 0; i < 5; ++i) {
    auto r = c.read_reply();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "p" + std::to_string(i));
  }
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "abc");
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "last");
}

TEST_P(ServerTest, Http10ClosesUnlessKeepAlive) {
  start();
  client c(port());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->field("Connection"), "keep-alive");
  ASSERT_TRUE(c.send("GET /hello HTTP/1.0\r\n\r\n"));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->field("Connection"), "close");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_P(ServerTest, ContentLengthBody) {
  start();
  std::vector<std::string> bodies;
  for (std::size_t size :
       {std::size_t{1}, std::size_t{1000}, std::size_t{70000}, std::size_t{3 * 1024 * 1024}})
    bodies.push_back(random_bytes(size, size));
  std::string const hashed = random_bytes(100000, 7);
  client c(port());
  for (std::string const& body : bodies) {
    std::size_t const size = body.size();
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(size) +
                       "\r\n\r\n" + body));
    auto r = c.read_reply();
    ASSERT_TRUE(r) << size;
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->body == body) << size;
  }
  // Small reads by the handler see every byte.
  ASSERT_TRUE(c.send("PUT /hash/7 HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + hashed));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "100000:" + std::to_string(fnv(hashed)));
}

std::string chunked(std::string_view body, std::vector<std::size_t> const& sizes,
                    bool extensions = false) {
  std::string out;
  std::size_t i = 0, k = 0;
  while (i < body.size()) {
    std::size_t const n = std::min(sizes[k++ % sizes.size()], body.size() - i);
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx", n);
    out += hex;
    if (extensions)
      out += ";name=value";
    out += "\r\n";
    out.append(body.substr(i, n));
    out += "\r\n";
    i += n;
  }
  out += extensions ? "0\r\nX-Trailer: yes\r\n\r\n" : "0\r\n\r\n";
  return out;
}

TEST_P(ServerTest, ChunkedBody) {
  start();
  std::string const body = random_bytes(300000, 3);
  std::string const small = random_bytes(500, 9);
  client c(port());
  std::vector<std::vector<std::size_t>> const plans = {
      {1}, {7, 100, 4096}, {65536}, {100000, 1, 3}, {300000}};
  for (std::size_t piece :
       {std::size_t{1}, std::size_t{13}, std::size_t{8192}, std::size_t{1 << 20}}) {
    for (auto const& plan : plans) {
      // One-byte chunks and one-byte reads make many steps: keep those bodies short.
      bool const short_body = piece == 1 || plan[0] == 1;
      std::string_view const sent =
          std::string_view(body).substr(0, short_body ? 3000 : body.size());
      std::string const wire = chunked(sent, plan, plan.size() == 3);
      ASSERT_TRUE(c.send("POST /hash/" + std::to_string(piece) +
                         " HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + wire));
      auto r = c.read_reply();
      ASSERT_TRUE(r) << piece;
      EXPECT_EQ(r->status, 200);
      EXPECT_EQ(r->body, std::to_string(sent.size()) + ":" + std::to_string(fnv(sent)))
          << "piece " << piece << " plan " << plan[0];
    }
  }
  // read_body over a chunked body, sent byte by byte.
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  for (char ch : chunked(small, {10, 99}))
    ASSERT_TRUE(c.send(std::string_view(&ch, 1)));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->body == small);
}

TEST_P(ServerTest, MalformedChunkFailsTheRead) {
  start();
  client c(port());
  ASSERT_TRUE(c.send("POST /hash/100 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\nzz\r\n"));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->field("Connection"), "close");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_P(ServerTest, ExpectContinue) {
  start();
  std::string const body = random_bytes(20000, 11);
  client c(port());
  ASSERT_TRUE(c.send(
      "PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 20000\r\n\r\n"));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 100);
  ASSERT_TRUE(c.send(body));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body == body);
  // Still usable.
  ASSERT_TRUE(c.send(get("/hello")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
}

TEST_P(ServerTest, EarlyRejectionWithExpectContinueNeverAsksForTheBody) {
  start();
  client c(port());
  ASSERT_TRUE(c.send("PUT /reject HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: "
                     "50000000\r\n\r\n"));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413); // no 100 Continue before it
  EXPECT_EQ(r->field("Connection"), "close");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_P(ServerTest, EarlyRejectionDrainsASmallBody) {
  start();
  client c(port());
  // The body arrives after the response has been written.
  ASSERT_TRUE(c.send("PUT /reject HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_FALSE(r->field("Connection"));
  ASSERT_TRUE(c.send(std::string(1000, 'b') + get("/hello")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
}

TEST_P(ServerTest, EarlyRejectionClosesForALargeBody) {
  start();
  client c(port());
  std::string const big(1 << 20, 'b');
  ASSERT_TRUE(c.send("PUT /reject HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                     std::to_string(big.size()) + "\r\n\r\n"));
  c.send(big); // may fail part-way once the server closes
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->field("Connection"), "close");
  EXPECT_TRUE(c.closed_by_server());
}

struct bad_request_case {
  std::string wire;
  int status;
};

TEST_P(ServerTest, ParseErrorsGetTheirStatusAndClose) {
  server_options o = options();
  o.limits.max_request_line = 1024;
  o.limits.max_fields = 10;
  start(o);
  std::string many_fields = "GET / HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 20; ++i)
    many_fields += "X-F" + std::to_string(i) + ": v\r\n";
  many_fields += "\r\n";
  std::vector<bad_request_case> const cases = {
      {"GET / HTTP/1.1\r\n\r\n", 400},             // no Host
      {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},  // version
      {"GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400}, // request line
      {"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400}, // space before colon
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"PUT / HTTP/1.1\r\nHost: t\r\nExpect: magic\r\n\r\n", 417},
      {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      {"GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
      {"GET /" + std::string(2000, 'a'), 414}, // no end of line yet
      {many_fields, 431},
  };
  for (auto const& bad : cases) {
    client c(port());
    ASSERT_TRUE(c.send(bad.wire));
    auto r = c.read_reply();
    ASSERT_TRUE(r) << bad.wire.substr(0, 40);
    EXPECT_EQ(r->status, bad.status) << bad.wire.substr(0, 40);
    EXPECT_EQ(r->field("Connection"), "close");
    EXPECT_TRUE(c.closed_by_server()) << bad.wire.substr(0, 40);
  }
}

TEST_P(ServerTest, HeaderTimeoutClosesAStalledHead) {
  start(short_timeouts(options()));
  client c(port());
  auto const t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHo"));
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms); // not before the timeout
}

TEST_P(ServerTest, HeaderTimeoutAppliesToAStalledSecondRequest) {
  start(short_timeouts(options()));
  client c(port());
  ASSERT_TRUE(c.send(get("/hello") + "GET /hello HTTP/1.1\r\n"));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_P(ServerTest, SilentConnectionIsClosed) {
  start(short_timeouts(options()));
  client c(port());
  EXPECT_TRUE(c.closed_by_server());
}

TEST_P(ServerTest, IdleKeepAliveTimeout) {
  start(short_timeouts(options()));
  client c(port());
  ASSERT_TRUE(c.send(get("/hello")));
  ASSERT_TRUE(c.read_reply());
  auto const t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
}

TEST_P(ServerTest, BodyStallTimeout) {
  start(short_timeouts(options()));
  client c(port());
  ASSERT_TRUE(c.send("PUT /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789"));
  // Only the read fails: the handler still answers, then the connection closes.
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(r->body, "request body stalled");
  EXPECT_EQ(r->field("Connection"), "close");
  EXPECT_TRUE(c.closed_by_server());

  client chunks(port());
  ASSERT_TRUE(chunks.send("PUT /hash/100 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5\r\nhello\r\n10\r\nabc"));
  r = chunks.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(chunks.closed_by_server());
}

TEST_P(ServerTest, FileBodyWithSendfile) {
  start();
  std::string const& bytes = data_->file_bytes;
  client c(port());
  ASSERT_TRUE(c.send(get("/file")));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->field("Accept-Ranges"), "bytes");
  ASSERT_EQ(r->body.size(), bytes.size());
  EXPECT_TRUE(r->body == bytes);

  ASSERT_TRUE(c.send(get("/file", "Range: bytes=1000-1999\r\n")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 206);
  EXPECT_EQ(r->field("Content-Range"), "bytes 1000-1999/" + std::to_string(bytes.size()));
  EXPECT_TRUE(r->body == bytes.substr(1000, 1000));

  ASSERT_TRUE(c.send(get("/file", "Range: bytes=-100000\r\n")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 206);
  EXPECT_TRUE(r->body == bytes.substr(bytes.size() - 100000));

  ASSERT_TRUE(c.send(get("/file", "Range: bytes=1048576-\r\n")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 206);
  EXPECT_TRUE(r->body == bytes.substr(1048576));

  ASSERT_TRUE(c.send(get("/file", "Range: bytes=99999999-\r\n")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 416);
  EXPECT_EQ(r->field("Content-Range"), "bytes */" + std::to_string(bytes.size()));
  EXPECT_TRUE(r->body.empty());

  ASSERT_TRUE(c.send(get("/file", "Range: bytes=0-1,5-6\r\n")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), bytes.size());
}

TEST_P(ServerTest, FileBodyToASlowReader) {
  start();
  // A small receive buffer makes sendfile meet EAGAIN many times.
  client c(port(), 60s, 4096);
  ASSERT_TRUE(c.send(get("/file")));
  std::this_thread::sleep_for(100ms);
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->body == data_->file_bytes);
}

TEST_P(ServerTest, ClientLeavingDuringSendfile) {
  start();
  for (int i = 0; i < 5; ++i) {
    client c(port(), 60s, 4096);
    ASSERT_TRUE(c.send(get("/file")));
    ASSERT_EQ(c.read_more(), client::got::data);
  } // closed with unread data: the server's sendfile meets a reset (EPIPE, not SIGPIPE)
  client c(port());
  ASSERT_TRUE(c.send(get("/hello")));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
}

TEST_P(ServerTest, HandlerExceptionGives500AndTheServerGoesOn) {
  std::vector<std::string> errors;
  std::mutex m;
  server_options o = options();
  o.on_error = [&](std::string_view e) {
    std::lock_guard lock(m);
    errors.emplace_back(e);
  };
  start(o);
  client c(port());
  ASSERT_TRUE(c.send(get("/throw")));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  ASSERT_TRUE(c.send(get("/hello")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  client c2(port());
  ASSERT_TRUE(c2.send(get("/hello")));
  ASSERT_TRUE(c2.read_reply());
  std::lock_guard lock(m);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("handler failure on purpose"), std::string::npos);
  EXPECT_NE(errors[0].find("/throw"), std::string::npos);
}

TEST_P(ServerTest, AccessLog) {
  std::vector<std::string> lines;
  std::mutex m;
  server_options o = options();
  o.on_request = [&](pier::http::access_log_entry const& e) {
    std::lock_guard lock(m);
    lines.push_back(std::string(e.method) + " " + std::string(e.target) + " " +
                    std::to_string(e.status) + " " + std::to_string(e.body_bytes) + " " +
                    std::string(e.client_address));
    EXPECT_GE(e.duration.count(), 0);
  };
  start(o);
  client c(port());
  ASSERT_TRUE(c.send(get("/hello") + "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(c.read_reply());
  ASSERT_TRUE(c.read_reply(true));
  ASSERT_TRUE(c.send(get("/hello")));
  ASSERT_TRUE(c.read_reply());
  // The entry is written once the response has been handed to the kernel: maybe just after
  // the client read it.
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lock(m);
      if (lines.size() == 3)
        break;
    }
    std::this_thread::sleep_for(10ms);
  }
  std::lock_guard lock(m);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "GET /hello 200 5 127.0.0.1");
  EXPECT_EQ(lines[1], "HEAD /hello 200 0 127.0.0.1");
}

// Access log entries, copied: the callback's views die with it.
struct logged {
  std::string method, target, request_id, principal, user_agent, error_body;
  int status = 0;
  std::uint64_t received = 0;
  bool tls_handshake = false;
};

class access_log {
public:
  void add(pier::http::access_log_entry const& e) {
    std::lock_guard lock(m_);
    entries_.push_back({std::string(e.method), std::string(e.target), std::string(e.request_id),
                        std::string(e.principal), std::string(e.user_agent),
                        std::string(e.error_body), e.status,
                        e.received_bytes, e.tls_handshake});
    cv_.notify_all();
  }
  // The first n entries, once there (written after the response went to the kernel: maybe
  // just after the client read it).
  std::vector<logged> wait_for(std::size_t n) {
    std::unique_lock lock(m_);
    cv_.wait_for(lock, 60s, [&] { return entries_.size() >= n; });
    return entries_;
  }

private:
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<logged> entries_;
};

TEST_P(ServerTest, AccessLogCarriesIdUserAgentAndReceivedBytes) {
  access_log log;
  server_options o = options();
  o.on_request = [&](pier::http::access_log_entry const& e) { log.add(e); };
  start(o);
  client c(port());
  std::string const body(70000, 'u');
  ASSERT_TRUE(c.send("PUT /as-alice HTTP/1.1\r\nHost: t\r\nUser-Agent: docker/24.0.7\r\n"
                     "Content-Length: 70000\r\n\r\n" +
                     body));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  auto const id = r->field("X-Request-Id");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->size(), 16u);
  EXPECT_EQ(r->body, "id " + *id); // the handler saw the id that went back
  // A short, plain id from the client is kept; anything else is replaced.
  ASSERT_TRUE(c.send(get("/hello", "X-Request-Id: trace-42.a:b_c\r\n")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->field("X-Request-Id"), "trace-42.a:b_c");
  ASSERT_TRUE(c.send(get("/hello", "X-Request-Id: " + std::string(65, 'a') + "\r\n")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  std::string const long_replaced = r->field("X-Request-Id").value_or("");
  EXPECT_EQ(long_replaced.size(), 16u);
  ASSERT_TRUE(c.send(get("/hello", "X-Request-Id: a b\"c\r\n")));
  r = c.read_reply();
  ASSERT_TRUE(r);
  std::string const unsafe_replaced = r->field("X-Request-Id").value_or("");
  EXPECT_EQ(unsafe_replaced.size(), 16u);
  EXPECT_NE(unsafe_replaced, long_replaced);
  ASSERT_TRUE(c.send(get("/throw")));
  ASSERT_TRUE(c.read_reply());

  std::vector<logged> const lines = log.wait_for(5);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0].method, "PUT");
  EXPECT_EQ(lines[0].principal, "alice");
  EXPECT_EQ(lines[0].user_agent, "docker/24.0.7");
  EXPECT_EQ(lines[0].received, 70000u);
  EXPECT_EQ(lines[0].request_id, *id);
  EXPECT_EQ(lines[1].principal, ""); // anonymous: no one said otherwise
  EXPECT_EQ(lines[1].user_agent, "");
  EXPECT_EQ(lines[1].received, 0u);
  EXPECT_EQ(lines[1].request_id, "trace-42.a:b_c");
  EXPECT_EQ(lines[2].request_id, long_replaced);
  EXPECT_EQ(lines[3].request_id, unsafe_replaced);
  EXPECT_EQ(lines[3].error_body, ""); // only 5xx carry their body
  EXPECT_EQ(lines[4].status, 500);
  EXPECT_EQ(lines[4].error_body, "internal server error\n");
}

TEST_P(ServerTest, TlsHandshakeOnThePlainPortIsMarkedInTheLog) {
  access_log log;
  server_options o = options();
  o.on_request = [&](pier::http::access_log_entry const& e) { log.add(e); };
  start(o);
  {
    client c(port());
    // The start of a ClientHello: record type 22 (handshake), version 3.1.
    ASSERT_TRUE(c.send(std::string("\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03", 11)));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  {
    client c(port());
    ASSERT_TRUE(c.send("BREW / HTTP/1.1 extra\r\n\r\n"));
    ASSERT_TRUE(c.read_reply());
  }
  std::vector<logged> const lines = log.wait_for(2);
  ASSERT_EQ(lines.size(), 2u);
  // Two connections: their lines may come in either order.
  bool const tls_first = lines[0].tls_handshake;
  EXPECT_TRUE(lines[tls_first ? 0 : 1].tls_handshake);
  EXPECT_FALSE(lines[tls_first ? 1 : 0].tls_handshake); // a bad request, not a TLS client
  EXPECT_EQ(lines[0].status, 400);
  EXPECT_EQ(lines[1].status, 400);
}

TEST_P(ServerTest, GracefulStopFinishesInFlightRequests) {
  start();
  client idle(port());
  ASSERT_TRUE(idle.send(get("/hello")));
  ASSERT_TRUE(idle.read_reply());
  client busy(port());
  ASSERT_TRUE(busy.send(get("/slow")));
  while (data_->slow_started.load() == 0)
    std::this_thread::sleep_for(5ms);
  data_->slow_started = 0;
  srv_->get().stop();
  // The idle connection goes at once, the slow request completes.
  EXPECT_TRUE(idle.closed_by_server());
  data_->slow_release = true;
  auto r = busy.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slow done");
  EXPECT_EQ(r->field("Connection"), "close");
  EXPECT_TRUE(busy.closed_by_server());
  srv_->thread().join(); // run() returned
  // New connections are refused.
  EXPECT_THROW(client{port()}, std::runtime_error);
}

TEST_P(ServerTest, StopCancelsWhatOutlivesTheShutdownTimeout) {
  server_options o = options();
  o.shutdown_timeout = 100ms;
  start(o);
  client busy(port());
  ASSERT_TRUE(busy.send(get("/slow")));
  while (data_->slow_started.load() == 0)
    std::this_thread::sleep_for(5ms);
  data_->slow_started = 0;
  srv_->get().stop();
  EXPECT_TRUE(busy.closed_by_server()); // cancelled: the handler is never released
  srv_->thread().join();
}

TEST_P(ServerTest, MaxConnections) {
  server_options o = options();
  o.max_connections = 1;
  start(o);
  client first(port());
  ASSERT_TRUE(first.send(get("/hello")));
  ASSERT_TRUE(first.read_reply());
  client second(port());
  auto r = second.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_TRUE(second.closed_by_server());
}

// Issue 10: 10,300 idle connections from one address starved everyone. With a limit of 3
// per address, the 4th from 127.0.0.1 is refused (503, closed, one warning however many),
// 127.0.0.2 is served meanwhile, and a connection that closes frees its place at once.
TEST_P(ServerTest, ConnectionsPerClientAddress) {
  server_options o = options();
  o.max_connections_per_client = 3;
  o.idle_timeout = 5s;
  o.header_timeout = 5s;
  std::atomic<int> warnings{0};
  o.on_warning = [&warnings](std::string_view) { ++warnings; };
  start(o);
  auto const served = [](client& c, std::string_view extra = {}) {
    if (!c.send(get("/hello", extra)))
      return 0;
    auto const r = c.read_reply();
    return r ? r->status : 0;
  };
  std::vector<std::unique_ptr<client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<client>(port(), 5s, 0, "127.0.0.1"));
    ASSERT_EQ(served(*held.back()), 200); // accepted and counted before the next one
  }
  for (int i = 0; i < 2; ++i) {
    client refused(port(), 5s, 0, "127.0.0.1");
    auto const r = refused.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_TRUE(refused.closed_by_server());
  }
  EXPECT_EQ(warnings.load(), 1);

  client other(port(), 5s, 0, "127.0.0.2");
  EXPECT_EQ(served(other), 200);
  EXPECT_EQ(served(other), 200);

  // The server closes the first connection, and gives its place back before it does.
  EXPECT_EQ(served(*held.front(), "Connection: close\r\n"), 200);
  EXPECT_TRUE(held.front()->closed_by_server());
  client again(port(), 5s, 0, "127.0.0.1");
  EXPECT_EQ(served(again), 200);
  client over(port(), 5s, 0, "127.0.0.1");
  auto const r = over.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
}

// --- listening on several addresses ------------------------------------------------------

// Whether this machine can listen on ::1 (not so without IPv6).
bool has_ipv6_loopback() {
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io);
  std::error_code ec;
  probe.open(asio::ip::tcp::v6(), ec);
  if (!ec)
    probe.bind({asio::ip::address_v6::loopback(), 0}, ec);
  return !ec;
}

asio::ip::tcp::endpoint loopback(char const* address, std::uint16_t port) {
  return {asio::ip::make_address(address), port};
}

int status_of_get(client& c) {
  if (!c.send(get("/hello")))
    return 0;
  auto const r = c.read_reply();
  return r ? r->status : 0;
}

// Issue 10: "localhost" was bound at its first address only, whatever the hosts file
// listed; it stands for 127.0.0.1 and ::1 (RFC 6761), both on the one port reported.
TEST_P(ServerTest, LocalhostListensOnBothLoopbackAddresses) {
  if (!has_ipv6_loopback())
    GTEST_SKIP() << "no ::1 on this machine";
  server_options o = options();
  o.address = "localhost";
  start(o);
  auto const& bound = srv_->get().endpoints();
  ASSERT_EQ(bound.size(), 2u);
  EXPECT_EQ(bound[0], loopback("127.0.0.1", port()));
  EXPECT_EQ(bound[1], loopback("::1", port()));
  client v4(loopback("127.0.0.1", port()));
  client v6(loopback("::1", port()));
  EXPECT_EQ(status_of_get(v4), 200);
  EXPECT_EQ(status_of_get(v6), 200);
  EXPECT_EQ(status_of_get(v4), 200); // both stay served, side by side
}

// The addresses share one server: its connection limit counts them all.
TEST_P(ServerTest, MaxConnectionsCountsEveryAddress) {
  if (!has_ipv6_loopback())
    GTEST_SKIP() << "no ::1 on this machine";
  server_options o = options();
  o.addresses = {asio::ip::make_address("127.0.0.1"), asio::ip::make_address("::1")};
  o.max_connections = 1;
  start(o);
  client first(loopback("127.0.0.1", port()));
  ASSERT_EQ(status_of_get(first), 200);
  client second(loopback("::1", port()));
  auto const r = second.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
}

// Two documentation addresses (RFC 5737) that this machine cannot bind; some sandboxes
// do have one of them.
std::vector<asio::ip::address> foreign_addresses() {
  std::vector<asio::ip::address> out;
  for (char const* candidate :
       {"198.51.100.1", "203.0.113.1", "192.0.2.1", "198.51.100.2", "203.0.113.2"}) {
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io, asio::ip::tcp::v4());
    std::error_code ec;
    probe.bind(loopback(candidate, 0), ec);
    if (ec.value() == EADDRNOTAVAIL && out.size() < 2)
      out.push_back(asio::ip::make_address(candidate));
  }
  return out;
}

// An address the machine does not have (as ::1 is on one without IPv6) is left out with
// one warning while the others serve; with none left, no server.
TEST_P(ServerTest, AnUnavailableAddressIsLeftOut) {
  auto const foreign = foreign_addresses();
  if (foreign.size() < 2)
    GTEST_SKIP() << "this machine has the documentation addresses";
  server_options o = options();
  o.addresses = {foreign[0], asio::ip::make_address("127.0.0.1")};
  std::vector<std::string> warnings;
  o.on_warning = [&warnings](std::string_view w) { warnings.emplace_back(w); };
  start(o);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(foreign[0].to_string()), std::string::npos) << warnings[0];
  ASSERT_EQ(srv_->get().endpoints().size(), 1u);
  EXPECT_EQ(srv_->get().endpoints()[0], loopback("127.0.0.1", port()));
  client c(loopback("127.0.0.1", port()));
  EXPECT_EQ(status_of_get(c), 200);

  o.addresses = foreign;
  try {
    pier::http::server none(o, make_handler(*data_));
    FAIL() << "a server with no address";
  } catch (std::system_error const& e) {
    EXPECT_EQ(e.code().value(), EADDRNOTAVAIL) << e.what();
  }
}

// A fixed port taken at one of the addresses fails the start, as it does for one address.
TEST_P(ServerTest, PortTakenAtOneAddressIsRefused) {
  if (!has_ipv6_loopback())
    GTEST_SKIP() << "no ::1 on this machine";
  asio::io_context io;
  asio::ip::tcp::acceptor taken(io, loopback("::1", 0));
  server_options o = options();
  o.address = "localhost";
  o.port = taken.local_endpoint().port();
  try {
    pier::http::server second(o, make_handler(*data_));
    FAIL() << "a server bound [::1]:" << o.port;
  } catch (std::system_error const& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE) << e.what();
  }
}

TEST(ListenAddresses, LiteralsAndLocalhost) {
  using pier::http::listen_addresses;
  using list = std::vector<asio::ip::address>;
  auto const v4 = asio::ip::make_address("127.0.0.1");
  auto const v6 = asio::ip::make_address("::1");
  EXPECT_EQ(listen_addresses("127.0.0.1").value(), list{v4});
  EXPECT_EQ(listen_addresses("::1").value(), list{v6});
  EXPECT_EQ(listen_addresses("0.0.0.0").value(), list{asio::ip::make_address("0.0.0.0")});
  EXPECT_EQ(listen_addresses("::").value(), list{asio::ip::make_address("::")});
  EXPECT_EQ(listen_addresses("localhost").value(), (list{v4, v6}));
  EXPECT_EQ(listen_addresses("LocalHost.").value(), (list{v4, v6}));
  EXPECT_EQ(listen_addresses("registry.localhost").value(), (list{v4, v6}));
}

INSTANTIATE_TEST_SUITE_P(Threading, ServerTest,
                         ::testing::Values(threading::context_per_thread,
                                           threading::shared_context),
                         [](auto const& info) {
                           return info.param == threading::context_per_thread ? "PerThread"
                                                                              : "SharedContext";
                         });

// --- the examples in the headers compile and run ----------------------------------------

asio::awaitable<std::uint64_t> count_bytes(pier::http::request& req) {
  std::array<char, 16 * 1024> buf;
  std::uint64_t total = 0;
  for (;;) {
    pier::result<std::size_t> n = co_await req.body().read_some(buf);
    if (!n || *n == 0) // an error (stall, disconnect, bad chunk) or the end of the body
      co_return total;
    total += *n;
  }
}

TEST(HeaderExamples, RequestAndHandler) {
  asio::io_context ctx;
  pier::http::string_body_reader body(std::string(40000, 'z'));
  pier::http::request_head head;
  head.set_method("PUT");
  head.set_target("/x");
  pier::http::request req(head, body, "127.0.0.1");
  std::uint64_t total = 0;
  asio::co_spawn(
      ctx, [&]() -> asio::awaitable<void> { total = co_await count_bytes(req); }, asio::detached);

  pier::http::handler hello =
      [](pier::http::request& req) -> asio::awaitable<pier::http::response> {
    co_return pier::http::response::text(200, "hello from " + std::string(req.target()));
  };
  std::string text;
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        pier::http::response r = co_await hello(req);
        text = std::get<std::string>(r.body());
      },
      asio::detached);
  ctx.run();
  EXPECT_EQ(total, 40000u);
  EXPECT_EQ(text, "hello from /x");
}

TEST(HeaderExamples, Response) {
  using pier::http::response;
  response a = response::json(404, R"({"errors":[]})");
  response b(202);
  b.headers().set("Location", "/v2/library/ubuntu/blobs/uploads/5f0c");
  b.headers().set("Range", "0-0");
  pier::result<pier::http::file_body> f = pier::http::open_file("/etc/hostname");
  if (f)
    b = response::file(200, *f, "text/plain");
  EXPECT_EQ(a.headers().find("Content-Type"), "application/json");
  EXPECT_EQ(b.status(), f ? 200 : 202);
  EXPECT_EQ(pier::http::open_file("/nonexistent/x").error(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(pier::http::open_file("/").error(), std::errc::not_supported);
}

TEST(HeaderExamples, ReadBodyLimits) {
  asio::io_context ctx;
  pier::http::string_body_reader big(std::string(100, 'a'));
  std::error_code ec;
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> { ec = (co_await pier::http::read_body(big, 99)).error(); },
      asio::detached);
  ctx.run();
  EXPECT_EQ(ec, pier::http::body_error::too_large);
  EXPECT_EQ(pier::http::http_status(pier::http::body_error::too_large), 413);
}

TEST(HeaderExamples, Server) {
  pier::http::server_options opts;
  opts.port = 0; // any free port; server::port() tells which
  opts.address = "127.0.0.1";
  opts.threads = 1;
  pier::http::server srv(opts, [](pier::http::request&) -> asio::awaitable<pier::http::response> {
    co_return pier::http::response::text(200, "ok");
  });
  srv.handle_signals(); // SIGINT/SIGTERM: graceful stop; a second one: immediate
  std::thread t([&] { srv.run(); });
  {
    client c(srv.port());
    ASSERT_TRUE(c.send(get("/")));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "ok");
  }
  srv.stop();
  t.join();
}

TEST(Server, StopBeforeRun) {
  server_options o = test_options(threading::context_per_thread);
  pier::http::server srv(o, [](request&) -> asio::awaitable<response> { co_return response(204); });
  srv.stop();
  srv.run(); // returns at once
  SUCCEED();
}

TEST_P(ServerTest, PortInUseIsRefused) {
  // SO_REUSEPORT, which the per-thread acceptors share their port with, must not let a
  // second server (or another program) quietly take part of an occupied port.
  start();
  server_options o = options();
  o.port = port();
  try {
    pier::http::server second(o, make_handler(*data_));
    FAIL() << "a second server bound port " << o.port;
  } catch (std::system_error const& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE) << e.what();
  }
  client c(port()); // the first server still serves
  ASSERT_TRUE(c.send(get("/hello")));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

} // namespace server_test
