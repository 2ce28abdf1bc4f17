"""One table of exit codes, one meaning each: README's table lists exactly the codes the error
tree and the CLI use, and no two unrelated errors share a code."""

from __future__ import annotations

import re
from pathlib import Path

import agent.errors as errors
from agent.cli.base import CLOSED_PIPE, INTERRUPTED, NOT_RERUN

README = Path(__file__).resolve().parents[2] / "README.md"


def error_classes() -> list[type[errors.ResidencyError]]:
    found: list[type[errors.ResidencyError]] = []
    todo: list[type[errors.ResidencyError]] = [errors.ResidencyError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_readme_lists_every_code_the_tool_uses_and_no_other() -> None:
    text = README.read_text()
    table = text[text.index("Exit codes, one meaning each") :]
    listed = [int(n) for n in re.findall(r"^\| (\d+) \|", table, re.M)]
    used = {cls.exit_code for cls in error_classes()} | {0, 1, NOT_RERUN, INTERRUPTED, CLOSED_PIPE}
    assert len(listed) == len(set(listed))
    assert set(listed) == used


def test_unrelated_errors_do_not_share_a_code() -> None:
    by_code: dict[int, type[errors.ResidencyError]] = {}
    for cls in error_classes():
        other = by_code.setdefault(cls.exit_code, cls)
        assert issubclass(cls, other) or issubclass(other, cls), (cls, other)
