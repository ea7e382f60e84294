"""All SQL: the event logs, projections and rows, each in its module."""

from typing import Any, TypeAlias

Executor: TypeAlias = Any  # an asyncpg Pool or Connection (asyncpg is untyped)
