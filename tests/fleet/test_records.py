"""Flow record files in the lake: `lake seal RECORDS... --host H` on the real samples (three
clouds' flow logs; a tap's Zeek conn.log, an Azure VNet log and IPFIX and sFlow export
captures), then `fleet report` counts what `analyze` of the same files counts, gives each
source's share and says the counts are partly estimated; tampering fails `fleet verify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agent.findings.headline import ESTIMATED
from agent.fleet.columns import RECORD_COLUMNS
from tests.fleet.compare import counted, of_analysis
from tests.fleet.conftest import HOSTS, Fleet, RecordLake, load


def _shares(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each source that speaks for a flow (a vantage point whose every record was another's
    duplicate is in the analysis, with none, not in the lake)."""
    return [(s["source"], s["vantage"], s["counts"], s["flows"], s["bytes"], s["share"]["bytes"])
            for s in rows if s["flows"]]  # fmt: skip


def _report(lake: RecordLake, out: Path, *extra: str) -> tuple[int, str, str]:
    return lake.run("fleet", "report", lake.lake, "--policy", str(lake.policy), "--host-keys",
                    str(lake.keys), "--out", str(out), *extra)  # fmt: skip


@pytest.mark.parametrize("host", ["clouds", "taps"])
def test_sealed_records_report_what_analyze_says(record_lake: RecordLake, host: str) -> None:
    code, said, err = record_lake.seal_records(host)
    assert code == 0 and said.endswith(" flows sealed\n"), err
    code, out, _ = record_lake.run("analyze", "--json", "--policy", str(record_lake.policy),
                                   *record_lake.files(host))  # fmt: skip
    assert code in (0, 1), out
    alone = json.loads(out)
    code, said, err = _report(record_lake, record_lake.root / "fleet.json")
    assert code == 0, err
    doc = load(record_lake.root / "fleet.json")
    assert counted(doc) == of_analysis(alone)
    assert doc["headline"]["in_scope"]["flows"] > 0
    assert _shares(doc["sources"]) == _shares(alone["inputs"]["sources"])
    assert doc["headline"]["estimated_counts"] is alone["headline"]["estimated_counts"] is True
    assert said.endswith(f"{ESTIMATED}\n")
    gaps = [{"host": host, **g} for g in alone["inputs"]["coverage_gaps"]]
    assert doc["coverage"]["record_gaps"] == gaps
    days = {d.name for d in (Path(record_lake.lake) / "flows").iterdir()}
    assert doc["headline"]["host_days"] == len(days) and doc["coverage"]["not_counted"] == []
    manifest = load(next((Path(record_lake.lake) / "manifests").glob("*/*/manifest.json")))
    assert manifest["evidence"]["kind"] == "records" and manifest["host"] == host
    assert [f["kind"] for f in manifest["evidence"]["files"]] == [
        f["kind"] for f in alone["inputs"]["record_files"]]  # fmt: skip
    part = next((Path(record_lake.lake) / "flows").glob("*/*/part-00000.parquet"))
    names = pq.read_schema(part).names
    assert names[-len(RECORD_COLUMNS):] == list(RECORD_COLUMNS) and "community_id" in names


def test_the_page_shows_each_sources_share(record_lake: RecordLake) -> None:
    for host in ("clouds", "taps"):
        assert record_lake.seal_records(host)[0] == 0
    page = record_lake.root / "fleet.html"
    code, _, err = _report(record_lake, page)
    html = page.read_text()
    assert code == 0, err
    assert "<h2>Sources of the evidence</h2>" in html and ESTIMATED.strip() in html
    assert "<td>gcp-vpc</td>" in html and "<td>zeek-conn</td>" in html and "<td>ipfix</td>" in html


def test_sealing_records_again_and_bad_records(record_lake: RecordLake) -> None:
    first = record_lake.seal_records("clouds")[1]
    code, again, _ = record_lake.seal_records("clouds")
    assert code == 0 and again == first.replace("flows sealed", "flows already sealed, unchanged")
    code, _, err = record_lake.run("lake", "seal", *record_lake.files("clouds")[:2], "--host",
                                   "clouds", "--lake", record_lake.lake, "--key",
                                   str(record_lake.key("clouds")))  # fmt: skip
    assert code == 14 and "sealed already, with different contents" in err
    code, _, err = record_lake.run("lake", "seal", *record_lake.files("clouds"), "--lake",
                                   record_lake.lake, "--key", str(record_lake.key("clouds")))
    assert code == 2 and "RECORDS need --host NAME" in err
    bad = Path(record_lake.files("clouds")[0]).parent / (
        "otel-contrib__NEGATIVE_vpc_flow_log_too_few_fields.log")
    lake = record_lake.root / "other"
    code, _, err = record_lake.run("lake", "seal", str(bad), "--host", "clouds", "--lake",
                                   str(lake), "--key", str(record_lake.key("clouds")))
    assert code == 5 and err == (f"error: {bad}: line 2: too few values: 13 for the format's 14 "
                                 "fields (version account-id interface-id ...); refusing to seal "
                                 "part of a file: nothing sealed\n")  # fmt: skip
    assert not lake.exists()


@pytest.mark.parametrize("damage", ["parquet", "manifest"])
def test_tampered_record_evidence_fails_verify(record_lake: RecordLake, damage: str) -> None:
    assert record_lake.seal_records("clouds")[0] == 0
    auditor = record_lake.root / "auditor"
    assert record_lake.run("keys", "generate", str(auditor))[0] == 0
    report = record_lake.root / "fleet.json"
    assert _report(record_lake, report, "--sign", str(auditor))[0] == 0
    verify = ("fleet", "verify", str(report), "--key", f"{auditor}.pub", "--lake",
              record_lake.lake, "--policy", str(record_lake.policy), "--host-keys",
              str(record_lake.keys))  # fmt: skip
    code, said, err = record_lake.run(*verify)
    assert code == 0 and "gives the same document" in said, err
    day = "date=2025-11-07/host=clouds"  # GCP's one flow: the sampled one
    if damage == "parquet":
        part = Path(record_lake.lake) / "flows" / day / "part-00000.parquet"
        table = pq.read_table(part)
        at = table.schema.get_field_index("record_counts")
        pq.write_table(table.set_column(at, "record_counts", pa.array(["exact"])), part)
        status = "mismatch"
    else:
        path = Path(record_lake.lake) / "manifests" / day / "manifest.json"
        path.write_text(path.read_text().replace('"estimated": true', '"estimated": false'))
        status = "bad-signature"
    again = record_lake.root / "again.json"
    assert _report(record_lake, again)[0] == 0
    doc = load(again)
    assert [(c["date"], c["status"]) for c in doc["coverage"]["not_counted"]] == [
        ("2025-11-07", status)]  # fmt: skip
    assert doc["headline"]["estimated_counts"] is False
    code, _, err = record_lake.run(*verify)
    assert code == 10 and "the re-run differs at" in err


def test_journals_and_records_in_one_lake(fleet: Fleet, record_lake: RecordLake) -> None:
    """Each host agent's journal is a source of its own, beside the record sources; every
    flow is in one source's share."""
    for host in HOSTS:
        fleet.seal(record_lake.lake, host)
    assert record_lake.seal_records("clouds")[0] == 0
    keys = record_lake.root / "all.keys"
    keys.write_bytes(fleet.keys.read_bytes() + record_lake.keys.read_bytes())
    out = record_lake.root / "fleet.json"
    code, said, err = record_lake.run("fleet", "report", record_lake.lake, "--policy",
                                      str(record_lake.policy), "--host-keys", str(keys),
                                      "--out", str(out))  # fmt: skip
    assert code == 0, err
    doc = load(out)
    assert doc["headline"]["host_days"] == 2 * len(HOSTS) + 3 and said.endswith(f"{ESTIMATED}\n")
    journals = [(s["vantage"], s["host_days"], s["flows"]) for s in doc["sources"]
                if s["source"] == "journal"]  # fmt: skip
    assert journals == [(h, 2, 24) for h in HOSTS]
    every = sum(doc["headline"][k]["flows"] for k in ("in_scope", "excluded", "out_of_scope"))
    assert sum(s["flows"] for s in doc["sources"]) == every
