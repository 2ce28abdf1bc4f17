"""`residency export`: a day's verdicts from the lake as OCSF 4001 and ECS events, one a line,
with residency's fields under `residency`; a host-day whose manifest fails is not exported."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from tests.fleet.conftest import Fleet
from tests.fleet.fleet_world import ASHBURN, POLICY, SINGAPORE


def export(fleet: Fleet, lake: str, kind: str, *extra: str) -> tuple[list[dict[str, Any]], str]:
    keys = str(fleet.keys)
    code, out, err = fleet.run("export", lake, "--day", "2026-03-02", "--format", kind,
                               "--policy", str(POLICY), "--host-keys", keys, *extra)  # fmt: skip
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()], err


def test_ocsf_and_ecs_events_carry_the_verdicts(fleet: Fleet) -> None:
    lake = str(fleet.root / "lake")
    fleet.seal(lake, "web-1")
    fleet.seal(lake, "web-2")
    ocsf, _ = export(fleet, lake, "ocsf-json", "--host", "web-1")
    assert len(ocsf) == 12 and {e["class_uid"] for e in ocsf} == {4001}
    assert {e["type_uid"] for e in ocsf} == {400106}
    verdicts = Counter(e["residency"]["verdict"] or e["residency"]["scope"] for e in ocsf)
    assert verdicts == {"approved": 5, "violation": 4, "unverified": 1, "out": 2}
    sg = next(e for e in ocsf if e["dst_endpoint"]["ip"] == SINGAPORE)
    assert sg["severity_id"] == 4 and sg["residency"]["region"] == "ap-singapore-1"
    assert sg["metadata"]["extensions"] == [{"name": "residency", "uid": "999", "version": "1"}]
    app = next(e for e in ocsf if e["dst_endpoint"]["ip"] == ASHBURN)
    assert app["actor"]["process"]["name"] == "app"
    assert str(app["connection_info"]["community_uid"]).startswith("1:")
    ecs, _ = export(fleet, lake, "ecs-json")
    assert len(ecs) == 24 and {e["host"]["hostname"] for e in ecs} == {"web-1", "web-2"}
    outcomes = Counter(e["event"]["outcome"] for e in ecs)
    assert outcomes == {"failure": 8, "success": 16}
    assert all(e["@timestamp"].startswith("2026-03-02T11:") for e in ecs)


def test_a_host_day_that_fails_its_manifest_is_not_exported(fleet: Fleet) -> None:
    lake = fleet.root / "lake"
    fleet.seal(str(lake), "web-1")
    fleet.seal(str(lake), "web-2")
    (lake / "manifests" / "date=2026-03-02" / "host=web-2" / "manifest.json").unlink()
    events, err = export(fleet, str(lake), "ecs-json")
    assert len(events) == 12 and {e["host"]["hostname"] for e in events} == {"web-1"}
    assert "web-2 2026-03-02: not exported: no-manifest" in err
