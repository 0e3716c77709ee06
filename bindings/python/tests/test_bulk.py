"""apply_many: the same as one-by-one calls, reports instead of raising, and releases the GIL."""

from __future__ import annotations

import json
import sys
import threading
import time

import pytest
from conftest import shop_events

import upline


def one_by_one(engine: upline.Engine, events: list) -> list[tuple[str, str, tuple]]:
    out = []
    for event in events:
        try:
            out.append(("ok", "", engine.apply(event)))
        except upline.Rejected as e:
            out.append((e.code, e.message, ()))
    return out


def test_apply_many_equals_one_by_one(two_tier_plan: dict) -> None:
    events = shop_events(11)
    bulk, single = upline.Engine(two_tier_plan), upline.Engine(two_tier_plan)
    results = bulk.apply_many(events)
    assert all(isinstance(r, upline.Result) for r in results) and len(results) == len(events)
    assert [(r.code, r.message, r.effects) for r in results] == one_by_one(single, events)
    assert bulk.digest() == single.digest()
    assert bulk.dump_json() == single.dump_json()
    assert (bulk.applied, bulk.rejected) == (single.applied, single.rejected)
    codes = {r.code for r in results}
    # The stream exercises acceptance and several rejections; none of them raised.
    assert "ok" in codes and {"duplicate_order", "unknown_member", "insufficient_points"} <= codes
    assert bulk.rejected == sum(not r.ok for r in results) > 0


def test_apply_many_takes_json_text_dicts_and_iterables(plan: dict) -> None:
    events = shop_events(5, members=30, purchases=200)
    a, b = upline.Engine(plan), upline.Engine(plan)
    mixed = [json.dumps(e) if i % 2 else e for i, e in enumerate(events)]
    ra = a.apply_many(mixed)
    rb = b.apply_many(e for e in events)  # a generator
    assert ra == rb and a.digest() == b.digest()
    assert a.apply_many([]) == []


def test_apply_many_reports_structural_faults(plan: dict) -> None:
    engine = upline.Engine(plan)
    results = engine.apply_many(['{"type":"join","member":1,"at":0}', "not json", {"type": "teleport"}, {"type": "join", "member": 1, "at": 0}])
    assert [r.code for r in results] == ["ok", "invalid_event", "invalid_event", "member_exists"]
    assert "not an event type" in results[2].message and results[3].effects == ()
    assert engine.applied == 1 and engine.rejected == 3


def test_apply_many_refuses_a_single_event(plan: dict) -> None:
    engine = upline.Engine(plan)
    with pytest.raises(TypeError):
        engine.apply_many({"type": "join", "member": 1, "at": 0})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        engine.apply_many('{"type":"join","member":1,"at":0}')  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"events\[1\]"):
        engine.apply_many([{"type": "join", "member": 1, "at": 0}, 42])  # type: ignore[list-item]
    assert engine.applied == 0


def test_apply_many_releases_the_gil(plan: dict) -> None:
    """A second Python thread runs while apply_many works.

    The switch interval is raised so that the interpreter never takes the GIL from a thread on its
    own: the spinner can then only run while the main thread gives the GIL away — in apply_many, or
    in the join at the end, by which time the phase is over. No timing is asserted.
    """
    engine = upline.Engine(plan)
    batch = [json.dumps({"type": "join", "member": 1, "at": 0})]
    batch += [json.dumps({"type": "join", "member": m, "sponsor": 1, "at": 0}) for m in range(2, 2001)]
    batch += [json.dumps({"type": "purchase", "order": f"o-{i}", "member": 1 + i % 2000, "shop": "main", "amount": "10.00", "at": i})
              for i in range(40_000)]
    phase = [0]  # 0: not started, 1: apply_many running, 2: over
    progress = [0]
    go = threading.Event()

    def spin() -> None:
        go.wait()
        while phase[0] != 2:
            if phase[0] == 1:
                progress[0] += 1
            time.sleep(0.0005)  # hand the GIL back, so the main thread gets it as soon as it asks

    old = sys.getswitchinterval()
    sys.setswitchinterval(60.0)
    spinner = threading.Thread(target=spin)
    try:
        spinner.start()
        go.set()  # the spinner now waits for the GIL, which only apply_many will release
        phase[0] = 1
        results = engine.apply_many(batch)
        phase[0] = 2
    finally:
        phase[0] = 2
        sys.setswitchinterval(old)
        spinner.join()
    assert all(r.ok for r in results)
    assert progress[0] > 0


def test_engine_is_safe_to_share_between_threads(plan: dict) -> None:
    """Queries from other threads wait for a running batch instead of racing it."""
    engine = upline.Engine(plan)
    engine.join(1, at=0)
    batches = [[{"type": "purchase", "order": f"t{t}-{i}", "member": 1, "shop": "main", "amount": "1.00", "at": 0} for i in range(3000)]
               for t in range(4)]
    seen: list[int] = []

    def work(batch: list) -> None:
        engine.apply_many(batch)
        seen.append(engine.order_count)

    threads = [threading.Thread(target=work, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert engine.order_count == 12000 and engine.member(1).balance == 12000
    assert sorted(seen)[-1] == 12000
