"""Channel configuration, request signing and back-off (auction/adapters/channels.py, delivery.py)."""

from __future__ import annotations

import pytest

from auction.adapters.channels import idempotency_key, parse_channels, signature, verify
from auction.adapters.delivery import Backoff, _unchunk

KEY = "k" * 16


class TestChannels:
    def test_parse(self) -> None:
        channels = parse_channels(f"landchina=https://a.example/in|{KEY}, province=http://b:8080/x|{KEY}|xml")
        assert [(c.name, c.url, c.format) for c in channels] == [
            ("landchina", "https://a.example/in", "json"), ("province", "http://b:8080/x", "xml")]
        assert KEY not in repr(channels)  # keys never reach a log line
        assert parse_channels("") == ()

    @pytest.mark.parametrize("value", [
        "landchina=https://a/in", f"landchina=ftp://a/in|{KEY}", "landchina=https://a/in|short",
        f"Land=https://a/in|{KEY}", f"a=https://a/in|{KEY}|pdf", f"a=https://a/in|{KEY},a=https://b/in|{KEY}",
    ])
    def test_refused(self, value: str) -> None:
        with pytest.raises(ValueError) as info:
            parse_channels(value)
        assert KEY not in str(info.value)

    def test_signature_covers_time_key_and_body(self) -> None:
        key, idem = KEY.encode(), idempotency_key("ANN-P1", "landchina")
        assert idem == "ANN-P1:landchina"
        good = signature(key, "1700000000", idem, b"{}")
        assert verify(key, "1700000000", idem, b"{}", good)
        assert not verify(key, "1700000001", idem, b"{}", good)
        assert not verify(key, "1700000000", "ANN-P1:province", b"{}", good)
        assert not verify(key, "1700000000", idem, b"{ }", good)


class TestBackoff:
    def test_exponential_with_jitter_capped_and_limited(self) -> None:
        b = Backoff(base=2.0, cap=60.0, max_attempts=5)
        assert [b.delay(n, lambda: 0.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
        assert [b.delay(n, lambda: 1.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
        assert Backoff(2.0, 5.0, 99).delay(10, lambda: 1.0) == 5.0
        assert b.delay(5) is None


def test_chunked_response_body() -> None:
    assert _unchunk(b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n") == b"Wikipedia"
