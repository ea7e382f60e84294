"""The server's own publication pages (Q29): the lists' and the documents' HTML in Chinese,
no JavaScript (placed in the site's layout by auction/entrypoints/public/pages.py), and an
Atom feed. Rendered from the stored documents, every value escaped."""

from __future__ import annotations

from html import escape
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from auction.documents.landchina import ANNOUNCEMENT, CHANGE, UNSOLD, labels_of
from auction.documents.site_format import human_installments, human_value

TITLES = {ANNOUNCEMENT: "国有建设用地使用权出让公告", CHANGE: "国有建设用地使用权出让变更公告",
          "RESULT": "国有建设用地使用权出让结果公示", UNSOLD: "国有建设用地使用权出让结果公示（未成交）"}
# Changes are listed with the announcements they change, unsold results with the results.
LIST_PATHS = {ANNOUNCEMENT: "/public/announcements", CHANGE: "/public/announcements", "RESULT": "/public/results",
              UNSOLD: "/public/results"}
def detail_path(document: dict[str, Any]) -> str:
    return f"{LIST_PATHS[document['kind']]}/{document['document_id']}"


def list_title(kind: str) -> str:
    return "出让公告" if kind == ANNOUNCEMENT else "结果公示"


def list_body(documents: list[dict[str, Any]]) -> str:
    """The list's table (or 暂无), for a page of this site's layout."""
    if not documents:
        return '<p class="empty">暂无。<small>None yet.</small></p>'
    rows = []
    for d in documents:
        f = d["fields"]
        name = f.get("announcement_no") or f.get("project_name") or d["document_id"]
        if d["kind"] == CHANGE:
            name = f"{name} 变更公告（第{f['change_no']}次）"
        elif d["kind"] == UNSOLD:
            name = f"{name} 结果公示（{f['outcome']}）"
        rows.append(
            f'<tr><td><a href="{escape(detail_path(d))}">{escape(name)}</a></td><td>{escape(f["parcel_no"])}</td>'
            f'<td>{escape(f.get("location") or f.get("project_location", ""))}</td>'
            f"<td>{escape(human_value('published_at', d['published_at']))}</td></tr>"
        )
    return ('<table class="grid"><thead><tr><th>标题</th><th>宗地编号</th><th>坐落</th><th>发布时间</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _value(key: str, value: Any) -> str:
    """As the site shows it to people (auction/documents/site_format.py)."""
    if isinstance(value, list):
        value = human_installments(value)
        rows = "".join(
            f"<tr><td>第{escape(str(p['period']))}期</td><td>{escape(str(p['due_date']))}</td>"
            f"<td>{escape(str(p['amount_wan']))} 万元</td><td>{escape(str(p.get('note', '')))}</td></tr>"
            for p in value
        )
        return ("<table class=\"installments\"><thead><tr><th>支付期号</th><th>约定支付日期</th><th>约定支付金额</th>"
                f"<th>备注</th></tr></thead><tbody>{rows}</tbody></table>")
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
