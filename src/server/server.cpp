// server.cpp — `upline serve`'s HTTP side: the listener, one session per connection, routing,
// who may do what, limits, the effects stream (server.hpp, docs/SERVER.md).
#include "upline/server.hpp"

#include "sequencer.hpp"
#include "target.hpp"
#include "upline/json_text.hpp"
#include "upline/store_open.hpp"
#include "upline/version.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <csignal>
#include <future>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

namespace upline {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using server::Job;
using server::Reply;
using server::error_reply;

namespace {

constexpr std::size_t stream_chunk = 256u << 10;

class Session;

}  // namespace

struct Server::Impl {
  // What a session touches as it ends comes first: it is destroyed last.
  ServerOptions options;
  server::Metrics metrics;
  std::mutex sessions_mu;
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions;  // for closing idle ones at stop
  std::uint64_t next_session = 0;
  std::atomic<bool> finished{false};  // the sequencer finished and every reply was handed over
  std::atomic<bool> tearing_down{false};
  std::atomic<int> catch_ups{0};      // effects streams reading the journal (threads of their own)
  std::atomic<bool> stopping{false};
  server::TokenSet tokens, admin_tokens;
  Recovery recovery;
  std::string dir;
  net::io_context ioc;
  // The listener, the signals and the shutdown timers are touched by one strand only.
  net::strand<net::io_context::executor_type> control{ioc.get_executor()};
  tcp::acceptor acceptor{control};
  std::uint16_t port = 0;
  std::unique_ptr<server::Sequencer> sequencer;
  net::signal_set signals{control};
  net::steady_timer grace{control};    // at shutdown: how long replies still being written may take
  net::steady_timer accept_retry{control};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;  // until the sequencer finished
  std::string snapshot;

  explicit Impl(ServerOptions o);
  void accept();
  void begin_stop();
  void close_all();
  std::vector<std::shared_ptr<Session>> open_sessions();
};

namespace {

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& srv) : stream_(std::move(socket)), srv_(srv) {
    srv_.metrics.connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~Session() {
    srv_.metrics.connections.fetch_sub(1, std::memory_order_relaxed);
    std::lock_guard g(srv_.sessions_mu);
    srv_.sessions.erase(id_);
    // The last connection gone after the sequencer finished: nothing keeps run() waiting.
    if (srv_.sessions.empty() && srv_.finished.load() && !srv_.tearing_down.load())
      net::post(srv_.control, [&srv = srv_] { srv.grace.cancel(); });
  }

  void start(bool refuse) {
    {
      std::lock_guard g(srv_.sessions_mu);
      id_ = srv_.next_session++;
      srv_.sessions.emplace(id_, weak_from_this());
    }
    net::dispatch(stream_.get_executor(), [self = shared_from_this(), refuse] {
      if (refuse) {
        self->srv_.metrics.refused_busy.fetch_add(1, std::memory_order_relaxed);
        Reply r = error_reply(503, "overloaded", "too many connections (" + std::to_string(self->srv_.options.max_connections) + ")");
        r.retry_after = 1;
        self->keep_alive_ = false;
        return self->send(std::move(r));
      }
      self->read();
    });
  }

  /// Closes the connection from outside the strand: only when no I/O thread runs (teardown).
  void close_now() { close(); }

  /// At shutdown: closes the connection unless a request is being answered (that one closes
  /// after its reply).
  void close_if_idle() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) self->close();
    });
  }

 private:
  void read() {
    if (srv_.stopping.load()) return close();
    busy_ = false;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(srv_.options.max_header));
    parser_->body_limit(srv_.options.max_batch_body);
    stream_.expires_after(std::chrono::milliseconds(srv_.options.idle_timeout_ms));
    http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    busy_ = true;
    const auto& req = parser_->get();
    const bool batch = sv(req.target()).rfind("/v1/events/batch", 0) == 0;
    const std::size_t limit = batch ? srv_.options.max_batch_body : srv_.options.max_body;
    // A declared length over the limit is refused before a byte of the body is read.
    if (parser_->content_length() && *parser_->content_length() > limit) return on_read_error(http::error::body_limit);
    parser_->body_limit(limit);
    stream_.expires_after(std::chrono::milliseconds(srv_.options.request_timeout_ms));
    auto expect = req.find(http::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue") && !parser_->is_done()) {
      // curl and PHP's curl wait for this before they send a body over 1 KiB.
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      return http::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code e, std::size_t) {
        if (e) return self->close();
        self->read_body();
      });
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->on_read_error(ec);
      self->handle();
    });
  }

  void on_read_error(beast::error_code ec) {
    // A client that went away, stayed silent or stopped mid-request: nothing to answer.
    const bool parse_error = ec.category() == http::make_error_code(http::error::bad_target).category() && ec != http::error::end_of_stream &&
                             ec != http::error::partial_message;
    if (!parse_error) return close();
    keep_alive_ = false;
    srv_.metrics.bad_requests.fetch_add(1, std::memory_order_relaxed);
    if (ec == http::error::body_limit) {
      const bool batch = parser_->is_header_done() && sv(parser_->get().target()).rfind("/v1/events/batch", 0) == 0;
      return send(error_reply(413, "payload_too_large",
                              "the body is larger than " + std::to_string(batch ? srv_.options.max_batch_body : srv_.options.max_body) +
                                  " bytes (" + (batch ? "--max-batch-body" : "--max-body") + ")"));
    }
    if (ec == http::error::header_limit)
      return send(error_reply(431, "header_too_large", "the request header is larger than " + std::to_string(srv_.options.max_header) + " bytes"));
    send(error_reply(400, "bad_request", "malformed HTTP request: " + ec.message()));
  }

  void handle() {
    srv_.metrics.requests.fetch_add(1, std::memory_order_relaxed);
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    // No resource answers HEAD (405); its reply carries no body, and the connection closes.
    head_ = req.method() == http::verb::head;
    if (head_) keep_alive_ = false;
    if (srv_.stopping.load()) {
      keep_alive_ = false;
      Reply r = error_reply(503, "unavailable", "the server is shutting down");
      r.retry_after = 1;
      return send(std::move(r));
    }
    std::string why;
    auto target = server::parse_target(sv(req.target()), why);
    if (!target) return client_error(400, "bad_request", why);
    const auto& seg = target->segments;
    const auto method = req.method();
    // The path is `path`, an empty string matching any one segment.
    auto is = [&](std::initializer_list<std::string_view> path) {
      if (seg.size() != path.size()) return false;
      std::size_t i = 0;
      for (std::string_view p : path) {
        if (!p.empty() && seg[i] != p) return false;
        ++i;
      }
      return true;
    };
    // Open to anyone: for load balancers and Prometheus.
    if (is({"healthz"})) {
      if (method != http::verb::get) return not_allowed("GET");
      if (!srv_.sequencer->healthy()) return send(error_reply(503, "unavailable", "the store stopped after an I/O failure"));
      Reply r;
      r.body = "{\"status\":\"ok\"}\n";
      return send(std::move(r));
    }
    if (is({"metrics"})) {
      if (method != http::verb::get) return not_allowed("GET");
      Reply r;
      r.content_type = "text/plain; version=0.0.4";
      r.body = srv_.metrics.render(srv_.sequencer->last_seq(), srv_.sequencer->durable_seq());
      return send(std::move(r));
    }
    if (seg.empty() || seg[0] != "v1") return client_error(404, "not_found", "no such resource: " + std::string(sv(req.target())));
    // Who may do what: with tokens, every /v1 request needs one; with admin tokens, admin events
    // need one of those (an admin token also does what a token does).
    const auto auth = req.find(http::field::authorization);
    const auto token = auth == req.end() ? std::nullopt : server::bearer_token(sv(auth->value()));
    const bool is_admin = token && srv_.admin_tokens.contains(*token);
    const bool is_user = token && srv_.tokens.contains(*token);
    if (!srv_.tokens.empty() && !is_user && !is_admin)
      return client_error(401, "unauthorized", auth == req.end() ? "this server needs an Authorization: Bearer token" : "the token is not valid");
    if (auth != req.end() && !is_user && !is_admin && !(srv_.tokens.empty() && srv_.admin_tokens.empty()))
      return client_error(401, "unauthorized", "the token is not valid");
    const bool admin = srv_.admin_tokens.empty() || is_admin;
    std::uint64_t min_seq = 0, after = 0;
    bool has_after = false;
    const bool statement = is({"v1", "members", "", "statement"});
    std::optional<std::string> bound_text[2];  // a statement's from and until, read in that order below
    for (const auto& [k, v] : target->query) {
      if (k == "min_seq" || k == "after") {
        const auto n = server::parse_seq(v);
        if (!n) return client_error(400, "bad_request", k + ": \"" + v + "\" is not a sequence number (an integer >= 0)");
        (k == "min_seq" ? min_seq : after) = *n;
        has_after = has_after || k == "after";
      } else if (statement && (k == "from" || k == "until")) {
        auto& text = bound_text[k == "until"];
        if (text) return client_error(400, "bad_request", k + ": given twice");
        text = v;
      } else {
        return client_error(400, "bad_request", "unknown query parameter \"" + k + "\" (min_seq; after for /v1/effects; from and until for a statement)");
      }
    }
    if (is({"v1", "events"}) || is({"v1", "events", "batch"})) {
      if (method != http::verb::post) return not_allowed("POST");
      const bool batch = seg.size() == 3;
      auto job = std::make_unique<Job>();
      job->kind = batch ? Job::Kind::batch : Job::Kind::event;
      job->admin = admin;
      job->body = std::move(req.body());
      if (!batch) {
        std::string_view b = job->body;
        while (!b.empty() && (b.back() == '\n' || b.back() == '\r')) b.remove_suffix(1);
        if (b.find('\n') != std::string_view::npos)
          return client_error(400, "bad_request", "the body holds more than one line: send JSON Lines to /v1/events/batch");
        if (blank_line(b)) return client_error(400, "bad_request", "the body is empty: send one event");
      } else {
        std::size_t lines = 0;
        for (char c : job->body) lines += c == '\n';
        if (!job->body.empty() && job->body.back() != '\n') ++lines;
        if (lines > srv_.options.max_batch_lines)
          return client_error(413, "payload_too_large",
                              "the batch has more than " + std::to_string(srv_.options.max_batch_lines) + " lines (--max-batch-lines)");
        // Each line is one event: no longer than a single event may be.
        std::string_view rest = job->body;
        while (!rest.empty()) {
          const std::size_t nl = rest.find('\n');
          if (std::min(nl, rest.size()) > srv_.options.max_body)
            return client_error(413, "payload_too_large", "a line of the batch is longer than " + std::to_string(srv_.options.max_body) + " bytes (--max-body)");
          rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        }
        job->weight = std::max<std::size_t>(lines, 1);
      }
      return enqueue(std::move(job));
    }
    if (method != http::verb::get) return not_allowed("GET");
    if (is({"v1", "effects"})) {
      if (min_seq) return client_error(400, "bad_request", "min_seq: not for /v1/effects (after=SEQ says where the stream starts)");
      if (!has_after) return client_error(400, "bad_request", "after: missing (/v1/effects?after=SEQ streams the events after SEQ)");
      return start_stream(after);
    }
    if (has_after) return client_error(400, "bad_request", "after: only for /v1/effects");
    if (statement) {
      std::optional<Time> period[2];
      for (int i = 0; i < 2; ++i)
        if (bound_text[i] && !(period[i] = parse_statement_time(*bound_text[i])))
          return client_error(400, "bad_request", statement_time_fault(i ? "until" : "from", *bound_text[i]));
      try {
        check_statement_period(period[0], period[1]);
      } catch (const std::invalid_argument& e) {
        return client_error(400, "bad_request", e.what());
      }
      const auto id = server::parse_member_id(seg[2]);
      if (!id) return client_error(400, "bad_request", "member id: \"" + seg[2] + "\" is not an integer");
      return start_statement(*id, period[0], period[1], min_seq);
    }
    auto job = std::make_unique<Job>();
    job->kind = Job::Kind::read;
    job->min_seq = min_seq;
    if (is({"v1", "status"})) {
      job->read = [](server::Sequencer& s) {
        const Store& st = s.store();
        const Engine& e = st.engine();
        Reply r;
        r.body = fmt::format(R"({{"seq":{},"durable_seq":{},"applied":{},"rejected":{},"members":{},"orders":{},"clock":{},"digest":"{}"}})"
                             "\n",
                             // The reply leaves once `seq` is durable: that is the durable_seq it reports.
                             st.last_seq(), st.last_seq(), e.applied(), e.rejected(), e.member_count(), e.order_count(), e.clock(), s.digest());
        return r;
      };
    } else if (is({"v1", "plan"})) {
      job->read = [](server::Sequencer& s) {
        Reply r;
        r.body = s.store().engine().plan().canonical_json();
        r.body += '\n';
        return r;
      };
    } else if (is({"v1", "dump"})) {
      job->read = [](server::Sequencer& s) {
        Reply r;
        append_dump_json(r.body, s.store().engine().state());
        return r;
      };
    } else if (is({"v1", "members", ""}) || is({"v1", "members", "", "rank-card"})) {
      // The member card, or (…/rank-card) its rank card: one lookup, one writer each (state.hpp).
      const auto id = server::parse_member_id(seg[2]);
      if (!id) return client_error(400, "bad_request", "member id: \"" + seg[2] + "\" is not an integer");
      const auto write = seg.size() == 4 ? &append_rank_card_json : &append_member_card_json;
      job->read = [id = *id, write](server::Sequencer& s) {
        const State& st = s.store().engine().state();
        const std::uint32_t m = st.members.find(id);
        if (m == no_member) return error_reply(404, "not_found", "member " + std::to_string(id) + " is unknown");
        Reply r;
        write(r.body, st, m);
        r.body += '\n';
        return r;
      };
    } else if (is({"v1", "orders", ""})) {
      job->read = [id = seg[2]](server::Sequencer& s) {
        const State& st = s.store().engine().state();
        const std::uint32_t i = st.ledger.find_order(id);
        if (i == Ledger::none) return error_reply(404, "not_found", "order " + json_quote(id) + " is unknown");
        Reply r;
        append_order_json(r.body, st, i);
        r.body += '\n';
        return r;
      };
    } else {
      return client_error(404, "not_found", "no such resource: " + std::string(sv(req.target())));
    }
    enqueue(std::move(job));
  }

  void enqueue(std::unique_ptr<Job> job) {
    // The reply comes back on the sequencer thread and is handed to this connection's strand.
    job->done = [self = shared_from_this()](Reply&& r) {
      net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
    };
    if (!srv_.sequencer->submit(job)) {
      srv_.metrics.refused_busy.fetch_add(1, std::memory_order_relaxed);
      Reply r = srv_.stopping.load() ? error_reply(503, "unavailable", "the server is shutting down")
                                     : error_reply(503, "overloaded", "the queue is full (" + std::to_string(srv_.options.max_queue) + " events); retry");
      r.retry_after = 1;
      send(std::move(r));
    }
  }

  void client_error(unsigned status, std::string_view code, const std::string& message) { client_reply(error_reply(status, code, message)); }
  void client_reply(Reply r) {
    srv_.metrics.bad_requests.fetch_add(1, std::memory_order_relaxed);
    send(std::move(r));
  }
  void not_allowed(const char* allow) {
    Reply r = error_reply(405, "method_not_allowed", std::string("use ") + allow);
    allow_ = allow;
    client_reply(std::move(r));
  }

  void send(Reply r) {
    res_ = {};
    res_.version(11);
    res_.result(r.status);
    res_.set(http::field::server, "upline/" UPL_VERSION_STRING);
    res_.set(http::field::content_type, r.content_type);
    if (r.seq) res_.set("Upline-Seq", std::to_string(r.seq));
    if (r.retry_after) res_.set(http::field::retry_after, std::to_string(r.retry_after));
    if (allow_) res_.set(http::field::allow, allow_);
    allow_ = nullptr;
    if (srv_.stopping.load()) keep_alive_ = false;
    res_.keep_alive(keep_alive_);
    res_.body() = head_ ? std::string() : std::move(r.body);
    res_.prepare_payload();
    stream_.expires_after(std::chrono::milliseconds(srv_.options.request_timeout_ms));
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || !self->keep_alive_) return self->close();
      self->read();
    });
  }

  // ---- GET /v1/effects?after=SEQ: chunked JSON Lines, as events become durable ----------------------

  void start_stream(std::uint64_t after) {
    srv_.metrics.effects_streams.fetch_add(1, std::memory_order_relaxed);
    streaming_ = true;
    next_ = after + 1;
    stream_res_.emplace(http::status::ok, 11);
    stream_res_->set(http::field::server, "upline/" UPL_VERSION_STRING);
    stream_res_->set(http::field::content_type, "application/x-ndjson");
    stream_res_->chunked(true);
    stream_sr_.emplace(*stream_res_);
    stream_.expires_after(std::chrono::milliseconds(srv_.options.request_timeout_ms));
    http::async_write_header(stream_, *stream_sr_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->pump();
    });
  }

  void pump() {
    chunk_.clear();
    switch (srv_.sequencer->feed().read(next_, chunk_, stream_chunk)) {
      case server::EffectsFeed::Read::lines: return write_chunk([self = shared_from_this()] { self->pump(); });
      case server::EffectsFeed::Read::closed: return end_stream();
      case server::EffectsFeed::Read::behind: return catch_up();
      case server::EffectsFeed::Read::none:
        stream_.expires_never();
        if (!srv_.sequencer->feed().wait(next_, [self = shared_from_this()] { net::post(self->stream_.get_executor(), [self] { self->pump(); }); }))
          net::post(stream_.get_executor(), [self = shared_from_this()] { self->pump(); });
        return;
    }
  }

  template <class Then>
  void write_chunk(Then then) {
    stream_.expires_after(std::chrono::milliseconds(srv_.options.request_timeout_ms));
    net::async_write(stream_, http::make_chunk(net::buffer(chunk_)), [self = shared_from_this(), then](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      then();
    });
  }

  void end_stream() {
    stream_.expires_after(std::chrono::milliseconds(srv_.options.request_timeout_ms));
    net::async_write(stream_, http::make_chunk_last(), [self = shared_from_this()](beast::error_code, std::size_t) { self->close(); });
  }

  // The stream's start left the window of recent results: the journal has them. Read on a thread of
  // its own (a rebuild can take seconds), one chunk at a time, each written before the next.
  // Streams that read the journal at once; beyond, a stream ends with an error line (retry).
  static constexpr int max_catch_ups = 4;

  void catch_up() {
    const std::uint64_t until = srv_.sequencer->feed().published();
    if (srv_.catch_ups.fetch_add(1) >= max_catch_ups) {
      srv_.catch_ups.fetch_sub(1);
      return end_with_error("overloaded", "too many streams are reading the journal (" + std::to_string(max_catch_ups) + "); reconnect with after=" +
                                              std::to_string(next_ - 1));
    }
    try {
      std::thread([self = shared_from_this(), until]() mutable { self->read_journal(std::move(self), until); }).detach();
    } catch (const std::system_error& e) {
      srv_.catch_ups.fetch_sub(1);
      end_with_error("unavailable", std::string("cannot start reading the journal: ") + e.what());
    }
  }

  // On a thread of its own: the results after next_ - 1 up to `until` from the journal, written one
  // chunk at a time, each before the next is read.
  static void read_journal(std::shared_ptr<Session> held, std::uint64_t until) {
    struct Done {  // declared before `self`: the session is released first, then the count drops
      std::atomic<int>& n;
      ~Done() { n.fetch_sub(1); }
    } done_guard{held->srv_.catch_ups};
    const std::shared_ptr<Session> self = std::move(held);
    std::string buf;
    std::uint64_t next = self->next_;
    enum class End { caught_up, failed, aborted } end = End::caught_up;
    // Hands buf to the strand and waits for its write; false when the write failed or the server stops.
    auto flush = [&] {
      auto done = std::make_shared<std::promise<bool>>();
      auto fut = done->get_future();
      net::post(self->stream_.get_executor(), [self, data = std::move(buf), done]() mutable {
        self->chunk_ = std::move(data);
        self->write_chunk([done] { done->set_value(true); });
        // A failed write closes the socket; the promise is then broken, which ends this thread.
      });
      buf.clear();
      // A stopped server runs no more handlers: wait in steps, and give up when it stops.
      while (fut.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout)
        if (self->srv_.stopping.load()) return false;
      try {
        return fut.get();
      } catch (const std::future_error&) {
        return false;
      }
    };
    try {
      replay_results(self->srv_.dir, next - 1, until, [&](std::uint64_t seq, std::string_view line) {
        buf += line;
        buf += '\n';
        next = seq + 1;
        if (buf.size() >= stream_chunk && !flush()) end = End::aborted;
        if (self->srv_.stopping.load()) end = End::aborted;
        return end == End::caught_up;
      });
      if (end == End::caught_up && !buf.empty() && !flush()) end = End::aborted;
    } catch (const std::exception& e) {
      end = End::failed;
      buf = server::error_reply(503, "unavailable", std::string("reading the journal failed: ") + e.what()).body;
      if (!flush()) end = End::aborted;
    }
    net::post(self->stream_.get_executor(), [self, next, end, until] {
      // Aborted: a write may still be pending; closing cancels it (a second write must not start).
      if (end == End::aborted) return self->close();
      if (end == End::failed) return self->end_stream();
      self->next_ = std::max(self->next_, next);
      if (self->next_ <= until) return self->end_stream();  // the journal ended early: only if damaged
      self->pump();
    });
  }

  // A member's statement (statement.hpp) is computed from the journal — a rebuild as of its
  // start, then the period applied again — on a thread of its own, counted with the effects
  // streams that read the journal (at most max_catch_ups at once; beyond, 503 and retry). It
  // covers every event published when the request came (min_seq: waits for it no longer than a
  // read would; a statement is never older than the request).
  void start_statement(MemberId id, std::optional<Time> from, std::optional<Time> until, std::uint64_t min_seq) {
    const std::uint64_t through = srv_.sequencer->feed().published();
    if (min_seq > through) {
      Reply r = error_reply(503, "unavailable", "min_seq: " + std::to_string(min_seq) + " is not published yet (" + std::to_string(through) + "); retry");
      r.retry_after = 1;
      return send(std::move(r));
    }
    if (srv_.catch_ups.fetch_add(1) >= max_catch_ups) {
      srv_.catch_ups.fetch_sub(1);
      Reply r = error_reply(503, "overloaded", "too many requests are reading the journal (" + std::to_string(max_catch_ups) + "); retry");
      r.retry_after = 1;
      return send(std::move(r));
    }
    try {
      std::thread([self = shared_from_this(), id, from, until, through]() mutable {
        struct Done {  // declared before `held`: the session is released first, then the count drops
          std::atomic<int>& n;
          ~Done() { n.fetch_sub(1); }
        } done_guard{self->srv_.catch_ups};
        const std::shared_ptr<Session> held = std::move(self);
        Reply r;
        try {
          const Statement st = member_statement(held->srv_.dir, id, from, until, nullptr, {}, through, &held->srv_.stopping);
          if (st.known) {
            append_statement_json(r.body, st);
            r.body += '\n';
          } else {
            r = error_reply(404, "not_found", "member " + std::to_string(id) + " is unknown");
          }
        } catch (const StoreError& e) {
          if (held->srv_.stopping.load()) {
            r = error_reply(503, "unavailable", "the server is shutting down");
          } else if (e.kind() == StoreError::Kind::usage) {
            // The history the period needs is not in the data directory: its older segments were
            // archived (upline archive), which the server does not read. Retrying will not help.
            r = error_reply(410, "archived", std::string("the period reaches into archived history: ") + e.what() +
                                                  " (upline statement --data DIR --archive ARCHIVE reads it; or ask from a later time)");
          } else if (e.kind() == StoreError::Kind::corrupt) {
            r = error_reply(500, "corrupt", std::string("the journal is damaged: ") + e.what());
          } else {
            r = error_reply(503, "unavailable", std::string("reading the journal failed: ") + e.what());
          }
        } catch (const std::exception& e) {
          r = error_reply(503, "unavailable", std::string("reading the journal failed: ") + e.what());
        }
        if (r.status == 503) r.retry_after = 1;
        net::post(held->stream_.get_executor(), [held, r = std::move(r)]() mutable { held->send(std::move(r)); });
      }).detach();
    } catch (const std::system_error& e) {
      srv_.catch_ups.fetch_sub(1);
      send(error_reply(503, "unavailable", std::string("cannot start reading the journal: ") + e.what()));
    }
  }

  void end_with_error(std::string_view code, const std::string& message) {
    chunk_ = server::error_reply(503, code, message).body;
    write_chunk([self = shared_from_this()] { self->end_stream(); });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    if (streaming_) srv_.metrics.effects_streams.fetch_sub(1, std::memory_order_relaxed);
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Server::Impl& srv_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  const char* allow_ = nullptr;
  bool keep_alive_ = true;
  bool head_ = false;
  bool busy_ = false;
  bool closed_ = false;
  std::uint64_t id_ = 0;
  // The effects stream.
  bool streaming_ = false;
  std::uint64_t next_ = 0;
  std::string chunk_;
  std::optional<http::response<http::empty_body>> stream_res_;
  std::optional<http::response_serializer<http::empty_body>> stream_sr_;
};

}  // namespace

Server::Impl::Impl(ServerOptions o) : options(std::move(o)), tokens(options.tokens), admin_tokens(options.admin_tokens) {
  beast::error_code ec;
  const auto address = net::ip::make_address(options.host, ec);
  if (ec) throw ServerError("--listen: \"" + options.host + "\" is not an IP address");
  if (!address.is_loopback() && options.tokens.empty())
    throw ServerError("--listen: " + options.host + " is not a loopback address: give --token-file so that only clients with a token can write");
  if (options.threads < 1) throw ServerError("--threads: 0 is not a number of threads (1 or more)");
  StoreOptions so;
  so.durability = options.durability;
  so.snapshot_every = options.snapshot_every;
  so.snapshot_bytes = options.snapshot_bytes;
  so.segment_bytes = options.segment_bytes;
  std::optional<Plan> plan;
  if (!options.plan_json.empty()) {
    PlanFaults faults;
    plan = Plan::parse(options.plan_json, faults);
    if (!plan) throw ServerError("invalid_plan: " + faults.message());
  }
  std::unique_ptr<Store> store = open_or_create_store(options.data, plan ? &*plan : nullptr, so);
  recovery = store->recovery();
  dir = store->dir();
  const tcp::endpoint ep(address, options.port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw ServerError("--listen " + options.host + ":" + std::to_string(options.port) + ": " + ec.message());
  port = acceptor.local_endpoint().port();
  // From here on SIGTERM and SIGINT are the server's (delivered once run() waits for them): a
  // supervisor may signal as soon as it reads the "listening" line.
  if (options.handle_signals) {
    signals.add(SIGTERM);
    signals.add(SIGINT);
  }
  if (options.max_body > EventReader::max_line)
    throw ServerError("--max-body: " + std::to_string(options.max_body) + " is more than the longest event line, " + std::to_string(EventReader::max_line));
  // Replies cross to the I/O threads once per sequencer round: one wake-up for a whole group.
  sequencer = std::make_unique<server::Sequencer>(std::move(store), options, metrics, [this](std::vector<std::unique_ptr<Job>>&& jobs) {
    net::post(ioc, [jobs = std::make_shared<std::vector<std::unique_ptr<Job>>>(std::move(jobs))] {
      for (auto& j : *jobs) j->done(std::move(j->reply));
    });
  });
}

void Server::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      // Out of descriptors, say: try again shortly rather than spin.
      accept_retry.expires_after(std::chrono::milliseconds(50));
      return accept_retry.async_wait([this](beast::error_code) {
        if (!stopping.load()) accept();
      });
    }
    socket.set_option(tcp::no_delay(true), ec);
    const bool refuse = metrics.connections.load(std::memory_order_relaxed) >= options.max_connections;
    std::make_shared<Session>(std::move(socket), *this)->start(refuse);
    accept();
  });
}

void Server::Impl::begin_stop() {
  net::post(control, [this] {
    if (stopping.exchange(true)) return;
    beast::error_code ec;
    acceptor.close(ec);
    accept_retry.cancel();
    signals.cancel(ec);
    for (auto& s : open_sessions()) s->close_if_idle();
    sequencer->stop([this](const std::string& name) {
      // On the sequencer thread: every reply has been handed over.
      net::post(control, [this, name] {
        snapshot = name;
        sequencer->feed().close();
        work.reset();
        finished.store(true);
        // Replies still being written get a moment; then whatever is left is cut.
        grace.expires_after(std::chrono::seconds(5));
        grace.async_wait([this](beast::error_code e) {
          if (!e) ioc.stop();
        });
        auto left = open_sessions();
        for (auto& s : left) s->close_if_idle();
        if (left.empty()) grace.cancel();
      });
    });
  });
}

std::vector<std::shared_ptr<Session>> Server::Impl::open_sessions() {
  std::vector<std::shared_ptr<Session>> open;
  std::lock_guard g(sessions_mu);
  for (auto& [id, w] : sessions)
    if (auto s = w.lock()) open.push_back(std::move(s));
  return open;
}

// With no I/O thread running: closes every connection and runs what that finishes, so that no
// session outlives the server's members.
void Server::Impl::close_all() {
  tearing_down.store(true);
  for (auto& s : open_sessions()) s->close_now();
  ioc.restart();
  ioc.poll();
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  if (impl_ && impl_->sequencer) {
    impl_->sequencer->stop({});
    impl_->sequencer->join();
    impl_->close_all();
  }
}

std::uint16_t Server::port() const noexcept { return impl_->port; }
const Recovery& Server::recovery() const noexcept { return impl_->recovery; }

void Server::stop() { impl_->begin_stop(); }

std::string Server::run() {
  Impl& s = *impl_;
  if (s.options.handle_signals)
    s.signals.async_wait([&s](beast::error_code ec, int) {
      if (!ec) s.begin_stop();
    });
  s.work.emplace(s.ioc.get_executor());
  net::post(s.control, [&s] { s.accept(); });
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < s.options.threads; ++i) threads.emplace_back([&s] { s.ioc.run(); });
  s.ioc.run();
  for (auto& t : threads) t.join();
  s.sequencer->join();
  while (s.catch_ups.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return s.snapshot;
}

}  // namespace upline
