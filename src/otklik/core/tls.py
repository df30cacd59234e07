"""The one TLS client context for mail servers: IMAP and POP3 (incoming), SMTP (outgoing)."""

from __future__ import annotations

import ssl

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def mail_tls_context() -> ssl.SSLContext:
    """Return the client context for IMAP, POP3 and SMTP over TLS: certificate and host name always verified.

    Trusts the system's CA certificates and, when settings.MAIL_TLS_CA_FILE (OTKLIK_MAIL_CA_FILE) names
    a PEM file, also the CAs in it. There is deliberately no way to turn verification off.
    """
    context = ssl.create_default_context()
    if settings.MAIL_TLS_CA_FILE:
        try:
            context.load_verify_locations(cafile=settings.MAIL_TLS_CA_FILE)
        except (OSError, ssl.SSLError) as exc:  # say which setting is wrong, not just "no such file"
            raise ImproperlyConfigured(f"OTKLIK_MAIL_CA_FILE {settings.MAIL_TLS_CA_FILE!r}: {exc}") from exc
    return context
