// store.cpp — the durable engine: create, recover, submit, commit, snapshot (store.hpp).
#include "upline/store.hpp"

#include "replay.hpp"
#include "upline/snapshot.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <limits>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace upline {

using detail::corrupt;
using detail::journal_path;

std::optional<Durability> parse_durability(std::string_view s) noexcept {
  if (s == "every") return Durability::every;
  if (s == "group") return Durability::group;
  if (s == "none") return Durability::none;
  return std::nullopt;
}

namespace {

std::uint64_t file_size_of(FileSystem& fs, const std::string& path) {
  const int fd = fs.open_read(path);
  std::uint64_t n = 0;
  try {
    n = fs.file_size(fd);
  } catch (...) {
    fs.close(fd);
    throw;
  }
  fs.close(fd);
  return n;
}

// A segment header cut short or all zero bytes: what a crash leaves of a roll-over not fsynced.
bool torn_segment_header(FileSystem& fs, const Segment& seg) {
  const int fd = fs.open_read(seg.path);
  std::string head(segment_header_size, '\0');
  std::size_t got = 0;
  try {
    got = fs.read_at(fd, 0, head.data(), head.size());
  } catch (...) {
    fs.close(fd);
    throw;
  }
  fs.close(fd);
  head.resize(got);
  return got < segment_header_size || head.find_first_not_of('\0') == std::string::npos;
}

}  // namespace

std::string Store::digest() const {
  if (!digest_.empty() && digest_seq_ == last_seq_) return digest_;
  return engine_.digest();
}

bool holds_store(const std::string& dir, FileSystem* fsp) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  return fs.exists(dir) && (!journal_segments(fs, dir).empty() || fs.exists(detail::genesis_path(dir)));
}

Store::Store(std::string dir, StoreOptions options, Engine engine, std::uint8_t version)
    : dir_(std::move(dir)),
      options_(options),
      fs_(options.fs ? *options.fs : posix_file_system()),
      engine_(std::move(engine)),
      journal_version_(version) {
  if (options_.keep_snapshots < 1) options_.keep_snapshots = 1;
}

Store::~Store() {
  try {
    finish_snapshot();
  } catch (...) {  // destructors do not throw; the journal has everything
  }
  for (int fd : retired_fds_) fs_.close(fd);
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
  if (holds_store(dir, &fs)) {
    fs.close(lock);
    throw StoreError(StoreError::Kind::usage, dir + ": already holds a journal (open it instead of creating it)");
  }
  std::string image(journal_magic);
  std::string payload;
  encode_record_payload(payload, 0, Code::ok, nullptr, plan->canonical_json(), RecordKind::genesis);
  const std::uint32_t chain = frame_record(image, payload, 0);
  std::unique_ptr<Store> s(new Store(dir, options, Engine(std::move(*plan)), journal_version));
  s->lock_fd_ = lock;  // from here the store owns the lock: its destructor releases it on any failure
  // Written under a temporary name and renamed, so that a crash never leaves a half-made journal.
  const int fd = fs.create(path + ".tmp");
  try {
    fs.write(fd, image);
    fs.sync(fd);
  } catch (...) {
    fs.close(fd);
    throw;
  }
  fs.close(fd);
  fs.rename(path + ".tmp", path);
  fs.sync_dir(dir);
  s->genesis_plan_ = s->engine_.plan().canonical_json();
  s->chain_ = chain;
  s->segment_used_ = image.size();
  s->journal_fd_ = s->sync_fd_ = fs.open_append(path, false);
  return s;
}

std::unique_ptr<Store> Store::open(const std::string& dir, StoreOptions options) {
  FileSystem& fs = options.fs ? *options.fs : posix_file_system();
  detail::segments_of(fs, dir);  // throws: no journal here
  int lock = fs.lock(dir + "/LOCK");
  Recovery rec;
  std::optional<Engine> engine;
  try {
    // A segment a crash left half-made (journal.hpp: made under a temporary name) is removed.
    // So is a snapshot a crash (or a failed background writer) left under its temporary name.
    for (const std::string& n : fs.list(dir))
      if (n.size() > 12 && (n.compare(0, 8, "journal-") == 0 || n.compare(0, 9, "snapshot-") == 0) && n.compare(n.size() - 4, 4, ".tmp") == 0)
        fs.remove(dir + "/" + n);
    std::vector<Segment> segs = detail::segments_of(fs, dir);
    if (segs.size() > 1 && torn_segment_header(fs, segs.back())) {
      // A later segment whose header a crash cut short: possible only with Durability::none, which
      // does not fsync a roll-over. It holds no record; removed, the segment before is the last.
      rec.notes.push_back(segs.back().path + ": torn segment removed: its header is cut short or zero-filled");
      fs.remove(segs.back().path);
      fs.sync_dir(dir);
      segs.pop_back();
    }
    if (segs.empty())
      throw StoreError(StoreError::Kind::usage, dir + ": only the genesis record is here; every journal segment is gone (archived?)");
    // Where the journal ends, from its last segment alone (the full check is the replay below).
    const JournalScan probe = scan_segments(fs, {segs.back()}, std::numeric_limits<std::uint64_t>::max());
    if (probe.end == JournalScan::End::corrupt) corrupt(probe.path, probe.problem);
    // The newest snapshot that passes every check; a bad one is skipped (the journal has all).
    std::string snapshot_digest;
    for (const auto& [seq, name] : snapshots_in(fs, dir)) {
      if (seq > probe.last_seq) {
        // It belongs to a history the journal no longer has; once the journal grows past it, it
        // would be taken for this one's. Removed.
        fs.remove(dir + "/" + name);
        rec.notes.push_back(name + " removed: it is ahead of the journal (last sequence " + std::to_string(probe.last_seq) + ")");
        continue;
      }
      if (seq + 1 < segs.front().first_seq) {
        rec.notes.push_back(name + " skipped: the journal segments after it have been archived");
        continue;
      }
      try {
        std::uint64_t stored = 0;
        State st = read_snapshot(fs, dir + "/" + name, stored, DigestCheck::verify, &snapshot_digest);
        if (stored != seq) throw FormatError("sequence " + std::to_string(seq) + " inside, as its name says");
        engine.emplace(std::move(st));
        rec.snapshot = name;
        rec.snapshot_seq = seq;
        break;
      } catch (const FormatError& e) {
        rec.notes.push_back(name + " skipped: " + e.what());
      }
    }
    detail::Replayed r = detail::replay(fs, dir, {}, engine, rec.snapshot_seq, [](const JournalRecord&, const Engine&) { return false; },
                                        detail::Gap::recovering);
    rec.replayed = r.replayed;
    std::uint64_t active_size = r.scan.valid_bytes;
    const std::string active = r.scan.path;
    if (r.scan.end == JournalScan::End::torn_tail) {
      rec.torn_tail = true;
      rec.truncated_bytes = file_size_of(fs, r.scan.path) - r.scan.valid_bytes;
      rec.notes.push_back(r.scan.path + ": torn tail truncated: " + std::to_string(rec.truncated_bytes) + " bytes, " + r.scan.problem);
      fs.truncate(r.scan.path, r.scan.valid_bytes);
      const int fd = fs.open_append(r.scan.path, false);
      try {
        fs.sync(fd);
      } catch (...) {
        fs.close(fd);
        throw;
      }
      fs.close(fd);
    }
    std::unique_ptr<Store> s(new Store(dir, options, std::move(*engine), r.scan.version));
    s->lock_fd_ = lock;
    lock = -1;  // the store owns it now: its destructor releases it
    s->recovery_ = std::move(rec);
    s->genesis_plan_ = std::move(r.genesis);
    s->chain_ = r.scan.chain;
    s->last_seq_ = s->written_seq_ = s->durable_seq_ = r.scan.last_seq;
    s->segment_used_ = active_size;
    if (s->recovery_.replayed == 0 && !snapshot_digest.empty()) {
      s->digest_ = std::move(snapshot_digest);  // checked by the load: not computed again
      s->digest_seq_ = s->last_seq_;
    }
    s->journal_fd_ = s->sync_fd_ = fs.open_append(active, false);
    return s;
  } catch (...) {
    if (lock >= 0) fs.close(lock);
    throw;
  }
}

void Store::check_usable() const {
  if (failure_) throw StoreError(StoreError::Kind::io, "the store stopped after an I/O failure (" + *failure_ + "); reopen it to recover");
}

Submitted Store::submit(std::string_view event_json) {
  check_usable();
  return submit(reader_.read(event_json), event_json);
}

Submitted Store::submit(const Event& event) {
  check_usable();
  return submit(Input(event), {});
}

Submitted Store::submit(const Rejection& fault) {
  check_usable();
  return submit(Input(fault), {});
}

Submitted Store::submit(const Input& in, std::string_view text) {
  const Event* event = in.event();
  const auto* change = event ? std::get_if<PlanChange>(event) : nullptr;
  // What the record will hold: the event itself, or — when there is no event to record, or no
  // plan to record in a plan event — the text as submitted; failing that, the fault.
  const bool as_event = event && (!change || change->plan);
  std::string synthesized;
  std::string_view record_text = text;
  RecordKind text_kind = RecordKind::raw;
  if (as_event) {
    std::string probe;
    encode_record_payload(probe, 0, Code::ok, event, {}, RecordKind::raw, journal_version_);
    if (probe.size() > max_record_payload)
      throw StoreError(StoreError::Kind::usage, "an event of " + std::to_string(probe.size()) + " bytes does not fit one journal record");
  } else if (text.data() == nullptr) {
    if (event) {
      // A typed plan event without a plan: a line that is rejected the same way (a missing plan
      // is invalid_event; a plan that could not be read is invalid_plan, after actor and at).
      synthesized = R"({"type":"plan","plan":)" + std::string(change->plan_fault.empty() ? "null" : "{}") + R"(,"actor":)" +
                    json_quote(change->actor) + R"(,"at":)" + std::to_string(change->at) + "}";
    } else if (journal_version_ >= 2) {  // a typed door's fault: replayed as the same rejection
      text_kind = RecordKind::rejected;
      synthesized = in.fault().message;
    } else {  // format 1 has no such record: a line that is rejected as invalid_event
      synthesized = json_quote(in.fault().message);
    }
    record_text = synthesized;
  }
  if (!as_event && record_text.size() > max_record_payload - 14)  // seq, status, kind, length
    throw StoreError(StoreError::Kind::usage, "a text of " + std::to_string(record_text.size()) + " bytes does not fit one journal record");

  Submitted out;
  Rejection why;
  if (!engine_.apply(in, out.effects, &why)) {
    out.code = why.code;
    out.message = std::move(why.message);
  }
  // A typed plan whose rules fail is kept as its JSON: it replays as the same invalid_plan.
  if (as_event && change && out.code == Code::invalid_plan) {
    synthesized = event_json(*event);
    return append(out.code, nullptr, synthesized, RecordKind::raw, std::move(out));
  }
  return append(out.code, as_event ? event : nullptr, record_text, text_kind, std::move(out));
}

Submitted Store::append(Code code, const Event* event, std::string_view text, RecordKind text_kind, Submitted result) {
  if (segment_used_ >= options_.segment_bytes) roll();
  const std::uint64_t seq = last_seq_ + 1;
  std::string payload;
  encode_record_payload(payload, seq, code, event, text, text_kind, journal_version_);
  const std::size_t before = pending_.size();
  chain_ = frame_record(pending_, payload, chain_);
  segment_used_ += pending_.size() - before;
  bytes_since_snapshot_ += pending_.size() - before;
  last_seq_ = seq;
  result.seq = seq;
  if (options_.durability == Durability::every) flush(true);
  ++since_snapshot_;
  if (child_ > 0 && ++appends_since_poll_ >= 256) poll_snapshot(false);
  if (ready_seq_ > 0 && durable_seq_ >= ready_seq_) publish_snapshot(ready_seq_);
  if ((options_.snapshot_every > 0 && since_snapshot_ >= options_.snapshot_every) ||
      (options_.snapshot_bytes > 0 && bytes_since_snapshot_ >= options_.snapshot_bytes))
    auto_snapshot();
  return result;
}

void Store::roll() {
  // The active segment is sealed durable before its successor exists, so that a crash never
  // leaves a later segment without all of an earlier one (journal.hpp: damage in a sealed
  // segment is corruption, not a torn tail).
  flush(options_.durability != Durability::none);
  const std::uint64_t first = last_seq_ + 1;
  const std::string path = dir_ + "/" + segment_name(first);
  try {
    const int fd = fs_.create(path + ".tmp");
    try {
      fs_.write(fd, segment_header(journal_version_, first, chain_));
      if (options_.durability != Durability::none) fs_.sync(fd);
    } catch (...) {
      fs_.close(fd);
      try {
        fs_.remove(path + ".tmp");
      } catch (const StoreError&) {  // open() removes it
      }
      throw;
    }
    fs_.close(fd);
    fs_.rename(path + ".tmp", path);
    if (options_.durability != Durability::none) fs_.sync_dir(dir_);
    const int fd2 = fs_.open_append(path, false);
    // The sealed segment's descriptor: closed now, unless an fsync of it may be in flight on
    // another thread (between write() and mark_durable()/mark_failed()), then when it is done.
    if (sync_pending_) retired_fds_.push_back(journal_fd_);
    else fs_.close(journal_fd_);
    journal_fd_ = fd2;
  } catch (const StoreError& e) {
    failure_ = e.what();
    throw;
  }
  segment_used_ = segment_header_size;
}

void Store::write_out() {
  if (pending_.empty()) return;
  try {
    fs_.write(journal_fd_, pending_);
  } catch (const StoreError& e) {
    failure_ = e.what();
    throw;
  }
  pending_.clear();
  written_seq_ = last_seq_;
}

void Store::flush(bool fsync) {
  write_out();
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

std::uint64_t Store::write() {
  check_usable();
  close_retired();  // no fsync is in flight (the caller's protocol): sealed segments' descriptors can go
  write_out();
  sync_fd_ = journal_fd_;
  sync_pending_ = true;
  if (child_ > 0) poll_snapshot(false);
  if (ready_seq_ > 0 && durable_seq_ >= ready_seq_) publish_snapshot(ready_seq_);
  return written_seq_;
}

void Store::sync_written() const { fs_.sync(sync_fd_); }

void Store::close_retired() noexcept {
  sync_pending_ = false;
  for (int fd : retired_fds_) {
    try {
      fs_.close(fd);
    } catch (...) {  // a descriptor that cannot be closed is not worth stopping for
    }
  }
  retired_fds_.clear();
}

void Store::mark_durable(std::uint64_t seq) noexcept {
  close_retired();
  if (seq > durable_seq_ && seq <= written_seq_) durable_seq_ = seq;
}

void Store::mark_failed(const std::string& what) {
  close_retired();
  if (!failure_) failure_ = what;
}

void Store::commit() {
  check_usable();
  close_retired();  // (as in write(): no fsync is in flight)
  flush(options_.durability != Durability::none);
  if (child_ > 0) poll_snapshot(false);
  if (ready_seq_ > 0 && durable_seq_ >= ready_seq_) publish_snapshot(ready_seq_);
}

void Store::auto_snapshot() {
  // The event is journaled whatever happens to the snapshot; only a journal failure (which
  // stops the store) propagates. A failed snapshot is noted and retried after the next period.
  if (child_ > 0 || ready_seq_ > 0) return;  // one at a time
  try {
    if (options_.background_snapshots) start_background_snapshot();
    else snapshot();
  } catch (const StoreError& e) {
    if (failure_) throw;
    since_snapshot_ = bytes_since_snapshot_ = 0;
    recovery_.notes.push_back(std::string("automatic snapshot failed: ") + e.what());
  }
}

std::uint64_t Store::start_snapshot() {
  check_usable();
  poll_snapshot(false);
  if (child_ > 0 || ready_seq_ > 0) return 0;
  start_background_snapshot();
  return child_seq_;
}

void Store::start_background_snapshot() {
  const std::uint64_t seq = last_seq_;
  const std::string path = dir_ + "/" + snapshot_name(seq);
  // The child says it succeeded by writing one byte to a pipe before it exits: a host that
  // ignores SIGCHLD (whose children waitpid() cannot see) still learns the outcome.
  int done[2];
  if (::pipe2(done, O_CLOEXEC) != 0) throw StoreError(StoreError::Kind::io, "pipe for a background snapshot: " + std::string(std::strerror(errno)));
  int fd = -1;
  try {
    fd = fs_.create(path + ".tmp");
  } catch (...) {
    ::close(done[0]);
    ::close(done[1]);
    throw;
  }
  std::fflush(nullptr);  // nothing buffered is written twice
  prepare_digest();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(done[0]);
    ::close(done[1]);
    fs_.close(fd);
    fs_.remove(path + ".tmp");
    throw StoreError(StoreError::Kind::io, "fork for a background snapshot: " + std::string(std::strerror(err)));
  }
  if (pid == 0) {
    // The child: its memory is the state as of `seq`, frozen by copy-on-write. It keeps only the
    // snapshot's descriptor and the pipe's write end — not the lock, the journal or a server's
    // sockets, so that it never holds them past its parent. If the parent dies meanwhile, the
    // child finishes its file, which the next open removes as a leftover .tmp.
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    const unsigned lo = static_cast<unsigned>(std::min(fd, done[1])), hi = static_cast<unsigned>(std::max(fd, done[1]));
    if (lo > 3) ::close_range(3, lo - 1, 0);
    if (hi > lo + 1) ::close_range(lo + 1, hi - 1, 0);
    ::close_range(hi + 1, ~0U, 0);
    int status = 1;
    try {
      write_snapshot(fs_, fd, engine_.state(), seq);
      fs_.sync(fd);
      status = 0;
    } catch (...) {
    }
    if (status == 0) {
      const char ok = 1;
      status = ::write(done[1], &ok, 1) == 1 ? 0 : 1;
    }
    ::_exit(status);
  }
  ::close(done[1]);
  fs_.close(fd);
  child_ = pid;
  child_done_fd_ = done[0];
  child_seq_ = seq;
  appends_since_poll_ = 0;
  since_snapshot_ = bytes_since_snapshot_ = 0;
}

void Store::poll_snapshot(bool wait) {
  appends_since_poll_ = 0;
  if (child_ <= 0) return;
  // The pipe is readable once the child wrote its byte or exited (end of file) — or died.
  pollfd p{child_done_fd_, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, wait ? -1 : 0);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return;  // still writing
  char ok = 0;
  ssize_t n;
  do {
    n = ::read(child_done_fd_, &ok, 1);
  } while (n < 0 && errno == EINTR);
  ::close(child_done_fd_);
  child_done_fd_ = -1;
  // Reaped when it can be (a host that ignores SIGCHLD has it reaped by the kernel: ECHILD).
  const pid_t pid = child_;
  child_ = 0;
  int status = 0;
  pid_t w;
  do {
    w = ::waitpid(pid, &status, 0);
  } while (w < 0 && errno == EINTR);
  if (n != 1 || ok != 1) {
    std::string why = "it did not finish";
    if (w == pid && WIFEXITED(status)) why = "exit status " + std::to_string(WEXITSTATUS(status));
    else if (w > 0 && WIFSIGNALED(status)) why = "signal " + std::to_string(WTERMSIG(status));
    recovery_.notes.push_back("background snapshot of sequence " + std::to_string(child_seq_) + " failed (" + why + "); the journal has everything");
    try {
      fs_.remove(dir_ + "/" + snapshot_name(child_seq_) + ".tmp");
    } catch (const StoreError&) {
    }
    return;
  }
  ready_seq_ = child_seq_;
  if (durable_seq_ >= ready_seq_) publish_snapshot(ready_seq_);
}

void Store::publish_snapshot(std::uint64_t seq) {
  // Published only once its sequence number is durable in the journal: a snapshot never runs
  // ahead of what recovery can check it against.
  ready_seq_ = 0;
  const std::string path = dir_ + "/" + snapshot_name(seq);
  try {
    fs_.rename(path + ".tmp", path);
    fs_.sync_dir(dir_);
    auto all = snapshots_in(fs_, dir_);
    for (std::size_t i = options_.keep_snapshots; i < all.size(); ++i) fs_.remove(dir_ + "/" + all[i].second);
  } catch (const StoreError& e) {
    recovery_.notes.push_back(std::string("background snapshot not published: ") + e.what());
  }
}

void Store::finish_snapshot() {
  poll_snapshot(true);
  if (ready_seq_ > 0 && durable_seq_ < ready_seq_ && !failure_) commit();  // (which publishes it)
  if (ready_seq_ > 0 && durable_seq_ >= ready_seq_) publish_snapshot(ready_seq_);
  if (ready_seq_ > 0) {
    // Its sequence number can no longer become durable (the store stopped): it is dropped.
    recovery_.notes.push_back("background snapshot of sequence " + std::to_string(ready_seq_) + " dropped: the journal stopped before it");
    try {
      fs_.remove(dir_ + "/" + snapshot_name(ready_seq_) + ".tmp");
    } catch (const StoreError&) {
    }
    ready_seq_ = 0;
  }
}

std::string Store::snapshot() {
  finish_snapshot();
  commit();
  since_snapshot_ = bytes_since_snapshot_ = 0;
  const std::string name = snapshot_name(last_seq_);
  const std::string path = dir_ + "/" + name;
  // A snapshot failure does not stop the store: the journal still has everything.
  const int fd = fs_.create(path + ".tmp");
  try {
    write_snapshot(fs_, fd, engine_.state(), last_seq_);
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

}  // namespace upline
