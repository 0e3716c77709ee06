// upline/snapshot.hpp — snapshot files: the whole state after an event, checked on load.
//
//   DIR/snapshot-<seq, 20 digits>.snap
//     16 bytes "UPLINE-SNAPSHOT\0" · u32 format (2) · u32 0 · u64 seq · str digest (64 hex) ·
//     u64 length · state (state.hpp save_state) · u32 CRC32C of everything before it
//
// Loading checks the CRC, then the SHA-256 of the state's canonical stream against the stored
// digest, then decodes it (state.hpp). Format 1 (upline 0.1) snapshots still load; their state is
// checked by recomputing its digest. docs/DURABILITY.md has the layout.
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
inline constexpr std::uint32_t snapshot_format = 2;

/// "snapshot-00000000000000000042.snap".
std::string snapshot_name(std::uint64_t seq);

/// The snapshot files in `dir`, newest first, with their sequence numbers.
std::vector<std::pair<std::uint64_t, std::string>> snapshots_in(FileSystem& fs, const std::string& dir);

/// A snapshot file's bytes for `state` after event `seq`.
std::string encode_snapshot(const State& state, std::uint64_t seq);

/// The state in a snapshot file's bytes; `seq` receives its sequence number. Throws FormatError
/// naming the fault (checksum, digest, format, state).
State decode_snapshot(std::string_view image, std::uint64_t& seq);

}  // namespace upline
