// Tests for upline/plan.hpp: Plan::parse (SPEC §3, every fault named by its field path),
// Plan::validate on hand-built plans, plan_incompatibility (SPEC §7 `plan`) and canonical JSON.
#include "upline/plan.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using upline::Fill;
using upline::Plan;
using upline::PlanFaults;
using upline::Rate;

namespace {

constexpr std::int64_t one = Rate::one;

// SPEC §3's example plan, verbatim.
const char* const spec_plan = R"({
  "name": "four-tier demo", "version": 1,
  "money_scale": 2, "points_scale": 2,
  "compression": false,
  "refund_window_days": 30,
  "shops":   { "main": { "ratio": "1" },
               "outlet": { "ratio": "0.5", "min_basket": "20.00" } },
  "history": [ { "orders": 0, "multiplier": "1" }, { "orders": 5, "multiplier": "1.1" } ],
  "tiers": [
    { "name": "bronze", "width": 3, "rates": ["0.05", "0.03", "0.02"],
      "benefits": { "discount": "0", "delivery": "standard" } },
    { "name": "silver", "width": 3, "fill": "breadth_first", "accrual": "1.1",
      "upline_multiplier": "1.2", "rates": ["0.04", "0.03", "0.02", "0.01"],
      "promote_at": { "lifetime_points": "1000", "direct_referrals": { "count": 2, "min_tier": "bronze" } },
      "benefits": { "discount": "0.05", "delivery": "priority" } }
  ],
  "rewards": [ { "id": "gift-500", "lifetime_points": "500" } ]
})";

const std::string bronze = R"({"name":"bronze","width":3,"rates":["0.05"]})";
const std::string main_shop = R"({"main":{"ratio":"1"}})";

// A plan text: `extra` (top-level members, each followed by a comma) + shops + tiers.
std::string plan_text(const std::string& tiers = "[" + bronze + "]", const std::string& shops = main_shop,
                      const std::string& extra = "") {
  return R"({"name":"p",)" + extra + R"("shops":)" + shops + R"(,"tiers":)" + tiers + "}";
}

// A second tier named `name` with the given promote_at member text (may be empty: no promote_at).
std::string tier_above(const std::string& name, const std::string& promote_at_member) {
  return R"({"name":")" + name + R"(","width":2,"rates":[])" + (promote_at_member.empty() ? "" : "," + promote_at_member) + "}";
}

std::string joined(const std::vector<std::string>& fs) {
  std::string s;
  for (const auto& f : fs) s += "\n  " + f;
  return s.empty() ? "(no faults)" : s;
}

std::vector<std::string> faults_of(const std::string& text) {
  PlanFaults f;
  auto p = Plan::parse(text, f);
  CHECK_MESSAGE(!p.has_value(), "plan unexpectedly valid: " << text);
  CHECK(!f.ok());
  return f.faults;
}

std::optional<Plan> parse_ok(const std::string& text) {
  PlanFaults f;
  auto p = Plan::parse(text, f);
  CHECK_MESSAGE(p.has_value(), "plan rejected:" << joined(f.faults) << "\n" << text);
  CHECK(f.ok());
  return p;
}

bool has_exact(const std::vector<std::string>& fs, std::string_view m) {
  for (const auto& f : fs)
    if (f == m) return true;
  return false;
}

// A fault whose message begins with `path: ` and contains `needle`.
bool has_at(const std::vector<std::string>& fs, const std::string& path, std::string_view needle = "") {
  for (const auto& f : fs)
    if (f.rfind(path + ": ", 0) == 0 && f.find(needle, path.size() + 2) != std::string::npos) return true;
  return false;
}

std::string repeat(std::string_view s, std::size_t n) {
  std::string r;
  for (std::size_t i = 0; i < n; ++i) r += s;
  return r;
}

std::string rates_array(std::size_t n) {
  std::string s = "[";
  for (std::size_t i = 0; i < n; ++i) s += (i ? ",\"0.01\"" : "\"0.01\"");
  return s + "]";
}

}  // namespace

#define CHECK_FAULT_EXACT(text, message)                                    \
  do {                                                                      \
    const auto fs_ = faults_of(text);                                       \
    CHECK_MESSAGE(has_exact(fs_, message), "faults:" << joined(fs_));       \
  } while (0)

#define CHECK_FAULT_AT(text, path, needle)                                  \
  do {                                                                      \
    const auto fs_ = faults_of(text);                                       \
    CHECK_MESSAGE(has_at(fs_, path, needle), "faults:" << joined(fs_));     \
  } while (0)

// ---- valid plans ------------------------------------------------------------------------------

TEST_CASE("plan: the SPEC §3 example parses with every field in place") {
  auto p = parse_ok(spec_plan);
  REQUIRE(p);
  CHECK(p->name == "four-tier demo");
  CHECK(p->version == 1);
  CHECK(p->money_scale == 2);
  CHECK(p->points_scale == 2);
  CHECK_FALSE(p->compression);
  REQUIRE(p->refund_window_days.has_value());
  CHECK(*p->refund_window_days == 30);

  REQUIRE(p->shops.size() == 2);
  CHECK(p->shops[0].id == "main");  // sorted by id
  CHECK(p->shops[0].ratio.micros == one);
  CHECK(p->shops[0].min_basket.units == 0);
  CHECK(p->shops[1].id == "outlet");
  CHECK(p->shops[1].ratio.micros == 500'000);
  CHECK(p->shops[1].min_basket.units == 2000);
  REQUIRE(p->find_shop("outlet") != nullptr);
  CHECK(p->find_shop("outlet")->ratio.micros == 500'000);
  CHECK(p->find_shop("nope") == nullptr);

  REQUIRE(p->history.size() == 2);
  CHECK(p->history[0].orders == 0);
  CHECK(p->history[0].multiplier.micros == one);
  CHECK(p->history[1].orders == 5);
  CHECK(p->history[1].multiplier.micros == 1'100'000);
  CHECK(p->history_multiplier(0).micros == one);
  CHECK(p->history_multiplier(4).micros == one);
  CHECK(p->history_multiplier(5).micros == 1'100'000);
  CHECK(p->history_multiplier(1000).micros == 1'100'000);

  REQUIRE(p->tiers.size() == 2);
  const auto& b = p->tiers[0];
  CHECK(b.name == "bronze");
  CHECK(b.width == 3);
  CHECK(b.fill == Fill::breadth_first);
  CHECK(b.accrual.micros == one);
  CHECK(b.upline_multiplier.micros == one);
  REQUIRE(b.rates.size() == 3);
  CHECK(b.rates[0].micros == 50'000);
  CHECK(b.rates[1].micros == 30'000);
  CHECK(b.rates[2].micros == 20'000);
  CHECK_FALSE(b.promote_at.has_value());
  CHECK(b.benefits.size() == 2);
  CHECK(b.benefits.at("discount") == "0");
  CHECK(b.benefits.at("delivery") == "standard");

  const auto& s = p->tiers[1];
  CHECK(s.name == "silver");
  CHECK(s.width == 3);
  CHECK(s.fill == Fill::breadth_first);
  CHECK(s.accrual.micros == 1'100'000);
  CHECK(s.upline_multiplier.micros == 1'200'000);
  REQUIRE(s.rates.size() == 4);
  CHECK(s.rates[3].micros == 10'000);
  REQUIRE(s.promote_at.has_value());
  REQUIRE(s.promote_at->lifetime_points.has_value());
  CHECK(s.promote_at->lifetime_points->units == 100'000);
  REQUIRE(s.promote_at->direct_referrals.has_value());
  CHECK(s.promote_at->direct_referrals->count == 2);
  CHECK(s.promote_at->direct_referrals->min_tier == 0);
  CHECK_FALSE(s.promote_at->filled_levels.has_value());
  CHECK(s.benefits.at("delivery") == "priority");
  CHECK(p->find_tier("silver") == std::optional<std::uint32_t>(1));
  CHECK(p->find_tier("gold") == std::nullopt);
  CHECK(p->max_filled_levels_used() == 0);

  REQUIRE(p->rewards.size() == 1);
  CHECK(p->rewards[0].id == "gift-500");
  CHECK(p->rewards[0].lifetime_points.units == 50'000);

  CHECK(p->validate().ok());
}

TEST_CASE("plan: defaults") {
  auto p = parse_ok(plan_text());
  REQUIRE(p);
  CHECK(p->name == "p");
  CHECK(p->version == 1);
  CHECK(p->money_scale == 2);
  CHECK(p->points_scale == 2);
  CHECK_FALSE(p->compression);
  CHECK_FALSE(p->refund_window_days.has_value());
  REQUIRE(p->shops.size() == 1);
  CHECK(p->shops[0].min_basket.units == 0);
  CHECK(p->history.empty());
  CHECK(p->history_multiplier(0).micros == one);
  CHECK(p->history_multiplier(99).micros == one);
  REQUIRE(p->tiers.size() == 1);
  CHECK(p->tiers[0].fill == Fill::breadth_first);
  CHECK(p->tiers[0].accrual.micros == one);
  CHECK(p->tiers[0].upline_multiplier.micros == one);
  CHECK(p->tiers[0].benefits.empty());
  CHECK_FALSE(p->tiers[0].promote_at.has_value());
  CHECK(p->rewards.empty());
}

TEST_CASE("plan: null for an optional key is its default") {
  const std::string tiers = R"([{"name":"bronze","width":2,"rates":[],"fill":null,"accrual":null,)"
                            R"("upline_multiplier":null,"benefits":null,"promote_at":null}])";
  const std::string shops = R"({"main":{"ratio":"2","min_basket":null}})";
  const std::string extra = R"("version":null,"money_scale":null,"points_scale":null,"compression":null,)"
                            R"("refund_window_days":null,"history":null,"rewards":null,)";
  auto p = parse_ok(plan_text(tiers, shops, extra));
  REQUIRE(p);
  CHECK(p->version == 1);
  CHECK(p->money_scale == 2);
  CHECK(p->points_scale == 2);
  CHECK_FALSE(p->compression);
  CHECK_FALSE(p->refund_window_days.has_value());
  CHECK(p->history.empty());
  CHECK(p->rewards.empty());
  CHECK(p->shops[0].min_basket.units == 0);
  CHECK(p->tiers[0].fill == Fill::breadth_first);
  CHECK(p->tiers[0].accrual.micros == one);
  CHECK(p->tiers[0].upline_multiplier.micros == one);
  CHECK(p->tiers[0].benefits.empty());
  CHECK_FALSE(p->tiers[0].promote_at.has_value());

  // Null promote_at on a tier above the first is "absent": still required.
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("silver", R"("promote_at":null)") + "]"), "tiers[1].promote_at", "");
}

TEST_CASE("plan: null in a required key is a fault") {
  CHECK_FAULT_AT(R"({"name":null,"shops":{"main":{"ratio":"1"}},"tiers":[)" + bronze + "]}", "name", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", "null"), "shops", "");
  CHECK_FAULT_AT(plan_text("null"), "tiers", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", R"({"main":{"ratio":null}})"), "shops.main.ratio", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"bronze","width":null,"rates":[]}])"), "tiers[0].width", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"bronze","width":2,"rates":null}])"), "tiers[0].rates", "");
}

TEST_CASE("plan: other valid variations") {
  // Non-default scalars.
  auto p = parse_ok(plan_text(R"([{"name":"a","width":64,"fill":"under_sponsor","rates":[]}])",
                              R"({"x":{"ratio":"1000","min_basket":"0.125"}})",
                              R"("version":7,"money_scale":3,"points_scale":0,"compression":true,"refund_window_days":36500,)"));
  REQUIRE(p);
  CHECK(p->version == 7);
  CHECK(p->money_scale == 3);
  CHECK(p->points_scale == 0);
  CHECK(p->compression);
  CHECK(*p->refund_window_days == 36500);
  CHECK(p->tiers[0].width == 64);
  CHECK(p->tiers[0].fill == Fill::under_sponsor);
  CHECK(p->shops[0].ratio.micros == Rate::max);
  CHECK(p->shops[0].min_basket.units == 125);
  // Boundaries that are valid.
  CHECK(parse_ok(plan_text(R"([{"name":"a","width":2,"rates":[]}])", main_shop, R"("refund_window_days":0,"money_scale":0,"points_scale":6,)")).has_value());
  CHECK(parse_ok(plan_text(R"([{"name":"a","width":2,"rates":["0","1000","-0","1000.000000","0.000001"]}])")).has_value());
  CHECK(parse_ok(plan_text(R"([{"name":"a","width":2,"rates":)" + rates_array(32) + "}]")).has_value());
  CHECK(parse_ok(plan_text("[" + bronze + "]", R"({")" + std::string(64, 's') + R"(":{"ratio":"1"}})")).has_value());
  CHECK(parse_ok(plan_text(R"([{"name":")" + std::string(32, 'n') + R"(","width":2,"rates":[]}])")).has_value());
  // 32 characters of two-byte (é) and three-byte (€) UTF-8 are 32 characters, not 64 or 96 bytes.
  CHECK(parse_ok(plan_text(R"([{"name":")" + repeat("\xc3\xa9", 32) + R"(","width":2,"rates":[]}])")).has_value());
  CHECK(parse_ok(plan_text(R"([{"name":")" + repeat("\xe2\x82\xac", 32) + R"(","width":2,"rates":[]}])")).has_value());
  CHECK(parse_ok(plan_text(R"([{"name":")" + repeat("\\u00e9", 32) + R"(","width":2,"rates":[]}])")).has_value());
  CHECK(parse_ok(R"({"name":")" + std::string(128, 'n') + R"(","shops":{"m":{"ratio":"1"}},"tiers":[)" + bronze + "]}").has_value());
  // filled_levels at its bounds, history strictly ascending.
  auto q = parse_ok(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"filled_levels":1})") + "," +
                                  tier_above("g", R"("promote_at":{"filled_levels":32})") + "]",
                              main_shop, R"("history":[{"orders":0,"multiplier":"1"},{"orders":1,"multiplier":"2"}],)"));
  REQUIRE(q);
  CHECK(q->max_filled_levels_used() == 32);
  CHECK(*q->tiers[1].promote_at->filled_levels == 1);
  // min_tier may name any tier of the plan, even a later one.
  auto r = parse_ok(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"direct_referrals":{"count":1,"min_tier":"g"}})") +
                              "," + tier_above("g", R"("promote_at":{"lifetime_points":"0"})") + "]"));
  REQUIRE(r);
  CHECK(r->tiers[1].promote_at->direct_referrals->min_tier == 2);
  // 16 tiers.
  std::string tiers = "[" + bronze;
  for (int i = 1; i < 16; ++i) tiers += "," + tier_above("t" + std::to_string(i), R"("promote_at":{"lifetime_points":"1"})");
  CHECK(parse_ok(plan_text(tiers + "]")).has_value());
}

// ---- faults ------------------------------------------------------------------------------------

TEST_CASE("plan: a rate with more than 6 decimals (SPEC §3 message)") {
  const std::string tiers = "[" + bronze + "," +
                            R"({"name":"silver","width":3,"rates":["0.04","0.03","0.0000001"],"promote_at":{"lifetime_points":"1"}})" + "]";
  CHECK_FAULT_EXACT(plan_text(tiers), R"(tiers[1].rates[2]: "0.0000001" has more than 6 decimals)");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", R"({"outlet":{"ratio":"0.1234567"}})"), "shops.outlet.ratio", "0.1234567");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":[],"accrual":"1.0000001"}])"), "tiers[0].accrual", "1.0000001");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":[],"upline_multiplier":"0.00000001"}])"), "tiers[0].upline_multiplier", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", main_shop, R"("history":[{"orders":0,"multiplier":"1.12345678"}],)"),
                 "history[0].multiplier", "1.12345678");
}

TEST_CASE("plan: rates outside 0..1000 and malformed decimals") {
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":["1000.000001"]}])"), "tiers[0].rates[0]", "1000.000001");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":["1001"]}])"), "tiers[0].rates[0]", "1001");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":["123456789012345678901234"]}])"), "tiers[0].rates[0]", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":["-0.01"]}])"), "tiers[0].rates[0]", "-0.01");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", R"({"m":{"ratio":"-1"}})"), "shops.m.ratio", "-1");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":[".5"]}])"), "tiers[0].rates[0]", ".5");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":["1e3"]}])"), "tiers[0].rates[0]", "1e3");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":["+1"]}])"), "tiers[0].rates[0]", "+1");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":[""]}])"), "tiers[0].rates[0]", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":[],"accrual":"1001"}])"), "tiers[0].accrual", "1001");
  // The fault names the index of the bad rate even when earlier ones are fine.
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":["0.1","0.2","0.3","-1"]}])"), "tiers[0].rates[3]", "-1");
}

TEST_CASE("plan: a JSON number where a decimal string is expected") {
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", R"({"main":{"ratio":1}})"), "shops.main.ratio", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":[0.05]}])"), "tiers[0].rates[0]", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", R"({"main":{"ratio":"1","min_basket":20}})"), "shops.main.min_basket", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":[],"accrual":1}])"), "tiers[0].accrual", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":[],"upline_multiplier":1.2}])"), "tiers[0].upline_multiplier", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", main_shop, R"("history":[{"orders":0,"multiplier":1}],)"), "history[0].multiplier", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"lifetime_points":1000})") + "]"),
                 "tiers[1].promote_at.lifetime_points", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", main_shop, R"("rewards":[{"id":"r","lifetime_points":500}],)"),
                 "rewards[0].lifetime_points", "");
}

TEST_CASE("plan: unknown keys") {
  CHECK_FAULT_EXACT(plan_text("[" + bronze + "]", main_shop, R"("colour":"red",)"), "colour: unknown key");
  CHECK_FAULT_EXACT(plan_text(R"([{"name":"a","width":2,"rates":[],"colour":"grey"}])"), "tiers[0].colour: unknown key");
  CHECK_FAULT_EXACT(plan_text("[" + bronze + "]", R"({"main":{"ratio":"1","colour":"x"}})"), "shops.main.colour: unknown key");
  CHECK_FAULT_EXACT(plan_text("[" + bronze + "]", main_shop, R"("history":[{"orders":0,"multiplier":"1","x":1}],)"),
                    "history[0].x: unknown key");
  CHECK_FAULT_EXACT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"lifetime_points":"1","x":1})") + "]"),
                    "tiers[1].promote_at.x: unknown key");
  CHECK_FAULT_EXACT(plan_text("[" + bronze + "," +
                              tier_above("s", R"("promote_at":{"direct_referrals":{"count":1,"min_tier":"bronze","x":1}})") + "]"),
                    "tiers[1].promote_at.direct_referrals.x: unknown key");
  CHECK_FAULT_EXACT(plan_text("[" + bronze + "]", main_shop, R"("rewards":[{"id":"r","lifetime_points":"1","x":1}],)"),
                    "rewards[0].x: unknown key");
  // Keys are case-sensitive.
  CHECK_FAULT_EXACT(plan_text("[" + bronze + "]", main_shop, R"("Version":1,)"), "Version: unknown key");
}

TEST_CASE("plan: duplicate keys, top level and nested") {
  {
    const auto fs = faults_of(R"({"name":"a","name":"b","shops":{"main":{"ratio":"1"}},"tiers":[)" + bronze + "]}");
    REQUIRE(fs.size() == 1);
    CHECK(fs[0].find("duplicate key \"name\"") != std::string::npos);
  }
  {
    // A duplicate shop id is a duplicate key of `shops`.
    const auto fs = faults_of(plan_text("[" + bronze + "]", R"({"main":{"ratio":"1"},"main":{"ratio":"2"}})"));
    REQUIRE(fs.size() == 1);
    CHECK_MESSAGE(fs[0] == "shops: duplicate key \"main\"", fs[0]);
  }
  {
    const auto fs = faults_of(plan_text("[" + bronze + "]", R"({"main":{"ratio":"1","ratio":"2"}})"));
    REQUIRE(fs.size() == 1);
    // The message names the object holding the key and the key: `shops.main: duplicate key "ratio"`.
    CHECK_MESSAGE(fs[0] == "shops.main: duplicate key \"ratio\"", fs[0]);
  }
  {
    const auto fs = faults_of(plan_text(R"([)" + bronze + R"(,{"name":"s","width":2,"rates":[],"promote_at":{"lifetime_points":"1","lifetime_points":"2"}}])"));
    REQUIRE(fs.size() == 1);
    CHECK_MESSAGE(fs[0] == "tiers[1].promote_at: duplicate key \"lifetime_points\"", fs[0]);
  }
  {
    const auto fs = faults_of(plan_text(R"([{"name":"a","width":2,"width":3,"rates":[]}])"));
    REQUIRE(fs.size() == 1);
    CHECK_MESSAGE(fs[0] == "tiers[0]: duplicate key \"width\"", fs[0]);
  }
}

TEST_CASE("plan: width out of 2..64") {
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":1,"rates":[]}])"), "tiers[0].width", "1");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":65,"rates":[]}])"), "tiers[0].width", "65");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":0,"rates":[]}])"), "tiers[0].width", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":-3,"rates":[]}])"), "tiers[0].width", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2.5,"rates":[]}])"), "tiers[0].width", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":"3","rates":[]}])"), "tiers[0].width", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","rates":[]}])"), "tiers[0].width", "");
}

TEST_CASE("plan: tier count and rate count limits") {
  std::string tiers = "[" + bronze;
  for (int i = 1; i < 17; ++i) tiers += "," + tier_above("t" + std::to_string(i), R"("promote_at":{"lifetime_points":"1"})");
  CHECK_FAULT_AT(plan_text(tiers + "]"), "tiers", "17");
  CHECK_FAULT_AT(plan_text("[]"), "tiers", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":)" + rates_array(33) + "}]"), "tiers[0].rates", "33");
}

TEST_CASE("plan: tier names") {
  CHECK_FAULT_AT(plan_text(R"([{"name":")" + std::string(33, 'n') + R"(","width":2,"rates":[]}])"), "tiers[0].name", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"","width":2,"rates":[]}])"), "tiers[0].name", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":")" + repeat("\xc3\xa9", 33) + R"(","width":2,"rates":[]}])"), "tiers[0].name", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":5,"width":2,"rates":[]}])"), "tiers[0].name", "");
  CHECK_FAULT_AT(plan_text(R"([{"width":2,"rates":[]}])"), "tiers[0].name", "");
  // Duplicates.
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("bronze", R"("promote_at":{"lifetime_points":"1"})") + "]"), "tiers[1].name",
                 "bronze");
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"lifetime_points":"1"})") + "," +
                           tier_above("s", R"("promote_at":{"lifetime_points":"2"})") + "]"),
                 "tiers[2].name", "\"s\"");
  {
    // A tier that is not an object does not shift the paths of the tiers after it.
    const auto fs = faults_of(plan_text("[" + bronze + ",7," + tier_above("s", R"("promote_at":{"lifetime_points":"1"})") + "," +
                                        tier_above("s", R"("promote_at":{"lifetime_points":"2"})") + "]"));
    CHECK_MESSAGE(has_at(fs, "tiers[1]", ""), joined(fs));
    CHECK_MESSAGE(has_at(fs, "tiers[3].name", "\"s\""), joined(fs));
    CHECK_MESSAGE(!has_at(fs, "tiers[2].name", ""), joined(fs));
  }
}

TEST_CASE("plan: promote_at rules") {
  // Forbidden on tier 0.
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":[],"promote_at":{"lifetime_points":"1"}}])"), "tiers[0].promote_at", "");
  // Required above tier 0.
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", "") + "]"), "tiers[1].promote_at", "");
  // At least one criterion.
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{})") + "]"), "tiers[1].promote_at", "");
  // Not an object.
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":"soon")") + "]"), "tiers[1].promote_at", "");
  // min_tier must be a tier of the plan.
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"direct_referrals":{"count":1,"min_tier":"gold"}})") + "]"),
                 "tiers[1].promote_at.direct_referrals.min_tier", "gold");
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"direct_referrals":{"count":1}})") + "]"),
                 "tiers[1].promote_at.direct_referrals.min_tier", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"direct_referrals":{"count":0,"min_tier":"bronze"}})") + "]"),
                 "tiers[1].promote_at.direct_referrals.count", "0");
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"direct_referrals":{"min_tier":"bronze"}})") + "]"),
                 "tiers[1].promote_at.direct_referrals.count", "");
  // filled_levels 1..32.
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"filled_levels":0})") + "]"),
                 "tiers[1].promote_at.filled_levels", "0");
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"filled_levels":33})") + "]"),
                 "tiers[1].promote_at.filled_levels", "33");
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"filled_levels":"2"})") + "]"),
                 "tiers[1].promote_at.filled_levels", "");
  // lifetime_points: points >= 0 at points_scale.
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"lifetime_points":"-1"})") + "]"),
                 "tiers[1].promote_at.lifetime_points", "-1");
  CHECK_FAULT_AT(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"lifetime_points":"1.001"})") + "]"),
                 "tiers[1].promote_at.lifetime_points", "1.001");
}

TEST_CASE("plan: history bands") {
  auto with_history = [](const std::string& h) { return plan_text("[" + bronze + "]", main_shop, R"("history":)" + h + ","); };
  CHECK_FAULT_AT(with_history(R"([{"orders":3,"multiplier":"1.1"}])"), "history[0].orders", "3");
  CHECK_FAULT_AT(with_history(R"([{"orders":0,"multiplier":"1"},{"orders":5,"multiplier":"1"},{"orders":5,"multiplier":"2"}])"),
                 "history[2].orders", "5");
  CHECK_FAULT_AT(with_history(R"([{"orders":0,"multiplier":"1"},{"orders":5,"multiplier":"1"},{"orders":3,"multiplier":"2"}])"),
                 "history[2].orders", "3");
  CHECK_FAULT_AT(with_history("[]"), "history", "");
  CHECK_FAULT_AT(with_history(R"({"orders":0})"), "history", "");
  CHECK_FAULT_AT(with_history(R"([{"orders":-1,"multiplier":"1"}])"), "history[0].orders", "");
  CHECK_FAULT_AT(with_history(R"([{"multiplier":"1"}])"), "history[0].orders", "");
  CHECK_FAULT_AT(with_history(R"([{"orders":0}])"), "history[0].multiplier", "");
}

TEST_CASE("plan: shops") {
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", "{}"), "shops", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", "[]"), "shops", "");
  const std::string long_id(65, 's');
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", R"({")" + long_id + R"(":{"ratio":"1"}})"), "shops." + long_id, "");
  {
    // An empty shop id is named as such.
    const auto fs = faults_of(plan_text("[" + bronze + "]", R"({"":{"ratio":"1"}})"));
    bool named = false;
    for (const auto& f : fs) named = named || f.find("shop id \"\"") != std::string::npos;
    CHECK_MESSAGE(named, joined(fs));
  }
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", R"({"main":{}})"), "shops.main.ratio", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", R"({"main":"1"})"), "shops.main", "");
  // min_basket is money: at most money_scale decimals, >= 0.
  CHECK_FAULT_EXACT(plan_text("[" + bronze + "]", R"({"main":{"ratio":"1"},"outlet":{"ratio":"0.5","min_basket":"20.001"}})"),
                    R"(shops.outlet.min_basket: "20.001" has more decimals than money_scale 2)");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", R"({"outlet":{"ratio":"0.5","min_basket":"20.5"}})", R"("money_scale":0,)"),
                 "shops.outlet.min_basket", "20.5");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", R"({"outlet":{"ratio":"0.5","min_basket":"-1"}})"), "shops.outlet.min_basket", "-1");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", R"({"outlet":{"ratio":"0.5","min_basket":"99999999999999999999"}})"),
                 "shops.outlet.min_basket", "");
  // The same text is fine at a larger money_scale; trailing zeros beyond the scale are fine.
  CHECK(parse_ok(plan_text("[" + bronze + "]", R"({"outlet":{"ratio":"0.5","min_basket":"20.001"}})", R"("money_scale":3,)")).has_value());
  CHECK(parse_ok(plan_text("[" + bronze + "]", R"({"outlet":{"ratio":"0.5","min_basket":"20.000"}})")).has_value());
}

TEST_CASE("plan: rewards") {
  auto with_rewards = [](const std::string& r) { return plan_text("[" + bronze + "]", main_shop, R"("rewards":)" + r + ","); };
  CHECK_FAULT_AT(with_rewards(R"([{"id":"a","lifetime_points":"1"},{"id":"a","lifetime_points":"2"}])"), "rewards[1].id", "\"a\"");
  CHECK_FAULT_AT(with_rewards(R"([{"id":"","lifetime_points":"1"}])"), "rewards[0].id", "");
  CHECK_FAULT_AT(with_rewards(R"([{"id":")" + std::string(65, 'r') + R"(","lifetime_points":"1"}])"), "rewards[0].id", "");
  CHECK_FAULT_AT(with_rewards(R"([{"id":"a"}])"), "rewards[0].lifetime_points", "");
  CHECK_FAULT_AT(with_rewards(R"([{"lifetime_points":"1"}])"), "rewards[0].id", "");
  CHECK_FAULT_AT(with_rewards(R"([{"id":"a","lifetime_points":"-5"}])"), "rewards[0].lifetime_points", "-5");
  CHECK_FAULT_AT(with_rewards(R"([{"id":"a","lifetime_points":"1.005"}])"), "rewards[0].lifetime_points", "1.005");
  CHECK_FAULT_AT(with_rewards(R"({"id":"a"})"), "rewards", "");
  {
    // A bad element does not shift the paths of the elements after it.
    const auto fs = faults_of(with_rewards(R"([5,{"id":"x","lifetime_points":"1"},{"id":"x","lifetime_points":"2"}])"));
    CHECK_MESSAGE(has_at(fs, "rewards[0]", ""), joined(fs));
    CHECK_MESSAGE(has_at(fs, "rewards[2].id", "\"x\""), joined(fs));
    CHECK_MESSAGE(!has_at(fs, "rewards[1].id", ""), joined(fs));
  }
  auto p = parse_ok(with_rewards(R"([{"id":")" + std::string(64, 'r') + R"(","lifetime_points":"0"},{"id":"b","lifetime_points":"1.50"}])"));
  REQUIRE(p);
  CHECK(p->rewards.size() == 2);
  CHECK(p->rewards[1].lifetime_points.units == 150);
}

TEST_CASE("plan: top-level scalars") {
  CHECK_FAULT_AT(R"({"name":"","shops":{"main":{"ratio":"1"}},"tiers":[)" + bronze + "]}", "name", "");
  CHECK_FAULT_AT(R"({"name":")" + std::string(129, 'n') + R"(","shops":{"main":{"ratio":"1"}},"tiers":[)" + bronze + "]}", "name", "");
  CHECK_FAULT_AT(R"({"name":5,"shops":{"main":{"ratio":"1"}},"tiers":[)" + bronze + "]}", "name", "");
  CHECK_FAULT_AT(R"({"shops":{"main":{"ratio":"1"}},"tiers":[)" + bronze + "]}", "name", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", main_shop, R"("version":0,)"), "version", "0");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", main_shop, R"("version":1.5,)"), "version", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", main_shop, R"("money_scale":7,)"), "money_scale", "7");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", main_shop, R"("points_scale":-1,)"), "points_scale", "-1");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", main_shop, R"("points_scale":"2",)"), "points_scale", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", main_shop, R"("compression":"yes",)"), "compression", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", main_shop, R"("compression":1,)"), "compression", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", main_shop, R"("refund_window_days":36501,)"), "refund_window_days", "36501");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", main_shop, R"("refund_window_days":-1,)"), "refund_window_days", "");
  CHECK_FAULT_AT(plan_text("[" + bronze + "]", main_shop, R"("refund_window_days":"30",)"), "refund_window_days", "");
  CHECK_FAULT_AT(plan_text("{}"), "tiers", "");
  CHECK_FAULT_AT(plan_text("[5]"), "tiers[0]", "");
}

TEST_CASE("plan: fill and benefits") {
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":[],"fill":"depth_first"}])"), "tiers[0].fill", "depth_first");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":[],"fill":1}])"), "tiers[0].fill", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":[],"benefits":{"discount":0.05}}])"), "tiers[0].benefits.discount", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":[],"benefits":["x"]}])"), "tiers[0].benefits", "");
  CHECK_FAULT_AT(plan_text(R"([{"name":"a","width":2,"rates":"0.05"}])"), "tiers[0].rates", "");
}

TEST_CASE("plan: not JSON, not an object") {
  {
    const auto fs = faults_of(R"({"name":"p",)");
    REQUIRE(fs.size() == 1);
    CHECK(fs[0].find("not valid JSON") != std::string::npos);
  }
  CHECK(faults_of("").size() == 1);
  CHECK(faults_of("[1,2]").size() == 1);
  CHECK(faults_of("\"plan\"").size() == 1);
  CHECK(faults_of("null").size() == 1);
  // Trailing garbage after the object.
  CHECK(faults_of(plan_text() + " x").size() == 1);
}

TEST_CASE("plan: check-all reports several independent faults at once") {
  const std::string tiers = R"([{"name":"bronze","width":1,"rates":["0.05","0.0000001"]},)"
                            R"({"name":"bronze","width":3,"rates":["1001"],"colour":"grey"}])";
  PlanFaults f;
  auto p = Plan::parse(plan_text(tiers, R"({"main":{"ratio":1}})", R"("money_scale":9,)"), f);
  CHECK_FALSE(p.has_value());
  CHECK(f.faults.size() > 1);
  CHECK_MESSAGE(has_at(f.faults, "money_scale", "9"), joined(f.faults));
  CHECK_MESSAGE(has_at(f.faults, "shops.main.ratio", ""), joined(f.faults));
  CHECK_MESSAGE(has_at(f.faults, "tiers[0].width", "1"), joined(f.faults));
  CHECK_MESSAGE(has_exact(f.faults, R"(tiers[0].rates[1]: "0.0000001" has more than 6 decimals)"), joined(f.faults));
  CHECK_MESSAGE(has_exact(f.faults, "tiers[1].colour: unknown key"), joined(f.faults));
  CHECK_MESSAGE(has_at(f.faults, "tiers[1].rates[0]", "1001"), joined(f.faults));
  CHECK_MESSAGE(has_at(f.faults, "tiers[1].promote_at", ""), joined(f.faults));
  CHECK_MESSAGE(has_at(f.faults, "tiers[1].name", "bronze"), joined(f.faults));
  CHECK(f.faults.size() >= 8);
  // message() joins them all with "; ".
  const std::string m = f.message();
  for (const auto& x : f.faults) CHECK(m.find(x) != std::string::npos);
  CHECK(m.find("; ") != std::string::npos);

  // Two faults, nothing else: exactly two reported, and no field reported twice.
  PlanFaults g;
  CHECK_FALSE(Plan::parse(plan_text(R"([{"name":"a","width":1,"rates":["-1"]}])"), g).has_value());
  CHECK_MESSAGE(g.faults.size() == 2, joined(g.faults));
}

TEST_CASE("plan: a successful parse clears earlier faults") {
  PlanFaults f;
  CHECK_FALSE(Plan::parse("{", f).has_value());
  CHECK_FALSE(f.ok());
  CHECK(Plan::parse(plan_text(), f).has_value());
  CHECK(f.ok());
  CHECK(f.message().empty());
}

// ---- validate -----------------------------------------------------------------------------------

namespace {

Plan hand_built() {
  Plan p;
  p.name = "hand";
  p.shops.push_back(upline::Shop{"a", Rate{one}, upline::Money{0}});
  p.shops.push_back(upline::Shop{"b", Rate{500'000}, upline::Money{100}});
  upline::Tier t0;
  t0.name = "bronze";
  t0.width = 3;
  t0.rates = {Rate{50'000}, Rate{30'000}};
  upline::Tier t1;
  t1.name = "silver";
  t1.width = 2;
  t1.fill = Fill::under_sponsor;
  t1.promote_at = upline::PromoteAt{upline::Points{1000}, upline::DirectReferrals{2, 0}, 3u};
  p.tiers = {t0, t1};
  p.history = {upline::HistoryBand{0, Rate{one}}, upline::HistoryBand{3, Rate{1'500'000}}};
  p.rewards = {upline::Reward{"r1", upline::Points{10}}, upline::Reward{"r2", upline::Points{20}}};
  return p;
}

}  // namespace

TEST_CASE("plan: validate on a hand-built plan") {
  CHECK(hand_built().validate().ok());
  CHECK(hand_built().max_filled_levels_used() == 3);

  auto faults = [](const Plan& p) { return p.validate().faults; };
  {
    Plan p = hand_built();
    p.name.clear();
    CHECK_MESSAGE(has_at(faults(p), "name"), joined(faults(p)));
  }
  {
    Plan p = hand_built();
    p.name = std::string(129, 'x');
    CHECK(has_at(faults(p), "name"));
  }
  {
    Plan p = hand_built();
    p.version = 0;
    CHECK(has_at(faults(p), "version"));
  }
  {
    Plan p = hand_built();
    p.money_scale = 7;
    p.points_scale = -1;
    CHECK(has_at(faults(p), "money_scale"));
    CHECK(has_at(faults(p), "points_scale"));
  }
  {
    Plan p = hand_built();
    p.refund_window_days = 36'501;
    CHECK(has_at(faults(p), "refund_window_days"));
    p.refund_window_days = -1;
    CHECK(has_at(faults(p), "refund_window_days"));
    p.refund_window_days = 0;
    CHECK(faults(p).empty());
  }
  {
    Plan p = hand_built();
    p.shops.clear();
    CHECK(has_at(faults(p), "shops"));
  }
  {
    Plan p = hand_built();
    std::swap(p.shops[0], p.shops[1]);  // not sorted
    CHECK_MESSAGE(has_at(faults(p), "shops.a"), joined(faults(p)));
    p = hand_built();
    p.shops[1].id = "a";  // duplicate
    CHECK(!faults(p).empty());
    p = hand_built();
    p.shops[0].id = std::string(65, 'a');
    CHECK(has_at(faults(p), "shops." + std::string(65, 'a')));
    p = hand_built();
    p.shops[0].ratio = Rate{Rate::max + 1};
    CHECK(has_at(faults(p), "shops.a.ratio"));
    p = hand_built();
    p.shops[1].min_basket = upline::Money{-1};
    CHECK(has_at(faults(p), "shops.b.min_basket"));
  }
  {
    Plan p = hand_built();
    p.history[0].orders = 1;
    CHECK(has_at(faults(p), "history[0].orders"));
    p = hand_built();
    p.history[1].orders = 0;
    CHECK(has_at(faults(p), "history[1].orders"));
    p = hand_built();
    p.history[1].multiplier = Rate{-1};
    CHECK(has_at(faults(p), "history[1].multiplier"));
  }
  {
    Plan p = hand_built();
    p.tiers.clear();
    CHECK(has_at(faults(p), "tiers"));
    p = hand_built();
    while (p.tiers.size() < 17) {
      upline::Tier t = p.tiers[1];
      t.name = "t" + std::to_string(p.tiers.size());
      p.tiers.push_back(t);
    }
    CHECK(has_at(faults(p), "tiers", "17"));
    p.tiers.pop_back();
    CHECK(faults(p).empty());
  }
  {
    Plan p = hand_built();
    p.tiers[0].width = 1;
    p.tiers[1].width = 65;
    CHECK(has_at(faults(p), "tiers[0].width"));
    CHECK(has_at(faults(p), "tiers[1].width"));
  }
  {
    Plan p = hand_built();
    p.tiers[1].name = "bronze";
    CHECK(has_at(faults(p), "tiers[1].name", "bronze"));
    p.tiers[1].name = std::string(33, 'x');
    CHECK(has_at(faults(p), "tiers[1].name"));
    p.tiers[1].name = repeat("\xc3\xa9", 32);
    CHECK(faults(p).empty());
    p.tiers[1].name = "";
    CHECK(has_at(faults(p), "tiers[1].name"));
    p.tiers[1].name = "\xff\xfe";  // not UTF-8
    CHECK(has_at(faults(p), "tiers[1].name"));
  }
  {
    Plan p = hand_built();
    p.tiers[0].rates.assign(33, Rate{1});
    CHECK(has_at(faults(p), "tiers[0].rates", "33"));
    p.tiers[0].rates.assign(32, Rate{1});
    CHECK(faults(p).empty());
    p.tiers[0].rates[5] = Rate{-1};
    CHECK(has_at(faults(p), "tiers[0].rates[5]"));
    p = hand_built();
    p.tiers[0].accrual = Rate{Rate::max + 1};
    p.tiers[0].upline_multiplier = Rate{-5};
    CHECK(has_at(faults(p), "tiers[0].accrual"));
    CHECK(has_at(faults(p), "tiers[0].upline_multiplier"));
  }
  {
    Plan p = hand_built();
    p.tiers[0].promote_at = upline::PromoteAt{upline::Points{1}, std::nullopt, std::nullopt};
    CHECK(has_at(faults(p), "tiers[0].promote_at"));
    p = hand_built();
    p.tiers[1].promote_at.reset();
    CHECK(has_at(faults(p), "tiers[1].promote_at"));
    p = hand_built();
    p.tiers[1].promote_at = upline::PromoteAt{};
    CHECK(has_at(faults(p), "tiers[1].promote_at"));
    p = hand_built();
    p.tiers[1].promote_at->direct_referrals->min_tier = 2;
    CHECK(has_at(faults(p), "tiers[1].promote_at.direct_referrals.min_tier"));
    p = hand_built();
    p.tiers[1].promote_at->direct_referrals->count = 0;
    CHECK(has_at(faults(p), "tiers[1].promote_at.direct_referrals.count"));
    p = hand_built();
    p.tiers[1].promote_at->filled_levels = 0u;
    CHECK(has_at(faults(p), "tiers[1].promote_at.filled_levels"));
    p.tiers[1].promote_at->filled_levels = 33u;
    CHECK(has_at(faults(p), "tiers[1].promote_at.filled_levels"));
    p = hand_built();
    p.tiers[1].promote_at->lifetime_points = upline::Points{-1};
    CHECK(has_at(faults(p), "tiers[1].promote_at.lifetime_points"));
  }
  {
    Plan p = hand_built();
    p.rewards[1].id = "r1";
    CHECK(has_at(faults(p), "rewards[1].id", "r1"));
    p = hand_built();
    p.rewards[0].id = "";
    CHECK(has_at(faults(p), "rewards[0].id"));
    p = hand_built();
    p.rewards[0].lifetime_points = upline::Points{-1};
    CHECK(has_at(faults(p), "rewards[0].lifetime_points"));
  }
  {
    // Several faults at once.
    Plan p = hand_built();
    p.name.clear();
    p.tiers[0].width = 0;
    p.rewards[1].id = "r1";
    CHECK(faults(p).size() == 3);
  }
}

// ---- compatibility ------------------------------------------------------------------------------

TEST_CASE("plan: plan_incompatibility") {
  const Plan cur = hand_built();
  CHECK(upline::plan_incompatibility(cur, cur).empty());

  // Everything but tiers' identity, width and fill and the scales may change.
  {
    Plan next = cur;
    next.name = "renamed plan";
    next.version = 9;
    next.compression = true;
    next.refund_window_days = 3;
    next.shops.pop_back();
    next.history.clear();
    next.rewards.clear();
    next.tiers[0].rates = {Rate{1}};
    next.tiers[0].accrual = Rate{2 * one};
    next.tiers[1].upline_multiplier = Rate{3 * one};
    next.tiers[1].promote_at = upline::PromoteAt{upline::Points{5}, std::nullopt, std::nullopt};
    next.tiers[0].benefits["x"] = "y";
    CHECK(upline::plan_incompatibility(cur, next).empty());
  }
  {
    Plan next = cur;  // a new tier appended
    upline::Tier gold = cur.tiers[1];
    gold.name = "gold";
    gold.width = 7;
    next.tiers.push_back(gold);
    CHECK(upline::plan_incompatibility(cur, next).empty());
    // ... but the reverse removes it.
    CHECK(upline::plan_incompatibility(next, cur).rfind("tiers: ", 0) == 0);
  }
  {
    Plan next = cur;
    next.money_scale = 3;
    CHECK(upline::plan_incompatibility(cur, next).rfind("money_scale: ", 0) == 0);
  }
  {
    Plan next = cur;
    next.points_scale = 0;
    CHECK(upline::plan_incompatibility(cur, next).rfind("points_scale: ", 0) == 0);
  }
  {
    Plan next = cur;
    next.tiers.pop_back();
    CHECK(upline::plan_incompatibility(cur, next).rfind("tiers: ", 0) == 0);
  }
  {
    Plan next = cur;
    next.tiers[1].name = "argent";
    const std::string why = upline::plan_incompatibility(cur, next);
    CHECK(why.rfind("tiers[1].name: ", 0) == 0);
    CHECK(why.find("silver") != std::string::npos);
  }
  {
    Plan next = cur;  // reordered
    std::swap(next.tiers[0], next.tiers[1]);
    CHECK(upline::plan_incompatibility(cur, next).rfind("tiers[0].name: ", 0) == 0);
  }
  {
    Plan next = cur;
    next.tiers[0].width = 4;
    CHECK(upline::plan_incompatibility(cur, next).rfind("tiers[0].width: ", 0) == 0);
  }
  {
    Plan next = cur;
    next.tiers[1].fill = Fill::breadth_first;
    CHECK(upline::plan_incompatibility(cur, next).rfind("tiers[1].fill: ", 0) == 0);
  }
}

// ---- canonical JSON -----------------------------------------------------------------------------

namespace {

// parse → canonical → parse → canonical: the two canonical texts are equal.
void check_canonical_stable(const std::string& text) {
  auto a = parse_ok(text);
  REQUIRE(a);
  const std::string c1 = a->canonical_json();
  PlanFaults f;
  auto b = Plan::parse(c1, f);
  REQUIRE_MESSAGE(b.has_value(), "canonical JSON does not parse back:" << joined(f.faults) << "\n" << c1);
  CHECK(b->canonical_json() == c1);
  CHECK(b->validate().ok());
}

}  // namespace

TEST_CASE("plan: canonical_json is stable (SPEC §3 example)") {
  check_canonical_stable(spec_plan);
  auto p = parse_ok(spec_plan);
  REQUIRE(p);
  const std::string c = p->canonical_json();
  // Every default is written out; decimals at their scale; rates shortest.
  CHECK(c.find(R"("fill":"breadth_first")") != std::string::npos);
  CHECK(c.find(R"("min_basket":"0.00")") != std::string::npos);
  CHECK(c.find(R"("min_basket":"20.00")") != std::string::npos);
  CHECK(c.find(R"("lifetime_points":"1000.00")") != std::string::npos);
  CHECK(c.find(R"("ratio":"0.5")") != std::string::npos);
  CHECK(c.find(R"("compression":false)") != std::string::npos);
}

TEST_CASE("plan: canonical_json is stable (a plan that uses defaults)") {
  check_canonical_stable(plan_text());
  check_canonical_stable(plan_text("[" + bronze + "," + tier_above("s", R"("promote_at":{"filled_levels":2})") + "]", main_shop,
                                   R"("refund_window_days":null,"rewards":[],)"));
}

TEST_CASE("plan: canonical_json identifies the same plan written differently") {
  const std::string a = plan_text(R"([{"name":"b","width":3,"rates":["0.050","0.03"],"accrual":"1.10"}])",
                                  R"({"z":{"ratio":"1"},"a":{"ratio":"0.50","min_basket":"020.0"}})",
                                  R"("history":[{"orders":0,"multiplier":"1.0"}],"version":1,)");
  const std::string b = R"({"tiers":[{"accrual":"1.1","rates":["0.05","0.030"],"width":3,"name":"b","fill":"breadth_first"}],)"
                        R"("history":[{"multiplier":"1","orders":0}],"shops":{"a":{"min_basket":"20","ratio":"0.5"},"z":{"ratio":"1.000"}},)"
                        R"("name":"p","money_scale":2,"compression":false,"rewards":[]})";
  auto pa = parse_ok(a);
  auto pb = parse_ok(b);
  REQUIRE(pa);
  REQUIRE(pb);
  CHECK(pa->canonical_json() == pb->canonical_json());
  // A real difference shows.
  Plan pc = *pa;
  pc.tiers[0].rates[1] = Rate{30'001};
  CHECK(pc.canonical_json() != pa->canonical_json());
  check_canonical_stable(a);
}
