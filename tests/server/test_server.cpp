// test_server.cpp — `upline serve` in process: a real server on a loopback port, real HTTP clients
// (Boost.Beast, blocking, one thread each). Also built with ThreadSanitizer in CI (.ci/test).
#include "server/sequencer.hpp"
#include "server/target.hpp"
#include "upline/server.hpp"
#include "upline/store.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace upline;

namespace {

const char* const plan = R"({"name":"srv","shops":{"main":{"ratio":"1"}},
  "tiers":[{"name":"bronze","width":2,"rates":["0.05","0.03"]},
           {"name":"silver","width":2,"rates":["0.05"],"promote_at":{"lifetime_points":"1000"}}]})";

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> n{0};
    path = fs::temp_directory_path() / ("upline-server-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A server on its own thread, stopped (and its run() joined) at scope exit.
struct Running {
  std::unique_ptr<Server> server;
  std::thread thread;
  std::string snapshot;
  explicit Running(ServerOptions o) {
    o.host = "127.0.0.1";
    o.port = 0;
    server = std::make_unique<Server>(std::move(o));
    thread = std::thread([this] { snapshot = server->run(); });
  }
  std::string stop() {
    if (thread.joinable()) {
      server->stop();
      thread.join();
    }
    return snapshot;
  }
  ~Running() { stop(); }
  std::uint16_t port() const { return server->port(); }
};

ServerOptions options(const TempDir& d) {
  ServerOptions o;
  o.data = d.path.string();
  o.plan_json = plan;
  o.threads = 2;
  return o;
}

// A blocking keep-alive client.
class Client {
 public:
  explicit Client(std::uint16_t port) : stream_(ioc_) { stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port)); }
  http::response<http::string_body> request(http::verb verb, const std::string& target, const std::string& body = {},
                                            const std::string& token = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (verb == http::verb::post) {
      req.body() = body;
      req.prepare_payload();
    }
    stream_.expires_after(std::chrono::seconds(60));
    http::write(stream_, req);
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res);
    return res;
  }
  std::string post(const std::string& target, const std::string& body, const std::string& token = {}) {
    return request(http::verb::post, target, body, token).body();
  }
  std::string get(const std::string& target) { return request(http::verb::get, target).body(); }
  beast::tcp_stream& stream() { return stream_; }

 private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

std::string join(std::int64_t m, std::int64_t sponsor = 0) {
  return R"({"type":"join","member":)" + std::to_string(m) + R"(,"sponsor":)" + (sponsor ? std::to_string(sponsor) : "null") + R"(,"at":1000})";
}
std::string purchase(const std::string& order, std::int64_t m) {
  return R"({"type":"purchase","order":")" + order + R"(","member":)" + std::to_string(m) + R"(,"shop":"main","amount":"10.00","at":2000})";
}

// The value of a top-level field of a one-line JSON object, crudely: enough for our own replies.
std::string field(const std::string& json, const std::string& name) {
  const std::string key = "\"" + name + "\":";
  const std::size_t at = json.find(key);
  if (at == std::string::npos) return {};
  std::size_t v = at + key.size();
  if (json[v] == '"') return json.substr(v + 1, json.find('"', v + 1) - v - 1);
  std::size_t end = json.find_first_of(",}", v);
  return json.substr(v, end - v);
}

// A raw exchange: sends bytes, returns what comes back until the server closes or `limit` passes.
std::string raw(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  net::write(s, net::buffer(bytes));
  s.expires_after(limit);
  std::string out;
  beast::error_code ec;
  char buf[4096];
  for (;;) {
    const std::size_t n = s.read_some(net::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

}  // namespace

TEST_CASE("serve: events, reads, batch, status, dump equal to the store's") {
  TempDir d;
  Running r(options(d));
  Client c(r.port());
  CHECK(c.get("/healthz") == "{\"status\":\"ok\"}\n");
  CHECK(c.post("/v1/events", join(1)) ==
        R"({"seq":1,"status":"ok","effects":[{"type":"placed","member":1,"tier":"bronze","parent":null,"position":0}]})"
        "\n");
  CHECK(c.post("/v1/events", join(1) + "\n") == R"({"seq":2,"status":"member_exists","effects":[],"message":"member: 1 has already joined"})"
                                                 "\n");
  const std::string batch = c.post("/v1/events/batch", join(2, 1) + "\n\n" + purchase("A1", 2) + "\r\nnot json\n");
  CHECK(batch ==
        R"({"seq":3,"status":"ok","effects":[{"type":"placed","member":2,"tier":"bronze","parent":1,"position":0}]})"
        "\n"
        R"({"seq":4,"status":"ok","effects":[{"type":"credit","member":2,"points":"10.00","kind":"own"},{"type":"credit","member":1,"points":"0.50","kind":"upline","tier":"bronze","level":1}]})"
        "\n"
        R"({"seq":5,"status":"invalid_event","effects":[],"message":"not valid JSON: a word that is not true, false or null"})"
        "\n");
  auto res = c.request(http::verb::get, "/v1/members/1?min_seq=5");
  CHECK(res.result_int() == 200);
  CHECK(res["Upline-Seq"] == "5");
  CHECK(res.body().find(R"("balance":"0.50")") != std::string::npos);
  CHECK(res.body().find(R"("referrals":1,"benefits":{},"progress":)") != std::string::npos);
  CHECK(c.get("/v1/plan").find(R"("name":"srv")") != std::string::npos);
  CHECK(Client(r.port()).request(http::verb::head, "/healthz").result_int() == 405);  // (and the connection closes)
  CHECK(res.body().find(R"("progress":{"tier":"silver","criteria":[{"criterion":"lifetime_points","have":"0.50","need":"1000.00","met":false}]})") !=
        std::string::npos);
  CHECK(c.get("/v1/orders/A1") ==
        R"({"id":"A1","member":2,"shop":"main","amount":"10.00","refunded":"0.00","at":2000,"credits":[{"member":2,"points":"10.00","clawed_back":"0.00"},{"member":1,"points":"0.50","clawed_back":"0.00"}]})"
        "\n");
  CHECK(c.request(http::verb::get, "/v1/orders/B%2F1").result_int() == 404);
  CHECK(c.request(http::verb::get, "/v1/members/99").result_int() == 404);
  CHECK(c.request(http::verb::get, "/v1/members/x").result_int() == 400);
  CHECK(c.get("/v1/members/1/rank-card") ==
        R"({"member":1,"tier":"bronze","status":"active","benefits":{},"next":{"tier":"silver","criteria":[{"criterion":"lifetime_points","have":"0.50","need":"1000.00","met":false}],"eligible":false,"benefits":{}}})"
        "\n");
  CHECK(c.request(http::verb::get, "/v1/members/99/rank-card").result_int() == 404);
  CHECK(c.request(http::verb::get, "/v1/members/x/rank-card").result_int() == 400);
  CHECK(c.request(http::verb::post, "/v1/members/1/rank-card", "").result_int() == 405);
  CHECK(c.request(http::verb::get, "/v1/nothing").result_int() == 404);
  CHECK(c.request(http::verb::delete_, "/v1/status").result_int() == 405);
  CHECK(c.request(http::verb::get, "/v1/status?bogus=1").result_int() == 400);
  CHECK(c.request(http::verb::get, "/v1/status?min_seq=-1").result_int() == 400);
  CHECK(c.request(http::verb::post, "/v1/events", "").result_int() == 400);
  CHECK(c.request(http::verb::post, "/v1/events", join(7) + "\n" + join(8)).result_int() == 400);  // two lines: use the batch
  const std::string status = c.get("/v1/status");
  CHECK(field(status, "seq") == "5");
  CHECK(field(status, "durable_seq") == "5");
  CHECK(field(status, "applied") == "3");
  CHECK(field(status, "rejected") == "2");
  const std::string dump = c.get("/v1/dump");
  const std::string digest = field(status, "digest");
  CHECK(digest.size() == 64);
  CHECK(c.get("/metrics").find("upline_events_total{status=\"ok\"} 3") != std::string::npos);
  const std::string snap = r.stop();
  CHECK(snap == "snapshot-00000000000000000005.snap");
  CHECK(fs::exists(d.path / snap));
  // Reopened: the same state, byte for byte.
  auto store = Store::open(d.path.string());
  CHECK(store->last_seq() == 5);
  CHECK(store->engine().digest() == digest);
  CHECK(dump_json(store->engine()) == dump);
}

TEST_CASE("serve: a member's statement, from the journal, while events go on") {
  TempDir d;
  Running r(options(d));
  Client c(r.port());
  c.post("/v1/events", join(1));
  c.post("/v1/events", join(2, 1));
  c.post("/v1/events", purchase("A1", 2));  // at 2000: 2 +10.00 own, 1 +0.50 upline
  c.post("/v1/events", R"({"type":"adjust","member":1,"points":"2.00","actor":"desk","reason":"late parcel","at":3000})");
  CHECK(field(c.post("/v1/events", R"({"type":"redeem","member":1,"points":"1.00","ref":"R1","at":4000})"), "status") == "ok");
  const std::string want =
      R"({"member":1,"from":2000,"until":4000,"through_seq":4,"opening_balance":"0.00","credits":"2.50","debits":"0.00","closing_balance":"2.50","lines":[)"
      R"({"seq":3,"at":2000,"type":"credit","kind":"upline","points":"0.50","balance":"0.50","order":"A1","buyer":2,"shop":"main","amount":"10.00","tier":"bronze","level":1,"rate":"0.05","multiplier":"1"},)"
      R"({"seq":4,"at":3000,"type":"credit","kind":"adjust","points":"2.00","balance":"2.50","actor":"desk","reason":"late parcel"}]})"
      "\n";
  CHECK(c.get("/v1/members/1/statement?from=@2000&until=1970-01-01T00:00:04Z") == want);
  const std::string all = c.get("/v1/members/1/statement");
  CHECK(field(all, "through_seq") == "5");
  CHECK(field(all, "closing_balance") == "1.50");
  CHECK(all.find(R"({"seq":5,"at":4000,"type":"debit","kind":"redeem","points":"1.00","balance":"1.50","ref":"R1"})") != std::string::npos);
  // Refusals name what is wrong.
  CHECK(c.request(http::verb::get, "/v1/members/99/statement").result_int() == 404);
  CHECK(c.request(http::verb::get, "/v1/members/x/statement").result_int() == 400);
  auto res = c.request(http::verb::get, "/v1/members/1/statement?from=2026-02-30");
  CHECK(res.result_int() == 400);
  CHECK(res.body().find(R"(from: \"2026-02-30\" is not a time)") != std::string::npos);
  res = c.request(http::verb::get, "/v1/members/1/statement?from=@5&until=@4");
  CHECK(res.result_int() == 400);
  CHECK(res.body().find("until: 4 is before from (5)") != std::string::npos);
  CHECK(c.request(http::verb::get, "/v1/status?from=1").result_int() == 400);
  // Bounds are read from first whatever their order in the query, and each once.
  res = c.request(http::verb::get, "/v1/members/1/statement?until=bad&from=worse");
  CHECK(res.result_int() == 400);
  CHECK(res.body().find(R"(from: \"worse\" is not a time)") != std::string::npos);
  res = c.request(http::verb::get, "/v1/members/1/statement?from=9&until=50&from=1");
  CHECK(res.result_int() == 400);
  CHECK(res.body().find("from: given twice") != std::string::npos);
  CHECK(c.request(http::verb::post, "/v1/members/1/statement", "").result_int() == 405);

  // While a writer appends, every statement is whole: its lines add up, and it covers at least what
  // was acknowledged before it was asked for.
  std::atomic<std::uint64_t> acked{5};
  std::thread writer([&] {
    Client w(r.port());
    for (int i = 0; i < 120; ++i) {
      const std::string answer = w.post("/v1/events", purchase("W" + std::to_string(i), 2));
      acked.store(std::stoull(field(answer, "seq")));
    }
  });
  for (int i = 0; i < 30; ++i) {
    const std::uint64_t before = acked.load();
    const std::string st = c.get("/v1/members/1/statement");
    CHECK(std::stoull(field(st, "through_seq")) >= before);
    const auto units = [](const std::string& v) { return std::stoll(v.substr(0, v.find('.'))) * 100 + std::stoll(v.substr(v.find('.') + 1)); };
    CHECK(units(field(st, "opening_balance")) + units(field(st, "credits")) - units(field(st, "debits")) == units(field(st, "closing_balance")));
  }
  writer.join();
  const std::string last = c.get("/v1/members/1/statement");
  CHECK(field(last, "through_seq") == "125");
  CHECK(field(last, "closing_balance") == "61.50");  // 1.50 + 120 × 0.50
  r.stop();
  // The same bytes from the directory itself.
  std::string direct;
  append_statement_json(direct, member_statement(d.path.string(), 1, std::nullopt, std::nullopt));
  CHECK(direct + "\n" == last);
}

TEST_CASE("serve: a statement that reaches into archived history is 410, not a retry") {
  TempDir d;
  {
    StoreOptions so;
    so.durability = Durability::none;
    so.segment_bytes = 4096;
    auto store = Store::create(d.path.string(), plan, so);
    store->submit(join(1));
    for (int i = 2; i < 200; ++i) store->submit(join(i, 1));
    store->commit();
    store->snapshot();
  }
  const Archived a = archive_journal(d.path.string(), (d.path / "archive").string());
  REQUIRE(!a.moved.empty());
  Running r(options(d));
  Client c(r.port());
  auto res = c.request(http::verb::get, "/v1/members/1/statement");
  CHECK(res.result_int() == 410);
  CHECK(res.body().find("archived") != std::string::npos);
  // A period after the oldest snapshot needs nothing archived.
  CHECK(c.request(http::verb::get, "/v1/members/1/statement?from=@1001").result_int() == 200);
}

TEST_CASE("serve: 500 concurrent connections, every acknowledged event is in the state; a raced order id is accepted once") {
  TempDir d;
  ServerOptions o = options(d);
  Running r(o);
  {
    Client c(r.port());
    std::string members;
    for (int m = 1; m <= 100; ++m) members += join(m, m > 1 ? 1 : 0) + "\n";
    c.post("/v1/events/batch", members);
  }
  constexpr int clients = 500, per_client = 4;
  std::mutex mu;
  std::map<std::uint64_t, std::string> acked;  // seq → order id
  std::vector<std::string> race_status;
  std::atomic<int> errors{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      try {
        Client c(r.port());
        ready.fetch_add(1);
        while (ready.load() < clients) std::this_thread::yield();  // every connection open at once
        for (int k = 0; k < per_client; ++k) {
          const std::string id = "o-" + std::to_string(t) + "-" + std::to_string(k);
          const std::string res = c.post("/v1/events", purchase(id, 1 + (t * per_client + k) % 100));
          std::lock_guard g(mu);
          if (field(res, "status") == "ok") acked.emplace(std::stoull(field(res, "seq")), id);
          else ++errors;
        }
        const std::string res = c.post("/v1/events", purchase("RACE", 1 + t % 100));
        std::lock_guard g(mu);
        race_status.push_back(field(res, "status"));
      } catch (const std::exception&) {
        ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(errors.load() == 0);
  CHECK(acked.size() == clients * per_client);
  CHECK(std::count(race_status.begin(), race_status.end(), "ok") == 1);
  CHECK(std::count(race_status.begin(), race_status.end(), "duplicate_order") == clients - 1);
  Client c(r.port());
  const std::string status = c.get("/v1/status");
  CHECK(field(status, "seq") == std::to_string(100 + clients * per_client + clients));
  CHECK(field(status, "orders") == std::to_string(clients * per_client + 1));
  for (const auto& [seq, id] : acked) REQUIRE(c.request(http::verb::get, "/v1/orders/" + id).result_int() == 200);
  // Group commit: fewer fsyncs than events.
  const std::string metrics = c.get("/metrics");
  const std::size_t at = metrics.find("upline_commit_batch_events_count ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stoull(metrics.substr(at + 33)) < 100 + clients * per_client + clients);
}

TEST_CASE("serve: who may do what") {
  TempDir d;
  ServerOptions o = options(d);
  const std::string user = "user-token-0123456789", admin = "admin-token-0123456789";
  o.tokens = {user};
  o.admin_tokens = {admin};
  Running r(o);
  Client c(r.port());
  CHECK(c.request(http::verb::post, "/v1/events", join(1)).result_int() == 401);
  CHECK(c.request(http::verb::post, "/v1/events", join(1), "wrong-token-0123456789").result_int() == 401);
  CHECK(c.request(http::verb::get, "/v1/status").result_int() == 401);
  CHECK(c.request(http::verb::get, "/healthz").result_int() == 200);  // open: load balancers
  CHECK(c.request(http::verb::post, "/v1/events", join(1), user).result_int() == 200);
  const std::string adjust = R"({"type":"adjust","member":1,"points":"5.00","actor":"ops","reason":"gift","at":3000})";
  auto res = c.request(http::verb::post, "/v1/events", adjust, user);
  CHECK(res.result_int() == 403);
  CHECK(res.body().find("adjust event needs the admin token") != std::string::npos);
  // A batch with one admin event is refused whole: nothing applied.
  CHECK(c.request(http::verb::post, "/v1/events/batch", join(2, 1) + "\n" + adjust + "\n", user).result_int() == 403);
  CHECK(c.request(http::verb::get, "/v1/members/2", {}, user).result_int() == 404);  // the refused batch's join
  res = c.request(http::verb::post, "/v1/events", adjust, admin);
  CHECK(res.result_int() == 200);
  CHECK(field(res.body(), "seq") == "2");  // the refused ones took no sequence number
  CHECK(field(res.body(), "status") == "ok");
}

TEST_CASE("serve: bad clients get a 4xx and change nothing; slow ones hold no one back") {
  TempDir d;
  ServerOptions o = options(d);
  o.max_body = 1024;
  o.max_batch_body = 4096;
  o.max_batch_lines = 10;
  o.max_header = 2048;
  o.request_timeout_ms = 1500;
  o.idle_timeout_ms = 1500;
  Running r(o);
  CHECK(raw(r.port(), "GARBAGE\r\n\r\n").rfind("HTTP/1.1 400", 0) == 0);
  CHECK(raw(r.port(), "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n").rfind("HTTP/1.1 400", 0) == 0);
  CHECK(raw(r.port(), "GET /v1/status HTTP/1.1\r\nX: " + std::string(4000, 'a') + "\r\n\r\n").rfind("HTTP/1.1 431", 0) == 0);
  const std::string big(2000, ' ');
  std::string reply = raw(r.port(), "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + big);
  CHECK(reply.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(reply.find("--max-body") != std::string::npos);
  Client c(r.port());
  std::string lines;
  for (int i = 0; i < 11; ++i) lines += join(100 + i) + "\n";
  CHECK(c.request(http::verb::post, "/v1/events/batch", lines).result_int() == 413);  // 11 lines > 10
  // A client that sends half a request and stalls is cut after the request timeout; meanwhile the
  // others are served.
  net::io_context ioc;
  beast::tcp_stream slow(ioc);
  slow.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), r.port()));
  net::write(slow, net::buffer(std::string("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"type\"")));
  for (int i = 0; i < 20; ++i) CHECK(field(c.post("/v1/events", join(1 + i, i ? 1 : 0)), "status") == "ok");
  slow.expires_after(std::chrono::seconds(10));
  char buf[64];
  beast::error_code ec;
  slow.read_some(net::buffer(buf), ec);
  CHECK(ec == net::error::eof);  // closed by the server, not by our 10 s limit
  // Nothing of the above reached the journal but the 20 joins.
  Client c2(r.port());
  CHECK(field(c2.get("/v1/status"), "seq") == "20");
}

TEST_CASE("serve: GET ?min_seq waits for the write; /v1/effects streams results as they become durable") {
  TempDir d;
  ServerOptions o = options(d);
  o.effects_retained = 3;  // the stream's start falls out of the window: read from the journal
  Running r(o);
  Client writer(r.port());
  for (int m = 1; m <= 6; ++m) writer.post("/v1/events", join(m, m > 1 ? 1 : 0));
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Client w(r.port());
    w.post("/v1/events", join(7, 1));
  });
  Client reader(r.port());
  auto res = reader.request(http::verb::get, "/v1/members/7?min_seq=7");
  late.join();
  CHECK(res.result_int() == 200);
  CHECK(res["Upline-Seq"] == "7");
  // The stream: events 2..7 (from the journal: the window holds 5..7), then one more live.
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), r.port()));
  http::request<http::empty_body> req{http::verb::get, "/v1/effects?after=1", 11};
  http::write(s, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> p;
  p.body_limit(1u << 20);
  s.expires_after(std::chrono::seconds(20));
  http::read_header(s, buf, p);
  CHECK(p.get()[http::field::transfer_encoding] == "chunked");
  writer.post("/v1/events", join(8, 1));
  std::string got;
  while (got.find("\"seq\":8,") == std::string::npos) {
    http::read_some(s, buf, p);
    got = p.get().body();
  }
  std::vector<std::string> seqs;
  for (std::size_t at = 0; (at = got.find("{\"seq\":", at)) != std::string::npos; ++at) seqs.push_back(field(got.substr(at), "seq"));
  CHECK(seqs == std::vector<std::string>{"2", "3", "4", "5", "6", "7", "8"});
}

TEST_CASE("serve: refuses to start with another plan, or off loopback without a token") {
  TempDir d;
  { Running r(options(d)); }
  ServerOptions o = options(d);
  o.plan_json = R"({"name":"other","shops":{"main":{"ratio":"1"}},"tiers":[{"name":"bronze","width":2,"rates":["0.05"]}]})";
  CHECK_THROWS_WITH_AS(Server{o}, doctest::Contains("differs from the plan the directory was created with"), StoreError);
  o.plan_json.clear();  // an existing directory opens without a plan
  CHECK_NOTHROW(Server{o});
  o.host = "0.0.0.0";
  CHECK_THROWS_WITH_AS(Server{o}, doctest::Contains("is not a loopback address: give --token-file"), ServerError);
  o.host = "no.such.address";
  CHECK_THROWS_WITH_AS(Server{o}, doctest::Contains("is not an IP address"), ServerError);
}

TEST_CASE("serve: request targets and tokens") {
  using namespace upline::server;
  std::string why;
  auto t = parse_target("/v1/orders/A%2FB%20c?min_seq=5&&x=%41", why);
  REQUIRE(t);
  CHECK(t->segments == std::vector<std::string>{"v1", "orders", "A/B c"});
  CHECK(t->query == std::vector<std::pair<std::string, std::string>>{{"min_seq", "5"}, {"x", "A"}});
  CHECK_FALSE(parse_target("v1", why));
  CHECK_FALSE(parse_target("/a%2", why));
  CHECK_FALSE(parse_target("/a%zz", why));
  CHECK_FALSE(parse_target("/a%00", why));
  CHECK(parse_seq("0") == 0u);
  CHECK(parse_seq("9223372036854775807") == 9223372036854775807u);
  CHECK_FALSE(parse_seq("9223372036854775808"));
  CHECK_FALSE(parse_seq("+1"));
  CHECK_FALSE(parse_seq(""));
  CHECK(parse_member_id("-5") == -5);
  CHECK_FALSE(parse_member_id("-"));
  CHECK(bearer_token("Bearer abc") == std::string_view("abc"));
  CHECK(bearer_token("bearer  abc ") == std::string_view("abc"));
  CHECK_FALSE(bearer_token("Basic abc"));
  CHECK_FALSE(bearer_token("Bearer "));
  TokenSet set({"alpha-token", "beta-token"});
  CHECK(set.contains("beta-token"));
  CHECK_FALSE(set.contains("beta-toke"));
  CHECK_FALSE(set.contains(""));
  CHECK_FALSE(TokenSet().contains("x"));
}

TEST_CASE("serve: --sync every and none acknowledge and stream the same results") {
  for (Durability mode : {Durability::every, Durability::none}) {
    CAPTURE(static_cast<int>(mode));
    TempDir d;
    ServerOptions o = options(d);
    o.durability = mode;
    Running r(o);
    Client c(r.port());
    std::string want;
    for (int m = 1; m <= 3; ++m) want += c.post("/v1/events", join(m, m > 1 ? 1 : 0));
    CHECK(field(c.get("/v1/status"), "durable_seq") == "3");
    net::io_context ioc;
    beast::tcp_stream s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), r.port()));
    http::request<http::empty_body> req{http::verb::get, "/v1/effects?after=0", 11};
    http::write(s, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> p;
    s.expires_after(std::chrono::seconds(20));
    http::read_header(s, buf, p);
    while (p.get().body().size() < want.size()) http::read_some(s, buf, p);
    CHECK(p.get().body() == want);
  }
}

namespace {

// The real file system, whose fsync fails on demand.
class FailingSync final : public FileSystem {
 public:
  std::atomic<bool> fail{false};
  bool exists(const std::string& p) override { return real().exists(p); }
  std::string read(const std::string& p) override { return real().read(p); }
  int open_read(const std::string& p) override { return real().open_read(p); }
  std::size_t read_at(int fd, std::uint64_t o, char* b, std::size_t n) override { return real().read_at(fd, o, b, n); }
  std::uint64_t file_size(int fd) override { return real().file_size(fd); }
  std::vector<std::string> list(const std::string& d) override { return real().list(d); }
  void make_dir(const std::string& p) override { real().make_dir(p); }
  int open_append(const std::string& p, bool c) override { return real().open_append(p, c); }
  int create(const std::string& p) override { return real().create(p); }
  void write(int fd, std::string_view d) override { real().write(fd, d); }
  void sync(int fd) override {
    if (fail.load()) throw StoreError(StoreError::Kind::io, "journal: fsync failed: Input/output error (injected)");
    real().sync(fd);
  }
  void close(int fd) override { real().close(fd); }
  void truncate(const std::string& p, std::uint64_t n) override { real().truncate(p, n); }
  void rename(const std::string& a, const std::string& b) override { real().rename(a, b); }
  void sync_dir(const std::string& d) override { real().sync_dir(d); }
  void remove(const std::string& p) override { real().remove(p); }
  int lock(const std::string& p) override { return real().lock(p); }

 private:
  static FileSystem& real() { return posix_file_system(); }
};

// A job whose reply is kept, and a way to wait for it.
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<server::Reply> replies;
  std::unique_ptr<server::Job> job(server::Job::Kind kind, std::string body) {
    auto j = std::make_unique<server::Job>();
    j->kind = kind;
    j->body = std::move(body);
    j->done = [this](server::Reply&& r) {
      std::lock_guard g(mu);
      replies.push_back(std::move(r));
      cv.notify_all();
    };
    return j;
  }
  void wait_for(std::size_t n) {
    std::unique_lock lk(mu);
    REQUIRE(cv.wait_for(lk, std::chrono::seconds(30), [&] { return replies.size() >= n; }));
  }
};

}  // namespace

TEST_CASE("sequencer: a full queue refuses (503), a failed fsync answers 503 and stops the store") {
  TempDir d;
  FailingSync fsys;
  StoreOptions so;
  so.durability = Durability::group;
  so.fs = &fsys;
  ServerOptions o = options(d);
  o.max_queue = 3;
  server::Metrics metrics;
  server::Sequencer seq(Store::create(d.path.string(), plan, so), o, metrics);
  Waiter w;
  // Hold the sequencer inside a read until the queue has been filled.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto hold = w.job(server::Job::Kind::read, {});
  std::atomic<bool> holding{false};
  hold->read = [&](server::Sequencer&) {
    holding = true;
    released.wait();
    return server::Reply{};
  };
  REQUIRE(seq.submit(hold));
  while (!holding.load()) std::this_thread::yield();
  for (int m = 1; m <= 3; ++m) {
    auto j = w.job(server::Job::Kind::event, join(m, m > 1 ? 1 : 0));
    REQUIRE(seq.submit(j));
  }
  auto refused = w.job(server::Job::Kind::event, join(4, 1));
  CHECK_FALSE(seq.submit(refused));
  CHECK(refused);  // not taken: the caller answers 503
  release.set_value();
  w.wait_for(4);
  CHECK(seq.last_seq() == 3);
  CHECK(seq.healthy());
  // Now the fsync fails: the event it should have covered is answered 503, and so is every later one.
  fsys.fail = true;
  auto j = w.job(server::Job::Kind::event, join(5, 1));
  REQUIRE(seq.submit(j));
  w.wait_for(5);
  CHECK(w.replies[4].status == 503);
  CHECK(w.replies[4].body.find("not durable: journal: fsync failed") != std::string::npos);
  CHECK_FALSE(seq.healthy());
  j = w.job(server::Job::Kind::event, join(6, 1));
  REQUIRE(seq.submit(j));
  w.wait_for(6);
  CHECK(w.replies[5].status == 503);
  CHECK(w.replies[5].body.find("the store stopped") != std::string::npos);
  // A read waits for no durability that cannot come: answered 503 at once.
  auto read = w.job(server::Job::Kind::read, {});
  read->read = [](server::Sequencer&) { return server::Reply{}; };
  REQUIRE(seq.submit(read));
  w.wait_for(7);
  CHECK(w.replies[6].status == 503);
  seq.stop({});
  seq.join();
  // What was acknowledged is there after a reopen.
  fsys.fail = false;
  auto store = Store::open(d.path.string());
  CHECK(store->last_seq() >= 3);
}
