"""The product UI is complete in Russian and English.

Source strings are English; the Russian catalog (locale/ru/LC_MESSAGES/django.po) must translate every one
of them, keep their placeholders, be compiled (the .mo is committed so the app runs without gettext) and
be up to date with the source: a developer who adds a string without translating it gets a failing test
here. To fix one: `make messages`, translate the new entries in the ru catalog (no "#, fuzzy" left),
then `make messages` again to compile.
"""

from __future__ import annotations

import gettext
import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import otklik

PACKAGE_DIR = Path(otklik.__file__).resolve().parent
LOCALE_DIR = PACKAGE_DIR / "locale"
RU_PO = LOCALE_DIR / "ru" / "LC_MESSAGES" / "django.po"
RU_MO = LOCALE_DIR / "ru" / "LC_MESSAGES" / "django.mo"
EN_PO = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
EN_MO = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.mo"

RU_PLURAL_FORMS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);"
)
EN_PLURAL_FORMS = "nplurals=2; plural=(n != 1);"
GETTEXT_TOOLS = ("xgettext", "msgmerge", "msguniq", "msgattrib", "msgfmt")


# --- a small PO reader (the project does not depend on polib) -------------------------------------------


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    line: int = 0

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    @property
    def where(self) -> str:
        ref = self.references[0] if self.references else "?"
        ctx = f" [context {self.msgctxt!r}]" if self.msgctxt else ""
        return f"{self.msgid!r}{ctx} (po line {self.line}, used in {ref})"

    @property
    def translations(self) -> list[str]:
        if self.msgid_plural is not None:
            return [self.msgstr_plural.get(i, "") for i in range(max(self.msgstr_plural, default=-1) + 1)]
        return [self.msgstr]


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unquote(text: str, path: Path, lineno: int) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"{path}:{lineno}: expected a quoted string, got {text!r}")
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text[1:-1])


def parse_po(path: Path) -> tuple[dict[str, str], list[Entry]]:
    """Return (header fields, entries) of a .po file; obsolete (#~) entries are left out."""
    entries: list[Entry] = []
    cur: Entry | None = None
    flags: set[str] = set()
    refs: list[str] = []
    target: tuple[str, int | None] | None = None
    seen_msgstr = False

    def finish():
        nonlocal cur, flags, refs, target, seen_msgstr
        if cur is not None:
            entries.append(cur)
        cur, flags, refs, target, seen_msgstr = None, set(), [], None, False

    def append(entry: Entry, where: tuple[str, int | None], text: str):
        name, index = where
        if name == "msgstr_plural":
            entry.msgstr_plural[index] = entry.msgstr_plural.get(index, "") + text
        else:
            setattr(entry, name, (getattr(entry, name) or "") + text)

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#"):
            if cur is not None and seen_msgstr:
                finish()
            if line.startswith("#,"):
                flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            elif line.startswith("#:"):
                refs += line[2:].split()
            continue
        m = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")$", line)
        if m:
            keyword, index, value = m.group(1), m.group(2), _unquote(m.group(3), path, lineno)
            if keyword in ("msgctxt", "msgid"):
                if cur is not None and seen_msgstr:
                    finish()  # the next entry follows without a blank line
                if cur is None:
                    cur = Entry(msgid="", flags=flags, references=refs, line=lineno)
            if cur is None:
                raise ValueError(f"{path}:{lineno}: {keyword} before msgid")
            if keyword == "msgctxt":
                cur.msgctxt, target = value, ("msgctxt", None)
            elif keyword == "msgid":
                cur.msgid, target = value, ("msgid", None)
            elif keyword == "msgid_plural":
                cur.msgid_plural, target = value, ("msgid_plural", None)
            elif index is not None:
                cur.msgstr_plural[int(index)] = value
                target, seen_msgstr = ("msgstr_plural", int(index)), True
            else:
                cur.msgstr, target, seen_msgstr = value, ("msgstr", None), True
            continue
        if line.startswith('"') and cur is not None and target is not None:
            append(cur, target, _unquote(line, path, lineno))
            continue
        raise ValueError(f"{path}:{lineno}: cannot parse {raw!r}")
    finish()

    header: dict[str, str] = {}
    if entries and entries[0].msgid == "" and entries[0].msgctxt is None:
        head = entries.pop(0)
        header["#fuzzy"] = "yes" if "fuzzy" in head.flags else ""
        for item in head.msgstr.splitlines():
            name, _sep, value = item.partition(":")
            header[name.strip()] = value.strip()
    return header, entries


# --- placeholders ------------------------------------------------------------------------------------------

PY_FORMAT = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])"
)
BRACE_FORMAT = re.compile(r"(?<!\{)\{(?P<name>[A-Za-z_][A-Za-z0-9_]*|\d*)(?:![rsa])?(?::[^{}]*)?\}(?!\})")


def py_placeholders(text: str) -> tuple[list[str], int, bool]:
    """(sorted named placeholders with their conversion, number of positional ones, has a stray %)."""
    named, positional = [], 0
    for m in PY_FORMAT.finditer(text):
        if m.group("conv") == "%":
            continue
        if m.group("name") is not None:
            named.append(f"{m.group('name')}:{m.group('conv')}")
        else:
            positional += 1
    stray = "%" in PY_FORMAT.sub("", text)
    return sorted(named), positional, stray


def uses_python_format(entry: Entry) -> bool:
    if "no-python-format" in entry.flags:
        return False
    if "python-format" in entry.flags:
        return True
    named, positional, _stray = py_placeholders(entry.msgid + (entry.msgid_plural or ""))
    return bool(named or positional)


# --- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ru_catalog() -> tuple[dict[str, str], list[Entry]]:
    assert RU_PO.exists(), f"{RU_PO} is missing: run `make messages`"
    return parse_po(RU_PO)


def _require_gettext_tools() -> None:
    missing = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    reason = (
        f"!!! GNU gettext tools missing ({', '.join(missing)}): the translation catalog was NOT checked "
        "against the source. Install gettext (apt-get install gettext) to run this test. !!!"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


# --- (a) everything is translated --------------------------------------------------------------------------


def test_ru_catalog_header(ru_catalog):
    header, _entries = ru_catalog
    assert header.get("#fuzzy") != "yes", "the header of the ru catalog is marked fuzzy"
    assert header.get("Language") == "ru"
    assert "charset=UTF-8" in header.get("Content-Type", "")
    assert header.get("Plural-Forms") == RU_PLURAL_FORMS


def test_en_catalog_header_and_source_strings():
    header, entries = parse_po(EN_PO)
    assert header.get("Language") == "en"
    assert "charset=UTF-8" in header.get("Content-Type", "")
    assert header.get("Plural-Forms") == EN_PLURAL_FORMS
    # English is the source language: the English catalog exists for completeness and stays empty.
    filled = [e.where for e in entries if any(e.translations) and e.translations != [e.msgid]]
    assert not filled, f"the en catalog should leave msgstr empty (the source is English): {filled[:10]}"


def test_ru_catalog_is_not_empty(ru_catalog):
    _header, entries = ru_catalog
    assert len(entries) > 100


def test_every_ru_string_is_translated(ru_catalog):
    _header, entries = ru_catalog
    problems = []
    for e in entries:
        if "fuzzy" in e.flags:
            problems.append(f"fuzzy (check the translation, then remove the flag): {e.where}")
        if e.msgid_plural is not None:
            forms = e.msgstr_plural
            if sorted(forms) != [0, 1, 2]:
                problems.append(f"needs exactly 3 plural forms, has {sorted(forms)}: {e.where}")
            for index, text in forms.items():
                if not text.strip():
                    problems.append(f"plural form {index} is empty: {e.where}")
        elif not e.msgstr.strip():
            problems.append(f"not translated: {e.where}")
    assert not problems, f"{len(problems)} problem(s) in {RU_PO}:\n" + "\n".join(problems)


def test_ru_catalog_has_no_duplicates(ru_catalog):
    _header, entries = ru_catalog
    keys = [e.key for e in entries]
    duplicates = sorted({k for k in keys if keys.count(k) > 1}, key=str)
    assert not duplicates


# --- (b) placeholders are kept -----------------------------------------------------------------------------


def test_ru_placeholders_match(ru_catalog):
    _header, entries = ru_catalog
    problems = []
    for e in entries:
        sources = [e.msgid] if e.msgid_plural is None else [e.msgid_plural] * len(e.translations)
        for index, (source, text) in enumerate(zip(sources, e.translations, strict=True)):
            if not text:
                continue  # reported by test_every_ru_string_is_translated
            label = e.where if e.msgid_plural is None else f"{e.where}, form {index}"
            if uses_python_format(e):
                want_named, want_positional, _ = py_placeholders(source)
                if e.msgid_plural is not None:
                    # Every Russian form serves many numbers (form 0: 1, 21, 31...), so each keeps the plural's names.
                    want_named = sorted(set(want_named) | set(py_placeholders(e.msgid)[0]))
                got_named, got_positional, stray = py_placeholders(text)
                if e.msgid_plural is not None:
                    got_named = sorted(set(got_named))
                if got_named != want_named:
                    problems.append(f"named placeholders {got_named} != {want_named}: {label}")
                if got_positional != want_positional:
                    problems.append(
                        f"{got_positional} positional %s placeholder(s), source has {want_positional}: {label}"
                    )
                if stray:
                    problems.append(f"a lone % in a format string (write %%): {label}")
            if "python-brace-format" in e.flags:
                want = sorted(m.group("name") for m in BRACE_FORMAT.finditer(source))
                got = sorted(m.group("name") for m in BRACE_FORMAT.finditer(text))
                if want != got:
                    problems.append(f"brace placeholders {got} != {want}: {label}")
            for edge, pick in (("start", str.startswith), ("end", str.endswith)):
                if pick(source, "\n") != pick(text, "\n"):
                    problems.append(
                        f"the translation must {'' if pick(source, chr(10)) else 'not '}{edge} with a newline: {label}"
                    )
    assert not problems, f"{len(problems)} placeholder problem(s) in {RU_PO}:\n" + "\n".join(problems)


def test_ru_catalog_passes_msgfmt_check():
    """msgfmt --check validates format strings, plural forms and the header the same way the build does."""
    if shutil.which("msgfmt") is None:
        _require_gettext_tools()
    result = subprocess.run(
        ["msgfmt", "--check", "--output-file", os.devnull, str(RU_PO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# --- (c) the catalog is up to date with the source ---------------------------------------------------------


def _fingerprint(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*.po"))
    }


# The names makemessages extracts (xgettext's Python defaults and Django's keywords): a translation
# function imported under another name is never extracted, so its strings stay in English.
EXTRACTED_NAMES = {
    "_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy", "pgettext",
    "pgettext_lazy", "npgettext", "npgettext_lazy",
}  # fmt: skip
TRANSLATION_IMPORT = re.compile(
    r"from django\.utils\.translation import ([^\n]*(?:\([^)]*\))?)", re.MULTILINE
)


def test_translation_functions_are_imported_under_names_makemessages_extracts():
    wrong = []
    for path in PACKAGE_DIR.rglob("*.py"):
        for match in TRANSLATION_IMPORT.finditer(path.read_text(encoding="utf-8")):
            for name in re.split(r"[,()\s]+", match.group(1).replace(" as ", "=")):
                original, _, alias = name.partition("=")
                if alias and "gettext" in original and alias not in EXTRACTED_NAMES:
                    wrong.append(f"{path.relative_to(PACKAGE_DIR)}: {original} as {alias}")
    assert not wrong, wrong


def test_ru_catalog_covers_every_source_string(ru_catalog, tmp_path):
    """Extract the strings from a copy of the source tree and look each one up in the committed catalog."""
    _require_gettext_tools()
    copy_root = tmp_path / "src"
    copy = copy_root / "otklik"
    shutil.copytree(
        PACKAGE_DIR,
        copy,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "locale", "node_modules", ".*"),
    )
    (copy / "locale").mkdir()
    before = _fingerprint(LOCALE_DIR)
    env = {
        **os.environ,
        # The copy comes first on the path, so its settings (and their LOCALE_PATHS) point into tmp_path:
        # the committed catalog is never touched.
        "PYTHONPATH": os.pathsep.join([str(copy_root), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "DJANGO_SETTINGS_MODULE": "otklik.settings",
        "OTKLIK_DATA_DIR": str(tmp_path / "data"),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "ru",
            "--no-obsolete",
            "--ignore",
            "migrations/*",
        ],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"
    assert _fingerprint(LOCALE_DIR) == before, (
        "makemessages wrote into the committed catalog instead of the copy"
    )
    generated = copy / "locale" / "ru" / "LC_MESSAGES" / "django.po"
    assert generated.exists(), f"makemessages produced no catalog:\n{result.stdout}\n{result.stderr}"

    _header, source_entries = parse_po(generated)
    _header, committed_entries = ru_catalog
    committed = {e.key: e for e in committed_entries}
    problems = []
    for e in source_entries:
        have = committed.get(e.key)
        if have is None:
            problems.append(
                f"new string, not in the catalog: {e.where.replace('(po line', '(generated line')}"
            )
        elif (have.msgid_plural is None) != (e.msgid_plural is None) or (
            have.msgid_plural is not None and have.msgid_plural != e.msgid_plural
        ):
            problems.append(f"plural changed in the source: {have.where}")
        elif "fuzzy" in have.flags or not all(t.strip() for t in have.translations):
            problems.append(f"in the catalog but not translated: {have.where}")
    assert not problems, (
        f"{len(problems)} source string(s) lack a Russian translation. Run `make messages`, translate them in "
        f"{RU_PO.relative_to(PACKAGE_DIR.parent.parent)}, then `make messages` again to compile:\n"
        + "\n".join(problems)
    )


# --- (d) the compiled catalogs match the .po ---------------------------------------------------------------


def test_ru_mo_matches_po(ru_catalog):
    assert RU_MO.exists(), f"{RU_MO} is missing: run `otklik compilemessages` (or `make messages`)"
    with RU_MO.open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    _header, entries = ru_catalog
    assert mo.info().get("plural-forms", "").replace(" ", "") == RU_PLURAL_FORMS.replace(" ", "")
    # Russian plural rule: 1, 21 -> one; 2, 3, 22 -> few; 5, 11, 12, 25 -> many.
    assert [mo.plural(n) for n in (1, 21, 2, 3, 22, 5, 11, 12, 14, 25, 111)] == [
        0,
        0,
        1,
        1,
        1,
        2,
        2,
        2,
        2,
        2,
        2,
    ]
    stale = []
    for e in entries:
        if "fuzzy" in e.flags:
            continue  # msgfmt leaves fuzzy entries out; reported elsewhere
        if e.msgid_plural is None:
            got = mo.pgettext(e.msgctxt, e.msgid) if e.msgctxt else mo.gettext(e.msgid)
            if got != e.msgstr:
                stale.append(f"{e.where}: .mo has {got!r}, .po has {e.msgstr!r}")
        else:
            for n, form in ((1, 0), (2, 1), (5, 2)):
                if e.msgctxt:
                    got = mo.npgettext(e.msgctxt, e.msgid, e.msgid_plural, n)
                else:
                    got = mo.ngettext(e.msgid, e.msgid_plural, n)
                if got != e.msgstr_plural.get(form):
                    stale.append(f"{e.where} (n={n}): .mo has {got!r}, .po has {e.msgstr_plural.get(form)!r}")
    assert not stale, (
        f"the compiled {RU_MO.name} is older than the .po; run `otklik compilemessages` (in src/otklik):\n"
        + "\n".join(stale[:30])
    )


def test_en_mo_exists_and_loads():
    assert EN_MO.exists(), f"{EN_MO} is missing: run `otklik compilemessages`"
    with EN_MO.open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    assert mo.gettext("Log in") == "Log in"
    assert mo.ngettext("Delete %(n)s ticket?", "Delete %(n)s tickets?", 2) == "Delete %(n)s tickets?"


# --- (e) the pages speak the visitor's language ------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_in_russian(client):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="ru">' in html
    assert "Войти" in html
    assert "Log in" not in html


@pytest.mark.django_db
def test_login_page_in_english(client):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Log in" in html
    assert "Войти" not in html


@pytest.mark.django_db
def test_form_labels_and_plurals_follow_the_language(client):
    from django.utils import translation
    from django.utils.translation import gettext, ngettext

    with translation.override("ru"):
        assert (
            gettext("Hide the message, do not notify the author") == "Сообщение скрыть, автора не оповещать"
        )
        forms = [
            ngettext("%(action)s: %(n)s ticket", "%(action)s: %(n)s tickets", n)
            % {"action": "Закрыть", "n": n}
            for n in (1, 3, 5, 21)
        ]
        assert forms == [
            "Закрыть: 1 обращение",
            "Закрыть: 3 обращения",
            "Закрыть: 5 обращений",
            "Закрыть: 21 обращение",
        ]
    with translation.override("en"):
        assert (
            gettext("Hide the message, do not notify the author")
            == "Hide the message, do not notify the author"
        )
    response = client.get("/register/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 200
    assert "Регистрация" in response.content.decode()
