// Tests for the digest (upline/state.hpp, upline/sha256.hpp; SPEC §10): SHA-256 against FIPS 180-4 /
// NIST vectors, incremental updates, the canonical byte encoding of StreamWriter, and digest() against
// the portable hash of encode_state's bytes.
#include "upline/engine.hpp"
#include "upline/sha256.hpp"
#include "upline/state.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Feeds a StreamWriter's bytes to the portable SHA-256.
struct ShaSink {
  upline::Sha256& h;
  void write(const char* p, std::size_t n) { h.update(p, n); }
};

}  // namespace

namespace {

std::string sha256_hex(std::string_view s) {
  upline::Sha256 h;
  h.update(s.data(), s.size());
  return h.hex_final();
}

// Bytes (i*7+3) mod 256, i = 0..n-1; the expected digests below come from an independent
// implementation (Python's hashlib).
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + 3) % 256);
  return s;
}

}  // namespace

TEST_CASE("digest: FIPS 180-4 test vectors") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // The 448-bit message (two blocks after padding).
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // The 896-bit message.
  CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST_CASE("digest: one million 'a'") {
  const std::string a(1'000'000, 'a');
  CHECK(sha256_hex(a) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

  // The same, fed one byte at a time.
  upline::Sha256 h;
  for (char c : a) h.update(&c, 1);
  CHECK(h.hex_final() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("digest: padding boundaries (55, 56, 63, 64, 65, 119, 120, 127, 128 bytes)") {
  struct V {
    std::size_t n;
    const char* hex;
  };
  const V vectors[] = {
      {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
      {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
      {57, "35df609437dcfea3279283ab79fd554e2bf78f8f7ae2de532d8ee300b09e8f73"},
      {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
      {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
      {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
      {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
      {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
      {127, "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07"},
      {128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
  };
  for (const V& v : vectors) {
    CAPTURE(v.n);
    CHECK(sha256_hex(pattern(v.n)) == v.hex);
  }
}

TEST_CASE("digest: incremental updates in odd chunk sizes equal one-shot") {
  const std::string msg = pattern(5000);
  const std::string one_shot = sha256_hex(msg);
  const std::size_t chunk_sizes[] = {1, 3, 7, 13, 31, 55, 63, 64, 65, 127, 1000, 4999};
  for (std::size_t chunk : chunk_sizes) {
    CAPTURE(chunk);
    upline::Sha256 h;
    for (std::size_t off = 0; off < msg.size(); off += chunk) {
      const std::size_t n = std::min(chunk, msg.size() - off);
      h.update(msg.data() + off, n);
    }
    CHECK(h.hex_final() == one_shot);
  }

  // Irregular, growing chunks, including zero-length updates.
  upline::Sha256 h;
  std::size_t off = 0, step = 0;
  while (off < msg.size()) {
    const std::size_t n = std::min(step % 97, msg.size() - off);
    h.update(msg.data() + off, n);
    off += n;
    ++step;
  }
  CHECK(h.hex_final() == one_shot);
}

TEST_CASE("digest: reset makes the object reusable") {
  upline::Sha256 h;
  h.update("garbage", 7);
  (void)h.hex_final();
  h.reset();
  h.update("abc", 3);
  CHECK(h.hex_final() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  h.reset();
  CHECK(h.hex_final() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("digest: output is 64 lowercase hex digits") {
  const std::string d = sha256_hex("upline");
  REQUIRE(d.size() == 64);
  for (char c : d) CHECK(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')));
}

TEST_CASE("digest: StreamWriter encodes little-endian fixed width and length-prefixed strings") {
  // Expected bytes: ab | 04 03 02 01 | 88 77 66 55 44 33 22 11 | fe ff ff ff ff ff ff ff | 05 00 00 00 "hello"
  std::string expected;
  const unsigned char bytes[] = {0xab, 0x04, 0x03, 0x02, 0x01, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
                                 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x05, 0x00, 0x00, 0x00};
  expected.assign(reinterpret_cast<const char*>(bytes), sizeof bytes);
  expected += "hello";

  upline::Sha256 h;
  {
    ShaSink sink{h};
    upline::StreamWriter<ShaSink> w(sink);
    w.u8(0xab);
    w.u32(0x01020304u);
    w.u64(0x1122334455667788ull);
    w.i64(-2);
    w.str("hello");
    w.flush();  // the last bytes reach the sink only by flush()
  }
  const std::string got = h.hex_final();
  CHECK(got == sha256_hex(expected));
  CHECK(got == "8841e96b0a7817b6d56d2dc53d7bb3b9875c7866260f2f69065f793e36d27302");
}

TEST_CASE("digest: StreamWriter with strings larger than its buffer") {
  const std::string big = pattern(10'000);
  const std::string small = "x";
  std::string expected;
  auto put_str = [&](const std::string& s) {
    const auto n = static_cast<std::uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) expected += static_cast<char>((n >> (8 * i)) & 0xff);
    expected += s;
  };
  put_str(small);
  put_str(big);
  put_str(small);
  put_str(std::string(4096, 'q'));
  put_str("");

  upline::Sha256 h;
  {
    ShaSink sink{h};
    upline::StreamWriter<ShaSink> w(sink);
    w.str(small);
    w.str(big);
    w.str(small);
    w.str(std::string(4096, 'q'));
    w.str("");
    w.flush();
    w.flush();  // a second flush writes nothing more
  }
  CHECK(h.hex_final() == sha256_hex(expected));
}

TEST_CASE("digest: equals the portable SHA-256 of encode_state's bytes, below and above the two-thread size") {
  // digest() hashes with libcrypto, on a second thread when the state passes 16 MiB; the bytes
  // and their hash must not depend on either. 300,000 members (about 19 MiB) and 1,000 members.
  upline::PlanFaults faults;
  const auto plan = upline::Plan::parse(R"({"name":"p","version":1,"money_scale":2,"points_scale":2,
    "shops":{"main":{"ratio":"1"}},
    "tiers":[{"name":"bronze","width":3,"rates":["0.1","0.05"]},
             {"name":"silver","width":2,"rates":["0.2"],"promote_at":{"lifetime_points":"50.00"}}]})", faults);
  REQUIRE_MESSAGE(plan, faults.message());
  for (const std::uint32_t members : {1'000u, 300'000u}) {
    upline::Engine engine(*plan);
    std::vector<upline::Effect> fx;
    for (std::uint32_t m = 1; m <= members; ++m) {
      fx.clear();
      REQUIRE(engine.apply(upline::Join{m, m == 1 ? std::nullopt : std::optional<upline::MemberId>(m / 2), upline::Time{m}}, fx));
      if (m % 7 == 0) {
        fx.clear();
        REQUIRE(engine.apply(upline::Purchase{"o" + std::to_string(m), m, "main", *upline::Decimal::parse("60.00"), upline::Time{m}}, fx));
      }
    }
    upline::Sha256 h;
    {
      ShaSink sink{h};
      upline::encode_state(engine.state(), sink);
    }
    INFO(members, " members");
    CHECK(engine.digest() == h.hex_final());
  }
}
