// main.cpp — the `upline` command: dispatch, help, and one style for every usage error.
#include "cli.hpp"

#include "upline/store.hpp"
#include "upline/version.hpp"

#include <cctype>
#include <cstdio>
#include <functional>
#include <map>

namespace {

using namespace upline::cli;

const char* const usage =
    "usage: upline <command> [options]\n"
    "\n"
    "Deterministic compensation engine for tiered-matrix loyalty plans.\n"
    "\n"
    "commands:\n"
    "  replay      apply a plan and an event stream; write the state (and effects)\n"
    "  check-plan  validate a plan and print a summary, or every fault found\n"
    "  demo        run a seeded shop simulation on the bundled four-tier plan\n"
    "  generate    write a seeded workload as JSON Lines that replay reads\n"
    "\n"
    "durable data directories:\n"
    "  apply       create or open DIR, append events durably, acknowledge each\n"
    "  status      last sequence number, digest, members, snapshot in use\n"
    "  dump        the state as of a sequence number or a time (SPEC §10 format)\n"
    "  verify      check every record and snapshot, replay from scratch, compare digests\n"
    "  export      the journal as JSON Lines\n"
    "  snapshot    write a snapshot now\n"
    "  archive     move journal segments no recovery needs to an archive directory\n"
    "  backup      a consistent copy of DIR, taken while a writer runs\n"
    "  serve       serve DIR over HTTP to many processes, group commit (docs/SERVER.md)\n"
    "\n"
    "Plans are a file, or a bundled plan by name: four-tier, deep.\n"
    "Run 'upline <command> --help' for a command's options.\n";

// Help: our usage line, the description, then CLI11's list of options.
class Help : public CLI::Formatter {
 public:
  std::string make_description(const CLI::App*) const override { return {}; }
  std::string make_usage(const CLI::App* app, std::string name) const override {
    const std::string u = usage_of(app);
    if (u.empty()) return CLI::Formatter::make_usage(app, std::move(name));
    return "usage: " + u + "\n\n" + app->get_description() + "\n";
  }
};

// A CLI11 parse error in our words.
std::string explain(const CLI::ParseError& e) {
  const std::string what = e.what();
  const auto colon = what.find(':');
  switch (e.get_exit_code()) {
    case static_cast<int>(CLI::ExitCodes::ArgumentMismatch): return what.substr(0, colon) + " needs a value";
    case static_cast<int>(CLI::ExitCodes::ConversionError): return "a value that is not valid (" + what.substr(what.find(':') + 2) + ")";
    default: return what;  // ValidationError and RequiredError carry our validators' and option names' words
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(usage, stderr);
    return exit_usage;
  }
  const std::string first = argv[1];
  if (first == "--help" || first == "-h" || (first == "help" && argc == 2)) {
    std::fputs(usage, stdout);
    return exit_ok;
  }
  if (first == "--version") {
    std::printf("upline %s\n", UPL_VERSION_STRING);
    return exit_ok;
  }

  CLI::App app{"Deterministic compensation engine for tiered-matrix loyalty plans.", "upline"};
  app.formatter(std::make_shared<Help>());
  app.require_subcommand(1);
  add_replay(app);
  add_check_plan(app);
  add_demo(app);
  add_generate(app);
  add_data_commands(app);
  add_serve(app);
  add_whatif(app);
  add_genealogy(app);
  add_forecast(app);
  // `upline help COMMAND` is `upline COMMAND --help`.
  const std::string wanted = first == "help" ? std::string(argv[2]) : first;
  CLI::App* command = nullptr;
  for (CLI::App* sub : app.get_subcommands({})) {
    sub->allow_extras();  // reported below in our words
    for (CLI::Option* opt : sub->get_options()) opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a repeated option keeps its last value
    if (sub->get_name() == wanted) command = sub;
  }
  if (command && first == "help") {
    std::fputs(command->help().c_str(), stdout);
    return exit_ok;
  }
  if (!command) {
    std::fprintf(stderr, "upline: unknown command \"%s\"\n\n%s", wanted.c_str(), usage);
    return exit_usage;
  }
  const std::string name = "upline " + command->get_name();
  // A usage error: the message, then the command's usage line.
  auto usage_error = [&](const std::string& message) {
    std::fprintf(stderr, "%s: %s\nusage: %s\n('%s --help' lists every option)\n", name.c_str(), message.c_str(), usage_of(command).c_str(), name.c_str());
    return exit_usage;
  };
  // Before CLI11 parses: --help wins over every other fault; an unknown option is named even when
  // a required one is missing; and an option that takes a value never takes the next option as
  // its value (`--dump --effects x` would otherwise write the dump to a file named "--effects").
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(command->help().c_str(), stdout);
      return exit_ok;
    }
  }
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.size() > 1 && a[0] == '-' && a[1] != '-' && !std::isdigit(static_cast<unsigned char>(a[1])))
      return usage_error("unknown option \"" + a + "\"");  // there are no short options but -h
    if (a.rfind("--", 0) != 0) continue;  // a value or an argument: CLI11 judges it
    const std::string key = a.substr(0, a.find('='));
    const CLI::Option* opt = command->get_option_no_throw(key);
    if (!opt) return usage_error("unknown option \"" + key + "\"");
    if (key.size() == a.size() && opt->get_expected_max() > 0 && i + 1 < argc) {
      if (std::string(argv[i + 1]).rfind("--", 0) == 0) return usage_error(key + " needs a value");
      ++i;  // its value
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(command->help().c_str(), stdout);
    return exit_ok;
  } catch (const CLI::ParseError& e) {
    return usage_error(explain(e));
  }
  if (const std::vector<std::string> extras = command->remaining(); !extras.empty()) {
    const std::string& extra = extras.front();
    return usage_error((extra.rfind('-', 0) == 0 ? "unknown option \"" : "unexpected argument \"") + extra + "\"");
  }
  try {
    return run_body(command);
  } catch (const Failure& f) {
    if (f.bare()) std::fprintf(stderr, "%s\n", f.what());
    else std::fprintf(stderr, "%s: %s\n", name.c_str(), f.what());
    return f.code();
  } catch (const upline::StoreError& e) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
    // A damaged data directory is invalid input (1); a usage fault or an I/O failure is 2.
    return e.kind() == upline::StoreError::Kind::corrupt ? exit_invalid : exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: internal error: %s\n", name.c_str(), e.what());
    return exit_internal;
  }
}
