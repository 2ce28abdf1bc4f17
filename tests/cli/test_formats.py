"""`flows` output formats as tools beside it read them: a Zeek conn.log (TSV and JSON) whose
counts are tshark's, read back by residency's own conn.log reader; times a person reads in the
table and `names`, exact decimal strings in JSON; one format at a time."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.model import Flow, clock
from agent.records.zeek import CONN_FIELDS, conn_state, parse_zeek_json, parse_zeek_tsv
from tests.split import split_capture
from tests.truth import FLOWLOGS, truth

CAPTURES = ["cs_http_espn.pcapng", "zeek_get.pcap", "tcpdump_dns_udp.pcap", "zeek_6in4.pcap"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def tshark_sides(name: str, pcaps: Path) -> dict[Any, list[tuple[int, int]]]:
    """Direction-free key -> (frames, IP bytes) of each side, from tshark's conversations."""
    out: dict[Any, list[tuple[int, int]]] = defaultdict(list)
    for proto, kind in ((6, "tcp"), (17, "udp")):
        for c in truth(pcaps / name)["conversations"][kind]:
            if c["l4_depth"]:
                continue  # conn.log rows carry no tunnel depth; tunnels are compared apart
            a, b = (c["a_addr"], c["a_port"]), (c["b_addr"], c["b_port"])
            sides = {a: (c["frames_a_to_b"], c["ip_bytes_a_to_b"]),
                     b: (c["frames_b_to_a"], c["ip_bytes_b_to_a"])}  # fmt: skip
            lo, hi = sorted((a, b))
            out[(proto, lo, hi)].append((sides[lo], sides[hi]))
    return dict(out)


def zeek_sides(rows: list[Any]) -> dict[Any, list[tuple[int, int]]]:
    out: dict[Any, list[tuple[int, int]]] = defaultdict(list)
    for r in rows:
        a, b = (r.src, r.sport), (r.dst, r.dport)
        sides = {a: (r.packets, r.bytes), b: (r.packets_rev, r.bytes_rev)}
        lo, hi = sorted((a, b))
        out[(r.proto, lo, hi)].append((sides[lo], sides[hi]))
    return dict(out)


@pytest.mark.parametrize("name", CAPTURES)
@pytest.mark.parametrize("form", ["zeek", "zeek-json"])
def test_a_zeek_conn_log_carries_tsharks_counts(pcaps: Path, name: str, form: str) -> None:
    code, out, _ = run("flows", "--format", form, str(pcaps / name))
    assert code == 0
    lines = [line.encode() + b"\n" for line in out.splitlines()]
    rows = list((parse_zeek_json if form == "zeek-json" else parse_zeek_tsv)(lines, name))
    ported = [r for r in rows if r.proto in (6, 17)]
    theirs = tshark_sides(name, pcaps)
    ours = zeek_sides(ported)
    inner = {k for k in ours if k not in theirs}  # flows inside tunnels (depth > 0)
    assert {k: sorted(v) for k, v in ours.items() if k not in inner} == {
        k: sorted(v) for k, v in theirs.items()
    }
    assert all(r.community_id.startswith("1:") for r in rows)
    _, listed, _ = run("flows", "--json", str(pcaps / name))
    named = [f for f in map(json.loads, listed.splitlines()) if f["proto"] in (1, 6, 17, 58, 132)]
    assert len(rows) == len(named)  # GRE, IP-in-IP carriers: no conn.log row, as in Zeek
    assert len({r.fields for r in rows if dict(r.fields).get("uid")}) == len(rows)  # uids differ


def test_the_tsv_header_is_zeeks(pcaps: Path) -> None:
    """The columns are Zeek's own conn.log columns, in Zeek's order: every key of a real Zeek
    JSON conn.log appears, in the same relative order."""
    _, out, _ = run("flows", "--format", "zeek", str(pcaps / "zeek_get.pcap"))
    fields = next(line for line in out.splitlines() if line.startswith("#fields")).split("\t")[1:]
    assert fields == [n for n, _ in CONN_FIELDS]
    sample = FLOWLOGS / "zeek-conn" / "elastic-integrations__test-conn.json.log"
    if not sample.exists():
        pytest.skip(f"needs {sample}")
    real = list(json.loads(sample.read_text().splitlines()[0]))
    assert [f for f in fields if f in real] == [k for k in real if k in fields]
    assert set(real) <= set(fields)


def flow(**kw: Any) -> Flow:
    base: dict[str, Any] = dict(
        proto=6, src="10.0.0.1", sport=40000, dst="192.0.2.1", dport=443, depth=0,
        packets_fwd=3, bytes_fwd=120, frame_bytes_fwd=162, packets_rev=2, bytes_rev=80,
        frame_bytes_rev=108, first_ns=1, last_ns=2, tcp_flags_fwd=0x12, tcp_flags_rev=0x12,
        end="eof",
    )  # fmt: skip
    return Flow(**(base | kw))


@pytest.mark.parametrize(("kw", "state"), [
    ({"tcp_flags_fwd": 0x13, "tcp_flags_rev": 0x13}, "SF"),
    ({}, "S1"),
    ({"tcp_flags_fwd": 0x02, "packets_rev": 0, "tcp_flags_rev": 0}, "S0"),
    ({"tcp_flags_fwd": 0x02, "tcp_flags_rev": 0x14}, "REJ"),
    ({"tcp_flags_fwd": 0x16}, "RSTO"),
    ({"tcp_flags_rev": 0x16}, "RSTR"),
    ({"tcp_flags_fwd": 0x10, "tcp_flags_rev": 0x10}, "OTH"),
    ({"proto": 17, "tcp_flags_fwd": 0, "tcp_flags_rev": 0}, "SF"),
    ({"proto": 17, "packets_rev": 0, "tcp_flags_fwd": 0, "tcp_flags_rev": 0}, "S0"),
])  # fmt: skip
def test_connection_states_as_zeek_names_them(kw: dict[str, Any], state: str) -> None:
    assert conn_state(flow(**kw)) == state


def test_json_times_are_exact_strings(pcaps: Path) -> None:
    code, out, _ = run("flows", "--json", str(pcaps / "tcpdump_tcp-handshake-nano.pcap"))
    assert code == 0
    for line in out.splitlines():
        row = json.loads(line)
        assert isinstance(row["first"], str) and row["first"] == (
            f"{row['first_ns'] // 10**9}.{row['first_ns'] % 10**9:09d}"
        )


def test_the_table_starts_with_a_utc_time_and_names_captures_when_several(
    pcaps: Path, tmp_path: Path
) -> None:
    parts = split_capture(pcaps / "cs_http_espn.pcapng", tmp_path, every=300)
    _, out, _ = run("flows", *map(str, parts))
    head, *rows = out.splitlines()
    assert head.startswith("start (UTC)") and "capture" in head
    first_ns = int(Decimal(truth(pcaps / "cs_http_espn.pcapng")["first_ts"]) * 10**9)
    assert rows[0].startswith(clock(first_ns) + "  ")  # the first packet opens the first flow
    assert all(any(f" {p}  " in row for row in rows) for p in parts)
    _, single, _ = run("flows", str(pcaps / "cs_http_espn.pcapng"))
    assert "capture" not in single.splitlines()[0]


def test_names_shows_utc_times_and_json_the_exact_ones(pcaps: Path) -> None:
    capture = str(pcaps / "zeek_get.pcap")
    _, text, _ = run("names", capture)
    _, lines, _ = run("names", "--json", capture)
    [row] = [json.loads(line) for line in lines.splitlines()]
    [shown] = text.splitlines()
    assert shown.split("  ")[0].endswith("Z") and shown.startswith("20")
    assert row["first"].count(".") == 1 and len(row["first"].split(".")[1]) == 9


def test_two_formats_at_once_is_a_usage_error(pcaps: Path) -> None:
    code, _, err = run("flows", "--json", "--csv", str(pcaps / "zeek_get.pcap"))
    assert code == 2 and "choose one output format, not csv and json" in err
    code, _, err = run("flows", "--csv", "--format", "zeek", str(pcaps / "zeek_get.pcap"))
    assert code == 2 and "not csv and zeek" in err
