"""Beijing wall-clock times as the engine's µs UTC, for tests that tell their story in local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auction.domain.china import CST

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cst(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0, micro: int = 0) -> int:
    """µs UTC of a Beijing wall-clock time."""
    return (datetime(y, m, d, h, mi, s, micro, tzinfo=CST) - _EPOCH) // timedelta(microseconds=1)
