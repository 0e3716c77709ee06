// `upline dump --until`: sequence numbers, @MS and ISO-8601 UTC times (src/cli/until.hpp).
#include "cli/until.hpp"
#include "upline/statement.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace upline;
using upline::cli::parse_until;

TEST_CASE("cli: parse_until (dump --until)") {
  auto seq = [](std::string_view s) -> std::optional<std::int64_t> {
    auto u = parse_until(s);
    if (!u || u->by != Until::By::seq) return std::nullopt;
    return u->value;
  };
  auto time = [](std::string_view s) -> std::optional<std::int64_t> {
    auto u = parse_until(s);
    if (!u || u->by != Until::By::time) return std::nullopt;
    return u->value;
  };
  CHECK(seq("42") == 42);
  CHECK(seq("0") == 0);
  CHECK(seq("000017") == 17);
  CHECK(seq("999999999999999999") == 999999999999999999);
  CHECK(time("@1000") == 1000);
  CHECK(time("@0") == 0);
  CHECK(time("1970-01-01T00:00:00Z") == 0);
  CHECK(time("1970-01-01T00:00:01Z") == 1000);
  CHECK(time("1970-01-01T00:00:01.000Z") == 1000);
  CHECK(time("2026-01-01T00:00:00Z") == 1767225600000);
  CHECK(time("2026-01-01T00:00:00.250Z") == 1767225600250);
  CHECK(time("2000-02-29T23:59:59.999Z") == 951868799999);
  CHECK(time("2024-12-31T12:30:45Z") == 1735648245000);
  CHECK(time("2100-03-01T00:00:00Z") == 4107542400000);
  for (const char* bad : {"", "-1", "+1", "1.5", "42x", " 42", "@", "@-5", "@1e3", "abc", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
                          "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z",
                          "2026-01-01T00:00:60Z", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00", "2026-01-01T00:00:00.25Z",
                          "2026-01-01T00:00:00.2500Z", "2026-01-01T00:00:00,250Z", "1969-12-31T23:59:59Z", "2026-1-01T00:00:00Z",
                          "2026-01-01T00:00:00+01:00", "9999999999999999999", "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z",
                          "2026-04-31T00:00:00Z"}) {
    const std::string text = bad;
    CAPTURE(text);
    CHECK(!parse_until(text));
  }
  CHECK(time("2024-02-29T00:00:00Z") == 1709164800000);  // a leap day is a day
}


TEST_CASE("statement times: ms, @MS, a date, an ISO-8601 UTC time (statement.hpp)") {
  CHECK(parse_statement_time("1798761600000") == 1798761600000);
  CHECK(parse_statement_time("0") == 0);
  CHECK(parse_statement_time("@42") == 42);
  CHECK(parse_statement_time("9223372036854775807") == INT64_MAX);  // every applied time can be a bound
  CHECK(parse_statement_time("@1000000000000000006") == 1000000000000000006);
  CHECK(parse_statement_time("0000000000000000042") == 42);
  CHECK(parse_statement_time("2027-01-01") == 1798761600000);
  CHECK(parse_statement_time("1970-01-01") == 0);
  CHECK(parse_statement_time("2024-02-29") == 1709164800000);
  CHECK(parse_statement_time("2026-01-01T00:00:00.250Z") == 1767225600250);
  for (const char* bad : {"", "-1", "@", "@-1", "2026-02-30", "2025-02-29", "2026-1-01", "2026-01-01T", "2026-01-01Z", "26-01-01", "2026/01/01",
                          "1969-12-31", "2026-13-01", "9223372036854775808", "@9223372036854775808",
                          "9999999999999999999", "18446744073709551616", "00000000000000000042", "@", "@@1", "soon"}) {
    const std::string text = bad;
    CAPTURE(text);
    CHECK(!parse_statement_time(text));
  }
  CHECK(statement_time_fault("from", "x\"y") == R"(from: "x\"y" is not a time (milliseconds since the epoch, @MS, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z, UTC))");
  // dump --until reads the same times (a plain number stays a sequence number there).
  CHECK(parse_until("2027-01-01")->by == Until::By::time);
  CHECK(parse_until("2027-01-01")->value == 1798761600000);
  CHECK(parse_until("17")->by == Until::By::seq);
  CHECK(!parse_until("1000000000000000000"));  // 19 digits: too long for a sequence number, and not a time here
}
