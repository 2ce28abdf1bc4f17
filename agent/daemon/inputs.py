"""What the agent judges with, loaded whole (so SIGHUP can swap it atomically), and the kernels
warmed before the agent says it is ready."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agent.chain.pipeline import FlowPipeline
from agent.daemon.config import Config
from agent.errors import ConfigError
from agent.intel.store import Store, Stored
from agent.policy.judge import Judge
from agent.policy.load import load_policy
from agent.policy.model import Policy
from agent.wire.batch import RecordBatch


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the judging rests on; swapped whole on SIGHUP."""

    policy: Policy
    judge: Judge
    ranges: list[Stored]


def load_inputs(config: Config) -> Inputs:
    """Refuses an empty ranges store: every destination would be unverified, which proves
    nothing and would only look like a working agent."""
    policy = load_policy(config.policy)
    store = Store(config.store_home)
    chosen = store.current()
    if not chosen:
        raise ConfigError(f"no range data in {store.root}: every destination would be "
                          "unverified; run `residency ranges import` or `ranges update` with "
                          "RESIDENCY_HOME set to it, or set ranges_home")  # fmt: skip
    return Inputs(policy, Judge(policy, store.table(chosen)), chosen)


def warm_up(config: Config) -> None:
    """Run one packet through the whole chain (and the table's growth path) before saying
    READY: the kernels are compiled ahead of time, so this checks, and costs milliseconds."""
    frame = bytes(12) + b"\x08\x00" + bytes.fromhex(
        "450000280001000040060000c0000201c000020a" "d431 01bb 00000001 00000000 5002 2000 0000 0000"
        .replace(" ", ""))  # fmt: skip
    data = np.frombuffer(bytearray(frame), np.uint8)  # writable, like the ring: one compile
    one = np.array([0], np.int64)
    size = np.array([len(frame)], np.int64)
    pipe = FlowPipeline(config.idle_timeout, config.active_timeout)
    pipe.feed(RecordBatch(data, one, size, size, np.array([1], np.int64), one + 1, one))
    pipe.tick(2)
    pipe.finish()
    pipe.table.grow()
