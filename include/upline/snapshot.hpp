// upline/snapshot.hpp — snapshot files: the whole state after an event, checked on load.
//
//   DIR/snapshot-<seq, 20 digits>.snap
//
// Format 3 (written now) lays the state's tables out for bulk I/O: a 40-byte header, then one
// section per table — counters, plan, reward ids, shop ids, member records, grants, each tier's
// matrix, order ids, orders, credits, redemptions, adjustments, plan changes — each a 24-byte
// header (table, element count, byte length), the bytes, zero padding to 8 and its own CRC32C, and
// last an end section holding the state's digest. Integers are little-endian and fixed-width; a
// record whose in-memory layout is exactly its file layout (a member record, a credit) is copied
// as it is on a little-endian host. docs/DURABILITY.md has the layout byte by byte.
//
// Loading checks every section's CRC and every value (counts against bytes, indices in range,
// references to members, distinct ids), so malformed bytes give a FormatError, never undefined
// behaviour; then it recomputes the digest of the loaded state (state.hpp digest) and compares it
// with the stored one.
//
// Formats 1 (upline 0.1) and 2 (the canonical stream, state.hpp save_state) still load.
#pragma once

#include "upline/file_system.hpp"
#include "upline/state.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace upline {

/// The snapshot file format written now.
inline constexpr std::uint32_t snapshot_format = 3;

/// "snapshot-00000000000000000042.snap".
std::string snapshot_name(std::uint64_t seq);

/// The snapshot files in `dir`, newest first, with their sequence numbers.
std::vector<std::pair<std::uint64_t, std::string>> snapshots_in(FileSystem& fs, const std::string& dir);

/// Whether loading a format-3 snapshot recomputes the state's digest and compares it with the
/// stored one. `skip` is for measurements only: without it nothing shows that the tables are the
/// state that was saved, only that they are well-formed.
enum class DigestCheck { verify, skip };

/// Writes a snapshot of `state` after event `seq` to `fd` (created by fs.create, positioned at
/// its start), through fs.write in pieces of a few MiB: the file image is never in memory, so a
/// forked child can write it with little more than its buffer. The digest is computed on other
/// threads while the tables are written (it goes last, in the end section). Syncing and closing
/// `fd` are the caller's. `state` must not change meanwhile.
void write_snapshot(FileSystem& fs, int fd, const State& state, std::uint64_t seq);

/// Reads the snapshot at `path`; `seq` receives its sequence number. A format-3 file is read
/// section by section straight into the tables (fs.open_read, fs.read_at, fs.file_size); a
/// format 1 or 2 file is read whole and decoded as before. Throws FormatError naming the fault
/// (checksum, digest, format, a value), StoreError when the file cannot be read.
/// `verified`, when given, receives the digest a format-3 file stored and the load checked (left
/// unchanged otherwise), so that the caller need not compute it again.
State read_snapshot(FileSystem& fs, const std::string& path, std::uint64_t& seq, DigestCheck check = DigestCheck::verify,
                    std::string* verified = nullptr);

/// A snapshot file's bytes for `state` after event `seq` (format 3; what write_snapshot writes).
std::string encode_snapshot(const State& state, std::uint64_t seq);

/// The state in a snapshot file's bytes (format 1, 2 or 3); `seq` receives its sequence number.
/// Throws FormatError naming the fault (checksum, digest, format, state).
State decode_snapshot(std::string_view image, std::uint64_t& seq, DigestCheck check = DigestCheck::verify);

}  // namespace upline
