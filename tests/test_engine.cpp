// test_engine.cpp — the engine against SPEC.md §4–§8, with the worked examples of §11 and more,
// every expected value computed by hand (the arithmetic is in the comments).
//
// Events go through the JSON door (upline::parse_event) and effects come back as the JSON text of
// SPEC §9 (upline::effect_json), so that assertions compare readable strings. Every rejected event
// is checked, by the fixture itself, to have changed nothing: digest, clock and applied count equal
// before and after, no effects.
#include "upline/engine.hpp"
#include "upline/door.hpp"

#include <doctest/doctest.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using upline::MemberId;
using upline::Time;

// ---- expected effects, in SPEC §9's field order -------------------------------------------------

std::string own(MemberId m, const std::string& pts) {
  return R"({"type":"credit","member":)" + std::to_string(m) + R"(,"points":")" + pts + R"(","kind":"own"})";
}
std::string up(MemberId m, const std::string& pts, const std::string& tier, int level) {
  return R"({"type":"credit","member":)" + std::to_string(m) + R"(,"points":")" + pts + R"(","kind":"upline","tier":")" + tier +
         R"(","level":)" + std::to_string(level) + "}";
}
std::string adj(MemberId m, const std::string& pts) {
  return R"({"type":"credit","member":)" + std::to_string(m) + R"(,"points":")" + pts + R"(","kind":"adjust"})";
}
std::string debit(MemberId m, const std::string& pts, const std::string& kind) {
  return R"({"type":"debit","member":)" + std::to_string(m) + R"(,"points":")" + pts + R"(","kind":")" + kind + R"("})";
}
std::string claw(MemberId m, const std::string& pts) { return debit(m, pts, "clawback"); }
std::string placed(MemberId m, const std::string& tier, std::optional<MemberId> parent, int position) {
  return R"({"type":"placed","member":)" + std::to_string(m) + R"(,"tier":")" + tier + R"(","parent":)" +
         (parent ? std::to_string(*parent) : std::string("null")) + R"(,"position":)" + std::to_string(position) + "}";
}
std::string promoted(MemberId m, const std::string& from, const std::string& to) {
  return R"({"type":"promoted","member":)" + std::to_string(m) + R"(,"from":")" + from + R"(","to":")" + to + R"("})";
}
std::string reward(MemberId m, const std::string& r) {
  return R"({"type":"reward","member":)" + std::to_string(m) + R"(,"reward":")" + r + R"("})";
}
// One effect per line.
std::string lines(std::initializer_list<std::string> fx) {
  std::string s;
  for (const auto& e : fx) {
    if (!s.empty()) s += '\n';
    s += e;
  }
  return s;
}

// ---- plans --------------------------------------------------------------------------------------

// A plan with one shop `main` at ratio 1, scales 2, no history (SPEC §11's default), the given
// tiers and any further top-level members (`extra` starts with a comma).
std::string plan_json(const std::string& tiers, const std::string& extra = "",
                      const std::string& shops = R"({"main":{"ratio":"1"}})") {
  return R"({"name":"test","shops":)" + shops + R"(,"tiers":)" + tiers + extra + "}";
}

// ---- the fixture ----------------------------------------------------------------------------------

struct Res {
  std::string code;     // "ok" or the SPEC code
  std::string message;  // the rejection's message
  std::string fx;       // effects, one JSON object per line
  std::string line;     // the event as sent
};

upline::Plan make_plan(std::string_view text) {
  upline::PlanFaults faults;
  auto p = upline::Plan::parse(text, faults);
  REQUIRE_MESSAGE(p.has_value(), "plan does not parse: " << faults.message() << "\n" << text);
  return *p;
}

struct Fx {
  upline::Engine eng;
  Time now = 0;  // the `at` of events built by the helpers below

  explicit Fx(std::string_view plan) : eng(make_plan(plan)) {}

  // Parses and applies one event line; a rejection must have changed nothing.
  Res ev(const std::string& line) {
    const std::string digest = eng.digest();
    const Time clock = eng.clock();
    const auto applied = eng.applied();
    const auto members = eng.member_count();
    const auto orders = eng.order_count();
    Res r;
    r.line = line;
    upline::ParsedEvent parsed = upline::parse_event(line);
    if (const auto* rej = std::get_if<upline::Rejection>(&parsed)) {
      r.code = std::string(upline::code_name(rej->code));
      r.message = rej->message;
    } else {
      upline::Outcome o = eng.apply(std::get<upline::Event>(parsed));
      r.code = std::string(upline::code_name(o.code));
      r.message = o.message;
      for (const auto& e : o.effects) {
        if (!r.fx.empty()) r.fx += '\n';
        r.fx += upline::effect_json(eng, e);
      }
    }
    if (r.code != "ok") {
      CHECK_MESSAGE(eng.digest() == digest, "rejected event changed the digest: " << line);
      CHECK_MESSAGE(eng.clock() == clock, "rejected event moved the clock: " << line);
      CHECK_MESSAGE(eng.applied() == applied, "rejected event counted as applied: " << line);
      CHECK_MESSAGE(eng.member_count() == members, line);
      CHECK_MESSAGE(eng.order_count() == orders, line);
      CHECK_MESSAGE(r.fx.empty(), "rejected event has effects: " << line);
    }
    return r;
  }

  Time at(std::optional<Time> t) const { return t ? *t : now; }

  Res join(MemberId m, std::optional<MemberId> sponsor = std::nullopt, std::optional<Time> t = std::nullopt) {
    return ev(R"({"type":"join","member":)" + std::to_string(m) + (sponsor ? R"(,"sponsor":)" + std::to_string(*sponsor) : "") +
              R"(,"at":)" + std::to_string(at(t)) + "}");
  }
  Res buy(const std::string& order, MemberId m, const std::string& amount, const std::string& shop = "main",
          std::optional<Time> t = std::nullopt) {
    return ev(R"({"type":"purchase","order":")" + order + R"(","member":)" + std::to_string(m) + R"(,"shop":")" + shop +
              R"(","amount":")" + amount + R"(","at":)" + std::to_string(at(t)) + "}");
  }
  Res refund(const std::string& order, std::optional<std::string> amount = std::nullopt, std::optional<Time> t = std::nullopt) {
    return ev(R"({"type":"refund","order":")" + order + "\"" + (amount ? R"(,"amount":")" + *amount + "\"" : "") + R"(,"at":)" +
              std::to_string(at(t)) + "}");
  }
  Res redeem(MemberId m, const std::string& pts, const std::string& ref, std::optional<Time> t = std::nullopt) {
    return ev(R"({"type":"redeem","member":)" + std::to_string(m) + R"(,"points":")" + pts + R"(","ref":")" + ref + R"(","at":)" +
              std::to_string(at(t)) + "}");
  }
  Res adjust(MemberId m, const std::string& pts, std::optional<Time> t = std::nullopt) {
    return ev(R"({"type":"adjust","member":)" + std::to_string(m) + R"(,"points":")" + pts +
              R"(","actor":"ops","reason":"test","at":)" + std::to_string(at(t)) + "}");
  }
  Res suspend(MemberId m, std::optional<Time> t = std::nullopt) {
    return ev(R"({"type":"suspend","member":)" + std::to_string(m) + R"(,"at":)" + std::to_string(at(t)) + "}");
  }
  Res reactivate(MemberId m, std::optional<Time> t = std::nullopt) {
    return ev(R"({"type":"reactivate","member":)" + std::to_string(m) + R"(,"at":)" + std::to_string(at(t)) + "}");
  }
  Res plan(const std::string& text, std::optional<Time> t = std::nullopt) {
    return ev(R"({"type":"plan","plan":)" + text + R"(,"actor":"ops","at":)" + std::to_string(at(t)) + "}");
  }

  upline::MemberView member(MemberId m) const {
    auto v = eng.member(m);
    REQUIRE_MESSAGE(v.has_value(), "no member " << m);
    return *v;
  }
  std::string bal(MemberId m) const { return upline::format_units(member(m).balance.units, eng.plan().points_scale); }
  std::string life(MemberId m) const { return upline::format_units(member(m).lifetime.units, eng.plan().points_scale); }
  std::string tier(MemberId m) const { return member(m).tier_name; }
  std::string rewards(MemberId m) const {
    std::string s;
    for (const auto& r : member(m).rewards) s += (s.empty() ? "" : ",") + r;
    return s;
  }
};

}  // namespace

// The event must be accepted; evaluates to its Res. A failure is reported at the caller's line.
namespace {
Res accepted(Res r, const char* expr, const char* file, int line) {
  if (r.code != "ok") {
    const std::string msg = std::string(expr) + "\n  event: " + r.line + "\n  -> " + r.code + ": " + r.message;
    ADD_FAIL_CHECK_AT(file, line, msg);
  }
  return r;
}
}  // namespace
#define ACCEPT(...) accepted((__VA_ARGS__), #__VA_ARGS__, __FILE__, __LINE__)

// ==================================================================================================
// §5 placement
// ==================================================================================================

namespace {
// SPEC §11: bronze only, width 3, rates 5%/3%/2%; members 1..14 join, 2..14 sponsored by 1.
const std::string bronze3 = R"([{"name":"bronze","width":3,"rates":["0.05","0.03","0.02"]}])";

void join_fourteen(Fx& f) {
  CHECK(ACCEPT(f.join(1)).fx == placed(1, "bronze", std::nullopt, 0));
  for (MemberId k = 2; k <= 14; ++k) ACCEPT(f.join(k, 1));
}
}  // namespace

TEST_CASE("engine: breadth-first placement in a 3-wide matrix (SPEC §11)") {
  Fx f(plan_json(bronze3));
  CHECK(ACCEPT(f.join(1)).fx == placed(1, "bronze", std::nullopt, 0));
  // Member k is node k-1; node n has parent node (n-1)/3 = member (n-1)/3 + 1, position (n-1) mod 3.
  struct Want {
    MemberId member;
    MemberId parent;
    int position;
  };
  const Want want[] = {
      {2, 1, 0},   // node 1: parent node 0, position 0
      {3, 1, 1},   // node 2: 1/3 = 0, 1 mod 3 = 1
      {4, 1, 2},   // node 3: 2/3 = 0, position 2
      {5, 2, 0},   // node 4: 3/3 = 1 (member 2), position 0
      {6, 2, 1},   // node 5
      {7, 2, 2},   // node 6
      {8, 3, 0},   // node 7: 6/3 = 2 (member 3)
      {9, 3, 1},   // node 8
      {10, 3, 2},  // node 9
      {11, 4, 0},  // node 10: 9/3 = 3 (member 4)
      {12, 4, 1},  // node 11
      {13, 4, 2},  // node 12: 11/3 = 3 (member 4), 11 mod 3 = 2  (SPEC: 13 under 4 at position 2)
      {14, 5, 0},  // node 13: 12/3 = 4 (member 5), 12 mod 3 = 0  (SPEC: 14 under 5 at position 0)
  };
  for (const Want& w : want) {
    CAPTURE(w.member);
    // The sponsor is 1 for all: breadth_first ignores it.
    CHECK(ACCEPT(f.join(w.member, 1)).fx == placed(w.member, "bronze", w.parent, w.position));
    const auto v = f.member(w.member);
    REQUIRE(v.nodes.size() == 1);
    CHECK(v.nodes[0].parent == std::optional<MemberId>(w.parent));
    CHECK(v.nodes[0].position == static_cast<std::uint32_t>(w.position));
  }
  CHECK(f.eng.upline(13, 0) == std::vector<MemberId>{4, 1});
  CHECK(f.eng.upline(14, 0) == std::vector<MemberId>{5, 2, 1});
  CHECK(f.member(1).nodes[0].parent == std::nullopt);
}

TEST_CASE("engine: a purchase pays the upline of the matrix, nearest first, stopping at the root (SPEC §11)") {
  Fx f(plan_json(bronze3));
  join_fourteen(f);
  // 13 buys 100.00: P = 100.00 × 1 = 100.00; 4 (level 1) 100 × 5% = 5.00; 1 (level 2) 100 × 3% = 3.00;
  // 1 is the root, so level 3 (2%) is paid to nobody.
  CHECK(ACCEPT(f.buy("o13", 13, "100.00")).fx ==
        lines({own(13, "100.00"), up(4, "5.00", "bronze", 1), up(1, "3.00", "bronze", 2)}));
  // 14 (under 5, under 2, under 1) buys 100.00: 5 +5.00, 2 +3.00, 1 +2.00.
  CHECK(ACCEPT(f.buy("o14", 14, "100.00")).fx ==
        lines({own(14, "100.00"), up(5, "5.00", "bronze", 1), up(2, "3.00", "bronze", 2), up(1, "2.00", "bronze", 3)}));
  CHECK(f.bal(1) == "5.00");  // 3.00 + 2.00
  CHECK(f.life(1) == "5.00");
  CHECK(f.bal(13) == "100.00");
  CHECK(f.member(13).orders == 1);
  CHECK(f.member(1).orders == 0);
}

TEST_CASE("engine: a suspended ancestor, compression off and on (SPEC §11)") {
  SUBCASE("compression off: the suspended ancestor still uses up its level") {
    Fx f(plan_json(bronze3));
    join_fourteen(f);
    CHECK(ACCEPT(f.suspend(5)).fx == "");
    // 5 (level 1) gets nothing; 2 stays level 2 (3%), 1 level 3 (2%).
    CHECK(ACCEPT(f.buy("o14", 14, "100.00")).fx ==
          lines({own(14, "100.00"), up(2, "3.00", "bronze", 2), up(1, "2.00", "bronze", 3)}));
    CHECK(f.bal(5) == "0.00");
  }
  SUBCASE("compression on: the suspended ancestor is skipped and its level goes to the next") {
    Fx f(plan_json(bronze3, R"(,"compression":true)"));
    join_fourteen(f);
    ACCEPT(f.suspend(5));
    // 2 takes level 1 (5%), 1 level 2 (3%).
    CHECK(ACCEPT(f.buy("o14", 14, "100.00")).fx ==
          lines({own(14, "100.00"), up(2, "5.00", "bronze", 1), up(1, "3.00", "bronze", 2)}));
    CHECK(f.bal(5) == "0.00");
  }
  SUBCASE("compression on, two suspended ancestors in a row") {
    Fx f(plan_json(bronze3, R"(,"compression":true)"));
    join_fourteen(f);
    ACCEPT(f.suspend(5));
    ACCEPT(f.suspend(2));
    // 5 and 2 skipped: 1 takes level 1 (5%).
    CHECK(ACCEPT(f.buy("o14", 14, "100.00")).fx == lines({own(14, "100.00"), up(1, "5.00", "bronze", 1)}));
  }
  SUBCASE("a suspended buyer earns nothing itself, its upline is paid") {
    Fx f(plan_json(bronze3));
    join_fourteen(f);
    ACCEPT(f.suspend(14));
    CHECK(ACCEPT(f.buy("o14", 14, "100.00")).fx ==
          lines({up(5, "5.00", "bronze", 1), up(2, "3.00", "bronze", 2), up(1, "2.00", "bronze", 3)}));
    CHECK(f.bal(14) == "0.00");
    CHECK(f.life(14) == "0.00");
    CHECK(f.member(14).orders == 1);  // the order still counts
    // A full refund claws back only what was credited.
    CHECK(ACCEPT(f.refund("o14")).fx == lines({claw(5, "5.00"), claw(2, "3.00"), claw(1, "2.00")}));
  }
  SUBCASE("a reactivated ancestor is paid again") {
    Fx f(plan_json(bronze3));
    join_fourteen(f);
    ACCEPT(f.suspend(5));
    ACCEPT(f.reactivate(5));
    CHECK(ACCEPT(f.buy("o14", 14, "100.00")).fx ==
          lines({own(14, "100.00"), up(5, "5.00", "bronze", 1), up(2, "3.00", "bronze", 2), up(1, "2.00", "bronze", 3)}));
  }
}

TEST_CASE("engine: under_sponsor placement, width 2 (SPEC §11)") {
  Fx f(plan_json(R"([{"name":"bronze","width":2,"fill":"under_sponsor","rates":[]}])"));
  CHECK(ACCEPT(f.join(1)).fx == placed(1, "bronze", std::nullopt, 0));
  struct Want {
    MemberId member, sponsor, parent;
    int position;
  };
  // (member, sponsor) → (parent, position), exactly the SPEC's table.
  const Want want[] = {
      {2, 1, 1, 0},  {3, 1, 1, 1},  {4, 1, 2, 0},  // 1 full; 2 is first in breadth-first order
      {5, 3, 3, 0},  {6, 3, 3, 1},                 // under sponsor 3
      {7, 3, 5, 0},                                // 3 full: its subtree's next free is 5's position 0
      {8, 1, 2, 1},                                // whole tree: 1 full, 2 has position 1 free
      {9, 1, 4, 0},                                // depth 2: 4 (child of 2) comes first
      {10, 6, 6, 0},                               //
      {11, 1, 4, 1},                               //
      {12, 1, 8, 0},                               // 4 full [9,11]; next at depth 2 is 8
  };
  for (const Want& w : want) {
    CAPTURE(w.member);
    CHECK(ACCEPT(f.join(w.member, w.sponsor)).fx == placed(w.member, "bronze", w.parent, w.position));
  }
  CHECK(f.eng.upline(10, 0) == std::vector<MemberId>{6, 3, 1});
  CHECK(f.eng.upline(12, 0) == std::vector<MemberId>{8, 2, 1});
}

TEST_CASE("engine: under_sponsor in a higher tier uses the nearest sponsor-line member that has a node there") {
  // Both tiers under_sponsor, width 2; silver at lifetime 100.
  Fx f(plan_json(R"([{"name":"bronze","width":2,"fill":"under_sponsor","rates":[]},
                     {"name":"silver","width":2,"fill":"under_sponsor","rates":[],"promote_at":{"lifetime_points":"100"}}])"));
  ACCEPT(f.join(1));
  CHECK(ACCEPT(f.join(2, 1)).fx == placed(2, "bronze", 1, 0));
  CHECK(ACCEPT(f.join(3, 2)).fx == placed(3, "bronze", 2, 0));
  CHECK(ACCEPT(f.join(4, 3)).fx == placed(4, "bronze", 3, 0));
  CHECK(ACCEPT(f.join(5, 4)).fx == placed(5, "bronze", 4, 0));
  CHECK(ACCEPT(f.adjust(1, "100")).fx == lines({adj(1, "100.00"), promoted(1, "bronze", "silver"), placed(1, "silver", std::nullopt, 0)}));
  // 4's sponsor line: 3 (bronze), 2 (bronze), 1 (silver) → the subtree of 1.
  CHECK(ACCEPT(f.adjust(4, "100")).fx == lines({adj(4, "100.00"), promoted(4, "bronze", "silver"), placed(4, "silver", 1, 0)}));
  CHECK(ACCEPT(f.adjust(3, "100")).fx == lines({adj(3, "100.00"), promoted(3, "bronze", "silver"), placed(3, "silver", 1, 1)}));
  // 5's sponsor 4 is silver: the subtree of 4.
  CHECK(ACCEPT(f.adjust(5, "100")).fx == lines({adj(5, "100.00"), promoted(5, "bronze", "silver"), placed(5, "silver", 4, 0)}));
  // 2's sponsor 1: subtree of 1, 1 full [4,3]; depth 2: 4 has position 1 free.
  CHECK(ACCEPT(f.adjust(2, "100")).fx == lines({adj(2, "100.00"), promoted(2, "bronze", "silver"), placed(2, "silver", 4, 1)}));
  // Nodes never move: 2 keeps its bronze node.
  const auto v = f.member(2);
  REQUIRE(v.nodes.size() == 2);
  CHECK(v.nodes[0].parent == std::optional<MemberId>(1));
  CHECK(v.nodes[1].parent == std::optional<MemberId>(4));
  CHECK(v.nodes[1].position == 1u);
}

// ==================================================================================================
// §6 purchases
// ==================================================================================================

TEST_CASE("engine: a silver buyer's purchase pays the bronze and the silver matrices") {
  // Shops: main ratio 1, outlet ratio 0.5. History: x1 from 0 earlier orders, x1.25 from 2.
  // bronze: width 2, rates 10%/5%, accrual 1, upline_multiplier 1.
  // silver: width 2, accrual 1.2, upline_multiplier 1.5, rates 20%/10%, at lifetime 1000.
  Fx f(R"({"name":"multi","history":[{"orders":0,"multiplier":"1"},{"orders":2,"multiplier":"1.25"}],
           "shops":{"main":{"ratio":"1"},"outlet":{"ratio":"0.5"}},
           "tiers":[{"name":"bronze","width":2,"rates":["0.10","0.05"]},
                    {"name":"silver","width":2,"accrual":"1.2","upline_multiplier":"1.5","rates":["0.20","0.10"],
                     "promote_at":{"lifetime_points":"1000"}}]})");
  ACCEPT(f.join(1));
  CHECK(ACCEPT(f.join(2, 1)).fx == placed(2, "bronze", 1, 0));
  CHECK(ACCEPT(f.join(3, 1)).fx == placed(3, "bronze", 1, 1));
  CHECK(ACCEPT(f.join(4, 2)).fx == placed(4, "bronze", 2, 0));  // node 3: parent node 1 = member 2
  CHECK(ACCEPT(f.adjust(1, "1000")).fx ==
        lines({adj(1, "1000.00"), promoted(1, "bronze", "silver"), placed(1, "silver", std::nullopt, 0)}));
  CHECK(ACCEPT(f.adjust(4, "1000")).fx == lines({adj(4, "1000.00"), promoted(4, "bronze", "silver"), placed(4, "silver", 1, 0)}));
  // 4 is silver; bronze upline 2 (bronze), 1 (silver); silver upline 1.

  // o1: 0 earlier purchases → x1. P = 10.00 × 1 × 1 × 1.2 (silver accrual) = 12.00.
  //   bronze L1: 2 (bronze, ×1)   12 × 0.10 × 1   = 1.20
  //   bronze L2: 1 (silver, ×1.5) 12 × 0.05 × 1.5 = 0.90
  //   silver L1: 1 (silver, ×1.5) 12 × 0.20 × 1.5 = 3.60; 1 is the silver root, L2 unpaid.
  CHECK(ACCEPT(f.buy("o1", 4, "10.00")).fx ==
        lines({own(4, "12.00"), up(2, "1.20", "bronze", 1), up(1, "0.90", "bronze", 2), up(1, "3.60", "silver", 1)}));
  // o2: 1 earlier purchase → still x1 (the band at 2 needs 2 EARLIER purchases). P = 20 × 1.2 = 24.00.
  //   2: 24 × 0.10 = 2.40; 1: 24 × 0.05 × 1.5 = 1.80; 1: 24 × 0.20 × 1.5 = 7.20.
  CHECK(ACCEPT(f.buy("o2", 4, "20.00")).fx ==
        lines({own(4, "24.00"), up(2, "2.40", "bronze", 1), up(1, "1.80", "bronze", 2), up(1, "7.20", "silver", 1)}));
  // o3: 2 earlier → x1.25, at outlet (0.5). P = 33.33 × 0.5 × 1.25 × 1.2 = 33.33 × 0.75 = 24.9975 → 25.00.
  //   2: 25 × 0.10 = 2.50; 1: 25 × 0.05 × 1.5 = 1.875 → tie, half to even → 1.88; 1: 25 × 0.20 × 1.5 = 7.50.
  CHECK(ACCEPT(f.buy("o3", 4, "33.33", "outlet")).fx ==
        lines({own(4, "25.00"), up(2, "2.50", "bronze", 1), up(1, "1.88", "bronze", 2), up(1, "7.50", "silver", 1)}));
  CHECK(f.member(4).orders == 3);
  CHECK(f.bal(4) == "1061.00");  // 1000 + 12 + 24 + 25
  CHECK(f.bal(2) == "6.10");     // 1.20 + 2.40 + 2.50
  CHECK(f.bal(1) == "1022.88");  // 1000 + 0.90 + 3.60 + 1.80 + 7.20 + 1.88 + 7.50
  CHECK(f.life(1) == "1022.88");

  // o4: bronze 2 buys 1000.00 (0 earlier → x1, bronze accrual 1) → P = 1000.00, which makes it silver —
  // but the purchase itself uses the tiers held at the start: only the bronze matrix is walked.
  //   1 (bronze L1, silver receiver): 1000 × 0.10 × 1.5 = 150.00.
  // §8: 2 (lifetime 1006.10) promoted, placed in silver: 1 root, 4 (1,0) → 2 at (1,1).
  CHECK(ACCEPT(f.buy("o4", 2, "1000.00")).fx ==
        lines({own(2, "1000.00"), up(1, "150.00", "bronze", 1), promoted(2, "bronze", "silver"), placed(2, "silver", 1, 1)}));
  // o5: 2 is silver now: accrual 1.2, 1 earlier → x1. P = 10 × 1.2 = 12.00.
  //   bronze L1: 1: 12 × 0.10 × 1.5 = 1.80; silver L1: 1: 12 × 0.20 × 1.5 = 3.60.
  CHECK(ACCEPT(f.buy("o5", 2, "10.00")).fx == lines({own(2, "12.00"), up(1, "1.80", "bronze", 1), up(1, "3.60", "silver", 1)}));
  // Refunding o4 claws back its credits but never the tier.
  CHECK(ACCEPT(f.refund("o4")).fx == lines({claw(2, "1000.00"), claw(1, "150.00")}));
  CHECK(f.tier(2) == "silver");
  CHECK(f.bal(2) == "18.10");  // 6.10 + 1000 + 12 - 1000
  CHECK(f.life(2) == "18.10");
  CHECK(f.member(2).nodes.size() == 2);
}

TEST_CASE("engine: min_basket — below it a purchase earns nothing but still counts") {
  // outlet: ratio 1, min_basket 20.00. History x1 from 0, x2 from 1 earlier purchase. bronze 10%.
  Fx f(R"({"name":"mb","history":[{"orders":0,"multiplier":"1"},{"orders":1,"multiplier":"2"}],
           "shops":{"main":{"ratio":"1"},"outlet":{"ratio":"1","min_basket":"20.00"}},
           "tiers":[{"name":"bronze","width":2,"rates":["0.10"]}]})");
  ACCEPT(f.join(1));
  ACCEPT(f.join(2, 1));
  CHECK(ACCEPT(f.buy("o1", 2, "19.99", "outlet")).fx == "");
  CHECK(f.member(2).orders == 1);
  CHECK(f.bal(2) == "0.00");
  CHECK(f.bal(1) == "0.00");
  REQUIRE(f.eng.order("o1").has_value());
  // Exactly min_basket is not below it. 1 earlier purchase → x2: P = 20.00 × 2 = 40.00; 1: 4.00.
  CHECK(ACCEPT(f.buy("o2", 2, "20.00", "outlet")).fx == lines({own(2, "40.00"), up(1, "4.00", "bronze", 1)}));
  CHECK(f.member(2).orders == 2);
  // A refund of an order that earned nothing is accepted and emits nothing; it is then fully refunded.
  CHECK(ACCEPT(f.refund("o1")).fx == "");
  CHECK(f.refund("o1").code == "refund_exceeds_order");
  // Refunds do not lower the history count: still x2.
  CHECK(ACCEPT(f.refund("o2")).fx == lines({claw(2, "40.00"), claw(1, "4.00")}));
  CHECK(ACCEPT(f.buy("o3", 2, "10.00")).fx == lines({own(2, "20.00"), up(1, "2.00", "bronze", 1)}));
  CHECK(f.member(2).orders == 3);
}

TEST_CASE("engine: rounding once, half to even (SPEC §11)") {
  SUBCASE("ratio 0.5, history 1.1, 10.05 → 5.53; a 90% rate → 4.98") {
    Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":["0.9"]}])", R"(,"history":[{"orders":0,"multiplier":"1.1"}])",
                   R"({"main":{"ratio":"0.5"}})"));
    ACCEPT(f.join(1));
    ACCEPT(f.join(2, 1));
    // P = 10.05 × 0.5 × 1.1 = 5.5275 → 5.53 (rounding after the ratio, 5.025 → 5.02, would give 5.52).
    // Upline: round(5.53 × 0.9 = 4.977) = 4.98, from the rounded P (5.5275 × 0.9 = 4.97475 would give 4.97).
    CHECK(ACCEPT(f.buy("o1", 2, "10.05")).fx == lines({own(2, "5.53"), up(1, "4.98", "bronze", 1)}));
  }
  SUBCASE("ties: 0.125 → 0.12, 0.135 → 0.14, in P and in upline credits") {
    Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":["0.5"]}])", "", R"({"half":{"ratio":"0.5"}})"));
    ACCEPT(f.join(1));
    ACCEPT(f.join(2, 1));
    // 0.25 × 0.5 = 0.125 → 0.12; upline 0.12 × 0.5 = 0.06.
    CHECK(ACCEPT(f.buy("a", 2, "0.25", "half")).fx == lines({own(2, "0.12"), up(1, "0.06", "bronze", 1)}));
    // 0.27 × 0.5 = 0.135 → 0.14; upline 0.14 × 0.5 = 0.07.
    CHECK(ACCEPT(f.buy("b", 2, "0.27", "half")).fx == lines({own(2, "0.14"), up(1, "0.07", "bronze", 1)}));
    // 0.50 × 0.5 = 0.25; upline 0.25 × 0.5 = 0.125 → 0.12.
    CHECK(ACCEPT(f.buy("c", 2, "0.50", "half")).fx == lines({own(2, "0.25"), up(1, "0.12", "bronze", 1)}));
    // 0.54 × 0.5 = 0.27; upline 0.135 → 0.14.
    CHECK(ACCEPT(f.buy("d", 2, "0.54", "half")).fx == lines({own(2, "0.27"), up(1, "0.14", "bronze", 1)}));
    // 0.03 × 0.5 = 0.015 → 0.02; upline 0.01.
    CHECK(ACCEPT(f.buy("e", 2, "0.03", "half")).fx == lines({own(2, "0.02"), up(1, "0.01", "bronze", 1)}));
    // 0.01 × 0.5 = 0.005 → 0.00: no effect of 0 points, but the order is accepted and counted.
    CHECK(ACCEPT(f.buy("z", 2, "0.01", "half")).fx == "");
    // 0.02 × 0.5 = 0.01; upline 0.005 → 0.00: own credit only.
    CHECK(ACCEPT(f.buy("y", 2, "0.02", "half")).fx == own(2, "0.01"));
    CHECK(f.member(2).orders == 7);
    CHECK(f.bal(2) == "0.81");  // 0.12+0.14+0.25+0.27+0.02+0.01
    CHECK(f.bal(1) == "0.40");  // 0.06+0.07+0.12+0.14+0.01
  }
  SUBCASE("upline multiplier 1.2 on a silver receiver: 100 × 5% × 1.2 = 6.00") {
    Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":["0.05"]},
                       {"name":"silver","width":2,"upline_multiplier":"1.2","rates":[],"promote_at":{"lifetime_points":"1000"}}])"));
    ACCEPT(f.join(1));
    ACCEPT(f.adjust(1, "1000"));
    CHECK(f.tier(1) == "silver");
    ACCEPT(f.join(2, 1));
    CHECK(ACCEPT(f.buy("o", 2, "100.00")).fx == lines({own(2, "100.00"), up(1, "6.00", "bronze", 1)}));
  }
  SUBCASE("exact with four factors at 6 decimals and a 19-digit amount") {
    // money/points scale 6; ratio 0.000001, history 0.000001, accrual 1000; rate 0.5.
    Fx f(R"({"name":"exact","money_scale":6,"points_scale":6,"history":[{"orders":0,"multiplier":"0.000001"}],
             "shops":{"main":{"ratio":"0.000001"}},
             "tiers":[{"name":"bronze","width":2,"accrual":"1000","rates":["0.5"]}]})");
    ACCEPT(f.join(1));
    ACCEPT(f.join(2, 1));
    // amount = 9223372036854.775807 (INT64_MAX units). P = amount × 10^-12 × 1000 = 9223.372036854775807
    //   → 9223.372037. Upline: 9223.372037 × 0.5 = 4611.6860185 → tie, last kept digit 8 even → 4611.686018.
    CHECK(ACCEPT(f.buy("o", 2, "9223372036854.775807")).fx == lines({own(2, "9223.372037"), up(1, "4611.686018", "bronze", 1)}));
  }
}

TEST_CASE("engine: trailing zeros beyond the scale are accepted, digits are not") {
  Fx f(plan_json(bronze3));
  ACCEPT(f.join(1));
  // "1.230" at money scale 2 is 1.23.
  CHECK(ACCEPT(f.buy("o1", 1, "1.230")).fx == own(1, "1.23"));
  CHECK(f.buy("o2", 1, "1.235").code == "invalid_amount");
  // Leading zeros are allowed.
  CHECK(ACCEPT(f.buy("o3", 1, "007.00")).fx == own(1, "7.00"));
  CHECK(ACCEPT(f.redeem(1, "0001.0000", "r1")).fx == debit(1, "1.00", "redeem"));
  CHECK(f.bal(1) == "7.23");
}

// ==================================================================================================
// §7 refunds
// ==================================================================================================

TEST_CASE("engine: partial then full refunds (SPEC §11)") {
  Fx f(plan_json(R"([{"name":"bronze","width":3,"rates":["0.05","0.03"]}])"));
  ACCEPT(f.join(1));
  for (MemberId k = 2; k <= 5; ++k) ACCEPT(f.join(k, 1));
  CHECK(f.eng.upline(5, 0) == std::vector<MemberId>{2, 1});
  CHECK(ACCEPT(f.buy("o", 5, "100.00")).fx == lines({own(5, "100.00"), up(2, "5.00", "bronze", 1), up(1, "3.00", "bronze", 2)}));
  // R/A = 12.50/100 = 0.125: 100 → 12.50; 5 × 0.125 = 0.625 → 0.62; 3 × 0.125 = 0.375 → 0.38.
  CHECK(ACCEPT(f.refund("o", "12.50")).fx == lines({claw(5, "12.50"), claw(2, "0.62"), claw(1, "0.38")}));
  // Clawbacks go to the receivers whatever their status now.
  ACCEPT(f.suspend(2));
  // R = 45.83: 45.83 − 12.50 = 33.33; round(2.2915) − 0.62 = 2.29 − 0.62 = 1.67; round(1.3749) − 0.38 = 1.37 − 0.38 = 0.99.
  CHECK(ACCEPT(f.refund("o", "33.33")).fx == lines({claw(5, "33.33"), claw(2, "1.67"), claw(1, "0.99")}));
  // The rest (no amount): 100 − 45.83 = 54.17; 5 − 2.29 = 2.71; 3 − 1.37 = 1.63.
  CHECK(ACCEPT(f.refund("o")).fx == lines({claw(5, "54.17"), claw(2, "2.71"), claw(1, "1.63")}));
  for (MemberId m : {1, 2, 5}) {
    CAPTURE(m);
    CHECK(f.bal(m) == "0.00");
    CHECK(f.life(m) == "0.00");
  }
  REQUIRE(f.eng.order("o").has_value());
  CHECK(f.eng.order("o")->refunded.units == 10000);
  CHECK(f.member(5).orders == 1);  // refunds do not uncount the order
  // Nothing left.
  CHECK(f.refund("o").code == "refund_exceeds_order");
  CHECK(f.refund("o", "0.01").code == "refund_exceeds_order");
  // invalid_amount comes before refund_exceeds_order.
  CHECK(f.refund("o", "0").code == "invalid_amount");
  CHECK(f.refund("o", "0.001").code == "invalid_amount");
  CHECK(f.refund("o", "-1.00").code == "invalid_amount");
  // unknown_order comes first of all.
  CHECK(f.refund("nope", "0").code == "unknown_order");
}

TEST_CASE("engine: refund amounts and explicit null amount") {
  Fx f(plan_json(R"([{"name":"bronze","width":3,"rates":["0.10"]}])"));
  ACCEPT(f.join(1));
  ACCEPT(f.join(2, 1));
  ACCEPT(f.buy("o", 2, "10.00"));
  CHECK(f.refund("o", "10.01").code == "refund_exceeds_order");
  CHECK(f.refund("o", "abc").code == "invalid_amount");
  // 10.00 × 0.3 = 3.00; 1.00 × 0.3 = 0.30.
  CHECK(ACCEPT(f.refund("o", "3.00")).fx == lines({claw(2, "3.00"), claw(1, "0.30")}));
  CHECK(f.refund("o", "7.01").code == "refund_exceeds_order");
  // "amount": null is absent: the rest.
  CHECK(ACCEPT(f.ev(R"({"type":"refund","order":"o","amount":null,"at":0})")).fx == lines({claw(2, "7.00"), claw(1, "0.70")}));
  CHECK(f.bal(2) == "0.00");
}

TEST_CASE("engine: refund window, applied time = max(clock, at)") {
  const Time day = 86'400'000;
  Fx f(plan_json(bronze3, R"(,"refund_window_days":1)"));
  ACCEPT(f.join(1, std::nullopt, 0));
  ACCEPT(f.buy("o1", 1, "10.00", "main", 1000));
  CHECK(f.eng.order("o1")->at == 1000);
  // Closes at 1000 + 1 day: a refund applied exactly then is still in.
  CHECK(ACCEPT(f.refund("o1", "1.00", 1000 + day)).fx == debit(1, "1.00", "clawback"));
  CHECK(f.eng.clock() == 1000 + day);
  // One ms later: closed; the rejected event does not move the clock.
  CHECK(f.refund("o1", "1.00", 1001 + day).code == "refund_window_closed");
  CHECK(f.eng.clock() == 1000 + day);

  // An accepted event with a later `at` moves the clock ...
  ACCEPT(f.join(2, 1, 90'000'000));
  CHECK(f.eng.clock() == 90'000'000);
  // ... and an event with an earlier `at` after it still works, applied at the clock.
  CHECK(ACCEPT(f.buy("o2", 2, "10.00", "main", 5)).fx == lines({own(2, "10.00"), up(1, "0.50", "bronze", 1)}));
  CHECK(f.eng.order("o2")->at == 90'000'000);
  CHECK(f.eng.clock() == 90'000'000);
  // o2 was applied at 90,000,000, so a refund with at 0 (applied at 90,000,000) is in its window.
  CHECK(ACCEPT(f.refund("o2", "1.00", 0)).fx == lines({claw(2, "1.00"), claw(1, "0.05")}));
  // o1 (applied at 1000): a refund with at 0 is applied at 90,000,000 > 1000 + 86,400,000 → closed.
  CHECK(f.refund("o1", "1.00", 0).code == "refund_window_closed");
  // The window is the plan's in force at the refund: 2 days reopens o1 (1000 + 2 days ≥ 90,000,000).
  ACCEPT(f.plan(plan_json(bronze3, R"(,"refund_window_days":2)"), 0));
  CHECK(ACCEPT(f.refund("o1", "1.00", 0)).fx == debit(1, "1.00", "clawback"));
  // No window (null): forever.
  ACCEPT(f.plan(plan_json(bronze3, R"(,"refund_window_days":null)"), 0));
  CHECK(ACCEPT(f.refund("o1", "1.00", 9'000'000'000'000)).fx == debit(1, "1.00", "clawback"));
  // Window 0: only at the purchase's own applied time.
  ACCEPT(f.plan(plan_json(bronze3, R"(,"refund_window_days":0)")));
  const Time t = f.eng.clock();
  ACCEPT(f.buy("o3", 1, "10.00", "main", t));
  CHECK(ACCEPT(f.refund("o3", "1.00", t)).fx == debit(1, "1.00", "clawback"));
  CHECK(f.refund("o3", "1.00", t + 1).code == "refund_window_closed");
  // refund_exceeds_order is checked before the window.
  CHECK(f.refund("o3", "9.01", t + 1).code == "refund_exceeds_order");
}

// ==================================================================================================
// §8 promotions
// ==================================================================================================

TEST_CASE("engine: promotion by lifetime_points") {
  Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":["0.10"]},
                     {"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"100"}}])"));
  ACCEPT(f.join(1));
  ACCEPT(f.join(2, 1));
  CHECK(ACCEPT(f.adjust(2, "99.99")).fx == adj(2, "99.99"));
  CHECK(f.tier(2) == "bronze");
  // Reached with >=: 99.99 + 0.01 = 100.00.
  CHECK(ACCEPT(f.adjust(2, "0.01")).fx == lines({adj(2, "0.01"), promoted(2, "bronze", "silver"), placed(2, "silver", std::nullopt, 0)}));
  CHECK(f.tier(2) == "silver");
  // By purchase: 1 buys 100.00 → own 100.00 → promoted, placed under 2 in silver.
  CHECK(ACCEPT(f.buy("o", 1, "100.00")).fx == lines({own(1, "100.00"), promoted(1, "bronze", "silver"), placed(1, "silver", 2, 0)}));
  // By an upline credit (and, in the same event, the buyer's own credit).
  ACCEPT(f.join(3, 1));  // bronze node 2: parent 1, position 1
  ACCEPT(f.join(4, 3));  // bronze node 3: parent node 1 = member 2, position 0
  ACCEPT(f.adjust(3, "90"));
  ACCEPT(f.join(5, 3));  // node 4: parent member 2, position 1
  ACCEPT(f.join(6, 3));  // node 5: parent node 2 = member 3, position 0
  // 6 buys 100.00 → 3 gets 10.00 (10%) → lifetime 100.00 → promoted; silver: 2 root, 1 (2,0), 3 → (2,1).
  CHECK(ACCEPT(f.buy("o6", 6, "100.00")).fx ==
        lines({own(6, "100.00"), up(3, "10.00", "bronze", 1), promoted(6, "bronze", "silver"), placed(6, "silver", 2, 1),
               promoted(3, "bronze", "silver"), placed(3, "silver", 1, 0)}));
  // (6 itself reaches 100.00 too; credited members are processed in first-credit order: 6, then 3.)
}

TEST_CASE("engine: promotion by direct_referrals") {
  SUBCASE("count and min_tier bronze; only direct referrals count; suspended referrals count") {
    Fx f(plan_json(R"([{"name":"bronze","width":3,"rates":[]},
                       {"name":"silver","width":3,"rates":[],"promote_at":{"direct_referrals":{"count":2,"min_tier":"bronze"}}}])"));
    ACCEPT(f.join(1));
    CHECK(ACCEPT(f.join(2, 1)).fx == placed(2, "bronze", 1, 0));
    // 3 is sponsored by 2: 1 has one direct referral, 2 has one.
    CHECK(ACCEPT(f.join(3, 2)).fx == placed(3, "bronze", 1, 1));
    CHECK(f.tier(1) == "bronze");
    ACCEPT(f.suspend(2));
    // 4 sponsored by 1: 1 has 2 and 4 (2 suspended still counts).
    CHECK(ACCEPT(f.join(4, 1)).fx == lines({placed(4, "bronze", 1, 2), promoted(1, "bronze", "silver"), placed(1, "silver", std::nullopt, 0)}));
    CHECK(f.member(1).referrals == 2u);
  }
  SUBCASE("SPEC §11 promotion cascade by referrals") {
    Fx f(plan_json(R"([{"name":"bronze","width":3,"rates":[]},
                       {"name":"silver","width":3,"rates":[],"promote_at":{"direct_referrals":{"count":2,"min_tier":"bronze"}}},
                       {"name":"gold","width":3,"rates":[],"promote_at":{"direct_referrals":{"count":1,"min_tier":"silver"}}}])"));
    CHECK(ACCEPT(f.join(1)).fx == placed(1, "bronze", std::nullopt, 0));
    CHECK(ACCEPT(f.join(2, 1)).fx == placed(2, "bronze", 1, 0));
    CHECK(ACCEPT(f.join(5, 1)).fx == lines({placed(5, "bronze", 1, 1), promoted(1, "bronze", "silver"), placed(1, "silver", std::nullopt, 0)}));
    CHECK(ACCEPT(f.join(3, 2)).fx == placed(3, "bronze", 1, 2));
    CHECK(ACCEPT(f.join(4, 2)).fx == lines({placed(4, "bronze", 2, 0), promoted(2, "bronze", "silver"), placed(2, "silver", 1, 0),
                                            promoted(1, "silver", "gold"), placed(1, "gold", std::nullopt, 0)}));
    CHECK(f.tier(1) == "gold");
    CHECK(f.tier(2) == "silver");
    CHECK(f.member(1).nodes.size() == 3);
  }
  SUBCASE("a suspended sponsor is not promoted until reactivated; reactivate runs §8") {
    Fx f(plan_json(R"([{"name":"bronze","width":3,"rates":[]},
                       {"name":"silver","width":3,"rates":[],"promote_at":{"direct_referrals":{"count":2,"min_tier":"bronze"}}},
                       {"name":"gold","width":3,"rates":[],"promote_at":{"direct_referrals":{"count":1,"min_tier":"silver"}}}])"));
    ACCEPT(f.join(1));
    CHECK(ACCEPT(f.suspend(1)).fx == "");
    CHECK(ACCEPT(f.join(2, 1)).fx == placed(2, "bronze", 1, 0));
    CHECK(ACCEPT(f.join(3, 1)).fx == placed(3, "bronze", 1, 1));
    CHECK(f.tier(1) == "bronze");
    // Suspending a suspended member: accepted, nothing.
    CHECK(ACCEPT(f.suspend(1)).fx == "");
    CHECK(f.member(1).status == upline::Status::suspended);
    // 2 gets two referrals and becomes silver; its sponsor 1 is processed but suspended.
    CHECK(ACCEPT(f.join(4, 2)).fx == placed(4, "bronze", 1, 2));
    CHECK(ACCEPT(f.join(5, 2)).fx == lines({placed(5, "bronze", 2, 0), promoted(2, "bronze", "silver"), placed(2, "silver", std::nullopt, 0)}));
    CHECK(f.tier(1) == "bronze");
    // Reactivate: §8 runs the whole cascade for 1 (bronze → silver → gold).
    CHECK(ACCEPT(f.reactivate(1)).fx == lines({promoted(1, "bronze", "silver"), placed(1, "silver", 2, 0), promoted(1, "silver", "gold"),
                                               placed(1, "gold", std::nullopt, 0)}));
    // Reactivating an active member: accepted, nothing.
    CHECK(ACCEPT(f.reactivate(1)).fx == "");
    CHECK(f.member(1).status == upline::Status::active);
  }
  SUBCASE("min_tier above bronze counts only referrals at least that tier") {
    Fx f(plan_json(R"([{"name":"bronze","width":3,"rates":[]},
                       {"name":"silver","width":3,"rates":[],"promote_at":{"lifetime_points":"10"}},
                       {"name":"gold","width":3,"rates":[],"promote_at":{"direct_referrals":{"count":2,"min_tier":"silver"}}}])"));
    ACCEPT(f.join(1));
    ACCEPT(f.join(2, 1));
    ACCEPT(f.join(3, 1));
    ACCEPT(f.join(4, 1));
    CHECK(ACCEPT(f.adjust(2, "10")).fx == lines({adj(2, "10.00"), promoted(2, "bronze", "silver"), placed(2, "silver", std::nullopt, 0)}));
    CHECK(f.tier(1) == "bronze");  // 1 itself is not silver (lifetime 0)
    ACCEPT(f.adjust(1, "10"));
    CHECK(f.tier(1) == "silver");   // one silver referral (2): not gold
    // Second silver referral: 3's promotion appends its sponsor 1, which goes gold.
    CHECK(ACCEPT(f.adjust(3, "10")).fx == lines({adj(3, "10.00"), promoted(3, "bronze", "silver"), placed(3, "silver", 2, 1),
                                                 promoted(1, "silver", "gold"), placed(1, "gold", std::nullopt, 0)}));
  }
}

TEST_CASE("engine: promotion by filled_levels") {
  SUBCASE("breadth_first, 1 level, in the member's current tier's matrix") {
    Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":[]},
                       {"name":"silver","width":2,"rates":[],"promote_at":{"filled_levels":1}},
                       {"name":"gold","width":2,"rates":[],"promote_at":{"filled_levels":1}}])"));
    ACCEPT(f.join(1));
    CHECK(ACCEPT(f.join(2, 1)).fx == placed(2, "bronze", 1, 0));
    // 1's two bronze positions are full.
    CHECK(ACCEPT(f.join(3, 1)).fx == lines({placed(3, "bronze", 1, 1), promoted(1, "bronze", "silver"), placed(1, "silver", std::nullopt, 0)}));
    // Gold needs 1's SILVER level to be full, which it is not (empty).
    CHECK(f.tier(1) == "silver");
    CHECK(ACCEPT(f.join(4, 1)).fx == placed(4, "bronze", 2, 0));
    // 5 fills 2's level (found through the ancestors of 5's node: 2 is its parent, not its sponsor).
    CHECK(ACCEPT(f.join(5, 1)).fx == lines({placed(5, "bronze", 2, 1), promoted(2, "bronze", "silver"), placed(2, "silver", 1, 0)}));
    CHECK(f.tier(1) == "silver");  // silver level of 1: [2, -]
    CHECK(ACCEPT(f.join(6, 1)).fx == placed(6, "bronze", 3, 0));
    // 7 fills 3 → silver under 1 at 1 → 1's silver level is full → gold.
    CHECK(ACCEPT(f.join(7, 1)).fx == lines({placed(7, "bronze", 3, 1), promoted(3, "bronze", "silver"), placed(3, "silver", 1, 1),
                                            promoted(1, "silver", "gold"), placed(1, "gold", std::nullopt, 0)}));
  }
  SUBCASE("breadth_first, 2 levels: w + w^2 = 6 positions, found through ancestors within L levels") {
    Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":[]},
                       {"name":"silver","width":2,"rates":[],"promote_at":{"filled_levels":2}}])"));
    ACCEPT(f.join(1));
    ACCEPT(f.join(2, 1));
    ACCEPT(f.join(3, 1));
    // 4..7 are sponsored by 2: 1 is reached only as the grandparent of the new node.
    for (MemberId k = 4; k <= 6; ++k) CHECK(ACCEPT(f.join(k, 2)).fx.find("promoted") == std::string::npos);
    CHECK(ACCEPT(f.join(7, 2)).fx == lines({placed(7, "bronze", 3, 1), promoted(1, "bronze", "silver"), placed(1, "silver", std::nullopt, 0)}));
    CHECK(f.tier(2) == "bronze");
    CHECK(f.eng.below(1, 0) == std::optional<std::uint64_t>(6));
  }
  SUBCASE("under_sponsor") {
    Fx f(plan_json(R"([{"name":"bronze","width":2,"fill":"under_sponsor","rates":[]},
                       {"name":"silver","width":2,"rates":[],"promote_at":{"filled_levels":1}}])"));
    ACCEPT(f.join(1));
    CHECK(ACCEPT(f.join(2, 1)).fx == placed(2, "bronze", 1, 0));
    CHECK(ACCEPT(f.join(3, 2)).fx == placed(3, "bronze", 2, 0));
    // 2's level is full; 1's is not ([2, -]).
    CHECK(ACCEPT(f.join(4, 2)).fx == lines({placed(4, "bronze", 2, 1), promoted(2, "bronze", "silver"), placed(2, "silver", std::nullopt, 0)}));
    CHECK(f.tier(1) == "bronze");
    CHECK(ACCEPT(f.join(5, 1)).fx == lines({placed(5, "bronze", 1, 1), promoted(1, "bronze", "silver"), placed(1, "silver", 2, 0)}));
  }
  SUBCASE("all criteria must hold") {
    Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":[]},
                       {"name":"silver","width":2,"rates":[],"promote_at":{"filled_levels":1,"lifetime_points":"5"}}])"));
    ACCEPT(f.join(1));
    ACCEPT(f.join(2, 1));
    ACCEPT(f.join(3, 1));
    CHECK(f.tier(1) == "bronze");
    CHECK(ACCEPT(f.adjust(1, "5")).fx == lines({adj(1, "5.00"), promoted(1, "bronze", "silver"), placed(1, "silver", std::nullopt, 0)}));
  }
}

TEST_CASE("engine: a suspended member is not promoted until reactivate") {
  Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":["0.10"]},
                     {"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"100"}}])"));
  ACCEPT(f.join(1));
  ACCEPT(f.join(2, 1));
  ACCEPT(f.suspend(2));
  // An adjustment reaches a suspended member (whatever its status) but does not promote it.
  CHECK(ACCEPT(f.adjust(2, "150")).fx == adj(2, "150.00"));
  CHECK(f.tier(2) == "bronze");
  CHECK(f.life(2) == "150.00");
  CHECK(ACCEPT(f.reactivate(2)).fx == lines({promoted(2, "bronze", "silver"), placed(2, "silver", std::nullopt, 0)}));
}

// ==================================================================================================
// §8 rewards
// ==================================================================================================

TEST_CASE("engine: rewards") {
  // Plan order: pin (50), mug (20), trip (100) — plan order, not threshold order.
  Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":["0.05","0.03"]},
                     {"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"100"}}])",
                 R"(,"rewards":[{"id":"pin","lifetime_points":"50"},{"id":"mug","lifetime_points":"20"},{"id":"trip","lifetime_points":"100"}])"));
  ACCEPT(f.join(1));
  ACCEPT(f.join(2, 1));
  CHECK(ACCEPT(f.adjust(1, "60")).fx == lines({adj(1, "60.00"), reward(1, "pin"), reward(1, "mug")}));
  CHECK(ACCEPT(f.adjust(1, "10")).fx == adj(1, "10.00"));
  // A negative adjustment does not run §8 and takes nothing back.
  CHECK(ACCEPT(f.adjust(1, "-30")).fx == debit(1, "30.00", "adjust"));
  CHECK(f.life(1) == "40.00");
  CHECK(f.rewards(1) == "pin,mug");
  // Back to 100: promotion first (step 1), then the one reward not yet held (step 2).
  CHECK(ACCEPT(f.adjust(1, "60")).fx == lines({adj(1, "60.00"), promoted(1, "bronze", "silver"), placed(1, "silver", std::nullopt, 0),
                                               reward(1, "trip")}));
  CHECK(f.rewards(1) == "pin,mug,trip");
  // Redeeming does not lower lifetime; never granted twice anyway.
  ACCEPT(f.redeem(1, "100", "r1"));
  CHECK(f.life(1) == "100.00");
  CHECK(ACCEPT(f.adjust(1, "500")).fx == adj(1, "500.00"));

  // Not while suspended; granted on reactivate (after the promotion).
  ACCEPT(f.suspend(2));
  CHECK(ACCEPT(f.adjust(2, "100")).fx == adj(2, "100.00"));
  CHECK(f.rewards(2) == "");
  CHECK(ACCEPT(f.reactivate(2)).fx == lines({promoted(2, "bronze", "silver"), placed(2, "silver", 1, 0), reward(2, "pin"),
                                             reward(2, "mug"), reward(2, "trip")}));
}

TEST_CASE("engine: a member credited twice by one purchase keeps the place of its first credit in the §8 work list") {
  // Found by the independent implementation: B's first credit (bronze, 0.10) leaves it below the
  // reward, A's (bronze L2) takes A to it, B's second (silver, 50.00) takes B to it. SPEC §8 seeds
  // the work list in order of first credit — C, B, A — whatever each credit alone reached.
  Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":["0.001","0.0001"]},
                     {"name":"silver","width":2,"rates":["0.5"],"promote_at":{"lifetime_points":"0"}}])",
                 R"(,"rewards":[{"id":"r","lifetime_points":"10"}])"));
  ACCEPT(f.join(1));     // A: silver node 0
  ACCEPT(f.join(2, 1));  // B: silver node 1, under A
  ACCEPT(f.join(3, 1));  // D: silver node 2, under A
  ACCEPT(f.join(4, 2));  // C: silver node 3, under B; bronze node 3, under B
  ACCEPT(f.adjust(1, "9.99"));
  CHECK(ACCEPT(f.buy("o", 4, "100.00")).fx == lines({own(4, "100.00"), up(2, "0.10", "bronze", 1), up(1, "0.01", "bronze", 2),
                                                     up(2, "50.00", "silver", 1), reward(4, "r"), reward(2, "r"), reward(1, "r")}));
}

TEST_CASE("engine: rewards of a purchase come in first-credit order") {
  Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":["0.05","0.03"]}])", R"(,"rewards":[{"id":"starter","lifetime_points":"3.00"}])"));
  ACCEPT(f.join(1));
  ACCEPT(f.join(2, 1));
  ACCEPT(f.join(3, 1));
  ACCEPT(f.join(4, 1));  // node 3: under 2
  // 4 +100.00, 2 +5.00, 1 +3.00: all reach 3.00, processed 4, 2, 1.
  CHECK(ACCEPT(f.buy("o", 4, "100.00")).fx == lines({own(4, "100.00"), up(2, "5.00", "bronze", 1), up(1, "3.00", "bronze", 2),
                                                      reward(4, "starter"), reward(2, "starter"), reward(1, "starter")}));
  // A refund takes no reward back.
  ACCEPT(f.refund("o"));
  CHECK(f.rewards(1) == "starter");
  ACCEPT(f.buy("o2", 4, "100.00"));
  CHECK(f.rewards(4) == "starter");
}

TEST_CASE("engine: a reward at 0 points is granted on joining") {
  Fx f(plan_json(bronze3, R"(,"rewards":[{"id":"welcome","lifetime_points":"0"}])"));
  CHECK(ACCEPT(f.join(1)).fx == lines({placed(1, "bronze", std::nullopt, 0), reward(1, "welcome")}));
  CHECK(ACCEPT(f.join(2, 1)).fx == lines({placed(2, "bronze", 1, 0), reward(2, "welcome")}));
}

// ==================================================================================================
// §7 adjust, redeem, suspend
// ==================================================================================================

TEST_CASE("engine: adjust") {
  Fx f(plan_json(bronze3));
  ACCEPT(f.join(1));
  ACCEPT(f.suspend(1));
  // Whatever the status.
  CHECK(ACCEPT(f.adjust(1, "12.5")).fx == adj(1, "12.50"));
  CHECK(ACCEPT(f.adjust(1, "-20.00")).fx == debit(1, "20.00", "adjust"));
  CHECK(f.bal(1) == "-7.50");
  CHECK(f.life(1) == "-7.50");
  CHECK(f.adjust(1, "0").code == "invalid_amount");
  CHECK(f.adjust(1, "-0.00").code == "invalid_amount");
  CHECK(f.adjust(1, "0.001").code == "invalid_amount");
  CHECK(f.adjust(1, "1e3").code == "invalid_amount");
  CHECK(f.adjust(9, "1").code == "unknown_member");
  CHECK(f.adjust(9, "0").code == "unknown_member");  // unknown_member before invalid_amount
}

TEST_CASE("engine: redeem") {
  Fx f(plan_json(bronze3));
  ACCEPT(f.join(1));
  ACCEPT(f.adjust(1, "100"));
  CHECK(ACCEPT(f.redeem(1, "30", "r1")).fx == debit(1, "30.00", "redeem"));
  CHECK(f.bal(1) == "70.00");
  CHECK(f.life(1) == "100.00");  // lifetime untouched
  // Allowed while suspended.
  ACCEPT(f.suspend(1));
  CHECK(ACCEPT(f.redeem(1, "20.00", "r2")).fx == debit(1, "20.00", "redeem"));
  CHECK(f.redeem(1, "50.01", "r3").code == "insufficient_points");
  // A rejected event reserves nothing: r3 is still free.
  CHECK(ACCEPT(f.redeem(1, "50.00", "r3")).fx == debit(1, "50.00", "redeem"));
  CHECK(f.bal(1) == "0.00");
  CHECK(f.redeem(1, "0.01", "r4").code == "insufficient_points");
  // A negative balance blocks every redemption.
  ACCEPT(f.adjust(1, "-10"));
  CHECK(f.bal(1) == "-10.00");
  CHECK(f.redeem(1, "0.01", "r4").code == "insufficient_points");
  ACCEPT(f.adjust(1, "20"));
  CHECK(ACCEPT(f.redeem(1, "10", "r4")).fx == debit(1, "10.00", "redeem"));
  CHECK(f.bal(1) == "0.00");
  CHECK(f.life(1) == "110.00");
  // Codes in order: duplicate_ref, unknown_member, invalid_amount, insufficient_points.
  CHECK(f.redeem(1, "1", "r1").code == "duplicate_ref");
  CHECK(f.redeem(99, "0", "r1").code == "duplicate_ref");
  CHECK(f.redeem(99, "0", "r9").code == "unknown_member");
  CHECK(f.redeem(1, "0", "r9").code == "invalid_amount");
  CHECK(f.redeem(1, "-1.00", "r9").code == "invalid_amount");
  CHECK(f.redeem(1, "1000.001", "r9").code == "invalid_amount");
  CHECK(f.redeem(1, "1,00", "r9").code == "invalid_amount");
  CHECK(f.redeem(1, "1000", "r9").code == "insufficient_points");
}

// ==================================================================================================
// §7 plan changes
// ==================================================================================================

namespace {
std::string v_plan(const std::string& tiers, const std::string& rewards, const std::string& shops = R"({"main":{"ratio":"1"}})",
                   const std::string& extra = "") {
  return plan_json(tiers, R"(,"rewards":)" + rewards + extra, shops);
}
const std::string t_bronze = R"({"name":"bronze","width":3,"rates":["0.10"]})";
const std::string t_silver = R"({"name":"silver","width":3,"rates":["0.20"],"promote_at":{"lifetime_points":"100"}})";
const std::string t_gold = R"({"name":"gold","width":3,"rates":[],"promote_at":{"lifetime_points":"1000"}})";
}  // namespace

TEST_CASE("engine: plan change — appended tier, shops, rewards") {
  const std::string pin = R"([{"id":"pin","lifetime_points":"50"}])";
  Fx f(v_plan("[" + t_bronze + "]", pin, R"({"main":{"ratio":"1"},"old":{"ratio":"2"}})"));
  ACCEPT(f.join(1));
  ACCEPT(f.join(2, 1));
  ACCEPT(f.join(3, 1));
  CHECK(ACCEPT(f.adjust(3, "100")).fx == lines({adj(3, "100.00"), reward(3, "pin")}));
  CHECK(ACCEPT(f.adjust(1, "100")).fx == lines({adj(1, "100.00"), reward(1, "pin")}));
  ACCEPT(f.adjust(2, "40"));
  // At `old` (ratio 2): P = 20.00, 1 gets 2.00; 2 reaches 60 → pin.
  CHECK(ACCEPT(f.buy("o-old", 2, "10.00", "old")).fx == lines({own(2, "20.00"), up(1, "2.00", "bronze", 1), reward(2, "pin")}));

  // v2: silver appended; shop `old` and reward `pin` removed. §8 for every member in join order:
  // 1 (102.00) promoted and placed first, then 3 (100.00); 2 (60.00) stays.
  const std::string v2 = v_plan("[" + t_bronze + "," + t_silver + "]", R"([{"id":"cap","lifetime_points":"1000"}])");
  CHECK(ACCEPT(f.plan(v2)).fx == lines({promoted(1, "bronze", "silver"), placed(1, "silver", std::nullopt, 0), promoted(3, "bronze", "silver"),
                                        placed(3, "silver", 1, 0)}));
  CHECK(f.eng.plan().tiers.size() == 2);
  // The removed shop is gone for purchases, but its orders stay refundable.
  CHECK(f.buy("o-x", 2, "10.00", "old").code == "unknown_shop");
  CHECK(ACCEPT(f.refund("o-old")).fx == lines({claw(2, "20.00"), claw(1, "2.00")}));
  // The removed reward is never granted again.
  ACCEPT(f.join(4, 1));
  CHECK(ACCEPT(f.adjust(4, "50")).fx == adj(4, "50.00"));
  CHECK(f.rewards(4) == "");
  // New rates apply from the plan event on: 3 (silver) buys: bronze 10% to 1, silver 20% to 1.
  CHECK(ACCEPT(f.buy("o3", 3, "10.00")).fx == lines({own(3, "10.00"), up(1, "1.00", "bronze", 1), up(1, "2.00", "silver", 1)}));

  // v3 re-adds pin: §8 grants it to 4 (lifetime 50) only; 1, 2, 3 already have it (2 even though
  // its lifetime is now 40.00: it is never taken back and never granted twice).
  CHECK(f.life(2) == "40.00");
  const std::string v3 = v_plan("[" + t_bronze + "," + t_silver + "]", pin);
  CHECK(ACCEPT(f.plan(v3)).fx == reward(4, "pin"));
  CHECK(f.rewards(2) == "pin");
  CHECK(f.rewards(4) == "pin");
  // The same plan again: nothing.
  CHECK(ACCEPT(f.plan(v3)).fx == "");
  CHECK(ACCEPT(f.adjust(1, "1")).fx == adj(1, "1.00"));
}

TEST_CASE("engine: plan change — what is compatible and what is not") {
  const std::string none = "[]";
  Fx f(v_plan("[" + t_bronze + "," + t_silver + "]", none));
  ACCEPT(f.join(1));
  ACCEPT(f.join(2, 1));
  // Compatible: gold appended; name, version, compression, rates, shops, history may change;
  // an explicit default fill equals the default.
  ACCEPT(f.plan(v_plan("[" + t_bronze + "," + t_silver + "," + t_gold + "]", none)));
  CHECK(f.eng.plan().tiers.size() == 3);
  ACCEPT(f.plan(R"({"name":"renamed plan","version":7,"compression":true,"shops":{"web":{"ratio":"3"}},
                    "history":[{"orders":0,"multiplier":"2"}],
                    "tiers":[{"name":"bronze","width":3,"fill":"breadth_first","rates":["0.5","0.1"],"accrual":"2"},)" +
                t_silver + "," + t_gold + "]}"));
  // web ratio 3 × history 2 × accrual 2 = 12: P = 12.00; 1 gets 50%.
  CHECK(ACCEPT(f.buy("o", 2, "1.00", "web")).fx == lines({own(2, "12.00"), up(1, "6.00", "bronze", 1)}));

  const std::string three = "[" + t_bronze + "," + t_silver + "," + t_gold + "]";
  SUBCASE("removing a tier") { CHECK(f.plan(v_plan("[" + t_bronze + "," + t_silver + "]", none)).code == "incompatible_plan"); }
  SUBCASE("renaming a tier") {
    CHECK(f.plan(v_plan(R"([{"name":"copper","width":3,"rates":["0.10"]},)" + t_silver + "," + t_gold + "]", none)).code ==
          "incompatible_plan");
  }
  SUBCASE("reordering tiers") {
    CHECK(f.plan(v_plan("[" + t_bronze + "," + t_gold + "," + t_silver + "]", none)).code == "incompatible_plan");
  }
  SUBCASE("changing a width") {
    CHECK(f.plan(v_plan(R"([{"name":"bronze","width":4,"rates":["0.10"]},)" + t_silver + "," + t_gold + "]", none)).code ==
          "incompatible_plan");
    CHECK(f.plan(v_plan("[" + t_bronze + R"(,{"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"100"}},)" + t_gold + "]",
                        none))
              .code == "incompatible_plan");
  }
  SUBCASE("changing a fill") {
    CHECK(f.plan(v_plan(R"([{"name":"bronze","width":3,"fill":"under_sponsor","rates":["0.10"]},)" + t_silver + "," + t_gold + "]", none))
              .code == "incompatible_plan");
  }
  SUBCASE("changing a scale") {
    CHECK(f.plan(v_plan(three, none, R"({"main":{"ratio":"1"}})", R"(,"money_scale":3)")).code == "incompatible_plan");
    CHECK(f.plan(v_plan(three, none, R"({"main":{"ratio":"1"}})", R"(,"points_scale":1)")).code == "incompatible_plan");
    // The default written out is no change.
    ACCEPT(f.plan(v_plan(three, none, R"({"main":{"ratio":"1"}})", R"(,"money_scale":2,"points_scale":2)")));
  }
  SUBCASE("an invalid plan object is invalid_plan, even when also incompatible") {
    CHECK(f.plan(v_plan(R"([{"name":"bronze","width":3,"rates":["0.0000001"]},)" + t_silver + "," + t_gold + "]", none)).code ==
          "invalid_plan");
    CHECK(f.plan(v_plan(R"([{"name":"copper","width":3,"rates":["0.0000001"]}])", none)).code == "invalid_plan");
    CHECK(f.plan(v_plan(three, none, R"({"main":{"ratio":1}})")).code == "invalid_plan");  // JSON number for a rate
    CHECK(f.plan(v_plan(three, none, R"({})")).code == "invalid_plan");                    // no shop
    CHECK(f.plan(v_plan(three, none, R"({"main":{"ratio":"1"}})", R"(,"bogus":1)")).code == "invalid_plan");  // unknown key
    CHECK(f.plan(R"({"shops":{"main":{"ratio":"1"}},"tiers":[{"name":"bronze","width":3,"rates":[]}]})").code == "invalid_plan");  // no name
  }
  SUBCASE("a plan that is not an object, or missing, is invalid_event") {
    CHECK(f.plan(R"("four-tier")").code == "invalid_event");
    CHECK(f.plan("null").code == "invalid_event");
    CHECK(f.ev(R"({"type":"plan","actor":"ops","at":0})").code == "invalid_event");
    CHECK(f.ev(R"({"type":"plan","plan":{},"actor":"","at":0})").code == "invalid_event");
  }
  CHECK(f.eng.plan().tiers.size() == 3);
}

// ==================================================================================================
// §4 rejections
// ==================================================================================================

TEST_CASE("engine: join rejections and their order") {
  Fx f(plan_json(bronze3));
  // The very first member with an unknown sponsor (even itself).
  CHECK(f.join(1, 1).code == "unknown_sponsor");
  CHECK(f.join(1, 7).code == "unknown_sponsor");
  // "sponsor": null is absent.
  CHECK(ACCEPT(f.ev(R"({"type":"join","member":1,"sponsor":null,"at":0})")).fx == placed(1, "bronze", std::nullopt, 0));
  CHECK(f.join(2).code == "sponsor_required");
  CHECK(f.ev(R"({"type":"join","member":2,"sponsor":null,"at":0})").code == "sponsor_required");
  CHECK(f.join(2, 7).code == "unknown_sponsor");
  CHECK(f.join(1, 1).code == "member_exists");
  CHECK(f.join(1).code == "member_exists");     // member_exists before sponsor_required
  CHECK(f.join(1, 7).code == "member_exists");  // member_exists before unknown_sponsor
  // The largest id.
  CHECK(ACCEPT(f.join(9223372036854775807, 1)).fx == placed(9223372036854775807, "bronze", 1, 0));
  CHECK(f.member(9223372036854775807).sponsor == std::optional<MemberId>(1));
}

TEST_CASE("engine: purchase rejections and their order") {
  Fx f(plan_json(bronze3));
  ACCEPT(f.join(1));
  ACCEPT(f.buy("o1", 1, "10.00"));
  CHECK(f.buy("o1", 1, "10.00").code == "duplicate_order");
  CHECK(f.buy("o1", 99, "10.00").code == "duplicate_order");      // duplicate_order before unknown_member
  CHECK(f.buy("o1", 99, "x", "nope").code == "duplicate_order");  // ... before everything
  CHECK(f.buy("o2", 99, "10.00", "nope").code == "unknown_member");  // unknown_member before unknown_shop
  CHECK(f.buy("o2", 99, "0").code == "unknown_member");
  CHECK(f.buy("o2", 1, "10.00", "nope").code == "unknown_shop");
  CHECK(f.buy("o2", 1, "-1", "nope").code == "unknown_shop");  // unknown_shop before invalid_amount
  for (const char* bad : {"10.001", "0", "0.00", "-0.00", "-5.00", "abc", "1e5", ".5", "5.", "+5", "", " 5", "5 ", "0x10", "1,5",
                          "92233720368547758.08", "100000000000000000000"}) {
    CAPTURE(bad);
    CHECK(f.buy("o2", 1, bad).code == "invalid_amount");
  }
  // A rejected purchase reserves nothing: o2 is still free.
  CHECK(ACCEPT(f.buy("o2", 1, "0.01")).fx == own(1, "0.01"));
  CHECK(f.member(1).orders == 2);
}

TEST_CASE("engine: refund rejections and their order") {
  Fx f(plan_json(bronze3, R"(,"refund_window_days":1)"));
  ACCEPT(f.join(1));
  ACCEPT(f.buy("o", 1, "10.00"));
  const Time late = 86'400'001;
  CHECK(f.refund("x", "-1", late).code == "unknown_order");
  CHECK(f.refund("o", "11", late).code == "refund_exceeds_order");  // before refund_window_closed
  CHECK(f.refund("o", "1.234", late).code == "invalid_amount");     // before refund_exceeds_order
  CHECK(f.refund("o", std::nullopt, late).code == "refund_window_closed");
  ACCEPT(f.refund("o", std::nullopt, late - 1));
  CHECK(f.refund("o", std::nullopt, late).code == "refund_exceeds_order");
}

TEST_CASE("engine: invalid_event — structural faults come before every other code") {
  Fx f(plan_json(bronze3));
  ACCEPT(f.join(1));
  ACCEPT(f.buy("o1", 1, "10.00"));
  ACCEPT(f.redeem(1, "1", "r1"));
  const std::string long_id(65, 'x');
  const char* bad[] = {
      // not an object / not JSON
      "not json",
      "[]",
      R"("join")",
      "42",
      "null",
      R"({"type":"join","member":2,"sponsor":1,"at":0)",
      // type
      "{}",
      R"({"member":2,"sponsor":1,"at":0})",
      R"({"type":"launch","at":0})",
      R"({"type":"Join","member":2,"sponsor":1,"at":0})",
      R"({"type":7,"member":2,"sponsor":1,"at":0})",
      R"({"type":null,"member":2,"sponsor":1,"at":0})",
      // join
      R"({"type":"join","member":2,"sponsor":1})",                      // missing at
      R"({"type":"join","sponsor":1,"at":0})",                          // missing member
      R"({"type":"join","member":2,"sponsor":1,"at":0,"extra":1})",     // extra field
      R"({"type":"join","member":2,"sponsor":1,"at":0,"order":"o"})",   // a field of another event
      R"({"type":"join","member":"2","sponsor":1,"at":0})",             // wrong JSON type
      R"({"type":"join","member":2.0,"sponsor":1,"at":0})",
      R"({"type":"join","member":2,"sponsor":"1","at":0})",
      R"({"type":"join","member":2,"sponsor":1,"at":"0"})",
      R"({"type":"join","member":2,"sponsor":1,"at":1.5})",
      R"({"type":"join","member":true,"sponsor":1,"at":0})",
      R"({"type":"join","member":0,"sponsor":1,"at":0})",               // id out of range
      R"({"type":"join","member":-1,"sponsor":1,"at":0})",
      R"({"type":"join","member":9223372036854775808,"sponsor":1,"at":0})",
      R"({"type":"join","member":2,"sponsor":0,"at":0})",
      R"({"type":"join","member":2,"sponsor":1,"at":-1})",
      R"({"type":"join","member":2,"sponsor":1,"at":9223372036854775808})",
      R"({"type":"join","member":null,"sponsor":1,"at":0})",            // null in a required field
      R"({"type":"join","member":2,"sponsor":1,"at":null})",
      // purchase
      R"({"type":"purchase","order":"o2","member":1,"amount":"1.00","at":0})",              // missing shop
      R"({"type":"purchase","order":"o2","member":1,"shop":"main","amount":10,"at":0})",    // JSON number amount
      R"({"type":"purchase","order":"o2","member":1,"shop":"main","amount":10.5,"at":0})",
      R"({"type":"purchase","order":"o2","member":1,"shop":"main","amount":null,"at":0})",
      R"({"type":"purchase","order":"","member":1,"shop":"main","amount":"1.00","at":0})",  // empty id
      R"({"type":"purchase","order":5,"member":1,"shop":"main","amount":"1.00","at":0})",
      R"({"type":"purchase","order":"o2","member":1,"shop":null,"amount":"1.00","at":0})",
      R"({"type":"purchase","order":"o2","member":1,"shop":"main","amount":"1.00","at":0,"sponsor":1})",
      // structural before business: a duplicate order with an extra field, an unknown member out of range
      R"({"type":"purchase","order":"o1","member":1,"shop":"main","amount":"1.00","at":0,"x":0})",
      R"({"type":"purchase","order":"o1","member":0,"shop":"main","amount":"1.00","at":0})",
      // refund
      R"({"type":"refund","order":"o1","amount":1,"at":0})",
      R"({"type":"refund","order":null,"at":0})",
      R"({"type":"refund","amount":"1.00","at":0})",
      R"({"type":"refund","order":"o1","member":1,"at":0})",
      R"({"type":"refund","order":"nope","at":0,"x":1})",  // unknown_order would apply: structure first
      // redeem
      R"({"type":"redeem","member":1,"points":"1","ref":"","at":0})",
      R"({"type":"redeem","member":1,"points":1,"ref":"r2","at":0})",
      R"({"type":"redeem","member":1,"points":"1","at":0})",
      R"({"type":"redeem","member":1,"points":"1","ref":"r1","at":-5})",  // duplicate_ref would apply
      // adjust
      R"({"type":"adjust","member":1,"points":"1","actor":"","reason":"r","at":0})",
      R"({"type":"adjust","member":1,"points":"1","actor":"a","reason":"","at":0})",
      R"({"type":"adjust","member":1,"points":"1","reason":"r","at":0})",
      R"({"type":"adjust","member":1,"points":"1","actor":"a","reason":null,"at":0})",
      R"({"type":"adjust","member":1,"points":"1","actor":5,"reason":"r","at":0})",
      R"({"type":"adjust","member":1,"points":-1,"actor":"a","reason":"r","at":0})",
      R"({"type":"adjust","member":99,"points":"0","actor":"","reason":"r","at":0})",  // unknown_member would apply
      // suspend / reactivate
      R"({"type":"suspend","member":1,"at":0,"points":"1"})",
      R"({"type":"suspend","member":"1","at":0})",
      R"({"type":"reactivate","at":0})",
      R"({"type":"reactivate","member":1,"at":0,"sponsor":null})",  // an extra field, even null
      // plan
      R"({"type":"plan","plan":[],"actor":"ops","at":0})",
      R"({"type":"plan","plan":{},"actor":"ops"})",
  };
  for (const char* line : bad) {
    CAPTURE(line);
    Res r = f.ev(line);
    CHECK(r.code == "invalid_event");
    CHECK_FALSE(r.message.empty());
  }
  // A shop id no plan can hold ("" or over 64 bytes) is simply not a shop: unknown_shop, in its
  // place after unknown_member (docs/RULES.md).
  CHECK(f.ev(R"({"type":"purchase","order":"o2","member":1,"shop":"","amount":"1.00","at":0})").code == "unknown_shop");
  CHECK(f.ev(R"({"type":"purchase","order":"o2","member":999,"shop":"","amount":"1.00","at":0})").code == "unknown_member");
  // A 65-byte order id or ref is out of range; 64 bytes is fine.
  CHECK(f.buy(long_id, 1, "1.00").code == "invalid_event");
  CHECK(f.redeem(1, "1", long_id).code == "invalid_event");
  ACCEPT(f.buy(long_id.substr(1), 1, "1.00"));
  // An optional field given as null is absent (join's sponsor and refund's amount: see other tests).
  CHECK(f.eng.applied() == 4);
}

TEST_CASE("engine: an invalid_event names the field") {
  Fx f(plan_json(bronze3));
  ACCEPT(f.join(1));
  CHECK(f.ev(R"({"type":"join","member":2,"sponsor":1,"at":0,"extra":1})").message.find("extra") != std::string::npos);
  CHECK(f.ev(R"({"type":"purchase","order":"o","member":1,"shop":"main","amount":10,"at":0})").message.find("amount") !=
        std::string::npos);
  CHECK(f.ev(R"({"type":"adjust","member":1,"points":"1","actor":"a","reason":"","at":0})").message.find("reason") != std::string::npos);
  CHECK(f.ev(R"({"type":"join","member":0,"sponsor":1,"at":0})").message.find("member") != std::string::npos);
}

TEST_CASE("engine: overflow") {
  SUBCASE("a huge purchase at ratio 1000") {
    Fx f(plan_json(bronze3, "", R"({"main":{"ratio":"1"},"big":{"ratio":"1000"}})"));
    ACCEPT(f.join(1));
    // 10^16 money × 1000 = 10^19 points = 10^21 units > INT64_MAX (9.22 × 10^18).
    CHECK(f.buy("o", 1, "10000000000000000.00", "big").code == "overflow");
    // Other codes come first.
    CHECK(f.buy("o", 1, "10000000000000000.00", "nope").code == "unknown_shop");
    CHECK(f.buy("o", 99, "10000000000000000.00", "big").code == "unknown_member");
    CHECK(f.member(1).orders == 0);
    // INT64_MAX units at ratio 1 fits exactly ...
    CHECK(ACCEPT(f.buy("o", 1, "92233720368547758.07")).fx == own(1, "92233720368547758.07"));
    // ... and one more unit does not fit the balance.
    CHECK(f.buy("o2", 1, "0.01").code == "overflow");
    CHECK(f.member(1).orders == 1);
    CHECK(f.bal(1) == "92233720368547758.07");
  }
  SUBCASE("an upline credit that leaves int64") {
    Fx f(plan_json(R"([{"name":"bronze","width":2,"upline_multiplier":"1000","rates":["1000"]}])"));
    ACCEPT(f.join(1));
    ACCEPT(f.join(2, 1));
    // P = 10^13 points fits; 1's credit = P × 1000 × 1000 = 10^19 points does not.
    CHECK(f.buy("o", 2, "10000000000000.00").code == "overflow");
    CHECK(f.bal(2) == "0.00");
    CHECK(f.member(2).orders == 0);
    // 10^9: 1 gets 10^15.
    CHECK(ACCEPT(f.buy("o", 2, "1000000000.00")).fx ==
          lines({own(2, "1000000000.00"), up(1, "1000000000000000.00", "bronze", 1)}));
  }
  SUBCASE("an adjustment pushing balance or lifetime past int64") {
    Fx f(plan_json(bronze3));
    ACCEPT(f.join(1));
    CHECK(ACCEPT(f.adjust(1, "92233720368547758.07")).fx == adj(1, "92233720368547758.07"));
    CHECK(f.adjust(1, "0.01").code == "overflow");
    CHECK(f.adjust(1, "92233720368547758.08").code == "invalid_amount");  // not a value at all: before overflow
    // Lifetime alone: redeem lowers the balance, not the lifetime.
    ACCEPT(f.redeem(1, "1.00", "r"));
    CHECK(f.adjust(1, "0.01").code == "overflow");
    CHECK(f.bal(1) == "92233720368547757.07");
    ACCEPT(f.join(2, 1));
    // Downwards: the debit of 2^63 units does not fit int64.
    CHECK(f.adjust(2, "-92233720368547758.08").code == "overflow");
    CHECK(ACCEPT(f.adjust(2, "-92233720368547758.07")).fx == debit(2, "92233720368547758.07", "adjust"));
    CHECK(f.adjust(2, "-0.02").code == "overflow");
    CHECK(f.bal(2) == "-92233720368547758.07");
  }
}

TEST_CASE("engine: a rejected event changes nothing") {
  Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":["0.10"]},
                     {"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"100"}}])",
                 R"(,"refund_window_days":1,"rewards":[{"id":"pin","lifetime_points":"5"}])"));
  ACCEPT(f.join(1, std::nullopt, 10));
  ACCEPT(f.join(2, 1, 20));
  ACCEPT(f.buy("o1", 2, "50.00", "main", 30));
  const std::string digest = f.eng.digest();
  const auto applied = f.eng.applied();
  const auto rejected = f.eng.rejected();
  const std::string b1 = f.bal(1), b2 = f.bal(2);
  const Time far = 1'000'000'000'000;
  // Each would otherwise move the clock far ahead; the fixture checks digest and clock after each.
  CHECK(f.join(2, 1, far).code == "member_exists");
  CHECK(f.buy("o1", 2, "10.00", "main", far).code == "duplicate_order");
  CHECK(f.buy("o9", 2, "10.001", "main", far).code == "invalid_amount");
  CHECK(f.refund("o1", std::nullopt, far).code == "refund_window_closed");
  CHECK(f.redeem(2, "1000", "r", far).code == "insufficient_points");
  CHECK(f.adjust(3, "1", far).code == "unknown_member");
  CHECK(f.suspend(3, far).code == "unknown_member");
  CHECK(f.reactivate(3, far).code == "unknown_member");
  CHECK(f.plan(plan_json(bronze3), far).code == "incompatible_plan");
  CHECK(f.ev(R"({"type":"join","member":3,"sponsor":1,"at":1000000000000,"x":1})").code == "invalid_event");
  CHECK(f.eng.digest() == digest);
  CHECK(f.eng.clock() == 30);
  CHECK(f.eng.applied() == applied);
  CHECK(f.eng.rejected() == rejected + 9);  // the engine counts what reached apply()
  CHECK(f.bal(1) == b1);
  CHECK(f.bal(2) == b2);
  // The refund rejected above was only late because of its own `at`: now it is in time.
  CHECK(ACCEPT(f.refund("o1", "10.00", 40)).fx == lines({claw(2, "10.00"), claw(1, "1.00")}));
  CHECK(f.eng.digest() != digest);
}

TEST_CASE("engine: the clock is the largest accepted at") {
  Fx f(plan_json(bronze3));
  CHECK(f.eng.clock() == 0);
  ACCEPT(f.join(1, std::nullopt, 500));
  CHECK(f.eng.clock() == 500);
  ACCEPT(f.join(2, 1, 100));  // earlier: applied at 500, clock unchanged
  CHECK(f.eng.clock() == 500);
  ACCEPT(f.suspend(2, 700));
  CHECK(f.eng.clock() == 700);
  // Suspending a suspended member is accepted and changes no member state.
  const auto before = f.member(2);
  CHECK(ACCEPT(f.suspend(2, 700)).fx == "");
  CHECK(f.member(2).status == upline::Status::suspended);
  CHECK(f.member(2).balance.units == before.balance.units);
  ACCEPT(f.buy("o", 1, "1.00", "main", 9223372036854775807));
  CHECK(f.eng.clock() == 9223372036854775807);
  ACCEPT(f.buy("o2", 1, "1.00", "main", 0));
  CHECK(f.eng.order("o2")->at == 9223372036854775807);
}

TEST_CASE("engine: same input, same digest") {
  auto run = [](bool extra) {
    Fx f(plan_json(bronze3, R"(,"rewards":[{"id":"pin","lifetime_points":"1"}])"));
    ACCEPT(f.join(1));
    ACCEPT(f.join(2, 1));
    ACCEPT(f.buy("o", 2, "10.00"));
    if (extra) CHECK(f.redeem(2, "999", "r").code == "insufficient_points");  // rejected: no trace in the digest
    ACCEPT(f.refund("o", "1.00"));
    return f.eng.digest();
  };
  const std::string a = run(false), b = run(true);
  CHECK(a == b);
  CHECK(a.size() == 64);
}

// ==================================================================================================
// Further cases
// ==================================================================================================

TEST_CASE("engine: a refund's clawback that would push a balance below int64 is overflow") {
  Fx f(plan_json(bronze3));
  ACCEPT(f.join(1));
  ACCEPT(f.join(2, 1));
  CHECK(ACCEPT(f.buy("o", 2, "100.00")).fx == lines({own(2, "100.00"), up(1, "5.00", "bronze", 1)}));
  // 1: 5.00 − 92233720368547758.07 − 5.00 = −92233720368547758.07 (INT64_MIN + 1 units).
  ACCEPT(f.adjust(1, "-92233720368547758.07"));
  ACCEPT(f.adjust(1, "-5.00"));
  CHECK(f.bal(1) == "-92233720368547758.07");
  // Clawing back 1's 5.00 would reach −92233720368547763.07: not an int64.
  CHECK(f.refund("o").code == "overflow");
  CHECK(f.refund("o", "50.00").code == "overflow");   // 2.50 from 1
  // 0.01 of the order claws back round(5.00 × 0.0001) = 0.00 from 1 (nothing) and 0.01 from 2.
  CHECK(ACCEPT(f.refund("o", "0.01")).fx == claw(2, "0.01"));
  CHECK(f.bal(1) == "-92233720368547758.07");
}

TEST_CASE("engine: several promotions in one event, and a purchase that pays a member twice") {
  Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":["0.10"]},
                     {"name":"silver","width":2,"rates":["0.10"],"promote_at":{"lifetime_points":"100"}},
                     {"name":"gold","width":2,"rates":["0.10"],"promote_at":{"lifetime_points":"200"}}])",
                 R"(,"rewards":[{"id":"pin","lifetime_points":"230"}])"));
  ACCEPT(f.join(1));
  CHECK(ACCEPT(f.adjust(1, "200")).fx == lines({adj(1, "200.00"), promoted(1, "bronze", "silver"), placed(1, "silver", std::nullopt, 0),
                                                promoted(1, "silver", "gold"), placed(1, "gold", std::nullopt, 0)}));
  ACCEPT(f.join(2, 1));
  ACCEPT(f.adjust(2, "200"));
  CHECK(f.tier(2) == "gold");
  // 2 (gold) buys 100.00: 1 is its parent in all three matrices: 10.00 three times (lifetime 200 + 30 = 230),
  // then each credited member's reward once: 2 (300.00) first, then 1.
  CHECK(ACCEPT(f.buy("o", 2, "100.00")).fx == lines({own(2, "100.00"), up(1, "10.00", "bronze", 1), up(1, "10.00", "silver", 1),
                                                     up(1, "10.00", "gold", 1), reward(2, "pin"), reward(1, "pin")}));
  // Refund: three clawbacks for 1, in the original credit order.
  CHECK(ACCEPT(f.refund("o", "50.00")).fx == lines({claw(2, "50.00"), claw(1, "5.00"), claw(1, "5.00"), claw(1, "5.00")}));
}

TEST_CASE("engine: compression in a higher matrix") {
  Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":[]},
                     {"name":"silver","width":2,"rates":["0.10","0.05"],"promote_at":{"lifetime_points":"100"}}])",
                 R"(,"compression":true)"));
  for (MemberId k = 1; k <= 4; ++k) ACCEPT(k == 1 ? f.join(1) : f.join(k, 1));
  // Silver in the order 1, 2, 3, 4: 4 sits under 2 (silver node 3 → parent node 1), 2 under 1.
  for (MemberId k = 1; k <= 4; ++k) ACCEPT(f.adjust(k, "100"));
  CHECK(f.member(4).nodes[1].parent == std::optional<MemberId>(2));
  CHECK(ACCEPT(f.buy("a", 4, "100.00")).fx == lines({own(4, "100.00"), up(2, "10.00", "silver", 1), up(1, "5.00", "silver", 2)}));
  ACCEPT(f.suspend(2));
  CHECK(ACCEPT(f.buy("b", 4, "100.00")).fx == lines({own(4, "100.00"), up(1, "10.00", "silver", 1)}));
}

TEST_CASE("engine: under_sponsor filled_levels 2") {
  Fx f(plan_json(R"([{"name":"bronze","width":2,"fill":"under_sponsor","rates":[]},
                     {"name":"silver","width":2,"rates":[],"promote_at":{"filled_levels":2}}])"));
  ACCEPT(f.join(1));
  CHECK(ACCEPT(f.join(2, 1)).fx == placed(2, "bronze", 1, 0));
  CHECK(ACCEPT(f.join(3, 1)).fx == placed(3, "bronze", 1, 1));
  CHECK(ACCEPT(f.join(4, 3)).fx == placed(4, "bronze", 3, 0));
  CHECK(ACCEPT(f.join(5, 3)).fx == placed(5, "bronze", 3, 1));
  CHECK(ACCEPT(f.join(6, 2)).fx == placed(6, "bronze", 2, 0));
  CHECK(f.tier(1) == "bronze");
  // 7 completes 1's second level; 1 is 7's grandparent (within L = 2 levels), not its sponsor.
  CHECK(ACCEPT(f.join(7, 2)).fx == lines({placed(7, "bronze", 2, 1), promoted(1, "bronze", "silver"), placed(1, "silver", std::nullopt, 0)}));
  // A third-level member under 3's subtree does not promote 3 (needs 6 below it).
  CHECK(ACCEPT(f.join(8, 3)).fx == placed(8, "bronze", 4, 0));
  CHECK(f.tier(3) == "bronze");
}

TEST_CASE("engine: plan changes move thresholds, rates and history, never demote") {
  const std::string tiers100 = R"([{"name":"bronze","width":2,"rates":["0.10"]},
                                   {"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"100"}}])";
  const std::string tiers50 = R"([{"name":"bronze","width":2,"rates":["0.20"]},
                                  {"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"50"}}])";
  const std::string tiers500 = R"([{"name":"bronze","width":2,"rates":["0.10"]},
                                   {"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"500"}}])";
  Fx f(plan_json(tiers100));
  ACCEPT(f.join(1));
  ACCEPT(f.join(2, 1));
  ACCEPT(f.join(3, 1));
  ACCEPT(f.adjust(2, "60"));
  ACCEPT(f.adjust(3, "70"));
  // Lower threshold: 2 and 3 promoted, in join order.
  CHECK(ACCEPT(f.plan(plan_json(tiers50, R"(,"history":[{"orders":0,"multiplier":"1"},{"orders":1,"multiplier":"3"}])"))).fx ==
        lines({promoted(2, "bronze", "silver"), placed(2, "silver", std::nullopt, 0), promoted(3, "bronze", "silver"),
               placed(3, "silver", 2, 0)}));
  // New rate (20%) and history: 2's first purchase x1, second x3.
  CHECK(ACCEPT(f.buy("a", 2, "10.00")).fx == lines({own(2, "10.00"), up(1, "2.00", "bronze", 1)}));
  CHECK(ACCEPT(f.buy("b", 2, "10.00")).fx == lines({own(2, "30.00"), up(1, "6.00", "bronze", 1)}));
  // Raise the threshold: nobody is demoted, nothing happens.
  CHECK(ACCEPT(f.plan(plan_json(tiers500))).fx == "");
  CHECK(f.tier(2) == "silver");
  CHECK(f.tier(3) == "silver");
}

TEST_CASE("engine: benefits follow the member's tier in the plan in force") {
  Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":[],"benefits":{"delivery":"standard"}},
                     {"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"1"},"benefits":{"delivery":"priority","discount":"0.05"}}])"));
  ACCEPT(f.join(1));
  REQUIRE(f.eng.benefits(1) != nullptr);
  CHECK(f.eng.benefits(1)->at("delivery") == "standard");
  ACCEPT(f.adjust(1, "1"));
  CHECK(f.eng.benefits(1)->at("delivery") == "priority");
  CHECK(f.member(1).benefits.at("discount") == "0.05");
  CHECK(f.eng.benefits(2) == nullptr);
}

TEST_CASE("engine: scale 0 prints no decimal point and rounds to whole points") {
  Fx f(R"({"name":"whole","money_scale":0,"points_scale":0,"shops":{"half":{"ratio":"0.5"}},
           "tiers":[{"name":"bronze","width":2,"rates":["0.5"]}]})");
  ACCEPT(f.join(1));
  ACCEPT(f.join(2, 1));
  // 3 × 0.5 = 1.5 → 2 (tie, to even); upline 2 × 0.5 = 1.
  CHECK(ACCEPT(f.buy("a", 2, "3", "half")).fx == lines({own(2, "2"), up(1, "1", "bronze", 1)}));
  // 5 × 0.5 = 2.5 → 2 (tie, to even); upline 1.
  CHECK(ACCEPT(f.buy("b", 2, "5", "half")).fx == lines({own(2, "2"), up(1, "1", "bronze", 1)}));
  // 6 × 0.5 = 3; upline 1.5 → 2.
  CHECK(ACCEPT(f.buy("c", 2, "6.000", "half")).fx == lines({own(2, "3"), up(1, "2", "bronze", 1)}));
  CHECK(f.buy("d", 2, "6.5", "half").code == "invalid_amount");
  CHECK(f.bal(2) == "7");
  CHECK(ACCEPT(f.redeem(2, "7", "r")).fx == debit(2, "7", "redeem"));
  CHECK(f.bal(2) == "0");
}

TEST_CASE("engine: a tier at lifetime 0 promotes on joining, then the sponsor and ancestors are processed") {
  Fx f(plan_json(R"([{"name":"bronze","width":2,"rates":[]},
                     {"name":"silver","width":2,"rates":[],"promote_at":{"lifetime_points":"0"}},
                     {"name":"gold","width":2,"rates":[],"promote_at":{"direct_referrals":{"count":1,"min_tier":"silver"}}}])"));
  CHECK(ACCEPT(f.join(1)).fx == lines({placed(1, "bronze", std::nullopt, 0), promoted(1, "bronze", "silver"), placed(1, "silver", std::nullopt, 0)}));
  // 2 joins: it is processed first (→ silver), which appends its sponsor 1 (already in the list) → gold.
  CHECK(ACCEPT(f.join(2, 1)).fx == lines({placed(2, "bronze", 1, 0), promoted(2, "bronze", "silver"), placed(2, "silver", 1, 0),
                                          promoted(1, "silver", "gold"), placed(1, "gold", std::nullopt, 0)}));
  // 3 under 2: 3 → silver (silver node 2: under 1 at 1), then its sponsor 2 has a silver referral → gold (under 1).
  CHECK(ACCEPT(f.join(3, 2)).fx == lines({placed(3, "bronze", 1, 1), promoted(3, "bronze", "silver"), placed(3, "silver", 1, 1),
                                          promoted(2, "silver", "gold"), placed(2, "gold", 1, 0)}));
}
