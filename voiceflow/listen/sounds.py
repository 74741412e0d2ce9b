"""The sounds a listening test makes itself: the MUSHRA low-pass anchor and the beep-count
attention stimulus.

* :func:`lowpass_anchor` - the standard MUSHRA anchor of ITU-R BS.1534-3: the reference
  low-passed at 3.5 kHz. Here an 8th-order Butterworth run forwards and backwards
  (zero phase, so the anchor stays time-aligned with the reference; about -96 dB/octave).
* :func:`beep_stimulus` - an attention check that cannot be passed without listening: a
  speech item from the test with ``count`` short 1 kHz beeps mixed in at random places;
  the page asks how many beeps were heard. The stimulus length does not depend on the
  count (the count cannot be read from the file size) and the count is only in the key.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

ANCHOR_CUTOFF_HZ = 3500.0
BEEP_HZ = 1000.0
BEEP_S = 0.1          # each beep, with 10 ms raised-cosine ramps
SLOT_S = 0.3          # one beep per slot at most: beeps are >= 0.15 s apart
MARGIN_S = 0.1        # no beep in the first and last 0.1 s
BEEP_COUNTS = (2, 3, 4, 5)
MIN_ATTENTION_S = 2 * MARGIN_S + max(BEEP_COUNTS) * SLOT_S + 0.1   # 1.8 s


def lowpass_anchor(wav: np.ndarray, sample_rate: int, cutoff_hz: float = ANCHOR_CUTOFF_HZ) -> np.ndarray:
    """``wav`` (samples,) low-passed at ``cutoff_hz`` with a zero-phase Butterworth filter."""
    if cutoff_hz >= sample_rate / 2:
        raise ValueError(f"anchor cut-off {cutoff_hz} Hz is not below the Nyquist rate of {sample_rate} Hz")
    sos = signal.butter(8, cutoff_hz, btype="low", fs=sample_rate, output="sos")
    x = np.asarray(wav, dtype=np.float64)
    if x.size <= 3 * (2 * sos.shape[0] + 1):   # too short for filtfilt's padding: one pass
        return signal.sosfilt(sos, x).astype(np.float32)
    return signal.sosfiltfilt(sos, x).astype(np.float32)


def beep_stimulus(carrier: np.ndarray, sample_rate: int, count: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, list[float]]:
    """A speech ``carrier`` with ``count`` beeps mixed in; returns (wav, beep onsets in s).

    The result lasts ``max(len(carrier), MIN_ATTENTION_S)``; the carrier is padded with
    silence when shorter. The duration is split into ``SLOT_S`` slots after a ``MARGIN_S``
    margin; ``count`` distinct slots are drawn and each gets one ``BEEP_S`` beep near its
    centre (jitter +-25 ms), so beeps never overlap or run together. The beep peak is half
    the carrier's peak (at least 0.1 full scale): clearly audible over speech.
    """
    carrier = np.asarray(carrier, dtype=np.float32)
    n = max(carrier.size, int(round(MIN_ATTENTION_S * sample_rate)))
    wav = np.zeros(n, dtype=np.float32)
    wav[:carrier.size] = carrier
    duration = n / sample_rate
    slots = int((duration - 2 * MARGIN_S) // SLOT_S)
    if count > slots:
        raise ValueError(f"{count} beeps do not fit in {duration:.2f} s")
    chosen = np.sort(rng.choice(slots, size=count, replace=False))
    peak = float(np.abs(carrier).max()) if carrier.size else 0.0
    amplitude = max(0.1, 0.5 * peak)
    length = int(round(BEEP_S * sample_rate))
    t = np.arange(length) / sample_rate
    beep = np.sin(2 * np.pi * BEEP_HZ * t)
    ramp = min(length // 2, int(round(0.01 * sample_rate)))
    if ramp > 0:
        window = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
        beep[:ramp] *= window
        beep[-ramp:] *= window[::-1]
    onsets = []
    for slot in chosen:
        centre = MARGIN_S + (slot + 0.5) * SLOT_S + rng.uniform(-0.025, 0.025)
        start = int(round((centre - BEEP_S / 2) * sample_rate))
        wav[start:start + length] += (amplitude * beep[:n - start]).astype(np.float32)
        onsets.append(round(start / sample_rate, 4))
    np.clip(wav, -1.0, 1.0, out=wav)
    return wav, onsets
