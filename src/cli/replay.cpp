// replay.cpp — `upline replay`: the conformance interface of SPEC §10.
//
// The events file is mapped (files.hpp EventsFile), each non-blank line goes through the text
// door, result lines are written through one reused buffer, and the dump is written once at the end.
#include "cli.hpp"
#include "files.hpp"

#include "upline/door.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace upline::cli {

namespace {

struct ReplayOptions {
  std::string plan, events, dump, effects;
};

int replay(const ReplayOptions& o) {
  if (o.plan == "-" && o.events == "-") fail(exit_usage, "--plan and --events cannot both read standard input");
  if (same_file(o.dump, o.events)) fail(exit_usage, "--dump: " + o.dump + " is the events file");
  if (!o.effects.empty() && same_file(o.effects, o.events)) fail(exit_usage, "--effects: " + o.effects + " is the events file");
  Engine engine(load_plan(o.plan));
  const EventsFile file(o.events);

  std::unique_ptr<Output> effects;
  if (!o.effects.empty()) effects = std::make_unique<Output>(o.effects);
  LineDoor door(engine);
  std::string out;
  for_each_line(file, [&](std::uint64_t seq, std::string_view line, bool padded) {
    if (padded) door.apply_padded(line);
    else door.apply(line);  // the last line of a file that ends at a page boundary: copied
    if (effects) {
      door.append_result(out, seq);
      out += '\n';
      if (out.size() >= (1u << 20)) {
        effects->write(out);
        out.clear();
      }
    }
    return true;
  });
  if (effects) {
    effects->write(out);
    effects->close();
  }
  out.clear();
  append_dump_json(out, engine.state());
  Output dump(o.dump);
  dump.write(out);
  dump.close();
  return exit_ok;
}

}  // namespace

void add_replay(CLI::App& app) {
  auto o = std::make_shared<ReplayOptions>();
  CLI::App* c = app.add_subcommand("replay", "apply a plan and an event stream; write the state (and effects)");
  set_usage(c, "upline replay --plan PLAN.json --events EVENTS.jsonl --dump STATE.json [--effects EFFECTS.jsonl]");
  c->description(
      "Applies one JSON event per line of EVENTS.jsonl (blank lines skipped) to an engine built from\n"
      "PLAN.json (a file, or a bundled plan: four-tier, deep), then writes the final state to\n"
      "STATE.json (SPEC §10). With --effects, also writes one line per event:\n"
      "{\"seq\":n,\"status\":\"ok\"|CODE,\"effects\":[...]}, plus \"message\" for a rejection.\n"
      "'-' as a path means standard input (events) or standard output (dump, effects).\n"
      "If PLAN.json is invalid nothing is written and the exit status is 1.");
  c->add_option("--plan", o->plan, "the plan: a file or a bundled name")->required()->type_name("PLAN.json");
  c->add_option("--events", o->events, "one JSON event per line ('-': standard input)")->required()->type_name("EVENTS.jsonl");
  c->add_option("--dump", o->dump, "where the final state goes ('-': standard output)")->required()->type_name("STATE.json");
  c->add_option("--effects", o->effects, "one result line per event ('-': standard output)")->type_name("EFFECTS.jsonl");
  set_body(c, [o] { return replay(*o); });
}

}  // namespace upline::cli
