"""Amounts are exact: Decimal, str or int in; Decimal out; float refused with TypeError."""

from __future__ import annotations

from decimal import Decimal

import pytest

import upline
from upline import Credit, Debit

D = Decimal


@pytest.fixture
def engine(plan: dict) -> upline.Engine:
    e = upline.Engine(plan)
    e.join(1)
    return e


@pytest.mark.parametrize("amount", ["10.50", D("10.5"), D("10.500"), "010.50"])
def test_decimal_and_str_amounts(engine: upline.Engine, amount: object) -> None:
    assert engine.purchase("o", 1, "main", amount) == (Credit(1, D("10.50"), "own"),)


def test_int_and_exponent_amounts(engine: upline.Engine) -> None:
    assert engine.purchase("o-1", 1, "main", 10) == (Credit(1, D("10.00"), "own"),)
    assert engine.purchase("o-2", 1, "main", D("1E+1")) == (Credit(1, D("10.00"), "own"),)
    assert engine.redeem(1, 5, "r") == (Debit(1, D("5.00"), "redeem"),)
    assert engine.adjust(1, -3, "ops", "fix") == (Debit(1, D("3.00"), "adjust"),)
    assert engine.refund("o-1", 1) == (Debit(1, D("1.00"), "clawback"),)


def test_points_come_back_as_exact_decimals(engine: upline.Engine) -> None:
    (credit,) = engine.purchase("o", 1, "main", "0.10")
    assert isinstance(credit.points, Decimal) and credit.points == D("0.10") and str(credit.points) == "0.10"
    member = engine.member(1)
    assert isinstance(member.balance, Decimal) and member.balance == D("0.10") and member.lifetime == D("0.10")


@pytest.mark.parametrize(
    "call",
    [
        lambda e: e.purchase("o", 1, "main", 10.5),
        lambda e: e.purchase("o", 1, "main", 10.0),
        lambda e: e.refund("o", 1.0),
        lambda e: e.redeem(1, 0.5, "r"),
        lambda e: e.adjust(1, 2.0, "ops", "why"),
        lambda e: e.apply({"type": "purchase", "order": "o", "member": 1, "shop": "main", "amount": 10.5, "at": 0}),
        lambda e: e.apply({"type": "adjust", "member": 1, "points": 1.5, "actor": "ops", "reason": "x", "at": 0}),
        lambda e: e.change_plan({"name": "p", "shops": {"main": {"ratio": 1.0}}, "tiers": [{"name": "bronze", "width": 3, "rates": []}]}, "ops"),
    ],
)
def test_floats_are_refused(engine: upline.Engine, call) -> None:
    digest, applied, rejected = engine.digest(), engine.applied, engine.rejected
    with pytest.raises(TypeError, match="float"):
        call(engine)
    assert (engine.digest(), engine.applied, engine.rejected) == (digest, applied, rejected)


def test_a_float_anywhere_in_a_batch_applies_nothing(engine: upline.Engine) -> None:
    batch = [
        {"type": "purchase", "order": "o-1", "member": 1, "shop": "main", "amount": "1.00", "at": 0},
        {"type": "purchase", "order": "o-2", "member": 1, "shop": "main", "amount": 2.5, "at": 0},
    ]
    with pytest.raises(TypeError, match=r"events\[1\]\.amount"):
        engine.apply_many(batch)
    assert engine.order_count == 0 and engine.applied == 1


@pytest.mark.parametrize("amount", [True, None, [1], b"1.00"])
def test_other_types_are_refused(engine: upline.Engine, amount: object) -> None:
    with pytest.raises(TypeError):
        engine.purchase("o", 1, "main", amount)  # type: ignore[arg-type]


def test_wrong_python_types_in_typed_calls(engine: upline.Engine) -> None:
    with pytest.raises(TypeError, match="member: expected an int, got str"):
        engine.join("2", sponsor=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="order: expected a str"):
        engine.purchase(7, 1, "main", "1.00")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        engine.join(2, sponsor=1, at=1.5)  # type: ignore[arg-type]
    assert engine.rejected == 0


@pytest.mark.parametrize("amount", ["1.234", "abc", "1e3", ".5", "5.", "+5", D("NaN"), D("Infinity"), "0", "-1", D("-0.00")])
def test_bad_amount_values_are_invalid_amount(engine: upline.Engine, amount: object) -> None:
    with pytest.raises(upline.InvalidAmount):
        engine.purchase("o", 1, "main", amount)
