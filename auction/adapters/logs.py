"""The server's log lines: text (the default) or, with `AUCTION_LOG_FORMAT=json`, one
JSON object per line for a log shipper: `time` (UTC, ISO 8601), `level`, `logger`,
`message`, and `exception` when there is one.

Only the message the code wrote goes out, never a record's other attributes: the
code never logs a bidder token, an operator key or a reserve, and this format
adds nothing that could carry one.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, fmt: str) -> None:
    """The root logger's handler in `fmt` ("text" or "json")."""
    if fmt == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=level, handlers=[handler])
    else:
        logging.basicConfig(level=level, format=TEXT_FORMAT)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def uvicorn_log_config(fmt: str) -> dict[str, Any] | None:
    """uvicorn's own logging set-up: its default for text; none for JSON, so that its
    loggers reach the root handler above and every line is JSON."""
    if fmt == "json":
        return None
    from uvicorn.config import LOGGING_CONFIG

    return LOGGING_CONFIG
