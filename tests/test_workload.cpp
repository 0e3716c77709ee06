// upline/workload.hpp: a reproducible stream (golden lines and hash), its sizes and ratios, its
// ordering, references only to what came before, an engine that accepts it, the shape of the
// sponsor and basket distributions; and the bundled deep plan.
#include "upline/sha256.hpp"
#include "upline/upline.hpp"
#include "tools/workload.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

using namespace upline;

namespace {

WorkloadOptions small(std::uint64_t members, std::uint64_t purchases, std::uint64_t seed = 42) {
  WorkloadOptions o;
  o.members = members;
  o.purchases = purchases;
  o.seed = seed;
  return o;
}

std::vector<std::string> lines(WorkloadOptions o) {
  Workload w(o);
  std::vector<std::string> out;
  while (!w.done()) out.push_back(event_json(w.next()));
  return out;
}

std::string sha256_of_jsonl(WorkloadOptions o) {
  Workload w(o);
  Sha256 h;
  while (!w.done()) {
    std::string s = event_json(w.next());
    s += '\n';
    h.update(s.data(), s.size());
  }
  return h.hex_final();
}

Plan parse_plan(std::string_view text) {
  PlanFaults f;
  auto p = Plan::parse(text, f);
  REQUIRE_MESSAGE(p.has_value(), f.message());
  return *p;
}

}  // namespace

TEST_CASE("workload: the same options give the same stream, another seed another") {
  const auto a = lines(small(300, 3000)), b = lines(small(300, 3000)), c = lines(small(300, 3000, 43));
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("workload: golden lines and hash") {
  // Pinned: any change to the draws, the formats or the defaults shows here (and in
  // tests/cli/generate.cmake, which pins the same streams as written by `upline generate`).
  WorkloadOptions o = small(3, 5, 3);
  o.refund_per_mille = 500;
  o.redeem_per_mille = 500;
  const std::vector<std::string> want = {
      R"({"type":"join","member":1000,"at":1767225600000})",
      R"({"type":"join","member":1007,"sponsor":1000,"at":1767225660000})",
      R"({"type":"join","member":1014,"sponsor":1007,"at":1767225720000})",
      R"({"type":"purchase","order":"o-0","member":1000,"shop":"main","amount":"59.31","at":1767225780000})",
      R"({"type":"purchase","order":"o-1","member":1014,"shop":"main","amount":"18.63","at":1767225840000})",
      R"({"type":"redeem","member":1000,"points":"6.00","ref":"r-1","at":1767225900000})",
      R"({"type":"purchase","order":"o-2","member":1014,"shop":"main","amount":"22.91","at":1767225960000})",
      R"({"type":"redeem","member":1014,"points":"9.00","ref":"r-2","at":1767226020000})",
      R"({"type":"purchase","order":"o-3","member":1014,"shop":"outlet","amount":"64.41","at":1767226080000})",
      R"({"type":"purchase","order":"o-4","member":1000,"shop":"outlet","amount":"19.75","at":1767226140000})",
      R"({"type":"refund","order":"o-0","at":1767226200000})",
      R"({"type":"refund","order":"o-1","amount":"9.30","at":1767226260000})",
      R"({"type":"refund","order":"o-2","amount":"16.03","at":1767226320000})",
      R"({"type":"refund","order":"o-3","at":1767226380000})",
      R"({"type":"refund","order":"o-4","at":1767226440000})",
  };
  CHECK(lines(o) == want);
  CHECK(sha256_of_jsonl(small(1000, 10000)) == "06238070cc11b0c90409f80426485e9812e38e4990889ce7c0e75790b79c5455");
}

TEST_CASE("workload: sizes and ratios match the options") {
  WorkloadOptions o = small(2000, 50000, 7);
  Workload w(o);
  std::unordered_map<std::string, std::uint64_t> by_type;
  std::uint64_t partial = 0, n = 0;
  const std::uint64_t estimate = w.planned();
  while (!w.done()) {
    Event e = w.next();
    ++by_type[std::string(event_type_name(e))];
    if (auto* r = std::get_if<Refund>(&e); r && r->amount) ++partial;
    ++n;
  }
  CHECK(by_type["join"] == 2000);
  CHECK(by_type["purchase"] == 50000);
  CHECK(by_type["refund"] == w.refunds());
  CHECK(by_type["redeem"] == w.redemptions());
  CHECK(partial == w.partial_refunds());
  CHECK(by_type.size() == 4);
  // Binomial(50000, 0.02): mean 1000, sd 31; (…, 0.01): mean 500, sd 22.
  CHECK(w.refunds() >= 850);
  CHECK(w.refunds() <= 1150);
  CHECK(w.redemptions() >= 400);
  CHECK(w.redemptions() <= 600);
  CHECK(partial * 100 >= w.refunds() * 28);  // one in three
  CHECK(partial * 100 <= w.refunds() * 39);
  CHECK(w.planned() == n);
  CHECK(w.emitted() == n);
  CHECK(estimate > n * 95 / 100);
  CHECK(estimate < n * 105 / 100);

  WorkloadOptions none = small(10, 1000);
  none.refund_per_mille = 0;
  none.redeem_per_mille = 0;
  CHECK(lines(none).size() == 1010);
  WorkloadOptions all = small(10, 1000);
  all.refund_per_mille = 1000;
  all.redeem_per_mille = 1000;
  CHECK(lines(all).size() == 3010);
  Workload three(small(3, 0));
  for (int i = 0; i < 3; ++i) three.next();
  CHECK(three.done());
  CHECK_THROWS_AS(three.next(), std::out_of_range);
}

TEST_CASE("workload: joins first by default, spread through the purchases with interleave") {
  const auto first = lines(small(500, 5000));
  for (std::size_t i = 0; i < first.size(); ++i)
    CHECK((first[i].rfind(R"({"type":"join")", 0) == 0) == (i < 500));

  WorkloadOptions o = small(500, 5000);
  o.interleave = true;
  Workload w(o);
  std::uint64_t joins = 0, purchases = 0, joins_after_first_purchase = 0;
  while (!w.done()) {
    Event e = w.next();
    if (std::holds_alternative<Join>(e)) {
      ++joins;
      if (purchases > 0) ++joins_after_first_purchase;
    }
    if (std::holds_alternative<Purchase>(e)) {
      ++purchases;
      // Joins keep pace: member k joins before purchase k × purchases / members.
      CHECK(joins * 5000 >= (purchases - 1) * 500);
    }
  }
  CHECK(joins == 500);
  CHECK(joins_after_first_purchase >= 490);
}

TEST_CASE("workload: every event refers only to what came before") {
  for (bool interleave : {false, true}) {
    CAPTURE(interleave);
    WorkloadOptions o = small(800, 20000, 11);
    o.interleave = interleave;
    o.refund_per_mille = 100;
    Workload w(o);
    std::unordered_set<MemberId> joined;
    std::unordered_map<std::string, std::int64_t> orders;  // id → amount in units
    std::unordered_set<std::string> refunded, refs;
    Time last = -1;
    while (!w.done()) {
      Event e = w.next();
      CHECK(event_time(e) > last);
      last = event_time(e);
      if (auto* j = std::get_if<Join>(&e)) {
        CHECK(j->sponsor.has_value() == !joined.empty());
        if (j->sponsor) CHECK(joined.count(*j->sponsor) == 1);
        CHECK(joined.insert(j->member).second);
      } else if (auto* p = std::get_if<Purchase>(&e)) {
        CHECK(joined.count(p->member) == 1);
        CHECK((p->shop == "main" || p->shop == "outlet"));
        std::int64_t u = 0;
        REQUIRE(p->amount.to_units(2, u) == Decimal::Fit::ok);
        CHECK(orders.emplace(p->order, u).second);
      } else if (auto* r = std::get_if<Refund>(&e)) {
        REQUIRE(orders.count(r->order) == 1);
        CHECK(refunded.insert(r->order).second);  // once each
        if (r->amount) {
          std::int64_t u = 0;
          REQUIRE(r->amount->to_units(2, u) == Decimal::Fit::ok);
          CHECK(u >= 1);
          CHECK(u < orders[r->order]);
        }
      } else if (auto* d = std::get_if<Redeem>(&e)) {
        CHECK(joined.count(d->member) == 1);
        CHECK(refs.insert(d->ref).second);
      } else {
        FAIL("unexpected event type");
      }
    }
    CHECK(joined.size() == 800);
    CHECK(orders.size() == 20000);
  }
}

TEST_CASE("workload: an engine accepts nearly everything, on both bundled plans") {
  for (std::string_view text : {*bundled_plan("four-tier"), *bundled_plan("deep")}) {
    for (bool interleave : {false, true}) {
      CAPTURE(interleave);
      Engine engine(parse_plan(text));
      WorkloadOptions o = small(3000, 30000, 5);
      o.interleave = interleave;
      Workload w(o);
      std::vector<Effect> fx;
      Rejection why;
      std::uint64_t insufficient = 0, other = 0, refunds_ok = 0;
      while (!w.done()) {
        Event e = w.next();
        if (engine.apply(e, fx, &why)) {
          if (std::holds_alternative<Refund>(e)) ++refunds_ok;
        } else if (why.code == Code::insufficient_points) {
          ++insufficient;
        } else {
          ++other;
          MESSAGE(code_name(why.code), ": ", why.message);
        }
      }
      CHECK(other == 0);
      CHECK(refunds_ok == w.refunds());
      CHECK(insufficient * 100 < w.emitted());  // under 1% of the stream
      CHECK(engine.member_count() == 3000);
      CHECK(engine.order_count() == 30000);
      const auto census = engine.census();
      CHECK(census[1] > 0);  // the stream promotes members
    }
  }
}

TEST_CASE("workload: a few prolific sponsors, most members sponsor nobody") {
  const std::uint64_t members = 100'000;
  Workload w(small(members, 0));
  std::unordered_map<MemberId, std::uint32_t> referrals;
  while (!w.done()) {
    Event e = w.next();
    if (auto* j = std::get_if<Join>(&e); j && j->sponsor) ++referrals[*j->sponsor];
  }
  std::uint32_t top = 0;
  for (const auto& [id, n] : referrals) top = std::max(top, n);
  const auto none = members - referrals.size();
  MESSAGE("top sponsor ", top, " referrals, ", none, " of ", members, " sponsor nobody");
  CHECK(top >= 200);
  CHECK(none * 100 >= members * 50);
  CHECK(none * 100 <= members * 75);
}

TEST_CASE("workload: log-normal baskets in integer arithmetic") {
  // exp in fixed point against exact constants (× 2^32).
  CHECK(Workload::exp_q32(0) == 4294967296ull);
  auto near = [](std::uint64_t got, std::uint64_t want) { return (got > want ? got - want : want - got) * 1'000'000 <= want; };
  CHECK(near(Workload::exp_q32(65536), 11674931555ull));             // e
  CHECK(near(Workload::exp_q32(-65536), 1580030169ull));             // 1/e
  CHECK(near(Workload::exp_q32(32768), 7081203938ull));              // e^0.5
  CHECK(near(Workload::exp_q32(-163840), 352552385ull));             // e^-2.5
  CHECK(near(Workload::exp_q32(65536 + 1000), 11854442953ull));      // e^(1+1000/65536)

  Rng rng(1);
  std::vector<std::int64_t> b;
  for (int i = 0; i < 20001; ++i) b.push_back(Workload::basket_units(rng, 2));
  std::sort(b.begin(), b.end());
  CHECK(b.front() >= 100);
  CHECK(b.back() <= 500000);
  const std::int64_t median = b[10000];
  CHECK(median >= 3300);
  CHECK(median <= 3700);
  // sigma 0.8: the 84th percentile is about 35 × e^0.8 = 77.89.
  const std::int64_t p84 = b[16827];
  CHECK(p84 >= 7300);
  CHECK(p84 <= 8300);
  for (int scale : {0, 6}) {
    Rng r(2);
    for (int i = 0; i < 1000; ++i) {
      const std::int64_t u = Workload::basket_units(r, scale);
      CHECK(u >= pow10(scale));
      CHECK(u <= 5000 * pow10(scale));
    }
  }
}

TEST_CASE("workload: invalid options are named") {
  WorkloadOptions o;
  o.members = 0;
  CHECK(Workload::check(o) == "members: 0 must be at least 1");
  CHECK_THROWS_AS(Workload{o}, std::invalid_argument);
  o = WorkloadOptions{};
  o.refund_per_mille = 1001;
  CHECK(Workload::check(o) == "refund_per_mille: 1001 is out of range 0..1000");
  o = WorkloadOptions{};
  o.step = std::int64_t{1} << 50;
  CHECK(Workload::check(o).rfind("step: ", 0) == 0);
  CHECK(Workload::check(WorkloadOptions{}).empty());
  CHECK(Workload::member_id(0) == 1000);
  CHECK(Workload::member_id(3) == 1021);
  CHECK(Workload::order_id(12) == "o-12");
}

TEST_CASE("deep plan: the four-tier plan with ten levels per tier, compression, breadth-first") {
  const Plan deep = parse_plan(*bundled_plan("deep")), four = parse_plan(*bundled_plan("four-tier"));
  CHECK(deep.compression);
  REQUIRE(deep.tiers.size() == four.tiers.size());
  for (std::size_t t = 0; t < deep.tiers.size(); ++t) {
    CAPTURE(t);
    CHECK(deep.tiers[t].name == four.tiers[t].name);
    CHECK(deep.tiers[t].width == four.tiers[t].width);
    CHECK(deep.tiers[t].fill == Fill::breadth_first);
    CHECK(deep.tiers[t].rates.size() == 10);
    CHECK(std::is_sorted(deep.tiers[t].rates.rbegin(), deep.tiers[t].rates.rend()));
    CHECK(deep.tiers[t].accrual == four.tiers[t].accrual);
    CHECK(deep.tiers[t].upline_multiplier == four.tiers[t].upline_multiplier);
    CHECK(deep.tiers[t].benefits == four.tiers[t].benefits);
  }
  REQUIRE(deep.shops.size() == four.shops.size());
  for (std::size_t s = 0; s < deep.shops.size(); ++s) {
    CHECK(deep.shops[s].id == four.shops[s].id);
    CHECK(deep.shops[s].ratio == four.shops[s].ratio);
    CHECK(deep.shops[s].min_basket == four.shops[s].min_basket);
  }
  CHECK(deep.history.size() == four.history.size());
  CHECK(deep.rewards.size() == four.rewards.size());
  CHECK(deep.money_scale == four.money_scale);
  CHECK(deep.points_scale == four.points_scale);
  CHECK(deep.refund_window_days == four.refund_window_days);
}
