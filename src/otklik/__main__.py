"""Run Django management under Otklik's settings: the `otklik` console script."""

import os
import sys


def main() -> None:
    """Dispatch `otklik <command> ...` to Django's management commands."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line([sys.argv[0], *sys.argv[1:]])


if __name__ == "__main__":
    main()
