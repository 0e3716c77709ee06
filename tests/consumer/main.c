#include <upline/upline.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  static const char plan[] = "{\"name\":\"c\",\"shops\":{\"main\":{\"ratio\":\"1\"}},\"tiers\":[{\"name\":\"bronze\",\"width\":2,\"rates\":[\"0.1\"]}]}";
  upl_engine *e = NULL;
  if (upl_engine_open_json(&e, plan, strlen(plan)) != UPL_OK) return 1;
  if (upl_join(e, 1, 0, 0) != UPL_OK || upl_join(e, 2, 1, 0) != UPL_OK) return 2;
  if (upl_purchase(e, "o", 2, "main", 1000, 0) != UPL_OK) return 3;
  upl_member m = UPL_MEMBER_INIT;
  if (upl_member_get(&m, e, 1) != UPL_OK || m.balance != 100) return 4;
  printf("consumer ok: member 1 has %lld units\n", (long long)m.balance);
  upl_engine_free(e);
  return upl_version_number() == UPL_VERSION_NUMBER ? 0 : 5;
}
