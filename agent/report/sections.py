"""The HTML report's sections, each from one part of the report document; `html.render`
puts them in order. Every value is escaped here, where it meets markup."""

from __future__ import annotations

from html import escape
from typing import Any

from agent.findings.headline import SAMPLED, WEAK, kind, sentence
from agent.findings.text import place, place_label
from agent.policy.judge import APPROVED, EXEMPT, UNVERIFIED, VIOLATION
from agent.report import provenance, svg, worldmap
from agent.report.build import REGION
from agent.report.markup import NONE, cell, code, num, pct, plural, table
from agent.report.times import utc
from agent.wire.keywords import proto_name

VERDICT_ROWS = ((APPROVED, "approved"), (EXEMPT, "exempt (live exception)"),
                (VIOLATION, "violation"), (UNVERIFIED, "unverified"))  # fmt: skip


def verdict_text(r: dict[str, Any]) -> tuple[str, str]:
    """(banner class, the answer in one line: the terminal's own, `analysis.headline`)."""
    return kind(r), sentence(r)


def headline(r: dict[str, Any]) -> str:
    h = r["headline"]
    inside, ok = h["in_scope"], h["approved"]
    excluded = ", ".join(u["rule"] for u in r["rules"]["exclusions"]) or "no rule"
    rows = [_count_row("in scope (denominator)", inside, inside)]
    rows += [_count_row(label, h[k], inside, k) for k, label in VERDICT_ROWS]
    rows += [_count_row("excluded", h["excluded"], None), _count_row("out of scope",
                                                                     h["out_of_scope"], None)]
    return "".join([
        '<section id="headline"><h2>Headline</h2><p class="share">',
        f'<span class="big">{pct(ok["bytes"], inside["bytes"])}</span> of in-scope bytes '
        f'({ok["bytes"]:,} of {inside["bytes"]:,}) and <span class="big">'
        f'{pct(ok["flows"], inside["flows"])}</span> of in-scope flows ({ok["flows"]:,} of '
        f'{inside["flows"]:,}) ended at approved endpoints{_weak(h)}.</p>',
        _sampled(h),
        f"<p><b>Numerator:</b> approved traffic. <b>Denominator:</b> all in-scope traffic: "
        f"approved, exempt, violation and unverified. <b>In neither:</b> "
        f"{plural(h['excluded']['flows'], 'flow')} ({h['excluded']['bytes']:,} bytes) excluded by "
        f"{escape(excluded)}, and {plural(h['out_of_scope']['flows'], 'flow')} out of scope.</p>",
        f"<p><b>Violations:</b> {plural(h['violation']['flows'], 'flow')} to "
        f"{plural(h['destinations']['violation'], 'destination')}. <b>Unverified:</b> "
        f"{plural(h['unverified']['flows'], 'flow')} to "
        f"{plural(h['destinations']['unverified'], 'destination')}. <b>Exempt:</b> "
        f"{plural(h['exempt']['flows'], 'flow')} under "
        f"{plural(len(r['rules']['exemptions']), 'exception')}.</p>",
        table("counts", ["", "flows", "%", "bytes", "%"], rows, sortable=False),
        provenance.bound(r), provenance.range_notice(r), "</section>",
    ])  # fmt: skip


def _sampled(h: dict[str, Any]) -> str:
    if not h.get("estimated_counts"):
        return ""
    return (f'<p class="sampled"><b>Estimated:</b> {SAMPLED.capitalize()}; each source\'s share '
            'is under <a href="#coverage">Sources of the evidence</a>.</p>')


def charts(r: dict[str, Any]) -> str:
    countries = [(g["country"] or "(unknown)", {k: v["bytes"] for k, v in g["verdicts"].items()})
                 for g in r["breakdown"]["country"]]  # fmt: skip
    places = [{**p, "label": place_label(p)} for p in r["breakdown"]["places"]]
    return "".join([
        '<section id="charts"><h2>Where in-scope traffic ended</h2>', svg.legend(),
        worldmap.draw(places, "In-scope bytes by where they ended (a region's or site's city, "
                              "else the country)"),
        svg.bars("In-scope bytes by region or site", _regions(places)),
        svg.bars("In-scope bytes by country", countries),
        svg.timeline(r["timeline"], r["period"]["first"], r["period"]["last"]), "</section>",
    ])  # fmt: skip


def destinations(r: dict[str, Any], key: str, title: str) -> str:
    """One row per destination; the process column only when some flow of the report has a
    process (a journal's), since a capture never says."""
    processes = any(d["processes"] for k in ("violations", "unverified") for d in r[k])
    heads = ["address", "names", "place", "country", "bytes", "flows", "seen (UTC)",
             *(["process"] if processes else []), "evidence", "notes"]  # fmt: skip
    rows = [[
        cell(f'<span class="mono">{escape(d["address"])}</span><br><span class="small">'
              + escape(" ".join(f"{proto_name(p['protocol'])}/{p['port']}" for p in d["ports"]))
              + "</span>", d["address"]),
        _names(d["names"]),
        f'<span class="place">{escape(_where(d)) or NONE}</span><br><span class="small">range '
        f'{escape(d["prefix"] or "-")} [{escape(d["source"] or "no data")}]</span>',
        escape(d["country"] or "??"), num(d["bytes"]), num(d["flows"]),
        cell(_seen(d["first"], d["last"]), d["first"]),
        *([_processes(d)] if processes else []),
        cell("<br>".join(f'<span class="file">{escape(e["input"])}:</span> '
                          f'flow{"s" * (len(e["flow_serials"]) > 1)} '
                          f'{", ".join(map(str, e["flow_serials"]))}' for e in d["evidence"]),
              cls="small mono evidence"),
        "<br>".join(escape(n) for n in d["notes"]) + (" (weak evidence)" if d["weak"] else ""),
    ] for d in r[key]]  # fmt: skip
    body = table(f"{key}-table", heads, rows, numeric={4, 5}) if rows else f"<p>{NONE}</p>"
    return f'<section id="{key}"><h2>{title} ({len(rows)})</h2>{body}</section>'


def _processes(d: dict[str, Any]) -> str:
    return "<br>".join(escape(p) for p in d["processes"]) or '<span class="none">unknown</span>'


def breakdown(r: dict[str, Any]) -> str:
    parts = ['<section id="breakdown"><h2>Breakdown of in-scope traffic</h2>']
    for dim in ("provider", "region", "country", "site"):
        keys = list(REGION) if dim == "region" else [dim]
        heads = [*keys, "bytes", "flows", *(f"{k} bytes" for k, _ in VERDICT_ROWS)]
        rows = [[*(escape(g[k] or "") or NONE for k in keys), num(g["bytes"]), num(g["flows"]),
                 *(num(g["verdicts"][k]["bytes"]) for k, _ in VERDICT_ROWS)]
                for g in r["breakdown"][dim]]  # fmt: skip
        numeric = set(range(len(keys), len(heads)))
        parts.append(f"<h3>By {dim}</h3>" + (table(f"by-{dim}", heads, rows, numeric=numeric)
                                              if rows else f"<p>{NONE}</p>"))  # fmt: skip
    return "".join(parts) + "</section>"


def rules(r: dict[str, Any]) -> str:
    parts = ['<section id="exceptions"><h2>Exceptions, approvals and exclusions used</h2>']
    for key, title in (("exemptions", "Exceptions used"),
                       ("exceptions_not_in_force", "Exceptions not in force (their flows "
                        "are violations)"), ("approvals", "Approvals"),
                       ("exclusions", "Exclusions from scope")):  # fmt: skip
        dated = "exception" in key
        rows = [[escape(u["rule"]), escape(u["reason"]) or NONE,
                 *((escape(u["since"] or "") or NONE, escape(u["until"])) if dated else ()),
                 num(u["bytes"]), num(u["flows"]), num(u["weak"]["flows"]),
                 f'<span class="mono">{escape(u["where"])}</span>']
                for u in r["rules"][key]]  # fmt: skip
        heads = ["rule", "reason", *(("since", "until (expiry)") if dated else ()), "bytes",
                 "flows", "weak flows", "written at"]  # fmt: skip
        first = 4 if dated else 2
        parts.append(f"<h3>{title}</h3>" + (table(key, heads, rows, numeric={first, first + 1,
                                                                             first + 2})
                                             if rows else f"<p>{NONE}</p>"))  # fmt: skip
    if r["contradictions"]:
        parts.append("<h3>Contradictions (a name says one place, the address another)</h3><ul>"
                     + "".join(f"<li>{escape(c)}</li>" for c in r["contradictions"]) + "</ul>")
    return "".join(parts) + "</section>"


def method(r: dict[str, Any]) -> str:
    m = r["method"]
    parts = [f'<section id="method"><h2>Method: {escape(m["title"])}</h2>']
    for s in m["sections"]:
        parts.append(f"<h3>{escape(s['title'])}</h3>")
        parts += [f"<p>{code(p)}</p>" for p in s["paragraphs"]]
        if s["steps"]:
            parts.append("<ol>" + "".join(f"<li>{code(x)}</li>" for x in s["steps"]) + "</ol>")
    return "".join(parts) + "</section>"


def signature(envelope: dict[str, Any]) -> str:
    block = envelope.get("signature")
    head = '<section id="signature"><h2>Signature</h2>'
    if not block:
        return head + "<p>This report is not signed.</p></section>"
    return head + (
        f"<p>Signed with {escape(block['algorithm'])} by the key whose SHA-256 is "
        f'<span class="mono">{escape(block["key_id"])}</span>. The signed report is embedded in '
        "this page; to check the signature, every byte of the page, and (where its inputs are "
        "at hand) the analysis itself, run:</p>"
        "<pre>residency report verify THIS-FILE.html --key KEY.pub</pre></section>"
    )


def _count_row(label: str, c: dict[str, int], whole: dict[str, int] | None,
               kind: str = "") -> list[str]:  # fmt: skip
    name = f'<span class="k-{kind}">{escape(label)}</span>' if kind else escape(label)
    shares = [pct(c[k], whole[k]) if whole else "" for k in ("flows", "bytes")]
    return [name, num(c["flows"]), cell(shares[0], cls="n"), num(c["bytes"]),
            cell(shares[1], cls="n")]  # fmt: skip


def _weak(h: dict[str, Any]) -> str:
    """How much of the approved share rests on weak evidence, as the terminal says it."""
    weak = h["approved_weak"]
    if not weak["bytes"]:
        return ""
    share = pct(weak["bytes"], h["approved"]["bytes"])
    return (f'; of the approved bytes, <span class="big">{share}</span> ({weak["bytes"]:,}) '
            f"{escape(WEAK)}")


def _names(names: list[dict[str, str]]) -> str:
    """Each name once, with every source that showed it."""
    seen: dict[str, list[str]] = {}
    for n in names:
        seen.setdefault(n["name"], []).append(n["source"])
    return "<br>".join(f"{escape(k)} ({escape(', '.join(v))})" for k, v in seen.items()) or NONE


def _where(d: dict[str, Any]) -> str:
    return place(d)


def _seen(first: str, last: str) -> str:
    """First and last packet, the second without its date when it is the same day."""
    a, b = (str(utc(t))[:23].replace("T", " ") for t in (first, last))
    return f"{escape(a)} to {escape(b[11:] if a[:10] == b[:10] else b)}"


def _regions(places: list[dict[str, Any]]) -> list[svg.Row]:
    """Bytes by verdict for each place (a site, or a provider region or zone, with its
    country: a region whose zones lie in two countries is two bars), most first."""
    out: dict[str, dict[str, int]] = {}
    for p in places:
        label = p["label"] + (f" ({p['country']})" if p["country"] else "")
        by = out.setdefault(label, {})
        by[p["verdict"]] = by.get(p["verdict"], 0) + p["bytes"]
    return sorted(out.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))

