#!/usr/bin/env bash
# CTest peers/<backend>-equals-upline: on the four-tier and the deep plan, a small workload
# (bench/peers/workload.py) is replayed by `upline replay --dump` and by the SQL peer with
# --check; any member whose tier, balance, lifetime, orders, rewards or nodes differ, or another
# count of rejected events, fails. The workload includes suspensions (compression on deep).
# The workload must promote members above bronze and grant rewards, or the test proves little.
#
#   equals_upline.sh sqlite|postgres UPLINE_CLI SQL_PEER SOURCE_DIR WORK_DIR
# Exit 77 (skipped) only when PostgreSQL cannot be started.
set -euo pipefail
[ $# -eq 5 ] || { echo "usage: $0 sqlite|postgres UPLINE_CLI SQL_PEER SOURCE_DIR WORK_DIR" >&2; exit 2; }
backend=$1 upline=$2 peer=$3 src=$4 work=$5
here=$src/bench/peers

rm -rf "$work"
mkdir -p "$work"
conninfo=
if [ "$backend" = postgres ]; then
  pgdir=$(mktemp -d /tmp/upline-peer-pg.XXXXXX)
  trap '"$here/pg" stop "$pgdir"' EXIT
  # A port of our own, so that parallel runs do not collide.
  port=$((20000 + $$ % 20000))
  if ! conninfo=$("$here/pg" start "$pgdir" "$port" 2>"$work/pg.err"); then
    echo "SKIP: PostgreSQL cannot be started here: $(cat "$work/pg.err")"
    exit 77
  fi
fi

seed=7
for plan in four-tier deep; do
  seed=$((seed + 1))
  plan_file=$src/examples/plans/$plan.json
  [ -f "$plan_file" ] || { echo "FAIL: $plan_file is missing" >&2; exit 1; }
  events=$work/$plan.jsonl
  /usr/bin/python3 "$here/workload.py" --plan "$plan_file" --members 400 --purchases 5000 --seed $seed --suspends >"$events"
  "$upline" replay --plan "$plan_file" --events "$events" --dump "$work/$plan.upline.json"
  /usr/bin/python3 - "$work/$plan.upline.json" <<'EOF'
import collections, json, sys
d = json.load(open(sys.argv[1]))
tiers = collections.Counter(m["tier"] for m in d["members"])
rewards = sum(len(m["rewards"]) for m in d["members"])
print("upline: %d applied, %d rejected, tiers %s, %d rewards" % (d["applied"], d["rejected"], dict(tiers), rewards))
if sum(n for t, n in tiers.items() if t != "bronze") == 0 or rewards == 0 or d["rejected"] == 0:
    sys.exit("FAIL: the workload promotes nobody, grants no reward or rejects nothing")
EOF
  "$peer" --backend "$backend" ${conninfo:+--conninfo "$conninfo"} --db "$work/$plan.sqlite" \
    --plan "$plan_file" --events "$events" --dump "$work/$plan.peer.json" --check "$work/$plan.upline.json"
  echo "ok: $backend equals upline on $plan"
done
