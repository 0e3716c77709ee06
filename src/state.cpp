// state.cpp — the state's digest, snapshot bytes (formats 2 and 1), member views and the dump.
#include "upline/state.hpp"

#include "upline/json_text.hpp"
#include "upline/sha256.hpp"

#include <fmt/format.h>

#if UPLINE_WITH_OPENSSL
#include <openssl/evp.h>
#endif

#include <array>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>
#include <stdexcept>
#include <unordered_map>

namespace upline {

namespace {

constexpr std::string_view snapshot_tag_v1 = "upline-state-bytes-v1";
constexpr std::string_view snapshot_tag_v2 = "upline-state-bytes-v2";

#if UPLINE_WITH_OPENSSL
// libcrypto's SHA-256, fetched once: a digest then takes no lock to find its implementation —
// which matters in a forked child (a background snapshot) whose parent's other threads may have
// held libcrypto's locks at the fork.
const EVP_MD* sha256_md() {
  static const EVP_MD* md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched ? fetched : EVP_sha256();
  }();
  return md;
}
#endif

// SHA-256 through libcrypto when built with it (hardware SHA where the CPU has it), else the
// portable implementation. Fed in 64 KiB pieces by StreamWriter.
class HashSink {
 public:
#if UPLINE_WITH_OPENSSL
  HashSink() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, sha256_md(), nullptr) != 1) throw std::runtime_error("SHA-256: libcrypto could not start a digest");
  }
  ~HashSink() { EVP_MD_CTX_free(ctx_); }
  void write(const char* p, std::size_t n) {
    if (EVP_DigestUpdate(ctx_, p, n) != 1) throw std::runtime_error("SHA-256: libcrypto failed to hash");
  }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_, md, &len) != 1 || len != 32) throw std::runtime_error("SHA-256: libcrypto failed to finish");
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(64, '0');
    for (unsigned i = 0; i < 32; ++i) {
      out[2 * i] = digits[md[i] >> 4];
      out[2 * i + 1] = digits[md[i] & 15];
    }
    return out;
  }
  HashSink(const HashSink&) = delete;
  HashSink& operator=(const HashSink&) = delete;

 private:
  EVP_MD_CTX* ctx_;
#else
  void write(const char* p, std::size_t n) { h_.update(p, n); }
  std::string hex() { return h_.hex_final(); }

 private:
  Sha256 h_;
#endif
};

// HashSink on a second thread: the walk fills 1 MiB blocks while the hasher hashes the ones before,
// in order, so the digest of a big state costs about the longer of the two instead of their sum.
// The bytes hashed are exactly HashSink's.
class PipelinedHashSink {
 public:
  PipelinedHashSink() : hasher_([this] { run(); }) {}
  ~PipelinedHashSink() {
    if (hasher_.joinable()) finish();
  }
  PipelinedHashSink(const PipelinedHashSink&) = delete;
  PipelinedHashSink& operator=(const PipelinedHashSink&) = delete;

  void write(const char* p, std::size_t n) {
    while (n > 0) {
      if (!current_) current_ = take_free();
      const std::size_t room = block - current_->size();
      const std::size_t k = std::min(room, n);
      current_->append(p, k);
      p += k;
      n -= k;
      if (current_->size() == block) hand_over();
    }
  }
  std::string hex() {
    finish();
    if (error_) std::rethrow_exception(error_);
    return hex_;
  }

 private:
  static constexpr std::size_t block = std::size_t{1} << 20;
  static constexpr std::size_t blocks = 4;

  std::string* take_free() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !free_.empty(); });
    std::string* b = free_.back();
    free_.pop_back();
    b->clear();
    return b;
  }
  void hand_over() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      full_.push_back(current_);
    }
    changed_.notify_all();
    current_ = nullptr;
  }
  void finish() {
    if (current_) hand_over();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    changed_.notify_all();
    hasher_.join();
  }
  void run() {
    try {
      HashSink h;
      for (;;) {
        std::string* b = nullptr;
        {
          std::unique_lock<std::mutex> lock(mutex_);
          changed_.wait(lock, [this] { return !full_.empty() || done_; });
          if (full_.empty()) break;  // done and drained
          b = full_.front();
          full_.pop_front();
        }
        h.write(b->data(), b->size());
        {
          std::lock_guard<std::mutex> lock(mutex_);
          free_.push_back(b);
        }
        changed_.notify_all();
      }
      hex_ = h.hex();
    } catch (...) {
      error_ = std::current_exception();
      std::lock_guard<std::mutex> lock(mutex_);
      // Keep the writer from waiting for a block that will never come back.
      for (auto& b : storage_) free_.push_back(&b);
      changed_.notify_all();
    }
  }

  std::array<std::string, blocks> storage_{};
  std::vector<std::string*> free_ = [this] {
    std::vector<std::string*> f;
    for (auto& b : storage_) {
      b.reserve(block);
      f.push_back(&b);
    }
    return f;
  }();
  std::deque<std::string*> full_;
  std::string* current_ = nullptr;
  bool done_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string hex_;
  std::exception_ptr error_;
  std::thread hasher_;  // last: starts once everything above exists
};

std::string sha256_hex(std::string_view bytes) {
  HashSink h;
  h.write(bytes.data(), bytes.size());
  return h.hex();
}

[[noreturn]] void fail_at(const ByteReader& r, const std::string& expected) { r.fail(expected); }

// Installs the plan of a saved state into `st`, after the interning tables so that their order
// is the saved one (a plan interns its reward ids when installed).
void install_saved_plan(State& st, const std::string& plan_text, const std::vector<std::string>& reward_names,
                        const std::vector<std::string>& shop_names, const ByteReader& r) {
  PlanFaults faults;
  auto plan = Plan::parse(plan_text, faults);
  if (!plan) fail_at(r, "a valid plan (" + faults.message() + ")");
  for (const auto& n : reward_names)
    if (st.members.intern_reward(n) + 1 != st.members.reward_names().size()) fail_at(r, "distinct reward ids");
  for (const auto& n : shop_names)
    if (st.ledger.intern_shop(n) + 1 != st.ledger.shop_names().size()) fail_at(r, "distinct shop ids");
  st.install(std::make_shared<const Plan>(std::move(*plan)));
  if (!reward_names.empty() && st.members.reward_names().size() != reward_names.size())
    fail_at(r, "every reward of the plan among the saved reward ids");
}

std::vector<std::string> read_names(ByteReader& r) {
  const std::uint32_t n = r.u32();
  if (n > r.left() / 4) r.fail("a count of names that fits the bytes");
  std::vector<std::string> out;
  out.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) out.push_back(r.str(64));
  return out;
}

// A node as the stream gives it, before its matrix is rebuilt.
struct SavedNode {
  Matrix::Node node;
  std::uint32_t member;
  MemberId parent;
  std::uint32_t position;
};

// Restores tier t's matrix from its nodes, in node order; every node 0..n-1 exactly once.
void restore_matrix(State& st, std::uint32_t t, std::vector<SavedNode>& nodes, ByteReader& r) {
  std::sort(nodes.begin(), nodes.end(), [](const SavedNode& a, const SavedNode& b) { return a.node < b.node; });
  Matrix& mx = st.matrices[t];
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const SavedNode& n = nodes[i];
    if (n.node != i) fail_at(r, "the nodes of tier " + std::to_string(t) + " numbered 0.." + std::to_string(nodes.size() - 1));
    Matrix::Node parent = Matrix::none;
    if (n.parent != 0) {
      const std::uint32_t pm = st.members.find(n.parent);
      if (pm == no_member || (parent = mx.node_of(pm)) == Matrix::none)
        fail_at(r, "node " + std::to_string(n.node) + " of tier " + std::to_string(t) + " under a node entered before it");
    }
    if (!mx.restore(n.member, parent, n.position)) fail_at(r, "node " + std::to_string(n.node) + " of tier " + std::to_string(t) + " at a valid place");
  }
}

std::uint32_t member_of(const State& st, ByteReader& r, MemberId id, const char* what) {
  const std::uint32_t m = st.members.find(id);
  if (m == no_member) fail_at(r, std::string(what) + " that is a member (" + std::to_string(id) + ")");
  return m;
}

// Format 1 (upline 0.1): member and node indices, a credit table after the orders.
State load_v1(ByteReader& r) {
  State st;
  // The plan comes first in format 1, the interning tables after the counters: read ahead.
  const std::string plan_text = r.str();
  const Time clock = r.i64();
  const std::uint64_t applied = r.u64(), rejected = r.u64();
  const std::vector<std::string> rewards = read_names(r), shops = read_names(r);
  install_saved_plan(st, plan_text, rewards, shops, r);
  st.clock = clock;
  st.applied = applied;
  st.rejected = rejected;

  const std::uint64_t members = r.u64();
  if (members > r.left() / 42 || members >= no_member) r.fail("a member count that fits the snapshot");
  st.members.reserve(members);
  std::vector<std::uint32_t> referrals(members, 0);
  for (std::uint64_t i = 0; i < members; ++i) {
    MemberRecord m;
    m.id = r.i64();
    m.balance = r.i64();
    m.lifetime = r.i64();
    const std::uint64_t orders = r.u64();
    if (orders > std::numeric_limits<std::uint32_t>::max()) r.fail("an order count below 2^32");
    m.orders = static_cast<std::uint32_t>(orders);
    m.sponsor = r.u32();
    referrals[i] = r.u32();
    m.tier = r.u8();
    const std::uint8_t status = r.u8();
    if (m.id < 1 || st.members.find(m.id) != no_member) r.fail("a new member id >= 1");
    if (i == 0 ? m.sponsor != no_member : m.sponsor >= i) r.fail("a sponsor who joined earlier");
    if (m.tier >= st.plan->tiers.size()) r.fail("a tier of the plan");
    if (status > 1) r.fail("a status 0 or 1");
    m.status = static_cast<Status>(status);
    st.members.restore(m);
  }
  for (std::uint32_t i = 0; i < members; ++i)
    if (referrals[i] != st.members[i].referrals) r.fail("member " + std::to_string(st.members[i].id) + "'s referral count to match its sponsees");
  const std::uint32_t matrices = r.u32();
  if (matrices != st.matrices.size()) r.fail(std::to_string(st.matrices.size()) + " matrices");
  for (Matrix& mx : st.matrices) {
    const std::uint64_t nodes = r.u64();
    if (nodes > members) r.fail("at most one node per member");
    for (std::uint64_t n = 0; n < nodes; ++n) {
      const std::uint32_t m = r.u32(), parent = r.u32(), position = r.u32();
      if (m >= members || mx.node_of(m) != Matrix::none || !mx.restore(m, parent, position)) r.fail("node " + std::to_string(n) + " at a valid place");
    }
  }
  const auto reward_count = static_cast<std::uint32_t>(st.members.reward_names().size());
  for (std::uint32_t m = 0; m < members; ++m) {
    for (std::uint32_t t = 0; t < st.matrices.size(); ++t)
      if ((st.matrices[t].node_of(m) != Matrix::none) != (t <= st.members[m].tier))
        r.fail("member " + std::to_string(st.members[m].id) + " to have a node in exactly the tiers up to its own");
    const std::uint32_t n = r.u32();
    if (n > reward_count) r.fail("at most one grant of each reward");
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::uint32_t rw = r.u32();
      if (rw >= reward_count) r.fail("a known reward");
      st.members.grant(m, rw);
    }
  }
  struct SavedOrder {
    std::string id;
    std::uint32_t member, shop;
    std::int64_t amount, refunded;
    Time at;
    std::uint64_t begin;
    std::uint32_t count;
  };
  const std::uint64_t orders = r.u64();
  if (orders > r.left() / 48) r.fail("an order count that fits the snapshot");
  if (orders >= KeyIndex::none) r.fail("an order count below 2^32-1");
  std::vector<SavedOrder> saved;
  saved.reserve(orders);
  std::unordered_map<std::string, bool> ids;
  for (std::uint64_t i = 0; i < orders; ++i) {
    SavedOrder o;
    o.id = r.str(64);
    o.member = r.u32();
    o.shop = r.u32();
    o.amount = r.i64();
    o.refunded = r.i64();
    o.at = r.i64();
    o.begin = r.u64();
    o.count = r.u32();
    if (o.id.empty() || !ids.emplace(o.id, true).second) r.fail("distinct order ids of 1..64 bytes");
    if (o.member >= members || o.shop >= st.ledger.shop_names().size() || o.amount <= 0 || o.refunded < 0 || o.refunded > o.amount)
      r.fail("order " + json_quote(o.id) + " with a known member and shop and 0 <= refunded <= amount");
    saved.push_back(std::move(o));
  }
  const std::uint64_t credits = r.u64();
  if (credits > r.left() / 12) r.fail("a credit count that fits the snapshot");
  std::vector<Ledger::Credit> table;
  table.reserve(credits);
  for (std::uint64_t i = 0; i < credits; ++i) {
    Ledger::Credit c{r.u32(), r.i64()};
    if (c.member >= members || c.points <= 0) r.fail("a credit to a known member");
    table.push_back(c);
  }
  std::vector<Ledger::Credit> own;
  for (const SavedOrder& o : saved) {
    if (o.begin > credits || o.count > credits - o.begin || o.count > Ledger::max_order_credits) r.fail("order credits inside the credit table");
    own.assign(table.begin() + static_cast<std::ptrdiff_t>(o.begin), table.begin() + static_cast<std::ptrdiff_t>(o.begin + o.count));
    st.ledger.restore_order(o.id, o.member, o.shop, o.amount, o.refunded, o.at, own);
  }
  const std::uint64_t redemptions = r.u64();
  if (redemptions >= KeyIndex::none) r.fail("a redemption count below 2^32-1");
  for (std::uint64_t i = 0; i < redemptions; ++i) {
    const std::string ref = r.str(64);
    if (ref.empty() || st.ledger.find_ref(ref) != Ledger::none) r.fail("distinct redemption refs of 1..64 bytes");
    const std::uint32_t member = r.u32();
    const std::int64_t points = r.i64();
    const Time at = r.i64();
    if (member >= members) r.fail("a redemption by a known member");
    st.ledger.record_redemption(ref, member, points, at);
  }
  const std::uint64_t adjustments = r.u64();
  for (std::uint64_t i = 0; i < adjustments; ++i) {
    Ledger::Adjustment a;
    a.member = r.u32();
    a.points = r.i64();
    a.actor = r.str();
    a.reason = r.str();
    a.at = r.i64();
    if (a.member >= members) r.fail("an adjustment of a known member");
    st.ledger.record_adjustment(std::move(a));
  }
  const std::uint64_t plan_changes = r.u64();
  for (std::uint64_t i = 0; i < plan_changes; ++i) {
    Ledger::PlanChangeRecord p;
    p.actor = r.str();
    p.at = r.i64();
    st.ledger.record_plan_change(std::move(p));
  }
  if (r.left() != 0) r.fail("the end of the state (" + std::to_string(r.left()) + " bytes more)");
  return st;
}

}  // namespace

void prepare_digest() {
#if UPLINE_WITH_OPENSSL
  (void)sha256_md();
#endif
}

std::string digest(const State& s) {
  // A big state is walked and hashed on two threads (about 64 bytes per member and 150 per order:
  // past 16 MiB the second thread pays for itself).
  if (s.members.size() * 64 + s.ledger.order_count() * 150 > (std::size_t{16} << 20)) {
    PipelinedHashSink h;
    encode_state(s, h);
    return h.hex();
  }
  HashSink h;
  encode_state(s, h);
  return h.hex();
}

std::string save_state(const State& s) {
  std::string out;
  ByteWriter w(out);
  w.str(snapshot_tag_v2);
  w.u64(s.applied);
  w.u64(s.rejected);
  w.u32(static_cast<std::uint32_t>(s.members.reward_names().size()));
  for (const auto& n : s.members.reward_names()) w.str(n);
  w.u32(static_cast<std::uint32_t>(s.ledger.shop_names().size()));
  for (const auto& n : s.ledger.shop_names()) w.str(n);
  const std::size_t length_at = out.size();
  w.u64(0);  // the stream's length, filled in below
  const std::size_t begin = out.size();
  StringSink sink{out};
  encode_state(s, sink);
  const std::uint64_t length = out.size() - begin;
  for (int i = 0; i < 8; ++i) out[length_at + static_cast<std::size_t>(i)] = static_cast<char>(length >> (8 * i));
  return out;
}

State load_state(std::string_view bytes, std::optional<std::string_view> digest_hex) {
  ByteReader r(bytes);
  const std::string tag = r.str(64);
  if (tag == snapshot_tag_v1) {
    State st = load_v1(r);
    if (digest_hex && digest(st) != *digest_hex) throw FormatError("a state whose digest matches the snapshot's (" + std::string(*digest_hex) + ")");
    return st;
  }
  if (tag != snapshot_tag_v2) r.fail("the tag \"" + std::string(snapshot_tag_v2) + "\"");
  const std::uint64_t applied = r.u64(), rejected = r.u64();
  const std::vector<std::string> rewards = read_names(r), shops = read_names(r);
  const std::uint64_t length = r.u64();
  if (length != r.left()) r.fail(std::to_string(r.left()) + " bytes of state stream");
  const std::string_view stream = r.take(static_cast<std::size_t>(length));
  if (digest_hex && sha256_hex(stream) != *digest_hex)
    throw FormatError("a state whose digest matches the snapshot's (" + std::string(*digest_hex) + ")");
  State st = decode_state(stream, rewards, shops);
  st.applied = applied;
  st.rejected = rejected;
  return st;
}

State state_with_saved_plan(std::string_view plan_json, const std::vector<std::string>& reward_names, const std::vector<std::string>& shop_names) {
  PlanFaults faults;
  auto plan = Plan::parse(plan_json, faults);
  if (!plan) throw FormatError("plan: expected a valid plan (" + faults.message() + ")");
  State st;
  for (const auto& n : reward_names)
    if (st.members.intern_reward(n) + 1 != st.members.reward_names().size()) throw FormatError("reward ids: expected distinct ids");
  for (const auto& n : shop_names)
    if (st.ledger.intern_shop(n) + 1 != st.ledger.shop_names().size()) throw FormatError("shop ids: expected distinct ids");
  st.install(std::make_shared<const Plan>(std::move(*plan)));
  if (st.members.reward_names() != reward_names) throw FormatError("reward ids: expected every reward of the plan among them");
  return st;
}

State decode_state(std::string_view stream, const std::vector<std::string>& reward_names, const std::vector<std::string>& shop_names) {
  ByteReader r(stream);
  if (r.str(64) != state_stream_tag) r.fail("the tag \"" + std::string(state_stream_tag) + "\"");
  State st;
  install_saved_plan(st, r.str(), reward_names, shop_names, r);
  const bool fixed_shops = !shop_names.empty();
  st.clock = r.i64();
  if (st.clock < 0) r.fail("a clock >= 0");
  const std::size_t tiers = st.plan->tiers.size();

  const std::uint64_t members = r.u64();
  if (members > r.left() / 62 || members >= no_member) r.fail("a member count that fits the state");
  st.members.reserve(members);
  std::vector<std::vector<SavedNode>> nodes(tiers);
  nodes[0].reserve(members);
  for (std::uint32_t i = 0; i < members; ++i) {
    MemberRecord m;
    m.id = r.i64();
    const MemberId sponsor = r.i64();
    m.tier = r.u8();
    const std::uint8_t status = r.u8();
    m.balance = r.i64();
    m.lifetime = r.i64();
    const std::uint64_t orders = r.u64();
    if (m.id < 1 || st.members.find(m.id) != no_member) r.fail("a new member id >= 1");
    if (i == 0 ? sponsor != 0 : (m.sponsor = st.members.find(sponsor)) == no_member) r.fail("a sponsor who joined earlier");
    if (m.tier >= tiers) r.fail("a tier of the plan");
    if (status > 1) r.fail("a status 0 or 1");
    if (orders > std::numeric_limits<std::uint32_t>::max()) r.fail("an order count below 2^32");
    m.status = static_cast<Status>(status);
    m.orders = static_cast<std::uint32_t>(orders);
    st.members.restore(m);
    for (std::uint32_t t = 0; t <= m.tier; ++t) {
      SavedNode n;
      n.node = r.u32();
      n.member = i;
      n.parent = r.i64();
      n.position = r.u32();
      nodes[t].push_back(n);
    }
    const std::uint32_t granted = r.u32();
    if (granted > st.members.reward_names().size() + r.left()) r.fail("a reward count that fits the state");
    for (std::uint32_t k = 0; k < granted; ++k) {
      const std::string name = r.str(64);
      std::uint32_t rw = 0;
      const auto& names = st.members.reward_names();
      const auto it = std::find(names.begin(), names.end(), name);
      if (it != names.end()) rw = static_cast<std::uint32_t>(it - names.begin());
      else if (reward_names.empty()) rw = st.members.intern_reward(name);
      else r.fail("a reward id among the saved ones (" + json_quote(name) + ")");
      if (st.members.has_reward(i, rw)) r.fail("at most one grant of each reward");
      st.members.grant(i, rw);
    }
  }
  for (std::uint32_t t = 0; t < tiers; ++t) restore_matrix(st, t, nodes[t], r);
  nodes.clear();

  const std::uint64_t orders = r.u64();
  // The smallest order: a 1-byte id and shop (4-byte length each), buyer, amount, refunded, time,
  // and a credit count of 0 (a shop whose ratio is 0 credits nobody): 5 + 8 + 5 + 3 × 8 + 4 bytes.
  constexpr std::uint64_t min_order_bytes = 46;
  if (orders > r.left() / min_order_bytes) r.fail("an order count that fits the state");
  if (orders >= KeyIndex::none) r.fail("an order count below 2^32-1");
  std::vector<Ledger::Credit> credits;
  for (std::uint64_t i = 0; i < orders; ++i) {
    const std::string id = r.str(64);
    if (id.empty() || st.ledger.find_order(id) != Ledger::none) r.fail("distinct order ids of 1..64 bytes");
    const std::uint32_t member = member_of(st, r, r.i64(), "a buyer");
    const std::string shop = r.str(64);
    std::uint32_t shop_index = 0;
    const auto& names = st.ledger.shop_names();
    const auto it = std::find(names.begin(), names.end(), shop);
    if (it != names.end()) shop_index = static_cast<std::uint32_t>(it - names.begin());
    else if (!fixed_shops) shop_index = st.ledger.intern_shop(shop);
    else r.fail("a shop id among the saved ones (" + json_quote(shop) + ")");
    const std::int64_t amount = r.i64(), refunded = r.i64();
    const Time at = r.i64();
    if (amount <= 0 || refunded < 0 || refunded > amount) r.fail("order " + json_quote(id) + " with 0 <= refunded <= amount");
    const std::uint32_t count = r.u32();
    if (count > r.left() / 16 || count > Ledger::max_order_credits) r.fail("a credit count that fits the state (at most 65535)");
    credits.clear();
    for (std::uint32_t k = 0; k < count; ++k) {
      const std::uint32_t to = member_of(st, r, r.i64(), "a credited member");
      const std::int64_t points = r.i64();
      if (points <= 0) r.fail("a credit of points > 0");
      credits.push_back(Ledger::Credit{to, points});
    }
    st.ledger.restore_order(id, member, shop_index, amount, refunded, at, credits);
  }
  const std::uint64_t redemptions = r.u64();
  if (redemptions >= KeyIndex::none) r.fail("a redemption count below 2^32-1");
  for (std::uint64_t i = 0; i < redemptions; ++i) {
    const std::string ref = r.str(64);
    if (ref.empty() || st.ledger.find_ref(ref) != Ledger::none) r.fail("distinct redemption refs of 1..64 bytes");
    const std::uint32_t member = member_of(st, r, r.i64(), "a redeeming member");
    const std::int64_t points = r.i64();
    const Time at = r.i64();
    st.ledger.record_redemption(ref, member, points, at);
  }
  const std::uint64_t adjustments = r.u64();
  for (std::uint64_t i = 0; i < adjustments; ++i) {
    Ledger::Adjustment a;
    a.member = member_of(st, r, r.i64(), "an adjusted member");
    a.points = r.i64();
    a.actor = r.str();
    a.reason = r.str();
    a.at = r.i64();
    st.ledger.record_adjustment(std::move(a));
  }
  const std::uint64_t plan_changes = r.u64();
  for (std::uint64_t i = 0; i < plan_changes; ++i) {
    Ledger::PlanChangeRecord p;
    p.actor = r.str();
    p.at = r.i64();
    st.ledger.record_plan_change(std::move(p));
  }
  if (r.left() != 0) r.fail("the end of the state (" + std::to_string(r.left()) + " bytes more)");
  return st;
}

MemberView member_view(const State& s, std::uint32_t m) {
  const MemberRecord& r = s.members[m];
  MemberView v;
  v.id = r.id;
  if (r.sponsor != no_member) v.sponsor = s.members[r.sponsor].id;
  v.tier = r.tier;
  v.tier_name = s.plan->tiers[r.tier].name;
  v.status = r.status;
  v.balance = Points{r.balance};
  v.lifetime = Points{r.lifetime};
  v.orders = r.orders;
  v.referrals = r.referrals;
  for (std::uint32_t t = 0; t <= r.tier; ++t) {
    const State::NodeAt n = s.node_at(m, t);
    v.nodes.push_back(NodeView{t, n.parent == 0 ? std::nullopt : std::optional<MemberId>(n.parent), n.position});
  }
  for (std::uint32_t rw : s.members.rewards(m)) v.rewards.push_back(s.members.reward_names()[rw]);
  v.benefits = s.plan->tiers[r.tier].benefits;
  return v;
}

void append_member_json(std::string& out, const State& s, std::uint32_t m) {
  const Plan& plan = *s.plan;
  const Members& members = s.members;
  const MemberRecord& r = members[m];
  auto out_it = std::back_inserter(out);
  fmt::format_to(out_it, R"({{"id":{},"sponsor":)", r.id);
  if (r.sponsor == no_member) out += "null";
  else fmt::format_to(out_it, "{}", members[r.sponsor].id);
  out += R"(,"tier":)";
  append_json_string(out, plan.tiers[r.tier].name);
  out += R"(,"status":")";
  out += status_name(r.status);
  out += R"(","balance":")";
  append_units(out, r.balance, plan.points_scale);
  out += R"(","lifetime":")";
  append_units(out, r.lifetime, plan.points_scale);
  fmt::format_to(out_it, R"(","orders":{},"nodes":[)", r.orders);
  for (std::uint32_t t = 0; t <= r.tier; ++t) {
    const State::NodeAt n = s.node_at(m, t);
    if (t) out += ',';
    out += R"({"tier":)";
    append_json_string(out, plan.tiers[t].name);
    out += R"(,"parent":)";
    if (n.parent == 0) out += "null";
    else fmt::format_to(out_it, "{}", n.parent);
    fmt::format_to(out_it, R"(,"position":{}}})", n.position);
  }
  out += R"(],"rewards":[)";
  const auto& rewards = members.rewards(m);
  for (std::size_t k = 0; k < rewards.size(); ++k) {
    if (k) out += ',';
    append_json_string(out, members.reward_names()[rewards[k]]);
  }
  out += "]}";
}

namespace {

// The next tier's promote_at criteria with what member m has and needs; returns whether all hold.
bool append_criteria_json(std::string& out, const State& s, std::uint32_t m, const PromoteAt& c) {
  const Plan& plan = *s.plan;
  const MemberRecord& r = s.members[m];
  auto out_it = std::back_inserter(out);
  out += '[';
  bool first = true, all = true;
  auto open = [&](const char* name) {
    if (!first) out += ',';
    first = false;
    out += R"({"criterion":")";
    out += name;
    out += "\",";
  };
  if (c.lifetime_points) {
    const bool met = r.lifetime >= c.lifetime_points->units;
    open("lifetime_points");
    out += R"("have":")";
    append_units(out, r.lifetime, plan.points_scale);
    out += R"(","need":")";
    append_units(out, c.lifetime_points->units, plan.points_scale);
    fmt::format_to(out_it, R"(","met":{}}})", met);
    all = all && met;
  }
  if (c.direct_referrals) {
    const std::uint64_t have = s.members.referrals_at_least(m, c.direct_referrals->min_tier, plan.tiers.size());
    const bool met = have >= c.direct_referrals->count;
    open("direct_referrals");
    out += R"("min_tier":)";
    append_json_string(out, plan.tiers[c.direct_referrals->min_tier].name);
    fmt::format_to(out_it, R"(,"have":{},"need":{},"met":{}}})", have, c.direct_referrals->count, met);
    all = all && met;
  }
  if (c.filled_levels) {
    // The deepest k <= need for which the member's matrix levels 1..k below it are all filled.
    const Matrix& mx = s.matrices[r.tier];
    const Matrix::Node n = mx.node_of(m);
    std::uint32_t have = 0;
    while (have < *c.filled_levels && mx.levels_filled(n, have + 1)) ++have;
    open("filled_levels");
    fmt::format_to(out_it, R"("have":{},"need":{},"met":{}}})", have, *c.filled_levels, have >= *c.filled_levels);
    all = all && have >= *c.filled_levels;
  }
  out += ']';
  return all;
}

void append_benefits_json(std::string& out, const Tier& tier) {
  out += '{';
  bool first = true;
  for (const auto& [key, value] : tier.benefits) {  // a std::map: keys sorted
    if (!first) out += ',';
    first = false;
    append_json_string(out, key);
    out += ':';
    append_json_string(out, value);
  }
  out += '}';
}

}  // namespace

void append_member_card_json(std::string& out, const State& s, std::uint32_t m) {
  append_member_json(out, s, m);
  out.pop_back();  // the member object's closing brace: the card goes on in the same object
  const MemberRecord& r = s.members[m];
  fmt::format_to(std::back_inserter(out), R"(,"referrals":{},"benefits":)", r.referrals);
  append_benefits_json(out, s.plan->tiers[r.tier]);
  out += R"(,"progress":)";
  append_progress_json(out, s, m);
  out += '}';
}

void append_progress_json(std::string& out, const State& s, std::uint32_t m) {
  const Plan& plan = *s.plan;
  const MemberRecord& r = s.members[m];
  if (r.tier + 1u >= plan.tiers.size()) {
    out += "null";
    return;
  }
  const Tier& next = plan.tiers[r.tier + 1u];
  out += R"({"tier":)";
  append_json_string(out, next.name);
  out += R"(,"criteria":)";
  append_criteria_json(out, s, m, *next.promote_at);
  out += '}';
}

void append_rank_card_json(std::string& out, const State& s, std::uint32_t m) {
  const Plan& plan = *s.plan;
  const MemberRecord& r = s.members[m];
  fmt::format_to(std::back_inserter(out), R"({{"member":{},"tier":)", r.id);
  append_json_string(out, plan.tiers[r.tier].name);
  out += R"(,"status":")";
  out += status_name(r.status);
  out += R"(","benefits":)";
  append_benefits_json(out, plan.tiers[r.tier]);
  out += R"(,"next":)";
  if (r.tier + 1u >= plan.tiers.size()) {
    out += "null}";
    return;
  }
  const Tier& next = plan.tiers[r.tier + 1u];
  out += R"({"tier":)";
  append_json_string(out, next.name);
  out += R"(,"criteria":)";
  const bool all = append_criteria_json(out, s, m, *next.promote_at);
  fmt::format_to(std::back_inserter(out), R"(,"eligible":{},"benefits":)", all);
  append_benefits_json(out, next);
  out += "}}";
}

void append_order_json(std::string& out, const State& s, std::uint32_t i) {
  const Plan& plan = *s.plan;
  const Ledger::Order& o = s.ledger.order(i);
  auto out_it = std::back_inserter(out);
  out += R"({"id":)";
  append_json_string(out, s.ledger.order_id(o));
  fmt::format_to(out_it, R"(,"member":{},"shop":)", s.members[o.member].id);
  append_json_string(out, s.ledger.shop_names()[o.shop]);
  out += R"(,"amount":")";
  append_units(out, o.amount, plan.money_scale);
  out += R"(","refunded":")";
  append_units(out, o.refunded, plan.money_scale);
  fmt::format_to(out_it, R"(","at":{},"credits":[)", o.at);
  for (std::uint32_t k = 0; k < o.credit_count(); ++k) {
    const Ledger::Credit& c = s.ledger.credit(o, k);
    if (k) out += ',';
    fmt::format_to(out_it, R"({{"member":{},"points":")", s.members[c.member].id);
    append_units(out, c.points, plan.points_scale);
    out += R"(","clawed_back":")";
    append_units(out, proportion(c.points, o.refunded, o.amount), plan.points_scale);
    out += "\"}";
  }
  out += "]}";
}

void append_dump_json(std::string& out, const State& s) {
  const Members& members = s.members;
  std::vector<std::uint32_t> order(members.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return members[a].id < members[b].id; });
  out.reserve(out.size() + order.size() * 200 + 128);
  fmt::format_to(std::back_inserter(out), R"({{"applied":{},"rejected":{},"digest":"{}","members":[)", s.applied, s.rejected, digest(s));
  for (std::size_t i = 0; i < order.size(); ++i) {
    out += i ? ",\n" : "\n";
    append_member_json(out, s, order[i]);
  }
  out += order.empty() ? "]}\n" : "\n]}\n";
}

}  // namespace upline
