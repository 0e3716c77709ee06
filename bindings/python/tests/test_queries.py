"""member(), census(), dump(), columns() and friends: shapes and agreement."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import numpy as np
import pytest
from conftest import REPO, shop_events

import upline

D = Decimal
JOIN_ORDER = [10, 3, 7, 42, 5, 8, 1000, 2]


@pytest.fixture
def engine(two_tier_plan: dict) -> upline.Engine:
    e = upline.Engine(two_tier_plan)
    e.join(10, at=1)
    for at, m in enumerate(JOIN_ORDER[1:], start=2):
        e.join(m, sponsor=10 if m != 8 else 3, at=at)
    e.purchase("o-1", 3, "main", "100.00", at=10)
    e.purchase("o-2", 7, "main", "40.00", at=20)
    e.redeem(3, "5", "r-1", at=30)
    e.suspend(42, at=40)
    return e


def test_member_shape(engine: upline.Engine) -> None:
    m = engine.member(10)
    assert isinstance(m, upline.Member)
    assert [f.name for f in dataclasses.fields(m)] == [
        "id", "sponsor", "tier", "status", "balance", "lifetime", "orders", "referrals", "nodes", "rewards", "benefits"]
    assert m.id == 10 and m.sponsor is None and m.status == "active"
    # 10 has 6 direct referrals and 5.00 + 2.00 of upline credits: not yet 100 lifetime points.
    assert m.tier == "bronze" and m.referrals == 6 and m.balance == D("7.00") and m.lifetime == D("7.00")
    assert m.nodes == (upline.Node("bronze", None, 0),) and m.rewards == () and m.benefits == {}

    b = engine.member(3)
    # 3 has one referral (8): still bronze; 100.00 lifetime reached the 50-point reward.
    assert (b.sponsor, b.tier, b.orders, b.balance, b.lifetime, b.rewards) == (10, "bronze", 1, D("95.00"), D("100.00"), ("gift-50",))
    assert engine.member(42).status == "suspended"
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.balance = D(0)  # type: ignore[misc]


def test_member_with_promotion_rewards_and_benefits(engine: upline.Engine) -> None:
    engine.join(11, sponsor=3, at=50)
    engine.join(12, sponsor=3, at=60)
    m = engine.member(3)
    assert m.tier == "silver" and m.rewards == ("gift-50",) and m.benefits == {"discount": "0.05"}
    assert [n.tier for n in m.nodes] == ["bronze", "silver"]
    assert m.nodes[1] == upline.Node("silver", None, 0)
    assert hash(m) == hash(engine.member(3))


def test_unknown_members_are_none(engine: upline.Engine) -> None:
    assert engine.member(99) is None
    assert engine.member(0) is None and engine.member(-1) is None and engine.member(2**64) is None
    with pytest.raises(TypeError):
        engine.member("10")  # type: ignore[arg-type]
    assert engine.order("nope") is None
    assert engine.upline(99) == [] and engine.below(99) is None and engine.below(10, "silver") is None


def test_census(engine: upline.Engine) -> None:
    census = engine.census()
    assert census == {"bronze": 8, "silver": 0}
    assert list(census) == ["bronze", "silver"] == list(engine.tiers)
    engine.join(11, sponsor=3, at=50)
    engine.join(12, sponsor=3, at=60)
    assert engine.census() == {"bronze": 9, "silver": 1}


def test_dump_is_the_spec_state(engine: upline.Engine) -> None:
    dump = engine.dump()
    assert list(dump) == ["applied", "rejected", "digest", "members"]
    assert dump["applied"] == engine.applied and dump["rejected"] == engine.rejected == 0
    assert dump["digest"] == engine.digest()
    ids = [m["id"] for m in dump["members"]]
    assert ids == sorted(JOIN_ORDER)
    first = dump["members"][0]
    assert list(first) == ["id", "sponsor", "tier", "status", "balance", "lifetime", "orders", "nodes", "rewards"]
    for m in dump["members"]:
        member = engine.member(m["id"])
        assert m["balance"] == str(member.balance) and m["lifetime"] == str(member.lifetime)
        assert (m["sponsor"], m["tier"], m["status"], m["orders"], tuple(m["rewards"])) == (
            member.sponsor, member.tier, member.status, member.orders, member.rewards)
        assert [upline.Node(**n) for n in m["nodes"]] == list(member.nodes)
    assert json.loads(engine.dump_json()) == dump


def test_columns_agree_with_member(engine: upline.Engine) -> None:
    cols = engine.columns()
    assert set(cols) == {"id", "sponsor", "tier", "status", "balance", "lifetime", "orders"}
    assert {k: v.dtype for k, v in cols.items()} == {
        "id": np.int64, "sponsor": np.int64, "balance": np.int64, "lifetime": np.int64, "orders": np.int64,
        "tier": np.uint8, "status": np.uint8}
    assert all(isinstance(v, np.ndarray) and v.shape == (len(JOIN_ORDER),) for v in cols.values())
    assert cols["id"].tolist() == JOIN_ORDER
    scale = D(10) ** engine.points_scale
    for i, mid in enumerate(JOIN_ORDER):
        m = engine.member(mid)
        assert cols["sponsor"][i] == (m.sponsor or 0)
        assert engine.tiers[cols["tier"][i]] == m.tier
        assert cols["status"][i] == (1 if m.status == "suspended" else 0)
        assert D(int(cols["balance"][i])) / scale == m.balance
        assert D(int(cols["lifetime"][i])) / scale == m.lifetime
        assert cols["orders"][i] == m.orders


def test_columns_of_a_larger_shop(plan: dict) -> None:
    e = upline.Engine(plan)
    e.apply_many(shop_events(3))
    cols = e.columns()
    assert len(cols["id"]) == e.member_count
    assert int(cols["lifetime"].sum()) == sum(int(e.member(int(i)).lifetime * 100) for i in cols["id"])
    assert dict(zip(e.tiers, np.bincount(cols["tier"], minlength=len(e.tiers)).tolist())) == e.census()


def test_columns_of_an_empty_engine(plan: dict) -> None:
    cols = upline.Engine(plan).columns()
    assert all(len(v) == 0 for v in cols.values()) and cols["tier"].dtype == np.uint8


def test_matrix_queries(engine: upline.Engine) -> None:
    # Join order 10, 3, 7, 42, 5, 8, 1000, 2 → nodes 0..7; width 3: 5 (node 4) sits under 3 (node 1).
    assert engine.upline(42) == [10]
    assert engine.upline(5) == [3, 10]
    assert engine.upline(5, 0, max_levels=1) == [3]
    assert engine.upline(5, "bronze", max_levels=0) == []
    assert engine.below(10) == 7 and engine.below(3, "bronze") == 3
    with pytest.raises(ValueError, match="not a tier"):
        engine.upline(42, "gold")
    with pytest.raises(ValueError, match="out of range"):
        engine.below(42, 5)


def test_engine_properties(engine: upline.Engine) -> None:
    assert engine.plan_name == "test" and engine.tiers == ("bronze", "silver")
    assert engine.money_scale == 2 and engine.points_scale == 2
    assert engine.clock == 40 and engine.applied == 12 and engine.rejected == 0
    assert engine.member_count == 8 and engine.order_count == 2
    assert engine.order("o-1") == upline.Order("o-1", 3, "main", D("100.00"), D("0.00"), 10)
    plan = engine.plan
    assert plan["name"] == "test" and plan["tiers"][1]["upline_multiplier"] == "1.2"
    assert "members=8" in repr(engine)


def test_effects_are_small_immutable_values() -> None:
    c = upline.Credit(4, D("5.00"), "upline", "bronze", 1)
    assert repr(c) == "Credit(member=4, points=Decimal('5.00'), kind='upline', tier='bronze', level=1)"
    assert repr(upline.Credit(13, D("100.00"), "own")) == "Credit(member=13, points=Decimal('100.00'), kind='own')"
    assert repr(upline.Placed(1, "bronze", None, 0)) == "Placed(member=1, tier='bronze', parent=None, position=0)"
    assert c.as_dict() == {"type": "credit", "member": 4, "points": "5.00", "kind": "upline", "tier": "bronze", "level": 1}
    assert upline.Promoted(1, "bronze", "silver").as_dict() == {"type": "promoted", "member": 1, "from": "bronze", "to": "silver"}
    assert upline.Placed(1, "bronze", None, 0).as_dict() == {"type": "placed", "member": 1, "tier": "bronze", "parent": None, "position": 0}
    assert upline.Reward(1, "gift").as_dict() == {"type": "reward", "member": 1, "reward": "gift"}
    assert upline.Debit(1, D("1.00"), "redeem").as_dict() == {"type": "debit", "member": 1, "points": "1.00", "kind": "redeem"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.points = D(0)  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        c.extra = 1  # type: ignore[attr-defined]
    assert {c, upline.Credit(4, D("5.00"), "upline", "bronze", 1)} == {c}
    assert all(isinstance(x, upline.Effect) for x in (c, upline.Reward(1, "gift")))


def test_bundled_plan() -> None:
    plan = upline.four_tier_plan()
    assert [t["name"] for t in plan["tiers"]] == ["bronze", "silver", "gold", "platinum"]
    if REPO is not None:
        assert plan == json.loads((REPO / "examples" / "plans" / "four-tier.json").read_text())


def test_rank_card(engine: upline.Engine) -> None:
    # 3: 100.00 lifetime of silver's 100 (met), 1 direct referral (8) of the 2 it needs.
    assert engine.rank_card(3) == {
        "member": 3, "tier": "bronze", "status": "active", "benefits": {},
        "next": {"tier": "silver", "criteria": [
            {"criterion": "lifetime_points", "have": "100.00", "need": "100.00", "met": True},
            {"criterion": "direct_referrals", "min_tier": "bronze", "have": 1, "need": 2, "met": False}],
            "eligible": False, "benefits": {"discount": "0.05"}}}
    assert engine.rank_card(99) is None
    assert engine.rank_card(0) is None
    # Suspended, 3 gains its second referral: every criterion met, but no promotion until it is
    # reactivated (SPEC §8) — the card says it is eligible.
    engine.suspend(3, at=50)
    engine.join(11, sponsor=3, at=60)
    card = engine.rank_card(3)
    assert card["status"] == "suspended" and card["next"]["eligible"] is True
    assert all(c["met"] for c in card["next"]["criteria"])
    engine.reactivate(3, at=70)
    card = engine.rank_card(3)
    assert card["tier"] == "silver" and card["next"] is None and card["benefits"] == {"discount": "0.05"}
