// whatif_html.cpp — the what-if report as one self-contained HTML page (whatif.hpp,
// docs/LAB.md): tables of both sides' figures and three SVG charts (payout ratio per period, census
// by tier, top movers), every coordinate computed in integers so that a report gives the same bytes
// on every machine. The page's one script only checks, in the browser, that the charts rendered
// (tests/lab/html_report.py reads the mark it leaves).
#include "upline/whatif.hpp"

#include "upline/forecast.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

namespace upline {

namespace {

constexpr const char* colour_a = "#1f6fb2";
constexpr const char* colour_b = "#e07b1a";

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string num(i128 v) { return format_wide_units(v, 0); }

// v scaled from [lo, hi] onto [0, span] (lo < hi), in integers, rounded down.
i128 scale_to(i128 v, i128 lo, i128 hi, i128 span) { return (v - lo) * span / (hi - lo); }

std::string ratio_text(const std::optional<i128>& r) { return r ? format_wide_units(*r, 6) : std::string("—"); }

// Thousands separators for an integer text ("-1234567.89" → "-1,234,567.89").
std::string grouped(std::string s) {
  const std::size_t sign = !s.empty() && s[0] == '-' ? 1 : 0;
  std::size_t dot = s.find('.');
  if (dot == std::string::npos) dot = s.size();
  for (std::size_t i = dot; i > sign + 3; i -= 3) s.insert(i - 3, ",");
  return s;
}

std::string points(i128 v, int scale) { return grouped(format_wide_units(v, scale)); }

struct Frame {
  int width = 760, height = 280, left = 72, right = 24, top = 24, bottom = 48;
  int plot_w() const { return width - left - right; }
  int plot_h() const { return height - top - bottom; }
};

void svg_open(std::string& out, const Frame& f, const std::string& label) {
  out += "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"" + html_escape(label) + "\" width=\"" +
         std::to_string(f.width) + "\" height=\"" + std::to_string(f.height) + "\" viewBox=\"0 0 " + std::to_string(f.width) + ' ' +
         std::to_string(f.height) + "\">";
  out += "<rect x=\"" + std::to_string(f.left) + "\" y=\"" + std::to_string(f.top) + "\" width=\"" + std::to_string(f.plot_w()) +
         "\" height=\"" + std::to_string(f.plot_h()) + "\" fill=\"#fafafa\" stroke=\"#ccc\"/>";
}

void text(std::string& out, i128 x, i128 y, const std::string& s, const char* anchor = "start", const char* extra = "") {
  out += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\"" + extra + ">" + html_escape(s) + "</text>";
}

// The payout ratio of each side per period, on the union of both sides' periods.
void ratio_chart(std::string& out, const WhatIf& w) {
  const Frame f;
  std::set<Time> starts;
  for (const SideFigures* s : {&w.a, &w.b})
    for (const PeriodFigures& p : s->periods) starts.insert(p.start);
  const std::vector<Time> xs(starts.begin(), starts.end());
  std::map<Time, std::size_t> at;
  for (std::size_t i = 0; i < xs.size(); ++i) at[xs[i]] = i;
  std::optional<i128> lo, hi;
  for (const SideFigures* s : {&w.a, &w.b})
    for (const PeriodFigures& p : s->periods)
      if (const auto r = s->payout_ratio_millionths(p)) {
        lo = lo ? std::min(*lo, *r) : *r;
        hi = hi ? std::max(*hi, *r) : *r;
      }
  svg_open(out, f, "payout ratio per period, plan a and plan b");
  if (!lo) {
    text(out, f.left + f.plot_w() / 2, f.top + f.plot_h() / 2, "no period with money in it", "middle");
    out += "</svg>";
    return;
  }
  const i128 pad = (*hi - *lo) / 10 + 1000;  // at least 0.001 of room above and below
  const i128 y_lo = *lo - pad, y_hi = *hi + pad;
  const auto x_of = [&](std::size_t i) -> i128 { return f.left + (xs.size() < 2 ? f.plot_w() / 2 : i128(i) * f.plot_w() / i128(xs.size() - 1)); };
  const auto y_of = [&](i128 v) -> i128 { return f.top + f.plot_h() - scale_to(v, y_lo, y_hi, f.plot_h()); };
  // Grid and labels: the bottom, the middle and the top of the range.
  for (const i128 v : {y_lo, (y_lo + y_hi) / 2, y_hi}) {
    out += "<line x1=\"" + std::to_string(f.left) + "\" x2=\"" + std::to_string(f.left + f.plot_w()) + "\" y1=\"" + num(y_of(v)) + "\" y2=\"" +
           num(y_of(v)) + "\" stroke=\"#e2e2e2\"/>";
    text(out, f.left - 6, y_of(v) + 4, format_wide_units(v / 1000, 3), "end");
  }
  const Period period = w.options.period;
  for (const std::size_t i : {std::size_t{0}, xs.size() / 2, xs.size() - 1}) {
    text(out, x_of(i), f.top + f.plot_h() + 18, period_label(xs[i], period), "middle");
    if (xs.size() == 1) break;
  }
  text(out, f.left + f.plot_w() / 2, f.height - 8, "period (" + std::string(period_name(period)) + ", UTC)", "middle");
  // One polyline per run of periods that have a ratio; a dot per point.
  for (const auto& series : {std::pair{&w.a, colour_a}, std::pair{&w.b, colour_b}}) {
    const SideFigures* const side = series.first;
    const char* const colour = series.second;  // (a structured binding cannot be captured in C++20)
    std::string run;
    std::size_t points_in_run = 0;
    const auto flush = [&] {
      if (points_in_run > 1) out += "<polyline class=\"ratio\" fill=\"none\" stroke=\"" + std::string(colour) + "\" stroke-width=\"2\" points=\"" + run + "\"/>";
      run.clear();
      points_in_run = 0;
    };
    for (const PeriodFigures& p : side->periods) {
      const auto r = side->payout_ratio_millionths(p);
      if (!r) {
        flush();
        continue;
      }
      const i128 x = x_of(at[p.start]), y = y_of(*r);
      if (!run.empty()) run += ' ';
      run += num(x) + ',' + num(y);
      ++points_in_run;
      out += "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"2.5\" fill=\"" + colour + "\"><title>" +
             html_escape(period_label(p.start, period)) + ": " + format_wide_units(*r, 6) + "</title></circle>";
    }
    flush();
  }
  // The legend.
  int y = f.top + 14;
  for (const auto& [label, colour] : {std::pair{"a: " + w.a.plan_name, colour_a}, std::pair{"b: " + w.b.plan_name, colour_b}}) {
    out += "<rect x=\"" + std::to_string(f.left + 10) + "\" y=\"" + std::to_string(y - 9) + "\" width=\"12\" height=\"10\" fill=\"" + colour + "\"/>";
    text(out, f.left + 28, y, label);
    y += 16;
  }
  out += "</svg>";
}

// Members per tier, a and b side by side (tiers by name: a's, then b's that a has not).
void census_chart(std::string& out, const WhatIf& w) {
  const Frame f;
  std::vector<std::string> names = w.a.tier_names;
  for (const std::string& n : w.b.tier_names)
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  const auto count = [](const SideFigures& s, const std::string& name) -> std::uint64_t {
    for (std::size_t t = 0; t < s.tier_names.size(); ++t)
      if (s.tier_names[t] == name) return t < s.census.size() ? s.census[t] : 0;
    return 0;
  };
  std::uint64_t top = 1;
  for (const std::string& n : names) top = std::max({top, count(w.a, n), count(w.b, n)});
  svg_open(out, f, "members per tier, plan a and plan b");
  const i128 slot = f.plot_w() / i128(std::max<std::size_t>(names.size(), 1));
  const i128 bar = std::max<i128>(slot / 3, 1);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const i128 x0 = f.left + i128(i) * slot + (slot - 2 * bar) / 2;
    for (int side = 0; side < 2; ++side) {
      const std::uint64_t c = count(side == 0 ? w.a : w.b, names[i]);
      const i128 h = i128(c) * f.plot_h() / i128(top);
      const i128 x = x0 + side * bar;
      out += "<rect class=\"bar\" x=\"" + num(x) + "\" y=\"" + num(f.top + f.plot_h() - h) + "\" width=\"" + num(bar - 2) + "\" height=\"" + num(h) +
             "\" fill=\"" + (side == 0 ? colour_a : colour_b) + "\"><title>" + html_escape(names[i]) + (side == 0 ? " (a): " : " (b): ") +
             std::to_string(c) + "</title></rect>";
      text(out, x + (bar - 2) / 2, f.top + f.plot_h() - h - 4, grouped(std::to_string(c)), "middle", " font-size=\"11\"");
    }
    text(out, x0 + bar, f.top + f.plot_h() + 18, names[i], "middle");
  }
  text(out, f.left - 6, f.top + 10, grouped(std::to_string(top)), "end");
  text(out, f.left - 6, f.top + f.plot_h(), "0", "end");
  out += "</svg>";
}

// The top gainers and losers: one horizontal bar each, scaled to the largest move.
void movers_chart(std::string& out, const WhatIf& w) {
  std::vector<const BalanceMove*> rows;
  for (const BalanceMove& m : w.gainers) rows.push_back(&m);
  for (const BalanceMove& m : w.losers) rows.push_back(&m);
  Frame f;
  f.left = 110;
  f.height = f.top + f.bottom + 18 * static_cast<int>(std::max<std::size_t>(rows.size(), 1));
  svg_open(out, f, "top gainers and losers by balance, plan b against plan a");
  i128 most = 1;
  for (const BalanceMove* m : rows) most = std::max(most, m->delta() < 0 ? -m->delta() : m->delta());
  const i128 zero = f.left + f.plot_w() / 2, half = f.plot_w() / 2 - 4;
  out += "<line x1=\"" + num(zero) + "\" x2=\"" + num(zero) + "\" y1=\"" + std::to_string(f.top) + "\" y2=\"" + std::to_string(f.top + f.plot_h()) +
         "\" stroke=\"#999\"/>";
  if (rows.empty()) text(out, zero, f.top + 14, "no member's balance differs", "middle");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const BalanceMove& m = *rows[i];
    const i128 d = m.delta();
    const i128 len = std::max<i128>((d < 0 ? -d : d) * half / most, 1);
    const i128 y = f.top + 3 + i128(i) * 18;
    out += "<rect class=\"move\" x=\"" + num(d < 0 ? zero - len : zero) + "\" y=\"" + num(y) + "\" width=\"" + num(len) + "\" height=\"13\" fill=\"" +
           (d < 0 ? "#c0392b" : "#27ae60") + "\"><title>member " + std::to_string(m.member) + ": " + points(d, w.delta_scale) + "</title></rect>";
    text(out, f.left - 6, y + 11, "member " + std::to_string(m.member), "end");
    text(out, d < 0 ? zero + 6 : zero - 6, y + 11, points(d, w.delta_scale), d < 0 ? "start" : "end", " font-size=\"11\"");
  }
  text(out, f.left + f.plot_w() / 2, f.height - 8, "balance on b minus balance on a", "middle");
  out += "</svg>";
}

void row(std::string& out, const std::string& what, const std::string& a, const std::string& b, const char* cls = nullptr) {
  const std::string td = cls ? "<td class=\"" + std::string(cls) + "\">" : std::string("<td>");
  out += "<tr><th>" + html_escape(what) + "</th>" + td + html_escape(a) + "</td>" + td + html_escape(b) + "</td></tr>";
}

void figures_table(std::string& out, const WhatIf& w) {
  const SideFigures &a = w.a, &b = w.b;
  out += "<table class=\"figures\"><tr><th></th><th>a: " + html_escape(a.plan_name) + "</th><th>b: " + html_escape(b.plan_name) + "</th></tr>";
  row(out, "payout ratio (points per money unit)", ratio_text(a.payout_ratio_millionths()), ratio_text(b.payout_ratio_millionths()));
  row(out, "events applied / rejected", std::to_string(a.applied) + " / " + std::to_string(a.rejected), std::to_string(b.applied) + " / " + std::to_string(b.rejected));
  row(out, "purchased", points(a.purchased, a.money_scale), points(b.purchased, b.money_scale));
  row(out, "refunded", points(a.refunded, a.money_scale), points(b.refunded, b.money_scale));
  row(out, "issued: own", points(a.issued_own, a.points_scale), points(b.issued_own, b.points_scale));
  const std::size_t tiers = std::max(a.tier_names.size(), b.tier_names.size());
  for (std::size_t t = 0; t < tiers; ++t) {
    const auto cell = [&](const SideFigures& s) {
      return t < s.tier_names.size() ? s.tier_names[t] + ": " + points(s.issued_upline[t], s.points_scale) : std::string("—");
    };
    row(out, "issued: upline through tier " + std::to_string(t), cell(a), cell(b));
  }
  row(out, "issued: adjust", points(a.issued_adjust, a.points_scale), points(b.issued_adjust, b.points_scale));
  row(out, "removed: clawback", points(a.removed_clawback, a.points_scale), points(b.removed_clawback, b.points_scale));
  row(out, "removed: redeem", points(a.removed_redeem, a.points_scale), points(b.removed_redeem, b.points_scale));
  row(out, "removed: adjust", points(a.removed_adjust, a.points_scale), points(b.removed_adjust, b.points_scale));
  row(out, "balances outstanding", points(a.balance_total, a.points_scale), points(b.balance_total, b.points_scale));
  row(out, "lifetime points", points(a.lifetime_total, a.points_scale), points(b.lifetime_total, b.points_scale));
  for (std::size_t t = 0; t < tiers; ++t) {
    const auto cell = [&](const SideFigures& s) {
      return t < s.tier_names.size() ? s.tier_names[t] + ": " + grouped(std::to_string(s.census[t])) + " members, " +
                                           grouped(std::to_string(s.promotions[t])) + " promotions"
                                     : std::string("—");
    };
    row(out, "tier " + std::to_string(t), cell(a), cell(b));
  }
  row(out, "digest (SPEC §10.5)", a.digest, b.digest, "digest");
  out += "</table>";
}

// ---- the forecasts ---------------------------------------------------------------------------
// A forecast's figures are doubles: each is rounded once to a whole pixel (llround) and to a fixed
// number of decimals for its text, so that the same forecast gives the same bytes.

constexpr const char* tier_colours[] = {"#8fb9dd", "#1f6fb2", "#9fd18b", "#2e8b3a", "#f4a3a0", "#c0392b", "#f8c471", "#e07b1a", "#c3aed6", "#6a3d9a"};

// Like forecast_json's: 6 decimals, no negative zero.
std::string fixed6(double v) {
  std::string s = fmt::format("{:.6f}", v);
  if (s == "-0.000000") s = "0.000000";
  return s;
}
std::string fixed6(const std::optional<double>& v) { return v ? fixed6(*v) : std::string("—"); }
std::string members_text(double v) {
  std::string s = fmt::format("{:.1f}", v);
  if (s == "-0.0") s = "0.0";
  return grouped(s);
}

// v on [lo, hi] (lo < hi) as a pixel offset on [0, span], rounded to the nearest, clamped.
i128 px(double v, double lo, double hi, int span) {
  const double r = (v - lo) / (hi - lo) * span;
  if (!(r > 0)) return 0;  // NaN too
  if (r >= span) return span;
  return static_cast<i128>(std::llround(r));
}

std::string dashed(bool d) { return d ? " stroke-dasharray=\"6 4\"" : ""; }

void legend(std::string& out, int x, int y, const std::vector<std::pair<std::string, const char*>>& entries) {
  for (const auto& entry : entries) {
    out += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y - 9) + "\" width=\"12\" height=\"10\" fill=\"" + entry.second + "\"/>";
    text(out, x + 18, y, entry.first);
    y += 16;
  }
}

// One line per series over `labels.size()` x positions; a point may be absent (nullopt or not
// finite), which breaks the line; each point's tooltip names its series, period and value.
struct Series {
  std::string name;
  const char* colour;
  bool dashed;
  std::vector<std::optional<double>> values;
};

void line_chart(std::string& out, const std::string& label, const std::vector<std::string>& xs, const std::vector<Series>& series, int decimals,
                const std::string& x_title) {
  const Frame f;
  svg_open(out, f, label);
  std::optional<double> lo, hi;
  for (const Series& s : series)
    for (const std::optional<double>& v : s.values)
      if (v && std::isfinite(*v)) {
        lo = lo ? std::min(*lo, *v) : *v;
        hi = hi ? std::max(*hi, *v) : *v;
      }
  if (!lo || xs.empty()) {
    text(out, f.left + f.plot_w() / 2, f.top + f.plot_h() / 2, "nothing to draw", "middle");
    out += "</svg>";
    return;
  }
  const double pad = std::max((*hi - *lo) / 10, std::max(std::abs(*hi), 1.0) * 1e-3);
  const double y_lo = *lo - pad, y_hi = *hi + pad;
  const auto x_of = [&](std::size_t i) -> i128 { return f.left + (xs.size() < 2 ? f.plot_w() / 2 : i128(i) * f.plot_w() / i128(xs.size() - 1)); };
  const auto y_of = [&](double v) -> i128 { return f.top + f.plot_h() - px(v, y_lo, y_hi, f.plot_h()); };
  const auto value_text = [decimals](double v) { return decimals == 1 ? members_text(v) : fmt::format("{:.{}f}", v, decimals); };
  for (const double v : {y_lo, (y_lo + y_hi) / 2, y_hi}) {
    out += "<line x1=\"" + std::to_string(f.left) + "\" x2=\"" + std::to_string(f.left + f.plot_w()) + "\" y1=\"" + num(y_of(v)) + "\" y2=\"" +
           num(y_of(v)) + "\" stroke=\"#e2e2e2\"/>";
    text(out, f.left - 6, y_of(v) + 4, decimals == 1 ? members_text(v) : fmt::format("{:.3f}", v), "end");
  }
  for (const std::size_t i : {std::size_t{0}, xs.size() / 2, xs.size() - 1}) {
    text(out, x_of(i), f.top + f.plot_h() + 18, xs[i], "middle");
    if (xs.size() == 1) break;
  }
  text(out, f.left + f.plot_w() / 2, f.height - 8, x_title, "middle");
  for (const Series& s : series) {
    std::string run;
    std::size_t in_run = 0;
    const auto flush = [&] {
      if (in_run > 1)
        out += "<polyline class=\"forecast\" fill=\"none\" stroke=\"" + std::string(s.colour) + "\" stroke-width=\"2\"" + dashed(s.dashed) + " points=\"" + run + "\"/>";
      run.clear();
      in_run = 0;
    };
    for (std::size_t i = 0; i < s.values.size() && i < xs.size(); ++i) {
      const std::optional<double>& v = s.values[i];
      if (!v || !std::isfinite(*v)) {
        flush();
        continue;
      }
      const i128 x = x_of(i), y = y_of(*v);
      if (!run.empty()) run += ' ';
      run += num(x) + ',' + num(y);
      ++in_run;
      out += "<circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"2.5\" fill=\"" + s.colour + "\"><title>" + html_escape(s.name + ", " + xs[i] + ": " + value_text(*v)) +
             "</title></circle>";
    }
    flush();
  }
  std::vector<std::pair<std::string, const char*>> entries;
  bool any_dashed = false;
  for (const Series& s : series) {
    entries.emplace_back(s.name, s.colour);
    any_dashed = any_dashed || s.dashed;
  }
  // The legend, inside the plot at its top left as in the report's ratio chart.
  if (any_dashed) {
    // Lines, dashed like their series.
    int y = f.top + 14;
    for (const Series& s : series) {
      out += "<line x1=\"" + std::to_string(f.left + 10) + "\" x2=\"" + std::to_string(f.left + 28) + "\" y1=\"" + std::to_string(y - 4) + "\" y2=\"" +
             std::to_string(y - 4) + "\" stroke=\"" + s.colour + "\" stroke-width=\"2\"" + dashed(s.dashed) + "/>";
      text(out, f.left + 34, y, s.name);
      y += 16;
    }
  } else {
    legend(out, f.left + 10, f.top + 14, entries);
  }
  out += "</svg>";
}

// Projected members per tier of one side, a stacked bar per period; `top`: the y scale's top,
// shared by both sides' charts.
void projected_census_chart(std::string& out, const std::string& side, const Forecast& fc, double top) {
  Frame f;
  f.right = 150;  // the tiers' legend
  svg_open(out, f, "projected members per tier, " + side);
  text(out, f.left, f.top - 8, side, "start", " font-weight=\"bold\"");
  const std::size_t n = fc.projection.size();
  const i128 slot = f.plot_w() / i128(std::max<std::size_t>(n, 1));
  const i128 bar = std::max<i128>(slot * 2 / 3, 1);
  for (std::size_t i = 0; i < n; ++i) {
    const ProjectedPeriod& q = fc.projection[i];
    const i128 x = f.left + i128(i) * slot + (slot - bar) / 2;
    double below = 0;
    for (std::size_t t = 0; t < q.census.size(); ++t) {
      const double v = std::isfinite(q.census[t]) && q.census[t] > 0 ? q.census[t] : 0.0;
      const i128 y0 = px(below, 0, top, f.plot_h()), y1 = px(below + v, 0, top, f.plot_h());
      below += v;
      if (y1 == y0) continue;
      out += "<rect class=\"projected\" x=\"" + num(x) + "\" y=\"" + num(f.top + f.plot_h() - y1) + "\" width=\"" + num(bar) + "\" height=\"" + num(y1 - y0) +
             "\" fill=\"" + tier_colours[t % std::size(tier_colours)] + "\"><title>" +
             html_escape(period_label(q.start, fc.period) + ", " + (t < fc.tier_names.size() ? fc.tier_names[t] : "tier " + std::to_string(t)) + ": " +
                         members_text(q.census[t])) +
             "</title></rect>";
    }
    if (i == 0 || i == n / 2 || i + 1 == n) text(out, x + bar / 2, f.top + f.plot_h() + 18, period_label(q.start, fc.period), "middle");
  }
  text(out, f.left - 6, f.top + 10, members_text(top), "end");
  text(out, f.left - 6, f.top + f.plot_h(), "0", "end");
  text(out, f.left + f.plot_w() / 2, f.height - 8, "projected " + std::string(period_name(fc.period)) + " (members at its end)", "middle");
  std::vector<std::pair<std::string, const char*>> entries;
  for (std::size_t t = 0; t < fc.tier_names.size(); ++t) entries.emplace_back(fc.tier_names[t], tier_colours[t % std::size(tier_colours)]);
  legend(out, f.left + f.plot_w() + 10, f.top + 14, entries);
  out += "</svg>";
}

void forecast_section(std::string& out, const WhatIf& w) {
  const Period period = w.options.period;
  const std::string per = period_name(period);
  out += "\n<h2 id=\"forecast\">Forecast: " + std::to_string(w.options.forecast) + " " + per + (w.options.forecast == 1 ? "" : "s") + " ahead</h2>\n";
  out += "<p class=\"note\">Each side's history per " + per +
         " — sign-ups as a linear trend, money bought and points paid per member of each tier, the tier-transition rates as a Markov "
         "matrix — projected forward (docs/LAB.md, “Forecasts”). Side b's history is ";
  if (w.options.from) out += "plan a's up to event " + std::to_string(*w.options.from) + ", then plan b's";
  else out += "plan b's from the start";
  out += ". A forecast is floating point, rounded here for display; it is never in the JSON report.</p>\n";
  struct Side {
    std::string name;
    const char* colour;
    const SideForecast* sf;
  };
  const Side sides[] = {{"a: " + w.a.plan_name, colour_a, &w.forecast_a}, {"b: " + w.b.plan_name, colour_b, &w.forecast_b}};
  std::vector<const Side*> ready;
  for (const Side& s : sides) {
    if (s.sf->forecast) ready.push_back(&s);
    else out += "<p class=\"no-forecast\">" + html_escape(s.name) + ": " + html_escape(s.sf->unavailable) + ".</p>\n";
  }
  if (ready.empty()) return;

  // Projected members per tier, one chart per side on one scale.
  double top = 1;
  for (const Side* s : ready)
    for (const ProjectedPeriod& q : s->sf->forecast->projection)
      if (std::isfinite(q.members)) top = std::max(top, q.members);
  out += "<h3>Projected members per tier</h3>\n";
  for (const Side* s : ready) projected_census_chart(out, s->name, *s->sf->forecast, top);

  // The projected payout ratio: the periods of the longer projection (both have N).
  std::vector<std::string> xs;
  for (const ProjectedPeriod& q : ready.front()->sf->forecast->projection) xs.push_back(period_label(q.start, period));
  std::vector<Series> ratio;
  for (const Side* s : ready) {
    Series r{s->name, s->colour, false, {}};
    for (const ProjectedPeriod& q : s->sf->forecast->projection) r.values.push_back(q.payout_ratio);
    ratio.push_back(std::move(r));
  }
  out += "\n<h3>Projected payout ratio</h3>\n";
  line_chart(out, "projected payout ratio, plan a and plan b", xs, ratio, 6, "projected " + per + " (UTC)");

  // The projection in figures.
  out += "\n<table class=\"projection\"><tr><th>" + per + "</th>";
  for (const Side* s : ready) out += "<th>members, " + html_escape(s->name.substr(0, 1)) + "</th>";
  for (const Side* s : ready) out += "<th>payout ratio, " + html_escape(s->name.substr(0, 1)) + "</th>";
  out += "</tr>";
  for (std::size_t i = 0; i < xs.size(); ++i) {
    out += "<tr><th>" + html_escape(xs[i]) + "</th>";
    for (const Side* s : ready) {
      const auto& p = s->sf->forecast->projection;
      out += "<td>" + (i < p.size() ? members_text(p[i].members) : std::string("—")) + "</td>";
    }
    for (const Side* s : ready) {
      const auto& p = s->sf->forecast->projection;
      out += "<td>" + (i < p.size() ? fixed6(p[i].payout_ratio) : std::string("—")) + "</td>";
    }
    out += "</tr>";
  }
  out += "</table>\n";

  // The backtest: fitted on the first two thirds of each side's history, projected over the last.
  out += "\n<h3>Backtest</h3>\n<p class=\"note\">Each side's model fitted again on the first two thirds of its history and run over the last "
         "third, against what happened.</p>\n<table class=\"backtest\"><tr><th></th>";
  for (const Side* s : ready) out += "<th>" + html_escape(s->name) + "</th>";
  out += "</tr>";
  const auto backtest_row = [&](const char* what, const char* cls, const auto& cell) {
    out += "<tr class=\"" + std::string(cls) + "\"><th>" + html_escape(what) + "</th>";
    for (const Side* s : ready) out += "<td>" + html_escape(cell(*s->sf->forecast)) + "</td>";
    out += "</tr>";
  };
  backtest_row("periods fitted on / tested on", "backtest-periods", [](const Forecast& fc) {
    return std::to_string(fc.backtest_fit.periods) + " / " + std::to_string(fc.backtest.size());
  });
  backtest_row("members: mean absolute percentage error (%)", "members-mape", [](const Forecast& fc) { return fixed6(fc.members_mape); });
  backtest_row("payout ratio: mean absolute error", "ratio-mae", [](const Forecast& fc) { return fixed6(fc.ratio_mae); });
  out += "</table>\n";
  std::vector<std::string> bx;
  for (const BacktestRow& r : ready.front()->sf->forecast->backtest) bx.push_back(period_label(r.start, period));
  std::vector<Series> members;
  for (const Side* s : ready) {
    const std::string letter = s->name.substr(0, 1);  // "a" or "b": the names are in the table above
    Series actual{letter + ": actual", s->colour, false, {}}, projected{letter + ": projected", s->colour, true, {}};
    for (const BacktestRow& r : s->sf->forecast->backtest) {
      actual.values.emplace_back(r.actual_members);
      projected.values.emplace_back(r.projected_members);
    }
    members.push_back(std::move(actual));
    members.push_back(std::move(projected));
  }
  line_chart(out, "backtest: members, projected against actual", bx, members, 1, per + " (UTC), the last third of the history");
}

}  // namespace

void append_whatif_html(std::string& out, const WhatIf& w) {
  const std::size_t page_start = out.size();
  const std::string title = "What-if: " + w.a.plan_name + " against " + w.b.plan_name;
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) + "</title>\n<style>"
         "body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:800px;color:#222}"
         "h1{font-size:20px}h2{font-size:16px;margin-top:28px}"
         "table{border-collapse:collapse;margin:8px 0;width:100%;table-layout:fixed}"
         "th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}"
         "th:first-child{text-align:left;font-weight:normal;color:#555;width:40%}td{font-variant-numeric:tabular-nums}"
         "td.digest{font:11px monospace;word-break:break-all}table.moves{width:60%}"
         "svg text{font:12px system-ui,sans-serif;fill:#333}.note{color:#666}h3{font-size:14px;margin-top:20px}"
         "</style></head>\n<body>\n";
  out += "<h1>" + html_escape(title) + "</h1>\n<p class=\"note\">The same history applied under plan a and plan b (";
  if (w.options.from) out += "plan b installed as a plan event after event " + std::to_string(*w.options.from);
  else out += "plan b in place of the initial plan";
  if (w.options.until) out += ", up to event " + std::to_string(*w.options.until);
  out += "). Exact figures; the JSON report has them all (docs/LAB.md).</p>\n";
  out += "<h2>Payout ratio per " + std::string(period_name(w.options.period)) + "</h2>\n";
  ratio_chart(out, w);
  out += "\n<h2>Figures</h2>\n";
  figures_table(out, w);
  out += "\n<h2>Members per tier</h2>\n";
  census_chart(out, w);
  out += "\n<h2>Who gains, who loses</h2>\n<p class=\"note\">" + grouped(std::to_string(w.gaining)) + " members hold more on b, " +
         grouped(std::to_string(w.losing)) + " less; " + grouped(std::to_string(w.tier_moves)) + " hold another tier.</p>\n";
  movers_chart(out, w);
  if (!w.tier_moved.empty()) {
    out += "\n<table class=\"moves\"><tr><th>member</th><th>tier on a</th><th>tier on b</th></tr>";
    for (const TierMove& m : w.tier_moved)
      out += "<tr><th>" + std::to_string(m.member) + "</th><td>" + html_escape(w.a.tier_names[m.tier_a]) + "</td><td>" +
             html_escape(w.b.tier_names[m.tier_b]) + "</td></tr>";
    out += "</table>";
  }
  if (w.options.forecast > 0) forecast_section(out, w);
  // The page's one script: marks whether the charts rendered (as many as were drawn, each with a
  // non-empty box).
  std::size_t charts = 0;
  for (std::size_t at = out.find("<svg class=\"chart\"", page_start); at != std::string::npos; at = out.find("<svg class=\"chart\"", at + 1)) ++charts;
  out += "\n<script>\n"
         "window.addEventListener('error', function (e) { document.documentElement.setAttribute('data-error', String(e.message)); });\n"
         "document.addEventListener('DOMContentLoaded', function () {\n"
         "  var charts = document.querySelectorAll('svg.chart'), ok = charts.length === " + std::to_string(charts) + ";\n"
         "  for (var i = 0; i < charts.length; ++i) { var b = charts[i].getBBox(); if (!(b.width > 0 && b.height > 0)) ok = false; }\n"
         "  document.documentElement.setAttribute('data-rendered', ok ? 'ok' : 'broken');\n"
         "  document.documentElement.setAttribute('data-charts', String(charts.length));\n"
         "});\n</script>\n</body></html>\n";
}

}  // namespace upline
