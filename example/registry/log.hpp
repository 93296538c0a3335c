// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_EXAMPLE_REGISTRY_LOG_HPP
#define PIER_EXAMPLE_REGISTRY_LOG_HPP

// pier-registry's log: logfmt lines (`key=value`, values quoted when they need it) on
// stderr, one write per line so lines from several threads do not interleave.
//
//   ts=2024-05-01T12:00:00.123Z level=info msg=request method=GET path=/v2/ status=200
//   bytes=2 received=0 duration_ms=0.214 client=127.0.0.1 user=alice
//   agent="docker/24.0.7 go/go1.20.10" request_id=3f9a0c1d2e4b5a69
//
// Secrets stay out: the server hands the access log no Authorization, and query
// parameters whose names suggest a secret have their values replaced.

#include "config.hpp"

#include <pier/http/server.hpp>
#include <pier/registry/gc.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

#include <unistd.h>

namespace pier_registry {

/// Builds one logfmt line.
class log_line {
public:
  /// Starts the line with `ts`, `level` and `msg`.
  log_line(log_level level, std::string_view msg,
           std::chrono::system_clock::time_point now = std::chrono::system_clock::now())
      : level_(level) {
    text_.reserve(200);
    add("ts", timestamp(now));
    add("level", to_string(level));
    add("msg", msg);
  }

  /// Adds `key=value`, quoting and escaping the value when it is empty or holds spaces,
  /// quotes, `=`, control characters or non-ASCII bytes.
  log_line& add(std::string_view key, std::string_view value) {
    if (!text_.empty())
      text_ += ' ';
    text_ += key;
    text_ += '=';
    append_value(value);
    return *this;
  }
  log_line& add(std::string_view key, char const* value) {
    return add(key, std::string_view(value));
  }
  log_line& add(std::string_view key, std::string const& value) {
    return add(key, std::string_view(value));
  }
  template <std::integral Int>
  log_line& add(std::string_view key, Int value) {
    return add(key, std::string_view(std::to_string(value)));
  }
  /// Milliseconds with three decimals (microsecond resolution).
  log_line& add(std::string_view key, std::chrono::nanoseconds d) {
    auto const us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    std::array<char, 32> buf{};
    int const n =
        std::snprintf(buf.data(), buf.size(), "%lld.%03lld", static_cast<long long>(us / 1000),
                      static_cast<long long>(us % 1000));
    return add(key, std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }

  log_level level() const noexcept { return level_; }
  std::string const& str() const noexcept { return text_; }

  /// RFC 3339 UTC with milliseconds: 2024-05-01T12:00:00.123Z.
  static std::string timestamp(std::chrono::system_clock::time_point t) {
    auto const ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    std::time_t const secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    std::array<char, 40> buf{};
    std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
    n += static_cast<std::size_t>(
        std::snprintf(buf.data() + n, buf.size() - n, ".%03dZ", static_cast<int>(ms % 1000)));
    return std::string(buf.data(), n);
  }

private:
  void append_value(std::string_view v) {
    bool const plain = !v.empty() && std::all_of(v.begin(), v.end(), [](char ch) {
      auto const c = static_cast<unsigned char>(ch);
      return c > 0x20 && c < 0x7f && c != '"' && c != '=' && c != '\\';
    });
    if (plain) {
      text_ += v;
      return;
    }
    text_ += '"';
    for (char ch : v) {
      auto const c = static_cast<unsigned char>(ch);
      switch (c) {
      case '"': text_ += "\\\""; break;
      case '\\': text_ += "\\\\"; break;
      case '\n': text_ += "\\n"; break;
      case '\r': text_ += "\\r"; break;
      case '\t': text_ += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          static constexpr char hex[] = "0123456789abcdef";
          text_ += "\\x";
          text_ += hex[c >> 4];
          text_ += hex[c & 0xf];
        } else {
          text_ += ch;
        }
      }
    }
    text_ += '"';
  }

  log_level level_;
  std::string text_;
};

/// Whether a query parameter's value may be a secret (a token, password, signature...).
inline bool is_secret_parameter(std::string_view name) {
  std::string lower;
  for (char c : name)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Anywhere in the name: access_token, client_secret, X-Amz-Signature, X-Amz-Credential,
  // X-Amz-Security-Token, apikey, id_jwt, client_assertion...
  for (std::string_view word : {"token", "secret", "pass", "signature", "credential", "auth",
                                "key", "session", "code", "jwt", "assertion", "bearer", "cookie"})
    if (lower.find(word) != std::string::npos)
      return true;
  // Short names, whole only: `pw=`, and Azure's SAS `sig=`, but not `pwd_hint`-like words.
  for (std::string_view word : {"pw", "pwd", "sig", "otp", "pin"})
    if (lower == word)
      return true;
  return false;
}

/// The query of a request target with the values of secret-looking parameters replaced
/// by `REDACTED`; empty when there is no query.
inline std::string redacted_query(std::string_view target) {
  std::size_t const q = target.find('?');
  if (q == std::string_view::npos)
    return {};
  std::string_view rest = target.substr(q + 1);
  std::string out;
  for (bool first = true;; first = false) {
    std::size_t const amp = rest.find('&');
    std::string_view const param = rest.substr(0, amp);
    std::size_t const eq = param.find('=');
    std::string_view const name = param.substr(0, eq);
    if (!first)
      out += '&';
    if (eq != std::string_view::npos && is_secret_parameter(name)) {
      out += name;
      out += "=REDACTED";
    } else {
      out += param;
    }
    if (amp == std::string_view::npos)
      break;
    rest = rest.substr(amp + 1);
  }
  return out;
}

/// The path of a request target (what comes before `?`).
inline std::string_view target_path(std::string_view target) {
  return target.substr(0, target.find('?'));
}

/// The access log line of one request, or of a TLS handshake sent to the plain HTTP port
/// (told as such, not as a request with no method and no path).
inline log_line request_line(pier::http::access_log_entry const& e) {
  if (e.tls_handshake) {
    log_line line(log_level::info, "TLS handshake on the plain HTTP port, answered 400");
    line.add("client", e.client_address);
    return line;
  }
  // A server error is logged at `error`, with the cause its body gives (a store's message).
  bool const failed = e.status >= 500;
  log_line line(failed ? log_level::error : log_level::info, "request");
  line.add("method", e.method).add("path", target_path(e.target));
  if (std::string const query = redacted_query(e.target); !query.empty())
    line.add("query", query);
  line.add("status", e.status)
      .add("bytes", e.body_bytes)
      .add("received", e.received_bytes)
      .add("duration_ms", e.duration)
      .add("client", e.client_address)
      .add("user", e.principal.empty() ? std::string_view("anonymous") : e.principal)
      .add("agent", e.user_agent)
      .add("request_id", e.request_id);
  if (failed && !e.error_body.empty())
    line.add("error", e.error_body);
  return line;
}

/// What one garbage collection run did, at `info`; with `errors=N` and the first one when
/// some store operations failed.
inline log_line gc_line(pier::registry::gc_report const& r) {
  log_line line(log_level::info, "garbage collection");
  line.add("candidates", r.candidates)
      .add("blobs_removed", r.blobs_removed)
      .add("bytes_freed", r.bytes_freed)
      .add("manifests_removed", r.manifests_removed)
      .add("uploads_expired", r.uploads_expired)
      .add("orphans_removed", r.orphans_removed)
      .add("duration_ms", r.duration);
  if (!r.errors.empty())
    line.add("errors", r.errors.size()).add("first_error", r.errors.front());
  return line;
}

/// Writes lines at or above a level to a file descriptor (stderr by default).
class logger {
public:
  explicit logger(log_level min = log_level::info, int fd = STDERR_FILENO) noexcept
      : min_(min), fd_(fd) {}

  bool enabled(log_level level) const noexcept { return level >= min_; }

  /// Writes the line if its level is enabled.
  void write(log_line const& line) const noexcept {
    if (enabled(line.level()))
      write_always(line);
  }

  /// Writes the line whatever the level: start-up and shutdown lines.
  void write_always(log_line const& line) const noexcept {
    std::string text = line.str();
    text += '\n';
    std::string_view rest = text;
    // One write(2) per line: the kernel keeps it whole even with several writers.
    while (!rest.empty()) {
      ssize_t const n = ::write(fd_, rest.data(), rest.size());
      if (n <= 0)
        return; // stderr is gone: nothing better to do
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }

private:
  log_level min_;
  int fd_;
};

} // namespace pier_registry

#endif // PIER_EXAMPLE_REGISTRY_LOG_HPP
