// forecast.cpp — `upline forecast`: a data directory's history projected forward, with its
// backtest (forecast.hpp, docs/LAB.md).
#include "cli.hpp"
#include "files.hpp"

#include "upline/forecast.hpp"
#include "upline/store.hpp"

#include <memory>

namespace upline::cli {

namespace {

struct ForecastCommand {
  std::string data, archive, period = "month", report = "-";
  std::uint64_t periods = 12;
};

int forecast_command(const ForecastCommand& o) {
  const std::optional<Period> period = period_named(o.period);
  if (!period) fail(exit_usage, "--period: \"" + o.period + "\" is not day, week or month");
  if (!holds_store(o.data)) fail(exit_usage, "--data: " + o.data + " holds no data directory");
  PlanFaults faults;
  const std::optional<Plan> plan = Plan::parse(genesis_plan(o.data), faults);
  if (!plan) fail(exit_invalid, o.data + ": the genesis record's plan is invalid: " + faults.message());
  Forecast f;
  try {
    const std::uint64_t last = journal_last_seq(o.data);  // the history as it is now, a writer or not
    f = forecast(*plan,
                 [&o, last](const std::function<bool(std::uint64_t, const Input&)>& visit) {
                   walk_journal(o.data, [&](std::uint64_t seq, const Input& in) { return seq <= last && visit(seq, in); }, nullptr, o.archive);
                 },
                 *period, static_cast<std::size_t>(o.periods));
  } catch (const std::invalid_argument& e) {
    fail(exit_usage, o.data + ": " + e.what());
  }
  Output out(o.report, true);
  out.write(forecast_json(f));
  out.close();
  return exit_ok;
}

}  // namespace

void add_forecast(CLI::App& app) {
  auto o = std::make_shared<ForecastCommand>();
  CLI::App* c = app.add_subcommand("forecast", "project the census and the payout ratio N periods ahead, with a backtest");
  set_usage(c, "upline forecast --data DIR [--archive ARCHIVE] [--periods N] [--period day|week|month] [--report OUT.json]");
  c->description(
      "Fits, from DIR's history per period, the sign-ups (a linear trend), money bought and points paid\n"
      "per member of each tier, and the tier-transition rates (a Markov matrix); projects the census\n"
      "and the payout ratio N periods ahead (default 12); and backtests: fitted on the first two\n"
      "thirds of the history, the projection's error on the last third. The one command that uses\n"
      "floating point: it reads the history and changes nothing (docs/LAB.md).");
  c->add_option("--data", o->data, "the data directory")->required()->type_name("DIR");
  c->add_option("--archive", o->archive, "where older journal segments were archived (upline archive)")->type_name("ARCHIVE");
  c->add_option("--periods", o->periods, "periods to project (default 12)")->check(count_in(1, 10'000))->type_name("N");
  c->add_option("--period", o->period, "day, week or month (default month)")->type_name("PERIOD");
  c->add_option("--report", o->report, "where the JSON goes (default '-': standard output)")->type_name("OUT.json");
  set_body(c, [o] { return forecast_command(*o); });
}

}  // namespace upline::cli
