// upline/door.hpp — the door for text: JSON event lines in (SPEC §4), result lines out (SPEC §9, §10).
//
// Every way into an engine ends in Engine::apply(const Input&): typed calls build an Event, text
// goes through EventReader, which turns a line into an Event or into the fault that keeps it from
// being one. The faults it finds, in this order, are all `invalid_event` but the last:
//   1. the line is not JSON (`not valid JSON: …`), then a duplicate key at the top level;
//   2. it is not an object (`event: expected a JSON object, got array`);
//   3. `type` missing, not a string, not an event type;
//   4. a field the type does not have (the first in byte order of the names);
//   5. each field of the type, in the order of SPEC §4's table: missing or null when required,
//      the wrong JSON type, then the value checks every door shares (rejection.hpp);
//   6. for a plan event, a duplicate key inside the plan (`invalid_plan`); a plan that breaks a
//      rule travels in PlanChange::plan_fault, for the engine to report after the event's other
//      structural faults.
// Amounts stay text for the engine to check in their SPEC §4 place.
//
// EventReader parses with simdjson's On-Demand API and reuses every buffer: reading a line and
// applying it allocates nothing in steady state. Lines longer than EventReader::max_line are
// refused whole.
#pragma once

#include "upline/engine.hpp"
#include "upline/event.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace upline {

class EventReader {
 public:
  /// The longest line read (16 MiB); a longer one is `invalid_event`.
  static constexpr std::size_t max_line = std::size_t{16} << 20;
  /// Readable bytes a buffer must have after a line for read_padded().
  static constexpr std::size_t padding = 64;

  EventReader();
  ~EventReader();
  EventReader(EventReader&&) noexcept;
  EventReader& operator=(EventReader&&) noexcept;

  /// Reads one line (no terminator needed; a trailing CR or spaces are whitespace). The event an
  /// Input points to lives in this reader until its next read.
  Input read(std::string_view line);
  /// Like read(), without a copy: at least `padding` bytes after the line are readable (the rest
  /// of the caller's buffer).
  Input read_padded(std::string_view line);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Whether a line of an events file holds nothing but whitespace: such lines are skipped, not
/// events (SPEC §10) — by `upline replay`, `upline apply` and the server's endpoints alike.
constexpr bool blank_line(std::string_view line) noexcept { return line.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos; }

/// Appends `{"seq":n,"status":"ok"|CODE,"effects":[…]}` (+ `"message"` on a rejection) for an
/// outcome of `engine`; without `"seq"` when seq is 0 (SPEC §10's effects lines).
void append_result_json(std::string& out, std::uint64_t seq, Code code, std::string_view message, const std::vector<Effect>& effects,
                        const Engine& engine);
inline void append_result_json(std::string& out, std::uint64_t seq, const Outcome& o, const Engine& engine) {
  append_result_json(out, seq, o.code, o.message, o.effects, engine);
}
/// The result line as a string (append_result_json).
inline std::string result_json(const Engine& engine, std::uint64_t seq, Code code, std::string_view message, const std::vector<Effect>& effects) {
  std::string s;
  append_result_json(s, seq, code, message, effects, engine);
  return s;
}

/// Appends an event as one JSON line in the format EventReader reads (SPEC §4 fields plus
/// "type"), without the line break: amounts as their text (units printed at their scale), a plan
/// as its canonical JSON. Reading it back gives the same event.
void append_event_json(std::string& out, const Event& event);

/// The event as a JSON line (append_event_json).
inline std::string event_json(const Event& event) {
  std::string s;
  append_event_json(s, event);
  return s;
}

/// An event read from a line, as a value of its own (or why the line is none): for callers that
/// keep events. A door applying lines as they come uses EventReader or LineDoor, which copy
/// nothing.
using ParsedEvent = std::variant<Event, Rejection>;
inline ParsedEvent parse_event(std::string_view line) {
  EventReader reader;
  const Input in = reader.read(line);
  if (in.event()) return *in.event();
  return in.fault();
}
/// What a ParsedEvent hands an engine.
inline Input as_input(const ParsedEvent& p) {
  if (const auto* e = std::get_if<Event>(&p)) return Input(*e);
  return Input(std::get<Rejection>(p));
}

/// One effect as a JSON object (effect.hpp append_effect_json), names from `engine`.
inline std::string effect_json(const Engine& engine, const Effect& e) {
  std::string s;
  append_effect_json(s, e, engine.plan(), engine.reward_names());
  return s;
}
/// A JSON array of effects.
inline std::string effects_json(const Engine& engine, const std::vector<Effect>& effects) {
  std::string s;
  append_effects_json(s, effects, engine.plan(), engine.reward_names());
  return s;
}

/// The SPEC §10 state dump of `engine` as a string (state.hpp append_dump_json).
inline std::string dump_json(const Engine& engine) {
  std::string s;
  append_dump_json(s, engine.state());
  return s;
}

/// A text door onto an engine: a line in, its outcome and result line out, through reused
/// buffers. What `upline replay`, the C ABI's and Python's JSON calls and the store use.
class LineDoor {
 public:
  explicit LineDoor(Engine& engine) : engine_(&engine) {}

  /// Reads and applies one line; the outcome lives until the next call.
  const Outcome& apply(std::string_view line) {
    engine_->apply(reader_.read(line), outcome_);
    return outcome_;
  }
  /// Like apply(), for a line with EventReader::padding readable bytes after it.
  const Outcome& apply_padded(std::string_view line) {
    engine_->apply(reader_.read_padded(line), outcome_);
    return outcome_;
  }
  /// Appends the last outcome's result line (append_result_json).
  void append_result(std::string& out, std::uint64_t seq) const { append_result_json(out, seq, outcome_, *engine_); }

  const Outcome& outcome() const noexcept { return outcome_; }
  EventReader& reader() noexcept { return reader_; }
  Engine& engine() noexcept { return *engine_; }

 private:
  Engine* engine_;
  EventReader reader_;
  Outcome outcome_;
};

}  // namespace upline
