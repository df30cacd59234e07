"""The demo's content: people, the regulation's SLA table, frequent answers and ticket scenarios (ru/en)."""

from __future__ import annotations

from dataclasses import dataclass

from otklik.accounts.models import AccessLevel


# -- people ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    email: str
    level: str
    language: str = "ru"
    company: str = ""  # a client SupportGroup name
    login: bool = True  # False: no password (an author of demo tickets only)
    weight: int = 0  # how many tickets this client tends to file, relatively
    site: str = ""
    sla_group: str = ""  # a user group of SLA_GROUPS: a contract above the clients' standard level


ROMASHKA = "ООО «Ромашка»"
# User groups that give their members a level above the clients' standard one (F-06).
CLIENTS_OPERATIVE = "Clients: operative"
CLIENTS_VIP = "Clients: VIP"
PARTNERS_STANDARD = "Partners: standard"
PARTNERS_OPERATIVE = "Partners: operative"
SLA_GROUPS = (CLIENTS_OPERATIVE, CLIENTS_VIP, PARTNERS_STANDARD, PARTNERS_OPERATIVE)
NORTHWIND = "Northwind Trading Ltd"
# The regulation's Enterprise licence (F-21): a coupon for 15 special tickets a year.
ENTERPRISE = "АО «Глобус» (Enterprise)"
STAFF_TEAM = "Support team"

PEOPLE: tuple[Person, ...] = (
    Person("admin", "Анна", "Смирнова", "admin@otklik.example", AccessLevel.ADMIN),
    Person("staff", "Дмитрий", "Волков", "staff@otklik.example", AccessLevel.STAFF),
    Person("staff2", "Елена", "Кузнецова", "staff2@otklik.example", AccessLevel.STAFF, language="en"),
    Person("demo", "Демо", "Гость", "demo@otklik.example", AccessLevel.DEMO),
    Person(
        "client",
        "Иван",
        "Петров",
        "ivan.petrov@romashka.example",
        AccessLevel.CLIENT,
        company=ROMASHKA,
        weight=34,
        site="shop.romashka.example",
    ),
    Person(
        "client2",
        "John",
        "Smith",
        "john.smith@northwind.example",
        AccessLevel.CLIENT,
        language="en",
        company=NORTHWIND,
        weight=30,
        site="store.northwind.example",
        sla_group=CLIENTS_VIP,
    ),
    Person(
        "osokolova",
        "Ольга",
        "Соколова",
        "o.sokolova@romashka.example",
        AccessLevel.CLIENT,
        company=ROMASHKA,
        login=False,
        weight=12,
        site="shop.romashka.example",
    ),
    Person(
        "smorozov",
        "Сергей",
        "Морозов",
        "s.morozov@romashka.example",
        AccessLevel.CLIENT,
        company=ROMASHKA,
        login=False,
        weight=8,
        site="shop.romashka.example",
    ),
    Person(
        "eclark",
        "Emily",
        "Clark",
        "emily.clark@northwind.example",
        AccessLevel.CLIENT,
        language="en",
        company=NORTHWIND,
        login=False,
        weight=12,
        site="store.northwind.example",
        sla_group=CLIENTS_VIP,
    ),
    Person(
        "mivanova",
        "Мария",
        "Иванова",
        "maria.ivanova@mail.example",
        AccessLevel.CLIENT,
        login=False,
        weight=10,
        site="handmade-ivanova.example",
    ),
    Person(
        "anovikov",
        "Алексей",
        "Новиков",
        "a.novikov@tehnopark.example",
        AccessLevel.CLIENT,
        login=False,
        weight=10,
        site="tehnopark.example",
        sla_group=PARTNERS_STANDARD,
    ),
    Person(
        "pbrown",
        "Peter",
        "Brown",
        "peter.brown@brownbikes.example",
        AccessLevel.CLIENT,
        language="en",
        login=False,
        weight=10,
        site="brownbikes.example",
    ),
    Person("seo-promo", "SEO", "Promo", "promo@seo-top.example", AccessLevel.CLIENT, login=False),
    # No generated tickets (weight 0): the Enterprise client files special ones with the demo coupon.
    Person(
        "vip",
        "Виктор",
        "Орлов",
        "v.orlov@globus.example",
        AccessLevel.CLIENT,
        company=ENTERPRISE,
        site="globus.example",
    ),
)
# Every login the demo prints a password for.
LOGIN_USERNAMES = tuple(p.username for p in PEOPLE if p.login)
CLIENT_COMPANIES = {
    ROMASHKA: "Клиент: интернет-магазин товаров для дома.",
    NORTHWIND: "Client: a UK wholesale trading company.",
    ENTERPRISE: "Клиент с лицензией Enterprise: 15 спецобращений в год (24/7, ответ за 1 час).",
}
# The Enterprise licence's coupon (F-21): 15 special tickets on this SLA level, valid one year.
ENTERPRISE_COUPON_SLA = "special"
ENTERPRISE_COUPON_USES = 15
ENTERPRISE_COUPON_DAYS = 365
ENTERPRISE_COUPON_NOTE = "Enterprise licence: АО «Глобус» (vip)"


# -- the regulation's timetables (F-07) and SLA table (F-06) ---------------------------------
WORKDAYS_TIMETABLE = "msk-workdays-10-19"
AROUND_THE_CLOCK_TIMETABLE = "24x7"
HOUR = 3600


@dataclass(frozen=True)
class TimetableRow:
    code: str
    name_ru: str
    name_en: str
    week: tuple[tuple[tuple[int, int], ...], ...]  # Monday first, [start, end] seconds from midnight
    calendar_years: tuple[int, ...] = ()  # years of the bundled production calendar to apply


TIMETABLES: tuple[TimetableRow, ...] = (
    TimetableRow(
        WORKDAYS_TIMETABLE,
        "Пн–пт 10:00–19:00 МСК",
        "Mon–Fri 10:00–19:00 Moscow time",
        ((((10 * HOUR, 19 * HOUR),),) * 5) + ((), ()),
        # Russian public holidays, transferred working days and short pre-holiday days (the regulation).
        calendar_years=(2024, 2025, 2026),
    ),
    TimetableRow(
        AROUND_THE_CLOCK_TIMETABLE,
        "Круглосуточно",
        "Around the clock (24/7)",
        (((0, 24 * HOUR),),) * 7,
    ),
)


@dataclass(frozen=True)
class SlaRow:
    code: str
    name_ru: str
    name_en: str
    hours: int
    priority: int
    description_ru: str
    description_en: str
    is_default: bool = False
    for_clients: bool = False  # the level of every support client (the clients' access group)
    group: str = ""  # or of the members of this user group
    timetable: str = WORKDAYS_TIMETABLE


# The priority follows the response time: a partner is a support client too, so the partners' levels
# must outrank the clients' standard one, or the choice (highest priority wins) would give them 6 hours.
SLA_TABLE: tuple[SlaRow, ...] = (
    SlaRow(
        "noncommercial",
        "Некоммерческий",
        "Non-commercial",
        24,
        10,
        "Ответ в течение 24 рабочих часов (пн–пт 10:00–19:00 МСК).",
        "Answer within 24 working hours (Mon–Fri 10:00–19:00 Moscow time).",
        is_default=True,
    ),
    SlaRow(
        "clients-standard",
        "Клиенты: стандартный",
        "Clients: standard",
        6,
        40,
        "Ответ в течение 6 рабочих часов (пн–пт 10:00–19:00 МСК).",
        "Answer within 6 working hours.",
        for_clients=True,
    ),
    SlaRow(
        "clients-operative",
        "Клиенты: оперативный",
        "Clients: operative",
        4,
        50,
        "Ответ в течение 4 рабочих часов.",
        "Answer within 4 working hours.",
        group=CLIENTS_OPERATIVE,
    ),
    SlaRow(
        "clients-vip",
        "Клиенты: VIP",
        "Clients: VIP",
        2,
        60,
        "Ответ в течение 2 рабочих часов.",
        "Answer within 2 working hours.",
        group=CLIENTS_VIP,
    ),
    SlaRow(
        "partners-standard",
        "Партнёры: стандартный",
        "Partners: standard",
        5,
        45,
        "Ответ в течение 5 рабочих часов.",
        "Answer within 5 working hours.",
        group=PARTNERS_STANDARD,
    ),
    SlaRow(
        "partners-operative",
        "Партнёры: оперативный",
        "Partners: operative",
        3,
        55,
        "Ответ в течение 3 рабочих часов.",
        "Answer within 3 working hours.",
        group=PARTNERS_OPERATIVE,
    ),
    SlaRow(
        "special",
        "Спецобращения",
        "Special tickets",
        1,
        70,
        "Ответ в течение 1 часа круглосуточно, 7 дней в неделю (купон Enterprise).",
        "Answer within 1 hour, 24/7 (Enterprise coupon).",
        # No group: only a coupon gives this level (F-21).
        timetable=AROUND_THE_CLOCK_TIMETABLE,
    ),
)


def reminder_minutes(hours: int) -> int:
    """Remind the responsible a quarter of the response time before the deadline, at most an hour."""
    return min(60, hours * 15)


# -- frequent answers (F-05) ----------------------------------------------------------------
# (code, name_ru, name_en, text_ru, text_en)
FREQUENT_ANSWERS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "greeting_details",
        "Нужны подробности",
        "Need more details",
        "Здравствуйте! Чтобы разобраться, пришлите, пожалуйста: адрес страницы, точное время ошибки, полный "
        "текст ошибки или снимок экрана и что вы делали перед её появлением.",
        "Hello! To look into this, please send us the page address, the exact time of the error, the full "
        "error text or a screenshot, and what you did just before it appeared.",
    ),
    (
        "clear_cache",
        "Очистить кеш",
        "Clear the cache",
        "Пожалуйста, очистите кеш сайта (Настройки → Производительность → Очистить кеш) и кеш браузера "
        "(Ctrl+F5), затем повторите действие и сообщите результат.",
        "Please clear the site cache (Settings → Performance → Clear cache) and your browser cache "
        "(Ctrl+F5), then try again and tell us the result.",
    ),
    (
        "payment_check",
        "Проверяем платёж",
        "Checking the payment",
        "Мы запросили у платёжного шлюза статус операции. Обычно проверка занимает до одного рабочего дня; "
        "мы напишем, как только получим ответ.",
        "We have asked the payment gateway for the status of the transaction. The check usually takes up to "
        "one working day; we will write as soon as we hear back.",
    ),
    (
        "delivery_status",
        "Статус доставки",
        "Delivery status",
        "Мы связались со службой доставки. Отследить посылку можно по трек-номеру на сайте перевозчика; "
        "если статус не изменится в течение двух дней, напишите нам.",
        "We have contacted the carrier. You can follow the parcel by its tracking number on the carrier's "
        "site; if the status does not change within two days, please write to us.",
    ),
    (
        "split_ticket",
        "Одна проблема — одно обращение",
        "One problem per ticket",
        "Пожалуйста, создавайте отдельное обращение на каждую проблему: так мы ответим быстрее и ничего не "
        "потеряем. Второй вопрос мы вынесли в новое обращение.",
        "Please open a separate ticket for each problem: this way we answer faster and nothing gets lost. "
        "We have moved your second question into a new ticket.",
    ),
    (
        "closing_no_reply",
        "Закрываем без ответа",
        "Closing for no reply",
        "Мы не получили от вас ответа, поэтому закрываем обращение. Если вопрос остался, просто откройте его "
        "снова или ответьте на это сообщение.",
        "We have not heard back from you, so we are closing this ticket. If the question remains, just reopen "
        "it or reply to this message.",
    ),
)


# -- ticket scenarios ------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """One kind of problem: the opening message and the conversation it usually leads to."""

    lang: str
    category: str  # dictionary code
    criticality: str  # dictionary code the client usually picks
    titles: tuple[str, ...]
    body: str
    question: str  # support's clarifying question
    clarification: str  # the client's answer to it
    note: str  # a hidden note between staff
    answer: str  # the solution
    thanks: str  # the client's last word
    attachment: str = ""  # "log", "png" or "pdf": a file the client attaches to the opening message
    prompts: tuple[str, str, str, str] | None = None  # the regulation's four prompts (F-12)


SCENARIOS: tuple[Scenario, ...] = (
    # Russian: errors
    Scenario(
        "ru",
        "errors",
        "high",
        ("Ошибка 500 при оформлении заказа", "После обновления корзина отдаёт ошибку 500"),
        "Здравствуйте! С сегодняшнего утра при нажатии «Оформить заказ» покупатели видят страницу с ошибкой "
        "500. Заказ №{order} так и не создался. Вчера вечером обновляли модуль интернет-магазина до версии "
        "{version}. Сайт: {site}.",
        "Здравствуйте, {name}! Пришлите, пожалуйста, точное время последней ошибки и фрагмент журнала ошибок "
        "сервера за это время.",
        "Последний раз ошибка была в {time}. Фрагмент журнала прикладываю.",
        "В журнале исчерпание памяти в обработчике скидок — известная проблема версии {version}, исправлена в "
        "следующем выпуске.",
        "Причина — нехватка памяти при расчёте скидок в версии {version}. Установите последнее обновление "
        "(Настройки → Обновления) и увеличьте memory_limit до 256M. После этого заказы оформляются.",
        "Обновили — заказы снова оформляются. Спасибо за быструю помощь!",
        attachment="log",
        prompts=(
            "Посмотрел раздел FAQ и описание обновления",
            "Очистил кеш, отключил композитный режим",
            "Заказ оформляется, покупатель видит страницу «Спасибо за заказ»",
            "500 Internal Server Error. Fatal error: Allowed memory size of 134217728 bytes exhausted",
        ),
    ),
    Scenario(
        "ru",
        "errors",
        "middle",
        ("Не приходят письма о новых заказах", "Менеджеры перестали получать уведомления о заказах"),
        "Добрый день. Уже третий день на почту менеджеров не приходят уведомления о новых заказах, хотя "
        "заказы в админке появляются. Спам-папку проверили. Сайт {site}.",
        "Здравствуйте, {name}! Уточните, пожалуйста, приходят ли с сайта другие письма (регистрация, "
        "восстановление пароля)? И на какой адрес должны приходить уведомления?",
        "Другие письма тоже не приходят. Уведомления должны идти на orders@{site}.",
        "Почтовый сервер клиента отвергает письма: у домена нет SPF-записи для нашего SMTP.",
        "Письма отвергает ваш почтовый сервер: для домена не настроена SPF-запись. Добавьте в DNS запись "
        "TXT «v=spf1 include:_spf.otklik.example ~all» — через час-два после обновления DNS письма пойдут.",
        "Добавили запись, письма пошли. Спасибо!",
    ),
    Scenario(
        "ru",
        "errors",
        "middle",
        ("Сайт очень медленно открывается", "Страницы каталога грузятся по 10–15 секунд"),
        "Здравствуйте! Последнюю неделю страницы каталога на {site} открываются по 10–15 секунд, главная — "
        "около 5 секунд. Покупатели жалуются, конверсия упала.",
        "Здравствуйте, {name}! Включите, пожалуйста, на час отладку производительности и пришлите снимок "
        "экрана со сводкой по самой медленной странице.",
        "Снимок прикладываю. Больше всего времени уходит на компонент фильтра каталога.",
        "Фильтр строит фасетный индекс на лету — индекс не создан после импорта 20 тысяч товаров.",
        "Медленно работает умный фильтр: после импорта товаров не был пересоздан фасетный индекс. Пересоздайте "
        "его (Каталог → Фасетный индекс → Пересоздать) — страницы каталога будут открываться за доли секунды.",
        "Пересоздали индекс — каталог летает. Благодарю!",
        attachment="png",
    ),
    Scenario(
        "ru",
        "errors",
        "high",
        ("Не могу войти в панель администратора", "Вход в админку: «Неверный логин или пароль»"),
        "Здравствуйте. Не получается войти в панель управления сайтом {site}: пишет «Неверный логин или "
        "пароль», хотя пароль точно верный. Восстановление пароля письмо не присылает.",
        "Здравствуйте, {name}! С какого адреса и в какое время вы пытались войти? Не меняли ли вы недавно "
        "настройки безопасности?",
        "Пытался с рабочего компьютера около {time}. Вчера включали в настройках защиту от перебора паролей.",
        "После пяти неудачных попыток учётная запись заблокирована на сутки — включена защита от перебора.",
        "Учётная запись временно заблокирована защитой от перебора паролей после нескольких неудачных попыток. "
        "Мы сняли блокировку; войдите, пожалуйста, снова и смените пароль.",
        "Вошёл, всё работает. Спасибо!",
    ),
    Scenario(
        "ru",
        "errors",
        "low",
        ("Не отображаются картинки товаров", "Вместо фото товаров — пустые квадраты"),
        "Добрый день! После переезда на новый хостинг на {site} у части товаров вместо фотографий пустые "
        "квадраты. В админке картинки есть.",
        "Здравствуйте, {name}! Пришлите, пожалуйста, ссылку на товар без картинки и снимок экрана.",
        "Например, товар с артикулом {order}. Снимок экрана во вложении.",
        "Права на папку upload после переезда 0700 — веб-сервер не может читать файлы.",
        "После переезда у папки upload неверные права доступа: веб-сервер не может читать файлы. Выставьте "
        "права 0755 на каталоги и 0644 на файлы — картинки появятся.",
        "Поменяли права, картинки на месте. Спасибо!",
        attachment="png",
    ),
    # Russian: order payment
    Scenario(
        "ru",
        "payment",
        "high",
        ("Оплата картой не проходит", "Покупатели не могут оплатить заказ картой"),
        "Здравствуйте! С {time} покупатели не могут оплатить заказы картой: после ввода данных карты их "
        "возвращает на сайт с сообщением «Платёж отклонён». Например, заказ №{order} на {amount} ₽.",
        "Здравствуйте, {name}! Проверьте, пожалуйста, в личном кабинете платёжной системы, не истёк ли срок "
        "действия ключа и видите ли вы там отклонённые платежи.",
        "В кабинете платежей нет вообще. Ключ действует до конца года.",
        "Шлюз отвечает 401: после смены пароля магазина в кабинете платёжной системы не обновили секретный "
        "ключ в настройках платёжной системы на сайте.",
        "Сайт передаёт в платёжную систему устаревший секретный ключ — его перевыпустили при смене пароля в "
        "личном кабинете. Скопируйте новый ключ в настройки платёжной системы (Магазин → Платёжные системы) "
        "и сохраните. Мы проверили тестовый платёж — проходит.",
        "Обновили ключ, оплата работает. Спасибо!",
    ),
    Scenario(
        "ru",
        "payment",
        "middle",
        ("Двойное списание по заказу №{order}", "С карты покупателя списали деньги дважды"),
        "Добрый день. Покупатель сообщил, что за заказ №{order} с его карты списали {amount} ₽ дважды. В "
        "заказе отмечена одна оплата. Что делать?",
        "Здравствуйте, {name}! Пришлите, пожалуйста, выписку или снимок экрана из банковского приложения "
        "покупателя с обоими списаниями.",
        "Прикладываю выписку покупателя.",
        "Второе списание — повторная авторизация после таймаута, она должна отмениться банком сама.",
        "Второе списание — это блокировка суммы при повторной попытке оплаты, а не оплата. Банк снимет её "
        "автоматически в течение 3–5 рабочих дней. Если деньги не вернутся, напишите нам — оформим возврат "
        "вручную.",
        "Деньги покупателю вернулись. Вопрос решён.",
        attachment="pdf",
    ),
    Scenario(
        "ru",
        "payment",
        "low",
        ("Как подключить оплату через СБП?", "Подключение Системы быстрых платежей"),
        "Здравствуйте! Хотим принимать оплату через СБП по QR-коду. Поддерживает ли это ваш модуль и что "
        "нужно сделать?",
        "Здравствуйте, {name}! Подскажите, какой банк обслуживает ваш расчётный счёт? От этого зависит "
        "способ подключения.",
        "Счёт в банке «Развитие», договор эквайринга с ним же.",
        "У банка «Развитие» есть готовый обработчик СБП в нашем модуле, с версии 23.0.",
        "Модуль поддерживает СБП через ваш банк. Добавьте платёжную систему «СБП (QR-код)» в разделе "
        "Магазин → Платёжные системы, укажите идентификатор ТСП из договора с банком и включите её для нужных "
        "способов доставки.",
        "Подключили, первые оплаты прошли. Спасибо за инструкцию!",
    ),
    Scenario(
        "ru",
        "payment",
        "low",
        ("Нужен акт за оплату счёта №{invoice}", "Закрывающие документы за продление лицензии"),
        "Добрый день. Оплатили счёт №{invoice} на {amount} ₽ за продление лицензии, но закрывающих "
        "документов (акт, счёт-фактура) пока нет. Пришлите, пожалуйста.",
        "Здравствуйте, {name}! Уточните, пожалуйста, юридическое лицо и адрес для отправки оригиналов.",
        "Юрлицо и адрес — как в реквизитах счёта. Сканы можно прислать на почту.",
        "Бухгалтерия подтвердила оплату, документы формируются в ЭДО.",
        "Документы отправлены через систему электронного документооборота, оригиналы — почтой по адресу из "
        "реквизитов. Сканы прикладываем к обращению.",
        "Получили, спасибо.",
    ),
    # Russian: order delivery
    Scenario(
        "ru",
        "delivery",
        "middle",
        ("Не рассчитывается доставка в г. {city}", "Стоимость доставки в г. {city} показывается как 0 ₽"),
        "Здравствуйте! При оформлении заказа с доставкой в г. {city} стоимость доставки не рассчитывается — "
        "показывается 0 ₽ или «Ошибка расчёта». В Москву и Санкт-Петербург считает нормально.",
        "Здравствуйте, {name}! Какая служба доставки выбрана и какой вес у товара, на котором вы проверяли?",
        "Служба — «Почта», вес 2,5 кг. Проверяли на заказе №{order}.",
        "У товаров не заполнены габариты, а служба без габаритов не считает межрегиональную доставку.",
        "Служба доставки не рассчитывает межрегиональную доставку, если у товара не указаны габариты. "
        "Заполните длину, ширину и высоту в карточках товаров (или задайте габариты по умолчанию в "
        "настройках службы) — расчёт заработает.",
        "Задали габариты по умолчанию — считает. Спасибо!",
    ),
    Scenario(
        "ru",
        "delivery",
        "high",
        ("Заказ №{order} не доставлен в срок", "Покупатель не получил заказ №{order}"),
        "Добрый день. Покупатель из г. {city} не получил заказ №{order}: срок доставки прошёл пять дней "
        "назад, статус у перевозчика не меняется. Трек-номер {track}.",
        "Здравствуйте, {name}! Мы запросили перевозчика. Подскажите, передавал ли склад посылку курьеру и "
        "есть ли акт приёма-передачи?",
        "Да, акт есть, посылку забрали {date}.",
        "Перевозчик подтвердил: посылка застряла на сортировочном центре, переотправят завтра.",
        "Перевозчик подтвердил задержку на сортировочном центре. Посылку отправили дальше, ожидаемая дата "
        "доставки — через два дня. Трек-номер прежний.",
        "Покупатель получил заказ. Спасибо!",
    ),
    Scenario(
        "ru",
        "delivery",
        "low",
        ("Как изменить адрес доставки в оформленном заказе?", "Смена адреса доставки после оформления"),
        "Здравствуйте! Покупатель ошибся в адресе при оформлении заказа №{order}. Как поменять адрес, если "
        "заказ уже оформлен, но ещё не отгружен?",
        "Здравствуйте, {name}! Заказ уже передан в службу доставки или ещё на складе?",
        "Ещё на складе.",
        "Стандартный случай: редактирование заказа до отгрузки.",
        "Пока заказ не отгружен, адрес можно изменить в карточке заказа: Магазин → Заказы → заказ → "
        "«Изменить», блок «Доставка». Стоимость доставки пересчитается автоматически.",
        "Получилось, спасибо!",
    ),
    # English: errors
    Scenario(
        "en",
        "errors",
        "high",
        ("Checkout returns HTTP 500 after the update", "Customers get an error 500 on checkout"),
        'Hello, since this morning customers get an HTTP 500 error page when they press "Place order" on '
        "{site}. Order #{order} was never created. We updated the store module to {version} last night.",
        "Hello {name}, please send us the exact time of the last error and the server error log around it.",
        "The last one was at {time}. The log is attached.",
        "Memory exhaustion in the discount calculation: the known issue of {version}, fixed in the next "
        "release.",
        "The discount calculation of version {version} runs out of memory. Please install the latest update "
        "(Settings → Updates) and raise memory_limit to 256M; checkout works again after that.",
        "Updated, orders are coming in again. Thanks for the quick help!",
        attachment="log",
        prompts=(
            "The FAQ and the release notes",
            "Cleared the cache, disabled the composite mode",
            "The order is placed and the customer sees the thank-you page",
            "500 Internal Server Error. Fatal error: Allowed memory size of 134217728 bytes exhausted",
        ),
    ),
    Scenario(
        "en",
        "errors",
        "middle",
        ("Password reset e-mails are not delivered", "Customers do not receive password reset links"),
        "Hi, several customers told us they never receive the password reset e-mail from {site}. Order "
        "confirmations seem to arrive, though. Could you check?",
        "Hello {name}, could you tell us one of the affected addresses and roughly when the customer asked "
        "for the reset?",
        "For example a customer at a gmail.com address, today at {time}.",
        "The reset template still uses the old sender address, which fails DMARC at Gmail.",
        "The password reset template still sends from an old sender address that fails DMARC checks, so Gmail "
        'drops it. Change the sender in Settings → Mail templates → "Password reset" to the shop\'s address; '
        "we tested it and the mail now arrives.",
        "Fixed the template, customers get their links now. Thanks!",
    ),
    Scenario(
        "en",
        "errors",
        "low",
        ("Product images are not displayed", "Broken images in the catalogue"),
        "Hello, after moving {site} to a new server some product pages show broken images instead of photos. "
        "The files are there in the admin panel.",
        "Hello {name}, please send a link to one affected product and a screenshot.",
        "Item {order} for example, screenshot attached.",
        "The upload directory lost its permissions during the move (0700).",
        "The upload directory has the wrong permissions after the move, so the web server cannot read the "
        "files. Set 0755 on directories and 0644 on files and the images come back.",
        "Permissions fixed and the images are back. Thank you!",
        attachment="png",
    ),
    Scenario(
        "en",
        "errors",
        "middle",
        ("Site search returns no results", "Search finds nothing after the import"),
        "Hi, since we imported the new price list yesterday, the search on {site} returns nothing, even for "
        "product names copied from the catalogue.",
        'Hello {name}, did the import run with the "update search index" option?',
        "I don't think so, we used the default import settings.",
        "The search index was not rebuilt after a bulk import of 12k items.",
        "The search index was not rebuilt after the bulk import. Run Settings → Search → Reindex (it takes a "
        'few minutes for your catalogue) and tick "update search index" for future imports.',
        "Reindexed, search works. Thanks!",
    ),
    # English: order payment
    Scenario(
        "en",
        "payment",
        "high",
        ("Card payments declined for every customer", "Payment gateway rejects all cards"),
        "Hello, since {time} every card payment on {site} is declined and the customer is sent back with "
        '"Payment rejected". Order #{order} for £{amount} is one example.',
        "Hello {name}, please check in the payment provider's dashboard whether the declined attempts show up "
        "there at all.",
        "There is nothing in the dashboard, no attempts at all.",
        "The gateway answers 401: the secret key was rotated in the provider's dashboard but not on the site.",
        "The site still sends the old secret key, which was rotated when the password of the provider's "
        "account was changed. Paste the new key into Store → Payment systems and save; our test payment went "
        "through.",
        "New key in place, payments work. Thank you!",
    ),
    Scenario(
        "en",
        "payment",
        "middle",
        ("Customer charged twice for order #{order}", "Double charge on order #{order}"),
        "Hi, a customer says their card was charged £{amount} twice for order #{order}, while the order shows "
        "a single payment. What should we do?",
        "Hello {name}, please send the customer's bank statement or a screenshot showing both charges.",
        "The statement is attached.",
        "The second charge is a pre-authorisation from the retry after a timeout; the bank releases it.",
        "The second charge is a hold from the repeated payment attempt, not a payment; the bank releases it "
        "within 3–5 working days. If it is not released, tell us and we will refund it manually.",
        "The customer got the money back. Solved.",
        attachment="pdf",
    ),
    Scenario(
        "en",
        "payment",
        "low",
        ("Invoice {invoice} shows the wrong VAT", "Wrong VAT rate on our invoice"),
        "Hello, invoice {invoice} for the licence renewal (£{amount}) shows 20% VAT, but we are VAT-registered "
        "in Ireland and should be reverse-charged. Could you reissue it?",
        "Hello {name}, please confirm your VAT number so that accounting can reissue the invoice.",
        "Our VAT number is IE{order}.",
        "Accounting confirmed the VAT number in VIES; reissuing with reverse charge.",
        "Accounting has reissued the invoice with the reverse charge; the corrected PDF is attached to this "
        "ticket and the old invoice is cancelled.",
        "Received, thanks.",
    ),
    # English: order delivery
    Scenario(
        "en",
        "delivery",
        "middle",
        ("Shipping cost is not calculated for {city}", "Shipping shows £0 for {city}"),
        'Hello, when a customer from {city} checks out, the shipping cost shows £0 or "calculation error". '
        "London addresses work fine.",
        "Hello {name}, which carrier is selected and what is the weight of the item you tested with?",
        "Royal Mail, 2.5 kg, order #{order}.",
        "Items have no dimensions; the carrier API refuses out-of-zone quotes without them.",
        "The carrier cannot quote deliveries outside the local zone when items have no dimensions. Fill in the "
        "dimensions of your items or set default dimensions in the carrier's settings and the cost is "
        "calculated.",
        "Default dimensions set, works now. Thank you!",
    ),
    Scenario(
        "en",
        "delivery",
        "high",
        ("Order #{order} still not delivered", "Customer never received order #{order}"),
        "Hi, a customer in {city} has not received order #{order}: the delivery date passed five days ago and "
        "the carrier's status has not changed. Tracking number {track}.",
        "Hello {name}, we have asked the carrier. Did the warehouse hand the parcel over and do you have the "
        "collection receipt?",
        "Yes, it was collected on {date}, we have the receipt.",
        "The carrier confirmed: the parcel is stuck in the hub, it goes out tomorrow.",
        "The carrier confirmed a delay at their hub; the parcel is on its way again and should arrive within "
        "two days. The tracking number stays the same.",
        "The customer has the parcel. Thanks!",
    ),
    Scenario(
        "en",
        "delivery",
        "low",
        ("Tracking numbers are not sent to customers", "Customers do not get tracking e-mails"),
        "Hello, our customers do not receive the e-mail with the tracking number after we mark an order as "
        "shipped on {site}. How can we switch it on?",
        'Hello {name}, do you enter the tracking number before or after changing the status to "Shipped"?',
        "Usually after changing the status.",
        "The tracking e-mail fires on status change only when the tracking number is already set.",
        "The e-mail is sent when the status changes, and only if the tracking number is already filled in. "
        'Enter the tracking number first, then change the status — or switch on "send when the tracking '
        'number is added" in the store settings.',
        "Switched the setting on, customers get their e-mails. Thanks!",
    ),
)

SPAM: dict[str, tuple[str, str]] = {
    "ru": (
        "Продвижение сайта в ТОП-10 за 7 дней!!!",
        "Здравствуйте! Выведем ваш сайт в ТОП-10 поисковиков за 7 дней. Гарантия результата, оплата после. "
        "Пишите нам, скидка 50% только сегодня!",
    ),
    "en": (
        "Increase your website traffic by 300%",
        "Dear site owner, we can boost your traffic by 300% in one week with our guaranteed SEO package. "
        "Reply now to get a 50% discount!",
    ),
}

# Lines that fit any conversation.
GENERIC = {
    "ru": {
        "chase": (
            "Есть новости по обращению?",
            "Подскажите, пожалуйста, когда ждать ответа?",
            "Вопрос всё ещё актуален, ждём ответа.",
        ),
        "wait": (
            "Передали вопрос разработчикам, ответим до конца рабочего дня.",
            "Проверяем, вернёмся с ответом в течение дня.",
        ),
        "reopen": (
            "Открываю обращение снова: вопрос решён не до конца.",
            "Вопрос снова актуален, посмотрите, пожалуйста, ещё раз.",
        ),
        "followup": (
            "Спасибо, но сделали, как вы написали, а результат прежний.",
            "Не совсем понятно, что именно нужно сделать. Можно подробнее?",
            "Спасибо. А можно ли сделать так, чтобы это не повторялось?",
        ),
        "postponed": "Ждём выхода исправления в следующем обновлении; обращение отложено до релиза.",
        "spam_note": "Похоже на рекламную рассылку, отмечаю как возможный спам.",
        "signature": "\n\n— {staff}, служба поддержки",
        "unsolvable": "К сожалению, это ограничение платформы, решить его в текущей версии нельзя. Мы передали "
        "пожелание в план развития.",
        "escalate": "Передаю обращение коллеге ({other}): нужен доступ к серверу клиента.",
    },
    "en": {
        "chase": (
            "Any news on this?",
            "Could you tell us when to expect an answer?",
            "This is still an issue for us, waiting for your reply.",
        ),
        "wait": (
            "We have passed this to our developers and will answer by the end of the working day.",
            "We are checking and will come back to you within the day.",
        ),
        "reopen": (
            "Reopening: this is not fully solved yet.",
            "This is an issue again, please have another look.",
        ),
        "followup": (
            "Thanks, we did as you wrote, but nothing has changed.",
            "It is not quite clear what exactly we should do. Could you explain in more detail?",
            "Thanks. Is there a way to make sure this does not happen again?",
        ),
        "postponed": "Waiting for the fix in the next update; the ticket is postponed until the release.",
        "spam_note": "Looks like advertising, marking it as possible spam.",
        "signature": "\n\n— {staff}, Support team",
        "unsolvable": "Unfortunately this is a limitation of the platform and cannot be solved in the current "
        "version. We have passed it on as a feature request.",
        "escalate": "Handing over to {other}: this needs access to the client's server.",
    },
}
CITIES = {
    "ru": ("Казань", "Екатеринбург", "Новосибирск", "Самара", "Владивосток", "Калининград", "Пермь"),
    "en": ("Manchester", "Leeds", "Bristol", "Dublin", "Edinburgh", "Cardiff", "Belfast"),
}
STAFF_LOGINS = ("staff", "staff2", "admin")
# How the staff sign English answers.
STAFF_LATIN_NAMES = {"admin": "Anna", "staff": "Dmitry", "staff2": "Elena"}
