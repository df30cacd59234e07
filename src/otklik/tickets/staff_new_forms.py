"""The staff's new-ticket form: the author is a person found by typing, or an address (issue 17).

Staff never get a list of every account: the picker asks the server (`author_search`) as they type and
sends back the chosen person's id; an e-mail address that is nobody's files the ticket for that address.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import parseaddr

from django import forms
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from otklik.accounts.selectors import AUTHOR_QUERY_MAX, author_by_email, author_candidates, display_name
from otklik.tickets.fields import PROMPT_FIELDS
from otklik.tickets.forms import NewTicketForm, entry_choices
from otklik.tickets.services.inputs import MailOrigin, StaffFields, TicketDraft, Upload


class StaffTicketForm(NewTicketForm):
    """File a ticket for a client who called or came in; the client's prompts are not asked here."""

    author = forms.CharField(required=False, widget=forms.HiddenInput)
    author_query = forms.CharField(
        label=_("Author"),
        required=False,
        max_length=AUTHOR_QUERY_MAX,
        help_text=_("Type a name or an e-mail address and choose from the list; empty: you."),
    )
    responsible = forms.ChoiceField(label=_("Responsible"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    source = forms.ChoiceField(label=_("Source"), required=False)
    admin_comment = forms.CharField(
        label=_("Administrator's comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, viewer: User | AnonymousUser, dictionaries, support_users, **kwargs):
        super().__init__(*args, dictionaries=dictionaries, **kwargs)
        for prompt in PROMPT_FIELDS:
            del self.fields[prompt]  # the client's own questions; staff write what they heard
        self.fields["message"].label = _("Message")
        self.fields["message"].widget.attrs["rows"] = 6
        self.viewer = viewer
        self.author_user: User | None = None
        self.author_address = ""
        self.fields["responsible"].choices = [("", _("— automatic —"))] + [
            (str(u.pk), u.get_full_name() or u.username) for u in support_users
        ]
        self.fields["status"].choices = entry_choices(dictionaries["status"])
        self.fields["source"].choices = entry_choices(dictionaries["source"], blank=_("web"))

    def clean(self):
        data = super().clean()
        chosen = (data.get("author") or "").strip()
        text = " ".join((data.get("author_query") or "").split())
        if chosen:
            # The id comes from the picker, but a request can carry any id: only someone the picker
            # would have offered this member of staff is accepted.
            person = author_candidates(self.viewer).filter(pk=chosen).first() if chosen.isdigit() else None
            if person is None:
                self.add_error("author_query", _("Choose the author from the list."))
            else:
                self.author_user = person
        elif text:
            self._author_from_text(text)
        return data

    def _author_from_text(self, text: str) -> None:
        """Resolve typed text (no choice from the list): a person's exact login or e-mail, or a new address."""
        if "@" not in text:
            person = author_candidates(self.viewer).filter(username__iexact=text).first()
            if person is None:
                self.add_error(
                    "author_query", _("Choose a person from the list, or type the client's e-mail address.")
                )
            self.author_user = person
            return
        address = parseaddr(text)[1].strip().lower() or text.lower()
        try:
            validate_email(address)
        except DjangoValidationError:
            self.add_error(
                "author_query",
                _("Enter a valid e-mail address (like name@example.com), or choose a person from the list."),
            )
            return
        people = author_by_email(self.viewer, address)
        if len(people) > 1:
            self.add_error("author_query", _("Several people use this address: choose one from the list."))
        elif people:
            self.author_user = people[0]
        else:
            self.author_address = address

    def author_label(self) -> str:
        """Return how the picker shows the chosen author after the form is sent back (errors elsewhere)."""
        if self.author_user is not None:
            return f"{display_name(self.author_user)} <{self.author_user.email}>"
        return self.author_address

    def ticket_draft(self, files: Sequence[Upload]) -> TicketDraft:
        """Return the draft services.ticket_create takes; the prompts this form does not ask are empty."""
        for name in PROMPT_FIELDS:
            self.cleaned_data.setdefault(name, "")
        return super().ticket_draft(files)

    def staff_fields(self) -> StaffFields:
        """Return the staff fields as services.ticket_create takes them (ids as the form sends them)."""
        d = self.cleaned_data
        return StaffFields(
            author=self.author_user,
            responsible=d["responsible"] or None,
            status=d["status"] or None,
            source=d["source"] or None,
            admin_comment=d["admin_comment"],
        )

    def origin(self) -> MailOrigin | None:
        """Return the author known only by an address, as ticket_create takes one (no account is made).

        It is the same shape a mail from an unknown sender gets: when the person registers and confirms
        the address, the ticket becomes theirs (F-12). Files are checked as the web checks them.
        """
        if not self.author_address:
            return None
        return MailOrigin(author_address=self.author_address, accept_any_file_type=False)
