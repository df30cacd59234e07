"""The scale-out scenario's pieces (bench.scale_out): an API client that retries safely, its ledger,
an SMTP sink counting Message-IDs, nginx's configuration, and killing a process tree outright."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.staff_list import _free_port

# Answers after which the client cannot know whether its write happened: it checks, then sends again.
UNKNOWN = (None, 502, 503, 504)
ATTEMPTS = 6


@dataclass
class Ledger:
    """What the clients were told: writes answered 2xx, failures they were told of, retries, give-ups."""

    created: list[tuple[str, int]] = field(default_factory=list)  # (marker, ticket id)
    replied: list[tuple[str, int]] = field(default_factory=list)  # (marker, message id)
    mail: list[str] = field(default_factory=list)  # Message-IDs the SMTP receiver accepted
    told: int = 0  # answers that were no answer, or 502/503/504
    retried: int = 0  # writes sent again after checking they did not happen
    found: int = 0  # writes found done after a failed answer (the answer was lost, not the write)
    gave_up: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_mail(self, message_id: str) -> None:
        with self.lock:
            self.mail.append(message_id)

    def note_error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)

    def as_json(self) -> dict:
        with self.lock:
            return {"created": self.created, "replied": self.replied, "mail": self.mail}


def new_marker(tag: str) -> str:
    """Return a unique word a client puts in its write, to find it again (one token for the search)."""
    return f"so{tag}x{uuid.uuid4().hex[:12]}"


MARKER = re.compile(r"Scale-out (?:reply )?(so\w+)")


def marker_of(text: str) -> str:
    """Return the marker of a scenario's title ("Scale-out MARKER ...") or reply ("Scale-out reply MARKER")."""
    found = MARKER.search(text)
    return found.group(1) if found else ""


class ApiClient:
    """One keep-alive connection to nginx with a bearer token; writes retried only after a check."""

    def __init__(self, port: int, token: str, ledger: Ledger):
        self.port = port
        self.ledger = ledger
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self.conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, payload: dict | None = None) -> tuple[int | None, bytes]:
        """Send one request; (None, reason) when no answer came (connection refused, reset, timeout)."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = json.dumps(payload).encode() if payload is not None else None
        try:
            self.conn.request(method, path, body, self.headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return None, repr(exc).encode()
        if response.will_close:
            self.close()
        return response.status, data

    def create(self, tag: str) -> int | None:
        """Create a ticket; return its id, or None when it could not be made (recorded in the ledger)."""
        marker = new_marker(tag)
        payload = {
            "title": f"Scale-out {marker} checkout answers 502",
            "message": "The shop's checkout page answers 502 since this morning. We cleared the cache.",
        }

        def exists() -> int | None:
            query = urllib.parse.urlencode({"q": marker, "page_size": 5})
            status, data = self.request("GET", f"/api/v1/tickets?{query}")
            if status != 200:
                raise _Unknown
            found = [t["id"] for t in json.loads(data)["results"] if marker in t["title"]]
            return found[0] if found else None

        made = self._write("POST", "/api/v1/tickets", payload, marker, exists)
        if made is not None:
            with self.ledger.lock:
                self.ledger.created.append((marker, made))
        return made

    def reply(self, ticket_id: int, tag: str) -> int | None:
        """Post a message to the ticket; return its id, or None (recorded in the ledger)."""
        marker = new_marker(tag)
        path = f"/api/v1/tickets/{ticket_id}/messages"

        def exists() -> int | None:
            status, data = self.request("GET", path)
            if status != 200:
                raise _Unknown
            found = [m["id"] for m in json.loads(data) if marker in (m.get("body") or "")]
            return found[0] if found else None

        made = self._write("POST", path, {"body": f"Scale-out reply {marker}: still broken."}, marker, exists)
        if made is not None:
            with self.ledger.lock:
                self.ledger.replied.append((marker, made))
        return made

    def _write(self, method: str, path: str, payload: dict, marker: str, exists) -> int | None:
        for _attempt in range(ATTEMPTS):
            status, data = self.request(method, path, payload)
            if status is not None and 200 <= status < 300:
                return json.loads(data)["id"]
            if status not in UNKNOWN:
                self.ledger.note_error(f"{method} {path}: {status} {data[:200]!r}")
                return None
            with self.ledger.lock:
                self.ledger.told += 1
            found = self._check(exists)
            if found is not None:
                with self.ledger.lock:
                    self.ledger.found += 1
                return found
            with self.ledger.lock:
                self.ledger.retried += 1
            time.sleep(0.2)
        with self.ledger.lock:
            self.ledger.gave_up.append(marker)
        return None

    @staticmethod
    def _check(exists) -> int | None:
        """Ask whether the write happened; reads are idempotent, so nginx passes them on when it must."""
        for _ in range(ATTEMPTS):
            try:
                return exists()
            except _Unknown:
                time.sleep(0.2)
        return None


class _Unknown(Exception):
    """The check itself got no answer."""


class MailSink:
    """An SMTP server in this process (aiosmtpd) counting every message it accepts by Message-ID."""

    def __init__(self) -> None:
        self.port = _free_port()
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __enter__(self) -> MailSink:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope) -> str:
                head = bytes(envelope.original_content or envelope.content).split(b"\r\n\r\n", 1)[0]
                for line in head.decode("utf-8", "replace").replace("\r\n ", " ").splitlines():
                    if line.lower().startswith("message-id:"):
                        with sink._lock:
                            sink._counts[line.split(":", 1)[1].strip().strip("<>")] += 1
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


def nginx_config(tmp: Path, *, one: int, both: int, web_ports: list[int]) -> str:
    """Return nginx.conf: port `one` proxies to the first web process, port `both` to all of them.

    `proxy_next_upstream error timeout` without `non_idempotent`: a POST goes to another web process
    only when it could not be sent to the first; once sent, a dead process answers 502 and the client
    decides. Everything nginx writes stays in `tmp`.
    """
    servers = "\n".join(
        f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;" for port in web_ports
    )
    proxy = """
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;"""
    return f"""
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {tmp}/nginx-access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_max_body_size 60m;
    upstream otklik_one {{
        server 127.0.0.1:{web_ports[0]};
        keepalive 16;
    }}
    upstream otklik_all {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{one};
        location / {{{proxy.format(upstream="otklik_one")}
        }}
    }}
    server {{
        listen 127.0.0.1:{both};
        location / {{{proxy.format(upstream="otklik_all")}
        }}
    }}
}}
"""


def wait_http(port: int, path: str, seconds: float) -> bool:
    """Wait until GET `path` on the port answers anything; False after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return True
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.3)
    return False


def process_tree(root: int) -> list[int]:
    """Return `root` and every process descending from it (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    tree = [root]
    for pid in tree:
        tree += [child for child, parent in parents.items() if parent == pid]
    return tree


def kill_tree(root: int) -> list[int]:
    """SIGKILL every process group in the tree (granian's workers, the consumer) at once; return the pids."""
    tree = process_tree(root)
    groups = set()
    for pid in tree:
        try:
            groups.add(os.getpgid(pid))
        except ProcessLookupError:
            pass
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return tree
