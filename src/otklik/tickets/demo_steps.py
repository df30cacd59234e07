"""Steps that apps above tickets add to `otklik demo` (the support process drives its own demo tickets).

Tickets never imports those apps (ARCHITECTURE §2): an app registers its step in its AppConfig.ready(),
and `demo_data.demo_load` runs every registered step after the tickets, in the same transaction, with
notifications muted. A step creates its login users with `DemoContext.user_ensure`, so their passwords are
printed with the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User


@dataclass
class DemoContext:
    """What a demo step gets: the demo users by username, the report to add to, the run's options."""

    users: dict[str, User]
    report: Any  # demo_data.DemoReport
    tickets: int  # how many tickets the run was asked for (0: none)
    seed: int
    user_ensure: Callable[..., User] = field(repr=False, default=None)  # type: ignore[assignment]


DemoStep = Callable[[DemoContext], None]
_steps: list[DemoStep] = []


def demo_step_register(step: DemoStep) -> None:
    """Run `step` at the end of every `otklik demo` (once per process, in registration order)."""
    if step not in _steps:
        _steps.append(step)


def demo_steps() -> list[DemoStep]:
    return list(_steps)
