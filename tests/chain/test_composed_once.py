"""The chain is composed once: every driver (analyze, analyze --journal, records, the daemon,
the fleet's map and export) judges through `Chain.judge`, so they cannot drift apart, and a
batch judge is a change in one place. Read from the source, as a lint would."""

from __future__ import annotations

import re
from pathlib import Path

AGENT = Path(__file__).resolve().parents[2] / "agent"
JUDGE_CALL = re.compile(r"\b\w*judg\w*\.judge(?:_batch)?\(")
"""A call of `Judge.judge` or `judge_batch` (through a name that says it is a judge: judge,
judging ...)."""
TALLY_ADD = re.compile(r"\b\w*tally\.add\(")
ONE_PLACE = AGENT / "chain" / "judging.py"


def calls(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for path in sorted(AGENT.rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                found.append(f"{path.relative_to(AGENT.parent)}:{n}")
    return found


def test_the_judge_is_called_in_one_place() -> None:
    assert [c.split(":")[0] for c in calls(JUDGE_CALL)] == [str(ONE_PLACE.relative_to(
        AGENT.parent))], calls(JUDGE_CALL)  # fmt: skip


def test_a_tally_is_fed_only_as_a_sink_of_the_chain() -> None:
    assert calls(TALLY_ADD) == []
