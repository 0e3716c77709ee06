/* Tests of the C ABI, written in C. */
#include "upline/upline.h"

#include "check.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The record layouts are part of the ABI: fields only ever appended. */
_Static_assert(sizeof(upl_status) == sizeof(int), "upl_status is an int");
_Static_assert(sizeof(upl_effect) == 40, "upl_effect is 40 bytes");
_Static_assert(offsetof(upl_effect, size) == 0, "size at 0");
_Static_assert(offsetof(upl_effect, type) == 4, "type at 4");
_Static_assert(offsetof(upl_effect, kind) == 5, "kind at 5");
_Static_assert(offsetof(upl_effect, tier) == 6, "tier at 6");
_Static_assert(offsetof(upl_effect, from) == 7, "from at 7");
_Static_assert(offsetof(upl_effect, level) == 8, "level at 8");
_Static_assert(offsetof(upl_effect, reward) == 12, "reward at 12");
_Static_assert(offsetof(upl_effect, member) == 16, "member at 16");
_Static_assert(offsetof(upl_effect, parent) == 24, "parent at 24");
_Static_assert(offsetof(upl_effect, points) == 32, "points at 32");
_Static_assert(sizeof(upl_member) == 64, "upl_member is 64 bytes");
_Static_assert(offsetof(upl_member, size) == 0, "size at 0");
_Static_assert(offsetof(upl_member, tier) == 4, "tier at 4");
_Static_assert(offsetof(upl_member, id) == 8, "id at 8");
_Static_assert(offsetof(upl_member, sponsor) == 16, "sponsor at 16");
_Static_assert(offsetof(upl_member, balance) == 24, "balance at 24");
_Static_assert(offsetof(upl_member, lifetime) == 32, "lifetime at 32");
_Static_assert(offsetof(upl_member, orders) == 40, "orders at 40");
_Static_assert(offsetof(upl_member, status) == 48, "status at 48");
_Static_assert(offsetof(upl_member, referrals) == 52, "referrals at 52");
_Static_assert(offsetof(upl_member, reward_count) == 56, "reward_count at 56");
_Static_assert(sizeof(upl_order) == 40, "upl_order is 40 bytes");
_Static_assert(offsetof(upl_order, size) == 0, "size at 0");
_Static_assert(offsetof(upl_order, member) == 8, "member at 8");
_Static_assert(offsetof(upl_order, reserved) == 4, "reserved at 4");
_Static_assert(offsetof(upl_order, amount) == 16, "amount at 16");
_Static_assert(offsetof(upl_order, refunded) == 24, "refunded at 24");
_Static_assert(offsetof(upl_order, at) == 32, "at at 32");
/* Pinned status values. */
_Static_assert(UPL_OK == 0 && UPL_EINVALID_EVENT == 1 && UPL_EINVALID_PLAN == 2 && UPL_EINCOMPATIBLE_PLAN == 3, "pinned");
_Static_assert(UPL_EMEMBER_EXISTS == 10 && UPL_EDUPLICATE_ORDER == 13 && UPL_EINSUFFICIENT_POINTS == 21 && UPL_EOVERFLOW == 22, "pinned");
_Static_assert(UPL_EINVALID == 100 && UPL_ENOMEM == 101 && UPL_ENOTFOUND == 102 && UPL_EINTERNAL == 103, "pinned");


static const char plan[] =
    "{\"name\":\"c-test\",\"refund_window_days\":30,"
    "\"shops\":{\"main\":{\"ratio\":\"1\"},\"outlet\":{\"ratio\":\"0.5\",\"min_basket\":\"20.00\"}},"
    "\"tiers\":[{\"name\":\"bronze\",\"width\":3,\"rates\":[\"0.05\",\"0.03\",\"0.02\"],"
    "\"benefits\":{\"discount\":\"0\",\"delivery\":\"standard\"}},"
    "{\"name\":\"silver\",\"width\":3,\"rates\":[\"0.04\"],\"upline_multiplier\":\"1.2\","
    "\"promote_at\":{\"lifetime_points\":\"150\"},\"benefits\":{\"discount\":\"0.05\",\"delivery\":\"priority\"}}],"
    "\"rewards\":[{\"id\":\"gift-100\",\"lifetime_points\":\"100\"}]}";

static void test_open_and_misuse(void) {
  upl_engine *e = (upl_engine *)0x1;
  upl_engine *untouched = e;
  CHECK_STATUS(upl_engine_open_json(&e, "{\"name\":\"x\"}", 12), UPL_EINVALID_PLAN);
  CHECK(e == untouched); /* written only on success */
  CHECK(strstr(upl_last_error(), "shops: required") != NULL);
  CHECK_STATUS(upl_engine_open_json(NULL, plan, sizeof plan - 1), UPL_EINVALID);
  CHECK_STATUS(upl_engine_open_json(&e, NULL, 5), UPL_EINVALID);
  CHECK(strcmp(upl_last_error(), "plan_json: NULL") == 0);
  CHECK_STATUS(upl_join(NULL, 1, 0, 0), UPL_EINVALID);
  CHECK_STATUS(upl_digest(NULL, NULL), UPL_EINVALID);
  upl_engine_free(NULL);
  upl_string_free(NULL);
  CHECK(strcmp(upl_status_str(UPL_EDUPLICATE_ORDER), "duplicate_order") == 0);
  CHECK(strcmp(upl_status_str(UPL_EINVALID), "invalid") == 0);
  CHECK(strcmp(upl_status_str((upl_status)9999), "unknown") == 0);
  CHECK(upl_version_number() == UPL_VERSION_NUMBER);
  CHECK(strcmp(upl_version(), UPL_VERSION_STRING) == 0);
}

/* The last event's effects, copied into `fx` (at most 8); returns how many there are. */
static size_t effects(upl_effect fx[8], const upl_engine *e) {
  const size_t n = upl_engine_effect_count(e);
  for (size_t i = 0; i < n && i < 8; ++i) {
    const upl_effect init = UPL_EFFECT_INIT;
    fx[i] = init;
    CHECK_STATUS(upl_engine_effect(&fx[i], e, i), UPL_OK);
  }
  return n;
}

static void test_typed_flow(void) {
  upl_engine *e = NULL;
  CHECK_STATUS(upl_engine_open_json(&e, plan, sizeof plan - 1), UPL_OK);
  if (!e) return;
  int ms = -1, ps = -1;
  CHECK_STATUS(upl_engine_scales(&ms, &ps, e), UPL_OK);
  CHECK(ms == 2 && ps == 2);

  /* 1 at the root, 2..5 under it: 5 is node 4, under 2 (node 1) at position 0. */
  CHECK_STATUS(upl_join(e, 1, 0, 1000), UPL_OK);
  for (int64_t m = 2; m <= 5; ++m) CHECK_STATUS(upl_join(e, m, 1, 1000 + m), UPL_OK);
  upl_effect fx[8];
  size_t n = effects(fx, e);
  CHECK(n == 1 && fx[0].size == sizeof(upl_effect) && fx[0].type == UPL_EFFECT_PLACED && fx[0].member == 5 && fx[0].parent == 2 && fx[0].level == 0);
  CHECK_STATUS(upl_join(e, 6, 0, 2000), UPL_ESPONSOR_REQUIRED);
  CHECK(upl_engine_effect_count(e) == 0);
  CHECK_STATUS(upl_engine_effect(&fx[0], e, 0), UPL_ENOTFOUND);
  CHECK_STATUS(upl_join(e, 5, 1, 2000), UPL_EMEMBER_EXISTS);
  CHECK(strstr(upl_last_error(), "member: 5") != NULL);

  /* 5 buys 100.00: 5 +100.00 own, 2 +5.00 (L1), 1 +3.00 (L2). */
  CHECK_STATUS(upl_purchase(e, "o-1", 5, "main", 10000, 3000), UPL_OK);
  n = effects(fx, e);
  CHECK(n == 4); /* own, two upline credits, and 5's reward gift-100 */
  if (n == 4) {
    CHECK(fx[0].type == UPL_EFFECT_CREDIT && fx[0].kind == UPL_KIND_OWN && fx[0].member == 5 && fx[0].points == 10000);
    CHECK(fx[1].kind == UPL_KIND_UPLINE && fx[1].member == 2 && fx[1].points == 500 && fx[1].tier == 0 && fx[1].level == 1);
    CHECK(fx[2].kind == UPL_KIND_UPLINE && fx[2].member == 1 && fx[2].points == 300 && fx[2].level == 2);
    CHECK(fx[3].type == UPL_EFFECT_REWARD && fx[3].member == 5 && strcmp(upl_reward_name(e, fx[3].reward), "gift-100") == 0);
  }
  CHECK_STATUS(upl_purchase(e, "o-1", 5, "main", 10000, 3001), UPL_EDUPLICATE_ORDER);
  CHECK_STATUS(upl_purchase(e, "o-2", 99, "main", 10000, 3001), UPL_EUNKNOWN_MEMBER);
  CHECK_STATUS(upl_purchase(e, "o-2", 5, "nope", 10000, 3001), UPL_EUNKNOWN_SHOP);
  CHECK_STATUS(upl_purchase(e, "o-2", 5, "main", 0, 3001), UPL_EINVALID_AMOUNT);
  CHECK_STATUS(upl_purchase(e, NULL, 5, "main", 100, 3001), UPL_EINVALID);
  CHECK_STATUS(upl_purchase(e, "", 5, "main", 100, 3001), UPL_EINVALID_EVENT);

  /* 5 buys 60.00 more: lifetime 160.00 >= 150 → promoted to silver, placed as the silver root. */
  CHECK_STATUS(upl_purchase(e, "o-3", 5, "main", 6000, 3002), UPL_OK);
  n = effects(fx, e);
  CHECK(n == 5);
  if (n == 5) {
    CHECK(fx[3].type == UPL_EFFECT_PROMOTED && fx[3].member == 5 && fx[3].from == 0 && fx[3].tier == 1);
    CHECK(fx[4].type == UPL_EFFECT_PLACED && fx[4].member == 5 && fx[4].tier == 1 && fx[4].parent == 0);
  }

  upl_member m;
  memset(&m, 0x5a, sizeof m);
  m.size = sizeof m;
  CHECK_STATUS(upl_member_get(&m, e, 5), UPL_OK);
  CHECK(m.size == sizeof m && m.reserved == 0);
  CHECK(m.id == 5 && m.sponsor == 1 && m.tier == 1 && m.status == UPL_ACTIVE && m.balance == 16000 && m.lifetime == 16000);
  CHECK(m.orders == 2 && m.referrals == 0 && m.reward_count == 1);
  CHECK(strcmp(upl_tier_name(e, m.tier), "silver") == 0);
  CHECK(upl_tier_name(e, 7) == NULL);
  CHECK_STATUS(upl_member_get(&m, e, 42), UPL_ENOTFOUND);

  int64_t parent = -1;
  uint32_t position = 99;
  CHECK_STATUS(upl_member_node(&parent, &position, e, 5, 0), UPL_OK);
  CHECK(parent == 2 && position == 0);
  CHECK_STATUS(upl_member_node(&parent, &position, e, 5, 1), UPL_OK);
  CHECK(parent == 0 && position == 0);
  CHECK_STATUS(upl_member_node(&parent, &position, e, 2, 1), UPL_ENOTFOUND);

  uint32_t reward = 99;
  CHECK_STATUS(upl_member_reward(&reward, e, 5, 0), UPL_OK);
  CHECK(strcmp(upl_reward_name(e, reward), "gift-100") == 0);
  CHECK_STATUS(upl_member_reward(&reward, e, 5, 1), UPL_ENOTFOUND);

  const char *value = NULL;
  CHECK_STATUS(upl_member_benefit(&value, e, 5, "delivery"), UPL_OK);
  CHECK(value && strcmp(value, "priority") == 0);
  CHECK_STATUS(upl_member_benefit(&value, e, 5, "no-such"), UPL_OK);
  CHECK(value == NULL);

  /* Rank cards: 2 is bronze with 5.00 (o-1, L1) + 3.00 (o-3, L1) lifetime of silver's 150; 5 is at
   * the top tier. */
  char *card = NULL;
  CHECK_STATUS(upl_member_rank_card_json(e, 2, &card), UPL_OK);
  CHECK(card && strcmp(card,
                       "{\"member\":2,\"tier\":\"bronze\",\"status\":\"active\",\"benefits\":{\"delivery\":\"standard\",\"discount\":\"0\"},"
                       "\"next\":{\"tier\":\"silver\",\"criteria\":[{\"criterion\":\"lifetime_points\",\"have\":\"8.00\",\"need\":\"150.00\","
                       "\"met\":false}],\"eligible\":false,\"benefits\":{\"delivery\":\"priority\",\"discount\":\"0.05\"}}}") == 0);
  upl_string_free(card);
  CHECK_STATUS(upl_member_rank_card_json(e, 5, &card), UPL_OK);
  CHECK(card && strcmp(card, "{\"member\":5,\"tier\":\"silver\",\"status\":\"active\",\"benefits\":{\"delivery\":\"priority\",\"discount\":\"0.05\"},"
                             "\"next\":null}") == 0);
  upl_string_free(card);
  card = NULL;
  CHECK_STATUS(upl_member_rank_card_json(e, 42, &card), UPL_ENOTFOUND);
  CHECK(card == NULL && strstr(upl_last_error(), "42") != NULL);
  CHECK_STATUS(upl_member_rank_card_json(e, 2, NULL), UPL_EINVALID);
  CHECK_STATUS(upl_member_rank_card_json(NULL, 2, &card), UPL_EINVALID);

  const char *key = NULL;
  CHECK_STATUS(upl_tier_benefit(&key, &value, e, 1, 0), UPL_OK);
  CHECK(key && value && strcmp(key, "delivery") == 0 && strcmp(value, "priority") == 0);
  CHECK_STATUS(upl_tier_benefit(&key, &value, e, 1, 1), UPL_OK);
  CHECK(strcmp(key, "discount") == 0 && strcmp(value, "0.05") == 0);
  CHECK_STATUS(upl_tier_benefit(&key, &value, e, 1, 2), UPL_ENOTFOUND);
  CHECK_STATUS(upl_tier_benefit(&key, &value, e, 9, 0), UPL_ENOTFOUND);

  int64_t up[4] = {0};
  size_t count = 0;
  CHECK_STATUS(upl_upline(up, 4, &count, e, 5, 0), UPL_OK);
  CHECK(count == 2 && up[0] == 2 && up[1] == 1);
  CHECK_STATUS(upl_upline(NULL, 0, &count, e, 5, 0), UPL_OK);
  CHECK(count == 2);
  uint64_t below = 0;
  CHECK_STATUS(upl_below(&below, e, 1, 0), UPL_OK);
  CHECK(below == 4);
  uint64_t census[4] = {0};
  size_t tiers = 0;
  CHECK_STATUS(upl_census(census, 4, &tiers, e), UPL_OK);
  CHECK(tiers == 2 && census[0] == 4 && census[1] == 1);

  /* Refund 50.00 of o-1 (A = 100.00): 5 −50.00, 2 −2.50, 1 −1.50. */
  CHECK_STATUS(upl_refund(e, "o-1", 5000, 4000), UPL_OK);
  n = effects(fx, e);
  CHECK(n == 3 && fx[0].type == UPL_EFFECT_DEBIT && fx[0].kind == UPL_KIND_CLAWBACK && fx[0].points == 5000 && fx[1].points == 250 && fx[2].points == 150);
  upl_order order = UPL_ORDER_INIT;
  CHECK_STATUS(upl_order_get(&order, e, "o-1"), UPL_OK);
  CHECK(order.member == 5 && order.amount == 10000 && order.refunded == 5000 && order.at == 3000);
  CHECK_STATUS(upl_order_get(&order, e, "nope"), UPL_ENOTFOUND);
  CHECK_STATUS(upl_refund(e, "o-1", 0, 4001), UPL_EINVALID_AMOUNT); /* 0 is no amount: use upl_refund_rest */
  CHECK_STATUS(upl_refund_rest(e, "o-1", 4001), UPL_OK);
  CHECK_STATUS(upl_order_get(&order, e, "o-1"), UPL_OK);
  CHECK(order.refunded == 10000);
  CHECK_STATUS(upl_refund_rest(e, "o-1", 4002), UPL_EREFUND_EXCEEDS_ORDER);
  CHECK_STATUS(upl_refund(e, "o-3", 100, 4000 + 31LL * 86400000), UPL_EREFUND_WINDOW_CLOSED);

  CHECK_STATUS(upl_redeem(e, 5, 1000, "r-1", 5000), UPL_OK);
  CHECK_STATUS(upl_redeem(e, 5, 1000, "r-1", 5001), UPL_EDUPLICATE_REF);
  CHECK_STATUS(upl_redeem(e, 5, 1000000, "r-2", 5001), UPL_EINSUFFICIENT_POINTS);
  CHECK_STATUS(upl_adjust(e, 3, -250, "ops", "chargeback", 5002), UPL_OK);
  CHECK_STATUS(upl_adjust(e, 3, 100, "", "x", 5003), UPL_EINVALID_EVENT);
  CHECK_STATUS(upl_adjust(e, 3, INT64_MIN, "ops", "x", 5003), UPL_EOVERFLOW);
  CHECK_STATUS(upl_suspend(e, 3, 5004), UPL_OK);
  CHECK_STATUS(upl_reactivate(e, 3, 5005), UPL_OK);
  CHECK_STATUS(upl_suspend(e, 77, 5006), UPL_EUNKNOWN_MEMBER);

  /* Plan changes: incompatible (width), invalid, and an empty actor outranking an invalid plan. */
  static const char fewer[] =
      "{\"name\":\"c-test\",\"shops\":{\"main\":{\"ratio\":\"1\"}},\"tiers\":[{\"name\":\"bronze\",\"width\":3,\"rates\":[]}]}";
  CHECK_STATUS(upl_change_plan(e, fewer, sizeof fewer - 1, "ops", 6000), UPL_EINCOMPATIBLE_PLAN);
  CHECK(strstr(upl_last_error(), "would remove tiers") != NULL);
  static const char narrow[] =
      "{\"name\":\"c-test\",\"shops\":{\"main\":{\"ratio\":\"1\"}},\"tiers\":[{\"name\":\"bronze\",\"width\":2,\"rates\":[]},"
      "{\"name\":\"silver\",\"width\":3,\"rates\":[],\"promote_at\":{\"lifetime_points\":\"150\"}}]}";
  CHECK_STATUS(upl_change_plan(e, narrow, sizeof narrow - 1, "ops", 6000), UPL_EINCOMPATIBLE_PLAN);
  CHECK(strstr(upl_last_error(), "tiers[0].width: 2 would change the width") != NULL);
  CHECK_STATUS(upl_change_plan(e, "{}", 2, "ops", 6000), UPL_EINVALID_PLAN);
  CHECK_STATUS(upl_change_plan(e, "{}", 2, "", 6000), UPL_EINVALID_EVENT);
  CHECK_STATUS(upl_change_plan(e, plan, sizeof plan - 1, "ops", 6001), UPL_OK);

  uint64_t applied = 0, rejected = 0, members = 0;
  int64_t clock = 0;
  CHECK_STATUS(upl_engine_counters(&applied, &rejected, &members, &clock, e), UPL_OK);
  CHECK(members == 5 && clock == 6001); /* the rejected refund at +31 days did not move the clock */
  CHECK(applied > 0 && rejected > 0);

  char digest[65];
  CHECK_STATUS(upl_digest(digest, e), UPL_OK);
  CHECK(strlen(digest) == 64);
  upl_engine_free(e);
}

/* Growable records: a host built against an older header (a smaller record) gets exactly its
 * bytes written; a newer host's larger record gets what this library knows, the rest untouched;
 * a size below the record's 0.2 size is refused. */
static void test_record_sizes(void) {
  upl_engine *e = NULL;
  CHECK_STATUS(upl_engine_open_json(&e, plan, sizeof plan - 1), UPL_OK);
  if (!e) return;
  CHECK_STATUS(upl_join(e, 1, 0, 1000), UPL_OK);
  CHECK_STATUS(upl_purchase(e, "o-1", 1, "main", 10000, 1001), UPL_OK);

  struct newer_member { upl_member m; int64_t future; } big;
  memset(&big, 0x5a, sizeof big);
  big.m.size = sizeof big;
  CHECK_STATUS(upl_member_get(&big.m, e, 1), UPL_OK);
  CHECK(big.m.size == sizeof big && big.m.id == 1 && big.m.balance == 10000);
  CHECK(big.future == 0x5a5a5a5a5a5a5a5aLL); /* past what the library knows: untouched */

  struct newer_effect { upl_effect fx; int64_t future; } nfx;
  memset(&nfx, 0x5a, sizeof nfx);
  nfx.fx.size = sizeof nfx;
  CHECK_STATUS(upl_engine_effect(&nfx.fx, e, 0), UPL_OK);
  CHECK(nfx.fx.size == sizeof nfx && nfx.fx.type == UPL_EFFECT_CREDIT && nfx.fx.points == 10000 && nfx.future == 0x5a5a5a5a5a5a5a5aLL);

  struct newer_order { upl_order o; int64_t future; } no;
  memset(&no, 0x5a, sizeof no);
  no.o.size = sizeof no;
  CHECK_STATUS(upl_order_get(&no.o, e, "o-1"), UPL_OK);
  CHECK(no.o.size == sizeof no && no.o.amount == 10000 && no.future == 0x5a5a5a5a5a5a5a5aLL);

  upl_member small;
  memset(&small, 0x5a, sizeof small);
  small.size = 56; /* smaller than upl_member was in 0.2 */
  CHECK_STATUS(upl_member_get(&small, e, 1), UPL_EINVALID);
  CHECK(strstr(upl_last_error(), "out->size: 56 is smaller than 64") != NULL);
  CHECK(small.id == 0x5a5a5a5a5a5a5a5aLL); /* nothing written */
  small.size = 0;
  CHECK_STATUS(upl_member_get(&small, e, 1), UPL_EINVALID);
  upl_effect zero_fx;
  memset(&zero_fx, 0, sizeof zero_fx);
  CHECK_STATUS(upl_engine_effect(&zero_fx, e, 0), UPL_EINVALID);
  upl_order zero_order;
  memset(&zero_order, 0, sizeof zero_order);
  CHECK_STATUS(upl_order_get(&zero_order, e, "o-1"), UPL_EINVALID);
  CHECK_STATUS(upl_member_get(NULL, e, 1), UPL_EINVALID);
  upl_engine_free(e);
}

static void test_amounts(void) {
  int64_t units = -1;
  CHECK_STATUS(upl_parse_amount(&units, "12.50", 2), UPL_OK);
  CHECK(units == 1250);
  CHECK_STATUS(upl_parse_amount(&units, "1.230", 2), UPL_OK);
  CHECK(units == 123);
  CHECK_STATUS(upl_parse_amount(&units, "-0.5", 0), UPL_EINVALID_AMOUNT);
  CHECK(strstr(upl_last_error(), "more decimals than scale 0") != NULL);
  CHECK_STATUS(upl_parse_amount(&units, "1.235", 2), UPL_EINVALID_AMOUNT);
  CHECK_STATUS(upl_parse_amount(&units, "+5", 2), UPL_EINVALID_AMOUNT);
  CHECK_STATUS(upl_parse_amount(&units, "99999999999999999999", 0), UPL_EINVALID_AMOUNT);
  CHECK_STATUS(upl_parse_amount(&units, "1", 7), UPL_EINVALID);
  CHECK(units == 123); /* untouched by the failures */
  char buf[32];
  CHECK_STATUS(upl_format_amount(buf, sizeof buf, -1250, 2), UPL_OK);
  CHECK(strcmp(buf, "-12.50") == 0);
  CHECK_STATUS(upl_format_amount(buf, sizeof buf, 0, 3), UPL_OK);
  CHECK(strcmp(buf, "0.000") == 0);
  CHECK_STATUS(upl_format_amount(buf, sizeof buf, INT64_MIN, 0), UPL_OK);
  CHECK(strcmp(buf, "-9223372036854775808") == 0);
  CHECK_STATUS(upl_format_amount(buf, 3, 1250, 2), UPL_EINVALID);
}

static void test_json_door(void) {
  upl_engine *e = NULL;
  CHECK_STATUS(upl_engine_open_json(&e, plan, sizeof plan - 1), UPL_OK);
  if (!e) return;
  char *result = NULL;
  const char join1[] = "{\"type\":\"join\",\"member\":1,\"at\":0}";
  CHECK_STATUS(upl_engine_apply_json(e, join1, sizeof join1 - 1, &result), UPL_OK);
  CHECK(result && strcmp(result, "{\"status\":\"ok\",\"effects\":[{\"type\":\"placed\",\"member\":1,\"tier\":\"bronze\",\"parent\":null,\"position\":0}]}") == 0);
  upl_string_free(result);
  result = NULL;
  const char bad[] = "{\"type\":\"join\",\"member\":1,\"at\":0}";
  CHECK_STATUS(upl_engine_apply_json(e, bad, sizeof bad - 1, &result), UPL_EMEMBER_EXISTS);
  CHECK(result && strstr(result, "\"status\":\"member_exists\"") && strstr(result, "\"message\":"));
  upl_string_free(result);
  result = NULL;
  CHECK_STATUS(upl_engine_apply_json(e, "not json", 8, &result), UPL_EINVALID_EVENT);
  CHECK(result && strstr(result, "\"status\":\"invalid_event\""));
  upl_string_free(result);
  result = NULL;
  CHECK_STATUS(upl_engine_apply_json(e, join1, sizeof join1 - 1, NULL), UPL_EINVALID);
  CHECK_STATUS(upl_engine_apply_json(e, NULL, 3, &result), UPL_EINVALID);
  CHECK(result == NULL);

  char *state = NULL;
  CHECK_STATUS(upl_engine_dump_json(e, &state), UPL_OK);
  CHECK(state && strstr(state, "\"applied\":1,\"rejected\":2,") && strstr(state, "\"id\":1,\"sponsor\":null,\"tier\":\"bronze\""));
  upl_string_free(state);
  upl_engine_free(e);
}

/* What upl_engine_last_status() and the effects say after each kind of outcome: an accepted
   event, a rejected one, and a call refused for a NULL argument before it became an event (which
   must not leave the previous event's effects readable). */
static void test_last_status(void) {
  upl_engine *e = NULL;
  CHECK_STATUS(upl_engine_open_json(&e, plan, sizeof plan - 1), UPL_OK);
  if (!e) return;
  CHECK_STATUS(upl_engine_last_status(e), UPL_OK); /* no event yet */
  CHECK_STATUS(upl_engine_last_status(NULL), UPL_EINVALID);
  CHECK_STATUS(upl_join(e, 1, 0, 1000), UPL_OK);
  CHECK_STATUS(upl_join(e, 2, 1, 1001), UPL_OK);
  CHECK_STATUS(upl_purchase(e, "o-1", 2, "main", 1000, 2000), UPL_OK);
  CHECK_STATUS(upl_engine_last_status(e), UPL_OK);
  CHECK(upl_engine_effect_count(e) == 2); /* 2's own points, 1's upline credit */

  CHECK_STATUS(upl_purchase(e, "o-1", 2, "main", 1000, 2001), UPL_EDUPLICATE_ORDER);
  CHECK_STATUS(upl_engine_last_status(e), UPL_EDUPLICATE_ORDER);
  CHECK(upl_engine_effect_count(e) == 0);

  const upl_member init = UPL_MEMBER_INIT;
  upl_member before = init, after = init;
  CHECK_STATUS(upl_member_get(&before, e, 2), UPL_OK);
  CHECK_STATUS(upl_purchase(e, "o-2", 2, "main", 1000, 2002), UPL_OK);
  CHECK(upl_engine_effect_count(e) == 2);
  CHECK_STATUS(upl_member_get(&before, e, 2), UPL_OK);
  CHECK_STATUS(upl_purchase(e, "o-3", 2, NULL, 1000, 2003), UPL_EINVALID);
  CHECK(strcmp(upl_last_error(), "shop: NULL") == 0);
  CHECK_STATUS(upl_engine_last_status(e), UPL_EINVALID);
  CHECK(upl_engine_effect_count(e) == 0); /* not o-2's effects */
  CHECK_STATUS(upl_member_get(&after, e, 2), UPL_OK);
  CHECK(after.balance == before.balance && after.orders == before.orders);

  CHECK_STATUS(upl_redeem(e, 2, 100, "r-1", 2004), UPL_OK);
  CHECK(upl_engine_effect_count(e) == 1);
  CHECK_STATUS(upl_refund(e, NULL, 100, 2005), UPL_EINVALID);
  CHECK(upl_engine_effect_count(e) == 0);
  CHECK_STATUS(upl_redeem(e, 2, 100, "r-2", 2006), UPL_OK);
  CHECK_STATUS(upl_adjust(e, 2, 100, "ops", NULL, 2007), UPL_EINVALID);
  CHECK(strcmp(upl_last_error(), "reason: NULL") == 0);
  CHECK(upl_engine_effect_count(e) == 0);
  CHECK_STATUS(upl_redeem(e, 2, 100, "r-3", 2008), UPL_OK);
  char *result = NULL;
  CHECK_STATUS(upl_engine_apply_json(e, NULL, 0, &result), UPL_EINVALID);
  CHECK(result == NULL && upl_engine_effect_count(e) == 0);
  CHECK_STATUS(upl_engine_last_status(e), UPL_EINVALID);
  upl_engine_free(e);
}

int main(void) {
  test_open_and_misuse();
  test_typed_flow();
  test_last_status();
  test_json_door();
  test_amounts();
  test_record_sizes();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
