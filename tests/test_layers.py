"""The package's layering, as its imports draw it: no two parts of `agent` import each other,
directly or round a loop, counting imports inside functions and the kernels' cimports (a late
import hides a cycle from Python, not from a reader); and importing `agent` does nothing but
name its version."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

AGENT = Path(__file__).resolve().parents[1] / "agent"


def part(module: str) -> str | None:
    """`agent.wire.tls` -> `wire`; `agent.model` -> `model`; None outside the package."""
    names = module.removeprefix("cython.cimports.").split(".")
    return names[1] if names[0] == "agent" and len(names) > 1 else None


def imported(tree: ast.AST) -> set[str]:
    """Every module an `import` or `from` anywhere in the tree names."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if node.module == "agent")
    return found


def graph() -> dict[str, set[str]]:
    """Each part of the package (a subpackage, or a top-level module) -> the parts it imports."""
    edges: dict[str, set[str]] = {}
    for path in AGENT.rglob("*.py"):
        rel = path.relative_to(AGENT).with_suffix("").parts
        src = "agent" if rel == ("__init__",) else rel[0]
        deps = {p for m in imported(ast.parse(path.read_text())) if (p := part(m))}
        edges.setdefault(src, set()).update(deps - {src})
    return edges


def test_the_package_import_graph_has_no_cycle() -> None:
    edges = graph()
    assert {"capture", "wire", "model", "policy", "cli"} <= set(edges)  # the walk saw the tree
    try:
        TopologicalSorter(edges).prepare()
    except CycleError as err:
        raise AssertionError(f"import cycle between parts of agent: {err.args[1]}") from None


def test_the_decoders_and_readers_are_below_the_judge_and_the_outputs() -> None:
    edges = graph()
    for low in ("wire", "capture", "flows", "names", "intel"):
        assert not edges[low] & {"policy", "report", "cli", "daemon", "fleet"}, low


def test_importing_agent_does_no_work() -> None:
    """`agent/__init__.py` names the version and nothing else: no import, no call, no IO."""
    tree = ast.parse((AGENT / "__init__.py").read_text())
    for node in tree.body:
        is_doc = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        is_constant = isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        assert is_doc or is_constant, ast.dump(node)
