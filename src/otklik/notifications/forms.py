"""The admins' form for one mail template: subject and body, checked by compiling and trying them."""

from __future__ import annotations

from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from otklik.notifications.models import MailTemplate
from otklik.notifications.rendering import (
    PREVIEW_TICKET_ID,
    Rendered,
    render,
    sample_context,
    template_problem,
)


class MailTemplateForm(forms.ModelForm):
    """Edit the subject and text of one (event, language); the pair itself is fixed by the page."""

    class Meta:
        model = MailTemplate
        fields = ("subject", "body")
        widgets = {
            "subject": forms.TextInput(attrs={"class": "vTextField mail-template-subject", "size": 100}),
            "body": forms.Textarea(attrs={"class": "vLargeTextField mail-template-body", "rows": 22}),
        }

    def __init__(self, *args, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.language = language

    def clean_subject(self) -> str:
        subject = self.cleaned_data["subject"]
        if "\n" in subject or "\r" in subject:
            raise forms.ValidationError(_("The subject is one line."), code="multiline")
        return self._checked(subject)

    def clean_body(self) -> str:
        return self._checked(self.cleaned_data["body"])

    def _checked(self, source: str) -> str:
        problem = template_problem(source, self.language)
        if problem:
            raise forms.ValidationError(problem, code="template")
        return source

    def preview(self) -> Rendered:
        """Render the (valid, maybe unsaved) input with made-up values, as the mail would look."""
        with translation.override(self.language):
            return render(
                self.cleaned_data["subject"],
                self.cleaned_data["body"],
                sample_context(self.language),
                PREVIEW_TICKET_ID,
            )
