"""`residency keys generate`, `report` and `report verify` as a user runs them, on the demo."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.report.sign import load_private, sign
from tests.report.conftest import DEMO, POLICY, ROOT, Demo


def run(demo: Demo, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"RESIDENCY_HOME": str(demo.home)})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def keys(demo: Demo, tmp_path: Path) -> Path:
    key = tmp_path / "auditor"
    code, out, _ = run(demo, "keys", "generate", str(key))
    assert code == 0 and "public key sha256:" in out
    return key


@pytest.fixture
def here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports name their inputs as given: run from the tree, with relative paths."""
    monkeypatch.chdir(ROOT)


def make(demo: Demo, out: Path, *extra: str) -> tuple[int, str, str]:
    return run(demo, "report", str(DEMO.relative_to(ROOT)), "--policy",
               str(POLICY.relative_to(ROOT)), "--out", str(out), *extra)  # fmt: skip


def test_keys_are_written_once_and_private(demo: Demo, keys: Path) -> None:
    assert keys.stat().st_mode & 0o777 == 0o600
    assert (keys.parent / "auditor.pub").read_bytes().startswith(b"ssh-ed25519 ")
    code, _, err = run(demo, "keys", "generate", str(keys))
    assert code == 2 and "exists; keys are never overwritten" in err


@pytest.mark.usefixtures("here")
@pytest.mark.parametrize("suffix", ["json", "html"])
def test_a_signed_report_verifies_and_reruns(demo: Demo, keys: Path, suffix: str) -> None:
    out = keys.parent / f"report.{suffix}"
    code, said, _ = make(demo, out, "--sign", str(keys))
    assert code == 0 and said.startswith(f"{out}: NOT COMPLIANT") and "signed by key" in said
    code, said, err = run(demo, "report", "verify", str(out), "--key", f"{keys}.pub")
    assert code == 0, err
    assert f"{suffix} report, signature good" in said
    assert "re-run from the inputs gives the same report (1 capture" in said


@pytest.mark.usefixtures("here")
def test_two_runs_write_the_same_bytes(demo: Demo, tmp_path: Path) -> None:
    for name in ("a.json", "b.json"):
        assert make(demo, tmp_path / name)[0] == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert make(demo, tmp_path / "c.json", "--dated")[0] == 0
    assert "generated" in json.loads((tmp_path / "c.json").read_bytes())["report"]


@pytest.mark.usefixtures("here")
def test_a_changed_byte_exits_10(demo: Demo, keys: Path) -> None:
    out = keys.parent / "report.json"
    make(demo, out, "--sign", str(keys))
    data = bytearray(out.read_bytes())
    data[data.index(b"reads packet captures")] ^= 0x04  # a letter: still JSON, another text
    out.write_bytes(bytes(data))
    code, said, err = run(demo, "report", "verify", str(out), "--key", f"{keys}.pub")
    assert code == 10 and said == ""
    assert err.startswith(f"error: {out}: byte ") or "signature does not match" in err


@pytest.mark.usefixtures("here")
def test_the_wrong_key_or_no_signature_exits_10(demo: Demo, keys: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    run(demo, "keys", "generate", str(other))
    signed, unsigned = tmp_path / "s.json", tmp_path / "u.json"
    make(demo, signed, "--sign", str(keys))
    make(demo, unsigned)
    code, _, err = run(demo, "report", "verify", str(signed), "--key", f"{other}.pub")
    assert code == 10 and "not by the key given" in err
    code, _, err = run(demo, "report", "verify", str(unsigned), "--key", f"{keys}.pub")
    assert code == 10 and "error: the report is not signed" in err


@pytest.mark.usefixtures("here")
def test_a_signed_report_that_the_inputs_contradict_exits_10(demo: Demo, keys: Path) -> None:
    """Signed by the right key, but not what the captures say: the re-run catches it."""
    out = keys.parent / "report.json"
    make(demo, out)
    env = json.loads(out.read_bytes())
    env["report"]["headline"]["violation"]["bytes"] += 1
    forged = sign(env, load_private(keys.read_bytes(), str(keys)))
    out.write_bytes(json.dumps(forged, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    code, said, err = run(demo, "report", "verify", str(out), "--key", f"{keys}.pub")
    assert code == 10 and "signature good" in said
    assert "re-run gives a different report: report.headline.violation.bytes: the report " in err


def test_inputs_changed_or_not_at_hand(demo: Demo, keys: Path) -> None:
    """A file under the capture's name with other bytes is the input changed (10); no file
    with its bytes at all leaves the signature checked and the analysis not re-run (13)."""
    capture = keys.parent / "demo.pcapng"
    shutil.copy(DEMO, capture)
    out = keys.parent / "report.html"
    code, _, _ = run(demo, "report", str(capture), "--policy", str(POLICY), "--out", str(out),
                     "--sign", str(keys))  # fmt: skip
    assert code == 0
    look = ["--inputs", str(keys.parent), str(POLICY.parent)]
    capture.write_bytes(b"")
    code, said, err = run(demo, "report", "verify", str(out), "--key", f"{keys}.pub", *look)
    assert code == 10 and "signature good" in said
    digest = hashlib.sha256(DEMO.read_bytes()).hexdigest()
    assert err == (f"error: {capture}: not the capture demo.pcapng the report names (its "
                   f"sha256 is not {digest}): the input was changed\n")  # fmt: skip
    capture.unlink()
    code, said, err = run(demo, "report", "verify", str(out), "--key", f"{keys}.pub", *look)
    assert code == 13 and err == ""
    assert said.splitlines()[-1] == (
        f"{out}: signature checked, analysis not re-run: not found in {keys.parent}, "
        f"{POLICY.parent} or the store: capture demo.pcapng (sha256 {digest})"
    )


def test_a_damaged_capture_still_gives_a_report(demo: Demo, tmp_path: Path) -> None:
    capture = tmp_path / "cut.pcapng"
    data = DEMO.read_bytes()
    capture.write_bytes(data[: len(data) // 2] + b"\xff" * 64 + data[len(data) // 2 :])
    out = tmp_path / "r.json"
    code, _, err = run(demo, "report", str(capture), "--policy", str(POLICY), "--out", str(out))
    assert code == 5 and "error:" in err
    report = json.loads(out.read_bytes())["report"]
    assert not report["complete"] and report["coverage"]["damaged"] == [capture.name]


@pytest.mark.parametrize("args, code, message", [
    (["report", "x.pcap", "--policy", "p", "--out", "r.txt"], 2, ".json, .html or .pdf"),
    (["report", "missing.pcap", "--policy", str(POLICY), "--out", "r.json"], 3, "no such file"),
    (["report", "verify", "missing.json", "--key", "k.pub"], 3, "missing.json: no such file"),
])  # fmt: skip
def test_bad_arguments_are_one_line(
    demo: Demo, tmp_path: Path, args: list[str], code: int, message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    got, _, err = run(demo, *args)
    assert got == code and message in err and "Traceback" not in err


def test_report_is_a_command_and_a_group(demo: Demo) -> None:
    code, out, _ = run(demo, "report", "--help")
    assert code == 0 and "verify" in out and "make" in out
    code, out, _ = run(demo, "report", "make", "--help")
    assert code == 0 and "--sign KEY" in out
    code, out, _ = run(demo, "report", "verify", "--help")
    assert code == 0 and "--key KEY.pub" in out


@pytest.mark.usefixtures("here")
def test_verify_in_a_real_process(demo: Demo, keys: Path) -> None:
    out = keys.parent / "report.json"
    make(demo, out, "--sign", str(keys))
    env = {**os.environ, "RESIDENCY_HOME": str(demo.home)}
    command = [sys.executable, "-m", "agent", "report", "verify", str(out), "--key", f"{keys}.pub"]
    ok = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0 and "same report" in ok.stdout, ok.stderr
    out.write_bytes(out.read_bytes().replace(b'"compliant":false', b'"compliant":true '))
    bad = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 10 and bad.stderr.startswith("error: ")


@pytest.mark.usefixtures("here")
def test_a_filtered_report_says_so_and_is_rerun_with_its_filter(demo: Demo, keys: Path) -> None:
    out = keys.parent / "report.json"
    code, said, _ = make(demo, out, "--sign", str(keys), "--filter", "not udp")
    assert code == 0
    report = json.loads(out.read_bytes())["report"]
    assert report["inputs"]["filter"] == "not udp"
    seen, whole = report["coverage"], demo.report["coverage"]
    assert 0 < seen["not_selected"] < seen["records"] == whole["records"]
    assert report["headline"]["in_scope"]["flows"] < demo.report["headline"]["in_scope"]["flows"]
    assert "(only the capture records that the filter 'not udp' selects)" in said
    code, said, err = run(demo, "report", "verify", str(out), "--key", f"{keys}.pub")
    assert code == 0 and "re-run from the inputs gives the same report" in said, err
    env = json.loads(out.read_bytes())
    env["report"]["inputs"]["filter"] = "not tcp"  # signed anew: only the re-run can tell
    forged = sign(env, load_private(keys.read_bytes(), str(keys)))
    out.write_bytes(json.dumps(forged, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    code, said, err = run(demo, "report", "verify", str(out), "--key", f"{keys}.pub")
    assert code == 10 and "signature good" in said and "re-run gives a different report" in err
