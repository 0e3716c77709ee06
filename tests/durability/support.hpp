// support.hpp — shared by the durability tests (test_journal, test_store, the crash loop): a temporary
// directory, a deterministic event stream with rejections of every sort, and an in-memory replay
// that applies a line exactly the way upline::Store does.
#pragma once

#include "upline/engine.hpp"
#include "upline/door.hpp"
#include "tools/simulation.hpp"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace upline::testing {

/// A fresh directory under /tmp (mkdtemp), removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const char* tag = "upline-test") {
    std::string templ = std::string("/tmp/") + tag + "-XXXXXX";
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed for " + templ);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const noexcept { return path_; }
  /// A path inside the directory.
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r\n") != std::string::npos) lines.push_back(line);
  return lines;
}

/// Applies events the way Store does: a line that does not parse is a rejection counted by the
/// engine; everything else goes through Engine::apply.
class Replayer {
 public:
  explicit Replayer(std::string_view plan_json) : engine_(parse_plan(plan_json)) {}
  Code apply(std::string_view line) {
    Rejection why;
    return engine_.apply(reader_.read(line), fx_, &why) ? Code::ok : why.code;
  }
  const Engine& engine() const noexcept { return engine_; }
  std::string digest() const { return engine_.digest(); }
 private:
  EventReader reader_;

 public:

  static Plan parse_plan(std::string_view json) {
    PlanFaults faults;
    auto p = Plan::parse(json, faults);
    if (!p) throw std::runtime_error("invalid plan: " + faults.message());
    return std::move(*p);
  }

 private:
  Engine engine_;
  std::vector<Effect> fx_;
};

/// The digest after the first `n` lines.
inline std::string replay_digest(std::string_view plan_json, const std::vector<std::string>& lines, std::size_t n) {
  Replayer r(plan_json);
  for (std::size_t i = 0; i < n && i < lines.size(); ++i) r.apply(lines[i]);
  return r.digest();
}

/// A plan and its event stream as JSON lines, with the expected code of each line.
struct Stream {
  std::string plan;
  std::vector<std::string> lines;
  std::vector<Code> codes;
  std::size_t rejected() const {
    std::size_t n = 0;
    for (Code c : codes) n += c != Code::ok;
    return n;
  }
};

/// upline::Simulation (the demo shop) with rejections and every event kind mixed in: text that is
/// not JSON, a plan event without a plan, duplicate orders and refs, unknown members dated far in
/// the future, malformed amounts, adjustments, suspensions, reactivations and a plan change.
inline Stream make_stream(std::uint64_t members, std::uint64_t purchases, std::uint64_t seed = 42) {
  Stream s;
  s.plan = std::string(*bundled_plan("four-tier"));
  Replayer shadow(s.plan);
  SimulationOptions o;
  o.members = members;
  o.purchases = purchases;
  o.seed = seed;
  Simulation sim(o);
  Rng rng(seed * 7919 + 1);
  Time last_at = o.start;
  bool plan_changed = false;
  std::vector<MemberId> joined;
  auto push = [&](std::string line) {
    s.codes.push_back(shadow.apply(line));
    s.lines.push_back(std::move(line));
  };
  std::uint64_t k = 0;
  while (!sim.done()) {
    Event e = sim.next(shadow.engine());
    last_at = event_time(e);
    if (const auto* j = std::get_if<Join>(&e)) joined.push_back(j->member);
    push(event_json(e));
    ++k;
    if (joined.size() < 3) continue;
    const MemberId someone = joined[rng.below(joined.size())];
    const std::string at = std::to_string(last_at);
    switch (rng.below(24)) {
      case 0: push("not json at all"); break;
      case 1: push(R"({"type":"purchase","order":"o-0","member":)" + std::to_string(someone) + R"(,"shop":"main","amount":"10.00","at":)" + at + "}"); break;
      case 2:  // rejected (unknown member) and dated a day after everything else
        push(R"({"type":"purchase","order":"future-)" + std::to_string(k) + R"(","member":999999999,"shop":"main","amount":"10.00","at":)" +
             std::to_string(last_at + Engine::day_ms) + "}");
        break;
      case 3:
        push(R"({"type":"adjust","member":)" + std::to_string(someone) + R"(,"points":"5.00","actor":"ops","reason":"goodwill","at":)" + at + "}");
        break;
      case 4: push(R"({"type":"redeem","member":)" + std::to_string(someone) + R"(,"points":"0.01","ref":"r-1","at":)" + at + "}"); break;
      case 5: push(R"({"type":"purchase","order":"bad-)" + std::to_string(k) + R"(","member":)" + std::to_string(someone) + R"(,"shop":"main","amount":"12.3.4","at":)" + at + "}"); break;
      case 6:
        push(R"({"type":"suspend","member":)" + std::to_string(someone) + R"(,"at":)" + at + "}");
        push(R"({"type":"reactivate","member":)" + std::to_string(someone) + R"(,"at":)" + at + "}");
        break;
      case 7: push(R"({"type":"plan","actor":"ops","at":)" + at + "}"); break;
      case 8: push(R"({"type":"refund","order":"no-such-order","at":)" + at + "}"); break;
      case 9:
        if (!plan_changed && k > (members + purchases) / 3) {
          plan_changed = true;
          Plan p = Replayer::parse_plan(s.plan);
          p.version = 2;
          push(event_json(PlanChange{std::make_shared<const Plan>(std::move(p)), "ops", last_at}));
        }
        break;
      default: break;
    }
  }
  return s;
}

}  // namespace upline::testing
