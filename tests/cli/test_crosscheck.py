"""`crosscheck A B` on real captures: a capture against the same traffic cut short, and against
a journal of its own flows."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from agent.capture import open_capture
from agent.chain.pipeline import FlowPipeline, flows_from
from agent.cli import main
from agent.journal import Journal, flow_entry
from agent.records.join import join_batches
from agent.records.source import read_record_file
from tests.truth import SHARED


def first_packets(capture: Path, n: int, out: Path) -> Path:
    """The capture's first `n` records (classic pcap, little-endian)."""
    data = capture.read_bytes()
    pos, kept = 24, bytearray(data[:24])
    for _ in range(n):
        end = pos + 16 + struct.unpack_from("<I", data, pos + 8)[0]
        kept += data[pos:end]
        pos = end
    out.write_bytes(bytes(kept))
    return out


def run(a: Path, b: Path) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(main, ["crosscheck", str(a), str(b), "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_flows_one_source_did_not_see(pcaps: Path, tmp_path: Path) -> None:
    full = pcaps / "zeek_pppoe.pcap"
    code, got = run(full, first_packets(full, 45, tmp_path / "cut.pcap"))
    assert (code, got["flows"], got["matched"], got["differ"], got["only_b"]) == (
        1, [7, 6], 6, [], [],
    )  # fmt: skip
    (only,) = got["only_a"]  # type: ignore[misc]
    assert (only["proto"], only["src"], only["dst"], only["packets"], only["bytes"]) == (
        58, "fc00:0:2:100::1:1", "fc00::1", [5, 5], [500, 500],
    )  # fmt: skip
    code, got = run(full, first_packets(full, 55, tmp_path / "cut.pcap"))
    (differ,) = got["differ"]  # type: ignore[misc]
    assert (code, got["matched"], differ["a"]["bytes"], differ["b"]["bytes"]) == (
        1, 7, [500, 500], [100, 100],
    )  # fmt: skip


def test_bytes_that_differ_and_agreement_with_a_journal(pcaps: Path, tmp_path: Path) -> None:
    full = pcaps / "zeek_get.pcap"
    code, got = run(full, first_packets(full, 10, tmp_path / "cut.pcap"))
    (differ,) = got["differ"]  # type: ignore[misc]
    assert code == 1 and differ["community_id"] == "1:yvyB8h+3dnggTZW0UEITWCst97w="
    assert (differ["a"]["bytes"], differ["b"]["bytes"]) == ([512, 5379], [356, 5327])
    assert (differ["a"]["packets"], differ["b"]["packets"]) == ([7, 7], [4, 6])
    journal = tmp_path / "j.db"
    with Journal.open(str(journal), create=True) as j, open_capture(str(full)) as source:
        flows = [f for b in flows_from(source, FlowPipeline()) for f in b.records()]
        j.append([flow_entry(f, {"decision": "allow"}) for f in flows])
    assert run(full, journal) == (0, got | {"b": str(journal), "flows": [1, 1], "differ": [],
                                           "agree": True})  # fmt: skip


def test_flow_logs_of_the_same_interface(flowlogs: Path, tmp_path: Path) -> None:
    """The AWS documentation's TCP-flag example, against itself with one connection's records
    missing and another's bytes changed: each found, named by both ends."""
    beats = yaml.safe_load(
        (flowlogs / "aws-vpc" / "elastic-beats__aws-vpc-flow-logs.yml").read_text()
    )
    case = beats["tcp-flag-sequence"]
    lines = [case["format"], *case["samples"]]
    full, other = tmp_path / "full.log", tmp_path / "other.log"
    full.write_text("\n".join(lines) + "\n")
    kept = [x.replace(" 6 100701 70 ", " 6 100601 70 ") for x in lines if "43638" not in x]
    other.write_text("\n".join(kept) + "\n")
    code, got = run(full, other)
    (only,) = got["only_a"]  # type: ignore[misc]
    (differ,) = got["differ"]  # type: ignore[misc]
    assert (code, got["flows"], got["matched"]) == (1, [3, 2], 2)
    assert (only["sport"], only["dport"], only["bytes"]) == (43638, 5001, [967, 1260])
    assert (differ["a"]["bytes"], differ["b"]["bytes"]) == (
        [63388 + 632, 100701 + 23294588], [63388 + 632, 100601 + 23294588],
    )  # fmt: skip


def test_netflow_exports_against_a_journal_of_the_same_flows(tmp_path: Path) -> None:
    """A capture of NetFlow v5 exports (to akvorado's port 9990) is read as flow records,
    found by content; against a journal of the same flows with one changed and one left out,
    each is found."""
    exports = SHARED / "flowlogs" / "netflow-ipfix" / "akvorado__netflow__nfv5.pcap"
    if not exports.exists():
        pytest.skip(f"needs {exports}")
    got_file = read_record_file(str(exports))
    assert (got_file.kind, got_file.records, got_file.error) == ("exports", 29, None)
    records = list(join_batches(got_file.batches, [0]).batch.records())
    changed = records[3]._replace(bytes_fwd=records[3].bytes_fwd + 1000)
    journal = tmp_path / "j.db"
    with Journal.open(str(journal), create=True) as j:
        j.append([flow_entry(f, {"decision": "allow"})
                  for f in [*records[:3], changed, *records[5:]]])  # fmt: skip
    code, got = run(exports, journal)
    (only,) = got["only_a"]  # type: ignore[misc]
    (differ,) = got["differ"]  # type: ignore[misc]
    assert (code, got["flows"], got["matched"]) == (1, [len(records), len(records) - 1],
                                                    len(records) - 1)  # fmt: skip
    assert (only["src"], only["sport"]) == (records[4].src, records[4].sport)
    assert sum(differ["b"]["bytes"]) - sum(differ["a"]["bytes"]) == 1000
