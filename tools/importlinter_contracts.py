"""Otklik's own import-linter contract type, loaded by `lint-imports` ([tool.importlinter] contract_types).

Kept outside the `otklik` package so that it is not part of the import graph it checks.
"""

from __future__ import annotations

from typing import Any

from grimp import ImportGraph
from importlinter.application import contract_utils, output
from importlinter.application.contract_utils import AlertLevel
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck
from importlinter.domain.helpers import module_expressions_to_modules


class AppEntryPointsContract(Contract):
    """No app imports another app's entry modules (its views, api, tasks...).

    Every child of a container is an app; an app's entry modules are its children named in
    `entry_modules`, with their descendants. They may be imported only from inside the same app or by
    `allowed_importers` (the modules that compose every app: root URLs, the API object, the schedule).
    Apps, entry modules and allowed importers that do not exist (yet) are skipped, so a new app is
    covered the day it is created.

    Options:
        - containers:         packages whose children are the apps.
        - entry_modules:      names of an app's entry modules (e.g. views, api, tasks).
        - allowed_importers:  modules (packages included) that may import any app's entry modules.
        - ignore_imports, unmatched_ignore_imports_alerting: as in import-linter's own contracts.
    """

    type_name = "app_entry_points"

    containers = fields.ListField(subfield=fields.ModuleField())
    entry_modules = fields.ListField(subfield=fields.StringField())
    allowed_importers = fields.ListField(subfield=fields.ModuleExpressionField(), required=False)
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)
    unmatched_ignore_imports_alerting = fields.EnumField(AlertLevel, default=AlertLevel.ERROR)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        """Find every direct import of an app's entry module from outside the app and the allowed."""
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph,
            ignore_imports=self.ignore_imports,  # type: ignore[arg-type]
            unmatched_alerting=self.unmatched_ignore_imports_alerting,  # type: ignore[arg-type]
        )
        allowed: set[str] = set()
        for module in module_expressions_to_modules(graph, self.allowed_importers or []):  # type: ignore[arg-type]
            if module.name in graph.modules:  # one that does not exist yet allows nothing
                allowed |= {module.name} | graph.find_descendants(module.name)
        links: list[dict[str, Any]] = []
        for container in self.containers:  # type: ignore[attr-defined]
            for app in sorted(graph.find_children(container.name)):
                for name in self.entry_modules:  # type: ignore[attr-defined]
                    entry = f"{app}.{name}"
                    if entry not in graph.modules:
                        continue
                    for imported in sorted({entry} | graph.find_descendants(entry)):
                        for importer in sorted(graph.find_modules_that_directly_import(imported)):
                            if importer == app or importer.startswith(f"{app}.") or importer in allowed:
                                continue
                            details = graph.get_import_details(importer=importer, imported=imported)
                            lines = ", ".join(str(d["line_number"]) for d in details) or "?"
                            links.append({"importer": importer, "imported": imported, "lines": lines})
        return ContractCheck(
            kept=not links,
            warnings=list(removal.warnings),
            ignored_import_count=removal.ignored_import_count,
            metadata={"links": links},
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        """List each illegal import with its line numbers."""
        output.print_error("Imports of another app's entry modules:", bold=False)
        output.new_line()
        for link in check.metadata["links"]:
            output.print_error(f"- {link['importer']} -> {link['imported']} (l.{link['lines']})", bold=False)
        output.new_line()
