// upline/store.hpp — a durable engine: a data directory with a journal and snapshots.
//
//   DIR/journal                     every submitted event, accepted or rejected (journal.hpp)
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

/// "every", "group" or "none".
std::optional<Durability> parse_durability(std::string_view s) noexcept;

struct StoreOptions {
  Durability durability = Durability::every;
  /// Write a snapshot automatically after this many events since the last one (0: only when asked).
  std::uint64_t snapshot_every = 0;
  /// How many snapshots to keep; older ones are removed after a new one is written (>= 1).
  std::size_t keep_snapshots = 2;
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
  /// Writes a snapshot of the current state (after committing), then prunes old ones.
  std::string snapshot();

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
  void write_out();
  void flush(bool fsync);

  std::string dir_;
  StoreOptions options_;
  FileSystem& fs_;
  Engine engine_;
  EventReader reader_;
  std::uint8_t journal_version_;
  int journal_fd_ = -1;
  int lock_fd_ = -1;
  std::uint64_t last_seq_ = 0;
  std::uint64_t written_seq_ = 0;
  std::uint64_t durable_seq_ = 0;
  std::uint64_t since_snapshot_ = 0;
  std::uint32_t chain_ = 0;
  std::string pending_;
  std::string genesis_plan_;
  Recovery recovery_;
  std::optional<std::string> failure_;
};

/// An upper bound for a rebuild: a sequence number, or a time (ms since the epoch).
struct Until {
  enum class By { seq, time } by = By::seq;
  std::int64_t value = 0;
};

/// Rebuilds the state as of `until` (all of it when nullopt) without changing DIR: from the
/// newest usable snapshot at or before that point, then the journal. A torn tail is ignored,
/// corruption throws StoreError. `last_seq` receives the last sequence number applied.
Engine rebuild(const std::string& dir, std::optional<Until> until, std::uint64_t* last_seq = nullptr, FileSystem* fs = nullptr);

/// Writes the journal's events in [from, until] as JSON Lines, the format `upline replay` reads.
/// Returns how many were written.
std::uint64_t export_journal(const std::string& dir, std::uint64_t from, std::optional<std::uint64_t> until, std::string& out,
                             FileSystem* fs = nullptr);

/// Gives `line` the result line (door.hpp append_result_json, `upline replay --effects`) of every
/// journal record in (after, until], in order: the state as of `after` rebuilt, then each record
/// applied again. `line` returns false to stop. Returns the last sequence number given (0: none).
std::uint64_t replay_results(const std::string& dir, std::uint64_t after, std::uint64_t until,
                             const std::function<bool(std::uint64_t seq, std::string_view line)>& line, FileSystem* fs = nullptr);

/// The result of verify().
struct Verification {
  bool ok = true;
  std::uint64_t records = 0;
  std::uint64_t last_seq = 0;
  std::string digest;  // from scratch
  std::vector<std::string> lines;  // one per check, "ok: …" or "FAIL: …"
};

/// Checks every record and snapshot, replays from scratch and compares digests. Changes nothing.
Verification verify(const std::string& dir, FileSystem* fs = nullptr);

}  // namespace upline
