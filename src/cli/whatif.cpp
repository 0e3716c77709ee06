// whatif.cpp — `upline whatif`: the same history under two plans, compared (whatif.hpp,
// docs/LAB.md). The history is an events file (mapped once, read by both sides) or a data
// directory's journal (streamed by each side).
#include "cli.hpp"
#include "files.hpp"

#include "upline/store.hpp"
#include "upline/whatif.hpp"

#include <memory>

namespace upline::cli {

namespace {

struct WhatIfCommand {
  std::string plan, plan_b, events, data, archive, report, html, period = "month";
  std::uint64_t from = 0, until = 0, top = 10, forecast = 6;
  bool has_from = false, has_until = false, has_forecast = false;
};

int whatif(const WhatIfCommand& o) {
  if (o.events.empty() == o.data.empty()) fail(exit_usage, "give the history as exactly one of --events EVENTS.jsonl and --data DIR");
  if (!o.events.empty() && o.plan.empty()) fail(exit_usage, "--plan: required with --events (the plan the events were applied with)");
  if (!o.data.empty() && !o.plan.empty())
    fail(exit_usage, "--plan: not with --data (plan a is the plan " + o.data + " was created with; plan events in its journal apply to both sides)");
  if (!o.archive.empty() && o.data.empty()) fail(exit_usage, "--archive: only with --data");
  if (o.events == "-" && o.plan_b == "-") fail(exit_usage, "--plan-b and --events cannot both read standard input");
  if (o.events == "-" && o.plan == "-") fail(exit_usage, "--plan and --events cannot both read standard input");
  if (!o.html.empty() && (o.html == o.report || same_file(o.html, o.report))) fail(exit_usage, "--html: the same file as --report (" + o.report + ")");
  for (const auto& [option, path] : {std::pair<const char*, const std::string*>{"--report", &o.report}, {"--html", &o.html}})
    if (!o.events.empty() && same_file(*path, o.events)) fail(exit_usage, std::string(option) + ": " + *path + " is the events file");
  const std::optional<Period> period = period_named(o.period);
  if (!period) fail(exit_usage, "--period: \"" + o.period + "\" is not day, week or month");
  if (o.has_forecast && o.html.empty())
    fail(exit_usage, "--forecast: only with --html (the forecast is drawn on the page, never written to the JSON report)");

  WhatIfOptions options;
  options.period = *period;
  if (o.has_from) options.from = o.from;
  if (o.has_until) options.until = o.until;
  options.top = static_cast<std::size_t>(o.top);
  options.forecast = o.html.empty() ? 0 : static_cast<std::size_t>(o.forecast);

  const Plan plan_b = load_plan(o.plan_b, nullptr, "--plan-b");
  std::optional<Plan> plan_a;
  std::unique_ptr<EventsFile> file;
  History history;
  if (!o.events.empty()) {
    plan_a = load_plan(o.plan);
    file = std::make_unique<EventsFile>(o.events);
    history = [&file](const std::function<bool(std::uint64_t, const Input&)>& visit) {
      EventReader reader;
      for_each_line(*file, [&](std::uint64_t seq, std::string_view line, bool padded) {
        return visit(seq, padded ? reader.read_padded(line) : reader.read(line));
      });
    };
  } else {
    if (!holds_store(o.data)) fail(exit_usage, "--data: " + o.data + " holds no data directory");
    PlanFaults faults;
    plan_a = Plan::parse(genesis_plan(o.data), faults);
    if (!plan_a) fail(exit_invalid, o.data + ": the genesis record's plan is invalid: " + faults.message());
    // Both sides walk the journal on their own: bounded by its last record now, they see the same
    // history even while a writer appends.
    const std::uint64_t last = journal_last_seq(o.data);
    history = [&o, last](const std::function<bool(std::uint64_t, const Input&)>& visit) {
      walk_journal(o.data, [&](std::uint64_t seq, const Input& in) { return seq <= last && visit(seq, in); }, nullptr, o.archive);
    };
  }
  // Both outputs are created before the work, so that a path that cannot be written fails first,
  // and are written under temporary names: only when both are complete do they replace PATH, so a
  // command that fails leaves nothing new and no old report half overwritten.
  Output report(o.report, true);
  std::unique_ptr<Output> html;
  if (!o.html.empty()) html = std::make_unique<Output>(o.html, true);
  WhatIf w;
  try {
    w = what_if(*plan_a, plan_b, history, options);
  } catch (const WhatIfError& e) {
    fail(e.kind() == WhatIfError::Kind::plan_rejected ? exit_invalid : exit_usage, e.what());
  } catch (const std::invalid_argument& e) {
    fail(exit_invalid, e.what());
  }
  std::string out;
  append_whatif_json(out, w);
  out += '\n';
  report.write(out);
  report.finish();
  if (html) {
    out.clear();
    append_whatif_html(out, w);
    html->write(out);
    html->finish();
  }
  report.commit();
  if (html) html->commit();
  return exit_ok;
}

}  // namespace

void add_whatif(CLI::App& app) {
  auto o = std::make_shared<WhatIfCommand>();
  CLI::App* c = app.add_subcommand("whatif", "apply a history under its plan and under plan b; report what differs");
  set_usage(c,
            "upline whatif --plan A.json --plan-b B.json --events EVENTS.jsonl --report OUT.json [--html OUT.html [--forecast N]] [options]\n"
            "       upline whatif --data DIR --plan-b B.json [--archive ARCHIVE] --report OUT.json [--html OUT.html [--forecast N]] [options]");
  c->description(
      "Applies the same events twice, at the same time on two threads: side a under the plan they\n"
      "were applied with (--plan, or the plan DIR was created with), side b with plan b in place of\n"
      "that initial plan (or, with --from SEQ, installed as a plan event right after event SEQ). Plan\n"
      "events inside the history apply on both sides. Writes one JSON report (docs/LAB.md): per side\n"
      "the digest, the census, balance and lifetime totals, points issued and removed by kind, money,\n"
      "the payout ratio overall and per period, promotions; then who changes tier, who gains and who\n"
      "loses. Every figure is an exact decimal. --html also writes it as a page with charts and,\n"
      "unless --forecast 0, each side's forecast N periods ahead with its backtest (floating point:\n"
      "on the page only, never in the report).");
  c->add_option("--plan", o->plan, "plan a, with --events: a file or a bundled name")->type_name("A.json");
  c->add_option("--plan-b", o->plan_b, "plan b: a file or a bundled name")->required()->type_name("B.json");
  c->add_option("--events", o->events, "the history: one JSON event per line ('-': standard input)")->type_name("EVENTS.jsonl");
  c->add_option("--data", o->data, "the history: a data directory's journal")->type_name("DIR");
  c->add_option("--archive", o->archive, "where older journal segments were archived (upline archive)")->type_name("ARCHIVE");
  c->add_option("--from", o->from, "install plan b as a plan event right after event SEQ (0: before the first)")
      ->check(count_in(0, UINT64_MAX))
      ->each([o](const std::string&) { o->has_from = true; })
      ->type_name("SEQ");
  c->add_option("--until", o->until, "stop after event SEQ")->check(count_in(0, UINT64_MAX))->each([o](const std::string&) { o->has_until = true; })->type_name("SEQ");
  c->add_option("--period", o->period, "the payout ratio's period: day, week or month (default month)")->type_name("PERIOD");
  c->add_option("--top", o->top, "how many tier moves, gainers and losers to list (default 10)")->check(count_in(0, 1'000'000))->type_name("N");
  c->add_option("--forecast", o->forecast,
                "with --html: project each side N periods ahead on the page, with a backtest (default 6; 0: none)")
      ->check(count_in(0, 10'000))
      ->each([o](const std::string&) { o->has_forecast = true; })
      ->type_name("N");
  c->add_option("--report", o->report, "where the JSON report goes ('-': standard output)")->required()->type_name("OUT.json");
  c->add_option("--html", o->html, "also write the report as one self-contained HTML page with charts ('-': standard output)")->type_name("OUT.html");
  set_body(c, [o] { return whatif(*o); });
}

}  // namespace upline::cli
