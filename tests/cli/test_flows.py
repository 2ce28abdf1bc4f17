"""`residency flows` as users meet it: output formats; bad input as one line and an exit code."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.capture import open_capture
from agent.chain.pipeline import FlowPipeline, flows_from
from agent.cli import main
from agent.cli.listing import json_lines
from tests.support import tcpdump_selected

REQUIRED = {"proto", "src", "sport", "dst", "dport", "packets_fwd", "bytes_fwd", "packets_rev",
            "bytes_rev", "frame_bytes_fwd", "frame_bytes_rev", "first", "last"}  # fmt: skip


def flows(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["flows", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_json_lines_carry_the_documented_fields(pcaps: Path) -> None:
    code, out, err = flows("--json", str(pcaps / "zeek_get.pcap"))
    assert code == 0
    [line] = out.splitlines()
    flow = json.loads(line)
    assert REQUIRED <= set(flow)
    assert (flow["src"], flow["sport"], flow["dst"], flow["dport"]) == (
        "141.142.228.5", 59856, "192.150.187.43", 80,
    )  # fmt: skip
    assert (flow["packets_fwd"], flow["bytes_fwd"], flow["frame_bytes_rev"]) == (7, 512, 5477)
    assert "14 records read, 14 decoded" in err


def test_json_lines_are_the_records_as_dicts(pcaps: Path) -> None:
    """The hand-built JSON lines say exactly what `Flow.as_dict` says."""
    pipe = FlowPipeline()
    with open_capture(str(pcaps / "cs_http_espn.pcapng")) as source:
        [*_, batch] = flows_from(source, pipe)
    lines = json_lines(batch, 'c"{x}').splitlines()
    assert len(lines) == len(batch) == 39
    for line, flow in zip(lines, batch.records(), strict=True):
        assert json.loads(line) == {"capture": 'c"{x}', **flow.as_dict()}


def test_csv_has_one_header_for_several_captures(pcaps: Path) -> None:
    code, out, _ = flows("--csv", str(pcaps / "zeek_get.pcap"), str(pcaps / "cs_dns.pcap"))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 1 + 7
    assert REQUIRED <= set(rows[0])
    assert {r["capture"].rsplit("/", 1)[1] for r in rows} == {"zeek_get.pcap", "cs_dns.pcap"}


def test_table_and_stats(pcaps: Path) -> None:
    code, out, err = flows("--stats", "--json", str(pcaps / "rpp_wireshark_samples-test.pcapng"))
    stats = json.loads(err.splitlines()[-1])["stats"]
    assert code == 0
    assert stats["records"] == 5898 and stats["skipped"] == {"not_ip": 1810}
    code, out, err = flows(str(pcaps / "tcpdump_geneve.pcap"))
    assert code == 0 and "tcp^" in out  # the SSH session inside the tunnel, marked by depth
    code, _, err = flows("--stats", str(pcaps / "zeek_trunc-hdr.pcap"))
    assert "skipped truncated_link_header" in err and "cut by snaplen     1" in err


def test_cut_off_record_warns_with_offset_and_keeps_the_rest(pcaps: Path) -> None:
    code, out, err = flows("--json", str(pcaps / "dpkt_truncated_dns_2.pcap"))
    assert code == 0
    assert len(out.splitlines()) == 1
    [warning] = [line for line in err.splitlines() if line.startswith("warning:")]
    assert "dpkt_truncated_dns_2.pcap: offset 240: last record cut off" in warning


def test_corrupt_record_length_exits_5_after_the_flows_before_it(pcaps: Path) -> None:
    code, out, err = flows(
        "--json", str(pcaps / "suri_bug-1450-04__tls_DER-incomplete-header.pcap")
    )
    assert code == 5
    [flow] = [json.loads(line) for line in out.splitlines()]
    assert flow["packets_fwd"] + flow["packets_rev"] == 6
    assert err.splitlines()[-1] == (
        f"error: {pcaps}/suri_bug-1450-04__tls_DER-incomplete-header.pcap: offset 5035: "
        "record length 4325376 is larger than the snaplen 262144 allows"
    )


@pytest.mark.parametrize(
    "make, code, message",
    [
        (lambda d: d / "missing.pcap", 3, "no such file"),
        (lambda d: d, 3, "is a directory"),
        (lambda d: (d / "empty.pcap", (d / "empty.pcap").write_bytes(b""))[0], 4, "empty file"),
        (lambda d: (d / "t.pcap", (d / "t.pcap").write_bytes(b"\xd4\xc3"))[0], 4, "only 2 bytes"),
        (
            lambda d: (d / "h.pcap", (d / "h.pcap").write_bytes(b"\xd4\xc3\xb2\xa1" + b"\0" * 8))[
                0
            ],
            4,
            "offset 12: file ends inside the pcap file header",
        ),  # fmt: skip
        (lambda d: (d / "x.txt", (d / "x.txt").write_text("hello world"))[0], 4, "unknown magic"),
    ],
)
def test_unusable_inputs(tmp_path: Path, make: object, code: int, message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    got, out, err = flows(str(path))
    assert got == code
    assert out == ""
    [line] = [x for x in err.splitlines() if x.startswith("error:")]
    assert message in line and str(path) in line


def test_bad_magic_from_the_corpus(pcaps: Path) -> None:
    code, _, err = flows(str(pcaps / "rpp_err-eof.bin"))
    assert code == 4
    assert "rpp_err-eof.bin: offset 0: unknown magic 06000000 (not pcap or pcapng, nor a flow " \
        "log)" in err


def test_empty_capture_is_fine(pcaps: Path) -> None:
    code, out, err = flows("--json", str(pcaps / "tcpdump_empty.pcap"))
    assert (code, out) == (0, "")
    assert "0 records read" in err


def test_a_real_process_prints_no_traceback(pcaps: Path, tmp_path: Path) -> None:
    for path, code in ((tmp_path / "nope", 3), (pcaps / "rpp_err-eof.bin", 4)):
        run = subprocess.run(
            [sys.executable, "-m", "agent", "flows", str(path)], capture_output=True, text=True
        )
        assert run.returncode == code
        assert "Traceback" not in run.stderr
        assert run.stderr.count("error:") == 1


def test_standard_input_streams(pcaps: Path) -> None:
    """`-` reads a capture from a pipe, as `tcpdump -w - | residency flows -` would give it."""
    data = (pcaps / "cs_http_espn.pcapng").read_bytes()
    run = subprocess.run(
        [sys.executable, "-m", "agent", "flows", "--json", "-"], input=data, capture_output=True
    )
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.splitlines()) == 39
    assert b"-: 956 records read, 956 decoded" in run.stderr


FILTERED = [
    ("cs_http_espn.pcapng", "tcp port 80"),
    ("rpp_wireshark_samples-test.pcapng", "udp and not port 53"),
    ("zeek_firefox-102.13.0esr-blog-cloudflare-com.pcap", "udp[8] & 0x80 != 0"),
    ("suri_tls-client-hello-frag-01__dump_mtu300.pcap", "tcp[tcpflags] & tcp-push != 0"),
    ("suri_vxlan-decoder-03__vxlan.pcap", "udp port 4789 and greater 150"),
]


@pytest.mark.parametrize(("name", "expr"), FILTERED)
def test_a_filter_lists_the_flows_of_what_tcpdump_selects(
    pcaps: Path, tmp_path: Path, name: str, expr: str
) -> None:
    """`residency flows --filter X F` (a real process) lists the flows that the records
    `tcpdump -r F -w - X` writes give, and counts the rest as not selected."""
    chosen = tcpdump_selected(pcaps / name, expr, tmp_path / "selected.pcap")
    filtered = subprocess.run([sys.executable, "-m", "agent", "flows", "--json", "--stats",
                               "--filter", expr, str(pcaps / name)],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
    code, out, err = flows("--json", "--stats", str(tmp_path / "selected.pcap"))
    assert filtered.returncode == code == 0, filtered.stderr
    ours, theirs = ([json.loads(x) | {"capture": ""} for x in text.splitlines()]
                    for text in (filtered.stdout, out))  # fmt: skip
    assert ours == theirs and ours
    stats = json.loads(filtered.stderr.splitlines()[-1])["stats"]
    assert stats["records"] - stats["not_selected"] == chosen
    assert stats["not_selected"] > 0
    assert json.loads(err.splitlines()[-1])["stats"]["records"] == chosen


def test_a_bad_filter_is_a_usage_error_naming_it(pcaps: Path) -> None:
    code, out, err = flows("--filter", "tcp prot 80", str(pcaps / "zeek_get.pcap"))
    assert code == 2 and out == ""
    assert "bad filter 'tcp prot 80': can't parse filter expression: syntax error" in err
    assert "offset" not in err and "Traceback" not in err


def test_a_filter_for_another_link_type_is_one_error_line(pcaps: Path) -> None:
    code, _, err = flows("--filter", "ether host 00:00:5e:00:53:01",
                         str(pcaps / "tcpdump_LINKTYPE_RAW_ipv4.pcap"))  # fmt: skip
    assert code == 2 and err.count("error:") == 1
    assert "error: bad filter 'ether host 00:00:5e:00:53:01' on raw IP captures: " in err


def test_a_filter_has_nothing_to_select_in_a_journal_or_flow_log(
    pcaps: Path, flowlogs: Path
) -> None:
    code, _, err = flows("--filter", "tcp", "--journal", "j.sqlite")
    assert code == 2 and "--filter selects capture records: the journal j.sqlite holds none" in err
    log = flowlogs / "zeek-conn" / "elastic-integrations__test-conn.json.log"
    code, _, err = flows("--filter", "tcp", str(log))
    assert code == 2 and f"{log} (flows) holds none" in err


def test_names_with_a_filter_are_those_of_the_selected_records(pcaps: Path) -> None:
    capture = str(pcaps / "cs_http_espn.pcapng")
    run = CliRunner().invoke(main, ["names", "--json", capture])
    udp = CliRunner().invoke(main, ["names", "--json", "--filter", "not udp port 53", capture])
    every, chosen = ([json.loads(x) for x in r.stdout.splitlines()] for r in (run, udp))
    assert {b["source"] for b in every} == {"dns", "http"}
    assert {b["source"] for b in chosen} == {"http"}
    assert [b for b in every if b["source"] == "http"] == chosen
    assert " not selected by the filter" in udp.stderr


def test_decode_exports_selects_the_datagrams_first(pcaps: Path, tmp_path: Path) -> None:
    """The records the filter does not select are counted before any is read as an export."""
    capture = pcaps / "cs_http_espn.pcapng"
    total = tcpdump_selected(capture, "", tmp_path / "all.pcap")
    chosen = tcpdump_selected(capture, "udp port 53", tmp_path / "dns.pcap")
    code, _, err = flows("--decode-exports", "--filter", "udp port 53", str(capture))
    assert code == 0
    assert f"skipped: not_export {chosen}, not_selected {total - chosen}" in err
    assert "not_selected" not in flows("--decode-exports", str(capture))[2]
