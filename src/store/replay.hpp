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

inline std::string journal_path(const std::string& dir) { return dir + "/journal"; }

/// The journal's bytes; StoreError(usage) naming DIR when it has no journal (no data directory).
inline std::string read_journal(FileSystem& fs, const std::string& dir) {
  const std::string path = journal_path(dir);
  if (!fs.exists(path)) throw StoreError(StoreError::Kind::usage, dir + ": no journal here (create the store with a plan first)");
  return fs.read(path);
}

[[noreturn]] inline void corrupt(const std::string& path, const std::string& problem) {
  throw StoreError(StoreError::Kind::corrupt, path + ": corrupt journal: " + problem);
}

inline Engine genesis_engine(const JournalRecord& genesis, const std::string& path) {
  PlanFaults faults;
  auto plan = Plan::parse(genesis.text, faults);
  if (!plan) throw StoreError(StoreError::Kind::corrupt, path + ": the genesis record's plan is invalid: " + faults.message());
  return Engine(std::move(*plan));
}

/// Applies one journal record through the one door; returns the code it gives now.
inline Code apply_record(Engine& engine, EventReader& reader, const JournalRecord& rec, std::vector<Effect>& fx, Rejection* rejection = nullptr) {
  Rejection local;
  Rejection& why = rejection ? *rejection : local;
  if (rec.event) return engine.apply(*rec.event, fx, &why) ? Code::ok : why.code;
  if (rec.kind == RecordKind::rejected) return engine.apply(Input(Rejection{rec.status, rec.text}), fx, &why) ? Code::ok : why.code;
  return engine.apply(reader.read(rec.text), fx, &why) ? Code::ok : why.code;
}

struct Replayed {
  JournalScan scan;
  std::uint64_t applied_to = 0;  // last sequence applied
  std::uint64_t replayed = 0;
  std::string genesis;  // the genesis record's plan (canonical JSON)
};

/// Replays a journal image into `engine` (from the genesis, or on top of a snapshot at `after`),
/// checking that each record still gives the status it was journaled with. Stops before the
/// first record for which `stop(record, engine)` is true.
template <class Stop>
Replayed replay(const std::string& path, std::string_view image, std::optional<Engine>& engine, std::uint64_t after, Stop stop) {
  Replayed out;
  std::vector<Effect> fx;
  EventReader reader;
  bool stopped = false;
  out.scan = scan_journal(image, [&](const JournalRecord& rec, std::uint64_t offset) {
    if (stopped) return;
    if (rec.kind == RecordKind::genesis) {
      out.genesis = rec.text;
      if (!engine) engine.emplace(genesis_engine(rec, path));
      return;
    }
    if (rec.seq <= after) return;
    if (stop(rec, *engine)) {
      stopped = true;
      return;
    }
    const Code got = apply_record(*engine, reader, rec, fx);
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

}  // namespace upline::detail
