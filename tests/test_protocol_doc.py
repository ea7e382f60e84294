"""The protocol document lists every rejection code the server can send."""

from pathlib import Path

from auction.domain.codes import MESSAGES, Code

DOC = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text(encoding="utf-8")


def test_every_code_is_documented() -> None:
    missing = [c.value for c in Code if f"`{c.value}`" not in DOC]
    assert missing == []


def test_every_code_has_a_chinese_and_english_message() -> None:
    for code in Code:
        message = MESSAGES[code]
        assert " / " in message, code
        chinese, english = message.split(" / ", 1)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), code
        assert english.isascii(), code
