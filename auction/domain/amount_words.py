"""An amount of fen in Chinese capital numerals (大写金额), as written on financial documents.

    fen_to_capital(80_500_000_00_00)  ->  '捌仟零伍拾万元整'   (8050 万元)

The rules are those of the People's Bank of China's 支付结算办法 (附件, 正确填写票据和
结算凭证的基本规定): capital digits 零壹贰叁肆伍陆柒捌玖 with 拾佰仟万亿; a run of
zeros inside the number is written as one 零; an amount that ends at 元 (or 角)
ends with 整; one with 分 does not; a zero 角 before a non-zero 分 is written 零.
Ten to nineteen keep their 壹 (壹拾) so that nothing can be written in front.

The browser page has the same converter in JavaScript (auction/entrypoints/static/common.js);
a browser test checks the two agree.
"""

from __future__ import annotations

from auction.domain.money import FEN_PER_YUAN

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("仟", "佰", "拾", "")  # inside a group of four digits, highest first
# Groups of four digits from the lowest: 元, 万, 亿, 万亿 (10^12 yuan).
GROUP_UNITS = ("", "万", "亿", "万")
MAX_YUAN_GROUPS = 4


def _group(value: int) -> str:
    """One group of four digits (1..9999) without its leading zeros."""
    out = []
    pending_zero = False
    seen = False
    for position, digit in enumerate(f"{value:04d}"):
        d = int(digit)
        if d == 0:
            pending_zero = pending_zero or seen
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(DIGITS[d] + SMALL_UNITS[position])
        seen = True
    return "".join(out)


def yuan_to_capital(yuan: int) -> str:
    """A whole number of yuan, without the 元 (0 -> '零')."""
    if yuan < 0:
        raise ValueError("negative amount")
    if yuan == 0:
        return DIGITS[0]
    groups = []
    rest = yuan
    while rest:
        rest, group = divmod(rest, 10_000)
        groups.append(group)
    if len(groups) > MAX_YUAN_GROUPS:
        raise ValueError("amount too large for 大写 (at most 9999万亿元)")
    out: list[str] = []
    started = False
    zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            if started:
                zero = True
                if index == 2:  # 万亿 with no 亿 group: '壹万亿', not '壹万'
                    out.append("亿")
            continue
        if started and (zero or group < 1000):
            out.append("零")
        out.append(_group(group) + GROUP_UNITS[index])
        started = True
        zero = False
    return "".join(out)


def fen_to_capital(fen: int) -> str:
    """An amount of fen in capital numerals (大写), e.g. 123_45 -> '壹佰贰拾叁元肆角伍分'."""
    if type(fen) is not int:
        raise TypeError("fen must be an int")
    if fen < 0:
        raise ValueError("negative amount")
    yuan, cents = divmod(fen, FEN_PER_YUAN)
    jiao, fen_digit = divmod(cents, 10)
    if cents == 0:
        return yuan_to_capital(yuan) + "元整"
    out = yuan_to_capital(yuan) + "元" if yuan else ""
    if jiao:
        out += DIGITS[jiao] + "角"
    if fen_digit:
        if not jiao and yuan:
            out += "零"
        out += DIGITS[fen_digit] + "分"
    else:
        out += "整"
    return out
