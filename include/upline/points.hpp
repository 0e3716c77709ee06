// upline/points.hpp — exact decimal numbers: Money, Points, Rate and the one rounding rule.
//
// Every amount on the state path is an integer count of units at a fixed scale:
//   Money  — units of 10^-money_scale  (basket values, refund amounts)
//   Points — units of 10^-points_scale (balances, credits, thresholds)
//   Rate   — micros, units of 10^-6    (ratios, multipliers, upline rates), 0 ..= 1000
// A Decimal is a number exactly as written in JSON ("12.50"); converting it to units at a
// scale either succeeds exactly or fails (too many decimals, out of int64) — it never rounds.
// Products that need rounding are computed exactly (__int128 or Boost.Multiprecision int256)
// and rounded once, half to even, by round_half_even().
#pragma once

#include <boost/multiprecision/cpp_int.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace upline {

__extension__ typedef unsigned __int128 u128;
__extension__ typedef __int128 i128;
using int256 = boost::multiprecision::int256_t;

/// Money in units of 10^-money_scale.
struct Money {
  std::int64_t units = 0;
  friend constexpr auto operator<=>(Money, Money) = default;
};

/// Points in units of 10^-points_scale.
struct Points {
  std::int64_t units = 0;
  friend constexpr auto operator<=>(Points, Points) = default;
};

/// A non-negative rate in millionths (1.05 is 1'050'000); at most 1000.
struct Rate {
  std::int64_t micros = 0;
  static constexpr std::int64_t one = 1'000'000;
  static constexpr std::int64_t max = 1000 * one;
  friend constexpr auto operator<=>(Rate, Rate) = default;
};

inline constexpr int max_scale = 6;

/// 10^n for 0 <= n <= 18.
constexpr std::int64_t pow10(int n) {
  std::int64_t v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

/// A decimal number exactly as written: `-?[0-9]+(\.[0-9]+)?`, leading and trailing zeros allowed.
/// It keeps its text (for messages) and an exact canonical value when that value can matter.
class Decimal {
 public:
  /// Why a decimal does not convert to units at a scale.
  enum class Fit { ok, too_many_decimals, out_of_range, not_a_decimal };

  /// Parses the grammar of SPEC §2; nullopt when `text` does not match it.
  static std::optional<Decimal> parse(std::string_view text) {
    Decimal d;
    std::size_t i = 0;
    if (i < text.size() && text[i] == '-') { d.negative_ = true; ++i; }
    std::size_t int_begin = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    std::size_t int_end = i;
    if (int_end == int_begin) return std::nullopt;
    std::size_t frac_begin = int_end, frac_end = int_end;
    if (i < text.size() && text[i] == '.') {
      frac_begin = ++i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
      frac_end = i;
      if (frac_end == frac_begin) return std::nullopt;
    }
    if (i != text.size()) return std::nullopt;
    // Canonical digits: no leading zeros in the integer part, no trailing zeros in the fraction.
    while (int_begin < int_end && text[int_begin] == '0') ++int_begin;
    while (frac_end > frac_begin && text[frac_end - 1] == '0') --frac_end;
    std::size_t int_digits = int_end - int_begin, frac_digits = frac_end - frac_begin;
    d.long_fraction_ = frac_digits > static_cast<std::size_t>(max_scale);
    d.huge_ = int_digits > 19;  // >= 10^19 > INT64_MAX units at any scale >= 0
    if (!d.long_fraction_ && !d.huge_) {
      u128 m = 0;
      for (std::size_t k = int_begin; k < int_end; ++k) m = m * 10 + static_cast<unsigned>(text[k] - '0');
      for (std::size_t k = frac_begin; k < frac_end; ++k) m = m * 10 + static_cast<unsigned>(text[k] - '0');
      d.magnitude_ = m;
      d.fraction_digits_ = static_cast<int>(frac_digits);
    }
    if (d.magnitude_ == 0 && !d.huge_ && !d.long_fraction_) d.negative_ = false;
    d.text_.assign(text);
    return d;
  }

  /// Like parse, but text that is not a decimal gives a Decimal whose to_units() answers
  /// Fit::not_a_decimal, so that the engine can report it in its place among the rejections.
  static Decimal lenient(std::string_view text) {
    if (auto d = parse(text)) return *d;
    Decimal d;
    d.malformed_ = true;
    d.text_.assign(text);
    return d;
  }

  /// The decimal `units` × 10^-scale (scale 0..6), e.g. from_units(1250, 2) is "12.50".
  static Decimal from_units(std::int64_t units, int scale);

  const std::string& text() const noexcept { return text_; }
  bool negative() const noexcept { return negative_; }
  /// True when the value is exactly zero ("0", "-0.000").
  bool is_zero() const noexcept { return !malformed_ && !huge_ && !long_fraction_ && magnitude_ == 0; }
  /// False for a Decimal made by lenient() from text that is not a decimal.
  bool well_formed() const noexcept { return !malformed_; }

  /// Converts to units at `scale` (0..6) exactly; `out` is written only on Fit::ok.
  Fit to_units(int scale, std::int64_t& out) const noexcept {
    if (malformed_) return Fit::not_a_decimal;
    if (long_fraction_ || fraction_digits_ > scale) return Fit::too_many_decimals;
    if (huge_) return Fit::out_of_range;
    u128 v = magnitude_;
    for (int k = fraction_digits_; k < scale; ++k) v *= 10;  // <= 10^25: no wrap
    const u128 limit = negative_ ? (u128(1) << 63) : u128(std::numeric_limits<std::int64_t>::max());
    if (v > limit) return Fit::out_of_range;
    out = negative_ ? static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(v))
                    : static_cast<std::int64_t>(v);
    return Fit::ok;
  }

 private:
  std::string text_;
  u128 magnitude_ = 0;      // canonical digits as an integer, valid unless huge_ or long_fraction_
  int fraction_digits_ = 0;  // canonical count of fraction digits (0..6)
  bool negative_ = false;
  bool huge_ = false;           // 20 or more integer digits
  bool long_fraction_ = false;  // more than 6 significant fraction digits
  bool malformed_ = false;      // made by lenient() from text that is not a decimal
};

/// Prints `units` at `scale` as SPEC §2 says: exactly `scale` decimals, no point at scale 0,
/// zero never signed.
inline std::string format_units(std::int64_t units, int scale) {
  const bool neg = units < 0;
  std::uint64_t mag = neg ? 0 - static_cast<std::uint64_t>(units) : static_cast<std::uint64_t>(units);
  char buf[48];
  char* end = buf + sizeof buf;
  char* p = end;
  int written = 0;
  do {
    if (scale > 0 && written == scale) *--p = '.';
    *--p = static_cast<char>('0' + mag % 10);
    mag /= 10;
    ++written;
  } while (mag != 0 || written <= scale);
  if (neg) *--p = '-';
  return std::string(p, end);
}

inline Decimal Decimal::from_units(std::int64_t units, int scale) {
  return *parse(format_units(units, scale));
}

/// Formats a rate as the shortest exact decimal ("0.05", "1", "1.2").
inline std::string format_rate(Rate r) {
  std::string s = format_units(r.micros, 6);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

/// num / den rounded half to even; den > 0. Works for u128 and int256 (exact, no floating point).
template <class Int>
Int round_half_even(const Int& num, const Int& den) {
  Int q = num / den;
  Int r = num % den;
  if (r < 0) { r = -r; }
  const Int twice = r + r;
  if (twice > den || (twice == den && (q % 2 != 0))) {
    q += (num < 0) ? Int(-1) : Int(1);
  }
  return q;
}

/// Unsigned specialisation: num / den rounded half to even.
inline u128 round_half_even_u(u128 num, u128 den) {
  u128 q = num / den, r = num % den;
  if (2 * r > den || (2 * r == den && (q & 1))) ++q;
  return q;
}

/// round(points × a × b / 10^12), half to even; a and b are rates in micros. Exact: the product
/// is below 2^63 × 2^60. Returns nullopt when the result leaves int64.
inline std::optional<std::int64_t> scale_points(std::int64_t points, Rate a, Rate b) {
  if (points < 0) return std::nullopt;  // never called with a negative amount
  u128 num = static_cast<u128>(points) * static_cast<u128>(a.micros) * static_cast<u128>(b.micros);
  if ((num >> 64) == 0) {  // the usual case: 64-bit division by a constant, i.e. a multiplication
    constexpr std::uint64_t den = 1'000'000'000'000ULL;
    const auto n = static_cast<std::uint64_t>(num);
    std::uint64_t q = n / den;
    const std::uint64_t r = n - q * den;
    if (2 * r > den || (2 * r == den && (q & 1))) ++q;
    return static_cast<std::int64_t>(q);  // < 2^64 / 10^12
  }
  u128 q = round_half_even_u(num, static_cast<u128>(Rate::one) * Rate::one);
  if (q > static_cast<u128>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  return static_cast<std::int64_t>(q);
}

/// round(amount × ratio × history × accrual × 10^points_scale / 10^money_scale) — a purchase's
/// points (SPEC §6 step 2), rounded once, half to even; amount >= 0. Exact: in 128 bits when the
/// product fits (any realistic basket), else in 256 bits. nullopt when the result leaves int64.
inline std::optional<std::int64_t> purchase_points(std::int64_t amount, Rate ratio, Rate history, Rate accrual, int money_scale,
                                                   int points_scale) {
  u128 num = static_cast<u128>(amount) * static_cast<u128>(ratio.micros);  // < 2^63 × 2^30
  const u128 den = static_cast<u128>(pow10(money_scale)) * static_cast<u128>(Rate::one) * Rate::one * Rate::one;
  if (!__builtin_mul_overflow(num, static_cast<u128>(history.micros), &num) && !__builtin_mul_overflow(num, static_cast<u128>(accrual.micros), &num) &&
      !__builtin_mul_overflow(num, static_cast<u128>(pow10(points_scale)), &num)) {
    const u128 q = round_half_even_u(num, den);
    if (q > static_cast<u128>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(q);
  }
  // Up to 2^63 × (10^9)^3 × 10^6 < 2^256.
  const int256 wide = int256(amount) * ratio.micros * history.micros * accrual.micros * pow10(points_scale);
  const int256 p = round_half_even(wide, int256(pow10(money_scale)) * (int256(Rate::one) * Rate::one * Rate::one));
  if (p > int256(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  return static_cast<std::int64_t>(p);
}

/// round(c × part / whole), half to even, for 0 <= part <= whole, whole > 0, c >= 0.
inline std::int64_t proportion(std::int64_t c, std::int64_t part, std::int64_t whole) {
  const u128 wide = static_cast<u128>(c) * static_cast<u128>(part);
  if ((wide >> 64) == 0) {
    const auto n = static_cast<std::uint64_t>(wide), d = static_cast<std::uint64_t>(whole);
    std::uint64_t q = n / d;
    const std::uint64_t r = n - q * d;
    if (r > d - r || (r == d - r && (q & 1))) ++q;
    return static_cast<std::int64_t>(q);
  }
  u128 q = round_half_even_u(static_cast<u128>(c) * static_cast<u128>(part), static_cast<u128>(whole));
  return static_cast<std::int64_t>(q);  // <= c
}

/// Checked int64 addition: false (and `out` untouched) on overflow.
inline bool checked_add(std::int64_t a, std::int64_t b, std::int64_t& out) noexcept {
  std::int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return false;
  out = sum;
  return true;
}

}  // namespace upline
