"""Driving pure domain code in the unit tests: the session's and the supply plan's engines alike.

Both engines are `decide(state, command, now) -> events` and `evolve(state, event) -> state`
(docs/architecture.md); these steps are written once for both, and `refused` for any pure
function that refuses with a `Rejected`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from auction.domain.codes import Code, Rejected, Rejection

S = TypeVar("S")
C = TypeVar("C")
E = TypeVar("E")


def decide_then_evolve(
    decide: Callable[[S, C, int], list[E]], evolve: Callable[[S, E], S], state: S, cmd: C, now: int
) -> tuple[S, list[E]]:
    """The new state and the events `cmd` took."""
    events = decide(state, cmd, now)
    for event in events:
        state = evolve(state, event)
    return state, events


def refusal(decide: Callable[[S, C, int], object], state: S, cmd: C, now: int) -> Rejection:
    """The refusal `cmd` gets; also checks that the refusal left the state as it was."""
    before = copy.deepcopy(state)
    with pytest.raises(Rejected) as info:
        decide(state, cmd, now)
    assert state == before
    return info.value.rejection


def refused(code: Code, op: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """`op(*args, **kwargs)` is refused with `code`."""
    with pytest.raises(Rejected) as caught:
        op(*args, **kwargs)
    assert caught.value.code is code
