"""Serve attachments only to those who may see their message (F-04)."""

from django.http import FileResponse, Http404, HttpRequest

from otklik.tickets.files import INLINE_TYPES
from otklik.tickets.models import Attachment
from otklik.tickets.views.common import policy_for


def attachment_download(request: HttpRequest, attachment_id: int, name: str = ""):
    """Send the file with its checked type; hidden-message files never reach clients."""
    attachment = Attachment.objects.select_related("message", "ticket").filter(pk=attachment_id).first()
    policy = policy_for(request)
    if (
        attachment is None
        or not policy.can_view(attachment.ticket)
        or not policy.can_view_message(attachment.message)
    ):
        raise Http404()
    try:
        fh = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404() from None
    inline = attachment.content_type in INLINE_TYPES and request.GET.get("download") is None
    response = FileResponse(
        fh, as_attachment=not inline, filename=attachment.name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
