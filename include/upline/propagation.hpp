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

#include <algorithm>
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

/// rates_t[k] × tier[r].upline_multiplier for every tier t, level k and receiver tier r, in
/// micros² (< 2^60), made when a plan is put in force: a credit is then one 64×64-bit product and
/// a division by the constant 10^12, the same exact value as scale_points(P, rate, multiplier).
class CreditFactors {
 public:
  void build(const Plan& plan) {
    tiers_ = plan.tiers.size();
    levels_ = 0;
    for (const Tier& t : plan.tiers) levels_ = std::max(levels_, t.rates.size());
    factors_.assign(tiers_ * levels_ * tiers_, 0);
    for (std::size_t t = 0; t < tiers_; ++t)
      for (std::size_t k = 0; k < plan.tiers[t].rates.size(); ++k)
        for (std::size_t r = 0; r < tiers_; ++r)
          factors_[(t * levels_ + k) * tiers_ + r] =
              static_cast<std::uint64_t>(plan.tiers[t].rates[k].micros) * static_cast<std::uint64_t>(plan.tiers[r].upline_multiplier.micros);
  }
  /// The factor of tier t's level `level` (1-based) for a receiver at tier `receiver`.
  std::uint64_t at(std::uint32_t t, std::uint32_t level, std::uint32_t receiver) const noexcept {
    return factors_[(t * levels_ + (level - 1)) * tiers_ + receiver];
  }
  /// round(points × factor / 10^12), half to even; nullopt when it leaves int64.
  static std::optional<std::int64_t> credit(std::int64_t points, std::uint64_t factor) noexcept {
    const u128 num = static_cast<u128>(points) * factor;  // < 2^63 × 2^60
    constexpr std::uint64_t den = 1'000'000'000'000ULL;
    if ((num >> 64) == 0) return static_cast<std::int64_t>(round_half_even_u64(static_cast<std::uint64_t>(num), den));
    const u128 q = round_half_even_u(num, static_cast<u128>(den));
    if (q > static_cast<u128>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(q);
  }

 private:
  std::vector<std::uint64_t> factors_;
  std::size_t tiers_ = 0, levels_ = 0;
};

/// Fetches ahead what stage_credits() will read for `buyer`: its record and those of its
/// ancestors in tier 0's matrix (where node n is member n), so that their cache misses overlap
/// with the checks a handler makes before it stages credits.
inline void prefetch_credits(const State& s, std::uint32_t buyer) noexcept {
  const Members& members = s.members;
  __builtin_prefetch(&members[buyer]);
  const Matrix& mx = s.matrices[0];
  std::size_t levels = s.plan->tiers[0].rates.size();
  for (Matrix::Node a = mx.parent(buyer); a != Matrix::none && levels > 0; a = mx.parent(a), --levels) __builtin_prefetch(&members[a]);
}

/// Stages the credits of a purchase worth `points` (> 0) by member `buyer` into `out`, in SPEC
/// §6's order: own, then tier 0 levels 1…, tier 1 levels 1…, … `total` receives their sum
/// (`total_overflowed` when it passes 2^64). A credit that leaves int64 is `overflow`.
inline std::optional<Rejection> stage_credits(const State& s, const CreditFactors& factors, std::uint32_t buyer, std::int64_t points, Changes& out,
                                              std::uint64_t& total, bool& total_overflowed) {
  const Plan& plan = *s.plan;
  const Members& members = s.members;
  const MemberRecord& b = members[buyer];
  total = 0;
  total_overflowed = false;
  if (b.status == Status::active) {
    out.push(Change{buyer, points, Kind::own, 0, 0});
    total = static_cast<std::uint64_t>(points);
  }
  for (std::uint32_t t = 0; t <= b.tier; ++t) {
    const Matrix& mx = s.matrices[t];
    const std::uint32_t levels = static_cast<std::uint32_t>(plan.tiers[t].rates.size());
    if (levels == 0) continue;
    // The first len(rates) ancestors, found once, their records fetched ahead of the walk so that
    // the cache misses overlap instead of queueing.
    std::uint32_t chain[Plan::max_rates];
    std::uint32_t found = 0;
    for (Matrix::Node a = mx.parent(mx.node_of(buyer)); a != Matrix::none && found < levels; a = mx.parent(a)) {
      chain[found] = mx.member_at(a);
      __builtin_prefetch(&members[chain[found]]);
      ++found;
    }
    std::uint32_t level = 1;
    Matrix::Node last = Matrix::none;
    for (std::uint32_t k = 0;; ++k) {
      std::uint32_t am;
      if (k < found) {
        am = chain[k];
      } else {
        // With compression, suspended ancestors left their level to the next: the walk goes on
        // past the first len(rates) ancestors (rare; the chain holds members, so find the node).
        if (level > levels || found < levels) break;
        last = mx.parent(last == Matrix::none ? mx.node_of(chain[found - 1]) : last);
        if (last == Matrix::none) break;
        am = mx.member_at(last);
      }
      if (level > levels) break;
      const MemberRecord& r = members[am];
      if (r.status != Status::active) {
        if (!plan.compression) ++level;
        continue;
      }
      // round(P × factor / 10^12), half to even (CreditFactors::credit, inlined by hand: the hot loop).
      const u128 num = static_cast<u128>(points) * factors.at(t, level, r.tier);
      std::uint64_t c;
      if ((num >> 64) == 0) [[likely]] {
        c = round_half_even_u64(static_cast<std::uint64_t>(num), 1'000'000'000'000ULL);
      } else {
        const std::optional<std::int64_t> wide = CreditFactors::credit(points, factors.at(t, level, r.tier));
        if (!wide) return reject::credit_overflow();
        c = static_cast<std::uint64_t>(*wide);
      }
      if (c > 0) {
        out.push(Change{am, static_cast<std::int64_t>(c), Kind::upline, static_cast<std::uint8_t>(t), level});
        total_overflowed |= __builtin_add_overflow(total, c, &total);
      }
      ++level;
    }
  }
  return std::nullopt;
}

}  // namespace upline
