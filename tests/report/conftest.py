"""The demo home for report tests: range data for the demo capture, from whatever the tree holds
at test time (the demo world's invented ranges, else the shared real ones), analysed once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.chain.offline import analyze
from agent.findings.analysis import Analysis
from agent.intel.store import Store, read_bytes
from agent.policy.load import load_policy
from agent.policy.model import Policy
from agent.report.build import Options, build

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "pcaps" / "demo.pcapng"
POLICY = ROOT / "rules" / "policy.yaml"
IMPORTED = datetime(2026, 3, 3, tzinfo=UTC)


def range_files() -> list[Path]:
    world = ROOT / "pcaps" / "demo-world"
    found = sorted(world.glob("demo-*")) if world.is_dir() else []
    found = found or sorted((ROOT.parent / "shared" / "ranges").glob("*.json"))
    return [*found, ROOT / "rules" / "sites.yaml"]


@dataclass(frozen=True)
class Demo:
    home: Path
    store: Store
    policy: Policy
    analysis: Analysis
    report: dict[str, Any]
    key: Ed25519PrivateKey

    def again(self, options: Options | None = None) -> dict[str, Any]:
        """A second, independent analysis and report of the same inputs."""
        chosen = self.store.current()
        result = analyze([str(DEMO)], load_policy(str(POLICY)), self.store, chosen)
        return build(result, self.policy, options or Options())


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    if not DEMO.is_file():
        pytest.skip(f"no demo capture at {DEMO}")
    home = tmp_path_factory.mktemp("home")
    store = Store(home)
    for path in range_files():
        store.add(read_bytes(str(path)), str(path), IMPORTED)
    policy = load_policy(str(POLICY))
    result = analyze([str(DEMO)], policy, store, store.current())
    report = build(result, policy, Options())
    return Demo(home, store, policy, result, report, Ed25519PrivateKey.generate())
