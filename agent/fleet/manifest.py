"""A sealed host-day's manifest: what its files are (sha256, rows, size), which journal head they
were cut from, and how much of the day the agent watched, signed with the host's own key.

Pure: it builds and checks the JSON; the lake and the journal stay with the caller. A fleet
report trusts a host-day only when its manifest is signed by the key the fleet's key list
gives that host and every file it names is there with its hash and nothing else is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agent.errors import ReportError
from agent.fleet.lake import HostDay
from agent.report import sign

SCHEMA = "residency.manifest/1"
OK, MISSING, NO_MANIFEST, UNREADABLE = "ok", "missing", "no-manifest", "unreadable"
NO_KEY, BAD_SIGNATURE, MISMATCH = "no-key", "bad-signature", "mismatch"
"""A host-day's standing in a fleet report; only OK host-days are counted."""


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    data: bytes
    rows: int

    def as_dict(self) -> dict[str, Any]:
        digest = hashlib.sha256(self.data).hexdigest()
        return {"file": self.name, "sha256": digest, "rows": self.rows, "size": len(self.data)}


def build(
    unit: HostDay, parts: list[Part], head: str | None, unwatched: list[tuple[int, int]],
    beats: int, key: Ed25519PrivateKey, evidence: Mapping[str, Any] | None = None,
) -> bytes:  # fmt: skip
    """The signed manifest's bytes: the same inputs give the same bytes (Ed25519 signatures
    are deterministic), so sealing a sealed day again can be checked byte for byte.
    `evidence`: what a day sealed from flow record files rests on (`fleet.records`); a
    journal's day has none."""
    body: dict[str, Any] = {
        "schema": SCHEMA, "date": unit.date, "host": unit.host,
        "journal_head": head, "files": [p.as_dict() for p in parts],
        "rows": sum(p.rows for p in parts),
        "heartbeats": beats, "unwatched": [list(g) for g in unwatched],
        "unwatched_ns": sum(b - a for a, b in unwatched),
    }  # fmt: skip
    if evidence is not None:
        body["evidence"] = dict(evidence)
    return (json.dumps(sign.sign(body, key), indent=1, sort_keys=True) + "\n").encode()


@dataclass(frozen=True, slots=True)
class Checked:
    unit: HostDay
    status: str
    reason: str = ""
    manifest: Mapping[str, Any] | None = None
    sha256: str = ""
    """Of the manifest's bytes, as the report names what it rested on."""

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.unit.date, "host": self.unit.host, "status": self.status,
                "reason": self.reason}  # fmt: skip


def check(unit: HostDay, data: bytes | None, key: Ed25519PublicKey | None,
          files: Mapping[str, bytes]) -> Checked:  # fmt: skip
    """A host-day's standing from its manifest bytes, the host's public key and the files
    under its flows folder (name -> bytes)."""
    if data is None:
        return Checked(unit, NO_MANIFEST, "no manifest beside the flows")
    digest = hashlib.sha256(data).hexdigest()
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document")
        listed = {f["file"]: f for f in doc["files"]}
    except (ValueError, KeyError, TypeError) as err:
        return Checked(unit, UNREADABLE, f"manifest: {err}", None, digest)
    if key is None:
        return Checked(unit, NO_KEY, f"host {unit.host} has no key in the key list", None, digest)
    try:
        sign.check(doc, key)
    except ReportError as err:
        return Checked(unit, BAD_SIGNATURE, f"manifest: {err}", None, digest)
    if doc["date"] != unit.date or doc["host"] != unit.host:
        return Checked(unit, MISMATCH, f"the manifest is for {doc['host']} on {doc['date']}")
    problem = _files(listed, files)
    if problem:
        return Checked(unit, MISMATCH, problem, None, digest)
    return Checked(unit, OK, "", doc, digest)


def _files(listed: Mapping[str, Mapping[str, Any]], files: Mapping[str, bytes]) -> str:
    for name in sorted(set(listed) | set(files)):
        if name not in files:
            return f"{name}: named in the manifest, not in the lake"
        if name not in listed:
            return f"{name}: in the lake, not named in the manifest"
        if hashlib.sha256(files[name]).hexdigest() != listed[name]["sha256"]:
            return f"{name}: its sha256 is not the manifest's (changed since sealing)"
    return ""
