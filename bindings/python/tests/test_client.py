"""upline.Client against a real `upline serve`: the same events through the client and through an
in-memory Engine give the same effects, rejections, queries and digest; batches; tokens; a clean
SIGTERM. The binary is $UPLINE_BIN (ctest python/client sets it); without it these tests skip."""

from __future__ import annotations

import datetime
import json
import os
import queue
import signal
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest

import upline
import upline.client

from conftest import shop_events

UPLINE_BIN = os.environ.get("UPLINE_BIN", "")
pytestmark = pytest.mark.skipif(not UPLINE_BIN or not os.access(UPLINE_BIN, os.X_OK),
                                reason="UPLINE_BIN (the upline binary with `serve`) is not set")

START_TIMEOUT = 20.0  # seconds for `listening on …`
STOP_TIMEOUT = 20.0   # seconds for SIGTERM to exit
USER_TOKEN = "user-token-0123456789abcdef"
ADMIN_TOKEN = "admin-token-0123456789abcdef"

#: A plan that makes every kind of effect: two tiers, a promotion, a reward.
PLAN: dict[str, Any] = {
    "name": "client-test",
    "shops": {"main": {"ratio": "1"}},
    "tiers": [
        {"name": "bronze", "width": 3, "rates": ["0.05", "0.03", "0.02"]},
        {"name": "silver", "width": 3, "upline_multiplier": "1.2", "rates": ["0.04", "0.03"],
         "promote_at": {"lifetime_points": "100", "direct_referrals": {"count": 2, "min_tier": "bronze"}},
         "benefits": {"discount": "0.05"}},
    ],
    "rewards": [{"id": "gift-50", "lifetime_points": "50"}],
}


class Server:
    """A running `upline serve` on 127.0.0.1, port 0."""

    def __init__(self, data: Path, plan_file: Path, *extra: str) -> None:
        self.data = data
        self.proc = subprocess.Popen(
            [UPLINE_BIN, "serve", "--data", str(data), "--plan", str(plan_file), "--listen", "127.0.0.1:0", "--sync", "group", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue[str] = queue.Queue()
        # The first line on a thread, so that a server that never prints cannot hang the test.
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline() if self.proc.stdout else ""), daemon=True).start()
        try:
            first = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            self.kill()
            raise AssertionError(f"upline serve printed nothing within {START_TIMEOUT} s") from None
        if not first.startswith("listening on http://"):
            self.kill()
            raise AssertionError(f"upline serve did not start: {first!r} {self.stderr()}")
        self.url = first.split(" ", 2)[2].strip()

    def stderr(self) -> str:
        try:
            _, err = self.proc.communicate(timeout=5)
            return err or ""
        except subprocess.TimeoutExpired:
            return ""

    def terminate(self) -> int:
        """SIGTERM and the exit code (bounded)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.communicate(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"upline serve did not exit within {STOP_TIMEOUT} s of SIGTERM") from None
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                pass


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    p = tmp_path / "plan.json"
    p.write_text(json.dumps(PLAN), encoding="utf-8")
    return p


@pytest.fixture
def server(tmp_path: Path, plan_file: Path) -> Iterator[Server]:
    # Short waits: a connection idle for 0.7 s is closed, a ?min_seq= read gives up after 0.5 s.
    s = Server(tmp_path / "data", plan_file, "--idle-timeout", "700", "--read-wait", "500")
    try:
        yield s
        assert s.terminate() == 0
    finally:
        s.kill()


def feed(target: Any) -> list[Any]:
    """The same calls on an Engine or a Client: every typed call, dict and JSON events, rejections.
    Returns the effects (or the exception) of each."""
    answers: list[Any] = []

    def call(f: Any, *args: Any, **kwargs: Any) -> None:
        try:
            answers.append(f(*args, **kwargs))
        except upline.Rejected as e:
            answers.append(e)

    call(target.join, 1, at=1000)
    call(target.join, 2, sponsor=1, at=1001)
    call(target.join, 3, sponsor=1, at=1002)
    call(target.join, 4, at=1003)                                   # sponsor_required
    call(target.join, 5, sponsor=99, at=1004)                       # unknown_sponsor
    call(target.purchase, "o-1", member=2, shop="main", amount="100.00", at=2000)
    call(target.purchase, "o-1", member=2, shop="main", amount="100.00", at=2001)   # duplicate_order
    call(target.purchase, "o/2 ü?&", member=3, shop="main", amount=Decimal("80.50"), at=3000)
    call(target.purchase, "o-3", member=1, shop="main", amount=60, at=3001)          # int amount; reward
    call(target.purchase, "o-4", member=9, shop="main", amount="1.00", at=3002)      # unknown_member
    call(target.purchase, "o-5", member=2, shop="nowhere", amount="1.00", at=3003)   # unknown_shop
    call(target.purchase, "o-6", member=2, shop="main", amount="1.005", at=3004)     # invalid_amount
    call(target.purchase, "..", member=2, shop="main", amount="1.00", at=3005)       # an id that is a dot segment
    call(target.apply, {"type": "refund", "order": "o-1", "amount": "20.00", "at": 4000})
    call(target.apply, '{"type":"redeem","member":2,"points":"10.00","ref":"r-1","at":5000}')
    call(target.redeem, 2, "10.00", "r-1", at=5001)                                  # duplicate_ref
    call(target.redeem, 3, "100000", "r-2", at=5002)                                 # insufficient_points
    call(target.apply, {"type": "join", "member": 2, "sponsor": 1, "at": 5003})      # member_exists
    call(target.apply, {"type": "join", "member": 6, "at": 5004, "extra": 1})        # invalid_event
    call(target.refund, "o/2 ü?&", at=6000)
    call(target.refund, "o/2 ü?&", at=6001)                                          # refund_exceeds_order
    call(target.refund, "nope", at=6002)                                             # unknown_order
    call(target.adjust, 3, "5.25", "ops", "goodwill", at=7000)
    call(target.suspend, 3, at=7001)
    call(target.reactivate, 3, at=7002)
    call(target.purchase, "o-7", member=1, shop="main", amount=Decimal("95"), at=8000)  # promotes 1 to silver
    call(target.change_plan, PLAN, "ops", at=9000)
    return answers


def test_same_as_engine(server: Server) -> None:
    engine = upline.Engine(PLAN)
    expected = feed(engine)
    with upline.Client(server.url, timeout=10) as client:
        got = feed(client)

        kinds = set()
        for n, (g, want) in enumerate(zip(got, expected, strict=True), start=1):
            if isinstance(want, upline.Rejected):
                assert type(g) is type(want), (n, g, want)
                assert g.code == want.code and g.message == want.message, n
                assert g.seq == n
                kinds.add(g.code)
            else:
                assert isinstance(g, upline.Submitted), (n, g)
                assert g == want and g.seq == n, (n, g, want)
                kinds.update(type(e).__name__ for e in g)
        assert {"Credit", "Debit", "Placed", "Promoted", "Reward"} <= kinds
        assert {"sponsor_required", "unknown_sponsor", "duplicate_order", "unknown_member", "unknown_shop", "invalid_amount",
                "duplicate_ref", "insufficient_points", "member_exists", "invalid_event", "refund_exceeds_order",
                "unknown_order"} <= kinds

        # Queries are the Engine's, referrals and benefits included.
        for m in (1, 2, 3):
            want_member = engine.member(m)
            assert want_member is not None
            assert client.member(m) == want_member
            assert client.member(m).benefits == want_member.benefits  # type: ignore[union-attr]  (not in ==)
        assert client.member(1).benefits == {"discount": "0.05"}  # type: ignore[union-attr]  (silver)
        assert client.member(1).referrals == 2  # type: ignore[union-attr]
        # Rank cards: the server's equal the engine's (the one writer, append_rank_card_json).
        for m in (1, 2, 3):
            assert client.rank_card(m) == engine.rank_card(m) is not None
        assert client.rank_card(99) is None and client.rank_card(0) is None
        # Statements: the server's equal the directory's (one function, member_statement), and they
        # explain every balance: no bounds give the engine's balance; two periods tile the whole.
        for m in (1, 2, 3):
            st = client.statement(m)
            assert st is not None and st.json == upline.statement(server.data, m).json  # type: ignore[union-attr]
            assert st.closing == engine.member(m).balance and st.opening == 0  # type: ignore[union-attr]
            early, late = client.statement(m, until=5000), client.statement(m, from_="@5000")
            assert early is not None and late is not None
            assert early.lines + late.lines == st.lines and early.closing == late.opening
        assert client.statement(1, from_=datetime.datetime(1970, 1, 1, 0, 0, 3, tzinfo=datetime.timezone.utc)).lines == \
               [line for line in client.statement(1).lines if line["at"] >= 3000]  # type: ignore[union-attr]
        assert client.statement(99) is None and client.statement(0) is None
        with pytest.raises(upline.ClientError) as e:
            client.statement(1, from_="2026-02-30")
        assert e.value.status == 400 and 'from: "2026-02-30" is not a time' in str(e.value)
        # The plan-derived queries.
        assert client.plan == engine.plan
        assert (client.plan_name, client.tiers, client.money_scale, client.points_scale) == \
               (engine.plan_name, engine.tiers, engine.money_scale, engine.points_scale)
        assert client.census() == engine.census() == {"bronze": 2, "silver": 1}
        assert list(client.census()) == list(engine.census())
        assert client.member(99) is None and client.member(0) is None and client.member(1 << 70) is None
        for o in ("o-1", "o/2 ü?&", "o-3", "o-7", ".."):
            assert client.order(o) == engine.order(o)
        assert client.order("o-1%") is None and client.order("") is None
        assert client.progress(2) is not None and client.progress(1) is None  # 1 is at the top tier

        assert client.digest() == engine.digest()
        assert client.dump_json() == engine.dump_json()
        assert client.dump() == engine.dump()
        assert (client.applied, client.rejected, client.member_count, client.order_count, client.clock) == \
               (engine.applied, engine.rejected, engine.member_count, engine.order_count, engine.clock)
        assert client.last_seq == len(expected)
        assert client.durable_seq == len(expected)  # every answer waited for its fsync
        assert client.member(2, min_seq=len(expected)) is not None

        # A plan event that appends a tier and changes benefits: the plan, tiers, census and
        # benefits follow it.
        grown = json.loads(json.dumps(PLAN))
        grown["name"] = "client-test-grown"
        grown["tiers"][0]["benefits"] = {"welcome": "yes", "discount": "0.01"}
        grown["tiers"].append({"name": "gold", "width": 2, "rates": ["0.01"], "promote_at": {"lifetime_points": "1000000"}})
        want_effects = engine.change_plan(grown, "ops", at=9500)
        assert client.change_plan(grown, "ops", at=9500) == want_effects
        assert client.plan == engine.plan and client.plan_name == "client-test-grown"
        assert client.tiers == engine.tiers == ("bronze", "silver", "gold")
        assert client.census() == engine.census() == {"bronze": 2, "silver": 1, "gold": 0}
        for m in (1, 2, 3):
            assert client.member(m) == engine.member(m)
            assert client.member(m).benefits == engine.member(m).benefits  # type: ignore[union-attr]
        assert client.member(2).benefits == {"discount": "0.01", "welcome": "yes"}  # type: ignore[union-attr]

        # Type errors are raised before anything is sent, as the Engine raises them.
        before = client.last_seq
        with pytest.raises(TypeError):
            client.purchase("o-f", member=2, shop="main", amount=1.5, at=9001)
        with pytest.raises(TypeError):
            client.join("7", sponsor=1, at=9001)
        with pytest.raises(TypeError):
            client.apply_many([{"type": "join", "member": 7, "sponsor": 1, "at": 9001}, {"type": "redeem", "points": 0.5}])
        assert client.last_seq == before


def test_apply_many_batches(server: Server) -> None:
    events = shop_events(seed=7, members=60, purchases=400)
    engine = upline.Engine(PLAN)
    expected = engine.apply_many(events)
    with upline.Client(server.url, timeout=10) as client:
        got = client.apply_many(events, batch_size=150)  # three requests
        assert len(got) == len(expected)
        for n, (g, want) in enumerate(zip(got, expected), start=1):
            assert (g.code, g.message, g.effects) == (want.code, want.message, want.effects)
            assert g.seq == n
        assert any(not r.ok for r in got) and any(r.ok for r in got)
        assert client.digest() == engine.digest()
        assert client.dump() == engine.dump()
        assert client.apply_many([]) == []


def test_tokens(tmp_path: Path, plan_file: Path) -> None:
    (tmp_path / "users").write_text(f"# users\n{USER_TOKEN}\n", encoding="utf-8")
    (tmp_path / "admins").write_text(f"{ADMIN_TOKEN}\n", encoding="utf-8")
    s = Server(tmp_path / "data", plan_file, "--token-file", str(tmp_path / "users"), "--admin-token-file", str(tmp_path / "admins"))
    try:
        with upline.Client(s.url, timeout=10) as anonymous:
            with pytest.raises(upline.ClientError) as e:
                anonymous.join(1, at=1000)
            assert e.value.status == 401 and e.value.code == "unauthorized"
            with pytest.raises(upline.ClientError) as e:
                anonymous.member(1)
            assert e.value.status == 401
        with upline.Client(s.url, token="not-a-known-token-0000", timeout=10) as stranger:
            with pytest.raises(upline.ClientError) as e:
                stranger.digest()
            assert e.value.status == 401 and e.value.code == "unauthorized"
        with upline.Client(s.url, token=USER_TOKEN, timeout=10) as user, upline.Client(s.url, token=ADMIN_TOKEN, timeout=10) as admin:
            assert user.join(1, at=1000).seq == 1
            assert user.join(2, sponsor=1, at=1001).seq == 2
            for call in (lambda c: c.adjust(2, "5.00", "ops", "why", at=1002), lambda c: c.suspend(2, at=1002),
                         lambda c: c.reactivate(2, at=1002), lambda c: c.change_plan(PLAN, "ops", at=1002)):
                with pytest.raises(upline.ClientError) as e:
                    call(user)
                assert e.value.status == 403 and e.value.code == "forbidden"
            # A batch with one admin event is refused whole.
            with pytest.raises(upline.ClientError) as e:
                user.apply_many([{"type": "join", "member": 3, "sponsor": 1, "at": 1003},
                                 {"type": "suspend", "member": 2, "at": 1003}])
            assert e.value.status == 403 and e.value.results == []
            assert user.last_seq == 2 and user.member(3) is None
            # The admin token does what a user token does, and the admin events.
            assert admin.adjust(2, "5.00", "ops", "why", at=1002).seq == 3
            assert admin.suspend(2, at=1003).seq == 4
            assert user.member(2).status == "suspended"  # type: ignore[union-attr]
            assert admin.member(2).balance == Decimal("5.00")  # type: ignore[union-attr]
        assert s.terminate() == 0
    finally:
        s.kill()


def test_reconnects_and_errors(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    client = upline.Client(server.url, timeout=10)
    try:
        client.join(1, at=1000)
        # The server closes a connection idle for 0.7 s: the next call opens a new one, for a
        # query and for an event alike (nothing had been sent on the closed one).
        time.sleep(1.2)
        assert client.member(1) is not None
        time.sleep(1.2)
        assert client.join(2, sponsor=1, at=1001).seq == 2

        # The same, when the close is not noticed before the request (it comes just after the
        # check): a GET is retried once on a new connection; an event POST is not resent.
        monkeypatch.setattr(upline.client, "_readable", lambda sock: False)
        time.sleep(1.2)
        assert client.member(2) is not None
        time.sleep(1.2)
        with pytest.raises(upline.ClientError) as e:
            client.join(3, sponsor=1, at=1002)
        assert e.value.status is None and e.value.code == "connection" and e.value.sent
        assert client.last_seq == 2 and client.member(3) is None  # it was not applied, nor resent
        monkeypatch.undo()

        with pytest.raises(upline.ClientError) as e:
            client.apply("")
        assert e.value.status == 400 and e.value.code == "bad_request"
        with pytest.raises(ValueError):
            client.apply_many(['{"type":"join","member":3,"sponsor":1,"at":1}', "  "])
        with pytest.raises(upline.ClientError) as e:
            client.status(min_seq=1000)  # never reached within the server's --read-wait
        assert e.value.status == 504 and e.value.code == "timeout"
    finally:
        client.close()
    with pytest.raises(upline.ClientError) as e:
        upline.Client("http://127.0.0.1:1", timeout=5).digest()
    assert e.value.status is None and e.value.code == "connection" and not e.value.sent
    with pytest.raises(ValueError):
        upline.Client("ftp://127.0.0.1:1")
