"""Phone tokens of the speech tasks: slots from alignments, the word-level edit, margins."""

import pytest

from voiceflow.errors import VoiceflowError
from voiceflow.infer.tokens import Token, add_margin, edit_slots, flatten, slots_from_alignment, word_diff

SR, HOP = 24000, 256
F = HOP / SR  # one frame in seconds


def _alignment(spec):
    """[(phone, frames)] -> contiguous alignment in seconds."""
    out, t = [], 0
    for phone, n in spec:
        out.append((phone, t * F, (t + n) * F))
        t += n
    return out, t


# "hi all there": a leading pause, a ghost silence between touching words, a pause, a tail
SPEC = [("sil", 10), ("HH_B", 4), ("AY1_E", 6), ("sil", 0), ("AO1_B", 5), ("L_E", 5), ("sil", 8),
        ("DH_B", 3), ("EH1_I", 6), ("R_E", 4), ("sil", 9)]


def test_slots_follow_the_alignment():
    alignment, T = _alignment(SPEC)
    slots = slots_from_alignment(alignment, T, SR, HOP, ["hi", "all", "there"])
    assert [[t.phone for t in w] for w in slots.words] == [["HH_B", "AY1_E"], ["AO1_B", "L_E"],
                                                          ["DH_B", "EH1_I", "R_E"]]
    assert [g.frames for g in slots.gaps] == [10, 0, 8, 9]
    tokens = flatten(slots)
    assert [t.phone for t in tokens] == [p for p, _ in SPEC]
    assert [t.frames for t in tokens] == [n for _, n in SPEC]
    starts = [sum(n for _, n in SPEC[:i]) for i in range(len(SPEC))]
    assert [t.source for t in tokens] == starts
    assert all(t.kept for t in tokens)


def test_missing_silences_become_zero_length_gaps():
    alignment, T = _alignment([("HH_B", 4), ("AY1_E", 6), ("AO1_S", 5)])  # no pauses, no ghost
    slots = slots_from_alignment(alignment, T, SR, HOP)
    assert [g.frames for g in slots.gaps] == [0, 0, 0]
    assert [g.source for g in slots.gaps] == [0, 10, 15]
    with pytest.raises(VoiceflowError, match="2 words but the transcript 3"):
        slots_from_alignment(alignment, T, SR, HOP, ["a", "b", "c"])


def _edit(new_words, new_phones=None):
    alignment, T = _alignment(SPEC)
    old = slots_from_alignment(alignment, T, SR, HOP, ["hi", "all", "there"])
    new_phones = new_phones or [["X"] * (1 + len(w) % 3) for w in new_words]
    return edit_slots(old, ["hi", "all", "there"], new_words, new_phones)


def _kinds(slots):
    """Per token: 'k' kept from the recording, 'n' new."""
    return "".join("k" if t.frames is not None else "n" for t in flatten(slots))


def test_identical_text_changes_nothing():
    slots, changes = _edit(["Hi", "all", "there"])
    assert changes == []
    assert _kinds(slots) == "k" * len(SPEC)


def test_replacement_in_the_middle():
    slots, changes = _edit(["hi", "you", "there"], [["HH"], ["Y", "UW1"], ["DH"]])
    assert changes == [("replace", 1, 2, 1, 2)]
    tokens = flatten(slots)
    # hi and there (and the outer gaps) kept; "you" and both gaps around it new
    assert _kinds(slots) == "kkk" + "n" + "nn" + "n" + "kkkk"
    assert [t.phone for t in tokens[4:6]] == ["Y_B", "UW1_E"]


def test_deletion_keeps_both_neighbours_and_predicts_the_gap_between():
    slots, changes = _edit(["hi", "there"])
    assert changes == [("delete", 1, 2, 1, 1)]
    assert _kinds(slots) == "kkk" + "n" + "kkkk"


def test_insertion_at_start_and_end():
    slots, changes = _edit(["oh", "hi", "all", "there"], [["OW1"], [], [], []])
    assert changes == [("insert", 0, 0, 0, 1)]
    assert _kinds(slots) == "nnn" + "k" * (len(SPEC) - 1)  # gap, "oh", gap, then all but the old first gap
    tokens = flatten(slots)
    assert tokens[3].source == 10  # "hi" still from the recording
    slots, changes = _edit(["hi", "all", "there", "now"], [[], [], [], ["N", "AW1"]])
    assert changes == [("insert", 3, 3, 3, 4)]
    assert _kinds(slots) == "k" * (len(SPEC) - 1) + "nnnn"  # the old tail pause, "now" and a new tail are new


def test_margin_regenerates_one_phone_with_frames_each_side():
    slots, _ = _edit(["hi", "you", "there"], [["HH"], ["Y", "UW1"], ["DH"]])
    tokens = add_margin(flatten(slots), margin=1)
    regenerated = [i for i, t in enumerate(tokens) if t.frames is not None and not t.kept]
    assert regenerated == [2, 7]  # "AY1_E" before, "DH_B" after; durations kept
    assert tokens[2].frames == 6 and tokens[7].frames == 3


def test_margin_skips_zero_length_tokens():
    tokens = [Token("A_B", 5, 0), Token("B_E", 4, 5), Token("sil", 0, 9), Token("C_S")]
    out = add_margin(tokens, margin=1)
    assert [t.regenerate for t in out] == [False, True, False, False]


def test_word_diff_is_case_insensitive():
    assert word_diff(["Hello", "World"], ["hello", "world"]) == [("equal", 0, 2, 0, 2)]
