// engine_bench.cpp — figures for the in-memory engine (Google Benchmark).
//
//   BM_Join/breadth_first, BM_Join/under_sponsor   N joins into an empty engine (tier 0 fill)
//   BM_Purchase/levels:3|10|32                     purchases into an engine of N members, every
//                                                  tier with that many upline levels, compression on
//   BM_Refund/partial, BM_Refund/full              one refund per order ("1.00", or the rest)
//   BM_PromotionHeavy                              purchases under a plan with low thresholds, so
//                                                  that most buyers climb to silver and gold
//   BM_PlanChange/same_rules, /lower_thresholds    one plan event: SPEC §8 over every member
//   BM_Digest                                      Engine::digest() of N members and their orders
//
// Every benchmark reports events_per_s and ns_per_event (for BM_PlanChange and BM_Digest, per
// member), and cpu_ns_per_event: the benchmark thread's CPU time, steadier on a shared machine. Workloads (upline::Workload, the `upline generate` stream) and the engines they start
// from are built outside the timed region; the timed region is the loop of Engine::apply over
// events already in memory. Stateful benchmarks run one iteration (an engine cannot take the same
// orders twice); ask for --benchmark_repetitions=N to see the spread.
//
// Sizes come from the environment, so that CI runs a smoke pass in seconds:
//   UPLINE_BENCH_MEMBERS   members in the engine             (default 1000000)
//   UPLINE_BENCH_EVENTS    purchases / refunds per timed run  (default 1000000)
// Memory per member is measured by bench/memory_probe.cpp (one process per size).
//
// The figures (Release build):
//   build/release/bench/upline_engine_bench --benchmark_out=engine.json --benchmark_out_format=json
//   UPLINE_BENCH_MEMBERS=1000 UPLINE_BENCH_EVENTS=10000 build/release/bench/upline_engine_bench  # smoke
//   build/release/bench/upline_memory_probe 1000000 1000000; build/release/bench/upline_memory_probe 10000000 10000000
#include "upline/upline.hpp"
#include "tools/workload.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using namespace upline;

std::uint64_t env(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}
std::uint64_t bench_members() { return std::max<std::uint64_t>(2, env("UPLINE_BENCH_MEMBERS", 1'000'000)); }
std::uint64_t bench_events() { return std::max<std::uint64_t>(1, env("UPLINE_BENCH_EVENTS", 1'000'000)); }

Plan parse(std::string_view text) {
  PlanFaults faults;
  auto p = Plan::parse(text, faults);
  if (!p) throw std::runtime_error("invalid_plan: " + faults.message());
  return *p;
}

Plan four_tier() { return parse(*bundled_plan("four-tier")); }

// The four-tier plan with `levels` upline rates in every tier (5% / k for level k), compression on.
Plan with_levels(std::size_t levels) {
  Plan p = four_tier();
  p.name = "four-tier, " + std::to_string(levels) + " levels";
  p.compression = true;
  for (auto& t : p.tiers) {
    t.rates.clear();
    for (std::size_t k = 1; k <= levels; ++k) t.rates.push_back(Rate{static_cast<std::int64_t>(50'000 / k)});
  }
  return p;
}

Plan under_sponsor() {
  Plan p = four_tier();
  p.tiers[0].fill = Fill::under_sponsor;
  return p;
}

// Low thresholds: silver at 30 lifetime points (about one basket), gold at 150 and one silver
// referral, platinum at 600 and one gold referral.
Plan promotion_heavy() {
  Plan p = four_tier();
  p.name = "four-tier, low thresholds";
  p.tiers[1].promote_at = PromoteAt{Points{3'000}, std::nullopt, std::nullopt};
  p.tiers[2].promote_at = PromoteAt{Points{15'000}, DirectReferrals{1, 1}, std::nullopt};
  p.tiers[3].promote_at = PromoteAt{Points{60'000}, DirectReferrals{1, 2}, std::nullopt};
  return p;
}

WorkloadOptions workload_options(std::uint64_t members, std::uint64_t purchases, bool refunds_and_redemptions) {
  WorkloadOptions o;
  o.members = members;
  o.purchases = purchases;
  if (!refunds_and_redemptions) o.refund_per_mille = o.redeem_per_mille = 0;
  return o;
}

// The Workload's joins (the same for every plan), generated once per size.
const std::vector<Join>& joins(std::uint64_t members) {
  static std::map<std::uint64_t, std::vector<Join>> cache;
  auto it = cache.find(members);
  if (it != cache.end()) return it->second;
  std::vector<Join> out;
  out.reserve(members);
  Workload w(workload_options(members, 0, false));
  while (!w.done()) out.push_back(std::get<Join>(w.next()));
  return cache.emplace(members, std::move(out)).first->second;
}

// What follows the joins in the Workload: purchases only, or the full mix.
std::vector<Event> after_joins(std::uint64_t members, std::uint64_t purchases, bool mix) {
  std::vector<Event> out;
  out.reserve(purchases + (mix ? purchases / 30 : 0));
  Workload w(workload_options(members, purchases, mix));
  while (!w.done()) {
    Event e = w.next();
    if (!std::holds_alternative<Join>(e)) out.push_back(std::move(e));
  }
  return out;
}

Engine joined(Plan plan, std::uint64_t members) {
  Engine engine(std::move(plan));
  std::vector<Effect> fx;
  for (const Join& j : joins(members)) engine.apply(Event{j}, fx);
  return engine;
}

struct Tally {
  std::uint64_t events = 0, rejected = 0, effects = 0, promotions = 0;
  double seconds = 0;      // wall clock
  double cpu_seconds = 0;  // this thread's CPU time: steadier than the wall clock on a busy machine
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Applies `events` (Events, or Joins) to `engine`, timed.
template <class Events>
Tally apply_all(Engine& engine, const Events& events) {
  Tally t;
  std::vector<Effect> fx;
  fx.reserve(64);
  const double c0 = thread_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& e : events) {
    bool ok;
    if constexpr (std::is_same_v<std::decay_t<decltype(e)>, Event>) ok = engine.apply(e, fx);
    else ok = engine.apply(Event{e}, fx);  // a Join: 24 bytes to copy
    t.rejected += !ok;
    t.effects += fx.size();
    for (const Effect& x : fx) t.promotions += x.type == EffectType::promoted;
  }
  const auto t1 = std::chrono::steady_clock::now();
  t.cpu_seconds = thread_cpu_seconds() - c0;
  t.events = events.size();
  t.seconds = std::chrono::duration<double>(t1 - t0).count();
  return t;
}

void report(benchmark::State& state, const Tally& t, const Engine& engine) {
  state.SetIterationTime(t.seconds);
  state.counters["events_per_s"] = benchmark::Counter(static_cast<double>(t.events), benchmark::Counter::kIsRate);
  state.counters["ns_per_event"] = t.events ? t.seconds * 1e9 / static_cast<double>(t.events) : 0.0;
  state.counters["cpu_ns_per_event"] = t.events ? t.cpu_seconds * 1e9 / static_cast<double>(t.events) : 0.0;
  state.counters["events"] = static_cast<double>(t.events);
  state.counters["rejected"] = static_cast<double>(t.rejected);
  state.counters["effects_per_event"] = t.events ? static_cast<double>(t.effects) / static_cast<double>(t.events) : 0.0;
  state.counters["members"] = static_cast<double>(engine.member_count());
}

// ---- joins -----------------------------------------------------------------------------------

void BM_Join(benchmark::State& state, Fill fill) {
  const std::uint64_t members = bench_members();
  const auto& js = joins(members);
  for (auto _ : state) {
    Engine engine(fill == Fill::breadth_first ? four_tier() : under_sponsor());
    const Tally t = apply_all(engine, js);
    report(state, t, engine);
    state.counters["promotions"] = static_cast<double>(t.promotions);
  }
}
BENCHMARK_CAPTURE(BM_Join, breadth_first, Fill::breadth_first)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Join, under_sponsor, Fill::under_sponsor)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

// ---- purchases by depth ----------------------------------------------------------------------

void BM_Purchase(benchmark::State& state) {
  const auto levels = static_cast<std::size_t>(state.range(0));
  const std::uint64_t members = bench_members();
  const auto purchases = after_joins(members, bench_events(), false);
  for (auto _ : state) {
    Engine engine = joined(with_levels(levels), members);
    const Tally t = apply_all(engine, purchases);
    report(state, t, engine);
    state.counters["promotions"] = static_cast<double>(t.promotions);
  }
}
BENCHMARK(BM_Purchase)->ArgName("levels")->Arg(3)->Arg(10)->Arg(32)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

// ---- refunds ---------------------------------------------------------------------------------

void BM_Refund(benchmark::State& state, bool partial) {
  const std::uint64_t members = bench_members(), orders = bench_events();
  const auto purchases = after_joins(members, orders, false);
  std::vector<Event> refunds;
  refunds.reserve(orders);
  for (std::uint64_t n = 0; n < orders; ++n) {
    Refund r{Workload::order_id(n), std::nullopt, 0};
    if (partial) r.amount = *Decimal::parse("1.00");
    refunds.emplace_back(std::move(r));
  }
  // The orders span years of workload time (one event a minute): without a refund window, every
  // order stays refundable when the refunds come, at the engine clock.
  Plan plan = four_tier();
  plan.refund_window_days.reset();
  for (auto _ : state) {
    Engine engine = joined(plan, members);
    apply_all(engine, purchases);
    const Tally t = apply_all(engine, refunds);
    report(state, t, engine);
  }
}
BENCHMARK_CAPTURE(BM_Refund, partial, true)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Refund, full, false)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

// ---- promotions ------------------------------------------------------------------------------

void BM_PromotionHeavy(benchmark::State& state) {
  const std::uint64_t members = bench_members();
  const auto purchases = after_joins(members, bench_events(), false);
  for (auto _ : state) {
    Engine engine = joined(promotion_heavy(), members);
    const Tally t = apply_all(engine, purchases);
    report(state, t, engine);
    state.counters["promotions"] = static_cast<double>(t.promotions);
    const auto census = engine.census();
    for (std::size_t k = 1; k < census.size(); ++k)
      state.counters[engine.tier_name(static_cast<std::uint32_t>(k))] = static_cast<double>(census[k]);
  }
}
BENCHMARK(BM_PromotionHeavy)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

// ---- engines with members and orders ---------------------------------------------------------

// The state of N members after the full Workload mix (purchases, refunds, redemptions), built once.
const std::string& shop_state() {
  static const std::string bytes = [] {
    const std::uint64_t members = bench_members();
    Engine engine = joined(four_tier(), members);
    apply_all(engine, after_joins(members, bench_events(), true));
    return engine.save_state();
  }();
  return bytes;
}

void BM_PlanChange(benchmark::State& state, bool lower_thresholds) {
  Plan next = four_tier();
  next.version = 2;
  if (lower_thresholds) {
    next.tiers[1].promote_at->lifetime_points = Points{10'000};  // silver at 100.00 instead of 1000.00
    next.tiers[1].promote_at->direct_referrals.reset();
  }
  const Event change{PlanChange{std::make_shared<const Plan>(std::move(next)), "bench", 0}};
  for (auto _ : state) {
    Engine engine = Engine::load_state(shop_state());
    Tally t = apply_all(engine, std::vector<Event>{change});
    // Per member: the plan event is SPEC §8 over every member.
    const double members = static_cast<double>(engine.member_count());
    state.SetIterationTime(t.seconds);
    state.counters["members_per_s"] = benchmark::Counter(members, benchmark::Counter::kIsRate);
    state.counters["ns_per_member"] = t.seconds * 1e9 / members;
    state.counters["cpu_ns_per_member"] = t.cpu_seconds * 1e9 / members;
    state.counters["members"] = members;
    state.counters["promotions"] = static_cast<double>(t.promotions);
    state.counters["rejected"] = static_cast<double>(t.rejected);
  }
}
BENCHMARK_CAPTURE(BM_PlanChange, same_rules, false)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PlanChange, lower_thresholds, true)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_Digest(benchmark::State& state) {
  const Engine engine = Engine::load_state(shop_state());
  for (auto _ : state) {
    std::string d = engine.digest();
    benchmark::DoNotOptimize(d.data());
  }
  const double members = static_cast<double>(engine.member_count());
  state.counters["members"] = members;
  state.counters["orders"] = static_cast<double>(engine.order_count());
  state.counters["members_per_s"] = benchmark::Counter(members, benchmark::Counter::kIsRate | benchmark::Counter::kIsIterationInvariant);
}
BENCHMARK(BM_Digest)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
