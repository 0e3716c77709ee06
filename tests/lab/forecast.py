#!/usr/bin/python3
"""tests/lab/forecast.py UPLINE — `upline forecast` as a process (docs/LAB.md): on a generated
history, the history's per-period sign-ups and members agree with the events file, the projection
has --periods periods after the history's, the backtest covers the last third and its summary
errors are the means of its rows; the same input gives the same bytes; usage errors exit 2.
"""
import json
import os
import sys
import tempfile
from datetime import datetime, timezone

UPLINE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from process_check import check, finish, make_run  # noqa: E402

run = make_run(UPLINE)


def month(ms):
    d = datetime.fromtimestamp(ms / 1000, timezone.utc)
    return f"{d.year:04d}-{d.month:02d}"


def main():
    with tempfile.TemporaryDirectory() as work:
        events = os.path.join(work, "events.jsonl")
        run("generate", "--members", "4000", "--purchases", "40000", "--seed", "21", "--step", "1800000", "--interleave", "--out", events)
        data = os.path.join(work, "data")
        run("apply", "--data", data, "--plan", "four-tier", "--events", events, "--sync", "none")
        out = run("forecast", "--data", data, "--periods", "5").stdout
        check(out == run("forecast", "--data", data, "--periods", "5").stdout, "the same bytes twice")
        f = json.loads(out)
        check(f["period"] == "month" and f["tiers"] == ["bronze", "silver", "gold", "platinum"], "period and tiers")

        # Joins per month from the events file (joins apply at their own time: the clock only grows).
        joins = {}
        clock = 0
        for line in open(events):
            e = json.loads(line)
            clock = max(clock, e["at"])
            if e["type"] == "join":
                joins[month(clock)] = joins.get(month(clock), 0) + 1
        h = f["history"]
        check([p["period"] for p in h] == sorted(joins)[: len(h)], "one history entry per month, in order, the last (partial) dropped")
        check(all(p["joins"] == joins[p["period"]] for p in h), "joins per month as in the events")
        total = 0
        for p in h:
            total += p["joins"]
            if p["members"] != total:
                check(False, f"{p['period']}: members {p['members']} != {total} joined so far")
                break

        fc = f["forecast"]
        check(len(fc) == 5, "five projected periods")
        check(fc[0]["period"] > h[-1]["period"] and [p["period"] for p in fc] == sorted(p["period"] for p in fc), "after the history, in order")
        check(all(abs(sum(p["census"].values()) - p["members"]) < 1e-3 for p in fc), "census adds up to members")
        n, k = len(h), max(2, len(h) * 2 // 3)
        b = f["backtest"]
        check(b["fit"]["periods"] == k and len(b["periods"]) == n - k, "backtest: fitted on two thirds, tested on the rest")
        rows = [r for r in b["periods"] if r["actual_members"] > 0]
        mape = 100 * sum(abs(r["projected_members"] - r["actual_members"]) / r["actual_members"] for r in rows) / len(rows)
        check(abs(mape - b["members_mape_percent"]) < 1e-4, f"MAPE {b['members_mape_percent']} is the rows' mean ({mape})")
        for row in f["fit"]["transition"]:
            check(abs(sum(row) - 1) < 1e-5 and all(x >= 0 for x in row), f"a Markov row sums to 1: {row}")

        for args, message in [(["--period", "year"], '--period: "year" is not day, week or month'),
                              (["--periods", "0"], "--periods"),
                              (["--data", os.path.join(work, "none")], "holds no data directory")]:
            a = ["forecast", "--data", data, *args] if args[0] != "--data" else ["forecast", *args]
            p = run(*a, rc=2)
            check(message in p.stderr and p.stderr.startswith("upline forecast: "), f"{args}: {p.stderr!r}")
        # A history of one month: too short.
        short = os.path.join(work, "short")
        with open(os.path.join(work, "short.jsonl"), "w") as s:
            s.write('{"type":"join","member":1,"at":1767225600000}\n')
        run("apply", "--data", short, "--plan", "four-tier", "--events", os.path.join(work, "short.jsonl"), "--sync", "none")
        p = run("forecast", "--data", short, rc=2)
        check("a forecast needs at least 3" in p.stderr, p.stderr)

    return finish("forecast")


if __name__ == "__main__":
    sys.exit(main())
