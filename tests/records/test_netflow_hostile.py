"""Export datagrams are hostile input: cut, lying or garbled, they are counted, never raised."""

from __future__ import annotations

import struct
from functools import cache

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.capture import open_capture
from agent.cli import main
from agent.records.netflow import Collector, session
from agent.records.netflow.source import export_datagrams
from tests.truth import SHARED

SAMPLES = SHARED / "flowlogs" / "netflow-ipfix"
PORTS = {2055, 4739, 9990, 8096, 2100, 6343}


def datagrams() -> tuple[bytes, ...]:
    if not SAMPLES.exists():
        pytest.skip(f"needs the flow samples at {SAMPLES}")
    return _read_samples()


@cache
def _read_samples() -> tuple[bytes, ...]:
    out: list[bytes] = []
    for path in sorted(SAMPLES.glob("akvorado__*.pcap")):
        with open_capture(str(path)) as source:
            out += [d.payload for d in export_datagrams(source, PORTS)]
    return tuple(out)


def primed() -> Collector:
    """A collector that has seen every sample once, so later data sets find templates."""
    c = Collector()
    for d in datagrams():
        c.feed(d, "192.0.2.1")
    return c


def test_every_cut_of_every_sample_is_a_result_or_a_named_malformed_datagram() -> None:
    c = primed()
    before = c.stats.skipped["malformed_datagram"]
    cuts = 0
    for d in datagrams():
        for n in range(len(d)):
            c.feed(d[:n], "192.0.2.1")
            cuts += 1
    malformed = c.stats.skipped["malformed_datagram"] - before
    assert 0 < malformed <= cuts and len(c.stats.errors) == 100


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_garbled_samples_never_raise(data: st.DataObject) -> None:
    c = primed()
    d = bytearray(data.draw(st.sampled_from(datagrams())))
    for _ in range(data.draw(st.integers(1, 8))):
        d[data.draw(st.integers(0, len(d) - 1))] = data.draw(st.integers(0, 255))
    for rec in c.feed(bytes(d), "192.0.2.1"):
        assert 0 <= rec.sport < 65536 and 0 <= rec.dport < 65536 and rec.first_ns <= rec.last_ns


def ipfix(*sets: bytes) -> bytes:
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), 1_700_000_000, 1, 7) + body


def test_a_set_longer_than_its_message_is_named() -> None:
    c = Collector()
    assert c.feed(ipfix(struct.pack(">HH", 2, 40) + bytes(8)), "192.0.2.1", 100) == []
    assert c.stats.skipped == {"malformed_datagram": 1}
    assert c.stats.errors == [
        "offset 100: netflow: offset 20: block too short: set 2: need 36 bytes, 8 left"
    ]


def test_variable_length_and_enterprise_fields_are_read_past() -> None:
    """Template 300: an enterprise field (4 bytes, PEN 9), a variable-length string, then
    sourceIPv4Address, destinationIPv4Address, octetDeltaCount, packetDeltaCount."""
    fields = struct.pack(">HHI", 0x8000 | 12, 4, 9) + struct.pack(">HH", 82, 65535)
    fields += struct.pack(">HHHHHHHH", 8, 4, 12, 4, 1, 8, 2, 4)
    template = struct.pack(">HHHH", 2, 8 + len(fields), 300, 6) + fields
    records = b""
    for name, size in ((b"eth0", 1500), (b"x" * 300, 40)):
        length = bytes([len(name)]) if len(name) < 255 else b"\xff" + struct.pack(">H", len(name))
        records += b"\0\0\0\1" + length + name + bytes([192, 0, 2, 9, 198, 51, 100, 7])
        records += struct.pack(">QI", size, 1)
    data = struct.pack(">HH", 300, 4 + len(records) + 3) + records + bytes(3)  # 3 padding
    got = Collector().feed(ipfix(template, data), "192.0.2.1")
    assert [(r.src, r.dst, r.bytes, r.packets) for r in got] == [
        ("192.0.2.9", "198.51.100.7", 1500, 1), ("192.0.2.9", "198.51.100.7", 40, 1)]  # fmt: skip
    assert got[0].first_ns == got[0].last_ns == 1_700_000_000 * 10**9  # no times: the export's


def test_withdrawn_template_no_longer_decodes() -> None:
    fields = struct.pack(">HHHHHH", 8, 4, 12, 4, 1, 4)
    template = struct.pack(">HHHH", 2, 8 + len(fields), 256, 3) + fields
    data = struct.pack(">HH", 256, 16) + bytes([10, 0, 0, 1, 10, 0, 0, 2, 0, 0, 0, 99])
    c = Collector()
    assert len(c.feed(ipfix(template, data), "192.0.2.1")) == 1
    c.feed(ipfix(struct.pack(">HHHH", 2, 8, 256, 0)), "192.0.2.1")
    assert c.feed(ipfix(data), "192.0.2.1") == [] and c.stats.skipped["unknown_template"] == 1


def test_template_state_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session, "MAX_STATE", 2)
    fields = struct.pack(">HHHH", 8, 4, 12, 4)
    c = Collector()
    for tid in (256, 257, 258, 256):
        c.feed(ipfix(struct.pack(">HHHH", 2, 8 + len(fields), tid, 2) + fields), "192.0.2.1")
    assert (c.stats.templates, c.stats.skipped) == (3, {"state_full": 1})


def test_flows_decode_exports_lists_flows_across_files() -> None:
    """Templates from the first capture decode the data of the last (tshark: 4 flows, the
    first 198.38.121.178:443 -> 91.170.143.87:19624, 1 packet of 1500 octets, 1 in 30000)."""
    if not SAMPLES.exists():
        pytest.skip(f"needs the flow samples at {SAMPLES}")
    names = ["options-template", "options-data", "template", "data"]
    paths = [str(SAMPLES / f"akvorado__netflow__{n}.pcap") for n in names]
    result = CliRunner().invoke(main, ["flows", "--decode-exports", "--csv", *paths])
    assert result.exit_code == 0, result.output
    rows = [line.split(",") for line in result.stdout.splitlines()[1:]]
    assert len(rows) == 4
    assert rows[0][1:7] == ["6", "198.38.121.178", "443", "91.170.143.87", "19624", "0"]
    assert (rows[0][7], rows[0][8]) == ("30000", "45000000")
    assert result.stderr.splitlines()[-1].endswith(
        "4 flows, 0 options records, skipped: none; sampled flows (counts scaled): 4 at 1 in 30000"
    )
    nfv5 = str(SAMPLES / "akvorado__netflow__nfv5.pcap")
    other = CliRunner().invoke(main, ["flows", "--decode-exports", nfv5])
    assert "0 flows" in other.stderr and "not_export 1" in other.stderr
    given = CliRunner().invoke(main, ["flows", "--decode-exports", "--export-port", "9990", nfv5])
    assert "29 flows" in given.stderr
