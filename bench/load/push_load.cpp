// SPDX-License-Identifier: Apache-2.0
//
// Load generator for bench/load/registry.sh: pushes small images with concurrent workers,
// uploads one large blob, downloads one, and a tiny sink server that checks the client is
// not the bottleneck. Blocking sockets, one thread per worker, HTTP/1.1 keep-alive,
// loopback only. Works against any OCI / Docker v2 registry (pier-registry and the
// reference registry, Distribution).
//
//   pier_bench_push_load push --port P [--images 500] [--workers 16] [--repos 16]
//                             [--prefix push] [--no-head] [--min-layers 1] [--max-layers 2]
//                             [--min-layer-size 1024] [--max-layer-size 65536] [--seed 1]
//   pier_bench_push_load upload --port P --file F [--repo big/blob]
//                               [--flow monolithic|post-put] [--digest sha256:...]
//   pier_bench_push_load download --port P --path /v2/NAME/blobs/DIGEST
//   pier_bench_push_load sink --port P
//   pier_bench_push_load hammer --port P --path TARGET [--method HEAD] [--header 'K: V']
//                               [--connections 64] [--threads 2] [--duration 10]
//
// Every mode but `sink` prints one line of key=value pairs (the script parses them) and
// exits 1 on any unexpected status.
//
// push: each image is a config blob (~300 bytes of JSON) and 1-2 random layers, then an
// OCI image manifest PUT by tag. Every blob goes as clients send it: HEAD (expect 404;
// skipped with --no-head), POST /blobs/uploads/ (202 + Location), PUT Location&digest=
// with the whole blob as the body (201). Images are generated (and hashed) before the
// clock starts; workers take the next image from a shared counter; image i goes to
// repository PREFIX/r(i % repos) with tag v<i>.
//
// upload: monolithic = one POST /blobs/uploads/?digest= with the body (pier supports it;
// Distribution 2.8 answers 202 and ignores the body); post-put = POST, then PUT
// ?digest= with the body. The body is sent with sendfile(2) from the file; the time runs
// from the first request byte to the 201 (the registry commits the blob before answering).

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

[[noreturn]] void fail(std::string const& what) { throw std::runtime_error(what); }

std::string errno_text(char const* what) { return std::string(what) + ": " + std::strerror(errno); }

// --- SHA-256 -------------------------------------------------------------------------------

std::string to_hex(unsigned char const* p, std::size_t n) {
  static char const digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

class sha256 {
public:
  sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1)
      fail("EVP_DigestInit_ex");
  }
  ~sha256() { EVP_MD_CTX_free(ctx_); }
  sha256(sha256 const&) = delete;
  sha256& operator=(sha256 const&) = delete;
  void update(void const* p, std::size_t n) { EVP_DigestUpdate(ctx_, p, n); }
  std::string digest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, md, &n);
    return "sha256:" + to_hex(md, n);
  }

private:
  EVP_MD_CTX* ctx_;
};

std::string digest_of(std::string_view bytes) {
  sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.digest();
}

// --- a blocking HTTP/1.1 client ----------------------------------------------------------

struct response {
  int status = 0;
  std::string location;
  std::string body;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

class connection {
public:
  explicit connection(std::uint16_t port) : port_(port) {}
  ~connection() { close(); }
  connection(connection const&) = delete;
  connection& operator=(connection const&) = delete;

  // One request; the body comes from `body` or, when `file_fd` >= 0, `file_size` bytes of
  // that file. Reconnects once if a kept-alive connection turns out closed before anything
  // of the response arrived.
  response request(std::string_view method, std::string_view target,
                   std::string_view content_type = {}, std::string_view body = {}, int file_fd = -1,
                   std::uint64_t file_size = 0, std::string_view extra_headers = {}) {
    std::uint64_t const length = file_fd >= 0 ? file_size : body.size();
    std::string head;
    head.reserve(256 + target.size());
    head.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1:");
    head.append(std::to_string(port_)).append("\r\nUser-Agent: pier-bench-push-load\r\n");
    if (!content_type.empty())
      head.append("Content-Type: ").append(content_type).append("\r\n");
    if (length > 0 || method == "POST" || method == "PUT" || method == "PATCH")
      head.append("Content-Length: ").append(std::to_string(length)).append("\r\n");
    head.append(extra_headers).append("\r\n");
    for (int attempt = 0;; ++attempt) {
      bool const reused = fd_ >= 0;
      got_bytes_ = false;
      if (fd_ < 0)
        open();
      try {
        if (file_fd < 0 && !body.empty() && body.size() < 64 * 1024) {
          std::string all = head;
          all.append(body);
          send_all(all);
        } else {
          send_all(head);
          if (file_fd >= 0)
            send_file(file_fd, file_size);
          else
            send_all(body);
        }
        return read_response(method == "HEAD");
      } catch (std::exception const&) {
        close();
        if (!reused || attempt > 0 || got_bytes_)
          throw;
      }
    }
  }

  // GET with the body discarded; returns the status and the body size.
  std::pair<int, std::uint64_t> get_discard(std::string_view target) {
    std::string head = "GET " + std::string(target) +
                       " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                       "\r\nUser-Agent: pier-bench-push-load\r\n\r\n";
    if (fd_ < 0)
      open();
    send_all(head);
    discard_ = true;
    response r = read_response(false);
    discard_ = false;
    return {r.status, discarded_};
  }

private:
  void open() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
      fail(errno_text("socket"));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::string const e = errno_text("connect");
      close();
      fail(e);
    }
    buffer_.clear();
  }

  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
    buffer_.clear();
  }

  void send_all(std::string_view s) {
    while (!s.empty()) {
      ssize_t const n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        fail(errno_text("send"));
      }
      s.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void send_file(int file_fd, std::uint64_t size) {
    off_t offset = 0;
    while (static_cast<std::uint64_t>(offset) < size) {
      std::size_t const chunk =
          static_cast<std::size_t>(std::min<std::uint64_t>(size - offset, 1u << 30));
      ssize_t const n = ::sendfile(fd_, file_fd, &offset, chunk);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        fail(errno_text("sendfile"));
      }
      if (n == 0)
        fail("sendfile: file shorter than expected");
    }
  }

  // Appends at least one byte to buffer_; throws on EOF or error.
  void fill() {
    char tmp[64 * 1024];
    for (;;) {
      ssize_t const n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n > 0) {
        got_bytes_ = true;
        buffer_.append(tmp, static_cast<std::size_t>(n));
        return;
      }
      if (n == 0)
        fail("connection closed by the server");
      if (errno != EINTR)
        fail(errno_text("recv"));
    }
  }

  // Takes exactly n body bytes (kept unless discarding).
  void take_body(std::uint64_t n, std::string& body) {
    while (n > 0) {
      if (buffer_.empty()) {
        if (discard_) {
          // Large downloads: MSG_TRUNC makes TCP drop the bytes without copying them, so
          // the client costs as little as it can and the server is what is measured.
          static thread_local std::unique_ptr<char[]> scratch(new char[1 << 20]);
          ssize_t const got =
              ::recv(fd_, scratch.get(),
                     static_cast<std::size_t>(std::min<std::uint64_t>(n, 1 << 20)), MSG_TRUNC);
          if (got > 0) {
            n -= static_cast<std::uint64_t>(got);
            discarded_ += static_cast<std::uint64_t>(got);
            continue;
          }
          if (got == 0)
            fail("connection closed in the body");
          if (errno != EINTR)
            fail(errno_text("recv"));
          continue;
        }
        fill();
      }
      std::size_t const k = static_cast<std::size_t>(std::min<std::uint64_t>(n, buffer_.size()));
      if (discard_)
        discarded_ += k;
      else
        body.append(buffer_, 0, k);
      buffer_.erase(0, k);
      n -= k;
    }
  }

  std::string take_line() {
    std::size_t pos;
    while ((pos = buffer_.find("\r\n")) == std::string::npos)
      fill();
    std::string line = buffer_.substr(0, pos);
    buffer_.erase(0, pos + 2);
    return line;
  }

  response read_response(bool head_request) {
    got_bytes_ = got_bytes_ || !buffer_.empty();
    discarded_ = 0;
    response r;
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
      fill();
    std::string_view const head(buffer_.data(), end + 2);
    // "HTTP/1.1 200 OK"
    if (head.size() < 12 || head.substr(0, 5) != "HTTP/")
      fail("malformed status line");
    r.status = std::atoi(std::string(head.substr(9, 3)).c_str());
    std::optional<std::uint64_t> length;
    bool chunked = false;
    bool close_after = false;
    std::size_t pos = head.find("\r\n") + 2;
    while (pos < head.size()) {
      std::size_t const eol = head.find("\r\n", pos);
      std::string_view const line = head.substr(pos, eol - pos);
      pos = eol + 2;
      std::size_t const colon = line.find(':');
      if (colon == std::string_view::npos)
        continue;
      std::string_view const name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      if (iequals(name, "Content-Length"))
        length = std::strtoull(std::string(value).c_str(), nullptr, 10);
      else if (iequals(name, "Transfer-Encoding"))
        chunked = value.find("chunked") != std::string_view::npos;
      else if (iequals(name, "Location"))
        r.location = std::string(value);
      else if (iequals(name, "Connection"))
        close_after = iequals(value, "close");
    }
    buffer_.erase(0, end + 4);
    bool const no_body = head_request || r.status == 204 || r.status == 304 || r.status < 200;
    if (!no_body) {
      if (chunked) {
        for (;;) {
          std::uint64_t const n = std::strtoull(take_line().c_str(), nullptr, 16);
          if (n == 0) {
            while (!take_line().empty()) {
            }
            break;
          }
          take_body(n, r.body);
          take_line();
        }
      } else if (length) {
        take_body(*length, r.body);
      } else {
        fail("response without Content-Length or chunked encoding");
      }
    }
    if (close_after)
      close();
    return r;
  }

  std::uint16_t port_;
  int fd_ = -1;
  std::string buffer_;
  bool got_bytes_ = false;
  bool discard_ = false;
  std::uint64_t discarded_ = 0;
};

void expect(response const& r, int status, std::string_view what) {
  if (r.status != status)
    fail(std::string(what) + ": HTTP " + std::to_string(r.status) + " (expected " +
         std::to_string(status) + ") " + r.body.substr(0, 300));
}

// The path and query of a Location, absolute (Distribution) or not (pier).
std::string target_of(std::string const& location) {
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) {
    std::size_t const slash = location.find('/', location.find("//") + 2);
    return slash == std::string::npos ? "/" : location.substr(slash);
  }
  return location;
}

std::string with_digest(std::string target, std::string const& digest) {
  target += target.find('?') == std::string::npos ? "?digest=" : "&digest=";
  target += digest;
  return target;
}

// --- options -------------------------------------------------------------------------------

struct options {
  std::uint16_t port = 0;
  std::size_t images = 500;
  std::size_t workers = 16;
  std::size_t repos = 16;
  std::string prefix = "push";
  bool head = true;
  std::size_t min_layers = 1;
  std::size_t max_layers = 2;
  std::size_t min_layer_size = 1024;
  std::size_t max_layer_size = 64 * 1024;
  std::uint64_t seed = 1;
  std::string file;
  std::string repo = "big/blob";
  std::string flow = "monolithic";
  std::string digest;
  std::string path;
  std::string method = "GET";
  std::vector<std::string> headers;
  std::size_t connections = 64;
  std::size_t threads = 2;
  double duration = 10;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 2; i < argc; ++i) {
    std::string_view const flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        fail("missing value for " + std::string(flag));
      return argv[++i];
    };
    auto number = [&] { return std::strtoull(value().c_str(), nullptr, 10); };
    if (flag == "--port")
      o.port = static_cast<std::uint16_t>(number());
    else if (flag == "--images")
      o.images = number();
    else if (flag == "--workers")
      o.workers = std::max<std::size_t>(1, number());
    else if (flag == "--repos")
      o.repos = std::max<std::size_t>(1, number());
    else if (flag == "--prefix")
      o.prefix = value();
    else if (flag == "--no-head")
      o.head = false;
    else if (flag == "--min-layers")
      o.min_layers = number();
    else if (flag == "--max-layers")
      o.max_layers = number();
    else if (flag == "--min-layer-size")
      o.min_layer_size = number();
    else if (flag == "--max-layer-size")
      o.max_layer_size = number();
    else if (flag == "--seed")
      o.seed = number();
    else if (flag == "--file")
      o.file = value();
    else if (flag == "--repo")
      o.repo = value();
    else if (flag == "--flow")
      o.flow = value();
    else if (flag == "--digest")
      o.digest = value();
    else if (flag == "--path")
      o.path = value();
    else if (flag == "--method")
      o.method = value();
    else if (flag == "--header")
      o.headers.push_back(value());
    else if (flag == "--connections")
      o.connections = std::max<std::size_t>(1, number());
    else if (flag == "--threads")
      o.threads = number();
    else if (flag == "--duration")
      o.duration = std::strtod(value().c_str(), nullptr);
    else
      fail("unknown option " + std::string(flag));
  }
  if (o.port == 0)
    fail("--port is required");
  return o;
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// --- push ------------------------------------------------------------------------------------

struct blob {
  std::string digest;
  std::string bytes;
};

struct image {
  std::string repo;
  std::string tag;
  std::vector<blob> blobs; // config first
  std::string manifest;
};

std::uint64_t splitmix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string random_bytes(std::uint64_t& s, std::size_t n) {
  std::string b(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t const v = splitmix(s);
    std::memcpy(b.data() + i, &v, std::min<std::size_t>(8, n - i));
  }
  return b;
}

std::vector<image> make_images(options const& o) {
  std::vector<image> images(o.images);
  for (std::size_t i = 0; i < o.images; ++i) {
    std::uint64_t s = o.seed * 1000003 + i;
    image& im = images[i];
    im.repo = o.prefix + "/r" + std::to_string(i % o.repos);
    im.tag = "v" + std::to_string(i);
    std::size_t const span = o.max_layers - std::min(o.min_layers, o.max_layers) + 1;
    std::size_t const layers = o.min_layers + splitmix(s) % span;
    std::vector<blob> layer_blobs;
    for (std::size_t l = 0; l < layers; ++l) {
      std::size_t const size_span =
          o.max_layer_size - std::min(o.min_layer_size, o.max_layer_size) + 1;
      std::size_t const size = o.min_layer_size + splitmix(s) % size_span;
      blob b{{}, random_bytes(s, size)};
      b.digest = digest_of(b.bytes);
      layer_blobs.push_back(std::move(b));
    }
    std::string config = R"({"architecture":"amd64","os":"linux","config":{"Env":["BENCH=)" +
                         to_hex(reinterpret_cast<unsigned char const*>(&s), sizeof s) +
                         R"("]},"rootfs":{"type":"layers","diff_ids":[)";
    for (std::size_t l = 0; l < layer_blobs.size(); ++l)
      config += (l ? ",\"" : "\"") + layer_blobs[l].digest + "\"";
    config += "]}}";
    blob c{digest_of(config), config};
    im.manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                  R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                  c.digest + R"(","size":)" + std::to_string(c.bytes.size()) + R"(},"layers":[)";
    for (std::size_t l = 0; l < layer_blobs.size(); ++l)
      im.manifest += std::string(l ? "," : "") +
                     R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
                     layer_blobs[l].digest + R"(","size":)" +
                     std::to_string(layer_blobs[l].bytes.size()) + "}";
    im.manifest += "]}";
    im.blobs.push_back(std::move(c));
    for (blob& b : layer_blobs)
      im.blobs.push_back(std::move(b));
  }
  return images;
}

void push_image(connection& c, image const& im, bool head, std::size_t& requests) {
  std::string const base = "/v2/" + im.repo;
  for (blob const& b : im.blobs) {
    if (head) {
      response const r = c.request("HEAD", base + "/blobs/" + b.digest);
      ++requests;
      if (r.status == 200)
        continue; // already there (a re-run against the same data)
      expect(r, 404, "HEAD blob");
    }
    response const started = c.request("POST", base + "/blobs/uploads/");
    ++requests;
    expect(started, 202, "POST upload");
    if (started.location.empty())
      fail("POST upload: no Location");
    response const done = c.request("PUT", with_digest(target_of(started.location), b.digest),
                                    "application/octet-stream", b.bytes);
    ++requests;
    expect(done, 201, "PUT upload");
  }
  response const r = c.request("PUT", base + "/manifests/" + im.tag,
                               "application/vnd.oci.image.manifest.v1+json", im.manifest);
  ++requests;
  expect(r, 201, "PUT manifest");
}

int run_push(options const& o) {
  std::vector<image> const images = make_images(o);
  std::uint64_t blob_bytes = 0;
  std::size_t blob_count = 0;
  for (image const& im : images)
    for (blob const& b : im.blobs) {
      blob_bytes += b.bytes.size();
      ++blob_count;
    }
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> requests{0};
  std::atomic<bool> failed{false};
  std::vector<double> latencies(images.size());
  std::vector<std::string> errors(o.workers);
  std::vector<std::thread> threads;
  auto const t0 = clock_type::now();
  for (std::size_t w = 0; w < o.workers; ++w) {
    threads.emplace_back([&, w] {
      try {
        connection c(o.port);
        std::size_t mine = 0;
        for (std::size_t i; !failed && (i = next.fetch_add(1)) < images.size();) {
          auto const start = clock_type::now();
          push_image(c, images[i], o.head, mine);
          latencies[i] = seconds_since(start);
        }
        requests += mine;
      } catch (std::exception const& e) {
        errors[w] = e.what();
        failed = true;
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  double const elapsed = seconds_since(t0);
  for (std::string const& e : errors)
    if (!e.empty()) {
      std::fprintf(stderr, "push failed: %s\n", e.c_str());
      return 1;
    }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies[std::min(
               latencies.size() - 1,
               static_cast<std::size_t>(p * static_cast<double>(latencies.size())))] *
           1e3;
  };
  std::printf("images=%zu workers=%zu blobs=%zu blob_bytes=%llu requests=%zu seconds=%.3f "
              "images_per_s=%.1f requests_per_s=%.0f p50_ms=%.2f p99_ms=%.2f\n",
              images.size(), o.workers, blob_count, static_cast<unsigned long long>(blob_bytes),
              requests.load(), elapsed, static_cast<double>(images.size()) / elapsed,
              static_cast<double>(requests.load()) / elapsed, pct(0.50), pct(0.99));
  return 0;
}

// --- upload / download ---------------------------------------------------------------------

std::string digest_of_file(int fd, std::uint64_t size) {
  sha256 h;
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  std::uint64_t done = 0;
  while (done < size) {
    ssize_t const n = ::pread(fd, buf.get(), 1 << 20, static_cast<off_t>(done));
    if (n <= 0)
      fail(errno_text("pread"));
    h.update(buf.get(), static_cast<std::size_t>(n));
    done += static_cast<std::uint64_t>(n);
  }
  return h.digest();
}

int run_upload(options const& o) {
  int const fd = ::open(o.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail(errno_text(o.file.c_str()));
  struct ::stat st {};
  ::fstat(fd, &st);
  auto const size = static_cast<std::uint64_t>(st.st_size);
  std::string const digest = o.digest.empty() ? digest_of_file(fd, size) : o.digest;
  std::string const base = "/v2/" + o.repo + "/blobs/uploads/";
  connection c(o.port);
  auto const t0 = clock_type::now();
  if (o.flow == "monolithic") {
    response const r =
        c.request("POST", with_digest(base, digest), "application/octet-stream", {}, fd, size);
    expect(r, 201, "monolithic POST");
  } else if (o.flow == "post-put") {
    response const started = c.request("POST", base);
    expect(started, 202, "POST upload");
    response const r = c.request("PUT", with_digest(target_of(started.location), digest),
                                 "application/octet-stream", {}, fd, size);
    expect(r, 201, "PUT upload");
  } else {
    fail("unknown --flow " + o.flow);
  }
  double const elapsed = seconds_since(t0);
  ::close(fd);
  std::printf("bytes=%llu seconds=%.3f MB_per_s=%.1f digest=%s\n",
              static_cast<unsigned long long>(size), elapsed,
              static_cast<double>(size) / elapsed / 1e6, digest.c_str());
  return 0;
}

int run_download(options const& o) {
  connection c(o.port);
  auto const t0 = clock_type::now();
  auto const [status, bytes] = c.get_discard(o.path);
  double const elapsed = seconds_since(t0);
  if (status != 200) {
    std::fprintf(stderr, "download: HTTP %d\n", status);
    return 1;
  }
  std::printf("bytes=%llu seconds=%.3f MB_per_s=%.1f\n", static_cast<unsigned long long>(bytes),
              elapsed, static_cast<double>(bytes) / elapsed / 1e6);
  return 0;
}

// --- hammer ----------------------------------------------------------------------------------

// wrk's closed loop (each connection sends its next request when the previous response has
// arrived; epoll, one loop per thread) for what wrk cannot do: wrk 4.1 waits for the body
// of a HEAD response that has a Content-Length, and hangs. Only 200s count as done.
struct hammer_result {
  std::uint64_t ok = 0;
  std::uint64_t other = 0;
};

hammer_result hammer_thread(options const& o, std::size_t connections, std::string const& request,
                            clock_type::time_point deadline) {
  bool const head = o.method == "HEAD";
  int const ep = ::epoll_create1(EPOLL_CLOEXEC);
  struct conn {
    int fd = -1;
    std::string in;
  };
  std::vector<conn> conns(connections);
  for (std::size_t i = 0; i < connections; ++i) {
    int const fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(o.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      fail(errno_text("connect"));
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    conns[i].fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size()))
      fail(errno_text("send"));
  }
  hammer_result r;
  std::vector<epoll_event> events(connections);
  char buf[64 * 1024];
  while (clock_type::now() < deadline) {
    int const n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
    for (int e = 0; e < n; ++e) {
      conn& c = conns[events[static_cast<std::size_t>(e)].data.u64];
      for (;;) {
        ssize_t const got = ::recv(c.fd, buf, sizeof buf, 0);
        if (got > 0) {
          c.in.append(buf, static_cast<std::size_t>(got));
          continue;
        }
        if (got == 0)
          fail("hammer: connection closed by the server");
        if (errno == EAGAIN || errno == EWOULDBLOCK)
          break;
        if (errno != EINTR)
          fail(errno_text("recv"));
      }
      for (;;) {
        std::size_t const end = c.in.find("\r\n\r\n");
        if (end == std::string::npos)
          break;
        std::size_t body = 0;
        if (!head) {
          std::size_t const p = c.in.find("\r\nContent-Length:", 0);
          std::size_t const q =
              p != std::string::npos && p < end ? p : c.in.find("\r\ncontent-length:");
          if (q == std::string::npos || q > end)
            fail("hammer: response without Content-Length");
          body = std::strtoull(c.in.c_str() + q + 17, nullptr, 10);
        }
        if (c.in.size() < end + 4 + body)
          break;
        if (c.in.compare(9, 3, "200") == 0)
          ++r.ok;
        else
          ++r.other;
        c.in.erase(0, end + 4 + body);
        if (::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size()))
          fail(errno_text("send"));
      }
    }
  }
  for (conn& c : conns)
    ::close(c.fd);
  ::close(ep);
  return r;
}

int run_hammer(options const& o) {
  std::string request =
      o.method + " " + o.path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(o.port) + "\r\n";
  for (std::string const& h : o.headers)
    request += h + "\r\n";
  request += "\r\n";
  std::size_t const threads = std::max<std::size_t>(1, o.threads);
  auto const t0 = clock_type::now();
  auto const deadline = t0 + std::chrono::duration_cast<clock_type::duration>(
                                 std::chrono::duration<double>(o.duration));
  std::vector<hammer_result> results(threads);
  std::vector<std::string> errors(threads);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        std::size_t const share = o.connections / threads + (t < o.connections % threads ? 1 : 0);
        results[t] = hammer_thread(o, share, request, deadline);
      } catch (std::exception const& e) {
        errors[t] = e.what();
      }
    });
  for (std::thread& t : pool)
    t.join();
  double const elapsed = seconds_since(t0);
  hammer_result total;
  for (std::size_t t = 0; t < threads; ++t) {
    if (!errors[t].empty()) {
      std::fprintf(stderr, "%s\n", errors[t].c_str());
      return 1;
    }
    total.ok += results[t].ok;
    total.other += results[t].other;
  }
  std::printf("requests=%llu non200=%llu seconds=%.3f requests_per_s=%.0f\n",
              static_cast<unsigned long long>(total.ok + total.other),
              static_cast<unsigned long long>(total.other), elapsed,
              static_cast<double>(total.ok) / elapsed);
  return total.other == 0 ? 0 : 1;
}

// --- sink ------------------------------------------------------------------------------------

// Reads requests and throws their bodies away; 201 to each. Content-Length bodies only.
void sink_session(int fd) {
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  std::string head;
  for (;;) {
    std::size_t end;
    while ((end = head.find("\r\n\r\n")) == std::string::npos) {
      ssize_t const n = ::recv(fd, buf.get(), 1 << 20, 0);
      if (n <= 0) {
        ::close(fd);
        return;
      }
      head.append(buf.get(), static_cast<std::size_t>(n));
    }
    std::uint64_t length = 0;
    for (std::size_t p = 0; (p = head.find("\r\n", p)) < end; p += 2)
      if (head.size() > p + 17 &&
          iequals(std::string_view(head).substr(p + 2, 15), "Content-Length:"))
        length = std::strtoull(head.c_str() + p + 17, nullptr, 10);
    std::uint64_t const have = head.size() - (end + 4);
    std::uint64_t const extra = std::min(have, length);
    head.erase(0, end + 4 + extra);
    length -= extra;
    while (length > 0) {
      ssize_t const n =
          ::recv(fd, buf.get(), static_cast<std::size_t>(std::min<std::uint64_t>(length, 1 << 20)),
                 MSG_TRUNC); // TCP drops the bytes without copying them
      if (n <= 0) {
        ::close(fd);
        return;
      }
      length -= static_cast<std::uint64_t>(n);
    }
    static char const reply[] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    if (::send(fd, reply, sizeof reply - 1, MSG_NOSIGNAL) < 0) {
      ::close(fd);
      return;
    }
  }
}

int run_sink(options const& o) {
  int const s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(o.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s, 64) != 0)
    fail(errno_text("bind/listen"));
  for (;;) {
    int const fd = ::accept4(s, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR)
        continue;
      fail(errno_text("accept"));
    }
    std::thread(sink_session, fd).detach();
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s push|upload|download|hammer|sink --port P [options]\n",
                 argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN); // sendfile(2) to a closed socket: EPIPE, not death
  try {
    std::string_view const mode = argv[1];
    options const o = parse(argc, argv);
    if (mode == "push")
      return run_push(o);
    if (mode == "upload")
      return run_upload(o);
    if (mode == "download")
      return run_download(o);
    if (mode == "sink")
      return run_sink(o);
    if (mode == "hammer")
      return run_hammer(o);
    std::fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
  } catch (std::exception const& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
