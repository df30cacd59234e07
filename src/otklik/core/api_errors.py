"""The body of every API error answer, shared by each app's api.py (documented in the OpenAPI schema)."""

from ninja import Schema


class ErrorOut(Schema):
    """`detail` says what went wrong; `errors` maps field names (or "__all__") to messages."""

    detail: str
    errors: dict[str, list[str]] | None = None
