"""Password reset ("forgot password") and change (issue 12): Django's views, the outbox, no enumeration."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.core import mail as django_mail
from django.test import Client
from django.urls import reverse

from otklik.accounts.services import user_create
from otklik.notifications import catalog
from otklik.notifications.models import OutboxMessage
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "Kw9$Zyxqu!Vbfp2"
RESET_LINK = re.compile(r"https?://\S+/password/reset/\S+/\S+/")


def ask(browser: Client, email: str):
    return browser.post(reverse("accounts:password_reset"), {"email": email}, HTTP_ACCEPT_LANGUAGE="en")


def reset_mail(address: str) -> list[OutboxMessage]:
    return [m for m in OutboxMessage.objects.filter(event=catalog.PASSWORD_RESET) if address in m.to]


def test_login_page_links_to_password_reset(db):
    page = Client().get(reverse("accounts:login")).content.decode()
    assert (
        reverse("accounts:password_reset") in page
        and "Forgot password?"
        in Client().get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )


def test_password_reset_known_address_mails_a_link_through_the_outbox_that_sets_the_password(cast):
    browser = Client()
    response = ask(browser, "CLIENT@example.com")
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_reset_done")
    assert django_mail.outbox == []  # nothing sent inside the request
    (message,) = reset_mail("client@example.com")
    link = urlsplit(RESET_LINK.search(message.body_text).group(0)).path
    form = browser.get(link, follow=True)
    assert form.status_code == 200 and 'name="new_password1"' in form.content.decode()
    done = browser.post(
        form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302 and done["Location"] == reverse("accounts:password_reset_complete")
    assert User.objects.get(pk=cast.client.pk).check_password(NEW_PASSWORD)
    # The link works once.
    again = browser.get(link, follow=True)
    assert 'name="new_password1"' not in again.content.decode()


def test_password_reset_unknown_and_known_address_same_answer(cast):
    known, unknown = ask(Client(), "client@example.com"), ask(Client(), "nobody@customer.example")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert reset_mail("nobody@customer.example") == []


def test_password_reset_inactive_user_gets_no_mail(cast):
    User.objects.filter(pk=cast.client.pk).update(is_active=False)
    assert ask(Client(), "client@example.com").status_code == 302
    assert reset_mail("client@example.com") == []


def test_password_reset_mail_in_users_language(cast):
    user_create(username="anna", email="anna@customer.example", password="x-Pass-12345", language="ru")
    ask(Client(), "anna@customer.example")
    (message,) = reset_mail("anna@customer.example")
    assert message.language == "ru" and message.subject == "Восстановление пароля"


def test_password_reset_per_address_limited_silently(cast, settings):
    for n in range(settings.OTKLIK_PASSWORD_RESET_PER_HOUR + 3):
        response = ask(Client(REMOTE_ADDR=f"10.0.0.{n + 1}"), "client@example.com")
        assert response.status_code == 302
    assert len(reset_mail("client@example.com")) == settings.OTKLIK_PASSWORD_RESET_PER_HOUR


def test_password_reset_per_ip_limited_with_429(cast, settings):
    browser = Client(REMOTE_ADDR="10.9.9.9")
    answers = [
        ask(browser, f"nobody{n}@customer.example").status_code
        for n in range(settings.OTKLIK_PASSWORD_RESET_PER_HOUR + 1)
    ]
    assert answers[-1] == 429 and set(answers[:-1]) == {302}


def test_password_change_from_settings_page(cast):
    browser = logged_in(cast.client)
    settings_page = browser.get(reverse("accounts:profile")).content.decode()
    assert reverse("accounts:password_change") in settings_page
    response = browser.post(
        reverse("accounts:password_change"),
        {"old_password": "pass-Word-123", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert User.objects.get(pk=cast.client.pk).check_password(NEW_PASSWORD)
    assert browser.get(reverse("accounts:profile")).status_code == 200  # still logged in


def test_password_change_wrong_old_password_is_a_field_error(cast):
    browser = logged_in(cast.client)
    response = browser.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200 and "old_password" in response.context["form"].errors
    assert User.objects.get(pk=cast.client.pk).check_password("pass-Word-123")


def test_password_change_demo_saves_nothing(cast):
    browser = logged_in(cast.demo)
    browser.post(
        reverse("accounts:password_change"),
        {"old_password": "pass-Word-123", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert User.objects.get(pk=cast.demo.pk).check_password("pass-Word-123")


def test_password_change_anonymous_redirected_to_login(db):
    response = Client().get(reverse("accounts:password_change"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_password_reset_user_without_password_gets_a_link_to_set_one(db):
    user_create(username="imported", email="imp@customer.example", password=None, email_confirmed=True)
    browser = Client()
    ask(browser, "imp@customer.example")
    (message,) = reset_mail("imp@customer.example")
    link = urlsplit(RESET_LINK.search(message.body_text).group(0)).path
    form = browser.get(link, follow=True)
    browser.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert User.objects.get(username="imported").check_password(NEW_PASSWORD)
