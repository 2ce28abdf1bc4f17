"""Where the in-scope bytes ended, on a world map: one marker per place (a region's or a site's
city, else the country's own point), its area the bytes, its rings the verdicts. Inline SVG
from the committed outline and place table (agent/report/world, with their sources), so
nothing is fetched; the same rows give the same bytes."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping
from functools import cache
from html import escape
from importlib.resources import files
from typing import Any

from agent.report.svg import COLORS, ORDER, human

WIDTH, HEIGHT = 720, 312
"""The map's drawing area: Equal Earth from 180°W to 180°E and from 56°S to 84°N."""
SHOWN = 960
"""The map's width on the page (it shrinks to fit a narrower one, or a printed A4 page)."""
TOP = 24
"""Room for the title above the map."""
R_MAX, R_MIN = 18.0, 3.0
LABELS = 10
"""Markers named on the map, most bytes first (the rest by their tooltips)."""
_A1, _A2, _A3, _A4, _M = 1.340264, -0.081106, 0.000893, 0.003796, math.sqrt(3) / 2
_SCALE = WIDTH / (2 * math.pi / (_M * _A1))
_NORTH = 1.3067131388872926
"""Equal Earth's y at 84°N: the top edge."""


def project(lat: float, lon: float) -> tuple[float, float]:
    """(lat, lon) in degrees -> (x, y) in the map's pixels (Šavrič, Patterson and Jenny's Equal
    Earth projection, 2018)."""
    theta = math.asin(_M * math.sin(math.radians(lat)))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    slope = _A1 + 3 * _A2 * t2 + t6 * (7 * _A3 + 9 * _A4 * t2)
    x = math.radians(lon) * math.cos(theta) / (_M * slope)
    y = theta * (_A1 + _A2 * t2 + t6 * (_A3 + _A4 * t2))
    return WIDTH / 2 + x * _SCALE, (_NORTH - y) * _SCALE


@cache
def outline() -> dict[str, Any]:
    return dict(json.loads((files("agent.report.world") / "outline.json").read_text()))


@cache
def places() -> dict[tuple[str, str], tuple[float, float]]:
    """(country, city) -> (lat, lon); city "" is the country's own point."""
    text = (files("agent.report.world") / "places.csv").read_text()
    return {(r["country"], r["city"]): (float(r["lat"]), float(r["lon"]))
            for r in csv.DictReader(io.StringIO(text))}  # fmt: skip


def where(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """The place-table key a breakdown row ends at: its city's, else its country's; None when
    neither is known (or the table lacks it)."""
    table, country, city = places(), row["country"], row.get("city")
    if country and city and (country, city) in table:
        return country, city
    if country and (country, "") in table:
        return country, ""
    return None


def draw(rows: Iterable[Mapping[str, Any]], title: str) -> str:
    """The map for breakdown rows (`verdict`, `country`, `city`, `bytes`, with a `label` each
    for the tooltip)."""
    marks, unplaced = _marks(rows)
    top = max((sum(m["by"].values()) for m in marks.values()), default=0) or 1
    order = sorted(marks.items(), key=lambda kv: (-sum(kv[1]["by"].values()), kv[0]))
    at = [(*_shifted(project(*places()[key])),
           max(R_MIN, R_MAX * math.sqrt(sum(m["by"].values()) / top))) for key, m in order]
    taken = [(x - r, y - r, x + r, y + r) for x, y, r in at]  # labels cover no marker
    parts = [_land(title)]
    parts += [_marker(key, m, x, y, r) for (key, m), (x, y, r) in zip(order, at, strict=True)]
    parts += [_label(key, x, y, r, taken)
              for (key, _), (x, y, r) in zip(order[:LABELS], at, strict=False)]  # fmt: skip
    return "".join(parts) + _caption(unplaced) + "</svg>"


def _marks(rows: Iterable[Mapping[str, Any]]) -> tuple[dict[tuple[str, str], Any], int]:
    """Bytes by verdict and the rows' labels, by place; and the bytes of no known place."""
    marks: dict[tuple[str, str], dict[str, Any]] = {}
    unplaced = 0
    for r in rows:
        key = where(r)
        if key is None:
            unplaced += r["bytes"]
            continue
        m = marks.setdefault(key, {"by": {}, "labels": set()})
        m["by"][r["verdict"]] = m["by"].get(r["verdict"], 0) + r["bytes"]
        m["labels"].add(r["label"])
    return marks, unplaced


def _land(title: str) -> str:
    """The open svg element, the title, the sea and the countries."""
    o, tall = outline(), TOP + HEIGHT + 34
    return "".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart map" id="map" role="img" '
        f'width="{SHOWN}" height="{tall * SHOWN // WIDTH}" viewBox="0 0 {WIDTH} {tall}" '
        f'font-family="sans-serif" font-size="10" aria-label="{escape(title)}">',
        f'<text x="0" y="16" font-size="11" font-weight="bold">{escape(title)}</text>',
        _frame(),
        f'<g transform="translate(0 {TOP}) scale({1 / o["scale"]})" fill="#e4e4e4" '
        f'stroke="#fff" stroke-width="{0.5 * o["scale"]:g}">',
        *(f'<path d="{d}"><title>{escape(c or "-")}</title></path>'
          for c, d in o["countries"].items()),
        "</g>",
    ])  # fmt: skip


def _shifted(xy: tuple[float, float]) -> tuple[float, float]:
    return xy[0], xy[1] + TOP


def _frame() -> str:
    """The projection's edge, filled as the sea."""
    edge = [project(lat, 180) for lat in range(84, -57, -4)]
    edge += [project(lat, -180) for lat in range(-56, 85, 4)]
    d = "M" + "L".join(f"{x:.1f} {y + TOP:.1f}" for x, y in edge) + "Z"
    return f'<path d="{d}" fill="#f2f6fa" stroke="#c8d2dc" stroke-width="0.6"/>'


def _marker(key: tuple[str, str], m: dict[str, Any], x: float, y: float, r: float) -> str:
    """A pie: its area the place's bytes, a slice per verdict (clockwise from the top, in the
    legend's order); dashed when the place is a country's, not a city's."""
    by: dict[str, int] = m["by"]
    total = sum(by.values())
    tip = (f"{_name(key)}: {', '.join(sorted(m['labels']))}: "
           + "; ".join(f"{k} {by[k]:,} bytes" for k in ORDER if k in by))  # fmt: skip
    out = [f"<g><title>{escape(tip)}</title>"]
    start = 0.0
    for kind in (k for k in ORDER if by.get(k)):
        share = by[kind] / total
        out.append(_slice(x, y, r, start, start + share, COLORS[kind]))
        start += share
    dashed = ' stroke-dasharray="2.5 2"' if not key[1] else ""
    out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="none" stroke="#222" '
               f'stroke-width="0.7"{dashed}/>')  # fmt: skip
    return "".join(out) + "</g>"


def _slice(x: float, y: float, r: float, a: float, b: float, color: str) -> str:
    """The part of the circle from turn `a` to turn `b` (0 at the top, clockwise)."""
    if b - a > 0.9999:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{color}"/>'
    (x0, y0), (x1, y1) = (_at(x, y, r, t) for t in (a, b))
    big = 1 if b - a > 0.5 else 0
    return (f'<path d="M{x:.1f} {y:.1f}L{x0:.1f} {y0:.1f}A{r:.1f} {r:.1f} 0 {big} 1 '
            f'{x1:.1f} {y1:.1f}Z" fill="{color}"/>')  # fmt: skip


def _at(x: float, y: float, r: float, turn: float) -> tuple[float, float]:
    return x + r * math.sin(2 * math.pi * turn), y - r * math.cos(2 * math.pi * turn)


def _label(key: tuple[str, str], x: float, y: float, r: float,
           taken: list[tuple[float, float, float, float]]) -> str:  # fmt: skip
    """The place's name beside its marker, on the right or else the left, unless it would
    cover a name already written."""
    text = _name(key)
    w = 5.6 * len(text)
    for x0 in (x + r + 3, x - r - 3 - w):
        box = (x0, y - 8, x0 + w, y + 4)
        if 0 <= x0 and x0 + w <= WIDTH and not any(_overlap(box, b) for b in taken):
            taken.append(box)
            return f'<text x="{x0:.1f}" y="{y + 3.5:.1f}">{escape(text)}</text>'
    return ""


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _name(key: tuple[str, str]) -> str:
    return f"{key[1]}, {key[0]}" if key[1] else f"{key[0]} (country data)"


def _caption(unplaced: int) -> str:
    y = TOP + HEIGHT + 14
    missing = f" Not on the map: {human(unplaced)} with no known place." if unplaced else ""
    return (f'<text x="0" y="{y}" fill="#555">Circle area: in-scope bytes, a slice per verdict; '
            f"a dashed circle is placed by country data only.{escape(missing)}</text>"
            f'<text x="0" y="{y + 14}" fill="#555" font-size="9">Outline: Natural Earth '
            "(public domain). City positions: GeoNames (CC BY 4.0).</text>")  # fmt: skip
