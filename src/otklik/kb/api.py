"""The knowledge base's API: search, suggestions, articles, deflection records (F-20)."""

from ninja import Router

router = Router(tags=["knowledge base"])
