from pathlib import Path

import pytest
import yaml

from agent.errors import CorruptRecords
from agent.records import Action, Counts, FlowRecord, Gap, Where, aws, aws_text
from tests.records.helpers import flows, gaps, read, tuple5

S = 1_000_000_000


@pytest.fixture
def vpc(flowlogs: Path) -> Path:
    return flowlogs / "aws-vpc"


def test_v2_default_without_header_accept_reject_nodata_skipdata(vpc: Path) -> None:
    items = read(vpc / "elastic-integrations__test-extra-samples.log", "aws-text")
    records = flows(items)
    assert [(tuple5(r), r.packets, r.bytes, r.action) for r in records] == [
        ((6, "2001:db8:1234:a100:8d6e:3477:df66:f105", 34892,
          "2001:db8:1234:a102:3304:8879:34cf:4071", 22), 54, 8855, Action.ACCEPT),
        ((6, "78.24.182.42", 20641, "158.109.0.1", 22), 20, 4249, Action.ACCEPT),
        ((6, "78.24.182.42", 49761, "158.109.0.1", 3389), 20, 4249, Action.REJECT),
        ((1, "203.0.113.12", 0, "172.31.16.139", 0), 4, 336, Action.ACCEPT),
        ((1, "172.31.16.139", 0, "203.0.113.12", 0), 4, 336, Action.REJECT),
    ]  # fmt: skip
    first = records[0]
    assert (first.source, first.vantage, first.counts, first.bidirectional) == (
        "aws-vpc", "eni-1235b8ca123456789", Counts.EXACT, False,
    )  # fmt: skip
    assert (first.first_ns, first.last_ns) == (1477913708 * S, 1477913820 * S)
    assert first.where == Where(line=1, offset=0)
    assert dict(first.fields) == {"version": "2", "account-id": "123456789010"}
    assert [(g.gap, g.vantage, g.seconds, g.where.line) for g in gaps(items)] == [
        (Gap.NODATA, "eni-1235b8ca123456789", 58.0, 2),
        (Gap.SKIPDATA, "eni-11111111aaaaaaaaa", 58.0, 3),
    ]


def test_repeated_header_lines_tcp_flags_and_gaps_with_dashes(vpc: Path) -> None:
    items = read(vpc / "elastic-integrations__test-tcp-flag-sequence.log", "aws-text")
    (record,) = flows(items)
    assert (tuple5(record), record.packets, record.bytes, record.tcp_flags) == (
        (6, "52.213.180.42", 43416, "10.0.0.62", 5001), 8, 568, 2,
    )  # fmt: skip
    assert record.pkt_src == record.pkt_dst == ""  # the same as srcaddr/dstaddr: not kept twice
    assert [(g.gap, g.where.line, g.where.offset) for g in gaps(items)] == [
        (Gap.SKIPDATA, 4, 576), (Gap.NODATA, 6, 918),
    ]  # fmt: skip


def test_header_names_decide_not_positions(vpc: Path) -> None:
    (ecs,) = flows(read(vpc / "otel-contrib__valid_vpc_flow_log_ecs.log"))
    assert (ecs.packets, ecs.bytes, ecs.dport) == (15, 3500, 22)
    assert dict(ecs.fields)["ecs-service-name"] == "my-service"
    (tgw,) = flows(read(vpc / "otel-contrib__valid_tgw_flow_log.log"))
    assert (tgw.source, tgw.vantage, tgw.packets, tgw.bytes, tgw.direction, tgw.tcp_flags) == (
        "aws-tgw", "tgw-attach-0abc12345def67890", 10, 1000, "ingress", 2,
    )  # fmt: skip
    assert dict(tgw.fields)["packets-lost-ttl-expired"] == "4"
    multi = flows(read(vpc / "otel-contrib__valid_vpc_flow_log_multi.log"))  # no final newline
    assert [(r.sport, r.action) for r in multi] == [(20641, Action.ACCEPT), (49761, Action.REJECT)]


@pytest.mark.parametrize(
    ("name", "line", "reason"),
    [("otel-contrib__NEGATIVE_vpc_flow_log_too_few_fields.log", 2, "too few values: 13"),
     ("otel-contrib__NEGATIVE_vpc_flow_log_too_many_fields.log", 2, "too many values: 15")],
)  # fmt: skip
def test_too_few_or_too_many_values_is_an_error_at_its_line(
    vpc: Path, name: str, line: int, reason: str
) -> None:
    with pytest.raises(CorruptRecords) as caught:
        read(vpc / name)
    assert caught.value.where == f"line {line}"
    assert str(caught.value) == (
        f"{vpc / name}: line {line}: {reason} for the format's 14 fields "
        "(version account-id interface-id ...)"
    )


def test_a_headerless_custom_layout_needs_its_format(vpc: Path) -> None:
    path = vpc / "elastic-integrations__test-v5-all-fields.log"
    with pytest.raises(CorruptRecords, match="line 1: too many values: 29 for the format's 14"):
        read(path)
    beats = yaml.safe_load((vpc / "elastic-beats__aws-vpc-flow-logs.yml").read_text())
    (r,) = flows(read(path, fields=aws.parse_format(beats["v5-fields-original"]["format"])))
    assert (tuple5(r), r.packets, r.bytes, r.action) == (
        (17, "89.160.20.156", 50041, "10.200.0.0", 33004), 52, 1, Action.REJECT,
    )  # fmt: skip
    assert (r.pkt_dst, r.direction, r.sublocation) == ("10.200.0.80", "ingress", "")
    assert dict(r.fields)["pkt-dst-aws-service"] == "CLOUDFRONT"


def test_every_format_of_the_aws_documentation_examples(vpc: Path) -> None:
    """Each (format string, sample lines) pair the Beats processor is tested on."""
    beats = yaml.safe_load((vpc / "elastic-beats__aws-vpc-flow-logs.yml").read_text())
    got: dict[str, list[FlowRecord]] = {}
    for name, case in beats.items():
        names = aws.parse_format(case["format"])
        lines = [s.split("#")[0].encode() for s in case["samples"]]
        got[name] = flows(list(aws_text.parse_aws_lines(lines, name, names)))
        assert len(got[name]) + sum("DATA" in s for s in case["samples"]) == len(lines)
    nat = got["custom-nat-gateway"]
    assert [(r.src, r.dst, r.pkt_src, r.pkt_dst) for r in nat[:4]] == [
        ("10.0.1.5", "10.0.0.220", "", "203.0.113.5"),
        ("10.0.0.220", "203.0.113.5", "", ""),
        ("203.0.113.5", "10.0.0.220", "", ""),
        ("10.0.0.220", "10.0.1.5", "203.0.113.5", ""),
    ]
    assert got["v5-fields-original"][0].sublocation == "wavelength:fake-id"
    (v6,) = got["v6-fields-original"]
    assert (v6.source, v6.vantage, v6.packets, v6.bytes) == (
        "aws-tgw", "tgw-attach-3e0bbb28e9ac7e3d8", 1, 1600,
    )  # fmt: skip
    path = got["service-name-path-direction"]
    assert [(r.bytes, r.direction, r.tcp_flags) for r in path] == [
        (15044, "ingress", 19), (471, "egress", 3),
    ]  # fmt: skip
    assert sum(r.bytes for r in got["tcp-flag-sequence"]) == 23_462_480


def test_cloudwatch_payloads_and_message_lines(vpc: Path) -> None:
    records = flows(read(vpc / "otel-contrib__valid_vpc_flow_cw.json", "aws-cloudwatch"))
    assert [(r.vantage, r.sport, r.bytes, r.action, str(r.where)) for r in records] == [
        ("eni-1235b8ca123456789", 20641, 4249, Action.ACCEPT, "line 1 item 0"),
        ("eni-1235b8ca123456789", 49761, 4249, Action.REJECT, "line 1 item 1"),
    ]
    (gap,) = gaps(read(vpc / "elastic-integrations__test-with-message-field.log"))
    assert (gap.gap, gap.vantage, gap.seconds) == (Gap.NODATA, "eni-0e0bf7be352692297", 30.0)


def test_a_cloudwatch_custom_format_is_declared(vpc: Path) -> None:
    path = vpc / "otel-contrib__valid_vpc_flow_cw_custom.json"
    with pytest.raises(CorruptRecords, match=r"line 1 item 0: too few values: 4 for the"):
        read(path)
    records = flows(read(path, fields=aws.parse_format("${version} ${interface-id} ${srcaddr} "
                                                       "${dstaddr}")))  # fmt: skip
    assert [(r.vantage, r.src, r.dst, r.bytes) for r in records] == [
        ("eni-1235b8ca123456789", "172.31.16.139", "172.31.16.21", 0),
        ("eni-1235b8ca123456789", "172.31.9.69", "172.31.9.12", 0),
    ]
    tgw_names = (vpc / "otel-contrib__valid_tgw_flow_log.log").read_text().split("\n")[0].split()
    declared = [n for n in tgw_names if not n.startswith("packets-lost")]
    (tgw,) = flows(read(vpc / "otel-contrib__valid_tgw_flow_cw.json", fields=declared))
    assert (tgw.source, tgw.vantage, tgw.bytes, tgw.first_ns) == (
        "aws-tgw", "tgw-attach-0abc12345def67890", 1000, 1700000000 * S,
    )  # fmt: skip


def test_an_unknown_field_in_a_format_is_named() -> None:
    with pytest.raises(ValueError, match="--format: unknown field 'src-addr'"):
        aws.parse_format("version src-addr")
    with pytest.raises(CorruptRecords, match=r"x: line 2: bytes is '12k', not a whole number"):
        list(aws_text.parse_aws_lines([b"srcaddr dstaddr bytes\n", b"1.1.1.1 2.2.2.2 12k\n"], "x"))


def test_columns_keep_every_line_and_offset_through_blank_lines_and_odd_spacing(vpc: Path) -> None:
    """The real records, with CRLF endings, blank lines and doubled spaces put in, then a
    damaged value: the records and gaps before it keep their own lines and byte offsets."""
    lines = (vpc / "elastic-integrations__test-extra-samples.log").read_bytes().splitlines()
    assert len(lines) == 7
    bad = lines[3].replace(b" 20 4249 ", b" 20 42x9 ")
    physical = [lines[0], b"", lines[1].replace(b" ", b"  "), b"   ", *lines[2:], bad, lines[0]]
    data = b"".join(line + b"\r\n" for line in physical)
    offsets = [sum(len(x) + 2 for x in physical[:n]) for n in range(len(physical))]
    got: list[object] = []
    with pytest.raises(CorruptRecords) as caught:
        got.extend(aws_text.parse_aws_text(data, "x.log"))
    assert str(caught.value) == "x.log: line 10: bytes is '42x9', not a whole number"
    records = flows(got)  # type: ignore[arg-type]
    assert [(r.where.line, r.where.offset) for r in records] == [
        (n, offsets[n - 1]) for n in (1, 6, 7, 8, 9)
    ]
    assert [r.bytes for r in records] == [8855, 4249, 4249, 336, 336]
    assert [(g.gap, g.where.line, g.where.offset) for g in gaps(got)] == [  # type: ignore[arg-type]
        (Gap.NODATA, 3, offsets[2]), (Gap.SKIPDATA, 5, offsets[4]),
    ]  # fmt: skip


def test_a_line_of_the_wrong_length_deep_in_a_big_log_is_named(vpc: Path) -> None:
    line = (vpc / "elastic-integrations__test-extra-samples.log").read_bytes().splitlines()[3]
    data = (line + b"\n") * 50_000 + line.rsplit(b" ", 1)[0] + b"\n" + (line + b"\n") * 10
    got: list[object] = []
    with pytest.raises(CorruptRecords, match=r"^x: line 50001: too few values: 13 for the"):
        got.extend(aws_text.parse_aws_text(data, "x"))
    assert sum(len(b) for b in got) == 50_000  # type: ignore[arg-type]
