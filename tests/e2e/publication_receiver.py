"""A real HTTP receiver standing in for the China Land Market website (JSON) and the
provincial public resource trading platform (XML), on 127.0.0.1.

It checks what those sites check: the HMAC signature, the idempotency key, every
field and unit of the document (docs/publication.md), written here from the schema
and not imported from the server, so the two cannot drift together. It accepts a
document once per idempotency key (a repeat gets the first receipt) and it can
fail on purpose: HTTP 500, a response that never comes (timeout), or a connection
dropped after the request was read.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ANNOUNCEMENT_FIELDS = (
    "announcement_no seller supply_method parcel_no location boundaries current_state area_hectares area_m2 "
    "land_use_code land_use_name term_years plot_ratio_min plot_ratio_max building_density_max green_ratio_min "
    "height_limit_m start_price_wan start_price_fen increment_wan increment_fen deposit_wan deposit_fen "
    "appraisal_filing_no listing_start_at listing_end_at auction_start_at registration_closes_at deposit_deadline "
    "qualification_confirmed_by place_and_method application bidder_conditions contacts other_matters "
    # the planning limits in the site's words (大于1并且小于或等于2.2), 投资强度 and 备注
    "plot_ratio building_density green_ratio height_limit investment_intensity_wan remarks "
    # the trading center's transparency key (docs/protocol.md section 9)
    "transparency_key_id transparency_public_key "
    # 公告标题, 公告类型; prices per floor area (元/建筑平方米) and the floor area they come from
    "announcement_title announcement_type floor_area_m2 start_price_yuan_per_floor_m2 increment_yuan_per_floor_m2"
).split()
ANNOUNCEMENT_TYPES = {"招标出让": "招标出让公告", "拍卖出让": "拍卖出让公告", "挂牌出让": "挂牌出让公告"}
CHANGE_FIELDS = (
    "announcement_no change_no parcel_no location supply_method reason content listing_start_at listing_end_at "
    "auction_start_at registration_closes_at deposit_deadline qualification_confirmed_by pushed_back_days contacts"
).split()
UNSOLD_FIELDS = (
    "announcement_no parcel_no location supply_method outcome reason ended_at start_price_wan start_price_fen"
).split()
RESULT_FIELDS = (
    "region_name region_code supervision_no project_name project_location parcel_no area_hectares area_m2 land_source "
    "land_use_code land_use_name supply_method term_years industry industry_code land_grade land_grade_code "
    "price_wan price_fen installments "
    "holder plot_ratio_min plot_ratio_max delivery_date construction_start_date completion_date "
    # 实际开工时间, 实际竣工时间: empty at the deal, filled by a later version (RESULT_UPDATE)
    "actual_start_date actual_completion_date approver contract_date deal_at"
).split()
# Each 分期支付约定 row: the site's four, and the center's own record of what was paid (empty until paid).
INSTALLMENT_FIELDS = {"period", "due_date", "amount_wan", "amount_fen", "note", "paid_date", "paid_wan", "paid_fen"}
LAND_USES = {"0501": "零售商业用地", "0505": "商务金融用地", "0601": "工业用地", "0701": "城镇住宅用地"}
SUPPLY_METHODS = {"招标出让", "拍卖出让", "挂牌出让"}
WAN_TEXT = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]{0,5}[1-9])?")
HECTARE_TEXT = WAN_TEXT
M2_TEXT = re.compile(r"[0-9]+\.[0-9]{2}")
RATIO_TEXT = re.compile(r"[0-9]+\.[0-9]{2}")
PERCENT_TEXT = re.compile(r"[0-9]+\.[0-9]{2}%")
CHINA_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+08:00")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def check_document(doc: dict[str, Any]) -> list[str]:
    """Every problem with a document, as the receiving site would see it."""
    problems: list[str] = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    need(doc.get("schema") == "qj-land-publication/1", "schema")
    kind = doc.get("kind")
    need(kind in ("ANNOUNCEMENT", "ANNOUNCEMENT_CHANGE", "RESULT", "RESULT_UNSOLD", "RESULT_UPDATE"), "kind")
    need(bool(re.fullmatch(r"[1-9][0-9]{5}-TD-.+", str(doc.get("unified_deal_code", "")))), "unified_deal_code")
    need(bool(CHINA_TIME.fullmatch(str(doc.get("published_at", "")))), "published_at")
    f: dict[str, Any] = doc.get("fields", {})
    expected = {"ANNOUNCEMENT": ANNOUNCEMENT_FIELDS, "ANNOUNCEMENT_CHANGE": CHANGE_FIELDS,
                "RESULT_UNSOLD": UNSOLD_FIELDS}.get(str(kind), RESULT_FIELDS)
    need(sorted(f) == sorted(expected), f"fields: {sorted(set(f) ^ set(expected))}")
    if problems:
        return problems
    if kind == "ANNOUNCEMENT_CHANGE":  # 变更公告: what changed, and the schedule now in force
        need(f["parcel_no"] == doc["parcel_no"], "parcel_no")
        need(doc["document_id"] == f"CHG-{doc['plan_id']}-{f['change_no']}" and f["change_no"].isdigit(), "change_no")
        need(bool(f["reason"].strip()) and bool(f["content"].strip()), "reason and content")
        need(f["supply_method"] in SUPPLY_METHODS, "supply_method")
        starts = [f["listing_start_at"], f["auction_start_at"]]
        need(sum(1 for s in starts if s) == 1 and all(s == "" or CHINA_TIME.fullmatch(s) for s in starts), "start")
        for name in ("registration_closes_at", "deposit_deadline", "qualification_confirmed_by"):
            need(bool(CHINA_TIME.fullmatch(f[name])), name)
        need(bool(re.fullmatch(r"[0-9]+(\.[0-9]{2})?", f["pushed_back_days"])), "pushed_back_days")
        return problems
    if kind == "RESULT_UNSOLD":  # 结果公示（未成交）: no price, no holder, no bidder, no reserve
        need(f["parcel_no"] == doc["parcel_no"] and doc["document_id"] == f"RES-{doc['plan_id']}", "ids")
        need(f["outcome"] in ("流拍", "终止", "成交取消") and bool(f["reason"].strip()), "outcome and reason")
        need(bool(CHINA_TIME.fullmatch(f["ended_at"])), "ended_at")
        need(Decimal(f["start_price_wan"]) * 1_000_000 == int(f["start_price_fen"]), "start_price units")
        return problems
    need(f["parcel_no"] == doc["parcel_no"], "parcel_no")
    # 面积: 公顷 with up to six places, the same area as the square metres, exactly.
    need(bool(HECTARE_TEXT.fullmatch(f["area_hectares"])) and bool(M2_TEXT.fullmatch(f["area_m2"])), "area format")
    need(Decimal(f["area_hectares"]) * 10_000 == Decimal(f["area_m2"]), "area_hectares != area_m2 / 10000")
    need(LAND_USES.get(f["land_use_code"]) == f["land_use_name"], "land use code and name")
    need(f["supply_method"] in SUPPLY_METHODS, "supply_method")
    need(f["term_years"].isdigit() and 1 <= int(f["term_years"]) <= 70, "term_years")
    for name in ("plot_ratio_min", "plot_ratio_max"):
        need(f[name] == "" or bool(RATIO_TEXT.fullmatch(f[name])), name)
    prices = ("start_price", "increment", "deposit") if kind == "ANNOUNCEMENT" else ("price",)
    for p in prices:  # 万元 with the fen kept exactly
        wan, fen = f[f"{p}_wan"], f[f"{p}_fen"]
        need(bool(WAN_TEXT.fullmatch(wan)) and fen.isdigit() and Decimal(wan) * 1_000_000 == int(fen), f"{p} units")
    if kind == "ANNOUNCEMENT":
        for name in ("building_density_max", "green_ratio_min"):
            need(f[name] == "" or bool(PERCENT_TEXT.fullmatch(f[name])), name)
        need(f["height_limit_m"] == "" or bool(RATIO_TEXT.fullmatch(f["height_limit_m"])), "height_limit_m")
        need(int(f["deposit_fen"]) * 5 >= int(f["start_price_fen"]), "deposit below 20% (Q31)")
        need(ANNOUNCEMENT_TYPES[f["supply_method"]] == f["announcement_type"] and bool(f["announcement_title"].strip()),
             "announcement title and type")
        for p in ("start_price", "increment"):  # a unit price per floor area times the floor area is the total
            unit = f[f"{p}_yuan_per_floor_m2"]
            need(unit == "" or (bool(WAN_TEXT.fullmatch(unit)) and bool(f["floor_area_m2"])
                                and Decimal(unit) * Decimal(f["floor_area_m2"]) * 100 == int(f[f"{p}_fen"])),
                 f"{p} per floor area")
        starts = [f["listing_start_at"], f["auction_start_at"]]
        need(sum(1 for s in starts if s) == 1 and all(s == "" or CHINA_TIME.fullmatch(s) for s in starts), "start")
        for name in ("registration_closes_at", "deposit_deadline", "qualification_confirmed_by"):
            need(bool(CHINA_TIME.fullmatch(f[name])), name)
        for name in ("announcement_no", "seller", "location", "place_and_method", "contacts"):
            need(bool(f[name].strip()), name)
    else:
        need(bool(re.fullmatch(r"[1-9][0-9]{5}(000)?", f["region_code"])) and bool(f["region_name"]), "region")
        need(bool(re.fullmatch(r"[1-9][0-9]{9}[0-9A-Z](?:[0-9]{5}|[A-Z][0-9]{4})(?:-[1-9][0-9]{0,2})?", f["supervision_no"])),
             "supervision_no")
        need(f["land_source"] in ("新增建设用地", "现有建设用地", "新增建设用地(来自存量库)"), "land_source")
        need(bool(f["holder"].strip()), "holder")
        need(bool(CHINA_TIME.fullmatch(f["deal_at"])), "deal_at")
        for name in ("delivery_date", "construction_start_date", "completion_date", "contract_date"):
            need(bool(DATE.fullmatch(f[name])), name)
        parts = f["installments"]
        need(isinstance(parts, list) and bool(parts), "installments")
        if isinstance(parts, list) and parts:
            need([p["period"] for p in parts] == [str(i) for i in range(1, len(parts) + 1)], "installment periods")
            need(all(set(p) == INSTALLMENT_FIELDS for p in parts), "installment fields")
            if problems:
                return problems
            need(all(Decimal(p["amount_wan"]) * 1_000_000 == int(p["amount_fen"]) for p in parts), "installment units")
            need(sum(int(p["amount_fen"]) for p in parts) == int(f["price_fen"]), "installments != price")
        problems.extend(check_after_the_deal(doc))
    return problems


def check_after_the_deal(doc: dict[str, Any]) -> list[str]:
    """The result's facts known only after the deal: none in the first version; in a later one,
    real days after the contract, the completion after the start, no installment overpaid."""
    f, problems = doc["fields"], []
    starts, ends = f["actual_start_date"], f["actual_completion_date"]
    parts = f["installments"]
    if doc["kind"] == "RESULT":
        if starts or ends or any(p["paid_date"] or p["paid_wan"] or p["paid_fen"] for p in parts):
            problems.append("a first result with facts after the deal")
        return problems
    version = str(doc.get("version", ""))
    if not version.isdigit() or int(version) < 2 or doc["document_id"] != f"RES-{doc['plan_id']}-{version}":
        return ["version and document_id"]
    before = f"RES-{doc['plan_id']}" if version == "2" else f"RES-{doc['plan_id']}-{int(version) - 1}"
    if doc.get("supersedes") != before:
        problems.append("supersedes")
    for name in ("actual_start_date", "actual_completion_date"):
        if f[name] and not (DATE.fullmatch(f[name]) and f[name] >= f["contract_date"]):
            problems.append(name)
    if ends and not (starts and ends >= starts):
        problems.append("completion before start")
    for p in parts:
        if p["paid_fen"] or p["paid_wan"] or p["paid_date"]:
            if not (p["paid_fen"].isdigit() and Decimal(p["paid_wan"]) * 1_000_000 == int(p["paid_fen"])
                    and int(p["paid_fen"]) <= int(p["amount_fen"])):
                problems.append(f"installment {p['period']} paid")
            if not (DATE.fullmatch(p["paid_date"]) and p["paid_date"] >= f["contract_date"]):
                problems.append(f"installment {p['period']} paid_date")
    return problems


def from_xml(text: str) -> dict[str, Any]:
    """The platform's XML back into the JSON shape (for the same checks)."""
    root = ET.fromstring(text)
    doc: dict[str, Any] = {"schema": root.get("schema"), "kind": root.get("kind")}
    for child in root:
        if child.tag != "fields":
            doc[child.tag] = child.text or ""
    fields: dict[str, Any] = {}
    block = root.find("fields")
    assert block is not None
    for element in block:
        if element.tag == "installments":
            fields["installments"] = [{c.tag: c.text or "" for c in item} for item in element]
        else:
            fields[element.tag] = element.text or ""
            assert element.get("label"), element.tag  # the Chinese label travels with each field
    doc["fields"] = fields
    return doc


@dataclass
class Received:
    key: str
    channel: str
    document: dict[str, Any]
    body: bytes
    receipt: str


@dataclass
class Receiver:
    keys: dict[str, bytes]  # channel -> HMAC key
    formats: dict[str, str]  # channel -> json | xml
    failing: bool = True
    failure_modes: tuple[str, ...] = ("500", "timeout", "drop")
    hang_seconds: float = 3.0
    accepted: dict[str, Received] = field(default_factory=dict)  # idempotency key -> first delivery
    order: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (parcel, channel) -> document ids
    duplicates: list[tuple[str, bytes]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    server: asyncio.base_events.Server | None = None
    port: int = 0
    _modes: Any = None
    _receipts: Any = field(default_factory=lambda: itertools.count(1))

    def url(self, channel: str) -> str:
        return f"http://127.0.0.1:{self.port}/receive/{channel}"

    def env(self) -> str:
        """The AUCTION_CHANNELS value for the server under test."""
        return ",".join(f"{c}={self.url(c)}|{self.keys[c].decode()}|{self.formats[c]}" for c in self.keys)

    async def start(self) -> None:
        self._modes = itertools.cycle(self.failure_modes)
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if self.failing:
                mode = next(self._modes)
                self.failures[mode] = self.failures.get(mode, 0) + 1
                if mode == "drop":
                    writer.transport.abort()
                    return
                if mode == "timeout":
                    with contextlib.suppress(asyncio.CancelledError):  # the test ending cancels a hang
                        await asyncio.sleep(self.hang_seconds)
                    writer.transport.abort()
                    return
                await self._respond(writer, 500, {"error": "temporarily unavailable"})
                return
            status, answer = self._receive(method, path, headers, body)
            await self._respond(writer, status, answer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, TimeoutError):
            writer.transport.abort()

    async def _respond(self, writer: asyncio.StreamWriter, status: int, answer: dict[str, Any]) -> None:
        body = json.dumps(answer, ensure_ascii=False).encode()
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                     f"Connection: close\r\n\r\n".encode() + body)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    def _receive(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        channel = path.rsplit("/", 1)[-1]
        if method != "POST" or channel not in self.keys:
            self.problems.append(f"bad request line {method} {path}")
            return 404, {"error": "unknown"}
        stamp, key = headers.get("x-timestamp", ""), headers.get("idempotency-key", "")
        expected = "sha256=" + hmac.new(self.keys[channel], f"{stamp}.{key}.".encode() + body,
                                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("x-signature", "")):
            self.problems.append(f"{channel}: bad signature")
            return 401, {"error": "signature"}
        if self.formats[channel] == "xml":
            if not headers.get("content-type", "").startswith("application/xml"):
                self.problems.append(f"{channel}: content type {headers.get('content-type')}")
            document = from_xml(body.decode())
        else:
            document = json.loads(body)
        if key != f"{document.get('document_id')}:{channel}" or headers.get("x-document-id") != document.get(
                "document_id"):
            self.problems.append(f"{channel}: idempotency key {key!r} does not name the document")
            return 400, {"error": "idempotency key"}
        first = self.accepted.get(key)
        if first is not None:  # a retry whose answer was lost: the same receipt, nothing new
            self.duplicates.append((key, body))
            if first.body != body:
                self.problems.append(f"{key}: a repeat with a different body")
            return 200, {"receipt_no": first.receipt, "duplicate": True}
        problems = check_document(document)
        if document.get("kind") == "RESULT_UPDATE" and f"{document.get('supersedes')}:{channel}" not in self.accepted:
            problems.append("an update of a result this site does not have")  # out of order
        if problems:
            self.problems.extend(f"{key}: {p}" for p in problems)
            return 422, {"error": problems}
        receipt = f"{channel.upper()}-{next(self._receipts):06d}"
        self.accepted[key] = Received(key, channel, document, body, receipt)
        self.order.setdefault((document["parcel_no"], channel), []).append(document["document_id"])
        return 200, {"receipt_no": receipt, "duplicate": False}
