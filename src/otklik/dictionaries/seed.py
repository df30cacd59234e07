"""The dictionaries' seed data (F-05), as the Bitrix module ships it, in Russian and English.

Plain data so that a migration, the demo command and tests can all load it.
"""

# kind -> [(code, name_ru, name_en, is_default)]
DICTIONARY_SEED: dict[str, list[tuple[str, str, str, bool]]] = {
    "category": [
        ("errors", "Ошибки", "Errors", True),
        ("payment", "Оплата заказа", "Order payment", False),
        ("delivery", "Доставка заказа", "Order delivery", False),
    ],
    "criticality": [
        ("low", "Низкая", "Low", False),
        ("middle", "Средняя", "Medium", True),
        ("high", "Высокая", "High", False),
    ],
    "status": [
        ("accepted", "Принято к рассмотрению", "Accepted for consideration", True),
        ("in_progress", "В стадии решения", "Being solved", False),
        ("unsolvable", "Не представляется возможным решить", "Cannot be solved", False),
        ("solved", "Успешно решено", "Solved successfully", False),
    ],
    "mark": [
        ("good", "Ответ устраивает", "The answer is satisfactory", False),
        ("incomplete", "Недостаточно полно", "Not complete enough", False),
        ("bad", "Ответ не устраивает", "The answer is not satisfactory", False),
    ],
    "source": [
        ("email", "Электронная почта", "E-mail", False),
        ("phone", "Телефон", "Phone", False),
        ("forum", "Форум", "Forum", False),
    ],
    "difficulty": [
        ("easy", "Простая", "Easy", False),
        ("medium", "Средняя", "Medium", False),
        ("hard", "Сложная", "Hard", False),
    ],
    "answer": [],
}


def load_dictionaries(entry_model) -> int:
    """Create the seed entries that are missing (matched by kind and code); return how many were made."""
    made = 0
    for kind, rows in DICTIONARY_SEED.items():
        for sort, (code, name_ru, name_en, is_default) in enumerate(rows, start=1):
            _obj, created = entry_model.objects.get_or_create(
                kind=kind,
                code=code,
                defaults={
                    "name_ru": name_ru,
                    "name_en": name_en,
                    "sort": sort * 100,
                    "is_default": is_default,
                },
            )
            made += created
    return made
