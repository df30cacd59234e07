"""Model fields the apps share."""

from __future__ import annotations

import json
from typing import Any

from django.db import models


class OrderedJSONField(models.TextField):
    """A JSON document kept as the text it was written as, so an object's keys keep their order.

    PostgreSQL's jsonb re-sorts every object's keys. A document whose order means something (the states
    of a process are listed, ranked and exported in the order the admin wrote them) would read back
    differently on PostgreSQL and SQLite; stored as text it reads back the same everywhere. Nothing
    queries inside such a document, so jsonb's operators are not missed.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else json.loads(value)

    def to_python(self, value: Any) -> Any:
        # A string here is the document's text (fixtures and serialized test data hold
        # `value_to_string`'s output), never a document that is itself a JSON string.
        return json.loads(value) if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> Any:
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)
