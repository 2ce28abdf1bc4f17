"""Commands load on demand: the table of which module holds each command is the truth, and
listing flows loads neither the judge nor the reports."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from agent.cli import main
from agent.cli.base import COMMANDS


def test_each_command_lives_where_the_table_says() -> None:
    for module in set(COMMANDS.values()):
        importlib.import_module(f"agent.cli.{module}")
    assert set(main.commands) == set(COMMANDS)
    for name, command in main.commands.items():
        assert command.callback is not None
        assert command.callback.__module__ == f"agent.cli.{COMMANDS[name]}", name


def test_help_lists_every_command_and_each_takes_quiet() -> None:
    said = CliRunner().invoke(main, ["--help"]).stdout
    assert all(f"  {name} " in said for name in COMMANDS)
    assert "--quiet" in CliRunner().invoke(main, ["names", "--help"]).stdout


def test_listing_flows_loads_no_judge(pcaps: Path) -> None:
    probe = (
        "import sys; from agent.cli import main\n"
        f"main(['flows', '--json', {str(pcaps / 'zeek_get.pcap')!r}], standalone_mode=False)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('agent.policy', 'agent.report', "
        "'agent.findings', 'agent.journal', 'cryptography'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
