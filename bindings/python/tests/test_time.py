"""`at` is required in every typed call: an int of ms since the Unix epoch or an aware datetime."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable

import pytest
from conftest import make_plan

import upline

DAY = 86_400_000
NEW_YEAR = datetime(2026, 1, 1, tzinfo=timezone.utc)
NEW_YEAR_MS = 1_767_225_600_000


def engine(**plan: Any) -> upline.Engine:
    e = upline.Engine(make_plan(**plan))
    e.join(1, at=NEW_YEAR_MS)
    e.join(2, sponsor=1, at=NEW_YEAR_MS)
    e.purchase("o-1", 2, "main", "100.00", at=NEW_YEAR_MS)
    return e


CALLS: dict[str, Callable[..., Any]] = {
    "join": lambda e, **at: e.join(3, sponsor=1, **at),
    "purchase": lambda e, **at: e.purchase("o-2", 2, "main", "1.00", **at),
    "refund": lambda e, **at: e.refund("o-1", "1.00", **at),
    "redeem": lambda e, **at: e.redeem(2, "1.00", "r-1", **at),
    "adjust": lambda e, **at: e.adjust(2, "1.00", "ops", "why", **at),
    "suspend": lambda e, **at: e.suspend(2, **at),
    "reactivate": lambda e, **at: e.reactivate(2, **at),
    "change_plan": lambda e, **at: e.change_plan(e.plan, "ops", **at),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_at_is_required(call: str) -> None:
    e = engine()
    with pytest.raises(TypeError, match="'at'"):
        CALLS[call](e)
    assert (e.applied, e.rejected, e.clock) == (3, 0, NEW_YEAR_MS)
    CALLS[call](e, at=NEW_YEAR_MS + 1)  # the same call with a time is accepted
    assert (e.applied, e.clock) == (4, NEW_YEAR_MS + 1)


@pytest.mark.parametrize("call", sorted(CALLS))
def test_at_must_not_be_given_positionally(call: str) -> None:
    """`at` is keyword-only: an int in the place of an amount or an id must not pass for a time."""
    e = engine()
    with pytest.raises(TypeError):
        {
            "join": lambda: e.join(3, 1, NEW_YEAR_MS),  # type: ignore[misc]
            "purchase": lambda: e.purchase("o-2", 2, "main", "1.00", NEW_YEAR_MS),  # type: ignore[misc]
            "refund": lambda: e.refund("o-1", "1.00", NEW_YEAR_MS),  # type: ignore[misc]
            "redeem": lambda: e.redeem(2, "1.00", "r-1", NEW_YEAR_MS),  # type: ignore[misc]
            "adjust": lambda: e.adjust(2, "1.00", "ops", "why", NEW_YEAR_MS),  # type: ignore[misc]
            "suspend": lambda: e.suspend(2, NEW_YEAR_MS),  # type: ignore[misc]
            "reactivate": lambda: e.reactivate(2, NEW_YEAR_MS),  # type: ignore[misc]
            "change_plan": lambda: e.change_plan(e.plan, "ops", NEW_YEAR_MS),  # type: ignore[misc]
        }[call]()
    assert (e.applied, e.rejected) == (3, 0)


@pytest.mark.parametrize(
    ("when", "ms"),
    [
        (NEW_YEAR, NEW_YEAR_MS),
        (datetime(1970, 1, 1, tzinfo=timezone.utc), 0),
        (datetime(2026, 1, 1, 1, 0, 0, 250_000, tzinfo=timezone(timedelta(hours=1))), NEW_YEAR_MS + 250),
        (datetime(2025, 12, 31, 19, 0, tzinfo=timezone(timedelta(hours=-5))), NEW_YEAR_MS),
        # The sub-millisecond part is dropped (toward the past), never rounded up.
        (datetime(2026, 1, 1, 0, 0, 0, 999_999, tzinfo=timezone.utc), NEW_YEAR_MS + 999),
        (datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone.utc), 253_402_300_799_999),
    ],
)
def test_an_aware_datetime_is_its_milliseconds(when: datetime, ms: int) -> None:
    by_datetime, by_int = upline.Engine(make_plan()), upline.Engine(make_plan())
    by_datetime.join(1, at=when)
    by_int.join(1, at=ms)
    assert by_datetime.clock == ms
    assert by_datetime.digest() == by_int.digest()


def test_datetimes_and_ints_give_the_same_state() -> None:
    a, b = upline.Engine(make_plan(refund_window_days=30)), upline.Engine(make_plan(refund_window_days=30))
    for e, t in ((a, lambda d: NEW_YEAR + timedelta(days=d)), (b, lambda d: NEW_YEAR_MS + d * DAY)):
        e.join(1, at=t(0))
        e.join(2, sponsor=1, at=t(1))
        e.purchase("o-1", 2, "main", Decimal("40.00"), at=t(2))
        e.refund("o-1", Decimal("10.00"), at=t(31))
        e.redeem(2, "5", "r-1", at=t(32))
        e.adjust(1, "1", "ops", "fix", at=t(33))
        e.suspend(2, at=t(34))
        e.reactivate(2, at=t(35))
        e.change_plan(e.plan, "ops", at=t(36))
    assert a.digest() == b.digest() and a.dump_json() == b.dump_json()
    assert a.clock == NEW_YEAR_MS + 36 * DAY
    assert a.order("o-1") == upline.Order("o-1", 2, "main", Decimal("40.00"), Decimal("10.00"), NEW_YEAR_MS + 2 * DAY)


@pytest.mark.parametrize(
    "at",
    [datetime(2026, 1, 1), datetime(2026, 1, 1, 12, 30)],
)
def test_a_naive_datetime_is_refused(at: datetime) -> None:
    e = engine()
    for call in CALLS.values():
        with pytest.raises(TypeError, match="naive datetime"):
            call(e, at=at)
    assert (e.applied, e.rejected, e.clock) == (3, 0, NEW_YEAR_MS)


@pytest.mark.parametrize("at", [1.0, float(NEW_YEAR_MS), True, False, "1767225600000", None, date(2026, 1, 1), Decimal(5)])
def test_other_types_are_refused(at: object) -> None:
    e = engine()
    for call in CALLS.values():
        with pytest.raises(TypeError, match="at: expected an int"):
            call(e, at=at)
    assert (e.applied, e.rejected) == (3, 0)


def test_times_outside_the_range_are_invalid_events() -> None:
    e = engine()
    with pytest.raises(upline.InvalidEvent, match=r"at: -1000 is out of range 0\.\.9223372036854775807"):
        e.join(3, sponsor=1, at=datetime(1969, 12, 31, 23, 59, 59, tzinfo=timezone.utc))
    with pytest.raises(upline.InvalidEvent, match=r"at: 9223372036854775808 is out of range"):
        e.join(3, sponsor=1, at=2**63)
    with pytest.raises(upline.InvalidEvent, match=r"at: -9223372036854775809 is out of range"):
        e.refund("o-1", at=-(2**63) - 1)
    assert (e.applied, e.rejected, e.clock) == (3, 3, NEW_YEAR_MS)


def test_a_refund_past_the_window_is_refused() -> None:
    """The refund window is measured from the order's applied time to the refund's own `at`."""
    e = engine(refund_window_days=14)
    opened = NEW_YEAR + timedelta(days=14)
    # A refund's time is not 0 any more: a real `at` past the window closes it.
    with pytest.raises(upline.RefundWindowClosed, match=r'order: "o-1" was applied at 1767225600000; the 14-day refund window closed before 1768435200001'):
        e.refund("o-1", "1.00", at=opened + timedelta(milliseconds=1))
    with pytest.raises(upline.RefundWindowClosed):
        e.refund("o-1", at=NEW_YEAR_MS + 30 * DAY)
    assert e.order("o-1").refunded == Decimal("0.00") and e.rejected == 2
    # The last millisecond of the window is inside it.
    assert e.refund("o-1", "1.00", at=opened) == (upline.Debit(2, Decimal("1.00"), "clawback"), upline.Debit(1, Decimal("0.05"), "clawback"))
    # The clock moved to the window's end; a refund at an earlier `at` is applied at the clock.
    assert e.refund("o-1", "1.00", at=NEW_YEAR_MS)[0] == upline.Debit(2, Decimal("1.00"), "clawback")
    assert e.clock == NEW_YEAR_MS + 14 * DAY


def test_a_late_clock_closes_the_window_for_an_early_at() -> None:
    """An event is applied at max(clock, at): once the clock has passed the window, an `at`
    inside it does not reopen it."""
    e = engine(refund_window_days=1)
    e.suspend(1, at=NEW_YEAR_MS + 2 * DAY)
    with pytest.raises(upline.RefundWindowClosed):
        e.refund("o-1", at=NEW_YEAR_MS + 1)
