"""Activate the signed-in user's language and time zone for the request."""

import zoneinfo

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone, translation

DEFAULT_TIME_ZONE = zoneinfo.ZoneInfo("Europe/Moscow")
# A language chosen in this session (demo access cannot save it in the profile).
SESSION_LANGUAGE_KEY = "otklik_language"


class UserPreferencesMiddleware:
    """Let a signed-in user's profile beat Accept-Language; anonymous visitors keep LocaleMiddleware's choice."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tz = DEFAULT_TIME_ZONE
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                profile = user.profile
            except ObjectDoesNotExist:
                profile = None
            language = request.session.get(SESSION_LANGUAGE_KEY) or (profile.language if profile else None)
            if language in ("ru", "en"):
                translation.activate(language)
                request.LANGUAGE_CODE = language
            if profile is not None:
                try:
                    tz = zoneinfo.ZoneInfo(profile.time_zone)
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    tz = DEFAULT_TIME_ZONE
        timezone.activate(tz)
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
