"""Optional signatures on the sealed record: each seal signed with an Ed25519 key the user
keeps (`WORKSHOP_SIGNING_KEY`, a PEM private key file), through `cryptography`.

The hash chain proves the record was not edited after the fact *if* the chain head was seen
before; a signature proves who sealed each row to anyone holding the public key, which the site
publishes (`record/public_key.pem`) and the user can publish elsewhere too. Only the public key
and the signatures ever reach a table, the site or a log; the private key is read from its file
when a run seals, and never stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


class SigningKeyError(ValueError):
    """The signing key file is missing, unreadable or not an Ed25519 private key."""


@dataclass(frozen=True)
class Signer:
    """Signs seals with a private key read from `path` (kept only in this object)."""

    path: Path

    def _key(self):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            key = load_pem_private_key(self.path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            # The message names the file and the problem, never the file's content.
            raise SigningKeyError(
                f"{self.path}: not a readable, unencrypted PEM private key ({type(exc).__name__})"
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{self.path}: the key is not an Ed25519 key")
        return key

    def check(self) -> None:
        """Raise `SigningKeyError` now if the key cannot sign (the settings check it at load)."""
        self._key()

    def sign(self, seals: list[str]) -> list[str]:
        """Each seal's signature (hex), signing its hex digest's bytes."""
        key = self._key()
        return [key.sign(s.encode()).hex() for s in seals]

    def public_pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return (
            self._key()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )


def signer_for(path: str | None) -> Signer | None:
    """The signer of a configured key file (`WORKSHOP_SIGNING_KEY`), or None when unset."""
    return Signer(Path(path)) if path else None


def key_id(public_pem: str) -> str:
    """A short name for a public key: the first 16 hex digits of its PEM's SHA-256."""
    return hashlib.sha256(public_pem.encode()).hexdigest()[:16]


def signature_problem(
    message: str,
    signature: str,
    signer_id: str | None,
    keys: dict[str, str],
    required: str | None,
    where: str,
) -> str | None:
    """Whether `signature` (hex) signs `message` by the key it names (`signer_id`): checked
    against `required` (a PEM the verifier holds) when given, never against a key the record
    supplies; else against the record's published key of that id. None when it verifies."""
    from cryptography.exceptions import InvalidSignature

    if required is not None:
        if signer_id != key_id(required):
            return f"{where} is signed by key {signer_id}, not the one given"
        pem = required
    else:
        pem = keys.get(signer_id or "")
        if pem is None:
            return f"{where} names a signing key the record does not publish"
    key = _public_key(pem)
    if key is None:
        return f"{where}: its public key is not an Ed25519 key"
    try:
        key.verify(bytes.fromhex(signature), message.encode())
    except (InvalidSignature, ValueError):
        return f"{where}: its signature does not verify"
    return None


_KEYS: dict[str, object] = {}


def _public_key(pem: str):
    """The Ed25519 public key of a PEM (None if it is another kind or unreadable), loaded once."""
    if pem not in _KEYS:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        try:
            key = load_pem_public_key(pem.encode())
        except (ValueError, TypeError):
            key = None
        _KEYS[pem] = key if isinstance(key, Ed25519PublicKey) else None
    return _KEYS[pem]


def verify_signatures(
    rows: list[dict], public_keys: dict[str, str], required: str | None = None
) -> str | None:
    """The first problem with the signatures of a chain's rows, or None. Rows sealed before
    signing was configured may be unsigned; from the first signed row on, every row must be
    signed and its signature must verify: with `required` (a PEM the verifier obtained on its
    own), against that key itself, whatever key the record publishes under the same id; without
    it, against the record's published key of the id each row names (which proves only that
    the record and its keys agree)."""
    ordered = sorted(rows, key=lambda r: int(r["seq"]))
    signed = [bool(isinstance(r.get("signature"), str) and r["signature"]) for r in ordered]
    if required is not None and not any(signed):
        return "no seal is signed, but a public key was given"
    first = signed.index(True) if any(signed) else len(ordered)
    for row, is_signed in zip(ordered[first:], signed[first:], strict=True):
        where = f"cycle {row['cycle_key']}: seal {row['seq']}"
        if not is_signed:
            return f"{where} is not signed (the seals before it are)"
        problem = signature_problem(
            row["seal"], row["signature"], row.get("key_id"), public_keys, required, where
        )
        if problem:
            return problem
    return None
