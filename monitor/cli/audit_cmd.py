"""Audit commands: `parley checkpoint`, `parley audit ...`, and (registered from here) replay,
diff, export and copy. Each answers an auditor's question from the log alone."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli import _audit_group
from monitor.cli._app import app
from monitor.cli._audit_group import audit_app

_ = _audit_group  # the group module registers `parley audit`


@app.command("checkpoint")
def checkpoint_command(
    ctx: typer.Context,
    sign: Annotated[
        Path | None,
        typer.Option("--sign", metavar="KEYFILE", help="Sign with this Ed25519 private key."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", metavar="FILE", help="Write here instead of standard output."),
    ] = None,
) -> None:
    """Write the head of the log (position and hash) as a small file, signed when --sign is given.

    Publish it or hand it to an auditor; `parley verify --checkpoint FILE` later proves the log
    still extends it.
    """
    from store import open_store
    from store.checkpoint_file import dumps, load_private_key, take_checkpoint, write_checkpoint

    key = load_private_key(sign) if sign is not None else None
    with open_store(ctx.obj.db_url) as store:
        cp = take_checkpoint(store, now=datetime.now(UTC), key=key)
    if out is None:
        typer.echo(dumps(cp))
        return
    write_checkpoint(cp, out)
    signed = " (signed)" if cp.signed else ""
    typer.echo(f"checkpoint{signed}: position {cp.position}, hash {cp.hash} -> {out}")


@audit_app.command("keygen")
def keygen_command(
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="KEYFILE", help="Private key file (mode 0600).")
    ],
) -> None:
    """Make an Ed25519 key pair for signing checkpoints: KEYFILE and KEYFILE.pub."""
    from store.checkpoint_file import (
        CheckpointError,
        new_private_key,
        private_key_pem,
        public_key_pem,
    )

    key = new_private_key()
    public = out.with_name(out.name + ".pub")
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CheckpointError(f"{out}: already exists; not overwriting a key") from None
    except OSError as exc:
        raise CheckpointError(f"{out}: cannot create the key file: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_key_pem(key))
    public.write_bytes(public_key_pem(key))
    typer.echo(f"private key: {out} (keep it secret)\npublic key: {public} (give it to auditors)")


@audit_app.command("checkpoint-verify")
def checkpoint_verify_command(
    ctx: typer.Context,
    checkpoint: Annotated[Path, typer.Argument(metavar="FILE", help="A checkpoint file.")],
    pubkey: Annotated[
        Path | None,
        typer.Option("--pubkey", metavar="FILE", help="The key the checkpoint must be signed by."),
    ] = None,
) -> None:
    """Prove that the log still extends a checkpoint (the same check as `parley verify --checkpoint`)."""
    if not report_checkpoint(ctx.obj.db_url, checkpoint, pubkey):
        raise typer.Exit(code=2)


def report_checkpoint(db_url: str, checkpoint: Path, pubkey: Path | None) -> bool:
    """Check `checkpoint` against the log at `db_url`, print the outcome, return whether it holds."""
    from store import open_store
    from store.checkpoint_file import check_checkpoint, load_public_key, read_checkpoint

    cp = read_checkpoint(checkpoint)
    key = load_public_key(pubkey) if pubkey is not None else None
    with open_store(db_url) as store:
        report = check_checkpoint(store, cp, public_key=key)
    typer.echo(f"checkpoint: position {cp.position}, hash {cp.hash}, taken {cp.created_at}")
    if cp.signed:
        whose = "the given key" if key is not None else "the key named in the file only"
        typer.echo(f"signature: ed25519 by {cp.public_key[:16]}... (checked against {whose})")
    if report.ok:
        typer.echo(
            f"ok: the log extends the checkpoint ({report.events_checked} events recomputed; "
            f"head is now {report.head_position})"
        )
        return True
    for problem in report.problems:
        typer.echo(f"FAILED: {problem}", err=True)
    if report.first_bad_position is not None:
        typer.echo(f"first bad position: {report.first_bad_position}", err=True)
    return False


def _register_more() -> None:
    """The other audit commands live in their own modules; importing them registers them."""
    from monitor.cli import export_cmd, history_cmd, replay_cmd

    _ = (export_cmd, history_cmd, replay_cmd)


_register_more()
