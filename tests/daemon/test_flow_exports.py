"""Real exports: Debian's softflowd reads captures from ../shared/pcaps and sends NetFlow v5,
v9 and IPFIX to residency's collector socket; the flows' IP bytes and packets, direction by
direction, must equal residency's own analysis of the same capture. Then the daemon, with a
`flow_exports` socket, judges what softflowd sends into its journal."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from agent.capture import open_capture
from agent.chain.pipeline import FlowPipeline, flows_from
from agent.cli.base import utcnow
from agent.daemon.config import load_config
from agent.daemon.exports import ExportSocket
from agent.errors import ConfigError
from agent.intel.store import Store, read_bytes
from agent.records import Counts, FlowRecord
from tests.support import PATIENCE, ended, until_ready
from tests.truth import PCAPS, SHARED

needs_softflowd = pytest.mark.skipif(not shutil.which("softflowd"), reason="needs softflowd")
needs_nfdump = pytest.mark.skipif(not shutil.which("nfcapd") or not shutil.which("nfdump"),
                                  reason="needs nfdump")  # fmt: skip
NFDUMP_PROTO = {"ICMP": 1, "IGMP": 2, "TCP": 6, "UDP": 17, "ICMP6": 58}
Key = tuple[int, str, int, str, int]


def softflowd(capture: Path, port: int, version: str, tmp: Path, *more: str) -> None:
    """Run softflowd over a capture until it exits. softflowd 1.1.0 reading a file blocks in
    accept() on its control socket before each read loop, so the test connects to it (no
    command) until the process is gone; at the end of the file it exports every flow."""
    ctl = tmp / f"softflowd-{version}.ctl"
    argv = ["softflowd", "-d", "-r", str(capture), "-n", f"127.0.0.1:{port}", "-v", version,
            "-A", "milli", "-p", str(tmp / "softflowd.pid"), "-c", str(ctl), *more]  # fmt: skip
    deadline = time.monotonic() + PATIENCE
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("softflowd did not finish the capture")
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as c:
                c.connect(str(ctl))
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0.01)
        err = proc.stderr.read() if proc.stderr else b""
    assert proc.returncode == 0, err


def exported(capture: Path, version: str, tmp: Path,
             *more: str) -> tuple[list[FlowRecord], ExportSocket]:  # fmt: skip
    collector = ExportSocket("udp://127.0.0.1:0")
    try:
        softflowd(capture, int(collector.name.rsplit(":", 1)[1]), version, tmp, *more)
        records: list[FlowRecord] = []
        while got := collector.receive(0):  # softflowd has exited: all it sent is queued
            records += got
        return records, collector
    finally:
        collector.close()


def by_direction(records: list[FlowRecord]) -> Counter[tuple[Key, str]]:
    out: Counter[tuple[Key, str]] = Counter()
    for r in records:
        out[(r.proto, r.src, r.sport, r.dst, r.dport), "packets"] += r.packets
        out[(r.proto, r.src, r.sport, r.dst, r.dport), "bytes"] += r.bytes
    return out


def residency(capture: Path) -> Counter[tuple[Key, str]]:
    """residency's own flows of the capture (the outer ones: softflowd does not look into
    tunnels), split into their two directions."""
    out: Counter[tuple[Key, str]] = Counter()
    pipe = FlowPipeline(names=False)
    with open_capture(str(capture)) as source:
        for batch in flows_from(source, pipe):
            for f in batch.records():
                if f.depth == 0:
                    fwd, rev = (f.proto, f.src, f.sport, f.dst, f.dport), (
                        f.proto, f.dst, f.dport, f.src, f.sport)  # fmt: skip
                    out[fwd, "packets"] += f.packets_fwd
                    out[fwd, "bytes"] += f.bytes_fwd
                    out[rev, "packets"] += f.packets_rev
                    out[rev, "bytes"] += f.bytes_rev
    return +out


def totals(c: Counter[tuple[Key, str]]) -> tuple[int, int]:
    return (sum(v for (_, what), v in c.items() if what == "packets"),
            sum(v for (_, what), v in c.items() if what == "bytes"))  # fmt: skip


EXACT = {"cs_http_espn.pcapng": (956, 638_797), "suri_vxlan-decoder-03__vxlan.pcap": (100, 24_648),
         "cs_dns.pcap": (7, 1_008)}  # fmt: skip
"""IP packets and bytes of the outer IPv4 headers, from tshark (`-T fields -e ip.len`)."""


@needs_softflowd
@pytest.mark.parametrize("version", ["10", "9", "5"])
@pytest.mark.parametrize("name", EXACT)
def test_softflowd_exports_equal_residencys_own_flows(name: str, version: str,
                                                      tmp_path: Path) -> None:  # fmt: skip
    capture = PCAPS / name
    if not capture.exists():
        pytest.skip(f"needs {capture}")
    records, collector = exported(capture, version, tmp_path)
    assert records and collector.collector.stats.skipped == {}
    source = {"10": "ipfix", "9": "netflow-v9", "5": "netflow-v5"}[version]
    assert {r.source for r in records} == {source} and {r.sampling for r in records} == {1}
    theirs, ours = by_direction(records), residency(capture)
    assert theirs == ours
    assert totals(ours) == EXACT[name]


@needs_softflowd
@pytest.mark.parametrize("version", ["10", "9", "5"])
def test_softflowd_sampling_is_applied_and_marked_estimated(version: str, tmp_path: Path) -> None:
    """`softflowd -s 10` keeps the 1st, 11th, 21st ... packet of cs_http_espn.pcapng and says
    so (v5: the header's sampling interval; v9 and IPFIX: an options record). tshark on those
    frames (`frame.number % 10 == 1`): 96 packets, 69,166 IP bytes, so 960 and 691,660 once
    scaled, against the exact 956 and 638,797."""
    capture = PCAPS / "cs_http_espn.pcapng"
    if not capture.exists():
        pytest.skip(f"needs {capture}")
    records, _ = exported(capture, version, tmp_path, "-s", "10")
    assert {(r.sampling, r.counts) for r in records} == {(10, Counts.ESTIMATED)}
    assert totals(by_direction(records)) == (960, 691_660)


@needs_softflowd
def test_softflowd_counts_ethernet_padding_as_ip_bytes(tmp_path: Path) -> None:
    """Where softflowd and residency differ, on rpp_wireshark_samples-test.pcapng: 86 frames
    padded to Ethernet's 60-byte minimum (tshark `eth.padding`: 84 IGMP packets of IP length
    32 from 192.168.152.1 to 224.0.0.1, and 2 TCP packets of 40 from 184.24.97.9:80) are
    counted by softflowd as 46 bytes each, the frame after its Ethernet header with the
    padding, and by residency as their IP length. nfdump, decoding the same IPFIX export
    through nfcapd, reads the same as residency's collector: 4,088 packets, 793,769 bytes,
    IGMP 84 packets 3,864 bytes, that TCP direction 2 packets 92 bytes. Every other direction
    of every flow is equal."""
    capture = PCAPS / "rpp_wireshark_samples-test.pcapng"
    if not capture.exists():
        pytest.skip(f"needs {capture}")
    records, _ = exported(capture, "10", tmp_path)
    theirs, ours = by_direction(records), residency(capture)
    assert totals(theirs) == (4_088, 793_769)
    assert totals(ours) == (4_088, 793_769 - 84 * (46 - 32) - 2 * (46 - 40))
    igmp, tcp = (2, "192.168.152.1", 0, "224.0.0.1", 0), (6, "184.24.97.9", 80,
                                                           "192.168.152.101", 41096)  # fmt: skip
    differ = {k: (ours[k], theirs[k]) for k in ours.keys() | theirs.keys() if ours[k] != theirs[k]}
    assert differ == {(igmp, "bytes"): (84 * 32, 84 * 46), (tcp, "bytes"): (2 * 40, 2 * 46)}


def queued(port: int) -> int | None:
    """Bytes waiting in the socket bound to UDP 127.0.0.1:`port` (the kernel's own table);
    None while nothing is bound there."""
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        f = line.split()
        if f[1] == f"0100007F:{port:04X}":
            return int(f[4].split(":")[1], 16)
    return None


def nfdump(capture: Path, tmp: Path) -> Counter[tuple[Key, str]]:
    """softflowd's IPFIX export of `capture`, collected by nfcapd and printed by nfdump."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = tmp / "nfcapd"
    store.mkdir()
    argv = ["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", str(store), "-t", "3600"]
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as nfcapd:
        deadline = time.monotonic() + PATIENCE
        softflowd_ran = False
        while queued(port) != 0 or not softflowd_ran:
            assert nfcapd.poll() is None and time.monotonic() < deadline, "nfcapd is stuck"
            if not softflowd_ran and queued(port) == 0:  # listening, and nothing sent yet
                softflowd(capture, port, "10", tmp)
                softflowd_ran = True
                continue
            with contextlib.suppress(subprocess.TimeoutExpired):
                nfcapd.wait(0.01)
        nfcapd.terminate()  # everything sent was read; it writes its file when told to stop
        assert ended(nfcapd) == 0
    out = subprocess.run(["nfdump", "-R", str(store), "-q", "-o", "csv"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    flows: Counter[tuple[Key, str]] = Counter()
    for line in out.splitlines():
        f = line.split(",")
        proto = NFDUMP_PROTO[f[7]]
        ports = (int(f[5]), int(f[6])) if proto in (6, 17) else (0, 0)
        key = (proto, f[3], ports[0], f[4], ports[1])
        flows[key, "packets"] += int(f[11])
        flows[key, "bytes"] += int(f[12])
    return flows


@needs_softflowd
@needs_nfdump
def test_nfdump_reads_softflowds_export_as_residencys_collector_does(tmp_path: Path) -> None:
    """The second decoder, where softflowd and residency's analysis differ: nfdump and
    residency's collector read the same numbers from softflowd's export, direction by
    direction, so the difference above is softflowd's counting, not the decoding."""
    capture = PCAPS / "rpp_wireshark_samples-test.pcapng"
    if not capture.exists():
        pytest.skip(f"needs {capture}")
    records, _ = exported(capture, "10", tmp_path)
    theirs = nfdump(capture, tmp_path)
    assert totals(theirs) == (4_088, 793_769)
    assert theirs == by_direction(records)


@pytest.mark.parametrize(("item", "line"), [("tcp://127.0.0.1:2055", 3), ("udp://here:2055", 3),
                                            ("udp://127.0.0.1:70000", 3)])  # fmt: skip
def test_flow_exports_setting_names_the_bad_item_and_its_line(
    tmp_path: Path, item: str, line: int
) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(f"policy: p.yaml\nflow_exports:\n  - {item}\n  - udp://[::1]:2055\n")
    where = rf"agent.yaml:{line}:5: flow_exports: '{re.escape(item)}'"
    with pytest.raises(ConfigError, match=where):
        load_config(str(config))
    config.write_text("policy: p.yaml\nflow_exports: [udp://127.0.0.1:2055, 'udp://[::1]:0']\n")
    assert load_config(str(config)).flow_exports == ("udp://127.0.0.1:2055", "udp://[::1]:0")


OCI_FILE = SHARED / "ranges" / "oci-public_ip_ranges.json"
RESIDENCY = Path(sys.executable).with_name("residency")
ROOT = Path(__file__).resolve().parents[2]


@needs_softflowd
def test_daemon_judges_softflowds_exports_into_its_journal(tmp_path: Path) -> None:
    """The real daemon with only a flow_exports socket (the kernel picks its port, the
    daemon names it): softflowd's IPFIX export of cs_http_espn.pcapng (78 records, one per
    direction of its 39 flows) is judged and journaled, every packet and byte of it."""
    capture = PCAPS / "cs_http_espn.pcapng"
    if not capture.exists() or not OCI_FILE.exists():
        pytest.skip("needs the shared capture and Oracle's range file")
    Store(tmp_path / "home").add(read_bytes(str(OCI_FILE)), OCI_FILE.name, utcnow())
    (tmp_path / "policy.yaml").write_text(
        "version: 1\nscope:\n  include:\n    - name: lan\n      local: [172.16.0.0/12]\n"
        "approve:\n  - name: oracle-us\n    provider: oci\n    regions: [us-ashburn-1]\n"
    )
    config = tmp_path / "agent.yaml"
    config.write_text(json.dumps({
        "policy": str(tmp_path / "policy.yaml"), "data_dir": str(tmp_path / "data"),
        "ranges_home": str(tmp_path / "home"), "metrics": "", "flush_interval": 0.2,
        "heartbeat_interval": 0.5, "flow_exports": ["udp://127.0.0.1:0"],
    }))  # fmt: skip
    ready = tmp_path / "notify.sock"
    env = {**os.environ, "NOTIFY_SOCKET": str(ready), "PYTHONUNBUFFERED": "1",
           "RESIDENCY_HOME": str(tmp_path / "home")}  # fmt: skip
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(ready))
        daemon = subprocess.Popen([str(RESIDENCY), "daemon", "--config", str(config)], env=env,
                                  cwd=ROOT, stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            until_ready(notify, daemon)
            assert daemon.stderr is not None
            said = daemon.stderr.readline()
            port = int(re.fullmatch(r"collecting flow exports on udp://127.0.0.1:(\d+)\n", said)
                       .group(1))  # type: ignore[union-attr]  # fmt: skip
            softflowd(capture, port, "10", tmp_path)
            deadline = time.monotonic() + PATIENCE
            while queued(port):  # the daemon has read every datagram softflowd sent
                assert time.monotonic() < deadline, "the daemon does not read its socket"
                with contextlib.suppress(subprocess.TimeoutExpired):
                    daemon.wait(0.01)
            daemon.send_signal(signal.SIGTERM)  # it judges and journals what it read, then exits
            assert ended(daemon) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
            if daemon.stderr:
                daemon.stderr.close()
    listed = subprocess.run([str(RESIDENCY), "flows", "--journal",
                             str(tmp_path / "data" / "journal.sqlite"), "--json"],
                            capture_output=True, text=True, check=True, cwd=ROOT)  # fmt: skip
    flows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(flows) == 78 and {f["end"] for f in flows} == {"record"}
    # one direction each; the judge may have turned a record to put the local side first
    assert [f["packets_fwd"] * f["packets_rev"] for f in flows] == [0] * 78
    assert sum(f["packets_fwd"] + f["packets_rev"] for f in flows) == EXACT[capture.name][0]
    assert sum(f["bytes_fwd"] + f["bytes_rev"] for f in flows) == EXACT[capture.name][1]
