// state_codec.cpp — Engine::save_state / Engine::load_state: the whole engine as bytes.
//
// The bytes are a snapshot's payload (docs/DURABILITY.md). Loading checks every index and count
// against what was already read, so malformed bytes give a FormatError, never undefined
// behaviour; the snapshot file's CRC32C and digest are checked by the store around this.
#include "upline/bytes.hpp"
#include "upline/engine.hpp"

namespace upline {

namespace {
constexpr std::string_view state_tag = "upline-state-bytes-v1";
}

class StateCodec {
  static std::size_t members_count(const Engine& e) { return e.members_.size(); }

 public:
  static std::string save(const Engine& e) {
    std::string out;
    ByteWriter w(out);
    w.str(state_tag);
    w.str(e.plan_->canonical_json());
    w.i64(e.clock_);
    w.u64(e.applied_);
    w.u64(e.rejected_);
    w.u32(static_cast<std::uint32_t>(e.reward_names_.size()));
    for (const auto& r : e.reward_names_) w.str(r);
    w.u32(static_cast<std::uint32_t>(e.shop_names_.size()));
    for (const auto& s : e.shop_names_) w.str(s);
    w.u64(e.members_.size());
    for (const MemberRecord& m : e.members_) {
      w.i64(m.id);
      w.i64(m.balance);
      w.i64(m.lifetime);
      w.u64(m.orders);
      w.u32(m.sponsor);
      w.u32(m.referrals);
      w.u8(m.tier);
      w.u8(static_cast<std::uint8_t>(m.status));
    }
    w.u32(static_cast<std::uint32_t>(e.matrices_.size()));
    for (const Matrix& mx : e.matrices_) {
      w.u64(mx.size());
      for (Matrix::Node n = 0; n < mx.size(); ++n) {
        w.u32(mx.member_at(n));
        w.u32(mx.parent(n));
        w.u32(mx.position(n));
      }
    }
    for (std::uint32_t m = 0; m < e.members_.size(); ++m) {
      auto it = e.rewards_of_.find(m);
      const std::size_t n = it == e.rewards_of_.end() ? 0 : it->second.size();
      w.u32(static_cast<std::uint32_t>(n));
      for (std::size_t i = 0; i < n; ++i) w.u32(it->second[i]);
    }
    w.u64(e.orders_.size());
    for (const auto& o : e.orders_) {
      w.str(o.id);
      w.u32(o.member);
      w.u32(o.shop);
      w.i64(o.amount);
      w.i64(o.refunded);
      w.i64(o.at);
      w.u64(o.credit_begin);
      w.u32(o.credit_count);
    }
    w.u64(e.credits_.size());
    for (const auto& c : e.credits_) {
      w.u32(c.member);
      w.i64(c.points);
    }
    w.u64(e.redemptions_.size());
    for (const auto& r : e.redemptions_) {
      w.str(r.ref);
      w.u32(r.member);
      w.i64(r.points);
      w.i64(r.at);
    }
    w.u64(e.adjustments_.size());
    for (const auto& a : e.adjustments_) {
      w.u32(a.member);
      w.i64(a.points);
      w.str(a.actor);
      w.str(a.reason);
      w.i64(a.at);
    }
    w.u64(e.plan_changes_.size());
    for (const auto& p : e.plan_changes_) {
      w.str(p.actor);
      w.i64(p.at);
    }
    return out;
  }

  static Engine load(std::string_view bytes) {
    ByteReader r(bytes);
    if (r.str(64) != state_tag) r.fail("the tag \"" + std::string(state_tag) + "\"");
    const std::string plan_text = r.str();
    PlanFaults faults;
    auto plan = Plan::parse(plan_text, faults);
    if (!plan) r.fail("a valid plan (" + faults.message() + ")");

    Engine e;
    e.clock_ = r.i64();
    e.applied_ = r.u64();
    e.rejected_ = r.u64();
    const std::uint32_t rewards = r.u32();
    for (std::uint32_t i = 0; i < rewards; ++i) {
      std::string name = r.str(64);
      if (!e.reward_ix_.emplace(name, i).second) r.fail("distinct reward ids");
      e.reward_names_.push_back(std::move(name));
    }
    const std::uint32_t shops = r.u32();
    for (std::uint32_t i = 0; i < shops; ++i) {
      std::string name = r.str(64);
      if (!e.shop_ix_.emplace(name, i).second) r.fail("distinct shop ids");
      e.shop_names_.push_back(std::move(name));
    }
    e.install_plan(std::make_shared<const Plan>(std::move(*plan)));
    if (e.reward_names_.size() != rewards) r.fail("every reward of the plan among the saved reward ids");

    const std::uint64_t members = r.u64();
    if (members > r.left() / 42 || members >= no_member) r.fail("a member count that fits the snapshot");
    e.members_.reserve(members);
    for (std::uint64_t i = 0; i < members; ++i) {
      MemberRecord m;
      m.id = r.i64();
      m.balance = r.i64();
      m.lifetime = r.i64();
      const std::uint64_t orders = r.u64();
      if (orders > std::numeric_limits<std::uint32_t>::max()) r.fail("an order count below 2^32");
      m.orders = static_cast<std::uint32_t>(orders);
      m.sponsor = r.u32();
      m.referrals = r.u32();
      m.tier = r.u8();
      const std::uint8_t status = r.u8();
      if (m.id < 1 || e.index_.find(m.id) != no_member) r.fail("a new member id >= 1");
      if (i == 0 ? m.sponsor != no_member : m.sponsor >= i) r.fail("a sponsor who joined earlier");
      if (m.tier >= e.plan_->tiers.size()) r.fail("a tier of the plan");
      if (status > 1) r.fail("a status 0 or 1");
      m.status = static_cast<Status>(status);
      e.index_.insert(m.id, static_cast<std::uint32_t>(i));
      e.members_.push_back(m);
      e.bound_values(m);
      ++e.census_[m.tier];
      if (m.sponsor != no_member && m.tier > 0) ++e.referrals_by_tier_[Engine::referral_key(m.sponsor, m.tier)];
    }
    std::vector<std::uint32_t> referrals(members_count(e), 0);
    for (const MemberRecord& m : e.members_)
      if (m.sponsor != no_member) ++referrals[m.sponsor];
    for (std::size_t i = 0; i < e.members_.size(); ++i)
      if (referrals[i] != e.members_[i].referrals) r.fail("member " + std::to_string(e.members_[i].id) + "'s referral count to match its sponsees");
    const std::uint32_t matrices = r.u32();
    if (matrices != e.matrices_.size()) r.fail(std::to_string(e.matrices_.size()) + " matrices");
    for (Matrix& mx : e.matrices_) {
      const std::uint64_t nodes = r.u64();
      if (nodes > members) r.fail("at most one node per member");
      for (std::uint64_t n = 0; n < nodes; ++n) {
        const std::uint32_t m = r.u32(), parent = r.u32(), position = r.u32();
        if (m >= members || mx.node_of(m) != Matrix::none || !mx.restore(m, parent, position))
          r.fail("node " + std::to_string(n) + " at a valid place");
      }
    }
    for (std::uint32_t m = 0; m < members; ++m) {
      for (std::uint32_t t = 0; t < e.matrices_.size(); ++t)
        if ((e.matrices_[t].node_of(m) != Matrix::none) != (t <= e.members_[m].tier))
          r.fail("member " + std::to_string(e.members_[m].id) + " to have a node in exactly the tiers up to its own");
      const std::uint32_t n = r.u32();
      if (n > rewards) r.fail("at most one grant of each reward");
      for (std::uint32_t i = 0; i < n; ++i) {
        const std::uint32_t rw = r.u32();
        if (rw >= rewards) r.fail("a known reward");
        e.rewards_of_[m].push_back(rw);
      }
    }
    const std::uint64_t orders = r.u64();
    if (orders > r.left() / 48) r.fail("an order count that fits the snapshot");
    if (orders >= KeyIndex::none) r.fail("an order count below 2^32-1");
    e.orders_.reserve(orders);
    e.order_index_.reserve(orders, e.order_key());
    std::vector<std::pair<std::uint64_t, std::uint32_t>> ranges;
    for (std::uint64_t i = 0; i < orders; ++i) {
      const std::string id = r.str(64);
      if (id.empty() || e.find_order(id) != KeyIndex::none) r.fail("distinct order ids of 1..64 bytes");
      Engine::OrderRecord o{e.order_ids_.add(id), r.u32(), r.u32(), r.i64(), r.i64(), r.i64(), r.u64(), r.u32()};
      if (o.member >= members || o.shop >= shops || o.amount <= 0 || o.refunded < 0 || o.refunded > o.amount)
        r.fail("order \"" + id + "\" with a known member and shop and 0 <= refunded <= amount");
      ranges.emplace_back(o.credit_begin, o.credit_count);
      e.orders_.push_back(o);
      e.order_index_.insert(id, static_cast<std::uint32_t>(i), e.order_key());
    }
    const std::uint64_t credits = r.u64();
    if (credits > r.left() / 12) r.fail("a credit count that fits the snapshot");
    e.credits_.reserve(credits);
    for (std::uint64_t i = 0; i < credits; ++i) {
      Engine::CreditRecord c{r.u32(), r.i64()};
      if (c.member >= members || c.points <= 0) r.fail("a credit to a known member");
      e.credits_.push_back(c);
    }
    for (const auto& [begin, count] : ranges)
      if (begin > credits || count > credits - begin) r.fail("order credits inside the credit table");
    const std::uint64_t redemptions = r.u64();
    if (redemptions >= KeyIndex::none) r.fail("a redemption count below 2^32-1");
    for (std::uint64_t i = 0; i < redemptions; ++i) {
      const std::string ref = r.str(64);
      if (ref.empty() || e.find_ref(ref) != KeyIndex::none) r.fail("distinct redemption refs of 1..64 bytes");
      Engine::RedeemRecord rr{e.ref_ids_.add(ref), r.u32(), r.i64(), r.i64()};
      if (rr.member >= members) r.fail("a redemption by a known member");
      e.redemptions_.push_back(rr);
      e.ref_index_.insert(ref, static_cast<std::uint32_t>(i), e.ref_key());
    }
    const std::uint64_t adjustments = r.u64();
    for (std::uint64_t i = 0; i < adjustments; ++i) {
      Engine::AdjustRecord a;
      a.member = r.u32();
      a.points = r.i64();
      a.actor = r.str();
      a.reason = r.str();
      a.at = r.i64();
      if (a.member >= members) r.fail("an adjustment of a known member");
      e.adjustments_.push_back(std::move(a));
    }
    const std::uint64_t plan_changes = r.u64();
    for (std::uint64_t i = 0; i < plan_changes; ++i) {
      Engine::PlanRecord p;
      p.actor = r.str();
      p.at = r.i64();
      e.plan_changes_.push_back(std::move(p));
    }
    if (r.left() != 0) r.fail("the end of the state (" + std::to_string(r.left()) + " bytes more)");
    return e;
  }
};

std::string Engine::save_state() const { return StateCodec::save(*this); }

Engine Engine::load_state(std::string_view bytes) { return StateCodec::load(bytes); }

}  // namespace upline
