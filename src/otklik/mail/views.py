"""Pages of the mail channel for support: the original e-mail behind a ticket's message."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from otklik.core.errors import NotFound
from otklik.mail.selectors import message_original_get
from otklik.tickets.policies import TicketPolicy


def message_original(request: HttpRequest, message_id: int) -> HttpResponse:
    """Send the message's original e-mail, byte for byte, as a download (never shown inline)."""
    try:
        original = message_original_get(TicketPolicy(request.user), message_id)
    except NotFound:
        raise Http404() from None
    response = HttpResponse(bytes(original.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="message-{message_id}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
