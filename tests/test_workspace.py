"""The agent workspace (issue 17): the list's views and counts, the composer's one send, inline edits with
undo, the live requests with their ETags, the Markdown preview."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from otklik.core.errors import PermissionDenied, ValidationFailed
from otklik.dictionaries.models import DictionaryEntry
from otklik.tickets import inboxes, selectors, services
from otklik.tickets.models import Message, MessageKind, Ticket
from otklik.tickets.policies import TicketPolicy
from tests.conftest import logged_in


def entry(kind: str, code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind=kind, code=code)


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def desk(cast, make_ticket):
    """Tickets in each view of staff: two of theirs awaiting an answer, one answered, one unassigned, one
    overdue (someone else's), one closed."""
    mine = [make_ticket(title=f"Mine {n}") for n in range(3)]
    for ticket in mine:
        services.ticket_update(actor=cast.admin, ticket=fresh(ticket), changes={"responsible": cast.staff.pk})
    services.message_post(
        actor=cast.staff, ticket=fresh(mine[2]), draft=services.MessageDraft(body="We are on it.")
    )
    unassigned = make_ticket(title="Nobody's")
    services.ticket_update(actor=cast.admin, ticket=fresh(unassigned), changes={"responsible": None})
    late = make_ticket(title="Late one")
    services.ticket_update(actor=cast.admin, ticket=fresh(late), changes={"responsible": cast.staff2.pk})
    Ticket.objects.filter(pk=late.pk).update(is_overdue=True)
    closed = make_ticket(title="Done")
    services.ticket_update(actor=cast.admin, ticket=fresh(closed), changes={"responsible": cast.staff.pk})
    services.ticket_close(actor=cast.admin, ticket=fresh(closed))
    return {"mine": mine, "unassigned": unassigned, "late": late, "closed": closed}


# -- views and their counts ------------------------------------------------------------------------
def test_inbox_counts_match_the_tickets_each_view_lists(cast, desk):
    policy = TicketPolicy(cast.admin)
    counts = inboxes.inbox_counts(policy)
    for inbox in inboxes.inbox_list(policy):
        listed = policy.visible().filter(inbox.condition(policy)).count()
        assert counts[inbox.key] == listed, inbox.key
    staff_counts = inboxes.inbox_counts(TicketPolicy(cast.staff))
    assert staff_counts["mine"] == 3 and staff_counts["awaiting"] == 2
    assert counts["unassigned"] >= 1 and counts["overdue"] == 1
    assert counts["all"] == counts["open"] + 1


def test_inbox_counts_are_capped_and_read_in_one_statement(cast, desk):
    policy = TicketPolicy(cast.admin)
    policy.visible_q()  # the policy's own reads are not the counts'
    querysets = {i.key: policy.visible().filter(i.condition(policy)) for i in inboxes.inbox_list(policy)}
    with CaptureQueriesContext(connection) as queries:
        counts = inboxes.capped_counts(querysets, cap=2)
    assert len(queries) == 1
    assert counts["all"] == 2 and counts["overdue"] == 1
    assert "LIMIT 2" in queries[0]["sql"].upper()


def test_inbox_counts_of_a_condition_that_selects_nothing_are_zero(cast):
    from django.db.models import Q

    assert inboxes.capped_counts({"none": Ticket.objects.filter(Q(pk__in=[]))}) == {"none": 0}


def test_staff_list_view_param_lists_the_view_and_shows_its_count(cast, desk):
    response = logged_in(cast.staff).get(reverse("tickets:staff_list"), {"view": "awaiting"})
    assert response.status_code == 200
    ids = {t.pk for t, _ind in response.context["rows"]}
    assert ids == {desk["mine"][0].pk, desk["mine"][1].pk}
    html = response.content.decode()
    link = re.search(
        r'<a href="\?view=awaiting" aria-current="page"[^>]*><span>[^<]*</span><span class="count">(\d+)<',
        html,
    )
    assert link and link.group(1) == "2"


def test_staff_list_unknown_view_is_ignored(cast, desk):
    response = logged_in(cast.admin).get(reverse("tickets:staff_list"), {"view": "nonsense"})
    assert response.status_code == 200 and response.context["inbox"] is None


def test_staff_list_filter_chips_remove_one_filter_each(cast, desk):
    response = logged_in(cast.admin).get(reverse("tickets:staff_list"), {"state": "open", "q": "Mine"})
    chips = {name: without for name, _label, without in response.context["chips"]}
    assert set(chips) == {"state", "q"}
    assert "state" not in chips["state"] and "q=Mine" in chips["state"]


def test_saved_filter_counts_appear_beside_the_views(cast, desk):
    services.saved_filter_save(user=cast.staff, name="Open mine", query="state=open&view=mine")
    response = logged_in(cast.staff).get(reverse("tickets:staff_list"))
    [(saved, count)] = response.context["saved_filters"]
    assert saved.name == "Open mine" and count == 3


# -- the list's live request -------------------------------------------------------------------
def test_staff_list_live_answers_304_until_a_ticket_changes(cast, desk):
    client = logged_in(cast.staff)
    url = reverse("tickets:staff_list") + "?view=mine&live=1"
    first = client.get(url)
    assert first.status_code == 200 and first["ETag"]
    assert 'id="list-rows"' in first.content.decode() and 'id="inbox-nav"' in first.content.decode()
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    services.message_post(
        actor=cast.client, ticket=fresh(desk["mine"][2]), draft=services.MessageDraft(body="Any news?")
    )
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_staff_list_live_unchanged_costs_a_constant_few_queries(cast, desk, django_assert_max_num_queries):
    client = logged_in(cast.staff)
    url = reverse("tickets:staff_list") + "?live=1"
    etag = client.get(url)["ETag"]
    # session, user, profile (language and time zone), the policy's levels, the stamp
    with django_assert_max_num_queries(5):
        assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_tickets_stamp_moves_with_an_sla_mark_that_touches_no_modified_time(cast, desk):
    from otklik.core import events

    before = selectors.tickets_stamp()
    events.publish(events.TICKET_OVERDUE, payload={})
    assert selectors.tickets_stamp() != before


# -- the composer's one send --------------------------------------------------------------------
def test_reply_with_status_and_close_in_one_send(cast, desk):
    ticket = desk["mine"][0]
    solved = entry("status", "in_progress")
    response = logged_in(cast.staff).post(
        reverse("tickets:staff_detail", args=[ticket.pk]),
        {
            "reply-body": "Fixed: clear the cache.",
            "reply-hidden": "false",
            "then-status": solved.pk,
            "after": "close",
        },
    )
    assert response.status_code == 302
    ticket = fresh(ticket)
    assert ticket.closed_at is not None and ticket.status_id == solved.pk
    assert Message.objects.filter(ticket=ticket, body__startswith="Fixed: clear the cache.").exists()


def test_reply_follow_up_refused_rolls_the_reply_back(cast, desk):
    ticket = fresh(desk["mine"][0])
    before = Message.objects.filter(ticket=ticket).count()
    with pytest.raises((ValidationFailed, PermissionDenied)):
        services.ticket_reply(
            actor=cast.staff,
            ticket=ticket,
            draft=services.MessageDraft(body="An answer"),
            follow_up=services.ReplyFollowUp(changes={"responsible": cast.client.pk}),
        )
    assert Message.objects.filter(ticket=ticket).count() == before


def test_solve_key_without_text_closes_only(cast, desk):
    ticket = desk["mine"][1]
    before = Message.objects.filter(ticket=ticket).exclude(kind=MessageKind.LOG).count()
    response = logged_in(cast.staff).post(
        reverse("tickets:staff_detail", args=[ticket.pk]), {"reply-body": "  ", "after": "close"}
    )
    assert response.status_code == 302 and fresh(ticket).closed_at is not None
    assert Message.objects.filter(ticket=ticket).exclude(kind=MessageKind.LOG).count() == before


def test_hidden_note_tab_posts_a_hidden_message(cast, desk):
    ticket = desk["mine"][0]
    logged_in(cast.staff).post(
        reverse("tickets:staff_detail", args=[ticket.pk]),
        {"reply-body": "Between us.", "reply-hidden": "true"},
    )
    assert Message.objects.get(ticket=ticket, body="Between us.").kind == MessageKind.HIDDEN


def test_reply_signed_by_default_with_the_staff_signature(cast, desk):
    from otklik.accounts.models import Profile

    Profile.objects.filter(user=cast.staff).update(signature="Olga, support")
    page = (
        logged_in(cast.staff).get(reverse("tickets:staff_detail", args=[desk["mine"][0].pk])).content.decode()
    )
    assert re.search(r'name="reply-signed"[^>]*checked', page)
    logged_in(cast.staff).post(
        reverse("tickets:staff_detail", args=[desk["mine"][0].pk]),
        {"reply-body": "Done.", "reply-hidden": "false", "reply-signed": "on"},
    )
    assert Message.objects.get(ticket=desk["mine"][0], body__startswith="Done.").body.endswith(
        "Olga, support"
    )


# -- inline edits and undo --------------------------------------------------------------------------
def test_inline_field_change_saves_one_field_and_offers_undo(cast, desk):
    ticket = desk["mine"][0]
    old_status = fresh(ticket).status_id
    new = entry("status", "in_progress")
    client = logged_in(cast.staff)
    url = reverse("tickets:staff_field", args=[ticket.pk])
    response = client.post(url, {"field": "status", "attr-status": new.pk, "attr-title": "ignored"})
    assert response.status_code == 200
    assert fresh(ticket).status_id == new.pk and fresh(ticket).title == ticket.title
    undo = response.context["undo"]
    assert undo["field"] == "status" and undo["value"] == str(old_status or "")
    assert 'id="props"' in response.content.decode() and "Undo" in response.content.decode()
    back = client.post(url, {"field": "status", "attr-status": undo["value"]})
    assert back.status_code == 200 and fresh(ticket).status_id == old_status


def test_inline_field_bad_value_answers_400_with_the_field_message(cast, desk):
    url = reverse("tickets:staff_field", args=[desk["mine"][0].pk])
    response = logged_in(cast.staff).post(url, {"field": "auto_close_days", "attr-auto_close_days": "-4"})
    assert response.status_code == 400 and response.context["field_error"]
    unknown = logged_in(cast.staff).post(url, {"field": "author", "attr-author": "1"})
    assert unknown.status_code == 400


def test_assign_to_me_sets_the_responsible(cast, desk):
    ticket = desk["unassigned"]
    url = reverse("tickets:staff_field", args=[ticket.pk])
    response = logged_in(cast.staff).post(url, {"field": "responsible", "attr-responsible": cast.staff.pk})
    assert response.status_code == 200 and fresh(ticket).responsible_id == cast.staff.pk


def test_inline_field_refused_for_demo_and_invisible_for_clients(cast, desk):
    ticket = desk["mine"][0]
    url = reverse("tickets:staff_field", args=[ticket.pk])
    new = entry("status", "in_progress").pk
    assert logged_in(cast.demo).post(url, {"field": "status", "attr-status": new}).status_code != 200
    assert logged_in(cast.client).post(url, {"field": "status", "attr-status": new}).status_code != 200
    assert fresh(ticket).status_id != new


# -- the ticket page's live request -------------------------------------------------------------
def test_ticket_live_304_then_new_client_message_with_notice(cast, desk):
    ticket = desk["mine"][0]
    client = logged_in(cast.staff)
    url = reverse("tickets:staff_live", args=[ticket.pk])
    first = client.get(url)
    assert first.status_code == 200
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    services.message_post(
        actor=cast.client, ticket=fresh(ticket), draft=services.MessageDraft(body="Still broken")
    )
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    html = changed.content.decode()
    assert 'id="conversation" data-live-append' in html and "Still broken" in html
    assert re.search(r'data-live-notice="[^"]+"[^>]*>', html)


def test_ticket_live_changes_when_a_colleague_opens_the_ticket(cast, desk):
    ticket = desk["mine"][0]
    Ticket.objects.filter(pk=ticket.pk).update(responsible=None)  # visible to both staff
    client = logged_in(cast.staff)
    url = reverse("tickets:staff_live", args=[ticket.pk])
    etag = client.get(url)["ETag"]
    logged_in(cast.staff2).get(reverse("tickets:staff_detail", args=[ticket.pk]))
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_ticket_live_is_404_for_a_ticket_out_of_sight(cast, desk):
    url = reverse("tickets:staff_live", args=[desk["late"].pk])
    assert logged_in(cast.staff).get(url).status_code == 404


def test_ticket_live_unchanged_costs_a_constant_few_queries(cast, desk, django_assert_max_num_queries):
    client = logged_in(cast.staff)
    url = reverse("tickets:staff_live", args=[desk["mine"][0].pk])
    etag = client.get(url)["ETag"]
    # session, user, profile, levels, the colleagues' groups (twice: staff and client side), the options
    # (cached in production, not in tests), the process roles' grant, the ticket's live columns, presence
    with django_assert_max_num_queries(10):
        assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


# -- the system events, the preview -------------------------------------------------------------
def test_log_sentences_name_who_changed_what_in_the_readers_language(cast, desk):
    from django.utils import translation

    log = Message.objects.filter(ticket=desk["mine"][0], kind=MessageKind.LOG).last()
    with translation.override("en"):
        english = log.log_sentences
    with translation.override("ru"):
        russian = log.log_sentences
    assert english and all(" set " in s or " cleared " in s for s in english)
    assert russian != english


def test_markdown_preview_renders_like_the_conversation(cast):
    client = logged_in(cast.staff)
    response = client.post(reverse("tickets:markdown_preview"), {"reply-body": "**bold** <script>x</script>"})
    assert response.status_code == 200
    assert (
        "<strong>bold</strong>" in response.content.decode() and "<script>" not in response.content.decode()
    )
    assert (
        logged_in(cast.client).post(reverse("tickets:markdown_preview"), {"reply-body": "x"}).status_code
        == 403
    )


def test_ticket_live_changes_when_a_colleague_starts_answering(cast, desk):
    ticket = desk["mine"][0]
    Ticket.objects.filter(pk=ticket.pk).update(responsible=None)  # visible to both staff
    logged_in(cast.staff2).get(reverse("tickets:staff_detail", args=[ticket.pk]))
    client = logged_in(cast.staff)
    url = reverse("tickets:staff_live", args=[ticket.pk])
    etag = client.get(url)["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    services.presence_touch(user=cast.staff2, ticket=fresh(ticket), answering=True)
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and 'class="answering"' in changed.content.decode()


def test_client_card_names_the_authors_company_and_other_tickets(cast, desk):
    html = (
        logged_in(cast.staff).get(reverse("tickets:staff_detail", args=[desk["mine"][0].pk])).content.decode()
    )
    card = html[html.index('class="card client-card"') :]
    card = card[: card.index("</section>")]
    assert "Romashka LLC" in card and "Ivan Petrov" in card and "client@example.com" in card
    assert f"#{desk['mine'][1].pk} " in card  # another of the author's tickets


@pytest.mark.parametrize(
    ("ago", "en", "ru"),
    [
        (10, "just now", "только что"),
        (5 * 60, "5 min ago", "5 мин назад"),
        (3 * 3600, "3 h ago", "3 ч назад"),
        (2 * 86400, "2 days ago", "2 дня назад"),
        (-42 * 60 - 30, "in 42 min", "через 42 мин"),
    ],
)
def test_reltime_reads_in_the_viewers_language_with_the_exact_time_on_hover(frozen, ago, en, ru):
    from datetime import timedelta

    from django.utils import translation

    from otklik.core import clock
    from otklik.ui.templatetags.otklik import reltime

    at = clock.now() - timedelta(seconds=ago)
    with translation.override("en"):
        html = reltime(at)
        assert f">{en}</time>" in html and 'title="' in html and "data-rel" in html
    with translation.override("ru"):
        assert f">{ru}</time>" in reltime(at)
    assert reltime(None) == ""


# -- following ----------------------------------------------------------------------------------
def test_follow_puts_the_ticket_under_tickets_i_follow_and_unfollow_takes_it_out(cast, desk):
    ticket = desk["unassigned"]
    client = logged_in(cast.staff)
    url = reverse("tickets:staff_follow", args=[ticket.pk])
    response = client.post(url, {"follow": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'aria-pressed="true"' in response.content.decode()
    assert inboxes.inbox_counts(TicketPolicy(cast.staff))["following"] == 1
    listed = client.get(reverse("tickets:staff_list"), {"view": "following"})
    assert [t.pk for t, _ind in listed.context["rows"]] == [ticket.pk]
    client.post(url, {"follow": "1"})  # twice: still one row
    assert ticket.followers.count() == 1
    assert client.post(url, {"follow": "0"}).status_code == 302
    assert inboxes.inbox_counts(TicketPolicy(cast.staff))["following"] == 0


def test_follow_refused_for_clients_demo_and_tickets_out_of_sight(cast, desk):
    with pytest.raises(PermissionDenied):
        services.ticket_follow(actor=cast.demo, ticket=fresh(desk["mine"][0]))
    from otklik.core.errors import NotFound

    with pytest.raises(NotFound):
        services.ticket_follow(actor=cast.staff, ticket=fresh(desk["late"]))
    assert logged_in(cast.client).post(
        reverse("tickets:staff_follow", args=[desk["mine"][0].pk]), {"follow": "1"}
    ).status_code in (302, 403, 404)
    assert not desk["mine"][0].followers.exists()


# -- bad input: a 4xx (or the page again with a message), never a 500, nothing saved --------------------
ODD = ["", " ", "abc", "-1", "9" * 40, "1.5", "x\u0000y", "\u202e\u0301\ud7ff", "я" * 5000, "[]", "{}"]


@pytest.mark.parametrize("value", ODD)
def test_composer_follow_up_with_bad_values_is_refused_and_saves_nothing(cast, desk, value):
    ticket = desk["mine"][0]
    before = Message.objects.filter(ticket=ticket).count()
    response = logged_in(cast.staff).post(
        reverse("tickets:staff_detail", args=[ticket.pk]),
        {"reply-body": "An answer", "then-status": value, "then-responsible": value, "reply-minutes": value},
    )
    if value:
        assert response.status_code == 400
        assert Message.objects.filter(ticket=ticket).count() == before
    else:
        assert response.status_code == 302  # blank means "unchanged"


@pytest.mark.parametrize("value", ODD)
def test_inline_field_with_bad_values_never_fails_the_server(cast, desk, value):
    url = reverse("tickets:staff_field", args=[desk["mine"][0].pk])
    client = logged_in(cast.staff)
    for field in ("status", "responsible", "auto_close_days", "is_postponed", value):
        response = client.post(url, {"field": field, f"attr-{field}": value})
        assert response.status_code < 500, (field, value)


@pytest.mark.parametrize("value", ODD)
def test_list_view_live_and_follow_with_bad_values_never_fail_the_server(cast, desk, value):
    client = logged_in(cast.staff)
    listing = client.get(reverse("tickets:staff_list"), {"view": value, "live": value, "sort": value})
    assert listing.status_code < 500
    assert client.get(
        reverse("tickets:staff_live", args=[desk["mine"][0].pk]), HTTP_IF_NONE_MATCH=value[:200]
    ).status_code in (200, 304)
    follow = client.post(reverse("tickets:staff_follow", args=[desk["mine"][0].pk]), {"follow": value})
    assert follow.status_code < 500


def test_markdown_preview_of_a_huge_or_odd_text_is_bounded(cast):
    client = logged_in(cast.staff)
    for text in ("", "\u0000" * 10, "*" * 300_000, "[x](javascript:alert(1))" * 1000):
        response = client.post(reverse("tickets:markdown_preview"), {"reply-body": text})
        assert response.status_code == 200 and 'href="javascript' not in response.content.decode()
