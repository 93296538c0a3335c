// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_IMPL_SERVER_HPP
#define PIER_HTTP_IMPL_SERVER_HPP

#include <pier/http/detail/session.hpp>
#include <pier/http/detail/tls_stream.hpp>
#include <pier/http/tls.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

PIER_BEGIN_NAMESPACE
namespace http {
namespace detail {

// SO_REUSEPORT as an Asio socket option.
class reuse_port {
public:
  explicit reuse_port(bool on) noexcept : value_(on ? 1 : 0) {}
  template <class Protocol>
  int level(Protocol const&) const noexcept {
    return SOL_SOCKET;
  }
  template <class Protocol>
  int name(Protocol const&) const noexcept {
    return SO_REUSEPORT;
  }
  template <class Protocol>
  void const* data(Protocol const&) const noexcept {
    return &value_;
  }
  template <class Protocol>
  std::size_t size(Protocol const&) const noexcept {
    return sizeof(value_);
  }

private:
  int value_;
};

inline asio::ip::address unmapped(asio::ip::address a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

inline std::string client_address(asio::ip::tcp::socket const& s) {
  std::error_code ec;
  asio::ip::address const a = s.remote_endpoint(ec).address();
  return ec ? "-" : unmapped(a).to_string();
}

// "localhost", "LocalHost." or "registry.localhost": RFC 6761's loopback names.
inline bool is_localhost(std::string_view host) noexcept {
  if (host.ends_with('.'))
    host.remove_suffix(1);
  constexpr std::string_view name = "localhost";
  if (host.size() < name.size())
    return false;
  std::string_view const tail = host.substr(host.size() - name.size());
  bool const same = std::equal(tail.begin(), tail.end(), name.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
  return same && (host.size() == name.size() || host[host.size() - name.size() - 1] == '.');
}

// Whether `ec` is the errno `value`: Asio's system category does not compare equal to
// std::errc.
inline bool is_errno(std::error_code ec, int value) noexcept {
  return ec.value() == value && (ec.category() == asio::error::get_system_category() ||
                                 ec.category() == std::system_category() ||
                                 ec.category() == std::generic_category());
}

// A bind that fails because the machine lacks the address or its whole family (no IPv6).
inline bool address_unavailable(std::error_code ec) noexcept {
  return is_errno(ec, EADDRNOTAVAIL) || is_errno(ec, EAFNOSUPPORT);
}

// What the server answers a connection it will not serve (plain TCP only).
inline constexpr std::string_view busy_response = "HTTP/1.1 503 Service Unavailable\r\n"
                                                  "Retry-After: 5\r\nContent-Length: 0\r\n"
                                                  "Connection: close\r\n\r\n";

// By errno: an accept's EMFILE comes in Asio's system category, which does not compare
// equal to std::errc::too_many_files_open.
inline bool out_of_descriptors(std::error_code ec) noexcept {
  return is_errno(ec, EMFILE) || is_errno(ec, ENFILE);
}

// A connection's places (in the server's count and in its address's) given back when the
// session releases it before closing, or when its coroutine frame goes, however it goes.
class connection_slot {
public:
  connection_slot(server_state* st, std::string address) noexcept
      : st_(st), address_(std::move(address)) {}
  connection_slot(connection_slot&& o) noexcept
      : st_(std::exchange(o.st_, nullptr)), address_(std::move(o.address_)) {}
  connection_slot& operator=(connection_slot&&) = delete;
  ~connection_slot() { release(); }

  void release() noexcept;

private:
  server_state* st_;
  std::string address_;
};

class server_state {
public:
  // An io_context with its acceptor; one per thread, or one for all.
  struct worker {
    explicit worker(int concurrency_hint)
        : ctx(concurrency_hint), acceptor_strand(asio::make_strand(ctx)), spare(open_spare()) {}
    ~worker() {
      if (spare >= 0)
        ::close(spare);
    }
    worker(worker const&) = delete;
    worker& operator=(worker const&) = delete;

    static int open_spare() noexcept { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

    // Out of descriptors, accept fails while the connection stays in the backlog, and the
    // next accept fails at once: free the spare descriptor to take the connection and close
    // it (with a 503 when `answer`), then take the spare back. False when nothing was shed.
    bool shed_one(asio::ip::tcp::acceptor& acceptor, bool answer) noexcept {
      if (spare < 0) {
        spare = open_spare();
        return false;
      }
      ::close(spare);
      int const fd =
          ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        if (answer)
          (void)::send(fd, busy_response.data(), busy_response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(fd);
      }
      spare = open_spare();
      return fd >= 0;
    }

    asio::io_context ctx;
    // One per address listened on, in the order of server_state::endpoints_; all accept
    // on acceptor_strand, which shed_one's use of the spare relies on.
    std::vector<asio::ip::tcp::acceptor> acceptors;
    asio::strand<asio::io_context::executor_type> acceptor_strand;
    int spare; // a descriptor held back for shed_one
  };

  server_state(server_options o, handler h) : opts_(std::move(o)), handler_(std::move(h)) {
    if (opts_.threads == 0)
      opts_.threads = 1;
    // sendfile(2) has no MSG_NOSIGNAL: a client that leaves mid-response would raise SIGPIPE,
    // whose default action ends the process. Ignore it unless the application handles it.
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
      ::signal(SIGPIPE, SIG_IGN);
    if (!opts_.on_error)
      opts_.on_error = [](std::string_view what) {
        std::fprintf(stderr, "pier http server: %.*s\n", static_cast<int>(what.size()),
                     what.data());
      };
    if (!opts_.on_warning)
      opts_.on_warning = opts_.on_error;
    struct ::rlimit files {};
    if (opts_.fd_reserve > 0 && ::getrlimit(RLIMIT_NOFILE, &files) == 0 &&
        files.rlim_cur != RLIM_INFINITY) {
      fd_limit_ = static_cast<std::size_t>(files.rlim_cur);
      fd_high_water_ = fd_limit_ - std::min(opts_.fd_reserve, fd_limit_ / 4);
    }
    bool const shared = opts_.mode == threading::shared_context || opts_.threads == 1;
    std::size_t const contexts = shared ? 1 : opts_.threads;
    for (std::size_t i = 0; i < contexts; ++i)
      workers_.push_back(std::make_unique<worker>(shared ? static_cast<int>(opts_.threads) : 1));

    std::vector<asio::ip::address> addresses = opts_.addresses;
    if (addresses.empty())
      addresses = listen_addresses(opts_.address).value(); // throws std::system_error
    std::vector<asio::ip::address> distinct;
    for (auto const& a : addresses)
      if (std::find(distinct.begin(), distinct.end(), a) == distinct.end())
        distinct.push_back(a);
    listen_on_all(distinct);
    control_.emplace(asio::make_strand(workers_.front()->ctx));
    drain_timer_.emplace(*control_);
    control_work_.emplace(workers_.front()->ctx.get_executor());
  }

  ~server_state() { tearing_down_ = true; }

  // Every address on one port: with port 0, the one the first address got. That port may
  // be taken at another address by someone else; then start again on a new one.
  void listen_on_all(std::vector<asio::ip::address> const& addresses) {
    for (int attempt = 1;; ++attempt) {
      std::error_code const ec = try_listen_on_all(addresses);
      if (!ec)
        return;
      for (auto& w : workers_)
        w->acceptors.clear();
      endpoints_.clear();
      if (opts_.port != 0 || !is_errno(ec, EADDRINUSE) || attempt == 8)
        throw std::system_error(ec, "listen");
    }
  }

  std::error_code try_listen_on_all(std::vector<asio::ip::address> const& addresses) {
    bool const several = addresses.size() > 1;
    std::uint16_t port = opts_.port;
    std::error_code unavailable;
    for (auto const& a : addresses) {
      asio::ip::tcp::endpoint const endpoint(a, port);
      std::error_code const ec = listen_on(endpoint, several);
      if (several && address_unavailable(ec)) {
        for (auto& w : workers_) // those of this address that did open
          while (w->acceptors.size() > endpoints_.size())
            w->acceptors.pop_back();
        warn("not listening on " + endpoint_text(endpoint) + ": " + ec.message());
        unavailable = ec;
        continue;
      }
      if (ec)
        return ec;
      port = endpoints_.back().port();
    }
    if (endpoints_.empty())
      return unavailable;
    port_ = port;
    return {};
  }

  // One acceptor per worker at `endpoint` (port 0: a free one), and its place in endpoints_.
  std::error_code listen_on(asio::ip::tcp::endpoint endpoint, bool v6_only) {
    bool const shared_port = workers_.size() > 1;
    std::error_code ec;
    if (shared_port) {
      // The acceptors share their port with SO_REUSEPORT, which would as well let another
      // process of the same user bind it and silently take part of the connections. A bind
      // without SO_REUSEPORT fails when anyone listens on the port: do one first (it also
      // picks the port when 0 was asked), release it, and let the acceptors take the port.
      asio::io_context io;
      asio::ip::tcp::acceptor probe(io);
      if ((ec = open_and_bind(probe, endpoint, false, v6_only)))
        return ec;
      endpoint.port(probe.local_endpoint().port());
    }
    for (auto& w : workers_) {
      asio::ip::tcp::acceptor& acceptor = w->acceptors.emplace_back(w->ctx);
      if ((ec = open_and_bind(acceptor, endpoint, shared_port, v6_only)))
        return ec;
      acceptor.listen(opts_.listen_backlog, ec);
      if (ec)
        return ec;
      // With port 0 the first bind picks the port; the others share it.
      endpoint.port(acceptor.local_endpoint().port());
    }
    endpoints_.push_back(endpoint);
    return {};
  }

  static std::error_code open_and_bind(asio::ip::tcp::acceptor& acceptor,
                                       asio::ip::tcp::endpoint const& endpoint, bool shared_port,
                                       bool v6_only) {
    std::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec)
      acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && shared_port)
      acceptor.set_option(reuse_port(true), ec);
    if (!ec && v6_only && endpoint.address().is_v6())
      acceptor.set_option(asio::ip::v6_only(true), ec);
    if (!ec)
      acceptor.bind(endpoint, ec);
    return ec;
  }

  static std::string endpoint_text(asio::ip::tcp::endpoint const& e) {
    std::string const address = e.address().to_string();
    std::string const port = std::to_string(e.port());
    return e.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
  }

  std::uint16_t port() const noexcept { return port_; }
  std::vector<asio::ip::tcp::endpoint> const& endpoints() const noexcept { return endpoints_; }
  server_options const& options() const noexcept { return opts_; }
  handler const& get_handler() const noexcept { return handler_; }

  void report(std::string_view what) const noexcept {
    try {
      opts_.on_error(what);
    } catch (...) {
    }
  }

  void warn(std::string_view what) const noexcept {
    try {
      opts_.on_warning(what);
    } catch (...) {
    }
  }

  void run() {
    bool const per_connection_strand = workers_.size() == 1 && opts_.threads > 1;
    for (auto& w : workers_)
      for (auto& acceptor : w->acceptors)
        asio::co_spawn(w->acceptor_strand, accept_loop(*w, acceptor, per_connection_strand),
                       asio::detached);

    std::vector<std::thread> threads;
    if (workers_.size() == 1) {
      for (unsigned i = 1; i < opts_.threads; ++i)
        threads.emplace_back([this] { run_context(workers_.front()->ctx); });
    } else {
      for (std::size_t i = 1; i < workers_.size(); ++i)
        threads.emplace_back([this, i] { run_context(workers_[i]->ctx); });
    }
    run_context(workers_.front()->ctx);
    for (auto& t : threads)
      t.join();
  }

  void stop(bool force) {
    if (force)
      forced_ = true;
    if (!stopping_.exchange(true)) {
      for (auto& w : workers_)
        asio::post(w->acceptor_strand, [w = w.get()] {
          std::error_code ec;
          for (auto& acceptor : w->acceptors)
            acceptor.close(ec);
        });
      asio::post(*control_, [this] {
        if (active_ == 0) {
          finish();
          return;
        }
        drain_timer_->expires_after(opts_.shutdown_timeout);
        drain_timer_->async_wait([this](std::error_code ec) {
          if (!ec)
            stop(true);
        });
      });
    }
    // Every connection hears of it on its own executor; one that ended meanwhile is simply
    // not found.
    std::lock_guard lock(mutex_);
    for (auto const& [id, entry] : connections_)
      asio::post(entry.executor, [this, id = id, force] {
        std::lock_guard inner(mutex_);
        if (auto it = connections_.find(id); it != connections_.end())
          it->second.core->request_stop(force);
      });
  }

  void handle_signals(std::initializer_list<int> signals) {
    signals_.emplace(*control_);
    for (int s : signals)
      signals_->add(s);
    wait_signal();
  }

  std::uint64_t add(connection_core& c, asio::any_io_executor ex) {
    std::lock_guard lock(mutex_);
    std::uint64_t const id = ++next_id_;
    connections_.emplace(id, entry{&c, std::move(ex)});
    // A connection accepted while stop() walked the list hears of it here.
    if (stopping_)
      c.request_stop(forced_);
    return id;
  }

  void remove(std::uint64_t id) noexcept {
    std::lock_guard lock(mutex_);
    connections_.erase(id);
  }

  void release_slot(std::string const& address) noexcept {
    if (opts_.max_connections_per_client != 0) {
      std::lock_guard lock(addresses_mutex_);
      if (auto it = addresses_.find(address); it != addresses_.end() && --it->second.connections == 0)
        addresses_.erase(it); // its next refusal is news again
    }
    if (--active_ == 0 && stopping_ && !tearing_down_)
      asio::post(*control_, [this] { finish(); });
  }

private:
  struct entry {
    connection_core* core;
    asio::any_io_executor executor;
  };

  void run_context(asio::io_context& ctx) {
    for (;;) {
      try {
        ctx.run();
        return;
      } catch (std::exception const& e) {
        report(std::string("exception escaped the event loop: ") + e.what());
      } catch (...) {
        report("unknown exception escaped the event loop");
      }
    }
  }

  // Runs on control_: nothing left to wait for.
  void finish() {
    if (finished_)
      return;
    finished_ = true;
    control_work_.reset();
    drain_timer_->cancel();
    if (signals_) {
      std::error_code ec;
      signals_->cancel(ec);
    }
  }

  void wait_signal() {
    signals_->async_wait([this](std::error_code ec, int) {
      if (ec)
        return;
      stop(stopping_.load()); // the second signal does not wait
      if (!finished_)
        wait_signal();
    });
  }

  // `acceptor` is one of w.acceptors, which do not change once the server is built.
  asio::awaitable<void> accept_loop(worker& w, asio::ip::tcp::acceptor& acceptor,
                                    bool per_connection_strand) {
    asio::steady_timer backoff(w.acceptor_strand);
    for (;;) {
      asio::any_io_executor const ex = per_connection_strand
                                           ? asio::any_io_executor(asio::make_strand(w.ctx))
                                           : asio::any_io_executor(w.ctx.get_executor());
      auto [ec, socket] = co_await acceptor.async_accept(ex, use_nothrow);
      if (stopping_)
        co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted)
          co_return;
        if (!accept_failing_.exchange(true))
          report("accept: " + ec.message() + " (not reported again until an accept succeeds)");
        if (out_of_descriptors(ec) && w.shed_one(acceptor, !opts_.tls))
          continue;
        // Anything else: wait for connections to go rather than spin.
        backoff.expires_after(std::chrono::milliseconds(50));
        co_await backoff.async_wait(use_nothrow);
        continue;
      }
      accept_failing_ = false;
      std::string address = client_address(socket);
      if (!admit(socket, address)) {
        if (!opts_.tls) // a TLS client would not understand a plain answer: just close
          asio::co_spawn(ex, refuse(std::move(socket)), asio::detached);
        continue;
      }
      ++active_;
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
      auto const done = [this](std::exception_ptr e) {
        if (e)
          report("a connection ended with an exception");
      };
      connection_slot slot(this, address);
      if (opts_.tls)
        asio::co_spawn(ex,
                       tls_session_main(std::move(slot), std::move(socket), std::move(address),
                                        opts_.tls->current()),
                       done);
      else
        asio::co_spawn(ex, session_main(std::move(slot), std::move(socket), std::move(address)),
                       done);
    }
  }

  // Whether to serve a new connection: descriptors to spare, room under max_connections and
  // under its address's limit (which then counts it).
  bool admit(asio::ip::tcp::socket& socket, std::string const& address) {
    // accept(2) returns the lowest free descriptor: one this high means at least as many
    // are open, and what remains is kept for the requests in progress.
    auto const fd = static_cast<std::size_t>(socket.native_handle());
    if (fd >= fd_high_water_) {
      if (!fd_warned_.exchange(true))
        warn("descriptor " + std::to_string(fd) + " of RLIMIT_NOFILE " + std::to_string(fd_limit_) +
             " reached: new connections are refused (503) until descriptors are free");
      return false;
    }
    if (fd_warned_.load(std::memory_order_relaxed))
      fd_warned_ = false;
    if (active_ >= opts_.max_connections)
      return false;
    if (opts_.max_connections_per_client == 0)
      return true;
    std::lock_guard lock(addresses_mutex_);
    address_use& use = addresses_[address];
    if (use.connections < opts_.max_connections_per_client) {
      ++use.connections;
      return true;
    }
    if (!std::exchange(use.warned, true))
      warn("client " + address + " reached " + std::to_string(use.connections) +
           " connections (max_connections_per_client): its further connections are refused "
           "until some close");
    return false;
  }

  // The slot is a parameter so that the count drops when the frame is destroyed, even one
  // that never ran.
  asio::awaitable<void> session_main(connection_slot slot, asio::ip::tcp::socket socket,
                                     std::string address) {
    co_await run_session(*this, std::move(socket), std::move(address), slot);
  }

  // The handshake is the session's first step, under its header timeout and reached by
  // stop() like any idle connection.
  asio::awaitable<void> tls_session_main(connection_slot slot, asio::ip::tcp::socket socket,
                                         std::string address,
                                         std::shared_ptr<asio::ssl::context> ctx) {
    co_await run_session(*this, tls_stream(std::move(socket), std::move(ctx)), std::move(address),
                         slot);
  }

  static asio::awaitable<void> refuse(asio::ip::tcp::socket socket) {
    co_await asio::async_write(socket, asio::buffer(busy_response), use_nothrow);
    std::error_code ec;
    socket.shutdown(asio::socket_base::shutdown_both, ec);
  }

  server_options opts_;
  handler handler_;
  std::uint16_t port_ = 0;
  std::vector<asio::ip::tcp::endpoint> endpoints_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> forced_{false};
  std::atomic<bool> tearing_down_{false};
  std::atomic<std::size_t> active_{0};
  bool finished_ = false; // on control_

  // Connections per client address, for max_connections_per_client; shared by the
  // acceptors of every thread.
  struct address_use {
    std::size_t connections = 0;
    bool warned = false; // its refusal was reported
  };
  std::mutex addresses_mutex_;
  std::unordered_map<std::string, address_use> addresses_;
  // Descriptors from this one up are kept for the requests (fd_reserve); max: none kept.
  std::size_t fd_high_water_ = static_cast<std::size_t>(-1);
  std::size_t fd_limit_ = 0;
  std::atomic<bool> fd_warned_{false};
  std::atomic<bool> accept_failing_{false};

  std::mutex mutex_;
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, entry> connections_;

  // Destroyed before the registry above: destroying an io_context destroys the coroutine
  // frames still in it, and their sessions unregister.
  std::vector<std::unique_ptr<worker>> workers_;
  std::optional<asio::strand<asio::io_context::executor_type>> control_;
  std::optional<asio::steady_timer> drain_timer_;
  std::optional<asio::signal_set> signals_;
  // Keeps control_'s context running from construction to finish(): without it, stop()'s
  // closing of the acceptors could leave that context without work, and its run() would
  // return before the drain step posted after them ran, leaving connections that never
  // finish uncancelled.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> control_work_;
};

inline void connection_slot::release() noexcept {
  if (server_state* const st = std::exchange(st_, nullptr))
    st->release_slot(address_);
}

inline std::uint64_t register_connection(server_state& st, connection_core& c) {
  return st.add(c, c.timer.get_executor());
}
inline void unregister_connection(server_state& st, std::uint64_t id) noexcept { st.remove(id); }
inline server_options const& options_of(server_state const& st) noexcept { return st.options(); }
inline handler const& handler_of(server_state const& st) noexcept { return st.get_handler(); }
inline void report_error(server_state const& st, std::string_view what) noexcept {
  st.report(what);
}

} // namespace detail

inline result<std::vector<asio::ip::address>> listen_addresses(std::string_view host) {
  std::string const name(host);
  std::error_code ec;
  asio::ip::address const literal = asio::ip::make_address(name, ec);
  if (!ec)
    return std::vector<asio::ip::address>{literal};
  if (detail::is_localhost(host))
    return std::vector<asio::ip::address>{asio::ip::address_v4::loopback(),
                                          asio::ip::address_v6::loopback()};
  // No AI_ADDRCONFIG: it would drop ::1 on a machine whose only IPv6 address is loopback;
  // an address the machine cannot bind is left out by the server, with a warning.
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  auto const found = resolver.resolve(name, "", asio::ip::resolver_base::flags(), ec);
  if (ec)
    return ec;
  std::vector<asio::ip::address> out;
  for (auto const& entry : found) {
    asio::ip::address const a = detail::unmapped(entry.endpoint().address());
    if (std::find(out.begin(), out.end(), a) == out.end())
      out.push_back(a);
  }
  if (out.empty())
    return std::error_code(asio::error::host_not_found);
  return out;
}

inline server::server(server_options options, handler h)
    : state_(std::make_unique<detail::server_state>(std::move(options), std::move(h))) {}

inline server::~server() = default;

inline std::uint16_t server::port() const noexcept { return state_->port(); }

inline std::vector<asio::ip::tcp::endpoint> const& server::endpoints() const noexcept {
  return state_->endpoints();
}

inline void server::run() { state_->run(); }

inline void server::stop() { state_->stop(false); }

inline void server::handle_signals(std::initializer_list<int> signals) {
  state_->handle_signals(signals);
}

} // namespace http
PIER_END_NAMESPACE

#endif // PIER_HTTP_IMPL_SERVER_HPP
