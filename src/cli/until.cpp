// until.cpp — ISO-8601 UTC times and sequence numbers for `upline dump --until` (until.hpp).
#include "until.hpp"

#include <string>

namespace upline::cli {

std::optional<Until> parse_until(std::string_view s) noexcept {
  auto digits = [](std::string_view d) { return !d.empty() && d.size() <= 18 && d.find_first_not_of("0123456789") == std::string_view::npos; };
  if (digits(s)) return Until{Until::By::seq, std::stoll(std::string(s))};
  if (s.size() > 1 && s[0] == '@' && digits(s.substr(1))) return Until{Until::By::time, std::stoll(std::string(s.substr(1)))};
  // YYYY-MM-DDTHH:MM:SS[.mmm]Z
  if (s.size() != 20 && s.size() != 24) return std::nullopt;
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s.back() != 'Z') return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) -> long long {
    std::string_view d = s.substr(at, n);
    return digits(d) ? std::stoll(std::string(d)) : -1;
  };
  long long y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), sec = num(17, 2), ms = 0;
  if (s.size() == 24) {
    if (s[19] != '.') return std::nullopt;
    ms = num(20, 3);
  }
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || ms < 0) return std::nullopt;
  static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > month_days[mo - 1] + (mo == 2 && leap)) return std::nullopt;
  // Days from the civil date (Howard Hinnant's algorithm), exact, no time zone.
  y -= mo <= 2;
  const long long era = y / 400, yoe = y - era * 400;
  const long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const long long days = era * 146097 + doe - 719468;
  return Until{Until::By::time, ((days * 24 + h) * 60 + mi) * 60'000 + sec * 1000 + ms};
}

}  // namespace upline::cli
