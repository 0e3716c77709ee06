// generate.cpp — `upline generate`: a seeded workload (upline::Workload) as SPEC §10 JSON Lines.
//
// The output is a pure function of the options: the same options write the same bytes on every
// platform, compiler and build type.
#include "cli.hpp"

#include "tools/workload.hpp"
#include "upline/door.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace upline::cli {

namespace {

struct GenerateOptions {
  WorkloadOptions w;
  std::string plan = "four-tier";
  std::string out;
  bool summary = false;
};

int generate(GenerateOptions& g) {
  WorkloadOptions& o = g.w;
  // The plan gives the scales (and must have the shops the workload buys in).
  const Plan plan = load_plan(g.plan);
  if (!plan.find_shop("main") || !plan.find_shop("outlet"))
    fail(exit_usage, "--plan: \"" + g.plan + "\" lacks the shops \"main\" and \"outlet\" that the workload buys in");
  o.money_scale = plan.money_scale;
  o.points_scale = plan.points_scale;
  if (std::string why = Workload::check(o); !why.empty()) {
    // The generator names its field ("refund_per_mille: ..."); the user wrote the option.
    const std::size_t colon = why.find(':');
    if (colon == std::string::npos) fail(exit_usage, why);
    std::string field = why.substr(0, colon);
    std::replace(field.begin(), field.end(), '_', '-');
    fail(exit_usage, "--" + field + why.substr(colon));
  }

  std::FILE* out = stdout;
  const bool to_file = !g.out.empty() && g.out != "-";
  if (to_file) {
    out = std::fopen(g.out.c_str(), "wb");
    if (!out) fail(exit_usage, "--out: " + g.out + ": cannot open: " + std::strerror(errno));
  }
  Workload w(o);
  std::string buf;
  buf.reserve(1 << 20);
  bool ok = true;
  while (!w.done() && ok) {
    append_event_json(buf, w.next());
    buf += '\n';
    if (buf.size() >= (1 << 20) - 512) {
      ok = std::fwrite(buf.data(), 1, buf.size(), out) == buf.size();
      buf.clear();
    }
  }
  if (ok && !buf.empty()) ok = std::fwrite(buf.data(), 1, buf.size(), out) == buf.size();
  if (std::fflush(out) != 0) ok = false;
  const int saved = errno;
  if (to_file && std::fclose(out) != 0) ok = false;
  if (!ok) fail(exit_usage, (to_file ? g.out : std::string("standard output")) + ": cannot write: " + std::strerror(saved));

  if (g.summary)
    std::fprintf(stderr, "upline generate: %llu events: %llu joins, %llu purchases, %llu refunds (%llu partial), %llu redemptions\n",
                 static_cast<unsigned long long>(w.emitted()), static_cast<unsigned long long>(w.joins()),
                 static_cast<unsigned long long>(w.purchases()), static_cast<unsigned long long>(w.refunds()),
                 static_cast<unsigned long long>(w.partial_refunds()), static_cast<unsigned long long>(w.redemptions()));
  return exit_ok;
}

}  // namespace

void add_generate(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* c = app.add_subcommand("generate", "write a seeded workload as JSON Lines that replay reads");
  set_usage(c,
            "upline generate [--members N] [--purchases N] [--seed S] [--refund-per-mille R] [--redeem-per-mille R]\n"
            "                [--interleave] [--plan PLAN.json] [--start MS] [--step MS] [--out FILE] [--summary]");
  c->description(
      "Writes a seeded, reproducible event stream as JSON Lines that `upline replay` reads: N members\n"
      "join by referral (all first, or spread through the purchases with --interleave), then the\n"
      "purchases (log-normal baskets in the shops \"main\" and \"outlet\"), with refunds and redemptions\n"
      "mixed in. The plan (a file or a bundled name: four-tier, deep) only gives the money and points\n"
      "scales. Events are one minute apart from 2026-01-01T00:00:00Z by default. --summary prints the\n"
      "counts on standard error.");
  c->add_option("--members", o->w.members, "members who join (default 100000)")->check(count_in(1, Workload::max_members));
  c->add_option("--purchases", o->w.purchases, "purchases (default 1000000)")->check(count_in(0, UINT64_MAX));
  c->add_option("--seed", o->w.seed, "the seed (default 42)")->check(count_in(0, UINT64_MAX));
  c->add_option("--refund-per-mille", o->w.refund_per_mille, "purchases refunded later, per 1000 (default 20)")->check(count_in(0, 1000));
  c->add_option("--redeem-per-mille", o->w.redeem_per_mille, "redemptions, per 1000 purchases (default 10)")->check(count_in(0, 1000));
  c->add_flag("--interleave", o->w.interleave, "spread the joins through the purchases");
  c->add_option("--plan", o->plan, "the plan whose scales are used: a file or a bundled name (default four-tier)")->type_name("PLAN.json");
  c->add_option("--start", o->w.start, "the first event's `at`, ms (default 1767225600000)")->check(count_in(0, INT64_MAX));
  c->add_option("--step", o->w.step, "ms between events (default 60000)")->check(count_in(0, INT64_MAX));
  c->add_option("--out", o->out, "where to write ('-' or absent: standard output)")->type_name("FILE");
  c->add_flag("--summary", o->summary, "print the counts on standard error");
  set_body(c, [o] { return generate(*o); });
}

}  // namespace upline::cli
