import dataclasses

import pytest

from agent.errors import CorruptCapture, CorruptRecords
from agent.records import Action, Counts, CoverageGap, FlowRecord, Gap, Where


def record(**kw: object) -> FlowRecord:
    base: dict[str, object] = dict(
        source="aws-vpc", vantage="eni-1", proto=6, src="10.0.0.1", sport=40000,
        dst="192.0.2.7", dport=443, first_ns=1_000_000_000, last_ns=61_000_000_000,
        packets=3, bytes=180,
    )  # fmt: skip
    return FlowRecord(**(base | kw))  # type: ignore[arg-type]


def test_a_record_is_the_flow_it_describes_with_unknown_frames() -> None:
    flow = record(packets_rev=2, bytes_rev=120, tcp_flags=0x12).as_flow(serial=7)
    assert (flow.src, flow.sport, flow.dst, flow.dport, flow.proto) == (
        "10.0.0.1", 40000, "192.0.2.7", 443, 6,
    )  # fmt: skip
    assert (flow.packets_fwd, flow.bytes_fwd, flow.packets_rev, flow.bytes_rev) == (3, 180, 2, 120)
    assert (flow.frame_bytes_fwd, flow.frame_bytes_rev, flow.depth) == (0, 0, 0)
    assert (flow.tcp_flags_fwd, flow.end, flow.serial) == (0x12, "record", 7)


def test_defaults_say_exact_unknown_action_one_direction() -> None:
    r = record()
    assert (r.counts, r.sampling, r.action, r.bidirectional) == (
        Counts.EXACT, 1, Action.UNKNOWN, False,
    )  # fmt: skip
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.bytes = 0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("where", "text"),
    [(Where(line=3), "line 3"), (Where(offset=96), "offset 96"),
     (Where(line=1, item=2), "line 1 item 2")],
)  # fmt: skip
def test_where_names_the_place(where: Where, text: str) -> None:
    assert str(where) == text


def test_a_gap_counts_seconds_not_traffic() -> None:
    gap = CoverageGap(
        source="aws-vpc", vantage="eni-1", start_ns=1431280876 * 10**9,
        end_ns=1431280934 * 10**9, gap=Gap.NODATA,
    )  # fmt: skip
    assert gap.seconds == 58.0


def test_a_damaged_record_file_keeps_what_came_before() -> None:
    err = CorruptRecords("a.log", "line 2", "13 values for 14 fields")
    assert isinstance(err, CorruptCapture) and err.exit_code == 5
    assert str(err) == "a.log: line 2: 13 values for 14 fields"
