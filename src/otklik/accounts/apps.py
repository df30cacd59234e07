from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "otklik.accounts"
    label = "accounts"
    verbose_name = _("Users and access")

    def ready(self) -> None:
        from django.contrib.auth.models import Group, User

        from otklik.accounts.models import ApiToken, GroupAccess, Profile, SupportGroup, SupportGroupMember
        from otklik.core.config_cache import config_models_register

        # The configuration cache keeps the support admins, the SLA-choice groups, the users mail comes
        # from, the routing candidates, the access levels and the API tokens with their owners.
        config_models_register(User, Group, Profile, GroupAccess, SupportGroup, SupportGroupMember, ApiToken)

        # The configuration pages (otklik.ui, below accounts) follow the access levels defined here.
        from otklik.accounts.roles import is_admin, is_demo, is_demo_only
        from otklik.ui.admin_access import AdminAccess, admin_access_set

        admin_access_set(
            AdminAccess(
                may_look=lambda user: is_admin(user) or is_demo(user),
                may_change=is_admin,
                looks_only=is_demo_only,
            )
        )
