// snapshot.cpp — snapshot files (snapshot.hpp; the layout byte by byte in docs/DURABILITY.md).
//
// Format 3 is written and read one section per table, through a buffer of a few MiB: records
// whose layout in memory is their layout on disk (member records, credits, matrix arrays) go
// straight from the tables to the file and from the file into the tables; the rest are encoded
// field by field. Every section's CRC32C is computed as its bytes pass. Formats 1 and 2 are read
// by the decoder they always had (load_state, state.cpp).
#include "upline/snapshot.hpp"

#include "upline/bytes.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <thread>

namespace upline {

namespace {

constexpr std::string_view snapshot_magic{"UPLINE-SNAPSHOT\0", 16};

// ---- format 3: the layout -----------------------------------------------------------------------

// Sections, in the order they are written and must be read (a matrix section per tier).
enum class Table : std::uint32_t {
  counters = 1,
  plan = 2,
  reward_ids = 3,
  shop_ids = 4,
  members = 5,
  grants = 6,
  matrix = 7,
  order_ids = 8,
  orders = 9,
  credits = 10,
  redemptions = 11,
  adjustments = 12,
  plan_changes = 13,
  end = 255,
};

const char* table_name(Table t) noexcept {
  switch (t) {
    case Table::counters: return "counters";
    case Table::plan: return "plan";
    case Table::reward_ids: return "reward ids";
    case Table::shop_ids: return "shop ids";
    case Table::members: return "members";
    case Table::grants: return "grants";
    case Table::matrix: return "matrix";
    case Table::order_ids: return "order ids";
    case Table::orders: return "orders";
    case Table::credits: return "credits";
    case Table::redemptions: return "redemptions";
    case Table::adjustments: return "adjustments";
    case Table::plan_changes: return "plan changes";
    case Table::end: return "end";
  }
  return "?";
}

constexpr std::size_t file_header_bytes = 40;     // magic · u32 format · u32 0 · u64 seq · u32 CRC32C of those 32 bytes · u32 0
constexpr std::size_t section_header_bytes = 24;  // u32 table · u32 0 · u64 count · u64 bytes
constexpr std::size_t section_trailer_bytes = 8;  // u32 CRC32C of header, payload and padding · u32 0
constexpr std::size_t end_payload_bytes = 72;     // the digest's 64 hex digits · u64 the end section's own offset
constexpr std::size_t end_section_bytes = section_header_bytes + end_payload_bytes + section_trailer_bytes;
constexpr std::size_t member_bytes = 48, grant_bytes = 8, matrix_prefix_bytes = 16, order_bytes = 40, credit_bytes = 12;
constexpr std::size_t counters_bytes = 24;
constexpr std::size_t max_key_bytes = 64;        // an order id, a redemption ref, a reward or shop id
constexpr std::size_t buffer_bytes = 4u << 20;   // the file writer's buffer
constexpr std::size_t piece_bytes = 512u << 10;  // the reader's unit: checksummed and checked while in cache

constexpr std::uint64_t padded(std::uint64_t n) noexcept { return (n + 7) & ~std::uint64_t{7}; }

constexpr bool little_endian = std::endian::native == std::endian::little;

// Records stored as they are in memory (on a little-endian host): their layout is pinned here.
static_assert(sizeof(MemberRecord) == member_bytes && offsetof(MemberRecord, id) == 0 && offsetof(MemberRecord, balance) == 8 &&
              offsetof(MemberRecord, lifetime) == 16 && offsetof(MemberRecord, reward_floor) == 24 && offsetof(MemberRecord, orders) == 32 &&
              offsetof(MemberRecord, sponsor) == 36 && offsetof(MemberRecord, referrals) == 40 && offsetof(MemberRecord, tier) == 44 &&
              offsetof(MemberRecord, status) == 45 && offsetof(MemberRecord, queued) == 46 && offsetof(MemberRecord, reserved) == 47);
static_assert(sizeof(Ledger::Credit) == credit_bytes && offsetof(Ledger::Credit, member) == 0 && offsetof(Ledger::Credit, points) == 4);
static_assert(sizeof(Matrix::Node) == 4);

template <class T>
void put_le(char* p, T v) noexcept {
  static_assert(std::is_integral_v<T>);
  if constexpr (little_endian) {
    std::memcpy(p, &v, sizeof v);
  } else {
    for (std::size_t i = 0; i < sizeof v; ++i) p[i] = static_cast<char>(static_cast<std::make_unsigned_t<T>>(v) >> (8 * i));
  }
}

template <class T>
T get_le(const char* p) noexcept {
  static_assert(std::is_integral_v<T>);
  if constexpr (little_endian) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  } else {
    std::make_unsigned_t<T> v = 0;
    for (std::size_t i = 0; i < sizeof v; ++i) v |= static_cast<std::make_unsigned_t<T>>(static_cast<unsigned char>(p[i])) << (8 * i);
    return static_cast<T>(v);
  }
}

// A member record's 48 bytes: i64 id · i64 balance · i64 lifetime · 8 zero bytes (the engine's
// reward_floor cache) · u32 orders · u32 sponsor index · u32 referrals · u8 tier · u8 status ·
// 2 zero bytes (the queued flag, reserved). On a little-endian host, the record as it is in memory
// with its caches zeroed.
void encode_member(char* p, const MemberRecord& r) noexcept {
  if constexpr (little_endian) {
    std::memcpy(p, &r, member_bytes);
    std::memset(p + 24, 0, 8);
    p[46] = p[47] = 0;
  } else {
    put_le<std::int64_t>(p, r.id);
    put_le<std::int64_t>(p + 8, r.balance);
    put_le<std::int64_t>(p + 16, r.lifetime);
    put_le<std::int64_t>(p + 24, 0);
    put_le<std::uint32_t>(p + 32, r.orders);
    put_le<std::uint32_t>(p + 36, r.sponsor);
    put_le<std::uint32_t>(p + 40, r.referrals);
    p[44] = static_cast<char>(r.tier);
    p[45] = static_cast<char>(r.status);
    p[46] = p[47] = 0;
  }
}

// ---- writing ------------------------------------------------------------------------------------

// Where a snapshot's bytes go: a string (encode_snapshot) or a file (write_snapshot).
class Output {
 public:
  virtual void write(const char* p, std::size_t n) = 0;

 protected:
  ~Output() = default;
};

class StringOutput final : public Output {
 public:
  explicit StringOutput(std::string& out) noexcept : out_(out) {}
  void write(const char* p, std::size_t n) override { out_.append(p, n); }

 private:
  std::string& out_;
};

class FileOutput final : public Output {
 public:
  FileOutput(FileSystem& fs, int fd) noexcept : fs_(fs), fd_(fd) {}
  void write(const char* p, std::size_t n) override { fs_.write(fd_, std::string_view(p, n)); }

 private:
  FileSystem& fs_;
  int fd_;
};

// Writes sections through a buffer of buffer_bytes. A section's CRC is computed over its bytes
// when they leave the buffer (or, for a big piece written straight from a table, before it goes).
class SectionWriter {
 public:
  SectionWriter(Output& out, std::size_t buffer) : out_(out), buf_(std::make_unique_for_overwrite<char[]>(buffer)), capacity_(buffer) {}

  /// The buffer's size: the most room() gives.
  std::size_t capacity() const noexcept { return capacity_; }

  /// The file offset of the next byte.
  std::uint64_t offset() const noexcept { return written_ + used_; }
  std::uint64_t sections() const noexcept { return sections_; }

  /// Bytes outside any section (the file header).
  void raw(const char* p, std::size_t n) { copy(p, n); }

  void begin(Table t, std::uint64_t count, std::uint64_t bytes) {
    char h[section_header_bytes];
    put_le<std::uint32_t>(h, static_cast<std::uint32_t>(t));
    put_le<std::uint32_t>(h + 4, 0);
    put_le<std::uint64_t>(h + 8, count);
    put_le<std::uint64_t>(h + 16, bytes);
    pending_ = used_;
    crc_ = 0;
    in_section_ = true;
    copy(h, sizeof h);
    left_ = bytes;
  }
  void put(const void* p, std::size_t n) {
    take(n);
    if (n >= capacity_ / 4) {  // big: straight from where it is, a buffer's worth at a time
      flush();
      for (auto q = static_cast<const char*>(p); n > 0;) {
        const std::size_t k = std::min(n, capacity_);
        crc_ = Crc32c::compute(q, k, crc_);
        out_.write(q, k);
        written_ += k;
        q += k;
        n -= k;
      }
      return;
    }
    copy(p, n);
  }
  void put_u32(std::uint32_t v) { put_int(v); }
  void put_u64(std::uint64_t v) { put_int(v); }
  void put_i64(std::int64_t v) { put_int(v); }
  void put_str(std::string_view s) {
    put_u32(static_cast<std::uint32_t>(s.size()));
    put(s.data(), s.size());
  }
  /// Room for `n` (at most capacity()) section bytes to be written in place, then commit(n).
  char* room(std::size_t n) {
    if (used_ + n > capacity_) flush();
    return buf_.get() + used_;
  }
  void commit(std::size_t n) {
    take(n);
    used_ += n;
  }
  void end() {
    if (left_ != 0) throw std::logic_error("snapshot: a section shorter than its header says");
    static constexpr char zeros[8] = {};
    copy(zeros, static_cast<std::size_t>(padded(offset()) - offset()));
    absorb();
    in_section_ = false;
    char t[section_trailer_bytes];
    put_le<std::uint32_t>(t, crc_);
    put_le<std::uint32_t>(t + 4, 0);
    copy(t, sizeof t);
    pending_ = used_;
    ++sections_;
  }
  void flush() {
    absorb();
    if (used_ != 0) out_.write(buf_.get(), used_);
    written_ += used_;
    used_ = pending_ = 0;
  }

 private:
  template <class T>
  void put_int(T v) {
    char b[sizeof v];
    put_le<T>(b, v);
    put(b, sizeof b);
  }
  void take(std::size_t n) {
    if (n > left_) throw std::logic_error("snapshot: a section longer than its header says");
    left_ -= n;
  }
  // Folds the section's bytes still in the buffer into its CRC.
  void absorb() noexcept {
    if (in_section_) crc_ = Crc32c::compute(buf_.get() + pending_, used_ - pending_, crc_);
    pending_ = used_;
  }
  void copy(const void* p, std::size_t n) {
    auto s = static_cast<const char*>(p);
    while (n > 0) {
      if (used_ == capacity_) flush();
      const std::size_t k = std::min(n, capacity_ - used_);
      std::memcpy(buf_.get() + used_, s, k);
      used_ += k;
      s += k;
      n -= k;
    }
  }

  Output& out_;
  std::unique_ptr<char[]> buf_;
  std::size_t capacity_;
  std::size_t used_ = 0;
  std::size_t pending_ = 0;  // buf_[pending_, used_) is not in crc_ yet
  std::uint64_t written_ = 0;
  std::uint64_t left_ = 0;  // of the open section's payload
  std::uint32_t crc_ = 0;
  bool in_section_ = false;
  std::uint64_t sections_ = 0;
};

void write_names(SectionWriter& w, Table t, const std::vector<std::string>& names) {
  std::uint64_t bytes = 0;
  for (const auto& n : names) bytes += 4 + n.size();
  w.begin(t, names.size(), bytes);
  for (const auto& n : names) w.put_str(n);
  w.end();
}

// Writes little-endian 32-bit values from memory (as they are on a little-endian host).
void put_u32s(SectionWriter& w, const std::uint32_t* p, std::size_t n) {
  if constexpr (little_endian) {
    w.put(p, n * 4);
  } else {
    for (std::size_t i = 0; i < n; ++i) w.put_u32(p[i]);
  }
}

// Whether digest() of `s` hashes on a second thread (state.cpp): a state that big is also worth
// a thread of its own for the digest while a snapshot is written or loaded.
bool big_state(const State& s) noexcept { return s.members.size() * 64 + s.ledger.order_count() * 150 > (std::size_t{16} << 20); }

// The whole file. The digest is computed on other threads meanwhile (a big state's), and written
// last, in the end section.
void write_tables(Output& out, std::size_t buffer, const State& s, std::uint64_t seq) {
  std::string digest_hex;
  std::exception_ptr digest_error;
  const bool big = big_state(s);
  std::jthread digester;
  if (big)
    digester = std::jthread([&] {
      try {
        digest_hex = digest(s);
      } catch (...) {
        digest_error = std::current_exception();
      }
    });

  SectionWriter w(out, buffer);
  char header[file_header_bytes] = {};
  std::memcpy(header, snapshot_magic.data(), snapshot_magic.size());
  put_le<std::uint32_t>(header + 16, snapshot_format);
  put_le<std::uint32_t>(header + 20, 0);
  put_le<std::uint64_t>(header + 24, seq);
  put_le<std::uint32_t>(header + 32, Crc32c::compute(header, 32));
  put_le<std::uint32_t>(header + 36, 0);
  w.raw(header, sizeof header);

  w.begin(Table::counters, 1, counters_bytes);
  w.put_u64(s.applied);
  w.put_u64(s.rejected);
  w.put_i64(s.clock);
  w.end();

  w.begin(Table::plan, 1, s.plan_json.size());
  w.put(s.plan_json.data(), s.plan_json.size());
  w.end();

  write_names(w, Table::reward_ids, s.members.reward_names());
  write_names(w, Table::shop_ids, s.ledger.shop_names());

  const Members& members = s.members;
  const std::size_t member_count = members.size();
  w.begin(Table::members, member_count, member_count * member_bytes);
  for (std::size_t i = 0; i < member_count;) {
    const std::size_t k = std::min(member_count - i, w.capacity() / member_bytes);
    char* p = w.room(k * member_bytes);
    for (std::size_t j = 0; j < k; ++j) encode_member(p + j * member_bytes, members.records()[i + j]);
    w.commit(k * member_bytes);
    i += k;
  }
  w.end();

  std::uint64_t grants = 0;
  for (std::uint32_t m = 0; m < member_count; ++m) grants += members.rewards(m).size();
  w.begin(Table::grants, grants, grants * grant_bytes);
  for (std::uint32_t m = 0; m < member_count; ++m)
    for (std::uint32_t reward : members.rewards(m)) {
      char* p = w.room(grant_bytes);
      put_le<std::uint32_t>(p, m);
      put_le<std::uint32_t>(p + 4, reward);
      w.commit(grant_bytes);
    }
  w.end();

  for (std::uint32_t t = 0; t < s.matrices.size(); ++t) {
    const Matrix& mx = s.matrices[t];
    const std::size_t n = mx.size();
    const bool tree = mx.fill() == Fill::under_sponsor;
    w.begin(Table::matrix, n, matrix_prefix_bytes + (mx.dense() ? 0 : 4 * n) + (tree ? 5 * n : 0));
    char prefix[matrix_prefix_bytes] = {};
    put_le<std::uint32_t>(prefix, t);
    put_le<std::uint32_t>(prefix + 4, mx.width());
    prefix[8] = static_cast<char>(mx.fill());
    prefix[9] = static_cast<char>(mx.dense() ? 1 : 0);
    w.put(prefix, sizeof prefix);
    if (!mx.dense()) put_u32s(w, mx.members_data(), n);
    if (tree) {
      put_u32s(w, mx.parents_data(), n);
      w.put(mx.positions_data(), n);
    }
    w.end();
  }

  const Ledger& l = s.ledger;
  const std::size_t orders = l.order_count();
  w.begin(Table::order_ids, orders, l.order_id_bytes());
  for (std::uint32_t i = 0; i < orders; ++i) {
    const std::string_view id = l.order_id(l.order(i));
    std::memcpy(w.room(id.size()), id.data(), id.size());
    w.commit(id.size());
  }
  w.end();

  w.begin(Table::orders, orders, orders * order_bytes);
  for (std::uint32_t i = 0; i < orders; ++i) {
    const Ledger::Order& o = l.order(i);
    char* p = w.room(order_bytes);
    put_le<std::uint32_t>(p, o.member);
    put_le<std::uint32_t>(p + 4, o.shop);
    put_le<std::int64_t>(p + 8, o.amount);
    put_le<std::int64_t>(p + 16, o.refunded);
    put_le<std::int64_t>(p + 24, o.at);
    put_le<std::uint32_t>(p + 32, o.credit_count());
    put_le<std::uint32_t>(p + 36, static_cast<std::uint32_t>(o.id_ref & 0xFF));
    w.commit(order_bytes);
  }
  w.end();

  w.begin(Table::credits, l.credit_count(), l.credit_count() * credit_bytes);
  l.for_each_credit_run([&](const Ledger::Credit* c, std::size_t n) {
    if constexpr (little_endian) {
      w.put(c, n * credit_bytes);
    } else {
      for (std::size_t k = 0; k < n; ++k) {
        w.put_u32(c[k].member);
        w.put_i64(c[k].points);
      }
    }
  });
  w.end();

  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < l.redemption_count(); ++i) bytes += 24 + l.redemption(i).ref.size();
  w.begin(Table::redemptions, l.redemption_count(), bytes);
  for (std::size_t i = 0; i < l.redemption_count(); ++i) {
    const Ledger::Redemption& r = l.redemption(i);
    w.put_u32(r.member);
    w.put_i64(r.points);
    w.put_i64(r.at);
    w.put_str(r.ref);
  }
  w.end();

  bytes = 0;
  for (const Ledger::Adjustment& a : l.adjustments()) bytes += 28 + a.actor.size() + a.reason.size();
  w.begin(Table::adjustments, l.adjustments().size(), bytes);
  for (const Ledger::Adjustment& a : l.adjustments()) {
    w.put_u32(a.member);
    w.put_i64(a.points);
    w.put_i64(a.at);
    w.put_str(a.actor);
    w.put_str(a.reason);
  }
  w.end();

  bytes = 0;
  for (const Ledger::PlanChangeRecord& p : l.plan_changes()) bytes += 12 + p.actor.size();
  w.begin(Table::plan_changes, l.plan_changes().size(), bytes);
  for (const Ledger::PlanChangeRecord& p : l.plan_changes()) {
    w.put_i64(p.at);
    w.put_str(p.actor);
  }
  w.end();

  if (big) {
    digester.join();
    if (digest_error) std::rethrow_exception(digest_error);
  } else {
    digest_hex = digest(s);
  }
  const std::uint64_t end_at = w.offset();
  w.begin(Table::end, w.sections(), end_payload_bytes);
  w.put(digest_hex.data(), digest_hex.size());
  w.put_u64(end_at);
  w.end();
  w.flush();
}

// ---- reading ------------------------------------------------------------------------------------

// Where a snapshot's bytes come from: a string (decode_snapshot) or a file (read_snapshot).
class Input {
 public:
  virtual std::uint64_t size() const = 0;
  /// Exactly `n` bytes at `offset` (inside size(): the callers check).
  virtual void read(std::uint64_t offset, char* dst, std::size_t n) = 0;

 protected:
  ~Input() = default;
};

class ImageInput final : public Input {
 public:
  explicit ImageInput(std::string_view image) noexcept : image_(image) {}
  std::uint64_t size() const override { return image_.size(); }
  void read(std::uint64_t offset, char* dst, std::size_t n) override {
    if (offset > image_.size() || n > image_.size() - offset) throw FormatError("snapshot: a read past the end");
    if (n != 0) std::memcpy(dst, image_.data() + offset, n);
  }

 private:
  std::string_view image_;
};

class FileInput final : public Input {
 public:
  FileInput(FileSystem& fs, int fd, std::uint64_t size) noexcept : fs_(fs), fd_(fd), size_(size) {}
  std::uint64_t size() const override { return size_; }
  void read(std::uint64_t offset, char* dst, std::size_t n) override {
    while (n > 0) {
      const std::size_t got = fs_.read_at(fd_, offset, dst, n);
      if (got == 0) throw FormatError("snapshot: the file ended at byte " + std::to_string(offset) + " (it shrank while being read)");
      offset += got;
      dst += got;
      n -= got;
    }
  }

 private:
  FileSystem& fs_;
  int fd_;
  std::uint64_t size_;
};

// Reads sections in order between two offsets, checking each one's header, padding and CRC.
class SectionReader {
 public:
  SectionReader(Input& in, std::uint64_t begin, std::uint64_t end) noexcept : in_(in), pos_(begin), end_(end) {}

  std::uint64_t position() const noexcept { return pos_; }
  std::uint64_t sections() const noexcept { return sections_; }
  /// The file offset of the open section's payload.
  std::uint64_t payload_offset() const noexcept { return payload_; }
  std::uint64_t left() const noexcept { return left_; }

  /// Opens the next section, which must hold table `t`: returns its element count, and its
  /// payload length in `bytes` (which fits the file).
  std::uint64_t open(Table t, std::uint64_t& bytes) {
    table_ = t;
    at_ = pos_;
    if (end_ - pos_ < section_header_bytes + section_trailer_bytes) fail("a section header, " + std::to_string(end_ - pos_) + " bytes left");
    char h[section_header_bytes];
    in_.read(pos_, h, sizeof h);
    crc_ = Crc32c::compute(h, sizeof h);
    const auto table = get_le<std::uint32_t>(h);
    if (table != static_cast<std::uint32_t>(t)) fail("table " + std::to_string(static_cast<std::uint32_t>(t)) + ", not " + std::to_string(table));
    if (get_le<std::uint32_t>(h + 4) != 0) fail("a zero after the table number");
    const auto count = get_le<std::uint64_t>(h + 8);
    bytes = get_le<std::uint64_t>(h + 16);
    const std::uint64_t room = end_ - pos_ - section_header_bytes - section_trailer_bytes;
    if (bytes > room || padded(bytes) > room) fail("a length that fits the file (" + std::to_string(bytes) + " bytes, " + std::to_string(room) + " left)");
    pos_ += section_header_bytes;
    payload_ = pos_;
    left_ = bytes;
    padding_ = padded(bytes) - bytes;
    return count;
  }
  /// The next `n` bytes of the open section, checksummed in pieces.
  void read(void* dst, std::size_t n) {
    if (n > left_) fail(std::to_string(n) + " more bytes, " + std::to_string(left_) + " left in the section");
    auto d = static_cast<char*>(dst);
    while (n > 0) {
      const std::size_t k = std::min(n, piece_bytes);
      in_.read(pos_, d, k);
      crc_ = Crc32c::compute(d, k, crc_);
      pos_ += k;
      left_ -= k;
      d += k;
      n -= k;
    }
  }
  /// `count` records of `size` bytes into `dst`, in pieces; `check(first, n)` sees each piece
  /// while it is in cache.
  template <class Check>
  void read_records(char* dst, std::size_t count, std::size_t size, Check&& check) {
    const std::size_t per_piece = std::max<std::size_t>(1, piece_bytes / size);
    for (std::size_t i = 0; i < count;) {
      const std::size_t k = std::min(count - i, per_piece);
      read(dst + i * size, k * size);
      check(i, k);
      i += k;
    }
  }
  /// The rest of the open section (bounded by the file's size).
  std::string read_rest() {
    std::string s(static_cast<std::size_t>(left_), '\0');
    read(s.data(), s.size());
    return s;
  }
  /// Checks the padding and the CRC, and moves past the section.
  void close() {
    if (left_ != 0) fail("the section's end (" + std::to_string(left_) + " bytes unread)");
    char tail[8 + section_trailer_bytes];
    in_.read(pos_, tail, static_cast<std::size_t>(padding_) + section_trailer_bytes);
    for (std::uint64_t i = 0; i < padding_; ++i)
      if (tail[i] != 0) fail("zero padding");
    crc_ = Crc32c::compute(tail, static_cast<std::size_t>(padding_), crc_);
    const char* t = tail + padding_;
    if (get_le<std::uint32_t>(t) != crc_) fail("the section's CRC32C (the bytes are damaged)");
    if (get_le<std::uint32_t>(t + 4) != 0) fail("a zero after the CRC32C");
    pos_ += padding_ + section_trailer_bytes;
    ++sections_;
  }
  [[noreturn]] void fail(const std::string& expected) const {
    throw FormatError("snapshot: " + std::string(table_name(table_)) + " section at byte " + std::to_string(at_) + ": expected " + expected);
  }

 private:
  Input& in_;
  std::uint64_t pos_, end_;
  std::uint64_t at_ = 0, payload_ = 0, left_ = 0, padding_ = 0;
  std::uint32_t crc_ = 0;
  Table table_ = Table::counters;
  std::uint64_t sections_ = 0;
};

std::vector<std::string> read_names(SectionReader& r, Table t) {
  std::uint64_t bytes = 0;
  const std::uint64_t n = r.open(t, bytes);
  if (n > bytes / 4) r.fail("a count of ids that fits the section");
  const std::string payload = r.read_rest();
  r.close();
  ByteReader b(payload, r.payload_offset());
  std::vector<std::string> names;  // not reserved from the count: it is checked as the names are read
  for (std::uint64_t i = 0; i < n; ++i) names.push_back(b.str(max_key_bytes));
  if (b.left() != 0) b.fail("the end of the section");
  return names;
}

// Reads 32-bit little-endian values into memory.
void read_u32s(SectionReader& r, std::uint32_t* dst, std::size_t n) {
  r.read(dst, n * 4);
  if constexpr (!little_endian)
    for (std::size_t i = 0; i < n; ++i) dst[i] = get_le<std::uint32_t>(reinterpret_cast<const char*>(dst + i));
}

State read_tables(Input& in, std::uint64_t& seq, DigestCheck check, std::string* verified = nullptr) {
  const std::uint64_t size = in.size();
  if (size < file_header_bytes + end_section_bytes) throw FormatError("snapshot: a format 3 file shorter than its header and end section");
  char header[file_header_bytes];
  in.read(0, header, sizeof header);
  if (std::string_view(header, snapshot_magic.size()) != snapshot_magic || get_le<std::uint32_t>(header + 16) != 3)
    throw FormatError("snapshot: expected the magic and format 3");
  if (get_le<std::uint32_t>(header + 32) != Crc32c::compute(header, 32) || get_le<std::uint32_t>(header + 20) != 0 ||
      get_le<std::uint32_t>(header + 36) != 0)
    throw FormatError("snapshot: a file header that fails its CRC32C");
  seq = get_le<std::uint64_t>(header + 24);

  // The end section first: a file cut short fails here, before any table is read.
  const std::uint64_t end_at = size - end_section_bytes;
  std::uint64_t bytes = 0;
  SectionReader tail(in, end_at, size);
  const std::uint64_t sections = tail.open(Table::end, bytes);
  if (bytes != end_payload_bytes) tail.fail(std::to_string(end_payload_bytes) + " bytes");
  char end_payload[end_payload_bytes];
  tail.read(end_payload, sizeof end_payload);
  tail.close();
  const std::string stored_digest(end_payload, 64);
  if (get_le<std::uint64_t>(end_payload + 64) != end_at) tail.fail("its own offset, " + std::to_string(end_at));

  SectionReader r(in, file_header_bytes, end_at);
  const auto fail = [&r](const std::string& expected) { r.fail(expected); };

  if (r.open(Table::counters, bytes) != 1 || bytes != counters_bytes) fail("one record of " + std::to_string(counters_bytes) + " bytes");
  char counters[counters_bytes];
  r.read(counters, sizeof counters);
  r.close();
  const auto clock = get_le<std::int64_t>(counters + 16);
  if (clock < 0) fail("a clock >= 0");

  if (r.open(Table::plan, bytes) != 1) fail("one plan");
  const std::string plan_json = r.read_rest();
  r.close();
  const std::vector<std::string> rewards = read_names(r, Table::reward_ids);
  const std::vector<std::string> shops = read_names(r, Table::shop_ids);
  State st = state_with_saved_plan(plan_json, rewards, shops);
  st.applied = get_le<std::uint64_t>(counters);
  st.rejected = get_le<std::uint64_t>(counters + 8);
  st.clock = clock;
  const std::size_t tiers = st.plan->tiers.size();

  // Members: their records straight into the table, then checked and indexed (members.hpp).
  const std::uint64_t members = r.open(Table::members, bytes);
  if (members >= no_member || bytes != members * member_bytes) fail("48 bytes per member, fewer than 2^32-1 members");
  st.members.restore_all(static_cast<std::size_t>(members), tiers, [&](MemberRecord* dst, std::size_t n) {
    r.read(dst, n * member_bytes);
    if constexpr (!little_endian) {
      for (std::size_t i = 0; i < n; ++i) {
        char b[member_bytes];
        std::memcpy(b, &dst[i], member_bytes);
        MemberRecord& m = dst[i];
        m.id = get_le<std::int64_t>(b);
        m.balance = get_le<std::int64_t>(b + 8);
        m.lifetime = get_le<std::int64_t>(b + 16);
        m.reward_floor = get_le<std::int64_t>(b + 24);
        m.orders = get_le<std::uint32_t>(b + 32);
        m.sponsor = get_le<std::uint32_t>(b + 36);
        m.referrals = get_le<std::uint32_t>(b + 40);
      }
    }
  });
  r.close();

  const std::uint64_t grants = r.open(Table::grants, bytes);
  if (grants > bytes / grant_bytes || bytes != grants * grant_bytes) fail("8 bytes per grant");
  {
    std::unique_ptr<char[]> piece = std::make_unique_for_overwrite<char[]>(piece_bytes);
    const auto reward_count = static_cast<std::uint32_t>(st.members.reward_names().size());
    std::uint32_t last = 0;
    for (std::uint64_t i = 0; i < grants;) {
      const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(grants - i, piece_bytes / grant_bytes));
      r.read(piece.get(), k * grant_bytes);
      for (std::size_t j = 0; j < k; ++j) {
        const auto m = get_le<std::uint32_t>(piece.get() + j * grant_bytes), reward = get_le<std::uint32_t>(piece.get() + j * grant_bytes + 4);
        if (m >= members || m < last || reward >= reward_count) fail("grant " + std::to_string(i + j) + " to a known member, in member order, of a known reward");
        if (st.members.has_reward(m, reward)) fail("at most one grant of each reward to a member");
        st.members.grant(m, reward);
        last = m;
      }
      i += k;
    }
  }
  r.close();

  std::uint64_t in_tier_or_above = members;  // members with a node in the tier's matrix
  for (std::uint32_t t = 0; t < tiers; ++t) {
    Matrix& mx = st.matrices[t];
    const std::uint64_t nodes = r.open(Table::matrix, bytes);
    const bool tree = mx.fill() == Fill::under_sponsor;
    if (nodes != in_tier_or_above) fail("a node for each of the " + std::to_string(in_tier_or_above) + " members at tier " + std::to_string(t) + " or above");
    const std::size_t n = static_cast<std::size_t>(nodes);
    if (bytes != matrix_prefix_bytes + (mx.dense() ? 0 : 4 * nodes) + (tree ? 5 * nodes : 0)) fail("the length of tier " + std::to_string(t) + "'s arrays");
    char prefix[matrix_prefix_bytes];
    r.read(prefix, sizeof prefix);
    if (get_le<std::uint32_t>(prefix) != t || get_le<std::uint32_t>(prefix + 4) != mx.width() || prefix[8] != static_cast<char>(mx.fill()) ||
        prefix[9] != static_cast<char>(mx.dense() ? 1 : 0) || std::any_of(prefix + 10, prefix + 16, [](char c) { return c != 0; }))
      fail("tier " + std::to_string(t) + " of the plan: its width and fill");
    big_vector<std::uint32_t> member_of(mx.dense() ? 0 : n), parents(tree ? n : 0);
    big_vector<std::uint8_t> positions(tree ? n : 0);
    if (!mx.dense()) read_u32s(r, member_of.data(), n);
    if (tree) {
      read_u32s(r, parents.data(), n);
      r.read(positions.data(), n);
    }
    r.close();
    if (!mx.restore_all(n, std::move(member_of), parents.data(), positions.data(), static_cast<std::size_t>(members)))
      fail("tier " + std::to_string(t) + "'s nodes: distinct members, each at a valid place");
    if (!mx.dense())
      for (std::size_t k = 0; k < n; ++k)
        if (st.members[mx.member_at(static_cast<Matrix::Node>(k))].tier < t) fail("tier " + std::to_string(t) + "'s nodes: members of that tier or above");
    in_tier_or_above -= st.members.census()[t];
  }

  // Order ids, back to back, straight into the ledger's arena; then the orders, which point into it.
  const std::uint64_t orders = r.open(Table::order_ids, bytes);
  if (orders >= KeyIndex::none || bytes < orders || bytes > orders * max_key_bytes) fail("fewer than 2^32-1 ids of 1..64 bytes each");
  const std::uint64_t id_bytes = bytes;
  std::uint64_t ids_at = 0;  // the arena offset of the first id byte
  char* ids = st.ledger.restore_order_ids(static_cast<std::size_t>(id_bytes), ids_at);
  r.read(ids, static_cast<std::size_t>(id_bytes));
  r.close();

  if (r.open(Table::orders, bytes) != orders || bytes != orders * order_bytes) fail(std::to_string(orders) + " orders of 40 bytes");
  std::uint64_t id_at = 0, credit_at = 0, order = 0;
  {
    std::unique_ptr<char[]> piece = std::make_unique_for_overwrite<char[]>(piece_bytes);
    const std::size_t shop_count = st.ledger.shop_names().size();
    st.ledger.restore_orders(static_cast<std::size_t>(orders), [&](Ledger::Order* dst, std::size_t n) {
      while (n > 0) {
        const std::size_t k = std::min(n, piece_bytes / order_bytes);
        r.read(piece.get(), k * order_bytes);
        for (std::size_t j = 0; j < k; ++j, ++order) {
          const char* p = piece.get() + j * order_bytes;
          const auto member = get_le<std::uint32_t>(p), shop = get_le<std::uint32_t>(p + 4);
          const auto amount = get_le<std::int64_t>(p + 8), refunded = get_le<std::int64_t>(p + 16), at = get_le<std::int64_t>(p + 24);
          const auto credits = get_le<std::uint32_t>(p + 32), length = get_le<std::uint32_t>(p + 36);
          if (member >= members || shop >= shop_count || amount <= 0 || refunded < 0 || refunded > amount || length == 0 || length > max_key_bytes ||
              length > id_bytes - id_at || credits > Ledger::max_order_credits)
            fail("order " + std::to_string(order) + " with a known member and shop, 0 <= refunded <= amount, an id of 1..64 bytes, at most 65535 credits");
          dst[j] = Ledger::Order{Ledger::Order::id_ref_of(ids_at + id_at, length), member, shop, amount, refunded, at,
                                 Ledger::Order::credit_ref_of(credit_at, credits)};
          id_at += length;
          credit_at += credits;
        }
        dst += k;
        n -= k;
      }
    });
    if (id_at != id_bytes) fail("order ids that use every byte of the ids section");
  }
  r.close();
  const SectionReader after_orders = r;  // for naming the orders section in a fault found later

  if (r.open(Table::credits, bytes) != credit_at || bytes != credit_at * credit_bytes) fail(std::to_string(credit_at) + " credits of 12 bytes (the orders' total)");
  st.ledger.restore_credits(static_cast<std::size_t>(credit_at), [&](Ledger::Credit* dst, std::size_t n) {
    r.read_records(reinterpret_cast<char*>(dst), n, credit_bytes, [&](std::size_t first, std::size_t k) {
      for (std::size_t j = first; j < first + k; ++j) {
        if constexpr (!little_endian) {
          char b[credit_bytes];
          std::memcpy(b, &dst[j], credit_bytes);
          dst[j].member = get_le<std::uint32_t>(b);
          dst[j].points = get_le<std::int64_t>(b + 4);
        }
        if (dst[j].member >= members || dst[j].points <= 0) fail("credits of points > 0 to known members");
      }
    });
  });
  r.close();

  const std::uint64_t redemptions = r.open(Table::redemptions, bytes);
  if (redemptions >= KeyIndex::none || redemptions > bytes / 24) fail("a redemption count that fits the section");
  {
    const std::string payload = r.read_rest();
    r.close();
    ByteReader b(payload, r.payload_offset());
    for (std::uint64_t i = 0; i < redemptions; ++i) {
      const std::uint32_t member = b.u32();
      const std::int64_t points = b.i64();
      const Time at = b.i64();
      const std::string ref = b.str(max_key_bytes);
      if (member >= members) b.fail("a redemption by a known member");
      if (ref.empty() || st.ledger.find_ref(ref) != Ledger::none) b.fail("distinct redemption refs of 1..64 bytes");
      st.ledger.record_redemption(ref, member, points, at);
    }
    if (b.left() != 0) b.fail("the end of the section");
  }

  const std::uint64_t adjustments = r.open(Table::adjustments, bytes);
  if (adjustments > bytes / 28) fail("an adjustment count that fits the section");
  {
    const std::string payload = r.read_rest();
    r.close();
    ByteReader b(payload, r.payload_offset());
    for (std::uint64_t i = 0; i < adjustments; ++i) {
      Ledger::Adjustment a;
      a.member = b.u32();
      a.points = b.i64();
      a.at = b.i64();
      a.actor = b.str();
      a.reason = b.str();
      if (a.member >= members) b.fail("an adjustment of a known member");
      st.ledger.record_adjustment(std::move(a));
    }
    if (b.left() != 0) b.fail("the end of the section");
  }

  const std::uint64_t plan_changes = r.open(Table::plan_changes, bytes);
  if (plan_changes > bytes / 12) fail("a plan change count that fits the section");
  {
    const std::string payload = r.read_rest();
    r.close();
    ByteReader b(payload, r.payload_offset());
    for (std::uint64_t i = 0; i < plan_changes; ++i) {
      Ledger::PlanChangeRecord p;
      p.at = b.i64();
      p.actor = b.str();
      st.ledger.record_plan_change(std::move(p));
    }
    if (b.left() != 0) b.fail("the end of the section");
  }

  if (r.position() != end_at) throw FormatError("snapshot: expected the end section at byte " + std::to_string(r.position()) + ", not " + std::to_string(end_at));
  if (r.sections() != sections) throw FormatError("snapshot: the end section counts " + std::to_string(sections) + " sections, not " + std::to_string(r.sections()));

  // Every table is in and checked. What is left: the order index (which also finds duplicate ids)
  // and the digest. The digest's walk never uses the index, so a big state's digest runs on other
  // threads while this one builds it.
  std::string computed;
  std::exception_ptr digest_error;
  bool distinct = false;
  if (check == DigestCheck::verify && big_state(st)) {
    std::jthread digester([&] {
      try {
        computed = digest(st);
      } catch (...) {
        digest_error = std::current_exception();
      }
    });
    distinct = st.ledger.index_orders();
  } else {
    distinct = st.ledger.index_orders();
    if (check == DigestCheck::verify && distinct) computed = digest(st);
  }
  if (digest_error) std::rethrow_exception(digest_error);
  if (!distinct) after_orders.fail("distinct order ids");
  if (check == DigestCheck::verify && computed != stored_digest)
    throw FormatError("snapshot: a state whose digest matches the snapshot's (" + stored_digest + ")");
  if (verified && check == DigestCheck::verify) *verified = stored_digest;
  return st;
}

// Formats 1 and 2: a header, the state bytes of state.hpp save_state, one CRC32C at the end.
State decode_legacy(std::string_view image, std::uint64_t& seq) {
  if (image.size() < snapshot_magic.size() + 4) throw FormatError("a snapshot shorter than its header");
  const std::uint32_t stored_crc = ByteReader(image.substr(image.size() - 4)).u32();
  if (Crc32c::compute(image.substr(0, image.size() - 4)) != stored_crc) throw FormatError("a snapshot that fails its checksum");
  ByteReader r(image.substr(0, image.size() - 4));
  if (r.take(snapshot_magic.size()) != snapshot_magic) r.fail("the snapshot magic");
  const std::uint32_t format = r.u32();
  if (format != 1 && format != 2) r.fail("snapshot format 1, 2 or 3");
  r.u32();
  seq = r.u64();
  const std::string digest_hex = r.str(64);
  const std::uint64_t n = r.u64();
  if (n != r.left()) r.fail(std::to_string(r.left()) + " bytes of state");
  return load_state(r.take(static_cast<std::size_t>(n)), digest_hex);
}

// Whether the first bytes are those of a format-3 file.
bool format_3(std::string_view head) noexcept {
  return head.size() >= 20 && head.substr(0, snapshot_magic.size()) == snapshot_magic && get_le<std::uint32_t>(head.data() + 16) == 3;
}

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

void write_snapshot(FileSystem& fs, int fd, const State& state, std::uint64_t seq) {
  FileOutput out(fs, fd);
  write_tables(out, buffer_bytes, state, seq);
}

std::string encode_snapshot(const State& state, std::uint64_t seq) {
  std::string image;
  StringOutput out(image);
  write_tables(out, 256u << 10, state, seq);
  return image;
}

State read_snapshot(FileSystem& fs, const std::string& path, std::uint64_t& seq, DigestCheck check, std::string* verified) {
  const int fd = fs.open_read(path);
  State st;
  try {
    const std::uint64_t size = fs.file_size(fd);
    char head[20];
    const std::size_t got = size >= sizeof head ? fs.read_at(fd, 0, head, sizeof head) : 0;
    if (format_3(std::string_view(head, got))) {
      FileInput in(fs, fd, size);
      st = read_tables(in, seq, check, verified);
    } else {
      // Formats 1 and 2 (and what is neither, which their decoder names): the whole file.
      std::string image(static_cast<std::size_t>(size), '\0');
      FileInput(fs, fd, size).read(0, image.data(), image.size());
      st = decode_legacy(image, seq);
    }
  } catch (...) {
    try {
      fs.close(fd);
    } catch (...) {
    }
    throw;
  }
  fs.close(fd);
  return st;
}

State decode_snapshot(std::string_view image, std::uint64_t& seq, DigestCheck check) {
  if (format_3(image)) {
    ImageInput in(image);
    return read_tables(in, seq, check);
  }
  return decode_legacy(image, seq);
}

}  // namespace upline
