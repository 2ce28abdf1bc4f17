"""Compressed captures: gzip, xz and zstd seen through by content, whatever the file's name;
a cut or damaged stream is one CaptureError naming the file, never a decompressor traceback."""

from __future__ import annotations

import gzip
import lzma
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.errors import CaptureError
from tests.support import outcome
from tests.truth import analyze

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

CHECKED = {zstd.CompressionParameter.checksum_flag: 1}
"""As the zstd command writes frames by default: with a checksum (without one, flipped bytes
decompress to wrong bytes no reader can tell from right ones)."""
COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress, "xz": lzma.compress,
    "zstd": lambda data: zstd.compress(data, options=CHECKED),
}  # fmt: skip
MAGIC = {"gzip": b"\x1f\x8b", "xz": b"\xfd7zXZ\x00", "zstd": b"\x28\xb5\x2f\xfd"}
FILES = [
    "zeek_get.pcap",
    "tcpdump_pptp.pcap",
    "tcpdump_tcp-handshake-nano.pcap",
    "cs_http_espn.pcapng",
    "hk_be_test202.pcapng",
    "dpkt_truncated_dns_2.pcap",
    "suri_bug-1450-04__tls_DER-incomplete-header.pcap",
]


@pytest.mark.parametrize("kind", COMPRESS)
@pytest.mark.parametrize("name", FILES)
def test_compression_is_seen_through_whatever_the_name(
    pcaps: Path, tmp_path: Path, name: str, kind: str
) -> None:
    """A compressed capture called .txt reads exactly like the capture, warnings and error
    offsets included (offsets are in the uncompressed stream)."""
    path = tmp_path / "capture.txt"
    path.write_bytes(COMPRESS[kind]((pcaps / name).read_bytes()))
    assert path.read_bytes().startswith(MAGIC[kind])
    assert outcome(path) == outcome(pcaps / name)


@pytest.mark.parametrize("kind", COMPRESS)
@pytest.mark.parametrize("cut", ["header", "early", "half", "trailer", "last-byte"])
def test_a_cut_stream_is_a_capture_error(pcaps: Path, tmp_path: Path, cut: str, kind: str) -> None:
    packed = COMPRESS[kind]((pcaps / "cs_http_espn.pcapng").read_bytes())
    at = {"header": 5, "early": 40, "half": len(packed) // 2, "trailer": len(packed) - 6,
          "last-byte": len(packed) - 1}[cut]  # fmt: skip
    path = tmp_path / "cut.pcapng.z"
    path.write_bytes(packed[:at])
    _flows, _stats, err = analyze(path)
    assert isinstance(err, CaptureError) and err.path == str(path)
    assert f"{kind} stream is damaged" in err.reason


@pytest.mark.parametrize("kind", COMPRESS)
def test_flipped_bytes_are_a_capture_error(pcaps: Path, tmp_path: Path, kind: str) -> None:
    """Flipped bytes inside the compressed data (bad data or a checksum mismatch)."""
    packed = bytearray(COMPRESS[kind]((pcaps / "cs_http_espn.pcapng").read_bytes()))
    for i in range(len(packed) // 2, len(packed) // 2 + 64, 8):
        packed[i] ^= 0xFF
    path = tmp_path / "damaged"
    path.write_bytes(packed)
    _flows, _stats, err = analyze(path)
    assert isinstance(err, CaptureError) and err.path == str(path)
    assert f"{kind} stream is damaged" in err.reason
