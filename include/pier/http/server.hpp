// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_SERVER_HPP
#define PIER_HTTP_SERVER_HPP

/// @file
/// An HTTP/1.1 server over Asio coroutines: accepts connections, parses requests, calls a
/// handler, writes responses, enforces timeouts, and shuts down gracefully. It knows
/// nothing of OCI: the registry plugs in as the handler.
///
/// @code
/// pier::http::server_options opts;
/// opts.port = 0; // any free port; server::port() tells which
/// pier::http::server srv(opts, [](pier::http::request&) -> asio::awaitable<pier::http::response> {
///   co_return pier::http::response::text(200, "ok");
/// });
/// srv.handle_signals(); // SIGINT/SIGTERM: graceful stop; a second one: immediate
/// std::thread t([&] { srv.run(); });
/// // ... curl http://127.0.0.1:<srv.port()>/ ...
/// srv.stop();
/// t.join();
/// @endcode
///
/// Each connection is one coroutine that reads into a bounded buffer, parses with
/// `request_parser` (pipelined requests work), and calls the handler; request bodies are
/// streamed through `body_reader`, so memory per connection does not depend on body size.
/// Bad requests get the parser's status (400, 414, 431, 417, 501, 505) and
/// `Connection: close`. File bodies go out with `sendfile(2)`.
///
/// With `server_options::tls` set, every connection is TLS (see `tls.hpp`): the handshake
/// must end within `header_timeout`; a connection whose handshake fails (TLS 1.1, a client
/// that does not trust the certificate) is closed without a log line. A plain HTTP request
/// (its first byte is a letter, not the 0x16 of a TLS handshake record) gets a plain
/// `400 Bad Request` saying that the port speaks TLS, as nginx answers, then the connection
/// closes; that is not logged either. Requests
/// say `secure()`. File bodies go out with `SSL_sendfile` when the kernel does TLS for the
/// connection, else through a bounded buffer. Reload the certificate with
/// `tls_context::reload()`: connections accepted afterwards use the new one.
///
/// When a handler leaves part of the request body unread, the server reads and discards up
/// to `max_body_drain` more bytes of a Content-Length body to keep the connection; a longer
/// rest, a chunked rest not already buffered, or a client still waiting for
/// `100 Continue` makes the response carry `Connection: close`, and the connection is
/// closed after a short lingering read so the client sees the response rather than a reset.
///
/// See RFC 9110 and RFC 9112 (https://www.rfc-editor.org/rfc/rfc9112).

#include <pier/config.hpp>
#include <pier/core/result.hpp>
#include <pier/http/handler.hpp>
#include <pier/http/message.hpp>
#include <pier/http/parser.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

PIER_BEGIN_NAMESPACE
namespace http {

class tls_context;

/// How the server spreads connections over threads.
enum class threading {
  /// One io_context per thread, each with its own `SO_REUSEPORT` acceptor (per address
  /// listened on): the kernel spreads connections, and a connection never leaves its thread
  /// (no locks, no strands).
  context_per_thread,
  /// One io_context run by all threads, one acceptor (per address); each connection runs on
  /// a strand.
  shared_context,
};

/// One line of an access log. The views are valid during the callback only.
///
/// A request that could not be parsed has an empty method and target; when its first byte
/// was a TLS handshake record (0x16: a client speaking TLS to a plain HTTP port, as docker
/// does to find out whether a registry has TLS), `tls_handshake` says so.
struct access_log_entry {
  std::string_view method;
  std::string_view target;
  int status = 0;
  std::uint64_t body_bytes = 0;        ///< response body bytes sent (0 for HEAD)
  std::chrono::nanoseconds duration{}; ///< first byte of the request to last of the response
  std::string_view client_address;
  std::uint64_t received_bytes = 0; ///< request body bytes the handler read
  std::string_view request_id;      ///< as sent back in `X-Request-Id`
  std::string_view principal;       ///< `request::user()`: empty for anonymous
  std::string_view user_agent;      ///< the `User-Agent` field, empty when absent
  bool tls_handshake = false;       ///< a TLS ClientHello on a plain HTTP port
  /// For a 5xx response with a body in memory, the start of that body (say, an OCI error
  /// with the store's message), so that the log can say why; empty otherwise.
  std::string_view error_body;
};

struct server_options {
  /// Where to listen: an IP address (one socket), or a host name, listened on at every
  /// address `listen_addresses` gives for it ("localhost": 127.0.0.1 and ::1). Ignored when
  /// `addresses` is not empty.
  std::string address = "0.0.0.0";
  /// The addresses to listen on, all on `port`, instead of `address` (from
  /// `listen_addresses`, say, for an application that reports a name that does not resolve
  /// before it builds the server). Every address is served alike: same workers, TLS, limits
  /// and per-client counts.
  ///
  /// With several addresses, one whose bind fails for want of the address or its family (no
  /// IPv6 on the machine: `EADDRNOTAVAIL`, `EAFNOSUPPORT`) is left out with a word to
  /// `on_warning`; construction fails only when none is left. IPv6 sockets are then
  /// `IPV6_V6ONLY`, so that 0.0.0.0 and :: can both be listed; a lone IPv6 address keeps
  /// the system's default (on Linux, :: takes IPv4 connections too).
  std::vector<asio::ip::address> addresses;
  /// 0: an ephemeral port; `server::port()` reports the one bound. With several addresses
  /// the first takes a free port and the others the same one.
  std::uint16_t port = 5000;
  /// Worker threads; 0 means 1.
  unsigned threads = std::thread::hardware_concurrency();
  threading mode = threading::context_per_thread;

  /// The whole request head must arrive within this time of its first byte (of the
  /// connection's accept for the first request).
  std::chrono::milliseconds header_timeout = std::chrono::seconds(30);
  /// A keep-alive connection with no request in progress is closed after this.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  /// Reading a request body fails with `body_error::stalled` after this long without a
  /// byte; the handler still answers, and the connection closes after the response.
  std::chrono::milliseconds body_stall_timeout = std::chrono::seconds(60);
  /// Writing a response gives up after this long without progress.
  std::chrono::milliseconds write_stall_timeout = std::chrono::seconds(60);
  /// `stop()` waits this long for in-flight requests before cancelling them.
  std::chrono::milliseconds shutdown_timeout = std::chrono::seconds(30);
  /// How long a closing connection keeps reading (and discarding) what the client still
  /// sends, so that the response is not lost to a TCP reset.
  std::chrono::milliseconds linger_timeout = std::chrono::seconds(2);

  parser_limits limits{};
  /// Per-connection read buffer; at least the parser's header limit.
  std::size_t read_buffer_size = 64 * 1024;
  /// Unread request body the server discards to keep a connection open.
  std::size_t max_body_drain = 64 * 1024;
  /// Connections beyond this get `503` and are closed at once.
  std::size_t max_connections = 10000;
  /// Connections from one client address at once (IPv4-mapped addresses count as IPv4);
  /// a new one beyond it gets `503` (a TLS one is only closed) and is closed at once, while
  /// other addresses are served. The first refusal for an address goes to `on_warning`,
  /// then none until all its connections have closed. 0: no limit.
  std::size_t max_connections_per_client = 256;
  /// File descriptors kept for what the handlers open (blob files of pulls, upload files,
  /// the stores' own): a connection accepted within this many descriptors of the process's
  /// `RLIMIT_NOFILE` is refused like one over `max_connections` (at most a quarter of the
  /// limit is kept). When `accept` itself fails for want of descriptors, the server closes a
  /// spare descriptor to take the waiting connection and close it, rather than letting the
  /// backlog spin the loop. 0: keep none.
  std::size_t fd_reserve = 64;
  int listen_backlog = 1024;

  /// Serve TLS with this configuration (`tls_context::load`); null: plain TCP. The
  /// application keeps a copy to call `reload()` on (on SIGHUP, say).
  std::shared_ptr<tls_context> tls;

  /// Called after each response (from the connection's thread; must be thread-safe).
  std::function<void(access_log_entry const&)> on_request;
  /// Called for server-side failures: handler exceptions, accept errors. Default: stderr.
  std::function<void(std::string_view)> on_error;
  /// Called for what an operator should know that is no failure of the server: a client
  /// at its connection limit, connections refused near the descriptor limit. Once per
  /// episode, never per connection. Default: `on_error`.
  std::function<void(std::string_view)> on_warning;
};

/// The addresses a server listens on for `host` (`server_options::address`): the host
/// itself when it is an IP address (IPv6 without brackets); 127.0.0.1 and ::1 for
/// "localhost" and names ending in ".localhost", whatever the hosts file says, as RFC 6761
/// section 6.3 asks (https://www.rfc-editor.org/rfc/rfc6761#section-6.3); else every
/// distinct address the system resolver gives (A and AAAA records, the hosts file), in its
/// order. The error is the resolver's (`asio::error::host_not_found`, say).
result<std::vector<asio::ip::address>> listen_addresses(std::string_view host);

namespace detail {
class server_state;
}

/// An HTTP/1.1 server. Construction binds and listens (throws `std::system_error` if it
/// cannot); `run()` serves until `stop()`.
///
/// Construction sets SIGPIPE to be ignored if it has its default action: `sendfile(2)` to a
/// client that has gone would otherwise end the process.
class server {
public:
  server(server_options options, handler h);
  ~server();
  server(server const&) = delete;
  server& operator=(server const&) = delete;

  /// The port listened on (the real one when `options.port` was 0).
  std::uint16_t port() const noexcept;

  /// The addresses listened on, each with `port()`, in the order given (or resolved),
  /// without those left out.
  std::vector<asio::ip::tcp::endpoint> const& endpoints() const noexcept;

  /// Serves on `options.threads` threads, the calling one included; returns once `stop()`
  /// has finished. Call once.
  void run();

  /// Graceful stop, from any thread (a handler or signal handler included): stop
  /// accepting, close idle keep-alive connections, let in-flight requests finish (their
  /// responses carry `Connection: close`), and cancel what is still running after
  /// `shutdown_timeout`. Returns at once; `run()` returns when it is done.
  void stop();

  /// Stops on the given signals (first: graceful `stop()`; second: cancel everything).
  /// Call before `run()`.
  void handle_signals(std::initializer_list<int> signals = {SIGINT, SIGTERM});

private:
  std::unique_ptr<detail::server_state> state_;
};

} // namespace http
PIER_END_NAMESPACE

#include <pier/http/impl/server.hpp>

#endif // PIER_HTTP_SERVER_HPP
