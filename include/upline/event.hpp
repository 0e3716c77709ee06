// upline/event.hpp — the events an engine applies (SPEC §4).
//
// Amounts are Decimals exactly as the host wrote them: the engine, not the caller, checks them
// against the plan's scale, so that rejections come in the order SPEC §4 gives. Every event has
// `at`, milliseconds since the Unix epoch; the engine applies it at max(clock, at).
#pragma once

#include "upline/plan.hpp"
#include "upline/points.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace upline {

/// Member ids are chosen by the host: 1 .. 2^63-1.
using MemberId = std::int64_t;
/// Milliseconds since the Unix epoch: 0 .. 2^63-1.
using Time = std::int64_t;

struct Join {
  MemberId member = 0;
  std::optional<MemberId> sponsor;  // optional only for the very first member
  Time at = 0;
};

struct Purchase {
  std::string order;  // 1..64 bytes, unique over the engine's history
  MemberId member = 0;
  std::string shop;
  Decimal amount;  // money, > 0
  Time at = 0;
};

struct Refund {
  std::string order;
  std::optional<Decimal> amount;  // money, > 0; absent: the rest of the order
  Time at = 0;
};

struct Redeem {
  MemberId member = 0;
  Decimal points;  // > 0
  std::string ref;  // 1..64 bytes, unique over the engine's history
  Time at = 0;
};

struct Adjust {
  MemberId member = 0;
  Decimal points;  // non-zero, signed
  std::string actor;   // non-empty
  std::string reason;  // non-empty
  Time at = 0;
};

struct Suspend {
  MemberId member = 0;
  Time at = 0;
};

struct Reactivate {
  MemberId member = 0;
  Time at = 0;
};

struct PlanChange {
  std::shared_ptr<const Plan> plan;
  std::string actor;  // non-empty
  Time at = 0;
};

using Event = std::variant<Join, Purchase, Refund, Redeem, Adjust, Suspend, Reactivate, PlanChange>;

/// The SPEC's `type` of an event ("join", "purchase", …).
inline const char* event_type_name(const Event& e) noexcept {
  static constexpr const char* names[] = {"join", "purchase", "refund", "redeem", "adjust", "suspend", "reactivate", "plan"};
  return names[e.index()];
}

/// The event's `at`.
inline Time event_time(const Event& e) noexcept {
  return std::visit([](const auto& x) { return x.at; }, e);
}

}  // namespace upline
