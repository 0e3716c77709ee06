// strict_json.cpp — nlohmann parsing with duplicate keys refused (the plan reader of plan.cpp) and
// the typed field readers whose messages name the field path, the value and the rule.

#include "strict_json.hpp"

#include <set>

namespace upline::detail {

namespace {

// Tracks where the parser is, so that a duplicate key can be named by its path.
struct Frame {
  bool is_array = false;
  std::set<std::string> keys;
  std::string key;
  long index = -1;
};

std::string path_of(const std::vector<Frame>& frames) {
  std::string p;
  for (const auto& f : frames) {
    if (f.is_array) {
      if (f.index >= 0) {
        p += '[';
        p += std::to_string(f.index);
        p += ']';
      }
    } else if (!f.key.empty()) {
      if (!p.empty()) p += '.';
      p += f.key;
    }
  }
  return p;
}

}  // namespace

std::optional<json> parse_strict(std::string_view text, std::string& error, Duplicate* duplicate, std::size_t base) {
  std::vector<Frame> frames;
  std::string dup;
  Duplicate first;
  auto cb = [&](int /*depth*/, json::parse_event_t ev, json& parsed) -> bool {
    switch (ev) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (!frames.empty() && frames.back().is_array) ++frames.back().index;
        frames.push_back(Frame{ev == json::parse_event_t::array_start, {}, {}, -1});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames.empty()) frames.pop_back();
        break;
      case json::parse_event_t::key: {
        auto& f = frames.back();
        const std::string& k = parsed.get_ref<const std::string&>();
        if (!f.keys.insert(k).second && !first.found) {
          f.key.clear();
          first = Duplicate{true, path_of(frames), k};
          dup = (first.path.empty() ? std::string() : first.path + ": ") + "duplicate key \"" + k + "\"";
        }
        f.key = k;
        break;
      }
      case json::parse_event_t::value:
        if (!frames.empty() && frames.back().is_array) ++frames.back().index;
        break;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::parse_error& e) {
    // Our words, not the library's: where it went wrong.
    error = e.byte > text.size() ? "not valid JSON: the text ends before the value does"
                                 : "not valid JSON: unexpected text at byte " + std::to_string(base + e.byte);
    return std::nullopt;
  } catch (const json::out_of_range&) {
    error = "not valid JSON: a number too large for a double";
    return std::nullopt;
  } catch (const json::exception&) {
    error = "not valid JSON: malformed JSON";
    return std::nullopt;
  }
  if (first.found) {
    if (duplicate) {
      *duplicate = first;
    } else {
      error = dup;
      return std::nullopt;
    }
  }
  return j;
}

std::string_view type_name(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

std::string show(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

std::optional<std::int64_t> read_int(const json& v, std::int64_t lo, std::int64_t hi, std::string& error) {
  if (!v.is_number_integer()) {
    error = "expected an integer, got " + std::string(type_name(v)) + " " + show(v);
    return std::nullopt;
  }
  bool in_range;
  std::int64_t x = 0;
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    in_range = u <= static_cast<std::uint64_t>(hi) && static_cast<std::int64_t>(u) >= lo;
    x = static_cast<std::int64_t>(u);
  } else {
    x = v.get<std::int64_t>();
    in_range = x >= lo && x <= hi;
  }
  if (!in_range) {
    error = show(v) + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi);
    return std::nullopt;
  }
  return x;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace upline::detail
