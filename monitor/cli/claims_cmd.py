"""`parley extract`: read a live-blog document into claims, one JSON object a line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli._app import app


@app.command("extract")
def extract_command(
    doc: Annotated[
        Path,
        typer.Argument(
            help="A live-blog document (seed JSON shape) or JSON lines of posts; - for stdin."
        ),
    ],
    actors: Annotated[
        list[Path] | None,
        typer.Option("--actors", help="Extra actors file (spec form); repeatable."),
    ] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="A rules directory of your own YAML files; repeatable."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write claims here instead of stdout.")
    ] = None,
) -> None:
    """Read posts into claims (demands, proposals, rejections, agreements, fulfilments) as JSON lines."""
    import structlog

    from monitor.claims import extract, load_pack
    from monitor.claims.document import parse_document, read_document
    from monitor.errors import InputError

    pack = load_pack(actor_files=actors or (), rules_dirs=rules or ())
    posts = parse_document(sys.stdin.read(), "stdin") if str(doc) == "-" else read_document(doc)
    lines = []
    for post in posts:
        for claim in extract(post, pack):
            lines.append(json.dumps(claim.to_json(), ensure_ascii=False))
    body = "".join(line + "\n" for line in lines)
    if out is None:
        sys.stdout.write(body)
    else:
        try:
            out.write_text(body, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{out}: cannot write: {exc}") from None
    structlog.get_logger("parley.extract").info(
        "claims_extracted", document=str(doc), posts=len(posts), claims=len(lines)
    )
