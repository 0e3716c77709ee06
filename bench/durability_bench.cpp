// durability_bench.cpp — figures for the durable engine (Google Benchmark).
//
//   journal append per durability mode    BM_Append/every|group|none      events/s
//   snapshot write and load (format 3)    BM_SnapshotWrite, BM_SnapshotLoad, BM_SnapshotLoadNoDigest,
//                                         BM_SnapshotDigest (the digest alone), BM_SnapshotReadFile (the
//                                         file read and nothing else): bytes_per_second of the file's
//                                         size, counters bytes, bytes/member
//   format 2's state bytes                BM_StateBytesSave, BM_StateBytesLoad
// The snapshot benchmarks report wall time, and as CPU time that of every thread of the process
// (the digest runs on two more), steadier on a shared machine.
//   recovery from snapshot + tail         BM_Recover                      (members, tail events)
//
// Sizes come from the environment so that CI can run a smoke pass in seconds and a person can
// ask for the real thing:
//   UPLINE_BENCH_MEMBERS   members in the recovered/snapshotted state   (default 100000)
//   UPLINE_BENCH_EVENTS    events in the journal for BM_Recover         (default 1000000)
//   UPLINE_BENCH_DIR       where data directories are made              (default /tmp)
// The workload is upline::Simulation (the demo's seeded shop), so runs are reproducible.
#include "tools/simulation.hpp"
#include "upline/snapshot.hpp"
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

// The snapshot file of big_engine(), written once into the bench directory (and so in the page
// cache when the loads read it).
const std::string& snapshot_file() {
  static const std::string& path = *new std::string([] {  // never destroyed: the atexit below reads it
    const std::string dir = scratch("snapshot");
    std::filesystem::create_directories(dir);
    const std::string p = dir + "/" + upline::snapshot_name(1);
    upline::FileSystem& fs = upline::posix_file_system();
    const int fd = fs.create(p);
    upline::write_snapshot(fs, fd, big_engine().state(), 1);
    fs.close(fd);
    std::atexit([] { std::filesystem::remove_all(std::filesystem::path(snapshot_file()).parent_path()); });
    return p;
  }());
  return path;
}

void size_counters(benchmark::State& state, std::uint64_t bytes) {
  const upline::Engine& e = big_engine();
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * static_cast<std::int64_t>(state.iterations()));
  state.counters["members"] = static_cast<double>(e.member_count());
  state.counters["orders"] = static_cast<double>(e.order_count());
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["bytes/member"] = static_cast<double>(bytes) / static_cast<double>(e.member_count());
}

// write_snapshot to a file (format 3: the tables in bulk, the digest computed meanwhile), without
// fsync: what a background snapshot costs before the disk.
void BM_SnapshotWrite(benchmark::State& state) {
  const upline::Engine& e = big_engine();
  const std::string path = snapshot_file() + ".w";
  upline::FileSystem& fs = upline::posix_file_system();
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    const int fd = fs.create(path);
    upline::write_snapshot(fs, fd, e.state(), 1);
    fs.close(fd);
    state.PauseTiming();
    bytes = std::filesystem::file_size(path);
    std::filesystem::remove(path);
    state.ResumeTiming();
  }
  size_counters(state, bytes);
}
BENCHMARK(BM_SnapshotWrite)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();

// read_snapshot of that file, every check and the digest's.
void BM_SnapshotLoad(benchmark::State& state) {
  const std::string& path = snapshot_file();
  for (auto _ : state) {
    std::uint64_t seq = 0;
    upline::Engine e(upline::read_snapshot(upline::posix_file_system(), path, seq));
    benchmark::DoNotOptimize(&e);
  }
  size_counters(state, std::filesystem::file_size(path));
}
BENCHMARK(BM_SnapshotLoad)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();

// The same without recomputing the digest (every section's CRC and every value still checked).
void BM_SnapshotLoadNoDigest(benchmark::State& state) {
  const std::string& path = snapshot_file();
  for (auto _ : state) {
    std::uint64_t seq = 0;
    upline::Engine e(upline::read_snapshot(upline::posix_file_system(), path, seq, upline::DigestCheck::skip));
    benchmark::DoNotOptimize(&e);
  }
  size_counters(state, std::filesystem::file_size(path));
}
BENCHMARK(BM_SnapshotLoadNoDigest)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();

// The digest alone (state.hpp digest: the canonical stream walked and hashed on two threads); the
// bytes are the snapshot file's, so that its rate compares with the loads'.
void BM_SnapshotDigest(benchmark::State& state) {
  const upline::Engine& e = big_engine();
  for (auto _ : state) {
    std::string d = e.digest();
    benchmark::DoNotOptimize(d.data());
  }
  size_counters(state, std::filesystem::file_size(snapshot_file()));
}
BENCHMARK(BM_SnapshotDigest)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();

// Reading the file and nothing else (like `cat FILE > /dev/null`): the floor of a load.
void BM_SnapshotReadFile(benchmark::State& state) {
  const std::string& path = snapshot_file();
  upline::FileSystem& fs = upline::posix_file_system();
  std::vector<char> buf(std::size_t{4} << 20);
  for (auto _ : state) {
    const int fd = fs.open_read(path);
    std::uint64_t at = 0;
    while (const std::size_t got = fs.read_at(fd, at, buf.data(), buf.size())) at += got;
    fs.close(fd);
    benchmark::DoNotOptimize(at);
  }
  size_counters(state, std::filesystem::file_size(path));
}
BENCHMARK(BM_SnapshotReadFile)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();

// Format 2's state bytes (state.hpp save_state / load_state), which snapshots held before format 3.
void BM_StateBytesSave(benchmark::State& state) {
  const upline::Engine& e = big_engine();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string s = e.save_state();
    bytes = s.size();
    benchmark::DoNotOptimize(s.data());
  }
  size_counters(state, bytes);
}
BENCHMARK(BM_StateBytesSave)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();

void BM_StateBytesLoad(benchmark::State& state) {
  const std::string bytes = big_engine().save_state();
  for (auto _ : state) {
    upline::Engine e = upline::Engine::load_state(bytes);
    benchmark::DoNotOptimize(&e);
  }
  size_counters(state, bytes.size());
}
BENCHMARK(BM_StateBytesLoad)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();

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
