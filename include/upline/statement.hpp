// upline/statement.hpp — a member's statement (SPEC §13): every credit and debit of a period, each
// with its cause, between an opening and a closing balance.
//
//   upline::StatementRecorder rec(engine, 7, from, until);  // before the first event of interest
//   for (const upline::Event& e : events) rec.apply(engine, e, effects);
//   std::string json;
//   upline::append_statement_json(json, rec.statement());
//
// A statement is built from history, not from the state: the state keeps balances, not how they
// came to be. The recorder wraps Engine::apply — the one door — and reads, around each accepted
// event, what explains the member's effects (the order and its buyer, the tier, level and rate that
// paid, the refund, the redemption's ref, the adjustment's actor and reason). It changes nothing
// the engine would not: recording a statement never alters a digest.
//
// The data directory's statement (store.hpp member_statement) rebuilds the state just before the
// period from the newest snapshot there and applies the journal through the period with a recorder;
// the CLI (`upline statement`), the C ABI (upl_statement_json), Python (`upline.statement`,
// `Client.statement`) and the server (`GET /v1/members/{id}/statement`) all call it.
#pragma once

#include "upline/engine.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace upline {

/// One credit or debit of a statement, with its cause. Which cause fields are set depends on
/// `kind` (SPEC §13): own and upline — order, buyer, shop, amount and the rates that made the
/// points; clawback — order, buyer, refunded; redeem — ref; adjust — actor, reason.
struct StatementLine {
  std::uint64_t seq = 0;     // the event's journal sequence number (a recorder's own count of inputs without a journal)
  Time at = 0;               // the event's applied time (SPEC §4.2)
  EffectType type = EffectType::credit;  // credit or debit
  Kind kind = Kind::none;
  std::int64_t points = 0;   // > 0, units at points_scale; a debit's points are the amount removed
  std::int64_t balance = 0;  // the member's balance after this line

  std::string order;          // own, upline, clawback
  MemberId buyer = 0;         // own, upline, clawback
  std::string shop;           // own, upline
  std::int64_t amount = 0;    // own, upline: the order's amount (money units)
  std::int64_t refunded = 0;  // clawback: the money this refund returned (money units)
  Rate ratio{0};              // own: the shop's ratio (SPEC §6 step 2)
  Rate history{0};            // own: the history multiplier for the buyer's earlier orders
  Rate accrual{0};            // own: the accrual of the buyer's tier
  std::uint8_t tier = 0;      // upline: the matrix that paid
  std::uint32_t level = 0;    // upline: 1-based level
  Rate rate{0};               // upline: tiers[tier].rates[level-1]
  Rate multiplier{0};         // upline: the upline_multiplier of the tier the member held
  std::string ref;            // redeem
  std::string actor;          // adjust
  std::string reason;         // adjust
};

/// A member's credits and debits over the applied times [from, until).
struct Statement {
  MemberId member = 0;
  std::optional<Time> from;   // nullopt: from the beginning
  std::optional<Time> until;  // nullopt: through the last event read
  bool known = false;         // the member had joined by the statement's end (before `until`)
  std::uint64_t through_seq = 0;  // the last event accounted for (rejected ones included); 0: none
  std::int64_t opening = 0;   // balance before the period's first event (0 before the member joined)
  std::int64_t closing = 0;   // balance after the period's last event
  // The totals are sums over the lines; 128 bits, so that no history can overflow them.
  i128 credits = 0;
  i128 debits = 0;
  std::vector<StatementLine> lines;
  /// The plan in force at the end: its scales print the amounts, its tiers name `tier` (tiers are
  /// only ever appended, so a later plan names them as the event's did).
  std::shared_ptr<const Plan> plan;
};

/// std::invalid_argument, naming both values, when until < from; nothing otherwise.
void check_statement_period(std::optional<Time> from, std::optional<Time> until);

/// Records one member's statement while events are applied (see the top of this file).
class StatementRecorder {
 public:
  /// Starts recording with `engine` as it is now: the member's balance now is where the running
  /// balance starts. Events applied before `from` move the opening balance; those applied in
  /// [from, until) make lines; the first accepted event applied at or after `until` ends the
  /// period (past()). std::invalid_argument when until < from.
  StatementRecorder(const Engine& engine, MemberId member, std::optional<Time> from, std::optional<Time> until);

  /// Engine::apply(in, effects, why), recording the member's credits and debits. `seq` numbers the
  /// input (0: the recorder counts inputs itself, 1, 2, …).
  bool apply(Engine& engine, const Input& in, std::vector<Effect>& effects, Rejection* why = nullptr, std::uint64_t seq = 0);

  /// True once an event applied at or after `until` was accepted: no later event is in the period.
  /// That event and every later one apply to the engine and leave the statement as it is.
  bool past() const noexcept { return past_; }

  /// The statement so far, with the engine's plan.
  const Statement& statement(const Engine& engine);

 private:
  Statement st_;
  std::int64_t balance_ = 0;
  std::uint64_t count_ = 0;
  bool past_ = false;
};

/// The statement as one JSON object (SPEC §13 gives every field and its order).
void append_statement_json(std::string& out, const Statement& st);

/// A statement's period bound: milliseconds since the epoch as digits, or an ISO-8601 UTC time
/// (`2026-11-01T00:00:00Z`, optional `.mmm`), or a date (`2026-11-01`, its midnight UTC). nullopt
/// when it is none of these (an impossible date such as February 30 included).
std::optional<Time> parse_statement_time(std::string_view s) noexcept;

/// The one message for a bound parse_statement_time() refuses: `field: "value" is not a time …`.
std::string statement_time_fault(std::string_view field, std::string_view value);

}  // namespace upline
