"""Grouping a fetched batch for processing on several threads: related mail stays together, in order."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from otklik.mail import transports
from otklik.mail.batches import balanced, related_groups
from otklik.mail.models import InboundMail, Mailbox, Outcome
from otklik.mail.parsing import mail_parse
from otklik.mail.threading import subject_patterns
from otklik.mail.transports import mailbox_poll
from otklik.tickets.models import Message, Ticket
from tests.test_mail_ingest import mail
from tests.test_mail_transports import box

PATTERNS = subject_patterns("")


def parsed(**kw):
    return mail_parse(mail(**kw))


def test_related_groups_join_by_sender_by_message_id_and_by_ticket():
    opener = parsed(sender="anna@a.example", subject="Новая", message_id="<open@a.example>")
    stranger = parsed(sender="boris@b.example", subject="Другая")
    # Another address answering the opener (its colleague, Cc'd): related through the Message-ID.
    answer = parsed(sender="vera@a.example", subject="Re: Новая", headers={"In-Reply-To": "<open@a.example>"})
    marker_1 = parsed(sender="gleb@c.example", subject="[TID#77] вопрос")
    marker_2 = parsed(sender="dina@d.example", subject="Re: [TID#77] ещё")
    own_id = "<otklik.ticket.77@otklik.localhost>"  # our thread id names ticket 77 as well
    by_own_id = parsed(sender="egor@e.example", subject="Re: без номера", headers={"References": own_id})
    again = parsed(sender="anna@a.example", subject="Ещё одна")
    mails = [opener, stranger, answer, marker_1, marker_2, by_own_id, again, None]

    groups = related_groups(mails, PATTERNS)

    assert groups == [[0, 2, 6], [1], [3, 4, 5], [7]]


def test_balanced_deals_whole_groups_keeping_arrival_order_in_each_load():
    groups = [[0, 3, 9], [1], [2, 4], [5], [6, 7, 8]]
    loads = balanced(groups, 2)
    assert len(loads) == 2 and sorted(i for load in loads for i in load) == list(range(10))
    for group in groups:
        holders = [load for load in loads if group[0] in load]
        assert len(holders) == 1 and all(i in holders[0] for i in group)
        positions = [holders[0].index(i) for i in group]
        assert positions == sorted(positions)
    assert balanced([[0], [1]], 8) == [[0], [1]] and balanced([], 3) == []


@pytest.mark.django_db(transaction=True)
def test_processing_threads_only_on_postgresql_and_outside_a_transaction(settings):
    settings.MAIL_THREADS = 3
    assert transports.processing_threads() == (3 if connection.vendor == "postgresql" else 1)
    with transaction.atomic():  # threads could not see what this transaction wrote
        assert transports.processing_threads() == 1


@pytest.mark.django_db(transaction=True)  # the processing threads have connections of their own
def test_imap_batch_processed_on_threads_threads_every_reply_to_its_opener(
    cast, dovecot_server, mailbox_user, settings, monkeypatch
):
    settings.MAIL_THREADS = 3
    seen_threads: set[str] = set()
    real_process = transports.mail_process

    def recording(**kw):
        seen_threads.add(threading.current_thread().name)
        return real_process(**kw)

    monkeypatch.setattr(transports, "mail_process", recording)
    for n in range(6):
        sender = f"client{n}@customer{n}.example"
        dovecot_server.append(
            mailbox_user.user,
            mail(sender=sender, subject=f"Вопрос {n}", message_id=f"<q{n}@customer.example>"),
        )
        answer = mail(
            sender=sender,
            subject=f"Re: Вопрос {n}",
            body=f"Дополнение {n}",
            headers={"In-Reply-To": f"<q{n}@customer.example>"},
        )
        dovecot_server.append(mailbox_user.user, answer)

    report = mailbox_poll(box(dovecot_server, mailbox_user, "imap"))

    assert report.error == "" and report.outcomes == {"created": 6, "appended": 6}
    for n in range(6):
        ticket = Ticket.objects.get(title=f"Вопрос {n}")
        bodies = list(Message.objects.filter(ticket=ticket).order_by("number").values_list("body", flat=True))
        assert bodies[1:] == [f"Дополнение {n}"]
    assert not InboundMail.objects.exclude(outcome__in=[Outcome.CREATED, Outcome.APPENDED]).exists()
    if connection.vendor == "postgresql":
        assert len({name for name in seen_threads if name.startswith("mail")}) > 1
    else:
        assert seen_threads == {threading.main_thread().name}
    assert Mailbox.objects.get(code__startswith="imap-").last_error == ""
