"""Violations are told at once: a JSON line on stdout (journald keeps it) and, if configured, a
POST to a webhook from a background thread, so a slow receiver never stalls the judging."""

from __future__ import annotations

import json
import queue
import sys
import threading
import urllib.request
from collections.abc import Sequence
from typing import Any, TextIO

from agent.model import OWNER_KEYS, seconds
from agent.policy.access import ACCESS_VIOLATION
from agent.policy.judge import IN, VIOLATION, Verdict

WEBHOOK_TIMEOUT = 5.0
QUEUE_MAX = 10_000
"""Alerts waiting for the webhook; past this they are counted as lost, not held in memory."""


def alarming(v: Verdict) -> bool:
    """A violation in scope, or an access violation: what is told at once."""
    return (v.scope == IN and v.verdict == VIOLATION) or v.verdict == ACCESS_VIOLATION


def alert_of(v: Verdict, host: str) -> dict[str, Any]:
    f, a = v.flow, v.answer
    access = v.service is not None  # an access: `src` is the origin, `bytes_out` what left
    extra = {"service": v.service.name, "bytes_out": f.bytes_rev} if v.service else {}
    return {
        "event": "access-violation" if access else "violation", **extra,
        "host": host, "verdict": v.verdict, "proto": f.proto,
        "src": f.src, "sport": f.sport, "dst": f.dst, "dport": f.dport,
        "first": seconds(f.first_ns), "last": seconds(f.last_ns),
        "bytes": f.bytes_fwd + f.bytes_rev, "names": [n for _, n in f.names],
        "provider": a.provider, "region": a.region, "country": a.country, "site": a.site,
        "source": a.source, "rule": v.rule.name if v.rule else None, "note": v.note,
        "process": None if v.process is None else v.process.as_dict(OWNER_KEYS),
    }  # fmt: skip


class Alerts:
    """A sink of the chain: each alarming verdict becomes an alert from `host`."""

    def __init__(self, webhook: str = "", host: str = "", out: TextIO | None = None,
                 queue_max: int = QUEUE_MAX) -> None:  # fmt: skip
        self.out = out or sys.stdout
        self.webhook, self.host = webhook, host
        self.sent = self.failed = self.lost = 0
        """Alerts told; those the webhook refused or could not be reached for; those dropped
        because its queue was full."""
        self._queue: queue.Queue[bytes | None] = queue.Queue(queue_max)
        self._thread: threading.Thread | None = None
        if webhook:
            self._thread = threading.Thread(target=self._post_loop, name="webhook", daemon=True)
            self._thread.start()

    def add(self, verdicts: Sequence[Verdict], where: str) -> None:
        for v in verdicts:
            if alarming(v):
                self.send(alert_of(v, self.host))

    def send(self, alert: dict[str, Any]) -> None:
        self.sent += 1
        line = json.dumps(alert, sort_keys=True)
        print(line, file=self.out, flush=True)
        if self._thread:
            try:
                self._queue.put_nowait(line.encode())
            except queue.Full:
                self.lost += 1

    def close(self, timeout: float = WEBHOOK_TIMEOUT) -> None:
        if self._thread:
            self._queue.put(None)
            self._thread.join(timeout)

    def _post_loop(self) -> None:
        while (body := self._queue.get()) is not None:
            request = urllib.request.Request(
                self.webhook, body, {"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as reply:
                    reply.read()
            except OSError as err:
                self.failed += 1
                print(f"warning: webhook {self.webhook}: {err}", file=sys.stderr, flush=True)
