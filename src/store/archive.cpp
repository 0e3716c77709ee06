// archive.cpp — retention: moving the journal segments that no recovery needs to an archive
// directory (store.hpp archive_journal; docs/OPERATIONS.md).
#include "files.hpp"
#include "replay.hpp"
#include "upline/snapshot.hpp"
#include "upline/store.hpp"

namespace upline {

Archived archive_journal(const std::string& dir, const std::string& to, FileSystem* fsp) {
  FileSystem& fs = fsp ? *fsp : posix_file_system();
  const std::vector<Segment> segs = detail::segments_of(fs, dir);
  Archived out;
  // Recovery starts from a snapshot; the oldest kept one is the earliest point any recovery
  // starts from, and it must be one that loads.
  const auto snaps = snapshots_in(fs, dir);
  for (auto it = snaps.rbegin(); it != snaps.rend() && out.oldest_snapshot.empty(); ++it) {
    try {
      std::uint64_t stored = 0;
      read_snapshot(fs, dir + "/" + it->second, stored);
      if (stored == it->first) {
        out.oldest_snapshot = it->second;
        out.snapshot_seq = it->first;
      }
    } catch (const FormatError&) {  // a damaged snapshot protects nothing
    }
  }
  if (out.oldest_snapshot.empty()) return out;  // nothing can go: recovery needs the whole journal
  // A segment can go when every record in it is at or before that snapshot: the next segment
  // starts at or before snapshot_seq + 1. The last segment is the one being written: it stays.
  std::size_t going = 0;
  while (going + 1 < segs.size() && segs[going + 1].first_seq <= out.snapshot_seq + 1) ++going;
  if (going == 0) return out;
  fs.make_dir(to);
  for (std::size_t i = 0; i < going; ++i) {
    const Segment& seg = segs[i];
    // Only a segment that passes every check goes: an archive is for keeping.
    const JournalScan scan = scan_segments(fs, {seg}, seg.first_seq);
    if (scan.end != JournalScan::End::clean) detail::corrupt(seg.path, scan.problem);
    const std::string name = segment_name(seg.first_seq);
    const std::string target = to + "/" + name;
    if (fs.exists(target)) {
      // An archive run cut short after the copy: the same bytes may already be there.
      if (!detail::same_bytes(fs, seg.path, target))
        throw StoreError(StoreError::Kind::usage, target + ": already in the archive with different contents; not replaced");
    } else {
      out.bytes += detail::copy_durably(fs, seg.path, target);
      fs.sync_dir(to);
    }
    if (seg.first_seq == 0 && !fs.exists(detail::genesis_path(dir))) {
      // The genesis record (the plan the directory was created with) stays in DIR/genesis.
      // The file header and record 0 are the start of the first segment.
      std::string head(journal_magic.size() + record_header_size, '\0');
      {
        const detail::ReadFile in(fs, seg.path);
        if (fs.read_at(in.fd, 0, head.data(), head.size()) != head.size()) detail::corrupt(seg.path, "a first segment shorter than its genesis record");
      }
      const std::uint64_t length = ByteReader(std::string_view(head).substr(journal_magic.size(), 4)).u32();
      detail::copy_durably(fs, seg.path, detail::genesis_path(dir), journal_magic.size() + record_header_size + length);
      fs.sync_dir(dir);
    }
    fs.remove(seg.path);
    fs.sync_dir(dir);
    out.moved.push_back(name);
    out.through_seq = segs[i + 1].first_seq - 1;
  }
  return out;
}

}  // namespace upline
