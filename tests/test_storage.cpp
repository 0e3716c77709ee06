// Tests for upline/storage.hpp (KeyIndex, StringArena, BigAllocator) and for the fast paths of
// the arithmetic in points.hpp, each checked against the exact wide computation it short-cuts.
#include "upline/engine.hpp"
#include "upline/members.hpp"
#include "upline/accrual.hpp"
#include "upline/decimal.hpp"
#include "upline/ledger.hpp"
#include "upline/propagation.hpp"
#include "tools/simulation.hpp"
#include "upline/storage.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

using namespace upline;

namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

// The reference: the same formulas in int256, no shortcut.
std::optional<std::int64_t> points_ref(std::int64_t amount, Rate r, Rate h, Rate a, int ms, int ps) {
  const int256 num = int256(amount) * r.micros * h.micros * a.micros * pow10(ps);
  const int256 den = int256(pow10(ms)) * (int256(Rate::one) * Rate::one * Rate::one);
  const int256 p = round_half_even(num, den);
  if (p > int256(kMax)) return std::nullopt;
  return static_cast<std::int64_t>(p);
}
std::optional<std::int64_t> scale_ref(std::int64_t points, Rate a, Rate b) {
  const int256 p = round_half_even(int256(points) * a.micros * b.micros, int256(Rate::one) * Rate::one);
  if (p > int256(kMax)) return std::nullopt;
  return static_cast<std::int64_t>(p);
}
std::int64_t proportion_ref(std::int64_t c, std::int64_t part, std::int64_t whole) {
  return static_cast<std::int64_t>(round_half_even(int256(c) * part, int256(whole)));
}

// Values that hit both sides of every fast-path boundary: small, ties, near 2^64 / 2^63.
std::int64_t pick(Rng& rng, std::int64_t hi) {
  switch (rng.below(4)) {
    case 0: return static_cast<std::int64_t>(rng.below(1000));
    case 1: return static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(hi) + 1));
    case 2: return hi - static_cast<std::int64_t>(rng.below(1000));
    default: return static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(1) << rng.below(63)));
  }
}

}  // namespace

TEST_CASE("purchase_points: the 128-bit path agrees with the 256-bit reference") {
  Rng rng(11);
  for (int i = 0; i < 200000; ++i) {
    const std::int64_t amount = pick(rng, kMax);
    const Rate r{pick(rng, Rate::max)}, h{pick(rng, Rate::max)}, a{pick(rng, Rate::max)};
    const int ms = static_cast<int>(rng.below(7)), ps = static_cast<int>(rng.below(7));
    REQUIRE(purchase_points(amount, r, h, a, ms, ps) == points_ref(amount, r, h, a, ms, ps));
  }
  // SPEC §11: 10.05 × 0.5 × 1.1 = 5.5275 → 5.53.
  CHECK(purchase_points(1005, Rate{500000}, Rate{1100000}, Rate{Rate::one}, 2, 2) == 553);
  // Ties go to even: 0.125 → 0.12 and 0.135 → 0.14.
  CHECK(purchase_points(125, Rate{Rate::one}, Rate{Rate::one}, Rate{Rate::one}, 3, 2) == 12);
  CHECK(purchase_points(135, Rate{Rate::one}, Rate{Rate::one}, Rate{Rate::one}, 3, 2) == 14);
  // The widest product only fits 256 bits; its result leaves int64.
  CHECK_FALSE(purchase_points(kMax, Rate{Rate::max}, Rate{Rate::max}, Rate{Rate::max}, 0, 6).has_value());
}

TEST_CASE("scale_points and proportion: the 64-bit paths agree with the 256-bit reference") {
  Rng rng(12);
  for (int i = 0; i < 200000; ++i) {
    const std::int64_t p = pick(rng, kMax);
    const Rate a{pick(rng, Rate::max)}, b{pick(rng, Rate::max)};
    REQUIRE(scale_points(p, a, b) == scale_ref(p, a, b));
    const std::int64_t whole = 1 + pick(rng, kMax - 1);
    const std::int64_t part = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(whole) + 1));
    const std::int64_t c = pick(rng, kMax);
    REQUIRE(proportion(c, part, whole) == proportion_ref(c, part, whole));
  }
  // Ties at the 64-bit boundary's low side: 62.5 → 62, 37.5 → 38 (SPEC §11's partial refund).
  CHECK(proportion(500, 125, 1000) == 62);
  CHECK(proportion(300, 125, 1000) == 38);
}

TEST_CASE("KeyIndex finds every key inserted, and only those, across growth") {
  std::vector<std::string> keys;
  KeyIndex index;
  auto key_of = [&](std::uint32_t i) { return std::string_view(keys[i]); };
  for (std::uint32_t i = 0; i < 50000; ++i) {
    keys.push_back("o-" + std::to_string(i * 7919u));
    REQUIRE(index.find(keys.back(), key_of) == KeyIndex::none);
    index.insert(keys.back(), i);
  }
  CHECK(index.size() == 50000);
  for (std::uint32_t i = 0; i < keys.size(); ++i) REQUIRE(index.find(keys[i], key_of) == i);
  CHECK(index.find("o-1", key_of) == KeyIndex::none);
  CHECK(index.find("", key_of) == KeyIndex::none);
  // Keys that differ only past 8 bytes, or only in length, stay apart.
  KeyIndex small;
  std::vector<std::string> near = {"abcdefgh1", "abcdefgh2", "abcdefgh", "abcdefgh\0"};
  near[3].push_back('\0');
  auto near_of = [&](std::uint32_t i) { return std::string_view(near[i]); };
  for (std::uint32_t i = 0; i < near.size(); ++i) small.insert(near[i], i);
  for (std::uint32_t i = 0; i < near.size(); ++i) CHECK(small.find(near[i], near_of) == i);
}

TEST_CASE("KeyIndex with adversarial hashes: equal tags, tags at the top of the range (clusters that wrap), growth and reserve") {
  // The home slot is the hash's top 32 bits scaled to the table: tags near 2^32 land in the last
  // slots and their clusters wrap to the first ones; equal tags share a home. Every key must be
  // found, through every doubling, whatever the hashes.
  std::vector<std::string> keys;
  std::vector<std::uint64_t> hashes;
  auto key_of = [&](std::uint32_t i) { return std::string_view(keys[i]); };
  upline::Rng rng(11);
  for (int round = 0; round < 3; ++round) {
    KeyIndex index;
    if (round == 2) index.reserve(3000);
    keys.clear();
    hashes.clear();
    for (std::uint32_t i = 0; i < 6000; ++i) {
      std::uint64_t tag = 0;
      switch (i % 4) {
        case 0: tag = 0xffffffffu - rng.below(8); break;        // the last slots: wrap around
        case 1: tag = 0x80000000u; break;                         // one tag shared by many keys
        case 2: tag = rng.below(16); break;                       // the first slots
        default: tag = rng.next() >> 32; break;                   // anywhere
      }
      const std::uint64_t h = tag << 32 | (rng.next() & 0xffffffffu);
      keys.push_back("k" + std::to_string(round) + "-" + std::to_string(i));
      hashes.push_back(h);
      REQUIRE(index.find(keys.back(), h, key_of) == KeyIndex::none);
      index.insert(h, i);
      // Every key so far, at a few points of growth.
      if ((i & (i + 1)) == 0 || i % 997 == 0)
        for (std::uint32_t k = 0; k <= i; ++k) REQUIRE(index.find(keys[k], hashes[k], key_of) == k);
    }
    CHECK(index.size() == keys.size());
    CHECK(index.capacity() * 3 >= index.size() * 4);
    for (std::uint32_t k = 0; k < keys.size(); ++k) REQUIRE(index.find(keys[k], hashes[k], key_of) == k);
    CHECK(index.find("absent", hashes[0], key_of) == KeyIndex::none);
    CHECK(index.find("absent", 0xffffffffull << 32, key_of) == KeyIndex::none);
  }
}

TEST_CASE("KeyIndex::build_unique: a bulk build finds what key-by-key inserts find, wraps, grows, and refuses equal keys") {
  // The same adversarial hashes as above (wrapping clusters, one tag shared by many keys), built at
  // once; then more keys inserted one by one through growth: every key found, absent keys not.
  std::vector<std::string> keys;
  std::vector<std::uint64_t> hashes;
  auto key_of = [&](std::uint32_t i) { return std::string_view(keys[i]); };
  upline::Rng rng(29);
  const auto draw = [&](std::uint32_t i) {
    std::uint64_t tag = 0;
    switch (i % 4) {
      case 0: tag = 0xffffffffu - rng.below(8); break;
      case 1: tag = 0x80000000u; break;
      case 2: tag = rng.below(16); break;
      default: tag = rng.next() >> 32; break;
    }
    return tag << 32 | (rng.next() & 0xffffffffu);
  };
  for (const std::uint32_t n : {0u, 1u, 2u, 47u, 48u, 49u, 5000u}) {
    keys.clear();
    hashes.clear();
    for (std::uint32_t i = 0; i < n; ++i) {
      keys.push_back("b" + std::to_string(n) + "-" + std::to_string(i));
      hashes.push_back(draw(i));
    }
    KeyIndex index;
    REQUIRE(index.build_unique(n, [&](std::size_t i) { return hashes[i]; }, key_of));
    CHECK(index.size() == n);
    CHECK(index.capacity() * 3 >= std::max<std::size_t>(n, 1) * 4);
    for (std::uint32_t k = 0; k < n; ++k) REQUIRE(index.find(keys[k], hashes[k], key_of) == k);
    CHECK(index.find("absent", 0xffffffffull << 32, key_of) == KeyIndex::none);
    CHECK(index.find("absent", 0x80000000ull << 32, key_of) == KeyIndex::none);
    for (std::uint32_t i = n; i < n + 3000; ++i) {
      keys.push_back("b" + std::to_string(n) + "-" + std::to_string(i));
      hashes.push_back(draw(i));
      REQUIRE(index.find(keys.back(), hashes.back(), key_of) == KeyIndex::none);
      REQUIRE(index.insert_unique(keys.back(), hashes.back(), i, key_of));
    }
    for (std::uint32_t k = 0; k < keys.size(); ++k) REQUIRE(index.find(keys[k], hashes[k], key_of) == k);
    CHECK_FALSE(index.insert_unique(keys[0], hashes[0], 0, key_of));
  }
  // Real hashes of order ids, as a snapshot load builds them.
  keys.clear();
  for (std::uint32_t i = 1; i <= 200000; ++i) keys.push_back("o-" + std::to_string(i));
  KeyIndex orders;
  REQUIRE(orders.build_unique(keys.size(), [&](std::size_t i) { return upline::hash_key(keys[i]); }, key_of));
  for (std::uint32_t k = 0; k < keys.size(); ++k) REQUIRE(orders.find(keys[k], key_of) == k);
  CHECK(orders.find("o-0", key_of) == KeyIndex::none);
  // Equal keys anywhere, with equal tags or (a key's hash is its own) the same hash: refused, empty.
  for (const std::size_t dup : {std::size_t{1}, std::size_t{99}, std::size_t{199999}}) {
    std::vector<std::string> copy = keys;
    copy[dup] = copy[dup / 2];
    auto copy_of = [&](std::uint32_t i) { return std::string_view(copy[i]); };
    KeyIndex bad;
    CHECK_FALSE(bad.build_unique(copy.size(), [&](std::size_t i) { return upline::hash_key(copy[i]); }, copy_of));
    CHECK(bad.size() == 0);
    CHECK(bad.find(copy[0], copy_of) == KeyIndex::none);
  }
  // A bulk build is for an empty index only.
  CHECK_THROWS_AS(orders.build_unique(1, [](std::size_t) { return std::uint64_t{1}; }, key_of), std::logic_error);
}

TEST_CASE("StringArena keeps every string at a stable address") {
  StringArena arena;
  CHECK(arena.capacity() == 0);
  arena.add("first");
  CHECK(arena.capacity() == StringArena::first_block);  // a small engine stays small
  std::vector<std::string_view> views;
  for (int i = 0; i < 200000; ++i) views.push_back(arena.add("ref-" + std::to_string(i)));  // > 1 block
  CHECK(arena.capacity() > StringArena::block);
  for (int i = 0; i < 200000; ++i) REQUIRE(views[static_cast<std::size_t>(i)] == "ref-" + std::to_string(i));
  CHECK(arena.add("").empty());
}

TEST_CASE("IdIndex maps ids to indices, including ids above 2^32 and near 2^63") {
  IdIndex index;
  for (std::uint32_t i = 0; i < 20000; ++i) index.insert(static_cast<MemberId>(i) * 4294967311LL + 1, i);
  index.insert(kMax, 20000);
  for (std::uint32_t i = 0; i < 20000; ++i) REQUIRE(index.find(static_cast<MemberId>(i) * 4294967311LL + 1) == i);
  CHECK(index.find(kMax) == 20000);
  CHECK(index.find(2) == no_member);
  CHECK(index.find(0) == no_member);  // 0 marks a free slot: it must never match one
  CHECK(index.find(-5) == no_member);
  CHECK(IdIndex().find(0) == no_member);
  CHECK(index.find(4294967311LL) == no_member);  // same low half as nothing inserted
  index.reserve(1000000);
  CHECK(index.find(kMax) == 20000);
  CHECK(index.size() == 20001);
}

TEST_CASE("An engine knows no member 0 or negative id, even when it has members") {
  PlanFaults faults;
  auto plan = Plan::parse(*bundled_plan("four-tier"), faults);
  REQUIRE(plan);
  Engine engine(*plan);
  std::vector<Effect> fx;
  REQUIRE(engine.apply(Join{1, std::nullopt, 0}, fx));
  REQUIRE(engine.apply(Join{2, MemberId{1}, 0}, fx));
  CHECK_FALSE(engine.has_member(0));
  CHECK_FALSE(engine.member(0).has_value());
  CHECK_FALSE(engine.tier_of(0).has_value());
  CHECK(engine.upline(0, 0).empty());
  CHECK_FALSE(engine.below(0, 0).has_value());
  CHECK_FALSE(engine.has_member(-1));
}

TEST_CASE("StringArena refuses strings longer than 255 bytes") {
  StringArena arena;
  CHECK(arena.add(std::string(255, 'x')).size() == 255);
  CHECK_THROWS_AS(arena.add(std::string(256, 'x')), std::length_error);
}

TEST_CASE("BigAllocator serves small and huge-page-sized vectors") {
  big_vector<std::uint64_t> small(10, 7);
  big_vector<std::uint64_t> big(3u << 20, 9);  // 24 MiB: aligned to 2 MiB
  CHECK(small[9] == 7);
  CHECK(big.back() == 9);
  CHECK(reinterpret_cast<std::uintptr_t>(big.data()) % BigAllocator<std::uint64_t>::huge_page == 0);
}

TEST_CASE("chunked_vector keeps records in place across its first chunk's growth and full chunks") {
  struct Rec {
    std::uint32_t a;
    std::int64_t b;
  };
  chunked_vector<Rec> v;
  CHECK(v.empty());
  const std::size_t n = chunked_vector<Rec>::per_chunk * 2 + 77;  // the small first chunk grows, then two more
  for (std::size_t i = 0; i < n; ++i) {
    v.push_back(Rec{static_cast<std::uint32_t>(i), -static_cast<std::int64_t>(i)});
    if (i == chunked_vector<Rec>::per_chunk + 5) {
      // A full chunk's records do not move when more come.
      const Rec* first = &v[0];
      v.push_back(Rec{0, 0});
      CHECK(first == &v[0]);
      v = chunked_vector<Rec>();  // moves in an empty table …
      CHECK(v.size() == 0);
      for (std::size_t k = 0; k <= i; ++k) v.push_back(Rec{static_cast<std::uint32_t>(k), -static_cast<std::int64_t>(k)});
    }
  }
  REQUIRE(v.size() == n);
  std::size_t i = 0;
  for (const Rec& r : v) {
    REQUIRE(r.a == i);
    REQUIRE(r.b == -static_cast<std::int64_t>(i));
    ++i;
  }
  CHECK(i == n);
  chunked_vector<Rec> moved(std::move(v));  // … and out of a full one
  CHECK(moved.size() == n);
  CHECK(v.size() == 0);
  CHECK(moved[n - 1].a == n - 1);
  chunked_vector<Rec> reserved;
  reserved.reserve(1000);
  for (std::uint32_t k = 0; k < 1000; ++k) reserved.push_back(Rec{k, k});
  CHECK(reserved[999].b == 999);
}
