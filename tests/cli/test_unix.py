"""The command behaves like a Unix tool: Ctrl-C and a closed pipe end it with the shell's exit
codes and no traceback; `watch` takes its ranges from $RESIDENCY_HOME like every command, and
will not judge with an empty store."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path

from click.testing import CliRunner

from agent.cli import main
from agent.cli.base import CLOSED_PIPE, INTERRUPTED

RESIDENCY = Path(sys.executable).with_name("residency")
ROOT = Path(__file__).resolve().parents[2]
PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def udp_records(n: int) -> bytes:
    """n one-packet UDP flows (distinct source ports), as pcap records."""
    out = bytearray()
    for i in range(n):
        udp = struct.pack(">HHHH", 1024 + i, 53, 8, 0)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0,
                         bytes([10, 0, 0, 1]), bytes([192, 0, 2, 1]))  # fmt: skip
        frame = bytes(12) + b"\x08\x00" + ip + udp
        out += struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)) + frame
    return bytes(out)


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    capture = tmp_path / "many.pcap"
    capture.write_bytes(PCAP_HEADER + udp_records(5000))  # far more text than a pipe holds
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
        proc.stdin.write(PCAP_HEADER + udp_records(20_000))  # ~1.5 MB: returns once read
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
