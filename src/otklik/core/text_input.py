"""Text input that every database can store: the one check shared by the API schemas (and forms).

PostgreSQL refuses NUL in text, and a lone UTF-16 surrogate ("\\ud800" in JSON) cannot be encoded as
UTF-8 at all, so SQLite's driver and every later page or export would fail on it. Both are refused at the
door with a field message instead of a server error deep inside a service.
"""

from __future__ import annotations

import re
from typing import Annotated

from django.utils.translation import gettext as _
from pydantic import AfterValidator, StrictStr
from pydantic_core import PydanticCustomError

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text_message(value: str) -> str | None:
    """Return why `value` cannot be stored (a translated message), or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return _("Null characters are not allowed.")
    return _("The text is not valid Unicode (it holds a lone surrogate code point).")


def storable_text(value: object) -> object:
    """Pass a string through unchanged, or raise a pydantic error naming the problem."""
    if isinstance(value, str) and (message := unstorable_text_message(value)):
        raise PydanticCustomError("unstorable_text", message)
    return value


# A JSON string every database can store: the type of every text field of the API's input schemas.
Text = Annotated[StrictStr, AfterValidator(storable_text)]
