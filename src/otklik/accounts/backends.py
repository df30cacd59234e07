"""The login backend: Django's, reading the signed-in user's profile with the user in one query."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ProfileModelBackend(ModelBackend):
    """Load the session's user with their profile joined.

    Every request of a signed-in user reads the profile (language and time zone, accounts.middleware); the
    live requests of open staff pages make that a query on each poll. Joining it to the user's own query
    removes it.
    """

    def get_user(self, user_id):
        model = get_user_model()
        try:
            user = model._default_manager.select_related("profile").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
