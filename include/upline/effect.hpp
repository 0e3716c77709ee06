// upline/effect.hpp — what an accepted event asks the host to book (SPEC §9).
//
// An Effect is a fixed-size record (no heap): tiers and rewards are indices, resolved to names by
// the Engine (Engine::tier_name, Engine::reward_name). Points are units at the plan's
// points_scale; a debit's points are positive, the amount removed. append_effect_json() writes
// the one JSON shape of SPEC §9 that every door prints.
#pragma once

#include "upline/event.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace upline {

enum class EffectType : std::uint8_t { credit = 0, debit = 1, placed = 2, promoted = 3, reward = 4 };

/// Why points moved. own/upline/adjust credit; redeem/clawback/adjust debit.
enum class Kind : std::uint8_t { none = 0, own = 1, upline = 2, adjust = 3, redeem = 4, clawback = 5 };

struct Effect {
  EffectType type = EffectType::credit;
  Kind kind = Kind::none;
  std::uint8_t tier = 0;      // credit(upline): the matrix paid through; placed: the matrix; promoted: to
  std::uint8_t from = 0;      // promoted: the tier left
  std::uint32_t level = 0;    // credit(upline): 1-based level; placed: position
  std::uint32_t reward = 0;   // reward: index for Engine::reward_name
  MemberId member = 0;
  MemberId parent = 0;        // placed: the parent's member id, 0 for a root
  std::int64_t points = 0;    // credit/debit: units at points_scale, > 0

  static Effect credit(MemberId m, std::int64_t pts, Kind k, std::uint8_t tier = 0, std::uint32_t level = 0) {
    Effect e;
    e.type = EffectType::credit;
    e.kind = k;
    e.member = m;
    e.points = pts;
    e.tier = tier;
    e.level = level;
    return e;
  }
  static Effect debit(MemberId m, std::int64_t pts, Kind k) {
    Effect e;
    e.type = EffectType::debit;
    e.kind = k;
    e.member = m;
    e.points = pts;
    return e;
  }
  static Effect placed(MemberId m, std::uint8_t tier, MemberId parent, std::uint32_t position) {
    Effect e;
    e.type = EffectType::placed;
    e.member = m;
    e.tier = tier;
    e.parent = parent;
    e.level = position;
    return e;
  }
  static Effect promoted(MemberId m, std::uint8_t from, std::uint8_t to) {
    Effect e;
    e.type = EffectType::promoted;
    e.member = m;
    e.from = from;
    e.tier = to;
    return e;
  }
  static Effect rewarded(MemberId m, std::uint32_t reward) {
    Effect e;
    e.type = EffectType::reward;
    e.member = m;
    e.reward = reward;
    return e;
  }
  /// placed: the position under the parent.
  std::uint32_t position() const noexcept { return level; }

  friend bool operator==(const Effect&, const Effect&) = default;
};

constexpr const char* kind_name(Kind k) noexcept {
  switch (k) {
    case Kind::own: return "own";
    case Kind::upline: return "upline";
    case Kind::adjust: return "adjust";
    case Kind::redeem: return "redeem";
    case Kind::clawback: return "clawback";
    case Kind::none: break;
  }
  return "";
}

constexpr const char* effect_type_name(EffectType t) noexcept {
  switch (t) {
    case EffectType::credit: return "credit";
    case EffectType::debit: return "debit";
    case EffectType::placed: return "placed";
    case EffectType::promoted: return "promoted";
    case EffectType::reward: return "reward";
  }
  return "";
}

/// Appends one effect as a JSON object with exactly SPEC §9's fields in its order; tier names from
/// `plan` (tiers are only ever appended, so a later plan names them the same), reward ids from
/// `reward_names` (indexed by Effect::reward), points at the plan's points_scale. Allocates
/// nothing but what `s` grows by (src/effect.cpp).
void append_effect_json(std::string& s, const Effect& e, const Plan& plan, const std::vector<std::string>& reward_names);

/// Appends a JSON array of effects.
void append_effects_json(std::string& s, const std::vector<Effect>& effects, const Plan& plan, const std::vector<std::string>& reward_names);

}  // namespace upline
