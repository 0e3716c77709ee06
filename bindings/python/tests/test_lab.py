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
