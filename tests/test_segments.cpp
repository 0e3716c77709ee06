// test_segments.cpp — a journal in segments (journal.hpp): a store with small segments rolls over
// and every walk (open, rebuild, export, verify) reads the segments as one journal; a crash at
// every segment boundary — before the next segment exists, with it half-made, with only its
// header, with its first record cut at every byte — recovers a prefix and continues; damage in a
// sealed segment, a segment that does not continue the one before and a missing segment refuse,
// naming the file.
#include "durability/support.hpp"

#include "upline/journal.hpp"
#include "upline/store.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <string>
#include <vector>

namespace {

using namespace upline;
using upline::testing::read_file;
using upline::testing::replay_digest;
using upline::testing::Stream;
using upline::testing::TempDir;
using upline::testing::write_file;
namespace fs = std::filesystem;

constexpr std::uint64_t small_segment = 2048;

StoreOptions seg_opts(std::uint64_t segment_bytes = small_segment, Durability d = Durability::none) {
  StoreOptions o;
  o.durability = d;
  o.segment_bytes = segment_bytes;
  return o;
}

const Stream& stream() {
  static const Stream s = upline::testing::make_stream(40, 250, 11);
  return s;
}

void feed(Store& store, const Stream& s, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to && i < s.lines.size(); ++i) {
    const Submitted r = store.submit(s.lines[i]);
    REQUIRE(r.seq == i + 1);
  }
  store.commit();
}

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::string joined_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& l : v) out += l + "\n";
  return out;
}

// The journal's segments in `dir`, in order.
std::vector<Segment> segments(const std::string& dir) { return journal_segments(posix_file_system(), dir); }

// The sequence numbers of the records in one segment file, with their offsets.
struct Rec {
  std::uint64_t seq, offset;
};
std::vector<Rec> records_of(const Segment& seg) {
  std::vector<Rec> out;
  scan_segments(posix_file_system(), {seg}, seg.first_seq,
                [&](const JournalRecord& r, const std::string&, std::uint64_t off) { out.push_back(Rec{r.seq, off}); });
  return out;
}

// A copy of `from` holding only the segments before index k, and no snapshot.
void copy_prefix(const std::string& from, const std::string& to, std::size_t k) {
  fs::remove_all(to);
  fs::create_directories(to);
  const auto segs = segments(from);
  for (std::size_t i = 0; i < k; ++i) fs::copy_file(segs[i].path, to + "/" + fs::path(segs[i].path).filename().string());
}

std::string full_store(const TempDir& t, const Stream& s) {
  const std::string dir = t / "full";
  auto store = Store::create(dir, s.plan, seg_opts());
  feed(*store, s, 0, s.lines.size());
  return dir;
}

}  // namespace

TEST_CASE("segments: a store with small segments rolls over, and every walk reads them as one journal") {
  const Stream& s = stream();
  TempDir t;
  const std::string dir = full_store(t, s);
  const std::string want = replay_digest(s.plan, s.lines, s.lines.size());
  const auto segs = segments(dir);
  REQUIRE(segs.size() >= 5);
  CHECK(segs[0].first_seq == 0);
  CHECK(fs::path(segs[0].path).filename() == "journal");
  std::uint64_t next = 0;
  for (const Segment& seg : segs) {
    CAPTURE(seg.path);
    CHECK(fs::path(seg.path).filename() == segment_name(seg.first_seq));
    const auto recs = records_of(seg);
    REQUIRE(!recs.empty());
    CHECK(recs.front().seq == next);
    CHECK(seg.first_seq == next);
    next = recs.back().seq + 1;
    // Sealed past the size at the first record boundary: no record starts past it.
    CHECK(recs.back().offset < small_segment);
    if (seg.first_seq > 0) CHECK(read_file(seg.path).substr(0, segment_magic.size()) == segment_magic);
  }
  CHECK(next == s.lines.size() + 1);

  // The same events in one segment: export is byte-equal, digests are equal.
  const std::string one = t / "one";
  {
    auto store = Store::create(one, s.plan, seg_opts(default_segment_bytes));
    feed(*store, s, 0, s.lines.size());
  }
  CHECK(segments(one).size() == 1);
  std::string a, b;
  CHECK(export_journal(dir, 1, std::nullopt, a) == s.lines.size());
  export_journal(one, 1, std::nullopt, b);
  CHECK(a == b);
  std::string part_a, part_b;
  CHECK(export_journal(dir, 100, 200, part_a) == 101);
  export_journal(one, 100, 200, part_b);
  CHECK(part_a == part_b);

  auto store = Store::open(dir, seg_opts());
  CHECK(store->engine().digest() == want);
  CHECK(store->last_seq() == s.lines.size());
  CHECK(store->recovery().replayed == s.lines.size());
  for (std::uint64_t k : {0u, 1u, 57u, 100u, 150u, 299u}) {
    std::uint64_t last = 0;
    CHECK(rebuild(dir, Until{Until::By::seq, static_cast<std::int64_t>(k)}, &last).digest() == replay_digest(s.plan, s.lines, k));
    CHECK(last == k);
  }
  const Verification v = verify(dir);
  CHECK(v.ok);
  CHECK(v.digest == want);
}

TEST_CASE("segments: recovery from a snapshot reads only the segments after it, and appends roll on") {
  const Stream& s = stream();
  TempDir t;
  const std::string dir = t / "d";
  {
    auto store = Store::create(dir, s.plan, seg_opts());
    feed(*store, s, 0, 200);
    store->snapshot();
    feed(*store, s, 200, 260);
  }
  const auto segs = segments(dir);
  // Every segment wholly before the snapshot can go: recovery does not read them.
  const std::string moved = t / "moved";
  fs::create_directories(moved);
  std::size_t gone = 0;
  for (std::size_t i = 0; i + 1 < segs.size() && segs[i + 1].first_seq <= 201; ++i, ++gone)
    fs::rename(segs[i].path, moved + "/" + fs::path(segs[i].path).filename().string());
  REQUIRE(gone >= 2);
  // …once the genesis record is kept (upline archive does this).
  CHECK_THROWS_AS(Store::open(dir, seg_opts()), StoreError);
  {
    std::string genesis = read_file(moved + "/journal");
    const auto recs = records_of(Segment{0, moved + "/journal"});
    write_file(dir + "/genesis", genesis.substr(0, recs[1].offset));
  }
  {
    auto store = Store::open(dir, seg_opts());
    CHECK(store->recovery().snapshot == "snapshot-00000000000000000200.snap");
    CHECK(store->recovery().replayed == 60);
    CHECK(store->engine().digest() == replay_digest(s.plan, s.lines, 260));
    PlanFaults faults;
    CHECK(store->genesis_plan() == Plan::parse(s.plan, faults)->canonical_json());
    feed(*store, s, 260, s.lines.size());
  }
  CHECK(Store::open(dir, seg_opts())->engine().digest() == replay_digest(s.plan, s.lines, s.lines.size()));
  // A walk before the snapshot needs the moved segments: it says so, and reads them when given.
  try {
    rebuild(dir, Until{Until::By::seq, 50});
    FAIL("rebuilt without the archived segments");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::usage);
    CHECK(has(e.what(), "--archive"));
  }
  CHECK(rebuild(dir, Until{Until::By::seq, 50}, nullptr, nullptr, moved).digest() == replay_digest(s.plan, s.lines, 50));
  std::string all;
  CHECK(export_journal(dir, 1, std::nullopt, all, nullptr, moved) == s.lines.size());
  CHECK(verify(dir, nullptr, moved).ok);
  const Verification partial = verify(dir);
  CHECK(!partial.ok);
  CHECK(has(joined_lines(partial.lines), "--archive"));
}

TEST_CASE("segments: a crash at every segment boundary recovers a prefix and continues") {
  const Stream& s = stream();
  TempDir t;
  const std::string full = full_store(t, s);
  const auto segs = segments(full);
  REQUIRE(segs.size() >= 5);
  const std::string dir = t / "crash";
  const std::string total = replay_digest(s.plan, s.lines, s.lines.size());
  for (std::size_t k = 1; k < segs.size(); ++k) {
    CAPTURE(k);
    const std::uint64_t sealed_last = segs[k].first_seq - 1;
    const std::string name = fs::path(segs[k].path).filename().string();
    const std::string image = read_file(segs[k].path);
    const auto recs = records_of(segs[k]);
    auto reopen_and_finish = [&](std::uint64_t expect_last) {
      {
        auto store = Store::open(dir, seg_opts());
        REQUIRE(store->last_seq() == expect_last);
        REQUIRE(store->engine().digest() == replay_digest(s.plan, s.lines, expect_last));
        feed(*store, s, expect_last, s.lines.size());
      }
      auto store = Store::open(dir, seg_opts());
      REQUIRE(!store->recovery().torn_tail);
      REQUIRE(store->engine().digest() == total);
      REQUIRE(fs::exists(dir + "/" + name));  // the roll happened again at the same record
    };
    // Before the next segment was made, while it was being made, and with only its header.
    copy_prefix(full, dir, k);
    reopen_and_finish(sealed_last);
    for (std::size_t cut : {std::size_t{0}, std::size_t{7}, segment_header_size - 1, segment_header_size}) {
      copy_prefix(full, dir, k);
      write_file(dir + "/" + name + ".tmp", image.substr(0, cut));
      reopen_and_finish(sealed_last);
      CHECK(!fs::exists(dir + "/" + name + ".tmp"));
    }
    copy_prefix(full, dir, k);
    write_file(dir + "/" + name, image.substr(0, segment_header_size));
    reopen_and_finish(sealed_last);
    // Its first records cut at every byte: a torn tail in the last segment.
    const std::uint64_t end = recs.size() > 2 ? recs[2].offset : image.size();
    for (std::uint64_t cut = segment_header_size + 1; cut < end; ++cut) {
      CAPTURE(cut);
      copy_prefix(full, dir, k);
      write_file(dir + "/" + name, image.substr(0, cut));
      std::uint64_t whole = sealed_last;
      for (std::size_t i = 0; i < recs.size(); ++i)
        if ((i + 1 < recs.size() ? recs[i + 1].offset : image.size()) <= cut) whole = recs[i].seq;
      auto store = Store::open(dir, seg_opts());
      REQUIRE(store->last_seq() == whole);
      REQUIRE(store->engine().digest() == replay_digest(s.plan, s.lines, whole));
    }
    // A sealed segment cut short while its successor exists is damage, not a tear.
    copy_prefix(full, dir, k + 1);
    const std::string before = fs::path(segs[k - 1].path).filename().string();
    const std::string sealed = read_file(dir + "/" + before);
    write_file(dir + "/" + before, sealed.substr(0, sealed.size() - 1));
    try {
      Store::open(dir, seg_opts());
      FAIL("opened with a sealed segment cut short");
    } catch (const StoreError& e) {
      CHECK(e.kind() == StoreError::Kind::corrupt);
      CHECK(has(e.what(), before));
    }
  }
}

TEST_CASE("segments: damage in a sealed segment, a segment out of place and a missing segment refuse, naming the file") {
  const Stream& s = stream();
  TempDir t;
  const std::string full = full_store(t, s);
  const auto segs = segments(full);
  const std::string dir = t / "d";
  auto restore = [&] { copy_prefix(full, dir, segs.size()); };
  auto refused = [&](StoreError::Kind kind, const std::string& needle) {
    try {
      Store::open(dir, seg_opts());
      FAIL("opened a damaged journal");
    } catch (const StoreError& e) {
      CHECK(e.kind() == kind);
      CHECK(has(e.what(), needle));
    }
    CHECK(!verify(dir).ok);
  };
  const std::string second = fs::path(segs[2].path).filename().string();
  SUBCASE("a flipped byte in a record of a sealed segment") {
    restore();
    std::string img = read_file(dir + "/" + second);
    const auto recs = records_of(segs[2]);
    img[recs[1].offset + record_header_size + 2] ^= 4;
    write_file(dir + "/" + second, img);
    refused(StoreError::Kind::corrupt, second + ": corrupt journal");
    refused(StoreError::Kind::corrupt, "offset " + std::to_string(recs[1].offset));
  }
  SUBCASE("a flipped byte in a segment header") {
    for (std::size_t at = 0; at < segment_header_size; ++at) {
      CAPTURE(at);
      restore();
      std::string img = read_file(dir + "/" + second);
      img[at] ^= 1;
      write_file(dir + "/" + second, img);
      refused(StoreError::Kind::corrupt, second);
    }
  }
  SUBCASE("a segment whose name disagrees with its header") {
    restore();
    const Segment misnamed{segs[2].first_seq + 1, segs[2].path};
    const JournalScan scan = scan_segments(posix_file_system(), {misnamed}, misnamed.first_seq);
    CHECK(scan.end == JournalScan::End::corrupt);
    CHECK(has(scan.problem, "its name says " + std::to_string(misnamed.first_seq)));
  }
  SUBCASE("a missing segment in the middle") {
    restore();
    fs::remove(dir + "/" + second);
    refused(StoreError::Kind::usage, "sequences " + std::to_string(segs[2].first_seq) + ".." + std::to_string(segs[3].first_seq - 1));
  }
  SUBCASE("a segment whose chain does not continue the one before") {
    restore();
    const std::string third = fs::path(segs[3].path).filename().string();
    const std::string img = read_file(dir + "/" + third);
    ByteReader r(std::string_view(img).substr(segment_magic.size() + 9, 4));
    write_file(dir + "/" + third, segment_header(journal_version, segs[3].first_seq, r.u32() ^ 1) + img.substr(segment_header_size));
    refused(StoreError::Kind::corrupt, "does not continue");
  }
}

TEST_CASE("archive: segments before the oldest snapshot move; export, dump and verify read the archive; a rerun moves nothing") {
  const Stream& s = stream();
  TempDir t;
  const std::string dir = t / "d", arch = t / "archive";
  StoreOptions o = seg_opts();
  o.keep_snapshots = 2;
  {
    auto store = Store::create(dir, s.plan, o);
    feed(*store, s, 0, 120);
    store->snapshot();
    feed(*store, s, 120, 200);
    store->snapshot();
    feed(*store, s, 200, s.lines.size());
  }
  const std::string want = replay_digest(s.plan, s.lines, s.lines.size());
  std::string whole;
  export_journal(dir, 1, std::nullopt, whole);
  const auto before = segments(dir);

  // Nothing to archive without a snapshot.
  {
    const std::string bare = t / "bare";
    auto store = Store::create(bare, s.plan, seg_opts());
    feed(*store, s, 0, 100);
    store.reset();
    const Archived none = archive_journal(bare, t / "a2");
    CHECK(none.oldest_snapshot.empty());
    CHECK(none.moved.empty());
    CHECK(segments(bare).size() > 1);
  }

  const Archived a = archive_journal(dir, arch);
  CHECK(a.oldest_snapshot == "snapshot-00000000000000000120.snap");
  REQUIRE(!a.moved.empty());
  CHECK(a.moved.front() == "journal");
  const auto after = segments(dir);
  CHECK(after.size() + a.moved.size() == before.size());
  CHECK(after.front().first_seq <= 121);
  CHECK(a.through_seq == after.front().first_seq - 1);
  for (const auto& n : a.moved) {
    CHECK(fs::exists(arch + "/" + n));
    CHECK(!fs::exists(dir + "/" + n));
  }
  CHECK(fs::exists(dir + "/genesis"));
  CHECK(archive_journal(dir, arch).moved.empty());  // a second run has nothing left to move

  // The store opens and goes on; the walks read the archive when given it, and say what is missing when not.
  {
    auto store = Store::open(dir, o);
    CHECK(store->engine().digest() == want);
  }
  std::string with;
  CHECK(export_journal(dir, 1, std::nullopt, with, nullptr, arch) == s.lines.size());
  CHECK(with == whole);
  std::string tail;
  CHECK(export_journal(dir, a.through_seq + 1, std::nullopt, tail) == s.lines.size() - a.through_seq);
  std::string nope;
  try {
    export_journal(dir, 1, std::nullopt, nope);
    FAIL("exported archived sequences");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::usage);
    CHECK(has(e.what(), "sequences 1.." + std::to_string(a.through_seq)));
    CHECK(has(e.what(), "--archive"));
  }
  CHECK(rebuild(dir, Until{Until::By::seq, 30}, nullptr, nullptr, arch).digest() == replay_digest(s.plan, s.lines, 30));
  CHECK(rebuild(dir, Until{Until::By::seq, 150}).digest() == replay_digest(s.plan, s.lines, 150));  // from the snapshot at 120
  CHECK_THROWS_AS(rebuild(dir, Until{Until::By::seq, 30}), StoreError);
  const Verification v = verify(dir, nullptr, arch);
  CHECK(v.ok);
  CHECK(v.digest == want);
  CHECK(!verify(dir).ok);
  CHECK_THROWS_AS(verify(dir, nullptr, t / "no-such-archive"), StoreError);
}

TEST_CASE("archive: a run cut short after the copy finishes the move; a different file already in the archive is not replaced") {
  const Stream& s = stream();
  TempDir t;
  const std::string dir = t / "d", arch = t / "archive";
  {
    auto store = Store::create(dir, s.plan, seg_opts());
    feed(*store, s, 0, 200);
    store->snapshot();
    feed(*store, s, 200, 250);
  }
  const auto segs = segments(dir);
  fs::create_directories(arch);
  // The first segment copied, the process killed before it was removed from DIR.
  fs::copy_file(segs[0].path, arch + "/journal");
  // The second one in the archive with other bytes.
  write_file(arch + "/" + segment_name(segs[1].first_seq), "not the same");
  try {
    archive_journal(dir, arch);
    FAIL("replaced a different file in the archive");
  } catch (const StoreError& e) {
    CHECK(has(e.what(), "different contents"));
  }
  CHECK(!fs::exists(segs[0].path));        // the first one's move was finished
  CHECK(fs::exists(dir + "/genesis"));
  CHECK(fs::exists(segs[1].path));         // the second one stays
  fs::remove(arch + "/" + segment_name(segs[1].first_seq));
  const Archived a = archive_journal(dir, arch);
  CHECK(!a.moved.empty());
  CHECK(verify(dir, nullptr, arch).ok);
}

TEST_CASE("backup: taken while a writer appends and rolls segments, the copy verifies and has the source's digest at its sequence") {
  const Stream& s = upline::testing::make_stream(120, 2500, 5);
  TempDir t;
  const std::string dir = t / "d";
  StoreOptions o = seg_opts(4096, Durability::group);
  o.snapshot_bytes = 16384;
  // The writer pauses every 250 events until a backup has started, then goes on while it runs.
  constexpr std::size_t chunk = 250;
  std::atomic<std::size_t> written{0}, started{0};
  std::thread writer([&] {
    auto store = Store::create(dir, s.plan, o);
    for (std::size_t i = 0; i < s.lines.size(); ++i) {
      store->submit(s.lines[i]);
      if (i % 8 == 7) store->commit();
      if ((i + 1) % chunk == 0) {
        store->commit();
        written = i + 1;
        while (started < (i + 1) / chunk) std::this_thread::yield();
      }
    }
    store->commit();
  });
  std::vector<BackupResult> made;
  const std::size_t backups = s.lines.size() / chunk;
  for (std::size_t k = 0; k < backups; ++k) {
    while (written < (k + 1) * chunk) std::this_thread::yield();
    started = k + 1;
    const std::string dest = t / ("backup-" + std::to_string(k));
    made.push_back(backup(dir, dest));
    const BackupResult& b = made.back();
    CAPTURE(b.seq);
    CHECK(b.seq >= (k + 1) * chunk);
    CHECK(b.digest == replay_digest(s.plan, s.lines, b.seq));
    const Verification v = verify(dest);
    CHECK(v.ok);
    CHECK(v.last_seq == b.seq);
  }
  writer.join();
  CHECK(made.size() == backups);
  // A backup refuses a directory that is not empty, and changes nothing there.
  CHECK_THROWS_AS(backup(dir, t / "backup-0"), StoreError);
  CHECK(verify(t / "backup-0").ok);
}
