"""The presence line's refresh (F-14): a GET only reads who is there, a POST records the visit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from otklik.tickets.models import TicketPresence
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


def test_presence_get_reads_line_without_recording_a_visit(cast, make_ticket):
    ticket = make_ticket()
    url = reverse("tickets:presence", args=[ticket.pk])
    logged_in(cast.staff2).post(url, {"answering": "1"})
    response = logged_in(cast.staff).get(url)
    assert response.status_code == 200 and "answering now" in response.content.decode()
    assert list(TicketPresence.objects.values_list("user__username", flat=True)) == ["staff2"]


def test_staff_pages_carry_no_inline_script_or_handler(cast, make_ticket):
    ticket = make_ticket()
    client = logged_in(cast.staff)
    for url in (reverse("tickets:staff_list"), reverse("tickets:staff_detail", args=[ticket.pk])):
        html = client.get(url).content.decode()
        assert "<script>" not in html and " onclick=" not in html and " onchange=" not in html, url


@pytest.mark.parametrize("name", ["staff_detail.html", "staff_list.html", "staff_bulk_confirm.html"])
def test_staff_templates_have_no_inline_script_or_handler(name):
    """A Content-Security-Policy with nonces blocks inline code: these templates load static files only."""
    import otklik.tickets

    source = (Path(otklik.tickets.__file__).parent / "templates" / "tickets" / name).read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source)
    assert not re.search(r"\son[a-z]+\s*=", source)
