// common.cpp — what the commands share: files, plans, counts, usage lines (cli.hpp).
#include "cli.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <sys/stat.h>

namespace upline::cli {

void check_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) fail(exit_usage, path + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(exit_usage, path + ": cannot open: " + std::strerror(errno));
}

std::string read_file(const std::string& path, std::size_t padding) {
  int fd = 0;  // standard input
  std::size_t expected = 0;
  if (path != "-") {
    check_file(path);
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(exit_usage, path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) expected = static_cast<std::size_t>(st.st_size);
  }
  // One buffer of the file's size (read in place: no copies), grown only for a pipe.
  std::string out(expected + padding, ' ');
  std::size_t used = 0;
  for (;;) {
    if (out.size() - used < padding + (1 << 16)) out.resize(std::max<std::size_t>(out.size() * 2, used + padding + (1 << 16)), ' ');
    const ssize_t n = ::read(fd, out.data() + used, out.size() - used - padding);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      if (fd != 0) ::close(fd);
      fail(exit_usage, (path == "-" ? std::string("standard input") : path) + ": read error: " + std::strerror(saved));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (fd != 0) ::close(fd);
  out.resize(used + padding);
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(used), out.end(), ' ');
  out.resize(used);  // the padding stays allocated past size()
  return out;
}

Plan load_plan(const std::string& name_or_path, std::string* text, std::string_view option) {
  std::string t;
  if (auto bundled = bundled_plan(name_or_path)) {
    t = std::string(*bundled);
  } else {
    try {
      t = read_file(name_or_path);
    } catch (const Failure& f) {
      fail(f.code(), std::string(option) + ": " + f.what());
    }
  }
  PlanFaults faults;
  auto plan = Plan::parse(t, faults);
  if (!plan) fail(exit_invalid, "invalid_plan: " + faults.message());
  if (text) *text = std::move(t);
  return std::move(*plan);
}

CLI::Validator count_in(std::uint64_t lo, std::uint64_t hi) {
  const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& v) -> std::string {
        const bool digits = !v.empty() && v.size() <= 20 && v.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || (v.size() == 20 && v > "18446744073709551615")) return "\"" + v + "\" is not an integer in " + range;
        const std::uint64_t n = std::stoull(v);
        if (n < lo || n > hi) return "\"" + v + "\" is out of range " + range;
        return {};
      },
      "N");
}

namespace {
std::map<const CLI::App*, std::string>& usages() {
  static std::map<const CLI::App*, std::string> u;
  return u;
}
std::map<const CLI::App*, Body>& bodies() {
  static std::map<const CLI::App*, Body> b;
  return b;
}
}  // namespace

void set_body(CLI::App* command, Body body) { bodies()[command] = std::move(body); }
int run_body(const CLI::App* command) { return bodies().at(command)(); }

void set_usage(CLI::App* command, std::string usage) { usages()[command] = std::move(usage); }

std::string usage_of(const CLI::App* command) {
  auto it = usages().find(command);
  return it == usages().end() ? std::string() : it->second;
}

}  // namespace upline::cli
