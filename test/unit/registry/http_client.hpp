// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_TEST_UNIT_REGISTRY_HTTP_CLIENT_HPP
#define PIER_TEST_UNIT_REGISTRY_HTTP_CLIENT_HPP

// A small blocking HTTP/1.1 client over POSIX sockets for the registry tests: one
// connection per request, every byte under the test's control (raw requests, chunked
// bodies), responses read by Content-Length.

#include <pier/http/message.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace pier_test {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct reply {
  int status = 0; // 0: no (complete) response
  header_list headers;
  std::string body;

  std::optional<std::string> header(std::string_view name) const {
    for (auto const& [n, v] : headers)
      if (pier::http::iequals(n, name))
        return v;
    return std::nullopt;
  }
  std::string header_or_empty(std::string_view name) const { return header(name).value_or(""); }
};

class http_client {
public:
  explicit http_client(std::uint16_t port) : port_(port) {}

  /// Sends `method target` with `headers` and `body` (Content-Length framing unless the
  /// headers say `Transfer-Encoding`), and reads the response.
  reply request(std::string_view method, std::string_view target, header_list const& headers = {},
                std::string_view body = {}) const {
    std::string req;
    req.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    bool framed = false;
    for (auto const& [n, v] : headers) {
      framed = framed || pier::http::iequals(n, "Transfer-Encoding") ||
               pier::http::iequals(n, "Content-Length");
      req.append(n).append(": ").append(v).append("\r\n");
    }
    if (!framed && (!body.empty() || method == "PUT" || method == "POST" || method == "PATCH"))
      req.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    req.append("Connection: close\r\n\r\n").append(body);
    return raw(req, method == "HEAD");
  }

  reply get(std::string_view target, header_list const& headers = {}) const {
    return request("GET", target, headers);
  }
  reply head(std::string_view target, header_list const& headers = {}) const {
    return request("HEAD", target, headers);
  }

  /// Sends `bytes` as they are and reads one response. With `half_close` the client then
  /// shuts its sending side, as one that went away in the middle of a body.
  reply raw(std::string_view bytes, bool head_request = false, bool half_close = false) const {
    int const fd = connect_once();
    std::string buf;
    send_all(fd, bytes); // on failure the server answered early: read what it said
    if (half_close)
      ::shutdown(fd, SHUT_WR);
    reply r = read_reply(fd, buf, head_request);
    ::close(fd);
    return r;
  }

private:
  int connect_once() const {
    int const fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed");
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{};
    tv.tv_sec = 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }

  static bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t const n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  static bool read_more(int fd, std::string& buf) {
    char tmp[64 * 1024];
    ssize_t const n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0)
      return false;
    buf.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  static reply read_reply(int fd, std::string& buf, bool head_request) {
    std::size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos)
      if (!read_more(fd, buf))
        return {};
    reply r;
    std::string_view head(buf.data(), end + 2);
    std::size_t line_end = head.find("\r\n");
    if (head.substr(0, 9) != "HTTP/1.1 ")
      return {};
    r.status = std::stoi(std::string(head.substr(9, 3)));
    head.remove_prefix(line_end + 2);
    while (!head.empty()) {
      line_end = head.find("\r\n");
      std::string_view const line = head.substr(0, line_end);
      std::size_t const colon = line.find(':');
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
      r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
      head.remove_prefix(line_end + 2);
    }
    buf.erase(0, end + 4);
    if (head_request || r.status == 204 || r.status == 304)
      return r;
    std::size_t const length = std::stoull(r.header("Content-Length").value_or("0"));
    while (buf.size() < length)
      if (!read_more(fd, buf))
        return {};
    r.body = buf.substr(0, length);
    return r;
  }

  std::uint16_t port_;
};

/// `body` in chunked transfer coding, in pieces of `piece` bytes.
inline std::string chunked(std::string_view body, std::size_t piece) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  while (!body.empty()) {
    std::string_view const part = body.substr(0, piece);
    std::string size;
    for (std::size_t n = part.size(); n > 0; n /= 16)
      size.insert(size.begin(), hex[n % 16]);
    out.append(size).append("\r\n").append(part).append("\r\n");
    body.remove_prefix(part.size());
  }
  return out + "0\r\n\r\n";
}

} // namespace pier_test

#endif // PIER_TEST_UNIT_REGISTRY_HTTP_CLIENT_HPP
