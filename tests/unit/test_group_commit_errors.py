"""One error answers a whole group-commit batch (auction/store/events.py `GroupCommit`): each
caller raises it as it was made, not with the frames of every caller that raised it before."""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

from auction.domain.bidding.events import BidderQualified
from auction.store.events import GroupCommit, Recorded, _Pending


class NoDatabase:
    async def acquire(self) -> Any:
        raise OSError("the database is gone")

    async def release(self, con: Any) -> None:
        return None


def test_a_batch_error_reaches_each_caller_with_a_traceback_of_its_own() -> None:
    async def appends() -> list[tuple[int, int]]:
        group = GroupCommit(NoDatabase())  # type: ignore[arg-type]
        seen: list[tuple[int, int]] = []  # (the error's id, its traceback's length) as each caller got it

        async def append(i: int) -> None:
            pending = _Pending([Recorded(f"S-{i}", 1, None, BidderQualified(at=0, bidder_no=1))], 0, (), None)
            try:
                await group.append(pending)
            except OSError as e:
                seen.append((id(e), len(traceback.extract_tb(e.__traceback__))))

        try:
            await asyncio.gather(*(append(i) for i in range(5)))
        finally:
            await group.close()
        return seen

    seen = asyncio.run(appends())
    assert len(seen) == 5
    assert len({error for error, _ in seen}) == 1  # the one error of the batch, raised by every caller
    assert len({length for _, length in seen}) == 1, seen  # each with the writer's frames and its own only
