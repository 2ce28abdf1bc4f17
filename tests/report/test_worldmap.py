"""The world map: every provider region's city and every country has a position, the outline
is small and well formed, and the demo's bytes land where its ranges place them, coloured by
verdict, the same bytes each time."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from agent.findings.text import place_label
from agent.intel import regions
from agent.report import worldmap
from agent.report.svg import COLORS
from agent.report.world import make
from tests.report.conftest import Demo

NS = "{http://www.w3.org/2000/svg}"


def test_the_projection_spans_the_drawing() -> None:
    assert worldmap.project(0, 0) == pytest.approx((worldmap.WIDTH / 2, 173.8), abs=0.1)
    assert worldmap.project(0, -180)[0] == pytest.approx(0, abs=1e-6)
    assert worldmap.project(0, 180)[0] == pytest.approx(worldmap.WIDTH, abs=1e-6)
    assert worldmap.project(84, 0)[1] == pytest.approx(0, abs=1e-6)
    assert worldmap.project(-56, 0)[1] == pytest.approx(worldmap.HEIGHT, abs=1)
    west, east = worldmap.project(52.5, 13.4), worldmap.project(52.5, -0.1)  # Berlin, London
    assert west[0] > east[0] and west[1] == pytest.approx(east[1])


def test_every_region_city_and_country_has_a_position() -> None:
    table = worldmap.places()
    for t in (regions.OCI, regions.AWS, regions.AWS_BORDER_GROUPS, regions.AZURE, regions.GCP):
        for name, p in t.items():
            if p.country:
                assert (p.country, "") in table, (name, p)
            if p.city:
                assert (p.country, p.city) in table, (name, p, "run agent/report/world/make.py")
    lat, lon = table[("AR", "Buenos Aires")]  # us-east-1-bue-1, a Local Zone abroad
    assert -35 < lat < -34 and -59 < lon < -58
    assert all(-90 <= la <= 90 and -180 <= lo <= 180 for la, lo in table.values())


def test_the_outline_is_small_and_closed() -> None:
    o = worldmap.outline()
    assert len(o["countries"]) > 170 and {"US", "DE", "BR", "AU", "IN", "FR", "NO"} <= set(
        o["countries"])  # fmt: skip
    assert sum(map(len, o["countries"].values())) < 40_000
    for code, d in o["countries"].items():
        assert re.fullmatch(r"(M\d+ \d+l[-\d ]*z)+", d), code


def test_a_ring_is_written_as_it_was_simplified() -> None:
    ring = [(0, 0), (10, 0), (10, 1), (20, 5), (10, 10), (0, 10), (0, 0)]
    kept = make._douglas_peucker([(float(x), float(y)) for x, y in ring], 2.0)
    assert kept[0] == kept[-1] == (0.0, 0.0) and (10.0, 1.0) not in kept
    path = make._path([(int(x), int(y)) for x, y in kept])
    x, y, back = *map(int, path[1:].split("l")[0].split()), []
    for dx, dy in re.findall(r"(-?\d+)\s?(-?\d+)", path.split("l")[1].rstrip("z")):
        x, y = x + int(dx), y + int(dy)
        back.append((x, y))
    assert back == [(int(a), int(b)) for a, b in kept[1:-1]]


def rows(demo: Demo) -> list[dict[str, Any]]:
    return [{**p, "label": place_label(p)} for p in demo.report["breakdown"]["places"]]


def markers(text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(text)
    return {(g.findtext(f"{NS}title") or "").split(":")[0]: g for g in root.iter(f"{NS}g")
            if g.find(f"{NS}title") is not None and g.find(f"{NS}circle") is not None}


def test_the_demo_lands_where_its_ranges_place_it(demo: Demo) -> None:
    text = worldmap.draw(rows(demo), "map")
    assert text == worldmap.draw(list(reversed(rows(demo))), "map")
    found = markers(text)
    assert set(found) == {"Ashburn, US", "Phoenix, US", "Frankfurt, DE", "Singapore, SG",
                          "US (country data)"}  # fmt: skip
    ring = found["Ashburn, US"].findall(f"{NS}circle")[-1]
    x, y = worldmap.project(*worldmap.places()[("US", "Ashburn")])
    assert float(ring.get("cx") or 0) == pytest.approx(x, abs=0.1)
    assert float(ring.get("cy") or 0) == pytest.approx(y + worldmap.TOP, abs=0.1)
    fills = {e.get("fill") for e in found["Singapore, SG"] if e.tag != f"{NS}title"} - {"none"}
    assert fills == {COLORS["exempt"], COLORS["violation"]}  # the site's backup, the AWS leak
    assert found["US (country data)"].findall(f"{NS}circle")[-1].get("stroke-dasharray")
    unplaced = sum(p["bytes"] for p in demo.report["breakdown"]["places"] if not p["country"])
    assert f"Not on the map: {worldmap.human(unplaced)} with no known place." in text


def test_bigger_places_have_bigger_markers(demo: Demo) -> None:
    found = markers(worldmap.draw(rows(demo), "map"))
    radius = {k: float(g.findall(f"{NS}circle")[-1].get("r") or 0) for k, g in found.items()}
    by = {k: 0 for k in radius}
    for p in demo.report["breakdown"]["places"]:
        key = f"{p['city']}, {p['country']}" if p["city"] else f"{p['country']} (country data)"
        if key in by:
            by[key] += p["bytes"]
    big, small = max(by, key=by.__getitem__), min(by, key=by.__getitem__)
    assert radius[big] == worldmap.R_MAX
    assert radius[small] == pytest.approx(max(worldmap.R_MIN, worldmap.R_MAX * (
        by[small] / by[big]) ** 0.5), abs=0.05)  # fmt: skip
