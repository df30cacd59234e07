"""Full-text search over titles and messages (F-14), on SQLite FTS5 and PostgreSQL tsvector alike.

Clients search only what they may read (never hidden or log text), staff also search hidden
messages, nobody searches log lines, and a number also finds the ticket with that id.
"""

from __future__ import annotations

import pytest

from otklik.tickets import services
from otklik.tickets.models import Message, Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import TicketFilter, fts5_query, ticket_list


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def search(user, text: str, **flt) -> set[int]:
    return set(ticket_list(TicketPolicy(user), TicketFilter(q=text, **flt)).values_list("pk", flat=True))


class Corpus:
    def __init__(self, cast):
        self.cast = cast
        self.payment = services.ticket_create(
            actor=cast.client,
            draft=services.TicketDraft(
                title="Оплата не проходит",
                message="При оплате заказа возникает ошибка 500, see error-500 in the console.",
            ),
        )
        services.message_post(
            actor=cast.staff,
            ticket=self.payment,
            draft=services.MessageDraft(body="проверить nginx upstream timeout", hidden=True),
        )
        services.message_post(
            actor=cast.staff,
            ticket=self.payment,
            draft=services.MessageDraft(body="Try clearing the browser cache"),
        )
        services.message_post(
            actor=cast.staff,
            ticket=self.payment,
            draft=services.MessageDraft(body="Передали разработчикам", not_change_status=True),
        )
        services.ticket_update(actor=cast.staff, ticket=self.payment, changes={"admin_comment": "zebrafish"})
        self.delivery = services.ticket_create(
            actor=cast.other_client,
            draft=services.TicketDraft(
                title="Delivery delayed", message="Ошибки доставки: курьер не приехал"
            ),
        )
        self.colleagues = services.ticket_create(
            actor=cast.colleague,
            draft=services.TicketDraft(title="Invoice", message="Need an invoice for order 77"),
        )


@pytest.fixture
def corpus(cast) -> Corpus:
    return Corpus(cast)


# -- words ------------------------------------------------------------------------------------------
def test_search_russian_word_finds_own_ticket_not_other_clients(corpus):
    c = corpus.cast
    assert search(c.client, "ошибка") == {corpus.payment.pk}
    # PostgreSQL also finds the other client's own "Ошибки" (same stem); never the client's ticket.
    assert search(c.other_client, "ошибка") <= {corpus.delivery.pk}
    assert search(c.other_client, "доставки") == {corpus.delivery.pk}
    assert search(c.admin, "доставки") == {corpus.delivery.pk}


def test_search_russian_stem_prefix_finds_both_inflections(corpus):
    c = corpus.cast
    assert search(c.admin, "ошибк") == {corpus.payment.pk, corpus.delivery.pk}


def test_search_russian_inflected_form_finds_other_form(corpus):
    # PostgreSQL: the russian configuration; SQLite: one ending stripped, the stem matched as a prefix.
    c = corpus.cast
    assert search(c.admin, "ошибки") == {corpus.payment.pk, corpus.delivery.pk}
    assert search(c.admin, "оплаты") == {corpus.payment.pk}


def test_search_case_insensitive_cyrillic_and_latin(corpus):
    c = corpus.cast
    assert search(c.client, "ОШИБКА") == {corpus.payment.pk}
    assert search(c.client, "CACHE") == {corpus.payment.pk}


def test_search_title_words_match(corpus):
    c = corpus.cast
    assert search(c.client, "оплата") == {corpus.payment.pk}
    assert search(c.other_client, "delivery") == {corpus.delivery.pk}


def test_search_english_words_and_prefixes(corpus):
    c = corpus.cast
    assert search(c.client, "browser cache") == {corpus.payment.pk}
    assert search(c.client, "clear") == {corpus.payment.pk}
    assert search(c.client, "browser delivery") == set(), "all words are required"


def test_search_hyphenated_term_matches(corpus):
    c = corpus.cast
    assert search(c.client, "error-500") == {corpus.payment.pk}


def test_search_no_status_message_text_visible_to_client(corpus):
    assert search(corpus.cast.client, "разработчикам") == {corpus.payment.pk}


# -- who matches what -------------------------------------------------------------------------------
def test_search_client_never_matches_hidden_text(corpus):
    c = corpus.cast
    for user in (c.client, c.colleague):
        assert search(user, "nginx") == set()
        assert search(user, "upstream timeout") == set()


def test_search_staff_and_admin_match_hidden_text(corpus):
    c = corpus.cast
    for user in (c.staff, c.admin):
        assert search(user, "nginx") == {corpus.payment.pk}


def test_search_demo_never_matches_hidden_text(corpus):
    assert search(corpus.cast.demo, "nginx") == set()
    assert search(corpus.cast.demo, "cache") == {corpus.payment.pk}


def test_search_nobody_matches_log_only_text(corpus):
    c = corpus.cast
    assert Message.objects.filter(ticket=corpus.payment, kind="log", body__contains="zebrafish").exists()
    for user in (c.client, c.staff, c.admin, c.demo):
        assert search(user, "zebrafish") == set()


def test_search_colleague_matches_company_ticket(corpus):
    assert search(corpus.cast.colleague, "ошибка") == {corpus.payment.pk}
    assert search(corpus.cast.client, "invoice") == {corpus.colleagues.pk}


# -- numbers ------------------------------------------------------------------------------------------
def test_search_number_finds_ticket_by_id(corpus):
    c = corpus.cast
    assert corpus.delivery.pk in search(c.other_client, str(corpus.delivery.pk))
    assert corpus.delivery.pk in search(c.admin, f" {corpus.delivery.pk} ")


def test_search_number_of_invisible_ticket_finds_nothing(corpus):
    c = corpus.cast
    assert corpus.payment.pk not in search(c.other_client, str(corpus.payment.pk))


def test_search_number_also_matches_text(corpus):
    assert corpus.colleagues.pk in search(corpus.cast.admin, "77")


# -- the index follows the changes ----------------------------------------------------------------------
def test_search_follows_message_edit(corpus):
    c = corpus.cast
    first = corpus.delivery.messages.get(number=1)
    services.message_edit(actor=c.admin, message=first, body="Курьер опоздал на три дня")
    assert search(c.other_client, "приехал") == set()
    assert search(c.other_client, "опоздал") == {corpus.delivery.pk}


def test_search_follows_message_delete(corpus):
    c = corpus.cast
    answer = Message.objects.get(ticket=corpus.payment, body__startswith="Try clearing")
    assert search(c.client, "cache") == {corpus.payment.pk}
    services.message_delete(actor=c.admin, message=answer)
    assert search(c.client, "cache") == set()
    assert search(c.staff, "cache") == set()


def test_search_follows_hidden_message_delete_for_staff(corpus):
    c = corpus.cast
    hidden = Message.objects.get(ticket=corpus.payment, kind="hidden")
    services.message_delete(actor=c.admin, message=hidden)
    assert search(c.staff, "nginx") == set()


def test_search_follows_title_change(corpus):
    c = corpus.cast
    services.ticket_update(actor=c.staff, ticket=corpus.colleagues, changes={"title": "Счёт-фактура"})
    assert search(c.client, "фактура") == {corpus.colleagues.pk}
    assert Ticket.objects.get(pk=corpus.colleagues.pk).title == "Счёт-фактура"
    # The old title survives only in the log line, which nobody searches.
    assert search(c.admin, "Invoice") == {corpus.colleagues.pk}  # still in the message text
    services.message_edit(
        actor=c.admin, message=corpus.colleagues.messages.get(number=1), body="Need a document for order 77"
    )
    assert search(c.admin, "invoice") == set()


def test_search_follows_ticket_delete(corpus, django_capture_on_commit_callbacks):
    c = corpus.cast
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_delete(actor=c.admin, ticket=corpus.delivery)
    assert search(c.admin, "доставки") == set()


# -- robustness -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        '"',
        "*",
        "(",
        "AND",
        "OR NOT",
        "NEAR(a b)",
        "col:word",
        "' OR 1=1 --",
        'ошибка"*',
        "{staff_text}: nginx",
    ],
)
def test_search_operator_characters_never_crash_or_leak(corpus, text):
    c = corpus.cast
    assert corpus.delivery.pk not in search(c.client, text)
    assert corpus.payment.pk not in search(c.client, text) or "ошибка" in text
    search(c.admin, text)


def test_search_combines_with_other_filters(corpus):
    c = corpus.cast
    services.ticket_close(actor=c.client, ticket=corpus.payment)
    assert search(c.admin, "ошибк", state="open") == {corpus.delivery.pk}
    assert search(c.admin, "ошибк", state="closed") == {corpus.payment.pk}


def test_fts5_query_quotes_every_word_and_splits_on_punctuation():
    assert fts5_query('error-500 "x"') == '"error"* AND "500"* AND "x"*'
    assert fts5_query("ошибка, NOT") == '"ошибк"* AND "NOT"*'
    assert fts5_query("*** ()") == ""


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("ошибки", "ошибк"),
        ("оплаты", "оплат"),
        ("доставкой", "доставк"),
        ("сайт", "сайт"),
        ("cache", "cache"),
        ("Ошибками", "ошибк"),
        ("500", "500"),
    ],
)
def test_russian_stem_strips_one_ending_keeps_short_words(word, stem):
    from otklik.tickets.selectors import russian_stem

    assert russian_stem(word) == stem
