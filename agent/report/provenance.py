"""The HTML sections that say what a report rests on and what it could not see: the bound under
the headline, coverage, the period and vantage points, and the inputs. A report rests on
captures or on a daemon's journal; each part shows whichever it has. Every value is escaped
here, where it meets markup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from agent.report.markup import NONE, num, pairs, plural, table
from agent.report.times import utc


def bound(r: dict[str, Any]) -> str:
    """One paragraph under the headline: what the share is bounded by."""
    c, i = r["coverage"], r["inputs"]
    head = '<p class="bound"><b>Bounded by what was watched:</b> '
    tail = ' see <a href="#coverage">Coverage</a>.</p>'
    if i["journals"]:
        d, u = c["downtime"], c["unattributed"]
        drops = c["drops"] or {}
        return head + (
            f"{plural(sum(j['rows'] for j in i['journals']), 'journal row')} verified; the agent "
            f"was not watching for {_duration(d['seconds'])} of the period (in "
            f"{plural(d['periods'], 'gap')}); packets dropped by the kernel: "
            f"{_known(drops.get('drops'))}; rows "
            f"the agent could not journal: {_known(drops.get('lost'))}; "
            f"{plural(u['flows'], 'in-scope flow')} attributed to no process;"
        ) + tail
    skipped = ", ".join(f"{k}: {v:,}" for k, v in c["skipped"].items()) or "none"
    chosen = ""
    if i["filter"]:
        chosen = (f"{c['not_selected']:,} not selected by the capture filter "
                  f'<span class="mono">{escape(i["filter"])}</span>, ')  # fmt: skip
    return head + (
        f"{c['records']:,} records read from {plural(len(i['captures']), 'capture')}, {chosen}"
        f"{c['decoded']:,} decoded; not decodable: {escape(skipped)}; dropped by the recorder: "
        f"{_known((c['drops'] or {}).get('drops'))};"
    ) + tail


def coverage(r: dict[str, Any]) -> str:
    c = r["coverage"]
    nj = c["not_judged"]
    parts = ['<section id="coverage"><h2>Coverage: what was not seen</h2>']
    parts += _journals(c) if c["journals"] else _captures(c)
    parts += _sources(c)
    parts += [
        f"<p><b>Unattributed connections:</b> {plural(c['unattributed']['flows'], 'flow')} "
        f"({c['unattributed']['bytes']:,} bytes): {escape(c['unattributed']['note'])}.</p>",
        _guessed(c["direction_guessed"]),
        f"<p><b>Seen but not judged:</b> {plural(nj['excluded']['flows'], 'flow')} excluded, "
        f"{plural(nj['out_of_scope']['flows'], 'flow')} out of scope.</p></section>",
    ]
    return "".join(parts)


def _sources(c: dict[str, Any]) -> list[str]:
    """Flow record inputs: each source's vantage point, exactness and share of the evidence."""
    if "sources" not in c:
        return []
    rows = [[escape(s["source"]), _mono(s["vantage"]), escape(s["counts"]), num(s["flows"]),
             num(s["bytes"]), escape("-" if s["share"]["bytes"] is None
                                     else f"{100 * s['share']['bytes']:.1f}%")]
            for s in c["sources"]]  # fmt: skip
    m = c["records_merged"]
    gaps = "".join(f"<li>{escape(g['source'])} at {_mono(g['vantage'])}: {num(g['seconds'])} s "
                   f"{escape(g['gap'])}</li>" for g in c["coverage_gaps"])  # fmt: skip
    return [
        "<h3>Sources of the evidence</h3>",
        table("sources", ["source", "vantage point", "counts", "flows", "bytes", "share of bytes"],
              rows, sortable=False),
        f"<p><b>Flow records merged:</b> {num(m['directions'])} joined as the other direction "
        f"or a later window, {num(m['duplicates'])} seen at a second vantage point and counted "
        f"once; {plural(c['records_rejected'], 'flow')} rejected.</p>",
        f"<p><b>Seconds not logged:</b></p><ul>{gaps}</ul>" if gaps else "",
    ]  # fmt: skip


def _guessed(g: dict[str, Any]) -> str:
    return (f"<p><b>Local side guessed:</b> {plural(g['flows'], 'flow')} ({g['bytes']:,} "
            f"bytes): {escape(g['note'])}.</p>")  # fmt: skip


def scope(r: dict[str, Any]) -> str:
    p = r["period"]
    rows = [[escape(kind), escape(x["rule"]), escape(x["description"]) or NONE,
             "<br>".join(f"{escape(k)}: {escape(', '.join(v))}" for k, v in x["match"].items()),
             f'<span class="mono">{escape(x["where"])}</span>']
            for kind, key in (("hosts in scope", "hosts"), ("excluded", "exclusions"))
            for x in r["scope"][key]]  # fmt: skip
    points = "".join(f"<li>{_point(v)}</li>" for v in r["scope"]["vantage_points"])
    return "".join([
        '<section id="scope"><h2>Period, hosts and vantage points</h2>',
        f"<p><b>Period:</b> {escape(p['first_utc'] or 'no packets')} to "
        f"{escape(p['last_utc'] or 'no packets')} (first and last packet, capture time).</p>",
        table("scope-table", ["", "rule", "description", "selects", "written at"], rows,
               sortable=False),
        f"<h3>Vantage points</h3><ul>{points}</ul></section>",
    ])  # fmt: skip


def inputs(r: dict[str, Any]) -> str:
    i, tool = r["inputs"], r["tool"]
    pol = i["policy"]
    ranges = [[escape(x["slot"]), escape(x["version"]), escape(x["published"] or "") or NONE,
               escape(age(x, r["period"])), _mono(x["sha256"])] for x in i["ranges"]]  # fmt: skip
    if i["journals"]:
        rows = [[_mono(x["file"]), _mono(x["head"]), num(x["rows"]),
                 escape(f"{x['since_utc']} to {x['until_utc']}")] for x in i["journals"]]
        read = "<h3>Journals</h3>" + table("journals", ["file", "verified head (seq:sha256)",
                                                         "rows", "period read"], rows, {2})
    else:
        rows = [[_mono(x["file"]), num(x["size"]), _mono(x["sha256"])] for x in i["captures"]]
        read = "<h3>Captures</h3>" + table("captures", ["file", "bytes", "sha256"], rows, {1})
        if i["filter"]:
            read += (f'<p><b>Capture filter:</b> <span class="mono">{escape(i["filter"])}'
                     "</span>: only the records it selects were decoded and judged.</p>")
    return "".join([
        '<section id="inputs"><h2>Inputs</h2>',
        f"<p><b>Tool:</b> {escape(tool['name'])} {escape(tool['version'])}.</p>", read,
        "<h3>Range data</h3>" + _chosen(i["ranges_chosen"])
        + (table("ranges", ["source", "version", "published", "age at the traffic's time",
                            "sha256"], ranges)
           if ranges else f"<p>{NONE}: no destination could be placed</p>"),
        f"<h3>Policy {escape(pol['name'])}</h3><p><span class=\"mono\">{escape(pol['file'])}"
        f"</span>, sha256 <span class=\"mono\">{escape(pol['sha256'])}</span></p>",
        f"<pre>{escape(pol['text'])}</pre></section>",
    ])  # fmt: skip


def age(x: dict[str, Any], period: dict[str, Any]) -> str:
    """How old a range version was when the traffic began and when it ended (once when the
    same), from its own publication date; a version later than the traffic says so."""
    if x["published"] is None:
        return "not known: the file does not say when it was published"
    if not period["first"]:
        return "no traffic to measure it against"
    published = datetime.fromisoformat(x["published"])
    start, end = (_at(period[k]) - published for k in ("first", "last"))
    said = (_old(start, "the traffic") if _old(start, "") == _old(end, "")
            else f"{_old(start, 'its start')}, {_old(end, 'its end')}")  # fmt: skip
    return said + (" (stale)" if x["stale"] else "")


def _at(text: str) -> datetime:
    return datetime.fromtimestamp(int(text.partition(".")[0]), UTC)


def _old(d: timedelta, when: str) -> str:
    """A version's age at `when`, in words: days, then months, then years."""
    if d < timedelta(0):
        return f"published {_length(-d)} AFTER {when}"
    return f"{_length(d)} old at {when}"


def _length(d: timedelta) -> str:
    days = d.days
    if days < 1:
        return "under a day"
    if days < 61:
        return plural(days, "day")
    if days < 730:
        return plural(days * 12 // 365, "month")
    return f"{days / 365.25:.1f} years"


def range_notice(r: dict[str, Any]) -> str:
    """Under the headline, when range data is later than the traffic or stale for it."""
    if not r["range_notices"]:
        return ""
    items = "".join(f"<li>{escape(n)}</li>" for n in r["range_notices"])
    return (f'<div class="notice"><p><b>Range data not of the traffic\'s time:</b> the places '
            f'below rest on these versions; see <a href="#inputs">Inputs</a>.</p><ul>{items}'
            "</ul></div>")  # fmt: skip


def _chosen(c: dict[str, Any]) -> str:
    if c["chosen_by"] == "now":
        return "<p>No traffic to date: the newest version of each source was used.</p>"
    start = f"{utc(c['period_start'])} ({c['start_from']})" if c["period_start"] else "-"
    why = ("the traffic's start" if c["chosen_by"] == "period start"
           else f"--as-of {utc(c['chosen_for'])}")  # fmt: skip
    return (f"<p>The versions in force at {escape(why)}: for each source, the newest published "
            f"on or before it, else the oldest after it. The traffic began {escape(start)}.</p>")


def _captures(c: dict[str, Any]) -> list[str]:
    rows = [[_mono(x["file"]), num(x["records"]), num(x["decoded"]), pairs(x["skipped"]),
             pairs(x["anomalies"]), num(x["snaplen_cut"]), pairs(x["untrusted_names"]),
             escape("; ".join(filter(None, [x["error"] or "", *x["warnings"]]))) or NONE]
            for x in c["captures"]]  # fmt: skip
    heads = ["capture", "records", "decoded", "not decodable, by reason", "damaged inside",
             "cut short", "untrusted names", "damage and warnings"]  # fmt: skip
    return [
        table("coverage-table", heads, rows, numeric={1, 2, 5}),
        f"<p><b>Damaged captures:</b> {escape(', '.join(c['damaged'])) or 'none'}.</p>",
        f"<p><b>Dropped by the recorder:</b> {escape(c['drops_note'])}.</p>",
        f"<p><b>Agent downtime:</b> {escape(c['downtime_note'])}.</p>",
    ]


def _journals(c: dict[str, Any]) -> list[str]:
    rows = [[_mono(j["file"]), num(j["heartbeats"]), pairs(j["counters"]),
             "<br>".join(escape(f"{_utc(g['from_utc'])} to {_utc(g['to_utc'])}")
                         for g in j["unwatched"]) or NONE,
             num(j["unattributed"]["flows"])] for j in c["journals"]]  # fmt: skip
    heads = ["journal", "heartbeats", "counted by the agent", "not watching (UTC)",
             "unattributed flows"]  # fmt: skip
    d = c["downtime"]
    share = "" if d["share"] is None else f", {d['share']:.1%} of the period"
    drops = c["drops"]
    counted = ", ".join(f"{k}: {_known(v)}" for k, v in drops.items()) if drops else "not known"
    return [
        table("coverage-table", heads, rows, numeric={1, 4}),
        f"<p><b>Agent downtime:</b> {_duration(d['seconds'])} in "
        f"{plural(d['periods'], 'gap')}{share}: {escape(c['downtime_note'])}.</p>",
        f"<p><b>Dropped or lost:</b> {escape(counted)}: {escape(c['drops_note'])}.</p>",
    ]


def _point(v: dict[str, Any]) -> str:
    if "journal" in v:
        hosts = ", ".join(v["hosts"]) or "host not named"
        ifaces = ", ".join(v["interfaces"]) or "interfaces not named"
        return f"{_mono(v['journal'])}: the agent on {escape(hosts)}, watching {escape(ifaces)}"
    links = ", ".join(_link(t) for t in v["link_types"]) or "no packets"
    return f"{_mono(v['capture'])}: {escape(links)}"


def _link(t: dict[str, Any]) -> str:
    return f"{t['name'] or 'link type ' + str(t['number'])} ({t['records']:,} records)"


def _mono(text: str) -> str:
    return f'<span class="mono">{escape(text)}</span>'


def _known(n: int | None) -> str:
    return "not known" if n is None else f"{n:,}"


def _utc(text: str | None) -> str:
    return (text or "")[:19].replace("T", " ")


def _duration(secs: str) -> str:
    """Decimal seconds, for a reader: to the second, with hours or minutes when long."""
    whole = int(secs.partition(".")[0])
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    text = f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s" if m else f"{secs[:-6]} s"
    return escape(text)

