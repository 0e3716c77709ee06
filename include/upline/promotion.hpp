// upline/promotion.hpp — promotions and rewards (SPEC §8): the work list.
//
// A FIFO of members, each at most once in it at a time (MemberRecord::queued marks them; a member
// may be appended again once processed). Events seed it (a purchase with the members it credited,
// in first-credit order; a join with the new member, its sponsor and the new node's ancestors; a
// positive adjustment or a reactivation with the member; a plan change with every member in join
// order). settle() then processes it to exhaustion; for each member m:
//
//   1. while m is active, a tier above m's exists and that tier's promote_at criteria all hold:
//      promote m (`promoted`), place it in the new tier's matrix (`placed`), append m's sponsor,
//      then m's new node's ancestors nearest first, within L levels (L: the largest filled_levels
//      of the plan; none when no tier uses it);
//   2. if m is active, grant in plan order each reward whose threshold m's lifetime reaches and that
//      m does not have yet (`reward`).
//
// Criteria: lifetime_points (lifetime >= it), direct_referrals (at least `count` members sponsored
// directly at tier >= min_tier, whatever their status), filled_levels k (every position of the k
// levels below m's node in its current tier's matrix is occupied).
#pragma once

#include "upline/effect.hpp"
#include "upline/matrix.hpp"
#include "upline/members.hpp"
#include "upline/state.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace upline {

class Promotion {
 public:
  /// Appends member m unless it is already waiting.
  void enqueue(Members& members, std::uint32_t m) {
    MemberRecord& r = members[m];
    if (r.queued) return;
    r.queued = 1;
    work_.push_back(m);
  }

  /// Appends the ancestors of node n in tier t's matrix within L levels, nearest first.
  void enqueue_ancestors(State& s, std::uint32_t t, Matrix::Node n) {
    const Matrix& mx = s.matrices[t];
    std::uint32_t levels = s.max_filled_levels;
    for (Matrix::Node a = mx.parent(n); a != Matrix::none && levels > 0; a = mx.parent(a), --levels) enqueue(s.members, mx.member_at(a));
  }

  /// Runs the work list to exhaustion, reporting promotions, placements and rewards.
  void settle(State& s, std::vector<Effect>& fx) {
    Members& members = s.members;
    const Plan& plan = *s.plan;
    for (std::size_t head = 0; head < work_.size(); ++head) {
      const std::uint32_t m = work_[head];
      members[m].queued = 0;
      while (members.active(m) && members[m].tier + 1u < plan.tiers.size() && criteria_hold(s, m, *plan.tiers[members[m].tier + 1u].promote_at))
        promote(s, m, fx);
      if (members.active(m)) grant_rewards(s, m, fx);
    }
    work_.clear();
  }

  /// Whether m meets `c` now.
  static bool criteria_hold(const State& s, std::uint32_t m, const PromoteAt& c) {
    const MemberRecord& r = s.members[m];
    if (c.lifetime_points && r.lifetime < c.lifetime_points->units) return false;
    if (c.direct_referrals && s.members.referrals_at_least(m, c.direct_referrals->min_tier, s.plan->tiers.size()) < c.direct_referrals->count)
      return false;
    if (c.filled_levels) {
      const Matrix& mx = s.matrices[r.tier];
      if (!mx.levels_filled(mx.node_of(m), *c.filled_levels)) return false;
    }
    return true;
  }

 private:
  void promote(State& s, std::uint32_t m, std::vector<Effect>& fx) {
    const std::uint32_t from = s.members[m].tier;
    s.members.promote(m);
    fx.push_back(Effect::promoted(s.members[m].id, static_cast<std::uint8_t>(from), static_cast<std::uint8_t>(from + 1)));
    const Matrix::Node n = place(s.matrices, s.members, m, from + 1, fx);
    if (s.members[m].sponsor != no_member) enqueue(s.members, s.members[m].sponsor);
    enqueue_ancestors(s, from + 1, n);
  }

  static void grant_rewards(State& s, std::uint32_t m, std::vector<Effect>& fx) {
    MemberRecord& r = s.members[m];
    if (r.lifetime < r.reward_floor) return;
    // After this loop every reward with a threshold <= lifetime is held, so the next grant needs
    // at least the smallest threshold above lifetime (valid until the plan changes).
    std::int64_t floor = std::numeric_limits<std::int64_t>::max();
    for (const auto& [reward, threshold] : s.reward_order) {
      if (r.lifetime < threshold) {
        floor = std::min(floor, threshold);
        continue;
      }
      if (s.members.has_reward(m, reward)) continue;
      s.members.grant(m, reward);
      fx.push_back(Effect::rewarded(r.id, reward));
    }
    r.reward_floor = floor;
  }

  std::vector<std::uint32_t> work_;
};

}  // namespace upline
