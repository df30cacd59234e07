"""The home page: it sends each user to the part of the product they work in."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from otklik.tickets.policies import TicketPolicy


def home(request: HttpRequest) -> HttpResponse:
    """Send staff to their workspace and clients to their tickets."""
    policy = TicketPolicy(request.user)
    return redirect("tickets:staff_list" if policy.sees_support_view else "tickets:client_list")
