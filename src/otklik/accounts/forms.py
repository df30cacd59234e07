import zoneinfo

from django import forms
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from otklik.accounts.models import SIGNATURE_MAX
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


class TimeZoneInput(forms.TextInput):
    """A text input suggesting every zoneinfo name from a <datalist> (type to search, any name accepted)."""

    template_name = "accounts/_time_zone_input.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["list_id"] = f"{context['widget']['attrs'].get('id', name)}_list"
        context["widget"]["time_zones"] = time_zone_names()
        return context


def time_zone_names() -> list[str]:
    """Return the zoneinfo names people pick from: the Russian zones first, then all the rest sorted."""
    known = zoneinfo.available_timezones()
    first = [tz for tz in TIME_ZONES if tz in known]
    return first + sorted(known - set(first))


class ProfileForm(KeyboardFriendlyMixin, forms.Form):
    """Personal settings; `signature` only for support (the view says who is)."""

    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=[("ru", "Русский"), ("en", "English")])
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        widget=TimeZoneInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("Type a city or a region, e.g. Moscow or Asia/Novosibirsk."),
    )
    signature = forms.CharField(
        label=_("Signature"),
        required=False,
        max_length=SIGNATURE_MAX,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, with_signature: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_signature:
            del self.fields["signature"]
            return
        # Formatted here, in the request's language (a lazy text formatted at import would not be).
        self.fields["signature"].help_text = gettext(
            "Plain text or Markdown, at most %(n)s characters. Added under your public replies when you "
            "choose to sign them."
        ) % {"n": SIGNATURE_MAX}

    def clean_time_zone(self) -> str:
        value = self.cleaned_data["time_zone"].strip()
        if value not in zoneinfo.available_timezones():
            raise forms.ValidationError(_("Unknown time zone: choose one from the list, e.g. Europe/Moscow."))
        return value
