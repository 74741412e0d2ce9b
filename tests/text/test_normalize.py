"""voiceflow.text.normalize: English text normalisation for TTS."""

import random
import re

import pytest

from voiceflow.text import normalize_text, words_of
from voiceflow.text.normalize import cardinal, ordinal, year

CASES = [
    # casing, punctuation, apostrophes, unicode
    ("Hello, World!", "hello world"),
    ("Don't stop; John's dog.", "don't stop john's dog"),
    ("“Don’t” — John’s dog…", "don't john's dog"),
    ("'quoted' students' books", "quoted students books"),
    ("well-known and/or", "well known and or"),
    ("café naïve", "cafe naive"),
    ("🎉 party 🎉", "party"),
    ("  many\t\nspaces  ", "many spaces"),
    ("Tom & Jerry", "tom and jerry"),
    # cardinals, negatives, decimals
    ("0", "zero"),
    ("7 cats", "seven cats"),
    ("42", "forty two"),
    ("115", "one hundred fifteen"),
    ("1,234", "one thousand two hundred thirty four"),
    ("1,000,000", "one million"),
    ("999,999,999,999", "nine hundred ninety nine billion nine hundred ninety nine million "
                        "nine hundred ninety nine thousand nine hundred ninety nine"),
    ("123456789012", "one hundred twenty three billion four hundred fifty six million "
                     "seven hundred eighty nine thousand twelve"),
    ("007", "zero zero seven"),
    ("-12 degrees", "minus twelve degrees"),
    ("−5", "minus five"),
    ("3.14", "three point one four"),
    ("0.5", "zero point five"),
    ("10-20", "ten twenty"),
    # ordinals
    ("1st 2nd 3rd 4th", "first second third fourth"),
    ("22nd", "twenty second"),
    ("103rd", "one hundred third"),
    ("11th 12th 20th", "eleventh twelfth twentieth"),
    # years and decades
    ("1999", "nineteen ninety nine"),
    ("2005", "two thousand five"),
    ("2021", "twenty twenty one"),
    ("1905", "nineteen oh five"),
    ("1900", "nineteen hundred"),
    ("in 1066 and 2100", "in one thousand sixty six and two thousand one hundred"),
    ("the 1990s and '80s", "the nineteen nineties and eighties"),
    # dates
    ("Jan. 5, 2021", "january fifth twenty twenty one"),
    ("January 5th", "january fifth"),
    ("5 January 2021", "the fifth of january twenty twenty one"),
    ("2021-01-05", "january fifth twenty twenty one"),
    ("Sept 11", "september eleventh"),
    # currency
    ("$3.50", "three dollars fifty cents"),
    ("$1", "one dollar"),
    ("$0.01", "one cent"),
    ("$1.01", "one dollar one cent"),
    ("£20", "twenty pounds"),
    ("€5", "five euros"),
    ("$2 million", "two million dollars"),
    ("$2.5 billion", "two point five billion dollars"),
    ("$5k", "five thousand dollars"),
    ("5€", "five euros"),
    # percent
    ("50%", "fifty percent"),
    ("2.5 %", "two point five percent"),
    # times
    ("3:30 pm", "three thirty p m"),
    ("3:05", "three oh five"),
    ("3:00", "three o'clock"),
    ("at 3pm", "at three p m"),
    ("11 a.m.", "eleven a m"),
    # abbreviations
    ("Mr. and Mrs. Jones", "mister and missus jones"),
    ("Ms Lee", "miz lee"),
    ("Dr. Smith", "doctor smith"),
    ("I saw the dr today", "i saw the doctor today"),
    ("She lives on Elm Dr.", "she lives on elm drive"),
    ("St. Louis", "saint louis"),
    ("42 Main St", "forty two main street"),
    ("5th St. Then", "fifth street then"),
    ("Prof. X", "professor x"),
    ("John Smith Jr. and Sr.", "john smith junior and senior"),
    ("cats vs. dogs", "cats versus dogs"),
    ("apples, pears, etc.", "apples pears et cetera"),
    ("e.g. this, i.e. that", "for example this that is that"),
    ("No. 5", "number five"),
    ("No. I won't", "no i won't"),
    ("room #4", "room number four"),
    # acronyms
    ("the BBC said", "the b b c said"),
    ("the HTML page", "the h t m l page"),
    ("NASA launched", "nasa launched"),
    ("the USA and the FBI", "the u s a and the f b i"),
    ("the BBC's show", "the b b c's show"),
    ("U.S.A.", "u s a"),
    ("OK then", "okay then"),
    ("HELLO WORLD", "hello world"),
    ("WHY NOT TELL THE FBI", "why not tell the f b i"),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_normalize_cases(text, expected):
    assert normalize_text(text) == expected


@pytest.mark.parametrize("text,_", CASES)
def test_idempotent(text, _):
    once = normalize_text(text)
    assert normalize_text(once) == once


def test_output_alphabet():
    for text, _ in CASES:
        out = normalize_text(text)
        assert re.fullmatch(r"([a-z']+( [a-z']+)*)?", out), out
        assert not any(w.startswith("'") or w.endswith("'") for w in out.split())


def test_words_of():
    assert words_of("It's 50% off!") == ["it's", "fifty", "percent", "off"]
    assert words_of("...") == []


def test_number_helpers():
    assert cardinal(0) == "zero"
    assert cardinal(100) == "one hundred"
    assert cardinal(1_000_001) == "one million one"
    assert cardinal(-3) == "minus three"
    assert ordinal(101) == "one hundred first"
    assert ordinal(90) == "ninetieth"
    assert year(2010) == "twenty ten"
    assert year(1100) == "eleven hundred"


def test_huge_numbers_are_read_as_digits():
    out = normalize_text("1" * 5000)  # beyond Python's int/str conversion limit
    assert out.split() == ["one"] * 5000
    assert normalize_text("1" * 20 + "th") == " ".join(["one"] * 20)


ODD = ["", " ", "\x00", "\ud800", "$", "$.", "%", "-", "--5", "1.2.3.4", "12:99", "99:00 pm",
       "2021-13-45", "Jan 0", "0th", "Dr.", "St", "No.", "#", "$1,00", "1,2,3", "'''", "'s",
       "A.", "e.g", "∞ ≠ π", "日本語のテキスト", "Привет мир", "\u0301\u0301", "½ ¾", "x²",
       "ﬁne", "１２３", "$$$5", "5%%", "3:30:99", "£.5", "¥1000", "¥1.5", "₹2.50", "$ 3 million"]


@pytest.mark.parametrize("text", ODD)
def test_never_raises_on_odd_input(text):
    out = normalize_text(text)
    assert isinstance(out, str)
    assert normalize_text(out) == out


def test_never_raises_on_random_strings():
    rng = random.Random(0)
    alphabet = "aZ09 .,:;-/$£€%'\"#&@+()!?\t\n’“—…🎉é日" + "stndrhDrSt"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        out = normalize_text(text)
        assert re.fullmatch(r"([a-z']+( [a-z']+)*)?", out), (text, out)
        assert normalize_text(out) == out, text


def test_deterministic():
    text = "Dr. Smith paid $3.50 on Jan. 5, 2021 at 3:30 pm."
    assert normalize_text(text) == normalize_text(text) == (
        "doctor smith paid three dollars fifty cents on january fifth twenty twenty one "
        "at three thirty p m")
