"""Date and time formats of both languages (settings.FORMAT_MODULE_PATH = ["otklik.ui.formats"]).

One format for the whole product, in Russian and in English: the pages write "05.03.2025 14:30" and the
forms, the admin's calendar widget included, read that and ISO 8601. Anything not set here (numbers,
month names, the first day of the week) comes from Django's own locale data.
"""
