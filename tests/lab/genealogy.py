#!/usr/bin/python3
"""tests/lab/genealogy.py UPLINE — `upline genealogy` against what is computed here from other
sources: the parents from `upline dump` (each member's sponsor and its node in each matrix), the
volumes from the events file (purchases minus refunds), downline sizes and legs from those parents;
the GraphML parsed as XML and the DOT's edges counted; --root/--depth limits; usage errors.
"""
import json
import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from decimal import Decimal

UPLINE = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from process_check import check, finish, make_run  # noqa: E402

run = make_run(UPLINE)


def main():
    with tempfile.TemporaryDirectory() as work:
        events = os.path.join(work, "events.jsonl")
        run("generate", "--members", "3000", "--purchases", "40000", "--seed", "3", "--interleave", "--out", events)
        data = os.path.join(work, "data")
        run("apply", "--data", data, "--plan", "four-tier", "--events", events, "--sync", "none")
        dump_path = os.path.join(work, "dump.json")
        run("dump", "--data", data, "--dump", dump_path)
        lines = open(dump_path).read().splitlines()
        members = [json.loads(l.rstrip(",")) for l in lines[1:-1]]

        # Volumes from the events: purchases, minus refunds (the rest of the order without an amount).
        own, order_of, left = defaultdict(Decimal), {}, {}
        for line in open(events):
            e = json.loads(line)
            if e["type"] == "purchase":
                order_of[e["order"]] = e["member"]
                left[e["order"]] = Decimal(e["amount"])
                own[e["member"]] += Decimal(e["amount"])
            elif e["type"] == "refund":
                amount = Decimal(e["amount"]) if e.get("amount") is not None else left[e["order"]]
                left[e["order"]] -= amount
                own[order_of[e["order"]]] -= amount

        def expect(tree):
            if tree == "sponsor":
                parent = {m["id"]: m["sponsor"] for m in members}
            else:
                parent = {m["id"]: n["parent"] for m in members for n in m["nodes"] if n["tier"] == tree}
            children = defaultdict(list)
            for c, p in parent.items():
                if p is not None:
                    children[p].append(c)
            size, vol = {}, {}
            order = sorted(parent, key=lambda x: depth_of(x, parent), reverse=True)
            for m in order:
                size[m] = 1 + sum(size[c] for c in children[m])
                vol[m] = own[m] + sum(vol[c] for c in children[m])
            return parent, children, size, vol

        depth_cache = {}

        def depth_of(m, parent):
            d, x = 0, m
            while parent[x] is not None:
                x, d = parent[x], d + 1
            return d

        for tree in ("sponsor", "bronze", "silver"):
            g = json.loads(run("genealogy", "--data", data, "--tier", tree, "--format", "json").stdout)
            parent, children, size, vol = expect(tree)
            got = {n["member"]: n for n in g["members"]}
            check(set(got) == set(parent), f"{tree}: every member of the tree, once ({len(got)} against {len(parent)})")
            check(len(g["members"]) == len(got), f"{tree}: no member twice")
            for m, n in got.items():
                if n["parent"] != parent[m] or n["downline"] != size[m] - 1 or Decimal(n["volume"]) != own[m] or n["depth"] != depth_of(m, parent):
                    check(False, f"{tree}: member {m}: {n} against parent {parent[m]}, downline {size[m] - 1}, volume {own[m]}")
                    break
                legs = [(l["member"], l["members"], Decimal(l["volume"])) for l in n["legs"]]
                if sorted(legs) != sorted((c, size[c], vol[c]) for c in children[m]):
                    check(False, f"{tree}: member {m}: legs {legs}")
                    break
            # Breadth-first: depths never go down.
            depths = [n["depth"] for n in g["members"]]
            check(depths == sorted(depths), f"{tree}: breadth-first order")

            xml = run("genealogy", "--data", data, "--tier", tree, "--format", "graphml").stdout
            root = ET.fromstring(xml)
            ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
            check(len(root.findall(".//g:node", ns)) == len(parent), f"{tree}: GraphML nodes")
            check(len(root.findall(".//g:edge", ns)) == len(parent) - 1, f"{tree}: GraphML edges")
            dot = run("genealogy", "--data", data, "--tier", tree, "--format", "dot").stdout
            check(dot.startswith("digraph G {") and dot.count("->") == len(parent) - 1, f"{tree}: DOT edges")

        # A root and a depth: the root's subtree, N levels of it, counts still whole.
        parent, children, size, vol = expect("sponsor")
        some = max(parent, key=lambda m: (size[m] if parent[m] is not None else 0, -m))
        g = json.loads(run("genealogy", "--data", data, "--root", str(some), "--depth", "2", "--format", "json").stdout)
        check(g["root"] == some and g["members"][0]["downline"] == size[some] - 1, "root given; its downline whole")
        within = {some} | set(children[some]) | {g2 for c in children[some] for g2 in children[c]}
        check({n["member"] for n in g["members"]} == within, "depth 2: the root, its children and grandchildren")

        for args, message in [
            (["--tier", "diamond", "--format", "json"], '--tier: "diamond" is not sponsor or a tier of the plan in force'),
            (["--root", "999999", "--format", "json"], "--root: member 999999 is unknown"),
            (["--format", "svg"], '--format: "svg" is not dot, graphml or json'),
            (["--depth", "-1", "--format", "json"], "--depth"),
        ]:
            p = run("genealogy", "--data", data, *args, rc=2)
            check(message in p.stderr and p.stderr.startswith("upline genealogy: "), f"{args}: {p.stderr!r}")
        p = run("genealogy", "--data", os.path.join(work, "none"), "--format", "json", rc=2)
        check("holds no data directory" in p.stderr, p.stderr)

    return finish("genealogy")


if __name__ == "__main__":
    sys.exit(main())
