"""The email channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from alerts.channels.email import EmailChannel, thread_id
from alerts.errors import DeliveryError
from alerts.secrets import Secret
from tests.alerts.samples import alert, hostile_alert
from tests.alerts.servers import free_port
from tests.alerts.smtp_server import PASSWORD, USER, make_certificate, smtp_server


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, shared by the TLS tests."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def _part(msg: EmailMessage, subtype: str) -> str:
    body = msg.get_body((subtype,))
    assert body is not None
    return str(body.get_content())


def _channel(port: int, **kw: Any) -> EmailChannel:
    base: dict[str, Any] = {
        "name": "desk-mail",
        "host": "127.0.0.1",
        "port": port,
        "sender": "parley@example.org",
        "recipients": ("desk@example.org", "editor@example.org"),
        "security": "plain",
        "domain": "parley.test",
        "timeout": 5.0,
    }
    base.update(kw)
    return EmailChannel(**base)


def test_email_arrives_multipart_with_stable_id_and_threads_per_row() -> None:
    """Text and HTML parts arrive; the same alert keeps its Message-ID; an update replies to the row's first alert."""
    first = alert()
    update = alert(
        key="agreed_exchanges:prisoner_exchange|RUS+UKR:status:2",
        change="status",
        status="carried out",
    )
    with smtp_server() as srv:
        channel = _channel(srv.port)
        delivery = asyncio.run(channel.send(first))
        asyncio.run(channel.send(update))
        asyncio.run(channel.send(update))
    assert delivery.status == "250"
    assert "queued as PARLEY1" in delivery.answer
    a, b, c = (x.message for x in srv.recorder.arrived)
    assert srv.recorder.arrived[0].rcpt_tos == ["desk@example.org", "editor@example.org"]
    assert a.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in a.iter_parts()] == ["text/plain", "text/html"]
    root = thread_id(first.thread, "parley.test")
    assert a["Message-ID"] == root
    assert b["In-Reply-To"] == root
    assert b["References"] == root
    assert b["Message-ID"] != root
    assert b["Message-ID"] == c["Message-ID"]
    assert b["Subject"] == "Re: " + a["Subject"]
    text = _part(a, "plain")
    assert "Parties: RUS, UKR" in text
    assert "> Russia and Ukraine agreed" in text


def test_hostile_text_is_escaped_in_html_and_headers_stay_single_line() -> None:
    """Script tags and markup from a post arrive escaped; a javascript: URL is never a link."""
    bad = hostile_alert(title="Deal\r\nBcc: victim@example.org <script>")
    with smtp_server() as srv:
        asyncio.run(_channel(srv.port).send(bad))
    msg = srv.recorder.arrived[0].message
    assert srv.recorder.arrived[0].rcpt_tos == ["desk@example.org", "editor@example.org"]
    assert msg["Bcc"] is None
    html = _part(msg, "html")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<b>" not in html
    assert "javascript:" not in html
    assert "&lt;!channel&gt;" in html


def test_starttls_with_login_delivers_and_server_sees_the_user(
    certificate: tuple[Path, Path],
) -> None:
    """STARTTLS then AUTH LOGIN works against a server that requires both."""
    cert, key = certificate
    ctx = _server_context(cert, key)
    with smtp_server(tls_context=ctx, require_starttls=True, login=True) as srv:
        channel = _channel(
            srv.port,
            security="starttls",
            username=USER,
            password=Secret(PASSWORD),
            ca_file=str(cert),
        )
        asyncio.run(channel.send(alert()))
    assert srv.recorder.arrived[0].login == USER


def test_implicit_tls_with_login_delivers(certificate: tuple[Path, Path]) -> None:
    """Implicit TLS (SMTPS) with login delivers the message."""
    cert, key = certificate
    with smtp_server(
        ssl_context=_server_context(cert, key), login=True, auth_require_tls=False
    ) as srv:
        channel = _channel(
            srv.port, security="tls", username=USER, password=Secret(PASSWORD), ca_file=str(cert)
        )
        asyncio.run(channel.send(alert()))
    assert srv.recorder.arrived[0].login == USER


def test_untrusted_certificate_is_a_permanent_error(certificate: tuple[Path, Path]) -> None:
    """A server whose certificate nobody configured to trust is refused, not retried forever."""
    cert, key = certificate
    with (
        smtp_server(tls_context=_server_context(cert, key)) as srv,
        pytest.raises(DeliveryError) as info,
    ):
        asyncio.run(_channel(srv.port, security="starttls").send(alert()))
    assert info.value.permanent
    assert "certificate" in str(info.value)


def test_wrong_password_is_permanent_and_never_shown(certificate: tuple[Path, Path]) -> None:
    """A refused login is a permanent error naming the user and the server's reply, not the password."""
    wrong = "not-the-" + PASSWORD
    with smtp_server(login=True, auth_require_tls=False) as srv:
        channel = _channel(srv.port, username=USER, password=Secret(wrong))
        with pytest.raises(DeliveryError) as info:
            asyncio.run(channel.send(alert()))
    assert info.value.permanent
    assert info.value.status == "535"
    assert USER in str(info.value)
    assert wrong not in str(info.value)
    assert srv.recorder.arrived == []


@pytest.mark.parametrize(
    ("where", "answer", "permanent"),
    [
        ("data", "554 5.7.1 Message rejected as spam", True),
        ("data", "451 4.3.0 Try again later", False),
        ("rcpt", "550 5.1.1 No such user", True),
        ("rcpt", "450 4.2.1 Mailbox busy", False),
    ],
)
def test_refusing_server_gives_error_with_its_reply(
    where: str, answer: str, permanent: bool
) -> None:
    """5xx refusals are permanent, 4xx retryable, and the server's reply is in the message."""
    with smtp_server() as srv:
        setattr(srv.recorder, f"{where}_answer", answer)
        with pytest.raises(DeliveryError) as info:
            asyncio.run(_channel(srv.port).send(alert()))
    assert info.value.permanent is permanent
    assert answer.split(" ", 1)[1] in str(info.value)


def test_nothing_listening_is_retryable() -> None:
    """A mail server that is down gives a retryable error naming host and port."""
    port = free_port()
    with pytest.raises(DeliveryError) as info:
        asyncio.run(_channel(port).send(alert()))
    assert not info.value.permanent
    assert f"127.0.0.1:{port}" in str(info.value)
