// event_differential_fuzz.cpp — the simdjson event reader (src/event_reader.cpp) against the
// nlohmann parser of upline 0.1 (legacy_event_parser.cpp, in the fuzz build only): for any bytes,
// both must give the same event, or the same rejection code.
//
// "The same event" is the same JSON written back (append_event_json: every field, amounts as
// their text, a plan as its canonical JSON). A plan event whose plan breaks SPEC §3 is an event
// carrying the fault for the new reader (the engine reports it as invalid_plan after the event's
// structural faults) and a rejection for the old parser; both count as invalid_plan here.
//
// Documented differences (docs/SPEC.md §4), which are not findings:
//   1. A duplicate key at the top level of a line is invalid_event even when a duplicate key
//      inside the plan comes first; the old parser reported only the first duplicate it met, so it
//      answered invalid_plan (SPEC's rule was always invalid_event).
//   2. A NUL byte ended the old parser's input: whatever followed it was ignored. Now the line is
//      read whole, and a NUL byte outside a string is not JSON (invalid_event).
#include "legacy_event_parser.hpp"
#include "upline/door.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace upline;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "event_differential_fuzz: FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

struct Reading {
  Code code = Code::ok;
  std::string event;    // the event's JSON when accepted
  std::string message;  // the rejection's
  bool operator==(const Reading& o) const { return code == o.code && event == o.event; }
};

Reading of(const Event& e);

Reading read_now(std::string_view line) {
  EventReader reader;
  const Input in = reader.read(line);
  return in.event() ? of(*in.event()) : Reading{in.fault().code, {}, in.fault().message};
}

Reading read_then(std::string_view line) {
  const ParsedEvent p = legacy::parse_event(line);
  return std::holds_alternative<Event>(p) ? of(std::get<Event>(p)) : Reading{std::get<Rejection>(p).code, {}, std::get<Rejection>(p).message};
}

Reading of(const Event& e) {
  if (const auto* p = std::get_if<PlanChange>(&e); p && !p->plan) return Reading{Code::invalid_plan, {}, p->plan_fault};
  return Reading{Code::ok, event_json(e), {}};
}

bool starts_with(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  try {
    const Reading now = read_now(line), then = read_then(line);
    if (now == then) return 0;
    // Difference 1: a top-level duplicate after one inside the plan.
    if (now.code == Code::invalid_event && starts_with(now.message, "duplicate key ") && then.code == Code::invalid_plan &&
        then.message.find(": duplicate key ") != std::string::npos)
      return 0;
    // Difference 2: the old parser stopped at a NUL byte.
    if (const auto nul = line.find('\0'); nul != std::string_view::npos && now.code == Code::invalid_event && read_now(line.substr(0, nul)) == then)
      return 0;
    finding("the readers disagree on " + json_quote(line) + ": now " + std::string(code_name(now.code)) + " " + now.event + now.message +
            " | then " + std::string(code_name(then.code)) + " " + then.event + then.message);
  } catch (const std::exception& e) {
    finding(std::string("exception escaped: ") + e.what());
  }
  return 0;
}
