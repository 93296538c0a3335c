#include "config.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using pier_registry::config;
using pier_registry::invocation;
using pier_registry::listen_address;
using pier_registry::log_level;
using pier_registry::outcome;
using pier_registry::parse_command_line;

outcome<invocation> parse(std::initializer_list<std::string_view> args) {
  std::vector<std::string_view> const v(args);
  return parse_command_line(v);
}

// A file that goes away with the test.
class temp_file {
public:
  explicit temp_file(std::string_view content) {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("pier-config-test-" + std::to_string(rd()) + ".json");
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  temp_file(temp_file const&) = delete;
  temp_file& operator=(temp_file const&) = delete;
  std::string path() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

// --- defaults and commands -------------------------------------------------------------

TEST(ExampleConfig, ServeWithoutFlagsHasTheDefaults) {
  auto const inv = parse({"serve"});
  ASSERT_TRUE(inv) << inv.error();
  EXPECT_EQ(inv->what, invocation::action::serve);
  config const& c = inv->settings;
  EXPECT_EQ(c.listen.host, "0.0.0.0");
  EXPECT_EQ(c.listen.port, 5000);
  EXPECT_EQ(c.listen.to_string(), "0.0.0.0:5000");
  EXPECT_EQ(c.data, std::filesystem::path("pier-data"));
  EXPECT_FALSE(c.threads);
  EXPECT_EQ(c.level, log_level::info);
  EXPECT_FALSE(c.server.threading);
  EXPECT_FALSE(c.server.header_timeout);
  EXPECT_FALSE(c.server.shutdown_timeout);
  EXPECT_FALSE(c.server.max_connections);
  EXPECT_FALSE(c.registry.max_manifest_size);
  EXPECT_FALSE(c.registry.allow_delete);
  EXPECT_TRUE(inv.error().empty());
}

TEST(ExampleConfig, HelpAndVersion) {
  for (auto args : {std::vector<std::string_view>{"help"},
                    {"--help"},
                    {"-h"},
                    {"serve", "--help"},
                    {"serve", "--listen", ":1", "-h"}}) {
    auto const inv = parse_command_line(args);
    ASSERT_TRUE(inv) << inv.error();
    EXPECT_EQ(inv->what, invocation::action::help);
  }
  for (auto arg : {"--version", "version"}) {
    auto const inv = parse({arg});
    ASSERT_TRUE(inv) << inv.error();
    EXPECT_EQ(inv->what, invocation::action::version);
  }
  std::string const text = pier_registry::usage();
  for (auto word : {"serve", "--config", "--listen", "--data", "--threads", "--log-level",
                    "--version", "0.0.0.0:5000", "pier-data"})
    EXPECT_NE(text.find(word), std::string::npos) << word;
  // Where each client looks for the CA that gen-cert makes: docker has its own path.
  for (auto path :
       {"/etc/docker/certs.d/HOST:PORT/ca.crt", "/etc/containers/certs.d/HOST:PORT/ca.crt"})
    EXPECT_NE(text.find(path), std::string::npos) << path;
}

// Issue 10: `gc --help` showed every command's flags. Each command's help has its own
// usage and options, and no other command's.
TEST(ExampleConfig, EachCommandHasItsOwnHelp) {
  struct want {
    std::vector<std::string_view> args;
    std::string_view topic;
    std::vector<std::string_view> has;
    std::vector<std::string_view> lacks;
  };
  for (want const& w : std::vector<want>{
           {{"gc", "--help"}, "gc", {"pier-registry gc ", "--dry-run", "--grace", "(default 1h)"},
            {"--listen", "--repair", "--password-stdin", "pier-registry serve"}},
           {{"fsck", "--help"}, "fsck", {"pier-registry fsck ", "--repair", "(required)"},
            {"--dry-run", "--listen"}},
           {{"serve", "-h"}, "serve", {"pier-registry serve ", "--listen", "--min-free-space"},
            {"--repair", "--dry-run"}},
           {{"user", "add", "--help"}, "user", {"pier-registry user add", "--data"}, {"--listen"}},
           {{"gen-cert", "--help"}, "gen-cert", {"--host NAME", "/etc/docker/certs.d"},
            {"--listen"}},
           {{"help", "gc"}, "gc", {"--dry-run"}, {"--listen"}}}) {
    auto const inv = parse_command_line(w.args);
    ASSERT_TRUE(inv) << inv.error();
    EXPECT_EQ(inv->what, invocation::action::help);
    EXPECT_EQ(inv->help_topic, w.topic);
    std::string const text = pier_registry::usage(inv->help_topic);
    for (std::string_view s : w.has)
      EXPECT_NE(text.find(s), std::string::npos) << w.topic << " help lacks " << s << ":\n" << text;
    for (std::string_view s : w.lacks)
      EXPECT_EQ(text.find(s), std::string::npos) << w.topic << " help has " << s << ":\n" << text;
  }
  // The whole help still has every command's options.
  std::string const all = pier_registry::usage();
  for (std::string_view s : {"--dry-run", "--repair", "--listen", "--host NAME", "--password-stdin"})
    EXPECT_NE(all.find(s), std::string::npos) << s;
}

// Issue 10: `--help` gives every default. Every flag each parser knows has an entry in its
// command's help (a line "  --FLAG ...", with the indented lines after it), and the entry
// names its default ("default ...", "default: none", "default: off") or says the flag is
// required. A new flag without a default in its help fails here.
TEST(ExampleConfig, HelpGivesEveryFlagsDefault) {
  for (std::string_view command : {"serve", "user", "gen-cert", "gc", "fsck"}) {
    std::vector<std::string_view> const flags = pier_registry::flag_names(command);
    EXPECT_FALSE(flags.empty()) << command;
    std::string const help = pier_registry::usage(command);
    for (std::string_view flag : flags) {
      // The entry: from "  FLAG " to the next line that is not indented further.
      std::string const head = "\n  " + std::string(flag);
      std::size_t at = help.find(head + " ");
      if (at == std::string::npos)
        at = help.find(head + "\n");
      ASSERT_NE(at, std::string::npos) << command << " --help has no entry for " << flag << ":\n"
                                       << help;
      std::size_t end = help.find('\n', at + 1);
      while (end != std::string::npos && help.compare(end, 6, "\n     ") == 0)
        end = help.find('\n', end + 1); // a continuation line, indented further
      std::string const entry = help.substr(at + head.size(), end - at - head.size());
      EXPECT_TRUE(entry.find("default") != std::string::npos ||
                  entry.find("(required") != std::string::npos)
          << command << " --help: " << flag << " does not give its default:" << entry;
    }
  }
  EXPECT_TRUE(pier_registry::flag_names("nonsense").empty());
}

// --- flags -------------------------------------------------------------------------------

TEST(ExampleConfig, FlagsTakeTheirValueNextOrAfterEquals) {
  auto const inv = parse({"serve", "--listen", "127.0.0.1:6000", "--data=/srv/pier", "--threads",
                          "3", "--log-level=warn"});
  ASSERT_TRUE(inv) << inv.error();
  config const& c = inv->settings;
  EXPECT_EQ(c.listen, (listen_address{"127.0.0.1", 6000}));
  EXPECT_EQ(c.data, std::filesystem::path("/srv/pier"));
  EXPECT_EQ(c.threads, 3u);
  EXPECT_EQ(c.level, log_level::warn);
}

TEST(ExampleConfig, ListenForms) {
  struct good {
    std::string_view text;
    listen_address want;
    std::string_view shown;
  };
  for (good const& g : {
           good{"0.0.0.0:5000", {"0.0.0.0", 5000}, "0.0.0.0:5000"},
           good{"127.0.0.1:0", {"127.0.0.1", 0}, "127.0.0.1:0"},
           good{":5000", {"0.0.0.0", 5000}, "0.0.0.0:5000"},
           good{":65535", {"0.0.0.0", 65535}, "0.0.0.0:65535"},
           good{"[::1]:5000", {"::1", 5000}, "[::1]:5000"},
           good{"[::]:80", {"::", 80}, "[::]:80"},
           good{"[fe80::1:2]:8080", {"fe80::1:2", 8080}, "[fe80::1:2]:8080"},
           good{"localhost:5000", {"localhost", 5000}, "localhost:5000"},
           good{"registry.example.com:443",
                {"registry.example.com", 443},
                "registry.example.com:443"},
       }) {
    auto const a = pier_registry::parse_listen(g.text);
    ASSERT_TRUE(a) << g.text << ": " << a.error();
    EXPECT_EQ(*a, g.want) << g.text;
    EXPECT_EQ(a->to_string(), g.shown);
  }
  struct bad {
    std::string_view text;
    std::string_view says;
  };
  for (bad const& b : {
           bad{"", "has no port"},
           bad{"5000", "has no port"},
           bad{"localhost", "has no port"},
           bad{"127.0.0.1:", "port must be a number"},
           bad{"127.0.0.1:65536", "port must be a number"},
           bad{"127.0.0.1:-1", "port must be a number"},
           bad{"127.0.0.1:+80", "port must be a number"},
           bad{"127.0.0.1:80x", "port must be a number"},
           bad{"127.0.0.1:99999999999999999999999", "port must be a number"},
           bad{"::1:5000", "in brackets"},
           bad{"[::1:5000", "expected [IPV6]:PORT"},
           bad{"[::1]5000", "expected [IPV6]:PORT"},
           bad{"[::1]", "expected [IPV6]:PORT"},
           bad{"[::1]:", "port must be a number"},
           bad{"[]:5000", "\"\" is not an IPv6 address"},
           bad{"[1.2.3.4]:5000", "is not an IPv6 address"},
           bad{"[zz::1]:5000", "is not an IPv6 address"},
           bad{"1.2.3:5000", "is not an IPv4 address"},
           bad{"256.1.1.1:5000", "is not an IPv4 address"},
           bad{"bad_host:5000", "is not a valid host name"},
           bad{"-x.example:5000", "is not a valid host name"},
           bad{"a..b:5000", "is not a valid host name"},
           bad{"host name:5000", "is not a valid host name"},
       }) {
    auto const a = pier_registry::parse_listen(b.text);
    ASSERT_FALSE(a) << b.text;
    EXPECT_NE(a.error().find(b.says), std::string::npos) << b.text << ": " << a.error();
  }
  // Through the flag, with the flag's name in front.
  auto const inv = parse({"serve", "--listen", "[::1]:0"});
  ASSERT_TRUE(inv) << inv.error();
  EXPECT_EQ(inv->settings.listen, (listen_address{"::1", 0}));
  auto const bad_flag = parse({"serve", "--listen=nope"});
  ASSERT_FALSE(bad_flag);
  EXPECT_EQ(bad_flag.error().rfind("--listen: ", 0), 0u) << bad_flag.error();
}

TEST(ExampleConfig, Durations) {
  EXPECT_EQ(*pier_registry::parse_duration("500ms"), 500ms);
  EXPECT_EQ(*pier_registry::parse_duration("30s"), 30s);
  EXPECT_EQ(*pier_registry::parse_duration("5m"), 5min);
  EXPECT_EQ(*pier_registry::parse_duration("2h"), 2h);
  EXPECT_EQ(*pier_registry::parse_duration("0s"), 0ms);
  EXPECT_EQ(*pier_registry::parse_duration("90"), 90s); // plain seconds
  EXPECT_EQ(*pier_registry::parse_duration("1d"), 24h);
  for (auto bad :
       {"", "s", "-1s", "-1", "1.5s", "30 s", "30sec", "1w", "8d", "169h", "99999999999999999999s"})
    EXPECT_FALSE(pier_registry::parse_duration(bad)) << bad;
  using pier_registry::duration_limit;
  EXPECT_EQ(*pier_registry::parse_duration("30d", duration_limit::ten_years), 30 * 24h);
  EXPECT_FALSE(pier_registry::parse_duration("3651d", duration_limit::ten_years));
}

// Issue 10: every duration takes the same units, and a number without one is seconds:
// each config key (as a string, or a JSON integer) and each flag.
TEST(ExampleConfig, EveryDurationTakesUnits) {
  using ms = std::chrono::milliseconds;
  using pier_registry::server_tuning;
  auto const get = [](config const& c, std::string_view name) -> std::optional<ms> {
    server_tuning const& t = c.server;
    for (auto [n, f] :
         {std::pair{"header_timeout", &t.header_timeout},
          std::pair{"idle_timeout", &t.idle_timeout},
          std::pair{"body_stall_timeout", &t.body_stall_timeout},
          std::pair{"write_stall_timeout", &t.write_stall_timeout},
          std::pair{"shutdown_timeout", &t.shutdown_timeout},
          std::pair{"linger_timeout", &t.linger_timeout},
          std::pair{"token_ttl", &c.access.token_ttl}, std::pair{"gc_interval", &c.gc.interval},
          std::pair{"gc_grace", &c.gc.grace},
          std::pair{"untagged_retention", &c.gc.untagged_retention},
          std::pair{"upload_ttl", &c.gc.upload_ttl}})
      if (name == n)
        return *f;
    ADD_FAILURE() << "no duration setting " << name;
    return std::nullopt;
  };
  for (std::string_view k :
       {"header_timeout", "idle_timeout", "body_stall_timeout", "write_stall_timeout",
        "shutdown_timeout", "linger_timeout", "token_ttl", "gc_interval", "gc_grace",
        "untagged_retention", "upload_ttl"}) {
    for (auto [value, want] : {std::pair{std::string("\"1500ms\""), ms(1500)},
                               {"\"90s\"", ms(90000)},
                               {"\"5m\"", ms(300000)},
                               {"\"1h\"", ms(3600000)},
                               {"\"2d\"", ms(2 * 86400000)},
                               {"\"90\"", ms(90000)},
                               {"90", ms(90000)}}) {
      std::string const json = "{\"" + std::string(k) + "\": " + value + "}";
      auto const c = pier_registry::apply_config_json({}, json, "f");
      ASSERT_TRUE(c) << json << ": " << c.error();
      EXPECT_EQ(get(*c, k), want) << json;
    }
    for (std::string_view bad : {"\"1.5h\"", "1.5", "\"1w\"", "true", "\"\""}) {
      std::string const json = "{\"" + std::string(k) + "\": " + std::string(bad) + "}";
      EXPECT_FALSE(pier_registry::apply_config_json({}, json, "f")) << json;
    }
  }
  // The flags: serve's, and gc's own.
  for (std::string_view f : {"--gc-interval", "--gc-grace", "--untagged-retention", "--upload-ttl"})
    for (auto [value, want] : {std::pair{"1500ms", ms(1500)},
                               {"90s", ms(90000)},
                               {"5m", ms(300000)},
                               {"1h", ms(3600000)},
                               {"2d", ms(2 * 86400000)},
                               {"90", ms(90000)}}) {
      auto const inv = parse({"serve", f, value});
      ASSERT_TRUE(inv) << f << " " << value << ": " << inv.error();
      std::string const key(f == "--gc-interval"  ? "gc_interval"
                            : f == "--gc-grace"   ? "gc_grace"
                            : f == "--upload-ttl" ? "upload_ttl"
                                                  : "untagged_retention");
      EXPECT_EQ(get(inv->settings, key), want) << f << " " << value;
      auto const gc = parse({"gc", "--grace", value, "--upload-ttl", value});
      ASSERT_TRUE(gc) << value << ": " << gc.error();
      EXPECT_EQ(gc->gc.grace, want);
      EXPECT_EQ(gc->gc.upload_ttl, want);
    }
}

TEST(ExampleConfig, BadFlagsAreMessages) {
  struct bad {
    std::vector<std::string_view> args;
    std::string_view says;
  };
  for (bad const& b : std::vector<bad>{
           {{}, "no command given"},
           {{"run"}, "unknown command \"run\""},
           {{"--listen", ":5000"}, "unknown command"},
           {{"serve", "--port", "80"}, "unknown option \"--port\""},
           {{"serve", "--port=80"}, "unknown option \"--port\""},
           {{"serve", "-l", ":80"}, "unexpected argument \"-l\""},
           {{"serve", "extra"}, "unexpected argument \"extra\""},
           {{"serve", "--listen"}, "--listen needs a value"},
           {{"serve", "--data="}, "--data needs a value"},
           {{"serve", "--config"}, "--config needs a value"},
           {{"serve", "--data", "a", "--data", "b"}, "--data is given twice"},
           {{"serve", "--threads", "0"}, "--threads: threads \"0\" is not a whole number from 1"},
           {{"serve", "--threads", "many"}, "--threads"},
           {{"serve", "--threads", "-2"}, "--threads"},
           {{"serve", "--threads", "4096"}, "--threads"},
           {{"serve", "--threads", "99999999999999999999999"}, "--threads"},
           {{"serve", "--log-level", "loud"}, "--log-level: log level \"loud\" is not one of"},
           {{"serve", "--listen", ":http"}, "--listen"},
           {{"serve", "--config", "/nonexistent/pier.json"}, "cannot read config file"},
           {{"serve", "--config", "/"}, "is a directory"},
           {{"serve", "--tls-cert", "c.pem"}, "--tls-cert needs --tls-key"},
           {{"serve", "--tls-key", "k.pem"}, "--tls-key needs --tls-cert"},
           {{"serve", "--auth", "ldap"}, "--auth: authentication mode \"ldap\" is not one of"},
           {{"serve", "--auth", "token", "--htpasswd", "f"}, "--htpasswd is for --auth basic"},
           {{"serve", "--default-visibility", "open"}, "is not private or public"},
           {{"user"}, "user needs a verb"},
           {{"user", "rename", "x"}, "user: unknown verb \"rename\""},
           {{"user", "add", "alice"}, "user add needs --password-stdin"},
           {{"user", "add", "--password-stdin"}, "user add needs the user's NAME"},
           {{"user", "add", "a", "b", "--password-stdin"}, "unexpected argument \"b\""},
           {{"user", "del", "a", "--admin"}, "unknown option \"--admin\" for user del"},
           {{"user", "list", "x"}, "unexpected argument \"x\""},
           {{"user", "add", "a", "--password-stdin=yes"}, "--password-stdin takes no value"},
           {{"gen-cert", "--out", "d"}, "gen-cert needs --host NAME"},
           {{"gen-cert", "--host", "r.example"}, "gen-cert needs --out DIR"},
           {{"gen-cert", "--host", "bad_host", "--out", "d"}, "is not a valid host name"},
           {{"gen-cert", "--host", "h", "--ip", "300.1.1.1", "--out", "d"}, "is not an IPv4 or"},
       }) {
    auto const inv = parse_command_line(b.args);
    ASSERT_FALSE(inv) << b.says;
    EXPECT_NE(inv.error().find(b.says), std::string::npos) << inv.error();
    EXPECT_EQ(inv.error().find('\n'), std::string::npos) << inv.error();
  }
  // Control bytes in an argument come back escaped: one line, whatever the input.
  auto const inv = parse({"serve", "--log-level", "a\nb\x01"});
  ASSERT_FALSE(inv);
  EXPECT_NE(inv.error().find("\"a\\x0ab\\x01\""), std::string::npos) << inv.error();
}

TEST(ExampleConfig, SecurityFlags) {
  auto const inv = parse({"serve", "--tls-cert", "s.crt", "--tls-key=s.key", "--auth", "token",
                          "--default-visibility", "public"});
  ASSERT_TRUE(inv) << inv.error();
  auto const& a = inv->settings.access;
  EXPECT_EQ(a.tls_cert, std::filesystem::path("s.crt"));
  EXPECT_EQ(a.tls_key, std::filesystem::path("s.key"));
  EXPECT_EQ(a.auth, pier_registry::auth_mode::token);
  EXPECT_EQ(a.visibility, pier_registry::default_visibility::public_);
  // Without flags: no TLS, automatic authentication, private repositories.
  auto const plain = parse({"serve"});
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->settings.access.tls_cert);
  EXPECT_FALSE(plain->settings.access.auth);
  EXPECT_EQ(plain->settings.access.visibility, pier_registry::default_visibility::private_);
  // --htpasswd alone means basic authentication.
  auto const basic = parse({"serve", "--htpasswd", "/etc/pier/htpasswd"});
  ASSERT_TRUE(basic) << basic.error();
  EXPECT_EQ(basic->settings.access.auth, pier_registry::auth_mode::basic);
  EXPECT_EQ(basic->settings.access.htpasswd, std::filesystem::path("/etc/pier/htpasswd"));
}

// Issue 10: the key of next-page cursors comes from a file replicas can share, by flag or
// config file; `max_scan` (config file only) bounds a filtered page's reads.
TEST(ExampleConfig, CursorKeyFileAndMaxScan) {
  EXPECT_FALSE(parse({"serve"})->settings.access.cursor_key_file);
  auto const flag = parse({"serve", "--cursor-key-file", "/etc/pier/cursor.key"});
  ASSERT_TRUE(flag) << flag.error();
  EXPECT_EQ(flag->settings.access.cursor_key_file, std::filesystem::path("/etc/pier/cursor.key"));
  auto const c = pier_registry::apply_config_json(
      {}, R"({"cursor_key_file": "/srv/key", "max_scan": 50})", "inline");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->access.cursor_key_file, std::filesystem::path("/srv/key"));
  EXPECT_EQ(c->registry.max_scan, 50u);
  EXPECT_FALSE(pier_registry::apply_config_json({}, R"({"cursor_key_file": ""})", "inline"));
  EXPECT_FALSE(pier_registry::apply_config_json({}, R"({"max_scan": 0})", "inline"));
  EXPECT_NE(pier_registry::usage("serve").find("--cursor-key-file"), std::string::npos);
}

TEST(ExampleConfig, MinFreeSpace) {
  using pier_registry::parse_byte_size;
  EXPECT_EQ(*parse_byte_size("0"), 0u);
  EXPECT_EQ(*parse_byte_size("4096"), 4096u);
  EXPECT_EQ(*parse_byte_size("512B"), 512u);
  EXPECT_EQ(*parse_byte_size("512MiB"), 512u << 20);
  EXPECT_EQ(*parse_byte_size("1GiB"), std::uint64_t{1} << 30);
  EXPECT_EQ(*parse_byte_size("2TiB"), std::uint64_t{2} << 40);
  EXPECT_EQ(*parse_byte_size("500kB"), 500000u);
  EXPECT_EQ(*parse_byte_size("10MB"), 10000000u);
  EXPECT_EQ(*parse_byte_size("1GB"), 1000000000u);
  for (auto bad : {"", "MiB", "1 GiB", "-1", "1.5GiB", "1gib", "1Gi", "99999999999TiB"})
    EXPECT_FALSE(parse_byte_size(bad)) << bad;

  EXPECT_FALSE(parse({"serve"})->settings.min_free_space); // the default is computed at start
  auto const inv = parse({"serve", "--min-free-space", "24MiB"});
  ASSERT_TRUE(inv) << inv.error();
  EXPECT_EQ(inv->settings.min_free_space, 24u << 20);
  EXPECT_EQ(parse({"serve", "--min-free-space=0"})->settings.min_free_space, 0u);
  auto const bad = parse({"serve", "--min-free-space", "lots"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("--min-free-space"), std::string::npos) << bad.error();

  auto const file = pier_registry::apply_config_json({}, R"({"min_free_space": "1GiB"})", "f");
  ASSERT_TRUE(file) << file.error();
  EXPECT_EQ(file->min_free_space, std::uint64_t{1} << 30);
  EXPECT_EQ(pier_registry::apply_config_json({}, R"({"min_free_space": 1000})", "f")->min_free_space,
            1000u);
  EXPECT_FALSE(pier_registry::apply_config_json({}, R"({"min_free_space": "big"})", "f"));
  EXPECT_FALSE(pier_registry::apply_config_json({}, R"({"min_free_space": -1})", "f"));
}

TEST(ExampleConfig, DefaultQuotaIsASize) {
  EXPECT_FALSE(parse({"serve"})->settings.registry.default_quota); // no limit
  auto const flag = parse({"serve", "--default-quota", "10GiB"});
  ASSERT_TRUE(flag) << flag.error();
  EXPECT_EQ(flag->settings.registry.default_quota, std::uint64_t{10} << 30);
  EXPECT_EQ(parse({"serve", "--default-quota=0"})->settings.registry.default_quota, 0u);
  auto const bad = parse({"serve", "--default-quota", "much"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("--default-quota"), std::string::npos) << bad.error();

  auto const file = pier_registry::apply_config_json({}, R"({"default_quota": "500MB"})", "f");
  ASSERT_TRUE(file) << file.error();
  EXPECT_EQ(file->registry.default_quota, 500000000u);
  EXPECT_EQ(
      pier_registry::apply_config_json({}, R"({"default_quota": 1000})", "f")->registry.default_quota,
      1000u);
  EXPECT_FALSE(pier_registry::apply_config_json({}, R"({"default_quota": "1 GiB"})", "f"));
  EXPECT_FALSE(pier_registry::apply_config_json({}, R"({"default_quota": -1})", "f"));
}

TEST(ExampleConfig, GcSettingsAndCommand) {
  auto const inv = parse({"serve", "--gc-interval", "1h", "--gc-grace", "600",
                          "--untagged-retention", "-1", "--upload-ttl", "2d"});
  ASSERT_TRUE(inv) << inv.error();
  auto const& g = inv->settings.gc;
  EXPECT_EQ(g.interval, 1h);
  EXPECT_EQ(g.grace, 600s);
  EXPECT_EQ(g.untagged_retention, -1ms);
  EXPECT_EQ(g.upload_ttl, 48h);
  auto const file = pier_registry::apply_config_json(
      {}, R"({"gc_interval": 90, "untagged_retention": "7d", "upload_ttl": "30d"})", "f");
  ASSERT_TRUE(file) << file.error();
  EXPECT_EQ(file->gc.interval, 90s);
  EXPECT_EQ(file->gc.untagged_retention, 7 * 24h);
  for (auto bad : {std::vector<std::string_view>{"serve", "--gc-grace", "-1"},
                   std::vector<std::string_view>{"serve", "--upload-ttl", "soon"},
                   std::vector<std::string_view>{"gc", "--grace", "x"},
                   std::vector<std::string_view>{"gc", "extra"}})
    EXPECT_FALSE(parse_command_line(bad));
  EXPECT_FALSE(pier_registry::apply_config_json({}, R"({"gc_grace": true})", "f"));

  auto const gc = parse({"gc", "--data", "d", "--dry-run", "--grace", "0"});
  ASSERT_TRUE(gc) << gc.error();
  EXPECT_EQ(gc->what, invocation::action::gc);
  EXPECT_EQ(gc->gc.data, std::filesystem::path("d"));
  EXPECT_TRUE(gc->gc.dry_run);
  EXPECT_EQ(gc->gc.grace, 0ms);

  auto const fsck = parse({"fsck", "--data", "d", "--repair"});
  ASSERT_TRUE(fsck) << fsck.error();
  EXPECT_EQ(fsck->what, invocation::action::fsck);
  EXPECT_EQ(fsck->fsck.data, std::filesystem::path("d"));
  EXPECT_TRUE(fsck->fsck.repair);
  EXPECT_FALSE(parse({"fsck", "--repair=yes"}));
  // --data is required, as documented: no check (or repair) of ./pier-data by accident.
  auto const no_data = parse({"fsck", "--repair"});
  ASSERT_FALSE(no_data);
  EXPECT_NE(no_data.error().find("--data DIR is required"), std::string::npos) << no_data.error();
}

TEST(ExampleConfig, UploadAndConnectionLimits) {
  auto const none = parse({"serve"});
  ASSERT_TRUE(none) << none.error();
  EXPECT_FALSE(none->settings.registry.max_uploads_per_client); // the library's 100
  EXPECT_FALSE(none->settings.registry.max_uploads_per_repository);
  EXPECT_FALSE(none->settings.server.max_connections_per_client);

  auto const inv = parse({"serve", "--max-uploads-per-client", "5",
                          "--max-uploads-per-repository=0", "--max-connections-per-client", "32"});
  ASSERT_TRUE(inv) << inv.error();
  EXPECT_EQ(inv->settings.registry.max_uploads_per_client, 5u);
  EXPECT_EQ(inv->settings.registry.max_uploads_per_repository, 0u); // no limit
  EXPECT_EQ(inv->settings.server.max_connections_per_client, 32u);

  auto const file = pier_registry::apply_config_json(
      {},
      R"({"max_uploads_per_client": 7, "max_uploads_per_repository": 70,
          "max_connections_per_client": 0})",
      "f");
  ASSERT_TRUE(file) << file.error();
  EXPECT_EQ(file->registry.max_uploads_per_client, 7u);
  EXPECT_EQ(file->registry.max_uploads_per_repository, 70u);
  EXPECT_EQ(file->server.max_connections_per_client, 0u);

  for (auto bad : {std::vector<std::string_view>{"serve", "--max-uploads-per-client", "-1"},
                   std::vector<std::string_view>{"serve", "--max-uploads-per-repository", "many"},
                   std::vector<std::string_view>{"serve", "--max-connections-per-client", "2000000"}}) {
    auto const r = parse_command_line(bad);
    ASSERT_FALSE(r) << bad[1];
    EXPECT_NE(r.error().find(bad[1]), std::string::npos) << r.error();
  }
  auto const bad_file =
      pier_registry::apply_config_json({}, R"({"max_uploads_per_client": "10"})", "f");
  ASSERT_FALSE(bad_file);
  EXPECT_NE(bad_file.error().find("\"max_uploads_per_client\" must be a whole number from 0"),
            std::string::npos)
      << bad_file.error();
}

TEST(ExampleConfig, UserAndGenCertCommands) {
  auto const add = parse({"user", "add", "alice", "--admin", "--password-stdin", "--data", "d"});
  ASSERT_TRUE(add) << add.error();
  EXPECT_EQ(add->what, invocation::action::user);
  EXPECT_EQ(add->user.what, pier_registry::user_command::verb::add);
  EXPECT_EQ(add->user.name, "alice");
  EXPECT_TRUE(add->user.admin);
  EXPECT_EQ(add->user.data, std::filesystem::path("d"));
  auto const del = parse({"user", "del", "bob"});
  ASSERT_TRUE(del) << del.error();
  EXPECT_EQ(del->user.what, pier_registry::user_command::verb::del);
  EXPECT_EQ(del->user.data, std::filesystem::path("pier-data"));
  auto const list = parse({"user", "list", "--data=x"});
  ASSERT_TRUE(list) << list.error();
  EXPECT_EQ(list->user.what, pier_registry::user_command::verb::list);

  auto const cert = parse({"gen-cert", "--host", "registry.lan", "--ip", "10.0.0.5", "--ip",
                           "fd00::5", "--out", "certs"});
  ASSERT_TRUE(cert) << cert.error();
  EXPECT_EQ(cert->what, invocation::action::gen_cert);
  EXPECT_EQ(cert->cert.host, "registry.lan");
  EXPECT_EQ(cert->cert.ips, (std::vector<std::string>{"10.0.0.5", "fd00::5"}));
  EXPECT_EQ(cert->cert.out, std::filesystem::path("certs"));
}

// --- the config file -----------------------------------------------------------------

constexpr std::string_view full_file = R"({
  // comments are allowed
  "listen": "127.0.0.1:7000",
  "data": "/var/lib/pier",
  "threads": 4,
  "log_level": "debug",
  "threading": "shared_context",
  "header_timeout": "10s",
  "idle_timeout": "2m",
  "body_stall_timeout": "45s",
  "write_stall_timeout": "1h",
  "shutdown_timeout": "0s",
  "linger_timeout": "250ms",
  "max_connections": 500,
  "listen_backlog": 128,
  "read_buffer_size": 131072,
  "max_body_drain": 1024,
  "max_request_line": 4096,
  "max_header_bytes": 32768,
  "max_fields": 64,
  "max_manifest_size": 8388608,
  "upload_buffer_size": 65536,
  "max_blob_size": 0,
  "max_page_size": 50,
  "allow_delete": false,
  "negotiate_oci": true,
  "tls_cert": "/etc/pier/server.crt",
  "tls_key": "/etc/pier/server.key",
  "auth": "token",
  "default_visibility": "public",
  "token_ttl": "10m",
  "token_realm": "https://registry.example/auth/token",
  "token_service": "registry.example"
})";

TEST(ExampleConfig, FileOnly) {
  temp_file const f(full_file);
  auto const inv = parse({"serve", "--config", f.path()});
  ASSERT_TRUE(inv) << inv.error();
  config const& c = inv->settings;
  EXPECT_EQ(c.listen, (listen_address{"127.0.0.1", 7000}));
  EXPECT_EQ(c.data, std::filesystem::path("/var/lib/pier"));
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.level, log_level::debug);
  auto const& t = c.server;
  EXPECT_EQ(t.threading, pier_registry::threading_mode::shared_context);
  EXPECT_EQ(t.header_timeout, 10s);
  EXPECT_EQ(t.idle_timeout, 2min);
  EXPECT_EQ(t.body_stall_timeout, 45s);
  EXPECT_EQ(t.write_stall_timeout, 1h);
  EXPECT_EQ(t.shutdown_timeout, 0ms);
  EXPECT_EQ(t.linger_timeout, 250ms);
  EXPECT_EQ(t.max_connections, 500u);
  EXPECT_EQ(t.listen_backlog, 128);
  EXPECT_EQ(t.read_buffer_size, 131072u);
  EXPECT_EQ(t.max_body_drain, 1024u);
  EXPECT_EQ(t.max_request_line, 4096u);
  EXPECT_EQ(t.max_header_bytes, 32768u);
  EXPECT_EQ(t.max_fields, 64u);
  auto const& g = c.registry;
  EXPECT_EQ(g.max_manifest_size, 8388608u);
  EXPECT_EQ(g.upload_buffer_size, 65536u);
  EXPECT_EQ(g.max_blob_size, 0u);
  EXPECT_EQ(g.max_page_size, 50u);
  EXPECT_EQ(g.allow_delete, false);
  EXPECT_EQ(g.negotiate_oci, true);
  auto const& a = c.access;
  EXPECT_EQ(a.tls_cert, std::filesystem::path("/etc/pier/server.crt"));
  EXPECT_EQ(a.tls_key, std::filesystem::path("/etc/pier/server.key"));
  EXPECT_EQ(a.auth, pier_registry::auth_mode::token);
  EXPECT_EQ(a.visibility, pier_registry::default_visibility::public_);
  EXPECT_EQ(a.token_ttl, 10min);
  EXPECT_EQ(a.token_realm, "https://registry.example/auth/token");
  EXPECT_EQ(a.token_service, "registry.example");
}

// Issue 10: how many organisations a user who is no administrator may create, by flag or
// config key; 0 leaves it to administrators, and the flag wins over the file.
TEST(ExampleConfig, MaxOrgsPerUser) {
  auto const limit = [](std::initializer_list<std::string_view> args) {
    auto const inv = parse(args);
    EXPECT_TRUE(inv) << inv.error();
    return inv ? inv->settings.access.max_orgs_per_user : std::nullopt;
  };
  EXPECT_EQ(limit({"serve"}), std::nullopt); // the library's default
  EXPECT_EQ(limit({"serve", "--max-orgs-per-user", "0"}), 0u);
  EXPECT_EQ(limit({"serve", "--max-orgs-per-user=25"}), 25u);
  for (char const* bad : {"-1", "many", "1000001", "1e3", "99999999999999999999999"}) {
    auto const inv = parse({"serve", "--max-orgs-per-user", bad});
    ASSERT_FALSE(inv) << bad;
    EXPECT_NE(inv.error().find("--max-orgs-per-user: "), std::string::npos) << inv.error();
    EXPECT_NE(inv.error().find("is not a whole number from 0 to 1000000"), std::string::npos)
        << inv.error();
  }
  temp_file const f(R"({"max_orgs_per_user": 3})");
  EXPECT_EQ(limit({"serve", "--config", f.path()}), 3u);
  EXPECT_EQ(limit({"serve", "--config", f.path(), "--max-orgs-per-user", "5"}), 5u);
  temp_file const wrong(R"({"max_orgs_per_user": "3"})");
  auto const inv = parse({"serve", "--config", wrong.path()});
  ASSERT_FALSE(inv);
  EXPECT_NE(inv.error().find("\"max_orgs_per_user\" must be a whole number from 0 to 1000000"),
            std::string::npos)
      << inv.error();
}

// Issue 10, item 9: the realm clients send passwords to, and whose X-Forwarded-* headers
// may name it.
TEST(ExampleConfig, TokenRealmAndTrustedProxies) {
  auto const realm = parse({"serve", "--token-realm", "https://registry.example/auth/token"});
  ASSERT_TRUE(realm) << realm.error();
  EXPECT_EQ(realm->settings.access.token_realm, "https://registry.example/auth/token");
  EXPECT_TRUE(realm->settings.access.trusted_proxies.empty());
  for (char const* bad :
       {"registry.example/auth/token", "ftp://registry.example/", "https://", "https:///token",
        "//registry.example/token", "https://user@evil.example/token",
        "https://registry.example/a\"b", "https://registry.example/a b", "http://a/\x01"}) {
    auto const inv = parse({"serve", "--token-realm", bad});
    ASSERT_FALSE(inv) << bad;
    EXPECT_NE(inv.error().find("--token-realm: token realm "), std::string::npos) << inv.error();
    EXPECT_NE(inv.error().find("is not an absolute http or https URL"), std::string::npos)
        << inv.error();
  }

  auto const proxies = parse({"serve", "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy=::1",
                              "--trusted-proxy", "192.0.2.7", "--trusted-proxy", "fd00::/8"});
  ASSERT_TRUE(proxies) << proxies.error();
  EXPECT_EQ(proxies->settings.access.trusted_proxies,
            (std::vector<std::string>{"10.0.0.0/8", "::1", "192.0.2.7", "fd00::/8"}));
  for (char const* bad : {"10.0.0.0/33", "proxy.example", "10.0.0.0/", "::/129", "10.0.0.1 "}) {
    auto const inv = parse({"serve", "--trusted-proxy", bad});
    ASSERT_FALSE(inv) << bad;
    EXPECT_NE(inv.error().find("--trusted-proxy: trusted proxy "), std::string::npos)
        << inv.error();
    EXPECT_NE(inv.error().find("is not an IP address or range"), std::string::npos) << inv.error();
  }

  temp_file const f(
      R"({"token_realm": "http://10.0.0.5:5000/auth/token", "trusted_proxies": ["10.0.0.0/8", "fd00::/8"]})");
  auto const file = parse({"serve", "--config", f.path()});
  ASSERT_TRUE(file) << file.error();
  EXPECT_EQ(file->settings.access.token_realm, "http://10.0.0.5:5000/auth/token");
  EXPECT_EQ(file->settings.access.trusted_proxies,
            (std::vector<std::string>{"10.0.0.0/8", "fd00::/8"}));
  // Flags replace the file's list.
  auto const both = parse({"serve", "--config", f.path(), "--trusted-proxy", "127.0.0.1"});
  ASSERT_TRUE(both) << both.error();
  EXPECT_EQ(both->settings.access.trusted_proxies, (std::vector<std::string>{"127.0.0.1"}));

  struct bad_file {
    std::string_view json;
    std::string_view says;
  };
  for (auto const& b : {
           bad_file{R"({"token_realm": "registry.example"})",
                    "\"token_realm\": token realm \"registry.example\" is not an absolute"},
           bad_file{R"({"trusted_proxies": "10.0.0.0/8"})",
                    "\"trusted_proxies\" must be an array of IP addresses or ranges"},
           bad_file{R"({"trusted_proxies": [10]})",
                    "\"trusted_proxies\" must be an array of IP addresses or ranges"},
           bad_file{R"({"trusted_proxies": ["10.0.0.0/8", "10.0.0.0/99"]})",
                    "\"trusted_proxies\": trusted proxy \"10.0.0.0/99\" is not an IP address"},
       }) {
    temp_file const t(b.json);
    auto const inv = parse({"serve", "--config", t.path()});
    ASSERT_FALSE(inv) << b.json;
    EXPECT_NE(inv.error().find(b.says), std::string::npos) << b.json << " -> " << inv.error();
  }
}

TEST(ExampleConfig, EmptyFileObjectKeepsDefaults) {
  temp_file const f("{}");
  auto const inv = parse({"serve", "--config", f.path()});
  ASSERT_TRUE(inv) << inv.error();
  EXPECT_EQ(inv->settings.listen, (listen_address{"0.0.0.0", 5000}));
  EXPECT_EQ(inv->settings.data, std::filesystem::path("pier-data"));
}

TEST(ExampleConfig, FlagsOverrideTheFile) {
  temp_file const f(full_file);
  // The file is read first wherever --config stands.
  auto const inv = parse({"serve", "--listen", "[::1]:5001", "--config", f.path(), "--data", "here",
                          "--threads", "1", "--log-level", "error"});
  ASSERT_TRUE(inv) << inv.error();
  config const& c = inv->settings;
  EXPECT_EQ(c.listen, (listen_address{"::1", 5001}));
  EXPECT_EQ(c.data, std::filesystem::path("here"));
  EXPECT_EQ(c.threads, 1u);
  EXPECT_EQ(c.level, log_level::error);
  EXPECT_EQ(c.server.header_timeout, 10s); // not a flag: the file's value stays
}

TEST(ExampleConfig, BadFilesAreMessages) {
  struct bad {
    std::string_view json;
    std::string_view says;
  };
  for (bad const& b : std::vector<bad>{
           {"", "not valid JSON"},
           {"{", "not valid JSON"},
           {"{\"listen\": \":5000\",}", "not valid JSON"},
           {"{} {}", "not valid JSON"},
           {"[]", "expected a JSON object"},
           {"\"listen\"", "expected a JSON object"},
           {"null", "expected a JSON object"},
           {R"({"port": 5000})", "unknown setting \"port\" (known: listen, data,"},
           {R"({"Listen": ":5000"})", "unknown setting \"Listen\""},
           {R"({"listen": 5000})", "\"listen\" must be a string such as"},
           {R"({"listen": ""})", "\"listen\" must be a string"},
           {R"({"listen": "5000"})", "\"listen\": listen address \"5000\" has no port"},
           {R"({"listen": "::1:5000"})", "in brackets"},
           {R"({"data": 1})", "\"data\" must be a directory"},
           {R"({"data": ""})", "\"data\" must be a directory"},
           {R"({"data": null})", "\"data\" must be a directory"},
           {R"({"threads": 0})", "\"threads\" must be a whole number from 1 to 1024, not 0"},
           {R"({"threads": -1})", "\"threads\" must be a whole number from 1 to 1024, not -1"},
           {R"({"threads": 2.5})", "\"threads\" must be a whole number"},
           {R"({"threads": "4"})", "\"threads\" must be a whole number"},
           {R"({"threads": 1e30})", "\"threads\" must be a whole number"},
           {R"({"threads": 18446744073709551615})", "\"threads\" must be a whole number"},
           {R"({"threads": true})", "\"threads\" must be a whole number"},
           {R"({"log_level": "verbose"})", "\"log_level\": log level \"verbose\" is not one of"},
           {R"({"log_level": 3})", "\"log_level\" must be one of"},
           {R"({"threading": "fast"})", "\"threading\" must be \"context_per_thread\" or"},
           {R"({"header_timeout": 30.5})", "\"header_timeout\" must be a duration such as"},
           {R"({"header_timeout": -5})", "\"header_timeout\": duration \"-5\" is not whole"},
           {R"({"header_timeout": "30x"})", "\"header_timeout\": duration \"30x\" is not whole"},
           {R"({"header_timeout": "0s"})", "\"header_timeout\" must be longer than zero"},
           {R"({"idle_timeout": "1y"})", "\"idle_timeout\": duration"},
           {R"({"shutdown_timeout": "8d"})", "\"shutdown_timeout\": duration"},
           {R"({"linger_timeout": "9999h"})", "longer than a week"},
           {R"({"max_connections": 0})", "\"max_connections\" must be a whole number from 1"},
           {R"({"listen_backlog": 70000})",
            "\"listen_backlog\" must be a whole number from 1 to 65535"},
           {R"({"read_buffer_size": "64KiB"})", "\"read_buffer_size\" must be a whole number"},
           {R"({"max_body_drain": 2147483648})", "\"max_body_drain\" must be a whole number"},
           {R"({"max_fields": {}})", "\"max_fields\" must be a whole number"},
           {R"({"max_header_bytes": []})", "\"max_header_bytes\" must be a whole number"},
           {R"({"max_manifest_size": 0})", "\"max_manifest_size\" must be a whole number from 1"},
           {R"({"upload_buffer_size": -5})", "\"upload_buffer_size\" must be a whole number"},
           {R"({"max_blob_size": -1})", "\"max_blob_size\" must be a whole number from 0"},
           {R"({"max_page_size": 1000000})",
            "\"max_page_size\" must be a whole number from 1 to 100000"},
           {R"({"allow_delete": "yes"})", "\"allow_delete\" must be true or false, not \"yes\""},
           {R"({"negotiate_oci": 1})", "\"negotiate_oci\" must be true or false, not 1"},
           {R"({"data": {"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{}}}}}}}}}})", "not valid JSON"},
       }) {
    temp_file const f(b.json);
    auto const inv = parse({"serve", "--config", f.path()});
    ASSERT_FALSE(inv) << b.json;
    EXPECT_NE(inv.error().find(b.says), std::string::npos) << b.json << " -> " << inv.error();
    EXPECT_EQ(inv.error().rfind(f.path() + ": ", 0), 0u) << inv.error(); // names the file
    EXPECT_EQ(inv.error().find('\n'), std::string::npos) << inv.error();
  }
}

TEST(ExampleConfig, TheReadmeExampleIsValid) {
  std::ifstream in(PIER_README);
  ASSERT_TRUE(in) << PIER_README;
  std::string const readme{std::istreambuf_iterator<char>(in), {}};
  std::size_t const section = readme.find("## Running pier-registry");
  ASSERT_NE(section, std::string::npos);
  std::size_t const start = readme.find("```json\n", section);
  ASSERT_NE(start, std::string::npos);
  std::size_t const end = readme.find("```", start + 8);
  auto const c = pier_registry::apply_config_json(
      {}, std::string_view(readme).substr(start + 8, end - start - 8), "README.md");
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->data, std::filesystem::path("/var/lib/pier"));
  EXPECT_EQ(c->server.shutdown_timeout, 30s);
  EXPECT_EQ(c->registry.allow_delete, true);
}

TEST(ExampleConfig, ApplyJsonNamesItsSource) {
  auto const c = pier_registry::apply_config_json({}, R"({"threads": "x"})", "inline");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().rfind("inline: \"threads\"", 0), 0u) << c.error();
  // A long bad value is cut short in the message.
  auto const long_value = pier_registry::apply_config_json(
      {}, R"({"threads": ")" + std::string(1000, 'x') + "\"}", "inline");
  ASSERT_FALSE(long_value);
  EXPECT_LT(long_value.error().size(), 200u) << long_value.error();
}

} // namespace

// --storage and --database: the stores by URL, for every command that opens them; by
// default exactly where they always were in the data dir.
TEST(ExampleConfig, StorageAndDatabaseUrls) {
  using pier_registry::store_url;
  auto const none = parse({"serve", "--data", "/srv/pier"});
  ASSERT_TRUE(none) << none.error();
  store_url const blobs = none->settings.stores.storage_or("/srv/pier");
  store_url const meta = none->settings.stores.database_or("/srv/pier");
  EXPECT_EQ(blobs.scheme, store_url::kind::file);
  EXPECT_EQ(blobs.path, std::filesystem::path("/srv/pier"));
  EXPECT_EQ(meta.scheme, store_url::kind::rocksdb);
  EXPECT_EQ(meta.path, std::filesystem::path("/srv/pier/meta"));

  auto const given = parse({"serve", "--storage", "file:///mnt/blobs", "--database=rocksdb://meta"});
  ASSERT_TRUE(given) << given.error();
  EXPECT_EQ(given->settings.stores.storage->path, std::filesystem::path("/mnt/blobs"));
  EXPECT_EQ(given->settings.stores.database->path, std::filesystem::path("meta")); // relative

  auto const file = pier_registry::apply_config_json(
      {}, R"({"storage": "file:///a", "database": "rocksdb:///b"})", "f");
  ASSERT_TRUE(file) << file.error();
  EXPECT_EQ(file->stores.storage->path, std::filesystem::path("/a"));
  EXPECT_EQ(file->stores.database->path, std::filesystem::path("/b"));

  for (auto const& [args, says] :
       std::vector<std::pair<std::vector<std::string_view>, std::string>>{
           {{"serve", "--storage", "s3://bucket"}, "unsupported scheme \"s3\""},
           {{"serve", "--storage", "/plain/path"}, "is not a URL"},
           {{"serve", "--storage", "file://"}, "names no directory"},
           {{"serve", "--storage", "rocksdb:///x"}, "unsupported scheme \"rocksdb\""},
           {{"serve", "--database", "postgresql://db"}, "PostgreSQL is planned"},
           {{"serve", "--database", "rocksdb:///x?sync=0"}, "takes no options"},
           {{"gc", "--storage", "ftp://x"}, "gc --storage: unsupported scheme"},
           {{"fsck", "--data", "d", "--database", "x"}, "fsck --database:"},
           {{"user", "list", "--database", "file:///x"}, "user list --database:"}}) {
    auto const r = parse_command_line(args);
    ASSERT_FALSE(r) << says;
    EXPECT_NE(r.error().find(says), std::string::npos) << r.error();
  }
  EXPECT_FALSE(pier_registry::apply_config_json({}, R"({"storage": "s3://x"})", "f"));
  EXPECT_FALSE(pier_registry::apply_config_json({}, R"({"database": 1})", "f"));

  // Every command that opens the stores takes them.
  auto const gc = parse({"gc", "--storage", "file:///b", "--database", "rocksdb:///m"});
  ASSERT_TRUE(gc) << gc.error();
  EXPECT_EQ(gc->gc.stores.storage->path, std::filesystem::path("/b"));
  EXPECT_EQ(gc->gc.stores.database->path, std::filesystem::path("/m"));
  auto const fsck = parse({"fsck", "--data", "d", "--storage", "file:///b"});
  ASSERT_TRUE(fsck) << fsck.error();
  EXPECT_EQ(fsck->fsck.stores.storage->path, std::filesystem::path("/b"));
  auto const user = parse({"user", "add", "ann", "--password-stdin", "--database", "rocksdb:///m"});
  ASSERT_TRUE(user) << user.error();
  EXPECT_EQ(user->user.stores.database->path, std::filesystem::path("/m"));
  auto const del = parse({"user", "del", "ann", "--storage", "file:///b"});
  ASSERT_TRUE(del) << del.error();
}
