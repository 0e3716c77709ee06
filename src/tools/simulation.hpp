// tools/simulation.hpp — a seeded, reproducible shop: the event stream behind `upline demo`.
//
// Everything here is integer arithmetic on a fixed PRNG (SplitMix64), so the same options give
// the same events — and the same digest — on every platform, compiler and build type. (The
// standard library's distributions are implementation-defined and are deliberately not used.)
#pragma once

#include "upline/engine.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace upline {

/// SplitMix64: tiny, fast, and identical everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n), n > 0 (Lemire's multiply-shift; bias below 2^-32 for n < 2^32).
  std::uint64_t below(std::uint64_t n) noexcept { return static_cast<std::uint64_t>((static_cast<u128>(next()) * n) >> 64); }
  /// True with probability num/den.
  bool chance(std::uint64_t num, std::uint64_t den) noexcept { return below(den) < num; }

 private:
  std::uint64_t state_;
};

struct SimulationOptions {
  std::uint64_t members = 100'000;
  std::uint64_t purchases = 1'000'000;
  std::uint64_t seed = 42;
  std::uint32_t refund_per_mille = 20;  // share of purchases refunded later (in full or in part)
  std::uint32_t redeem_per_mille = 10;  // per purchase, chance that some member redeems points
  Time start = 1'767'225'600'000;       // 2026-01-01T00:00:00Z
  Time step = 60'000;                   // one minute between events
};

/// Generates the shop's events one at a time. Members join by referral (a few prolific sponsors:
/// the sponsor is drawn with a strong bias toward early members), purchases have a heavy-tailed
/// basket across the shops "main" and "outlet", some orders are refunded and some points redeemed.
/// Joins are spread over the stream so that the network grows while people buy.
class Simulation {
 public:
  explicit Simulation(SimulationOptions o) : o_(o), rng_(o.seed) {}

  /// Total events this simulation will produce (exact once finished; an upper bound before).
  std::uint64_t planned() const noexcept { return o_.members + o_.purchases; }
  bool done() const noexcept { return joined_ >= o_.members && purchased_ >= o_.purchases && pending_.empty(); }

  /// The next event; `engine` is read (balances for redemptions), never changed.
  Event next(const Engine& engine);

 private:
  SimulationOptions o_;
  Rng rng_;
  std::uint64_t joined_ = 0, purchased_ = 0, redeemed_ = 0, emitted_ = 0;
  std::vector<std::uint64_t> pending_;  // purchase numbers waiting for a refund
};

}  // namespace upline
