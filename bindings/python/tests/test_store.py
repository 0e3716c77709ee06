"""upline.Store: a durable Engine over a data directory — created, fed, closed, reopened, and
compared with an in-memory Engine fed the same events."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import upline

from conftest import make_plan, shop_events


def feed(target: upline.Engine) -> list[Any]:
    """The same calls on an Engine or a Store: typed, dict and JSON events, two rejections."""
    answers: list[Any] = []
    answers.append(target.join(1, at=1000))
    answers.append(target.join(2, sponsor=1, at=1001))
    answers.append(target.join(3, sponsor=1, at=1002))
    answers.append(target.purchase("o-1", member=2, shop="main", amount="100.00", at=2000))
    with pytest.raises(upline.DuplicateOrder) as dup:
        target.purchase("o-1", member=2, shop="main", amount="100.00", at=2001)
    answers.append(dup.value)
    answers.append(target.purchase("o-2", member=3, shop="main", amount=Decimal("80.50"), at=3000))
    answers.append(target.apply({"type": "refund", "order": "o-1", "amount": "20.00", "at": 4000}))
    answers.append(target.apply('{"type":"redeem","member":2,"points":"10.00","ref":"r-1","at":5000}'))
    with pytest.raises(upline.MemberExists) as exists:
        target.apply({"type": "join", "member": 2, "sponsor": 1, "at": 5001})
    answers.append(exists.value)
    answers.append(target.refund("o-2", at=6000))
    answers.append(target.adjust(3, "5.25", "ops", "goodwill", at=7000))
    return answers


def test_create_submit_reopen_equals_engine(tmp_path: Path, plan: dict[str, Any]) -> None:
    path = tmp_path / "shop"
    store = upline.Store(path, plan)
    answers = feed(store)
    engine = upline.Engine(plan)
    expected = feed(engine)

    # The same effects as the Engine's, each with the sequence number it was journaled under;
    # rejections are numbered too.
    for n, (got, want) in enumerate(zip(answers, expected), start=1):
        if isinstance(got, upline.Rejected):
            assert type(got) is type(want) and got.message == want.message
            assert got.seq == n and want.seq is None
        else:
            assert isinstance(got, upline.Submitted) and isinstance(got, tuple)
            assert got == want and got.seq == n
    assert store.last_seq == store.durable_seq == len(answers) == 11
    assert store.applied == engine.applied == 9 and store.rejected == engine.rejected == 2

    # The queries are Engine's.
    assert store.member(2) == engine.member(2)
    assert store.order("o-1") == engine.order("o-1")
    assert store.census() == engine.census()
    assert store.dump() == engine.dump()
    assert store.upline(3) == engine.upline(3) == [1]
    assert store.below(1) == engine.below(1)
    assert store.plan == engine.plan and store.tiers == engine.tiers and store.clock == engine.clock
    digest = store.digest()
    assert digest == engine.digest()
    store.close()
    assert store.closed

    with upline.Store(path) as again:
        assert again.digest() == digest
        assert again.last_seq == again.durable_seq == 11
        assert again.join(4, sponsor=2, at=8000).seq == 12
        engine.join(4, sponsor=2, at=8000)
        assert again.digest() == engine.digest()


def test_apply_many_and_a_long_stream(tmp_path: Path, plan: dict[str, Any]) -> None:
    events = shop_events(seed=11, members=60, purchases=400)
    engine = upline.Engine(plan)
    expected = engine.apply_many(events)
    with upline.Store(tmp_path / "many", plan, sync="group") as store:
        results = store.apply_many(events)
        assert [r.seq for r in results] == list(range(1, len(events) + 1))
        assert [(r.code, r.message, r.effects) for r in results] == [(r.code, r.message, r.effects) for r in expected]
        assert all(r.seq is None for r in expected)
    with upline.Store(tmp_path / "many") as store:
        assert store.digest() == engine.digest()
        assert store.dump_json() == engine.dump_json()


def test_plan_mismatch(tmp_path: Path, plan: dict[str, Any]) -> None:
    path = tmp_path / "plans"
    with upline.Store(path, plan) as store:
        store.join(1, at=0)
    # The same plan in another spelling (JSON text, keys in another order): the same plan.
    with upline.Store(path, json.dumps(dict(reversed(list(plan.items()))))) as store:
        assert store.last_seq == 1
    other = make_plan(name="other")
    with pytest.raises(upline.StoreError) as info:
        upline.Store(path, other)
    assert info.value.kind == "usage"
    assert 'plan: "other" version 1 differs from the plan the directory was created with, "test" version 1' in str(info.value)
    assert not isinstance(info.value, upline.Rejected)
    # After a plan event the plan to give is still the one the directory was created with.
    with upline.Store(path) as store:
        store.change_plan(other, "ops", at=10)
    with upline.Store(path, plan) as store:
        assert store.plan_name == "other" and store.last_seq == 2
    with pytest.raises(upline.StoreError, match="differs from the plan the directory was created with"):
        upline.Store(path, other)


def test_locked_directory(tmp_path: Path, plan: dict[str, Any]) -> None:
    path = tmp_path / "locked"
    first = upline.Store(path, plan)
    with pytest.raises(upline.StoreError) as info:
        upline.Store(path)
    assert info.value.kind == "busy"
    assert "in use" in info.value.message
    with pytest.raises(upline.StoreError):
        upline.Store(path, plan)
    first.close()
    with upline.Store(path) as second:
        assert second.last_seq == 0


def test_context_manager_commits_and_closes(tmp_path: Path, plan: dict[str, Any]) -> None:
    path = tmp_path / "ctx"
    with upline.Store(path, plan, sync="group") as store:
        store.join(1, at=0)
        store.join(2, sponsor=1, at=1)
        assert store.durable_seq == 0 and store.last_seq == 2
    assert store.closed
    assert "closed" in repr(store)
    with pytest.raises(upline.StoreError, match="the store is closed") as info:
        store.join(3, sponsor=1, at=2)
    assert info.value.kind == "usage"
    with pytest.raises(upline.StoreError, match="the store is closed"):
        store.digest()
    store.close()  # closing twice does nothing
    with upline.Store(path) as again:
        assert again.member_count == 2 and again.last_seq == 2


def test_group_mode_commit(tmp_path: Path, plan: dict[str, Any]) -> None:
    store = upline.Store(tmp_path / "group", plan, sync="group")
    store.join(1, at=0)
    store.purchase("o-1", member=1, shop="main", amount="10.00", at=1)
    assert (store.last_seq, store.durable_seq) == (2, 0)
    store.commit()
    assert (store.last_seq, store.durable_seq) == (2, 2)
    store.purchase("o-2", member=1, shop="main", amount="10.00", at=2)
    assert store.durable_seq == 2
    name = store.snapshot()  # commits first
    assert store.durable_seq == 3
    assert (tmp_path / "group" / name).is_file()
    digest = store.digest()
    store.close()
    with upline.Store(tmp_path / "group", sync="none") as again:
        assert again.digest() == digest and again.last_seq == 3


def test_snapshot_every_and_keep(tmp_path: Path, plan: dict[str, Any]) -> None:
    path = tmp_path / "snaps"
    with upline.Store(path, plan, snapshot_every=2, keep_snapshots=1) as store:
        store.join(1, at=0)
        for n in range(5):
            store.purchase(f"o-{n}", member=1, shop="main", amount="1.00", at=n)
        digest = store.digest()
    assert len(list(path.glob("snapshot-*.snap"))) == 1
    with upline.Store(path) as again:
        assert again.digest() == digest


def test_segments_and_background_snapshots(tmp_path: Path, plan: dict[str, Any]) -> None:
    path = tmp_path / "segments"
    with upline.Store(path, plan, sync="group", segment_bytes=4096, snapshot_bytes=8192) as store:
        store.join(1, at=0)
        for n in range(600):
            store.purchase(f"o-{n}", member=1, shop="main", amount="1.00", at=n)
            if n % 50 == 49:
                store.commit()
        digest = store.digest()
    assert len(list(path.glob("journal-*"))) >= 5
    assert len(list(path.glob("snapshot-*.snap"))) >= 1
    assert not list(path.glob("*.tmp"))
    with upline.Store(path) as again:
        assert again.digest() == digest and again.last_seq == 601
    with pytest.raises(ValueError, match="segment_bytes: 100 is out of range 4096"):
        upline.Store(tmp_path / "y", plan, segment_bytes=100)


def test_refusals(tmp_path: Path, plan: dict[str, Any]) -> None:
    with pytest.raises(upline.StoreError, match="no journal here") as info:
        upline.Store(tmp_path / "nothing")
    assert info.value.kind == "usage"
    assert not (tmp_path / "nothing").exists()
    with pytest.raises(upline.InvalidPlan, match="tiers"):
        upline.Store(tmp_path / "bad-plan", make_plan(tiers=[]))
    with pytest.raises(ValueError, match="sync: 'sometimes'"):
        upline.Store(tmp_path / "x", plan, sync="sometimes")
    with pytest.raises(ValueError, match="keep_snapshots: 0 is out of range"):
        upline.Store(tmp_path / "x", plan, keep_snapshots=0)
    with pytest.raises(TypeError, match="snapshot_every: expected an int"):
        upline.Store(tmp_path / "x", plan, snapshot_every=1.5)  # type: ignore[arg-type]
    assert not (tmp_path / "x").exists()
    # Types are checked before anything is journaled; values are the engine's, journaled.
    with upline.Store(tmp_path / "types", plan) as store:
        with pytest.raises(TypeError):
            store.join("1", at=0)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            store.purchase("o-1", member=1, shop="main", amount=1.5, at=0)  # type: ignore[arg-type]
        assert store.last_seq == 0
        with pytest.raises(upline.InvalidEvent) as rejected:
            store.join(0, at=0)
        assert rejected.value.seq == 1 and store.rejected == 1


def test_corrupt_directory(tmp_path: Path, plan: dict[str, Any]) -> None:
    path = tmp_path / "corrupt"
    with upline.Store(path, plan) as store:
        store.join(1, at=0)
    with open(path / "journal", "r+b") as f:
        f.write(b"garbage!")
    with pytest.raises(upline.StoreError) as info:
        upline.Store(path)
    assert info.value.kind == "corrupt"
    assert "journal" in str(info.value)
