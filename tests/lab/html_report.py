#!/usr/bin/python3
"""tests/lab/html_report.py UPLINE PLANS_DIR — the what-if HTML page (docs/LAB.md) opened in a real
browser: Debian's headless Chromium loads the file, the page's own script marks whether its seven
SVG charts (three of the report, four of the forecast) rendered (a non-empty box each) and records
any script error; this test reads the DOM Chromium dumps. Also: the page references nothing outside
itself (no network), the same report gives the same bytes, and the forecast section's backtest
errors and projected ratios are those of `upline forecast` on the same history under each plan.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

UPLINE, PLANS = sys.argv[1], sys.argv[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(*args):
    p = subprocess.run([UPLINE, *args], capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise SystemExit(f"upline {' '.join(args)}: exit {p.returncode}\n{p.stderr}")
    return p


def render(html_path, work):
    """Chromium's DOM of the page after its scripts ran (bounded: 90 s)."""
    profile = tempfile.mkdtemp(dir=work)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
           f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", "file://" + os.path.abspath(html_path)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    if p.returncode != 0:
        raise SystemExit(f"chromium: exit {p.returncode}\n{p.stderr[-2000:]}")
    return p.stdout


def html_tag(dom):
    """The opening <html ...> tag of a dumped DOM: where the page's script leaves its marks."""
    m = re.search(r"<html[^>]*>", dom)
    return m.group(0) if m else ""


def main():
    if not os.path.exists(CHROMIUM):
        raise SystemExit("chromium is not installed (.ci/setup installs Debian's chromium)")
    with tempfile.TemporaryDirectory() as work:
        events = os.path.join(work, "events.jsonl")
        run("generate", "--members", "2000", "--purchases", "20000", "--seed", "5", "--step", "3600000", "--out", events)
        plan_b = os.path.join(work, "b.json")
        with open(os.path.join(PLANS, "four-tier.json")) as f:
            text = f.read()
        # Plan b: the four-tier plan under a name that must be escaped, paying bronze less.
        text = text.replace('"0.05", "0.03", "0.02"', '"0.04", "0.02", "0.01"', 1)
        text = re.sub(r'"name":\s*"[^"]*"', '"name": "lean <b>&amp; \\"quoted\\""', text, count=1)
        with open(plan_b, "w") as f:
            f.write(text)
        pages = []
        for i in range(2):
            html = os.path.join(work, f"report{i}.html")
            run("whatif", "--plan", os.path.join(PLANS, "four-tier.json"), "--plan-b", plan_b, "--events", events, "--period", "week",
                "--report", os.path.join(work, f"report{i}.json"), "--html", html)
            with open(html, "rb") as f:
                pages.append(f.read())
        check(pages[0] == pages[1], "the same report gives the same page, byte for byte")
        page = pages[0].decode()
        check(page.startswith("<!DOCTYPE html>"), "an HTML5 document")
        # Nothing from outside: the only URL is the SVG namespace.
        urls = set(re.findall(r'https?://[^"\s<>]+', page))
        check(urls <= {"http://www.w3.org/2000/svg"}, f"no network references, found {urls}")
        check(not re.search(r'\b(src|href)\s*=|@import|url\(', page), "no src, href, @import or url()")
        check("lean &lt;b&gt;&amp;amp; &quot;quoted&quot;" in page, "the plan name escaped")
        check(page.count('<svg class="chart"') == 7, "seven charts: three of the report, four of the forecast")
        check(page.count('class="ratio"') >= 2, "a ratio line for each side")

        # The forecast (6 weeks by default with --html): each side's is `upline forecast` on a data
        # directory holding the same events under that side's plan — the backtest's errors and the
        # projected payout ratios as it prints them, the members to 0.1.
        check('<h2 id="forecast">Forecast: 6 weeks ahead</h2>' in page, "the forecast section")
        check("no-forecast" not in page, "a forecast for both sides")
        expected = {}
        for side, plan in (("a", os.path.join(PLANS, "four-tier.json")), ("b", plan_b)):
            data = os.path.join(work, "data-" + side)
            run("apply", "--data", data, "--plan", plan, "--events", events, "--sync", "none")
            expected[side] = run("forecast", "--data", data, "--period", "week", "--periods", "6", "--report", "-").stdout

        def raw(text, name):
            return re.search(r'"%s":([^,}\]]+)' % name, text).group(1)

        for cls, name in (("members-mape", "members_mape_percent"), ("ratio-mae", "payout_ratio_mae")):
            row = re.search(r'<tr class="%s"><th>[^<]*</th><td>([^<]*)</td><td>([^<]*)</td></tr>' % cls, page)
            check(row is not None, f"the backtest row {cls}")
            if row:
                want = tuple("—" if raw(expected[s], name) == "null" else raw(expected[s], name) for s in ("a", "b"))
                check(row.groups() == want, f"backtest {name}: page {row.groups()} != upline forecast's {want}")
                check(want[0] != "—", f"backtest {name}: a figure to compare")
        check(re.search(r'<tr class="backtest-periods"><th>[^<]*</th><td>\d+ / \d+</td><td>\d+ / \d+</td></tr>', page) is not None,
              "the backtest's periods")
        table = re.search(r'<table class="projection">(.*?)</table>', page, re.S)
        rows = re.findall(r"<tr><th>([0-9-]+)</th><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", table.group(1)) if table else []
        check(len(rows) == 6, f"six projected weeks ({len(rows)})")
        projected = {s: json.loads(expected[s])["forecast"] for s in ("a", "b")}
        for i, (label, members_a, members_b, ratio_a, ratio_b) in enumerate(rows):
            for side, members, ratio in (("a", members_a, ratio_a), ("b", members_b, ratio_b)):
                q = projected[side][i]
                check(label == q["period"], f"{label}: the period of {side}'s forecast ({q['period']})")
                check(abs(float(members.replace(",", "")) - q["members"]) <= 0.05 + 1e-6, f"{label}: members of {side} {members} != {q['members']}")
                r = raw(json.dumps(q, separators=(",", ":")), "payout_ratio")
                check(ratio == ("—" if q["payout_ratio"] is None else "%.6f" % q["payout_ratio"]), f"{label}: ratio of {side} {ratio} != {r}")
        check(page.count('class="projected"') >= 6, "stacked bars of projected members")
        check(page.count('class="forecast"') >= 4, "lines: projected ratios and the backtest")

        dom = render(os.path.join(work, "report0.html"), work)
        root = html_tag(dom)
        check('data-rendered="ok"' in root, f"Chromium: every chart rendered with a non-empty box ({root})")
        check('data-charts="7"' in root, "Chromium: seven charts in the DOM")
        check("data-error" not in root, f"Chromium: no script error ({root})")
        check(dom.count("<polyline") == page.count("<polyline"), "Chromium parsed every polyline")

        # The controls: the same check on a page missing a chart, and on one whose script fails,
        # must see it — else the check above could not fail.
        broken = os.path.join(work, "broken.html")
        with open(broken, "w") as f:
            f.write(re.sub(r'<svg class="chart".*?</svg>', "", page, count=1, flags=re.S))
        check('data-rendered="broken"' in html_tag(render(broken, work)), "control: a missing chart is seen")
        failing = os.path.join(work, "failing.html")
        with open(failing, "w") as f:
            f.write(page.replace("</body>", "<script>undefined_function();</script></body>"))
        check("data-error=" in html_tag(render(failing, work)), "control: a script error is seen")

    if failures:
        print(f"{len(failures)} failures", file=sys.stderr)
        return 1
    print("html-report: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
