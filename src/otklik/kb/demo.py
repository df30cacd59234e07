"""The demo knowledge base: sections and articles in ru/en about the demo shop, and the wizard on them."""

from __future__ import annotations


def kb_demo(context) -> None:
    """Create (or complete) the demo knowledge base and the support wizard's questions; idempotent."""
