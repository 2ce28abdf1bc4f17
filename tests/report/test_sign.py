"""Keys in every documented format, and signatures that hold only for the signer's key and the
exact content."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.errors import ReportError, SetupError
from agent.report.sign import check, generate, key_id, load_private, load_public, sign

ENVELOPE = {"report": {"schema": "residency.report/1", "text": "caf\u00e9 </script>", "n": 1}}


def test_generated_files_load_back_as_one_pair() -> None:
    private, public = generate("auditor")
    assert private.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.startswith(b"ssh-ed25519 ") and public.endswith(b" auditor\n")
    key = load_private(private, "k")
    assert key_id(load_public(public, "k.pub")) == key_id(key.public_key())


def test_every_documented_key_format_gives_the_same_key() -> None:
    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    privates = [
        key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()),
        key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, ser.NoEncryption()),
        base64.b64encode(key.private_bytes(ser.Encoding.Raw, ser.PrivateFormat.Raw,
                                           ser.NoEncryption())) + b"\n",
    ]  # fmt: skip
    publics = [
        pub.public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH),
        pub.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo),
        base64.b64encode(pub.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)),
    ]
    want = key_id(pub)
    assert {key_id(load_private(p, "k").public_key()) for p in privates} == {want}
    assert {key_id(load_public(p, "k.pub")) for p in publics} == {want}


@pytest.mark.parametrize("data", [b"", b"hello", b"-----BEGIN PRIVATE KEY-----\nxx\n", b"AAAA"])
def test_garbage_is_not_a_key(data: bytes) -> None:
    with pytest.raises(SetupError, match="k: not a usable"):
        load_private(data, "k")
    with pytest.raises(SetupError, match="k: not a usable"):
        load_public(data, "k")


def test_other_algorithms_are_refused() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    with pytest.raises(SetupError, match="not an Ed25519 private key"):
        load_private(pem, "k")
    pub = key.public_key().public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH)
    with pytest.raises(SetupError, match="not an Ed25519 public key"):
        load_public(pub, "k.pub")


def test_a_signature_holds_for_its_key_and_content_only() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    signed = sign(ENVELOPE, key)
    assert set(signed["signature"]) == {"algorithm", "key_id", "value"}
    assert check(signed, key.public_key()) == key_id(key.public_key())
    with pytest.raises(ReportError, match="not by the key given"):
        check(signed, other.public_key())
    changed = {**signed, "report": {**signed["report"], "n": 2}}
    with pytest.raises(ReportError, match="changed after it was signed"):
        check(changed, key.public_key())
    with pytest.raises(ReportError, match="not signed"):
        check(ENVELOPE, key.public_key())


@pytest.mark.parametrize("block, message", [
    ({"algorithm": "ed25519", "key_id": "x"}, "exactly"),
    ({"algorithm": "rsa", "key_id": "x", "value": ""}, "unknown signature algorithm"),
    ({"algorithm": "ed25519", "value": "!!", "key_id": None}, "not by the key given"),
])  # fmt: skip
def test_malformed_signature_blocks(block: dict[str, object], message: str) -> None:
    key = Ed25519PrivateKey.generate()
    with pytest.raises(ReportError, match=message):
        check({**ENVELOPE, "signature": block}, key.public_key())


@pytest.mark.parametrize("value", ["!!!!", "AAAA", "", None])
def test_signature_values_are_strict_base64_of_64_bytes(value: object) -> None:
    key = Ed25519PrivateKey.generate()
    block = {"algorithm": "ed25519", "key_id": key_id(key.public_key()), "value": value}
    with pytest.raises(ReportError, match="signature value"):
        check({**ENVELOPE, "signature": block}, key.public_key())
