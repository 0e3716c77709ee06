"""The worked examples of SPEC §11, through the Python facade."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import bronze, make_plan

import upline
from upline import Credit, Debit, Placed, Promoted

D = Decimal


def fourteen(compression: bool = False) -> upline.Engine:
    engine = upline.Engine(make_plan(compression=compression))
    engine.join(1, at=1)
    for m in range(2, 15):
        engine.join(m, sponsor=1, at=m)
    return engine


def test_breadth_first_placement_and_purchase() -> None:
    engine = upline.Engine(make_plan())
    assert engine.join(1, at=1) == (Placed(1, "bronze", None, 0),)
    placed = {1: (None, 0)}
    for m in range(2, 15):
        (effect,) = engine.join(m, sponsor=1, at=m)
        assert isinstance(effect, Placed)
        placed[m] = (effect.parent, effect.position)
    # Member k is node k-1: node n has parent (n-1)//3 and position (n-1)%3.
    for m in range(2, 15):
        n = m - 1
        assert placed[m] == ((n - 1) // 3 + 1, (n - 1) % 3)
    assert placed[13] == (4, 2) and placed[4] == (1, 2)

    assert engine.purchase("o-13", 13, "main", "100.00", at=100) == (
        Credit(13, D("100.00"), "own"),
        Credit(4, D("5.00"), "upline", "bronze", 1),
        Credit(1, D("3.00"), "upline", "bronze", 2),
    )
    assert placed[14] == (5, 0) and placed[5] == (2, 0) and placed[2] == (1, 0)
    assert engine.purchase("o-14", 14, "main", "100.00", at=200) == (
        Credit(14, D("100.00"), "own"),
        Credit(5, D("5.00"), "upline", "bronze", 1),
        Credit(2, D("3.00"), "upline", "bronze", 2),
        Credit(1, D("2.00"), "upline", "bronze", 3),
    )
    assert engine.upline(14) == [5, 2, 1]
    assert engine.upline(14, "bronze", max_levels=2) == [5, 2]


def test_suspended_ancestor_without_compression_uses_up_its_level() -> None:
    engine = fourteen(compression=False)
    assert engine.suspend(5, at=100) == ()
    assert engine.purchase("o-14", 14, "main", "100.00", at=200) == (
        Credit(14, D("100.00"), "own"),
        Credit(2, D("3.00"), "upline", "bronze", 2),
        Credit(1, D("2.00"), "upline", "bronze", 3),
    )
    assert engine.member(5).balance == D("0.00")


def test_suspended_ancestor_with_compression_is_skipped() -> None:
    engine = fourteen(compression=True)
    engine.suspend(5, at=100)
    assert engine.purchase("o-14", 14, "main", "100.00", at=200) == (
        Credit(14, D("100.00"), "own"),
        Credit(2, D("5.00"), "upline", "bronze", 1),
        Credit(1, D("3.00"), "upline", "bronze", 2),
    )


def test_rounding_once_half_to_even_from_the_rounded_amount() -> None:
    engine = upline.Engine(make_plan(shops={"main": {"ratio": "0.5"}}, history=[{"orders": 0, "multiplier": "1.1"}],
                                     tiers=[bronze(rates=["0.9"])]))
    engine.join(1, at=1)
    engine.join(2, sponsor=1, at=2)
    # 10.05 × 0.5 × 1.1 = 5.5275 → 5.53 (rounding after the ratio would give 5.52); 5.53 × 0.9 = 4.977 → 4.98.
    assert engine.purchase("o-1", 2, "main", "10.05", at=100) == (
        Credit(2, D("5.53"), "own"),
        Credit(1, D("4.98"), "upline", "bronze", 1),
    )


@pytest.mark.parametrize(("amount", "points"), [("0.125", "0.12"), ("0.135", "0.14"), ("0.145", "0.14"), ("0.115", "0.12")])
def test_ties_round_to_even(amount: str, points: str) -> None:
    engine = upline.Engine(make_plan(money_scale=3, tiers=[bronze(rates=[])]))
    engine.join(1, at=1)
    assert engine.purchase("o", 1, "main", amount, at=100) == (Credit(1, D(points), "own"),)


def test_upline_multiplier_of_a_silver_receiver() -> None:
    engine = upline.Engine(make_plan(tiers=[
        bronze(rates=["0.05"]),
        {"name": "silver", "width": 3, "upline_multiplier": "1.2", "rates": [], "promote_at": {"lifetime_points": "1000"}},
    ]))
    engine.join(1, at=1)
    assert engine.adjust(1, "1000", "ops", "seed", at=2) == (
        Credit(1, D("1000.00"), "adjust"),
        Promoted(1, "bronze", "silver"),
        Placed(1, "silver", None, 0),
    )
    engine.join(2, sponsor=1, at=3)
    # 100 × 0.05 × 1.2 = 6.00: the receiver's tier sets the multiplier.
    assert engine.purchase("o", 2, "main", "100.00", at=100) == (
        Credit(2, D("100.00"), "own"),
        Credit(1, D("6.00"), "upline", "bronze", 1),
    )


def test_partial_refunds_are_exact() -> None:
    engine = upline.Engine(make_plan(tiers=[bronze(rates=["0.05", "0.03"])]))
    engine.join(1, at=1)
    for m in (2, 3, 4, 5):
        engine.join(m, sponsor=1, at=m)
    assert engine.upline(5) == [2, 1]
    assert engine.purchase("o", 5, "main", "100.00", at=100) == (
        Credit(5, D("100.00"), "own"),
        Credit(2, D("5.00"), "upline", "bronze", 1),
        Credit(1, D("3.00"), "upline", "bronze", 2),
    )
    assert engine.refund("o", "12.50", at=200) == (Debit(5, D("12.50"), "clawback"), Debit(2, D("0.62"), "clawback"),
                                           Debit(1, D("0.38"), "clawback"))
    assert engine.refund("o", D("33.33"), at=300) == (Debit(5, D("33.33"), "clawback"), Debit(2, D("1.67"), "clawback"),
                                              Debit(1, D("0.99"), "clawback"))
    assert engine.order("o").refunded == D("45.83")
    assert engine.refund("o", at=400) == (Debit(5, D("54.17"), "clawback"), Debit(2, D("2.71"), "clawback"),
                                  Debit(1, D("1.63"), "clawback"))
    for m in (5, 2, 1):
        member = engine.member(m)
        assert member.balance == D("0.00") and member.lifetime == D("0.00")
        assert str(member.balance) == "0.00"
    assert engine.order("o") == upline.Order("o", 5, "main", D("100.00"), D("100.00"), 100)


def test_promotion_cascade_by_referrals() -> None:
    engine = upline.Engine(make_plan(tiers=[
        bronze(rates=["0.05"]),
        {"name": "silver", "width": 3, "rates": ["0.04"], "promote_at": {"direct_referrals": {"count": 2, "min_tier": "bronze"}}},
        {"name": "gold", "width": 3, "rates": ["0.03"], "promote_at": {"direct_referrals": {"count": 1, "min_tier": "silver"}}},
    ]))
    engine.join(1, at=1)
    engine.join(2, sponsor=1, at=2)
    assert engine.join(5, sponsor=1, at=5) == (
        Placed(5, "bronze", 1, 1),
        Promoted(1, "bronze", "silver"),
        Placed(1, "silver", None, 0),
    )
    engine.join(3, sponsor=2, at=6)
    assert engine.join(4, sponsor=2, at=7) == (
        Placed(4, "bronze", 2, 0),
        Promoted(2, "bronze", "silver"),
        Placed(2, "silver", 1, 0),
        Promoted(1, "silver", "gold"),
        Placed(1, "gold", None, 0),
    )
    assert engine.census() == {"bronze": 3, "silver": 1, "gold": 1}
    assert [n.tier for n in engine.member(1).nodes] == ["bronze", "silver", "gold"]


def test_under_sponsor_placement() -> None:
    engine = upline.Engine(make_plan(tiers=[bronze(width=2, fill="under_sponsor")]))
    engine.join(1, at=1)
    expected = {(2, 1): (1, 0), (3, 1): (1, 1), (4, 1): (2, 0), (5, 3): (3, 0), (6, 3): (3, 1), (7, 3): (5, 0),
                (8, 1): (2, 1), (9, 1): (4, 0), (10, 6): (6, 0), (11, 1): (4, 1), (12, 1): (8, 0)}
    for (member, sponsor), (parent, position) in expected.items():
        assert engine.join(member, sponsor=sponsor, at=member) == (Placed(member, "bronze", parent, position),)
