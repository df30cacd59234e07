"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 and a free port, keeping what it receives.

    with SmtpSink(refuse_first=1, delay=0.01) as sink:
        sink.configure(settings)          # point Django's SMTP backend at it (pytest-django `settings`)
        ...
        sink.wait_for(2)
        sink.received[0].message["Subject"]

`refuse_first` answers that many DATA commands with "451 4.3.0" (a temporary failure, the sender should
retry); `delay` makes every accepted message take that long, so a test can kill a sender mid-delivery.
Accepted mail is recorded when the server answers "250", whether or not the sender lives to read it.

TLS, with a certificate from tests/certs.py (the client must trust its CA, see `configure`):

    SmtpSink(tls="starttls", certificates=certs)  # STARTTLS offered, and required before MAIL FROM
    SmtpSink(tls="smtps", certificates=certs)     # TLS from the first byte

Each received message tells the TLS version it came over (`tls`, "" for plain text) and the common name
of the client's certificate, if the client sent one signed by the same CA (`client_certificate`).
The `smtp_sink` fixture below can be imported into a conftest to share one sink per test.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import pytest
from aiosmtpd.controller import Controller

from tests.certs import Certificates
from tests.helpers import free_port

REFUSAL = "451 4.3.0 Sink says: try again later"


@dataclass(frozen=True)
class Received:
    """One message the sink accepted: the SMTP envelope and the raw bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message_id: str
    peer: tuple = ()  # the client's address: one per SMTP connection
    tls: str = ""  # the TLS version of the connection ("TLSv1.3"), "" when it was plain text
    client_certificate: str = ""  # the common name in the client's certificate, if it sent one

    @property
    def message(self) -> EmailMessage:
        """Parse the message (headers decoded, e.g. `message["Subject"]` is plain text)."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.sink._take_refusal():
            return REFUSAL
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        data = bytes(envelope.original_content or envelope.content)
        headers = email.message_from_bytes(data.split(b"\r\n\r\n", 1)[0], policy=email.policy.default)
        tls, client_certificate = _tls_of(server)
        self.sink._record(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=data,
                message_id=str(headers["Message-ID"] or "").strip(),
                peer=tuple(session.peer or ()),
                tls=tls,
                client_certificate=client_certificate,
            )
        )
        return "250 2.0.0 Message accepted for delivery"


def _tls_of(server) -> tuple[str, str]:
    """Return the TLS version of the connection ("" if plain) and the client certificate's common name."""
    # The transport is the TLS one after STARTTLS as well as with TLS from the first byte.
    tls = server.transport.get_extra_info("ssl_object") if server.transport else None
    if tls is None:
        return "", ""
    subject = dict(field for part in (tls.getpeercert() or {}).get("subject", ()) for field in part)
    return tls.version() or "", subject.get("commonName", "")


class SmtpSink:
    """An aiosmtpd server in a background thread that records accepted messages."""

    def __init__(
        self,
        *,
        refuse_first: int = 0,
        delay: float = 0.0,
        host: str = "127.0.0.1",
        tls: Literal["", "starttls", "smtps"] = "",
        certificates: Certificates | None = None,
    ) -> None:
        if tls not in ("", "starttls", "smtps") or bool(tls) != (certificates is not None):
            raise ValueError("tls='starttls' or tls='smtps' needs certificates; without tls, none")
        self.host = host
        self.tls = tls
        self.certificates = certificates
        self.port = 0
        self.delay = delay
        self.refused = 0
        self._refusals_left = refuse_first
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._controller: Controller | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> SmtpSink:
        """Listen on a free port (a port taken between the probe and the bind is retried)."""
        last_error: Exception | None = None
        for _attempt in range(5):
            port = free_port(self.host)
            controller = Controller(
                _Handler(self), hostname=self.host, port=port, ready_timeout=10, **self._tls_options()
            )
            try:
                controller.start()
            except Exception as exc:  # the port was taken meanwhile: try another one
                last_error = exc
                continue
            self._controller, self.port = controller, port
            return self
        raise RuntimeError(f"the SMTP sink could not listen on {self.host}: {last_error}")

    def _tls_options(self) -> dict:
        if not self.tls:
            return {}
        assert self.certificates is not None
        context = self.certificates.server_context()
        # Ask for a client certificate without requiring one, and check it against the same CA.
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(self.certificates.ca)
        if self.tls == "smtps":
            return {"ssl_context": context}
        return {"tls_context": context, "require_starttls": True}

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- configuration ---------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The OTKLIK_SMTP_URL of this sink, for a child process."""
        if self.tls == "smtps":
            return f"smtps://{self.host}:{self.port}"
        return f"smtp://{self.host}:{self.port}" + ("?starttls=1" if self.tls else "")

    def configure(self, settings) -> None:
        """Point Otklik's SMTP backend at the sink (`settings`: pytest-django's fixture).

        With TLS, the client still has to trust the sink's CA: settings.MAIL_TLS_CA_FILE, left to the test.
        """
        settings.EMAIL_BACKEND = "otklik.notifications.smtp.EmailBackend"
        settings.EMAIL_HOST = self.host
        settings.EMAIL_PORT = self.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = self.tls == "starttls"
        settings.EMAIL_USE_SSL = self.tls == "smtps"
        settings.EMAIL_SSL_CERTFILE = settings.EMAIL_SSL_KEYFILE = None
        settings.EMAIL_TIMEOUT = 10

    def refuse_next(self, count: int) -> None:
        """Answer the next `count` DATA commands with a temporary error."""
        with self._lock:
            self._refusals_left = count

    # -- what arrived ----------------------------------------------------------------------------------------
    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def count(self) -> int:
        with self._lock:
            return len(self._received)

    def connections(self) -> int:
        """How many SMTP connections the accepted messages came over."""
        with self._lock:
            return len({r.peer for r in self._received})

    def message_ids(self) -> Counter[str]:
        """How many times each Message-ID arrived."""
        return Counter(r.message_id for r in self.received)

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least `count` messages arrived; return whether they did in time."""
        return self.wait_until(lambda received: len(received) >= count, timeout)

    def wait_until(self, condition: Callable[[list[Received]], bool], timeout: float = 10.0) -> bool:
        """Wait until `condition(received messages)` holds; return whether it did in time."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not condition(self._received):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
            return True

    def clear(self) -> None:
        with self._lock:
            self._received.clear()

    # -- called by the handler (server thread) ---------------------------------------------------------------
    def _take_refusal(self) -> bool:
        with self._lock:
            if self._refusals_left <= 0:
                return False
            self._refusals_left -= 1
            self.refused += 1
            return True

    def _record(self, received: Received) -> None:
        with self._arrived:
            self._received.append(received)
            self._arrived.notify_all()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A running sink for one test (import into a conftest to share it)."""
    with SmtpSink() as sink:
        yield sink
