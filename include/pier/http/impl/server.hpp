// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_IMPL_SERVER_HPP
#define PIER_HTTP_IMPL_SERVER_HPP

#include <pier/http/detail/session.hpp>
#include <pier/http/detail/tls_stream.hpp>
#include <pier/http/tls.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

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

inline std::string client_address(asio::ip::tcp::socket const& s) {
  std::error_code ec;
  asio::ip::address a = s.remote_endpoint(ec).address();
  if (ec)
    return "-";
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a.to_string();
}

// What the server answers a connection it will not serve (plain TCP only).
inline constexpr std::string_view busy_response = "HTTP/1.1 503 Service Unavailable\r\n"
                                                  "Retry-After: 5\r\nContent-Length: 0\r\n"
                                                  "Connection: close\r\n\r\n";

inline bool out_of_descriptors(std::error_code ec) noexcept {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system;
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
        : ctx(concurrency_hint), acceptor(ctx), acceptor_strand(asio::make_strand(ctx)),
          spare(open_spare()) {}
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
    bool shed_one(bool answer) noexcept {
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
    asio::ip::tcp::acceptor acceptor;
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

    asio::ip::tcp::endpoint endpoint(asio::ip::make_address(opts_.address), opts_.port);
    if (contexts > 1)
      endpoint.port(claim_port(endpoint));
    for (auto& w : workers_) {
      w->acceptor.open(endpoint.protocol());
      w->acceptor.set_option(asio::socket_base::reuse_address(true));
      if (contexts > 1)
        w->acceptor.set_option(reuse_port(true));
      w->acceptor.bind(endpoint);
      w->acceptor.listen(opts_.listen_backlog);
      // With port 0 the first bind picks the port; the others share it.
      endpoint.port(w->acceptor.local_endpoint().port());
    }
    port_ = endpoint.port();
    control_.emplace(asio::make_strand(workers_.front()->ctx));
    drain_timer_.emplace(*control_);
  }

  ~server_state() { tearing_down_ = true; }

  // The acceptors share their port with SO_REUSEPORT, which would as well let another
  // process of the same user bind it and silently take part of the connections. A bind
  // without SO_REUSEPORT fails when anyone listens on the port: do one first (it also
  // picks the port when 0 was asked), release it, and let the acceptors take the port.
  static std::uint16_t claim_port(asio::ip::tcp::endpoint const& endpoint) {
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io);
    probe.open(endpoint.protocol());
    probe.set_option(asio::socket_base::reuse_address(true));
    probe.bind(endpoint); // throws std::system_error (address in use) like the acceptors
    return probe.local_endpoint().port();
  }

  std::uint16_t port() const noexcept { return port_; }
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
      asio::co_spawn(w->acceptor_strand, accept_loop(*w, per_connection_strand), asio::detached);

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
          w->acceptor.close(ec);
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

  asio::awaitable<void> accept_loop(worker& w, bool per_connection_strand) {
    asio::steady_timer backoff(w.acceptor_strand);
    for (;;) {
      asio::any_io_executor const ex = per_connection_strand
                                           ? asio::any_io_executor(asio::make_strand(w.ctx))
                                           : asio::any_io_executor(w.ctx.get_executor());
      auto [ec, socket] = co_await w.acceptor.async_accept(ex, use_nothrow);
      if (stopping_)
        co_return;
      if (ec) {
        if (ec == asio::error::operation_aborted)
          co_return;
        if (!accept_failing_.exchange(true))
          report("accept: " + ec.message() + " (not reported again until an accept succeeds)");
        if (out_of_descriptors(ec) && w.shed_one(!opts_.tls))
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

inline server::server(server_options options, handler h)
    : state_(std::make_unique<detail::server_state>(std::move(options), std::move(h))) {}

inline server::~server() = default;

inline std::uint16_t server::port() const noexcept { return state_->port(); }

inline void server::run() { state_->run(); }

inline void server::stop() { state_->stop(false); }

inline void server::handle_signals(std::initializer_list<int> signals) {
  state_->handle_signals(signals);
}

} // namespace http
PIER_END_NAMESPACE

#endif // PIER_HTTP_IMPL_SERVER_HPP
