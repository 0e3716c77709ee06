// upline/member.hpp — the member store: one fixed-size record per member, in join order, and the
// host id → record index map.
//
// Members are numbered 0, 1, 2, … in join order (the "member index"); that number is also the
// member's node in tier 0's matrix. Everything the engine iterates over goes in this order, never
// in hash order.
#pragma once

#include "upline/event.hpp"
#include "upline/storage.hpp"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
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
  std::uint32_t orders = 0;    // accepted purchases (at most 2^32-1 per member: docs/RULES.md)
  std::uint32_t sponsor = no_member;  // member index
  std::uint32_t referrals = 0;        // members sponsored directly
  std::uint8_t tier = 0;
  Status status = Status::active;
  std::uint8_t queued = 0;  // engine scratch: 1 while in the §8 work list (never saved or hashed)
};
static_assert(sizeof(MemberRecord) == 48, "one member record, 48 bytes: keep it so (docs/PERFORMANCE.md)");

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
  /// Inserts an id that is not present.
  void insert(MemberId id, std::uint32_t index) {
    if ((size_ + 1) * 4 > slots_.size() * 3) rehash(slots_.empty() ? 64 : slots_.size() * 2);
    put(Slot::of(id, index));
    ++size_;
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
    big_vector<Slot> old = std::move(slots_);
    slots_.assign(cap, Slot{0, 0, 0});
    mask_ = cap - 1;
    for (const Slot& s : old)
      if ((s.lo | s.hi) != 0) put(s);
  }
  big_vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

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
  std::vector<NodeView> nodes;        // tiers 0..tier
  std::vector<std::string> rewards;   // in grant order
  std::map<std::string, std::string> benefits;  // the current plan's benefits of the member's tier
};

}  // namespace upline
