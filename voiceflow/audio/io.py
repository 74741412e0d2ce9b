"""Waveform I/O: read any wav/flac as mono float32 at a chosen rate, write 16-bit wavs atomically.

All audio is read with ``soundfile`` (``torchaudio.load`` needs torchcodec) and resampled
with ``torchaudio.functional.resample``::

    from voiceflow.audio import load_audio, save_wav

    wav = load_audio("corpus/a.flac", 24000)      # (samples,) float32, mono, 24 kHz
    save_wav("out/a.wav", wav, 24000)             # 16-bit PCM, written atomically
    seconds = audio_duration("corpus/a.flac")     # from the header, no decoding

Problems a user can cause (a missing, corrupt or empty file) raise
:class:`~voiceflow.errors.VoiceflowError` naming the file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import soundfile
import torch
import torchaudio.functional as AF

from voiceflow.errors import VoiceflowError
from voiceflow.fileio import atomic_path

__all__ = ["load_audio", "save_wav", "audio_duration"]

# What soundfile raises for a file it cannot open or decode (LibsndfileError is both).
_READ_ERRORS = (soundfile.SoundFileError, RuntimeError)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise VoiceflowError(f"{path}: audio file not found")
    if not path.is_file():
        raise VoiceflowError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise VoiceflowError(f"{path}: audio file is empty (0 bytes)")


def _reason(error: Exception) -> str:
    """Why soundfile failed, without its "Error opening '<path>': " prefix."""
    text = getattr(error, "error_string", None) or str(error) or type(error).__name__
    return text.splitlines()[0].strip().rstrip(".")


def load_audio(path: str | os.PathLike, sample_rate: int, offset: float = 0.0,
               duration: float | None = None) -> torch.Tensor:
    """Read a wav/flac (any rate, any channel count) as mono float32 at ``sample_rate``.

    Channels are averaged; the signal is resampled when the file's rate differs. The result
    has ``ceil(n * sample_rate / file_rate)`` samples for a file (or segment) of ``n`` samples.

    Args:
        path: an audio file soundfile can read (wav, flac, ogg, ...).
        sample_rate: the rate of the returned waveform in Hz.
        offset, duration: read only the segment [offset, offset + duration) seconds (the
            segment of a long recording, as LibriHeavy's cuts of LibriLight books); only the
            segment is decoded. ``duration`` None reads to the end.

    Returns:
        A contiguous float32 tensor of shape ``(samples,)`` on the CPU.

    Raises:
        VoiceflowError: the file is missing, unreadable or corrupt, holds no samples, or holds
            NaN or infinite samples.
    """
    path = Path(path)
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    _check_file(path)
    try:
        if offset or duration is not None:
            with soundfile.SoundFile(path) as f:
                file_rate = f.samplerate
                start = int(round(offset * file_rate))
                if start >= f.frames or offset < 0:
                    raise VoiceflowError(f"{path}: segment at {offset:.3f} s lies outside the audio "
                                         f"({f.frames / file_rate:.3f} s)")
                f.seek(start)
                count = -1 if duration is None else int(round(duration * file_rate))
                data = f.read(count, dtype="float32", always_2d=True)
        else:
            data, file_rate = soundfile.read(path, dtype="float32", always_2d=True)
    except _READ_ERRORS as e:
        raise VoiceflowError(f"{path}: cannot read audio ({_reason(e)})") from None
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise VoiceflowError(f"{path}: audio is empty (0 samples)")
    if not np.isfinite(data).all():  # float wavs can hold them; every later stage would turn them into NaN
        raise VoiceflowError(f"{path}: audio contains NaN or infinite samples")
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    wav = torch.from_numpy(np.ascontiguousarray(mono))
    if file_rate != sample_rate:
        wav = AF.resample(wav, int(file_rate), int(sample_rate))
    return wav.contiguous()


def _to_numpy(waveform) -> np.ndarray:
    if isinstance(waveform, torch.Tensor):
        waveform = waveform.detach().to("cpu", torch.float32).numpy()
    return np.asarray(waveform, dtype=np.float32)


CLIP_NOTICE = 1e-3  # save_wav says so when more than this fraction of the samples is clipped
# what save_wav writes by the destination's suffix (any other name: WAV)
AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC"}


def save_wav(path: str | os.PathLike, waveform, sample_rate: int, name: str | os.PathLike | None = None) -> None:
    """Write a mono waveform as 16-bit PCM, atomically (temporary name, then rename): a wav
    file, or FLAC when ``path`` ends in ``.flac``.

    Args:
        path: the destination; parent directories are created.
        waveform: shape ``(samples,)``, a torch tensor (any device/dtype) or numpy array,
            nominally in [-1, 1]; values outside are clipped (more than 0.1 % of them: a
            notice on stderr, naming the file and the peak).
        sample_rate: the rate written in the header, in Hz.
        name: the file as the user will find it, for the clipping notice (a file written into
            a directory that is renamed into place when complete: its final name).

    Raises:
        ValueError: the waveform is not 1-D or holds NaN/inf (a bug upstream, not a user
            error: the file is then not written).
    """
    data = _to_numpy(waveform)
    if data.ndim != 1:
        raise ValueError(f"save_wav {path}: expected a 1-D waveform, got shape {tuple(data.shape)}")
    if not np.isfinite(data).all():
        raise ValueError(f"save_wav {path}: waveform contains NaN or inf")
    clipped = float(np.mean(np.abs(data) > 1.0))
    if clipped > CLIP_NOTICE:
        print(f"notice: {name or path}: {100 * clipped:.1f} % of the samples were beyond full scale and are clipped "
              f"(peak {np.abs(data).max():.2f})", file=sys.stderr)
    data = np.clip(data, -1.0, 1.0)
    with atomic_path(path) as tmp:
        soundfile.write(tmp, data, int(sample_rate), subtype="PCM_16",
                        format=AUDIO_FORMATS.get(Path(path).suffix.lower(), "WAV"))


def audio_duration(path: str | os.PathLike) -> float:
    """Duration in seconds of an audio file, read from its header (no decoding).

    Raises:
        VoiceflowError: the file is missing, not a readable audio file, or empty.
    """
    path = Path(path)
    _check_file(path)
    try:
        info = soundfile.info(path)
    except _READ_ERRORS as e:
        raise VoiceflowError(f"{path}: cannot read audio header ({_reason(e)})") from None
    if info.samplerate <= 0:
        raise VoiceflowError(f"{path}: invalid sample rate {info.samplerate} in header")
    if info.frames <= 0:
        raise VoiceflowError(f"{path}: audio is empty (0 samples)")
    return info.frames / info.samplerate
