"""The Dovecot fixture serves real IMAP and POP3, isolates tests' mailboxes, and the proxy cuts connections.

No database: these tests talk to Dovecot only.
"""

# Fixtures imported from tests.dovecot are test parameters, which ruff takes for redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import imaplib
import poplib
import re
import socket
import ssl
import time

import pytest

from tests.dovecot import (
    Dovecot,
    DroppingProxy,
    MailAccount,
    dovecot_server,  # noqa: F401  (fixture)
    mailbox_user,  # noqa: F401  (fixture)
    require_dovecot,
)

TIMEOUT = 30  # seconds: the machine may be busy with other test runs


def message(subject: str, body: str = "Hello.") -> bytes:
    return (
        f"From: Client <client@example.com>\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@example.com>\r\n\r\n{body}\r\n"
    ).encode()


def imap_login(server: Dovecot, account: MailAccount, port: int | None = None) -> imaplib.IMAP4:
    conn = imaplib.IMAP4(server.host, port or server.imap_port, timeout=TIMEOUT)
    conn.login(account.user, account.password)
    return conn


def pop3_login(server: Dovecot, account: MailAccount, port: int | None = None) -> poplib.POP3:
    conn = poplib.POP3(server.host, port or server.pop3_port, timeout=TIMEOUT)
    conn.user(account.user)
    conn.pass_(account.password)
    return conn


def large_message(size: int = 200_000) -> bytes:
    line = "All work and no play makes Jack a dull boy. " * 2  # 88 characters
    lines = [f"{index:06d} {line}" for index in range(size // (len(line) + 9) + 1)]
    return message("large", "\r\n".join(lines))


def test_imap_three_appended_messages_read_back_in_uid_order(dovecot_server, mailbox_user):
    sent = [message(f"imap {index}") for index in range(3)]
    appended = [dovecot_server.append(mailbox_user.user, raw) for raw in sent]

    conn = imap_login(dovecot_server, mailbox_user)
    try:
        typ, data = conn.select("INBOX", readonly=True)
        assert (typ, data) == ("OK", [b"3"])
        uidvalidity = conn.response("UIDVALIDITY")[1][0]
        assert uidvalidity is not None and int(uidvalidity) > 0
        typ, data = conn.uid("SEARCH", "ALL")
        uids = [int(uid) for uid in data[0].split()]
        assert uids == appended == sorted(uids)
        assert len(set(uids)) == 3
        for uid, raw in zip(uids, sent, strict=True):
            typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
            assert typ == "OK"
            assert data[0][1] == raw
    finally:
        conn.logout()
    assert dovecot_server.uids(mailbox_user.user) == appended
    assert dovecot_server.count(mailbox_user.user) == 3
    assert dovecot_server.uidvalidity(mailbox_user.user) == int(uidvalidity)


def test_pop3_reconnect_uidl_and_messages_stay_the_same(dovecot_server, mailbox_user):
    sent = [message(f"pop {index}") for index in range(3)]
    dovecot_server.append_many(mailbox_user.user, sent)

    conn = pop3_login(dovecot_server, mailbox_user)
    try:
        assert conn.stat() == (3, sum(len(raw) for raw in sent))
        first_uidl = conn.uidl()[1]
        _response, lines, _octets = conn.retr(2)
        assert b"\r\n".join(lines) + b"\r\n" == sent[1]
    finally:
        conn.quit()

    conn = pop3_login(dovecot_server, mailbox_user)
    try:
        assert conn.stat()[0] == 3
        assert conn.uidl()[1] == first_uidl
    finally:
        conn.quit()
    unique_ids = [line.split()[1] for line in first_uidl]
    assert len(set(unique_ids)) == 3
    assert all(re.fullmatch(rb"[0-9a-f]{16}", uid) for uid in unique_ids)  # pop3_uidl_format %08Xu%08Xv


def test_mailbox_user_other_user_sees_none_of_the_mail(dovecot_server, mailbox_user):
    other = dovecot_server.new_user()
    dovecot_server.append(mailbox_user.user, message("private"))

    assert other != mailbox_user
    assert dovecot_server.count(mailbox_user.user) == 1
    assert dovecot_server.count(other.user) == 0
    conn = pop3_login(dovecot_server, other)
    try:
        assert conn.stat() == (0, 0)
    finally:
        conn.quit()


def test_imap_login_wrong_password_refused_quickly_and_no_penalty_after(dovecot_server, mailbox_user):
    started = time.monotonic()
    for attempt in range(3):
        # A new connection each time: imap-login delays a second attempt on the same connection.
        conn = imaplib.IMAP4(dovecot_server.host, dovecot_server.imap_port, timeout=TIMEOUT)
        try:
            with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
                conn.login(mailbox_user.user, f"wrong-{attempt}")
        finally:
            conn.shutdown()
    # Dovecot's default per-IP penalty would hold this login back for 8 s after three failures.
    imap_login(dovecot_server, mailbox_user).logout()
    assert time.monotonic() - started < 6


def test_append_many_thousand_messages_stored_with_consecutive_uids(dovecot_server, mailbox_user):
    sent = [message(f"bulk {index}", f"Body {index}.") for index in range(1000)]

    started = time.monotonic()
    uids = dovecot_server.append_many(mailbox_user.user, sent)
    elapsed = time.monotonic() - started

    assert uids == list(range(1, 1001))
    assert dovecot_server.count(mailbox_user.user) == 1000
    assert elapsed < 20, f"append_many took {elapsed:.1f} s for 1,000 messages"
    conn = imap_login(dovecot_server, mailbox_user)
    try:
        conn.select("INBOX", readonly=True)
        typ, data = conn.uid("FETCH", "1000", "(BODY.PEEK[])")
        assert data[0][1] == sent[999]
    finally:
        conn.logout()


def test_append_other_folder_created_and_inbox_untouched(dovecot_server, mailbox_user):
    uid = dovecot_server.append(mailbox_user.user, message("archived"), folder="Archive")
    uids = dovecot_server.append_many(mailbox_user.user, [message("a"), message("b")], folder="Archive")

    assert [uid, *uids] == dovecot_server.uids(mailbox_user.user, "Archive") == [1, 2, 3]
    assert dovecot_server.count(mailbox_user.user, "Archive") == 3
    assert dovecot_server.count(mailbox_user.user) == 0


def test_dropping_proxy_large_imap_fetch_cut_client_errors_then_rearmed_proxy_works(
    dovecot_server, mailbox_user
):
    raw = large_message()
    assert len(raw) > 200_000
    uid = dovecot_server.append(mailbox_user.user, raw)

    with DroppingProxy(dovecot_server.host, dovecot_server.imap_port, drop_after_bytes=50_000) as proxy:
        conn = imap_login(dovecot_server, mailbox_user, port=proxy.port)
        conn.select("INBOX", readonly=True)
        with pytest.raises((imaplib.IMAP4.abort, OSError)):
            conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
        conn.shutdown()
        assert proxy.drops == 1

        proxy.drop_after_bytes = None
        conn = imap_login(dovecot_server, mailbox_user, port=proxy.port)
        try:
            conn.select("INBOX", readonly=True)
            typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
            assert typ == "OK"
            assert data[0][1] == raw
        finally:
            conn.logout()
        assert (proxy.connections, proxy.drops) == (2, 1)


def test_dropping_proxy_pop3_retr_cut_client_errors_and_mail_stays(dovecot_server, mailbox_user):
    raw = large_message()
    dovecot_server.append(mailbox_user.user, raw)

    with DroppingProxy(dovecot_server.host, dovecot_server.pop3_port, drop_after_bytes=30_000) as proxy:
        conn = pop3_login(dovecot_server, mailbox_user, port=proxy.port)
        with pytest.raises((poplib.error_proto, OSError)):
            conn.retr(1)
        conn.close()

        proxy.drop_after_bytes = None
        conn = pop3_login(dovecot_server, mailbox_user, port=proxy.port)
        try:
            _response, lines, _octets = conn.retr(1)
            assert b"\r\n".join(lines) + b"\r\n" == raw
        finally:
            conn.quit()
    assert dovecot_server.count(mailbox_user.user) == 1  # nothing was deleted


def test_dropping_proxy_reset_mode_client_sees_connection_error(dovecot_server, mailbox_user):
    dovecot_server.append(mailbox_user.user, large_message())

    with DroppingProxy(
        dovecot_server.host, dovecot_server.imap_port, drop_after_bytes=20_000, reset=True
    ) as proxy:
        conn = imap_login(dovecot_server, mailbox_user, port=proxy.port)
        conn.select("INBOX", readonly=True)
        with pytest.raises((imaplib.IMAP4.abort, OSError)):
            conn.uid("FETCH", "1", "(BODY.PEEK[])")
        conn.shutdown()
    assert proxy.drops == 1


def test_dropping_proxy_exact_limit_client_receives_exactly_that_many_bytes(dovecot_server):
    with DroppingProxy(dovecot_server.host, dovecot_server.imap_port, drop_after_bytes=10) as proxy:
        with socket.create_connection((proxy.host, proxy.port), timeout=TIMEOUT) as sock:
            received = b""
            while chunk := sock.recv(4096):
                received += chunk
    assert received == b"* OK [CAPA"  # the first 10 bytes of Dovecot's greeting, then EOF


def test_dovecot_custom_users_served_and_everything_removed_on_exit():
    require_dovecot()
    with Dovecot(users={"support": "secret"}) as server:
        directory, port = server.directory, server.imap_port
        assert server.host == "127.0.0.1" and server.imap_port != server.pop3_port
        server.append("support", message("custom"))
        conn = imap_login(server, MailAccount("support", "secret"))
        try:
            assert conn.select("INBOX", readonly=True) == ("OK", [b"1"])
        finally:
            conn.logout()
    assert directory is not None and not directory.exists()
    assert not server.running
    with pytest.raises(OSError):
        socket.create_connection((server.host, port), timeout=5).close()


def test_tls_ports_and_starttls_served_with_a_certificate_from_the_fixture_ca(dovecot_server, mailbox_user):
    context = dovecot_server.ssl_context()
    imaps = imaplib.IMAP4_SSL(
        dovecot_server.host, dovecot_server.imaps_port, ssl_context=context, timeout=TIMEOUT
    )
    imaps.login(mailbox_user.user, mailbox_user.password)
    imaps.logout()
    pop3s = poplib.POP3_SSL(dovecot_server.host, dovecot_server.pop3s_port, context=context, timeout=TIMEOUT)
    pop3s.user(mailbox_user.user)
    pop3s.pass_(mailbox_user.password)
    pop3s.quit()
    imap = imaplib.IMAP4("localhost", dovecot_server.imap_port, timeout=TIMEOUT)  # the certificate's DNS name
    imap.starttls(context)
    imap.login(mailbox_user.user, mailbox_user.password)
    imap.logout()
    pop3 = poplib.POP3(dovecot_server.host, dovecot_server.pop3_port, timeout=TIMEOUT)
    pop3.stls(context)
    pop3.user(mailbox_user.user)
    pop3.pass_(mailbox_user.password)
    pop3.quit()

    logins = dovecot_server.logins(mailbox_user.user, count=4)
    assert len(logins) == 4 and all(", TLS, " in line for line in logins), logins
    assert dovecot_server.ca_file is not None and dovecot_server.ca_file.is_file()
    # Signed by the fixture's own CA: a client trusting only the system's CAs refuses the server.
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(
            dovecot_server.host,
            dovecot_server.imaps_port,
            ssl_context=ssl.create_default_context(),
            timeout=TIMEOUT,
        )
