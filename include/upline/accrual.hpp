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
#include <vector>

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

/// accrue() through a table made when a plan is put in force: for every (shop, history band,
/// tier) the factor ratio × history × accrual × 10^points_scale / 10^money_scale as a fraction in
/// lowest terms. P is then round(amount × num / den), the same exact value rounded the same way —
/// one 64×64-bit multiplication, and a division only when den > 1 (1 for the usual ratios of 1).
/// A combination whose terms do not fit 64 bits, or a plan too large for a table, takes accrue().
class AccrualTable {
 public:
  void build(const Plan& plan) {
    bands_ = plan.history.empty() ? 1 : plan.history.size();
    tiers_ = plan.tiers.size();
    const std::size_t entries = plan.shops.size() * bands_ * tiers_;
    factors_.clear();
    if (entries > max_entries) return;
    factors_.resize(entries);
    const u128 den_full = static_cast<u128>(pow10(plan.money_scale)) * static_cast<u128>(Rate::one * Rate::one) * Rate::one;
    for (std::size_t s = 0; s < plan.shops.size(); ++s)
      for (std::size_t b = 0; b < bands_; ++b)
        for (std::size_t t = 0; t < tiers_; ++t) {
          const Rate history = plan.history.empty() ? Rate{Rate::one} : plan.history[b].multiplier;
          // <= 10^9 × 10^9 × 10^9 × 10^6 < 2^113: exact in 128 bits.
          const u128 num_full = static_cast<u128>(plan.shops[s].ratio.micros) * static_cast<u128>(history.micros) *
                                static_cast<u128>(plan.tiers[t].accrual.micros) * static_cast<u128>(pow10(plan.points_scale));
          Factor& f = factors_[(s * bands_ + b) * tiers_ + t];
          const u128 g = num_full == 0 ? den_full : gcd(num_full, den_full);
          const u128 num = num_full / g, den = den_full / g;
          f.usable = (num >> 64) == 0 && (den >> 64) == 0;
          f.num = static_cast<std::uint64_t>(num);
          f.den = static_cast<std::uint64_t>(den);
        }
  }

  /// P for `amount` (> 0) money units bought in the plan's shop number `shop_index`: the same as
  /// accrue(), nullopt when P leaves int64.
  std::optional<std::int64_t> points(const Plan& plan, std::size_t shop_index, std::uint64_t earlier_orders, std::uint32_t tier,
                                     std::int64_t amount) const {
    const Shop& shop = plan.shops[shop_index];
    if (amount < shop.min_basket.units) return 0;
    if (!factors_.empty()) {
      const Factor& f = factors_[(shop_index * bands_ + plan.history_band(earlier_orders)) * tiers_ + tier];
      if (f.usable) {
        const u128 product = static_cast<u128>(amount) * f.num;  // < 2^127
        u128 q;
        if (f.den == 1) q = product;
        else if ((product >> 64) == 0) q = round_half_even_u64(static_cast<std::uint64_t>(product), f.den);
        else q = round_half_even_u(product, f.den);
        if (q > static_cast<u128>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
        return static_cast<std::int64_t>(q);
      }
    }
    return accrue(plan, shop, earlier_orders, tier, amount);
  }

 private:
  static constexpr std::size_t max_entries = std::size_t{1} << 16;
  struct Factor {
    std::uint64_t num = 0, den = 1;
    bool usable = false;
  };
  static u128 gcd(u128 a, u128 b) noexcept {
    while (b != 0) {
      const u128 r = a % b;
      a = b;
      b = r;
    }
    return a;
  }
  std::vector<Factor> factors_;
  std::size_t bands_ = 1, tiers_ = 0;
};

}  // namespace upline
