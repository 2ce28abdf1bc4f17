"""Markup helpers for the HTML report: escaped cells, sortable tables, counts and shares."""

from __future__ import annotations

import re
from collections.abc import Sequence, Set
from html import escape

from agent.findings.headline import pct, plural

__all__ = ["NONE", "cell", "code", "num", "pairs", "pct", "plural", "table"]

NONE = '<span class="none">none</span>'


def code(text: str) -> str:
    """Escaped text with `backquoted` spans as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def table(
    ident: str, heads: Sequence[str], rows: Sequence[Sequence[str]],
    numeric: Set[int] = frozenset(), sortable: bool = True,
) -> str:  # fmt: skip
    cls = "sortable wide" if sortable else ""
    head = "".join(("<th class=\"n\">" if i in numeric else "<th>") + f"{escape(h)}</th>"
                   for i, h in enumerate(heads))  # fmt: skip
    body = "".join("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row)
                   + "</tr>" for row in rows)  # fmt: skip
    return (f'<div class="scroll"><table id="{ident}" class="{cls}"><thead><tr>{head}</tr>'
            f"</thead><tbody>{body}</tbody></table></div>")  # fmt: skip


def cell(content: str, sort: object = None, cls: str = "") -> str:
    v = "" if sort is None else f' data-v="{escape(str(sort))}"'
    c = f' class="{cls}"' if cls else ""
    return f"<td{c}{v}>{content}</td>"


def num(n: int) -> str:
    return cell(f"{n:,}", n, "n")


def pairs(counts: dict[str, int]) -> str:
    return "<br>".join(f"{escape(k)}: {v:,}" for k, v in counts.items()) or NONE
