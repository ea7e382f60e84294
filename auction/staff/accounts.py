"""Console accounts: `auction users add|list|disable`, and the demo accounts of `make run`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import asyncpg

from auction.domain.codes import MESSAGES
from auction.staff.passwords import acceptable, hash_password, random_password, verify_password
from auction.staff.roles import Role
from auction.store.console import ConsoleStore, User

USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,63}")

# DEMO ONLY: random passwords kept in var/demo-accounts.json (mode 600). The committee members'
# user names are their registered member ids (auction/demo/day.py registers their keys, Q26).
DEMO_ACCOUNTS = (
    ("demo-operator", "演示操作员", Role.OPERATOR),
    ("demo-member-1", "演示委员 张明", Role.COMMITTEE),
    ("demo-member-2", "演示委员 李华", Role.COMMITTEE),
    ("demo-member-3", "演示委员 王芳", Role.COMMITTEE),
    ("demo-auditor", "演示审计员", Role.AUDITOR),
)


async def add_user(pool: asyncpg.Pool, username: str, display_name: str, role: Role, password: str) -> User:
    if not USERNAME.fullmatch(username):
        raise ValueError("user name: 2-64 of a-z 0-9 _ . - (starting with a letter or digit)")
    why = acceptable(password)
    if why is not None:
        raise ValueError(f"{why.value}: {MESSAGES[why]}")
    user = User(username, display_name.strip() or username, role)
    await ConsoleStore(pool).put_user(user, await asyncio.to_thread(hash_password, password))
    return user


def _write_private(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
    path.chmod(0o600)


async def demo_accounts(pool: asyncpg.Pool, accounts_file: Path) -> list[dict[str, str]]:
    """DEMO ONLY: make sure the demo accounts exist with the passwords in `accounts_file`
    (random the first time), and return them to print."""
    saved: dict[str, str] = {}
    if accounts_file.exists():
        try:
            saved = {a["username"]: a["password"] for a in json.loads(accounts_file.read_text(encoding="utf-8"))}
        except (ValueError, KeyError, TypeError):
            saved = {}
    store = ConsoleStore(pool)
    rows = []
    for username, name, role in DEMO_ACCOUNTS:
        password = saved.get(username) or random_password()
        account = await store.account(username)
        current = (account is not None and not account.disabled and account.user.role is role
                   and await asyncio.to_thread(verify_password, password, account.password_hash))
        if not current:
            await add_user(pool, username, name, role, password)
        rows.append({"username": username, "password": password, "role": role.value, "display_name": name})
    _write_private(accounts_file, rows)
    return rows


# ---------------------------------------------------------------------------
# `auction users ...`


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("users", help="operator console accounts (operator, committee member, auditor)")
    actions = p.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create an account or reset its role and password")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=[r.value.lower() for r in Role])
    add.add_argument("--display-name", default="", help="the person's name as the console shows it")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    actions.add_parser("list", help="list the accounts")
    disable = actions.add_parser("disable", help="disable an account and sign it out everywhere")
    disable.add_argument("username")


async def run(args: argparse.Namespace, dsn: str) -> int:
    """`dsn` is the server's login: the CLI has migrated as the owner before (cli._migrated)."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    try:
        if args.action == "add":
            if args.password_stdin:
                password = sys.stdin.readline().rstrip("\n")
            else:
                password = getpass.getpass("password: ")
                if getpass.getpass("again: ") != password:
                    print("auction users add: the passwords differ", file=sys.stderr)
                    return 1
            try:
                user = await add_user(pool, args.username, args.display_name, Role(args.role.upper()), password)
            except ValueError as e:
                print(f"auction users add: {e}", file=sys.stderr)
                return 1
            print(f"{user.username} ({user.role.label})")
            return 0
        store = ConsoleStore(pool)
        if args.action == "list":
            for user, disabled in await store.users():
                print(f"{user.username}\t{user.role.value}\t{user.display_name}{'  [disabled]' if disabled else ''}")
            return 0
        if args.action == "disable":
            if not await store.disable(args.username):
                print(f"auction users disable: no account {args.username}", file=sys.stderr)
                return 1
            return 0
    finally:
        await pool.close()
    return 2


async def print_demo_accounts(dsn: str, data_dir: Path, http_url: str) -> None:
    """`make run`: create (or keep) the demo accounts and print them with their passwords."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    try:
        rows = await demo_accounts(pool, data_dir / "demo-accounts.json")
    finally:
        await pool.close()
    print("=== 操作台演示账号 / Demo console accounts (DEMO ONLY) ===")
    print(f"Console: {http_url}/console    Bidder page: {http_url}/bid (sign in with a bidder token above)")
    for row in rows:
        print(f"  {row['username']:<16} {Role(row['role']).label:<32} password: {row['password']}")
    print(f"Passwords saved in {data_dir / 'demo-accounts.json'} (mode 600).\n")
