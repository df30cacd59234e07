"""Connect the mailers and the bell to what the tickets, the support process and the SLA job announce."""

from __future__ import annotations

from otklik.core import events
from otklik.core.models import DomainEvent
from otklik.notifications import catalog
from otklik.notifications.services import AUTO_CLOSED

_connected = False

# The SLA job's batch events and the mail each one causes.
SLA_EVENTS = {
    events.TICKET_REMINDER: catalog.REMINDER,
    events.TICKET_OVERDUE: catalog.OVERDUE,
    events.TICKET_AUTO_CLOSED: AUTO_CLOSED,
}


# The SLA job's batch events that also reach the responsible's bell (issue 17).
SLA_INAPP_KINDS = {
    events.TICKET_REMINDER: catalog.INAPP_REMINDER,
    events.TICKET_OVERDUE: catalog.INAPP_OVERDUE,
}


def _on_sla_event(event: DomainEvent) -> None:
    from otklik.notifications.services import inapp_sla_notify, sla_batch_notify

    if event.payload.get("notify") is False:  # "notify when overdue" was off when the tick ran
        return
    ticket_ids = events.batch_ticket_ids(event)
    sla_batch_notify(SLA_EVENTS[event.name], ticket_ids)
    if event.name in SLA_INAPP_KINDS:
        inapp_sla_notify(SLA_INAPP_KINDS[event.name], ticket_ids)


def _on_ticket_activity(activity) -> None:
    from otklik.notifications.services import ticket_activity_notify

    ticket_activity_notify(activity)


def _on_ticket_activity_inapp(activity) -> None:
    from otklik.notifications.services import inapp_activity_notify

    inapp_activity_notify(activity)


def _on_process_moved(moved) -> None:
    from otklik.notifications.services import process_moved_notify

    process_moved_notify(moved)


def _on_coupon_used(used) -> None:
    from otklik.notifications.services import coupon_used_notify

    coupon_used_notify(ticket=used.ticket, coupon=used.code, actor=used.user)


def _on_confirmation_mail(mail) -> None:
    from otklik.notifications.services import account_mail_notify

    event = catalog.ADDRESS_REGISTERED_AGAIN if mail.other_accounts else catalog.ADDRESS_CONFIRM
    account_mail_notify(
        event=event,
        user=mail.user,
        email=mail.email,
        context={
            "confirm_url": mail.confirm_url,
            "reset_url": mail.reset_url,
            "days": str(mail.days),
            "other_accounts": ", ".join(mail.other_accounts),
        },
    )


def _on_password_reset_mail(mail) -> None:
    from otklik.notifications.services import account_mail_notify

    account_mail_notify(
        event=catalog.PASSWORD_RESET,
        user=mail.user,
        email=mail.email,
        context={"reset_url": mail.reset_url, "days": str(mail.days)},
    )


def _on_ticket_viewed(viewed: dict) -> None:
    """Mark the viewer's in-app notifications about the ticket read: they have seen it now."""
    from otklik.notifications.services import notifications_mark_read_for_ticket

    notifications_mark_read_for_ticket(user=viewed["user"], ticket_id=viewed["ticket_id"])


def connect() -> None:
    """Subscribe once per process (AppConfig.ready may run more than once in tests)."""
    global _connected
    if _connected:
        return
    _connected = True
    events.listen(events.TICKET_ACTIVITY, _on_ticket_activity)
    events.listen(events.TICKET_ACTIVITY, _on_ticket_activity_inapp)
    events.listen(events.PROCESS_MOVED, _on_process_moved)
    events.listen(events.COUPON_USED, _on_coupon_used)
    events.listen(events.TICKET_VIEWED, _on_ticket_viewed)
    events.listen(events.ACCOUNT_CONFIRMATION_MAIL, _on_confirmation_mail)
    events.listen(events.ACCOUNT_PASSWORD_RESET_MAIL, _on_password_reset_mail)
    for name in SLA_EVENTS:
        events.subscribe(name, _on_sla_event)
