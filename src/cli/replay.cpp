// replay.cpp — `upline replay`: the conformance interface of SPEC §10.
//
// The events file is read whole into one buffer (with the padding the event reader wants after
// each line), each non-blank line goes through the text door, result lines are written through
// one reused buffer, and the dump is written once at the end.
#include "cli.hpp"

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

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos; }

// An output file ("-": standard output) written through a buffer; every failure names the path.
class Output {
 public:
  explicit Output(const std::string& path) : path_(path) {
    if (path == "-") {
      f_ = stdout;
      return;
    }
    f_ = std::fopen(path.c_str(), "wb");
    if (!f_) fail(exit_usage, path + ": cannot create: " + std::strerror(errno));
  }
  ~Output() {
    if (f_ && f_ != stdout) std::fclose(f_);
  }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  void write(std::string_view s) {
    if (std::fwrite(s.data(), 1, s.size(), f_) != s.size()) fail(exit_usage, path_ + ": cannot write: " + std::strerror(errno));
  }
  void close() {
    const bool ok = std::fflush(f_) == 0 && (f_ == stdout || std::fclose(f_) == 0);
    if (f_ != stdout) f_ = nullptr;
    if (!ok) fail(exit_usage, path_ + ": cannot write: " + std::strerror(errno));
  }

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
};

int replay(const ReplayOptions& o) {
  Engine engine(load_plan(o.plan));
  const std::string events = read_file(o.events, EventReader::padding);  // read_padded may look past the last line
  const std::size_t size = events.size();

  std::unique_ptr<Output> effects;
  if (!o.effects.empty()) effects = std::make_unique<Output>(o.effects);
  LineDoor door(engine);
  std::string out;
  std::uint64_t seq = 0;
  for (std::size_t pos = 0; pos < size;) {
    const char* nl = static_cast<const char*>(std::memchr(events.data() + pos, '\n', size - pos));
    const std::size_t end = nl ? static_cast<std::size_t>(nl - events.data()) : size;
    const std::string_view line(events.data() + pos, end - pos);
    pos = end + 1;
    if (blank(line)) continue;
    ++seq;
    door.apply_padded(line);
    if (effects) {
      door.append_result(out, seq);
      out += '\n';
      if (out.size() >= (1u << 20)) {
        effects->write(out);
        out.clear();
      }
    }
  }
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
