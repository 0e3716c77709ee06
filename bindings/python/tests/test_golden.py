"""The binding reproduces the repository's golden replays (tests/golden): effects and state dump."""

from __future__ import annotations

import json

import pytest
from conftest import REPO

import upline

GOLDEN = sorted(p for p in (REPO / "tests" / "golden").iterdir() if p.is_dir()) if REPO is not None else []


@pytest.mark.skipif(REPO is None, reason="needs the repository's tests/golden")
@pytest.mark.parametrize("case", GOLDEN, ids=[p.name for p in GOLDEN])
def test_golden_replay(case) -> None:
    engine = upline.Engine(case / "plan.json")
    lines = [line for line in (case / "events.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    results = engine.apply_many(lines)
    expected = [json.loads(line) for line in (case / "effects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(results) == len(expected)
    for seq, (got, want) in enumerate(zip(results, expected), start=1):
        line = {"seq": seq, "status": got.code, "effects": [e.as_dict() for e in got.effects]}
        if not got.ok:
            line["message"] = got.message
        assert line == want
    assert engine.dump_json() == (case / "state.json").read_text(encoding="utf-8")
