"""Type stubs of the private compiled module ``_upline`` (upline::Engine over flat Python values).

Every event call answers ``(code, message, effects)``: ``code`` is ``"ok"`` or a rejection code,
``message`` explains a rejection (empty when accepted), ``effects`` is a tuple of flat int tuples
``(type, member, points, kind, tier, level_or_position, parent, reward, from)`` — the fields of
upline::Effect: ``type`` 0 credit, 1 debit, 2 placed, 3 promoted, 4 reward; ``kind`` 0 none, 1 own,
2 upline, 3 adjust, 4 redeem, 5 clawback; ``tier``/``from`` index :attr:`Engine.tier_names`,
``reward`` indexes :attr:`Engine.reward_names`; ``points`` are units at ``points_scale``;
``parent`` 0 is none. An amount goes in as decimal text (``str``) or exact ``(units, scale)``
(scale 0..18). ``at`` is an int of milliseconds since the Unix epoch. Nothing here raises for a
rejected event; wrong Python types raise TypeError.
"""

from typing import Iterable, Union

import numpy as np
import numpy.typing as npt

#: The C++ library's version string (upline::version).
version: str

AmountIn = Union[str, tuple[int, int]]
#: (type, member, points, kind, tier, level_or_position, parent, reward, from)
FlatEffect = tuple[int, int, int, int, int, int, int, int, int]
Answer = tuple[str, str, tuple[FlatEffect, ...]]
#: A Store's answer: (code, message, effects, seq), seq the number the event was journaled under.
StoreAnswer = tuple[str, str, tuple[FlatEffect, ...], int]
#: (id, sponsor (0: none), tier index, status (0 active, 1 suspended), balance units, lifetime units,
#: orders, referrals, nodes (parent, position) flat per tier from 0, reward indices, benefits pairs)
FlatMember = tuple[int, int, int, int, int, int, int, int, tuple[int, ...], tuple[int, ...], tuple[tuple[str, str], ...]]
#: (id, member, shop, amount units, refunded units, at)
FlatOrder = tuple[str, int, str, int, int, int]

def codes() -> tuple[str, ...]:
    """Every rejection code the engine can answer, in numeric order ("ok" excluded)."""

def what_if(plan_a: str, plan_b: str, events: str, period: str = "month", from_seq: int | None = None, until: int | None = None,
            top: int = 10, html: bool = False, forecast: int = 0) -> tuple[str, str | None]:
    """What-if on a history: (report JSON text, HTML page or None); forecast: periods projected on the page."""
def bundled_plan(name: str) -> str | None:
    """A plan bundled with the library ("four-tier", "deep") as JSON text, or None."""
def statement_json(dir: str, member: int, from_: str | None = None, until: str | None = None) -> str | None:
    """A member's statement over [from_, until) from a data directory (docs/SPEC.md §13) as JSON text, or None."""

class Engine:
    """upline::Engine built from plan JSON text; ValueError "invalid_plan: …" names every fault.

    Calls are serialised by an internal mutex, so an Engine may be shared between threads.
    """

    def __init__(self, plan_json: str) -> None: ...
    def apply_json(self, event_json: str) -> Answer:
        """Applies one event given as JSON text (the specification's fields plus "type")."""
    def join(self, member: int, sponsor: int | None, at: int) -> Answer:
        """A join event."""
    def purchase(self, order: str, member: int, shop: str, amount: AmountIn, at: int) -> Answer:
        """A purchase."""
    def refund(self, order: str, amount: AmountIn | None, at: int) -> Answer:
        """A refund; ``amount`` None refunds the rest of the order."""
    def redeem(self, member: int, points: AmountIn, ref: str, at: int) -> Answer:
        """A redemption."""
    def adjust(self, member: int, points: AmountIn, actor: str, reason: str, at: int) -> Answer:
        """A signed manual adjustment."""
    def suspend(self, member: int, at: int) -> Answer:
        """Suspends a member."""
    def reactivate(self, member: int, at: int) -> Answer:
        """Reactivates a member."""
    def change_plan(self, plan_json: str, actor: str, at: int) -> Answer:
        """A plan event: the new plan as JSON text."""
    def apply_many(self, events: Iterable[str]) -> list[Answer]:
        """Applies events (JSON text) in order with the GIL released; one answer per event, a
        rejection does not stop the batch."""
    def member(self, member: int) -> FlatMember | None:
        """A member's state, or None if unknown."""
    def rank_card_json(self, member: int) -> str | None:
        """The member's rank card as JSON text, or None if unknown."""
    def order(self, order: str) -> FlatOrder | None:
        """An accepted order, or None if unknown."""
    def census(self) -> tuple[int, ...]:
        """Members per tier by current tier, indexed like tier_names."""
    def digest(self) -> str:
        """SHA-256 of the canonical state, 64 hex digits."""
    def dump_json(self) -> str:
        """The specification's §10 state dump as JSON text."""
    def plan_json(self) -> str:
        """The plan in force as canonical JSON text."""
    def upline(self, member: int, tier: int, max_levels: int | None = None) -> list[int]:
        """Ancestor ids of ``member`` in tier index ``tier``'s matrix, nearest first."""
    def below(self, member: int, tier: int) -> int | None:
        """Members below ``member`` in tier index ``tier``'s matrix, or None without a node there."""
    def columns(
        self,
    ) -> tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.uint8],
        npt.NDArray[np.uint8],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
    ]:
        """Member fields as NumPy arrays in join order: (id, sponsor, tier, status, balance,
        lifetime, orders); amounts in units of points_scale."""
    @property
    def clock(self) -> int: ...
    @property
    def applied(self) -> int: ...
    @property
    def rejected(self) -> int: ...
    @property
    def member_count(self) -> int: ...
    @property
    def order_count(self) -> int: ...
    @property
    def money_scale(self) -> int: ...
    @property
    def points_scale(self) -> int: ...
    @property
    def tier_names(self) -> tuple[str, ...]: ...
    @property
    def reward_names(self) -> tuple[str, ...]: ...
    @property
    def plan_name(self) -> str: ...

class StoreError(Exception):
    """upline::StoreError: ``kind`` is "io", "corrupt", "busy" or "usage"; str(e) is the message."""

    kind: str
    message: str

class Store:
    """upline::Store: DIR opened and recovered, or created with plan_json when it holds no journal
    yet (a plan given for an existing DIR must be the plan it was created with). ``sync`` is "every",
    "group" or "none". ValueError "invalid_plan: …" for a plan that breaks a rule, StoreError
    otherwise. The event calls and queries are Engine's; every event call answers
    (code, message, effects, seq)."""

    def __init__(
        self, dir: str, plan_json: str | None = None, sync: str = "every", snapshot_every: int = 0, keep_snapshots: int = 2
    ) -> None: ...
    def apply_json(self, event_json: str) -> StoreAnswer: ...
    def apply_many(self, events: Iterable[str]) -> list[StoreAnswer]: ...
    def join(self, member: int, sponsor: int | None, at: int) -> StoreAnswer: ...
    def purchase(self, order: str, member: int, shop: str, amount: AmountIn, at: int) -> StoreAnswer: ...
    def refund(self, order: str, amount: AmountIn | None, at: int) -> StoreAnswer: ...
    def redeem(self, member: int, points: AmountIn, ref: str, at: int) -> StoreAnswer: ...
    def adjust(self, member: int, points: AmountIn, actor: str, reason: str, at: int) -> StoreAnswer: ...
    def suspend(self, member: int, at: int) -> StoreAnswer: ...
    def reactivate(self, member: int, at: int) -> StoreAnswer: ...
    def change_plan(self, plan_json: str, actor: str, at: int) -> StoreAnswer: ...
    def commit(self) -> None:
        """Makes every submitted event durable."""
    def snapshot(self) -> str:
        """Commits, writes a snapshot, prunes old ones; returns its file name."""
    def close(self) -> None:
        """Commits and releases the directory."""
    # The queries are Engine's.
    member = Engine.member
    order = Engine.order
    census = Engine.census
    digest = Engine.digest
    dump_json = Engine.dump_json
    plan_json = Engine.plan_json
    upline = Engine.upline
    below = Engine.below
    columns = Engine.columns
    clock = Engine.clock
    applied = Engine.applied
    rejected = Engine.rejected
    member_count = Engine.member_count
    order_count = Engine.order_count
    money_scale = Engine.money_scale
    points_scale = Engine.points_scale
    tier_names = Engine.tier_names
    reward_names = Engine.reward_names
    plan_name = Engine.plan_name
    @property
    def closed(self) -> bool: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def durable_seq(self) -> int: ...
    @property
    def dir(self) -> str: ...
