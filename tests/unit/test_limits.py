"""The per-address limits (auction/entrypoints/http/limits.py), with the time passed in."""

from __future__ import annotations

from auction.entrypoints.http.limits import AttemptWindow, Limits, SignInBackoff, WatcherCounts, address_of
from auction.settings import Settings


class TestSignInBackoff:
    def test_free_failures_then_a_doubling_wait_up_to_the_cap(self) -> None:
        b = SignInBackoff(free=3, base=1.0, cap=60.0)
        assert [b.delay(n) for n in range(1, 12)] == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
        assert b.delay(10_000) == 60  # no overflow however many

    def test_the_wait_runs_from_the_last_failure_and_ends_by_itself(self) -> None:
        b = SignInBackoff(free=2, base=10.0, cap=100.0)
        for t in (0.0, 1.0):
            assert b.wait("k", t) == 0
            b.failed("k", t)
        assert b.wait("k", 1.5) == 0  # two free failures
        b.failed("k", 2.0)
        assert b.wait("k", 2.0) == 10 and b.wait("k", 7.0) == 5 and b.wait("k", 12.0) == 0
        b.failed("k", 12.0)
        assert b.wait("k", 12.0) == 20  # doubled

    def test_keys_are_independent(self) -> None:
        b = SignInBackoff(free=0, base=30.0, cap=30.0)
        b.failed(("demo-operator", "127.0.0.2"), 0.0)
        assert b.wait(("demo-operator", "127.0.0.2"), 1.0) == 29
        assert b.wait(("demo-operator", "127.0.0.3"), 1.0) == 0

    def test_a_quiet_key_is_forgotten_and_a_success_clears_it(self) -> None:
        b = SignInBackoff(free=1, base=5.0, cap=50.0)
        b.failed("k", 0.0)
        b.failed("k", 0.0)
        assert b.wait("k", 0.0) == 5
        assert b.wait("k", 55.0) == 0 and b.failures.get("k") is None  # wait 5 + quiet 50
        b.failed("k", 60.0)
        b.failed("k", 60.0)
        b.succeeded("k")
        assert b.wait("k", 60.0) == 0

    def test_forgive_takes_back_one_failure(self) -> None:
        b = SignInBackoff(free=1, base=5.0, cap=50.0)
        b.failed("k", 0.0)
        b.failed("k", 0.0)
        b.forgive("k")
        assert b.wait("k", 0.0) == 0
        b.forgive("k")
        assert b.failures.get("k") is None

    def test_it_holds_a_bounded_number_of_keys(self) -> None:
        b = SignInBackoff(free=0, base=1.0, cap=10.0, size=100)
        for i in range(1000):
            b.failed(f"k{i}", 0.0)
        assert len(b.failures) == 100 and b.wait("k999", 0.0) == 1


class TestAttemptWindow:
    def test_blocked_after_the_limit_within_the_window(self) -> None:
        w = AttemptWindow(limit=3, window=60.0)
        for t in (0.0, 10.0, 20.0):
            assert not w.blocked("a", t)
            w.failed("a", t)
        assert w.blocked("a", 30.0) and not w.blocked("b", 30.0)
        assert not w.blocked("a", 60.0)  # the first failure left the window
        w.failed("a", 61.0)
        assert w.blocked("a", 65.0)

    def test_retry_after_is_when_the_oldest_failure_leaves_the_window(self) -> None:
        w = AttemptWindow(limit=3, window=60.0)
        for t in (0.0, 10.0, 20.0):
            assert w.retry_after("a", t) == 0
            w.failed("a", t)
        assert w.retry_after("a", 30.0) == 30 and w.retry_after("a", 59.5) == 1
        assert w.retry_after("a", 60.0) == 0 and not w.blocked("a", 60.0)

    def test_zero_is_no_limit(self) -> None:
        w = AttemptWindow(limit=0)
        for _ in range(100):
            w.failed("a", 0.0)
        assert not w.blocked("a", 0.0) and len(w.times) == 0


class TestWatcherCounts:
    def test_a_cap_per_address_and_room_after_a_release(self) -> None:
        c = WatcherCounts(cap=2)
        assert c.admit("a") and c.admit("a") and not c.admit("a") and c.admit("b")
        c.release("a")
        assert c.admit("a")
        for _ in range(2):
            c.release("a")
        c.release("b")
        assert c.open == {}

    def test_zero_is_no_cap(self) -> None:
        c = WatcherCounts(cap=0)
        assert all(c.admit("a") for _ in range(1000))


def test_limits_follow_the_settings() -> None:
    s = Settings.from_env({"AUCTION_SIGN_IN_FREE_FAILURES": "4", "AUCTION_SIGN_IN_BACKOFF_SECONDS": "2",
                           "AUCTION_SIGN_IN_BACKOFF_CAP_SECONDS": "30", "AUCTION_WS_MAX_WATCHERS_PER_ADDRESS": "7",
                           "AUCTION_WS_TOKEN_FAILURES_PER_MINUTE": "8", "AUCTION_API_KEY_FAILURES_PER_MINUTE": "9",
                           "AUCTION_SIGN_IN_FREE_FAILURES_PER_ADDRESS": "40", "AUCTION_AUDIT_ROLLUP_SECONDS": "5"})
    limits = Limits.from_settings(s)
    assert (limits.sign_in.free, limits.sign_in.base, limits.sign_in.cap) == (4, 2.0, 30.0)
    assert limits.sign_in_address.free == 40
    assert (limits.watchers.cap, limits.token_failures.limit, limits.key_failures.limit) == (7, 8, 9)
    assert s.audit_rollup_seconds == 5.0
    d = Settings.from_env({})
    assert (d.sign_in_free_failures, d.ws_max_watchers_per_address, d.ws_token_failures_per_minute,
            d.api_key_failures_per_minute, d.audit_rollup_seconds) == (5, 200, 20, 20, 60.0)


def test_address_of() -> None:
    assert address_of(("127.0.0.2", 5555)) == "127.0.0.2"
    assert address_of(None) == "-"


def test_an_attempt_window_takes_back_a_success() -> None:
    w = AttemptWindow(limit=2)
    w.failed("a", 0.0)
    w.failed("a", 1.0)  # counted before it was judged ...
    assert w.blocked("a", 1.0)
    w.forgive("a")  # ... and it was good
    assert not w.blocked("a", 1.0)
    w.forgive("nobody")
