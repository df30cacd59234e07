"""Every row of every table and every attachment's bytes, as JSON: what a backup round trip must keep.

Imported by tests/test_backup.py in the test process (the source installation) and run in a subprocess
against the restored installation: `python -c "...; from tests.backup_snapshot import snapshot_json"`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder


class _Encoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, (bytes, memoryview)):
            return base64.b64encode(bytes(o)).decode()
        return super().default(o)


def snapshot() -> dict[str, Any]:
    """Return every row of every managed table, ordered by key, and each attachment's bytes."""
    rows: dict[str, Any] = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            rows[model._meta.label] = list(model._base_manager.order_by("pk").values())
    attachment = apps.get_model("tickets", "Attachment")
    files = {}
    for row in attachment._base_manager.order_by("pk"):
        with row.file.open("rb") as fh:
            files[str(row.pk)] = fh.read()
    return json.loads(json.dumps({"rows": rows, "files": files}, cls=_Encoder, sort_keys=True))


def snapshot_json() -> str:
    """Return `snapshot()` as JSON text."""
    return json.dumps(snapshot(), sort_keys=True)
