// upline/accrual.hpp — what a purchase earns (SPEC §6 step 2):
//
//   P = round(amount × shop.ratio × history multiplier × tier[buyer.tier].accrual), or 0 below
//       the shop's min_basket,
//
// computed exactly and rounded once, half to even, to points_scale. The history band is the last
// whose `orders` <= the buyer's count of earlier accepted purchases; the tier is the one the buyer
// holds at the start of the event.
#pragma once

#include "upline/decimal.hpp"
#include "upline/plan.hpp"

#include <cstdint>
#include <limits>
#include <optional>

namespace upline {

/// round(amount × ratio × history × accrual × 10^points_scale / 10^money_scale), half to even;
/// amount >= 0, rates in micros. Exact: in 128 bits when the product fits (any realistic basket),
/// else in 256 bits. nullopt when the result leaves int64.
inline std::optional<std::int64_t> purchase_points(std::int64_t amount, Rate ratio, Rate history, Rate accrual, int money_scale,
                                                   int points_scale) {
  u128 num = static_cast<u128>(amount) * static_cast<u128>(ratio.micros);  // < 2^63 × 2^30
  const u128 den = static_cast<u128>(pow10(money_scale)) * static_cast<u128>(Rate::one) * Rate::one * Rate::one;
  if (!__builtin_mul_overflow(num, static_cast<u128>(history.micros), &num) && !__builtin_mul_overflow(num, static_cast<u128>(accrual.micros), &num) &&
      !__builtin_mul_overflow(num, static_cast<u128>(pow10(points_scale)), &num)) {
    const u128 q = round_half_even_u(num, den);
    if (q > static_cast<u128>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(q);
  }
  // Up to 2^63 × (10^9)^3 × 10^6 < 2^256.
  const int256 wide = int256(amount) * ratio.micros * history.micros * accrual.micros * pow10(points_scale);
  const int256 p = round_half_even(wide, int256(pow10(money_scale)) * (int256(Rate::one) * Rate::one * Rate::one));
  if (p > int256(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  return static_cast<std::int64_t>(p);
}

/// SPEC §6 step 2 for a buyer with `earlier_orders` accepted purchases, at tier `tier`, buying for
/// `amount` money units (> 0) in `shop` of `plan`: P, or nullopt when P leaves int64.
inline std::optional<std::int64_t> accrue(const Plan& plan, const Shop& shop, std::uint64_t earlier_orders, std::uint32_t tier, std::int64_t amount) {
  if (amount < shop.min_basket.units) return 0;
  return purchase_points(amount, shop.ratio, plan.history_multiplier(earlier_orders), plan.tiers[tier].accrual, plan.money_scale, plan.points_scale);
}

}  // namespace upline
