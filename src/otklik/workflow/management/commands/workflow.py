"""`otklik workflow validate FILE | import FILE | export CODE | diagram CODE`: support process definitions.

`validate` checks a JSON definition the way activating it would and lists every problem by state and
transition code (exit status 1), `import` saves it as the next version of its process, `export` prints
the active version re-importably, `diagram` prints it drawn as SVG.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from otklik.core.errors import ValidationFailed
from otklik.workflow.definition import DefinitionError, definition_load
from otklik.workflow.diagram import process_svg
from otklik.workflow.selectors import process_of, version_active
from otklik.workflow.services import definition_problems, process_version_save


class Command(BaseCommand):
    help = "Validate, import, export and draw support process definitions."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        validate = actions.add_parser("validate", help="Check a JSON definition; list every problem.")
        validate.add_argument("file", metavar="FILE", help="The JSON file ('-' reads standard input).")
        imported = actions.add_parser("import", help="Save a JSON definition as the next version.")
        imported.add_argument("file", metavar="FILE", help="The JSON file ('-' reads standard input).")
        imported.add_argument(
            "--inactive", action="store_true", help="Save the version without making it the active one."
        )
        imported.add_argument("--as", dest="as_user", metavar="USERNAME", help="Record who saved it.")
        export = actions.add_parser("export", help="Print the active version's JSON.")
        export.add_argument("code", metavar="CODE")
        export.add_argument("--version", dest="number", type=int, help="Print this version instead.")
        diagram = actions.add_parser("diagram", help="Print the active version drawn as SVG.")
        diagram.add_argument("code", metavar="CODE")
        diagram.add_argument("--current", metavar="STATE", help="Highlight this state.")
        diagram.add_argument("--language", choices=("ru", "en"), default="ru")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "validate":
            self.validate(options["file"])
        elif action == "import":
            self.import_(options["file"], active=not options["inactive"], as_user=options.get("as_user"))
        elif action == "export":
            self.export(options["code"], options.get("number"))
        elif action == "diagram":
            self.diagram(options["code"], current=options.get("current"), language=options["language"])

    def validate(self, path: str) -> None:
        problems = definition_problems(_read(path))
        if problems:
            for problem in problems:
                self.stdout.write(f"- {problem}")
            raise CommandError(f"{path}: {len(problems)} problem(s).", returncode=1)
        self.stdout.write(f"{path}: OK")

    def import_(self, path: str, *, active: bool, as_user: str | None) -> None:
        actor = None
        if as_user:
            actor = User.objects.filter(username=as_user).first()
            if actor is None:
                raise CommandError(f"User {as_user!r} does not exist.")
        try:
            version = process_version_save(actor=actor, data=_read(path), activate=active)
        except ValidationFailed as exc:
            for problem in exc.errors.get("definition", [exc.message]):
                self.stdout.write(f"- {problem}")
            raise CommandError(f"{path}: not imported.", returncode=1) from None
        state = "active" if version.active else "inactive"
        self.stdout.write(f"{version.code} version {version.version} ({state})")

    def export(self, code: str, number: int | None) -> None:
        version = _version(code, number)
        self.stdout.write(json.dumps(version.definition, ensure_ascii=False, indent=1))

    def diagram(self, code: str, *, current: str | None, language: str) -> None:
        process = process_of(_version(code, None))
        if current and current not in process.states:
            raise CommandError(
                f"The process {code!r} has no state {current!r} (states: {', '.join(process.states)})."
            )
        self.stdout.write(process_svg(process, current=current, language=language), ending="")


def _read(path: str) -> Any:
    import sys

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
    try:
        return definition_load(text)
    except DefinitionError as exc:
        raise CommandError(f"{path}: {exc.problems[0]}", returncode=1) from None


def _version(code: str, number: int | None):
    from otklik.workflow.selectors import version_list

    if number is None:
        version = version_active(code)
    else:
        version = version_list().filter(code=code, version=number).first()
    if version is None:
        known = ", ".join(sorted(set(version_list().values_list("code", flat=True)))) or "none"
        which = f"version {number} of " if number else "an active version of "
        raise CommandError(f"There is no {which}the process {code!r} (processes: {known}).")
    return version
