// test_snapshot.cpp — snapshot files (snapshot.hpp): format 3 round trips at several sizes (the same
// digest, the same bytes again, the same behaviour after loading), the documented layout, the
// streaming writer and reader on a real file, every single-byte corruption and every truncation
// detected, malformed tables behind valid checksums refused by name, and the fixtures of formats 1
// and 2 still loading with the digests they were saved with.
#include "durability/support.hpp"

#include "upline/bytes.hpp"
#include "upline/door.hpp"
#include "upline/engine.hpp"
#include "upline/snapshot.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#ifndef UPLINE_TEST_GOLDEN_DIR
#error "UPLINE_TEST_GOLDEN_DIR must name tests/golden"
#endif

namespace {

using namespace upline;
using upline::testing::read_file;
using upline::testing::read_lines;
using upline::testing::Replayer;
using upline::testing::TempDir;
using upline::testing::write_file;

const std::string durability_dir = std::string(UPLINE_TEST_GOLDEN_DIR) + "/../durability";

// Three tiers (the second and third filled under the sponsor), two shops, two rewards; promotions
// by direct referrals, so that a small stream fills every matrix.
constexpr std::string_view plan_v1 = R"({"name":"snapshot-test","shops":{"main":{"ratio":"1"},"outlet":{"ratio":"0.5"}},
 "tiers":[{"name":"bronze","width":2,"rates":["0.10","0.05"]},
          {"name":"silver","width":2,"fill":"under_sponsor","rates":["0.04","0.02"],
           "promote_at":{"direct_referrals":{"count":1,"min_tier":"bronze"}}},
          {"name":"gold","width":3,"fill":"under_sponsor","rates":["0.03"],
           "promote_at":{"direct_referrals":{"count":2,"min_tier":"silver"}}}],
 "rewards":[{"id":"welcome","lifetime_points":"0"},{"id":"gift-10","lifetime_points":"10"}]})";

// Version 2 adds a fourth tier and a reward and drops one (whose grants stay).
constexpr std::string_view plan_v2 = R"({"name":"snapshot-test","version":2,"shops":{"main":{"ratio":"1"},"outlet":{"ratio":"0.5"}},
 "tiers":[{"name":"bronze","width":2,"rates":["0.10","0.05"]},
          {"name":"silver","width":2,"fill":"under_sponsor","rates":["0.04","0.02"],
           "promote_at":{"direct_referrals":{"count":1,"min_tier":"bronze"}}},
          {"name":"gold","width":3,"fill":"under_sponsor","rates":["0.03"],
           "promote_at":{"direct_referrals":{"count":2,"min_tier":"silver"}}},
          {"name":"platinum","width":2,"rates":["0.01"],
           "promote_at":{"direct_referrals":{"count":1,"min_tier":"gold"}}}],
 "rewards":[{"id":"gift-10","lifetime_points":"10"},{"id":"gift-100","lifetime_points":"100"}]})";

Plan parse(std::string_view json) { return Replayer::parse_plan(json); }

Decimal dec(const std::string& s) { return *Decimal::parse(s); }

// A seeded stream of every event kind against plan_v1 (a plan change to plan_v2 halfway): joins
// by referral, purchases in both shops, partial and full refunds, redemptions, adjustments both
// ways, suspensions, reactivations and rejected events.
std::vector<Event> events(std::size_t n, std::uint64_t seed) {
  std::vector<Event> out;
  Rng rng(seed);
  std::vector<MemberId> ids;
  std::vector<std::string> orders;
  Time at = 1'767'225'600'000;
  bool changed = false;
  for (std::size_t i = 0; out.size() < n; ++i) {
    at += 1000;
    const MemberId someone = ids.empty() ? 1 : ids[rng.below(ids.size())];
    const std::uint64_t r = rng.below(100);
    if (ids.empty() || r < 20) {
      const MemberId id = 1000 + static_cast<MemberId>(7 * ids.size());
      out.push_back(Join{id, ids.empty() ? std::nullopt : std::optional<MemberId>(someone), at});
      ids.push_back(id);
    } else if (r < 65) {
      orders.push_back("o-" + std::to_string(i));
      out.push_back(Purchase{orders.back(), someone, rng.below(3) == 0 ? "outlet" : "main", dec(std::to_string(1 + rng.below(9000)) + ".25"), at});
    } else if (r < 73 && !orders.empty()) {
      const std::string& o = orders[rng.below(orders.size())];
      out.push_back(Refund{o, rng.below(2) ? std::optional<Decimal>(dec("1.00")) : std::nullopt, at});
    } else if (r < 80) {
      out.push_back(Redeem{someone, dec("0.0" + std::to_string(1 + rng.below(9))), "ref-" + std::to_string(i), at});
    } else if (r < 85) {
      out.push_back(Adjust{someone, dec(rng.below(2) ? "2.50" : "-0.75"), "ops", "reason " + std::to_string(i), at});
    } else if (r < 88) {
      out.push_back(Suspend{someone, at});
    } else if (r < 91) {
      out.push_back(Reactivate{someone, at});
    } else if (r < 94) {
      out.push_back(Purchase{"o-dup", 999'999, "main", dec("1.00"), at});  // unknown member: rejected
    } else if (!changed && out.size() > n / 2) {
      changed = true;
      out.push_back(PlanChange{std::make_shared<const Plan>(parse(plan_v2)), "board", at});
    }
  }
  return out;
}

Engine engine_after(const std::vector<Event>& evs, std::size_t count) {
  Engine e(parse(plan_v1));
  std::vector<Effect> fx;
  for (std::size_t i = 0; i < count && i < evs.size(); ++i) e.apply(evs[i], fx);
  return e;
}

// Everything a host can read of an engine: the dump (digest included) and every member's card.
std::string everything(const Engine& e) {
  std::string out;
  append_dump_json(out, e.state());
  for (std::uint32_t m = 0; m < e.member_count(); ++m) append_member_card_json(out, e.state(), m);
  for (std::uint32_t i = 0; i < e.order_count(); ++i) append_order_json(out, e.state(), i);
  out += std::to_string(e.clock()) + "/" + std::to_string(e.applied()) + "/" + std::to_string(e.rejected());
  for (const auto& n : e.reward_names()) out += "," + n;
  return out;
}

// The sections of a format-3 image: where each starts, its table, count and payload length.
struct Section {
  std::size_t at;
  std::uint32_t table;
  std::uint64_t count;
  std::uint64_t bytes;
  std::size_t payload() const { return at + 24; }
  std::size_t crc_at() const { return payload() + static_cast<std::size_t>((bytes + 7) / 8 * 8); }
};

std::uint32_t u32_at(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t(static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)])) << (8 * i);
  return v;
}
std::uint64_t u64_at(std::string_view s, std::size_t at) { return u32_at(s, at) | std::uint64_t(u32_at(s, at + 4)) << 32; }
void put_u32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * i));
}
void put_u64(std::string& s, std::size_t at, std::uint64_t v) {
  put_u32(s, at, static_cast<std::uint32_t>(v));
  put_u32(s, at + 4, static_cast<std::uint32_t>(v >> 32));
}

std::vector<Section> sections(std::string_view image) {
  std::vector<Section> out;
  std::size_t at = 40;
  while (at + 32 <= image.size()) {
    Section s{at, u32_at(image, at), u64_at(image, at + 8), u64_at(image, at + 16)};
    out.push_back(s);
    at = s.crc_at() + 8;
  }
  REQUIRE(at == image.size());
  return out;
}

const Section& find(const std::vector<Section>& all, std::uint32_t table, std::size_t nth = 0) {
  for (const Section& s : all)
    if (s.table == table && nth-- == 0) return s;
  FAIL("no section " << table);
  return all.front();
}

// Recomputes a section's CRC32C after its bytes were changed.
void reseal(std::string& image, const Section& s) {
  put_u32(image, s.crc_at(), Crc32c::compute(image.data() + s.at, s.crc_at() - s.at));
}

// The FormatError message of decoding `image` ("" if it loads).
std::string refusal(std::string_view image, DigestCheck check = DigestCheck::verify) {
  try {
    std::uint64_t seq = 0;
    (void)decode_snapshot(image, seq, check);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

// A FileSystem that passes through to the real one and records the size of every write.
class RecordingFileSystem final : public FileSystem {
 public:
  std::vector<std::size_t> writes;
  FileSystem& real = posix_file_system();
  bool exists(const std::string& p) override { return real.exists(p); }
  std::string read(const std::string& p) override { return real.read(p); }
  int open_read(const std::string& p) override { return real.open_read(p); }
  std::size_t read_at(int fd, std::uint64_t off, char* buf, std::size_t n) override {
    reads.push_back(n);
    return real.read_at(fd, off, buf, n);
  }
  std::uint64_t file_size(int fd) override { return real.file_size(fd); }
  std::vector<std::string> list(const std::string& d) override { return real.list(d); }
  void make_dir(const std::string& p) override { real.make_dir(p); }
  int open_append(const std::string& p, bool c) override { return real.open_append(p, c); }
  int create(const std::string& p) override { return real.create(p); }
  void write(int fd, std::string_view data) override {
    writes.push_back(data.size());
    real.write(fd, data);
  }
  void sync(int fd) override { real.sync(fd); }
  void close(int fd) override {
    ++closes;
    real.close(fd);
  }
  void truncate(const std::string& p, std::uint64_t n) override { real.truncate(p, n); }
  void rename(const std::string& a, const std::string& b) override { real.rename(a, b); }
  void sync_dir(const std::string& d) override { real.sync_dir(d); }
  void remove(const std::string& p) override { real.remove(p); }
  int lock(const std::string& p) override { return real.lock(p); }
  std::vector<std::size_t> reads;
  int closes = 0;
};

}  // namespace

TEST_CASE("snapshot: format 3 round trips at several sizes: the same digest, the same bytes, the same engine") {
  const std::vector<Event> evs = events(1500, 11);
  for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{25}, std::size_t{400}, std::size_t{1500}}) {
    CAPTURE(count);
    const Engine original = engine_after(evs, count);
    const std::string image = encode_snapshot(original.state(), 77 + count);
    REQUIRE(image.substr(0, 20) == std::string("UPLINE-SNAPSHOT\0\3\0\0\0", 20));
    std::uint64_t seq = 0;
    Engine loaded(decode_snapshot(image, seq));
    CHECK(seq == 77 + count);
    CHECK(loaded.digest() == original.digest());
    CHECK(everything(loaded) == everything(original));
    CHECK(encode_snapshot(loaded.state(), 77 + count) == image);  // deterministic: the tables as they were
    CHECK(loaded.save_state() == original.save_state());          // format 2's bytes agree too
  }
  // What the stream covers (otherwise the test proves less than it says).
  const Engine all = engine_after(evs, evs.size());
  const auto census = all.census();
  REQUIRE(census.size() == 4);
  CHECK(census[1] > 0);
  CHECK(census[2] > 0);
  CHECK(all.state().matrices[3].size() == census[3]);
  CHECK(all.state().ledger.redemption_count() > 0);
  CHECK(all.state().ledger.adjustments().size() > 0);
  CHECK(all.state().ledger.plan_changes().size() == 1);
  CHECK(all.rejected() > 0);
  CHECK(all.reward_count() == 3);
  bool refunded = false;
  for (std::uint32_t i = 0; i < all.order_count(); ++i) refunded = refunded || all.state().ledger.order(i).refunded > 0;
  CHECK(refunded);
}

TEST_CASE("snapshot: a loaded engine behaves exactly as the one saved (effects, rejections, promotions, rewards)") {
  const std::vector<Event> evs = events(2000, 5);
  for (std::size_t cut : {std::size_t{1}, std::size_t{300}, std::size_t{1200}}) {
    CAPTURE(cut);
    Engine original = engine_after(evs, cut);
    std::uint64_t seq = 0;
    Engine loaded(decode_snapshot(encode_snapshot(original.state(), cut), seq));
    std::vector<Effect> a, b;
    for (std::size_t i = cut; i < evs.size(); ++i) {
      Rejection wa, wb;
      const bool oka = original.apply(evs[i], a, &wa), okb = loaded.apply(evs[i], b, &wb);
      REQUIRE(oka == okb);
      REQUIRE(effects_json(original, a) == effects_json(loaded, b));
      REQUIRE(wa.message == wb.message);
    }
    CHECK(loaded.digest() == original.digest());
    CHECK(everything(loaded) == everything(original));
  }
}

TEST_CASE("snapshot: format 3 four-tier stream with rejections of every sort (tests/durability/support.hpp)") {
  const upline::testing::Stream s = upline::testing::make_stream(60, 500, 3);
  Replayer r(s.plan);
  for (const auto& line : s.lines) r.apply(line);
  std::uint64_t seq = 0;
  Engine loaded(decode_snapshot(encode_snapshot(r.engine().state(), s.lines.size()), seq));
  CHECK(seq == s.lines.size());
  CHECK(loaded.digest() == r.digest());
  CHECK(everything(loaded) == everything(r.engine()));
}

TEST_CASE("snapshot: format 3 layout: the header, the sections in order, a member record, the end section") {
  Engine e(parse(plan_v1));
  std::vector<Effect> fx;
  REQUIRE(e.apply(Join{42, std::nullopt, 5}, fx));
  REQUIRE(e.apply(Purchase{"abc", 42, "main", dec("10.00"), 6}, fx));
  const std::string image = encode_snapshot(e.state(), 9);
  CHECK(image.size() % 8 == 0);
  CHECK(image.substr(0, 16) == std::string("UPLINE-SNAPSHOT\0", 16));
  CHECK(u32_at(image, 16) == 3);
  CHECK(u32_at(image, 20) == 0);
  CHECK(u64_at(image, 24) == 9);
  CHECK(u32_at(image, 32) == Crc32c::compute(image.data(), 32));
  CHECK(u32_at(image, 36) == 0);
  const std::vector<Section> all = sections(image);
  std::vector<std::uint32_t> tables;
  for (const Section& s : all) tables.push_back(s.table);
  CHECK(tables == std::vector<std::uint32_t>{1, 2, 3, 4, 5, 6, 7, 7, 7, 8, 9, 10, 11, 12, 13, 255});
  for (const Section& s : all) {
    CAPTURE(s.table);
    CHECK(s.at % 8 == 0);
    CHECK(u32_at(image, s.at + 4) == 0);
    CHECK(u32_at(image, s.crc_at()) == Crc32c::compute(image.data() + s.at, s.crc_at() - s.at));
    CHECK(u32_at(image, s.crc_at() + 4) == 0);
    for (std::size_t p = s.payload() + s.bytes; p < s.crc_at(); ++p) CHECK(image[p] == 0);  // zero padding
  }
  const Section& counters = find(all, 1);
  CHECK(counters.bytes == 24);
  CHECK(u64_at(image, counters.payload()) == 2);        // applied
  CHECK(u64_at(image, counters.payload() + 8) == 0);    // rejected
  CHECK(u64_at(image, counters.payload() + 16) == 6);   // clock
  CHECK(image.substr(find(all, 2).payload(), find(all, 2).bytes) == e.state().plan_json);
  const Section& members = find(all, 5);
  CHECK(members.count == 1);
  CHECK(members.bytes == 48);
  const std::size_t m = members.payload();
  CHECK(u64_at(image, m) == 42);                                   // id
  CHECK(u64_at(image, m + 8) == std::uint64_t(e.member(42)->balance.units));  // balance (its own purchase's credit)
  CHECK(u64_at(image, m + 16) == std::uint64_t(e.member(42)->lifetime.units));
  CHECK(u64_at(image, m + 24) == 0);                               // the engine's cache: never stored
  CHECK(u32_at(image, m + 32) == 1);                               // orders
  CHECK(u32_at(image, m + 36) == 0xFFFFFFFFu);                     // no sponsor
  CHECK(u32_at(image, m + 40) == 0);                               // referrals
  CHECK(image.substr(m + 44, 4) == std::string("\0\0\0\0", 4));   // tier, status, two zeros
  CHECK(find(all, 6).count == 2);                                  // welcome and gift-10
  CHECK(find(all, 7, 0).bytes == 16);                              // tier 0: dense, breadth-first: the prefix only
  const Section& ids = find(all, 8);
  CHECK(image.substr(ids.payload(), ids.bytes) == "abc");
  const Section& orders = find(all, 9);
  CHECK(orders.bytes == 40);
  CHECK(u64_at(image, orders.payload() + 8) == 1000);              // amount in cents
  CHECK(u32_at(image, orders.payload() + 36) == 3);                // id length
  const Section& end = all.back();
  CHECK(end.count == all.size() - 1);
  CHECK(image.substr(end.payload(), 64) == e.digest());
  CHECK(u64_at(image, end.payload() + 64) == end.at);
}

TEST_CASE("snapshot: write_snapshot streams in pieces of a few MiB; read_snapshot reads a real file back") {
  TempDir t("upline-snapshot");
  // About 10 MB of tables: several buffers' worth.
  Engine e(parse(plan_v1));
  {
    std::vector<Effect> fx;
    for (MemberId id = 1; id <= 20'000; ++id) e.apply(Join{id, id == 1 ? std::nullopt : std::optional<MemberId>(id / 2), id}, fx);
    for (int i = 0; i < 120'000; ++i) e.apply(Purchase{"order-" + std::to_string(i), 1 + i % 20'000, "main", dec("3.00"), 30'000}, fx);
  }
  RecordingFileSystem fs;
  const std::string path = t / snapshot_name(5);
  const int fd = fs.create(path);
  write_snapshot(fs, fd, e.state(), 5);
  fs.close(fd);
  const std::string file = read_file(path);
  CHECK(file.size() > 8'000'000);
  CHECK(file == encode_snapshot(e.state(), 5));
  CHECK(fs.writes.size() > 2);
  CHECK(*std::max_element(fs.writes.begin(), fs.writes.end()) <= (std::size_t{4} << 20));
  std::uint64_t seq = 0;
  fs.closes = 0;
  Engine loaded(read_snapshot(fs, path, seq));
  CHECK(fs.closes == 1);
  CHECK(seq == 5);
  CHECK(loaded.digest() == e.digest());
  CHECK(*std::max_element(fs.reads.begin(), fs.reads.end()) <= (std::size_t{1} << 20));
  CHECK(loaded.order("order-119999")->member == 1 + 119'999 % 20'000);
  // The file is closed whether the load succeeds or not.
  std::string damaged = file;
  damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 1);
  write_file(path, damaged);
  fs.closes = 0;
  CHECK_THROWS_AS(read_snapshot(fs, path, seq), FormatError);
  CHECK(fs.closes == 1);
}

TEST_CASE("snapshot: every single-byte corruption is detected, at every offset") {
  const Engine e = engine_after(events(60, 3), 60);
  const std::string image = encode_snapshot(e.state(), 60);
  REQUIRE(image.size() < 20'000);
  std::uint64_t seq = 0;
  REQUIRE(Engine(decode_snapshot(image, seq)).digest() == e.digest());
  for (std::size_t at = 0; at < image.size(); ++at)
    for (int flip : {0x01, 0x80, 0xFF}) {
      std::string bad = image;
      bad[at] = static_cast<char>(bad[at] ^ flip);
      CAPTURE(at);
      CAPTURE(flip);
      REQUIRE_THROWS_AS(decode_snapshot(bad, seq), FormatError);
      REQUIRE_THROWS_AS(decode_snapshot(bad, seq, DigestCheck::skip), FormatError);  // caught before the digest
    }
}

TEST_CASE("snapshot: truncation at every length and trailing bytes are detected") {
  const Engine e = engine_after(events(60, 4), 60);
  const std::string image = encode_snapshot(e.state(), 60);
  std::uint64_t seq = 0;
  for (std::size_t n = 0; n < image.size(); ++n) {
    CAPTURE(n);
    REQUIRE_THROWS_AS(decode_snapshot(std::string_view(image).substr(0, n), seq), FormatError);
  }
  CHECK_THROWS_AS(decode_snapshot(image + std::string(8, '\0'), seq), FormatError);
  CHECK_THROWS_AS(decode_snapshot(image + "x", seq), FormatError);
  // The same through a file.
  TempDir t("upline-snapshot");
  const std::string path = t / "s.snap";
  for (std::size_t n : {std::size_t{0}, std::size_t{19}, std::size_t{40}, image.size() / 2, image.size() - 104, image.size() - 1}) {
    CAPTURE(n);
    write_file(path, image.substr(0, n));
    CHECK_THROWS_AS(read_snapshot(posix_file_system(), path, seq), FormatError);
  }
}

TEST_CASE("snapshot: malformed tables behind valid checksums are refused by name") {
  const Engine e = engine_after(events(400, 9), 400);
  const std::string image = encode_snapshot(e.state(), 400);
  const std::vector<Section> all = sections(image);
  REQUIRE(refusal(image).empty());
  auto patched = [&](std::uint32_t table, std::size_t nth, auto&& change) {
    std::string bad = image;
    const Section& s = find(all, table, nth);
    change(bad, s);
    reseal(bad, s);
    return bad;
  };
  auto has = [](const std::string& message, const std::string& needle) {
    CAPTURE(message);
    CAPTURE(needle);
    CHECK(message.find(needle) != std::string::npos);
  };
  const std::size_t members = find(all, 5).payload();

  // A balance changed: every table is well-formed, only the digest tells.
  std::string bad = patched(5, 0, [&](std::string& b, const Section&) { put_u64(b, members + 48 * 3 + 8, 123456789); });
  has(refusal(bad), "digest");
  CHECK(refusal(bad, DigestCheck::skip).empty());
  // The digest itself.
  bad = patched(255, 0, [&](std::string& b, const Section& s) { b[s.payload()] = b[s.payload()] == 'a' ? 'b' : 'a'; });
  has(refusal(bad), "digest");

  has(refusal(patched(5, 0, [&](std::string& b, const Section&) { put_u32(b, members + 48 * 5 + 36, 5); })), "a sponsor who joined earlier");
  has(refusal(patched(5, 0, [&](std::string& b, const Section&) { put_u64(b, members + 48 * 4, u64_at(b, members + 48 * 2)); })), "a new member id");
  has(refusal(patched(5, 0, [&](std::string& b, const Section&) { put_u64(b, members + 48 * 4, 0); })), "an id >= 1");
  has(refusal(patched(5, 0, [&](std::string& b, const Section&) { b[members + 48 * 4 + 44] = 9; })), "a tier of the plan");
  has(refusal(patched(5, 0, [&](std::string& b, const Section&) { b[members + 48 * 4 + 45] = 2; })), "a status 0 or 1");
  has(refusal(patched(5, 0, [&](std::string& b, const Section&) { b[members + 48 * 4 + 24] = 1; })), "caches");
  has(refusal(patched(5, 0, [&](std::string& b, const Section&) { b[members + 48 * 4 + 47] = 1; })), "caches");
  has(refusal(patched(5, 0, [&](std::string& b, const Section&) { put_u32(b, members + 40, u32_at(b, members + 40) + 1); })), "referral count");
  has(refusal(patched(5, 0, [&](std::string& b, const Section& s) { put_u64(b, s.at + 8, s.count + 1); })), "48 bytes per member");
  has(refusal(patched(5, 0, [&](std::string& b, const Section& s) { put_u32(b, s.at, 6); })), "expected table 5");
  has(refusal(patched(5, 0, [&](std::string& b, const Section& s) { put_u64(b, s.at + 16, 1u << 30); })), "a length that fits the file");

  const Section& grants = find(all, 6);
  REQUIRE(grants.count >= 2);
  has(refusal(patched(6, 0, [&](std::string& b, const Section& s) { put_u32(b, s.payload() + 4, 7); })), "of a known reward");
  has(refusal(patched(6, 0, [&](std::string& b, const Section& s) { put_u32(b, s.payload(), 0xFFFFFF); })), "to a known member");

  // Tier 1 (under_sponsor): its node → member array, then parents, then positions.
  const Section& silver = find(all, 7, 1);
  REQUIRE(silver.count >= 3);
  has(refusal(patched(7, 1, [&](std::string& b, const Section& s) { put_u32(b, s.payload() + 16 + 4, u32_at(b, s.payload() + 16)); })), "distinct members");
  has(refusal(patched(7, 1, [&](std::string& b, const Section& s) { put_u32(b, s.payload() + 16 + 4 * s.count + 4 * 2, 2); })), "at a valid place");
  has(refusal(patched(7, 1, [&](std::string& b, const Section& s) { b[s.payload() + 16 + 8 * s.count + 1] = 1; })), "at a valid place");
  has(refusal(patched(7, 1, [&](std::string& b, const Section& s) { put_u32(b, s.payload() + 4, 3); })), "its width and fill");
  has(refusal(patched(7, 0, [&](std::string& b, const Section& s) { put_u64(b, s.at + 8, s.count - 1); })), "a node for each");
  // A bronze member in silver's matrix: swap a silver node's member for a member of tier 0.
  {
    std::uint32_t bronze = 0;
    while (e.state().members[bronze].tier != 0) ++bronze;
    has(refusal(patched(7, 1, [&](std::string& b, const Section& s) { put_u32(b, s.payload() + 16, bronze); })), "tier or above");
  }

  const Section& ids = find(all, 8);
  const std::size_t orders = find(all, 9).payload();
  has(refusal(patched(9, 0, [&](std::string& b, const Section&) { put_u32(b, orders + 40 * 2, 0xFFFF); })), "a known member and shop");
  has(refusal(patched(9, 0, [&](std::string& b, const Section&) { put_u32(b, orders + 40 * 2 + 4, 5); })), "a known member and shop");
  has(refusal(patched(9, 0, [&](std::string& b, const Section&) { put_u64(b, orders + 40 * 2 + 8, 0); })), "0 <= refunded <= amount");
  has(refusal(patched(9, 0, [&](std::string& b, const Section&) { put_u64(b, orders + 40 * 2 + 16, u64_at(b, orders + 40 * 2 + 8) + 1); })), "refunded <= amount");
  has(refusal(patched(9, 0, [&](std::string& b, const Section&) { put_u32(b, orders + 36, 0); })), "an id of 1..64 bytes");
  has(refusal(patched(9, 0, [&](std::string& b, const Section&) { put_u32(b, orders + 36, u32_at(b, orders + 36) - 1); })), "every byte of the ids section");
  has(refusal(patched(9, 0, [&](std::string& b, const Section&) { put_u32(b, orders + 32, u32_at(b, orders + 32) + 1); })), "the orders' total");
  // Two orders with one id: the first two ids are "o-N" of the same length; copy one over the other.
  {
    const std::uint32_t len0 = u32_at(image, orders + 36), len1 = u32_at(image, orders + 40 + 36);
    REQUIRE(len0 == len1);
    has(refusal(patched(8, 0, [&](std::string& b, const Section& s) { b.replace(s.payload() + len0, len1, b.substr(s.payload(), len0)); })),
        "distinct order ids");
  }
  CHECK(ids.count == e.order_count());

  const Section& credits = find(all, 10);
  REQUIRE(credits.count > 0);
  has(refusal(patched(10, 0, [&](std::string& b, const Section& s) { put_u32(b, s.payload() + 12, 0xFFFF); })), "known members");
  has(refusal(patched(10, 0, [&](std::string& b, const Section& s) { put_u64(b, s.payload() + 12 + 4, 0); })), "points > 0");

  has(refusal(patched(11, 0, [&](std::string& b, const Section& s) { put_u32(b, s.payload(), 0xFFFF); })), "a redemption by a known member");
  has(refusal(patched(12, 0, [&](std::string& b, const Section& s) { put_u32(b, s.payload(), 0xFFFF); })), "an adjustment of a known member");
  has(refusal(patched(13, 0, [&](std::string& b, const Section& s) { put_u64(b, s.at + 8, s.count + 1); })), "plan change");
  has(refusal(patched(1, 0, [&](std::string& b, const Section& s) { put_u64(b, s.payload() + 16, std::uint64_t(-1)); })), "a clock >= 0");
  has(refusal(patched(2, 0, [&](std::string& b, const Section& s) { b[s.payload()] = '['; })), "a valid plan");
  // Reward ids: "welcome" (dropped by plan v2: only the digest knows it), then "gift-10" (in the plan).
  REQUIRE(image.substr(find(all, 3).payload(), 22) == std::string("\7\0\0\0welcome\7\0\0\0gift-10", 22));
  has(refusal(patched(3, 0, [&](std::string& b, const Section& s) { b[s.payload() + 4] = 'X'; })), "digest");
  has(refusal(patched(3, 0, [&](std::string& b, const Section& s) { b[s.payload() + 15] = 'X'; })), "every reward of the plan");
  has(refusal(patched(255, 0, [&](std::string& b, const Section& s) { put_u64(b, s.payload() + 64, 0); })), "its own offset");
  has(refusal(patched(255, 0, [&](std::string& b, const Section& s) { put_u64(b, s.at + 8, s.count + 1); })), "sections");
  // The header's own CRC.
  bad = image;
  put_u64(bad, 24, 401);
  has(refusal(bad), "file header");
  put_u32(bad, 32, Crc32c::compute(bad.data(), 32));
  std::uint64_t seq = 0;
  CHECK(Engine(decode_snapshot(bad, seq)).digest() == e.digest());
  CHECK(seq == 401);
}

TEST_CASE("snapshot: a format-1 snapshot of upline 0.1 still loads, with its digest (tests/durability/data-0.1)") {
  const std::string path = durability_dir + "/data-0.1/snapshot-00000000000000000019.snap";
  const std::string file = read_file(path);
  REQUIRE(u32_at(file, 16) == 1);
  const std::string stored = file.substr(36, 64);  // magic, format, 0, seq, then str digest: u32 64 and the hex
  CHECK(stored == "935da929dd7f9f89752ce969ad11ee4a5c750901885c2c8a155491ff16f04e82");
  std::uint64_t seq = 0;
  const Engine decoded(decode_snapshot(file, seq));
  CHECK(seq == 19);
  CHECK(decoded.digest() == stored);
  seq = 0;
  const Engine read(read_snapshot(posix_file_system(), path, seq));
  CHECK(seq == 19);
  CHECK(read.digest() == stored);
  // Written again, it is format 3, and the same state.
  const std::string again = encode_snapshot(read.state(), 19);
  CHECK(u32_at(again, 16) == 3);
  CHECK(Engine(decode_snapshot(again, seq)).digest() == stored);
}

TEST_CASE("snapshot: a format-2 snapshot still loads, with its digest, the state its events make (tests/durability/snapshot-v2)") {
  const std::string dir = durability_dir + "/snapshot-v2";
  const std::string path = dir + "/snapshot-00000000000000000862.snap";
  const std::string file = read_file(path);
  REQUIRE(u32_at(file, 16) == 2);
  const std::string digest = "64a0199d3d8de5f4165924fa0758915beb518f65a7594438e5e82f4b03ee8d75";
  CHECK(file.substr(36, 64) == digest);
  std::uint64_t seq = 0;
  const Engine read(read_snapshot(posix_file_system(), path, seq));
  CHECK(seq == 862);
  CHECK(read.digest() == digest);
  CHECK(Engine(decode_snapshot(file, seq)).digest() == digest);
  // The events it was made from (the bundled four-tier plan) give the same state.
  Replayer r(*bundled_plan("four-tier"));
  const std::vector<std::string> lines = read_lines(dir + "/events.jsonl");
  REQUIRE(lines.size() == 862);
  for (const auto& l : lines) r.apply(l);
  CHECK(r.digest() == digest);
  CHECK(everything(read) == everything(r.engine()));
  CHECK(read.state().ledger.adjustments().size() == 5);
  CHECK(read.state().ledger.plan_changes().size() == 1);
  CHECK(read.state().ledger.redemption_count() > 0);
  CHECK(read.census()[2] > 0);
  // And written again as format 3, loads the same.
  CHECK(Engine(decode_snapshot(encode_snapshot(read.state(), 862), seq)).digest() == digest);
}
