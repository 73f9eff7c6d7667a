"""Rayonne's notion of "now". Real time in production; tests (and the sandbox demo) can move it.

Business decisions (posts falling due, pacing, the Monday report) read `now()`, so a test can
simulate weeks in seconds, alongside the Graph API sandbox's own clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)
_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC) + _offset


def freeze(moment: datetime) -> None:
    """Stop the clock at `moment` (tests)."""
    global _frozen
    if moment.tzinfo is None:
        raise ValueError("freeze() needs a timezone-aware datetime")
    _frozen = moment.astimezone(UTC)


def advance(delta: timedelta) -> datetime:
    """Move the clock forward (frozen or not); returns the new now."""
    global _frozen, _offset
    if _frozen is not None:
        _frozen += delta
    else:
        _offset += delta
    return now()


def reset() -> None:
    """Back to real time."""
    global _frozen, _offset
    _frozen, _offset = None, timedelta(0)
