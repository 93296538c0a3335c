// SPDX-License-Identifier: Apache-2.0
#include "config.hpp"

#include <pier/config.hpp>

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

constexpr std::string_view listen_forms = "HOST:PORT, :PORT or [IPV6]:PORT";

// --- JSON values --------------------------------------------------------------------

// How a JSON value looks in a message: short, on one line.
std::string shown(boost::json::value const& v) {
  std::string s = boost::json::serialize(v);
  if (s.size() > 40)
    s = s.substr(0, 37) + "...";
  return s;
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

  std::string boolean(boost::json::value const& v, std::optional<bool>& field) const {
    if (!v.is_bool())
      return bad("true or false", v);
    field = v.get_bool();
    return {};
  }

  std::string duration(boost::json::value const& v, bool zero_allowed,
                       std::optional<std::chrono::milliseconds>& field) const {
    if (!v.is_string())
      return bad("a duration such as \"500ms\", \"30s\" or \"5m\"", v);
    auto d = parse_duration(v.get_string());
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

constexpr std::array<std::string_view, 24> setting_names{"listen",
                                                         "data",
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
                                                         "allow_delete",
                                                         "negotiate_oci"};

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
    return r.size(v, 1000000, t.max_connections);
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
  if (k == "allow_delete")
    return r.boolean(v, g.allow_delete);
  if (k == "negotiate_oci")
    return r.boolean(v, g.negotiate_oci);
  return r.bad_text("not a setting"); // unreachable: the caller checked setting_names
}

} // namespace

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

outcome<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t const unit_at = text.find_first_not_of("0123456789");
  std::string_view const number = text.substr(0, unit_at);
  std::string_view const unit =
      unit_at == std::string_view::npos ? std::string_view{} : text.substr(unit_at);
  auto const n = parse_uint(number);
  std::uint64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60 * 1000;
  else if (unit == "h")
    scale = 60 * 60 * 1000;
  if (!n || scale == 0)
    return fail("duration " + in_quotes(text) +
                " is not a whole number with a unit (ms, s, m, h), as in \"30s\"");
  constexpr std::uint64_t max_ms = std::uint64_t{7} * 24 * 60 * 60 * 1000; // a week
  if (*n > max_ms / scale)
    return fail("duration " + in_quotes(text) + " is longer than a week");
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(*n * scale));
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

outcome<config> load_config_file(config base, std::filesystem::path const& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    int const e = errno;
    return fail("cannot read config file " + in_quotes(file.string()) + ": " +
                std::generic_category().message(e));
  }
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    return fail("config file " + in_quotes(file.string()) + " is a directory");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return fail("cannot read config file " + in_quotes(file.string()));
  return apply_config_json(std::move(base), text.str(), file.string());
}

outcome<invocation> parse_command_line(std::span<std::string_view const> args) {
  invocation inv;
  if (args.empty())
    return fail("no command given: run \"pier-registry help\" for usage");
  std::string_view const command = args.front();
  if (command == "help" || command == "--help" || command == "-h") {
    inv.what = invocation::action::help;
    return inv;
  }
  if (command == "version" || command == "--version") {
    inv.what = invocation::action::version;
    return inv;
  }
  if (command != "serve")
    return fail("unknown command " + in_quotes(command) + ": run \"pier-registry help\" for usage");

  // Collect the flags first: the config file is read before the flags apply.
  struct flag {
    std::string_view name;
    std::string_view what;
    std::optional<std::string_view> value;
  };
  std::array<flag, 5> flags{{{"--config", "FILE", {}},
                             {"--listen", "HOST:PORT", {}},
                             {"--data", "DIR", {}},
                             {"--threads", "N", {}},
                             {"--log-level", "debug|info|warn|error", {}}}};
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      inv.what = invocation::action::help;
      return inv;
    }
    if (!arg.starts_with("--"))
      return fail("unexpected argument " + in_quotes(arg) + ": serve takes only flags");
    std::optional<std::string_view> value;
    if (std::size_t const eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto const f = std::find_if(flags.begin(), flags.end(),
                                [&](flag const& candidate) { return candidate.name == arg; });
    if (f == flags.end())
      return fail("unknown option " + in_quotes(arg) + ": run \"pier-registry help\" for usage");
    if (!value) {
      if (i + 1 == args.size())
        return fail(std::string(f->name) + " needs a value (" + std::string(f->what) + ")");
      value = args[++i];
    }
    if (value->empty())
      return fail(std::string(f->name) + " needs a value (" + std::string(f->what) + ")");
    if (f->value)
      return fail(std::string(f->name) + " is given twice");
    f->value = value;
  }
  auto const& [config_flag, listen_flag, data_flag, threads_flag, level_flag] = flags;

  if (config_flag.value) {
    auto loaded = load_config_file(inv.settings, std::filesystem::path(*config_flag.value));
    if (!loaded)
      return failure{loaded.error()};
    inv.settings = std::move(*loaded);
  }
  if (listen_flag.value) {
    auto a = parse_listen(*listen_flag.value);
    if (!a)
      return fail("--listen: " + a.error());
    inv.settings.listen = *a;
  }
  if (data_flag.value)
    inv.settings.data = std::filesystem::path(*data_flag.value);
  if (threads_flag.value) {
    auto n = parse_threads(*threads_flag.value);
    if (!n)
      return fail("--threads: " + n.error());
    inv.settings.threads = *n;
  }
  if (level_flag.value) {
    auto l = parse_log_level(*level_flag.value);
    if (!l)
      return fail("--log-level: " + l.error());
    inv.settings.level = *l;
  }
  return inv;
}

std::string usage() {
  return "pier-registry " PIER_VERSION_STRING
         " - a container-image registry (OCI Distribution v1.1)\n"
         "\n"
         "Usage:\n"
         "  pier-registry serve [--config FILE] [--listen HOST:PORT] [--data DIR]\n"
         "                      [--threads N] [--log-level LEVEL]\n"
         "  pier-registry --version\n"
         "  pier-registry help\n"
         "\n"
         "serve options (they override the config file):\n"
         "  --config FILE      JSON settings file (keys: listen, data, threads, log_level,\n"
         "                     threading, *_timeout, max_* and more; see README.md)\n"
         "  --listen ADDRESS   HOST:PORT, :PORT or [IPV6]:PORT     (default 0.0.0.0:5000;\n"
         "                     port 0 picks a free port, printed in the start-up line)\n"
         "  --data DIR         blobs in DIR/blobs, metadata in DIR/meta (default ./pier-data)\n"
         "  --threads N        worker threads                      (default: one per core)\n"
         "  --log-level LEVEL  debug, info, warn or error           (default info; requests\n"
         "                     are logged at info)\n"
         "\n"
         "Logs go to stderr, one logfmt line each. SIGINT or SIGTERM stops gracefully: no new\n"
         "connections, in-flight requests finish; a second signal cancels them.\n"
         "Exit status: 0 after a stop, 1 when the server cannot start, 2 for bad usage or\n"
         "configuration.\n";
}

} // namespace pier_registry
