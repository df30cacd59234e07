"""Confirmed addresses (F-12, issue 12): registering with someone else's address gives nothing of theirs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.core import signing
from django.test import Client
from django.urls import reverse

from otklik.accounts.mailing import CONFIRM_SALT, confirmation_token
from otklik.accounts.models import Profile
from otklik.accounts.services import email_confirm, email_confirmed_set, user_create
from otklik.core.errors import ValidationFailed
from otklik.mail.services import mail_ingest
from otklik.notifications import catalog
from otklik.notifications.models import OutboxMessage
from otklik.tickets import services
from otklik.tickets.models import Ticket, TicketEvent
from otklik.tickets.policies import TicketPolicy
from tests.test_mail_ingest import mail

pytestmark = pytest.mark.django_db
VICTIM = "victim@customer.example"
PASSWORD = "Kw9$Zyxqu!Vbfp2"
CONFIRM_LINK = re.compile(r"https?://\S+/confirm/[^/\s]+/")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def register_on_page(username: str, email: str) -> tuple[Client, object]:
    """Register through the page as a visitor would; return the (logged-in) browser and the answer."""
    browser = Client()
    response = browser.post(
        reverse("accounts:register"),
        {"username": username, "email": email, "password": PASSWORD, "password2": PASSWORD},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    return browser, response


def mail_to(address: str, event: str) -> list[OutboxMessage]:
    return [m for m in OutboxMessage.objects.filter(event=event).order_by("id") if address in m.to]


def confirm_link(message: OutboxMessage) -> str:
    """Return the path of the confirmation link in the mail."""
    found = CONFIRM_LINK.search(message.body_text)
    assert found, message.body_text
    return urlsplit(found.group(0)).path


def api_ids(browser: Client) -> set[int]:
    response = browser.get("/api/v1/tickets")
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


def page_ids(browser: Client) -> set[int]:
    html = browser.get(reverse("tickets:client_list")).content.decode()
    return {int(n) for n in re.findall(r"/tickets/(\d+)/", html)}


def test_identity_takeover_replayed_stranger_sees_nothing_victim_confirms_and_sees_both(cast):
    before = Ticket.objects.get(pk=mail_ingest(mail(sender=f"Victim <{VICTIM}>", subject="Before")).ticket)
    services.message_post(
        actor=cast.staff, ticket=before, draft=services.MessageDraft(body="Your secret answer: code 4711")
    )

    stranger, answer = register_on_page("stranger", VICTIM)
    assert answer.status_code == 200 and answer.redirect_chain[-1][0] == reverse("tickets:client_new")
    after = Ticket.objects.get(pk=mail_ingest(mail(sender=f"Victim <{VICTIM}>", subject="After")).ticket)
    assert after.author is None and after.author_email == VICTIM

    # The stranger sees nothing: no list row, no page, nothing in the API, not the staff's answer.
    assert page_ids(stranger) == set() and api_ids(stranger) == set()
    for ticket in (before, after):
        assert stranger.get(reverse("tickets:client_detail", args=[ticket.pk])).status_code == 404
        assert stranger.get(f"/api/v1/tickets/{ticket.pk}").status_code == 404
    assert "4711" not in stranger.get(reverse("tickets:client_list")).content.decode()

    # The victim registers too: the same answer as the stranger got; their mail says the address was used.
    victim, victim_answer = register_on_page("victim", VICTIM)
    assert victim_answer.redirect_chain == answer.redirect_chain
    notice = mail_to(VICTIM, catalog.ADDRESS_REGISTERED_AGAIN)
    assert len(notice) == 1 and "stranger" in notice[0].body_text and "victim" in notice[0].body_text
    # The stranger's own link, even opened by the victim signed in, confirms nothing.
    stranger_link = confirm_link(mail_to(VICTIM, catalog.ADDRESS_CONFIRM)[0])
    assert victim.post(stranger_link).status_code == 200
    assert not Profile.objects.get(user__username="stranger").email_confirmed

    response = victim.post(confirm_link(notice[0]))
    assert response.status_code == 302
    victim_user = User.objects.get(username="victim")
    assert victim_user.profile.email_confirmed
    assert page_ids(victim) == api_ids(victim) == {before.pk, after.pk}
    assert "4711" in victim.get(reverse("tickets:client_detail", args=[before.pk])).content.decode()
    # Later mail is the victim's at once; the stranger still has nothing.
    later = mail_ingest(mail(sender=f"Victim <{VICTIM}>", subject="Later")).ticket
    assert Ticket.objects.get(pk=later).author == victim_user
    assert page_ids(stranger) == set() and api_ids(stranger) == set()


def test_mail_ingest_unconfirmed_address_ticket_stays_address_only(cast):
    user = user_create(username="fresh", email="fresh@customer.example", password=PASSWORD)
    ticket = Ticket.objects.get(pk=mail_ingest(mail(sender="fresh@customer.example")).ticket)
    assert ticket.author is None and ticket.author_email == "fresh@customer.example"
    assert not TicketPolicy(user).can_view(ticket)


def test_email_confirm_earlier_address_tickets_become_the_users_with_a_log_line(cast):
    first = mail_ingest(mail(sender="fresh@customer.example", subject="One")).ticket
    second = mail_ingest(mail(sender="FRESH@customer.example", subject="Two")).ticket
    user = user_create(username="fresh", email="fresh@customer.example", password=PASSWORD)
    email_confirm(user=user, email="fresh@customer.example", actor=user)
    for pk in (first, second):
        ticket = Ticket.objects.get(pk=pk)
        assert ticket.author == user
        assert ticket.messages.get(number=1).author == user
        event = TicketEvent.objects.get(ticket=ticket, field="author")
        assert event.old.lower() == "fresh@customer.example" and event.new == "fresh"


def test_email_confirm_address_confirmed_by_another_active_account_refused(cast):
    # cast.client@example.com is confirmed for cast.client (staff-created users are).
    twin = user_create(username="twin", email="client@example.com", password=PASSWORD)
    with pytest.raises(ValidationFailed):
        email_confirm(user=twin, email="client@example.com")
    assert not Profile.objects.get(user=twin).email_confirmed


def test_email_confirm_inactive_holder_gives_the_address_up(cast):
    User.objects.filter(pk=cast.client.pk).update(is_active=False)
    twin = user_create(username="twin", email="client@example.com", password=PASSWORD)
    email_confirm(user=twin, email="client@example.com")
    assert Profile.objects.get(user=twin).email_confirmed
    assert Profile.objects.get(user=cast.client).confirmed_email == ""


def test_profile_confirmed_email_unique_constraint_holds_in_the_database(cast):
    from django.db import IntegrityError, transaction

    twin = user_create(username="twin", email="client@example.com", password=PASSWORD)
    with pytest.raises(IntegrityError), transaction.atomic():
        Profile.objects.filter(user=twin).update(confirmed_email="client@example.com")


def test_user_create_staff_marks_confirmed_mail_matches_at_once(db):
    user = user_create(username="imported", email="imp@customer.example", password=None, email_confirmed=True)
    ticket = mail_ingest(mail(sender="imp@customer.example")).ticket
    assert Ticket.objects.get(pk=ticket).author == user


def test_user_create_confirmed_claims_the_addresses_earlier_tickets(db):
    earlier = mail_ingest(mail(sender="Imp@Customer.example")).ticket
    user = user_create(username="imported", email="imp@customer.example", password=None, email_confirmed=True)
    assert Ticket.objects.get(pk=earlier).author == user
    assert Profile.objects.get(user=user).confirmed_email == "imp@customer.example"


def test_user_create_confirmed_address_held_by_an_active_account_refused_nothing_created(cast):
    with pytest.raises(ValidationFailed) as refused:
        user_create(username="twin", email="Client@example.com", password=PASSWORD, email_confirmed=True)
    assert "email" in refused.value.errors
    assert not User.objects.filter(username="twin").exists()
    assert Profile.objects.get(user=cast.client).confirmed_email == "client@example.com"


def test_user_create_confirmed_takes_the_address_from_an_inactive_holder(cast):
    User.objects.filter(pk=cast.client.pk).update(is_active=False)
    twin = user_create(username="twin", email="client@example.com", password=PASSWORD, email_confirmed=True)
    assert Profile.objects.get(user=twin).confirmed_email == "client@example.com"
    assert Profile.objects.get(user=cast.client).confirmed_email == ""


def test_user_create_statements_are_few_and_do_not_grow_with_levels(db, django_assert_max_num_queries):
    from otklik.accounts.models import AccessLevel
    from otklik.accounts.roles import levels_of

    # The groups come with the installation; a flush by an earlier transactional test removes them.
    user_create(
        username="warm",
        email="warm@example.com",
        password=PASSWORD,
        levels=(AccessLevel.STAFF, AccessLevel.ADMIN),
    )
    # Read the groups once, write the user, its profile and its memberships once each, look for a holder
    # of the address and for its earlier tickets; savepoints count too.
    with django_assert_max_num_queries(12):
        user = user_create(
            username="all", email="all@example.com", password=PASSWORD, email_confirmed=True,
            levels=(AccessLevel.STAFF, AccessLevel.ADMIN, AccessLevel.STAFF),
        )  # fmt: skip
    assert levels_of(User.objects.get(pk=user.pk)) == {AccessLevel.STAFF, AccessLevel.ADMIN}


def test_email_confirmed_set_false_unmatches_mail(cast):
    email_confirmed_set(user=cast.client, confirmed=False, actor=cast.admin)
    ticket = mail_ingest(mail(sender="client@example.com")).ticket
    assert Ticket.objects.get(pk=ticket).author is None


def test_email_changed_after_confirmation_is_unconfirmed(cast):
    User.objects.filter(pk=cast.client.pk).update(email="new@customer.example")
    assert not Profile.objects.select_related("user").get(user=cast.client).email_confirmed
    ticket = mail_ingest(mail(sender="new@customer.example")).ticket
    assert Ticket.objects.get(pk=ticket).author is None


def test_registration_mail_in_users_language_with_link_through_the_outbox(db):
    browser = Client()
    browser.post(
        reverse("accounts:register"),
        {"username": "anna", "email": "anna@customer.example", "password": PASSWORD, "password2": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    (message,) = mail_to("anna@customer.example", catalog.ADDRESS_CONFIRM)
    assert message.language == "ru" and "Подтвердите" in message.subject
    assert "[TID#" not in message.subject and CONFIRM_LINK.search(message.body_text)


def test_registration_known_and_unknown_address_same_page_and_message(cast):
    _b1, known = register_on_page("newcomer1", "client@example.com")
    _b2, unknown = register_on_page("newcomer2", "nobody@customer.example")
    assert known.status_code == unknown.status_code == 200
    assert known.redirect_chain == unknown.redirect_chain
    text_known = known.content.decode().replace("client@example.com", "ADDRESS").replace("newcomer1", "U")
    text_unknown = unknown.content.decode().replace("nobody@customer.example", "ADDRESS")
    text_unknown = text_unknown.replace("newcomer2", "U")
    # Per-request secrets differ on any two pages: the CSRF token and the Content-Security-Policy nonce.
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"|"X-CSRFToken": "[^"]+"|nonce="[^"]+"')
    assert strip.sub("", text_known) == strip.sub("", text_unknown)
    # The owner of the known address hears of it; the unknown address gets a plain confirmation.
    assert mail_to("client@example.com", catalog.ADDRESS_REGISTERED_AGAIN)
    assert mail_to("nobody@customer.example", catalog.ADDRESS_CONFIRM)


def test_confirm_link_anonymous_asks_to_log_in_and_confirms_nothing(db):
    _browser, _answer = register_on_page("anna", "anna@customer.example")
    link = confirm_link(mail_to("anna@customer.example", catalog.ADDRESS_CONFIRM)[0])
    anonymous = Client()
    page = anonymous.get(link)
    assert page.status_code == 200 and reverse("accounts:login") in page.content.decode()
    anonymous.post(link)
    assert not Profile.objects.get(user__username="anna").email_confirmed


def test_confirm_link_get_alone_confirms_nothing(db):
    browser, _answer = register_on_page("anna", "anna@customer.example")
    link = confirm_link(mail_to("anna@customer.example", catalog.ADDRESS_CONFIRM)[0])
    assert browser.get(link).status_code == 200
    assert not Profile.objects.get(user__username="anna").email_confirmed
    assert browser.post(link).status_code == 302
    assert Profile.objects.get(user__username="anna").email_confirmed


@pytest.mark.parametrize("kind", ["garbage", "forged", "expired"])
def test_confirm_link_bad_or_expired_answers_400(db, kind, settings):
    browser, _answer = register_on_page("anna", "anna@customer.example")
    user = User.objects.get(username="anna")
    if kind == "garbage":
        token = "not-a-token"
    elif kind == "forged":
        token = signing.dumps({"u": user.pk, "e": "anna@customer.example"}, salt=CONFIRM_SALT, key="x" * 50)
    else:
        token = confirmation_token(user, "anna@customer.example")
        settings.OTKLIK_CONFIRM_DAYS = -1
    response = browser.post(reverse("accounts:confirm", args=[token]))
    assert response.status_code == 400
    assert not Profile.objects.get(user=user).email_confirmed


def test_confirmation_send_again_from_settings_is_limited(db):
    browser, _answer = register_on_page("anna", "anna@customer.example")
    for _ in range(5):
        browser.post(reverse("accounts:confirm_send"))
    # One at registration, then three more an hour at most.
    assert len(mail_to("anna@customer.example", catalog.ADDRESS_CONFIRM)) == 4


def test_admin_user_page_marks_address_confirmed(cast):
    fresh = user_create(username="fresh", email="fresh@customer.example", password=PASSWORD)
    first = mail_ingest(mail(sender="fresh@customer.example")).ticket
    admin = Client()
    admin.force_login(cast.admin)
    url = reverse("admin:auth_user_change", args=[fresh.pk])
    page = admin.get(url)
    assert page.status_code == 200 and 'name="email_confirmed"' in page.content.decode()
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list | tuple)}
    data.update(
        {
            "username": "fresh",
            "email": "fresh@customer.example",
            "email_confirmed": "on",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "1",
            "profile-MIN_NUM_FORMS": "0",
            "profile-MAX_NUM_FORMS": "1",
            "profile-0-id": str(fresh.profile.pk),
            "profile-0-user": str(fresh.pk),
            "profile-0-language": "ru",
            "profile-0-time_zone": "Europe/Moscow",
        }
    )
    data.pop("password", None)
    data.pop("last_login", None)
    response = admin.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Profile.objects.get(user=fresh).email_confirmed
    assert Ticket.objects.get(pk=first).author == fresh


def test_make_user_fixture_users_are_confirmed(cast):
    assert all(
        Profile.objects.select_related("user").get(user=u).email_confirmed
        for u in (cast.client, cast.staff, cast.admin)
    )


def test_registration_per_ip_limited_no_flood_of_someones_mailbox(db, settings):
    settings.OTKLIK_REGISTRATIONS_PER_HOUR = 3
    answers = [register_on_page(f"spam{n}", VICTIM)[1].status_code for n in range(5)]
    assert answers[:3] == [200] * 3 and answers[3:] == [429, 429]
    assert User.objects.filter(email=VICTIM).count() == 3
