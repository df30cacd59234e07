"""Every write to tickets and messages (ARCHITECTURE rule 1).

Web views, the API, commands and later mail and workflow all call these functions. Each one checks
the TicketPolicy, validates, writes inside one transaction and records the change history.
"""

from otklik.tickets.activity import Change
from otklik.tickets.services.attachments import upload_limits
from otklik.tickets.services.attributes import (
    ticket_close,
    ticket_consequence_record,
    ticket_delete,
    ticket_reopen,
    ticket_set_spam,
    ticket_update,
)
from otklik.tickets.services.cc import cc_author_address, ticket_cc_add, ticket_cc_remove
from otklik.tickets.services.cleaning import compose_prompts
from otklik.tickets.services.create import responsible_for_new_ticket, ticket_create
from otklik.tickets.services.derived import search_document_refresh, ticket_recompute
from otklik.tickets.services.inputs import MailOrigin, MessageDraft, StaffFields, TicketDraft, Upload
from otklik.tickets.services.links import ticket_link_add, ticket_link_remove
from otklik.tickets.services.merge import ticket_merge
from otklik.tickets.services.messages import message_delete, message_edit, message_post
from otklik.tickets.services.options import module_options_ensure
from otklik.tickets.services.ownership import tickets_claim_by_address
from otklik.tickets.services.reply import ReplyFollowUp, ticket_reply
from otklik.tickets.services.tags import ticket_tag_names, ticket_tags_change, ticket_tags_set
from otklik.tickets.services.workspace import (
    BULK_ACTIONS,
    BULK_TAG_ACTIONS,
    BulkResult,
    presence_touch,
    saved_filter_delete,
    saved_filter_save,
    ticket_follow,
    ticket_split,
    tickets_bulk,
)

__all__ = [
    "BULK_ACTIONS",
    "BULK_TAG_ACTIONS",
    "BulkResult",
    "Change",
    "MailOrigin",
    "MessageDraft",
    "ReplyFollowUp",
    "StaffFields",
    "TicketDraft",
    "Upload",
    "cc_author_address",
    "compose_prompts",
    "message_delete",
    "message_edit",
    "message_post",
    "module_options_ensure",
    "presence_touch",
    "responsible_for_new_ticket",
    "saved_filter_delete",
    "saved_filter_save",
    "search_document_refresh",
    "ticket_cc_add",
    "ticket_cc_remove",
    "ticket_close",
    "ticket_create",
    "ticket_delete",
    "ticket_follow",
    "ticket_link_add",
    "ticket_link_remove",
    "ticket_merge",
    "ticket_recompute",
    "ticket_reopen",
    "ticket_reply",
    "ticket_set_spam",
    "ticket_split",
    "ticket_tag_names",
    "ticket_tags_change",
    "ticket_tags_set",
    "ticket_update",
    "ticket_consequence_record",
    "tickets_claim_by_address",
    "tickets_bulk",
    "upload_limits",
]
