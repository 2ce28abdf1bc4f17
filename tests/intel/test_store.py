"""The ranges store on a real directory: versions kept by content, bad files refused whole,
versions chosen by date, and `ranges update` over real HTTP on loopback."""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from agent.cli import main
from agent.cli.base import utcnow


def cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"RESIDENCY_HOME": str(home)})


def listing(home: Path) -> list[dict[str, object]]:
    run = cli(home, "ranges", "list", "--json")
    assert run.exit_code == 0, run.output
    return [json.loads(line) for line in run.stdout.splitlines()]


def test_import_keeps_versions_by_content(tmp_path: Path, ranges_dir: Path) -> None:
    gcp = ranges_dir / "gcp-cloud.json"
    renamed = tmp_path / "download (1).txt"
    renamed.write_bytes(gcp.read_bytes())
    first = cli(tmp_path / "h", "ranges", "import", str(gcp))
    again = cli(tmp_path / "h", "ranges", "import", str(renamed))
    assert first.exit_code == again.exit_code == 0
    assert "stored" in first.stdout and "already stored" in again.stdout
    [row] = listing(tmp_path / "h")
    assert row["kind"] == "gcp" and row["version"] == "syncToken=1778033048194"
    assert row["sha256"] == "918de4e6584282f66099ca5eb3ee9c92ea2ee3194b09cc841281610ce061160f"
    assert row["created"] == "2026-05-05T19:04:08.194918+00:00" and row["current"] is True


@pytest.mark.parametrize(
    "damage, where",
    [
        (lambda b: b[: len(b) // 2], "line"),
        (lambda b: b.replace(b'"syncToken"', b'"syncTokem"', 1), "syncToken"),
        (lambda b: re.sub(rb'("ipv4Prefix": "[0-9.]+)\.0/', rb"\1.1/", b, count=1), "host bits"),
    ],
)
def test_a_bad_file_is_refused_whole(
    tmp_path: Path, ranges_dir: Path, damage: object, where: str
) -> None:
    home = tmp_path / "h"
    assert (
        cli(home, "ranges", "import", str(ranges_dir / "oci-public_ip_ranges.json")).exit_code == 0
    )
    before = listing(home)
    bad = tmp_path / "gcp.json"
    bad.write_bytes(damage((ranges_dir / "gcp-cloud.json").read_bytes()))  # type: ignore[operator]
    run = cli(home, "ranges", "import", str(bad))
    assert run.exit_code == 6
    [line] = run.stderr.splitlines()
    assert line.startswith(f"error: {bad}: ") and where in line
    assert listing(home) == before
    assert sorted(p.name for p in (home / "ranges" / "objects").iterdir()) == [
        str(r["sha256"]) for r in before
    ]


def test_a_file_of_one_provider_given_as_another_is_named(tmp_path: Path, ranges_dir: Path) -> None:
    from agent.errors import RangeFileError
    from agent.intel.gcp import parse_gcp

    with pytest.raises(RangeFileError, match="AWS"):
        parse_gcp((ranges_dir / "aws-ip-ranges.json").read_bytes(), "x.json")


def older_aws(ranges_dir: Path, tmp_path: Path) -> Path:
    """The shared AWS file as an older sync would have been: another token and date, and the
    us-east-1 prefix 3.80.0.0/12 still in another region."""
    doc = json.loads((ranges_dir / "aws-ip-ranges.json").read_text())
    doc["syncToken"], doc["createDate"] = "1700000000", "2023-11-14-22-13-20"
    for p in doc["prefixes"]:
        if p["ip_prefix"] == "3.80.0.0/12":
            p["region"] = p["network_border_group"] = "us-west-2"
    path = tmp_path / "aws-2023.json"
    path.write_text(json.dumps(doc))
    return path


def test_as_of_a_date_picks_the_versions_current_then(tmp_path: Path, ranges_dir: Path) -> None:
    home = tmp_path / "h"
    old = older_aws(ranges_dir, tmp_path)
    assert (
        cli(home, "ranges", "import", str(ranges_dir / "aws-ip-ranges.json"), str(old)).exit_code
        == 0
    )
    marks = {r["version"]: r["current"] for r in listing(home)}
    assert marks == {"syncToken=1787411825": True, "syncToken=1700000000": False}
    now = json.loads(cli(home, "lookup", "--json", "3.80.0.20").stdout)
    then = json.loads(cli(home, "lookup", "--json", "--as-of", "2024-03-01", "3.80.0.20").stdout)
    assert (now["region"], now["source"]) == ("us-east-1", "aws syncToken=1787411825")
    assert (then["region"], then["source"]) == ("us-west-2", "aws syncToken=1700000000")
    before = cli(home, "lookup", "--json", "--as-of", "2020-01-01", "3.80.0.20")
    assert json.loads(before.stdout)["provider"] is None  # no AWS data existed yet
    assert "warning: no range data" in before.stderr and "as of 2020-01-01" in before.stderr


@pytest.fixture
def server(ranges_dir: Path, tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on loopback serving the shared files in place, plus an Azure-style
    download page that links this week's file."""
    page = tmp_path / "details.aspx"
    page.write_text(
        '<a href="http://127.0.0.1:{port}/files/ServiceTags_Public_20260504.json">x</a>'
    )

    class Handler(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            if path.startswith("/details"):
                return str(page)
            name = path.rsplit("/", 1)[-1]
            return str(ranges_dir / {"ServiceTags_Public_20260504.json":
                                     "azure-servicetags-public.json"}.get(name, name))  # fmt: skip

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler))
    page.write_text(page.read_text().replace("{port}", str(httpd.server_port)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_update_downloads_validates_and_stores(tmp_path: Path, server: str) -> None:
    home = tmp_path / "h"
    urls = [f"--url=oci={server}/files/oci-public_ip_ranges.json",
            f"--url=gcp={server}/files/gcp-cloud.json",
            f"--url=azure-public={server}/details.aspx?id=56519",
            f"--url=aws={server}/files/missing.json"]  # fmt: skip
    only = ["--only=oci", "--only=gcp", "--only=azure-public", "--only=aws"]
    run = cli(home, "ranges", "update", *urls, *only, "--timeout=5")
    assert run.exit_code == 7  # AWS failed; the others still updated
    assert "error: aws:" in run.stderr and "404" in run.stderr
    kinds = sorted(str(r["slot"]) for r in listing(home))
    assert kinds == ["azure:Public", "gcp", "oci"]
    again = cli(home, "ranges", "update", *urls[:2], "--only=oci", "--only=gcp")
    assert again.exit_code == 0 and again.stdout.count("unchanged") == 2


def test_list_ages_count_from_the_files_own_dates_and_columns_align(
    tmp_path: Path, ranges_dir: Path
) -> None:
    """GCP's file says when it was made (its syncToken's time): its age counts from then.
    Azure's gives only a change number: `undated`, never "0 days"."""
    home = tmp_path / "h"
    for name in ("gcp-cloud.json", "azure-servicetags-public.json"):
        assert cli(home, "ranges", "import", str(ranges_dir / name)).exit_code == 0
    rows = {r["slot"]: r for r in listing(home)}
    made = datetime.fromisoformat("2026-05-05T19:04:08.194918+00:00")
    assert rows["gcp"]["age_days"] == (utcnow() - made).days
    assert rows["azure:Public"]["age_days"] is None and rows["azure:Public"]["imported_days"] == 0
    text = cli(home, "ranges", "list").stdout.splitlines()
    assert len(text) == 2 and "undated (imported 0 days ago)" in text[0]
    assert f"{(utcnow() - made).days} days" in text[1]
    assert text[0].index("sha256:") == text[1].index("sha256:")  # aligned columns
