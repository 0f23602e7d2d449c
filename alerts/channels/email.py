"""Email over SMTP: an alert as a multipart (text + HTML) message that threads per row.

`email_message(alert, ...)` (pure) builds the message. Every value in the HTML part is escaped.
The `Message-ID` is derived from the alert key, so a re-sent alert has the same id and a mail
client shows it once. Alerts about one row thread together: the row's first alert (change `new`)
carries the row's thread id as its `Message-ID`; every later alert about the row names that id in
`In-Reply-To` and `References` and has `Re: ` before the same subject.

`EmailChannel.send` talks SMTP with the standard library in a worker thread: plain, STARTTLS or
implicit TLS, with or without login. A server that refuses (5xx, including a failed login, or every
recipient refused) gives a permanent `DeliveryError`; 4xx answers, timeouts and connection errors
are retryable. Errors carry the server's reply, never the password.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from typing import Any, Literal

from alerts.errors import AlertConfigError, DeliveryError
from alerts.model import Alert, Delivery
from alerts.render import html_body, text_body
from alerts.secrets import Secret, resolve

Security = Literal["plain", "starttls", "tls"]
SUBJECT_MAX = 200
_SPACE = re.compile(r"\s+")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def message_id(alert_key: str, domain: str) -> str:
    """The stable Message-ID of the alert with `alert_key`."""
    return f"<alert-{_digest(alert_key)}@{domain}>"


def thread_id(thread: str, domain: str) -> str:
    """The Message-ID of a row's first alert, which later alerts about the row reply to."""
    return f"<row-{_digest(thread)}@{domain}>"


def _subject(alert: Alert) -> str:
    title = _SPACE.sub(" ", alert.title).strip()  # a newline in a header would inject headers
    if len(title) > SUBJECT_MAX:
        title = title[: SUBJECT_MAX - 1] + "…"
    subject = f"[Parley] {title}"
    return subject if alert.change in ("new", "test", "digest") else f"Re: {subject}"


def email_message(
    alert: Alert, *, sender: str, recipients: Sequence[str], domain: str, now: datetime
) -> EmailMessage:
    """The multipart/alternative message for `alert`, with stable id and threading headers."""
    msg = EmailMessage()
    msg["Subject"] = _subject(alert)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(now)
    root = thread_id(alert.thread, domain)
    if alert.change == "new":
        msg["Message-ID"] = root
    else:
        msg["Message-ID"] = message_id(alert.key, domain)
        if alert.change not in ("test", "digest"):
            msg["In-Reply-To"] = root
            msg["References"] = root
    msg["X-Parley-Alert-Key"] = _SPACE.sub(" ", alert.key)
    msg.set_content(text_body(alert))
    msg.add_alternative(html_body(alert), subtype="html")
    return msg


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(kw_only=True, slots=True)
class EmailChannel:
    """Sends alerts to fixed recipients through one SMTP server."""

    name: str
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    security: Security = "starttls"
    username: str | None = None
    password: Secret | None = None
    ca_file: str | None = None  # trust this CA (a private relay's self-signed certificate)
    domain: str = "parley.invalid"  # right-hand side of Message-IDs
    timeout: float = 30.0
    clock: Callable[[], datetime] = field(default=_utcnow)

    async def send(self, alert: Alert) -> Delivery:
        """Send `alert`; see the module docstring for what raises `DeliveryError`."""
        now = self.clock()
        msg = email_message(
            alert, sender=self.sender, recipients=self.recipients, domain=self.domain, now=now
        )
        code, answer = await asyncio.to_thread(self._send_blocking, msg)
        return Delivery(channel=self.name, status=str(code), answer=answer, at=self.clock())

    def _fail(self, what: str, code: int | None, reply: bytes | str) -> DeliveryError:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
        if self.password is not None:
            text = self.password.scrub(text)
        status = "" if code is None else str(code)
        return DeliveryError(
            f"email channel {self.name} ({self.host}:{self.port}): {what}: {status} {text}".rstrip(),
            channel=self.name,
            permanent=code is not None and code >= 500,
            status=status,
        )

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            smtp.ehlo()
            smtp.starttls(context=context)
        return smtp

    def _send_blocking(self, msg: EmailMessage) -> tuple[int, str]:
        try:
            with self._connect() as smtp:
                smtp.ehlo()
                if self.username is not None and self.password is not None:
                    try:
                        smtp.login(self.username, self.password.reveal())
                    except smtplib.SMTPAuthenticationError as exc:
                        raise self._fail(
                            f"login as {self.username} refused", exc.smtp_code, exc.smtp_error
                        ) from None
                return self._transaction(smtp, msg)
        except DeliveryError:
            raise
        except smtplib.SMTPNotSupportedError as exc:
            raise self._fail(
                "server does not support what the configuration asks", 530, str(exc)
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise self._fail("server refused", exc.smtp_code, exc.smtp_error) from None
        except ssl.SSLCertVerificationError as exc:
            raise self._fail("TLS certificate not trusted", 554, exc.verify_message or "") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise self._fail(type(exc).__name__, None, str(exc)) from None

    def _transaction(self, smtp: smtplib.SMTP, msg: EmailMessage) -> tuple[int, str]:
        code, reply = smtp.mail(self.sender)
        if code != 250:
            raise self._fail(f"sender {self.sender} refused", code, reply)
        refused: dict[str, tuple[int, bytes]] = {}
        for rcpt in self.recipients:
            code, reply = smtp.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = (code, reply)
        if len(refused) == len(self.recipients):
            smtp.rset()
            worst = max(c for c, _ in refused.values())
            detail = "; ".join(
                f"{r}: {c} {m.decode('utf-8', 'replace')}" for r, (c, m) in refused.items()
            )
            raise self._fail("every recipient refused", worst, detail)
        code, reply = smtp.data(msg.as_bytes(policy=SMTP_POLICY))
        if code != 250:
            raise self._fail("message refused", code, reply)
        answer = reply.decode("utf-8", "replace")
        if refused:
            answer += " (refused: " + ", ".join(sorted(refused)) + ")"
        return code, answer


def from_config(name: str, settings: Mapping[str, Any], environ: Mapping[str, str]) -> EmailChannel:
    """An `EmailChannel` from its config table (see docs/alerts.md for the keys)."""
    where = f"alerts channel {name!r}"
    security = str(settings.get("security", "starttls"))
    if security not in ("plain", "starttls", "tls"):
        raise AlertConfigError(
            f"{where}: security must be plain, starttls or tls, not {security!r}"
        )
    for key in ("host", "from", "to"):
        if not settings.get(key):
            raise AlertConfigError(f"{where}: missing {key}")
    to = settings["to"]
    recipients = (to,) if isinstance(to, str) else tuple(str(t) for t in to)
    username = settings.get("username")
    password = resolve(
        settings, "password", environ=environ, where=where, required=username is not None
    )
    default_port = {"plain": 25, "starttls": 587, "tls": 465}[security]
    return EmailChannel(
        name=name,
        host=str(settings["host"]),
        port=int(settings.get("port", default_port)),
        sender=str(settings["from"]),
        recipients=recipients,
        security=security,  # type: ignore[arg-type]  # checked above
        username=None if username is None else str(username),
        password=password,
        ca_file=settings.get("ca_file"),
        domain=str(settings.get("message_id_domain", "parley.invalid")),
        timeout=float(settings.get("timeout", 30.0)),
    )
