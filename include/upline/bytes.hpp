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
#include <utility>

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define UPLINE_CRC32C_X86 1
#include <nmmintrin.h>
#else
#define UPLINE_CRC32C_X86 0
#endif

namespace upline {

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI, ext4 and LevelDB.
/// crc32c("123456789") == 0xE3069283.
///
/// compute() uses the CPU's CRC32 instruction where there is one (x86-64 with SSE4.2, detected
/// once at run time): three independent streams over blocks of 8 KiB (then 256 bytes), so that the
/// instruction's 3-cycle latency is hidden, combined by multiplying by x^(8·block) mod P (Mark
/// Adler's crc32c.c). Elsewhere, and on CPUs without it, compute_portable(): slicing-by-8 tables.
/// Both give the same result bit for bit (tests/test_bytes.cpp compares them).
class Crc32c {
 public:
  static std::uint32_t compute(const void* data, std::size_t n, std::uint32_t crc = 0) noexcept {
#if UPLINE_CRC32C_X86
    static const bool hardware = __builtin_cpu_supports("sse4.2");
    if (hardware) return compute_hardware(data, n, crc);
#endif
    return compute_portable(data, n, crc);
  }
  static std::uint32_t compute(std::string_view s, std::uint32_t crc = 0) noexcept { return compute(s.data(), s.size(), crc); }

  /// Whether compute() uses the CPU's CRC32 instruction.
  static bool hardware() noexcept {
#if UPLINE_CRC32C_X86
    static const bool hardware = __builtin_cpu_supports("sse4.2");
    return hardware;
#else
    return false;
#endif
  }

  /// The table-driven CRC (slicing-by-8), on every CPU.
  static std::uint32_t compute_portable(const void* data, std::size_t n, std::uint32_t crc = 0) noexcept {
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

#if UPLINE_CRC32C_X86
  /// The CRC32 instruction (SSE4.2); only on a CPU that has it (hardware()).
  __attribute__((target("sse4.2"))) static std::uint32_t compute_hardware(const void* data, std::size_t n, std::uint32_t crc = 0) noexcept {
    static const Shifts shifts;
    auto p = static_cast<const unsigned char*>(data);
    std::uint64_t c0 = ~crc;
    while (n > 0 && (reinterpret_cast<std::uintptr_t>(p) & 7) != 0) {  // to an 8-byte boundary
      c0 = _mm_crc32_u8(static_cast<std::uint32_t>(c0), *p++);
      --n;
    }
    // Three streams: 3 × 8 KiB blocks while they last, then 3 × 256 bytes (no lambda: it would
    // not inherit the target attribute).
    for (int round = 0; round < 2; ++round) {
      const std::size_t block = round == 0 ? Shifts::long_block : Shifts::short_block;
      const std::uint32_t(&shift)[4][256] = round == 0 ? shifts.long_shift : shifts.short_shift;
      while (n >= 3 * block) {
        std::uint64_t c1 = 0, c2 = 0;
        for (const unsigned char* end = p + block; p < end; p += 8) {
          c0 = _mm_crc32_u64(c0, load64(p));
          c1 = _mm_crc32_u64(c1, load64(p + block));
          c2 = _mm_crc32_u64(c2, load64(p + 2 * block));
        }
        c0 = Shifts::apply(shift, static_cast<std::uint32_t>(c0)) ^ c1;
        c0 = Shifts::apply(shift, static_cast<std::uint32_t>(c0)) ^ c2;
        p += 2 * block;
        n -= 3 * block;
      }
    }
    for (; n >= 8; n -= 8, p += 8) c0 = _mm_crc32_u64(c0, load64(p));
    for (; n > 0; --n) c0 = _mm_crc32_u8(static_cast<std::uint32_t>(c0), *p++);
    return ~static_cast<std::uint32_t>(c0);
  }
#endif

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

#if UPLINE_CRC32C_X86
  static std::uint64_t load64(const unsigned char* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }

  // Operators that append `block` zero bytes to a (pre-inverted) CRC register, as four byte-wise
  // tables each: crc(A ‖ B) = shift_|B|(crc(A)) ^ crc₀(B), crc₀ starting from 0.
  struct Shifts {
    static constexpr std::size_t long_block = 8192, short_block = 256;
    std::uint32_t long_shift[4][256];
    std::uint32_t short_shift[4][256];
    Shifts() noexcept {
      build(long_shift, long_block);
      build(short_shift, short_block);
    }
    static std::uint32_t apply(const std::uint32_t (&t)[4][256], std::uint32_t crc) noexcept {
      return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
    }

   private:
    // GF(2) 32×32 matrices as 32 column vectors.
    static std::uint32_t times(const std::uint32_t* mat, std::uint32_t vec) noexcept {
      std::uint32_t sum = 0;
      for (; vec != 0; vec >>= 1, ++mat)
        if (vec & 1) sum ^= *mat;
      return sum;
    }
    static void square(std::uint32_t* out, const std::uint32_t* mat) noexcept {
      for (int k = 0; k < 32; ++k) out[k] = times(mat, mat[k]);
    }
    // The operator for `bytes` zero bytes (a power of two), by repeated squaring of the one-bit operator.
    static void build(std::uint32_t (&t)[4][256], std::size_t bytes) noexcept {
      std::uint32_t a[32], b[32];
      a[0] = 0x82F63B78u;  // one zero bit
      for (int k = 1; k < 32; ++k) a[k] = std::uint32_t{1} << (k - 1);
      std::uint32_t* op = a;
      std::uint32_t* other = b;
      for (std::size_t bits = 1; bits < bytes * 8; bits *= 2) {
        square(other, op);
        std::swap(op, other);
      }
      for (std::uint32_t v = 0; v < 256; ++v)
        for (int k = 0; k < 4; ++k) t[k][v] = times(op, v << (8 * k));
    }
  };
#endif
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
