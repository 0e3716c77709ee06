// upline/store.hpp — a durable engine: a data directory with a journal and snapshots.
//
//   DIR/journal                     every submitted event, accepted or rejected (journal.hpp)
//   DIR/snapshot-<seq, 20 digits>.snap   the whole state after event <seq> (docs/DURABILITY.md)
//
// Store::open recovers: the newest snapshot that passes its checks (CRC32C, then the digest of the
// loaded state) plus a replay of the journal after it. A torn journal tail is truncated and
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

#include "upline/engine.hpp"
#include "upline/journal.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace upline {

/// An I/O failure or a damaged data directory. The message names the file and, for damage, the
/// offset and the sequence number.
class StoreError : public std::runtime_error {
 public:
  enum class Kind { io, corrupt, usage };
  StoreError(Kind k, const std::string& msg) : std::runtime_error(msg), kind_(k) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

/// The seam between the store and the operating system, so that tests can inject write and fsync
/// failures or a full disk. Every method throws StoreError(io) on failure.
class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual bool exists(const std::string& path) = 0;
  virtual std::string read(const std::string& path) = 0;
  virtual std::vector<std::string> list(const std::string& dir) = 0;  // file names, sorted
  virtual void make_dir(const std::string& path) = 0;
  /// Opens for appending (creating it if `create`); returns a descriptor.
  virtual int open_append(const std::string& path, bool create) = 0;
  /// Creates a new file for writing (truncating one that exists).
  virtual int create(const std::string& path) = 0;
  virtual void write(int fd, std::string_view data) = 0;  // all bytes, or throws
  virtual void sync(int fd) = 0;
  virtual void close(int fd) = 0;
  virtual void truncate(const std::string& path, std::uint64_t size) = 0;
  virtual void rename(const std::string& from, const std::string& to) = 0;
  virtual void sync_dir(const std::string& dir) = 0;
  virtual void remove(const std::string& path) = 0;
  /// Takes an exclusive advisory lock on `path` for this process's lifetime (or throws).
  virtual int lock(const std::string& path) = 0;
};

/// The real file system (POSIX).
FileSystem& posix_file_system();

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
  /// Makes every submitted record durable (see the modes above).
  void commit();
  /// Writes a snapshot of the current state (after committing), then prunes old ones.
  std::string snapshot();

  const Engine& engine() const noexcept { return engine_; }
  std::uint64_t last_seq() const noexcept { return last_seq_; }
  std::uint64_t durable_seq() const noexcept { return durable_seq_; }
  const Recovery& recovery() const noexcept { return recovery_; }
  const std::string& dir() const noexcept { return dir_; }
  /// Set once a write or fsync failed: the store accepts nothing more.
  const std::optional<std::string>& failure() const noexcept { return failure_; }

 private:
  Store(std::string dir, StoreOptions options, Engine engine);
  Submitted append(std::uint64_t seq, Code code, const Event* event, std::string_view raw, Submitted result);
  void check_usable() const;
  void flush(bool fsync);

  std::string dir_;
  StoreOptions options_;
  FileSystem& fs_;
  Engine engine_;
  int journal_fd_ = -1;
  int lock_fd_ = -1;
  std::uint64_t last_seq_ = 0;
  std::uint64_t written_seq_ = 0;
  std::uint64_t durable_seq_ = 0;
  std::uint64_t since_snapshot_ = 0;
  std::uint32_t chain_ = 0;
  std::string pending_;
  Recovery recovery_;
  std::optional<std::string> failure_;
};

/// An upper bound for a rebuild: a sequence number, or a time (ms since the epoch).
struct Until {
  enum class By { seq, time } by = By::seq;
  std::int64_t value = 0;
};

/// Parses `--until`: a plain integer is a sequence number; `@MS` or an ISO-8601 UTC time
/// (`2026-01-31T12:00:00Z`, optional `.mmm`) is a time. nullopt when it is neither.
std::optional<Until> parse_until(std::string_view s) noexcept;

/// Rebuilds the state as of `until` (all of it when nullopt) without changing DIR: from the
/// newest usable snapshot at or before that point, then the journal. A torn tail is ignored,
/// corruption throws StoreError. `last_seq` receives the last sequence number applied.
Engine rebuild(const std::string& dir, std::optional<Until> until, std::uint64_t* last_seq = nullptr, FileSystem* fs = nullptr);

/// Writes the journal's events in [from, until] as JSON Lines, the format `upline replay` reads.
/// Returns how many were written.
std::uint64_t export_journal(const std::string& dir, std::uint64_t from, std::optional<std::uint64_t> until, std::string& out,
                             FileSystem* fs = nullptr);

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
