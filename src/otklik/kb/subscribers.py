"""What the knowledge base hooks into below it: the demo step (articles, then the wizard's questions)."""

from __future__ import annotations

_connected = False


def _demo(context) -> None:
    from otklik.kb.demo import kb_demo

    kb_demo(context)


def connect() -> None:
    """Subscribe once per process (AppConfig.ready may run more than once in tests)."""
    global _connected
    if _connected:
        return
    _connected = True
    from otklik.tickets.demo_steps import demo_step_register

    demo_step_register(_demo)
