"""Full-text search helpers shared by the apps: Snowball stemming and safe query building (ru + en).

PostgreSQL indexes text with its `russian` and `english` configurations, which are the Snowball stemmers;
embedded SQLite has FTS5, which has none, so the text FTS5 indexes is stemmed here by the same Snowball
algorithms (the `snowballstemmer` package) and the query words are stemmed alike. Query words match as
prefixes of the indexed stems on both databases, which also lets a word still being typed match ("опла").

Russian stems of one word can differ by a suffix letter ("доставка" -> "доставк", "доставили" ->
"достав"), so a query stem ending in such a letter is shortened by it: the three forms then meet.
"""

from __future__ import annotations

import functools

import snowballstemmer

# The longest query the helpers look at, and how many words of it count.
MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 12

# The stop words of PostgreSQL's english and russian configurations (Snowball's lists). A query drops
# them: PostgreSQL does not index them, so requiring them would find nothing there.
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
    herself it its itself they them their theirs themselves what which who whom this that these those am is
    are was were be been being have has had having do does did doing a an the and but if or because as until
    while of at by for with about against between into through during before after above below to from up
    down in out on off over under again further then once here there when where why how all any both each few
    more most other some such no nor not only own same so than too very s t can will just don should now
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот от
    меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь опять уж
    вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без
    будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом один
    почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец два об другой хоть после
    над больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой перед
    иногда лучше чуть том нельзя такой им более всегда конечно всю между""".split()
)

# Letters a Russian stem may keep from a suffix (-к-, -л-): dropped from a query stem of 6+ letters.
_RU_SUFFIX_LETTERS = "кл"


@functools.cache
def _stemmer(language: str):
    return snowballstemmer.stemmer(language)


def words(text: str) -> list[str]:
    """Split `text` into lower-case words on every non-alphanumeric character (as FTS5's unicode61 does)."""
    return "".join(ch if ch.isalnum() else " " for ch in (text or "").lower()).split()


def _is_cyrillic(word: str) -> bool:
    return any("а" <= ch <= "я" or ch == "ё" for ch in word)


def stem(word: str) -> str:
    """Return the Snowball stem of one lower-case word: Russian for Cyrillic, English for Latin letters."""
    if _is_cyrillic(word):
        return _stemmer("russian").stemWord(word.replace("ё", "е"))
    if word.isascii() and word.isalpha():
        return _stemmer("english").stemWord(word)
    return word


def stemmed_text(text: str) -> str:
    """Return `text` as its words' stems separated by spaces: the text FTS5 indexes."""
    return " ".join(stem(w) for w in words(text))


def query_stems(text: str) -> list[str]:
    """Return the prefixes a query's words must match: stems, stop words left out (unless all are),
    each at most once, at most MAX_QUERY_WORDS of them."""
    found = words((text or "")[:MAX_QUERY_CHARS])
    kept = [w for w in found if w not in STOP_WORDS] or found
    stems: list[str] = []
    for word in kept:
        s = stem(word)
        if _is_cyrillic(s) and len(s) >= 6 and s[-1] in _RU_SUFFIX_LETTERS:
            s = s[:-1]
        if s and s not in stems:
            stems.append(s)
    return stems[:MAX_QUERY_WORDS]


def fts5_match(stems: list[str], column: str | None = None) -> str:
    """Return an FTS5 query requiring every stem as a prefix (quoted: user text never becomes syntax)."""
    query = " AND ".join(f'"{s}"*' for s in stems)
    return f"{{{column}}} : ({query})" if column and query else query


def tsquery(stems: list[str], weight: str = "") -> str:
    """Return a `to_tsquery('simple', ...)` text requiring every stem as a prefix, optionally only in
    lexemes of `weight` ("A" for titles)."""
    return " & ".join(f"'{s}':*{weight}" for s in stems)
