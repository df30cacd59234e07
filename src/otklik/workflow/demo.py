"""The support process in `otklik demo`: a user per role, and tickets in every state of the shipped process.

Registered as a demo step (`tickets.demo_steps`) by WorkflowConfig.ready: tickets stays below workflow.
Every ticket is moved through `workflow_transition` and `workflow_vote` at frozen instants in the past, so
its history is what real use would write. The demo's open tickets that have no process yet (the demo mutes
ticket activity, which starts it) start at the first line. Nothing is mailed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils import translation

from otklik.accounts.models import AccessLevel
from otklik.core import clock, events
from otklik.tickets import services as ticket_services
from otklik.tickets.demo_steps import DemoContext
from otklik.tickets.models import Channel, Ticket
from otklik.workflow.models import Move
from otklik.workflow.selectors import version_for_new_tickets
from otklik.workflow.services import role_member_add, workflow_start, workflow_transition, workflow_vote


@dataclass(frozen=True)
class RoleUser:
    username: str
    first_name: str
    last_name: str
    role: str
    language: str = "ru"


ROLE_USERS: tuple[RoleUser, ...] = (
    RoleUser("l1", "Ольга", "Первова", "l1_operator"),
    RoleUser("manager", "Сергей", "Орлов", "incident_manager"),
    RoleUser("itop", "Павел", "Сетевой", "it_operator"),
    RoleUser("developer", "Алексей", "Кодов", "developer"),
    RoleUser("tester", "Мария", "Проверкина", "tester"),
    RoleUser("integrator", "Kevin", "Brown", "integrator", language="en"),
    RoleUser("board1", "Николай", "Советов", "change_board"),
    RoleUser("board2", "Ирина", "Решетова", "change_board"),
    RoleUser("board3", "Peter", "Wright", "change_board", language="en"),
    RoleUser("admin_team", "Татьяна", "Порталова", "administration"),
    RoleUser("content", "Андрей", "Картов", "content_team"),
)


@dataclass(frozen=True)
class Story:
    """One demo ticket: who files it, what, and the moves it has been through (actor, move, values)."""

    author: str
    title: str
    message: str
    moves: tuple[tuple[str, str, dict], ...] = ()
    votes: tuple[tuple[str, str, str], ...] = ()  # (voter, approve|reject, comment), after the moves
    language: str = "ru"


ESCALATE = ("l1", "escalate", {"comment": "Технический вопрос, первая линия не решит."})
ESCALATE_EN = ("l1", "escalate", {"comment": "A technical question beyond the first line."})

STORIES: tuple[Story, ...] = (
    Story("client", "Не приходит SMS с кодом входа", "Жду код уже полчаса, номер +7 900 000-00-00."),
    Story(
        "client",
        "Прошу удалить мой старый аккаунт",
        "У меня два аккаунта, старый с адресом на mail.example больше не нужен.",
        moves=(("l1", "to_administration", {"comment": "Удаление учётной записи — решает администрация."}),),
    ),
    Story(
        "client2",
        "Wrong office address on the map",
        "Your map shows our Leeds office on the wrong street: it is 12 Park Row.",
        moves=(("l1", "map_content", {"comment": "Map content: the address is outdated."}),),
        language="en",
    ),
    Story(
        "client2",
        "Export to Excel fails with error 500",
        "Reports → Export → Excel answers “Internal Server Error” since this morning.",
        moves=(ESCALATE_EN,),
        language="en",
    ),
    Story(
        "client",
        "Сайт не открывается",
        "С 9:40 сайт отвечает «502 Bad Gateway», покупатели не могут оформить заказ.",
        moves=(ESCALATE, ("manager", "accident", {"comment": "Недоступен для всех: авария."})),
    ),
    Story(
        "client",
        "Отчёт по продажам строится 10 минут",
        "Раньше отчёт за месяц открывался за секунды, теперь ждём по 10 минут.",
        moves=(ESCALATE, ("manager", "incident", {"comment": "Деградация производительности."})),
    ),
    Story(
        "client2",
        "Please add a CSV export of invoices",
        "Our accountants need the invoices as CSV to load them into our ERP.",
        moves=(ESCALATE_EN, ("manager", "change_request", {"comment": "A new feature: change request."})),
        votes=(
            ("board1", "approve", "Полезно многим клиентам."),
            ("board2", "reject", "Дорого: лучше общий API."),
        ),
        language="en",
    ),
    Story(
        "client",
        "Нужна выгрузка заказов в 1С",
        "Хотим, чтобы заказы автоматически попадали в 1С:Бухгалтерию.",
        moves=(
            ESCALATE,
            ("manager", "change_request", {"comment": "Доработка: запрос на изменение."}),
            ("board1", "@vote", {"vote": "approve", "comment": "Частая просьба."}),
            ("board2", "@vote", {"vote": "approve", "comment": ""}),
            ("board3", "approve", {"comment": "Одобрено большинством."}),
        ),
    ),
    Story(
        "client",
        "Не сохраняется профиль компании",
        "Нажимаю «Сохранить» — страница перезагружается, изменения теряются.",
        moves=(
            ESCALATE,
            ("manager", "incident", {}),
            ("manager", "assign_developer", {"comment": "Похоже на ошибку валидации формы."}),
        ),
    ),
    Story(
        "client2",
        "Connect our warehouse system",
        "We would like orders to reach our warehouse system (WMS) automatically.",
        moves=(
            ESCALATE_EN,
            ("manager", "change_request", {}),
            ("board1", "@vote", {"vote": "approve", "comment": ""}),
            ("board3", "@vote", {"vote": "approve", "comment": "The contractor knows this WMS."}),
            ("board3", "approve", {}),
            ("manager", "plan", {"planned_effort": "24"}),
            ("manager", "assign_integrator", {"comment": "The contractor builds the connector."}),
        ),
        language="en",
    ),
    Story(
        "client",
        "Не проходит оплата картой",
        "При оплате картой страница банка выдаёт ошибку, заказы не оплачиваются.",
        moves=(
            ESCALATE,
            ("manager", "accident", {"comment": "Платежи не проходят ни у кого."}),
            ("manager", "assign_it", {}),
            ("itop", "done", {"comment": "Обновлён сертификат платёжного шлюза."}),
        ),
    ),
    Story(
        "client",
        "Забыл пароль, ссылка не приходит",
        "Нажимаю «Забыли пароль?», письмо не приходит.",
        moves=(("l1", "solve", {"comment": "Письмо попадало в спам, добавили адрес в белый список."}),),
    ),
    Story(
        "client2",
        "Discount code is not applied",
        "The code SPRING10 is accepted but the total does not change.",
        moves=(
            ESCALATE_EN,
            ("manager", "incident", {}),
            ("manager", "assign_developer", {}),
            ("developer", "done", {"comment": "Fixed the rounding of percentage discounts."}),
            ("tester", "failed", {"comment": "Still wrong for carts with one item."}),
            ("developer", "done", {"comment": "One-item carts fixed too."}),
            ("tester", "verified", {}),
            ("l1", "close", {"reply": "Fixed: discount codes now apply to every cart. Thank you!"}),
        ),
        language="en",
    ),
    Story(
        "client",
        "Хочу тёмную тему в личном кабинете",
        "Было бы удобно работать вечером с тёмной темой.",
        moves=(
            ESCALATE,
            ("manager", "change_request", {}),
            ("board1", "@vote", {"vote": "reject", "comment": "Не в этом квартале."}),
            ("board2", "@vote", {"vote": "reject", "comment": ""}),
            ("board1", "reject", {}),
        ),
    ),
    Story(
        "client",
        "Как поменять e-mail для уведомлений?",
        "Где в настройках меняется адрес для писем?",
        moves=(
            ("l1", "faq", {"reply": "Профиль → Уведомления → «Адрес для писем». Инструкция в базе знаний."}),
        ),
    ),
)


def workflow_demo(context: DemoContext) -> None:
    """Create the role users and, once, the process's demo tickets (the demo step of the support process)."""
    for person in ROLE_USERS:
        user = context.user_ensure(
            username=person.username,
            first_name=person.first_name,
            last_name=person.last_name,
            email=f"{person.username}@otklik.example",
            level=AccessLevel.STAFF,
            language=person.language,
            label=f"{AccessLevel.STAFF}, {person.role}",
        )
        role_member_add(role=person.role, user=user)
    if context.tickets <= 0 or version_for_new_tickets() is None:
        return
    with events.muted(events.PROCESS_MOVED):
        started = _adopt_open_tickets(context)
        if Move.objects.filter(actor__username__in=[p.username for p in ROLE_USERS]).exists():
            return
        made = _Stories(context).run()
    context.report.lines.append(
        f"Support process: {made} demo tickets moved through it; {started} open tickets started at the first line."
    )


def _adopt_open_tickets(context: DemoContext) -> int:
    """Start the process for the demo's open tickets that have none (their creation was muted)."""
    authors = [user.pk for user in context.users.values()]
    waiting = Ticket.objects.filter(
        closed_at__isnull=True, process__isnull=True, author_id__in=authors
    ).order_by("pk")
    count = 0
    for ticket in waiting.iterator():
        if workflow_start(ticket) is not None:
            count += 1
    return count


class _Stories:
    def __init__(self, context: DemoContext):
        self.users = context.users
        self.now = clock.now().replace(microsecond=0)

    def run(self) -> int:
        for index, story in enumerate(STORIES):
            # The stories started over the last three weeks, the later ones more recently.
            start = self.now - timedelta(days=21 - index, hours=3)
            self.play(story, start)
        return len(STORIES)

    def user(self, username: str) -> User:
        return self.users[username]

    def play(self, story: Story, at: datetime) -> None:
        with translation.override(story.language), clock.frozen(at):
            ticket = ticket_services.ticket_create(
                actor=self.user(story.author),
                draft=ticket_services.TicketDraft(title=story.title, message=story.message),
                via=Channel.WEB,
            )
            workflow_start(ticket)
        for actor, move, values in story.moves:
            at += timedelta(hours=5)
            with translation.override(story.language), clock.frozen(at):
                ticket = Ticket.objects.get(pk=ticket.pk)
                if move == "@vote":
                    workflow_vote(
                        actor=self.user(actor), ticket=ticket, vote=values["vote"], comment=values["comment"]
                    )
                else:
                    workflow_transition(actor=self.user(actor), ticket=ticket, transition=move, values=values)
        for voter, vote, comment in story.votes:
            at += timedelta(hours=2)
            with clock.frozen(at):
                workflow_vote(
                    actor=self.user(voter),
                    ticket=Ticket.objects.get(pk=ticket.pk),
                    vote=vote,
                    comment=comment,
                )
