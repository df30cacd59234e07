"""Writes for users, access groups and API tokens."""

import copy
import hashlib
import secrets
import zoneinfo
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from otklik.accounts.mailing import (
    AddressConfirmed,
    ConfirmationMail,
    PasswordResetMail,
    confirm_days,
    confirmation_url,
    site_url,
)
from otklik.accounts.models import (
    SIGNATURE_MAX,
    AccessLevel,
    ApiToken,
    GroupAccess,
    Profile,
    SupportGroup,
    SupportGroupMember,
)
from otklik.accounts.roles import forget_levels, is_support, levels_of
from otklik.core import clock, events
from otklik.core.config_cache import config_cached
from otklik.core.errors import ValidationFailed

# The user groups that carry each access level out of the box.
ACCESS_GROUP_NAMES: dict[str, str] = {
    AccessLevel.CLIENT: "Support clients",
    AccessLevel.STAFF: "Support staff",
    AccessLevel.DEMO: "Support demo",
    AccessLevel.ADMIN: "Support administrators",
}


def access_groups_ensure(levels: tuple[str, ...] | list[str] | None = None) -> dict[str, Group]:
    """Create (idempotently) the user groups that grant each module access level; return them by level.

    `levels` limits the answer (and the work) to those levels. The groups come with the installation
    (migration accounts.0002), so this is one read; a missing group or its access row is created.
    """
    wanted = {level: ACCESS_GROUP_NAMES[level] for level in (levels or ACCESS_GROUP_NAMES)}
    found = {
        group.name: group
        for group in Group.objects.filter(name__in=wanted.values()).select_related("support_access")
    }
    result: dict[str, Group] = {}
    for level, name in wanted.items():
        group = found.get(name)
        if group is None or not _has_access(group):
            with transaction.atomic():
                group, _created = Group.objects.get_or_create(name=name)
                GroupAccess.objects.get_or_create(group=group, defaults={"level": level})
        result[level] = group
    return result


def _has_access(group: Group) -> bool:
    """Tell whether the group, read with its access row, carries an access level."""
    try:
        return group.support_access is not None
    except GroupAccess.DoesNotExist:
        return False


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    levels: tuple[str, ...] = (AccessLevel.CLIENT,),
    language: str = "ru",
    time_zone: str = "Europe/Moscow",
    email_confirmed: bool = False,
) -> User:
    """Create a user with a profile and the given access levels.

    `email_confirmed`: staff vouch for the address (staff-created and imported users), as if its owner had
    confirmed it; the address's earlier tickets become the user's.
    """
    levels = tuple(dict.fromkeys(levels))
    groups = access_groups_ensure(levels)
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    confirmed = (email or "").strip().lower() if email_confirmed else ""
    if confirmed:
        _address_release(user=user, email=confirmed)
    try:
        Profile.objects.create(user=user, language=language, time_zone=time_zone, confirmed_email=confirmed)
    except (
        IntegrityError
    ):  # a concurrent confirmation took the address; this function's atomic block undoes the user
        raise ValidationFailed(_address_taken_message(), field="email") from None
    # One insert for the memberships (a new user has none to look up first, as groups.add() would).
    User.groups.through.objects.bulk_create(
        [User.groups.through(user=user, group=groups[level]) for level in levels]
    )
    forget_levels(user)
    if confirmed:
        events.emit(
            events.ACCOUNT_ADDRESS_CONFIRMED, AddressConfirmed(user=user, email=confirmed, actor=None)
        )
    return user


def user_register(
    *,
    username: str,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    language: str = "ru",
) -> User:
    """Register a visitor as a support client at once and mail a link confirming the address (F-12).

    An address already used by another account is accepted alike (registration never tells whether an
    address is registered); the mail to it then says so. Until confirmed, the address gives the new
    account nothing: mail from it is not the user's. Raise ValidationFailed with per-field messages.
    """
    errors: dict[str, list[str]] = {}
    username = (username or "").strip()
    email = (email or "").strip().lower()
    if not username:
        errors.setdefault("username", []).append(_("Enter a login."))
    elif len(username) > 150 or not all(c.isalnum() or c in "@.+-_" for c in username):
        errors.setdefault("username", []).append(
            _("A login may contain only letters, digits and @ . + - _ (at most 150 characters).")
        )
    elif User.objects.filter(username__iexact=username).exists():
        errors.setdefault("username", []).append(_("This login is already taken."))
    try:
        validate_email(email)
    except DjangoValidationError:
        errors.setdefault("email", []).append(_("Enter a valid e-mail address."))
    try:
        validate_password(password or "", User(username=username, email=email))
    except DjangoValidationError as exc:
        errors.setdefault("password", []).extend(exc.messages)
    if errors:
        raise ValidationFailed(errors=errors)
    with transaction.atomic():
        user = user_create(
            username=username,
            email=email,
            password=password,
            first_name=(first_name or "").strip()[:150],
            last_name=(last_name or "").strip()[:150],
            language=language if language in {"ru", "en"} else "ru",
        )
        email_confirmation_send(user=user)
    return user


@transaction.atomic
def email_confirmation_send(*, user: User) -> None:
    """Mail the user's address a signed, expiring link that confirms it for this account (via the outbox).

    When other accounts already use the address, the mail tells its owner so (the page never does).
    """
    email = (user.email or "").strip().lower()
    if not email:
        raise ValidationFailed(_("The account has no e-mail address."), field="email")
    others = tuple(
        User.objects.filter(email__iexact=email, is_active=True)
        .exclude(pk=user.pk)
        .order_by("pk")
        .values_list("username", flat=True)[:5]
    )
    events.emit(
        events.ACCOUNT_CONFIRMATION_MAIL,
        ConfirmationMail(
            user=user,
            email=email,
            confirm_url=confirmation_url(user, email),
            reset_url=site_url(reverse("accounts:password_reset")),
            days=confirm_days(),
            other_accounts=others,
        ),
    )


@transaction.atomic
def password_reset_mail_send(*, user: User, email: str, path: str) -> None:
    """Mail the user a password reset link (a path of this site) through the outbox."""
    events.emit(
        events.ACCOUNT_PASSWORD_RESET_MAIL,
        PasswordResetMail(
            user=user,
            email=email,
            reset_url=site_url(path),
            days=max(1, int(settings.PASSWORD_RESET_TIMEOUT) // (24 * 3600)),
        ),
    )


@transaction.atomic
def email_confirm(*, user: User, email: str, actor: User | None = None) -> Profile:
    """Make `email` the user's confirmed address; the address's tickets become the user's.

    At most one account holds a confirmed address: an inactive account, or one whose e-mail changed
    since, gives it up; an active one keeps it and the call fails. Confirming again changes nothing.
    """
    email = (email or "").strip().lower()
    if not email or (user.email or "").strip().lower() != email:
        raise ValidationFailed(_("This link is for an address the account no longer has."), field="email")
    profile, _created = Profile.objects.select_for_update().get_or_create(user=user)
    if profile.confirmed_email == email:
        return profile
    _address_release(user=user, email=email)
    profile.confirmed_email = email
    try:
        with transaction.atomic():  # a concurrent confirmation of the same address loses cleanly
            profile.save(update_fields=["confirmed_email"])
    except IntegrityError:
        raise ValidationFailed(_address_taken_message(), field="email") from None
    events.emit(events.ACCOUNT_ADDRESS_CONFIRMED, AddressConfirmed(user=user, email=email, actor=actor))
    return profile


def _address_taken_message() -> str:
    """Return the refusal shown when another active account holds the confirmed address."""
    return _("This address is already confirmed for another account; log in to that one.")


def _address_release(*, user: User, email: str) -> None:
    """Let `user` take the confirmed address `email`: an inactive or changed holder gives it up.

    An active account that still has the address keeps it: raise ValidationFailed on the `email` field.
    """
    holder = (
        Profile.objects.select_for_update()
        .select_related("user")
        .filter(confirmed_email=email)
        .exclude(user=user)
        .first()
    )
    if holder is None:
        return
    if holder.user.is_active and holder.email_confirmed:
        raise ValidationFailed(_address_taken_message(), field="email")
    holder.confirmed_email = ""
    holder.save(update_fields=["confirmed_email"])


@transaction.atomic
def email_confirmed_set(*, user: User, confirmed: bool, actor: User | None = None) -> Profile:
    """Let staff mark the user's current address confirmed (they vouch for it) or not confirmed."""
    if confirmed:
        return email_confirm(user=user, email=user.email, actor=actor)
    profile, _created = Profile.objects.select_for_update().get_or_create(user=user)
    if profile.confirmed_email:
        profile.confirmed_email = ""
        profile.save(update_fields=["confirmed_email"])
    return profile


@transaction.atomic
def profile_update(
    *,
    user: User,
    language: str | None = None,
    time_zone: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    signature: str | None = None,
) -> Profile:
    """Change the user's name, language, time zone or (support only) signature; None leaves a value as is.

    Raise ValidationFailed with per-field messages; nothing is saved then.
    """
    profile, _created = Profile.objects.select_for_update().get_or_create(user=user)
    errors: dict[str, list[str]] = {}
    if language is not None:
        if language not in {"ru", "en"}:
            errors.setdefault("language", []).append(_("Unknown language."))
        profile.language = language
    if time_zone is not None:
        time_zone = time_zone.strip()
        if time_zone not in zoneinfo.available_timezones():
            errors.setdefault("time_zone", []).append(_("Unknown time zone."))
        profile.time_zone = time_zone
    if signature is not None:
        signature = signature.replace("\r\n", "\n").strip()
        if not is_support(user):
            # Only support's replies are signed; a client's stored signature would never be used.
            errors.setdefault("signature", []).append(_("Only support staff keep a signature."))
        elif len(signature) > SIGNATURE_MAX:
            errors.setdefault("signature", []).append(
                _("The signature must be at most %(n)s characters.") % {"n": SIGNATURE_MAX}
            )
        profile.signature = signature
    names = {"first_name": first_name, "last_name": last_name}
    for field, value in names.items():
        if value is not None and len(value.strip()) > 150:
            errors.setdefault(field, []).append(_("At most 150 characters."))
    if errors:
        raise ValidationFailed(errors=errors)
    profile.save()
    changed = [
        field for field, value in names.items() if value is not None and value.strip() != getattr(user, field)
    ]
    if changed:
        for field in changed:
            setattr(user, field, (names[field] or "").strip())
        user.save(update_fields=changed)
    return profile


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str = "") -> str:
    """Create an API token for the user and return it; only its digest is kept."""
    token = "otk_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name[:100], prefix=token[:12], digest=_digest(token))
    return token


def token_authenticate(token: str) -> User | None:
    """Return the active user owning the token, or None.

    The owner (with profile and access levels) is kept in the configuration cache: a revoked token or a
    deactivated user stops working at once in this process and on the next request in the others (they
    read the shared generation, see `otklik.core.config_cache`). Each call gets its own copy, so a
    request may annotate its user freely.
    """
    if not token:
        return None
    digest = _digest(token)
    found = config_cached(f"token:{digest}", lambda: _token_owner(digest))
    if found is None:
        return None
    token_id, last_used_at, owner = found
    _token_touch(token_id, digest, last_used_at)
    return copy.copy(owner)


def _token_owner(digest: str) -> tuple[int, Any, User] | None:
    row = ApiToken.objects.select_related("user", "user__profile").filter(digest=digest).first()
    if row is None or not row.user.is_active:
        return None
    levels_of(row.user)  # computed once here, carried by every copy
    return row.pk, row.last_used_at, row.user


# When this process last wrote each token's last use (token digest -> aware datetime).
# Keyed by digest, not id: a new token may get a deleted one's id (SQLite reuses the highest rowid).
_token_written: dict[str, Any] = {}


def _token_touch(token_id: int, digest: str, stored: Any) -> None:
    """Record the token's use at most once a minute per process: the API must not write on every read."""
    now = clock.now()
    last = _token_written.get(digest, stored)
    if last is None or (now - last).total_seconds() > 60:
        if len(_token_written) >= 10_000:  # bounded like the configuration cache
            _token_written.clear()
        _token_written[digest] = now
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)


@transaction.atomic
def support_group_add_member(
    *,
    group: SupportGroup,
    user: User,
    can_view: bool = True,
    mail_new: bool = False,
    mail_update: bool = False,
) -> SupportGroupMember:
    """Add a user to a support group (or update the member's flags)."""
    member, _created = SupportGroupMember.objects.update_or_create(
        group=group,
        user=user,
        defaults={"can_view": can_view, "mail_new": mail_new, "mail_update": mail_update},
    )
    return member


@transaction.atomic
def support_group_ensure(*, name: str, kind: str, description: str = "") -> SupportGroup:
    """Return the support group with this name, creating it (with the kind and description) if missing."""
    if kind not in SupportGroup.Kind.values:
        raise ValidationFailed(_("Choose a valid value."), field="kind")
    group, _created = SupportGroup.objects.get_or_create(
        name=name, defaults={"kind": kind, "description": description}
    )
    return group
