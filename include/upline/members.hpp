// upline/members.hpp — the members: one fixed-size record per member in join order, the host id →
// member index map, direct referrals by tier, rewards granted, the census, and balance changes
// with their overflow check (SPEC §2, §4).
//
// Members are numbered 0, 1, 2, … in join order (the "member index"); that number is also the
// member's node in tier 0's matrix. Everything the engine iterates over goes in this order, never
// in hash order. Hash tables here only answer lookups.
#pragma once

#include "upline/bytes.hpp"
#include "upline/decimal.hpp"
#include "upline/effect.hpp"
#include "upline/event.hpp"
#include "upline/plan.hpp"
#include "upline/rejection.hpp"
#include "upline/storage.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace upline {

enum class Status : std::uint8_t { active = 0, suspended = 1 };

constexpr const char* status_name(Status s) noexcept { return s == Status::active ? "active" : "suspended"; }

inline constexpr std::uint32_t no_member = std::numeric_limits<std::uint32_t>::max();

struct MemberRecord {
  MemberId id = 0;
  std::int64_t balance = 0;    // spendable points (units)
  std::int64_t lifetime = 0;   // points for promotion and rewards (units)
  // Engine cache (never saved or hashed): every reward of the current plan with a threshold below
  // this is already granted, so SPEC §8 step 2 has nothing to do while lifetime < reward_floor.
  // 0 means "not known: check".
  std::int64_t reward_floor = 0;
  std::uint32_t orders = 0;    // accepted purchases (at most 2^32-1 per member: SPEC §12)
  std::uint32_t sponsor = no_member;  // member index
  std::uint32_t referrals = 0;        // members sponsored directly
  std::uint8_t tier = 0;
  Status status = Status::active;
  std::uint8_t queued = 0;  // engine scratch: 1 while in the §8 work list (never saved or hashed)
  std::uint8_t reserved = 0;  // always 0: the record has no padding (snapshot format 3 stores it as it is)
};
static_assert(sizeof(MemberRecord) == 48, "one member record, 48 bytes: keep it so (docs/PERFORMANCE.md)");
static_assert(std::is_trivially_copyable_v<MemberRecord> && std::has_unique_object_representations_v<MemberRecord>,
              "a member record is stored byte for byte in snapshot format 3: no padding");

/// Host member id → member index. Open addressing with linear probing over 12-byte slots (the
/// id's two halves and the index side by side, so a lookup touches one cache line); ids are > 0,
/// so id 0 marks a free slot. Only looked up, never iterated.
class IdIndex {
 public:
  std::uint32_t find(MemberId id) const noexcept {
    if (id <= 0 || slots_.empty()) return no_member;  // 0 would match a free slot
    const Slot want = Slot::of(id, 0);
    for (std::size_t i = slot(id);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.lo == want.lo && s.hi == want.hi) return s.index;
      if ((s.lo | s.hi) == 0) return no_member;
    }
  }
  /// Starts fetching the slot where `id` would be found.
  void prefetch(MemberId id) const noexcept {
    if (!slots_.empty()) __builtin_prefetch(&slots_[slot(id)]);
  }
  /// Inserts an id that is not present.
  void insert(MemberId id, std::uint32_t index) {
    if ((size_ + 1) * 4 > slots_.size() * 3) rehash(slots_.empty() ? 64 : slots_.size() * 2);
    put(Slot::of(id, index));
    ++size_;
  }
  /// Inserts `id` (> 0) unless it is present: then returns false and changes nothing.
  bool insert_unique(MemberId id, std::uint32_t index) {
    if ((size_ + 1) * 4 > slots_.size() * 3) rehash(slots_.empty() ? 64 : slots_.size() * 2);
    const Slot s = Slot::of(id, index);
    std::size_t i = slot(id);
    for (; (slots_[i].lo | slots_[i].hi) != 0; i = (i + 1) & mask_)
      if (slots_[i].lo == s.lo && slots_[i].hi == s.hi) return false;
    slots_[i] = s;  // the slot put() would choose
    ++size_;
    return true;
  }
  /// Makes room for `n` ids without growing again.
  void reserve(std::size_t n) {
    std::size_t cap = 64;
    while (cap * 3 < n * 4) cap *= 2;
    if (cap > slots_.size()) rehash(cap);
  }
  std::size_t size() const noexcept { return size_; }
  /// Bytes held (for memory accounting).
  std::size_t bytes() const noexcept { return slots_.capacity() * sizeof(Slot); }

 private:
  struct Slot {
    std::uint32_t lo, hi, index;
    static Slot of(MemberId id, std::uint32_t index) noexcept {
      const auto u = static_cast<std::uint64_t>(id);
      return Slot{static_cast<std::uint32_t>(u), static_cast<std::uint32_t>(u >> 32), index};
    }
    MemberId id() const noexcept { return static_cast<MemberId>((std::uint64_t(hi) << 32) | lo); }
  };
  static_assert(sizeof(Slot) == 12);

  std::size_t slot(MemberId id) const noexcept {
    std::uint64_t x = static_cast<std::uint64_t>(id);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return static_cast<std::size_t>(x) & mask_;
  }
  void put(Slot s) noexcept {
    std::size_t i = slot(s.id());
    while ((slots_[i].lo | slots_[i].hi) != 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
  void rehash(std::size_t cap) {
    big_vector<Slot> old(cap, Slot{0, 0, 0});  // allocated first: if it throws, nothing changed
    old.swap(slots_);
    mask_ = cap - 1;
    for (const Slot& s : old)
      if ((s.lo | s.hi) != 0) put(s);
  }
  big_vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

/// A balance change computed before commit: + a credit, - a debit (SPEC §6, §7).
struct Change {
  std::uint32_t member;
  std::int64_t points;  // signed, never 0
  Kind kind;
  std::uint8_t tier;    // upline credits: the matrix paid through
  std::uint32_t level;  // upline credits: 1-based level
};

/// The balance changes of one event, staged before its commit, in a fixed buffer: an event makes
/// at most 1 + 16 × 32 of them (a purchase's own credit and one per tier and level; a refund one
/// per credit of its order), so staging never allocates.
class Changes {
 public:
  static constexpr std::size_t capacity = 1 + Plan::max_tiers * Plan::max_rates;

  void clear() noexcept { n_ = 0; }
  void push(const Change& c) noexcept { buf_[n_++] = c; }
  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  const Change* begin() const noexcept { return buf_.data(); }
  const Change* end() const noexcept { return buf_.data() + n_; }

 private:
  std::array<Change, capacity> buf_;
  std::size_t n_ = 0;
};

/// Every member's granted rewards in grant order, in flat arrays: for each member its first and
/// last grant and how many; for each grant its reward and the member's next grant. A grant
/// allocates nothing but the arrays' amortized growth. A member holds few rewards: lookups walk.
class Grants {
 public:
  static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();
  struct Grant {
    std::uint32_t reward;
    std::uint32_t next;  // the member's next grant, or none
  };

  /// One member's grants, in grant order; valid until the next add().
  class List {
   public:
    class iterator {
     public:
      using iterator_category = std::forward_iterator_tag;
      using value_type = std::uint32_t;
      using difference_type = std::ptrdiff_t;
      using pointer = const std::uint32_t*;
      using reference = std::uint32_t;
      iterator(const Grant* g, std::uint32_t i) noexcept : g_(g), i_(i) {}
      std::uint32_t operator*() const noexcept { return g_[i_].reward; }
      iterator& operator++() noexcept {
        i_ = g_[i_].next;
        return *this;
      }
      bool operator==(const iterator& o) const noexcept { return i_ == o.i_; }

     private:
      const Grant* g_;
      std::uint32_t i_;
    };
    List(const Grant* grants, std::uint32_t first, std::uint32_t count) noexcept : grants_(grants), first_(first), count_(count) {}
    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    iterator begin() const noexcept { return {grants_, first_}; }
    iterator end() const noexcept { return {grants_, none}; }
    /// The k-th reward granted (k < size()).
    std::uint32_t operator[](std::size_t k) const noexcept {
      std::uint32_t i = first_;
      while (k-- > 0) i = grants_[i].next;
      return grants_[i].reward;
    }
    bool contains(std::uint32_t reward) const noexcept {
      for (std::uint32_t r : *this)
        if (r == reward) return true;
      return false;
    }

   private:
    const Grant* grants_;
    std::uint32_t first_, count_;
  };

  List of(std::uint32_t m) const noexcept {
    if (m >= ends_.size()) return {grants_.data(), none, 0};
    return {grants_.data(), ends_[m].first, ends_[m].count};
  }
  void add(std::uint32_t m, std::uint32_t reward) {
    if (m >= ends_.size()) ends_.resize(std::max<std::size_t>(m + 1, ends_.size() * 2));
    const auto g = static_cast<std::uint32_t>(grants_.size());
    grants_.push_back(Grant{reward, none});
    Ends& e = ends_[m];
    if (e.count == 0) e.first = g;
    else grants_[e.last].next = g;
    e.last = g;
    ++e.count;
  }
  /// Bytes held (for memory accounting).
  std::size_t bytes() const noexcept { return ends_.capacity() * sizeof(Ends) + grants_.capacity() * sizeof(Grant); }

 private:
  struct Ends {
    std::uint32_t first = none, last = none, count = 0;
  };
  big_vector<Ends> ends_;  // by member index, grown on a member's first grant
  big_vector<Grant> grants_;
};

/// Every member's state and the tables derived from it.
class Members {
 public:
  std::size_t size() const noexcept { return records_.size(); }
  bool empty() const noexcept { return records_.empty(); }
  MemberRecord& operator[](std::uint32_t m) noexcept { return records_[m]; }
  const MemberRecord& operator[](std::uint32_t m) const noexcept { return records_[m]; }
  /// The member index of a host id, or no_member.
  std::uint32_t find(MemberId id) const noexcept { return index_.find(id); }
  /// Starts fetching what find(id) will read.
  void prefetch(MemberId id) const noexcept { index_.prefetch(id); }
  bool active(std::uint32_t m) const noexcept { return records_[m].status == Status::active; }
  /// The host id of member index m's sponsor, or 0.
  MemberId sponsor_id(std::uint32_t m) const noexcept {
    const std::uint32_t s = records_[m].sponsor;
    return s == no_member ? 0 : records_[s].id;
  }

  /// Adds a member at tier 0 (a join); returns its index. `sponsor` is a member index or no_member.
  std::uint32_t add(MemberId id, std::uint32_t sponsor) {
    const auto m = static_cast<std::uint32_t>(records_.size());
    MemberRecord r;
    r.id = id;
    r.sponsor = sponsor;
    records_.push_back(r);
    index_.insert(id, m);
    if (census_.empty()) census_.push_back(0);
    ++census_[0];
    if (sponsor != no_member) ++records_[sponsor].referrals;
    return m;
  }

  /// Appends a member read back from saved bytes, whole: tier, status, balances and counts as
  /// given (the caller has checked them); the census and the referral counts follow.
  void restore(const MemberRecord& saved) {
    MemberRecord r = saved;
    r.reward_floor = 0;
    r.queued = 0;
    r.referrals = 0;
    const auto m = static_cast<std::uint32_t>(records_.size());
    records_.push_back(r);
    index_.insert(r.id, m);
    ++census_[r.tier];
    if (r.sponsor != no_member) {
      ++records_[r.sponsor].referrals;
      if (r.tier > 0) ++referrals_by_tier_[referral_key(r.sponsor, r.tier)];
    }
    bound(r);
  }

  /// Snapshot format 3: fills an empty member table (plan installed: `tiers` tiers) with `n`
  /// records at once. `read(MemberRecord* dst, std::size_t n)` writes them, in join order, as
  /// saved: the caches reward_floor and queued 0, referral counts as they were. Every record is
  /// then checked — a new id >= 1, a sponsor who joined earlier, a tier of the plan, a status, the
  /// caches 0, referrals equal to the members it sponsored — and the id index, the census,
  /// referrals by tier and the value bound are derived. Throws FormatError naming the first fault
  /// (the table is then unusable: discard the state).
  template <class Read>
  void restore_all(std::size_t n, std::size_t tiers, Read&& read) {
    const auto fail = [](std::size_t i, const std::string& expected) {
      throw FormatError("members: record " + std::to_string(i) + ": expected " + expected);
    };
    if (!records_.empty() || n >= no_member) throw FormatError("members: expected at most 2^32-2 members in an empty table");
    records_.resize(n);
    read(records_.data(), n);
    index_.reserve(n);
    if (census_.size() < tiers) census_.resize(tiers, 0);
    std::vector<std::uint32_t> referrals(n, 0);
    constexpr std::size_t ahead = 8;  // id index slots fetched ahead: their misses overlap
    for (std::size_t i = 0; i < std::min(n, ahead); ++i) index_.prefetch(records_[i].id);
    for (std::size_t i = 0; i < n; ++i) {
      if (i + ahead < n) index_.prefetch(records_[i + ahead].id);
      const MemberRecord& r = records_[i];
      if (r.id < 1) fail(i, "an id >= 1");
      if (i == 0 ? r.sponsor != no_member : r.sponsor >= i) fail(i, "a sponsor who joined earlier");
      if (r.tier >= tiers) fail(i, "a tier of the plan");
      if (static_cast<std::uint8_t>(r.status) > 1) fail(i, "a status 0 or 1");
      if (r.reward_floor != 0 || r.queued != 0 || r.reserved != 0) fail(i, "zero bytes where the engine keeps its caches");
      if (!index_.insert_unique(r.id, static_cast<std::uint32_t>(i))) fail(i, "a new member id (" + std::to_string(r.id) + ")");
      ++census_[r.tier];
      if (r.sponsor != no_member) {
        ++referrals[r.sponsor];
        if (r.tier > 0) ++referrals_by_tier_[referral_key(r.sponsor, r.tier)];
      }
      bound(r);
    }
    for (std::size_t i = 0; i < n; ++i)
      if (records_[i].referrals != referrals[i]) fail(i, "a referral count equal to the members it sponsored");
  }
  /// The records in join order (size() of them), for bulk writes.
  const MemberRecord* records() const noexcept { return records_.data(); }

  /// Makes room for `n` members without reallocating.
  void reserve(std::size_t n) {
    records_.reserve(n);
    index_.reserve(n);
  }

  // ---- tiers ---------------------------------------------------------------------------------

  /// Members per tier, by current tier. `tiers` is the plan's tier count (tiers only grow).
  const std::vector<std::uint64_t>& census() const noexcept { return census_; }
  void set_tier_count(std::size_t tiers) {
    if (census_.size() < tiers) census_.resize(tiers, 0);
  }

  /// Moves m from its tier to the next (a promotion): the census and its sponsor's referral
  /// counts by tier follow.
  void promote(std::uint32_t m) {
    MemberRecord& r = records_[m];
    const std::uint32_t from = r.tier, to = from + 1;
    r.tier = static_cast<std::uint8_t>(to);
    --census_[from];
    ++census_[to];
    if (r.sponsor != no_member) {
      if (from > 0) --referrals_by_tier_[referral_key(r.sponsor, from)];
      ++referrals_by_tier_[referral_key(r.sponsor, to)];
    }
  }

  /// How many members m sponsored directly are at tier `min_tier` or above (`tiers`: the plan's
  /// tier count).
  std::uint64_t referrals_at_least(std::uint32_t m, std::uint32_t min_tier, std::size_t tiers) const {
    if (min_tier == 0) return records_[m].referrals;
    std::uint64_t n = 0;
    for (std::uint32_t t = min_tier; t < tiers; ++t) n += referrals_by_tier_.get(referral_key(m, t));
    return n;
  }

  // ---- rewards -------------------------------------------------------------------------------

  /// Reward ids are interned the first time a plan names them; indices never change (a reward a
  /// member has is never granted twice, even after a plan removed and re-added it).
  std::uint32_t intern_reward(const std::string& id) {
    auto [it, fresh] = reward_ix_.emplace(id, static_cast<std::uint32_t>(reward_names_.size()));
    if (fresh) reward_names_.push_back(id);
    return it->second;
  }
  const std::vector<std::string>& reward_names() const noexcept { return reward_names_; }
  /// The rewards granted to m, in grant order (valid until the next grant).
  Grants::List rewards(std::uint32_t m) const noexcept { return grants_.of(m); }
  bool has_reward(std::uint32_t m, std::uint32_t reward) const noexcept { return grants_.of(m).contains(reward); }
  void grant(std::uint32_t m, std::uint32_t reward) { grants_.add(m, reward); }

  // ---- balances ------------------------------------------------------------------------------

  /// Whether applying `changes` keeps every balance and lifetime inside int64 (SPEC §2: each
  /// change was checked on its own when computed; only the results must fit). A member changed
  /// several times is judged on its total, in 128 bits.
  std::optional<Rejection> fits(const Changes& changes) {
    // Fast path, O(n): a member's own total lies between the sum of all debits and the sum of all
    // credits, and every |balance| and |lifetime| is at most value_bound_: if even that plus
    // either sum fits, no member needs a look.
    constexpr std::int64_t lo = std::numeric_limits<std::int64_t>::min(), hi = std::numeric_limits<std::int64_t>::max();
    i128 up = 0, down = 0;
    for (const Change& c : changes) (c.points > 0 ? up : down) += c.points;
    if (static_cast<i128>(value_bound_) + up <= hi && static_cast<i128>(value_bound_) - down <= hi) return std::nullopt;
    // Near the edge of int64: per-member totals.
    totals_.clear();
    for (const Change& c : changes) {
      auto it = std::find_if(totals_.begin(), totals_.end(), [&](const auto& t) { return t.first == c.member; });
      if (it == totals_.end()) totals_.emplace_back(c.member, static_cast<i128>(c.points));
      else it->second += c.points;
    }
    for (const auto& [m, total] : totals_) {
      const i128 b = records_[m].balance + total, l = records_[m].lifetime + total;
      if (b < lo || b > hi || l < lo || l > hi) return reject::balance_overflow(records_[m].id);
    }
    return std::nullopt;
  }

  /// fits() for changes that are all credits summing to `total`: one comparison unless a balance
  /// is near the edge of int64.
  std::optional<Rejection> fits_credits(const Changes& changes, std::uint64_t total, bool total_overflowed) {
    if (!total_overflowed && static_cast<u128>(value_bound_) + total <= static_cast<u128>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return fits(changes);
  }

  /// Applies changes that fits() accepted to balances and lifetimes, and reports each as a credit
  /// or a debit effect.
  void apply(const Changes& changes, std::vector<Effect>& fx) {
    fx.reserve(fx.size() + changes.size());
    for (const Change& c : changes) {
      MemberRecord& r = records_[c.member];
      r.balance += c.points;
      r.lifetime += c.points;
      bound(r);
      if (c.points > 0) fx.push_back(Effect{EffectType::credit, c.kind, c.tier, 0, c.level, 0, r.id, 0, c.points});
      else fx.push_back(Effect{EffectType::debit, c.kind, 0, 0, 0, 0, r.id, 0, -c.points});
    }
  }
  /// The same, then calls `then(member)` for each change in order, once every change is applied:
  /// `then` sees each member's final balance and lifetime of the event, even for a member changed
  /// more than once (SPEC §8 seeds its work list in order of first credit, and what a member can
  /// do depends on where the whole event leaves it).
  template <class Then>
  void apply(const Changes& changes, std::vector<Effect>& fx, Then&& then) {
    apply(changes, fx);
    for (const Change& c : changes) then(c.member);
  }

  /// A redemption: balance only (SPEC §7), which only ever moves toward 0 or below it by at most
  /// what was there: no bound to update.
  void redeem(std::uint32_t m, std::int64_t points) noexcept { records_[m].balance -= points; }

  /// Keeps value_bound_ >= every |balance| and |lifetime| (restoring a saved state).
  void bound(const MemberRecord& r) noexcept {
    // |x| without a branch: (x ^ s) - s, s the sign spread over all bits.
    const auto magnitude = [](std::int64_t x) {
      const auto u = static_cast<std::uint64_t>(x), sign = static_cast<std::uint64_t>(x >> 63);
      return (u ^ sign) - sign;
    };
    const std::uint64_t m = std::max(magnitude(r.balance), magnitude(r.lifetime));
    value_bound_ = m > value_bound_ ? m : value_bound_;
  }

  /// Bytes held by the member table and its index (memory accounting).
  std::size_t bytes() const noexcept {
    return records_.capacity() * sizeof(MemberRecord) + index_.bytes() + referrals_by_tier_.bytes() + grants_.bytes();
  }

 private:
  static std::uint64_t referral_key(std::uint32_t m, std::uint32_t t) noexcept { return (std::uint64_t(m) << 8) | t; }

  big_vector<MemberRecord> records_;
  IdIndex index_;
  std::vector<std::uint64_t> census_;
  CountMap referrals_by_tier_;  // (sponsor, tier >= 1) → how many of its direct referrals are at that tier
  Grants grants_;
  std::vector<std::string> reward_names_;
  std::unordered_map<std::string, std::uint32_t> reward_ix_;
  std::uint64_t value_bound_ = 0;  // >= every |balance| and |lifetime| (an overflow-check shortcut)
  std::vector<std::pair<std::uint32_t, i128>> totals_;  // scratch of fits()
};

}  // namespace upline
