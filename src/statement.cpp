// statement.cpp — recording a member's statement and writing it as JSON (statement.hpp, SPEC §13).
#include "upline/statement.hpp"

#include "upline/json_text.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <iterator>
#include <stdexcept>
#include <string>

namespace upline {

void check_statement_period(std::optional<Time> from, std::optional<Time> until) {
  if (from && until && *until < *from)
    throw std::invalid_argument("until: " + std::to_string(*until) + " is before from (" + std::to_string(*from) + "): a period cannot end before it starts");
}

StatementRecorder::StatementRecorder(const Engine& engine, MemberId member, std::optional<Time> from, std::optional<Time> until) {
  check_statement_period(from, until);
  st_.member = member;
  st_.from = from;
  st_.until = until;
  const State& s = engine.state();
  if (const std::uint32_t m = s.members.find(member); m != no_member) balance_ = s.members[m].balance;
  st_.opening = st_.closing = balance_;
  st_.known = engine.has_member(member);
  st_.through_seq = 0;
}

bool StatementRecorder::apply(Engine& engine, const Input& in, std::vector<Effect>& effects, Rejection* why, std::uint64_t seq) {
  seq = seq ? seq : count_ + 1;
  count_ = seq;
  if (past_) return engine.apply(in, effects, why);  // the period is over: nothing more to record
  const State& s = engine.state();
  const Event* e = in.event();
  // What explains the member's effects, as it stands before the event: the member's tier (its
  // upline multiplier), a buyer's earlier orders and tier (the history band, the accrual), the
  // refunded amount before a refund. Read only for the events that can move points.
  std::uint8_t own_tier = 0;
  std::uint32_t buyer_orders = 0;
  std::uint8_t buyer_tier = 0;
  std::int64_t refunded_before = 0;
  std::shared_ptr<const Plan> plan = engine.plan_ptr();
  if (e) {
    if (const std::uint32_t m = s.members.find(st_.member); m != no_member) own_tier = s.members[m].tier;
    if (const auto* p = std::get_if<Purchase>(e)) {
      if (const std::uint32_t b = s.members.find(p->member); b != no_member) {
        buyer_orders = s.members[b].orders;
        buyer_tier = s.members[b].tier;
      }
    } else if (const auto* r = std::get_if<Refund>(e)) {
      if (const std::uint32_t i = s.ledger.find_order(r->order); i != Ledger::none) refunded_before = s.ledger.order(i).refunded;
    }
  }
  if (!engine.apply(in, effects, why)) {
    st_.through_seq = seq;  // a rejected event is part of the history read, with nothing to book
    return false;
  }
  const Time at = engine.clock();  // an accepted event's applied time: the clock it moved to
  if (st_.until && at >= *st_.until) {
    past_ = true;  // this event and every later one are after the period
    return true;
  }
  st_.through_seq = seq;
  if (const auto* j = std::get_if<Join>(e); j && j->member == st_.member) st_.known = true;
  const bool in_period = !st_.from || at >= *st_.from;
  for (const Effect& fx : effects) {
    if (fx.member != st_.member || (fx.type != EffectType::credit && fx.type != EffectType::debit)) continue;
    balance_ += fx.type == EffectType::credit ? fx.points : -fx.points;  // the engine checked it fits
    if (!in_period) {
      st_.opening = balance_;
      continue;
    }
    StatementLine l;
    l.seq = seq;
    l.at = at;
    l.type = fx.type;
    l.kind = fx.kind;
    l.points = fx.points;
    l.balance = balance_;
    if (fx.kind == Kind::own || fx.kind == Kind::upline) {
      const auto& p = std::get<Purchase>(*e);
      const Ledger::Order& o = s.ledger.order(s.ledger.find_order(p.order));
      l.order = p.order;
      l.buyer = p.member;
      l.shop = p.shop;
      l.amount = o.amount;
      if (fx.kind == Kind::own) {
        const Shop* shop = plan->find_shop(p.shop);
        l.ratio = shop->ratio;
        l.history = plan->history_multiplier(buyer_orders);
        l.accrual = plan->tiers[buyer_tier].accrual;
      } else {
        l.tier = fx.tier;
        l.level = fx.level;
        l.rate = plan->tiers[fx.tier].rates[fx.level - 1];
        l.multiplier = plan->tiers[own_tier].upline_multiplier;
      }
    } else if (fx.kind == Kind::clawback) {
      const auto& r = std::get<Refund>(*e);
      const Ledger::Order& o = s.ledger.order(s.ledger.find_order(r.order));
      l.order = r.order;
      l.buyer = s.members[o.member].id;
      l.refunded = o.refunded - refunded_before;
    } else if (fx.kind == Kind::redeem) {
      l.ref = std::get<Redeem>(*e).ref;
    } else if (fx.kind == Kind::adjust) {
      const auto& a = std::get<Adjust>(*e);
      l.actor = a.actor;
      l.reason = a.reason;
    }
    (fx.type == EffectType::credit ? st_.credits : st_.debits) += fx.points;
    st_.lines.push_back(std::move(l));
  }
  st_.closing = balance_;
  return true;
}

const Statement& StatementRecorder::statement(const Engine& engine) {
  st_.plan = engine.plan_ptr();
  return st_;
}

namespace {

void append_time_or_null(std::string& out, const std::optional<Time>& t) {
  if (t)
    fmt::format_to(std::back_inserter(out), "{}", *t);
  else
    out += "null";
}

void append_rate(std::string& out, std::string_view key, Rate r) {
  out += ",\"";
  out += key;
  out += "\":\"";
  out += format_rate(r);
  out += '"';
}

}  // namespace

void append_statement_json(std::string& out, const Statement& st) {
  const Plan& plan = *st.plan;
  auto it = std::back_inserter(out);
  fmt::format_to(it, R"({{"member":{},"from":)", st.member);
  append_time_or_null(out, st.from);
  out += R"(,"until":)";
  append_time_or_null(out, st.until);
  fmt::format_to(it, R"(,"through_seq":{},"opening_balance":")", st.through_seq);
  append_units(out, st.opening, plan.points_scale);
  out += R"(","credits":")";
  append_wide_units(out, st.credits, plan.points_scale);
  out += R"(","debits":")";
  append_wide_units(out, st.debits, plan.points_scale);
  out += R"(","closing_balance":")";
  append_units(out, st.closing, plan.points_scale);
  out += R"(","lines":[)";
  bool first = true;
  for (const StatementLine& l : st.lines) {
    if (!first) out += ',';
    first = false;
    fmt::format_to(it, R"({{"seq":{},"at":{},"type":"{}","kind":"{}","points":")", l.seq, l.at, effect_type_name(l.type), kind_name(l.kind));
    append_units(out, l.points, plan.points_scale);
    out += R"(","balance":")";
    append_units(out, l.balance, plan.points_scale);
    out += '"';
    switch (l.kind) {
      case Kind::own:
      case Kind::upline:
        out += R"(,"order":)";
        append_json_string(out, l.order);
        fmt::format_to(it, R"(,"buyer":{},"shop":)", l.buyer);
        append_json_string(out, l.shop);
        out += R"(,"amount":")";
        append_units(out, l.amount, plan.money_scale);
        out += '"';
        if (l.kind == Kind::own) {
          append_rate(out, "ratio", l.ratio);
          append_rate(out, "history", l.history);
          append_rate(out, "accrual", l.accrual);
        } else {
          out += R"(,"tier":)";
          append_json_string(out, plan.tiers[l.tier].name);
          fmt::format_to(it, R"(,"level":{})", l.level);
          append_rate(out, "rate", l.rate);
          append_rate(out, "multiplier", l.multiplier);
        }
        break;
      case Kind::clawback:
        out += R"(,"order":)";
        append_json_string(out, l.order);
        fmt::format_to(it, R"(,"buyer":{},"refunded":")", l.buyer);
        append_units(out, l.refunded, plan.money_scale);
        out += '"';
        break;
      case Kind::redeem:
        out += R"(,"ref":)";
        append_json_string(out, l.ref);
        break;
      case Kind::adjust:
        out += R"(,"actor":)";
        append_json_string(out, l.actor);
        out += R"(,"reason":)";
        append_json_string(out, l.reason);
        break;
      case Kind::none:
        break;
    }
    out += '}';
  }
  out += "]}";
}

std::optional<Time> parse_statement_time(std::string_view s) noexcept {
  auto digits = [](std::string_view d) { return !d.empty() && d.size() <= 19 && d.find_first_not_of("0123456789") == std::string_view::npos; };
  auto number = [](std::string_view d) {  // digits() holds: at most 19 digits, which fit in 64 unsigned bits
    std::uint64_t v = 0;
    for (char c : d) v = v * 10 + static_cast<std::uint64_t>(c - '0');
    return v;
  };
  // Milliseconds, as plain digits or after '@': any time an event can have, 0 .. 2^63-1 (SPEC §4.2).
  auto millis = [&](std::string_view d) -> std::optional<Time> {
    if (!digits(d)) return std::nullopt;
    const std::uint64_t v = number(d);
    if (v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<Time>(v);
  };
  if (s.empty()) return std::nullopt;
  if (s[0] == '@') return millis(s.substr(1));
  if (s.find_first_not_of("0123456789") == std::string_view::npos) return millis(s);
  // YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS[.mmm]Z
  if (s.size() != 10 && s.size() != 20 && s.size() != 24) return std::nullopt;
  if (s[4] != '-' || s[7] != '-') return std::nullopt;
  if (s.size() > 10 && (s[10] != 'T' || s[13] != ':' || s[16] != ':' || s.back() != 'Z')) return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) -> long long {
    const std::string_view d = s.substr(at, n);
    return digits(d) ? static_cast<long long>(number(d)) : -1;
  };
  long long y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = 0, mi = 0, sec = 0, ms = 0;
  if (s.size() > 10) {
    h = num(11, 2);
    mi = num(14, 2);
    sec = num(17, 2);
  }
  if (s.size() == 24) {
    if (s[19] != '.') return std::nullopt;
    ms = num(20, 3);
  }
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || ms < 0) return std::nullopt;
  static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > month_days[mo - 1] + (mo == 2 && leap)) return std::nullopt;
  // Days from the civil date (Howard Hinnant's algorithm), exact, no time zone.
  y -= mo <= 2;
  const long long era = y / 400, yoe = y - era * 400;
  const long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const long long days = era * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60'000 + sec * 1000 + ms;
}

std::string statement_time_fault(std::string_view field, std::string_view value) {
  return std::string(field) + ": " + json_quote(value) + " is not a time (milliseconds since the epoch, @MS, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z, UTC)";
}

}  // namespace upline
