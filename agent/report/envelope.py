"""A report in its envelope, and the envelope in each form, read back strictly.

The envelope is `{"report": ..., "signature": ...}` (the signature only when signed), plus, in
a PDF, `"printed"`: the SHA-256 and size of the pages Chromium printed, so the signature covers
them too. Each form holds the envelope so that not one byte can change unseen:
  JSON  the canonical envelope and a newline, nothing else;
  HTML  the page that `html.render` makes from the envelope it embeds;
  PDF   the printed pages, then an update that attaches the canonical envelope (`pdf.attach`).
Reading checks the form, not the signature: that is `sign.check`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.errors import ReportError
from agent.findings.document import canonical
from agent.report import html, pdf
from agent.report.build import SCHEMA
from agent.report.sign import sign

KINDS = ("json", "html", "pdf")
ENVELOPE_KEYS = {"report", "signature", "printed"}
Printer = Callable[[bytes], bytes]
"""HTML page -> PDF bytes (`pdf.print_pdf` with a Chromium)."""


def kind_of(path: str) -> str:
    """The form a report file is written in, by its suffix."""
    suffix = Path(path).suffix.lower().lstrip(".")
    kind = "html" if suffix == "htm" else suffix
    if kind not in KINDS:
        raise ReportError(f"{path}: a report is .json, .html or .pdf")
    return kind


def seal(report: dict[str, Any], key: Ed25519PrivateKey | None = None,
         printed: bytes | None = None) -> dict[str, Any]:  # fmt: skip
    envelope: dict[str, Any] = {"report": report}
    if printed is not None:
        envelope["printed"] = pdf.digest(printed)
    return sign(envelope, key) if key else envelope


def make(report: dict[str, Any], kind: str, key: Ed25519PrivateKey | None = None,
         printer: Printer | None = None) -> bytes:  # fmt: skip
    """The report file's bytes in one form."""
    sealed = seal(report, key)
    if kind == "json":
        return canonical(sealed) + b"\n"
    page = html.render(sealed)
    if kind == "html":
        return page
    printed = pdf.printed_page(page, printer, "report")
    return pdf.attach(printed, canonical(seal(report, key, printed)))


def read(data: bytes, path: str) -> tuple[str, dict[str, Any]]:
    """(form, envelope) from a report file, when every byte is where that form puts it."""
    if data.startswith(b"{"):
        return "json", _parse(data, path, b"\n")
    if data.startswith(html.DOCTYPE):
        envelope = _parse(html.extract(data, path), path, None)
        same(_render(envelope, path), data, path, _rendered(envelope))
        return "html", envelope
    if data.startswith(b"%PDF-"):
        printed, attached = pdf.detach(data, path)
        envelope = _parse(attached, path, b"")
        if envelope.get("printed") != pdf.digest(printed):
            raise ReportError(f"{path}: the printed pages are not the ones the report was "
                              "sealed with: the PDF was changed")  # fmt: skip
        same(pdf.attach(printed, attached), data, path, "the attached report")
        return "pdf", envelope
    raise ReportError(f"{path}: not a residency report (JSON, HTML or PDF)")


def _parse(data: bytes, path: str, end: bytes | None) -> dict[str, Any]:
    """The envelope in `data`; unless `end` is None (a page, checked whole by rendering),
    `data` must be its canonical JSON followed by `end`."""
    try:
        envelope = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ReportError(f"{path}: byte {err.start}: not UTF-8") from err
    except ValueError as err:
        raise ReportError(f"{path}: the report is not JSON: {err}") from err
    if not isinstance(envelope, dict) or not isinstance(envelope.get("report"), dict):
        raise ReportError(f"{path}: not a residency report: no \"report\" object")
    if not set(envelope) <= ENVELOPE_KEYS:
        raise ReportError(f"{path}: unknown keys {sorted(set(envelope) - ENVELOPE_KEYS)}")
    if envelope["report"].get("schema") != SCHEMA:
        raise ReportError(f"{path}: schema {envelope['report'].get('schema')!r}, not {SCHEMA}")
    if end is not None:
        same(canonical(envelope) + end, data, path, "canonical JSON")
    return envelope


def _render(envelope: dict[str, Any], path: str) -> bytes:
    """The page for an envelope read from a file: one made by hand, or changed, may lack what
    the page shows, and that is a bad report, not a crash."""
    try:
        return html.render(envelope)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        raise ReportError(f"{path}: the embedded report is malformed ({type(err).__name__}: "
                          f"{err}): it was changed after it was made") from err  # fmt: skip


def same(expected: bytes, data: bytes, path: str, what: str) -> None:
    """Nothing when `data` is `expected`, else the offset of the first byte that differs."""
    if expected == data:
        return
    at = next((i for i, (a, b) in enumerate(zip(expected, data, strict=False)) if a != b),
              min(len(expected), len(data)))  # fmt: skip
    raise ReportError(f"{path}: byte {at}: the file is not {what}: it was changed after it was "
                      "made")  # fmt: skip


def _rendered(envelope: dict[str, Any]) -> str:
    made = envelope["report"].get("tool", {}).get("version")
    return f"the page its report renders to (made by residency {made})"

