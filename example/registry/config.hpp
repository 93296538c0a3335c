// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_EXAMPLE_REGISTRY_CONFIG_HPP
#define PIER_EXAMPLE_REGISTRY_CONFIG_HPP

// pier-registry's settings: built-in defaults, then a JSON file (`--config`), then
// command-line flags; a later source wins. Nothing here throws for bad input: every
// mistake comes back as one line for the operator, and main() exits with status 2.
//
// Settings the library has defaults for (timeouts, limits) stay empty unless given, so
// the library's defaults are the only ones.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pier_registry {

/// The reason a setting was refused, worded for the operator.
struct failure {
  std::string message;
};

/// A value, or the message saying why there is none.
template <class T>
class outcome {
public:
  // NOLINTNEXTLINE(google-explicit-constructor): implicit, as with std::expected
  outcome(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  outcome(failure f) : v_(std::in_place_index<1>, std::move(f.message)) {}

  explicit operator bool() const noexcept { return v_.index() == 0; }
  T& operator*() noexcept { return *std::get_if<0>(&v_); }
  T const& operator*() const noexcept { return *std::get_if<0>(&v_); }
  T* operator->() noexcept { return std::get_if<0>(&v_); }
  T const* operator->() const noexcept { return std::get_if<0>(&v_); }
  /// The message; empty when there is a value.
  std::string const& error() const noexcept {
    static std::string const none;
    return v_.index() == 1 ? *std::get_if<1>(&v_) : none;
  }

private:
  std::variant<T, std::string> v_;
};

enum class log_level { debug, info, warn, error };

/// "debug", "info", "warn", "error".
std::string_view to_string(log_level level) noexcept;

/// How the HTTP server spreads connections over threads (pier::http::threading).
enum class threading_mode { context_per_thread, shared_context };

/// Where to listen. `host` is an IPv4 or IPv6 literal (without brackets) or a host name
/// that main() resolves, to listen on each of its addresses (pier::http::listen_addresses).
struct listen_address {
  std::string host = "0.0.0.0";
  std::uint16_t port = 5000;

  /// `host:port`, with an IPv6 host in brackets.
  std::string to_string() const;
  friend bool operator==(listen_address const&, listen_address const&) = default;
};

/// pier::http::server_options that the operator may set; empty means the library's default.
struct server_tuning {
  std::optional<threading_mode> threading;
  std::optional<std::chrono::milliseconds> header_timeout;
  std::optional<std::chrono::milliseconds> idle_timeout;
  std::optional<std::chrono::milliseconds> body_stall_timeout;
  std::optional<std::chrono::milliseconds> write_stall_timeout;
  std::optional<std::chrono::milliseconds> shutdown_timeout;
  std::optional<std::chrono::milliseconds> linger_timeout;
  std::optional<std::size_t> max_connections;
  std::optional<std::size_t> max_connections_per_client; ///< 0: no limit
  std::optional<int> listen_backlog;
  std::optional<std::size_t> read_buffer_size;
  std::optional<std::size_t> max_body_drain;
  std::optional<std::size_t> max_request_line;
  std::optional<std::size_t> max_header_bytes;
  std::optional<std::size_t> max_fields;
};

/// pier::registry::v2_options that the operator may set; empty means the library's default.
struct registry_tuning {
  std::optional<std::size_t> max_manifest_size;
  std::optional<std::size_t> upload_buffer_size;
  std::optional<std::uint64_t> max_blob_size; ///< 0: no limit
  std::optional<std::size_t> max_page_size;
  /// The most names one filtered listing page reads (gate and namespace API `max_scan`).
  std::optional<std::size_t> max_scan;
  std::optional<bool> allow_delete;
  std::optional<bool> negotiate_oci;
  std::optional<std::size_t> max_uploads_per_client;     ///< 0: no limit
  std::optional<std::size_t> max_uploads_per_repository; ///< 0: no limit
  /// The quota of a namespace without one of its own; empty: no limit.
  std::optional<std::uint64_t> default_quota;
};

/// How clients authenticate (`--auth`).
enum class auth_mode {
  automatic, ///< token when users exist in the data directory, else none
  none,      ///< no authentication (development)
  basic,     ///< HTTP Basic: the users of --htpasswd, or the registry's users
  token,     ///< Docker token authentication with the built-in token service
};

/// "auto", "none", "basic", "token".
std::string_view to_string(auth_mode mode) noexcept;

/// Who may pull a repository whose visibility was never set.
enum class default_visibility { private_, public_ };

/// TLS, authentication and access settings.
struct security {
  std::optional<std::filesystem::path> tls_cert; ///< PEM certificate chain
  std::optional<std::filesystem::path> tls_key;  ///< PEM private key
  std::optional<auth_mode> auth;                 ///< empty: automatic
  std::optional<std::filesystem::path> htpasswd; ///< bcrypt entries only
  /// 32 bytes that seal paging cursors, shared by replicas; empty: DIR/cursor.key, made on
  /// first start.
  std::optional<std::filesystem::path> cursor_key_file;
  default_visibility visibility = default_visibility::private_;
  std::optional<std::chrono::milliseconds> token_ttl;
  std::optional<std::string> token_realm;   ///< URL in challenges; empty: from the request
  std::optional<std::string> token_service; ///< token audience; empty: the request's Host
  /// Addresses and CIDR ranges of proxies whose X-Forwarded-Proto/-Host name the realm
  /// when token_realm is empty.
  std::vector<std::string> trusted_proxies;
  /// Organisations a user who is no administrator may create; 0: none; empty: the
  /// library's default.
  std::optional<std::uint64_t> max_orgs_per_user;
};

/// Deletion and garbage collection; empty means the library's default.
struct gc_settings {
  std::optional<std::chrono::milliseconds> interval; ///< between online runs; 0: none
  std::optional<std::chrono::milliseconds> grace;    ///< protects unreferenced blobs this long
  /// How long a manifest left untagged stays; negative: kept for ever ("-1").
  std::optional<std::chrono::milliseconds> untagged_retention;
  std::optional<std::chrono::milliseconds> upload_ttl; ///< stale upload sessions expire
};

/// Where a store lives, as `--storage` and `--database` name it: `file://DIR` (the
/// filesystem blob store: its `blobs/` and `uploads/` directories in DIR) and
/// `rocksdb://DIR` (the RocksDB metadata store's own directory). `DIR` is the rest of the URL
/// as written, absolute (`file:///srv/pier`) or relative to the working directory
/// (`file://pier-data`). The stores S3 and PostgreSQL need come with their own schemes.
struct store_url {
  enum class kind { file, rocksdb };
  kind scheme = kind::file;
  std::filesystem::path path;
};

/// `--storage URL`: where blobs go; only `file://DIR` in this build.
outcome<store_url> parse_storage_url(std::string_view text);

/// `--database URL`: where metadata goes; only `rocksdb://DIR` in this build.
outcome<store_url> parse_database_url(std::string_view text);

/// The stores a command opens: given, or by default in the data directory, exactly where
/// they always were (`file://<data>`: `<data>/blobs`, `<data>/uploads`; and
/// `rocksdb://<data>/meta`).
struct store_locations {
  std::optional<store_url> storage;
  std::optional<store_url> database;

  store_url storage_or(std::filesystem::path const& data) const {
    return storage.value_or(store_url{store_url::kind::file, data});
  }
  store_url database_or(std::filesystem::path const& data) const {
    return database.value_or(store_url{store_url::kind::rocksdb, data / "meta"});
  }
};

struct config {
  listen_address listen;
  /// Relative paths are relative to the working directory (in the file too).
  std::filesystem::path data = "pier-data";
  /// `--storage`, `--database` (config `storage`, `database`).
  store_locations stores;
  /// Empty: one per core.
  std::optional<unsigned> threads;
  log_level level = log_level::info;
  server_tuning server;
  registry_tuning registry;
  security access;
  gc_settings gc;
  /// Free bytes of the data directory's filesystem that uploads leave for metadata (507
  /// below); empty: 1 GiB, or 5 % of the filesystem when that is less; 0: no floor.
  std::optional<std::uint64_t> min_free_space;
};

/// `HOST:PORT`, `:PORT` (all IPv4 interfaces) or `[IPV6]:PORT`; port 0 asks for any free
/// port.
outcome<listen_address> parse_listen(std::string_view text);

/// "debug", "info", "warn" (or "warning"), "error".
outcome<log_level> parse_log_level(std::string_view text);

/// The longest duration a setting takes: timeouts at most a week, GC periods ten years.
enum class duration_limit { week, ten_years };

/// Whole seconds ("90") or a whole number with a unit: "500ms", "30s", "5m", "1h", "2d".
outcome<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                  duration_limit limit = duration_limit::week);

/// A number of bytes: whole digits with an optional unit, binary ("512KiB", "64MiB",
/// "1GiB", "2TiB", "B") or decimal ("500kB", "10MB", "1GB", "1TB"): "1GiB" = 1073741824.
outcome<std::uint64_t> parse_byte_size(std::string_view text);

/// Worker threads: a whole number from 1 to 1024.
outcome<unsigned> parse_threads(std::string_view text);

/// Applies a JSON config document on top of `base`. `source` names the document in
/// messages (the file name). Unknown keys and bad values are errors. JSON comments are
/// allowed.
outcome<config> apply_config_json(config base, std::string_view json, std::string_view source);

/// The contents of `file`; when it cannot be read, the reason alone (as strerror words it).
outcome<std::string> read_text_file(std::filesystem::path const& file);

/// Reads `file` and applies it on top of `base`.
outcome<config> load_config_file(config base, std::filesystem::path const& file);

/// `user add NAME [--admin] --password-stdin --data DIR`, `user del NAME --data DIR`,
/// `user list --data DIR`.
struct user_command {
  enum class verb { add, del, list };
  verb what = verb::list;
  std::string name;
  bool admin = false;
  std::filesystem::path data = "pier-data";
  store_locations stores;
};

/// `gen-cert --host NAME [--ip ADDR]... --out DIR`.
struct gen_cert_command {
  std::string host;
  std::vector<std::string> ips;
  std::filesystem::path out;
};

/// `gc --data DIR [--dry-run] [--grace DURATION]`, on a stopped server's data.
struct gc_command {
  std::filesystem::path data = "pier-data";
  store_locations stores;
  bool dry_run = false;
  std::optional<std::chrono::milliseconds> grace;
  std::optional<std::chrono::milliseconds> upload_ttl;
};

/// `fsck --data DIR [--repair]`, on a stopped server's data.
struct fsck_command {
  std::filesystem::path data = "pier-data";
  store_locations stores;
  bool repair = false;
};

/// What the command line asks for.
struct invocation {
  enum class action { serve, help, version, user, gen_cert, gc, fsck };
  action what = action::serve;
  config settings;
  user_command user;
  gen_cert_command cert;
  gc_command gc;
  fsck_command fsck;
  std::string help_topic; ///< with action::help: the command whose help (empty: all)
};

/// Parses the arguments after the program name:
/// `serve [--config FILE] [--listen HOST:PORT] [--data DIR] [--threads N] [--log-level L]
/// [--tls-cert FILE --tls-key FILE] [--auth none|basic|token] [--htpasswd FILE]
/// [--default-visibility private|public]`, `user ...`, `gen-cert ...`, `help`, `--help`,
/// `-h`, `version`, `--version`. Flags take their value as the next argument or after `=`.
/// The config file is read here, and flags override it.
outcome<invocation> parse_command_line(std::span<std::string_view const> args);

/// The flags `command` (`serve`, `user`, `gen-cert`, `gc`, `fsck`) takes, from the table its
/// parser reads; none for another command. The help of each must give its default.
std::vector<std::string_view> flag_names(std::string_view command);

/// The text `pier-registry help` prints; with a command (`serve`, `user`, `gen-cert`, `gc`,
/// `fsck`), only its usage and options, as `pier-registry COMMAND --help` prints.
std::string usage(std::string_view command = {});

} // namespace pier_registry

#endif // PIER_EXAMPLE_REGISTRY_CONFIG_HPP
