"""The demo gives the deflection report something to show: 90 days of questions answered without a ticket."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from otklik.kb.models import Deflection, DeflectionKind


@pytest.mark.django_db
def test_demo_records_deflections_once_over_ninety_days(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("demo", "--tickets", "5", stdout=io.StringIO())
    made = Deflection.objects.count()
    assert made > 30
    assert set(Deflection.objects.values_list("kind", flat=True)) == set(DeflectionKind.values)
    days = {d.date() for d in Deflection.objects.values_list("at", flat=True)}
    assert len(days) > 30
    # Each record names either a section or an article, as the service requires.
    assert not Deflection.objects.filter(section__isnull=True, article__isnull=True).exists()
    call_command("demo", "--tickets", "5", stdout=io.StringIO())
    assert Deflection.objects.count() == made
