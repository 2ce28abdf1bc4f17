"""`editcap -c N` for tests: a capture cut into consecutive files of N records (or at given
record numbers), each a valid capture on its own. A pcap part starts with the file header; a
pcapng part with the section header and every interface description seen so far in that
section, so interface numbers keep their meaning. Other blocks stay where they were."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

PCAP_MAGICS = {0xA1B2C3D4, 0xA1B23C4D}
SHB, IDB, PB, SPB, EPB = 0x0A0D0D0A, 1, 2, 3, 6


def split_capture(path: Path, out: Path, every: int = 0, cuts: Sequence[int] = ()) -> list[Path]:
    """Write the parts as out/<stem>-00.<ext>, ... and return their paths. `every`: a new part
    every N records; `cuts`: a new part before each of these record numbers (0-based)."""
    data = path.read_bytes()
    pieces = _pcapng(data) if data[:4] == struct.pack("<I", SHB) else _pcap(data)
    starts = set(cuts)

    def starts_part(n: int) -> bool:
        return n > 0 and (n in starts or (every > 0 and n % every == 0))

    parts: list[bytearray] = []
    header = b""
    n = 0
    for carried, block, is_record in pieces:
        if not parts or (is_record and starts_part(n)):
            parts.append(bytearray(header))
        if carried is not None:
            header = carried
        parts[-1] += block
        n += is_record
    paths = []
    for i, part in enumerate(parts):
        p = out / f"{path.stem}-{i:02d}{path.suffix}"
        p.write_bytes(bytes(part))
        paths.append(p)
    return paths


Piece = tuple[bytes | None, bytes, bool]
"""(the header every later part starts with, when this block changes it; the block; whether
it is a record)."""


def _pcap(data: bytes) -> list[Piece]:
    magic = struct.unpack_from("<I", data)[0]
    end = "<" if magic in PCAP_MAGICS else ">"
    assert struct.unpack_from(end + "I", data)[0] in PCAP_MAGICS, "not a pcap file"
    pieces: list[Piece] = [(data[:24], data[:24], False)]
    at = 24
    while at + 16 <= len(data):
        caplen = struct.unpack_from(end + "I", data, at + 8)[0]
        pieces.append((None, data[at : at + 16 + caplen], True))
        at += 16 + caplen
    return pieces


def _pcapng(data: bytes) -> list[Piece]:
    pieces: list[Piece] = []
    header = b""
    at, end = 0, "<"
    while at + 12 <= len(data):
        if struct.unpack_from("<I", data, at)[0] == SHB:
            end = "<" if struct.unpack_from("<I", data, at + 8)[0] == 0x1A2B3C4D else ">"
        kind, length = struct.unpack_from(end + "II", data, at)
        block = data[at : at + length]
        if kind == SHB:
            header = block
            pieces.append((header, block, False))
        elif kind == IDB:
            header += block
            pieces.append((header, block, False))
        else:
            pieces.append((None, block, kind in (PB, SPB, EPB)))
        at += length
    return pieces
