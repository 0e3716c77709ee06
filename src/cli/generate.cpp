// generate.cpp — `upline generate`: a seeded workload (upline::Workload) as SPEC §10 JSON Lines.
//
// The output is a pure function of the options: the same options write the same bytes on every
// platform, compiler and build type.
#include "cli.hpp"

#include "upline/json.hpp"
#include "upline/workload.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace upline::cli {

namespace {

const char* const generate_usage =
    "usage: upline generate [--members N] [--purchases N] [--seed S] [--refund-per-mille R]\n"
    "                       [--redeem-per-mille R] [--interleave] [--plan four-tier|deep|PLAN.json]\n"
    "                       [--start MS] [--step MS] [--out FILE] [--summary]\n"
    "\n"
    "Writes a seeded, reproducible event stream as JSON Lines that `upline replay` reads: N members\n"
    "join by referral (all first, or spread through the purchases with --interleave), then the\n"
    "purchases (log-normal baskets in the shops \"main\" and \"outlet\"), with refunds and redemptions\n"
    "mixed in. The plan only gives the money and points scales. Defaults: 100000 members, 1000000\n"
    "purchases, seed 42, 20 refunds and 10 redemptions per 1000 purchases, the bundled four-tier\n"
    "plan, events one minute apart from 2026-01-01T00:00:00Z (--start 1767225600000 --step 60000),\n"
    "standard output. --summary prints the counts on standard error.\n";

int fail(const std::string& message) {
  std::fprintf(stderr, "upline generate: %s\n", message.c_str());
  return 2;
}

}  // namespace

int generate(const Args& args) {
  WorkloadOptions o;
  std::string plan_arg = "four-tier", out_path;
  bool summary = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(generate_usage, stdout);
      return 0;
    }
    if (a == "--interleave") {
      o.interleave = true;
      continue;
    }
    if (a == "--summary") {
      summary = true;
      continue;
    }
    const bool known = a == "--members" || a == "--purchases" || a == "--seed" || a == "--refund-per-mille" ||
                       a == "--redeem-per-mille" || a == "--plan" || a == "--start" || a == "--step" || a == "--out";
    if (!known) {
      std::fprintf(stderr, "upline generate: unknown option \"%s\"\n\n%s", a.c_str(), generate_usage);
      return 2;
    }
    if (i + 1 >= args.size()) return fail(a + " needs a value");
    const std::string& v = args[++i];
    if (a == "--plan") {
      plan_arg = v;
      continue;
    }
    if (a == "--out") {
      out_path = v;
      continue;
    }
    auto n = parse_count("upline generate: " + a, v);
    if (!n) return 2;
    auto in_range = [&](std::uint64_t max) {
      if (*n <= max) return true;
      std::fprintf(stderr, "upline generate: %s: \"%s\" is out of range 0..%llu\n", a.c_str(), v.c_str(),
                   static_cast<unsigned long long>(max));
      return false;
    };
    if (a == "--members") {
      if (*n < 1 || *n > Workload::max_members) {
        std::fprintf(stderr, "upline generate: --members: \"%s\" is out of range 1..%llu\n", v.c_str(),
                     static_cast<unsigned long long>(Workload::max_members));
        return 2;
      }
      o.members = *n;
    } else if (a == "--purchases") {
      o.purchases = *n;
    } else if (a == "--seed") {
      o.seed = *n;
    } else if (a == "--refund-per-mille") {
      if (!in_range(1000)) return 2;
      o.refund_per_mille = static_cast<std::uint32_t>(*n);
    } else if (a == "--redeem-per-mille") {
      if (!in_range(1000)) return 2;
      o.redeem_per_mille = static_cast<std::uint32_t>(*n);
    } else if (a == "--start") {
      if (!in_range(static_cast<std::uint64_t>(INT64_MAX))) return 2;
      o.start = static_cast<Time>(*n);
    } else {  // --step
      if (!in_range(static_cast<std::uint64_t>(INT64_MAX))) return 2;
      o.step = static_cast<Time>(*n);
    }
  }

  // The plan gives the scales (and must have the shops the workload buys in).
  std::string plan_text;
  if (plan_arg == "four-tier") {
    plan_text = four_tier_plan_json();
  } else if (plan_arg == "deep") {
    plan_text = deep_plan_json();
  } else {
    std::string err;
    auto t = read_file(plan_arg, err);
    if (!t) return fail("--plan: " + err);
    plan_text = std::move(*t);
  }
  PlanFaults faults;
  auto plan = Plan::parse(plan_text, faults);
  if (!plan) {
    std::fprintf(stderr, "invalid_plan: %s\n", faults.message().c_str());
    return 1;
  }
  if (!plan->find_shop("main") || !plan->find_shop("outlet"))
    return fail("--plan: \"" + plan_arg + "\" lacks the shops \"main\" and \"outlet\" that the workload buys in");
  o.money_scale = plan->money_scale;
  o.points_scale = plan->points_scale;
  if (std::string why = Workload::check(o); !why.empty()) return fail(why);

  std::FILE* out = stdout;
  if (!out_path.empty() && out_path != "-") {
    out = std::fopen(out_path.c_str(), "wb");
    if (!out) return fail("--out: " + out_path + ": cannot open: " + std::strerror(errno));
  }

  Workload w(o);
  std::string buf;
  buf.reserve(1 << 20);
  bool ok = true;
  while (!w.done() && ok) {
    buf += event_json(w.next());
    buf += '\n';
    if (buf.size() >= (1 << 20) - 512) {
      ok = std::fwrite(buf.data(), 1, buf.size(), out) == buf.size();
      buf.clear();
    }
  }
  if (ok && !buf.empty()) ok = std::fwrite(buf.data(), 1, buf.size(), out) == buf.size();
  if (std::fflush(out) != 0) ok = false;
  const int saved = errno;
  if (out != stdout && std::fclose(out) != 0) ok = false;
  if (!ok) return fail(std::string(out_path.empty() ? "standard output" : out_path) + ": write error: " + std::strerror(saved));

  if (summary)
    std::fprintf(stderr, "upline generate: %llu events: %llu joins, %llu purchases, %llu refunds (%llu partial), %llu redemptions\n",
                 static_cast<unsigned long long>(w.emitted()), static_cast<unsigned long long>(w.joins()),
                 static_cast<unsigned long long>(w.purchases()), static_cast<unsigned long long>(w.refunds()),
                 static_cast<unsigned long long>(w.partial_refunds()), static_cast<unsigned long long>(w.redemptions()));
  return 0;
}

}  // namespace upline::cli
