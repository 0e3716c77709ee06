// json_io.cpp — events from JSON, effects and state to JSON (SPEC §9–§10).
#include "upline/json.hpp"

#include "strict_json.hpp"

#include <algorithm>
#include <initializer_list>
#include <numeric>

namespace upline {

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

// Appends `s` as a JSON string literal (quotes included, control characters escaped).
void quote(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void write_effect(std::string& s, const Engine& engine, const Effect& e) {
  const int ps = engine.plan().points_scale;
  s += "{\"type\":\"";
  s += effect_type_name(e.type);
  s += "\",\"member\":";
  s += std::to_string(e.member);
  switch (e.type) {
    case EffectType::credit:
    case EffectType::debit:
      s += ",\"points\":\"";
      s += format_units(e.points, ps);
      s += "\",\"kind\":\"";
      s += kind_name(e.kind);
      s += '"';
      if (e.kind == Kind::upline) {
        s += ",\"tier\":";
        quote(s, engine.tier_name(e.tier));
        s += ",\"level\":";
        s += std::to_string(e.level);
      }
      break;
    case EffectType::placed:
      s += ",\"tier\":";
      quote(s, engine.tier_name(e.tier));
      s += ",\"parent\":";
      s += e.parent == 0 ? std::string("null") : std::to_string(e.parent);
      s += ",\"position\":";
      s += std::to_string(e.position());
      break;
    case EffectType::promoted:
      s += ",\"from\":";
      quote(s, engine.tier_name(e.from));
      s += ",\"to\":";
      quote(s, engine.tier_name(e.tier));
      break;
    case EffectType::reward:
      s += ",\"reward\":";
      quote(s, engine.reward_name(e.reward));
      break;
  }
  s += '}';
}

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

bool apply_parsed(Engine& engine, const ParsedEvent& parsed, std::vector<Effect>& effects, Rejection* why) {
  if (const auto* r = std::get_if<Rejection>(&parsed)) {
    effects.clear();
    engine.count_rejection();
    if (why) *why = *r;
    return false;
  }
  return engine.apply(std::get<Event>(parsed), effects, why);
}

std::string event_json(const Event& event) {
  std::string s = "{\"type\":\"";
  s += event_type_name(event);
  s += '"';
  auto id = [&](const char* k, std::int64_t v) {
    s += ",\"";
    s += k;
    s += "\":";
    s += std::to_string(v);
  };
  auto text = [&](const char* k, std::string_view v) {
    s += ",\"";
    s += k;
    s += "\":";
    quote(s, v);
  };
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, Join>) {
          id("member", e.member);
          if (e.sponsor) id("sponsor", *e.sponsor);
        } else if constexpr (std::is_same_v<T, Purchase>) {
          text("order", e.order);
          id("member", e.member);
          text("shop", e.shop);
          text("amount", e.amount.text());
        } else if constexpr (std::is_same_v<T, Refund>) {
          text("order", e.order);
          if (e.amount) text("amount", e.amount->text());
        } else if constexpr (std::is_same_v<T, Redeem>) {
          id("member", e.member);
          text("points", e.points.text());
          text("ref", e.ref);
        } else if constexpr (std::is_same_v<T, Adjust>) {
          id("member", e.member);
          text("points", e.points.text());
          text("actor", e.actor);
          text("reason", e.reason);
        } else if constexpr (std::is_same_v<T, Suspend> || std::is_same_v<T, Reactivate>) {
          id("member", e.member);
        } else {
          s += ",\"plan\":";
          s += e.plan ? e.plan->canonical_json() : std::string("null");
          text("actor", e.actor);
        }
        id("at", e.at);
      },
      event);
  s += '}';
  return s;
}

std::string effect_json(const Engine& engine, const Effect& e) {
  std::string s;
  write_effect(s, engine, e);
  return s;
}

std::string effects_json(const Engine& engine, const std::vector<Effect>& effects) {
  std::string s = "[";
  for (std::size_t i = 0; i < effects.size(); ++i) {
    if (i) s += ',';
    write_effect(s, engine, effects[i]);
  }
  s += ']';
  return s;
}

std::string result_json(const Engine& engine, std::uint64_t seq, Code code, std::string_view message,
                        const std::vector<Effect>& effects) {
  std::string s = "{";
  if (seq != 0) {
    s += "\"seq\":";
    s += std::to_string(seq);
    s += ',';
  }
  s += "\"status\":\"";
  s += code_name(code);
  s += "\",\"effects\":";
  s += effects_json(engine, effects);
  if (code != Code::ok) {
    s += ",\"message\":";
    quote(s, message);
  }
  s += '}';
  return s;
}

std::string dump_json(const Engine& engine) {
  const Plan& plan = engine.plan();
  std::vector<std::uint32_t> order(engine.member_count());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return engine.record_at(a).id < engine.record_at(b).id; });
  std::string s;
  s.reserve(order.size() * 200 + 128);
  s += "{\"applied\":" + std::to_string(engine.applied()) + ",\"rejected\":" + std::to_string(engine.rejected()) + ",\"digest\":\"" + engine.digest() +
       "\",\"members\":[";
  for (std::size_t i = 0; i < order.size(); ++i) {
    const MemberView v = *engine.member(engine.record_at(order[i]).id);
    s += i ? ",\n" : "\n";
    s += "{\"id\":" + std::to_string(v.id) + ",\"sponsor\":" + (v.sponsor ? std::to_string(*v.sponsor) : std::string("null")) + ",\"tier\":";
    quote(s, v.tier_name);
    s += ",\"status\":\"";
    s += status_name(v.status);
    s += "\",\"balance\":\"" + format_units(v.balance.units, plan.points_scale) + "\",\"lifetime\":\"" +
         format_units(v.lifetime.units, plan.points_scale) + "\",\"orders\":" + std::to_string(v.orders) + ",\"nodes\":[";
    for (std::size_t k = 0; k < v.nodes.size(); ++k) {
      if (k) s += ',';
      s += "{\"tier\":";
      quote(s, engine.tier_name(v.nodes[k].tier));
      s += ",\"parent\":" + (v.nodes[k].parent ? std::to_string(*v.nodes[k].parent) : std::string("null")) +
           ",\"position\":" + std::to_string(v.nodes[k].position) + "}";
    }
    s += "],\"rewards\":[";
    for (std::size_t k = 0; k < v.rewards.size(); ++k) {
      if (k) s += ',';
      quote(s, v.rewards[k]);
    }
    s += "]}";
  }
  s += order.empty() ? "]}\n" : "\n]}\n";
  return s;
}

std::string json_quote(std::string_view s) {
  std::string out;
  quote(out, s);
  return out;
}

}  // namespace upline
