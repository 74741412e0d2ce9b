"""voiceflow.align.alignment: the alignment contract, MFA import, and cumulative rounding to frames."""

import random

import pytest
import torch

from voiceflow.align import (
    add_word_positions,
    alignment_from_frame_durations,
    alignment_from_textgrid,
    frame_boundaries,
    frame_durations,
    frame_phone_ids,
    validate_alignment,
)
from voiceflow.errors import VoiceflowError
from voiceflow.text import PhoneInventory

# An MFA-style TextGrid (tiers as read_textgrid gives them: (start, end, label)): a leading pause, two words without a pause between them ("the cat"),
# a pause written as "sp" + empty, an unknown word (<unk> / spn) followed without a pause by
# a one-phone word, and a trailing "sil".
MFA_WORDS = [
    (0, 0.3, ""),
    (0.3, 0.5, "the"),
    (0.5, 0.9, "cat"),
    (0.9, 1.2, ""),
    (1.2, 1.5, "<unk>"),
    (1.5, 1.6, "a"),
    (1.6, 2.0, ""),
]
MFA_PHONES = [
    (0, 0.3, ""),
    (0.3, 0.4, "DH"),
    (0.4, 0.5, "AH0"),
    (0.5, 0.6, "K"),
    (0.6, 0.8, "AE1"),
    (0.8, 0.9, "T"),
    (0.9, 1.0, "sp"),
    (1.0, 1.2, ""),
    (1.2, 1.5, "spn"),
    (1.5, 1.6, "AH0"),
    (1.6, 2.0, "sil"),
]
EXPECTED = [
    ("sil", 0.0, 0.3),
    ("DH_B", 0.3, 0.4),
    ("AH0_E", 0.4, 0.5),
    ("sil", 0.5, 0.5),  # ghost: "the" and "cat" touch
    ("K_B", 0.5, 0.6),
    ("AE1_I", 0.6, 0.8),
    ("T_E", 0.8, 0.9),
    ("sil", 0.9, 1.2),  # "sp" + "" merged; no ghost where a pause already is
    ("spn", 1.2, 1.5),
    ("sil", 1.5, 1.5),  # ghost between <unk> and "a"
    ("AH0_S", 1.5, 1.6),
    ("sil", 1.6, 2.0),
]
EXPECTED_WORDS = [("the", 0.3, 0.5), ("cat", 0.5, 0.9), ("<unk>", 1.2, 1.5), ("a", 1.5, 1.6)]


# ---- word positions and ghost silences ----------------------------------------------------


def as_segments(tier):
    """TextGrid intervals (start, end, label) as alignment segments (label, start, end)."""
    return [(label, start, end) for start, end, label in tier]


def test_add_word_positions_hand_example():
    assert add_word_positions(as_segments(MFA_WORDS), as_segments(MFA_PHONES)) == EXPECTED


def test_three_touching_words_get_two_ghosts_and_none_at_the_edges():
    words = [("a", 0, 0.1), ("be", 0.1, 0.3), ("see", 0.3, 0.5)]
    phones = [("AH0", 0, 0.1), ("B", 0.1, 0.2), ("IY1", 0.2, 0.3), ("S", 0.3, 0.4), ("IY1", 0.4, 0.5)]
    assert add_word_positions(words, phones) == [
        ("AH0_S", 0.0, 0.1),
        ("sil", 0.1, 0.1),
        ("B_B", 0.1, 0.2),
        ("IY1_E", 0.2, 0.3),
        ("sil", 0.3, 0.3),
        ("S_B", 0.3, 0.4),
        ("IY1_E", 0.4, 0.5),
    ]


def test_phones_outside_words_become_silence_and_merge():
    words = [("", 0, 0.2), ("hi", 0.2, 0.4), ("sil", 0.4, 0.6)]
    phones = [("sil", 0, 0.1), ("UH", 0.1, 0.2), ("HH", 0.2, 0.3), ("AY1", 0.3, 0.4), ("M", 0.4, 0.6)]
    assert add_word_positions(words, phones) == [
        ("sil", 0.0, 0.2),
        ("HH_B", 0.2, 0.3),
        ("AY1_E", 0.3, 0.4),
        ("sil", 0.4, 0.6),
    ]


def test_zero_length_input_silence_between_words_is_one_ghost():
    words = [("oh", 0, 0.2), ("no", 0.2, 0.4)]
    phones = [("OW1", 0, 0.2), ("", 0.2, 0.2), ("N", 0.2, 0.3), ("OW1", 0.3, 0.4)]
    assert add_word_positions(words, phones) == [
        ("OW1_S", 0.0, 0.2),
        ("sil", 0.2, 0.2),
        ("N_B", 0.2, 0.3),
        ("OW1_E", 0.3, 0.4),
    ]


# ---- TextGrid import ------------------------------------------------------------------------


@pytest.mark.parametrize("short", [False, True], ids=["long", "short"])
def test_alignment_from_textgrid_hand_example(write_textgrid, short):
    path = write_textgrid({"words": MFA_WORDS, "phones": MFA_PHONES}, 2.0, short=short)
    phones, words = alignment_from_textgrid(path)
    assert phones == EXPECTED
    assert words == EXPECTED_WORDS


def test_last_end_snaps_to_audio_duration(write_textgrid):
    path = write_textgrid({"words": MFA_WORDS, "phones": MFA_PHONES}, 2.0)
    phones, _ = alignment_from_textgrid(path, audio_duration=2.015)
    assert phones[:-1] == EXPECTED[:-1]
    assert phones[-1] == ("sil", 1.6, 2.015)
    phones, _ = alignment_from_textgrid(path, audio_duration=1.99)
    assert phones[-1] == ("sil", 1.6, 1.99)


def test_snap_drops_what_lies_past_a_shorter_audio(write_textgrid):
    tiers = {
        "words": [(0, 0.99, "two"), (0.99, 1.0, "")],
        "phones": [(0, 0.2, "T"), (0.2, 0.99, "UW1"), (0.99, 1.0, "")],
    }
    phones, words = alignment_from_textgrid(write_textgrid(tiers, 1.0), audio_duration=0.985)
    assert phones == [("T_B", 0.0, 0.2), ("UW1_E", 0.2, 0.985)]  # the trailing pause is gone
    assert words == [("two", 0.0, 0.985)]


def test_textgrid_not_covering_the_audio_raises(write_textgrid):
    path = write_textgrid({"words": MFA_WORDS, "phones": MFA_PHONES}, 2.0)
    with pytest.raises(VoiceflowError, match=r"utt.TextGrid: .*does not cover the audio \(ends at 2.000 s, audio is 2.500 s\)"):
        alignment_from_textgrid(path, audio_duration=2.5)
    with pytest.raises(VoiceflowError, match="does not cover the audio"):
        alignment_from_textgrid(path, audio_duration=1.9)
    alignment_from_textgrid(path, audio_duration=2.1, tolerance=0.2)  # a looser tolerance accepts it


def test_gaps_in_tiers_become_silence(tmp_path):
    path = tmp_path / "gaps.TextGrid"
    # Sparse tiers (some tools write only the labelled intervals).
    path.write_text(
        '"ooTextFile" "TextGrid" 0 1 <exists> 2 '
        '"IntervalTier" "words" 0 1 2 0.1 0.4 "go" 0.6 0.9 "on" '
        '"IntervalTier" "phones" 0 1 5 0 0.1 "" 0.1 0.2 "G" 0.2 0.4 "OW1" 0.6 0.7 "AA1" 0.7 0.9 "N"'
    )
    phones, words = alignment_from_textgrid(path, audio_duration=1.0)
    assert phones == [
        ("sil", 0.0, 0.1),
        ("G_B", 0.1, 0.2),
        ("OW1_E", 0.2, 0.4),
        ("sil", 0.4, 0.6),
        ("AA1_B", 0.6, 0.7),
        ("N_E", 0.7, 0.9),
        ("sil", 0.9, 1.0),  # the phones tier stops at 0.9; snapped to the audio's 1.0 s
    ]
    assert words == [("go", 0.1, 0.4), ("on", 0.6, 0.9)]


def test_leading_gap_becomes_silence(tmp_path):
    path = tmp_path / "lead.TextGrid"
    path.write_text(
        '"ooTextFile" "TextGrid" 0 1 <exists> 2 "IntervalTier" "words" 0 1 1 0.25 1 "a" '
        '"IntervalTier" "phones" 0 1 1 0.25 1 "AH0"'
    )
    assert alignment_from_textgrid(path, audio_duration=1.0) == ([("sil", 0.0, 0.25), ("AH0_S", 0.25, 1.0)], [("a", 0.25, 1.0)])


def test_speaker_prefixed_tiers(write_textgrid):
    path = write_textgrid({"spk1 - words": MFA_WORDS, "spk1 - phones": MFA_PHONES}, 2.0)
    assert alignment_from_textgrid(path)[0] == EXPECTED


def test_textgrid_errors(write_textgrid):
    path = write_textgrid({"words": MFA_WORDS}, 2.0, name="nophones.TextGrid")
    with pytest.raises(VoiceflowError, match=r"nophones.TextGrid: no 'phones' tier \(tiers: 'words'\)"):
        alignment_from_textgrid(path)

    path = path.parent / "late.TextGrid"
    path.write_text(
        '"ooTextFile" "TextGrid" 0 1 <exists> 2 "IntervalTier" "words" 0 1 1 0 1 "a" '
        '"IntervalTier" "phones" 0.1 1 1 0.1 1 "AH0"'
    )
    with pytest.raises(VoiceflowError, match="late.TextGrid: the phones tier starts at 0.1 s, not at 0"):
        alignment_from_textgrid(path)

    overlap = [(0, 0.35, "")] + MFA_PHONES[1:]
    path = write_textgrid({"words": MFA_WORDS, "phones": overlap}, 2.0, name="overlap.TextGrid")
    with pytest.raises(VoiceflowError, match="overlap.TextGrid: tier 'phones': interval 2 overlaps"):
        alignment_from_textgrid(path)

    with pytest.raises(VoiceflowError, match="missing.TextGrid: TextGrid not found"):
        alignment_from_textgrid(path.parent / "missing.TextGrid")


# ---- validation -----------------------------------------------------------------------------


def test_validate_accepts_the_contract():
    validate_alignment(EXPECTED, duration=2.0)
    validate_alignment([["sil", 0, 1.0]], duration=1.01)  # lists (from JSON) are fine


@pytest.mark.parametrize(
    "alignment, duration, message",
    [
        ([], None, "alignment is empty"),
        ([("a", 0.1, 0.5)], None, "starts at 0.1 s, not at 0"),
        ([("a", 0, 0.5), ("b", 0.6, 1.0)], None, r"not contiguous: gap between entry 0 .* and entry 1 \(b"),
        ([("a", 0, 0.5), ("b", 0.4, 1.0)], None, "not contiguous: overlap"),
        ([("a", 0, 0.5), ("b", 0.5, 0.4)], None, r"entry 1 \(b\) has negative length"),
        ([("a", 0, 0.5), ("", 0.5, 1.0)], None, "entry 1 has an empty phone label"),
        ([("a", 0, 0.5)], 0.6, r"does not cover the audio \(ends at 0.500 s, audio is 0.600 s\)"),
        ([("a", 0)], None, "entry 0 is not \\(phone, start, end\\)"),
        ([("a", 0, float("nan"))], None, "non-finite"),
    ],
)
def test_validate_errors(alignment, duration, message):
    with pytest.raises(VoiceflowError, match=message):
        validate_alignment(alignment, duration)


def test_validate_names_the_utterance():
    with pytest.raises(VoiceflowError, match="^utt7: alignment is empty$"):
        validate_alignment([], name="utt7")


# ---- frames -----------------------------------------------------------------------------------

FRAME_EXAMPLE = [("sil", 0.0, 0.1), ("B_B", 0.1, 0.25), ("C_E", 0.25, 0.3), ("sil", 0.3, 0.3), ("D_S", 0.3, 0.5)]


def test_frame_boundaries_hand_example():
    # 24 kHz, hop 256: 93.75 frames per second; 0.5 s = 12000 samples -> 47 frames.
    # Ends 0.1, 0.25, 0.3, 0.3 -> 9.375, 23.4375, 28.125, 28.125 -> 9, 23, 28, 28; last forced to 47.
    assert frame_boundaries(FRAME_EXAMPLE, 47, 24000, 256) == [9, 23, 28, 28, 47]
    assert frame_durations(FRAME_EXAMPLE, 47, 24000, 256) == [9, 14, 5, 0, 19]
    # fewer frames than the times imply: boundaries are clamped, the sum still holds
    assert frame_durations(FRAME_EXAMPLE, 20, 24000, 256) == [9, 11, 0, 0, 0]


def test_rounding_is_half_up():
    # 16 kHz, hop 160: 100 frames per second; 0.125 s -> 12.5 frames -> 13 (Python's round says 12)
    assert frame_boundaries([("a", 0, 0.125), ("b", 0.125, 0.2)], 21, 16000, 160) == [13, 21]


def test_frame_phone_ids():
    inv = PhoneInventory.build([["B_B", "C_E", "D_S"]])  # <pad> sil spn B_B C_E D_S
    ids = frame_phone_ids(FRAME_EXAMPLE, inv, 47, 24000, 256)
    assert ids.dtype == torch.long and ids.shape == (47,)
    expected = [1] * 9 + [3] * 14 + [4] * 5 + [5] * 19
    assert ids.tolist() == expected
    with pytest.raises(VoiceflowError, match="unknown phone 'C_E'"):
        frame_phone_ids(FRAME_EXAMPLE, PhoneInventory.build([["B_B", "D_S"]]), 47, 24000, 256)


def test_cumulative_rounding_sums_to_num_frames_for_random_alignments():
    rng = random.Random(0)
    for trial in range(500):
        sample_rate, hop = rng.choice([(24000, 256), (16000, 160), (22050, 256), (8000, 80)])
        alignment, t = [], 0.0
        for k in range(rng.randint(1, 40)):
            length = 0.0 if rng.random() < 0.2 and k > 0 else rng.expovariate(1 / 0.08)
            alignment.append(("p", t, t + length))
            t += length
        samples = int(t * sample_rate)
        exact = samples // hop + 1
        num_frames = max(0, exact + rng.choice([0, 0, 0, -3, -1, 1, 3]))

        durations = frame_durations(alignment, num_frames, sample_rate, hop)

        assert len(durations) == len(alignment)
        assert all(d >= 0 for d in durations), (trial, durations)
        assert sum(durations) == num_frames, trial
        if num_frames == exact:
            scale = sample_rate / hop
            bounds = frame_boundaries(alignment, num_frames, sample_rate, hop)
            for (_, start, end), b, d in zip(alignment[:-1], bounds[:-1], durations[:-1]):
                assert abs(b - end * scale) <= 0.5 + 1e-9  # each boundary is the nearest frame
                if end == start:
                    assert d == 0  # zero-length entries (ghost silences) get no frames


def test_frame_durations_round_trip_through_seconds():
    rng = random.Random(1)
    for _ in range(100):
        durations = [rng.choice([0, 1, 2, 5, 17, 40]) for _ in range(rng.randint(1, 30))]
        phones = [f"p{i}" for i in range(len(durations))]
        alignment = alignment_from_frame_durations(phones, durations, 24000, 256)
        validate_alignment(alignment)
        assert [p for p, _, _ in alignment] == phones
        assert frame_durations(alignment, sum(durations), 24000, 256) == durations


def test_frame_argument_errors():
    with pytest.raises(VoiceflowError, match="alignment is empty"):
        frame_boundaries([], 10, 24000, 256)
    with pytest.raises(ValueError):
        frame_boundaries(FRAME_EXAMPLE, -1, 24000, 256)
    with pytest.raises(ValueError):
        alignment_from_frame_durations(["a"], [1, 2], 24000, 256)
