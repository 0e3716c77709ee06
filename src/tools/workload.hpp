// tools/workload.hpp — a seeded, reproducible event stream for benchmarks, peers and load tests.
//
// Unlike Simulation (the demo's shop, which reads balances from an engine), a Workload depends on
// nothing but its options: it can be generated once, written as JSON Lines (`upline generate`) and
// replayed by this engine or by any other implementation of the specification. Everything is
// integer arithmetic on SplitMix64 (Rng), in a fixed order of draws, so the same options give the
// same events, byte for byte, with every compiler, build type and platform. No floating point, no
// standard distributions.
//
// The stream (docs/CLI.md, `upline generate`, has the figures):
//   - joins: all first by default (the network grows to its size), or spread through the purchases
//     (`interleave`). The n-th joiner (from 0) is member_id(n) = 1000 + 7n. Sponsors follow a
//     copying model: with probability 1/2 a uniformly drawn earlier member, otherwise the sponsor
//     of a uniformly drawn earlier member — preferential attachment, so a few members sponsor
//     thousands and most sponsor nobody: with seed 42, 2/3 of the members sponsor nobody and 1.5%
//     sponsor 10 or more; the top sponsor (the first member) has 749 referrals among 100,000
//     members and 2,260 among 1,000,000 (about 2.3·√N).
//   - purchases "o-0", "o-1", …: half by a uniformly drawn member who has joined, half by one of
//     the first tenth of them (the loyal core buys about 11 times as often as the rest); shop
//     "outlet" with probability 1/5, else "main"; log-normal baskets, median 35.00, sigma 0.8,
//     clamped to [1.00, 5000.00].
//   - refunds: each purchase is refunded with probability refund_per_mille/1000, once, 1,000
//     purchases later (or 20,000 events later, whichever comes first, so that the plan's refund
//     window stays open; pending refunds are flushed after the last purchase). One in three is
//     partial (10%..90% of the order, in tenths, at least 1 unit), the others refund the rest.
//   - redemptions "r-1", "r-2", …: after a purchase, with probability redeem_per_mille/1000, one of
//     the last 1,024 buyers redeems 1..10 whole points. A buyer whose balance is lower (an outlet
//     basket below its minimum earns nothing) is rejected with insufficient_points — as a live
//     shop would see.
//   - `at`: start + k × step for the k-th event (from 0).
//
// Memory: 4 bytes per member while members are still joining (the sponsor table; released after
// the last join), plus the pending refunds (about refund_per_mille × 1,000 / 1,000 of them) and a
// fixed ring of recent buyers. Events are produced one at a time and never kept.
#pragma once

#include "upline/event.hpp"
#include "tools/simulation.hpp"  // Rng

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace upline {

struct WorkloadOptions {
  std::uint64_t members = 100'000;     // 1 .. Workload::max_members
  std::uint64_t purchases = 1'000'000;
  std::uint64_t seed = 42;
  std::uint32_t refund_per_mille = 20;  // 0..1000: share of purchases refunded later
  std::uint32_t redeem_per_mille = 10;  // 0..1000: chance that a purchase is followed by a redemption
  bool interleave = false;              // spread joins through the purchases instead of all first
  int money_scale = 2;                  // 0..6, the plan's: baskets and refund amounts
  int points_scale = 2;                 // 0..6, the plan's: redemptions
  Time start = 1'767'225'600'000;       // 2026-01-01T00:00:00Z
  Time step = 60'000;                   // one minute between events
};

class Workload {
 public:
  /// The engine indexes members with 32 bits.
  static constexpr std::uint64_t max_members = 0xFFFF'FFFEull;
  /// A refund comes this many purchases after its order…
  static constexpr std::uint64_t refund_delay_purchases = 1'000;
  /// …or this many events, whichever is first.
  static constexpr std::uint64_t refund_delay_events = 20'000;
  /// Redemptions are by one of the last this many buyers.
  static constexpr std::size_t recent_buyers = 1'024;

  /// Why `o` cannot make a workload (naming the option and the value), or "" when it can.
  static std::string check(const WorkloadOptions& o);

  /// Throws std::invalid_argument with check()'s message when the options are invalid.
  explicit Workload(WorkloadOptions o);

  /// The next event. Precondition: !done() (throws std::out_of_range otherwise).
  Event next();
  bool done() const noexcept;

  /// Events the stream will hold: exact once done(); before that, joins + purchases + the
  /// expected refunds and redemptions (for a progress bar).
  std::uint64_t planned() const noexcept;

  /// What was produced so far.
  std::uint64_t emitted() const noexcept { return emitted_; }
  std::uint64_t joins() const noexcept { return joined_; }
  std::uint64_t purchases() const noexcept { return purchased_; }
  std::uint64_t refunds() const noexcept { return refunded_; }
  std::uint64_t partial_refunds() const noexcept { return partial_; }
  std::uint64_t redemptions() const noexcept { return redeemed_; }

  const WorkloadOptions& options() const noexcept { return o_; }

  /// The n-th joiner's id (from 0): ids are spread like a shop database's but need no table.
  static constexpr MemberId member_id(std::uint64_t n) noexcept { return static_cast<MemberId>(1000 + 7 * n); }
  /// The n-th purchase's order id (from 0): "o-n".
  static std::string order_id(std::uint64_t n) { return "o-" + std::to_string(n); }
  /// The n-th redemption's ref (from 1): "r-n".
  static std::string redeem_ref(std::uint64_t n) { return "r-" + std::to_string(n); }

  /// exp(x) for x in Q16 fixed point (x / 65536), |x| < 5 × 65536, as Q32 (× 2^32): a table of
  /// exp(k) and exp(j/64) and a second-order polynomial for the rest; relative error < 1e-6.
  static std::uint64_t exp_q32(std::int64_t x_q16) noexcept;
  /// One log-normal basket in units of 10^-money_scale: median 35, sigma 0.8 (Irwin–Hall sum of
  /// 12 uniforms for the normal), clamped to [1, 5000] money units. Draws 3 numbers from `rng`.
  static std::int64_t basket_units(Rng& rng, int money_scale) noexcept;

 private:
  struct PendingRefund {
    std::uint64_t order;        // purchase number
    std::int64_t units;         // the order's amount
    std::uint64_t due_purchase;  // due when this many purchases have been made…
    std::uint64_t due_event;     // …or this many events emitted
  };

  Time now() const noexcept { return o_.start + static_cast<Time>(emitted_) * o_.step; }
  bool join_due() const noexcept;
  Join make_join();
  Purchase make_purchase();
  Refund make_refund();
  Redeem make_redeem();

  WorkloadOptions o_;
  Rng rng_;
  std::uint64_t emitted_ = 0, joined_ = 0, purchased_ = 0, refunded_ = 0, partial_ = 0, redeemed_ = 0;
  bool redeem_next_ = false;
  std::vector<std::uint32_t> sponsors_;  // join number → sponsor's join number (while joining)
  std::deque<PendingRefund> pending_;
  std::array<std::uint32_t, recent_buyers> buyers_{};  // ring of the last buyers' join numbers
  std::uint64_t buyers_seen_ = 0;
};

}  // namespace upline
