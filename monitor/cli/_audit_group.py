"""The `parley audit` command group: `parley audit ROW` beside named subcommands (`alerts`, `keygen`).

Click resolves the first word after `audit` as a subcommand; a word that names none is taken as a
view row key and handed to the `row` subcommand, so `parley audit "UKR|ceasefire|*"` works.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from monitor.cli._app import app


class _RowFallbackGroup(TyperGroup):
    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            row = self.commands.get("row")
            if row is not None:
                return "row", row, args
        return super().resolve_command(ctx, args)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)


audit_app = typer.Typer(
    cls=_RowFallbackGroup,
    help=(
        "Audit the log: `parley audit ROW` (the history of one view row), `parley audit alerts` "
        "(alerts that should have fired against the delivery trail), checkpoint keys."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(audit_app, name="audit")

__all__ = ["audit_app"]
