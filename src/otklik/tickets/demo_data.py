"""Demo data: users of every role, the regulation's SLA table, frequent answers and realistic tickets.

`demo_load()` is idempotent: users, groups, SLA levels and answers are created only when missing, and
the tickets only when no demo ticket exists yet. Tickets are written through the ticket services with
the clock frozen at each step, so their history, counters and search text are exactly what real use
would produce. The content is deterministic (a seeded random generator); only the passwords are random.
"""

from __future__ import annotations

import io
import random
import secrets
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import translation

from otklik.accounts.models import AccessLevel, SupportGroup
from otklik.accounts.services import access_groups_ensure, support_group_add_member, user_create
from otklik.core import clock
from otklik.sla.models import SlaLevel
from otklik.tickets import services
from otklik.tickets.models import Channel, DictionaryEntry, DictionaryKind, SpamState, Ticket

DEFAULT_TICKETS = 200
DEFAULT_SEED = 20240917
DAYS_BACK = 60
MOSCOW = ZoneInfo("Europe/Moscow")


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


ROMASHKA = "ООО «Ромашка»"
NORTHWIND = "Northwind Trading Ltd"
STAFF_TEAM = "Support team"

PEOPLE: tuple[Person, ...] = (
    Person("admin", "Анна", "Смирнова", "admin@otklik.example", AccessLevel.ADMIN),
    Person("staff", "Дмитрий", "Волков", "staff@otklik.example", AccessLevel.STAFF),
    Person("staff2", "Елена", "Кузнецова", "staff2@otklik.example", AccessLevel.STAFF, language="en"),
    Person("demo", "Демо", "Гость", "demo@otklik.example", AccessLevel.DEMO),
    Person("client", "Иван", "Петров", "ivan.petrov@romashka.example", AccessLevel.CLIENT,
           company=ROMASHKA, weight=34, site="shop.romashka.example"),
    Person("client2", "John", "Smith", "john.smith@northwind.example", AccessLevel.CLIENT, language="en",
           company=NORTHWIND, weight=30, site="store.northwind.example"),
    Person("osokolova", "Ольга", "Соколова", "o.sokolova@romashka.example", AccessLevel.CLIENT,
           company=ROMASHKA, login=False, weight=12, site="shop.romashka.example"),
    Person("smorozov", "Сергей", "Морозов", "s.morozov@romashka.example", AccessLevel.CLIENT,
           company=ROMASHKA, login=False, weight=8, site="shop.romashka.example"),
    Person("eclark", "Emily", "Clark", "emily.clark@northwind.example", AccessLevel.CLIENT, language="en",
           company=NORTHWIND, login=False, weight=12, site="store.northwind.example"),
    Person("mivanova", "Мария", "Иванова", "maria.ivanova@mail.example", AccessLevel.CLIENT,
           login=False, weight=10, site="handmade-ivanova.example"),
    Person("anovikov", "Алексей", "Новиков", "a.novikov@tehnopark.example", AccessLevel.CLIENT,
           login=False, weight=10, site="tehnopark.example"),
    Person("pbrown", "Peter", "Brown", "peter.brown@brownbikes.example", AccessLevel.CLIENT, language="en",
           login=False, weight=10, site="brownbikes.example"),
    Person("seo-promo", "SEO", "Promo", "promo@seo-top.example", AccessLevel.CLIENT, login=False),
)
# Every login the demo prints a password for.
LOGIN_USERNAMES = tuple(p.username for p in PEOPLE if p.login)
CLIENT_COMPANIES = {
    ROMASHKA: "Клиент: интернет-магазин товаров для дома.",
    NORTHWIND: "Client: a UK wholesale trading company.",
}


# -- the regulation's SLA table (F-06) ------------------------------------------------------
@dataclass(frozen=True)
class SlaRow:
    name: str
    hours: int
    priority: int
    description: str
    is_default: bool = False
    for_clients: bool = False


SLA_TABLE: tuple[SlaRow, ...] = (
    SlaRow("Некоммерческий · Non-commercial", 24, 10,
           "Ответ в течение 24 рабочих часов (пн–пт 10:00–19:00 МСК). / Answer within 24 working hours "
           "(Mon–Fri 10:00–19:00 Moscow time).", is_default=True),
    SlaRow("Клиенты: стандартный · Clients: standard", 6, 40,
           "Ответ в течение 6 рабочих часов (пн–пт 10:00–19:00 МСК). / Answer within 6 working hours.",
           for_clients=True),
    SlaRow("Клиенты: оперативный · Clients: operative", 4, 50,
           "Ответ в течение 4 рабочих часов. / Answer within 4 working hours."),
    SlaRow("Клиенты: VIP · Clients: VIP", 2, 60,
           "Ответ в течение 2 рабочих часов. / Answer within 2 working hours."),
    SlaRow("Партнёры: стандартный · Partners: standard", 5, 35,
           "Ответ в течение 5 рабочих часов. / Answer within 5 working hours."),
    SlaRow("Партнёры: оперативный · Partners: operative", 3, 45,
           "Ответ в течение 3 рабочих часов. / Answer within 3 working hours."),
    SlaRow("Спецобращения · Special tickets", 1, 70,
           "Ответ в течение 1 часа круглосуточно, 7 дней в неделю (купон Enterprise). / Answer within 1 hour, "
           "24/7 (Enterprise coupon)."),
)


def _reminder_minutes(hours: int) -> int:
    """Remind the responsible a quarter of the response time before the deadline, at most an hour."""
    return min(60, hours * 15)


# -- frequent answers (F-05) ----------------------------------------------------------------
# (code, name_ru, name_en, text_ru, text_en)
FREQUENT_ANSWERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("greeting_details", "Нужны подробности", "Need more details",
     "Здравствуйте! Чтобы разобраться, пришлите, пожалуйста: адрес страницы, точное время ошибки, полный "
     "текст ошибки или снимок экрана и что вы делали перед её появлением.",
     "Hello! To look into this, please send us the page address, the exact time of the error, the full "
     "error text or a screenshot, and what you did just before it appeared."),
    ("clear_cache", "Очистить кеш", "Clear the cache",
     "Пожалуйста, очистите кеш сайта (Настройки → Производительность → Очистить кеш) и кеш браузера "
     "(Ctrl+F5), затем повторите действие и сообщите результат.",
     "Please clear the site cache (Settings → Performance → Clear cache) and your browser cache "
     "(Ctrl+F5), then try again and tell us the result."),
    ("payment_check", "Проверяем платёж", "Checking the payment",
     "Мы запросили у платёжного шлюза статус операции. Обычно проверка занимает до одного рабочего дня; "
     "мы напишем, как только получим ответ.",
     "We have asked the payment gateway for the status of the transaction. The check usually takes up to "
     "one working day; we will write as soon as we hear back."),
    ("delivery_status", "Статус доставки", "Delivery status",
     "Мы связались со службой доставки. Отследить посылку можно по трек-номеру на сайте перевозчика; "
     "если статус не изменится в течение двух дней, напишите нам.",
     "We have contacted the carrier. You can follow the parcel by its tracking number on the carrier's "
     "site; if the status does not change within two days, please write to us."),
    ("split_ticket", "Одна проблема — одно обращение", "One problem per ticket",
     "Пожалуйста, создавайте отдельное обращение на каждую проблему: так мы ответим быстрее и ничего не "
     "потеряем. Второй вопрос мы вынесли в новое обращение.",
     "Please open a separate ticket for each problem: this way we answer faster and nothing gets lost. "
     "We have moved your second question into a new ticket."),
    ("closing_no_reply", "Закрываем без ответа", "Closing for no reply",
     "Мы не получили от вас ответа, поэтому закрываем обращение. Если вопрос остался, просто откройте его "
     "снова или ответьте на это сообщение.",
     "We have not heard back from you, so we are closing this ticket. If the question remains, just reopen "
     "it or reply to this message."),
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
        "ru", "errors", "high",
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
        prompts=("Посмотрел раздел FAQ и описание обновления", "Очистил кеш, отключил композитный режим",
                 "Заказ оформляется, покупатель видит страницу «Спасибо за заказ»",
                 "500 Internal Server Error. Fatal error: Allowed memory size of 134217728 bytes exhausted"),
    ),
    Scenario(
        "ru", "errors", "middle",
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
        "ru", "errors", "middle",
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
        "ru", "errors", "high",
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
        "ru", "errors", "low",
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
        "ru", "payment", "high",
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
        "ru", "payment", "middle",
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
        "ru", "payment", "low",
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
        "ru", "payment", "low",
        ("Нужен акт за оплату счёта №{invoice}", "Закрывающие документы за продление лицензии"),
        "Добрый день. Оплатили счёт №{invoice} на {amount} ₽ за продление лицензии, но закрывающих "
        "документов (акт, счёт-фактура) пока нет. Пришлите, пожалуйста.",
        "Здравствуйте, {name}! Уточните, пожалуйста, юридическое лицо и адрес для отправки оригиналов.",
        "ООО «Ромашка», адрес в реквизитах счёта. Сканы можно на почту.",
        "Бухгалтерия подтвердила оплату, документы формируются в ЭДО.",
        "Документы отправлены через систему электронного документооборота, оригиналы — почтой по адресу из "
        "реквизитов. Сканы прикладываем к обращению.",
        "Получили, спасибо.",
    ),
    # Russian: order delivery
    Scenario(
        "ru", "delivery", "middle",
        ("Не рассчитывается доставка в {city}", "Стоимость доставки в {city} показывается как 0 ₽"),
        "Здравствуйте! При оформлении заказа с доставкой в {city} стоимость доставки не рассчитывается — "
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
        "ru", "delivery", "high",
        ("Заказ №{order} не доставлен в срок", "Покупатель не получил заказ №{order}"),
        "Добрый день. Покупатель из города {city} не получил заказ №{order}: срок доставки прошёл пять дней "
        "назад, статус у перевозчика не меняется. Трек-номер {track}.",
        "Здравствуйте, {name}! Мы запросили перевозчика. Подскажите, передавал ли склад посылку курьеру и "
        "есть ли акт приёма-передачи?",
        "Да, акт есть, посылку забрали {time}.",
        "Перевозчик подтвердил: посылка застряла на сортировочном центре, переотправят завтра.",
        "Перевозчик подтвердил задержку на сортировочном центре. Посылку отправили дальше, ожидаемая дата "
        "доставки — через два дня. Трек-номер прежний.",
        "Покупатель получил заказ. Спасибо!",
    ),
    Scenario(
        "ru", "delivery", "low",
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
        "en", "errors", "high",
        ("Checkout returns HTTP 500 after the update", "Customers get an error 500 on checkout"),
        "Hello, since this morning customers get an HTTP 500 error page when they press \"Place order\" on "
        "{site}. Order #{order} was never created. We updated the store module to {version} last night.",
        "Hello {name}, please send us the exact time of the last error and the server error log around it.",
        "The last one was at {time}. The log is attached.",
        "Memory exhaustion in the discount calculation: the known issue of {version}, fixed in the next "
        "release.",
        "The discount calculation of version {version} runs out of memory. Please install the latest update "
        "(Settings → Updates) and raise memory_limit to 256M; checkout works again after that.",
        "Updated, orders are coming in again. Thanks for the quick help!",
        attachment="log",
        prompts=("The FAQ and the release notes", "Cleared the cache, disabled the composite mode",
                 "The order is placed and the customer sees the thank-you page",
                 "500 Internal Server Error. Fatal error: Allowed memory size of 134217728 bytes exhausted"),
    ),
    Scenario(
        "en", "errors", "middle",
        ("Password reset e-mails are not delivered", "Customers do not receive password reset links"),
        "Hi, several customers told us they never receive the password reset e-mail from {site}. Order "
        "confirmations seem to arrive, though. Could you check?",
        "Hello {name}, could you tell us one of the affected addresses and roughly when the customer asked "
        "for the reset?",
        "For example a customer at a gmail.com address, today at {time}.",
        "The reset template still uses the old sender address, which fails DMARC at Gmail.",
        "The password reset template still sends from an old sender address that fails DMARC checks, so Gmail "
        "drops it. Change the sender in Settings → Mail templates → \"Password reset\" to the shop's address; "
        "we tested it and the mail now arrives.",
        "Fixed the template, customers get their links now. Thanks!",
    ),
    Scenario(
        "en", "errors", "low",
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
        "en", "errors", "middle",
        ("Site search returns no results", "Search finds nothing after the import"),
        "Hi, since we imported the new price list yesterday, the search on {site} returns nothing, even for "
        "product names copied from the catalogue.",
        "Hello {name}, did the import run with the \"update search index\" option?",
        "I don't think so, we used the default import settings.",
        "The search index was not rebuilt after a bulk import of 12k items.",
        "The search index was not rebuilt after the bulk import. Run Settings → Search → Reindex (it takes a "
        "few minutes for your catalogue) and tick \"update search index\" for future imports.",
        "Reindexed, search works. Thanks!",
    ),
    # English: order payment
    Scenario(
        "en", "payment", "high",
        ("Card payments declined for every customer", "Payment gateway rejects all cards"),
        "Hello, since {time} every card payment on {site} is declined and the customer is sent back with "
        "\"Payment rejected\". Order #{order} for £{amount} is one example.",
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
        "en", "payment", "middle",
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
        "en", "payment", "low",
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
        "en", "delivery", "middle",
        ("Shipping cost is not calculated for {city}", "Shipping shows £0 for {city}"),
        "Hello, when a customer from {city} checks out, the shipping cost shows £0 or \"calculation error\". "
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
        "en", "delivery", "high",
        ("Order #{order} still not delivered", "Customer never received order #{order}"),
        "Hi, a customer in {city} has not received order #{order}: the delivery date passed five days ago and "
        "the carrier's status has not changed. Tracking number {track}.",
        "Hello {name}, we have asked the carrier. Did the warehouse hand the parcel over and do you have the "
        "collection receipt?",
        "Yes, it was collected on {time}, we have the receipt.",
        "The carrier confirmed: the parcel is stuck in the hub, it goes out tomorrow.",
        "The carrier confirmed a delay at their hub; the parcel is on its way again and should arrive within "
        "two days. The tracking number stays the same.",
        "The customer has the parcel. Thanks!",
    ),
    Scenario(
        "en", "delivery", "low",
        ("Tracking numbers are not sent to customers", "Customers do not get tracking e-mails"),
        "Hello, our customers do not receive the e-mail with the tracking number after we mark an order as "
        "shipped on {site}. How can we switch it on?",
        "Hello {name}, do you enter the tracking number before or after changing the status to \"Shipped\"?",
        "Usually after changing the status.",
        "The tracking e-mail fires on status change only when the tracking number is already set.",
        "The e-mail is sent when the status changes, and only if the tracking number is already filled in. "
        "Enter the tracking number first, then change the status — or switch on \"send when the tracking "
        "number is added\" in the store settings.",
        "Switched the setting on, customers get their e-mails. Thanks!",
    ),
)

SPAM: dict[str, tuple[str, str]] = {
    "ru": ("Продвижение сайта в ТОП-10 за 7 дней!!!",
           "Здравствуйте! Выведем ваш сайт в ТОП-10 поисковиков за 7 дней. Гарантия результата, оплата после. "
           "Пишите нам, скидка 50% только сегодня!"),
    "en": ("Increase your website traffic by 300%",
           "Dear site owner, we can boost your traffic by 300% in one week with our guaranteed SEO package. "
           "Reply now to get a 50% discount!"),
}

# Lines that fit any conversation.
GENERIC = {
    "ru": {
        "chase": ("Есть новости по обращению?", "Подскажите, пожалуйста, когда ждать ответа?",
                  "Вопрос всё ещё актуален, ждём ответа."),
        "wait": ("Передали вопрос разработчикам, ответим до конца рабочего дня.",
                 "Проверяем, вернёмся с ответом в течение дня."),
        "reopen": ("Проблема повторилась сегодня снова.", "К сожалению, ошибка вернулась после перезагрузки."),
        "postponed": "Ждём выхода исправления в следующем обновлении; обращение отложено до релиза.",
        "spam_note": "Похоже на рекламную рассылку, отмечаю как возможный спам.",
        "signature": "\n\n— {staff}, служба поддержки",
        "unsolvable": "К сожалению, это ограничение платформы, решить его в текущей версии нельзя. Мы передали "
                      "пожелание в план развития.",
        "escalate": "Передаю {other}: нужен доступ к серверу клиента.",
    },
    "en": {
        "chase": ("Any news on this?", "Could you tell us when to expect an answer?",
                  "This is still an issue for us, waiting for your reply."),
        "wait": ("We have passed this to our developers and will answer by the end of the working day.",
                 "We are checking and will come back to you within the day."),
        "reopen": ("The problem came back today.", "Unfortunately the error is back after a restart."),
        "postponed": "Waiting for the fix in the next update; the ticket is postponed until the release.",
        "spam_note": "Looks like advertising, marking it as possible spam.",
        "signature": "\n\n— {staff}, Support team",
        "unsolvable": "Unfortunately this is a limitation of the platform and cannot be solved in the current "
                      "version. We have passed it on as a feature request.",
        "escalate": "Handing over to {other}: this needs access to the client's server.",
    },
}
CITIES = {
    "ru": ("Казань", "Екатеринбург", "Новосибирск", "Самару", "Владивосток", "Калининград", "Пермь"),
    "en": ("Manchester", "Leeds", "Bristol", "Dublin", "Edinburgh", "Cardiff", "Belfast"),
}
STAFF_LOGINS = ("staff", "staff2", "admin")


# -- attachments -----------------------------------------------------------------------------
def _png(width: int = 160, height: int = 90, seed: int = 0) -> bytes:
    """Return a small, valid PNG (a fake screenshot: a grey window with a title bar and text lines)."""
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type: none
        for x in range(width):
            if y < 12:
                pixel = (52, 101, 164)
            elif 20 <= y < 80 and y % 10 < 3 and 10 <= x < 60 + ((y * 7 + seed) % 90):
                pixel = (90, 90, 90)
            else:
                pixel = (242, 242, 242)
            row += bytes(pixel)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(
        b"IEND", b""
    )


def _pdf(text: str) -> bytes:
    """Return a one-page PDF showing a line of ASCII text."""
    safe = "".join(c for c in text if 32 <= ord(c) < 127 and c not in "()\\")
    stream = f"BT /F1 12 Tf 40 800 Td ({safe}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _log(at: datetime, order: str) -> bytes:
    stamp = at.astimezone(MOSCOW).strftime("%Y-%m-%d %H:%M:%S")
    lines = [
        f"[{stamp}] PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate "
        "20480 bytes) in /home/bitrix/www/local/modules/shop/lib/discount/calculator.php on line 412",
        f"[{stamp}] Request: POST /personal/order/make/ order={order}",
        f"[{stamp}] Stack trace: #0 DiscountCalculator->apply() #1 OrderSaver->save() #2 {{main}}",
    ]
    return ("\n".join(lines) + "\n").encode()


def _attachment(kind: str, lang: str, at: datetime, values: dict[str, str], seed: int) -> services.Upload:
    if kind == "log":
        return services.Upload(name="error.log", fileobj=io.BytesIO(_log(at, values["order"])))
    if kind == "pdf":
        name = "выписка.pdf" if lang == "ru" else "statement.pdf"
        return services.Upload(name=name, fileobj=io.BytesIO(_pdf(f"Statement: order {values['order']}")))
    name = "снимок экрана.png" if lang == "ru" else "screenshot.png"
    return services.Upload(name=name, fileobj=io.BytesIO(_png(seed=seed)))


# -- the loader ------------------------------------------------------------------------------
@dataclass
class DemoReport:
    """What demo_load() did: new logins with their one-time passwords, existing logins, ticket count."""

    created: list[tuple[str, str, str]] = field(default_factory=list)  # (username, role, password)
    existing: list[str] = field(default_factory=list)
    tickets_created: int = 0
    tickets_skipped: bool = False
    sla_created: int = 0
    answers_created: int = 0


def demo_load(
    *, tickets: int = DEFAULT_TICKETS, seed: int = DEFAULT_SEED, progress: Callable[[str], None] | None = None
) -> DemoReport:
    """Create the demo users, groups, SLA levels, frequent answers and tickets that are missing."""
    report = DemoReport()
    with transaction.atomic():
        users = _users(report)
        _groups(users)
        report.sla_created = _sla_levels()
        report.answers_created = _frequent_answers()
        if _demo_tickets_exist(users):
            report.tickets_skipped = True
        elif tickets > 0:
            report.tickets_created = _Generator(users, random.Random(seed), progress).run(tickets)
    return report


def _users(report: DemoReport) -> dict[str, User]:
    users: dict[str, User] = {}
    for person in PEOPLE:
        user = User.objects.filter(username=person.username).first()
        if user is not None:
            if person.login:
                report.existing.append(person.username)
            users[person.username] = user
            continue
        password = _password() if person.login else None
        user = user_create(
            username=person.username, email=person.email, password=password, first_name=person.first_name,
            last_name=person.last_name, levels=(person.level,), language=person.language,
        )
        if person.level == AccessLevel.ADMIN:
            # The demo administrator also opens the configuration pages with every model permission.
            User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
            user.refresh_from_db()
        if password:
            report.created.append((person.username, person.level, password))
        users[person.username] = user
    return users


def _password() -> str:
    """A random password that is easy to type: three groups of four letters and digits."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


def _groups(users: dict[str, User]) -> None:
    for name, description in CLIENT_COMPANIES.items():
        group, _created = SupportGroup.objects.get_or_create(
            name=name, defaults={"kind": SupportGroup.Kind.CLIENT, "description": description}
        )
        for person in PEOPLE:
            if person.company == name:
                if not group.memberships.filter(user=users[person.username]).exists():
                    support_group_add_member(group=group, user=users[person.username], can_view=True)
    team, _created = SupportGroup.objects.get_or_create(
        name=STAFF_TEAM, defaults={"kind": SupportGroup.Kind.STAFF, "description": "Первая линия поддержки."}
    )
    for username in ("staff", "staff2"):
        if not team.memberships.filter(user=users[username]).exists():
            support_group_add_member(group=team, user=users[username], can_view=True, mail_new=True)


def _sla_levels() -> int:
    made = 0
    clients_group = access_groups_ensure()[AccessLevel.CLIENT]
    has_default = SlaLevel.objects.filter(is_default=True).exists()
    for row in SLA_TABLE:
        sla, created = SlaLevel.objects.get_or_create(
            name=row.name,
            defaults={
                "description": row.description, "priority": row.priority, "response_minutes": row.hours * 60,
                "reminder_minutes": _reminder_minutes(row.hours), "is_default": row.is_default and not has_default,
            },
        )
        made += created
        if created and row.for_clients:
            sla.groups.add(clients_group)
    return made


def _frequent_answers() -> int:
    made = 0
    for sort, (code, name_ru, name_en, text_ru, text_en) in enumerate(FREQUENT_ANSWERS, start=1):
        _entry, created = DictionaryEntry.objects.get_or_create(
            kind=DictionaryKind.FREQUENT_ANSWER, code=code,
            defaults={"name_ru": name_ru, "name_en": name_en, "description_ru": text_ru,
                      "description_en": text_en, "sort": sort * 100},
        )
        made += created
    return made


def _demo_tickets_exist(users: dict[str, User]) -> bool:
    authors = [users[p.username].pk for p in PEOPLE if p.level == AccessLevel.CLIENT]
    return Ticket.objects.filter(author_id__in=authors).exists()


class _Generator:
    """Play out `n` conversations through the services, each step at its own frozen instant."""

    def __init__(self, users: dict[str, User], rng: random.Random, progress: Callable[[str], None] | None):
        self.users = users
        self.rng = rng
        self.progress = progress or (lambda _line: None)
        self.now = clock.now().replace(microsecond=0)
        self.entries = {
            (e.kind, e.code): e for e in DictionaryEntry.objects.filter(active=True).exclude(code="")
        }
        self.clients = [p for p in PEOPLE if p.level == AccessLevel.CLIENT and p.weight]
        self.by_username = {p.username: p for p in PEOPLE}

    def entry(self, kind: str, code: str) -> DictionaryEntry | None:
        return self.entries.get((kind, code))

    # -- time ------------------------------------------------------------------------------
    def opening_time(self, max_age_days: float) -> datetime:
        """A moment in the past, mostly on Moscow working days and hours, like real support traffic."""
        rng = self.rng
        for _attempt in range(20):
            day = self.now.astimezone(MOSCOW) - timedelta(days=rng.uniform(0, max_age_days))
            weekend = day.weekday() >= 5
            if weekend and rng.random() < 0.75:
                continue
            hour = rng.choice((9, 10, 10, 11, 11, 12, 13, 14, 14, 15, 16, 16, 17, 18, 19, 21, 23))
            at = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)
            if at < self.now - timedelta(minutes=15):
                return at.astimezone(self.now.tzinfo)
        return self.now - timedelta(hours=rng.uniform(1, 24 * max_age_days))

    def later(self, at: datetime, low_minutes: float, high_minutes: float) -> datetime | None:
        """A moment some minutes after `at`, or None when it would be in the future (the story stops)."""
        step = at + timedelta(minutes=self.rng.uniform(low_minutes, high_minutes))
        step = step.replace(microsecond=0)
        return step if step < self.now - timedelta(minutes=1) else None

    # -- the stories -----------------------------------------------------------------------
    def run(self, n: int) -> int:
        outcomes = (
            ["new"] * 12 + ["answered_unassigned"] * 5 + ["waiting_client"] * 17 + ["client_replied"] * 14
            + ["solved"] * 30 + ["closed_by_client"] * 8 + ["unsolvable"] * 3 + ["postponed"] * 4
            + ["reopened"] * 4 + ["spam"] * 3
        )
        weights = [p.weight for p in self.clients]
        for i in range(n):
            outcome = self.rng.choice(outcomes)
            if outcome == "spam":
                self.spam(i)
            else:
                author = self.rng.choices(self.clients, weights=weights)[0]
                scenario = self.rng.choice([s for s in SCENARIOS if s.lang == author.language])
                self.story(i, outcome, author, scenario)
            if (i + 1) % 50 == 0:
                self.progress(f"{i + 1} tickets")
        return n

    def values(self, author: Person, lang: str, i: int, at: datetime) -> dict[str, str]:
        rng = self.rng
        local = at.astimezone(MOSCOW) - timedelta(minutes=rng.randrange(20, 200))
        return {
            "name": author.first_name,
            "site": author.site,
            "order": str(rng.randrange(10_000, 99_999)),
            "invoice": f"{'СЧ' if lang == 'ru' else 'INV'}-{at.year}-{rng.randrange(100, 999)}",
            "amount": f"{rng.randrange(8, 450) * 100:,}".replace(",", " " if lang == "ru" else ","),
            "city": rng.choice(CITIES[lang]),
            "time": local.strftime("%H:%M") if rng.random() < 0.6 else local.strftime("%d.%m %H:%M"),
            "version": rng.choice(("24.100.0", "24.200.1", "25.0.3")),
            "track": f"RA{rng.randrange(100_000_000, 999_999_999)}RU" if lang == "ru"
            else f"JD{rng.randrange(10**15, 10**16)}GB",
        }

    def pick_staff(self, scenario: Scenario) -> User:
        rng = self.rng
        if scenario.lang == "en":
            login = rng.choices(STAFF_LOGINS, weights=(3, 6, 1))[0]
        elif scenario.category == "payment":
            login = rng.choices(STAFF_LOGINS, weights=(3, 6, 1))[0]
        else:
            login = rng.choices(STAFF_LOGINS, weights=(6, 3, 1))[0]
        return self.users[login]

    def story(self, i: int, outcome: str, author_p: Person, sc: Scenario) -> None:
        rng = self.rng
        lang = sc.lang
        text = GENERIC[lang]
        recent = outcome in ("new", "client_replied") and rng.random() < 0.8
        t = self.opening_time(4 if recent else DAYS_BACK)
        author = self.users[author_p.username]
        v = self.values(author_p, lang, i, t)
        staff = self.pick_staff(sc)
        v["staff"] = staff.first_name
        sign = text["signature"].format(**v)
        criticality = sc.criticality if rng.random() < 0.7 else rng.choice(("low", "middle", "high"))

        with translation.override(lang):
            ticket = self.open_ticket(t, author, author_p, sc, v, criticality, i, staff)
            if outcome == "new":
                return

            # Support picks the ticket up: takes it (or not), sets status and difficulty.
            t = self.later(t, 10, 300)
            if t is None:
                return
            assign = outcome != "answered_unassigned"
            if assign:
                changes = {"status": self.entry("status", "in_progress")}
                if ticket.responsible_id is None:
                    changes["responsible"] = staff
                if rng.random() < 0.6:
                    changes["difficulty"] = self.entry("difficulty", rng.choice(("easy", "medium", "medium", "hard")))
                ticket = self.update(t, staff, ticket, changes)
            if rng.random() < 0.35:
                self.post(t, staff, ticket, sc.note.format(**v), hidden=True, minutes=rng.choice((0, 5, 10)))
                if assign and rng.random() < 0.2:
                    other = self.users["staff2" if staff.username != "staff2" else "staff"]
                    self.post(t, staff, ticket, text["escalate"].format(other=other.first_name), hidden=True)
                    ticket = self.update(t, staff, ticket, {"responsible": other})
                    staff = other
                    v["staff"] = staff.first_name
                    sign = text["signature"].format(**v)
            if outcome == "postponed":
                self.post(t, staff, ticket, rng.choice(text["wait"]) + sign, not_change_status=True)
                t = self.later(t, 30, 600)
                if t is None:
                    return
                self.post(t, staff, ticket, text["postponed"], hidden=True)
                self.update(t, staff, ticket, {"is_postponed": True})
                return

            quick = rng.random() < 0.3
            if not quick:
                self.post(t, staff, ticket, sc.question.format(**v) + sign, minutes=rng.choice((5, 10, 15)))
                if outcome == "waiting_client":
                    return
                t = self.later(t, 20, 60 * 20)
                if t is None:
                    return
                if rng.random() < 0.15:
                    self.post(t, author, ticket, rng.choice(text["chase"]))
                    t = self.later(t, 30, 300)
                    if t is None:
                        return
                files = [_attachment(sc.attachment, lang, t, v, i)] if sc.attachment and rng.random() < 0.5 else []
                self.post(t, author, ticket, sc.clarification.format(**v), files=files)
                if outcome == "client_replied":
                    if rng.random() < 0.3:
                        ticket = self.update(t, author, ticket, {"criticality": self.entry("criticality", "high")})
                    return
                t = self.later(t, 15, 480)
                if t is None:
                    return
            if outcome == "client_replied":
                # Quick answer first, then the client came back with more.
                self.post(t, staff, ticket, sc.answer.format(**v) + sign, minutes=rng.choice((10, 20, 30)))
                t = self.later(t, 60, 60 * 24)
                if t is None:
                    return
                self.post(t, author, ticket, rng.choice(text["reopen"]))
                return
            if outcome == "unsolvable":
                self.post(t, staff, ticket, text["unsolvable"] + sign, minutes=rng.choice((15, 30)))
                ticket = self.update(t, staff, ticket, {"status": self.entry("status", "unsolvable")})
                t = self.later(t, 60, 60 * 48)
                if t is not None:
                    self.close(t, staff, ticket)
                    if rng.random() < 0.6:
                        self.update(t, author, ticket, {"mark": self.entry("mark", "bad")})
                return
            if rng.random() < 0.2:
                self.post(t, staff, ticket, rng.choice(text["wait"]) + sign, not_change_status=True)
                t = self.later(t, 30, 240)
                if t is None:
                    return
            self.post(t, staff, ticket, sc.answer.format(**v) + sign, minutes=rng.choice((10, 15, 20, 30, 45, 60)))
            if outcome == "waiting_client":
                return
            t = self.later(t, 30, 60 * 30)
            if t is None:
                return
            if outcome == "answered_unassigned":
                self.post(t, author, ticket, sc.thanks.format(**v))
                return
            if outcome == "closed_by_client":
                self.post(t, author, ticket, sc.thanks.format(**v))
                ticket = self.close(t, author, ticket)
            else:
                if rng.random() < 0.6:
                    self.post(t, author, ticket, sc.thanks.format(**v))
                    t = self.later(t, 5, 240) or t
                ticket = self.update(t, staff, ticket, {"status": self.entry("status", "solved")})
                ticket = self.close(t, staff, ticket)
            if rng.random() < 0.65:
                t = self.later(t, 5, 600) or t
                mark = rng.choices(("good", "incomplete", "bad"), weights=(7, 2, 1))[0]
                ticket = self.update(t, author, ticket, {"mark": self.entry("mark", mark)})
            if outcome == "reopened":
                t = self.later(t, 60 * 24, 60 * 24 * 5)
                if t is None:
                    return
                ticket = self.reopen(t, author, ticket)
                self.post(t, author, ticket, rng.choice(text["reopen"]))
                t = self.later(t, 20, 240)
                if t is None:
                    return
                self.post(t, staff, ticket, sc.answer.format(**v) + sign, minutes=rng.choice((15, 30)))

    def open_ticket(
        self, t: datetime, author: User, author_p: Person, sc: Scenario, v: dict[str, str], criticality: str,
        i: int, staff: User,
    ) -> Ticket:
        rng = self.rng
        title = rng.choice(sc.titles).format(**v)
        body = sc.body.format(**v)
        prompts = None
        if sc.prompts and rng.random() < 0.5:
            prompts = dict(zip(("looked", "did", "expected", "saw"), sc.prompts, strict=True))
        files = [_attachment(sc.attachment, sc.lang, t, v, i)] if sc.attachment and rng.random() < 0.3 else []
        common = {
            "title": title, "message": body, "category": self.entry("category", sc.category),
            "criticality": self.entry("criticality", criticality), "prompts": prompts, "files": files,
        }
        with clock.frozen(t):
            if rng.random() < 0.08:
                # Taken by phone: staff files the ticket for the client (F-02 "created by").
                return services.ticket_create(
                    actor=staff, author=author, via=Channel.PHONE, source=self.entry("source", "phone"),
                    responsible=staff, **common,
                )
            via = Channel.EMAIL if rng.random() < 0.15 else Channel.WEB
            return services.ticket_create(actor=author, via=via, **common)

    def spam(self, i: int) -> None:
        rng = self.rng
        lang = rng.choice(("ru", "en"))
        title, body = SPAM[lang]
        t = self.opening_time(DAYS_BACK)
        with translation.override(lang):
            with clock.frozen(t):
                ticket = services.ticket_create(actor=self.users["seo-promo"], title=title, message=body,
                                                via=Channel.EMAIL)
            t = self.later(t, 10, 240)
            if t is None:
                return
            staff = self.users[rng.choice(("staff", "staff2"))]
            self.post(t, staff, ticket, GENERIC[lang]["spam_note"], hidden=True)
            with clock.frozen(t):
                ticket = services.ticket_set_spam(actor=staff, ticket=ticket, state=SpamState.POSSIBLE)
            if rng.random() < 0.5:
                self.close(t, staff, ticket)

    # -- service calls at a frozen instant ------------------------------------------------------
    def post(self, t: datetime, actor: User, ticket: Ticket, body: str, **kw) -> None:
        with clock.frozen(t):
            services.message_post(actor=actor, ticket=ticket, body=body, **kw)

    def update(self, t: datetime, actor: User, ticket: Ticket, changes: dict) -> Ticket:
        with clock.frozen(t):
            return services.ticket_update(actor=actor, ticket=ticket, changes=changes)

    def close(self, t: datetime, actor: User, ticket: Ticket) -> Ticket:
        with clock.frozen(t):
            return services.ticket_close(actor=actor, ticket=ticket)

    def reopen(self, t: datetime, actor: User, ticket: Ticket) -> Ticket:
        with clock.frozen(t):
            return services.ticket_reopen(actor=actor, ticket=ticket)

