"""Shared helpers for the upline Python tests: small plans and a seeded event stream."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import pytest

#: The repository root when the tests run from a checkout (golden files, example plans), else None.
REPO = Path(__file__).resolve().parents[3]
if not (REPO / "include" / "upline" / "engine.hpp").is_file():
    REPO = None  # type: ignore[assignment]

BASE_PLAN: dict[str, Any] = {
    "name": "test",
    "shops": {"main": {"ratio": "1"}},
    "tiers": [{"name": "bronze", "width": 3, "rates": ["0.05", "0.03", "0.02"]}],
}


def make_plan(**overrides: Any) -> dict[str, Any]:
    """BASE_PLAN (one shop `main` with ratio 1, scales 2, one bronze tier of width 3 paying
    5%/3%/2%) with top-level keys replaced."""
    plan = copy.deepcopy(BASE_PLAN)
    plan.update(copy.deepcopy(overrides))
    return plan


def bronze(width: int = 3, rates: list[str] | None = None, **more: Any) -> dict[str, Any]:
    return {"name": "bronze", "width": width, "rates": rates if rates is not None else ["0.05", "0.03", "0.02"], **more}


def shop_events(seed: int, members: int = 200, purchases: int = 1500) -> list[dict[str, Any]]:
    """A seeded stream with every kind of event, including some that must be rejected."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = [{"type": "join", "member": 1, "at": 0}]
    joined = [1]
    orders: list[str] = []
    at = 0
    for n in range(purchases):
        at += rng.randrange(0, 5000)
        if len(joined) < members and rng.random() < members / purchases:
            new = 1 + len(joined) * 3
            events.append({"type": "join", "member": new, "sponsor": rng.choice(joined), "at": at})
            joined.append(new)
        roll = rng.random()
        member = rng.choice(joined)
        if roll < 0.80:
            order = f"o-{n}" if rng.random() > 0.01 else (orders[-1] if orders else "o-x")  # some duplicates
            cents = rng.randrange(100, 20000)
            events.append({"type": "purchase", "order": order, "member": member, "shop": "main",
                           "amount": f"{cents // 100}.{cents % 100:02d}", "at": at})
            orders.append(order)
        elif roll < 0.88 and orders:
            refund: dict[str, Any] = {"type": "refund", "order": rng.choice(orders), "at": at}
            if rng.random() < 0.6:
                refund["amount"] = f"{rng.randrange(1, 60)}.{rng.randrange(100):02d}"
            events.append(refund)
        elif roll < 0.94:
            events.append({"type": "redeem", "member": member, "points": f"{rng.randrange(1, 30)}.00", "ref": f"r-{n}", "at": at})
        elif roll < 0.97:
            sign = "-" if rng.random() < 0.3 else ""
            events.append({"type": "adjust", "member": member, "points": f"{sign}{rng.randrange(1, 50)}.50",
                           "actor": "ops", "reason": "goodwill", "at": at})
        elif roll < 0.985:
            events.append({"type": "suspend", "member": member, "at": at})
        elif roll < 0.995:
            events.append({"type": "reactivate", "member": member, "at": at})
        else:
            events.append({"type": "purchase", "order": f"u-{n}", "member": 10**9 + n, "shop": "main", "amount": "1.00", "at": at})
    return events


@pytest.fixture
def plan() -> dict[str, Any]:
    return make_plan()


@pytest.fixture
def two_tier_plan() -> dict[str, Any]:
    """bronze (5%/3%/2%) and silver (4%/3%, upline multiplier 1.2) from 100 lifetime points and 2 direct referrals."""
    return make_plan(
        tiers=[
            bronze(),
            {"name": "silver", "width": 3, "upline_multiplier": "1.2", "rates": ["0.04", "0.03"],
             "promote_at": {"lifetime_points": "100", "direct_referrals": {"count": 2, "min_tier": "bronze"}},
             "benefits": {"discount": "0.05"}},
        ],
        rewards=[{"id": "gift-50", "lifetime_points": "50"}],
    )
