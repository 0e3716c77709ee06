/* Tests of the C ABI's stores (upl_store_*), written in C: a data directory created, fed typed and
   JSON events, closed, reopened and compared with an in-memory engine fed the same events. */
#define _POSIX_C_SOURCE 200809L
#include "upline/upline.h"

#include "check.h"

#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The options record is part of the ABI: fields only ever appended. */
_Static_assert(sizeof(upl_store_options) == 40, "upl_store_options is 40 bytes");
_Static_assert(offsetof(upl_store_options, size) == 0, "size at 0");
_Static_assert(offsetof(upl_store_options, durability) == 4, "durability at 4");
_Static_assert(offsetof(upl_store_options, snapshot_every) == 8, "snapshot_every at 8");
_Static_assert(offsetof(upl_store_options, keep_snapshots) == 16, "keep_snapshots at 16");
/* Pinned values. */
_Static_assert(UPL_EIO == 104 && UPL_ECORRUPT == 105 && UPL_EBUSY == 106, "pinned");
_Static_assert(UPL_SYNC_EVERY == 0 && UPL_SYNC_GROUP == 1 && UPL_SYNC_NONE == 2, "pinned");


static const char plan[] =
    "{\"name\":\"c-store\",\"refund_window_days\":30,"
    "\"shops\":{\"main\":{\"ratio\":\"1\"}},"
    "\"tiers\":[{\"name\":\"bronze\",\"width\":2,\"rates\":[\"0.05\",\"0.03\"]},"
    "{\"name\":\"silver\",\"width\":2,\"rates\":[\"0.04\"],\"promote_at\":{\"lifetime_points\":\"150\"}}]}";

/* The same plan, but another rate: a different plan. */
static const char other_plan[] =
    "{\"name\":\"c-store\",\"refund_window_days\":30,"
    "\"shops\":{\"main\":{\"ratio\":\"1\"}},"
    "\"tiers\":[{\"name\":\"bronze\",\"width\":2,\"rates\":[\"0.06\",\"0.03\"]},"
    "{\"name\":\"silver\",\"width\":2,\"rates\":[\"0.04\"],\"promote_at\":{\"lifetime_points\":\"150\"}}]}";

/* ---- a scratch directory ------------------------------------------------------------------- */

static char root[64];

static void make_root(void) {
  strcpy(root, "/tmp/upline-c-store-XXXXXX");
  if (!mkdtemp(root)) {
    perror("mkdtemp");
    exit(2);
  }
}

/* Removes a directory of plain files (a data directory), then the directory. */
static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *ent;
  char path[512];
  while ((ent = readdir(d)) != NULL) {
    if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

static void sub(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", root, name); }

/* ---- the tests ------------------------------------------------------------------------------ */

static const char json_purchase[] =
    "{\"type\":\"purchase\",\"order\":\"o-3\",\"member\":3,\"shop\":\"main\",\"amount\":\"80.00\",\"at\":4000}";
static const char json_refund[] = "{\"type\":\"refund\",\"order\":\"o-1\",\"amount\":\"20.00\",\"at\":5000}";
static const char json_duplicate[] = "{\"type\":\"join\",\"member\":2,\"sponsor\":1,\"at\":5001}";

/* The events of test_round_trip, applied to an in-memory engine: the reference. */
static void feed_engine(upl_engine *e) {
  char *result = NULL;
  CHECK_STATUS(upl_join(e, 1, 0, 1000), UPL_OK);
  CHECK_STATUS(upl_join(e, 2, 1, 1001), UPL_OK);
  CHECK_STATUS(upl_join(e, 3, 1, 1002), UPL_OK);
  CHECK_STATUS(upl_purchase(e, "o-1", 2, "main", 10000, 2000), UPL_OK);
  CHECK_STATUS(upl_purchase(e, "o-1", 2, "main", 10000, 2001), UPL_EDUPLICATE_ORDER);
  CHECK_STATUS(upl_purchase(e, "o-2", 3, "main", 12050, 3000), UPL_OK);
  CHECK_STATUS(upl_engine_apply_json(e, json_purchase, sizeof json_purchase - 1, &result), UPL_OK);
  upl_string_free(result);
  CHECK_STATUS(upl_engine_apply_json(e, json_refund, sizeof json_refund - 1, &result), UPL_OK);
  upl_string_free(result);
  CHECK_STATUS(upl_engine_apply_json(e, json_duplicate, sizeof json_duplicate - 1, &result), UPL_EMEMBER_EXISTS);
  upl_string_free(result);
  CHECK_STATUS(upl_refund_rest(e, "o-2", 6000), UPL_OK);
}

static void test_round_trip(void) {
  char dir[128];
  sub(dir, sizeof dir, "shop");
  upl_store *s = NULL;
  CHECK_STATUS(upl_store_open(&s, dir, plan, sizeof plan - 1, NULL), UPL_OK);
  if (!s) return;
  const upl_engine *view = upl_store_engine(s);
  CHECK(view != NULL);
  CHECK(upl_store_last_seq(s) == 0 && upl_store_durable_seq(s) == 0);

  uint64_t seq = 0;
  CHECK_STATUS(upl_store_join(s, &seq, 1, 0, 1000), UPL_OK);
  CHECK(seq == 1);
  CHECK(upl_engine_effect_count(view) == 1); /* placed */
  CHECK_STATUS(upl_store_join(s, &seq, 2, 1, 1001), UPL_OK);
  CHECK(seq == 2);
  CHECK_STATUS(upl_store_join(s, NULL, 3, 1, 1002), UPL_OK);
  CHECK(upl_store_last_seq(s) == 3);
  /* every: durable as soon as the call returns */
  CHECK(upl_store_durable_seq(s) == 3);

  CHECK_STATUS(upl_store_purchase(s, &seq, "o-1", 2, "main", 10000, 2000), UPL_OK);
  CHECK(seq == 4);
  CHECK(upl_engine_effect_count(view) == 2); /* own 100.00, member 1 upline 5.00 */
  upl_effect fx = UPL_EFFECT_INIT;
  CHECK_STATUS(upl_engine_effect(&fx, view, 1), UPL_OK);
  CHECK(fx.type == UPL_EFFECT_CREDIT && fx.kind == UPL_KIND_UPLINE && fx.member == 1 && fx.points == 500 && fx.level == 1);
  CHECK_STATUS(upl_engine_last_status(view), UPL_OK);

  /* A rejection is journaled and numbered too, and leaves no effects. */
  CHECK_STATUS(upl_store_purchase(s, &seq, "o-1", 2, "main", 10000, 2001), UPL_EDUPLICATE_ORDER);
  CHECK(seq == 5);
  CHECK(strstr(upl_last_error(), "o-1") != NULL);
  CHECK(upl_engine_effect_count(view) == 0);
  CHECK_STATUS(upl_engine_last_status(view), UPL_EDUPLICATE_ORDER);
  CHECK_STATUS(upl_store_purchase(s, &seq, "o-2", 3, "main", 12050, 3000), UPL_OK);
  CHECK(seq == 6);

  /* The JSON door: the result line carries the sequence number. */
  char *result = NULL;
  CHECK_STATUS(upl_store_submit_json(s, json_purchase, sizeof json_purchase - 1, &seq, &result), UPL_OK);
  CHECK(seq == 7);
  CHECK(result && strstr(result, "{\"seq\":7,\"status\":\"ok\",\"effects\":[{\"type\":\"credit\",\"member\":3,") == result);
  upl_string_free(result);
  result = NULL;
  CHECK_STATUS(upl_store_submit_json(s, json_refund, sizeof json_refund - 1, &seq, NULL), UPL_OK);
  CHECK(seq == 8);
  CHECK(upl_engine_effect_count(view) == 2); /* clawbacks */
  CHECK_STATUS(upl_store_submit_json(s, json_duplicate, sizeof json_duplicate - 1, &seq, &result), UPL_EMEMBER_EXISTS);
  CHECK(seq == 9);
  CHECK(result && strstr(result, "{\"seq\":9,\"status\":\"member_exists\"") == result && strstr(result, "\"message\":"));
  upl_string_free(result);
  CHECK_STATUS(upl_store_refund_rest(s, &seq, "o-2", 6000), UPL_OK);
  CHECK(seq == 10);

  /* Queries through the view. */
  upl_member m = UPL_MEMBER_INIT;
  CHECK_STATUS(upl_member_get(&m, view, 1), UPL_OK);
  CHECK(m.id == 1 && m.referrals == 2);
  upl_order o = UPL_ORDER_INIT;
  CHECK_STATUS(upl_order_get(&o, view, "o-1"), UPL_OK);
  CHECK(o.amount == 10000 && o.refunded == 2000);
  uint64_t applied = 0, rejected = 0, members = 0;
  CHECK_STATUS(upl_engine_counters(&applied, &rejected, &members, NULL, view), UPL_OK);
  CHECK(applied == 8 && rejected == 2 && members == 3);
  size_t tiers = 0;
  uint64_t census[4] = {0};
  CHECK_STATUS(upl_census(census, 4, &tiers, view), UPL_OK);
  CHECK(tiers == 2 && census[0] + census[1] == 3);
  char *state = NULL;
  CHECK_STATUS(upl_engine_dump_json(view, &state), UPL_OK);
  CHECK(state && strstr(state, "\"applied\":8,\"rejected\":2,"));
  upl_string_free(state);

  char before[65];
  CHECK_STATUS(upl_digest(before, view), UPL_OK);
  CHECK_STATUS(upl_store_close(s), UPL_OK);
  s = NULL;

  /* Reopened without a plan: the same state, numbering goes on. */
  CHECK_STATUS(upl_store_open(&s, dir, NULL, 0, NULL), UPL_OK);
  if (!s) return;
  char after[65];
  CHECK_STATUS(upl_digest(after, upl_store_engine(s)), UPL_OK);
  CHECK(strcmp(before, after) == 0);
  CHECK(upl_store_last_seq(s) == 10 && upl_store_durable_seq(s) == 10);
  CHECK_STATUS(upl_store_join(s, &seq, 4, 2, 7000), UPL_OK);
  CHECK(seq == 11);
  CHECK_STATUS(upl_store_close(s), UPL_OK);

  /* An in-memory engine fed the same ten events has the same digest. */
  upl_engine *e = NULL;
  CHECK_STATUS(upl_engine_open_json(&e, plan, sizeof plan - 1), UPL_OK);
  if (!e) return;
  feed_engine(e);
  char memory[65];
  CHECK_STATUS(upl_digest(memory, e), UPL_OK);
  CHECK(strcmp(before, memory) == 0);
  upl_engine_free(e);

  /* Given again with its own plan (another spelling of the same JSON is fine): opens. */
  s = NULL;
  CHECK_STATUS(upl_store_open(&s, dir, plan, sizeof plan - 1, NULL), UPL_OK);
  upl_store_close(s);
  remove_dir(dir);
}

static void test_plan_mismatch_and_busy(void) {
  char dir[128];
  sub(dir, sizeof dir, "mismatch");
  upl_store *s = NULL;
  CHECK_STATUS(upl_store_open(&s, dir, plan, sizeof plan - 1, NULL), UPL_OK);
  if (!s) return;
  CHECK_STATUS(upl_store_join(s, NULL, 1, 0, 1000), UPL_OK);

  /* A second store on the same directory while the first is open: busy. */
  upl_store *second = (upl_store *)0x1;
  CHECK_STATUS(upl_store_open(&second, dir, NULL, 0, NULL), UPL_EBUSY);
  CHECK(second == (upl_store *)0x1);
  CHECK(strstr(upl_last_error(), "in use") != NULL);
  CHECK_STATUS(upl_store_open(&second, dir, plan, sizeof plan - 1, NULL), UPL_EBUSY);
  CHECK_STATUS(upl_store_close(s), UPL_OK);

  /* Another plan for an existing directory: refused, naming the plan; the directory is unchanged. */
  s = (upl_store *)0x1;
  CHECK_STATUS(upl_store_open(&s, dir, other_plan, sizeof other_plan - 1, NULL), UPL_EINVALID);
  CHECK(s == (upl_store *)0x1);
  CHECK(strstr(upl_last_error(), "plan: \"c-store\" version 1 differs from the plan the directory was created with") != NULL);
  s = NULL;
  CHECK_STATUS(upl_store_open(&s, dir, NULL, 0, NULL), UPL_OK); /* the refusal released the lock */
  CHECK(upl_store_last_seq(s) == 1);

  /* After a plan event, the plan to give is still the one the directory was created with. */
  uint64_t seq = 0;
  CHECK_STATUS(upl_store_change_plan(s, &seq, other_plan, sizeof other_plan - 1, "ops", 2000), UPL_OK);
  CHECK(seq == 2);
  CHECK_STATUS(upl_store_change_plan(s, &seq, "{", 1, "ops", 2001), UPL_EINVALID_PLAN);
  CHECK(seq == 3);
  CHECK_STATUS(upl_store_close(s), UPL_OK);
  s = NULL;
  CHECK_STATUS(upl_store_open(&s, dir, plan, sizeof plan - 1, NULL), UPL_OK);
  CHECK(upl_store_last_seq(s) == 3);
  upl_store_close(s);
  s = (upl_store *)0x1;
  CHECK_STATUS(upl_store_open(&s, dir, other_plan, sizeof other_plan - 1, NULL), UPL_EINVALID);
  CHECK(s == (upl_store *)0x1);
  remove_dir(dir);
}

static void test_group_commit_and_snapshot(void) {
  char dir[128];
  sub(dir, sizeof dir, "group");
  upl_store_options options = UPL_STORE_OPTIONS_INIT;
  CHECK(options.size == sizeof options && options.durability == UPL_SYNC_EVERY && options.keep_snapshots == 2);
  CHECK(options.snapshot_bytes == 134217728u && options.segment_bytes == 67108864u);
  options.durability = UPL_SYNC_GROUP;
  upl_store *s = NULL;
  CHECK_STATUS(upl_store_open(&s, dir, plan, sizeof plan - 1, &options), UPL_OK);
  if (!s) return;
  CHECK_STATUS(upl_store_join(s, NULL, 1, 0, 1000), UPL_OK);
  CHECK_STATUS(upl_store_join(s, NULL, 2, 1, 1001), UPL_OK);
  CHECK_STATUS(upl_store_purchase(s, NULL, "o-1", 2, "main", 5000, 1002), UPL_OK);
  /* Buffered: not durable until the commit. */
  CHECK(upl_store_last_seq(s) == 3 && upl_store_durable_seq(s) == 0);
  CHECK_STATUS(upl_store_commit(s), UPL_OK);
  CHECK(upl_store_durable_seq(s) == 3);
  CHECK_STATUS(upl_store_snapshot(s), UPL_OK);
  CHECK_STATUS(upl_store_purchase(s, NULL, "o-2", 1, "main", 700, 1003), UPL_OK);
  CHECK(upl_store_durable_seq(s) == 3);
  char before[65];
  CHECK_STATUS(upl_digest(before, upl_store_engine(s)), UPL_OK);
  CHECK_STATUS(upl_store_close(s), UPL_OK); /* commits */
  s = NULL;

  /* Recovered from the snapshot plus the journal after it. */
  CHECK_STATUS(upl_store_open(&s, dir, NULL, 0, &options), UPL_OK);
  if (!s) return;
  char after[65];
  CHECK_STATUS(upl_digest(after, upl_store_engine(s)), UPL_OK);
  CHECK(strcmp(before, after) == 0);
  CHECK(upl_store_last_seq(s) == 4 && upl_store_durable_seq(s) == 4);
  upl_store_close(s);
  remove_dir(dir);
}

static void test_misuse(void) {
  char dir[128], missing[128];
  sub(dir, sizeof dir, "misuse");
  sub(missing, sizeof missing, "never-created");
  upl_store *s = (upl_store *)0x1;
  CHECK_STATUS(upl_store_open(NULL, dir, plan, sizeof plan - 1, NULL), UPL_EINVALID);
  CHECK_STATUS(upl_store_open(&s, NULL, plan, sizeof plan - 1, NULL), UPL_EINVALID);
  CHECK(strcmp(upl_last_error(), "dir: NULL") == 0);
  CHECK_STATUS(upl_store_open(&s, "", plan, sizeof plan - 1, NULL), UPL_EINVALID);
  /* No plan, no journal: nothing to open (and nothing created). */
  CHECK_STATUS(upl_store_open(&s, missing, NULL, 0, NULL), UPL_EINVALID);
  CHECK(strstr(upl_last_error(), "no journal here") != NULL);
  CHECK(access(missing, F_OK) != 0);
  CHECK_STATUS(upl_store_open(&s, dir, "{\"name\":1}", 10, NULL), UPL_EINVALID_PLAN);
  upl_store_options options = UPL_STORE_OPTIONS_INIT;
  options.size = 8;
  CHECK_STATUS(upl_store_open(&s, dir, plan, sizeof plan - 1, &options), UPL_EINVALID);
  CHECK(strstr(upl_last_error(), "options->size: 8") != NULL);
  options.size = sizeof options;
  options.durability = 7;
  CHECK_STATUS(upl_store_open(&s, dir, plan, sizeof plan - 1, &options), UPL_EINVALID);
  CHECK(strstr(upl_last_error(), "options->durability: 7") != NULL);
  options.durability = UPL_SYNC_NONE;
  options.keep_snapshots = 0;
  CHECK_STATUS(upl_store_open(&s, dir, plan, sizeof plan - 1, &options), UPL_EINVALID);
  CHECK(strstr(upl_last_error(), "options->keep_snapshots: 0") != NULL);
  options.keep_snapshots = 2;
  options.segment_bytes = 100;
  CHECK_STATUS(upl_store_open(&s, dir, plan, sizeof plan - 1, &options), UPL_EINVALID);
  CHECK(strstr(upl_last_error(), "options->segment_bytes: 100") != NULL);
  options.size = 24; /* a 0.2 host: the fields after keep_snapshots are not read */
  options.durability = 7;
  CHECK_STATUS(upl_store_open(&s, dir, plan, sizeof plan - 1, &options), UPL_EINVALID);
  CHECK(strstr(upl_last_error(), "options->durability: 7") != NULL);
  options.size = sizeof options;
  options.durability = UPL_SYNC_NONE;
  options.segment_bytes = 67108864u;
  CHECK(s == (upl_store *)0x1);
  CHECK(access(dir, F_OK) != 0); /* every refusal came before the directory was made */

  /* NULL stores. */
  CHECK_STATUS(upl_store_close(NULL), UPL_OK);
  CHECK_STATUS(upl_store_commit(NULL), UPL_EINVALID);
  CHECK_STATUS(upl_store_snapshot(NULL), UPL_EINVALID);
  CHECK_STATUS(upl_store_join(NULL, NULL, 1, 0, 0), UPL_EINVALID);
  CHECK_STATUS(upl_store_submit_json(NULL, "{}", 2, NULL, NULL), UPL_EINVALID);
  CHECK(upl_store_engine(NULL) == NULL && upl_store_last_seq(NULL) == 0 && upl_store_durable_seq(NULL) == 0);

  s = NULL;
  options.keep_snapshots = 1;
  CHECK_STATUS(upl_store_open(&s, dir, plan, sizeof plan - 1, &options), UPL_OK);
  if (!s) return;
  uint64_t seq = 99;
  CHECK_STATUS(upl_store_join(s, &seq, 1, 0, 1000), UPL_OK);
  CHECK(seq == 1);
  /* A NULL argument: refused before it is an event; nothing journaled, seq untouched, no effects. */
  seq = 99;
  CHECK_STATUS(upl_store_purchase(s, &seq, NULL, 1, "main", 100, 1001), UPL_EINVALID);
  CHECK(strcmp(upl_last_error(), "order: NULL") == 0);
  CHECK_STATUS(upl_store_submit_json(s, NULL, 3, &seq, NULL), UPL_EINVALID);
  CHECK_STATUS(upl_store_change_plan(s, &seq, NULL, 0, "ops", 1001), UPL_EINVALID);
  CHECK(seq == 99 && upl_store_last_seq(s) == 1);
  CHECK(upl_engine_effect_count(upl_store_engine(s)) == 0);
  CHECK_STATUS(upl_engine_last_status(upl_store_engine(s)), UPL_EINVALID);
  /* A value the engine refuses is a rejection: journaled. */
  CHECK_STATUS(upl_store_purchase(s, &seq, "o-1", 1, "main", 0, 1001), UPL_EINVALID_AMOUNT);
  CHECK(seq == 2);

  /* The store's engine is read-only: the engine's event calls refuse it, and it is not freed. */
  upl_engine *view = (upl_engine *)upl_store_engine(s);
  CHECK_STATUS(upl_join(view, 2, 1, 1002), UPL_EINVALID);
  CHECK(strstr(upl_last_error(), "read-only") != NULL);
  CHECK_STATUS(upl_purchase(view, "o-2", 1, "main", 100, 1002), UPL_EINVALID);
  CHECK_STATUS(upl_engine_apply_json(view, "{}", 2, NULL), UPL_EINVALID);
  upl_engine_free(view);
  CHECK(upl_store_last_seq(s) == 2);
  uint64_t members = 0;
  CHECK_STATUS(upl_engine_counters(NULL, NULL, &members, NULL, upl_store_engine(s)), UPL_OK);
  CHECK(members == 1);
  upl_store_close(s);
  remove_dir(dir);
}

static void test_corrupt(void) {
  char dir[128], journal[160];
  sub(dir, sizeof dir, "corrupt");
  upl_store *s = NULL;
  CHECK_STATUS(upl_store_open(&s, dir, plan, sizeof plan - 1, NULL), UPL_OK);
  CHECK_STATUS(upl_store_join(s, NULL, 1, 0, 1000), UPL_OK);
  CHECK_STATUS(upl_store_close(s), UPL_OK);
  /* Overwrite the journal's header: the directory is no store any more. */
  snprintf(journal, sizeof journal, "%s/journal", dir);
  FILE *f = fopen(journal, "r+b");
  CHECK(f != NULL);
  if (!f) return;
  fputs("garbage!", f);
  fclose(f);
  s = (upl_store *)0x1;
  CHECK_STATUS(upl_store_open(&s, dir, NULL, 0, NULL), UPL_ECORRUPT);
  CHECK(s == (upl_store *)0x1);
  CHECK(strstr(upl_last_error(), "journal") != NULL);
  remove_dir(dir);
}

static void test_status_names(void) {
  CHECK(strcmp(upl_status_str(UPL_EIO), "io") == 0);
  CHECK(strcmp(upl_status_str(UPL_ECORRUPT), "corrupt") == 0);
  CHECK(strcmp(upl_status_str(UPL_EBUSY), "busy") == 0);
}


/* A member's statement (SPEC §13) from a data directory, computed by hand: with the store open
   (the statement only reads) and after a snapshot that the rebuild starts from. */
static const char statement_1[] =
    "{\"member\":1,\"from\":20000,\"until\":60000,\"through_seq\":9,\"opening_balance\":\"5.00\",\"credits\":\"12.50\","
    "\"debits\":\"3.50\",\"closing_balance\":\"14.00\",\"lines\":["
    "{\"seq\":6,\"at\":20000,\"type\":\"credit\",\"kind\":\"upline\",\"points\":\"2.50\",\"balance\":\"7.50\",\"order\":\"o2\","
    "\"buyer\":3,\"shop\":\"main\",\"amount\":\"50.00\",\"tier\":\"bronze\",\"level\":1,\"rate\":\"0.05\",\"multiplier\":\"1\"},"
    "{\"seq\":7,\"at\":30000,\"type\":\"debit\",\"kind\":\"clawback\",\"points\":\"2.50\",\"balance\":\"5.00\",\"order\":\"o1\","
    "\"buyer\":2,\"refunded\":\"50.00\"},"
    "{\"seq\":8,\"at\":40000,\"type\":\"debit\",\"kind\":\"redeem\",\"points\":\"1.00\",\"balance\":\"4.00\",\"ref\":\"r-1\"},"
    "{\"seq\":9,\"at\":50000,\"type\":\"credit\",\"kind\":\"adjust\",\"points\":\"10.00\",\"balance\":\"14.00\",\"actor\":\"ops\","
    "\"reason\":\"goodwill\"}]}";
static const char statement_2[] =
    "{\"member\":2,\"from\":null,\"until\":null,\"through_seq\":10,\"opening_balance\":\"0.00\",\"credits\":\"120.00\","
    "\"debits\":\"50.00\",\"closing_balance\":\"70.00\",\"lines\":["
    "{\"seq\":4,\"at\":10000,\"type\":\"credit\",\"kind\":\"own\",\"points\":\"100.00\",\"balance\":\"100.00\",\"order\":\"o1\","
    "\"buyer\":2,\"shop\":\"main\",\"amount\":\"100.00\",\"ratio\":\"1\",\"history\":\"1\",\"accrual\":\"1\"},"
    "{\"seq\":7,\"at\":30000,\"type\":\"debit\",\"kind\":\"clawback\",\"points\":\"50.00\",\"balance\":\"50.00\",\"order\":\"o1\","
    "\"buyer\":2,\"refunded\":\"50.00\"},"
    "{\"seq\":10,\"at\":60000,\"type\":\"credit\",\"kind\":\"own\",\"points\":\"20.00\",\"balance\":\"70.00\",\"order\":\"o3\","
    "\"buyer\":2,\"shop\":\"main\",\"amount\":\"20.00\",\"ratio\":\"1\",\"history\":\"1\",\"accrual\":\"1\"}]}";

static void test_statement(void) {
  char dir[128];
  sub(dir, sizeof dir, "statement");
  upl_store *s = NULL;
  CHECK_STATUS(upl_store_open(&s, dir, plan, sizeof plan - 1, NULL), UPL_OK);
  if (!s) return;
  CHECK_STATUS(upl_store_join(s, NULL, 1, 0, 1000), UPL_OK);
  CHECK_STATUS(upl_store_join(s, NULL, 2, 1, 2000), UPL_OK);
  CHECK_STATUS(upl_store_join(s, NULL, 3, 1, 3000), UPL_OK);
  CHECK_STATUS(upl_store_purchase(s, NULL, "o1", 2, "main", 10000, 10000), UPL_OK); /* 2: +100.00 own; 1: +5.00 */
  CHECK_STATUS(upl_store_snapshot(s), UPL_OK);                                       /* clock 10000: before `from` */
  CHECK_STATUS(upl_store_purchase(s, NULL, "o1", 3, "main", 10000, 15000), UPL_EDUPLICATE_ORDER); /* seq 5 */
  CHECK_STATUS(upl_store_purchase(s, NULL, "o2", 3, "main", 5000, 20000), UPL_OK);   /* 1: +2.50 */
  CHECK_STATUS(upl_store_refund(s, NULL, "o1", 5000, 30000), UPL_OK);                /* 2: -50.00; 1: -2.50 */
  CHECK_STATUS(upl_store_redeem(s, NULL, 1, 100, "r-1", 40000), UPL_OK);
  CHECK_STATUS(upl_store_adjust(s, NULL, 1, 1000, "ops", "goodwill", 50000), UPL_OK);
  CHECK_STATUS(upl_store_purchase(s, NULL, "o3", 2, "main", 2000, 60000), UPL_OK);   /* at `until`: not in 1's statement */

  char *json = NULL;
  CHECK_STATUS(upl_statement_json(dir, 1, "@20000", "60000", &json), UPL_OK);
  CHECK(json && strcmp(json, statement_1) == 0);
  if (json && strcmp(json, statement_1) != 0) fprintf(stderr, "got  %s\nwant %s\n", json, statement_1);
  upl_string_free(json);
  CHECK_STATUS(upl_store_close(s), UPL_OK);

  json = NULL;
  CHECK_STATUS(upl_statement_json(dir, 2, NULL, NULL, &json), UPL_OK);
  CHECK(json && strcmp(json, statement_2) == 0);
  if (json && strcmp(json, statement_2) != 0) fprintf(stderr, "got  %s\nwant %s\n", json, statement_2);
  upl_string_free(json);

  /* Every refusal names what is wrong, and gives nothing. */
  json = NULL;
  CHECK_STATUS(upl_statement_json(dir, 99, NULL, NULL, &json), UPL_ENOTFOUND);
  CHECK(json == NULL && strstr(upl_last_error(), "99") != NULL);
  CHECK_STATUS(upl_statement_json(dir, 3, "1970-01-01", "1970-01-01T00:00:02Z", &json), UPL_ENOTFOUND); /* joins at 3000 */
  CHECK_STATUS(upl_statement_json(dir, 1, "2026-02-30", NULL, &json), UPL_EINVALID);
  CHECK(strstr(upl_last_error(), "from: \"2026-02-30\" is not a time") != NULL);
  CHECK_STATUS(upl_statement_json(dir, 1, NULL, "soon", &json), UPL_EINVALID);
  CHECK(strstr(upl_last_error(), "until: \"soon\"") != NULL);
  CHECK_STATUS(upl_statement_json(dir, 1, "@5000", "@4000", &json), UPL_EINVALID);
  CHECK(strstr(upl_last_error(), "until: 4000 is before from (5000)") != NULL);
  CHECK_STATUS(upl_statement_json(NULL, 1, NULL, NULL, &json), UPL_EINVALID);
  CHECK_STATUS(upl_statement_json(dir, 1, NULL, NULL, NULL), UPL_EINVALID);
  char missing[160];
  sub(missing, sizeof missing, "no-such-dir");
  CHECK_STATUS(upl_statement_json(missing, 1, NULL, NULL, &json), UPL_EINVALID);
  CHECK(json == NULL);
  remove_dir(dir);
}

int main(void) {
  make_root();
  test_round_trip();
  test_plan_mismatch_and_busy();
  test_group_commit_and_snapshot();
  test_misuse();
  test_corrupt();
  test_status_names();
  test_statement();
  rmdir(root);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
