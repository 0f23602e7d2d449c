"""Signed checkpoints: the head of the log as a small file to publish or hand to an auditor.

    cp = take_checkpoint(store, now=datetime.now(UTC), key=load_private_key(path))
    write_checkpoint(cp, Path("head-1200.json"))
    problems = check_checkpoint(store, read_checkpoint(Path("head-1200.json")), public_key=pub)

A checkpoint file is canonical JSON:

    {"format": "parley-checkpoint/1", "position": 1200, "hash": "9f2c...", "created_at": "...",
     "signature": {"algorithm": "ed25519", "public_key": "<64 hex>", "value": "<128 hex>"}}

The signature (optional) is Ed25519 over the canonical JSON of the other four fields. Proving that
the log still extends a checkpoint means recomputing the hash chain from position 1 up to the
checkpoint's position and finding the checkpoint's hash there: any byte changed, any event dropped,
inserted or reordered before it, or a tail cut off below it, breaks that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store.canonical import GENESIS_HASH, canonical_json, format_time, stored_row_hash
from store.errors import StoreError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from store._projections import ProjectionStore

FORMAT = "parley-checkpoint/1"
_HEX = frozenset("0123456789abcdef")


class CheckpointError(StoreError):
    """A checkpoint or key file that cannot be read, parsed or trusted (names the file)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Checkpoint:
    """A head of the log as written down at `created_at`, with an optional Ed25519 signature."""

    position: int
    hash: str
    created_at: str
    public_key: str = ""  # hex of the raw 32-byte Ed25519 public key, when signed
    signature: str = ""  # hex of the 64-byte signature, when signed

    @property
    def signed(self) -> bool:
        return bool(self.signature)

    def body(self) -> dict[str, Any]:
        """The signed fields."""
        return {
            "format": FORMAT,
            "position": self.position,
            "hash": self.hash,
            "created_at": self.created_at,
        }

    def message(self) -> bytes:
        """The exact bytes the signature covers: the canonical JSON of `body()`."""
        return canonical_json(self.body(), where="checkpoint").encode()

    def to_json(self) -> dict[str, Any]:
        data = self.body()
        if self.signed:
            data["signature"] = {
                "algorithm": "ed25519",
                "public_key": self.public_key,
                "value": self.signature,
            }
        return data


def take_checkpoint(
    store: ProjectionStore, *, now: datetime, key: Ed25519PrivateKey | None = None
) -> Checkpoint:
    """The store's current head as a checkpoint, signed with `key` when given."""
    head = store.head()
    cp = Checkpoint(position=head.position, hash=head.hash, created_at=format_time(now))
    return sign(cp, key) if key is not None else cp


def sign(cp: Checkpoint, key: Ed25519PrivateKey) -> Checkpoint:
    """`cp` signed with `key` (any earlier signature replaced)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    return Checkpoint(
        position=cp.position,
        hash=cp.hash,
        created_at=cp.created_at,
        public_key=public,
        signature=key.sign(cp.message()).hex(),
    )


def write_checkpoint(cp: Checkpoint, path: Path) -> None:
    """Write `cp` as canonical JSON with a final newline; raises `CheckpointError` naming `path`."""
    try:
        path.write_text(canonical_json(cp.to_json(), where=str(path)) + "\n", encoding="utf-8")
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot write the checkpoint: {exc.strerror}") from exc


def dumps(cp: Checkpoint) -> str:
    """`cp` as the text `write_checkpoint` writes (without the newline)."""
    return canonical_json(cp.to_json(), where="checkpoint")


def read_checkpoint(path: Path) -> Checkpoint:
    """Parse a checkpoint file; raises `CheckpointError` naming the file and the bad field."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint: {exc.strerror}") from exc
    except ValueError as exc:
        raise CheckpointError(f"{path}: not a checkpoint file (not JSON: {exc})") from exc
    return parse_checkpoint(data, where=str(path))


def parse_checkpoint(data: Any, *, where: str) -> Checkpoint:
    """A checkpoint from its JSON data; raises `CheckpointError` naming `where` and the field."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{where}: not a checkpoint file (format must be {FORMAT!r})")
    position, digest, created = data.get("position"), data.get("hash"), data.get("created_at")
    if type(position) is not int or position < 0:
        raise CheckpointError(f"{where}: position must be an integer >= 0, not {position!r}")
    if not _is_hex(digest, 64):
        raise CheckpointError(f"{where}: hash must be 64 lowercase hex characters")
    if not isinstance(created, str) or not created:
        raise CheckpointError(f"{where}: created_at must be a timestamp string")
    signature = data.get("signature")
    if signature is None:
        return Checkpoint(position=position, hash=str(digest), created_at=created)
    if not isinstance(signature, dict) or signature.get("algorithm") != "ed25519":
        raise CheckpointError(f"{where}: signature.algorithm must be 'ed25519'")
    public, value = signature.get("public_key"), signature.get("value")
    if not _is_hex(public, 64) or not _is_hex(value, 128):
        raise CheckpointError(
            f"{where}: signature.public_key must be 64 and signature.value 128 hex characters"
        )
    return Checkpoint(
        position=position,
        hash=str(digest),
        created_at=created,
        public_key=str(public),
        signature=str(value),
    )


def _is_hex(value: Any, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and set(value) <= _HEX


# Keys --------------------------------------------------------------------------------------------
def new_private_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    """`key` as unencrypted PKCS#8 PEM (keep the file private: mode 0600)."""
    from cryptography.hazmat.primitives import serialization as s

    return key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The public half of `key` as SubjectPublicKeyInfo PEM, the file to give auditors."""
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM (PKCS#8) or OpenSSH file; `CheckpointError` otherwise."""
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = _read_bytes(path, "key")
    try:
        key: Any = (
            s.load_ssh_private_key(data, password=None)
            if b"OPENSSH PRIVATE KEY" in data
            else s.load_pem_private_key(data, password=None)
        )
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: not an unencrypted private key file ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path}: the key is {type(key).__name__}, not Ed25519")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM, OpenSSH (`ssh-ed25519 ...`) or 64-hex file."""
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = _read_bytes(path, "public key").strip()
    try:
        if _is_hex(data.decode("ascii", "replace").lower(), 64):
            return Ed25519PublicKey.from_public_bytes(bytes.fromhex(data.decode()))
        key: Any = (
            s.load_ssh_public_key(data) if data.startswith(b"ssh-") else s.load_pem_public_key(data)
        )
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a public key file ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{path}: the key is {type(key).__name__}, not Ed25519")
    return key


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the {what}: {exc.strerror}") from exc


def check_signature(cp: Checkpoint, public_key: Ed25519PublicKey | None) -> list[str]:
    """Problems with `cp`'s signature ([] when it holds).

    With `public_key`, the checkpoint must be signed by exactly that key. Without one, a signature
    is checked against the key the file names (this proves the file was not altered, not who made
    it), and an unsigned file passes.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    if not cp.signed:
        return ["the checkpoint is not signed, but a public key was given"] if public_key else []
    named = Ed25519PublicKey.from_public_bytes(bytes.fromhex(cp.public_key))
    if public_key is not None:
        expected = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        if expected != cp.public_key:
            return [
                f"signed by key {cp.public_key[:16]}..., not by the given key {expected[:16]}..."
            ]
    try:
        named.verify(bytes.fromhex(cp.signature), cp.message())
    except InvalidSignature:
        return ["the signature does not match the checkpoint's contents (file altered)"]
    return []


# The proof -----------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, slots=True)
class ExtendsReport:
    """Whether the log still extends a checkpoint. `ok` when `problems` is empty."""

    checkpoint: Checkpoint
    head_position: int
    events_checked: int
    first_bad_position: int | None = None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def check_checkpoint(
    store: ProjectionStore,
    cp: Checkpoint,
    *,
    public_key: Ed25519PublicKey | None = None,
    batch_size: int = 5000,
) -> ExtendsReport:
    """Prove that the log of `store` still extends `cp`: recompute the chain from 1 to `cp.position`.

    Never raises for what it finds (the report lists it); raises `StoreError` only when the
    database cannot be read.
    """
    problems = check_signature(cp, public_key)
    checked, bad, why = _walk_to(store, cp, batch_size=batch_size)
    if why:
        problems.append(why)
    return ExtendsReport(
        checkpoint=cp,
        head_position=store.head().position,
        events_checked=checked,
        first_bad_position=bad,
        problems=tuple(problems),
    )


def _walk_to(
    store: ProjectionStore, cp: Checkpoint, *, batch_size: int
) -> tuple[int, int | None, str]:
    """Recompute the chain up to `cp.position`; return (checked, first bad position, problem)."""
    if cp.position == 0:
        return 0, None, "" if cp.hash == GENESIS_HASH else "position 0 must have the genesis hash"
    prev, expected, checked = GENESIS_HASH, 1, 0
    for row in store.stored_rows(batch_size=batch_size):
        position = row[0]
        if position != expected:
            return (
                checked,
                expected,
                (
                    f"position {expected}: missing (the next stored event is {position}); "
                    "the log no longer extends the checkpoint"
                ),
            )
        computed = stored_row_hash(prev, row)
        if row[8] != prev or computed != row[9]:
            what = "prev_hash does not link" if row[8] != prev else "contents do not match its hash"
            return (
                checked,
                position,
                (
                    f"position {position}: {what} (changed, removed or reordered events); "
                    "the log no longer extends the checkpoint"
                ),
            )
        checked += 1
        if position == cp.position:
            if computed != cp.hash:
                return (
                    checked,
                    position,
                    (
                        f"position {position}: hash is {computed[:16]}..., the checkpoint says "
                        f"{cp.hash[:16]}... (the log was rewritten before or at the checkpoint)"
                    ),
                )
            return checked, None, ""
        prev, expected = computed, expected + 1
    return (
        checked,
        expected,
        (
            f"the log ends at position {expected - 1}, before the checkpoint's position "
            f"{cp.position} (events were cut off)"
        ),
    )
