// upline/member.hpp — the member store: one fixed-size record per member, in join order, and the
// host id → record index map.
//
// Members are numbered 0, 1, 2, … in join order (the "member index"); that number is also the
// member's node in tier 0's matrix. Everything the engine iterates over goes in this order, never
// in hash order.
#pragma once

#include "upline/event.hpp"

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
  std::uint64_t orders = 0;    // accepted purchases
  std::uint32_t sponsor = no_member;  // member index
  std::uint32_t referrals = 0;        // members sponsored directly
  std::uint8_t tier = 0;
  Status status = Status::active;
};

/// Host member id → member index. Open addressing with linear probing; ids are > 0, so 0 marks a
/// free slot. Only looked up, never iterated.
class IdIndex {
 public:
  std::uint32_t find(MemberId id) const noexcept {
    if (keys_.empty()) return no_member;
    for (std::size_t i = slot(id);; i = (i + 1) & mask_) {
      if (keys_[i] == id) return values_[i];
      if (keys_[i] == 0) return no_member;
    }
  }
  /// Inserts an id that is not present.
  void insert(MemberId id, std::uint32_t index) {
    if ((size_ + 1) * 4 > keys_.size() * 3) grow();
    std::size_t i = slot(id);
    while (keys_[i] != 0) i = (i + 1) & mask_;
    keys_[i] = id;
    values_[i] = index;
    ++size_;
  }
  std::size_t size() const noexcept { return size_; }

 private:
  std::size_t slot(MemberId id) const noexcept {
    std::uint64_t x = static_cast<std::uint64_t>(id);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return static_cast<std::size_t>(x) & mask_;
  }
  void grow() {
    std::vector<MemberId> keys = std::move(keys_);
    std::vector<std::uint32_t> values = std::move(values_);
    std::size_t cap = keys.empty() ? 64 : keys.size() * 2;
    keys_.assign(cap, 0);
    values_.assign(cap, 0);
    mask_ = cap - 1;
    size_ = 0;
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] != 0) insert(keys[i], values[i]);
  }
  std::vector<MemberId> keys_;
  std::vector<std::uint32_t> values_;
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
