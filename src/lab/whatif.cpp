// whatif.cpp — what-if on real history (whatif.hpp, docs/LAB.md).
#include "upline/whatif.hpp"

#include "upline/forecast.hpp"
#include "upline/json_text.hpp"
#include "upline/state.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <limits>
#include <thread>

namespace upline {

namespace {

constexpr Time day_ms = Engine::day_ms;

struct Civil {
  std::int64_t year;
  unsigned month, day;
};

// Days since 1970-01-01 ↔ proleptic Gregorian dates (Howard Hinnant's chrono-compatible
// algorithms: integers only, every int64 day count).
constexpr Civil civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2 ? 1 : 0), m, d};
}

constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(civil_from_days(20'422).year == 2025 && civil_from_days(20'422).month == 11 && civil_from_days(20'422).day == 30);

// Floor division for the few negative instants a week's start can have (1970-01-01 is a Thursday).
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept { return a / b - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0); }

Time clamp_time(i128 t) noexcept {
  return t > std::numeric_limits<Time>::max() ? std::numeric_limits<Time>::max() : static_cast<Time>(t);
}

void append_wide(std::string& out, i128 v) {
  char buf[48];
  char* p = buf + sizeof buf;
  const bool negative = v < 0;
  u128 m = negative ? u128(0) - static_cast<u128>(v) : static_cast<u128>(v);
  do {
    *--p = static_cast<char>('0' + static_cast<int>(m % 10));
    m /= 10;
  } while (m != 0);
  if (negative) *--p = '-';
  out.append(p, static_cast<std::size_t>(buf + sizeof buf - p));
}

i128 pow10_wide(int n) noexcept {
  i128 v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

}  // namespace

const char* period_name(Period p) noexcept {
  switch (p) {
    case Period::day: return "day";
    case Period::week: return "week";
    case Period::month: return "month";
  }
  return "";
}

std::optional<Period> period_named(std::string_view name) noexcept {
  for (Period p : {Period::day, Period::week, Period::month})
    if (name == period_name(p)) return p;
  return std::nullopt;
}

Time period_start(Time t, Period p) noexcept {
  const std::int64_t day = floor_div(t, day_ms);
  switch (p) {
    case Period::day: return day * day_ms;
    case Period::week: return (day - ((day % 7 + 7 + 3) % 7)) * day_ms;  // back to Monday
    case Period::month: {
      const Civil c = civil_from_days(day);
      return days_from_civil(c.year, c.month, 1) * day_ms;
    }
  }
  return t;
}

Time period_end(Time start, Period p) noexcept {
  const std::int64_t day = floor_div(start, day_ms);
  switch (p) {
    case Period::day: return clamp_time(i128(day + 1) * day_ms);
    case Period::week: return clamp_time(i128(day + 7) * day_ms);
    case Period::month: {
      const Civil c = civil_from_days(day);
      const std::int64_t next = c.month == 12 ? days_from_civil(c.year + 1, 1, 1) : days_from_civil(c.year, c.month + 1, 1);
      return clamp_time(i128(next) * day_ms);
    }
  }
  return start;
}

std::string period_label(Time start, Period p) {
  const Civil c = civil_from_days(floor_div(start, day_ms));
  char buf[40];
  const int n = p == Period::month ? std::snprintf(buf, sizeof buf, "%04lld-%02u", static_cast<long long>(c.year), c.month)
                                   : std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(c.year), c.month, c.day);
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string format_wide_units(i128 units, int scale) {
  std::string digits;
  append_wide(digits, units < 0 ? -units : units);
  std::string out = units < 0 ? "-" : "";
  if (scale <= 0) return out + digits;
  const auto s = static_cast<std::size_t>(scale);
  if (digits.size() <= s) digits.insert(0, s + 1 - digits.size(), '0');
  out.append(digits, 0, digits.size() - s);
  out += '.';
  out.append(digits, digits.size() - s, s);
  return out;
}

std::optional<i128> payout_ratio_millionths(i128 points, int points_scale, i128 money, int money_scale) {
  if (money <= 0) return std::nullopt;
  // (points / 10^ps) / (money / 10^ms) in millionths: points × 10^ms × 10^6 / (money × 10^ps),
  // rounded once, half to even, symmetric for a negative figure (clawbacks above credits).
  const bool negative = points < 0;
  const u128 num = static_cast<u128>(negative ? -points : points) * static_cast<u128>(pow10_wide(money_scale + 6));
  const u128 den = static_cast<u128>(money) * static_cast<u128>(pow10_wide(points_scale));
  u128 q = num / den;
  const u128 r = num % den;
  if (r * 2 > den || (r * 2 == den && (q & 1) != 0)) ++q;
  return negative ? -static_cast<i128>(q) : static_cast<i128>(q);
}

std::optional<std::string> payout_ratio(i128 points, int points_scale, i128 money, int money_scale) {
  const std::optional<i128> r = payout_ratio_millionths(points, points_scale, money, money_scale);
  if (!r) return std::nullopt;
  return format_wide_units(*r, 6);
}

std::optional<i128> SideFigures::payout_ratio_millionths() const {
  i128 upline = 0;
  for (const i128 u : issued_upline) upline += u;
  return upline::payout_ratio_millionths(issued_own + upline - removed_clawback, points_scale, purchased - refunded, money_scale);
}

std::optional<i128> SideFigures::payout_ratio_millionths(const PeriodFigures& p) const {
  return upline::payout_ratio_millionths(p.paid - p.clawed_back, points_scale, p.purchased - p.refunded, money_scale);
}

// ---- one side ----------------------------------------------------------------------------------

WhatIfSide::WhatIfSide(Engine& engine, Period period) : engine_(&engine), period_(period) {}

PeriodFigures& WhatIfSide::period_at(Time t) {
  // Applied times never go back (SPEC §4.2: max(clock, at)), so the period is the last one or new.
  // (By start, not by end: the last period's end is capped at the largest time, which it holds.)
  if (f_.periods.empty() || period_start(t, period_) != f_.periods.back().start) {
    PeriodFigures p;
    p.start = period_start(t, period_);
    p.end = period_end(p.start, period_);
    f_.periods.push_back(p);
  }
  return f_.periods.back();
}

bool WhatIfSide::apply(const Input& input, Outcome& out) {
  const Event* e = input.event();
  std::int64_t refunded_before = 0;
  if (e != nullptr) {
    if (const auto* r = std::get_if<Refund>(e)) {
      const Ledger& ledger = engine_->state().ledger;
      const std::uint32_t i = ledger.find_order(r->order);
      if (i != Ledger::none) refunded_before = ledger.order(i).refunded;
    }
  }
  engine_->apply(input, out);
  if (!out.ok()) return false;
  count(*e, refunded_before, out);
  return true;
}

void WhatIfSide::count(const Event& e, std::int64_t refunded_before, const Outcome& out) {
  PeriodFigures& p = period_at(engine_->clock());
  const Ledger& ledger = engine_->state().ledger;
  if (std::holds_alternative<Purchase>(e)) {
    const std::int64_t amount = ledger.order(static_cast<std::uint32_t>(ledger.order_count() - 1)).amount;
    p.purchased += amount;
    f_.purchased += amount;
  } else if (const auto* r = std::get_if<Refund>(&e)) {
    const std::int64_t refunded = ledger.order(ledger.find_order(r->order)).refunded - refunded_before;
    p.refunded += refunded;
    f_.refunded += refunded;
  }
  for (const Effect& x : out.effects) {
    switch (x.type) {
      case EffectType::credit:
        if (x.kind == Kind::own) {
          f_.issued_own += x.points;
          p.paid += x.points;
        } else if (x.kind == Kind::upline) {
          if (f_.issued_upline.size() <= x.tier) f_.issued_upline.resize(x.tier + 1u);
          f_.issued_upline[x.tier] += x.points;
          p.paid += x.points;
        } else {
          f_.issued_adjust += x.points;
        }
        break;
      case EffectType::debit:
        if (x.kind == Kind::clawback) {
          f_.removed_clawback += x.points;
          p.clawed_back += x.points;
        } else if (x.kind == Kind::redeem) {
          f_.removed_redeem += x.points;
        } else {
          f_.removed_adjust += x.points;
        }
        break;
      case EffectType::promoted:
        if (f_.promotions.size() <= x.tier) f_.promotions.resize(x.tier + 1u);
        ++f_.promotions[x.tier];
        break;
      case EffectType::placed:
      case EffectType::reward: break;
    }
  }
}

SideFigures WhatIfSide::figures() const {
  SideFigures f = f_;
  const Plan& plan = engine_->plan();
  f.plan_name = plan.name;
  f.points_scale = plan.points_scale;
  f.money_scale = plan.money_scale;
  f.tier_names.clear();
  for (const Tier& t : plan.tiers) f.tier_names.push_back(t.name);
  f.issued_upline.resize(std::max(f.issued_upline.size(), plan.tiers.size()));
  f.promotions.resize(std::max(f.promotions.size(), plan.tiers.size()));
  f.digest = digest(engine_->state());
  f.applied = engine_->applied();
  f.rejected = engine_->rejected();
  f.census = engine_->census();
  f.balance_total = f.lifetime_total = 0;
  for (std::size_t i = 0; i < engine_->member_count(); ++i) {
    const MemberRecord& m = engine_->record_at(i);
    f.balance_total += m.balance;
    f.lifetime_total += m.lifetime;
  }
  return f;
}

// ---- both sides ---------------------------------------------------------------------------------

namespace {

// One side: applies the history to `engine` and, with o.forecast, records it per period and fits
// the side's forecast into `forecast` — on the side's own thread, from the same walk.
SideFigures run_side(Engine& engine, const History& history, const WhatIfOptions& o, const std::shared_ptr<const Plan>& switch_to,
                     std::atomic<bool>& abandon, SideForecast& forecast) {
  WhatIfSide side(engine, o.period);
  std::optional<PeriodRecorder> recorder;
  if (o.forecast > 0) recorder.emplace(o.period);
  Outcome out;
  const auto apply = [&](const Input& in) {
    if (recorder) recorder->before(engine, in);
    const bool ok = side.apply(in, out);
    if (recorder) recorder->after(engine, out);
    return ok;
  };
  bool switched = switch_to == nullptr;
  std::uint64_t last = 0;
  const auto switch_plan = [&] {
    const Event change = PlanChange{switch_to, "whatif", engine.clock()};
    if (!apply(Input(change)))
      throw WhatIfError(WhatIfError::Kind::plan_rejected, "plan b: rejected as a plan event after event " + std::to_string(*o.from) + ": " + std::string(code_name(out.code)) + ": " +
                        out.message);
    switched = true;
  };
  if (!switched && *o.from == 0) switch_plan();
  history([&](std::uint64_t seq, const Input& in) {
    if (abandon.load(std::memory_order_relaxed) || (o.until && seq > *o.until)) return false;
    apply(in);
    last = seq;
    if (!switched && seq >= *o.from) switch_plan();
    return true;
  });
  if (abandon.load()) return {};
  if (!switched)
    throw WhatIfError(WhatIfError::Kind::range, "from: " + std::to_string(*o.from) + " is past the last event applied (" + std::to_string(last) + ")");
  if (recorder) {
    std::size_t periods_seen = 0;
    try {
      std::vector<std::string> tiers;
      std::vector<PeriodHistory> periods = recorder->finish(engine, &tiers);
      periods_seen = periods.size();
      forecast.forecast = std::make_shared<const Forecast>(upline::forecast(std::move(periods), std::move(tiers), o.period, o.forecast));
    } catch (const std::invalid_argument& e) {  // too little history (or too many periods): the page says so
      forecast.unavailable = std::string(recorder->overflowed() || periods_seen >= 3 ? "no forecast: " : "too little history for a forecast: ") + e.what();
    }
  }
  return side.figures();
}

constexpr std::size_t max_forecast_periods = 10'000;

std::uint32_t member_index(const Engine& e, MemberId id) noexcept { return e.state().members.find(id); }

}  // namespace

WhatIf what_if(const Plan& a, const Plan& b, const History& history, const WhatIfOptions& options) {
  if (options.forecast > max_forecast_periods)
    throw std::invalid_argument("forecast: " + std::to_string(options.forecast) + " is more than " + std::to_string(max_forecast_periods) + " periods");
  if (options.from && options.until && *options.from > *options.until)
    throw WhatIfError(WhatIfError::Kind::range, "from: " + std::to_string(*options.from) + " is after until (" + std::to_string(*options.until) + ")");
  Engine ea(a);
  std::shared_ptr<const Plan> switch_to;
  std::optional<Engine> eb;
  if (options.from) {
    PlanFaults f = b.validate();
    if (!f.ok()) throw std::invalid_argument("invalid_plan: " + f.message());
    switch_to = std::make_shared<const Plan>(b);
    eb.emplace(a);
  } else {
    eb.emplace(b);
  }

  WhatIf w;
  w.options = options;
  std::atomic<bool> abandon{false};
  std::exception_ptr b_failed;
  {
    std::jthread side_b([&] {
      try {
        w.b = run_side(*eb, history, options, switch_to, abandon, w.forecast_b);
      } catch (...) {
        b_failed = std::current_exception();
        abandon = true;
      }
    });
    try {
      w.a = run_side(ea, history, options, nullptr, abandon, w.forecast_a);
    } catch (...) {
      abandon = true;
      side_b.join();
      throw;
    }
  }
  if (b_failed) std::rethrow_exception(b_failed);

  // The differences, member by member: side a in join order, then members only side b has.
  w.delta_scale = std::max(w.a.points_scale, w.b.points_scale);
  const i128 up_a = pow10_wide(w.delta_scale - w.a.points_scale), up_b = pow10_wide(w.delta_scale - w.b.points_scale);
  std::vector<TierMove> moves;
  std::vector<BalanceMove> changed;
  const auto compare = [&](MemberId id, std::uint32_t ia, std::uint32_t ib) {
    const MemberRecord* ra = ia == no_member ? nullptr : &ea.record_at(ia);
    const MemberRecord* rb = ib == no_member ? nullptr : &eb->record_at(ib);
    if (ra && rb && w.a.tier_names[ra->tier] != w.b.tier_names[rb->tier]) moves.push_back(TierMove{id, ra->tier, rb->tier});
    const BalanceMove m{id, ra ? ra->balance * up_a : 0, rb ? rb->balance * up_b : 0};
    if (m.delta() != 0) changed.push_back(m);
  };
  for (std::size_t i = 0; i < ea.member_count(); ++i) {
    const MemberId id = ea.record_at(i).id;
    compare(id, static_cast<std::uint32_t>(i), member_index(*eb, id));
  }
  for (std::size_t i = 0; i < eb->member_count(); ++i) {
    const MemberId id = eb->record_at(i).id;
    if (member_index(ea, id) == no_member) compare(id, no_member, static_cast<std::uint32_t>(i));
  }
  w.tier_moves = moves.size();
  std::sort(moves.begin(), moves.end(), [](const TierMove& x, const TierMove& y) { return x.member < y.member; });
  moves.resize(std::min(moves.size(), options.top));
  w.tier_moved = std::move(moves);

  std::vector<BalanceMove> gains, losses;
  for (const BalanceMove& m : changed) (m.delta() > 0 ? gains : losses).push_back(m);
  w.gaining = gains.size();
  w.losing = losses.size();
  const auto top = [&](std::vector<BalanceMove>& v, auto better) {
    const std::size_t n = std::min(v.size(), options.top);
    std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), v.end(), better);
    v.resize(n);
    return std::move(v);
  };
  w.gainers = top(gains, [](const BalanceMove& x, const BalanceMove& y) { return x.delta() != y.delta() ? x.delta() > y.delta() : x.member < y.member; });
  w.losers = top(losses, [](const BalanceMove& x, const BalanceMove& y) { return x.delta() != y.delta() ? x.delta() < y.delta() : x.member < y.member; });
  return w;
}

// ---- the report ----------------------------------------------------------------------------------

namespace {

void append_ratio(std::string& out, const std::optional<i128>& millionths) {
  if (millionths) out += '"' + format_wide_units(*millionths, 6) + '"';
  else out += "null";
}

void append_points(std::string& out, i128 units, int scale) {
  out += '"';
  out += format_wide_units(units, scale);
  out += '"';
}

void append_side(std::string& out, const SideFigures& f, Period period) {
  const int ps = f.points_scale, ms = f.money_scale;
  out += "{\"plan\":" + json_quote(f.plan_name) + ",\"digest\":\"" + f.digest + "\",\"applied\":" + std::to_string(f.applied) +
         ",\"rejected\":" + std::to_string(f.rejected) + ",\"census\":{";
  for (std::size_t t = 0; t < f.tier_names.size(); ++t) {
    if (t) out += ',';
    out += json_quote(f.tier_names[t]) + ':' + std::to_string(t < f.census.size() ? f.census[t] : 0);
  }
  out += "},\"balance_total\":";
  append_points(out, f.balance_total, ps);
  out += ",\"lifetime_total\":";
  append_points(out, f.lifetime_total, ps);
  out += ",\"issued\":{\"own\":";
  append_points(out, f.issued_own, ps);
  out += ",\"upline\":{";
  for (std::size_t t = 0; t < f.tier_names.size(); ++t) {
    if (t) out += ',';
    out += json_quote(f.tier_names[t]) + ':';
    append_points(out, f.issued_upline[t], ps);
  }
  out += "},\"adjust\":";
  append_points(out, f.issued_adjust, ps);
  out += "},\"removed\":{\"clawback\":";
  append_points(out, f.removed_clawback, ps);
  out += ",\"redeem\":";
  append_points(out, f.removed_redeem, ps);
  out += ",\"adjust\":";
  append_points(out, f.removed_adjust, ps);
  out += "},\"purchased\":";
  append_points(out, f.purchased, ms);
  out += ",\"refunded\":";
  append_points(out, f.refunded, ms);
  out += ",\"payout_ratio\":";
  append_ratio(out, f.payout_ratio_millionths());
  out += ",\"promotions\":{";
  for (std::size_t t = 0; t < f.tier_names.size(); ++t) {
    if (t) out += ',';
    out += json_quote(f.tier_names[t]) + ':' + std::to_string(f.promotions[t]);
  }
  out += "},\"periods\":[";
  for (std::size_t i = 0; i < f.periods.size(); ++i) {
    const PeriodFigures& p = f.periods[i];
    if (i) out += ',';
    out += "{\"period\":\"" + period_label(p.start, period) + "\",\"start\":" + std::to_string(p.start) + ",\"purchased\":";
    append_points(out, p.purchased, ms);
    out += ",\"refunded\":";
    append_points(out, p.refunded, ms);
    out += ",\"paid\":";
    append_points(out, p.paid, ps);
    out += ",\"clawed_back\":";
    append_points(out, p.clawed_back, ps);
    out += ",\"payout_ratio\":";
    append_ratio(out, f.payout_ratio_millionths(p));
    out += '}';
  }
  out += "]}";
}

void append_moves(std::string& out, const std::vector<BalanceMove>& moves, int scale) {
  out += '[';
  for (std::size_t i = 0; i < moves.size(); ++i) {
    if (i) out += ',';
    out += "{\"member\":" + std::to_string(moves[i].member) + ",\"a\":";
    append_points(out, moves[i].balance_a, scale);
    out += ",\"b\":";
    append_points(out, moves[i].balance_b, scale);
    out += ",\"delta\":";
    append_points(out, moves[i].delta(), scale);
    out += '}';
  }
  out += ']';
}

void append_optional(std::string& out, const std::optional<std::uint64_t>& v) { out += v ? std::to_string(*v) : "null"; }

}  // namespace

void append_whatif_json(std::string& out, const WhatIf& w) {
  out += "{\"period\":\"";
  out += period_name(w.options.period);
  out += "\",\"from\":";
  append_optional(out, w.options.from);
  out += ",\"until\":";
  append_optional(out, w.options.until);
  out += ",\"a\":";
  append_side(out, w.a, w.options.period);
  out += ",\"b\":";
  append_side(out, w.b, w.options.period);
  out += ",\"differences\":{\"tier_moves\":" + std::to_string(w.tier_moves) + ",\"tier_moved\":[";
  for (std::size_t i = 0; i < w.tier_moved.size(); ++i) {
    const TierMove& m = w.tier_moved[i];
    if (i) out += ',';
    out += "{\"member\":" + std::to_string(m.member) + ",\"a\":" + json_quote(w.a.tier_names[m.tier_a]) + ",\"b\":" + json_quote(w.b.tier_names[m.tier_b]) + '}';
  }
  const i128 total = w.b.balance_total * pow10_wide(w.delta_scale - w.b.points_scale) - w.a.balance_total * pow10_wide(w.delta_scale - w.a.points_scale);
  out += "],\"balance_total\":";
  append_points(out, total, w.delta_scale);
  out += ",\"gaining\":" + std::to_string(w.gaining) + ",\"losing\":" + std::to_string(w.losing) + ",\"gainers\":";
  append_moves(out, w.gainers, w.delta_scale);
  out += ",\"losers\":";
  append_moves(out, w.losers, w.delta_scale);
  out += "}}";
}

}  // namespace upline
