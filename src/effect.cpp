// effect.cpp — the one JSON shape of an effect (SPEC §9), written with fmt into the caller's buffer.
#include "upline/effect.hpp"

#include "upline/json_text.hpp"

#include <fmt/format.h>

namespace upline {

namespace {

void append_int(std::string& s, std::int64_t v) {
  const fmt::format_int f(v);
  s.append(f.data(), f.size());
}

}  // namespace

void append_effect_json(std::string& s, const Effect& e, const Plan& plan, const std::vector<std::string>& reward_names) {
  s += R"({"type":")";
  s += effect_type_name(e.type);
  s += R"(","member":)";
  append_int(s, e.member);
  switch (e.type) {
    case EffectType::credit:
    case EffectType::debit:
      s += R"(,"points":")";
      append_units(s, e.points, plan.points_scale);
      s += R"(","kind":")";
      s += kind_name(e.kind);
      s += '"';
      if (e.kind == Kind::upline) {
        s += R"(,"tier":)";
        append_json_string(s, plan.tiers[e.tier].name);
        s += R"(,"level":)";
        append_int(s, e.level);
      }
      break;
    case EffectType::placed:
      s += R"(,"tier":)";
      append_json_string(s, plan.tiers[e.tier].name);
      s += R"(,"parent":)";
      if (e.parent == 0) s += "null";
      else append_int(s, e.parent);
      s += R"(,"position":)";
      append_int(s, e.position());
      break;
    case EffectType::promoted:
      s += R"(,"from":)";
      append_json_string(s, plan.tiers[e.from].name);
      s += R"(,"to":)";
      append_json_string(s, plan.tiers[e.tier].name);
      break;
    case EffectType::reward:
      s += R"(,"reward":)";
      append_json_string(s, reward_names[e.reward]);
      break;
  }
  s += '}';
}

void append_effects_json(std::string& s, const std::vector<Effect>& effects, const Plan& plan, const std::vector<std::string>& reward_names) {
  s += '[';
  for (std::size_t i = 0; i < effects.size(); ++i) {
    if (i) s += ',';
    append_effect_json(s, effects[i], plan, reward_names);
  }
  s += ']';
}

}  // namespace upline
