// upline/forecast.hpp — projecting a shop forward (docs/LAB.md, "Forecasts"): fitted from its
// history per period — sign-ups (a linear trend, least squares), money bought and points paid per
// member of each tier, and the tier-transition rates as a Markov matrix — and run N periods ahead
// with Eigen. A backtest fits on the first two thirds of the history and reports the projection's
// error on the last third.
//
// Floating point is used here and only here: a forecast reads a history, never changes a state, and
// nothing of it reaches a digest. Its figures are printed rounded (6 decimals).
#pragma once

#include "upline/engine.hpp"
#include "upline/whatif.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace upline {

/// One period of the history, as the fit sees it.
struct PeriodHistory {
  Time start = 0;
  std::vector<std::uint64_t> census_start;  // members per tier when the period began
  std::vector<std::uint64_t> census_end;    // and when it ended
  std::uint64_t joins = 0;
  std::vector<std::uint64_t> promoted_from;  // promotions out of each tier
  std::vector<double> money;                 // net money bought by members of each tier (buyer's tier)
  std::vector<double> paid;                  // points paid for it (own + upline − clawback), by buyer's tier
};

/// Everything the projection uses, fitted on a run of periods.
struct ForecastFit {
  std::size_t periods = 0;                 // how many periods it was fitted on
  double joins_intercept = 0, joins_slope = 0;  // joins in period t (0-based) ≈ intercept + slope·t
  std::vector<std::vector<double>> transition;  // row i: the share of tier i's members in each tier a period later
  std::vector<double> money_per_member;    // per period, by tier
  std::vector<double> paid_per_member;
};

struct ProjectedPeriod {
  Time start = 0;
  std::vector<double> census;  // members per tier at the period's end
  double members = 0;
  double money = 0, paid = 0;
  std::optional<double> payout_ratio;  // paid / money
};

struct BacktestRow {
  Time start = 0;
  double actual_members = 0, projected_members = 0;
  std::optional<double> actual_ratio, projected_ratio;
};

struct Forecast {
  Period period = Period::month;
  std::vector<std::string> tier_names;
  std::vector<PeriodHistory> history;
  ForecastFit fit;                        // on the whole history
  std::vector<ProjectedPeriod> projection;  // the periods after the history
  ForecastFit backtest_fit;               // on the first two thirds
  std::vector<BacktestRow> backtest;      // the last third, projected from the first two
  std::optional<double> members_mape;     // mean absolute percentage error of the members, in %
  std::optional<double> ratio_mae;        // mean absolute error of the payout ratio
};

/// The history of a data directory (or any History) per period, applied to a fresh engine under
/// `plan`: every period from the first event's to the last one's, empty ones included, so that
/// periods are consecutive steps. The period being filled when the history ends is dropped unless
/// it is the only one. `tier_names`, when given, receives the plan's tiers as the history ended.
/// std::invalid_argument for a history that spans more than 100,000 periods.
std::vector<PeriodHistory> period_history(const Plan& plan, const History& history, Period period,
                                          std::vector<std::string>* tier_names = nullptr);

/// Gathers the history per period (as period_history gives it) from an engine while inputs are
/// applied to it: call before() and after() around each Engine::apply. period_history runs one on a
/// fresh engine; what_if runs one on each side's engine when WhatIfOptions::forecast asks for a
/// forecast, so that the sides' walks serve the forecasts too. Past 100,000 periods it stops
/// recording (overflowed()) and finish() throws.
class PeriodRecorder {
 public:
  explicit PeriodRecorder(Period period) noexcept : period_(period) {}
  /// Before `engine` applies `input`.
  void before(const Engine& engine, const Input& input);
  /// After it applied it (`out`: its outcome).
  void after(const Engine& engine, const Outcome& out);
  /// Whether the history spans more periods than a forecast takes; nothing more is recorded.
  bool overflowed() const noexcept { return overflowed_; }
  /// The periods, as period_history returns them; `tier_names`, when given, receives the engine's
  /// plan's tiers. std::invalid_argument when overflowed().
  std::vector<PeriodHistory> finish(const Engine& engine, std::vector<std::string>* tier_names = nullptr);

 private:
  void open(const Engine& engine, Time start);
  void close(const Engine& engine);

  Period period_;
  std::vector<PeriodHistory> h_;
  Time end_ = 0;
  bool overflowed_ = false;
  const Event* event_ = nullptr;  // the input being applied, when an event: set by before()
  std::uint32_t buyer_tier_ = 0;
  std::uint32_t order_ = 0;
  std::int64_t refunded_before_ = 0;
};

/// Fits on history[first, first + count).
ForecastFit fit_forecast(const std::vector<PeriodHistory>& history, std::size_t first, std::size_t count);

/// Runs `fit` forward `periods` periods from `census` (members per tier), the first projected
/// period being number `t0` of the fit's sign-up trend and starting at `start`.
std::vector<ProjectedPeriod> project(const ForecastFit& fit, std::vector<double> census, std::size_t t0, Time start, Period period,
                                     std::size_t periods);

/// The whole forecast: history, fit, projection `periods` ahead, backtest. std::invalid_argument
/// when the history has fewer than 3 periods (nothing to backtest on).
Forecast forecast(const Plan& plan, const History& history, Period period, std::size_t periods);

/// The same from a history per period already gathered (period_history, PeriodRecorder) and the
/// tiers it was gathered under.
Forecast forecast(std::vector<PeriodHistory> history, std::vector<std::string> tier_names, Period period, std::size_t periods);

/// The forecast as one JSON object (docs/LAB.md gives every field).
std::string forecast_json(const Forecast& f);

}  // namespace upline
