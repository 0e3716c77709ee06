// upline/engine.hpp — the deterministic state machine of SPEC.md.
//
//   upline::Engine engine(plan);
//   std::vector<upline::Effect> effects;
//   upline::Rejection why;
//   if (!engine.apply(upline::Purchase{"o-1", 7, "main", *upline::Decimal::parse("10.00"), at}, effects, &why))
//     …why.code, why.message…
//
// apply() either rejects the event — and then nothing changed: not a balance, not the clock, not
// the digest — or commits all of it and reports the effects in the order SPEC §5–§8 produce them.
// Every handler has the same shape: check everything (structure, then SPEC §4's codes in order,
// then overflow) while computing what would change; then commit, which cannot fail.
//
// The engine never reads a clock, a random source or the environment, uses no floating point,
// and never iterates a hash container into an output. Thread safety: none — an Engine is used
// by one thread at a time; const queries may run concurrently with each other.
#pragma once

#include "upline/digest.hpp"
#include "upline/effect.hpp"
#include "upline/event.hpp"
#include "upline/matrix.hpp"
#include "upline/member.hpp"
#include "upline/plan.hpp"
#include "upline/points.hpp"
#include "upline/status.hpp"
#include "upline/storage.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace upline {

/// The outcome of Engine::apply in one value (the allocation-free overload is below).
struct Outcome {
  Code code = Code::ok;
  std::string message;
  std::vector<Effect> effects;
  bool ok() const noexcept { return code == Code::ok; }
};

/// An accepted order, as recorded.
struct OrderView {
  std::string id;
  MemberId member = 0;
  std::string shop;
  Money amount;
  Money refunded;
  Time at = 0;  // applied time
};

class Engine {
 public:
  static constexpr Time day_ms = 86'400'000;

  /// Builds an engine with no members. Throws std::invalid_argument if `plan` is not valid
  /// (Plan::validate), naming every fault.
  explicit Engine(Plan plan) {
    PlanFaults f = plan.validate();
    if (!f.ok()) throw std::invalid_argument("invalid_plan: " + f.message());
    install_plan(std::make_shared<const Plan>(std::move(plan)));
  }

  // Move-only: orders and redemptions point at their ids in the engine's own arenas (whose blocks
  // survive a move, not a copy). save_state()/load_state() make an independent copy.
  Engine(Engine&&) noexcept = default;
  Engine& operator=(Engine&&) noexcept = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Applies one event. Returns true when accepted; `effects` (cleared first) receives what the
  /// host must book. On rejection returns false, `effects` stays empty and `why` (if given)
  /// receives the code and a message naming the field, the value and the rule.
  bool apply(const Event& event, std::vector<Effect>& effects, Rejection* why = nullptr) {
    effects.clear();
    Rejection r = std::visit([&](const auto& e) { return handle(e, effects); }, event);
    if (r.code != Code::ok) {
      effects.clear();
      ++rejected_;
      if (why) *why = std::move(r);
      return false;
    }
    ++applied_;
    return true;
  }

  /// Applies one event and returns everything in one value.
  Outcome apply(const Event& event) {
    Outcome o;
    Rejection r;
    if (!apply(event, o.effects, &r)) {
      o.code = r.code;
      o.message = std::move(r.message);
    }
    return o;
  }

  /// Counts an event that was rejected before it could reach apply() — for instance by
  /// parse_event — so that rejected() covers the whole stream. Changes no state.
  void count_rejection() noexcept { ++rejected_; }

  // ---- queries -------------------------------------------------------------------------------

  const Plan& plan() const noexcept { return *plan_; }
  std::shared_ptr<const Plan> plan_ptr() const noexcept { return plan_; }
  /// The engine clock: the largest `at` of the accepted events (0 before any).
  Time clock() const noexcept { return clock_; }
  std::uint64_t applied() const noexcept { return applied_; }
  std::uint64_t rejected() const noexcept { return rejected_; }
  std::size_t member_count() const noexcept { return members_.size(); }
  std::size_t order_count() const noexcept { return orders_.size(); }

  bool has_member(MemberId id) const noexcept { return index_.find(id) != no_member; }

  /// A member's whole state, or nullopt if unknown.
  std::optional<MemberView> member(MemberId id) const {
    std::uint32_t m = index_.find(id);
    if (m == no_member) return std::nullopt;
    return view(m);
  }

  /// A member's current tier index, or nullopt if unknown (cheaper than member()).
  std::optional<std::uint32_t> tier_of(MemberId id) const noexcept {
    std::uint32_t m = index_.find(id);
    if (m == no_member) return std::nullopt;
    return members_[m].tier;
  }

  /// Member ids in join order.
  std::vector<MemberId> member_ids() const {
    std::vector<MemberId> ids;
    ids.reserve(members_.size());
    for (const auto& r : members_) ids.push_back(r.id);
    return ids;
  }

  /// The record of the i-th member to join (0-based), for bulk reads.
  const MemberRecord& record_at(std::size_t i) const noexcept { return members_[i]; }

  /// A member's ancestors in tier `tier`'s matrix, nearest first, at most `max_levels` of them.
  /// Empty if the member is unknown or has no node in that matrix.
  std::vector<MemberId> upline(MemberId id, std::uint32_t tier, std::size_t max_levels = SIZE_MAX) const {
    std::vector<MemberId> out;
    std::uint32_t m = index_.find(id);
    if (m == no_member || tier >= matrices_.size()) return out;
    const Matrix& mx = matrices_[tier];
    Matrix::Node n = mx.node_of(m);
    if (n == Matrix::none) return out;
    for (Matrix::Node a = mx.parent(n); a != Matrix::none && out.size() < max_levels; a = mx.parent(a))
      out.push_back(members_[mx.member_at(a)].id);
    return out;
  }

  /// How many members sit below `id` in tier `tier`'s matrix (nullopt: no node there).
  std::optional<std::uint64_t> below(MemberId id, std::uint32_t tier) const {
    std::uint32_t m = index_.find(id);
    if (m == no_member || tier >= matrices_.size()) return std::nullopt;
    Matrix::Node n = matrices_[tier].node_of(m);
    if (n == Matrix::none) return std::nullopt;
    return matrices_[tier].below(n);
  }

  /// Tier `tier`'s matrix (tier < plan().tiers.size()), for bulk reads of the tree.
  const Matrix& matrix(std::uint32_t tier) const noexcept { return matrices_[tier]; }

  /// Makes room for `members` members without reallocating the member tables (optional).
  void reserve_members(std::size_t members) {
    members_.reserve(members);
    index_.reserve(members);
  }

  /// Members per tier (by current tier), indexed like plan().tiers.
  std::vector<std::uint64_t> census() const { return census_; }

  /// The current plan's benefits for a member's tier, or nullptr if the member is unknown.
  const std::map<std::string, std::string>* benefits(MemberId id) const noexcept {
    std::uint32_t m = index_.find(id);
    if (m == no_member) return nullptr;
    return &plan_->tiers[members_[m].tier].benefits;
  }

  /// The order with this id, or nullopt.
  std::optional<OrderView> order(std::string_view id) const {
    const std::uint32_t i = find_order(id);
    if (i == KeyIndex::none) return std::nullopt;
    const OrderRecord& o = orders_[i];
    return OrderView{std::string(o.id), members_[o.member].id, shop_names_[o.shop], Money{o.amount}, Money{o.refunded}, o.at};
  }

  const std::string& tier_name(std::uint32_t t) const noexcept { return plan_->tiers[t].name; }
  /// Reward ids are interned the first time a plan names them; indices never change.
  const std::string& reward_name(std::uint32_t r) const noexcept { return reward_names_[r]; }

  /// How many reward ids have been interned (valid indices for reward_name).
  std::size_t reward_count() const noexcept { return reward_names_.size(); }
  /// The index of the i-th reward granted to a member (grant order), or nullopt.
  std::optional<std::uint32_t> reward_index(MemberId id, std::size_t i) const {
    std::uint32_t m = index_.find(id);
    if (m == no_member) return std::nullopt;
    auto it = rewards_of_.find(m);
    if (it == rewards_of_.end() || i >= it->second.size()) return std::nullopt;
    return it->second[i];
  }

  /// SHA-256 of the canonical state (docs/DIGEST.md), as 64 hex digits.
  std::string digest() const;

  /// The whole state as bytes (a snapshot's payload; format in docs/DURABILITY.md).
  std::string save_state() const;
  /// An engine from save_state() bytes. Throws std::runtime_error naming the fault if the bytes
  /// are malformed; the result's digest() equals the saved engine's.
  static Engine load_state(std::string_view bytes);

 private:
  friend class StateCodec;
  Engine() = default;  // for load_state

  struct OrderRecord {
    std::string_view id;        // in order_ids_ (stable)
    std::uint32_t member;
    std::uint32_t shop;         // index into shop_names_
    std::int64_t amount;        // money units
    std::int64_t refunded;      // money units
    Time at;                    // applied time
    std::uint64_t credit_begin; // into credits_
    std::uint32_t credit_count;
  };
#pragma pack(push, 4)
  struct CreditRecord {  // 12 bytes: a deep plan records ~11 per purchase
    std::uint32_t member;
    std::int64_t points;
  };
#pragma pack(pop)
  static_assert(sizeof(CreditRecord) == 12);
  struct RedeemRecord {
    std::string_view ref;       // in ref_ids_ (stable)
    std::uint32_t member;
    std::int64_t points;
    Time at;
  };
  struct PlanRecord {
    std::string actor;
    Time at;  // applied time
  };
  struct AdjustRecord {
    std::uint32_t member;
    std::int64_t points;
    std::string actor;
    std::string reason;
    Time at;
  };
  // A balance change computed before commit.
  struct Staged {
    std::uint32_t member;
    std::int64_t points;  // signed: + credit, - debit
    Kind kind;
    std::uint8_t tier;
    std::uint32_t level;
  };

  static Rejection reject(Code c, std::string msg) { return Rejection{c, std::move(msg)}; }
  static Rejection accept() { return Rejection{}; }

  static bool valid_id(MemberId id) noexcept { return id >= 1; }
  static bool valid_key(const std::string& s) noexcept { return !s.empty() && s.size() <= 64; }

  static std::optional<Rejection> check_member_field(const char* field, MemberId id) {
    if (!valid_id(id)) return reject(Code::invalid_event, std::string(field) + ": " + std::to_string(id) + " is out of range 1..9223372036854775807");
    return std::nullopt;
  }
  static std::optional<Rejection> check_at(Time at) {
    if (at < 0) return reject(Code::invalid_event, "at: " + std::to_string(at) + " is out of range 0..9223372036854775807");
    return std::nullopt;
  }
  static std::optional<Rejection> check_key(const char* field, const std::string& s) {
    if (!valid_key(s)) return reject(Code::invalid_event, std::string(field) + ": \"" + s + "\" must be 1..64 bytes");
    return std::nullopt;
  }

  // Converts an amount at `scale`; a rejection (invalid_amount) names the field and the rule.
  static std::optional<Rejection> to_units(const char* field, const Decimal& d, int scale, const char* scale_name,
                                           std::int64_t& out) {
    switch (d.to_units(scale, out)) {
      case Decimal::Fit::ok: return std::nullopt;
      case Decimal::Fit::too_many_decimals:
        return reject(Code::invalid_amount, std::string(field) + ": \"" + d.text() + "\" has more decimals than " + scale_name + " " +
                                                std::to_string(scale));
      case Decimal::Fit::out_of_range:
        return reject(Code::invalid_amount, std::string(field) + ": \"" + d.text() + "\" is out of range at " + scale_name + " " +
                                                std::to_string(scale));
      case Decimal::Fit::not_a_decimal:
        return reject(Code::invalid_amount, std::string(field) + ": \"" + d.text() + "\" is not a decimal (-?[0-9]+(.[0-9]+)?)");
    }
    return std::nullopt;
  }

  Time applied_time(Time at) const noexcept { return std::max(clock_, at); }
  void advance_clock(Time at) noexcept { clock_ = std::max(clock_, at); }
  bool active(std::uint32_t m) const noexcept { return members_[m].status == Status::active; }

  // The key of the i-th order / redemption, for their KeyIndex.
  auto order_key() const noexcept {
    return [this](std::uint32_t i) { return orders_[i].id; };
  }
  auto ref_key() const noexcept {
    return [this](std::uint32_t i) { return redemptions_[i].ref; };
  }
  std::uint32_t find_order(std::string_view id) const noexcept { return order_index_.find(id, order_key()); }
  std::uint32_t find_ref(std::string_view ref) const noexcept { return ref_index_.find(ref, ref_key()); }

  // Checks that applying `staged` keeps every balance and lifetime inside int64 (SPEC §2: only
  // the resulting values must fit; each credit or debit was checked on its own when computed).
  std::optional<Rejection> check_balances(const std::vector<Staged>& staged) {
    // Fast path, O(n): a member's own sum lies between the sum of all debits and the sum of all
    // credits, and every |balance| and |lifetime| is at most value_bound_: if even that plus
    // either sum fits, no member needs a look.
    constexpr std::int64_t lo = std::numeric_limits<std::int64_t>::min(), hi = std::numeric_limits<std::int64_t>::max();
    i128 up = 0, down = 0;
    for (const Staged& s : staged) (s.points > 0 ? up : down) += s.points;
    if (static_cast<i128>(value_bound_) + up <= hi && static_cast<i128>(value_bound_) - down <= hi) return std::nullopt;
    // Near the edge of int64: per-member totals in 128 bits.
    totals_.clear();
    for (const Staged& s : staged) {
      auto it = std::find_if(totals_.begin(), totals_.end(), [&](const auto& t) { return t.first == s.member; });
      if (it == totals_.end()) totals_.emplace_back(s.member, static_cast<i128>(s.points));
      else it->second += s.points;
    }
    for (const auto& [m, total] : totals_) {
      const i128 b = members_[m].balance + total, l = members_[m].lifetime + total;
      if (b < lo || b > hi || l < lo || l > hi)
        return reject(Code::overflow, "overflow: member " + std::to_string(members_[m].id) + "'s balance or lifetime would leave int64");
    }
    return std::nullopt;
  }

  // ---- §5 placement ----------------------------------------------------------------------------

  // Places member m into tier t's matrix and reports it.
  Matrix::Node place(std::uint32_t m, std::uint32_t t, std::vector<Effect>& fx) {
    Matrix& mx = matrices_[t];
    Matrix::Node subtree = Matrix::none;
    if (mx.fill() == Fill::under_sponsor) {
      for (std::uint32_t s = members_[m].sponsor; s != no_member; s = members_[s].sponsor)
        if (members_[s].tier >= t) {
          subtree = mx.node_of(s);
          break;
        }
    }
    Matrix::Node n = mx.place(m, subtree);
    Matrix::Node p = mx.parent(n);
    fx.push_back(Effect::placed(members_[m].id, static_cast<std::uint8_t>(t), p == Matrix::none ? 0 : members_[mx.member_at(p)].id,
                                mx.position(n)));
    return n;
  }

  // ---- §8 promotions and rewards --------------------------------------------------------------

  void enqueue(std::uint32_t m) {
    MemberRecord& r = members_[m];
    if (r.queued) return;
    r.queued = 1;
    work_.push_back(m);
  }

  // Appends the ancestors of node n in tier t's matrix within L levels, nearest first.
  void enqueue_ancestors(std::uint32_t t, Matrix::Node n) {
    const Matrix& mx = matrices_[t];
    std::uint32_t levels = max_filled_levels_;
    for (Matrix::Node a = mx.parent(n); a != Matrix::none && levels > 0; a = mx.parent(a), --levels) enqueue(mx.member_at(a));
  }

  std::uint64_t referrals_at_least(std::uint32_t m, std::uint32_t min_tier) const {
    if (min_tier == 0) return members_[m].referrals;
    std::uint64_t n = 0;
    for (std::uint32_t t = min_tier; t < plan_->tiers.size(); ++t) {
      auto it = referrals_by_tier_.find(referral_key(m, t));
      if (it != referrals_by_tier_.end()) n += it->second;
    }
    return n;
  }
  static std::uint64_t referral_key(std::uint32_t m, std::uint32_t t) noexcept { return (std::uint64_t(m) << 8) | t; }

  bool criteria_hold(std::uint32_t m, const PromoteAt& c) const {
    const MemberRecord& r = members_[m];
    if (c.lifetime_points && r.lifetime < c.lifetime_points->units) return false;
    if (c.direct_referrals && referrals_at_least(m, c.direct_referrals->min_tier) < c.direct_referrals->count) return false;
    if (c.filled_levels) {
      const Matrix& mx = matrices_[r.tier];
      if (!mx.levels_filled(mx.node_of(m), *c.filled_levels)) return false;
    }
    return true;
  }

  void promote(std::uint32_t m, std::vector<Effect>& fx) {
    MemberRecord& r = members_[m];
    const std::uint32_t from = r.tier, to = from + 1;
    r.tier = static_cast<std::uint8_t>(to);
    --census_[from];
    ++census_[to];
    if (r.sponsor != no_member) {
      if (from > 0) {
        auto it = referrals_by_tier_.find(referral_key(r.sponsor, from));
        if (--it->second == 0) referrals_by_tier_.erase(it);
      }
      ++referrals_by_tier_[referral_key(r.sponsor, to)];
    }
    fx.push_back(Effect::promoted(r.id, static_cast<std::uint8_t>(from), static_cast<std::uint8_t>(to)));
    Matrix::Node n = place(m, to, fx);
    if (r.sponsor != no_member) enqueue(r.sponsor);
    enqueue_ancestors(to, n);
  }

  void grant_rewards(std::uint32_t m, std::vector<Effect>& fx) {
    MemberRecord& r = members_[m];
    if (r.lifetime < r.reward_floor) return;
    // After this loop every reward with a threshold <= lifetime is held, so the next grant needs
    // at least the smallest threshold above lifetime (valid until the plan changes).
    std::int64_t floor = std::numeric_limits<std::int64_t>::max();
    for (const auto& [reward, threshold] : reward_order_) {
      if (r.lifetime < threshold) {
        floor = std::min(floor, threshold);
        continue;
      }
      auto& have = rewards_of_[m];
      if (std::find(have.begin(), have.end(), reward) != have.end()) continue;
      have.push_back(reward);
      fx.push_back(Effect::rewarded(r.id, reward));
    }
    r.reward_floor = floor;
  }

  // Runs the work list to exhaustion (SPEC §8).
  void settle(std::vector<Effect>& fx) {
    for (std::size_t head = 0; head < work_.size(); ++head) {
      const std::uint32_t m = work_[head];
      members_[m].queued = 0;
      while (active(m) && members_[m].tier + 1u < plan_->tiers.size() &&
             criteria_hold(m, *plan_->tiers[members_[m].tier + 1u].promote_at))
        promote(m, fx);
      if (active(m)) grant_rewards(m, fx);
    }
    work_.clear();
  }

  // ---- plan ------------------------------------------------------------------------------------

  void install_plan(std::shared_ptr<const Plan> p) {
    plan_ = std::move(p);
    while (matrices_.size() < plan_->tiers.size()) {
      const Tier& t = plan_->tiers[matrices_.size()];
      matrices_.emplace_back(t.width, t.fill, /*dense=*/matrices_.empty());
      census_.push_back(0);
    }
    shop_slot_.assign(plan_->shops.size(), no_shop);
    for (MemberRecord& r : members_) r.reward_floor = 0;  // thresholds changed: check again
    reward_order_.clear();
    for (const Reward& r : plan_->rewards) reward_order_.emplace_back(intern(reward_names_, reward_ix_, r.id), r.lifetime_points.units);
    max_filled_levels_ = plan_->max_filled_levels_used();
  }

  static std::uint32_t intern(std::vector<std::string>& names, std::unordered_map<std::string, std::uint32_t>& ix, const std::string& s) {
    auto [it, fresh] = ix.emplace(s, static_cast<std::uint32_t>(names.size()));
    if (fresh) names.push_back(s);
    return it->second;
  }

  // ---- event handlers --------------------------------------------------------------------------

  Rejection handle(const Join& e, std::vector<Effect>& fx);
  Rejection handle(const Purchase& e, std::vector<Effect>& fx);
  Rejection handle(const Refund& e, std::vector<Effect>& fx);
  Rejection handle(const Redeem& e, std::vector<Effect>& fx);
  Rejection handle(const Adjust& e, std::vector<Effect>& fx);
  Rejection handle(const Suspend& e, std::vector<Effect>& fx);
  Rejection handle(const Reactivate& e, std::vector<Effect>& fx);
  Rejection handle(const PlanChange& e, std::vector<Effect>& fx);

  // Keeps value_bound_ >= |balance| and |lifetime| of every member (redemptions only bring a
  // balance toward 0, so only credits, debits and adjustments need it).
  void bound_values(const MemberRecord& r) noexcept {
    const std::uint64_t b = r.balance < 0 ? 0 - static_cast<std::uint64_t>(r.balance) : static_cast<std::uint64_t>(r.balance);
    const std::uint64_t l = r.lifetime < 0 ? 0 - static_cast<std::uint64_t>(r.lifetime) : static_cast<std::uint64_t>(r.lifetime);
    value_bound_ = std::max(value_bound_, std::max(b, l));
  }

  // Applies staged credits (or debits) to balances and lifetimes and reports them.
  void commit_staged(const std::vector<Staged>& staged, std::vector<Effect>& fx) {
    for (const Staged& s : staged) {
      MemberRecord& r = members_[s.member];
      r.balance += s.points;
      r.lifetime += s.points;
      bound_values(r);
      if (s.points > 0) fx.push_back(Effect::credit(r.id, s.points, s.kind, s.tier, s.level));
      else fx.push_back(Effect::debit(r.id, -s.points, s.kind));
    }
  }

  MemberView view(std::uint32_t m) const {
    const MemberRecord& r = members_[m];
    MemberView v;
    v.id = r.id;
    if (r.sponsor != no_member) v.sponsor = members_[r.sponsor].id;
    v.tier = r.tier;
    v.tier_name = plan_->tiers[r.tier].name;
    v.status = r.status;
    v.balance = Points{r.balance};
    v.lifetime = Points{r.lifetime};
    v.orders = r.orders;
    v.referrals = r.referrals;
    for (std::uint32_t t = 0; t <= r.tier; ++t) {
      const Matrix& mx = matrices_[t];
      Matrix::Node n = mx.node_of(m);
      Matrix::Node p = mx.parent(n);
      v.nodes.push_back(NodeView{t, p == Matrix::none ? std::nullopt : std::optional<MemberId>(members_[mx.member_at(p)].id), mx.position(n)});
    }
    auto it = rewards_of_.find(m);
    if (it != rewards_of_.end())
      for (std::uint32_t rw : it->second) v.rewards.push_back(reward_names_[rw]);
    v.benefits = plan_->tiers[r.tier].benefits;
    return v;
  }

  // The engine's shop index of the current plan's i-th shop (interned on first use).
  std::uint32_t shop_index(const Plan& plan, const Shop* shop) {
    std::uint32_t& slot = shop_slot_[static_cast<std::size_t>(shop - plan.shops.data())];
    if (slot == no_shop) slot = intern(shop_names_, shop_ix_, shop->id);
    return slot;
  }
  static constexpr std::uint32_t no_shop = std::numeric_limits<std::uint32_t>::max();

  std::shared_ptr<const Plan> plan_;
  big_vector<MemberRecord> members_;
  IdIndex index_;
  std::vector<Matrix> matrices_;
  std::vector<std::uint64_t> census_;
  std::unordered_map<std::uint64_t, std::uint32_t> referrals_by_tier_;  // (sponsor, tier >= 1) → count
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> rewards_of_;  // member → rewards, grant order
  std::vector<std::string> reward_names_;
  std::unordered_map<std::string, std::uint32_t> reward_ix_;
  std::vector<std::pair<std::uint32_t, std::int64_t>> reward_order_;  // current plan: (reward, threshold)
  std::uint32_t max_filled_levels_ = 0;

  KeyIndex order_index_;   // order id → orders_ index
  StringArena order_ids_;
  chunked_vector<OrderRecord> orders_;
  chunked_vector<CreditRecord> credits_;
  std::vector<std::string> shop_names_;
  std::unordered_map<std::string, std::uint32_t> shop_ix_;
  std::vector<std::uint32_t> shop_slot_;  // current plan's shop i → shop_names_ index, or no_shop
  KeyIndex ref_index_;     // redemption ref → redemptions_ index
  StringArena ref_ids_;
  std::vector<RedeemRecord> redemptions_;
  std::vector<AdjustRecord> adjustments_;
  std::vector<PlanRecord> plan_changes_;  // who changed the plan, when (the plan itself is plan_)

  Time clock_ = 0;
  std::uint64_t value_bound_ = 0;  // >= every |balance| and |lifetime| (an overflow-check shortcut)
  std::uint64_t applied_ = 0;
  std::uint64_t rejected_ = 0;

  // Scratch, reused across events.
  std::vector<std::uint32_t> work_;  // the §8 FIFO (MemberRecord::queued marks members in it)
  std::vector<Staged> staged_;
  std::vector<std::pair<std::uint32_t, i128>> totals_;
};

// ---- handlers ------------------------------------------------------------------------------------

inline Rejection Engine::handle(const Join& e, std::vector<Effect>& fx) {
  if (auto r = check_member_field("member", e.member)) return *r;
  if (e.sponsor)
    if (auto r = check_member_field("sponsor", *e.sponsor)) return *r;
  if (auto r = check_at(e.at)) return *r;
  if (index_.find(e.member) != no_member) return reject(Code::member_exists, "member: " + std::to_string(e.member) + " has already joined");
  std::uint32_t sponsor = no_member;
  if (!e.sponsor) {
    if (!members_.empty()) return reject(Code::sponsor_required, "sponsor: required for every member but the first");
  } else {
    sponsor = index_.find(*e.sponsor);
    if (sponsor == no_member) return reject(Code::unknown_sponsor, "sponsor: " + std::to_string(*e.sponsor) + " is not a member");
  }
  if (members_.size() >= no_member - 1) return reject(Code::overflow, "member: the engine holds its maximum number of members");

  // Commit.
  advance_clock(e.at);
  const auto m = static_cast<std::uint32_t>(members_.size());
  MemberRecord rec;
  rec.id = e.member;
  rec.sponsor = sponsor;
  members_.push_back(rec);
  index_.insert(e.member, m);
  ++census_[0];
  if (sponsor != no_member) ++members_[sponsor].referrals;
  Matrix::Node n = place(m, 0, fx);
  enqueue(m);
  if (sponsor != no_member) enqueue(sponsor);
  enqueue_ancestors(0, n);
  settle(fx);
  return accept();
}

inline Rejection Engine::handle(const Purchase& e, std::vector<Effect>& fx) {
  if (auto r = check_key("order", e.order)) return *r;
  if (auto r = check_member_field("member", e.member)) return *r;
  if (auto r = check_at(e.at)) return *r;
  const std::uint64_t order_hash = hash_key(e.order);  // for the duplicate check and the insert
  if (order_index_.find(e.order, order_hash, order_key()) != KeyIndex::none)
    return reject(Code::duplicate_order, "order: \"" + e.order + "\" was already accepted");
  const std::uint32_t m = index_.find(e.member);
  if (m == no_member) return reject(Code::unknown_member, "member: " + std::to_string(e.member) + " is not a member");
  const Plan& plan = *plan_;
  const Shop* shop = plan.find_shop(e.shop);
  if (!shop) return reject(Code::unknown_shop, "shop: \"" + e.shop + "\" is not a shop of the plan in force");
  std::int64_t amount = 0;
  if (auto r = to_units("amount", e.amount, plan.money_scale, "money_scale", amount)) return *r;
  if (amount <= 0) return reject(Code::invalid_amount, "amount: \"" + e.amount.text() + "\" must be > 0");

  // P = round(amount × ratio × history × accrual), exact.
  const MemberRecord& buyer = members_[m];
  std::int64_t points = 0;
  if (amount >= shop->min_basket.units) {
    auto p = purchase_points(amount, shop->ratio, plan.history_multiplier(buyer.orders), plan.tiers[buyer.tier].accrual, plan.money_scale,
                             plan.points_scale);
    if (!p) return reject(Code::overflow, "amount: \"" + e.amount.text() + "\" earns more points than int64 holds");
    points = *p;
  }
  if (orders_.size() >= KeyIndex::none) return reject(Code::overflow, "order: the engine holds its maximum number of orders (4294967295)");
  if (buyer.orders == std::numeric_limits<std::uint32_t>::max())
    return reject(Code::overflow, "member: " + std::to_string(e.member) + " already has 4294967295 accepted purchases, the most one member can hold");

  // Stage the credits: own, then each tier's upline (SPEC §6 steps 3–4).
  staged_.clear();
  if (points > 0) {
    if (buyer.status == Status::active) staged_.push_back(Staged{m, points, Kind::own, 0, 0});
    for (std::uint32_t t = 0; t <= buyer.tier; ++t) {
      const Matrix& mx = matrices_[t];
      const std::vector<Rate>& rates = plan.tiers[t].rates;
      if (rates.empty()) continue;
      // The first len(rates) ancestors, found once, their records fetched ahead of the walk so
      // that the cache misses overlap instead of queueing. With compression, suspended ancestors
      // leave their level to the next, so the walk may go on past them.
      Matrix::Node chain[Plan::max_rates];
      std::size_t found = 0;
      for (Matrix::Node a = mx.parent(mx.node_of(m)); a != Matrix::none && found < rates.size(); a = mx.parent(a)) {
        chain[found++] = a;
        __builtin_prefetch(&members_[mx.member_at(a)]);
      }
      std::uint32_t level = 1;
      std::size_t k = 0;
      for (Matrix::Node a = found > 0 ? chain[0] : Matrix::none; a != Matrix::none && level <= rates.size();
           a = ++k < found ? chain[k] : mx.parent(a)) {
        const std::uint32_t am = mx.member_at(a);
        if (!active(am)) {
          if (!plan.compression) ++level;
          continue;
        }
        auto c = scale_points(points, rates[level - 1], plan.tiers[members_[am].tier].upline_multiplier);
        if (!c) return reject(Code::overflow, "overflow: an upline credit of the purchase leaves int64");
        if (*c > 0) staged_.push_back(Staged{am, *c, Kind::upline, static_cast<std::uint8_t>(t), level});
        ++level;
      }
    }
    if (auto r = check_balances(staged_)) return *r;
  }

  // Commit.
  advance_clock(e.at);
  const auto oi = static_cast<std::uint32_t>(orders_.size());
  orders_.push_back(OrderRecord{order_ids_.add(e.order), m, shop_index(plan, shop), amount, 0, applied_time(e.at), credits_.size(),
                                static_cast<std::uint32_t>(staged_.size())});
  order_index_.insert(order_hash, oi, order_key());
  ++members_[m].orders;
  for (const Staged& s : staged_) credits_.push_back(CreditRecord{s.member, s.points});
  commit_staged(staged_, fx);
  for (const Staged& s : staged_) enqueue(s.member);
  settle(fx);
  return accept();
}

inline Rejection Engine::handle(const Refund& e, std::vector<Effect>& fx) {
  if (auto r = check_key("order", e.order)) return *r;
  if (auto r = check_at(e.at)) return *r;
  const std::uint32_t found = find_order(e.order);
  if (found == KeyIndex::none) return reject(Code::unknown_order, "order: \"" + e.order + "\" is not an accepted order");
  const OrderRecord& o = orders_[found];
  const Plan& plan = *plan_;
  std::int64_t amount = o.amount - o.refunded;  // the rest
  if (e.amount) {
    if (auto r = to_units("amount", *e.amount, plan.money_scale, "money_scale", amount)) return *r;
    if (amount <= 0) return reject(Code::invalid_amount, "amount: \"" + e.amount->text() + "\" must be > 0");
  }
  if (amount == 0) return reject(Code::refund_exceeds_order, "order: \"" + e.order + "\" is already fully refunded");
  if (amount > o.amount - o.refunded)
    return reject(Code::refund_exceeds_order, "amount: " + format_units(amount, plan.money_scale) + " exceeds what is left of order \"" + e.order +
                                                  "\" (" + format_units(o.amount - o.refunded, plan.money_scale) + ")");
  const Time at = applied_time(e.at);
  if (plan.refund_window_days) {
    const i128 closes = static_cast<i128>(o.at) + static_cast<i128>(*plan.refund_window_days) * day_ms;
    if (static_cast<i128>(at) > closes)
      return reject(Code::refund_window_closed, "order: \"" + e.order + "\" was applied at " + std::to_string(o.at) + "; the " +
                                                    std::to_string(*plan.refund_window_days) + "-day refund window closed before " +
                                                    std::to_string(at));
  }
  const std::int64_t before = o.refunded, after = o.refunded + amount;
  staged_.clear();
  for (std::uint64_t i = 0; i < o.credit_count; ++i) {
    const CreditRecord& c = credits_[o.credit_begin + i];
    std::int64_t d = proportion(c.points, after, o.amount) - proportion(c.points, before, o.amount);
    if (d > 0) staged_.push_back(Staged{c.member, -d, Kind::clawback, 0, 0});
  }
  if (auto r = check_balances(staged_)) return *r;

  // Commit.
  advance_clock(e.at);
  orders_[found].refunded = after;
  commit_staged(staged_, fx);
  return accept();
}

inline Rejection Engine::handle(const Redeem& e, std::vector<Effect>& fx) {
  if (auto r = check_member_field("member", e.member)) return *r;
  if (auto r = check_key("ref", e.ref)) return *r;
  if (auto r = check_at(e.at)) return *r;
  if (find_ref(e.ref) != KeyIndex::none) return reject(Code::duplicate_ref, "ref: \"" + e.ref + "\" was already redeemed");
  const std::uint32_t m = index_.find(e.member);
  if (m == no_member) return reject(Code::unknown_member, "member: " + std::to_string(e.member) + " is not a member");
  std::int64_t points = 0;
  if (auto r = to_units("points", e.points, plan_->points_scale, "points_scale", points)) return *r;
  if (points <= 0) return reject(Code::invalid_amount, "points: \"" + e.points.text() + "\" must be > 0");
  MemberRecord& r = members_[m];
  if (points > r.balance)
    return reject(Code::insufficient_points, "points: " + format_units(points, plan_->points_scale) + " exceeds member " + std::to_string(e.member) +
                                                 "'s balance " + format_units(r.balance, plan_->points_scale));

  if (redemptions_.size() >= KeyIndex::none)
    return reject(Code::overflow, "ref: the engine holds its maximum number of redemptions (4294967295)");

  // Commit.
  advance_clock(e.at);
  r.balance -= points;
  const auto ri = static_cast<std::uint32_t>(redemptions_.size());
  redemptions_.push_back(RedeemRecord{ref_ids_.add(e.ref), m, points, applied_time(e.at)});
  ref_index_.insert(e.ref, ri, ref_key());
  fx.push_back(Effect::debit(r.id, points, Kind::redeem));
  return accept();
}

inline Rejection Engine::handle(const Adjust& e, std::vector<Effect>& fx) {
  if (auto r = check_member_field("member", e.member)) return *r;
  if (e.actor.empty()) return reject(Code::invalid_event, "actor: must not be empty");
  if (e.reason.empty()) return reject(Code::invalid_event, "reason: must not be empty");
  if (auto r = check_at(e.at)) return *r;
  const std::uint32_t m = index_.find(e.member);
  if (m == no_member) return reject(Code::unknown_member, "member: " + std::to_string(e.member) + " is not a member");
  std::int64_t points = 0;
  if (auto r = to_units("points", e.points, plan_->points_scale, "points_scale", points)) return *r;
  if (points == 0) return reject(Code::invalid_amount, "points: \"" + e.points.text() + "\" must not be zero");
  if (points == std::numeric_limits<std::int64_t>::min()) return reject(Code::overflow, "points: a debit of \"" + e.points.text() + "\" leaves int64");
  staged_.clear();
  staged_.push_back(Staged{m, points, Kind::adjust, 0, 0});
  if (auto r = check_balances(staged_)) return *r;

  // Commit.
  advance_clock(e.at);
  adjustments_.push_back(AdjustRecord{m, points, e.actor, e.reason, applied_time(e.at)});
  commit_staged(staged_, fx);
  if (points > 0) {
    enqueue(m);
    settle(fx);
  }
  return accept();
}

inline Rejection Engine::handle(const Suspend& e, std::vector<Effect>&) {
  if (auto r = check_member_field("member", e.member)) return *r;
  if (auto r = check_at(e.at)) return *r;
  const std::uint32_t m = index_.find(e.member);
  if (m == no_member) return reject(Code::unknown_member, "member: " + std::to_string(e.member) + " is not a member");
  advance_clock(e.at);
  members_[m].status = Status::suspended;
  return accept();
}

inline Rejection Engine::handle(const Reactivate& e, std::vector<Effect>& fx) {
  if (auto r = check_member_field("member", e.member)) return *r;
  if (auto r = check_at(e.at)) return *r;
  const std::uint32_t m = index_.find(e.member);
  if (m == no_member) return reject(Code::unknown_member, "member: " + std::to_string(e.member) + " is not a member");
  advance_clock(e.at);
  if (members_[m].status == Status::suspended) {
    members_[m].status = Status::active;
    enqueue(m);
    settle(fx);
  }
  return accept();
}

inline Rejection Engine::handle(const PlanChange& e, std::vector<Effect>& fx) {
  if (e.actor.empty()) return reject(Code::invalid_event, "actor: must not be empty");
  if (auto r = check_at(e.at)) return *r;
  if (!e.plan) return reject(Code::invalid_event, "plan: required");
  PlanFaults f = e.plan->validate();
  if (!f.ok()) return reject(Code::invalid_plan, f.message());
  std::string why = plan_incompatibility(*plan_, *e.plan);
  if (!why.empty()) return reject(Code::incompatible_plan, why);

  // Commit.
  advance_clock(e.at);
  plan_changes_.push_back(PlanRecord{e.actor, applied_time(e.at)});
  install_plan(e.plan);
  for (std::uint32_t m = 0; m < members_.size(); ++m) enqueue(m);
  settle(fx);
  return accept();
}

inline std::string Engine::digest() const {
  Sha256 h;
  {
    CanonicalWriter w(h);
    w.str("upline-state-v1");
    w.str(plan_->canonical_json());
    w.i64(clock_);
    w.u64(members_.size());
    for (std::uint32_t m = 0; m < members_.size(); ++m) {
      const MemberRecord& r = members_[m];
      w.i64(r.id);
      w.i64(r.sponsor == no_member ? 0 : members_[r.sponsor].id);
      w.u8(r.tier);
      w.u8(static_cast<std::uint8_t>(r.status));
      w.i64(r.balance);
      w.i64(r.lifetime);
      w.u64(r.orders);
      for (std::uint32_t t = 0; t <= r.tier; ++t) {
        const Matrix& mx = matrices_[t];
        Matrix::Node n = mx.node_of(m);
        Matrix::Node p = mx.parent(n);
        w.u32(n);
        w.i64(p == Matrix::none ? 0 : members_[mx.member_at(p)].id);
        w.u32(mx.position(n));
      }
      auto it = rewards_of_.find(m);
      const std::size_t nr = it == rewards_of_.end() ? 0 : it->second.size();
      w.u32(static_cast<std::uint32_t>(nr));
      for (std::size_t i = 0; i < nr; ++i) w.str(reward_names_[it->second[i]]);
    }
    w.u64(orders_.size());
    for (const OrderRecord& o : orders_) {
      w.str(o.id);
      w.i64(members_[o.member].id);
      w.str(shop_names_[o.shop]);
      w.i64(o.amount);
      w.i64(o.refunded);
      w.i64(o.at);
      w.u32(o.credit_count);
      for (std::uint64_t i = 0; i < o.credit_count; ++i) {
        const CreditRecord& c = credits_[o.credit_begin + i];
        w.i64(members_[c.member].id);
        w.i64(c.points);
      }
    }
    w.u64(redemptions_.size());
    for (const RedeemRecord& r : redemptions_) {
      w.str(r.ref);
      w.i64(members_[r.member].id);
      w.i64(r.points);
      w.i64(r.at);
    }
    w.u64(adjustments_.size());
    for (const AdjustRecord& a : adjustments_) {
      w.i64(members_[a.member].id);
      w.i64(a.points);
      w.str(a.actor);
      w.str(a.reason);
      w.i64(a.at);
    }
    w.u64(plan_changes_.size());
    for (const PlanRecord& p : plan_changes_) {
      w.str(p.actor);
      w.i64(p.at);
    }
  }
  return h.hex_final();
}

}  // namespace upline
