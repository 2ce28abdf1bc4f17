"""The analysis document as text for a terminal: the answer first, then what it rests on."""

from __future__ import annotations

from typing import Any

from agent.findings.headline import pct, plural, sentence
from agent.model import clock
from agent.policy.access import ACCESS_VIOLATION, ALLOWED
from agent.policy.judge import APPROVED, EXEMPT, UNVERIFIED, VIOLATION
from agent.wire.keywords import proto_name

VERDICT_ROWS = (APPROVED, EXEMPT, VIOLATION, UNVERIFIED)
RULE_SECTIONS = (
    ("approvals", "Approved by"),
    ("exemptions", "Exceptions used"),
    ("exceptions_not_in_force", "Exceptions not in force (their flows are violations)"),
    ("exclusions", "Excluded from scope"),
)


def render(doc: dict[str, Any]) -> str:
    return "\n".join(
        [*_headline(doc), *_places(doc), *access_lines(doc), *_destinations(doc, "violations"),
         *_destinations(doc, "unverified"), *_rules(doc), *_inputs(doc)]  # fmt: skip
    )


def _headline(doc: dict[str, Any]) -> list[str]:
    h = doc["headline"]
    inside = h["in_scope"]
    lines = [sentence(doc), "", f"{'':<16}{'flows':>10}{'':>10}{'bytes':>16}"]
    lines.append(_row("in scope", inside, inside))
    for kind in VERDICT_ROWS:
        lines.append(_row(f"  {kind}", h[kind], inside))
    lines.append(_row("excluded", h["excluded"], None))
    lines.append(_row("out of scope", h["out_of_scope"], None))
    guessed = doc["direction"]["inferred"]
    if guessed["flows"]:
        lines += ["", _row("side guessed", guessed, inside),
                  "  in scope, but neither the policy's local networks nor a SYN said which",
                  "  side is local: the ports did, or the first packet"]  # fmt: skip
    return lines


def _row(label: str, c: dict[str, int], whole: dict[str, int] | None) -> str:
    def share(part: int, total: int) -> str:
        return f"({pct(part, total)})" if total else ""

    flows, nbytes = c["flows"], c["bytes"]
    f_pct = share(flows, whole["flows"]) if whole else ""
    b_pct = share(nbytes, whole["bytes"]) if whole else ""
    return f"{label:<16}{flows:>10,} {f_pct:>9}{nbytes:>16,} {b_pct:>9}".rstrip()


def _destinations(doc: dict[str, Any], key: str) -> list[str]:
    found = doc[key]
    if not found:
        return []
    lines = ["", f"{key.capitalize()}, by destination:"]
    for d in found:
        where = place(d) or "-"
        names = ", ".join(sorted({n["name"] for n in d["names"]})) or "-"
        ports = " ".join(f"{proto_name(p['protocol'])}/{p['port']}" for p in d["ports"])
        lines.append(
            f"  {d['address']:<26} {where:<26} {d['country'] or '??':<3} {d['bytes']:>12,} B "
            f"{plural(d['flows'], 'flow'):>9}  {ports}"
        )
        lines.append(f"      names: {names}")
        lines.append(f"      seen {_clock(d['first'])} .. {_clock(d['last'])}; "
                     f"range {d['prefix'] or '-'} [{d['source'] or 'no data'}]")  # fmt: skip
        lines.extend(f"      note: {note}" for note in d["notes"])
    return lines


def _rules(doc: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for key, title in RULE_SECTIONS:
        if not doc[key]:
            continue
        lines += ["", f"{title}:"]
        for u in doc[key]:
            until = f" until {u['until']}" if "until" in u else ""
            lines.append(f"  {u['rule']}{until}: {plural(u['flows'], 'flow')}, {u['bytes']:,} B "
                         f"({u['where']})")  # fmt: skip
            if u["reason"]:
                lines.append(f"      {u['reason']}")
    if doc["contradictions"]:
        lines += ["", "Contradictions (a name says one place, the address another):"]
        lines.extend(f"  {c}" for c in doc["contradictions"])
    return lines


def _inputs(doc: dict[str, Any]) -> list[str]:
    i = doc["inputs"]
    p = i["policy"]
    lines = ["", "Data used:", f"  policy   {p['file']} sha256:{p['sha256']}"]
    if i["filter"]:
        lines.append(f"  filter   {i['filter']!r}: only the capture records it selects")
    for c in i["captures"]:
        if c["same_as"]:
            lines.append(f"  capture  {c['file']} sha256:{c['sha256']} (the same as "
                         f"{c['same_as']}: read once)")  # fmt: skip
            continue
        skipped = sum(c["skipped"].values())
        chosen = f"{c['not_selected']:,} not selected, " if i["filter"] else ""
        lines.append(f"  capture  {c['file']} sha256:{c['sha256']} ({c['records']:,} records, "
                     f"{chosen}{skipped:,} not decodable)")  # fmt: skip
        if c["error"]:
            lines.append(f"    damaged: {c['error']}")
        lines.extend(f"    cut short: {w}" for w in c["warnings"])
    lines += _sources(i)
    if not i["ranges"]:
        lines.append("  ranges   none stored: only special-purpose classes could be answered")
    for r in i["ranges"]:
        lines.append(f"  ranges   {r['slot']:<20} {r['version']} sha256:{r['sha256'][:16]} "
                     f"{dated(r)}")  # fmt: skip
    lines.extend(f"  NOTE: {n}" for n in doc["range_notices"])
    return lines


def _sources(i: dict[str, Any]) -> list[str]:
    """Flow record inputs: each source's vantage point, exactness and share of the bytes."""
    lines = []
    for s in i.get("sources", []):
        share = s["share"]["bytes"]
        pct = "-" if share is None else f"{100 * share:.1f}%"
        lines.append(f"  source   {s['source']} at {s['vantage']}: {s['counts']}, {s['flows']:,} "
                     f"flows, {s['bytes']:,} bytes ({pct} of the bytes)")  # fmt: skip
    if "records_merged" in i:
        m, gaps = i["records_merged"], i["coverage_gaps"]
        lines.append(f"  records  {m['directions']:,} joined as the other direction or a later "
                     f"window, {m['duplicates']:,} seen at a second vantage point and counted "
                     f"once, {i['records_rejected']:,} rejected")  # fmt: skip
        lines += [f"  gap      {g['source']} at {g['vantage']}: {g['seconds']:,} s {g['gap']}"
                  for g in gaps]  # fmt: skip
    return lines


def dated(r: dict[str, Any]) -> str:
    """A range version's date against the traffic's, in a few words."""
    if r["published"] is None:
        return "(the file does not say when it was published)"
    day = r["published"][:10]
    if r["days_before_period"] is None and r["days_after_period"] is None:
        return f"(published {day}; no traffic to measure it against)"
    if r["later_than_traffic"]:
        return f"(published {day}, {plural(r['days_after_period'], 'day')} AFTER the traffic began)"
    stale = ", stale" if r["stale"] else ""
    return f"(published {day}, {plural(r['days_before_period'], 'day')} before the traffic{stale})"



def place(d: dict[str, Any]) -> str:
    """Where traffic ends, as one label: a site, else the provider's region and, when it is a
    zone of its own (a Local or Wavelength Zone), that zone."""
    if d["site"]:
        return f"site {d['site']}"
    if d["provider"] and not d["region"]:
        return f"{d['provider']} (no region)"
    zone = d["border_group"] if d["border_group"] not in (None, d["region"]) else None
    return " ".join(x for x in (d["provider"], d["region"], zone) if x)


def place_label(d: dict[str, Any]) -> str:
    """`place`, or, where no range placed the traffic, what did: country data alone, or
    nothing."""
    return place(d) or ("country data only" if d["country"] else "no range or country data")


def _places(doc: dict[str, Any]) -> list[str]:
    """In-scope bytes by place (provider, region, zone, country, site) and verdict."""
    if not doc["breakdown"]:
        return []
    lines = ["", "In scope, by place:"]
    for b in sorted(doc["breakdown"], key=lambda b: (-b["bytes"], place(b), b["verdict"])):
        where = place_label(b)
        lines.append(f"  {where:<40} {b['country'] or '??':<3} {b['verdict']:<11}"
                     f"{b['bytes']:>16,} B {plural(b['flows'], 'flow'):>11}")  # fmt: skip
    return lines





def _clock(text: str) -> str:
    """Decimal epoch seconds (the document's times) -> a UTC time a person reads."""
    sec, _, frac = text.partition(".")
    return clock(int(sec) * 1_000_000_000 + int(frac.ljust(9, "0")[:9]))



ACCESS_ROWS = ((ALLOWED, "allowed"), (EXEMPT, "exempt"), (ACCESS_VIOLATION, "violation"),
               (UNVERIFIED, "unverified"))  # fmt: skip


def access_lines(doc: dict[str, Any]) -> list[str]:
    """Accesses into protected services: sessions and bytes out by verdict, then each access
    violation's origin with its evidence."""
    a = doc.get("access")
    if not a:
        return []
    h = a["headline"]
    lines = ["", f"Access to protected services ({', '.join(p['rule'] for p in a['protected'])}):",
             f"{'':<16}{'sessions':>10}{'bytes out':>16}"]  # fmt: skip
    for key, label in (("accesses", "accesses"), *ACCESS_ROWS):
        lines.append(f"{label if key == 'accesses' else '  ' + label:<16}"
                     f"{h[key]['sessions']:>10,}{h[key]['bytes_out']:>16,}")  # fmt: skip
    for key, title in (("violations", "Access violations"), ("unverified", "Unverified origins")):
        if a[key]:
            lines += ["", f"{title}, by origin:"]
        for o in a[key]:
            where = (f"site {o['site']}" if o["site"] else
                     " ".join(x for x in (o["provider"], o["region"]) if x) or "-")  # fmt: skip
            into = ", ".join(sorted({f"{s['rule']} {s['address']}/{s['port']}"
                                     for s in o["services"]}))  # fmt: skip
            lines.append(f"  {o['address']:<26} {where:<26} {o['country'] or '??':<3} "
                         f"{o['bytes_out']:>12,} B out {plural(o['sessions'], 'session'):>11}  "
                         f"into {into}")  # fmt: skip
            lines.append(f"      range {o['prefix'] or '-'} [{o['source'] or 'no data'}]; "
                         f"served by {', '.join(o['processes']) or 'unknown'}"
                         + "".join(f"; login {u}" for u in o["logins"]))  # fmt: skip
            lines.extend(f"      {n}" for n in o["notes"])
    return lines
