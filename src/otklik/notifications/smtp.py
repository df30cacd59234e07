"""Django's SMTP backend, trusting the same CAs as incoming mail (OTKLIK_MAIL_CA_FILE).

Django's own backend trusts the system's CAs only, so a mail server with a certificate from a company's
private CA could be read from but not sent to. Host names are verified too: smtplib hands the host to
the context as `server_hostname` for STARTTLS and for TLS from the first byte (smtps) alike.
"""

from __future__ import annotations

import ssl

from django.core.mail.backends import smtp
from django.utils.functional import cached_property

from otklik.core.tls import mail_tls_context


class EmailBackend(smtp.EmailBackend):
    """Send over SMTP; STARTTLS and smtps verify the server against `mail_tls_context()`."""

    @cached_property
    def ssl_context(self) -> ssl.SSLContext:
        """Return the verifying mail context, with the client certificate when one is configured."""
        context = mail_tls_context()
        # Django builds a bare PROTOCOL_TLS_CLIENT context for a client certificate, which trusts no CA
        # at all; here the certificate goes on top of the usual trust.
        if self.ssl_certfile or self.ssl_keyfile:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return context
