// until.cpp — sequence numbers and times for `--until` (until.hpp).
#include "until.hpp"

#include "upline/statement.hpp"

#include <string>

namespace upline::cli {

std::optional<Until> parse_until(std::string_view s) noexcept {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos) {
    if (s.size() > 18) return std::nullopt;  // digits are a sequence number here, never a time
    return Until{Until::By::seq, std::stoll(std::string(s))};
  }
  // Every other form is a time, read as a statement's bounds are (statement.hpp).
  if (const auto t = parse_statement_time(s)) return Until{Until::By::time, *t};
  return std::nullopt;
}

}  // namespace upline::cli
