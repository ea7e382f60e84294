"""The sign-in back-off as the console's and the portal's sign-in forms apply it
(the counting itself is `SignInBackoff`, limits.py).

Failures are counted per (account name, client address) and per address whatever
the names. An attempt is counted before its password is judged, so that attempts
sent all at once wait too; a success takes its count back. Attempts during the
wait are not heard and not counted.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from auction.entrypoints.http.limits import Limits


@dataclass
class SignInGate:
    limits: Limits
    name: str  # the account name tried (the portal's: "portal:" + its code, never a console name)
    address: str
    now: float = field(default_factory=time.monotonic)

    def wait(self) -> int:
        """Whole seconds before an attempt is heard (0: now)."""
        pair = (self.name, self.address)
        wait = max(self.limits.sign_in.wait(pair, self.now), self.limits.sign_in_address.wait(self.address, self.now))
        return math.ceil(wait) if wait > 0 else 0

    def attempt(self) -> None:
        self.limits.sign_in.failed((self.name, self.address), self.now)
        self.limits.sign_in_address.failed(self.address, self.now)

    def succeeded(self) -> None:
        self.limits.sign_in.succeeded((self.name, self.address))
        self.limits.sign_in_address.forgive(self.address)
