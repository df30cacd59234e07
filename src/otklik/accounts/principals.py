"""System principals: accounts that are not people and act only through the rights their policy grants.

The mail channel is the one principal today. It is a user row (tickets and messages keep who physically
wrote them: `created_by`, `posted_by`), but never a login: inactive, with an unusable password and no
group, so it holds no access level at all. `TicketPolicy` recognises it and grants it exactly what taking
mail in needs; every other right is denied by default.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

MAIL_PRINCIPAL_USERNAME = "otklik-mail-gateway"


def is_mail_principal(user: User | AnonymousUser | None) -> bool:
    """Tell whether the user is the mail channel's principal (never a person who can sign in).

    Both marks are required: the reserved name alone would let an active account that took the name
    (were the principal ever deleted) borrow its rights; an active account with that name gets none.
    """
    return (
        isinstance(user, User)
        and user.pk is not None
        and user.username == MAIL_PRINCIPAL_USERNAME
        and not user.is_active
    )
