"""The admins' form for one mail template: subject and body, checked by compiling and trying them."""

from __future__ import annotations

from django import forms
from django.template import TemplateSyntaxError
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from otklik.notifications.models import MailTemplate
from otklik.notifications.rendering import Rendered, compile_template, render, sample_context

# The number the preview's made-up ticket has (sample_context speaks of ticket 1234).
PREVIEW_TICKET_ID = 1234


def template_problem(source: str, language: str) -> str | None:
    """Return why a template source cannot be used for mail, or None when it compiles and renders.

    Compiling catches syntax errors; rendering with the preview's values catches what only fails at
    render time (an `{% include %}` or `{% url %}` has nothing to find in the mail template engine).
    """
    try:
        for autoescape in (False, True):
            compile_template(source, autoescape=autoescape)
        render(source, source, sample_context(language), PREVIEW_TICKET_ID)
    except TemplateSyntaxError as exc:
        return gettext("The template has a syntax error: %(error)s") % {"error": exc}
    except Exception as exc:  # anything the template engine raises while rendering
        return gettext("The template fails when it is filled in: %(error)s") % {"error": exc}
    return None


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
