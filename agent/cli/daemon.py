"""`daemon`, `watch` and `journal`: the agent on a host, and its journal."""

from __future__ import annotations

import dataclasses
import sys
from datetime import UTC, datetime
from typing import Any

import click

from agent.cli.base import main, reports_errors
from agent.daemon.config import DEFAULT_PATH, Config, load_config
from agent.intel.store import home
from agent.journal import verify_journal
from agent.journal.chain import Head
from agent.policy.access import label
from agent.policy.judge import Verdict


def _agent(config: Config, view: bool) -> int:
    from agent.daemon.connections import ConnectionTracker  # the edges load only when run
    from agent.daemon.service import Agent

    with ConnectionTracker() as tracker:
        return Agent(config, tracker, _show if view else None).run()


@main.command()
@click.option("--config", "config_path", default=DEFAULT_PATH, show_default=True,
              help="The agent's configuration (see rules/agent.example.yaml).")  # fmt: skip
@reports_errors
def daemon(config_path: str) -> None:
    """Run the agent as a service: capture, attribute, judge, journal, alert. Ready is told to
    systemd (Type=notify); SIGHUP reloads the policy and ranges; SIGTERM flushes and exits 0."""
    sys.exit(_agent(load_config(config_path), view=False))


@main.command()
@click.option("--config", "config_path", help="Start from this configuration file.")
@click.option("-i", "--interface", "interfaces", multiple=True, help="Capture on this interface.")
@click.option("--policy", help="The policy file (overrides the configuration's).")
@click.option("--filter", "bpf", help="A BPF capture filter (tcpdump syntax).")
@click.option("--data-dir", help="Where the journal is written.")
@reports_errors
def watch(config_path: str | None, interfaces: tuple[str, ...], policy: str | None,
          bpf: str | None, data_dir: str | None) -> None:  # fmt: skip
    """Watch in the foreground: a line per judged flow on the terminal, and the journal kept
    as the daemon keeps it. Ranges come from $RESIDENCY_HOME, as for every other command,
    unless the configuration sets ranges_home."""
    if config_path:
        config = load_config(config_path)
    elif policy:
        config = Config(policy=policy, data_dir=data_dir or ".residency", metrics="")
    else:
        raise click.UsageError("give --config or --policy")
    changes: dict[str, Any] = {"interfaces": interfaces, "policy": policy, "filter": bpf,
                               "data_dir": data_dir,
                               "ranges_home": config.ranges_home or str(home())}  # fmt: skip
    config = dataclasses.replace(config, **{k: v for k, v in changes.items() if v})
    sys.exit(_agent(config, view=True))


def _show(v: Verdict) -> None:
    f, a = v.flow, v.answer
    when = datetime.fromtimestamp(f.first_ns / 1e9, UTC).strftime("%H:%M:%S")
    kind = label(v)  # an access is seen from its origin: src dialled the protected dst
    where = " ".join(x for x in (a.provider, a.region, a.site, a.country) if x) or "-"
    names = ",".join(sorted({n for _, n in f.names})) or "-"
    who = f"{v.process.name}[{v.process.pid}]" if v.process else "?"
    click.echo(f"{when} {kind:<17} {f.src}:{f.sport} -> {f.dst}:{f.dport} {where:<28} "
               f"{names:<32} {who}")  # fmt: skip


@main.group()
def journal() -> None:
    """The agent's journal: a hash-chained SQLite file."""


@journal.command("verify")
@click.argument("path")
@click.option("--head", "heads", multiple=True, metavar="SEQ:HASH",
              help="A head copied out earlier: prove nothing up to it changed.")  # fmt: skip
@reports_errors
def journal_verify(path: str, heads: tuple[str, ...]) -> None:
    """Check every row's hash chain; exit 9 at the first row that was changed, removed or
    inserted (or a known head that no longer matches)."""
    try:
        known = [Head.parse(h) for h in heads]
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--head") from None
    result = verify_journal(path, known)
    click.echo(str(result))
    if not result.ok:
        sys.exit(9)
