"""PDF reports: Chromium prints the HTML page, and an incremental update (ISO 32000 7.5.6)
attaches the canonical report envelope as an embedded file, so one file carries both what a
reader sees and what `report verify` checks.

The update is a pure function of the printed bytes and the envelope: verifying a PDF splits
it, checks the envelope, and makes the update again to compare every byte. `print_pdf` is the
edge that runs Chromium.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from agent.errors import ReportError, SetupError
from agent.report.chromium import headless

ATTACHMENT = b"residency-report.json"
_STREAM = re.compile(
    rb"(\d+) 0 obj\n<</Type /EmbeddedFile /Subtype /application#2Fjson /Length (\d+)>>\nstream\n"
)
_TRAILER = re.compile(rb"trailer\s*<<(.*?)>>\s*startxref\s*(\d+)\s*%%EOF\s*$", re.S)


def print_pdf(page: bytes, chromium: str) -> bytes:
    """The HTML page printed to PDF by headless Chromium (A4, no header or footer)."""
    with tempfile.TemporaryDirectory(prefix="residency-pdf-") as tmp:
        source, out = Path(tmp, "report.html"), Path(tmp, "report.pdf")
        source.write_bytes(page)
        run = headless(chromium, Path(tmp), ["--no-pdf-header-footer", f"--print-to-pdf={out}",
                                             source.as_uri()])  # fmt: skip
        if run.returncode or not out.is_file():
            tail = run.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise SetupError(f"{chromium} could not print the report: {' / '.join(tail)}")
        return out.read_bytes()


def printed_page(page: bytes, printer: Callable[[bytes], bytes] | None, what: str) -> bytes:
    """`page` printed by `printer` (headless Chromium), ending in a newline as `attach` expects;
    without one, the setup error says which report needed it."""
    if printer is None:
        raise SetupError(f"a PDF {what} needs Chromium to print it")
    printed = printer(page)
    return printed if printed.endswith(b"\n") else printed + b"\n"


def attach(printed: bytes, payload: bytes, verify: bytes = b"residency report verify") -> bytes:
    """`printed` with `payload` attached as residency-report.json (a new catalog that names it,
    a cross-reference section for the new objects, a trailer pointing back); its description
    names the command that checks it."""
    trailer = _TRAILER.search(printed[-2048:])
    if not printed.endswith(b"\n") or trailer is None:
        raise ReportError("the printed PDF has no classic trailer: cannot attach the report")
    fields, prev = trailer.group(1), int(trailer.group(2))
    size, root = _number(rb"/Size (\d+)", fields), _number(rb"/Root (\d+) 0 R", fields)
    catalog = _catalog(printed, root)
    stream, spec = size, size + 1
    objects = {
        stream: b"<</Type /EmbeddedFile /Subtype /application#2Fjson /Length %d>>\nstream\n%s"
                b"\nendstream" % (len(payload), payload),
        spec: b"<</Type /Filespec /F (%s) /UF (%s) /AFRelationship /Source /Desc (The report "
              b"as signed: %s)\n/EF <</F %d 0 R /UF %d 0 R>>>>"
              % (ATTACHMENT, ATTACHMENT, verify, stream, stream),
        root: catalog[:-2] + b"\n/Names <</EmbeddedFiles <</Names [(%s) %d 0 R]>>>>\n/AF [%d 0 R]"
              b"\n/PageMode /UseAttachments>>" % (ATTACHMENT, spec, spec),
    }  # fmt: skip
    out = bytearray(printed)
    offsets = {}
    for number in (stream, spec, root):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(out)
    out += b"xref\n%d 1\n%010d 00000 n \n%d 2\n%010d 00000 n \n%010d 00000 n \n" % (
        root, offsets[root], stream, offsets[stream], offsets[spec])
    rest = re.sub(rb"/Size \d+", b"/Size %d" % (size + 2), fields.strip())
    out += b"trailer\n<<%s\n/Prev %d>>\nstartxref\n%d\n%%%%EOF\n" % (rest, prev, xref)
    return bytes(out)


def digest(printed: bytes) -> dict[str, int | str]:
    """The printed pages' sha256 and size: the attached document names them, so a signature
    over it covers the pages too."""
    return {"sha256": hashlib.sha256(printed).hexdigest(), "size": len(printed)}


def detach(data: bytes, path: str) -> tuple[bytes, bytes]:
    """(the printed pages, the attached payload) of a PDF report; the caller checks that
    `attach` gives back the same bytes."""
    found = list(_STREAM.finditer(data))
    if not found:
        raise ReportError(f"{path}: the PDF carries no residency report")
    m = found[-1]
    length = int(m.group(2))
    return data[: m.start()], data[m.end() : m.end() + length]


def _number(pattern: bytes, text: bytes) -> int:
    m = re.search(pattern, text)
    if m is None:
        raise ReportError(f"the printed PDF's trailer has no {pattern[1:5].decode()}")
    return int(m.group(1))


def _catalog(printed: bytes, root: int) -> bytes:
    """The document catalog's dictionary, which the update replaces with one that names the
    attachment."""
    found = list(re.finditer(rb"(?<![0-9])%d 0 obj\s*(<<.*?>>)\s*endobj" % root, printed, re.S))
    if not found:
        raise ReportError(f"the printed PDF has no catalog object {root}")
    catalog = found[-1].group(1)
    if re.search(rb"/(Names|AF|PageMode)\b", catalog):
        raise ReportError("the printed PDF's catalog already names files: cannot attach")
    return catalog
