// upline/plan.hpp — a compensation plan: shops, history bands, tiers, rewards (SPEC §3).
//
// A Plan is plain data. The only way to get one from text is Plan::parse, which validates every
// rule of SPEC §3 and names the field path, the value and the rule of each fault. A Plan built by
// hand is checked by Plan::validate (the Engine calls it) for the rules that do not depend on the
// JSON text (ranges, uniqueness, ordering).
//
// Invariants of a valid plan: 1..16 tiers with unique names, tier 0 without promote_at and every
// other tier with at least one criterion; widths 2..64; at most 32 rates per tier; rates and
// multipliers 0..1000 in micros; shops sorted by id and unique; history bands strictly ascending
// from 0; rewards with unique ids.
#pragma once

#include "upline/decimal.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace upline {

enum class Fill : std::uint8_t { breadth_first = 0, under_sponsor = 1 };

constexpr std::string_view fill_name(Fill f) noexcept {
  return f == Fill::breadth_first ? "breadth_first" : "under_sponsor";
}

struct Shop {
  std::string id;
  Rate ratio;         // points per money unit
  Money min_basket;   // a purchase below it earns nothing
};

struct HistoryBand {
  std::uint64_t orders = 0;  // applies from this many earlier accepted purchases on
  Rate multiplier{Rate::one};
};

struct DirectReferrals {
  std::uint32_t count = 1;
  std::uint32_t min_tier = 0;  // tier index
};

/// Criteria of promotion into a tier; every present criterion must hold.
struct PromoteAt {
  std::optional<Points> lifetime_points;
  std::optional<DirectReferrals> direct_referrals;
  std::optional<std::uint32_t> filled_levels;  // 1..32
};

struct Tier {
  std::string name;
  std::uint32_t width = 2;
  Fill fill = Fill::breadth_first;
  Rate accrual{Rate::one};
  Rate upline_multiplier{Rate::one};
  std::vector<Rate> rates;               // rates[k-1] paid to the level-k ancestor
  std::optional<PromoteAt> promote_at;   // absent for tier 0 only
  std::map<std::string, std::string> benefits;
};

struct Reward {
  std::string id;
  Points lifetime_points;
};

/// The outcome of Plan::parse or Plan::validate: every fault found — type and syntax faults
/// first, in document order, then the rules between fields (ranges, uniqueness, ordering).
struct PlanFaults {
  std::vector<std::string> faults;
  bool ok() const noexcept { return faults.empty(); }
  /// All faults joined by "; " (the invalid_plan message).
  std::string message() const {
    std::string m;
    for (const auto& f : faults) {
      if (!m.empty()) m += "; ";
      m += f;
    }
    return m;
  }
};

struct Plan {
  static constexpr std::size_t max_tiers = 16;
  static constexpr std::size_t max_rates = 32;
  static constexpr std::uint32_t max_filled_levels = 32;

  std::string name;
  std::int64_t version = 1;
  int money_scale = 2;
  int points_scale = 2;
  bool compression = false;
  std::optional<std::int64_t> refund_window_days;  // nullopt: refunds never close
  std::vector<Shop> shops;                          // sorted by id
  std::vector<HistoryBand> history;                 // empty: multiplier 1
  std::vector<Tier> tiers;
  std::vector<Reward> rewards;

  /// Parses and validates plan JSON text. On failure returns nullopt and fills `faults`.
  static std::optional<Plan> parse(std::string_view json_text, PlanFaults& faults);

  /// Checks the rules that hold for any plan however built. Empty faults when valid.
  PlanFaults validate() const;

  /// The shop with this id, or nullptr.
  const Shop* find_shop(std::string_view id) const noexcept {
    for (const auto& s : shops)
      if (s.id == id) return &s;
    return nullptr;
  }
  /// Index of the tier with this name, or nullopt.
  std::optional<std::uint32_t> find_tier(std::string_view n) const noexcept {
    for (std::size_t i = 0; i < tiers.size(); ++i)
      if (tiers[i].name == n) return static_cast<std::uint32_t>(i);
    return std::nullopt;
  }
  /// The index of the history band for a buyer with `earlier_orders` accepted purchases before
  /// this one: the last band whose `orders` <= earlier_orders (0 when there are no bands).
  std::size_t history_band(std::uint64_t earlier_orders) const noexcept {
    std::size_t band = 0;
    for (std::size_t i = 1; i < history.size() && history[i].orders <= earlier_orders; ++i) band = i;
    return band;
  }
  /// The history multiplier for a buyer with `earlier_orders` accepted purchases before this one.
  Rate history_multiplier(std::uint64_t earlier_orders) const noexcept {
    return history.empty() ? Rate{Rate::one} : history[history_band(earlier_orders)].multiplier;
  }
  /// The largest filled_levels of any tier (L in SPEC §8), 0 when none uses it.
  std::uint32_t max_filled_levels_used() const noexcept {
    std::uint32_t l = 0;
    for (const auto& t : tiers)
      if (t.promote_at && t.promote_at->filled_levels && *t.promote_at->filled_levels > l)
        l = *t.promote_at->filled_levels;
    return l;
  }
  /// The plan as canonical JSON (sorted keys, every default written out, decimals at their
  /// scale). Two plans are the same plan iff their canonical texts are equal.
  std::string canonical_json() const;
};

/// Why `next` cannot replace `current` (SPEC §7 `plan`), or an empty string when it can.
std::string plan_incompatibility(const Plan& current, const Plan& next);

/// The plans that ship with the library, by name: "four-tier" (examples/plans/four-tier.json,
/// bronze → silver → gold → platinum) and "deep" (examples/plans/deep.json: the same tiers with
/// ten upline levels each, compression on). nullopt for another name.
std::optional<std::string_view> bundled_plan(std::string_view name) noexcept;

/// The names bundled_plan() knows, in a fixed order.
inline constexpr std::string_view bundled_plan_names[] = {"four-tier", "deep"};

}  // namespace upline
