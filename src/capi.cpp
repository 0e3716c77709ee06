// capi.cpp — the C ABI (include/upline/upline.h) over upline::Engine and upline::Store.
//
// Every exported body is wrapped by `guard`, which turns any C++ exception into a status and a
// thread-local message: nothing throws or aborts across the boundary.
//
// A store's engine is shown to the host as an upl_engine of its own (upl_store_engine()): a view
// that reads the store's engine and that the engine's event calls refuse. The typed calls build
// their events once, in the functions below, for an engine or for a store alike; `run` hands the
// event to the engine, or to the store, which applies and journals it.
#include "upline/upline.h"

#include "upline/door.hpp"
#include "upline/store_open.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <vector>

static_assert(sizeof(upl_effect) == 40, "upl_effect layout is part of the ABI");
static_assert(sizeof(upl_member) == 64, "upl_member layout is part of the ABI");
static_assert(sizeof(upl_order) == 40, "upl_order layout is part of the ABI");
static_assert(static_cast<int>(UPL_EOVERFLOW) == static_cast<int>(upline::Code::overflow));
static_assert(static_cast<int>(UPL_EDUPLICATE_ORDER) == static_cast<int>(upline::Code::duplicate_order));
static_assert(static_cast<int>(UPL_EINVALID_EVENT) == static_cast<int>(upline::Code::invalid_event));

struct upl_engine {
  std::optional<upline::Engine> owned;  // an engine of upl_engine_open_json(); empty in a store's view
  const upline::Engine& engine;         // what queries read: `owned`, or the store's engine
  upline::Store* store = nullptr;       // a store's view: events go to the store, which journals them
  std::optional<upline::LineDoor> door;  // over `owned`
  std::vector<upline::Effect> effects;  // the last accepted event's (empty after a rejection)
  std::string result;
  // The typed calls' events, reused: their strings keep their capacity from call to call, so
  // that an accepted purchase allocates nothing once the engine's tables have grown.
  upline::Event purchase{upline::Purchase{}}, refund{upline::Refund{}}, redeem{upline::Redeem{}};
  upl_status last = UPL_OK;
  std::uint64_t seq = 0;  // a store's view: the last event call's sequence number, 0 if it journaled nothing

  explicit upl_engine(upline::Plan p) : owned(std::in_place, std::move(p)), engine(*owned), door(std::in_place, *owned) {}
  explicit upl_engine(upline::Store& s) : engine(s.engine()), store(&s) {}
};

struct upl_store {
  std::unique_ptr<upline::Store> store;
  upl_engine view{*store};

  explicit upl_store(std::unique_ptr<upline::Store> s) : store(std::move(s)) {}
};

namespace {

thread_local std::string last_error;

upl_status fail(upl_status s, std::string msg) {
  last_error = std::move(msg);
  return s;
}

upl_status store_status(const upline::StoreError& e) {
  switch (e.kind()) {
    case upline::StoreError::Kind::io: return UPL_EIO;
    case upline::StoreError::Kind::corrupt: return UPL_ECORRUPT;
    case upline::StoreError::Kind::usage: break;
  }
  return upline::store_busy(e) ? UPL_EBUSY : UPL_EINVALID;
}

template <class F>
upl_status guard(F&& f) noexcept {
  try {
    return f();
  } catch (const upline::StoreError& e) {
    return fail(store_status(e), e.what());
  } catch (const std::bad_alloc&) {
    return fail(UPL_ENOMEM, "out of memory");
  } catch (const std::exception& e) {
    return fail(UPL_EINTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(UPL_EINTERNAL, "internal error: unknown exception");
  }
}

// The smallest size each growable record has had since it carried `size` (0.2): a caller's
// record is filled up to min(its size, ours), never past it.
constexpr std::uint32_t min_effect_size = 40, min_member_size = 64, min_order_size = 40;

// A caller's record: not NULL, and at least as large as the record has been since 0.2.
template <class Record>
bool usable(const Record* out, std::uint32_t min_size) {
  if (!out) return fail(UPL_EINVALID, "out: NULL"), false;
  if (out->size >= min_size) return true;
  fail(UPL_EINVALID, "out->size: " + std::to_string(out->size) + " is smaller than " + std::to_string(min_size) +
                         " (set it to the record's sizeof: UPL_*_INIT)");
  return false;
}

// Writes `full` into the caller's record, up to min(its size, ours), keeping its size.
template <class Record>
upl_status fill(Record* out, const Record& full) {
  const std::uint32_t size = out->size;
  std::memcpy(static_cast<void*>(out), &full, std::min<std::size_t>(size, sizeof(Record)));
  out->size = size;
  return UPL_OK;
}

// Every event call starts here: until the call ends, the last status is UPL_ENOMEM and there are
// no effects, so that a call that runs out of memory part way never leaves the previous event's
// outcome readable as if it were this one's.
void begin_event(upl_engine* e) {
  e->effects.clear();
  e->last = UPL_ENOMEM;
}

// A submitted event's outcome, as the engine's calls report theirs.
upl_status record(upl_engine* e, upline::Submitted&& done) {
  e->seq = done.seq;
  e->effects = std::move(done.effects);
  e->last = static_cast<upl_status>(done.code);
  if (done.code != upline::Code::ok) last_error = std::move(done.message);
  return e->last;
}

// Every typed call ends here: the engine's one door, or the store's (which applies the event
// through the same door and journals it). A store that fails leaves its status as the outcome.
upl_status run(upl_engine* e, const upline::Event& ev) {
  begin_event(e);
  if (e->store) {
    try {
      return record(e, e->store->submit(ev));
    } catch (const upline::StoreError& x) {
      e->last = store_status(x);
      throw;
    }
  }
  upline::Rejection why;
  if (e->owned->apply(ev, e->effects, &why)) {
    e->last = UPL_OK;
    return UPL_OK;
  }
  e->last = static_cast<upl_status>(why.code);
  return fail(e->last, std::move(why.message));
}

// An event call refused before it became an event (a NULL argument): nothing in the engine
// changed, and the call is what upl_engine_last_status() and the effects now describe — so a host
// that reads the effects after a failed call finds none, never the previous event's.
upl_status not_an_event(upl_engine* e, upl_status s) {
  e->effects.clear();
  e->last = s;
  return s;
}

// A NUL-terminated C string argument, or nullptr (then `field` is named in the error).
bool text(const char* s, const char* field, std::string& out) {
  if (!s) {
    fail(UPL_EINVALID, std::string(field) + ": NULL");
    return false;
  }
  out.assign(s);
  return true;
}

char* copy_out(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size() + 1);
  return p;
}

upl_status null_engine() { return fail(UPL_EINVALID, "engine: NULL"); }

// The engine's event calls take engines of their own only: a store's view is read-only.
upl_status writable(const upl_engine* e) {
  if (!e) return null_engine();
  if (e->store)
    return fail(UPL_EINVALID, "engine: the engine of store " + upline::shown_string(e->store->dir()) +
                                  " is read-only; submit events with the upl_store_* calls");
  return UPL_OK;
}

upl_status null_store() { return fail(UPL_EINVALID, "store: NULL"); }

// ---- the typed calls, for an engine or a store's view ---------------------------------------------

upl_status join(upl_engine* e, int64_t member, int64_t sponsor, int64_t at) {
  return run(e, upline::Join{member, sponsor == 0 ? std::nullopt : std::optional<upline::MemberId>(sponsor), at});
}

upl_status purchase(upl_engine* e, const char* order, int64_t member, const char* shop, int64_t amount, int64_t at) {
  begin_event(e);
  auto& p = std::get<upline::Purchase>(e->purchase);
  if (!text(order, "order", p.order) || !text(shop, "shop", p.shop)) return not_an_event(e, UPL_EINVALID);
  p.member = member;
  p.amount = upline::Decimal::from_units(amount, e->engine.plan().money_scale);
  p.at = at;
  return run(e, e->purchase);
}

upl_status refund(upl_engine* e, const char* order, int64_t amount, int64_t at) {
  begin_event(e);
  auto& r = std::get<upline::Refund>(e->refund);
  if (!text(order, "order", r.order)) return not_an_event(e, UPL_EINVALID);
  r.amount = upline::Decimal::from_units(amount, e->engine.plan().money_scale);
  r.at = at;
  return run(e, e->refund);
}

upl_status refund_rest(upl_engine* e, const char* order, int64_t at) {
  begin_event(e);
  auto& r = std::get<upline::Refund>(e->refund);
  if (!text(order, "order", r.order)) return not_an_event(e, UPL_EINVALID);
  r.amount.reset();
  r.at = at;
  return run(e, e->refund);
}

upl_status redeem(upl_engine* e, int64_t member, int64_t points, const char* ref, int64_t at) {
  begin_event(e);
  auto& r = std::get<upline::Redeem>(e->redeem);
  if (!text(ref, "ref", r.ref)) return not_an_event(e, UPL_EINVALID);
  r.member = member;
  r.points = upline::Decimal::from_units(points, e->engine.plan().points_scale);
  r.at = at;
  return run(e, e->redeem);
}

upl_status adjust(upl_engine* e, int64_t member, int64_t points, const char* actor, const char* reason, int64_t at) {
  begin_event(e);
  upline::Adjust a;
  if (!text(actor, "actor", a.actor) || !text(reason, "reason", a.reason)) return not_an_event(e, UPL_EINVALID);
  a.member = member;
  a.points = upline::Decimal::from_units(points, e->engine.plan().points_scale);
  a.at = at;
  return run(e, a);
}

upl_status change_plan(upl_engine* e, const char* plan_json, size_t len, const char* actor, int64_t at) {
  begin_event(e);
  if (!plan_json) return not_an_event(e, fail(UPL_EINVALID, "plan_json: NULL"));
  upline::PlanChange c;
  if (!text(actor, "actor", c.actor)) return not_an_event(e, UPL_EINVALID);
  c.at = at;
  upline::PlanFaults faults;
  auto plan = upline::Plan::parse(std::string_view(plan_json, len), faults);
  if (plan) c.plan = std::make_shared<const upline::Plan>(std::move(*plan));
  else c.plan_fault = "plan: " + faults.message();  // reported by the engine in its place (SPEC §4)
  return run(e, c);
}

// A store's event call: `call` runs on the store's view; `seq` receives the number of the event
// it journaled, if it journaled one.
template <class Call>
upl_status store_event(upl_store* s, uint64_t* seq, Call&& call) {
  return guard([&] {
    if (!s) return null_store();
    s->view.seq = 0;
    const upl_status st = call(&s->view);
    if (seq && s->view.seq != 0) *seq = s->view.seq;
    return st;
  });
}

// The options a host passed: read up to its record's size, checked whole before any is used.
bool store_options(const upl_store_options* in, upline::StoreOptions& out) {
  if (!in) return true;
  constexpr std::uint32_t min_size = 24;  // upl_store_options as it first was (0.2)
  if (in->size < min_size)
    return fail(UPL_EINVALID, "options->size: " + std::to_string(in->size) + " is smaller than " + std::to_string(min_size) +
                                  " (set it to sizeof(upl_store_options): UPL_STORE_OPTIONS_INIT)"),
           false;
  switch (in->durability) {
    case UPL_SYNC_EVERY: out.durability = upline::Durability::every; break;
    case UPL_SYNC_GROUP: out.durability = upline::Durability::group; break;
    case UPL_SYNC_NONE: out.durability = upline::Durability::none; break;
    default:
      return fail(UPL_EINVALID, "options->durability: " + std::to_string(in->durability) +
                                    " is not UPL_SYNC_EVERY (0), UPL_SYNC_GROUP (1) or UPL_SYNC_NONE (2)"),
             false;
  }
  if (in->keep_snapshots < 1) return fail(UPL_EINVALID, "options->keep_snapshots: 0 is out of range 1.."), false;
  // Fields added in 0.3 are read only from a record that has them; an older one gets the defaults.
  constexpr std::uint32_t size_03 = 40;
  if (in->size >= size_03 && in->segment_bytes < 4096)
    return fail(UPL_EINVALID, "options->segment_bytes: " + std::to_string(in->segment_bytes) + " is out of range 4096.."), false;
  out.snapshot_every = in->snapshot_every;
  out.keep_snapshots = static_cast<std::size_t>(in->keep_snapshots);
  if (in->size >= size_03) {
    out.snapshot_bytes = in->snapshot_bytes;
    out.segment_bytes = in->segment_bytes;
  }
  return true;
}

upl_status unknown_member(std::int64_t m) { return fail(UPL_ENOTFOUND, upline::reject::unknown_member(m).message); }

}  // namespace

extern "C" {

UPL_API const char* upl_status_str(upl_status s) {
  switch (s) {
    case UPL_EINVALID: return "invalid";
    case UPL_ENOMEM: return "nomem";
    case UPL_ENOTFOUND: return "notfound";
    case UPL_EINTERNAL: return "internal";
    case UPL_EIO: return "io";
    case UPL_ECORRUPT: return "corrupt";
    case UPL_EBUSY: return "busy";
    default: break;  // the rejection codes, and values that are no status at all
  }
  std::string_view n = upline::code_name(static_cast<upline::Code>(s));
  return n.data();  // code_name returns literals: NUL-terminated
}

UPL_API const char* upl_last_error(void) { return last_error.c_str(); }

UPL_API uint32_t upl_version_number(void) { return UPL_VERSION_NUMBER; }

UPL_API const char* upl_version(void) { return UPL_VERSION_STRING; }

UPL_API upl_status upl_engine_open_json(upl_engine** out, const char* plan_json, size_t len) {
  return guard([&] {
    if (!out) return fail(UPL_EINVALID, "out: NULL");
    if (!plan_json) return fail(UPL_EINVALID, "plan_json: NULL");
    upline::PlanFaults faults;
    auto plan = upline::Plan::parse(std::string_view(plan_json, len), faults);
    if (!plan) return fail(UPL_EINVALID_PLAN, faults.message());
    *out = new upl_engine(std::move(*plan));
    return UPL_OK;
  });
}

UPL_API void upl_engine_free(upl_engine* engine) {
  if (engine && engine->store) return;  // a store's view belongs to its store (upl_store_close)
  delete engine;
}

UPL_API upl_status upl_engine_scales(int* money_scale, int* points_scale, const upl_engine* e) {
  if (!e) return null_engine();
  if (money_scale) *money_scale = e->engine.plan().money_scale;
  if (points_scale) *points_scale = e->engine.plan().points_scale;
  return UPL_OK;
}

UPL_API upl_status upl_engine_apply_json(upl_engine* e, const char* event_json, size_t len, char** result_json) {
  return guard([&] {
    if (upl_status s = writable(e)) return s;
    begin_event(e);
    if (!event_json) return not_an_event(e, fail(UPL_EINVALID, "event_json: NULL"));
    if (!result_json) return not_an_event(e, fail(UPL_EINVALID, "result_json: NULL"));
    const upline::Outcome& out = e->door->apply(std::string_view(event_json, len));
    // The event's status is recorded before anything that can run out of memory, so that after
    // UPL_ENOMEM upl_engine_last_status() still says whether the event was applied.
    e->last = static_cast<upl_status>(out.code);
    e->effects.clear();
    if (!out.ok()) last_error = out.message;
    e->effects = out.effects;
    e->result.clear();
    e->door->append_result(e->result, 0);
    *result_json = copy_out(e->result);
    return e->last;
  });
}

UPL_API upl_status upl_engine_dump_json(const upl_engine* e, char** state_json) {
  return guard([&] {
    if (!e) return null_engine();
    if (!state_json) return fail(UPL_EINVALID, "state_json: NULL");
    *state_json = copy_out(upline::dump_json(e->engine));
    return UPL_OK;
  });
}

UPL_API void upl_string_free(char* s) { std::free(s); }

UPL_API upl_status upl_join(upl_engine* e, int64_t member, int64_t sponsor, int64_t at) {
  return guard([&] {
    if (upl_status s = writable(e)) return s;
    return join(e, member, sponsor, at);
  });
}

UPL_API upl_status upl_purchase(upl_engine* e, const char* order, int64_t member, const char* shop, int64_t amount, int64_t at) {
  return guard([&] {
    if (upl_status s = writable(e)) return s;
    return purchase(e, order, member, shop, amount, at);
  });
}

UPL_API upl_status upl_refund(upl_engine* e, const char* order, int64_t amount, int64_t at) {
  return guard([&] {
    if (upl_status s = writable(e)) return s;
    return refund(e, order, amount, at);
  });
}

UPL_API upl_status upl_refund_rest(upl_engine* e, const char* order, int64_t at) {
  return guard([&] {
    if (upl_status s = writable(e)) return s;
    return refund_rest(e, order, at);
  });
}

UPL_API upl_status upl_redeem(upl_engine* e, int64_t member, int64_t points, const char* ref, int64_t at) {
  return guard([&] {
    if (upl_status s = writable(e)) return s;
    return redeem(e, member, points, ref, at);
  });
}

UPL_API upl_status upl_adjust(upl_engine* e, int64_t member, int64_t points, const char* actor, const char* reason, int64_t at) {
  return guard([&] {
    if (upl_status s = writable(e)) return s;
    return adjust(e, member, points, actor, reason, at);
  });
}

UPL_API upl_status upl_suspend(upl_engine* e, int64_t member, int64_t at) {
  return guard([&] {
    if (upl_status s = writable(e)) return s;
    return run(e, upline::Suspend{member, at});
  });
}

UPL_API upl_status upl_reactivate(upl_engine* e, int64_t member, int64_t at) {
  return guard([&] {
    if (upl_status s = writable(e)) return s;
    return run(e, upline::Reactivate{member, at});
  });
}

UPL_API upl_status upl_change_plan(upl_engine* e, const char* plan_json, size_t len, const char* actor, int64_t at) {
  return guard([&] {
    if (upl_status s = writable(e)) return s;
    return change_plan(e, plan_json, len, actor, at);
  });
}

UPL_API size_t upl_engine_effect_count(const upl_engine* e) { return e ? e->effects.size() : 0; }

UPL_API upl_status upl_engine_effect(upl_effect* out, const upl_engine* e, size_t i) {
  return guard([&] {
    if (!usable(out, min_effect_size)) return UPL_EINVALID;
    if (!e) return null_engine();
    if (i >= e->effects.size())
      return fail(UPL_ENOTFOUND, "i: " + std::to_string(i) + " is past the last effect (" + std::to_string(e->effects.size()) + " in all)");
    const upline::Effect& x = e->effects[i];
    upl_effect r{};
    r.size = sizeof r;
    r.type = static_cast<std::uint8_t>(x.type);
    r.kind = static_cast<std::uint8_t>(x.kind);
    r.tier = x.tier;
    r.from = x.from;
    r.level = x.level;
    r.reward = x.reward;
    r.member = x.member;
    r.parent = x.parent;
    r.points = x.points;
    return fill(out, r);
  });
}

UPL_API upl_status upl_engine_last_status(const upl_engine* e) { return e ? e->last : UPL_EINVALID; }

UPL_API const char* upl_tier_name(const upl_engine* e, uint32_t tier) {
  if (!e || tier >= e->engine.plan().tiers.size()) return nullptr;
  return e->engine.tier_name(tier).c_str();
}

UPL_API const char* upl_reward_name(const upl_engine* e, uint32_t reward) {
  if (!e || reward >= e->engine.reward_count()) return nullptr;
  return e->engine.reward_name(reward).c_str();
}

UPL_API upl_status upl_member_get(upl_member* out, const upl_engine* e, int64_t member) {
  return guard([&] {
    if (!usable(out, min_member_size)) return UPL_EINVALID;
    if (!e) return null_engine();
    auto v = e->engine.member(member);
    if (!v) return unknown_member(member);
    upl_member m{};
    m.size = sizeof m;
    m.id = v->id;
    m.sponsor = v->sponsor.value_or(0);
    m.balance = v->balance.units;
    m.lifetime = v->lifetime.units;
    m.orders = v->orders;
    m.tier = v->tier;
    m.status = static_cast<uint32_t>(v->status);
    m.referrals = v->referrals;
    m.reward_count = static_cast<uint32_t>(v->rewards.size());
    return fill(out, m);
  });
}

UPL_API upl_status upl_member_node(int64_t* parent, uint32_t* position, const upl_engine* e, int64_t member, uint32_t tier) {
  return guard([&] {
    if (!parent || !position) return fail(UPL_EINVALID, "parent, position: NULL");
    if (!e) return null_engine();
    auto v = e->engine.member(member);
    if (!v) return unknown_member(member);
    if (tier >= v->nodes.size())
      return fail(UPL_ENOTFOUND, "tier: member " + std::to_string(member) + " has no node in tier " + std::to_string(tier));
    *parent = v->nodes[tier].parent.value_or(0);
    *position = v->nodes[tier].position;
    return UPL_OK;
  });
}

UPL_API upl_status upl_member_reward(uint32_t* reward, const upl_engine* e, int64_t member, uint32_t i) {
  return guard([&] {
    if (!reward) return fail(UPL_EINVALID, "reward: NULL");
    if (!e) return null_engine();
    auto r = e->engine.reward_index(member, i);
    if (!r) return fail(UPL_ENOTFOUND, "member " + std::to_string(member) + " has no reward number " + std::to_string(i));
    *reward = *r;
    return UPL_OK;
  });
}

UPL_API upl_status upl_member_rank_card_json(const upl_engine* e, int64_t member, char** card_json) {
  return guard([&] {
    if (!e) return null_engine();
    if (!card_json) return fail(UPL_EINVALID, "card_json: NULL");
    const upline::State& s = e->engine.state();
    const std::uint32_t m = s.members.find(member);
    if (m == upline::no_member) return unknown_member(member);
    std::string out;
    upline::append_rank_card_json(out, s, m);
    *card_json = copy_out(out);
    return UPL_OK;
  });
}

UPL_API upl_status upl_member_benefit(const char** value, const upl_engine* e, int64_t member, const char* key) {
  return guard([&] {
    if (!value) return fail(UPL_EINVALID, "value: NULL");
    if (!key) return fail(UPL_EINVALID, "key: NULL");
    if (!e) return null_engine();
    const auto* b = e->engine.benefits(member);
    if (!b) return unknown_member(member);
    auto it = b->find(key);
    *value = it == b->end() ? nullptr : it->second.c_str();
    return UPL_OK;
  });
}

UPL_API upl_status upl_order_get(upl_order* out, const upl_engine* e, const char* order) {
  return guard([&] {
    if (!usable(out, min_order_size)) return UPL_EINVALID;
    if (!order) return fail(UPL_EINVALID, "order: NULL");
    if (!e) return null_engine();
    auto o = e->engine.order(order);
    if (!o) return fail(UPL_ENOTFOUND, upline::reject::unknown_order(order).message);
    return fill(out, upl_order{sizeof(upl_order), 0, o->member, o->amount.units, o->refunded.units, o->at});
  });
}

UPL_API upl_status upl_tier_benefit(const char** key, const char** value, const upl_engine* e, uint32_t tier, size_t index) {
  return guard([&] {
    if (!key || !value) return fail(UPL_EINVALID, "key, value: NULL");
    if (!e) return null_engine();
    if (tier >= e->engine.plan().tiers.size()) return fail(UPL_ENOTFOUND, "tier: " + std::to_string(tier) + " is not a tier of the plan");
    const auto& b = e->engine.plan().tiers[tier].benefits;
    if (index >= b.size()) return fail(UPL_ENOTFOUND, "tier " + e->engine.tier_name(tier) + " has " + std::to_string(b.size()) + " benefits");
    auto it = std::next(b.begin(), static_cast<std::ptrdiff_t>(index));
    *key = it->first.c_str();
    *value = it->second.c_str();
    return UPL_OK;
  });
}

UPL_API upl_status upl_parse_amount(int64_t* units, const char* text, int scale) {
  return guard([&] {
    if (!units || !text) return fail(UPL_EINVALID, "units, text: NULL");
    if (scale < 0 || scale > upline::max_scale) return fail(UPL_EINVALID, "scale: " + std::to_string(scale) + " is out of range 0..6");
    const upline::Decimal d = upline::Decimal::lenient(text);
    int64_t v = 0;
    const upline::Decimal::Fit fit = d.to_units(scale, v);
    if (fit != upline::Decimal::Fit::ok) return fail(UPL_EINVALID_AMOUNT, d.fit_message(fit, "text", "scale", scale));
    *units = v;
    return UPL_OK;
  });
}

UPL_API upl_status upl_format_amount(char* buf, size_t cap, int64_t units, int scale) {
  return guard([&] {
    if (!buf) return fail(UPL_EINVALID, "buf: NULL");
    if (scale < 0 || scale > upline::max_scale) return fail(UPL_EINVALID, "scale: " + std::to_string(scale) + " is out of range 0..6");
    const std::string s = upline::format_units(units, scale);
    if (s.size() + 1 > cap) return fail(UPL_EINVALID, "cap: " + std::to_string(cap) + " bytes, " + std::to_string(s.size() + 1) + " needed");
    std::memcpy(buf, s.c_str(), s.size() + 1);
    return UPL_OK;
  });
}

UPL_API upl_status upl_upline(int64_t* out, size_t cap, size_t* count, const upl_engine* e, int64_t member, uint32_t tier) {
  return guard([&] {
    if (!count) return fail(UPL_EINVALID, "count: NULL");
    if (cap > 0 && !out) return fail(UPL_EINVALID, "out: NULL with cap > 0");
    if (!e) return null_engine();
    if (!e->engine.has_member(member)) return unknown_member(member);
    if (!e->engine.below(member, tier)) return fail(UPL_ENOTFOUND, "tier: member " + std::to_string(member) + " has no node in tier " + std::to_string(tier));
    std::vector<upline::MemberId> up = e->engine.upline(member, tier);
    for (size_t i = 0; i < up.size() && i < cap; ++i) out[i] = up[i];
    *count = up.size();
    return UPL_OK;
  });
}

UPL_API upl_status upl_below(uint64_t* count, const upl_engine* e, int64_t member, uint32_t tier) {
  return guard([&] {
    if (!count) return fail(UPL_EINVALID, "count: NULL");
    if (!e) return null_engine();
    if (!e->engine.has_member(member)) return unknown_member(member);
    auto b = e->engine.below(member, tier);
    if (!b) return fail(UPL_ENOTFOUND, "tier: member " + std::to_string(member) + " has no node in tier " + std::to_string(tier));
    *count = *b;
    return UPL_OK;
  });
}

UPL_API upl_status upl_census(uint64_t* out, size_t cap, size_t* tiers, const upl_engine* e) {
  return guard([&] {
    if (!tiers) return fail(UPL_EINVALID, "tiers: NULL");
    if (cap > 0 && !out) return fail(UPL_EINVALID, "out: NULL with cap > 0");
    if (!e) return null_engine();
    auto c = e->engine.census();
    for (size_t i = 0; i < c.size() && i < cap; ++i) out[i] = c[i];
    *tiers = c.size();
    return UPL_OK;
  });
}

UPL_API upl_status upl_digest(char out[65], const upl_engine* e) {
  return guard([&] {
    if (!out) return fail(UPL_EINVALID, "out: NULL");
    if (!e) return null_engine();
    std::string d = e->engine.digest();
    std::memcpy(out, d.c_str(), 65);
    return UPL_OK;
  });
}

UPL_API upl_status upl_engine_counters(uint64_t* applied, uint64_t* rejected, uint64_t* members, int64_t* clock, const upl_engine* e) {
  if (!e) return null_engine();
  if (applied) *applied = e->engine.applied();
  if (rejected) *rejected = e->engine.rejected();
  if (members) *members = e->engine.member_count();
  if (clock) *clock = e->engine.clock();
  return UPL_OK;
}

// ---- stores -------------------------------------------------------------------------------------

UPL_API upl_status upl_store_open(upl_store** out, const char* dir, const char* plan_json, size_t plan_len,
                                  const upl_store_options* options) {
  return guard([&] {
    if (!out) return fail(UPL_EINVALID, "out: NULL");
    if (!dir) return fail(UPL_EINVALID, "dir: NULL");
    if (!*dir) return fail(UPL_EINVALID, "dir: \"\" is not a directory name");
    upline::StoreOptions o;
    if (!store_options(options, o)) return UPL_EINVALID;
    std::optional<upline::Plan> plan;
    if (plan_json && plan_len > 0) {
      upline::PlanFaults faults;
      plan = upline::Plan::parse(std::string_view(plan_json, plan_len), faults);
      if (!plan) return fail(UPL_EINVALID_PLAN, faults.message());
    }
    auto s = std::make_unique<upl_store>(upline::open_or_create_store(dir, plan ? &*plan : nullptr, o));
    *out = s.release();
    return UPL_OK;
  });
}

UPL_API upl_status upl_store_close(upl_store* s) {
  if (!s) return UPL_OK;
  const upl_status st = guard([&] {
    s->store->commit();
    return UPL_OK;
  });
  delete s;
  return st;
}

UPL_API upl_status upl_store_submit_json(upl_store* s, const char* event_json, size_t len, uint64_t* seq, char** result_json) {
  return store_event(s, seq, [&](upl_engine* e) {
    begin_event(e);
    if (!event_json) return not_an_event(e, fail(UPL_EINVALID, "event_json: NULL"));
    upl_status st = UPL_OK;
    try {
      st = record(e, s->store->submit(std::string_view(event_json, len)));
    } catch (const upline::StoreError& x) {
      e->last = store_status(x);
      throw;
    }
    if (result_json) {
      // The seq is out before anything that can run out of memory: the event is journaled.
      if (seq) *seq = e->seq;
      const std::string_view message = st == UPL_OK ? std::string_view() : std::string_view(last_error);
      e->result.clear();
      upline::append_result_json(e->result, e->seq, static_cast<upline::Code>(st), message, e->effects, e->engine);
      *result_json = copy_out(e->result);
    }
    return st;
  });
}

UPL_API upl_status upl_store_join(upl_store* s, uint64_t* seq, int64_t member, int64_t sponsor, int64_t at) {
  return store_event(s, seq, [&](upl_engine* e) { return join(e, member, sponsor, at); });
}

UPL_API upl_status upl_store_purchase(upl_store* s, uint64_t* seq, const char* order, int64_t member, const char* shop, int64_t amount,
                                      int64_t at) {
  return store_event(s, seq, [&](upl_engine* e) { return purchase(e, order, member, shop, amount, at); });
}

UPL_API upl_status upl_store_refund(upl_store* s, uint64_t* seq, const char* order, int64_t amount, int64_t at) {
  return store_event(s, seq, [&](upl_engine* e) { return refund(e, order, amount, at); });
}

UPL_API upl_status upl_store_refund_rest(upl_store* s, uint64_t* seq, const char* order, int64_t at) {
  return store_event(s, seq, [&](upl_engine* e) { return refund_rest(e, order, at); });
}

UPL_API upl_status upl_store_redeem(upl_store* s, uint64_t* seq, int64_t member, int64_t points, const char* ref, int64_t at) {
  return store_event(s, seq, [&](upl_engine* e) { return redeem(e, member, points, ref, at); });
}

UPL_API upl_status upl_store_adjust(upl_store* s, uint64_t* seq, int64_t member, int64_t points, const char* actor, const char* reason,
                                    int64_t at) {
  return store_event(s, seq, [&](upl_engine* e) { return adjust(e, member, points, actor, reason, at); });
}

UPL_API upl_status upl_store_suspend(upl_store* s, uint64_t* seq, int64_t member, int64_t at) {
  return store_event(s, seq, [&](upl_engine* e) { return run(e, upline::Suspend{member, at}); });
}

UPL_API upl_status upl_store_reactivate(upl_store* s, uint64_t* seq, int64_t member, int64_t at) {
  return store_event(s, seq, [&](upl_engine* e) { return run(e, upline::Reactivate{member, at}); });
}

UPL_API upl_status upl_store_change_plan(upl_store* s, uint64_t* seq, const char* plan_json, size_t len, const char* actor, int64_t at) {
  return store_event(s, seq, [&](upl_engine* e) { return change_plan(e, plan_json, len, actor, at); });
}

UPL_API upl_status upl_store_commit(upl_store* s) {
  return guard([&] {
    if (!s) return null_store();
    s->store->commit();
    return UPL_OK;
  });
}

UPL_API upl_status upl_store_snapshot(upl_store* s) {
  return guard([&] {
    if (!s) return null_store();
    s->store->snapshot();
    return UPL_OK;
  });
}

UPL_API uint64_t upl_store_last_seq(const upl_store* s) { return s ? s->store->last_seq() : 0; }

UPL_API uint64_t upl_store_durable_seq(const upl_store* s) { return s ? s->store->durable_seq() : 0; }

UPL_API const upl_engine* upl_store_engine(const upl_store* s) { return s ? &s->view : nullptr; }

UPL_API upl_status upl_statement_json(const char* dir, int64_t member, const char* from, const char* until, char** statement_json) {
  return guard([&] {
    if (!dir) return fail(UPL_EINVALID, "dir: NULL");
    if (!statement_json) return fail(UPL_EINVALID, "statement_json: NULL");
    std::optional<upline::Time> bound[2];
    const char* const text[2] = {from, until};
    const char* const field[2] = {"from", "until"};
    for (int i = 0; i < 2; ++i) {
      if (!text[i]) continue;
      bound[i] = upline::parse_statement_time(text[i]);
      if (!bound[i]) return fail(UPL_EINVALID, upline::statement_time_fault(field[i], text[i]));
    }
    try {
      upline::check_statement_period(bound[0], bound[1]);
    } catch (const std::invalid_argument& x) {
      return fail(UPL_EINVALID, x.what());
    }
    const upline::Statement st = upline::member_statement(dir, member, bound[0], bound[1]);
    if (!st.known) return unknown_member(member);
    std::string out;
    upline::append_statement_json(out, st);
    *statement_json = copy_out(out);
    return UPL_OK;
  });
}

}  // extern "C"
