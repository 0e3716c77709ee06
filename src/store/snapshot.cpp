// snapshot.cpp — snapshot files (format in snapshot.hpp).
#include "upline/snapshot.hpp"

#include "upline/bytes.hpp"

#include <algorithm>

namespace upline {

namespace {
constexpr std::string_view snapshot_magic{"UPLINE-SNAPSHOT\0", 16};
}  // namespace

std::string snapshot_name(std::uint64_t seq) {
  std::string digits = std::to_string(seq);
  return "snapshot-" + std::string(20 - digits.size(), '0') + digits + ".snap";
}

std::vector<std::pair<std::uint64_t, std::string>> snapshots_in(FileSystem& fs, const std::string& dir) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  for (const std::string& n : fs.list(dir)) {
    if (n.size() != 34 || n.compare(0, 9, "snapshot-") != 0 || n.compare(29, 5, ".snap") != 0) continue;
    const std::string digits = n.substr(9, 20);
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    out.emplace_back(std::stoull(digits), n);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return out;
}

std::string encode_snapshot(const State& state, std::uint64_t seq) {
  std::string out;
  ByteWriter w(out);
  w.raw(snapshot_magic);
  w.u32(snapshot_format);
  w.u32(0);
  w.u64(seq);
  w.str(digest(state));
  const std::string bytes = save_state(state);
  w.u64(bytes.size());
  w.raw(bytes);
  w.u32(Crc32c::compute(out));
  return out;
}

State decode_snapshot(std::string_view image, std::uint64_t& seq) {
  if (image.size() < snapshot_magic.size() + 4) throw FormatError("a snapshot shorter than its header");
  const std::uint32_t stored_crc = ByteReader(image.substr(image.size() - 4)).u32();
  if (Crc32c::compute(image.substr(0, image.size() - 4)) != stored_crc) throw FormatError("a snapshot that fails its checksum");
  ByteReader r(image.substr(0, image.size() - 4));
  if (r.take(snapshot_magic.size()) != snapshot_magic) r.fail("the snapshot magic");
  const std::uint32_t format = r.u32();
  if (format != 1 && format != 2) r.fail("snapshot format 1 or 2");
  r.u32();
  seq = r.u64();
  const std::string digest_hex = r.str(64);
  const std::uint64_t n = r.u64();
  if (n != r.left()) r.fail(std::to_string(r.left()) + " bytes of state");
  return load_state(r.take(static_cast<std::size_t>(n)), digest_hex);
}

}  // namespace upline
