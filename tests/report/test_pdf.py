"""PDF reports without a browser: the attachment update on a small hand-made PDF, and a PDF
report (printed by a stand-in) read back and checked to the byte."""

from __future__ import annotations

import random
import re

import pytest

from agent.errors import ReportError, SetupError
from agent.report import envelope, pdf
from agent.report.sign import check
from tests.report.conftest import Demo


def tiny_pdf(catalog: bytes = b"") -> bytes:
    """One blank page, written the way Chromium writes: classic xref table and trailer."""
    objects = [b"<</Type /Catalog\n/Pages 2 0 R%s>>" % catalog,
               b"<</Type /Pages /Kids [3 0 R] /Count 1>>",
               b"<</Type /Page /Parent 2 0 R /MediaBox [0 0 200 200]>>"]  # fmt: skip
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 4\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size 4\n/Root 1 0 R\n/Info 3 0 R>>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def test_the_attachment_is_an_incremental_update() -> None:
    printed, payload = tiny_pdf(), b'{"report":{}}'
    out = pdf.attach(printed, payload)
    assert out.startswith(printed) and out.endswith(b"%%EOF\n")
    assert pdf.detach(out, "p") == (printed, payload)
    update = out[len(printed) :]
    table = re.search(rb"xref\n(.*?)trailer", update, re.S)
    assert table is not None
    entries = re.findall(rb"^(\d+) (\d+)\n((?:\d{10} 00000 n \n)+)", table.group(1), re.M)
    for first, count, lines in entries:
        offsets = [int(x) for x in re.findall(rb"(\d{10}) 00000 n", lines)]
        assert len(offsets) == int(count)
        for n, at in enumerate(offsets, int(first)):
            assert out[at:].startswith(b"%d 0 obj\n" % n)
    trailer = update[update.rindex(b"trailer") :]
    assert b"/Size 6" in trailer and b"/Root 1 0 R" in trailer and b"/Info 3 0 R" in trailer
    assert int(re.findall(rb"/Prev (\d+)", trailer)[0]) == printed.index(b"xref")
    assert int(re.findall(rb"startxref\n(\d+)", trailer)[0]) == out.rindex(b"\nxref\n") + 1
    assert b"/EmbeddedFiles <</Names [(residency-report.json) 5 0 R]>>" in update


@pytest.mark.parametrize("printed, message", [
    (tiny_pdf(b"\n/Names 9 0 R"), "already names files"),
    (tiny_pdf()[:-6], "no classic trailer"),
    (tiny_pdf().replace(b"/Root 1 0 R", b"/Root 7 0 R"), "no catalog object 7"),
])  # fmt: skip
def test_pdfs_it_cannot_extend_are_refused(printed: bytes, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        pdf.attach(printed, b"{}")


def test_a_pdf_report_reads_back_and_its_signature_covers_the_pages(demo: Demo) -> None:
    data = envelope.make(demo.report, "pdf", demo.key, lambda page: tiny_pdf())
    kind, env = envelope.read(data, "r.pdf")
    assert kind == "pdf" and env["printed"]["size"] == len(tiny_pdf())
    check(env, demo.key.public_key())
    rng = random.Random(11)
    for at in {0, len(data) - 1, *rng.sample(range(len(data)), 150)}:
        changed = bytearray(data)
        changed[at] ^= rng.randrange(1, 256)
        with pytest.raises(ReportError):
            _, env = envelope.read(bytes(changed), "r.pdf")
            check(env, demo.key.public_key())


def test_other_pages_under_the_same_attachment_fail(demo: Demo) -> None:
    data = envelope.make(demo.report, "pdf", demo.key, lambda page: tiny_pdf())
    _, attached = pdf.detach(data, "r.pdf")
    forged = pdf.attach(tiny_pdf(b"\n/Lang (de)"), attached)
    with pytest.raises(ReportError, match="not the ones the report was sealed with"):
        envelope.read(forged, "r.pdf")


def test_a_pdf_needs_a_printer(demo: Demo) -> None:
    with pytest.raises(SetupError, match="needs Chromium"):
        envelope.make(demo.report, "pdf")
