"""IMAP and POP3 over TLS and STARTTLS against Dovecot: the certificate and the host name are always verified.

The fixture's Dovecot serves a certificate from its own throwaway CA (tests/dovecot.py), which only
settings.MAIL_TLS_CA_FILE (OTKLIK_MAIL_CA_FILE) makes trusted, the way a company's private CA would be.
Its log tells whether a login really went over TLS: STARTTLS would otherwise pass unnoticed if the
client never sent it, as the plain ports accept plain-text logins for the other tests.
"""

from __future__ import annotations

import ssl

import pytest

from otklik.core.tls import mail_tls_context
from otklik.mail.models import InboundMail, Mailbox
from otklik.mail.transports import mailbox_poll
from tests.dovecot import DroppingProxy
from tests.test_mail_ingest import mail
from tests.test_mail_transports import box, subjects

pytestmark = pytest.mark.django_db

MODES = [
    pytest.param("imap", Mailbox.Security.TLS, id="imaps"),
    pytest.param("imap", Mailbox.Security.STARTTLS, id="imap-starttls"),
    pytest.param("pop3", Mailbox.Security.TLS, id="pop3s"),
    pytest.param("pop3", Mailbox.Security.STARTTLS, id="pop3-starttls"),
]
# Linux routes all of 127.0.0.0/8 to the loopback: a proxy there reaches Dovecot under a name (an IP
# address) that its certificate, made for 127.0.0.1 and localhost, does not carry.
NAME_NOT_IN_CERTIFICATE = "127.0.0.2"


@pytest.fixture
def ca_trusted(settings, dovecot_server):
    """Trust the CA of the fixture's Dovecot, as OTKLIK_MAIL_CA_FILE would."""
    settings.MAIL_TLS_CA_FILE = str(dovecot_server.ca_file)


def tls_port(server, protocol: str, security: str) -> int:
    """The port for TLS from the first byte (imaps, pop3s) or for STARTTLS (the plain one)."""
    if security == Mailbox.Security.TLS:
        return server.imaps_port if protocol == "imap" else server.pop3s_port
    return server.imap_port if protocol == "imap" else server.pop3_port


def tls_box(server, account, protocol: str, security: str, **options) -> Mailbox:
    """A mailbox polling `account` over TLS or STARTTLS."""
    options.setdefault("port", tls_port(server, protocol, security))
    return box(server, account, protocol, security=security, **options)


def assert_logins(server, account, *, plain: int, tls: int) -> None:
    """Assert the account's logins in Dovecot's log: `plain` by the fixture's helpers, `tls` by polls.

    Each helper call (append, count) logs in once over plain IMAP; a poll that sends the password
    without TLS, or logs in twice, changes the numbers.
    """
    logins = server.logins(account.user, count=plain + tls)
    secured = [line for line in logins if ", TLS, " in line]
    assert (len(logins) - len(secured), len(secured)) == (plain, tls), logins


@pytest.mark.parametrize(("protocol", "security"), MODES)
def test_poll_over_tls_with_the_ca_configured_takes_mail_in(
    cast, ca_trusted, dovecot_server, mailbox_user, protocol, security
):
    for n in range(2):
        dovecot_server.append(mailbox_user.user, mail(subject=f"TLS {security} {n}"))
    mailbox = tls_box(dovecot_server, mailbox_user, protocol, security)

    report = mailbox_poll(mailbox)

    assert report.error == "" and report.fetched == 2 and report.outcomes == {"created": 2}
    assert subjects() == [f"TLS {security} 0", f"TLS {security} 1"]
    assert Mailbox.objects.get(pk=mailbox.pk).last_error == ""
    assert_logins(dovecot_server, mailbox_user, plain=2, tls=1)  # two appends, one poll


@pytest.mark.parametrize(("protocol", "security"), MODES)
def test_poll_without_the_ca_fails_on_the_certificate_and_loses_nothing(
    cast, settings, dovecot_server, mailbox_user, protocol, security
):
    settings.MAIL_TLS_CA_FILE = ""  # only the system's CAs, which never signed this server's certificate
    dovecot_server.append(mailbox_user.user, mail(subject="Waits for a trusted connection"))
    mailbox = tls_box(dovecot_server, mailbox_user, protocol, security)

    refused = mailbox_poll(mailbox)

    assert refused.fetched == 0 and "CERTIFICATE_VERIFY_FAILED" in refused.error
    assert Mailbox.objects.get(pk=mailbox.pk).last_error == refused.error
    assert InboundMail.objects.count() == 0
    assert dovecot_server.count(mailbox_user.user) == 1

    settings.MAIL_TLS_CA_FILE = str(dovecot_server.ca_file)
    again = mailbox_poll(Mailbox.objects.get(pk=mailbox.pk))

    assert again.error == "" and again.fetched == 1
    assert subjects() == ["Waits for a trusted connection"]
    assert Mailbox.objects.get(pk=mailbox.pk).last_error == ""
    # One append, one count, one poll: the refused poll never sent the password.
    assert_logins(dovecot_server, mailbox_user, plain=2, tls=1)


@pytest.mark.parametrize(("protocol", "security"), MODES)
def test_poll_by_a_name_not_in_the_certificate_is_refused(
    cast, ca_trusted, dovecot_server, mailbox_user, protocol, security
):
    dovecot_server.append(mailbox_user.user, mail(subject="Only for the right name"))
    port = tls_port(dovecot_server, protocol, security)
    with DroppingProxy(dovecot_server.host, port, None, host=NAME_NOT_IN_CERTIFICATE) as proxy:
        mailbox = tls_box(dovecot_server, mailbox_user, protocol, security, port=proxy.port)
        mailbox.host = NAME_NOT_IN_CERTIFICATE
        mailbox.save(update_fields=["host"])

        refused = mailbox_poll(mailbox)

    assert proxy.connections == 1  # it reached Dovecot: the name is what failed
    assert refused.fetched == 0 and "CERTIFICATE_VERIFY_FAILED" in refused.error
    assert "mismatch" in refused.error and NAME_NOT_IN_CERTIFICATE in refused.error
    assert InboundMail.objects.count() == 0 and dovecot_server.count(mailbox_user.user) == 1

    # The DNS name in the certificate is accepted: only the name was wrong.
    mailbox.host, mailbox.port = "localhost", port
    mailbox.save(update_fields=["host", "port"])
    assert mailbox_poll(mailbox).fetched == 1
    assert_logins(dovecot_server, mailbox_user, plain=2, tls=1)


def test_poll_with_an_unreadable_ca_file_names_the_setting(
    cast, settings, dovecot_server, mailbox_user, tmp_path
):
    settings.MAIL_TLS_CA_FILE = str(tmp_path / "missing-ca.pem")
    dovecot_server.append(mailbox_user.user, mail(subject="Kept"))

    report = mailbox_poll(tls_box(dovecot_server, mailbox_user, "imap", Mailbox.Security.TLS))

    assert report.fetched == 0 and "OTKLIK_MAIL_CA_FILE" in report.error and "missing-ca.pem" in report.error
    assert dovecot_server.count(mailbox_user.user) == 1


def test_mail_tls_context_verifies_always_and_adds_the_ca_to_the_system_store(settings, dovecot_server):
    settings.MAIL_TLS_CA_FILE = ""
    system_only = mail_tls_context().get_ca_certs()
    settings.MAIL_TLS_CA_FILE = str(dovecot_server.ca_file)

    context = mail_tls_context()

    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    with_ca = context.get_ca_certs()
    assert len(with_ca) == len(system_only) + 1
    assert ((("commonName", "Otklik test CA"),),) in [cert["subject"] for cert in with_ca]
