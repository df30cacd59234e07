"""Time working-time arithmetic: calls per second of WorkingCalendar.add for short and long spans.

    python -m bench.sla_calendar [--calls 200000]

Uses the production calendar for Mon-Fri 10:00-19:00 Europe/Moscow (2024-2026) and random starts across
those years. Prints `sla_add_working_time_<case> <calls per second> calls/s`; the cost of a call must not
grow with the span (issue 3: at least 100,000 calls/s, and 1 minute vs 2,000 hours within 20%).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from otklik.sla.calendars import (
    WeekSchedule,
    WorkingCalendar,
    bundled_production_calendar,
    production_calendar_exceptions,
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    msk = ZoneInfo("Europe/Moscow")
    week = WeekSchedule.workdays(10, 19)
    data = bundled_production_calendar()
    calendar = WorkingCalendar(
        week,
        msk,
        production_calendar_exceptions(data, week, (2024, 2025, 2026)),
        around=date(2025, 6, 1),
        window_days=8 * 366,
    )
    rng = random.Random(7)
    base = datetime(2024, 1, 1, tzinfo=msk)
    starts = [base + timedelta(seconds=rng.randrange(0, 3 * 365 * 86400)) for _ in range(args.calls)]
    cases = {
        "random_1min_60h": [rng.randrange(60, 60 * 3600 + 1) for _ in range(args.calls)],
        "1min": [60] * args.calls,
        "2000h": [2000 * 3600] * args.calls,
    }
    for name, spans in cases.items():
        add = calendar.add
        started = time.perf_counter()
        for start, span in zip(starts, spans, strict=True):
            add(start, span)
        elapsed = time.perf_counter() - started
        print(f"sla_add_working_time_{name} {args.calls / elapsed:.0f} calls/s", flush=True)


if __name__ == "__main__":
    main()
