// upline/store.hpp — a durable engine: a data directory with a journal and snapshots.
//
//   DIR/journal, DIR/journal-<seq>  every submitted event, accepted or rejected, in segments of
//                                   about segment_bytes each (journal.hpp)
//   DIR/snapshot-<seq, 20 digits>.snap   the whole state after event <seq> (docs/DURABILITY.md)
//
// Store::open recovers: the newest snapshot that passes its checks (CRC32C, then the SHA-256 of its
// state against the digest it stores) plus a replay of the journal after it. A torn journal tail is truncated and
// reported; corruption anywhere else refuses to open (StoreError names file, offset, sequence).
//
// Acknowledgement: submit() applies an event and appends its record; the record is durable — and
// the event may be acknowledged — once durable_seq() has reached its sequence number:
//   Durability::every  each submit() writes and fsyncs before it returns (the default)
//   Durability::group  records are buffered; commit() writes them all and fsyncs once
//   Durability::none   commit() writes without fsync (tests, simulations)
// A failed write or fsync is not retried: the store stops (every later call throws StoreError)
// and keeps what was durable; reopening recovers exactly that.
//
// Thread safety: none; one Store per directory (an advisory lock refuses a second writer).
#pragma once

#include "upline/door.hpp"
#include "upline/engine.hpp"
#include "upline/file_system.hpp"
#include "upline/journal.hpp"
#include "upline/statement.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace upline {

enum class Durability { every, group, none };

/// The default journal growth between automatic snapshots.
inline constexpr std::uint64_t default_snapshot_bytes = std::uint64_t{128} << 20;

/// "every", "group" or "none".
std::optional<Durability> parse_durability(std::string_view s) noexcept;

struct StoreOptions {
  Durability durability = Durability::every;
  /// Write a snapshot automatically after this many events since the last one (0: not by count).
  std::uint64_t snapshot_every = 0;
  /// Write a snapshot automatically once the journal has grown this many bytes since the last one
  /// (0: not by size). On by default: recovery then replays at most about this much journal.
  std::uint64_t snapshot_bytes = default_snapshot_bytes;
  /// Automatic snapshots are written by a forked child process from its copy-on-write view of
  /// the state while submit() goes on (docs/DURABILITY.md); false: in the calling thread.
  bool background_snapshots = true;
  /// How many snapshots to keep; older ones are removed after a new one is written (>= 1).
  std::size_t keep_snapshots = 2;
  /// A journal segment is sealed, and the next one begun, once it holds this many bytes.
  std::uint64_t segment_bytes = default_segment_bytes;
  /// The file system; nullptr: the real one.
  FileSystem* fs = nullptr;
};

/// What recovery found.
struct Recovery {
  std::string snapshot;              // file name used, empty when replayed from the genesis record
  std::uint64_t snapshot_seq = 0;
  std::uint64_t replayed = 0;        // journal records applied after the snapshot
  bool torn_tail = false;
  std::uint64_t truncated_bytes = 0;
  std::vector<std::string> notes;    // torn tail, snapshots skipped and why, automatic snapshots that failed
};

/// The result of one submitted event.
struct Submitted {
  std::uint64_t seq = 0;
  Code code = Code::ok;
  std::string message;
  std::vector<Effect> effects;
};

class Store {
 public:
  /// Creates DIR (which must not hold a journal yet) with `plan_json` as its genesis record.
  static std::unique_ptr<Store> create(const std::string& dir, std::string_view plan_json, StoreOptions options = {});
  /// Opens and recovers an existing DIR.
  static std::unique_ptr<Store> open(const std::string& dir, StoreOptions options = {});

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Applies one event given as JSON text (rejections included: they are journaled too).
  Submitted submit(std::string_view event_json);
  /// Applies one typed event.
  Submitted submit(const Event& event);
  /// Journals and counts a fault a typed door found before it could make an event (a host value
  /// outside int64): a rejection like any other.
  Submitted submit(const Rejection& fault);
  /// Makes every submitted record durable (see the modes above).
  void commit();
  /// Writes a snapshot of the current state (after committing), then prunes old ones; waits for
  /// a background snapshot in progress first.
  std::string snapshot();
  /// Starts a background snapshot of the state now (a forked child writes it; it is published once
  /// its sequence number is durable) and returns that sequence number; 0 when one is already in
  /// progress. The automatic snapshots (snapshot_bytes, snapshot_every) go through here.
  std::uint64_t start_snapshot();
  /// Whether a background snapshot is being written.
  bool snapshot_in_progress() const noexcept { return child_ > 0; }
  /// Waits for a background snapshot in progress and publishes it. The destructor does this too.
  void finish_snapshot();

  // Group commit in steps, for a host that applies more events while an fsync is in flight
  // (`upline serve`): write() hands every record submitted so far to the file and returns the
  // last sequence number written; sync_written() fsyncs what was written — the one call that may
  // run on another thread, concurrently with submit() and write(); then the owning thread calls
  // mark_durable(seq) with write()'s result, or mark_failed() when the fsync threw (the store
  // stops, as after any failed write or fsync).
  std::uint64_t write();
  void sync_written() const;
  void mark_durable(std::uint64_t seq) noexcept;
  void mark_failed(const std::string& what);
  /// The plan the directory was created with, as canonical JSON (its genesis record).
  const std::string& genesis_plan() const noexcept { return genesis_plan_; }

  const Engine& engine() const noexcept { return engine_; }
  /// engine().digest(), without computing it when the store was just recovered from a snapshot
  /// whose load checked it (and nothing was applied since).
  std::string digest() const;
  std::uint64_t last_seq() const noexcept { return last_seq_; }
  std::uint64_t durable_seq() const noexcept { return durable_seq_; }
  const Recovery& recovery() const noexcept { return recovery_; }
  const std::string& dir() const noexcept { return dir_; }
  /// Set once a write or fsync failed: the store accepts nothing more.
  const std::optional<std::string>& failure() const noexcept { return failure_; }

 private:
  Store(std::string dir, StoreOptions options, Engine engine, std::uint8_t version);
  // The one path: applies `in`, journals it (the event, or `text` when there is no event to
  // record, or the fault), and acknowledges per the durability mode.
  Submitted submit(const Input& in, std::string_view text);
  Submitted append(Code code, const Event* event, std::string_view text, RecordKind text_kind, Submitted result);
  void check_usable() const;
  void close_retired() noexcept;
  void roll();
  void auto_snapshot();
  void start_background_snapshot();
  void poll_snapshot(bool wait);
  void publish_snapshot(std::uint64_t seq);
  void write_out();
  void flush(bool fsync);

  std::string dir_;
  StoreOptions options_;
  FileSystem& fs_;
  Engine engine_;
  EventReader reader_;
  std::uint8_t journal_version_;
  int journal_fd_ = -1;                // the active (last) segment, open for appending
  int sync_fd_ = -1;                   // the segment sync_written() makes durable (set by write())
  std::vector<int> retired_fds_;       // sealed segments' descriptors an fsync may still use
  bool sync_pending_ = false;          // between write() and mark_durable()/mark_failed()
  std::uint64_t segment_used_ = 0;     // bytes in the active segment, pending ones included
  int lock_fd_ = -1;
  std::uint64_t last_seq_ = 0;
  std::uint64_t written_seq_ = 0;
  std::uint64_t durable_seq_ = 0;
  std::uint64_t since_snapshot_ = 0;        // events since the last snapshot
  std::uint64_t bytes_since_snapshot_ = 0;  // journal bytes since the last snapshot
  int child_ = 0;                           // the process writing a background snapshot (0: none)
  std::uint64_t child_seq_ = 0;             // …of the state after this sequence number
  int child_done_fd_ = -1;                  // …which writes one byte here when it succeeded
  std::uint64_t ready_seq_ = 0;             // a finished background snapshot waiting for its sequence to be durable
  std::uint32_t appends_since_poll_ = 0;
  std::string digest_;                      // the digest as of digest_seq_, when known without computing it
  std::uint64_t digest_seq_ = 0;
  std::uint32_t chain_ = 0;
  std::string pending_;
  std::string genesis_plan_;
  Recovery recovery_;
  std::optional<std::string> failure_;
};

/// Whether DIR holds a data directory (a journal segment, or the genesis record of one whose first
/// segment was archived).
bool holds_store(const std::string& dir, FileSystem* fs = nullptr);

/// An upper bound for a rebuild: a sequence number, or a time (ms since the epoch).
struct Until {
  enum class By { seq, time } by = By::seq;
  std::int64_t value = 0;
};

/// Rebuilds the state as of `until` (all of it when nullopt) without changing DIR: from the
/// newest usable snapshot at or before that point, then the journal. A torn tail is ignored,
/// corruption throws StoreError. `last_seq` receives the last sequence number applied.
/// `archive`, when not empty, is where older segments were moved (upline archive): read too.
Engine rebuild(const std::string& dir, std::optional<Until> until, std::uint64_t* last_seq = nullptr, FileSystem* fs = nullptr,
               const std::string& archive = {});

/// Writes the journal's events in [from, until] as JSON Lines, the format `upline replay` reads.
/// Returns how many were written.
std::uint64_t export_journal(const std::string& dir, std::uint64_t from, std::optional<std::uint64_t> until, std::string& out,
                             FileSystem* fs = nullptr, const std::string& archive = {});
/// The same, streaming: `write` receives the JSON Lines in pieces of about 1 MiB (memory stays
/// bounded whatever the journal's size).
std::uint64_t export_journal(const std::string& dir, std::uint64_t from, std::optional<std::uint64_t> until,
                             const std::function<void(std::string_view)>& write, FileSystem* fs = nullptr, const std::string& archive = {});

/// The genesis record's plan (its canonical JSON): the plan DIR's store was created with.
std::string genesis_plan(const std::string& dir, FileSystem* fs = nullptr);

/// Gives `visit` every journal record after the genesis, in order, as the Input the one door
/// applies (Engine::apply), with its sequence number; `visit` returns false to stop (nothing after
/// is read). Streams (memory
/// does not grow with the journal) and only reads, so several walks may run at once, from several
/// threads. A torn tail ends the walk; corruption or a gap throws StoreError. Returns the last
/// sequence number visited.
std::uint64_t walk_journal(const std::string& dir, const std::function<bool(std::uint64_t seq, const Input& input)>& visit,
                           FileSystem* fs = nullptr, const std::string& archive = {});

/// The sequence number of the last complete record of DIR's journal now (a torn tail, a record
/// being written, not counted): the bound that makes several walks of a journal a writer is
/// appending to see the same history. Reads only the last segment.
std::uint64_t journal_last_seq(const std::string& dir, FileSystem* fs = nullptr);

/// Gives `line` the result line (door.hpp append_result_json, `upline replay --effects`) of every
/// journal record in (after, until], in order: the state as of `after` rebuilt, then each record
/// applied again. `line` returns false to stop. Returns the last sequence number given (0: none).
std::uint64_t replay_results(const std::string& dir, std::uint64_t after, std::uint64_t until,
                             const std::function<bool(std::uint64_t seq, std::string_view line)>& line, FileSystem* fs = nullptr);

/// A member's statement (statement.hpp, SPEC §13) over the applied times [from, until) from DIR's
/// history: the state just before `from` rebuilt (from the newest snapshot before it), then the
/// journal applied through the period — never past its last record when the call starts (a
/// writer may be appending), or past `through` when given (a server's published sequence number).
/// Only reads. The statement's `known` is false when the member had not joined by then.
/// std::invalid_argument when until < from; StoreError as rebuild(), and StoreError(usage,
/// "cancelled") soon after `*cancel` becomes true (a server stopping).
Statement member_statement(const std::string& dir, MemberId member, std::optional<Time> from, std::optional<Time> until,
                           FileSystem* fs = nullptr, const std::string& archive = {}, std::optional<std::uint64_t> through = std::nullopt,
                           const std::atomic<bool>* cancel = nullptr);

/// What archive_journal() did.
struct Archived {
  std::string oldest_snapshot;         // the oldest snapshot that loads ("" : none, nothing moved)
  std::uint64_t snapshot_seq = 0;
  std::vector<std::string> moved;      // segment file names, in order
  std::uint64_t through_seq = 0;       // the last sequence number now only in the archive
  std::uint64_t bytes = 0;             // copied
};

/// Retention: moves the segments of DIR's journal whose records are all at or before its oldest
/// loadable snapshot to `to` (created if needed) — copied durably, then removed from DIR; when
/// the first segment goes, its genesis record stays in DIR/genesis. Never the segment being
/// written. Safe while a writer runs (sealed segments are never written again); not with a second
/// archive_journal() on the same directory. A segment that fails its checks is not moved (StoreError
/// corrupt). rebuild(), export_journal() and verify() read the archive when it is given.
Archived archive_journal(const std::string& dir, const std::string& to, FileSystem* fs = nullptr);

/// What backup() made.
struct BackupResult {
  std::string snapshot;           // the snapshot copied ("" : DIR had none)
  std::size_t segments = 0;       // journal segments copied
  std::uint64_t bytes = 0;        // copied
  std::uint64_t seq = 0;          // the copy's last sequence number
  std::string digest;             // the copy's state digest, as of `seq`
  std::vector<std::string> notes; // what opening the copy found (a record cut short at the end)
};

/// An online backup: a consistent copy of DIR in `to` (a new or empty directory), taken while a
/// writer (a Store, upline serve) may be appending. The copy is a data directory as of the
/// sequence number it reports: `verify` passes on it (given DIR's archive too, when DIR's older
/// segments were archived) and its digest is DIR's at that number. Not to be run at the same time as
/// archive_journal() on DIR.
BackupResult backup(const std::string& dir, const std::string& to, FileSystem* fs = nullptr);

/// The result of verify().
struct Verification {
  bool ok = true;
  std::uint64_t records = 0;
  std::uint64_t last_seq = 0;
  std::string digest;  // from scratch
  std::vector<std::string> lines;  // one per check, "ok: …" or "FAIL: …"
};

/// Checks every record and snapshot, replays from scratch and compares digests. Changes nothing.
Verification verify(const std::string& dir, FileSystem* fs = nullptr, const std::string& archive = {});

}  // namespace upline
