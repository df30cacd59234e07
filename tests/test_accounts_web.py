"""Personal settings: language and time zone, and demo access saving nothing."""

from django.urls import reverse

from otklik.accounts.models import Profile


def test_set_language_user_saves_profile_and_switches_ui(client, cast):
    client.force_login(cast.client)
    client.post(reverse("accounts:set_language"), {"language": "en", "next": "/tickets/"})
    assert Profile.objects.get(user=cast.client).language == "en"
    response = client.get(reverse("tickets:client_list"))
    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in response.content.decode()


def test_set_language_demo_switches_ui_but_saves_nothing(client, cast):
    client.force_login(cast.demo)
    client.post(reverse("accounts:set_language"), {"language": "en", "next": "/"})
    assert Profile.objects.get(user=cast.demo).language == "ru"
    response = client.get(reverse("tickets:staff_list"))
    assert response["Content-Language"] == "en"


def test_profile_demo_post_refused_and_unchanged(client, cast):
    client.force_login(cast.demo)
    client.post(reverse("accounts:profile"), {"language": "en", "time_zone": "UTC"})
    profile = Profile.objects.get(user=cast.demo)
    assert (profile.language, profile.time_zone) == ("ru", "Europe/Moscow")


def test_profile_time_zone_changes_shown_times(client, cast, make_ticket):
    ticket = make_ticket()
    client.force_login(cast.client)
    moscow = client.get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    response = client.post(reverse("accounts:profile"), {"language": "ru", "time_zone": "Asia/Vladivostok"})
    assert response.status_code == 302
    vladivostok = client.get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    import zoneinfo

    from django.utils import timezone

    local = timezone.localtime(ticket.created_at, zoneinfo.ZoneInfo("Asia/Vladivostok")).strftime(
        "%d.%m.%Y %H:%M"
    )
    assert local in vladivostok and local not in moscow


def test_profile_unknown_time_zone_is_a_field_error(client, cast):
    client.force_login(cast.client)
    response = client.post(reverse("accounts:profile"), {"language": "ru", "time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert Profile.objects.get(user=cast.client).time_zone == "Europe/Moscow"


def test_client_page_numbers_messages_without_gaps_from_hidden_ones(client, cast, make_ticket):
    from otklik.tickets import services

    ticket = make_ticket()
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="internal note", hidden=True)
    )
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="public answer"))
    client.force_login(cast.client)
    html = client.get(reverse("tickets:client_detail", args=[ticket.pk])).content.decode()
    assert "<strong>#1</strong>" in html and "<strong>#2</strong>" in html
    assert "<strong>#3</strong>" not in html and "<strong>#4</strong>" not in html
