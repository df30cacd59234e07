"""Template context every page needs: the user's policy (what to show) and the product name."""

from otklik.tickets.policies import TicketPolicy


def otklik(request):
    user = getattr(request, "user", None)
    if user is None:
        return {}
    policy = getattr(request, "_ticket_policy", None)
    if policy is None:
        policy = TicketPolicy(user)
        request._ticket_policy = policy
    return {"policy": policy, "product_name": "Otklik"}
