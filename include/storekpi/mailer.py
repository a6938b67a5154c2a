"""Delivering e-mails: to an outbox folder as `.eml` files, or through the Airflow SMTP provider.

One function, `send`, for every e-mail storekpi writes (alerts, the data role's "run blocked" notice), so the
`--outbox` switch and the SMTP connection behave the same everywhere. Messages are built by the caller as
`email.message.EmailMessage` with the default policy: UTF-8 bodies, RFC 2047 headers, so Chinese store names survive
any relay. `message()` is a helper that builds such a message with a plain-text and an HTML part.

SMTP settings come from the Airflow connection `smtp_default` (e.g. the environment variable
`AIRFLOW_CONN_SMTP_DEFAULT='smtp://user:pass@mail.example.com:587'`, extras `disable_ssl`, `disable_tls`,
`from_email`). The sender is the connection's `from_email`, else `$STOREKPI_MAIL_FROM`, else `storekpi@localhost`.
With no `--outbox` and no SMTP connection defined, messages are spooled to `$STOREKPI_HOME/outbox` with a warning
instead of failing the run: a missing mail relay must neither lose an alert nor hold back validated data.
Log lines never name a recipient: addresses are personal data.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formatdate, make_msgid
from pathlib import Path

from storekpi.runspec import state_dir

log = logging.getLogger(__name__)

SMTP_CONN_ID = "smtp_default"
DEFAULT_SENDER = "storekpi@localhost"
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9@._+-]")
_OUTBOX_NUMBER = re.compile(r"^(\d+)-")


def sender() -> str:
    """The From address when the SMTP connection does not impose one."""
    return os.environ.get("STOREKPI_MAIL_FROM") or DEFAULT_SENDER


def message(*, to: str | Iterable[str], subject: str, text: str, html: str | None = None,
            attachments: Iterable[Path] = ()) -> EmailMessage:
    """A UTF-8 message with a plain-text part, an optional HTML alternative and file attachments."""
    msg = EmailMessage(policy=default_policy)
    msg["From"] = sender()
    msg["To"] = to if isinstance(to, str) else ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="storekpi.local")
    # Non-ASCII parts go base64: 7-bit clean, so no relay needs 8BITMIME and nothing re-encodes the UTF-8.
    msg.set_content(text, charset="utf-8", cte=None if text.isascii() else "base64")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte=None if html.isascii() else "base64")
    for path in attachments:
        path = Path(path)
        subtype = "html" if path.suffix == ".html" else "plain"
        msg.add_attachment(path.read_bytes(), maintype="text", subtype=subtype, filename=path.name,
                           params={"charset": "utf-8"})
    return msg


def send(messages: list[EmailMessage], *, outbox: Path | None) -> list[str]:
    """Deliver every message; returns one identifier per message (the `.eml` path, or the To header).

    outbox set: each message becomes `<outbox>/<n>-<recipient>.eml`, n continuing after the highest number already
    there so that nothing written earlier (another run, the quality gate) is overwritten, like a mail spool.
    """
    if not messages:
        return []
    if outbox is not None:
        return _write_outbox(messages, Path(outbox))
    if not _smtp_configured():
        spool = state_dir() / "outbox"
        log.warning("no SMTP connection %r is defined (set AIRFLOW_CONN_SMTP_DEFAULT or pass --outbox): "
                    "spooling %d e-mail(s) to %s", SMTP_CONN_ID, len(messages), spool)
        return _write_outbox(messages, spool)
    return _send_smtp(messages)


def _smtp_configured() -> bool:
    from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook

    try:
        BaseHook.get_connection(SMTP_CONN_ID)
    except AirflowNotFoundException:
        return False
    return True


def _write_outbox(messages: list[EmailMessage], outbox: Path) -> list[str]:
    outbox.mkdir(parents=True, exist_ok=True)
    taken = [int(m.group(1)) for p in outbox.iterdir() if (m := _OUTBOX_NUMBER.match(p.name))]
    number = max(taken, default=0)
    written = []
    for msg in messages:
        number += 1
        recipient = _UNSAFE_FILENAME.sub("_", str(msg["To"]).split(",")[0].strip()) or "unknown"
        path = outbox / f"{number}-{recipient}.eml"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(msg.as_bytes(policy=default_policy))
        os.replace(tmp, path)
        written.append(str(path))
    log.info("wrote %d e-mail(s) to outbox %s", len(written), outbox)
    return written


def _send_smtp(messages: list[EmailMessage]) -> list[str]:
    # Imported here: the provider pulls in Airflow, which the outbox path and the report do not need.
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    sent = []
    with SmtpHook(smtp_conn_id=SMTP_CONN_ID) as hook:
        # The hook's own send_email_smtp builds an HTML-only MIME message; we need our multipart/alternative
        # messages as built, so we use the client the hook connected (TLS, login, retries done by the hook).
        client = hook._smtp_client
        forced_sender = hook.from_email
        for msg in messages:
            if forced_sender:
                del msg["From"]
                msg["From"] = forced_sender
            client.send_message(msg)
            sent.append(str(msg["To"]))
    log.info("sent %d e-mail(s) through SMTP connection %s", len(sent), SMTP_CONN_ID)
    return sent
