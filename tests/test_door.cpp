// Tests for upline/door.hpp: reading event lines (SPEC §4 structural faults), json_quote,
// effect_json, result_json and dump_json (SPEC §9–§10), byte for byte.
#include "upline/door.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

using upline::Code;
using upline::Decimal;
using upline::Effect;
using upline::Engine;
using upline::Kind;
using upline::ParsedEvent;
using upline::Plan;
using upline::PlanFaults;
using upline::Rejection;

namespace {

// Two tiers and two rewards (one id needs escaping); money at scale 1, points at scale 3.
const char* const plan_json = R"({"name":"json test","money_scale":1,"points_scale":3,
  "shops":{"main":{"ratio":"1"}},
  "tiers":[{"name":"bronze","width":2,"rates":["0.05","0.03"]},
           {"name":"silver","width":2,"rates":["0.1"],"promote_at":{"lifetime_points":"1000"}}],
  "rewards":[{"id":"gift-500","lifetime_points":"500"},{"id":"r\"q","lifetime_points":"100000"}]})";

Plan test_plan() {
  PlanFaults f;
  auto p = Plan::parse(plan_json, f);
  REQUIRE_MESSAGE(p.has_value(), f.message());
  return *p;
}

const upline::Event& event_of(const ParsedEvent& pe) {
  const auto* ev = std::get_if<upline::Event>(&pe);
  REQUIRE_MESSAGE(ev != nullptr, "rejected: " << std::get<Rejection>(pe).message);
  return *ev;
}

template <class T>
T expect_event(std::string_view text) {
  ParsedEvent pe = upline::parse_event(text);
  const upline::Event& ev = event_of(pe);
  const T* t = std::get_if<T>(&ev);
  REQUIRE_MESSAGE(t != nullptr, "wrong event type " << upline::event_type_name(ev) << " for " << std::string(text));
  return *t;
}

Rejection expect_rejection(std::string_view text) {
  ParsedEvent pe = upline::parse_event(text);
  const Rejection* r = std::get_if<Rejection>(&pe);
  REQUIRE_MESSAGE(r != nullptr, "accepted: " << std::string(text));
  return *r;
}

// The rejection of a line, whether the door or the engine finds it (a plan event's plan faults
// travel with the event to the engine, which reports them after the event's structural faults).
Rejection expect_rejection_applied(std::string_view text) {
  Engine e(test_plan());
  upline::Outcome out;
  e.apply(upline::as_input(upline::parse_event(text)), out);
  REQUIRE_MESSAGE(out.code != Code::ok, "accepted: " << std::string(text));
  return Rejection{out.code, out.message};
}

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

// An invalid_event whose message names `field` first ("field: …").
#define CHECK_INVALID(text, field)                                                          \
  do {                                                                                      \
    const Rejection r_ = expect_rejection(text);                                            \
    CHECK_MESSAGE(r_.code == Code::invalid_event, "code " << upline::code_name(r_.code).data() << " for " << (text)); \
    CHECK_MESSAGE(starts_with(r_.message, std::string(field) + ":"), "message: " << r_.message << " for " << (text)); \
  } while (0)

Code apply_code(Engine& e, const upline::Event& ev) { return e.apply(ev).code; }

}  // namespace

// ---- parse_event: each event type ------------------------------------------------------------

TEST_CASE("json: parse_event join") {
  auto j = expect_event<upline::Join>(R"({"type":"join","member":2,"sponsor":1,"at":1700000000000})");
  CHECK(j.member == 2);
  REQUIRE(j.sponsor.has_value());
  CHECK(*j.sponsor == 1);
  CHECK(j.at == 1700000000000);

  auto first = expect_event<upline::Join>(R"({"at":0,"member":9223372036854775807,"type":"join"})");
  CHECK(first.member == 9223372036854775807);
  CHECK_FALSE(first.sponsor.has_value());
  CHECK(first.at == 0);

  // null optional = absent.
  auto n = expect_event<upline::Join>(R"({"type":"join","member":3,"sponsor":null,"at":5})");
  CHECK_FALSE(n.sponsor.has_value());

  // Whitespace around the object is fine.
  CHECK(expect_event<upline::Join>(" \t{ \"type\" : \"join\", \"member\" : 4, \"at\" : 9223372036854775807 }\r\n").at ==
        9223372036854775807);
}

TEST_CASE("json: parse_event purchase") {
  auto p = expect_event<upline::Purchase>(R"({"type":"purchase","order":"o-1","member":7,"shop":"main","amount":"12.50","at":42})");
  CHECK(p.order == "o-1");
  CHECK(p.member == 7);
  CHECK(p.shop == "main");
  CHECK(p.amount.text() == "12.50");
  CHECK(p.amount.well_formed());
  CHECK(p.at == 42);
  // 64-byte order ids are fine.
  const std::string id(64, 'o');
  CHECK(expect_event<upline::Purchase>(R"({"type":"purchase","order":")" + id + R"(","member":7,"shop":"main","amount":"1","at":0})").order ==
        id);
}

TEST_CASE("json: parse_event refund") {
  auto r = expect_event<upline::Refund>(R"({"type":"refund","order":"o-1","amount":"2.5","at":43})");
  CHECK(r.order == "o-1");
  REQUIRE(r.amount.has_value());
  CHECK(r.amount->text() == "2.5");
  CHECK(r.at == 43);
  CHECK_FALSE(expect_event<upline::Refund>(R"({"type":"refund","order":"o-1","at":43})").amount.has_value());
  CHECK_FALSE(expect_event<upline::Refund>(R"({"type":"refund","order":"o-1","amount":null,"at":43})").amount.has_value());
}

TEST_CASE("json: parse_event redeem, adjust, suspend, reactivate") {
  auto r = expect_event<upline::Redeem>(R"({"type":"redeem","member":7,"points":"3.25","ref":"r-1","at":44})");
  CHECK(r.member == 7);
  CHECK(r.points.text() == "3.25");
  CHECK(r.ref == "r-1");
  CHECK(r.at == 44);

  auto a = expect_event<upline::Adjust>(R"({"type":"adjust","member":7,"points":"-5.5","actor":"ops","reason":"goodwill \"fix\"","at":45})");
  CHECK(a.member == 7);
  CHECK(a.points.text() == "-5.5");
  CHECK(a.points.negative());
  CHECK(a.actor == "ops");
  CHECK(a.reason == "goodwill \"fix\"");
  CHECK(a.at == 45);

  auto s = expect_event<upline::Suspend>(R"({"type":"suspend","member":8,"at":46})");
  CHECK(s.member == 8);
  CHECK(s.at == 46);
  auto re = expect_event<upline::Reactivate>(R"({"type":"reactivate","member":9,"at":47})");
  CHECK(re.member == 9);
  CHECK(re.at == 47);
}

TEST_CASE("json: parse_event plan") {
  const std::string text = std::string(R"({"type":"plan","actor":"admin","at":48,"plan":)") + plan_json + "}";
  auto pc = expect_event<upline::PlanChange>(text);
  REQUIRE(pc.plan != nullptr);
  CHECK(pc.plan->name == "json test");
  CHECK(pc.plan->points_scale == 3);
  CHECK(pc.plan->tiers.size() == 2);
  CHECK(pc.actor == "admin");
  CHECK(pc.at == 48);
  // The parsed plan is the same plan as Plan::parse gives.
  CHECK(pc.plan->canonical_json() == test_plan().canonical_json());
}

// ---- parse_event: structural faults ----------------------------------------------------------

TEST_CASE("json: not an object, not JSON, bad type") {
  for (const char* t : {"[1]", "\"join\"", "5", "null", "true", "[]"}) {
    CAPTURE(t);
    CHECK(expect_rejection(t).code == Code::invalid_event);
  }
  for (const char* t : {"", "{", R"({"type":"join",)", "{'type':'join'}", R"({"type":"join","member":1,"at":0} x)", "{}{}"}) {
    CAPTURE(t);
    CHECK(expect_rejection(t).code == Code::invalid_event);
  }
  CHECK_INVALID(R"({"member":1,"at":0})", "type");
  CHECK_INVALID(R"({"type":5,"member":1,"at":0})", "type");
  CHECK_INVALID(R"({"type":null,"member":1,"at":0})", "type");
  CHECK_INVALID(R"({"type":"jump","member":1,"at":0})", "type");
  CHECK_INVALID(R"({"type":"JOIN","member":1,"at":0})", "type");
  const Rejection r = expect_rejection(R"({"type":"jump","member":1,"at":0})");
  CHECK(r.message.find("jump") != std::string::npos);
}

TEST_CASE("json: missing fields") {
  CHECK_INVALID(R"({"type":"join","at":0})", "member");
  CHECK_INVALID(R"({"type":"join","member":1})", "at");
  CHECK_INVALID(R"({"type":"purchase","member":1,"shop":"main","amount":"1","at":0})", "order");
  CHECK_INVALID(R"({"type":"purchase","order":"o","shop":"main","amount":"1","at":0})", "member");
  CHECK_INVALID(R"({"type":"purchase","order":"o","member":1,"amount":"1","at":0})", "shop");
  CHECK_INVALID(R"({"type":"purchase","order":"o","member":1,"shop":"main","at":0})", "amount");
  CHECK_INVALID(R"({"type":"purchase","order":"o","member":1,"shop":"main","amount":"1"})", "at");
  CHECK_INVALID(R"({"type":"refund","at":0})", "order");
  CHECK_INVALID(R"({"type":"redeem","points":"1","ref":"r","at":0})", "member");
  CHECK_INVALID(R"({"type":"redeem","member":1,"ref":"r","at":0})", "points");
  CHECK_INVALID(R"({"type":"redeem","member":1,"points":"1","at":0})", "ref");
  CHECK_INVALID(R"({"type":"adjust","member":1,"points":"1","reason":"x","at":0})", "actor");
  CHECK_INVALID(R"({"type":"adjust","member":1,"points":"1","actor":"x","at":0})", "reason");
  CHECK_INVALID(R"({"type":"adjust","member":1,"actor":"a","reason":"x","at":0})", "points");
  CHECK_INVALID(R"({"type":"suspend","at":0})", "member");
  CHECK_INVALID(R"({"type":"reactivate","member":1})", "at");
  CHECK_INVALID(R"({"type":"plan","actor":"a","at":0})", "plan");
  CHECK_INVALID(std::string(R"({"type":"plan","at":0,"plan":)") + plan_json + "}", "actor");
}

TEST_CASE("json: null in a required field is invalid_event") {
  CHECK_INVALID(R"({"type":"join","member":null,"at":0})", "member");
  CHECK_INVALID(R"({"type":"join","member":1,"at":null})", "at");
  CHECK_INVALID(R"({"type":"purchase","order":null,"member":1,"shop":"main","amount":"1","at":0})", "order");
  CHECK_INVALID(R"({"type":"purchase","order":"o","member":1,"shop":"main","amount":null,"at":0})", "amount");
  CHECK_INVALID(R"({"type":"redeem","member":1,"points":"1","ref":null,"at":0})", "ref");
  CHECK_INVALID(R"({"type":"adjust","member":1,"points":"1","actor":null,"reason":"x","at":0})", "actor");
  CHECK_INVALID(R"({"type":"plan","plan":null,"actor":"a","at":0})", "plan");
}

TEST_CASE("json: extra fields") {
  CHECK_INVALID(R"({"type":"join","member":1,"at":0,"x":1})", "x");
  CHECK_INVALID(R"({"type":"join","member":1,"at":0,"shop":"main"})", "shop");
  CHECK_INVALID(R"({"type":"refund","order":"o","at":0,"member":1})", "member");
  CHECK_INVALID(R"({"type":"suspend","member":1,"at":0,"reason":"x"})", "reason");
  CHECK_INVALID(R"({"type":"reactivate","member":1,"at":0,"actor":"x"})", "actor");
  CHECK_INVALID(R"({"type":"redeem","member":1,"points":"1","ref":"r","at":0,"seq":3})", "seq");
  // Even a null extra field is an extra field.
  CHECK_INVALID(R"({"type":"join","member":1,"at":0,"order":null})", "order");
}

TEST_CASE("json: wrong JSON types") {
  CHECK_INVALID(R"({"type":"join","member":"1","at":0})", "member");
  CHECK_INVALID(R"({"type":"join","member":1.0,"at":0})", "member");
  CHECK_INVALID(R"({"type":"join","member":true,"at":0})", "member");
  CHECK_INVALID(R"({"type":"join","member":2,"sponsor":"1","at":0})", "sponsor");
  CHECK_INVALID(R"({"type":"join","member":1,"at":"0"})", "at");
  CHECK_INVALID(R"({"type":"join","member":1,"at":1.5})", "at");
  CHECK_INVALID(R"({"type":"purchase","order":5,"member":1,"shop":"main","amount":"1","at":0})", "order");
  CHECK_INVALID(R"({"type":"purchase","order":"o","member":1,"shop":["main"],"amount":"1","at":0})", "shop");
  CHECK_INVALID(R"({"type":"adjust","member":1,"points":"1","actor":{},"reason":"x","at":0})", "actor");
  CHECK_INVALID(R"({"type":"adjust","member":1,"points":"1","actor":"a","reason":7,"at":0})", "reason");
  CHECK_INVALID(R"({"type":"plan","plan":"four-tier","actor":"a","at":0})", "plan");
  CHECK_INVALID(R"({"type":"plan","plan":[],"actor":"a","at":0})", "plan");
}

TEST_CASE("json: a JSON number for an amount is invalid_event") {
  CHECK_INVALID(R"({"type":"purchase","order":"o","member":1,"shop":"main","amount":10,"at":0})", "amount");
  CHECK_INVALID(R"({"type":"purchase","order":"o","member":1,"shop":"main","amount":10.5,"at":0})", "amount");
  CHECK_INVALID(R"({"type":"refund","order":"o","amount":1,"at":0})", "amount");
  CHECK_INVALID(R"({"type":"redeem","member":1,"points":1,"ref":"r","at":0})", "points");
  CHECK_INVALID(R"({"type":"adjust","member":1,"points":-1,"actor":"a","reason":"x","at":0})", "points");
  CHECK_INVALID(R"({"type":"adjust","member":1,"points":true,"actor":"a","reason":"x","at":0})", "points");
}

TEST_CASE("json: ids and times out of range") {
  CHECK_INVALID(R"({"type":"join","member":0,"at":0})", "member");
  CHECK_INVALID(R"({"type":"join","member":-1,"at":0})", "member");
  CHECK_INVALID(R"({"type":"join","member":9223372036854775808,"at":0})", "member");
  CHECK_INVALID(R"({"type":"join","member":18446744073709551615,"at":0})", "member");
  CHECK_INVALID(R"({"type":"join","member":2,"sponsor":0,"at":0})", "sponsor");
  CHECK_INVALID(R"({"type":"join","member":2,"sponsor":-7,"at":0})", "sponsor");
  CHECK_INVALID(R"({"type":"join","member":1,"at":-1})", "at");
  CHECK_INVALID(R"({"type":"join","member":1,"at":9223372036854775808})", "at");
  CHECK_INVALID(R"({"type":"suspend","member":0,"at":0})", "member");
  CHECK_INVALID(R"({"type":"redeem","member":0,"points":"1","ref":"r","at":0})", "member");
  // Order ids and refs: 1..64 bytes.
  CHECK_INVALID(R"({"type":"purchase","order":"","member":1,"shop":"main","amount":"1","at":0})", "order");
  CHECK_INVALID(R"({"type":"purchase","order":")" + std::string(65, 'o') + R"(","member":1,"shop":"main","amount":"1","at":0})", "order");
  CHECK_INVALID(R"({"type":"refund","order":"","at":0})", "order");
  CHECK_INVALID(R"({"type":"redeem","member":1,"points":"1","ref":"","at":0})", "ref");
  CHECK_INVALID(R"({"type":"redeem","member":1,"points":"1","ref":")" + std::string(65, 'r') + R"(","at":0})", "ref");
  // An empty or over-long shop id parses: the engine reports it as unknown_shop, in its place.
  CHECK(std::get<upline::Purchase>(std::get<upline::Event>(upline::parse_event(R"({"type":"purchase","order":"o","member":1,"shop":"","amount":"1","at":0})"))).shop.empty());
}

TEST_CASE("json: empty actor or reason") {
  CHECK_INVALID(R"({"type":"adjust","member":1,"points":"1","actor":"","reason":"x","at":0})", "actor");
  CHECK_INVALID(R"({"type":"adjust","member":1,"points":"1","actor":"a","reason":"","at":0})", "reason");
  CHECK_INVALID(std::string(R"({"type":"plan","actor":"","at":0,"plan":)") + plan_json + "}", "actor");
}

TEST_CASE("json: duplicate key in an event line") {
  for (const char* t : {R"({"type":"join","member":1,"member":2,"at":0})", R"({"type":"join","type":"join","member":1,"at":0})",
                        R"({"type":"refund","order":"o","at":0,"at":1})"}) {
    CAPTURE(t);
    const Rejection r = expect_rejection(t);
    CHECK(r.code == Code::invalid_event);
    CHECK(r.message.find("duplicate key") != std::string::npos);
  }
  CHECK(expect_rejection(R"({"type":"join","member":1,"member":2,"at":0})").message.find("\"member\"") != std::string::npos);
}

TEST_CASE("json: a malformed decimal string passes parsing, and the engine reports invalid_amount") {
  for (const char* amount : {"1e3", "abc", "", ".5", "+5", "5.", "1,5", "12.345", "-5", "0", "99999999999999999999"}) {
    CAPTURE(amount);
    auto p = expect_event<upline::Purchase>(std::string(R"({"type":"purchase","order":"o-1","member":1,"shop":"main","amount":")") + amount +
                                            R"(","at":1})");
    CHECK(p.amount.text() == amount);
    Engine e(test_plan());
    REQUIRE(apply_code(e, upline::Join{1, std::nullopt, 0}) == Code::ok);
    const auto out = e.apply(upline::Event{p});
    CHECK(out.code == Code::invalid_amount);
    CHECK(starts_with(out.message, "amount:"));
  }
  CHECK_FALSE(expect_event<upline::Purchase>(R"({"type":"purchase","order":"o","member":1,"shop":"main","amount":"1e3","at":1})")
                  .amount.well_formed());
  CHECK_FALSE(expect_event<upline::Redeem>(R"({"type":"redeem","member":1,"points":"x","ref":"r","at":1})").points.well_formed());
  CHECK_FALSE(expect_event<upline::Adjust>(R"({"type":"adjust","member":1,"points":"--1","actor":"a","reason":"b","at":1})")
                  .points.well_formed());
  CHECK_FALSE(expect_event<upline::Refund>(R"({"type":"refund","order":"o","amount":"1.2.3","at":1})").amount->well_formed());

  // Redeem and adjust: the same, in their SPEC §4 place.
  Engine e(test_plan());
  REQUIRE(apply_code(e, upline::Join{1, std::nullopt, 0}) == Code::ok);
  CHECK(apply_code(e, event_of(upline::parse_event(R"({"type":"redeem","member":1,"points":"x","ref":"r","at":1})"))) ==
        Code::invalid_amount);
  CHECK(apply_code(e, event_of(upline::parse_event(R"({"type":"adjust","member":1,"points":"1e2","actor":"a","reason":"b","at":1})"))) ==
        Code::invalid_amount);
  // ...and after unknown_member in the order of SPEC §4.
  CHECK(apply_code(e, event_of(upline::parse_event(R"({"type":"redeem","member":99,"points":"x","ref":"r","at":1})"))) ==
        Code::unknown_member);
}

TEST_CASE("json: a plan event with an invalid plan is invalid_plan") {
  const Rejection r = expect_rejection_applied(
      R"({"type":"plan","actor":"a","at":0,"plan":{"name":"x","shops":{"m":{"ratio":"1"}},"tiers":[{"name":"b","width":1,"rates":[]}]}})");
  CHECK(r.code == Code::invalid_plan);
  CHECK(starts_with(r.message, "plan: "));
  CHECK(r.message.find("tiers[0].width") != std::string::npos);

  // Several faults: all of them, after "plan: ".
  const Rejection r2 = expect_rejection_applied(
      R"({"type":"plan","actor":"a","at":0,"plan":{"name":"x","colour":1,"shops":{"m":{"ratio":1}},"tiers":[{"name":"b","width":2,"rates":[]}]}})");
  CHECK(r2.code == Code::invalid_plan);
  CHECK(starts_with(r2.message, "plan: "));
  CHECK(r2.message.find("colour: unknown key") != std::string::npos);
  CHECK(r2.message.find("shops.m.ratio") != std::string::npos);

  // A structural fault of the event comes first.
  CHECK(expect_rejection_applied(R"({"type":"plan","actor":"","at":0,"plan":{"name":"x"}})").code == Code::invalid_event);
  CHECK(expect_rejection_applied(R"({"type":"plan","actor":"a","at":-1,"plan":{"name":"x"}})").code == Code::invalid_event);
  CHECK(expect_rejection_applied(R"({"type":"plan","actor":"a","at":0,"plan":{"name":"x"},"x":1})").code == Code::invalid_event);
}

// ---- json_quote ---------------------------------------------------------------------------------

TEST_CASE("json: json_quote escapes quotes, backslashes and control characters") {
  using upline::json_quote;
  CHECK(json_quote("") == R"("")");
  CHECK(json_quote("plain") == R"("plain")");
  CHECK(json_quote("a\"b") == R"("a\"b")");
  CHECK(json_quote("a\\b") == R"("a\\b")");
  CHECK(json_quote("\n\r\t\b\f") == R"("\n\r\t\b\f")");
  CHECK(json_quote("\x01\x1f") == R"("\u0001\u001f")");
  CHECK(json_quote(std::string_view("a\0b", 3)) == R"("a\u0000b")");
  CHECK(json_quote("\x0b") == R"("\u000b")");
  CHECK(json_quote("/") == R"("/")");
  CHECK(json_quote("\x7f") == "\"\x7f\"");
  CHECK(json_quote("caf\xc3\xa9 \xe2\x82\xac") == "\"caf\xc3\xa9 \xe2\x82\xac\"");

  // Every control character is escaped: no raw byte below 0x20 remains.
  std::string all;
  for (int c = 0; c < 0x20; ++c) all += static_cast<char>(c);
  const std::string q = json_quote(all);
  for (char c : q) CHECK(static_cast<unsigned char>(c) >= 0x20);

  // Round trip through parse_event: every ASCII byte and some UTF-8 come back unchanged.
  std::string text;
  for (int c = 1; c < 0x80; ++c) text += static_cast<char>(c);
  text += std::string("\0", 1) + "\xc3\xa9\xf0\x9f\x98\x80";
  auto a = expect_event<upline::Adjust>(R"({"type":"adjust","member":1,"points":"1","actor":"a","reason":)" + json_quote(text) + R"(,"at":0})");
  CHECK(a.reason == text);
}

// ---- effects ------------------------------------------------------------------------------------

TEST_CASE("json: effect_json for each effect type") {
  Engine e(test_plan());
  using upline::effect_json;
  CHECK(effect_json(e, Effect::credit(7, 12'500, Kind::own)) == R"({"type":"credit","member":7,"points":"12.500","kind":"own"})");
  CHECK(effect_json(e, Effect::credit(7, 5, Kind::upline, 1, 2)) ==
        R"({"type":"credit","member":7,"points":"0.005","kind":"upline","tier":"silver","level":2})");
  CHECK(effect_json(e, Effect::credit(8, 525, Kind::upline, 0, 1)) ==
        R"({"type":"credit","member":8,"points":"0.525","kind":"upline","tier":"bronze","level":1})");
  CHECK(effect_json(e, Effect::credit(9223372036854775807, 1'000, Kind::adjust)) ==
        R"({"type":"credit","member":9223372036854775807,"points":"1.000","kind":"adjust"})");
  CHECK(effect_json(e, Effect::debit(3, 250, Kind::redeem)) == R"({"type":"debit","member":3,"points":"0.250","kind":"redeem"})");
  CHECK(effect_json(e, Effect::debit(3, 1, Kind::clawback)) == R"({"type":"debit","member":3,"points":"0.001","kind":"clawback"})");
  CHECK(effect_json(e, Effect::debit(3, 9'223'372'036'854'775'807, Kind::adjust)) ==
        R"({"type":"debit","member":3,"points":"9223372036854775.807","kind":"adjust"})");
  CHECK(effect_json(e, Effect::placed(1, 0, 0, 0)) == R"({"type":"placed","member":1,"tier":"bronze","parent":null,"position":0})");
  CHECK(effect_json(e, Effect::placed(5, 1, 2, 1)) == R"({"type":"placed","member":5,"tier":"silver","parent":2,"position":1})");
  CHECK(effect_json(e, Effect::promoted(4, 0, 1)) == R"({"type":"promoted","member":4,"from":"bronze","to":"silver"})");
  CHECK(effect_json(e, Effect::rewarded(4, 0)) == R"({"type":"reward","member":4,"reward":"gift-500"})");
  CHECK(effect_json(e, Effect::rewarded(4, 1)) == R"({"type":"reward","member":4,"reward":"r\"q"})");

  CHECK(upline::effects_json(e, {}) == "[]");
  CHECK(upline::effects_json(e, {Effect::placed(1, 0, 0, 0), Effect::rewarded(1, 0)}) ==
        R"([{"type":"placed","member":1,"tier":"bronze","parent":null,"position":0},{"type":"reward","member":1,"reward":"gift-500"}])");
}

TEST_CASE("json: effect_json with points_scale 0") {
  PlanFaults f;
  auto p = Plan::parse(R"({"name":"s0","points_scale":0,"shops":{"m":{"ratio":"1"}},"tiers":[{"name":"t","width":2,"rates":[]}]})", f);
  REQUIRE(p);
  Engine e(*p);
  CHECK(upline::effect_json(e, Effect::credit(1, 42, Kind::own)) == R"({"type":"credit","member":1,"points":"42","kind":"own"})");
}

TEST_CASE("json: result_json") {
  Engine e(test_plan());
  using upline::result_json;
  CHECK(result_json(e, 3, Code::ok, "", {}) == R"({"seq":3,"status":"ok","effects":[]})");
  CHECK(result_json(e, 0, Code::ok, "", {}) == R"({"status":"ok","effects":[]})");
  // An accepted event's message is not printed.
  CHECK(result_json(e, 1, Code::ok, "ignored", {Effect::placed(1, 0, 0, 0)}) ==
        R"({"seq":1,"status":"ok","effects":[{"type":"placed","member":1,"tier":"bronze","parent":null,"position":0}]})");
  CHECK(result_json(e, 4, Code::unknown_member, "member: \"x\"\n", {}) ==
        R"({"seq":4,"status":"unknown_member","effects":[],"message":"member: \"x\"\n"})");
  CHECK(result_json(e, 0, Code::invalid_event, "", {}) == R"({"status":"invalid_event","effects":[],"message":""})");
  CHECK(result_json(e, 18446744073709551615ull, Code::overflow, "o", {}) ==
        R"({"seq":18446744073709551615,"status":"overflow","effects":[],"message":"o"})");

  // With a real engine's output.
  std::vector<std::string> lines;
  std::uint64_t seq = 0;
  auto run = [&](std::string_view line) {
    ++seq;
    const ParsedEvent pe = upline::parse_event(line);
    upline::Outcome out;
    e.apply(upline::as_input(pe), out);
    lines.push_back(result_json(e, seq, out.code, out.message, out.effects));
  };
  run(R"({"type":"join","member":1,"at":0})");
  run(R"({"type":"join","member":2,"sponsor":1,"at":1})");
  run(R"({"type":"purchase","order":"o-1","member":2,"shop":"main","amount":"10.5","at":2})");
  run(R"({"type":"purchase","order":"o-2","member":3,"shop":"main","amount":"1","at":3})");
  run(R"({"type":"join","member":0,"at":4})");
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == R"({"seq":1,"status":"ok","effects":[{"type":"placed","member":1,"tier":"bronze","parent":null,"position":0}]})");
  CHECK(lines[1] == R"({"seq":2,"status":"ok","effects":[{"type":"placed","member":2,"tier":"bronze","parent":1,"position":0}]})");
  CHECK(lines[2] == R"({"seq":3,"status":"ok","effects":[{"type":"credit","member":2,"points":"10.500","kind":"own"},)"
                    R"({"type":"credit","member":1,"points":"0.525","kind":"upline","tier":"bronze","level":1}]})");
  CHECK(starts_with(lines[3], R"({"seq":4,"status":"unknown_member","effects":[],"message":"member:)"));
  CHECK(starts_with(lines[4], R"({"seq":5,"status":"invalid_event","effects":[],"message":"member:)"));
  CHECK(e.applied() == 3);
  CHECK(e.rejected() == 2);
}

// ---- dump_json ----------------------------------------------------------------------------------

TEST_CASE("json: dump_json of an empty engine") {
  Engine e(test_plan());
  const std::string d = e.digest();
  CHECK(d.size() == 64);
  CHECK(upline::dump_json(e) == R"({"applied":0,"rejected":0,"digest":")" + d + R"(","members":[]})" + "\n");
}

TEST_CASE("json: dump_json sorts members by id, decimals exact at scale") {
  Engine e(test_plan());
  auto ok = [&](const upline::Event& ev) {
    const auto out = e.apply(ev);
    CHECK_MESSAGE(out.ok(), out.message);
  };
  // Join order 30, 10, 20, 5 (bronze width 2): 10 and 20 under 30, 5 under 10.
  ok(upline::Join{30, std::nullopt, 100});
  ok(upline::Join{10, 30, 101});
  ok(upline::Join{20, 30, 102});
  ok(upline::Join{5, 10, 103});
  // 5 buys 10.5: own 10.500, 10 gets 5% = 0.525, 30 gets 3% = 0.315.
  ok(upline::Purchase{"o-1", 5, "main", *Decimal::parse("10.5"), 104});
  ok(upline::Redeem{5, *Decimal::parse("0.5"), "r-1", 105});
  // 20 is adjusted to 1000: promoted to silver (root of silver) and rewarded gift-500.
  ok(upline::Adjust{20, *Decimal::parse("1000"), "ops", "bonus", 106});
  ok(upline::Suspend{30, 107});
  CHECK(e.apply(upline::Join{10, 30, 108}).code == Code::member_exists);

  const std::string expected = std::string(R"({"applied":8,"rejected":1,"digest":")") + e.digest() + R"(","members":[)" + "\n" +
      R"({"id":5,"sponsor":10,"tier":"bronze","status":"active","balance":"10.000","lifetime":"10.500","orders":1,)"
      R"("nodes":[{"tier":"bronze","parent":10,"position":0}],"rewards":[]},)" + "\n" +
      R"({"id":10,"sponsor":30,"tier":"bronze","status":"active","balance":"0.525","lifetime":"0.525","orders":0,)"
      R"("nodes":[{"tier":"bronze","parent":30,"position":0}],"rewards":[]},)" + "\n" +
      R"({"id":20,"sponsor":30,"tier":"silver","status":"active","balance":"1000.000","lifetime":"1000.000","orders":0,)"
      R"("nodes":[{"tier":"bronze","parent":30,"position":1},{"tier":"silver","parent":null,"position":0}],"rewards":["gift-500"]},)" + "\n" +
      R"({"id":30,"sponsor":null,"tier":"bronze","status":"suspended","balance":"0.315","lifetime":"0.315","orders":0,)"
      R"("nodes":[{"tier":"bronze","parent":null,"position":0}],"rewards":[]})" + "\n" + "]}\n";
  CHECK(upline::dump_json(e) == expected);

  // The dump is a pure function of the state.
  CHECK(upline::dump_json(e) == upline::dump_json(e));
}

TEST_CASE("json: dump_json prints a negative balance and zero unsigned") {
  Engine e(test_plan());
  REQUIRE(e.apply(upline::Join{2, std::nullopt, 0}).ok());
  REQUIRE(e.apply(upline::Join{1, 2, 0}).ok());
  REQUIRE(e.apply(upline::Adjust{1, *Decimal::parse("-0.007"), "ops", "fix", 1}).ok());
  const std::string d = upline::dump_json(e);
  CHECK(d.find(R"({"id":1,"sponsor":2,"tier":"bronze","status":"active","balance":"-0.007","lifetime":"-0.007","orders":0,)") !=
        std::string::npos);
  CHECK(d.find(R"({"id":2,"sponsor":null,"tier":"bronze","status":"active","balance":"0.000","lifetime":"0.000","orders":0,)") !=
        std::string::npos);
  CHECK(d.find(R"("id":1)") < d.find(R"("id":2)"));
}
