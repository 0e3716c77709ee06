// workload.cpp — the seeded event stream of `upline generate` and the benchmarks.
//
// The order of the draws from the Rng is part of the output: changing it changes every stream
// (and the golden files of tests/test_workload.cpp and tests/cli/generate.cmake).
#include "tools/workload.hpp"

#include <limits>
#include <stdexcept>

namespace upline {

namespace {

// exp(k) × 2^32 for k = -5 .. 4, and exp(j/64) × 2^32 for j = 0 .. 63, rounded to the nearest
// integer (computed with 60-digit decimal arithmetic).
constexpr std::uint64_t exp_int_q32[10] = {28939262ull,    78665070ull,    213833830ull,   581260615ull,
                                           1580030169ull,  4294967296ull,  11674931555ull, 31735754293ull,
                                           86266724208ull, 234497268814ull};
constexpr std::uint64_t exp_frac_q32[64] = {
    4294967296ull,  4362603189ull,  4431304193ull,  4501087080ull,  4571968888ull,  4643966922ull,
    4717098759ull,  4791382256ull,  4866835547ull,  4943477055ull,  5021325491ull,  5100399862ull,
    5180719473ull,  5262303933ull,  5345173162ull,  5429347391ull,  5514847172ull,  5601693378ull,
    5689907213ull,  5779510214ull,  5870524256ull,  5962971562ull,  6056874700ull,  6152256598ull,
    6249140542ull,  6347550186ull,  6447509556ull,  6549043058ull,  6652175480ull,  6756932001ull,
    6863338197ull,  6971420047ull,  7081203938ull,  7192716674ull,  7305985480ull,  7421038010ull,
    7537902354ull,  7656607044ull,  7777181060ull,  7899653841ull,  8024055288ull,  8150415772ull,
    8278766145ull,  8409137742ull,  8541562392ull,  8676072428ull,  8812700688ull,  8951480530ull,
    9092445837ull,  9235631024ull,  9381071050ull,  9528801423ull,  9678858211ull,  9831278050ull,
    9986098152ull,  10143356315ull, 10303090935ull, 10465341008ull, 10630146149ull, 10797546593ull,
    10967583210ull, 11140297514ull, 11315731673ull, 11493928518ull};

}  // namespace

std::uint64_t Workload::exp_q32(std::int64_t x_q16) noexcept {
  const std::int64_t limit = 5 * 65536 - 1;
  if (x_q16 < -limit) x_q16 = -limit;
  if (x_q16 > limit) x_q16 = limit;
  const std::int64_t k = x_q16 >> 16;  // floor (arithmetic shift): -5 .. 4
  const auto frac = static_cast<std::uint64_t>(x_q16 - k * 65536);  // 0 .. 65535
  const std::uint64_t j = frac >> 10, r = frac & 1023;              // frac = j/64 + r/65536
  u128 v = (static_cast<u128>(exp_int_q32[k + 5]) * exp_frac_q32[j]) >> 32;
  // exp(r) ≈ 1 + r + r²/2 for r < 1/64 (error below r³/6 < 7e-7), in Q32.
  const std::uint64_t poly = (std::uint64_t{1} << 32) + (r << 16) + (r * r) / 2;
  v = (v * poly) >> 32;
  return static_cast<std::uint64_t>(v);
}

std::int64_t Workload::basket_units(Rng& rng, int money_scale) noexcept {
  // A standard normal, approximately: the sum of 12 uniforms on [0, 1) minus 6 (Irwin–Hall, variance
  // 1), each uniform 16 bits of a draw: z in Q16.
  std::int64_t sum = 0;
  for (int d = 0; d < 3; ++d) {
    const std::uint64_t bits = rng.next();
    sum += static_cast<std::int64_t>(bits & 0xFFFF) + static_cast<std::int64_t>((bits >> 16) & 0xFFFF) +
           static_cast<std::int64_t>((bits >> 32) & 0xFFFF) + static_cast<std::int64_t>(bits >> 48);
  }
  const std::int64_t z = sum - 6 * 65536;
  const std::int64_t x = z * 4 / 5;  // sigma 0.8
  const std::int64_t unit = pow10(money_scale);
  // 35 × exp(x) money units, rounded half up.
  const u128 scaled = static_cast<u128>(exp_q32(x)) * static_cast<u128>(35 * unit) + (u128(1) << 31);
  auto units = static_cast<std::int64_t>(scaled >> 32);
  if (units < unit) units = unit;
  if (units > 5000 * unit) units = 5000 * unit;
  return units;
}

std::string Workload::check(const WorkloadOptions& o) {
  if (o.members < 1) return "members: " + std::to_string(o.members) + " must be at least 1";
  if (o.members > max_members)
    return "members: " + std::to_string(o.members) + " is more than " + std::to_string(max_members);
  if (o.refund_per_mille > 1000) return "refund_per_mille: " + std::to_string(o.refund_per_mille) + " is out of range 0..1000";
  if (o.redeem_per_mille > 1000) return "redeem_per_mille: " + std::to_string(o.redeem_per_mille) + " is out of range 0..1000";
  if (o.money_scale < 0 || o.money_scale > max_scale) return "money_scale: " + std::to_string(o.money_scale) + " is out of range 0..6";
  if (o.points_scale < 0 || o.points_scale > max_scale) return "points_scale: " + std::to_string(o.points_scale) + " is out of range 0..6";
  if (o.start < 0) return "start: " + std::to_string(o.start) + " is negative";
  if (o.step < 0) return "step: " + std::to_string(o.step) + " is negative";
  // At most members + purchases × 2 (refund, redemption) events; the last `at` must fit in int64.
  const u128 events = static_cast<u128>(o.members) + static_cast<u128>(o.purchases) * 3;
  if (static_cast<u128>(o.start) + events * static_cast<u128>(o.step) > static_cast<u128>(std::numeric_limits<Time>::max()))
    return "step: " + std::to_string(o.step) + " takes the events' times beyond 2^63-1 ms";
  return {};
}

Workload::Workload(WorkloadOptions o) : o_(o), rng_(o.seed) {
  if (std::string why = check(o_); !why.empty()) throw std::invalid_argument(why);
  sponsors_.reserve(static_cast<std::size_t>(o_.members));
}

bool Workload::done() const noexcept {
  return joined_ >= o_.members && purchased_ >= o_.purchases && pending_.empty() && !redeem_next_;
}

std::uint64_t Workload::planned() const noexcept {
  if (done()) return emitted_;
  return o_.members + o_.purchases + o_.purchases * (o_.refund_per_mille + o_.redeem_per_mille) / 1000;
}

bool Workload::join_due() const noexcept {
  if (joined_ >= o_.members) return false;
  if (!o_.interleave || joined_ == 0 || purchased_ >= o_.purchases) return true;
  // Member k joins before purchase k × purchases / members.
  return static_cast<u128>(joined_) * o_.purchases <= static_cast<u128>(purchased_) * o_.members;
}

Join Workload::make_join() {
  const std::uint64_t n = joined_++;
  Join j{member_id(n), std::nullopt, now()};
  std::uint32_t sponsor = 0;
  if (n >= 2) {
    // Copying model: half the time a uniform earlier member, half the time the sponsor of one
    // (member 0 has none: the copy draws among members 1 .. n-1).
    if (rng_.chance(1, 2)) sponsor = static_cast<std::uint32_t>(rng_.below(n));
    else sponsor = sponsors_[static_cast<std::size_t>(1 + rng_.below(n - 1))];
  }
  sponsors_.push_back(sponsor);  // member 0's entry is never read
  if (n > 0) j.sponsor = member_id(sponsor);
  if (joined_ == o_.members) std::vector<std::uint32_t>().swap(sponsors_);  // no longer needed
  return j;
}

Purchase Workload::make_purchase() {
  const std::uint64_t n = purchased_++;
  // Draws, in this order: buyer (2), shop (1), basket (3), refund (1, + 1 partial + 1 share),
  // redemption (1).
  const bool core = rng_.chance(1, 2);
  const std::uint64_t pool = core ? (joined_ + 9) / 10 : joined_;
  const auto buyer = static_cast<std::uint32_t>(rng_.below(pool));
  const bool outlet = rng_.chance(1, 5);
  const std::int64_t units = basket_units(rng_, o_.money_scale);
  if (rng_.chance(o_.refund_per_mille, 1000))
    pending_.push_back({n, units, n + 1 + refund_delay_purchases, emitted_ + refund_delay_events});
  redeem_next_ = rng_.chance(o_.redeem_per_mille, 1000);
  buyers_[buyers_seen_++ % recent_buyers] = buyer;
  return Purchase{order_id(n), member_id(buyer), outlet ? "outlet" : "main", Decimal::from_units(units, o_.money_scale), now()};
}

Refund Workload::make_refund() {
  const PendingRefund p = pending_.front();
  pending_.pop_front();
  ++refunded_;
  Refund r{order_id(p.order), std::nullopt, now()};
  if (rng_.chance(1, 3)) {
    ++partial_;
    std::int64_t part = p.units / 10 * static_cast<std::int64_t>(1 + rng_.below(9));
    if (part < 1) part = 1;
    r.amount = Decimal::from_units(part, o_.money_scale);
  }
  return r;
}

Redeem Workload::make_redeem() {
  redeem_next_ = false;
  const std::uint64_t seen = buyers_seen_ < recent_buyers ? buyers_seen_ : recent_buyers;
  const std::uint32_t who = buyers_[static_cast<std::size_t>(rng_.below(seen))];
  const std::int64_t points = static_cast<std::int64_t>(1 + rng_.below(10)) * pow10(o_.points_scale);
  return Redeem{member_id(who), Decimal::from_units(points, o_.points_scale), redeem_ref(++redeemed_), now()};
}

Event Workload::next() {
  if (done()) throw std::out_of_range("Workload::next: the stream is finished");
  Event e;
  if (join_due()) {
    e = make_join();
  } else if (redeem_next_) {
    e = make_redeem();
  } else if (!pending_.empty() && (purchased_ >= o_.purchases || pending_.front().due_purchase <= purchased_ ||
                                   pending_.front().due_event <= emitted_)) {
    e = make_refund();
  } else {
    e = make_purchase();
  }
  ++emitted_;
  return e;
}

}  // namespace upline
