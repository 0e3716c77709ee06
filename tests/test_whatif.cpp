// test_whatif.cpp — what-if on real history (whatif.hpp, docs/LAB.md): a small history computed by
// hand under two plans, every figure of the report checked; plan b = plan a gives no difference;
// side a is exactly a plain replay; periods and ratios at their edges.
#include "upline/door.hpp"
#include "upline/whatif.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

upline::Plan plan_of(const std::string& text) {
  upline::PlanFaults faults;
  auto p = upline::Plan::parse(text, faults);
  REQUIRE_MESSAGE(p.has_value(), faults.message());
  return *p;
}

// Bronze width 2 paying levels 1 and 2; silver from `silver_at` lifetime points, paying nothing.
upline::Plan two_tier(const std::string& name, const std::string& l1, const std::string& l2, const std::string& silver_at) {
  return plan_of(R"({"name":")" + name + R"(","shops":{"main":{"ratio":"1"}},"tiers":[)" +
                 R"({"name":"bronze","width":2,"rates":[")" + l1 + R"(",")" + l2 + R"("]},)" +
                 R"({"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":")" + silver_at + R"("}}]})");
}

// A history given as JSON lines: each walk reads them again with its own reader.
upline::History lines_history(const std::vector<std::string>& lines) {
  return [&lines](const std::function<bool(std::uint64_t, const upline::Input&)>& visit) {
    upline::EventReader reader;
    std::uint64_t seq = 0;
    for (const std::string& line : lines)
      if (!visit(++seq, reader.read(line))) return;
  };
}

constexpr std::int64_t jan15 = 1768435200000;  // 2026-01-15T00:00:00Z
constexpr std::int64_t feb10 = 1770681600000;  // 2026-02-10T00:00:00Z

upline::WhatIfOptions options(std::optional<std::uint64_t> from = std::nullopt, std::optional<std::uint64_t> until = std::nullopt) {
  upline::WhatIfOptions o;
  o.from = from;
  o.until = until;
  return o;
}

std::string at(std::int64_t t) { return std::to_string(t); }

// Members 1..4 join (bronze, width 2, breadth-first: 2 and 3 under 1, 4 under 2); 4 buys 100.00 in
// January; in February 2 buys 60.00, o1 is half refunded, 4 redeems 20.00, 3 is given 7.00 and 1
// loses 1.00.
const std::vector<std::string> history_lines = {
    R"({"type":"join","member":1,"at":)" + at(jan15) + "}",
    R"({"type":"join","member":2,"sponsor":1,"at":)" + at(jan15) + "}",
    R"({"type":"join","member":3,"sponsor":2,"at":)" + at(jan15) + "}",
    R"({"type":"join","member":4,"sponsor":1,"at":)" + at(jan15) + "}",
    R"({"type":"purchase","order":"o1","member":4,"shop":"main","amount":"100.00","at":)" + at(jan15 + 1000) + "}",
    R"({"type":"purchase","order":"o2","member":2,"shop":"main","amount":"60.00","at":)" + at(feb10) + "}",
    R"({"type":"refund","order":"o1","amount":"50.00","at":)" + at(feb10 + 1000) + "}",
    R"({"type":"redeem","member":4,"points":"20.00","ref":"r1","at":)" + at(feb10 + 2000) + "}",
    R"({"type":"adjust","member":3,"points":"7.00","actor":"ops","reason":"goodwill","at":)" + at(feb10 + 3000) + "}",
    R"({"type":"adjust","member":1,"points":"-1.00","actor":"ops","reason":"fix","at":)" + at(feb10 + 4000) + "}",
    R"({"type":"refund","order":"nope","at":)" + at(feb10 + 5000) + "}",  // rejected on both sides
};

std::string units(upline::i128 v, int scale = 2) { return upline::format_wide_units(v, scale); }

}  // namespace

TEST_CASE("whatif: a hand-computed history, every figure of the report") {
  // Plan a: L1 10%, L2 5%, silver at 100. Plan b: L1 20%, L2 10%, silver at 50.
  const upline::Plan a = two_tier("a", "0.10", "0.05", "100"), b = two_tier("b", "0.20", "0.10", "50");
  const upline::WhatIf w = upline::what_if(a, b, lines_history(history_lines), options());

  // o1 (4 buys 100.00): own 100.00; upline 2 (L1) a 10.00 / b 20.00, 1 (L2) a 5.00 / b 10.00;
  //   4's lifetime 100 reaches silver on both sides.
  // o2 (2 buys 60.00): own 60.00; 1 (L1) a 6.00 / b 12.00; 2's lifetime a 70 (< 100), b 80 (>= 50:
  //   silver on side b only).
  // refund of half of o1: clawbacks 4: 50.00; 2: a 5.00 / b 10.00; 1: a 2.50 / b 5.00.
  // redeem 4: 20.00 (balance only); adjust 3: +7.00; adjust 1: -1.00.
  const upline::SideFigures& A = w.a;
  const upline::SideFigures& B = w.b;
  CHECK(A.applied == 10);
  CHECK(A.rejected == 1);
  CHECK(B.applied == 10);
  CHECK(B.rejected == 1);
  CHECK(A.census == std::vector<std::uint64_t>{3, 1});
  CHECK(B.census == std::vector<std::uint64_t>{2, 2});
  // balances a: 4: 100-50-20 = 30; 2: 10+60-5 = 65; 1: 5+6-2.5-1 = 7.5; 3: 7 → 109.50
  // lifetimes a: 4: 50; 2: 65; 1: 7.5; 3: 7 → 129.50
  CHECK(units(A.balance_total) == "109.50");
  CHECK(units(A.lifetime_total) == "129.50");
  // balances b: 4: 30; 2: 20+60-10 = 70; 1: 10+12-5-1 = 16; 3: 7 → 123.00; lifetimes 50+70+16+7
  CHECK(units(B.balance_total) == "123.00");
  CHECK(units(B.lifetime_total) == "143.00");
  CHECK(units(A.issued_own) == "160.00");
  CHECK(units(A.issued_upline[0]) == "21.00");
  CHECK(units(A.issued_upline[1]) == "0.00");
  CHECK(units(A.issued_adjust) == "7.00");
  CHECK(units(A.removed_clawback) == "57.50");
  CHECK(units(A.removed_redeem) == "20.00");
  CHECK(units(A.removed_adjust) == "1.00");
  CHECK(units(B.issued_own) == "160.00");
  CHECK(units(B.issued_upline[0]) == "42.00");
  CHECK(units(B.removed_clawback) == "65.00");
  CHECK(units(A.purchased) == "160.00");
  CHECK(units(A.refunded) == "50.00");
  CHECK(A.promotions == std::vector<std::uint64_t>{0, 1});
  CHECK(B.promotions == std::vector<std::uint64_t>{0, 2});

  // Periods: January (o1) and February (the rest).
  REQUIRE(A.periods.size() == 2);
  CHECK(A.periods[0].start == 1767225600000);  // 2026-01-01
  CHECK(upline::period_label(A.periods[0].start, upline::Period::month) == "2026-01");
  CHECK(upline::period_label(A.periods[1].start, upline::Period::month) == "2026-02");
  CHECK(units(A.periods[0].paid) == "115.00");
  CHECK(units(B.periods[0].paid) == "130.00");
  CHECK(units(A.periods[1].purchased) == "60.00");
  CHECK(units(A.periods[1].refunded) == "50.00");
  CHECK(units(A.periods[1].paid) == "66.00");
  CHECK(units(A.periods[1].clawed_back) == "57.50");
  CHECK(units(B.periods[1].paid) == "72.00");
  CHECK(units(B.periods[1].clawed_back) == "65.00");

  // Differences: 2 is silver only on side b; 1 gains 8.50, 2 gains 5.00; nobody loses.
  CHECK(w.tier_moves == 1);
  REQUIRE(w.tier_moved.size() == 1);
  CHECK(w.tier_moved[0].member == 2);
  CHECK(w.gaining == 2);
  CHECK(w.losing == 0);
  REQUIRE(w.gainers.size() == 2);
  CHECK(w.gainers[0].member == 1);
  CHECK(units(w.gainers[0].delta()) == "8.50");
  CHECK(w.gainers[1].member == 2);
  CHECK(units(w.gainers[1].delta()) == "5.00");

  // The report: ratios (paid − clawed back) / (purchased − refunded), half to even at 6 places.
  std::string json;
  upline::append_whatif_json(json, w);
  CHECK(json.find(R"("payout_ratio":"1.122727","promotions")") != std::string::npos);  // 123.50 / 110
  CHECK(json.find(R"("payout_ratio":"1.245455","promotions")") != std::string::npos);  // 137.00 / 110
  CHECK(json.find(R"({"period":"2026-01","start":1767225600000,"purchased":"100.00","refunded":"0.00","paid":"115.00","clawed_back":"0.00","payout_ratio":"1.150000"})") !=
        std::string::npos);
  CHECK(json.find(R"({"period":"2026-02","start":1769904000000,"purchased":"60.00","refunded":"50.00","paid":"66.00","clawed_back":"57.50","payout_ratio":"0.850000"})") !=
        std::string::npos);
  CHECK(json.find(R"("payout_ratio":"0.700000"})") != std::string::npos);  // b in February: 7.00 / 10.00
  CHECK(json.find(R"("differences":{"tier_moves":1,"tier_moved":[{"member":2,"a":"bronze","b":"silver"}],"balance_total":"13.50","gaining":2,"losing":0,"gainers":[{"member":1,"a":"7.50","b":"16.00","delta":"8.50"},{"member":2,"a":"65.00","b":"70.00","delta":"5.00"}],"losers":[]})") !=
        std::string::npos);
}

TEST_CASE("whatif: plan b equal to plan a gives equal sides and no difference") {
  const upline::Plan a = two_tier("a", "0.10", "0.05", "100");
  const upline::WhatIf w = upline::what_if(a, a, lines_history(history_lines));
  CHECK(w.a.digest == w.b.digest);
  CHECK(w.tier_moves == 0);
  CHECK(w.gaining == 0);
  CHECK(w.losing == 0);
  CHECK(w.gainers.empty());
  CHECK(w.losers.empty());
  std::string json;
  upline::append_whatif_json(json, w);
  // The two side objects are byte-equal.
  const std::size_t pa = json.find("\"a\":"), pb = json.find(",\"b\":"), pd = json.find(",\"differences\":");
  CHECK(json.substr(pa + 4, pb - pa - 4) == json.substr(pb + 5, pd - pb - 5));
}

TEST_CASE("whatif: side a is exactly a replay of the same events under plan a") {
  const upline::Plan a = two_tier("a", "0.10", "0.05", "100"), b = two_tier("b", "0.20", "0.10", "50");
  const upline::WhatIf w = upline::what_if(a, b, lines_history(history_lines));
  upline::Engine e(a);
  upline::LineDoor door(e);
  for (const std::string& line : history_lines) door.apply(line);
  CHECK(w.a.digest == e.digest());
  CHECK(w.a.census == e.census());
  CHECK(w.a.applied == e.applied());
  upline::Engine eb(b);
  upline::LineDoor door_b(eb);
  for (const std::string& line : history_lines) door_b.apply(line);
  CHECK(w.b.digest == eb.digest());
}

TEST_CASE("whatif: --from installs plan b as a plan event; --until stops both sides") {
  const upline::Plan a = two_tier("a", "0.10", "0.05", "100"), b = two_tier("b", "0.20", "0.10", "50");
  SUBCASE("plan b = plan a after event 5: the same state plus the plan event") {
    const upline::WhatIf w = upline::what_if(a, a, lines_history(history_lines), options(5));
    CHECK(w.b.applied == w.a.applied + 1);
    CHECK(w.a.digest != w.b.digest);  // the plan event is recorded (SPEC §10.5)
    CHECK(w.gaining + w.losing + w.tier_moves == 0);
  }
  SUBCASE("plan b from event 5: o1 was paid under a, o2 under b") {
    const upline::WhatIf w = upline::what_if(a, b, lines_history(history_lines), options(5));
    // o2: 1 (L1) gets 12.00 instead of 6.00; the plan event promotes 2? its lifetime is 10 < 50: no.
    // After o2, 2's lifetime 70 >= 50: silver. The refund claws back what o1 credited under a.
    CHECK(units(w.b.issued_upline[0]) == "27.00");  // 10 + 5 + 12
    CHECK(units(w.b.removed_clawback) == "57.50");
    CHECK(w.b.census == std::vector<std::uint64_t>{2, 2});
  }
  SUBCASE("until 5") {
    const upline::WhatIf w = upline::what_if(a, b, lines_history(history_lines), options(std::nullopt, 5));
    CHECK(w.a.applied == 5);
    CHECK(units(w.a.purchased) == "100.00");
  }
  SUBCASE("from 0: a plan event before the first event") {
    const upline::WhatIf w = upline::what_if(a, b, lines_history(history_lines), options(0));
    CHECK(w.b.applied == w.a.applied + 1);
    CHECK(units(w.b.issued_upline[0]) == "42.00");
  }
  SUBCASE("from past the history, or after until") {
    CHECK_THROWS_WITH_AS(upline::what_if(a, b, lines_history(history_lines), options(99)), "from: 99 is past the last event applied (11)",
                         upline::WhatIfError);
    CHECK_THROWS_WITH_AS(upline::what_if(a, b, lines_history(history_lines), options(6, 5)), "from: 6 is after until (5)",
                         upline::WhatIfError);
  }
  SUBCASE("plan b that cannot follow plan a as a plan event") {
    upline::Plan other = b;
    other.points_scale = 3;
    try {
      upline::what_if(a, other, lines_history(history_lines), options(2));
      FAIL("expected WhatIfError");
    } catch (const upline::WhatIfError& e) {
      CHECK(e.kind() == upline::WhatIfError::Kind::plan_rejected);
      CHECK(std::string(e.what()) == "plan b: rejected as a plan event after event 2: incompatible_plan: points_scale: 3 differs from the plan in force (2)");
    }
  }
}

TEST_CASE("whatif: periods are UTC days, ISO weeks from Monday, calendar months") {
  using upline::Period;
  const std::int64_t t = 1772366400000;  // 2026-03-01T12:00:00Z, a Sunday
  CHECK(upline::period_start(t, Period::day) == 1772323200000);
  CHECK(upline::period_label(upline::period_start(t, Period::day), Period::day) == "2026-03-01");
  CHECK(upline::period_start(t, Period::week) == 1771804800000);  // Monday 2026-02-23
  CHECK(upline::period_label(upline::period_start(t, Period::week), Period::week) == "2026-02-23");
  CHECK(upline::period_start(t, Period::month) == 1772323200000);
  CHECK(upline::period_end(1769904000000, Period::month) == 1772323200000);  // February 2026: 28 days
  CHECK(upline::period_label(upline::period_start(1735707600000, Period::week), Period::week) == "2024-12-30");  // a week across a year
  CHECK(upline::period_start(0, Period::week) == -3 * 86'400'000);  // 1970-01-01 was a Thursday
  CHECK(upline::period_label(upline::period_start(0, Period::week), Period::week) == "1969-12-29");
  CHECK(upline::period_end(upline::period_start(INT64_MAX, Period::month), Period::month) == INT64_MAX);
  CHECK(upline::period_named("week") == Period::week);
  CHECK_FALSE(upline::period_named("year").has_value());
}

TEST_CASE("whatif: ratios and wide decimals") {
  CHECK(upline::payout_ratio(1, 0, 8, 0) == "0.125000");
  CHECK(upline::payout_ratio(1, 0, 3, 0) == "0.333333");
  CHECK(upline::payout_ratio(2, 0, 3, 0) == "0.666667");
  CHECK(upline::payout_ratio(5, 7, 1, 0) == "0.000000");   // 0.0000005: a tie, to even (0)
  CHECK(upline::payout_ratio(15, 7, 1, 0) == "0.000002");  // 0.0000015: a tie, to even (2)
  CHECK(upline::payout_ratio(-15, 7, 1, 0) == "-0.000002");
  CHECK(upline::payout_ratio(12350, 2, 11000, 2) == "1.122727");
  CHECK_FALSE(upline::payout_ratio(1, 2, 0, 2).has_value());
  CHECK_FALSE(upline::payout_ratio(1, 2, -5, 2).has_value());
  const upline::i128 big = upline::i128(INT64_MAX) * 1000;
  CHECK(upline::format_wide_units(big, 2) == "92233720368547758070.00");
  CHECK(upline::format_wide_units(-5, 2) == "-0.05");
  CHECK(upline::format_wide_units(7, 0) == "7");
}

TEST_CASE("whatif: the HTML page — three charts drawn from the figures, names escaped, the same bytes each time") {
  const upline::Plan a = two_tier("a <b>&", "0.10", "0.05", "100"), b = two_tier("b", "0.20", "0.10", "50");
  const upline::WhatIf w = upline::what_if(a, b, lines_history(history_lines), options());
  std::string page, again;
  upline::append_whatif_html(page, w);
  upline::append_whatif_html(again, w);
  CHECK(page == again);
  const auto count = [&](std::string_view what) {
    std::size_t n = 0;
    for (std::size_t at = page.find(what); at != std::string::npos; at = page.find(what, at + 1)) ++n;
    return n;
  };
  CHECK(count("<svg class=\"chart\"") == 3);
  CHECK(count("class=\"ratio\"") == 2);  // one line per side: two months each
  CHECK(count("class=\"bar\"") == 4);    // two tiers, two sides
  CHECK(count("class=\"move\"") == 2);   // members 1 and 2 gain; nobody loses
  CHECK(page.find("a &lt;b&gt;&amp;") != std::string::npos);
  CHECK(page.find("a <b>&") == std::string::npos);
  CHECK(page.find("<title>2026-01: 1.150000</title>") != std::string::npos);  // a's January point
  CHECK(page.find("<title>member 1: 8.50</title>") != std::string::npos);
  CHECK(page.find("http://") == page.find("http://www.w3.org/2000/svg"));      // no other URL
}

TEST_CASE("whatif: events at the largest time fall in one period (its end is capped there)") {
  const upline::Plan a = two_tier("a", "0.10", "0.05", "100");
  const std::string max = std::to_string(INT64_MAX);
  const std::vector<std::string> lines = {
      R"({"type":"join","member":1,"at":)" + max + "}",
      R"({"type":"join","member":2,"sponsor":1,"at":)" + max + "}",
      R"({"type":"purchase","order":"o1","member":2,"shop":"main","amount":"10.00","at":)" + max + "}",
      R"({"type":"purchase","order":"o2","member":2,"shop":"main","amount":"10.00","at":5})",  // applied at the clock
  };
  for (const upline::Period p : {upline::Period::day, upline::Period::week, upline::Period::month}) {
    upline::WhatIfOptions o;
    o.period = p;
    const upline::WhatIf w = upline::what_if(a, a, lines_history(lines), o);
    REQUIRE(w.a.periods.size() == 1);
    CHECK(units(w.a.periods[0].purchased) == "20.00");
    CHECK(w.a.periods[0].end == INT64_MAX);
  }
}
