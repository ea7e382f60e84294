"""Configuration from the environment, read once at start-up (never at import)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from auction.domain.plan_terms import PlanRules
from auction.domain.terms import DAY, HOUR, SECOND, SessionRules


def _int(env: dict[str, str], name: str, default: int) -> int:
    value = env.get(name)
    return int(value) if value not in (None, "") else default


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value in (None, ""):
        return default
    return value.lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None  # None: embedded PostgreSQL in data_dir
    redis_url: str | None = None  # set: fan-out across nodes over Redis; None: in-process (one node)
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = 8000
    operator_key: str = ""  # bearer key for the operator API
    escrow_public_key_file: Path = Path("var/keys/escrow.pub")
    escrow_private_key_file: Path = Path("var/keys/escrow.key")
    escrow_passphrase: str = ""  # unlocks the escrow key at start-up; else POST /api/escrow/unlock
    node_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    rules: SessionRules = field(default_factory=SessionRules)
    plan_rules: PlanRules = field(default_factory=PlanRules)  # copied into each plan when drafted
    ws_max_message_bytes: int = 8 * 1024
    ws_send_queue: int = 256  # messages a slow connection may lag before it is closed (4008)
    heartbeat_seconds: float = 15.0
    hello_timeout_seconds: float = 10.0
    node_beat_seconds: float = 2.0
    token_ttl_days: int = 30
    pool_size: int = 20
    demo: bool = False
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        data_dir = Path(e.get("AUCTION_DATA_DIR", "var"))
        rules = SessionRules(
            min_listing_period=_int(e, "AUCTION_MIN_LISTING_SECONDS", 10 * DAY // 1_000_000) * 1_000_000,
            timed_bidding_min_bidders=_int(e, "AUCTION_TIMED_BIDDING_MIN_BIDDERS", 2),
            auction_min_bidders=_int(e, "AUCTION_MIN_BIDDERS", 1),
            whole_increments=_bool(e, "AUCTION_WHOLE_INCREMENTS", False),
            allow_self_outbid=_bool(e, "AUCTION_ALLOW_SELF_OUTBID", False),
        )
        plan_rules = PlanRules(
            # Q29: at least 20 days from the announcement to the start.
            min_announcement_period=_int(e, "AUCTION_ANNOUNCEMENT_MIN_SECONDS", 20 * DAY // SECOND) * SECOND,
            min_listing_period=rules.min_listing_period,  # N Art.18, the same setting as sessions
            # RULES 3.4: a listing's registration closes at least this long before its end.
            registration_lead=_int(e, "AUCTION_REGISTRATION_LEAD_SECONDS", 2 * DAY // SECOND) * SECOND,
            # Q26: the reserve is decided within the hour before the start ...
            reserve_window=_int(e, "AUCTION_RESERVE_WINDOW_SECONDS", HOUR // SECOND) * SECOND,
            # ... collectively, by at least this many members.
            reserve_min_members=_int(e, "AUCTION_RESERVE_MIN_MEMBERS", 2),
        )
        return cls(
            database_url=e.get("DATABASE_URL") or None,
            redis_url=e.get("REDIS_URL") or None,
            data_dir=data_dir,
            host=e.get("AUCTION_HOST", "127.0.0.1"),
            port=_int(e, "AUCTION_PORT", 8000),
            operator_key=e.get("AUCTION_OPERATOR_KEY", ""),
            escrow_public_key_file=Path(e.get("AUCTION_ESCROW_PUBLIC_KEY", str(data_dir / "keys" / "escrow.pub"))),
            escrow_private_key_file=Path(e.get("AUCTION_ESCROW_KEY", str(data_dir / "keys" / "escrow.key"))),
            escrow_passphrase=e.get("AUCTION_ESCROW_PASSPHRASE", ""),
            rules=rules,
            plan_rules=plan_rules,
            ws_send_queue=_int(e, "AUCTION_WS_SEND_QUEUE", 256),
            heartbeat_seconds=float(e.get("AUCTION_HEARTBEAT_SECONDS", "15")),
            hello_timeout_seconds=float(e.get("AUCTION_HELLO_TIMEOUT_SECONDS", "10")),
            pool_size=_int(e, "AUCTION_DB_POOL_SIZE", 20),
            log_level=e.get("AUCTION_LOG_LEVEL", "INFO"),
        )
