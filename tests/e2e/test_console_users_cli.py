"""`auction users add` refuses short and common passwords, with the code and the
message in Chinese and English, and creates nothing."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg

from auction.domain.codes import MESSAGES, Code

ROOT = Path(__file__).resolve().parents[2]


async def _users_add(database: str, tmp_path: Path, name: str, password: str) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": database, "AUCTION_DATA_DIR": str(tmp_path)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "auction.cli", "users", "add", name, "--role", "operator", "--password-stdin",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env, cwd=ROOT,
    )
    out, err = await asyncio.wait_for(proc.communicate(f"{password}\n".encode()), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_users_add_refuses_short_and_common_passwords(database: str, tmp_path: Path) -> None:
    for password, code in (("short-pw", Code.PASSWORD_TOO_SHORT), ("Password2024!", Code.PASSWORD_TOO_COMMON),
                           ("qwertyuiop123", Code.PASSWORD_TOO_COMMON)):
        status, out, err = await _users_add(database, tmp_path, "op-weak", password)
        assert status == 1 and out == "", (out, err)
        assert f"{code.value}: {MESSAGES[code]}" in err and "密码" in err, err
        assert "Traceback" not in err
    status, out, err = await _users_add(database, tmp_path, "op-strong", "plum-kettle-orbit-37")
    assert status == 0 and out.startswith("op-strong"), (out, err)
    con = await asyncpg.connect(database)
    try:
        names = [r["username"] for r in await con.fetch("SELECT username FROM console_users ORDER BY username")]
    finally:
        await con.close()
    assert names == ["op-strong"]
