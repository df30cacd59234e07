"""Form helpers shared by the apps' views: carry service errors onto Django forms."""

from django import forms

from otklik.core.errors import DomainError


def apply_errors(form: forms.Form, exc: DomainError) -> None:
    """Put a service's field errors on the form's fields (unknown fields become form-wide errors)."""
    if not exc.errors:
        form.add_error(None, exc.message)
        return
    for field, messages in exc.errors.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(
                target, message if target else f"{field}: {message}" if field not in ("__all__",) else message
            )


class KeyboardFriendlyMixin:
    """Give every widget the CSS class the stylesheet expects and mark required fields."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            css = "check" if isinstance(widget, forms.CheckboxInput) else "input"
            widget.attrs.setdefault("class", css)
            if field.required:
                widget.attrs.setdefault("aria-required", "true")
