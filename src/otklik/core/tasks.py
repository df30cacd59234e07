"""Background tasks of the core: dispatching domain events."""

from huey.contrib.djhuey import db_task

from otklik.core import events


@db_task()
def events_dispatch() -> int:
    """Hand pending domain events to their subscribers."""
    return events.dispatch()


events.dispatch_job_register(events_dispatch)
