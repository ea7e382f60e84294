"""The supply plan in the console: the list, the plan as a timeline, and a form for
each step from the draft to the trading session (RULES 1-3, Q22-Q30).

The forms call the plan service directly, as the operator API does, so both give
the same checks and the same refusal codes. A form:

- is shown again on a refusal with what was typed, the refusal's message, code
  and article beside the field it concerns (plan_forms.py), or at the top;
- acts once: it carries a random token claimed before the command runs
  (auction/store/forms.py), so a second submit of it (double click, resent POST)
  is answered with the first one's result;
- carries the plan's version when drawn: if the plan has moved on since, it says
  so and does nothing (the operator looks again and sends it deliberately).

A draft is edited (`/console/plans/{id}/edit`, while no committee has met) with the
draft's own form, drawn with the plan's present values; it replaces the parcel and
terms in full (`EditDraft`), checked as a draft is.
"""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import quote
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from auction.documents.landchina import RESULT, UNSOLD
from auction.entrypoints.console.post_deal import post_deal_view
from auction.domain.codes import Code, Rejected, Rejection
from auction.domain.plan.parcels import CATEGORY_USES, LAND_USES, READINESS_LABELS
from auction.domain.plan.plan_commands import ChangeAnnouncement, DraftPlan
from auction.domain.plan.plan_events import AnnouncementChanged
from auction.domain.plan.plan_terms import Channel, PlanMethod
from auction.domain.plan.plans import PlanState, decide
from auction.domain.bidding.session import Phase
from auction.domain.bidding.terms import SECOND
from auction.entrypoints.api.plans import plan_document, plan_id_of, progress_of
from auction.entrypoints.api.tenders import tender_request
from auction.entrypoints.console import plan_forms as forms
from auction.entrypoints.console import plan_view as view
from auction.entrypoints.console.auth import AuditNote, ConsoleAuth, Render
from auction.entrypoints.console.people import CATEGORY_LABELS, CHANNEL_LABELS, PREVIEW
from auction.entrypoints.console.plan_forms import Step
from auction.services.plans import PlanService
from auction.services.publication import Publisher
from auction.services.session import now_us
from auction.services.tender import TenderService
from auction.settings import Settings
from auction.staff.roles import Permission
from auction.store.console import SignedIn
from auction.store.events import to_micros
from auction.store.forms import FormTokens

Handler = Callable[[Request, SignedIn], Awaitable[Response]]
ActionHandler = Callable[[Request, SignedIn, dict[str, str], AuditNote], Awaitable[Response]]
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
WAIT_FOR_FIRST = 600  # x 0.1 s: how long a repeated submit waits for the first one to finish
HIDDEN = frozenset({"csrf_token", "form_token", "plan_version", "preview"})


def _plans(request: Request) -> PlanService:
    service: PlanService = request.state.plans
    return service


def _tender_form(step: Step, state: PlanState, plan_id: str) -> Response | None:
    """A tender plan becomes a tender, not a session (RULES 6.1): the session form's address, opened
    or sent, leads to the tender's form (303); None for any other plan or step."""
    if step is forms.SESSION and state.method is PlanMethod.TENDER:
        return RedirectResponse(f"/console/plans/{quote(plan_id)}/{forms.TENDER.name}", status_code=303)
    return None


def _valid_token(token: str) -> bool:
    return 20 <= len(token) <= 64 and set(token) <= TOKEN_CHARS


class ConsolePlans:
    def __init__(self, settings: Settings, auth: ConsoleAuth, render: Render) -> None:
        self.settings = settings
        self.auth = auth
        self.render = render
        self._locks: dict[str, asyncio.Lock] = {}

    def routes(self) -> list[Route]:
        page, action = self.auth.page, self.auth.action
        P = Permission
        one = "/console/plans/{plan_id}"
        steps = [
            route
            for step in forms.STEPS.values()
            for route in (
                Route(f"{one}/{step.name}", page(P.MANAGE_PLANS)(self._form_page(step)), methods=["GET"]),
                Route(f"{one}/{step.name}", action(P.MANAGE_PLANS, step.action)(self._act(step)), methods=["POST"]),
            )
        ]
        return [
            Route("/console/plans", page(P.VIEW_PLANS)(self.list_page), methods=["GET"]),
            Route("/console/plans/new", page(P.MANAGE_PLANS)(self.draft_page), methods=["GET"]),
            Route("/console/plans/new", action(P.MANAGE_PLANS, forms.DRAFT.action)(self.draft), methods=["POST"]),
            Route(f"{one}/plan.json", page(P.VIEW_PLANS)(self.export_json), methods=["GET"]),
            *steps,
            Route(one, page(P.VIEW_PLANS)(self.plan_page), methods=["GET"]),
        ]

    # ------------------------------------------------------------------
    # reading

    async def list_page(self, request: Request, who: SignedIn) -> Response:
        plans = _plans(request)
        found = await plans.store.rows()
        progress = await progress_of(plans, found)  # how far the sale has come, past the plan's own status
        tenders: TenderService = request.state.tenders
        tender_of = {t["plan_id"]: t["tender_id"] for t in await tenders.store.rows()}  # a tender plan's sale
        rows = [view.plan_row(r, await plans.fresh_state(r["plan_id"]))
                | {"tender_id": tender_of.get(r["plan_id"]), "progress": progress[r["plan_id"]]}
                for r in found]
        return self.render(request, "plan_list.html", who, title="供地方案 / Supply plans", rows=rows)

    async def plan_page(self, request: Request, who: SignedIn) -> Response:
        plan_id = plan_id_of(request.path_params["plan_id"])
        plans = _plans(request)
        state = await plans.fresh_state(plan_id)
        session_id = await plans.store.session_of(plan_id)
        draft = state.draft
        assert draft is not None
        events = [(r.seq, r.event, *view.event_lines(r.event)) for r in await plans.store.load(plan_id)]
        ended, post_deal = None, None
        session = await plans.sessions.state(session_id) if session_id is not None else None
        if session is not None and (session.final or session.phase is Phase.HELD):
            publisher: Publisher = request.state.publisher
            due = await publisher.result_due(plan_id)
            ended = view.SessionEnd(session.phase, due, await publisher.result_published(plan_id),
                                    await publisher.no_sale(plan_id) if due == UNSOLD else None)
            if due == RESULT and ended.result_published:  # facts after the deal (post_deal.py)
                post_deal = await post_deal_view(publisher, plan_id)
        tender = await self._tender_of(request, plan_id) if draft.method is PlanMethod.TENDER else None
        tender_id = tender.tender_id if tender is not None else None
        progress = (await progress_of(plans, [{"plan_id": plan_id, "status": state.status.value}]))[plan_id]
        return self.render(
            request, "plan.html", who, title=f"供地方案 / Supply plan · {plan_id}", plan_id=plan_id, state=state,
            progress=progress,
            status_text=view.STATUSES[state.status],
            stages=view.stages(state, session_id, tender_id, await self._session_made(plans, plan_id)),
            next=view.next_step(state, session_id, now_us(), ended, tender), tender_id=tender_id,
            facts=view.parcel_facts(draft.parcel),
            readiness=view.readiness(draft.parcel), prices=view.prices(state),
            schedule=view.schedule_rows(state), events=list(reversed(events)), session_id=session_id,
            done=request.query_params.get("done"), when=view.when, wan=view.wan,
            post_deal=post_deal, values={}, errors={},
        )

    @staticmethod
    async def _session_made(plans: PlanService, plan_id: str) -> tuple[str, int | None]:
        """Who created the plan's session (the console's user; else it came over the operator API) and when."""
        at, username = await plans.store.session_made(plan_id, forms.SESSION.action)
        return username or "操作员接口 / Operator API", None if at is None else to_micros(at)

    @staticmethod
    async def _tender_of(request: Request, plan_id: str) -> view.TenderProgress | None:
        """A tender plan's tender (RULES 6.1), as its next step follows it."""
        tenders: TenderService = request.state.tenders
        tender_id = await tenders.store.tender_of(plan_id)
        if tender_id is None:
            return None
        state = await tenders.fresh_state(tender_id)
        publisher: Publisher = request.state.publisher
        published = state.final and await publisher.result_published(plan_id)
        return view.TenderProgress(tender_id, state, published)

    async def export_json(self, request: Request, who: SignedIn) -> Response:
        """What `GET /api/plans/{id}` answers, for auditors (the raw record, µs and fen)."""
        plan_id = plan_id_of(request.path_params["plan_id"])
        return JSONResponse(await plan_document(_plans(request), plan_id),
                            headers={"content-disposition": f'attachment; filename="{plan_id}.json"'})

    # ------------------------------------------------------------------
    # drawing a form

    def _form(self, request: Request, who: SignedIn, step: Step, state: PlanState | None, values: dict[str, str],
              *, token: str | None = None, refusal: Rejection | None = None, stale: bool = False,
              preview: dict[str, Any] | None = None, status_code: int = 200) -> Response:
        errors: dict[str, forms.Shown] = {}
        top: list[forms.Shown] = []
        if refusal is not None:
            target = forms.field_of(step, refusal)
            if target is None:
                top.append(forms.shown(refusal))
            else:
                errors[target] = forms.shown(refusal)
        plan_id = state.plan_id if state is not None and state.draft is not None else None
        context: dict[str, Any] = {
            "title": step.title, "step": step, "plan_id": plan_id, "state": state, "values": values,
            "errors": errors, "top": top, "stale": stale, "preview": preview,
            "form_token": token or secrets.token_urlsafe(24),
            "plan_version": state.version if state is not None else 0,
            "when": view.when, "day": view.day, "wan": view.wan, "duration": view.duration, "now": now_us(),
        }
        if state is not None and state.draft is not None:
            draft = state.draft
            context |= {"status_text": view.STATUSES[state.status], "facts": view.parcel_facts(draft.parcel)[:5],
                        "prices": view.prices(state), "schedule": view.schedule_rows(state),
                        "benchmark_total": draft.parcel.benchmark_total_fen(),
                        "listing": draft.method is PlanMethod.LISTING}
        if step in (forms.DRAFT, forms.EDIT):
            context |= {"land_uses": list(LAND_USES.values()), "methods": list(PlanMethod),
                        "categories": [(c.value, label, sorted(CATEGORY_USES[c])) for c, label in
                                       CATEGORY_LABELS.items()],
                        "readiness_labels": READINESS_LABELS}
        if step in (forms.ANNOUNCE, forms.CHANGE):
            context |= {"channels": [(c.value, CHANNEL_LABELS[c]) for c in Channel]}
        return self.render(request, step.template, who, status_code=status_code, **context)

    async def draft_page(self, request: Request, who: SignedIn) -> Response:
        values = forms.defaults(forms.DRAFT, PlanState(), now_us())
        values["plan_id"] = f"GD-{secrets.token_hex(5).upper()}"
        return self._form(request, who, forms.DRAFT, None, values)

    def _form_page(self, step: Step) -> Handler:
        async def handler(request: Request, who: SignedIn) -> Response:
            plan_id = plan_id_of(request.path_params["plan_id"])
            state = await _plans(request).fresh_state(plan_id)
            instead = _tender_form(step, state, plan_id)
            if instead is not None:
                return instead
            return self._form(request, who, step, state, forms.defaults(step, state, now_us()))

        return handler

    # ------------------------------------------------------------------
    # acting once

    def _lock(self, plan_id: str) -> asyncio.Lock:
        lock = self._locks.get(plan_id)
        if lock is None:
            lock = self._locks[plan_id] = asyncio.Lock()
        return lock

    @staticmethod
    async def _first_result(tokens: FormTokens, token: str, plan_id: str, who: SignedIn) -> str | None:
        """Claim the form's token: None if this request acts; else where the first submit led
        (waiting for it while it is still running)."""
        for _ in range(WAIT_FOR_FIRST):
            if await tokens.claim(token, plan_id, who.user.username):
                return None
            claimed, location = await tokens.location(token)
            if location is not None:
                return location
            if claimed:
                await asyncio.sleep(0.1)
        raise Rejected(Code.CONFLICT, "本表单仍在处理中 / this form is still being processed")

    async def _once(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote, plan_id: str,
                    work: Callable[[], Awaitable[Response | str]]) -> Response:
        """Run `work` once per form token. `work` answers a path to go to (done) or a page
        (shown again: a refusal or a stale form; the claim is released)."""
        token = form.get("form_token", "")
        if not _valid_token(token):
            raise Rejected(Code.INVALID_FIELD, "form_token: 请重新打开表单 / open the form again", field="form_token")
        tokens = FormTokens(request.state.service.store.pool)
        earlier = await self._first_result(tokens, token, plan_id, who)
        if earlier is not None:
            note.detail["repeated"] = True  # the same form again: the first submit's answer
            return RedirectResponse(earlier, status_code=303)
        try:
            result = await work()
        except BaseException:
            await tokens.release(token)
            raise
        if isinstance(result, Response):
            await tokens.release(token)
            return result
        await tokens.finish(token, result)
        return RedirectResponse(result, status_code=303)

    @staticmethod
    def _audit(note: AuditNote, step: Step, form: dict[str, str], plan_id: str) -> None:
        note.detail = {"plan_id": plan_id, **{k: v[:200] for k, v in form.items() if k not in HIDDEN
                                              and k in step.fields or k.startswith(("channel_", "readiness_"))}}

    async def draft(self, request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
        plan_id = form.get("plan_id", "").strip()
        self._audit(note, forms.DRAFT, form, plan_id)

        async def work() -> Response | str:
            try:
                if plan_id == "new":  # the form's own path
                    raise Rejected(Code.INVALID_FIELD, "plan_id: 请另选编号 / choose another id", field="plan_id")
                command: DraftPlan = forms.draft_command(form, who.user.username)
                await _plans(request).draft(command)
            except Rejected as r:
                note.outcome = r.code.value
                return self._form(request, who, forms.DRAFT, None, form, token=form.get("form_token"),
                                  refusal=r.rejection, status_code=422)
            return f"/console/plans/{plan_id}?done=new"

        return await self._once(request, who, form, note, plan_id or "-", work)

    def _act(self, step: Step) -> ActionHandler:
        async def handler(request: Request, who: SignedIn, form: dict[str, str], note: AuditNote) -> Response:
            plan_id = plan_id_of(request.path_params["plan_id"])
            plans = _plans(request)
            self._audit(note, step, form, plan_id)
            if step is forms.SESSION:  # an old session form sent for a tender plan: to the tender's form
                instead = _tender_form(step, await plans.fresh_state(plan_id), plan_id)
                if instead is not None:
                    note.outcome = Code.TENDER_NOT_SUPPORTED.value
                    return instead
            if form.get("preview") == "yes":  # a check without acting: no token is used
                state = await plans.fresh_state(plan_id)
                if step in (forms.SESSION, forms.TENDER):  # no check to offer: the form again, nothing done
                    return self._form(request, who, step, state, form, token=form.get("form_token"))
                return self._preview(request, who, step, state, form, note)

            async def work() -> Response | str:
                async with self._lock(plan_id):
                    state = await plans.fresh_state(plan_id)
                    if form.get("plan_version") != str(state.version):
                        note.outcome = Code.CONFLICT.value  # drawn before the plan moved on
                        return self._form(request, who, step, state, form, token=form.get("form_token"),
                                          stale=True, status_code=409)
                    try:
                        if step is forms.SESSION:
                            link = await plans.create_session(plan_id, forms.countdown_of(form) * SECOND)
                            note.session_id = link.session_id
                        elif step is forms.TENDER:  # the API's reading and service call (RULES 6.1)
                            tenders: TenderService = request.state.tenders
                            created, _ = await tenders.create_from_plan(plan_id, tender_request(forms.tender_body(form)))
                            note.session_id = created.terms.tender_id if created.terms is not None else None
                        else:
                            await plans.execute(plan_id, forms.command_of(step, form, who.user.username, state))
                    except Rejected as r:
                        note.outcome = r.code.value
                        return self._form(request, who, step, state, form, token=form.get("form_token"),
                                          refusal=r.rejection, status_code=422)
                return f"/console/plans/{plan_id}?done={step.name}"

            return await self._once(request, who, form, note, plan_id, work)

        return handler

    def _preview(self, request: Request, who: SignedIn, step: Step, state: PlanState, form: dict[str, str],
                 note: AuditNote) -> Response:
        """What the engine would say now, without recording anything in the plan (the same `decide`).
        The audit trail keeps it apart from the step: `<action>_PREVIEW`, outcome PREVIEW (预检), and
        what the engine said in `detail.result`; an auditor sees who checked what, never a step done."""
        preview: dict[str, Any] = {}
        note.action, note.outcome = f"{step.action}_{PREVIEW}", PREVIEW
        note.detail["result"] = "OK"
        try:
            command = forms.command_of(step, form, who.user.username, state)
            events = decide(state, command, now_us())
        except Rejected as r:
            note.detail["result"] = r.code.value
            return self._form(request, who, step, state, form, token=form.get("form_token"), refusal=r.rejection,
                              status_code=422)
        if isinstance(command, ChangeAnnouncement):
            changed = events[0]
            assert isinstance(changed, AnnouncementChanged)
            preview = {"schedule": [(view.SCHEDULE_LABELS[k], view.when(v), view.when(changed.requested.to_dict()[k]))
                                    for k, v in changed.schedule.to_dict().items() if v is not None],
                       "pushed_back_by": changed.pushed_back_by}
        else:
            preview = {"ok": True}
        return self._form(request, who, step, state, form, token=form.get("form_token"), preview=preview)
