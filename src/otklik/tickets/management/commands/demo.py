"""`otklik demo`: load the demo users, groups, SLA levels, frequent answers and tickets (idempotent)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from otklik.tickets.demo_data import DEFAULT_SEED, DEFAULT_TICKETS, demo_load


class Command(BaseCommand):
    help = (
        "Load demo data: users admin, staff, staff2, demo, client, client2, vip (passwords are printed once, "
        "when a user is created), three client companies and a staff team, the regulation's SLA levels, "
        "the Enterprise client vip's coupon for 15 special tickets (its code is printed every time), "
        "frequent answers and realistic tickets in Russian and English (some tagged and linked), shared and "
        "personal macros, plus what the apps above tickets add (the support process: a user per role and "
        "tickets in every state; an automation rule when tickets are asked for). Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tickets",
            type=int,
            default=DEFAULT_TICKETS,
            help=f"How many tickets to create when there are none yet (default {DEFAULT_TICKETS}).",
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Seed of the ticket generator.")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        verbose = options["verbosity"] > 1
        report = demo_load(
            tickets=options["tickets"],
            seed=options["seed"],
            progress=(lambda line: self.stdout.write(f"  … {line}")) if verbose else None,
        )
        if report.created:
            self.stdout.write(self.style.SUCCESS("Demo users created. Passwords are shown only this once:"))
            width = max(len(username) for username, _role, _password in report.created)
            for username, role, password in report.created:
                self.stdout.write(f"  {username.ljust(width)}  {password}  ({role})")
        for username in report.existing:
            self.stdout.write(f"User {username} already exists; its password was not changed.")
        if report.timetables_created:
            self.stdout.write(f"Timetables created: {report.timetables_created}.")
        if report.sla_created:
            self.stdout.write(f"SLA levels created: {report.sla_created}.")
        if report.answers_created:
            self.stdout.write(f"Frequent answers created: {report.answers_created}.")
        for line in report.lines:
            self.stdout.write(line)
        if report.tickets_skipped:
            self.stdout.write("Demo tickets already exist; no tickets were added.")
        elif report.tickets_created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo tickets created: {report.tickets_created} in {time.monotonic() - started:.1f} s."
                )
            )
