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
