// upline/journal.hpp — the journal's record format: every submitted event, framed and chained.
//
// A journal file is a 16-byte file header ("UPLINE-JOURNAL" \0 and a format byte, 1 or 2)
// followed by records:
//
//   header (16 bytes, little-endian)
//     u32 length        payload bytes
//     u32 chain         header_crc of the previous record (0 for the first)
//     u32 payload_crc   CRC32C of the payload
//     u32 header_crc    CRC32C of the 12 bytes above
//   payload
//     u64 seq           0 for the genesis record, then 1, 2, 3, … with no gap
//     u8  status        the event's upline::Code when it was applied
//     u8  kind          RecordKind; then the kind's fields (encode_event)
//
// Amounts (format 2): u8 form, then for text (0) the string as written, for units (1) i64 units
// and u8 scale — an amount travels as the caller gave it. Format 1 (upline 0.1) wrote every amount
// as text; it is still read, and a store keeps appending to a journal in its own format.
//
// Record 0 (kind genesis) holds the plan the store was created with. Every event submitted after
// it — accepted or rejected — gets the next sequence number. The header CRC makes a flipped length
// detectable; the chain makes a record from elsewhere (or a reordering) detectable.
//
// Segments. A journal is a series of segment files in the data directory, each sealed once it has
// grown past a set size (StoreOptions::segment_bytes) and never written again:
//
//   DIR/journal                       the first: journal_magic, then records from 0 (genesis)
//   DIR/journal-<first seq, 20 digits>  each later one: a 32-byte segment header, then records
//                                     from its first sequence number
//   segment header: "UPLINE-SEGMENT\0" · u8 format (that of the first segment's records) ·
//                   u64 first seq · u32 chain (header_crc of the record before it) · u32 CRC32C of
//                   the 28 bytes before
//
// The chain and the sequence numbers run on across segments, so the segments read in order are
// exactly the one-file journal of format 1/2. A journal of one segment is that file unchanged.
// Torn-tail rules hold for the last segment only: a sealed segment was made durable before its
// successor was created, so damage in it is corruption.
//
// scan_journal() walks a journal image and says where the valid records end and why:
//   - a torn tail: the last write was cut short by a crash — fewer than 16 header bytes, a payload
//     running past the end of the file, a zero-filled tail, or a bad payload CRC on the very last
//     record. Recovery truncates it and reports it.
//   - corruption: anything else (a bad header CRC with data after it, a broken chain, a bad payload
//     CRC with records after it, a sequence gap, an undecodable payload). Recovery refuses, naming
//     the file offset and the sequence number.
#pragma once

#include "upline/bytes.hpp"
#include "upline/event.hpp"
#include "upline/file_system.hpp"
#include "upline/rejection.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace upline {

/// The file header of a journal of the current format (2), which new journals are written in…
inline constexpr std::string_view journal_magic{"UPLINE-JOURNAL\0\2", 16};
inline constexpr std::uint8_t journal_version = 2;
/// …and of format 1 (upline 0.1), still read and appended to.
inline constexpr std::string_view journal_magic_v1{"UPLINE-JOURNAL\0\1", 16};
inline constexpr std::size_t record_header_size = 16;
inline constexpr std::uint32_t max_record_payload = 64u << 20;

enum class RecordKind : std::uint8_t {
  raw = 0,  // text that never parsed into an event (it was rejected as invalid_event/invalid_plan)
  join = 1,
  purchase = 2,
  refund = 3,
  redeem = 4,
  adjust = 5,
  suspend = 6,
  reactivate = 7,
  plan = 8,
  genesis = 9,   // record 0: the plan the store was created with (canonical JSON)
  rejected = 10, // an event a typed door rejected before it could be one (format 2): the message;
                 // replays as the same rejection
};

/// One decoded journal record.
struct JournalRecord {
  std::uint64_t seq = 0;
  Code status = Code::ok;
  RecordKind kind = RecordKind::raw;
  std::optional<Event> event;  // every kind but raw, genesis and rejected
  std::string text;            // raw: the submitted text; genesis: the plan JSON; rejected: the message
  Time at() const { return event ? event_time(*event) : 0; }
};

/// Appends the payload of a record (seq, status, kind, fields) in journal format `version`: the
/// event's fields, or for a record without an event (`event` null) `text` as a record of
/// `text_kind` (raw, genesis or rejected).
void encode_record_payload(std::string& out, std::uint64_t seq, Code status, const Event* event, std::string_view text,
                           RecordKind text_kind = RecordKind::raw, std::uint8_t version = journal_version);

/// Decodes a payload of journal format `version`; throws FormatError naming what is wrong.
JournalRecord decode_record_payload(std::string_view payload, std::uint8_t version = journal_version);

/// Frames a payload: appends header + payload to `out`; returns the record's header_crc (the
/// next record's chain).
std::uint32_t frame_record(std::string& out, std::string_view payload, std::uint32_t chain);

/// Where a scan stopped.
struct JournalScan {
  enum class End { clean, torn_tail, corrupt, missing };  // missing: scan_segments found a gap
  End end = End::clean;
  std::uint8_t version = journal_version;  // the file's format
  std::uint64_t valid_bytes = 0;   // bytes of the file (`path`) up to the end of its last good record
  std::uint64_t records = 0;       // good records, genesis included
  std::uint64_t last_seq = 0;      // of the last good record (0: only genesis, or none)
  std::uint32_t chain = 0;         // header_crc of the last good record
  std::string problem;             // torn_tail / corrupt / missing: what, at which offset and sequence
  std::string path;                // scan_segments: the segment it ended in
  std::uint64_t segment_first_seq = 0;  // …and that segment's first sequence number
};

/// Scans a journal image (the whole file). `visit` (optional) receives each good record with its
/// file offset, in order; it may throw to stop. Never reads out of bounds, whatever the bytes.
JournalScan scan_journal(std::string_view image, const std::function<void(const JournalRecord&, std::uint64_t offset)>& visit = {});

inline constexpr std::string_view segment_magic{"UPLINE-SEGMENT\0", 15};
inline constexpr std::size_t segment_header_size = 32;
/// The default size past which a segment is sealed and the next one begun.
inline constexpr std::uint64_t default_segment_bytes = std::uint64_t{64} << 20;

/// One segment file of a journal.
struct Segment {
  std::uint64_t first_seq = 0;  // 0: the first segment, which opens with the genesis record
  std::string path;
};

/// "journal" for the first segment, "journal-<first_seq, 20 digits>" for the others.
std::string segment_name(std::uint64_t first_seq);

/// The 32-byte header of a segment whose first record is `first_seq`, chained to `chain`.
std::string segment_header(std::uint8_t version, std::uint64_t first_seq, std::uint32_t chain);

/// The segments in `dir` and, when not empty, in `archive` (a segment in both: `dir`'s), in order.
/// Other files (snapshots, "….tmp") are not segments.
std::vector<Segment> journal_segments(FileSystem& fs, const std::string& dir, const std::string& archive = {});

/// Scans `segments` in order as one journal, streaming: memory is bounded by the largest record,
/// not the journal. Starts at the last segment that begins at or before sequence `from`; its
/// records before `from` are checked (CRCs, chain, sequence numbers) but neither decoded nor
/// visited. Ends `missing` when a sequence number from
/// `from` on is in no segment; `corrupt` for damage in a sealed segment or a segment that does
/// not continue the one before.
using SegmentVisitor = std::function<void(const JournalRecord&, const std::string& path, std::uint64_t offset)>;
JournalScan scan_segments(FileSystem& fs, const std::vector<Segment>& segments, std::uint64_t from, const SegmentVisitor& visit = {});

}  // namespace upline
