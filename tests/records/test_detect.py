"""Content detection over every file in the shared data: each flow log sample is found as its
own kind, and nothing else is taken for a flow log (tshark's `*.truth.json` have a `message`
key as Firehose lines do): `flows` refuses it in one line, as not a capture nor a flow log."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.records.source import record_kind
from tests.truth import SHARED

KINDS = {
    "aws-vpc": {"aws-text", "aws-cloudwatch"}, "azure-nsg": {"azure-nsg"},
    "azure-vnet": {"azure-vnet"}, "gcp-vpc": {"gcp-vpc"}, "oci-vcn": {"oci-vcn"},
    "zeek-conn": {"zeek-tsv", "zeek-json"}, "netflow-ipfix": {"exports"},
}  # fmt: skip
"""Folder of ../shared/flowlogs -> the kinds its samples are."""
DATA = ("pcaps", "flowlogs", "ranges", "geo")


def _files() -> list[Path]:
    if not all((SHARED / d).is_dir() for d in DATA):
        return []
    return sorted(p for d in DATA for p in (SHARED / d).rglob("*") if p.is_file())


def _sample(path: Path) -> set[str] | None:
    """The kinds a flow log sample may be; None for any other file. A sample is a `.log`,
    `.json` or `.pcap` in a format's folder (zeek-cut's `.cut` output is no conn.log)."""
    rel = path.relative_to(SHARED).parts
    if rel[0] != "flowlogs" or rel[1] not in KINDS or path.suffix not in (".log", ".json", ".pcap"):
        return None
    return KINDS[rel[1]]


def _capture(path: Path) -> bool:
    return path.parent.name == "pcaps" and path.suffix in (".pcap", ".pcapng")


FILES = _files()
needs_shared = pytest.mark.skipif(not FILES, reason=f"needs the shared data in {SHARED} (CI has "
                                  "it)")  # fmt: skip


@needs_shared
@pytest.mark.parametrize("path", [p for p in FILES if _sample(p)], ids=lambda p: p.name)
def test_every_flow_log_sample_is_found_as_its_kind(path: Path) -> None:
    assert record_kind(str(path)) in (_sample(path) or ())


@needs_shared
def test_no_other_file_is_taken_for_a_flow_log() -> None:
    others = [p for p in FILES if not _sample(p)]
    assert len([p for p in others if p.name.endswith(".truth.json")]) >= 40
    assert [p.name for p in others if record_kind(str(p)) is not None] == []


@needs_shared
@pytest.mark.parametrize("path", [p for p in FILES if not _sample(p) and not _capture(p)],
                         ids=lambda p: p.name)  # fmt: skip
def test_flows_refuses_what_is_neither_a_capture_nor_a_flow_log(path: Path) -> None:
    got = CliRunner().invoke(main, ["flows", str(path)])
    assert (got.exit_code, got.stdout) == (4, "")
    assert got.stderr.startswith(f"error: {path}: offset 0: unknown magic ")
    assert got.stderr.endswith(" (not pcap or pcapng, nor a flow log)\n")
    assert "Traceback" not in got.stderr and got.stderr.count("\n") == 1
