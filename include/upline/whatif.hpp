// upline/whatif.hpp — what-if on real history (docs/LAB.md): the same events applied twice, once
// under the plan they were applied with (side "a") and once with another plan in its place (side
// "b"), and what differs — the census, the points issued and removed by kind, the payout ratio per
// period, the promotions, who changes tier, who gains and who loses.
//
// Every figure is exact: points and money are integer units at the side's plan's scales, a ratio is
// rounded once, half to even, to 6 decimal places (SPEC §2.5). A side is an ordinary Engine
// fed through Engine::apply, so side a's digest is `upline replay`'s on the same plan and events.
//
//   upline::Plan a = ..., b = ...;
//   upline::WhatIf w = upline::what_if(a, b, history, {.period = upline::Period::week});
//   std::string json;
//   upline::append_whatif_json(json, w);
#pragma once

#include "upline/decimal.hpp"
#include "upline/engine.hpp"
#include "upline/plan.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace upline {

/// The length of a payout-ratio period: a UTC day, an ISO week (Monday to Sunday, UTC), a UTC
/// calendar month.
enum class Period : std::uint8_t { day, week, month };

/// "day", "week", "month".
const char* period_name(Period p) noexcept;
/// The period named `name`, or nullopt.
std::optional<Period> period_named(std::string_view name) noexcept;

/// One period of one side: what was bought and refunded (money units) and what the plan paid for
/// it (points units) in events applied within [start, end).
struct PeriodFigures {
  Time start = 0;                 // ms since the epoch, the period's first instant (UTC)
  Time end = 0;                   // its end (exclusive)
  i128 purchased = 0;         // money units of accepted purchases
  i128 refunded = 0;          // money units refunded
  i128 paid = 0;              // points units credited own + upline
  i128 clawed_back = 0;       // points units debited by clawbacks
};

/// One side's figures. Points are units at `points_scale`, money units at `money_scale`; tiers are
/// indexed like the side's final plan's tiers (a plan only ever appends tiers).
struct SideFigures {
  std::string plan_name;                // the side's final plan's name
  int points_scale = 2, money_scale = 2;
  std::vector<std::string> tier_names;  // the side's final plan's tiers
  std::string digest;                   // SPEC §10.5, as `upline replay` prints it
  std::uint64_t applied = 0, rejected = 0;
  std::vector<std::uint64_t> census;    // members per tier
  i128 balance_total = 0, lifetime_total = 0;
  i128 issued_own = 0, issued_adjust = 0;
  std::vector<i128> issued_upline;  // per tier paid through
  i128 removed_clawback = 0, removed_redeem = 0, removed_adjust = 0;
  i128 purchased = 0, refunded = 0;  // money units
  std::vector<std::uint64_t> promotions;  // promotions into each tier
  std::vector<PeriodFigures> periods;    // in time order; only periods in which an event was applied

  /// The payout ratio in millionths (see payout_ratio): overall, and of one of `periods`.
  std::optional<i128> payout_ratio_millionths() const;
  std::optional<i128> payout_ratio_millionths(const PeriodFigures& p) const;
};

/// A member whose tier differs between the sides.
struct TierMove {
  MemberId member = 0;
  std::uint32_t tier_a = 0, tier_b = 0;  // in each side's own tiers
};

/// A member whose balance differs between the sides (units at WhatIf::delta_scale).
struct BalanceMove {
  MemberId member = 0;
  i128 balance_a = 0, balance_b = 0;  // at delta_scale
  i128 delta() const noexcept { return balance_b - balance_a; }
};

struct WhatIfOptions {
  Period period = Period::month;
  /// Plan b takes effect as a plan event (actor "whatif", at the side's clock) right after the
  /// event with this sequence number (0: before the first); nullopt: plan b replaces the initial plan.
  std::optional<std::uint64_t> from;
  /// The last sequence number applied (nullopt: the whole history).
  std::optional<std::uint64_t> until;
  /// How many tier moves, gainers and losers the report lists (the counts are always whole).
  std::size_t top = 10;
  /// Periods (of `period`) to project each side forward with a forecast (forecast.hpp) for the
  /// page; 0: none. At most 10,000.
  std::size_t forecast = 0;
};

struct Forecast;  // upline/forecast.hpp

/// One side's forecast, fitted on the side's own history (side b's includes plan b's switch at
/// `from`) as the side is applied — the page shows it; the JSON report never does (it is floating
/// point).
struct SideForecast {
  std::shared_ptr<const Forecast> forecast;  // null when not asked for or not possible
  std::string unavailable;                   // when asked for but not possible: why (too little history)
};

struct WhatIf {
  WhatIfOptions options;
  SideFigures a, b;
  int delta_scale = 2;  // max(a.points_scale, b.points_scale): the scale of the balance moves
  std::uint64_t tier_moves = 0;          // members whose tier name differs
  std::vector<TierMove> tier_moved;      // the first `top` of them by member id
  std::uint64_t gaining = 0, losing = 0;  // members whose balance is higher / lower on side b
  std::vector<BalanceMove> gainers;      // the `top` largest gains, then member id
  std::vector<BalanceMove> losers;       // the `top` largest losses, then member id
  SideForecast forecast_a, forecast_b;   // when options.forecast > 0 (on the page only)
};

/// A history that can be walked more than once, by several threads at once: each call of walk
/// gives `visit` every event (sequence number from 1, in order) until `visit` returns false. An
/// Input given to `visit` lives until `visit` returns.
using History = std::function<void(const std::function<bool(std::uint64_t seq, const Input& input)>& visit)>;

/// Thrown by what_if for what makes the comparison impossible, with a message naming it.
class WhatIfError : public std::runtime_error {
 public:
  enum class Kind {
    plan_rejected,  // plan b rejected as a plan event at `from`: the rejection's code and message
    range,          // `from` past `until` or past the history's last event
  };
  WhatIfError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

/// Applies `history` under plan `a` and, on another thread at the same time, under plan `b` (see
/// WhatIfOptions::from), and compares the two; with options.forecast, each side's thread also
/// records its history per period and fits its forecast (a history of fewer than 3 periods gives
/// SideForecast::unavailable, not an exception). Throws std::invalid_argument naming the faults of
/// an invalid plan, WhatIfError as above, and whatever `history` throws.
WhatIf what_if(const Plan& a, const Plan& b, const History& history, const WhatIfOptions& options = {});

/// Feeds one side: applies each input through Engine::apply and counts what it did. what_if()
/// runs two; a host that drives its own engine can use one directly.
class WhatIfSide {
 public:
  WhatIfSide(Engine& engine, Period period);
  /// Applies `input`, counting the accepted event's effects and money; returns whether accepted.
  bool apply(const Input& input, Outcome& out);
  /// The figures so far (digest, census and totals from the engine as it is now).
  SideFigures figures() const;

 private:
  void count(const Event& e, std::int64_t refunded_before, const Outcome& out);
  PeriodFigures& period_at(Time t);

  Engine* engine_;
  Period period_;
  SideFigures f_;
};

/// Appends the report as one JSON object (docs/LAB.md gives every field): decimals as strings.
void append_whatif_json(std::string& out, const WhatIf& w);

/// Appends the report as one self-contained HTML page (docs/LAB.md): the figures of both sides,
/// the payout ratio per period of a and b, the census by tier, the top movers and, when the report
/// has them, both sides' forecasts with their backtests, drawn as inline SVG by integer arithmetic
/// (a forecast's doubles rounded once to whole pixels) — no script or style from anywhere else, no
/// network. The same report gives the same bytes.
void append_whatif_html(std::string& out, const WhatIf& w);

/// `units` at `scale` as a decimal string ("-12.50"), for the wide sums of a report.
std::string format_wide_units(i128 units, int scale);

/// points / money as a decimal rounded half to even at 6 places ("0.125000"); nullopt when money
/// is not positive. Both in units at their scales.
std::optional<std::string> payout_ratio(i128 points, int points_scale, i128 money, int money_scale);
/// The same ratio as an integer number of millionths.
std::optional<i128> payout_ratio_millionths(i128 points, int points_scale, i128 money, int money_scale);

/// The start of the period holding `t` (ms since the epoch, UTC) and its label: "2026-11-30" for
/// a day or a week (its Monday), "2026-11" for a month.
Time period_start(Time t, Period p) noexcept;
Time period_end(Time start, Period p) noexcept;
std::string period_label(Time start, Period p);

}  // namespace upline
