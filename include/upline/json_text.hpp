// upline/json_text.hpp — the JSON text primitives every writer shares: string literals, and the
// short rendering of a value inside a message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace upline {

/// Appends `s` as a JSON string literal: quotes, `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other
/// control characters as `\u00xx` (lowercase hex); every other byte as is (UTF-8 stays UTF-8).
inline void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t run = 0;  // bytes copied as they are, flushed in one append
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        static constexpr char hex[] = "0123456789abcdef";
        const char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        out.append(esc, 6);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

/// A JSON string literal for `s`.
inline std::string json_quote(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

/// How a message shows a value: at most 80 bytes of JSON text; longer text is cut at a UTF-8
/// character boundary and ends with "...".
inline std::string shown(std::string json_text) {
  if (json_text.size() <= 80) return json_text;
  std::size_t cut = 77;
  while (cut > 0 && (static_cast<unsigned char>(json_text[cut]) & 0xC0) == 0x80) --cut;
  json_text.resize(cut);
  json_text += "...";
  return json_text;
}

/// How a message shows a string value: quoted and escaped as JSON, cut as shown() says.
inline std::string shown_string(std::string_view s) { return shown(json_quote(s)); }

}  // namespace upline
