"""Configuration from the environment, read once at start-up (never at import)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from auction.domain.clock.deadlines import ClockRules
from auction.domain.plan.plan_terms import PlanRules
from auction.domain.bidding.terms import DAY, HOUR, SECOND, SessionRules


def _int(env: dict[str, str], name: str, default: int) -> int:
    value = env.get(name)
    return int(value) if value not in (None, "") else default


def bank_secrets(value: str) -> dict[str, str]:
    """AUCTION_BANK_SECRETS="bankid:secret,bankid2:secret2" -> {bankid: secret}."""
    found: dict[str, str] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        bank_id, sep, secret = item.strip().partition(":")
        if not sep or not bank_id or len(secret) < 16:
            raise ValueError("AUCTION_BANK_SECRETS: expected bankid:secret pairs, secrets of 16+ characters")
        found[bank_id] = secret
    return found


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value in (None, ""):
        return default
    return value.lower() in ("1", "true", "yes", "on")


def _choice(env: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    """One of `allowed` (the first when unset), else a ValueError naming them."""
    value = (env.get(name) or allowed[0]).strip().lower()
    if value not in allowed:
        raise ValueError(f"{name}: expected one of {', '.join(allowed)}, not {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str | None = field(default=None, repr=False)  # the server's login; None: embedded PostgreSQL
    migration_url: str | None = field(default=None, repr=False)  # the schema owner's login (migrations)
    redis_url: str | None = None  # set: fan-out across nodes over Redis; None: in-process (one node)
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = 8000
    operator_key: str = ""  # bearer key for the operator API
    escrow_public_key_file: Path = Path("var/keys/escrow.pub")
    escrow_private_key_file: Path = Path("var/keys/escrow.key")
    escrow_passphrase: str = ""  # unlocks the escrow key at start-up; else POST /api/escrow/unlock
    # The transparency log (docs/protocol.md): the center's Ed25519 key signing tree heads and
    # receipts (made if missing), and how long bidding may run before the next signed head.
    transparency_key_file: Path = Path("var/keys/transparency.key")
    tree_head_seconds: float = 5.0
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
    db_role: str = "auction_app"  # the server's role: the embedded login, else what the pool SET ROLEs to; "" to skip
    group_commit_writers: int = 2  # concurrent batched appends (store/events.py GroupCommit); 0: one statement per append
    demo: bool = False
    # The stand-ins (a session without a plan, a bidder without a deposit, Q31) exist only in
    # demo mode or with AUCTION_STAND_INS=on: tests and demos only, never in production.
    stand_ins: bool = False
    # Deposits and the legal clock (RULES 8-9). Secrets per bank id, never logged (repr=False).
    bank_secrets: dict[str, str] = field(default_factory=dict, repr=False)
    bank_max_skew_seconds: int = 300  # a notification's X-Timestamp within ±this of the server clock
    clock_rules: ClockRules = field(default_factory=ClockRules)
    seller_name: str = "曲靖市自然资源和规划局"  # 出让人, on the transaction confirmation
    contract_place: str = "曲靖市自然资源和规划局"  # where the winner signs the transfer contract (Q42)
    trading_center: str = "曲靖市公共资源交易中心"  # Q30: every trade goes through it
    deadline_sweep_seconds: float = 60.0  # how often the clock re-reads calendars and catches up
    # Publication (docs/publication.md). AUCTION_CHANNELS holds URLs and HMAC keys: never logged.
    publication_channels: str = field(default="", repr=False)  # "name=url|key[|json|xml],..."
    region_code: str = "530300"  # 行政区划代码 of the seller (曲靖市), in the unified deal code
    divisions_file: str = ""  # a newer 行政区划 table laid over the shipped one (auction/services/divisions.py)
    publication_retry_base_seconds: float = 2.0  # back-off: base x 2^(attempt-1), with jitter
    publication_retry_cap_seconds: float = 600.0
    publication_max_attempts: int = 30  # then FAILED until an operator retries
    publication_timeout_seconds: float = 10.0
    publication_poll_seconds: float = 1.0
    log_level: str = "INFO"
    # Input edges (README "Security"): the largest HTTP request body, the time a client has
    # to send its request headers, and the address public pages and the feed link to.
    max_body_bytes: int = 1024 * 1024
    # A sealed tender bid carries its proposal file (base64, then hex in the envelope: some 2.7 bytes a byte).
    tender_bid_max_bytes: int = 24 * 1024 * 1024
    header_timeout_seconds: float = 10.0
    public_base_url: str = ""  # "": http://{host}:{port}

    @property
    def base_url(self) -> str:
        """Where the public pages are reached: absolute links never come from a request's Host."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def stand_ins_on(self) -> bool:
        """`POST /api/sessions` and `POST /api/sessions/{id}/bidders` (and their console forms) exist."""
        return self.demo or self.stand_ins
    # Abuse limits per client address (auction/entrypoints/http/limits.py; README, Security).
    sign_in_free_failures: int = 5  # failed console sign-ins per account and address before the back-off
    sign_in_free_failures_per_address: int = 50  # ... and per address, whatever the account names
    sign_in_backoff_seconds: float = 1.0  # the first wait; it doubles with each further failure
    sign_in_backoff_cap_seconds: float = 900.0
    ws_max_watchers_per_address: int = 200  # open watcher WebSockets (bidders with a valid token always get in)
    ws_token_failures_per_minute: int = 20  # failed bidder tokens in hellos
    api_key_failures_per_minute: int = 20  # wrong operator keys on the API
    audit_rollup_seconds: float = 60.0  # unauthenticated refusals: one audit row per address, kind and period
    # Operability (docs/operations.md): who may scrape GET /metrics, and the log lines' format.
    metrics: str = "operator"  # "off" (no route), "operator" (the operator key, as the API), "open"
    log_format: str = "text"  # "text", or "json": one JSON object per line

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
            signed_bids=_bool(e, "AUCTION_SIGNED_BIDS", False),
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
            migration_url=e.get("AUCTION_MIGRATION_URL") or None,
            redis_url=e.get("REDIS_URL") or None,
            data_dir=data_dir,
            host=e.get("AUCTION_HOST", "127.0.0.1"),
            port=_int(e, "AUCTION_PORT", 8000),
            operator_key=e.get("AUCTION_OPERATOR_KEY", ""),
            escrow_public_key_file=Path(e.get("AUCTION_ESCROW_PUBLIC_KEY", str(data_dir / "keys" / "escrow.pub"))),
            escrow_private_key_file=Path(e.get("AUCTION_ESCROW_KEY", str(data_dir / "keys" / "escrow.key"))),
            escrow_passphrase=e.get("AUCTION_ESCROW_PASSPHRASE", ""),
            transparency_key_file=Path(e.get("AUCTION_TRANSPARENCY_KEY")
                                       or str(data_dir / "keys" / "transparency.key")),
            tree_head_seconds=float(e.get("AUCTION_TREE_HEAD_SECONDS") or "5"),
            rules=rules,
            plan_rules=plan_rules,
            ws_send_queue=_int(e, "AUCTION_WS_SEND_QUEUE", 256),
            heartbeat_seconds=float(e.get("AUCTION_HEARTBEAT_SECONDS", "15")),
            hello_timeout_seconds=float(e.get("AUCTION_HELLO_TIMEOUT_SECONDS", "10")),
            pool_size=_int(e, "AUCTION_DB_POOL_SIZE", 20),
            group_commit_writers=_int(e, "AUCTION_GROUP_COMMIT_WRITERS", 2),
            db_role=e.get("AUCTION_DB_ROLE", "auction_app"),
            log_level=e.get("AUCTION_LOG_LEVEL", "INFO"),
            stand_ins=_bool(e, "AUCTION_STAND_INS", False),
            max_body_bytes=_int(e, "AUCTION_MAX_BODY_BYTES", 1024 * 1024),
            tender_bid_max_bytes=_int(e, "AUCTION_TENDER_BID_MAX_BYTES", 24 * 1024 * 1024),
            header_timeout_seconds=float(e.get("AUCTION_HEADER_TIMEOUT_SECONDS") or "10"),
            public_base_url=e.get("AUCTION_PUBLIC_BASE_URL", ""),
            sign_in_free_failures=_int(e, "AUCTION_SIGN_IN_FREE_FAILURES", 5),
            sign_in_free_failures_per_address=_int(e, "AUCTION_SIGN_IN_FREE_FAILURES_PER_ADDRESS", 50),
            sign_in_backoff_seconds=float(e.get("AUCTION_SIGN_IN_BACKOFF_SECONDS") or "1"),
            sign_in_backoff_cap_seconds=float(e.get("AUCTION_SIGN_IN_BACKOFF_CAP_SECONDS") or "900"),
            ws_max_watchers_per_address=_int(e, "AUCTION_WS_MAX_WATCHERS_PER_ADDRESS", 200),
            ws_token_failures_per_minute=_int(e, "AUCTION_WS_TOKEN_FAILURES_PER_MINUTE", 20),
            api_key_failures_per_minute=_int(e, "AUCTION_API_KEY_FAILURES_PER_MINUTE", 20),
            audit_rollup_seconds=float(e.get("AUCTION_AUDIT_ROLLUP_SECONDS") or "60"),
            bank_secrets=bank_secrets(e.get("AUCTION_BANK_SECRETS", "")),
            bank_max_skew_seconds=_int(e, "AUCTION_BANK_MAX_SKEW_SECONDS", 300),
            clock_rules=ClockRules(
                refund_working_days=_int(e, "AUCTION_REFUND_WORKING_DAYS", 3),  # Q31 (N Art.21 allows 5)
                publication_working_days=_int(e, "AUCTION_PUBLICATION_WORKING_DAYS", 10),  # Q29
                publication_warn_working_days=_int(e, "AUCTION_PUBLICATION_WARN_WORKING_DAYS", 2),
                contract_working_days=_int(e, "AUCTION_CONTRACT_WORKING_DAYS", 10),  # Q42
                q32_notice_working_days=_int(e, "AUCTION_Q32_NOTICE_WORKING_DAYS", 3),  # Q32
            ),
            seller_name=e.get("AUCTION_SELLER_NAME") or "曲靖市自然资源和规划局",
            contract_place=e.get("AUCTION_CONTRACT_PLACE") or "曲靖市自然资源和规划局",
            trading_center=e.get("AUCTION_TRADING_CENTER") or "曲靖市公共资源交易中心",
            deadline_sweep_seconds=float(e.get("AUCTION_DEADLINE_SWEEP_SECONDS", "60")),
            publication_channels=e.get("AUCTION_CHANNELS", ""),
            region_code=e.get("AUCTION_REGION_CODE") or "530300",
            divisions_file=e.get("AUCTION_DIVISIONS_FILE", ""),
            publication_retry_base_seconds=float(e.get("AUCTION_PUBLICATION_RETRY_BASE_SECONDS", "2")),
            publication_retry_cap_seconds=float(e.get("AUCTION_PUBLICATION_RETRY_CAP_SECONDS", "600")),
            publication_max_attempts=_int(e, "AUCTION_PUBLICATION_MAX_ATTEMPTS", 30),
            publication_timeout_seconds=float(e.get("AUCTION_PUBLICATION_TIMEOUT_SECONDS", "10")),
            publication_poll_seconds=float(e.get("AUCTION_PUBLICATION_POLL_SECONDS", "1")),
            metrics=_choice(e, "AUCTION_METRICS", ("operator", "open", "off")),
            log_format=_choice(e, "AUCTION_LOG_FORMAT", ("text", "json")),
        )
