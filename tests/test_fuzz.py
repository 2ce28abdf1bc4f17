"""Property tests: damaged real captures and random bytes never crash residency.

A damaged file may give flows or a residency error (exit code 1-5), never a traceback, a hang or
a flow that breaks the output contract. The decoder itself, fed mutated real frames under any
link type, only ever reports known reasons and only reads the bytes of its own record.

Budget: about 20 s. The kernels are compiled ahead of time, with their bounds checks on.
"""

from __future__ import annotations

import ipaddress
import json
import struct
import tracemalloc
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.capture import open_capture
from agent.errors import CaptureError, ResidencyError
from agent.model import CaptureStats, Flow
from agent.wire import rows as D
from agent.wire.decode import decode_records
from agent.wire.reasons import NAMES
from tests.support import deadline
from tests.truth import PCAPS, analyze

CAPTURES = [
    "zeek_get.pcap",  # pcap LE µs, Ethernet
    "tcpdump_pptp.pcap",  # pcap BE µs, PPTP + GRE
    "tcpdump_tcp-handshake-nano.pcap",  # pcap LE ns, Linux SLL
    "hk_be_test202.pcapng",  # pcapng: BE/LE/BE sections, SPB, NRB, ISB, custom blocks
    "zeek_pcapng-multi-interface.pcapng",  # pcapng: ns and µs interfaces
    "zeek_openjdk-25.0.2-zeek.org.pcap",  # Linux SLL2
    "suri_vxlan-decoder-03__vxlan.pcap",  # VXLAN tunnel
    "zeek_fragmented-1.pcap",  # IPv4 fragments
]
FRAME_SOURCES = [
    *CAPTURES,
    "tcpdump_geneve.pcap",
    "zeek_6in4.pcap",
    "zeek_mpls-in-vlan.pcap",
    "zeek_pppoe.pcap",
    "zeek_http-qinq-0.pcap",
    "zeek_ipv6-hbh-routing0.pcap",
    "zeek_ipv6-fragmented-dns.pcap",
    "tcpdump_quic_handshake.pcap",  # BSD loopback
    "tcpdump_LINKTYPE_RAW_ipv4.pcap",
    "tcpdump_LINKTYPE_IPV6.pcap",
    "zeek_basic-auth-with-colon.pcap",  # LINKTYPE_IPV4
]
LINKTYPES = [0, 1, 101, 108, 113, 228, 229, 276, 12, 14, 9999]
ENDS = {"eof", "idle", "active", "reused"}
HANG_SECONDS = 10
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def capture_bytes(name: str) -> bytes:
    return (PCAPS / name).read_bytes()


@cache
def first_record_offset(name: str) -> int:
    """Where the file's header (pcap) or header blocks (pcapng SHB, IDBs ...) end."""
    raw = capture_bytes(name)
    if raw[:4] != b"\x0a\x0d\x0d\x0a":
        return 24
    pos, e = 0, "<"
    while True:
        if raw[pos : pos + 4] == b"\x0a\x0d\x0d\x0a":
            e = "<" if raw[pos + 8 : pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        btype, blen = struct.unpack_from(e + "II", raw, pos)
        if btype in (2, 3, 6):
            return pos
        pos += blen


def first_shb_incomplete(data: bytes) -> bool:
    """A pcapng file whose first SHB has a plausible length that runs past the end of the file
    (once a hang; the fuzz tests now meet these inputs too)."""
    if len(data) < 12 or data[:4] != b"\x0a\x0d\x0d\x0a":
        return False
    order = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}.get(data[8:12])
    if order is None:
        return False
    blen: int = struct.unpack_from(order + "I", data, 4)[0]
    return 12 <= blen <= 16 << 20 and blen % 4 == 0 and blen > len(data)


def check_flow(f: Flow) -> None:
    assert 0 <= f.proto <= 255
    assert 0 <= f.sport <= 65535 and 0 <= f.dport <= 65535
    for address in (f.src, f.dst):
        ipaddress.ip_address(address)
    assert 0 <= f.depth <= D.MAX_DEPTH
    assert f.packets_fwd >= 0 and f.packets_rev >= 0 and f.packets_fwd + f.packets_rev >= 1
    assert min(f.bytes_fwd, f.bytes_rev, f.frame_bytes_fwd, f.frame_bytes_rev) >= 0
    assert 0 <= f.tcp_flags_fwd <= 255 and 0 <= f.tcp_flags_rev <= 255
    assert f.first_ns <= f.last_ns
    assert f.end in ENDS
    d = f.as_dict()
    assert json.loads(json.dumps(d)) == d


def check_stats(stats: CaptureStats, flows: list[Flow]) -> None:
    assert stats.decoded + sum(stats.skipped.values()) == stats.records
    assert all(n > 0 for n in stats.skipped.values())
    assert set(stats.skipped) | set(stats.anomalies) <= set(NAMES.values())
    assert sum(stats.link_types.values()) == stats.records
    assert 0 <= stats.snaplen_cut <= stats.records
    assert sum(f.packets_fwd + f.packets_rev for f in flows if f.depth == 0) <= stats.records


def run(data: bytes, workdir: Path, seconds: float = HANG_SECONDS) -> None:
    """The whole chain (open_capture -> flows_from -> FlowPipeline, via tests.truth.analyze) on
    `data`; only flows or a ResidencyError are allowed, and both must keep their contracts."""
    path = workdir / "fuzzed.bin"
    path.write_bytes(data)
    try:
        with deadline(seconds):
            flows, stats, err = analyze(path)
    except ResidencyError as other:  # not a CaptureError: e.g. an InputError
        assert str(other)
        return
    for f in flows:
        check_flow(f)
    check_stats(stats, flows)
    gzipped = data[:2] == b"\x1f\x8b"  # offsets would be in the uncompressed stream
    if err is not None:
        assert isinstance(err, CaptureError) and err.exit_code in (4, 5)
        assert str(err).startswith(f"{path}: offset {err.offset}: ")
        assert gzipped or 0 <= err.offset <= len(data)
    for w in stats.warnings:
        assert w.path == str(path)
        assert gzipped or 0 <= w.offset < len(data)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, pcaps: Path) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def test_captures_are_read_cleanly(workdir: Path) -> None:
    """The starting points are undamaged: every record decoded or skipped by name, no error."""
    for name in CAPTURES:
        flows, stats, err = analyze(PCAPS / name)
        assert err is None and stats.warnings == [] and flows, name
        run(capture_bytes(name), workdir)


@settings(FUZZ, max_examples=400)
@given(name=st.sampled_from(CAPTURES), data=st.data())
def test_truncated_anywhere(workdir: Path, name: str, data: st.DataObject) -> None:
    """A capture cut at any byte."""
    raw = capture_bytes(name)
    cut = data.draw(st.integers(0, len(raw)), label="cut")
    run(raw[:cut], workdir)


@settings(FUZZ, max_examples=800)
@given(name=st.sampled_from(CAPTURES), data=st.data())
def test_bytes_overwritten(workdir: Path, name: str, data: st.DataObject) -> None:
    """1-8 bytes overwritten, in the file header (or pcapng header blocks) and after it."""
    raw = bytearray(capture_bytes(name))
    head = first_record_offset(name)
    for _ in range(data.draw(st.integers(1, 8), label="count")):
        in_header = data.draw(st.booleans(), label="in header")
        pos = data.draw(st.integers(0, head - 1) if in_header else st.integers(head, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255), label=f"byte at {pos}")
    run(bytes(raw), workdir)


@settings(FUZZ, max_examples=300)
@given(name=st.sampled_from(CAPTURES), tail=st.binary(min_size=1, max_size=600))
def test_garbage_appended(workdir: Path, name: str, tail: bytes) -> None:
    """Random bytes after the last record."""
    run(capture_bytes(name) + tail, workdir)


@pytest.mark.parametrize("name", ["hk_be_test202.pcapng", "zeek_pcapng-multi-interface.pcapng"])
@pytest.mark.parametrize("damage", ["cut-at-12", "cut-at-80", "length-byte"])
def test_first_section_header_past_end_of_file(workdir: Path, name: str, damage: str) -> None:
    """The inputs the fuzz tests skip: they too must end with flows or an error."""
    raw = bytearray(capture_bytes(name))
    if damage == "length-byte":  # the SHB length's 3rd most significant byte, as fuzzing found
        raw[6 if raw[8:12] == b"\x1a\x2b\x3c\x4d" else 5] = 0x10
    else:
        raw = raw[: int(damage.split("-")[-1])]
    assert first_shb_incomplete(bytes(raw))
    run(bytes(raw), workdir, seconds=1)


def test_link_type_field_does_not_drive_memory(workdir: Path) -> None:
    """A fuzzed link type in the pcap header costs no more memory than a sane one."""
    raw = bytearray(capture_bytes("zeek_get.pcap"))
    raw[20:24] = struct.pack("<I", 0x03FF_FFFF)
    path = workdir / "linktype.pcap"
    path.write_bytes(raw)
    tracemalloc.start()
    try:
        _flows, stats, err = analyze(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert err is None and stats.skipped == {"unknown_linktype": 14}
    assert peak < 64 << 20, f"peak {peak >> 20} MiB"


# --- the decoder on its own -------------------------------------------------------------------


@cache
def real_frames() -> list[tuple[bytes, int]]:
    frames = []
    for name in FRAME_SOURCES:
        with open_capture(str(PCAPS / name)) as source:
            for b in source.batches():
                for off, cap, link in zip(b.offset, b.caplen, b.linktype, strict=True):
                    frames.append((bytes(b.data[off : off + cap]), int(link)))
    return frames


def decode(records: list[tuple[bytes, int]], fill: int) -> tuple[int, list[list[int]]]:
    """Decode records laid out with `fill` bytes around each; -> (records done, rows)."""
    gap = 32
    buf = bytearray([fill]) * gap
    offsets = []
    for frame, _link in records:
        offsets.append(len(buf))
        buf += frame + bytes([fill]) * gap
    rows = np.zeros(((len(records) + 1) * D.ROWS_PER_RECORD, D.N_COLUMNS), np.uint64)
    done, n = decode_records(
        np.frombuffer(bytes(buf), np.uint8),
        np.array(offsets, np.int64),
        np.array([len(f) for f, _ in records], np.int64),
        np.array([link for _, link in records], np.int64),
        0,
        rows,
    )
    return int(done), rows[:n].tolist()


@st.composite
def records(draw: st.DrawFn) -> tuple[bytes, int]:
    """A real frame, mutated and perhaps cut, or random bytes; under its own or any link type."""
    if draw(st.booleans()):
        frame, link = draw(st.sampled_from(real_frames()))
        b = bytearray(frame)
        for _ in range(draw(st.integers(0, 6))):
            if b:
                b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
        if draw(st.booleans()):
            b = b[: draw(st.integers(0, len(b)))]
        frame = bytes(b)
    else:
        frame, link = draw(st.binary(max_size=200)), draw(st.sampled_from(LINKTYPES))
    if draw(st.integers(0, 4)) == 0:
        link = draw(st.sampled_from(LINKTYPES))
    return frame, link


@settings(max_examples=1500, deadline=None)
@given(batch=st.lists(records(), min_size=1, max_size=6))
def test_decoder_reports_known_reasons_and_stays_in_its_record(
    pcaps: Path, batch: list[tuple[bytes, int]]
) -> None:
    """decode_records never crashes, decodes every record, marks each row with its record in
    order, depth <= MAX_DEPTH + 1 and a known reason; and the bytes around a record (0x00 or
    0xff) never change its rows, so it never reads outside its record."""
    done, rows = decode(batch, 0x00)
    assert done == len(batch)
    assert (done, rows) == decode(batch, 0xFF)
    recs = [r[D.REC] for r in rows]
    assert recs == sorted(recs) and set(recs) <= set(range(len(batch)))
    for r in rows:
        assert r[D.REASON] == 0 or r[D.REASON] in NAMES
        assert r[D.DEPTH] <= D.MAX_DEPTH + 1
        if r[D.REASON] == 0:
            assert r[D.VERSION] in (4, 6) and r[D.PROTO] <= 255
            assert r[D.SPORT] <= 65535 and r[D.DPORT] <= 65535
