"""The daemon's configuration: the shipped example loads, and mistakes name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.daemon.config import load_config
from agent.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_loads() -> None:
    c = load_config(str(ROOT / "rules" / "agent.example.yaml"))
    assert c.interfaces == ("eth0",) and c.poll_interval == 1.0 and c.metrics.startswith("127.")
    assert c.journal_path == Path("/var/lib/residency/journal.sqlite")


@pytest.mark.parametrize(("text", "message"), [
    ("policy: p.yaml\ninterface: [eth0]\n",
     "c.yaml:2:1: unknown setting 'interface' (did you mean 'interfaces'?)"),
    ("policy: p.yaml\npoll_interval: soon\n",
     "c.yaml:2:16: poll_interval must be a number of seconds, not 'soon'"),
    ("policy: p.yaml\nidle_timeout: -1\n", "c.yaml:2:15: idle_timeout must not be negative"),
    ("interfaces: [eth0]\n", "c.yaml:1:1: missing setting 'policy'"),
    ("policy: [a, b]\n", "c.yaml:1:9: policy must be a single value"),
    ("- a\n", "c.yaml: expected a mapping of settings"),
    ("policy: p.yaml\npolicy: q.yaml\n", "c.yaml:2:1: setting 'policy' given twice"),
    ("policy: p.yaml\nflow_exports: [udp://127.0.0.1:2055,\n  nope]\n",
     "c.yaml:3:3: flow_exports: 'nope' is not udp:"),
    ("policy: p.yaml\nlake: /l\nlake_delay: 100\n",
     "c.yaml: lake_delay (100 s) must be at least idle_timeout + active_timeout (60 + 300 s)"),
])  # fmt: skip
def test_mistakes_name_the_setting(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert str(err.value).startswith(str(tmp_path / message)) and err.value.exit_code == 11


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_config(str(tmp_path / "none.yaml"))
