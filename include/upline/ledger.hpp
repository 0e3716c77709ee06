// upline/ledger.hpp — what the engine books (SPEC §6 step 1, §7): accepted orders with the credits
// each produced, refunds' clawbacks, redemptions, adjustments and plan changes.
//
// Every record is kept for the engine's whole life: an order must stay refundable (exactly: its
// credits are recorded so that a refund claws back a proportion of each), and order ids and
// redemption refs are unique forever. Records are kept in acceptance order in append-only tables
// whose records never move (storage.hpp); ids and refs live in arenas behind open-addressing
// indices, so that recording an order allocates nothing per order.
//
// Limits (SPEC §12): at most 2^32-1 orders and 2^32-1 redemptions (32-bit indices).
#pragma once

#include "upline/decimal.hpp"
#include "upline/event.hpp"
#include "upline/members.hpp"
#include "upline/storage.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace upline {

/// round(c × part / whole), half to even, for 0 <= part <= whole, whole > 0, c >= 0: what a refund
/// of `part` of an order of `whole` has clawed back from a credit `c` (SPEC §7).
inline std::int64_t proportion(std::int64_t c, std::int64_t part, std::int64_t whole) {
  const u128 wide = static_cast<u128>(c) * static_cast<u128>(part);
  if ((wide >> 64) == 0) return static_cast<std::int64_t>(round_half_even_u64(static_cast<std::uint64_t>(wide), static_cast<std::uint64_t>(whole)));
  return static_cast<std::int64_t>(round_half_even_u(wide, static_cast<u128>(whole)));  // <= c
}

class Ledger {
 public:
  static constexpr std::uint32_t none = KeyIndex::none;

  struct Order {
    std::string_view id;        // in the order-id arena (stable)
    std::uint32_t member;       // the buyer's member index
    std::uint32_t shop;         // index into shop_names()
    std::int64_t amount;        // money units
    std::int64_t refunded;      // money units, cumulative
    Time at;                    // the purchase's applied time
    std::uint64_t credit_begin; // into the credit table
    std::uint32_t credit_count;
  };
#pragma pack(push, 4)
  struct Credit {  // 12 bytes: a deep plan records ~11 per purchase
    std::uint32_t member;
    std::int64_t points;
  };
#pragma pack(pop)
  static_assert(sizeof(Credit) == 12);
  struct Redemption {
    std::string_view ref;  // in the ref arena (stable)
    std::uint32_t member;
    std::int64_t points;
    Time at;
  };
  struct Adjustment {
    std::uint32_t member;
    std::int64_t points;
    std::string actor;
    std::string reason;
    Time at;
  };
  struct PlanChangeRecord {
    std::string actor;
    Time at;  // applied time
  };

  // The key of the i-th order / redemption, for their KeyIndex.
  struct OrderKey {
    const Ledger* l;
    std::string_view operator()(std::uint32_t i) const noexcept { return l->orders_[i].id; }
  };
  struct RefKey {
    const Ledger* l;
    std::string_view operator()(std::uint32_t i) const noexcept { return l->redemptions_[i].ref; }
  };
  OrderKey order_key() const noexcept { return OrderKey{this}; }
  RefKey ref_key() const noexcept { return RefKey{this}; }

  Ledger() = default;
  // Move-only: records point at their ids in the ledger's own arenas (whose blocks survive a
  // move, not a copy).
  Ledger(Ledger&&) noexcept = default;
  Ledger& operator=(Ledger&&) noexcept = default;
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // ---- orders --------------------------------------------------------------------------------

  std::size_t order_count() const noexcept { return orders_.size(); }
  const Order& order(std::uint32_t i) const noexcept { return orders_[i]; }
  /// The index of the order with this id, or none; `hash` is hash_key(id).
  std::uint32_t find_order(std::string_view id, std::uint64_t hash) const noexcept { return order_index_.find(id, hash, order_key()); }
  std::uint32_t find_order(std::string_view id) const noexcept { return find_order(id, hash_key(id)); }
  /// Starts fetching the index slot a find_order / record_order with this hash will read.
  void prefetch_order(std::uint64_t hash) const noexcept { order_index_.prefetch(hash); }
  bool orders_full() const noexcept { return orders_.size() >= none; }

  /// Records an accepted purchase and the credits it produced (SPEC §6 step 1); `hash` is
  /// hash_key(id). The credits are the purchase's changes, in emission order.
  void record_order(std::string_view id, std::uint64_t hash, std::uint32_t member, std::uint32_t shop, std::int64_t amount, Time at,
                    const Changes& credits) {
    const auto i = static_cast<std::uint32_t>(orders_.size());
    *orders_.emplace() = Order{order_ids_.add(id), member, shop, amount, 0, at, credits_.size(), static_cast<std::uint32_t>(credits.size())};
    order_index_.insert(hash, i);
    const Change* c = credits.begin();
    credits_.append(credits.size(), [&c](Credit* dst, std::size_t n) {
      for (std::size_t k = 0; k < n; ++k, ++c) dst[k] = Credit{c->member, c->points};
    });
  }

  /// Appends an order read back from saved bytes, with its credits (members and points); the
  /// caller has checked them. Its id must not be present yet.
  void restore_order(std::string_view id, std::uint32_t member, std::uint32_t shop, std::int64_t amount, std::int64_t refunded, Time at,
                     const std::vector<Credit>& credits) {
    const auto i = static_cast<std::uint32_t>(orders_.size());
    orders_.push_back(Order{order_ids_.add(id), member, shop, amount, refunded, at, credits_.size(), static_cast<std::uint32_t>(credits.size())});
    order_index_.insert(id, i);
    for (const Credit& c : credits) credits_.push_back(c);
  }

  /// The credits order `o` produced, in emission order.
  const Credit& credit(const Order& o, std::uint32_t k) const noexcept { return credits_[o.credit_begin + k]; }
  std::size_t credit_count() const noexcept { return credits_.size(); }
  const Credit& credit_at(std::size_t i) const noexcept { return credits_[i]; }

  /// SPEC §7: the clawbacks of refunding order `o` from `o.refunded` up to `after` (money units):
  /// for every credit c, round(c × after / amount) − round(c × before / amount), in credit order;
  /// nothing for an increment of 0.
  void clawbacks(const Order& o, std::int64_t after, Changes& out) const {
    for (std::uint32_t k = 0; k < o.credit_count; ++k) {
      const Credit& c = credit(o, k);
      const std::int64_t d = proportion(c.points, after, o.amount) - proportion(c.points, o.refunded, o.amount);
      if (d > 0) out.push(Change{c.member, -d, Kind::clawback, 0, 0});
    }
  }
  void set_refunded(std::uint32_t i, std::int64_t refunded) noexcept { orders_[i].refunded = refunded; }

  /// Shop ids are interned the first time an order names them; indices never change.
  std::uint32_t intern_shop(const std::string& id) {
    auto [it, fresh] = shop_ix_.emplace(id, static_cast<std::uint32_t>(shop_names_.size()));
    if (fresh) shop_names_.push_back(id);
    return it->second;
  }
  const std::vector<std::string>& shop_names() const noexcept { return shop_names_; }
  /// The interned index of `shop`, a shop of `plan` (the plan in force): cached per position in
  /// the plan, so that a purchase hashes no shop id. Call plan_installed() when the plan changes.
  std::uint32_t shop_index(const Plan& plan, const Shop& shop) {
    std::uint32_t& slot = shop_slot_[static_cast<std::size_t>(&shop - plan.shops.data())];
    if (slot == none) slot = intern_shop(shop.id);
    return slot;
  }
  void plan_installed(const Plan& plan) { shop_slot_.assign(plan.shops.size(), none); }

  // ---- redemptions, adjustments, plan changes ------------------------------------------------

  std::size_t redemption_count() const noexcept { return redemptions_.size(); }
  const Redemption& redemption(std::size_t i) const noexcept { return redemptions_[i]; }
  std::uint32_t find_ref(std::string_view ref) const noexcept { return ref_index_.find(ref, ref_key()); }
  bool redemptions_full() const noexcept { return redemptions_.size() >= none; }
  void record_redemption(std::string_view ref, std::uint32_t member, std::int64_t points, Time at) {
    const auto i = static_cast<std::uint32_t>(redemptions_.size());
    redemptions_.push_back(Redemption{ref_ids_.add(ref), member, points, at});
    ref_index_.insert(ref, i);
  }

  const std::vector<Adjustment>& adjustments() const noexcept { return adjustments_; }
  void record_adjustment(Adjustment a) { adjustments_.push_back(std::move(a)); }

  const std::vector<PlanChangeRecord>& plan_changes() const noexcept { return plan_changes_; }
  void record_plan_change(PlanChangeRecord p) { plan_changes_.push_back(std::move(p)); }

  /// Makes room for `n` orders and `credits` credits (optional: only avoids regrowth).
  void reserve_orders(std::size_t n, std::size_t credits) {
    orders_.reserve(n);
    credits_.reserve(credits);
    order_index_.reserve(n);
  }

 private:
  KeyIndex order_index_;  // order id → orders_ index
  StringArena order_ids_;
  chunked_vector<Order> orders_;
  chunked_vector<Credit> credits_;
  std::vector<std::string> shop_names_;
  std::unordered_map<std::string, std::uint32_t> shop_ix_;
  std::vector<std::uint32_t> shop_slot_;  // the plan in force's shop i → shop_names_ index, or none
  KeyIndex ref_index_;  // redemption ref → redemptions_ index
  StringArena ref_ids_;
  std::vector<Redemption> redemptions_;
  std::vector<Adjustment> adjustments_;
  std::vector<PlanChangeRecord> plan_changes_;  // who changed the plan, when (the plan itself is in the state)
};

}  // namespace upline
