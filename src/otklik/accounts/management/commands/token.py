"""`otklik token create USERNAME [--name N]`: issue an API token; `otklik token list USERNAME`: show them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from otklik.accounts.models import ApiToken
from otklik.accounts.services import token_create


class Command(BaseCommand):
    help = "Manage REST API tokens (used as `Authorization: Bearer <token>`)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser(
            "create", help="Create a token for a user and print it (shown only once)."
        )
        create.add_argument("username")
        create.add_argument(
            "--name", default="", help="A label to recognise the token by, e.g. the script using it."
        )
        listing = actions.add_parser(
            "list", help="List a user's tokens (their prefixes; tokens are not stored)."
        )
        listing.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"User {options['username']!r} does not exist.")
        if options["action"] == "create":
            if not user.is_active:
                raise CommandError(f"User {user.username!r} is deactivated; a token for them would not work.")
            token = token_create(user=user, name=options["name"])
            self.stdout.write(token)
            if options["verbosity"] > 1:
                self.stderr.write("Keep the token secret: it is shown only now and acts as the user.")
        elif options["action"] == "list":
            for row in ApiToken.objects.filter(user=user).order_by("created_at"):
                used = row.last_used_at.isoformat() if row.last_used_at else "never used"
                self.stdout.write(
                    f"{row.prefix}…  {row.name or '—'}  created {row.created_at.isoformat()}  {used}"
                )
