"""auction/bootstrap.py against a real database: the parts it builds, the one reactions
table it writes, and a start and stop of a node (heartbeat, recovery, timers)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from auction import bootstrap
from auction.adapters.keys import demo_keys
from auction import reactions as r
from auction.settings import Settings
from auction.store import nodes


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    plain = Settings.from_env({"AUCTION_DATA_DIR": str(tmp_path), "AUCTION_DB_ROLE": ""})
    return replace(demo_keys(plain), node_id="node-boot", deadline_sweep_seconds=3600)


async def test_one_table_of_reactions_written_once(settings: Settings, database: str) -> None:
    runtime = await bootstrap.build(settings, database)
    try:
        # One node (no REDIS_URL): nothing comes over fan-out, so nothing follows it.
        assert runtime.reactions.kinds() == {
            r.WakeupChanged: 1, r.SessionFinal: 1, r.HeldAfterClose: 1, r.DeadlineWritten: 1,
            r.PlanAppended: 1, r.PublicAppended: 1, r.TenderDue: 1, r.TenderFinal: 1,
        }
        with pytest.raises(RuntimeError):
            runtime.reactions.on(r.SessionFinal, lambda e: None)
        # Every part shares the one table.
        for part in (runtime.service, runtime.plans, runtime.deposits, runtime.deadlines, runtime.tenders):
            assert part.reactions is runtime.reactions
        assert set(runtime.state()) == {"service", "plans", "publisher", "deposits", "deadlines", "limits",
                                        "refusals", "portal", "metrics", "transparency", "tenders"}
    finally:
        await runtime.stop()


async def test_with_redis_fan_out_also_follows_other_nodes(settings: Settings, database: str) -> None:
    runtime = await bootstrap.build(replace(settings, redis_url="redis://127.0.0.1:1"), database)  # never started
    try:
        kinds = runtime.reactions.kinds()
        assert kinds[r.AppendedElsewhere] == 1 and kinds[r.FollowersBehind] == 1
    finally:
        await runtime.stop()


async def test_a_node_beats_from_its_start_and_knows_until_when_the_service_was_alive(
    settings: Settings, database: str
) -> None:
    async with bootstrap.running(settings, database) as first:
        assert first.last_alive is None  # a new database: never alive before
        assert first.timers.scheduler.running and first.deadline_timers.scheduler.running
        assert await nodes.last_beat(first.pool) is not None
    async with bootstrap.running(replace(settings, node_id="node-boot-2"), database) as second:
        assert second.last_alive is not None  # the first node's last beat, read before this one's
        assert await nodes.others_beating(second.pool, "node-boot-2") == [settings.node_id]  # its last beat


async def test_the_nodes_of_one_restart_do_not_count_as_alive_through_the_outage(
    settings: Settings, database: str
) -> None:
    """RULES 7.5, 6.7: `auction serve --workers 2` after an outage starts both workers at once;
    the second waits for the first's migrations, and must not take the first's fresh beat for a
    service that stayed alive while it was down: it reads the beats of nodes started before it."""
    async with bootstrap.running(settings, database):
        pass  # a node ran, and stopped: its last beat is from before the outage
    before_outage = await _last_beat(database)
    # The second worker's process starts (booted_at), then waits; the first registers and beats.
    second = await bootstrap.build(replace(settings, node_id="node-boot-b"), database)
    async with bootstrap.running(replace(settings, node_id="node-boot-a"), database):
        await second.start()
        try:
            assert second.last_alive == before_outage  # not the other worker's beat of a moment ago
        finally:
            await second.stop()


async def _last_beat(database: str) -> int | None:
    import asyncpg

    con = await asyncpg.connect(database)
    try:
        return await nodes.last_beat(con)
    finally:
        await con.close()


def test_a_killed_earlier_run_on_this_host_is_not_taken_for_another_node() -> None:
    """After `kill -9` and a restart, the dead process's last beat is not "another node"."""
    import os
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = socket.gethostname()
    assert not bootstrap.maybe_running(f"{host}-{int(dead.stdout)}")
    assert bootstrap.maybe_running(f"{host}-{os.getpid()}")  # alive
    assert bootstrap.maybe_running(f"another-host-{int(dead.stdout)}")  # another machine: cannot tell
    assert bootstrap.maybe_running("node-boot-2")  # not a host-pid id
