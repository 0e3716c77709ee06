// _upline.cpp — the private compiled module behind the `upline` Python package.
//
// A thin pybind11 layer over upline::Engine that speaks flat values only. Events go in as JSON
// text (through one reused upline::LineDoor) or as typed calls whose fields are Python ints and
// strs; an amount is either decimal text (str) or exact units at a scale ((units, scale), two
// ints), the form the caller had, converted to an upline::Decimal once. Everything comes back as
// tuples of ints and strs, never as dicts or objects:
//
//   event call  (code, message, effects), code "ok" or a SPEC §4 code, message empty when accepted
//   effect      (type, member, points, kind, tier, level_or_position, parent, reward, from): the
//               fields of upline::Effect (effect.hpp) as ints — type and kind are the enums'
//               values, tier/from index the plan's tiers, reward indexes reward_names, points are
//               units at points_scale, parent 0 means none
//   member      (id, sponsor, tier, status, balance, lifetime, orders, referrals, nodes, rewards,
//               benefits): sponsor 0 for none, tier an index, status 0 active / 1 suspended,
//               balance and lifetime units at points_scale, nodes (parent, position) flat per tier
//               from 0 (parent 0: the root), rewards indices into reward_names in grant order,
//               benefits ((key, value), …) of the tier in the plan in force
//   order       (id, member, shop, amount, refunded, at), amounts in units at money_scale
//
// The pure-Python facade (upline/__init__.py) builds its exceptions, Decimals and frozen
// dataclasses from these once, resolving indices through the names it caches from tier_names and
// reward_names (tier names are only ever appended, reward ids are interned for good). Nothing here
// raises for a rejected event: every rejection — the engine's own, the JSON door's, or a Python
// int outside int64 found here — goes through Engine::apply(const Input&), so it is counted and
// worded like any other.
//
// Store wraps upline::Store (a durable engine: store.hpp) the same way: the same typed calls and
// queries (PyCore, shared), events submitted and journaled, each answer with its sequence number
// (code, message, effects, seq). A StoreError becomes the exception `StoreError` (its `kind`:
// "io", "corrupt", "busy" or "usage"), which the facade exports as upline.StoreError.
//
// Threading: an Engine is used by one thread at a time (engine.hpp), so each wrapper owns a mutex
// that every method takes. apply_many and columns() release the GIL while they work; a thread that
// finds the mutex taken waits for it with the GIL released, so nobody ever waits for the mutex
// while holding the GIL (no deadlock) and other Python threads keep running meanwhile.
#include "upline/door.hpp"
#include "upline/engine.hpp"
#include "upline/store_open.hpp"
#include "upline/version.hpp"
#include "upline/whatif.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

using upline::Code;
using upline::Effect;
using upline::MemberId;
using upline::Rejection;
using upline::Time;

// ---- flat values out ---------------------------------------------------------------------------

// A new tuple filled with the given new references (steals them). Throws if any is null.
py::tuple steal_tuple(std::initializer_list<PyObject*> items) {
  py::tuple t(items.size());
  Py_ssize_t i = 0;
  bool failed = false;
  for (PyObject* o : items) {
    if (!o) failed = true;
    PyTuple_SET_ITEM(t.ptr(), i++, o);  // a null slot is fine: the tuple is dropped below
  }
  if (failed) throw py::error_already_set();
  return t;
}

PyObject* int_of(std::int64_t v) { return PyLong_FromLongLong(v); }
PyObject* uint_of(std::uint64_t v) { return PyLong_FromUnsignedLongLong(v); }

py::tuple effect_tuple(const Effect& e) {
  return steal_tuple({uint_of(static_cast<std::uint8_t>(e.type)), int_of(e.member), int_of(e.points), uint_of(static_cast<std::uint8_t>(e.kind)),
                      uint_of(e.tier), uint_of(e.level), int_of(e.parent), uint_of(e.reward), uint_of(e.from)});
}

py::tuple effects_tuple(const Effect* begin, std::size_t n) {
  py::tuple out(n);
  for (std::size_t i = 0; i < n; ++i) PyTuple_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), effect_tuple(begin[i]).release().ptr());
  return out;
}

py::tuple answer(Code code, std::string_view message, const Effect* effects, std::size_t n) {
  const std::string_view name = upline::code_name(code);
  return py::make_tuple(py::str(name.data(), name.size()), py::str(message.data(), message.size()), effects_tuple(effects, n));
}

py::tuple answer(const upline::Outcome& o) { return answer(o.code, o.message, o.effects.data(), o.effects.size()); }

// A store's answer: the engine's, and the sequence number the event was journaled under.
py::tuple answer(const upline::Submitted& s) {
  const std::string_view name = upline::code_name(s.code);
  return steal_tuple({py::str(name.data(), name.size()).release().ptr(), py::str(s.message).release().ptr(),
                      effects_tuple(s.effects.data(), s.effects.size()).release().ptr(), uint_of(s.seq)});
}

// ---- plain values in -----------------------------------------------------------------------------

std::string type_name(py::handle v) { return py::str(py::type::handle_of(v).attr("__name__")).cast<std::string>(); }

// Reads a Python int into an int64 field. Anything but an int (bool included) is a TypeError.
// Returns false for an int outside int64 (`shown` then holds its decimal text), for the caller to
// hand the engine the fault the JSON door gives for it. Values inside int64 but outside the
// field's range are left to the engine, which names them the same way.
bool read_i64(py::handle v, const char* field, std::int64_t& out, std::string& shown) {
  if (!PyLong_Check(v.ptr()) || PyBool_Check(v.ptr())) throw py::type_error(std::string(field) + ": expected an int, got " + type_name(v));
  int overflow = 0;
  const long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (overflow != 0) {
    shown = py::str(v).cast<std::string>();
    return false;
  }
  if (x == -1 && PyErr_Occurred()) throw py::error_already_set();
  out = static_cast<std::int64_t>(x);
  return true;
}

// The first fault found while reading an event's fields from Python, for Engine::apply to report.
struct Fault {
  std::optional<Rejection> first;
  void id(py::handle v, const char* field, std::int64_t& out) {
    std::string shown;
    if (!read_i64(v, field, out, shown) && !first) first = upline::reject::id_out_of_range(field, shown);
  }
  void time(py::handle v, std::int64_t& out) {
    std::string shown;
    if (!read_i64(v, "at", out, shown) && !first) first = upline::reject::time_out_of_range(shown);
  }
};

std::string_view str_view(py::handle v, const char* field) {
  if (!PyUnicode_Check(v.ptr())) throw py::type_error(std::string(field) + ": expected a str, got " + type_name(v));
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(v.ptr(), &size);
  if (!data) throw py::error_already_set();
  return {data, static_cast<std::size_t>(size)};
}

// An amount as the caller had it: decimal text (a str) or exact units at a scale (a tuple of two
// ints, scale 0..18). The engine checks it against the plan's scale in its SPEC §4 place.
upline::Decimal read_amount(py::handle v, const char* field) {
  if (PyUnicode_Check(v.ptr())) return upline::Decimal::lenient(str_view(v, field));
  if (PyTuple_Check(v.ptr()) && PyTuple_GET_SIZE(v.ptr()) == 2) {
    py::handle units = PyTuple_GET_ITEM(v.ptr(), 0), scale = PyTuple_GET_ITEM(v.ptr(), 1);
    std::int64_t u = 0, s = 0;
    std::string shown;
    if (!read_i64(units, field, u, shown)) throw py::value_error(std::string(field) + ": units " + shown + " are outside int64; pass the amount as text");
    if (!read_i64(scale, field, s, shown) || s < 0 || s > 18)
      throw py::value_error(std::string(field) + ": scale " + py::str(scale).cast<std::string>() + " is out of range 0..18");
    return upline::Decimal::from_units(u, static_cast<int>(s));
  }
  throw py::type_error(std::string(field) + ": expected a decimal str or a (units, scale) tuple of ints, got " + type_name(v));
}

// ---- the engine ----------------------------------------------------------------------------------

upline::Plan parse_plan(std::string_view text) {
  upline::PlanFaults faults;
  auto plan = upline::Plan::parse(text, faults);
  if (!plan) throw py::value_error("invalid_plan: " + faults.message());
  return std::move(*plan);
}

// What Engine and Store share: the typed calls, which read Python values into an event and hand
// it to typed() (the engine's door, or the store's), and the queries, which read engine() — both
// with the mutex that serialises the callers.
class PyCore {
 public:
  PyCore() = default;
  PyCore(const PyCore&) = delete;
  PyCore& operator=(const PyCore&) = delete;
  virtual ~PyCore() = default;

  // ---- events --------------------------------------------------------------------------------

  py::tuple join(py::handle member, py::handle sponsor, py::handle at) {
    upline::Join e;
    Fault f;
    f.id(member, "member", e.member);
    if (!sponsor.is_none()) {
      std::int64_t s = 0;
      f.id(sponsor, "sponsor", s);
      e.sponsor = s;
    }
    f.time(at, e.at);
    return typed(std::move(e), f);
  }

  py::tuple purchase(py::handle order, py::handle member, py::handle shop, py::handle amount, py::handle at) {
    upline::Purchase e;
    Fault f;
    e.order = str_view(order, "order");
    f.id(member, "member", e.member);
    e.shop = str_view(shop, "shop");
    e.amount = read_amount(amount, "amount");
    f.time(at, e.at);
    return typed(std::move(e), f);
  }

  py::tuple refund(py::handle order, py::handle amount, py::handle at) {
    upline::Refund e;
    Fault f;
    e.order = str_view(order, "order");
    if (!amount.is_none()) e.amount = read_amount(amount, "amount");
    f.time(at, e.at);
    return typed(std::move(e), f);
  }

  py::tuple redeem(py::handle member, py::handle points, py::handle ref, py::handle at) {
    upline::Redeem e;
    Fault f;
    f.id(member, "member", e.member);
    e.points = read_amount(points, "points");
    e.ref = str_view(ref, "ref");
    f.time(at, e.at);
    return typed(std::move(e), f);
  }

  py::tuple adjust(py::handle member, py::handle points, py::handle actor, py::handle reason, py::handle at) {
    upline::Adjust e;
    Fault f;
    f.id(member, "member", e.member);
    e.points = read_amount(points, "points");
    e.actor = str_view(actor, "actor");
    e.reason = str_view(reason, "reason");
    f.time(at, e.at);
    return typed(std::move(e), f);
  }

  py::tuple suspend(py::handle member, py::handle at) {
    upline::Suspend e;
    Fault f;
    f.id(member, "member", e.member);
    f.time(at, e.at);
    return typed(std::move(e), f);
  }

  py::tuple reactivate(py::handle member, py::handle at) {
    upline::Reactivate e;
    Fault f;
    f.id(member, "member", e.member);
    f.time(at, e.at);
    return typed(std::move(e), f);
  }

  // A plan event. A plan text that does not parse travels as the event's plan_fault: the engine
  // reports it after the event's structural faults, in the order every door shares.
  py::tuple change_plan(py::handle plan_json, py::handle actor, py::handle at) {
    upline::PlanChange e;
    Fault f;
    const std::string_view text = str_view(plan_json, "plan_json");
    e.actor = str_view(actor, "actor");
    f.time(at, e.at);
    upline::PlanFaults faults;
    if (auto plan = upline::Plan::parse(text, faults)) e.plan = std::make_shared<const upline::Plan>(std::move(*plan));
    else e.plan_fault = "plan: " + faults.message();
    return typed(std::move(e), f);
  }

  // ---- queries -------------------------------------------------------------------------------

  py::object member(MemberId id) {
    auto lock = acquire();
    const upline::State& s = engine().state();
    const std::uint32_t m = s.members.find(id);
    if (m == upline::no_member) return py::none();
    const upline::MemberRecord& r = s.members[m];
    py::tuple nodes(2 * (static_cast<std::size_t>(r.tier) + 1));
    for (std::uint32_t t = 0; t <= r.tier; ++t) {
      const upline::State::NodeAt n = s.node_at(m, t);
      PyTuple_SET_ITEM(nodes.ptr(), 2 * t, int_of(n.parent));
      PyTuple_SET_ITEM(nodes.ptr(), 2 * t + 1, uint_of(n.position));
    }
    const auto& have = s.members.rewards(m);
    py::tuple rewards(have.size());
    for (std::size_t i = 0; i < have.size(); ++i) PyTuple_SET_ITEM(rewards.ptr(), static_cast<Py_ssize_t>(i), uint_of(have[i]));
    const auto& benefits = s.plan->tiers[r.tier].benefits;
    py::tuple pairs(benefits.size());
    std::size_t i = 0;
    for (const auto& [k, v] : benefits) pairs[i++] = py::make_tuple(k, v);
    return steal_tuple({int_of(r.id), int_of(s.members.sponsor_id(m)), uint_of(r.tier), uint_of(static_cast<std::uint8_t>(r.status)),
                        int_of(r.balance), int_of(r.lifetime), uint_of(r.orders), uint_of(r.referrals), nodes.release().ptr(),
                        rewards.release().ptr(), pairs.release().ptr()});
  }

  py::object rank_card_json(MemberId id) {
    auto lock = acquire();
    const upline::State& s = engine().state();
    const std::uint32_t m = s.members.find(id);
    if (m == upline::no_member) return py::none();
    std::string out;
    upline::append_rank_card_json(out, s, m);
    return py::str(out);
  }

  py::object order(py::handle id) {
    const std::string_view key = str_view(id, "order");
    auto lock = acquire();
    auto o = engine().order(key);
    if (!o) return py::none();
    return py::make_tuple(o->id, o->member, o->shop, o->amount.units, o->refunded.units, o->at);
  }

  py::tuple census() {
    auto lock = acquire();
    const auto counts = engine().census();
    py::tuple out(counts.size());
    for (std::size_t t = 0; t < counts.size(); ++t) PyTuple_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(t), uint_of(counts[t]));
    return out;
  }

  std::string digest() {
    auto lock = acquire();
    return engine().digest();
  }

  std::string dump_json() {
    auto lock = acquire();
    return upline::dump_json(engine());
  }

  std::string plan_json() {
    auto lock = acquire();
    return engine().plan().canonical_json();
  }

  std::vector<MemberId> upline_of(MemberId id, std::uint32_t tier, std::optional<std::size_t> max_levels) {
    auto lock = acquire();
    return engine().upline(id, tier, max_levels.value_or(SIZE_MAX));
  }

  std::optional<std::uint64_t> below(MemberId id, std::uint32_t tier) {
    auto lock = acquire();
    return engine().below(id, tier);
  }

  // One NumPy array per member field, in join order, filled without the GIL:
  // (id, sponsor, tier, status, balance, lifetime, orders).
  py::tuple columns() {
    auto lock = acquire();
    const std::size_t n = engine().member_count();
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
      const upline::Members& members = engine().state().members;
      for (std::uint32_t i = 0; i < n; ++i) {
        const upline::MemberRecord& r = members[i];
        pid[i] = r.id;
        psp[i] = members.sponsor_id(i);
        pba[i] = r.balance;
        pli[i] = r.lifetime;
        por[i] = static_cast<std::int64_t>(r.orders);
        pti[i] = r.tier;
        pst[i] = static_cast<std::uint8_t>(r.status);
      }
    }
    return py::make_tuple(id, sponsor, tier, status, balance, lifetime, orders);
  }

  Time clock() {
    auto lock = acquire();
    return engine().clock();
  }
  std::uint64_t applied() {
    auto lock = acquire();
    return engine().applied();
  }
  std::uint64_t rejected() {
    auto lock = acquire();
    return engine().rejected();
  }
  std::size_t member_count() {
    auto lock = acquire();
    return engine().member_count();
  }
  std::size_t order_count() {
    auto lock = acquire();
    return engine().order_count();
  }
  int money_scale() {
    auto lock = acquire();
    return engine().plan().money_scale;
  }
  int points_scale() {
    auto lock = acquire();
    return engine().plan().points_scale;
  }
  py::tuple tier_names() {
    auto lock = acquire();
    const auto& tiers = engine().plan().tiers;
    py::tuple out(tiers.size());
    for (std::uint32_t t = 0; t < tiers.size(); ++t) out[t] = py::str(engine().tier_name(t));
    return out;
  }
  py::tuple reward_names() {
    auto lock = acquire();
    const auto& names = engine().reward_names();
    py::tuple out(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) out[i] = py::str(names[i]);
    return out;
  }
  std::string plan_name() {
    auto lock = acquire();
    return engine().plan().name;
  }
 protected:
  // Takes the mutex; if another thread holds it (apply_many, columns), waits without the GIL.
  std::unique_lock<std::mutex> acquire() {
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) {
      py::gil_scoped_release nogil;
      lock.lock();
    }
    return lock;
  }

  // Applies a typed event, or hands the engine the fault found while reading its fields.
  virtual py::tuple typed(upline::Event event, Fault& fault) = 0;
  // The engine queries read; called with the mutex held.
  virtual const upline::Engine& engine() = 0;

 private:
  std::mutex mutex_;
};

// Copies every line (with the GIL) into one buffer, padded for EventReader::read_padded, and
// records where each is.
std::string line_buffer(py::iterable events, std::vector<std::pair<std::size_t, std::size_t>>& lines) {
  std::string buffer;
  for (py::handle item : events) {
    if (!PyUnicode_Check(item.ptr()))
      throw py::type_error("apply_many: item " + std::to_string(lines.size()) + ": expected a str (JSON), got " + type_name(item));
    const std::string_view line = str_view(item, "event");
    lines.emplace_back(buffer.size(), line.size());
    buffer += line;
  }
  buffer.append(upline::EventReader::padding, ' ');  // read_padded: every line has readable bytes after it
  return buffer;
}

// An Engine for Python: the engine and its text door. Not movable: the door points at the engine.
class PyEngine final : public PyCore {
 public:
  explicit PyEngine(const std::string& plan_json) : engine_(parse_plan(plan_json)), door_(engine_) {}

  py::tuple apply_json(py::handle text) {
    const std::string_view line = str_view(text, "event_json");
    auto lock = acquire();
    return answer(door_.apply(line));
  }

  // Copies every line (with the GIL) into one buffer, applies them all through the door without
  // the GIL, then builds one answer per line.
  py::list apply_many(py::iterable events) {
    std::vector<std::pair<std::size_t, std::size_t>> lines;  // offset, length in buffer
    const std::string buffer = line_buffer(events, lines);
    std::vector<Code> codes(lines.size(), Code::ok);
    std::vector<std::pair<std::size_t, std::string>> messages;  // line, message: rejections only
    std::vector<std::size_t> ends(lines.size(), 0);             // each line's effects end in `effects`
    std::vector<Effect> effects;
    {
      auto lock = acquire();
      py::gil_scoped_release nogil;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        const upline::Outcome& o = door_.apply_padded(std::string_view(buffer.data() + lines[i].first, lines[i].second));
        codes[i] = o.code;
        if (!o.ok()) messages.emplace_back(i, o.message);
        effects.insert(effects.end(), o.effects.begin(), o.effects.end());
        ends[i] = effects.size();
      }
    }
    py::list out(lines.size());
    std::size_t next_message = 0, begin = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      std::string_view message;
      if (next_message < messages.size() && messages[next_message].first == i) message = messages[next_message++].second;
      PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), answer(codes[i], message, effects.data() + begin, ends[i] - begin).release().ptr());
      begin = ends[i];
    }
    return out;
  }

 private:
  py::tuple typed(upline::Event event, Fault& fault) override {
    auto lock = acquire();
    if (fault.first) engine_.apply(upline::Input(std::move(*fault.first)), outcome_);
    else engine_.apply(upline::Input(event), outcome_);
    return answer(outcome_);
  }
  const upline::Engine& engine() override { return engine_; }

  upline::Engine engine_;
  upline::LineDoor door_;
  upline::Outcome outcome_;  // of the last typed call, reused
};

// A Store for Python: upline::Store opened (or created) by open_or_create_store, the door the C
// ABI shares. Every event is submitted without the GIL (an fsync may take a while); close() ends
// it, after which every call raises StoreError.
class PyStore final : public PyCore {
 public:
  PyStore(const std::string& dir, std::optional<std::string> plan_json, const std::string& sync, std::uint64_t snapshot_every,
          std::uint64_t keep_snapshots, std::uint64_t snapshot_bytes, std::uint64_t segment_bytes)
      : dir_(dir) {
    upline::StoreOptions options;
    const auto durability = upline::parse_durability(sync);
    if (!durability) throw py::value_error("sync: " + upline::shown_string(sync) + " is not \"every\", \"group\" or \"none\"");
    if (keep_snapshots < 1) throw py::value_error("keep_snapshots: 0 is out of range 1..");
    if (segment_bytes < 4096) throw py::value_error("segment_bytes: " + std::to_string(segment_bytes) + " is out of range 4096..");
    options.durability = *durability;
    options.snapshot_bytes = snapshot_bytes;
    options.segment_bytes = segment_bytes;
    options.snapshot_every = snapshot_every;
    options.keep_snapshots = static_cast<std::size_t>(keep_snapshots);
    std::optional<upline::Plan> plan;
    if (plan_json) plan = parse_plan(*plan_json);
    py::gil_scoped_release nogil;  // recovery replays the journal
    store_ = upline::open_or_create_store(dir, plan ? &*plan : nullptr, options);
  }

  py::tuple apply_json(py::handle text) {
    const std::string_view line = str_view(text, "event_json");
    auto lock = acquire();
    upline::Store& s = store();
    upline::Submitted done;
    {
      py::gil_scoped_release nogil;
      done = s.submit(line);
    }
    return answer(done);
  }

  // Copies every line (with the GIL), submits them all without the GIL, then builds one answer
  // per line. A StoreError stops the batch: the events before it stay submitted.
  py::list apply_many(py::iterable events) {
    std::vector<std::pair<std::size_t, std::size_t>> lines;
    const std::string buffer = line_buffer(events, lines);
    std::vector<upline::Submitted> done(lines.size());
    {
      auto lock = acquire();
      upline::Store& s = store();
      py::gil_scoped_release nogil;
      for (std::size_t i = 0; i < lines.size(); ++i) done[i] = s.submit(std::string_view(buffer.data() + lines[i].first, lines[i].second));
    }
    py::list out(lines.size());
    for (std::size_t i = 0; i < lines.size(); ++i) PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), answer(done[i]).release().ptr());
    return out;
  }

  void commit() {
    auto lock = acquire();
    upline::Store& s = store();
    py::gil_scoped_release nogil;
    s.commit();
  }

  std::string snapshot() {
    auto lock = acquire();
    upline::Store& s = store();
    py::gil_scoped_release nogil;
    return s.snapshot();
  }

  // Commits, then releases the directory whatever the commit gave. Closing twice does nothing.
  void close() {
    auto lock = acquire();
    if (!store_) return;
    std::unique_ptr<upline::Store> s = std::move(store_);
    py::gil_scoped_release nogil;
    s->commit();  // on a throw, `s` still closes the store
  }

  bool closed() {
    auto lock = acquire();
    return !store_;
  }
  std::uint64_t last_seq() {
    auto lock = acquire();
    return store().last_seq();
  }
  std::uint64_t durable_seq() {
    auto lock = acquire();
    return store().durable_seq();
  }
  const std::string& dir() const noexcept { return dir_; }

 private:
  upline::Store& store() {
    if (!store_) throw upline::StoreError(upline::StoreError::Kind::usage, dir_ + ": the store is closed");
    return *store_;
  }
  py::tuple typed(upline::Event event, Fault& fault) override {
    auto lock = acquire();
    upline::Store& s = store();
    upline::Submitted done;
    {
      py::gil_scoped_release nogil;
      done = fault.first ? s.submit(*fault.first) : s.submit(event);
    }
    return answer(done);
  }
  const upline::Engine& engine() override { return store().engine(); }

  std::string dir_;
  std::unique_ptr<upline::Store> store_;
};

py::tuple code_names() {
  std::vector<std::string> names;
  for (Code c : upline::rejection_codes) names.emplace_back(upline::code_name(c));
  return py::tuple(py::cast(names));
}

// The typed event calls and the queries, which Engine and Store share (PyCore). An event call's
// answer is the class's: (code, message, effects) from an Engine, (…, seq) from a Store.
template <class T>
void def_core(py::class_<T>& c) {
  c.def("join", &T::join, "member"_a, "sponsor"_a, "at"_a, "A join event (sponsor None: the first member).")
      .def("purchase", &T::purchase, "order"_a, "member"_a, "shop"_a, "amount"_a, "at"_a,
           "A purchase; `amount` is a decimal str or (units, scale).")
      .def("refund", &T::refund, "order"_a, "amount"_a, "at"_a,
           "A refund; `amount` is a decimal str, (units, scale), or None for the rest of the order.")
      .def("redeem", &T::redeem, "member"_a, "points"_a, "ref"_a, "at"_a, "A redemption; `points` is a decimal str or (units, scale).")
      .def("adjust", &T::adjust, "member"_a, "points"_a, "actor"_a, "reason"_a, "at"_a,
           "A signed manual adjustment; `points` is a decimal str or (units, scale).")
      .def("suspend", &T::suspend, "member"_a, "at"_a, "Suspends a member.")
      .def("reactivate", &T::reactivate, "member"_a, "at"_a, "Reactivates a member.")
      .def("change_plan", &T::change_plan, "plan_json"_a, "actor"_a, "at"_a, "A plan event: the plan as JSON text.")
      .def("member", &T::member, "member"_a,
           "A member's state as (id, sponsor, tier, status, balance, lifetime, orders, referrals, nodes, rewards,\n"
           "benefits), or None if unknown.")
      .def("rank_card_json", &T::rank_card_json, "member"_a, "The member's rank card as JSON text (docs/LAB.md), or None if unknown.")
      .def("order", &T::order, "order"_a, "An accepted order as (id, member, shop, amount, refunded, at), or None if unknown.")
      .def("census", &T::census, "Members per tier by current tier, indexed like tier_names.")
      .def("digest", &T::digest, "SHA-256 of the canonical state (docs/DIGEST.md), 64 hex digits.")
      .def("dump_json", &T::dump_json, "The SPEC §10 state dump as JSON text, byte for byte what `upline replay --dump` writes.")
      .def("plan_json", &T::plan_json, "The plan in force as canonical JSON text.")
      .def("upline", &T::upline_of, "member"_a, "tier"_a, "max_levels"_a = py::none(),
           "Ancestor ids of `member` in tier index `tier`'s matrix, nearest first (empty if it has no node there).")
      .def("below", &T::below, "member"_a, "tier"_a,
           "How many members sit below `member` in tier index `tier`'s matrix, or None if it has no node there.")
      .def("columns", &T::columns,
           "Member fields as NumPy arrays in join order: (id, sponsor, tier, status, balance, lifetime, orders); id,\n"
           "sponsor (0: none), balance, lifetime (units at points_scale) and orders are int64, tier (index) and status\n"
           "(0 active, 1 suspended) uint8.")
      .def_property_readonly("clock", &T::clock, "The engine clock: the largest `at` of the accepted events (0 before any).")
      .def_property_readonly("applied", &T::applied, "Number of accepted events.")
      .def_property_readonly("rejected", &T::rejected, "Number of rejected events.")
      .def_property_readonly("member_count", &T::member_count, "Number of members.")
      .def_property_readonly("order_count", &T::order_count, "Number of accepted orders.")
      .def_property_readonly("money_scale", &T::money_scale, "Decimals of money amounts.")
      .def_property_readonly("points_scale", &T::points_scale, "Decimals of points.")
      .def_property_readonly("tier_names", &T::tier_names, "Tier names, lowest first (only ever appended to).")
      .def_property_readonly("reward_names", &T::reward_names, "Reward ids by index (interned for good: indices never change).")
      .def_property_readonly("plan_name", &T::plan_name, "The name of the plan in force.");
}

}  // namespace

PYBIND11_MODULE(_upline, m) {
  m.doc() =
      "Private compiled core of the `upline` package: upline::Engine over flat Python values.\n\n"
      "Every event call returns (code, message, effects): code is \"ok\" or a SPEC rejection code,\n"
      "message explains a rejection (empty when accepted), effects is a tuple of flat int tuples\n"
      "(type, member, points, kind, tier, level_or_position, parent, reward, from). Amounts go in\n"
      "as decimal text or as (units, scale). Nothing here raises for a rejected event; use the\n"
      "`upline` package, which does, and which turns these tuples into values.";
  m.attr("version") = std::string(upline::version);
  m.def("codes", &code_names, "Every rejection code the engine can answer, in numeric order (\"ok\" excluded).");
  m.def(
      "what_if",
      [](const std::string& plan_a, const std::string& plan_b, const std::string& events, const std::string& period,
         std::optional<std::uint64_t> from, std::optional<std::uint64_t> until, std::size_t top, bool html, std::size_t forecast) {
        const upline::Plan a = parse_plan(plan_a), b = parse_plan(plan_b);
        const std::optional<upline::Period> p = upline::period_named(period);
        if (!p) throw py::value_error("period: \"" + period + "\" is not day, week or month");
        upline::WhatIfOptions o;
        o.period = *p;
        o.from = from;
        o.until = until;
        o.top = top;
        o.forecast = forecast;
        std::vector<std::string_view> lines;  // the non-blank lines, sequence numbers from 1
        for (std::string_view rest = events; !rest.empty();) {
          const std::size_t nl = rest.find('\n');
          const std::string_view line = rest.substr(0, nl);
          rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
          if (!upline::blank_line(line)) lines.push_back(line);
        }
        std::string json, page, error;
        {
          py::gil_scoped_release unlocked;  // both sides run on threads of their own
          try {
            const upline::WhatIf w = upline::what_if(a, b, [&lines](const std::function<bool(std::uint64_t, const upline::Input&)>& visit) {
              upline::EventReader reader;  // one per walk: the two sides walk at once
              for (std::size_t i = 0; i < lines.size(); ++i)
                if (!visit(i + 1, reader.read(lines[i]))) return;
            }, o);
            upline::append_whatif_json(json, w);
            if (html) upline::append_whatif_html(page, w);
          } catch (const std::exception& e) {
            error = e.what();
          }
        }
        if (!error.empty()) throw py::value_error(error);
        return py::make_tuple(json, html ? py::object(py::str(page)) : py::object(py::none()));
      },
      "plan_a"_a, "plan_b"_a, "events"_a, "period"_a = "month", "from_seq"_a = py::none(), "until"_a = py::none(), "top"_a = 10,
      "html"_a = false, "forecast"_a = 0,
      "What-if on a history (docs/LAB.md): (report JSON text, HTML page or None); forecast: periods each side is\n"
      "projected on the page (0: none; at most 10,000). Raises ValueError for an invalid plan, a bad period or\n"
      "forecast, or a comparison that cannot be made (plan b rejected at from_seq, from_seq past the end).");
  m.def(
      "statement_json",
      [](const std::string& dir, MemberId member, std::optional<std::string> from, std::optional<std::string> until) -> std::optional<std::string> {
        std::optional<upline::Time> bound[2];
        const std::optional<std::string>* const text[2] = {&from, &until};
        for (int i = 0; i < 2; ++i) {
          if (!*text[i]) continue;
          bound[i] = upline::parse_statement_time(**text[i]);
          if (!bound[i]) throw py::value_error(upline::statement_time_fault(i ? "until" : "from", **text[i]));
        }
        try {
          upline::check_statement_period(bound[0], bound[1]);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        std::optional<upline::Statement> st;
        {
          py::gil_scoped_release unlocked;  // a rebuild and a walk of the journal: seconds on a large history
          st = upline::member_statement(dir, member, bound[0], bound[1]);
        }
        if (!st->known) return std::nullopt;
        std::string out;
        upline::append_statement_json(out, *st);
        return out;
      },
      "dir"_a, "member"_a, "from_"_a = py::none(), "until"_a = py::none(),
      "A member's statement over [from_, until) from a data directory's history (docs/SPEC.md §13) as JSON text, or\n"
      "None if the member had not joined by then. Times: ms since the epoch, @MS, YYYY-MM-DD or an ISO-8601 UTC\n"
      "time, as text. ValueError for a malformed time or until before from; StoreError for the directory.");
  m.def(
      "bundled_plan",
      [](const std::string& name) -> std::optional<std::string> {
        auto text = upline::bundled_plan(name);
        if (!text) return std::nullopt;
        return std::string(*text);
      },
      "name"_a, "A plan bundled with the library (\"four-tier\", \"deep\") as JSON text, or None for another name.");

  // StoreError: the message as str(e), and `kind` ("io", "corrupt", "busy" or "usage").
  static py::handle store_error = PyErr_NewExceptionWithDoc(
      "upline.StoreError",
      "A data directory could not be opened, read or written, or was misused: `kind` is \"io\" (a read, write\n"
      "or fsync failed: the store accepts nothing more; reopen it), \"corrupt\" (the directory is damaged),\n"
      "\"busy\" (another Store has it open) or \"usage\"; str(e) names the file, offset or argument.",
      PyExc_Exception, nullptr);
  if (!store_error) throw py::error_already_set();
  m.add_object("StoreError", store_error);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const upline::StoreError& e) {
      py::object error = py::reinterpret_borrow<py::object>(store_error)(e.what());
      const std::string_view kind = upline::store_failure_name(e);
      error.attr("kind") = py::str(kind.data(), kind.size());
      error.attr("message") = py::str(e.what());
      PyErr_SetObject(store_error.ptr(), error.ptr());
    }
  });

  py::class_<PyEngine> engine(m, "Engine",
                              "upline::Engine built from plan JSON text (raises ValueError \"invalid_plan: …\" naming every fault).\n"
                              "Calls are serialised by an internal mutex, so an Engine may be shared between threads.\n"
                              "Every event call returns (code, message, effects).");
  engine.def(py::init<const std::string&>(), "plan_json"_a)
      .def("apply_json", &PyEngine::apply_json, "event_json"_a,
           "Applies one event given as JSON text (SPEC §4 fields plus \"type\"). Returns (code, message, effects).")
      .def("apply_many", &PyEngine::apply_many, "events"_a,
           "Applies events (JSON text) in order with the GIL released. Returns a list of one (code, message, effects)\n"
           "per event; a rejection is reported in its answer and the batch goes on.");
  def_core(engine);

  py::class_<PyStore> store(m, "Store",
                            "upline::Store: DIR opened and recovered, or created with plan_json when it holds no journal yet\n"
                            "(a plan given for an existing DIR must be the plan in force there). `sync` is \"every\", \"group\"\n"
                            "or \"none\". Raises ValueError \"invalid_plan: …\" for a plan that breaks a rule and StoreError\n"
                            "otherwise. The event calls and queries are Engine's; every event call returns\n"
                            "(code, message, effects, seq), seq the number the event was journaled under.");
  store
      .def(py::init<const std::string&, std::optional<std::string>, const std::string&, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t>(),
           "dir"_a,
           "plan_json"_a = py::none(), "sync"_a = "every", "snapshot_every"_a = 0, "keep_snapshots"_a = 2,
           "snapshot_bytes"_a = upline::default_snapshot_bytes, "segment_bytes"_a = upline::default_segment_bytes)
      .def("apply_json", &PyStore::apply_json, "event_json"_a,
           "Submits one event given as JSON text (SPEC §4 fields plus \"type\"). Returns (code, message, effects, seq).")
      .def("apply_many", &PyStore::apply_many, "events"_a,
           "Submits events (JSON text) in order with the GIL released. Returns a list of one (code, message, effects, seq)\n"
           "per event; a rejection is reported in its answer and the batch goes on.")
      .def("commit", &PyStore::commit, "Makes every submitted event durable: afterwards durable_seq == last_seq.")
      .def("snapshot", &PyStore::snapshot, "Commits, writes a snapshot of the state, prunes old ones; returns its file name.")
      .def("close", &PyStore::close, "Commits and releases the directory (the store is closed even if the commit fails).")
      .def_property_readonly("closed", &PyStore::closed, "Whether close() was called.")
      .def_property_readonly("last_seq", &PyStore::last_seq, "The sequence number of the last event submitted (0 for none).")
      .def_property_readonly("durable_seq", &PyStore::durable_seq, "The last sequence number that is durable.")
      .def_property_readonly("dir", &PyStore::dir, "The data directory.");
  def_core(store);
}
