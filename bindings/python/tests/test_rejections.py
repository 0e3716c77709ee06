"""Every rejection code raises its own Rejected subclass, and changes nothing."""

from __future__ import annotations

import pickle
from decimal import Decimal
from typing import Any, Callable

import pytest
from conftest import make_plan

import upline

DAY = 86_400_000
LATER = 60_000  # a minute after the setup's events: inside the one-day refund window


def engine() -> upline.Engine:
    e = upline.Engine(make_plan(refund_window_days=1, shops={"main": {"ratio": "1"}, "big": {"ratio": "1000"}}))
    e.join(1, at=0)
    e.join(2, sponsor=1, at=0)
    e.purchase("o-1", 2, "main", "100.00", at=0)
    e.redeem(2, "1.00", "r-1", at=0)
    return e


def incompatible(e: upline.Engine) -> Any:
    plan = e.plan
    plan["tiers"][0]["width"] = 4
    return e.change_plan(plan, actor="ops", at=LATER)


CASES: dict[str, Callable[[upline.Engine], Any]] = {
    "invalid_event": lambda e: e.join(0, sponsor=1, at=LATER),
    "invalid_plan": lambda e: e.change_plan({"name": "x", "shops": {}, "tiers": []}, actor="ops", at=LATER),
    "incompatible_plan": incompatible,
    "member_exists": lambda e: e.join(2, sponsor=1, at=LATER),
    "sponsor_required": lambda e: e.join(3, at=LATER),
    "unknown_sponsor": lambda e: e.join(3, sponsor=99, at=LATER),
    "duplicate_order": lambda e: e.purchase("o-1", 2, "main", "5.00", at=LATER),
    "unknown_member": lambda e: e.purchase("o-2", 99, "main", "5.00", at=LATER),
    "unknown_shop": lambda e: e.purchase("o-2", 2, "outlet", "5.00", at=LATER),
    "invalid_amount": lambda e: e.purchase("o-2", 2, "main", "5.001", at=LATER),
    "unknown_order": lambda e: e.refund("o-9", at=LATER),
    "refund_exceeds_order": lambda e: e.refund("o-1", "100.01", at=LATER),
    "refund_window_closed": lambda e: e.refund("o-1", at=DAY + 1),
    "duplicate_ref": lambda e: e.redeem(2, "1.00", "r-1", at=LATER),
    "insufficient_points": lambda e: e.redeem(2, "99.01", "r-2", at=LATER),
    "overflow": lambda e: e.purchase("o-2", 2, "big", "92233720368547758.07", at=LATER),
}


def camel(code: str) -> str:
    return "".join(part.capitalize() for part in code.split("_"))


def test_every_code_has_a_subclass_and_a_case() -> None:
    assert set(upline.CODES) == set(CASES)
    for code in upline.CODES:
        cls = getattr(upline, camel(code))
        assert issubclass(cls, upline.Rejected) and cls is not upline.Rejected
        assert cls.CODE == code
        assert type(upline.Rejected.for_code(code, "m")) is cls
    assert type(upline.Rejected.for_code("from_the_future", "m")) is upline.Rejected


@pytest.mark.parametrize("code", sorted(CASES))
def test_rejection_raises_its_subclass_and_changes_nothing(code: str) -> None:
    e = engine()
    def state() -> tuple[Any, ...]:
        dump = e.dump()
        del dump["rejected"]
        return (e.digest(), dump, e.clock, e.applied, e.order_count)

    before = state()
    rejected = e.rejected
    with pytest.raises(upline.Rejected) as info:
        CASES[code](e)
    assert type(info.value) is getattr(upline, camel(code))
    assert info.value.code == code
    assert info.value.message
    assert str(info.value) == f"{code}: {info.value.message}"
    assert state() == before
    assert e.rejected == rejected + 1


def test_messages_name_the_field_value_and_rule() -> None:
    e = engine()
    with pytest.raises(upline.InvalidAmount, match=r'amount: "5\.001" has more decimals than money_scale 2'):
        e.purchase("o-2", 2, "main", "5.001", at=LATER)
    with pytest.raises(upline.InsufficientPoints, match=r"points: 99\.01 exceeds member 2's balance 99\.00"):
        e.redeem(2, "99.01", "r-2", at=LATER)
    with pytest.raises(upline.InvalidEvent, match=r"member: 0 is out of range"):
        e.join(0, sponsor=1, at=LATER)
    with pytest.raises(upline.InvalidEvent, match=r"member: 9223372036854775808 is out of range 1\.\.9223372036854775807"):
        e.join(2**63, sponsor=1, at=LATER)
    with pytest.raises(upline.InvalidEvent, match=r"sponsor: -9223372036854775809 is out of range 1\.\.9223372036854775807"):
        e.join(3, sponsor=-(2**63) - 1, at=LATER)
    with pytest.raises(upline.InvalidEvent, match=r"at: 9223372036854775808 is out of range 0\.\.9223372036854775807"):
        e.suspend(2, at=2**63)
    with pytest.raises(upline.InvalidEvent, match=r"at: -1 is out of range 0\.\.9223372036854775807"):
        e.suspend(2, at=-1)
    with pytest.raises(upline.InvalidEvent, match=r"actor: must not be empty"):
        e.adjust(2, "1", "", "why", at=LATER)
    with pytest.raises(upline.InvalidPlan, match=r"plan: .*tiers"):
        e.change_plan({"name": "x", "shops": {}, "tiers": []}, actor="ops", at=LATER)
    # A plan event's structure comes before its plan's faults (the engine's order, every door's).
    with pytest.raises(upline.InvalidEvent, match=r"actor: must not be empty"):
        e.change_plan({"name": "x", "shops": {}, "tiers": []}, actor="", at=LATER)
    with pytest.raises(upline.InvalidEvent, match=r"at: -5 is out of range"):
        e.change_plan("{ nope", actor="ops", at=-5)


def test_dict_events_are_checked_like_replay_lines() -> None:
    e = engine()
    with pytest.raises(upline.InvalidEvent, match="type: required"):
        e.apply({"member": 3})
    with pytest.raises(upline.InvalidEvent, match="colour: unknown field"):
        e.apply({"type": "join", "member": 3, "sponsor": 1, "at": 0, "colour": "red"})
    with pytest.raises(upline.InvalidEvent, match="order: expected a string"):
        e.apply({"type": "purchase", "order": 5, "member": 2, "shop": "main", "amount": "1.00", "at": 0})
    with pytest.raises(upline.InvalidEvent, match="not valid JSON"):
        e.apply("{not json")
    with pytest.raises(upline.DuplicateOrder):
        e.apply({"type": "purchase", "order": "o-1", "member": 2, "shop": "main", "amount": Decimal("1"), "at": 0})
    assert e.apply('{"type":"suspend","member":2,"at":0}') == ()


def test_rejections_pickle() -> None:
    err = upline.Rejected.for_code("duplicate_order", 'order: "o-1" was already accepted')
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is upline.DuplicateOrder and back.code == err.code and back.message == err.message


def test_invalid_plan_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        upline.Engine(make_plan(tiers=[{"name": "bronze", "width": 1, "rates": []}]))
    assert issubclass(upline.InvalidPlan, ValueError)


def test_result_raise_for_rejection() -> None:
    e = engine()
    ok, bad = e.apply_many([{"type": "join", "member": 3, "sponsor": 1, "at": 0}, {"type": "join", "member": 3, "sponsor": 1, "at": 0}])
    assert ok.ok and not bad.ok
    ok.raise_for_rejection()
    with pytest.raises(upline.MemberExists):
        bad.raise_for_rejection()
