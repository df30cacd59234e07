"""Web forms for tickets. They parse and present; the services decide what is allowed and valid."""

from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext_lazy as _

from otklik.dictionaries.models import DictionaryEntry
from otklik.tickets.fields import AUTO_CLOSE_DAYS_MAX, MINUTES_MAX, PROMPT_FIELDS, TITLE_MAX
from otklik.tickets.models import SpamState
from otklik.tickets.panels import list_filters, queue_available
from otklik.tickets.selectors import UNSETTABLE, TicketFilter
from otklik.tickets.services.inputs import StaffFields, TicketDraft, Upload
from otklik.tickets.tag_forms import TAG_MODE_CHOICES, TagNamesField
from otklik.ui.forms import KeyboardFriendlyMixin

# A seam for the apps above tickets (the support wizard in kb): opened with ?wizard=1, the client's
# new-ticket form takes its initial values from this session key, a dict with "title", "message",
# "category" (an entry's id as text) and "coupon"; filing the ticket removes the key.
NEW_TICKET_PREFILL_KEY = "tickets.new_ticket_prefill"
PREFILL_FIELDS = ("title", "message", "category", "coupon")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Accept any number of files; content checks happen in the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


def entry_choices(entries: list[DictionaryEntry], *, blank: str = "—") -> list[tuple[str, str]]:
    return [("", blank)] + [(str(e.pk), e.name) for e in entries]


def _prompt(label, hint: str, rows: int = 2) -> forms.CharField:
    """Return one of the regulation's optional prompts (F-12): a small text area with a short hint."""
    return forms.CharField(
        label=label, required=False, widget=forms.Textarea(attrs={"rows": rows, "placeholder": hint})
    )


class NewTicketForm(KeyboardFriendlyMixin, forms.Form):
    title = forms.CharField(
        label=_("Title"),
        max_length=TITLE_MAX,
        widget=forms.TextInput(attrs={"placeholder": _("What does not work, in short")}),
    )
    message = forms.CharField(label=_("Describe the problem"), widget=forms.Textarea(attrs={"rows": 8}))
    category = forms.ChoiceField(label=_("Category"), required=False)
    criticality = forms.ChoiceField(label=_("Criticality"), required=False)
    looked = _prompt(_("Where you already looked for an answer"), _("Knowledge base, FAQ, documentation…"))
    did = _prompt(_("What you did"), _("The steps, in order"))
    expected = _prompt(_("What you expected"), _("What should have happened"))
    saw = _prompt(_("What you saw (the full error text)"), _("Paste the error message as it is"), rows=3)
    # The template puts the allowed types under the drop zone, with this id.
    files = MultipleFileField(
        label=_("Files"), widget=MultipleFileInput(attrs={"aria-describedby": "files-help"})
    )
    coupon = forms.CharField(
        label=_("Coupon"),
        required=False,
        max_length=64,
        help_text=_("A coupon's code for a special ticket, if you have one."),
    )

    def __init__(self, *args, dictionaries: dict[str, list[DictionaryEntry]], **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("category", "criticality"):
            entries = dictionaries[name]
            self.fields[name].choices = entry_choices(entries)
            default = next((e for e in entries if e.is_default), None)
            if default is not None and not self.is_bound:
                self.initial.setdefault(name, str(default.pk))

    def ticket_draft(self, files: Sequence[Upload]) -> TicketDraft:
        """Return the cleaned data as the draft services.ticket_create takes, with the uploaded files."""
        d = self.cleaned_data
        return TicketDraft(
            title=d["title"],
            message=d["message"],
            category=d["category"] or None,
            criticality=d["criticality"] or None,
            prompts={k: d[k] for k in PROMPT_FIELDS},
            files=files,
            coupon=d.get("coupon") or "",
        )

    def staff_fields(self) -> StaffFields | None:
        """Return the staff fields the form asks (none on the client's form)."""
        return None


class ReplyForm(KeyboardFriendlyMixin, forms.Form):
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 6}))
    files = MultipleFileField(label=_("Files"))


class StaffReplyForm(ReplyForm):
    hidden = forms.BooleanField(label=_("Hide the message, do not notify the author"), required=False)
    not_change_status = forms.BooleanField(
        label=_("Do not change the status (not an answer)"), required=False
    )
    minutes = forms.IntegerField(
        label=_("Time spent, minutes"), required=False, min_value=0, max_value=MINUTES_MAX
    )
    on_behalf = forms.BooleanField(label=_("Post on behalf of the author"), required=False)
    quiet = forms.BooleanField(label=_("Do not notify the author"), required=False)
    signed = forms.BooleanField(label=_("Add my signature"), required=False, initial=True)


class ReplyFollowUpForm(forms.Form):
    """What the composer's send changes with the reply: status, responsible, closing (empty: unchanged)."""

    status = forms.ChoiceField(label=_("Then set the status"), required=False)
    responsible = forms.ChoiceField(label=_("and the responsible"), required=False)
    close = forms.BooleanField(label=_("Close the ticket"), required=False)

    def __init__(self, *args, statuses, support_users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = entry_choices(statuses, blank=_("status: unchanged"))
        self.fields["responsible"].choices = [("", _("responsible: unchanged"))] + [
            (str(u.pk), u.get_full_name() or u.username) for u in support_users
        ]
        for name in ("status", "responsible"):
            self.fields[name].widget.attrs["class"] = "input compact"

    def changes(self) -> dict:
        """Return the changes to make with the reply (ids as ints), leaving out what stays as it is."""
        return {
            name: int(self.cleaned_data[name])
            for name in ("status", "responsible")
            if self.cleaned_data.get(name)
        }


class TicketAttributesForm(KeyboardFriendlyMixin, forms.Form):
    """The staff side panel: every attribute F-13 lets staff change."""

    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    category = forms.ChoiceField(label=_("Category"), required=False)
    criticality = forms.ChoiceField(label=_("Criticality"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    difficulty = forms.ChoiceField(label=_("Difficulty"), required=False)
    responsible = forms.ChoiceField(label=_("Responsible"), required=False)
    sla = forms.ChoiceField(label=_("SLA"), required=False)
    source = forms.ChoiceField(label=_("Source"), required=False)
    auto_close_days = forms.IntegerField(
        label=_("Auto-close after, days"),
        required=False,
        min_value=0,
        max_value=AUTO_CLOSE_DAYS_MAX,
        help_text=_("Empty: the module default; 0: never."),
    )
    is_postponed = forms.BooleanField(label=_("Postponed"), required=False)
    admin_comment = forms.CharField(
        label=_("Administrator's comment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    CUSTOM_PREFIX = "custom__"

    def __init__(self, *args, dictionaries, support_users, slas, custom_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("category", "criticality", "status", "difficulty", "source"):
            self.fields[name].choices = entry_choices(dictionaries[name])
        self.fields["responsible"].choices = [("", _("— nobody —"))] + [
            (str(u.pk), u.get_full_name() or u.username) for u in support_users
        ]
        self.fields["sla"].choices = [("", "—")] + [(str(s.pk), s.name) for s in slas]
        for definition in custom_fields:
            self.fields[self.CUSTOM_PREFIX + definition.code] = _custom_form_field(definition)

    def custom_changes(self) -> dict:
        """Return {code: value} for the custom fields the user changed."""
        return {
            name.removeprefix(self.CUSTOM_PREFIX): self.cleaned_data[name]
            for name in self.changed_data
            if name.startswith(self.CUSTOM_PREFIX)
        }

    @classmethod
    def initial_for(cls, ticket) -> dict:
        custom = {cls.CUSTOM_PREFIX + code: value for code, value in (ticket.custom or {}).items()}

        # Choice values are strings: an int initial would make every untouched select count as changed.
        def key(pk) -> str:
            return str(pk) if pk else ""

        return custom | {
            "title": ticket.title,
            "category": key(ticket.category_id),
            "criticality": key(ticket.criticality_id),
            "status": key(ticket.status_id),
            "difficulty": key(ticket.difficulty_id),
            "responsible": key(ticket.responsible_id),
            "sla": key(ticket.sla_id),
            "source": key(ticket.source_id),
            "auto_close_days": ticket.auto_close_days,
            "is_postponed": ticket.is_postponed,
            "admin_comment": ticket.admin_comment,
        }


def _custom_form_field(definition) -> forms.Field:
    from otklik.tickets.models import CustomField

    kinds = {
        CustomField.Kind.NUMBER: lambda: forms.DecimalField(required=False),
        CustomField.Kind.DATE: lambda: forms.DateField(
            required=False, widget=forms.DateInput(attrs={"type": "date", "class": "input"})
        ),
        CustomField.Kind.BOOLEAN: lambda: forms.BooleanField(required=False),
    }
    field = kinds.get(definition.kind, lambda: forms.CharField(required=False, max_length=1000))()
    field.label = definition.name
    field.widget.attrs.setdefault(
        "class", "check" if definition.kind == CustomField.Kind.BOOLEAN else "input"
    )
    return field


# Shared by the staff and the client filters.
STATE_CHOICES = [("", "—"), ("open", _("open")), ("closed", _("closed"))]


class StaffFilterForm(forms.Form):
    """Every filter of the staff list (F-14); all optional, submitted by GET."""

    id = forms.IntegerField(label=_("ID"), required=False, min_value=1)
    q = forms.CharField(label=_("Search"), required=False)
    indicator = forms.ChoiceField(
        label=_("Indicator"),
        required=False,
        choices=[
            ("", "—"),
            ("red", _("red: your move")),
            ("yellow", _("yellow: waiting, not yours")),
            ("green", _("green: you answered last")),
            ("green_s", _("green: support answered")),
            ("grey", _("grey: closed")),
        ],
    )
    state = forms.ChoiceField(label=_("Open / closed"), required=False, choices=STATE_CHOICES)
    last_by = forms.ChoiceField(
        label=_("Last message by"),
        required=False,
        choices=[("", "—"), ("client", _("the client")), ("support", _("support"))],
    )
    author_text = forms.CharField(label=_("Author"), required=False)
    responsible = forms.ChoiceField(label=_("Responsible"), required=False)
    sla = forms.ChoiceField(label=_("SLA"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    criticality = forms.ChoiceField(label=_("Criticality"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    mark = forms.ChoiceField(label=_("Mark"), required=False)
    source = forms.ChoiceField(label=_("Source"), required=False)
    difficulty = forms.ChoiceField(label=_("Difficulty"), required=False)
    spam = forms.ChoiceField(
        label=_("Spam"),
        required=False,
        choices=[
            ("", "—"),
            ("none", _("not spam")),
            ("possible", _("possible spam")),
            ("definite", _("spam")),
        ],
    )
    postponed = forms.NullBooleanField(
        label=_("Postponed"),
        required=False,
        widget=forms.Select(choices=[("", "—"), ("true", _("yes")), ("false", _("no"))]),
    )
    overdue = forms.NullBooleanField(
        label=_("Overdue"),
        required=False,
        widget=forms.Select(choices=[("", "—"), ("true", _("yes")), ("false", _("no"))]),
    )
    special = forms.NullBooleanField(
        label=_("Special (coupon)"),
        required=False,
        widget=forms.Select(choices=[("", "—"), ("true", _("yes")), ("false", _("no"))]),
    )
    created_from = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label=_("Created to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    modified_from = forms.DateField(
        label=_("Modified from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    modified_to = forms.DateField(
        label=_("Modified to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    messages_min = forms.IntegerField(label=_("Messages from"), required=False, min_value=0)
    messages_max = forms.IntegerField(label=_("Messages to"), required=False, min_value=0)
    time_spent_min = forms.IntegerField(label=_("Time spent from, min"), required=False, min_value=0)
    time_spent_max = forms.IntegerField(label=_("Time spent to, min"), required=False, min_value=0)
    overdue_min = forms.IntegerField(label=_("Overdue messages from"), required=False, min_value=0)
    auto_close_days_min = forms.IntegerField(label=_("Days to auto-close from"), required=False, min_value=0)
    auto_close_days_max = forms.IntegerField(label=_("Days to auto-close to"), required=False, min_value=0)
    created_by = forms.ChoiceField(label=_("Created by"), required=False)
    modified_by = forms.ChoiceField(label=_("Modified by"), required=False)
    comment = forms.CharField(label=_("Comment contains"), required=False)
    client_group = forms.ChoiceField(label=_("Client group"), required=False)
    staff_group = forms.ChoiceField(label=_("Staff group"), required=False)
    coupon = forms.CharField(label=_("Coupon"), required=False)
    ticket_type = forms.CharField(label=_("Type"), required=False)
    tier = forms.CharField(label=_("Tier"), required=False)
    queue = forms.BooleanField(label=_("My queue"), required=False)
    tag = TagNamesField(label=_("Tags"), required=False)
    tag_mode = forms.ChoiceField(label=_("Tags match"), required=False, choices=TAG_MODE_CHOICES)
    has_open_children = forms.BooleanField(label=_("Has open children"), required=False)

    def __init__(self, *args, dictionaries, support_users, slas, groups, **kwargs):
        super().__init__(*args, **kwargs)
        if not queue_available():  # nothing above tickets defines who waits for whom
            del self.fields["queue"]
        not_set = ("none", _("not set"))
        for name in ("category", "criticality", "status", "mark", "source", "difficulty"):
            choices = entry_choices(dictionaries[name])
            self.fields[name].choices = [choices[0], not_set, *choices[1:]]
        self.fields["responsible"].choices = [("", "—"), ("none", _("nobody"))] + [
            (str(u.pk), u.get_full_name() or u.username) for u in support_users
        ]
        self.fields["sla"].choices = [("", "—"), not_set] + [(str(s.pk), s.name) for s in slas]
        people = [("", "—")] + [(str(u.pk), u.get_full_name() or u.username) for u in support_users]
        self.fields["created_by"].choices = people
        self.fields["modified_by"].choices = people
        self.fields["client_group"].choices = [("", "—")] + [
            (str(g.pk), g.name) for g in groups if g.kind == "client"
        ]
        self.fields["staff_group"].choices = [("", "—")] + [
            (str(g.pk), g.name) for g in groups if g.kind == "staff"
        ]
        for extra in list_filters():
            self.fields[extra.name] = forms.ChoiceField(
                label=extra.label(), required=False, choices=[("", "—"), *extra.choices()]
            )
        for name, field in self.fields.items():
            if name not in ("queue", "has_open_children"):
                field.widget.attrs.setdefault("class", "input")

    def to_filter(self, tz) -> TicketFilter:
        """Convert the valid data into a TicketFilter; dates are whole days in the user's time zone."""
        import datetime as dt

        d = self.cleaned_data
        as_int = lambda v: int(v) if v not in (None, "", "none") else None  # noqa: E731

        def day(value, plus=0):
            if not value:
                return None
            return dt.datetime.combine(value + dt.timedelta(days=plus), dt.time.min, tzinfo=tz)

        return TicketFilter(
            id=d.get("id"),
            q=d.get("q") or "",
            indicator=d.get("indicator") or "",
            state=d.get("state") or "",
            last_by=d.get("last_by") or "",
            author_text=d.get("author_text") or "",
            responsible=as_int(d["responsible"]) if d.get("responsible") not in (None, "", "none") else None,
            responsible_none=d.get("responsible") == "none",
            sla=as_int(d.get("sla")),
            category=as_int(d.get("category")),
            criticality=as_int(d.get("criticality")),
            status=as_int(d.get("status")),
            mark=as_int(d.get("mark")),
            source=as_int(d.get("source")),
            difficulty=as_int(d.get("difficulty")),
            unset=frozenset(name for name in UNSETTABLE if d.get(name) == "none"),
            spam={"none": SpamState.NONE, "possible": SpamState.POSSIBLE, "definite": SpamState.DEFINITE}.get(
                d.get("spam") or ""
            ),
            postponed=d.get("postponed"),
            overdue=d.get("overdue"),
            special=d.get("special"),
            created_from=day(d.get("created_from")),
            created_to=day(d.get("created_to"), 1),
            modified_from=day(d.get("modified_from")),
            modified_to=day(d.get("modified_to"), 1),
            messages_min=d.get("messages_min"),
            messages_max=d.get("messages_max"),
            time_spent_min=d.get("time_spent_min"),
            time_spent_max=d.get("time_spent_max"),
            overdue_min=d.get("overdue_min"),
            comment=d.get("comment") or "",
            auto_close_days_min=d.get("auto_close_days_min"),
            auto_close_days_max=d.get("auto_close_days_max"),
            created_by=as_int(d.get("created_by")),
            modified_by=as_int(d.get("modified_by")),
            client_group=as_int(d.get("client_group")),
            staff_group=as_int(d.get("staff_group")),
            coupon=d.get("coupon") or "",
            ticket_type=d.get("ticket_type") or "",
            tier=d.get("tier") or "",
            queue=bool(d.get("queue")),
            tag=tuple(d.get("tag") or ()),
            tag_mode=d.get("tag_mode") or "",
            has_open_children=bool(d.get("has_open_children")),
            extra={f.name: d[f.name] for f in list_filters() if d.get(f.name)},
        )


class ClientFilterForm(forms.Form):
    id = forms.IntegerField(label=_("ID"), required=False, min_value=1)
    q = forms.CharField(label=_("Search"), required=False)
    indicator = forms.ChoiceField(
        label=_("Indicator"),
        required=False,
        choices=[
            ("", "—"),
            ("red", _("red: support answered, your move")),
            ("green", _("green: waiting for support")),
            ("grey", _("grey: closed")),
        ],
    )
    state = forms.ChoiceField(label=_("Open / closed"), required=False, choices=STATE_CHOICES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "input")

    def to_filter(self) -> TicketFilter:
        d = self.cleaned_data
        return TicketFilter(
            id=d.get("id"), q=d.get("q") or "", indicator=d.get("indicator") or "", state=d.get("state") or ""
        )
