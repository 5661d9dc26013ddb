"""Time in one place, so tests and rebuilds can pin "now"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware in UTC (or the time frozen by ``frozen_at``)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Pin ``now()`` to ``moment`` inside the block (for tests and reproducible reports)."""
    global _frozen
    previous, _frozen = _frozen, to_utc(moment)
    try:
        yield
    finally:
        _frozen = previous


def to_utc(moment: datetime) -> datetime:
    """A timezone-aware UTC datetime; naive values are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_timestamp(value: str) -> datetime:
    """Parse an ISO-8601 timestamp (``Z`` suffix allowed) into aware UTC; ValueError if not one."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return to_utc(datetime.fromisoformat(text))


def iso(moment: datetime) -> str:
    """The canonical text form Monogram stores: UTC, millisecond precision, ``Z`` suffix."""
    if moment.tzinfo is not UTC:
        moment = to_utc(moment)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
