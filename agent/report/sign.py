"""Ed25519 keys, and signatures over the canonical bytes of a report envelope less its
signature block.

Key files (`residency keys generate NAME`): NAME is the private key as unencrypted PKCS#8 PEM
("-----BEGIN PRIVATE KEY-----"), mode 0600; NAME.pub is one OpenSSH line ("ssh-ed25519 AAAA...
NAME"). The loaders also take PEM public keys, OpenSSH private keys, and the 32 raw key bytes
in base64. A key's id is the SHA-256 of its 32 raw public bytes, in hex.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agent.errors import ReportError, SetupError
from agent.findings.document import canonical

ALGORITHM = "ed25519"
SIGNATURE_KEYS = {"algorithm", "key_id", "value"}


def generate(comment: str) -> tuple[bytes, bytes]:
    """A new key pair as file contents: (private PEM, public OpenSSH line)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    public = key.public_key().public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH)
    return private, public + f" {comment}\n".encode()


def load_private(data: bytes, path: str) -> Ed25519PrivateKey:
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            key: object = ser.load_ssh_private_key(data, None)
        elif data.lstrip().startswith(b"-----"):
            key = ser.load_pem_private_key(data, None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(_raw(data))
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise SetupError(f"{path}: not a usable private key: {err}") from err
    if not isinstance(key, Ed25519PrivateKey):
        raise SetupError(f"{path}: not an Ed25519 private key")
    return key


def load_public(data: bytes, path: str) -> Ed25519PublicKey:
    try:
        if data.startswith(b"ssh-"):
            key: object = ser.load_ssh_public_key(data.strip())
        elif data.lstrip().startswith(b"-----"):
            key = ser.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(_raw(data))
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise SetupError(f"{path}: not a usable public key: {err}") from err
    if not isinstance(key, Ed25519PublicKey):
        raise SetupError(f"{path}: not an Ed25519 public key")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(key.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)).hexdigest()


def signed_bytes(envelope: dict[str, Any]) -> bytes:
    """What the signature covers: the envelope without its signature block, canonical."""
    return canonical({k: v for k, v in envelope.items() if k != "signature"})


def sign(envelope: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    value = base64.b64encode(key.sign(signed_bytes(envelope))).decode()
    block = {"algorithm": ALGORITHM, "key_id": key_id(key.public_key()), "value": value}
    return {**envelope, "signature": block}


def check(envelope: dict[str, Any], key: Ed25519PublicKey) -> str:
    """The signer's key id when `key` signed exactly this envelope; else ReportError."""
    block = envelope.get("signature")
    if block is None:
        raise ReportError("the report is not signed")
    if not isinstance(block, dict) or set(block) != SIGNATURE_KEYS:
        raise ReportError(f"the signature block must have exactly {sorted(SIGNATURE_KEYS)}")
    if block["algorithm"] != ALGORITHM:
        raise ReportError(f"unknown signature algorithm {block['algorithm']!r}")
    mine = key_id(key)
    if block["key_id"] != mine:
        raise ReportError(f"signed by key sha256:{str(block['key_id'])[:16]}, "
                          f"not by the key given (sha256:{mine[:16]})")  # fmt: skip
    value = _signature(block["value"])
    try:
        key.verify(value, signed_bytes(envelope))
    except InvalidSignature as err:
        raise ReportError("the signature does not match: the report was changed after it was "
                          "signed") from err  # fmt: skip
    return mine


def _signature(text: object) -> bytes:
    """Strict base64 of 64 bytes: one text per signature, so no byte of it can change unseen."""
    try:
        raw = base64.b64decode(str(text), validate=True)
    except binascii.Error as err:
        raise ReportError(f"the signature value is not base64: {err}") from err
    if len(raw) != 64 or base64.b64encode(raw).decode() != text:
        raise ReportError("the signature value is not one Ed25519 signature in base64")
    return raw


def _raw(data: bytes) -> bytes:
    """32 key bytes from base64 text."""
    try:
        raw = base64.b64decode(data.strip(), validate=True)
    except binascii.Error as err:
        raise ValueError(f"not PEM, OpenSSH or base64: {err}") from err
    if len(raw) != 32:
        raise ValueError(f"raw keys are 32 bytes, this is {len(raw)}")
    return raw
