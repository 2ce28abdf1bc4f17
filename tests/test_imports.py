"""Every module of the package imports: mypy is told to ignore missing imports (for the
untyped third-party packages), so an import of a module that moved would otherwise be found
only by the test that happens to reach it."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import agent

MODULES = sorted(m.name for m in pkgutil.walk_packages(agent.__path__, "agent.")
                 if m.name != "agent.__main__")  # that one runs the command


@pytest.mark.parametrize("name", MODULES)
def test_every_module_imports(name: str) -> None:
    importlib.import_module(name)
