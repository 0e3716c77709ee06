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

  /// The most credits one order records (a purchase makes at most Changes::capacity).
  static constexpr std::uint32_t max_order_credits = 0xFFFF;
  static_assert(Changes::capacity <= max_order_credits);

  /// 48 bytes: ten million orders are half a gigabyte. The id is in the order-id arena
  /// (Ledger::order_id), the credits in the credit table (Ledger::credit).
  struct Order {
    std::uint64_t id_ref;       // the id's offset in the order-id arena << 8 | its length (1..64)
    std::uint32_t member;       // the buyer's member index
    std::uint32_t shop;         // index into shop_names()
    std::int64_t amount;        // money units
    std::int64_t refunded;      // money units, cumulative
    Time at;                    // the purchase's applied time
    std::uint64_t credit_ref;   // its first credit in the credit table << 16 | how many (<= max_order_credits)

    std::uint64_t credit_begin() const noexcept { return credit_ref >> 16; }
    std::uint32_t credit_count() const noexcept { return static_cast<std::uint32_t>(credit_ref & 0xFFFF); }
    static std::uint64_t id_ref_of(std::uint64_t offset, std::size_t length) noexcept { return offset << 8 | length; }
    static std::uint64_t credit_ref_of(std::uint64_t begin, std::size_t count) noexcept { return begin << 16 | count; }
  };
  static_assert(sizeof(Order) == 48, "one order record, 48 bytes: keep it so (docs/PERFORMANCE.md)");
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
    std::string_view operator()(std::uint32_t i) const noexcept { return l->order_id(l->orders_[i]); }
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
  /// An order's id.
  std::string_view order_id(const Order& o) const noexcept {
    return {order_ids_.at(o.id_ref >> 8), static_cast<std::size_t>(o.id_ref & 0xFF)};
  }
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
    *orders_.emplace() = Order{Order::id_ref_of(order_ids_.append(id), id.size()), member, shop, amount, 0, at, Order::credit_ref_of(credits_.size(), credits.size())};
    order_id_bytes_ += id.size();
    order_index_.insert(hash, i);
    const Change* c = credits.begin();
    credits_.append(credits.size(), [&c](Credit* dst, std::size_t n) {
      for (std::size_t k = 0; k < n; ++k, ++c) dst[k] = Credit{c->member, c->points};
    });
  }

  /// Appends an order read back from saved bytes, with its credits (members and points, at most
  /// max_order_credits); the caller has checked them. Its id must not be present yet.
  void restore_order(std::string_view id, std::uint32_t member, std::uint32_t shop, std::int64_t amount, std::int64_t refunded, Time at,
                     const std::vector<Credit>& credits) {
    if (credits.size() > max_order_credits) throw std::length_error("Ledger: an order of more than 65535 credits");
    const auto i = static_cast<std::uint32_t>(orders_.size());
    orders_.push_back(Order{Order::id_ref_of(order_ids_.append(id), id.size()), member, shop, amount, refunded, at, Order::credit_ref_of(credits_.size(), credits.size())});
    order_id_bytes_ += id.size();
    order_index_.insert(id, i);
    for (const Credit& c : credits) credits_.push_back(c);
  }

  // Snapshot format 3 restores the tables in bulk, in this order; the caller checks every value
  // (members, shops, amounts, credit ranges: ledger.hpp trusts them as record_order() made them).
  /// `bytes` bytes for every order id, back to back, for the caller to fill before
  /// restore_orders(); `first` receives the arena offset of the first (Order::id_ref_of).
  char* restore_order_ids(std::size_t bytes, std::uint64_t& first) {
    order_id_bytes_ += bytes;
    return order_ids_.add_block(bytes, first);
  }
  /// Appends `n` orders written by `write(Order* dst, std::size_t count)` in contiguous runs (their
  /// ids in restore_order_ids()'s block, their credits those restore_credits() appends next, in
  /// order); index_orders() must follow before any lookup.
  template <class Write>
  void restore_orders(std::size_t n, Write&& write) {
    orders_.append(n, write);
  }
  /// Indexes the orders restored in bulk by id; false if two share an id. It reads the orders and
  /// writes only the index, so the rest of the ledger may be read meanwhile (a digest).
  bool index_orders() {
    if (order_index_.size() == 0)
      return order_index_.build_unique(orders_.size(), [this](std::size_t i) { return hash_key(order_id(orders_[i])); }, order_key());
    const std::size_t first = order_index_.size(), end = orders_.size();
    order_index_.reserve(end);
    for (std::size_t i = first; i < end; ++i)
      if (!order_index_.insert_unique(order_id(orders_[i]), hash_key(order_id(orders_[i])), static_cast<std::uint32_t>(i), order_key())) return false;
    return true;
  }
  /// Appends `n` credits written by `write(Credit* dst, std::size_t count)` in contiguous runs.
  template <class Write>
  void restore_credits(std::size_t n, Write&& write) {
    credits_.append(n, write);
  }
  /// Calls `f(const Credit* first, std::size_t count)` for the credit table in order, one
  /// contiguous run at a time (bulk writes).
  template <class F>
  void for_each_credit_run(F&& f) const {
    credits_.for_each_run(f);
  }
  /// The bytes of every order id together.
  std::uint64_t order_id_bytes() const noexcept { return order_id_bytes_; }

  /// The credits order `o` produced, in emission order.
  const Credit& credit(const Order& o, std::uint32_t k) const noexcept { return credits_[o.credit_begin() + k]; }
  std::size_t credit_count() const noexcept { return credits_.size(); }
  const Credit& credit_at(std::size_t i) const noexcept { return credits_[i]; }

  /// SPEC §7: the clawbacks of refunding order `o` from `o.refunded` up to `after` (money units):
  /// for every credit c, round(c × after / amount) − round(c × before / amount), in credit order;
  /// nothing for an increment of 0.
  void clawbacks(const Order& o, std::int64_t after, Changes& out) const {
    for (std::uint32_t k = 0, n = o.credit_count(); k < n; ++k) {
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
  std::uint64_t order_id_bytes_ = 0;  // of every order id together
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
