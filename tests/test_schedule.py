"""One schedule declares every periodic job, each with its reason (ARCHITECTURE.md rule 10)."""

import pathlib
import re

from django.utils.module_loading import autodiscover_modules
from huey.contrib.djhuey import HUEY

import otklik

SRC = pathlib.Path(otklik.__file__).parent


def test_schedule_lists_exactly_the_periodic_jobs_huey_knows():
    from otklik.schedule import SCHEDULE

    autodiscover_modules("tasks")  # what the consumer (run_huey) does at start
    known = {type(task) for task in HUEY._registry.periodic_tasks}
    listed = {job.task.task_class for job in SCHEDULE}
    assert listed == known
    assert len(SCHEDULE) == 7  # with the automation rules' time-based job (issue 18)


def test_schedule_each_job_has_a_reason_and_a_lock():
    from otklik.schedule import SCHEDULE

    for job in SCHEDULE:
        assert len(job.why) > 30, job
        assert job.lock.startswith("otklik-"), job
    assert len({job.lock for job in SCHEDULE}) == len(SCHEDULE)


def test_schedule_module_is_the_only_one_declaring_periodic_jobs():
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "schedule.py" and re.search(r"\bperiodic_task\b", path.read_text())
    ]
    assert offenders == []


def test_schedule_is_loaded_by_the_consumers_autodiscovery():
    import sys

    autodiscover_modules("tasks")
    assert "otklik.schedule" in sys.modules
