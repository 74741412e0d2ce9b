"""English number reading for the text normaliser: cardinals, ordinals, years, digit strings.

    cardinal(1234)      # 'one thousand two hundred thirty four' (American: no "and")
    ordinal(22)         # 'twenty second'
    year(2005)          # 'two thousand five';  year(1999) -> 'nineteen ninety nine'
    number_text("1,234.5")  # 'one thousand two hundred thirty four point five'

Numbers beyond MAX_CARDINAL, and integers written with a leading zero, are read digit by digit.
"""

from __future__ import annotations

__all__ = ["cardinal", "ordinal", "year", "digits", "int_text", "number_text", "ordinal_word", "MAX_CARDINAL",
           "MAX_DIGITS", "ONES"]


ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
MAX_CARDINAL = 10**15 - 1
MAX_DIGITS = 15  # also keeps int() below Python's 4300-digit conversion limit


def _below_thousand(n: int) -> list[str]:
    out: list[str] = []
    if n >= 100:
        out += [ONES[n // 100], "hundred"]
        n %= 100
        if n == 0:
            return out
    if n >= 20:
        out.append(_TENS[n // 10])
        if n % 10:
            out.append(ONES[n % 10])
    else:
        out.append(ONES[n])
    return out


def cardinal(n: int) -> str:
    """0 <= n <= 999 trillion as words, American style (no "and"): 1234 -> 'one thousand two
    hundred thirty four'. Negative n get 'minus'; larger ones are read digit by digit."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n > MAX_CARDINAL:
        return digits(str(n))
    if n < 1000:
        return " ".join(_below_thousand(n))
    words: list[str] = []
    for scale, name in _SCALES:
        if n >= scale:
            words += _below_thousand(n // scale) + [name]
            n %= scale
    if n:
        words += _below_thousand(n)
    return " ".join(words)


_ORDINAL_IRREGULAR = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                      "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def ordinal_word(word: str) -> str:
    if word in _ORDINAL_IRREGULAR:
        return _ORDINAL_IRREGULAR[word]
    if word.endswith("y"):
        return word[:-1] + "ieth"
    return word + "th"


def ordinal(n: int) -> str:
    """n >= 0 as an ordinal: 22 -> 'twenty second', 103 -> 'one hundred third'."""
    words = cardinal(n).split()
    return " ".join(words[:-1] + [ordinal_word(words[-1])])


def year(n: int) -> str:
    """A year 1000..2099 as spoken (see the module docstring); others as cardinals."""
    if 2000 <= n <= 2009:
        return cardinal(n)
    if not 1000 <= n <= 2099:
        return cardinal(n)
    hi, lo = divmod(n, 100)
    if lo == 0:
        return cardinal(hi) + " hundred"
    if lo < 10:
        return cardinal(hi) + " oh " + cardinal(lo)
    return cardinal(hi) + " " + cardinal(lo)


def digits(s: str) -> str:
    return " ".join(ONES[int(c)] for c in s if c.isdigit())


def int_text(s: str) -> str:
    """An integer as written (maybe with thousands commas) read out."""
    plain = s.replace(",", "")
    if not plain:
        return ""
    if (len(plain) > 1 and plain[0] == "0") or len(plain) > MAX_DIGITS:
        return digits(plain)
    return cardinal(int(plain))


def number_text(s: str) -> str:
    """'1,234.5' -> 'one thousand two hundred thirty four point five'; '.5' -> 'point five'."""
    whole, _, frac = s.partition(".")
    out = int_text(whole) if whole else ""
    if frac:
        out = (out + " point " + digits(frac)).strip()
    return out
