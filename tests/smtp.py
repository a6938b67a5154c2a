"""A real SMTP server on localhost (aiosmtpd) that records what it receives, for tests of e-mail delivery."""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterator

from aiosmtpd.controller import Controller


class Recorder:
    """Keeps every envelope the server accepts."""

    def __init__(self):
        self.envelopes = []
        self.url = ""

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    def wait_for(self, count: int, seconds: float = 10) -> list:
        deadline = time.monotonic() + seconds
        while len(self.envelopes) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.envelopes)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_server() -> Iterator[Recorder]:
    """Start a server; `recorder.url` is the Airflow connection URI for it (no TLS, a fixed sender)."""
    # The server's own log names peers and recipients and is written from its thread, possibly after a test's
    # capture has closed: keep it to warnings.
    server_log = logging.getLogger("mail.log")
    level = server_log.level
    server_log.setLevel(logging.WARNING)
    recorder = Recorder()
    port = _free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    recorder.url = f"smtp://127.0.0.1:{port}?disable_tls=true&disable_ssl=true&from_email=kpi%40shop.example"
    try:
        yield recorder
    finally:
        controller.stop()
        server_log.setLevel(level)
