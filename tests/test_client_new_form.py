"""The client's new-ticket form (issue 17): it reads top-down like a form a person fills, and it keeps the
regulation's four prompts (F-12) as small optional fields, each with a short hint."""

from __future__ import annotations

from django.urls import reverse

from tests.conftest import logged_in


def test_client_new_form_orders_title_message_then_choices_then_prompts_and_files(cast):
    html = logged_in(cast.client).get(reverse("tickets:client_new")).content.decode()
    positions = [
        html.index(f'id="id_{name}"')
        for name in (
            "title",
            "message",
            "category",
            "criticality",
            "looked",
            "did",
            "expected",
            "saw",
            "files",
        )
    ]
    assert positions == sorted(positions)


def test_client_new_form_keeps_the_regulations_prompts_with_hints(cast):
    html = logged_in(cast.client).get(reverse("tickets:client_new")).content.decode()
    assert '<fieldset class="prompts"' in html and "Help us answer faster (optional)" in html
    for label, hint in (
        ("Where you already looked for an answer", "Knowledge base, FAQ, documentation…"),
        ("What you did", "The steps, in order"),
        ("What you expected", "What should have happened"),
        ("What you saw (the full error text)", "Paste the error message as it is"),
    ):
        assert label in html and f'placeholder="{hint}"' in html


def test_client_new_form_files_drop_zone_names_allowed_types(cast):
    html = logged_in(cast.client).get(reverse("tickets:client_new")).content.decode()
    assert '<div class="dropzone">' in html
    assert 'aria-describedby="files-help"' in html and 'id="files-help"' in html
    assert "BMP images are not accepted" in html
