// legacy_event_parser.hpp — upline 0.1's event-line parser, for the differential fuzz target only.
#pragma once

#include "upline/door.hpp"

#include <string_view>

namespace upline::legacy {

/// Parses one event line as upline 0.1 did: the event, or the rejection (invalid_event, or
/// invalid_plan for a plan event whose plan breaks SPEC §3).
ParsedEvent parse_event(std::string_view text);

}  // namespace upline::legacy
