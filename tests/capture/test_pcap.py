"""Classic pcap reading: every magic and byte order, damaged files, chunk windows.

Variant files are made in tmp_path by rewriting real shared captures with the project's writer
(pcaps/capfile.py), so each variant can be compared with the original's flows and with tshark's
record times.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import pytest

import agent.capture.chunks as chunks
from agent.capture.chunks import CHUNK_BYTES
from agent.errors import CaptureError, CorruptCapture
from pcaps.capfile import PCAP_MODIFIED, PCAP_NSEC, PCAP_USEC, Packet, pcap_file, pcap_header
from tests.support import outcome, records_of
from tests.truth import analyze, truth

SEC = 1_000_000_000
BIG_WINDOW = 64 << 20
"""A window that holds every file written here in one piece."""
LIBPCAP_MAX = 262144
"""libpcap's and Wireshark's largest record: the limit unless the header's snaplen is larger."""


@dataclass(frozen=True)
class Record:
    ts_ns: int
    data: bytes
    origlen: int


@dataclass(frozen=True)
class Pcap:
    linktype: int
    snaplen: int
    records: tuple[Record, ...]
    tail: int
    """Bytes of an incomplete last record."""


def parse_pcap(raw: bytes) -> Pcap:
    """A deliberately naive reader, independent of agent.capture."""
    magic = struct.unpack_from("<I", raw)[0]
    e = "<" if magic in (PCAP_USEC, PCAP_NSEC, PCAP_MODIFIED) else ">"
    magic = struct.unpack_from(e + "I", raw)[0]
    frac = 1 if magic == PCAP_NSEC else 1000
    hdr = 24 if magic == PCAP_MODIFIED else 16
    snaplen, linktype = struct.unpack_from(e + "II", raw, 16)
    records, pos = [], 24
    while pos + hdr <= len(raw):
        sec, sub, cap, orig = struct.unpack_from(e + "IIII", raw, pos)
        if pos + hdr + cap > len(raw):
            break
        records.append(Record(sec * SEC + sub * frac, raw[pos + hdr : pos + hdr + cap], orig))
        pos += hdr + cap
    return Pcap(linktype, snaplen, tuple(records), len(raw) - pos)


def pcap_bytes(
    records: tuple[Record, ...] | list[Record],
    *,
    big: bool = False,
    nano: bool = False,
    modified: bool = False,
    link: int = 1,
    snaplen: int = 65535,
) -> bytes:
    packets = [Packet(r.ts_ns, r.data, origlen=r.origlen) for r in records]
    return pcap_file(packets, link, snaplen, nano=nano, modified=modified, e=">" if big else "<")


def header_offsets(records: tuple[Record, ...] | list[Record], hdr: int = 16) -> list[int]:
    offsets, pos = [], 24
    for r in records:
        offsets.append(pos)
        pos += hdr + len(r.data)
    return offsets


def tshark_times(capture: Path) -> list[int]:
    return [int(Decimal(f[1]) * SEC) for f in truth(capture)["frames"]]


def to_usec(ns: int) -> int:
    return ns // 1000 * 1000


def set_window(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """ChunkReader's `size=CHUNK_BYTES` default is bound when the class is defined, so the readers'
    window is changed through the function's defaults, not the module constant."""
    monkeypatch.setattr(chunks, "CHUNK_BYTES", size)


def source(pcaps: Path, name: str) -> Pcap:
    return parse_pcap((pcaps / name).read_bytes())


# --- byte order and timestamp resolution ------------------------------------------------------

SOURCES = ["zeek_get.pcap", "tcpdump_pptp.pcap", "tcpdump_tcp-handshake-nano.pcap"]
VARIANTS = {
    "le-usec": (False, False, "d4c3b2a1"),
    "be-usec": (True, False, "a1b2c3d4"),
    "le-nsec": (False, True, "4d3cb2a1"),
    "be-nsec": (True, True, "a1b23c4d"),
}


def test_sources_are_the_formats_they_claim(pcaps: Path) -> None:
    """The rewrite tests below start from an LE usec, a BE usec and an LE nanosecond file."""
    heads = [(pcaps / n).read_bytes()[:4].hex() for n in SOURCES]
    assert heads == ["d4c3b2a1", "a1b2c3d4", "4d3cb2a1"]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", SOURCES)
def test_byte_order_and_resolution_variants(
    pcaps: Path, tmp_path: Path, name: str, variant: str
) -> None:
    """The same records in either byte order and either resolution give the same flows; times
    agree with tshark's to the ns, or to the µs when the variant can only hold µs."""
    big, nano, magic = VARIANTS[variant]
    cap = source(pcaps, name)
    path = tmp_path / f"{variant}.pcap"
    path.write_bytes(pcap_bytes(cap.records, big=big, nano=nano, link=cap.linktype))
    assert path.read_bytes()[:4].hex() == magic

    original, got = outcome(pcaps / name), outcome(path)
    expected = original.flows
    if not nano:  # a nanosecond source loses its sub-µs digits, and nothing else
        expected = [f._replace(first_ns=to_usec(f.first_ns), last_ns=to_usec(f.last_ns))
                    for f in expected]  # fmt: skip
    assert original.error is None and original.flows
    assert got == replace(original, flows=sorted(expected, key=repr))

    times = tshark_times(pcaps / name)
    assert [r.ts_ns for r in records_of(path)] == (times if nano else list(map(to_usec, times)))


def test_nanosecond_digits_survive(pcaps: Path) -> None:
    """The nanosecond source really has sub-µs digits, so the test above can see them lost."""
    times = [r.ts_ns for r in records_of(pcaps / "tcpdump_tcp-handshake-nano.pcap")]
    assert times == tshark_times(pcaps / "tcpdump_tcp-handshake-nano.pcap")
    assert all(t % 1000 for t in times)


@pytest.mark.parametrize("big", [False, True], ids=["le", "be"])
def test_modified_pcap_with_24_byte_record_headers(pcaps: Path, tmp_path: Path, big: bool) -> None:
    """Magic a1b2cd34 ("modified" libpcap): 8 more bytes per record header, same packets."""
    cap = source(pcaps, "zeek_get.pcap")
    path = tmp_path / "modified.pcap"
    path.write_bytes(pcap_bytes(cap.records, big=big, modified=True))
    assert path.read_bytes()[:4].hex() == ("a1b2cd34" if big else "34cdb2a1")

    assert outcome(path) == outcome(pcaps / "zeek_get.pcap")
    seen = records_of(path)
    assert [r.file_offset for r in seen] == header_offsets(cap.records, hdr=24)
    assert [r.ts_ns for r in seen] == tshark_times(pcaps / "zeek_get.pcap")


# --- damaged files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "snaplen, caplen",
    [(65535, LIBPCAP_MAX + 1), (300_000, 300_001), (65535, 0xFFFF_FFFF)],
)
@pytest.mark.parametrize("index", [0, 5, 13])
def test_record_longer_than_allowed_is_corrupt(
    pcaps: Path, tmp_path: Path, index: int, snaplen: int, caplen: int
) -> None:
    """caplen > max(snaplen, 262144) -> CorruptCapture at that record header's byte offset; the
    records before it still make their flows."""
    recs = source(pcaps, "zeek_get.pcap").records
    bad = struct.pack("<IIII", 1362692527, 0, caplen, caplen) + b"\0" * 64
    path = tmp_path / "long.pcap"
    before = pcap_bytes(recs[:index], snaplen=snaplen)
    path.write_bytes(before + bad + pcap_bytes(recs[index:])[24:])
    prefix = tmp_path / "prefix.pcap"
    prefix.write_bytes(before)
    where = header_offsets(recs)[index]

    flows, stats, err = analyze(path)
    assert isinstance(err, CorruptCapture) and err.exit_code == 5
    assert (err.path, err.offset) == (str(path), where)
    assert str(err).startswith(f"{path}: offset {where}: ") and str(caplen) in str(err)
    assert sorted(flows, key=repr) == outcome(prefix).flows
    assert (stats.records, stats.decoded) == (index, index)
    assert (len(flows) > 0) == (index > 0)


@pytest.mark.parametrize("snaplen, caplen", [(65535, LIBPCAP_MAX), (1000, LIBPCAP_MAX),
                                             (300_000, 300_000)])  # fmt: skip
def test_record_at_the_limit_is_read(
    pcaps: Path, tmp_path: Path, snaplen: int, caplen: int
) -> None:
    """The limit is inclusive and a larger snaplen raises it: such a record is read whole."""
    recs = list(source(pcaps, "zeek_get.pcap").records)
    get = recs[3]  # the HTTP request, client -> server
    recs[3] = Record(get.ts_ns, get.data.ljust(caplen, b"\0"), caplen)
    path = tmp_path / "limit.pcap"
    path.write_bytes(pcap_bytes(recs, snaplen=snaplen))

    got, original = outcome(path), outcome(pcaps / "zeek_get.pcap")
    assert got.error is None and got.warnings == []
    assert records_of(path)[3].caplen == caplen
    [f], [o] = got.flows, original.flows
    assert f == o._replace(frame_bytes_fwd=o.frame_bytes_fwd + caplen - len(get.data))


@pytest.mark.parametrize("kept", [1, 15, 16, 16 + 10, 16 + 65])
def test_record_cut_at_end_of_file(pcaps: Path, tmp_path: Path, kept: int) -> None:
    """A last record cut short (in its header or its data) is a warning at the offset of its
    header; every earlier record is analyzed."""
    recs = source(pcaps, "zeek_get.pcap").records
    whole = pcap_bytes(recs)
    last = header_offsets(recs)[-1]
    assert len(whole) - last == 16 + 66
    path = tmp_path / "cut.pcap"
    path.write_bytes(whole[: last + kept])
    prefix = tmp_path / "prefix.pcap"
    prefix.write_bytes(whole[:last])

    got, before = outcome(path), outcome(prefix)
    assert got.error is None
    assert got.warnings == [(last, f"last record cut off ({kept} of its bytes are in the file)")]
    assert got.flows == before.flows and got.stats == before.stats
    assert got.stats["records"] == len(recs) - 1


def test_real_file_cut_in_a_record(pcaps: Path) -> None:
    """dpkt_truncated_dns_2.pcap really ends inside a record: tshark's records are read, then a
    warning names where the cut record starts."""
    name = "dpkt_truncated_dns_2.pcap"
    raw = (pcaps / name).read_bytes()
    cap = parse_pcap(raw)
    assert cap.tail > 0
    got = outcome(pcaps / name)
    assert got.error is None
    assert got.stats["records"] == len(cap.records) == truth(pcaps / name)["packet_count"]
    where = len(raw) - cap.tail
    assert got.warnings == [
        (where, f"last record cut off ({cap.tail} of its bytes are in the file)")
    ]


@pytest.mark.parametrize("variant", VARIANTS)
def test_header_only_file_has_no_records(tmp_path: Path, variant: str) -> None:
    """A valid header and nothing else is an empty capture, not an error."""
    big, nano, _ = VARIANTS[variant]
    path = tmp_path / "empty.pcap"
    path.write_bytes(pcap_bytes([], big=big, nano=nano))
    assert len(path.read_bytes()) == 24
    flows, stats, err = analyze(path)
    assert (flows, err, stats.records, stats.warnings, dict(stats.link_types)) == (
        [],
        None,
        0,
        [],
        {},
    )


@pytest.mark.parametrize("size", [4, 12, 23])
def test_file_shorter_than_its_header(tmp_path: Path, size: int) -> None:
    """A pcap magic followed by less than a header is not a capture (exit 4), with no traceback."""
    path = tmp_path / "short.pcap"
    path.write_bytes(pcap_header()[:size])
    flows, _stats, err = analyze(path)
    assert flows == []
    assert type(err) is CaptureError and err.exit_code == 4
    assert (err.path, err.offset) == (str(path), size)


# --- chunk windows ----------------------------------------------------------------------------


WINDOW_FILES = [
    "zeek_get.pcap",
    "tcpdump_pptp.pcap",
    "tcpdump_tcp-handshake-nano.pcap",
    "zeek_chrome-1250-tls-x25519-kyber.pcap",  # a 1810-byte frame
    "dpkt_truncated_dns_2.pcap",  # cut in a record
    "suri_bug-1450-04__tls_DER-incomplete-header.pcap",  # corrupt record header
]


@pytest.mark.parametrize("size", [64, 100, 200])
@pytest.mark.parametrize("name", WINDOW_FILES)
def test_small_windows_give_identical_results(
    pcaps: Path, monkeypatch: pytest.MonkeyPatch, name: str, size: int
) -> None:
    """Records straddling window edges, and records larger than the window (which must grow),
    are read exactly as with one window over the whole file: flows, stats, warnings, errors."""
    raw = (pcaps / name).read_bytes()
    assert len(raw) - 24 > size and len(parse_pcap(raw).records[0].data) + 16 > 64
    whole = outcome(pcaps / name)
    set_window(monkeypatch, size)
    assert outcome(pcaps / name) == whole


def padded_copies(recs: tuple[Record, ...], total: int, boundary: int, into: int) -> list[Record]:
    """Copies of `recs`, 10 s apart, past `total` bytes; the first frame is padded so that a
    record header starts exactly `into` bytes before `boundary`."""
    copies = total // (16 * len(recs) + sum(len(r.data) for r in recs)) + 2
    out = [Record(r.ts_ns + k * 10 * SEC, r.data, r.origlen) for k in range(copies) for r in recs]
    offs = header_offsets(out)
    j = max(i for i, o in enumerate(offs) if o <= boundary - into)
    pad = boundary - into - offs[j]
    first = out[0]
    out[0] = Record(first.ts_ns, first.data + b"\0" * pad, len(first.data) + pad)
    assert header_offsets(out)[j] == boundary - into
    return out


@pytest.mark.parametrize("into", [7, 16 + 30], ids=["header-straddles", "data-straddles"])
def test_capture_larger_than_one_chunk(
    pcaps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, into: int
) -> None:
    """A file over CHUNK_BYTES, with a record straddling the first window's end (file offset
    24 + CHUNK_BYTES), reads as it does from one window big enough for all of it."""
    recs = source(pcaps, "zeek_get.pcap").records
    records = padded_copies(recs, CHUNK_BYTES + 4096, 24 + CHUNK_BYTES, into)
    path = tmp_path / "big.pcap"
    path.write_bytes(pcap_bytes(records))
    assert path.stat().st_size > CHUNK_BYTES + 24

    chunked = outcome(path)
    set_window(monkeypatch, BIG_WINDOW)
    assert outcome(path) == chunked

    copies = len(records) // len(recs)
    assert chunked.error is None and chunked.warnings == []
    assert chunked.stats["records"] == chunked.stats["decoded"] == len(records)
    assert len(chunked.flows) == copies
    [one] = outcome(pcaps / "zeek_get.pcap").flows
    assert sorted(f.first_ns for f in chunked.flows) == [
        one.first_ns + k * 10 * SEC for k in range(copies)
    ]
    assert sum(f.packets_fwd + f.packets_rev for f in chunked.flows) == len(records)


def test_record_larger_than_the_window(
    pcaps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A header snaplen above CHUNK_BYTES allows a record larger than the window: the window
    grows to hold it."""
    recs = list(source(pcaps, "zeek_get.pcap").records)
    get = recs[3]
    size = CHUNK_BYTES + (1 << 20)
    recs[3] = Record(get.ts_ns, get.data.ljust(size, b"\0"), size)
    path = tmp_path / "huge-record.pcap"
    path.write_bytes(pcap_bytes(recs, snaplen=16 << 20))

    got = outcome(path)
    set_window(monkeypatch, BIG_WINDOW)
    assert outcome(path) == got
    assert got.error is None and got.warnings == []
    assert got.stats["records"] == got.stats["decoded"] == 14
    [f], [o] = got.flows, outcome(pcaps / "zeek_get.pcap").flows
    assert f == o._replace(frame_bytes_fwd=o.frame_bytes_fwd + size - len(get.data))
