"""The plan lab in Python (docs/LAB.md): what-if on a history, as the JSON report, the HTML page,
and pandas DataFrames.

    import upline
    w = upline.what_if(upline.four_tier_plan(), lean_plan, "events.jsonl", period="week")
    w.sides()      # one row per side: payout ratio, totals, points issued and removed by kind
    w.periods()    # one row per side and period: money, points paid, clawed back, payout ratio
    w.census()     # members per tier, a column per side
    w.movers()     # the top gainers and losers

    st = upline.statement("shop-data", 1042, from_="2026-11-01", until="2026-12-01")
    st.opening, st.closing   # Decimal balances
    st.frame()               # one row per credit or debit, with its cause

Amounts in the frames are ``decimal.Decimal`` (exact; pandas keeps them as objects), counts are
ints. pandas (Debian's ``python3-pandas``) is imported only when a frame is asked for.
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping

from . import _upline

__all__ = ["WhatIf", "what_if", "census_frame", "Statement", "statement"]


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as e:  # say what to install, plainly
        raise ImportError("DataFrames need pandas (Debian: apt-get install python3-pandas)") from e
    return pandas


def _events_text(events: object) -> str:
    """JSON Lines from a path (str or os.PathLike) to an events file, JSON Lines text, or an
    iterable of events (dicts or JSON text)."""
    if isinstance(events, os.PathLike) or (isinstance(events, str) and "\n" not in events and not events.lstrip().startswith("{")):
        with open(events, encoding="utf-8") as f:
            return f.read()
    if isinstance(events, str):
        return events
    if isinstance(events, Iterable):
        from . import _event_text  # the package's one conversion of an event to JSON text

        return "\n".join(_event_text(e, f"events[{i}]") for i, e in enumerate(events))
    raise TypeError(f"events: expected a path, JSON Lines text or an iterable of events, got {type(events).__name__}")


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


@dataclass(frozen=True)
class WhatIf:
    """A what-if's result: ``report`` (the JSON report as a dict, every field of docs/LAB.md),
    ``json`` (its text, byte for byte what ``upline whatif --report`` writes) and ``html`` (the
    page of ``--html``, when asked for)."""

    report: dict[str, Any]
    json: str
    html: str | None = None

    def sides(self) -> Any:
        """One row per side (index ``a``, ``b``): plan, digest, applied, rejected, payout_ratio,
        purchased, refunded, balance_total, lifetime_total, issued_own, issued_upline (the sum over
        tiers), issued_adjust, removed_clawback, removed_redeem, removed_adjust."""
        rows = []
        for side in ("a", "b"):
            s = self.report[side]
            rows.append({
                "plan": s["plan"], "digest": s["digest"], "applied": s["applied"], "rejected": s["rejected"],
                "payout_ratio": _dec(s["payout_ratio"]), "purchased": Decimal(s["purchased"]), "refunded": Decimal(s["refunded"]),
                "balance_total": Decimal(s["balance_total"]), "lifetime_total": Decimal(s["lifetime_total"]),
                "issued_own": Decimal(s["issued"]["own"]), "issued_upline": sum((Decimal(v) for v in s["issued"]["upline"].values()), Decimal(0)),
                "issued_adjust": Decimal(s["issued"]["adjust"]), "removed_clawback": Decimal(s["removed"]["clawback"]),
                "removed_redeem": Decimal(s["removed"]["redeem"]), "removed_adjust": Decimal(s["removed"]["adjust"]),
            })
        return _pandas().DataFrame(rows, index=["a", "b"])

    def periods(self) -> Any:
        """One row per side and period, in time order: side, period (label), start (ms), purchased,
        refunded, paid, clawed_back, payout_ratio (None where nothing net was bought)."""
        rows = [{"side": side, "period": p["period"], "start": p["start"], "purchased": Decimal(p["purchased"]),
                 "refunded": Decimal(p["refunded"]), "paid": Decimal(p["paid"]), "clawed_back": Decimal(p["clawed_back"]),
                 "payout_ratio": _dec(p["payout_ratio"])}
                for side in ("a", "b") for p in self.report[side]["periods"]]
        return _pandas().DataFrame(rows, columns=["side", "period", "start", "purchased", "refunded", "paid", "clawed_back", "payout_ratio"])

    def census(self) -> Any:
        """Members per tier (index: tier names, side a's then side b's others), columns ``a``, ``b``."""
        names = list(self.report["a"]["census"]) + [n for n in self.report["b"]["census"] if n not in self.report["a"]["census"]]
        return _pandas().DataFrame({side: [self.report[side]["census"].get(n, 0) for n in names] for side in ("a", "b")}, index=names)

    def movers(self) -> Any:
        """The listed gainers then losers: member, a, b, delta (balances at the larger scale), and
        direction (``gain`` or ``loss``)."""
        d = self.report["differences"]
        rows = [{"member": m["member"], "a": Decimal(m["a"]), "b": Decimal(m["b"]), "delta": Decimal(m["delta"]), "direction": direction}
                for direction, key in (("gain", "gainers"), ("loss", "losers")) for m in d[key]]
        return _pandas().DataFrame(rows, columns=["member", "a", "b", "delta", "direction"])


def what_if(plan_a: object, plan_b: object, events: object, *, period: str = "month", from_seq: int | None = None,
            until: int | None = None, top: int = 10, html: bool = False, forecast: int | None = None) -> WhatIf:
    """Applies ``events`` under ``plan_a`` and, on another thread at once, under ``plan_b`` (in place
    of plan a; or from ``from_seq`` on, installed as a plan event after that event) and compares
    them — ``upline whatif`` (docs/LAB.md). Plans: a dict, JSON text or a file's path. Events: an
    events file's path, JSON Lines text, or an iterable of events (dicts or JSON text). With
    ``html``, ``.html`` is the page; ``forecast`` (default 6 with ``html``; 0: none) is how many
    periods each side is projected on it, with a backtest — floating point, so never in ``.json``.
    Raises ValueError for an invalid plan, a bad period or forecast, or a comparison that cannot be
    made."""
    from . import _plan_text

    if forecast is None:
        forecast = 6 if html else 0
    if isinstance(forecast, bool) or not isinstance(forecast, int) or not 0 <= forecast <= 10_000:
        raise ValueError(f"forecast: {forecast!r} is not an integer in 0..10000")
    if forecast and not html:
        raise ValueError(f"forecast: {forecast} needs html=True (the forecast is on the page, never in the report)")
    text, page = _upline.what_if(_plan_text(plan_a), _plan_text(plan_b), _events_text(events), period, from_seq, until, top, html,
                                 forecast)
    return WhatIf(json.loads(text), text + "\n", page)


def census_frame(engine: Any) -> Any:
    """An engine's (or store's, or client's) census as a DataFrame: one row per tier, lowest first,
    columns ``tier`` and ``members``."""
    census: Mapping[str, int] = engine.census()
    return _pandas().DataFrame({"tier": list(census), "members": list(census.values())})


# ---- statements -------------------------------------------------------------------------------

_STATEMENT_COLUMNS = ("seq", "at", "type", "kind", "points", "balance", "order", "buyer", "shop", "amount", "ratio", "history",
                      "accrual", "tier", "level", "rate", "multiplier", "refunded", "ref", "actor", "reason")
_DECIMAL_FIELDS = frozenset(("points", "balance", "amount", "ratio", "history", "accrual", "rate", "multiplier", "refunded"))


def _time_text(value: object, name: str) -> str | None:
    """A statement bound as the text every door reads (docs/SPEC.md §13): None; an int (ms since
    the epoch); a str as it is; an aware datetime (ms, a sub-millisecond part rounded up); a date
    (its midnight UTC)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected an int, str, datetime or date, got bool")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{name}: {value} is before the epoch (times are milliseconds since 1970-01-01, >= 0)")
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        from . import _at  # the package's one conversion of a datetime to milliseconds

        try:
            ms = _at(value)
        except TypeError as e:
            raise TypeError(str(e).replace("at:", f"{name}:", 1)) from None
        # _at drops a sub-millisecond part; a bound of a half-open period rounds it up instead, so
        # that an event at that millisecond is in the period exactly when it is at or after the bound.
        return str(ms + (1 if value.microsecond % 1000 else 0))
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"{name}: expected an int (ms since the epoch), a str, an aware datetime or a date, got {type(value).__name__}")


@dataclass(frozen=True)
class Statement:
    """A member's statement (docs/SPEC.md §13): ``data`` (the JSON as a dict) and ``json`` (its
    text, byte for byte what every door gives). The balances and totals are exact Decimals."""

    data: dict[str, Any]
    json: str

    @property
    def member(self) -> int:
        return int(self.data["member"])

    @property
    def opening(self) -> Decimal:
        return Decimal(self.data["opening_balance"])

    @property
    def closing(self) -> Decimal:
        return Decimal(self.data["closing_balance"])

    @property
    def credits(self) -> Decimal:
        return Decimal(self.data["credits"])

    @property
    def debits(self) -> Decimal:
        return Decimal(self.data["debits"])

    @property
    def lines(self) -> list[dict[str, Any]]:
        """Every credit and debit, in order, as the JSON has them (decimals as strings)."""
        return list(self.data["lines"])

    def frame(self) -> Any:
        """One row per line, columns seq, at, type, kind, points, balance and every cause field
        (order, buyer, shop, amount, ratio, history, accrual, tier, level, rate, multiplier,
        refunded, ref, actor, reason; None where a kind has none). Amounts are Decimals."""
        rows = [{c: (Decimal(line[c]) if c in _DECIMAL_FIELDS else line[c]) if c in line else None for c in _STATEMENT_COLUMNS}
                for line in self.data["lines"]]
        return _pandas().DataFrame(rows, columns=list(_STATEMENT_COLUMNS))

    @classmethod
    def _of(cls, text: str) -> Statement:
        return cls(json.loads(text), text)


def statement(data: str | os.PathLike[str], member: int, *, from_: object = None, until: object = None) -> Statement | None:
    """``member``'s statement over the applied times [``from_``, ``until``) from the data
    directory ``data``'s history (docs/SPEC.md §13), or None if the member had not joined by then.
    Bounds: None (open), an int (ms since the epoch), a str (``"@MS"``, ``"2026-11-01"``,
    ``"2026-11-01T00:00:00Z"``), an aware datetime or a date. Only reads: ``data`` may be open in a
    :class:`upline.Store` or a server meanwhile. ValueError for a malformed bound or ``until``
    before ``from_``; :class:`upline.StoreError` for the directory."""
    from . import _member_id

    m = _member_id(member)
    f, u = _time_text(from_, "from_"), _time_text(until, "until")
    if m is None:
        return None
    text = _upline.statement_json(os.fspath(data), m, f, u)
    return None if text is None else Statement._of(text)
