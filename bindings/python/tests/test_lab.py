"""upline.what_if and the DataFrames of the plan lab (docs/LAB.md)."""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
import pytest

import upline

D = Decimal
JAN15 = 1768435200000  # 2026-01-15T00:00:00Z
FEB10 = 1770681600000  # 2026-02-10T00:00:00Z


def two_tier(name: str, l1: str, l2: str, silver_at: str) -> dict:
    return {"name": name, "shops": {"main": {"ratio": "1"}}, "tiers": [
        {"name": "bronze", "width": 2, "rates": [l1, l2]},
        {"name": "silver", "width": 2, "rates": [], "promote_at": {"lifetime_points": silver_at}}]}


# The history of tests/test_whatif.cpp, whose figures are computed there by hand.
HISTORY = [
    {"type": "join", "member": 1, "at": JAN15},
    {"type": "join", "member": 2, "sponsor": 1, "at": JAN15},
    {"type": "join", "member": 3, "sponsor": 2, "at": JAN15},
    {"type": "join", "member": 4, "sponsor": 1, "at": JAN15},
    {"type": "purchase", "order": "o1", "member": 4, "shop": "main", "amount": "100.00", "at": JAN15 + 1000},
    {"type": "purchase", "order": "o2", "member": 2, "shop": "main", "amount": "60.00", "at": FEB10},
    {"type": "refund", "order": "o1", "amount": "50.00", "at": FEB10 + 1000},
    {"type": "redeem", "member": 4, "points": "20.00", "ref": "r1", "at": FEB10 + 2000},
    {"type": "adjust", "member": 3, "points": "7.00", "actor": "ops", "reason": "goodwill", "at": FEB10 + 3000},
    {"type": "adjust", "member": 1, "points": "-1.00", "actor": "ops", "reason": "fix", "at": FEB10 + 4000},
    {"type": "refund", "order": "nope", "at": FEB10 + 5000},
]
A = two_tier("a", "0.10", "0.05", "100")
B = two_tier("b", "0.20", "0.10", "50")


def test_what_if_report_and_frames() -> None:
    w = upline.what_if(A, B, HISTORY, html=True)
    assert w.report["a"]["payout_ratio"] == "1.122727" and w.report["b"]["payout_ratio"] == "1.245455"
    assert w.json.endswith("}\n") and json.loads(w.json) == w.report
    assert w.html is not None and w.html.startswith("<!DOCTYPE html>") and w.html.count('<svg class="chart"') == 3

    sides = w.sides()
    assert list(sides.index) == ["a", "b"]
    assert sides.loc["a", "balance_total"] == D("109.50") and sides.loc["b", "balance_total"] == D("123.00")
    assert sides.loc["a", "issued_upline"] == D("21.00") and sides.loc["b", "removed_clawback"] == D("65.00")
    assert sides.loc["a", "payout_ratio"] == D("1.122727") and isinstance(sides.loc["a", "payout_ratio"], Decimal)
    assert (sides.loc["a", "applied"], sides.loc["a", "rejected"]) == (10, 1)

    periods = w.periods()
    assert list(periods.columns) == ["side", "period", "start", "purchased", "refunded", "paid", "clawed_back", "payout_ratio"]
    a = periods[periods.side == "a"]
    assert list(a.period) == ["2026-01", "2026-02"]
    assert list(a.payout_ratio) == [D("1.150000"), D("0.850000")]
    assert periods[periods.side == "b"].payout_ratio.iloc[1] == D("0.700000")

    census = w.census()
    assert census.to_dict() == {"a": {"bronze": 3, "silver": 1}, "b": {"bronze": 2, "silver": 2}}

    movers = w.movers()
    assert movers.to_dict("records") == [
        {"member": 1, "a": D("7.50"), "b": D("16.00"), "delta": D("8.50"), "direction": "gain"},
        {"member": 2, "a": D("65.00"), "b": D("70.00"), "delta": D("5.00"), "direction": "gain"}]


def test_side_a_is_the_engine_on_the_same_events() -> None:
    e = upline.Engine(A)
    e.apply_many(HISTORY)
    w = upline.what_if(A, A, HISTORY)
    assert w.report["a"]["digest"] == w.report["b"]["digest"] == e.digest()
    assert w.movers().empty and w.report["differences"]["tier_moves"] == 0
    assert upline.census_frame(e).to_dict("records") == [{"tier": "bronze", "members": 3}, {"tier": "silver", "members": 1}]


def test_events_from_a_file_and_as_text(tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in HISTORY) + "\n\n")
    by_path = upline.what_if(A, B, path, period="week", top=1)
    by_str_path = upline.what_if(A, B, str(path), period="week", top=1)
    by_text = upline.what_if(A, B, path.read_text(), period="week", top=1)
    assert by_path.json == by_str_path.json == by_text.json
    assert by_path.report["period"] == "week" and len(by_path.report["differences"]["gainers"]) == 1


def test_errors() -> None:
    with pytest.raises(ValueError, match="period: \"year\" is not day, week or month"):
        upline.what_if(A, B, HISTORY, period="year")
    with pytest.raises(ValueError, match="from: 99 is past the last event applied \\(11\\)"):
        upline.what_if(A, B, HISTORY, from_seq=99)
    with pytest.raises(ValueError, match="invalid_plan"):
        upline.what_if(A, {"name": "x"}, HISTORY)
    with pytest.raises(TypeError, match="events: expected"):
        upline.what_if(A, B, 42)


def monthly_history(months: int) -> list[dict]:
    """Member k joins under member 1 on the 1st of month k of 2026 and buys 10·k on the 15th."""
    import datetime

    events: list[dict] = []
    for k in range(1, months + 1):
        year, month = 2026 + (k - 1) // 12, (k - 1) % 12 + 1
        start = int(datetime.datetime(year, month, 1, tzinfo=datetime.timezone.utc).timestamp() * 1000)
        join: dict = {"type": "join", "member": k, "at": start}
        if k > 1:
            join["sponsor"] = 1
        events.append(join)
        events.append({"type": "purchase", "order": f"o{k}", "member": k, "shop": "main", "amount": f"{10 * k}.00",
                       "at": start + 14 * 86_400_000})
    return events


def test_what_if_forecast_on_the_page() -> None:
    events = monthly_history(8)
    w = upline.what_if(A, B, events, html=True, forecast=4)
    assert w.html is not None
    assert '<h2 id="forecast">Forecast: 4 months ahead</h2>' in w.html and w.html.count('<svg class="chart"') == 7
    projection = w.html[w.html.index('<table class="projection">'):]
    projection = projection[:projection.index("</table>")]
    assert [row[:16] for row in projection.split("<tr><th>")[2:]] == ["2026-08</th><td>", "2026-09</th><td>", "2026-10</th><td>",
                                                                      "2026-11</th><td>"]
    assert '<tr class="members-mape">' in w.html and '<tr class="ratio-mae">' in w.html
    # Never in the report: the same JSON with, without and with no page.
    assert w.json == upline.what_if(A, B, events).json == upline.what_if(A, B, events, html=True, forecast=0).json
    default = upline.what_if(A, B, events, html=True)
    assert default.html is not None and "Forecast: 6 months ahead" in default.html
    none = upline.what_if(A, B, events, html=True, forecast=0)
    assert none.html is not None and 'id="forecast"' not in none.html and none.html.count('<svg class="chart"') == 3
    # One complete month: too little history, on the page for both sides, no exception.
    short = upline.what_if(A, B, HISTORY, html=True, forecast=3)
    assert short.html is not None and short.html.count("too little history for a forecast: the history spans 1 complete month") == 2


def test_what_if_forecast_errors() -> None:
    for bad in (-1, 10_001, "3", 2.5, True):
        with pytest.raises(ValueError, match=r"forecast: .* is not an integer in 0\.\.10000"):
            upline.what_if(A, B, HISTORY, html=True, forecast=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="forecast: 3 needs html=True"):
        upline.what_if(A, B, HISTORY, forecast=3)
    # The compiled core checks it too.
    from upline import _upline

    text = "".join(json.dumps(e) + "\n" for e in HISTORY)
    with pytest.raises(ValueError, match="forecast: 10001 is more than 10000 periods"):
        _upline.what_if(json.dumps(A), json.dumps(B), text, "month", None, None, 10, True, 10_001)

# ---- statements (docs/SPEC.md §13) ------------------------------------------------------------

def test_statement_by_hand(tmp_path) -> None:
    # Bronze is breadth-first and 2 wide: 2 and 3 under 1, 4 under 2. Member 1 is paid 5.00 at
    # level 2 of o1 (100.00 × 0.05) and 6.00 at level 1 of o2 (60.00 × 0.10); half of o1 is
    # refunded (2.50 back) and ops takes 1.00 off. The last event is rejected (seq 11).
    with upline.Store(tmp_path / "data", A) as store:
        store.apply_many(HISTORY)
        whole = store.statement(1)
    assert whole is not None
    assert whole.json == (
        '{"member":1,"from":null,"until":null,"through_seq":11,"opening_balance":"0.00","credits":"11.00","debits":"3.50",'
        '"closing_balance":"7.50","lines":['
        f'{{"seq":5,"at":{JAN15 + 1000},"type":"credit","kind":"upline","points":"5.00","balance":"5.00","order":"o1","buyer":4,'
        '"shop":"main","amount":"100.00","tier":"bronze","level":2,"rate":"0.05","multiplier":"1"},'
        f'{{"seq":6,"at":{FEB10},"type":"credit","kind":"upline","points":"6.00","balance":"11.00","order":"o2","buyer":2,'
        '"shop":"main","amount":"60.00","tier":"bronze","level":1,"rate":"0.1","multiplier":"1"},'
        f'{{"seq":7,"at":{FEB10 + 1000},"type":"debit","kind":"clawback","points":"2.50","balance":"8.50","order":"o1","buyer":4,'
        '"refunded":"50.00"},'
        f'{{"seq":10,"at":{FEB10 + 4000},"type":"debit","kind":"adjust","points":"1.00","balance":"7.50","actor":"ops","reason":"fix"}}]}}')
    assert (whole.opening, whole.credits, whole.debits, whole.closing) == (D("0.00"), D("11.00"), D("3.50"), D("7.50"))

    # February, by a date: opens at 5.00; the same lines as the whole from seq 6 on.
    import datetime
    feb = upline.statement(tmp_path / "data", 1, from_=datetime.date(2026, 2, 10), until="2026-03-01")
    assert feb is not None
    assert feb.opening == D("5.00") and feb.closing == D("7.50")
    assert feb.lines == whole.lines[1:]
    assert feb.data["from"] == FEB10 and feb.data["until"] == FEB10 + 19 * 86_400_000
    # A bound between two milliseconds is rounded up: an event at FEB10 is before FEB10 + 0.5 ms.
    half_ms = datetime.datetime(2026, 2, 10, 0, 0, 0, 500, tzinfo=datetime.timezone.utc)
    after = upline.statement(tmp_path / "data", 1, from_=half_ms)
    assert after is not None and after.data["from"] == FEB10 + 1 and after.lines == whole.lines[2:]

    # The buyer's own points carry the rates that made them.
    own = upline.statement(tmp_path / "data", 4, until=FEB10)
    assert own is not None and own.lines[0]["kind"] == "own"
    assert {k: own.lines[0][k] for k in ("points", "amount", "ratio", "history", "accrual")} == \
           {"points": "100.00", "amount": "100.00", "ratio": "1", "history": "1", "accrual": "1"}

    frame = whole.frame()
    assert list(frame.columns[:6]) == ["seq", "at", "type", "kind", "points", "balance"]
    assert list(frame["kind"]) == ["upline", "upline", "clawback", "adjust"]
    assert frame["points"].tolist() == [D("5.00"), D("6.00"), D("2.50"), D("1.00")]
    assert frame.loc[0, "rate"] == D("0.05") and frame.loc[2, "refunded"] == D("50.00") and frame.loc[3, "actor"] == "ops"
    assert pd.isna(frame.loc[0, "ref"])


def test_statement_refusals(tmp_path) -> None:
    with upline.Store(tmp_path / "data", A) as store:
        store.apply_many(HISTORY)
    data = tmp_path / "data"
    assert upline.statement(data, 99) is None
    assert upline.statement(data, 0) is None
    assert upline.statement(data, 1, until=JAN15) is None  # not joined before JAN15
    with pytest.raises(ValueError, match=r'from: "2026-02-30" is not a time'):
        upline.statement(data, 1, from_="2026-02-30")
    with pytest.raises(ValueError, match=r"until: 1 is before from \(2\)"):
        upline.statement(data, 1, from_=2, until=1)
    with pytest.raises(ValueError, match=r"from_: -1 is before the epoch"):
        upline.statement(data, 1, from_=-1)
    with pytest.raises(TypeError, match="from_: .*naive datetime"):
        import datetime
        upline.statement(data, 1, from_=datetime.datetime(2026, 1, 1))
    with pytest.raises(TypeError, match="until: expected"):
        upline.statement(data, 1, until=1.5)
    with pytest.raises(upline.StoreError):
        upline.statement(tmp_path / "nothing-here", 1)
