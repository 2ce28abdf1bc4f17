"""The HTML report in a real browser: it renders without a console message (no script error, no
blocked fetch, no policy violation), its tables sort, and it prints to a PDF that verifies.
The screenshot and the PDF are kept in tests/artifacts/ (gitignored)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from agent.errors import ReportError
from agent.report import envelope, html
from agent.report.chromium import find_chromium, headless
from agent.report.pdf import print_pdf
from agent.report.sign import check
from tests.report.conftest import ROOT, Demo
from tests.report.pages import Page

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); CI has it"
)
ARTIFACTS = ROOT / "tests" / "artifacts"
SORT_PROBE = """<script>
var table = document.getElementById("violations-table");
var bytes = table.querySelectorAll("thead th")[4];
bytes.click();
var up = Array.from(table.tBodies[0].rows, r => r.cells[4].getAttribute("data-v")).join(",");
bytes.click();
var down = Array.from(table.tBodies[0].rows, r => r.cells[4].getAttribute("data-v")).join(",");
document.body.setAttribute("data-sorted", up + "|" + down);
</script>"""


LAYOUT_PROBE = """<script>
var spans = document.querySelectorAll(".place, .file");
var broken = Array.from(spans).filter(e => e.getClientRects().length !== 1);
document.body.setAttribute("data-broken", broken.map(e => e.textContent).join("|") + "#"
                           + spans.length);
</script>"""
"""Every place label and every evidence file name on one line."""


def browse(tmp: Path, *args: str) -> tuple[str, list[str]]:
    """(stdout, console lines) of one headless run."""
    assert CHROMIUM is not None
    run = headless(CHROMIUM, tmp, ["--enable-logging=stderr", "--v=0", *args])
    err = run.stderr.decode(errors="replace")
    assert run.returncode == 0, err[-2000:]
    return run.stdout.decode(), [line for line in err.splitlines() if ":CONSOLE" in line]


def test_the_report_renders_without_errors(demo: Demo, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_bytes(envelope.make(demo.report, "html", demo.key))
    dom, console = browse(tmp_path, "--dump-dom", page.as_uri())
    assert console == []
    assert 'data-js="ready"' in dom  # the script ran to its end
    parsed = Page(dom)
    assert {"headline", "verdict", "violations-table", "charts", "map", "timeline"} <= parsed.ids()
    assert parsed.rows.get("violations-table", 0) == len(demo.report["violations"]) > 0
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-demo.png"
    browse(tmp_path, "--hide-scrollbars", "--window-size=1200,1700", f"--screenshot={shot}",
           page.as_uri())  # fmt: skip
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")


def probed(report: dict[str, Any], script: str, tmp: Path, *args: str) -> str:
    """The page's DOM after `script` ran in it (the page's content security policy removed, so
    the probe may run), with no console message."""
    text = html.render({"report": report}).decode()
    start = text.index('<meta http-equiv="Content-Security-Policy"')
    text = text[:start] + text[text.index(">", start) + 1 :]
    page = tmp / "probe.html"
    page.write_text(text.replace("</body>", script + "</body>"))
    dom, console = browse(tmp, *args, "--dump-dom", page.as_uri())
    assert console == []
    return dom


def test_the_tables_sort(demo: Demo, tmp_path: Path) -> None:
    """Click a numeric header twice: ascending, then descending."""
    dom = probed(demo.report, SORT_PROBE, tmp_path)
    [up, down] = dom.split('data-sorted="')[1].split('"')[0].split("|")
    values = sorted(d["bytes"] for d in demo.report["violations"])
    assert [int(v) for v in up.split(",")] == values
    assert [int(v) for v in down.split(",")] == values[::-1]


def test_the_printed_pdf_verifies_and_any_changed_byte_fails(demo: Demo) -> None:
    assert CHROMIUM is not None
    data = envelope.make(demo.report, "pdf", demo.key, lambda page: print_pdf(page, CHROMIUM))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-demo.pdf").write_bytes(data)
    kind, env = envelope.read(data, "r.pdf")
    assert kind == "pdf" and env["report"] == envelope.read(
        envelope.make(demo.report, "json"), "r.json")[1]["report"]  # fmt: skip
    check(env, demo.key.public_key())
    rng = random.Random(5)
    for at in rng.sample(range(len(data)), 60):
        changed = bytearray(data)
        changed[at] ^= rng.randrange(1, 256)
        with pytest.raises(ReportError):
            _, env = envelope.read(bytes(changed), "r.pdf")
            check(env, demo.key.public_key())


@pytest.mark.parametrize("width", [1200, 760])
def test_ten_years_render_with_the_map_and_the_timeline(
    decade: dict[str, Any], tmp_path: Path, width: int
) -> None:
    """The ten-year report: no console message, the map and the timeline drawn, place labels and
    file names each on one line, on a wide and a narrow window."""
    page = tmp_path / "decade.html"
    page.write_bytes(envelope.make(decade, "html"))
    size = f"--window-size={width},4200"
    dom, console = browse(tmp_path, size, "--dump-dom", page.as_uri())
    assert console == []
    assert {"map", "timeline", "violations-table", "inputs"} <= Page(dom).ids()
    dom = probed(decade, LAYOUT_PROBE, tmp_path, size)
    broken, seen = dom.split('data-broken="')[1].split('"')[0].split("#")
    assert broken == "" and int(seen) > 40
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"report-decade-{width}.png"
    browse(tmp_path, "--hide-scrollbars", size, f"--screenshot={shot}", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
