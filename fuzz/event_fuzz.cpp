// event_fuzz.cpp — a fuzz target for the event reader (src/event_reader.cpp) and everything a line
// reaches behind it: the bytes are one event line, applied to a small engine that has members,
// an order, a redemption and two tiers to promote into.
//
// Findings (abort): an exception escaping; an accepted line whose event, written back as JSON
// (append_event_json) and read again, is not the same event; the same line giving different
// outcomes, effects or digests on two engines built alike (determinism); a rejection that changes
// the digest; a result line that is not what the JSON door promises (the code's name first).
#include "upline/door.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace upline;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "event_fuzz: FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

const char* const plan_json = R"({"name":"fuzz","money_scale":2,"points_scale":2,"refund_window_days":30,
  "shops":{"main":{"ratio":"1"},"outlet":{"ratio":"0.5","min_basket":"5.00"}},
  "history":[{"orders":0,"multiplier":"1"},{"orders":2,"multiplier":"1.1"}],
  "tiers":[{"name":"bronze","width":2,"rates":["0.1","0.05"]},
           {"name":"silver","width":2,"fill":"under_sponsor","upline_multiplier":"1.2","rates":["0.02"],
            "promote_at":{"lifetime_points":"50","direct_referrals":{"count":1,"min_tier":"bronze"}}},
           {"name":"gold","width":3,"rates":[],"promote_at":{"filled_levels":1}}],
  "rewards":[{"id":"r-10","lifetime_points":"10"}]})";

// An engine with members 1..6 (a little tree), order "o-1" of member 4 and redemption "r-1".
// The plan is parsed once: parsing it for every run cost most of the fuzzer's time.
const Plan& fuzz_plan() {
  static const Plan plan = [] {
    PlanFaults faults;
    auto p = Plan::parse(plan_json, faults);
    if (!p) finding("the fuzz plan is invalid: " + faults.message());
    return std::move(*p);
  }();
  return plan;
}

Engine make_engine() {
  Engine e{Plan(fuzz_plan())};
  LineDoor door(e);
  for (const char* line : {R"({"type":"join","member":1,"at":1000})", R"({"type":"join","member":2,"sponsor":1,"at":1001})",
                           R"({"type":"join","member":3,"sponsor":1,"at":1002})", R"({"type":"join","member":4,"sponsor":2,"at":1003})",
                           R"({"type":"join","member":5,"sponsor":2,"at":1004})", R"({"type":"join","member":6,"sponsor":3,"at":1005})",
                           R"({"type":"purchase","order":"o-1","member":4,"shop":"main","amount":"100.00","at":2000})",
                           R"({"type":"redeem","member":4,"points":"1.00","ref":"r-1","at":2001})", R"({"type":"suspend","member":6,"at":2002})"})
    if (!door.apply(line).ok()) finding(std::string("setup line rejected: ") + line + ": " + door.outcome().message);
  return e;
}

struct Run {
  std::string result;
  std::string digest;
  Code code = Code::ok;
};

Run run(std::string_view line) {
  Engine e = make_engine();
  const std::string before = e.digest();
  LineDoor door(e);
  Run r;
  const Outcome& out = door.apply(line);
  r.code = out.code;
  door.append_result(r.result, 1);
  r.digest = e.digest();
  if (!out.ok() && r.digest != before) finding("a rejected line changed the digest");
  if (!out.ok() && !out.effects.empty()) finding("a rejected line has effects");
  const std::string prefix = R"({"seq":1,"status":")" + std::string(code_name(out.code)) + "\"";
  if (r.result.compare(0, prefix.size(), prefix) != 0) finding("result line does not start with its status: " + r.result);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  try {
    // The event read back from its own JSON is the same event.
    EventReader reader, again;
    const Input in = reader.read(line);
    const auto* change = in.event() ? std::get_if<PlanChange>(in.event()) : nullptr;
    if (change && !change->plan) {
      // A plan event whose plan breaks SPEC §3: a fault on its way to the engine, not an event to
      // write back.
      if (change->plan_fault.rfind("plan: ", 0) != 0) finding("a plan fault without its \"plan: \" prefix: " + change->plan_fault);
    } else if (in.event()) {
      const std::string written = event_json(*in.event());
      const Input back = again.read(written);
      if (!back.event()) finding("an event's own JSON is rejected: " + written + " (" + back.fault().message + ")");
      if (event_json(*back.event()) != written) finding("round trip changed the event: " + written + " vs " + event_json(*back.event()));
    } else if (in.fault().code != Code::invalid_event && in.fault().code != Code::invalid_plan) {
      finding("the reader rejected with " + std::string(code_name(in.fault().code)));
    }
    // Two engines built alike agree on everything.
    const Run a = run(line), b = run(line);
    if (a.result != b.result || a.digest != b.digest) finding("two runs of the same line differ: " + a.result + " vs " + b.result);
  } catch (const std::exception& e) {
    finding(std::string("exception escaped: ") + e.what());
  }
  return 0;
}
