// upline/rejection.hpp — why an event is rejected: the codes of SPEC §4, their spelling, and every
// message, written once for every door.
//
// The numeric values of Code are part of the ABI (upline.h mirrors them) and are never
// renumbered; new codes are only ever appended. A rejection leaves the engine exactly as it was.
//
// Messages name the field, the value and the rule (`member: 7 is not a member`). Values are shown
// as JSON (strings quoted and escaped, at most 80 bytes: json_text.hpp). Messages are
// informative — the codes and the effects are the contract (SPEC §4, §10) — but every door gives
// the same message for the same fault, because each is made by one function here.
#pragma once

#include "upline/json_text.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace upline {

enum class Code : int {
  ok = 0,
  // Structural and plan faults.
  invalid_event = 1,
  invalid_plan = 2,
  incompatible_plan = 3,
  // Business rejections (SPEC §4), in no particular order.
  member_exists = 10,
  sponsor_required = 11,
  unknown_sponsor = 12,
  duplicate_order = 13,
  unknown_member = 14,
  unknown_shop = 15,
  invalid_amount = 16,
  unknown_order = 17,
  refund_exceeds_order = 18,
  refund_window_closed = 19,
  duplicate_ref = 20,
  insufficient_points = 21,
  overflow = 22,
};

/// The SPEC spelling of a code ("ok", "duplicate_order", …); "unknown" for a value not listed.
constexpr std::string_view code_name(Code c) noexcept {
  switch (c) {
    case Code::ok: return "ok";
    case Code::invalid_event: return "invalid_event";
    case Code::invalid_plan: return "invalid_plan";
    case Code::incompatible_plan: return "incompatible_plan";
    case Code::member_exists: return "member_exists";
    case Code::sponsor_required: return "sponsor_required";
    case Code::unknown_sponsor: return "unknown_sponsor";
    case Code::duplicate_order: return "duplicate_order";
    case Code::unknown_member: return "unknown_member";
    case Code::unknown_shop: return "unknown_shop";
    case Code::invalid_amount: return "invalid_amount";
    case Code::unknown_order: return "unknown_order";
    case Code::refund_exceeds_order: return "refund_exceeds_order";
    case Code::refund_window_closed: return "refund_window_closed";
    case Code::duplicate_ref: return "duplicate_ref";
    case Code::insufficient_points: return "insufficient_points";
    case Code::overflow: return "overflow";
  }
  return "unknown";
}

/// Every rejection code, in numeric order (ok excluded).
inline constexpr Code rejection_codes[] = {Code::invalid_event,        Code::invalid_plan,         Code::incompatible_plan, Code::member_exists,
                                           Code::sponsor_required,     Code::unknown_sponsor,      Code::duplicate_order,   Code::unknown_member,
                                           Code::unknown_shop,         Code::invalid_amount,       Code::unknown_order,     Code::refund_exceeds_order,
                                           Code::refund_window_closed, Code::duplicate_ref,        Code::insufficient_points, Code::overflow};

/// True for a value of Code that code_name knows.
constexpr bool known_code(int c) noexcept { return code_name(static_cast<Code>(c)) != "unknown"; }

/// A rejection: the code and a message naming the field, the value and the rule.
struct Rejection {
  Code code = Code::ok;
  std::string message;
};

namespace reject {

inline constexpr std::int64_t id_max = 9'223'372'036'854'775'807;

inline Rejection make(Code c, std::string m) { return Rejection{c, std::move(m)}; }
inline std::string id_text(std::int64_t v) { return std::to_string(v); }

// ---- structure (invalid_event): the value checks of SPEC §4, in the order each event's fields
// are checked (SPEC §4 table "fields checked, in order"). Every door runs them, in field order.

/// `member`, `sponsor`: 1 .. 2^63-1. `shown` is the value as the input wrote it.
inline Rejection id_out_of_range(std::string_view field, std::string_view shown) {
  return make(Code::invalid_event, std::string(field) + ": " + std::string(shown) + " is out of range 1..9223372036854775807");
}
/// `at`: 0 .. 2^63-1.
inline Rejection time_out_of_range(std::string_view shown) {
  return make(Code::invalid_event, "at: " + std::string(shown) + " is out of range 0..9223372036854775807");
}
// The checks are inline and the messages cold: an event that passes pays a comparison.
[[gnu::cold, gnu::noinline]] inline std::optional<Rejection> bad_id(std::string_view field, std::int64_t v) {
  return id_out_of_range(field, id_text(v));
}
[[gnu::cold, gnu::noinline]] inline std::optional<Rejection> bad_time(std::int64_t at) { return time_out_of_range(id_text(at)); }
[[gnu::cold, gnu::noinline]] inline std::optional<Rejection> bad_key(std::string_view field, std::string_view s) {
  return make(Code::invalid_event, std::string(field) + ": " + shown_string(s) + " must be 1..64 bytes");
}
[[gnu::cold, gnu::noinline]] inline std::optional<Rejection> bad_text(std::string_view field) {
  return make(Code::invalid_event, std::string(field) + ": must not be empty");
}
inline std::optional<Rejection> check_id(std::string_view field, std::int64_t v) {
  if (v >= 1) [[likely]] return std::nullopt;
  return bad_id(field, v);
}
inline std::optional<Rejection> check_time(std::int64_t at) {
  if (at >= 0) [[likely]] return std::nullopt;
  return bad_time(at);
}
/// Order ids and redemption refs: 1..64 bytes.
inline std::optional<Rejection> check_key(std::string_view field, std::string_view s) {
  if (!s.empty() && s.size() <= 64) [[likely]] return std::nullopt;
  return bad_key(field, s);
}
/// `actor`, `reason`: non-empty.
inline std::optional<Rejection> check_text(std::string_view field, std::string_view s) {
  if (!s.empty()) [[likely]] return std::nullopt;
  return bad_text(field);
}
inline Rejection required(std::string_view field) { return make(Code::invalid_event, std::string(field) + ": required"); }

// ---- the engine's codes, in SPEC §4's order per event.

inline Rejection member_exists(std::int64_t m) { return make(Code::member_exists, "member: " + id_text(m) + " has already joined"); }
inline Rejection sponsor_required() { return make(Code::sponsor_required, "sponsor: required for every member but the first"); }
inline Rejection unknown_sponsor(std::int64_t s) { return make(Code::unknown_sponsor, "sponsor: " + id_text(s) + " is not a member"); }
inline Rejection duplicate_order(std::string_view order) {
  return make(Code::duplicate_order, "order: " + shown_string(order) + " was already accepted");
}
inline Rejection unknown_member(std::int64_t m) { return make(Code::unknown_member, "member: " + id_text(m) + " is not a member"); }
inline Rejection unknown_shop(std::string_view shop) {
  return make(Code::unknown_shop, "shop: " + shown_string(shop) + " is not a shop of the plan in force");
}
/// An amount that is not > 0 (`must be > 0`) or, for an adjustment, zero (`must not be zero`).
inline Rejection not_positive(std::string_view field, std::string_view text) {
  return make(Code::invalid_amount, std::string(field) + ": " + shown_string(text) + " must be > 0");
}
inline Rejection zero(std::string_view field, std::string_view text) {
  return make(Code::invalid_amount, std::string(field) + ": " + shown_string(text) + " must not be zero");
}
inline Rejection unknown_order(std::string_view order) {
  return make(Code::unknown_order, "order: " + shown_string(order) + " is not an accepted order");
}
inline Rejection fully_refunded(std::string_view order) {
  return make(Code::refund_exceeds_order, "order: " + shown_string(order) + " is already fully refunded");
}
/// `amount` and `left` already printed at money_scale.
inline Rejection refund_exceeds(std::string_view amount, std::string_view order, std::string_view left) {
  return make(Code::refund_exceeds_order,
              "amount: " + std::string(amount) + " exceeds what is left of order " + shown_string(order) + " (" + std::string(left) + ")");
}
inline Rejection refund_window_closed(std::string_view order, std::int64_t applied, std::int64_t days, std::int64_t at) {
  return make(Code::refund_window_closed, "order: " + shown_string(order) + " was applied at " + id_text(applied) + "; the " + id_text(days) +
                                              "-day refund window closed before " + id_text(at));
}
inline Rejection duplicate_ref(std::string_view ref) { return make(Code::duplicate_ref, "ref: " + shown_string(ref) + " was already redeemed"); }
/// `points` and `balance` already printed at points_scale.
inline Rejection insufficient_points(std::string_view points, std::int64_t member, std::string_view balance) {
  return make(Code::insufficient_points,
              "points: " + std::string(points) + " exceeds member " + id_text(member) + "'s balance " + std::string(balance));
}

// ---- overflow (SPEC §2): always last.

inline Rejection too_many_members() { return make(Code::overflow, "member: the engine holds its maximum number of members"); }
inline Rejection too_many_orders() { return make(Code::overflow, "order: the engine holds its maximum number of orders (4294967295)"); }
inline Rejection too_many_redemptions() {
  return make(Code::overflow, "ref: the engine holds its maximum number of redemptions (4294967295)");
}
inline Rejection too_many_purchases(std::int64_t m) {
  return make(Code::overflow, "member: " + id_text(m) + " already has 4294967295 accepted purchases, the most one member can hold");
}
inline Rejection points_overflow(std::string_view amount) {
  return make(Code::overflow, "amount: " + shown_string(amount) + " earns more points than int64 holds");
}
inline Rejection credit_overflow() { return make(Code::overflow, "overflow: an upline credit of the purchase leaves int64"); }
inline Rejection balance_overflow(std::int64_t m) {
  return make(Code::overflow, "overflow: member " + id_text(m) + "'s balance or lifetime would leave int64");
}
inline Rejection debit_overflow(std::string_view points) {
  return make(Code::overflow, "points: a debit of " + shown_string(points) + " leaves int64");
}

}  // namespace reject

}  // namespace upline
