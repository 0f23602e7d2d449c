"""The console and mailbox channels used by `parley demo`."""

from __future__ import annotations

import asyncio
import io
import mailbox
from pathlib import Path

from rich.console import Console

from alerts.channels import build_channel, channel_types
from alerts.channels.console import ConsoleChannel
from alerts.channels.email import thread_id
from alerts.channels.mailbox import MailboxChannel
from tests.alerts.samples import alert, hostile_alert


def test_console_prints_post_text_literally_not_as_markup() -> None:
    """Rich markup in post text ([bold], [link=...]) is printed as typed, never interpreted."""
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    a = hostile_alert(summary="[bold red]PANIC[/] [link=https://evil.example]x[/link]")
    delivery = asyncio.run(ConsoleChannel(name="screen", console=console).send(a))
    printed = out.getvalue()
    assert delivery.status == "printed"
    assert "[bold red]PANIC[/]" in printed
    assert "[link=https://evil.example]x[/link]" in printed
    assert "<!channel>" in printed  # shown as text, which is harmless on a terminal


def test_mailbox_appends_threaded_messages_readable_by_a_mail_reader(tmp_path: Path) -> None:
    """Each alert becomes one mbox message; updates reply to the row's first message."""
    path = tmp_path / "sub" / "alerts.mbox"
    channel = MailboxChannel(name="box", path=path, domain="parley.test")
    asyncio.run(channel.send(alert()))
    asyncio.run(channel.send(alert(key="k:status:2", change="status")))
    box = mailbox.mbox(path)
    messages = list(box)
    box.close()
    assert len(messages) == 2
    root = thread_id(alert().thread, "parley.test")
    assert messages[0]["Message-ID"] == root
    assert messages[1]["In-Reply-To"] == root


def test_every_registered_type_builds_from_config(tmp_path: Path) -> None:
    """Each channel type named in the registry builds from a minimal configuration."""
    env = {"HOOK": "http://127.0.0.1:1/x", "KEY": "k", "PW": "p"}
    minimal = {
        "slack": {"webhook_url_env": "HOOK"},
        "webhook": {"url_env": "HOOK", "secret_env": "KEY"},
        "email": {
            "host": "127.0.0.1",
            "from": "a@b",
            "to": "c@d",
            "username": "u",
            "password_env": "PW",
        },
        "console": {},
        "apprise": {"url_env": "HOOK"},
        "mailbox": {"path": str(tmp_path / "m.mbox")},
    }
    assert channel_types() == sorted(minimal)
    for kind, settings in minimal.items():
        channel = build_channel(f"my-{kind}", {"type": kind, **settings}, env)
        assert channel.name == f"my-{kind}"
