// check_plan.cpp — `upline check-plan`: validate a plan, print a summary or every fault.
#include "cli.hpp"

#include "upline/plan.hpp"

#include <fmt/core.h>

#include <cstdio>
#include <memory>

namespace upline::cli {

namespace {

std::string pct(Rate r) {
  // A rate as a percentage, exact: micros / 10^4 with up to 4 decimals.
  std::string s = format_units(r.micros, 4);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s + "%";
}

int check_plan(const std::string& path) {
  const std::optional<std::string_view> bundled = bundled_plan(path);
  const std::string text = bundled ? std::string(*bundled) : read_file(path);
  PlanFaults faults;
  auto plan = Plan::parse(text, faults);
  if (!plan) {
    fmt::print("{}: invalid plan, {} fault{}\n", path, faults.faults.size(), faults.faults.size() == 1 ? "" : "s");
    for (const auto& f : faults.faults) fmt::print("  {}\n", f);
    return exit_invalid;
  }
  const Plan& p = *plan;
  fmt::print("plan \"{}\" version {}: valid\n", p.name, p.version);
  fmt::print("  money_scale {}, points_scale {}, compression {}, refund window {}\n", p.money_scale, p.points_scale,
             p.compression ? "on" : "off", p.refund_window_days ? std::to_string(*p.refund_window_days) + " days" : std::string("none"));
  fmt::print("shops\n");
  for (const auto& s : p.shops)
    fmt::print("  {:<16} ratio {:<8} min_basket {}\n", s.id, format_rate(s.ratio), format_units(s.min_basket.units, p.money_scale));
  if (p.history.empty()) {
    fmt::print("history: none (x1)\n");
  } else {
    fmt::print("history\n");
    for (const auto& b : p.history) fmt::print("  from {:>6} orders  x{}\n", b.orders, format_rate(b.multiplier));
  }
  fmt::print("tiers\n");
  for (std::size_t i = 0; i < p.tiers.size(); ++i) {
    const Tier& t = p.tiers[i];
    fmt::print("  {}. {}: width {}, {}, accrual x{}, upline multiplier x{}\n", i, t.name, t.width, fill_name(t.fill), format_rate(t.accrual),
               format_rate(t.upline_multiplier));
    std::string rates;
    for (std::size_t k = 0; k < t.rates.size(); ++k) rates += fmt::format("{}L{} {}", k ? ", " : "", k + 1, pct(t.rates[k]));
    fmt::print("     rates: {}\n", rates.empty() ? std::string("none") : rates);
    if (t.promote_at) {
      std::string c;
      auto add = [&](const std::string& s) { c += (c.empty() ? "" : " and ") + s; };
      if (t.promote_at->lifetime_points) add("lifetime >= " + format_units(t.promote_at->lifetime_points->units, p.points_scale));
      if (t.promote_at->direct_referrals)
        add(fmt::format("{} direct referral{} at least {}", t.promote_at->direct_referrals->count, t.promote_at->direct_referrals->count == 1 ? "" : "s",
                        p.tiers[t.promote_at->direct_referrals->min_tier].name));
      if (t.promote_at->filled_levels) add(fmt::format("{} filled level{} below", *t.promote_at->filled_levels, *t.promote_at->filled_levels == 1 ? "" : "s"));
      fmt::print("     promote at: {}\n", c);
    }
    if (!t.benefits.empty()) {
      std::string b;
      for (const auto& [k, v] : t.benefits) b += fmt::format("{}{}={}", b.empty() ? "" : ", ", k, v);
      fmt::print("     benefits: {}\n", b);
    }
  }
  if (p.rewards.empty()) {
    fmt::print("rewards: none\n");
  } else {
    fmt::print("rewards\n");
    for (const auto& r : p.rewards) fmt::print("  {:<16} at lifetime {}\n", r.id, format_units(r.lifetime_points.units, p.points_scale));
  }
  return exit_ok;
}

}  // namespace

void add_check_plan(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("check-plan", "validate a plan and print a summary, or every fault found");
  set_usage(c, "upline check-plan PLAN.json");
  c->description(
      "Validates PLAN.json (a file, or a bundled plan: four-tier, deep) against SPEC §3. Prints a\n"
      "summary (shops, history, tiers with widths, fill, rates, criteria and benefits, rewards) and\n"
      "exits 0, or prints every fault found, one per line as 'path: problem', and exits 1.");
  c->add_option("PLAN.json", *path, "the plan: a file or a bundled name")->required();
  set_body(c, [path] { return check_plan(*path); });
}

}  // namespace upline::cli
