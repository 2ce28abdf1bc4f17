"""Charts as inline SVG text, with no dependencies: stacked bars by verdict (bytes by region,
by country) and a timeline. Every coordinate is printed to one decimal, so a chart is the same
bytes for the same numbers; colours are attributes, not styles, so the page's content security
policy can forbid inline styles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from agent.findings.timeline import BY_NAME, Width
from agent.policy.judge import APPROVED, EXEMPT, UNVERIFIED, VIOLATION

ORDER = (APPROVED, EXEMPT, VIOLATION, UNVERIFIED)
COLORS: dict[str, str] = {
    APPROVED: "#2e7d32", EXEMPT: "#1565c0", VIOLATION: "#c62828", UNVERIFIED: "#d98200"
}
WIDTH = 720
BAR_ROWS = 12

Row = tuple[str, Mapping[str, int]]
"""A label and its bytes by verdict."""


def bars(title: str, rows: Sequence[Row]) -> str:
    """Horizontal bars, one per label, stacked by verdict; past BAR_ROWS the rest are summed."""
    rows = list(rows)
    if len(rows) > BAR_ROWS:
        rest: dict[str, int] = {}
        for _, by in rows[BAR_ROWS - 1 :]:
            for k, v in by.items():
                rest[k] = rest.get(k, 0) + v
        rows = [*rows[: BAR_ROWS - 1], (f"{len(rows) - BAR_ROWS + 1} others", rest)]
    if not rows:
        return _empty(title)
    top = max(sum(by.values()) for _, by in rows) or 1
    left, area, step = 230.0, 400.0, 26
    height = 30 + step * len(rows)
    parts = [_open(title, height), _text(0, 16, title, 'font-weight="bold"')]
    for i, (label, by) in enumerate(rows):
        y = 26 + i * step
        parts.append(_text(left - 8, y + 14, _short(label), 'text-anchor="end"'))
        x = left
        for kind in ORDER:
            w = area * by.get(kind, 0) / top
            if w > 0:
                parts.append(_rect(x, y, w, 18, kind, f"{label}: {kind} {by[kind]:,} bytes"))
                x += w
        parts.append(_text(x + 6, y + 14, human(sum(by.values()))))
    return "".join(parts) + "</svg>"


def timeline(t: Mapping[str, Any], first: str | None, last: str | None) -> str:
    """In-scope bytes over the period [first, last] (decimal epoch seconds), stacked by
    verdict, one bar per bin of the document's width (`findings.timeline`)."""
    title = "In-scope bytes over time (UTC)"
    if not t["rows"] or first is None or last is None:
        return _empty(title)
    width = BY_NAME[t["bin"]]
    starts = _bins(width, int(first.partition(".")[0]), int(last.partition(".")[0]))
    at = {s: i for i, s in enumerate(starts)}
    buckets: list[dict[str, int]] = [{} for _ in starts]
    for r in t["rows"]:
        b = buckets[at[_epoch(r["start"])]]
        b[r["verdict"]] = b.get(r["verdict"], 0) + r["bytes"]
    n, top = len(starts), max(sum(b.values()) for b in buckets) or 1
    left, plot_w, plot_h, base = 70.0, WIDTH - 80.0, 150.0, 180.0
    slot = plot_w / n
    bar = max(min(slot * 0.8, 60.0), 1.0)
    fmt = _TICKS[width.name]
    title += f", by {width.name} from {_stamp(starts[0], '%Y-%m-%d %H:%M:%S')}"
    parts = [_open(title, 220).replace("<svg ", '<svg id="timeline" ', 1),
             _text(0, 16, title, 'font-weight="bold"')]
    for frac in (0.0, 0.5, 1.0):
        y = base - plot_h * frac
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" '
                     f'y2="{y:.1f}" stroke="#bbb" stroke-width="0.5"/>')  # fmt: skip
        parts.append(_text(left - 6, y + 4, human(int(top * frac)), 'text-anchor="end"'))
    for i, b in enumerate(buckets):
        x, y = left + i * slot + (slot - bar) / 2, base
        label = _stamp(starts[i], fmt)
        for kind in ORDER:
            h = plot_h * b.get(kind, 0) / top
            if h > 0:
                y -= h
                tip = f"{_stamp(starts[i], '%Y-%m-%d %H:%M:%S')} ({width.name}): {kind}"
                parts.append(_rect(x, y, bar, h, kind, f"{tip} {b[kind]:,} bytes"))
        if i % max(1, -(-n // 8)) == 0:
            parts.append(_text(x + bar / 2, base + 16, label, 'text-anchor="middle"'))
    return "".join(parts) + "</svg>"


_TICKS = {"1 s": "%H:%M:%S", "10 s": "%H:%M:%S", "1 min": "%H:%M", "10 min": "%H:%M",
          "1 h": "%m-%d %H:00", "6 h": "%m-%d %H:00", "1 day": "%Y-%m-%d",
          "1 week": "%Y-%m-%d", "1 month": "%Y-%m", "3 months": "%Y-%m",
          "1 year": "%Y"}  # fmt: skip
"""How a bin's start is written under the axis, by width."""


def _bins(width: Width, first: int, last: int) -> list[int]:
    """The starts of every bin from the one holding `first` to the one holding `last`."""
    out, s = [], width.floor(first)
    while s <= last:
        out.append(s)
        s = width.after(s)
    return out


def _epoch(stamp: str) -> int:
    return int(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def _stamp(sec: int, fmt: str) -> str:
    return datetime.fromtimestamp(sec, UTC).strftime(fmt)


def legend() -> str:
    """The verdict colours, as one small SVG."""
    parts = [_open("Legend", 20, 460)]
    for i, kind in enumerate(ORDER):
        parts.append(_rect(i * 115.0, 4, 12, 12, kind, kind))
        parts.append(_text(i * 115.0 + 17, 15, kind))
    return "".join(parts) + "</svg>"


def human(n: int) -> str:
    """Bytes in SI units, three significant figures: 412702 -> 413 kB."""
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size - size // 2000:  # so 999.9 kB reads 1 MB
            value = n / size
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:.0f} {unit}"
    return f"{n} B"


def _open(title: str, height: int, width: int = WIDTH) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" '
            f'font-size="12" aria-label="{escape(title)}">')  # fmt: skip


def _rect(x: float, y: float, w: float, h: float, kind: str, tip: str) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="{COLORS[kind]}"><title>{escape(tip)}</title></rect>')  # fmt: skip


def _text(x: float, y: float, text: str, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" {extra}>{escape(text)}</text>'.replace(" >", ">")


def _short(label: str, size: int = 34) -> str:
    return label if len(label) <= size else label[: size - 1] + "\u2026"


def _empty(title: str) -> str:
    return (_open(title, 48) + _text(0, 16, title, 'font-weight="bold"')
            + _text(0, 38, "no in-scope traffic") + "</svg>")  # fmt: skip
