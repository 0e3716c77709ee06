// backup.cpp — an online backup: a consistent copy of a data directory while its writer runs
// (store.hpp backup; docs/OPERATIONS.md).
//
// Everything a writer writes is append-only or written once: snapshots are made under a temporary
// name and renamed, sealed segments are never written again, the active segment only grows. So a
// copy of the newest snapshot, then of every segment in order — the last one up to its size at
// that moment — is a data directory whose journal may end in a record cut short, which opening
// the copy truncates as a torn tail. Each source segment is fsynced before it is copied, so that
// the copy never holds a record the source could still lose in a crash.
#include "files.hpp"
#include "replay.hpp"
#include "upline/snapshot.hpp"
#include "upline/store.hpp"

namespace upline {

BackupResult backup(const std::string& dir, const std::string& to, FileSystem* fsp) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  if (fs.exists(to) && !fs.list(to).empty()) throw StoreError(StoreError::Kind::usage, to + ": not empty; a backup goes to a new or empty directory");
  detail::segments_of(fs, dir);  // throws: no journal here
  fs.make_dir(to);
  BackupResult out;
  // 1. The newest snapshot; the writer may prune it meanwhile, then the next newest is taken.
  for (const auto& [seq, name] : snapshots_in(fs, dir)) {
    try {
      out.bytes += detail::copy_durably(fs, dir + "/" + name, to + "/" + name);
      out.snapshot = name;
      break;
    } catch (const StoreError&) {
      if (fs.exists(dir + "/" + name)) throw;  // not a race with pruning: a real failure
    }
  }
  // 2. The genesis record, if DIR's first segment was archived.
  if (fs.exists(detail::genesis_path(dir))) out.bytes += detail::copy_durably(fs, detail::genesis_path(dir), detail::genesis_path(to));
  // 3. Every segment, in order; each fsynced in the source once read (see above).
  const std::vector<Segment> segs = detail::segments_of(fs, dir);
  for (const Segment& seg : segs) {
    const std::string name = segment_name(seg.first_seq);
    std::uint64_t size = 0;
    {
      // Durable in the source first, then copied up to that size: the copy never holds a record
      // the source could still lose in a crash.
      const detail::ReadFile src(fs, seg.path);
      size = fs.file_size(src.fd);
      fs.sync(src.fd);
    }
    out.bytes += detail::copy_durably(fs, seg.path, to + "/" + name, size);
    ++out.segments;
  }
  fs.sync_dir(to);
  // 4. Open the copy: it recovers (a record cut short at the end is truncated) and says where it is.
  StoreOptions options;
  options.fs = &fs;
  options.snapshot_bytes = 0;
  auto copy = Store::open(to, options);
  out.seq = copy->last_seq();
  out.digest = copy->engine().digest();
  out.notes = copy->recovery().notes;
  return out;
}

}  // namespace upline
