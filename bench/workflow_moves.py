"""Time a support-process move beside a staff reply, and ticket creation with and without the process.

    OTKLIK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/otklik_bench_workflow python -m bench.workflow_moves

Issue 14 asks that a move cost at most as much as a staff reply and that starting the process add at most
10% to ticket creation. Both are compared in one run, interleaved, through the services the web pages and
the API call (in-process, on the database of OTKLIK_DATABASE_URL, migrated and loaded with `otklik demo
--tickets 0` when empty), each call in its own transaction as a request would be:

- reply: `message_post` of a staff answer to a client's ticket (history, derived state, SLA clock, search
  text, the author's mail in the outbox);
- move: `workflow_transition` "escalate" from L1 to the incident manager with a comment (the stage and the
  reason in the history, the ticket's tier, the move, the place, mail to the incident managers);
- creation: `ticket_create` by a client, alternately with the process switched on and off.

Prints `workflow_<what>_ms_median` / `_p95` and the ratios `workflow_move_per_reply` and
`workflow_create_overhead_pct`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from bench.common import django_setup, figure, median, note, percentile, timed_in_transaction


def _prepare(no_migrate: bool) -> None:
    if not no_migrate:
        subprocess.run([sys.executable, "-m", "otklik", "migrate", "--no-input", "-v", "0"], check=True)
    django_setup()
    from django.contrib.auth.models import User

    if not User.objects.filter(username="l1").exists():
        subprocess.run(
            [sys.executable, "-m", "otklik", "demo", "--tickets", "0"], check=True, capture_output=True
        )


def _people():
    from django.contrib.auth.models import User

    from otklik.accounts.models import AccessLevel
    from otklik.tickets.policies import TicketPolicy
    from otklik.workflow.models import Role

    client = User.objects.get(username="client")
    staff = next(u for u in User.objects.filter(is_active=True).order_by("pk") if TicketPolicy(u).is_staff)
    l1 = User.objects.filter(username="l1").first()
    if l1 is None:  # demo data without the process's people: make the L1 operator
        from otklik.accounts.services import user_create

        l1 = user_create(
            username="l1", email="l1@example.test", password="bench-Pass-2024", levels=(AccessLevel.STAFF,)
        )
        Role.objects.get(code="l1_operator").users.add(l1)
    manager = User.objects.filter(username="manager").first()
    if manager is None:  # someone must be told of the escalation, as in real use
        from otklik.accounts.services import user_create
        from otklik.workflow.services import role_member_add

        manager = user_create(
            username="manager",
            email="manager@example.test",
            password="bench-Pass-2024",
            levels=(AccessLevel.STAFF,),
        )
        role_member_add(role="incident_manager", user=manager)
    return client, staff, l1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-migrate", action="store_true")
    args = parser.parse_args(argv)
    _prepare(args.no_migrate)

    from otklik.core.config_cache import config_rows_changed
    from otklik.tickets import services
    from otklik.tickets.models import Ticket
    from otklik.workflow.models import ProcessVersion
    from otklik.workflow.services import workflow_transition

    client, staff, l1 = _people()
    note(f"staff {staff.username}, L1 operator {l1.username}")

    def new_ticket(n: int) -> Ticket:
        return services.ticket_create(
            actor=client, draft=services.TicketDraft(title=f"Bench {n}", message="The export hangs at 99%.")
        )

    def process_on(on: bool) -> None:
        ProcessVersion.objects.filter(code="three-tier", active=True).update(starts_new_tickets=on)
        config_rows_changed(ProcessVersion)

    replies: list[float] = []
    moves: list[float] = []
    created_with: list[float] = []
    created_without: list[float] = []
    total = args.warmup + args.rounds
    # A reply beside a move, alternating which goes first; no configuration changes in this phase (a
    # change forgets the configuration cache, and the next write would pay for reading it again).
    process_on(True)
    for n in range(total):
        for_reply, for_move = new_ticket(n), new_ticket(n)
        pair = [
            (replies, lambda t=for_reply: services.message_post(
                actor=staff, ticket=t, draft=services.MessageDraft(body="We are looking into it.")
            )),
            (moves, lambda t=for_move: workflow_transition(
                actor=l1, ticket=t, transition="escalate", values={"comment": "Reproduced: a timeout."}
            )),
        ]  # fmt: skip
        if n % 2:
            pair.reverse()
        for bucket, call in pair:
            elapsed = timed_in_transaction(call)
            if n >= args.warmup:
                bucket.append(elapsed)
    # Creation with and without the process, alternating; each switch is followed by an untimed
    # creation that reads the configuration again.
    try:
        for n in range(total):
            order = (True, False) if n % 2 else (False, True)
            for on in order:
                process_on(on)
                new_ticket(0)
                elapsed = timed_in_transaction(lambda n=n: new_ticket(n))
                if n >= args.warmup:
                    (created_with if on else created_without).append(elapsed)
    finally:
        process_on(True)

    for name, values in (
        ("reply", replies),
        ("move", moves),
        ("create_with_process", created_with),
        ("create_without_process", created_without),
    ):
        figure(f"workflow_{name}_ms_median", median(values), "ms")
        figure(f"workflow_{name}_ms_p95", percentile(values, 95), "ms")
    figure("workflow_move_per_reply", median(moves) / median(replies), "x")
    overhead = (median(created_with) / median(created_without) - 1) * 100
    figure("workflow_create_overhead_pct", overhead, "%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
