"""Date and time formats in Russian: the product's one format (otklik.ui.formats.common)."""

from otklik.ui.formats.common import *  # noqa: F403
