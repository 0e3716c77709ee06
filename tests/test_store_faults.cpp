// test_store_faults.cpp — injected I/O faults through the FileSystem seam (store.hpp).
//
// A FileSystem that wraps the real one fails the Nth write, the Nth fsync, writes half of the Nth
// write and then fails, or runs out of space after K bytes. For every such failure point in a
// stream of ~210 events, with Durability::every and ::group (and snapshots in between):
//   - the store stops: failure() is set and every later submit/commit/snapshot throws StoreError;
//   - what was durable stays: reopening with the real file system recovers at least every event
//     whose seq <= durable_seq() at the moment of failure, and nothing that was never submitted;
//   - the recovered state is exactly an in-memory replay of the recovered prefix, and applying the
//     rest of the stream ends at the digest of an uninterrupted run.
// A failed snapshot does not stop the store (the journal has everything); it leaves no .tmp file.
// The wrapper does not pass fsync on to the disk: these are process-level faults, and the tests
// stay fast.
#include "durability/support.hpp"

#include "upline/journal.hpp"
#include "upline/store.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace upline;
using upline::testing::read_file;
using upline::testing::Replayer;
using upline::testing::Stream;
using upline::testing::TempDir;

class FaultFS final : public FileSystem {
 public:
  enum class Fault { none, write, partial_write, sync, space, create_snapshot, truncate };

  Fault fault = Fault::none;
  bool armed = false;
  std::uint64_t nth = 0;     // write / partial_write / sync: the 1-based call that fails
  std::uint64_t budget = 0;  // space: bytes that fit (the disk stays full afterwards)
  // Counters, since arming.
  std::uint64_t writes = 0, syncs = 0, bytes = 0;
  bool fired = false;

  bool exists(const std::string& p) override { return real_.exists(p); }
  std::string read(const std::string& p) override { return real_.read(p); }
  int open_read(const std::string& p) override { return real_.open_read(p); }
  std::size_t read_at(int fd, std::uint64_t o, char* b, std::size_t n) override { return real_.read_at(fd, o, b, n); }
  std::uint64_t file_size(int fd) override { return real_.file_size(fd); }
  std::vector<std::string> list(const std::string& d) override { return real_.list(d); }
  void make_dir(const std::string& p) override { real_.make_dir(p); }
  int open_append(const std::string& p, bool c) override { return real_.open_append(p, c); }
  int create(const std::string& p) override {
    if (armed && fault == Fault::create_snapshot && p.find(".snap") != std::string::npos) fail(ENOSPC, "create " + p);
    return real_.create(p);
  }
  void write(int fd, std::string_view data) override {
    if (!armed) return real_.write(fd, data);
    ++writes;
    if (fault == Fault::write && writes == nth) fail(EIO, "write");
    if (fault == Fault::partial_write && writes == nth) {
      real_.write(fd, data.substr(0, data.size() / 2));
      fail(EIO, "write (half of it written)");
    }
    if (fault == Fault::space && bytes + data.size() > budget) {
      const std::uint64_t fits = budget > bytes ? budget - bytes : 0;
      real_.write(fd, data.substr(0, fits));
      bytes += fits;
      fail(ENOSPC, "write");
    }
    real_.write(fd, data);
    bytes += data.size();
  }
  void sync(int) override { counted_sync("fsync"); }
  void close(int fd) override { real_.close(fd); }
  void truncate(const std::string& p, std::uint64_t size) override {
    if (armed && fault == Fault::truncate) fail(EIO, "truncate " + p);
    real_.truncate(p, size);
  }
  void rename(const std::string& from, const std::string& to) override { real_.rename(from, to); }
  void sync_dir(const std::string& d) override { counted_sync("fsync of " + d); }
  void remove(const std::string& p) override { real_.remove(p); }
  int lock(const std::string& p) override { return real_.lock(p); }

 private:
  void counted_sync(const std::string& what) {
    if (!armed) return;
    ++syncs;
    if (fault == Fault::sync && syncs == nth) fail(EIO, what);
  }
  [[noreturn]] void fail(int err, const std::string& what) {
    fired = true;
    throw StoreError(StoreError::Kind::io, "injected fault: " + what + ": " + std::strerror(err));
  }
  FileSystem& real_ = posix_file_system();
};

// ~210 events with rejections of every sort.
const Stream& stream() {
  static const Stream s = upline::testing::make_stream(20, 170, 99);
  return s;
}

// Digests after each prefix: digests()[k] is the state after the first k events.
const std::vector<std::string>& digests() {
  static const std::vector<std::string> d = [] {
    std::vector<std::string> v;
    Replayer r(stream().plan);
    v.push_back(r.digest());
    for (const auto& l : stream().lines) {
      r.apply(l);
      v.push_back(r.digest());
    }
    return v;
  }();
  return d;
}

constexpr std::size_t group_size = 16;    // commit() every this many events in group mode

// The store's journal segments and automatic snapshots in a run: one segment and no automatic
// snapshots, or small segments (a roll-over every ~15 records: the roll-over's writes, fsyncs and
// rename are failure points too) and background snapshots every ~40 records.
struct Layout {
  std::uint64_t segment_bytes = default_segment_bytes;
  std::uint64_t snapshot_bytes = 0;
};
Layout layout;
constexpr std::size_t snapshot_every = 60;  // an explicit snapshot() every this many events

struct Run {
  bool stopped = false;        // the store stopped (a journal write or fsync failed)
  std::uint64_t acked = 0;     // the largest durable_seq() seen before the failure
  std::uint64_t durable = 0;   // durable_seq() after the failure
  std::uint64_t attempted = 0; // events handed to submit()
  std::size_t snapshot_failures = 0;
};

// Feeds the whole stream through a store on `fs` (armed after create), the way a host would:
// submit, commit per group, a snapshot now and then; stops at the first failure of the store.
Run drive(const std::string& dir, FaultFS& fs, Durability d, std::unique_ptr<Store>& store) {
  const Stream& s = stream();
  StoreOptions o;
  o.durability = d;
  o.keep_snapshots = 2;
  o.fs = &fs;
  o.segment_bytes = layout.segment_bytes;
  o.snapshot_bytes = layout.snapshot_bytes;
  store = Store::create(dir, s.plan, o);
  fs.armed = true;
  Run run;
  try {
    for (std::size_t i = 0; i < s.lines.size(); ++i) {
      run.attempted = i + 1;
      const Submitted r = store->submit(s.lines[i]);
      REQUIRE(r.seq == i + 1);
      REQUIRE(code_name(r.code) == code_name(s.codes[i]));
      if (d == Durability::group && (i + 1) % group_size == 0) store->commit();
      run.acked = store->durable_seq();
      if ((i + 1) % snapshot_every == 0) {
        try {
          store->snapshot();
        } catch (const StoreError&) {
          if (store->failure()) throw;  // its commit() failed: the store stopped
          ++run.snapshot_failures;      // the snapshot alone failed: the store goes on
        }
        run.acked = store->durable_seq();
      }
    }
    store->commit();
    run.acked = store->durable_seq();
  } catch (const StoreError&) {
    run.stopped = true;
  }
  run.durable = store->durable_seq();
  return run;
}

std::string name(FaultFS::Fault f) {
  switch (f) {
    case FaultFS::Fault::write: return "write";
    case FaultFS::Fault::partial_write: return "partial write";
    case FaultFS::Fault::sync: return "fsync";
    case FaultFS::Fault::space: return "no space";
    default: return "other";
  }
}

bool no_tmp_files(const std::string& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp") != std::string::npos) return false;
  return true;
}

// One failure point: drive, check the stop, reopen with the real file system, check the recovered
// prefix, finish the stream and check the final digest.
void one_failure_point(Durability d, FaultFS::Fault fault, std::uint64_t nth, std::uint64_t budget, std::size_t& stops) {
  const Stream& s = stream();
  CAPTURE(name(fault));
  CAPTURE(nth);
  CAPTURE(budget);
  CAPTURE(d == Durability::every ? "every" : "group");
  TempDir t("upline-fault");
  const std::string dir = t / "d";
  FaultFS fs;
  fs.fault = fault;
  fs.nth = nth;
  fs.budget = budget;
  std::unique_ptr<Store> store;
  const Run run = drive(dir, fs, d, store);
  REQUIRE(fs.fired);
  if (layout.snapshot_bytes == 0) CHECK(no_tmp_files(dir));  // (a background child may still be writing)
  if (!run.stopped) {
    // Only a snapshot failed (an explicit one, or a background one, which is noted): the store
    // went on, and everything is there.
    REQUIRE((run.snapshot_failures > 0 || !store->recovery().notes.empty()));
    REQUIRE(!store->failure());
    REQUIRE(store->last_seq() == s.lines.size());
    REQUIRE(store->durable_seq() == s.lines.size());
    store.reset();
    CHECK(no_tmp_files(dir));
    auto reopened = Store::open(dir);
    REQUIRE(reopened->engine().digest() == digests().back());
    return;
  }
  ++stops;
  // The store stopped and says so; nothing more is accepted.
  REQUIRE(store->failure());
  CHECK(store->failure()->find("injected fault") != std::string::npos);
  REQUIRE(run.durable >= run.acked);
  REQUIRE(run.durable <= run.attempted);
  const std::uint64_t last_before = store->last_seq();
  CHECK_THROWS_AS(store->submit(s.lines[0]), StoreError);
  CHECK_THROWS_AS(store->submit(Event{Suspend{1, 0}}), StoreError);
  CHECK_THROWS_AS(store->commit(), StoreError);
  CHECK_THROWS_AS(store->snapshot(), StoreError);
  CHECK(store->last_seq() == last_before);
  CHECK(store->durable_seq() == run.durable);
  // Closing a stopped store writes nothing more to the journal, and leaves no half-made file.
  auto journal_bytes = [&] {
    std::uint64_t n = 0;
    for (const Segment& seg : journal_segments(posix_file_system(), dir)) n += std::filesystem::file_size(seg.path);
    return n;
  };
  const auto size = journal_bytes();
  store.reset();
  CHECK(journal_bytes() == size);
  CHECK(no_tmp_files(dir));

  // Reopen with the real file system: every acknowledged event is there, the state is the replay
  // of exactly the recovered prefix.
  std::uint64_t last = 0;
  {
    auto reopened = Store::open(dir, StoreOptions{Durability::none});
    last = reopened->last_seq();
    REQUIRE(last >= run.durable);
    REQUIRE(last <= run.attempted);
    REQUIRE(reopened->engine().digest() == digests()[last]);
    if (fault == FaultFS::Fault::partial_write || fault == FaultFS::Fault::space) {
      // A cut record is a torn tail, truncated (or the cut fell on a record boundary).
      if (reopened->recovery().torn_tail) CHECK(!reopened->recovery().notes.empty());
    } else {
      CHECK(!reopened->recovery().torn_tail);
    }
    // The rest of the stream ends where an uninterrupted run ends.
    for (std::size_t i = last; i < s.lines.size(); ++i) {
      const Submitted r = reopened->submit(s.lines[i]);
      REQUIRE(r.seq == i + 1);
      REQUIRE(code_name(r.code) == code_name(s.codes[i]));
    }
    reopened->commit();
    REQUIRE(reopened->engine().digest() == digests().back());
  }
  auto again = Store::open(dir, StoreOptions{Durability::none});
  CHECK(!again->recovery().torn_tail);
  CHECK(again->last_seq() == s.lines.size());
  CHECK(again->engine().digest() == digests().back());
}

// How many writes, fsyncs and bytes an uninterrupted run makes.
FaultFS count(Durability d) {
  TempDir t("upline-fault");
  FaultFS fs;
  std::unique_ptr<Store> store;
  const Run run = drive(t / "d", fs, d, store);
  REQUIRE(!run.stopped);
  REQUIRE(store->engine().digest() == digests().back());
  store.reset();
  return fs;
}

void every_failure_point(Durability d, FaultFS::Fault fault) {
  const FaultFS clean = count(d);
  REQUIRE(clean.writes > 0);
  REQUIRE(clean.syncs > 0);
  std::size_t stops = 0, points = 0;
  if (fault == FaultFS::Fault::space) {
    // Budgets spread over the whole run, on and off record boundaries.
    const std::uint64_t step = std::max<std::uint64_t>(1, clean.bytes / 97);
    for (std::uint64_t b = 0; b < clean.bytes; b += step, ++points) one_failure_point(d, fault, 0, b, stops);
    one_failure_point(d, fault, 0, clean.bytes - 1, stops);
    ++points;
  } else {
    const std::uint64_t n = fault == FaultFS::Fault::sync ? clean.syncs : clean.writes;
    for (std::uint64_t k = 1; k <= n; ++k, ++points) one_failure_point(d, fault, k, 0, stops);
  }
  MESSAGE(name(fault) << ", " << (d == Durability::every ? "every" : "group") << ": " << points << " failure points, " << stops
                      << " stopped the store (" << clean.writes << " writes, " << clean.syncs << " fsyncs, " << clean.bytes << " bytes)");
  CHECK(stops > 0);
}

}  // namespace

TEST_CASE("store/faults: the Nth write fails (Durability::every)") { every_failure_point(Durability::every, FaultFS::Fault::write); }
TEST_CASE("store/faults: the Nth write fails (Durability::group)") { every_failure_point(Durability::group, FaultFS::Fault::write); }
TEST_CASE("store/faults: the Nth fsync fails (Durability::every)") { every_failure_point(Durability::every, FaultFS::Fault::sync); }
TEST_CASE("store/faults: the Nth fsync fails (Durability::group)") { every_failure_point(Durability::group, FaultFS::Fault::sync); }
TEST_CASE("store/faults: half of the Nth write reaches the file (Durability::every)") {
  every_failure_point(Durability::every, FaultFS::Fault::partial_write);
}
TEST_CASE("store/faults: half of the Nth write reaches the file (Durability::group)") {
  every_failure_point(Durability::group, FaultFS::Fault::partial_write);
}
TEST_CASE("store/faults: the disk fills up after K bytes (Durability::every)") { every_failure_point(Durability::every, FaultFS::Fault::space); }
TEST_CASE("store/faults: the disk fills up after K bytes (Durability::group)") { every_failure_point(Durability::group, FaultFS::Fault::space); }

TEST_CASE("store/faults: every failure point with small segments and background snapshots") {
  layout = Layout{1024, 3000};
  for (const Durability d : {Durability::every, Durability::group})
    for (const FaultFS::Fault f : {FaultFS::Fault::write, FaultFS::Fault::sync, FaultFS::Fault::partial_write, FaultFS::Fault::space})
      every_failure_point(d, f);
  layout = Layout{};
}

TEST_CASE("store/faults: a failed create leaves no journal and releases the lock") {
  const Stream& s = stream();
  TempDir t("upline-fault");
  const std::string dir = t / "d";
  for (FaultFS::Fault f : {FaultFS::Fault::write, FaultFS::Fault::partial_write, FaultFS::Fault::sync}) {
    FaultFS fs;
    fs.fault = f;
    fs.nth = 1;
    fs.armed = true;
    StoreOptions o;
    o.fs = &fs;
    CHECK_THROWS_AS(Store::create(dir, s.plan, o), StoreError);
    CHECK(fs.fired);
    CHECK(!std::filesystem::exists(dir + "/journal"));
    CHECK_THROWS_AS(Store::open(dir), StoreError);  // usage: no journal
  }
  auto store = Store::create(dir, s.plan);
  CHECK(store->submit(s.lines[0]).seq == 1);
}

TEST_CASE("store/faults: a failed truncation of a torn tail refuses to open and loses nothing") {
  const Stream& s = stream();
  TempDir t("upline-fault");
  const std::string dir = t / "d";
  {
    auto store = Store::create(dir, s.plan, StoreOptions{Durability::none});
    for (std::size_t i = 0; i < 30; ++i) store->submit(s.lines[i]);
  }
  std::filesystem::resize_file(dir + "/journal", std::filesystem::file_size(dir + "/journal") - 5);
  FaultFS fs;
  fs.fault = FaultFS::Fault::truncate;
  fs.armed = true;
  StoreOptions o;
  o.fs = &fs;
  CHECK_THROWS_AS(Store::open(dir, o), StoreError);
  auto store = Store::open(dir);
  CHECK(store->recovery().torn_tail);
  CHECK(store->last_seq() == 29);
  CHECK(store->engine().digest() == digests()[29]);
}

TEST_CASE("store/faults: a snapshot that fails on its own does not fail a submit whose event is durable") {
  // With snapshot_every, submit() writes the snapshot itself. The event is journaled and durable by
  // then; if the snapshot's failure escaped from submit(), the host would take the event for not
  // applied and retry it — an adjustment would be paid twice.
  const Stream& s = stream();
  TempDir t("upline-fault");
  const std::string dir = t / "d";
  FaultFS fs;
  fs.fault = FaultFS::Fault::create_snapshot;
  StoreOptions o;
  o.durability = Durability::every;
  o.snapshot_every = 3;
  o.fs = &fs;
  auto store = Store::create(dir, s.plan, o);
  fs.armed = true;
  REQUIRE(store->submit(R"({"type":"join","member":1,"at":1})").code == Code::ok);
  REQUIRE(store->submit(R"({"type":"join","member":2,"sponsor":1,"at":2})").code == Code::ok);
  const std::string adjust = R"({"type":"adjust","member":2,"points":"100.00","actor":"ops","reason":"goodwill","at":3})";
  const std::string before = store->engine().digest();
  const std::uint64_t seq_before = store->last_seq();
  bool threw = false;
  try {
    const Submitted r = store->submit(adjust);  // the 3rd event: a snapshot is due, and fails
    CHECK(r.seq == 3);
    CHECK(r.code == Code::ok);
  } catch (const StoreError& e) {
    threw = true;
    // If it must throw, it must leave no trace: nothing applied, nothing journaled.
    CHECK_MESSAGE(store->last_seq() == seq_before, "submit threw (" << e.what() << ") after journaling seq " << store->last_seq());
    CHECK(store->engine().digest() == before);
  }
  CHECK(fs.fired);
  CHECK(!store->failure());
  CHECK(no_tmp_files(dir));
  // The store goes on; a host that saw an exception retries the adjustment.
  if (threw) store->submit(adjust);
  store.reset();
  auto reopened = Store::open(dir);
  CHECK(reopened->engine().member(2)->balance.units == 10000);
}
