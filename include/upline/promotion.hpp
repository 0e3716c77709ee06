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
  /// Derives from the plan in force what makes step 1 cheap: for each tier, the lifetime below
  /// which no member of it can be promoted (the next tier's lifetime_points; the lowest int64 when
  /// the next tier has no such criterion, the highest for the top tier).
  void plan_installed(const Plan& plan) {
    floors_.assign(plan.tiers.size(), std::numeric_limits<std::int64_t>::max());
    for (std::size_t t = 0; t + 1 < plan.tiers.size(); ++t) {
      const PromoteAt& next = *plan.tiers[t + 1].promote_at;
      floors_[t] = next.lifetime_points ? next.lifetime_points->units : std::numeric_limits<std::int64_t>::min();
    }
  }

  /// Appends member m unless it is already waiting.
  [[gnu::always_inline]] void enqueue(Members& members, std::uint32_t m) {
    MemberRecord& r = members[m];
    if (r.queued) return;
    r.queued = 1;
    if (size_ == work_.size()) [[unlikely]] work_.resize(work_.empty() ? 64 : work_.size() * 2);
    work_[size_++] = m;
  }

  /// Appends member m, credited by this event, unless processing it could do nothing: its lifetime
  /// is below both the next tier's lifetime_points (no promotion is possible, whatever else happens
  /// in this event: lifetime changes only before the list runs) and its reward floor (no reward is
  /// due). Called in order of first credit once every credit of the event is applied, so that the
  /// test sees the member's final lifetime (a member credited twice keeps its first place).
  /// Leaving it out changes no outcome: a promotion of another member that could help it (a
  /// referral, a filled level) appends it anyway, and it would do nothing then either.
  [[gnu::always_inline]] void enqueue_credited(Members& members, std::uint32_t m) {
    const MemberRecord& r = members[m];
    if (r.lifetime < floors_[r.tier] && r.lifetime < r.reward_floor) return;
    enqueue(members, m);
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
    for (std::size_t head = 0; head < size_; ++head) {
      const std::uint32_t m = work_[head];
      MemberRecord& r = members[m];
      r.queued = 0;
      if (r.status != Status::active) continue;
      // Step 1; the floor rules out most members with one comparison.
      while (r.lifetime >= floors_[r.tier] && r.tier + 1u < plan.tiers.size() && r.status == Status::active &&
             criteria_hold(s, m, *plan.tiers[r.tier + 1u].promote_at))
        promote(s, m, fx);
      // Step 2.
      if (r.lifetime >= r.reward_floor && r.status == Status::active) grant_rewards(s, m, fx);
    }
    size_ = 0;
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

  std::vector<std::uint32_t> work_;  // the FIFO: work_[0..size_)
  std::size_t size_ = 0;
  std::vector<std::int64_t> floors_;  // per tier: no promotion below this lifetime
};

}  // namespace upline
