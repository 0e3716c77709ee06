// test_store.cpp — the durable engine (store.hpp) on the real file system, in temporary directories:
// the same events give the same digest as an in-memory engine; rejections are journaled; order ids
// and refs stay unique across restarts; snapshots are atomic, pruned, checked and skipped when
// damaged; torn tails are truncated and corruption refuses to open, precisely; rebuild (time
// travel), export, verify and the directory lock.
#include "durability/support.hpp"

#include "upline/journal.hpp"
#include "upline/door.hpp"
#include "upline/snapshot.hpp"
#include "upline/store.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#ifndef UPLINE_TEST_GOLDEN_DIR
#error "UPLINE_TEST_GOLDEN_DIR must name tests/golden"
#endif

namespace {

using namespace upline;
using upline::testing::read_file;
using upline::testing::Replayer;
using upline::testing::replay_digest;
using upline::testing::Stream;
using upline::testing::TempDir;
using upline::testing::write_file;

StoreOptions opts(Durability d = Durability::none) {
  StoreOptions o;
  o.durability = d;
  return o;
}

// ~330 events: 40 members, 250 purchases, and the rejections make_stream mixes in.
const Stream& small() {
  static const Stream s = upline::testing::make_stream(40, 250, 7);
  return s;
}

// Submits lines [from, to) and checks each gets the next sequence number and the expected code.
void feed(Store& store, const Stream& s, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to && i < s.lines.size(); ++i) {
    const Submitted r = store.submit(s.lines[i]);
    REQUIRE(r.seq == i + 1);
    REQUIRE(code_name(r.code) == code_name(s.codes[i]));
  }
  store.commit();
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : std::filesystem::directory_iterator(dir)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> snapshots(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& n : names_in(dir))
    if (n.rfind("snapshot-", 0) == 0) v.push_back(n);
  return v;
}

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

// Record offsets of a journal file (genesis first).
std::vector<std::uint64_t> record_offsets(const std::string& image) {
  std::vector<std::uint64_t> offs;
  scan_journal(image, [&](const JournalRecord&, std::uint64_t off) { offs.push_back(off); });
  return offs;
}

}  // namespace

TEST_CASE("store: create, submit, reopen: the digest equals an in-memory engine's") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "data";
  const std::string want = replay_digest(s.plan, s.lines, s.lines.size());
  REQUIRE(s.rejected() > 20);
  {
    auto store = Store::create(dir, s.plan, opts());
    CHECK(store->last_seq() == 0);
    CHECK(store->dir() == dir);
    feed(*store, s, 0, s.lines.size());
    CHECK(store->last_seq() == s.lines.size());
    CHECK(store->durable_seq() == s.lines.size());
    CHECK(store->engine().digest() == want);
    CHECK(!store->failure());
  }
  auto store = Store::open(dir, opts());
  CHECK(store->engine().digest() == want);
  CHECK(store->last_seq() == s.lines.size());
  CHECK(store->recovery().snapshot.empty());
  CHECK(store->recovery().replayed == s.lines.size());
  CHECK(!store->recovery().torn_tail);
  CHECK(store->recovery().notes.empty());
  CHECK(store->engine().rejected() == s.rejected());
  CHECK(store->engine().applied() == s.lines.size() - s.rejected());
}

TEST_CASE("store: the golden streams give the golden digests, live and after reopening") {
  std::size_t streams = 0;
  for (const auto& entry : std::filesystem::directory_iterator(UPLINE_TEST_GOLDEN_DIR)) {
    if (!entry.is_directory()) continue;
    const std::string g = entry.path().string();
    CAPTURE(g);
    const std::string plan = read_file(g + "/plan.json");
    const auto lines = upline::testing::read_lines(g + "/events.jsonl");
    const std::string state = read_file(g + "/state.json");
    const auto at = state.find("\"digest\":\"");
    REQUIRE(at != std::string::npos);
    const std::string golden = state.substr(at + 10, 64);
    CHECK(replay_digest(plan, lines, lines.size()) == golden);
    TempDir t;
    {
      auto store = Store::create(t / "d", plan, opts());
      for (const auto& l : lines) store->submit(l);
      store->commit();
      CHECK(store->engine().digest() == golden);
    }
    auto store = Store::open(t / "d", opts());
    CHECK(store->engine().digest() == golden);
    CHECK(store->last_seq() == lines.size());
    ++streams;
  }
  CHECK(streams >= 5);
}

TEST_CASE("store: rejected events are journaled and keep their sequence numbers") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  {
    auto store = Store::create(dir, s.plan, opts());
    Submitted r = store->submit("not json");
    CHECK(r.seq == 1);
    CHECK(r.code == Code::invalid_event);
    CHECK(!r.message.empty());
    r = store->submit(R"({"type":"join","member":5,"at":1})");
    CHECK(r.seq == 2);
    CHECK(r.code == Code::ok);
    CHECK(r.effects.size() >= 1);
    r = store->submit(R"({"type":"join","member":5,"at":2})");
    CHECK(r.seq == 3);
    CHECK(r.code == Code::member_exists);
    CHECK(r.effects.empty());
    r = store->submit(Event{PlanChange{nullptr, "ops", 3}});  // a plan event without a plan
    CHECK(r.seq == 4);
    CHECK(r.code == Code::invalid_event);
    r = store->submit(Event{Purchase{"o-1", 5, "main", Decimal::lenient("ten"), 4}});
    CHECK(r.seq == 5);
    CHECK(r.code == Code::invalid_amount);
    r = store->submit(Event{Purchase{"o-1", 5, "main", *Decimal::parse("10.00"), 5}});
    CHECK(r.seq == 6);
    CHECK(r.code == Code::ok);
    store->commit();
  }
  auto store = Store::open(dir, opts());
  CHECK(store->last_seq() == 6);
  CHECK(store->engine().rejected() == 4);
  CHECK(store->engine().applied() == 2);
  CHECK(store->submit(R"({"type":"suspend","member":77,"at":9})").seq == 7);
  store->commit();
  std::string out;
  CHECK(export_journal(dir, 1, std::nullopt, out) == 7);
  const auto lines = [&] {
    std::vector<std::string> v;
    std::size_t p = 0;
    while (p < out.size()) {
      const auto nl = out.find('\n', p);
      v.push_back(out.substr(p, nl - p));
      p = nl + 1;
    }
    return v;
  }();
  REQUIRE(lines.size() == 7);
  CHECK(lines[0] == "not json");  // kept as written
  CHECK(has(lines[3], "\"type\":\"plan\""));
  CHECK(has(lines[4], "\"amount\":\"ten\""));
  // Seq numbers in the journal are 0 (genesis), 1, 2, … with rejections in their place.
  std::vector<std::uint64_t> seqs;
  std::vector<Code> codes;
  scan_journal(read_file(dir + "/journal"), [&](const JournalRecord& r, std::uint64_t) {
    seqs.push_back(r.seq);
    codes.push_back(r.status);
  });
  CHECK(seqs == std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(codes == std::vector<Code>{Code::ok, Code::invalid_event, Code::ok, Code::member_exists, Code::invalid_event, Code::invalid_amount,
                                   Code::ok, Code::unknown_member});
}

TEST_CASE("store: order ids and refs stay unique across a reopen (a retried order is duplicate_order)") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  std::string digest;
  {
    auto store = Store::create(dir, s.plan, opts(Durability::every));
    REQUIRE(store->submit(R"({"type":"join","member":1,"at":1})").code == Code::ok);
    REQUIRE(store->submit(R"({"type":"purchase","order":"o-1","member":1,"shop":"main","amount":"100.00","at":2})").code == Code::ok);
    REQUIRE(store->submit(R"({"type":"redeem","member":1,"points":"1.00","ref":"r-1","at":3})").code == Code::ok);
    digest = store->engine().digest();
  }
  for (int round = 0; round < 2; ++round) {
    auto store = Store::open(dir, opts(Durability::every));
    const auto before = store->engine().member(1)->balance;
    Submitted r = store->submit(R"({"type":"purchase","order":"o-1","member":1,"shop":"main","amount":"100.00","at":4})");
    CHECK(r.code == Code::duplicate_order);
    r = store->submit(R"({"type":"redeem","member":1,"points":"1.00","ref":"r-1","at":5})");
    CHECK(r.code == Code::duplicate_ref);
    CHECK(store->engine().member(1)->balance.units == before.units);
    CHECK(store->engine().digest() == digest);
    CHECK(store->engine().order_count() == 1);
  }
  // Also when recovery starts from a snapshot.
  {
    auto store = Store::open(dir, opts());
    store->snapshot();
  }
  auto store = Store::open(dir, opts());
  CHECK(!store->recovery().snapshot.empty());
  CHECK(store->submit(R"({"type":"purchase","order":"o-1","member":1,"shop":"main","amount":"1.00","at":6})").code == Code::duplicate_order);
  CHECK(store->engine().digest() == digest);
}

TEST_CASE("store: durable_seq in each mode") {
  const Stream& s = small();
  TempDir t;
  SUBCASE("every: durable when submit returns") {
    auto store = Store::create(t / "e", s.plan, opts(Durability::every));
    for (std::size_t i = 0; i < 5; ++i) {
      store->submit(s.lines[i]);
      CHECK(store->durable_seq() == i + 1);
    }
  }
  SUBCASE("group: durable after commit") {
    auto store = Store::create(t / "g", s.plan, opts(Durability::group));
    for (std::size_t i = 0; i < 5; ++i) store->submit(s.lines[i]);
    CHECK(store->last_seq() == 5);
    CHECK(store->durable_seq() == 0);
    // Nothing of it is in the file yet.
    CHECK(record_offsets(read_file(t / "g/journal")).size() == 1);
    store->commit();
    CHECK(store->durable_seq() == 5);
    CHECK(record_offsets(read_file(t / "g/journal")).size() == 6);
  }
  SUBCASE("none: written on commit") {
    auto store = Store::create(t / "n", s.plan, opts(Durability::none));
    for (std::size_t i = 0; i < 5; ++i) store->submit(s.lines[i]);
    CHECK(store->durable_seq() == 0);
    store->commit();
    CHECK(store->durable_seq() == 5);
  }
  SUBCASE("the destructor writes what was submitted") {
    {
      auto store = Store::create(t / "x", s.plan, opts(Durability::group));
      for (std::size_t i = 0; i < 5; ++i) store->submit(s.lines[i]);
    }
    CHECK(Store::open(t / "x", opts())->last_seq() == 5);
  }
  CHECK(parse_durability("every") == Durability::every);
  CHECK(parse_durability("group") == Durability::group);
  CHECK(parse_durability("none") == Durability::none);
  CHECK(!parse_durability("always"));
  CHECK(!parse_durability(""));
}

TEST_CASE("store: snapshots are atomic (no .tmp left), pruned to keep_snapshots, and recovery uses the newest") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  StoreOptions o = opts();
  o.keep_snapshots = 2;
  std::vector<std::string> made;
  {
    auto store = Store::create(dir, s.plan, o);
    for (std::size_t k = 1; k <= 4; ++k) {
      feed(*store, s, (k - 1) * 50, k * 50);
      made.push_back(store->snapshot());
      for (const auto& n : names_in(dir)) CHECK_MESSAGE(n.find(".tmp") == std::string::npos, n);
    }
    feed(*store, s, 200, 230);
  }
  CHECK(made[0] == "snapshot-00000000000000000050.snap");
  CHECK(made[3] == "snapshot-00000000000000000200.snap");
  CHECK(snapshots(dir) == std::vector<std::string>{made[2], made[3]});
  CHECK(names_in(dir) == std::vector<std::string>{"LOCK", "journal", made[2], made[3]});

  auto store = Store::open(dir, o);
  CHECK(store->recovery().snapshot == made[3]);
  CHECK(store->recovery().snapshot_seq == 200);
  CHECK(store->recovery().replayed == 30);
  CHECK(store->recovery().notes.empty());
  CHECK(store->last_seq() == 230);
  CHECK(store->engine().digest() == replay_digest(s.plan, s.lines, 230));

  SUBCASE("keep_snapshots 1, and 0 is taken as 1") {
    for (std::size_t keep : {std::size_t{0}, std::size_t{1}}) {
      store.reset();
      StoreOptions o1 = opts();
      o1.keep_snapshots = keep;
      store = Store::open(dir, o1);
      const std::string name = store->snapshot();
      CHECK(snapshots(dir) == std::vector<std::string>{name});
    }
  }
}

TEST_CASE("store: snapshot_every writes snapshots automatically") {
  const Stream& s = small();
  TempDir t;
  StoreOptions o = opts(Durability::group);
  o.snapshot_every = 40;
  o.keep_snapshots = 3;
  o.background_snapshots = false;
  {
    auto store = Store::create(t / "d", s.plan, o);
    feed(*store, s, 0, 130);
  }
  CHECK(snapshots(t / "d") == std::vector<std::string>{"snapshot-00000000000000000040.snap", "snapshot-00000000000000000080.snap",
                                                       "snapshot-00000000000000000120.snap"});
  auto store = Store::open(t / "d", o);
  CHECK(store->recovery().snapshot_seq == 120);
  CHECK(store->engine().digest() == replay_digest(s.plan, s.lines, 130));
}

TEST_CASE("store: background snapshots are written by a child while submit goes on, published once durable, and verify") {
  const Stream& s = small();
  for (const Durability d : {Durability::every, Durability::group}) {
    CAPTURE(static_cast<int>(d));
    TempDir t;
    StoreOptions o = opts(d);
    o.snapshot_bytes = 1500;  // every ~25 records
    o.keep_snapshots = 100;
    bool seen_in_progress = false;
    {
      auto store = Store::create(t / "d", s.plan, o);
      for (std::size_t i = 0; i < s.lines.size(); ++i) {
        REQUIRE(store->submit(s.lines[i]).seq == i + 1);
        seen_in_progress = seen_in_progress || store->snapshot_in_progress();
        if (i % 16 == 15) store->commit();
        // A snapshot is never visible before its sequence number is durable.
        for (const auto& [seq, name] : snapshots_in(posix_file_system(), t / "d")) REQUIRE(seq <= store->durable_seq());
      }
      for (const auto& n : store->recovery().notes) FAIL_CHECK(n);
    }  // the destructor waits for the last child and publishes its snapshot
    CHECK(seen_in_progress);
    const auto snaps = snapshots(t / "d");
    CHECK(snaps.size() >= 3);
    for (const auto& n : names_in(t / "d")) CHECK(n.find(".tmp") == std::string::npos);
    const Verification v = verify(t / "d");  // each snapshot's digest equals the replay's at its sequence
    CHECK(v.ok);
    auto store = Store::open(t / "d", o);
    CHECK(store->recovery().snapshot == snaps.back());
    CHECK(store->engine().digest() == replay_digest(s.plan, s.lines, s.lines.size()));
  }
}

TEST_CASE("store: snapshot + tail recovery equals a full replay, at every snapshot point") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  StoreOptions o = opts();
  o.keep_snapshots = 1;
  auto store = Store::create(dir, s.plan, o);
  Replayer ref(s.plan);
  for (std::size_t i = 0; i < s.lines.size(); ++i) {
    store->submit(s.lines[i]);
    ref.apply(s.lines[i]);
    if (i % 23 == 5) {
      store->snapshot();
      // Reopen from this snapshot plus a tail of 0..k records.
      store.reset();
      store = Store::open(dir, o);
      REQUIRE(store->recovery().snapshot_seq == i + 1);
      REQUIRE(store->recovery().replayed == 0);
      REQUIRE(store->engine().digest() == ref.digest());
    }
    if (i % 23 == 17) {
      store.reset();
      store = Store::open(dir, o);
      REQUIRE(store->recovery().replayed > 0);
      REQUIRE(store->engine().digest() == ref.digest());
      REQUIRE(store->engine().applied() == ref.engine().applied());
      REQUIRE(store->engine().rejected() == ref.engine().rejected());
    }
  }
}

TEST_CASE("store: a damaged newest snapshot is skipped with a note, and recovery still gives the right digest") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  StoreOptions o = opts();
  o.keep_snapshots = 2;
  std::string older, newest;
  {
    auto store = Store::create(dir, s.plan, o);
    feed(*store, s, 0, 60);
    older = store->snapshot();
    feed(*store, s, 60, 120);
    newest = store->snapshot();
    feed(*store, s, 120, 140);
  }
  const std::string want = replay_digest(s.plan, s.lines, 140);
  const std::string pristine = read_file(dir + "/" + newest);

  SUBCASE("one flipped byte in the middle") {
    std::string bad = pristine;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x10);
    write_file(dir + "/" + newest, bad);
    auto store = Store::open(dir, o);
    CHECK(store->recovery().snapshot == older);
    CHECK(store->recovery().replayed == 80);
    REQUIRE(store->recovery().notes.size() == 1);
    CHECK(has(store->recovery().notes[0], newest));
    CHECK(has(store->recovery().notes[0], "skipped"));
    CHECK(store->engine().digest() == want);
  }
  SUBCASE("truncated at every length") {
    for (std::size_t n = 0; n < pristine.size(); n += (n < 200 ? 1 : 97)) {
      write_file(dir + "/" + newest, pristine.substr(0, n));
      auto store = Store::open(dir, o);
      REQUIRE(store->recovery().snapshot == older);
      REQUIRE(store->engine().digest() == want);
    }
  }
  SUBCASE("both snapshots damaged: replay from the genesis") {
    write_file(dir + "/" + newest, "garbage");
    write_file(dir + "/" + older, "");
    auto store = Store::open(dir, o);
    CHECK(store->recovery().snapshot.empty());
    CHECK(store->recovery().notes.size() == 2);
    CHECK(store->recovery().replayed == 140);
    CHECK(store->engine().digest() == want);
  }
  SUBCASE("a valid snapshot under another sequence number's name is refused") {
    std::filesystem::rename(dir + "/" + newest, dir + "/snapshot-00000000000000000130.snap");
    auto store = Store::open(dir, o);
    CHECK(store->recovery().snapshot == older);
    CHECK(store->engine().digest() == want);
  }
  SUBCASE("a leftover .tmp from a crash mid-snapshot is ignored") {
    write_file(dir + "/snapshot-00000000000000000139.snap.tmp", pristine.substr(0, 100));
    auto store = Store::open(dir, o);
    CHECK(store->recovery().snapshot == newest);
    CHECK(store->engine().digest() == want);
  }
}

TEST_CASE("store: a flipped byte at every offset of a small snapshot: always refused, recovery falls back to the journal") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  std::string snap;
  {
    auto store = Store::create(dir, s.plan, opts());
    feed(*store, s, 0, 12);
    snap = store->snapshot();
    feed(*store, s, 12, 15);
  }
  const std::string want = replay_digest(s.plan, s.lines, 15);
  const std::string pristine = read_file(dir + "/" + snap);
  REQUIRE(pristine.size() < 8000);
  for (std::size_t i = 0; i < pristine.size(); ++i) {
    CAPTURE(i);
    std::string bad = pristine;
    bad[i] = static_cast<char>(bad[i] ^ 0x41);
    write_file(dir + "/" + snap, bad);
    auto store = Store::open(dir, opts());
    // CRC32C catches any single damaged byte: the snapshot is skipped, the journal has it all.
    REQUIRE(store->recovery().snapshot.empty());
    REQUIRE(store->recovery().notes.size() == 1);
    REQUIRE(store->recovery().replayed == 15);
    REQUIRE(store->engine().digest() == want);
  }
}

TEST_CASE("store: a snapshot ahead of the journal is never used, not even after the journal grows past it") {
  // With Durability::none (or a disk that loses its cache) the journal's tail can be lost while a
  // snapshot written after it survives. That snapshot belongs to a history that is gone.
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  {
    auto store = Store::create(dir, s.plan, opts());
    feed(*store, s, 0, 100);
    store->snapshot();  // snapshot-…100
  }
  // The journal loses records 61..100.
  const std::string image = read_file(dir + "/journal");
  const auto offs = record_offsets(image);
  std::filesystem::resize_file(dir + "/journal", offs[61]);
  {
    // Read-only walks pass the stale snapshot by: the state as of the journal's end is record 60's.
    std::uint64_t last = 0;
    CHECK(rebuild(dir, std::nullopt, &last).digest() == replay_digest(s.plan, s.lines, 60));
    CHECK(last == 60);
    CHECK(rebuild(dir, Until{Until::By::seq, 100}, &last).digest() == replay_digest(s.plan, s.lines, 60));
    CHECK(last == 60);
  }
  // A different history follows: records 61.. are other events (lines 200.. of the stream).
  Stream other;
  other.plan = s.plan;
  for (std::size_t i = 0; i < 60; ++i) other.lines.push_back(s.lines[i]);
  for (std::size_t i = 200; i < 260; ++i) other.lines.push_back(s.lines[i]);
  {
    auto store = Store::open(dir, opts());
    CHECK(store->last_seq() == 60);
    CHECK(store->recovery().snapshot.empty());
    CHECK(store->engine().digest() == replay_digest(s.plan, s.lines, 60));
    for (std::size_t i = 60; i < other.lines.size(); ++i) store->submit(other.lines[i]);
    store->commit();
    CHECK(store->last_seq() == 120);
  }
  const std::string want = replay_digest(other.plan, other.lines, other.lines.size());
  auto store = Store::open(dir, opts());
  CHECK(store->last_seq() == 120);
  CHECK_MESSAGE(store->engine().digest() == want, "recovered from " << store->recovery().snapshot);
  CHECK(rebuild(dir, std::nullopt).digest() == want);
  store.reset();
  const Verification v = verify(dir);
  CHECK_MESSAGE(v.ok, joined(v.lines));
}

TEST_CASE("store: a torn tail is truncated on open and reported, appends continue, the next open is clean") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  {
    auto store = Store::create(dir, s.plan, opts());
    feed(*store, s, 0, 50);
  }
  const std::string image = read_file(dir + "/journal");
  const auto offs = record_offsets(image);
  REQUIRE(offs.size() == 51);

  SUBCASE("cut in the middle of the last record") {
    const std::uint64_t cut = offs[50] + 7;
    std::filesystem::resize_file(dir + "/journal", cut);
    {
      auto store = Store::open(dir, opts());
      CHECK(store->recovery().torn_tail);
      CHECK(store->recovery().truncated_bytes == 7);
      REQUIRE(store->recovery().notes.size() == 1);
      CHECK(has(store->recovery().notes[0], "torn tail"));
      CHECK(has(store->recovery().notes[0], "journal"));
      CHECK(store->last_seq() == 49);
      CHECK(std::filesystem::file_size(dir + "/journal") == offs[50]);
      CHECK(store->engine().digest() == replay_digest(s.plan, s.lines, 49));
      feed(*store, s, 49, 80);
    }
    auto store = Store::open(dir, opts());
    CHECK(!store->recovery().torn_tail);
    CHECK(store->recovery().notes.empty());
    CHECK(store->last_seq() == 80);
    CHECK(store->engine().digest() == replay_digest(s.plan, s.lines, 80));
  }
  SUBCASE("every cut inside the last two records") {
    for (std::uint64_t cut = offs[49] + 1; cut < image.size(); ++cut) {
      CAPTURE(cut);
      write_file(dir + "/journal", image.substr(0, cut));
      const std::size_t whole = cut >= offs[50] ? 49 : 48;
      auto store = Store::open(dir, opts());
      REQUIRE(store->last_seq() == whole);
      REQUIRE(store->recovery().torn_tail == (cut != offs[50]));
      REQUIRE(store->engine().digest() == replay_digest(s.plan, s.lines, whole));
      REQUIRE(std::filesystem::file_size(dir + "/journal") == offs[whole + 1]);
    }
  }
  SUBCASE("a zero-filled tail") {
    write_file(dir + "/journal", image + std::string(4096, '\0'));
    {
      auto store = Store::open(dir, opts());
      CHECK(store->recovery().torn_tail);
      CHECK(store->recovery().truncated_bytes == 4096);
      CHECK(store->last_seq() == 50);
      feed(*store, s, 50, 60);
    }
    CHECK(Store::open(dir, opts())->engine().digest() == replay_digest(s.plan, s.lines, 60));
  }
}

TEST_CASE("store: corruption in the middle refuses to open, the error names the file, the offset and the sequence") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  {
    auto store = Store::create(dir, s.plan, opts());
    feed(*store, s, 0, 40);
  }
  const std::string image = read_file(dir + "/journal");
  const auto offs = record_offsets(image);
  std::string bad = image;
  const std::uint64_t at = offs[20] + record_header_size + 3;  // inside record 20's payload
  bad[at] = static_cast<char>(bad[at] ^ 1);
  write_file(dir + "/journal", bad);
  try {
    Store::open(dir, opts());
    FAIL("opened a corrupt journal");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::corrupt);
    const std::string what = e.what();
    CHECK(has(what, dir + "/journal"));
    CHECK(has(what, "offset " + std::to_string(offs[20])));
    CHECK(has(what, "sequence 19"));
  }
  // Refusing changed nothing.
  CHECK(read_file(dir + "/journal") == bad);
  CHECK_THROWS_AS(rebuild(dir, std::nullopt), StoreError);
  std::string out;
  CHECK_THROWS_AS(export_journal(dir, 1, std::nullopt, out), StoreError);
  // The lock was released: once repaired, it opens.
  write_file(dir + "/journal", image);
  CHECK(Store::open(dir, opts())->last_seq() == 40);
}

TEST_CASE("store: a flipped byte at every offset of a small journal: a clean prefix or a precise refusal, never a wrong state") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  constexpr std::size_t n = 10;
  {
    auto store = Store::create(dir, s.plan, opts());
    feed(*store, s, 0, n);
  }
  const std::string image = read_file(dir + "/journal");
  const auto offs = record_offsets(image);
  std::vector<std::string> digests;
  for (std::size_t k = 0; k <= n; ++k) digests.push_back(replay_digest(s.plan, s.lines, k));
  std::size_t refused = 0, recovered = 0;
  for (std::size_t i = 0; i < image.size(); ++i) {
    CAPTURE(i);
    std::string bad = image;
    bad[i] = static_cast<char>(bad[i] ^ 0x04);
    write_file(dir + "/journal", bad);
    try {
      auto store = Store::open(dir, opts());
      // Only damage in the last record may open, as a torn tail without that record.
      REQUIRE(i >= offs[n]);
      REQUIRE(store->recovery().torn_tail);
      REQUIRE(store->last_seq() == n - 1);
      REQUIRE(store->engine().digest() == digests[n - 1]);
      ++recovered;
    } catch (const StoreError& e) {
      REQUIRE(e.kind() == StoreError::Kind::corrupt);
      const std::string what = e.what();
      REQUIRE(has(what, "journal"));
      REQUIRE(has(what, "offset"));
      ++refused;
    }
  }
  CHECK(recovered > 0);
  CHECK(refused > 0);
}

TEST_CASE("store: rebuild until a sequence number equals an in-memory engine fed the same prefix") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  {
    StoreOptions o = opts();
    o.keep_snapshots = 10;
    auto store = Store::create(dir, s.plan, o);
    feed(*store, s, 0, 100);
    store->snapshot();
    feed(*store, s, 100, 200);
    store->snapshot();
    feed(*store, s, 200, s.lines.size());
  }
  const std::string journal = read_file(dir + "/journal");
  Replayer ref(s.plan);
  for (std::size_t k = 0; k <= s.lines.size(); ++k) {
    if (k > 0) ref.apply(s.lines[k - 1]);
    if (k % 17 != 0 && k != 99 && k != 100 && k != 101 && k != 200 && k != s.lines.size()) continue;
    CAPTURE(k);
    std::uint64_t last = 12345;
    const Engine e = rebuild(dir, Until{Until::By::seq, static_cast<std::int64_t>(k)}, &last);
    REQUIRE(last == k);
    REQUIRE(e.digest() == ref.digest());
  }
  std::uint64_t last = 0;
  CHECK(rebuild(dir, Until{Until::By::seq, 1'000'000}, &last).digest() == ref.digest());
  CHECK(last == s.lines.size());
  CHECK(rebuild(dir, std::nullopt, &last).digest() == ref.digest());
  // The directory was not touched.
  CHECK(read_file(dir + "/journal") == journal);
  CHECK(snapshots(dir).size() == 2);
}

TEST_CASE("store: rebuild until a time equals an in-memory engine fed the events applied by then, with or without snapshots") {
  // "Every event applied at or before that time": the accepted events whose applied time
  // max(clock, at) is <= T. Applied times only grow, so that is a prefix of the journal; a rejected
  // event applies nothing, whatever its `at` (the stream has rejected events dated a day ahead).
  const Stream& s = small();
  TempDir t;
  const std::string plain = t / "plain", snapped = t / "snapped";
  {
    auto a = Store::create(plain, s.plan, opts());
    feed(*a, s, 0, s.lines.size());
    StoreOptions o = opts();
    o.keep_snapshots = 100;
    o.snapshot_every = 25;
    auto b = Store::create(snapped, s.plan, o);
    feed(*b, s, 0, s.lines.size());
  }
  std::vector<Time> ats;
  for (const auto& l : s.lines) {
    const ParsedEvent p = parse_event(l);
    ats.push_back(std::holds_alternative<Event>(p) ? event_time(std::get<Event>(p)) : 0);
  }
  std::vector<Time> times = {0, 1, ats.front() - 1, ats.front(), ats.back(), ats.back() + 1, std::numeric_limits<Time>::max()};
  for (std::size_t i = 3; i < ats.size(); i += 11) {
    times.push_back(ats[i]);
    times.push_back(ats[i] - 1);
    times.push_back(ats[i] + Engine::day_ms);
  }
  for (const Time T : times) {
    CAPTURE(T);
    // The expected prefix: stop before the first accepted event applied after T.
    Replayer ref(s.plan);
    std::size_t k = 0;
    for (; k < s.lines.size(); ++k) {
      if (s.codes[k] == Code::ok && std::max(ref.engine().clock(), ats[k]) > T) break;
      ref.apply(s.lines[k]);
    }
    std::uint64_t last_plain = 0, last_snapped = 0;
    const std::string d_plain = rebuild(plain, Until{Until::By::time, T}, &last_plain).digest();
    const std::string d_snapped = rebuild(snapped, Until{Until::By::time, T}, &last_snapped).digest();
    CHECK(d_plain == d_snapped);
    CHECK(d_plain == ref.digest());
    CHECK(last_plain == k);
    CHECK(last_snapped == k);
  }
}

TEST_CASE("store: export_journal gives JSON Lines that parse_event reads and that replay to the same digest") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  {
    auto store = Store::create(dir, s.plan, opts());
    feed(*store, s, 0, s.lines.size());
    store->snapshot();  // snapshots do not change the export
  }
  std::string out;
  const std::uint64_t n = export_journal(dir, 1, std::nullopt, out);
  CHECK(n == s.lines.size());
  Replayer r(s.plan);
  std::size_t lines = 0, i = 0;
  for (std::size_t p = 0; p < out.size(); ++i) {
    const auto nl = out.find('\n', p);
    REQUIRE(nl != std::string::npos);
    const std::string line = out.substr(p, nl - p);
    REQUIRE(code_name(r.apply(line)) == code_name(s.codes[i]));
    // A typed event exports as the canonical JSON of the event that was submitted.
    const ParsedEvent orig = parse_event(s.lines[i]);
    if (std::holds_alternative<Event>(orig)) REQUIRE(line == event_json(std::get<Event>(orig)));
    else REQUIRE(line == s.lines[i]);
    ++lines;
    p = nl + 1;
  }
  CHECK(lines == n);
  CHECK(r.digest() == replay_digest(s.plan, s.lines, s.lines.size()));

  SUBCASE("from and until") {
    std::string part;
    CHECK(export_journal(dir, 10, 19, part) == 10);
    std::string firsts;
    CHECK(export_journal(dir, 0, 9, firsts) == 9);  // the genesis is never exported
    std::string none;
    CHECK(export_journal(dir, 50, 40, none) == 0);
    CHECK(none.empty());
    std::string all;
    export_journal(dir, 1, std::nullopt, all);
    CHECK(firsts + part == all.substr(0, firsts.size() + part.size()));
  }
}

TEST_CASE("store: verify is ok on a good directory and names each failure on a damaged one") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  std::string snap;
  {
    StoreOptions o = opts();
    auto store = Store::create(dir, s.plan, o);
    feed(*store, s, 0, 100);
    snap = store->snapshot();
    feed(*store, s, 100, 150);
  }
  Verification v = verify(dir);
  CHECK_MESSAGE(v.ok, joined(v.lines));
  CHECK(v.records == 151);
  CHECK(v.last_seq == 150);
  CHECK(v.digest == replay_digest(s.plan, s.lines, 150));
  CHECK(v.lines.size() == 3);
  for (const auto& l : v.lines) CHECK(l.rfind("ok: ", 0) == 0);

  SUBCASE("a damaged snapshot") {
    std::string bytes = read_file(dir + "/" + snap);
    bytes[bytes.size() / 3] = static_cast<char>(bytes[bytes.size() / 3] ^ 1);
    write_file(dir + "/" + snap, bytes);
    v = verify(dir);
    CHECK(!v.ok);
    bool named = false;
    for (const auto& l : v.lines) named = named || (l.rfind("FAIL: ", 0) == 0 && has(l, snap));
    CHECK_MESSAGE(named, joined(v.lines));
  }
  SUBCASE("a corrupt journal") {
    std::string bytes = read_file(dir + "/journal");
    const auto offs = record_offsets(bytes);
    bytes[offs[30] + 20] = static_cast<char>(bytes[offs[30] + 20] ^ 1);
    write_file(dir + "/journal", bytes);
    v = verify(dir);
    CHECK(!v.ok);
    CHECK(!v.lines.empty());
    CHECK_MESSAGE(has(joined(v.lines), "FAIL: "), joined(v.lines));
    CHECK(has(joined(v.lines), "offset " + std::to_string(offs[30])));
  }
  SUBCASE("a torn tail") {
    std::filesystem::resize_file(dir + "/journal", std::filesystem::file_size(dir + "/journal") - 3);
    v = verify(dir);
    CHECK(!v.ok);
    CHECK(has(joined(v.lines), "FAIL: "));
    CHECK(has(joined(v.lines), "torn tail"));
    CHECK(v.last_seq == 149);
  }
  SUBCASE("a snapshot that does not match the journal's history") {
    // A valid snapshot of another store, under the same name.
    TempDir t2;
    {
      auto other = Store::create(t2 / "o", s.plan, opts());
      for (std::size_t i = 0; i < 100; ++i) other->submit(s.lines[(i * 7) % s.lines.size()]);
      other->commit();
      REQUIRE(other->snapshot() == snap);
    }
    std::filesystem::copy_file(t2 / ("o/" + snap), dir + "/" + snap, std::filesystem::copy_options::overwrite_existing);
    v = verify(dir);
    CHECK(!v.ok);
    CHECK(has(joined(v.lines), "differs"));
  }
  SUBCASE("a missing journal: not a data directory, which is a usage error rather than a failed check") {
    std::filesystem::remove(dir + "/journal");
    try {
      verify(dir);
      FAIL("verify of a directory without a journal did not throw");
    } catch (const StoreError& e) {
      CHECK(e.kind() == StoreError::Kind::usage);
      CHECK(has(e.what(), "no journal here"));
    }
  }
  SUBCASE("verify changes nothing") {
    const std::string before = read_file(dir + "/journal");
    verify(dir);
    CHECK(read_file(dir + "/journal") == before);
    CHECK(names_in(dir) == std::vector<std::string>{"LOCK", "journal", snap});
  }
}

TEST_CASE("store: the directory lock refuses a second store on the same directory") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  auto first = Store::create(dir, s.plan, opts());
  feed(*first, s, 0, 5);
  try {
    Store::open(dir, opts());
    FAIL("a second store opened the directory");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::usage);
    CHECK(has(e.what(), "in use"));
  }
  CHECK_THROWS_AS(Store::create(dir, s.plan, opts()), StoreError);
  // Reading (rebuild, export, verify) does not need the lock.
  CHECK(rebuild(dir, std::nullopt).digest() == first->engine().digest());
  first.reset();
  CHECK(Store::open(dir, opts())->last_seq() == 5);
}

TEST_CASE("store: create and open refuse the wrong directory") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  try {
    Store::open(dir, opts());
    FAIL("opened a directory without a journal");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::usage);
  }
  try {
    Store::create(dir, "{\"name\":\"x\"}", opts());
    FAIL("created a store with an invalid plan");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::usage);
    CHECK(has(e.what(), "invalid_plan"));
  }
  { Store::create(dir, s.plan, opts()); }
  try {
    Store::create(dir, s.plan, opts());
    FAIL("created a store over an existing journal");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::usage);
  }
  // The failed create released its lock.
  CHECK(Store::open(dir, opts())->last_seq() == 0);
  // The genesis record holds the canonical plan.
  std::vector<std::string> texts;
  scan_journal(read_file(dir + "/journal"), [&](const JournalRecord& r, std::uint64_t) { texts.push_back(r.text); });
  REQUIRE(texts.size() == 1);
  CHECK(texts[0] == Replayer::parse_plan(s.plan).canonical_json());
}

TEST_CASE("store: every event the engine accepts or rejects is journaled in a form the store can read back") {
  // Amounts are kept as written, however long; keys longer than 64 bytes are rejected but
  // journaled all the same. Whatever submit() acknowledged, open() must read back.
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  const std::string long_amount = "1" + std::string(5000, '0');
  const std::string long_key(5000, 'k');
  std::vector<std::string> lines = {
      R"({"type":"join","member":1,"at":1})",
      R"({"type":"purchase","order":"o-1","member":1,"shop":"main","amount":")" + long_amount + R"(","at":2})",
      R"({"type":"redeem","member":1,"points":"0.)" + std::string(5000, '1') + R"(","ref":"r","at":3})",
      R"({"type":"adjust","member":1,"points":"5","actor":")" + std::string(10000, 'a') + R"(","reason":"r","at":4})",
  };
  {
    auto store = Store::create(dir, s.plan, opts(Durability::every));
    for (const auto& l : lines) store->submit(l);
    CHECK(store->submit(Event{Purchase{long_key, 1, "main", *Decimal::parse("1.00"), 5}}).code == Code::invalid_event);
    CHECK(store->submit(Event{Purchase{"o-2", 1, long_key, *Decimal::parse("1.00"), 6}}).code == Code::unknown_shop);
    CHECK(store->submit(Event{Redeem{1, *Decimal::parse("1.00"), long_key, 7}}).code == Code::invalid_event);
    CHECK(store->submit(Event{Refund{long_key, std::nullopt, 8}}).code == Code::invalid_event);
    // A plan the engine refuses (width 1 breaks SPEC §3) is journaled too.
    Plan bad = Replayer::parse_plan(s.plan);
    bad.tiers[0].width = 1;
    CHECK(store->submit(Event{PlanChange{std::make_shared<const Plan>(bad), "ops", 9}}).code == Code::invalid_plan);
  }
  Replayer ref(s.plan);
  for (const auto& l : lines) ref.apply(l);
  auto store = Store::open(dir, opts());
  CHECK(store->last_seq() == 9);
  CHECK(store->engine().digest() == ref.digest());
}

TEST_CASE("store: an event too long for one record is refused, or read back, never an unopenable journal") {
  // A record's payload is at most max_record_payload bytes; scan_journal calls a longer one
  // corruption. submit() must not journal what open() will refuse. (An adjustment's reason has no
  // length limit in the engine; raw text that never parsed — a long line — has none either.)
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  {
    auto store = Store::create(dir, s.plan, opts());
    REQUIRE(store->submit(R"({"type":"join","member":1,"at":1})").code == Code::ok);
    const std::string before = store->engine().digest();
    try {
      Event huge = Adjust{1, *Decimal::parse("1.00"), "ops", std::string(max_record_payload, 'x'), 2};
      store->submit(huge);
    } catch (const StoreError& e) {
      // Refused: then nothing was applied or journaled, and the store goes on.
      CHECK(e.kind() == StoreError::Kind::usage);
      CHECK(store->last_seq() == 1);
      CHECK(store->engine().digest() == before);
      CHECK(!store->failure());
    }
    CHECK(store->submit(R"({"type":"join","member":2,"sponsor":1,"at":3})").code == Code::ok);
  }
  std::unique_ptr<Store> store;
  CHECK_NOTHROW(store = Store::open(dir, opts()));
  if (store) CHECK(store->engine().member_count() == 2);
}

TEST_CASE("store: export keeps the parse outcome of raw text with line breaks in it") {
  // Store::submit takes any text; what never parsed is journaled as written. The export must be
  // one line per event and must replay to the same outcome: a line break between tokens is JSON
  // whitespace, but a raw line break inside a string is what made the text invalid.
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "d";
  const std::vector<std::string> raw = {
      "{\"type\":\"join\",\n\"member\":1,\"at\":1}",  // valid JSON: accepted, journaled typed
      "{\"type\":\"join\",\"member\":2,\"sponsor\":1,\"at\":2,\"x\":\"a\nb\"}",
      "{\"type\":\"adjust\",\"member\":1,\"points\":\"5.00\",\"actor\":\"a\rb\",\"reason\":\"r\",\"at\":3}",
      "{\"type\":\"adjust\",\"member\":1,\"points\":\"7.00\",\"actor\":\"a\",\"reason\":\"line one\nline two\",\"at\":4}",
      "{\"type\":\"suspend\",\r\n\"member\":1,\"at\":5,}",
      "not\njson",
  };
  Replayer live(s.plan);
  std::vector<Code> codes;
  {
    auto store = Store::create(dir, s.plan, opts());
    for (const auto& l : raw) {
      codes.push_back(live.apply(l));
      CHECK(code_name(store->submit(l).code) == code_name(codes.back()));
    }
  }
  CHECK(codes[0] == Code::ok);
  CHECK(codes[2] == Code::invalid_event);
  CHECK(codes[3] == Code::invalid_event);
  std::string out;
  CHECK(export_journal(dir, 1, std::nullopt, out) == raw.size());
  std::vector<std::string> lines;
  for (std::size_t p = 0; p < out.size();) {
    const auto nl = out.find('\n', p);
    lines.push_back(out.substr(p, nl - p));
    p = nl + 1;
  }
  REQUIRE(lines.size() == raw.size());
  Replayer again(s.plan);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CAPTURE(lines[i]);
    CHECK(lines[i].find('\r') == std::string::npos);
    CHECK(code_name(again.apply(lines[i])) == code_name(codes[i]));
  }
  CHECK(again.digest() == live.digest());
}

TEST_CASE("store: a snapshot of the smallest possible orders loads (1-byte ids, a shop that credits nobody)") {
  // 46 bytes per order in the state stream: the loader's bound on the order count must allow it.
  TempDir t;
  const std::string dir = t / "d";
  const std::string plan =
      R"({"name":"tiny","shops":{"s":{"ratio":"0"}},"tiers":[{"name":"bronze","width":2,"rates":["0.1"]}]})";
  std::vector<std::string> lines{R"({"type":"join","member":1,"sponsor":null,"at":0})"};
  for (char c = 'a'; c <= 't'; ++c)
    lines.push_back(std::string(R"({"type":"purchase","order":")") + c + R"(","member":1,"shop":"s","amount":"1","at":1})");
  {
    auto store = Store::create(dir, plan, opts());
    for (const auto& l : lines) CHECK(store->submit(l).code == Code::ok);
    store->commit();
    store->snapshot();
  }
  auto store = Store::open(dir, opts());
  CHECK(store->recovery().snapshot == snapshots(dir).back());
  CHECK(store->engine().digest() == replay_digest(plan, lines, lines.size()));
  CHECK(store->engine().member(1)->orders == 20);
  store.reset();
  const Verification v = verify(dir);
  CHECK_MESSAGE(v.ok, joined(v.lines));
}

TEST_CASE("store: a data directory of upline 0.1 (journal and snapshot format 1) opens, verifies and keeps its format") {
  const std::string fixture = std::string(UPLINE_TEST_GOLDEN_DIR) + "/../durability/data-0.1";  // tests/durability/data-0.1
  const std::string snap = "snapshot-00000000000000000019.snap";
  TempDir t;
  const std::string dir = t / "d", journal_only = t / "j";
  std::filesystem::create_directory(dir);
  std::filesystem::create_directory(journal_only);
  std::filesystem::copy_file(fixture + "/journal", dir + "/journal");
  std::filesystem::copy_file(fixture + "/" + snap, dir + "/" + snap);
  std::filesystem::copy_file(fixture + "/journal", journal_only + "/journal");
  REQUIRE(read_file(dir + "/journal").substr(0, 16) == std::string("UPLINE-JOURNAL\0\1", 16));

  std::string digest;
  std::uint64_t last = 0;
  {
    auto store = Store::open(dir, opts());
    CHECK(store->recovery().snapshot == snap);  // the format-1 snapshot is used, not skipped
    auto replayed = Store::open(journal_only, opts());
    CHECK(replayed->recovery().snapshot.empty());
    CHECK(store->engine().digest() == replayed->engine().digest());
    last = store->last_seq();
    CHECK(last >= 19);
    // Appending continues in the journal's own format.
    const Submitted r = store->submit(R"({"type":"join","member":900001,"sponsor":null,"at":0})");
    CHECK(r.seq == last + 1);
    store->commit();
    digest = store->engine().digest();
  }
  CHECK(read_file(dir + "/journal").substr(0, 16) == std::string("UPLINE-JOURNAL\0\1", 16));
  auto store = Store::open(dir, opts());
  CHECK(store->last_seq() == last + 1);
  CHECK(store->engine().digest() == digest);
  store.reset();
  const Verification v = verify(dir);
  CHECK_MESSAGE(v.ok, joined(v.lines));
  std::string exported;
  CHECK(export_journal(dir, 1, std::nullopt, exported) == last + 1);
}

TEST_CASE("store: a statement reads nothing past `through`, snapshots after it included, and gives up when cancelled") {
  const Stream& s = small();
  TempDir t;
  const std::string dir = t / "data";
  const std::size_t half = s.lines.size() / 2;
  {
    auto store = Store::create(dir, s.plan, opts());
    feed(*store, s, 0, half);
    feed(*store, s, half, s.lines.size());
    store->snapshot();  // after `through`: a statement bounded at `half` must not start from it
  }
  const Engine at_half = rebuild(dir, Until{Until::By::seq, static_cast<std::int64_t>(half)});
  const Engine at_end = rebuild(dir, std::nullopt);
  const MemberId m = at_half.member_ids().front();
  REQUIRE(at_half.member(m)->balance != at_end.member(m)->balance);  // the second half moves it
  // A period after every event: the whole history is in the opening balance — up to `through`.
  const Time later = at_end.clock() + 1;
  const Statement bounded = member_statement(dir, m, later, std::nullopt, nullptr, {}, half);
  CHECK(bounded.through_seq <= half);
  CHECK(bounded.opening == at_half.member(m)->balance.units);
  CHECK(bounded.lines.empty());
  const Statement whole = member_statement(dir, m, later, std::nullopt);
  CHECK(whole.through_seq == s.lines.size());
  CHECK(whole.opening == at_end.member(m)->balance.units);
  // From the beginning, bounded: the lines stop at `half`, and the closing is the balance there.
  const Statement first = member_statement(dir, m, std::nullopt, std::nullopt, nullptr, {}, half);
  CHECK(first.through_seq == half);
  CHECK(first.closing == at_half.member(m)->balance.units);
  for (const StatementLine& l : first.lines) CHECK(l.seq <= half);
  // Cancelled: a StoreError, whichever phase it is in.
  const std::atomic<bool> cancelled{true};
  CHECK_THROWS_AS(member_statement(dir, m, std::nullopt, std::nullopt, nullptr, {}, std::nullopt, &cancelled), StoreError);
  CHECK_THROWS_AS(member_statement(dir, m, later, std::nullopt, nullptr, {}, std::nullopt, &cancelled), StoreError);
}
