// upline/journal.hpp — the journal's record format: every submitted event, framed and chained.
//
// A journal file is a 16-byte file header ("UPLINE-JOURNAL" \0 \1) followed by records:
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
// Record 0 (kind genesis) holds the plan the store was created with. Every event submitted after
// it — accepted or rejected — gets the next sequence number. The header CRC makes a flipped length
// detectable; the chain makes a record from elsewhere (or a reordering) detectable.
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
#include "upline/status.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace upline {

inline constexpr std::string_view journal_magic{"UPLINE-JOURNAL\0\1", 16};
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
  genesis = 9,  // record 0: the plan the store was created with (canonical JSON)
};

/// One decoded journal record.
struct JournalRecord {
  std::uint64_t seq = 0;
  Code status = Code::ok;
  RecordKind kind = RecordKind::raw;
  std::optional<Event> event;  // every kind but raw and genesis
  std::string text;            // raw: the submitted text; genesis: the plan JSON
  Time at() const { return event ? event_time(*event) : 0; }
};

/// Appends the payload of a record (seq, status, kind, fields).
void encode_record_payload(std::string& out, std::uint64_t seq, Code status, const Event* event, std::string_view raw_text,
                           RecordKind raw_kind = RecordKind::raw);

/// Decodes a payload; throws FormatError naming what is wrong.
JournalRecord decode_record_payload(std::string_view payload);

/// Frames a payload: appends header + payload to `out`; returns the record's header_crc (the
/// next record's chain).
std::uint32_t frame_record(std::string& out, std::string_view payload, std::uint32_t chain);

/// Where a scan stopped.
struct JournalScan {
  enum class End { clean, torn_tail, corrupt };
  End end = End::clean;
  std::uint64_t valid_bytes = 0;   // file bytes up to the end of the last good record
  std::uint64_t records = 0;       // good records, genesis included
  std::uint64_t last_seq = 0;      // of the last good record (0: only genesis, or none)
  std::uint32_t chain = 0;         // header_crc of the last good record
  std::string problem;             // torn_tail / corrupt: what, at which offset and sequence
};

/// Scans a journal image (the whole file). `visit` (optional) receives each good record with its
/// file offset, in order; it may throw to stop. Never reads out of bounds, whatever the bytes.
JournalScan scan_journal(std::string_view image, const std::function<void(const JournalRecord&, std::uint64_t offset)>& visit = {});

}  // namespace upline
