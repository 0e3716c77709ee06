// until.hpp — internal: `--until` of `upline dump`: a sequence number or a time (ISO-8601 UTC).
#pragma once

#include "upline/store.hpp"

#include <optional>
#include <string_view>

namespace upline::cli {

/// A plain integer is a sequence number; `@MS`, an ISO-8601 UTC time (`2026-01-31T12:00:00Z`,
/// optional `.mmm`) or a date (`2026-01-31`, its midnight UTC) is a time in ms since the epoch. nullopt when it is neither (an impossible
/// date such as February 30 included).
std::optional<Until> parse_until(std::string_view s) noexcept;

}  // namespace upline::cli
