"""Benchmark `residency flows` against a plain dpkt loop, tshark and tcpdump on one generated
capture.

Why this shape: a user waits for the whole process, so each tool is timed as a child process
(wall clock, interpreter start included) and its CPU time and peak RSS are read from wait4's
rusage; on a shared machine the CPU time moves less than the wall clock. residency runs
--repeat times with names and as many without (`--no-names`), alternating, and the medians are
quoted; the references run --ref-repeat times (tshark is slow). residency also runs on a
capture half the size, to show how its memory grows with the capture. Captures come from
gen_capture.py into bench/out/ (gitignored).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
OUT = BENCH / "out"
FORMATS = ("pcap", "pcapng")


@dataclass
class Result:
    tool: str
    fmt: str
    packets: int
    seconds: list[float]
    rss_mb: float
    flows: int | None = None
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def run(cmd: list[str], stdout: IO[bytes] | int = subprocess.DEVNULL) -> tuple[float, float]:
    """Run `cmd` to completion; (wall seconds, peak RSS MB of the child). Fails loudly."""
    seconds, rss, _ = run_cpu(cmd, stdout)
    return seconds, rss


def run_cpu(
    cmd: list[str], stdout: IO[bytes] | int = subprocess.DEVNULL
) -> tuple[float, float, float]:
    """`run`, and the child's CPU seconds (user + system)."""
    seconds, usage = child(cmd, stdout)
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # RSS in KiB


def child(
    cmd: list[str], stdout: IO[bytes] | int = subprocess.DEVNULL,
    env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,),
) -> tuple[float, os.struct_rusage]:  # fmt: skip
    """Run `cmd` to completion; (wall seconds, the child's rusage). Fails loudly on an exit
    status not in `ok`."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=err, cwd=ROOT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in ok:
            err.seek(0)
            tail = err.read()[-2000:].decode(errors="replace")
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{tail}")
    return seconds, usage


def run_output(cmd: list[str]) -> tuple[float, float, str]:
    """Like `run`, keeping stdout (to a temp file, so a full pipe cannot stall the child)."""
    with tempfile.TemporaryFile() as out:
        seconds, rss = run(cmd, out)
        out.seek(0)
        return seconds, rss, out.read().decode(errors="replace")


def residency_cmd() -> list[str] | None:
    """The residency entry point, if `residency flows` exists yet."""
    exe = ROOT / ".venv" / "bin" / "residency"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "agent"]
    probe = subprocess.run([*cmd, "flows", "--help"], cwd=ROOT, capture_output=True)
    return cmd if probe.returncode == 0 else None


def capture(packets: int, regenerate: bool) -> dict[str, Path]:
    paths = {fmt: OUT / f"bench-{packets}.{fmt}" for fmt in FORMATS}
    if regenerate or not all(p.exists() for p in paths.values()):
        seconds, _ = run(
            [
                sys.executable,
                str(BENCH / "gen_capture.py"),
                "--packets",
                str(packets),
                "--out",
                str(OUT),
            ]
        )
        print(f"generated {packets:,} packets in {seconds:.1f} s", flush=True)
    return paths


def count_flows(text: str) -> int:
    """Flows in `residency flows --json` output: JSON Lines, one flow per line."""
    return sum(line.startswith("{") for line in text.splitlines())


def time_tool(tool: str, fmt: str, packets: int, cmd: list[str], repeat: int) -> Result:
    return time_tools([(tool, cmd)], fmt, packets, repeat)[0]


def time_tools(
    tools: list[tuple[str, list[str]]], fmt: str, packets: int, repeat: int
) -> list[Result]:
    """Each tool `repeat` times, the tools taking turns, so a change in the machine's load
    falls on all of them alike."""
    results = [Result(tool, fmt, packets, [], 0.0) for tool, _ in tools]
    for _ in range(repeat):
        for (tool, cmd), r in zip(tools, results, strict=True):
            if tool.startswith("residency") or tool == "tcpdump":
                seconds, rss, cpu = run_cpu(cmd)
            else:
                with tempfile.TemporaryFile() as out:
                    seconds, rss, cpu = run_cpu(cmd, out)
                    out.seek(0)
                    r.flows = parse_reference(tool, out.read().decode(errors="replace"))
            r.seconds.append(seconds)
            r.cpu.append(cpu)
            r.rss_mb = max(r.rss_mb, rss)
            print(f"  {tool:18} {fmt:6} {seconds:8.2f} s {cpu:6.2f} s CPU {rss:6.0f} MB",
                  flush=True)  # fmt: skip
    return results


def parse_reference(tool: str, text: str) -> int | None:
    if tool == "dpkt":
        return int(text.split()[1]) if text.startswith("flows ") else None
    return sum("<->" in line for line in text.splitlines())  # tshark: TCP + UDP only


def compile_bytecode() -> None:
    """Write the package's bytecode, as an install does: where the environment forbids writing
    it (PYTHONDONTWRITEBYTECODE), every run would otherwise compile the package anew."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "agent"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def table(results: list[Result]) -> str:
    base = {r.fmt: r.median for r in results if r.tool == "residency"}
    head = ("tool", "format", "packets", "median s", "CPU s", "packets/s", "peak RSS MB",
            "x residency", "flows")  # fmt: skip
    rows = [head]
    for r in results:
        ratio = f"{r.median / base[r.fmt]:.2f}" if r.fmt in base else "n/a"
        rows.append(
            (
                r.tool,
                r.fmt,
                f"{r.packets:,}",
                f"{r.median:.2f}",
                f"{statistics.median(r.cpu):.2f}" if r.cpu else "",
                f"{r.packets / r.median:,.0f}",
                f"{r.rss_mb:.0f}",
                ratio,
                "" if r.flows is None else f"{r.flows:,}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            c.rjust(w) if i > 1 else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def memory(residency: list[str], packets: int, rss_full: float, half: dict[str, Path]) -> None:
    """Peak RSS at half and full size: by default, and with flows ended after 30 s idle.

    By default every flow stays in the table until the end of the file, so memory follows the
    number of flows (which doubles with the capture here); with an idle timeout it should not.
    """
    sizes = f"{packets // 2:,} / {packets:,} packets (pcap)"
    rss_half = run([*residency, "flows", "--json", str(half["pcap"])])[1]
    print(f"residency peak RSS at {sizes}: {rss_half:.0f} / {rss_full:.0f} MB")
    usage = subprocess.run([*residency, "flows", "--help"], cwd=ROOT, capture_output=True)
    if b"--idle-timeout" not in usage.stdout:
        return
    idle = [
        run([*residency, "flows", "--json", "--idle-timeout", "30", str(path)])[1]
        for path in (half["pcap"], OUT / f"bench-{packets}.pcap")
    ]
    print(f"  with --idle-timeout 30: {idle[0]:.0f} / {idle[1]:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=5, help="runs of residency per format")
    ap.add_argument("--ref-repeat", type=int, default=1, help="runs of dpkt and tshark")
    ap.add_argument("--skip-tshark", action="store_true")
    ap.add_argument("--skip-dpkt", action="store_true")
    ap.add_argument("--skip-tcpdump", action="store_true")
    ap.add_argument("--regenerate", action="store_true", help="rewrite the captures first")
    args = ap.parse_args()

    paths = capture(args.packets, args.regenerate)
    compile_bytecode()
    residency = residency_cmd()
    tshark, tcpdump = shutil.which("tshark"), shutil.which("tcpdump")
    results: list[Result] = []
    for fmt, path in paths.items():
        size = path.stat().st_size / 1e6
        print(f"{path.relative_to(ROOT)}: {size:,.0f} MB", flush=True)
        if residency:
            cmd = [*residency, "flows", "--json", str(path)]
            pair = [("residency", cmd), ("residency --no-names", [*cmd, "--no-names"])]
            results += time_tools(pair, fmt, args.packets, args.repeat)
            results[-2].flows = count_flows(run_output(cmd)[2])
        if not args.skip_dpkt:
            cmd = [sys.executable, str(BENCH / "dpkt_flows.py"), str(path)]
            results.append(time_tool("dpkt", fmt, args.packets, cmd, args.ref_repeat))
        if tshark and not args.skip_tshark:
            cmd = [tshark, "-q", "-n", "-r", str(path), "-z", "conv,tcp", "-z", "conv,udp"]
            results.append(time_tool("tshark", fmt, args.packets, cmd, args.ref_repeat))
        if tcpdump and not args.skip_tcpdump:  # reading and writing records: a floor
            cmd = [tcpdump, "-r", str(path), "-w", "/dev/null"]
            results.append(time_tool("tcpdump", fmt, args.packets, cmd, args.ref_repeat))

    print()
    print(table(results))
    print(
        "flows: residency and dpkt count every IP flow; tshark's conv,tcp + conv,udp count "
        "only TCP and UDP conversations."
    )
    if residency is None:
        print("residency: `residency flows` is not available yet; only references measured.")
        return
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) at the end")
    full = next(r for r in results if r.tool == "residency" and r.fmt == "pcap")
    memory(residency, args.packets, full.rss_mb, capture(args.packets // 2, args.regenerate))


if __name__ == "__main__":
    main()
