"""Decode mail headers and bodies: declared charsets (with real-world aliases), RFC 2047 words, raw 8-bit.

Undeclared 8-bit text is tried as UTF-8 first. Otherwise a small letter-frequency model chooses between
cp1251 and KOI8-R: both map the bytes 0xC0-0xFF to Cyrillic letters, but with the cases swapped and the
letters shuffled, so the right decoding reads as mostly lower-case common letters and the wrong one as
upper-case rare ones. Text whose 8-bit bytes stand alone between ASCII letters ("caf\\xe9") is Western
European, not Russian (Russian words are made of 8-bit bytes only), and is decoded as cp1252/latin-1.
Every guess and every replaced byte is reported to the caller as a human-readable defect.
"""

from __future__ import annotations

import binascii
import codecs
import math
import re
from datetime import UTC, datetime
from email import utils as email_utils

# Labels seen in real mail that Python does not know, or knows as a narrower codec than the sender used.
# Western mail labelled latin-1 is nearly always cp1252 (curly quotes in 0x80-0x9F), as browsers assume.
_ALIASES = {
    "ks_c_5601-1987": "cp949", "ks_c_5601-1989": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949",
    "x-euc-kr": "cp949", "gb2312": "gb18030", "gb_2312-80": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "cp936": "gb18030", "x-x-big5": "big5", "shift_jis": "cp932", "shift-jis": "cp932", "x-sjis": "cp932",
    "sjis": "cp932", "windows-31j": "cp932", "unicode-1-1-utf-7": "utf-7", "uft-8": "utf-8", "utf8": "utf-8",
    "x-utf-8": "utf-8", "iso-8859-8-i": "iso-8859-8", "iso-8859-6-i": "iso-8859-6", "win-1251": "cp1251",
    "x-cp1251": "cp1251", "koi8r": "koi8-r", "x-mac-cyrillic": "mac-cyrillic", "x-mac-roman": "mac-roman",
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
}  # fmt: skip
# Labels that say nothing about the bytes: treat the text as undeclared.
_UNDECLARED = {"", *"us-ascii ascii ansi_x3.4-1968 unknown-8bit x-unknown unknown 8bit default".split()}
# Codecs Python has but that are not text encodings of mail (or would let a sender inject escapes).
# Codecs the guesser chooses among by itself: a declared one of these is no better a hint than statistics.
_GUESSABLE = {"ascii", "utf-8", "cp1251", "koi8-r", "cp1252", "iso8859-1"}
_REFUSED = {"undefined", "idna", "punycode", "unicode_escape", "raw_unicode_escape", "mbcs", "oem"}

# Letter frequencies of Russian text, per cent (case-folded).
_RUSSIAN_FREQ = {
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47, "р": 4.73, "в": 4.54,
    "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81, "у": 2.62, "я": 2.01, "ы": 1.90, "ь": 1.74,
    "г": 1.70, "з": 1.65, "б": 1.59, "ч": 1.44, "й": 1.21, "х": 0.97, "ж": 0.94, "ш": 0.73, "ю": 0.64,
    "ц": 0.48, "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.04, "ё": 0.2,
}  # fmt: skip
_LOG_FREQ = {letter: math.log(share) for letter, share in _RUSSIAN_FREQ.items()}
# Frequent Russian letter pairs: short all-caps subjects need more than single-letter frequencies.
_BIGRAMS = frozenset(
    "ст но то на ен ов ни ра во ко ро ре ал пр ер по ли та ос ан ор ет от ка го ол ел ле ак ла ть ом де "
    "ве ит не ва ат ин он ес ил ог ск ны ый ий ой ая ие ые ых ую ся че ча из за бы об ри ру ем им ам ми "
    "ме ма мо ду да ди до тр вы ту св се са со ки ку ут чт ег ев ей ай ас ав уд ач ус ль ьн ож тв ке зн "
    "ид яв ят ия".split()
)
_NO_WORD_START = set("ьъы")
_PUNCTUATION_8BIT = set("«»–—…„“”‘’№·•°\u00a0")

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
_SAMPLE_SIZE = 65536
_VOWELS = set("аеёиоуыэюя")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")
_IDENTITY_ENCODINGS = {"", "7bit", "8bit", "binary", "7-bit", "8-bit", "8bits", "7bits", "plain"}
_UU_ENCODINGS = {"x-uuencode", "uuencode", "uue", "x-uue"}
_MESSAGE_ID = re.compile(r"<([^<>]*)>")
_USABLE_ADDRESS = re.compile(r"^(\"[^\"\\\r\n]*\"|[^@\s<>(),;:\"\[\]\\]+)@[^@\s<>(),;:\"\[\]\\]+$")
_ADDRESS_IN_TEXT = re.compile(r"[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+\.[^@\s<>(),;:\"\[\]\\]+")
# Control characters, and the two private-use characters quotes.py uses to mark quote containers.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001]")


def unfold(value: str) -> str:
    """Join a folded header value into one line and drop stray line breaks."""
    return _FOLD.sub("", value).replace("\r", "").replace("\n", "")


def to_bytes(value: str) -> bytes:
    """Turn a parser string (8-bit bytes kept as surrogate escapes) back into its bytes."""
    return value.encode("utf-8", "surrogateescape")


def clean_text(value: str) -> str:
    """Drop control characters (databases choke on NUL) and quote marks; keep tabs and newlines."""
    if not value.isascii():
        value = value.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
    return _CONTROL.sub("", value)


def resolve_charset(label: str | None) -> str | None:
    """Return the Python codec for a MIME charset label, or None when it is unknown or not a text codec."""
    name = (label or "").strip().strip("\"'").lower().split("*", 1)[0]
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if info.name in _REFUSED or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_bytes(
    data: bytes, charset: str | None, where: str, defects: list[str], hint: str | None = None
) -> str:
    """Decode bytes in their declared charset, or guess (helped by `hint`) when it is missing or wrong."""
    label = (charset or "").strip().strip("\"'").lower()
    if label in _UNDECLARED:
        return decode_undeclared(data, where, defects, hint)
    codec = resolve_charset(label)
    if codec is None:
        defects.append(f"unknown charset {clean_text(label)[:40]} ({where})")
        return decode_undeclared(data, where, defects, hint)
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError, ValueError, TypeError):
        pass
    if codec == "utf-8":
        # "UTF-8" on cp1251 bytes is a common lie: guess rather than fill the text with replacement marks.
        return decode_undeclared(data, where, defects, hint)
    defects.append(f"undecodable bytes replaced in {where}")
    try:
        return data.decode(codec, "replace")
    except (UnicodeError, LookupError, ValueError, TypeError):
        return data.decode("latin-1")


def decode_undeclared(data: bytes, where: str, defects: list[str], hint: str | None = None) -> str:
    """Decode bytes of unknown charset: ASCII, UTF-8, mostly valid UTF-8, the hint, else a guessed charset."""
    return _decode_raw_pieces([data], where, defects, hint)[0]


def _hinted(data: bytes, hint: str | None) -> str | None:
    """Return the codec of the charset declared elsewhere in the mail, if it fits and the guesser lacks it.

    Raw 8-bit headers are usually in the charset of the body; that settles Chinese or Japanese, which the
    guesser does not know. cp1251 and KOI8-R decode any bytes, so between those the guesser still decides.
    """
    codec = resolve_charset(hint) if hint else None
    if codec is None or codec in _GUESSABLE:
        return None
    try:
        data.decode(codec)
    except (UnicodeError, LookupError, ValueError, TypeError):
        return None
    return codec


def _sample(data: bytes) -> bytes:
    """Return a bounded piece of the data around its first 8-bit byte: guessing needs no more."""
    first = _HIGH_RUN.search(data)
    start = max(0, first.start() - 1024) if first else 0
    return data[start : start + _SAMPLE_SIZE]


def _mostly_utf8(data: bytes) -> bool:
    """Tell UTF-8 with a few broken bytes (a name cut mid-character) from text in another charset."""
    text = _sample(data).decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for char in text if char > "\x7f" and char != "\ufffd")
    return good >= 2 and good >= 3 * bad


def guess_single_byte(data: bytes) -> str:
    """Return "cp1251", "koi8-r", "cp1252" or "latin-1" for undeclared 8-bit bytes that are not UTF-8."""
    sample = _sample(data)
    if _looks_cyrillic(sample):
        scores = {codec: cyrillic_score(sample.decode(codec, "replace")) for codec in ("cp1251", "koi8-r")}
        return max(scores, key=lambda codec: scores[codec])
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _looks_cyrillic(data: bytes) -> bool:
    """Say whether 8-bit bytes form words of their own, as Russian letters do, not accents in Latin words."""
    high = touching_latin = in_long_runs = 0
    for run in _HIGH_RUN.finditer(data):
        length = run.end() - run.start()
        high += length
        before = data[run.start() - 1 : run.start()]
        after = data[run.end() : run.end() + 1]
        if before.isalpha() or after.isalpha():
            touching_latin += length
        if length >= 3:
            in_long_runs += length
    return high > 0 and (touching_latin * 10 <= high * 3 or in_long_runs * 10 >= high * 6)


def cyrillic_score(text: str) -> float:
    """Score how much a decoding reads like Russian: common letters, vowels between consonants, sane case."""
    score = 0.0
    previous = " "
    consonants = 0
    for char in text:
        lower = char.lower()
        log_freq = _LOG_FREQ.get(lower)
        if log_freq is None:
            consonants = 0
            if char >= "\x80" and char not in _PUNCTUATION_8BIT:
                score -= 4.0  # pseudo-graphics: what KOI8-R makes of cp1251 punctuation, and vice versa
            previous = char
            continue
        score += log_freq
        previous_lower = previous.lower()
        if previous_lower in _LOG_FREQ:
            score += 1.0 if previous_lower + lower in _BIGRAMS else 0.0
        elif lower in _NO_WORD_START:
            score -= 3.0
        if char == lower:
            score += 0.25
        elif previous in _LOG_FREQ:
            score -= 3.5  # "пРИВЕТ": upper case after lower case inside a word marks the wrong decoding
        consonants = 0 if lower in _VOWELS else consonants + 1
        if consonants > 3:
            score -= 1.5  # "япнвмн": Russian rarely stacks four consonants
        previous = char
    return score


def decode_header_text(value: str, where: str, defects: list[str], hint: str | None = None) -> str:
    """Decode a raw header value: unfold, decode RFC 2047 words, guess raw 8-bit text, drop control chars."""
    text = unfold(value)
    pieces: list[tuple[bytes, str | None]] = []  # (bytes, charset of an encoded word or None for raw text)
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        previous_encoded = bool(pieces) and pieces[-1][1] is not None
        if between and not (previous_encoded and not between.strip()):
            pieces.append((to_bytes(between), None))  # RFC 2047: blanks between two encoded words vanish
        word = _decode_word(match.group(2), match.group(3))
        charset = match.group(1).split("*", 1)[0].lower()
        if word is None:
            defects.append(f"broken encoded word in {where}")
            pieces.append((to_bytes(match.group(0)), None))
        elif pieces and pieces[-1][1] == charset:
            pieces[-1] = (pieces[-1][0] + word, charset)  # a character may be split over two words
        else:
            pieces.append((word, charset))
        position = match.end()
    pieces.append((to_bytes(text[position:]), None))
    raw = iter(
        _decode_raw_pieces([data for data, charset in pieces if charset is None], where, defects, hint)
    )
    out = [
        next(raw) if charset is None else decode_bytes(data, charset, where, defects)
        for data, charset in pieces
    ]
    return clean_text("".join(out))


def _decode_raw_pieces(pieces: list[bytes], where: str, defects: list[str], hint: str | None) -> list[str]:
    """Decode undeclared pieces (of one header) together, so that the guess sees all of their 8-bit bytes."""
    joined = b"".join(pieces)
    if joined.isascii():
        return [piece.decode("ascii") for piece in pieces]
    try:
        joined.decode("utf-8")
        codec = "utf-8"
    except UnicodeDecodeError:
        codec = "utf-8" if _mostly_utf8(joined) else _hinted(joined, hint) or guess_single_byte(joined)
        if codec == "utf-8":
            defects.append(f"undecodable bytes replaced in {where}")
        else:
            defects.append(f"charset guessed: {codec} ({where})")
    return [piece.decode(codec, "replace") for piece in pieces]


def _decode_word(encoding: str, payload: str) -> bytes | None:
    """Decode the payload of one encoded word ("B" or "Q"); None when it is not decodable."""
    try:
        data = payload.encode("ascii")
    except UnicodeEncodeError:
        return None
    try:
        if encoding in "qQ":
            return binascii.a2b_qp(data, header=True)
        data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        if len(data) % 4 == 1:
            data = data[:-1]  # a lone trailing sextet carries no whole byte
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return None


def decode_filename(raw: str, defects: list[str], hint: str | None = None) -> str:
    """Decode an attachment's file name and make it safe: no path separators or control characters, <= 255."""
    name = _UNSAFE_NAME.sub("_", header_text(raw, "attachment name", defects, hint)).strip(" .")
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        keep = dot + extension if stem and len(extension) <= 16 else ""
        name = name[: 255 - len(keep)] + keep
    return name


def decode_transfer(data: bytes, encoding: str, defects: list[str]) -> bytes:
    """Undo a Content-Transfer-Encoding leniently; an unknown one leaves the bytes as they are."""
    name = encoding.lower().split(";", 1)[0].split("(", 1)[0].strip()
    name = re.sub(r"[\s_]+", "-", name)  # "quoted printable" is seen in the wild
    try:
        if name == "base64":
            return _decode_base64(data, defects)
        if name == "quoted-printable":
            return binascii.a2b_qp(data)
        if name in _UU_ENCODINGS:
            return _decode_uu(data, defects)
    except (binascii.Error, ValueError, IndexError):
        defects.append(f"{name} payload not decoded; kept as is")
        return data
    if name not in _IDENTITY_ENCODINGS:
        defects.append(f"unknown transfer encoding {clean_text(name)[:30]}; payload kept as is")
    return data


def _decode_base64(data: bytes, defects: list[str]) -> bytes:
    """Decode base64, tolerating junk characters and bad padding."""
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        defects.append("broken base64 repaired")
    cleaned = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]  # a lone trailing sextet carries no whole byte
    return binascii.a2b_base64(cleaned + b"=" * (-len(cleaned) % 4))


def _decode_uu(data: bytes, defects: list[str]) -> bytes:
    """Decode a uuencoded payload between its "begin" and "end" lines."""
    out = bytearray()
    started = False
    for line in data.splitlines():
        if not started:
            started = line.lower().startswith(b"begin")
        elif line.strip().lower() == b"end":
            break
        else:
            try:
                out += binascii.a2b_uu(line)
            except binascii.Error:
                # As the stdlib does for broken encoders: trust the length byte and cut the line.
                try:
                    out += binascii.a2b_uu(line[: (((line[0] - 32) & 63) * 4 + 5) // 3])
                except binascii.Error:
                    defects.append("broken uuencoded line skipped")
    return bytes(out)


def normalise_message_id(value: str) -> str:
    """Return a Message-ID without angle brackets and whitespace; "" when absent or empty."""
    match = _MESSAGE_ID.search(value or "")
    return re.sub(r"[<>\s]", "", clean_text(match.group(1) if match else value or ""))  # "<cut@off" too


def message_ids_in(value: str) -> tuple[str, ...]:
    """Return all <...> ids in a References/In-Reply-To value, normalised, in order, without repeats."""
    value = unfold(value or "")
    found = [normalise_message_id(inner) for inner in _MESSAGE_ID.findall(value)]
    if not found:  # ids written without brackets: take the words that look like ids
        found = [normalise_message_id(word) for word in re.split(r"[\s,]+", value) if "@" in word]
    return tuple(dict.fromkeys(message_id for message_id in found if message_id))


def header_text(raw: str | None, where: str, defects: list[str], hint: str | None = None) -> str:
    """Decode a header value to text, "" when absent; never raise (a header is never worth the mail)."""
    if raw is None:
        return ""
    try:
        return decode_header_text(raw, where, defects, hint)
    except Exception as exc:
        defects.append(f"{where} not decoded ({type(exc).__name__})")
        return clean_text(to_bytes(raw).decode("ascii", "replace"))


def decode_address(
    raw: str | None, where: str, defects: list[str], hint: str | None = None
) -> tuple[str, str]:
    """Return (display name, lower-case address) of the first usable address in a header."""
    if not raw:
        return "", ""
    try:
        pairs = email_utils.getaddresses([unfold(raw)])
    except Exception as exc:
        defects.append(f"{where} not parsed ({type(exc).__name__})")
        pairs = []
    first_name = ""
    for name, address in pairs:
        name = header_text(name, f"{where} name", defects, hint).strip() if name else ""
        first_name = first_name or name
        address = header_text(address, where, defects).strip().lower() if address else ""
        if _USABLE_ADDRESS.match(address):
            return name, address
    salvaged = _ADDRESS_IN_TEXT.search(header_text(raw, where, []))
    if salvaged and "<>" not in raw:  # "Big Bug bb@bug.com": no brackets, yet plainly an address
        defects.append(f"address salvaged from malformed {where}")
        return first_name, salvaged.group(0).lower()
    if pairs and pairs[0] != ("", ""):
        defects.append(f"no usable address in {where}")
    return first_name, ""


CC_ADDRESSES_MAX = 100  # a Cc line longer than this is a mailing list's, not colleagues'


def decode_addresses(raw: str | None, where: str, defects: list[str]) -> tuple[str, ...]:
    """Return the usable lower-case addresses of an address-list header (Cc), each once, in order."""
    if not raw:
        return ()
    try:
        pairs = email_utils.getaddresses([unfold(raw)])
    except Exception as exc:
        defects.append(f"{where} not parsed ({type(exc).__name__})")
        return ()
    found: dict[str, None] = {}
    for _name, address in pairs[:CC_ADDRESSES_MAX]:
        address = header_text(address, where, defects).strip().lower() if address else ""
        if _USABLE_ADDRESS.match(address):
            found.setdefault(address, None)
    return tuple(found)


def decode_return_path(raw: str | None, defects: list[str]) -> str | None:
    """Return None without the header, "" for the null path "<>", else the lower-case path."""
    if raw is None:
        return None
    value = unfold(raw).strip()
    if value.replace(" ", "") in ("", "<>"):
        return ""
    address = email_utils.parseaddr(value)[1] or value.strip("<>")
    return header_text(address, "return-path", defects).lower()


def decode_date(raw: str | None, defects: list[str]) -> datetime | None:
    """Return the aware Date, None when absent or unparseable (a date without zone is taken as UTC)."""
    if not raw or not raw.strip():
        return None
    try:
        value = email_utils.parsedate_to_datetime(unfold(raw).strip())
    except Exception:
        defects.append(f"unparseable date: {clean_text(raw.strip())[:60]}")
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
