"""Phone tokens of an utterance to (re)generate, and how the speech tasks build them.

Every text-driven task (zero-shot TTS, editing, continuation, denoising) comes down to one
sequence of phone tokens laid out as the training alignments are::

    gap_0, word_1 phones, gap_1, word_2 phones, ..., word_n phones, gap_n

where a gap is one ``sil`` token (a pause, or a zero-length ghost silence). A token either
comes from the recording (its frame count known, its frames at ``source`` in the original
mel) or is new (``frames=None``: the duration model predicts it and the audio model
generates it). Kept tokens may still be regenerated (``regenerate=True``): the margin of
one phone around each change, so that the new speech joins the old smoothly::

    slots = slots_from_alignment(alignment, num_frames, 24000, 256)   # the recording
    new = edit_slots(slots, old_words, new_words, new_phones)          # word-level diff
    tokens = add_margin(flatten(new), margin=1)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from typing import Sequence

from voiceflow.align import frame_durations
from voiceflow.errors import VoiceflowError
from voiceflow.text.phones import SIL, SPN, tag_word

__all__ = ["Token", "Slots", "slots_from_alignment", "new_word", "new_gap", "edit_slots", "flatten",
           "add_margin", "word_diff"]


@dataclass(frozen=True)
class Token:
    """One phone: ``frames`` known (from the recording) or None (predicted)."""

    phone: str
    frames: int | None = None
    source: int | None = None  # first frame in the original mel (kept tokens only)
    regenerate: bool = False  # frames generated even though the duration is known

    @property
    def kept(self) -> bool:
        """Frames copied from the recording, sample for sample."""
        return self.source is not None and not self.regenerate


@dataclass
class Slots:
    """An utterance as ``len(words) + 1`` gaps around ``len(words)`` words of tokens."""

    gaps: list[Token]
    words: list[list[Token]]
    texts: list[str] = field(default_factory=list)  # the words' spelling (for messages)

    def __post_init__(self):
        if len(self.gaps) != len(self.words) + 1:
            raise ValueError(f"{len(self.words)} words need {len(self.words) + 1} gaps, got {len(self.gaps)}")


def new_gap() -> Token:
    return Token(SIL)


def new_word(phones: Sequence[str]) -> list[Token]:
    """Tokens of a new word from its untagged phones (``spn`` stays as it is)."""
    return [Token(p) for p in tag_word(list(phones))]


def _starts_word(phone: str) -> bool:
    return phone == SPN or phone.endswith(("_B", "_S"))


def _ends_word(phone: str) -> bool:
    return phone == SPN or phone.endswith(("_E", "_S"))


def slots_from_alignment(alignment: Sequence, num_frames: int, sample_rate: int, hop_length: int,
                         texts: Sequence[str] = ()) -> Slots:
    """The recording's alignment as slots; word boundaries come from the word-position suffixes.

    Silences between two words merge into one gap token; a missing gap (speech from the
    first frame, words with no silence and no ghost) becomes a known zero-length ``sil``.
    """
    durations = frame_durations(alignment, num_frames, sample_rate, hop_length)
    gaps: list[Token] = []
    words: list[list[Token]] = []
    gap: Token | None = None
    current: list[Token] | None = None
    start = 0
    for (phone, _, _), n in zip(alignment, durations):
        if phone == SIL:
            if current is not None:  # a word left open (no _E): close it at the silence
                words.append(current)
                current = None
            gap = Token(SIL, gap.frames + n, gap.source) if gap is not None else Token(SIL, n, start)
        else:
            if current is None or _starts_word(phone):
                if current is not None:
                    words.append(current)
                gaps.append(gap if gap is not None else Token(SIL, 0, start))
                gap, current = None, []
            current.append(Token(phone, n, start))
            if _ends_word(phone):
                words.append(current)
                current = None
        start += n
    if current is not None:
        words.append(current)
    gaps.append(gap if gap is not None else Token(SIL, 0, start))
    texts = list(texts)
    if texts and len(texts) != len(words):
        raise VoiceflowError(f"the alignment has {len(words)} words but the transcript {len(texts)}")
    return Slots(gaps, words, texts)


def word_diff(old: Sequence[str], new: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib opcodes ``(tag, i0, i1, j0, j1)`` between two word lists (tags equal / replace /
    delete / insert), compared case-insensitively."""
    matcher = difflib.SequenceMatcher(a=[w.lower() for w in old], b=[w.lower() for w in new], autojunk=False)
    return matcher.get_opcodes()


def edit_slots(old: Slots, old_words: Sequence[str], new_words: Sequence[str],
               new_phones: Sequence[Sequence[str]]) -> tuple[Slots, list[tuple]]:
    """Slots of the new text: unchanged words (and the gaps between unchanged neighbours) keep
    their tokens; changed words and every gap next to a change are new.

    Returns the slots and the non-equal diff opcodes (empty when the texts are the same).
    """
    if len(old_words) != len(old.words):
        raise VoiceflowError(f"the transcript has {len(old_words)} words but the alignment {len(old.words)}")
    origin: list[int | None] = [None] * len(new_words)  # old index of each new word, or None if new
    changes = []
    for tag, i0, i1, j0, j1 in word_diff(old_words, new_words):
        if tag == "equal":
            for k in range(i1 - i0):
                origin[j0 + k] = i0 + k
        else:
            changes.append((tag, i0, i1, j0, j1))
    words = [list(old.words[o]) if o is not None else new_word(p) for o, p in zip(origin, new_phones)]
    gaps = []
    n_old, n_new = len(old_words), len(new_words)
    for k in range(n_new + 1):  # gap k sits before new word k
        left = origin[k - 1] if k > 0 else -1           # -1: the utterance start
        right = origin[k] if k < n_new else n_old         # n_old: the utterance end
        if left is not None and right is not None and right == left + 1:
            gaps.append(old.gaps[right])
        else:
            gaps.append(new_gap())
    return Slots(gaps, words, list(new_words)), changes


def flatten(slots: Slots) -> list[Token]:
    """gap_0, word_1, gap_1, ..., word_n, gap_n as one token list."""
    out = [slots.gaps[0]]
    for word, gap in zip(slots.words, slots.gaps[1:]):
        out.extend(word)
        out.append(gap)
    return out


def add_margin(tokens: list[Token], margin: int = 1) -> list[Token]:
    """Also regenerate ``margin`` kept tokens with frames on each side of every new token run.

    Zero-length tokens do not count towards the margin. The margin tokens keep their
    durations, so the unchanged speech stays where it was.
    """
    out = list(tokens)
    new = [t.frames is None for t in tokens]
    for i, is_new in enumerate(new):
        if not is_new:
            continue
        for direction in (-1, 1):
            j, left = i + direction, margin
            while 0 <= j < len(out) and left > 0 and not new[j]:
                if out[j].frames:
                    out[j] = replace(out[j], regenerate=True)
                    left -= 1
                j += direction
    return out
