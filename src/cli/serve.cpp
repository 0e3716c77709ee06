// serve.cpp — `upline serve`: one process owns a data directory and serves it over HTTP
// (upline/server.hpp, docs/SERVER.md).
#include "cli.hpp"

#include "upline/server.hpp"

#include <cstdio>
#include <memory>

namespace upline::cli {

namespace {

struct ServeOptions {
  std::string data, plan, listen = "127.0.0.1:8080", sync = "group", token_file, admin_token_file;
  ServerOptions server;
};

// HOST:PORT, or [V6]:PORT.
void parse_listen(const std::string& s, ServerOptions& o) {
  const auto bad = [&] { fail(exit_usage, "--listen: \"" + s + "\" is not HOST:PORT (an IP address and a port 0..65535)"); };
  const std::size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) bad();
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) bad();
  const unsigned long p = std::stoul(port);
  if (p > 65535) bad();
  o.host = host;
  o.port = static_cast<std::uint16_t>(p);
}

// One token per line; blank lines and lines starting with '#' are skipped. A token is 16 to 4096
// visible ASCII characters. The tokens themselves never appear in a message.
std::vector<std::string> read_tokens(const std::string& path, const char* option) {
  const std::string text = read_file(path);
  std::vector<std::string> tokens;
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    bool visible = true;
    for (unsigned char c : line) visible = visible && c > 0x20 && c < 0x7f;
    if (!visible || line.size() < 16 || line.size() > 4096)
      fail(exit_usage, std::string(option) + " " + path + ", line " + std::to_string(line_no) + ": a token is 16 to 4096 visible ASCII characters (" +
                           std::to_string(line.size()) + " here)");
    tokens.push_back(line);
  }
  if (tokens.empty()) fail(exit_usage, std::string(option) + " " + path + ": no token in the file");
  return tokens;
}

int serve(ServeOptions& o) {
  ServerOptions& s = o.server;
  s.data = o.data;
  parse_listen(o.listen, s);
  const auto d = parse_durability(o.sync);
  if (!d) fail(exit_usage, "--sync: \"" + o.sync + "\" is not group, every or none");
  s.durability = *d;
  if (!o.plan.empty()) load_plan(o.plan, &s.plan_json);
  if (!o.token_file.empty()) s.tokens = read_tokens(o.token_file, "--token-file");
  if (!o.admin_token_file.empty()) s.admin_tokens = read_tokens(o.admin_token_file, "--admin-token-file");
  s.handle_signals = true;
  std::unique_ptr<Server> server;
  try {
    server = std::make_unique<Server>(s);
  } catch (const ServerError& e) {
    fail(exit_usage, e.what());
  }
  for (const auto& n : server->recovery().notes) std::fprintf(stderr, "upline serve: %s\n", n.c_str());
  const std::string host = s.host.find(':') != std::string::npos ? "[" + s.host + "]" : s.host;
  std::printf("listening on http://%s:%u\n", host.c_str(), static_cast<unsigned>(server->port()));
  std::fflush(stdout);
  const std::string snapshot = server->run();
  if (snapshot.empty()) {
    std::fprintf(stderr, "upline serve: stopped; no snapshot was written (the journal has every acknowledged event)\n");
    return exit_usage;
  }
  std::fprintf(stderr, "upline serve: stopped; wrote %s\n", snapshot.c_str());
  return exit_ok;
}

}  // namespace

void add_serve(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* c = app.add_subcommand("serve", "serve a data directory over HTTP to many processes (docs/SERVER.md)");
  set_usage(c,
            "upline serve --data DIR [--plan PLAN.json] [--listen 127.0.0.1:8080] [--sync group|every|none]\n"
            "             [--token-file F] [--admin-token-file F] [--snapshot-every N] [--snapshot-bytes N] [--segment-bytes N] [--threads N] [limits]");
  c->description(
      "One process owns DIR and sequences every client's events into it, answering each only once it\n"
      "is durable (--sync group: one fsync acknowledges every event that arrived while the previous one\n"
      "ran). When ready it prints `listening on http://HOST:PORT` (the real port for port 0).\n"
      "SIGTERM or SIGINT: stop accepting, answer what is in flight, commit, write a snapshot, exit 0.\n"
      "--plan creates DIR; for an existing DIR it may be omitted, and if given must be the plan DIR\n"
      "was created with. Listening on an address other than loopback needs --token-file.\n"
      "Token files hold one token per line (16+ visible characters; '#' starts a comment line).");
  c->add_option("--data", o->data, "the data directory")->required()->type_name("DIR");
  c->add_option("--plan", o->plan, "the plan of a new directory: a file or a bundled name")->type_name("PLAN.json");
  c->add_option("--listen", o->listen, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0: a free one)")->type_name("HOST:PORT");
  c->add_option("--sync", o->sync, "group (default), every or none");
  c->add_option("--token-file", o->token_file, "tokens that may use /v1 (Authorization: Bearer)")->type_name("F");
  c->add_option("--admin-token-file", o->admin_token_file, "tokens that may also send plan, adjust, suspend, reactivate")->type_name("F");
  c->add_option("--snapshot-every", o->server.snapshot_every, "also write a snapshot after every N events (default 0: not by count)")
      ->check(count_in(0, UINT64_MAX));
  c->add_option("--snapshot-bytes", o->server.snapshot_bytes,
                "write a snapshot in the background after N journal bytes (default 134217728; 0: only at shutdown)")
      ->check(count_in(0, UINT64_MAX));
  c->add_option("--segment-bytes", o->server.segment_bytes, "seal a journal segment past N bytes (default 67108864)")->check(count_in(4096, UINT64_MAX));
  c->add_option("--threads", o->server.threads, "I/O threads (default 2)")->check(count_in(1, 256));
  c->add_option("--max-body", o->server.max_body, "bytes of one event (default 1048576, at most 16777216)")->check(count_in(64, 16u << 20));
  c->add_option("--max-batch-body", o->server.max_batch_body, "bytes of a batch (default 67108864)")->check(count_in(64, 1u << 30));
  c->add_option("--max-batch-lines", o->server.max_batch_lines, "lines of a batch (default 100000)")->check(count_in(1, 10'000'000));
  c->add_option("--max-connections", o->server.max_connections, "open connections (default 10000)")->check(count_in(1, 1'000'000));
  c->add_option("--max-queue", o->server.max_queue, "events waiting to be applied before 503 (default 200000)")->check(count_in(1, 100'000'000));
  c->add_option("--idle-timeout", o->server.idle_timeout_ms, "ms a connection may wait between requests (default 60000)")->check(count_in(1, 86'400'000));
  c->add_option("--request-timeout", o->server.request_timeout_ms, "ms to receive a request or send a reply (default 30000)")
      ->check(count_in(1, 86'400'000));
  c->add_option("--read-wait", o->server.read_wait_ms, "ms a ?min_seq= read may wait (default 10000)")->check(count_in(0, 86'400'000));
  c->add_option("--effects-retained", o->server.effects_retained, "recent results kept for /v1/effects (default 100000)")
      ->check(count_in(0, 100'000'000));
  set_body(c, [o] { return serve(*o); });
}

}  // namespace upline::cli
