"""The fleet's own lists: the key list (one OpenSSH public key line per host, the host as its
comment, as `residency keys generate HOST` writes HOST.pub) and the list of hosts that should
report (one a line, `#` comments)."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agent.errors import LakeError, ReportError
from agent.files import open_input
from agent.fleet.lake import check_host
from agent.report.sign import load_public


def read_keys(path: str) -> tuple[dict[str, Ed25519PublicKey], str]:
    """Host -> public key, and the list's sha256 (a report names the list it trusted)."""
    with open_input(path) as f:
        data = f.read()
    keys: dict[str, Ed25519PublicKey] = {}
    for n, line in enumerate(data.decode(errors="replace").splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if len(words) < 3:
            raise ReportError(f"{path}: line {n}: want `ssh-ed25519 KEY HOST`")
        host = words[2]
        if host in keys:
            raise ReportError(f"{path}: line {n}: host {host} has a key already")
        keys[_host(host, path, n)] = load_public(" ".join(words[:2]).encode(), f"{path}: line {n}")
    return keys, hashlib.sha256(data).hexdigest()


def read_hosts(path: str) -> list[str]:
    with open_input(path) as f:
        lines = f.read().decode(errors="replace").splitlines()
    words = ((n, line.split("#", 1)[0].strip()) for n, line in enumerate(lines, 1))
    return [_host(word, path, n) for n, word in words if word]


def _host(name: str, path: str, line: int) -> str:
    try:
        return check_host(name)
    except LakeError as err:
        raise LakeError(f"{path}: line {line}: {err}") from err
