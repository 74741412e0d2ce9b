"""voiceflow.audio.mel: THE mel definition, held equal to vocos's own feature extractor."""

import math

import numpy as np
import pytest
import torch
from vocos.feature_extractors import MelSpectrogramFeatures

from voiceflow.audio import LogMel, log_mel, num_frames
from voiceflow.audio import mel as mel_module
from voiceflow.config import MelConfig


@pytest.fixture(scope="module")
def vocos_mel():
    return MelSpectrogramFeatures(sample_rate=24000, n_fft=1024, hop_length=256, n_mels=100, padding="center")


@pytest.mark.parametrize("samples", [24000, 24000 + 100, 2 * 256 * 7, 777])
def test_matches_vocos_on_random_audio(vocos_mel, samples):
    x = torch.randn(samples, generator=torch.Generator().manual_seed(samples)) * 0.3
    ours = log_mel(x)
    assert ours.shape == (100, samples // 256 + 1)
    assert (ours - vocos_mel(x)).abs().max().item() < 1e-4


def test_matches_vocos_on_sines_and_batches(vocos_mel):
    t = torch.arange(36000) / 24000
    batch = torch.stack([0.5 * torch.sin(2 * math.pi * f * t) for f in (110.0, 440.0, 3000.0)])
    ours = log_mel(batch)
    assert ours.shape == (3, 100, 36000 // 256 + 1)
    assert (ours - vocos_mel(batch)).abs().max().item() < 1e-4
    # the batched result equals the per-utterance one
    assert torch.allclose(ours[1], log_mel(batch[1]), atol=1e-5)


def test_module_matches_function_and_log_floor():
    x = torch.zeros(4000)
    out = LogMel()(x)
    assert torch.allclose(out, log_mel(x))
    assert torch.allclose(out, torch.full_like(out, math.log(1e-7)))


@pytest.mark.parametrize("samples", [513, 1000, 24000, 24255, 24256])
def test_frame_count(samples):
    assert num_frames(samples, 256) == samples // 256 + 1
    assert log_mel(torch.randn(samples)).shape[-1] == num_frames(samples, 256)


def htk_filterbank(sr, n_fft, n_mels, f_min, f_max):
    """Triangular HTK-scale mel filters without normalisation, (n_mels, n_fft // 2 + 1), from the formula."""
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
    hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    edges = hz(np.linspace(mel(f_min), mel(f_max), n_mels + 2))
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    rising = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1] - edges[:-2])[:, None]
    falling = (edges[2:, None] - freqs[None, :]) / (edges[2:] - edges[1:-1])[:, None]
    return np.maximum(0.0, np.minimum(rising, falling))


def test_other_config_matches_numpy_reference():
    """A 16 kHz / 80-bin / hop-160 config against an independent numpy STFT and filterbank."""
    cfg = MelConfig(sample_rate=16000, n_fft=640, hop_length=160, win_length=640, n_mels=80, f_min=20.0, f_max=7600.0)
    x = np.random.default_rng(0).standard_normal(16077).astype(np.float32) * 0.1

    ours = log_mel(torch.from_numpy(x), cfg).numpy()

    padded = np.pad(x.astype(np.float64), (320, 320), mode="reflect")
    window = np.hanning(641)[:-1]  # periodic Hann
    frames = np.stack([padded[i * 160 : i * 160 + 640] * window for i in range(len(x) // 160 + 1)])
    magnitude = np.abs(np.fft.rfft(frames, axis=1)).T
    reference = np.log(np.maximum(htk_filterbank(16000, 640, 80, 20.0, 7600.0) @ magnitude, 1e-7))
    assert ours.shape == reference.shape == (80, 16077 // 160 + 1)
    assert np.abs(ours - reference).max() < 1e-4


def test_cache_is_per_config_values_and_device():
    a = mel_module._cached(MelConfig(), torch.device("cpu"))
    assert mel_module._cached(MelConfig(), torch.device("cpu")) is a  # equal values, same module
    assert mel_module._cached(MelConfig(n_mels=80), torch.device("cpu")) is not a


def test_dtype_and_numpy_inputs():
    x = torch.randn(5000, dtype=torch.float64)
    out = log_mel(x)
    assert out.dtype == torch.float32
    assert torch.allclose(out, log_mel(x.float()), atol=1e-5)
    assert torch.allclose(log_mel(x.numpy()), out, atol=1e-5)


def test_rejects_bad_shapes():
    with pytest.raises(ValueError, match="reflect"):
        log_mel(torch.zeros(512))
    with pytest.raises(ValueError, match="batch"):
        log_mel(torch.zeros(1, 2, 4000))
    with pytest.raises(ValueError):
        num_frames(-1, 256)
