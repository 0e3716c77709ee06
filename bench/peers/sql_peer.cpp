// sql_peer.cpp — the SQL peer of issue 5: the same compensation plan implemented the way a
// competent backend developer does it on a relational database today (see README.md here).
//
// The host (this program) holds the plan and does the per-event arithmetic (exact integers, one
// half-to-even rounding per amount, like upline); every piece of member, matrix, order and credit
// state lives in SQL and is read and written through prepared statements. One code path, two
// backends (PostgreSQL through libpq, SQLite in-process) behind the tiny Db interface below; the
// same schema and the same statements, placeholders adapted.
//
// usage: upline_sql_peer --backend sqlite|postgres --plan PLAN.json --events EVENTS.jsonl
//          [--conninfo "host=/tmp/x port=5433 user=postgres dbname=postgres"] [--db PATH]
//          [--max-purchases N] [--batch N] [--dump OUT.json] [--check UPLINE_DUMP.json] [--profile on]
#include "upline/plan.hpp"
#include "upline/accrual.hpp"
#include "upline/decimal.hpp"
#include "upline/ledger.hpp"
#include "upline/propagation.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <boost/multiprecision/cpp_int.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace {

using json = nlohmann::json;
using i128 = upline::i128;
using u128 = upline::u128;
using int256 = boost::multiprecision::int256_t;

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "upline_sql_peer: %s\n", msg.c_str());
  std::exit(2);
}

// ---- the tiny database interface ------------------------------------------------------------

struct Param {
  enum Kind { null, integer, text } kind = null;
  std::int64_t i = 0;
  std::string_view s;
};
Param I(std::int64_t v) { return Param{Param::integer, v, {}}; }
Param T(std::string_view v) { return Param{Param::text, 0, v}; }
Param N() { return Param{}; }

// Result rows of one statement: cells row-major; PostgreSQL fills text, SQLite integers or text.
struct Rows {
  struct Cell {
    bool null = true;
    bool is_text = false;
    std::int64_t i = 0;
    std::string s;
  };
  std::size_t ncols = 0, nrows = 0;
  std::vector<Cell> cells;

  void reset(std::size_t cols) {
    ncols = cols;
    nrows = 0;
  }
  Cell& add(std::size_t r, std::size_t c) {
    std::size_t k = r * ncols + c;
    if (cells.size() <= k) cells.resize(k + 1);
    return cells[k];
  }
  bool null(std::size_t r, std::size_t c) const { return cells[r * ncols + c].null; }
  std::int64_t i(std::size_t r, std::size_t c) const {
    const Cell& x = cells[r * ncols + c];
    if (x.null) die("unexpected NULL in a result");
    if (!x.is_text) return x.i;
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(x.s.data(), x.s.data() + x.s.size(), v);
    if (ec != std::errc{} || p != x.s.data() + x.s.size()) die("not an integer in a result: " + x.s);
    return v;
  }
  const std::string& s(std::size_t r, std::size_t c) const { return cells[r * ncols + c].s; }
};

class Db {
 public:
  virtual ~Db() = default;
  virtual const char* name() const = 0;
  virtual void exec(const std::string& sql) = 0;  // DDL, BEGIN, COMMIT, settings
  // Prepares a statement written with '?' placeholders; returns its handle.
  virtual int prepare(const std::string& sql) = 0;
  virtual void run(int stmt, std::initializer_list<Param> params, Rows* out = nullptr) = 0;
};

class PgDb final : public Db {
 public:
  explicit PgDb(const std::string& conninfo) {
    conn_ = PQconnectdb(conninfo.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) die(std::string("postgres: cannot connect: ") + PQerrorMessage(conn_));
  }
  ~PgDb() override { PQfinish(conn_); }
  const char* name() const override { return "postgres"; }
  void exec(const std::string& sql) override {
    PGresult* r = PQexec(conn_, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string msg = PQresultErrorMessage(r);
      PQclear(r);
      die("postgres: " + msg + " in: " + sql);
    }
    PQclear(r);
  }
  int prepare(const std::string& sql) override {
    std::string text;
    int n = 0;
    for (char c : sql) {
      if (c == '?') text += "$" + std::to_string(++n);
      else text += c;
    }
    std::string nm = "s" + std::to_string(nparams_.size());
    PGresult* r = PQprepare(conn_, nm.c_str(), text.c_str(), n, nullptr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      std::string msg = PQresultErrorMessage(r);
      PQclear(r);
      die("postgres: prepare: " + msg + " in: " + text);
    }
    PQclear(r);
    names_.push_back(nm);
    nparams_.push_back(n);
    return static_cast<int>(names_.size() - 1);
  }
  void run(int stmt, std::initializer_list<Param> params, Rows* out) override {
    const auto id = static_cast<std::size_t>(stmt);
    if (params.size() != static_cast<std::size_t>(nparams_[id])) die("postgres: wrong parameter count");
    const char* values[16];
    std::size_t k = 0;
    for (const Param& p : params) {
      std::string& buf = bufs_[k];
      if (p.kind == Param::null) {
        values[k] = nullptr;
      } else if (p.kind == Param::integer) {
        char tmp[24];
        auto [e, ec] = std::to_chars(tmp, tmp + sizeof tmp, p.i);
        (void)ec;
        buf.assign(tmp, e);
        values[k] = buf.c_str();
      } else {
        buf.assign(p.s);
        values[k] = buf.c_str();
      }
      ++k;
    }
    PGresult* r = PQexecPrepared(conn_, names_[id].c_str(), static_cast<int>(k), values, nullptr, nullptr, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string msg = PQresultErrorMessage(r);
      PQclear(r);
      die("postgres: " + msg);
    }
    if (out) {
      const auto cols = static_cast<std::size_t>(PQnfields(r));
      const int n = PQntuples(r);
      out->reset(cols);
      for (int row = 0; row < n; ++row) {
        for (std::size_t c = 0; c < cols; ++c) {
          Rows::Cell& cell = out->add(static_cast<std::size_t>(row), c);
          cell.null = PQgetisnull(r, row, static_cast<int>(c)) != 0;
          cell.is_text = true;
          if (!cell.null) cell.s.assign(PQgetvalue(r, row, static_cast<int>(c)), static_cast<std::size_t>(PQgetlength(r, row, static_cast<int>(c))));
        }
      }
      out->nrows = static_cast<std::size_t>(n);
    }
    PQclear(r);
  }

 private:
  PGconn* conn_ = nullptr;
  std::vector<std::string> names_;
  std::vector<int> nparams_;
  std::string bufs_[16];
};

class SqliteDb final : public Db {
 public:
  explicit SqliteDb(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) die("sqlite: cannot open " + path + ": " + sqlite3_errmsg(db_));
  }
  ~SqliteDb() override {
    for (sqlite3_stmt* s : stmts_) sqlite3_finalize(s);
    sqlite3_close(db_);
  }
  const char* name() const override { return "sqlite"; }
  void exec(const std::string& sql) override {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      die("sqlite: " + msg + " in: " + sql);
    }
  }
  int prepare(const std::string& sql) override {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
      die(std::string("sqlite: prepare: ") + sqlite3_errmsg(db_) + " in: " + sql);
    stmts_.push_back(s);
    return static_cast<int>(stmts_.size() - 1);
  }
  void run(int stmt, std::initializer_list<Param> params, Rows* out) override {
    sqlite3_stmt* s = stmts_[static_cast<std::size_t>(stmt)];
    if (params.size() != static_cast<std::size_t>(sqlite3_bind_parameter_count(s))) die("sqlite: wrong parameter count");
    int k = 1;
    for (const Param& p : params) {
      if (p.kind == Param::null) sqlite3_bind_null(s, k);
      else if (p.kind == Param::integer) sqlite3_bind_int64(s, k, p.i);
      else sqlite3_bind_text(s, k, p.s.data(), static_cast<int>(p.s.size()), SQLITE_STATIC);
      ++k;
    }
    const auto cols = static_cast<std::size_t>(sqlite3_column_count(s));
    if (out) out->reset(cols);
    std::size_t row = 0;
    for (;;) {
      int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        std::string msg = sqlite3_errmsg(db_);
        sqlite3_reset(s);
        die("sqlite: " + msg + " in: " + sqlite3_sql(s));
      }
      if (!out) continue;
      for (std::size_t c = 0; c < cols; ++c) {
        Rows::Cell& cell = out->add(row, c);
        const int ci = static_cast<int>(c);
        const int type = sqlite3_column_type(s, ci);
        cell.null = type == SQLITE_NULL;
        cell.is_text = type == SQLITE_TEXT;
        if (type == SQLITE_INTEGER) cell.i = sqlite3_column_int64(s, ci);
        else if (type == SQLITE_TEXT)
          cell.s.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, ci)), static_cast<std::size_t>(sqlite3_column_bytes(s, ci)));
      }
      ++row;
    }
    if (out) out->nrows = row;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }

 private:
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> stmts_;
};

// --profile: wraps a Db and reports, per statement, its calls and the time spent in them.
class ProfiledDb final : public Db {
 public:
  explicit ProfiledDb(std::unique_ptr<Db> inner) : inner_(std::move(inner)) {}
  ~ProfiledDb() override {
    std::fprintf(stderr, "%10s %10s %8s  statement\n", "calls", "seconds", "us/call");
    for (std::size_t k = 0; k < sql_.size(); ++k)
      if (calls_[k])
        std::fprintf(stderr, "%10lld %10.3f %8.1f  %.110s\n", static_cast<long long>(calls_[k]), seconds_[k],
                     1e6 * seconds_[k] / static_cast<double>(calls_[k]), sql_[k].c_str());
  }
  const char* name() const override { return inner_->name(); }
  void exec(const std::string& sql) override { inner_->exec(sql); }
  int prepare(const std::string& sql) override {
    sql_.push_back(sql);
    calls_.push_back(0);
    seconds_.push_back(0);
    return inner_->prepare(sql);
  }
  void run(int stmt, std::initializer_list<Param> params, Rows* out) override {
    const auto t0 = std::chrono::steady_clock::now();
    inner_->run(stmt, params, out);
    const auto k = static_cast<std::size_t>(stmt);
    seconds_[k] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++calls_[k];
  }

 private:
  std::unique_ptr<Db> inner_;
  std::vector<std::string> sql_;
  std::vector<std::int64_t> calls_;
  std::vector<double> seconds_;
};

// ---- the schema (identical on both backends) -------------------------------------------------

const char* const schema[] = {
    // One row per member; tier is the tier index, status 0 = active, 1 = suspended; amounts in
    // units of the plan's scales.
    "CREATE TABLE members (id BIGINT PRIMARY KEY, sponsor BIGINT, tier INTEGER NOT NULL, status INTEGER NOT NULL,"
    " balance BIGINT NOT NULL, lifetime BIGINT NOT NULL, orders BIGINT NOT NULL)",
    // One row per matrix node: node n of tier t's matrix (breadth-first numbering), parent node.
    "CREATE TABLE nodes (tier INTEGER NOT NULL, node BIGINT NOT NULL, member BIGINT NOT NULL, parent BIGINT,"
    " pos INTEGER NOT NULL, PRIMARY KEY (tier, node))",
    "CREATE UNIQUE INDEX nodes_by_member ON nodes (member, tier)",
    // Direct referrals of each sponsor, counted by the referral's current tier.
    "CREATE TABLE referrals_by_tier (sponsor BIGINT NOT NULL, tier INTEGER NOT NULL, n BIGINT NOT NULL,"
    " PRIMARY KEY (sponsor, tier))",
    "CREATE TABLE orders (ref TEXT PRIMARY KEY, member BIGINT NOT NULL, shop TEXT NOT NULL, amount BIGINT NOT NULL,"
    " refunded BIGINT NOT NULL, at_ms BIGINT NOT NULL)",
    // Every credit an order produced, in credit order, with what refunds clawed back from it.
    "CREATE TABLE credits (order_ref TEXT NOT NULL, seq INTEGER NOT NULL, member BIGINT NOT NULL,"
    " points BIGINT NOT NULL, clawed BIGINT NOT NULL, PRIMARY KEY (order_ref, seq))",
    "CREATE TABLE redemptions (ref TEXT PRIMARY KEY, member BIGINT NOT NULL, points BIGINT NOT NULL, at_ms BIGINT NOT NULL)",
    "CREATE TABLE rewards (member BIGINT NOT NULL, seq INTEGER NOT NULL, reward TEXT NOT NULL, PRIMARY KEY (member, reward))",
};

// ---- exact arithmetic ------------------------------------------------------------------------

// num / den, half to even, num >= 0, den > 0.
u128 round_half_even(u128 num, u128 den) {
  u128 q = num / den, r = num % den;
  if (2 * r > den || (2 * r == den && (q & 1) != 0)) ++q;
  return q;
}
int256 round_half_even(const int256& num, const int256& den) {
  int256 q = num / den, r = num % den;
  if (2 * r > den || (2 * r == den && (q & 1) != 0)) ++q;
  return q;
}
std::int64_t pow10(int n) {
  std::int64_t v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

// ---- events ----------------------------------------------------------------------------------

enum class Type { join, purchase, refund, redeem, adjust, suspend, reactivate, invalid };

struct Event {
  Type type = Type::invalid;
  std::int64_t member = 0;
  std::optional<std::int64_t> sponsor;
  std::string key;     // order (purchase, refund) or ref (redeem)
  std::string shop;
  std::optional<std::string> amount;  // amount (purchase, refund) or points (redeem, adjust)
  std::int64_t at = 0;
};

Event parse_event(const std::string& line) {
  Event e;
  json j = json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) return e;
  const std::string t = j["type"].get<std::string>();
  auto id = [&](const char* f) -> std::optional<std::int64_t> {
    if (!j.contains(f) || j[f].is_null()) return std::nullopt;
    const json& v = j[f];
    if (!v.is_number_integer()) return std::nullopt;
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    std::int64_t x = v.get<std::int64_t>();
    if (x < 0) return std::nullopt;
    return x;
  };
  auto str = [&](const char* f) -> std::optional<std::string> {
    if (!j.contains(f) || !j[f].is_string()) return std::nullopt;
    return j[f].get<std::string>();
  };
  auto at = id("at");
  if (!at) return e;
  e.at = *at;
  auto need_member = [&]() {
    auto m = id("member");
    if (!m || *m == 0) return false;
    e.member = *m;
    return true;
  };
  if (t == "join") {
    if (!need_member()) return e;
    if (j.contains("sponsor") && !j["sponsor"].is_null()) {
      e.sponsor = id("sponsor");
      if (!e.sponsor || *e.sponsor == 0) return e;
    }
    e.type = Type::join;
  } else if (t == "purchase") {
    auto o = str("order"), s = str("shop"), a = str("amount");
    if (!need_member() || !o || !s || !a) return e;
    e.key = *o, e.shop = *s, e.amount = *a;
    e.type = Type::purchase;
  } else if (t == "refund") {
    auto o = str("order");
    if (!o) return e;
    e.key = *o;
    if (j.contains("amount") && !j["amount"].is_null()) {
      e.amount = str("amount");
      if (!e.amount) return e;
    }
    e.type = Type::refund;
  } else if (t == "redeem") {
    auto r = str("ref"), p = str("points");
    if (!need_member() || !r || !p) return e;
    e.key = *r, e.amount = *p;
    e.type = Type::redeem;
  } else if (t == "adjust") {
    auto p = str("points");
    if (!need_member() || !p) return e;
    e.amount = *p;
    e.type = Type::adjust;
  } else if (t == "suspend" || t == "reactivate") {
    if (!need_member()) return e;
    e.type = t == "suspend" ? Type::suspend : Type::reactivate;
  } else if (t == "plan") {
    die("plan events are not supported by the SQL peer");
  }
  return e;
}

// Units of a decimal string at a scale, or nullopt (invalid_amount).
std::optional<std::int64_t> units(const std::string& text, int scale) {
  auto d = upline::Decimal::parse(text);
  if (!d) return std::nullopt;
  std::int64_t v = 0;
  if (d->to_units(scale, v) != upline::Decimal::Fit::ok) return std::nullopt;
  return v;
}

// ---- the peer --------------------------------------------------------------------------------

class Peer {
 public:
  Peer(Db& db, const upline::Plan& plan) : db_(db), plan_(plan) {
    for (const auto& t : plan_.tiers)
      if (t.fill != upline::Fill::breadth_first)
        die("tier \"" + t.name + "\" uses under_sponsor placement, which the SQL peer does not implement");
    L_ = plan_.max_filled_levels_used();
    node_count_.assign(plan_.tiers.size(), 0);
    for (const char* ddl : schema) db_.exec(ddl);
    prepare();
  }

  // Applies one event; false when rejected (nothing written).
  bool apply(const Event& e) {
    switch (e.type) {
      case Type::join: return join(e);
      case Type::purchase: return purchase(e);
      case Type::refund: return refund(e);
      case Type::redeem: return redeem(e);
      case Type::adjust: return adjust(e);
      case Type::suspend: return set_status(e, 1);
      case Type::reactivate: return set_status(e, 0);
      case Type::invalid: return false;
    }
    return false;
  }

  void dump(json& out) {
    Rows r, n, w;
    db_.run(q_dump_members_, {}, &r);
    db_.run(q_dump_nodes_, {}, &n);
    db_.run(q_dump_rewards_, {}, &w);
    json members = json::array();
    std::size_t ni = 0, wi = 0;
    for (std::size_t k = 0; k < r.nrows; ++k) {
      const std::int64_t id = r.i(k, 0);
      json m;
      m["id"] = id;
      m["tier"] = plan_.tiers[static_cast<std::size_t>(r.i(k, 1))].name;
      m["balance"] = upline::format_units(r.i(k, 2), plan_.points_scale);
      m["lifetime"] = upline::format_units(r.i(k, 3), plan_.points_scale);
      m["orders"] = r.i(k, 4);
      json nodes = json::array(), rewards = json::array();
      for (; ni < n.nrows && n.i(ni, 0) == id; ++ni) {
        json node;
        node["tier"] = plan_.tiers[static_cast<std::size_t>(n.i(ni, 1))].name;
        node["parent"] = n.null(ni, 2) ? json(nullptr) : json(n.i(ni, 2));
        node["position"] = n.i(ni, 3);
        nodes.push_back(node);
      }
      for (; wi < w.nrows && w.i(wi, 0) == id; ++wi) rewards.push_back(w.s(wi, 1));
      m["nodes"] = nodes;
      m["rewards"] = rewards;
      members.push_back(m);
    }
    out["members"] = members;
  }

 private:
  // ---- statements ----
  void prepare() {
    auto P = [&](const std::string& sql) { return db_.prepare(sql); };
    q_member_ = P("SELECT tier, status, lifetime, sponsor, balance, orders FROM members WHERE id = ?");
    q_any_member_ = P("SELECT 1 FROM members LIMIT 1");
    q_member_insert_ = P("INSERT INTO members (id, sponsor, tier, status, balance, lifetime, orders) VALUES (?, ?, 0, 0, 0, 0, 0)");
    q_ref_inc_ = P("INSERT INTO referrals_by_tier (sponsor, tier, n) VALUES (?, ?, 1)"
                   " ON CONFLICT (sponsor, tier) DO UPDATE SET n = referrals_by_tier.n + 1");
    q_ref_dec_ = P("UPDATE referrals_by_tier SET n = n - 1 WHERE sponsor = ? AND tier = ?");
    q_ref_count_ = P("SELECT COALESCE(SUM(n), 0) FROM referrals_by_tier WHERE sponsor = ? AND tier >= ?");
    q_node_insert_ = P("INSERT INTO nodes (tier, node, member, parent, pos) VALUES (?, ?, ?, ?, ?)");
    q_node_of_ = P("SELECT node FROM nodes WHERE member = ? AND tier = ?");
    // The upline of a member in one tier's matrix, nearest first: a recursive CTE over nodes. `act`
    // counts the active ancestors below the row; the walk stops after `limit` levels, or — with
    // compression — once `limit` active ancestors have been found (suspended ones are skipped).
    // CROSS JOIN fixes SQLite's join order (the CTE's rows outside, primary-key searches inside);
    // without it SQLite scans a whole matrix and probes the CTE. PostgreSQL reorders it freely.
    auto upline_sql = [](bool compress) {
      std::string cond = compress ? "up.act + (CASE WHEN m.status = 0 THEN 1 ELSE 0 END) < ?" : "up.depth < ?";
      return "WITH RECURSIVE up (node, depth, act) AS ("
             " SELECT b.parent, 1, 0 FROM nodes b WHERE b.member = ? AND b.tier = ? AND b.parent IS NOT NULL"
             " UNION ALL"
             " SELECT a.parent, up.depth + 1, up.act + (CASE WHEN m.status = 0 THEN 1 ELSE 0 END)"
             " FROM up CROSS JOIN nodes a CROSS JOIN members m"
             " WHERE a.tier = ? AND a.node = up.node AND m.id = a.member AND a.parent IS NOT NULL AND " + cond +
             ")"
             " SELECT a.member, m.tier, m.status FROM up CROSS JOIN nodes a CROSS JOIN members m"
             " WHERE a.tier = ? AND a.node = up.node AND m.id = a.member ORDER BY up.depth";
    };
    q_ancestors_ = P(upline_sql(false));
    q_upline_ = plan_.compression ? P(upline_sql(true)) : q_ancestors_;
    q_credit_ = P("UPDATE members SET balance = balance + ?, lifetime = lifetime + ? WHERE id = ?");
    q_buyer_ = P("UPDATE members SET orders = orders + 1, balance = balance + ?, lifetime = lifetime + ? WHERE id = ?");
    q_tier_ = P("UPDATE members SET tier = ? WHERE id = ?");
    q_status_ = P("UPDATE members SET status = ? WHERE id = ?");
    q_order_exists_ = P("SELECT 1 FROM orders WHERE ref = ?");
    q_order_insert_ = P("INSERT INTO orders (ref, member, shop, amount, refunded, at_ms) VALUES (?, ?, ?, ?, 0, ?)");
    q_credit_insert_ = P("INSERT INTO credits (order_ref, seq, member, points, clawed) VALUES (?, ?, ?, ?, 0)");
    q_order_get_ = P("SELECT amount, refunded, at_ms FROM orders WHERE ref = ?");
    q_credits_get_ = P("SELECT seq, member, points, clawed FROM credits WHERE order_ref = ? ORDER BY seq");
    q_claw_ = P("UPDATE credits SET clawed = clawed + ? WHERE order_ref = ? AND seq = ?");
    q_refunded_ = P("UPDATE orders SET refunded = ? WHERE ref = ?");
    q_redemption_exists_ = P("SELECT 1 FROM redemptions WHERE ref = ?");
    q_redeem_debit_ = P("UPDATE members SET balance = balance - ? WHERE id = ?");
    q_redemption_insert_ = P("INSERT INTO redemptions (ref, member, points, at_ms) VALUES (?, ?, ?, ?)");
    q_rewards_get_ = P("SELECT reward FROM rewards WHERE member = ?");
    q_reward_insert_ = P("INSERT INTO rewards (member, seq, reward) VALUES (?, ?, ?)");
    q_dump_members_ = P("SELECT id, tier, balance, lifetime, orders FROM members ORDER BY id");
    q_dump_nodes_ = P("SELECT n.member, n.tier, p.member, n.pos FROM nodes n LEFT JOIN nodes p ON p.tier = n.tier AND p.node = n.parent"
                      " ORDER BY n.member, n.tier");
    q_dump_rewards_ = P("SELECT member, reward FROM rewards ORDER BY member, seq");
  }

  std::int64_t applied(std::int64_t at) const { return std::max(clock_, at); }
  void accept(std::int64_t at) { clock_ = std::max(clock_, at); }

  // ---- §5 placement: breadth-first, node n → parent (n-1)/w, position (n-1)%w ----
  std::int64_t place(std::int64_t member, std::uint32_t tier) {
    const std::int64_t n = node_count_[tier]++;
    ++rows_[t_nodes];
    const std::int64_t w = plan_.tiers[tier].width;
    if (n == 0) db_.run(q_node_insert_, {I(tier), I(0), I(member), N(), I(0)});
    else db_.run(q_node_insert_, {I(tier), I(n), I(member), I((n - 1) / w), I((n - 1) % w)});
    return n;
  }

  // ---- §8 work list ----
  void enqueue(std::int64_t m) {
    if (queued_.insert(m).second) work_.push_back(m);
  }
  void enqueue_ancestors(std::int64_t m, std::uint32_t tier) {
    if (L_ == 0) return;
    db_.run(q_ancestors_, {I(m), I(tier), I(tier), I(L_), I(tier)}, &rows2_);
    for (std::size_t k = 0; k < rows2_.nrows; ++k) enqueue(rows2_.i(k, 0));
  }

  bool criteria_hold(std::int64_t m, std::int64_t tier, std::int64_t lifetime, const upline::PromoteAt& c) {
    if (c.lifetime_points && lifetime < c.lifetime_points->units) return false;
    if (c.direct_referrals) {
      db_.run(q_ref_count_, {I(m), I(c.direct_referrals->min_tier)}, &rows3_);
      if (rows3_.i(0, 0) < static_cast<std::int64_t>(c.direct_referrals->count)) return false;
    }
    if (c.filled_levels) {
      const auto t = static_cast<std::size_t>(tier);
      db_.run(q_node_of_, {I(m), I(tier)}, &rows3_);
      // Levels below node n of a complete breadth-first tree are filled iff the rightmost
      // descendant k levels down exists: r = n, repeated k times r = r·w + w, r < count.
      i128 r = rows3_.i(0, 0);
      const i128 w = plan_.tiers[t].width, count = node_count_[t];
      for (std::uint32_t k = 0; k < *c.filled_levels; ++k) {
        r = r * w + w;
        if (r >= count) return false;
      }
    }
    return true;
  }

  void settle() {
    while (!work_.empty()) {
      const std::int64_t m = work_.front();
      work_.pop_front();
      queued_.erase(m);
      db_.run(q_member_, {I(m)}, &rows1_);
      std::int64_t tier = rows1_.i(0, 0);
      const bool active = rows1_.i(0, 1) == 0;
      const std::int64_t lifetime = rows1_.i(0, 2);
      const std::int64_t sponsor = rows1_.null(0, 3) ? 0 : rows1_.i(0, 3);  // member ids are >= 1
      if (!active) continue;
      const auto ntiers = static_cast<std::int64_t>(plan_.tiers.size());
      while (tier + 1 < ntiers && criteria_hold(m, tier, lifetime, *plan_.tiers[static_cast<std::size_t>(tier + 1)].promote_at)) {
        const std::int64_t to = tier + 1;
        db_.run(q_tier_, {I(to), I(m)});
        if (sponsor != 0) {
          db_.run(q_ref_dec_, {I(sponsor), I(tier)});
          db_.run(q_ref_inc_, {I(sponsor), I(to)});
          ++rows_[t_referrals];
        }
        place(m, static_cast<std::uint32_t>(to));
        if (sponsor != 0) enqueue(sponsor);
        enqueue_ancestors(m, static_cast<std::uint32_t>(to));
        tier = to;
      }
      grant_rewards(m, lifetime);
    }
  }

  void grant_rewards(std::int64_t m, std::int64_t lifetime) {
    bool any = false;
    for (const auto& r : plan_.rewards) any = any || lifetime >= r.lifetime_points.units;
    if (!any) return;
    db_.run(q_rewards_get_, {I(m)}, &rows3_);
    std::vector<std::string> have;
    for (std::size_t k = 0; k < rows3_.nrows; ++k) have.push_back(rows3_.s(k, 0));
    for (const auto& r : plan_.rewards) {
      if (lifetime < r.lifetime_points.units) continue;
      if (std::find(have.begin(), have.end(), r.id) != have.end()) continue;
      db_.run(q_reward_insert_, {I(m), I(static_cast<std::int64_t>(have.size())), T(r.id)});
      ++rows_[t_rewards];
      have.push_back(r.id);
    }
  }

  // ---- events ----
  bool join(const Event& e) {
    db_.run(q_member_, {I(e.member)}, &rows1_);
    if (rows1_.nrows) return false;  // member_exists
    if (!e.sponsor) {
      db_.run(q_any_member_, {}, &rows1_);
      if (rows1_.nrows) return false;  // sponsor_required
    } else {
      db_.run(q_member_, {I(*e.sponsor)}, &rows1_);
      if (!rows1_.nrows) return false;  // unknown_sponsor
    }
    accept(e.at);
    db_.run(q_member_insert_, {I(e.member), e.sponsor ? I(*e.sponsor) : N()});
    ++rows_[t_members];
    if (e.sponsor) {
      db_.run(q_ref_inc_, {I(*e.sponsor), I(0)});
      ++rows_[t_referrals];
    }
    place(e.member, 0);
    enqueue(e.member);
    if (e.sponsor) enqueue(*e.sponsor);
    enqueue_ancestors(e.member, 0);
    settle();
    return true;
  }

  struct Credit {
    std::int64_t member, points;
  };

  bool purchase(const Event& e) {
    db_.run(q_order_exists_, {T(e.key)}, &rows1_);
    if (rows1_.nrows) return false;  // duplicate_order
    db_.run(q_member_, {I(e.member)}, &rows1_);
    if (!rows1_.nrows) return false;  // unknown_member
    const auto buyer_tier = static_cast<std::size_t>(rows1_.i(0, 0));
    const bool buyer_active = rows1_.i(0, 1) == 0;
    const auto earlier = static_cast<std::uint64_t>(rows1_.i(0, 5));  // earlier accepted purchases: the history band
    const upline::Shop* shop = plan_.find_shop(e.shop);
    if (!shop) return false;  // unknown_shop
    auto amount = units(*e.amount, plan_.money_scale);
    if (!amount || *amount <= 0) return false;  // invalid_amount

    // P = round(amount × ratio × history × accrual), once, half to even.
    std::int64_t points = 0;
    if (*amount >= shop->min_basket.units) {
      const int256 num = int256(*amount) * shop->ratio.micros * plan_.history_multiplier(earlier).micros *
                         plan_.tiers[buyer_tier].accrual.micros * pow10(plan_.points_scale);
      const int256 den = int256(pow10(plan_.money_scale)) * int256(1'000'000'000'000'000'000LL);
      points = static_cast<std::int64_t>(round_half_even(num, den));
    }
    credits_.clear();
    if (points > 0) {
      if (buyer_active) credits_.push_back({e.member, points});
      for (std::size_t t = 0; t <= buyer_tier; ++t) {
        const auto& rates = plan_.tiers[t].rates;
        if (rates.empty()) continue;
        const auto ti = static_cast<std::int64_t>(t);
        db_.run(q_upline_, {I(e.member), I(ti), I(ti), I(static_cast<std::int64_t>(rates.size())), I(ti)}, &rows2_);
        std::size_t level = 1;
        for (std::size_t k = 0; k < rows2_.nrows && level <= rates.size(); ++k) {
          if (rows2_.i(k, 2) != 0) {  // suspended: receives nothing
            if (!plan_.compression) ++level;
            continue;
          }
          const auto& mult = plan_.tiers[static_cast<std::size_t>(rows2_.i(k, 1))].upline_multiplier;
          const u128 c = round_half_even(static_cast<u128>(points) * static_cast<u128>(rates[level - 1].micros) * static_cast<u128>(mult.micros),
                                         static_cast<u128>(1'000'000'000'000ULL));
          if (c > 0) credits_.push_back({rows2_.i(k, 0), static_cast<std::int64_t>(c)});
          ++level;
        }
      }
    }
    accept(e.at);
    db_.run(q_order_insert_, {T(e.key), I(e.member), T(e.shop), I(*amount), I(applied(e.at))});
    ++rows_[t_orders];
    const std::int64_t own = (points > 0 && buyer_active) ? points : 0;
    db_.run(q_buyer_, {I(own), I(own), I(e.member)});
    std::int64_t seq = 0;
    for (const Credit& c : credits_) {
      if (seq > 0 || own == 0) db_.run(q_credit_, {I(c.points), I(c.points), I(c.member)});
      db_.run(q_credit_insert_, {T(e.key), I(seq), I(c.member), I(c.points)});
      ++rows_[t_credits];
      ++seq;
    }
    for (const Credit& c : credits_) enqueue(c.member);
    settle();
    return true;
  }

  bool refund(const Event& e) {
    db_.run(q_order_get_, {T(e.key)}, &rows1_);
    if (!rows1_.nrows) return false;  // unknown_order
    const std::int64_t total = rows1_.i(0, 0), refunded = rows1_.i(0, 1), order_at = rows1_.i(0, 2);
    std::int64_t amount = total - refunded;
    if (e.amount) {
      auto a = units(*e.amount, plan_.money_scale);
      if (!a || *a <= 0) return false;  // invalid_amount
      amount = *a;
    }
    if (amount == 0 || amount > total - refunded) return false;  // refund_exceeds_order
    if (plan_.refund_window_days &&
        static_cast<i128>(applied(e.at)) > static_cast<i128>(order_at) + static_cast<i128>(*plan_.refund_window_days) * 86'400'000)
      return false;  // refund_window_closed
    const std::int64_t after = refunded + amount;
    accept(e.at);
    db_.run(q_credits_get_, {T(e.key)}, &rows2_);
    for (std::size_t k = 0; k < rows2_.nrows; ++k) {
      const std::int64_t seq = rows2_.i(k, 0), member = rows2_.i(k, 1), c = rows2_.i(k, 2), clawed = rows2_.i(k, 3);
      const auto target = static_cast<std::int64_t>(
          round_half_even(static_cast<u128>(c) * static_cast<u128>(after), static_cast<u128>(total)));
      const std::int64_t d = target - clawed;
      if (d <= 0) continue;
      db_.run(q_credit_, {I(-d), I(-d), I(member)});
      db_.run(q_claw_, {I(d), T(e.key), I(seq)});
    }
    db_.run(q_refunded_, {I(after), T(e.key)});
    return true;
  }

  bool redeem(const Event& e) {
    db_.run(q_redemption_exists_, {T(e.key)}, &rows1_);
    if (rows1_.nrows) return false;  // duplicate_ref
    db_.run(q_member_, {I(e.member)}, &rows1_);
    if (!rows1_.nrows) return false;  // unknown_member
    auto p = units(*e.amount, plan_.points_scale);
    if (!p || *p <= 0) return false;              // invalid_amount
    if (*p > rows1_.i(0, 4)) return false;        // insufficient_points
    accept(e.at);
    db_.run(q_redeem_debit_, {I(*p), I(e.member)});
    db_.run(q_redemption_insert_, {T(e.key), I(e.member), I(*p), I(applied(e.at))});
    ++rows_[t_redemptions];
    return true;
  }

  bool adjust(const Event& e) {
    db_.run(q_member_, {I(e.member)}, &rows1_);
    if (!rows1_.nrows) return false;  // unknown_member
    auto p = units(*e.amount, plan_.points_scale);
    if (!p || *p == 0) return false;  // invalid_amount
    accept(e.at);
    db_.run(q_credit_, {I(*p), I(*p), I(e.member)});
    if (*p > 0) {
      enqueue(e.member);
      settle();
    }
    return true;
  }

  bool set_status(const Event& e, std::int64_t status) {
    db_.run(q_member_, {I(e.member)}, &rows1_);
    if (!rows1_.nrows) return false;  // unknown_member
    accept(e.at);
    const std::int64_t was = rows1_.i(0, 1);
    if (was == status) return true;
    db_.run(q_status_, {I(status), I(e.member)});
    if (status == 0) {
      enqueue(e.member);
      settle();
    }
    return true;
  }

  // Rows inserted per table so far, and when each was last analysed (PostgreSQL statistics).
  enum Table { t_members, t_nodes, t_referrals, t_orders, t_credits, t_redemptions, t_rewards, t_count };
  static constexpr const char* table_names_[t_count] = {"members", "nodes", "referrals_by_tier", "orders", "credits", "redemptions", "rewards"};
  std::int64_t rows_[t_count] = {}, analyzed_[t_count] = {};

 public:
  // Planner statistics, like autovacuum's analyze on a long-running server but deterministic:
  // a table is analysed once it holds 1000 rows and again whenever it has doubled since. (The
  // tables start empty; a generic plan made from an empty table's statistics would seq-scan it.)
  void analyze_grown_tables() {
    for (int t = 0; t < t_count; ++t)
      if (rows_[t] >= 1000 && rows_[t] >= 2 * analyzed_[t]) {
        db_.exec(std::string("ANALYZE ") + table_names_[t]);
        analyzed_[t] = rows_[t];
      }
  }

 private:
  Db& db_;
  const upline::Plan& plan_;
  std::uint32_t L_ = 0;
  std::int64_t clock_ = 0;
  std::vector<std::int64_t> node_count_;  // per tier: the next node number (a sequence)
  std::deque<std::int64_t> work_;
  std::unordered_set<std::int64_t> queued_;
  std::vector<Credit> credits_;
  Rows rows1_, rows2_, rows3_;
  int q_member_ = 0, q_any_member_ = 0, q_member_insert_ = 0, q_ref_inc_ = 0, q_ref_dec_ = 0, q_ref_count_ = 0, q_node_insert_ = 0,
      q_node_of_ = 0, q_ancestors_ = 0, q_upline_ = 0, q_credit_ = 0, q_buyer_ = 0, q_tier_ = 0, q_status_ = 0, q_order_exists_ = 0,
      q_order_insert_ = 0, q_credit_insert_ = 0, q_order_get_ = 0, q_credits_get_ = 0, q_claw_ = 0, q_refunded_ = 0,
      q_redemption_exists_ = 0, q_redeem_debit_ = 0, q_redemption_insert_ = 0, q_rewards_get_ = 0, q_reward_insert_ = 0,
      q_dump_members_ = 0, q_dump_nodes_ = 0, q_dump_rewards_ = 0;
};

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) die(path + ": cannot open");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Compares the peer's dump with an `upline replay --dump` file; prints the first mismatches.
int check(const json& mine, std::int64_t rejected, const std::string& path) {
  json theirs = json::parse(read_text(path), nullptr, false);
  if (!theirs.is_object() || !theirs.contains("members")) die(path + ": not an upline dump");
  const json& a = mine["members"];
  const json& b = theirs["members"];
  int bad = 0;
  auto report = [&](const std::string& what) {
    if (++bad <= 10) std::fprintf(stderr, "mismatch: %s\n", what.c_str());
  };
  if (theirs.contains("rejected") && theirs["rejected"] != rejected)
    report("rejected events: peer " + std::to_string(rejected) + ", upline " + theirs["rejected"].dump());
  if (a.size() != b.size()) report("member count: peer " + std::to_string(a.size()) + ", upline " + std::to_string(b.size()));
  for (std::size_t k = 0; k < std::min(a.size(), b.size()); ++k) {
    const json& x = a[k];
    const json& y = b[k];
    for (const char* f : {"id", "tier", "balance", "lifetime", "orders", "rewards"}) {
      if (x[f] != y[f]) report("member " + y["id"].dump() + " " + f + ": peer " + x[f].dump() + ", upline " + y[f].dump());
    }
    json yn = json::array();
    for (const auto& n : y["nodes"]) yn.push_back(json{{"tier", n["tier"]}, {"parent", n["parent"]}, {"position", n["position"]}});
    if (x["nodes"] != yn) report("member " + y["id"].dump() + " nodes: peer " + x["nodes"].dump() + ", upline " + yn.dump());
  }
  if (bad) {
    std::fprintf(stderr, "upline_sql_peer: %d mismatch(es) against %s\n", bad, path.c_str());
    return 1;
  }
  std::fprintf(stderr, "upline_sql_peer: %zu members equal to %s\n", a.size(), path.c_str());
  return 0;
}

const char* const usage =
    "usage: upline_sql_peer --backend sqlite|postgres --plan PLAN.json --events EVENTS.jsonl\n"
    "         [--conninfo CONNINFO] [--db PATH] [--max-purchases N] [--batch N]\n"
    "         [--dump OUT.json] [--check UPLINE_DUMP.json] [--profile on]\n"
    "\n"
    "Applies the events in file order to a fresh schema, one COMMIT per --batch events (default\n"
    "1000), and prints one line of JSON with counts and seconds per event type. --max-purchases N\n"
    "stops before the (N+1)-th purchase. --check compares the final members with an\n"
    "`upline replay --dump` file (exit 1 on any difference). --profile on prints calls and time\n"
    "per statement to stderr. SQLite: --db PATH (default: a file in a fresh temporary directory,\n"
    "removed at exit; :memory: allowed). PostgreSQL: --conninfo (see bench/peers/pg).\n";

}  // namespace

int main(int argc, char** argv) {
  std::string backend, plan_path, events_path, conninfo, db_path, dump_path, check_path;
  std::optional<std::int64_t> max_purchases;
  std::int64_t batch = 1000;
  bool profile = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "upline_sql_peer: %s needs a value\n%s", a.c_str(), usage);
      return 2;
    }
    std::string v = argv[++i];
    if (a == "--backend") backend = v;
    else if (a == "--plan") plan_path = v;
    else if (a == "--events") events_path = v;
    else if (a == "--conninfo") conninfo = v;
    else if (a == "--db") db_path = v;
    else if (a == "--dump") dump_path = v;
    else if (a == "--check") check_path = v;
    else if (a == "--max-purchases") max_purchases = std::stoll(v);
    else if (a == "--profile") profile = v == "1" || v == "on" || v == "yes";
    else if (a == "--batch") batch = std::max<std::int64_t>(1, std::stoll(v));
    else {
      std::fprintf(stderr, "upline_sql_peer: unknown option %s\n%s", a.c_str(), usage);
      return 2;
    }
  }
  if ((backend != "sqlite" && backend != "postgres") || plan_path.empty() || events_path.empty()) {
    std::fputs(usage, stderr);
    return 2;
  }

  upline::PlanFaults faults;
  auto plan = upline::Plan::parse(read_text(plan_path), faults);
  if (!plan) die("invalid_plan: " + faults.message());

  // Load and parse every event first (untimed).
  std::vector<Event> events;
  {
    std::ifstream f(events_path, std::ios::binary);
    if (!f) die(events_path + ": cannot open");
    std::string line;
    while (std::getline(f, line)) {
      if (line.find_first_not_of(" \t\r\n\f\v") == std::string::npos) continue;
      events.push_back(parse_event(line));
    }
  }

  std::unique_ptr<Db> db;
  std::filesystem::path temp_dir;
  if (backend == "postgres") {
    if (conninfo.empty()) die("--conninfo is required with --backend postgres (see bench/peers/pg)");
    db = std::make_unique<PgDb>(conninfo);
    db->exec("SET synchronous_commit = off");
    // Prepared statements keep one generic plan: PostgreSQL's heuristic otherwise keeps
    // re-planning the recursive CTE for every call (custom plans look cheaper than the generic).
    db->exec("SET plan_cache_mode = force_generic_plan");
    db->exec("SET client_min_messages = warning");
    db->exec("DROP TABLE IF EXISTS members, nodes, referrals_by_tier, orders, credits, redemptions, rewards");
  } else {
    if (db_path.empty()) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "upline-sql-peer-XXXXXX").string();
      if (!mkdtemp(tmpl.data())) die("cannot create a temporary directory");
      temp_dir = tmpl;
      db_path = (temp_dir / "peer.sqlite").string();
    } else if (db_path != ":memory:") {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_path + suffix);
    }
    db = std::make_unique<SqliteDb>(db_path);
    db->exec("PRAGMA journal_mode = WAL");
    db->exec("PRAGMA synchronous = OFF");
    db->exec("PRAGMA cache_size = -1048576");  // 1 GiB page cache, like shared_buffers on the server
    db->exec("PRAGMA temp_store = MEMORY");
  }

  if (profile) db = std::make_unique<ProfiledDb>(std::move(db));
  Peer peer(*db, *plan);

  using clock = std::chrono::steady_clock;
  std::int64_t counts[4] = {0, 0, 0, 0};
  double seconds[4] = {0, 0, 0, 0};
  std::int64_t applied = 0, rejected = 0, purchases_seen = 0, in_batch = 0;
  db->exec("BEGIN");
  for (const Event& e : events) {
    if (e.type == Type::purchase && max_purchases && purchases_seen >= *max_purchases) break;
    if (e.type == Type::purchase) ++purchases_seen;
    const int cat = e.type == Type::join ? 0 : e.type == Type::purchase ? 1 : e.type == Type::refund ? 2 : e.type == Type::redeem ? 3 : -1;
    const auto t0 = clock::now();
    const bool ok = peer.apply(e);
    // Batched commits: one COMMIT per `batch` events (default 1000).
    if (++in_batch >= batch) {
      db->exec("COMMIT");
      // Not on SQLite: its default estimates already choose the primary-key searches, and with
      // statistics SQLite >= 3.38 adds a Bloom filter to the CTE's recursive step, built by
      // scanning the whole matrix on every call.
      if (backend == "postgres") peer.analyze_grown_tables();
      db->exec("BEGIN");
      in_batch = 0;
    }
    const auto t1 = clock::now();
    if (cat >= 0) {
      ++counts[cat];
      seconds[cat] += std::chrono::duration<double>(t1 - t0).count();
    }
    ++applied;
    if (!ok) ++rejected;
  }
  {
    const auto t0 = clock::now();
    db->exec("COMMIT");
    const auto t1 = clock::now();
    seconds[1] += std::chrono::duration<double>(t1 - t0).count();  // the last commit: booked to purchases
  }

  nlohmann::ordered_json line;
  line["backend"] = backend;
  line["joins"] = counts[0];
  line["join_seconds"] = seconds[0];
  line["purchases"] = counts[1];
  line["purchase_seconds"] = seconds[1];
  line["refunds"] = counts[2];
  line["refund_seconds"] = seconds[2];
  line["redeems"] = counts[3];
  line["redeem_seconds"] = seconds[3];
  line["events"] = applied;
  line["rejected"] = rejected;
  std::cout << line.dump() << std::endl;

  int rc = 0;
  if (!dump_path.empty() || !check_path.empty()) {
    json state;
    peer.dump(state);
    if (!dump_path.empty()) {
      std::ofstream out(dump_path, std::ios::binary);
      out << state.dump(1) << "\n";
      if (!out) die(dump_path + ": cannot write");
    }
    if (!check_path.empty()) rc = check(state, rejected, check_path);
  }
  db.reset();
  if (!temp_dir.empty()) std::filesystem::remove_all(temp_dir);
  return rc;
}
