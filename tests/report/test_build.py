"""The report document from the demo capture: deterministic to the byte, and every number tied
back to the analysis, the inputs and the capture itself."""

from __future__ import annotations

import hashlib
from collections import defaultdict

from agent.capture import open_capture
from agent.chain.pipeline import FlowPipeline, flows_from
from agent.findings.document import canonical, document
from agent.policy.judge import VERDICTS
from agent.report.build import DIMENSIONS, SCHEMA, Options, utc
from agent.report.envelope import make
from tests.report.conftest import DEMO, POLICY, Demo


def test_same_inputs_give_byte_identical_reports(demo: Demo) -> None:
    again = demo.again()
    assert canonical(again) == canonical(demo.report)
    assert make(again, "json") == make(demo.report, "json")
    assert make(again, "html") == make(demo.report, "html")
    signed = make(demo.report, "json", demo.key)
    assert make(again, "json", demo.key) == signed  # Ed25519 signatures are deterministic too


def test_no_clock_unless_asked(demo: Demo) -> None:
    assert "generated" not in demo.report
    assert demo.again(Options(generated="2026-03-03T00:00:00Z"))["generated"] == (
        "2026-03-03T00:00:00Z"
    )


def test_headline_states_numerator_denominator_and_exclusions(demo: Demo) -> None:
    r, a = demo.report, demo.analysis
    doc = document(a.tally, demo.policy, a.captures, a.ranges)
    h = r["headline"]
    assert r["schema"] == SCHEMA and r["compliant"] == doc["compliant"]
    assert {k: h[k] for k in doc["headline"]} == doc["headline"]
    inside = h["in_scope"]
    assert inside["flows"] == sum(h[v]["flows"] for v in VERDICTS) > 0
    assert h["approved_share"]["bytes"] == round(h["approved"]["bytes"] / inside["bytes"], 6)
    assert h["destinations"] == {"violation": len(r["violations"]),
                                 "unverified": len(r["unverified"])}  # fmt: skip
    assert h["excluded"]["flows"] == sum(u["flows"] for u in r["rules"]["exclusions"])


def test_breakdowns_add_up_to_the_in_scope_traffic(demo: Demo) -> None:
    r = demo.report
    inside = r["headline"]["in_scope"]
    for dim in (*DIMENSIONS, "places"):
        rows = r["breakdown"][dim]
        assert sum(g["flows"] for g in rows) == inside["flows"], dim
        assert sum(g["bytes"] for g in rows) == inside["bytes"], dim
    for dim in DIMENSIONS:
        for g in r["breakdown"][dim]:
            assert g["bytes"] == sum(v["bytes"] for v in g["verdicts"].values())
        by = [g["bytes"] for g in r["breakdown"][dim]]
        assert by == sorted(by, reverse=True)
    assert sum(t["bytes"] for t in r["timeline"]["rows"]) == inside["bytes"]
    assert r["timeline"]["bin"] == "1 s"  # the demo capture lasts seconds


def test_every_violation_points_at_its_flows_in_the_capture(demo: Demo) -> None:
    """The evidence pointers find flows to that address in that capture."""
    dst: dict[int, str] = {}
    pipe = FlowPipeline()
    with open_capture(str(DEMO)) as source:
        for batch in flows_from(source, pipe):
            dst.update((f.serial, f.dst) for f in batch.records())
    seen: dict[str, int] = defaultdict(int)
    for d in demo.report["violations"] + demo.report["unverified"]:
        assert d["first"] <= d["last"] and d["flows"] >= 1
        assert (utc(d["first"]) or "").startswith("2026-03-02T14:00:")  # the demo's minutes
        for e in d["evidence"]:
            assert e["input"] == DEMO.name
            for serial in e["flow_serials"]:
                assert dst[serial] == d["address"]
                seen[d["address"]] += 1
        assert seen[d["address"]] == min(d["flows"], 50)


def test_inputs_are_named_by_their_hashes(demo: Demo) -> None:
    i = demo.report["inputs"]
    policy_bytes = POLICY.read_bytes()
    assert i["policy"]["text"] == policy_bytes.decode()
    assert i["policy"]["sha256"] == hashlib.sha256(policy_bytes).hexdigest()
    [capture] = i["captures"]
    assert capture == {"file": DEMO.name, "size": DEMO.stat().st_size,
                       "sha256": hashlib.sha256(DEMO.read_bytes()).hexdigest()}  # fmt: skip
    assert i["ranges"]
    for r in i["ranges"]:
        stored = (demo.store.objects / r["sha256"]).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == r["sha256"] and len(stored) == r["size"]
    assert demo.report["tool"]["name"] == "residency"


def test_scope_and_vantage_points_come_from_the_policy_and_captures(demo: Demo) -> None:
    s = demo.report["scope"]
    assert [h["rule"] for h in s["hosts"]] == [r.name for r in demo.policy.include]
    assert all(h["match"] and h["where"].startswith(f"{POLICY.name}:") for h in s["hosts"])
    assert [e["rule"] for e in s["exclusions"]] == [r.name for r in demo.policy.exclude]
    [point] = s["vantage_points"]
    assert point["capture"] == DEMO.name
    assert sum(t["records"] for t in point["link_types"]) == demo.report["coverage"]["records"]


def test_coverage_accounts_for_every_record(demo: Demo) -> None:
    c = demo.report["coverage"]
    assert c["records"] == c["decoded"] + sum(c["skipped"].values())
    assert c["drops"] is None and "not known" in c["drops_note"]
    assert c["unattributed"]["flows"] == demo.report["headline"]["in_scope"]["flows"]
    assert c["damaged"] == [] and demo.report["complete"]
