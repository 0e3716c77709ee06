"""Type stubs of the ``upline`` package (see upline/__init__.py for the documentation)."""

import datetime
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Iterable, Literal, Mapping, Union

import numpy as np
import numpy.typing as npt

__version__: str
CODES: tuple[str, ...]

Amount = Union[Decimal, str, int]
#: ``at``: milliseconds since the Unix epoch, or a timezone-aware datetime (a naive one is refused).
Time = Union[int, datetime.datetime]
PlanSource = Union[Mapping[str, Any], str, os.PathLike[str]]
EventSource = Union[Mapping[str, Any], str]

class Rejected(Exception):
    """An event the engine rejected; nothing changed."""

    CODE: ClassVar[str]
    code: str
    message: str
    def __init__(self, code: str, message: str) -> None: ...
    @staticmethod
    def for_code(code: str, message: str) -> Rejected: ...

class InvalidEvent(Rejected): ...
class InvalidPlan(Rejected, ValueError): ...
class IncompatiblePlan(Rejected): ...
class MemberExists(Rejected): ...
class SponsorRequired(Rejected): ...
class UnknownSponsor(Rejected): ...
class DuplicateOrder(Rejected): ...
class UnknownMember(Rejected): ...
class UnknownShop(Rejected): ...
class InvalidAmount(Rejected): ...
class UnknownOrder(Rejected): ...
class RefundExceedsOrder(Rejected): ...
class RefundWindowClosed(Rejected): ...
class DuplicateRef(Rejected): ...
class InsufficientPoints(Rejected): ...
class Overflow(Rejected): ...

class Effect:
    """Base of the effects; every effect has ``member``."""

    TYPE: ClassVar[str]
    member: int
    def as_dict(self) -> dict[str, Any]:
        """The effect in the specification's JSON shape (§9)."""

@dataclass(frozen=True, slots=True, repr=False)
class Credit(Effect):
    member: int
    points: Decimal
    kind: Literal["own", "upline", "adjust"]
    tier: str | None = None
    level: int | None = None

@dataclass(frozen=True, slots=True, repr=False)
class Debit(Effect):
    member: int
    points: Decimal
    kind: Literal["redeem", "clawback", "adjust"]

@dataclass(frozen=True, slots=True, repr=False)
class Placed(Effect):
    member: int
    tier: str
    parent: int | None
    position: int

@dataclass(frozen=True, slots=True, repr=False)
class Promoted(Effect):
    member: int
    from_tier: str
    to_tier: str

@dataclass(frozen=True, slots=True, repr=False)
class Reward(Effect):
    member: int
    reward: str

@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one event of Engine.apply_many."""

    code: str
    message: str
    effects: tuple[Effect, ...]
    @property
    def ok(self) -> bool: ...
    def raise_for_rejection(self) -> None: ...

@dataclass(frozen=True, slots=True)
class Node:
    tier: str
    parent: int | None
    position: int

@dataclass(frozen=True, slots=True)
class Member:
    id: int
    sponsor: int | None
    tier: str
    status: Literal["active", "suspended"]
    balance: Decimal
    lifetime: Decimal
    orders: int
    referrals: int
    nodes: tuple[Node, ...]
    rewards: tuple[str, ...]
    benefits: dict[str, str]

@dataclass(frozen=True, slots=True)
class Order:
    id: str
    member: int
    shop: str
    amount: Decimal
    refunded: Decimal
    at: int

class Engine:
    """The state machine: a plan plus the events applied so far."""

    def __init__(self, plan: PlanSource) -> None: ...
    def join(self, member: int, sponsor: int | None = None, *, at: Time) -> tuple[Effect, ...]: ...
    def purchase(self, order: str, member: int, shop: str, amount: Amount, *, at: Time) -> tuple[Effect, ...]: ...
    def refund(self, order: str, amount: Amount | None = None, *, at: Time) -> tuple[Effect, ...]: ...
    def redeem(self, member: int, points: Amount, ref: str, *, at: Time) -> tuple[Effect, ...]: ...
    def adjust(self, member: int, points: Amount, actor: str, reason: str, *, at: Time) -> tuple[Effect, ...]: ...
    def suspend(self, member: int, *, at: Time) -> tuple[Effect, ...]: ...
    def reactivate(self, member: int, *, at: Time) -> tuple[Effect, ...]: ...
    def change_plan(self, plan: PlanSource, actor: str, *, at: Time) -> tuple[Effect, ...]: ...
    def apply(self, event: EventSource) -> tuple[Effect, ...]: ...
    def apply_many(self, events: Iterable[EventSource]) -> list[Result]: ...
    def member(self, member: int) -> Member | None: ...
    def order(self, order: str) -> Order | None: ...
    def census(self) -> dict[str, int]: ...
    def digest(self) -> str: ...
    def dump(self) -> dict[str, Any]: ...
    def dump_json(self) -> str: ...
    def columns(self) -> dict[str, npt.NDArray[np.int64] | npt.NDArray[np.uint8]]: ...
    def upline(self, member: int, tier: str | int = 0, max_levels: int | None = None) -> list[int]: ...
    def below(self, member: int, tier: str | int = 0) -> int | None: ...
    @property
    def plan(self) -> dict[str, Any]: ...
    @property
    def plan_name(self) -> str: ...
    @property
    def tiers(self) -> tuple[str, ...]: ...
    @property
    def money_scale(self) -> int: ...
    @property
    def points_scale(self) -> int: ...
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

def four_tier_plan() -> dict[str, Any]:
    """The bundled four-tier plan as a fresh dict."""
