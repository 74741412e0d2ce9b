"""The phone inventory: a text file, one symbol per line; a symbol's id is its line number.

Line 0 is the padding symbol ``<pad>`` (id 0). ``sil`` (silence) and ``spn`` (unknown
speech) are always present; a recipe builds the rest from its alignments::

    inv = PhoneInventory.build(phone_lists)   # <pad>, sil, spn, then the others sorted
    inv.save("data/tokens.txt")

    inv = PhoneInventory.load("data/tokens.txt")
    inv.ids(["sil", "HH_B", "AY1_E"])          # [1, 7, 3]
    inv.symbol(0)                              # "<pad>"

Phones carry word-position suffixes (docs/DESIGN.md): ``_B``, ``_I``, ``_E`` for the begin,
inside and end of a multi-phone word, ``_S`` for a one-phone word; ``sil`` and ``spn`` never
do. :func:`tag_word` applies them to one word's phones; the text front-end and the alignment
import both use it so that training and inference spell phones the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path

__all__ = ["PAD", "SIL", "SPN", "WORD_POSITIONS", "PhoneInventory", "tag_word", "strip_word_position"]

PAD = "<pad>"
SIL = "sil"
SPN = "spn"
WORD_POSITIONS = ("_B", "_I", "_E", "_S")
_UNTAGGED = (SIL, SPN)


def tag_word(phones: Sequence[str]) -> list[str]:
    """Add word-position suffixes to the phones of one word: ``_S`` alone, else ``_B``, ``_I``..., ``_E``.

    ``sil`` and ``spn`` are returned unchanged (they take part in the counting).

    >>> tag_word(["HH", "AY1"])
    ['HH_B', 'AY1_E']
    >>> tag_word(["AH0"])
    ['AH0_S']
    """
    n = len(phones)
    out = []
    for i, phone in enumerate(phones):
        if phone in _UNTAGGED:
            out.append(phone)
        elif n == 1:
            out.append(phone + "_S")
        else:
            out.append(phone + ("_B" if i == 0 else "_E" if i == n - 1 else "_I"))
    return out


def strip_word_position(symbol: str) -> str:
    """The phone without its word-position suffix: ``"AY1_E" -> "AY1"``; others unchanged."""
    if len(symbol) > 2 and symbol[-2:] in WORD_POSITIONS:
        return symbol[:-2]
    return symbol


def _check_symbol(symbol: str) -> str | None:
    """Why ``symbol`` cannot be an inventory entry, or None."""
    if not isinstance(symbol, str) or not symbol:
        return "empty symbol"
    if any(c.isspace() for c in symbol):
        return f"symbol {symbol!r} contains whitespace"
    return None


class PhoneInventory:
    """An ordered list of phone symbols; ids are positions, 0 is ``<pad>``.

    Construct with :meth:`build` (from data) or :meth:`load` (from a file); the constructor
    checks the invariants (``<pad>`` first, ``sil`` and ``spn`` present, no duplicates, no
    empty or whitespace-containing symbols) and raises VoiceflowError naming ``source``.
    """

    pad_id = 0

    def __init__(self, symbols: Sequence[str], source: str | os.PathLike | None = None):
        self._source = str(source) if source is not None else "phone inventory"
        symbols = list(symbols)
        where = self._source
        if not symbols or symbols[0] != PAD:
            first = symbols[0] if symbols else "nothing"
            raise VoiceflowError(f"{where}: first symbol must be {PAD} (id 0), found {first!r}")
        index: dict[str, int] = {}
        for i, symbol in enumerate(symbols):
            problem = _check_symbol(symbol)
            if problem:
                raise VoiceflowError(f"{where}: line {i + 1}: {problem}")
            if symbol in index:
                raise VoiceflowError(
                    f"{where}: duplicate symbol {symbol!r} (lines {index[symbol] + 1} and {i + 1})"
                )
            index[symbol] = i
        for required in (SIL, SPN):
            if required not in index:
                raise VoiceflowError(f"{where}: missing required symbol {required!r}")
        self._symbols = symbols
        self._index = index

    @classmethod
    def build(cls, phone_lists: Iterable[Iterable[str]]) -> "PhoneInventory":
        """Inventory of every symbol in ``phone_lists``: ``<pad>``, ``sil``, ``spn``, then the rest sorted."""
        seen: set[str] = set()
        for phones in phone_lists:
            seen.update(phones)
        rest = sorted(seen - {PAD, SIL, SPN})
        return cls([PAD, SIL, SPN, *rest])

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PhoneInventory":
        """Read an inventory file (UTF-8, one symbol per line; trailing blank lines are ignored)."""
        path = Path(path)
        if not path.is_file():
            raise VoiceflowError(f"{path}: phone inventory not found")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise VoiceflowError(f"{path}: phone inventory is not UTF-8 text") from None
        lines = [line.strip() for line in lines]
        while lines and not lines[-1]:
            lines.pop()
        return cls(lines, source=path)

    def save(self, path: str | os.PathLike) -> None:
        """Write one symbol per line (UTF-8), atomically."""
        with atomic_path(path) as tmp:
            Path(tmp).write_text("".join(s + "\n" for s in self._symbols), encoding="utf-8")

    def __len__(self) -> int:
        return len(self._symbols)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PhoneInventory) and self._symbols == other._symbols

    def __repr__(self) -> str:
        return f"PhoneInventory({len(self)} symbols from {self._source})"

    @property
    def symbols(self) -> list[str]:
        """All symbols in id order (a copy)."""
        return list(self._symbols)

    def id(self, symbol: str) -> int:
        """The id of ``symbol``; VoiceflowError naming it if it is not in the inventory."""
        try:
            return self._index[symbol]
        except KeyError:
            raise VoiceflowError(f"unknown phone {symbol!r}: not in {self._source}") from None

    def ids(self, symbols: Iterable[str]) -> list[int]:
        """Ids of a sequence of symbols."""
        return [self.id(s) for s in symbols]

    def symbol(self, id: int) -> str:
        """The symbol with id ``id``; VoiceflowError if out of range."""
        if not 0 <= id < len(self._symbols):
            raise VoiceflowError(f"phone id {id} out of range: {self._source} has {len(self)} symbols")
        return self._symbols[id]
