// request_fuzz.cpp — a fuzz target for what the server reads from a socket before the sequencer
// sees anything: Beast's request parser with the server's limits, then the request target's and
// the Authorization header's readers (src/server/target.hpp), exactly as server.cpp calls them.
//
// Findings (abort): an exception escaping; a parsed target with an empty segment or a NUL byte; a
// decoded segment longer than its text; parse_seq accepting what does not print back the same
// (leading zeros aside) or a value above INT64_MAX; a bearer token that is empty, has spaces at
// either end, or is not part of the header.
#include "server/target.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

namespace http = boost::beast::http;
using namespace upline::server;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "request_fuzz: FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

void check_target(std::string_view t) {
  std::string why;
  const auto parsed = parse_target(t, why);
  if (!parsed) {
    if (why.empty()) finding("a refused target without a reason");
    return;
  }
  for (const auto& s : parsed->segments) {
    if (s.empty()) finding("an empty segment");
    if (s.find('\0') != std::string::npos) finding("a NUL byte in a segment");
    if (s.size() > t.size()) finding("a segment longer than the target");
  }
  for (const auto& [k, v] : parsed->query) {
    if (const auto n = parse_seq(v)) {
      if (*n > static_cast<std::uint64_t>(INT64_MAX)) finding("a sequence number above INT64_MAX");
      std::string_view digits = v;
      while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
      if (std::to_string(*n) != digits) finding("parse_seq(\"" + v + "\") printed back as " + std::to_string(*n));
    }
    (void)k;
  }
}

void check_bearer(std::string_view h) {
  const auto t = bearer_token(h);
  if (!t) return;
  if (t->empty() || t->front() == ' ' || t->back() == ' ') finding("a bearer token with spaces at an end");
  if (t->data() < h.data() || t->data() + t->size() > h.data() + h.size()) finding("a bearer token outside its header");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The readers alone, on the raw bytes (a target or header value can hold anything Beast lets by).
  check_target(bytes);
  check_bearer(bytes);
  http::request_parser<http::string_body> parser;
  parser.header_limit(16u << 10);
  parser.body_limit(1u << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec || !parser.is_header_done()) return 0;
  const auto& req = parser.get();
  check_target(std::string_view(req.target().data(), req.target().size()));
  const auto auth = req.find(http::field::authorization);
  if (auth != req.end()) check_bearer(std::string_view(auth->value().data(), auth->value().size()));
  return 0;
}
