"""`lake seal` and `fleet report` on journals written as the agent writes them, to real
addresses in the providers' own range files: the layout, the columns, the manifest, idempotence,
the same totals as `analyze --journal`, and coverage of tampered, unsigned, wrongly signed and
missing evidence, each of which also fails `fleet verify` of a report made before."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from agent.fleet import forms
from agent.journal import Journal, flow_entry
from agent.model import Flow
from agent.report import pdf
from agent.report.chromium import find_chromium
from agent.report.sign import generate
from tests.fleet.compare import analyzed, counted
from tests.fleet.conftest import HOSTS, SAID, Fleet, load
from tests.fleet.fleet_world import (
    ASHBURN,
    DAY1,
    DAYS,
    POLICY,
    SINGAPORE,
    entries,
    flows,
    weak_policy,
)

PART = "part-00000.parquet"


def sealed(fleet: Fleet) -> str:
    lake = str(fleet.root / "lake")
    for host in HOSTS:
        fleet.seal(lake, host)
    return lake


def test_seal_writes_the_layout_columns_and_a_signed_manifest(fleet: Fleet) -> None:
    out = fleet.seal(str(fleet.root / "lake"), "web-1")
    assert out == "web-1 2026-03-02: 12 flows sealed\nweb-1 2026-03-03: 12 flows sealed\n"
    part = fleet.root / "lake" / "flows" / "date=2026-03-02" / "host=web-1" / PART
    meta = pq.ParquetFile(part).metadata
    assert meta.num_rows == 12 and meta.row_group(0).column(0).compression == "ZSTD"
    table = pq.read_table(part)
    for name in ("time", "device_hostname", "src_endpoint_ip", "dst_endpoint_ip",
                 "dst_endpoint_port", "connection_info_protocol_num", "traffic_bytes_out",
                 "traffic_bytes_in", "traffic_packets_out", "traffic_packets_in",
                 "actor_process_name", "dst_endpoint_hostname", "names", "direction", "journal_seq",
                 "community_id"):  # fmt: skip
        assert name in table.schema.names, name
    assert set(table["device_hostname"].to_pylist()) == {"web-1"}
    assert table["actor_process_name"].to_pylist().count("app") == 7  # 5 users' + 2 outside
    assert table["dst_endpoint_ip"].to_pylist().count(SINGAPORE) == 2
    manifest = load(fleet.root / "lake" / "manifests" / "date=2026-03-02" / "host=web-1"
                    / "manifest.json")  # fmt: skip
    assert manifest["rows"] == 12 and manifest["files"][0]["file"] == PART
    assert manifest["unwatched_ns"] == 2 * 3600 * 10**9  # 08:00-10:00 the agent did not run
    assert manifest["signature"]["algorithm"] == "ed25519"
    seq, digest = manifest["journal_head"].split(":")  # its last row: the day's last heartbeat
    assert int(seq) > max(table["journal_seq"].to_pylist()) and len(digest) == 64
    day2 = fleet.root / "lake" / "manifests" / "date=2026-03-03" / "host=web-1" / "manifest.json"
    assert load(day2)["unwatched_ns"] == 0


def test_sealing_twice_changes_nothing_and_a_changed_day_is_refused(fleet: Fleet) -> None:
    lake = fleet.root / "lake"
    fleet.seal(str(lake), "web-1")
    before = {p: p.read_bytes() for p in lake.rglob("*") if p.is_file()}
    again = fleet.seal(str(lake), "web-1", "--day", "2026-03-02")
    assert again == "web-1 2026-03-02: 12 flows already sealed, unchanged\n"
    assert {p: p.read_bytes() for p in lake.rglob("*") if p.is_file()} == before
    late = flows(0)[0]._replace(first_ns=DAY1 + 3600 * 10**9, last_ns=DAY1 + 3601 * 10**9)
    with Journal.open(fleet.journal("web-1")) as journal:
        journal.append([flow_entry(late, {"decision": "journaled"})])
    code, _, err = fleet.run("lake", "seal", "--journal", str(fleet.journal("web-1")), "--lake",
                             str(lake), "--key", str(fleet.key("web-1")))  # fmt: skip
    assert code == 14 and "sealed already, with different contents" in err
    code, _, err = fleet.run("lake", "seal", "--journal", str(fleet.journal("web-1")), "--lake",
                             str(lake), "--key", str(fleet.key("web-1")), "--day",
                             "2026-03-04")  # fmt: skip
    assert code == 14 and err.startswith("error: ") and "2026-03-04 is not closed" in err


WEAK_SAID = ("36 of 60 in-scope flows approved, 24 violations, 0 unverified flows; 59.9% of "
             "in-scope bytes approved, of which 16.6% on weak evidence only (a name or country "
             "data); on 6 of 6 host-days (3 hosts)\n")


@pytest.mark.parametrize("weak", [False, True], ids=["default-policy", "weak-rule"])
def test_the_fleet_report_counts_what_analyze_journal_counts(fleet: Fleet, weak: bool) -> None:
    """Headline and breakdown, flows and bytes, summed over the hosts' own analyses; with a
    weak rule, the approved share on weak evidence only is counted and said as analyze says
    it, and the weak rule leaves Singapore's named flow a violation."""
    lake = sealed(fleet)
    policy = weak_policy(fleet.root) if weak else POLICY
    code, said, err = fleet.report(lake, fleet.root / "fleet.json", policy=policy)
    assert code == 0, err
    assert said.endswith(WEAK_SAID if weak else SAID)
    doc = load(fleet.root / "fleet.json")
    journals = [str(fleet.journal(h)) for h in HOSTS]
    want = analyzed(journals, str(policy), {"RESIDENCY_HOME": str(fleet.home)})
    assert counted(doc) == want
    head = doc["headline"]
    assert {k: v["flows"] for k, v in head.items() if isinstance(v, dict) and "flows" in v} == {
        "in_scope": 60, "approved": 36 if weak else 30, "violation": 24, "exempt": 0,
        "unverified": 0 if weak else 6, "approved_weak": 6 if weak else 0, "excluded": 0,
        "out_of_scope": 12}  # fmt: skip
    assert head["host_days"] == 6 and head["hosts"] == 3
    assert head["approved_share"] == (0.6 if weak else 0.5)
    assert [h["approved_weak"]["flows"] for h in doc["hosts"]] == [2 if weak else 0] * 3


def _signed(fleet: Fleet, lake: str, out: Path) -> tuple[Path, Path]:
    auditor = fleet.root / "auditor"
    assert fleet.run("keys", "generate", str(auditor))[0] == 0
    hosts = fleet.root / "hosts.txt"
    hosts.write_text("# the fleet\nweb-1\nweb-2\nweb-3\nweb-4\n")
    code, said, err = fleet.report(lake, out, "--hosts", str(hosts), "--sign", str(auditor),
                                   "--since", DAYS[0], "--until", DAYS[1])  # fmt: skip
    assert code == 0, err
    assert said.endswith("on 6 of 8 host-days (3 hosts)\n")
    return auditor, hosts


def _verify(fleet: Fleet, report: Path, auditor: Path, lake: str,
            keys: Path | None = None) -> tuple[int, str, str]:  # fmt: skip
    return fleet.run("fleet", "verify", str(report), "--key", f"{auditor}.pub", "--lake", lake,
                     "--policy", str(POLICY), "--host-keys", str(keys or fleet.keys))  # fmt: skip


def test_a_missing_host_shows_and_a_signed_report_verifies(fleet: Fleet) -> None:
    lake = sealed(fleet)
    report = fleet.root / "fleet.json"
    auditor, _ = _signed(fleet, lake, report)
    cov = load(report)["coverage"]
    assert cov["hosts_without_data"] == ["web-4"] and cov["expected_hosts"] == 4
    assert cov["not_counted"] == [
        {"date": d, "host": "web-4", "status": "missing", "reason": "no data for this host-day"}
        for d in DAYS]  # fmt: skip
    assert cov["unwatched"] == [{"host": h, "seconds": "7200.000000000"} for h in HOSTS]
    code, said, err = _verify(fleet, report, auditor, lake)
    assert code == 0, err
    assert "signature good" in said and "gives the same document" in said
    shutil.rmtree(Path(lake) / "flows" / "date=2026-03-03" / "host=web-2")
    shutil.rmtree(Path(lake) / "manifests" / "date=2026-03-03" / "host=web-2")
    code, _, err = _verify(fleet, report, auditor, lake)
    assert code == 10 and "the re-run differs at breakdown[0].bytes" in err


def _tamper(part: Path) -> None:
    """Move one Singapore violation to Ashburn, as someone hiding it would."""
    table = pq.read_table(part)
    dst = table["dst_endpoint_ip"]
    index = dst.to_pylist().index(SINGAPORE)
    fixed = pa.array([ASHBURN if i == index else v for i, v in enumerate(dst.to_pylist())])
    table = table.set_column(table.schema.get_field_index("dst_endpoint_ip"), "dst_endpoint_ip",
                             fixed)  # fmt: skip
    pq.write_table(table, part, compression="zstd")
    assert pc.sum(pc.equal(pq.read_table(part)["dst_endpoint_ip"], SINGAPORE)).as_py() == 1


@pytest.mark.parametrize("damage", ["tampered", "no-manifest", "wrong-key"])
def test_bad_evidence_shows_in_coverage_and_fails_verify(fleet: Fleet, damage: str) -> None:
    lake = sealed(fleet)
    report = fleet.root / "fleet.json"
    auditor, hosts = _signed(fleet, lake, report)
    keys = fleet.keys
    unit = Path(lake) / "flows" / "date=2026-03-02" / "host=web-1"
    if damage == "tampered":
        _tamper(unit / PART)
        status = "mismatch"
        reason = f"{PART}: its sha256 is not the manifest's (changed since sealing)"
    elif damage == "no-manifest":
        (Path(lake) / "manifests" / "date=2026-03-02" / "host=web-1" / "manifest.json").unlink()
        status, reason = "no-manifest", "no manifest beside the flows"
    else:
        keys = fleet.root / "other.keys"
        lines = fleet.keys.read_bytes().splitlines(keepends=True)
        keys.write_bytes(generate("web-1")[1] + b"".join(lines[1:]))
        status = "bad-signature"
        reason = "manifest: signed by key sha256:"
    again = fleet.root / "again.json"
    code, said, err = fleet.run("fleet", "report", lake, "--policy", str(POLICY), "--host-keys",
                                str(keys), "--out", str(again), "--hosts", str(hosts),
                                "--since", DAYS[0], "--until", DAYS[1])  # fmt: skip
    assert code == 0, err
    kept, hosts_kept = (4, 2) if damage == "wrong-key" else (5, 3)  # a key fails both days
    assert said.endswith(f"on {kept} of 8 host-days ({hosts_kept} hosts)\n")
    bad = load(again)["coverage"]["not_counted"][0]
    assert (bad["date"], bad["host"], bad["status"]) == ("2026-03-02", "web-1", status)
    assert bad["reason"].startswith(reason)
    assert load(again)["headline"]["in_scope"]["flows"] == 10 * kept
    code, _, err = _verify(fleet, report, auditor, lake, keys)
    assert code == 10 and "the re-run differs at breakdown[0].bytes" in err


def test_the_command_line_loads_no_engine() -> None:
    code = ("import sys, agent.cli; from agent.cli import main; "
            "assert not [m for m in sys.modules if m.split('.')[0] in "
            "('pyarrow', 'duckdb', 'pyspark')], sorted(sys.modules)")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_html_page_says_the_headline_and_what_was_not_counted(fleet: Fleet) -> None:
    lake = sealed(fleet)
    (Path(lake) / "manifests" / "date=2026-03-03" / "host=web-3" / "manifest.json").unlink()
    page = fleet.root / "fleet.html"
    code, said, err = fleet.report(lake, page)
    assert code == 0, err
    html = page.read_text()
    assert ("25 of 50 in-scope flows approved, 20 violations, 5 unverified flows; 49.9% of "
            "in-scope bytes approved; on 5 of 6 host-days (3 hosts)") in html
    assert "<td>web-3</td><td>no-manifest</td>" in html and "<script" not in html


def test_a_bad_host_list_names_its_file_and_line(fleet: Fleet) -> None:
    hosts = fleet.root / "hosts.txt"
    hosts.write_text("web-1\n\nweb/2\n")
    code, _, err = fleet.report(str(fleet.root / "lake"), fleet.root / "f.json", "--hosts",
                                str(hosts))  # fmt: skip
    assert code == 14
    assert err == (f"error: {hosts}: line 3: 'web/2': not a host name the lake can hold "
                   "(letters, digits, . _ -)\n")  # fmt: skip


def test_accesses_are_carried_beside_outbound_flows(fleet: Fleet) -> None:
    """Rows journaled as accesses into the demo policy's protected database (from Oracle's
    Singapore region: violations; from the operator's Virginia site: allowed) are judged as
    accesses in the fleet report too, by origin, with the bytes the database sent back."""
    rows = [Flow(proto=6, src=origin, sport=41000 + i, dst="10.20.0.10", dport=5432, depth=0,
                 packets_fwd=12, bytes_fwd=900, frame_bytes_fwd=980, packets_rev=40,
                 bytes_rev=61_000 + i, frame_bytes_rev=63_000,
                 first_ns=DAY1 + 11 * 3600 * 10**9 + i * 10**9,
                 last_ns=DAY1 + 11 * 3600 * 10**9 + i * 10**9 + 5 * 10**9, tcp_flags_fwd=0x1B,
                 tcp_flags_rev=0x1B, end="eof", serial=i, names=(), direction="syn")
            for i, origin in enumerate([SINGAPORE, SINGAPORE, "198.51.100.150"], 1)]  # fmt: skip
    path = fleet.root / "db-1.sqlite"
    with Journal.open(path, create=True) as journal:
        journal.append(entries("db-1", rows))
    private, public = generate("db-1")
    (fleet.root / "db-1.key").write_bytes(private)
    (fleet.root / "db-1.keys").write_bytes(public)
    lake = str(fleet.root / "lake")
    code, _, err = fleet.run("lake", "seal", "--journal", str(path), "--lake", lake, "--key",
                             str(fleet.root / "db-1.key"))  # fmt: skip
    assert code == 0, err
    code, _, err = fleet.run("fleet", "report", lake, "--policy", str(POLICY), "--host-keys",
                             str(fleet.root / "db-1.keys"), "--out",
                             str(fleet.root / "fleet.json"))  # fmt: skip
    assert code == 0, err
    doc = load(fleet.root / "fleet.json")
    access = doc["headline"]["access"]
    assert access["access-violation"] == {"sessions": 2, "bytes_out": 61_001 + 61_002}
    assert access["access-allowed"] == {"sessions": 1, "bytes_out": 61_003}
    assert doc["headline"]["in_scope"]["flows"] == 0
    (bad,) = [b for b in doc["breakdown"] if b["verdict"] == "access-violation"]
    assert (bad["provider"], bad["region"], bad["country"]) == ("oci", "ap-singapore-1", "SG")


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (CI has it)")
def test_a_pdf_fleet_report_carries_the_signed_document_and_verifies(fleet: Fleet) -> None:
    """Headless Chromium prints the page; the signed document rides in the PDF with the printed
    pages' hash, `fleet verify` takes the PDF, and a changed byte of the pages fails it."""
    lake = sealed(fleet)
    auditor = fleet.root / "auditor"
    assert fleet.run("keys", "generate", str(auditor))[0] == 0
    out = fleet.root / "fleet.pdf"
    code, said, err = fleet.report(lake, out, "--sign", str(auditor))
    assert code == 0, err
    assert said == f"{out}: {SAID}"
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    doc = forms.read(data, str(out))
    assert doc["printed"] == pdf.digest(pdf.detach(data, str(out))[0])
    assert fleet.report(lake, fleet.root / "fleet.json")[0] == 0
    plain = load(fleet.root / "fleet.json")
    assert {k: v for k, v in doc.items() if k not in ("printed", "signature")} == plain
    code, said, err = _verify(fleet, out, auditor, lake)
    assert code == 0 and "signature good" in said, err
    changed = bytearray(data)
    changed[len(data) // 3] ^= 0x20  # inside the printed pages
    out.write_bytes(bytes(changed))
    code, _, err = _verify(fleet, out, auditor, lake)
    assert code == 10 and "the PDF was changed" in err, err


def test_settle_and_new_only_seal_each_day_once_when_it_has_settled(fleet: Fleet) -> None:
    """The daemon's way of sealing: a day waits until the heartbeats reach --settle past its
    end (the journals end at 00:30 on the third day, so an hour's settling leaves the second
    day open), and --new-only leaves sealed days unread. A killed writer's unfinished file is
    not part of the lake."""
    lake = str(fleet.root / "lake")
    said = fleet.seal(lake, "web-1", "--settle", "3600", "--new-only")
    assert said == "web-1 2026-03-02: 12 flows sealed\n"
    assert fleet.seal(lake, "web-1", "--settle", "3600", "--new-only") == (
        f"{fleet.journal('web-1')}: no closed day left to seal\n")  # fmt: skip
    assert fleet.seal(lake, "web-1", "--new-only") == "web-1 2026-03-03: 12 flows sealed\n"
    folder = Path(lake) / "flows" / "date=2026-03-02" / "host=web-1"
    (folder / f"{PART}.4242.partial").write_bytes(b"PAR1 cut short")
    code, said, err = fleet.report(lake, fleet.root / "fleet.json")
    assert code == 0 and said.endswith("on 2 of 2 host-days (1 host)\n"), err
