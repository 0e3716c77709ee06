// upline/state.hpp — the engine's state (SPEC §4 member state, §10) and the one walk over it.
//
// State gathers everything an engine knows: the plan in force, the members, one matrix per tier,
// the ledger, the clock, and the counters of the stream. The walk — encode_state() — writes it as
// one canonical byte stream (docs/DIGEST.md): the digest is the SHA-256 of that stream. The state
// bytes of save_state() store that stream itself (plus the counters and interning tables, which
// the digest leaves out), so they are checked against a digest by hashing their own bytes;
// decode_state() reads the stream back, checking every count, index and reference, so malformed
// bytes give a FormatError, never undefined behaviour. Snapshot files (snapshot.hpp) now hold the
// tables themselves (format 3) and are checked by recomputing the digest from what they loaded;
// the state bytes are what snapshot formats 1 and 2 held.
//
//   stream:      str tag · str plan · i64 clock · members (join order) · orders · redemptions ·
//                adjustments · plan changes                                     (docs/DIGEST.md)
//   state bytes: str "upline-state-bytes-v2" · u64 applied · u64 rejected · reward ids · shop ids ·
//                u64 length · stream                                       (docs/DURABILITY.md)
//
// The encoder is generic over its sink (a byte string, a hash); both get exactly the same bytes.
#pragma once

#include "upline/bytes.hpp"
#include "upline/ledger.hpp"
#include "upline/matrix.hpp"
#include "upline/members.hpp"
#include "upline/plan.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace upline {

/// Everything an engine knows. Engine (engine.hpp) changes it; the functions here read it.
struct State {
  std::shared_ptr<const Plan> plan;
  Members members;
  std::vector<Matrix> matrices;  // one per tier of the plan in force, tier 0 first
  Ledger ledger;
  Time clock = 0;  // the largest `at` of the accepted events (0 before any)
  std::uint64_t applied = 0;
  std::uint64_t rejected = 0;

  // Derived from the plan in force by install().
  std::vector<std::pair<std::uint32_t, std::int64_t>> reward_order;  // (reward index, threshold), plan order
  std::uint32_t max_filled_levels = 0;                                // L of SPEC §8
  std::string plan_json;  // plan->canonical_json(), which the digest and every snapshot write

  State() = default;
  State(State&&) noexcept = default;
  State& operator=(State&&) noexcept = default;

  /// Puts `p` in force (SPEC §7 `plan`): new tiers get empty matrices, reward ids are interned,
  /// caches derived from the plan are reset. `p` must be valid and compatible.
  void install(std::shared_ptr<const Plan> p) {
    plan = std::move(p);
    while (matrices.size() < plan->tiers.size()) {
      const Tier& t = plan->tiers[matrices.size()];
      matrices.emplace_back(t.width, t.fill, /*dense=*/matrices.empty());
    }
    members.set_tier_count(plan->tiers.size());
    ledger.plan_installed(*plan);
    for (std::uint32_t m = 0; m < members.size(); ++m) members[m].reward_floor = 0;  // thresholds changed: check again
    reward_order.clear();
    for (const Reward& r : plan->rewards) reward_order.emplace_back(members.intern_reward(r.id), r.lifetime_points.units);
    max_filled_levels = plan->max_filled_levels_used();
    plan_json = plan->canonical_json();
  }

  /// Member m's node in tier t's matrix (t <= its tier): node index, parent's member id (0 for a
  /// root) and position.
  struct NodeAt {
    Matrix::Node node;
    MemberId parent;
    std::uint32_t position;
  };
  NodeAt node_at(std::uint32_t m, std::uint32_t t) const noexcept {
    const Matrix& mx = matrices[t];
    const Matrix::Node n = mx.node_of(m);
    const Matrix::Node p = mx.parent(n);
    return NodeAt{n, p == Matrix::none ? 0 : members[mx.member_at(p)].id, mx.position(n)};
  }
};

// ---- the canonical stream (docs/DIGEST.md) ---------------------------------------------------------

/// The version tag that opens the stream; a change of the encoding changes it.
inline constexpr std::string_view state_stream_tag = "upline-state-v1";

/// Writes fixed-width little-endian integers and length-prefixed strings through a 64 KiB buffer
/// into `Sink`, which has `void write(const char*, std::size_t)`. The writer's last bytes reach
/// the sink only by flush(): a sink may throw (out of memory, a hashing failure), and a destructor
/// must not.
template <class Sink>
class StreamWriter {
 public:
  explicit StreamWriter(Sink& sink) noexcept : sink_(sink) {}
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  void u8(std::uint8_t v) {
    need(1);
    buf_[used_++] = static_cast<char>(v);
  }
  void u32(std::uint32_t v) { le(v, 4); }
  void u64(std::uint64_t v) { le(v, 8); }
  void i64(std::int64_t v) { le(static_cast<std::uint64_t>(v), 8); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    if (s.size() > sizeof buf_ / 2) {
      flush();
      sink_.write(s.data(), s.size());
      return;
    }
    need(s.size());
    std::memcpy(buf_ + used_, s.data(), s.size());
    used_ += s.size();
  }
  void flush() {
    if (used_ == 0) return;
    sink_.write(buf_, used_);
    used_ = 0;
  }

 private:
  void need(std::size_t n) {
    if (used_ + n > sizeof buf_) flush();
  }
  void le(std::uint64_t v, int n) {
    need(8);
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(buf_ + used_, &v, 8);  // the first n bytes are v's low bytes; the rest is overwritten
    } else {
      for (int i = 0; i < n; ++i) buf_[used_ + static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * i));
    }
    used_ += static_cast<std::size_t>(n);
  }

  Sink& sink_;
  char buf_[1 << 16];
  std::size_t used_ = 0;
};

/// The walk: writes `s` as the canonical stream of docs/DIGEST.md, field by field.
template <class Sink>
void encode_state(const State& s, Sink& sink) {
  StreamWriter<Sink> w(sink);
  const Members& members = s.members;
  w.str(state_stream_tag);
  w.str(s.plan_json);
  w.i64(s.clock);
  w.u64(members.size());
  const auto count = static_cast<std::uint32_t>(members.size());
  for (std::uint32_t m = 0; m < count; ++m) {
    if (m + 16 < count && members[m + 16].sponsor != no_member) __builtin_prefetch(&members[members[m + 16].sponsor]);
    const MemberRecord& r = members[m];
    w.i64(r.id);
    w.i64(members.sponsor_id(m));
    w.u8(r.tier);
    w.u8(static_cast<std::uint8_t>(r.status));
    w.i64(r.balance);
    w.i64(r.lifetime);
    w.u64(r.orders);
    for (std::uint32_t t = 0; t <= r.tier; ++t) {
      const State::NodeAt n = s.node_at(m, t);
      w.u32(n.node);
      w.i64(n.parent);
      w.u32(n.position);
    }
    const auto& rewards = members.rewards(m);
    w.u32(static_cast<std::uint32_t>(rewards.size()));
    for (std::uint32_t rw : rewards) w.str(members.reward_names()[rw]);
  }
  const Ledger& l = s.ledger;
  const auto orders = static_cast<std::uint32_t>(l.order_count());
  w.u64(orders);
  for (std::uint32_t i = 0; i < orders; ++i) {
    if (i + 16 < orders) __builtin_prefetch(&members[l.order(i + 16).member]);
    const Ledger::Order& o = l.order(i);
    w.str(l.order_id(o));
    w.i64(members[o.member].id);
    w.str(l.shop_names()[o.shop]);
    w.i64(o.amount);
    w.i64(o.refunded);
    w.i64(o.at);
    const std::uint32_t credits = o.credit_count();
    w.u32(credits);
    for (std::uint32_t k = 0; k < credits; ++k) {
      const std::uint64_t ahead = o.credit_begin() + k + 32;
      if (ahead < l.credit_count()) __builtin_prefetch(&members[l.credit_at(ahead).member]);
      const Ledger::Credit& c = l.credit(o, k);
      w.i64(members[c.member].id);
      w.i64(c.points);
    }
  }
  w.u64(l.redemption_count());
  for (std::size_t i = 0; i < l.redemption_count(); ++i) {
    const Ledger::Redemption& r = l.redemption(i);
    w.str(r.ref);
    w.i64(members[r.member].id);
    w.i64(r.points);
    w.i64(r.at);
  }
  w.u64(l.adjustments().size());
  for (const Ledger::Adjustment& a : l.adjustments()) {
    w.i64(members[a.member].id);
    w.i64(a.points);
    w.str(a.actor);
    w.str(a.reason);
    w.i64(a.at);
  }
  w.u64(l.plan_changes().size());
  for (const Ledger::PlanChangeRecord& p : l.plan_changes()) {
    w.str(p.actor);
    w.i64(p.at);
  }
  w.flush();
}

/// Appends what it is given to a std::string.
struct StringSink {
  std::string& out;
  void write(const char* p, std::size_t n) { out.append(p, n); }
};

/// SHA-256 of the canonical stream as 64 lowercase hex digits (docs/DIGEST.md). Through OpenSSL's
/// libcrypto (the CPU's SHA instructions) when the library is built with it, else portable code.
std::string digest(const State& s);

/// Readies what digest() needs (libcrypto's SHA-256 implementation, fetched once), so that a
/// forked child — a background snapshot — computes a digest without taking libcrypto's locks.
void prepare_digest();

// ---- state bytes (snapshot formats 1 and 2; Engine::save_state) ---------------------------------------

/// The state as bytes: the counters, the interning tables and the canonical stream.
std::string save_state(const State& s);

/// A state from save_state() bytes. `digest`, when given, is checked against the SHA-256 of the
/// stream inside before anything is decoded. Throws FormatError naming the fault; the result's
/// digest equals the saved state's. Also reads the bytes of snapshot format 1.
State load_state(std::string_view bytes, std::optional<std::string_view> digest = std::nullopt);

/// An empty state with a saved plan in force (its canonical JSON or any text that parses to it)
/// and the saved interning tables in their order, for a snapshot's tables to be restored into
/// (snapshot.hpp, format 3). Throws FormatError when the plan is not valid, a name repeats, or the
/// plan names a reward the saved table lacks.
State state_with_saved_plan(std::string_view plan_json, const std::vector<std::string>& reward_names, const std::vector<std::string>& shop_names);

/// Reads a canonical stream (docs/DIGEST.md) into a state; throws FormatError. `reward_names` and
/// `shop_names` fix the interning order (empty: first use).
State decode_state(std::string_view stream, const std::vector<std::string>& reward_names = {}, const std::vector<std::string>& shop_names = {});

// ---- queries ---------------------------------------------------------------------------------------

/// A member's node in one tier's matrix, as the host sees it.
struct NodeView {
  std::uint32_t tier = 0;
  std::optional<MemberId> parent;  // nullopt for the matrix root
  std::uint32_t position = 0;
};

/// A copy of a member's state, for queries.
struct MemberView {
  MemberId id = 0;
  std::optional<MemberId> sponsor;
  std::uint32_t tier = 0;
  std::string tier_name;
  Status status = Status::active;
  Points balance;
  Points lifetime;
  std::uint64_t orders = 0;
  std::uint32_t referrals = 0;
  std::vector<NodeView> nodes;                  // tiers 0..tier
  std::vector<std::string> rewards;             // in grant order
  std::map<std::string, std::string> benefits;  // the plan in force's benefits of the member's tier
};

/// Member index m as a view.
MemberView member_view(const State& s, std::uint32_t m);

/// The SPEC §10 state dump (applied, rejected, digest, members sorted by id), appended to `out`.
void append_dump_json(std::string& out, const State& s);

/// Member index m as one object of the dump's "members" array (no line break).
void append_member_json(std::string& out, const State& s, std::uint32_t m);

/// Member index m as its dump object followed by `"referrals"` (members it sponsored directly),
/// `"benefits"` (the plan in force's benefits of its tier, keys sorted) and `"progress"`
/// (append_progress_json): what GET /v1/members/{id} answers (docs/SERVER.md).
void append_member_card_json(std::string& out, const State& s, std::uint32_t m);

/// Member index m's progress toward the next tier (SPEC §8), or `null` at the top tier:
/// `{"tier":NEXT,"criteria":[{"criterion":"lifetime_points","have":"…","need":"…","met":B},
/// {"criterion":"direct_referrals","min_tier":T,"have":N,"need":N,"met":B},
/// {"criterion":"filled_levels","have":K,"need":K,"met":B}]}` — the next tier's promote_at
/// criteria in that order, `have` for filled_levels being the deepest k <= need whose levels are
/// all filled in the member's current tier's matrix.
void append_progress_json(std::string& out, const State& s, std::uint32_t m);

/// Member index m's rank card (docs/LAB.md): where it stands and what the next tier asks —
/// `{"member":ID,"tier":T,"status":S,"benefits":{…},"next":null|{"tier":NEXT,"criteria":[…],
/// "eligible":B,"benefits":{…}}}`: the current tier's benefits, the next tier's promote_at criteria
/// exactly as in append_progress_json, `eligible` (every criterion met: SPEC §8 promotes an active
/// member as soon as that holds, so it is true only for a suspended member, who will be promoted
/// when reactivated) and the next tier's benefits. Every door's rank card is this: the C ABI
/// (upl_member_rank_card_json), Python (Engine.rank_card), `upline rank-card` and
/// GET /v1/members/{id}/rank-card.
void append_rank_card_json(std::string& out, const State& s, std::uint32_t m);

/// Order index i as `{"id","member","shop","amount","refunded","at","credits":[{"member","points",
/// "clawed_back"}]}`: amounts as decimal strings at their scale, credits in emission order,
/// clawed_back being what refunds have taken back from each so far (SPEC §7).
void append_order_json(std::string& out, const State& s, std::uint32_t i);

}  // namespace upline
