"""The committee members' public keys in the console (委员会成员与公钥, Q26).

A member makes an Ed25519 key in the browser on the reserve page (or with
`auction committee keygen`) and hands the public key to the trading center; an
operator registers it here. The form stores it as `POST /api/committee-members`
does (the plan store's `register_member`, same checks and codes): a registration
repeated is accepted, a different key or name for a registered id is `MEMBER_KEY_REGISTERED`.
The console account that signs as the member has the member id as its user name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from auction.adapters.sealing.signatures import PUBLIC_KEY_BYTES, public_key
from auction.domain.codes import Code, Rejected
from auction.entrypoints.api.guard import text_field
from auction.entrypoints.api.plans import MEMBER_ID
from auction.entrypoints.console import plan_forms as forms
from auction.entrypoints.console.auth import AuditNote, ConsoleArea
from auction.services.plans import PlanService
from auction.staff.roles import Permission
from auction.store.console import SignedIn

FIELDS = ("member_id", "name", "public_key_hex")
PATH = "/console/committee"


def parse_public_key(form: dict[str, str], name: str = "public_key_hex") -> bytes:
    """The 32-byte Ed25519 public key typed or pasted in hex (spaces and case forgiven)."""
    text = "".join(form.get(name, "").split()).lower()
    try:
        raw = bytes.fromhex(text)
        if len(raw) != PUBLIC_KEY_BYTES:
            raise ValueError(name)
        public_key(raw)
    except ValueError:
        raise Rejected(Code.INVALID_FIELD, "公钥：64位十六进制（页面或 `auction committee keygen` 显示） / "
                       "the 32-byte Ed25519 public key in hex", field=name) from None
    return raw


class ConsoleCommittee(ConsoleArea):
    def routes(self) -> list[Route]:
        return [self.get(PATH, Permission.VIEW_PLANS, self.page),
                self.post(PATH, Permission.MANAGE_PLANS, "COMMITTEE_MEMBER_REGISTER", self.register)]

    async def _show(self, request: Request, who: SignedIn, *, values: dict[str, str] | None = None,
                    errors: dict[str, Any] | None = None, status_code: int = 200) -> Response:
        plans: PlanService = request.state.plans
        return self.render(request, "committee.html", who, status_code=status_code,
                           title="委员会成员与公钥 / Committee members' keys", members=await plans.store.members(),
                           values=values or {}, errors=errors or {}, done=request.query_params.get("done"))

    async def page(self, request: Request, who: SignedIn) -> Response:
        return await self._show(request, who)

    async def register(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        values = {k: form.get(k, "")[:200] for k in FIELDS}
        note.detail = {"member_id": values["member_id"][:64]}
        try:
            member_id = values["member_id"].strip()
            if not MEMBER_ID.fullmatch(member_id):
                raise Rejected(Code.INVALID_FIELD, "成员编号：即其操作台用户名，字母、数字及 _ . @ - / "
                               "member id: the member's console user name", field="member_id")
            name = text_field(form, "name", 200)
            raw = parse_public_key(form)
            plans: PlanService = request.state.plans
            await plans.store.register_member(member_id, name, raw)  # MEMBER_KEY_REGISTERED: registered differently
        except Rejected as r:
            note.outcome = r.code.value
            target = r.rejection.details.get("field")
            shown = forms.shown(r.rejection)
            errors = {str(target) if target in FIELDS else "form": shown}
            return await self._show(request, who, values=values, errors=errors, status_code=422)
        note.detail["public_key_hex"] = raw.hex()
        return RedirectResponse(f"{PATH}?done={quote(member_id)}#m-{quote(member_id)}", status_code=303)
