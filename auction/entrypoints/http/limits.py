"""Limits per client address against guessing and crowding, kept in memory on each node.

- `SignInBackoff`: failed console sign-ins, counted per (account name, client
  address) and per address across accounts. The first few are free; after
  that each failure doubles the wait before the next attempt is heard, up to
  a cap. A stranger's failures from one address never slow the operator down
  at another, and nobody can lock an account: the wait ends by itself.
- `AttemptWindow`: failed credential attempts (a bidder token in a WebSocket
  hello, the operator key on the API) per address in the last minute; over
  the limit, every wrong credential from that address is refused as a guess
  (a valid one still gets in: a shared address must not keep a bidder out).
- `WatcherCounts`: open watcher WebSockets per address (a bidder with a valid
  token is never counted, so never kept out).

The time is an argument (monotonic seconds), as everywhere: no test patches a
clock. Each structure holds a bounded number of keys (the least recently
touched ones are dropped first), so a crowd of addresses cannot grow memory
without end. The client address is the socket peer, or what a trusted proxy
says (uvicorn's proxy headers, `FORWARDED_ALLOW_IPS`).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from auction.domain.codes import Code, Rejected
from auction.settings import Settings

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

MAX_KEYS = 100_000


class _Bounded(Generic[K, V]):
    """A dict that forgets its least recently touched entries beyond `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        return self.items.get(key)

    def put(self, key: K, value: V) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)

    def pop(self, key: K) -> None:
        self.items.pop(key, None)

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class _Failures:
    count: int
    last: float


class SignInBackoff:
    """Failures per key: `free` of them cost nothing; the n-th one after those makes the
    next attempt wait `base * 2^(n-1)` seconds, at most `cap`. A key is forgotten once it
    has been quiet for `cap` seconds after its wait, or on a success."""

    def __init__(self, free: int, base: float, cap: float, size: int = MAX_KEYS) -> None:
        self.free = free
        self.base = base
        self.cap = cap
        self.failures: _Bounded[Hashable, _Failures] = _Bounded(size)

    def delay(self, count: int) -> float:
        if count <= self.free:
            return 0.0
        return float(min(self.cap, self.base * 2 ** min(count - self.free - 1, 62)))

    def _current(self, key: Hashable, now: float) -> _Failures | None:
        f = self.failures.get(key)
        if f is not None and now >= f.last + self.delay(f.count) + self.cap:
            self.failures.pop(key)
            return None
        return f

    def wait(self, key: Hashable, now: float) -> float:
        """Seconds before an attempt for `key` is heard (0: now)."""
        f = self._current(key, now)
        return 0.0 if f is None else max(0.0, f.last + self.delay(f.count) - now)

    def failed(self, key: Hashable, now: float) -> None:
        f = self._current(key, now)
        self.failures.put(key, _Failures((f.count if f else 0) + 1, now))

    def succeeded(self, key: Hashable) -> None:
        self.failures.pop(key)

    def forgive(self, key: Hashable) -> None:
        """Take back one failure (an attempt counted before it was judged, that succeeded)."""
        f = self.failures.get(key)
        if f is not None:
            if f.count <= 1:
                self.failures.pop(key)
            else:
                f.count -= 1


class AttemptWindow:
    """At most `limit` failures per key in any `window` seconds (limit 0: no limit)."""

    def __init__(self, limit: int, window: float = 60.0, size: int = MAX_KEYS) -> None:
        self.limit = limit
        self.window = window
        self.times: _Bounded[Hashable, deque[float]] = _Bounded(size)

    def blocked(self, key: Hashable, now: float) -> bool:
        if self.limit <= 0:
            return False
        times = self.times.get(key)
        if times is None:
            return False
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            self.times.pop(key)
            return False
        return len(times) >= self.limit

    def failed(self, key: Hashable, now: float) -> None:
        if self.limit <= 0:
            return
        times = self.times.get(key)
        if times is None:
            times = deque(maxlen=self.limit)
        times.append(now)
        self.times.put(key, times)

    def forgive(self, key: Hashable) -> None:
        """Take back the latest failure (an attempt counted before it was judged, that succeeded)."""
        times = self.times.get(key)
        if times:
            times.pop()

    def retry_after(self, key: Hashable, now: float) -> int:
        """Whole seconds (at least 1) until a blocked `key` may try again: when the oldest failure
        in its window leaves it (0: not blocked)."""
        if not self.blocked(key, now):
            return 0
        times = self.times.get(key)
        assert times is not None
        return max(1, math.ceil(times[0] + self.window - now))


@dataclass(slots=True)
class TokenGuess:
    """One look-up of a bidder token from a client address (a WebSocket hello, the bidder page's
    sign-in, a tender bidder's request), in the address's window of failed tokens: counted
    before the look-up (so that requests sent all at once count too) and taken back by `good`
    when the token is real, if maybe for another session. Over the limit a wrong token is
    refused as a guess (`refusal`); a valid one still gets in, so a stranger behind the same
    address cannot keep a bidder out of a countdown."""

    failures: AttemptWindow
    address: str
    now: float
    blocked: bool

    @classmethod
    def start(cls, failures: AttemptWindow, address: str, now: float) -> TokenGuess:
        blocked = failures.blocked(address, now)
        if not blocked:
            failures.failed(address, now)
        return cls(failures, address, now, blocked)

    def good(self) -> None:
        if not self.blocked:
            self.failures.forgive(self.address)

    def refusal(self) -> Rejected:
        """A token that is not valid: a guess over the address's limit, or just invalid."""
        if self.blocked:
            return Rejected(Code.TOKEN_ATTEMPTS_LIMIT, limit=self.failures.limit)
        return Rejected(Code.INVALID_TOKEN)

    def retry_after(self) -> int | None:
        """For HTTP's `Retry-After`: whole seconds until the address may try again (None: not blocked)."""
        return self.failures.retry_after(self.address, self.now) if self.blocked else None


@dataclass
class WatcherCounts:
    """Open watcher connections per address (cap 0: no cap). Only addresses with a
    connection open have an entry, so it is as large as the connections are many."""

    cap: int
    open: dict[str, int] = field(default_factory=dict)

    def admit(self, address: str) -> bool:
        n = self.open.get(address, 0)
        if self.cap > 0 and n >= self.cap:
            return False
        self.open[address] = n + 1
        return True

    def release(self, address: str) -> None:
        n = self.open.get(address, 0) - 1
        if n > 0:
            self.open[address] = n
        else:
            self.open.pop(address, None)


@dataclass
class Limits:
    """The node's limits, built once in the lifespan (app.py) and shared by the console,
    the API guard and the WebSocket endpoint."""

    sign_in: SignInBackoff  # per (account name, address)
    sign_in_address: SignInBackoff  # per address, whatever the account names
    token_failures: AttemptWindow
    key_failures: AttemptWindow
    watchers: WatcherCounts

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        return cls(
            sign_in=SignInBackoff(s.sign_in_free_failures, s.sign_in_backoff_seconds, s.sign_in_backoff_cap_seconds),
            sign_in_address=SignInBackoff(s.sign_in_free_failures_per_address, s.sign_in_backoff_seconds,
                                          s.sign_in_backoff_cap_seconds),
            token_failures=AttemptWindow(s.ws_token_failures_per_minute),
            key_failures=AttemptWindow(s.api_key_failures_per_minute),
            watchers=WatcherCounts(s.ws_max_watchers_per_address),
        )


def address_of(client: tuple[str, int] | object | None) -> str:
    """The client's host from an ASGI `client` (host, port) pair; "-" when there is none."""
    if isinstance(client, (tuple, list)) and client:
        return str(client[0])
    host = getattr(client, "host", None)
    return str(host) if host else "-"
