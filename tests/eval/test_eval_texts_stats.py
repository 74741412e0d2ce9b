"""The text normalisation, WER / CER by hand, and the confidence intervals against hand computations."""

import math

import numpy as np
import pytest

from voiceflow.eval.stats import mean_ci, ratio_ci
from voiceflow.eval.texts import char_errors, edit_distance, normalise, word_errors


@pytest.mark.parametrize("raw, expected", [
    ("Hello, World!", "hello world"),
    ("  Don't   STOP  ", "don't stop"),
    ("It\u2019s a well-known fact.", "it's a well known fact"),
    ("'Quoted' words", "quoted words"),
    ("\uff21\uff22\uff23 caf\u00e9", "abc caf\u00e9"),   # NFKC folds full-width letters
    ("Room 101; 3.5 kg", "room 101 3 5 kg"),             # digits stay digits
    ("", ""),
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_edit_distance_by_hand():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance([], ["a", "b"]) == 2
    assert edit_distance(["a", "b", "c"], ["a", "c"]) == 1


def test_wer_and_cer_by_hand():
    # ref 6 words; hyp: "sat" -> "sit" (sub), "the" deleted, "today" inserted: 3 errors
    assert word_errors("The cat sat on the mat.", "the cat sit on mat today") == (3, 6)
    # normalisation makes case and punctuation free
    assert word_errors("Hello, world!", "hello world") == (0, 2)
    # "abc" vs "abd": 1 of 3 characters; spaces count as characters
    assert char_errors("abc", "abd") == (1, 3)
    assert char_errors("a b", "ab") == (1, 3)


def test_mean_ci_by_hand():
    out = mean_ci([1.0, 2.0, 3.0, 4.0])
    # s = sqrt(5/3) = 1.29099; t(0.975, 3) = 3.182446; half width = t * s / sqrt(4)
    half = 3.182446 * math.sqrt(5 / 3) / 2
    assert out["value"] == pytest.approx(2.5)
    assert out["ci_low"] == pytest.approx(2.5 - half, abs=1e-5)
    assert out["ci_high"] == pytest.approx(2.5 + half, abs=1e-5)
    assert out["n"] == 4 and out["n_undefined"] == 0


def test_mean_ci_counts_undefined_items_and_one_item_has_no_interval():
    out = mean_ci([2.0, float("nan"), 4.0])
    assert out["value"] == 3.0 and out["n"] == 2 and out["n_undefined"] == 1
    clipped = mean_ci([0.0, 0.0, 0.3], bounds=(0.0, 1.0))   # t interval would reach below 0
    assert clipped["ci_low"] == 0.0   # s = sqrt(0.03), t(0.975, 2) = 4.302653
    assert clipped["ci_high"] == pytest.approx(0.1 + 4.302653 * math.sqrt(0.03) / math.sqrt(3))
    one = mean_ci([5.0])
    assert one["value"] == 5.0 and one["ci_low"] is None and one["ci_high"] is None


def test_ratio_ci_is_the_corpus_rate_with_a_bootstrap_interval():
    errors, words = [1, 0, 6], [10, 10, 20]
    out = ratio_ci(errors, words, n_boot=2000, seed=0)
    assert out["value"] == pytest.approx(7 / 40)           # not the mean of rates (0.1333)
    assert out["ci_low"] <= 7 / 40 <= out["ci_high"]
    assert out["ci_low"] >= 0.0 and out["ci_high"] <= 0.3
    # the bootstrap by hand: the same resampling indices give the same percentiles
    idx = np.random.default_rng(0).integers(0, 3, size=(2000, 3))
    rates = np.asarray(errors)[idx].sum(1) / np.asarray(words)[idx].sum(1)
    assert out["ci_low"] == pytest.approx(np.percentile(rates, 2.5))
    assert out["ci_high"] == pytest.approx(np.percentile(rates, 97.5))
    # identical per-item rates: every resample has that rate, so the interval collapses
    flat = ratio_ci([1, 2, 3], [10, 20, 30])
    assert flat["ci_low"] == pytest.approx(0.1) and flat["ci_high"] == pytest.approx(0.1)
