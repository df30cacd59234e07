"""Users' module access levels, preferences, support groups and API tokens."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _

# The longest signature a support member may keep: a few lines under a reply, not a second letter.
SIGNATURE_MAX = 1000


class AccessLevel(models.TextChoices):
    CLIENT = "client", _("support client")
    STAFF = "staff", _("support staff")
    DEMO = "demo", _("demo access")
    ADMIN = "admin", _("support administrator")


class GroupAccess(models.Model):
    """The support module access level that a user group grants to its members."""

    group = models.OneToOneField(
        Group, on_delete=models.CASCADE, related_name="support_access", verbose_name=_("user group")
    )
    level = models.CharField(_("access level"), max_length=10, choices=AccessLevel.choices)

    class Meta:
        verbose_name = _("module access level")
        verbose_name_plural = _("module access levels")

    def __str__(self) -> str:
        return f"{self.group.name}: {self.get_level_display()}"


class Profile(models.Model):
    """Per-user preferences (interface language, time zone, a support member's signature) and the user's
    confirmed address."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES, default="ru")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Moscow")
    # The address (lower case) whose owner confirmed it belongs to this account, or empty. Only this
    # address makes mail from it the user's (F-12); a changed user e-mail is unconfirmed until confirmed.
    confirmed_email = models.CharField(_("confirmed e-mail"), max_length=254, blank=True, default="")
    # Plain text or Markdown that support may add under their public replies (only support keeps one).
    signature = models.TextField(_("signature"), max_length=SIGNATURE_MAX, blank=True, default="")

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")
        constraints = [
            # One account per confirmed address: mail from it has exactly one owner.
            models.UniqueConstraint(
                fields=["confirmed_email"],
                condition=~models.Q(confirmed_email=""),
                name="profile_confirmed_email_unique",
            )
        ]

    def __str__(self) -> str:
        return str(self.user)

    @property
    def email_confirmed(self) -> bool:
        """Whether the user's current address is the confirmed one."""
        return bool(self.confirmed_email) and self.confirmed_email == (self.user.email or "").strip().lower()


class SupportGroup(models.Model):
    """A client company or a staff team whose members may see each other's tickets."""

    class Kind(models.TextChoices):
        CLIENT = "client", _("client group")
        STAFF = "staff", _("staff group")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    description = models.TextField(_("description"), blank=True)
    sort = models.PositiveIntegerField(_("sort"), default=100)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="SupportGroupMember", related_name="support_groups"
    )

    class Meta:
        ordering = ["sort", "name"]
        verbose_name = _("support group")
        verbose_name_plural = _("support groups")

    def __str__(self) -> str:
        return self.name


class SupportGroupMember(models.Model):
    group = models.ForeignKey(SupportGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_memberships"
    )
    can_view = models.BooleanField(_("can view the group's tickets"), default=True)
    mail_new = models.BooleanField(_("is mailed about new tickets"), default=False)
    mail_update = models.BooleanField(_("is mailed about updates"), default=False)

    class Meta:
        unique_together = [("group", "user")]
        verbose_name = _("group member")
        verbose_name_plural = _("group members")

    def __str__(self) -> str:
        return f"{self.user} @ {self.group}"


class ApiToken(models.Model):
    """A bearer token for the REST API; only its SHA-256 digest is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
