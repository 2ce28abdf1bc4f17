"""The daemon's sealer without root or a lake: when a seal is due, and a key it cannot use
stops the daemon at its start with the file named (the seals themselves run in
tests/daemon/test_service.py, with the real daemon)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.daemon.config import Config
from agent.daemon.metrics import Metrics
from agent.daemon.sealer import Sealer
from agent.errors import ConfigError
from agent.report.sign import generate


def _at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * 10**9


def test_a_seal_is_due_at_start_then_once_a_day_past_the_delay(tmp_path: Path) -> None:
    (tmp_path / "lake.key").write_bytes(generate("web-1")[0])
    config = Config(policy="p.yaml", data_dir=str(tmp_path), lake=str(tmp_path / "lake"),
                    lake_delay=900)  # fmt: skip
    sealer = Sealer(config, "web-1", Metrics())
    assert sealer.due(_at("2026-03-03T00:10:00"), 0.0)  # at start: catch up on what is closed
    sealer.done_through = sealer._closed(_at("2026-03-03T00:10:00"))  # 03-01: 03-02 not yet
    assert not sealer.due(_at("2026-03-03T00:14:59"), 0.0)
    assert sealer.due(_at("2026-03-03T00:15:00"), 0.0)  # 03-02 ended 900 s ago
    sealer.done_through = sealer._closed(_at("2026-03-03T00:15:00"))
    assert not sealer.due(_at("2026-03-03T23:59:59"), 0.0)
    sealer.next_try = 100.0  # after a failure
    assert not sealer.due(_at("2026-03-04T01:00:00"), 99.0)
    assert sealer.due(_at("2026-03-04T01:00:00"), 100.0)


def test_a_key_it_cannot_use_is_a_configuration_error(tmp_path: Path) -> None:
    config = Config(policy="p.yaml", data_dir=str(tmp_path), lake=str(tmp_path / "lake"))
    with pytest.raises(ConfigError) as err:
        Sealer(config, "web-1", Metrics())
    key = tmp_path / "lake.key"
    assert str(err.value) == (f"lake: cannot seal into {tmp_path / 'lake'}: No such file or "
                              f"directory (the key: `residency keys generate web-1` as {key})")
    key.write_bytes(b"not a key")
    with pytest.raises(ConfigError, match="not a usable private key"):
        Sealer(config, "web-1", Metrics())
    key.write_bytes(generate("web/1")[0])
    with pytest.raises(ConfigError, match="'web/1': not a host name the lake can hold"):
        Sealer(config, "web/1", Metrics())
