"""Flow record files judged like captures: `analyze`, `flows` and `report make` on the real
samples, with the real provider range files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.cli.base import utcnow
from agent.findings.headline import ESTIMATED
from agent.intel.store import Store, read_bytes
from agent.report.chromium import find_chromium, headless
from agent.report.sign import generate
from tests.records.helpers import POLICY
from tests.report.pages import Page
from tests.truth import FLOWLOGS, SHARED

AWS = FLOWLOGS / "aws-vpc" / "elastic-integrations__test-tcp-flag-sequence.log"
OCI = (
    FLOWLOGS
    / "oci-vcn"
    / "CarlDownsOracle-oci-splunk-observability__README_example_logging_event.json"
)
GCP = FLOWLOGS / "gcp-vpc" / "otel-contrib__vpc-flow-log-google-service.json"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SHARED / "ranges").is_dir() or not FLOWLOGS.is_dir():
        pytest.skip(f"needs the shared flow logs and range files in {SHARED} (CI has them)")
    root = tmp_path_factory.mktemp("home")
    store = Store(root)
    for name in ("aws-ip-ranges.json", "gcp-cloud.json", "oci-public_ip_ranges.json"):
        path = SHARED / "ranges" / name
        store.add(read_bytes(str(path)), str(path), utcnow())
    (root / "policy.yaml").write_text(POLICY)
    return root


def run(home: Path, *args: str) -> tuple[int, str, str]:
    got = CliRunner().invoke(main, [*args], env={"RESIDENCY_HOME": str(home)})
    return got.exit_code, got.stdout, got.stderr


def test_analyze_judges_flow_logs_with_the_same_policy_and_ranges(home: Path) -> None:
    code, out, _ = run(home, "analyze", "--json", "--policy", str(home / "policy.yaml"),
                       str(AWS), str(OCI), str(GCP))  # fmt: skip
    doc = json.loads(out)
    assert code == 1 and doc["headline"]["estimated_counts"] is True
    assert [(v["address"], v["provider"], v["region"], v["bytes"]) for v in doc["violations"]] == [
        ("147.154.1.1", "oci", "us-ashburn-1", 4132),
        ("52.213.180.42", "aws", "eu-west-1", 568),
    ]
    assert [(u["address"], u["bytes"]) for u in doc["unverified"]] == [("142.251.183.95", 38144)]
    assert doc["direction"]["by"]["local-networks"] == {"flows": 3, "bytes": 42844}
    i = doc["inputs"]
    assert [(s["source"], s["vantage"], s["counts"], s["flows"], s["bytes"], s["share"]["bytes"])
            for s in i["sources"]] == [
        ("aws-vpc", "eni-1235b8ca123456789", "exact", 1, 568, 0.013257),
        ("gcp-vpc", "elastic-logstash/us-central1-f/andrewvc-flowfixtures-vm-2qhb", "estimated",
         1, 38144, 0.890300),
        ("oci-vcn", "ocid1.vnic.oc1.phx...", "exact", 1, 4132, 0.096443),
    ]  # fmt: skip
    assert [f["kind"] for f in i["record_files"]] == ["aws-text", "oci-vcn", "gcp-vpc"]
    assert i["coverage_gaps"] == [
        {"source": "aws-vpc", "vantage": "eni-1235b8ca123456789", "gap": "nodata", "seconds": 58},
        {"source": "aws-vpc", "vantage": "eni-1235b8ca123456789", "gap": "skipdata", "seconds": 58},
    ]
    assert i["ranges_chosen"]["period_start"] == "1566848875.000000000"  # the first record
    code, text, _ = run(home, "analyze", "--policy", str(home / "policy.yaml"), str(GCP))
    assert "rests on sampled flow records" in text.splitlines()[0]


def test_captures_and_flow_logs_together_each_with_its_share(home: Path, pcaps: Path) -> None:
    code, out, _ = run(home, "analyze", "--json", "--policy", str(home / "policy.yaml"),
                       str(pcaps / "zeek_get.pcap"), str(AWS))  # fmt: skip
    sources = json.loads(out)["inputs"]["sources"]
    assert [(s["source"], s["vantage"], s["flows"], s["bytes"]) for s in sources] == [
        ("aws-vpc", "eni-1235b8ca123456789", 1, 568),
        ("capture", "zeek_get.pcap", 1, 5891),
    ]


def test_flows_lists_joined_records_and_a_damaged_line_is_exit_5(home: Path) -> None:
    code, out, err = run(home, "flows", "--json", str(AWS))
    (flow,) = [json.loads(x) for x in out.splitlines()]
    assert (code, flow["src"], flow["bytes_fwd"], flow["end"]) == (
        0,
        "52.213.180.42",
        568,
        "record",
    )
    assert "aws-text, 1 records, 2 coverage gaps, 1 flows" in err
    bad = FLOWLOGS / "aws-vpc" / "otel-contrib__NEGATIVE_vpc_flow_log_too_few_fields.log"
    code, _, err = run(home, "flows", str(bad))
    assert code == 5 and err.strip().splitlines()[-1] == (
        f"error: {bad}: line 2: too few values: 13 for the format's 14 fields "
        "(version account-id interface-id ...)"
    )


def test_a_report_shows_each_sources_share(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code, _, _ = run(home, "report", "make", str(AWS), str(GCP), "--policy",
                     str(home / "policy.yaml"), "--out", str(out), "-q")  # fmt: skip
    r = json.loads(out.read_text())["report"]
    assert code == 0 and r["headline"]["estimated_counts"] is True
    assert [(s["source"], s["counts"], s["share"]["bytes"]) for s in r["coverage"]["sources"]] == [
        ("aws-vpc", "exact", 0.014672), ("gcp-vpc", "estimated", 0.985328),
    ]  # fmt: skip
    page = tmp_path / "r.html"
    run(home, "report", "make", str(AWS), str(GCP), "--policy", str(home / "policy.yaml"),
        "--out", str(page), "-q")  # fmt: skip
    html = page.read_text()
    assert "<h3>Sources of the evidence</h3>" in html and "98.5%" in html


def test_report_verify_reruns_a_report_made_from_flow_logs(home: Path, tmp_path: Path) -> None:
    """The record files are found again by content (sha256) and judged again the same way."""
    private, public = generate("auditor")
    (tmp_path / "k").write_bytes(private)
    (tmp_path / "k.pub").write_bytes(public)
    out = tmp_path / "r.json"
    code, _, _ = run(home, "report", "make", str(AWS), str(GCP), "--policy",
                     str(home / "policy.yaml"), "--out", str(out), "--sign", str(tmp_path / "k"),
                     "-q")  # fmt: skip
    assert code == 0
    code, said, err = run(home, "report", "verify", str(out), "--key", str(tmp_path / "k.pub"),
                          "--inputs", str(FLOWLOGS), str(home))  # fmt: skip
    assert code == 0, err


EVERYWHERE = """\
version: 1
scope:
  include:
    - local: [0.0.0.0/0, "::/0"]
approve:
  - name: aws-us
    provider: aws
    regions: [us-east-1]
"""


def test_analyze_reads_captures_of_export_datagrams_as_flow_records(home: Path) -> None:
    """IPFIX templates and data in two captures (one collector: the data decodes) and an sFlow
    capture; each found by content; sFlow's sampled counts make the headline estimated."""
    samples = SHARED / "flowlogs" / "netflow-ipfix"
    policy = home / "everywhere.yaml"
    policy.write_text(EVERYWHERE)
    ipfix = [samples / f"akvorado__netflow__ipfixprobe-{n}.pcap" for n in ("templates", "data")]
    sflow = samples / "akvorado__sflow__data-1140.pcap"
    code, out, _ = run(home, "analyze", "--json", "--policy", str(policy),
                       *map(str, ipfix), str(sflow))  # fmt: skip
    doc = json.loads(out)
    assert [f["kind"] for f in doc["inputs"]["record_files"]] == ["exports"] * 3
    (ipfix_share,) = [s for s in doc["inputs"]["sources"] if s["source"] == "ipfix"]
    assert (ipfix_share["counts"], ipfix_share["records"], ipfix_share["flows"]) == (
        "exact", 4, 4)  # fmt: skip
    sflow_shares = [(s["vantage"], s["counts"], s["records"], s["flows"], s["in_scope"]["bytes"])
                    for s in doc["inputs"]["sources"] if s["source"] == "sflow"]  # fmt: skip
    # tshark: five samples at 1 in 1024; three of one SSH connection, two on interface 28
    # (one flow, 2 x 1024 x 1500 bytes) and one on 27: the same connection at a second
    # vantage point, counted once
    assert sorted(sflow_shares) == [
        ("172.16.0.3/0.25", "estimated", 1, 1, 1024 * 421),
        ("172.16.0.3/0.27", "estimated", 1, 0, 0),
        ("172.16.0.3/0.28", "estimated", 3, 2, 2 * 1024 * 1500 + 1024 * 40),
    ]
    assert doc["inputs"]["records_merged"] == {"directions": 1, "duplicates": 1}
    assert doc["headline"]["estimated_counts"] is True and code in (0, 1)



@pytest.fixture
def mixed_page(home: Path, pcaps: Path, tmp_path: Path) -> Path:
    """The report page of a capture and a sampled flow log together."""
    page = tmp_path / "r.html"
    code, said, err = run(home, "report", "make", str(pcaps / "zeek_get.pcap"), str(GCP),
                          "--policy", str(home / "policy.yaml"), "--out", str(page))  # fmt: skip
    assert code == 0 and said.strip().endswith(ESTIMATED), err
    return page


def test_a_report_of_a_capture_and_a_sampled_log_gives_each_its_share(mixed_page: Path) -> None:
    """The page's sources table has the capture beside the flow log, with their shares of the
    bytes, and its headline says part of the answer rests on sampled counts."""
    html = mixed_page.read_text()
    assert Page(html).rows["sources"] == 2
    table = html[html.index("<h3>Sources of the evidence</h3>"):].split("</table>", 1)[0]
    assert [cell for cell in ("capture", "zeek_get.pcap", "5,891", "13.4%", "gcp-vpc",
                              "estimated", "38,144", "86.6%") if cell not in table] == []
    headline = html[html.index('id="headline"'):].split("</section>", 1)[0]
    assert '<p class="sampled"><b>Estimated:</b> Part of it rests on sampled flow' in headline


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed; CI has it")
def test_the_mixed_page_renders_the_shares_and_the_estimate(mixed_page: Path,
                                                              tmp_path: Path) -> None:  # fmt: skip
    chromium = find_chromium()
    assert chromium is not None
    done = headless(chromium, tmp_path, ["--enable-logging=stderr", "--v=0", "--dump-dom",
                                         mixed_page.as_uri()])  # fmt: skip
    console = [x for x in done.stderr.decode(errors="replace").splitlines() if ":CONSOLE" in x]
    assert done.returncode == 0 and console == []
    dom = Page(done.stdout.decode())
    assert dom.rows["sources"] == 2 and 'data-js="ready"' in done.stdout.decode()
    assert ("p", {"class": "sampled"}) in dom.tags
