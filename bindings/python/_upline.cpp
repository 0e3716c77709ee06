// _upline.cpp — the private compiled module behind the `upline` Python package.
//
// A thin pybind11 layer over upline::Engine. It speaks plain Python values: events go in as JSON
// text or as typed calls whose amounts are decimal strings; every call answers
// (code, message, effects), with effects as dicts in SPEC §9's shape (points as decimal strings at
// the plan's scale). The pure-Python facade (upline/__init__.py) turns those into exceptions,
// Decimals and frozen dataclasses; nothing here raises for a rejected event.
//
// Threading: an Engine is used by one thread at a time (engine.hpp), so each wrapper owns a mutex
// that every method takes. apply_many and columns() release the GIL while they work; a thread that
// finds the mutex taken waits for it with the GIL released, so nobody ever waits for the mutex
// while holding the GIL (no deadlock) and other Python threads keep running meanwhile.
#include "upline/json.hpp"
#include "upline/simulation.hpp"
#include "upline/upline.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

using upline::Code;
using upline::Effect;
using upline::EffectType;
using upline::Kind;
using upline::MemberId;
using upline::Rejection;
using upline::Time;

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();

// The outcome of one event, before it becomes Python objects.
struct Result {
  Code code = Code::ok;
  std::string message;
  std::vector<Effect> effects;
};

// Names for the indices an Effect carries. Tiers are only ever appended and reward ids are
// interned for good, so names read after a batch are the names the batch's effects meant.
struct Names {
  std::vector<std::string> tiers;
  std::vector<std::string> rewards;
  int points_scale = 2;

  // Everything `results` refers to; the engine must not change meanwhile.
  static Names of(const upline::Engine& engine, const std::vector<Result>& results) {
    Names n;
    const auto& plan = engine.plan();
    n.points_scale = plan.points_scale;
    for (const auto& t : plan.tiers) n.tiers.push_back(t.name);
    std::uint32_t rewards = 0;
    for (const auto& r : results)
      for (const auto& e : r.effects)
        if (e.type == EffectType::reward && e.reward + 1 > rewards) rewards = e.reward + 1;
    for (std::uint32_t i = 0; i < rewards; ++i) n.rewards.push_back(engine.reward_name(i));
    return n;
  }
};

// One effect as a dict with exactly SPEC §9's keys.
py::dict effect_dict(const Effect& e, const Names& names) {
  py::dict d;
  d["type"] = upline::effect_type_name(e.type);
  d["member"] = e.member;
  switch (e.type) {
    case EffectType::credit:
    case EffectType::debit:
      d["points"] = upline::format_units(e.points, names.points_scale);
      d["kind"] = upline::kind_name(e.kind);
      if (e.kind == Kind::upline) {
        d["tier"] = names.tiers.at(e.tier);
        d["level"] = e.level;
      }
      break;
    case EffectType::placed:
      d["tier"] = names.tiers.at(e.tier);
      d["parent"] = e.parent == 0 ? py::object(py::none()) : py::object(py::int_(e.parent));
      d["position"] = e.position();
      break;
    case EffectType::promoted:
      d["from"] = names.tiers.at(e.from);
      d["to"] = names.tiers.at(e.tier);
      break;
    case EffectType::reward:
      d["reward"] = names.rewards.at(e.reward);
      break;
  }
  return d;
}

py::tuple result_tuple(const Result& r, const Names& names) {
  py::list effects(r.effects.size());
  for (std::size_t i = 0; i < r.effects.size(); ++i) effects[i] = effect_dict(r.effects[i], names);
  return py::make_tuple(std::string(upline::code_name(r.code)), r.message, std::move(effects));
}

std::string type_name(py::handle v) { return py::str(py::type::handle_of(v).attr("__name__")).cast<std::string>(); }

// Reads a Python int into an int64 field. Anything but an int (bool included) is a TypeError; an
// int outside int64 is the invalid_event the JSON door gives for an id out of range. Values inside
// int64 but below the field's range are left to the engine, which names them the same way.
std::optional<Rejection> read_i64(py::handle v, const char* field, std::int64_t lo, std::int64_t& out) {
  if (!PyLong_Check(v.ptr()) || PyBool_Check(v.ptr()))
    throw py::type_error(std::string(field) + ": expected an int, got " + type_name(v));
  int overflow = 0;
  const long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (overflow != 0)
    return Rejection{Code::invalid_event, std::string(field) + ": " + py::str(v).cast<std::string>() + " is out of range " + std::to_string(lo) +
                                              ".." + std::to_string(int64_max)};
  if (x == -1 && PyErr_Occurred()) throw py::error_already_set();
  out = static_cast<std::int64_t>(x);
  return std::nullopt;
}

upline::Plan parse_plan(const std::string& text) {
  upline::PlanFaults faults;
  auto plan = upline::Plan::parse(text, faults);
  if (!plan) throw py::value_error("invalid_plan: " + faults.message());
  return std::move(*plan);
}

// An Engine for Python: the engine plus the mutex that serialises its callers.
class PyEngine {
 public:
  explicit PyEngine(const std::string& plan_json) : engine_(parse_plan(plan_json)) {}

  // ---- events --------------------------------------------------------------------------------

  py::tuple apply_json(const std::string& text) {
    auto lock = acquire();
    return finish(apply_text(text));
  }

  py::tuple join(py::handle member, py::handle sponsor, py::handle at) {
    upline::Join e;
    std::int64_t s = 0;
    std::optional<Rejection> bad = read_i64(member, "member", 1, e.member);
    if (!sponsor.is_none()) {
      auto r = read_i64(sponsor, "sponsor", 1, s);
      if (!bad) bad = r;
      e.sponsor = s;
    }
    auto r = read_i64(at, "at", 0, e.at);
    if (!bad) bad = r;
    return typed(std::move(e), std::move(bad));
  }

  py::tuple purchase(std::string order, py::handle member, std::string shop, const std::string& amount, py::handle at) {
    upline::Purchase e;
    e.order = std::move(order);
    e.shop = std::move(shop);
    e.amount = upline::Decimal::lenient(amount);
    std::optional<Rejection> bad = read_i64(member, "member", 1, e.member);
    auto r = read_i64(at, "at", 0, e.at);
    if (!bad) bad = r;
    return typed(std::move(e), std::move(bad));
  }

  py::tuple refund(std::string order, const std::optional<std::string>& amount, py::handle at) {
    upline::Refund e;
    e.order = std::move(order);
    if (amount) e.amount = upline::Decimal::lenient(*amount);
    auto bad = read_i64(at, "at", 0, e.at);
    return typed(std::move(e), std::move(bad));
  }

  py::tuple redeem(py::handle member, const std::string& points, std::string ref, py::handle at) {
    upline::Redeem e;
    e.points = upline::Decimal::lenient(points);
    e.ref = std::move(ref);
    std::optional<Rejection> bad = read_i64(member, "member", 1, e.member);
    auto r = read_i64(at, "at", 0, e.at);
    if (!bad) bad = r;
    return typed(std::move(e), std::move(bad));
  }

  py::tuple adjust(py::handle member, const std::string& points, std::string actor, std::string reason, py::handle at) {
    upline::Adjust e;
    e.points = upline::Decimal::lenient(points);
    e.actor = std::move(actor);
    e.reason = std::move(reason);
    std::optional<Rejection> bad = read_i64(member, "member", 1, e.member);
    auto r = read_i64(at, "at", 0, e.at);
    if (!bad) bad = r;
    return typed(std::move(e), std::move(bad));
  }

  py::tuple suspend(py::handle member, py::handle at) {
    upline::Suspend e;
    std::optional<Rejection> bad = read_i64(member, "member", 1, e.member);
    auto r = read_i64(at, "at", 0, e.at);
    if (!bad) bad = r;
    return typed(std::move(e), std::move(bad));
  }

  py::tuple reactivate(py::handle member, py::handle at) {
    upline::Reactivate e;
    std::optional<Rejection> bad = read_i64(member, "member", 1, e.member);
    auto r = read_i64(at, "at", 0, e.at);
    if (!bad) bad = r;
    return typed(std::move(e), std::move(bad));
  }

  py::tuple change_plan(const std::string& plan_json, std::string actor, py::handle at) {
    upline::PlanChange e;
    e.actor = std::move(actor);
    std::optional<Rejection> bad = read_i64(at, "at", 0, e.at);
    // The fields in the order the JSON door checks them: actor, at, then the plan itself.
    if (!bad && e.actor.empty()) bad = Rejection{Code::invalid_event, "actor: must not be empty"};
    if (!bad && e.at < 0) bad = Rejection{Code::invalid_event, "at: " + std::to_string(e.at) + " is out of range 0.." + std::to_string(int64_max)};
    if (!bad) {
      upline::PlanFaults faults;
      auto plan = upline::Plan::parse(plan_json, faults);
      if (plan) e.plan = std::make_shared<const upline::Plan>(std::move(*plan));
      else bad = Rejection{Code::invalid_plan, "plan: " + faults.message()};
    }
    return typed(std::move(e), std::move(bad));
  }

  // Converts every item first (with the GIL), then applies them all without it, then builds the
  // Python results. Items are JSON text, or dicts serialised with json.dumps.
  py::list apply_many(py::iterable events) {
    std::vector<std::string> texts;
    py::object dumps;
    for (py::handle item : events) {
      if (py::isinstance<py::str>(item)) {
        texts.push_back(item.cast<std::string>());
      } else if (py::isinstance<py::dict>(item)) {
        if (!dumps) dumps = py::module_::import("json").attr("dumps");
        texts.push_back(dumps(item).cast<std::string>());
      } else {
        throw py::type_error("apply_many: item " + std::to_string(texts.size()) + ": expected a str (JSON) or a dict, got " + type_name(item));
      }
    }
    std::vector<Result> results(texts.size());
    std::optional<Names> names;
    {
      auto lock = acquire();
      py::gil_scoped_release nogil;
      for (std::size_t i = 0; i < texts.size(); ++i) results[i] = apply_text(texts[i]);
      names = Names::of(engine_, results);
    }
    py::list out(results.size());
    for (std::size_t i = 0; i < results.size(); ++i) out[i] = result_tuple(results[i], *names);
    return out;
  }

  // ---- queries -------------------------------------------------------------------------------

  py::object member(MemberId id) {
    auto lock = acquire();
    auto v = engine_.member(id);
    if (!v) return py::none();
    py::list nodes;
    for (const auto& n : v->nodes)
      nodes.append(py::dict("tier"_a = engine_.tier_name(n.tier), "parent"_a = n.parent ? py::object(py::int_(*n.parent)) : py::object(py::none()),
                            "position"_a = n.position));
    const int ps = engine_.plan().points_scale;
    return py::dict("id"_a = v->id, "sponsor"_a = v->sponsor ? py::object(py::int_(*v->sponsor)) : py::object(py::none()),
                    "tier"_a = v->tier_name, "tier_index"_a = v->tier, "status"_a = upline::status_name(v->status),
                    "balance"_a = upline::format_units(v->balance.units, ps), "lifetime"_a = upline::format_units(v->lifetime.units, ps),
                    "orders"_a = v->orders, "referrals"_a = v->referrals, "nodes"_a = nodes, "rewards"_a = v->rewards, "benefits"_a = v->benefits);
  }

  py::object order(const std::string& id) {
    auto lock = acquire();
    auto o = engine_.order(id);
    if (!o) return py::none();
    const int ms = engine_.plan().money_scale;
    return py::dict("id"_a = o->id, "member"_a = o->member, "shop"_a = o->shop, "amount"_a = upline::format_units(o->amount.units, ms),
                    "refunded"_a = upline::format_units(o->refunded.units, ms), "at"_a = o->at);
  }

  py::dict census() {
    auto lock = acquire();
    const auto counts = engine_.census();
    py::dict d;
    for (std::size_t t = 0; t < counts.size(); ++t) d[py::str(engine_.tier_name(static_cast<std::uint32_t>(t)))] = counts[t];
    return d;
  }

  std::string digest() {
    auto lock = acquire();
    return engine_.digest();
  }

  std::string dump_json() {
    auto lock = acquire();
    return upline::dump_json(engine_);
  }

  std::string plan_json() {
    auto lock = acquire();
    return engine_.plan().canonical_json();
  }

  std::vector<MemberId> upline_of(MemberId id, std::uint32_t tier, std::optional<std::size_t> max_levels) {
    auto lock = acquire();
    return engine_.upline(id, tier, max_levels.value_or(SIZE_MAX));
  }

  std::optional<std::uint64_t> below(MemberId id, std::uint32_t tier) {
    auto lock = acquire();
    return engine_.below(id, tier);
  }

  // One NumPy array per member field, in join order, filled without the GIL.
  py::dict columns() {
    auto lock = acquire();
    const std::size_t n = engine_.member_count();
    const auto count = static_cast<py::ssize_t>(n);
    py::array_t<std::int64_t> id(count), sponsor(count), balance(count), lifetime(count), orders(count);
    py::array_t<std::uint8_t> tier(count), status(count);
    std::int64_t* pid = id.mutable_data();
    std::int64_t* psp = sponsor.mutable_data();
    std::int64_t* pba = balance.mutable_data();
    std::int64_t* pli = lifetime.mutable_data();
    std::int64_t* por = orders.mutable_data();
    std::uint8_t* pti = tier.mutable_data();
    std::uint8_t* pst = status.mutable_data();
    {
      py::gil_scoped_release nogil;
      for (std::size_t i = 0; i < n; ++i) {
        const upline::MemberRecord& r = engine_.record_at(i);
        pid[i] = r.id;
        psp[i] = r.sponsor == upline::no_member ? 0 : engine_.record_at(r.sponsor).id;
        pba[i] = r.balance;
        pli[i] = r.lifetime;
        por[i] = static_cast<std::int64_t>(r.orders);
        pti[i] = r.tier;
        pst[i] = static_cast<std::uint8_t>(r.status);
      }
    }
    return py::dict("id"_a = id, "sponsor"_a = sponsor, "tier"_a = tier, "status"_a = status, "balance"_a = balance, "lifetime"_a = lifetime,
                    "orders"_a = orders);
  }

  Time clock() {
    auto lock = acquire();
    return engine_.clock();
  }
  std::uint64_t applied() {
    auto lock = acquire();
    return engine_.applied();
  }
  std::uint64_t rejected() {
    auto lock = acquire();
    return engine_.rejected();
  }
  std::size_t member_count() {
    auto lock = acquire();
    return engine_.member_count();
  }
  std::size_t order_count() {
    auto lock = acquire();
    return engine_.order_count();
  }
  int money_scale() {
    auto lock = acquire();
    return engine_.plan().money_scale;
  }
  int points_scale() {
    auto lock = acquire();
    return engine_.plan().points_scale;
  }
  std::vector<std::string> tier_names() {
    auto lock = acquire();
    std::vector<std::string> out;
    for (const auto& t : engine_.plan().tiers) out.push_back(t.name);
    return out;
  }
  std::string plan_name() {
    auto lock = acquire();
    return engine_.plan().name;
  }

 private:
  // Takes the mutex; if another thread holds it (apply_many, columns), waits without the GIL.
  std::unique_lock<std::mutex> acquire() {
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) {
      py::gil_scoped_release nogil;
      lock.lock();
    }
    return lock;
  }

  // Parses and applies one event; a parse rejection is counted like the engine's own. Needs the
  // mutex, not the GIL.
  Result apply_text(const std::string& text) {
    Result res;
    upline::ParsedEvent parsed = upline::parse_event(text);
    if (auto* r = std::get_if<Rejection>(&parsed)) {
      engine_.count_rejection();
      res.code = r->code;
      res.message = std::move(r->message);
      return res;
    }
    Rejection why;
    if (!engine_.apply(std::get<upline::Event>(parsed), res.effects, &why)) {
      res.code = why.code;
      res.message = std::move(why.message);
    }
    return res;
  }

  // Applies a typed event, or counts and reports the rejection found while reading its fields.
  py::tuple typed(upline::Event event, std::optional<Rejection> bad) {
    auto lock = acquire();
    Result res;
    if (bad) {
      engine_.count_rejection();
      res.code = bad->code;
      res.message = std::move(bad->message);
    } else {
      Rejection why;
      if (!engine_.apply(event, res.effects, &why)) {
        res.code = why.code;
        res.message = std::move(why.message);
      }
    }
    return finish(res);
  }

  // Builds the Python answer for one result; the caller holds the mutex and the GIL.
  py::tuple finish(const Result& r) {
    Names names;
    names.points_scale = engine_.plan().points_scale;
    for (const auto& t : engine_.plan().tiers) names.tiers.push_back(t.name);
    for (const auto& e : r.effects)
      if (e.type == EffectType::reward)
        while (names.rewards.size() <= e.reward) names.rewards.push_back(engine_.reward_name(static_cast<std::uint32_t>(names.rewards.size())));
    return result_tuple(r, names);
  }

  upline::Engine engine_;
  std::mutex mutex_;
};

py::list code_names() {
  py::list out;
  for (int c = 1; c < 256; ++c) {
    const auto name = upline::code_name(static_cast<Code>(c));
    if (name != "unknown") out.append(std::string(name));
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(_upline, m) {
  m.doc() =
      "Private compiled core of the `upline` package: upline::Engine over plain Python values.\n\n"
      "Every event call returns (code, message, effects): code is \"ok\" or a SPEC rejection code,\n"
      "message explains a rejection (empty when accepted), effects is a list of dicts with SPEC §9's\n"
      "keys and points as decimal strings. Nothing here raises for a rejected event; use the\n"
      "`upline` package, which does.";
  m.attr("version") = UPLINE_VERSION_STRING;
  m.def("codes", &code_names, "Every rejection code the engine can answer, in numeric order (\"ok\" excluded).");
  m.def(
      "four_tier_plan_json", [] { return std::string(upline::four_tier_plan_json()); },
      "The bundled four-tier plan (examples/plans/four-tier.json) as JSON text.");

  py::class_<PyEngine>(m, "Engine",
                       "upline::Engine built from plan JSON text (raises ValueError \"invalid_plan: …\" naming every fault).\n"
                       "Calls are serialised by an internal mutex, so an Engine may be shared between threads.")
      .def(py::init<const std::string&>(), "plan_json"_a)
      .def("apply_json", &PyEngine::apply_json, "event_json"_a,
           "Applies one event given as JSON text (SPEC §4 fields plus \"type\"). Returns (code, message, effects).")
      .def("join", &PyEngine::join, "member"_a, "sponsor"_a = py::none(), "at"_a = 0, "A join event. Returns (code, message, effects).")
      .def("purchase", &PyEngine::purchase, "order"_a, "member"_a, "shop"_a, "amount"_a, "at"_a = 0,
           "A purchase; `amount` is a decimal string. Returns (code, message, effects).")
      .def("refund", &PyEngine::refund, "order"_a, "amount"_a = py::none(), "at"_a = 0,
           "A refund; `amount` is a decimal string, or None for the rest of the order. Returns (code, message, effects).")
      .def("redeem", &PyEngine::redeem, "member"_a, "points"_a, "ref"_a, "at"_a = 0,
           "A redemption; `points` is a decimal string. Returns (code, message, effects).")
      .def("adjust", &PyEngine::adjust, "member"_a, "points"_a, "actor"_a, "reason"_a, "at"_a = 0,
           "A signed manual adjustment; `points` is a decimal string. Returns (code, message, effects).")
      .def("suspend", &PyEngine::suspend, "member"_a, "at"_a = 0, "Suspends a member. Returns (code, message, effects).")
      .def("reactivate", &PyEngine::reactivate, "member"_a, "at"_a = 0, "Reactivates a member. Returns (code, message, effects).")
      .def("change_plan", &PyEngine::change_plan, "plan_json"_a, "actor"_a, "at"_a = 0,
           "A plan event: the plan as JSON text. Returns (code, message, effects).")
      .def("apply_many", &PyEngine::apply_many, "events"_a,
           "Applies events (JSON text or dicts) in order with the GIL released. Returns one (code, message, effects)\n"
           "per event; a rejection is reported in its result and the batch goes on.")
      .def("member", &PyEngine::member, "member"_a, "A member's state as a dict (decimals as strings), or None if unknown.")
      .def("order", &PyEngine::order, "order"_a, "An accepted order as a dict (amounts as strings), or None if unknown.")
      .def("census", &PyEngine::census, "Members per tier by current tier: {tier name: count}, lowest tier first.")
      .def("digest", &PyEngine::digest, "SHA-256 of the canonical state (docs/DIGEST.md), 64 hex digits.")
      .def("dump_json", &PyEngine::dump_json, "The SPEC §10 state dump as JSON text, byte for byte what `upline replay --dump` writes.")
      .def("plan_json", &PyEngine::plan_json, "The plan in force as canonical JSON text.")
      .def("upline", &PyEngine::upline_of, "member"_a, "tier"_a, "max_levels"_a = py::none(),
           "Ancestor ids of `member` in tier index `tier`'s matrix, nearest first (empty if it has no node there).")
      .def("below", &PyEngine::below, "member"_a, "tier"_a,
           "How many members sit below `member` in tier index `tier`'s matrix, or None if it has no node there.")
      .def("columns", &PyEngine::columns,
           "Member fields as NumPy arrays in join order: id, sponsor (0: none), balance, lifetime (int64 units at\n"
           "points_scale), orders (int64), tier (uint8 index), status (uint8: 0 active, 1 suspended).")
      .def_property_readonly("clock", &PyEngine::clock, "The engine clock: the largest `at` of the accepted events (0 before any).")
      .def_property_readonly("applied", &PyEngine::applied, "Number of accepted events.")
      .def_property_readonly("rejected", &PyEngine::rejected, "Number of rejected events.")
      .def_property_readonly("member_count", &PyEngine::member_count, "Number of members.")
      .def_property_readonly("order_count", &PyEngine::order_count, "Number of accepted orders.")
      .def_property_readonly("money_scale", &PyEngine::money_scale, "Decimals of money amounts.")
      .def_property_readonly("points_scale", &PyEngine::points_scale, "Decimals of points.")
      .def_property_readonly("tier_names", &PyEngine::tier_names, "Tier names, lowest first.")
      .def_property_readonly("plan_name", &PyEngine::plan_name, "The name of the plan in force.");
}
