"""Domain errors raised by services and mapped to 4xx answers by the web and API layers."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """Base class: a request that cannot be carried out, with a message for the user."""

    status = 400

    def __init__(self, message: object = None, *, field: str | None = None, errors: dict | None = None):
        self.message = str(message) if message is not None else str(self.default_message)
        self.field = field
        self.errors = errors or ({field: [self.message]} if field else {})
        super().__init__(self.message)

    default_message = _("The request cannot be carried out.")

    def text(self) -> str:
        """Return every field message in one line (or the general message when there are none)."""
        return " ".join(m for messages in self.errors.values() for m in messages) or self.message


class ValidationFailed(DomainError):
    """Input is wrong; `errors` maps field names to messages."""

    status = 422
    default_message = _("Please correct the errors below.")


class PermissionDenied(DomainError):
    """The user may see the object but may not do this to it."""

    status = 403
    default_message = _("You are not allowed to do this.")


class NotFound(DomainError):
    """The object does not exist or the user may not see it (indistinguishable on purpose)."""

    status = 404
    default_message = _("Not found.")


class ReadOnlyAccess(PermissionDenied):
    """Demo access saves nothing."""

    default_message = _("Demo access is read-only: nothing was saved.")


class Conflict(DomainError):
    """The request does not fit the object's current state (a process move not available from here)."""

    status = 409
    default_message = _("This cannot be done in the current state.")
