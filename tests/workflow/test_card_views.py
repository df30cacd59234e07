"""The process card on the staff ticket page, its moves and votes over the web, role pages, "my queue",
and the client's plain-language stage (F-30)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from otklik.accounts.middleware import SESSION_LANGUAGE_KEY
from otklik.tickets.models import Message, MessageKind
from otklik.workflow.models import Move, TicketProcess, Vote
from otklik.workflow.services import workflow_transition, workflow_vote
from tests.helpers import fresh


def browser(user, language: str = "en") -> Client:
    """Log `user` in with the page language chosen for the session (it wins over the profile's)."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_LANGUAGE_KEY] = language
    session.save()
    return client


def move(actor, ticket, transition, **values):
    return workflow_transition(actor=actor, ticket=fresh(ticket), transition=transition, values=values)


def place(ticket) -> TicketProcess:
    return TicketProcess.objects.get(ticket=ticket)


def detail(ticket) -> str:
    return reverse("tickets:staff_detail", args=[ticket.pk])


def move_url(ticket, code: str) -> str:
    return reverse("workflow:move", args=[ticket.pk, code])


def card_of(html: str) -> str:
    start = html.index('id="process-card"')
    return html[start : html.index("</section>", start)]


def test_staff_page_shows_the_card_with_state_role_moves_and_help_link(crew, make_ticket):
    ticket = make_ticket()
    html = browser(crew.l1).get(detail(ticket)).content.decode()
    card = card_of(html)
    assert "First line: classification" in card and "L1 operator" in card
    assert f'href="{move_url(ticket, "escalate")}"' in card and 'data-move="escalate"' in card
    assert reverse("workflow:role", args=["l1_operator"]) in card
    assert "otklik/process-card.js" in card


def test_a_staff_member_without_the_role_sees_the_card_without_moves(crew, cast, make_ticket):
    ticket = make_ticket()
    card = card_of(browser(cast.staff).get(detail(ticket)).content.decode())
    assert "First line: classification" in card
    assert "data-move=" not in card and "No move here is yours" in card


def test_opening_a_move_renders_its_form_inline_for_htmx(crew, make_ticket):
    ticket = make_ticket()
    response = browser(crew.l1).get(move_url(ticket, "escalate"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and html.startswith('<section class="card process-card"')
    assert 'hx-post="' + move_url(ticket, "escalate") + '"' in html
    assert 'name="comment"' in html and "required" in html


def test_opening_a_move_without_javascript_renders_a_page(crew, make_ticket):
    ticket = make_ticket()
    response = browser(crew.l1).get(move_url(ticket, "escalate"))
    assert response.status_code == 200 and "<html" in response.content.decode()


def test_a_move_through_the_web_moves_the_ticket_and_redirects_to_its_page(crew, make_ticket):
    ticket = make_ticket()
    web = browser(crew.l1)
    response = web.post(move_url(ticket, "escalate"), {"comment": "Checked the logs: a 500 on login"})
    assert response.status_code == 302 and response["Location"] == detail(ticket)
    assert place(ticket).state == "triage"
    assert (
        Move.objects.get(ticket=ticket, transition="escalate").comment == "Checked the logs: a 500 on login"
    )
    page = web.get(detail(ticket)).content.decode()
    assert "Done: " in page and "The ticket is now at “Incident manager&#x27;s triage”" in page
    history = card_of(page)
    assert "History of moves (1)" in history and "Checked the logs: a 500 on login" in history
    assert "L1 outcome" in history


def test_a_move_by_htmx_answers_with_a_redirect_header(crew, make_ticket):
    ticket = make_ticket()
    response = browser(crew.l1).post(
        move_url(ticket, "solve"), {"comment": "Cleared the cache"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and response["HX-Redirect"] == detail(ticket)
    assert place(ticket).state == "inform"


def test_a_move_with_missing_fields_answers_422_with_the_field_errors_in_place(crew, make_ticket):
    ticket = make_ticket()
    response = browser(crew.l1).post(move_url(ticket, "escalate"), {"comment": ""}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="pc-comment-errors"' in html and "This field is required." in html
    assert 'aria-invalid="true"' in html and place(ticket).state == "l1"


def test_a_move_by_a_staff_member_without_the_role_answers_403(crew, cast, make_ticket):
    ticket = make_ticket()
    web = browser(cast.staff)
    assert web.get(detail(ticket)).status_code == 200  # they see the ticket...
    assert web.get(move_url(ticket, "escalate"), HTTP_HX_REQUEST="true").status_code == 403
    response = web.post(move_url(ticket, "escalate"), {"comment": "Mine"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 403  # ...but the move is the L1 operator's
    assert "Only the role that must act here may take this move." in response.content.decode()
    assert place(ticket).state == "l1"


def test_a_move_not_available_in_the_state_answers_409(crew, make_ticket):
    ticket = make_ticket()
    response = browser(crew.l1).post(move_url(ticket, "verified"), {}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "not available in the state" in response.content.decode()


def test_a_decision_before_the_quorum_answers_409_with_the_reason(crew, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="Feature")
    move(crew.manager, ticket, "change_request")
    response = browser(crew.board1).post(move_url(ticket, "approve"), {}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and "waits for 2 votes" in response.content.decode()


def test_a_client_cannot_reach_the_card_pages(crew, cast, make_ticket):
    ticket = make_ticket()
    web = browser(cast.client)
    assert web.get(move_url(ticket, "escalate")).status_code == 403
    assert web.post(move_url(ticket, "escalate"), {"comment": "x"}).status_code == 403
    assert web.get(reverse("workflow:role", args=["l1_operator"])).status_code == 403
    assert place(ticket).state == "l1"


def test_the_board_votes_through_the_card_and_sees_the_tally(crew, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="Feature")
    move(crew.manager, ticket, "change_request")
    web = browser(crew.board1)
    card = card_of(web.get(detail(ticket)).content.decode())
    assert reverse("workflow:vote", args=[ticket.pk]) in card and "No votes yet." in card
    response = web.post(reverse("workflow:vote", args=[ticket.pk]), {"vote": "approve", "comment": "Useful"})
    assert response.status_code == 302
    assert Vote.objects.get(ticket=ticket, voter=crew.board1).vote == "approve"
    card = card_of(web.get(detail(ticket)).content.decode())
    assert "approve 1" in card and "“Useful”" in card and "Change my vote" in card
    bad = web.post(reverse("workflow:vote", args=[ticket.pk]), {"vote": "maybe"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422 and "Vote approve or reject." in bad.content.decode()
    # Someone outside the board sees the votes but gets no vote form, and is refused.
    manager = browser(crew.manager)
    assert "Change my vote" not in card_of(manager.get(detail(ticket)).content.decode())
    refused = manager.post(
        reverse("workflow:vote", args=[ticket.pk]), {"vote": "reject"}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 403
    workflow_vote(actor=crew.board2, ticket=fresh(ticket), vote="approve")
    assert browser(crew.board3).post(move_url(ticket, "approve"), {}).status_code == 302
    assert place(ticket).state == "planning"


def test_planning_takes_the_effort_and_the_card_shows_the_expected_date(crew, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="Feature")
    move(crew.manager, ticket, "change_request")
    workflow_vote(actor=crew.board1, ticket=fresh(ticket), vote="approve")
    workflow_vote(actor=crew.board2, ticket=fresh(ticket), vote="approve")
    move(crew.board1, ticket, "approve")
    web = browser(crew.manager)
    form = web.get(move_url(ticket, "plan"), HTTP_HX_REQUEST="true").content.decode()
    assert 'type="number" name="planned_effort"' in form and 'type="date" name="expected_date"' in form
    bad = web.post(move_url(ticket, "plan"), {"planned_effort": "lots"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422 and "Enter a number of working hours." in bad.content.decode()
    assert 'value="lots"' in bad.content.decode()  # what was typed stays
    assert web.post(move_url(ticket, "plan"), {"planned_effort": "8"}).status_code == 302
    assert fresh(ticket).expected_date is not None
    card = card_of(web.get(detail(ticket)).content.decode())
    assert "Expected by" in card
    assert web.post(move_url(ticket, "assign_developer"), {}).status_code == 302
    card = card_of(browser(crew.developer).get(detail(ticket)).content.decode())
    assert "In work" in card and "assigned:" in card and "Developer Testov" in card


def test_an_admin_move_is_marked_as_admin_in_the_history(crew, cast, make_ticket):
    ticket = make_ticket()
    web = browser(cast.admin)
    assert web.post(move_url(ticket, "escalate"), {"comment": "Standing in"}).status_code == 302
    assert "as admin" in card_of(web.get(detail(ticket)).content.decode())


def test_the_role_page_shows_the_instructions_and_the_states_in_the_active_language(crew):
    url = reverse("workflow:role", args=["incident_manager"])
    page = browser(crew.manager).get(url).content.decode()
    assert "Incident manager" in page and "You hold this role." in page
    assert "Incident manager&#x27;s triage" in page or "Incident manager's triage" in page
    assert "Planning the change" in page and "planned effort, working hours" in page
    ru = browser(crew.manager, "ru").get(url).content.decode()
    assert "Разбор менеджером инцидентов" in ru
    assert "плановая трудоёмкость, рабочие часы" in ru and "working hours" not in ru
    assert browser(crew.manager).get(reverse("workflow:role", args=["nobody"])).status_code == 404


def test_the_role_page_needs_a_login(crew):
    response = Client().get(reverse("workflow:role", args=["tester"]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_my_queue_lists_the_tickets_waiting_for_my_roles(crew, cast, make_ticket):
    make_ticket(title="Waiting for L1")
    moved = make_ticket(title="Moved to triage")
    move(crew.l1, moved, "escalate", comment="Technical")
    url = reverse("tickets:staff_list") + "?queue=on"
    l1_page = browser(crew.l1).get(url).content.decode()
    assert "Waiting for L1" in l1_page and "Moved to triage" not in l1_page
    manager_page = browser(crew.manager).get(url).content.decode()
    assert "Moved to triage" in manager_page and "Waiting for L1" not in manager_page
    assert 'name="queue"' in browser(crew.l1).get(reverse("tickets:staff_list")).content.decode()
    # Someone holding no role has an empty queue, not every ticket.
    assert "Waiting for L1" not in browser(cast.admin).get(url).content.decode()


def test_my_queue_costs_the_same_number_of_queries_for_more_tickets(
    crew, make_ticket, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    web = browser(crew.l1)
    url = reverse("tickets:staff_list") + "?queue=on"
    make_ticket(title="One")
    web.get(url)
    with CaptureQueriesContext(connection) as few:
        web.get(url)
    for i in range(6):
        make_ticket(title=f"More {i}")
    with CaptureQueriesContext(connection) as many:
        page = web.get(url).content.decode()
    assert "More 5" in page
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_client_sees_the_plain_stage_and_nothing_internal(crew, cast, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="INTERNAL-COMMENT-42")
    move(crew.manager, ticket, "change_request", comment="BOARD-NOTE")
    workflow_vote(actor=crew.board1, ticket=fresh(ticket), vote="approve", comment="VOTE-COMMENT")
    page = browser(cast.client).get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    assert 'id="process-stage"' in page and "The change request is being reviewed" in page
    for internal in (
        "INTERNAL-COMMENT-42", "BOARD-NOTE", "VOTE-COMMENT", "Change board", "Incident manager",
        "process-card", "change_board", "approve", "Escalate", "L1 operator",
    ):  # fmt: skip
        assert internal not in page, internal


def test_the_client_stage_carries_the_expected_date(crew, cast, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="Feature")
    move(crew.manager, ticket, "change_request")
    workflow_vote(actor=crew.board1, ticket=fresh(ticket), vote="approve")
    workflow_vote(actor=crew.board2, ticket=fresh(ticket), vote="approve")
    move(crew.board1, ticket, "approve")
    move(crew.manager, ticket, "plan", planned_effort="8", expected_date="2027-03-14")
    move(crew.manager, ticket, "assign_developer")
    page = browser(cast.client).get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    stage = re.search(r'id="process-stage">(.*?)</p>', page, re.S).group(1)
    assert "A solution is being prepared, expected by 14 March 2027" in stage


@pytest.mark.parametrize("field", ["reply"])
def test_closing_requires_a_reply_and_posts_it_publicly(crew, make_ticket, field):
    ticket = make_ticket()
    move(crew.l1, ticket, "solve", comment="Cleared the cache")
    web = browser(crew.l1)
    bad = web.post(move_url(ticket, "close"), {}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422 and f'id="pc-{field}-errors"' in bad.content.decode()
    assert web.post(move_url(ticket, "close"), {field: "Please try again now."}).status_code == 302
    assert fresh(ticket).closed_at is not None
    assert Message.objects.filter(
        ticket=ticket, kind=MessageKind.PUBLIC, body="Please try again now."
    ).exists()


def test_my_queue_filters_the_api_ticket_list_too(crew, cast, make_ticket):
    from tests.helpers import Api

    make_ticket(title="Waiting for L1")
    moved = make_ticket(title="Moved to triage")
    move(crew.l1, moved, "escalate", comment="Technical")
    titles = {
        t["title"] for t in Api(crew.manager).get("/api/v1/tickets", {"queue": "true"}).json()["results"]
    }
    assert titles == {"Moved to triage"}
    # A client's request for the queue is ignored like every staff-only filter, never an error.
    response = Api(cast.client).get("/api/v1/tickets", {"queue": "true"})
    assert response.status_code == 200 and len(response.json()["results"]) == 2


def test_the_queue_checkbox_keeps_its_state_and_the_list_stays_usable_without_roles(cast, make_ticket):
    make_ticket(title="Somebody's ticket")
    page = browser(cast.staff).get(reverse("tickets:staff_list") + "?queue=on").content.decode()
    assert re.search(r'<input type="checkbox" name="queue"[^>]*checked', page)
    assert "Somebody&#x27;s ticket" not in page and "Somebody's ticket" not in page


def test_the_card_and_the_client_stage_speak_russian_too(crew, cast, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="Проверила журнал")
    card = card_of(browser(crew.manager, "ru").get(detail(ticket)).content.decode())
    assert "Разбор менеджером инцидентов" in card and "Менеджер инцидентов" in card
    page = browser(cast.client, "ru").get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    assert "У второй линии поддержки" in page and "Проверила журнал" not in page


def test_the_card_draws_the_process_with_the_ticket_state_filled_and_the_client_sees_no_drawing(
    crew, cast, make_ticket
):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="A bug")
    card = card_of(browser(crew.manager).get(detail(ticket)).content.decode())
    drawing = card[card.index("<svg") :]
    assert "Incident manager&#x27;s triage" in drawing or "Incident manager's triage" in drawing
    assert drawing.count('aria-current="step"') == 1
    client_page = (
        browser(cast.client).get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    )
    assert "Incident manager" not in client_page and 'aria-current="step"' not in client_page


@pytest.mark.parametrize(
    "values",
    [
        {"comment": "ё" * 70_000},
        {"comment": "\x00 a null character"},
        {"comment": "x", "responsible": "not-a-user"},
        {"comment": "x", "expected_date": "2030-02-30"},
        {"comment": "x", "planned_effort": "1e999"},
        {"comment": "x", "planned_effort": "-5"},
        {"comment": "x", "criticality": "9" * 40},
    ],
)
def test_a_move_form_with_a_bad_value_answers_422_and_does_not_move(cast, make_ticket, values):
    ticket = make_ticket()
    response = browser(cast.admin).post(move_url(ticket, "escalate"), values, HTTP_HX_REQUEST="true")
    assert response.status_code == 422, response.status_code
    assert place(ticket).state == "l1"


def test_a_vote_form_with_a_bad_choice_answers_4xx(crew, make_ticket):
    ticket = make_ticket()
    move(crew.l1, ticket, "escalate", comment="Feature")
    move(crew.manager, ticket, "change_request")
    for choice in ("", "maybe", "ё" * 5000):
        response = browser(crew.board1).post(
            reverse("workflow:vote", args=[ticket.pk]), {"vote": choice}, HTTP_HX_REQUEST="true"
        )
        assert 400 <= response.status_code < 500, (choice[:10], response.status_code)
    nul = browser(crew.board1).post(
        reverse("workflow:vote", args=[ticket.pk]),
        {"vote": "approve", "comment": "a\x00b"},
        HTTP_HX_REQUEST="true",
    )
    assert nul.status_code == 422 and "Null characters are not allowed." in nul.content.decode()
    assert not Vote.objects.filter(ticket=ticket).exists()
