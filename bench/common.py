"""Shared helpers of the benchmarks: Django set-up, the bench users, figures and statistics."""

from __future__ import annotations

import os
import statistics
import sys
import time

BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/otklik_bench"
BENCH_PASSWORD = "bench-Pass-2024"
BENCH_ADMIN = "bench-admin"
BENCH_STAFF = "bench-staff-01"


def django_setup() -> None:
    """Load Otklik's settings (OTKLIK_DATABASE_URL picks the database)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")
    import django

    django.setup()


def figure(name: str, value: float | int | str, unit: str) -> None:
    """Print one result line, `name value unit` (ARCHITECTURE §4)."""
    if isinstance(value, float):
        value = f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    print(f"{name} {value} {unit}", flush=True)


def note(text: str) -> None:
    """Print a remark that is not a figure (to stderr, so figure lines stay parseable)."""
    print(f"# {text}", file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    """Return the p-th percentile (0..100) by linear interpolation, as numpy's default does."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed_in_transaction(call) -> float:
    """Run `call()` in its own transaction, as a request would, and return the milliseconds it took."""
    from django.db import transaction

    started = time.perf_counter()
    with transaction.atomic():
        call()
    return (time.perf_counter() - started) * 1000
