"""The database itself: the embedded PostgreSQL server, the migrations runner, the login roles and grants."""

import asyncpg

# What a database that cannot be reached, or that refuses, raises: a lost connection or socket
# (OSError), the server's refusal (PostgresError), a pool or connection in the wrong state
# (InterfaceError). Callers answer these as "unavailable", never as a crash.
DATABASE_ERRORS: tuple[type[Exception], ...] = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)
