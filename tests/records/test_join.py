import dataclasses
from pathlib import Path

import yaml

from agent.records import Counts, FlowRecord, aws, aws_text
from agent.records.join import join_records
from tests.records.helpers import flows, read


def beats(flowlogs: Path, case: str) -> list[FlowRecord]:
    doc = yaml.safe_load(
        (flowlogs / "aws-vpc" / "elastic-beats__aws-vpc-flow-logs.yml").read_text()
    )
    lines = [s.split("#")[0].encode() for s in doc[case]["samples"]]
    return flows(list(aws_text.parse_aws_lines(lines, case, aws.parse_format(doc[case]["format"]))))


def test_both_directions_and_later_windows_are_one_flow(flowlogs: Path) -> None:
    joined = join_records(beats(flowlogs, "tcp-flag-sequence"))
    got = [(f.sport, f.dport, f.packets_fwd, f.bytes_fwd, f.packets_rev, f.bytes_rev,
            f.tcp_flags_fwd, f.tcp_flags_rev) for f in joined.flows]  # fmt: skip
    assert got == [
        (43416, 5001, 8, 568, 7, 376, 2, 18),
        (43418, 5001, 70 + 15774, 100701 + 23294588, 12 + 1219, 632 + 63388, 3, 19),
        (43638, 5001, 17, 1260, 14, 967, 3, 19),
    ]  # fmt: skip
    assert (joined.records, joined.merged_directions, joined.merged_duplicates) == (8, 5, 0)
    f = joined.flows[1]
    assert (f.src, f.dst, f.first_ns, f.last_ns, f.end) == (
        "52.213.180.42", "10.0.0.62", 1566848875 * 10**9, 1566849113 * 10**9, "record",
    )  # fmt: skip


def test_the_same_connection_at_both_ends_is_counted_once(flowlogs: Path) -> None:
    """The records of one interface, as a second interface would log them too."""
    one = beats(flowlogs, "tcp-flag-sequence")
    other = [dataclasses.replace(r, vantage="eni-0other") for r in one]
    joined = join_records(one + other)
    assert len(joined.flows) == 3 and joined.merged_duplicates == 8
    assert {o for o in joined.origins} == {("aws-vpc", "eni-1235b8ca123456789")}
    (share_a, share_b) = joined.shares
    assert (share_a.records, share_a.flows, share_a.bytes) == (8, 3, 23_462_480)
    assert (share_b.vantage, share_b.records, share_b.flows, share_b.bytes) == (
        "eni-0other",
        8,
        0,
        0,
    )


def test_reject_stays_apart_from_accept(flowlogs: Path) -> None:
    joined = join_records(
        read(flowlogs / "aws-vpc" / "elastic-integrations__test-extra-samples.log")
    )
    ends = [(f.proto, f.src, f.dst, f.end, f.bytes_fwd, f.bytes_rev) for f in joined.flows]
    assert ends == [
        (6, "78.24.182.42", "158.109.0.1", "record", 4249, 0),
        (6, "78.24.182.42", "158.109.0.1", "rejected", 4249, 0),
        (1, "203.0.113.12", "172.31.16.139", "record", 336, 0),
        (1, "172.31.16.139", "203.0.113.12", "rejected", 336, 0),
        (6, "2001:db8:1234:a100:8d6e:3477:df66:f105", "2001:db8:1234:a102:3304:8879:34cf:4071",
         "record", 8855, 0),
    ]  # fmt: skip
    assert joined.rejected == 2
    assert dict(joined.gaps) == {
        ("aws-vpc", "eni-1235b8ca123456789", "nodata"): 58,
        ("aws-vpc", "eni-11111111aaaaaaaaa", "skipdata"): 58,
    }


def test_azure_begin_and_end_tuples_are_one_flow(flowlogs: Path) -> None:
    path = flowlogs / "azure-vnet" / "elastic-integrations__sample_logs_testdata.json"
    joined = join_records(read(path))
    assert (len(joined.flows), joined.merged_directions, joined.rejected) == (14, 5, 9)
    cloudflare = [f for f in joined.flows if f.dst == "104.16.218.84"]
    assert [(f.packets_fwd, f.bytes_fwd, f.packets_rev, f.bytes_rev) for f in cloudflare] == [
        (22, 2217, 33, 32466)
    ]
    assert cloudflare[0].last_ns - cloudflare[0].first_ns == 5_450_000_000


def test_sampled_counts_are_marked(flowlogs: Path) -> None:
    joined = join_records(
        read(flowlogs / "gcp-vpc" / "otel-contrib__vpc-flow-log-google-service.json")
    )
    assert joined.estimated == [True]
    assert joined.shares[0].counts is Counts.ESTIMATED


def test_the_initiator_is_found_by_syn_then_ports_whichever_record_came_first(
    flowlogs: Path,
) -> None:
    records = beats(flowlogs, "tcp-flag-sequence")
    server_first = join_records(records[::-1])
    assert sorted((f.src, f.sport, f.dport, f.bytes_fwd, f.bytes_rev, f.direction)
                  for f in server_first.flows) == [
        ("52.213.180.42", 43416, 5001, 568, 376, "syn"),
        ("52.213.180.42", 43418, 5001, 23294588 + 100701, 63388 + 632, "syn"),
        ("52.213.180.42", 43638, 5001, 1260, 967, "syn"),
    ]  # fmt: skip
    path = beats(flowlogs, "service-name-path-direction")  # S3's SYN-ACK logged first
    (f,) = join_records(path).flows
    assert (f.src, f.sport, f.dst, f.dport, f.direction) == (
        "10.0.0.71", 34210, "52.95.128.179", 80, "syn",
    )  # fmt: skip
    assert (f.bytes_fwd, f.bytes_rev) == (471, 15044)
    extra = read(flowlogs / "aws-vpc" / "elastic-integrations__test-extra-samples.log")
    assert [f.direction for f in join_records(extra).flows] == [
        "ports", "ports", "first-packet", "first-packet", "ports",
    ]
