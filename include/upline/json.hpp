// upline/json.hpp — the JSON door of SPEC §9–§10: events in, effects and state out.
//
// parse_event turns one JSON object (one line of an events file) into an Event, or into the
// rejection the engine would give it: `invalid_event` for every structural fault (not an object,
// unknown type, missing or extra field, wrong JSON type, id out of range, empty actor or reason),
// `invalid_plan` for a plan event whose plan breaks SPEC §3. Amounts are passed on as written;
// the engine checks them in their SPEC §4 place. Output is byte-for-byte deterministic.
#pragma once

#include "upline/engine.hpp"

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace upline {

/// An event, or why it never reached the engine.
using ParsedEvent = std::variant<Event, Rejection>;

/// Parses one event (a JSON object with "type" and the fields of SPEC §4).
ParsedEvent parse_event(std::string_view json_text);

/// Applies what parse_event produced: an Event goes to engine.apply; a Rejection is counted by
/// the engine (so rejected() covers the whole stream) and reported as is. True when accepted.
bool apply_parsed(Engine& engine, const ParsedEvent& parsed, std::vector<Effect>& effects, Rejection* why = nullptr);

/// An event as one JSON line in the format parse_event reads (SPEC §4 fields plus "type");
/// amounts exactly as written, a plan as its canonical JSON. parse_event(event_json(e)) gives e.
std::string event_json(const Event& event);

/// One effect as a JSON object in SPEC §9's field order; tier and reward names from `engine`.
std::string effect_json(const Engine& engine, const Effect& e);

/// A JSON array of effects.
std::string effects_json(const Engine& engine, const std::vector<Effect>& effects);

/// `{"seq": n, "status": "ok"|CODE, "effects": [...]}` (+ "message" on a rejection); without
/// "seq" when seq is 0.
std::string result_json(const Engine& engine, std::uint64_t seq, Code code, std::string_view message,
                        const std::vector<Effect>& effects);

/// The SPEC §10 state: applied, rejected, digest and the members sorted by id.
std::string dump_json(const Engine& engine);

/// A JSON string literal for `s` (quotes included, control characters escaped).
std::string json_quote(std::string_view s);

}  // namespace upline
