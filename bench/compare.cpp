// compare.cpp — upline and "the limit" on one workload, for bench/compare.
//
//   upline_compare --plan PLAN.json --events EVENTS.jsonl [--dump STATE.json]
//
// Loads and parses every event first (untimed), then:
//   1. a preparation run on a scratch engine records, for every purchase, the buyer's member
//      index, tier at that moment and amount in money units (untimed);
//   2. the measured run applies the events to a fresh engine through Engine::apply, timing each
//      stretch of events of one type (so joins, purchases, refunds and redemptions get their own
//      rates; the clock is read only where the type changes);
//      The whole run is timed as well (`apply_seconds`): the engine's rate on pre-parsed events,
//      which bench/compare sets against `upline replay` end to end;
//   3. the limit: a bare loop over the same member array that, for every purchase, walks the same
//      ancestors in the same matrices (the first len(rates) of each tier the buyer held) and adds
//      amount × rate to two int64 counters of each — the memory traffic of the work, no rules.
// Prints one JSON line with counts, seconds and rates.
#include "upline/door.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace upline;
using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "upline_compare: %s\n", message.c_str());
  std::exit(2);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) die(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

long peak_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

struct Buy {
  std::uint32_t member;
  std::uint32_t tier;
  std::int64_t amount;
};

// The limit's view of one tier's matrix: plain arrays, copied from the engine after the run.
struct LimitTier {
  std::uint32_t width = 0;
  bool arithmetic = true;              // breadth_first: parent = (n-1)/width
  bool dense = false;                  // tier 0: node n is member n
  std::vector<std::uint32_t> node_of;  // member → node (not dense)
  std::vector<std::uint32_t> member_at;  // node → member (not dense)
  std::vector<std::uint32_t> parent;     // node → parent (not arithmetic)
  std::vector<std::int64_t> rates;       // micros
};

}  // namespace

int main(int argc, char** argv) {
  std::string plan_path, events_path, dump_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + ": needs a value");
      return argv[++i];
    };
    if (a == "--plan") plan_path = value();
    else if (a == "--events") events_path = value();
    else if (a == "--dump") dump_path = value();
    else die("unknown option \"" + a + "\" (usage: upline_compare --plan PLAN.json --events EVENTS.jsonl [--dump STATE.json])");
  }
  if (plan_path.empty() || events_path.empty()) die("--plan and --events are required");

  PlanFaults faults;
  auto plan = Plan::parse(read_all(plan_path), faults);
  if (!plan) die(plan_path + ": " + faults.message());

  // Load (untimed).
  std::vector<Event> events;
  std::uint64_t unparsable = 0;
  {
    std::ifstream in(events_path, std::ios::binary);
    if (!in) die(events_path + ": cannot open");
    std::string line;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      ParsedEvent p = parse_event(line);
      if (auto* e = std::get_if<Event>(&p)) events.push_back(std::move(*e));
      else ++unparsable;
    }
  }

  // 1. Preparation run: who bought (member index = join number), at which tier, for how much.
  std::vector<Buy> buys;
  std::uint64_t members = 0;
  {
    Engine prep(*plan);
    IdIndex index;
    std::vector<Effect> fx;
    for (const Event& e : events) {
      if (const auto* p = std::get_if<Purchase>(&e)) {
        const auto tier = prep.tier_of(p->member);
        std::int64_t units = 0;
        if (tier && p->amount.to_units(plan->money_scale, units) == Decimal::Fit::ok && prep.apply(e, fx))
          buys.push_back(Buy{index.find(p->member), *tier, units});
        continue;
      }
      if (prep.apply(e, fx))
        if (const auto* j = std::get_if<Join>(&e)) index.insert(j->member, static_cast<std::uint32_t>(index.size()));
    }
    members = prep.member_count();
  }

  // 2. The measured run.
  enum Kind { join, purchase, refund, redeem, other, kinds };
  double spent[kinds] = {};
  std::uint64_t count[kinds] = {}, accepted[kinds] = {};
  double apply_seconds = 0;  // the whole run, every event: the engine's ingest rate
  Engine engine(*plan);
  {
    std::vector<Effect> fx;
    fx.reserve(1024);
    auto kind_of = [](const Event& e) {
      switch (e.index()) {
        case 0: return join;
        case 1: return purchase;
        case 2: return refund;
        case 3: return redeem;
        default: return other;
      }
    };
    std::size_t i = 0;
    const auto a0 = Clock::now();
    while (i < events.size()) {
      const Kind k = kind_of(events[i]);
      std::size_t j = i;
      std::uint64_t ok = 0;
      const auto t0 = Clock::now();
      for (; j < events.size() && kind_of(events[j]) == k; ++j) ok += engine.apply(events[j], fx);
      const auto t1 = Clock::now();
      spent[k] += seconds(t0, t1);
      count[k] += j - i;
      accepted[k] += ok;
      i = j;
    }
    apply_seconds = seconds(a0, Clock::now());
  }
  const std::string digest = engine.digest();

  // 3. The limit.
  std::vector<LimitTier> tiers(plan->tiers.size());
  for (std::uint32_t t = 0; t < tiers.size(); ++t) {
    const Matrix& mx = engine.matrix(t);
    LimitTier& lt = tiers[t];
    lt.width = mx.width();
    lt.arithmetic = mx.fill() == Fill::breadth_first;
    lt.dense = t == 0;
    for (const Rate& r : plan->tiers[t].rates) lt.rates.push_back(r.micros);
    if (!lt.dense) {
      lt.node_of.assign(members, Matrix::none);
      lt.member_at.resize(mx.size());
      for (Matrix::Node n = 0; n < mx.size(); ++n) {
        lt.member_at[n] = mx.member_at(n);
        lt.node_of[mx.member_at(n)] = n;
      }
    }
    if (!lt.arithmetic) {
      lt.parent.resize(mx.size());
      for (Matrix::Node n = 0; n < mx.size(); ++n) lt.parent[n] = mx.parent(n);
    }
  }
  struct Counter {
    std::int64_t balance = 0, lifetime = 0;
  };
  std::vector<Counter> counters(members);
  const auto l0 = Clock::now();
  for (const Buy& b : buys) {
    counters[b.member].balance += b.amount;
    counters[b.member].lifetime += b.amount;
    for (std::uint32_t t = 0; t <= b.tier; ++t) {
      const LimitTier& lt = tiers[t];
      std::uint32_t n = lt.dense ? b.member : lt.node_of[b.member];
      for (std::size_t k = 0; k < lt.rates.size() && n != 0; ++k) {
        n = lt.arithmetic ? (n - 1) / lt.width : lt.parent[n];
        const std::uint32_t m = lt.dense ? n : lt.member_at[n];
        const std::int64_t c = b.amount * lt.rates[k];
        counters[m].balance += c;
        counters[m].lifetime += c;
      }
    }
  }
  const auto l1 = Clock::now();
  std::int64_t checksum = 0;
  for (const Counter& c : counters) checksum += c.balance + c.lifetime;  // keeps the loop observable

  if (!dump_path.empty()) {
    std::ofstream out(dump_path, std::ios::binary);
    out << dump_json(engine);  // ends with its newline, as `upline replay --dump` writes it
    if (!out) die(dump_path + ": write error");
  }

  const char* names[kinds] = {"join", "purchase", "refund", "redeem", "other"};
  std::printf("{\"members\":%llu,\"events\":%zu,\"unparsable\":%llu", static_cast<unsigned long long>(members), events.size(),
              static_cast<unsigned long long>(unparsable));
  for (int k = 0; k < kinds; ++k)
    std::printf(",\"%ss\":%llu,\"%ss_accepted\":%llu,\"%s_seconds\":%.6f", names[k], static_cast<unsigned long long>(count[k]), names[k],
                static_cast<unsigned long long>(accepted[k]), names[k], spent[k]);
  std::printf(",\"apply_seconds\":%.6f", apply_seconds);
  std::printf(",\"limit_purchases\":%zu,\"limit_seconds\":%.6f,\"limit_checksum\":%lld,\"digest\":\"%s\",\"peak_rss_kb\":%ld}\n", buys.size(),
              seconds(l0, l1), static_cast<long long>(checksum), digest.c_str(), peak_rss_kb());
  return 0;
}
