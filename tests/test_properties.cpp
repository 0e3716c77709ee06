// Properties over seeded random event streams: determinism, conservation (effects add up to the
// balances), refund inverses, and "a rejected event changes nothing".
#include "tools/simulation.hpp"  // Rng
#include "upline/upline.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>
#include <string>
#include <vector>

using namespace upline;

namespace {

Decimal units(std::int64_t u, int scale) { return Decimal::from_units(u, scale); }

// A random but valid plan: widths, fills, compression, odd rates and multipliers (to exercise
// rounding), each kind of promotion criterion, rewards.
Plan random_plan(Rng& rng, bool refund_window) {
  Plan p;
  p.name = "random";
  p.money_scale = static_cast<int>(rng.below(3));
  p.points_scale = static_cast<int>(rng.below(4));
  p.compression = rng.chance(1, 2);
  if (refund_window) p.refund_window_days = static_cast<std::int64_t>(rng.below(3));
  p.shops.push_back(Shop{"main", Rate{static_cast<std::int64_t>(500'000 + rng.below(2'000'000))}, Money{0}});
  p.shops.push_back(Shop{"outlet", Rate{static_cast<std::int64_t>(rng.below(1'000'000))}, Money{static_cast<std::int64_t>(rng.below(500))}});
  if (rng.chance(1, 2)) {
    p.history.push_back(HistoryBand{0, Rate{Rate::one}});
    p.history.push_back(HistoryBand{2 + rng.below(3), Rate{1'000'000 + static_cast<std::int64_t>(rng.below(300'000))}});
  }
  const std::size_t tiers = 1 + rng.below(4);
  for (std::size_t t = 0; t < tiers; ++t) {
    Tier tier;
    tier.name = "t" + std::to_string(t);
    tier.width = static_cast<std::uint32_t>(2 + rng.below(3));
    tier.fill = rng.chance(1, 2) ? Fill::breadth_first : Fill::under_sponsor;
    tier.accrual = Rate{900'000 + static_cast<std::int64_t>(rng.below(400'000))};
    tier.upline_multiplier = Rate{1'000'000 + static_cast<std::int64_t>(rng.below(1'000'001))};
    const std::size_t levels = rng.below(6);
    for (std::size_t k = 0; k < levels; ++k) tier.rates.push_back(Rate{static_cast<std::int64_t>(rng.below(100'000)) + 1});
    if (t > 0) {
      PromoteAt c;
      const auto kind = rng.below(4);
      if (kind == 0 || kind == 3) c.lifetime_points = Points{static_cast<std::int64_t>(rng.below(20'000))};
      if (kind == 1 || kind == 3) c.direct_referrals = DirectReferrals{static_cast<std::uint32_t>(1 + rng.below(3)), static_cast<std::uint32_t>(rng.below(t))};
      if (kind == 2) c.filled_levels = static_cast<std::uint32_t>(1 + rng.below(2));
      tier.promote_at = c;
    }
    tier.benefits["discount"] = std::to_string(t * 5) + "%";
    p.tiers.push_back(tier);
  }
  p.rewards.push_back(Reward{"small", Points{static_cast<std::int64_t>(rng.below(1000))}});
  p.rewards.push_back(Reward{"large", Points{static_cast<std::int64_t>(rng.below(100'000))}});
  REQUIRE(p.validate().ok());
  return p;
}

// A random stream: mostly valid events, with a share of faulty ones of every kind.
class Stream {
 public:
  Stream(std::uint64_t seed, const Plan& plan) : rng_(seed), plan_(plan) {}

  Event next() {
    const Time at = clock_ += static_cast<Time>(rng_.below(3 * Engine::day_ms / 10));  // ~0.15 days apart
    const Time jitter = rng_.chance(1, 10) ? at - static_cast<Time>(rng_.below(Engine::day_ms)) : at;  // some out of order
    const int ms = plan_.money_scale, ps = plan_.points_scale;
    const std::uint64_t r = rng_.below(100);
    if (members_ == 0 || r < 20) {
      const MemberId id = static_cast<MemberId>((members_ + 1) * 3);
      if (members_ == 0) {
        ++members_;
        return Join{id, std::nullopt, jitter};
      }
      if (rng_.chance(1, 30)) return Join{member(), member(), jitter};     // member_exists
      if (rng_.chance(1, 30)) return Join{id + 1, std::nullopt, jitter};   // sponsor_required
      if (rng_.chance(1, 30)) return Join{id + 1, id + 2, jitter};         // unknown_sponsor
      const MemberId sponsor = member();
      ++members_;
      return Join{id, sponsor, jitter};
    }
    if (r < 65) {
      std::string order = "o" + std::to_string(orders_++);
      if (rng_.chance(1, 40) && orders_ > 1) order = "o" + std::to_string(rng_.below(orders_ - 1));  // duplicate_order
      std::string shop = rng_.chance(1, 4) ? "outlet" : "main";
      if (rng_.chance(1, 50)) shop = "nope";
      Decimal amount = units(1 + static_cast<std::int64_t>(rng_.below(100'000)), ms);
      if (rng_.chance(1, 50)) amount = *Decimal::parse("1.0000001");  // too many decimals
      if (rng_.chance(1, 50)) amount = units(0, ms);
      MemberId m = rng_.chance(1, 50) ? 999'999'999 : member();
      return Purchase{order, m, shop, amount, jitter};
    }
    if (r < 75 && orders_ > 0) {
      Refund f{"o" + std::to_string(rng_.below(orders_ + 2)), std::nullopt, jitter};
      if (rng_.chance(2, 3)) f.amount = units(1 + static_cast<std::int64_t>(rng_.below(30'000)), ms);
      return f;
    }
    if (r < 82) {
      return Redeem{member(), units(1 + static_cast<std::int64_t>(rng_.below(5'000)), ps), "r" + std::to_string(refs_++ - (rng_.chance(1, 30) ? 1 : 0)),
                    jitter};
    }
    if (r < 90) {
      std::int64_t pts = static_cast<std::int64_t>(rng_.below(20'000)) - 8'000;
      return Adjust{member(), units(pts, ps), "ops", rng_.chance(1, 40) ? "" : "goodwill", jitter};
    }
    if (r < 95) return Suspend{member(), jitter};
    return Reactivate{member(), jitter};
  }

 private:
  MemberId member() { return static_cast<MemberId>(3 * (1 + rng_.below(members_))); }
  Rng rng_;
  const Plan& plan_;
  Time clock_ = 10 * Engine::day_ms;
  std::uint64_t members_ = 0, orders_ = 0, refs_ = 0;
};

struct Totals {
  std::int64_t balance = 0, lifetime = 0, adjust = 0, redeem = 0;
};

// Adds the effects to per-member totals.
void account(std::map<MemberId, Totals>& t, const std::vector<Effect>& fx) {
  for (const Effect& e : fx) {
    if (e.type == EffectType::credit) {
      t[e.member].balance += e.points;
      t[e.member].lifetime += e.points;
      if (e.kind == Kind::adjust) t[e.member].adjust += e.points;
    } else if (e.type == EffectType::debit) {
      t[e.member].balance -= e.points;
      if (e.kind != Kind::redeem) t[e.member].lifetime -= e.points;
      if (e.kind == Kind::adjust) t[e.member].adjust -= e.points;
      if (e.kind == Kind::redeem) t[e.member].redeem += e.points;
    }
  }
}

}  // namespace

TEST_CASE("properties: same input gives the same effects and digest") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    Rng prng(seed);
    Plan plan = random_plan(prng, seed % 2 == 0);
    Engine a(plan), b(plan);
    Stream sa(seed * 7919, plan), sb(seed * 7919, plan);
    std::vector<Effect> fa, fb;
    for (int i = 0; i < 3000; ++i) {
      Event ea = sa.next(), eb = sb.next();
      Rejection ra, rb;
      bool oka = a.apply(ea, fa, &ra), okb = b.apply(eb, fb, &rb);
      REQUIRE(oka == okb);
      REQUIRE(ra.code == rb.code);
      REQUIRE(ra.message == rb.message);
      REQUIRE(fa == fb);
    }
    CHECK(a.digest() == b.digest());
    CHECK(dump_json(a) == dump_json(b));
    CHECK(a.applied() > 1000);
    CHECK(a.rejected() > 0);
  }
}

TEST_CASE("properties: the effects add up to every balance and lifetime, and census and nodes agree") {
  for (std::uint64_t seed = 11; seed <= 18; ++seed) {
    Rng prng(seed);
    Plan plan = random_plan(prng, seed % 2 == 0);
    Engine e(plan);
    Stream s(seed, plan);
    std::map<MemberId, Totals> totals;
    std::vector<Effect> fx;
    std::map<MemberId, std::uint32_t> promotions;
    for (int i = 0; i < 4000; ++i) {
      if (e.apply(s.next(), fx)) account(totals, fx);
      for (const Effect& x : fx)
        if (x.type == EffectType::promoted) {
          CHECK(x.tier == x.from + 1);
          ++promotions[x.member];
        }
    }
    std::vector<std::uint64_t> census(plan.tiers.size(), 0);
    for (MemberId id : e.member_ids()) {
      const MemberView v = *e.member(id);
      CHECK(v.balance.units == totals[id].balance);
      CHECK(v.lifetime.units == totals[id].lifetime);
      CHECK(v.nodes.size() == v.tier + 1);
      CHECK(v.tier == promotions[id]);
      ++census[v.tier];
    }
    CHECK(e.census() == census);
  }
}

TEST_CASE("properties: refunding every order in full leaves only adjustments and redemptions") {
  for (std::uint64_t seed = 21; seed <= 26; ++seed) {
    Rng prng(seed);
    Plan plan = random_plan(prng, /*refund_window=*/false);
    Engine e(plan);
    Stream s(seed, plan);
    std::map<MemberId, Totals> totals;
    std::vector<Effect> fx;
    std::vector<std::string> orders;
    for (int i = 0; i < 3000; ++i) {
      Event ev = s.next();
      if (e.apply(ev, fx)) {
        account(totals, fx);
        if (auto* p = std::get_if<Purchase>(&ev)) orders.push_back(p->order);
      }
    }
    REQUIRE(orders.size() > 500);
    for (const std::string& o : orders) {
      const auto before = e.order(o);
      REQUIRE(before);
      Rejection why;
      const bool ok = e.apply(Refund{o, std::nullopt, e.clock()}, fx, &why);
      if (before->refunded == before->amount) {
        CHECK(!ok);
        CHECK(why.code == Code::refund_exceeds_order);
      } else {
        REQUIRE(ok);
        account(totals, fx);
      }
    }
    for (MemberId id : e.member_ids()) {
      const MemberView v = *e.member(id);
      CHECK(v.lifetime.units == totals[id].adjust);
      CHECK(v.balance.units == totals[id].adjust - totals[id].redeem);
    }
  }
}

TEST_CASE("properties: a rejected event changes neither the digest nor the clock") {
  for (std::uint64_t seed = 31; seed <= 34; ++seed) {
    Rng prng(seed);
    Plan plan = random_plan(prng, true);
    Engine e(plan);
    Stream s(seed, plan);
    std::vector<Effect> fx;
    int rejections = 0;
    for (int i = 0; i < 2500; ++i) {
      const std::string before = e.digest();
      const Time clock = e.clock();
      const std::string dump = i % 97 == 0 ? dump_json(e) : std::string();
      Rejection why;
      if (!e.apply(s.next(), fx, &why)) {
        ++rejections;
        CHECK(why.code != Code::ok);
        CHECK(!why.message.empty());
        CHECK(fx.empty());
        CHECK(e.digest() == before);
        CHECK(e.clock() == clock);
        if (!dump.empty()) {
          // Everything but the rejected counter is the same.
          std::string after = dump_json(e);
          CHECK(after.substr(after.find("\"digest\"")) == dump.substr(dump.find("\"digest\"")));
        }
      } else if (e.clock() != clock || !fx.empty()) {
        // Accepted events that did something change the digest.
        CHECK(e.digest() != before);
      }
    }
    CHECK(rejections > 50);
  }
}

TEST_CASE("properties: a rank card's eligible is the promotion rule, true only for suspended members") {
  std::uint64_t eligible_seen = 0;
  for (std::uint64_t seed = 41; seed <= 46; ++seed) {
    Rng prng(seed);
    Plan plan = random_plan(prng, seed % 2 == 0);
    Engine e(plan);
    Stream s(seed, plan);
    std::vector<Effect> fx;
    std::uint64_t eligible = 0, cards = 0;
    for (int i = 1; i <= 3000; ++i) {
      e.apply(s.next(), fx);
      if (i % 500 != 0) continue;
      const State& st = e.state();
      for (std::uint32_t m = 0; m < e.member_count(); ++m) {
        std::string card;
        append_rank_card_json(card, st, m);
        ++cards;
        const MemberRecord& r = e.record_at(m);
        if (r.tier + 1u >= st.plan->tiers.size()) {
          CHECK(card.ends_with(",\"next\":null}"));
          continue;
        }
        const bool holds = Promotion::criteria_hold(st, m, *st.plan->tiers[r.tier + 1u].promote_at);
        CHECK(card.find(holds ? "\"eligible\":true" : "\"eligible\":false") != std::string::npos);
        if (holds) {
          CHECK(r.status == Status::suspended);  // an active member is promoted as soon as it holds
          ++eligible;
        }
        // The criteria are the member card's progress, written by the same function.
        std::string progress;
        append_progress_json(progress, st, m);
        const std::size_t at = progress.find("\"criteria\":");
        REQUIRE(at != std::string::npos);
        CHECK(card.find(progress.substr(at, progress.size() - at - 1)) != std::string::npos);
      }
    }
    CHECK(cards > 1000);
    eligible_seen += eligible;
  }
  CHECK(eligible_seen > 0);  // the true branch was met (suspended members whose criteria hold)
}

// SPEC §13: a statement's lines are exactly the member's credits and debits of the period, in
// order; its balances add up; consecutive periods tile; without bounds it ends at the member's
// balance; recording changes no digest.
TEST_CASE("properties: a statement accounts for every change of a balance, and periods tile") {
  for (std::uint64_t seed = 41; seed <= 46; ++seed) {
    Rng prng(seed);
    const Plan plan = random_plan(prng, seed % 2 == 0);
    Stream s(seed, plan);
    std::vector<Event> events;
    for (int i = 0; i < 2500; ++i) events.push_back(s.next());
    // The reference: every accepted event's applied time and effects.
    Engine plain(plan);
    std::vector<std::pair<Time, std::vector<Effect>>> applied(events.size());
    std::vector<bool> ok(events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      ok[i] = plain.apply(events[i], applied[i].second);
      applied[i].first = plain.clock();
    }
    const Time first = applied.front().first, last = plain.clock();
    auto run = [&](MemberId m, std::optional<Time> from, std::optional<Time> until) {
      Engine e(plan);
      StatementRecorder rec(e, m, from, until);
      std::vector<Effect> fx;
      for (const Event& ev : events) rec.apply(e, ev, fx);
      CHECK(e.digest() == plain.digest());  // recording changes nothing
      std::string json;
      Statement st = rec.statement(e);
      if (st.known) append_statement_json(json, st);
      return std::pair{st, json};
    };
    const std::vector<MemberId> ids = plain.member_ids();
    for (int k = 0; k < 4; ++k) {
      const MemberId m = ids[prng.below(ids.size())];
      Time cut[3];
      for (Time& c : cut) c = first + static_cast<Time>(prng.below(static_cast<std::uint64_t>(last - first + 2)));
      if (k == 0) cut[1] = applied[events.size() / 2].first;  // a bound exactly at an applied time
      std::sort(std::begin(cut), std::end(cut));
      CAPTURE(seed);
      CAPTURE(m);
      const auto [whole, whole_json] = run(m, std::nullopt, std::nullopt);
      REQUIRE(whole.known);
      CHECK(whole.closing == plain.member(m)->balance.units);
      CHECK(whole.opening == 0);
      const auto [ab, ab_json] = run(m, cut[0], cut[1]);
      const auto [bc, bc_json] = run(m, cut[1], cut[2]);
      const auto [ac, ac_json] = run(m, cut[0], cut[2]);
      // The lines are the member's effects in [from, until), in order.
      std::vector<std::tuple<std::uint64_t, EffectType, Kind, std::int64_t>> want, got;
      for (std::size_t i = 0; i < events.size(); ++i) {
        if (!ok[i] || applied[i].first < cut[0] || applied[i].first >= cut[2]) continue;
        for (const Effect& fx : applied[i].second)
          if (fx.member == m && (fx.type == EffectType::credit || fx.type == EffectType::debit)) want.emplace_back(i + 1, fx.type, fx.kind, fx.points);
      }
      for (const StatementLine& l : ac.lines) got.emplace_back(l.seq, l.type, l.kind, l.points);
      CHECK(got == want);
      // The balances add up, line by line.
      for (const Statement* st : {&whole, &ab, &bc, &ac}) {
        if (!st->known) continue;
        std::int64_t b = st->opening;
        for (const StatementLine& l : st->lines) {
          b += l.type == EffectType::credit ? l.points : -l.points;
          CHECK(l.balance == b);
          CHECK(l.points > 0);
        }
        CHECK(b == st->closing);
        CHECK(st->opening + st->credits - st->debits == st->closing);
      }
      // Periods tile.
      if (ab.known) {
        CHECK(bc.known);
        CHECK(ab.closing == bc.opening);
        std::vector<StatementLine> both = ab.lines;
        both.insert(both.end(), bc.lines.begin(), bc.lines.end());
        REQUIRE(both.size() == ac.lines.size());
        for (std::size_t i = 0; i < both.size(); ++i) CHECK(both[i].seq == ac.lines[i].seq);
        CHECK(ab.opening == ac.opening);
        CHECK(bc.closing == ac.closing);
      }
      CHECK(run(m, cut[0], cut[2]).second == ac_json);  // deterministic
    }
  }
}
