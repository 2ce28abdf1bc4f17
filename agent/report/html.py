"""A report envelope -> one self-contained HTML page, and back.

The page embeds the canonical envelope in `<script type="application/json"
id="residency-report">` and everything visible is rendered from it, deterministically: so a
page is checked by rendering its embedded envelope again and comparing every byte. Nothing is
fetched: the style sheet, script and SVG charts are inline, and the content security policy
allows only them (by hash) and no connections.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from typing import Any

from agent.errors import ReportError
from agent.findings.document import canonical
from agent.report import access as A
from agent.report import provenance as P
from agent.report import sections as S
from agent.report.assets import CSS, JS

DOCTYPE = b"<!DOCTYPE html>"
EMBED = '<script type="application/json" id="residency-report">'
NAV = (("headline", "Headline"), ("charts", "Charts"), ("violations", "Violations"),
       ("unverified", "Unverified"), ("breakdown", "Breakdown"), ("exceptions", "Exceptions"),
       ("access", "Access"), ("coverage", "Coverage"), ("scope", "Scope"), ("inputs", "Inputs"),
       ("method", "Method"),
       ("signature", "Signature"))  # fmt: skip


def render(envelope: dict[str, Any]) -> bytes:
    """The page; it depends only on the envelope's canonical form (read back, so key order is
    the same however the envelope was made)."""
    envelope = json.loads(canonical(envelope))
    r = envelope["report"]
    kind, answer = S.verdict_text(r)
    incomplete = ("" if r["complete"] else '<span class="incomplete">The report covers what '
                  "the captures held up to where they were damaged or cut short.</span>")
    title = f"Residency report: {r['inputs']['policy']['name']}: {answer.split(':')[0].lower()}"
    body = [
        f"<header><h1>Residency verification report</h1><p class=\"sub\">Policy "
        f"<b>{escape(r['inputs']['policy']['name'])}</b>; traffic from "
        f"{escape(r['period']['first_utc'] or '-')} to {escape(r['period']['last_utc'] or '-')}"
        f"{_generated(r)}</p>",
        f'<div class="banner {kind}" id="verdict">{escape(answer)}{incomplete}</div></header>',
        "<nav>" + "".join(f'<a href="#{i}">{t}</a>' for i, t in NAV
                          if i != "access" or r.get("access")) + "</nav>",
        S.headline(r), S.charts(r),
        S.destinations(r, "violations", "Violations, by destination"),
        S.destinations(r, "unverified", "Unverified destinations"),
        S.breakdown(r), S.rules(r), A.section(r), P.coverage(r), P.scope(r), P.inputs(r),
        S.method(r),
        S.signature(envelope),
        f"<footer>Made by {escape(r['tool']['name'])} {escape(r['tool']['version'])}; report "
        f"schema {escape(r['schema'])}.</footer>",
    ]  # fmt: skip
    page = "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_policy()}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
        *body, EMBED + _embedded(envelope) + "</script>", f"<script>{JS}</script>",
        "</body>", "</html>", "",
    ])  # fmt: skip
    return page.encode()


def extract(data: bytes, path: str) -> bytes:
    """The embedded envelope's JSON text (`<` written as \\u003c, which JSON reads back)."""
    start = data.find(EMBED.encode())
    end = data.find(b"</script>", start)
    if start < 0 or end < 0:
        raise ReportError(f"{path}: the page carries no residency report")
    return data[start + len(EMBED) : end]


def _embedded(envelope: dict[str, Any]) -> str:
    """Canonical JSON that cannot end its script element early."""
    return canonical(envelope).decode().replace("<", "\\u003c")


def _policy() -> str:
    return (f"default-src 'none'; style-src '{_hash(CSS)}'; script-src '{_hash(JS)}'; "
            "img-src data:; base-uri 'none'; form-action 'none'")  # fmt: skip


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _generated(r: dict[str, Any]) -> str:
    return f"; made {escape(r['generated'])}" if "generated" in r else ""
