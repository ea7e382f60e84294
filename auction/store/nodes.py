"""The server nodes' heartbeats (`node_heartbeats`): who is alive, and until when the service was.

Each node registers at start-up and beats every few seconds; RULES 7.5's
recovery asks until when the service was known alive (the latest beat of any
node), and a node without Redis warns when another node beat recently.
"""

from __future__ import annotations

from auction.store import Executor
from auction.store.events import to_micros


async def last_beat(db: Executor, started_before: int | None = None) -> int | None:
    """The latest beat of any node (µs UTC), or None: the service was never up.

    `started_before` (µs UTC): only nodes that started before it count. A node starting up
    passes its own start, so that the nodes of the same restart (`auction serve --workers N`,
    or several hosts back after one outage), which register while it waits for the
    migrations, are not taken for a service that stayed alive through the outage."""
    at = await db.fetchval(
        "SELECT max(beat_at) FROM node_heartbeats"
        " WHERE $1::bigint IS NULL OR started_at < to_timestamp($1::bigint / 1000000.0)",
        started_before)
    return to_micros(at) if at is not None else None


async def others_beating(db: Executor, node_id: str) -> list[str]:
    """The other nodes that beat in the last 10 seconds."""
    rows = await db.fetch(
        "SELECT node_id FROM node_heartbeats WHERE node_id <> $1 AND beat_at > now() - interval '10 seconds'",
        node_id,
    )
    return [r["node_id"] for r in rows]


async def register(db: Executor, node_id: str) -> None:
    """This node starts: its start and its first beat are now."""
    await db.execute(
        """INSERT INTO node_heartbeats (node_id, started_at, beat_at) VALUES ($1, now(), now())
           ON CONFLICT (node_id) DO UPDATE SET started_at = now(), beat_at = now()""",
        node_id,
    )


async def beat(db: Executor, node_id: str) -> None:
    await db.execute("UPDATE node_heartbeats SET beat_at = now() WHERE node_id = $1", node_id)


async def ping(db: Executor) -> None:
    """Raises if the database does not answer (the health check)."""
    await db.fetchval("SELECT 1")
