"""What a company registering on the bidders' portal states about itself, checked.

The unified social credit code (统一社会信用代码, GB 32100-2015) has 18 characters
from 31 (digits and upper-case letters without I, O, Z, S, V):

    1      registration authority     (e.g. 9: 工商)
    2      kind of organisation       (e.g. 1: 企业)
    3-8    administrative division    (six digits, GB/T 2260)
    9-17   organisation code          (GB 11714)
    18     check character

The check character: each of the first 17 characters' values times its weight
3^(i) mod 31, summed; the check value is 31 minus the sum mod 31 (31 is 0).
"""

from __future__ import annotations

import re

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_LENGTH = 18
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(USCC_LENGTH - 1))  # 1, 3, 9, 27, 19, 26, ...

# A mainland mobile number, or a landline with its area code (0 + 2-3 digits, then 7-8
# digits, an optional "-" between them and an optional extension).
PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?")


def normalize_uscc(text: str) -> str:
    """As typed to as stored: spaces dropped, letters upper-cased."""
    return "".join(text.split()).upper()


def uscc_check_char(first17: str) -> str:
    """The check character for the first 17 characters (each from `USCC_ALPHABET`)."""
    if len(first17) != USCC_LENGTH - 1 or any(c not in USCC_ALPHABET for c in first17):
        raise ValueError("17 characters of the USCC alphabet")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """18 characters of the alphabet, a six-digit division code, and the right check
    character (GB 32100-2015). `code` as stored: see `normalize_uscc`."""
    if len(code) != USCC_LENGTH or any(c not in USCC_ALPHABET for c in code):
        return False
    if not code[2:8].isdigit():
        return False
    return uscc_check_char(code[:17]) == code[17]


def normalize_phone(text: str) -> str:
    return "".join(c for c in text if not c.isspace())


def is_valid_phone(phone: str) -> bool:
    """A mobile (11 digits, 1[3-9]...) or a landline with its area code (0874-1234567)."""
    return PHONE.fullmatch(phone) is not None
