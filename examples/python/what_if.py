#!/usr/bin/env python3
"""What if the plan were different? Runs one seeded shop under two plans and compares them.

The shop — members joining by referral, purchases in two shops, some refunds and redemptions — is
generated in Python from random.Random(seed), so the same seed always gives the same events. It
runs under the bundled four-tier plan (examples/plans/four-tier.json, compiled into the module)
and under a variant made in code (richer bronze rates, lower promotion thresholds), each in one
bulk call (Engine.apply_many, which reports rejections instead of raising). Then it prints how
the tier census and the points paid per tier differ. Last, one typed call shows `at`, which every
typed call requires (ms since the epoch or an aware datetime): a refund a month after opening.

    PYTHONPATH=build/release/bindings/python:bindings/python /usr/bin/python3 examples/python/what_if.py
    /usr/bin/python3 examples/python/what_if.py --seed 7 --members 5000 --purchases 50000   # once installed
"""

from __future__ import annotations

import argparse
import copy
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import numpy as np

import upline

OPENING = datetime(2026, 1, 1, tzinfo=timezone.utc)
# Event lines carry `at` as integer ms since the Unix epoch: 1_767_225_600_000, exactly (no float).
START = (OPENING - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)
STEP = 60_000  # one minute between events
CENT = Decimal("0.01")


def shop(seed: int, members: int, purchases: int) -> list[dict[str, Any]]:
    """The event stream: joins spread over the purchases, sponsors biased toward early members,
    heavy-tailed baskets, 2% of orders refunded ~1,000 purchases later (a third of them partly),
    and a redemption of 5.00 points per 100 purchases (rejected when the balance is short)."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    ids: list[int] = []
    pending: list[int] = []  # purchase numbers waiting for their refund
    bought = redeemed = 0

    def at() -> int:
        return START + len(events) * STEP

    while len(ids) < members or bought < purchases or pending:
        if len(ids) < members and (not ids or bought >= purchases or len(ids) * purchases <= bought * members):
            n = len(ids)
            ids.append(1000 + 7 * n)
            if n == 0:
                events.append({"type": "join", "member": ids[0], "at": at()})
            else:
                events.append({"type": "join", "member": ids[-1], "sponsor": ids[int(n * rng.random() ** 3)], "at": at()})
        elif pending and (bought >= purchases or pending[0] + 1000 <= bought):
            refund: dict[str, Any] = {"type": "refund", "order": f"o-{pending.pop(0)}", "at": at()}
            if rng.random() < 1 / 3:
                refund["amount"] = Decimal("1.00")
            events.append(refund)
        elif bought < purchases and redeemed * 100 < bought:
            redeemed += 1
            events.append({"type": "redeem", "member": rng.choice(ids), "points": Decimal("5.00"), "ref": f"r-{redeemed}", "at": at()})
        else:
            if rng.random() < 0.02:
                pending.append(bought)
            cents = rng.randrange(1000, 10000)
            if rng.random() < 1 / 8:
                cents *= rng.randrange(2, 10)
            events.append({"type": "purchase", "order": f"o-{bought}", "member": rng.choice(ids),
                           "shop": "outlet" if rng.random() < 0.2 else "main", "amount": Decimal(cents) / 100, "at": at()})
            bought += 1
    return events


def variant(plan: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The what-if plan, and what changed, in words."""
    v = copy.deepcopy(plan)
    v["name"] = "four-tier what-if"
    bronze, silver, gold, platinum = v["tiers"]
    bronze["rates"] = ["0.06", "0.04", "0.02"]
    silver["promote_at"]["lifetime_points"] = "600"
    gold["promote_at"]["lifetime_points"] = "3000"
    gold["promote_at"]["direct_referrals"]["count"] = 2
    platinum["promote_at"]["lifetime_points"] = "12000"
    return v, [
        "bronze pays 6%/4%/2% (was 5%/3%/2%)",
        "silver from 600 lifetime points (was 1000)",
        "gold from 3000 lifetime points and 2 silver referrals (was 5000 and 3)",
        "platinum from 12000 lifetime points (was 20000)",
    ]


@dataclass
class Run:
    """One plan's run of the shop, tallied from the effects."""

    name: str
    engine: upline.Engine
    own: Counter[str] = field(default_factory=Counter)  # by the buyer's tier when it bought
    upline: Counter[str] = field(default_factory=Counter)  # by the matrix paid through
    clawed: Decimal = Decimal(0)
    redeemed: Decimal = Decimal(0)
    spent: Decimal = Decimal(0)  # money, net of refunds
    promotions: int = 0
    rewards: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


def run(plan: dict[str, Any], events: list[dict[str, Any]]) -> Run:
    r = Run(plan["name"], upline.Engine(plan))
    results = r.engine.apply_many(events)  # bulk mode: rejections are reported, not raised
    tier_of: dict[int, str] = {}
    amount_of: dict[str, Decimal] = {}
    for event, result in zip(events, results):
        if not result.ok:
            r.rejected[result.code] += 1
            continue
        if event["type"] == "purchase":
            amount_of[event["order"]] = event["amount"]
            r.spent += event["amount"]
        elif event["type"] == "refund":
            back = event.get("amount", amount_of[event["order"]])
            amount_of[event["order"]] -= back
            r.spent -= back
        for e in result.effects:
            if isinstance(e, upline.Placed) and e.member not in tier_of:
                tier_of[e.member] = e.tier
            elif isinstance(e, upline.Promoted):
                tier_of[e.member] = e.to_tier
                r.promotions += 1
            elif isinstance(e, upline.Credit):
                if e.kind == "own":
                    r.own[tier_of[e.member]] += e.points
                elif e.kind == "upline":
                    r.upline[e.tier] += e.points
            elif isinstance(e, upline.Debit):
                if e.kind == "clawback":
                    r.clawed += e.points
                elif e.kind == "redeem":
                    r.redeemed += e.points
            elif isinstance(e, upline.Reward):
                r.rewards += 1
    return r


def mean_lifetime(engine: upline.Engine) -> dict[str, Decimal]:
    """Mean lifetime points per member of each tier, exactly, from the bulk columns."""
    cols = engine.columns()
    unit = Decimal(10) ** -engine.points_scale
    out = {}
    for t, name in enumerate(engine.tiers):
        mask = cols["tier"] == t
        n = int(mask.sum())
        total = int(cols["lifetime"][mask].sum(dtype=np.int64))
        out[name] = (Decimal(total) * unit / n if n else Decimal(0)).quantize(CENT)
    return out


def signed(d: Decimal | int) -> str:
    return f"{d:+}" if d else "0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--purchases", type=int, default=20000)
    args = parser.parse_args()

    events = shop(args.seed, args.members, args.purchases)
    base = upline.four_tier_plan()
    other, changes = variant(base)
    a, b = run(base, events), run(other, events)

    print(f"upline what-if — seed {args.seed}: {args.members} members, {args.purchases} purchases, {len(events)} events")
    print(f'  A  "{a.name}" (bundled: examples/plans/four-tier.json)')
    print(f'  B  "{b.name}":')
    for c in changes:
        print(f"       {c}")

    tiers = a.engine.tiers
    ca, cb = a.engine.census(), b.engine.census()
    la, lb = mean_lifetime(a.engine), mean_lifetime(b.engine)
    print("\ntier census (members by tier at the end; mean lifetime points)")
    print(f"  {'tier':<10} {'A':>8} {'B':>8} {'B-A':>8} {'lifetime A':>14} {'lifetime B':>14}")
    for t in tiers:
        print(f"  {t:<10} {ca[t]:>8} {cb[t]:>8} {signed(cb[t] - ca[t]):>8} {la[t]:>14} {lb[t]:>14}")

    print("\npayouts per tier (points: own by the buyer's tier, upline by the matrix paid through)")
    print(f"  {'tier':<10} {'own A':>13} {'own B':>13} {'upline A':>13} {'upline B':>13} {'B-A':>13}")
    zero = Decimal("0.00")
    for t in tiers:
        delta = (b.own[t] + b.upline[t]) - (a.own[t] + a.upline[t])
        print(f"  {t:<10} {a.own[t] or zero:>13} {b.own[t] or zero:>13} {a.upline[t] or zero:>13} {b.upline[t] or zero:>13} {signed(delta):>13}")
    issued_a = sum(a.own.values(), zero) + sum(a.upline.values(), zero)
    issued_b = sum(b.own.values(), zero) + sum(b.upline.values(), zero)
    print(f"  {'issued':<10} {issued_a:>27} {issued_b:>27} {signed(issued_b - issued_a):>13}")

    print()
    for label, fa, fb in [
        ("clawed back", a.clawed, b.clawed),
        ("redeemed", a.redeemed, b.redeemed),
        ("promotions", a.promotions, b.promotions),
        ("rewards", a.rewards, b.rewards),
    ]:
        print(f"  {label:<12} A {fa:>12}   B {fb:>12}   B-A {signed(fb - fa)}")
    for label, r in (("A", a), ("B", b)):
        ratio = ((sum(r.own.values(), zero) + sum(r.upline.values(), zero) - r.clawed) / r.spent).quantize(Decimal("0.0001"))
        rejected = ", ".join(f"{code} {n}" for code, n in sorted(r.rejected.items())) or "none"
        print(f"  {label}: payout ratio {ratio} points per money unit (net of refunds); rejected: {rejected}")
        print(f"     digest {r.engine.digest()}")

    # Typed calls take `at` as a required keyword: an int of ms since the epoch or an aware
    # datetime. The plan's 30-day refund window is measured on those times, so a refund 31 days
    # after opening finds the first order never refunded closed.
    refunded = {e["order"] for e in events if e["type"] == "refund"}
    first = next(e["order"] for e in events if e["type"] == "purchase" and e["order"] not in refunded)
    try:
        a.engine.refund(first, at=OPENING + timedelta(days=31))
        print(f"\nlate refund of {first}: accepted")
    except upline.Rejected as e:
        print(f"\nlate refund of {first} (A, 31 days after opening): {e.code}")


if __name__ == "__main__":
    main()
