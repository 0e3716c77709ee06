// cli.hpp — internal: the `upline` command's pieces. One file per command registers it on the
// CLI11 app (add_*); common.cpp holds what they share: exit codes, one message style, files,
// plans by bundled name or path, counts.
//
// Messages: `upline COMMAND: WHAT` on standard error, naming the option or file, the value and
// the rule; never a library's exception text. Exit codes (docs/CLI.md): 0 done, 1 the input is
// invalid or damaged (an invalid plan, a damaged data directory, verify failed), 2 usage or I/O
// (a bad option, a file that cannot be read or written, a directory where a file belongs),
// 3 an internal error.
#pragma once

#include "upline/plan.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace upline::cli {

enum Exit : int { exit_ok = 0, exit_invalid = 1, exit_usage = 2, exit_internal = 3 };

/// Ends a command: main prints `upline COMMAND: message` (or the message alone when `bare`) and
/// exits with `code`.
class Failure : public std::runtime_error {
 public:
  Failure(int code, const std::string& message, bool bare = false) : std::runtime_error(message), code_(code), bare_(bare) {}
  int code() const noexcept { return code_; }
  bool bare() const noexcept { return bare_; }

 private:
  int code_;
  bool bare_;
};

[[noreturn]] inline void fail(int code, const std::string& message) { throw Failure(code, message); }

/// The whole content of a file ("-": standard input), read in place. The string's capacity holds
/// `padding` more readable bytes (for readers that look past the end). Failure(exit_usage)
/// when it cannot be read: `PATH: cannot open: REASON`, `PATH: is a directory, not a file`.
std::string read_file(const std::string& path, std::size_t padding = 0);
/// The checks of read_file without reading: Failure(exit_usage) for a directory or a file that
/// cannot be opened.
void check_file(const std::string& path);

/// A plan from a bundled name (plan.hpp bundled_plan: "four-tier", "deep") or a file, given by
/// `option` ("--plan", named in a failure). An invalid plan is Failure(exit_invalid,
/// "invalid_plan: FAULTS"). `text` (optional) receives the plan's JSON text.
Plan load_plan(const std::string& name_or_path, std::string* text = nullptr, std::string_view option = "--plan");

/// A validator for an integer option in [lo, hi]: `"X" is not an integer in LO..HI`,
/// `"X" is out of range LO..HI`.
CLI::Validator count_in(std::uint64_t lo, std::uint64_t hi);

/// Sets a command's usage line (shown first by --help and after a usage error).
void set_usage(CLI::App* command, std::string usage);
std::string usage_of(const CLI::App* command);

/// A command's body: runs after its options parsed; returns the exit code or throws Failure.
using Body = std::function<int()>;
void set_body(CLI::App* command, Body body);
int run_body(const CLI::App* command);

// The commands.
void add_replay(CLI::App& app);
void add_check_plan(CLI::App& app);
void add_demo(CLI::App& app);
void add_generate(CLI::App& app);
void add_data_commands(CLI::App& app);  // apply, status, dump, verify, export, snapshot
void add_serve(CLI::App& app);
void add_whatif(CLI::App& app);
void add_genealogy(CLI::App& app);
void add_forecast(CLI::App& app);

}  // namespace upline::cli
