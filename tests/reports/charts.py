"""Helpers for the report pages' tests."""


def main_part(html: str) -> str:
    """Return the page's main content: the charts are counted there, not in the top bar (the bell's icon)."""
    start = html.find("<main")
    end = html.find("</main>", start)
    return html[start:end] if start >= 0 and end >= 0 else html
