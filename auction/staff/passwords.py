"""Console passwords, hashed with scrypt (memory-hard; in the standard library).

The stored form carries its own parameters, `scrypt$N$r$p$salt$hash` (salt and
hash in unpadded base64), so the cost can be raised later without breaking the
hashes already stored: `needs_rehash` tells when to re-hash at sign-in.

N = 2^15, r = 8 takes 32 MiB and about 0.1 s per hash on a small server: slow
for a password guesser, bearable for a sign-in. Hashing is CPU-bound; the web
layer runs it in a worker thread so that bids are never held up by a sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from auction.domain.codes import Code

SCHEME = "scrypt"
MIN_LENGTH = 12  # a console password guards suspension and termination of land sales
MAX_LENGTH = 1024
COMMON_LIST = "common-passwords.txt"  # beside this file; its header names its source


@dataclass(frozen=True)
class ScryptCost:
    n: int = 2**15
    r: int = 8
    p: int = 1

    @property
    def maxmem(self) -> int:
        return 128 * self.n * self.r * self.p + 16 * 1024 * 1024


DEFAULT_COST = ScryptCost()
HASH_BYTES = 32
SALT_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _scrypt(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=cost.n, r=cost.r, p=cost.p,
                          maxmem=cost.maxmem, dklen=HASH_BYTES)


def hash_password(password: str, cost: ScryptCost = DEFAULT_COST) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, cost)
    return f"{SCHEME}${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(digest)}"


def _parse(stored: str) -> tuple[ScryptCost, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return None
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or n > 2**20:
        return None
    return ScryptCost(n, r, p), salt, digest


def verify_password(password: str, stored: str) -> bool:
    """True if `password` is the one `stored` was made from. Constant time in the comparison."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    cost, salt, digest = parsed
    return hmac.compare_digest(_scrypt(password, salt, cost), digest)


def burn_time(password: str) -> None:
    """The cost of one verification, for an unknown user name: the answer's timing must not
    tell which accounts exist."""
    _scrypt(password, b"\x00" * SALT_BYTES, DEFAULT_COST)


def needs_rehash(stored: str, cost: ScryptCost = DEFAULT_COST) -> bool:
    parsed = _parse(stored)
    return parsed is None or parsed[0] != cost


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lowercased), read once."""
    text = files("auction.staff").joinpath(COMMON_LIST).read_text(encoding="utf-8")
    _header, _, body = text.partition("\n\n")
    return frozenset(line for line in body.splitlines() if line)


def _edges_trimmed(password: str) -> str:
    """Without the digits, spaces and symbols at either end: "Password2024!" -> "password"."""
    start, end = 0, len(password)
    while start < end and not password[start].isalpha():
        start += 1
    while end > start and not password[end - 1].isalpha():
        end -= 1
    return password[start:end]


def _repeated_unit(password: str) -> str | None:
    """"abcabcabcabc" -> "abc"; None if the password is not one piece said again and again."""
    for size in range(1, len(password) // 2 + 1):
        if len(password) % size == 0 and password[:size] * (len(password) // size) == password:
            return password[:size]
    return None


def too_common(password: str) -> bool:
    """On the common list, or one of them with digits or symbols around it ("qwertyuiop123!"),
    or a piece said again and again ("passwordpassword", "aaaaaaaaaaaa", "monkeymonkey1"),
    or digits only."""
    common = common_passwords()
    p = password.strip().lower()
    if p.isdigit():
        return True
    for candidate in {p, _edges_trimmed(p)}:
        if len(candidate) < 4:
            continue
        unit = _repeated_unit(candidate)
        if candidate in common or (unit is not None and (len(unit) <= 4 or unit in common)):
            return True
    return False


def acceptable(password: str) -> Code | None:
    """Why `password` may not be used (a code, MESSAGES has the words), or None."""
    if len(password) < MIN_LENGTH:
        return Code.PASSWORD_TOO_SHORT
    if len(password) > MAX_LENGTH:
        return Code.PASSWORD_TOO_LONG
    if too_common(password):
        return Code.PASSWORD_TOO_COMMON
    return None


def random_password() -> str:
    """A password for a generated account (demo accounts): 20 URL-safe characters."""
    return secrets.token_urlsafe(15)
