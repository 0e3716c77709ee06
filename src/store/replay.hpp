// replay.hpp — internal: replaying a journal image into an engine, shared by recovery
// (store.cpp) and the read-only walks of a data directory (history.cpp).
#pragma once

#include "upline/door.hpp"
#include "upline/journal.hpp"
#include "upline/store.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace upline::detail {

inline std::string journal_path(const std::string& dir) { return dir + "/" + segment_name(0); }

/// Where a data directory keeps the genesis record once its first segment has been archived.
inline std::string genesis_path(const std::string& dir) { return dir + "/genesis"; }

/// The segments of DIR's journal (and of ARCHIVE's, when given); StoreError(usage) naming DIR when
/// it has none (no data directory).
inline std::vector<Segment> segments_of(FileSystem& fs, const std::string& dir, const std::string& archive = {}) {
  std::vector<Segment> segs = journal_segments(fs, dir, archive);
  if (segs.empty() && !fs.exists(genesis_path(dir)))
    throw StoreError(StoreError::Kind::usage, dir + ": no journal here (create the store with a plan first)");
  return segs;
}

[[noreturn]] inline void corrupt(const std::string& path, const std::string& problem) {
  throw StoreError(StoreError::Kind::corrupt, path + ": corrupt journal: " + problem);
}

/// Who meets a gap in the journal: a read-only walk (which can be given an archive) or recovery
/// (which cannot: it needs a snapshot after the archived segments).
enum class Gap { walk, recovering };

/// Throws for a scan that ended corrupt (StoreError corrupt) or found a gap (StoreError usage:
/// segments moved to an archive that was not given, or lost).
inline void check_scan(const JournalScan& scan, const std::string& dir, const std::string& archive, Gap gap = Gap::walk) {
  if (scan.end == JournalScan::End::corrupt) corrupt(scan.path, scan.problem);
  if (scan.end != JournalScan::End::missing) return;
  std::string why = dir + ": the journal is incomplete: " + scan.problem;
  if (gap == Gap::recovering)
    why += "; recovery needs a snapshot that loads at or after the archived segments, or those segments copied back into " + dir +
           " (upline archive moves only segments before a snapshot)";
  else if (archive.empty())
    why += "; if its older segments were archived, give the archive (--archive DIR)";
  else
    why += "; neither " + dir + " nor the archive " + archive + " has them";
  throw StoreError(StoreError::Kind::usage, why);
}

/// The genesis record's plan (canonical JSON): from the first segment, or DIR/genesis once that
/// segment has been archived.
inline std::string read_genesis(FileSystem& fs, const std::string& dir) {
  std::string path = journal_path(dir);
  if (!fs.exists(path)) path = genesis_path(dir);
  std::vector<Segment> one{Segment{0, path}};
  std::string plan;
  struct Found {};
  try {
    const JournalScan scan = scan_segments(fs, one, 0, [&](const JournalRecord& rec, const std::string&, std::uint64_t) {
      plan = rec.text;
      throw Found{};
    });
    corrupt(path, "no genesis record (" + scan.problem + ")");
  } catch (const Found&) {
  }
  return plan;
}

inline Engine genesis_engine(const JournalRecord& genesis, const std::string& path) {
  PlanFaults faults;
  auto plan = Plan::parse(genesis.text, faults);
  if (!plan) throw StoreError(StoreError::Kind::corrupt, path + ": the genesis record's plan is invalid: " + faults.message());
  return Engine(std::move(*plan));
}

/// A journal record as the Input the one door applies: its event, a typed door's fault, or its
/// text read again by `reader` (the Input then lives until the reader's next read).
inline Input record_input(EventReader& reader, const JournalRecord& rec) {
  if (rec.event) return Input(*rec.event);
  if (rec.kind == RecordKind::rejected) return Input(Rejection{rec.status, rec.text});
  return reader.read(rec.text);
}

/// Applies one journal record through the one door; returns the code it gives now.
inline Code apply_record(Engine& engine, EventReader& reader, const JournalRecord& rec, std::vector<Effect>& fx, Rejection* rejection = nullptr) {
  Rejection local;
  Rejection& why = rejection ? *rejection : local;
  return engine.apply(record_input(reader, rec), fx, &why) ? Code::ok : why.code;
}

struct Replayed {
  JournalScan scan;
  std::uint64_t applied_to = 0;  // last sequence applied
  std::uint64_t replayed = 0;
  std::string genesis;  // the genesis record's plan (canonical JSON)
};

/// Replays DIR's journal (and ARCHIVE's older segments) into `engine` — from the genesis, or on
/// top of a snapshot at `after` — streaming, checking that each record still gives the status it
/// was journaled with. Stops before the first record for which `stop(record, engine)` is true.
template <class Stop>
Replayed replay(FileSystem& fs, const std::string& dir, const std::string& archive, std::optional<Engine>& engine, std::uint64_t after,
                Stop stop, Gap gap = Gap::walk) {
  Replayed out;
  std::vector<Effect> fx;
  EventReader reader;
  bool stopped = false;
  const std::vector<Segment> segs = segments_of(fs, dir, archive);
  const std::uint64_t from = engine ? after + 1 : 0;
  out.scan = scan_segments(fs, segs, from, [&](const JournalRecord& rec, const std::string& path, std::uint64_t offset) {
    if (stopped) return;
    if (rec.kind == RecordKind::genesis) {
      out.genesis = rec.text;
      if (!engine) engine.emplace(genesis_engine(rec, journal_path(dir)));
      return;
    }
    if (rec.seq <= after) return;
    if (stop(rec, *engine)) {
      stopped = true;
      return;
    }
    const Code got = apply_record(*engine, reader, rec, fx);
    if (got != rec.status)
      corrupt(path, "record " + std::to_string(rec.seq) + " at offset " + std::to_string(offset) + " was journaled as " + std::string(code_name(rec.status)) +
                  " but replays as " + std::string(code_name(got)));
    out.applied_to = rec.seq;
    ++out.replayed;
  });
  check_scan(out.scan, dir, archive, gap);
  if (!engine) corrupt(journal_path(dir), "no genesis record (" + out.scan.problem + ")");
  if (out.genesis.empty()) out.genesis = read_genesis(fs, dir);
  return out;
}

}  // namespace upline::detail
