"""API: tickets, messages, attachments, dictionaries."""

from ninja import Router

router = Router(tags=["tickets"])
