"""Login throttling (issue 12): repeated failures lock the account and the IP address for a while."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db
PASSWORD = "pass-Word-123"  # tests/conftest.py make_user


def attempt(browser: Client, username: str, password: str, url: str | None = None):
    return browser.post(
        url or reverse("accounts:login"),
        {"username": username, "password": password},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def logged_in_as(browser: Client) -> str | None:
    return browser.session.get("_auth_user_id")


def move_clock_past_lockout(settings) -> None:
    """Age the recorded failures beyond the lockout time (axes counts them from their timestamps)."""
    for row in AccessAttempt.objects.all():
        row.attempt_time -= timedelta(minutes=settings.OTKLIK_LOGIN_LOCKOUT_MINUTES + 1)
        row.save(update_fields=["attempt_time"])


def test_login_twenty_wrong_passwords_locked_then_correct_refused_until_lock_expires(cast, settings):
    browser = Client()
    answers = [attempt(browser, "client", f"wrong-{n}").status_code for n in range(20)]
    limit = settings.OTKLIK_LOGIN_FAILURE_LIMIT
    assert answers[: limit - 1] == [200] * (limit - 1)  # the form's "wrong password"
    assert set(answers[limit:]) == {429}

    refused = attempt(browser, "client", PASSWORD)
    assert refused.status_code == 429 and logged_in_as(browser) is None
    page = refused.content.decode()
    assert "Too many failed attempts" in page and 'name="password"' in page  # the login page, explained
    # Another browser from the same address is refused too (the IP address is locked).
    assert attempt(Client(), "staff", PASSWORD).status_code == 429

    move_clock_past_lockout(settings)
    accepted = attempt(browser, "client", PASSWORD)
    assert accepted.status_code == 302 and logged_in_as(browser) == str(cast.client.pk)


def test_login_failures_for_one_account_from_many_addresses_lock_the_account(cast, settings):
    for n in range(settings.OTKLIK_LOGIN_FAILURE_LIMIT):
        Client(REMOTE_ADDR=f"10.0.0.{n + 1}").post(
            reverse("accounts:login"), {"username": "Client", "password": "nope"}
        )
    browser = Client(REMOTE_ADDR="10.0.1.1")
    assert attempt(browser, "client", PASSWORD).status_code == 429
    assert logged_in_as(browser) is None


def test_login_lockout_message_in_russian(cast, settings):
    browser = Client()
    for n in range(settings.OTKLIK_LOGIN_FAILURE_LIMIT + 1):
        response = browser.post(
            reverse("accounts:login"), {"username": "client", "password": f"x{n}"}, HTTP_ACCEPT_LANGUAGE="ru"
        )
    assert response.status_code == 429
    assert response["Content-Language"] == "ru"


def test_admin_login_locked_after_failures(cast, settings):
    browser = Client()
    url = "/admin/login/"
    for n in range(settings.OTKLIK_LOGIN_FAILURE_LIMIT + 1):
        response = attempt(browser, "admin", f"wrong-{n}", url)
    assert response.status_code == 429
    assert attempt(browser, "admin", PASSWORD, url).status_code == 429
    assert logged_in_as(browser) is None


def test_password_reset_refused_from_locked_address(cast, settings):
    browser = Client()
    for n in range(settings.OTKLIK_LOGIN_FAILURE_LIMIT + 1):
        attempt(browser, "client", f"wrong-{n}")
    response = browser.post(reverse("accounts:password_reset"), {"email": "client@example.com"})
    assert response.status_code == 429


def test_login_success_resets_the_failure_count(cast, settings):
    browser = Client()
    for _round in range(3):
        for n in range(settings.OTKLIK_LOGIN_FAILURE_LIMIT - 1):
            assert attempt(browser, "client", f"wrong-{n}").status_code == 200
        assert attempt(browser, "client", PASSWORD).status_code == 302
        browser.post(reverse("accounts:logout"))


def test_password_reset_by_mail_lifts_the_account_lock(cast, settings):
    import re
    from urllib.parse import urlsplit

    from otklik.notifications import catalog
    from otklik.notifications.models import OutboxMessage

    for n in range(settings.OTKLIK_LOGIN_FAILURE_LIMIT + 1):
        Client(REMOTE_ADDR=f"10.0.0.{n + 1}").post(
            reverse("accounts:login"), {"username": "client", "password": "nope"}
        )
    owner = Client(REMOTE_ADDR="10.0.2.1")
    assert attempt(owner, "client", PASSWORD).status_code == 429
    owner.post(reverse("accounts:password_reset"), {"email": "client@example.com"})
    body = OutboxMessage.objects.get(event=catalog.PASSWORD_RESET).body_text
    link = urlsplit(re.search(r"https?://\S+/password/reset/\S+/\S+/", body).group(0)).path
    form = owner.get(link, follow=True)
    new = "Kw9$Zyxqu!Vbfp2"
    owner.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert attempt(owner, "client", new).status_code == 302
