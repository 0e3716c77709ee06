// store.cpp — the durable engine: journal appends, snapshots, recovery, time travel, verify.
#include "upline/store.hpp"

#include "upline/json.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <map>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace upline {

namespace {

constexpr std::string_view snapshot_magic{"UPLINE-SNAPSHOT\0", 16};
constexpr std::uint32_t snapshot_version = 1;

[[noreturn]] void io_fail(const std::string& what, const std::string& path) {
  throw StoreError(StoreError::Kind::io, path + ": " + what + ": " + std::strerror(errno));
}

class PosixFileSystem final : public FileSystem {
 public:
  bool exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }
  std::string read(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) io_fail("cannot open", path);
    std::string out;
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ::close(fd);
        io_fail("read error", path);
      }
      if (n == 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
  }
  std::vector<std::string> list(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (!d) io_fail("cannot list", dir);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(std::move(n));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }
  void make_dir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0777) != 0 && errno != EEXIST) io_fail("cannot create directory", path);
  }
  int open_append(const std::string& path, bool create) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0), 0666);
    if (fd < 0) io_fail("cannot open for appending", path);
    return fd;
  }
  int create(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) io_fail("cannot create", path);
    return fd;
  }
  void write(int fd, std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) io_fail("write error", "fd " + std::to_string(fd));
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void sync(int fd) override {
    if (::fsync(fd) != 0) io_fail("fsync error", "fd " + std::to_string(fd));
  }
  void close(int fd) override { ::close(fd); }
  void truncate(const std::string& path, std::uint64_t size) override {
    if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) io_fail("cannot truncate", path);
  }
  void rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) io_fail("cannot rename to " + to, from);
  }
  void sync_dir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) io_fail("cannot open directory", dir);
    if (::fsync(fd) != 0) {
      ::close(fd);
      io_fail("fsync error", dir);
    }
    ::close(fd);
  }
  void remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) io_fail("cannot remove", path);
  }
  int lock(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) io_fail("cannot open lock file", path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      throw StoreError(StoreError::Kind::usage, path + ": the data directory is in use by another process");
    }
    return fd;
  }
};

std::string journal_path(const std::string& dir) { return dir + "/journal"; }

std::string snapshot_name(std::uint64_t seq) {
  std::string digits = std::to_string(seq);
  return "snapshot-" + std::string(20 - digits.size(), '0') + digits + ".snap";
}

// Snapshot file names, newest first, with their sequence numbers.
std::vector<std::pair<std::uint64_t, std::string>> snapshots_in(FileSystem& fs, const std::string& dir) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  for (const std::string& n : fs.list(dir)) {
    if (n.size() != 34 || n.compare(0, 9, "snapshot-") != 0 || n.compare(29, 5, ".snap") != 0) continue;
    const std::string digits = n.substr(9, 20);
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    out.emplace_back(std::stoull(digits), n);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return out;
}

std::string encode_snapshot(const Engine& engine, std::uint64_t seq) {
  std::string out;
  ByteWriter w(out);
  w.raw(snapshot_magic);
  w.u32(snapshot_version);
  w.u32(0);
  w.u64(seq);
  w.str(engine.digest());
  const std::string state = engine.save_state();
  w.u64(state.size());
  w.raw(state);
  w.u32(Crc32c::compute(out));
  return out;
}

// Decodes and checks a snapshot image: magic, version, CRC, state, digest. Throws FormatError.
Engine decode_snapshot(std::string_view image, std::uint64_t& seq) {
  if (image.size() < snapshot_magic.size() + 4) throw FormatError("a snapshot shorter than its header");
  const std::uint32_t stored_crc = ByteReader(image.substr(image.size() - 4)).u32();
  if (Crc32c::compute(image.substr(0, image.size() - 4)) != stored_crc) throw FormatError("a snapshot that fails its checksum");
  ByteReader r(image.substr(0, image.size() - 4));
  if (r.take(snapshot_magic.size()) != snapshot_magic) r.fail("the snapshot magic");
  if (r.u32() != snapshot_version) r.fail("snapshot version 1");
  r.u32();
  seq = r.u64();
  const std::string digest = r.str(64);
  const std::uint64_t n = r.u64();
  if (n != r.left()) r.fail(std::to_string(r.left()) + " bytes of state");
  Engine e = Engine::load_state(r.take(n));
  if (e.digest() != digest) throw FormatError("a state whose digest matches the snapshot's (" + digest + ")");
  return e;
}

// Applies one journal record to an engine; returns the code it gives now.
Code apply_record(Engine& engine, const JournalRecord& rec, std::vector<Effect>& fx) {
  if (rec.event) {
    Rejection why;
    return engine.apply(*rec.event, fx, &why) ? Code::ok : why.code;
  }
  Rejection why;
  return apply_parsed(engine, parse_event(rec.text), fx, &why) ? Code::ok : why.code;
}

Engine genesis_engine(const JournalRecord& genesis, const std::string& path) {
  PlanFaults faults;
  auto plan = Plan::parse(genesis.text, faults);
  if (!plan) throw StoreError(StoreError::Kind::corrupt, path + ": the genesis record's plan is invalid: " + faults.message());
  return Engine(std::move(*plan));
}

[[noreturn]] void corrupt(const std::string& path, const std::string& problem) {
  throw StoreError(StoreError::Kind::corrupt, path + ": corrupt journal: " + problem);
}

// Replays a journal image into an engine (from the genesis or on top of a snapshot), checking
// that each record still gives the status it was journaled with. Stops after `stop(rec)` says so.
struct Replayed {
  JournalScan scan;
  std::uint64_t applied_to = 0;  // last sequence applied
  std::uint64_t replayed = 0;
};

template <class Stop>
Replayed replay(const std::string& path, std::string_view image, std::optional<Engine>& engine, std::uint64_t after, Stop stop) {
  Replayed out;
  std::vector<Effect> fx;
  bool stopped = false;
  out.scan = scan_journal(image, [&](const JournalRecord& rec, std::uint64_t offset) {
    if (stopped) return;
    if (rec.kind == RecordKind::genesis) {
      if (!engine) engine.emplace(genesis_engine(rec, path));
      return;
    }
    if (rec.seq <= after) return;
    if (stop(rec, *engine)) {
      stopped = true;
      return;
    }
    const Code got = apply_record(*engine, rec, fx);
    if (got != rec.status)
      corrupt(path, "record " + std::to_string(rec.seq) + " at offset " + std::to_string(offset) + " was journaled as " +
                        std::string(code_name(rec.status)) + " but replays as " + std::string(code_name(got)));
    out.applied_to = rec.seq;
    ++out.replayed;
  });
  if (out.scan.end == JournalScan::End::corrupt) corrupt(path, out.scan.problem);
  if (out.scan.records == 0) corrupt(path, "no genesis record (" + out.scan.problem + ")");
  return out;
}

}  // namespace

FileSystem& posix_file_system() {
  static PosixFileSystem fs;
  return fs;
}

std::optional<Durability> parse_durability(std::string_view s) noexcept {
  if (s == "every") return Durability::every;
  if (s == "group") return Durability::group;
  if (s == "none") return Durability::none;
  return std::nullopt;
}

Store::Store(std::string dir, StoreOptions options, Engine engine)
    : dir_(std::move(dir)), options_(options), fs_(options.fs ? *options.fs : posix_file_system()), engine_(std::move(engine)) {
  if (options_.keep_snapshots < 1) options_.keep_snapshots = 1;
}

Store::~Store() {
  if (journal_fd_ >= 0) {
    if (!failure_) {
      try {
        flush(options_.durability != Durability::none);
      } catch (...) {  // destructors do not throw; what was not durable was not acknowledged
      }
    }
    fs_.close(journal_fd_);
  }
  if (lock_fd_ >= 0) fs_.close(lock_fd_);
}

std::unique_ptr<Store> Store::create(const std::string& dir, std::string_view plan_json, StoreOptions options) {
  FileSystem& fs = options.fs ? *options.fs : posix_file_system();
  PlanFaults faults;
  auto plan = Plan::parse(plan_json, faults);
  if (!plan) throw StoreError(StoreError::Kind::usage, "invalid_plan: " + faults.message());
  fs.make_dir(dir);
  const int lock = fs.lock(dir + "/LOCK");
  const std::string path = journal_path(dir);
  if (fs.exists(path)) {
    fs.close(lock);
    throw StoreError(StoreError::Kind::usage, dir + ": already holds a journal (open it instead of creating it)");
  }
  std::string image(journal_magic);
  std::string payload;
  encode_record_payload(payload, 0, Code::ok, nullptr, plan->canonical_json(), RecordKind::genesis);
  const std::uint32_t chain = frame_record(image, payload, 0);
  // Written under a temporary name and renamed, so that a crash never leaves a half-made journal.
  const int fd = fs.create(path + ".tmp");
  try {
    fs.write(fd, image);
    fs.sync(fd);
  } catch (...) {
    fs.close(fd);
    fs.close(lock);
    throw;
  }
  fs.close(fd);
  fs.rename(path + ".tmp", path);
  fs.sync_dir(dir);
  std::unique_ptr<Store> s(new Store(dir, options, Engine(std::move(*plan))));
  s->lock_fd_ = lock;
  s->chain_ = chain;
  s->journal_fd_ = fs.open_append(path, false);
  return s;
}

std::unique_ptr<Store> Store::open(const std::string& dir, StoreOptions options) {
  FileSystem& fs = options.fs ? *options.fs : posix_file_system();
  const std::string path = journal_path(dir);
  if (!fs.exists(path)) throw StoreError(StoreError::Kind::usage, dir + ": no journal here (create the store with a plan first)");
  const int lock = fs.lock(dir + "/LOCK");
  Recovery rec;
  std::optional<Engine> engine;
  try {
    const std::string image = fs.read(path);
    // The newest snapshot that passes every check; a bad one is skipped (the journal has all).
    const JournalScan probe = scan_journal(image);
    if (probe.end == JournalScan::End::corrupt) corrupt(path, probe.problem);
    for (const auto& [seq, name] : snapshots_in(fs, dir)) {
      if (seq > probe.last_seq) {
        // It belongs to a history the journal no longer has; once the journal grows past it, it
        // would be taken for this one's. Removed.
        fs.remove(dir + "/" + name);
        rec.notes.push_back(name + " removed: it is ahead of the journal (last sequence " + std::to_string(probe.last_seq) + ")");
        continue;
      }
      try {
        std::uint64_t stored = 0;
        Engine e = decode_snapshot(fs.read(dir + "/" + name), stored);
        if (stored != seq) throw FormatError("sequence " + std::to_string(seq) + " inside, as its name says");
        engine.emplace(std::move(e));
        rec.snapshot = name;
        rec.snapshot_seq = seq;
        break;
      } catch (const FormatError& e) {
        rec.notes.push_back(name + " skipped: " + e.what());
      }
    }
    Replayed r = replay(path, image, engine, rec.snapshot_seq, [](const JournalRecord&, const Engine&) { return false; });
    rec.replayed = r.replayed;
    if (r.scan.end == JournalScan::End::torn_tail) {
      rec.torn_tail = true;
      rec.truncated_bytes = image.size() - r.scan.valid_bytes;
      rec.notes.push_back(path + ": torn tail truncated: " + std::to_string(rec.truncated_bytes) + " bytes, " + r.scan.problem);
      fs.truncate(path, r.scan.valid_bytes);
      const int fd = fs.open_append(path, false);
      fs.sync(fd);
      fs.close(fd);
    }
    std::unique_ptr<Store> s(new Store(dir, options, std::move(*engine)));
    s->lock_fd_ = lock;
    s->recovery_ = std::move(rec);
    s->chain_ = r.scan.chain;
    s->last_seq_ = s->written_seq_ = s->durable_seq_ = r.scan.last_seq;
    s->journal_fd_ = fs.open_append(path, false);
    return s;
  } catch (...) {
    fs.close(lock);
    throw;
  }
}

void Store::check_usable() const {
  if (failure_) throw StoreError(StoreError::Kind::io, "the store stopped after an I/O failure (" + *failure_ + "); reopen it to recover");
}

Submitted Store::submit(std::string_view event_json) {
  check_usable();
  ParsedEvent parsed = parse_event(event_json);
  if (auto* r = std::get_if<Rejection>(&parsed)) {
    if (event_json.size() > max_record_payload - 14)  // seq, status, kind, length
      throw StoreError(StoreError::Kind::usage, "a text of " + std::to_string(event_json.size()) + " bytes does not fit one journal record");
    engine_.count_rejection();
    Submitted out;
    out.code = r->code;
    out.message = std::move(r->message);
    return append(last_seq_ + 1, out.code, nullptr, event_json, std::move(out));
  }
  return submit(std::get<Event>(parsed));
}

Submitted Store::submit(const Event& event) {
  check_usable();
  {
    std::string probe;
    encode_record_payload(probe, 0, Code::ok, &event, {});
    if (probe.size() > max_record_payload)
      throw StoreError(StoreError::Kind::usage, "an event of " + std::to_string(probe.size()) + " bytes does not fit one journal record");
  }
  Submitted out;
  Rejection why;
  if (!engine_.apply(event, out.effects, &why)) {
    out.code = why.code;
    out.message = std::move(why.message);
  }
  const auto* change = std::get_if<PlanChange>(&event);
  if (change && !change->plan)  // nothing to journal but the fault itself: replays as the same rejection
    return append(last_seq_ + 1, out.code, nullptr, R"({"type":"plan"})", std::move(out));
  if (change && out.code == Code::invalid_plan)  // a plan record must hold a valid plan: keep it as text
    return append(last_seq_ + 1, out.code, nullptr, event_json(event), std::move(out));
  return append(last_seq_ + 1, out.code, &event, {}, std::move(out));
}

Submitted Store::append(std::uint64_t seq, Code code, const Event* event, std::string_view raw, Submitted result) {
  std::string payload;
  encode_record_payload(payload, seq, code, event, raw);
  chain_ = frame_record(pending_, payload, chain_);
  last_seq_ = seq;
  result.seq = seq;
  if (options_.durability == Durability::every) flush(true);
  if (options_.snapshot_every > 0 && ++since_snapshot_ >= options_.snapshot_every) {
    // The event is journaled whatever happens to the snapshot; only a journal failure (which
    // stops the store) propagates. A failed snapshot is noted and retried after the next period.
    try {
      snapshot();
    } catch (const StoreError& e) {
      if (failure_) throw;
      recovery_.notes.push_back(std::string("automatic snapshot failed: ") + e.what());
    }
  }
  return result;
}

void Store::flush(bool fsync) {
  if (!pending_.empty()) {
    try {
      fs_.write(journal_fd_, pending_);
    } catch (const StoreError& e) {
      failure_ = e.what();
      throw;
    }
    pending_.clear();
    written_seq_ = last_seq_;
  }
  if (fsync && durable_seq_ < written_seq_) {
    try {
      fs_.sync(journal_fd_);
    } catch (const StoreError& e) {
      failure_ = e.what();
      throw;
    }
  }
  durable_seq_ = written_seq_;
}

void Store::commit() {
  check_usable();
  flush(options_.durability != Durability::none);
}

std::string Store::snapshot() {
  commit();
  since_snapshot_ = 0;
  const std::string name = snapshot_name(last_seq_);
  const std::string path = dir_ + "/" + name;
  const std::string image = encode_snapshot(engine_, last_seq_);
  // A snapshot failure does not stop the store: the journal still has everything.
  const int fd = fs_.create(path + ".tmp");
  try {
    fs_.write(fd, image);
    fs_.sync(fd);
  } catch (...) {
    fs_.close(fd);
    fs_.remove(path + ".tmp");
    throw;
  }
  fs_.close(fd);
  fs_.rename(path + ".tmp", path);
  fs_.sync_dir(dir_);
  auto all = snapshots_in(fs_, dir_);
  for (std::size_t i = options_.keep_snapshots; i < all.size(); ++i) fs_.remove(dir_ + "/" + all[i].second);
  return name;
}

std::optional<Until> parse_until(std::string_view s) noexcept {
  auto digits = [](std::string_view d) { return !d.empty() && d.size() <= 18 && d.find_first_not_of("0123456789") == std::string_view::npos; };
  if (digits(s)) return Until{Until::By::seq, std::stoll(std::string(s))};
  if (s.size() > 1 && s[0] == '@' && digits(s.substr(1))) return Until{Until::By::time, std::stoll(std::string(s.substr(1)))};
  // YYYY-MM-DDTHH:MM:SS[.mmm]Z
  if (s.size() != 20 && s.size() != 24) return std::nullopt;
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s.back() != 'Z') return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) -> long long {
    std::string_view d = s.substr(at, n);
    return digits(d) ? std::stoll(std::string(d)) : -1;
  };
  long long y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), sec = num(17, 2), ms = 0;
  if (s.size() == 24) {
    if (s[19] != '.') return std::nullopt;
    ms = num(20, 3);
  }
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || ms < 0) return std::nullopt;
  static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > month_days[mo - 1] + (mo == 2 && leap)) return std::nullopt;
  // Days from the civil date (Howard Hinnant's algorithm), exact, no time zone.
  y -= mo <= 2;
  const long long era = y / 400, yoe = y - era * 400;
  const long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const long long days = era * 146097 + doe - 719468;
  return Until{Until::By::time, ((days * 24 + h) * 60 + mi) * 60'000 + sec * 1000 + ms};
}

Engine rebuild(const std::string& dir, std::optional<Until> until, std::uint64_t* last_seq, FileSystem* fsp) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  const std::string path = journal_path(dir);
  const std::string image = fs.read(path);
  std::optional<Engine> engine;
  std::uint64_t after = 0;
  for (const auto& [seq, name] : snapshots_in(fs, dir)) {
    if (until && until->by == Until::By::seq && seq > static_cast<std::uint64_t>(until->value)) continue;
    try {
      std::uint64_t stored = 0;
      Engine e = decode_snapshot(fs.read(dir + "/" + name), stored);
      if (stored != seq) continue;
      if (until && until->by == Until::By::time && e.clock() > until->value) continue;
      engine.emplace(std::move(e));
      after = seq;
      break;
    } catch (const FormatError&) {
      continue;  // a damaged snapshot is not needed: the journal has everything
    }
  }
  Replayed r = replay(path, image, engine, after, [&](const JournalRecord& rec, const Engine& e) {
    if (!until) return false;
    if (until->by == Until::By::seq) return rec.seq > static_cast<std::uint64_t>(until->value);
    // By time: stop at the first event that would be applied after it (applied times only grow).
    return rec.status == Code::ok && rec.event && std::max(e.clock(), rec.at()) > until->value;
  });
  if (last_seq) *last_seq = std::max(after, r.applied_to);
  return std::move(*engine);
}

std::uint64_t export_journal(const std::string& dir, std::uint64_t from, std::optional<std::uint64_t> until, std::string& out, FileSystem* fsp) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  const std::string path = journal_path(dir);
  std::uint64_t n = 0;
  const JournalScan scan = scan_journal(fs.read(path), [&](const JournalRecord& rec, std::uint64_t) {
    if (rec.kind == RecordKind::genesis || rec.seq < from || (until && rec.seq > *until)) return;
    if (rec.event) {
      out += event_json(*rec.event);
    } else {
      // Text that never parsed; a line break is JSON whitespace, so a space keeps it one line
      // with the same parse outcome.
      std::string line = rec.text;
      bool in_string = false, escaped = false;
      for (char& c : line) {
        if (in_string) {
          if (escaped) escaped = false;
          else if (c == '\\') escaped = true;
          else if (c == '"') in_string = false;
          if (c == '\n' || c == '\r') c = '\x01';  // a raw control character in a string: still not JSON
        } else if (c == '"') {
          in_string = true;
        } else if (c == '\n' || c == '\r') {
          c = ' ';  // whitespace between tokens
        }
      }
      out += line;
    }
    out += '\n';
    ++n;
  });
  if (scan.end == JournalScan::End::corrupt) corrupt(path, scan.problem);
  return n;
}

Verification verify(const std::string& dir, FileSystem* fsp) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  Verification v;
  const std::string path = journal_path(dir);
  auto fail = [&](const std::string& line) {
    v.ok = false;
    v.lines.push_back("FAIL: " + line);
  };
  std::string image;
  try {
    image = fs.read(path);
  } catch (const StoreError& e) {
    fail(e.what());
    return v;
  }
  // 1. Every record, and a replay from scratch that remembers the digest at each snapshot point.
  auto snaps = snapshots_in(fs, dir);
  std::map<std::uint64_t, std::string> digest_at;
  std::optional<Engine> engine;
  try {
    std::size_t next = snaps.size();  // snapshots are newest first; walk them oldest first
    auto note_digests = [&](std::uint64_t seq, const Engine& e) {
      while (next > 0 && snaps[next - 1].first <= seq) {
        if (snaps[next - 1].first == seq) digest_at[seq] = e.digest();
        --next;
      }
    };
    Replayed r = replay(path, image, engine, 0, [&](const JournalRecord& rec, const Engine& e) {
      note_digests(rec.seq - 1, e);
      return false;
    });
    note_digests(r.applied_to, *engine);
    v.records = r.scan.records;
    v.last_seq = r.scan.last_seq;
    v.digest = engine->digest();
    v.lines.push_back("ok: journal: " + std::to_string(r.scan.records) + " records (genesis and sequences 1.." + std::to_string(r.scan.last_seq) +
                      "), every checksum and link of the chain holds, every record replays to the status it was journaled with");
    if (r.scan.end == JournalScan::End::torn_tail) fail(path + ": torn tail (" + r.scan.problem + "); opening the store will truncate it");
  } catch (const StoreError& e) {
    fail(e.what());
    return v;
  }
  // 2. Every snapshot: its checks, and its digest against the replay's at the same point.
  for (const auto& [seq, name] : snaps) {
    try {
      std::uint64_t stored = 0;
      Engine e = decode_snapshot(fs.read(dir + "/" + name), stored);
      auto it = digest_at.find(seq);
      if (stored != seq) fail(name + ": holds sequence " + std::to_string(stored));
      else if (it == digest_at.end()) fail(name + ": sequence " + std::to_string(seq) + " is beyond the journal");
      else if (it->second != e.digest()) fail(name + ": digest " + e.digest() + " differs from the replay's " + it->second);
      else v.lines.push_back("ok: " + name + ": checksum, state and digest " + e.digest().substr(0, 16) + "… agree with the replay");
    } catch (const std::exception& e) {
      fail(name + ": " + e.what());
    }
  }
  // 3. Recovery the way open() does it (newest snapshot + tail) ends at the same digest.
  try {
    Engine recovered = rebuild(dir, std::nullopt, nullptr, &fs);
    if (recovered.digest() != v.digest) fail("recovery from the newest snapshot gives digest " + recovered.digest() + ", a full replay " + v.digest);
    else v.lines.push_back("ok: recovery from the newest snapshot and a full replay agree: digest " + v.digest);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  return v;
}

}  // namespace upline
