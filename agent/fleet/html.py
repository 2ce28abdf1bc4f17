"""A fleet document as one self-contained HTML page: the headline, the breakdown by place, the
hosts, the sources of the evidence and the coverage, every value escaped. The page proves
nothing by itself: the JSON document, or the PDF that carries it (`fleet.forms`), is the one
to verify."""

from __future__ import annotations

from html import escape
from typing import Any

from agent.findings.headline import policy_name
from agent.fleet.headline import sentence
from agent.report.times import utc

HOST_KINDS = ("approved", "approved_weak", "violation", "exempt", "unverified", "excluded",
              "out")
"""A host's row on the page: its flows by verdict, on weak evidence only, and out of scope."""


def page(doc: dict[str, Any]) -> bytes:
    cov = doc["coverage"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Fleet report</title>",
        "<style>body{font:14px sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}"
        "</style></head><body><h1>Fleet report</h1>",
        f"<p>{escape(sentence(doc))}; policy {escape(policy_name(doc))}.</p>",
        _table("Breakdown", doc["breakdown"]),
        _table("Hosts (flows)", [{"host": r["host"], **{k: r[k]["flows"] for k in HOST_KINDS}}
                                 for r in doc["hosts"]]),  # fmt: skip
        _table("Sources of the evidence", [
            {**{k: v for k, v in r.items() if k != "share"},
             "share of bytes": _pct(r["share"]["bytes"])} for r in doc["sources"]]),
        _table("Not counted", cov["not_counted"]),
        _table("Unwatched", cov["unwatched"]),
        _table("Seconds not logged by flow record sources", cov["record_gaps"]),
        f"<p>Hosts without data: {escape(', '.join(cov['hosts_without_data']) or 'none')}</p>",
        "</body></html>\n",
    ]
    return "".join(parts).encode()


def _table(title: str, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return f"<h2>{escape(title)}</h2><p>none</p>"
    heads = list(rows[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell(k, r.get(k)))}</td>" for k in heads)
                   + "</tr>" for r in rows)  # fmt: skip
    top = "".join(f"<th>{escape(k)}</th>" for k in heads)
    return f"<h2>{escape(title)}</h2><table><tr>{top}</tr>{body}</table>"


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f}%"


def _cell(key: str, value: Any) -> str:
    """A value for a reader: no place is blank, packet times in UTC."""
    if value is None:
        return ""
    return str(utc(value) if key in ("first", "last") else value)
