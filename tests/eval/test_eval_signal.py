"""MCD and F0 error on synthetic signals whose answers are known."""

import numpy as np
import pytest
import torch

from eval_audio import tone
from voiceflow.eval.signal import MCD_CONSTANT, dtw_path, signal_features, signal_metrics


def test_mcd_constant():
    assert MCD_CONSTANT == pytest.approx(6.14185, abs=1e-5)   # 10 / ln 10 * sqrt(2)


def test_dtw_path_by_hand():
    cost = np.array([[0, 5, 5], [5, 0, 5], [5, 0, 5], [5, 5, 0]], dtype=float)
    assert dtw_path(cost).tolist() == [[0, 0], [1, 1], [2, 1], [3, 2]]
    assert dtw_path(np.zeros((1, 3))).tolist() == [[0, 0], [0, 1], [0, 2]]


def test_mcd_is_zero_for_identical_signals_and_grows_with_distortion():
    x = torch.from_numpy(tone(150.0, 0.8))
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(x.shape, generator=g)
    assert signal_metrics(x, x, f0=False)["mcd"] == pytest.approx(0.0, abs=1e-9)
    small = signal_metrics(x + 0.003 * noise, x, f0=False)["mcd"]
    large = signal_metrics(x + 0.03 * noise, x, f0=False)["mcd"]
    assert 0.0 < small < large


def test_f0_error_is_zero_for_the_same_tone_and_100_cents_for_a_semitone():
    x = torch.from_numpy(tone(200.0, 0.6))
    same = signal_metrics(x, x, mcd=False)
    assert same["f0_rmse_cents"] == pytest.approx(0.0, abs=1.0) and same["vde"] == pytest.approx(0.0, abs=0.05)
    up = torch.from_numpy(tone(200.0 * 2 ** (1 / 12), 0.6))
    shifted = signal_metrics(up, x, mcd=False)
    assert shifted["f0_rmse_cents"] == pytest.approx(100.0, abs=15.0)
    # a reference's features computed once give the same numbers as its waveform
    assert signal_metrics(up, signal_features(x), mcd=True) == signal_metrics(up, x, mcd=True)
