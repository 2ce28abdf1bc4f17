"""The report's access section: who reached the protected services from where, how much data
went back out, and every access violation with its origin's evidence. From the report
document's `access` object (the analysis document's, unchanged); every value escaped here."""

from __future__ import annotations

from html import escape
from typing import Any

from agent.policy.access import ACCESS_VIOLATION, ALLOWED
from agent.policy.judge import APPROVED, EXEMPT, UNVERIFIED, VIOLATION
from agent.report import svg
from agent.report.markup import NONE, cell, num, plural, table
from agent.wire.keywords import proto_name

COLOUR_OF = {ALLOWED: APPROVED, EXEMPT: EXEMPT, UNVERIFIED: UNVERIFIED, ACCESS_VIOLATION: VIOLATION}
"""An access verdict drawn in the colour of its outbound counterpart."""
ROWS = ((ALLOWED, "allowed"), (EXEMPT, "exempt (live exception)"),
        (ACCESS_VIOLATION, "access violation"), (UNVERIFIED, "unverified origin"))  # fmt: skip


def section(r: dict[str, Any]) -> str:
    a = r.get("access")
    if not a:
        return ""
    h = a["headline"]
    total = h["accesses"]
    rows = [[escape(label), num(h[k]["sessions"]), num(h[k]["bytes_out"]), num(h[k]["bytes_in"])]
            for k, label in ROWS]  # fmt: skip
    return "".join([
        '<section id="access"><h2>Access to protected services</h2>',
        f"<p>{plural(total['sessions'], 'session')} into "
        f"{plural(len(a['protected']), 'protected service')} sent "
        f"<b>{total['bytes_out']:,} bytes</b> back out (the data that left). <b>Access "
        f"violations:</b> {plural(h[ACCESS_VIOLATION]['sessions'], 'session')}, "
        f"{h[ACCESS_VIOLATION]['bytes_out']:,} bytes out, from "
        f"{plural(len(a['violations']), 'origin')}. <b>Unverified origins:</b> "
        f"{plural(h[UNVERIFIED]['sessions'], 'session')}.</p>",
        table("access-counts", ["", "sessions", "bytes out", "bytes in"], rows, {1, 2, 3},
              sortable=False),
        svg.legend(),
        svg.bars("Bytes out by origin country", _by(a["by_origin"], _country)),
        svg.bars("Bytes out by origin provider region or site", _by(a["by_origin"], _place)),
        _services(a), _origins(a, "violations", "Access violations, by origin"),
        _origins(a, "unverified", "Unverified origins"), _rules(a), "</section>",
    ])  # fmt: skip


def _country(p: dict[str, Any]) -> str:
    return str(p["country"] or "(unknown)")


def _place(p: dict[str, Any]) -> str:
    if p["site"]:
        return f"site {p['site']}"
    if p["provider"]:
        return f"{p['provider']} {p['region'] or '(no region)'}"
    return "(no provider or site)"


def _by(places: list[dict[str, Any]], label: Any) -> list[svg.Row]:
    out: dict[str, dict[str, int]] = {}
    for p in places:
        by = out.setdefault(label(p), {})
        colour = COLOUR_OF[p["verdict"]]
        by[colour] = by.get(colour, 0) + p["bytes_out"]
    return sorted(out.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))


def _services(a: dict[str, Any]) -> str:
    rows = [[escape(s["rule"]), escape(s["reason"]) or NONE, num(s["sessions"]),
             num(s["bytes_out"]), f'<span class="mono">{escape(s["where"])}</span>']
            for s in a["protected"]]  # fmt: skip
    return "<h3>Protected services</h3>" + table(
        "access-services", ["service", "description", "sessions", "bytes out", "written at"],
        rows, {2, 3})  # fmt: skip


def _origins(a: dict[str, Any], key: str, title: str) -> str:
    heads = ["origin", "place", "country", "bytes out", "sessions", "service", "served by",
             "evidence", "notes"]  # fmt: skip
    rows = [[
        cell(f'<span class="mono">{escape(o["address"])}</span>', o["address"]),
        f'{escape(_place(o))}<br><span class="small">range {escape(o["prefix"] or "-")} '
        f'[{escape(o["source"] or "no data")}]</span>',
        escape(o["country"] or "??"), num(o["bytes_out"]), num(o["sessions"]),
        "<br>".join(escape(f"{s['rule']}: {s['address']} {proto_name(s['protocol'])}/"
                           f"{s['port']}") for s in o["services"]),
        "<br>".join([*(escape(p) for p in o["processes"]),
                     *(f"login <b>{escape(u)}</b>" for u in o["logins"])])
        or '<span class="none">unknown</span>',
        cell("<br>".join(f'{escape(e["input"])}: flow{"s" * (len(e["flow_serials"]) > 1)} '
                          f'{", ".join(map(str, e["flow_serials"]))}' for e in o["evidence"]),
              cls="small mono"),
        "<br>".join(escape(n) for n in o["notes"]) + (" (weak evidence)" if o["weak"] else ""),
    ] for o in a[key]]  # fmt: skip
    body = table(f"access-{key}", heads, rows, {3, 4}) if rows else f"<p>{NONE}</p>"
    return f"<h3>{title} ({len(rows)})</h3>{body}"


def _rules(a: dict[str, Any]) -> str:
    rows = [[escape(u["rule"]), escape(u["verdict"]), escape(u["reason"]) or NONE,
             escape(u.get("until") or "") or NONE, num(u["sessions"]), num(u["bytes_out"]),
             f'<span class="mono">{escape(u["where"])}</span>'] for u in a["rules"]]  # fmt: skip
    heads = ["rule", "verdict", "reason", "until", "sessions", "bytes out", "written at"]
    return "<h3>Allow and exception rules used</h3>" + (
        table("access-rules", heads, rows, {4, 5}) if rows else f"<p>{NONE}</p>")  # fmt: skip
