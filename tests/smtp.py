"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) and fixtures that point the app at it.

Import the fixtures into a test module: ``from smtp import mailserver, smtp_app  # noqa: F401``.

aiosmtpd 1.4.6 cannot bind port 0 (upstream #388), so a free port is picked first. Controllers
are always stopped in teardown so that no event loop or thread outlives the test.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections import Counter
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from helpers import wait_until

BASE_URL = "http://tracker.test"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    """An aiosmtpd handler that keeps every message it receives (optionally slowly)."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.lock = threading.Lock()
        self.received: list[tuple[object, EmailMessage]] = []
        self.peers: list[tuple[str, int]] = []

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append((envelope, message))
            self.peers.append(session.peer)  # (host, port): one port per client connection
        return "250 Message accepted for delivery"


class MailServer:
    """One SMTP server on a fixed free port; may be started late (to simulate SMTP being down)."""

    def __init__(self, delay: float = 0.0):
        self.port = free_port()
        self.handler = Recorder(delay)
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=10"

    def start(self) -> MailServer:
        if self.controller is None:
            self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
            self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            return [m for _, m in self.handler.received]

    @property
    def envelopes(self) -> list:
        with self.handler.lock:
            return [e for e, _ in self.handler.received]

    @property
    def connections(self) -> int:
        """How many client connections delivered messages."""
        with self.handler.lock:
            return len(set(self.handler.peers))

    def keys(self) -> Counter:
        """How often each X-Tracker-Key arrived."""
        return Counter(str(m["X-Tracker-Key"]) for m in self.messages)

    def of_kind(self, prefix: str) -> list[EmailMessage]:
        return [m for m in self.messages if str(m["X-Tracker-Key"]).startswith(prefix)]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """Wait until ``count`` messages arrived (delivery is synchronous: only a guard)."""
        wait_until(lambda: len(self.messages) >= count, timeout, f"{count} messages")
        return self.messages


def parts(message: EmailMessage) -> tuple[str, str]:
    """Return the text/plain and text/html bodies of a received message (with \\n line ends)."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return tuple(part.get_content().replace("\r\n", "\n") if part else "" for part in (text, html))


@pytest.fixture
def mailserver():
    """A running SMTP server that records what it receives."""
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def idle_mailserver():
    """An SMTP server on a reserved port that is not running yet (start it in the test)."""
    server = MailServer()
    yield server
    server.stop()


@pytest.fixture
def smtp_app(app, mailserver):
    """The app, sending through the running test SMTP server."""
    app.config["SMTP_URL"] = mailserver.url
    return app
