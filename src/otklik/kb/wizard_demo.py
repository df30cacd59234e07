"""The demo support wizard: questions on the demo sections, their categories, the title and coupon asked.

Depth 3 on payments → card-payments → refunds, depth 2 on delivery → tracking / delivery-problems (and on
account → login-problems, errors → error-codes). Idempotent: a question is matched by its section and its
English label and left as an admin may have changed it; a missing section is created (the knowledge base's
own demo finds it by slug and parent and fills it in).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.kb.models import Question, Section
from otklik.kb.wizard_services import wizard_question_save, wizard_section_configure


@dataclass(frozen=True)
class Q:
    kind: str
    ru: str
    en: str
    choices: str = ""
    required: bool = False


@dataclass(frozen=True)
class S:
    path: tuple[str, ...]  # slugs from the top
    title_ru: str
    title_en: str
    description_ru: str = ""
    description_en: str = ""
    category: str = ""  # a category's code (dictionaries/seed.py)
    ask_title: bool = False
    ask_coupon: bool = False
    questions: tuple[Q, ...] = field(default=())


WIZARD: tuple[S, ...] = (
    S(
        ("payments",),
        "Оплата",
        "Payments",
        "Вопросы об оплате заказов: картой, по счёту, возвраты.",
        "Questions about paying for orders: by card, by invoice, refunds.",
        category="payment",
        questions=(
            Q(
                "radio",
                "Как вы оплачивали?",
                "How did you pay?",
                "Картой на сайте | Card on the website\nВ мобильном приложении | In the mobile app\n"
                "По счёту | By invoice",
                required=True,
            ),
        ),
    ),
    S(
        ("payments", "card-payments"),
        "Оплата картой",
        "Card payments",
        "Платёж проходит до 15 минут. Если банк отклонил оплату, попробуйте другую карту или **включите "
        "3-D Secure** в приложении банка.",
        "A payment takes up to 15 minutes. If the bank declined it, try another card or **turn on 3-D "
        "Secure** in your bank's app.",
        questions=(
            Q("select", "Платёжная система", "Card network", "Visa\nMastercard\nМир | Mir\nДругая | Other"),
            Q("checkbox", "Деньги списаны дважды", "The money was charged twice"),
        ),
    ),
    S(
        ("payments", "card-payments", "refunds"),
        "Возвраты",
        "Refunds",
        "Деньги за отменённый заказ возвращаются на карту за **3–10 рабочих дней**; срок зависит от банка.",
        "Money for a cancelled order returns to the card within **3-10 working days**, depending on the bank.",
        ask_title=True,
        ask_coupon=True,
        questions=(
            Q("text", "Номер заказа", "Order number", required=True),
            Q("multitext", "Товары к возврату", "Items to refund"),
            Q("textarea", "Что произошло", "What happened"),
        ),
    ),
    S(
        ("payments", "invoices"),
        "Счета",
        "Invoices",
        "Счёт для юридического лица можно скачать в личном кабинете, раздел «Заказы».",
        'A company\'s invoice can be downloaded in your account, under "Orders".',
        ask_title=True,
        questions=(Q("text", "Номер счёта", "Invoice number"),),
    ),
    S(
        ("delivery",),
        "Доставка",
        "Delivery",
        "Сроки, отслеживание и проблемы с доставкой заказа.",
        "Delivery times, tracking and problems with an order's delivery.",
        category="delivery",
        questions=(Q("text", "Номер заказа", "Order number", required=True),),
    ),
    S(
        ("delivery", "tracking"),
        "Отслеживание",
        "Tracking",
        "Трек-номер приходит в письме после отправки заказа; статус обновляется раз в сутки.",
        "The tracking number comes by mail once the order ships; its status updates once a day.",
        ask_title=True,
        questions=(
            Q("text", "Трек-номер", "Tracking number"),
            Q(
                "checkbox",
                "Статус не меняется больше трёх дней",
                "The status has not changed for over three days",
            ),
        ),
    ),
    S(
        ("delivery", "delivery-problems"),
        "Проблемы с доставкой",
        "Delivery problems",
        "Если посылка повреждена, сфотографируйте её при курьере и не подписывайте акт без отметки.",
        "If the parcel is damaged, photograph it in front of the courier and do not sign without a note.",
        ask_title=True,
        ask_coupon=True,
        questions=(
            Q(
                "radio",
                "Что случилось?",
                "What went wrong?",
                "Посылка повреждена | The parcel is damaged\nНе доставили | Not delivered\n"
                "Не тот товар | Wrong item",
                required=True,
            ),
            Q("textarea", "Подробности", "Details"),
        ),
    ),
    S(
        ("account",),
        "Учётная запись",
        "Account",
        "Вход, пароль, настройки профиля.",
        "Login, password, profile.",
    ),
    S(
        ("account", "login-problems"),
        "Не получается войти",
        "Login problems",
        "Сбросьте пароль по ссылке «Забыли пароль?» на странице входа.",
        'Reset your password with "Forgot your password?" on the login page.',
        ask_title=True,
        questions=(
            Q("text", "Логин или e-mail", "Login or e-mail", required=True),
            Q(
                "select",
                "Что вы видите?",
                "What do you see?",
                "Неверный пароль | Wrong password\nУчётная запись заблокирована | Account locked\n"
                "Не пришло письмо | No confirmation mail",
            ),
        ),
    ),
    S(
        ("errors",),
        "Ошибки",
        "Errors",
        "Сообщения об ошибках сайта.",
        "Error messages of the website.",
        category="errors",
    ),
    S(
        ("errors", "error-codes"),
        "Коды ошибок",
        "Error codes",
        "Код ошибки показан в нижней строке сообщения, например `E-1042`.",
        "The error code is on the message's last line, such as `E-1042`.",
        ask_title=True,
        questions=(
            Q("text", "Код ошибки", "Error code", required=True),
            Q("textarea", "Полный текст ошибки", "The full error text"),
        ),
    ),
)


def _section(spec: S, parent: Section | None) -> Section:
    section = Section.objects.filter(parent=parent, slug=spec.path[-1]).first()
    if section is not None:
        return section
    from otklik.kb.services import SectionInput, section_create

    return section_create(
        actor=None,
        data=SectionInput(
            slug=spec.path[-1],
            title_ru=spec.title_ru,
            title_en=spec.title_en,
            description_ru=spec.description_ru,
            description_en=spec.description_en,
            parent_id=parent.pk if parent else None,
            sort=100 + 10 * len(WIZARD),
        ),
    )


def wizard_demo(context=None) -> dict[str, int]:
    """Put the demo wizard's questions and mappings on the demo sections; return how many questions were made."""
    categories = {
        e.code: e for e in DictionaryEntry.objects.filter(kind=DictionaryKind.CATEGORY).exclude(code="")
    }
    by_path: dict[tuple[str, ...], Section] = {}
    made = 0
    for spec in WIZARD:
        parent = by_path.get(spec.path[:-1]) if len(spec.path) > 1 else None
        section = _section(spec, parent)
        by_path[spec.path] = section
        wizard_section_configure(
            section=section,
            category=categories.get(spec.category) if spec.category else section.category,
            ask_title=spec.ask_title,
            ask_coupon=spec.ask_coupon,
            in_wizard=section.in_wizard,
        )
        existing = set(Question.objects.filter(section=section).values_list("label_en", flat=True))
        for sort, q in enumerate(spec.questions, start=1):
            if q.en in existing:
                continue
            wizard_question_save(
                section=section,
                kind=q.kind,
                label_ru=q.ru,
                label_en=q.en,
                choices=q.choices,
                required=q.required,
                sort=sort * 10,
            )
            made += 1
    return {"questions": made}
