"""Outgoing mail over STARTTLS and smtps: the server's certificate and name are verified, as for incoming.

The sink (tests/smtp_sink.py) serves a certificate from a throwaway CA (tests/certs.py) which only
settings.MAIL_TLS_CA_FILE (OTKLIK_MAIL_CA_FILE) makes trusted, the way a company's private CA would be.
The STARTTLS sink refuses MAIL FROM before STARTTLS, and every message records the TLS version it came
over, so mail sent in plain text cannot pass for encrypted.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from otklik.notifications.delivery import outbox_deliver
from otklik.notifications.models import OutboxState
from otklik.notifications.smtp import EmailBackend
from tests.certs import make_certificates, require_openssl
from tests.dovecot import DroppingProxy
from tests.smtp_sink import SmtpSink
from tests.test_outbox_delivery import _rows

pytestmark = pytest.mark.django_db

MODES = ["starttls", "smtps"]
# Linux routes all of 127.0.0.0/8 to the loopback: a proxy there reaches the sink under a name (an IP
# address) that its certificate, made for 127.0.0.1 and localhost, does not carry.
NAME_NOT_IN_CERTIFICATE = "127.0.0.2"
FIRST_RETRY = timedelta(seconds=31)  # the first backoff is 30 s


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    require_openssl()
    return make_certificates(tmp_path_factory.mktemp("smtp-tls") / "tls")


@pytest.fixture(params=MODES)
def sink(request, settings, certificates):
    """An SMTP sink over STARTTLS or smtps, with the SMTP backend pointed at it; the CA is not trusted yet."""
    with SmtpSink(tls=request.param, certificates=certificates) as server:
        server.configure(settings)
        settings.MAIL_TLS_CA_FILE = ""
        yield server


def test_deliver_over_tls_with_the_ca_configured_arrives_encrypted(
    cast, make_ticket, settings, certificates, sink
):
    settings.MAIL_TLS_CA_FILE = str(certificates.ca)
    ticket = make_ticket()
    rows = _rows(ticket)
    assert len(rows) >= 2

    report = outbox_deliver([row.pk for row in rows])

    assert sorted(report.sent) == [row.pk for row in rows] and not report.retried
    assert sink.message_ids() == {row.message_id: 1 for row in rows}
    assert all(received.tls in ("TLSv1.2", "TLSv1.3") for received in sink.received)
    assert sink.connections() == 1  # one session for the whole batch
    assert all(received.client_certificate == "" for received in sink.received)
    assert all(row.state == OutboxState.SENT for row in _rows(ticket))


def test_deliver_without_the_ca_fails_on_the_certificate_and_loses_nothing(
    cast, make_ticket, settings, certificates, sink, frozen
):
    ticket = make_ticket()
    rows = _rows(ticket)

    refused = outbox_deliver([row.pk for row in rows])

    assert sorted(refused.retried) == [row.pk for row in rows] and not refused.sent and not refused.failed
    for row in _rows(ticket):
        assert (row.state, row.attempts) == (OutboxState.PENDING, 1)
        assert "CERTIFICATE_VERIFY_FAILED" in row.last_error, row.last_error
    assert sink.count() == 0

    settings.MAIL_TLS_CA_FILE = str(certificates.ca)
    frozen.advance(seconds=FIRST_RETRY.total_seconds())
    again = outbox_deliver(None, drain=100)

    assert sorted(again.sent) == [row.pk for row in rows]
    assert sink.message_ids() == {row.message_id: 1 for row in rows}
    assert all(received.tls.startswith("TLSv1.") for received in sink.received)
    for row in _rows(ticket):
        assert (row.state, row.attempts, row.last_error) == (OutboxState.SENT, 2, "")


def test_deliver_by_a_name_not_in_the_certificate_is_refused(
    cast, make_ticket, settings, certificates, sink, frozen
):
    settings.MAIL_TLS_CA_FILE = str(certificates.ca)
    row = _rows(make_ticket())[0]
    with DroppingProxy(sink.host, sink.port, None, host=NAME_NOT_IN_CERTIFICATE) as proxy:
        settings.EMAIL_HOST, settings.EMAIL_PORT = NAME_NOT_IN_CERTIFICATE, proxy.port

        refused = outbox_deliver([row.pk])

    assert proxy.connections == 1  # it reached the sink: the name is what failed
    assert refused.retried == [row.pk]
    row.refresh_from_db()
    assert row.state == OutboxState.PENDING and "CERTIFICATE_VERIFY_FAILED" in row.last_error
    assert "mismatch" in row.last_error and NAME_NOT_IN_CERTIFICATE in row.last_error
    assert sink.count() == 0

    # The DNS name in the certificate is accepted: only the name was wrong.
    settings.EMAIL_HOST, settings.EMAIL_PORT = "localhost", sink.port
    frozen.advance(seconds=FIRST_RETRY.total_seconds())
    assert outbox_deliver([row.pk]).sent == [row.pk]
    assert sink.message_ids() == {row.message_id: 1}


def test_deliver_with_a_client_certificate_presents_it_and_verifies_the_server(
    cast, make_ticket, settings, certificates, sink
):
    # Django's own backend builds a context trusting no CA for a client certificate: this one keeps trust.
    settings.MAIL_TLS_CA_FILE = str(certificates.ca)
    settings.EMAIL_SSL_CERTFILE = str(certificates.certificate)
    settings.EMAIL_SSL_KEYFILE = str(certificates.key)
    row = _rows(make_ticket())[0]

    assert outbox_deliver([row.pk]).sent == [row.pk]

    (received,) = sink.received
    assert received.client_certificate == "localhost" and received.tls.startswith("TLSv1.")


def test_deliver_with_an_unreadable_ca_file_names_the_setting_and_keeps_the_mail(
    cast, make_ticket, settings, sink, tmp_path
):
    settings.MAIL_TLS_CA_FILE = str(tmp_path / "missing-ca.pem")
    row = _rows(make_ticket())[0]

    assert outbox_deliver([row.pk]).retried == [row.pk]

    row.refresh_from_db()
    assert row.state == OutboxState.PENDING
    assert "OTKLIK_MAIL_CA_FILE" in row.last_error and "missing-ca.pem" in row.last_error
    assert sink.count() == 0


def test_backend_context_verifies_always_and_adds_the_ca_to_the_system_store(settings, certificates):
    settings.MAIL_TLS_CA_FILE = ""
    system_only = EmailBackend().ssl_context.get_ca_certs()
    settings.MAIL_TLS_CA_FILE = str(certificates.ca)

    backend = EmailBackend(ssl_certfile=str(certificates.certificate), ssl_keyfile=str(certificates.key))
    context = backend.ssl_context

    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname
    assert len(context.get_ca_certs()) == len(system_only) + 1
