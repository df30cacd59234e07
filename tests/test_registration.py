"""Quick registration (F-12): a visitor becomes an active support client at once; bad input is keyed by field."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.test import RequestFactory

from otklik.accounts.models import AccessLevel, Profile
from otklik.accounts.roles import levels_of
from otklik.accounts.services import user_register
from otklik.core.errors import ValidationFailed
from otklik.tickets import services
from otklik.tickets.policies import TicketPolicy

GOOD_PASSWORD = "Kw9$Zyxqu!Vbfp2"  # unlike any login or e-mail used here


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def register(**overrides) -> User:
    data = {"username": "newbie", "email": "newbie@example.org", "password": GOOD_PASSWORD, "language": "en"}
    data.update(overrides)
    return user_register(**data)


def errors_of(**overrides) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as info:
        register(**overrides)
    return info.value.errors


# -- success --------------------------------------------------------------------------------------------
def test_user_register_creates_active_client_with_profile(db):
    user = register(first_name="  Anna ", last_name=" Smirnova ")
    user = User.objects.get(pk=user.pk)
    assert user.is_active and not user.is_staff and not user.is_superuser
    assert levels_of(user) == frozenset({AccessLevel.CLIENT})
    assert (user.first_name, user.last_name) == ("Anna", "Smirnova")
    profile = Profile.objects.get(user=user)
    assert profile.language == "en" and profile.email_confirmed is False
    assert authenticate(RequestFactory().post("/login/"), username="newbie", password=GOOD_PASSWORD) == user


def test_user_register_can_file_a_ticket_at_once(db):
    user = register()
    ticket = services.ticket_create(
        actor=user, draft=services.TicketDraft(title="First question", message="How do I export orders?")
    )
    assert ticket.author == user and TicketPolicy(user).can_view(ticket)


def test_user_register_email_stored_lowercase_and_trimmed(db):
    user = register(email="  NewBie@Example.ORG ")
    assert user.email == "newbie@example.org"


@pytest.mark.parametrize(("given", "stored"), [("ru", "ru"), ("en", "en"), ("de", "ru"), ("", "ru")])
def test_user_register_language_unknown_falls_back_to_russian(db, given, stored):
    user = register(language=given)
    assert user.profile.language == stored


# -- duplicates --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("login", ["client", "CLIENT", "Client", " client "])
def test_user_register_duplicate_login_case_insensitive_refused(cast, login):
    errors = errors_of(username=login)
    assert set(errors) == {"username"}
    assert User.objects.filter(username__iexact="client").count() == 1


@pytest.mark.parametrize("email", ["client@example.com", "CLIENT@Example.com", " client@example.com "])
def test_user_register_address_of_another_account_accepted_unconfirmed(cast, email):
    # Refusing would tell a stranger the address is registered (F-12); the address gives nothing unconfirmed.
    user = register(email=email)
    assert user.email == "client@example.com" and not user.profile.email_confirmed
    assert User.objects.filter(email__iexact="client@example.com").count() == 2


def test_user_register_second_registration_same_data_refused_for_login_only(db):
    register()
    errors = errors_of()
    assert set(errors) == {"username"}


# -- bad input ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "email", ["", "not-an-email", "a@", "@example.org", "a b@example.org", "a@example..org"]
)
def test_user_register_bad_email_refused(db, email):
    assert set(errors_of(email=email)) == {"email"}


@pytest.mark.parametrize("login", ["", "   ", "bad login", "semi;colon", "x" * 151, "<script>"])
def test_user_register_bad_login_refused(db, login):
    assert set(errors_of(username=login)) == {"username"}


@pytest.mark.parametrize(
    "password",
    ["", "short1", "12345678", "password", "qwerty123", "newbie2024"],
    ids=["empty", "too-short", "numeric", "common", "common-2", "like-login"],
)
def test_user_register_weak_password_refused(db, password):
    errors = errors_of(password=password)
    assert set(errors) == {"password"} and errors["password"]


def test_user_register_several_problems_reported_together_nothing_saved(db):
    errors = errors_of(username="bad login", email="nope", password="123")
    assert set(errors) == {"username", "email", "password"}
    assert all(errors[k] for k in errors)
    assert not User.objects.exists()
    assert not Profile.objects.exists()


@pytest.mark.parametrize("login", ["anna.smirnova", "anna_s", "anna-s", "anna+shop", "anna@shop", "Анна"])
def test_user_register_login_allowed_characters_accepted(db, login):
    user = register(username=login)
    assert user.username == login
