"""The installation's Ed25519 signing key for evidence packages.

The private key is read from ``settings.FACECASE_SIGNING_KEY_FILE`` (env ``FACECASE_SIGNING_KEY_FILE``, a PEM
PKCS#8 file) when set; otherwise it is generated once into ``<VAR_DIR>/evidence_signing_key.pem`` with mode 0600.
Only the public key ever leaves the server (in each package and on the admin page); its fingerprint is
``SHA256:`` + the hex SHA-256 of the 32 raw public-key bytes, the same string ``facecase_verify`` prints.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

DEFAULT_KEY_NAME = "evidence_signing_key.pem"


class SigningKeyError(Exception):
    """The configured key file is missing, unreadable, too open or not an Ed25519 private key."""


@dataclass(frozen=True)
class PublicKeyInfo:
    raw_b64: str
    pem: str
    fingerprint: str


def configured_key_file() -> str:
    return getattr(settings, "FACECASE_SIGNING_KEY_FILE", "") or ""


def key_path() -> Path:
    configured = configured_key_file()
    return Path(configured) if configured else Path(settings.VAR_DIR) / DEFAULT_KEY_NAME


def _generate(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:  # O_EXCL: two processes starting at once never overwrite each other's key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def private_key() -> Ed25519PrivateKey:
    path = key_path()
    configured = bool(configured_key_file())
    if not path.exists():
        if configured:
            raise SigningKeyError(f"FACECASE_SIGNING_KEY_FILE={path} does not exist")
        _generate(path)
    if path.stat().st_mode & 0o077:
        raise SigningKeyError(f"{path} is readable by others (mode {oct(path.stat().st_mode & 0o777)}); "
                              "chmod 600 it")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        raise SigningKeyError(f"{path} is not a readable PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def fingerprint_of(raw_public_key: bytes) -> str:
    return "SHA256:" + hashlib.sha256(raw_public_key).hexdigest()


def public_key_info() -> PublicKeyInfo:
    public = private_key().public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return PublicKeyInfo(raw_b64=base64.b64encode(raw).decode(), pem=pem, fingerprint=fingerprint_of(raw))


def sign(data: bytes) -> bytes:
    return private_key().sign(data)
