/*
 * checkout.c — a shop checkout through upline's C ABI.
 *
 * Builds an engine from the plan file it is given (the test suite passes the bundled four-tier
 * plan, examples/plans/four-tier.json), registers a small referral network, checks
 * out a few baskets and prints what each member earned. Amounts cross the ABI as integer units
 * at the plan's scale (money_scale 2: 49.90 is 4990).
 *
 *   checkout PLAN.json
 */
#include <upline/upline.h>

#include <stdio.h>
#include <stdlib.h>

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 4096;
      char *grown = realloc(buf, cap);
      if (!grown) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = grown;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* Prints units at a scale as a decimal: 4990 at 2 → 49.90. */
static void print_units(int64_t units, int scale) {
  int64_t div = 1;
  for (int i = 0; i < scale; ++i) div *= 10;
  if (units < 0) {
    putchar('-');
    units = -units;
  }
  if (scale == 0) {
    printf("%lld", (long long)units);
  } else {
    printf("%lld.%0*lld", (long long)(units / div), scale, (long long)(units % div));
  }
}

static int check(upl_status s, const char *what) {
  if (s == UPL_OK) return 1;
  printf("  %s rejected: %s — %s\n", what, upl_status_str(s), upl_last_error());
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PLAN.json\n", argv[0]);
    return 2;
  }
  size_t len = 0;
  char *plan = read_file(argv[1], &len);
  if (!plan) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  upl_engine *engine = NULL;
  upl_status s = upl_engine_open_json(&engine, plan, len);
  free(plan);
  if (s != UPL_OK) {
    fprintf(stderr, "%s: %s\n", upl_status_str(s), upl_last_error());
    return 1;
  }
  int money_scale = 0, points_scale = 0;
  upl_engine_scales(&money_scale, &points_scale, engine);

  /* Alice (1001) founds the shop's network; Bob and Carol join through her link, Dan through Bob's. */
  const int64_t t0 = 1767225600000; /* 2026-01-01 */
  check(upl_join(engine, 1001, 0, t0), "join alice");
  check(upl_join(engine, 1002, 1001, t0 + 1000), "join bob");
  check(upl_join(engine, 1003, 1001, t0 + 2000), "join carol");
  check(upl_join(engine, 1004, 1002, t0 + 3000), "join dan");

  /* Bronze fills breadth-first: Dan takes the first free position, under Alice — not under Bob,
   * who referred him. Dan buys for 120.00 in the main shop: the effects say who earns what. */
  if (check(upl_purchase(engine, "order-1", 1004, "main", 12000, t0 + 10000), "order-1")) {
    printf("order-1 (Dan, 120.00 in main):\n");
    for (size_t i = 0; i < upl_engine_effect_count(engine); ++i) {
      upl_effect fx = UPL_EFFECT_INIT; /* the size this program was built with */
      if (upl_engine_effect(&fx, engine, i) != UPL_OK || fx.type != UPL_EFFECT_CREDIT) continue;
      printf("  member %lld +", (long long)fx.member);
      print_units(fx.points, points_scale);
      if (fx.kind == UPL_KIND_UPLINE)
        printf(" (upline, %s level %u)\n", upl_tier_name(engine, fx.tier), fx.level);
      else
        printf(" (own)\n");
    }
  }
  /* A retried order is recognised, not paid twice. */
  check(upl_purchase(engine, "order-1", 1004, "main", 12000, t0 + 11000), "retry of order-1");

  printf("balances:\n");
  const int64_t ids[] = {1001, 1002, 1003, 1004};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; ++i) {
    upl_member m = UPL_MEMBER_INIT;
    if (upl_member_get(&m, engine, ids[i]) != UPL_OK) continue;
    const char *discount = NULL;
    upl_member_benefit(&discount, engine, ids[i], "discount");
    printf("  member %lld: ", (long long)m.id);
    print_units(m.balance, points_scale);
    printf(" points, tier %s, discount %s\n", upl_tier_name(engine, m.tier), discount ? discount : "-");
  }
  char digest[65];
  upl_digest(digest, engine);
  printf("digest %s\n", digest);
  upl_engine_free(engine);
  return 0;
}
