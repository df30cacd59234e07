"""Otklik's built-in mail texts per event and language; admins may replace each one (MailTemplate).

Templates use Django's template language with the placeholders of `catalog.PLACEHOLDERS`. The subject's
"[TID#<number>]" prefix is added by the renderer, so a subject here never needs it.
"""

from __future__ import annotations

from otklik.notifications import catalog as c

_TICKET_FACTS_EN = """Ticket: #{{ ticket_id }} {{ title }}
Status: {{ status|default:"—" }}
Category: {{ category|default:"—" }}
Criticality: {{ criticality|default:"—" }}
Responsible: {{ responsible|default:"not assigned" }}
{{ ticket_url }}"""

_TICKET_FACTS_RU = """Обращение: #{{ ticket_id }} {{ title }}
Статус: {{ status|default:"—" }}
Категория: {{ category|default:"—" }}
Критичность: {{ criticality|default:"—" }}
Ответственный: {{ responsible|default:"не назначен" }}
{{ ticket_url }}"""

_MESSAGE_EN = """{% if message %}
{{ message_author }} wrote:
{{ message }}
{% endif %}"""
_MESSAGE_RU = """{% if message %}
{{ message_author }} пишет:
{{ message }}
{% endif %}"""
_RATE_EN = """{% if rate_url %}
Did we solve your problem? Please rate our answer: {{ rate_url }}
{% endif %}"""
_RATE_RU = """{% if rate_url %}
Удалось ли решить вопрос? Пожалуйста, оцените наш ответ: {{ rate_url }}
{% endif %}"""
_CHANGES_EN = """{% if changes %}
Changes:
{{ changes }}
{% endif %}"""
_CHANGES_RU = """{% if changes %}
Изменения:
{{ changes }}
{% endif %}"""

DEFAULTS: dict[tuple[str, str], tuple[str, str]] = {
    (c.NEW_FOR_AUTHOR, "en"): (
        "Your ticket is accepted, number {{ ticket_id }}: {{ title }}",
        "Hello,\n\nyour ticket is accepted and has number {{ ticket_id }}. Keep “[TID#{{ ticket_id }}]” "
        "in the subject when you reply by mail, and the reply joins the ticket.\n"
        + _MESSAGE_EN
        + "\n"
        + _TICKET_FACTS_EN
        + "\n\n{{ site_name }}\n",
    ),
    (c.NEW_FOR_AUTHOR, "ru"): (
        "Ваше обращение принято, номер {{ ticket_id }}: {{ title }}",
        "Здравствуйте!\n\nВаше обращение принято, ему присвоен номер {{ ticket_id }}. Отвечая письмом, "
        "сохраняйте в теме «[TID#{{ ticket_id }}]» — ответ добавится к обращению.\n"
        + _MESSAGE_RU
        + "\n"
        + _TICKET_FACTS_RU
        + "\n\n{{ site_name }}\n",
    ),
    (c.NEW_FOR_SUPPORT, "en"): (
        "New ticket: {{ title }}",
        "A new ticket from {{ author }}.\n" + _MESSAGE_EN + "\n" + _TICKET_FACTS_EN + "\n"
        'Service level: {{ sla|default:"—" }}\nDeadline: {{ deadline|default:"—" }}\n',
    ),
    (c.NEW_FOR_SUPPORT, "ru"): (
        "Новое обращение: {{ title }}",
        "Новое обращение от {{ author }}.\n" + _MESSAGE_RU + "\n" + _TICKET_FACTS_RU + "\n"
        'Уровень поддержки: {{ sla|default:"—" }}\nСрок ответа: {{ deadline|default:"—" }}\n',
    ),
    (c.CHANGED_BY_SUPPORT_FOR_AUTHOR, "en"): (
        "Your ticket is updated: {{ title }}",
        "Hello,\n\nsupport updated your ticket #{{ ticket_id }}.\n"
        + _MESSAGE_EN
        + _CHANGES_EN
        + _RATE_EN
        + "\n"
        + _TICKET_FACTS_EN
        + "\n\n{{ site_name }}\n",
    ),
    (c.CHANGED_BY_SUPPORT_FOR_AUTHOR, "ru"): (
        "Ваше обращение изменено: {{ title }}",
        "Здравствуйте!\n\nСлужба поддержки изменила ваше обращение #{{ ticket_id }}.\n"
        + _MESSAGE_RU
        + _CHANGES_RU
        + _RATE_RU
        + "\n"
        + _TICKET_FACTS_RU
        + "\n\n{{ site_name }}\n",
    ),
    (c.CHANGED_BY_AUTHOR_FOR_AUTHOR, "en"): (
        "You updated your ticket: {{ title }}",
        "Hello,\n\nthis is a copy of your change to ticket #{{ ticket_id }}.\n"
        + _MESSAGE_EN
        + _CHANGES_EN
        + "\n"
        + _TICKET_FACTS_EN
        + "\n\n{{ site_name }}\n",
    ),
    (c.CHANGED_BY_AUTHOR_FOR_AUTHOR, "ru"): (
        "Вы изменили обращение: {{ title }}",
        "Здравствуйте!\n\nЭто копия вашего изменения обращения #{{ ticket_id }}.\n"
        + _MESSAGE_RU
        + _CHANGES_RU
        + "\n"
        + _TICKET_FACTS_RU
        + "\n\n{{ site_name }}\n",
    ),
    (c.CHANGED_FOR_SUPPORT, "en"): (
        "Ticket changed by {{ actor }}: {{ title }}",
        "{{ actor }} changed ticket #{{ ticket_id }}.\n"
        + _MESSAGE_EN
        + _CHANGES_EN
        + "\n"
        + _TICKET_FACTS_EN
        + '\nDeadline: {{ deadline|default:"—" }}\n',
    ),
    (c.CHANGED_FOR_SUPPORT, "ru"): (
        "{{ actor }} изменил(а) обращение: {{ title }}",
        "{{ actor }} изменил(а) обращение #{{ ticket_id }}.\n"
        + _MESSAGE_RU
        + _CHANGES_RU
        + "\n"
        + _TICKET_FACTS_RU
        + '\nСрок ответа: {{ deadline|default:"—" }}\n',
    ),
    (c.REMINDER, "en"): (
        "Time to answer! {{ title }}",
        "Time to answer ticket #{{ ticket_id }}: the response deadline is {{ deadline }}.\n\n"
        + _TICKET_FACTS_EN
        + "\n",
    ),
    (c.REMINDER, "ru"): (
        "Пора отвечать! {{ title }}",
        "Пора ответить на обращение #{{ ticket_id }}: срок ответа — {{ deadline }}.\n\n"
        + _TICKET_FACTS_RU
        + "\n",
    ),
    (c.OVERDUE, "en"): (
        "Overdue! {{ title }}",
        "The response deadline of ticket #{{ ticket_id }} passed at {{ deadline }}.\n\n"
        + _TICKET_FACTS_EN
        + "\n",
    ),
    (c.OVERDUE, "ru"): (
        "Просрочено! {{ title }}",
        "Срок ответа на обращение #{{ ticket_id }} истёк {{ deadline }}.\n\n" + _TICKET_FACTS_RU + "\n",
    ),
    (c.COUPON_USED, "en"): (
        "Coupon {{ coupon }} used: {{ title }}",
        "{{ author }} used coupon {{ coupon }} for ticket #{{ ticket_id }}.\n\n" + _TICKET_FACTS_EN + "\n",
    ),
    (c.COUPON_USED, "ru"): (
        "Использован купон {{ coupon }}: {{ title }}",
        "{{ author }} использовал(а) купон {{ coupon }} для обращения #{{ ticket_id }}.\n\n"
        + _TICKET_FACTS_RU
        + "\n",
    ),
    # The support process (F-30): the role that must act next, and the roles a move alerts.
    (c.PROCESS_TURN, "en"): (
        "Your turn: {{ process_state }} — {{ title }}",
        "Ticket #{{ ticket_id }} is now at “{{ process_state }}” and waits for your role, "
        "{{ process_role }}.\n{{ actor }}: {{ process_move }}.\n"
        "{% if process_comment %}\nComment:\n{{ process_comment }}\n{% endif %}\n" + _TICKET_FACTS_EN + "\n",
    ),
    (c.PROCESS_TURN, "ru"): (
        "Ваш ход: {{ process_state }} — {{ title }}",
        "Обращение #{{ ticket_id }} перешло на этап «{{ process_state }}» и ждёт вашей роли: "
        "{{ process_role }}.\n{{ actor }}: {{ process_move }}.\n"
        "{% if process_comment %}\nКомментарий:\n{{ process_comment }}\n{% endif %}\n"
        + _TICKET_FACTS_RU
        + "\n",
    ),
    (c.PROCESS_ALERT, "en"): (
        "Alert: {{ process_move }} — {{ title }}",
        "Alert! {{ actor }} marked ticket #{{ ticket_id }}: {{ process_move }}. It is now at "
        "“{{ process_state }}”{% if process_role %}, with {{ process_role }} to act{% endif %}.\n"
        "{% if process_comment %}\nComment:\n{{ process_comment }}\n{% endif %}\n" + _TICKET_FACTS_EN + "\n",
    ),
    (c.PROCESS_ALERT, "ru"): (
        "Тревога: {{ process_move }} — {{ title }}",
        "Внимание! {{ actor }}: {{ process_move }}, обращение #{{ ticket_id }}. Теперь оно на этапе "
        "«{{ process_state }}»{% if process_role %}, действует роль «{{ process_role }}»{% endif %}.\n"
        "{% if process_comment %}\nКомментарий:\n{{ process_comment }}\n{% endif %}\n"
        + _TICKET_FACTS_RU
        + "\n",
    ),
    # Account mail (catalog.ACCOUNT_EVENTS): placeholders username, email, confirm_url, reset_url,
    # other_accounts, days, site_name.
    (c.ADDRESS_CONFIRM, "en"): (
        "Confirm your e-mail address",
        "Hello,\n\nthe account “{{ username }}” was registered at {{ site_name }} with the address "
        "{{ email }}. If it was you, log in as “{{ username }}” and confirm the address here "
        "(the link works {{ days }} days):\n{{ confirm_url }}\n\nOnce confirmed, your mail to support "
        "and the tickets of this address belong to this account.\n\nIf it was not you, ignore this mail: "
        "the account gets nothing of yours.\n\n{{ site_name }}\n",
    ),
    (c.ADDRESS_CONFIRM, "ru"): (
        "Подтвердите адрес электронной почты",
        "Здравствуйте!\n\nВ {{ site_name }} зарегистрирована учётная запись «{{ username }}» с адресом "
        "{{ email }}. Если это были вы, войдите как «{{ username }}» и подтвердите адрес по ссылке "
        "(она действует {{ days }} дн.):\n{{ confirm_url }}\n\nПосле подтверждения ваши письма в поддержку "
        "и обращения с этого адреса будут принадлежать этой учётной записи.\n\nЕсли это были не вы, "
        "просто не отвечайте на это письмо: учётная запись ничего вашего не получит.\n\n{{ site_name }}\n",
    ),
    (c.ADDRESS_REGISTERED_AGAIN, "en"): (
        "Someone registered with your address",
        "Hello,\n\nsomeone registered the account “{{ username }}” at {{ site_name }} with your address "
        "{{ email }}, which is already used by: {{ other_accounts }}.\n\nIf it was you and you forgot "
        "your password, set a new one here:\n{{ reset_url }}\n\nIf you do want the new account "
        "“{{ username }}”, log in as it and confirm the address (the link works {{ days }} days):\n"
        "{{ confirm_url }}\n\nIf it was not you, ignore this mail: the new account gets no access to "
        "your mail and tickets.\n\n{{ site_name }}\n",
    ),
    (c.ADDRESS_REGISTERED_AGAIN, "ru"): (
        "Кто-то зарегистрировался с вашим адресом",
        "Здравствуйте!\n\nКто-то зарегистрировал в {{ site_name }} учётную запись «{{ username }}» с вашим "
        "адресом {{ email }}, который уже указан у: {{ other_accounts }}.\n\nЕсли это были вы и вы забыли "
        "пароль, задайте новый здесь:\n{{ reset_url }}\n\nЕсли вам нужна новая учётная запись "
        "«{{ username }}», войдите в неё и подтвердите адрес (ссылка действует {{ days }} дн.):\n"
        "{{ confirm_url }}\n\nЕсли это были не вы, ничего не делайте: новая учётная запись не получит "
        "доступа к вашей почте и обращениям.\n\n{{ site_name }}\n",
    ),
    (c.PASSWORD_RESET, "en"): (
        "Password reset",
        "Hello,\n\nsomeone asked to reset the password of the account “{{ username }}” at {{ site_name }}. "
        "Set a new password here (the link works once, {{ days }} days at most):\n{{ reset_url }}\n\n"
        "If it was not you, ignore this mail: your password stays as it is.\n\n{{ site_name }}\n",
    ),
    (c.PASSWORD_RESET, "ru"): (
        "Восстановление пароля",
        "Здравствуйте!\n\nКто-то попросил сбросить пароль учётной записи «{{ username }}» в {{ site_name }}. "
        "Задайте новый пароль по ссылке (она действует один раз, не дольше {{ days }} дн.):\n"
        "{{ reset_url }}\n\nЕсли это были не вы, ничего не делайте: пароль останется прежним.\n\n"
        "{{ site_name }}\n",
    ),
}


def default_template(event: str, language: str) -> tuple[str, str]:
    """Return the built-in (subject, body) of an event in a language, English when the language has none."""
    return DEFAULTS.get((event, language)) or DEFAULTS[(event, "en")]
