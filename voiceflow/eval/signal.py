"""Reference-based signal metrics: mel-cepstral distortion and F0 error on DTW-aligned frames.

Both metrics compare a generated wav with its reference recording. Both waveforms are read
at 24 kHz (the mel contract's rate) and cut into the contract's frames (hop 256, centred),
so frame ``t`` of the log-mel, of the mel-cepstrum and of the F0 track are the same instant.

**Mel-cepstrum.** From the contract's log-mel ``L_k`` (natural log of the magnitude in
``K = 100`` HTK mel bands), the cosine transform on that uniform mel grid::

    c_d = (1 / K) * sum_k L_k * cos(pi * d * (k + 1/2) / K),    d = 1 .. 24

so that ``L(w) ~= c_0 + 2 * sum_d c_d cos(d w)`` over mel-warped frequency ``w`` in [0, pi]:
the scale of a real cepstrum of the log amplitude, which the MCD constant assumes. ``c_0``
(overall level) is left out, as usual.

**MCD** (dB) of two aligned frames, with that convention (Kubichek 1993)::

    MCD = (10 / ln 10) * sqrt(2 * sum_{d=1}^{24} (c_d - c'_d)^2)

averaged over the frame pairs of the dynamic-time-warping path between the two cepstral
sequences (Euclidean local cost, steps (1,0), (0,1), (1,1)). Absolute values depend on the
cepstral analysis (this one, not SPTK's ``mcep`` on WORLD envelopes): compare systems scored
by this tool, not numbers from papers.

**F0.** pYIN (librosa, 50-600 Hz, 2048-sample frames) on both signals; on the same DTW path,
``f0_rmse_cents`` is the RMS of ``1200 * log2(f_gen / f_ref)`` over pairs voiced in both, and
``vde`` (voicing decision error) the fraction of pairs voiced in exactly one. An item with no
pair voiced in both has an undefined (NaN) F0 RMSE.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["MCD_CONSTANT", "mel_cepstrum", "dtw_path", "f0_track", "signal_features", "signal_metrics"]

SAMPLE_RATE = 24000
HOP = 256
ORDER = 24
MCD_CONSTANT = 10.0 / math.log(10.0) * math.sqrt(2.0)
F0_MIN, F0_MAX = 50.0, 600.0


def mel_cepstrum(wav: torch.Tensor, order: int = ORDER) -> np.ndarray:
    """Mel-cepstra ``c_1 .. c_order`` per frame of a 24 kHz waveform: ``(frames, order)``."""
    from voiceflow.audio import log_mel

    wav = wav.float()
    if wav.numel() <= 512:  # reflect padding needs more than n_fft // 2 samples: pad very short files
        wav = torch.nn.functional.pad(wav, (0, 513 - wav.numel()))
    mel = log_mel(wav).double().numpy()  # (K, T)
    k = mel.shape[0]
    d = np.arange(1, order + 1)[:, None]
    basis = np.cos(np.pi * d * (np.arange(k)[None, :] + 0.5) / k) / k  # (order, K)
    return (basis @ mel).T


def dtw_path(cost: np.ndarray) -> np.ndarray:
    """Minimum-cost monotonic path through ``cost`` (n, m): an array of (i, j) pairs, (0,0) to (n-1,m-1).

    Computed over anti-diagonals, each one vectorised; steps (1,0), (0,1), (1,1).
    """
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for s in range(2, n + m + 1):  # s = i + j in 1-based indices
        i = np.arange(max(1, s - m), min(n, s - 1) + 1)
        j = s - i
        best = np.minimum(np.minimum(acc[i - 1, j - 1], acc[i - 1, j]), acc[i, j - 1])
        acc[i, j] = cost[i - 1, j - 1] + best
    path = [(n - 1, m - 1)]
    i, j = n, m
    while (i, j) != (1, 1):
        steps = ((i - 1, j - 1), (i - 1, j), (i, j - 1))
        i, j = min(steps, key=lambda ij: acc[ij])
        path.append((i - 1, j - 1))
    return np.array(path[::-1])


def f0_track(wav: torch.Tensor) -> np.ndarray:
    """F0 in Hz per contract frame of a 24 kHz waveform, NaN where unvoiced: ``(frames,)``."""
    import librosa

    y = wav.float().numpy()
    f0, voiced, _ = librosa.pyin(y, fmin=F0_MIN, fmax=F0_MAX, sr=SAMPLE_RATE, frame_length=2048,
                                 hop_length=HOP, center=True)
    f0 = np.where(voiced, f0, np.nan)
    frames = y.shape[-1] // HOP + 1
    return f0[:frames]


def signal_features(wav: torch.Tensor, f0: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """``(mel cepstrum (frames, order), F0 track (frames,) or None)`` of a 24 kHz waveform: what
    :func:`signal_metrics` compares (compute a reference's once when several systems use it)."""
    return mel_cepstrum(wav), f0_track(wav) if f0 else None


def signal_metrics(generated: torch.Tensor, reference: torch.Tensor | tuple, mcd: bool = True,
                   f0: bool = True, generated_f0: np.ndarray | None = None) -> dict:
    """MCD (dB), F0 RMSE (cents) and voicing error of a generated vs a reference 24 kHz waveform
    (or the reference's :func:`signal_features`, computed with ``f0`` when ``f0`` is asked for).
    ``generated_f0``: the generated waveform's :func:`f0_track` when already computed.

    Returns a dict with the keys asked for: ``mcd``, ``f0_rmse_cents``, ``vde``.
    """
    cr, fr = reference if isinstance(reference, tuple) else signal_features(reference, f0)
    cg = mel_cepstrum(generated)
    from scipy.spatial.distance import cdist

    cost = cdist(cg, cr)  # Euclidean, (frames_gen, frames_ref)
    path = dtw_path(cost)
    out = {}
    if mcd:
        diff = cg[path[:, 0]] - cr[path[:, 1]]
        out["mcd"] = float(np.mean(MCD_CONSTANT * np.sqrt((diff ** 2).sum(-1))))
    if f0:
        fg = f0_track(generated) if generated_f0 is None else generated_f0
        ig = np.minimum(path[:, 0], fg.size - 1)
        ir = np.minimum(path[:, 1], fr.size - 1)
        a, b = fg[ig], fr[ir]
        va, vb = ~np.isnan(a), ~np.isnan(b)
        both = va & vb
        cents = 1200.0 * np.log2(a[both] / b[both])
        out["f0_rmse_cents"] = float(np.sqrt(np.mean(cents ** 2))) if both.any() else float("nan")
        out["vde"] = float(np.mean(va != vb))
    return out
