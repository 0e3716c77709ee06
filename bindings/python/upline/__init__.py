"""upline — a deterministic compensation engine for loyalty and network-marketing shops.

An :class:`Engine` is built from a plan (a dict, JSON text, or the path of a JSON file) and
applies events in order: members join under a sponsor, buy, get refunds, redeem points, are
adjusted, suspended, reactivated, and the plan itself may change. Each accepted event returns the
*effects* the host must book, in the order the specification gives them; the same plan and events
give the same effects, state and :meth:`Engine.digest` on every machine::

    import upline
    from datetime import datetime, timezone
    engine = upline.Engine("examples/plans/four-tier.json")
    engine.join(1, at=1_767_225_600_000)                      # ms since the Unix epoch…
    engine.join(2, sponsor=1, at=datetime(2026, 1, 1, 0, 5, tzinfo=timezone.utc))  # …or an aware datetime
    engine.purchase("order-1", member=2, shop="main", amount="49.90", at=1_767_225_900_000)
    # (Credit(member=2, points=Decimal('49.90'), kind='own'),
    #  Credit(member=1, points=Decimal('2.50'), kind='upline', tier='bronze', level=1))

Rules this package follows everywhere:

* **Single calls raise, bulk calls report.** ``join``, ``purchase``, ``refund``, ``redeem``,
  ``adjust``, ``suspend``, ``reactivate``, ``change_plan`` and ``apply`` return a tuple of effects
  or raise a :class:`Rejected` subclass named after the specification's code
  (``duplicate_order`` → :class:`DuplicateOrder`, ``insufficient_points`` →
  :class:`InsufficientPoints`, …) with ``.code`` and ``.message``. :meth:`Engine.apply_many` never
  raises for a rejection: it returns one :class:`Result` per event (``.code``, ``.message``,
  ``.effects``, ``.ok``) and goes on, as a replay of a recorded stream must. Either way a rejected
  event changes nothing and is counted in :attr:`Engine.rejected`.
* **Every event has a time.** The typed calls take ``at`` as a required keyword: an ``int`` of
  milliseconds since the Unix epoch, or a timezone-aware :class:`datetime.datetime` (converted
  exactly, with integer arithmetic, to whole milliseconds; a sub-millisecond part is dropped). A
  naive datetime, a ``float`` or a ``bool`` raises :class:`TypeError`. The engine applies an event
  at ``max(clock, at)``, and refund windows are measured on those times.
* **Amounts are exact.** Money and points are :class:`decimal.Decimal` in every answer. As input,
  an amount may be a ``Decimal``, a ``str`` (``"12.50"``) or an ``int``; a ``float`` raises
  :class:`TypeError`, because a float is not the decimal it prints as. A ``Decimal`` or an ``int``
  reaches the engine as exact units at a scale and a ``str`` as its text, each converted once, by
  the engine, to the plan's scale. A value with more decimals than the plan's scale is rejected
  (:class:`InvalidAmount`), never rounded.
* **Types are checked where Python gives them, values where the engine does.** A typed call with a
  wrong Python type (a ``str`` member id, a ``float`` amount) raises :class:`TypeError`; a value of
  the right type that breaks a rule (member id 0, a duplicate order) is a :class:`Rejected`. An
  event given as a dict or JSON text (``apply``, ``apply_many``) is checked by the engine like a
  line of a replay file (a missing field or a number where a decimal string belongs is
  :class:`InvalidEvent`), except that a ``Decimal`` anywhere and an ``int`` ``amount`` or
  ``points`` become decimal strings, and a ``float`` anywhere raises :class:`TypeError`.
* **Effects and members are values**: frozen dataclasses (:class:`Credit`, :class:`Debit`,
  :class:`Placed`, :class:`Promoted`, :class:`Reward`, :class:`Member`, :class:`Node`,
  :class:`Order`), built once here from the flat tuples of ints and strings the core returns.
* **Threads**: an Engine may be shared between threads; its calls are serialised.
  :meth:`Engine.apply_many` and :meth:`Engine.columns` release the GIL while they work, so other
  Python threads run meanwhile.
* **Durability**: a :class:`Store` is an Engine whose events are journaled in a data directory
  and recovered when it is opened again. Its event calls return the same effects as an Engine's
  (a :class:`Submitted`, a tuple that also carries ``seq``, the event's sequence number) and raise
  the same :class:`Rejected` subclasses (with ``seq`` set: rejections are journaled too); failures
  of the directory raise :class:`StoreError`.
* **Over HTTP**: a :class:`Client` makes the same calls to an ``upline serve`` process, which
  owns the data directory for every process that talks to it; its answers are a Store's, and
  HTTP or connection failures raise :class:`ClientError` (module :mod:`upline.client`).

The compiled core is the private module ``_upline``; this package is its only supported interface.
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, ClassVar, Iterable, Literal, Mapping, Union

try:
    from . import _upline  # installed: the module lives in the package
except ImportError as _packaged_error:  # the CMake build tree: a top-level module on PYTHONPATH
    try:
        import _upline  # type: ignore[no-redef]
    except ImportError:
        raise _packaged_error from None

__all__ = [
    "Engine",
    "Store",
    "StoreError",
    "Submitted",
    "Result",
    "Effect",
    "Credit",
    "Debit",
    "Placed",
    "Promoted",
    "Reward",
    "Member",
    "Node",
    "Order",
    "Rejected",
    "InvalidEvent",
    "InvalidPlan",
    "IncompatiblePlan",
    "MemberExists",
    "SponsorRequired",
    "UnknownSponsor",
    "DuplicateOrder",
    "UnknownMember",
    "UnknownShop",
    "InvalidAmount",
    "UnknownOrder",
    "RefundExceedsOrder",
    "RefundWindowClosed",
    "DuplicateRef",
    "InsufficientPoints",
    "Overflow",
    "CODES",
    "four_tier_plan",
    "Client",
    "ClientError",
    "WhatIf",
    "what_if",
    "census_frame",
    "Statement",
    "statement",
]

#: The library's version (the C++ core's upline::version, from project(upline VERSION …) in CMakeLists.txt).
__version__: str = _upline.version

#: Every rejection code the engine can answer, in the order of their numeric values.
CODES: tuple[str, ...] = tuple(_upline.codes())

_INT64_MAX = (1 << 63) - 1

# ---- rejections -----------------------------------------------------------------------------


class Rejected(Exception):
    """An event the engine rejected; nothing changed.

    ``code`` is the specification's code (``"duplicate_order"``…) and ``message`` names the field,
    the value and the rule. Each code has its own subclass (:class:`DuplicateOrder`…), so
    ``except upline.InsufficientPoints`` catches exactly that; :meth:`for_code` builds the right
    one.
    """

    #: The code of this class's rejections ("" for the base class, which may carry any code).
    CODE: ClassVar[str] = ""

    code: str
    message: str
    #: The sequence number a :class:`Store` journaled the rejected event under; None from an Engine.
    seq: int | None = None

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code

    @staticmethod
    def for_code(code: str, message: str) -> Rejected:
        """The exception for ``code``: its subclass, or :class:`Rejected` for a code this package
        does not know."""
        return _REJECTIONS.get(code, Rejected)(code, message)


class InvalidEvent(Rejected):
    """``invalid_event``: a structural fault (missing or extra field, wrong type, id out of range, empty actor)."""

    CODE = "invalid_event"


class InvalidPlan(Rejected, ValueError):
    """``invalid_plan``: a plan breaks a rule of the specification; the message names every fault.

    Raised by :class:`Engine` for the initial plan and by :meth:`Engine.change_plan`; it is also a
    :class:`ValueError`.
    """

    CODE = "invalid_plan"


class IncompatiblePlan(Rejected):
    """``incompatible_plan``: a new plan removes, renames or reorders tiers, changes a width, a fill or a scale."""

    CODE = "incompatible_plan"


class MemberExists(Rejected):
    """``member_exists``: the member has already joined."""

    CODE = "member_exists"


class SponsorRequired(Rejected):
    """``sponsor_required``: every member but the first needs a sponsor."""

    CODE = "sponsor_required"


class UnknownSponsor(Rejected):
    """``unknown_sponsor``: the sponsor is not a member."""

    CODE = "unknown_sponsor"


class DuplicateOrder(Rejected):
    """``duplicate_order``: the order id was already accepted."""

    CODE = "duplicate_order"


class UnknownMember(Rejected):
    """``unknown_member``: the member is not a member."""

    CODE = "unknown_member"


class UnknownShop(Rejected):
    """``unknown_shop``: the shop is not a shop of the plan in force."""

    CODE = "unknown_shop"


class InvalidAmount(Rejected):
    """``invalid_amount``: not a decimal, more decimals than the scale, out of range, or not > 0."""

    CODE = "invalid_amount"


class UnknownOrder(Rejected):
    """``unknown_order``: no accepted order has this id."""

    CODE = "unknown_order"


class RefundExceedsOrder(Rejected):
    """``refund_exceeds_order``: more than what is left of the order (or nothing is left)."""

    CODE = "refund_exceeds_order"


class RefundWindowClosed(Rejected):
    """``refund_window_closed``: the plan's refund window for the order has closed."""

    CODE = "refund_window_closed"


class DuplicateRef(Rejected):
    """``duplicate_ref``: the redemption ref was already used."""

    CODE = "duplicate_ref"


class InsufficientPoints(Rejected):
    """``insufficient_points``: the redemption exceeds the member's balance."""

    CODE = "insufficient_points"


class Overflow(Rejected):
    """``overflow``: an amount, a credit or a resulting balance would leave int64."""

    CODE = "overflow"


_REJECTIONS: dict[str, type[Rejected]] = {
    cls.CODE: cls
    for cls in (
        InvalidEvent,
        InvalidPlan,
        IncompatiblePlan,
        MemberExists,
        SponsorRequired,
        UnknownSponsor,
        DuplicateOrder,
        UnknownMember,
        UnknownShop,
        InvalidAmount,
        UnknownOrder,
        RefundExceedsOrder,
        RefundWindowClosed,
        DuplicateRef,
        InsufficientPoints,
        Overflow,
    )
}

# ---- effects --------------------------------------------------------------------------------


class Effect:
    """Base of the effects an accepted event produces (:class:`Credit`, :class:`Debit`,
    :class:`Placed`, :class:`Promoted`, :class:`Reward`). Every effect has ``member``."""

    __slots__ = ()
    #: The specification's ``type`` of the effect.
    TYPE: ClassVar[str] = ""
    member: int

    def as_dict(self) -> dict[str, Any]:
        """The effect in the specification's JSON shape (§9): ``type`` first, points as strings."""
        d: dict[str, Any] = {"type": self.TYPE}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.metadata.get("optional"):
                continue
            d[f.metadata.get("key", f.name)] = format(value, "f") if isinstance(value, Decimal) else value
        return d

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.metadata.get("optional"):
                continue
            parts.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


_OPTIONAL = {"optional": True}


@dataclass(frozen=True, slots=True, repr=False)
class Credit(Effect):
    """Points added to ``member``'s balance and lifetime.

    ``kind`` is ``"own"`` (the buyer's purchase), ``"upline"`` (paid through the ``tier`` matrix
    from ``level`` levels below) or ``"adjust"``; ``tier`` and ``level`` are None unless upline.
    """

    TYPE: ClassVar[str] = "credit"
    member: int
    points: Decimal
    kind: Literal["own", "upline", "adjust"]
    tier: str | None = field(default=None, metadata=_OPTIONAL)
    level: int | None = field(default=None, metadata=_OPTIONAL)


@dataclass(frozen=True, slots=True, repr=False)
class Debit(Effect):
    """Points removed (``points`` > 0): ``"redeem"`` (balance only), ``"clawback"`` or ``"adjust"``
    (balance and lifetime)."""

    TYPE: ClassVar[str] = "debit"
    member: int
    points: Decimal
    kind: Literal["redeem", "clawback", "adjust"]


@dataclass(frozen=True, slots=True, repr=False)
class Placed(Effect):
    """``member`` got a node in ``tier``'s matrix: child ``position`` of ``parent`` (None: the root)."""

    TYPE: ClassVar[str] = "placed"
    member: int
    tier: str
    parent: int | None
    position: int


@dataclass(frozen=True, slots=True, repr=False)
class Promoted(Effect):
    """``member`` rose from tier ``from_tier`` to ``to_tier`` (the specification's ``from``/``to``)."""

    TYPE: ClassVar[str] = "promoted"
    member: int
    from_tier: str = field(metadata={"key": "from"})
    to_tier: str = field(metadata={"key": "to"})


@dataclass(frozen=True, slots=True, repr=False)
class Reward(Effect):
    """``member`` was granted the reward ``reward`` (its id in the plan)."""

    TYPE: ClassVar[str] = "reward"
    member: int
    reward: str


# ---- results and state ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one event of :meth:`Engine.apply_many`.

    ``code`` is ``"ok"`` or the rejection code, ``message`` explains a rejection (empty when
    accepted) and ``effects`` is empty for a rejection. ``seq`` is the sequence number a
    :class:`Store` journaled the event under (None from an Engine).
    """

    code: str
    message: str
    effects: tuple[Effect, ...]
    seq: int | None = None

    @property
    def ok(self) -> bool:
        """True when the event was accepted."""
        return self.code == "ok"

    def raise_for_rejection(self) -> None:
        """Raises the :class:`Rejected` subclass for this result's code, if it is a rejection."""
        if self.code != "ok":
            raise Rejected.for_code(self.code, self.message)


@dataclass(frozen=True, slots=True)
class Node:
    """A member's node in one tier's matrix: child ``position`` of ``parent`` (None: the root)."""

    tier: str
    parent: int | None
    position: int


@dataclass(frozen=True, slots=True)
class Member:
    """A copy of a member's state.

    ``tier`` is the current tier's name, ``status`` ``"active"`` or ``"suspended"``; ``balance``
    (spendable) and ``lifetime`` (for promotions and rewards) are exact Decimals at the plan's
    points scale; ``orders`` counts accepted purchases, ``referrals`` members sponsored directly;
    ``nodes`` holds one :class:`Node` per tier from the lowest to the current one; ``rewards`` the
    reward ids in grant order; ``benefits`` the current plan's benefits of the member's tier (a
    fresh dict: the Member is a snapshot, changing it changes nothing in the engine).
    """

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
    benefits: dict[str, str] = field(hash=False)


@dataclass(frozen=True, slots=True)
class Order:
    """An accepted order: ``amount`` and ``refunded`` so far (exact Decimals at the money scale),
    ``at`` its applied time."""

    id: str
    member: int
    shop: str
    amount: Decimal
    refunded: Decimal
    at: int


# ---- from the core's flat values ---------------------------------------------------------------

# The core's enums by value (include/upline/effect.hpp EffectType and Kind, members.hpp Status).
_CREDIT, _DEBIT, _PLACED, _PROMOTED, _REWARD = range(5)
_UPLINE = 2
_KINDS = ("", "own", "upline", "adjust", "redeem", "clawback")
_STATUSES = ("active", "suspended")

# Units become Decimals in a context of their own: exact whatever the caller's context says
# (int64 has at most 19 digits).
_EXACT = decimal.Context(prec=40, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def _units(units: int, scale: int) -> Decimal:
    """``units`` × 10^-scale, exactly, printed with ``scale`` decimals (1000, 2 → Decimal('10.00'))."""
    return Decimal(units).scaleb(-scale, _EXACT)


# ---- input conversion -------------------------------------------------------------------------

Amount = Union[Decimal, str, int]
Time = Union[int, datetime.datetime]
PlanSource = Union[Mapping[str, Any], str, "os.PathLike[str]"]

_INT64_MIN = -(1 << 63)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _decimal_text(d: Decimal) -> str:
    # Plain notation ("100", not "1E+2"); NaN and infinities pass as text for the engine to refuse.
    return format(d, "f") if d.is_finite() else str(d)


def _check_amount(value: object, name: str) -> None:
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected a decimal.Decimal, str or int, got bool")
    if isinstance(value, float):
        raise TypeError(f"{name}: floats are not exact; pass a decimal.Decimal, a str or an int (got {value!r})")
    if not isinstance(value, (Decimal, int, str)):
        raise TypeError(f"{name}: expected a decimal.Decimal, str or int, got {type(value).__name__}")


def _amount(value: object, name: str) -> str | tuple[int, int]:
    """An amount for the core as the caller has it: exact ``(units, scale)`` for a Decimal or an
    int that fits (scale 0..18, units in int64), else its plain text for the engine to judge (too
    many decimals, out of range, not a number); a str as it is."""
    _check_amount(value, name)
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return (value, 0) if _INT64_MIN <= value <= _INT64_MAX else str(value)
    assert isinstance(value, Decimal)
    if not value.is_finite():
        return str(value)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if exponent > 0:  # 1E+1: into scale 0, when it fits
        if len(digits) + exponent > 19:
            return _decimal_text(value)
        units, scale = int(Decimal((sign, digits, 0))) * 10**exponent, 0
    elif exponent >= -18:
        units, scale = int(Decimal((sign, digits, 0))), -exponent
    else:
        return _decimal_text(value)
    return (units, scale) if _INT64_MIN <= units <= _INT64_MAX else _decimal_text(value)


def _amount_text(value: object, name: str) -> str:
    """An amount of a dict event as the decimal text its JSON line carries."""
    _check_amount(value, name)
    if isinstance(value, Decimal):
        return _decimal_text(value)
    return str(value)


def _at(value: object) -> int:
    """``at`` as integer milliseconds since the Unix epoch: an int as it is (the engine checks its
    range), an aware datetime converted exactly (integer arithmetic; a sub-millisecond part is
    dropped, toward the past)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, datetime.datetime):
        if value.utcoffset() is None:
            raise TypeError(f"at: {value.isoformat()} is a naive datetime; give it a timezone "
                            "(e.g. tzinfo=datetime.timezone.utc) or pass milliseconds since the Unix epoch as an int")
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    raise TypeError(f"at: expected an int (milliseconds since the Unix epoch) or an aware datetime.datetime, got {type(value).__name__}")


def _jsonable(value: object, path: str) -> Any:
    """A JSON-ready copy: Decimals become plain decimal strings; floats raise TypeError."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        raise TypeError(f"{path}: floats are not exact; pass a decimal.Decimal or a str (got {value!r})")
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{path}: keys must be str, got {type(k).__name__} {k!r}")
            out[k] = _jsonable(v, f"{path}.{k}" if path else k)
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{path}: {type(value).__name__} is not JSON data")


def _plan_text(plan: object) -> str:
    """Plan JSON text from a mapping, JSON text, or the path of a file (str or os.PathLike)."""
    if isinstance(plan, Mapping):
        return json.dumps(_jsonable(plan, ""), ensure_ascii=False)
    if isinstance(plan, str) and plan.lstrip().startswith("{"):
        return plan
    if isinstance(plan, (str, os.PathLike)):
        with open(plan, encoding="utf-8") as f:
            return f.read()
    raise TypeError(f"plan: expected a dict, JSON text or a path, got {type(plan).__name__}")


def _event_text(event: object, where: str = "event") -> str:
    """JSON text for an event given as a mapping (converted as the module docstring says) or as JSON text."""
    if isinstance(event, str):
        return event
    if isinstance(event, Mapping):
        d = dict(event)
        for key in ("amount", "points"):
            v = d.get(key)
            if isinstance(v, (int, Decimal, float)) and not isinstance(v, bool):
                d[key] = _amount_text(v, f"{where}.{key}")
        return json.dumps(_jsonable(d, where), ensure_ascii=False)
    raise TypeError(f"{where}: expected a dict or JSON text, got {type(event).__name__}")


def _tier_index(tiers: tuple[str, ...], tier: str | int) -> int:
    if isinstance(tier, bool) or not isinstance(tier, (str, int)):
        raise TypeError(f"tier: expected a tier name or index, got {type(tier).__name__}")
    if isinstance(tier, str):
        try:
            return tiers.index(tier)
        except ValueError:
            raise ValueError(f"tier: {tier!r} is not a tier of the plan ({', '.join(tiers)})") from None
    if not 0 <= tier < len(tiers):
        raise ValueError(f"tier: {tier} is out of range 0..{len(tiers) - 1}")
    return tier


def _member_id(member: object) -> int | None:
    """The id if it can name a member, None if it is an int no member can have."""
    if isinstance(member, bool) or not isinstance(member, int):
        raise TypeError(f"member: expected an int, got {type(member).__name__}")
    return member if 1 <= member <= _INT64_MAX else None


# ---- the engine -------------------------------------------------------------------------------

_COLUMNS = ("id", "sponsor", "tier", "status", "balance", "lifetime", "orders")


class Engine:
    """The state machine: a plan plus the events applied so far.

    ``plan`` is a dict (Decimals allowed, floats refused), JSON text, or the path of a JSON file
    (``str`` or :class:`os.PathLike`). An invalid plan raises :class:`InvalidPlan` naming every
    fault. See the module docstring for the rules on rejections, time, amounts and threads.
    """

    # _tiers and _rewards cache the core's names for the indices its answers carry: tier names are
    # only ever appended (a plan change may add tiers, never rename one) and reward ids are interned
    # for good, so a cached name never goes stale; an index beyond the cache refreshes it. The
    # scales never change (a plan that changes them is incompatible).
    __slots__ = ("_core", "_tiers", "_rewards", "_money_scale", "_points_scale")

    def __init__(self, plan: PlanSource) -> None:
        text = _plan_text(plan)
        try:
            core = _upline.Engine(text)
        except ValueError as e:
            raise _invalid_plan(e) from None
        self._bind(core)

    def _bind(self, core: Any) -> None:
        self._core = core
        self._tiers: tuple[str, ...] = self._core.tier_names
        self._rewards: tuple[str, ...] = self._core.reward_names
        self._money_scale: int = self._core.money_scale
        self._points_scale: int = self._core.points_scale

    def __repr__(self) -> str:
        c = self._core
        return f"<upline.Engine plan={c.plan_name!r} members={c.member_count} applied={c.applied} rejected={c.rejected}>"

    # ---- names and values from the core's flat answers -----------------------------------------

    def _tier(self, index: int) -> str:
        if index >= len(self._tiers):
            self._tiers = self._core.tier_names
        return self._tiers[index]

    def _reward(self, index: int) -> str:
        if index >= len(self._rewards):
            self._rewards = self._core.reward_names
        return self._rewards[index]

    def _effect(self, flat: tuple[int, ...]) -> Effect:
        kind_of, member, points, kind, tier, level, parent, reward, from_tier = flat
        if kind_of == _CREDIT:
            if kind == _UPLINE:
                return Credit(member, _units(points, self._points_scale), "upline", self._tier(tier), level)
            return Credit(member, _units(points, self._points_scale), _KINDS[kind])  # type: ignore[arg-type]
        if kind_of == _DEBIT:
            return Debit(member, _units(points, self._points_scale), _KINDS[kind])  # type: ignore[arg-type]
        if kind_of == _PLACED:
            return Placed(member, self._tier(tier), parent or None, level)
        if kind_of == _PROMOTED:
            return Promoted(member, self._tier(from_tier), self._tier(tier))
        if kind_of == _REWARD:
            return Reward(member, self._reward(reward))
        raise AssertionError(f"unknown effect type {kind_of}")  # the core and this package disagree

    def _effects(self, answer: tuple[str, str, tuple[tuple[int, ...], ...]]) -> tuple[Effect, ...]:
        code, message, effects = answer
        if code != "ok":
            raise Rejected.for_code(code, message)
        return tuple(map(self._effect, effects))

    # ---- events -------------------------------------------------------------------------------

    def join(self, member: int, sponsor: int | None = None, *, at: Time) -> tuple[Effect, ...]:
        """``member`` joins under ``sponsor`` (None only for the very first member) at time ``at``
        (ms since the epoch, or an aware datetime). Returns the effects: its placement, then
        promotions and rewards."""
        return self._effects(self._core.join(member, sponsor, _at(at)))

    def purchase(self, order: str, member: int, shop: str, amount: Amount, *, at: Time) -> tuple[Effect, ...]:
        """``member`` buys for ``amount`` (money, > 0) in ``shop`` at ``at``; ``order`` is unique
        forever. Returns the credits (own, then upline per tier and level), then promotions and
        rewards."""
        return self._effects(self._core.purchase(order, member, shop, _amount(amount, "amount"), _at(at)))

    def refund(self, order: str, amount: Amount | None = None, *, at: Time) -> tuple[Effect, ...]:
        """Refunds ``amount`` of ``order`` (None: the rest) at ``at``, which the plan's refund window
        is measured against. Returns the clawback debits."""
        return self._effects(self._core.refund(order, None if amount is None else _amount(amount, "amount"), _at(at)))

    def redeem(self, member: int, points: Amount, ref: str, *, at: Time) -> tuple[Effect, ...]:
        """``member`` spends ``points`` (> 0, at most its balance) at ``at``; ``ref`` is unique forever."""
        return self._effects(self._core.redeem(member, _amount(points, "points"), ref, _at(at)))

    def adjust(self, member: int, points: Amount, actor: str, reason: str, *, at: Time) -> tuple[Effect, ...]:
        """Adds signed, non-zero ``points`` to ``member``'s balance and lifetime at ``at`` (an audited
        manual correction by ``actor`` for ``reason``). A positive adjustment may promote and reward."""
        return self._effects(self._core.adjust(member, _amount(points, "points"), actor, reason, _at(at)))

    def suspend(self, member: int, *, at: Time) -> tuple[Effect, ...]:
        """Suspends ``member`` at ``at``: it earns nothing and is not promoted until reactivated."""
        return self._effects(self._core.suspend(member, _at(at)))

    def reactivate(self, member: int, *, at: Time) -> tuple[Effect, ...]:
        """Reactivates ``member`` at ``at``; promotions and rewards it qualifies for follow at once."""
        return self._effects(self._core.reactivate(member, _at(at)))

    def change_plan(self, plan: PlanSource, actor: str, *, at: Time) -> tuple[Effect, ...]:
        """Puts ``plan`` (dict, JSON text or path) in force from ``at`` on. Raises :class:`InvalidPlan`
        or :class:`IncompatiblePlan`; returns the promotions and rewards the new plan causes."""
        return self._effects(self._core.change_plan(_plan_text(plan), actor, _at(at)))

    def apply(self, event: Mapping[str, Any] | str) -> tuple[Effect, ...]:
        """Applies one event given as a dict (or JSON text) with ``"type"`` and the specification's
        fields, e.g. ``{"type": "purchase", "order": "o-1", "member": 7, "shop": "main",
        "amount": "10.00", "at": 1767225600000}``. Returns the effects or raises :class:`Rejected`."""
        return self._effects(self._core.apply_json(_event_text(event)))

    def apply_many(self, events: Iterable[Mapping[str, Any] | str]) -> list[Result]:
        """Applies events (dicts or JSON text) in order and reports one :class:`Result` each.

        Never raises for a rejection: a rejected event is reported (``result.ok`` is False) and the
        batch goes on, exactly as one-by-one :meth:`apply` calls would leave the engine. Every event
        is converted before any is applied, so a :class:`TypeError` (a float amount) leaves the
        engine untouched. The GIL is released while the events are applied.
        """
        if isinstance(events, (str, bytes, Mapping)):
            raise TypeError("events: expected an iterable of events, got a single " + type(events).__name__)
        texts = [_event_text(e, f"events[{i}]") for i, e in enumerate(events)]
        effect = self._effect
        return [Result(code, message, tuple(map(effect, effects))) for code, message, effects in self._core.apply_many(texts)]

    # ---- queries ------------------------------------------------------------------------------

    def member(self, member: int) -> Member | None:
        """A copy of ``member``'s state, or None if no such member."""
        m = _member_id(member)
        flat = self._core.member(m) if m is not None else None
        if flat is None:
            return None
        mid, sponsor, tier, status, balance, lifetime, orders, referrals, nodes, rewards, benefits = flat
        return Member(
            id=mid,
            sponsor=sponsor or None,
            tier=self._tier(tier),
            status=_STATUSES[status],  # type: ignore[arg-type]
            balance=_units(balance, self._points_scale),
            lifetime=_units(lifetime, self._points_scale),
            orders=orders,
            referrals=referrals,
            nodes=tuple(Node(self._tier(t), nodes[2 * t] or None, nodes[2 * t + 1]) for t in range(len(nodes) // 2)),
            rewards=tuple(map(self._reward, rewards)),
            benefits=dict(benefits),
        )

    def order(self, order: str) -> Order | None:
        """The accepted order with this id, or None."""
        flat = self._core.order(order)
        if flat is None:
            return None
        oid, member, shop, amount, refunded, at = flat
        return Order(oid, member, shop, _units(amount, self._money_scale), _units(refunded, self._money_scale), at)

    def rank_card(self, member: int) -> dict[str, Any] | None:
        """``member``'s rank card, or None if no such member (docs/LAB.md): its ``tier``,
        ``status`` and ``benefits``, and ``next``: None at the top tier, else the next tier's
        ``tier``, its ``criteria`` (each with ``criterion``, ``have``, ``need``, ``met``; decimals
        as strings), ``eligible`` and ``benefits`` — the JSON every door gives, as a dict."""
        m = _member_id(member)
        text = self._core.rank_card_json(m) if m is not None else None
        return None if text is None else json.loads(text)

    def census(self) -> dict[str, int]:
        """Members per current tier, ``{tier name: count}``, lowest tier first (every tier listed)."""
        counts = self._core.census()
        return {self._tier(t): n for t, n in enumerate(counts)}

    def digest(self) -> str:
        """SHA-256 of the canonical state as 64 hex digits: equal states, equal digests."""
        return self._core.digest()

    def dump(self) -> dict[str, Any]:
        """The specification's state dump (§10) as a dict: ``applied``, ``rejected``, ``digest``
        and ``members`` sorted by id (decimals as strings, exactly as in the JSON)."""
        return json.loads(self._core.dump_json())

    def dump_json(self) -> str:
        """The state dump as JSON text, byte for byte what ``upline replay --dump`` writes."""
        return self._core.dump_json()

    def columns(self) -> dict[str, Any]:
        """Every member's fields as NumPy arrays, in join order, built without Python loops.

        ``id``, ``sponsor`` (0 for none), ``balance`` and ``lifetime`` (int64 *units* at
        :attr:`points_scale`: divide by ``10**points_scale`` for points), ``orders`` (int64),
        ``tier`` (uint8 index into :attr:`tiers`), ``status`` (uint8: 0 active, 1 suspended).
        Needs NumPy (the ``upline[columns]`` extra); nothing else in the package does.
        """
        try:
            import numpy  # noqa: F401  (the core makes NumPy arrays; say so plainly when it is missing)
        except ImportError as e:
            raise ImportError("Engine.columns() needs NumPy: install numpy (or upline[columns])") from e
        return dict(zip(_COLUMNS, self._core.columns()))

    def upline(self, member: int, tier: str | int = 0, max_levels: int | None = None) -> list[int]:
        """The ancestors of ``member`` in ``tier``'s matrix (name or index), nearest first, at most
        ``max_levels``; empty if it has no node there."""
        m = _member_id(member)
        t = _tier_index(self._core.tier_names, tier)
        if max_levels is not None and (isinstance(max_levels, bool) or not isinstance(max_levels, int) or max_levels < 0):
            raise ValueError(f"max_levels: expected an int >= 0 or None, got {max_levels!r}")
        return [] if m is None else self._core.upline(m, t, max_levels)

    def below(self, member: int, tier: str | int = 0) -> int | None:
        """How many members sit below ``member`` in ``tier``'s matrix, or None without a node there."""
        m = _member_id(member)
        t = _tier_index(self._core.tier_names, tier)
        return None if m is None else self._core.below(m, t)

    @property
    def plan(self) -> dict[str, Any]:
        """The plan in force, in canonical form (every default written out)."""
        return json.loads(self._core.plan_json())

    @property
    def plan_name(self) -> str:
        """The name of the plan in force."""
        return self._core.plan_name

    @property
    def tiers(self) -> tuple[str, ...]:
        """Tier names, lowest first."""
        self._tiers = self._core.tier_names
        return self._tiers

    @property
    def money_scale(self) -> int:
        """Decimals of money amounts."""
        return self._money_scale

    @property
    def points_scale(self) -> int:
        """Decimals of points."""
        return self._points_scale

    @property
    def clock(self) -> int:
        """The largest ``at`` of the accepted events (0 before any)."""
        return self._core.clock

    @property
    def applied(self) -> int:
        """Number of accepted events."""
        return self._core.applied

    @property
    def rejected(self) -> int:
        """Number of rejected events."""
        return self._core.rejected

    @property
    def member_count(self) -> int:
        """Number of members."""
        return self._core.member_count

    @property
    def order_count(self) -> int:
        """Number of accepted orders."""
        return self._core.order_count


def _invalid_plan(e: ValueError) -> Exception:
    """The core's ValueError "invalid_plan: …" as :class:`InvalidPlan`; any other ValueError as it is."""
    message = str(e)
    prefix = "invalid_plan: "
    return InvalidPlan("invalid_plan", message[len(prefix):]) if message.startswith(prefix) else e


# ---- the durable engine -------------------------------------------------------------------------

#: StoreError: a data directory could not be opened, read or written, or was misused. ``kind`` is
#: ``"io"`` (a read, write or fsync failed: the store accepts nothing more; open the directory
#: again to recover what was durable), ``"corrupt"`` (the directory is damaged), ``"busy"``
#: (another Store, in this process or another, has it open) or ``"usage"`` (no journal and no
#: plan, a plan that is not the directory's, a closed store…); ``message`` (and ``str(e)``) names
#: the file, the offset or the argument. Not a :class:`Rejected`: a rejected event is journaled
#: like an accepted one.
StoreError: type[Exception] = _upline.StoreError


class Submitted(tuple):  # type: ignore[type-arg]
    """The effects of an event a :class:`Store` accepted: a tuple of effects, exactly what
    :class:`Engine` returns for the same call, that also carries ``seq``, the sequence number the
    event was journaled under."""

    seq: int

    def __new__(cls, effects: Iterable[Effect], seq: int) -> Submitted:
        self = super().__new__(cls, effects)
        self.seq = seq
        return self

    def __repr__(self) -> str:
        return f"Submitted(seq={self.seq}, effects={tuple.__repr__(self)})"


_SYNC = ("every", "group", "none")


class Store(Engine):
    """A durable :class:`Engine`: a data directory holding a journal of every event submitted
    (accepted or rejected) and snapshots of the state.

    ``Store(path, plan)`` creates ``path`` with ``plan`` (dict, JSON text or path of a file) when
    it holds no journal yet, else opens it and recovers its state (the newest good snapshot plus
    the journal after it); ``Store(path)`` only opens. A plan given for a directory that exists
    must be the plan it was created with (plan events since do not matter; compared in
    canonical form), else :class:`StoreError` (``kind`` ``"usage"``). Only one
    Store may have a directory open at a time (``kind`` ``"busy"``).

    ``sync`` says when an event is durable — when it may be acknowledged:

    * ``"every"`` (the default): each event call writes and fsyncs its record before it returns;
    * ``"group"``: records are buffered and :meth:`commit` writes and fsyncs them at once; an
      event is durable only once :meth:`commit` has returned (``durable_seq >= its seq``);
    * ``"none"``: :meth:`commit` writes without fsync (tests, simulations).

    ``snapshot_every`` writes a snapshot after that many events (0: not by count);
    ``snapshot_bytes`` writes one in the background (a forked child, while events go on) each time
    the journal has grown that many bytes (default 128 MiB; 0: not by size); ``keep_snapshots``
    (>= 1) is how many are kept; ``segment_bytes`` (>= 4096, default 64 MiB) is the size past
    which a journal segment is sealed (docs/DURABILITY.md).

    Every event call and query of :class:`Engine` works here the same way. An event call returns a
    :class:`Submitted` (the same tuple of effects, plus ``.seq``); a rejection raises the same
    :class:`Rejected` subclass, with ``.seq`` set, since rejected events are journaled and numbered
    too; :meth:`apply_many` gives :class:`Result` values with ``seq`` set. Used as a context
    manager, the Store commits and closes on the way out. After :meth:`close` every call raises
    :class:`StoreError`.
    """

    __slots__ = ()

    def __init__(self, path: str | os.PathLike[str], plan: PlanSource | None = None, *, sync: str = "every",
                 snapshot_every: int = 0, keep_snapshots: int = 2, snapshot_bytes: int = 128 << 20,
                 segment_bytes: int = 64 << 20) -> None:
        if sync not in _SYNC:
            raise ValueError(f"sync: {sync!r} is not 'every', 'group' or 'none'")
        for name, value, low in (("snapshot_every", snapshot_every, 0), ("keep_snapshots", keep_snapshots, 1),
                                 ("snapshot_bytes", snapshot_bytes, 0), ("segment_bytes", segment_bytes, 4096)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
            if not low <= value < 1 << 64:
                raise ValueError(f"{name}: {value} is out of range {low}..{(1 << 64) - 1}")
        text = None if plan is None else _plan_text(plan)
        try:
            core = _upline.Store(os.fspath(path), text, sync, snapshot_every, keep_snapshots, snapshot_bytes, segment_bytes)
        except ValueError as e:
            raise _invalid_plan(e) from None
        self._bind(core)

    def __repr__(self) -> str:
        c = self._core
        if c.closed:
            return f"<upline.Store {c.dir!r} closed>"
        return (f"<upline.Store {c.dir!r} plan={c.plan_name!r} members={c.member_count} last_seq={c.last_seq} "
                f"durable_seq={c.durable_seq}>")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _effects(self, answer: tuple[str, str, tuple[tuple[int, ...], ...], int]) -> Submitted:  # type: ignore[override]
        code, message, effects, seq = answer
        if code != "ok":
            rejected = Rejected.for_code(code, message)
            rejected.seq = seq
            raise rejected
        return Submitted(map(self._effect, effects), seq)

    def apply_many(self, events: Iterable[Mapping[str, Any] | str]) -> list[Result]:
        """Submits events (dicts or JSON text) in order and reports one :class:`Result` each, with
        ``seq`` set; see :meth:`Engine.apply_many`. With ``sync="every"`` each event is fsynced on
        its own: use ``"group"`` and :meth:`commit` for batches."""
        if isinstance(events, (str, bytes, Mapping)):
            raise TypeError("events: expected an iterable of events, got a single " + type(events).__name__)
        texts = [_event_text(e, f"events[{i}]") for i, e in enumerate(events)]
        effect = self._effect
        return [Result(code, message, tuple(map(effect, effects)), seq) for code, message, effects, seq in self._core.apply_many(texts)]

    def commit(self) -> None:
        """Makes every event submitted so far durable: afterwards ``durable_seq == last_seq``."""
        self._core.commit()

    def snapshot(self) -> str:
        """Commits, writes a snapshot of the state (then removes the oldest beyond
        ``keep_snapshots``) and returns its file name. A snapshot speeds up the next opening; the
        journal alone already holds everything."""
        return self._core.snapshot()

    def close(self) -> None:
        """Commits, then releases the directory (even if the commit raises). Closing a closed
        Store does nothing."""
        self._core.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._core.closed

    @property
    def path(self) -> str:
        """The data directory."""
        return self._core.dir

    def statement(self, member: int, *, from_: object = None, until: object = None) -> Statement | None:
        """``member``'s statement over [``from_``, ``until``) (docs/SPEC.md §13), or None if the
        member had not joined by then: :func:`upline.statement` on this store's directory, after a
        :meth:`commit` (so that every event submitted so far is in the journal it reads)."""
        self._core.commit()
        return statement(self.path, member, from_=from_, until=until)

    @property
    def last_seq(self) -> int:
        """The sequence number of the last event submitted (0 for none)."""
        return self._core.last_seq

    @property
    def durable_seq(self) -> int:
        """The last sequence number that is durable: events up to it may be acknowledged."""
        return self._core.durable_seq


def four_tier_plan() -> dict[str, Any]:
    """The bundled four-tier plan (bronze → silver → gold → platinum) as a fresh dict, ready to be
    used as is or modified."""
    return json.loads(_upline.bundled_plan("four-tier"))


# The HTTP client: after everything above, which it imports.
from .client import Client, ClientError  # noqa: E402
from .lab import Statement, WhatIf, census_frame, statement, what_if  # noqa: E402
