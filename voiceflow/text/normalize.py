"""English text normalisation for TTS: written-out words, lowercase, single spaces.

    from voiceflow.text.normalize import normalize_text, words_of

    normalize_text("Dr. Smith paid $3.50 on Jan. 5, 2021 at 3:30 pm.")
    # 'doctor smith paid three dollars fifty cents on january fifth twenty twenty one
    #  at three thirty p m'
    words_of("It's 50% off!")        # ["it's", 'fifty', 'percent', 'off']

The output holds only the letters a-z, apostrophes inside words ("don't", "john's") and
single spaces. Everything else is either read out (numbers, currency, %, &, dates, times,
abbreviations, acronyms) or dropped (other punctuation, emoji, letters of other scripts;
accented Latin letters lose their accents: "café" -> "cafe"). Hyphens and slashes split
words. The function is deterministic, idempotent (normalising its own output changes
nothing) and never raises on a string.

Rules (American English; the choices a reader might not guess):

* Cardinals are read without "and": 123 -> "one hundred twenty three"; up to
  999,999,999,999,999 (with or without thousands commas); longer digit strings and numbers
  written with a leading zero ("007") are read digit by digit.
* Years: a bare four-digit number from 1100 to 2099, written without a comma and not part
  of a decimal, amount, percentage or time, is read as a year: 1999 -> "nineteen ninety
  nine", 1905 -> "nineteen oh five", 1900 -> "nineteen hundred", 2005 -> "two thousand
  five", 2021 -> "twenty twenty one". Write "1,999" to get the cardinal. (For round
  hundreds and 2000-2009 the year reading is also the usual quantity reading.)
* Dates: "Jan. 5, 2021" / "January 5th" -> "january fifth [twenty twenty one]";
  "5 January 2021" -> "the fifth of january twenty twenty one"; ISO "2021-01-05" ->
  "january fifth twenty twenty one". Month abbreviations are read only next to a day.
* Times: "3:30 pm" -> "three thirty p m", "3:05" -> "three oh five", "3:00" -> "three
  o'clock", "3pm" -> "three p m".
* Money: "$3.50" -> "three dollars fifty cents", "$1" -> "one dollar", "$2 million" /
  "$2m" -> "two million dollars", "£20" -> "twenty pounds", "€5" -> "five euros".
* Abbreviations: Mr Mrs Ms Prof Jr Sr vs etc e.g. i.e. and "No." before a number. "Dr"
  and "St" are "doctor"/"saint" when the next word is capitalised and the previous word
  is not a number, else "drive"/"street" when the previous word is capitalised or a
  number, else "doctor"/"saint".
* Acronyms: an all-capitals token of 2-4 letters is spelled out ("BBC" -> "b b c") when it
  has no vowel (A E I O U Y) or is in :data:`SPELLED_ACRONYMS` ("USA", "FBI", ...); other
  ones are read as words ("NASA" -> "nasa"). In text with no lowercase letter at all
  (shouting) only the listed ones are spelled. Dotted acronyms ("U.S.A.") are spelled.
  Plurals of acronyms ("CDs") are not handled.
"""

from __future__ import annotations

import re
import unicodedata

from voiceflow.text.numbers import MAX_DIGITS as _MAX_DIGITS
from voiceflow.text.numbers import cardinal, ordinal, year
from voiceflow.text.numbers import digits as _digits
from voiceflow.text.numbers import int_text as _int_text
from voiceflow.text.numbers import number_text as _number_text

__all__ = ["normalize_text", "words_of", "cardinal", "ordinal", "year", "SPELLED_ACRONYMS"]

# --------------------------------------------------------------------------------------
# Unicode clean-up
# --------------------------------------------------------------------------------------

_CHAR_MAP = str.maketrans({
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "ʼ": "'", "′": "'", "`": "'", "´": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": " - ", "―": " - ", "−": "-", "﹣": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ",
    "…": "...",
})


def _clean_unicode(text: str) -> str:
    # NFKC folds compatibility forms (full-width digits, superscripts, ligatures); currency
    # signs survive. Then accents are removed: NFKD splits "é" into "e" + U+0301.
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP)
    text = unicodedata.normalize("NFKD", text)
    # Letters and digits of other scripts separate words (they are dropped later); removing
    # them first keeps word boundaries (and so the result) the same on a second pass.
    return "".join(" " if (ord(c) > 127 and c.isalnum()) else c
                   for c in text if not unicodedata.combining(c))


# --------------------------------------------------------------------------------------
# Patterns (each replacement yields lowercase words padded with spaces, no digits)
# --------------------------------------------------------------------------------------

_MONTHS = ("january february march april may june july august september october "
           "november december").split()
_MONTH_ABBR = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
               "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12}
_MONTH_RE = (r"(?P<month>" + "|".join(_MONTHS) + "|"
             + "|".join(sorted(_MONTH_ABBR, key=len, reverse=True)) + r")\.?")
_DAY_RE = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR_RE = r"(?P<year>[12]\d{3})"


def _month_number(word: str) -> int:
    word = word.lower().rstrip(".")
    return _MONTH_ABBR[word] if word in _MONTH_ABBR else _MONTHS.index(word) + 1


def _w(s: str) -> str:
    return " " + s + " "


def _iso_date(m: re.Match) -> str:
    y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return m[0]
    return _w(f"{_MONTHS[mo - 1]} {ordinal(d)} {year(y)}")


def _month_day(m: re.Match) -> str:
    d = int(m["day"])
    if not 1 <= d <= 31:
        return m[0]
    out = f"{_MONTHS[_month_number(m['month']) - 1]} {ordinal(d)}"
    if m["year"]:
        out += " " + year(int(m["year"]))
    return _w(out)


def _day_month(m: re.Match) -> str:
    d = int(m["day"])
    if not 1 <= d <= 31:
        return m[0]
    out = f"the {ordinal(d)} of {_MONTHS[_month_number(m['month']) - 1]}"
    if m["year"]:
        out += " " + year(int(m["year"]))
    return _w(out)


def _ampm(s: str | None) -> str:
    if not s:
        return ""
    return " " + " ".join(c for c in s.lower() if c.isalpha())


def _time(m: re.Match) -> str:
    h, mi = int(m["h"]), int(m["m"])
    if h > 24 or mi > 59:
        return m[0]
    suffix = _ampm(m["ampm"])
    if mi == 0:
        if suffix:
            out = cardinal(h)
        else:
            out = cardinal(h) + (" hundred" if h > 12 else " o'clock")
    elif mi < 10:
        out = f"{cardinal(h)} oh {cardinal(mi)}"
    else:
        out = f"{cardinal(h)} {cardinal(mi)}"
    if m["s"]:
        out += f" and {cardinal(int(m['s']))} seconds"
    return _w(out + suffix)


def _hour_ampm(m: re.Match) -> str:
    h = int(m["h"])
    if not 1 <= h <= 12:
        return m[0]
    return _w(cardinal(h) + _ampm(m["ampm"]))


# symbol: (unit, units, subunit, subunits)
_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", None, None),
    "₹": ("rupee", "rupees", "paisa", "paise"),
}
_SCALE_WORDS = {"thousand": "thousand", "k": "thousand", "million": "million", "m": "million",
                "mn": "million", "billion": "billion", "bn": "billion", "b": "billion",
                "trillion": "trillion", "tn": "trillion"}
_NUM_RE = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
_SCALE_RE = r"(?:\s?(?:thousand|million|billion|trillion)\b|(?:k|m|mn|bn|b|tn)\b)"


def _money(symbol: str, amount: str, scale: str | None) -> str:
    unit, units, sub, subs = _CURRENCIES[symbol]
    if scale:
        return _w(f"{_number_text(amount)} {_SCALE_WORDS[scale.strip().lower()]} {units}")
    whole, _, frac = amount.partition(".")
    if len(whole.replace(",", "")) > _MAX_DIGITS:
        return _w(f"{_number_text(amount)} {units}")
    whole_n = int(whole.replace(",", "")) if whole else 0
    parts = []
    if frac and sub and len(frac) <= 2:
        cents = int(frac.ljust(2, "0"))
        if whole_n or not cents:
            parts.append(f"{_int_text(whole or '0')} {unit if whole_n == 1 else units}")
        if cents:
            parts.append(f"{cardinal(cents)} {sub if cents == 1 else subs}")
        return _w(" ".join(parts))
    if frac:  # "$1.005", or yen with decimals: read the number
        return _w(f"{_number_text(amount)} {units}")
    return _w(f"{_int_text(whole)} {unit if whole_n == 1 else units}")


def _money_before(m: re.Match) -> str:
    return _money(m["sym"], m["num"], m["scale"])


_CURRENCY_CLASS = "[" + re.escape("".join(_CURRENCIES)) + "]"


def _percent(m: re.Match) -> str:
    sign = "minus " if m["neg"] else ""
    return _w(f"{sign}{_number_text(m['num'])} percent")


def _ordinal_sub(m: re.Match) -> str:
    plain = m["num"].replace(",", "")
    if len(plain) > _MAX_DIGITS:
        return _w(_digits(plain))
    return _w(ordinal(int(plain)))


def _plural_word(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def _decade(m: re.Match) -> str:
    """1990s -> 'nineteen nineties', 80s -> 'eighties', 2000s -> 'two thousands'."""
    num = m["num"]
    words = (year(int(num)) if len(num) == 4 else cardinal(int(num))).split()
    return _w(" ".join(words[:-1] + [_plural_word(words[-1])]))


def _plain_number(m: re.Match) -> str:
    num = m["num"]
    sign = "minus " if m["neg"] else ""
    if not sign and re.fullmatch(r"1[1-9]\d\d|20\d\d", num):
        return _w(year(int(num)))
    return _w(sign + _number_text(num))


# --------------------------------------------------------------------------------------
# Abbreviations and acronyms
# --------------------------------------------------------------------------------------

# Always expanded (case-sensitive keys; a trailing period is consumed).
_ABBREVIATIONS = {
    "Mr": "mister", "Mrs": "missus", "Ms": "miz", "Prof": "professor", "Jr": "junior",
    "Sr": "senior", "vs": "versus", "Vs": "versus", "etc": "et cetera", "Etc": "et cetera",
    "mr": "mister", "mrs": "missus", "prof": "professor", "Mt": "mount", "Ave": "avenue", "approx": "approximately", "Approx": "approximately",
}
_TITLE_OR_STREET = {"Dr": ("doctor", "drive"), "St": ("saint", "street"),
                    "dr": ("doctor", "drive"), "st": ("saint", "street")}

#: Acronyms with vowels that are spelled letter by letter (all-caps, 2-4 letters).
SPELLED_ACRONYMS = frozenset("""
US USA UK EU UN FBI CIA NSA IRS CEO CFO CTO AI ID IOU UFO PC TV DVD CD NY LA DC EP
UAE USB URL API GPU CPU IQ ICU IT IO IOS UI UX HIV BBC ABC CBS NBC MIT UCLA IBM OECD
""".split())

_LEFTOVER_ABBREVIATIONS = {k: v for k, v in _ABBREVIATIONS.items() if k.islower()}
_LEFTOVER_ABBREVIATIONS.update({k: v[0] for k, v in _TITLE_OR_STREET.items() if k.islower()})

_ACRONYM_WORDS = {"OK": "okay"}

_WORD = re.compile(r"[A-Za-z][A-Za-z']*|\d\w*")


def _abbreviations(text: str) -> str:
    text = re.sub(r"\be\.\s?g\.", " for example ", text, flags=re.I)
    text = re.sub(r"\bi\.\s?e\.", " that is ", text, flags=re.I)
    text = re.sub(r"\b[Nn]o\.\s?(?=\d)", " number ", text)
    text = re.sub(r"#\s?(?=\d)", " number ", text)
    text = re.sub(r"\b(" + "|".join(_ABBREVIATIONS) + r")\b\.?",
                  lambda m: _w(_ABBREVIATIONS[m[1]]), text)
    out = []
    pos = 0
    for m in re.finditer(r"\b(Dr|St|dr|st)\b\.?", text):
        before = _WORD.findall(text[:m.start()])
        after = _WORD.findall(text[m.end():m.end() + 40])
        prev = before[-1] if before else ""
        nxt = after[0] if after else ""
        title, street = _TITLE_OR_STREET[m[1]]
        prev_number = prev[:1].isdigit()
        if nxt[:1].isupper() and not prev_number:
            word = title
        elif prev_number or prev[:1].isupper():
            word = street
        else:
            word = title
        out += [text[pos:m.start()], _w(word)]
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def _acronyms(text: str, shouting: bool) -> str:
    def spell(m: re.Match) -> str:
        tok, poss = m[1], m[2] or ""
        if tok in _ACRONYM_WORDS:
            return _w(_ACRONYM_WORDS[tok] + poss)
        if tok in SPELLED_ACRONYMS or (not shouting and not re.search(r"[AEIOUY]", tok)):
            return _w(" ".join(tok.lower()) + poss)
        return m[0]

    text = re.sub(r"\b(?:[A-Za-z]\.){2,}", lambda m: _w(" ".join(m[0].replace(".", "").lower())), text)
    return re.sub(r"(?<![A-Za-z'])([A-Z]{2,4})('s)?(?![A-Za-z'])", spell, text)


# --------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------

_SUBS: list[tuple[re.Pattern, object]] = [
    # ISO date 2021-01-05
    (re.compile(r"\b(?P<y>[12]\d{3})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"), _iso_date),
    # January 5th, 2021 / Jan. 5 2021 / January 5
    (re.compile(r"\b" + _MONTH_RE + r"\s+" + _DAY_RE + r"\b(?:,?\s+" + _YEAR_RE + r"\b)?", re.I),
     _month_day),
    # 5 January 2021 / 5th of January
    (re.compile(r"\b" + _DAY_RE + r"\s+(?:of\s+)?" + _MONTH_RE + r"(?:,?\s+" + _YEAR_RE + r"\b)?",
                re.I), _day_month),
    # 3:30 pm, 15:45:10
    (re.compile(r"\b(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?(?!\d)"
                r"(?:\s?(?P<ampm>[ap]\.m\.|[ap]m\b))?", re.I), _time),
    # 3pm, 11 a.m.
    (re.compile(r"\b(?P<h>\d{1,2})\s?(?P<ampm>[ap]\.m\.|[ap]m\b)", re.I), _hour_ampm),
    # $3.50, $2 million, $5k
    (re.compile(r"(?P<sym>" + _CURRENCY_CLASS + r")\s?(?P<num>" + _NUM_RE + r")(?P<scale>"
                + _SCALE_RE + r")?", re.I), _money_before),
    # 5€, 20 £
    (re.compile(r"(?P<num>" + _NUM_RE + r")\s?(?P<sym>" + _CURRENCY_CLASS + r")"),
     lambda m: _money(m["sym"], m["num"], None)),
    # 50%, -3.5 %
    (re.compile(r"(?P<neg>(?<![\w.])-)?(?P<num>" + _NUM_RE + r")\s?%"), _percent),
    # 1st 22nd 103rd 1,000th
    (re.compile(r"\b(?P<num>\d{1,3}(?:,\d{3})+|\d+)(?:st|nd|rd|th)\b", re.I), _ordinal_sub),
    # 1990s, '80s, 80s
    (re.compile(r"(?<![\w.,])'?(?P<num>1[1-9]\d0|20\d0|[1-9]0)'?s\b"), _decade),
    # everything else numeric: -12, 3.14, 1,234, 1999
    (re.compile(r"(?P<neg>(?<![\w.,])-)?(?P<num>" + _NUM_RE + r")"), _plain_number),
]


def normalize_text(text: str) -> str:
    """``text`` as lowercase spoken words separated by single spaces (see the module doc)."""
    if not isinstance(text, str):
        text = str(text)
    text = _clean_unicode(text)
    shouting = not any(c.islower() for c in text)
    text = _abbreviations(text)
    for pattern, repl in _SUBS:
        text = pattern.sub(repl, text)
    text = _acronyms(text, shouting)
    text = text.replace("&", " and ").replace("@", " at ").replace("+", " plus ")
    text = text.lower()
    # Keep letters and apostrophes; anything else separates words.
    text = re.sub(r"[^a-z']+", " ", text)
    words = []
    for tok in text.split():
        tok = re.sub(r"'{2,}", "'", tok).strip("'")
        if tok:
            # An abbreviation the contextual pass could not see ("st9"): read it here, so
            # that a second pass finds nothing left to change.
            words.append(_LEFTOVER_ABBREVIATIONS.get(tok, tok))
    return " ".join(words)


def words_of(text: str) -> list[str]:
    """The normalised words of ``text``: ``normalize_text(text).split()``."""
    return normalize_text(text).split()
