// purchase_profile.cpp — the purchase path alone, for instruction counts and profiles.
//
//   upline_purchase_profile MEMBERS PURCHASES [LEVELS [HISTORY]]
//
// Builds an engine of MEMBERS members (the joins of the `upline generate` workload) on the
// four-tier plan with LEVELS upline levels in every tier (default 10, compression on — the plan of
// BM_Purchase), applies HISTORY purchases of the same workload as they are generated (default 0:
// the orders a shop has already recorded), makes the next PURCHASES purchases, then applies them,
// and only that loop is measured: its wall and CPU time per purchase are printed, and under
// callgrind only it is counted (the loop sits between CALLGRIND_START_INSTRUMENTATION and
// CALLGRIND_STOP_INSTRUMENTATION):
//
//   valgrind --tool=callgrind --instr-atstart=no
//       build/release/bench/upline_purchase_profile 200000 100000   # instructions / 100,000
//   perf record -g build/release/bench/upline_purchase_profile 1000000 2000000
//   build/release/bench/upline_purchase_profile 1000000 1000000 10 100000000   # after 100M orders
#include "tools/workload.hpp"
#include "upline/upline.hpp"

#include <valgrind/callgrind.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

using namespace upline;

namespace {

Plan plan_with_levels(std::size_t levels) {
  PlanFaults faults;
  Plan plan = *Plan::parse(*bundled_plan("four-tier"), faults);
  plan.compression = true;
  for (auto& t : plan.tiers) {
    t.rates.clear();
    for (std::size_t k = 1; k <= levels; ++k) t.rates.push_back(Rate{static_cast<std::int64_t>(50'000 / k)});
  }
  return plan;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MEMBERS PURCHASES [LEVELS [HISTORY]]\n", argv[0]);
    return 2;
  }
  const std::uint64_t members = std::strtoull(argv[1], nullptr, 10), purchases = std::strtoull(argv[2], nullptr, 10);
  const std::size_t levels = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 10;
  const std::uint64_t history = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 0;
  Engine engine(plan_with_levels(levels));
  WorkloadOptions o;
  o.members = members;
  o.purchases = history + purchases;
  o.refund_per_mille = o.redeem_per_mille = 0;
  Workload w(o);
  std::vector<Event> buys;
  buys.reserve(purchases);
  std::vector<Effect> fx;
  std::uint64_t recorded = 0;
  while (!w.done()) {
    Event e = w.next();
    if (std::holds_alternative<Join>(e) || recorded < history) {
      recorded += !std::holds_alternative<Join>(e);
      engine.apply(e, fx);
    } else {
      buys.push_back(std::move(e));
    }
  }
  fx.reserve(64);
  if (std::getenv("UPLINE_WARM")) {
    // A machine whose memory has been used before: the same purchases through a throwaway engine,
    // whose tables are freed before the measured run allocates its own (a virtual machine backs
    // fresh guest memory lazily, and that first touch can cost more than the engine's work).
    Engine warm(plan_with_levels(levels));
    for (const Event& e : buys) warm.apply(e, fx);
  }
  std::uint64_t rejected = 0, effects = 0;
  timespec c0{}, c1{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
  const auto t0 = std::chrono::steady_clock::now();
  const bool batch = std::getenv("UPLINE_BATCH") != nullptr;  // Engine::apply_all instead of one apply() each
  Outcome out;
  CALLGRIND_START_INSTRUMENTATION;
  if (batch) {
    engine.apply_all(buys.data(), buys.size(), out, [&](std::size_t, const Outcome& result) {
      rejected += !result.ok();
      effects += result.effects.size();
    });
  } else {
    for (const Event& e : buys) {
      rejected += !engine.apply(e, fx);
      effects += fx.size();
    }
  }
  CALLGRIND_STOP_INSTRUMENTATION;
  const auto t1 = std::chrono::steady_clock::now();
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
  const double wall = std::chrono::duration<double>(t1 - t0).count();
  const double cpu = static_cast<double>(c1.tv_sec - c0.tv_sec) + static_cast<double>(c1.tv_nsec - c0.tv_nsec) * 1e-9;
  const double n = static_cast<double>(buys.size());
  std::printf("members=%llu history=%llu purchases=%zu levels=%zu rejected=%llu effects_per_purchase=%.2f ns_per_purchase=%.0f cpu_ns_per_purchase=%.0f "
              "purchases_per_s=%.0f digest=%s\n",
              static_cast<unsigned long long>(members), static_cast<unsigned long long>(history), buys.size(), levels, static_cast<unsigned long long>(rejected),
              static_cast<double>(effects) / n, wall * 1e9 / n, cpu * 1e9 / n, n / wall, engine.digest().c_str());
  return 0;
}
