"""`residency policy check`: every mistake of a file in one run, in file order, the file's own
and those only the stored range data shows, each with the closest right name."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.cli.base import utcnow
from agent.intel.store import read_bytes
from tests.support import real_store
from tests.truth import SHARED

ROOT = Path(__file__).resolve().parents[2]
BROKEN = """\
version: 1
scope:
  include:
    - name: clients
      local: 10.20.0.0/24
      protocol: tcp
approve:
  - name: oracle-us
    provider: oci
    regions: [us-ashburn1]
  - name: oracle-again
    provider: oci
    regions: [us-ashburn1]
  - name: aws-zone
    provider: aws
    border_groups: [us-east-1-bos-1x]
  - name: operator
    sites: [operator-virgina]
    countries: [XX, UK, Germany]
exceptions:
  - name: backup
    reason: phased out
    sites: [operator-singapore]
    since: 2027-07-01
    until: 2027-06-30
  - name: backup-again
    reason: a second window of the same exemption is not a repeat
    sites: [operator-singapore]
    until: 2027-08-30
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SHARED / "ranges").is_dir():
        pytest.skip(f"needs the shared range files in {SHARED}")
    root = tmp_path_factory.mktemp("home")
    store = real_store(root, ("aws-ip-ranges.json", "oci-public_ip_ranges.json"), geo=False)
    sites = ROOT / "rules" / "sites.yaml"
    store.add(read_bytes(str(sites)), str(sites), utcnow())
    return root


def check(home: Path, *files: str) -> tuple[int, list[str], str]:
    run = CliRunner().invoke(main, ["policy", "check", *files], env={"RESIDENCY_HOME": str(home)})
    return run.exit_code, run.stdout.splitlines(), run.stderr


def test_every_mistake_in_one_run(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    code, lines, err = check(home, str(path))
    unknown = "in no stored range file and no region table (did you mean 'us-ashburn-1'?)"
    assert lines == [f"{path}:{line}" for line in [
        "6:7: error: unknown key 'protocol' (did you mean 'protocols'?)",
        f"10:15: error: unknown oci region 'us-ashburn1': {unknown}",
        "11:5: warning: rule 'oracle-again' selects the same as rule 'oracle-us' "
        "(broken.yaml:8): one of them is redundant",
        f"13:15: error: unknown oci region 'us-ashburn1': {unknown}",
        "16:21: error: border group 'us-east-1-bos-1x' is in no stored range file (did you mean "
        "'us-east-1-bos-1'?)",
        "18:13: error: site 'operator-virgina' is in no stored sites file (did you mean "
        "'operator-virginia'?)",
        "19:17: error: country must be an ISO 3166-1 alpha-2 code like US, not 'XX'",
        "19:21: error: country must be an ISO 3166-1 alpha-2 code like US, not 'UK' (did you "
        "mean 'GB', United Kingdom?)",
        "19:25: error: country must be an ISO 3166-1 alpha-2 code like US, not 'Germany' (did "
        "you mean 'DE', Germany?)",
        "24:12: error: exception 'backup' starts on 2027-07-01, after its `until` (2027-06-30): "
        "it would exempt nothing",
    ]]  # fmt: skip
    assert code == 8 and err == f"error: {path}: 9 errors found\n"


def test_the_fixed_file_passes_with_its_warning(home: Path, tmp_path: Path) -> None:
    fixed = (BROKEN.replace("protocol:", "protocols:").replace("us-ashburn1", "us-ashburn-1")
             .replace("-bos-1x", "-bos-1").replace("virgina", "virginia")
             .replace("[XX, UK, Germany]", "[US]")
             .replace("since: 2027-07-01", "since: 2027-06-01"))
    path = tmp_path / "fixed.yaml"
    path.write_text(fixed)
    code, lines, _ = check(home, str(path))
    assert code == 0 and lines == [
        f"{path}:11:5: warning: rule 'oracle-again' selects the same as rule 'oracle-us' "
        "(fixed.yaml:8): one of them is redundant",
        f"{path}: read: 1 scope, 0 exclusion, 4 approval and 2 exception rules",
    ]  # fmt: skip
    quiet = CliRunner().invoke(main, ["--quiet", "policy", "check", str(path)],
                               env={"RESIDENCY_HOME": str(home)})  # fmt: skip
    assert quiet.exit_code == 0 and "warning" not in quiet.stdout


def test_the_shipped_policy_passes(home: Path) -> None:
    code, lines, _ = check(home, str(ROOT / "rules" / "policy.yaml"))
    assert code == 0 and lines[-1].endswith("read: 1 scope, 2 exclusion, 2 approval and 1 "
                                            "exception rules; access: 1 protected service, 1 "
                                            "allow and 0 exception rules")  # fmt: skip
