// demo.cpp — `upline demo`: a seeded, reproducible shop on the bundled four-tier plan.
//
// The simulation and the engine are deterministic; only the reported time (and the progress
// bar, on a terminal) depend on the machine.
#include "cli.hpp"

#include "tools/simulation.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <unistd.h>

namespace upline::cli {

namespace {

class Progress {
 public:
  Progress(bool on, std::uint64_t total) : on_(on), total_(total ? total : 1) {}
  void update(std::uint64_t done) {
    if (!on_) return;
    const std::uint64_t pct = done * 100 / total_;
    if (pct == last_) return;
    last_ = pct;
    const int width = 40;
    const int filled = static_cast<int>(pct * width / 100);
    std::fprintf(stderr, "\r  [%.*s%*s] %3d%%", filled, "########################################", width - filled, "", static_cast<int>(pct));
    std::fflush(stderr);
  }
  void finish() {
    if (on_) std::fputs("\r\033[K", stderr);
  }

 private:
  bool on_;
  std::uint64_t total_;
  std::uint64_t last_ = ~0ULL;
};


struct DemoOptions {
  SimulationOptions sim;
  std::string plan = "four-tier";
  std::uint64_t top = 10;
  bool no_progress = false;
};

int demo(DemoOptions& d) {
  const SimulationOptions& o = d.sim;
  const std::uint64_t top = d.top;
  const bool progress = !d.no_progress && isatty(fileno(stderr)) != 0;
  Plan plan = load_plan(d.plan);
  if (!plan.find_shop("main") || !plan.find_shop("outlet"))
    fail(exit_usage, "--plan: \"" + d.plan + "\" lacks the shops \"main\" and \"outlet\" that the simulation buys in");

  Engine engine(std::move(plan));
  const Plan& p = engine.plan();
  const std::size_t tiers = p.tiers.size();
  std::vector<std::int64_t> own(tiers, 0), upline(tiers, 0);
  std::int64_t clawed = 0, redeemed = 0;  // the simulation makes no adjustments
  std::int64_t spent = 0, refunded = 0;  // money units
  std::uint64_t promotions = 0, rewards = 0, rejected = 0, events = 0;

  Simulation sim(o);
  Progress bar(progress, sim.planned());
  std::vector<Effect> fx;
  const auto t0 = std::chrono::steady_clock::now();
  while (!sim.done()) {
    Event ev = sim.next(engine);
    std::int64_t money = 0;  // purchase amount, or what the order had refunded before
    std::uint32_t buyer_tier = 0;  // own points count under the tier held when buying
    if (auto* pu = std::get_if<Purchase>(&ev)) {
      pu->amount.to_units(p.money_scale, money);
      buyer_tier = engine.tier_of(pu->member).value_or(0);
    }
    if (auto* r = std::get_if<Refund>(&ev)) money = engine.order(r->order)->refunded.units;
    if (!engine.apply(ev, fx)) {
      ++rejected;
    } else {
      if (std::holds_alternative<Purchase>(ev)) spent += money;
      if (auto* r = std::get_if<Refund>(&ev)) refunded += engine.order(r->order)->refunded.units - money;
      for (const Effect& e : fx) {
        switch (e.type) {
          case EffectType::credit:
            if (e.kind == Kind::own) own[buyer_tier] += e.points;
            else if (e.kind == Kind::upline) upline[e.tier] += e.points;
            break;
          case EffectType::debit:
            if (e.kind == Kind::clawback) clawed += e.points;
            else if (e.kind == Kind::redeem) redeemed += e.points;
            break;
          case EffectType::promoted: ++promotions; break;
          case EffectType::reward: ++rewards; break;
          case EffectType::placed: break;
        }
      }
    }
    if ((++events & 4095) == 0) bar.update(events);
  }
  const auto t1 = std::chrono::steady_clock::now();
  bar.finish();
  const double seconds = std::chrono::duration<double>(t1 - t0).count();

  fmt::print("upline demo — plan \"{}\", seed {}\n", p.name, o.seed);
  fmt::print("  {} members, {} purchases, {} events ({} rejected, as a live shop would see)\n\n", engine.member_count(), engine.order_count(), events, rejected);

  const auto census = engine.census();
  fmt::print("  {:<12} {:>10} {:>18} {:>18}\n", "tier", "members", "own points", "upline points");
  std::int64_t issued = 0;
  for (std::size_t t = 0; t < tiers; ++t) {
    fmt::print("  {:<12} {:>10} {:>18} {:>18}\n", p.tiers[t].name, census[t], format_units(own[t], p.points_scale),
               format_units(upline[t], p.points_scale));
    issued += own[t] + upline[t];
  }
  const std::int64_t net = issued - clawed;
  const std::int64_t net_money = spent - refunded;
  fmt::print("\n  points issued  {} (clawed back {}, redeemed {})\n", format_units(issued, p.points_scale), format_units(clawed, p.points_scale),
             format_units(redeemed, p.points_scale));
  fmt::print("  money spent    {} (refunded {})\n", format_units(spent, p.money_scale), format_units(refunded, p.money_scale));
  if (net_money > 0) {
    // Exact: net points per net money unit, rounded half to even to 4 decimals.
    const int256 num = int256(net) * pow10(p.money_scale) * 10'000;
    const int256 den = int256(net_money) * pow10(p.points_scale);
    fmt::print("  payout ratio   {} points per money unit (net of refunds)\n",
               format_units(static_cast<std::int64_t>(round_half_even(num, den)), 4));
  }
  fmt::print("  promotions     {}, rewards granted {}\n\n", promotions, rewards);

  // Top earners by lifetime points, ties by id.
  std::vector<std::uint32_t> idx(engine.member_count());
  std::iota(idx.begin(), idx.end(), 0u);
  const std::size_t k = std::min<std::size_t>(top, idx.size());
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(), [&](std::uint32_t a, std::uint32_t b) {
    const auto &ra = engine.record_at(a), &rb = engine.record_at(b);
    return ra.lifetime != rb.lifetime ? ra.lifetime > rb.lifetime : ra.id < rb.id;
  });
  if (k > 0) {
    fmt::print("  top {} earners\n  {:>4} {:>10} {:<10} {:>16} {:>16} {:>9}\n", k, "#", "member", "tier", "lifetime", "balance", "referrals");
    for (std::size_t i = 0; i < k; ++i) {
      const auto& r = engine.record_at(idx[i]);
      fmt::print("  {:>4} {:>10} {:<10} {:>16} {:>16} {:>9}\n", i + 1, r.id, p.tiers[r.tier].name, format_units(r.lifetime, p.points_scale),
                 format_units(r.balance, p.points_scale), r.referrals);
    }
  }
  fmt::print("\n  digest  {}\n", engine.digest());
  fmt::print("  time    {:.2f} s ({:.0f} events/s)\n", seconds, seconds > 0 ? static_cast<double>(events) / seconds : 0.0);
  return exit_ok;
}

}  // namespace

void add_demo(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* c = app.add_subcommand("demo", "run a seeded shop simulation on the bundled four-tier plan");
  set_usage(c, "upline demo [--members N] [--purchases N] [--seed S] [--plan PLAN.json] [--top K] [--no-progress]");
  c->description(
      "Simulates a shop: N members join by referral while purchases (two shops, heavy-tailed\n"
      "baskets), refunds and redemptions flow through the plan. Prints the tier census, the points\n"
      "issued per tier, the payout ratio, the top earners, the state digest and the time taken.\n"
      "The same options always give the same digest.");
  c->add_option("--members", o->sim.members, "members who join (default 100000)")->check(count_in(1, 0xFFFF'FFFEull));
  c->add_option("--purchases", o->sim.purchases, "purchases (default 1000000)")->check(count_in(0, UINT64_MAX));
  c->add_option("--seed", o->sim.seed, "the simulation's seed (default 42)")->check(count_in(0, UINT64_MAX));
  c->add_option("--plan", o->plan, "the plan: a file or a bundled name (default four-tier)")->type_name("PLAN.json");
  c->add_option("--top", o->top, "top earners listed (default 10)")->check(count_in(0, UINT64_MAX));
  c->add_flag("--no-progress", o->no_progress, "no progress bar on a terminal");
  set_body(c, [o] { return demo(*o); });
}

}  // namespace upline::cli
