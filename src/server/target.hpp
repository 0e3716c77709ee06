// target.hpp — internal: reading a request target (path and query) and the Authorization header.
// Pure functions, so that the tests and the fuzz target (fuzz/fuzz_target.cpp) call exactly what
// the server calls.
#pragma once

#include "upline/sha256.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace upline::server {

/// A request target split and decoded: `/v1/orders/A%2FB?min_seq=5` is path segments
/// {"v1","orders","A/B"} and query {{"min_seq","5"}}.
struct Target {
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> query;  // in order
};

/// Decodes %XX escapes (and only them: '+' stays '+'); nullopt for a bad escape or a NUL byte.
inline std::optional<std::string> percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (out.find('\0') != std::string::npos) return std::nullopt;
  return out;
}

/// Splits an origin-form target ("/path?query"); nullopt (with `why`) when it is not one or an
/// escape is bad. Empty segments (a doubled or trailing slash) are dropped.
inline std::optional<Target> parse_target(std::string_view t, std::string& why) {
  if (t.empty() || t[0] != '/') {
    why = "the request target must start with '/'";
    return std::nullopt;
  }
  Target out;
  const std::size_t q = t.find('?');
  std::string_view path = t.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view seg = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    if (seg.empty()) continue;
    auto d = percent_decode(seg);
    if (!d) {
      why = "bad percent-escape in the path";
      return std::nullopt;
    }
    out.segments.push_back(std::move(*d));
  }
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    auto k = percent_decode(pair.substr(0, eq));
    auto v = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!k || !v) {
      why = "bad percent-escape in the query";
      return std::nullopt;
    }
    out.query.emplace_back(std::move(*k), std::move(*v));
  }
  return out;
}

/// A decimal integer in [0, 2^63-1] with no sign, spaces or leading '+'; nullopt otherwise.
inline std::optional<std::uint64_t> parse_seq(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return v;
}

/// A member id as the events carry it: a decimal int64 ("-5" included); nullopt otherwise.
inline std::optional<std::int64_t> parse_member_id(std::string_view s) {
  const bool neg = !s.empty() && s[0] == '-';
  const auto mag = parse_seq(neg ? s.substr(1) : s);
  if (!mag) return std::nullopt;
  return neg ? -static_cast<std::int64_t>(*mag) : static_cast<std::int64_t>(*mag);
}

/// The token of an `Authorization: Bearer TOKEN` header value; nullopt when it is not one.
inline std::optional<std::string_view> bearer_token(std::string_view header) {
  constexpr std::string_view scheme = "Bearer ";
  if (header.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i) {  // the scheme is case-insensitive
    const char a = header[i], b = scheme[i];
    if ((a | 0x20) != (b | 0x20)) return std::nullopt;
  }
  std::string_view t = header.substr(scheme.size());
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  if (t.empty()) return std::nullopt;
  return t;
}

/// Tokens kept as SHA-256 digests and compared in constant time: the time a comparison takes
/// does not depend on how much of a wrong token was right, nor on the tokens' lengths.
class TokenSet {
 public:
  TokenSet() = default;
  explicit TokenSet(const std::vector<std::string>& tokens) {
    for (const auto& t : tokens) digests_.push_back(hash(t));
  }
  bool empty() const noexcept { return digests_.empty(); }
  bool contains(std::string_view token) const noexcept {
    const auto h = hash(token);
    unsigned found = 0;
    for (const auto& d : digests_) {
      unsigned diff = 0;
      for (std::size_t i = 0; i < d.size(); ++i) diff |= static_cast<unsigned>(d[i] ^ h[i]);
      found |= static_cast<unsigned>(diff == 0);
    }
    return found != 0;
  }

 private:
  using Digest = std::array<unsigned char, 32>;
  static Digest hash(std::string_view t) noexcept {
    Sha256 h;
    h.update(t.data(), t.size());
    const std::string hex = h.hex_final();
    Digest d{};
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    for (std::size_t i = 0; i < 32; ++i) d[i] = static_cast<unsigned char>(nibble(hex[2 * i]) * 16 + nibble(hex[2 * i + 1]));
    return d;
  }
  std::vector<Digest> digests_;
};

}  // namespace upline::server
