"""A fleet document in each form `fleet report --out` writes, and read back for `fleet verify`:

    .json  the document (keys sorted, one-space indent, a newline), its `signature` inside;
    .html  the page (`fleet.html`): for reading, it proves nothing by itself;
    .pdf   the page printed by headless Chromium, then an incremental update that attaches the
           document's canonical JSON (`report.pdf.attach`) with `printed`, the printed pages'
           sha256 and size, inside it, so a signature covers the pages too.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.errors import ReportError
from agent.findings.document import canonical
from agent.fleet.html import page
from agent.report import pdf
from agent.report.envelope import Printer, same
from agent.report.sign import sign

PRINTED = "printed"
VERIFY = b"residency fleet verify"


def make(doc: dict[str, Any], kind: str, key: Ed25519PrivateKey | None = None,
         printer: Printer | None = None) -> bytes:  # fmt: skip
    """The document's file in one form (`report.envelope.kind_of` names it by the suffix)."""
    if kind == "json":
        return (json.dumps(_signed(doc, key), indent=1, sort_keys=True) + "\n").encode()
    shown = page(doc)
    if kind == "html":
        return shown
    printed = pdf.printed_page(shown, printer, "fleet report")
    return pdf.attach(printed, canonical(_signed({**doc, PRINTED: pdf.digest(printed)}, key)),
                      VERIFY)  # fmt: skip


def read(data: bytes, path: str) -> dict[str, Any]:
    """The document a .json or .pdf fleet report holds, with `printed` when it came in a PDF
    whose pages are the ones it names; every byte of a PDF outside them is checked too."""
    if data.startswith(b"%PDF-"):
        printed, attached = pdf.detach(data, path)
        same(pdf.attach(printed, attached, VERIFY), data, path, "the attached report")
        doc = _json(attached, path)
        if doc.get(PRINTED) != pdf.digest(printed):
            raise ReportError(f"{path}: the printed pages are not the ones the report was "
                              "signed with: the PDF was changed")  # fmt: skip
        return doc
    if data.lstrip().startswith(b"<"):
        raise ReportError(f"{path}: a fleet page proves nothing by itself: verify the .json or "
                          ".pdf report")  # fmt: skip
    return _json(data, path)


def _signed(doc: dict[str, Any], key: Ed25519PrivateKey | None) -> dict[str, Any]:
    return sign(doc, key) if key else doc


def _json(data: bytes, path: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except ValueError as err:
        raise ReportError(f"{path}: not JSON: {err}") from err
    if not isinstance(doc, dict):
        raise ReportError(f"{path}: not a fleet report: not a JSON object")
    return doc
