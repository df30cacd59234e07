"""Personal settings (issue 17): name, language, time zone, and support's signature under public replies."""

from __future__ import annotations

from django.urls import reverse

from otklik.accounts.models import SIGNATURE_MAX, Profile
from otklik.accounts.services import profile_update
from otklik.tickets import services
from otklik.tickets.models import Message
from tests.conftest import logged_in
from tests.helpers import Api

SIGNATURE = "Olga Smirnova\nSupport, line 2"
SIGNED = "\n\n-- \n" + SIGNATURE


def _sign(user, text: str = SIGNATURE) -> None:
    Profile.objects.filter(user=user).update(signature=text)


# -- the service ---------------------------------------------------------------------------------
def test_message_post_signed_public_reply_ends_with_signature(cast, make_ticket):
    _sign(cast.staff)
    message = services.message_post(
        actor=cast.staff, ticket=make_ticket(), draft=services.MessageDraft(body="Fixed.", signed=True)
    )
    assert Message.objects.get(pk=message.pk).body == "Fixed." + SIGNED


def test_message_post_signed_no_status_reply_is_signed_too(cast, make_ticket):
    _sign(cast.staff)
    message = services.message_post(
        actor=cast.staff,
        ticket=make_ticket(),
        draft=services.MessageDraft(body="Still checking.", not_change_status=True, signed=True),
    )
    assert message.body.endswith(SIGNED)


def test_message_post_signed_hidden_note_is_not_signed(cast, make_ticket):
    _sign(cast.staff)
    message = services.message_post(
        actor=cast.staff,
        ticket=make_ticket(),
        draft=services.MessageDraft(body="Internal.", hidden=True, signed=True),
    )
    assert message.body == "Internal."


def test_message_post_unsigned_reply_keeps_body(cast, make_ticket):
    _sign(cast.staff)
    message = services.message_post(
        actor=cast.staff, ticket=make_ticket(), draft=services.MessageDraft(body="Fixed.")
    )
    assert message.body == "Fixed."


def test_message_post_signed_by_client_is_not_signed(cast, make_ticket):
    _sign(cast.client, "A client's stored text")  # never set through the service, still never used
    message = services.message_post(
        actor=cast.client, ticket=make_ticket(), draft=services.MessageDraft(body="Thanks!", signed=True)
    )
    assert message.body == "Thanks!"


def test_message_post_signed_with_empty_signature_keeps_body(cast, make_ticket):
    _sign(cast.staff, "   ")
    message = services.message_post(
        actor=cast.staff, ticket=make_ticket(), draft=services.MessageDraft(body="Fixed.", signed=True)
    )
    assert message.body == "Fixed."


def test_message_post_signed_on_behalf_of_client_is_not_signed(cast, make_ticket):
    _sign(cast.staff)
    ticket = make_ticket()
    message = services.message_post(
        actor=cast.staff,
        ticket=ticket,
        draft=services.MessageDraft(body="Client said it works.", on_behalf_of=cast.client, signed=True),
    )
    assert message.body == "Client said it works."


def test_profile_update_signature_of_client_is_a_field_error(cast):
    import pytest

    from otklik.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        profile_update(user=cast.client, signature="Ivan")
    assert "signature" in refused.value.errors
    assert Profile.objects.get(user=cast.client).signature == ""


# -- the settings page -----------------------------------------------------------------------------
def _settings(**changes) -> dict:
    return {
        "first_name": "Olga",
        "last_name": "Smirnova",
        "language": "en",
        "time_zone": "Asia/Novosibirsk",
        "signature": SIGNATURE,
    } | changes


def test_profile_page_staff_saves_name_time_zone_and_signature(cast):
    browser = logged_in(cast.staff)
    response = browser.post(reverse("accounts:profile"), _settings())
    assert response.status_code == 302
    profile = Profile.objects.select_related("user").get(user=cast.staff)
    assert (profile.user.first_name, profile.user.last_name) == ("Olga", "Smirnova")
    assert (profile.language, profile.time_zone, profile.signature) == ("en", "Asia/Novosibirsk", SIGNATURE)


def test_profile_page_shows_sections_and_time_zone_list(cast):
    page = logged_in(cast.staff).get(reverse("accounts:profile")).content.decode()
    assert 'id="settings-signature"' in page
    assert 'list="id_time_zone_list"' in page and '<option value="America/Sao_Paulo">' in page


def test_profile_page_bad_time_zone_is_a_field_error(cast):
    browser = logged_in(cast.staff)
    response = browser.post(reverse("accounts:profile"), _settings(time_zone="Mars/Olympus"))
    assert response.status_code == 400
    assert response.context["form"].errors["time_zone"]
    assert 'id="id_time_zone_errors"' in response.content.decode()
    assert Profile.objects.get(user=cast.staff).time_zone == "Europe/Moscow"


def test_profile_page_overlong_signature_is_a_field_error(cast):
    browser = logged_in(cast.staff)
    response = browser.post(reverse("accounts:profile"), _settings(signature="x" * (SIGNATURE_MAX + 1)))
    assert response.status_code == 400
    assert response.context["form"].errors["signature"]
    assert Profile.objects.get(user=cast.staff).signature == ""


def test_profile_page_client_has_no_signature_and_cannot_set_one(cast):
    browser = logged_in(cast.client)
    assert 'id="settings-signature"' not in browser.get(reverse("accounts:profile")).content.decode()
    response = browser.post(reverse("accounts:profile"), _settings())
    assert response.status_code == 302
    profile = Profile.objects.get(user=cast.client)
    assert profile.time_zone == "Asia/Novosibirsk" and profile.signature == ""


# -- the API -------------------------------------------------------------------------------------
def test_api_message_post_signed_adds_signature(cast, make_ticket):
    _sign(cast.staff)
    ticket = make_ticket()
    url = f"/api/v1/tickets/{ticket.pk}/messages"
    signed = Api(cast.staff).send("POST", url, {"body": "Fixed.", "signed": True})
    assert signed.status_code == 201, signed.content
    assert signed.json()["body"] == "Fixed." + SIGNED
    plain = Api(cast.staff).send("POST", url, {"body": "Again."})
    assert plain.json()["body"] == "Again."


def test_api_message_upload_signed_adds_signature(cast, make_ticket):
    _sign(cast.staff)
    ticket = make_ticket()
    response = Api(cast.staff).upload(
        f"/api/v1/tickets/{ticket.pk}/messages/upload", {"body": "Fixed.", "signed": "true"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["body"].endswith(SIGNED)


def test_api_openapi_documents_signed_flag(cast):
    schema = Api(cast.staff).get("/api/v1/openapi.json").json()
    message_in = schema["components"]["schemas"]["MessageCreateIn"]["properties"]
    assert message_in["signed"]["default"] is False and "signature" in message_in["signed"]["description"]
