"""Template context every page needs from tickets: the user's policy (what to show)."""

from otklik.tickets.policies import TicketPolicy


def policy(request):
    user = getattr(request, "user", None)
    if user is None:
        return {}
    policy = getattr(request, "_ticket_policy", None)
    if policy is None:
        policy = TicketPolicy(user)
        request._ticket_policy = policy
    return {"policy": policy}
