// legacy_event_parser.cpp — the event-line parser of upline 0.1 (nlohmann::json with a duplicate-key
// callback), kept in the fuzz build only as the oracle of the differential target: the simdjson
// reader (src/event_reader.cpp) must give the same event or the same rejection code for any bytes
// (fuzz/event_differential_fuzz.cpp lists the documented differences). Not part of the library.
#include "legacy_event_parser.hpp"

#include "strict_json.hpp"

#include <algorithm>
#include <initializer_list>

namespace upline::legacy {

using detail::json;

namespace {

constexpr std::int64_t id_max = std::numeric_limits<std::int64_t>::max();

// Reads the fields of one event; the first fault wins (an event is rejected as a whole).
class Fields {
 public:
  explicit Fields(const json& obj) : obj_(obj) {}

  // Every key must be one of `allowed` (plus "type").
  bool only(std::initializer_list<std::string_view> allowed) {
    for (auto it = obj_.begin(); it != obj_.end(); ++it) {
      if (it.key() == "type") continue;
      if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
        return fail(it.key() + ": unknown field for a " + type_ + " event");
    }
    return true;
  }

  void set_type(std::string t) { type_ = std::move(t); }

  // The field's value, nullptr when absent or null; `required` turns absence into a fault.
  const json* field(std::string_view name, bool required) {
    auto it = obj_.find(name);
    if (it == obj_.end() || it->is_null()) {
      if (required && ok_) fail(std::string(name) + (it == obj_.end() ? ": required" : ": required, got null"));
      return nullptr;
    }
    return &*it;
  }

  bool integer(std::string_view name, std::int64_t lo, std::int64_t& out, bool required = true) {
    const json* v = field(name, required);
    if (!v) return false;
    std::string err;
    auto x = detail::read_int(*v, lo, id_max, err);
    if (!x) return fail(std::string(name) + ": " + err);
    out = *x;
    return true;
  }

  bool key(std::string_view name, std::string& out) {
    const json* v = field(name, true);
    if (!v) return false;
    if (!v->is_string()) return fail(std::string(name) + ": expected a string, got " + std::string(detail::type_name(*v)) + " " + detail::show(*v));
    out = v->get<std::string>();
    if (out.empty() || out.size() > 64) return fail(std::string(name) + ": " + detail::show(*v) + " must be 1..64 bytes");
    return true;
  }

  bool string(std::string_view name, std::string& out) {
    const json* v = field(name, true);
    if (!v) return false;
    if (!v->is_string()) return fail(std::string(name) + ": expected a string, got " + std::string(detail::type_name(*v)) + " " + detail::show(*v));
    out = v->get<std::string>();
    return true;
  }

  bool text(std::string_view name, std::string& out) {
    const json* v = field(name, true);
    if (!v) return false;
    if (!v->is_string()) return fail(std::string(name) + ": expected a string, got " + std::string(detail::type_name(*v)) + " " + detail::show(*v));
    out = v->get<std::string>();
    if (out.empty()) return fail(std::string(name) + ": must not be empty");
    return true;
  }

  bool decimal(std::string_view name, Decimal& out, bool required = true) {
    const json* v = field(name, required);
    if (!v) return false;
    if (!v->is_string())
      return fail(std::string(name) + ": expected a decimal string, got " + std::string(detail::type_name(*v)) + " " + detail::show(*v));
    out = Decimal::lenient(v->get_ref<const std::string&>());
    return true;
  }

  bool fail(std::string msg) {
    if (ok_) {
      ok_ = false;
      message_ = std::move(msg);
    }
    return false;
  }
  bool ok() const { return ok_; }
  Rejection rejection() const { return Rejection{Code::invalid_event, message_}; }

 private:
  const json& obj_;
  std::string type_;
  bool ok_ = true;
  std::string message_;
};

}  // namespace

ParsedEvent parse_event(std::string_view text) {
  std::string err;
  detail::Duplicate dup;
  auto parsed = detail::parse_strict(text, err, &dup);
  if (!parsed) return Rejection{Code::invalid_event, err};
  // A duplicate key inside a plan event's plan is the plan's fault (SPEC §3: invalid_plan, after
  // the event's structural checks); anywhere else it is a structural fault of the event.
  const bool dup_in_plan = dup.found && (dup.path == "plan" || dup.path.rfind("plan.", 0) == 0 || dup.path.rfind("plan[", 0) == 0);
  if (dup.found && !dup_in_plan)
    return Rejection{Code::invalid_event, (dup.path.empty() ? std::string() : dup.path + ": ") + "duplicate key \"" + dup.key + "\""};
  const json& obj = *parsed;
  if (!obj.is_object()) return Rejection{Code::invalid_event, "event: expected a JSON object, got " + std::string(detail::type_name(obj))};
  auto t = obj.find("type");
  if (t == obj.end()) return Rejection{Code::invalid_event, "type: required"};
  if (!t->is_string()) return Rejection{Code::invalid_event, "type: expected a string, got " + detail::show(*t)};
  const std::string type = t->get<std::string>();
  Fields f(obj);
  f.set_type(type);

  auto done = [&](Event ev) -> ParsedEvent {
    if (!f.ok()) return f.rejection();
    return ev;
  };

  if (type == "join") {
    Join e;
    f.only({"member", "sponsor", "at"});
    f.integer("member", 1, e.member);
    std::int64_t sponsor = 0;
    if (f.integer("sponsor", 1, sponsor, /*required=*/false)) e.sponsor = sponsor;
    f.integer("at", 0, e.at);
    return done(e);
  }
  if (type == "purchase") {
    Purchase e;
    f.only({"order", "member", "shop", "amount", "at"});
    f.key("order", e.order);
    f.integer("member", 1, e.member);
    f.string("shop", e.shop);  // any string: an id no plan can have is unknown_shop, in its place
    f.decimal("amount", e.amount);
    f.integer("at", 0, e.at);
    return done(e);
  }
  if (type == "refund") {
    Refund e;
    f.only({"order", "amount", "at"});
    f.key("order", e.order);
    Decimal amount;
    if (f.decimal("amount", amount, /*required=*/false)) e.amount = amount;
    f.integer("at", 0, e.at);
    return done(e);
  }
  if (type == "redeem") {
    Redeem e;
    f.only({"member", "points", "ref", "at"});
    f.integer("member", 1, e.member);
    f.decimal("points", e.points);
    f.key("ref", e.ref);
    f.integer("at", 0, e.at);
    return done(e);
  }
  if (type == "adjust") {
    Adjust e;
    f.only({"member", "points", "actor", "reason", "at"});
    f.integer("member", 1, e.member);
    f.decimal("points", e.points);
    f.text("actor", e.actor);
    f.text("reason", e.reason);
    f.integer("at", 0, e.at);
    return done(e);
  }
  if (type == "suspend" || type == "reactivate") {
    MemberId member = 0;
    Time at = 0;
    f.only({"member", "at"});
    f.integer("member", 1, member);
    f.integer("at", 0, at);
    if (type == "suspend") return done(Suspend{member, at});
    return done(Reactivate{member, at});
  }
  if (type == "plan") {
    PlanChange e;
    f.only({"plan", "actor", "at"});
    const json* plan = f.field("plan", true);
    if (plan && !plan->is_object())
      f.fail("plan: expected an object, got " + std::string(detail::type_name(*plan)) + " " + detail::show(*plan));
    f.text("actor", e.actor);
    f.integer("at", 0, e.at);
    if (!f.ok()) return f.rejection();
    if (dup_in_plan) return Rejection{Code::invalid_plan, dup.path + ": duplicate key \"" + dup.key + "\""};
    PlanFaults faults;
    auto p = detail::plan_from_json(*plan, faults);
    if (!p) return Rejection{Code::invalid_plan, "plan: " + faults.message()};
    e.plan = std::make_shared<const Plan>(std::move(*p));
    return e;
  }
  return Rejection{Code::invalid_event, "type: " + detail::show(*t) + " is not an event type"};
}


}  // namespace upline::legacy
