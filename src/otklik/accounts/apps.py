from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "otklik.accounts"
    label = "accounts"
    verbose_name = _("Users and access")

    def ready(self) -> None:
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
