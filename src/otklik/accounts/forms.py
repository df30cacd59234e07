from django import forms
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from otklik.ui.forms import KeyboardFriendlyMixin

TIME_ZONES = [
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
    "Europe/Minsk",
    "Asia/Almaty",
    "Europe/Kyiv",
    "Europe/Berlin",
    "Europe/London",
    "UTC",
    "America/New_York",
]


class LoginForm(KeyboardFriendlyMixin, AuthenticationForm):
    pass


class ResetRequestForm(KeyboardFriendlyMixin, PasswordResetForm):
    """Ask for a reset link; the link goes through the outbox, never by a send in the request."""

    def get_users(self, email):
        """Return every active user of the address, also one without a password yet (staff-made, imported).

        The link is how such a user gets a password at all.
        """
        from django.contrib.auth.models import User

        address = (email or "").strip().lower()
        return (
            user
            for user in User.objects.filter(email__iexact=address, is_active=True).order_by("pk")
            if (user.email or "").strip().lower() == address
        )

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kw):
        from otklik.accounts.services import password_reset_mail_send

        path = reverse("accounts:password_reset_confirm", args=[context["uid"], context["token"]])
        password_reset_mail_send(user=context["user"], email=to_email, path=path)


class NewPasswordForm(KeyboardFriendlyMixin, SetPasswordForm):
    pass


class ChangePasswordForm(KeyboardFriendlyMixin, PasswordChangeForm):
    pass


class RegistrationForm(KeyboardFriendlyMixin, forms.Form):
    username = forms.CharField(label=_("Login"), max_length=150)
    email = forms.EmailField(label=_("E-mail"))
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, min_length=8)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


class ProfileForm(KeyboardFriendlyMixin, forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=[("ru", "Русский"), ("en", "English")])
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=[(tz, tz) for tz in TIME_ZONES])
