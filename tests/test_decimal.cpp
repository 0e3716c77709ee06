// Tests for upline/points.hpp: the decimal grammar of SPEC §2, exact conversion to units at a
// scale, printing, and the one rounding rule (half to even).
#include "upline/accrual.hpp"
#include "upline/decimal.hpp"
#include "upline/ledger.hpp"
#include "upline/propagation.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

using upline::Decimal;
using upline::format_rate;
using upline::format_units;
using upline::int256;
using upline::Rate;
using upline::u128;
using Fit = upline::Decimal::Fit;

namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kSentinel = -777;

struct Conv {
  Fit fit;
  std::int64_t units;
};

// Parses `text` (which must match the grammar) and converts it at `scale`.
Conv conv(std::string_view text, int scale) {
  auto d = Decimal::parse(text);
  REQUIRE_MESSAGE(d.has_value(), "not parsed: " << std::string(text));
  std::int64_t u = kSentinel;
  Fit f = d->to_units(scale, u);
  return {f, u};
}

bool ok_units(std::string_view text, int scale, std::int64_t expected) {
  Conv c = conv(text, scale);
  return c.fit == Fit::ok && c.units == expected;
}

// `digits` with a decimal point inserted before the last `scale` digits.
std::string with_point(const std::string& digits, int scale) {
  if (scale == 0) return digits;
  return digits.substr(0, digits.size() - static_cast<std::size_t>(scale)) + "." +
         digits.substr(digits.size() - static_cast<std::size_t>(scale));
}

// u128 / int64 helpers so that doctest never has to print an __int128.
std::int64_t i64(u128 v) { return static_cast<std::int64_t>(v); }

struct Lcg {
  std::uint64_t s;
  std::uint64_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return s >> 11;
  }
};

}  // namespace

// ---- grammar --------------------------------------------------------------------------------------

TEST_CASE("points: Decimal::parse accepts the SPEC §2 grammar") {
  const char* good[] = {"0", "00", "007.50", "-1.2", "-0", "-0.000", "1", "12.50", "123456789",
                        "0.000001", "1.0000000000", "000000000000000000000001.5000000000",
                        "99999999999999999999999999999", "-12345678901234567890.123456789"};
  for (const char* t : good) {
    CAPTURE(t);
    auto d = Decimal::parse(t);
    REQUIRE(d.has_value());
    CHECK(d->text() == t);
    CHECK(d->well_formed());
  }
}

TEST_CASE("points: Decimal::parse rejects everything else") {
  const char* bad[] = {"",     "+5",  ".5",   "5.",  "1e3",  " 1",   "1 ",   "1,5",  "--1", "-",
                       "-.5",  "1.2.3", "0x10", "1E3", "1e-3", "abc",  "1.-2", "- 1",  "1_000", "\t1",
                       "1.",   ".",   "-5.",  "+0",  "١",    "1.5e", "NaN",  "inf"};
  for (const char* t : bad) {
    CAPTURE(t);
    CHECK_FALSE(Decimal::parse(t).has_value());
  }
  // An embedded NUL is not a digit.
  CHECK_FALSE(Decimal::parse(std::string_view("1\0", 2)).has_value());
}

TEST_CASE("points: sign and zero") {
  CHECK(Decimal::parse("-1.2")->negative());
  CHECK_FALSE(Decimal::parse("1.2")->negative());
  CHECK(Decimal::parse("0")->is_zero());
  CHECK(Decimal::parse("-0")->is_zero());
  CHECK(Decimal::parse("-0.000")->is_zero());
  CHECK_FALSE(Decimal::parse("-0.000")->negative());  // zero is never signed
  CHECK_FALSE(Decimal::parse("0.001")->is_zero());
  CHECK(ok_units("-0", 0, 0));
  CHECK(ok_units("-0.00", 2, 0));
}

// ---- to_units -----------------------------------------------------------------------------------

TEST_CASE("points: to_units is exact at scales 0..6") {
  CHECK(ok_units("0", 0, 0));
  CHECK(ok_units("007.50", 2, 750));
  CHECK(ok_units("-1.2", 1, -12));
  CHECK(ok_units("-1.2", 6, -1'200'000));
  CHECK(ok_units("12.5", 1, 125));
  CHECK(ok_units("12.5", 2, 1250));
  CHECK(ok_units("12.5", 3, 12500));
  CHECK(ok_units("12.5", 4, 125000));
  CHECK(ok_units("12.5", 5, 1250000));
  CHECK(ok_units("12.5", 6, 12500000));
  CHECK(conv("12.5", 0).fit == Fit::too_many_decimals);
  CHECK(ok_units("12", 0, 12));
  CHECK(ok_units("12", 6, 12'000'000));
  CHECK(ok_units("0.000001", 6, 1));
  CHECK(conv("0.000001", 5).fit == Fit::too_many_decimals);
  CHECK(conv("0.0000001", 6).fit == Fit::too_many_decimals);
  CHECK(conv("-0.0000001", 6).fit == Fit::too_many_decimals);

  // Trailing zeros beyond the scale are fine; significant digits beyond it are not.
  CHECK(ok_units("1.230", 2, 123));
  CHECK(ok_units("1.2300000000000", 2, 123));
  CHECK(ok_units("5.000", 0, 5));
  CHECK(conv("1.235", 2).fit == Fit::too_many_decimals);
  CHECK(conv("1.2301", 2).fit == Fit::too_many_decimals);
  CHECK(conv("1.00000000001", 6).fit == Fit::too_many_decimals);

  // Long runs of zeros on both sides.
  CHECK(ok_units("000000000000000000000001.5000000000", 1, 15));
  CHECK(ok_units("000000000000000000000001.5000000000", 6, 1'500'000));
  CHECK(conv("000000000000000000000001.5000000000", 0).fit == Fit::too_many_decimals);
  CHECK(ok_units("-000000000000000000000000000000", 3, 0));
  CHECK(ok_units("0.000000000000000000000000000000", 0, 0));
}

TEST_CASE("points: to_units writes `out` only on success") {
  auto d = Decimal::parse("1.235");
  std::int64_t out = kSentinel;
  CHECK(d->to_units(2, out) == Fit::too_many_decimals);
  CHECK(out == kSentinel);
  d = Decimal::parse("99999999999999999999");
  CHECK(d->to_units(0, out) == Fit::out_of_range);
  CHECK(out == kSentinel);
}

TEST_CASE("points: to_units int64 edges at every scale") {
  const std::string max_digits = "9223372036854775807";   // INT64_MAX
  const std::string over_digits = "9223372036854775808";  // INT64_MAX + 1 == 2^63
  const std::string over2_digits = "9223372036854775809"; // 2^63 + 1
  for (int s = 0; s <= 6; ++s) {
    CAPTURE(s);
    CHECK(ok_units(with_point(max_digits, s), s, kMax));
    CHECK(conv(with_point(over_digits, s), s).fit == Fit::out_of_range);
    // Negative side: exactly INT64_MIN units is representable.
    CHECK(ok_units("-" + with_point(over_digits, s), s, kMin));
    CHECK(conv("-" + with_point(over2_digits, s), s).fit == Fit::out_of_range);
    // The printed extremes round-trip.
    CHECK(ok_units(format_units(kMax, s), s, kMax));
    CHECK(ok_units(format_units(kMin, s), s, kMin));
  }
  CHECK(ok_units("-9223372036854775808", 0, kMin));
  CHECK(conv("-9223372036854775809", 0).fit == Fit::out_of_range);
  // A value that fits at a small scale but not at a larger one.
  CHECK(ok_units("9223372036854775807", 0, kMax));
  CHECK(conv("9223372036854775807", 1).fit == Fit::out_of_range);
  CHECK(ok_units("92233720368547758.07", 2, kMax));
  CHECK(conv("92233720368547758.08", 2).fit == Fit::out_of_range);
  CHECK(conv("92233720368547758.07", 3).fit == Fit::out_of_range);
  // 19 digits times 10^6 does not wrap.
  CHECK(conv("9999999999999999999", 6).fit == Fit::out_of_range);
  CHECK(conv("1000000000000000000", 6).fit == Fit::out_of_range);
}

TEST_CASE("points: 20+ digit integers are out of range") {
  const char* huge[] = {"10000000000000000000", "99999999999999999999", "-10000000000000000000",
                        "123456789012345678901234567890", "18446744073709551616",  // 2^64
                        "340282366920938463463374607431768211456"};                // 2^128
  for (const char* t : huge)
    for (int s = 0; s <= 6; ++s) {
      CAPTURE(t);
      CAPTURE(s);
      CHECK(conv(t, s).fit == Fit::out_of_range);
    }
  // Leading zeros do not make a number large.
  CHECK(ok_units("000000000000000000000000000000000000042", 0, 42));
  CHECK(ok_units("-000000000000000000000009223372036854775808", 0, kMin));
  // With a 20+ digit integer part and extra decimals, either fault is a rejection.
  CHECK(conv("12345678901234567890.1234567", 2).fit != Fit::ok);
}

TEST_CASE("points: Decimal::lenient") {
  const char* garbage[] = {"", "abc", "1e3", "+5", ".5", "5.", " 1", "1,5", "--1"};
  for (const char* t : garbage) {
    CAPTURE(t);
    Decimal d = Decimal::lenient(t);
    CHECK_FALSE(d.well_formed());
    CHECK(d.text() == t);
    CHECK_FALSE(d.is_zero());
    std::int64_t out = kSentinel;
    for (int s = 0; s <= 6; ++s) CHECK(d.to_units(s, out) == Fit::not_a_decimal);
    CHECK(out == kSentinel);
  }
  // Well-formed text behaves exactly like parse().
  Decimal d = Decimal::lenient("12.50");
  CHECK(d.well_formed());
  std::int64_t out = 0;
  CHECK(d.to_units(2, out) == Fit::ok);
  CHECK(out == 1250);
  CHECK(Decimal::lenient("1.235").to_units(2, out) == Fit::too_many_decimals);
}

TEST_CASE("points: Decimal::from_units") {
  CHECK(Decimal::from_units(1250, 2).text() == "12.50");
  CHECK(Decimal::from_units(-5, 3).text() == "-0.005");
  CHECK(Decimal::from_units(0, 0).text() == "0");
  std::int64_t out = 0;
  CHECK(Decimal::from_units(kMin, 4).to_units(4, out) == Fit::ok);
  CHECK(out == kMin);
}

// ---- printing -----------------------------------------------------------------------------------

TEST_CASE("points: format_units") {
  CHECK(format_units(1250, 2) == "12.50");
  CHECK(format_units(1250, 0) == "1250");
  CHECK(format_units(5, 2) == "0.05");
  CHECK(format_units(5, 1) == "0.5");
  CHECK(format_units(123, 6) == "0.000123");
  CHECK(format_units(1'000'000, 6) == "1.000000");
  CHECK(format_units(-1, 0) == "-1");
  CHECK(format_units(-1, 3) == "-0.001");
  CHECK(format_units(-1250, 2) == "-12.50");
  CHECK(format_units(-100, 2) == "-1.00");
  CHECK(format_units(kMax, 0) == "9223372036854775807");
  CHECK(format_units(kMax, 2) == "92233720368547758.07");
  CHECK(format_units(kMin, 0) == "-9223372036854775808");
  CHECK(format_units(kMin, 6) == "-9223372036854.775808");
  // Zero: never signed, exactly `scale` decimals, no point at scale 0.
  CHECK(format_units(0, 0) == "0");
  CHECK(format_units(0, 1) == "0.0");
  CHECK(format_units(0, 2) == "0.00");
  CHECK(format_units(0, 6) == "0.000000");
  for (int s = 0; s <= 6; ++s) {
    CAPTURE(s);
    CHECK(format_units(0, s).find('-') == std::string::npos);
    CHECK((format_units(7, s).find('.') == std::string::npos) == (s == 0));
  }
}

TEST_CASE("points: format_units matches the printed grammar and round-trips") {
  Lcg rng{12345};
  for (int i = 0; i < 5000; ++i) {
    const int s = static_cast<int>(rng.next() % 7);
    std::int64_t u = static_cast<std::int64_t>(rng.next() << 11);  // full 64-bit range
    if (i % 3 == 0) u >>= (rng.next() % 63);                        // plenty of small values
    const std::string t = format_units(u, s);
    CAPTURE(t);
    CAPTURE(s);
    // -?[0-9]+(\.[0-9]{s})?
    const std::size_t dot = t.find('.');
    if (s == 0) {
      CHECK(dot == std::string::npos);
    } else {
      REQUIRE(dot != std::string::npos);
      CHECK(t.size() - dot - 1 == static_cast<std::size_t>(s));
    }
    CHECK(t != "-0");
    CHECK(ok_units(t, s, u));
  }
}

TEST_CASE("points: format_rate prints the shortest exact decimal") {
  CHECK(format_rate(Rate{0}) == "0");
  CHECK(format_rate(Rate{1'000'000}) == "1");
  CHECK(format_rate(Rate{1'200'000}) == "1.2");
  CHECK(format_rate(Rate{1'100'000}) == "1.1");
  CHECK(format_rate(Rate{50'000}) == "0.05");
  CHECK(format_rate(Rate{1}) == "0.000001");
  CHECK(format_rate(Rate{10}) == "0.00001");
  CHECK(format_rate(Rate{100}) == "0.0001");
  CHECK(format_rate(Rate{10'000'000}) == "10");
  CHECK(format_rate(Rate{Rate::max}) == "1000");
  CHECK(format_rate(Rate{123'456'789}) == "123.456789");
}

// ---- rounding -----------------------------------------------------------------------------------

TEST_CASE("points: round_half_even on u128") {
  using upline::round_half_even;
  CHECK(i64(round_half_even<u128>(125, 10)) == 12);  // 0.125 -> 0.12
  CHECK(i64(round_half_even<u128>(135, 10)) == 14);  // 0.135 -> 0.14
  CHECK(i64(round_half_even<u128>(25, 10)) == 2);
  CHECK(i64(round_half_even<u128>(35, 10)) == 4);
  CHECK(i64(round_half_even<u128>(5, 10)) == 0);
  CHECK(i64(round_half_even<u128>(15, 10)) == 2);
  CHECK(i64(round_half_even<u128>(124, 10)) == 12);
  CHECK(i64(round_half_even<u128>(126, 10)) == 13);
  CHECK(i64(round_half_even<u128>(0, 10)) == 0);
  CHECK(i64(round_half_even<u128>(10, 10)) == 1);
  CHECK(i64(round_half_even<u128>(2, 3)) == 1);
  CHECK(i64(round_half_even<u128>(1, 3)) == 0);

  using upline::round_half_even_u;
  CHECK(i64(round_half_even_u(125, 10)) == 12);
  CHECK(i64(round_half_even_u(135, 10)) == 14);
  CHECK(i64(round_half_even_u(5, 10)) == 0);
  CHECK(i64(round_half_even_u(15, 10)) == 2);
  CHECK(i64(round_half_even_u(16, 10)) == 2);
  CHECK(i64(round_half_even_u(14, 10)) == 1);
  // Near the top of u128.
  const u128 big = (u128(1) << 126);
  CHECK((round_half_even_u(big * 2 + 1, 2) == big));      // tie, big is even
  CHECK((round_half_even_u(big * 2 + 3, 2) == big + 2));   // tie, big+1 is odd
}

TEST_CASE("points: round_half_even on int256, both signs") {
  using upline::round_half_even;
  auto r = [](long long n, long long d) { return round_half_even<int256>(int256(n), int256(d)); };
  CHECK(r(125, 10) == 12);
  CHECK(r(135, 10) == 14);
  CHECK(r(-125, 10) == -12);
  CHECK(r(-135, 10) == -14);
  CHECK(r(-25, 10) == -2);  // -2.5 -> -2
  CHECK(r(35, 10) == 4);    // 3.5 -> 4
  CHECK(r(-35, 10) == -4);
  CHECK(r(25, 10) == 2);
  CHECK(r(-5, 10) == 0);
  CHECK(r(5, 10) == 0);
  CHECK(r(-15, 10) == -2);
  CHECK(r(15, 10) == 2);
  CHECK(r(-124, 10) == -12);
  CHECK(r(-126, 10) == -13);
  CHECK(r(124, 10) == 12);
  CHECK(r(126, 10) == 13);
  CHECK(r(-1, 3) == 0);
  CHECK(r(-2, 3) == -1);
  CHECK(r(0, 7) == 0);

  // Beyond 128 bits: (2^200 * 10 + 5) / 10 is a tie with an even quotient; +15 an odd one.
  const int256 p200 = int256(1) << 200;
  CHECK(round_half_even<int256>(p200 * 10 + 5, int256(10)) == p200);
  CHECK(round_half_even<int256>(p200 * 10 + 15, int256(10)) == p200 + 2);
  CHECK(round_half_even<int256>(-(p200 * 10 + 5), int256(10)) == -p200);
  CHECK(round_half_even<int256>(-(p200 * 10 + 15), int256(10)) == -(p200 + 2));
  CHECK(round_half_even<int256>(p200 * 10 + 6, int256(10)) == p200 + 1);

  // SPEC §11: P = 10.05 × 0.5 × 1.1 = 5.5275 -> 5.53 (computed exactly, rounded once).
  const int256 num = int256(1005) * 500'000 * 1'100'000 * 1'000'000 * 100;
  const int256 den = int256(100) * int256(1'000'000) * 1'000'000 * 1'000'000;
  CHECK(round_half_even<int256>(num, den) == 553);
}

TEST_CASE("points: scale_points") {
  using upline::scale_points;
  const Rate one{Rate::one};
  // SPEC §11: a 90% rate on P 5.53 pays round(4.977) = 4.98.
  CHECK(scale_points(553, Rate{900'000}, one) == std::optional<std::int64_t>(498));
  // SPEC §11: P 100.00, rate 5%, upline multiplier 1.2 -> 6.00.
  CHECK(scale_points(10'000, Rate{50'000}, Rate{1'200'000}) == std::optional<std::int64_t>(600));
  // Ties go to even.
  CHECK(scale_points(125, Rate{100'000}, one) == std::optional<std::int64_t>(12));
  CHECK(scale_points(135, Rate{100'000}, one) == std::optional<std::int64_t>(14));
  CHECK(scale_points(5, Rate{500'000}, one) == std::optional<std::int64_t>(2));  // 2.5 -> 2
  CHECK(scale_points(7, Rate{500'000}, one) == std::optional<std::int64_t>(4));  // 3.5 -> 4
  CHECK(scale_points(0, Rate{500'000}, one) == std::optional<std::int64_t>(0));
  CHECK(scale_points(100, Rate{0}, one) == std::optional<std::int64_t>(0));
  // Extremes: exact up to int64, nullopt beyond.
  CHECK(scale_points(kMax, one, one) == std::optional<std::int64_t>(kMax));
  CHECK(scale_points(kMax, Rate{Rate::max}, Rate{Rate::max}) == std::nullopt);
  CHECK(scale_points(kMax, Rate{1'000'001}, one) == std::nullopt);
  CHECK(scale_points(kMax / 1000, Rate{Rate::max}, one) == std::optional<std::int64_t>(kMax / 1000 * 1000));
  // Negative input is refused.
  CHECK(scale_points(-1, one, one) == std::nullopt);
}

TEST_CASE("points: proportion") {
  using upline::proportion;
  // SPEC §11 partial refunds: credits 100.00 / 5.00 / 3.00 of an order of 100.00.
  CHECK(proportion(10'000, 1'250, 10'000) == 1'250);
  CHECK(proportion(500, 1'250, 10'000) == 62);  // 62.5 -> 62
  CHECK(proportion(300, 1'250, 10'000) == 38);  // 37.5 -> 38
  CHECK(proportion(500, 4'583, 10'000) == 229);  // 229.15
  CHECK(proportion(300, 4'583, 10'000) == 137);  // 137.49
  CHECK(proportion(500, 10'000, 10'000) == 500);
  CHECK(proportion(300, 0, 10'000) == 0);
  // Exact at the int64 edge.
  CHECK(proportion(kMax, kMax, kMax) == kMax);
  CHECK(proportion(kMax, 1, 2) == 4611686018427387904);  // 4611686018427387903.5, tie to even
  CHECK(proportion(kMax - 1, 1, 2) == 4611686018427387903);
  CHECK(proportion(kMax, kMax - 1, kMax) == kMax - 1);
}

TEST_CASE("points: checked_add") {
  using upline::checked_add;
  std::int64_t out = kSentinel;
  CHECK(checked_add(1, 2, out));
  CHECK(out == 3);
  CHECK(checked_add(kMax, 0, out));
  CHECK(out == kMax);
  CHECK(checked_add(kMax - 1, 1, out));
  CHECK(out == kMax);
  out = kSentinel;
  CHECK_FALSE(checked_add(kMax, 1, out));
  CHECK(out == kSentinel);
  CHECK_FALSE(checked_add(kMin, -1, out));
  CHECK(out == kSentinel);
  CHECK(checked_add(kMin, kMax, out));
  CHECK(out == -1);
  CHECK(checked_add(kMin + 1, -1, out));
  CHECK(out == kMin);
  CHECK_FALSE(checked_add(kMax, kMax, out));
  CHECK_FALSE(checked_add(kMin, kMin, out));
}

TEST_CASE("points: pow10") {
  CHECK(upline::pow10(0) == 1);
  CHECK(upline::pow10(6) == 1'000'000);
  CHECK(upline::pow10(18) == 1'000'000'000'000'000'000);
}
