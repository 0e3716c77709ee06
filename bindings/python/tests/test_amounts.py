"""Amounts are exact: Decimal, str or int in (Decimal and int as units, str as text); Decimal out;
float refused with TypeError."""

from __future__ import annotations

from decimal import Decimal

import pytest

import upline
from upline import Credit, Debit

D = Decimal


@pytest.fixture
def engine(plan: dict) -> upline.Engine:
    e = upline.Engine(plan)
    e.join(1, at=1_000)
    return e


@pytest.mark.parametrize("amount", ["10.50", D("10.5"), D("10.500"), "010.50"])
def test_decimal_and_str_amounts(engine: upline.Engine, amount: object) -> None:
    assert engine.purchase("o", 1, "main", amount, at=2_000) == (Credit(1, D("10.50"), "own"),)


def test_int_and_exponent_amounts(engine: upline.Engine) -> None:
    assert engine.purchase("o-1", 1, "main", 10, at=2_000) == (Credit(1, D("10.00"), "own"),)
    assert engine.purchase("o-2", 1, "main", D("1E+1"), at=3_000) == (Credit(1, D("10.00"), "own"),)
    assert engine.redeem(1, 5, "r", at=4_000) == (Debit(1, D("5.00"), "redeem"),)
    assert engine.adjust(1, -3, "ops", "fix", at=5_000) == (Debit(1, D("3.00"), "adjust"),)
    assert engine.refund("o-1", 1, at=6_000) == (Debit(1, D("1.00"), "clawback"),)


def test_points_come_back_as_exact_decimals(engine: upline.Engine) -> None:
    (credit,) = engine.purchase("o", 1, "main", "0.10", at=2_000)
    assert isinstance(credit.points, Decimal) and credit.points == D("0.10") and str(credit.points) == "0.10"
    member = engine.member(1)
    assert isinstance(member.balance, Decimal) and member.balance == D("0.10") and member.lifetime == D("0.10")


@pytest.mark.parametrize(
    "call",
    [
        lambda e: e.purchase("o", 1, "main", 10.5, at=2_000),
        lambda e: e.purchase("o", 1, "main", 10.0, at=2_000),
        lambda e: e.refund("o", 1.0, at=2_000),
        lambda e: e.redeem(1, 0.5, "r", at=2_000),
        lambda e: e.adjust(1, 2.0, "ops", "why", at=2_000),
        lambda e: e.apply({"type": "purchase", "order": "o", "member": 1, "shop": "main", "amount": 10.5, "at": 2_000}),
        lambda e: e.apply({"type": "adjust", "member": 1, "points": 1.5, "actor": "ops", "reason": "x", "at": 2_000}),
        lambda e: e.change_plan({"name": "p", "shops": {"main": {"ratio": 1.0}}, "tiers": [{"name": "bronze", "width": 3, "rates": []}]}, "ops",
                                at=2_000),
    ],
)
def test_floats_are_refused(engine: upline.Engine, call) -> None:
    digest, applied, rejected = engine.digest(), engine.applied, engine.rejected
    with pytest.raises(TypeError, match="float"):
        call(engine)
    assert (engine.digest(), engine.applied, engine.rejected) == (digest, applied, rejected)


def test_a_float_anywhere_in_a_batch_applies_nothing(engine: upline.Engine) -> None:
    batch = [
        {"type": "purchase", "order": "o-1", "member": 1, "shop": "main", "amount": "1.00", "at": 2_000},
        {"type": "purchase", "order": "o-2", "member": 1, "shop": "main", "amount": 2.5, "at": 3_000},
    ]
    with pytest.raises(TypeError, match=r"events\[1\]\.amount"):
        engine.apply_many(batch)
    assert engine.order_count == 0 and engine.applied == 1


@pytest.mark.parametrize("amount", [True, None, [1], b"1.00"])
def test_other_types_are_refused(engine: upline.Engine, amount: object) -> None:
    with pytest.raises(TypeError):
        engine.purchase("o", 1, "main", amount, at=2_000)  # type: ignore[arg-type]


def test_wrong_python_types_in_typed_calls(engine: upline.Engine) -> None:
    with pytest.raises(TypeError, match="member: expected an int, got str"):
        engine.join("2", sponsor=1, at=2_000)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="order: expected a str"):
        engine.purchase(7, 1, "main", "1.00", at=2_000)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        engine.join(2, sponsor=1, at=1.5)  # type: ignore[arg-type]
    assert engine.rejected == 0


@pytest.mark.parametrize("amount", ["1.234", "abc", "1e3", ".5", "5.", "+5", D("NaN"), D("Infinity"), "0", "-1", D("-0.00")])
def test_bad_amount_values_are_invalid_amount(engine: upline.Engine, amount: object) -> None:
    with pytest.raises(upline.InvalidAmount):
        engine.purchase("o", 1, "main", amount, at=2_000)


@pytest.mark.parametrize(
    ("amount", "sent"),
    [
        (D("12.50"), (1250, 2)),
        (D("10.500"), (10500, 3)),
        (D("-0.00"), (0, 2)),
        (D("1E+1"), (10, 0)),
        (D("0.000000000000000001"), (1, 18)),
        (12, (12, 0)),
        (-(2**63), (-(2**63), 0)),
        ("12.50", "12.50"),
        # Not representable as int64 units at a scale 0..18: plain text, for the engine to judge.
        (D("1E-19"), "0.0000000000000000001"),
        (D("92233720368547758.08"), "92233720368547758.08"),
        (D("1E+19"), "10000000000000000000"),
        (2**63, "9223372036854775808"),
        (D("NaN"), "NaN"),
        (D("-Infinity"), "-Infinity"),
    ],
)
def test_decimals_and_ints_travel_as_units(amount: object, sent: object) -> None:
    """What the facade hands the core (a private helper): exact (units, scale) where it can."""
    assert upline._amount(amount, "amount") == sent


def test_units_are_checked_against_the_plan_scale(engine: upline.Engine) -> None:
    with pytest.raises(upline.InvalidAmount, match=r'amount: "5\.001" has more decimals than money_scale 2'):
        engine.purchase("o", 1, "main", D("5.001"), at=2_000)
    with pytest.raises(upline.InvalidAmount, match=r'amount: "0\.0000000000000000001" has more decimals than money_scale 2'):
        engine.purchase("o", 1, "main", D("1E-19"), at=2_000)
    with pytest.raises(upline.InvalidAmount, match=r'amount: "92233720368547758\.08" is out of range at money_scale 2'):
        engine.purchase("o", 1, "main", D("92233720368547758.08"), at=2_000)
    with pytest.raises(upline.InvalidAmount, match=r'amount: "9223372036854775808" is out of range at money_scale 2'):
        engine.purchase("o", 1, "main", 2**63, at=2_000)
    with pytest.raises(upline.InvalidAmount, match=r'points: "0\.001" has more decimals than points_scale 2'):
        engine.adjust(1, D("0.001"), "ops", "why", at=2_000)
    assert engine.rejected == 5 and engine.order_count == 0
    # Trailing zeros are not decimals: 18 of them travel as units, 19 as text; both are 1.00.
    assert engine.purchase("o-1", 1, "main", D("1.000000000000000000"), at=2_000) == (Credit(1, D("1.00"), "own"),)
    assert engine.purchase("o-2", 1, "main", D("1.0000000000000000000"), at=3_000) == (Credit(1, D("1.00"), "own"),)
    assert engine.order("o-1").amount == engine.order("o-2").amount == D("1.00")
