"""Configuration pages: users, module access levels of user groups, support groups."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group, User
from django.utils.translation import gettext_lazy as _

from otklik.accounts.models import ApiToken, GroupAccess, Profile, SupportGroup, SupportGroupMember
from otklik.accounts.services import email_confirmed_set
from otklik.ui.admin_mixins import SupportAdminPermissions
from otklik.ui.admin_site import admin_site


class GroupAccessInline(admin.StackedInline):
    model = GroupAccess
    can_delete = True
    max_num = 1


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ("language", "time_zone")


CONFIRMED_HELP = _(
    "Staff vouch that the address is the user's (staff-created and imported users): mail from it becomes "
    "this user's tickets, and so do the address's earlier tickets. Changing the address unconfirms it."
)


class _ConfirmedAddressMixin:
    """The "e-mail confirmed" box on the user pages; at most one active account holds a confirmed address."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        profile = Profile.objects.filter(user_id=self.instance.pk).select_related("user").first()
        self.fields["email_confirmed"].initial = bool(profile and profile.email_confirmed)

    def clean(self):
        data = super().clean()
        email = (data.get("email") or "").strip().lower()
        if data.get("email_confirmed"):
            if not email:
                self.add_error("email_confirmed", _("Enter the e-mail address first."))
            else:
                holders = Profile.objects.filter(confirmed_email=email, user__is_active=True)
                if holders.exclude(user_id=self.instance.pk).filter(user__email__iexact=email).exists():
                    self.add_error(
                        "email_confirmed", _("Another active account has already confirmed this address.")
                    )
        return data


def _confirmed_field() -> forms.BooleanField:
    return forms.BooleanField(label=_("e-mail confirmed"), required=False, help_text=CONFIRMED_HELP)


class UserChangeWithAddressForm(_ConfirmedAddressMixin, UserChangeForm):
    email_confirmed = _confirmed_field()


class UserCreationWithAddressForm(_ConfirmedAddressMixin, AdminUserCreationForm):
    email_confirmed = _confirmed_field()

    class Meta(AdminUserCreationForm.Meta):
        fields = ("username", "email")


@admin.register(User, site=admin_site)
class OtklikUserAdmin(SupportAdminPermissions, UserAdmin):
    inlines = [ProfileInline]
    list_display = ("username", "email", "first_name", "last_name", "is_active")
    form = UserChangeWithAddressForm
    add_form = UserCreationWithAddressForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email", "email_confirmed")}),
        *UserAdmin.fieldsets[2:],
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "email",
                    "email_confirmed",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    @admin.display(description=_("e-mail confirmed"), boolean=True)
    def email_confirmed(self, obj):
        """The box as read-only pages (demo access) show it."""
        profile = Profile.objects.filter(user_id=obj.pk).select_related("user").first()
        return bool(profile and profile.email_confirmed)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # After the profile inline: the confirmation is the profile's, written by the accounts service.
        user = form.instance
        confirmed = bool(form.cleaned_data.get("email_confirmed"))
        profile = Profile.objects.filter(user=user).select_related("user").first()
        if confirmed != bool(profile and profile.email_confirmed) or (profile is None and not confirmed):
            email_confirmed_set(user=user, confirmed=confirmed, actor=request.user)


@admin.register(Group, site=admin_site)
class OtklikGroupAdmin(SupportAdminPermissions, GroupAdmin):
    inlines = [GroupAccessInline]
    list_display = ("name", "access_level")

    @admin.display(description="access level")
    def access_level(self, obj):
        access = getattr(obj, "support_access", None)
        return access.get_level_display() if access else "—"


class SupportGroupMemberInline(admin.TabularInline):
    model = SupportGroupMember
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(SupportGroup, site=admin_site)
class SupportGroupAdmin(SupportAdminPermissions, admin.ModelAdmin):
    list_display = ("name", "kind", "sort")
    list_filter = ("kind",)
    search_fields = ("name",)
    inlines = [SupportGroupMemberInline]


@admin.register(ApiToken, site=admin_site)
class ApiTokenAdmin(SupportAdminPermissions, admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")
