// simulation.cpp — the seeded shop of `upline demo`.
#include "tools/simulation.hpp"

namespace upline {

namespace {

// Member ids are spread over a wide range (as a shop's database ids would be) but are a pure
// function of the join number, so the stream needs no id table.
MemberId member_id(std::uint64_t n) noexcept { return static_cast<MemberId>(1000 + n * 7); }
std::string order_id(std::uint64_t n) { return "o-" + std::to_string(n); }

}  // namespace

Event Simulation::next(const Engine& engine) {
  const Time at = o_.start + static_cast<Time>(emitted_++) * o_.step;

  // Joins are interleaved so that member k joins before purchase k × purchases / members.
  const bool join_due = joined_ < o_.members &&
                        (purchased_ >= o_.purchases || joined_ == 0 ||
                         static_cast<u128>(joined_) * o_.purchases <= static_cast<u128>(purchased_) * o_.members);
  if (join_due) {
    const std::uint64_t n = joined_++;
    if (n == 0) return Join{member_id(0), std::nullopt, at};
    // Bias toward early members: index = n × u³ for u uniform in [0, 1).
    const std::uint64_t u = rng_.below(1 << 20);
    const std::uint64_t k = static_cast<std::uint64_t>((static_cast<u128>(n) * u * u * u) >> 60);
    return Join{member_id(n), member_id(k), at};
  }

  // A pending refund comes due about 1,000 events after its purchase.
  if (!pending_.empty() && (purchased_ >= o_.purchases || pending_.front() + 1000 <= purchased_)) {
    const std::uint64_t order = pending_.front();
    pending_.erase(pending_.begin());
    Refund r{order_id(order), std::nullopt, at};
    const int ms = engine.plan().money_scale;
    if (rng_.chance(1, 3)) r.amount = Decimal::from_units(pow10(ms), ms);  // a partial refund of 1 money unit
    return r;
  }

  if (purchased_ < o_.purchases && redeemed_ * 1000 < purchased_ * o_.redeem_per_mille && joined_ > 0) {
    const MemberId m = member_id(rng_.below(joined_));
    ++redeemed_;
    const std::int64_t balance = engine.member(m)->balance.units;
    const std::int64_t points = balance >= 10 ? balance / 10 : 1;  // 1 unit against a tiny balance: rejected, as a shop would see
    return Redeem{m, Decimal::from_units(points, engine.plan().points_scale), "r-" + std::to_string(redeemed_), at};
  }

  const std::uint64_t n = purchased_++;
  if (rng_.chance(o_.refund_per_mille, 1000)) pending_.push_back(n);
  const MemberId buyer = member_id(rng_.below(joined_));
  const bool outlet = rng_.chance(1, 5);
  // Heavy-tailed basket: 10.00 .. 99.99, and one in eight is 2–9 times larger.
  std::int64_t cents = 1000 + static_cast<std::int64_t>(rng_.below(9000));
  if (rng_.chance(1, 8)) cents *= 2 + static_cast<std::int64_t>(rng_.below(8));
  const int ms = engine.plan().money_scale;
  const std::int64_t units = ms >= 2 ? cents * pow10(ms - 2) : cents / pow10(2 - ms) + 1;
  return Purchase{order_id(n), buyer, outlet ? "outlet" : "main", Decimal::from_units(units, ms), at};
}

}  // namespace upline
