// SPDX-License-Identifier: Apache-2.0
#include "config.hpp"

#include <pier/auth/address_range.hpp>
#include <pier/config.hpp>
#include <pier/core/duration.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include <arpa/inet.h>

namespace pier_registry {
namespace {

failure fail(std::string message) { return failure{std::move(message)}; }

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A decimal number without sign, spaces or leading '+'; nullopt when out of range.
std::optional<std::uint64_t> parse_uint(std::string_view s) {
  if (!is_digits(s))
    return std::nullopt;
  std::uint64_t v = 0;
  auto const [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return v;
}

bool is_ipv4(std::string const& s) {
  in_addr a{};
  return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(std::string const& s) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// RFC 1123 host name: dot-separated labels of letters, digits and '-', not starting or
// ending with '-'.
bool is_host_name(std::string_view s) {
  if (s.empty() || s.size() > 253)
    return false;
  std::size_t start = 0;
  for (;;) {
    std::size_t const dot = s.find('.', start);
    std::string_view const label =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
        return false;
    if (dot == std::string_view::npos)
      return true;
    start = dot + 1;
  }
}

// Quotes a string for a message; keeps messages on one line whatever the input holds.
std::string in_quotes(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + '"';
}

// The token realm: an absolute http or https URL with a host, of characters that can
// stand in a quoted WWW-Authenticate parameter (clients send their passwords there).
outcome<std::string> parse_token_realm(std::string_view text) {
  std::string const why = "token realm " + in_quotes(text) +
                          " is not an absolute http or https URL such as "
                          "\"https://registry.example/auth/token\"";
  std::string_view rest = text;
  if (rest.starts_with("https://"))
    rest.remove_prefix(8);
  else if (rest.starts_with("http://"))
    rest.remove_prefix(7);
  else
    return fail(why);
  std::string_view const host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty() || host.find('@') != std::string_view::npos)
    return fail(why);
  for (unsigned char c : text)
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\')
      return fail(why);
  return std::string(text);
}

// A trusted proxy: an IPv4 or IPv6 address or CIDR range.
outcome<std::string> parse_trusted_proxy(std::string_view text) {
  if (!pier::auth::address_range::parse(text))
    return fail("trusted proxy " + in_quotes(text) +
                " is not an IP address or range such as \"10.0.0.0/8\" or \"fd00::/8\"");
  return std::string(text);
}

constexpr std::string_view listen_forms = "HOST:PORT, :PORT or [IPV6]:PORT";

outcome<auth_mode> parse_auth_mode(std::string_view text) {
  if (text == "auto")
    return auth_mode::automatic;
  if (text == "none")
    return auth_mode::none;
  if (text == "basic")
    return auth_mode::basic;
  if (text == "token")
    return auth_mode::token;
  return fail("authentication mode " + in_quotes(text) + " is not one of auto, none, basic, token");
}

outcome<default_visibility> parse_visibility(std::string_view text) {
  if (text == "private")
    return default_visibility::private_;
  if (text == "public")
    return default_visibility::public_;
  return fail("visibility " + in_quotes(text) + " is not private or public");
}

// --- JSON values --------------------------------------------------------------------

// How a JSON value looks in a message: short, on one line.
std::string shown(boost::json::value const& v) {
  std::string s = boost::json::serialize(v);
  if (s.size() > 40)
    s = s.substr(0, 37) + "...";
  return s;
}

// A duration setting's text: a string as the command line takes it, or a JSON integer,
// which is whole seconds as "90" is on the command line; nothing for other JSON.
std::optional<std::string> duration_text(boost::json::value const& v) {
  if (v.is_string())
    return std::string(v.get_string());
  if (v.is_int64() || v.is_uint64())
    return boost::json::serialize(v);
  return std::nullopt;
}

// Reads one setting's value; each function returns an error message, empty on success.
class json_reader {
public:
  json_reader(std::string_view source, std::string_view key) : source_(source), key_(key) {}

  std::string bad(std::string_view what, boost::json::value const& v) const {
    return prefix() + " must be " + std::string(what) + ", not " + shown(v);
  }
  std::string bad_text(std::string const& message) const { return prefix() + ": " + message; }

  std::string string(boost::json::value const& v, std::string_view what, std::string& out) const {
    if (!v.is_string() || v.get_string().empty())
      return bad(what, v);
    out = v.get_string();
    return {};
  }

  std::string integer(boost::json::value const& v, std::uint64_t min, std::uint64_t max,
                      std::uint64_t& out) const {
    std::string const what =
        "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    if (v.is_uint64())
      out = v.get_uint64();
    else if (v.is_int64() && v.get_int64() >= 0)
      out = static_cast<std::uint64_t>(v.get_int64());
    else
      return bad(what, v);
    return out < min || out > max ? bad(what, v) : std::string{};
  }

  template <class Int>
  std::string size(boost::json::value const& v, std::uint64_t max, std::optional<Int>& field,
                   std::uint64_t min = 1) const {
    std::uint64_t n = 0;
    if (std::string e = integer(v, min, max, n); !e.empty())
      return e;
    field = static_cast<Int>(n);
    return {};
  }

  std::string byte_size(boost::json::value const& v, std::optional<std::uint64_t>& field) const {
    if (v.is_string()) {
      auto n = parse_byte_size(v.get_string());
      if (!n)
        return bad_text(n.error());
      field = *n;
      return {};
    }
    std::uint64_t n = 0;
    if (std::string e = integer(v, 0, std::numeric_limits<std::int64_t>::max(), n); !e.empty())
      return e;
    field = n;
    return {};
  }

  std::string boolean(boost::json::value const& v, std::optional<bool>& field) const {
    if (!v.is_bool())
      return bad("true or false", v);
    field = v.get_bool();
    return {};
  }

  std::string duration(boost::json::value const& v, bool zero_allowed,
                       std::optional<std::chrono::milliseconds>& field) const {
    auto const text = duration_text(v);
    if (!text)
      return bad("a duration such as \"500ms\", \"30s\", \"5m\" or 90 (seconds)", v);
    auto d = parse_duration(*text);
    if (!d)
      return bad_text(d.error());
    if (!zero_allowed && d->count() == 0)
      return bad("longer than zero", v);
    field = *d;
    return {};
  }

private:
  std::string prefix() const { return std::string(source_) + ": \"" + std::string(key_) + "\""; }

  std::string_view source_;
  std::string_view key_;
};

// The largest size setting accepted: beyond it is surely a typo.
constexpr std::uint64_t max_size_setting = std::uint64_t{1} << 30;
// The largest count setting accepted (connections, upload sessions, organisations per
// user): plenty, and far from overflow.
constexpr std::uint64_t max_count_setting = 1000000;

constexpr auto setting_names = std::to_array<std::string_view>({"listen",
                                                                "data",
                                                                "storage",
                                                                "database",
                                                                "threads",
                                                                "log_level",
                                                                "threading",
                                                                "header_timeout",
                                                                "idle_timeout",
                                                                "body_stall_timeout",
                                                                "write_stall_timeout",
                                                                "shutdown_timeout",
                                                                "linger_timeout",
                                                                "max_connections",
                                                                "max_connections_per_client",
                                                                "listen_backlog",
                                                                "read_buffer_size",
                                                                "max_body_drain",
                                                                "max_request_line",
                                                                "max_header_bytes",
                                                                "max_fields",
                                                                "max_manifest_size",
                                                                "upload_buffer_size",
                                                                "max_blob_size",
                                                                "max_page_size",
                                                                "max_scan",
                                                                "allow_delete",
                                                                "negotiate_oci",
                                                                "max_uploads_per_client",
                                                                "max_uploads_per_repository",
                                                                "tls_cert",
                                                                "tls_key",
                                                                "auth",
                                                                "htpasswd",
                                                                "cursor_key_file",
                                                                "default_visibility",
                                                                "token_ttl",
                                                                "token_realm",
                                                                "token_service",
                                                                "trusted_proxies",
                                                                "max_orgs_per_user",
                                                                "gc_interval",
                                                                "gc_grace",
                                                                "untagged_retention",
                                                                "upload_ttl",
                                                                "min_free_space",
                                                                "default_quota"});

// A setting that is a file path.
std::string path_setting(json_reader const& r, boost::json::value const& v,
                         std::optional<std::filesystem::path>& field) {
  std::string s;
  if (std::string e = r.string(v, "a file name (a non-empty string)", s); !e.empty())
    return e;
  field = s;
  return {};
}

// The TLS and access settings of setting_names; an error message, empty on success.
std::string apply_security_setting(json_reader const& r, security& a, std::string_view k,
                                   boost::json::value const& v) {
  if (k == "tls_cert")
    return path_setting(r, v, a.tls_cert);
  if (k == "tls_key")
    return path_setting(r, v, a.tls_key);
  if (k == "htpasswd")
    return path_setting(r, v, a.htpasswd);
  if (k == "cursor_key_file")
    return path_setting(r, v, a.cursor_key_file);
  if (k == "auth") {
    auto m = v.is_string() ? parse_auth_mode(v.get_string()) : fail("");
    if (!m)
      return r.bad("one of \"auto\", \"none\", \"basic\", \"token\"", v);
    a.auth = *m;
    return {};
  }
  if (k == "default_visibility") {
    auto d = v.is_string() ? parse_visibility(v.get_string()) : fail("");
    if (!d)
      return r.bad("\"private\" or \"public\"", v);
    a.visibility = *d;
    return {};
  }
  if (k == "token_ttl")
    return r.duration(v, false, a.token_ttl);
  if (k == "max_orgs_per_user")
    return r.size(v, max_count_setting, a.max_orgs_per_user, 0);
  if (k == "trusted_proxies") {
    constexpr std::string_view what = "an array of IP addresses or ranges such as [\"10.0.0.0/8\"]";
    if (!v.is_array())
      return r.bad(what, v);
    std::vector<std::string> proxies;
    for (boost::json::value const& e : v.get_array()) {
      auto p = e.is_string() ? parse_trusted_proxy(e.get_string()) : fail("");
      if (!p)
        return p.error().empty() ? r.bad(what, v) : r.bad_text(p.error());
      proxies.push_back(std::move(*p));
    }
    a.trusted_proxies = std::move(proxies);
    return {};
  }
  std::string s;
  if (k == "token_realm" || k == "token_service") {
    if (std::string e = r.string(v, "a non-empty string", s); !e.empty())
      return e;
    if (k == "token_realm") {
      auto url = parse_token_realm(s);
      if (!url)
        return r.bad_text(url.error());
    }
    (k == "token_realm" ? a.token_realm : a.token_service) = s;
    return {};
  }
  return r.bad_text("not a setting"); // unreachable: the caller checked setting_names
}

// A GC duration, which may be up to ten years; "-1" (keep for ever) where `keep_allowed`.
outcome<std::chrono::milliseconds> parse_gc_duration(std::string_view text, bool keep_allowed) {
  if (keep_allowed && text == "-1")
    return std::chrono::milliseconds(-1);
  return parse_duration(text, duration_limit::ten_years);
}

// The GC settings of setting_names; an error message, empty on success.
std::string apply_gc_setting(json_reader const& r, gc_settings& g, std::string_view k,
                             boost::json::value const& v) {
  bool const keep_allowed = k == "untagged_retention";
  auto const text = duration_text(v);
  auto d = text ? parse_gc_duration(*text, keep_allowed) : failure{"not a duration"};
  if (!d)
    return r.bad(keep_allowed ? "a duration such as 3600, \"1h\" or \"7d\", or -1 (keep)"
                              : "a duration such as 3600, \"1h\" or \"7d\"",
                 v);
  auto& field = k == "gc_interval" ? g.interval
                : k == "gc_grace"  ? g.grace
                : keep_allowed     ? g.untagged_retention
                                   : g.upload_ttl;
  field = *d;
  return {};
}

// Applies setting `k`, one of setting_names; returns an error message, empty on success.
std::string apply_setting(std::string_view source, config& c, std::string_view k,
                          boost::json::value const& v) {
  json_reader const r(source, k);
  server_tuning& t = c.server;
  if (k == "listen") {
    std::string s;
    if (std::string e = r.string(v, "a string such as \":5000\" or \"127.0.0.1:5000\"", s);
        !e.empty())
      return e;
    auto a = parse_listen(s);
    if (!a)
      return r.bad_text(a.error());
    c.listen = *a;
    return {};
  }
  if (k == "data") {
    std::string s;
    if (std::string e = r.string(v, "a directory (a non-empty string)", s); !e.empty())
      return e;
    c.data = s;
    return {};
  }
  if (k == "storage" || k == "database") {
    std::string s;
    if (std::string e = r.string(v, k == "storage" ? "a URL such as \"file:///srv/pier\""
                                                    : "a URL such as \"rocksdb:///srv/pier/meta\"",
                                 s);
        !e.empty())
      return e;
    auto url = k == "storage" ? parse_storage_url(s) : parse_database_url(s);
    if (!url)
      return r.bad_text(url.error());
    (k == "storage" ? c.stores.storage : c.stores.database) = std::move(*url);
    return {};
  }
  if (k == "threads")
    return r.size(v, 1024, c.threads);
  if (k == "log_level") {
    std::string s;
    if (std::string e = r.string(v, "one of \"debug\", \"info\", \"warn\", \"error\"", s);
        !e.empty())
      return e;
    auto l = parse_log_level(s);
    if (!l)
      return r.bad_text(l.error());
    c.level = *l;
    return {};
  }
  if (k == "threading") {
    constexpr std::string_view what = "\"context_per_thread\" or \"shared_context\"";
    if (v.is_string() && v.get_string() == "context_per_thread")
      t.threading = threading_mode::context_per_thread;
    else if (v.is_string() && v.get_string() == "shared_context")
      t.threading = threading_mode::shared_context;
    else
      return r.bad(what, v);
    return {};
  }
  if (k == "header_timeout")
    return r.duration(v, false, t.header_timeout);
  if (k == "idle_timeout")
    return r.duration(v, false, t.idle_timeout);
  if (k == "body_stall_timeout")
    return r.duration(v, false, t.body_stall_timeout);
  if (k == "write_stall_timeout")
    return r.duration(v, false, t.write_stall_timeout);
  if (k == "shutdown_timeout")
    return r.duration(v, true, t.shutdown_timeout);
  if (k == "linger_timeout")
    return r.duration(v, true, t.linger_timeout);
  if (k == "max_connections")
    return r.size(v, max_count_setting, t.max_connections);
  if (k == "max_connections_per_client") // 0: no limit
    return r.size(v, max_count_setting, t.max_connections_per_client, 0);
  if (k == "listen_backlog")
    return r.size(v, 65535, t.listen_backlog);
  if (k == "read_buffer_size")
    return r.size(v, max_size_setting, t.read_buffer_size);
  if (k == "max_body_drain")
    return r.size(v, max_size_setting, t.max_body_drain);
  if (k == "max_request_line")
    return r.size(v, max_size_setting, t.max_request_line);
  if (k == "max_header_bytes")
    return r.size(v, max_size_setting, t.max_header_bytes);
  if (k == "max_fields")
    return r.size(v, 100000, t.max_fields);
  registry_tuning& g = c.registry;
  if (k == "max_manifest_size")
    return r.size(v, max_size_setting, g.max_manifest_size);
  if (k == "upload_buffer_size")
    return r.size(v, max_size_setting, g.upload_buffer_size);
  if (k == "max_blob_size") // 0: no limit
    return r.size(v, std::numeric_limits<std::int64_t>::max(), g.max_blob_size, 0);
  if (k == "max_page_size")
    return r.size(v, 100000, g.max_page_size);
  if (k == "max_scan")
    return r.size(v, max_count_setting, g.max_scan);
  if (k == "allow_delete")
    return r.boolean(v, g.allow_delete);
  if (k == "negotiate_oci")
    return r.boolean(v, g.negotiate_oci);
  if (k == "min_free_space") // a number of bytes, or a string with a unit
    return r.byte_size(v, c.min_free_space);
  if (k == "max_uploads_per_client") // 0: no limit
    return r.size(v, max_count_setting, g.max_uploads_per_client, 0);
  if (k == "max_uploads_per_repository")
    return r.size(v, max_count_setting, g.max_uploads_per_repository, 0);
  if (k == "default_quota") // a number of bytes, or a string with a unit
    return r.byte_size(v, g.default_quota);
  if (k.starts_with("gc_") || k == "untagged_retention" || k == "upload_ttl")
    return apply_gc_setting(r, c.gc, k, v);
  return apply_security_setting(r, c.access, k, v); // unreachable: the caller checked setting_names
}

} // namespace

std::string_view to_string(auth_mode mode) noexcept {
  switch (mode) {
  case auth_mode::automatic: return "auto";
  case auth_mode::none: return "none";
  case auth_mode::basic: return "basic";
  case auth_mode::token: return "token";
  }
  return "auto";
}

std::string_view to_string(log_level level) noexcept {
  switch (level) {
  case log_level::debug: return "debug";
  case log_level::info: return "info";
  case log_level::warn: return "warn";
  case log_level::error: return "error";
  }
  return "info";
}

std::string listen_address::to_string() const {
  std::string const p = std::to_string(port);
  return host.find(':') != std::string::npos ? "[" + host + "]:" + p : host + ":" + p;
}

namespace {

// `<scheme>://<path>`, the path non-empty; what other schemes this build would need.
outcome<store_url> parse_store_url(std::string_view text, std::string_view scheme,
                                   store_url::kind kind, std::string_view others) {
  std::size_t const sep = text.find("://");
  if (sep == std::string_view::npos)
    return failure{in_quotes(text) + " is not a URL: use " + std::string(scheme) + "://DIR"};
  std::string_view const given = text.substr(0, sep);
  if (given != scheme)
    return failure{"unsupported scheme " + in_quotes(given) + " in " + in_quotes(text) +
                   ": this build has " + std::string(scheme) + "://DIR" + std::string(others)};
  std::string_view const path = text.substr(sep + 3);
  if (path.empty())
    return failure{in_quotes(text) + " names no directory: use " + std::string(scheme) +
                   "://DIR"};
  if (path.find('?') != std::string_view::npos || path.find('#') != std::string_view::npos)
    return failure{in_quotes(text) + ": " + std::string(scheme) + ":// takes no options"};
  return store_url{kind, std::filesystem::path(path)};
}

} // namespace

outcome<store_url> parse_storage_url(std::string_view text) {
  return parse_store_url(text, "file", store_url::kind::file,
                         " (S3 object storage is planned, not built yet)");
}

outcome<store_url> parse_database_url(std::string_view text) {
  return parse_store_url(text, "rocksdb", store_url::kind::rocksdb,
                         " (PostgreSQL is planned, not built yet)");
}

outcome<listen_address> parse_listen(std::string_view text) {
  std::string const shown_text = in_quotes(text);
  std::string_view host_text;
  std::string_view port_text;
  bool const bracketed = text.starts_with('[');
  if (bracketed) {
    std::size_t const close = text.find(']');
    if (close == std::string_view::npos || close + 1 == text.size() || text[close + 1] != ':')
      return fail("listen address " + shown_text + ": expected [IPV6]:PORT, as in [::1]:5000");
    host_text = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    std::size_t const colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return fail("listen address " + shown_text + " has no port: use " +
                  std::string(listen_forms) + ", as in 0.0.0.0:5000 or :5000");
    host_text = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host_text.find(':') != std::string_view::npos)
      return fail("listen address " + shown_text +
                  ": put an IPv6 address in brackets, as in [::1]:5000");
  }

  auto const port = parse_uint(port_text);
  if (!port || *port > 65535)
    return fail("listen address " + shown_text + ": the port must be a number from 0 to 65535");
  listen_address out;
  out.port = static_cast<std::uint16_t>(*port);

  std::string const host(host_text);
  if (bracketed) {
    if (!is_ipv6(host))
      return fail("listen address " + shown_text + ": " + in_quotes(host) +
                  " is not an IPv6 address");
    out.host = host;
    return out;
  }
  if (host.empty())
    return out; // ":PORT": every IPv4 interface
  bool const dotted_digits = std::all_of(host.begin(), host.end(),
                                         [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
  if (dotted_digits ? !is_ipv4(host) : !is_host_name(host))
    return fail("listen address " + shown_text + ": " + in_quotes(host) +
                (dotted_digits ? " is not an IPv4 address" : " is not a valid host name"));
  out.host = host;
  return out;
}

outcome<log_level> parse_log_level(std::string_view text) {
  if (text == "debug")
    return log_level::debug;
  if (text == "info")
    return log_level::info;
  if (text == "warn" || text == "warning")
    return log_level::warn;
  if (text == "error")
    return log_level::error;
  return fail("log level " + in_quotes(text) + " is not one of debug, info, warn, error");
}

outcome<std::chrono::milliseconds> parse_duration(std::string_view text, duration_limit limit) {
  auto const d = pier::parse_duration(text);
  if (!d && d.error() != std::errc::result_out_of_range)
    return fail("duration " + in_quotes(text) +
                " is not whole seconds or a whole number with a unit (ms, s, m, h, d), as in "
                "\"90\" or \"30s\"");
  using days = std::chrono::days;
  if (!d || *d > (limit == duration_limit::week ? days(7) : days(3650)))
    return fail("duration " + in_quotes(text) + " is longer than " +
                (limit == duration_limit::week ? "a week" : "ten years"));
  return *d;
}

outcome<std::uint64_t> parse_byte_size(std::string_view text) {
  std::size_t const unit_at = text.find_first_not_of("0123456789");
  std::string_view const number = text.substr(0, unit_at);
  std::string_view const unit =
      unit_at == std::string_view::npos ? std::string_view{} : text.substr(unit_at);
  constexpr std::uint64_t ki = 1024;
  constexpr std::pair<std::string_view, std::uint64_t> units[] = {
      {"", 1},
      {"B", 1},
      {"KiB", ki},
      {"MiB", ki * ki},
      {"GiB", ki * ki * ki},
      {"TiB", ki * ki * ki * ki},
      {"kB", 1000},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
      {"TB", 1000ull * 1000 * 1000 * 1000}};
  auto const n = parse_uint(number);
  auto const u = std::find_if(std::begin(units), std::end(units),
                              [&](auto const& x) { return x.first == unit; });
  if (!n || u == std::end(units))
    return fail("size " + in_quotes(text) +
                " is not whole bytes or a whole number with a unit (B, KiB, MiB, GiB, TiB, kB, "
                "MB, GB, TB), as in \"512MiB\"");
  if (*n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / u->second)
    return fail("size " + in_quotes(text) + " is too large");
  return *n * u->second;
}

outcome<unsigned> parse_threads(std::string_view text) {
  auto const n = parse_uint(text);
  if (!n || *n < 1 || *n > 1024)
    return fail("threads " + in_quotes(text) + " is not a whole number from 1 to 1024");
  return static_cast<unsigned>(*n);
}

outcome<config> apply_config_json(config cfg, std::string_view json, std::string_view source) {
  boost::json::parse_options popts;
  popts.allow_comments = true;
  popts.max_depth = 8;
  std::error_code ec;
  boost::json::value const doc = boost::json::parse(json, ec, {}, popts);
  if (ec)
    return fail(std::string(source) + ": not valid JSON: " + ec.message());
  if (!doc.is_object())
    return fail(std::string(source) + ": expected a JSON object, as in {\"listen\": \":5000\"}");

  for (auto const& [key, value] : doc.get_object()) {
    std::string_view const k = key;
    if (std::find(setting_names.begin(), setting_names.end(), k) == setting_names.end()) {
      std::string known;
      for (std::string_view n : setting_names)
        known += (known.empty() ? "" : ", ") + std::string(n);
      return fail(std::string(source) + ": unknown setting " + in_quotes(k) + " (known: " + known +
                  ")");
    }
    if (std::string error = apply_setting(source, cfg, k, value); !error.empty())
      return fail(std::move(error));
  }
  return cfg;
}

outcome<std::string> read_text_file(std::filesystem::path const& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return fail(std::generic_category().message(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return fail("read error");
  return text.str();
}

outcome<config> load_config_file(config base, std::filesystem::path const& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    return fail("config file " + in_quotes(file.string()) + " is a directory");
  auto text = read_text_file(file);
  if (!text)
    return fail("cannot read config file " + in_quotes(file.string()) + ": " + text.error());
  return apply_config_json(std::move(base), *text, file.string());
}

namespace {

// A flag of one command. Flags are collected first and applied after, so that the
// config file is read before the flags that override it.
struct flag {
  flag(std::string_view n, std::string_view w, bool r = false) : name(n), what(w), repeatable(r) {}

  std::string_view name;
  std::string_view what; // the value's form for messages; empty: a switch without value
  bool repeatable = false;
  std::vector<std::string_view> values;

  bool given() const noexcept { return !values.empty(); }
  std::optional<std::string_view> value() const {
    return values.empty() ? std::nullopt : std::optional(values.front());
  }
};

// Reads `args` (after the command and its verb) into `flags` and up to `max_positional`
// positional arguments. Sets `help` when --help or -h is among them.
outcome<std::vector<std::string_view>> collect_flags(std::span<std::string_view const> args,
                                                     std::span<flag> flags,
                                                     std::size_t max_positional,
                                                     std::string_view command, bool& help) {
  std::vector<std::string_view> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
      return positional;
    }
    if (!arg.starts_with("--")) {
      if (positional.size() == max_positional)
        return fail("unexpected argument " + in_quotes(arg) + " for " + std::string(command));
      positional.push_back(arg);
      continue;
    }
    std::optional<std::string_view> value;
    if (std::size_t const eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto const f = std::find_if(flags.begin(), flags.end(),
                                [&](flag const& candidate) { return candidate.name == arg; });
    if (f == flags.end())
      return fail("unknown option " + in_quotes(arg) + " for " + std::string(command) +
                  ": run \"pier-registry help\" for usage");
    if (f->what.empty()) {
      if (value)
        return fail(std::string(f->name) + " takes no value");
      value = "true";
    } else if (!value) {
      if (i + 1 == args.size())
        return fail(std::string(f->name) + " needs a value (" + std::string(f->what) + ")");
      value = args[++i];
    }
    if (value->empty())
      return fail(std::string(f->name) + " needs a value (" + std::string(f->what) + ")");
    if (f->given() && !f->repeatable)
      return fail(std::string(f->name) + " is given twice");
    f->values.push_back(*value);
  }
  return positional;
}

flag const& find_flag(std::span<flag const> flags, std::string_view name) {
  return *std::find_if(flags.begin(), flags.end(), [&](flag const& f) { return f.name == name; });
}

// A count on the command line: 0 to max_count_setting, as in the config file.
outcome<std::size_t> parse_limit(std::string_view text) {
  auto const n = parse_uint(text);
  if (!n || *n > max_count_setting)
    return fail(in_quotes(text) + " is not a whole number from 0 to " +
                std::to_string(max_count_setting));
  return static_cast<std::size_t>(*n);
}

// `pier-registry help`, or with a command its own help.
invocation help_invocation(std::string_view command = {}) {
  invocation inv;
  inv.what = invocation::action::help;
  inv.help_topic = std::string(command);
  return inv;
}

// Each command's flags: what its parser reads, and what flag_names() lists.
auto serve_flags() {
  auto flags = std::to_array<flag>({{"--config", "FILE"},
                                    {"--listen", "HOST:PORT"},
                                    {"--data", "DIR"},
                                    {"--storage", "URL"},
                                    {"--database", "URL"},
                                    {"--threads", "N"},
                                    {"--log-level", "debug|info|warn|error"},
                                    {"--tls-cert", "FILE"},
                                    {"--tls-key", "FILE"},
                                    {"--auth", "auto|none|basic|token"},
                                    {"--htpasswd", "FILE"},
                                    {"--cursor-key-file", "FILE"},
                                    {"--default-visibility", "private|public"},
                                    {"--token-realm", "URL"},
                                    {"--trusted-proxy", "ADDRESS[/BITS]", true},
                                    {"--max-orgs-per-user", "N"},
                                    {"--gc-interval", "DURATION"},
                                    {"--gc-grace", "DURATION"},
                                    {"--untagged-retention", "DURATION|-1"},
                                    {"--upload-ttl", "DURATION"},
                                    {"--min-free-space", "SIZE"},
                                    {"--max-uploads-per-client", "N"},
                                    {"--max-uploads-per-repository", "N"},
                                    {"--max-connections-per-client", "N"},
                                    {"--default-quota", "SIZE"}});
  return flags;
}

std::array<flag, 5> user_flags() {
  // Every verb takes the first three; `add` all five.
  return {{{"--data", "DIR"},
           {"--storage", "URL"},
           {"--database", "URL"},
           {"--admin", ""},
           {"--password-stdin", ""}}};
}

std::array<flag, 3> gen_cert_flags() {
  return {{{"--host", "NAME"}, {"--ip", "ADDRESS", true}, {"--out", "DIR"}}};
}

std::array<flag, 6> gc_flags() {
  return {{{"--data", "DIR"},
           {"--dry-run", ""},
           {"--grace", "DURATION"},
           {"--upload-ttl", "DURATION"},
           {"--storage", "URL"},
           {"--database", "URL"}}};
}

std::array<flag, 4> fsck_flags() {
  return {{{"--data", "DIR"}, {"--repair", ""}, {"--storage", "URL"}, {"--database", "URL"}}};
}

// `--storage` and `--database` of any command's flags into `out`; an error message or empty.
template <class Flags>
std::string read_store_flags(Flags const& flags, store_locations& out) {
  if (auto const v = find_flag(flags, "--storage").value()) {
    auto url = parse_storage_url(*v);
    if (!url)
      return "--storage: " + url.error();
    out.storage = std::move(*url);
  }
  if (auto const v = find_flag(flags, "--database").value()) {
    auto url = parse_database_url(*v);
    if (!url)
      return "--database: " + url.error();
    out.database = std::move(*url);
  }
  return {};
}

outcome<invocation> parse_serve(std::span<std::string_view const> args) {
  invocation inv;
  auto flags = serve_flags();
  bool help = false;
  auto const positional = collect_flags(args, flags, 0, "serve", help);
  if (!positional)
    return failure{positional.error()};
  if (help)
    return help_invocation("serve");
  auto const get = [&](std::string_view name) { return find_flag(flags, name).value(); };

  config& c = inv.settings;
  if (auto const file = get("--config")) {
    auto loaded = load_config_file(c, std::filesystem::path(*file));
    if (!loaded)
      return failure{loaded.error()};
    c = std::move(*loaded);
  }
  if (auto const v = get("--listen")) {
    auto a = parse_listen(*v);
    if (!a)
      return fail("--listen: " + a.error());
    c.listen = *a;
  }
  if (auto const v = get("--data"))
    c.data = std::filesystem::path(*v);
  if (std::string e = read_store_flags(flags, c.stores); !e.empty())
    return fail(e);
  if (auto const v = get("--threads")) {
    auto n = parse_threads(*v);
    if (!n)
      return fail("--threads: " + n.error());
    c.threads = *n;
  }
  if (auto const v = get("--log-level")) {
    auto l = parse_log_level(*v);
    if (!l)
      return fail("--log-level: " + l.error());
    c.level = *l;
  }
  security& a = c.access;
  if (auto const v = get("--tls-cert"))
    a.tls_cert = std::filesystem::path(*v);
  if (auto const v = get("--tls-key"))
    a.tls_key = std::filesystem::path(*v);
  if (auto const v = get("--auth")) {
    auto m = parse_auth_mode(*v);
    if (!m)
      return fail("--auth: " + m.error());
    a.auth = *m;
  }
  if (auto const v = get("--htpasswd"))
    a.htpasswd = std::filesystem::path(*v);
  if (auto const v = get("--cursor-key-file"))
    a.cursor_key_file = std::filesystem::path(*v);
  if (auto const v = get("--default-visibility")) {
    auto d = parse_visibility(*v);
    if (!d)
      return fail("--default-visibility: " + d.error());
    a.visibility = *d;
  }
  if (auto const v = get("--token-realm")) {
    auto url = parse_token_realm(*v);
    if (!url)
      return fail("--token-realm: " + url.error());
    a.token_realm = std::move(*url);
  }
  if (flag const& f = find_flag(flags, "--trusted-proxy"); f.given()) {
    a.trusted_proxies.clear(); // the flags replace the config file's list
    for (std::string_view v : f.values) {
      auto p = parse_trusted_proxy(v);
      if (!p)
        return fail("--trusted-proxy: " + p.error());
      a.trusted_proxies.push_back(std::move(*p));
    }
  }
  if (auto const v = get("--max-orgs-per-user")) {
    auto const n = parse_limit(*v);
    if (!n)
      return fail("--max-orgs-per-user: " + n.error());
    a.max_orgs_per_user = *n;
  }

  for (auto [name, field] :
       {std::pair{"--gc-interval", &c.gc.interval}, std::pair{"--gc-grace", &c.gc.grace},
        std::pair{"--untagged-retention", &c.gc.untagged_retention},
        std::pair{"--upload-ttl", &c.gc.upload_ttl}}) {
    if (auto const v = get(name)) {
      auto d = parse_gc_duration(*v, std::string_view(name) == "--untagged-retention");
      if (!d)
        return fail(std::string(name) + ": " + d.error());
      *field = *d;
    }
  }

  if (auto const v = get("--min-free-space")) {
    auto n = parse_byte_size(*v);
    if (!n)
      return fail("--min-free-space: " + n.error());
    c.min_free_space = *n;
  }
  for (auto [name, field] :
       {std::pair{"--max-uploads-per-client", &c.registry.max_uploads_per_client},
        std::pair{"--max-uploads-per-repository", &c.registry.max_uploads_per_repository},
        std::pair{"--max-connections-per-client", &c.server.max_connections_per_client}}) {
    if (auto const v = get(name)) {
      auto n = parse_limit(*v);
      if (!n)
        return fail(std::string(name) + ": " + n.error());
      *field = *n;
    }
  }
  if (auto const v = get("--default-quota")) {
    auto n = parse_byte_size(*v);
    if (!n)
      return fail("--default-quota: " + n.error());
    c.registry.default_quota = *n;
  }

  if (a.tls_cert.has_value() != a.tls_key.has_value())
    return fail(a.tls_cert ? "--tls-cert needs --tls-key (the certificate's private key)"
                           : "--tls-key needs --tls-cert (the certificate chain)");
  if (a.htpasswd) {
    if (!a.auth || *a.auth == auth_mode::automatic)
      a.auth = auth_mode::basic;
    else if (*a.auth != auth_mode::basic)
      return fail("--htpasswd is for --auth basic, not --auth " + std::string(to_string(*a.auth)));
  }
  return inv;
}

outcome<invocation> parse_user(std::span<std::string_view const> args) {
  invocation inv;
  inv.what = invocation::action::user;
  user_command& u = inv.user;
  constexpr std::string_view forms = "add NAME [--admin] --password-stdin, del NAME, or list";
  if (args.empty())
    return fail(std::string("user needs a verb: ") + std::string(forms));
  std::string_view const verb = args.front();
  auto flags = user_flags();
  std::size_t positional_max = 1;
  if (verb == "add") {
    u.what = user_command::verb::add;
  } else if (verb == "del") {
    u.what = user_command::verb::del;
  } else if (verb == "list") {
    u.what = user_command::verb::list;
    positional_max = 0;
  } else if (verb == "--help" || verb == "-h") {
    return help_invocation("user");
  } else {
    return fail("user: unknown verb " + in_quotes(verb) + ": use " + std::string(forms));
  }

  std::string const command = "user " + std::string(verb);
  bool help = false;
  auto const positional =
      collect_flags(args.subspan(1), std::span(flags).first(verb == "add" ? 5 : 3), positional_max,
                    command, help);
  if (!positional)
    return failure{positional.error()};
  if (help)
    return help_invocation("user");
  if (positional_max == 1 && positional->empty())
    return fail(command + " needs the user's NAME");
  if (!positional->empty())
    u.name = std::string(positional->front());
  if (auto const v = find_flag(flags, "--data").value())
    u.data = std::filesystem::path(*v);
  if (std::string e = read_store_flags(flags, u.stores); !e.empty())
    return fail(command + " " + e);
  u.admin = find_flag(flags, "--admin").given();
  if (u.what == user_command::verb::add && !find_flag(flags, "--password-stdin").given())
    return fail("user add needs --password-stdin: the password is read from standard input, "
                "never from the command line");
  return inv;
}

outcome<invocation> parse_gen_cert(std::span<std::string_view const> args) {
  invocation inv;
  inv.what = invocation::action::gen_cert;
  auto flags = gen_cert_flags();
  bool help = false;
  auto const positional = collect_flags(args, flags, 0, "gen-cert", help);
  if (!positional)
    return failure{positional.error()};
  if (help)
    return help_invocation("gen-cert");
  auto const host = find_flag(flags, "--host").value();
  if (!host)
    return fail("gen-cert needs --host NAME (the name clients use to reach the registry)");
  if (!is_host_name(*host))
    return fail("gen-cert --host: " + in_quotes(*host) + " is not a valid host name");
  inv.cert.host = std::string(*host);
  for (std::string_view ip : find_flag(flags, "--ip").values) {
    std::string const s(ip);
    if (!is_ipv4(s) && !is_ipv6(s))
      return fail("gen-cert --ip: " + in_quotes(ip) + " is not an IPv4 or IPv6 address");
    inv.cert.ips.push_back(s);
  }
  auto const out = find_flag(flags, "--out").value();
  if (!out)
    return fail("gen-cert needs --out DIR (where ca.crt, server.crt and server.key go)");
  inv.cert.out = std::filesystem::path(*out);
  return inv;
}

outcome<invocation> parse_gc(std::span<std::string_view const> args) {
  invocation inv;
  inv.what = invocation::action::gc;
  auto flags = gc_flags();
  bool help = false;
  auto const positional = collect_flags(args, flags, 0, "gc", help);
  if (!positional)
    return failure{positional.error()};
  if (help)
    return help_invocation("gc");
  if (auto const v = find_flag(flags, "--data").value())
    inv.gc.data = std::filesystem::path(*v);
  if (std::string e = read_store_flags(flags, inv.gc.stores); !e.empty())
    return fail("gc " + e);
  inv.gc.dry_run = find_flag(flags, "--dry-run").given();
  for (auto const& [name, to] :
       {std::pair("--grace", &inv.gc.grace), std::pair("--upload-ttl", &inv.gc.upload_ttl)}) {
    if (auto const v = find_flag(flags, name).value()) {
      auto d = parse_gc_duration(*v, false);
      if (!d)
        return fail(std::string(name) + ": " + d.error());
      *to = *d;
    }
  }
  return inv;
}

outcome<invocation> parse_fsck(std::span<std::string_view const> args) {
  invocation inv;
  inv.what = invocation::action::fsck;
  auto flags = fsck_flags();
  bool help = false;
  auto const positional = collect_flags(args, flags, 0, "fsck", help);
  if (!positional)
    return failure{positional.error()};
  if (help)
    return help_invocation("fsck");
  // Required: checking (and with --repair, changing) a default ./pier-data by accident
  // helps no one.
  auto const data = find_flag(flags, "--data").value();
  if (!data)
    return failure{"fsck: --data DIR is required"};
  inv.fsck.data = std::filesystem::path(*data);
  if (std::string e = read_store_flags(flags, inv.fsck.stores); !e.empty())
    return fail("fsck " + e);
  inv.fsck.repair = find_flag(flags, "--repair").given();
  return inv;
}

} // namespace

std::vector<std::string_view> flag_names(std::string_view command) {
  std::vector<std::string_view> names;
  auto const add = [&](auto const& flags) {
    for (flag const& f : flags)
      names.push_back(f.name); // a literal: it outlives the table
  };
  if (command == "serve")
    add(serve_flags());
  else if (command == "user")
    add(user_flags());
  else if (command == "gen-cert")
    add(gen_cert_flags());
  else if (command == "gc")
    add(gc_flags());
  else if (command == "fsck")
    add(fsck_flags());
  return names;
}

outcome<invocation> parse_command_line(std::span<std::string_view const> args) {
  invocation inv;
  if (args.empty())
    return fail("no command given: run \"pier-registry help\" for usage");
  std::string_view const command = args.front();
  if (command == "help" || command == "--help" || command == "-h")
    return help_invocation(args.size() > 1 ? args[1] : std::string_view{});
  if (command == "version" || command == "--version") {
    inv.what = invocation::action::version;
    return inv;
  }
  if (command == "serve")
    return parse_serve(args.subspan(1));
  if (command == "user")
    return parse_user(args.subspan(1));
  if (command == "gen-cert")
    return parse_gen_cert(args.subspan(1));
  if (command == "gc")
    return parse_gc(args.subspan(1));
  if (command == "fsck")
    return parse_fsck(args.subspan(1));
  return fail("unknown command " + in_quotes(command) + ": run \"pier-registry help\" for usage");
}

namespace {

// The parts of `usage`: one for each command, so that `COMMAND --help` shows its own.
constexpr std::string_view usage_title =
    "pier-registry " PIER_VERSION_STRING " - a container-image registry (OCI Distribution v1.1)\n"
    "\n";
constexpr std::string_view usage_lines =
    "Usage:\n"
    "  pier-registry serve [--config FILE] [--listen HOST:PORT] [--data DIR]\n"
    "                      [--storage URL] [--database URL]\n"
    "                      [--threads N] [--log-level LEVEL]\n"
    "                      [--tls-cert FILE --tls-key FILE] [--auth MODE]\n"
    "                      [--htpasswd FILE] [--default-visibility private|public]\n"
    "  pier-registry user add NAME [--admin] --password-stdin [--data DIR]\n"
    "  pier-registry user del NAME [--data DIR]\n"
    "  pier-registry user list [--data DIR]\n"
    "  pier-registry gen-cert --host NAME [--ip ADDRESS]... --out DIR\n"
    "  pier-registry gc [--data DIR] [--dry-run] [--grace DURATION] [--upload-ttl DURATION]\n"
    "  pier-registry fsck --data DIR [--repair]\n"
    "  pier-registry --version\n"
    "  pier-registry help [COMMAND], pier-registry COMMAND --help\n";
constexpr std::string_view serve_help =
    "serve options (they override the config file):\n"
    "  --config FILE      JSON settings file (keys: listen, data, threads, log_level,\n"
    "                     threading, *_timeout, max_* and more; see README.md)\n"
    "                     (default: none)\n"
    "  --listen ADDRESS   HOST:PORT, :PORT or [IPV6]:PORT     (default 0.0.0.0:5000;\n"
    "                     port 0 picks a free port, printed in the start-up line; a\n"
    "                     host name listens on all its addresses: localhost on\n"
    "                     127.0.0.1 and ::1)\n"
    "  --data DIR         blobs in DIR/blobs, metadata in DIR/meta (default ./pier-data)\n"
    "  --storage URL      where blobs go: file://DIR keeps DIR/blobs and DIR/uploads\n"
    "                     (default file://DATA, the data dir itself)\n"
    "  --database URL     where metadata goes: rocksdb://DIR, a RocksDB directory\n"
    "                     (default rocksdb://DATA/meta)\n"
    "  --threads N        worker threads                      (default: one per core)\n"
    "  --log-level LEVEL  debug, info, warn or error           (default info; requests\n"
    "                     are logged at info)\n"
    "  --tls-cert FILE    serve HTTPS with this PEM certificate chain (TLS 1.2+)\n"
    "                     (default: none, plain HTTP)\n"
    "  --tls-key FILE     and its private key (default: none). SIGHUP reloads both\n"
    "                     (and --htpasswd)\n"
    "  --auth MODE        none, basic, token, or auto (default): token when users\n"
    "                     exist in DIR (see \"user add\"), else none\n"
    "  --htpasswd FILE    basic authentication against an htpasswd file of bcrypt\n"
    "                     entries (htpasswd -B); implies --auth basic. SIGHUP\n"
    "                     reloads it (one that does not parse keeps the old users)\n"
    "                     (default: none)\n"
    "  --cursor-key-file FILE\n"
    "                     32 secret bytes that seal the next-page cursors of\n"
    "                     filtered listings; give replicas the same file (default\n"
    "                     DIR/cursor.key, made on first start)\n"
    "  --gc-interval D    garbage collection every D inside serve (default 1h; 0:\n"
    "                     only on demand, POST /api/v1/gc)\n"
    "  --gc-grace D       unreferenced blobs younger than D are kept (default 1h)\n"
    "  --untagged-retention D\n"
    "                     a manifest left untagged goes after D (default 0: at once;\n"
    "                     -1: never)\n"
    "  --upload-ttl D     upload sessions idle for D expire (default 24h)\n"
    "                     Durations: whole seconds or a number with ms, s, m, h, d.\n"
    "  --max-uploads-per-client N\n"
    "                     open upload sessions per user (or address, for anonymous\n"
    "                     callers); beyond, 429 with Retry-After (default 100; 0: none)\n"
    "  --max-uploads-per-repository N\n"
    "                     open upload sessions per repository (default 1000; 0: none)\n"
    "  --max-connections-per-client N\n"
    "                     connections per client address; beyond, new ones are closed\n"
    "                     (default 256; 0: no limit)\n"
    "  --default-visibility private|public\n"
    "                     who may pull a repository not set otherwise (default\n"
    "                     private: its namespace's users; public: anyone)\n"
    "  --token-realm URL  the http(s) URL of /auth/token that Bearer challenges name\n"
    "                     (default: from the request; set it behind a proxy)\n"
    "  --trusted-proxy ADDRESS[/BITS]\n"
    "                     repeatable: a proxy whose X-Forwarded-Proto/-Host name the\n"
    "                     realm when --token-realm is not set (others' are ignored)\n"
    "                     (default: none)\n"
    "  --max-orgs-per-user N\n"
    "                     organisations a user who is no administrator may create,\n"
    "                     deleted ones included (default 10; 0: only administrators)\n"
    "  --min-free-space SIZE\n"
    "                     uploads are refused (507) when the data filesystem would\n"
    "                     keep less free, so manifests and tags can still be written\n"
    "                     (default 1GiB, or 5% of the filesystem if less; 0: none).\n"
    "  --default-quota SIZE\n"
    "                     the quota of a namespace that has none of its own (set\n"
    "                     by PUT /api/v1/namespaces/NS/quota); default: no limit\n"
    "                     Sizes: bytes or a number with B, KiB, MiB, GiB, kB, MB, GB\n";
constexpr std::string_view user_help =
    "user: manage the registry's users while the server is stopped. The password is\n"
    "read from standard input (one line).\n"
    "  --data DIR         the data dir (default ./pier-data); user add makes it\n"
    "  --storage URL      file://DIR: the blob store (default file://DATA)\n"
    "  --database URL     rocksdb://DIR: the metadata (default rocksdb://DATA/meta)\n"
    "  --admin            user add: make an administrator (default: off)\n"
    "  --password-stdin   user add: read the password from standard input (required:\n"
    "                     never from the command line)\n";
constexpr std::string_view gen_cert_help =
    "gen-cert: make a private CA (ca.crt) and a server certificate (server.crt,\n"
    "server.key) for NAME and each --ip, to serve with --tls-cert/--tls-key; clients\n"
    "trust ca.crt: docker reads /etc/docker/certs.d/HOST:PORT/ca.crt, podman, skopeo\n"
    "and buildah /etc/containers/certs.d/HOST:PORT/ca.crt.\n"
    "  --host NAME        the name clients use to reach the registry (required)\n"
    "  --ip ADDRESS       repeatable: an address clients use too (default: none)\n"
    "  --out DIR          where the three files go (required)\n";
constexpr std::string_view gc_help =
    "gc: collect garbage in a stopped server's data dir, orphan files included (--dry-run:\n"
    "only report).\n"
    "  --data DIR         the data dir (default ./pier-data; it must exist)\n"
    "  --storage URL      file://DIR: the blob store (default file://DATA)\n"
    "  --database URL     rocksdb://DIR: the metadata (default rocksdb://DATA/meta)\n"
    "  --dry-run          only count what would go (default: off)\n"
    "  --grace D          unreferenced blobs and orphan files younger than D stay\n"
    "                     (default 1h)\n"
    "  --upload-ttl D     upload sessions older than D are aborted (default 24h)\n"
    "                     Durations: whole seconds or a number with ms, s, m, h, d.\n";
constexpr std::string_view fsck_help =
    "fsck: verify every blob's digest and size, every link and count of a stopped\n"
    "server's data; --repair fixes what can be fixed. Exit 0: consistent.\n"
    "  --data DIR         the data dir (required)\n"
    "  --storage URL      file://DIR: the blob store (default file://DATA)\n"
    "  --database URL     rocksdb://DIR: the metadata (default rocksdb://DATA/meta)\n"
    "  --repair           rewrite wrong counts, remove corrupt blobs, dangling links and\n"
    "                     orphan files; never a manifest (default: off, only check)\n";
constexpr std::string_view usage_tail =
    "Logs go to stderr, one logfmt line each. SIGINT or SIGTERM stops gracefully: no new\n"
    "connections, in-flight requests finish; a second signal cancels them.\n"
    "Exit status: 0 after a stop, 1 when the server cannot start, 2 for bad usage or\n"
    "configuration.\n";

} // namespace

std::string usage(std::string_view command) {
  constexpr std::pair<std::string_view, std::string_view> commands[] = {{"serve", serve_help},
                                                                        {"user", user_help},
                                                                        {"gen-cert", gen_cert_help},
                                                                        {"gc", gc_help},
                                                                        {"fsck", fsck_help}};
  std::string text(usage_title);
  for (auto const& [name, help] : commands) {
    if (name != command)
      continue;
    // Its own usage lines (with their continuations), then its own options.
    text += "Usage:\n";
    std::string_view lines = usage_lines;
    bool own = false;
    while (!lines.empty()) {
      std::string_view const line = lines.substr(0, lines.find('\n') + 1);
      lines.remove_prefix(line.size());
      if (line.starts_with("  pier-registry "))
        own = line.substr(16).starts_with(std::string(name) + " ");
      else if (!line.starts_with("      "))
        own = false;
      if (own)
        text += line;
    }
    text.append("\n").append(help).append("\n").append(usage_tail);
    return text;
  }
  text.append(usage_lines).append("\n").append(serve_help).append("\n");
  for (auto const& [name, help] : commands)
    if (name != "serve")
      text += help;
  text.append("\n").append(usage_tail);
  return text;
}

} // namespace pier_registry
