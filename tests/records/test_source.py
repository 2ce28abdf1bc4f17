import gzip
from pathlib import Path

import pytest

from agent.errors import CorruptRecords
from agent.records.source import read_record_file, read_records, record_kind
from tests.truth import SHARED


def test_gzipped_logs_of_two_interfaces_give_each_connection_once(
    flowlogs: Path, tmp_path: Path
) -> None:
    text = (flowlogs / "aws-vpc" / "elastic-integrations__test-tcp-flag-sequence.log").read_bytes()
    one, two = tmp_path / "a.log.gz", tmp_path / "b.log"
    one.write_bytes(gzip.compress(text))
    two.write_bytes(text.replace(b"eni-1235b8ca123456789", b"eni-0peer"))
    assert record_kind(str(one)) == record_kind(str(two)) == "aws-text"
    read = read_records([str(one), str(two)])
    assert [(f.kind, f.size, f.records + len(f.gaps), f.error) for f in read.files] == [
        ("aws-text", 1075, 3, None), ("aws-text", 1039, 3, None),
    ]  # fmt: skip
    assert (len(read.joined.flows), read.joined.merged_duplicates) == (1, 1)
    assert read.joined.evidence[0][0] == 0 and read.joined.evidence[0][1].line == 2
    assert len(read.files[0].sha256) == 64


def test_damage_keeps_what_came_before(flowlogs: Path) -> None:
    got = read_record_file(
        str(flowlogs / "aws-vpc" / "otel-contrib__NEGATIVE_vpc_flow_log_too_few_fields.log")
    )
    assert got.batches == got.gaps == [] and got.error is not None and got.error.where == "line 2"


def test_a_capture_is_not_a_record_file(pcaps: Path, tmp_path: Path) -> None:
    assert record_kind(str(pcaps / "zeek_get.pcap")) is None
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(gzip.compress(b"version srcaddr dstaddr\n2 1.1.1.1 2.2.2.2\n")[:-12])
    with pytest.raises(CorruptRecords, match="gzip stream is damaged"):
        read_record_file(str(cut))


def test_a_capture_of_export_datagrams_is_found_by_content(pcaps: Path) -> None:
    samples = SHARED / "flowlogs" / "netflow-ipfix"
    if not samples.exists():
        pytest.skip(f"needs {samples}")
    found = {record_kind(str(p)) for p in samples.glob("akvorado__*.pcap")}
    assert found == {"exports"}  # NetFlow v5/v9, IPFIX and sFlow, at their own ports
    assert {record_kind(str(p)) for p in pcaps.glob("*.pcap*")} == {None}  # and the truth


def test_a_dns_message_with_id_5_is_not_netflow_v5() -> None:
    """A query with ID 5 begins 00 05 as a v5 export does (a part of zeek's multi-interface
    capture holds one): its lengths do not add up."""
    from agent.records.netflow.offline import looks_exported

    query = bytes.fromhex("000501000001000000000000") + b"\x07example\x03com\x00\x00\x01\x00\x01"
    assert not looks_exported(query) and not looks_exported(query[:2] + b"\x00\x01" + query[4:])
    v5 = b"\x00\x05\x00\x01" + bytes(20) + bytes(48)
    assert looks_exported(v5) and not looks_exported(v5 + b"\x00")
