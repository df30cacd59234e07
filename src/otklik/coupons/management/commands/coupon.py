"""`otklik coupon create`: generate coupons for special tickets (F-21) and print their codes.

    otklik coupon create --sla CODE --uses N [--days D] [--count K] [--note TEXT] [--json]

The codes follow the module option's mask. Plain output is one code per line; `--json` prints a JSON array
of objects with `code`, `uses_left`, `active_to` (ISO 8601, or null: no end) and `sla` (the level's code).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from otklik.core.errors import ValidationFailed
from otklik.coupons.masks import mask_current
from otklik.coupons.services import COUNT_MAX, CouponSpec, coupon_generate
from otklik.sla.models import SlaLevel


class Command(BaseCommand):
    help = "Coupons for special tickets: create them and print their codes."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser(
            "create",
            help="Create coupons on an SLA level and print their codes, one per line (or JSON).",
        )
        create.add_argument("--sla", required=True, metavar="CODE", help="The SLA level's symbolic code.")
        create.add_argument("--uses", required=True, type=int, metavar="N", help="Tickets each coupon buys.")
        create.add_argument(
            "--days", type=int, metavar="D", help="Valid for D days from now (default: no end)."
        )
        create.add_argument(
            "--count", type=int, default=1, metavar="K", help=f"How many coupons (1..{COUNT_MAX}, default 1)."
        )
        create.add_argument("--note", default="", metavar="TEXT", help="Whom the coupons are for.")
        create.add_argument(
            "--json",
            action="store_true",
            help="Print a JSON array of objects with code, uses_left, active_to and sla.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            self.create(options)

    def create(self, options: dict[str, Any]) -> None:
        code = options["sla"].strip()
        sla = SlaLevel.objects.filter(code=code).first() if code else None
        if sla is None:
            known = ", ".join(
                SlaLevel.objects.exclude(code="").order_by("code").values_list("code", flat=True)
            )
            raise CommandError(
                f"There is no SLA level with the code {code!r} (known codes: {known or 'none yet'})."
            )
        spec = CouponSpec(
            sla=sla,
            uses=options["uses"],
            days=options["days"],
            count=options["count"],
            mask=mask_current(),
            note=options["note"],
        )
        try:
            coupons = coupon_generate(spec=spec, actor=None)
        except ValidationFailed as error:
            raise CommandError(_problems(error)) from None
        if options["json"]:
            rows = [
                {
                    "code": c.code,
                    "uses_left": c.uses_left,
                    "active_to": c.active_to.isoformat() if c.active_to else None,
                    "sla": sla.code,
                }
                for c in coupons
            ]
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
        else:
            for c in coupons:
                self.stdout.write(c.code)


# The command's options by the service's field names.
_OPTIONS = {"sla": "--sla", "uses": "--uses", "days": "--days", "count": "--count", "mask": "the mask option"}


def _problems(error: ValidationFailed) -> str:
    """Name each refused option with its message, in one line."""
    parts = [
        f"{_OPTIONS.get(field, field)}: {' '.join(messages)}" for field, messages in error.errors.items()
    ]
    return "; ".join(parts) or error.message
