"""The traffic's time picks the range versions: for each source, the newest published on or before
the period's start, else the oldest after it (flagged); the document and the report state each
version's date and its distance from the period, either way. Real captures (their truth files'
first_ts) and the providers' real files, with older and newer versions derived from them by
rewriting the provider's own version and date tokens and one prefix."""

from __future__ import annotations

import io
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.chain.period import of_captures
from agent.cli import main
from agent.model import seconds
from tests.truth import SHARED

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "rules" / "policy.yaml"
"""The default policy, its scope widened to every local address (`home / "policy.yaml"`), so
these real captures' flows are in scope (else the answer is "nothing in scope", exit 12)."""
PCAPS = SHARED / "pcaps"
RANGES = SHARED / "ranges"
JDK = "zeek_openjdk-25.0.2-zeek.org.pcap"  # first_ts 2026-04-15T08:52:08.835142Z
MULTI = "zeek_pcapng-multi-interface.pcapng"  # 2026-01-06T01:31:29.500330493Z
IPV6 = "tcpdump_LINKTYPE_IPV6.pcap"  # 2025-07-08T17:59:26.204450Z

AWS_NOW = "syncToken=1787411825"  # the shared file: createDate 2026-08-22-15-17-05
AWS_JAN = "syncToken=1767225600"  # derived: 2026-01-01-00-00-00
OCI_NOW = "last_updated_timestamp=2025-07-31T18:18:01.103975"  # the shared file
OCI_MAR = "last_updated_timestamp=2026-03-01T00:00:00.000000"  # derived


def run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"RESIDENCY_HOME": str(home)})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def derived_aws(out: Path) -> Path:
    doc = json.loads((RANGES / "aws-ip-ranges.json").read_text())
    doc["syncToken"], doc["createDate"] = "1767225600", "2026-01-01-00-00-00"
    for p in doc["prefixes"]:
        if p["ip_prefix"] == "3.80.0.0/12":
            p["region"] = p["network_border_group"] = "us-west-2"
    path = out / "aws-2026-01.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def derived_oci(out: Path) -> Path:
    doc = json.loads((RANGES / "oci-public_ip_ranges.json").read_text())
    doc["last_updated_timestamp"] = "2026-03-01T00:00:00.000000"
    doc["regions"][0]["cidrs"] = doc["regions"][0]["cidrs"][1:]  # one prefix fewer
    path = out / "oci-2026-03.json"
    path.write_text(json.dumps(doc, indent=4))
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (PCAPS.is_dir() and RANGES.is_dir()):
        pytest.skip(f"the shared captures and range files are not in {SHARED}")
    files = tmp_path_factory.mktemp("versions")
    home = tmp_path_factory.mktemp("home")
    code, said, err = run(home, "ranges", "import", str(RANGES / "aws-ip-ranges.json"),
                          str(derived_aws(files)), str(RANGES / "oci-public_ip_ranges.json"),
                          str(derived_oci(files)))  # fmt: skip
    assert code == 0 and said.count(" stored") == 4, err
    text = POLICY.read_text().replace("local: [10.20.0.0/24, 2001:db8:20::/64]", 'local: "::/0"')
    (home / "policy.yaml").write_text(text)
    return home


def policy(home: Path) -> str:
    return str(home / "policy.yaml")


def analysis(home: Path, *args: str) -> tuple[dict[str, Any], str]:
    code, out, err = run(home, "analyze", *args, "--policy", policy(home), "--json")
    assert code in (0, 1), err
    doc: dict[str, Any] = json.loads(out)
    return doc, err


def versions(doc: dict[str, Any]) -> dict[str, tuple[str, int | None, int | None, bool, bool]]:
    """slot -> (version, days before the period, days after it, later than it, stale)."""
    return {r["slot"]: (r["version"], r["days_before_period"], r["days_after_period"],
                        r["later_than_traffic"], r["stale"]) for r in doc["inputs"]["ranges"]}


def test_the_start_is_the_earliest_first_timestamp_of_the_captures() -> None:
    truth = {n: json.loads((PCAPS / f"{n}.truth.json").read_text())["first_ts"]
             for n in (JDK, IPV6)}  # fmt: skip
    dating = of_captures([str(PCAPS / JDK), str(PCAPS / IPV6)])
    assert dating.start_ns is not None and seconds(dating.start_ns) == truth[IPV6]
    assert seconds(of_captures([str(PCAPS / JDK)]).start_ns or 0) == truth[JDK]
    assert of_captures([str(PCAPS / "tcpdump_empty.pcap")]).start_ns is None


def test_the_newest_version_published_by_the_traffic_is_used(home: Path) -> None:
    doc, err = analysis(home, str(PCAPS / JDK))
    assert versions(doc) == {"aws": (AWS_JAN, 104, None, False, True),
                             "oci": (OCI_MAR, 45, None, False, True)}  # fmt: skip
    assert doc["inputs"]["ranges_chosen"] == {
        "period_start": "1776243128.835142000", "start_from": "first packet",
        "chosen_for": "1776243128.835142000", "chosen_by": "period start"}  # fmt: skip
    [aws] = [r for r in doc["inputs"]["ranges"] if r["slot"] == "aws"]
    assert aws["published"] == "2026-01-01T00:00:00.000000Z"
    assert doc["range_notices"] == [
        f"aws data ({AWS_JAN}, published 2026-01-01) is 104 days older than the traffic, which "
        "began 2026-04-15; import a version published nearer to it",
        f"oci data ({OCI_MAR}, published 2026-03-01) is 45 days older than the traffic, which "
        "began 2026-04-15; import a version published nearer to it",
    ]
    assert err.splitlines() == [f"warning: {n}" for n in doc["range_notices"]]
    near, _ = analysis(home, str(PCAPS / MULTI))
    assert versions(near) == {"aws": (AWS_JAN, 5, None, False, False),
                              "oci": (OCI_NOW, 158, None, False, True)}  # fmt: skip


def test_traffic_older_than_every_version_gets_the_oldest_flagged(home: Path) -> None:
    doc, err = analysis(home, str(PCAPS / JDK), str(PCAPS / IPV6))  # starts with the older
    assert versions(doc) == {"aws": (AWS_JAN, None, 176, True, False),
                             "oci": (OCI_NOW, None, 23, True, False)}  # fmt: skip
    assert doc["inputs"]["ranges_chosen"]["period_start"] == "1751997566.204450000"
    assert doc["range_notices"][1] == (
        f"oci data ({OCI_NOW}, published 2025-07-31) is 23 days later than the traffic, which "
        "began 2025-07-08: it may place addresses where they were not then"
    )
    assert "warning: aws data" in err
    quiet, err = analysis(home, str(PCAPS / IPV6), "--quiet")
    assert err == "" and quiet["range_notices"] == doc["range_notices"]
    code, _, err = run(home, "--quiet", "analyze", str(PCAPS / IPV6), "--policy", policy(home))
    assert code in (0, 1) and err == ""


def test_as_of_overrides_the_choice_not_the_measure(home: Path) -> None:
    doc, _ = analysis(home, str(PCAPS / JDK), "--as-of", "2026-09-01")
    assert versions(doc) == {"aws": (AWS_NOW, None, 129, True, False),
                             "oci": (OCI_MAR, 45, None, False, True)}  # fmt: skip
    assert doc["inputs"]["ranges_chosen"] == {
        "period_start": "1776243128.835142000", "start_from": "first packet",
        "chosen_for": "1788220800.000000000", "chosen_by": "as-of"}  # fmt: skip


def test_the_report_carries_the_dates_and_notices(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    code, _, err = run(home, "report", str(PCAPS / IPV6), "--policy", policy(home), "--out",
                       str(out))  # fmt: skip
    assert code == 0 and err.count("warning: ") == 2
    page = out.read_text()
    assert "Range data not of the traffic's time:" in page
    assert "2025-07-31T18:18:01.103975Z</td><td>published 23 days AFTER the traffic</td>" in page
    code, _, err = run(home, "report", str(PCAPS / IPV6), "--policy", policy(home), "--out",
                       str(tmp_path / "r.json"), "-q")  # fmt: skip
    report = json.loads((tmp_path / "r.json").read_bytes())["report"]
    assert code == 0 and err == "" and len(report["range_notices"]) == 2
    assert versions(report) == {"aws": (AWS_JAN, None, 176, True, False),
                                "oci": (OCI_NOW, None, 23, True, False)}  # fmt: skip


def test_lookup_warns_once_and_quiet_silences_it(home: Path) -> None:
    code, out, err = run(home, "lookup", "3.80.0.20", "129.213.8.10", "8.8.8.8", "--as-of",
                         "2026-12-01")  # fmt: skip
    assert code == 0 and len(out.splitlines()) == 3
    assert err.splitlines() == [
        f"warning: range data older than 30 days at 2026-12-01: aws {AWS_NOW} (100 days), "
        f"oci {OCI_MAR} (275 days); run `residency ranges update` or import newer files"
    ]
    for args in (["--quiet", "lookup"], ["lookup", "-q"]):
        code, _, err = run(home, *args, "3.80.0.20", "--as-of", "2026-12-01")
        assert code == 0 and err == ""


def test_standard_input_is_not_read_to_date_the_traffic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`analyze -` refuses standard input (its hash must be known): dating the traffic must not
    consume it first, nor wait on a terminal."""
    stdin = io.BufferedReader(io.BytesIO((PCAPS / JDK).read_bytes()))  # type: ignore[arg-type]
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=stdin))
    assert of_captures(["-", str(PCAPS / IPV6)]).start_ns == 1751997566204450000
    assert stdin.tell() == 0
