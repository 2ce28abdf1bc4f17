"""pcapng reading: sections of either byte order, per-interface link types and clocks, every
packet block kind, blocks to skip, damaged files, and windows smaller than a block.

Real captures are checked against tshark's per-record view; synthetic files are made in tmp_path
by the project's writer (pcaps/capfile.py) carrying packets taken from real classic pcap captures.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

import agent.capture.chunks as chunks
from agent.capture.chunks import CHUNK_BYTES
from agent.errors import CaptureError, CorruptCapture
from agent.model import Flow
from pcaps import capfile
from pcaps.capfile import (
    EPB,
    IDB,
    OPT_COMMENT,
    PB,
    SPB,
    Interface,
    Packet,
    block,
    option,
    options,
    pb,
    pcap_file,
    spb,
    to_units,
)
from tests.support import deadline, outcome, records_of
from tests.truth import analyze, truth

SEC = 1_000_000_000
NRB, ISB = 4, 5
CUSTOM, UNKNOWN = 0x0000_0BAD, 0x7F00_00AA
WTAP_TO_LINKTYPE = {1: 1, 15: 0}
"""Wireshark's encapsulation numbers in the truth files -> LINKTYPE (Ethernet, BSD loopback)."""
BIG_WINDOW = 64 << 20


# --- the blocks the tests assemble, from the project's writer -------------------------------

COMMENT = options([(OPT_COMMENT, b"a comment")])
"""Every EPB written here carries an option, which the reader must step over."""


def shb(e: capfile.Order) -> bytes:
    return capfile.section(application="residency tests", e=e)


def idb(e: capfile.Order, link: int, snaplen: int = 65535, tsresol: int | None = None,
        tsoffset: int = 0) -> bytes:  # fmt: skip
    return Interface(link, snaplen, tsresol=tsresol, tsoffset=tsoffset).block(e)


def epb(e: capfile.Order, iface: int, units: int, data: bytes) -> bytes:
    return capfile.epb(iface, units, data, trailer=COMMENT, e=e)


def other(e: capfile.Order, btype: int, size: int = 32) -> bytes:
    """A block the reader has no use for (custom, unknown, NRB, ISB): skipped by its length."""
    return block(btype, struct.pack(e + "I", 32473) + bytes(range(256)) * (size // 256)
                 + b"x" * (size % 256), e)  # fmt: skip


def assemble(parts: list[bytes]) -> tuple[bytes, list[int]]:
    """The file and the offset of each part in it."""
    offsets, pos = [], 0
    for p in parts:
        offsets.append(pos)
        pos += len(p)
    return b"".join(parts), offsets


def from_units(units: int, resol: int) -> int:
    """Timestamp units -> ns, exactly, floored: what the reader must produce."""
    return units * SEC >> (resol & 0x7F) if resol & 0x80 else units * SEC // 10**resol


# --- classic pcap in and out, for the packets and the expected results ----------------------


@dataclass(frozen=True)
class Record:
    ts_ns: int
    data: bytes


def read_pcap(path: Path) -> tuple[int, list[Record]]:
    raw = path.read_bytes()
    e = "<" if raw[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    frac = 1 if raw[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1000
    link = struct.unpack_from(e + "I", raw, 20)[0]
    out, pos = [], 24
    while pos + 16 <= len(raw):
        sec, sub, cap, _orig = struct.unpack_from(e + "IIII", raw, pos)
        out.append(Record(sec * SEC + sub * frac, raw[pos + 16 : pos + 16 + cap]))
        pos += 16 + cap
    return link, out


def write_nano_pcap(path: Path, link: int, records: list[Record]) -> Path:
    path.write_bytes(pcap_file([Packet(r.ts_ns, r.data) for r in records], link, nano=True))
    return path


# --- looking at the results -------------------------------------------------------------------


def epoch_ns(text: str) -> int:
    return int(Decimal(text) * SEC)


def packet_block_offsets(raw: bytes) -> list[int]:
    """An independent block walk: where each packet block (EPB, SPB, PB) starts."""
    found, pos, e = [], 0, "<"
    while pos + 12 <= len(raw):
        if raw[pos : pos + 4] == b"\x0a\x0d\x0d\x0a":
            e = "<" if raw[pos + 8 : pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        btype, blen = struct.unpack_from(e + "II", raw, pos)
        if btype in (EPB, SPB, PB):
            found.append(pos)
        pos += blen
    return found


def set_window(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """ChunkReader's `size=CHUNK_BYTES` default is bound at definition: patch the default."""
    monkeypatch.setattr(chunks, "CHUNK_BYTES", size)


# --- real captures --------------------------------------------------------------------------


def test_sections_simple_blocks_and_skipped_blocks(pcaps: Path) -> None:
    """hk_be_test202: three sections (BE, LE, BE) with NRB, ISB and custom blocks between the
    8 packet records. Each record's length, link type and time match tshark; a simple packet
    block has no time and takes the time of the record before it (even across a section)."""
    path = pcaps / "hk_be_test202.pcapng"
    frames = [f for f in truth(path)["frames"] if f[5] is not None]  # custom blocks: "data"
    got = records_of(path)
    assert len(got) == len(frames) == 8
    assert [r.file_offset for r in got] == packet_block_offsets(path.read_bytes())
    assert [(r.caplen, r.origlen) for r in got] == [(f[2], f[3]) for f in frames]
    assert [r.linktype for r in got] == [WTAP_TO_LINKTYPE[f[5]] for f in frames]
    untimed = [i for i, f in enumerate(frames) if f[1] is None]
    assert untimed == [3, 5]
    for i, (r, f) in enumerate(zip(got, frames, strict=True)):
        assert r.ts_ns == (got[i - 1].ts_ns if i in untimed else epoch_ns(f[1]))
    assert got[3].ts_ns == epoch_ns(frames[2][1]) != epoch_ns(frames[4][1]) == got[5].ts_ns


@pytest.mark.parametrize(
    "name", ["hk_le_test006.pcapng", "zeek_pcapng-multi-interface.pcapng", "hk_be_test202.pcapng"]
)
def test_link_type_counts(pcaps: Path, name: str) -> None:
    """stats.link_types counts records by their own interface's link type, as tshark does."""
    t = truth(pcaps / name)
    _flows, stats, err = analyze(pcaps / name)
    assert err is None
    by_encap = Counter({WTAP_TO_LINKTYPE[int(k)]: v for k, v in t["frames_by_wtap_encap"].items()
                        if k != "None"})  # fmt: skip
    assert stats.link_types == by_encap
    assert sorted(stats.link_types) == t["link_types"]
    if len(t["header_parse"]["sections_byte_order"]) == 1:
        idbs = t["header_parse"]["idb_linktypes"]
        by_iface: Counter[int] = Counter()
        for i, count in t["frames_by_interface"].items():
            by_iface[idbs[int(i)]["linktype"]] += count
        assert stats.link_types == by_iface


def test_two_link_types_record_by_record(pcaps: Path) -> None:
    """hk_le_test006: Ethernet and BSD loopback interfaces interleaved; each record carries its
    interface's link type and decodes into the conversations tshark found."""
    path = pcaps / "hk_le_test006.pcapng"
    t = truth(path)
    idbs = t["header_parse"]["idb_linktypes"]
    assert [r.linktype for r in records_of(path)] == [idbs[f[4]]["linktype"] for f in t["frames"]]
    assert [r.linktype for r in records_of(path)] == [1, 0, 1, 1, 1]
    flows, stats, _ = analyze(path)
    assert stats.decoded == 5 and len(flows) == len(t["conversations"]["udp"]) == 3


def test_nanosecond_and_microsecond_interfaces(pcaps: Path) -> None:
    """zeek multi-interface: one interface in ns (if_tsresol 9), one in µs; every record's time
    and every flow's first/last time equal tshark's to the nanosecond."""
    path = pcaps / "zeek_pcapng-multi-interface.pcapng"
    t = truth(path)
    times = [epoch_ns(f[1]) for f in t["frames"]]
    assert any(ts % 1000 for ts in times)  # the ns interface has sub-µs digits
    assert [r.ts_ns for r in records_of(path)] == times
    flows, _stats, _err = analyze(path)
    assert sorted((f.first_ns, f.last_ns) for f in flows) == sorted(
        (epoch_ns(c["first_ts"]), epoch_ns(c["last_ts"])) for c in t["conversations"]["udp"]
    )


# --- synthetic files: clocks, block kinds, sections -----------------------------------------


def sources(pcaps: Path) -> tuple[list[Record], list[Record]]:
    """Ethernet packets in µs (zeek_get) and Linux SLL packets in ns (tcp-handshake-nano)."""
    link_a, get = read_pcap(pcaps / "zeek_get.pcap")
    link_b, hs = read_pcap(pcaps / "tcpdump_tcp-handshake-nano.pcap")
    assert (link_a, len(get), link_b, len(hs)) == (1, 14, 113, 3)
    return get, hs


def expected_flows(tmp_path: Path, get: list[Record], hs: list[Record]) -> list[Flow]:
    """The flows of the same packets with the same times, read from classic ns pcaps."""
    a = outcome(write_nano_pcap(tmp_path / "get.pcap", 1, get)).flows
    b = outcome(write_nano_pcap(tmp_path / "hs.pcap", 113, hs)).flows
    return sorted(a + b, key=repr)


CLOCKS = {
    "default-usec": (None, 0),
    "usec": (6, 0),
    "msec": (3, 0),
    "seconds": (0, 0),
    "nsec": (9, 0),
    "1e-10": (10, 0),
    "2^-10": (0x80 | 10, 0),
    "2^-20": (0x80 | 20, 0),
    "2^-30": (0x80 | 30, 0),
    "nsec+offset": (9, 1_362_000_000),
    "2^-20+offset": (0x80 | 20, 1_362_692_000),
    "usec-negative-offset": (6, -3600),
    "1e-11+offset": (11, 1_362_000_000),
}


@pytest.mark.parametrize("clock", CLOCKS)
def test_interface_clocks_convert_exactly(pcaps: Path, tmp_path: Path, clock: str) -> None:
    """if_tsresol (decimal or power of two) and if_tsoffset: each stored time converts to exact
    integer ns, and the flows equal those of the same packets at those times."""
    resol, offset = CLOCKS[clock]
    r = 6 if resol is None else resol
    get, hs = sources(pcaps)
    base = offset * SEC
    parts = [shb("<"), idb("<", 1, tsresol=resol, tsoffset=offset),
             idb("<", 113, 262144, tsresol=resol, tsoffset=offset)]  # fmt: skip
    parts += [epb("<", 0, to_units(p.ts_ns - base, r), p.data) for p in get]
    parts += [epb("<", 1, to_units(p.ts_ns - base, r), p.data) for p in hs]
    path = tmp_path / "clock.pcapng"
    path.write_bytes(b"".join(parts))

    def stored(p: Record) -> Record:
        return Record(from_units(to_units(p.ts_ns - base, r), r) + base, p.data)

    want_get, want_hs = list(map(stored, get)), list(map(stored, hs))
    seen = records_of(path)
    assert [s.ts_ns for s in seen] == [p.ts_ns for p in want_get + want_hs]
    assert [s.linktype for s in seen] == [1] * 14 + [113] * 3
    got = outcome(path)
    assert got.error is None and got.warnings == []
    assert got.flows == expected_flows(tmp_path, want_get, want_hs)
    if want_get + want_hs == get + hs:  # a lossless clock: the originals' flows exactly
        originals = outcome(pcaps / "zeek_get.pcap").flows
        originals += outcome(pcaps / "tcpdump_tcp-handshake-nano.pcap").flows
        assert got.flows == sorted(originals, key=repr)


def test_block_kinds_and_byte_orders(pcaps: Path, tmp_path: Path) -> None:
    """A little-endian section then a big-endian one; EPB, SPB and obsolete PB records on three
    interfaces with different clocks; custom, unknown, NRB and ISB blocks skipped by length.
    Interface ids are per section. SPBs take the time of the record before them."""
    get, hs = sources(pcaps)
    off_b, off_c = 1_418_000_000, 1_362_000_000
    r_c = 0x80 | 20

    def t_a(p: Record) -> int:  # IDB 0: µs
        return p.ts_ns // 1000

    def t_b(p: Record) -> int:  # IDB 1: ns since off_b
        return p.ts_ns - off_b * SEC

    def t_c(p: Record) -> int:  # IDB 2: 2^-20 s since off_c
        return to_units(p.ts_ns - off_c * SEC, r_c)

    def back_c(p: Record) -> int:
        return from_units(t_c(p), r_c) + off_c * SEC

    le, be = "<", ">"
    # (block, the packet it carries or None, its expected ns, its expected link type)
    plan: list[tuple[bytes, Record | None, int, int]] = [
        (shb(le), None, 0, 0),
        (idb(le, 1, 65535), None, 0, 0),
        (other(le, CUSTOM, 40), None, 0, 0),
        (idb(le, 113, 262144, tsresol=9, tsoffset=off_b), None, 0, 0),
        (other(le, UNKNOWN, 21), None, 0, 0),
        (idb(le, 1, 65535, tsresol=r_c, tsoffset=off_c), None, 0, 0),
        (epb(le, 0, t_a(get[0]), get[0].data), get[0], get[0].ts_ns, 1),
        (spb(get[1].data, le), get[1], get[0].ts_ns, 1),
        (pb(2, t_c(get[2]), get[2].data, le), get[2], back_c(get[2]), 1),
        (epb(le, 1, t_b(hs[0]), hs[0].data), hs[0], hs[0].ts_ns, 113),
        (other(le, NRB, 64), None, 0, 0),
        (epb(le, 0, t_a(get[3]), get[3].data), get[3], get[3].ts_ns, 1),
        (spb(get[4].data, le), get[4], get[3].ts_ns, 1),
        (other(le, ISB, 24), None, 0, 0),
        (epb(le, 1, t_b(hs[1]), hs[1].data), hs[1], hs[1].ts_ns, 113),
        (pb(2, t_c(get[5]), get[5].data, le), get[5], back_c(get[5]), 1),
        (epb(le, 1, t_b(hs[2]), hs[2].data), hs[2], hs[2].ts_ns, 113),
        (epb(le, 0, t_a(get[6]), get[6].data), get[6], get[6].ts_ns, 1),
        (shb(be), None, 0, 0),
        (idb(be, 1, 65535, tsresol=9), None, 0, 0),
        (other(be, CUSTOM | 0x4000_0000, 100), None, 0, 0),
        (spb(get[7].data, be), get[7], get[6].ts_ns, 1),
        (epb(be, 0, get[8].ts_ns, get[8].data), get[8], get[8].ts_ns, 1),
        (epb(be, 0, get[9].ts_ns, get[9].data), get[9], get[9].ts_ns, 1),
        (spb(get[10].data, be), get[10], get[9].ts_ns, 1),
        (other(be, UNKNOWN, 7), None, 0, 0),
        *((epb(be, 0, p.ts_ns, p.data), p, p.ts_ns, 1) for p in get[11:]),
    ]
    raw, offsets = assemble([b for b, *_ in plan])
    path = tmp_path / "mixed.pcapng"
    path.write_bytes(raw)
    packets = [(off, p, ts, link) for off, (_b, p, ts, link) in zip(offsets, plan, strict=True)
               if p is not None]  # fmt: skip

    seen = records_of(path)
    assert [(s.file_offset, s.ts_ns, s.linktype) for s in seen] == [
        (off, ts, link) for off, _p, ts, link in packets
    ]
    assert [s.caplen for s in seen] == [len(p.data) for _o, p, _t, _l in packets]
    at = {id(p): ts for _o, p, ts, _l in packets}
    got = outcome(path)
    assert got.error is None and got.warnings == []
    assert got.stats["records"] == got.stats["decoded"] == 17
    assert got.stats["link_types"] == {"1": 14, "113": 3}
    assert got.flows == expected_flows(
        tmp_path, [Record(at[id(p)], p.data) for p in get], [Record(at[id(p)], p.data) for p in hs]
    )


def test_interface_ids_are_per_section(pcaps: Path, tmp_path: Path) -> None:
    """An EPB naming an interface its section never defined (the previous section's does not
    count) is skipped as unknown_pcapng_interface, not fatal; everything else is read."""
    get, _ = sources(pcaps)
    parts = [shb("<"), idb("<", 1), idb("<", 1)]
    parts += [epb("<", i % 2, p.ts_ns // 1000, p.data) for i, p in enumerate(get[:7])]
    parts += [shb(">"), idb(">", 1)]
    parts += [epb(">", 0, p.ts_ns // 1000, p.data) for p in get[7:10]]
    parts += [epb(">", 1, get[9].ts_ns // 1000, get[9].data)]  # interface 1: not in this section
    parts += [epb(">", 0, p.ts_ns // 1000, p.data) for p in get[10:]]
    parts += [epb(">", 7, get[13].ts_ns // 1000, get[13].data)]  # never defined anywhere
    path = tmp_path / "ids.pcapng"
    path.write_bytes(b"".join(parts))

    got = outcome(path)
    assert got.error is None
    assert got.stats["skipped"] == {"unknown_pcapng_interface": 2}
    assert (got.stats["records"], got.stats["decoded"]) == (16, 14)
    assert got.stats["link_types"] == {"-1": 2, "1": 14}
    assert got.flows == outcome(pcaps / "zeek_get.pcap").flows


# --- damaged files ----------------------------------------------------------------------------


def damaged_base(pcaps: Path) -> tuple[list[bytes], dict[str, int]]:
    """LE section with 7 packets and a custom block, then a BE section with 7 more. Returns the
    blocks and the index of each block a test damages."""
    get, _ = sources(pcaps)
    parts = [shb("<"), idb("<", 1)]
    parts += [epb("<", 0, p.ts_ns // 1000, p.data) for p in get[:7]]
    parts += [other("<", CUSTOM, 40), shb(">"), idb(">", 1)]
    parts += [epb(">", 0, p.ts_ns // 1000, p.data) for p in get[7:]]
    return parts, {"epb-le": 6, "epb-be": 14, "custom": 9, "shb-be": 10, "idb-be": 11}


def damage(part: bytes, kind: str, e: capfile.Order) -> bytes:
    b = bytearray(part)
    blen = len(part)
    if kind == "length-not-multiple-of-4":
        struct.pack_into(e + "I", b, 4, blen + 2)
    elif kind == "length-below-12":
        struct.pack_into(e + "I", b, 4, 8)
    elif kind == "length-above-max":
        struct.pack_into(e + "I", b, 4, 0x7FFF_FFFC)
    elif kind == "trailer-differs":
        struct.pack_into(e + "I", b, blen - 4, blen + 4)
    elif kind == "caplen-exceeds-block":
        struct.pack_into(e + "I", b, 20, blen - 28)  # 28 + caplen + 4 > blen by 4
    elif kind == "bad-byte-order-magic":
        b[8:12] = b"\x11\x22\x33\x44"
    elif kind == "idb-body-too-short":  # consistent lengths, but no room for link type + snaplen
        return block(IDB, b"\0" * 4, e)
    return bytes(b)


KINDS = ["length-not-multiple-of-4", "length-below-12", "length-above-max", "trailer-differs"]
DAMAGE = [
    *((t, k) for t in ("epb-le", "epb-be", "custom", "idb-be") for k in KINDS),
    ("epb-le", "caplen-exceeds-block"),
    ("epb-be", "caplen-exceeds-block"),
    *(("shb-be", k) for k in KINDS),
    ("shb-be", "bad-byte-order-magic"),
    ("idb-be", "idb-body-too-short"),
]


@pytest.mark.parametrize("target, kind", DAMAGE)
def test_damaged_block_is_corrupt_at_its_offset(
    pcaps: Path, tmp_path: Path, target: str, kind: str
) -> None:
    """A bad block length (not a multiple of 4, below 12, absurd), a trailing length unlike the
    leading one, an EPB caplen past its block, a later section's bad byte-order magic or an IDB
    with no room for its fields -> CorruptCapture naming the file and the byte offset of that
    block; the records before it still make their flows."""
    parts, index = damaged_base(pcaps)
    i = index[target]
    parts[i] = damage(parts[i], kind, ">" if target.endswith("be") else "<")
    raw, offsets = assemble(parts)
    where = offsets[i]
    path = tmp_path / "damaged.pcapng"
    path.write_bytes(raw)
    prefix = tmp_path / "prefix.pcapng"
    prefix.write_bytes(raw[:where])

    flows, stats, err = analyze(path)
    before = outcome(prefix)
    assert before.error is None and before.warnings == []
    assert isinstance(err, CorruptCapture) and err.exit_code == 5
    assert (err.path, err.offset) == (str(path), where)
    assert str(err).startswith(f"{path}: offset {where}: ")
    assert sorted(flows, key=repr) == before.flows != []
    assert stats.records == stats.decoded == len(packet_block_offsets(raw[:where])) > 0


@pytest.mark.parametrize("kept", [4, 12, 40, -1])
def test_file_cut_in_the_last_packet_block(pcaps: Path, tmp_path: Path, kept: int) -> None:
    """A file that ends inside its last block: a warning at that block's offset saying how much
    of it is there; every earlier record is analyzed."""
    parts, _ = damaged_base(pcaps)
    raw, offsets = assemble(parts)
    last = offsets[-1]
    keep = len(parts[-1]) + kept if kept < 0 else kept
    path = tmp_path / "cut.pcapng"
    path.write_bytes(raw[: last + keep])
    prefix = tmp_path / "prefix.pcapng"
    prefix.write_bytes(raw[:last])

    got, before = outcome(path), outcome(prefix)
    assert got.error is None
    assert got.warnings == [(last, f"last block cut off ({keep} of its bytes are in the file)")]
    assert got.flows == before.flows and got.stats == before.stats
    assert got.stats["records"] == 13


def test_file_cut_in_a_trailing_skipped_block(pcaps: Path, tmp_path: Path) -> None:
    """Cut inside a custom block after the last packet: all packets read, warning at the block."""
    parts, _ = damaged_base(pcaps)
    raw, _offsets = assemble(parts)
    tail = other(">", CUSTOM, 300)
    path = tmp_path / "cut.pcapng"
    path.write_bytes(raw + tail[:100])
    got = outcome(path)
    assert got.error is None
    assert got.warnings == [(len(raw), "last block cut off (100 of its bytes are in the file)")]
    assert got.stats["records"] == got.stats["decoded"] == 14


@pytest.mark.parametrize("kept", [12, 20, 40])
def test_file_cut_inside_its_first_section_header(tmp_path: Path, kept: int) -> None:
    """A pcapng file that ends inside its first SHB has no records; reading it must end, with an
    error or a warning at offset 0 (it once never returned)."""
    raw = shb("<") + idb("<", 1)
    assert len(shb("<")) > kept
    path = tmp_path / "cut.pcapng"
    path.write_bytes(raw[:kept])
    with deadline(1):
        flows, stats, err = analyze(path)
    assert flows == [] and stats.records == 0
    assert (err is not None and err.offset == 0) or [w.offset for w in stats.warnings] == [0]


# --- windows ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [256, 1000])
@pytest.mark.parametrize("name", ["hk_be_test202.pcapng", "hk_le_test006.pcapng",
                                  "zeek_pcapng-multi-interface.pcapng", "cs_dns.pcap",
                                  "cs_http_espn.pcapng"])  # fmt: skip
def test_small_windows_give_identical_results(
    pcaps: Path, monkeypatch: pytest.MonkeyPatch, name: str, size: int
) -> None:
    """Blocks straddling window edges and packet blocks larger than the window (grown into) read
    exactly as with the default window."""
    whole = outcome(pcaps / name)
    set_window(monkeypatch, size)
    assert outcome(pcaps / name) == whole


def test_window_smaller_than_a_section_header(pcaps: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """hk_be_test202's SHBs are 104 and 124 bytes: a 64-byte window must grow to read them."""
    whole = outcome(pcaps / "hk_be_test202.pcapng")
    set_window(monkeypatch, 64)
    with deadline(1):
        got = outcome(pcaps / "hk_be_test202.pcapng")
    assert got == whole


def big_file(pcaps: Path, custom_straddles: bool) -> tuple[bytes, int]:
    """Copies of zeek_get's packets (10 s apart) past CHUNK_BYTES, a filler block placed so that
    a block starts 40 bytes before the first window's end; that block is an EPB, or a custom
    block when `custom_straddles`. Returns the file and the number of copies."""
    get, _ = sources(pcaps)
    boundary, into = CHUNK_BYTES, 40
    blocks = [epb("<", 0, p.ts_ns // 1000 + k * 10_000_000, p.data)
              for k in range(CHUNK_BYTES // 6000 + 2) for p in get]  # fmt: skip
    head = shb("<") + idb("<", 1)
    _, offs = assemble([head, *blocks])
    j = max(i for i, o in enumerate(offs) if o + 16 <= boundary - into)
    filler = other("<", CUSTOM, boundary - into - offs[j] - 16)
    assert len(filler) == boundary - into - offs[j]
    straddler = [other("<", CUSTOM, into + 200)] if custom_straddles else []
    parts = [head, filler, *blocks[: j - 1], *straddler, *blocks[j - 1 :]]
    raw, offsets = assemble(parts)
    k = j + 1
    assert offsets[k] == boundary - into and offsets[k] + len(parts[k]) > boundary
    return raw, len(blocks) // len(get)


@pytest.mark.parametrize("custom", [False, True], ids=["epb-straddles", "custom-straddles"])
def test_capture_larger_than_one_chunk(
    pcaps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, custom: bool
) -> None:
    """Over CHUNK_BYTES, with a packet block or a skipped block across the first window's end:
    the same results as one window over the whole file."""
    raw, copies = big_file(pcaps, custom)
    path = tmp_path / "big.pcapng"
    path.write_bytes(raw)
    assert len(raw) > CHUNK_BYTES
    chunked = outcome(path)
    set_window(monkeypatch, BIG_WINDOW)
    assert outcome(path) == chunked
    assert chunked.error is None and chunked.warnings == []
    assert chunked.stats["records"] == chunked.stats["decoded"] == 14 * copies
    assert len(chunked.flows) == copies


def test_packet_block_larger_than_the_window(pcaps: Path, tmp_path: Path) -> None:
    """An EPB over CHUNK_BYTES (pcapng allows blocks to 16 MiB here): the window grows."""
    get, _ = sources(pcaps)
    size = CHUNK_BYTES + (1 << 20)
    parts = [shb("<"), idb("<", 1, 0)]
    parts += [epb("<", 0, p.ts_ns // 1000, p.data.ljust(size, b"\0") if i == 3 else p.data)
              for i, p in enumerate(get)]  # fmt: skip
    path = tmp_path / "huge.pcapng"
    path.write_bytes(b"".join(parts))
    got = outcome(path)
    assert got.error is None and got.warnings == []
    assert got.stats["records"] == got.stats["decoded"] == 14
    [f], [o] = got.flows, outcome(pcaps / "zeek_get.pcap").flows
    assert f == o._replace(frame_bytes_fwd=o.frame_bytes_fwd + size - len(get[3].data))


def test_skipped_block_larger_than_the_window(pcaps: Path, tmp_path: Path) -> None:
    """A 9 MiB custom block between packets is skipped like any other block (the window grows
    to hold it)."""
    get, _ = sources(pcaps)
    parts = [shb("<"), idb("<", 1)]
    parts += [epb("<", 0, p.ts_ns // 1000, p.data) for p in get[:5]]
    parts += [other("<", CUSTOM, CHUNK_BYTES + (1 << 20))]
    parts += [epb("<", 0, p.ts_ns // 1000, p.data) for p in get[5:]]
    path = tmp_path / "huge-custom.pcapng"
    path.write_bytes(b"".join(parts))
    with deadline(2):
        got = outcome(path)
    assert got.flows == outcome(pcaps / "zeek_get.pcap").flows
    assert got.error is None and got.stats["records"] == 14


def test_cut_section_header_across_a_window_edge(pcaps: Path, tmp_path: Path) -> None:
    """Two captures concatenated, the second cut 20 bytes into its SHB, which starts 8 bytes
    before the first window's end: the first capture is read and the cut is a warning."""
    get, _ = sources(pcaps)
    head = shb("<") + idb("<", 1)
    blocks = [epb("<", 0, p.ts_ns // 1000, p.data) for p in get]
    used = len(head) + sum(map(len, blocks))
    filler = other("<", CUSTOM, CHUNK_BYTES - 8 - used - 16)
    raw = head + filler + b"".join(blocks)
    assert len(raw) == CHUNK_BYTES - 8
    path = tmp_path / "concatenated-cut.pcapng"
    path.write_bytes(raw + shb("<")[:20])
    with deadline(2):
        got = outcome(path)
    assert got.flows == outcome(pcaps / "zeek_get.pcap").flows
    assert got.warnings == [(len(raw), "last block cut off (20 of its bytes are in the file)")]


# --- interface options that break the reader --------------------------------------------------


def idb_raw(options: bytes) -> bytes:
    return block(IDB, struct.pack("<HHI", 1, 0, 65535) + options)


BAD_OPTIONS = {
    # if_tsoffset says 8 bytes, the block ends after the option header: struct.error
    "tsoffset-value-missing": idb_raw(struct.pack("<HH", 14, 8)),
    # if_tsresol says 1 byte, the block ends after the option header: IndexError
    "tsresol-value-missing": idb_raw(struct.pack("<HH", 9, 1)),
    # 10^-30 s: 10**21 does not fit numpy's uint64: OverflowError
    "tsresol-1e-30": idb_raw(option(9, bytes([30])) + option(0, b"")),
    # 2^-127 s: numpy overflow warning (an error under pytest), garbage times otherwise
    "tsresol-2^-127": idb_raw(option(9, bytes([0xFF])) + option(0, b"")),
    # if_tsoffset of 2^40 s: offset * 10**9 does not fit int64: OverflowError
    "tsoffset-2^40": idb_raw(option(14, struct.pack("<q", 1 << 40)) + option(0, b"")),
}


@pytest.mark.parametrize("case", BAD_OPTIONS)
def test_odd_interface_options_never_crash(pcaps: Path, tmp_path: Path, case: str) -> None:
    """Whatever an IDB's options say, the file is read or rejected as a CaptureError at the IDB."""
    get, _ = sources(pcaps)
    head = shb("<")
    parts = [head, BAD_OPTIONS[case]] + [epb("<", 0, p.ts_ns // 1000, p.data) for p in get[:2]]
    path = tmp_path / "odd-idb.pcapng"
    path.write_bytes(b"".join(parts))
    _flows, stats, err = analyze(path)
    assert (err is None and stats.records == 2) or (
        isinstance(err, CaptureError) and err.offset == len(head)
    )


@pytest.mark.parametrize("shift", [35, 40])
def test_fine_power_of_two_resolution(pcaps: Path, tmp_path: Path, shift: int) -> None:
    """if_tsresol 0x80|shift with an if_tsoffset: times are still exact integer ns."""
    get, _ = sources(pcaps)
    resol, offset = 0x80 | shift, 1_362_692_526
    units = [to_units(p.ts_ns - offset * SEC, resol) for p in get]
    parts = [shb("<"), idb("<", 1, tsresol=resol, tsoffset=offset)]
    parts += [epb("<", 0, u, p.data) for u, p in zip(units, get, strict=True)]
    path = tmp_path / "fine.pcapng"
    path.write_bytes(b"".join(parts))
    want = [from_units(u, resol) + offset * SEC for u in units]
    assert [s.ts_ns for s in records_of(path)] == want


def test_recorder_drops_come_from_interface_statistics(pcaps: Path) -> None:
    """The last statistics block of each interface counts its drops from the start. test202's
    ISBs (read by hand): section 1's interface 0 isb_ifdrop 10; section 2's interface 0 first
    none, then isb_ifdrop 1 and isb_osdrop 42: 10 + 43. dumpcap's says isb_ifdrop 0. A capture
    without ISBs, or a classic pcap, says nothing."""
    from agent.capture import open_capture
    from agent.chain.pipeline import FlowPipeline, flows_from

    def drops(name: str) -> int | None:
        pipe = FlowPipeline(names=False)
        with open_capture(str(pcaps / name)) as source:
            for _ in flows_from(source, pipe):
                pass
        return pipe.stats.drops

    assert drops("hk_be_test202.pcapng") == 53
    assert drops("rpp_wireshark_samples-test.pcapng") == 0
    assert drops("zeek_pcapng-multi-interface.pcapng") is None
    assert drops("cs_dns.pcap") is None


@pytest.mark.parametrize(("body", "expected"), [
    (struct.pack("<III", 2, 0, 0), (2, None)),
    (struct.pack("<IIIHHQHHQ", 1, 0, 0, 5, 8, 7, 7, 8, 3) + bytes(4), (1, 10)),
    (struct.pack("<IIIHH", 1, 0, 0, 5, 8), (1, None)),  # the value is cut off: no counter
    (b"\x01\x02", (0, None)),
])  # fmt: skip
def test_parse_isb(body: bytes, expected: tuple[int, int | None]) -> None:
    from agent.capture.pcapng import parse_isb

    assert parse_isb(body, big=False) == expected
