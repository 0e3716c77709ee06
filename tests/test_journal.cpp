// test_journal.cpp — the journal's record format (journal.hpp): payload encoding of every kind, and
// scan_journal's verdicts on clean, torn, zero-filled, bit-flipped, unchained and gapped images.
//
// The damage tests are exhaustive over small journals: truncation at every byte offset of the last
// records, a flipped byte at every offset. Each case must either recover a clean prefix (torn tail)
// or refuse precisely (corrupt, naming the offset) — and the records the scan hands to its visitor
// must be exactly the original prefix: never a record that fails its checks.
#include "upline/door.hpp"
#include "upline/journal.hpp"
#include "tools/simulation.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace upline;

Plan four_tier() {
  PlanFaults f;
  auto p = Plan::parse(*bundled_plan("four-tier"), f);
  REQUIRE(p);
  return std::move(*p);
}

// A record as one comparable string.
std::string describe(const JournalRecord& r) {
  std::string s = std::to_string(r.seq) + "|" + std::string(code_name(r.status)) + "|" + std::to_string(static_cast<int>(r.kind)) + "|";
  s += r.event ? event_json(*r.event) : "-";
  s += "|" + r.text;
  return s;
}

JournalRecord round_trip(std::uint64_t seq, Code status, const Event& e) {
  std::string payload;
  encode_record_payload(payload, seq, status, &e, {});
  return decode_record_payload(payload);
}

// A small journal: the genesis record and then `events`, framed and chained.
struct Built {
  std::string image;
  std::vector<std::uint64_t> offsets;  // of each record (genesis first)
  std::vector<std::uint64_t> ends;     // end offset of each record
  std::vector<std::string> described;  // describe() of each record
  std::vector<std::uint32_t> chains;   // header_crc of each record
};

struct Item {
  Code status = Code::ok;
  std::optional<Event> event;
  std::string raw;
};

Built build(const std::vector<Item>& items) {
  Built b;
  b.image = std::string(journal_magic);
  std::uint32_t chain = 0;
  auto add = [&](const std::string& payload) {
    b.offsets.push_back(b.image.size());
    chain = frame_record(b.image, payload, chain);
    b.chains.push_back(chain);
    b.ends.push_back(b.image.size());
    b.described.push_back(describe(decode_record_payload(payload)));
  };
  std::string genesis;
  encode_record_payload(genesis, 0, Code::ok, nullptr, four_tier().canonical_json(), RecordKind::genesis);
  add(genesis);
  std::uint64_t seq = 0;
  for (const Item& it : items) {
    std::string payload;
    encode_record_payload(payload, ++seq, it.status, it.event ? &*it.event : nullptr, it.raw);
    add(payload);
  }
  return b;
}

// Ten records of mixed kinds after the genesis (short ones, so that exhaustive loops stay quick).
std::vector<Item> ten_items() {
  std::vector<Item> v;
  v.push_back({Code::ok, Join{1000, std::nullopt, 5}, {}});
  v.push_back({Code::ok, Join{1007, 1000, 6}, {}});
  v.push_back({Code::invalid_event, std::nullopt, "not json"});
  v.push_back({Code::ok, Purchase{"o-1", 1007, "main", *Decimal::parse("12.50"), 7}, {}});
  v.push_back({Code::duplicate_order, Purchase{"o-1", 1007, "main", *Decimal::parse("12.50"), 8}, {}});
  v.push_back({Code::ok, Refund{"o-1", Decimal::parse("1.00"), 9}, {}});
  v.push_back({Code::insufficient_points, Redeem{1007, *Decimal::parse("999"), "r-1", 10}, {}});
  v.push_back({Code::ok, Adjust{1000, *Decimal::parse("-1.00"), "ops", "fix", 11}, {}});
  v.push_back({Code::ok, Suspend{1007, 12}, {}});
  v.push_back({Code::invalid_amount, Purchase{"o-2", 1007, "main", Decimal::lenient("1.2.3"), 13}, {}});
  return v;
}

struct Scanned {
  JournalScan scan;
  std::vector<std::string> visited;
  std::vector<std::uint64_t> offsets;
};

Scanned scan(std::string_view image) {
  Scanned s;
  s.scan = scan_journal(image, [&](const JournalRecord& r, std::uint64_t off) {
    s.visited.push_back(describe(r));
    s.offsets.push_back(off);
  });
  return s;
}

// The visited records are exactly the first s.scan.records records of `b`, at their offsets.
void check_prefix(const Built& b, const Scanned& s) {
  REQUIRE(s.visited.size() == s.scan.records);
  REQUIRE(s.scan.records <= b.described.size());
  for (std::size_t i = 0; i < s.visited.size(); ++i) {
    REQUIRE(s.visited[i] == b.described[i]);
    REQUIRE(s.offsets[i] == b.offsets[i]);
  }
  const std::uint64_t want_bytes = s.scan.records == 0 ? journal_magic.size() : b.ends[s.scan.records - 1];
  if (s.scan.records > 0 || s.scan.valid_bytes > 0) REQUIRE(s.scan.valid_bytes == want_bytes);
  REQUIRE(s.scan.last_seq == (s.scan.records == 0 ? 0 : s.scan.records - 1));
  REQUIRE(s.scan.chain == (s.scan.records == 0 ? 0 : b.chains[s.scan.records - 1]));
}

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

// ---- payloads -------------------------------------------------------------------------------------

TEST_CASE("journal: encode/decode round trip of every event kind") {
  const std::vector<Event> events = {
      Join{1, std::nullopt, 0},
      Join{9223372036854775807, 1, 9223372036854775807},
      Purchase{"order-1", 42, "main", *Decimal::parse("1234.56"), 1767225600000},
      Refund{"order-1", std::nullopt, 3},
      Refund{"order-1", Decimal::parse("0.01"), 4},
      Redeem{42, *Decimal::parse("10.00"), "ref-7", 5},
      Adjust{42, *Decimal::parse("-3.50"), "support", "goodwill: \"quoted\"\nnew line", 6},
      Suspend{42, 7},
      Reactivate{42, 8},
  };
  std::uint64_t seq = 1;
  for (const Event& e : events) {
    CAPTURE(event_json(e));
    const JournalRecord r = round_trip(seq, Code::ok, e);
    CHECK(r.seq == seq);
    CHECK(r.status == Code::ok);
    CHECK(static_cast<std::size_t>(r.kind) == e.index() + 1);
    REQUIRE(r.event);
    CHECK(r.event->index() == e.index());
    CHECK(event_json(*r.event) == event_json(e));
    CHECK(r.at() == event_time(e));
    CHECK(r.text.empty());
    ++seq;
  }
}

TEST_CASE("journal: the status code and large sequence numbers survive") {
  for (Code c : {Code::ok, Code::invalid_event, Code::invalid_plan, Code::incompatible_plan, Code::member_exists, Code::duplicate_order,
                 Code::refund_window_closed, Code::insufficient_points, Code::overflow}) {
    const JournalRecord r = round_trip(0xFFFFFFFFFFFFull, c, Event{Suspend{3, 4}});
    CHECK(r.status == c);
    CHECK(r.seq == 0xFFFFFFFFFFFFull);
  }
}

TEST_CASE("journal: raw and genesis records keep their text byte for byte") {
  const std::string raw = std::string("{\"type\":\"purchase\", not json \0 \xff", 33);
  std::string payload;
  encode_record_payload(payload, 17, Code::invalid_event, nullptr, raw);
  JournalRecord r = decode_record_payload(payload);
  CHECK(r.kind == RecordKind::raw);
  CHECK(r.seq == 17);
  CHECK(r.status == Code::invalid_event);
  CHECK(!r.event);
  CHECK(r.text == raw);
  CHECK(r.at() == 0);

  payload.clear();
  encode_record_payload(payload, 5, Code::invalid_event, nullptr, "");
  CHECK(decode_record_payload(payload).text.empty());

  const std::string plan = four_tier().canonical_json();
  payload.clear();
  encode_record_payload(payload, 0, Code::ok, nullptr, plan, RecordKind::genesis);
  r = decode_record_payload(payload);
  CHECK(r.kind == RecordKind::genesis);
  CHECK(r.seq == 0);
  CHECK(r.text == plan);
  CHECK(!r.event);
}

TEST_CASE("journal: malformed decimals are kept as text, so that replay rejects them the same way") {
  const std::vector<std::string> texts = {"1.2.3", "", "-", "12,50", "1e5", " 1", "0x10", "٣", std::string(300, '9'), "-0.000"};
  for (const std::string& t : texts) {
    CAPTURE(t);
    const Decimal d = Decimal::lenient(t);
    for (const Event& e : std::vector<Event>{Purchase{"o", 1, "main", d, 0}, Refund{"o", d, 0}, Redeem{1, d, "r", 0}, Adjust{1, d, "a", "b", 0}}) {
      const JournalRecord r = round_trip(3, Code::invalid_amount, e);
      REQUIRE(r.event);
      const Decimal* got = nullptr;
      if (auto* p = std::get_if<Purchase>(&*r.event)) got = &p->amount;
      if (auto* p = std::get_if<Refund>(&*r.event)) got = &*p->amount;
      if (auto* p = std::get_if<Redeem>(&*r.event)) got = &p->points;
      if (auto* p = std::get_if<Adjust>(&*r.event)) got = &p->points;
      REQUIRE(got);
      CHECK(got->text() == t);
      CHECK(got->well_formed() == d.well_formed());
    }
  }
}

TEST_CASE("journal: plan events keep the plan (canonical JSON), the actor and the time") {
  Plan p = four_tier();
  p.version = 7;
  const std::string canonical = p.canonical_json();
  const Event e = PlanChange{std::make_shared<const Plan>(std::move(p)), "board", 99};
  const JournalRecord r = round_trip(12, Code::ok, e);
  CHECK(r.kind == RecordKind::plan);
  REQUIRE(r.event);
  const auto* got = std::get_if<PlanChange>(&*r.event);
  REQUIRE(got);
  REQUIRE(got->plan);
  CHECK(got->plan->canonical_json() == canonical);
  CHECK(got->plan->version == 7);
  CHECK(got->actor == "board");
  CHECK(got->at == 99);
}

TEST_CASE("journal: a decoder fed damaged payloads throws FormatError, never more") {
  std::string good;
  encode_record_payload(good, 3, Code::ok, nullptr, {}, RecordKind::raw);
  Event purchase = Purchase{"o-1", 5, "outlet", *Decimal::parse("20.00"), 1};
  std::string p;
  encode_record_payload(p, 3, Code::ok, &purchase, {});

  SUBCASE("every proper prefix") {
    for (std::size_t n = 0; n < p.size(); ++n) {
      const std::string cut = p.substr(0, n);
      CHECK_THROWS_AS(decode_record_payload(cut), FormatError);
    }
  }
  SUBCASE("a byte more") { CHECK_THROWS_AS(decode_record_payload(p + "x"), FormatError); }
  SUBCASE("an unknown kind") {
    std::string bad = p;
    bad[9] = 10;
    CHECK_THROWS_AS(decode_record_payload(bad), FormatError);
    bad[9] = static_cast<char>(0xff);
    CHECK_THROWS_AS(decode_record_payload(bad), FormatError);
  }
  SUBCASE("an unknown status code") {
    std::string bad = p;
    bad[8] = 99;
    CHECK_THROWS_AS(decode_record_payload(bad), FormatError);
  }
  SUBCASE("a plan record whose plan is not valid") {
    std::string bad;
    ByteWriter w(bad);
    w.u64(4);
    w.u8(0);
    w.u8(static_cast<std::uint8_t>(RecordKind::plan));
    w.str("{\"name\":1}");
    w.str("ops");
    w.i64(0);
    CHECK_THROWS_AS(decode_record_payload(bad), FormatError);
  }
  SUBCASE("every single-byte value at every offset: an error or a record, never a crash") {
    for (std::size_t i = 0; i < p.size(); ++i)
      for (int v = 0; v < 256; v += 17) {
        std::string bad = p;
        bad[i] = static_cast<char>(v);
        try {
          (void)decode_record_payload(bad);
        } catch (const FormatError&) {
        }
      }
  }
}

// ---- scanning ---------------------------------------------------------------------------------------

TEST_CASE("journal: scan_journal on a clean journal") {
  const Built b = build(ten_items());
  const Scanned s = scan(b.image);
  CHECK(s.scan.end == JournalScan::End::clean);
  CHECK(s.scan.problem.empty());
  CHECK(s.scan.records == 11);
  CHECK(s.scan.last_seq == 10);
  CHECK(s.scan.valid_bytes == b.image.size());
  CHECK(s.scan.chain == b.chains.back());
  check_prefix(b, s);

  // Only the file header: clean, nothing in it (a store would call that "no genesis record").
  const Scanned only = scan(journal_magic);
  CHECK(only.scan.end == JournalScan::End::clean);
  CHECK(only.scan.records == 0);
  CHECK(only.scan.valid_bytes == journal_magic.size());
}

TEST_CASE("journal: the file header") {
  for (std::size_t n = 0; n < journal_magic.size(); ++n) {
    const Scanned s = scan(journal_magic.substr(0, n));
    CHECK(s.scan.end == JournalScan::End::torn_tail);
    CHECK(s.scan.records == 0);
  }
  const Built b = build(ten_items());
  for (std::size_t i = 0; i < journal_magic.size(); ++i) {
    std::string bad = b.image;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    const Scanned s = scan(bad);
    CHECK(s.scan.end == JournalScan::End::corrupt);
    CHECK(s.visited.empty());
    CHECK(has(s.scan.problem, "offset 0"));
  }
  CHECK(scan("hello").scan.end == JournalScan::End::corrupt);
}

TEST_CASE("journal: truncation at every byte offset of the last 3 records is a torn tail at a record boundary") {
  const Built b = build(ten_items());
  const std::size_t n = b.offsets.size();
  std::size_t cases = 0;
  for (std::uint64_t cut = b.offsets[n - 3]; cut <= b.image.size(); ++cut) {
    CAPTURE(cut);
    const Scanned s = scan(std::string_view(b.image).substr(0, cut));
    // The records wholly inside the cut.
    std::size_t whole = 0;
    while (whole < n && b.ends[whole] <= cut) ++whole;
    if (whole > 0 && b.ends[whole - 1] == cut) {
      REQUIRE(s.scan.end == JournalScan::End::clean);
    } else {
      REQUIRE(s.scan.end == JournalScan::End::torn_tail);
      REQUIRE(has(s.scan.problem, "offset " + std::to_string(b.offsets[whole])));
      REQUIRE(has(s.scan.problem, "sequence " + std::to_string(whole - 1)));
    }
    REQUIRE(s.scan.records == whole);
    REQUIRE(s.scan.valid_bytes == b.ends[whole - 1]);
    check_prefix(b, s);
    ++cases;
  }
  CHECK(cases == b.image.size() - b.offsets[n - 3] + 1);
}

TEST_CASE("journal: truncation anywhere at all never yields a record that is not in the original") {
  const Built b = build(ten_items());
  for (std::uint64_t cut = 0; cut <= b.image.size(); ++cut) {
    const Scanned s = scan(std::string_view(b.image).substr(0, cut));
    REQUIRE(s.scan.end != JournalScan::End::corrupt);
    check_prefix(b, s);
  }
}

TEST_CASE("journal: a zero-filled tail is a torn tail") {
  const Built b = build(ten_items());
  SUBCASE("zeros after the last record") {
    for (std::size_t zeros : {1, 15, 16, 17, 100, 4096}) {
      const Scanned s = scan(b.image + std::string(zeros, '\0'));
      CHECK(s.scan.end == JournalScan::End::torn_tail);
      CHECK(s.scan.records == b.offsets.size());
      CHECK(s.scan.valid_bytes == b.image.size());
      if (zeros >= record_header_size) CHECK(has(s.scan.problem, "zero"));
      check_prefix(b, s);
    }
  }
  SUBCASE("the last records' bytes zeroed in place (an extent allocated, never written)") {
    for (std::size_t k = 1; k <= 3; ++k) {
      const std::uint64_t from = b.offsets[b.offsets.size() - k];
      std::string img = b.image;
      std::fill(img.begin() + static_cast<std::ptrdiff_t>(from), img.end(), '\0');
      const Scanned s = scan(img);
      CHECK(s.scan.end == JournalScan::End::torn_tail);
      CHECK(s.scan.valid_bytes == from);
      check_prefix(b, s);
    }
  }
  SUBCASE("zeros from inside the last record to past its end") {
    // A crash after the file grew but before all of its data reached the disk: the first part of
    // the last record made it, the rest of the last write reads as zeros — and runs past where
    // that record would end (group commit wrote several records at once). Nothing valid follows.
    const std::uint64_t last = b.offsets.back();
    for (std::uint64_t from = last + 1; from < b.image.size(); ++from) {
      CAPTURE(from);
      const std::string img = b.image.substr(0, from) + std::string(64, '\0');
      const Scanned s = scan(img);
      CHECK(s.scan.end == JournalScan::End::torn_tail);
      // (When the record's own last bytes were zeros anyway, it is whole and only the zeros go.)
      const bool intact = b.image.find_first_not_of('\0', from) == std::string::npos;
      CHECK(s.scan.valid_bytes == (intact ? b.image.size() : last));
      check_prefix(b, s);
    }
  }
}

TEST_CASE("journal: a flipped byte at every offset: torn tail in the last record, corruption naming the offset elsewhere") {
  const Built b = build(ten_items());
  const std::uint64_t last = b.offsets.back();
  std::size_t torn = 0, corrupt = 0;
  for (std::uint64_t i = 0; i < b.image.size(); ++i) {
    for (int mask : {0x01, 0x80, 0xff}) {
      CAPTURE(i);
      CAPTURE(mask);
      std::string img = b.image;
      img[i] = static_cast<char>(img[i] ^ mask);
      const Scanned s = scan(img);
      REQUIRE(s.scan.end != JournalScan::End::clean);
      check_prefix(b, s);
      // The record holding the damaged byte is the first one rejected.
      std::size_t k = 0;
      while (k < b.offsets.size() && b.ends[k] <= i) ++k;
      if (i < journal_magic.size()) {
        REQUIRE(s.scan.end == JournalScan::End::corrupt);
        REQUIRE(s.scan.records == 0);
      } else {
        REQUIRE(s.scan.records == k);
        REQUIRE(s.scan.valid_bytes == b.offsets[k]);
      }
      if (s.scan.end == JournalScan::End::torn_tail) {
        REQUIRE(i >= last);  // only the last record may be taken for a torn write
        ++torn;
      } else {
        REQUIRE(has(s.scan.problem, "offset " + std::to_string(i < journal_magic.size() ? 0 : b.offsets[k])));
        if (i >= journal_magic.size())
          REQUIRE(has(s.scan.problem, k == 0 ? std::string("before the genesis") : "sequence " + std::to_string(k - 1)));
        ++corrupt;
      }
    }
  }
  CHECK(torn > 0);
  CHECK(corrupt > 0);
}

TEST_CASE("journal: a record that does not chain to the one before is corruption") {
  const std::vector<Item> items = ten_items();
  // Rebuild by hand with a wrong chain on record 6.
  std::string img(journal_magic);
  std::uint32_t chain = 0;
  std::uint64_t bad_offset = 0;
  std::string genesis;
  encode_record_payload(genesis, 0, Code::ok, nullptr, four_tier().canonical_json(), RecordKind::genesis);
  chain = frame_record(img, genesis, chain);
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::string payload;
    encode_record_payload(payload, i + 1, items[i].status, items[i].event ? &*items[i].event : nullptr, items[i].raw);
    if (i + 1 == 6) {
      bad_offset = img.size();
      chain = frame_record(img, payload, chain ^ 1);
    } else {
      chain = frame_record(img, payload, chain);
    }
  }
  const Built b = build(items);
  const Scanned s = scan(img);
  CHECK(s.scan.end == JournalScan::End::corrupt);
  CHECK(s.scan.records == 6);
  CHECK(s.scan.last_seq == 5);
  CHECK(s.scan.valid_bytes == bad_offset);
  CHECK(has(s.scan.problem, "chain"));
  CHECK(has(s.scan.problem, "offset " + std::to_string(bad_offset)));
  CHECK(has(s.scan.problem, "sequence 5"));
  check_prefix(b, s);

  SUBCASE("even when it is the last record: a valid header with a wrong chain is not a torn write") {
    std::string two(journal_magic);
    std::uint32_t c = frame_record(two, genesis, 0);
    std::string payload;
    Event e = Join{1, std::nullopt, 0};
    encode_record_payload(payload, 1, Code::ok, &e, {});
    frame_record(two, payload, c + 1);
    CHECK(scan(two).scan.end == JournalScan::End::corrupt);
  }
  SUBCASE("a record copied in twice (a replayed write) breaks the chain") {
    const std::string dup = b.image + b.image.substr(b.offsets.back());
    const Scanned d = scan(dup);
    CHECK(d.scan.end == JournalScan::End::corrupt);
    CHECK(d.scan.records == b.offsets.size());
  }
  SUBCASE("records swapped") {
    std::string sw = b.image.substr(0, b.offsets[3]) + b.image.substr(b.offsets[4], b.ends[4] - b.offsets[4]) +
                     b.image.substr(b.offsets[3], b.ends[3] - b.offsets[3]) + b.image.substr(b.ends[4]);
    const Scanned d = scan(sw);
    CHECK(d.scan.end == JournalScan::End::corrupt);
    CHECK(d.scan.records == 3);
  }
}

TEST_CASE("journal: a sequence gap, a repeated sequence and a misplaced genesis are corruption") {
  std::string genesis;
  encode_record_payload(genesis, 0, Code::ok, nullptr, four_tier().canonical_json(), RecordKind::genesis);
  auto journal = [&](std::vector<std::pair<std::uint64_t, bool>> records) {  // (seq, is genesis)
    std::string img(journal_magic);
    std::uint32_t chain = 0;
    for (auto [seq, is_genesis] : records) {
      std::string payload;
      if (is_genesis) {
        encode_record_payload(payload, seq, Code::ok, nullptr, four_tier().canonical_json(), RecordKind::genesis);
      } else {
        Event e = Suspend{1, static_cast<Time>(seq)};
        encode_record_payload(payload, seq, Code::unknown_member, &e, {});
      }
      chain = frame_record(img, payload, chain);
    }
    return img;
  };
  SUBCASE("a gap") {
    const std::string img = journal({{0, true}, {1, false}, {2, false}, {4, false}, {5, false}});
    const Scanned s = scan(img);
    CHECK(s.scan.end == JournalScan::End::corrupt);
    CHECK(s.scan.records == 3);
    CHECK(s.scan.last_seq == 2);
    CHECK(has(s.scan.problem, "sequence 4 where 3 was due"));
    CHECK(has(s.scan.problem, "offset " + std::to_string(s.scan.valid_bytes)));
  }
  SUBCASE("a gap in the very last record is not a torn write either") {
    const Scanned s = scan(journal({{0, true}, {1, false}, {3, false}}));
    CHECK(s.scan.end == JournalScan::End::corrupt);
    CHECK(s.scan.records == 2);
  }
  SUBCASE("a repeated sequence") {
    const Scanned s = scan(journal({{0, true}, {1, false}, {2, false}, {2, false}}));
    CHECK(s.scan.end == JournalScan::End::corrupt);
    CHECK(s.scan.records == 3);
  }
  SUBCASE("no genesis first") {
    const Scanned s = scan(journal({{1, false}, {2, false}}));
    CHECK(s.scan.end == JournalScan::End::corrupt);
    CHECK(s.scan.records == 0);
    CHECK(has(s.scan.problem, "before the genesis"));
  }
  SUBCASE("a genesis record in the middle") {
    const Scanned s = scan(journal({{0, true}, {1, false}, {2, true}}));
    CHECK(s.scan.end == JournalScan::End::corrupt);
    CHECK(s.scan.records == 2);
  }
  SUBCASE("a genesis record with a sequence number") {
    const Scanned s = scan(journal({{1, true}}));
    CHECK(s.scan.end == JournalScan::End::corrupt);
  }
}

TEST_CASE("journal: records with valid checksums but impossible contents are corruption") {
  std::string img(journal_magic);
  std::string genesis;
  encode_record_payload(genesis, 0, Code::ok, nullptr, four_tier().canonical_json(), RecordKind::genesis);
  const std::uint32_t chain = frame_record(img, genesis, 0);
  const std::uint64_t off = img.size();
  SUBCASE("an undecodable payload") {
    std::string payload;
    ByteWriter w(payload);
    w.u64(1);
    w.u8(0);
    w.u8(42);  // no such kind
    frame_record(img, payload, chain);
    const Scanned s = scan(img);
    CHECK(s.scan.end == JournalScan::End::corrupt);
    CHECK(has(s.scan.problem, "undecodable"));
    CHECK(has(s.scan.problem, "offset " + std::to_string(off)));
    CHECK(s.scan.records == 1);
  }
  SUBCASE("a length beyond the maximum, with a header that checks out") {
    std::string header;
    ByteWriter w(header);
    w.u32(max_record_payload + 1);
    w.u32(chain);
    w.u32(0);
    w.u32(Crc32c::compute(header));
    img += header;
    img += std::string(100, 'x');
    const Scanned s = scan(img);
    CHECK(s.scan.end == JournalScan::End::corrupt);
    CHECK(has(s.scan.problem, "maximum"));
  }
  SUBCASE("a damaged header followed by zeros and then data") {
    Event e = Join{1, std::nullopt, 0};
    std::string payload;
    encode_record_payload(payload, 1, Code::ok, &e, {});
    std::string rec;
    frame_record(rec, payload, chain);
    img += std::string(rec.size(), '\0');
    img += rec;
    const Scanned s = scan(img);
    CHECK(s.scan.end == JournalScan::End::corrupt);
    CHECK(s.scan.records == 1);
  }
}

TEST_CASE("journal: scan_journal stops when the visitor throws") {
  const Built b = build(ten_items());
  std::size_t seen = 0;
  CHECK_THROWS_AS(scan_journal(b.image,
                               [&](const JournalRecord& r, std::uint64_t) {
                                 ++seen;
                                 if (r.seq == 4) throw std::runtime_error("enough");
                               }),
                  std::runtime_error);
  CHECK(seen == 5);
}
