// forecast.cpp — a shop projected forward with Eigen (forecast.hpp, docs/LAB.md). The only code of
// the project that uses floating point; it reads a history and writes a report, nothing else.
#include "upline/forecast.hpp"

#include "upline/json_text.hpp"

#include <Eigen/Dense>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>

namespace upline {

namespace {

std::vector<std::uint64_t> census_of(const Engine& e, std::size_t tiers) {
  std::vector<std::uint64_t> c = e.census();
  c.resize(tiers, 0);
  return c;
}

// 10^scale, exactly (every power up to 10^22 is a double), without a pow() per effect.
constexpr double powers_of_ten[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
double units_to(std::int64_t units, int scale) {
  const double p = scale >= 0 && scale < static_cast<int>(std::size(powers_of_ten)) ? powers_of_ten[scale] : std::pow(10.0, scale);
  return static_cast<double>(units) / p;
}

double sum(const std::vector<std::uint64_t>& v) {
  double s = 0;
  for (const std::uint64_t x : v) s += static_cast<double>(x);
  return s;
}

}  // namespace

namespace {
constexpr std::size_t max_periods = 100'000;
}  // namespace

void PeriodRecorder::open(const Engine& e, Time start) {
  const std::size_t tiers = e.plan().tiers.size();
  PeriodHistory p;
  p.start = start;
  p.census_start = census_of(e, tiers);
  p.promoted_from.assign(tiers, 0);
  p.money.assign(tiers, 0.0);
  p.paid.assign(tiers, 0.0);
  h_.push_back(std::move(p));
  end_ = period_end(start, period_);
}

void PeriodRecorder::close(const Engine& e) { h_.back().census_end = census_of(e, e.plan().tiers.size()); }

void PeriodRecorder::before(const Engine& e, const Input& in) {
  event_ = nullptr;
  if (overflowed_) return;
  const Event* ev = in.event();
  if (ev == nullptr) return;  // a fault: counted by the engine, nothing else
  // Its period: the applied time max(clock, at) (SPEC §4.2) — known before it is applied. Every
  // period up to it is opened, empty ones too, so that the periods are consecutive steps.
  const Time t = std::max(e.clock(), event_time(*ev));
  if (h_.empty()) open(e, period_start(t, period_));
  // Applied times never go back: most events fall in the open period, [start, end_).
  const bool in_open_period = t >= h_.back().start && t < end_;
  while (!in_open_period && period_start(t, period_) != h_.back().start) {  // every period up to t's, consecutively
    if (h_.size() >= max_periods) {
      overflowed_ = true;
      return;
    }
    close(e);
    open(e, end_);
  }
  // The buyer's tier (a refund's: the buyer's tier now) and the order's refunded money before.
  buyer_tier_ = 0;
  refunded_before_ = 0;
  order_ = Ledger::none;
  const Ledger& ledger = e.state().ledger;
  if (const auto* p = std::get_if<Purchase>(ev)) {
    buyer_tier_ = e.tier_of(p->member).value_or(0);
  } else if (const auto* r = std::get_if<Refund>(ev)) {
    order_ = ledger.find_order(r->order);
    if (order_ != Ledger::none) {
      refunded_before_ = ledger.order(order_).refunded;
      buyer_tier_ = e.record_at(ledger.order(order_).member).tier;
    }
  }
  event_ = ev;
}

void PeriodRecorder::after(const Engine& e, const Outcome& out) {
  const Event* ev = event_;
  event_ = nullptr;
  if (ev == nullptr || !out.ok()) return;
  const Ledger& ledger = e.state().ledger;
  PeriodHistory& p = h_.back();
  if (p.money.size() < e.plan().tiers.size()) {  // a plan event added tiers
    const std::size_t n = e.plan().tiers.size();
    p.money.resize(n, 0.0);
    p.paid.resize(n, 0.0);
    p.promoted_from.resize(n, 0);
  }
  const int ms = e.plan().money_scale, ps = e.plan().points_scale;
  if (std::holds_alternative<Join>(*ev)) ++p.joins;
  if (std::holds_alternative<Purchase>(*ev)) p.money[buyer_tier_] += units_to(ledger.order(static_cast<std::uint32_t>(ledger.order_count() - 1)).amount, ms);
  if (std::holds_alternative<Refund>(*ev)) p.money[buyer_tier_] -= units_to(ledger.order(order_).refunded - refunded_before_, ms);
  for (const Effect& x : out.effects) {
    if (x.type == EffectType::promoted) ++p.promoted_from[x.from];
    if (x.type == EffectType::credit && (x.kind == Kind::own || x.kind == Kind::upline)) p.paid[buyer_tier_] += units_to(x.points, ps);
    if (x.type == EffectType::debit && x.kind == Kind::clawback) p.paid[buyer_tier_] -= units_to(x.points, ps);
  }
}

std::vector<PeriodHistory> PeriodRecorder::finish(const Engine& e, std::vector<std::string>* tier_names) {
  if (overflowed_)
    throw std::invalid_argument("the history spans more than " + std::to_string(max_periods) + " " + period_name(period_) +
                                "s: give a longer --period");
  if (tier_names) {
    tier_names->clear();
    for (const Tier& t : e.plan().tiers) tier_names->push_back(t.name);
  }
  std::vector<PeriodHistory> h = std::move(h_);
  h_.clear();
  if (h.empty()) return h;
  h.back().census_end = census_of(e, e.plan().tiers.size());
  const std::size_t tiers_now = e.plan().tiers.size();
  for (PeriodHistory& p : h) {  // every period the same width, the plan's final tier count
    p.census_start.resize(tiers_now, 0);
    p.census_end.resize(tiers_now, 0);
    p.promoted_from.resize(tiers_now, 0);
    p.money.resize(tiers_now, 0.0);
    p.paid.resize(tiers_now, 0.0);
  }
  if (h.size() > 1) h.pop_back();  // the period being filled when the history ended
  return h;
}

std::vector<PeriodHistory> period_history(const Plan& plan, const History& history, Period period, std::vector<std::string>* tier_names) {
  Engine e(plan);
  PeriodRecorder recorder(period);
  Outcome out;
  history([&](std::uint64_t, const Input& in) {
    recorder.before(e, in);
    if (recorder.overflowed()) return false;  // finish() says so
    e.apply(in, out);
    recorder.after(e, out);
    return true;
  });
  return recorder.finish(e, tier_names);
}

ForecastFit fit_forecast(const std::vector<PeriodHistory>& history, std::size_t first, std::size_t count) {
  if (count == 0 || first + count > history.size()) throw std::invalid_argument("fit_forecast: no periods to fit on");
  const std::size_t tiers = history[first].census_start.size();
  ForecastFit f;
  f.periods = count;
  // Sign-ups: least squares of joins_t = intercept + slope·t.
  Eigen::MatrixXd a(static_cast<Eigen::Index>(count), 2);
  Eigen::VectorXd b(static_cast<Eigen::Index>(count));
  for (std::size_t t = 0; t < count; ++t) {
    a(static_cast<Eigen::Index>(t), 0) = 1.0;
    a(static_cast<Eigen::Index>(t), 1) = static_cast<double>(first + t);
    b(static_cast<Eigen::Index>(t)) = static_cast<double>(history[first + t].joins);
  }
  if (count == 1) {
    f.joins_intercept = b(0);
  } else {
    const Eigen::VectorXd x = a.colPivHouseholderQr().solve(b);
    f.joins_intercept = x(0);
    f.joins_slope = x(1);
  }
  // Transitions and per-member figures, pooled over the periods.
  f.transition.assign(tiers, std::vector<double>(tiers, 0.0));
  f.money_per_member.assign(tiers, 0.0);
  f.paid_per_member.assign(tiers, 0.0);
  for (std::size_t i = 0; i < tiers; ++i) {
    double at_start = 0, promoted = 0, present = 0, money = 0, paid = 0;
    for (std::size_t t = first; t < first + count; ++t) {
      const PeriodHistory& p = history[t];
      at_start += static_cast<double>(p.census_start[i]);
      promoted += static_cast<double>(p.promoted_from[i]);
      present += (static_cast<double>(p.census_start[i]) + static_cast<double>(p.census_end[i])) / 2;
      money += p.money[i];
      paid += p.paid[i];
    }
    const double rate = i + 1 < tiers && at_start > 0 ? std::min(1.0, promoted / at_start) : 0.0;
    f.transition[i][i] = 1.0 - rate;
    if (i + 1 < tiers) f.transition[i][i + 1] = rate;
    f.money_per_member[i] = present > 0 ? money / present : 0.0;
    f.paid_per_member[i] = present > 0 ? paid / present : 0.0;
  }
  return f;
}

std::vector<ProjectedPeriod> project(const ForecastFit& fit, std::vector<double> census, std::size_t t0, Time start, Period period,
                                     std::size_t periods) {
  const auto tiers = static_cast<Eigen::Index>(fit.transition.size());
  Eigen::MatrixXd p(tiers, tiers);
  for (Eigen::Index i = 0; i < tiers; ++i)
    for (Eigen::Index j = 0; j < tiers; ++j) p(i, j) = fit.transition[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
  const Eigen::Map<const Eigen::VectorXd> money(fit.money_per_member.data(), tiers), paid(fit.paid_per_member.data(), tiers);
  census.resize(static_cast<std::size_t>(tiers), 0.0);
  Eigen::RowVectorXd c = Eigen::Map<const Eigen::RowVectorXd>(census.data(), tiers);
  std::vector<ProjectedPeriod> out;
  for (std::size_t k = 0; k < periods; ++k) {
    const Eigen::RowVectorXd before = c;
    c = c * p;
    if (tiers > 0) c(0) += std::max(0.0, fit.joins_intercept + fit.joins_slope * static_cast<double>(t0 + k));
    const Eigen::RowVectorXd mid = (before + c) / 2;
    ProjectedPeriod q;
    q.start = start;
    q.census.assign(c.data(), c.data() + tiers);
    q.members = c.sum();
    q.money = mid.dot(money);
    q.paid = mid.dot(paid);
    if (q.money > 0) q.payout_ratio = q.paid / q.money;
    out.push_back(std::move(q));
    start = period_end(start, period);
  }
  return out;
}

Forecast forecast(const Plan& plan, const History& history, Period period, std::size_t periods) {
  std::vector<std::string> tier_names;
  std::vector<PeriodHistory> h = period_history(plan, history, period, &tier_names);
  return forecast(std::move(h), std::move(tier_names), period, periods);
}

Forecast forecast(std::vector<PeriodHistory> history, std::vector<std::string> tier_names, Period period, std::size_t periods) {
  Forecast f;
  f.period = period;
  f.history = std::move(history);
  f.tier_names = std::move(tier_names);
  if (f.history.size() < 3)
    throw std::invalid_argument("the history spans " + std::to_string(f.history.size()) + " complete " + period_name(period) +
                                (f.history.size() == 1 ? "" : "s") + ": a forecast needs at least 3 (two to fit on, one to backtest)");
  const std::size_t n = f.history.size();
  f.fit = fit_forecast(f.history, 0, n);
  const auto census = [](const std::vector<std::uint64_t>& c) {
    std::vector<double> v;
    for (const std::uint64_t x : c) v.push_back(static_cast<double>(x));
    return v;
  };
  f.projection = project(f.fit, census(f.history.back().census_end), n, period_end(f.history.back().start, period), period, periods);

  const std::size_t k = std::max<std::size_t>(2, n * 2 / 3);
  f.backtest_fit = fit_forecast(f.history, 0, k);
  const std::vector<ProjectedPeriod> test = project(f.backtest_fit, census(f.history[k].census_start), k, f.history[k].start, period, n - k);
  double ape = 0, ae = 0;
  std::size_t ape_n = 0, ae_n = 0;
  for (std::size_t i = 0; i < test.size(); ++i) {
    const PeriodHistory& actual = f.history[k + i];
    BacktestRow row;
    row.start = actual.start;
    row.actual_members = sum(actual.census_end);
    row.projected_members = test[i].members;
    double money = 0, paid = 0;
    for (std::size_t t = 0; t < actual.money.size(); ++t) {
      money += actual.money[t];
      paid += actual.paid[t];
    }
    if (money > 0) row.actual_ratio = paid / money;
    row.projected_ratio = test[i].payout_ratio;
    if (row.actual_members > 0) {
      ape += std::abs(row.projected_members - row.actual_members) / row.actual_members;
      ++ape_n;
    }
    if (row.actual_ratio && row.projected_ratio) {
      ae += std::abs(*row.projected_ratio - *row.actual_ratio);
      ++ae_n;
    }
    f.backtest.push_back(row);
  }
  if (ape_n) f.members_mape = 100.0 * ape / static_cast<double>(ape_n);
  if (ae_n) f.ratio_mae = ae / static_cast<double>(ae_n);
  return f;
}

namespace {

std::string num(double v) {
  std::string s = fmt::format("{:.6f}", v);
  if (s == "-0.000000") s = "0.000000";
  return s;
}
std::string opt(const std::optional<double>& v) { return v ? num(*v) : std::string("null"); }

void append_fit(std::string& out, const ForecastFit& f, const std::vector<std::string>& names) {
  out += fmt::format(R"({{"periods":{},"joins":{{"intercept":{},"slope":{}}},"transition":[)", f.periods, num(f.joins_intercept), num(f.joins_slope));
  for (std::size_t i = 0; i < f.transition.size(); ++i) {
    out += i ? ",[" : "[";
    for (std::size_t j = 0; j < f.transition[i].size(); ++j) out += (j ? "," : "") + num(f.transition[i][j]);
    out += ']';
  }
  out += R"(],"money_per_member":{)";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + json_quote(names[i]) + ':' + num(f.money_per_member[i]);
  out += R"(},"paid_per_member":{)";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + json_quote(names[i]) + ':' + num(f.paid_per_member[i]);
  out += "}}";
}

}  // namespace

std::string forecast_json(const Forecast& f) {
  std::string out = fmt::format(R"({{"period":"{}","tiers":[)", period_name(f.period));
  for (std::size_t i = 0; i < f.tier_names.size(); ++i) out += (i ? "," : "") + json_quote(f.tier_names[i]);
  out += R"(],"history":[)";
  for (std::size_t i = 0; i < f.history.size(); ++i) {
    const PeriodHistory& p = f.history[i];
    double money = 0, paid = 0;
    for (std::size_t t = 0; t < p.money.size(); ++t) {
      money += p.money[t];
      paid += p.paid[t];
    }
    out += fmt::format(R"({}{{"period":"{}","start":{},"joins":{},"members":{},"payout_ratio":{}}})", i ? "," : "", period_label(p.start, f.period),
                       p.start, p.joins, static_cast<std::uint64_t>(sum(p.census_end)), money > 0 ? num(paid / money) : std::string("null"));
  }
  out += R"(],"fit":)";
  append_fit(out, f.fit, f.tier_names);
  out += R"(,"forecast":[)";
  for (std::size_t i = 0; i < f.projection.size(); ++i) {
    const ProjectedPeriod& q = f.projection[i];
    out += fmt::format(R"({}{{"period":"{}","start":{},"members":{},"census":{{)", i ? "," : "", period_label(q.start, f.period), q.start, num(q.members));
    for (std::size_t t = 0; t < f.tier_names.size(); ++t) out += (t ? "," : "") + json_quote(f.tier_names[t]) + ':' + num(q.census[t]);
    out += fmt::format(R"(}},"money":{},"paid":{},"payout_ratio":{}}})", num(q.money), num(q.paid), opt(q.payout_ratio));
  }
  out += R"(],"backtest":{"fit":)";
  append_fit(out, f.backtest_fit, f.tier_names);
  out += R"(,"periods":[)";
  for (std::size_t i = 0; i < f.backtest.size(); ++i) {
    const BacktestRow& r = f.backtest[i];
    out += fmt::format(R"({}{{"period":"{}","actual_members":{},"projected_members":{},"actual_ratio":{},"projected_ratio":{}}})", i ? "," : "",
                       period_label(r.start, f.period), num(r.actual_members), num(r.projected_members), opt(r.actual_ratio), opt(r.projected_ratio));
  }
  out += fmt::format(R"(],"members_mape_percent":{},"payout_ratio_mae":{}}}}})", opt(f.members_mape), opt(f.ratio_mae));
  out += '\n';
  return out;
}

}  // namespace upline
