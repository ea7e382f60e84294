"""Who may do what in the operator console.

Three staff roles. Operators (交易中心操作员) run sessions; committee members
(土地储备委员会成员) follow them read-only; auditors (审计监督) read everything,
including the trail of every operator action, and change nothing.

Two rules that are not obvious:
- Bidder identities (legal names) are shown to operators and auditors only
  after the close (RULES 3.5, 8.1), never before, whatever the role.
- Committee members see neither the qualified bidders nor the private log
  before the close: they decide the reserve (Q26), and how many bidders
  registered is exactly what they must not know when they do.
"""

from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    OPERATOR = "OPERATOR"
    COMMITTEE = "COMMITTEE"
    AUDITOR = "AUDITOR"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.OPERATOR: "操作员 / Operator",
    Role.COMMITTEE: "委员会成员 / Committee member",
    Role.AUDITOR: "审计员 / Auditor",
}


class Permission(str, Enum):
    VIEW_SESSIONS = "VIEW_SESSIONS"  # session list, live view (public facts only)
    VIEW_BIDDERS = "VIEW_BIDDERS"  # qualified bidder numbers of a session
    SEE_IDENTITIES = "SEE_IDENTITIES"  # legal names, and only once the session has ended
    CREATE_SESSION = "CREATE_SESSION"  # stand-in: demo mode or AUCTION_STAND_INS=on only (the real path: a plan)
    QUALIFY_BIDDER = "QUALIFY_BIDDER"  # stand-in: demo mode or AUCTION_STAND_INS=on only (the real path: a deposit)
    CONTROL_SESSION = "CONTROL_SESSION"  # suspend, resume, terminate (RULES 7)
    EXPORT_LOG = "EXPORT_LOG"  # a session's whole event log, private events included
    VIEW_AUDIT = "VIEW_AUDIT"  # the console's audit trail
    VIEW_PLANS = "VIEW_PLANS"
    VIEW_DEADLINES = "VIEW_DEADLINES"
    VIEW_CONFIRMATION = "VIEW_CONFIRMATION"  # names the winner: after the close, as identities
    MANAGE_PLANS = "MANAGE_PLANS"  # the supply plan's forms: draft .. announcement, change notice, session
    DECIDE_RESERVE = "DECIDE_RESERVE"  # prepare and sign the reserve decision in the browser (Q26): members only


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset(Permission) - {Permission.DECIDE_RESERVE},
    Role.COMMITTEE: frozenset({Permission.VIEW_SESSIONS, Permission.VIEW_PLANS, Permission.VIEW_DEADLINES,
                               Permission.DECIDE_RESERVE}),
    Role.AUDITOR: frozenset({
        Permission.VIEW_SESSIONS, Permission.VIEW_BIDDERS, Permission.SEE_IDENTITIES, Permission.EXPORT_LOG,
        Permission.VIEW_AUDIT, Permission.VIEW_PLANS, Permission.VIEW_DEADLINES, Permission.VIEW_CONFIRMATION,
    }),
}


def allowed(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]
