// strict_json.hpp — internal: JSON parsing that refuses duplicate keys, and typed field readers
// whose messages name the field path, the value and the rule.
#pragma once

#include "upline/plan.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace upline::detail {

using json = nlohmann::json;

/// The first duplicate key met while parsing: where (path of the object) and which key.
struct Duplicate {
  bool found = false;
  std::string path;
  std::string key;
};

/// Parses `text`; nullopt with `error` set on a syntax error or a duplicate key (named by path).
/// With `duplicate`, a duplicate key does not fail the parse: the first one is recorded there
/// (the later value wins) for the caller to report where it belongs. A syntax error's byte
/// offset is counted from `base` (where `text` starts in what the user wrote), 1-based.
std::optional<json> parse_strict(std::string_view text, std::string& error, Duplicate* duplicate = nullptr, std::size_t base = 0);

/// A short rendering of a JSON value for messages: strings quoted, long values cut.
std::string show(const json& v);

/// The JSON type's name as a message says it ("number", "string", "object" …).
std::string_view type_name(const json& v);

/// Reads an integer in [lo, hi]; nullopt (with `error`) for a non-integer or one out of range.
std::optional<std::int64_t> read_int(const json& v, std::int64_t lo, std::int64_t hi, std::string& error);

/// Plan::parse for an already parsed JSON value (a plan event's `plan`).
std::optional<Plan> plan_from_json(const json& root, PlanFaults& faults);

/// Number of UTF-8 code points in a valid UTF-8 string.
std::size_t utf8_length(std::string_view s);

}  // namespace upline::detail
