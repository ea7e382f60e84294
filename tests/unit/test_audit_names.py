"""Every kind of row the audit trail can hold has a Chinese name (README, Operator console:
"登录 with SIGN_IN small beside it"): the console's forms, the pages that audit a reading,
the plan's steps and their previews (预检), the API's calls and the strangers' roll-up.

The names are found where they are written: a form's action (`ConsoleAuth.action(permission,
NAME)`, `ConsoleArea.post(path, permission, NAME, handler)`), a direct `….audit(NAME, …)` and
a roll-up's `….refused(NAME, …)`; an f-string's fixed start must begin a named action."""

from __future__ import annotations

import ast
from pathlib import Path

from auction.entrypoints.console import plan_forms as forms
from auction.entrypoints.console.people import ACTIONS, OUTCOMES, PREVIEW, action_label, outcome_label

ROOT = Path(__file__).resolve().parents[2] / "auction"
# call attribute -> the position of the action's name among its arguments
NAME_AT = {"action": 1, "post": 2, "audit": 0, "refused": 0}


def _named_actions() -> list[tuple[str, str, bool]]:
    """(where, the name or an f-string's fixed start, whether it is a prefix)."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            at = NAME_AT.get(called)  # `action` may be a local name for ConsoleAuth.action
            if at is None or len(node.args) <= at:
                continue
            arg = node.args[at]
            where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.isupper():
                found.append((where, arg.value, False))
            elif isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
                found.append((where, str(arg.values[0].value), True))
    return found


def test_the_scan_finds_the_console_actions() -> None:
    names = {name for _, name, _ in _named_actions()}
    assert {"SIGN_IN", "SUSPEND", "RESUME", "ESCROW_UNLOCK", "COMMITTEE_MEMBER_REGISTER", "EXPORT_EVENTS_",
            "API "} <= names


def test_every_audited_action_has_a_chinese_name() -> None:
    unnamed = []
    for where, name, prefix in _named_actions():
        if name.startswith("API "):
            assert action_label(name + "POST /api/x") == "接口调用"
            continue
        if prefix:
            if not any(key.startswith(name) for key in ACTIONS):
                unnamed.append((where, name + "…"))
        elif name not in ACTIONS:
            unnamed.append((where, name))
    assert not unnamed, f"audited actions without a Chinese name in people.ACTIONS: {unnamed}"


def test_every_plan_step_and_its_preview_have_a_chinese_name() -> None:
    for step in (forms.DRAFT, *forms.STEPS.values()):
        assert step.action in ACTIONS, step.action
        preview = action_label(f"{step.action}_{PREVIEW}")
        assert preview.startswith("预检：") and preview != f"{step.action}_{PREVIEW}"
    assert all(any("\u4e00" <= c <= "\u9fff" for c in label) for label in ACTIONS.values()), "Chinese names"


def test_a_preview_reads_as_such_and_not_as_done() -> None:
    assert outcome_label(PREVIEW) == "预检" and OUTCOMES["OK"] == "成功"
    assert action_label("PLAN_APPRAISAL_PREVIEW") != action_label("PLAN_APPRAISAL")


def test_a_details_enumerated_values_and_the_tenders_fields_read_in_chinese() -> None:
    from auction.entrypoints.console.people import detail_items

    shown = {name: value for name, _, value in detail_items(
        {"method": "TENDER", "conditions_category": "NONE", "evaluation": "SCORING", "price_weight": 60})}
    assert shown == {"方式": "招标", "竞买条件类别": "其他（不得设竞买条件）", "评标方法": "综合评分", "价格分权重": "60"}
