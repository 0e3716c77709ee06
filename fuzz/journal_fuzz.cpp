// journal_fuzz.cpp — a fuzz target for the readers of untrusted bytes in a data directory: the
// journal scanner, the record decoder, the engine state decoder and the snapshot path of recovery.
//
// Built two ways (fuzz/CMakeLists.txt): with libFuzzer (-fsanitize=fuzzer, target journal_fuzzer),
// and with standalone_driver.cpp, which runs a corpus through it in the normal test suite.
//
// Every input goes through each reader as it is, and — so that the fuzzer gets past the checksums
// to the decoders behind them — once more with its checksums repaired:
//   1. scan_journal, with a visitor that uses each record it hands out;
//   2. the same image with every record's CRCs and chain recomputed, then rebuild() and
//      Store::open() over an in-memory file system (the replay path: genesis plan, every record
//      applied to an engine);
//   3. decode_record_payload, and a re-encode round trip of whatever it accepts;
//   4. Engine::load_state, and for what it accepts: digest, save_state round trip, the JSON dump
//      and a few events applied to the loaded state;
//   5. the input as a snapshot file (and as the state inside a format-1 snapshot whose header and
//      CRC are made valid) next to a small valid journal, recovered with rebuild() and Store::open();
//   6. the input as a format-3 snapshot (snapshot.hpp): decode_snapshot and read_snapshot as it is,
//      then with its header, section CRCs and end section repaired, decoded without the digest check
//      so that what the table checks let through is used: digest, an encode/decode round trip, the
//      dump and a few events.
// Expected failures are FormatError and StoreError (std::runtime_error for load_state, as
// documented). Anything else escaping — or a broken round trip — aborts: that is a finding.
#include "upline/engine.hpp"
#include "upline/journal.hpp"
#include "upline/door.hpp"
#include "upline/snapshot.hpp"
#include "tools/simulation.hpp"
#include "upline/store.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace upline;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "journal_fuzz: FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// A whole file system in memory: the store's file layer without disk I/O.
class MemFS final : public FileSystem {
 public:
  std::map<std::string, std::string> files;

  bool exists(const std::string& p) override { return files.count(p) > 0 || p == "d"; }
  std::string read(const std::string& p) override {
    auto it = files.find(p);
    if (it == files.end()) throw StoreError(StoreError::Kind::io, p + ": no such file");
    return it->second;
  }
  int open_read(const std::string& p) override {
    if (!files.count(p)) throw StoreError(StoreError::Kind::io, p + ": no such file");
    return add_fd(p);
  }
  std::size_t read_at(int fd, std::uint64_t offset, char* buf, std::size_t n) override {
    const std::string& f = files.at(fds_.at(fd));
    if (offset >= f.size()) return 0;
    const std::size_t got = std::min<std::size_t>(n, f.size() - offset);
    std::memcpy(buf, f.data() + offset, got);
    return got;
  }
  std::uint64_t file_size(int fd) override { return files.at(fds_.at(fd)).size(); }
  std::vector<std::string> list(const std::string& d) override {
    std::vector<std::string> names;
    const std::string prefix = d + "/";
    for (const auto& [p, data] : files)
      if (p.compare(0, prefix.size(), prefix) == 0 && p.find('/', prefix.size()) == std::string::npos) names.push_back(p.substr(prefix.size()));
    return names;  // std::map: sorted
  }
  void make_dir(const std::string&) override {}
  int open_append(const std::string& p, bool create) override {
    if (!create && !files.count(p)) throw StoreError(StoreError::Kind::io, p + ": no such file");
    files[p];
    return add_fd(p);
  }
  int create(const std::string& p) override {
    files[p].clear();
    return add_fd(p);
  }
  void write(int fd, std::string_view data) override { files[fds_.at(fd)].append(data); }
  void sync(int) override {}
  void close(int fd) override { fds_.erase(fd); }
  void truncate(const std::string& p, std::uint64_t size) override {
    std::string& f = files.at(p);
    if (size < f.size()) f.resize(size);
  }
  void rename(const std::string& from, const std::string& to) override {
    files[to] = files.at(from);
    files.erase(from);
  }
  void sync_dir(const std::string&) override {}
  void remove(const std::string& p) override { files.erase(p); }
  int lock(const std::string& p) override { return add_fd(p); }

 private:
  int add_fd(const std::string& p) {
    fds_[next_] = p;
    return next_++;
  }
  std::map<int, std::string> fds_;
  int next_ = 3;
};

std::uint32_t get_u32(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t(static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)])) << (8 * i);
  return v;
}
void put_u32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * i));
}

// The image with the journal magic in front (if missing) and every record's chain, payload CRC
// and header CRC recomputed, as far as the lengths allow.
std::string repair_journal(std::string_view in) {
  std::string img = in.substr(0, journal_magic.size()) == journal_magic ? std::string(in) : std::string(journal_magic) + std::string(in);
  std::size_t off = journal_magic.size();
  std::uint32_t chain = 0;
  while (img.size() - off >= record_header_size) {
    const std::uint32_t length = get_u32(img, off);
    if (length > img.size() - off - record_header_size) break;
    put_u32(img, off + 4, chain);
    put_u32(img, off + 8, Crc32c::compute(std::string_view(img).substr(off + record_header_size, length)));
    chain = Crc32c::compute(std::string_view(img).substr(off, 12));
    put_u32(img, off + 12, chain);
    off += record_header_size + length;
  }
  return img;
}

// A small valid journal: the genesis record (the bundled plan) and a few events.
const std::string& base_journal() {
  static const std::string image = [] {
    MemFS fs;
    StoreOptions o;
    o.durability = Durability::none;
    o.fs = &fs;
    auto store = Store::create("d", *bundled_plan("four-tier"), o);
    for (const char* e : {R"({"type":"join","member":1000,"at":1})", R"({"type":"join","member":1007,"sponsor":1000,"at":2})",
                          R"({"type":"purchase","order":"o-1","member":1007,"shop":"main","amount":"25.00","at":3})",
                          R"({"type":"refund","order":"o-1","amount":"5.00","at":4})", R"({"type":"redeem","member":1000,"points":"0.50","ref":"r-1","at":5})",
                          "not json"})
      store->submit(e);
    store->commit();
    store.reset();
    return fs.files.at("d/journal");
  }();
  return image;
}

// Uses everything a record holds.
void touch(const JournalRecord& r) {
  if (r.event) {
    const std::string json = event_json(*r.event);
    if (json.empty()) finding("event_json gave nothing");
    (void)r.at();
  }
}

// rebuild() and Store::open() over a directory in memory; only StoreError may come out.
void recover(MemFS fs, const char* what) {
  try {
    std::uint64_t last = 0;
    Engine e = rebuild("d", std::nullopt, &last, &fs);
    (void)e.digest();
  } catch (const StoreError&) {
  } catch (const std::exception& x) {
    finding(std::string(what) + ": rebuild threw a non-StoreError: " + x.what());
  }
  try {
    StoreOptions o;
    o.durability = Durability::none;
    o.fs = &fs;
    auto store = Store::open("d", o);
    (void)store->engine().digest();
    // The recovered store takes another event.
    store->submit(R"({"type":"join","member":424242,"sponsor":1000,"at":9})");
    store->commit();
  } catch (const StoreError&) {
  } catch (const std::exception& x) {
    finding(std::string(what) + ": Store::open threw a non-StoreError: " + x.what());
  }
}

// A few events against a loaded state.
void exercise(Engine& e) {
  std::vector<Effect> fx;
  const std::vector<MemberId> ids = e.member_ids();
  const MemberId first = ids.empty() ? 1 : ids.front();
  const MemberId lastm = ids.empty() ? 1 : ids.back();
  const std::string shop = e.plan().shops.empty() ? "main" : e.plan().shops.front().id;
  e.apply(Join{9'000'000'000'000'000'000, first, e.clock()}, fx);
  e.apply(Purchase{"fuzz-order", lastm, shop, *Decimal::parse("123.45"), e.clock()}, fx);
  e.apply(Purchase{"fuzz-order-2", first, shop, *Decimal::parse("99999.99"), e.clock()}, fx);
  e.apply(Refund{"fuzz-order", Decimal::parse("1.00"), e.clock()}, fx);
  e.apply(Refund{"fuzz-order", std::nullopt, e.clock()}, fx);
  e.apply(Adjust{first, *Decimal::parse("1000000"), "fuzz", "fuzz", e.clock()}, fx);
  e.apply(Redeem{first, *Decimal::parse("1.00"), "fuzz-ref", e.clock()}, fx);
  e.apply(Suspend{lastm, e.clock()}, fx);
  e.apply(Reactivate{lastm, e.clock()}, fx);
  (void)e.digest();
}

void load_state_path(std::string_view state) {
  std::optional<Engine> e;
  try {
    e.emplace(Engine::load_state(state));
  } catch (const std::runtime_error&) {
    return;
  } catch (const std::exception& x) {
    finding(std::string("load_state threw a non-runtime_error: ") + x.what());
  }
  const std::string digest = e->digest();
  const std::string again = e->save_state();
  try {
    Engine copy = Engine::load_state(again);
    if (copy.digest() != digest) finding("load_state(save_state(e)) has another digest");
    if (copy.save_state() != again) finding("save_state is not stable across a load");
  } catch (const std::exception& x) {
    finding(std::string("load_state refused what save_state wrote: ") + x.what());
  }
  (void)dump_json(*e);
  exercise(*e);
}

void payload_path(std::string_view in) {
  JournalRecord r;
  try {
    r = decode_record_payload(in);
  } catch (const FormatError&) {
    return;
  } catch (const std::exception& x) {
    finding(std::string("decode_record_payload threw a non-FormatError: ") + x.what());
  }
  touch(r);
  std::string re;
  const RecordKind raw_kind = r.kind == RecordKind::genesis ? RecordKind::genesis : RecordKind::raw;
  encode_record_payload(re, r.seq, r.status, r.event ? &*r.event : nullptr, r.text, raw_kind);
  try {
    const JournalRecord back = decode_record_payload(re);
    if (back.seq != r.seq || back.status != r.status || back.kind != r.kind || back.text != r.text ||
        (back.event ? event_json(*back.event) : "") != (r.event ? event_json(*r.event) : ""))
      finding("a record does not survive encode(decode(x))");
  } catch (const FormatError& x) {
    finding(std::string("decode_record_payload refused what encode_record_payload wrote: ") + x.what());
  }
}

constexpr std::string_view snapshot_magic{"UPLINE-SNAPSHOT\0", 16};
constexpr std::size_t snapshot_header = 16 + 4 + 4 + 8 + 4 + 64 + 8;  // magic, version, 0, seq, digest, length

std::string snapshot_name(std::uint64_t seq) {
  std::string digits = std::to_string(seq);
  if (digits.size() > 20) digits = digits.substr(0, 20);
  return "snapshot-" + std::string(20 - digits.size(), '0') + digits + ".snap";
}

void snapshot_path(std::string_view in) {
  // The bytes as they are, named after the sequence number they claim (or 1).
  std::uint64_t seq = 1;
  if (in.size() >= 32 && in.substr(0, 16) == snapshot_magic) {
    seq = 0;
    for (int i = 0; i < 8; ++i) seq |= std::uint64_t(static_cast<unsigned char>(in[24 + static_cast<std::size_t>(i)])) << (8 * i);
  }
  seq %= 7;  // at or before the base journal's end, mostly
  MemFS fs;
  fs.files["d/journal"] = base_journal();
  fs.files["d/" + snapshot_name(seq)] = std::string(in);
  recover(fs, "snapshot as is");

  // The input as the state inside a well-formed snapshot (digest and CRC made right), when the
  // state loads: recovery then starts from a state the fuzzer chose and replays on top of it.
  std::string_view state = in;
  if (in.size() >= snapshot_header + 4 && in.substr(0, 16) == snapshot_magic) state = in.substr(snapshot_header, in.size() - snapshot_header - 4);
  std::string digest;
  try {
    digest = Engine::load_state(state).digest();
  } catch (const std::exception&) {
    return;
  }
  std::string snap;
  ByteWriter w(snap);
  w.raw(snapshot_magic);
  w.u32(1);
  w.u32(0);
  w.u64(seq);
  w.str(digest);
  w.u64(state.size());
  w.raw(state);
  w.u32(Crc32c::compute(snap));
  MemFS fs2;
  fs2.files["d/journal"] = base_journal();
  fs2.files["d/" + snapshot_name(seq)] = snap;
  recover(fs2, "repaired snapshot");
}

void put_u64(std::string& s, std::size_t at, std::uint64_t v) {
  put_u32(s, at, static_cast<std::uint32_t>(v));
  put_u32(s, at + 4, static_cast<std::uint32_t>(v >> 32));
}

// The image as a format-3 snapshot (the 40-byte header in front if missing) with the header's CRC,
// every section's CRC and the end section's count and offset recomputed, as far as the lengths
// allow: the table checks behind the checksums are what gets fuzzed.
std::string repair_snapshot3(std::string_view in) {
  std::string img(in);
  if (img.size() < 20 || img.compare(0, 16, snapshot_magic) != 0 || get_u32(img, 16) != 3) {
    std::string header(40, '\0');
    header.replace(0, 16, snapshot_magic);
    put_u32(header, 16, 3);
    img = header + img;
  }
  if (img.size() < 40) img.resize(40, '\0');
  put_u32(img, 32, Crc32c::compute(img.data(), 32));
  std::size_t at = 40;
  std::uint64_t count = 0;
  while (img.size() - at >= 32) {
    const std::uint64_t bytes = get_u32(img, at + 16) | std::uint64_t(get_u32(img, at + 20)) << 32;
    const std::uint64_t room = img.size() - at - 32;
    if (bytes > room || (bytes + 7) / 8 * 8 > room) break;
    const std::size_t crc_at = at + 24 + static_cast<std::size_t>((bytes + 7) / 8 * 8);
    if (get_u32(img, at) == 255) {
      put_u64(img, at + 8, count);
      if (bytes >= 72) put_u64(img, at + 24 + 64, at);
    }
    put_u32(img, crc_at, Crc32c::compute(img.data() + at, crc_at - at));
    at = crc_at + 8;
    ++count;
  }
  return img;
}

void snapshot3_path(std::string_view in) {
  // As it is, from bytes and from a file.
  std::uint64_t seq = 0;
  try {
    (void)decode_snapshot(in, seq);
  } catch (const FormatError&) {
  } catch (const std::exception& x) {
    finding(std::string("decode_snapshot threw a non-FormatError: ") + x.what());
  }
  MemFS files;
  files.files["s.snap"] = std::string(in);
  try {
    (void)read_snapshot(files, "s.snap", seq);
  } catch (const FormatError&) {
  } catch (const std::exception& x) {
    finding(std::string("read_snapshot threw a non-FormatError: ") + x.what());
  }

  // Repaired, and loaded without the digest check.
  const std::string img = repair_snapshot3(in);
  std::optional<Engine> e;
  try {
    e.emplace(decode_snapshot(img, seq, DigestCheck::skip));
  } catch (const FormatError&) {
    return;
  } catch (const std::exception& x) {
    finding(std::string("decode_snapshot (format 3, repaired) threw a non-FormatError: ") + x.what());
  }
  const std::string digest = e->digest();
  const std::string again = encode_snapshot(e->state(), seq);
  try {
    std::uint64_t seq2 = 0;
    Engine copy(decode_snapshot(again, seq2));
    if (copy.digest() != digest || seq2 != seq) finding("decode_snapshot(encode_snapshot(s)) has another digest or sequence number");
    if (encode_snapshot(copy.state(), seq) != again) finding("encode_snapshot is not stable across a load");
  } catch (const std::exception& x) {
    finding(std::string("decode_snapshot refused what encode_snapshot wrote: ") + x.what());
  }
  files.files["s.snap"] = again;
  try {
    if (Engine(read_snapshot(files, "s.snap", seq)).digest() != digest) finding("read_snapshot of encode_snapshot has another digest");
  } catch (const std::exception& x) {
    finding(std::string("read_snapshot refused what encode_snapshot wrote: ") + x.what());
  }
  (void)dump_json(*e);
  exercise(*e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // 1. The scanner on the bytes as they are.
  try {
    const JournalScan s = scan_journal(in, [](const JournalRecord& r, std::uint64_t) { touch(r); });
    if (s.valid_bytes > size) finding("valid_bytes beyond the image");
  } catch (const std::exception& x) {
    finding(std::string("scan_journal threw: ") + x.what());
  }

  // 2. With the checksums repaired: the decoders and the replay behind them.
  {
    const std::string repaired = repair_journal(in);
    std::uint64_t records = 0;
    try {
      const JournalScan s = scan_journal(repaired, [&](const JournalRecord& r, std::uint64_t) {
        touch(r);
        ++records;
      });
      if (s.records != records) finding("scan_journal's record count differs from its visits");
    } catch (const std::exception& x) {
      finding(std::string("scan_journal threw: ") + x.what());
    }
    MemFS fs;
    fs.files["d/journal"] = repaired;
    recover(fs, "repaired journal");

    // The same records in two segments, split after the middle record (journal.hpp: the chain
    // and the sequence numbers continue across the boundary): as valid as the one file.
    std::vector<std::uint64_t> offsets;
    std::vector<std::uint64_t> seqs;
    std::vector<std::uint32_t> chains;
    std::uint32_t chain = 0;
    const JournalScan whole = scan_journal(repaired, [&](const JournalRecord& r, std::uint64_t off) {
      offsets.push_back(off);
      seqs.push_back(r.seq);
      chains.push_back(chain);
      chain = get_u32(repaired, off + 12);
    });
    if (offsets.size() >= 2) {
      const std::size_t k = offsets.size() / 2;
      MemFS split;
      split.files["d/journal"] = repaired.substr(0, offsets[k]);
      split.files["d/" + segment_name(seqs[k])] = segment_header(whole.version, seqs[k], chains[k]) + repaired.substr(offsets[k]);
      recover(split, "repaired journal in two segments");
    }
    // The input as a later segment after a valid first one: its header and records as they are.
    MemFS tail;
    tail.files["d/journal"] = repaired.substr(0, offsets.empty() ? repaired.size() : offsets.size() >= 2 ? offsets[1] : repaired.size());
    tail.files["d/" + segment_name(offsets.size() >= 2 ? seqs[1] : 1)] = std::string(in);
    recover(tail, "the input as a second segment");
    // …and behind a valid segment header, so that its records are read.
    if (offsets.size() >= 2) {
      tail.files["d/" + segment_name(seqs[1])] = segment_header(whole.version, seqs[1], chains[1]) + std::string(in);
      recover(tail, "the input behind a segment header");
    }
  }

  // 3. One record payload.
  payload_path(in);

  // 4. Engine state bytes.
  load_state_path(in);

  // 5. A snapshot file.
  snapshot_path(in);

  // 6. A format-3 snapshot file.
  snapshot3_path(in);
  return 0;
}
