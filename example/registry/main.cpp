// SPDX-License-Identifier: Apache-2.0
// pier-registry: the example server. It only wires and configures: the stores are
// pier::storage's, the HTTP server pier::http's, the registry endpoints pier::registry's.

#include "config.hpp"
#include "log.hpp"

#include <pier/config.hpp>
#include <pier/http/server.hpp>
#include <pier/registry/v2.hpp>
#include <pier/storage/filesystem.hpp>
#include <pier/storage/rocksdb.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
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

// The one place where the registry's endpoints meet the stores.
template <pier::storage::BlobStore B, pier::storage::MetadataStore M>
pier::http::handler make_handler(B& blobs, M& meta, pier::registry::v2_options const& options) {
  return pier::registry::make_v2_handler(blobs, meta, options);
}

pier::registry::v2_options v2_options_from(config const& c) {
  pier::registry::v2_options o;
  registry_tuning const& g = c.registry;
  set_if(o.max_manifest_size, g.max_manifest_size);
  set_if(o.upload_buffer_size, g.upload_buffer_size);
  set_if(o.max_blob_size, g.max_blob_size);
  set_if(o.max_page_size, g.max_page_size);
  set_if(o.allow_delete, g.allow_delete);
  set_if(o.negotiate_oci, g.negotiate_oci);
  return o;
}

pier::http::server_options server_options_from(config const& c, std::string address,
                                               logger const& log) {
  pier::http::server_options o;
  o.address = std::move(address);
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
  set_if(o.listen_backlog, t.listen_backlog);
  set_if(o.read_buffer_size, t.read_buffer_size);
  set_if(o.max_body_drain, t.max_body_drain);
  set_if(o.limits.max_request_line, t.max_request_line);
  set_if(o.limits.max_header_bytes, t.max_header_bytes);
  set_if(o.limits.max_fields, t.max_fields);

  if (log.enabled(log_level::info))
    o.on_request = [&log](pier::http::access_log_entry const& e) {
      log_line line(log_level::info, "request");
      line.add("method", e.method).add("path", target_path(e.target));
      if (std::string const query = redacted_query(e.target); !query.empty())
        line.add("query", query);
      line.add("status", e.status)
          .add("bytes", e.body_bytes)
          .add("duration_ms", e.duration)
          .add("client", e.client_address);
      log.write(line);
    };
  o.on_error = [&log](std::string_view what) {
    log.write(log_line(log_level::error, "server error").add("error", what));
  };
  return o;
}

// The IP address to bind: the host itself when it is a literal, else its first address.
std::optional<std::string> resolve(std::string const& host, std::string& error) {
  std::error_code ec;
  asio::ip::address const literal = asio::ip::make_address(host, ec);
  if (!ec)
    return literal.to_string();
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  auto const results = resolver.resolve(host, "", asio::ip::resolver_base::address_configured, ec);
  if (ec || results.empty()) {
    error = ec ? ec.message() : "no address";
    return std::nullopt;
  }
  return results.begin()->endpoint().address().to_string();
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
                .add("negotiate_oci", v2.negotiate_oci ? "true" : "false"));
}

// Exit status: 0 after a stop, 1 when the server cannot start, 2 for bad configuration.
int serve(config const& c) {
  auto const started = std::chrono::steady_clock::now();
  logger const log(c.level);
  auto fatal = [&log](std::string_view msg) { return log_line(log_level::error, msg); };

  std::string error;
  auto const address = resolve(c.listen.host, error);
  if (!address) {
    log.write_always(
        fatal("cannot resolve the listen host").add("host", c.listen.host).add("error", error));
    return 2;
  }

  std::error_code ec;
  std::filesystem::path data = std::filesystem::absolute(c.data, ec);
  if (ec)
    data = c.data;
  // Metadata first: RocksDB's lock keeps a second pier-registry off the same data.
  auto meta = pier::storage::rocksdb_metadata_store::create(data);
  if (!meta) {
    log.write_always(fatal("cannot open the metadata store")
                         .add("path", (data / "meta").string())
                         .add("error", meta.error().message()));
    return 1;
  }
  auto blobs = pier::storage::filesystem_blob_store::create(data);
  if (!blobs) {
    log.write_always(fatal("cannot open the blob store")
                         .add("path", data.string())
                         .add("error", blobs.error().message()));
    return 1;
  }

  pier::http::server_options options = server_options_from(c, *address, log);
  pier::registry::v2_options const v2 = v2_options_from(c);
  log_settings(log, options, v2);
  unsigned const threads = options.threads;
  auto cannot_listen = [&](std::error_code e) {
    log.write_always(fatal("cannot listen")
                         .add("listen", listen_address{*address, c.listen.port}.to_string())
                         .add("error", e.message()));
    return 1;
  };
  std::optional<pier::http::server> server;
  try {
    server.emplace(std::move(options), make_handler(*blobs, *meta, v2));
  } catch (std::system_error const& e) {
    return cannot_listen(e.code());
  }
  server->handle_signals();

  listen_address const bound{*address, server->port()};
  log.write_always(log_line(log_level::info, "pier-registry started")
                       .add("version", PIER_VERSION_STRING)
                       .add("listen", bound.to_string())
                       .add("data", data.string())
                       .add("threads", threads)
                       .add("log_level", to_string(c.level))
                       .add("startup_ms", std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::steady_clock::now() - started)));
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
  case invocation::action::help: std::fputs(usage().c_str(), stdout); return 0;
  case invocation::action::version: std::puts("pier-registry " PIER_VERSION_STRING); return 0;
  case invocation::action::serve: break;
  }
  try {
    return serve(inv->settings);
  } catch (std::exception const& e) {
    std::fprintf(stderr, "pier-registry: %s\n", e.what());
    return 1;
  }
}
