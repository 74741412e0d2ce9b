"""The alignment contract (docs/DESIGN.md, "Alignments and phones") and its conversion to frames.

An utterance's alignment is a list of ``(phone, start_s, end_s)`` that covers the audio
from 0 to its duration without gaps. Silences are phones (``sil``); ``spn`` is unknown
speech. Other phones carry a word-position suffix (``_B``, ``_I``, ``_E``; ``_S`` for a
one-phone word), and a zero-length "ghost" silence ``("sil", t, t)`` sits between two
words spoken without a pause, so that the duration model learns where pauses go (Voicebox,
Le et al. 2023, appendix A.2)::

    words  = [("hi", 0.0, 0.3), ("all", 0.3, 0.6)]
    phones = [("HH", 0.0, 0.1), ("AY1", 0.1, 0.3), ("AO1", 0.3, 0.45), ("L", 0.45, 0.6)]
    add_word_positions(words, phones)
    # [("HH_B", 0.0, 0.1), ("AY1_E", 0.1, 0.3), ("sil", 0.3, 0.3),
    #  ("AO1_B", 0.3, 0.45), ("L_E", 0.45, 0.6)]

Frame-level phones come from cumulative rounding at the feature hop (:func:`frame_boundaries`),
so the per-phone frame counts always sum to the utterance's frame count::

    ids = frame_phone_ids(alignment, inventory, num_frames=mel.shape[-1],
                          sample_rate=24000, hop_length=256)   # (frames,) int64
"""

from __future__ import annotations

import json
import math
import os
from bisect import bisect_right
from pathlib import Path
from typing import Sequence

import torch

from voiceflow.align.textgrid import IntervalTier, read_textgrid_tiers
from voiceflow.errors import VoiceflowError
from voiceflow.text.phones import SIL, SPN, PhoneInventory, tag_word

__all__ = [
    "Segment",
    "add_word_positions",
    "alignment_from_textgrid",
    "read_alignment_file",
    "load_alignment",
    "validate_alignment",
    "frame_boundaries",
    "frame_durations",
    "frame_phone_ids",
    "alignment_from_frame_durations",
]

Segment = tuple[str, float, float]

_EPS = 1e-6  # seconds; two times closer than this are the same time
_SILENCE_LABELS = {"", "sil", "sp"}  # compared lower-cased and stripped; all become "sil"


def _is_silence(label: str) -> bool:
    return label.strip().lower() in _SILENCE_LABELS


def _phone_label(label: str) -> str:
    """MFA phone label to ours: empty / sil / sp -> ``sil``, spn -> ``spn``, others stripped."""
    if _is_silence(label):
        return SIL
    label = label.strip()
    return SPN if label.lower() == SPN else label


def add_word_positions(words: Sequence[Segment], phones: Sequence[Segment]) -> list[Segment]:
    """Silence labels to ``sil``, word-position suffixes, merged silences and ghost silences.

    Args:
        words: ``(word, start, end)``, sorted; entries with an empty, ``sil`` or ``sp``
            label are pauses, not words.
        phones: ``(phone, start, end)`` without suffixes, sorted and contiguous.

    Returns:
        The alignment: each phone belongs to the word whose interval contains its midpoint
        and is suffixed by its position among that word's phones; a phone inside no word
        becomes ``sil``; ``sil`` and ``spn`` carry no suffix. Adjacent silences are merged
        and zero-length input silences dropped; a ``("sil", t, t)`` is inserted at each
        boundary between two words with no silence between them.
    """
    spans = sorted((float(s), float(e)) for w, s, e in words if not _is_silence(w))
    starts = [s for s, _ in spans]

    labels: list[str] = []
    owners: list[int | None] = []  # index into spans of the word each phone belongs to
    for label, start, end in phones:
        label = _phone_label(label)
        owner = None
        if label != SIL:
            mid = (float(start) + float(end)) / 2
            k = bisect_right(starts, mid) - 1
            if k >= 0 and mid <= spans[k][1]:
                owner = k
            else:
                label = SIL
        labels.append(label)
        owners.append(owner)

    by_word: dict[int, list[int]] = {}
    for i, owner in enumerate(owners):
        if owner is not None:
            by_word.setdefault(owner, []).append(i)
    for indices in by_word.values():
        for i, tagged in zip(indices, tag_word([labels[i] for i in indices])):
            labels[i] = tagged

    out: list[Segment] = []
    last_owner: int | None = None  # owner of the last appended phone; None after a silence
    for (_, start, end), label, owner in zip(phones, labels, owners):
        start, end = float(start), float(end)
        if owner is None:
            if out and out[-1][0] == SIL:
                out[-1] = (SIL, out[-1][1], end)
            elif end - start > _EPS:
                out.append((SIL, start, end))
            else:
                continue  # an empty silence is no pause: a ghost may still go here
            last_owner = None
            continue
        if last_owner is not None and owner != last_owner:
            out.append((SIL, start, start))  # ghost silence between words with no pause
        out.append((label, start, end))
        last_owner = owner
    return out


def _clean_tier(tier: IntervalTier, path: Path, name: str) -> list[Segment]:
    """A tier as ``(label, start, end)``, checked ordered and non-overlapping.

    Gaps between intervals, and between the tier's extent and its first / last interval,
    become silence (label ``""``).
    """
    out: list[Segment] = []
    prev_end = tier.xmin if tier.intervals and tier.intervals[0][0] >= tier.xmin else None
    for k, (start, end, label) in enumerate(tier.intervals):
        if not (math.isfinite(start) and math.isfinite(end)) or end < start - _EPS:
            raise VoiceflowError(
                f"{path}: tier {name!r}: interval {k + 1} is invalid ({start:g} s to {end:g} s)"
            )
        if prev_end is not None:
            if start < prev_end - _EPS:
                raise VoiceflowError(f"{path}: tier {name!r}: interval {k + 1} overlaps the previous one at {start:g} s")
            if start > prev_end + _EPS:
                out.append(("", prev_end, start))
        out.append((label, start, end))
        prev_end = end
    if out and tier.xmax > prev_end + _EPS:
        out.append(("", prev_end, tier.xmax))
    return out


def _find_tier(tiers: dict[str, IntervalTier], name: str, path: Path) -> IntervalTier:
    """Tier ``name``, or MFA's single-speaker-prefixed ``"<speaker> - name"``."""
    if name in tiers:
        return tiers[name]
    prefixed = [t for t in tiers if t.endswith(f" - {name}")]
    if len(prefixed) == 1:
        return tiers[prefixed[0]]
    known = ", ".join(repr(t) for t in tiers) or "none"
    raise VoiceflowError(f"{path}: no {name!r} tier (tiers: {known})")


def _snap_end(segments: list[Segment], duration: float) -> list[Segment]:
    """Make the last end exactly ``duration``: clamp what lies beyond, drop trailing empty silences."""
    out = [(p, min(s, duration), min(e, duration)) for p, s, e in segments]
    while len(out) > 1 and out[-1][0] == SIL and out[-1][2] - out[-1][1] <= _EPS:
        out.pop()
    p, s, _ = out[-1]
    out[-1] = (p, s, duration)
    return out


def alignment_from_textgrid(
    path: str | os.PathLike, audio_duration: float | None = None, tolerance: float = 0.02
) -> tuple[list[Segment], list[Segment]]:
    """Import an MFA-style TextGrid (tiers "words" and "phones") as an alignment.

    Empty labels, ``sil`` and ``sp`` are silence; gaps between intervals (and between a
    tier's extent and its intervals) become silence; adjacent silences are merged; phones
    get word-position suffixes and ghost silences (:func:`add_word_positions`). Tiers named
    ``"<speaker> - words"`` / ``"<speaker> - phones"`` (MFA's multi-speaker output) are
    accepted when a file holds one speaker.

    Args:
        path: the TextGrid.
        audio_duration: the audio's duration in seconds; when given, the phones must end
            within ``tolerance`` of it and the last end is snapped to it exactly.
        tolerance: seconds.

    Returns:
        ``(phones, words)``: the alignment (see module docstring) and the words without
        pauses, ``(word, start, end)``.

    Raises:
        VoiceflowError naming the file: unreadable TextGrid, missing tier, overlapping
        intervals, phones not starting at 0 or not covering the audio.
    """
    path = Path(path)
    tiers = read_textgrid_tiers(path)
    words = _clean_tier(_find_tier(tiers, "words", path), path, "words")
    phones = _clean_tier(_find_tier(tiers, "phones", path), path, "phones")
    if not phones:
        raise VoiceflowError(f"{path}: the phones tier is empty")
    if abs(phones[0][1]) > _EPS:
        raise VoiceflowError(f"{path}: the phones tier starts at {phones[0][1]:g} s, not at 0")
    end = phones[-1][2]
    if audio_duration is not None and abs(end - audio_duration) > tolerance:
        raise VoiceflowError(
            f"{path}: the phones tier does not cover the audio (ends at {end:.3f} s, audio is {audio_duration:.3f} s)"
        )
    alignment = add_word_positions(words, phones)
    real_words = [(w.strip(), s, e) for w, s, e in words if not _is_silence(w)]
    if audio_duration is not None:
        alignment = _snap_end(alignment, audio_duration)
        real_words = [(w, min(s, audio_duration), min(e, audio_duration)) for w, s, e in real_words]
    validate_alignment(alignment, audio_duration, tolerance, name=str(path))
    return alignment, real_words


def read_alignment_file(path: str | os.PathLike, audio_duration: float | None = None) -> list[Segment]:
    """An alignment from a file: an MFA TextGrid (``.TextGrid``; see
    :func:`alignment_from_textgrid`) or JSON, either the list ``[[phone, start_s, end_s], ...]``
    of the contract or an object with that list under ``"alignment"``; checked against the
    contract (and ``audio_duration`` when given). Errors name the file."""
    p = Path(path)
    if p.suffix.lower() == ".textgrid":
        return alignment_from_textgrid(p, audio_duration)[0]
    if not p.is_file():
        raise VoiceflowError(f"{p}: alignment file not found")
    try:
        data = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise VoiceflowError(f"{p}: not valid JSON ({getattr(e, 'msg', e)})") from None
    alignment = data.get("alignment") if isinstance(data, dict) else data
    if not isinstance(alignment, list) or not all(isinstance(s, (list, tuple)) and len(s) == 3 for s in alignment):
        raise VoiceflowError(f"{p}: expected a list of [phone, start_s, end_s] (or {{\"alignment\": [...]}})")
    try:
        segments = [(str(ph), float(a), float(b)) for ph, a, b in alignment]
    except (TypeError, ValueError):
        raise VoiceflowError(f"{p}: every alignment entry needs a phone and two times in seconds") from None
    validate_alignment(segments, audio_duration, name=str(p))
    return segments


def load_alignment(alignment: str | os.PathLike | Sequence, audio_duration: float,
                   name: str = "the alignment") -> tuple[list[Segment], str]:
    """A checked alignment from a file (:func:`read_alignment_file`) or an in-memory list, and
    the name its errors use (the file, else ``name``)."""
    if isinstance(alignment, (str, os.PathLike)):
        return read_alignment_file(alignment, audio_duration), str(alignment)
    validate_alignment(alignment, audio_duration, name=name)
    return [(ph, float(a), float(b)) for ph, a, b in alignment], name


def count_words(alignment: Sequence[Segment]) -> int:
    """Words of an alignment: runs of non-silence phones split at word-position suffixes."""
    words, open_word = 0, False
    for phone, _, _ in alignment:
        if phone == SIL:
            open_word = False
            continue
        if not open_word or phone.endswith(("_B", "_S")):
            words += 1
        open_word = not phone.endswith(("_E", "_S"))
    return words


def validate_alignment(
    alignment: Sequence[Segment],
    duration: float | None = None,
    tolerance: float = 0.02,
    name: str | None = None,
) -> None:
    """Check the alignment contract; raise VoiceflowError saying what is wrong and where.

    The entries must be ``(phone, start, end)`` with a non-empty phone label and finite
    times; the first starts at 0; each starts where the previous ended (within 1e-6 s),
    which with non-negative lengths makes them sorted; and when ``duration`` is given the
    last ends within ``tolerance`` seconds of it. ``name`` (an utterance id or file)
    prefixes the message.
    """
    where = f"{name}: " if name else ""
    if len(alignment) == 0:
        raise VoiceflowError(f"{where}alignment is empty")
    prev_end = 0.0
    for k, entry in enumerate(alignment):
        try:
            phone, start, end = entry
            start, end = float(start), float(end)
        except (TypeError, ValueError):
            raise VoiceflowError(f"{where}alignment entry {k} is not (phone, start, end): {entry!r}") from None
        if not isinstance(phone, str) or not phone.strip():
            raise VoiceflowError(f"{where}alignment entry {k} has an empty phone label")
        if not (math.isfinite(start) and math.isfinite(end)):
            raise VoiceflowError(f"{where}alignment entry {k} ({phone}) has a non-finite time")
        if k == 0 and abs(start) > _EPS:
            raise VoiceflowError(f"{where}alignment starts at {start:g} s, not at 0")
        if k > 0 and abs(start - prev_end) > _EPS:
            kind = "gap" if start > prev_end else "overlap"
            raise VoiceflowError(
                f"{where}alignment is not contiguous: {kind} between entry {k - 1} (ends at {prev_end:g} s) "
                f"and entry {k} ({phone}, starts at {start:g} s)"
            )
        if end < start - _EPS:
            raise VoiceflowError(f"{where}alignment entry {k} ({phone}) has negative length ({start:g} s to {end:g} s)")
        prev_end = end
    if duration is not None and abs(prev_end - duration) > tolerance:
        raise VoiceflowError(
            f"{where}alignment does not cover the audio (ends at {prev_end:.3f} s, audio is {duration:.3f} s)"
        )


def frame_boundaries(alignment: Sequence[Segment], num_frames: int, sample_rate: int, hop_length: int) -> list[int]:
    """End frame (exclusive) of each alignment entry, by cumulative rounding.

    Boundary k is ``round(end_k * sample_rate / hop_length)`` (half up), clamped to
    ``[boundary k-1, num_frames]``; the last boundary is ``num_frames``. So every entry
    gets a non-negative number of frames (a ghost silence gets 0) and they sum to
    ``num_frames``.

    Returns:
        ``len(alignment)`` non-decreasing ints, the last equal to ``num_frames``.
    """
    if num_frames < 0:
        raise ValueError(f"num_frames must be >= 0, got {num_frames}")
    if len(alignment) == 0:
        raise VoiceflowError("alignment is empty: no phones to spread over the frames")
    scale = sample_rate / hop_length
    bounds = []
    prev = 0
    for _, _, end in alignment:
        b = min(max(math.floor(float(end) * scale + 0.5), prev), num_frames)
        bounds.append(b)
        prev = b
    bounds[-1] = num_frames
    return bounds


def frame_durations(alignment: Sequence[Segment], num_frames: int, sample_rate: int, hop_length: int) -> list[int]:
    """Frames per alignment entry (non-negative, summing to ``num_frames``); see :func:`frame_boundaries`."""
    bounds = frame_boundaries(alignment, num_frames, sample_rate, hop_length)
    return [b - a for a, b in zip([0, *bounds[:-1]], bounds)]


def frame_phone_ids(
    alignment: Sequence[Segment],
    inventory: PhoneInventory,
    num_frames: int,
    sample_rate: int,
    hop_length: int,
) -> torch.Tensor:
    """Phone id of every mel frame: ``LongTensor (num_frames,)``.

    Raises VoiceflowError for a phone missing from the inventory.
    """
    ids = torch.tensor(inventory.ids(p for p, _, _ in alignment), dtype=torch.long)
    durations = torch.tensor(frame_durations(alignment, num_frames, sample_rate, hop_length), dtype=torch.long)
    return torch.repeat_interleave(ids, durations)


def alignment_from_frame_durations(
    phones: Sequence[str], durations: Sequence[int], sample_rate: int, hop_length: int
) -> list[Segment]:
    """Frames back to seconds: entry k spans its frames' boundaries times ``hop_length / sample_rate``.

    The inverse of :func:`frame_durations` (for a duration model's output, or an aligner
    working in frames): ``frame_durations(alignment_from_frame_durations(p, d, sr, hop),
    sum(d), sr, hop) == d``. The last end is ``sum(d) * hop / sr``, which for a whole
    utterance is up to one hop longer than the audio.
    """
    if len(phones) != len(durations):
        raise ValueError(f"{len(phones)} phones but {len(durations)} durations")
    if any(d < 0 for d in durations):
        raise ValueError("frame durations must be non-negative")
    step = hop_length / sample_rate
    out: list[Segment] = []
    total = 0
    for phone, d in zip(phones, durations):
        out.append((phone, total * step, (total + int(d)) * step))
        total += int(d)
    return out
