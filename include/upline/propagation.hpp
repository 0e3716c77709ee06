// upline/propagation.hpp — who a purchase pays (SPEC §6 steps 3–5): the buyer's own points, then
// each tier's upline, walked nearest first.
//
//   for t = 0 … buyer.tier: the ancestors of the buyer's node in M_t, levels k = 1 … len(rates_t);
//   ancestor a gets round(P × rates_t[k-1] × tier[a.tier].upline_multiplier), half to even.
//
// A suspended buyer earns nothing itself (its upline is still paid); a suspended ancestor receives
// nothing and, without compression, still uses up its level; with compression it is skipped and
// the level goes to the next ancestor. A credit of 0 is no credit (no effect, not "credited" for
// SPEC §8) but uses up its level. Tiers are those held at the start of the event.
#pragma once

#include "upline/decimal.hpp"
#include "upline/members.hpp"
#include "upline/rejection.hpp"
#include "upline/state.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace upline {

/// round(points × a × b / 10^12), half to even; a and b are rates in micros, points >= 0. Exact:
/// the product is below 2^63 × 2^60. nullopt when the result leaves int64.
inline std::optional<std::int64_t> scale_points(std::int64_t points, Rate a, Rate b) {
  if (points < 0) return std::nullopt;  // never called with a negative amount
  const u128 num = static_cast<u128>(points) * static_cast<u128>(a.micros) * static_cast<u128>(b.micros);
  constexpr std::uint64_t den = 1'000'000'000'000ULL;
  if ((num >> 64) == 0) return static_cast<std::int64_t>(round_half_even_u64(static_cast<std::uint64_t>(num), den));  // < 2^64 / 10^12
  const u128 q = round_half_even_u(num, static_cast<u128>(den));
  if (q > static_cast<u128>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  return static_cast<std::int64_t>(q);
}

/// Stages the credits of a purchase worth `points` (> 0) by member `buyer` into `out`, in SPEC
/// §6's order: own, then tier 0 levels 1…, tier 1 levels 1…, … A credit that leaves int64 is
/// `overflow`.
inline std::optional<Rejection> stage_credits(const State& s, std::uint32_t buyer, std::int64_t points, std::vector<Change>& out) {
  const Plan& plan = *s.plan;
  const Members& members = s.members;
  const MemberRecord& b = members[buyer];
  if (b.status == Status::active) out.push_back(Change{buyer, points, Kind::own, 0, 0});
  for (std::uint32_t t = 0; t <= b.tier; ++t) {
    const Matrix& mx = s.matrices[t];
    const std::vector<Rate>& rates = plan.tiers[t].rates;
    if (rates.empty()) continue;
    // The first len(rates) ancestors, found once, their records fetched ahead of the walk so that
    // the cache misses overlap instead of queueing. With compression, suspended ancestors leave
    // their level to the next, so the walk may go on past them.
    Matrix::Node chain[Plan::max_rates];
    std::size_t found = 0;
    for (Matrix::Node a = mx.parent(mx.node_of(buyer)); a != Matrix::none && found < rates.size(); a = mx.parent(a)) {
      chain[found++] = a;
      __builtin_prefetch(&members[mx.member_at(a)]);
    }
    std::uint32_t level = 1;
    std::size_t k = 0;
    for (Matrix::Node a = found > 0 ? chain[0] : Matrix::none; a != Matrix::none && level <= rates.size(); a = ++k < found ? chain[k] : mx.parent(a)) {
      const std::uint32_t am = mx.member_at(a);
      if (!members.active(am)) {
        if (!plan.compression) ++level;
        continue;
      }
      auto c = scale_points(points, rates[level - 1], plan.tiers[members[am].tier].upline_multiplier);
      if (!c) return reject::credit_overflow();
      if (*c > 0) out.push_back(Change{am, *c, Kind::upline, static_cast<std::uint8_t>(t), level});
      ++level;
    }
  }
  return std::nullopt;
}

}  // namespace upline
