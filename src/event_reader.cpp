// event_reader.cpp — EventReader: one JSON event line → an Event or its fault (door.hpp), with
// simdjson's On-Demand API.
//
// On-Demand only validates what it is asked to read, so the reader asks for everything that can
// make an event: it walks every key of the top-level object once, in line order, reads the value
// of each key an event can have by the key's name (the `type` may come last), and checks that
// nothing follows the object. A value it does not read belongs to a key no event has, which
// rejects the line anyway; a plan's object is handed whole to the plan parser, which validates it
// fully. So every accepted line is valid JSON, and every fault of SPEC §4's structure is found in
// the order door.hpp gives.
//
// This file may be compiled for the build machine's SIMD level (CMake option UPLINE_SIMD):
// On-Demand is compiled for one instruction set, the one the compiler targets.
#include "upline/door.hpp"

#include "strict_json.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_set>

namespace upline {

namespace {

namespace od = simdjson::ondemand;

// The keys an event can have, across every type.
enum Key : std::uint8_t { k_type, k_member, k_sponsor, k_at, k_order, k_shop, k_amount, k_points, k_ref, k_actor, k_reason, k_plan, key_count };
constexpr std::array<std::string_view, key_count> key_names = {"type", "member", "sponsor", "at", "order", "shop", "amount", "points", "ref", "actor", "reason", "plan"};

// Per type: its keys, in the order SPEC §4 checks them.
struct Shape {
  std::string_view type;
  std::uint8_t keys[5];
  std::uint8_t count;
};
constexpr Shape shapes[] = {
    {"join", {k_member, k_sponsor, k_at}, 3},
    {"purchase", {k_order, k_member, k_shop, k_amount, k_at}, 5},
    {"refund", {k_order, k_amount, k_at}, 3},
    {"redeem", {k_member, k_points, k_ref, k_at}, 4},
    {"adjust", {k_member, k_points, k_actor, k_reason, k_at}, 5},
    {"suspend", {k_member, k_at}, 2},
    {"reactivate", {k_member, k_at}, 2},
    {"plan", {k_plan, k_actor, k_at}, 3},
};
static_assert(std::size(shapes) == std::variant_size_v<Event>);

int key_of(std::string_view k) noexcept {
  for (int i = 0; i < key_count; ++i)
    if (key_names[static_cast<std::size_t>(i)] == k) return i;
  return -1;
}

std::string_view type_word(od::json_type t) noexcept {
  switch (t) {
    case od::json_type::array: return "array";
    case od::json_type::object: return "object";
    case od::json_type::number: return "number";
    case od::json_type::string: return "string";
    case od::json_type::boolean: return "boolean";
    case od::json_type::null: return "null";
  }
  return "value";
}

// What simdjson found wrong, in words (no library text reaches users).
std::string syntax(simdjson::error_code e) {
  std::string m = "not valid JSON: ";
  switch (e) {
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR: return m + "a word that is not true, false or null";
    case simdjson::TAPE_ERROR:
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT: return m + "a missing or extra comma, colon, brace or bracket";
    case simdjson::STRING_ERROR:
    case simdjson::UNCLOSED_STRING:
    case simdjson::UNESCAPED_CHARS: return m + "a malformed string";
    case simdjson::UTF8_ERROR: return m + "bytes that are not UTF-8";
    case simdjson::NUMBER_ERROR: return m + "a malformed number";
    case simdjson::EMPTY: return m + "no value at all";
    case simdjson::DEPTH_ERROR: return m + "arrays or objects nested too deeply";
    case simdjson::CAPACITY: return m + "a line longer than 16 MiB";
    default: return m + "malformed JSON";
  }
}

std::string_view trimmed(std::string_view s) noexcept {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// An integer token as JSON writes one: -?(0|[1-9][0-9]*).
bool integer_token(std::string_view t) noexcept {
  std::size_t i = t.size() > 0 && t[0] == '-' ? 1 : 0;
  if (i == t.size()) return false;
  if (t[i] == '0') return i + 1 == t.size();
  for (; i < t.size(); ++i)
    if (t[i] < '0' || t[i] > '9') return false;
  return true;
}

// One key's value as the line gave it.
struct Field {
  bool present = false;
  od::json_type type = od::json_type::null;
  std::string_view text;   // string: the unescaped value; plan object: its raw JSON
  std::string_view shown;  // for messages: the JSON text of a value that is not a string
  std::int64_t integer = 0;
  bool fits_int64 = false;  // number: an integer token inside int64
  std::size_t offset = 0;   // object: where it starts in the line
};

}  // namespace

struct EventReader::Impl {
  od::parser parser{max_line};
  std::string padded;                            // a copy of an unpadded line
  std::array<Event, std::variant_size_v<Event>> scratch = make_scratch();
  std::array<Field, key_count> fields;
  std::vector<std::string_view> keys;            // every key of the line, in order
  std::unordered_set<std::string_view> seen;     // for lines with many keys
  std::string_view base;                         // the line

  static std::array<Event, std::variant_size_v<Event>> make_scratch() {
    return {Join{}, Purchase{}, Refund{}, Redeem{}, Adjust{}, Suspend{}, Reactivate{}, PlanChange{}};
  }

  Input fault(std::string m) { return Input(Rejection{Code::invalid_event, std::move(m)}); }

  Input read(const char* data, std::size_t len, std::size_t capacity) {
    if (len > max_line) return fault(syntax(simdjson::CAPACITY));
    if (len >= 3 && std::memcmp(data, "\xEF\xBB\xBF", 3) == 0) {  // a UTF-8 byte order mark before the object is ignored
      data += 3;
      len -= 3;
      capacity -= 3;
    }
    base = std::string_view(data, len);
    if (parser.max_depth() < len + 2 && len + 2 > simdjson::DEFAULT_MAX_DEPTH) {
      // A line can nest at most its length deep: allow it, so that depth is never the fault.
      if (parser.allocate(std::max(parser.capacity(), len), len + 2)) return fault(syntax(simdjson::MEMALLOC));
    }
    od::document doc;
    if (auto e = parser.iterate(data, len, capacity).get(doc)) return fault(syntax(e));
    od::json_type t;
    if (auto e = doc.type().get(t)) return fault(syntax(e));
    if (t != od::json_type::object) return not_an_object(doc, t);
    od::object obj;
    if (auto e = doc.get_object().get(obj)) return fault(syntax(e));
    for (Field& f : fields) f = Field{};
    keys.clear();
    for (auto member : obj) {
      std::string_view k;
      if (auto e = member.unescaped_key().get(k)) return fault(syntax(e));
      keys.push_back(k);
      const int key = key_of(k);
      if (key < 0 || fields[static_cast<std::size_t>(key)].present) continue;  // unknown or repeated: its value is never read
      od::value v;
      if (auto e = member.value().get(v)) return fault(syntax(e));
      if (auto e = capture(v, fields[static_cast<std::size_t>(key)])) return fault(syntax(e));
    }
    const char* rest = nullptr;
    if (doc.current_location().get(rest) == simdjson::SUCCESS) return fault("not valid JSON: text after the end of the object");
    if (auto dup = first_duplicate()) return fault(json_quote_key(*dup));
    return event();
  }

  // Reads one value; a string or a plan object is kept as text, anything else by its JSON text.
  simdjson::error_code capture(od::value& v, Field& f) {
    f.present = true;
    if (auto e = v.type().get(f.type)) return e;
    switch (f.type) {
      case od::json_type::string:
        return v.get_string().get(f.text);
      case od::json_type::number: {
        f.shown = trimmed(v.raw_json_token());
        if (integer_token(f.shown)) {
          auto e = v.get_int64().get(f.integer);
          if (e == simdjson::SUCCESS) f.fits_int64 = true;
          else if (e != simdjson::INCORRECT_TYPE && e != simdjson::NUMBER_OUT_OF_RANGE) return e;
          return simdjson::SUCCESS;
        }
        double d;
        return v.get_double().get(d) == simdjson::NUMBER_ERROR ? simdjson::NUMBER_ERROR : simdjson::SUCCESS;
      }
      case od::json_type::boolean: {
        bool b;
        if (auto e = v.get_bool().get(b)) return e;
        f.shown = b ? "true" : "false";
        return simdjson::SUCCESS;
      }
      case od::json_type::null: {
        bool is_null = false;
        if (auto e = v.is_null().get(is_null)) return e;
        if (!is_null) return simdjson::N_ATOM_ERROR;
        f.shown = "null";
        return simdjson::SUCCESS;
      }
      case od::json_type::object: {
        od::object o;
        if (auto e = v.get_object().get(o)) return e;
        std::string_view raw;
        if (auto e = o.raw_json().get(raw)) return e;
        f.text = raw;
        f.shown = raw;
        f.offset = static_cast<std::size_t>(raw.data() - base.data());
        return simdjson::SUCCESS;
      }
      case od::json_type::array: {
        od::array a;
        if (auto e = v.get_array().get(a)) return e;
        std::string_view raw;
        if (auto e = a.raw_json().get(raw)) return e;
        f.shown = raw;
        return simdjson::SUCCESS;
      }
    }
    return simdjson::SUCCESS;
  }

  // The first key that repeats an earlier one, in line order.
  std::optional<std::string_view> first_duplicate() {
    if (keys.size() <= 16) {
      for (std::size_t i = 1; i < keys.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
          if (keys[i] == keys[j]) return keys[i];
      return std::nullopt;
    }
    seen.clear();
    for (std::string_view k : keys)
      if (!seen.insert(k).second) return k;
    return std::nullopt;
  }
  static std::string json_quote_key(std::string_view k) { return "duplicate key " + json_quote(k); }

  // A document that is valid JSON but no object, or not valid JSON at all.
  Input not_an_object(od::document& doc, od::json_type t) {
    simdjson::error_code e = simdjson::SUCCESS;
    switch (t) {
      case od::json_type::array: {
        od::array a;
        std::string_view raw;
        e = doc.get_array().get(a);
        if (!e) e = a.raw_json().get(raw);
        break;
      }
      case od::json_type::number: {
        double d;
        e = doc.get_double().get(d);
        if (e == simdjson::INCORRECT_TYPE || e == simdjson::NUMBER_OUT_OF_RANGE) e = simdjson::SUCCESS;  // big integers are JSON too
        break;
      }
      case od::json_type::string: {
        std::string_view s;
        e = doc.get_string().get(s);
        break;
      }
      case od::json_type::boolean: {
        bool b;
        e = doc.get_bool().get(b);
        break;
      }
      case od::json_type::null: {
        bool n = false;
        e = doc.is_null().get(n);
        if (!e && !n) e = simdjson::N_ATOM_ERROR;
        break;
      }
      case od::json_type::object: break;
    }
    if (e) return fault(syntax(e));
    const char* rest = nullptr;
    if (doc.current_location().get(rest) == simdjson::SUCCESS) return fault("not valid JSON: text after the end of the value");
    return fault("event: expected a JSON object, got " + std::string(type_word(t)));
  }

  // ---- the event, field by field ----------------------------------------------------------------

  const Field& field(Key k) const noexcept { return fields[k]; }
  static std::string name(Key k) { return std::string(key_names[k]); }

  // A required or optional field's value, or the fault; nullptr with no fault: absent (or null) and optional.
  const Field* value(Key k, bool required, std::optional<Rejection>& fault) const {
    const Field& f = field(k);
    if (f.present && f.type != od::json_type::null) return &f;
    if (required) fault = Rejection{Code::invalid_event, name(k) + (f.present ? ": required, got null" : ": required")};
    return nullptr;
  }
  static Rejection wrong_type(Key k, std::string_view expected, const Field& f) {
    const std::string shown_value = f.type == od::json_type::string ? shown_string(f.text) : shown(std::string(f.shown));
    return Rejection{Code::invalid_event, name(k) + ": expected " + std::string(expected) + ", got " + std::string(type_word(f.type)) + " " + shown_value};
  }

  // Integer fields: member, sponsor (1..2^63-1), at (0..2^63-1).
  std::optional<Rejection> integer(Key k, bool required, std::int64_t& out, bool* present = nullptr) const {
    std::optional<Rejection> fault;
    const Field* f = value(k, required, fault);
    if (present) *present = f != nullptr;
    if (!f) return fault;
    if (f->type != od::json_type::number || !integer_token(f->shown)) return wrong_type(k, "an integer", *f);
    if (!f->fits_int64) return k == k_at ? reject::time_out_of_range(f->shown) : reject::id_out_of_range(name(k), f->shown);
    out = f->integer;
    return k == k_at ? reject::check_time(out) : reject::check_id(name(k), out);
  }
  std::optional<Rejection> string(Key k, std::string& out) const {
    std::optional<Rejection> fault;
    const Field* f = value(k, true, fault);
    if (!f) return fault;
    if (f->type != od::json_type::string) return wrong_type(k, "a string", *f);
    out.assign(f->text);
    return std::nullopt;
  }
  std::optional<Rejection> key(Key k, std::string& out) const {
    if (auto r = string(k, out)) return r;
    return reject::check_key(name(k), out);
  }
  std::optional<Rejection> text(Key k, std::string& out) const {
    if (auto r = string(k, out)) return r;
    return reject::check_text(name(k), out);
  }
  std::optional<Rejection> decimal(Key k, bool required, Decimal& out, bool* present = nullptr) const {
    std::optional<Rejection> fault;
    const Field* f = value(k, required, fault);
    if (present) *present = f != nullptr;
    if (!f) return fault;
    if (f->type != od::json_type::string) return wrong_type(k, "a decimal string", *f);
    out.assign(f->text);
    return std::nullopt;
  }

  Input event() {
    std::optional<Rejection> fault;
    const Field& type_field = field(k_type);
    if (!type_field.present) return fault_of(reject::required("type"));
    const Field* type = &type_field;  // a null type is not an absent one: the wrong type
    if (type->type != od::json_type::string) return fault_of(Rejection{Code::invalid_event, "type: expected a string, got " + shown(std::string(type->shown))});
    std::size_t t = 0;
    while (t < std::size(shapes) && shapes[t].type != type->text) ++t;
    if (t == std::size(shapes)) return fault_of(Rejection{Code::invalid_event, "type: " + shown_string(type->text) + " is not an event type"});
    const Shape& shape = shapes[t];
    // Keys this type does not have: the first in byte order.
    std::optional<std::string_view> unknown;
    for (std::string_view k : keys) {
      if (k == "type") continue;
      const int known = key_of(k);
      const bool allowed = known >= 0 && std::find(shape.keys, shape.keys + shape.count, known) != shape.keys + shape.count;
      if (!allowed && (!unknown || k < *unknown)) unknown = k;
    }
    if (unknown) return fault_of(Rejection{Code::invalid_event, std::string(*unknown) + ": unknown field for a " + std::string(shape.type) + " event"});

    Event& ev = scratch[t];
    std::optional<Rejection> r;
    switch (t) {
      case 0: {
        Join& e = std::get<Join>(ev);
        std::int64_t sponsor = 0;
        bool has_sponsor = false;
        if ((r = integer(k_member, true, e.member)) || (r = integer(k_sponsor, false, sponsor, &has_sponsor)) || (r = integer(k_at, true, e.at)))
          return fault_of(std::move(*r));
        e.sponsor = has_sponsor ? std::optional<MemberId>(sponsor) : std::nullopt;
        break;
      }
      case 1: {
        Purchase& e = std::get<Purchase>(ev);
        // Any string is a shop id: one no plan can have is unknown_shop, in its place.
        if ((r = key(k_order, e.order)) || (r = integer(k_member, true, e.member)) || (r = string(k_shop, e.shop)) ||
            (r = decimal(k_amount, true, e.amount)) || (r = integer(k_at, true, e.at)))
          return fault_of(std::move(*r));
        break;
      }
      case 2: {
        Refund& e = std::get<Refund>(ev);
        if (!e.amount) e.amount.emplace();
        bool has_amount = false;
        if ((r = key(k_order, e.order)) || (r = decimal(k_amount, false, *e.amount, &has_amount)) || (r = integer(k_at, true, e.at)))
          return fault_of(std::move(*r));
        if (!has_amount) e.amount.reset();
        break;
      }
      case 3: {
        Redeem& e = std::get<Redeem>(ev);
        if ((r = integer(k_member, true, e.member)) || (r = decimal(k_points, true, e.points)) || (r = key(k_ref, e.ref)) || (r = integer(k_at, true, e.at)))
          return fault_of(std::move(*r));
        break;
      }
      case 4: {
        Adjust& e = std::get<Adjust>(ev);
        if ((r = integer(k_member, true, e.member)) || (r = decimal(k_points, true, e.points)) || (r = text(k_actor, e.actor)) ||
            (r = text(k_reason, e.reason)) || (r = integer(k_at, true, e.at)))
          return fault_of(std::move(*r));
        break;
      }
      case 5: {
        Suspend& e = std::get<Suspend>(ev);
        if ((r = integer(k_member, true, e.member)) || (r = integer(k_at, true, e.at))) return fault_of(std::move(*r));
        break;
      }
      case 6: {
        Reactivate& e = std::get<Reactivate>(ev);
        if ((r = integer(k_member, true, e.member)) || (r = integer(k_at, true, e.at))) return fault_of(std::move(*r));
        break;
      }
      case 7: return plan_event(std::get<PlanChange>(ev));
    }
    return Input(ev);
  }

  Input plan_event(PlanChange& e) {
    std::optional<Rejection> r;
    const Field* plan = value(k_plan, true, r);
    if (!plan) return fault_of(std::move(*r));
    if (plan->type != od::json_type::object) return fault_of(wrong_type(k_plan, "an object", *plan));
    if ((r = text(k_actor, e.actor)) || (r = integer(k_at, true, e.at))) return fault_of(std::move(*r));
    e.plan.reset();
    e.plan_fault.clear();
    std::string err;
    detail::Duplicate dup;
    auto parsed = detail::parse_strict(plan->text, err, &dup, plan->offset);
    if (!parsed) return fault_of(Rejection{Code::invalid_event, err});  // not JSON: the line is not JSON
    if (dup.found) return fault_of(Rejection{Code::invalid_plan, "plan" + std::string(dup.path.empty() || dup.path[0] == '[' ? "" : ".") + dup.path + ": duplicate key " + json_quote(dup.key)});
    PlanFaults faults;
    auto p = detail::plan_from_json(*parsed, faults);
    if (p) e.plan = std::make_shared<const Plan>(std::move(*p));
    else e.plan_fault = "plan: " + faults.message();
    return Input(scratch[7]);
  }

  static Input fault_of(Rejection r) { return Input(std::move(r)); }
};

EventReader::EventReader() : impl_(std::make_unique<Impl>()) {}
EventReader::~EventReader() = default;
EventReader::EventReader(EventReader&&) noexcept = default;
EventReader& EventReader::operator=(EventReader&&) noexcept = default;

Input EventReader::read(std::string_view line) {
  std::string& p = impl_->padded;
  p.assign(line);
  p.append(padding, ' ');
  return impl_->read(p.data(), line.size(), p.size());
}

Input EventReader::read_padded(std::string_view line) { return impl_->read(line.data(), line.size(), line.size() + padding); }

}  // namespace upline
