"""The command behaves like a Unix tool: Ctrl-C and a closed pipe end it with the shell's exit
codes and no traceback; `watch` takes its ranges from $RESIDENCY_HOME like every command, and
will not judge with an empty store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from ipaddress import IPv4Address
from pathlib import Path

from click.testing import CliRunner

from agent.cli import main
from agent.cli.base import CLOSED_PIPE, INTERRUPTED
from pcaps.capfile import SEC, Packet, pcap_file
from pcaps.frames import ETH_IPV4, IPPROTO_UDP, ethernet, ip, udp

RESIDENCY = Path(sys.executable).with_name("residency")
ROOT = Path(__file__).resolve().parents[2]


def udp_capture(n: int) -> bytes:
    """n one-packet UDP flows (distinct source ports), as a pcap file."""
    src, dst = IPv4Address("10.0.0.1"), IPv4Address("192.0.2.1")
    datagrams = [ip(src, dst, IPPROTO_UDP, udp(1024 + i, 53, b"")) for i in range(n)]
    frames = [ethernet(bytes(6), bytes(6), ETH_IPV4, d) for d in datagrams]
    return pcap_file(Packet((1_700_000_000 + i) * SEC, f) for i, f in enumerate(frames))


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    capture = tmp_path / "many.pcap"
    capture.write_bytes(udp_capture(5000))  # far more text than a pipe holds
    proc = subprocess.Popen([str(RESIDENCY), "flows", str(capture)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"start (UTC)")
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=300) == CLOSED_PIPE
    assert err == b""


def test_ctrl_c_exits_130_with_one_line(tmp_path: Path) -> None:
    """The capture comes on standard input and stops coming; once the reader has taken most of
    what was written (so it is running, not starting), SIGINT ends it."""
    proc = subprocess.Popen([str(RESIDENCY), "flows", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)  # fmt: skip
    assert proc.stdin is not None
    written = threading.Event()

    def feed() -> None:
        assert proc.stdin is not None
        proc.stdin.write(udp_capture(20_000))  # ~1.5 MB: returns once read
        proc.stdin.flush()
        written.set()

    threading.Thread(target=feed, daemon=True).start()
    assert written.wait(timeout=300)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == INTERRUPTED
    assert err.decode().strip() == "interrupted"
    assert b"Traceback" not in out + err


def test_watch_refuses_an_empty_ranges_store_and_names_residency_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    policy = ROOT / "rules" / "policy.yaml"
    run = CliRunner().invoke(
        main, ["watch", "--policy", str(policy), "--data-dir", str(tmp_path / "data")],
        env={"RESIDENCY_HOME": str(home)},
    )
    assert run.exit_code == 11, run.output
    [line] = run.stderr.splitlines()
    assert line.startswith(f"error: no range data in {home}: every destination would be")
    assert not (tmp_path / "data" / "journal.sqlite").exists()


def test_the_daemon_refuses_an_empty_ranges_store(tmp_path: Path) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(f"policy: {ROOT / 'rules' / 'policy.yaml'}\n"
                      f"data_dir: {tmp_path / 'data'}\nmetrics: ''\n")  # fmt: skip
    run = CliRunner().invoke(main, ["daemon", "--config", str(config)], env=dict(os.environ))
    assert run.exit_code == 11, run.output
    assert f"no range data in {tmp_path / 'data'}" in run.stderr
