// durability_bench.cpp — figures for the durable engine (Google Benchmark).
//
//   journal append per durability mode    BM_Append/every|group|none      events/s
//   snapshot write and load, size/member  BM_SnapshotWrite, BM_SnapshotLoad (counters: bytes, bytes/member)
//   recovery from snapshot + tail         BM_Recover                      (members, tail events)
//
// Sizes come from the environment so that CI can run a smoke pass in seconds and a person can
// ask for the real thing:
//   UPLINE_BENCH_MEMBERS   members in the recovered/snapshotted state   (default 100000)
//   UPLINE_BENCH_EVENTS    events in the journal for BM_Recover         (default 1000000)
//   UPLINE_BENCH_DIR       where data directories are made              (default /tmp)
// The workload is upline::Simulation (the demo's seeded shop), so runs are reproducible.
#include "tools/simulation.hpp"
#include "upline/store.hpp"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <string>
#include <vector>

namespace {

std::uint64_t env(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

std::string scratch(const std::string& tag) {
  const char* base = std::getenv("UPLINE_BENCH_DIR");
  std::string dir = std::string(base && *base ? base : "/tmp") + "/upline-bench-" + tag + "-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  return dir;
}

// A seeded stream of `n` events with roughly n/11 joins.
std::vector<upline::Event> stream(std::uint64_t members, std::uint64_t purchases) {
  upline::PlanFaults faults;
  upline::Engine shadow(*upline::Plan::parse(*upline::bundled_plan("four-tier"), faults));
  upline::SimulationOptions o;
  o.members = members;
  o.purchases = purchases;
  upline::Simulation sim(o);
  std::vector<upline::Event> out;
  std::vector<upline::Effect> fx;
  while (!sim.done()) {
    out.push_back(sim.next(shadow));
    shadow.apply(out.back(), fx);
  }
  return out;
}

void BM_Append(benchmark::State& state) {
  const auto mode = static_cast<upline::Durability>(state.range(0));
  const std::uint64_t n = mode == upline::Durability::every ? 2'000 : 100'000;
  const auto events = stream(n / 10, n - n / 10);
  std::uint64_t applied = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string dir = scratch("append");
    upline::StoreOptions opt;
    opt.durability = mode;
    auto store = upline::Store::create(dir, *upline::bundled_plan("four-tier"), opt);
    state.ResumeTiming();
    std::size_t since = 0;
    for (const auto& e : events) {
      store->submit(e);
      if (mode != upline::Durability::every && ++since == 512) {  // the CLI's group size
        store->commit();
        since = 0;
      }
    }
    store->commit();
    applied += events.size();
    state.PauseTiming();
    store.reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(applied), benchmark::Counter::kIsRate);
  state.SetLabel(mode == upline::Durability::every ? "every" : mode == upline::Durability::group ? "group" : "none");
}
BENCHMARK(BM_Append)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// An engine with `members` members (and ten purchases each), built once.
const upline::Engine& big_engine() {
  static upline::Engine* engine = [] {
    const std::uint64_t members = env("UPLINE_BENCH_MEMBERS", 100'000);
    upline::PlanFaults faults;
    auto* e = new upline::Engine(*upline::Plan::parse(*upline::bundled_plan("four-tier"), faults));
    upline::SimulationOptions o;
    o.members = members;
    o.purchases = members * 10;
    upline::Simulation sim(o);
    std::vector<upline::Effect> fx;
    while (!sim.done()) e->apply(sim.next(*e), fx);
    return e;
  }();
  return *engine;
}

void BM_SnapshotWrite(benchmark::State& state) {
  const upline::Engine& e = big_engine();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string s = e.save_state();
    bytes = s.size();
    benchmark::DoNotOptimize(s.data());
  }
  state.counters["members"] = static_cast<double>(e.member_count());
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["bytes/member"] = static_cast<double>(bytes) / static_cast<double>(e.member_count());
}
BENCHMARK(BM_SnapshotWrite)->Unit(benchmark::kMillisecond);

void BM_SnapshotLoad(benchmark::State& state) {
  const std::string bytes = big_engine().save_state();
  for (auto _ : state) {
    upline::Engine e = upline::Engine::load_state(bytes);
    benchmark::DoNotOptimize(&e);
  }
  state.counters["bytes"] = static_cast<double>(bytes.size());
}
BENCHMARK(BM_SnapshotLoad)->Unit(benchmark::kMillisecond);

// Recovery as Store::open does it: the newest snapshot, then the journal after it. The journal
// holds UPLINE_BENCH_EVENTS events; the snapshot is taken at 90% of them, so the tail is 10%.
void BM_Recover(benchmark::State& state) {
  const std::uint64_t total = env("UPLINE_BENCH_EVENTS", 1'000'000);
  const std::uint64_t members = env("UPLINE_BENCH_MEMBERS", 100'000);
  const std::string dir = scratch("recover");
  {
    const auto events = stream(members, total > members ? total - members : 1);
    upline::StoreOptions opt;
    opt.durability = upline::Durability::none;
    auto store = upline::Store::create(dir, *upline::bundled_plan("four-tier"), opt);
    const std::size_t cut = events.size() * 9 / 10;
    for (std::size_t i = 0; i < events.size(); ++i) {
      store->submit(events[i]);
      if (i + 1 == cut) store->snapshot();
    }
    store->commit();
  }
  std::uint64_t tail = 0, recovered_members = 0;
  for (auto _ : state) {
    upline::StoreOptions opt;
    opt.durability = upline::Durability::none;
    auto store = upline::Store::open(dir, opt);
    tail = store->recovery().replayed;
    recovered_members = store->engine().member_count();
    benchmark::DoNotOptimize(store.get());
  }
  std::filesystem::remove_all(dir);
  state.counters["members"] = static_cast<double>(recovered_members);
  state.counters["tail_events"] = static_cast<double>(tail);
}
BENCHMARK(BM_Recover)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
