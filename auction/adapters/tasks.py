"""Stopping background tasks: the one way this server does it."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_all(*tasks: asyncio.Future[Any] | None) -> None:
    """Cancel `tasks` (None: nothing was started) and wait until each has ended. What a task
    raised while being stopped is dropped; the caller's own cancellation still reaches it."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
