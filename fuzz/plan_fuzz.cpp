// plan_fuzz.cpp — a fuzz target for the plan reader (Plan::parse, src/plan.cpp) and what a valid plan
// goes on to: its canonical JSON, an engine built on it, and the plan as a plan event.
//
// Findings (abort): an exception escaping; a plan whose canonical JSON does not parse back to the
// same canonical JSON; a valid plan that Plan::validate refuses or that an Engine refuses; a plan
// event carrying a valid plan (read through the event reader) that is not accepted by an engine
// created from the same plan (SPEC §7: an identical plan is always compatible); an invalid plan that
// the event door does not report as invalid_plan (or invalid_event for bytes that are not JSON).
#include "upline/door.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace upline;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "plan_fuzz: FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    PlanFaults faults;
    auto plan = Plan::parse(text, faults);
    const std::string event = R"({"type":"plan","actor":"fuzz","at":1,"plan":)" + std::string(text) + "}";
    if (!plan) {
      if (faults.ok()) finding("an invalid plan without a fault");
      // As a plan event: never accepted (the engine would need a valid plan).
      PlanFaults f;
      Engine e(*Plan::parse(R"({"name":"p","shops":{"main":{"ratio":"1"}},"tiers":[{"name":"bronze","width":2,"rates":[]}]})", f));
      LineDoor door(e);
      const Code c = door.apply(event).code;
      if (c == Code::ok) finding("an invalid plan was accepted as a plan event: " + faults.message());
      return 0;
    }
    if (!plan->validate().ok()) finding("a parsed plan fails validate(): " + plan->validate().message());
    const std::string canonical = plan->canonical_json();
    PlanFaults again;
    auto back = Plan::parse(canonical, again);
    if (!back) finding("canonical JSON does not parse: " + again.message() + " in " + canonical);
    if (back->canonical_json() != canonical) finding("canonical JSON is not stable: " + canonical);
    Engine engine(std::move(*plan));
    LineDoor door(engine);
    const Outcome& out = door.apply(event);
    if (!out.ok()) finding("the same plan as a plan event was rejected: " + std::string(code_name(out.code)) + " " + out.message);
    if (engine.plan().canonical_json() != canonical) finding("the plan event installed another plan");
  } catch (const std::exception& e) {
    finding(std::string("exception escaped: ") + e.what());
  }
  return 0;
}
