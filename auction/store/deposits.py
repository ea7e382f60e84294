"""Applications, the deposit ledger and bank notifications in PostgreSQL.

The ledger is append-only (`ledger_entries`, `ledger_postings`); the database
itself refuses an entry whose postings do not sum to zero at commit. The pure
`DepositLedger` is rebuilt from the rows it needs: every entry that touches a
given ledger ref (a sub-account, or `txn:<id>` for unmatched money) plus any
entry asked for by id. Each entry touches one ref besides BANK_CLEARING, so
that subset is a consistent ledger for those refs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from auction.domain.codes import Code
from auction.domain.deposit.deposits import Application, Payment
from auction.domain.deposit.ledger import Account, AccountKind, DepositLedger, Entry, EntryKind, Posting
from auction.store import Executor
from auction.store.events import to_datetime, to_micros


@dataclass(frozen=True)
class ApplicationRow:
    application_id: str
    session_id: str
    kind: str
    legal_name: str
    registration_no: str
    sub_account: str
    required_fen: int
    deposit_deadline: int  # µs UTC
    bidder_no: int | None
    qualified_at: int | None
    qualification_refused: str | None
    token_issued_at: int | None
    created_at: datetime

    @property
    def domain(self) -> Application:
        return Application(self.application_id, self.sub_account, self.legal_name, self.registration_no)


APPLICATION_COLUMNS = """application_id, session_id, kind, legal_name, registration_no, sub_account, required_fen,
    deposit_deadline, bidder_no, qualified_at, qualification_refused, token_issued_at, created_at"""


def _application(r: asyncpg.Record) -> ApplicationRow:
    return ApplicationRow(
        application_id=r["application_id"],
        session_id=r["session_id"],
        kind=r["kind"],
        legal_name=r["legal_name"],
        registration_no=r["registration_no"],
        sub_account=r["sub_account"],
        required_fen=r["required_fen"],
        deposit_deadline=to_micros(r["deposit_deadline"]),
        bidder_no=r["bidder_no"],
        qualified_at=to_micros(r["qualified_at"]) if r["qualified_at"] else None,
        qualification_refused=r["qualification_refused"],
        token_issued_at=to_micros(r["token_issued_at"]) if r["token_issued_at"] else None,
        created_at=r["created_at"],
    )


async def insert_application(con: Executor, row: ApplicationRow) -> None:
    """Raises asyncpg.UniqueViolationError on a taken sub-account or registration number."""
    await con.execute(
        f"""INSERT INTO applications ({APPLICATION_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL, NULL, $9)""",
        row.application_id, row.session_id, row.kind, row.legal_name, row.registration_no, row.sub_account,
        row.required_fen, to_datetime(row.deposit_deadline), row.created_at,
    )


async def application(con: Executor, application_id: str, *, for_update: bool = False) -> ApplicationRow | None:
    lock = " FOR UPDATE" if for_update else ""
    r = await con.fetchrow(f"SELECT {APPLICATION_COLUMNS} FROM applications WHERE application_id = $1{lock}",
                           application_id)
    return _application(r) if r is not None else None


async def application_by_sub_account(con: Executor, sub_account: str) -> ApplicationRow | None:
    r = await con.fetchrow(f"SELECT {APPLICATION_COLUMNS} FROM applications WHERE sub_account = $1", sub_account)
    return _application(r) if r is not None else None


async def application_by_bidder(con: Executor, session_id: str, bidder_no: int) -> ApplicationRow | None:
    r = await con.fetchrow(
        f"SELECT {APPLICATION_COLUMNS} FROM applications WHERE session_id = $1 AND bidder_no = $2",
        session_id, bidder_no,
    )
    return _application(r) if r is not None else None


async def set_qualified(con: Executor, application_id: str, bidder_no: int, at: datetime) -> None:
    await con.execute(
        "UPDATE applications SET bidder_no = $2, qualified_at = $3 WHERE application_id = $1",
        application_id, bidder_no, at,
    )


async def set_qualification_refused(con: Executor, application_id: str, code: str) -> None:
    """The deposit is complete but the engine refused the qualification (e.g. REGISTRATION_CLOSED)."""
    await con.execute(
        "UPDATE applications SET qualification_refused = $2 WHERE application_id = $1", application_id, code
    )


async def set_token_issued(con: Executor, application_id: str, at: datetime, by: str) -> None:
    await con.execute(
        "UPDATE applications SET token_issued_at = $2, token_issued_by = $3 WHERE application_id = $1",
        application_id, at, by,
    )


async def set_token_reissued(con: Executor, application_id: str, at: datetime, by: str, reason: str) -> None:
    await con.execute(
        """UPDATE applications SET token_reissued_at = $2, token_reissued_by = $3,
                  token_reissue_reason = $4, token_reissues = token_reissues + 1
            WHERE application_id = $1""",
        application_id, at, by, reason,
    )


async def lock_txn(con: asyncpg.Connection, txn_id: str) -> None:
    """Serialise the booking of one bank transaction (transaction-scoped advisory lock)."""
    await con.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"deposit-txn:{txn_id}")


async def applications(con: Executor, session_id: str) -> list[ApplicationRow]:
    rows = await con.fetch(
        f"SELECT {APPLICATION_COLUMNS} FROM applications WHERE session_id = $1 ORDER BY created_at, application_id",
        session_id,
    )
    return [_application(r) for r in rows]


# ---------------------------------------------------------------------------
# the ledger


async def ledger_for(con: Executor, refs: Iterable[str], entry_ids: Iterable[str] = ()) -> DepositLedger:
    """The entries touching any of `refs`, plus those named, in booking order."""
    return DepositLedger.from_entries(await entries_for(con, refs, entry_ids))


async def entries_for(con: Executor, refs: Iterable[str], entry_ids: Iterable[str] = ()) -> list[Entry]:
    rows = await con.fetch(
        """SELECT e.entry_id, e.at, e.kind, e.reason, e.bank_txn_id, e.counterparty, e.note,
                  array_agg(p.account_kind ORDER BY p.n) AS kinds, array_agg(p.account_ref ORDER BY p.n) AS refs,
                  array_agg(p.amount_fen ORDER BY p.n) AS amounts
             FROM ledger_entries e JOIN ledger_postings p USING (entry_id)
            WHERE e.entry_id = ANY($2::text[])
               OR e.entry_id IN (SELECT entry_id FROM ledger_postings WHERE account_ref = ANY($1::text[]))
            GROUP BY e.entry_id
            ORDER BY min(e.position)""",
        list(refs), list(entry_ids),
    )
    return [_entry(r) for r in rows]


async def all_entries(con: Executor) -> list[Entry]:
    rows = await con.fetch(
        """SELECT e.entry_id, e.at, e.kind, e.reason, e.bank_txn_id, e.counterparty, e.note,
                  array_agg(p.account_kind ORDER BY p.n) AS kinds, array_agg(p.account_ref ORDER BY p.n) AS refs,
                  array_agg(p.amount_fen ORDER BY p.n) AS amounts
             FROM ledger_entries e JOIN ledger_postings p USING (entry_id)
            GROUP BY e.entry_id ORDER BY min(e.position)"""
    )
    return [_entry(r) for r in rows]


def _entry(r: asyncpg.Record) -> Entry:
    postings = tuple(
        Posting(Account(AccountKind(kind), ref), amount) for kind, ref, amount in zip(r["kinds"], r["refs"], r["amounts"])
    )
    return Entry(
        entry_id=r["entry_id"],
        at=to_micros(r["at"]),
        kind=EntryKind(r["kind"]),
        postings=postings,
        reason=Code(r["reason"]) if r["reason"] else None,
        bank_txn_id=r["bank_txn_id"],
        counterparty=r["counterparty"],
        note=r["note"],
    )


async def insert_entries(con: asyncpg.Connection, entries: Sequence[Entry], session_id: str | None) -> None:
    """Book new entries (inside the caller's transaction)."""
    for entry in entries:
        await con.execute(
            """INSERT INTO ledger_entries (entry_id, at, kind, reason, bank_txn_id, counterparty, note, session_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            entry.entry_id, to_datetime(entry.at), entry.kind.value, entry.reason.value if entry.reason else None,
            entry.bank_txn_id, entry.counterparty, entry.note, session_id,
        )
        await con.executemany(
            "INSERT INTO ledger_postings (entry_id, n, account_kind, account_ref, amount_fen) VALUES ($1, $2, $3, $4, $5)",
            [(entry.entry_id, n, p.account.kind.value, p.account.ref, p.amount) for n, p in enumerate(entry.postings)],
        )


def new_entries(before: DepositLedger, after: DepositLedger) -> tuple[Entry, ...]:
    """What `after` booked on top of `before` (the pure functions only ever append)."""
    return after.entries[len(before.entries):]


def payment_of(entry: Entry) -> Payment:
    """The bank's payment as a PAYMENT entry recorded it."""
    received = sum(p.amount for p in entry.postings if p.account.kind is AccountKind.BANK_CLEARING)
    return Payment(entry.bank_txn_id, entry.note, received, entry.counterparty, entry.at)


async def check(con: Executor) -> dict[str, Any]:
    """The whole ledger checked twice: in SQL (every entry sums to zero, and so does
    everything) and by replaying every entry through the pure `DepositLedger`."""
    unbalanced = await con.fetch(
        "SELECT entry_id FROM ledger_postings GROUP BY entry_id HAVING sum(amount_fen) <> 0 ORDER BY entry_id"
    )
    totals = await con.fetchrow(
        """SELECT coalesce(sum(amount_fen) FILTER (WHERE amount_fen > 0), 0)::bigint AS debits,
                  coalesce(-sum(amount_fen) FILTER (WHERE amount_fen < 0), 0)::bigint AS credits,
                  count(DISTINCT entry_id) AS entries
             FROM ledger_postings"""
    )
    ledger = DepositLedger.from_entries(await all_entries(con))
    by_kind = {kind.value: ledger.total(kind) for kind in AccountKind}
    sql_ok = not unbalanced and totals["debits"] == totals["credits"]
    return {
        "balanced": sql_ok and ledger.is_balanced(),
        "sql": {"unbalanced_entries": [r["entry_id"] for r in unbalanced], "debits": totals["debits"],
                "credits": totals["credits"], "entries": totals["entries"]},
        "replayed": {"balanced": ledger.is_balanced(), "entries": len(ledger.entries)},
        "totals": by_kind,
        # Every fen received is in exactly one fate (auction/domain/deposit/ledger.py).
        "fates_add_up": by_kind["BANK_CLEARING"] == sum(v for k, v in by_kind.items() if k != "BANK_CLEARING"),
    }


async def unmatched(con: Executor) -> list[Entry]:
    """Money paid to sub-accounts nobody holds (held for refund under its bank transaction)."""
    rows = await con.fetch("SELECT DISTINCT entry_id FROM ledger_postings WHERE account_ref LIKE 'txn:%'")
    return await entries_for(con, [], [r["entry_id"] for r in rows])


# ---------------------------------------------------------------------------
# bank notifications


async def claim_signature(
    con: Executor, bank_id: str, signature: str, sent_at: int, body: str
) -> bool:
    """Record a signed notification; False if this exact signature was seen before (a replay)."""
    status = await con.execute(
        """INSERT INTO bank_notifications (bank_id, signature, sent_at, body) VALUES ($1, $2, $3, $4)
           ON CONFLICT (bank_id, signature) DO NOTHING""",
        bank_id, signature, to_datetime(sent_at), body,
    )
    return bool(status == "INSERT 0 1")


async def notification_outcome(con: Executor, bank_id: str, signature: str, txn_id: str | None, outcome: str) -> None:
    await con.execute(
        "UPDATE bank_notifications SET txn_id = $3, outcome = $4 WHERE bank_id = $1 AND signature = $2",
        bank_id, signature, txn_id, outcome,
    )
