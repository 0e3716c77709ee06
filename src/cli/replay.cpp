// replay.cpp — `upline replay`: the conformance interface of SPEC §10.
#include "cli.hpp"

#include "upline/json.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>

namespace upline::cli {

namespace {

const char* const replay_usage =
    "usage: upline replay --plan PLAN.json --events EVENTS.jsonl --dump STATE.json [--effects EFFECTS.jsonl]\n"
    "\n"
    "Applies one JSON event per line of EVENTS.jsonl (blank lines skipped) to an engine built\n"
    "from PLAN.json, then writes the final state to STATE.json (SPEC §10). With --effects, also\n"
    "writes one line per event: {\"seq\":n,\"status\":\"ok\"|CODE,\"effects\":[...]}, plus\n"
    "\"message\" for a rejection. '-' as a path means standard input (events) or output.\n"
    "If PLAN.json is invalid nothing is written and the exit status is 1.\n";

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r\n\f\v") == std::string::npos;
}

}  // namespace

int replay(const Args& args) {
  std::string plan_path, events_path, dump_path, effects_path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(replay_usage, stdout);
      return 0;
    }
    std::string* target = a == "--plan" ? &plan_path : a == "--events" ? &events_path : a == "--dump" ? &dump_path : a == "--effects" ? &effects_path : nullptr;
    if (!target) {
      std::fprintf(stderr, "upline replay: unknown option \"%s\"\n\n%s", a.c_str(), replay_usage);
      return 2;
    }
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "upline replay: %s needs a value\n", a.c_str());
      return 2;
    }
    *target = args[++i];
  }
  if (plan_path.empty() || events_path.empty() || dump_path.empty()) {
    std::fprintf(stderr, "upline replay: --plan, --events and --dump are required\n\n%s", replay_usage);
    return 2;
  }

  std::string err;
  auto plan_text = read_file(plan_path, err);
  if (!plan_text) {
    std::fprintf(stderr, "upline replay: %s\n", err.c_str());
    return 2;
  }
  PlanFaults faults;
  auto plan = Plan::parse(*plan_text, faults);
  if (!plan) {
    std::fprintf(stderr, "invalid_plan: %s\n", faults.message().c_str());
    return 1;
  }

  std::ifstream events_file;
  std::istream* events = &std::cin;
  if (events_path != "-") {
    events_file.open(events_path, std::ios::binary);
    if (!events_file) {
      std::fprintf(stderr, "upline replay: %s: cannot open\n", events_path.c_str());
      return 2;
    }
    events = &events_file;
  }
  std::ofstream effects_file;
  std::ostream* effects_out = nullptr;
  if (!effects_path.empty()) {
    if (effects_path == "-") {
      effects_out = &std::cout;
    } else {
      effects_file.open(effects_path, std::ios::binary | std::ios::trunc);
      if (!effects_file) {
        std::fprintf(stderr, "upline replay: %s: cannot create\n", effects_path.c_str());
        return 2;
      }
      effects_out = &effects_file;
    }
  }

  Engine engine(std::move(*plan));
  std::vector<Effect> effects;
  std::string line;
  std::uint64_t seq = 0;
  while (std::getline(*events, line)) {
    if (blank(line)) continue;
    ++seq;
    Rejection why;
    apply_parsed(engine, parse_event(line), effects, &why);
    if (effects_out) *effects_out << result_json(engine, seq, why.code, why.message, effects) << '\n';
  }
  if (events->bad()) {
    std::fprintf(stderr, "upline replay: %s: read error\n", events_path.c_str());
    return 2;
  }

  const std::string state = dump_json(engine);
  if (dump_path == "-") {
    std::cout << state;
  } else {
    std::ofstream out(dump_path, std::ios::binary | std::ios::trunc);
    out << state;
    if (!out) {
      std::fprintf(stderr, "upline replay: %s: cannot write\n", dump_path.c_str());
      return 2;
    }
  }
  if (effects_out) {
    effects_out->flush();
    if (!*effects_out) {
      std::fprintf(stderr, "upline replay: %s: cannot write\n", effects_path.c_str());
      return 2;
    }
  }
  return 0;
}

}  // namespace upline::cli
