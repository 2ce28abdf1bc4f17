"""Helpers several test modules share."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agent.model import Flow
from tests.truth import analyze


@dataclass(frozen=True)
class Outcome:
    """Everything `analyze` reports, in a form that compares across file names."""

    flows: list[Flow]
    stats: dict[str, object]
    warnings: list[tuple[int, str]]
    error: tuple[type, int, str] | None


def outcome(path: Path) -> Outcome:
    flows, stats, err = analyze(path)
    summary = stats.as_dict()
    del summary["warnings"]
    return Outcome(
        sorted(flows, key=repr),
        summary,
        [(w.offset, w.reason) for w in stats.warnings],
        None if err is None else (type(err), err.offset, err.reason),
    )


class Hang(Exception):
    pass


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Turn a reader that never returns into a test failure instead of a stuck test run."""

    def fire(_signum: int, _frame: object) -> None:
        raise Hang(f"still reading after {seconds} s: the reader loops forever")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
