// upline/event.hpp — the events an engine applies (SPEC §4).
//
// Events are plain values. Amounts are Decimals as the caller has them — units from a host with
// integers (the C ABI, Python's Decimal, the journal), text from a JSON line — and the engine,
// not the caller, checks them against the plan's scale, so that rejections come in the order
// SPEC §4 gives. Every event has `at`, milliseconds since the Unix epoch; the engine applies it at
// max(clock, at).
//
// A door that reads events (door.hpp) hands the engine an Input: the event, or the fault that
// kept its input from being one. Engine::apply(const Input&) is the one function every door
// calls, so that faults found before the engine and the engine's own come in one order.
#pragma once

#include "upline/decimal.hpp"
#include "upline/plan.hpp"
#include "upline/rejection.hpp"

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
  std::shared_ptr<const Plan> plan;  // the new plan; null when there is none (see plan_fault)
  std::string actor;                 // non-empty
  Time at = 0;
  /// Set by a door whose plan text did not make a plan: the faults, "plan: …" (invalid_plan,
  /// reported after the event's structural faults). Empty when `plan` is set or simply missing.
  std::string plan_fault{};
};

using Event = std::variant<Join, Purchase, Refund, Redeem, Adjust, Suspend, Reactivate, PlanChange>;

/// The SPEC's `type` of each alternative of Event, in index order.
inline constexpr std::string_view event_type_names[] = {"join", "purchase", "refund", "redeem", "adjust", "suspend", "reactivate", "plan"};

/// The SPEC's `type` of an event ("join", "purchase", …).
inline std::string_view event_type_name(const Event& e) noexcept { return event_type_names[e.index()]; }

/// The event's `at`.
inline Time event_time(const Event& e) noexcept {
  return std::visit([](const auto& x) { return x.at; }, e);
}

/// What a door hands an engine: an event, or the fault that kept its input from being one
/// (not JSON, a missing field, a host integer outside int64…). A fault is a rejection like the
/// engine's own: counted, reported, and nothing changes.
class Input {
 public:
  Input(const Event& e) noexcept : event_(&e) {}  // NOLINT(google-explicit-constructor): an event is an input
  explicit Input(Rejection fault) : fault_(std::move(fault)) {}

  const Event* event() const noexcept { return event_; }
  const Rejection& fault() const noexcept { return fault_; }

 private:
  const Event* event_ = nullptr;
  Rejection fault_;
};

}  // namespace upline
