// cli.hpp — internal: the subcommands of the `upline` tool.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace upline::cli {

using Args = std::vector<std::string>;

int replay(const Args& args);
int check_plan(const Args& args);
int demo(const Args& args);
int generate(const Args& args);
int data_apply(const Args& args);
int data_status(const Args& args);
int data_dump(const Args& args);
int data_verify(const Args& args);
int data_export(const Args& args);
int data_snapshot(const Args& args);

/// Reads a whole file; nullopt (with `error` naming the path and the reason) when it cannot.
std::optional<std::string> read_file(const std::string& path, std::string& error);

/// Parses an integer in 0..2^64-1; prints an error starting with `option` when invalid.
std::optional<unsigned long long> parse_count(const std::string& option, const std::string& value);

}  // namespace upline::cli
