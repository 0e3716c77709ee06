// upline/decimal.hpp — exact decimal numbers: Money, Points, Rate, Decimal and the one rounding
// rule (SPEC §2).
//
// Every amount on the state path is an integer count of units at a fixed scale:
//   Money  — units of 10^-money_scale  (basket values, refund amounts)
//   Points — units of 10^-points_scale (balances, credits, thresholds)
//   Rate   — micros, units of 10^-6    (ratios, multipliers, upline rates), 0 ..= 1000
//
// A Decimal is an amount as the caller has it: text exactly as written in JSON ("12.50"), or
// exact units at a scale (1250 at scale 2) from a host that has integers. Converting it to units
// at the plan's scale either succeeds exactly or fails (too many decimals, outside int64) — it
// never rounds. Text is kept for messages; units are never turned into text on the way in.
//
// Products that need rounding are computed exactly (128-bit or Boost.Multiprecision int256) and
// rounded once, half to even, by round_half_even(); the formulas live with their concepts
// (accrual.hpp, propagation.hpp, ledger.hpp).
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

/// The largest money_scale / points_scale a plan may have.
inline constexpr int max_scale = 6;

/// 10^n for 0 <= n <= 18.
constexpr std::int64_t pow10(int n) {
  std::int64_t v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

namespace detail {
// The digits of `mag` at `scale`, after a '-' when `neg`: append_units' one rule, for any width.
template <class Unsigned>
inline void append_magnitude(std::string& out, bool neg, Unsigned mag, int scale) {
  char buf[64];
  char* end = buf + sizeof buf;
  char* p = end;
  int written = 0;
  do {
    if (scale > 0 && written == scale) *--p = '.';
    *--p = static_cast<char>('0' + static_cast<int>(mag % 10));
    mag /= 10;
    ++written;
  } while (mag != 0 || written <= scale);
  if (neg) *--p = '-';
  out.append(p, end);
}
}  // namespace detail

/// Prints `units` at `scale` (0..18) as SPEC §2 says: exactly `scale` decimals, no point at
/// scale 0, zero never signed. Appends to `out`.
inline void append_units(std::string& out, std::int64_t units, int scale) {
  const bool neg = units < 0;
  detail::append_magnitude(out, neg, neg ? 0 - static_cast<std::uint64_t>(units) : static_cast<std::uint64_t>(units), scale);
}

/// The same for a 128-bit sum of units (a statement's totals).
inline void append_wide_units(std::string& out, i128 units, int scale) {
  const bool neg = units < 0;
  detail::append_magnitude(out, neg, neg ? u128(0) - static_cast<u128>(units) : static_cast<u128>(units), scale);
}

/// `units` at `scale` as text (see append_units).
inline std::string format_units(std::int64_t units, int scale) {
  std::string s;
  append_units(s, units, scale);
  return s;
}

/// A rate as the shortest exact decimal ("0.05", "1", "1.2").
inline std::string format_rate(Rate r) {
  std::string s = format_units(r.micros, 6);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

/// An amount as the caller has it: decimal text (`-?[0-9]+(\.[0-9]+)?`, leading and trailing
/// zeros allowed), or exact units at a scale. Either way it converts to units at the plan's scale
/// exactly or not at all.
class Decimal {
 public:
  /// Why a decimal does not convert to units at a scale.
  enum class Fit { ok, too_many_decimals, out_of_range, not_a_decimal };

  Decimal() = default;

  /// Parses the grammar of SPEC §2; nullopt when `text` does not match it.
  static std::optional<Decimal> parse(std::string_view text) {
    Decimal d;
    d.assign(text);
    if (d.malformed_) return std::nullopt;
    return d;
  }

  /// Like parse, but text that is not a decimal gives a Decimal whose to_units() answers
  /// Fit::not_a_decimal, so that the engine can report it in its place among the rejections.
  static Decimal lenient(std::string_view text) {
    Decimal d;
    d.assign(text);
    return d;
  }

  /// Exactly `units` × 10^-scale (scale 0..18): what a host with integers has. No text is made.
  static Decimal from_units(std::int64_t units, int scale) noexcept {
    Decimal d;
    d.assign_units(units, scale);
    return d;
  }

  /// Re-reads this object from text (lenient), keeping its buffer: no allocation in steady state.
  void assign(std::string_view text) {
    text_.assign(text);
    from_text_ = true;
    if (!read(text)) malformed_ = true;
  }

  /// Re-sets this object to units at a scale (0..18).
  void assign_units(std::int64_t units, int scale) noexcept {
    reset_value();
    from_text_ = false;
    units_ = units;
    scale_ = static_cast<std::int8_t>(scale);
    negative_ = units < 0;
    u128 m = negative_ ? 0 - static_cast<std::uint64_t>(units) : static_cast<std::uint64_t>(units);
    int digits = scale;
    while (digits > 0 && m % 10 == 0) {  // canonical: no trailing zeros in the fraction
      m /= 10;
      --digits;
    }
    magnitude_ = m;
    fraction_digits_ = digits;
    long_fraction_ = digits > max_scale;
    if (m == 0) negative_ = false;
  }

  /// The amount as text: as written, or the units at their scale ("12.50").
  std::string text() const { return from_text_ ? text_ : format_units(units_, scale_); }
  /// True for an amount given as text (the journal keeps it so), false for units.
  bool is_text() const noexcept { return from_text_; }
  /// For an amount given as units: the units and their scale.
  std::int64_t units() const noexcept { return units_; }
  int scale() const noexcept { return scale_; }

  bool negative() const noexcept { return negative_; }
  /// True when the value is exactly zero ("0", "-0.000").
  bool is_zero() const noexcept { return !malformed_ && !huge_ && !long_fraction_ && magnitude_ == 0; }
  /// False for a Decimal made by lenient() from text that is not a decimal.
  bool well_formed() const noexcept { return !malformed_; }

  /// Converts to units at `scale` (0..6) exactly; `out` is written only on Fit::ok.
  Fit to_units(int scale, std::int64_t& out) const noexcept {
    if (malformed_) return Fit::not_a_decimal;
    if (!from_text_ && scale_ == scale) {  // units at the plan's scale: nothing to convert
      out = units_;
      return Fit::ok;
    }
    if (long_fraction_ || fraction_digits_ > scale) return Fit::too_many_decimals;
    if (huge_) return Fit::out_of_range;
    u128 v = magnitude_;
    for (int k = fraction_digits_; k < scale; ++k) v *= 10;  // <= 10^25: no wrap
    const u128 limit = negative_ ? (u128(1) << 63) : u128(std::numeric_limits<std::int64_t>::max());
    if (v > limit) return Fit::out_of_range;
    out = negative_ ? static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(v)) : static_cast<std::int64_t>(v);
    return Fit::ok;
  }

  /// The message of a failed to_units: `field: "12.505" has more decimals than money_scale 2`.
  /// One wording for every door and for plans.
  std::string fit_message(Fit fit, std::string_view field, std::string_view scale_name, int scale) const {
    std::string m(field);
    m += ": \"";
    m += text();
    m += '"';
    switch (fit) {
      case Fit::too_many_decimals: m += " has more decimals than "; break;
      case Fit::out_of_range: m += " is out of range at "; break;
      case Fit::not_a_decimal: return m + " is not a decimal (-?[0-9]+(.[0-9]+)?)";
      case Fit::ok: return m;
    }
    m += scale_name;
    m += ' ';
    m += std::to_string(scale);
    return m;
  }

 private:
  void reset_value() noexcept {
    magnitude_ = 0;
    fraction_digits_ = 0;
    negative_ = huge_ = long_fraction_ = malformed_ = false;
  }

  // Reads the SPEC §2 grammar into the value fields; false (value fields unspecified) if `text`
  // does not match it.
  bool read(std::string_view text) {
    reset_value();
    std::size_t i = 0;
    if (i < text.size() && text[i] == '-') {
      negative_ = true;
      ++i;
    }
    std::size_t int_begin = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    std::size_t int_end = i;
    if (int_end == int_begin) return false;
    std::size_t frac_begin = int_end, frac_end = int_end;
    if (i < text.size() && text[i] == '.') {
      frac_begin = ++i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
      frac_end = i;
      if (frac_end == frac_begin) return false;
    }
    if (i != text.size()) return false;
    // Canonical digits: no leading zeros in the integer part, no trailing zeros in the fraction.
    while (int_begin < int_end && text[int_begin] == '0') ++int_begin;
    while (frac_end > frac_begin && text[frac_end - 1] == '0') --frac_end;
    const std::size_t int_digits = int_end - int_begin, frac_digits = frac_end - frac_begin;
    long_fraction_ = frac_digits > static_cast<std::size_t>(max_scale);
    huge_ = int_digits > 19;  // >= 10^19 > INT64_MAX units at any scale >= 0
    if (!long_fraction_ && !huge_) {
      u128 m = 0;
      for (std::size_t k = int_begin; k < int_end; ++k) m = m * 10 + static_cast<unsigned>(text[k] - '0');
      for (std::size_t k = frac_begin; k < frac_end; ++k) m = m * 10 + static_cast<unsigned>(text[k] - '0');
      magnitude_ = m;
      fraction_digits_ = static_cast<int>(frac_digits);
    }
    if (magnitude_ == 0 && !huge_ && !long_fraction_) negative_ = false;
    return true;
  }

  std::string text_;         // as written (from_text_)
  u128 magnitude_ = 0;       // canonical digits as an integer, valid unless huge_ or long_fraction_
  std::int64_t units_ = 0;   // !from_text_: the units…
  int fraction_digits_ = 0;  // canonical count of fraction digits (0..6)
  std::int8_t scale_ = 0;    // …and their scale
  bool from_text_ = false;
  bool negative_ = false;
  bool huge_ = false;           // 20 or more integer digits
  bool long_fraction_ = false;  // more than 6 significant fraction digits
  bool malformed_ = false;      // made by lenient() from text that is not a decimal
};

/// num / den rounded half to even; den > 0. Works for u128 and int256 (exact, no floating point).
template <class Int>
Int round_half_even(const Int& num, const Int& den) {
  Int q = num / den;
  Int r = num % den;
  if (r < 0) r = -r;
  const Int twice = r + r;
  if (twice > den || (twice == den && (q % 2 != 0))) q += (num < 0) ? Int(-1) : Int(1);
  return q;
}

/// Unsigned num / den rounded half to even; den > 0.
inline u128 round_half_even_u(u128 num, u128 den) {
  u128 q = num / den, r = num % den;
  if (2 * r > den || (2 * r == den && (q & 1))) ++q;
  return q;
}

/// Unsigned 64-bit num / den rounded half to even; den > 0.
inline std::uint64_t round_half_even_u64(std::uint64_t num, std::uint64_t den) noexcept {
  std::uint64_t q = num / den;
  const std::uint64_t r = num - q * den;
  if (r > den - r || (r == den - r && (q & 1))) ++q;
  return q;
}

/// Checked int64 addition: false (and `out` untouched) on overflow.
inline bool checked_add(std::int64_t a, std::int64_t b, std::int64_t& out) noexcept {
  std::int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return false;
  out = sum;
  return true;
}

}  // namespace upline
