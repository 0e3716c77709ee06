// test_forecast.cpp — forecasts (forecast.hpp, docs/LAB.md): the fit and the projection on
// figures computed by hand, the periods of a small history, the backtest's shape, the errors.
#include "upline/door.hpp"
#include "upline/forecast.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

upline::PeriodHistory period(std::vector<std::uint64_t> start, std::vector<std::uint64_t> end, std::uint64_t joins,
                             std::vector<std::uint64_t> promoted, std::vector<double> money, std::vector<double> paid) {
  upline::PeriodHistory p;
  p.census_start = std::move(start);
  p.census_end = std::move(end);
  p.joins = joins;
  p.promoted_from = std::move(promoted);
  p.money = std::move(money);
  p.paid = std::move(paid);
  return p;
}

}  // namespace

TEST_CASE("forecast: the fit by hand — a linear sign-up trend, pooled transition rates, per-member figures") {
  // Two tiers. Joins 10, 20, 30: exactly 10 + 10·t. Bronze starts 100, 105, 120 (pooled 325) and
  // loses 5 + 5 + 3 = 13 to silver: rate 0.04. Money per member: bronze money 1000 + 1100 + 1300 over
  // mean presence (100+105)/2 + (105+120)/2 + (120+147)/2 = 102.5 + 112.5 + 133.5 = 348.5.
  const std::vector<upline::PeriodHistory> h = {
      period({100, 0}, {105, 5}, 10, {5, 0}, {1000, 0}, {1100, 0}),
      period({105, 5}, {120, 10}, 20, {5, 0}, {1100, 200}, {1210, 260}),
      period({120, 10}, {147, 13}, 30, {3, 0}, {1300, 300}, {1430, 390}),
  };
  const upline::ForecastFit f = upline::fit_forecast(h, 0, 3);
  CHECK(f.periods == 3);
  CHECK(f.joins_intercept == doctest::Approx(10.0));
  CHECK(f.joins_slope == doctest::Approx(10.0));
  CHECK(f.transition[0][1] == doctest::Approx(13.0 / 325.0));
  CHECK(f.transition[0][0] == doctest::Approx(1.0 - 13.0 / 325.0));
  CHECK(f.transition[1][1] == 1.0);  // the top tier keeps its members
  CHECK(f.money_per_member[0] == doctest::Approx(3400.0 / 348.5));
  CHECK(f.paid_per_member[1] == doctest::Approx(650.0 / ((5 + 10) / 2.0 + (10 + 13) / 2.0 + 2.5)));

  // One step from (100, 0) at t = 3: (100·0.96 + 40 joins, 100·0.04) = (136, 4).
  upline::ForecastFit g = f;
  g.transition = {{0.96, 0.04}, {0.0, 1.0}};
  g.money_per_member = {2.0, 10.0};
  g.paid_per_member = {3.0, 20.0};
  const auto p = upline::project(g, {100.0, 0.0}, 3, 0, upline::Period::month, 2);
  REQUIRE(p.size() == 2);
  CHECK(p[0].census[0] == doctest::Approx(136.0));
  CHECK(p[0].census[1] == doctest::Approx(4.0));
  CHECK(p[0].members == doctest::Approx(140.0));
  // Money and points on the mean of the period's start and end: (118, 2) → money 236 + 20, paid 354 + 40.
  CHECK(p[0].money == doctest::Approx(256.0));
  CHECK(p[0].paid == doctest::Approx(394.0));
  CHECK(*p[0].payout_ratio == doctest::Approx(394.0 / 256.0));
  CHECK(p[1].start == upline::period_end(0, upline::Period::month));  // February 1970
  CHECK(p[1].census[0] == doctest::Approx(136.0 * 0.96 + 50.0));
}

TEST_CASE("forecast: the periods of a history, the backtest, and too short a history") {
  upline::PlanFaults faults;
  const auto plan = upline::Plan::parse(R"({"name":"f","shops":{"main":{"ratio":"1"}},"tiers":[{"name":"bronze","width":2,"rates":["0.1"]},)"
                                        R"({"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"50"}}]})",
                                        faults);
  REQUIRE(plan.has_value());
  // One member joins on the 1st of each month of 2026; member k buys 10·k on the 15th; March is empty.
  std::vector<std::string> lines;
  const std::int64_t jan1 = 1767225600000, day = 86'400'000;
  for (int k = 1; k <= 6; ++k) {
    const std::int64_t month = upline::period_start(jan1 + (k - 1) * 31 * day, upline::Period::month);
    if (k == 3) continue;
    lines.push_back(R"({"type":"join","member":)" + std::to_string(k) + (k > 1 ? R"(,"sponsor":1)" : "") + R"(,"at":)" + std::to_string(month) + "}");
    lines.push_back(R"({"type":"purchase","order":"o)" + std::to_string(k) + R"(","member":)" + std::to_string(k) +
                    R"(,"shop":"main","amount":")" + std::to_string(10 * k) + R"(.00","at":)" + std::to_string(month + 14 * day) + "}");
  }
  const upline::History history = [&lines](const std::function<bool(std::uint64_t, const upline::Input&)>& visit) {
    upline::EventReader reader;
    std::uint64_t seq = 0;
    for (const std::string& l : lines)
      if (!visit(++seq, reader.read(l))) return;
  };
  std::vector<std::string> names;
  const auto h = upline::period_history(*plan, history, upline::Period::month, &names);
  CHECK(names == std::vector<std::string>{"bronze", "silver"});
  REQUIRE(h.size() == 5);  // January to May: March empty but listed, June (being filled) dropped
  CHECK(upline::period_label(h[2].start, upline::Period::month) == "2026-03");
  CHECK(h[2].joins == 0);
  CHECK(h[0].joins == 1);
  CHECK(h[0].money[0] == doctest::Approx(10.0));
  CHECK(h[3].money[0] == doctest::Approx(40.0));  // member 4's 40.00 in April
  // Member 5 buys 50.00 in May: lifetime 50 → silver. Members by then: 1, 2, 4, 5.
  CHECK(h[4].promoted_from[0] == 1);
  CHECK(h[4].census_end == std::vector<std::uint64_t>{3, 1});
  const upline::Forecast f = upline::forecast(*plan, history, upline::Period::month, 3);
  CHECK(f.projection.size() == 3);
  CHECK(upline::period_label(f.projection[0].start, upline::Period::month) == "2026-06");
  CHECK(f.backtest.size() == 2);  // fitted on 3 of 5 periods
  CHECK(f.members_mape.has_value());
  const std::string json = upline::forecast_json(f);
  CHECK(json.find(R"("history":[{"period":"2026-01","start":1767225600000,"joins":1,"members":1,"payout_ratio":1.000000})") != std::string::npos);
  CHECK(json == upline::forecast_json(upline::forecast(*plan, history, upline::Period::month, 3)));  // the same bytes again
  // Two months of history: one complete period (the second is being filled): too little.
  const upline::History short_history = [&lines](const std::function<bool(std::uint64_t, const upline::Input&)>& visit) {
    upline::EventReader reader;
    for (std::uint64_t seq = 1; seq <= 4; ++seq)
      if (!visit(seq, reader.read(lines[seq - 1]))) return;
  };
  CHECK_THROWS_WITH_AS(upline::forecast(*plan, short_history, upline::Period::month, 3),
                       "the history spans 1 complete month: a forecast needs at least 3 (two to fit on, one to backtest)", std::invalid_argument);
}

TEST_CASE("forecast: what_if's forecasts are each side's own, from the sides' walks, never in the report") {
  upline::PlanFaults faults;
  const auto plan_a = upline::Plan::parse(R"({"name":"a","shops":{"main":{"ratio":"1"}},"tiers":[{"name":"bronze","width":2,"rates":["0.1"]},)"
                                          R"({"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"50"}}]})",
                                          faults);
  const auto plan_b = upline::Plan::parse(R"({"name":"b","shops":{"main":{"ratio":"1"}},"tiers":[{"name":"bronze","width":2,"rates":["0.3"]},)"
                                          R"({"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"20"}}]})",
                                          faults);
  REQUIRE(plan_a.has_value());
  REQUIRE(plan_b.has_value());
  // Member k joins on the 1st of month k of 2026 under member 1, buys 10·k on the 15th, and the
  // sponsor buys 15.00 on the 20th: eight months, seven complete.
  std::vector<std::string> lines;
  const std::int64_t jan1 = 1767225600000, day = 86'400'000;
  for (int k = 1; k <= 8; ++k) {
    const std::int64_t month = upline::period_start(jan1 + (k - 1) * 31 * day, upline::Period::month);
    lines.push_back(R"({"type":"join","member":)" + std::to_string(k) + (k > 1 ? R"(,"sponsor":1)" : "") + R"(,"at":)" + std::to_string(month) + "}");
    lines.push_back(R"({"type":"purchase","order":"o)" + std::to_string(k) + R"(","member":)" + std::to_string(k) +
                    R"(,"shop":"main","amount":")" + std::to_string(10 * k) + R"(.00","at":)" + std::to_string(month + 14 * day) + "}");
    lines.push_back(R"({"type":"purchase","order":"s)" + std::to_string(k) + R"(","member":1,"shop":"main","amount":"15.00","at":)" +
                    std::to_string(month + 19 * day) + "}");
  }
  const auto history_of = [&lines](std::size_t n, std::optional<std::uint64_t> switch_after, const upline::Plan* to) -> upline::History {
    return [&lines, n, switch_after, to](const std::function<bool(std::uint64_t, const upline::Input&)>& visit) {
      upline::EventReader reader;
      const upline::Event change = upline::PlanChange{to ? std::make_shared<const upline::Plan>(*to) : nullptr, "whatif", 0};  // at the clock
      if (switch_after && *switch_after == 0 && !visit(0, upline::Input(change))) return;
      for (std::uint64_t seq = 1; seq <= n; ++seq) {
        if (!visit(seq, reader.read(lines[seq - 1]))) return;
        if (switch_after && *switch_after == seq && !visit(seq, upline::Input(change))) return;
      }
    };
  };
  const upline::History history = history_of(lines.size(), std::nullopt, nullptr);
  upline::WhatIfOptions o;
  o.forecast = 4;
  const upline::WhatIf w = upline::what_if(*plan_a, *plan_b, history, o);
  REQUIRE(w.forecast_a.forecast != nullptr);
  REQUIRE(w.forecast_b.forecast != nullptr);
  CHECK(w.forecast_a.unavailable.empty());
  CHECK(w.forecast_a.forecast->projection.size() == 4);
  CHECK(w.forecast_a.forecast->history.size() == 7);
  // Side a is forecast(plan a, history); side b forecast(plan b, history): the same bytes.
  CHECK(upline::forecast_json(*w.forecast_a.forecast) == upline::forecast_json(upline::forecast(*plan_a, history, upline::Period::month, 4)));
  CHECK(upline::forecast_json(*w.forecast_b.forecast) == upline::forecast_json(upline::forecast(*plan_b, history, upline::Period::month, 4)));
  CHECK(upline::forecast_json(*w.forecast_a.forecast) != upline::forecast_json(*w.forecast_b.forecast));  // plan b pays more
  // The report is the same with or without the forecast: exact decimals only.
  upline::WhatIfOptions none;
  const upline::WhatIf plain = upline::what_if(*plan_a, *plan_b, history, none);
  CHECK(plain.forecast_a.forecast == nullptr);
  CHECK(plain.forecast_b.unavailable.empty());
  std::string with_forecast, without;
  upline::append_whatif_json(with_forecast, w);
  upline::append_whatif_json(without, plain);
  CHECK(with_forecast == without);
  // The page has the forecast section only when asked for: two stacked census charts, the ratio,
  // the backtest chart, and the backtest's errors as forecast_json gives them.
  std::string page, plain_page;
  upline::append_whatif_html(page, w);
  upline::append_whatif_html(plain_page, plain);
  CHECK(plain_page.find("id=\"forecast\"") == std::string::npos);
  CHECK(page.find("id=\"forecast\"") != std::string::npos);
  CHECK(page.find("charts.length === 7;") != std::string::npos);
  CHECK(plain_page.find("charts.length === 3;") != std::string::npos);
  const std::string json_a = upline::forecast_json(*w.forecast_a.forecast), json_b = upline::forecast_json(*w.forecast_b.forecast);
  const auto field = [](const std::string& json, const std::string& name) {
    const std::size_t at = json.find("\"" + name + "\":");
    REQUIRE(at != std::string::npos);
    const std::size_t from = at + name.size() + 3;
    return json.substr(from, json.find_first_of(",}", from) - from);
  };
  CHECK(page.find("<tr class=\"members-mape\"><th>members: mean absolute percentage error (%)</th><td>" + field(json_a, "members_mape_percent") +
                  "</td><td>" + field(json_b, "members_mape_percent") + "</td></tr>") != std::string::npos);
  CHECK(page.find("<tr class=\"ratio-mae\"><th>payout ratio: mean absolute error</th><td>" + field(json_a, "payout_ratio_mae") + "</td><td>" +
                  field(json_b, "payout_ratio_mae") + "</td></tr>") != std::string::npos);

  // With from: side b's history is plan a's up to the event, then plan b's, the plan event included.
  o.from = 7;
  const upline::WhatIf wf = upline::what_if(*plan_a, *plan_b, history, o);
  REQUIRE(wf.forecast_b.forecast != nullptr);
  CHECK(upline::forecast_json(*wf.forecast_b.forecast) ==
        upline::forecast_json(upline::forecast(*plan_a, history_of(lines.size(), 7, &*plan_b), upline::Period::month, 4)));
  CHECK(upline::forecast_json(*wf.forecast_b.forecast) != upline::forecast_json(*w.forecast_b.forecast));
  CHECK(upline::forecast_json(*wf.forecast_a.forecast) == upline::forecast_json(*w.forecast_a.forecast));
  std::string from_page;
  upline::append_whatif_html(from_page, wf);
  CHECK(from_page.find("Side b's history is plan a's up to event 7, then plan b's.") != std::string::npos);

  // Two complete months: too little history — said on the page, not thrown.
  o.from.reset();
  o.until = 9;  // three months of events, the third being filled
  const upline::WhatIf short_w = upline::what_if(*plan_a, *plan_b, history, o);
  CHECK(short_w.forecast_a.forecast == nullptr);
  CHECK(short_w.forecast_a.unavailable ==
        "too little history for a forecast: the history spans 2 complete months: a forecast needs at least 3 (two to fit on, one to backtest)");
  std::string short_page;
  upline::append_whatif_html(short_page, short_w);
  CHECK(short_page.find("<p class=\"no-forecast\">b: b: too little history for a forecast: the history spans 2 complete months") != std::string::npos);
  CHECK(short_page.find("charts.length === 3;") != std::string::npos);

  // Too many periods to project.
  o.until.reset();
  o.forecast = 10'001;
  CHECK_THROWS_WITH_AS(upline::what_if(*plan_a, *plan_b, history, o), "forecast: 10001 is more than 10000 periods", std::invalid_argument);
}

TEST_CASE("forecast: a tier added by a plan event is counted in the census of the periods after it") {
  upline::PlanFaults faults;
  const auto one = upline::Plan::parse(R"({"name":"one","shops":{"main":{"ratio":"1"}},"tiers":[{"name":"bronze","width":2,"rates":["0.1"]}]})", faults);
  const auto two = upline::Plan::parse(R"({"name":"two","shops":{"main":{"ratio":"1"}},"tiers":[{"name":"bronze","width":2,"rates":["0.1"]},)"
                                       R"({"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"5"}}]})",
                                       faults);
  REQUIRE(one.has_value());
  REQUIRE(two.has_value());
  const std::int64_t jan1 = 1767225600000, day = 86'400'000;
  const auto month = [&](int k) { return std::to_string(upline::period_start(jan1 + k * 31 * day, upline::Period::month) + 9 * day); };
  // January: 1 and 2 join, 1 buys; February: silver is added (from 5 lifetime points), 1 buys
  // again and is silver; March and April: 2 buys (silver in March).
  const std::vector<std::string> lines = {
      R"({"type":"join","member":1,"at":)" + month(0) + "}",
      R"({"type":"join","member":2,"sponsor":1,"at":)" + month(0) + "}",
      R"({"type":"purchase","order":"o1","member":1,"shop":"main","amount":"30.00","at":)" + month(0) + "}",
      R"({"type":"purchase","order":"o2","member":1,"shop":"main","amount":"30.00","at":)" + month(1) + "}",
      R"({"type":"purchase","order":"o3","member":2,"shop":"main","amount":"10.00","at":)" + month(2) + "}",
      R"({"type":"purchase","order":"o4","member":2,"shop":"main","amount":"10.00","at":)" + month(3) + "}",
  };
  const upline::History history = [&](const std::function<bool(std::uint64_t, const upline::Input&)>& visit) {
    upline::EventReader reader;
    const upline::Event change = upline::PlanChange{std::make_shared<const upline::Plan>(*two), "test", std::stoll(month(1))};
    for (std::uint64_t seq = 1; seq <= lines.size(); ++seq) {
      if (seq == 4 && !visit(seq, upline::Input(change))) return;  // before o2
      if (!visit(seq, reader.read(lines[seq - 1]))) return;
    }
  };
  std::vector<std::string> names;
  const auto h = upline::period_history(*one, history, upline::Period::month, &names);
  CHECK(names == std::vector<std::string>{"bronze", "silver"});
  REQUIRE(h.size() == 3);  // January to March; April is being filled
  CHECK(h[0].census_end == std::vector<std::uint64_t>{2, 0});
  CHECK(h[1].promoted_from == std::vector<std::uint64_t>{1, 0});
  CHECK(h[1].census_end == std::vector<std::uint64_t>{1, 1});
  CHECK(h[2].census_start == std::vector<std::uint64_t>{1, 1});
  CHECK(h[2].census_end == std::vector<std::uint64_t>{0, 2});  // 2's own 10.00: silver too
}
