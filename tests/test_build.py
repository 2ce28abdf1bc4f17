"""The compiled core as installed: every kernel setup.py lists is imported as an extension module
built from its current source (an editable install must never run a stale copy), and the whole
chain runs in a process that may not make memory executable, as the systemd unit demands."""

from __future__ import annotations

import ctypes
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESIDENCY = Path(sys.executable).with_name("residency")
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1


def kernels() -> list[str]:
    text = (ROOT / "setup.py").read_text()
    block = text[text.index("KERNELS = (") : text.index(")", text.index("KERNELS = ("))]
    return re.findall(r'"(agent/[a-z_/]+)\.py"', block)


def test_every_kernel_is_compiled_from_its_current_source() -> None:
    names = kernels()
    assert len(names) == 18
    for path in names:
        module = importlib.import_module(path.replace("/", "."))
        built = Path(str(module.__file__))
        assert built.suffix == ".so", f"{path} is not compiled: {built}"
        sources = [ROOT / f"{path}.py", *(ROOT / "agent").rglob("*.pxd")]
        newest = max(p.stat().st_mtime for p in sources)
        assert built.stat().st_mtime >= newest, f"{built.name} is older than its sources"


def test_no_module_of_the_package_needs_a_jit() -> None:
    metadata = importlib.import_module("importlib.metadata")
    requires = metadata.requires("residency") or []
    runtime = [r for r in requires if "extra ==" not in r]
    assert not [r for r in runtime if re.match(r"(numba|llvmlite|dpkt)\b", r)]
    assert "MemoryDenyWriteExecute=yes" in (ROOT / "deploy/residency.service").read_text()


def _refuse_exec_gain() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE)")


def test_flows_run_where_memory_cannot_become_executable(pcaps: Path) -> None:
    """PR_SET_MDWE is what MemoryDenyWriteExecute=yes sets: a JIT fails under it, we must not."""
    capture = str(pcaps / "zeek_get.pcap")
    plain = subprocess.run([str(RESIDENCY), "flows", "--json", capture], capture_output=True)
    try:
        guarded = subprocess.run(
            [str(RESIDENCY), "flows", "--json", capture],
            capture_output=True,
            preexec_fn=_refuse_exec_gain,
        )
    except subprocess.SubprocessError as err:
        pytest.skip(f"this kernel has no PR_SET_MDWE: {err}")
    assert plain.returncode == guarded.returncode == 0, guarded.stderr
    assert guarded.stdout == plain.stdout
    assert b'"dport": 80' in guarded.stdout
    filtered = subprocess.run(  # libpcap compiles the filter through ctypes: no JIT either
        [str(RESIDENCY), "flows", "--json", "--filter", "tcp port 80", capture],
        capture_output=True, preexec_fn=_refuse_exec_gain,
    )  # fmt: skip
    assert filtered.returncode == 0 and filtered.stdout == plain.stdout, filtered.stderr


def test_version_is_answered_before_the_commands_load() -> None:
    from click.testing import CliRunner

    from agent.cli import main

    fast = subprocess.run([str(RESIDENCY), "--version"], capture_output=True, text=True)
    assert fast.returncode == 0
    assert fast.stdout == CliRunner().invoke(main, ["--version"]).stdout
    probe = "import sys, agent.launch; sys.argv[1:] = ['--version']; agent.launch.main(); "
    probe += "print(sorted(m for m in ('numpy', 'click', 'agent.cli') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.stdout.splitlines()[-1] == "[]"
