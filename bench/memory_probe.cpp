// memory_probe.cpp — resident memory per member and per order, one process per size.
//
//   upline_memory_probe MEMBERS [PURCHASES] [--plan four-tier|deep]
//
// Streams upline::Workload into an engine (events are never kept, so what grows is the engine):
// first the MEMBERS joins, then PURCHASES purchases (with the Workload's refunds and redemptions).
// After each phase it reads VmRSS and VmHWM from /proc/self/status and prints the growth over the
// process's baseline divided by the members (after the joins) and by the orders (after the
// purchases). Run one process per size, so that peaks of different sizes never mix:
//   for n in 1000000 10000000; do build/release/bench/upline_memory_probe $n $((n * 10)); done
// Linux only (/proc); elsewhere it prints 0s.
#include "upline/upline.hpp"
#include "tools/workload.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace {

struct Rss {
  std::uint64_t rss_kb = 0, hwm_kb = 0;
};

Rss read_rss() {
  Rss r;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) r.rss_kb = std::strtoull(line.c_str() + 6, nullptr, 10);
    if (line.rfind("VmHWM:", 0) == 0) r.hwm_kb = std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return r;
}

void print(const char* phase, const Rss& base, const Rss& now, std::uint64_t divisor, const char* per) {
  const double rss = static_cast<double>(now.rss_kb - base.rss_kb) * 1024.0;
  const double hwm = static_cast<double>(now.hwm_kb - base.rss_kb) * 1024.0;
  const double d = divisor ? static_cast<double>(divisor) : 1.0;
  std::printf("%-16s VmRSS %10llu kB  VmHWM %10llu kB  %8.1f bytes/%s (resident)  %8.1f bytes/%s (peak)\n", phase,
              static_cast<unsigned long long>(now.rss_kb), static_cast<unsigned long long>(now.hwm_kb), rss / d, per, hwm / d, per);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace upline;
  std::string plan_name = "four-tier";
  std::uint64_t counts[2] = {0, 0};
  int given = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--plan") == 0 && i + 1 < argc) {
      plan_name = argv[++i];
    } else if (given < 2 && argv[i][0] >= '0' && argv[i][0] <= '9') {
      counts[given++] = std::strtoull(argv[i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: upline_memory_probe MEMBERS [PURCHASES] [--plan four-tier|deep]\n");
      return 2;
    }
  }
  if (given < 1 || counts[0] < 1 || (plan_name != "four-tier" && plan_name != "deep")) {
    std::fprintf(stderr, "usage: upline_memory_probe MEMBERS [PURCHASES] [--plan four-tier|deep]\n");
    return 2;
  }
  PlanFaults faults;
  auto plan = Plan::parse(plan_name == "deep" ? *bundled_plan("deep") : *bundled_plan("four-tier"), faults);
  if (!plan) return 1;

  WorkloadOptions o;
  o.members = counts[0];
  o.purchases = counts[1];
  const Rss base = read_rss();
  Engine engine(std::move(*plan));
  Workload w(o);
  std::vector<Effect> fx;
  std::uint64_t rejected = 0;
  while (w.joins() < o.members) rejected += !engine.apply(w.next(), fx);
  // The workload's sponsor table (4 bytes/member) is released after the last join: only the
  // engine remains (the peak includes the table).
  const Rss joined = read_rss();
  std::printf("upline_memory_probe: plan %s, %llu members, %llu purchases\n", plan_name.c_str(),
              static_cast<unsigned long long>(o.members), static_cast<unsigned long long>(o.purchases));
  std::printf("baseline         VmRSS %10llu kB\n", static_cast<unsigned long long>(base.rss_kb));
  print("after joins", base, joined, engine.member_count(), "member");
  if (o.purchases > 0) {
    while (!w.done()) rejected += !engine.apply(w.next(), fx);
    const Rss bought = read_rss();
    print("after purchases", base, bought, engine.member_count(), "member");
    const double orders = static_cast<double>(engine.order_count());
    std::printf("%-16s %8.1f bytes/order (resident growth over the joins, %llu orders)\n", "orders",
                static_cast<double>(bought.rss_kb - joined.rss_kb) * 1024.0 / orders,
                static_cast<unsigned long long>(engine.order_count()));
  }
  std::printf("events %llu, rejected %llu, digest %s\n", static_cast<unsigned long long>(w.emitted()),
              static_cast<unsigned long long>(rejected), engine.digest().c_str());
  return 0;
}
