"""Delivery channels (Q29, RULES 3.3): where documents are posted, and how they are signed.

AUCTION_CHANNELS="landchina=https://host/receive|KEY,province=https://host2/in|KEY2|xml"

One entry per channel: a name (the outbox's `channel`), the endpoint URL, the
HMAC-SHA256 key (16+ characters), and optionally the body format (`json`, the
default, or `xml`). Every configured channel is required: the Q29 clock counts as
met only when each of them confirmed the result.

A request carries (docs/publication.md):

    Content-Type: application/json | application/xml; charset=utf-8
    Idempotency-Key: {document_id}:{channel}    the same on every retry
    X-Document-Id, X-Channel, X-Timestamp (Unix seconds)
    X-Signature: sha256=hex(HMAC-SHA256(key, "{X-Timestamp}.{Idempotency-Key}.{body}"))
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
FORMATS = ("json", "xml")


@dataclass(frozen=True)
class Channel:
    name: str
    url: str
    key: bytes = field(repr=False)
    format: str = "json"


def parse_channels(value: str) -> tuple[Channel, ...]:
    """The AUCTION_CHANNELS setting; ValueError (never echoing a key) when malformed."""
    found: dict[str, Channel] = {}
    for item in value.split(","):
        if not item.strip():
            continue
        name, sep, rest = item.strip().partition("=")
        parts = rest.split("|")
        if not sep or not NAME.fullmatch(name) or len(parts) not in (2, 3):
            raise ValueError(f"AUCTION_CHANNELS: expected name=url|key[|json|xml], got an entry for {name[:32]!r}")
        url, key = parts[0], parts[1]
        fmt = parts[2] if len(parts) == 3 else "json"
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise ValueError(f"AUCTION_CHANNELS: channel {name}: the URL must be http(s)://host/path")
        if len(key) < 16:
            raise ValueError(f"AUCTION_CHANNELS: channel {name}: the key must have 16+ characters")
        if fmt not in FORMATS:
            raise ValueError(f"AUCTION_CHANNELS: channel {name}: format json or xml")
        if name in found:
            raise ValueError(f"AUCTION_CHANNELS: channel {name} is listed twice")
        found[name] = Channel(name, url, key.encode(), fmt)
    return tuple(found.values())


def idempotency_key(document_id: str, channel: str) -> str:
    return f"{document_id}:{channel}"


def signature(key: bytes, timestamp: str, idempotency: str, body: bytes) -> str:
    mac = hmac.new(key, f"{timestamp}.{idempotency}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(key: bytes, timestamp: str, idempotency: str, body: bytes, supplied: str) -> bool:
    return hmac.compare_digest(signature(key, timestamp, idempotency, body).encode(), supplied.encode())
