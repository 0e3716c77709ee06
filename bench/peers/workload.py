#!/usr/bin/python3
"""A small deterministic workload for the SQL peers' equality tests (SPEC §10 event lines).

    workload.py --plan PLAN.json [--members 300] [--purchases 4000] [--seed 1] > EVENTS.jsonl

Members join by referral (sponsors skewed towards early members, so that promotions by
direct_referrals happen), purchases (skewed buyers, both shops, some under min_basket), refunds
(partial, the rest, too large, unknown orders, some after the refund window), redemptions
(ordinary, insufficient_points, duplicate refs); with --suspends, suspensions and
reactivations (compression, §8 on reactivation). Amounts are written at the plan's scales.
"""
import argparse
import json
import random
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plan", required=True)
    ap.add_argument("--members", type=int, default=300)
    ap.add_argument("--purchases", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--suspends", action="store_true", help="also suspend and reactivate members")
    a = ap.parse_args()
    plan = json.load(open(a.plan))
    ms = plan.get("money_scale", 2)
    ps = plan.get("points_scale", 2)
    shops = sorted(plan["shops"])
    rng = random.Random(a.seed)

    def dec(units, scale):
        s = str(units)
        if scale == 0:
            return s
        s = s.rjust(scale + 1, "0")
        return s[:-scale] + "." + s[-scale:]

    out = []
    at = 1_700_000_000_000
    joined = [1]
    out.append({"type": "join", "member": 1, "at": at})
    orders = []  # (order id, amount units, refunded units)
    refs = []
    suspended = []
    n_purchases = 0
    next_member = 2
    while n_purchases < a.purchases or next_member <= a.members:
        at += rng.randrange(1, 120_000)
        if rng.random() < 0.002:
            at += 40 * 86_400_000  # past the refund window of earlier orders
        if rng.random() < 0.02:
            at -= 3_600_000  # an event from the past: applied at the engine clock
        r = rng.random()
        left_j = a.members + 1 - next_member
        left_p = a.purchases - n_purchases
        if left_j > 0 and (left_p == 0 or r < left_j / (left_j + left_p)):
            sponsor = joined[int(len(joined) * rng.random() ** 3)]
            out.append({"type": "join", "member": next_member, "sponsor": sponsor, "at": at})
            joined.append(next_member)
            next_member += 1
            if rng.random() < 0.01:  # an existing member joins again: member_exists
                out.append({"type": "join", "member": rng.choice(joined), "sponsor": 1, "at": at})
            continue
        if a.suspends and rng.random() < 0.01:  # suspend a member, or reactivate a suspended one
            if suspended and rng.random() < 0.5:
                m = suspended.pop(rng.randrange(len(suspended)))
                out.append({"type": "reactivate", "member": m, "at": at})
            else:
                m = joined[int(len(joined) * rng.random() ** 2)]
                out.append({"type": "suspend", "member": m, "at": at})
                if m not in suspended:
                    suspended.append(m)
            continue
        buyer = joined[int(len(joined) * rng.random() ** 2)]
        amount = rng.randrange(1, 60_000) * 10 ** ms // 100  # 0.01 .. 600.00 money
        if amount == 0:
            amount = 1
        oid = "o-%d" % n_purchases
        shop = shops[0] if rng.random() < 0.8 else rng.choice(shops)
        out.append({"type": "purchase", "order": oid, "member": buyer, "shop": shop,
                     "amount": dec(amount, ms), "at": at})
        orders.append([oid, amount, 0])
        n_purchases += 1
        x = rng.random()
        if x < 0.10 and orders:  # a refund of a recent or older order
            o = orders[-1 - int(min(len(orders) - 1, rng.expovariate(1 / 30)))]
            left = o[1] - o[2]
            y = rng.random()
            if y < 0.4 and left > 1:
                part = rng.randrange(1, left)
                out.append({"type": "refund", "order": o[0], "amount": dec(part, ms), "at": at})
                o[2] += part
            elif y < 0.8:
                out.append({"type": "refund", "order": o[0], "at": at})
                o[2] = o[1]
            elif y < 0.9:
                out.append({"type": "refund", "order": o[0], "amount": dec(left + 1, ms), "at": at})
            else:
                out.append({"type": "refund", "order": "nope-%d" % n_purchases, "at": at})
        elif x < 0.16:
            m = rng.choice(joined)
            ref = "r-%d" % len(refs)
            y = rng.random()
            if y < 0.1 and refs:
                ref = rng.choice(refs)  # duplicate_ref
            pts = rng.randrange(1, 300 * 10 ** ps) if y < 0.8 else rng.randrange(10 ** 6, 10 ** 9) * 10 ** ps
            out.append({"type": "redeem", "member": m, "points": dec(pts, ps), "ref": ref, "at": at})
            refs.append(ref)
    w = sys.stdout.write
    for e in out:
        w(json.dumps(e, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
