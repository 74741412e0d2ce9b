"""Alignments: TextGrid import, the built-in aligner, the alignment contract, and alignment -> frame-level phones."""

from voiceflow.align.aligner import AlignResult, align_words

from voiceflow.align.alignment import (
    Segment,
    add_word_positions,
    alignment_from_frame_durations,
    alignment_from_textgrid,
    count_words,
    frame_boundaries,
    frame_durations,
    frame_phone_ids,
    load_alignment,
    read_alignment_file,
    validate_alignment,
)
from voiceflow.align.textgrid import IntervalTier, read_textgrid, read_textgrid_tiers

__all__ = [
    "AlignResult",
    "align_words",
    "Segment",
    "read_textgrid",
    "read_textgrid_tiers",
    "IntervalTier",
    "add_word_positions",
    "alignment_from_textgrid",
    "read_alignment_file",
    "load_alignment",
    "count_words",
    "validate_alignment",
    "frame_boundaries",
    "frame_durations",
    "frame_phone_ids",
    "alignment_from_frame_durations",
]
