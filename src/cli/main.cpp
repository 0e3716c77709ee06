// main.cpp — the `upline` command: replay, check-plan, demo, generate, and the data-directory commands.
#include "cli.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace upline::cli {

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open: " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    error = path + ": read error";
    return std::nullopt;
  }
  return ss.str();
}

std::optional<unsigned long long> parse_count(const std::string& option, const std::string& value) {
  const bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || value.size() > 20 || (value.size() == 20 && value > "18446744073709551615")) {
    std::fprintf(stderr, "%s: \"%s\" is not an integer in 0..18446744073709551615\n", option.c_str(), value.c_str());
    return std::nullopt;
  }
  return std::stoull(value);
}

}  // namespace upline::cli

namespace {

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
    "\n"
    "Run 'upline <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  upline::cli::Args args(argv + 2, argv + argc);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(usage, stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::puts("upline 0.1.0");
    return 0;
  }
  try {
    if (cmd == "replay") return upline::cli::replay(args);
    if (cmd == "check-plan") return upline::cli::check_plan(args);
    if (cmd == "demo") return upline::cli::demo(args);
    if (cmd == "generate") return upline::cli::generate(args);
    if (cmd == "apply") return upline::cli::data_apply(args);
    if (cmd == "status") return upline::cli::data_status(args);
    if (cmd == "dump") return upline::cli::data_dump(args);
    if (cmd == "verify") return upline::cli::data_verify(args);
    if (cmd == "export") return upline::cli::data_export(args);
    if (cmd == "snapshot") return upline::cli::data_snapshot(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "upline: internal error: %s\n", e.what());
    return 3;  // distinct from 1 (invalid plan) and 2 (usage, I/O)
  }
  std::fprintf(stderr, "upline: unknown command \"%s\"\n\n%s", cmd.c_str(), usage);
  return 2;
}
