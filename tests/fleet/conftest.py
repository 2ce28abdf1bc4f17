from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.report.sign import generate
from tests.fleet.fleet_world import POLICY, store, write_journal

HOSTS = ("web-1", "web-2", "web-3")
SAID = ("30 of 60 in-scope flows approved, 24 violations, 6 unverified flows; 49.9% of in-scope "
        "bytes approved; on 6 of 6 host-days (3 hosts)\n")
"""What `fleet report` says of the three hosts' sealed journals, by the default policy."""


@dataclass(frozen=True)
class Fleet:
    home: Path
    root: Path

    def run(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        env = {"RESIDENCY_HOME": str(self.home), **(env or {})}
        result = CliRunner().invoke(main, list(args), env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception)  # fmt: skip
        return result.exit_code, result.stdout, result.stderr

    def journal(self, host: str) -> Path:
        return self.root / f"{host}.sqlite"

    def key(self, host: str) -> Path:
        return self.root / "keys" / host

    @property
    def keys(self) -> Path:
        return self.root / "keys" / "fleet.keys"

    def seal(self, lake: str, host: str, *extra: str, env: dict[str, str] | None = None) -> str:
        journal, key = str(self.journal(host)), str(self.key(host))
        code, out, err = self.run("lake", "seal", "--journal", journal, "--lake", lake, "--key",
                                  key, *extra, env=env)  # fmt: skip
        assert code == 0, err
        return out

    def report(self, lake: str, out: Path, *extra: str, env: dict[str, str] | None = None,
               policy: Path = POLICY) -> tuple[int, str, str]:  # fmt: skip
        return self.run("fleet", "report", lake, "--policy", str(policy), "--host-keys",
                        str(self.keys), "--out", str(out), *extra, env=env)  # fmt: skip


@pytest.fixture(scope="session")
def fleet_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("fleet-home")
    store(home)
    return home


@pytest.fixture
def fleet(fleet_home: Path, tmp_path: Path) -> Fleet:
    (tmp_path / "keys").mkdir()
    lines = []
    for n, host in enumerate(HOSTS):
        write_journal(tmp_path / f"{host}.sqlite", host, n)
        private, public = generate(host)
        (tmp_path / "keys" / host).write_bytes(private)
        lines.append(public)
    (tmp_path / "keys" / "fleet.keys").write_bytes(b"".join(lines))
    return Fleet(fleet_home, tmp_path)


def load(path: Path) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(path.read_bytes())
    return data


RECORD_SETS = {
    "clouds": ("aws-vpc/elastic-integrations__test-tcp-flag-sequence.log",
               "oci-vcn/CarlDownsOracle-oci-splunk-observability__README_example_logging_event.json",
               "gcp-vpc/otel-contrib__vpc-flow-log-google-service.json"),
    "taps": ("zeek-conn/elastic-integrations__test-conn.json.log",
             "azure-vnet/elastic-integrations__sample_logs_testdata.json",
             "netflow-ipfix/akvorado__netflow__ipfixprobe-templates.pcap",
             "netflow-ipfix/akvorado__netflow__ipfixprobe-data.pcap",
             "netflow-ipfix/akvorado__sflow__data-1140.pcap"),
}  # fmt: skip
"""Two record sources' hosts, each a set of the shared samples read together: three clouds'
flow logs (GCP's sampled), and a tap's Zeek conn.log with an Azure VNet log and IPFIX and sFlow
export captures (sFlow sampled)."""


@dataclass(frozen=True)
class RecordLake(Fleet):
    """Flow record files sealed as hosts `clouds` and `taps` of one lake."""

    @property
    def lake(self) -> str:
        return str(self.root / "lake")

    @property
    def policy(self) -> Path:
        return self.root / "policy.yaml"

    def files(self, host: str) -> list[str]:
        from tests.truth import FLOWLOGS

        return [str(FLOWLOGS / f) for f in RECORD_SETS[host]]

    def seal_records(self, host: str, *extra: str) -> tuple[int, str, str]:
        return self.run("lake", "seal", *self.files(host), "--host", host, "--lake", self.lake,
                        "--key", str(self.key(host)), *extra)  # fmt: skip


@pytest.fixture
def record_lake(tmp_path: Path) -> RecordLake:
    from agent.intel.store import Store, read_bytes
    from tests.records.helpers import POLICY
    from tests.truth import FLOWLOGS, SHARED

    if not (SHARED / "ranges").is_dir() or not FLOWLOGS.is_dir():
        pytest.skip(f"needs the shared flow logs and range files in {SHARED} (CI has them)")
    root = tmp_path / "records"
    home = root / "home"
    store = Store(home)
    for name in ("aws-ip-ranges.json", "gcp-cloud.json", "oci-public_ip_ranges.json"):
        path = SHARED / "ranges" / name
        store.add(read_bytes(str(path)), str(path), datetime(2026, 3, 1, tzinfo=UTC))
    (root / "keys").mkdir()
    lines = []
    for host in RECORD_SETS:
        private, public = generate(host)
        (root / "keys" / host).write_bytes(private)
        lines.append(public)
    (root / "keys" / "fleet.keys").write_bytes(b"".join(lines))
    (root / "policy.yaml").write_text(POLICY)
    return RecordLake(home, root)
