// SPDX-License-Identifier: Apache-2.0
#ifndef PIER_HTTP_DETAIL_SESSION_HPP
#define PIER_HTTP_DETAIL_SESSION_HPP

// One connection: the session loop (read, parse, dispatch, write), its body reader, and
// the watchdog that enforces every timeout by cancelling the loop (or, for a stalled body,
// the read).
//
// The session is a template over the stream: a plain TCP socket, or a `tls_stream`. The
// plain path is written for the socket alone (sendfile(2), writes without a trip through
// the event loop); TLS adds the handshake, and sends file bodies with SSL_sendfile when the
// kernel does the record layer, through a bounded buffer otherwise.

#include <pier/config.hpp>
#include <pier/core/result.hpp>
#include <pier/http/detail/tls_stream.hpp>
#include <pier/http/handler.hpp>
#include <pier/http/message.hpp>
#include <pier/http/parser.hpp>
#include <pier/http/request.hpp>
#include <pier/http/response.hpp>

#include <asio/buffer.hpp>
#include <asio/cancellation_state.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

PIER_BEGIN_NAMESPACE
namespace http {
namespace detail {

using clock = std::chrono::steady_clock;

inline constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// What the server shares with its sessions (defined in impl/server.hpp).
class server_state;
struct connection_core;
std::uint64_t register_connection(server_state& st, connection_core& c);
void unregister_connection(server_state& st, std::uint64_t id) noexcept;
server_options const& options_of(server_state const& st) noexcept;
handler const& handler_of(server_state const& st) noexcept;
void report_error(server_state const& st, std::string_view what) noexcept;

// The part of a connection that the watchdog and stop() act on; touched only on the
// connection's executor.
struct connection_core {
  explicit connection_core(asio::any_io_executor const& ex) : timer(ex) {}

  // Moves the deadline; the watchdog re-arms only when it moves earlier than the timer.
  void set_deadline(clock::time_point t) {
    deadline = t;
    if (t < armed) {
      armed = t;
      timer.cancel();
    }
  }
  void set_timeout(std::chrono::milliseconds d) { set_deadline(clock::now() + d); }
  void clear_deadline() noexcept { deadline = clock::time_point::max(); }

  // stop(): close now if idle, else after the response in progress; force: close now.
  void request_stop(bool force) {
    closing = true;
    if (force)
      forced = true;
    if (force || idle)
      set_deadline(clock::time_point::min());
  }

  // A body read waits with a "soft" deadline: when it passes, only that read fails (the
  // handler still answers); any other deadline ends the connection.
  void start_body_wait(std::chrono::milliseconds d) {
    soft = true;
    set_timeout(d);
  }
  void end_body_wait() noexcept {
    soft = false;
    clear_deadline();
  }

  asio::steady_timer timer;
  clock::time_point deadline = clock::time_point::max();
  clock::time_point armed = clock::time_point::max();
  bool soft = false;    // the deadline is a body read's
  bool stalled = false; // a body read's deadline passed
  bool idle = true;     // no request in progress: stop() closes at once
  bool closing = false; // stop() asked: no more requests on this connection
  bool forced = false;  // stop() ran out of patience
};

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7), formatted once per second per thread.
inline std::string_view http_date() noexcept {
  struct cache {
    std::time_t second = -1;
    std::array<char, 32> text{};
    std::size_t size = 0;
  };
  thread_local cache c;
  std::time_t const now = std::time(nullptr);
  if (now != c.second) {
    static constexpr char const* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr char const* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    int const n = std::snprintf(c.text.data(), c.text.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
                                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    c.size = n > 0 ? static_cast<std::size_t>(n) : 0;
    c.second = now;
  }
  return {c.text.data(), c.size};
}

// A field a handler set that would corrupt the framing if sent as is.
inline bool unsafe_field(std::string_view name, std::string_view value) noexcept {
  auto const bad = [](char ch) { return ch == '\r' || ch == '\n' || ch == '\0'; };
  return name.empty() || std::any_of(name.begin(), name.end(), bad) ||
         std::any_of(value.begin(), value.end(), bad) || name.find(':') != std::string_view::npos;
}

inline bool connection_has_close(std::string_view value) noexcept {
  bool close = false;
  for_each_list_element(value, [&](std::string_view o) { close = close || iequals(o, "close"); });
  return close;
}

template <class Stream>
class session;

// The handler's view of the request body: reads from the session's buffer, then from the
// socket, never more than the body (pipelined requests stay in the buffer).
// A TLS record of type handshake: what a ClientHello starts with.
inline constexpr unsigned char tls_handshake_record = 0x16;

// The client's X-Request-Id when it is 1 to 64 characters of [A-Za-z0-9._:-] (nothing that
// could break or forge a log line or a header), else 16 random hex digits.
inline std::string request_id_of(fields const& f) {
  std::optional<std::string_view> const given = f.find("X-Request-Id");
  if (given && !given->empty() && given->size() <= 64 &&
      std::all_of(given->begin(), given->end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
               c == ':' || c == '-';
      }))
    return std::string(*given);
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::array<char, 17> hex{};
  std::snprintf(hex.data(), hex.size(), "%016llx", static_cast<unsigned long long>(random()));
  return std::string(hex.data(), 16);
}

template <class Stream>
class session_body_reader final : public body_reader {
public:
  session_body_reader(session<Stream>& s, request_head const& head) noexcept
      : s_(s), framing_(head.framing()), remaining_(head.content_length()),
        expect_continue_(head.expects_continue()), done_(head.framing() == body_framing::none) {}

  asio::awaitable<result<std::size_t>> read_some(std::span<char> buf) override {
    if (error_)
      co_return error_;
    if (done_ || buf.empty())
      co_return std::size_t{0};
    if (expect_continue_ && !continue_sent_) {
      continue_sent_ = true;
      // RFC 9110 §10.1.1: no need for 100 once some of the content is here.
      // (No co_await inside a condition: GCC 12 miscompiles some of those.)
      if (s_.buffered() == 0) {
        bool const sent = co_await s_.write_continue();
        if (!sent)
          co_return fail(body_error::closed);
      }
    }
    result<std::size_t> n = std::size_t{0};
    if (framing_ == body_framing::content_length)
      n = co_await read_length(buf);
    else
      n = co_await read_chunked(buf);
    if (n)
      received_ += *n;
    co_return n;
  }

  std::optional<std::uint64_t> length() const noexcept override {
    if (framing_ == body_framing::chunked)
      return std::nullopt;
    return framing_ == body_framing::none ? 0 : length_;
  }
  bool done() const noexcept override { return done_; }

  bool failed() const noexcept { return static_cast<bool>(error_); }
  // The client is waiting for 100 Continue and so has sent none of the body.
  bool awaiting_continue() const noexcept {
    return expect_continue_ && !continue_sent_ && !done_ && s_.buffered() == 0;
  }
  std::uint64_t remaining() const noexcept { return remaining_; }
  body_framing framing() const noexcept { return framing_; }
  // Body bytes handed to the handler so far (the access log's "received").
  std::uint64_t received() const noexcept { return received_; }

  // Takes what is buffered of a Content-Length body; returns what is still on the wire.
  std::uint64_t discard_buffered_length() noexcept {
    std::size_t const n =
        static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, s_.buffered()));
    s_.consume(n);
    remaining_ -= n;
    done_ = remaining_ == 0;
    return remaining_;
  }

  // Decodes what is buffered of a chunked body, discarding data; true when it ended.
  bool discard_buffered_chunked() {
    while (!done_ && s_.buffered() > 0) {
      auto r = decoder_.decode(s_.view());
      if (!r)
        return false;
      s_.consume(r->consumed);
      done_ = r->done;
    }
    return done_;
  }

private:
  result<std::size_t> fail(std::error_code ec) {
    error_ = ec;
    return ec;
  }

  std::error_code read_error(std::error_code ec) const noexcept {
    if (ec == asio::error::operation_aborted)
      return s_.core().stalled && !s_.core().forced ? body_error::stalled : body_error::aborted;
    return body_error::closed;
  }

  asio::awaitable<result<std::size_t>> read_length(std::span<char> buf) {
    std::size_t const want =
        static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, buf.size()));
    std::size_t n = std::min(want, s_.buffered());
    if (n > 0) {
      std::memcpy(buf.data(), s_.view().data(), n);
      s_.consume(n);
    } else {
      // Straight into the caller's buffer: no copy, and never past the body.
      s_.core().start_body_wait(s_.options().body_stall_timeout);
      auto [ec, got] =
          co_await s_.stream().async_read_some(asio::buffer(buf.data(), want), use_nothrow);
      s_.core().end_body_wait();
      if (ec)
        co_return fail(read_error(ec));
      n = got;
    }
    remaining_ -= n;
    done_ = remaining_ == 0;
    co_return n;
  }

  asio::awaitable<result<std::size_t>> read_chunked(std::span<char> buf) {
    for (;;) {
      while (s_.buffered() > 0) {
        // At most buf.size() bytes of input, so a data run always fits in buf.
        std::string_view const in = s_.view().substr(0, buf.size());
        auto r = decoder_.decode(in);
        if (!r)
          co_return fail(r.error());
        std::size_t const n = r->data.size();
        if (n > 0)
          std::memcpy(buf.data(), r->data.data(), n);
        s_.consume(r->consumed);
        done_ = r->done;
        if (n > 0)
          co_return n;
        if (done_)
          co_return std::size_t{0};
        if (r->consumed == 0)
          break;
      }
      s_.core().start_body_wait(s_.options().body_stall_timeout);
      std::error_code const ec = co_await s_.read_more(s_.options().read_buffer_size);
      s_.core().end_body_wait();
      if (ec)
        co_return fail(read_error(ec));
    }
  }

  session<Stream>& s_;
  body_framing framing_;
  std::uint64_t remaining_;
  std::uint64_t length_ = remaining_;
  std::uint64_t received_ = 0;
  bool expect_continue_;
  bool continue_sent_ = false;
  bool done_;
  std::error_code error_;
  chunked_decoder decoder_;
};

template <class Stream>
class session {
  static constexpr bool plain_tcp = std::is_same_v<Stream, asio::ip::tcp::socket>;
  static constexpr bool tls = std::is_same_v<Stream, tls_stream>;
  static_assert(plain_tcp || tls);

public:
  session(server_state& st, Stream stream, std::string client_address)
      : st_(st), opts_(options_of(st)), stream_(std::move(stream)), core_(stream_.get_executor()),
        client_(std::move(client_address)),
        capacity_(std::max({opts_.read_buffer_size,
                            opts_.limits.max_header_bytes + opts_.limits.max_request_line + 8,
                            std::size_t{1024}})) {
    size_ = std::min<std::size_t>(capacity_, 4096);
    buf_.reset(new char[size_]);
    core_.set_deadline(clock::now() + opts_.header_timeout);
    id_ = register_connection(st_, core_);
    if constexpr (plain_tcp) {
      // Writes and sendfile(2) are tried at once and wait for the socket only when it is full.
      std::error_code ec;
      stream_.non_blocking(true, ec);
    }
  }
  ~session() { unregister_connection(st_, id_); }
  session(session const&) = delete;
  session& operator=(session const&) = delete;

  // Serves until the client leaves, an error, a timeout or stop(); then gives the
  // connection's slot back and closes, in that order: a client that sees the close and
  // connects again finds the place free (max_connections_per_client).
  template <class Slot>
  asio::awaitable<void> run(Slot& slot) {
    namespace ex = asio::experimental;
    auto const executor = co_await asio::this_coro::executor;
    co_await ex::make_parallel_group(asio::co_spawn(executor, serve(), ex::deferred),
                                     asio::co_spawn(executor, watchdog(), ex::deferred))
        .async_wait(ex::wait_for_one(), asio::use_awaitable);
    slot.release();
    std::error_code ec;
    stream_.lowest_layer().close(ec);
  }

  // --- for the body reader
  server_options const& options() const noexcept { return opts_; }
  connection_core& core() noexcept { return core_; }
  Stream& stream() noexcept { return stream_; }
  std::size_t buffered() const noexcept { return end_ - begin_; }
  std::string_view view() const noexcept { return {buf_.get() + begin_, end_ - begin_}; }
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_)
      begin_ = end_ = 0;
  }

  // Reads more into the buffer, growing it up to `want` bytes (and the capacity) first.
  // no_buffer_space: the buffer is full of unconsumed bytes.
  asio::awaitable<std::error_code> read_more(std::size_t want) {
    if (!make_room(want))
      co_return asio::error::no_buffer_space;
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buf_.get() + end_, size_ - end_),
                                                    use_nothrow);
    end_ += n;
    co_return ec;
  }

  asio::awaitable<bool> write_continue() {
    static constexpr std::string_view line = "HTTP/1.1 100 Continue\r\n\r\n";
    core_.set_timeout(opts_.write_stall_timeout);
    bool const ok = co_await write_all({asio::buffer(line), asio::const_buffer()});
    core_.clear_deadline();
    co_return ok;
  }

private:
  enum class head_status { complete, closed, rejected };

  // Returns when a deadline has passed, which cancels the session loop it races against;
  // a body read's deadline cancels only that read.
  asio::awaitable<void> watchdog() {
    asio::cancellation_state const cs = co_await asio::this_coro::cancellation_state;
    for (;;) {
      if (core_.deadline <= clock::now()) {
        if (!core_.soft || core_.forced)
          co_return;
        core_.stalled = true;
        core_.end_body_wait();
        std::error_code ec;
        stream_.lowest_layer().cancel(ec); // only the body read is pending
      }
      core_.armed = core_.deadline;
      core_.timer.expires_at(core_.armed);
      co_await core_.timer.async_wait(use_nothrow);
      if (cs.cancelled() != asio::cancellation_type::none)
        co_return; // the session ended first
    }
  }

  asio::awaitable<void> serve() {
    try {
      co_await serve_requests();
    } catch (...) {
      // Cancellation by the watchdog surfaces as an exception at the next co_await; anything
      // else (bad_alloc) ends this connection only.
    }
  }

  asio::awaitable<void> serve_requests() {
    asio::cancellation_state const cs = co_await asio::this_coro::cancellation_state;
    if constexpr (tls) {
      // Bounded by the header timeout set at construction, like a first request's head. A
      // failed handshake (an old protocol, an untrusting client) is the client's affair:
      // the connection closes without a log line. Plain HTTP gets a plain HTTP answer that
      // says why, as nginx gives, rather than a reset the client cannot explain.
      auto [pec, first] = co_await stream_.peek_first_byte();
      if (pec)
        co_return;
      if (first != tls_handshake_record) {
        if (first >= 'A' && first <= 'Z') // a request line starts with a method
          co_await refuse_plain_http();
        co_return;
      }
      std::error_code const ec = co_await stream_.handshake();
      if (ec)
        co_return;
    }
    request_parser parser(opts_.limits);
    bool first = true;
    for (;;) {
      parser.reset();
      clock::time_point start{};
      std::size_t head_length = 0;
      head_status const hs = co_await read_head(parser, first, start, head_length);
      if (hs != head_status::complete)
        co_return;
      first = false;
      core_.clear_deadline(); // the handler takes as long as it takes

      session_body_reader<Stream> body(*this, parser.head());
      consume(head_length);
      request req(std::move(parser.head()), body, client_, tls);
      req.set_id(request_id_of(req.headers()));

      response res = co_await call_handler(req, cs);
      if (cs.cancelled() != asio::cancellation_type::none)
        co_return;
      if (!res.headers().find("X-Request-Id"))
        res.headers().set("X-Request-Id", std::string(req.id()));

      // Can the connection carry another request after this one?
      bool keep = req.head().keep_alive() && !core_.closing;
      if (auto const c = res.headers().find("Connection"); c && connection_has_close(*c))
        keep = false;
      bool linger = false;
      std::uint64_t drain = 0;
      if (!body.done()) {
        if (body.failed() || body.awaiting_continue()) {
          keep = false;
          linger = true;
        } else if (body.framing() == body_framing::content_length) {
          drain = body.discard_buffered_length();
          if (drain > opts_.max_body_drain) {
            keep = false;
            linger = true;
          }
        } else if (!body.discard_buffered_chunked()) {
          keep = false;
          linger = true;
        }
      }
      if (!keep && (!body.done() || buffered() > 0))
        linger = true; // body bytes or pipelined requests we will not read

      std::uint64_t sent = 0;
      bool const written = co_await write_response(res, req.head(), keep, sent);
      access_log_entry entry;
      entry.method = req.method();
      entry.target = req.target();
      entry.status = res.status();
      entry.body_bytes = sent;
      entry.received_bytes = body.received();
      entry.request_id = req.id();
      entry.principal = req.user();
      entry.user_agent = req.headers().find("User-Agent").value_or(std::string_view{});
      if (res.status() >= 500)
        if (auto const* text = std::get_if<std::string>(&res.body()))
          entry.error_body = std::string_view(*text).substr(0, 1000);
      log(entry, start);
      if (!written)
        co_return;
      if (!keep) {
        if (linger)
          co_await linger_close();
        co_return;
      }
      if (drain > 0) {
        bool const drained = co_await discard(drain);
        if (!drained)
          co_return;
      }
      if (core_.closing)
        co_return;
      core_.idle = true;
      core_.set_timeout(opts_.idle_timeout);
    }
  }

  // Reads until the parser has a head. Parse errors are answered here.
  asio::awaitable<head_status> read_head(request_parser& parser, bool first,
                                         clock::time_point& start, std::size_t& head_length) {
    bool started = false;
    bool timed = first; // the first request's head timeout runs from accept
    for (;;) {
      if (buffered() > 0) {
        if (!started) {
          started = true;
          start = clock::now();
          core_.idle = false;
        }
        auto r = parser.parse(view());
        if (!r) {
          co_await reject(r.error(), start);
          co_return head_status::rejected;
        }
        if (*r) {
          head_length = **r;
          co_return head_status::complete;
        }
        if (!timed) {
          timed = true;
          core_.set_deadline(start + opts_.header_timeout);
        }
      }
      if (!make_room(0)) {
        // Only reachable when the limits are larger than the buffer can hold.
        co_await reject(view().find('\n') == std::string_view::npos
                            ? parse_error::request_line_too_long
                            : parse_error::header_too_large,
                        start);
        co_return head_status::rejected;
      }
      auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buf_.get() + end_, size_ - end_),
                                                      use_nothrow);
      if (ec)
        co_return head_status::closed; // EOF, reset, or the watchdog: nothing to answer
      end_ += n;
    }
  }

  // Frees space at the end of the buffer: moves unconsumed bytes to the front when it is
  // full, grows it to `min_size`, and doubles it (up to the capacity) when still full.
  bool make_room(std::size_t min_size) {
    if (begin_ == end_) {
      begin_ = end_ = 0;
    } else if (end_ == size_ && begin_ > 0) {
      std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    std::size_t target = std::max(size_, std::min(min_size, capacity_));
    if (end_ == target)
      target = std::min(capacity_, target * 2);
    if (target > size_) {
      std::unique_ptr<char[]> b(new char[target]);
      std::memcpy(b.get(), buf_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      buf_ = std::move(b);
      size_ = target;
    }
    return end_ < size_;
  }

  asio::awaitable<response> call_handler(request& req, asio::cancellation_state const& cs) {
    std::string what;
    try {
      co_return co_await handler_of(st_)(req);
    } catch (std::exception const& e) {
      what = e.what();
    } catch (...) {
      what = "unknown exception";
    }
    if (cs.cancelled() == asio::cancellation_type::none) {
      std::string msg = "handler threw for ";
      msg.append(req.method()).append(" ").append(req.target()).append(": ").append(what);
      report_error(st_, msg);
    }
    co_return response::text(500, "internal server error\n");
  }

  asio::awaitable<void> reject(std::error_code ec, clock::time_point start) {
    int const status =
        ec.category() == parse_category() ? http_status(static_cast<parse_error>(ec.value())) : 400;
    response res = response::text(status, ec.message() + "\n");
    std::string const id = request_id_of(fields{});
    res.headers().set("X-Request-Id", id);
    access_log_entry entry;
    entry.status = status;
    entry.request_id = id;
    // What docker sends first to a registry it may reach over TLS or not. (The 400 that
    // it gets makes its TLS library say "server gave HTTP response to HTTPS client".)
    entry.tls_handshake =
        buffered() > 0 && static_cast<unsigned char>(view()[0]) == tls_handshake_record;
    request_head head; // as for a GET: the body is sent
    head.set_method("GET");
    bool const written = co_await write_response(res, head, false, entry.body_bytes);
    log(entry, start == clock::time_point{} ? clock::now() : start);
    if (written)
      co_await linger_close();
  }

  void log(access_log_entry& entry, clock::time_point start) noexcept {
    if (!opts_.on_request)
      return;
    entry.duration = clock::now() - start;
    entry.client_address = client_;
    try {
      opts_.on_request(entry);
    } catch (...) {
    }
  }

  // Status line and fields into out_; returns whether a body follows.
  bool format_head(response& res, request_head const& req, bool keep) {
    int status = res.status();
    if (status < 200 || status > 999) {
      res = response::text(500, "internal server error\n");
      status = 500;
    }
    bool const head_method = req.method() == "HEAD";
    bool const bodiless_status = status == 204 || status == 304;
    std::uint64_t const size = res.body_size();

    out_.clear();
    out_.append("HTTP/1.1 ");
    append_number(static_cast<std::uint64_t>(status));
    out_.push_back(' ');
    out_.append(reason_phrase(status));
    out_.append("\r\n");

    bool has_date = false;
    std::optional<std::string_view> handler_length;
    for (auto const& [name, value] : res.headers()) {
      if (iequals(name, "Connection") || iequals(name, "Transfer-Encoding") ||
          unsafe_field(name, value))
        continue;
      if (iequals(name, "Content-Length")) {
        handler_length = value;
        continue;
      }
      has_date = has_date || iequals(name, "Date");
      out_.append(name).append(": ").append(value).append("\r\n");
    }
    if (!has_date)
      out_.append("Date: ").append(http_date()).append("\r\n");

    if (status == 204) {
      // no Content-Length (RFC 9110 §8.6)
    } else if (status == 304 || (head_method && handler_length)) {
      if (handler_length)
        out_.append("Content-Length: ").append(*handler_length).append("\r\n");
    } else {
      out_.append("Content-Length: ");
      append_number(size);
      out_.append("\r\n");
    }
    if (!keep)
      out_.append("Connection: close\r\n");
    else if (req.version() == 10)
      out_.append("Connection: keep-alive\r\n");
    out_.append("\r\n");
    return !head_method && !bodiless_status && size > 0;
  }

  void append_number(std::uint64_t v) {
    std::array<char, 24> digits;
    auto const r = std::to_chars(digits.data(), digits.data() + digits.size(), v);
    out_.append(digits.data(), r.ptr);
  }

  asio::awaitable<bool> write_response(response& res, request_head const& req, bool keep,
                                       std::uint64_t& sent) {
    bool const with_body = format_head(res, req, keep);
    core_.set_timeout(opts_.write_stall_timeout);
    if (!with_body)
      co_return co_await write_all({asio::buffer(out_), asio::const_buffer()});
    if (auto const* s = std::get_if<std::string>(&res.body())) {
      bool const ok = co_await write_all({asio::buffer(out_), asio::buffer(*s)});
      if (ok)
        sent = s->size();
      co_return ok;
    }
    file_body const file = std::get<file_body>(res.body()); // a copy holds the owner
    // On TCP the head goes with MSG_MORE, to leave in one segment with the file's first bytes.
    bool const head_sent =
        co_await write_all({asio::buffer(out_), asio::const_buffer()}, plain_tcp ? MSG_MORE : 0);
    if (!head_sent)
      co_return false;
    if constexpr (plain_tcp) {
      int const r = co_await send_file(file, sent);
      if (r >= 0)
        co_return r > 0;
      // sendfile(2) cannot read this descriptor: fall back to copying.
    } else {
      if (stream_.ktls_send()) {
        int const r = co_await send_file_ktls(file, sent);
        if (r >= 0)
          co_return r > 0;
      }
    }
    co_return co_await copy_file(file, sent);
  }

  // Writes all of `bufs`. On a plain socket it first writes at once, without a trip through
  // the event loop: the socket buffer usually has room for a response.
  asio::awaitable<bool> write_all(std::array<asio::const_buffer, 2> bufs, int flags = 0) {
    if constexpr (plain_tcp) {
      if (stream_.non_blocking()) {
        for (;;) {
          if (asio::buffer_size(bufs) == 0)
            co_return true;
          std::error_code ec;
          std::size_t n = stream_.send(bufs, flags, ec);
          if (ec == asio::error::would_block || ec == asio::error::try_again) {
            auto [wec] = co_await stream_.async_wait(asio::socket_base::wait_write, use_nothrow);
            if (wec)
              co_return false;
            continue;
          }
          if (ec)
            co_return false;
          for (auto& b : bufs) {
            std::size_t const k = std::min(n, b.size());
            b += k;
            n -= k;
          }
          core_.set_timeout(opts_.write_stall_timeout); // a stall, not a total, is bounded
        }
      }
      auto [ec, n] = co_await asio::async_write(stream_, bufs, use_nothrow);
      co_return !ec;
    } else {
      (void)flags; // the TLS records are what is sent; they are not merged with MSG_MORE
      if (bufs[1].size() > 0) {
        if (asio::const_buffer const one = stream_.gather(bufs[0], bufs[1]); one.size() > 0)
          bufs = {one, asio::const_buffer()};
      }
      for (auto& b : bufs) {
        while (b.size() > 0) {
          auto [ec, n] = co_await stream_.write_some(b);
          if (ec)
            co_return false;
          b += n;
          core_.set_timeout(opts_.write_stall_timeout);
        }
      }
      co_return true;
    }
  }

  // 1: sent; 0: failed (connection must close); -1: sendfile unsupported, nothing sent.
  asio::awaitable<int> send_file(file_body const& file, std::uint64_t& sent) {
    if (!stream_.non_blocking())
      co_return -1; // sendfile(2) would block the thread
    auto offset = static_cast<off_t>(file.offset);
    std::uint64_t left = file.length;
    std::uint64_t since_yield = 0;
    int const sock = stream_.native_handle();
    // Corked while the file goes, as nginx's tcp_nopush: with TCP_NODELAY each sendfile(2)
    // would push its last partial segment at once; cork sends only full ones until the end.
    struct cork {
      int fd;
      explicit cork(int s) : fd(s) { set(1); }
      ~cork() { set(0); } // flushes what is left
      void set(int on) const { (void)::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on); }
    } const corked(sock);
    while (left > 0) {
      std::size_t const want = static_cast<std::size_t>(std::min<std::uint64_t>(left, 0x7ffff000));
      ssize_t const n = ::sendfile(sock, file.fd, &offset, want);
      if (n > 0) {
        left -= static_cast<std::uint64_t>(n);
        sent += static_cast<std::uint64_t>(n);
        since_yield += static_cast<std::uint64_t>(n);
        if (since_yield >= 16 * 1024 * 1024 && left > 0) {
          // A fast reader never makes sendfile block: let other connections run.
          since_yield = 0;
          co_await asio::post(stream_.get_executor(), asio::use_awaitable);
        }
        continue;
      }
      if (n == 0)
        co_return 0; // the file is shorter than promised
      int const err = errno;
      if (err == EINTR)
        continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        core_.set_timeout(opts_.write_stall_timeout);
        auto [wec] = co_await stream_.async_wait(asio::socket_base::wait_write, use_nothrow);
        if (wec)
          co_return 0;
        since_yield = 0;
        continue;
      }
      if ((err == EINVAL || err == ENOSYS) && sent == 0)
        co_return -1;
      co_return 0;
    }
    co_return 1;
  }

  // SSL_sendfile where the kernel does the TLS records; the same contract as send_file.
  asio::awaitable<int> send_file_ktls(file_body const& file, std::uint64_t& sent) {
    std::uint64_t since_yield = 0;
    while (sent < file.length) {
      std::size_t const want =
          static_cast<std::size_t>(std::min<std::uint64_t>(file.length - sent, 0x7ffff000));
      auto [ec, n] =
          co_await stream_.sendfile_some(file.fd, static_cast<off_t>(file.offset + sent), want);
      if (ec)
        co_return sent == 0 && ec != asio::error::operation_aborted ? -1 : 0;
      sent += n;
      since_yield += n;
      core_.set_timeout(opts_.write_stall_timeout);
      if (since_yield >= 16 * 1024 * 1024 && sent < file.length) {
        since_yield = 0;
        co_await asio::post(stream_.get_executor(), asio::use_awaitable);
      }
    }
    co_return 1;
  }

  asio::awaitable<bool> copy_file(file_body const& file, std::uint64_t& sent) {
    // Over TLS without kTLS this is the path of every file body. 128 KiB and 512 KiB made no
    // measurable difference there (bench/README.md, "TLS download"): the records are 16 KiB
    // whatever the chunk, so the size only bounds the memory per download.
    std::size_t const chunk =
        static_cast<std::size_t>(std::min<std::uint64_t>(file.length - sent, 256 * 1024));
    std::unique_ptr<char[]> buf(new char[std::max<std::size_t>(chunk, 1)]);
    while (sent < file.length) {
      std::size_t const want =
          static_cast<std::size_t>(std::min<std::uint64_t>(file.length - sent, chunk));
      ssize_t const n = ::pread(file.fd, buf.get(), want, static_cast<off_t>(file.offset + sent));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        co_return false;
      core_.set_timeout(opts_.write_stall_timeout);
      bool const ok = co_await write_all(
          {asio::buffer(buf.get(), static_cast<std::size_t>(n)), asio::const_buffer()});
      if (!ok)
        co_return false;
      sent += static_cast<std::uint64_t>(n);
    }
    co_return true;
  }

  // Reads and drops `n` bytes of request body left on the wire.
  asio::awaitable<bool> discard(std::uint64_t n) {
    while (n > 0) {
      core_.set_timeout(opts_.body_stall_timeout);
      std::size_t const want = static_cast<std::size_t>(std::min<std::uint64_t>(n, size_));
      auto [ec, got] =
          co_await stream_.async_read_some(asio::buffer(buf_.get(), want), use_nothrow);
      if (ec)
        co_return false;
      n -= got;
    }
    begin_ = end_ = 0;
    co_return true;
  }

  // Half-closes, then reads and drops what the client still sends for a short while: closing
  // with unread bytes would make the kernel send a reset, which can destroy the response
  // before the client reads it.
    // Answers a plain HTTP request on the TLS port in plain HTTP, then reads what the client
  // still sends (its request) until it closes, so that it sees the answer, not a reset.
  asio::awaitable<void> refuse_plain_http() {
    static constexpr std::string_view body =
        "This port speaks TLS: the plain HTTP request was sent to an HTTPS port.\n";
    std::string answer = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                         "Connection: close\r\nContent-Length: ";
    answer.append(std::to_string(body.size())).append("\r\n\r\n").append(body);
    core_.set_timeout(opts_.write_stall_timeout);
    auto [ec, n] =
        co_await asio::async_write(stream_.lowest_layer(), asio::buffer(answer), use_nothrow);
    if (!ec)
      co_await linger_on(stream_.lowest_layer());
  }

  asio::awaitable<void> linger_close() {
    if constexpr (tls)
      stream_.close_notify();
    co_await linger_on(stream_);
  }

  // Ends our side and reads from `from` (the stream, or the socket below TLS) until the
  // client closes, a budget is read, or the linger timeout passes.
  template <class ReadStream>
  asio::awaitable<void> linger_on(ReadStream& from) {
    std::error_code ec;
    stream_.lowest_layer().shutdown(asio::socket_base::shutdown_send, ec);
    if (ec)
      co_return;
    core_.set_timeout(opts_.linger_timeout);
    std::uint64_t budget = 4 * std::max<std::uint64_t>(opts_.max_body_drain, size_);
    for (;;) {
      auto [rec, got] =
          co_await from.async_read_some(asio::buffer(buf_.get(), size_), use_nothrow);
      if (rec || got >= budget)
        co_return;
      budget -= got;
    }
  }

  server_state& st_;
  server_options const& opts_;
  Stream stream_;
  connection_core core_;
  std::string client_;
  std::uint64_t id_ = 0;

  std::size_t capacity_; // the most the read buffer may grow to
  std::size_t size_ = 0; // its current size
  std::unique_ptr<char[]> buf_;
  std::size_t begin_ = 0; // unconsumed bytes are [begin_, end_)
  std::size_t end_ = 0;
  std::string out_; // the response head, reused
};

// The coroutine frame owns the session; everything it hands out refers into it. `slot`
// lives in the caller's frame, which outlives this one.
template <class Stream, class Slot>
asio::awaitable<void> run_session(server_state& st, Stream stream, std::string client_address,
                                  Slot& slot) {
  session<Stream> s(st, std::move(stream), std::move(client_address));
  co_await s.run(slot);
}

} // namespace detail
} // namespace http
PIER_END_NAMESPACE

#endif // PIER_HTTP_DETAIL_SESSION_HPP
