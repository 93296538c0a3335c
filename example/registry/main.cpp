// SPDX-License-Identifier: Apache-2.0
// pier-registry: the example server. It only wires and configures: the stores are
// pier::storage's, the HTTP server pier::http's, the registry endpoints pier::registry's.

#include "config.hpp"
#include "log.hpp"

#include <pier/auth/api.hpp>
#include <pier/auth/certificate.hpp>
#include <pier/auth/certificate_files.hpp>
#include <pier/auth/gate.hpp>
#include <pier/auth/htpasswd.hpp>
#include <pier/auth/jwt.hpp>
#include <pier/auth/password.hpp>
#include <pier/auth/policy.hpp>
#include <pier/config.hpp>
#include <pier/http/router.hpp>
#include <pier/http/server.hpp>
#include <pier/http/tls.hpp>
#include <pier/registry/api.hpp>
#include <pier/registry/fsck.hpp>
#include <pier/registry/gc.hpp>
#include <pier/registry/gc_api.hpp>
#include <pier/registry/v2.hpp>
#include <pier/storage/filesystem.hpp>
#include <pier/storage/rocksdb.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace {

using namespace pier_registry;

template <class T, class U>
void set_if(T& field, std::optional<U> const& value) {
  if (value)
    field = static_cast<T>(*value);
}

// What serve() decided about authentication, before the server starts.
struct access_setup {
  pier::auth::auth_mode mode = pier::auth::auth_mode::none;
  pier::auth::gate_options gate;
  pier::auth::accounts_api_options api;
  pier::registry::namespace_api_options namespaces;
};

using blob_store = pier::storage::filesystem_blob_store;
// One metadata store type whatever the database: its driver is chosen from the URL.
using meta_store = pier::storage::kv_metadata_store;
using collector = pier::registry::collector<blob_store, meta_store>;
// How long after the start `serve` first collects garbage (or after `--gc-interval`, if
// shorter).
constexpr std::chrono::milliseconds first_gc_after = std::chrono::minutes(1);

// Everything under /api/v1: the accounts API (auth), the namespace queries and the GC
// (registry), each told who the gate found the caller to be.
class api_set {
public:
  api_set(meta_store& meta, collector& gc, access_setup const& access)
      : meta_(meta), accounts_(meta, meta, access.api), namespaces_(meta, access.namespaces),
        gc_(gc), default_visibility_(access.api.default_visibility) {}

  asio::awaitable<pier::http::response> handle(pier::http::request& req,
                                               pier::auth::principal const& who) const {
    std::string_view const target = req.target();
    if (namespace_api::handles(target)) {
      pier::registry::pull_access access;
      access.everything = who.admin;
      access.admin = who.admin;
      access.whole_namespace = [&who](std::string_view ns) {
        return pier::auth::namespace_role(who, ns).has_value();
      };
      access.may_pull = [this, &who](std::string repo) -> asio::awaitable<bool> {
        auto v = co_await meta_.get_visibility(repo);
        pier::storage::visibility const vis = v && *v ? **v : default_visibility_;
        co_return pier::auth::repository_permissions(who, repo, vis).pull;
      };
      co_return co_await namespaces_.handle(req, access);
    }
    if (gc_api::handles(target))
      co_return co_await gc_.handle(req, {who.anonymous(), who.admin});
    co_return co_await accounts_.handle(req, who); // its own routes, else 404
  }

  // Without authentication everyone may do everything: the namespace queries list all and
  // anyone may run the GC; the accounts API has no one to serve.
  asio::awaitable<pier::http::response> handle_open(pier::http::request& req) const {
    if (namespace_api::handles(req.target()))
      co_return co_await namespaces_.handle(req, {true, {}, {}, true});
    if (gc_api::handles(req.target()))
      co_return co_await gc_.handle(req, {false, true});
    co_return pier::http::response::json(
        404, "{\"errors\":[{\"code\":\"NOT_FOUND\",\"message\":\"not served without "
             "authentication (--auth none)\",\"detail\":null}]}");
  }

private:
  using namespace_api = pier::registry::namespace_api<meta_store>;
  using gc_api = pier::registry::gc_api<collector>;

  meta_store& meta_;
  pier::auth::accounts_api<meta_store, meta_store> accounts_;
  namespace_api namespaces_;
  gc_api gc_;
  pier::storage::visibility default_visibility_;
};

// The one place where the registry's endpoints meet the stores and the gate. Without
// authentication only /api/v1 is routed before the registry: the gate costs nothing then.
pier::http::handler make_handler(blob_store& blobs, meta_store& meta, collector& gc,
                                 pier::registry::v2_options const& options,
                                 access_setup const& access) {
  // The store's own check in each link's commit applies the default quota too, so that
  // concurrent uploads cannot pass it together.
  meta.set_default_quota(options.default_quota);
  pier::http::handler v2 = pier::registry::make_v2_handler(blobs, meta, options);
  auto apis = std::make_shared<api_set const>(meta, gc, access);
  if (access.mode == pier::auth::auth_mode::none) {
    // One route table here too, with no middleware: everyone may do everything.
    auto routes = std::make_shared<pier::http::router>();
    pier::registry::add_v2_routes(*routes,
                                  [v2](pier::http::context& c) { return v2(c.request()); });
    for (char const* pattern : {"/api/v1", "/api/v1/{path*}"})
      routes->add(pattern, {{"*", pier::http::access_need::open, [apis](pier::http::context& c) {
                               return apis->handle_open(c.request());
                             }}});
    routes->on_not_found([v2](pier::http::request& req) { return v2(req); }); // its 400, 404
    return pier::http::router::handler(std::move(routes));
  }
  return pier::auth::make_gate(meta, meta, access.gate, std::move(v2),
                               pier::auth::make_api_handler(apis));
}

pier::registry::v2_options v2_options_from(config const& c) {
  pier::registry::v2_options o;
  registry_tuning const& g = c.registry;
  set_if(o.max_manifest_size, g.max_manifest_size);
  set_if(o.upload_buffer_size, g.upload_buffer_size);
  set_if(o.max_blob_size, g.max_blob_size);
  set_if(o.max_page_size, g.max_page_size);
  set_if(o.max_scan, g.max_scan);
  set_if(o.allow_delete, g.allow_delete);
  set_if(o.negotiate_oci, g.negotiate_oci);
  set_if(o.max_uploads_per_client, g.max_uploads_per_client);
  set_if(o.max_uploads_per_repository, g.max_uploads_per_repository);
  set_if(o.upload_ttl, c.gc.upload_ttl); // the collector aborts sessions then: they stop counting
  o.default_quota = g.default_quota;
  return o;
}

pier::http::server_options server_options_from(config const& c,
                                               std::vector<asio::ip::address> addresses,
                                               logger const& log) {
  pier::http::server_options o;
  o.address = c.listen.host;
  o.addresses = std::move(addresses);
  o.port = c.listen.port;
  set_if(o.threads, c.threads);
  if (o.threads == 0)
    o.threads = 1; // hardware_concurrency() may not know
  server_tuning const& t = c.server;
  if (t.threading)
    o.mode = *t.threading == threading_mode::shared_context
                 ? pier::http::threading::shared_context
                 : pier::http::threading::context_per_thread;
  set_if(o.header_timeout, t.header_timeout);
  set_if(o.idle_timeout, t.idle_timeout);
  set_if(o.body_stall_timeout, t.body_stall_timeout);
  set_if(o.write_stall_timeout, t.write_stall_timeout);
  set_if(o.shutdown_timeout, t.shutdown_timeout);
  set_if(o.linger_timeout, t.linger_timeout);
  set_if(o.max_connections, t.max_connections);
  set_if(o.max_connections_per_client, t.max_connections_per_client);
  set_if(o.listen_backlog, t.listen_backlog);
  set_if(o.read_buffer_size, t.read_buffer_size);
  set_if(o.max_body_drain, t.max_body_drain);
  set_if(o.limits.max_request_line, t.max_request_line);
  set_if(o.limits.max_header_bytes, t.max_header_bytes);
  set_if(o.limits.max_fields, t.max_fields);

  if (log.enabled(log_level::info))
    o.on_request = [&log](pier::http::access_log_entry const& e) {
      log.write(request_line(e));
    };
  o.on_error = [&log](std::string_view what) {
    log.write(log_line(log_level::error, "server error").add("error", what));
  };
  o.on_warning = [&log](std::string_view what) {
    log.write(log_line(log_level::warn, "server warning").add("warning", what));
  };
  return o;
}

// "127.0.0.1:5000,[::1]:5000": every address listened on, for the start-up line.
std::string listen_text(std::vector<asio::ip::tcp::endpoint> const& endpoints) {
  std::string out;
  for (auto const& e : endpoints) {
    if (!out.empty())
      out += ',';
    out += listen_address{e.address().to_string(), e.port()}.to_string();
  }
  return out;
}

void log_settings(logger const& log, pier::http::server_options const& o,
                  pier::registry::v2_options const& v2) {
  auto ms = [](std::chrono::milliseconds d) { return d.count(); };
  log.write(log_line(log_level::debug, "settings")
                .add("threading", o.mode == pier::http::threading::shared_context
                                      ? "shared_context"
                                      : "context_per_thread")
                .add("header_timeout_ms", ms(o.header_timeout))
                .add("idle_timeout_ms", ms(o.idle_timeout))
                .add("body_stall_timeout_ms", ms(o.body_stall_timeout))
                .add("write_stall_timeout_ms", ms(o.write_stall_timeout))
                .add("shutdown_timeout_ms", ms(o.shutdown_timeout))
                .add("linger_timeout_ms", ms(o.linger_timeout))
                .add("max_connections", o.max_connections)
                .add("max_connections_per_client", o.max_connections_per_client)
                .add("listen_backlog", o.listen_backlog)
                .add("read_buffer_size", o.read_buffer_size)
                .add("max_body_drain", o.max_body_drain)
                .add("max_request_line", o.limits.max_request_line)
                .add("max_header_bytes", o.limits.max_header_bytes)
                .add("max_fields", o.limits.max_fields)
                .add("max_manifest_size", v2.max_manifest_size)
                .add("upload_buffer_size", v2.upload_buffer_size)
                .add("max_blob_size", v2.max_blob_size)
                .add("max_page_size", v2.max_page_size)
                .add("allow_delete", v2.allow_delete ? "true" : "false")
                .add("negotiate_oci", v2.negotiate_oci ? "true" : "false")
                .add("max_uploads_per_client", v2.max_uploads_per_client)
                .add("max_uploads_per_repository", v2.max_uploads_per_repository));
}

// Runs one store operation to completion on a private io_context (the commands that work
// on a stopped server's data directory).
template <class T>
pier::result<T> run_sync(asio::awaitable<pier::result<T>> op) {
  asio::io_context io;
  std::optional<pier::result<T>> out;
  auto run = [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(op)); };
  asio::co_spawn(io, run(), [](std::exception_ptr e) {
    if (e)
      std::rethrow_exception(e);
  });
  io.run();
  return std::move(*out);
}

std::filesystem::path absolute_or_same(std::filesystem::path const& p) {
  std::error_code ec;
  std::filesystem::path a = std::filesystem::absolute(p, ec);
  return ec ? p : a;
}

// The token service's signing key: DIR/auth/token-key.pem, made on first start.
std::optional<pier::auth::es256_key> load_or_create_signing_key(std::filesystem::path const& data,
                                                                std::string& error) {
  std::filesystem::path const dir = data / "auth";
  std::filesystem::path const file = dir / "token-key.pem";
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    auto pem = read_text_file(file);
    if (!pem) {
      error = "cannot read " + file.string() + ": " + pem.error();
      return std::nullopt;
    }
    auto key = pier::auth::es256_key::from_pem(*pem);
    if (!key || !key->has_private_key()) {
      error =
          (key ? std::string("not a private key") : key.error().message()) + " in " + file.string();
      return std::nullopt;
    }
    return std::move(*key);
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "cannot create " + dir.string() + ": " + ec.message();
    return std::nullopt;
  }
  auto key = pier::auth::es256_key::generate();
  auto pem = key ? key->private_pem() : pier::result<std::string>(key.error());
  if (!pem) {
    error = pem.error().message();
    return std::nullopt;
  }
  if (auto w = pier::auth::replace_file(file.string(), *pem, 0600); !w) {
    error = "cannot write " + file.string() + ": " + w.error().message();
    return std::nullopt;
  }
  return std::move(*key);
}

// The key that seals paging cursors: --cursor-key-file (the operator's, shared by
// replicas), else DIR/cursor.key, made on first start, so that a `Link` a client holds
// still works after a restart.
std::optional<pier::registry::cursor_key>
load_or_create_cursor_key(config const& c, std::filesystem::path const& data, std::string& error) {
  using key = pier::registry::cursor_key;
  std::optional<std::filesystem::path> const& given = c.access.cursor_key_file;
  std::filesystem::path const file = given ? *given : data / "cursor.key";
  std::error_code ec;
  if (given || std::filesystem::exists(file, ec)) {
    if (std::filesystem::is_directory(file, ec)) {
      error = file.string() + " is a directory, not a key file";
      return std::nullopt;
    }
    auto bytes = read_text_file(file);
    if (!bytes) {
      error = "cannot read " + file.string() + ": " + bytes.error();
      return std::nullopt;
    }
    auto k = key::from_bytes(*bytes);
    if (!k) {
      error = file.string() + " holds " + std::to_string(bytes->size()) + " bytes, not " +
              std::to_string(key::size) + " (make one with: head -c 32 /dev/urandom >FILE)";
      return std::nullopt;
    }
    return *k;
  }
  auto k = key::generate();
  if (!k) {
    error = "cannot draw a cursor key: " + k.error().message();
    return std::nullopt;
  }
  auto const b = k->bytes();
  std::string_view const bytes(reinterpret_cast<char const*>(b.data()), b.size());
  if (auto w = pier::auth::replace_file(file.string(), bytes, 0600); !w) {
    error = "cannot write " + file.string() + ": " + w.error().message();
    return std::nullopt;
  }
  return *k;
}

// The password for `user add`: the first line of standard input.
std::optional<std::string> read_password(std::string& error) {
  std::string line;
  if (!std::getline(std::cin, line)) {
    error = "no password on standard input (pipe it in: echo \"$PASSWORD\" | pier-registry "
            "user add NAME --password-stdin)";
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  if (line.size() < 8) {
    error = "the password is shorter than 8 characters";
    return std::nullopt;
  }
  return line;
}

// The metadata store in `dir` (`--database rocksdb://DIR`, the one scheme of this build):
// the registry's rules over the database's driver, with the store settings of `options`.
pier::result<meta_store> open_meta_store(std::filesystem::path const& dir,
                                         pier::storage::rocksdb_options const& options) {
  auto driver = pier::storage::open_rocksdb_driver(dir, options);
  if (!driver)
    return driver.error();
  pier::storage::kv_options o;
  o.blocking_threads = options.blocking_threads;
  o.sync = options.sync;
  o.touch_interval = options.touch_interval;
  return meta_store::open(std::move(*driver), o);
}

// The stores of a stopped server's data dir, for the offline commands. Empty after saying
// why on stderr (RocksDB's lock refuses a data dir that a running server holds).
// A data dir that does not exist is refused rather than made, unless `create` (`user add`,
// which makes the first users of a new registry): a mistyped --data would otherwise give
// an empty store (no users, nothing to collect or check) and say nothing.
// The metadata store of `stores` (by default in `data`).
std::optional<meta_store> open_metadata(std::filesystem::path const& data,
                                        pier_registry::store_locations const& stores,
                                        bool create = false) {
  std::error_code ec;
  std::filesystem::path const dir = absolute_or_same(stores.database_or(data).path);
  if (!create && !stores.database && !std::filesystem::is_directory(data, ec)) {
    std::fprintf(stderr,
                 "pier-registry: the data dir %s does not exist (a mistyped --data? "
                 "pier-registry serve makes it on first start, or mkdir -p it)\n",
                 data.c_str());
    return std::nullopt;
  }
  if (!create && stores.database && !std::filesystem::is_directory(dir, ec)) {
    std::fprintf(stderr,
                 "pier-registry: the metadata directory %s does not exist (a mistyped "
                 "--database?)\n",
                 dir.c_str());
    return std::nullopt;
  }
  auto meta = open_meta_store(dir, {});
  if (!meta) {
    std::fprintf(stderr,
                 "pier-registry: cannot open the metadata store in %s: %s (is "
                 "pier-registry serve running on it?)\n",
                 dir.c_str(), meta.error().message().c_str());
    return std::nullopt;
  }
  return std::move(*meta);
}

struct offline_stores {
  meta_store meta;
  blob_store blobs;
};

std::optional<offline_stores> open_stores(std::filesystem::path const& data,
                                          pier_registry::store_locations const& stores) {
  std::optional<meta_store> meta = open_metadata(data, stores);
  if (!meta)
    return std::nullopt;
  std::filesystem::path const dir = absolute_or_same(stores.storage_or(data).path);
  auto blobs = blob_store::create(dir);
  if (!blobs) {
    std::fprintf(stderr, "pier-registry: cannot open the blob store in %s: %s\n", dir.c_str(),
                 blobs.error().message().c_str());
    return std::nullopt;
  }
  return offline_stores{std::move(*meta), std::move(*blobs)};
}

// `pier-registry user add|del|list`. Exit status 0, 1 (store or password errors), 2 (usage).
int user_command_main(user_command const& u) {
  auto fail = [](std::string const& msg, int status) {
    std::fprintf(stderr, "pier-registry: %s\n", msg.c_str());
    return status;
  };
  if (u.what != user_command::verb::list && !pier::auth::is_valid_account_name(u.name))
    return fail("\"" + u.name +
                    "\" is not a valid user name: lower-case letters and digits, separated by "
                    "'.', '_', '__' or '-', at most 64 characters",
                2);
  std::string error;
  std::optional<std::string> password;
  if (u.what == user_command::verb::add) {
    password = read_password(error);
    if (!password)
      return fail(error, 2);
  }
  std::optional<meta_store> meta =
      open_metadata(absolute_or_same(u.data), u.stores, u.what == user_command::verb::add);
  if (!meta)
    return 1;
  switch (u.what) {
  case user_command::verb::add: {
    auto hash = pier::auth::hash_password(*password);
    if (!hash)
      return fail("cannot hash the password: " + hash.error().message(), 1);
    pier::storage::user_record rec{u.name, std::move(*hash), u.admin,
                                   std::chrono::system_clock::now()};
    if (auto r = run_sync(meta->create_user(std::move(rec))); !r)
      return fail("cannot add user " + u.name + ": " + r.error().message(), 1);
    std::printf("added user %s%s\n", u.name.c_str(), u.admin ? " (administrator)" : "");
    return 0;
  }
  case user_command::verb::del:
    if (auto r = run_sync(meta->delete_user(u.name)); !r)
      return fail("cannot delete user " + u.name + ": " + r.error().message(), 1);
    std::printf("deleted user %s\n", u.name.c_str());
    return 0;
  case user_command::verb::list: {
    std::string last;
    for (;;) {
      auto page = run_sync(meta->list_users(last, 1000));
      if (!page)
        return fail("cannot list users: " + page.error().message(), 1);
      for (auto const& user : page->items)
        std::printf("%s%s\n", user.name.c_str(), user.admin ? "\tadmin" : "");
      if (!page->more || page->items.empty())
        return 0;
      last = page->items.back().name;
    }
  }
  }
  return 0;
}

// `pier-registry gen-cert`: a private CA and a server certificate signed by it.
int gen_cert_main(gen_cert_command const& g) {
  pier::auth::certificate_request req;
  req.host = g.host;
  req.ips = g.ips;
  auto set = pier::auth::generate_certificates(req);
  if (!set) {
    std::fprintf(stderr, "pier-registry: gen-cert: %s\n", set.error().message().c_str());
    return 2;
  }
  std::filesystem::path const out = absolute_or_same(g.out);
  if (auto w = pier::auth::write_certificate_files(*set, out.string()); !w) {
    std::fprintf(stderr, "pier-registry: gen-cert: cannot write into %s: %s\n", out.c_str(),
                 w.error().message().c_str());
    return 1;
  }
  std::printf("wrote %s/ca.crt, %s/server.crt and %s/server.key (mode 0600)\n"
              "serve with:  pier-registry serve --tls-cert %s/server.crt --tls-key %s/server.key\n"
              "trust with:  cp %s/ca.crt /etc/containers/certs.d/%s:PORT/ca.crt  (podman, skopeo)\n"
              "             cp %s/ca.crt /etc/docker/certs.d/%s:PORT/ca.crt      (docker)\n",
              out.c_str(), out.c_str(), out.c_str(), out.c_str(), out.c_str(), out.c_str(),
              g.host.c_str(), out.c_str(), g.host.c_str());
  return 0;
}

std::string_view to_string(pier::auth::auth_mode m) noexcept {
  switch (m) {
  case pier::auth::auth_mode::none: return "none";
  case pier::auth::auth_mode::basic: return "basic";
  case pier::auth::auth_mode::token: return "token";
  }
  return "none";
}

// Reads and parses an htpasswd file with at least one user; none with `why` when it cannot.
std::optional<pier::auth::htpasswd> load_htpasswd(std::filesystem::path const& path,
                                                  std::string& why) {
  auto text = read_text_file(path);
  if (!text) {
    why = "cannot read " + path.string() + ": " + text.error();
    return std::nullopt;
  }
  pier::auth::htpasswd_diagnostic diagnostic;
  auto file = pier::auth::parse_htpasswd(*text, &diagnostic);
  if (!file) {
    why = path.string() + ": " + diagnostic.message;
    return std::nullopt;
  }
  if (file->empty()) {
    why = path.string() + " has no users";
    return std::nullopt;
  }
  return std::move(*file);
}

// A refused login as the log tells it: at warn, with the user and the client address, never
// the password.
log_line login_line(pier::auth::login_event const& e) {
  using kind = pier::auth::login_event::kind;
  log_line line(log_level::warn, e.what == kind::failed       ? "login failed"
                                 : e.what == kind::locked_out ? "login failed; locked out"
                                                              : "login refused: locked out");
  line.add("user", e.user).add("client", e.address);
  if (e.what != kind::failed)
    line.add("retry_after_s", static_cast<long long>(e.retry_after.count()));
  return line;
}

// Decides the authentication mode (automatic: token when users exist, else none) and
// loads what it needs: the htpasswd file, the token signing key. False with `why` when a
// setting or a file is wrong.
template <class M>
bool setup_access(config const& c, std::filesystem::path const& data, M& meta, access_setup& out,
                  std::string& why) {
  using pier::auth::auth_mode;
  security const& a = c.access;
  switch (a.auth.value_or(pier_registry::auth_mode::automatic)) {
  case pier_registry::auth_mode::none: out.mode = auth_mode::none; break;
  case pier_registry::auth_mode::basic: out.mode = auth_mode::basic; break;
  case pier_registry::auth_mode::token: out.mode = auth_mode::token; break;
  case pier_registry::auth_mode::automatic: {
    auto users = run_sync(meta.user_count());
    if (!users) {
      why = "cannot count users: " + users.error().message();
      return false;
    }
    out.mode = *users > 0 ? auth_mode::token : auth_mode::none;
    break;
  }
  }
  pier::storage::visibility const visibility = a.visibility == default_visibility::public_
                                                   ? pier::storage::visibility::public_
                                                   : pier::storage::visibility::private_;
  out.api.default_visibility = visibility;
  if (a.max_orgs_per_user)
    out.api.max_orgs_per_user = *a.max_orgs_per_user;
  pier::auth::gate_options& g = out.gate;
  g.mode = out.mode;
  g.default_visibility = visibility;
  if (a.token_realm)
    g.realm = *a.token_realm;
  if (a.token_service)
    g.service = *a.token_service;
  for (std::string const& p : a.trusted_proxies) // the config checked them
    if (auto r = pier::auth::address_range::parse(p))
      g.trusted_proxies.push_back(*r);
  if (a.token_ttl)
    g.token_ttl = std::chrono::duration_cast<std::chrono::seconds>(*a.token_ttl);
  if (a.htpasswd) {
    std::optional<pier::auth::htpasswd> file = load_htpasswd(*a.htpasswd, why);
    if (!file)
      return false;
    g.users_file = std::make_shared<pier::auth::htpasswd_users>(std::move(*file));
  }
  if (out.mode == auth_mode::token) {
    auto key = load_or_create_signing_key(data, why);
    if (!key)
      return false;
    g.signing_key = std::make_shared<pier::auth::es256_key const>(std::move(*key));
  }
  return true;
}

pier::registry::gc_options gc_options_from(gc_settings const& g) {
  pier::registry::gc_options o;
  set_if(o.grace, g.grace);
  set_if(o.untagged_retention, g.untagged_retention);
  set_if(o.upload_ttl, g.upload_ttl);
  return o;
}

// What SIGHUP reloads: the TLS certificate and key, and the htpasswd file.
struct reloadable {
  std::shared_ptr<pier::http::tls_context> tls;
  std::shared_ptr<pier::auth::htpasswd_users> users;
  std::optional<std::filesystem::path> htpasswd;
};

// The server's own chores, on a thread of their own so that they never hold up requests:
// garbage collection every `gc_interval`, and SIGHUP, which reloads the TLS certificate and
// key (connections already open keep theirs) and the htpasswd file (for the requests that
// come next); a reload that fails keeps what was loaded. With nothing to reload, SIGHUP is
// logged and ignored rather than ending the server, its default.
class maintenance {
public:
  maintenance(logger const& log, reloadable what, collector& gc,
              std::chrono::milliseconds gc_interval)
      : log_(log), what_(std::move(what)), gc_(gc), signals_(io_, SIGHUP) {
    arm();
    // The first run comes soon after the start, so that a server restarted more often than
    // its interval (or after a crash, which may leave orphan files) still collects.
    if (gc_interval.count() > 0)
      asio::co_spawn(io_, gc_.run_every(gc_interval, std::min(gc_interval, first_gc_after)),
                     asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  // Lets the chores finish rather than dropping them: the collector's schedule ends on
  // stop() and the signal wait on cancel, then run() returns. (Stopping the io_context
  // instead would leave the collector holding a timer of a destroyed io_context.)
  ~maintenance() {
    gc_.stop();
    asio::post(io_, [this] { signals_.cancel(); });
    thread_.join();
  }
  maintenance(maintenance const&) = delete;
  maintenance& operator=(maintenance const&) = delete;

private:
  void arm() {
    signals_.async_wait([this](std::error_code ec, int) {
      if (ec)
        return;
      reload();
      arm();
    });
  }
  void reload() {
    if (!what_.tls && !what_.users) {
      log_.write(log_line(log_level::info, "SIGHUP: nothing to reload (no TLS, no htpasswd)"));
      return;
    }
    if (what_.tls) {
      if (auto r = what_.tls->reload(); !r)
        log_.write_always(log_line(log_level::error, "TLS reload failed; the old certificate stays")
                              .add("error", r.error().message()));
      else
        log_.write(log_line(log_level::info, "TLS certificate reloaded"));
    }
    if (what_.users && what_.htpasswd) {
      std::string why;
      if (std::optional<pier::auth::htpasswd> file = load_htpasswd(*what_.htpasswd, why)) {
        std::size_t const users = file->size();
        what_.users->replace(std::move(*file));
        log_.write(log_line(log_level::info, "htpasswd reloaded").add("users", users));
      } else {
        log_.write_always(log_line(log_level::error, "htpasswd reload failed; the old users stay")
                              .add("error", why));
      }
    }
  }

  logger const& log_;
  reloadable const what_;
  collector& gc_;
  asio::io_context io_;
  asio::signal_set signals_;
  std::thread thread_;
};

// `pier-registry gc`: one collection on a stopped server's data (RocksDB's lock refuses a
// running one), or with --dry-run the count of what it would remove.
int gc_main(gc_command const& g) {
  std::optional<offline_stores> stores = open_stores(absolute_or_same(g.data), g.stores);
  if (!stores)
    return 1;
  gc_settings settings;
  settings.grace = g.grace;
  settings.upload_ttl = g.upload_ttl;
  pier::registry::gc_options options = gc_options_from(settings);
  options.dry_run = g.dry_run;
  // Stopped: no upload is between its commit and its link, so orphan files need no margin
  // beyond the grace, and no commit can race the removal of what the run releases.
  options.orphan_grace = options.grace;
  options.exclusive = true;
  collector gc(stores->blobs, stores->meta, options);
  auto report = run_sync(gc.run_once());
  if (!report) {
    std::fprintf(stderr, "pier-registry: gc: %s\n", report.error().message().c_str());
    return 1;
  }
  std::printf("%s %llu blobs (%llu bytes; %llu orphan files) of %llu candidates, %llu untagged "
              "manifests, %llu expired uploads in %.3f s\n",
              g.dry_run ? "dry run: would remove" : "removed",
              static_cast<unsigned long long>(report->blobs_removed),
              static_cast<unsigned long long>(report->bytes_freed),
              static_cast<unsigned long long>(report->orphans_removed),
              static_cast<unsigned long long>(report->candidates),
              static_cast<unsigned long long>(report->manifests_removed),
              static_cast<unsigned long long>(report->uploads_expired),
              std::chrono::duration<double>(report->duration).count());
  for (std::string const& e : report->errors)
    std::fprintf(stderr, "pier-registry: gc: %s\n", e.c_str());
  return report->errors.empty() ? 0 : 1;
}

// `pier-registry fsck`: exit 0 when the data is consistent (orphan files, which a crash
// may leave by design, do not count), 1 when not, 2 when it cannot be read.
int fsck_main(fsck_command const& f) {
  std::optional<offline_stores> stores = open_stores(absolute_or_same(f.data), f.stores);
  if (!stores)
    return 2;
  pier::registry::fsck_options options;
  options.repair = f.repair;
  auto report = run_sync(pier::registry::fsck(stores->blobs, stores->meta, options));
  if (!report) {
    std::fprintf(stderr, "pier-registry: fsck: %s\n", report.error().message().c_str());
    return 2;
  }
  for (std::string const& p : report->problems)
    std::printf("%s\n", p.c_str());
  if (report->problems_left_out > 0)
    std::printf("(%llu more)\n", static_cast<unsigned long long>(report->problems_left_out));
  std::printf("%s: checked %llu blobs, %llu links, %llu manifests: %llu corrupt, %llu missing, "
              "%llu broken manifests, %llu unlinked, %llu wrong counts, %llu orphan blobs, "
              "%llu orphan uploads, %llu orphan sessions; %llu repaired\n",
              report->clean()        ? "clean"
              : report->consistent() ? "consistent (orphans only)"
                                     : "inconsistent",
              static_cast<unsigned long long>(report->blobs_checked),
              static_cast<unsigned long long>(report->links_checked),
              static_cast<unsigned long long>(report->manifests_checked),
              static_cast<unsigned long long>(report->corrupt_blobs),
              static_cast<unsigned long long>(report->missing_blobs),
              static_cast<unsigned long long>(report->broken_manifests),
              static_cast<unsigned long long>(report->unlinked_blobs),
              static_cast<unsigned long long>(report->wrong_counts),
              static_cast<unsigned long long>(report->orphan_blobs),
              static_cast<unsigned long long>(report->orphan_uploads),
              static_cast<unsigned long long>(report->orphan_sessions),
              static_cast<unsigned long long>(report->repaired));
  return report->consistent() ? 0 : 1;
}

// --min-free-space, or its default: 1 GiB, or 5 % of the data filesystem when that is less
// (a small disk keeps most of its room for blobs).
std::uint64_t min_free_space_of(config const& c, std::filesystem::path const& data) {
  if (c.min_free_space)
    return *c.min_free_space;
  std::uint64_t const gib = std::uint64_t{1} << 30;
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  std::filesystem::space_info const space = std::filesystem::space(data, ec);
  return ec ? gib : std::min(gib, space.capacity / 20);
}

// Exit status: 0 after a stop, 1 when the server cannot start, 2 for bad configuration.
int serve(config const& c) {
  auto const started = std::chrono::steady_clock::now();
  logger const log(c.level);
  auto fatal = [&log](std::string_view msg) { return log_line(log_level::error, msg); };

  // Resolved once, here, so that a name that does not resolve is a configuration error.
  auto addresses = pier::http::listen_addresses(c.listen.host);
  if (!addresses) {
    log.write_always(fatal("cannot resolve the listen host")
                         .add("host", c.listen.host)
                         .add("error", addresses.error().message()));
    return 2;
  }

  std::filesystem::path const data = absolute_or_same(c.data);
  // Metadata first: RocksDB's lock keeps a second pier-registry off the same data. A read
  // of a blob protects it for the GC grace period less the touch interval: keep that
  // interval well inside the grace.
  pier::registry::gc_options gc_opts = gc_options_from(c.gc);
  gc_opts.on_report = [&log](pier::registry::gc_report const& r) {
    log.write(gc_line(r));
  };
  pier::storage::rocksdb_options store_options;
  store_options.touch_interval = std::min<std::chrono::seconds>(
      store_options.touch_interval,
      std::chrono::duration_cast<std::chrono::seconds>(gc_opts.grace / 4));
  store_options.on_log = [&log](bool error, std::string_view message) {
    log.write(log_line(error ? log_level::error : log_level::warn, "metadata store")
                  .add("message", message));
  };
  // Metadata writes stop below their own, smaller floor (see README, "Disk space").
  std::filesystem::path const blob_dir = absolute_or_same(c.stores.storage_or(data).path);
  std::filesystem::path const meta_dir = absolute_or_same(c.stores.database_or(data).path);
  std::uint64_t const floor = min_free_space_of(c, blob_dir);
  if (floor > 0)
    store_options.min_free_space = std::min(store_options.min_free_space, floor / 2);
  auto meta = open_meta_store(meta_dir, store_options);
  if (!meta) {
    log.write_always(fatal("cannot open the metadata store")
                         .add("path", meta_dir.string())
                         .add("error", meta.error().message())
                         .add("hint", "is pier-registry serve running on it?"));
    return 1;
  }
  pier::storage::filesystem_options blob_options;
  blob_options.min_free_space = floor;
  auto blobs = pier::storage::filesystem_blob_store::create(blob_dir, blob_options);
  if (!blobs) {
    log.write_always(fatal("cannot open the blob store")
                         .add("path", blob_dir.string())
                         .add("error", blobs.error().message()));
    return 1;
  }

  access_setup access;
  if (std::string why; !setup_access(c, data, *meta, access, why)) {
    log.write_always(fatal("cannot set up authentication").add("error", why));
    return 2;
  }
  access.gate.on_login = [&log](pier::auth::login_event const& e) { log.write(login_line(e)); };
  std::string key_error;
  auto cursor_key = load_or_create_cursor_key(c, data, key_error);
  if (!cursor_key) {
    log.write_always(fatal("cannot load the cursor key").add("error", key_error));
    return 2;
  }
  access.namespaces.cursor_key = *cursor_key;
  if (c.registry.max_scan)
    access.namespaces.max_scan = *c.registry.max_scan;
  std::shared_ptr<pier::http::tls_context> tls;
  if (c.access.tls_cert) {
    auto loaded = pier::http::tls_context::load(
        {c.access.tls_cert->string(), c.access.tls_key->string(), true});
    if (!loaded) {
      log.write_always(fatal("cannot load the TLS certificate")
                           .add("cert", c.access.tls_cert->string())
                           .add("key", c.access.tls_key->string())
                           .add("error", loaded.error().message()));
      return 2;
    }
    tls = std::move(*loaded);
  }

  pier::http::server_options options = server_options_from(c, std::move(*addresses), log);
  options.tls = tls;
  pier::registry::v2_options v2 = v2_options_from(c);
  v2.remove_untagged = gc_opts.untagged_retention.count() == 0;
  v2.cursor_key = *cursor_key; // the catalog's, as the namespace API's
  collector gc(*blobs, *meta, gc_opts);
  log_settings(log, options, v2);
  unsigned const threads = options.threads;
  auto cannot_listen = [&](std::error_code e) {
    log.write_always(fatal("cannot listen")
                         .add("listen", c.listen.to_string())
                         .add("error", e.message()));
    return 1;
  };
  std::optional<pier::http::server> server;
  try {
    server.emplace(std::move(options), make_handler(*blobs, *meta, gc, v2, access));
  } catch (std::system_error const& e) {
    return cannot_listen(e.code());
  }
  server->handle_signals();
  maintenance const chores(log, {tls, access.gate.users_file, c.access.htpasswd}, gc,
                           c.gc.interval.value_or(std::chrono::hours(1)));

  log.write_always(log_line(log_level::info, "pier-registry started")
                       .add("version", PIER_VERSION_STRING)
                       .add("listen", listen_text(server->endpoints()))
                       .add("data", data.string())
                       .add("threads", threads)
                       .add("log_level", to_string(c.level))
                       .add("tls", tls ? "on" : "off")
                       .add("auth", to_string(access.mode))
                       .add("storage", "file://" + blob_dir.string())
                       .add("database", "rocksdb://" + meta_dir.string())
                       .add("startup_ms", std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::steady_clock::now() - started))
                       .add("min_free_space", floor));
  server->run();
  log.write_always(log_line(log_level::info, "pier-registry stopped"));
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> const args(argv + (argc > 0 ? 1 : 0), argv + argc);
  auto const inv = parse_command_line(args);
  if (!inv) {
    std::fprintf(stderr, "pier-registry: %s\n", inv.error().c_str());
    return 2;
  }
  switch (inv->what) {
  case invocation::action::help: std::fputs(usage(inv->help_topic).c_str(), stdout); return 0;
  case invocation::action::version: std::puts("pier-registry " PIER_VERSION_STRING); return 0;
  default: break;
  }
  try {
    switch (inv->what) {
    case invocation::action::user: return user_command_main(inv->user);
    case invocation::action::gen_cert: return gen_cert_main(inv->cert);
    case invocation::action::gc: return gc_main(inv->gc);
    case invocation::action::fsck: return fsck_main(inv->fsck);
    default: return serve(inv->settings);
    }
  } catch (std::exception const& e) {
    std::fprintf(stderr, "pier-registry: %s\n", e.what());
    return 1;
  }
}
