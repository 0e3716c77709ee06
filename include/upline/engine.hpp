// upline/engine.hpp — the deterministic state machine of SPEC §1: events in, effects out.
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
// then overflow) while computing what would change; then, past the line marked "commit", change
// the state, which cannot fail. The concepts each handler composes have their own headers:
//
//   matrix.hpp       SPEC §5   placement
//   accrual.hpp      SPEC §6   what a purchase earns
//   propagation.hpp  SPEC §6   who it pays
//   ledger.hpp       SPEC §6–7 orders, credits, refunds' clawbacks, redemptions, adjustments
//   promotion.hpp    SPEC §8   the work list: promotions and rewards
//   state.hpp        SPEC §10  the state, its digest, snapshots and dump
//
// The engine never reads a clock, a random source or the environment, uses no floating point,
// and never iterates a hash container into an output. Thread safety: none — an Engine is used by
// one thread at a time; const queries may run concurrently with each other.
#pragma once

#include "upline/accrual.hpp"
#include "upline/effect.hpp"
#include "upline/event.hpp"
#include "upline/ledger.hpp"
#include "upline/matrix.hpp"
#include "upline/members.hpp"
#include "upline/plan.hpp"
#include "upline/promotion.hpp"
#include "upline/propagation.hpp"
#include "upline/rejection.hpp"
#include "upline/state.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace upline {

/// The outcome of one event in one value: the code, the message of a rejection, the effects of an
/// acceptance. Reused across events, it allocates nothing in steady state.
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
    install(std::make_shared<const Plan>(std::move(plan)));
  }
  /// An engine over a state read back from bytes (state.hpp load_state / decode_state).
  explicit Engine(State state) : s_(std::move(state)) { plan_installed(); }

  // Move-only: the ledger's records point at ids in its own arenas.
  Engine(Engine&&) noexcept = default;
  Engine& operator=(Engine&&) noexcept = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// The one way in. Applies an event, or counts and reports the fault that kept a door's input
  /// from being one. Returns true when accepted; `effects` (cleared first) receives what the host
  /// must book. On rejection returns false, `effects` stays empty and `why` (if given) receives
  /// the code and a message naming the field, the value and the rule.
  bool apply(const Input& in, std::vector<Effect>& effects, Rejection* why = nullptr) {
    effects.clear();
    if (!in.event()) {
      ++s_.rejected;
      if (why) *why = in.fault();
      return false;
    }
    std::optional<Rejection> r = std::visit([&](const auto& e) { return handle(e, effects); }, *in.event());
    if (r) {
      effects.clear();
      ++s_.rejected;
      if (why) *why = std::move(*r);
      return false;
    }
    ++s_.applied;
    return true;
  }
  bool apply(const Event& event, std::vector<Effect>& effects, Rejection* why = nullptr) { return apply(Input(event), effects, why); }

  /// Applies `events` in order, exactly as one apply() call each would (the same outcomes,
  /// effects and state), handing each outcome to `report(std::size_t i, const Outcome&)` before
  /// the next event. What it adds is overlap: while it works on event i it fetches the index slots
  /// of event i+2 and the records of event i+1 (prefetch(), prefetch_records()), so that their
  /// cache misses do not queue behind one another.
  template <class Report>
  void apply_all(const Event* events, std::size_t count, Outcome& out, Report&& report) {
    for (std::size_t i = 0; i < count; ++i) {
      if (i + 2 < count) prefetch(events[i + 2]);
      if (i + 1 < count) prefetch_records(events[i + 1]);
      apply(Input(events[i]), out);
      report(i, static_cast<const Outcome&>(out));
    }
  }

  /// A hint from a host that knows what comes next: starts fetching the index slots applying `e`
  /// will read (its member's and its order's). It changes nothing and is never required.
  void prefetch(const Event& e) const noexcept {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, Purchase>) {
            s_.members.prefetch(x.member);
            s_.ledger.prefetch_order(hash_key(x.order));
          } else if constexpr (std::is_same_v<T, Join>) {
            s_.members.prefetch(x.member);
            if (x.sponsor) s_.members.prefetch(*x.sponsor);
          } else if constexpr (std::is_same_v<T, Refund>) {
            s_.ledger.prefetch_order(hash_key(x.order));
          } else if constexpr (!std::is_same_v<T, PlanChange>) {
            s_.members.prefetch(x.member);
          }
        },
        e);
  }
  /// A second hint, after prefetch(e) had time to bring the slots in: the records they lead to
  /// (a buyer's record and its upline in tier 0).
  void prefetch_records(const Event& e) const noexcept {
    if (const auto* p = std::get_if<Purchase>(&e)) {
      const std::uint32_t m = s_.members.find(p->member);
      if (m != no_member) prefetch_credits(s_, m);
    }
  }

  /// Applies one event into a reused Outcome.
  bool apply(const Input& in, Outcome& out) {
    Rejection why;
    if (apply(in, out.effects, &why)) {
      out.code = Code::ok;
      out.message.clear();
      return true;
    }
    out.code = why.code;
    out.message = std::move(why.message);
    return false;
  }
  /// Applies one event and returns everything in one value.
  Outcome apply(const Event& event) {
    Outcome o;
    apply(Input(event), o);
    return o;
  }

  // ---- queries -------------------------------------------------------------------------------

  const State& state() const noexcept { return s_; }
  const Plan& plan() const noexcept { return *s_.plan; }
  std::shared_ptr<const Plan> plan_ptr() const noexcept { return s_.plan; }
  /// The engine clock: the largest `at` of the accepted events (0 before any).
  Time clock() const noexcept { return s_.clock; }
  std::uint64_t applied() const noexcept { return s_.applied; }
  std::uint64_t rejected() const noexcept { return s_.rejected; }
  std::size_t member_count() const noexcept { return s_.members.size(); }
  std::size_t order_count() const noexcept { return s_.ledger.order_count(); }

  bool has_member(MemberId id) const noexcept { return s_.members.find(id) != no_member; }

  /// A member's whole state, or nullopt if unknown.
  std::optional<MemberView> member(MemberId id) const {
    const std::uint32_t m = s_.members.find(id);
    if (m == no_member) return std::nullopt;
    return member_view(s_, m);
  }

  /// A member's current tier index, or nullopt if unknown (cheaper than member()).
  std::optional<std::uint32_t> tier_of(MemberId id) const noexcept {
    const std::uint32_t m = s_.members.find(id);
    if (m == no_member) return std::nullopt;
    return s_.members[m].tier;
  }

  /// Member ids in join order.
  std::vector<MemberId> member_ids() const {
    std::vector<MemberId> ids;
    ids.reserve(s_.members.size());
    for (std::uint32_t m = 0; m < s_.members.size(); ++m) ids.push_back(s_.members[m].id);
    return ids;
  }

  /// The record of the i-th member to join (0-based), for bulk reads.
  const MemberRecord& record_at(std::size_t i) const noexcept { return s_.members[static_cast<std::uint32_t>(i)]; }

  /// A member's ancestors in tier `tier`'s matrix, nearest first, at most `max_levels` of them.
  /// Empty if the member is unknown or has no node in that matrix.
  std::vector<MemberId> upline(MemberId id, std::uint32_t tier, std::size_t max_levels = SIZE_MAX) const {
    std::vector<MemberId> out;
    const std::uint32_t m = s_.members.find(id);
    if (m == no_member || tier >= s_.matrices.size()) return out;
    const Matrix& mx = s_.matrices[tier];
    const Matrix::Node n = mx.node_of(m);
    if (n == Matrix::none) return out;
    for (Matrix::Node a = mx.parent(n); a != Matrix::none && out.size() < max_levels; a = mx.parent(a)) out.push_back(s_.members[mx.member_at(a)].id);
    return out;
  }

  /// How many members sit below `id` in tier `tier`'s matrix (nullopt: no node there).
  std::optional<std::uint64_t> below(MemberId id, std::uint32_t tier) const {
    const std::uint32_t m = s_.members.find(id);
    if (m == no_member || tier >= s_.matrices.size()) return std::nullopt;
    const Matrix::Node n = s_.matrices[tier].node_of(m);
    if (n == Matrix::none) return std::nullopt;
    return s_.matrices[tier].below(n);
  }

  /// Tier `tier`'s matrix (tier < plan().tiers.size()), for bulk reads of the tree.
  const Matrix& matrix(std::uint32_t tier) const noexcept { return s_.matrices[tier]; }

  /// Makes room for `members` members without reallocating the member tables (optional).
  void reserve_members(std::size_t members) { s_.members.reserve(members); }
  /// Makes room for `orders` orders and `credits` credits (optional).
  void reserve_orders(std::size_t orders, std::size_t credits) { s_.ledger.reserve_orders(orders, credits); }

  /// Members per tier (by current tier), indexed like plan().tiers.
  std::vector<std::uint64_t> census() const { return s_.members.census(); }

  /// The current plan's benefits for a member's tier, or nullptr if the member is unknown.
  const std::map<std::string, std::string>* benefits(MemberId id) const noexcept {
    const std::uint32_t m = s_.members.find(id);
    if (m == no_member) return nullptr;
    return &s_.plan->tiers[s_.members[m].tier].benefits;
  }

  /// The order with this id, or nullopt.
  std::optional<OrderView> order(std::string_view id) const {
    const std::uint32_t i = s_.ledger.find_order(id);
    if (i == Ledger::none) return std::nullopt;
    const Ledger::Order& o = s_.ledger.order(i);
    return OrderView{std::string(s_.ledger.order_id(o)), s_.members[o.member].id, s_.ledger.shop_names()[o.shop], Money{o.amount}, Money{o.refunded}, o.at};
  }

  const std::string& tier_name(std::uint32_t t) const noexcept { return s_.plan->tiers[t].name; }
  /// Reward ids are interned the first time a plan names them; indices never change.
  const std::string& reward_name(std::uint32_t r) const noexcept { return s_.members.reward_names()[r]; }
  const std::vector<std::string>& reward_names() const noexcept { return s_.members.reward_names(); }
  /// How many reward ids have been interned (valid indices for reward_name).
  std::size_t reward_count() const noexcept { return s_.members.reward_names().size(); }
  /// The index of the i-th reward granted to a member (grant order), or nullopt.
  std::optional<std::uint32_t> reward_index(MemberId id, std::size_t i) const {
    const std::uint32_t m = s_.members.find(id);
    if (m == no_member) return std::nullopt;
    const auto& have = s_.members.rewards(m);
    if (i >= have.size()) return std::nullopt;
    return have[i];
  }

  /// SHA-256 of the canonical state (docs/DIGEST.md), as 64 hex digits.
  std::string digest() const { return upline::digest(s_); }

  /// The whole state as bytes (a snapshot's payload: state.hpp save_state).
  std::string save_state() const { return upline::save_state(s_); }
  /// An engine from save_state() bytes; throws FormatError naming the fault. Its digest equals
  /// the saved engine's.
  static Engine load_state(std::string_view bytes) { return Engine(upline::load_state(bytes)); }

 private:
  // Puts a plan in force and derives the tables the handlers use from it.
  void install(std::shared_ptr<const Plan> p) {
    s_.install(std::move(p));
    plan_installed();
  }
  void plan_installed() {
    accrual_.build(*s_.plan);
    credit_factors_.build(*s_.plan);
    work_.plan_installed(*s_.plan);
  }

  Time applied_time(Time at) const noexcept { return std::max(s_.clock, at); }
  void advance_clock(Time at) noexcept { s_.clock = std::max(s_.clock, at); }

  // Converts an amount at `scale`; a rejection (invalid_amount) names the field and the rule.
  static std::optional<Rejection> to_units(std::string_view field, const Decimal& d, int scale, std::string_view scale_name, std::int64_t& out) {
    const Decimal::Fit fit = d.to_units(scale, out);
    if (fit == Decimal::Fit::ok) return std::nullopt;
    return Rejection{Code::invalid_amount, d.fit_message(fit, field, scale_name, scale)};
  }

  std::optional<Rejection> handle(const Join& e, std::vector<Effect>& fx);
  std::optional<Rejection> handle(const Purchase& e, std::vector<Effect>& fx);
  std::optional<Rejection> handle(const Refund& e, std::vector<Effect>& fx);
  std::optional<Rejection> handle(const Redeem& e, std::vector<Effect>& fx);
  std::optional<Rejection> handle(const Adjust& e, std::vector<Effect>& fx);
  std::optional<Rejection> handle(const Suspend& e, std::vector<Effect>& fx);
  std::optional<Rejection> handle(const Reactivate& e, std::vector<Effect>& fx);
  std::optional<Rejection> handle(const PlanChange& e, std::vector<Effect>& fx);

  State s_;
  Promotion work_;
  AccrualTable accrual_;          // derived from the plan in force
  CreditFactors credit_factors_;  // derived from the plan in force
  Changes changes_;               // scratch, reused across events
};

// ---- handlers: check everything, then commit --------------------------------------------------------

inline std::optional<Rejection> Engine::handle(const Join& e, std::vector<Effect>& fx) {
  if (auto r = reject::check_id("member", e.member)) return r;
  if (e.sponsor)
    if (auto r = reject::check_id("sponsor", *e.sponsor)) return r;
  if (auto r = reject::check_time(e.at)) return r;
  Members& members = s_.members;
  if (members.find(e.member) != no_member) return reject::member_exists(e.member);
  std::uint32_t sponsor = no_member;
  if (!e.sponsor) {
    if (!members.empty()) return reject::sponsor_required();
  } else {
    sponsor = members.find(*e.sponsor);
    if (sponsor == no_member) return reject::unknown_sponsor(*e.sponsor);
  }
  if (members.size() >= no_member - 1) return reject::too_many_members();

  // Commit.
  advance_clock(e.at);
  const std::uint32_t m = members.add(e.member, sponsor);
  const Matrix::Node n = place(s_.matrices, members, m, 0, fx);
  work_.enqueue(members, m);
  if (sponsor != no_member) work_.enqueue(members, sponsor);
  work_.enqueue_ancestors(s_, 0, n);
  work_.settle(s_, fx);
  return std::nullopt;
}

inline std::optional<Rejection> Engine::handle(const Purchase& e, std::vector<Effect>& fx) {
  if (auto r = reject::check_key("order", e.order)) return r;
  if (auto r = reject::check_id("member", e.member)) return r;
  if (auto r = reject::check_time(e.at)) return r;
  Ledger& ledger = s_.ledger;
  const std::uint64_t order_hash = hash_key(e.order);  // for the duplicate check and the insert
  ledger.prefetch_order(order_hash);
  Members& members = s_.members;
  const std::uint32_t m = members.find(e.member);
  if (m != no_member) prefetch_credits(s_, m);  // overlaps the misses with what follows
  if (ledger.find_order(e.order, order_hash) != Ledger::none) return reject::duplicate_order(e.order);
  if (m == no_member) return reject::unknown_member(e.member);
  const Plan& plan = *s_.plan;
  const Shop* shop = plan.find_shop(e.shop);
  if (!shop) return reject::unknown_shop(e.shop);
  std::int64_t amount = 0;
  if (auto r = to_units("amount", e.amount, plan.money_scale, "money_scale", amount)) return r;
  if (amount <= 0) return reject::not_positive("amount", e.amount.text());

  const MemberRecord& buyer = members[m];
  const std::size_t shop_index = static_cast<std::size_t>(shop - plan.shops.data());
  const std::optional<std::int64_t> points = accrual_.points(plan, shop_index, buyer.orders, buyer.tier, amount);
  if (!points) return reject::points_overflow(e.amount.text());
  if (ledger.orders_full()) return reject::too_many_orders();
  if (buyer.orders == std::numeric_limits<std::uint32_t>::max()) return reject::too_many_purchases(e.member);
  changes_.clear();
  if (*points > 0) {
    std::uint64_t total = 0;
    bool total_overflowed = false;
    if (auto r = stage_credits(s_, credit_factors_, m, *points, changes_, total, total_overflowed)) return r;
    if (auto r = members.fits_credits(changes_, total, total_overflowed)) return r;
  }

  // Commit.
  advance_clock(e.at);
  ledger.record_order(e.order, order_hash, m, ledger.shop_index(plan, *shop), amount, applied_time(e.at), changes_);
  ++members[m].orders;
  members.apply(changes_, fx, [&](std::uint32_t credited) { work_.enqueue_credited(members, credited); });
  work_.settle(s_, fx);
  return std::nullopt;
}

inline std::optional<Rejection> Engine::handle(const Refund& e, std::vector<Effect>& fx) {
  if (auto r = reject::check_key("order", e.order)) return r;
  if (auto r = reject::check_time(e.at)) return r;
  Ledger& ledger = s_.ledger;
  const std::uint32_t found = ledger.find_order(e.order);
  if (found == Ledger::none) return reject::unknown_order(e.order);
  const Ledger::Order& o = ledger.order(found);
  const Plan& plan = *s_.plan;
  const std::int64_t left = o.amount - o.refunded;
  std::int64_t amount = left;  // the rest
  if (e.amount) {
    if (auto r = to_units("amount", *e.amount, plan.money_scale, "money_scale", amount)) return r;
    if (amount <= 0) return reject::not_positive("amount", e.amount->text());
  }
  if (amount == 0) return reject::fully_refunded(e.order);
  if (amount > left) return reject::refund_exceeds(format_units(amount, plan.money_scale), e.order, format_units(left, plan.money_scale));
  const Time at = applied_time(e.at);
  if (plan.refund_window_days) {
    const i128 closes = static_cast<i128>(o.at) + static_cast<i128>(*plan.refund_window_days) * day_ms;
    if (static_cast<i128>(at) > closes) return reject::refund_window_closed(e.order, o.at, *plan.refund_window_days, at);
  }
  const std::int64_t after = o.refunded + amount;
  changes_.clear();
  ledger.clawbacks(o, after, changes_);
  if (auto r = s_.members.fits(changes_)) return r;

  // Commit.
  advance_clock(e.at);
  ledger.set_refunded(found, after);
  s_.members.apply(changes_, fx);
  return std::nullopt;
}

inline std::optional<Rejection> Engine::handle(const Redeem& e, std::vector<Effect>& fx) {
  if (auto r = reject::check_id("member", e.member)) return r;
  if (auto r = reject::check_key("ref", e.ref)) return r;
  if (auto r = reject::check_time(e.at)) return r;
  Ledger& ledger = s_.ledger;
  if (ledger.find_ref(e.ref) != Ledger::none) return reject::duplicate_ref(e.ref);
  Members& members = s_.members;
  const std::uint32_t m = members.find(e.member);
  if (m == no_member) return reject::unknown_member(e.member);
  const int ps = s_.plan->points_scale;
  std::int64_t points = 0;
  if (auto r = to_units("points", e.points, ps, "points_scale", points)) return r;
  if (points <= 0) return reject::not_positive("points", e.points.text());
  if (points > members[m].balance) return reject::insufficient_points(format_units(points, ps), e.member, format_units(members[m].balance, ps));
  if (ledger.redemptions_full()) return reject::too_many_redemptions();

  // Commit.
  advance_clock(e.at);
  members.redeem(m, points);
  ledger.record_redemption(e.ref, m, points, applied_time(e.at));
  fx.push_back(Effect::debit(e.member, points, Kind::redeem));
  return std::nullopt;
}

inline std::optional<Rejection> Engine::handle(const Adjust& e, std::vector<Effect>& fx) {
  if (auto r = reject::check_id("member", e.member)) return r;
  if (auto r = reject::check_text("actor", e.actor)) return r;
  if (auto r = reject::check_text("reason", e.reason)) return r;
  if (auto r = reject::check_time(e.at)) return r;
  Members& members = s_.members;
  const std::uint32_t m = members.find(e.member);
  if (m == no_member) return reject::unknown_member(e.member);
  std::int64_t points = 0;
  if (auto r = to_units("points", e.points, s_.plan->points_scale, "points_scale", points)) return r;
  if (points == 0) return reject::zero("points", e.points.text());
  if (points == std::numeric_limits<std::int64_t>::min()) return reject::debit_overflow(e.points.text());
  changes_.clear();
  changes_.push(Change{m, points, Kind::adjust, 0, 0});
  if (auto r = members.fits(changes_)) return r;

  // Commit.
  advance_clock(e.at);
  s_.ledger.record_adjustment(Ledger::Adjustment{m, points, e.actor, e.reason, applied_time(e.at)});
  members.apply(changes_, fx);
  if (points > 0) {
    work_.enqueue(members, m);
    work_.settle(s_, fx);
  }
  return std::nullopt;
}

inline std::optional<Rejection> Engine::handle(const Suspend& e, std::vector<Effect>&) {
  if (auto r = reject::check_id("member", e.member)) return r;
  if (auto r = reject::check_time(e.at)) return r;
  const std::uint32_t m = s_.members.find(e.member);
  if (m == no_member) return reject::unknown_member(e.member);

  // Commit.
  advance_clock(e.at);
  s_.members[m].status = Status::suspended;
  return std::nullopt;
}

inline std::optional<Rejection> Engine::handle(const Reactivate& e, std::vector<Effect>& fx) {
  if (auto r = reject::check_id("member", e.member)) return r;
  if (auto r = reject::check_time(e.at)) return r;
  const std::uint32_t m = s_.members.find(e.member);
  if (m == no_member) return reject::unknown_member(e.member);

  // Commit.
  advance_clock(e.at);
  if (s_.members[m].status == Status::suspended) {
    s_.members[m].status = Status::active;
    work_.enqueue(s_.members, m);
    work_.settle(s_, fx);
  }
  return std::nullopt;
}

inline std::optional<Rejection> Engine::handle(const PlanChange& e, std::vector<Effect>& fx) {
  // Structure in field order (plan, actor, at), then the plan's own faults, then compatibility.
  if (!e.plan && e.plan_fault.empty()) return reject::required("plan");
  if (auto r = reject::check_text("actor", e.actor)) return r;
  if (auto r = reject::check_time(e.at)) return r;
  if (!e.plan) return Rejection{Code::invalid_plan, e.plan_fault};
  PlanFaults f = e.plan->validate();
  if (!f.ok()) return Rejection{Code::invalid_plan, f.message()};
  std::string why = plan_incompatibility(*s_.plan, *e.plan);
  if (!why.empty()) return Rejection{Code::incompatible_plan, std::move(why)};

  // Commit.
  advance_clock(e.at);
  s_.ledger.record_plan_change(Ledger::PlanChangeRecord{e.actor, applied_time(e.at)});
  install(e.plan);
  for (std::uint32_t m = 0; m < s_.members.size(); ++m) work_.enqueue(s_.members, m);
  work_.settle(s_, fx);
  return std::nullopt;
}

}  // namespace upline
