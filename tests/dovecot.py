"""A real Dovecot IMAP + POP3 server for tests of inbound mail, and a proxy that drops connections.

    with Dovecot(users={"support": "secret"}) as server:
        server.append("support", b"Subject: hi\\r\\n\\r\\nbody\\r\\n")
        imaplib.IMAP4(server.host, server.imap_port).login("support", "secret")

Each `Dovecot` is a private instance (`dovecot -F -c <config>`) with a throwaway configuration, Maildir
mailboxes and PLAIN passwords, on 127.0.0.1 and four free ports: `imap_port` and `pop3_port` (plain TCP,
STARTTLS offered, plain-text login allowed) and `imaps_port` and `pop3s_port` (TLS from the first byte).
It is stopped and its directory removed on exit. Nothing is downloaded: the Debian packages
dovecot-imapd and dovecot-pop3d must be installed, and the `openssl` command.

TLS: at start tests/certs.py makes a throwaway CA (`ca_file`, a PEM file) and a server certificate it
signed for 127.0.0.1 (IP) and localhost (DNS). A client trusts the server through that CA only:

    imaplib.IMAP4_SSL(server.host, server.imaps_port, ssl_context=server.ssl_context())

In a test module, import the fixtures (pytest picks up fixtures imported into a test module):

    from tests.dovecot import dovecot_server, mailbox_user  # noqa: F401

Ruff then reports the test functions' parameters of the same names as redefinitions (F811); put
`# ruff: noqa: F811` near the top of such a module, as tests/test_dovecot_fixture.py does.

`dovecot_server` is one server per test session (per xdist worker); `mailbox_user` is a fresh account
on it for every test, so tests never see each other's mail.

`DroppingProxy` forwards a TCP connection and cuts it after a number of bytes from the server, to
simulate a server that goes away in the middle of a FETCH or RETR.

Running as root: Dovecot refuses to run login processes as root ("This process must not be run as
root") and refuses mail processes with UID 0 ("userdb returned 0 as uid", whatever first_valid_uid
says). As root the master and the internal services run as root, while login and mail processes run
as the unprivileged `nobody` user, which owns the mailboxes. Not as root, everything runs as the
current user. The server's private key stays readable by the current user only: Dovecot's config process
(running as that user) reads the `<file` settings and hands them to the login processes.
"""

from __future__ import annotations

import contextlib
import ctypes
import grp
import imaplib
import os
import poplib
import pwd
import re
import secrets
import selectors
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.certs import OPENSSL_BINARY, CertificateError, make_certificates
from tests.helpers import free_port

DOVECOT_BINARY = "/usr/sbin/dovecot"
# The protocol binaries come from separate packages: dovecot-core alone starts but serves nothing.
DOVECOT_PROTOCOL_BINARIES = ("/usr/lib/dovecot/imap", "/usr/lib/dovecot/pop3")
INSTALL_HINT = "apt-get install dovecot-imapd dovecot-pop3d openssl"

DEFAULT_USERS = {"support": "support-pass"}
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
CLIENT_TIMEOUT = 30.0  # generous: the suite runs next to other heavy test runs

# Dovecot reads per-user passwd files (see `_write_account`): the name becomes a file name.
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}")
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) ([\d:,]+)\]")
_CRLF = re.compile(rb"\r?\n")  # what imaplib's append() does to line ends, for append_many()


class MailAccount(NamedTuple):
    """A mailbox login on a `Dovecot` server."""

    user: str
    password: str


def dovecot_missing() -> str | None:
    """Return why Dovecot cannot run here, or None when it is installed."""
    missing = [path for path in (DOVECOT_BINARY, *DOVECOT_PROTOCOL_BINARIES) if not os.path.exists(path)]
    if shutil.which(OPENSSL_BINARY) is None:
        missing.append(OPENSSL_BINARY)
    if missing:
        return f"Dovecot is not installed (missing {', '.join(missing)}); run: {INSTALL_HINT}"
    return None


class DovecotError(RuntimeError):
    """Dovecot did not start, or a helper could not talk to it."""


class Dovecot:
    """A private Dovecot instance serving IMAP and POP3, plain and over TLS, on 127.0.0.1; a context manager."""

    host = "127.0.0.1"

    def __init__(self, users: dict[str, str] | None = None, *, start_timeout: float = START_TIMEOUT) -> None:
        self.users: dict[str, str] = dict(DEFAULT_USERS if users is None else users)
        for name, password in self.users.items():
            _check_account(name, password)
        self.start_timeout = start_timeout
        self.imap_port = 0
        self.pop3_port = 0
        self.imaps_port = 0
        self.pop3s_port = 0
        self.directory: Path | None = None
        self.ca_file: Path | None = None  # the throwaway CA that signed the server's certificate
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._serial = 0
        self._mail_uid, self._mail_gid = _mail_owner()

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> Dovecot:
        """Start Dovecot and wait until all four ports greet; raise DovecotError with the log's tail if not."""
        reason = dovecot_missing()
        if reason:
            raise DovecotError(reason)
        self.directory = Path(tempfile.mkdtemp(prefix="otklik-dovecot-"))
        try:
            # Mail processes run as `nobody` under root: they must reach the homes below this directory.
            self.directory.chmod(0o755)
            # Plain-text passwords: readable by the auth process (this user) only.
            (self.directory / "users").mkdir(mode=0o700)
            home = self.directory / "home"
            home.mkdir()
            os.chown(home, self._mail_uid, self._mail_gid)
            for name, password in self.users.items():
                self._write_account(name, password)
            try:
                self.ca_file = make_certificates(self.directory / "tls").ca
            except CertificateError as error:
                raise DovecotError(str(error)) from error
            last_error = ""
            # A free port can be taken between the probe and Dovecot's bind: retry with new ports.
            for _attempt in range(3):
                self.imap_port, self.pop3_port, self.imaps_port, self.pop3s_port = _free_ports(self.host, 4)
                self._write_config()
                error = self._launch_and_wait()
                if error is None:
                    return self
                last_error = error
                self._terminate()
                if "in use" not in error:
                    break
            raise DovecotError(f"Dovecot did not start:\n{last_error}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop Dovecot (SIGTERM, then SIGKILL) and remove its directory."""
        self._terminate()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
            self.ca_file = None

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path:
        return self._dir / "dovecot.log"

    def log_tail(self, lines: int = 40) -> str:
        """Return the end of Dovecot's log and of its stderr (config errors land there)."""
        parts = []
        for path in (self._dir / "dovecot.stderr", self.log_path):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").strip()
                if text:
                    parts.append(f"--- {path.name} ---\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts) or "(Dovecot wrote no log)"

    def ssl_context(self) -> ssl.SSLContext:
        """Return a client context that trusts this server's CA only and checks the host name."""
        if self.ca_file is None:
            raise DovecotError("Dovecot is not started")
        return ssl.create_default_context(cafile=str(self.ca_file))

    def logins(self, user: str, *, count: int = 1, timeout: float = 5.0) -> list[str]:
        """Return the log lines of `user`'s successful logins, waiting up to `timeout` until there are `count`.

        Dovecot writes its log through a separate process, a moment after the client is logged in. A
        line ends with the connection's security: ", TLS, session=..." over TLS or STARTTLS, ", secured,
        session=..." over plain TCP from 127.0.0.1.
        """
        marker = f"Login: user=<{user}>,"
        deadline = time.monotonic() + timeout
        while True:
            text = ""
            with contextlib.suppress(OSError):
                text = self.log_path.read_text(errors="replace")
            lines = [line for line in text.splitlines() if marker in line]
            if len(lines) >= count or time.monotonic() >= deadline:
                return lines
            time.sleep(0.05)

    # -- accounts --------------------------------------------------------------------------------------------
    def add_user(self, user: str, password: str) -> MailAccount:
        """Create an account, which Dovecot knows from the next login, or change a password (within 1 s)."""
        _check_account(user, password)
        with self._lock:
            self.users[user] = password
            if self.directory is not None:
                self._write_account(user, password)
        return MailAccount(user, password)

    def new_user(self) -> MailAccount:
        """Create an account with a name and password never used before on this server."""
        with self._lock:
            self._serial += 1
            serial = self._serial
        return self.add_user(f"box{serial}-{secrets.token_hex(3)}", secrets.token_urlsafe(12))

    def password(self, user: str) -> str:
        """Return the password of `user`."""
        try:
            return self.users[user]
        except KeyError:
            raise DovecotError(f"no such Dovecot user: {user!r} (known: {sorted(self.users)})") from None

    # -- clients ---------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def imap(self, user: str) -> Iterator[imaplib.IMAP4]:
        """Yield an IMAP connection logged in as `user`; log out afterwards."""
        conn = imaplib.IMAP4(self.host, self.imap_port, timeout=CLIENT_TIMEOUT)
        try:
            conn.login(user, self.password(user))
            yield conn
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                conn.logout()

    @contextlib.contextmanager
    def pop3(self, user: str) -> Iterator[poplib.POP3]:
        """Yield a POP3 connection logged in as `user`; QUIT afterwards (which commits DELEs)."""
        conn = poplib.POP3(self.host, self.pop3_port, timeout=CLIENT_TIMEOUT)
        try:
            conn.user(user)
            conn.pass_(self.password(user))
            yield conn
        finally:
            with contextlib.suppress(poplib.error_proto, OSError):
                conn.quit()

    # -- mailbox helpers -------------------------------------------------------------------------------------
    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> int:
        """Store one message through IMAP APPEND and return its UID (bare LFs become CRLF)."""
        with self.imap(user) as conn:
            _ensure_folder(conn, folder)
            typ, data = conn.append(_quote(folder), None, None, raw)
        found = _APPENDUID.search(data[0] or b"") if typ == "OK" else None
        if found is None:
            raise DovecotError(f"APPEND to {folder!r} as {user!r} failed: {typ} {data!r}")
        return int(found.group(2))

    def append_many(
        self, user: str, messages: Iterable[bytes], folder: str = "INBOX", *, batch: int = 500
    ) -> list[int]:
        """Store messages in order over one IMAP connection and return their UIDs (bare LFs become CRLF).

        Sends MULTIAPPEND commands (RFC 3502) with non-synchronizing literals (LITERAL+), `batch`
        messages each: one round trip per batch instead of two per message. 1,000 small messages take
        well under a second on an idle machine, against about two seconds with one APPEND each.
        """
        pending = [_CRLF.sub(b"\r\n", raw) for raw in messages]
        uids: list[int] = []
        with self.imap(user) as conn:
            _ensure_folder(conn, folder)
            for start in range(0, len(pending), batch):
                uids += _multiappend(conn, folder, pending[start : start + batch])
        return uids

    def count(self, user: str, folder: str = "INBOX") -> int:
        """Return how many messages `folder` holds (0 when it does not exist)."""
        with self.imap(user) as conn:
            typ, data = conn.status(_quote(folder), "(MESSAGES)")
            if typ != "OK":
                return 0
            found = re.search(rb"MESSAGES (\d+)", data[0] or b"")
            if found is None:
                raise DovecotError(f"unexpected STATUS answer: {data!r}")
            return int(found.group(1))

    def uids(self, user: str, folder: str = "INBOX") -> list[int]:
        """Return the UIDs in `folder`, ascending."""
        with self.imap(user) as conn:
            typ, data = conn.select(_quote(folder), readonly=True)
            if typ != "OK":
                raise DovecotError(f"cannot select {folder!r} as {user!r}: {data!r}")
            typ, data = conn.uid("SEARCH", "ALL")
            if typ != "OK":
                raise DovecotError(f"UID SEARCH failed: {data!r}")
            return sorted(int(uid) for uid in (data[0] or b"").split())

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        """Return the UIDVALIDITY of `folder`."""
        with self.imap(user) as conn:
            typ, data = conn.status(_quote(folder), "(UIDVALIDITY)")
            found = re.search(rb"UIDVALIDITY (\d+)", data[0] or b"") if typ == "OK" else None
            if found is None:
                raise DovecotError(f"cannot read UIDVALIDITY of {folder!r} as {user!r}: {data!r}")
            return int(found.group(1))

    # -- internals -------------------------------------------------------------------------------------------
    @property
    def _dir(self) -> Path:
        if self.directory is None:
            raise DovecotError("Dovecot is not started")
        return self.directory

    def _write_account(self, user: str, password: str) -> None:
        # One passwd file per user, found through %u in the passdb path: Dovecot stats a shared passwd
        # file at most once a second, so a user added right after a login could be unknown for a second.
        # A new file is read at the first lookup. os.replace: a login never reads a half-written file.
        users = self._dir / "users"
        temporary = users / f".{user}.tmp"
        temporary.write_text(f"{user}:{{PLAIN}}{password}\n")
        os.replace(temporary, users / user)
        home = self._dir / "home" / user
        home.mkdir(exist_ok=True)
        os.chown(home, self._mail_uid, self._mail_gid)

    def _write_config(self) -> None:
        root = self._dir
        as_root = os.geteuid() == 0
        me = pwd.getpwuid(os.geteuid()).pw_name
        my_group = grp.getgrgid(os.getegid()).gr_name
        login_user = "nobody" if as_root else me
        lines = [
            "# Written by tests/dovecot.py for one test run.",
            f"base_dir = {root}/run",
            f"state_dir = {root}/state",
            # Names the processes in `ps` (dovecot-otklik-<port>/imap) and keeps doveadm off the system's.
            f"instance_name = otklik-{self.imap_port}",
            f"log_path = {root}/dovecot.log",
            f"info_log_path = {root}/dovecot.log",
            # STARTTLS on the plain ports, TLS on imaps/pop3s. Not "required": the plain tests log in
            # without TLS, which disable_plaintext_auth = no allows (auth_allow_cleartext in 2.4).
            "ssl = yes",
            f"ssl_cert = <{root}/tls/server.pem",
            f"ssl_key = <{root}/tls/server.key",
            "ssl_min_protocol = TLSv1.2",
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login",
            "protocols = imap pop3",
            "listen = 127.0.0.1",
            # Internal services (auth, log, anvil, ...) may run as root; login processes may not.
            f"default_internal_user = {me}",
            f"default_internal_group = {my_group}",
            f"default_login_user = {login_user}",
            # UID 0 is refused whatever these say; 1 lets a non-root runner with a low UID/GID through.
            "first_valid_uid = 1",
            "first_valid_gid = 1",
            "mail_location = maildir:~/Maildir",
            "pop3_uidl_format = %08Xu%08Xv",
            # Tests throw the mail away: fsync only slows appends down.
            "mail_fsync = never",
            # A failed login answers at once...
            "auth_failure_delay = 0",
            "auth_verbose = yes",
            "mail_max_userip_connections = 100",
            "service imap-login {",
            "  inet_listener imap {",
            f"    address = {self.host}",
            f"    port = {self.imap_port}",
            "  }",
            # On a free port: the default 993 would be taken by the second instance, or the system's.
            "  inet_listener imaps {",
            f"    address = {self.host}",
            f"    port = {self.imaps_port}",
            "  }",
            "}",
            "service pop3-login {",
            "  inet_listener pop3 {",
            f"    address = {self.host}",
            f"    port = {self.pop3_port}",
            "  }",
            "  inet_listener pop3s {",
            f"    address = {self.host}",
            f"    port = {self.pop3s_port}",
            "  }",
            "}",
            # ... and leaves no penalty behind: without this socket, auth turns the per-IP penalty off,
            # which otherwise delays every login from 127.0.0.1 by up to 15 s after failures, so a test
            # of wrong passwords would slow down the following tests.
            "service anvil {",
            "  unix_listener anvil-auth-penalty {",
            "    mode = 0",
            "  }",
            "}",
            "passdb {",
            "  driver = passwd-file",
            f"  args = scheme=PLAIN username_format=%u {root}/users/%u",
            "}",
            "userdb {",
            "  driver = static",
            f"  args = uid={self._mail_uid} gid={self._mail_gid} home={root}/home/%u",
            "}",
        ]
        if not as_root:
            # Only root can chroot: these services would fail to start otherwise.
            for service in ("imap-login", "pop3-login", "anvil"):
                lines += [f"service {service} {{", "  chroot =", "}"]
        (root / "dovecot.conf").write_text("\n".join(lines) + "\n")

    def _launch_and_wait(self) -> str | None:
        """Start the master process; return None once all four ports greet, else what went wrong."""
        root = self._dir
        for name in ("dovecot.log", "dovecot.stderr"):
            (root / name).unlink(missing_ok=True)
        with open(root / "dovecot.stderr", "wb") as stderr:
            self._process = subprocess.Popen(
                [DOVECOT_BINARY, "-F", "-c", str(root / "dovecot.conf")],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                cwd=root,
                # Its own process group: the fallback SIGKILL reaches the children too.
                start_new_session=True,
                preexec_fn=_parent_death_signal(),
            )
        deadline = time.monotonic() + self.start_timeout
        greetings = {
            self.imap_port: (b"* OK", None),
            self.pop3_port: (b"+OK", None),
            # The TLS ports greet only after a handshake, which also proves the certificate is served.
            self.imaps_port: (b"* OK", self.ssl_context()),
            self.pop3s_port: (b"+OK", self.ssl_context()),
        }
        ready = dict.fromkeys(greetings, False)
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return f"dovecot exited with code {self._process.returncode}\n{self.log_tail()}"
            for port, greeted in ready.items():
                if not greeted:
                    ready[port] = _greets(self.host, port, *greetings[port])
            if all(ready.values()):
                return None
            time.sleep(0.1)
        waiting = [str(port) for port, greeted in ready.items() if not greeted]
        return (
            f"no greeting on {self.host}:{', '.join(waiting)} after {self.start_timeout:.0f} s\n"
            f"{self.log_tail()}"
        )

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # the master stops its children on SIGTERM
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)


class DroppingProxy:
    """Forward TCP connections to a server; cut each one after `drop_after_bytes` bytes from the server.

    The limit counts per connection and is read as data flows, so `proxy.drop_after_bytes = None`
    (forward everything) or a new number applies to the open connections too. Once a connection has
    passed the limit, the client receives exactly `drop_after_bytes` bytes and then EOF (or a reset
    with `reset=True`); the server sees its connection closed.
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        drop_after_bytes: int | None,
        *,
        reset: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        self.target = (target_host, target_port)
        self.drop_after_bytes = drop_after_bytes
        self.reset = reset
        self.host = host
        self.port = 0
        self.connections = 0  # accepted so far
        self.drops = 0  # connections cut by the limit
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    def start(self) -> DroppingProxy:
        """Listen on a free port of `host` and forward in background threads."""
        self._listener = socket.create_server((self.host, 0))
        # Wake up now and then to notice stop(): closing a socket does not interrupt accept().
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        """Stop listening and end the open connections."""
        self._stopping.set()
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            # shutdown() rather than close(): it wakes the relay thread, which closes the sockets.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> DroppingProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=f"dropping-proxy-{self.port}")
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=CLIENT_TIMEOUT)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
                self._open.update((client, server))
            self._spawn(self._relay, client, server)

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        # One thread per connection serves both directions, so the sockets are closed by the thread
        # that reads them: a close() from another thread does not wake a blocked recv() and sends no FIN.
        client.setblocking(True)
        server.setblocking(True)
        from_server = 0
        drop = False
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(client, selectors.EVENT_READ, server)
                selector.register(server, selectors.EVENT_READ, client)
                while not drop:
                    for key, _events in selector.select():
                        source, sink = key.fileobj, key.data
                        chunk = source.recv(65536)
                        if not chunk:
                            return  # IMAP and POP3 never half-close: one side's EOF ends both
                        limit = self.drop_after_bytes if source is server else None
                        if limit is not None and from_server + len(chunk) >= limit:
                            sink.sendall(chunk[: max(limit - from_server, 0)])
                            drop = True
                            break
                        sink.sendall(chunk)
                        if source is server:
                            from_server += len(chunk)
        except OSError:
            return
        finally:
            if drop:
                with self._lock:
                    self.drops += 1
                if self.reset:
                    # Linger 0: close() sends RST instead of FIN, as when the peer's host crashes.
                    for sock in (client, server):
                        with contextlib.suppress(OSError):
                            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.close()
            with self._lock:
                self._open.difference_update((client, server))


# -- helpers -----------------------------------------------------------------------------------------------------
def _check_account(user: str, password: str) -> None:
    if not _USER_NAME.fullmatch(user):
        raise ValueError(f"unusable Dovecot user name {user!r}: letters, digits and ._+@- only")
    if not password or any(char in password for char in ":\r\n\t"):
        raise ValueError("a Dovecot password must be non-empty, without ':', tabs or line breaks")


def _mail_owner() -> tuple[int, int]:
    """Return the UID and GID that mail processes run as and that own the mailboxes."""
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    # Dovecot refuses UID 0 for mail processes: use the unprivileged user every Linux has.
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


def _free_ports(host: str, count: int) -> tuple[int, ...]:
    while True:
        ports = tuple(free_port(host) for _ in range(count))
        if len(set(ports)) == count:
            return ports


def _greets(host: str, port: int, greeting: bytes, context: ssl.SSLContext | None = None) -> bool:
    """Return whether a server on the port answers a new connection (over TLS with `context`) with `greeting`."""
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            if context is None:
                return sock.recv(64).startswith(greeting)
            with context.wrap_socket(sock, server_hostname=host) as tls:
                return tls.recv(64).startswith(greeting)
    except OSError:  # ssl.SSLError included: not listening yet, or serving no certificate
        return False


def _parent_death_signal() -> Callable[[], None] | None:
    """Return a preexec_fn that has Linux SIGTERM the child when the test process dies, or None.

    A Dovecot outliving a killed test run would keep its ports and processes. The function is looked up
    here, before the fork: importing or loading libraries in the child of a threaded process can hang.
    Linux sends the signal when the forking *thread* ends, so only the main thread asks for it.
    """
    if sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)
    return lambda: prctl(pr_set_pdeathsig, sigterm)


def _quote(folder: str) -> str:
    """Quote a mailbox name for imaplib, which sends arguments as they are."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ensure_folder(conn: imaplib.IMAP4, folder: str) -> None:
    if folder.upper() == "INBOX":
        return
    typ, data = conn.create(_quote(folder))
    if typ != "OK" and b"ALREADYEXISTS" not in (data[0] or b""):
        raise DovecotError(f"cannot create folder {folder!r}: {data!r}")


def _multiappend(conn: imaplib.IMAP4, folder: str, messages: list[bytes]) -> list[int]:
    """Send one MULTIAPPEND with LITERAL+ literals on a logged-in connection; return the new UIDs.

    imaplib sends one literal per command, so this writes the command itself and reads up to its
    tagged answer, leaving the connection in a state imaplib can go on with.
    """
    tag = b"MULTI" + secrets.token_hex(4).upper().encode()
    parts = [tag, b" APPEND ", _quote(folder).encode()]
    for raw in messages:
        parts += [b" {%d+}\r\n" % len(raw), raw]
    parts.append(b"\r\n")
    conn.send(b"".join(parts))
    while True:
        line = conn.readline()
        if not line:
            raise DovecotError("the server closed the connection during APPEND")
        if line.startswith(tag + b" "):
            break
    found = _APPENDUID.search(line) if line.startswith(tag + b" OK") else None
    if found is None:
        raise DovecotError(f"APPEND to {folder!r} failed: {line!r}")
    uids = _uid_set(found.group(2))
    if len(uids) != len(messages):
        raise DovecotError(f"APPEND stored {len(uids)} of {len(messages)} messages: {line!r}")
    return uids


def _uid_set(text: bytes) -> list[int]:
    """Expand an IMAP UID set such as b"4:6,9" into [4, 5, 6, 9]."""
    uids: list[int] = []
    for part in text.split(b","):
        first, _, last = part.partition(b":")
        uids += range(int(first), int(last or first) + 1)
    return uids


def require_dovecot() -> None:
    """Skip the test when Dovecot is not installed; fail it instead when the CI variable is set."""
    reason = dovecot_missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"!!! CI must run the Dovecot tests: {reason} !!!", pytrace=False)
    pytest.skip(f"!!! SKIPPED: {reason} !!!")


# -- fixtures ------------------------------------------------------------------------------------------------------
class _Shared:
    """The one Dovecot of this process, whichever test modules import the fixture."""

    server: Dovecot | None = None
    holders = 0
    failure: str | None = None  # why it did not start: later modules fail at once instead of retrying


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    """One Dovecot per test session (per xdist worker); skipped, or failed under CI, if not installed."""
    # pytest makes a separate session fixture for every module that imports this function, and
    # keeps each one until the session ends: they share one server, stopped when the last one ends.
    require_dovecot()
    if _Shared.failure is not None:
        raise DovecotError(_Shared.failure)
    if _Shared.server is None:
        try:
            _Shared.server = Dovecot().start()
        except DovecotError as error:
            _Shared.failure = str(error)
            raise
    _Shared.holders += 1
    try:
        yield _Shared.server
    finally:
        _Shared.holders -= 1
        if _Shared.holders == 0:
            _Shared.server.stop()
            _Shared.server = None


@pytest.fixture
def mailbox_user(dovecot_server: Dovecot) -> MailAccount:
    """A fresh, empty account on the shared Dovecot for one test."""
    return dovecot_server.new_user()
