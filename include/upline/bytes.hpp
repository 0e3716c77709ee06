// upline/bytes.hpp — CRC32C and little-endian byte encoding for the journal and snapshots.
//
// ByteReader never reads past its input: every read checks the bounds and throws
// upline::FormatError (with the offset) instead, so malformed or hostile bytes can only ever
// produce an error, never a crash.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace upline {

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI, ext4 and LevelDB.
/// crc32c("123456789") == 0xE3069283.
class Crc32c {
 public:
  static std::uint32_t compute(const void* data, std::size_t n, std::uint32_t crc = 0) noexcept {
    static const Table t;
    auto p = static_cast<const unsigned char*>(data);
    crc = ~crc;
    while (n >= 8) {  // slicing-by-8
      std::uint32_t lo = crc ^ (std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24);
      std::uint32_t hi = std::uint32_t(p[4]) | std::uint32_t(p[5]) << 8 | std::uint32_t(p[6]) << 16 | std::uint32_t(p[7]) << 24;
      crc = t.v[7][lo & 0xff] ^ t.v[6][(lo >> 8) & 0xff] ^ t.v[5][(lo >> 16) & 0xff] ^ t.v[4][lo >> 24] ^ t.v[3][hi & 0xff] ^
            t.v[2][(hi >> 8) & 0xff] ^ t.v[1][(hi >> 16) & 0xff] ^ t.v[0][hi >> 24];
      p += 8;
      n -= 8;
    }
    while (n--) crc = t.v[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
  }
  static std::uint32_t compute(std::string_view s, std::uint32_t crc = 0) noexcept { return compute(s.data(), s.size(), crc); }

 private:
  struct Table {
    std::uint32_t v[8][256];
    Table() noexcept {
      for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        v[0][i] = c;
      }
      for (std::uint32_t i = 0; i < 256; ++i)
        for (int s = 1; s < 8; ++s) v[s][i] = (v[s - 1][i] >> 8) ^ v[0][v[s - 1][i] & 0xff];
    }
  };
};

/// Malformed bytes: the message names the offset and what was expected.
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Appends little-endian fixed-width integers and length-prefixed strings to a std::string.
class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) noexcept : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { le(v, 4); }
  void u64(std::uint64_t v) { le(v, 8); }
  void i64(std::int64_t v) { le(static_cast<std::uint64_t>(v), 8); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  void raw(std::string_view s) { out_.append(s); }

 private:
  void le(std::uint64_t v, int n) {
    char b[8];
    for (int i = 0; i < n; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_.append(b, static_cast<std::size_t>(n));
  }
  std::string& out_;
};

/// Reads what ByteWriter wrote; every read is bounds-checked (FormatError on a short input).
class ByteReader {
 public:
  explicit ByteReader(std::string_view in, std::uint64_t base_offset = 0) noexcept : in_(in), base_(base_offset) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::uint64_t u64() { return le(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(le(8)); }
  std::string str(std::size_t max = 1u << 30) {
    const std::uint32_t n = u32();
    if (n > max) fail("a string of " + std::to_string(n) + " bytes (at most " + std::to_string(max) + ")");
    return std::string(take(n));
  }
  std::string_view take(std::size_t n) {
    if (n > in_.size() - pos_) fail(std::to_string(n) + " more bytes, " + std::to_string(in_.size() - pos_) + " left");
    std::string_view v = in_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::size_t left() const noexcept { return in_.size() - pos_; }
  std::uint64_t offset() const noexcept { return base_ + pos_; }
  [[noreturn]] void fail(const std::string& expected) const {
    throw FormatError("at byte " + std::to_string(base_ + pos_) + ": expected " + expected);
  }

 private:
  std::uint64_t le(int n) {
    std::string_view b = take(static_cast<std::size_t>(n));
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= std::uint64_t(static_cast<unsigned char>(b[static_cast<std::size_t>(i)])) << (8 * i);
    return v;
  }
  std::string_view in_;
  std::uint64_t base_;
  std::size_t pos_ = 0;
};

}  // namespace upline
