"""The daemon's configuration file (default /etc/residency/agent.yaml; example in
rules/agent.example.yaml). Unknown keys and wrong types are errors naming the key and its line:
a typo must not silently leave an interface unwatched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.daemon.exports import parse_export_url
from agent.errors import ConfigError
from agent.files import open_input

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
    with open_input(path) as f:
        text = f.read()
    try:
        root = yaml.compose(text.decode("utf-8"), Loader=yaml.SafeLoader)
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}: expected a mapping of settings")
    values: dict[str, Any] = {}
    for key_node, value_node in root.value:
        key, line = str(key_node.value), key_node.start_mark.line + 1
        if key not in KINDS:
            raise ConfigError(f"{path}:{line}: unknown setting {key!r} "
                              f"(one of {', '.join(KINDS)})")  # fmt: skip
        values[key] = _value(key, value_node, f"{path}:{line}")
        if key in CHECKS:
            _check_items(key, value_node, path)
    if "policy" not in values:
        raise ConfigError(f"{path}: missing setting 'policy' (the policy file to judge by)")
    config = Config(**values)
    if config.lake and config.lake_delay < config.idle_timeout + config.active_timeout:
        raise ConfigError(f"{path}: lake_delay ({config.lake_delay:g} s) must be at least "
                          f"idle_timeout + active_timeout ({config.idle_timeout:g} + "
                          f"{config.active_timeout:g} s): a flow begun before midnight may "
                          "not have ended")  # fmt: skip
    return config


def _check_items(key: str, node: yaml.Node, path: str) -> None:
    for item in node.value if isinstance(node, yaml.SequenceNode) else [node]:
        try:
            CHECKS[key](str(item.value))
        except ConfigError as err:
            raise ConfigError(f"{path}:{item.start_mark.line + 1}: {key}: {err}") from None


def _value(key: str, node: yaml.Node, where: str) -> Any:
    kind = KINDS[key]
    if kind is list:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        if not all(isinstance(i, yaml.ScalarNode) for i in items):
            raise ConfigError(f"{where}: {key} must be a list of names")
        return tuple(str(i.value) for i in items)
    if not isinstance(node, yaml.ScalarNode):
        raise ConfigError(f"{where}: {key} must be a single value")
    text = str(node.value)
    if kind is float:
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(f"{where}: {key} must be a number of seconds, not {text!r}") from None
        if number < 0:
            raise ConfigError(f"{where}: {key} must not be negative")
        return number
    return text
