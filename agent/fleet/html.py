"""A fleet document as one self-contained HTML page: the headline, the breakdown by place, the
hosts and the coverage, every value escaped; the JSON document stays the one to verify."""

from __future__ import annotations

from html import escape
from typing import Any


def page(doc: dict[str, Any]) -> bytes:
    h = doc["headline"]
    cov = doc["coverage"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Fleet report</title>",
        "<style>body{font:14px sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}"
        "</style></head><body><h1>Fleet report</h1>",
        f"<p>{h['approved']['flows']} of {h['in_scope']['flows']} in-scope flows approved, "
        f"{h['violation']['flows']} violations, {h['unverified']['flows']} unverified; on "
        f"{h['host_days']} of {h['host_days_expected']} host-days "
        f"({h['hosts']} hosts), policy {escape(str(doc['inputs']['policy']['name']))}.</p>",
        _table("Breakdown", doc["breakdown"]),
        _table("Not counted", cov["not_counted"]),
        _table("Unwatched", cov["unwatched"]),
        f"<p>Hosts without data: {escape(', '.join(cov['hosts_without_data']) or 'none')}</p>",
        "</body></html>\n",
    ]
    return "".join(parts).encode()


def _table(title: str, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return f"<h2>{escape(title)}</h2><p>none</p>"
    heads = list(rows[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(str(r.get(k)))}</td>" for k in heads)
                   + "</tr>" for r in rows)  # fmt: skip
    top = "".join(f"<th>{escape(k)}</th>" for k in heads)
    return f"<h2>{escape(title)}</h2><table><tr>{top}</tr>{body}</table>"
