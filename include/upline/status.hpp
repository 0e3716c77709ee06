// upline/status.hpp — outcome codes of an event.
//
// The numeric values are part of the ABI (the C header mirrors them) and are never renumbered;
// new codes are only ever appended. `code_name` gives the SPEC's spelling ("duplicate_order").
#pragma once

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

/// A rejection: the code and a message naming the field, the value and the rule.
struct Rejection {
  Code code = Code::ok;
  std::string message;
};

}  // namespace upline
