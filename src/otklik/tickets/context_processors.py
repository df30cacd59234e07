"""Template context every page needs from tickets: the user's policy (what to show), the new-ticket link."""

from django.urls import NoReverseMatch, reverse
from django.utils.functional import lazy

from otklik.tickets.policies import TicketPolicy

# The support wizard's first page (kb, above tickets: only its URL's name is known here).
WIZARD_URL_NAME = "kb:wizard"


def new_ticket_url(policy: TicketPolicy) -> str:
    """Return where a client's "Ask a question" goes: the wizard when the module option is on, else the form."""
    plain = reverse("tickets:client_new")
    if policy.is_support or not policy.options.wizard_enabled:
        return plain
    try:
        return reverse(WIZARD_URL_NAME)
    except NoReverseMatch:  # no wizard installed
        return plain


def policy(request):
    user = getattr(request, "user", None)
    if user is None:
        return {}
    policy = getattr(request, "_ticket_policy", None)
    if policy is None:
        policy = TicketPolicy(user)
        request._ticket_policy = policy
    return {"policy": policy, "new_ticket_url": lazy(new_ticket_url, str)(policy)}
