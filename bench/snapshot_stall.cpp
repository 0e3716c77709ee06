// snapshot_stall.cpp — what a snapshot costs the writer: the latency of Store::submit() while a
// snapshot is being written in the background (a forked child, store.hpp start_snapshot), next to
// the latency with no snapshot, and the stall of a snapshot written in the calling thread.
//
//   upline_snapshot_stall [MEMBERS [PURCHASES [SUBMITS]]]     (default 1000000 10000000 2000000)
//
// Loads a store (durability none, in a temporary directory) with a `upline generate` workload
// (tools/workload.hpp) of MEMBERS and PURCHASES, then submits more purchases from the same stream
// and records each submit's latency: SUBMITS with no snapshot; then as many while a background
// snapshot is written (started once, the submits go on until the child is done); then one
// snapshot in the calling thread. Prints p50 / p99 / p99.9 / max of each phase and the last line
//   snapshot_stall members=… orders=… idle_p99_us=… during_p99_us=… during_max_us=… fork_us=…
//   background_s=… foreground_s=… snapshot_bytes=…
// A benchmark: it measures and reports, it asserts nothing but that the snapshots verify.
#include "tools/workload.hpp"
#include "upline/door.hpp"
#include "upline/snapshot.hpp"
#include "upline/store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using namespace upline;
using Clock = std::chrono::steady_clock;

struct Stats {
  std::vector<double> us;
  double at(double q) {
    if (us.empty()) return 0;
    std::sort(us.begin(), us.end());
    return us[std::min(us.size() - 1, static_cast<std::size_t>(q * static_cast<double>(us.size())))];
  }
  void print(const char* name) {
    const double max = us.empty() ? 0 : *std::max_element(us.begin(), us.end());
    std::printf("%-34s %9zu submits  p50 %7.2f us  p99 %8.2f us  p99.9 %9.2f us  max %10.1f us\n", name, us.size(), at(0.5), at(0.99), at(0.999), max);
  }
};

double since(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
  WorkloadOptions wo;
  wo.members = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  wo.purchases = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10'000'000;
  const std::uint64_t submits = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 2'000'000;
  wo.purchases += 4 * submits;  // the stream goes on past the load for the measured phases
  const std::string dir = (std::filesystem::temp_directory_path() / ("upline-stall-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  Workload w(wo);
  StoreOptions so;
  so.durability = Durability::none;
  so.snapshot_bytes = 0;
  auto store = Store::create(dir, std::string(*bundled_plan("four-tier")), so);
  const auto t_load = Clock::now();
  std::uint64_t loaded = 0;
  while (!w.done() && (store->engine().member_count() < wo.members || store->engine().order_count() < wo.purchases - 4 * submits)) {
    store->submit(w.next());
    if (++loaded % 65536 == 0) store->commit();
  }
  store->commit();
  std::fprintf(stderr, "loaded %llu events in %.1f s: %zu members, %zu orders\n", static_cast<unsigned long long>(loaded),
               since(t_load) / 1e6, store->engine().member_count(), store->engine().order_count());

  Stats idle, during;
  for (std::uint64_t i = 0; i < submits && !w.done(); ++i) {
    const Event e = w.next();
    const auto t0 = Clock::now();
    store->submit(e);
    idle.us.push_back(since(t0));
  }
  // Background: the submit that forks is measured as the fork.
  const auto t_fork = Clock::now();
  const std::uint64_t seq = store->start_snapshot();
  const double fork_us = since(t_fork);
  const auto t_bg = Clock::now();
  while (store->snapshot_in_progress() && !w.done()) {
    const Event e = w.next();
    const auto t0 = Clock::now();
    store->submit(e);
    during.us.push_back(since(t0));
  }
  store->finish_snapshot();
  const double background_s = since(t_bg) / 1e6;
  // Foreground, for comparison: the calling thread writes it (what every writer waited for before).
  const auto t_fg = Clock::now();
  const std::string name = store->snapshot();
  const double foreground_s = since(t_fg) / 1e6;
  const std::uint64_t bytes = std::filesystem::file_size(dir + "/" + name);
  const std::size_t members = store->engine().member_count(), orders = store->engine().order_count();
  for (const auto& n : store->recovery().notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  store.reset();
  const Verification v = verify(dir);
  std::filesystem::remove_all(dir);
  if (!v.ok) {
    for (const auto& l : v.lines) std::fprintf(stderr, "%s\n", l.c_str());
    std::fprintf(stderr, "FAILED: the snapshots do not verify\n");
    return 1;
  }
  std::printf("state: %zu members, %zu orders; snapshot %llu bytes; background snapshot of sequence %llu\n", members, orders,
              static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(seq));
  idle.print("submit, no snapshot");
  during.print("submit, background snapshot");
  std::printf("%-34s %.1f us\n", "fork (start_snapshot)", fork_us);
  std::printf("%-34s %.2f s (the writer went on)\n", "background snapshot written in", background_s);
  std::printf("%-34s %.2f s (the writer waited)\n", "foreground snapshot", foreground_s);
  std::printf("snapshot_stall members=%zu orders=%zu idle_p99_us=%.2f during_p99_us=%.2f during_max_us=%.1f fork_us=%.1f background_s=%.2f "
              "foreground_s=%.2f snapshot_bytes=%llu\n",
              members, orders, idle.at(0.99), during.at(0.99), during.us.empty() ? 0.0 : *std::max_element(during.us.begin(), during.us.end()),
              fork_us, background_s, foreground_s, static_cast<unsigned long long>(bytes));
  return 0;
}
