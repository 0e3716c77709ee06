"""Type stubs of the private compiled module ``_upline`` (upline::Engine over plain Python values).

Every event call answers ``(code, message, effects)``: ``code`` is ``"ok"`` or a rejection code,
``message`` explains a rejection (empty when accepted), ``effects`` is a list of dicts with the
specification's §9 keys and points as decimal strings. Nothing here raises for a rejected event.
"""

from typing import Any, Iterable, Mapping

import numpy as np
import numpy.typing as npt

#: The C++ library's version string.
version: str

EffectDict = dict[str, Any]
Answer = tuple[str, str, list[EffectDict]]

def codes() -> list[str]:
    """Every rejection code the engine can answer, in numeric order ("ok" excluded)."""

def four_tier_plan_json() -> str:
    """The bundled four-tier plan (examples/plans/four-tier.json) as JSON text."""

class Engine:
    """upline::Engine built from plan JSON text; ValueError "invalid_plan: …" names every fault.

    Calls are serialised by an internal mutex, so an Engine may be shared between threads.
    """

    def __init__(self, plan_json: str) -> None: ...
    def apply_json(self, event_json: str) -> Answer:
        """Applies one event given as JSON text (the specification's fields plus "type")."""
    def join(self, member: int, sponsor: int | None = None, at: int = 0) -> Answer:
        """A join event."""
    def purchase(self, order: str, member: int, shop: str, amount: str, at: int = 0) -> Answer:
        """A purchase; ``amount`` is a decimal string."""
    def refund(self, order: str, amount: str | None = None, at: int = 0) -> Answer:
        """A refund; ``amount`` is a decimal string, or None for the rest of the order."""
    def redeem(self, member: int, points: str, ref: str, at: int = 0) -> Answer:
        """A redemption; ``points`` is a decimal string."""
    def adjust(self, member: int, points: str, actor: str, reason: str, at: int = 0) -> Answer:
        """A signed manual adjustment; ``points`` is a decimal string."""
    def suspend(self, member: int, at: int = 0) -> Answer:
        """Suspends a member."""
    def reactivate(self, member: int, at: int = 0) -> Answer:
        """Reactivates a member."""
    def change_plan(self, plan_json: str, actor: str, at: int = 0) -> Answer:
        """A plan event: the new plan as JSON text."""
    def apply_many(self, events: Iterable[str | Mapping[str, Any]]) -> list[Answer]:
        """Applies events (JSON text, or dicts serialised with json.dumps) in order with the GIL
        released; one answer per event, a rejection does not stop the batch."""
    def member(self, member: int) -> dict[str, Any] | None:
        """A member's state as a dict (decimals as strings), or None if unknown."""
    def order(self, order: str) -> dict[str, Any] | None:
        """An accepted order as a dict (amounts as strings), or None if unknown."""
    def census(self) -> dict[str, int]:
        """Members per tier by current tier, lowest tier first."""
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
    def columns(self) -> dict[str, npt.NDArray[np.int64] | npt.NDArray[np.uint8]]:
        """Member fields as NumPy arrays in join order: id, sponsor, balance, lifetime, orders
        (int64; amounts in units of points_scale), tier, status (uint8)."""
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
    def tier_names(self) -> list[str]: ...
    @property
    def plan_name(self) -> str: ...
