"""The reserve decision in the console (Q26): the members' keys registered by the
trading center (members.py) and the decision sealed and signed in the members'
browsers (decision.py)."""

from auction.entrypoints.console.reserve.decision import ConsoleReserve
from auction.entrypoints.console.reserve.members import ConsoleCommittee

__all__ = ["ConsoleCommittee", "ConsoleReserve"]
