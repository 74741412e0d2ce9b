"""A Praat TextGrid reader (text formats only), written for the alignment import.

Reads the long ("ooTextFile" with ``xmin = 0`` style keys, as MFA and Praat write) and the
short format (the same values without keys), in UTF-8 (with or without BOM) or UTF-16 with
a BOM (what Praat writes when a label is not ASCII)::

    tiers = read_textgrid("data/align/utt1.TextGrid")
    tiers["phones"]      # [(0.0, 0.31, ""), (0.31, 0.38, "HH"), ...]

    tier = read_textgrid_tiers("data/align/utt1.TextGrid")["phones"]
    tier.xmin, tier.xmax, tier.intervals   # the tier's extent too (sparse tiers leave gaps)

Only interval tiers are returned; point tiers (TextTier) are read and skipped.

Both formats are one stream of values, read the way Praat reads them: numbers, quoted
strings (``""`` inside a string is a literal quote) and ``<flags>``; key names, ``=``, and
anything in square brackets are skipped, as is a ``!`` comment up to the end of its line.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path
from typing import NamedTuple

from voiceflow.errors import VoiceflowError

__all__ = ["read_textgrid", "read_textgrid_tiers", "IntervalTier"]

Interval = tuple[float, float, str]


class IntervalTier(NamedTuple):
    """An interval tier: its extent in seconds and its ``(start, end, label)`` intervals."""

    xmin: float
    xmax: float
    intervals: list[Interval]

# One value of the stream; finditer skips whatever none of the alternatives matches.
_TOKEN = re.compile(
    r"""
      ![^\r\n]*                                      # comment to the end of the line
    | \[[^\]]*\]                                     # [1], [] : skipped
    | "(?P<str>(?:[^"]|"")*)"                        # string, "" escapes a quote
    | <(?P<flag>[^>\s]*)>                            # <exists>, <absent>
    | (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<open>")                                    # a quote that is never closed
    """,
    re.VERBOSE,
)


class _Malformed(Exception):
    pass


class _Stream:
    """The values of a TextGrid text, consumed in order."""

    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, object, int]] = []
        for m in _TOKEN.finditer(text):
            if m.group("str") is not None:
                self.tokens.append(("string", m.group("str").replace('""', '"'), m.start()))
            elif m.group("flag") is not None:
                self.tokens.append(("flag", m.group("flag"), m.start()))
            elif m.group("num") is not None:
                self.tokens.append(("number", m.group("num"), m.start()))
            elif m.group("open") is not None:
                raise _Malformed(f"unterminated string at line {self._line(m.start())}")
        self.pos = 0

    def _line(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def _next(self, kind: str, what: str):
        if self.pos >= len(self.tokens):
            raise _Malformed(f"ends early (expected {what})")
        got_kind, value, offset = self.tokens[self.pos]
        if got_kind != kind:
            shown = f'"{value}"' if got_kind == "string" else f"<{value}>" if got_kind == "flag" else value
            raise _Malformed(f"expected {what} at line {self._line(offset)}, found {shown}")
        self.pos += 1
        return value

    def at_end(self) -> bool:
        return self.pos >= len(self.tokens)

    def string(self, what: str) -> str:
        return self._next("string", what)

    def flag(self, what: str) -> str:
        return self._next("flag", what)

    def number(self, what: str) -> float:
        return float(self._next("number", what))

    def count(self, what: str) -> int:
        value = self.number(what)
        if value < 0 or value != int(value):
            raise _Malformed(f"{what} must be a non-negative integer, found {value:g}")
        return int(value)


def _decode(path: Path, raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF16_BE) or raw.startswith(codecs.BOM_UTF16_LE):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise VoiceflowError(f"{path}: not a TextGrid (not UTF-8 or UTF-16 text)") from None


def _parse(stream: _Stream) -> dict[str, IntervalTier]:
    stream.number("the TextGrid xmin")
    stream.number("the TextGrid xmax")
    if stream.at_end():
        return {}
    exists = stream.flag("<exists> or <absent>")
    if exists == "absent":
        return {}
    if exists != "exists":
        raise _Malformed(f"expected <exists> or <absent>, found <{exists}>")
    tiers: dict[str, IntervalTier] = {}
    for t in range(stream.count("the number of tiers")):
        kind = stream.string(f"the class of tier {t + 1}")
        name = stream.string(f"the name of tier {t + 1}")
        where = f"tier {name!r}"
        xmin = stream.number(f"the xmin of {where}")
        xmax = stream.number(f"the xmax of {where}")
        n = stream.count(f"the number of items of {where}")
        if kind == "IntervalTier":
            intervals = []
            for i in range(n):
                start = stream.number(f"the xmin of interval {i + 1} of {where}")
                end = stream.number(f"the xmax of interval {i + 1} of {where}")
                label = stream.string(f"the text of interval {i + 1} of {where}")
                intervals.append((start, end, label))
            if name in tiers:
                raise _Malformed(f"two interval tiers are named {name!r}")
            tiers[name] = IntervalTier(xmin, xmax, intervals)
        elif kind == "TextTier":
            for i in range(n):
                stream.number(f"the time of point {i + 1} of {where}")
                stream.string(f"the mark of point {i + 1} of {where}")
        else:
            raise _Malformed(f"unknown tier class {kind!r} for tier {t + 1}")
    return tiers


def read_textgrid(path: str | os.PathLike) -> dict[str, list[Interval]]:
    """Read a Praat TextGrid (long or short text format).

    Args:
        path: the ``.TextGrid`` file, UTF-8 or UTF-16 with BOM.

    Returns:
        ``{tier name: [(start_s, end_s, label), ...]}`` for every interval tier, in file
        order, labels as written (not stripped).

    Raises:
        VoiceflowError: the file is missing, is not a text TextGrid, or is malformed; the
        message names the file (and the line where it can).
    """
    return {name: tier.intervals for name, tier in read_textgrid_tiers(path).items()}


def read_textgrid_tiers(path: str | os.PathLike) -> dict[str, IntervalTier]:
    """Like :func:`read_textgrid`, with each tier's extent: ``{name: IntervalTier(xmin, xmax, intervals)}``.

    A tier's intervals need not fill its extent (tools that write sparse tiers leave gaps).
    Errors as for :func:`read_textgrid`.
    """
    path = Path(path)
    if not path.is_file():
        raise VoiceflowError(f"{path}: TextGrid not found")
    raw = path.read_bytes()
    if raw.lstrip().startswith(b"File type = \"ooBinaryFile\"") or raw.startswith(b"ooBinaryFile"):
        raise VoiceflowError(f"{path}: binary TextGrids are not supported (save it as a text file in Praat)")
    text = _decode(path, raw)
    try:
        stream = _Stream(text)
        if stream.at_end() or stream.tokens[0][:2] != ("string", "ooTextFile"):
            raise VoiceflowError(f'{path}: not a TextGrid (no File type = "ooTextFile" header)')
        stream.string("the file type")
        object_class = stream.string("the object class")
        if object_class != "TextGrid":
            raise VoiceflowError(f"{path}: not a TextGrid (object class is {object_class!r})")
        return _parse(stream)
    except _Malformed as e:
        raise VoiceflowError(f"{path}: malformed TextGrid ({e})") from None
