// door.cpp — the text door's writers: result lines (SPEC §10) and event lines (SPEC §4), with fmt
// into the caller's buffer.
#include "upline/door.hpp"

#include "upline/json_text.hpp"

#include <fmt/format.h>

namespace upline {

namespace {

void append_int(std::string& s, std::int64_t v) {
  const fmt::format_int f(v);
  s.append(f.data(), f.size());
}

}  // namespace

void append_result_json(std::string& out, std::uint64_t seq, Code code, std::string_view message, const std::vector<Effect>& effects,
                        const Engine& engine) {
  out += '{';
  if (seq != 0) {
    out += R"("seq":)";
    const fmt::format_int f(seq);
    out.append(f.data(), f.size());
    out += ',';
  }
  out += R"("status":")";
  out += code_name(code);
  out += R"(","effects":)";
  append_effects_json(out, effects, engine.plan(), engine.reward_names());
  if (code != Code::ok) {
    out += R"(,"message":)";
    append_json_string(out, message);
  }
  out += '}';
}

void append_event_json(std::string& s, const Event& event) {
  s += R"({"type":")";
  s += event_type_name(event);
  s += '"';
  auto id = [&](const char* k, std::int64_t v) {
    s += ",\"";
    s += k;
    s += "\":";
    append_int(s, v);
  };
  auto text = [&](const char* k, std::string_view v) {
    s += ",\"";
    s += k;
    s += "\":";
    append_json_string(s, v);
  };
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, Join>) {
          id("member", e.member);
          if (e.sponsor) id("sponsor", *e.sponsor);
        } else if constexpr (std::is_same_v<T, Purchase>) {
          text("order", e.order);
          id("member", e.member);
          text("shop", e.shop);
          text("amount", e.amount.text());
        } else if constexpr (std::is_same_v<T, Refund>) {
          text("order", e.order);
          if (e.amount) text("amount", e.amount->text());
        } else if constexpr (std::is_same_v<T, Redeem>) {
          id("member", e.member);
          text("points", e.points.text());
          text("ref", e.ref);
        } else if constexpr (std::is_same_v<T, Adjust>) {
          id("member", e.member);
          text("points", e.points.text());
          text("actor", e.actor);
          text("reason", e.reason);
        } else if constexpr (std::is_same_v<T, Suspend> || std::is_same_v<T, Reactivate>) {
          id("member", e.member);
        } else {
          s += R"(,"plan":)";
          s += e.plan ? e.plan->canonical_json() : std::string("null");
          text("actor", e.actor);
        }
        id("at", e.at);
      },
      event);
  s += '}';
}

}  // namespace upline
