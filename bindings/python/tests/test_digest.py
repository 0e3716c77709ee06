"""The digest is a pure function of the plan and the accepted events."""

from __future__ import annotations

import re

from conftest import shop_events

import upline


def test_same_events_same_digest(two_tier_plan: dict) -> None:
    events = shop_events(21)
    a, b = upline.Engine(two_tier_plan), upline.Engine(two_tier_plan)
    a.apply_many(events)
    for e in events:
        try:
            b.apply(e)
        except upline.Rejected:
            pass
    assert re.fullmatch(r"[0-9a-f]{64}", a.digest())
    assert a.digest() == b.digest() == a.dump()["digest"]


def test_different_events_different_digest(plan: dict) -> None:
    a, b = upline.Engine(plan), upline.Engine(plan)
    a.apply_many(shop_events(1))
    b.apply_many(shop_events(2))
    assert a.digest() != b.digest()


def test_rejections_do_not_change_the_digest(plan: dict) -> None:
    engine = upline.Engine(plan)
    engine.join(1, at=0)
    digest = engine.digest()
    results = engine.apply_many([{"type": "join", "member": 1, "at": 99}, {"type": "redeem", "member": 1, "points": "1", "ref": "r", "at": 99}])
    assert not any(r.ok for r in results)
    assert engine.digest() == digest and engine.clock == 0


def test_empty_engines_differ_by_plan(plan: dict, two_tier_plan: dict) -> None:
    assert upline.Engine(plan).digest() == upline.Engine(dict(plan)).digest()
    assert upline.Engine(plan).digest() != upline.Engine(two_tier_plan).digest()
