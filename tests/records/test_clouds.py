"""OCI, Google Cloud and Azure flow logs, on the real samples."""

from pathlib import Path

import pytest

from agent.errors import CorruptRecords
from agent.records import Action, Counts, Where
from agent.records.azure import parse_azure_nsg
from agent.records.oci import parse_oci
from tests.records.helpers import flows, read, tuple5

S = 1_000_000_000


def test_oci_vcn_logging_event(flowlogs: Path) -> None:
    path = (
        flowlogs
        / "oci-vcn"
        / "CarlDownsOracle-oci-splunk-observability__README_example_logging_event.json"
    )
    (r,) = flows(read(path, "oci-vcn"))
    assert (tuple5(r), r.packets, r.bytes, r.action) == (
        (6, "10.0.0.1", 60830, "147.154.1.1", 443), 9, 4132, Action.ACCEPT,
    )  # fmt: skip
    assert (r.source, r.vantage, r.counts, r.first_ns, r.last_ns) == (
        "oci-vcn", "ocid1.vnic.oc1.phx...", Counts.EXACT, 1689108090 * S, 1689108091 * S,
    )  # fmt: skip
    assert dict(r.fields)["flowid"] == "75d72a74"


def test_oci_many_events_and_damage_after_them(flowlogs: Path) -> None:
    path = (
        flowlogs
        / "oci-vcn"
        / "CarlDownsOracle-oci-splunk-observability__README_example_logging_event.json"
    )
    one = path.read_bytes().strip()
    got = list(parse_oci(b"[" + one + b",\n" + one + b"]"))
    assert [r.where for r in got] == [Where(line=1), Where(line=one.count(b"\n") + 2)]
    seen = []
    with pytest.raises(CorruptRecords, match=r"x.json: line 72: not JSON: Unterminated string"):
        seen.extend(parse_oci(one + b"\n" + one[:-9], "x.json"))
    assert len(seen) == 1  # what came before the damage is kept


def test_gcp_entries_are_estimates(flowlogs: Path) -> None:
    gcp = flowlogs / "gcp-vpc"
    (svc,) = flows(read(gcp / "otel-contrib__vpc-flow-log-google-service.json", "gcp-vpc"))
    assert (tuple5(svc), svc.packets, svc.bytes, svc.direction) == (
        (6, "10.10.0.3", 57046, "142.251.183.95", 443), 72, 38144, "egress",
    )  # fmt: skip
    assert (svc.counts, svc.sampling, svc.vantage) == (
        Counts.ESTIMATED, 0, "elastic-logstash/us-central1-f/andrewvc-flowfixtures-vm-2qhb",
    )  # fmt: skip
    assert (svc.first_ns, svc.last_ns) == (1762550267862783471, 1762550327883105401)
    assert "service_name=logging.googleapis.com" in dict(svc.fields)["dest_google_service"]
    (dest,) = flows(read(gcp / "otel-contrib__vpc-flow-log-from-computeengine.json"))
    assert (dest.direction, dest.packets, dest.bytes, dest.vantage) == (
        "ingress", 16, 0, "test-project-id/us-central1-a/proxy-crest-new-group-892l",
    )  # fmt: skip
    (icmp,) = flows(read(gcp / "otel-contrib__vpc-flow-log-w-internet-routing-details.json"))
    assert (tuple5(icmp), icmp.packets, icmp.bytes) == (
        (1, "192.0.2.6", 0, "203.0.113.6", 0),
        20,
        800,
    )


def test_azure_nsg_v2_both_directions_and_denies(flowlogs: Path) -> None:
    records = flows(read(flowlogs / "azure-nsg" / "elastic-integrations__sample_logs_testdata.json",
                         "azure-nsg"))  # fmt: skip
    assert len(records) == 11
    denied = [r for r in records if r.action is Action.REJECT]
    assert [(r.src, r.dport, r.direction) for r in denied][:3] == [
        ("94.102.49.190", 443, "ingress"), ("176.119.4.10", 59336, "ingress"),
        ("167.99.86.8", 8088, "ingress"),
    ]  # fmt: skip
    assert len(denied) == 7 and denied[0].proto == 17
    allowed = [(r.dst, r.packets, r.bytes, r.packets_rev, r.bytes_rev, dict(r.fields)["state"])
               for r in records if r.action is Action.ACCEPT]  # fmt: skip
    assert allowed == [
        ("13.67.143.118", 0, 0, 0, 0, "B"), ("13.67.143.117", 1, 66, 1, 66, "E"),
        ("13.67.143.115", 30, 16978, 24, 14008, "C"), ("40.71.12.225", 15, 8489, 12, 7054, "E"),
    ]  # fmt: skip
    r = records[4]
    assert (r.vantage, r.bidirectional, r.first_ns, r.where) == (
        "000D3AF87856", True, 1542110379 * S, Where(line=1, item=4),
    )  # fmt: skip
    assert dict(r.fields)["rule"] == "DefaultRule_AllowInternetOutBound"
    (one,) = flows(read(flowlogs / "azure-nsg" / "elastic-integrations__test-nsg.log"))
    assert (one.src, one.dst, one.bytes, one.bytes_rev) == ("1.128.0.0", "1.128.0.1", 66, 66)


def test_azure_nsg_damaged_tuple_names_its_path() -> None:
    doc = (
        b'{"records":[{"properties":{"Version":2,"flows":[{"rule":"r","flows":[{"mac":"M",'
        b'"flowTuples":["1542110379,10.5.16.4,13.67.143.117,59932,443,T,O,A,E,1,66,1"]}]}]}}]}'
    )
    with pytest.raises(CorruptRecords) as caught:
        list(parse_azure_nsg(doc, "nsg.json"))
    assert str(caught.value) == ("nsg.json: line 1: records[0].properties.flows[0].flows[0]."
                                 "flowTuples[0]: 12 values, a flow tuple has 13")  # fmt: skip


def test_azure_vnet_flow_log(flowlogs: Path) -> None:
    path = flowlogs / "azure-vnet" / "elastic-integrations__sample_logs_testdata.json"
    records = flows(read(path, "azure-vnet"))
    assert len(records) == 19
    assert sum(r.bytes for r in records) == 767 + 705 + 705 + 134 + 2217
    assert sum(r.bytes_rev for r in records) == 1580 + 4569 + 4569 + 108 + 32466
    denied = [r for r in records if r.action is Action.REJECT]
    assert len(denied) == 9 and {r.dst for r in denied} == {"10.0.0.6"}
    end = records[9]
    assert (tuple5(end), end.packets, end.bytes, end.packets_rev, end.bytes_rev) == (
        (6, "10.0.0.6", 36776, "104.16.218.84", 443), 22, 2217, 33, 32466,
    )  # fmt: skip
    assert (end.first_ns, end.vantage, end.direction) == (
        1663146022793 * 10**6,
        "00224871C205",
        "egress",
    )
    assert dict(end.fields)["encryption"] == "NX" and dict(end.fields)["state"] == "E"
