"""The server's own publication pages (Q29): the lists' and the documents' HTML in Chinese,
no JavaScript (placed in the site's layout by auction/entrypoints/public/pages.py), and an
Atom feed. Rendered from the stored documents, every value escaped."""

from __future__ import annotations

from html import escape
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from auction.documents.landchina import ANNOUNCEMENT, CHANGE, UNSOLD, UPDATE, labels_of
from auction.documents.site_format import human_installments, human_value

TITLES = {ANNOUNCEMENT: "国有建设用地使用权出让公告", CHANGE: "国有建设用地使用权出让变更公告",
          "RESULT": "国有建设用地使用权出让结果公示", UNSOLD: "国有建设用地使用权出让结果公示（未成交）",
          UPDATE: "国有建设用地使用权出让结果公示（更新）"}
# Changes are listed with the announcements they change, unsold results with the results.
LIST_PATHS = {ANNOUNCEMENT: "/public/announcements", CHANGE: "/public/announcements", "RESULT": "/public/results",
              UNSOLD: "/public/results", UPDATE: "/public/results"}

def detail_path(document: dict[str, Any]) -> str:
    return f"{LIST_PATHS[document['kind']]}/{document['document_id']}"


def list_title(kind: str) -> str:
    return "出让公告" if kind == ANNOUNCEMENT else "结果公示"


# The list's column headings and its empty text as (Chinese, English): the page's frame, which
# follows the reader's language (the documents' own texts stay Chinese).
LIST_HEADS = (("标题", "Title"), ("宗地编号", "Parcel no."), ("坐落", "Location"), ("发布时间", "Published"))
LIST_EMPTY = ("暂无。", "None yet.")


def _pair(pair: tuple[str, str], english_first: bool) -> str:
    first, second = (pair[1], pair[0]) if english_first else pair
    return f"{escape(first)} <small>{escape(second)}</small>"


def list_body(documents: list[dict[str, Any]], english_first: bool = False) -> str:
    """The list's table (or 暂无), for a page of this site's layout; its headings Chinese first,
    or English first for a reader who chose English."""
    if not documents:
        return f'<p class="empty">{_pair(LIST_EMPTY, english_first)}</p>'
    rows = []
    for d in documents:
        f = d["fields"]
        name = f.get("announcement_no") or f.get("project_name") or d["document_id"]
        if f.get("announcement_title"):  # an announcement is known by its 公告标题 (its 公告编号 beside it)
            name = f"{f['announcement_title']}（{name}）"
        if d["kind"] == CHANGE:
            name = f"{name} 变更公告（第{f['change_no']}次）"
        elif d["kind"] == UNSOLD:
            name = f"{name} 结果公示（{f['outcome']}）"
        rows.append(
            f'<tr><td><a href="{escape(detail_path(d))}">{escape(name)}</a></td><td>{escape(f["parcel_no"])}</td>'
            f'<td>{escape(f.get("location") or f.get("project_location", ""))}</td>'
            f"<td>{escape(human_value('published_at', d['published_at']))}</td></tr>"
        )
    heads = "".join(f"<th>{_pair(pair, english_first)}</th>" for pair in LIST_HEADS)
    return f'<table class="grid"><thead><tr>{heads}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _value(key: str, value: Any) -> str:
    """As the site shows it to people (auction/documents/site_format.py)."""
    if isinstance(value, list):
        value = human_installments(value)
        # As paid (this center's record, not a field of the site): in results published since it exists.
        paid = any("paid_date" in p for p in value)

        def as_paid(p: dict[str, Any]) -> str:
            if not paid:
                return ""
            amount = f"{p['paid_wan']} 万元" if p.get("paid_wan") else "—"
            return f"<td>{escape(str(p.get('paid_date') or '—'))}</td><td>{escape(amount)}</td>"

        rows = "".join(
            f"<tr><td>第{escape(str(p['period']))}期</td><td>{escape(str(p['due_date']))}</td>"
            f"<td>{escape(str(p['amount_wan']))} 万元</td><td>{escape(str(p.get('note', '')))}</td>{as_paid(p)}</tr>"
            for p in value
        )
        heads = "<th>实际支付日期</th><th>实际支付金额</th>" if paid else ""
        return ("<table class=\"installments\"><thead><tr><th>支付期号</th><th>约定支付日期</th><th>约定支付金额</th>"
                f"<th>备注</th>{heads}</tr></thead><tbody>{rows}</tbody></table>")
    return escape(str(human_value(key, value))) if value != "" else "—"


def detail_body(document: dict[str, Any]) -> str:
    """A document's fields as a table, for a page of this site's layout."""
    labels = labels_of(document["kind"])
    rows = "".join(
        f'<tr id="f-{key}"><th>{escape(label)}</th><td>{_value(key, document["fields"].get(key, ""))}</td></tr>'
        for key, label in labels.items()
        if not key.endswith("_fen")  # the fen are in the exports; the page shows 万元 as the site does
    )
    published = human_value("published_at", document["published_at"])
    meta = (f"<p>统一交易编码：{escape(document['unified_deal_code'])}　发布时间：{escape(published)}</p>"
            f'<p>数据下载：<a href="/public/documents/{escape(document["document_id"])}.json">JSON</a> '
            f'<a href="/public/documents/{escape(document["document_id"])}.xml">XML</a></p>')
    return meta + f'<table class="fields">{rows}</table>'


def version_path(document: dict[str, Any]) -> str:
    """Where one version of a result is shown as it was: its own id, the first at `?version=1`
    (its id's page shows the latest version)."""
    if document["kind"] == UPDATE:
        return detail_path(document)
    return f"{detail_path(document)}?version=1"


def versions_note(versions: list[dict[str, Any]], shown: dict[str, Any]) -> str:
    """Above a result with later versions: which version this is, when it was updated, and every
    version's link (更新于 …). `versions` oldest first; '' when there is only the first."""
    if len(versions) < 2:
        return ""
    latest = versions[-1]
    number = int(shown.get("version", 1))
    if shown is latest:
        head = (f"本结果已更新（第{number}版），更新于 {escape(human_value('published_at', latest['published_at']))}。"
                f"<small>Updated (version {number}).</small>")
    else:
        head = (f'本页为第{number}版，已有更新：<a href="{escape(detail_path(versions[0]))}">最新版本（第{len(versions)}版）</a>。'
                f"<small>An earlier version; see the latest.</small>")
    links = "".join(
        f'<li><a href="{escape(version_path(v))}">第{i}版</a> '
        f"{'发布于' if i == 1 else '更新于'} {escape(human_value('published_at', v['published_at']))}</li>"
        for i, v in enumerate(versions, start=1)
    )
    return f'<div class="versions"><p>{head}</p><ol>{links}</ol></div>'


def atom_feed(documents: list[dict[str, Any]], base_url: str, updated: str) -> str:
    """Atom 1.0 (RFC 4287): newest first; each entry links to its page."""
    entries = []
    for d in documents:
        f = d["fields"]
        title = f"{TITLES[d['kind']]}：{f['parcel_no']} {f.get('location') or f.get('project_location', '')}"
        if d["kind"] == ANNOUNCEMENT:
            summary = f"起始价 {f['start_price_wan']} 万元"
        elif d["kind"] == CHANGE:
            summary = f"变更原因：{f['reason']}；开始时间 {f['listing_start_at'] or f['auction_start_at']}"
        elif d["kind"] == UNSOLD:
            summary = f"{f['outcome']}：{f['reason']}"
        elif d["kind"] == UPDATE:
            summary = (f"第{d['version']}版：实际开工时间 {f['actual_start_date'] or '—'}，"
                       f"实际竣工时间 {f['actual_completion_date'] or '—'}")
        else:
            summary = f"成交价格 {f['price_wan']} 万元，土地使用权人 {f['holder']}"
        entries.append(
            "<entry>"
            f"<id>urn:land-publication:{xml_escape(d['document_id'])}</id>"
            f"<title>{xml_escape(title)}</title>"
            f"<updated>{xml_escape(d['published_at'])}</updated>"
            f'<link rel="alternate" type="text/html" href="{xml_escape(base_url + detail_path(d))}"/>'
            f"<summary>{xml_escape(summary)}</summary>"
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>国有建设用地使用权出让公告与结果公示</title>"
        "<id>urn:land-publication:feed</id>"
        f"<updated>{xml_escape(updated)}</updated>"
        f'<link rel="self" href="{xml_escape(base_url)}/public/feed.atom"/>'
        "<author><name>曲靖市公共资源交易中心</name></author>"
        f"{''.join(entries)}</feed>"
    )
