"""A fleet document's answer in one line, said by `fleet report` on the terminal and at the top
of its page: flows by verdict, the approved share of in-scope bytes and how much of it rests on
weak evidence only (the single-host headline's own words, `analysis.headline.share`), how
many host-days it rests on, and whether any of it rests on sampled flow records."""

from __future__ import annotations

from typing import Any

from agent.findings.headline import ESTIMATED, plural, share


def sentence(doc: dict[str, Any]) -> str:
    """`30 of 60 in-scope flows approved, 24 violations, 6 unverified flows; 49.9% of in-scope
    bytes approved, of which 10.0% on weak evidence only (...); on 6 of 8 host-days (3 hosts)`"""
    h = doc["headline"]
    line = (f"{h['approved']['flows']:,} of {h['in_scope']['flows']:,} in-scope flows approved, "
            f"{plural(h['violation']['flows'], 'violation')}, "
            f"{plural(h['unverified']['flows'], 'unverified flow')}; {share(h)}")  # fmt: skip
    bad = h["access"]["access-violation"]
    if bad["sessions"]:
        line += (f"; {plural(bad['sessions'], 'access violation')} "
                 f"({bad['bytes_out']:,} bytes out)")  # fmt: skip
    line += (f"; on {h['host_days']:,} of {h['host_days_expected']:,} host-days "
             f"({plural(h['hosts'], 'host')})")
    return line + (ESTIMATED if h["estimated_counts"] else "")
