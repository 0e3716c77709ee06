// The engine's fast arithmetic against its definition (SPEC §6 steps 2–3), on random cases that
// reach every edge: AccrualTable::points() against accrue() and against a reference written here
// in unbounded integers (Boost cpp_int), CreditFactors::credit() against scale_points() and the
// same reference, and the matrix's Divisor against the hardware's / and %.
#include "tools/simulation.hpp"  // Rng
#include "upline/accrual.hpp"
#include "upline/matrix.hpp"
#include "upline/propagation.hpp"

#include <doctest/doctest.h>

#include <boost/multiprecision/cpp_int.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

using namespace upline;
using boost::multiprecision::cpp_int;

namespace {

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();

// round(num / den) half to even, num >= 0, den > 0; nullopt past int64 (SPEC §6: P and every
// credit must fit int64 or the event is overflow).
std::optional<std::int64_t> reference_round(const cpp_int& num, const cpp_int& den) {
  cpp_int q = num / den;
  const cpp_int r = num % den;
  if (2 * r > den || (2 * r == den && (q & 1) != 0)) ++q;
  if (q > int64_max) return std::nullopt;
  return static_cast<std::int64_t>(q);
}

cpp_int pow10_big(int n) {
  cpp_int v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

// A value of every magnitude: small, around powers of ten, near the top of the range.
std::int64_t any_magnitude(Rng& rng, std::int64_t max) {
  const std::uint64_t span = static_cast<std::uint64_t>(max) + 1;  // max may be INT64_MAX
  switch (rng.below(4)) {
    case 0: return static_cast<std::int64_t>(rng.below(1000) % span);
    case 1: return max - static_cast<std::int64_t>(rng.below(1000) % span);
    case 2: {
      const std::int64_t p = pow10(static_cast<int>(rng.below(19)));
      const std::int64_t v = p + static_cast<std::int64_t>(rng.below(3)) - 1;
      return v < 0 ? 0 : v > max ? max : v;
    }
    default: return static_cast<std::int64_t>(rng.below(span));
  }
}

Rate any_rate(Rng& rng) {
  switch (rng.below(5)) {
    case 0: return Rate{Rate::one};
    case 1: return Rate{Rate::max};
    case 2: return Rate{0};
    default: return Rate{any_magnitude(rng, Rate::max)};
  }
}

Plan random_plan(Rng& rng) {
  Plan p;
  p.money_scale = static_cast<int>(rng.below(max_scale + 1));
  p.points_scale = static_cast<int>(rng.below(max_scale + 1));
  const std::uint64_t shops = 1 + rng.below(3);
  for (std::uint64_t s = 0; s < shops; ++s)
    p.shops.push_back(Shop{"s" + std::to_string(s), any_rate(rng), Money{rng.chance(1, 3) ? static_cast<std::int64_t>(rng.below(1000)) : 0}});
  const std::uint64_t bands = rng.below(4);
  std::uint64_t orders = 0;
  for (std::uint64_t b = 0; b < bands; ++b) {
    p.history.push_back(HistoryBand{orders, any_rate(rng)});
    orders += 1 + rng.below(5);
  }
  const std::uint64_t tiers = 1 + rng.below(4);
  for (std::uint64_t t = 0; t < tiers; ++t) {
    Tier tier;
    tier.name = "t" + std::to_string(t);
    tier.accrual = any_rate(rng);
    tier.upline_multiplier = any_rate(rng);
    const std::uint64_t levels = 1 + rng.below(5);
    for (std::uint64_t k = 0; k < levels; ++k) tier.rates.push_back(any_rate(rng));
    p.tiers.push_back(tier);
  }
  return p;
}

// SPEC §6 step 2 from the definition: below min_basket nothing, else
// round(amount × ratio × history × accrual × 10^points_scale / (10^money_scale × 10^18)).
std::optional<std::int64_t> reference_points(const Plan& p, std::size_t shop, std::uint64_t earlier, std::uint32_t tier, std::int64_t amount) {
  if (amount < p.shops[shop].min_basket.units) return 0;
  const cpp_int num = cpp_int(amount) * p.shops[shop].ratio.micros * p.history_multiplier(earlier).micros * p.tiers[tier].accrual.micros *
                      pow10_big(p.points_scale);
  return reference_round(num, pow10_big(p.money_scale) * pow10_big(18));
}

}  // namespace

TEST_CASE("accrual: AccrualTable::points equals accrue() and the definition (SPEC §6 step 2), random plans and amounts") {
  Rng rng(20261129);
  std::uint64_t overflows = 0, rounded = 0;
  for (int plans = 0; plans < 300; ++plans) {
    const Plan p = random_plan(rng);
    AccrualTable table;
    table.build(p);
    for (int i = 0; i < 200; ++i) {
      const std::size_t shop = rng.below(p.shops.size());
      const auto tier = static_cast<std::uint32_t>(rng.below(p.tiers.size()));
      const std::uint64_t earlier = rng.below(20);
      const std::int64_t amount = 1 + any_magnitude(rng, int64_max - 1);
      const std::optional<std::int64_t> want = reference_points(p, shop, earlier, tier, amount);
      const std::optional<std::int64_t> fast = table.points(p, shop, earlier, tier, amount);
      const std::optional<std::int64_t> slow = accrue(p, p.shops[shop], earlier, tier, amount);
      INFO("money_scale=", p.money_scale, " points_scale=", p.points_scale, " ratio=", p.shops[shop].ratio.micros,
           " history=", p.history_multiplier(earlier).micros, " accrual=", p.tiers[tier].accrual.micros, " amount=", amount);
      CHECK(fast == want);
      CHECK(slow == want);
      overflows += !want;
      rounded += want && *want > 0;
    }
  }
  // The cases reach both outcomes, not only one.
  CHECK(overflows > 100);
  CHECK(rounded > 100);
}

TEST_CASE("accrual: AccrualTable rounds half to even where the exact value ends in .5") {
  // ratio 0.5, money_scale 0, points_scale 0: P = round(amount / 2).
  Plan p;
  p.money_scale = 0;
  p.points_scale = 0;
  p.shops.push_back(Shop{"main", Rate{Rate::one / 2}, Money{0}});
  Tier t;
  t.name = "bronze";
  t.rates.push_back(Rate{Rate::one});
  p.tiers.push_back(t);
  AccrualTable table;
  table.build(p);
  CHECK(table.points(p, 0, 0, 0, 1) == 0);  // 0.5 → 0
  CHECK(table.points(p, 0, 0, 0, 3) == 2);  // 1.5 → 2
  CHECK(table.points(p, 0, 0, 0, 5) == 2);  // 2.5 → 2
  CHECK(table.points(p, 0, 0, 0, 7) == 4);  // 3.5 → 4
  CHECK(table.points(p, 0, 0, 0, int64_max) == int64_max / 2 + 1);  // (2^63-1)/2 = 2^62 - 0.5 → 2^62 (even)
}

TEST_CASE("propagation: CreditFactors::credit equals scale_points() and the definition (SPEC §6 step 3), random cases") {
  Rng rng(7);
  std::uint64_t overflows = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::int64_t points = any_magnitude(rng, int64_max);
    const Rate rate = any_rate(rng), multiplier = any_rate(rng);
    const std::optional<std::int64_t> want = reference_round(cpp_int(points) * rate.micros * multiplier.micros, pow10_big(12));
    const std::uint64_t factor = static_cast<std::uint64_t>(rate.micros) * static_cast<std::uint64_t>(multiplier.micros);
    INFO("points=", points, " rate=", rate.micros, " multiplier=", multiplier.micros);
    CHECK(CreditFactors::credit(points, factor) == want);
    CHECK(scale_points(points, rate, multiplier) == want);
    overflows += !want;
  }
  CHECK(overflows > 1000);
}

TEST_CASE("propagation: CreditFactors::at is rate × the receiver tier's upline multiplier") {
  Rng rng(11);
  for (int plans = 0; plans < 200; ++plans) {
    const Plan p = random_plan(rng);
    CreditFactors f;
    f.build(p);
    for (std::uint32_t t = 0; t < p.tiers.size(); ++t)
      for (std::uint32_t k = 1; k <= p.tiers[t].rates.size(); ++k)
        for (std::uint32_t r = 0; r < p.tiers.size(); ++r)
          CHECK(f.at(t, k, r) == static_cast<std::uint64_t>(p.tiers[t].rates[k - 1].micros) *
                                     static_cast<std::uint64_t>(p.tiers[r].upline_multiplier.micros));
  }
}

TEST_CASE("matrix: Divisor equals / and % for every width 2..64 and more, at both ends of 32 bits and at random") {
  std::vector<std::uint32_t> divisors;
  for (std::uint32_t d = 2; d <= 64; ++d) divisors.push_back(d);
  for (std::uint32_t d : {65u, 100u, 641u, 1000u, 65535u, 65536u, 65537u, 2147483647u, 2147483648u, 4294967291u, 4294967295u})
    divisors.push_back(d);
  Rng rng(3);
  for (const std::uint32_t d : divisors) {
    const Divisor div(d);
    CHECK(div.divisor() == d);
    std::uint64_t wrong = 0;
    auto check = [&](std::uint32_t x) { wrong += div.quotient(x) != x / d || div.remainder(x) != x % d; };
    for (std::uint32_t x = 0; x < 70000; ++x) check(x);
    for (std::uint32_t k = 0; k < 70000; ++k) check(std::numeric_limits<std::uint32_t>::max() - k);
    // Either side of the multiples of d nearest the top.
    const std::uint32_t top = std::numeric_limits<std::uint32_t>::max() / d * d;
    for (std::uint32_t j = 0; j < 64 && top >= j * d + 1; ++j) {
      check(top - j * d);
      check(top - j * d - 1);
      if (top - j * d + 1 != 0) check(top - j * d + 1);
    }
    for (int i = 0; i < 100000; ++i) check(static_cast<std::uint32_t>(rng.next()));
    INFO("divisor ", d);
    CHECK(wrong == 0);
  }
}
