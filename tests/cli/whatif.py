#!/usr/bin/python3
"""tests/cli/whatif.py UPLINE PLAN_DIR — `upline whatif` as a process (docs/LAB.md):

- each side's digest, counts, census and balance/lifetime totals equal `upline replay`'s under that
  side's plan, and side b's census and totals are recomputed here from b's dump;
- the data-directory form (`--data`, the journal streamed) writes the same report, byte for byte,
  as the events-file form on the same history;
- plan b = plan a: the two side objects are equal and there is no difference;
- every usage error exits 2 naming the option, an invalid plan b exits 1, and nothing is written;
- the forecast on the page: by default with --html, none with --forecast 0, "too little history" for
  two months (exit 0), a bad --forecast refused; the JSON report the same with or without it.
"""
import json
import os
import re
import sys
import tempfile
from decimal import Decimal

UPLINE = sys.argv[1]
PLANS = sys.argv[2]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from process_check import check, finish, make_run  # noqa: E402

run = make_run(UPLINE)


def dump_of(plan, events, work):
    path = os.path.join(work, "dump.json")
    run("replay", "--plan", plan, "--events", events, "--dump", path)
    lines = open(path).read().splitlines()
    head = json.loads(lines[0] + "]}")
    members = [json.loads(l.rstrip(",")) for l in lines[1:-1]]
    return head, members


def check_side(side, plan, events, work, label):
    head, members = dump_of(plan, events, work)
    check(side["digest"] == head["digest"], f"{label}: digest {side['digest']} != replay's {head['digest']}")
    check(side["applied"] == head["applied"] and side["rejected"] == head["rejected"], f"{label}: counts differ from replay's")
    census = {name: 0 for name in side["census"]}
    for m in members:
        census[m["tier"]] += 1
    check(side["census"] == census, f"{label}: census {side['census']} != the dump's {census}")
    check(Decimal(side["balance_total"]) == sum(Decimal(m["balance"]) for m in members), f"{label}: balance_total")
    check(Decimal(side["lifetime_total"]) == sum(Decimal(m["lifetime"]) for m in members), f"{label}: lifetime_total")
    return {m["id"]: m for m in members}


def main():
    with tempfile.TemporaryDirectory() as work:
        events = os.path.join(work, "events.jsonl")
        run("generate", "--members", "3000", "--purchases", "30000", "--seed", "11", "--step", "3600000", "--out", events)
        four = json.load(open(os.path.join(PLANS, "four-tier.json")))
        plan_a = os.path.join(work, "a.json")
        json.dump(four, open(plan_a, "w"))
        richer = json.loads(json.dumps(four))
        richer["name"] = "four-tier richer"
        richer["tiers"][0]["rates"] = ["0.08", "0.04", "0.02"]
        plan_b = os.path.join(work, "b.json")
        json.dump(richer, open(plan_b, "w"))

        report = os.path.join(work, "report.json")
        run("whatif", "--plan", plan_a, "--plan-b", plan_b, "--events", events, "--period", "week", "--top", "5", "--report", report)
        text = open(report).read()
        r = json.loads(text)
        check(text.endswith("}\n") and text.count("\n") == 1, "the report is one line")
        check(r["period"] == "week" and r["from"] is None and r["until"] is None, "options echoed")
        check_side(r["a"], plan_a, events, work, "a")
        members_b = check_side(r["b"], plan_b, events, work, "b")
        check(r["a"]["digest"] != r["b"]["digest"], "different plans give different digests")
        check(len(r["differences"]["gainers"]) == min(5, r["differences"]["gaining"]), "top 5 gainers")
        for g in r["differences"]["gainers"]:
            check(Decimal(g["b"]) == Decimal(members_b[g["member"]]["balance"]), f"gainer {g['member']}: b balance from the dump")
            check(Decimal(g["delta"]) == Decimal(g["b"]) - Decimal(g["a"]) > 0, f"gainer {g['member']}: delta")
        deltas = [Decimal(g["delta"]) for g in r["differences"]["gainers"]]
        check(deltas == sorted(deltas, reverse=True), "gainers by delta, largest first")
        check(len(r["a"]["periods"]) > 100, "weekly periods over ~3.5 years of hourly events")
        check(sum(Decimal(p["purchased"]) for p in r["a"]["periods"]) == Decimal(r["a"]["purchased"]), "periods add up")

        # The same history from a data directory: the same report, byte for byte.
        data = os.path.join(work, "data")
        run("apply", "--data", data, "--plan", plan_a, "--events", events, "--sync", "none", "--segment-bytes", "65536")
        report2 = os.path.join(work, "report2.json")
        run("whatif", "--data", data, "--plan-b", plan_b, "--period", "week", "--top", "5", "--report", report2)
        check(open(report2).read() == text, "--data and --events give the same report")

        # Plan b = plan a: equal sides, no difference.
        same = json.loads(run("whatif", "--plan", plan_a, "--plan-b", plan_a, "--events", events, "--report", "-").stdout)
        check(same["a"] == same["b"], "plan b = plan a: equal sides")
        d = same["differences"]
        check(d["tier_moves"] == 0 and d["gaining"] == 0 and d["losing"] == 0 and Decimal(d["balance_total"]) == 0, "no difference")

        # --from / --until through the CLI.
        ft = json.loads(run("whatif", "--plan", plan_a, "--plan-b", plan_b, "--events", events, "--from", "1000", "--until", "20000",
                            "--report", "-").stdout)
        check(ft["from"] == 1000 and ft["until"] == 20000, "from/until echoed")
        check(ft["a"]["applied"] + ft["a"]["rejected"] == 20000, "until stops side a at event 20000")
        check(ft["b"]["applied"] == ft["a"]["applied"] + 1, "side b counts its plan event")

        # The forecast on the page (docs/LAB.md): 6 periods by default with --html, none with
        # --forecast 0, and never in the JSON report.
        pages = {}
        for label, extra in (("default", []), ("zero", ["--forecast", "0"]), ("three", ["--forecast", "3"])):
            rep, html = os.path.join(work, f"fc-{label}.json"), os.path.join(work, f"fc-{label}.html")
            run("whatif", "--plan", plan_a, "--plan-b", plan_b, "--events", events, "--top", "5", "--report", rep, "--html", html, *extra)
            pages[label] = (open(rep).read(), open(html).read())
        plain = run("whatif", "--plan", plan_a, "--plan-b", plan_b, "--events", events, "--top", "5", "--report", "-").stdout
        check(all(rep == plain for rep, _ in pages.values()), "the JSON report is the same with or without a forecast")
        zero = pages["zero"][1]
        check('id="forecast"' not in zero and 'class="backtest"' not in zero and "charts.length === 3;" in zero,
              "--forecast 0: no forecast section, three charts")
        check('<h2 id="forecast">Forecast: 6 months ahead</h2>' in pages["default"][1], "--html alone: a forecast 6 months ahead")
        three = pages["three"][1]
        check('<h2 id="forecast">Forecast: 3 months ahead</h2>' in three and "charts.length === 7;" in three, "--forecast 3: the section, 7 charts")
        projection = re.search(r'<table class="projection">(.*?)</table>', three)
        check(projection is not None and len(re.findall(r"<tr><th>\d{4}-\d{2}</th>", projection.group(1))) == 3,
              "--forecast 3: three projected months")
        check('<tr class="members-mape">' in three and '<tr class="ratio-mae">' in three, "the backtest's errors")
        check("no-forecast" not in three, "enough history for both sides")

        # Two complete months (March is being filled): too little history, said on the page; exit 0.
        short = os.path.join(work, "short.jsonl")
        with open(short, "w") as f:
            for k, month in enumerate((1767225600000, 1769904000000, 1772323200000), start=1):  # 2026-01-01, 02-01, 03-01
                sponsor = ',"sponsor":1' if k > 1 else ""
                f.write(f'{{"type":"join","member":{k}{sponsor},"at":{month + 9 * 86400000}}}\n')
                f.write(f'{{"type":"purchase","order":"o{k}","member":{k},"shop":"main","amount":"25.00","at":{month + 11 * 86400000}}}\n')
        short_page = os.path.join(work, "short.html")
        p = run("whatif", "--plan", plan_a, "--plan-b", plan_b, "--events", short, "--report", os.path.join(work, "short.json"),
                "--html", short_page)
        text = open(short_page).read()
        check(p.stderr == "", f"too little history: nothing on standard error ({p.stderr!r})")
        check(text.count('<p class="no-forecast">') == 2 and
              text.count("too little history for a forecast: the history spans 2 complete months: a forecast needs at least 3") == 2,
              "too little history: said for both sides")
        check('id="forecast"' in text and "charts.length === 3;" in text, "too little history: the section, no forecast chart")

        # A bad --forecast: exit 2 naming the option and the value; --forecast without --html.
        for value in ("x", "-1", "10001", "2.5"):
            p = run("whatif", "--plan", plan_a, "--plan-b", plan_b, "--events", short, "--report", os.path.join(work, "never.json"),
                    "--html", os.path.join(work, "never.html"), "--forecast", value, rc=2)
            check("--forecast" in p.stderr and f'"{value}"' in p.stderr, f"--forecast {value}: stderr {p.stderr!r}")
            check(not os.path.exists(os.path.join(work, "never.html")), f"--forecast {value}: no page")
        p = run("whatif", "--plan", plan_a, "--plan-b", plan_b, "--events", short, "--report", "-", "--forecast", "3", rc=2)
        check("--forecast: only with --html" in p.stderr, p.stderr)

        # Errors: usage (2) and an invalid plan (1); no report written.
        never = os.path.join(work, "never.json")
        cases = [
            (2, "give the history as exactly one of --events", ["--plan", plan_a, "--plan-b", plan_b]),
            (2, "give the history as exactly one of --events", ["--plan-b", plan_b, "--events", events, "--data", data]),
            (2, "--plan: required with --events", ["--plan-b", plan_b, "--events", events]),
            (2, "--plan: not with --data", ["--plan", plan_a, "--plan-b", plan_b, "--data", data]),
            (2, "--archive: only with --data", ["--plan", plan_a, "--plan-b", plan_b, "--events", events, "--archive", work]),
            (2, '--period: "year" is not day, week or month', ["--plan", plan_a, "--plan-b", plan_b, "--events", events, "--period", "year"]),
            (2, "from: 40000 is past the last event applied", ["--plan", plan_a, "--plan-b", plan_b, "--events", events, "--from", "40000"]),
            (2, "from: 7 is after until (6)", ["--plan", plan_a, "--plan-b", plan_b, "--events", events, "--from", "7", "--until", "6"]),
            (2, "--data: " + os.path.join(work, "nodir") + " holds no data directory", ["--plan-b", plan_b, "--data", os.path.join(work, "nodir")]),
            (1, "invalid_plan", ["--plan", plan_a, "--plan-b", os.path.join(PLANS, "..", "..", "tests", "cli", "plans", "bad.json"), "--events", events]),
            (2, "--plan-b is required", ["--plan", plan_a, "--events", events]),
        ]
        for rc, message, args in cases:
            p = run("whatif", *args, "--report", never, rc=rc)
            check(message in p.stderr, f"{args}: stderr {p.stderr!r} lacks {message!r}")
            check(p.stderr.startswith("upline whatif: "), f"{args}: message prefix")
            check(not os.path.exists(never), f"{args}: no report left")
        # A failed run leaves an earlier report as it was, and no file it would have written.
        keep = os.path.join(work, "keep.json")
        with open(keep, "w") as f:
            f.write("OLD\n")
        page = os.path.join(work, "page.html")
        run("whatif", "--plan", plan_a, "--plan-b", plan_b, "--events", events, "--from", "99999", "--report", keep, "--html", page, rc=2)
        check(open(keep).read() == "OLD\n" and not os.path.exists(page), "a failed run leaves the old report and no page")
        check(not [n for n in os.listdir(work) if n.endswith(".tmp")], "no temporary file left")
        if os.path.exists("/dev/full"):
            p = run("whatif", "--plan", plan_a, "--plan-b", plan_b, "--events", events, "--report", "/dev/full", "--html", page, rc=2)
            check("/dev/full: cannot write" in p.stderr and not os.path.exists(page), "a full disk: exit 2, no page left")
        # An output that is the events file is refused before anything is read or written.
        size = os.path.getsize(events)
        for option in ("--report", "--html"):
            args = ["whatif", "--plan", plan_a, "--plan-b", plan_b, "--events", events, "--report", keep]
            if option == "--report":
                args[-1] = events
            else:
                args += ["--html", events]
            p = run(*args, rc=2)
            check(f"{option}: {events} is the events file" in p.stderr and os.path.getsize(events) == size, p.stderr)
        p = run("whatif", "--plan", "-", "--plan-b", plan_b, "--events", "-", "--report", keep, rc=2)
        check("--plan and --events cannot both read standard input" in p.stderr, p.stderr)

        # Plan b with other scales cannot be installed as a plan event: invalid input (1).
        scaled = json.loads(json.dumps(richer))
        scaled["points_scale"] = 3
        plan_s = os.path.join(work, "scaled.json")
        json.dump(scaled, open(plan_s, "w"))
        p = run("whatif", "--plan", plan_a, "--plan-b", plan_s, "--events", events, "--from", "5", "--report", never, rc=1)
        check(not os.path.exists(never), "no report left")
        check("plan b: rejected as a plan event after event 5: incompatible_plan: points_scale: 3 differs" in p.stderr, p.stderr)
        # ... but it can replace the initial plan.
        s = json.loads(run("whatif", "--plan", plan_a, "--plan-b", plan_s, "--events", events, "--report", "-").stdout)
        check(s["b"]["balance_total"].count(".") == 1 and len(s["b"]["balance_total"].split(".")[1]) == 3, "b at points_scale 3")
        check(all(len(g["delta"].split(".")[1]) == 3 for g in s["differences"]["gainers"] + s["differences"]["losers"]),
              "moves at the larger scale")

    return finish("whatif")


if __name__ == "__main__":
    sys.exit(main())
