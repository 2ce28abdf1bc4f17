"""The demo home for report tests: range data for the demo capture, from whatever the tree holds
at test time (the demo world's invented ranges, else the shared real ones), analysed once."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.chain.offline import analyze
from agent.chain.period import of_captures
from agent.findings.analysis import Analysis
from agent.intel.store import Store, read_bytes
from agent.policy.load import load_policy
from agent.policy.model import Policy
from agent.report.build import Options, build
from pcaps import make_demo
from pcaps.capfile import pcapng_file

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


DECADE = [datetime((24194 + 3 * q) // 12, (24194 + 3 * q) % 12 + 1, 15, 9, tzinfo=UTC)
          for q in range(41)]  # fmt: skip
"""A capture a quarter, 2016-03-15 to 2026-03-15: ten years of the demo's traffic."""
ZONE = ("192.0.2.128/26", "us-east-1", "us-east-1-bue-1")
"""The demo's analytics leak, placed in the ten-year world in AWS's Buenos Aires Local Zone."""


@pytest.fixture(scope="session")
def decade(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The report over ten years of captures, each the demo's story at another time (written
    by pcaps/make_demo.py's story), with an AWS file of 2016 that places the analytics
    range in a Local Zone abroad; the other range files are the demo's of 2026."""
    if not DEMO.is_file():
        pytest.skip(f"no demo capture at {DEMO}")
    tmp = tmp_path_factory.mktemp("decade")
    paths = []
    for i, when in enumerate(DECADE):  # a seed each: other ports, so no flow spans two files
        shift = int(when.timestamp()) * 10**9 - make_demo.START_NS
        path = tmp / f"archive-{when:%Y-%m-%d}.pcapng"
        packets = make_demo.story(random.Random(make_demo.SEED + i)).ordered()
        moved = [p._replace(ts_ns=p.ts_ns + shift) for p in packets]
        path.write_bytes(pcapng_file(moved, make_demo.INTERFACES))
        paths.append(str(path))
    aws = json.loads((ROOT / "pcaps" / "demo-world" / "demo-aws-ip-ranges.json").read_text())
    aws |= {"syncToken": "1451606400", "createDate": "2016-01-01-00-00-00"}
    for p in aws["prefixes"]:
        if p["ip_prefix"] == ZONE[0]:
            p["region"], p["network_border_group"] = ZONE[1], ZONE[2]
    (tmp / "aws-2016.json").write_text(json.dumps(aws, indent=2))
    store = Store(tmp / "home")
    for path in [tmp / "aws-2016.json", *(p for p in range_files() if "aws" not in p.name)]:
        store.add(read_bytes(str(path)), str(path), IMPORTED)
    policy = load_policy(str(POLICY))
    dating = of_captures(paths)
    chosen = store.in_force(dating.chosen_for)
    result = analyze(paths, policy, store, chosen)
    return build(result, policy, Options(), dating=dating)
