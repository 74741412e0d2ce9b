"""One text normalisation for hypothesis and reference, and WER / CER by edit distance.

The normalisation (:func:`normalise`), applied identically to the reference text and to the
ASR hypothesis before scoring:

1. Unicode NFKC (full-width forms, ligatures and the like become plain characters);
2. lowercase (``str.lower``);
3. typographic apostrophes (’ ‘ ʼ) become ``'``; an apostrophe is kept only *inside* a word
   ("don't", "o'clock"), so quotes such as ``'hello'`` lose theirs;
4. every other punctuation or symbol character (Unicode categories P* and S*) becomes a
   space, so "well-known" scores as two words "well known";
5. runs of whitespace collapse to one space; leading / trailing space is removed.

Numbers are left as digits: "2" and "two" are different words. Write reference texts the way
the ASR spells them (pocketsphinx and Whisper differ here) if digits matter.

WER = (substitutions + deletions + insertions) / reference words, over words split on
spaces; CER is the same over the characters of the normalised text, spaces included. Both
come from one Levenshtein distance with unit costs (:func:`edit_distance`). At system level
the rates are corpus rates, total errors / total reference units (see :mod:`.stats`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

__all__ = ["normalise", "edit_distance", "word_errors", "char_errors", "NORMALISATION"]

NORMALISATION = ("NFKC; lowercase; apostrophes kept inside words only; other punctuation/symbols -> space; "
                 "whitespace collapsed; digits kept as digits")

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_EDGE_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")


def normalise(text: str) -> str:
    """Normalise ``text`` for scoring (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_APOSTROPHES)
    out = []
    for ch in text:
        if ch == "'":
            out.append(ch)
        elif unicodedata.category(ch)[0] in "PS":
            out.append(" ")
        else:
            out.append(ch)
    text = _EDGE_APOSTROPHE.sub(" ", "".join(out))
    return " ".join(text.split())


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance (unit-cost substitutions, deletions, insertions) of two sequences."""
    if len(ref) < len(hyp):
        ref, hyp = hyp, ref  # the distance is symmetric; keep the row short
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word errors, reference words) after normalising both texts."""
    ref, hyp = normalise(reference).split(), normalise(hypothesis).split()
    return edit_distance(ref, hyp), len(ref)


def char_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(character errors, reference characters) of the normalised texts, spaces included."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    return edit_distance(ref, hyp), len(ref)
