"""The daemon's configuration file (default /etc/residency/agent.yaml; example in
rules/agent.example.yaml), read by the one YAML reader (`agent.yamlfile`). Unknown keys and
wrong types are errors at `file:line:col` naming the key: a typo must not silently leave an
interface unwatched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.daemon.exports import parse_export_url
from agent.errors import ConfigError
from agent.files import open_input
from agent.yamlfile import Bad, Reader, at, compose

DEFAULT_PATH = "/etc/residency/agent.yaml"


@dataclass(frozen=True, slots=True)
class Config:
    policy: str
    """The policy file (see rules/policy.yaml)."""
    interfaces: tuple[str, ...] = ()
    """Interfaces to capture on; none: connections only."""
    filter: str = ""
    """A BPF filter for the capture (tcpdump syntax)."""
    data_dir: str = "/var/lib/residency"
    """Where the journal lives."""
    ranges_home: str = ""
    """The ranges store ($RESIDENCY_HOME); empty: the data directory."""
    poll_interval: float = 1.0
    """Seconds between reads of the kernel's connection table."""
    idle_timeout: float = 60.0
    active_timeout: float = 300.0
    heartbeat_interval: float = 10.0
    flush_interval: float = 1.0
    """Seconds between journal commits (flows are batched in between)."""
    retention_days: float = 0.0
    """Journal rows older than this are pruned; 0 keeps everything."""
    metrics: str = "127.0.0.1:9469"
    """host:port for Prometheus metrics; empty: none."""
    webhook: str = ""
    """A URL to POST each violation to, as JSON; empty: none."""
    flow_exports: tuple[str, ...] = ()
    """`udp://ADDRESS:PORT` sockets to collect NetFlow v5/v9 and IPFIX exports on, judged
    like captured flows (port 0: the kernel picks one, and the daemon says which)."""

    lake: str = ""
    """Where closed UTC days are sealed (`lake seal`): a folder or `s3://bucket/prefix`;
    empty: the daemon seals nothing."""
    lake_key: str = ""
    """The host's private key that signs its manifests (`residency keys generate HOST`);
    empty: `lake.key` in the data directory."""
    lake_delay: float = 900.0
    """Seconds past midnight UTC before the day is sealed: the flows begun before midnight
    must have ended by then, so at least idle_timeout + active_timeout."""

    @property
    def lake_key_path(self) -> Path:
        return Path(self.lake_key or Path(self.data_dir) / "lake.key")

    @property
    def store_home(self) -> Path:
        return Path(self.ranges_home or self.data_dir)

    @property
    def journal_path(self) -> Path:
        return Path(self.data_dir) / "journal.sqlite"


KINDS = {"policy": str, "interfaces": list, "filter": str, "data_dir": str, "ranges_home": str,
         "poll_interval": float, "idle_timeout": float, "active_timeout": float,
         "heartbeat_interval": float, "flush_interval": float, "retention_days": float,
         "metrics": str, "webhook": str, "flow_exports": list, "lake": str, "lake_key": str,
         "lake_delay": float}  # fmt: skip
CHECKS = {"flow_exports": parse_export_url}
"""Settings whose every item must parse; the error names the item's own line."""


def load_config(path: str) -> Config:
    """Read the configuration; its first mistake (in file order) is a ConfigError saying
    `file:line:col: message`, as the policy's and the sites file's are."""
    with open_input(path) as f:
        data = f.read()
    reader = Reader()
    try:
        root = compose(data)
    except Bad as bad:
        raise ConfigError(bad.problem.at(path)) from None
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}: expected a mapping of settings")
    nodes = reader.mapping(root, KINDS, required=("policy",), noun="setting")
    values = {k: reader.guard(lambda k=k, v=v: _value(k, v), None)  # type: ignore[misc]
              for k, v in nodes.items()}  # fmt: skip
    if reader.problems:
        raise ConfigError(min(reader.problems).at(path))
    config = Config(**values)
    if config.lake and config.lake_delay < config.idle_timeout + config.active_timeout:
        raise ConfigError(f"{path}: lake_delay ({config.lake_delay:g} s) must be at least "
                          f"idle_timeout + active_timeout ({config.idle_timeout:g} + "
                          f"{config.active_timeout:g} s): a flow begun before midnight may "
                          "not have ended")  # fmt: skip
    return config


def _value(key: str, node: yaml.Node) -> Any:
    """A setting's value as its kind says; `Bad` at the node (a list's item) that is wrong."""
    if KINDS[key] is list:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        return tuple(_item(key, i) for i in items)
    text = _item(key, node)
    if KINDS[key] is float:
        try:
            number = float(text)
        except ValueError:
            why = f"{key} must be a number of seconds, not {text!r}"
            raise Bad(at(node, why)) from None
        if number < 0:
            raise Bad(at(node, f"{key} must not be negative"))
        return number
    return text


def _item(key: str, node: yaml.Node) -> str:
    """One value, checked by the setting's own check if it has one."""
    if not isinstance(node, yaml.ScalarNode):
        kind = "a list of names" if KINDS[key] is list else "a single value"
        raise Bad(at(node, f"{key} must be {kind}"))
    text = str(node.value)
    if key in CHECKS:
        try:
            CHECKS[key](text)
        except ConfigError as err:
            raise Bad(at(node, f"{key}: {err}")) from None
    return text
