"""`residency report --journal` and its `verify`, on the demo flows as a daemon would journal
them: the same report schema, the journal named by its verified head, the coverage filled from
the heartbeats (downtime, drops) and the processes, checked against numbers worked out here
from how the journal was written; and a journal changed since the report fails verify, while
rows appended since change nothing."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.findings.document import canonical
from agent.journal import (
    Heartbeat,
    Journal,
    flow_entry,
    heartbeat_entry,
    start_entry,
    verify_journal,
)
from agent.model import Flow, seconds
from agent.report.html import extract
from agent.report.journal import increments
from agent.report.times import span
from tests.report.conftest import POLICY, Demo
from tests.report.journaled import (
    DROPS,
    GAP,
    MIN,
    RECEIVED,
    RUNS,
    T0,
    Beat,
    beats,
    demo_flows,
    owner,
    write_journal,
)

USERS = [ipaddress.ip_network("10.20.0.0/24"), ipaddress.ip_network("2001:db8:20::/64")]


@pytest.fixture(scope="module")
def flows() -> list[Flow]:
    return demo_flows()


@pytest.fixture
def journal(tmp_path: Path, flows: list[Flow]) -> Path:
    return write_journal(tmp_path / "journal.sqlite", flows)


@pytest.fixture
def key(demo: Demo, tmp_path: Path) -> Path:
    path = tmp_path / "auditor"
    assert run(demo, "keys", "generate", str(path))[0] == 0
    return path


def run(demo: Demo, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"RESIDENCY_HOME": str(demo.home)})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def make(demo: Demo, journal: Path, out: Path, *extra: str) -> dict[str, Any]:
    code, said, err = run(demo, "report", "--journal", str(journal), "--policy", str(POLICY),
                          "--out", str(out), *extra)  # fmt: skip
    assert code == 0, err
    assert said.startswith(f"{out}: NOT COMPLIANT") and f"journal {journal} read up to" in said
    data = out.read_bytes()
    report: dict[str, Any] = json.loads(data if out.suffix == ".json" else extract(data, "page"))
    return report["report"]

def verify(demo: Demo, out: Path, key: Path, *extra: str) -> tuple[int, str, str]:
    """Verify, finding the inputs where they are: the journal beside the report, the policy in
    the tree."""
    return run(demo, "report", "verify", str(out), "--key", f"{key}.pub", "--inputs",
               str(out.parent), str(POLICY.parent), *extra)  # fmt: skip


def head_of(report: Path) -> str:
    head: str = json.loads(report.read_bytes())["report"]["inputs"]["journals"][0]["head"]
    return head


def sql(path: Path, *statements: str) -> None:
    """Change the journal behind the agent's back."""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        for s in statements:
            db.execute(s)


@pytest.mark.parametrize("suffix", ["json", "html"])
def test_a_signed_journal_report_verifies_and_reruns(
    demo: Demo, journal: Path, key: Path, suffix: str
) -> None:
    out = key.parent / f"report.{suffix}"
    make(demo, journal, out, "--sign", str(key))
    code, said, err = verify(demo, out, key)
    assert code == 0, err
    assert f"{suffix} report, signature good" in said
    assert f"gives the same report (journal {journal.name} up to seq " in said


def test_the_report_is_the_analysis_of_the_journal_up_to_its_head(
    demo: Demo, journal: Path, flows: list[Flow], tmp_path: Path
) -> None:
    r = make(demo, journal, tmp_path / "r.json")
    check = verify_journal(str(journal))
    [j] = r["inputs"]["journals"]
    first, last = min(f.first_ns for f in flows), max(f.last_ns for f in flows)
    assert j == {"file": journal.name, "head": f"{check.last_seq}:{check.head}", "rows": check.rows,
                 "since": seconds(first), "until": seconds(last),
                 "since_utc": span(first, last)["from_utc"],
                 "until_utc": span(first, last)["to_utc"]}  # fmt: skip
    assert r["inputs"]["captures"] == [] and r["options"]["window"] == {"since": None,
                                                                         "until": None}
    code, doc, _ = run(demo, "analyze", "--journal", str(journal), "--policy", str(POLICY),
                       "--json")  # fmt: skip
    assert code == 1
    assert r["analysis"]["sha256"] == hashlib.sha256(canonical(json.loads(doc))).hexdigest()
    # The same flows as the capture, so the same verdicts: only times and pointers differ.
    assert r["headline"] == demo.report["headline"]
    assert r["breakdown"] == demo.report["breakdown"]
    assert r["scope"]["vantage_points"] == [{"journal": journal.name, "hosts": ["demo-host"],
                                             "interfaces": ["eth0"]}]  # fmt: skip


def test_evidence_points_at_journal_rows_and_names_processes(
    demo: Demo, journal: Path, tmp_path: Path
) -> None:
    r = make(demo, journal, tmp_path / "r.json")
    with Journal.open(journal) as j:
        rows = {row.seq: row for row in j.flows()}
    assert r["violations"] and r["unverified"]
    for d in r["violations"] + r["unverified"]:
        [e] = d["evidence"]
        assert e["input"] == journal.name
        found = [rows[seq] for seq in e["flow_serials"]]
        assert all(row.flow.dst == d["address"] for row in found)
        assert len(found) == d["flows"]
        owners = {f"{p.name} (pid {p.pid}, {p.user})" for row in found if (p := row.process)}
        assert d["processes"] == sorted(owners)
    assert any(d["processes"] == ["app (pid 4242, alice)"] for d in r["violations"])


def test_downtime_drops_and_unattributed_flows_bound_the_share(
    demo: Demo, journal: Path, flows: list[Flow], tmp_path: Path
) -> None:
    r = make(demo, journal, tmp_path / "r.json")
    c = r["coverage"]
    first, last = min(f.first_ns for f in flows), max(f.last_ns for f in flows)
    gap = GAP[1] - GAP[0]
    assert c["downtime"] == {"seconds": seconds(gap), "periods": 1,
                             "share": round(gap / (last - first), 6)}  # fmt: skip
    all_beats = beats(flows)
    assert c["drops"] == {"received": RECEIVED * len(all_beats), "lost": 0,
                          "drops": DROPS[0] * sum(b.at_ns <= RUNS[0][1] for b in all_beats)}
    inside = [f for f in flows if in_scope(f)]
    unowned = [f for f in inside if owner(f) is None]
    assert 0 < len(unowned) < len(inside) == r["headline"]["in_scope"]["flows"]
    assert c["unattributed"]["flows"] == len(unowned)
    assert c["unattributed"]["bytes"] == sum(f.bytes_fwd + f.bytes_rev for f in unowned)
    [j] = c["journals"]
    assert j["unwatched"] == [span(*GAP)] and j["heartbeats"] == len(all_beats)
    assert j["counters"]["judged"] == len(flows) and j["counters"]["attributed"] == sum(
        owner(f) is not None for f in flows)
    assert j["counted"] == span(RUNS[0][0], RUNS[1][1])
    code, _, _ = run(demo, "report", "--journal", str(journal), "--policy", str(POLICY),
                     "--out", str(tmp_path / "r.html"))  # fmt: skip
    page = (tmp_path / "r.html").read_text()
    assert code == 0
    assert "not watching for 25m 00s of the period (in 1 gap)" in page
    assert "2026-03-02 14:15:00 to 2026-03-02 14:40:00" in page
    assert f"{len(unowned)} in-scope flows attributed to no process" in page
    assert "app (pid 4242, alice)" in page


@pytest.mark.parametrize("since, until, gaps", [
    ("14:05", "14:50", [GAP]),
    ("14:30", "15:30", [(T0 + 30 * MIN, GAP[1]), (RUNS[1][1], T0 + 90 * MIN)]),
])  # fmt: skip
def test_a_window_counts_its_own_heartbeats_and_gaps(
    demo: Demo, journal: Path, key: Path, flows: list[Flow],
    since: str, until: str, gaps: list[tuple[int, int]],
) -> None:  # fmt: skip
    out = key.parent / "window.json"
    r = make(demo, journal, out, "--since", f"2026-03-02 {since}:00", "--until",
             f"2026-03-02 {until}:00", "--sign", str(key))  # fmt: skip
    a, b = (T0 + (int(t[:2]) - 14) * 60 * MIN + int(t[3:]) * MIN for t in (since, until))
    assert r["options"]["window"] == {"since": seconds(a), "until": seconds(b)}
    [j] = r["coverage"]["journals"]
    assert (j["from"], j["to"]) == (seconds(a), seconds(b))
    assert j["unwatched"] == [span(x, y) for x, y in gaps]
    assert r["coverage"]["downtime"]["seconds"] == seconds(sum(y - x for x, y in gaps))
    assert j["counters"] == own_counts([x for x in beats(flows) if x.at_ns > a and x.since_ns < b])
    inside = [f for f in flows if in_scope(f) and f.last_ns >= a and f.first_ns < b]
    assert r["headline"]["in_scope"]["flows"] == len(inside)
    code, said, err = verify(demo, out, key)
    assert code == 0 and "same report" in said, err


def test_rows_appended_after_the_report_do_not_change_the_rerun(
    demo: Demo, journal: Path, key: Path, flows: list[Flow]
) -> None:
    """Open-ended, the window would take in the new rows: the head recorded keeps them out."""
    out = key.parent / "r.json"
    before = make(demo, journal, out, "--sign", str(key))
    late = max(flows, key=lambda f: f.last_ns)
    extra = [
        flow_entry(late._replace(first_ns=late.first_ns + MIN, last_ns=late.last_ns + MIN), {}),
        flow_entry(flows[17]._replace(first_ns=GAP[0] + MIN, last_ns=GAP[0] + 2 * MIN), {}),
        heartbeat_entry(GAP[0], GAP[1], {"received": 5, "drops": 5}),  # covers the gap
        start_entry(T0 + 2 * 60 * MIN), heartbeat_entry(T0 + 120 * MIN, T0 + 121 * MIN, {}),
    ]  # fmt: skip
    with Journal.open(journal) as j:
        j.append(extra)
    code, said, err = verify(demo, out, key)
    assert code == 0 and "same report" in said, err
    now = make(demo, journal, key.parent / "now.json")
    assert now["headline"]["in_scope"]["flows"] == before["headline"]["in_scope"]["flows"] + 1
    assert now["coverage"]["downtime"]["periods"] == 0  # the late heartbeat covers the gap


@pytest.mark.parametrize("how, message", [
    ("edit", "does not match its hash"),
    ("cut", "missing: the journal ends at 30"),
    ("rewrite", "is not the row recorded as head"),
    ("garbage", "cannot check the journal the report names"),
])  # fmt: skip
def test_a_journal_changed_since_the_report_fails_verify(
    demo: Demo, journal: Path, key: Path, flows: list[Flow], how: str, message: str
) -> None:
    out = key.parent / "r.html"
    make(demo, journal, out, "--sign", str(key))
    if how == "edit":
        sql(journal, "UPDATE entries SET body = replace(body, '\"drops\":7', '\"drops\":0')"
                     " WHERE kind = 'heartbeat'")  # fmt: skip
    elif how == "cut":
        sql(journal, "DELETE FROM entries WHERE seq > 30")
    elif how == "rewrite":  # a valid chain again, but not the one whose head the report holds
        journal.unlink()
        write_journal(journal, [f._replace(bytes_rev=f.bytes_rev + 1) for f in flows])
        assert verify_journal(str(journal)).ok
    else:
        journal.write_bytes(b"not a journal" * 100)
    code, said, err = verify(demo, out, key)
    assert code == 10 and "signature good" in said
    assert err.startswith(f"error: {journal}: ") and message in err, err


def test_a_journal_pruned_past_the_head_cannot_be_checked(
    demo: Demo, journal: Path, key: Path
) -> None:
    out = key.parent / "r.json"
    make(demo, journal, out, "--sign", str(key))
    with Journal.open(journal) as j:
        j.append([start_entry(T0 + 120 * MIN), heartbeat_entry(T0 + 120 * MIN, T0 + 121 * MIN,
                                                                 {})])  # fmt: skip
        assert j.prune(T0 + 100 * MIN) > 0
    code, _, err = verify(demo, out, key)
    assert code == 10 and "were pruned since the report" in err


def test_a_missing_journal_leaves_the_signature_alone(
    demo: Demo, journal: Path, key: Path
) -> None:
    out = key.parent / "r.json"
    make(demo, journal, out, "--sign", str(key))
    journal.rename(journal.with_suffix(".moved"))  # found by the head it holds, whatever its name
    code, said, err = verify(demo, out, key)
    assert code == 0 and "same report" in said, err
    elsewhere = key.parent.parent / f"{key.parent.name}-moved.sqlite"
    journal.with_suffix(".moved").rename(elsewhere)
    code, said, _ = verify(demo, out, key)
    assert code == 13 and said.endswith(
        f"{out}: signature checked, analysis not re-run: not found in {out.parent}, "
        f"{POLICY.parent} or the store: journal journal.sqlite (head {head_of(out)})\n"
    )


def test_same_journal_same_bytes(demo: Demo, journal: Path, key: Path) -> None:
    for suffix in ("json", "html"):
        made = [key.parent / f"{n}.{suffix}" for n in "ab"]
        for out in made:
            make(demo, journal, out, "--sign", str(key))
        assert made[0].read_bytes() == made[1].read_bytes()


def test_a_journal_that_fails_verification_gives_no_report(
    demo: Demo, journal: Path, tmp_path: Path
) -> None:
    sql(journal, "UPDATE entries SET ts_ns = ts_ns + 1 WHERE seq = 5")
    out = tmp_path / "r.json"
    code, _, err = run(demo, "report", "--journal", str(journal), "--policy", str(POLICY),
                       "--out", str(out))  # fmt: skip
    assert code == 9 and "fails verification" in err and not out.exists()


@pytest.mark.parametrize("args, message", [
    (["x.pcap", "--journal", "j"], "give CAPTURES or --journal PATH"),
    (["--journal", "j", "--idle-timeout", "5"], "--idle-timeout is for captures"),
])  # fmt: skip
def test_usage(demo: Demo, tmp_path: Path, args: list[str], message: str) -> None:
    code, _, err = run(demo, "report", *args, "--policy", str(POLICY), "--out",
                       str(tmp_path / "r.json"))  # fmt: skip
    assert code == 2 and message in err


def test_increments_restart_with_each_run_and_survive_a_lost_beat() -> None:
    def beat(seq: int, since: int, at: int, n: int) -> Heartbeat:
        return Heartbeat(since, at, {"received": n}, seq)

    run1 = [beat(2, 0, 10, 100), beat(3, 10, 20, 250), beat(5, 30, 40, 400)]  # seq 4 was lost
    run2 = [beat(7, 50, 60, 30), beat(8, 60, 70, 90)]  # a start row at seq 6: counters reset
    assert increments(run1 + run2, None, [1, 6]) == {"received": 400 + 90}
    assert increments(run1[1:] + run2, run1[0], [1, 6]) == {"received": 300 + 90}
    assert increments(run2, run1[-1], [1, 6]) == {"received": 90}
    assert increments([], None, []) == {}
    odd = Heartbeat(0, 10, {"received": 5, "note": "x", "flag": True}, 2)
    assert increments([odd], None, []) == {"received": 5}


def own_counts(found: list[Beat]) -> dict[str, int]:
    """What each heartbeat counted in its own interval, summed, from how they were written."""
    every = beats(demo_flows())
    total: dict[str, int] = {}
    for b in found:
        n = every.index(b)
        prev = every[n - 1] if n and every[n - 1].at_ns == b.since_ns else None
        for k, v in b.counters.items():
            total[k] = total.get(k, 0) + v - (prev.counters[k] if prev else 0)
    return dict(sorted(total.items()))


def in_scope(f: Flow) -> bool:
    """rules/policy.yaml, read here: from the users' networks, less the resolver and local-only
    destinations."""
    local, remote = ipaddress.ip_address(f.src), ipaddress.ip_address(f.dst)
    if not any(local in net for net in USERS):
        return False
    resolver = f.dst == "10.20.0.2" and f.dport == 53
    return not (resolver or remote.is_multicast or remote.is_link_local or remote.is_loopback)
