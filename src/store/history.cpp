// history.cpp — the read-only walks of a data directory: rebuild as of a point (time travel),
// export the journal as JSON Lines, verify every record and snapshot (store.hpp).
#include "replay.hpp"
#include "upline/snapshot.hpp"
#include "upline/store.hpp"

#include <atomic>
#include <limits>
#include <map>

namespace upline {

namespace {

// rebuild(), and member_statement()'s rebuild: also never past sequence number `bound` (snapshots
// after it passed by, the replay stopped before it), and given up — StoreError(usage) — as soon as
// `*cancel` is set.
Engine rebuild_bounded(FileSystem& fs, const std::string& dir, std::optional<Until> until, std::uint64_t* last_seq, const std::string& archive,
                       std::uint64_t bound, const std::atomic<bool>* cancel) {
  detail::segments_of(fs, dir, archive);  // throws: no journal here
  // A snapshot past the journal's last record belongs to a history the journal no longer has
  // (Store::open removes it; this walk only reads, so it passes it by). The journal's end is known
  // only once it has been scanned: in that rare case the walk starts again without the snapshot.
  std::uint64_t journal_end = std::numeric_limits<std::uint64_t>::max();
  for (;;) {
    std::optional<Engine> engine;
    std::uint64_t after = 0;
    for (const auto& [seq, name] : snapshots_in(fs, dir)) {
      if (seq > journal_end || seq > bound) continue;
      if (until && until->by == Until::By::seq && seq > static_cast<std::uint64_t>(until->value)) continue;
      try {
        std::uint64_t stored = 0;
        State st = read_snapshot(fs, dir + "/" + name, stored);
        if (stored != seq) continue;
        if (until && until->by == Until::By::time && st.clock > until->value) continue;
        engine.emplace(std::move(st));
        after = seq;
        break;
      } catch (const FormatError&) {
        continue;  // a damaged snapshot is not needed: the journal has everything
      }
    }
    detail::Replayed r = detail::replay(fs, dir, archive, engine, after, [&](const JournalRecord& rec, const Engine& e) {
      if (cancel && cancel->load(std::memory_order_relaxed)) throw StoreError(StoreError::Kind::usage, "cancelled");
      if (rec.seq > bound) return true;
      if (!until) return false;
      if (until->by == Until::By::seq) return rec.seq > static_cast<std::uint64_t>(until->value);
      // By time: stop at the first event that would be applied after it (applied times only grow).
      return rec.status == Code::ok && rec.event && std::max(e.clock(), rec.at()) > until->value;
    });
    if (after > r.scan.last_seq) {
      journal_end = r.scan.last_seq;
      continue;
    }
    if (last_seq) *last_seq = std::max(after, r.applied_to);
    return std::move(*engine);
  }
}

}  // namespace

Engine rebuild(const std::string& dir, std::optional<Until> until, std::uint64_t* last_seq, FileSystem* fsp, const std::string& archive) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  return rebuild_bounded(fs, dir, until, last_seq, archive, std::numeric_limits<std::uint64_t>::max(), nullptr);
}

std::uint64_t replay_results(const std::string& dir, std::uint64_t after, std::uint64_t until,
                             const std::function<bool(std::uint64_t, std::string_view)>& line, FileSystem* fsp) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  Engine engine = rebuild(dir, Until{Until::By::seq, static_cast<std::int64_t>(std::min<std::uint64_t>(after, INT64_MAX))}, nullptr, &fs);
  std::vector<Effect> fx;
  EventReader reader;
  std::string out;
  std::uint64_t given = 0;
  bool stopped = false;
  // The journal may be growing (a server writes it): a record being written reads as a torn tail,
  // where the scan ends.
  const JournalScan scan = scan_segments(fs, detail::segments_of(fs, dir), after + 1, [&](const JournalRecord& rec, const std::string&, std::uint64_t) {
    if (stopped || rec.kind == RecordKind::genesis || rec.seq <= after || rec.seq > until) return;
    Rejection why;
    const Code got = detail::apply_record(engine, reader, rec, fx, &why);
    out.clear();
    append_result_json(out, rec.seq, got, got == Code::ok ? std::string_view{} : std::string_view(why.message), fx, engine);
    given = rec.seq;
    if (!line(rec.seq, out)) stopped = true;
  });
  if (scan.end == JournalScan::End::corrupt) detail::corrupt(scan.path, scan.problem);
  return given;
}

Statement member_statement(const std::string& dir, MemberId member, std::optional<Time> from, std::optional<Time> until, FileSystem* fsp,
                           const std::string& archive, std::optional<std::uint64_t> through, const std::atomic<bool>* cancel) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  check_statement_period(from, until);
  // The journal's end now: a writer appending meanwhile does not make the statement move.
  const std::uint64_t bound = through ? *through : journal_last_seq(dir, &fs);
  std::uint64_t after = 0;
  Engine engine = rebuild_bounded(fs, dir, from && *from > 0 ? Until{Until::By::time, *from - 1} : Until{Until::By::seq, 0}, &after, archive,
                                  bound, cancel);
  if (cancel && cancel->load()) throw StoreError(StoreError::Kind::usage, "cancelled");  // (a rebuild from a snapshot reads no record)
  StatementRecorder rec(engine, member, from, until);
  std::vector<Effect> fx;
  EventReader reader;
  struct Stop {};  // the period is over, or the bound reached: the rest is not read
  try {
    const JournalScan scan = scan_segments(fs, detail::segments_of(fs, dir, archive), after + 1, [&](const JournalRecord& rec_, const std::string&, std::uint64_t) {
      if (rec_.kind == RecordKind::genesis || rec_.seq <= after) return;
      if (rec_.seq > bound || rec.past()) throw Stop{};
      if (cancel && cancel->load(std::memory_order_relaxed)) throw StoreError(StoreError::Kind::usage, "cancelled");
      rec.apply(engine, detail::record_input(reader, rec_), fx, nullptr, rec_.seq);
    });
    detail::check_scan(scan, dir, archive);
  } catch (const Stop&) {
  }
  Statement st = rec.statement(engine);
  st.through_seq = std::max(st.through_seq, after);
  return st;
}

std::string genesis_plan(const std::string& dir, FileSystem* fsp) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  detail::segments_of(fs, dir);  // throws: no journal here
  return detail::read_genesis(fs, dir);
}

std::uint64_t walk_journal(const std::string& dir, const std::function<bool(std::uint64_t, const Input&)>& visit, FileSystem* fsp,
                           const std::string& archive) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  EventReader reader;
  std::uint64_t last = 0;
  struct Stop {};  // ends the scan where `visit` asked: the rest is not read
  try {
    const JournalScan scan = scan_segments(fs, detail::segments_of(fs, dir, archive), 1, [&](const JournalRecord& rec, const std::string&, std::uint64_t) {
      if (rec.kind == RecordKind::genesis) return;
      if (!visit(rec.seq, detail::record_input(reader, rec))) throw Stop{};
      last = rec.seq;
    });
    detail::check_scan(scan, dir, archive);
  } catch (const Stop&) {
  }
  return last;
}

std::uint64_t journal_last_seq(const std::string& dir, FileSystem* fsp) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  const std::vector<Segment> segs = detail::segments_of(fs, dir);
  if (segs.empty()) return 0;
  // From past every record: only the last segment is read, its records checked, none decoded.
  const JournalScan scan = scan_segments(fs, {segs.back()}, std::numeric_limits<std::uint64_t>::max());
  if (scan.end == JournalScan::End::corrupt) detail::corrupt(scan.path, scan.problem);
  return scan.last_seq;
}

std::uint64_t export_journal(const std::string& dir, std::uint64_t from, std::optional<std::uint64_t> until,
                             const std::function<void(std::string_view)>& write, FileSystem* fsp, const std::string& archive) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  std::uint64_t n = 0;
  std::string out;
  const JournalScan scan = scan_segments(fs, detail::segments_of(fs, dir, archive), std::max<std::uint64_t>(from, 1),
                                         [&](const JournalRecord& rec, const std::string&, std::uint64_t) {
    if (rec.kind == RecordKind::genesis || rec.seq < from || (until && rec.seq > *until)) return;
    if (rec.event) {
      append_event_json(out, *rec.event);
    } else if (rec.kind == RecordKind::rejected) {
      // A typed door's fault: a line that is rejected with the same code.
      out += rec.status == Code::invalid_plan ? std::string(R"({"type":"plan","plan":{},"actor":"export","at":0})") : json_quote(rec.text);
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
    if (out.size() >= (std::size_t{1} << 20)) {
      write(out);
      out.clear();
    }
  });
  // Records past `until` are not needed: a gap or damage there does not matter… but the scan
  // cannot know where `until` falls before reading, so it reports what it met.
  if (scan.end == JournalScan::End::missing && !(until && scan.last_seq >= *until)) detail::check_scan(scan, dir, archive);
  if (scan.end == JournalScan::End::corrupt) detail::corrupt(scan.path, scan.problem);
  if (!out.empty()) write(out);
  return n;
}

std::uint64_t export_journal(const std::string& dir, std::uint64_t from, std::optional<std::uint64_t> until, std::string& out, FileSystem* fs,
                             const std::string& archive) {
  return export_journal(dir, from, until, [&out](std::string_view piece) { out.append(piece); }, fs, archive);
}

Verification verify(const std::string& dir, FileSystem* fsp, const std::string& archive) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  Verification v;
  auto fail = [&](const std::string& line) {
    v.ok = false;
    v.lines.push_back("FAIL: " + line);
  };
  detail::segments_of(fs, dir, archive);  // not a data directory: a usage error, not a failed check
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
    detail::Replayed r = detail::replay(fs, dir, archive, engine, 0, [&](const JournalRecord& rec, const Engine& e) {
      note_digests(rec.seq - 1, e);
      return false;
    });
    note_digests(r.applied_to, *engine);
    v.records = r.scan.records;
    v.last_seq = r.scan.last_seq;
    v.digest = engine->digest();
    v.lines.push_back("ok: journal: " + std::to_string(r.scan.records) + " records (genesis and sequences 1.." + std::to_string(r.scan.last_seq) +
                      "), every checksum and link of the chain holds, every record replays to the status it was journaled with");
    if (r.scan.end == JournalScan::End::torn_tail) fail(r.scan.path + ": torn tail (" + r.scan.problem + "); opening the store will truncate it");
  } catch (const StoreError& e) {
    fail(e.what());
    return v;
  }
  // 2. Every snapshot: its checks, and its digest against the replay's at the same point.
  for (const auto& [seq, name] : snaps) {
    try {
      std::uint64_t stored = 0;
      const State st = read_snapshot(fs, dir + "/" + name, stored);
      const std::string d = digest(st);
      auto it = digest_at.find(seq);
      if (stored != seq) fail(name + ": holds sequence " + std::to_string(stored));
      else if (it == digest_at.end()) fail(name + ": sequence " + std::to_string(seq) + " is beyond the journal");
      else if (it->second != d) fail(name + ": digest " + d + " differs from the replay's " + it->second);
      else v.lines.push_back("ok: " + name + ": checksum, state and digest " + d.substr(0, 16) + "… agree with the replay");
    } catch (const std::exception& e) {
      fail(name + ": " + e.what());
    }
  }
  // 3. Recovery the way open() does it (newest snapshot + tail) ends at the same digest.
  try {
    Engine recovered = rebuild(dir, std::nullopt, nullptr, &fs, archive);
    if (recovered.digest() != v.digest) fail("recovery from the newest snapshot gives digest " + recovered.digest() + ", a full replay " + v.digest);
    else v.lines.push_back("ok: recovery from the newest snapshot and a full replay agree: digest " + v.digest);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  return v;
}

}  // namespace upline
