"""The reports as JSON: GET /api/v1/reports/{name} (F-25)."""

from ninja import Router

router = Router(tags=["reports"])
