"""Weigh the staff pages: the HTML and every script and stylesheet they load, raw and compressed.

    OTKLIK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/otklik_bench python -m bench.page_weight

Starts the server (bench.staff_list.Server), logs in as the bench staff member, loads the ticket list and
the first ticket of it, collects the <script src> and <link rel=stylesheet> of each page and the
stylesheets they @import, fetches each once and prints its size raw and gzip-compressed (level 6, what a
proxy or whitenoise's pre-compressed files give). The target of issue 17: JS + CSS of a staff page under
250 KB compressed.
"""

from __future__ import annotations

import argparse
import gzip
import re

from bench.common import BENCH_PASSWORD, BENCH_STAFF, figure, note
from bench.staff_list import Server, Session

ASSET = re.compile(r'<(?:script[^>]+src|link[^>]+rel="stylesheet"[^>]+href)="([^"]+)"')
IMPORT = re.compile(r'@import\s+(?:url\()?["\']?([^"\')]+)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--user", default=BENCH_STAFF)
    parser.add_argument("--password", default=BENCH_PASSWORD)
    args = parser.parse_args(argv)
    with Server(workers=1) as server:
        session = Session(server.base)
        if not session.login(args.user, args.password):
            note(f"{args.user} cannot log in: nothing weighed.")
            return 1
        _status, body, _h, _ms = session.get("/staff/tickets/")
        html = body.decode(errors="replace")
        first = re.search(r'data-nav-row="(\d+)"', html)
        pages = {"staff_list": "/staff/tickets/"}
        if first:
            pages["staff_ticket"] = f"/staff/tickets/{first.group(1)}/"
        for name, path in pages.items():
            weigh(session, name, path)
    return 0


def weigh(session: Session, name: str, path: str) -> None:
    """Print the page's HTML size and the total of its scripts and stylesheets, raw and compressed."""
    _status, body, _h, _ms = session.get(path)
    figure(f"{name}_html_bytes", len(body), "bytes")
    figure(f"{name}_html_gzip_bytes", len(gzip.compress(body, 6)), "bytes")
    seen: set[str] = set()
    todo = ASSET.findall(body.decode(errors="replace"))
    raw = packed = 0
    while todo:
        url = todo.pop()
        if url in seen or url.startswith(("http:", "https:", "//")):
            continue
        seen.add(url)
        status, data, _h, _ms = session.get(url)
        if status != 200:
            note(f"{url} answered {status}")
            continue
        raw += len(data)
        packed += len(gzip.compress(data, 6))
        if url.endswith(".css"):
            base = url.rsplit("/", 1)[0]
            todo.extend(
                f"{base}/{ref}" if not ref.startswith("/") else ref for ref in IMPORT.findall(data.decode())
            )
    figure(f"{name}_assets", len(seen), "files")
    figure(f"{name}_js_css_bytes", raw, "bytes")
    figure(f"{name}_js_css_gzip_bytes", packed, "bytes")


if __name__ == "__main__":
    raise SystemExit(main())
