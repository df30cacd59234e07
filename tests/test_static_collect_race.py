"""`otklik start` collects the static files under a lock: web instances sharing a data directory start
together (systemd otklik-web@1, @2; the scale-out scenario) and must not clear each other's copies."""

from __future__ import annotations

import threading

from otklik.core.management.commands.start import _collect_static


def test_concurrent_static_collections_all_finish_with_every_file(settings, tmp_path):
    settings.STATIC_ROOT = str(tmp_path / "static")
    errors: list[BaseException] = []

    def collect() -> None:
        try:
            _collect_static()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=collect) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert (tmp_path / "static" / "otklik" / "otklik.css").is_file()
    assert (tmp_path / ".static.lock").exists()
