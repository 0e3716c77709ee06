// test_bytes.cpp — CRC32C against published vectors, and ByteReader/ByteWriter: exact encodings and
// bounds checks that throw FormatError (never read past the input).
#include "upline/bytes.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace {

using upline::ByteReader;
using upline::ByteWriter;
using upline::Crc32c;
using upline::FormatError;

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

}  // namespace

TEST_CASE("bytes: crc32c known vectors (RFC 3720 B.4, the check value)") {
  CHECK(Crc32c::compute("123456789") == 0xE3069283u);
  CHECK(Crc32c::compute("") == 0u);
  CHECK(Crc32c::compute(nullptr, 0) == 0u);
  CHECK(Crc32c::compute(std::string(32, '\0')) == 0x8A9136AAu);
  CHECK(Crc32c::compute(std::string(32, '\xff')) == 0x62A8AB43u);
  std::string up, down;
  for (int i = 0; i < 32; ++i) {
    up.push_back(static_cast<char>(i));
    down.push_back(static_cast<char>(31 - i));
  }
  CHECK(Crc32c::compute(up) == 0x46DD794Eu);
  CHECK(Crc32c::compute(down) == 0x113FDB5Cu);
  CHECK(Crc32c::compute("a") == 0xC1D04330u);
}

TEST_CASE("bytes: crc32c incremental equals one-shot at every split point and alignment") {
  std::string data;
  for (int i = 0; i < 203; ++i) data.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  const std::uint32_t whole = Crc32c::compute(data);
  for (std::size_t split = 0; split <= data.size(); ++split) {
    const std::string_view a = std::string_view(data).substr(0, split), b = std::string_view(data).substr(split);
    REQUIRE(Crc32c::compute(b, Crc32c::compute(a)) == whole);
  }
  // Three pieces, byte by byte.
  std::uint32_t crc = 0;
  for (char c : data) crc = Crc32c::compute(&c, 1, crc);
  CHECK(crc == whole);
  // Unaligned starting addresses give the same answer (the slicing-by-8 loop reads bytes).
  std::string padded = "xyz" + data;
  CHECK(Crc32c::compute(padded.data() + 3, data.size()) == whole);
  // Any single flipped bit changes it.
  for (std::size_t i = 0; i < data.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string d = data;
      d[i] = static_cast<char>(d[i] ^ (1 << bit));
      REQUIRE(Crc32c::compute(d) != whole);
    }
}

TEST_CASE("bytes: crc32c in hardware equals the tables at random lengths, alignments and seeds") {
  // Lengths around the three-stream block sizes (3 × 256 and 3 × 8192 bytes) and random ones, at
  // every alignment of the start; compute() is whichever this CPU uses, compute_portable() the tables.
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  std::string data(3 * 8192 * 3 + 64, '\0');
  for (char& c : data) c = static_cast<char>(next());
  std::vector<std::size_t> lengths{0, 1, 7, 8, 9, 15, 16, 255, 256, 767, 768, 769, 3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1, 3 * 8192 + 3 * 256 + 17,
                                   2 * 3 * 8192 + 5};
  for (int i = 0; i < 200; ++i) lengths.push_back(static_cast<std::size_t>(next() % (data.size() - 16)));
  for (std::size_t n : lengths)
    for (std::size_t align = 0; align < 9; ++align) {
      CAPTURE(n);
      CAPTURE(align);
      const auto seed = static_cast<std::uint32_t>(next());
      const std::uint32_t portable = Crc32c::compute_portable(data.data() + align, n, seed);
      REQUIRE(Crc32c::compute(data.data() + align, n, seed) == portable);
#if UPLINE_CRC32C_X86
      if (Crc32c::hardware()) REQUIRE(Crc32c::compute_hardware(data.data() + align, n, seed) == portable);
#endif
    }
  MESSAGE("CRC32C in hardware: " << (Crc32c::hardware() ? "yes" : "no (tables)"));
#if UPLINE_CRC32C_X86
  if (Crc32c::hardware()) CHECK(Crc32c::compute_hardware("123456789", 9) == 0xE3069283u);
#endif
  CHECK(Crc32c::compute_portable("123456789", 9) == 0xE3069283u);
}

TEST_CASE("bytes: ByteWriter encodes little-endian, fixed width, length-prefixed strings") {
  std::string out;
  ByteWriter w(out);
  w.u8(0xAB);
  w.u32(0x01020304u);
  w.u64(0x0102030405060708ull);
  w.i64(-2);
  w.str("hi");
  w.raw("!");
  CHECK(out == bytes({0xAB, 4, 3, 2, 1, 8, 7, 6, 5, 4, 3, 2, 1, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 2, 0, 0, 0, 'h', 'i', '!'}));

  ByteReader r(out);
  CHECK(r.u8() == 0xAB);
  CHECK(r.u32() == 0x01020304u);
  CHECK(r.u64() == 0x0102030405060708ull);
  CHECK(r.i64() == -2);
  CHECK(r.str() == "hi");
  CHECK(r.take(1) == "!");
  CHECK(r.left() == 0);
  CHECK(r.offset() == out.size());
}

TEST_CASE("bytes: ByteReader round-trips the extremes") {
  std::string out;
  ByteWriter w(out);
  w.i64(std::numeric_limits<std::int64_t>::min());
  w.i64(std::numeric_limits<std::int64_t>::max());
  w.u64(std::numeric_limits<std::uint64_t>::max());
  w.u32(0xFFFFFFFFu);
  w.str("");
  w.str(std::string("\0a\0", 3));
  ByteReader r(out);
  CHECK(r.i64() == std::numeric_limits<std::int64_t>::min());
  CHECK(r.i64() == std::numeric_limits<std::int64_t>::max());
  CHECK(r.u64() == std::numeric_limits<std::uint64_t>::max());
  CHECK(r.u32() == 0xFFFFFFFFu);
  CHECK(r.str() == "");
  CHECK(r.str() == std::string("\0a\0", 3));
  CHECK(r.left() == 0);
}

TEST_CASE("bytes: ByteReader bounds errors are FormatError, at every short length") {
  SUBCASE("empty input") {
    ByteReader r("");
    CHECK_THROWS_AS(r.u8(), FormatError);
    CHECK_THROWS_AS(r.u32(), FormatError);
    CHECK_THROWS_AS(r.u64(), FormatError);
    CHECK_THROWS_AS(r.i64(), FormatError);
    CHECK_THROWS_AS(r.str(), FormatError);
    CHECK_THROWS_AS(r.take(1), FormatError);
    CHECK(r.take(0).empty());
  }
  SUBCASE("every width, one byte short") {
    for (std::size_t n = 0; n < 8; ++n) {
      const std::string in(n, '\x01');
      if (n < 4) CHECK_THROWS_AS(ByteReader(in).u32(), FormatError);
      CHECK_THROWS_AS(ByteReader(in).u64(), FormatError);
      CHECK_THROWS_AS(ByteReader(in).i64(), FormatError);
      CHECK_THROWS_AS(ByteReader(in).take(n + 1), FormatError);
    }
  }
  SUBCASE("a failed read consumes nothing") {
    const std::string in = bytes({1, 2, 3});  // the reader views it: it must outlive the reader
    ByteReader r(in);
    CHECK_THROWS_AS(r.u32(), FormatError);
    CHECK(r.left() == 3);
    CHECK(r.u8() == 1);
  }
  SUBCASE("a string whose length runs past the end") {
    std::string in;
    ByteWriter(in).u32(10);
    in += "abc";
    ByteReader r(in);
    CHECK_THROWS_AS(r.str(), FormatError);
  }
  SUBCASE("a string length near 2^32 does not wrap") {
    std::string in;
    ByteWriter(in).u32(0xFFFFFFFFu);
    in += "abc";
    CHECK_THROWS_AS(ByteReader(in).str(), FormatError);
    CHECK_THROWS_AS(ByteReader(in).str(std::numeric_limits<std::size_t>::max()), FormatError);
  }
  SUBCASE("a string longer than its maximum") {
    std::string in;
    ByteWriter(in).str("abcdef");
    CHECK_THROWS_AS(ByteReader(in).str(5), FormatError);
    CHECK(ByteReader(in).str(6) == "abcdef");
  }
  SUBCASE("take of a huge count does not wrap around") {
    ByteReader r("abc");
    r.u8();
    CHECK_THROWS_AS(r.take(std::numeric_limits<std::size_t>::max()), FormatError);
    CHECK_THROWS_AS(r.take(std::numeric_limits<std::size_t>::max() - 1), FormatError);
    CHECK(r.take(2) == "bc");
  }
  SUBCASE("the message names the offset, counting from the base") {
    ByteReader r("ab", 1000);
    r.u8();
    try {
      r.u32();
      FAIL("no FormatError");
    } catch (const FormatError& e) {
      const std::string what = e.what();
      CHECK(what.find("at byte 1001") != std::string::npos);
      CHECK(what.find("4 more bytes, 1 left") != std::string::npos);
    }
    CHECK(r.offset() == 1001);
  }
  SUBCASE("fail() throws FormatError with the expectation") {
    ByteReader r("xyz", 5);
    r.take(2);
    try {
      r.fail("a widget");
      FAIL("no FormatError");
    } catch (const FormatError& e) {
      CHECK(std::string(e.what()) == "at byte 7: expected a widget");
    }
  }
}

TEST_CASE("bytes: every prefix of a valid encoding fails cleanly, never reads past the end") {
  std::string full;
  ByteWriter w(full);
  w.u64(42);
  w.str("payload");
  w.i64(-7);
  w.u8(9);
  w.str("");
  for (std::size_t n = 0; n < full.size(); ++n) {
    // A copy of exactly n bytes, so that a read past it would be a heap overflow under ASan.
    const std::string cut = full.substr(0, n);
    ByteReader r(cut);
    bool threw = false;
    try {
      r.u64();
      r.str();
      r.i64();
      r.u8();
      r.str();
    } catch (const FormatError&) {
      threw = true;
    }
    REQUIRE(threw);
  }
  ByteReader r(full);
  CHECK(r.u64() == 42);
  CHECK(r.str() == "payload");
  CHECK(r.i64() == -7);
  CHECK(r.u8() == 9);
  CHECK(r.str().empty());
  CHECK(r.left() == 0);
}
