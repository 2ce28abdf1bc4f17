"""A regulator re-runs a report anywhere: the report names its inputs by file name and sha256,
never by the path typed, and `report verify --inputs DIR...` finds them by content, whatever
they are called there. Inputs found change nothing; a changed input fails (10); inputs not
found leave the signature checked and the analysis not re-run (13)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from tests.report.conftest import DEMO, POLICY, Demo, range_files


def run(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"RESIDENCY_HOME": str(home)})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def made(demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A signed report made in folder `a` from its own copies of the inputs (relative paths)."""
    a = tmp_path / "a"
    a.mkdir()
    shutil.copy(DEMO, a / "demo.pcapng")
    shutil.copy(POLICY, a / "policy.yaml")
    monkeypatch.chdir(a)
    assert run(demo.home, "keys", "generate", "auditor")[0] == 0
    code, _, err = run(demo.home, "report", "demo.pcapng", "--policy", "policy.yaml", "--out",
                       "report.json", "--sign", "auditor")  # fmt: skip
    assert code == 0, err
    monkeypatch.chdir(tmp_path)
    return a / "report.json", a / "auditor.pub"


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """The inputs in folder `b` under other names, range files too (one gzipped), for a
    verifier whose store is empty."""
    b = tmp_path / "b"
    (b / "captures").mkdir(parents=True)
    (b / "data").mkdir()
    shutil.copy(DEMO, b / "captures" / "recorded-on-tuesday.pcapng")
    shutil.copy(POLICY, b / "the-policy.yml")
    for n, path in enumerate(range_files()):
        data = path.read_bytes()
        if n == 0:
            (b / "data" / f"range-{n}.gz").write_bytes(gzip.compress(data))
        else:
            (b / "data" / f"range-{n}").write_bytes(data)
    return b


def verify(home: Path, report: Path, key: Path, *roots: Path) -> tuple[int, str, str]:
    folders = ["--inputs", *map(str, roots)] if roots else []
    return run(home, "report", "verify", str(report), "--key", str(key), *folders)


def test_copied_under_other_names_the_report_reruns(
    made: tuple[Path, Path], elsewhere: Path, tmp_path: Path
) -> None:
    report, key = made
    code, said, err = verify(tmp_path / "empty-home", report, key, elsewhere)
    assert code == 0, err
    assert said.splitlines()[-1] == (
        f"{report}: re-run from the inputs gives the same report (1 capture, policy "
        f"{json.loads(report.read_bytes())['report']['inputs']['policy']['name']}, "
        f"{len(range_files())} range versions)"
    )
    inputs = json.loads(report.read_bytes())["report"]["inputs"]
    assert [c["file"] for c in inputs["captures"]] == ["demo.pcapng"]
    assert inputs["policy"]["file"] == "policy.yaml"
    assert not any(str(report.parent) in json.dumps(v) for v in inputs.values())
    assert not list((tmp_path / "empty-home").glob("**/index.json"))  # verify stored nothing


def test_a_changed_input_fails(
    made: tuple[Path, Path], elsewhere: Path, tmp_path: Path, demo: Demo
) -> None:
    report, key = made
    capture = elsewhere / "captures" / "recorded-on-tuesday.pcapng"
    data = bytearray(capture.read_bytes())
    data[len(data) // 2] ^= 0x01
    capture.unlink()
    changed = elsewhere / "captures" / "demo.pcapng"  # under the name the report gives it
    changed.write_bytes(bytes(data))
    code, said, err = verify(demo.home, report, key, elsewhere)
    digest = hashlib.sha256(DEMO.read_bytes()).hexdigest()
    assert code == 10 and "signature good" in said
    assert err == (f"error: {changed}: not the capture demo.pcapng the report names (its sha256 "
                   f"is not {digest}): the input was changed\n")  # fmt: skip


def test_missing_inputs_leave_the_analysis_not_rerun(
    made: tuple[Path, Path], elsewhere: Path, tmp_path: Path
) -> None:
    report, key = made
    (elsewhere / "captures" / "recorded-on-tuesday.pcapng").unlink()
    (elsewhere / "data" / "range-0.gz").unlink()
    code, said, err = verify(tmp_path / "empty-home", report, key, elsewhere)
    r = json.loads(report.read_bytes())["report"]["inputs"]
    [first] = [x for x in r["ranges"] if x["sha256"] == hashlib.sha256(
        range_files()[0].read_bytes()).hexdigest()]  # fmt: skip
    assert code == 13 and err == ""
    assert said.splitlines() == [
        f"{report}: json report, signature good (ed25519, key sha256:"
        f"{said.split('key sha256:')[1][:16]})",
        f"{report}: signature checked, analysis not re-run: not found in {elsewhere} or the "
        f"store: capture demo.pcapng (sha256 {r['captures'][0]['sha256']}); range version "
        f"{first['slot']} {first['version']} (sha256 {first['sha256']})",
    ]


def test_by_default_the_reports_own_folder_is_searched(
    made: tuple[Path, Path], tmp_path: Path, demo: Demo
) -> None:
    report, key = made
    code, said, err = verify(demo.home, report, key)
    assert code == 0 and "same report" in said, err


def test_any_spelling_of_the_same_inputs_gives_the_same_bytes(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = tmp_path / "a"
    (a / "sub").mkdir(parents=True)
    shutil.copy(DEMO, a / "demo.pcapng")
    shutil.copy(POLICY, a / "policy.yaml")
    (a / "sub" / "link").symlink_to(a)  # a folder link: the same files under another path
    (a / "elsewhere.pcapng").symlink_to(a / "demo.pcapng")  # a file link of another name
    monkeypatch.chdir(a)
    spellings = [
        ("demo.pcapng", "policy.yaml"),
        ("./demo.pcapng", "./policy.yaml"),
        (str(a / "demo.pcapng"), str(a / "policy.yaml")),
        ("sub/link/demo.pcapng", "sub/../policy.yaml"),
        ("elsewhere.pcapng", str(a / "sub" / "link" / "policy.yaml")),
    ]
    for suffix in ("json", "html"):
        made = []
        for n, (capture, policy) in enumerate(spellings):
            out = tmp_path / f"r{n}.{suffix}"
            code, _, err = run(demo.home, "report", capture, "--policy", policy, "--out",
                               str(out))  # fmt: skip
            assert code == 0, err
            made.append(out.read_bytes())
        assert len(set(made)) == 1, suffix
    code, one, _ = run(demo.home, "analyze", "demo.pcapng", "--policy", "policy.yaml", "--json")
    code, two, _ = run(demo.home, "analyze", os.path.abspath("elsewhere.pcapng"), "--policy",
                       "./policy.yaml", "--json")  # fmt: skip
    assert one == two


def test_two_inputs_of_one_name_are_refused(demo: Demo, tmp_path: Path) -> None:
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        shutil.copy(DEMO, tmp_path / d / "demo.pcapng")
    code, _, err = run(demo.home, "analyze", str(tmp_path / "x" / "demo.pcapng"),
                       str(tmp_path / "y" / "demo.pcapng"), "--policy", str(POLICY))  # fmt: skip
    assert code == 2 and "two inputs are named demo.pcapng" in err
