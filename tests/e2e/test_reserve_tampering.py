"""The sealed reserve at the close, when something is wrong (RULES 2.4, Q26).

- The envelope in `sealed_reserves` (not append-only: the row is an envelope, not
  history) is altered before the close: it no longer opens, the session is HELD
  with `RESERVE_CIPHERTEXT_INVALID`, not decided.
- The envelope is replaced by a valid one for another amount (anyone can seal to
  the public key): it opens, but fails the commitment published at the open, so
  the session is HELD with `RESERVE_COMMITMENT_MISMATCH`. The commitment itself
  cannot be changed: the event log refuses updates.
- The escrow key is locked at the close: HELD with `RESERVE_UNAVAILABLE`; once
  the custodians unlock it, the close procedure runs again and decides.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from auction.adapters.sealing.escrow import ReserveSealer
from loadtests.harness import ROOT, TEST_ESCROW_PASSPHRASE
from tests.conftest import ServerProcess
from tests.e2e.helpers import WAN, Api, WsClient, close_all, wait_opened
from tests.e2e.plan_flow import COMPRESSED, START_PRICE, Committee, announced_plan, ok, session_of

RESERVE = 5_050 * WAN + 7


async def sealed_session(api: Api, committee: Committee) -> tuple[str, str, str]:
    """An auction from an announced plan with its reserve sealed, one qualified bidder
    who has bid above the reserve: (session id, its bidder token, the salt)."""
    # 4 s to beat the (compressed) announcement period, 10 s to be ready before the start.
    plan_id, _ = await announced_plan(api, "AUCTION", start_in=10.0)
    session_id = await session_of(api, plan_id, countdown=3)
    decision = await committee.decision(plan_id, RESERVE)
    await ok(api, f"/api/plans/{plan_id}/reserve", decision)
    bidder = await api.qualify(session_id)
    return session_id, bidder.token, decision["salt"]


async def bid_and_wait_for_the_close(server: ServerProcess, session_id: str, token: str) -> dict[str, object]:
    client = await WsClient.join(server.ws, session_id, token)
    try:
        await wait_opened(client)
        assert (await client.bid(START_PRICE + 100 * WAN))["type"] == "ack"
        return await client.wait_for(
            lambda m: m.get("type") == "event" and m["event"] in ("SessionClosed", "CloseHeld"), 30, "the close")
    finally:
        await close_all(client)


async def test_an_altered_envelope_or_commitment_holds_the_session(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_factory(**COMPRESSED)
    server.start()
    public = tmp_path / "shared-keys" / "escrow.pub"  # the deployment's escrow public key (conftest)
    async with Api(server) as api:
        committee = await Committee.register(api, tmp_path, 2)
        (altered, altered_token, _), (swapped, swapped_token, salt) = await asyncio.gather(
            sealed_session(api, committee), sealed_session(api, committee))
        con = await asyncpg.connect(server.dsn)
        try:
            await con.execute(
                """UPDATE sealed_reserves SET ciphertext = set_byte(ciphertext, 40, get_byte(ciphertext, 40) # 1)
                    WHERE session_id = $1""", altered)
            other = ReserveSealer.from_files(public, None).seal(swapped, RESERVE - 1, salt=salt)
            await con.execute("UPDATE sealed_reserves SET key_id = $2, nonce = $3, ciphertext = $4 "
                              "WHERE session_id = $1", swapped, other.key_id, other.nonce, other.ciphertext)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):  # the commitment is in the append-only log
                await con.execute("UPDATE session_events SET payload = jsonb_set(payload, '{commitment}', "
                                  "to_jsonb($2::text)) WHERE session_id = $1 AND type = 'ReserveSealed'",
                                  swapped, other.commitment)
        finally:
            await con.close()

        held = await asyncio.gather(bid_and_wait_for_the_close(server, altered, altered_token),
                                    bid_and_wait_for_the_close(server, swapped, swapped_token))
        assert [(h["event"], h["data"]) for h in held] == [
            ("CloseHeld", {"reason": "RESERVE_CIPHERTEXT_INVALID"}),
            ("CloseHeld", {"reason": "RESERVE_COMMITMENT_MISMATCH"}),
        ]
        for session_id, reason in ((altered, "RESERVE_CIPHERTEXT_INVALID"), (swapped, "RESERVE_COMMITMENT_MISMATCH")):
            again = await api.post(f"/api/sessions/{session_id}/close")  # running the close again decides nothing
            assert again.status_code == 200, again.text
            state = again.json()["state"]
            assert (state["phase"], state["end_reason"], state.get("outcome")) == ("HELD", reason, None)
            assert "SessionClosed" not in [e["type"] for e in await api.events(session_id)]


async def test_a_locked_escrow_key_holds_the_close_until_it_is_unlocked(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    # The key ceremony: the custodians make the escrow key; the server starts without its passphrase.
    keys = tmp_path / "shared-keys"
    env = {**os.environ, "AUCTION_ESCROW_KEY": str(keys / "escrow.key"),
           "AUCTION_ESCROW_PUBLIC_KEY": str(keys / "escrow.pub"), "AUCTION_ESCROW_PASSPHRASE": TEST_ESCROW_PASSPHRASE}
    subprocess.run([sys.executable, "-m", "auction.cli", "keys", "init"], env=env, check=True, cwd=ROOT,
                   capture_output=True)
    server = server_factory(**COMPRESSED, AUCTION_ESCROW_PASSPHRASE="")
    server.start()
    async with Api(server) as api:
        committee = await Committee.register(api, tmp_path, 2)
        session_id, token, salt = await sealed_session(api, committee)  # sealing needs only the public key
        held = await bid_and_wait_for_the_close(server, session_id, token)
        assert (held["event"], held["data"]) == ("CloseHeld", {"reason": "RESERVE_UNAVAILABLE"})
        still = (await api.post(f"/api/sessions/{session_id}/close")).json()["state"]
        assert (still["phase"], still["end_reason"]) == ("HELD", "RESERVE_UNAVAILABLE")

        wrong = await api.post("/api/escrow/unlock", {"passphrase": "a wrong passphrase"})
        assert wrong.json()["error"]["code"] == "ESCROW_PASSPHRASE_WRONG"
        r = await api.post("/api/escrow/unlock", {"passphrase": TEST_ESCROW_PASSPHRASE})
        assert r.status_code == 200 and r.json()["unlocked"] is True
        closed = (await api.post(f"/api/sessions/{session_id}/close")).json()["state"]
        assert closed["phase"] == "CLOSED"
        assert (closed["outcome"]["outcome"], closed["outcome"]["reserve_fen"], closed["outcome"]["reserve_salt"]) == (
            "SOLD", RESERVE, salt)
        assert (await api.verify(session_id))["ok"] is True
